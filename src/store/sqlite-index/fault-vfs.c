/* fault-vfs.c: a VFS shim over SQLite's default VFS that makes the calls
 * armed in base/fault.h fail as a full disk, an I/O error or a lock held
 * elsewhere would (see fault-vfs.h).  Every call it does not fail goes
 * to the default VFS unchanged.  It must never be used unless a test
 * enabled fault injection. */
#include "store/sqlite-index/fault-vfs.h"
#include "base/fault.h"

#include <errno.h>
#include <sqlite3.h>
#include <stddef.h>

#define FAULT_VFS_NAME "roost-fault"

/* An open file of the shim: the real VFS's file follows it in memory
 * (szOsFile covers both). */
struct fault_file {
	sqlite3_file base;
	sqlite3_file *real;
};

static sqlite3_vfs *real_vfs;

/* The SQLite code for the armed errno of `point` on this call, or
 * SQLITE_OK when the call goes through. */
static int fault_code(enum fault_point point, int ioerr)
{
	if (fault_inject(point) == 0)
		return SQLITE_OK;
	if (errno == ENOSPC || errno == EDQUOT)
		return SQLITE_FULL;
	if (errno == EBUSY)
		return SQLITE_BUSY;
	return ioerr;
}

static sqlite3_file *real_file(sqlite3_file *file)
{
	return ((struct fault_file *)file)->real;
}

static int fault_close(sqlite3_file *file)
{
	return real_file(file)->pMethods->xClose(real_file(file));
}

static int fault_read(sqlite3_file *file, void *buf, int amount, sqlite3_int64 offset)
{
	return real_file(file)->pMethods->xRead(real_file(file), buf, amount, offset);
}

static int fault_write(sqlite3_file *file, const void *buf, int amount, sqlite3_int64 offset)
{
	int rc = fault_code(FAULT_INDEX_WRITE, SQLITE_IOERR_WRITE);

	if (rc != SQLITE_OK)
		return rc;
	return real_file(file)->pMethods->xWrite(real_file(file), buf, amount, offset);
}

static int fault_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	return real_file(file)->pMethods->xTruncate(real_file(file), size);
}

static int fault_sync(sqlite3_file *file, int flags)
{
	int rc = fault_code(FAULT_INDEX_SYNC, SQLITE_IOERR_FSYNC);

	if (rc != SQLITE_OK)
		return rc;
	return real_file(file)->pMethods->xSync(real_file(file), flags);
}

static int fault_file_size(sqlite3_file *file, sqlite3_int64 *size_r)
{
	return real_file(file)->pMethods->xFileSize(real_file(file), size_r);
}

/* Only locks stronger than shared fail: a writer's, as another
 * process's write lock would refuse them. */
static int fault_lock(sqlite3_file *file, int level)
{
	if (level > SQLITE_LOCK_SHARED) {
		int rc = fault_code(FAULT_INDEX_LOCK, SQLITE_IOERR_LOCK);

		if (rc != SQLITE_OK)
			return rc;
	}
	return real_file(file)->pMethods->xLock(real_file(file), level);
}

static int fault_unlock(sqlite3_file *file, int level)
{
	return real_file(file)->pMethods->xUnlock(real_file(file), level);
}

static int fault_check_reserved_lock(sqlite3_file *file, int *result_r)
{
	return real_file(file)->pMethods->xCheckReservedLock(real_file(file), result_r);
}

static int fault_file_control(sqlite3_file *file, int op, void *arg)
{
	return real_file(file)->pMethods->xFileControl(real_file(file), op, arg);
}

static int fault_sector_size(sqlite3_file *file)
{
	return real_file(file)->pMethods->xSectorSize(real_file(file));
}

static int fault_device_characteristics(sqlite3_file *file)
{
	return real_file(file)->pMethods->xDeviceCharacteristics(real_file(file));
}

static int fault_shm_map(sqlite3_file *file, int region, int size, int extend,
			 void volatile **map_r)
{
	return real_file(file)->pMethods->xShmMap(real_file(file), region, size, extend, map_r);
}

/* In WAL mode the write lock is an exclusive lock in the shared memory:
 * the one a writer queues for. */
static int fault_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	if ((flags & (SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE)) ==
	    (SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE)) {
		int rc = fault_code(FAULT_INDEX_LOCK, SQLITE_IOERR_SHMLOCK);

		if (rc != SQLITE_OK)
			return rc;
	}
	return real_file(file)->pMethods->xShmLock(real_file(file), offset, n, flags);
}

static void fault_shm_barrier(sqlite3_file *file)
{
	real_file(file)->pMethods->xShmBarrier(real_file(file));
}

static int fault_shm_unmap(sqlite3_file *file, int delete_flag)
{
	return real_file(file)->pMethods->xShmUnmap(real_file(file), delete_flag);
}

static int fault_fetch(sqlite3_file *file, sqlite3_int64 offset, int amount, void **p_r)
{
	return real_file(file)->pMethods->xFetch(real_file(file), offset, amount, p_r);
}

static int fault_unfetch(sqlite3_file *file, sqlite3_int64 offset, void *p)
{
	return real_file(file)->pMethods->xUnfetch(real_file(file), offset, p);
}

/* Version 3, as the default unix VFS's files: the shared-memory and
 * memory-map calls are passed on as they are. */
static const sqlite3_io_methods fault_io_methods = {
	.iVersion = 3,
	.xClose = fault_close,
	.xRead = fault_read,
	.xWrite = fault_write,
	.xTruncate = fault_truncate,
	.xSync = fault_sync,
	.xFileSize = fault_file_size,
	.xLock = fault_lock,
	.xUnlock = fault_unlock,
	.xCheckReservedLock = fault_check_reserved_lock,
	.xFileControl = fault_file_control,
	.xSectorSize = fault_sector_size,
	.xDeviceCharacteristics = fault_device_characteristics,
	.xShmMap = fault_shm_map,
	.xShmLock = fault_shm_lock,
	.xShmBarrier = fault_shm_barrier,
	.xShmUnmap = fault_shm_unmap,
	.xFetch = fault_fetch,
	.xUnfetch = fault_unfetch,
};

static int fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
		      int *out_flags)
{
	struct fault_file *f = (struct fault_file *)file;
	int rc;

	(void)vfs;
	f->real = (sqlite3_file *)(f + 1);
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	/* SQLite closes a file whose open failed only if pMethods is set */
	f->base.pMethods = f->real->pMethods != NULL ? &fault_io_methods : NULL;
	return rc;
}

/* The default VFS with its xOpen replaced (set up on first use): every
 * other call, pAppData and the sizes are the default VFS's own, so that
 * they behave as for the default VFS itself. */
static sqlite3_vfs fault_vfs;

const char *index_fault_vfs_name(void)
{
	if (!fault_is_enabled())
		return NULL;
	if (real_vfs == NULL) {
		real_vfs = sqlite3_vfs_find(NULL);
		fault_vfs = *real_vfs;
		fault_vfs.pNext = NULL;
		fault_vfs.zName = FAULT_VFS_NAME;
		fault_vfs.szOsFile = (int)sizeof(struct fault_file) + real_vfs->szOsFile;
		fault_vfs.xOpen = fault_open;
		if (sqlite3_vfs_register(&fault_vfs, 0) != SQLITE_OK)
			return NULL;
	}
	return FAULT_VFS_NAME;
}
