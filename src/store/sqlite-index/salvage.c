/* salvage.c: reads what a rebuild keeps from an old SQLite index (UIDs,
 * EMAILIDs, THREADIDs and save dates of messages, UIDNEXT, HIGHESTMODSEQ,
 * MAILBOXID and the tombstone floor of mailboxes, tombstones, the thread
 * table, Sieve's tracking memory), on a
 * connection of its own, read-only, so that a damaged file cannot harm
 * anything.  An index older than schema 8 has no ids: those queries are
 * left out (the ids are then made anew). */
#include "store/sqlite-index/index-private.h"

#include <string.h>

/* Whether s is an objectid (RFC 8474 7) that fits a store's buffers:
 * what an old index holds is not trusted. */
static bool salvage_objectid_valid(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len >= STORE_OBJECTID_SIZE)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* Column col of the current row as an objectid, or NULL. */
static const char *salvage_objectid(sqlite3_stmt *stmt, int col)
{
	const char *s = (const char *)sqlite3_column_text(stmt, col);

	return s != NULL && salvage_objectid_valid(s) ? s : NULL;
}

static void salvage_row(sqlite3_stmt *stmt, size_t query, const struct index_salvage_callbacks *cb,
			void *ctx)
{
	const char *name = index_column_text(stmt, 0);
	uint32_t uid = (uint32_t)sqlite3_column_int64(stmt, 1);
	struct index_msg_ids ids = { 0 };

	switch (query) {
	case 0:
	case 3:
		if (query == 3) {
			ids.emailid = salvage_objectid(stmt, 3);
			ids.threadid = salvage_objectid(stmt, 4);
			ids.savedate = (time_t)sqlite3_column_int64(stmt, 5);
		}
		cb->msg(ctx, name, uid, index_column_text(stmt, 2), &ids);
		break;
	case 1:
	case 4:		/* uid: the mailbox's uidnext */
		cb->mailbox(ctx, name, uid, (uint64_t)sqlite3_column_int64(stmt, 2),
			    query == 4 ? salvage_objectid(stmt, 3) : NULL);
		break;
	case 2:
		cb->tombstone(ctx, name, uid, (uint64_t)sqlite3_column_int64(stmt, 2));
		break;
	default:
		if (salvage_objectid(stmt, 1) != NULL)
			cb->thread(ctx, name, index_column_text(stmt, 1));
		break;
	}
}

int index_salvage_read(const char *path, const struct index_salvage_callbacks *cb,
		       void *ctx, char **error_r)
{
	/* 0-2 before schema 8; 3-5 from schema 8 on (3 and 4 replace 0
	 * and 1) */
	static const char *const sqls[] = {
		"SELECT m.name, s.uid, s.file FROM messages s JOIN mailboxes m ON m.id = s.mailbox",
		"SELECT name, uidnext, highestmodseq FROM mailboxes",
		"SELECT m.name, e.uid, e.modseq FROM expunged e JOIN mailboxes m ON m.id = e.mailbox",
		("SELECT m.name, s.uid, s.file, s.emailid, s.threadid, s.savedate FROM messages s "
		 "JOIN mailboxes m ON m.id = s.mailbox"),
		"SELECT name, uidnext, highestmodseq, mailboxid FROM mailboxes",
		"SELECT msgid, threadid FROM threads",
	};
	sqlite3 *db = NULL;
	int rc, version = 0;

	rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_stmt *stmt = NULL;

		rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL);
		if (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			version = sqlite3_column_int(stmt, 0);
			rc = SQLITE_OK;
		}
		sqlite3_finalize(stmt);
	}
	for (size_t i = 0; i < N_ELEMENTS(sqls) && (rc == SQLITE_OK || rc == SQLITE_DONE); i++) {
		sqlite3_stmt *stmt = NULL;

		if (version >= 8 ? i == 0 || i == 1 : i >= 3)
			continue;
		rc = sqlite3_prepare_v2(db, sqls[i], -1, &stmt, NULL);
		while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			salvage_row(stmt, i, cb, ctx);
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
	if (rc == SQLITE_DONE && cb->sieve_track != NULL && version >= 10) {
		sqlite3_stmt *stmt = NULL;

		rc = sqlite3_prepare_v2(db, "SELECT id, expires FROM sieve_track WHERE expires > ?",
					-1, &stmt, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_bind_int64(stmt, 1, (int64_t)time(NULL));
		while (rc == SQLITE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			int len = sqlite3_column_bytes(stmt, 0);
			const void *id = sqlite3_column_blob(stmt, 0);

			if (id != NULL && len > 0)
				cb->sieve_track(ctx, id, (size_t)len,
						(time_t)sqlite3_column_int64(stmt, 1));
			rc = SQLITE_OK;
		}
		sqlite3_finalize(stmt);
	}
	if (rc != SQLITE_DONE)
		*error_r = xstrdup(db == NULL ? sqlite3_errstr(rc) : sqlite3_errmsg(db));
	sqlite3_close_v2(db);
	return rc == SQLITE_DONE ? 0 : -1;
}
