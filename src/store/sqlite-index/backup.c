/* backup.c: a copy of the index made with SQLite's online backup API
 * (sqlite3_backup_*), for `roost backup` (store/maildir/backup.c).
 *
 * SQLite refuses to back up through a connection that holds a write
 * transaction, so the copy is read through a second connection of its
 * own, in a read transaction: in WAL mode it reads beside the caller's
 * write lock, and sees the last committed state, which while the caller
 * holds that lock (and changes nothing) is exactly the rows that go with
 * the files the caller links meanwhile.  It never writes to the index. */
#include "store/sqlite-index/index-private.h"
#include "store/sqlite-index/fault-vfs.h"

#include <unistd.h>

int index_backup(struct index *idx, const char *dest_path)
{
	sqlite3 *src = NULL, *dest = NULL;
	int rc;

	rc = sqlite3_open_v2(idx->path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			     index_fault_vfs_name());
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(src, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL,
				  NULL);
	if (rc != SQLITE_OK) {
		store_set_internal_error(idx->store, "backup: reading %s: %s", idx->path,
					 src == NULL ? sqlite3_errstr(rc) : sqlite3_errmsg(src));
		sqlite3_close_v2(src);
		return -1;
	}
	rc = sqlite3_open_v2(dest_path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_backup *b = sqlite3_backup_init(dest, "main", src, "main");

		if (b == NULL) {
			rc = sqlite3_errcode(dest);
		} else {
			/* one step: the caller holds the source's lock anyway, and
			 * a step of all pages never restarts */
			rc = sqlite3_backup_step(b, -1);
			int rc2 = sqlite3_backup_finish(b);
			if (rc == SQLITE_DONE)
				rc = rc2;
		}
	}
	if (rc == SQLITE_OK) {
		/* the copy is in WAL mode like its source: fold the log into
		 * the file so that the backup is the one file */
		rc = sqlite3_exec(dest, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
	}
	(void)sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
	sqlite3_close_v2(src);
	if (rc != SQLITE_OK) {
		store_set_internal_error(idx->store, "backup of %s to %s: %s", idx->path,
					 dest_path, dest == NULL ? sqlite3_errstr(rc) :
					 sqlite3_errmsg(dest));
		sqlite3_close_v2(dest);
		(void)unlink(dest_path);
		return -1;
	}
	if (sqlite3_close(dest) != SQLITE_OK) {
		store_set_internal_error(idx->store, "closing the backup %s failed", dest_path);
		sqlite3_close_v2(dest);
		return -1;
	}
	return 0;
}
