/* salvage.c: reads what a rebuild keeps from an old SQLite index (UIDs of
 * messages, UIDNEXT, HIGHESTMODSEQ and the tombstone floor of mailboxes,
 * tombstones), on a
 * connection of its own, read-only, so that a damaged file cannot harm
 * anything. */
#include "store/sqlite-index/index-private.h"

int index_salvage_read(const char *path, const struct index_salvage_callbacks *cb,
		       void *ctx, char **error_r)
{
	static const char *const sqls[] = {
		"SELECT m.name, s.uid, s.file FROM messages s JOIN mailboxes m ON m.id = s.mailbox",
		"SELECT name, uidnext, highestmodseq FROM mailboxes",
		"SELECT m.name, e.uid, e.modseq FROM expunged e JOIN mailboxes m ON m.id = e.mailbox",
	};
	sqlite3 *db = NULL;
	int rc;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (size_t i = 0; i < N_ELEMENTS(sqls) && (rc == SQLITE_OK || rc == SQLITE_DONE); i++) {
		sqlite3_stmt *stmt = NULL;

		rc = sqlite3_prepare_v2(db, sqls[i], -1, &stmt, NULL);
		while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			const char *name = index_column_text(stmt, 0);
			uint32_t uid = (uint32_t)sqlite3_column_int64(stmt, 1);

			if (i == 0)
				cb->msg(ctx, name, uid, index_column_text(stmt, 2));
			else if (i == 1)	/* uid: the mailbox's uidnext */
				cb->mailbox(ctx, name, uid, (uint64_t)sqlite3_column_int64(stmt, 2));
			else
				cb->tombstone(ctx, name, uid, (uint64_t)sqlite3_column_int64(stmt, 2));
			rc = SQLITE_OK;
		}
		sqlite3_finalize(stmt);
	}
	if (rc == SQLITE_DONE && cb->tombstone_floor != NULL) {
		/* an index older than schema 9 has no such column (and
		 * kept every tombstone): nothing to call then */
		sqlite3_stmt *stmt = NULL;
		if (sqlite3_prepare_v2(db, "SELECT name, tombstone_floor FROM mailboxes", -1,
				       &stmt, NULL) == SQLITE_OK) {
			while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
				cb->tombstone_floor(ctx, index_column_text(stmt, 0),
						    (uint64_t)sqlite3_column_int64(stmt, 1));
		}
		sqlite3_finalize(stmt);
	}
	if (rc != SQLITE_DONE)
		*error_r = xstrdup(db == NULL ? sqlite3_errstr(rc) : sqlite3_errmsg(db));
	sqlite3_close_v2(db);
	return rc == SQLITE_DONE ? 0 : -1;
}
