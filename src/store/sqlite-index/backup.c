/* backup.c: a copy of the index made with SQLite's online backup API
 * (sqlite3_backup_*), for `roost backup` (store/maildir/backup.c).
 *
 * SQLite refuses to back up through a connection that holds a write
 * transaction, so the copy is read through a second connection of its
 * own, in a read transaction: in WAL mode that transaction sees the
 * state committed when it began for as long as it lasts, whatever is
 * committed later.  The caller begins it while it holds the write lock
 * (so the state is exactly the one that goes with the files it placed),
 * lets go of the lock, and only then copies: writers wait for the
 * files, never for the copy of the index.  It never writes to the
 * index. */
#include "store/sqlite-index/index-private.h"
#include "store/sqlite-index/fault-vfs.h"

#include <stdlib.h>
#include <unistd.h>

struct index_backup {
	struct index *idx;
	sqlite3 *src;
};

int index_backup_begin(struct index *idx, struct index_backup **backup_r)
{
	sqlite3 *src = NULL;
	int rc;

	*backup_r = NULL;
	rc = sqlite3_open_v2(idx->path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
			     index_fault_vfs_name());
	/* a read transaction begins with its first read */
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(src, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL,
				  NULL);
	if (rc != SQLITE_OK) {
		store_set_internal_error(idx->store, "backup: reading %s: %s", idx->path,
					 src == NULL ? sqlite3_errstr(rc) : sqlite3_errmsg(src));
		sqlite3_close_v2(src);
		return -1;
	}
	*backup_r = xcalloc(1, sizeof(**backup_r));
	(*backup_r)->idx = idx;
	(*backup_r)->src = src;
	return 0;
}

int index_backup_finish(struct index_backup **_backup, const char *dest_path)
{
	struct index_backup *backup = *_backup;
	struct index *idx = backup->idx;
	sqlite3 *dest = NULL;
	int rc = SQLITE_OK;

	*_backup = NULL;
	if (dest_path == NULL)
		goto out;
	rc = sqlite3_open_v2(dest_path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_backup *b = sqlite3_backup_init(dest, "main", backup->src, "main");

		if (b == NULL) {
			rc = sqlite3_errcode(dest);
		} else {
			/* one step: nothing writes through this connection,
			 * so the copy never restarts */
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
	if (rc != SQLITE_OK) {
		store_set_internal_error(idx->store, "backup of %s to %s: %s", idx->path,
					 dest_path, dest == NULL ? sqlite3_errstr(rc) :
					 sqlite3_errmsg(dest));
		sqlite3_close_v2(dest);
		(void)unlink(dest_path);
	} else if (sqlite3_close(dest) != SQLITE_OK) {
		store_set_internal_error(idx->store, "closing the backup %s failed", dest_path);
		sqlite3_close_v2(dest);
		rc = SQLITE_ERROR;
	}
out:
	(void)sqlite3_exec(backup->src, "COMMIT", NULL, NULL, NULL);
	sqlite3_close_v2(backup->src);
	free(backup);
	return rc == SQLITE_OK ? 0 : -1;
}
