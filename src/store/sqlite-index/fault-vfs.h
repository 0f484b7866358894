/* fault-vfs.h: an SQLite VFS that fails the index's writes, syncs and
 * locks when a test arms them (base/fault.h: index-write, index-sync,
 * index-lock), for the SQLite index.  It knows no SQL: the
 * index only opens its connection through it. */
#ifndef ROOST_INDEX_FAULT_VFS_H
#define ROOST_INDEX_FAULT_VFS_H

/* The VFS name to give sqlite3_open_v2(): NULL (SQLite's default VFS)
 * unless fault injection is enabled in this process, then the shim's
 * name, registered on the first call.  Static string. */
const char *index_fault_vfs_name(void);

#endif
