/* index.c: the per-user SQLite index of the Maildir backend.
 *
 * WAL mode so readers never block the writer; every change runs inside
 * BEGIN IMMEDIATE so writers queue (busy_timeout 5 s) instead of failing
 * half-way, and read-modify-write of flags is atomic across processes.
 * The schema version lives in PRAGMA user_version for later migrations.
 * Nothing here decides IMAP semantics; it only stores rows. */
#include "store/maildir/maildir-private.h"
#include "store/maildir/fault-vfs.h"
#include "base/log.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char schema_sql[] =
	/* One row per selectable mailbox.  Parents that exist only because
	 * of their children have no row (they are \Noselect). */
	"CREATE TABLE mailboxes ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"		/* UTF-8, '/' separated */
	" uidvalidity INTEGER NOT NULL,"
	" uidnext INTEGER NOT NULL,"
	" highestmodseq INTEGER NOT NULL,"
	" special_use INTEGER NOT NULL DEFAULT 0,"
	" recent_uid INTEGER NOT NULL DEFAULT 1"	/* first uid not claimed as \Recent */
	");"
	/* The keyword table of each mailbox: bit idx of messages.keywords. */
	"CREATE TABLE keywords ("
	" mailbox INTEGER NOT NULL,"
	" idx INTEGER NOT NULL,"
	" name TEXT NOT NULL,"
	" PRIMARY KEY (mailbox, idx)"
	") WITHOUT ROWID;"
	"CREATE TABLE messages ("
	" mailbox INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" file TEXT NOT NULL,"		/* name in cur/ */
	" flags INTEGER NOT NULL,"
	" keywords INTEGER NOT NULL,"	/* 64-bit mask, stored signed */
	" modseq INTEGER NOT NULL,"
	" internaldate INTEGER NOT NULL,"
	" tz INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" header_size INTEGER NOT NULL,"
	/* SORT and THREAD keys (schema 3; syntax/msgkeys.h; NULL: not parsed
	 * yet, see cache.c).  Before the large columns: SQLite reads a
	 * row's columns in order, so SORT and THREAD, which read only this
	 * one, do not walk the overflow pages of envelope and body
	 * structure (an index migrated from schema 2 has it last). */
	" msgkeys BLOB,"
	/* the message model (schema 2; NULL: not parsed yet, see cache.c) */
	" envelope TEXT,"
	" body TEXT,"
	" bodystructure TEXT,"
	" part_map BLOB,"
	" body_rev2 TEXT,"		/* only with a message/global part */
	" bodystructure_rev2 TEXT,"
	" PRIMARY KEY (mailbox, uid)"
	") WITHOUT ROWID;"
	"CREATE INDEX messages_modseq ON messages (mailbox, modseq);"
	/* Expunge tombstones, kept for QRESYNC. */
	"CREATE TABLE expunged ("
	" mailbox INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" PRIMARY KEY (mailbox, uid)"
	") WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged (mailbox, modseq);"
	"CREATE TABLE subscriptions (name TEXT PRIMARY KEY) WITHOUT ROWID;"
	/* Store-wide values: last_uidvalidity. */
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;";

static const char schema_migrate_1_2_sql[] =
	"ALTER TABLE messages ADD COLUMN envelope TEXT;"
	"ALTER TABLE messages ADD COLUMN body TEXT;"
	"ALTER TABLE messages ADD COLUMN bodystructure TEXT;"
	"ALTER TABLE messages ADD COLUMN part_map BLOB;"
	"ALTER TABLE messages ADD COLUMN body_rev2 TEXT;"
	"ALTER TABLE messages ADD COLUMN bodystructure_rev2 TEXT;"
	"PRAGMA user_version = 2;";

static const char schema_migrate_2_3_sql[] =
	"ALTER TABLE messages ADD COLUMN msgkeys BLOB;"
	"PRAGMA user_version = 3;";

static int maildir_index_ensure(struct maildir_store *ms);

int maildir_index_exec(struct maildir_store *ms, const char *sql)
{
	if (maildir_index_ensure(ms) < 0)
		return -1;
	if (sqlite3_exec(ms->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return maildir_storage_set_sqlite_error(ms, sql);
	return 0;
}

sqlite3_stmt *maildir_index_prepare(struct maildir_store *ms, const char *sql)
{
	struct maildir_stmt_cache *free_slot = NULL;
	sqlite3_stmt *stmt;

	if (maildir_index_ensure(ms) < 0)
		return NULL;

	for (size_t i = 0; i < MAILDIR_STMT_CACHE_SIZE; i++) {
		struct maildir_stmt_cache *c = &ms->stmts[i];

		if (c->sql == sql) {
			if (c->busy)
				break;	/* in use further up the stack */
			c->busy = true;
			return c->stmt;
		}
		if (c->sql == NULL && free_slot == NULL)
			free_slot = c;
	}
	if (sqlite3_prepare_v3(ms->db, sql, -1, free_slot != NULL ? SQLITE_PREPARE_PERSISTENT : 0,
			       &stmt, NULL) != SQLITE_OK) {
		maildir_storage_set_sqlite_error(ms, sql);
		return NULL;
	}
	if (free_slot != NULL) {
		free_slot->sql = sql;
		free_slot->stmt = stmt;
		free_slot->busy = true;
	}
	return stmt;
}

void maildir_index_finish(struct maildir_store *ms, sqlite3_stmt *stmt)
{
	if (stmt == NULL)
		return;
	for (size_t i = 0; i < MAILDIR_STMT_CACHE_SIZE; i++) {
		if (ms->stmts[i].stmt == stmt) {
			sqlite3_reset(stmt);
			sqlite3_clear_bindings(stmt);
			ms->stmts[i].busy = false;
			return;
		}
	}
	sqlite3_finalize(stmt);
}

int maildir_index_step(struct maildir_store *ms, sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return maildir_storage_set_sqlite_error(ms, sqlite3_sql(stmt));
}

void maildir_index_set_best_effort(struct maildir_store *ms, bool best_effort)
{
	if (ms->db != NULL)
		sqlite3_busy_timeout(ms->db, best_effort ? MAILDIR_BEST_EFFORT_BUSY_MS :
				     MAILDIR_BUSY_TIMEOUT_MS);
}

int maildir_index_begin(struct maildir_store *ms, bool write)
{
	if (maildir_index_exec(ms, write ? "BEGIN IMMEDIATE" : "BEGIN") < 0)
		return -1;
	if (write)
		ms->recovered_txn_start = ms->recovered_count;
	return 0;
}

static int write_keywords_file(struct maildir_store *ms, const char *dir,
			       char **names, size_t count);

static void keywords_written_clear(struct maildir_store *ms)
{
	for (size_t i = 0; i < ms->kw_written_count; i++)
		free(ms->kw_written[i].dir);
	ms->kw_written_count = 0;
}

/* Before a rollback, with the write lock still held: the roost-keywords
 * files this transaction rewrote get back the names they had (the table
 * only grows at its end, so they are its first count_before entries); a
 * rebuild would otherwise bring back keywords the index never kept.  The
 * store's error (why the transaction is rolled back) is kept. */
static void keywords_written_restore(struct maildir_store *ms)
{
	enum store_error saved_class = ms->store.error_class;
	char *saved = ms->store.error == NULL ? NULL : xstrdup(ms->store.error);

	for (size_t i = 0; i < ms->kw_written_count; i++) {
		struct maildir_keywords_written *w = &ms->kw_written[i];
		char **names;
		size_t count;
		int ret = maildir_index_keywords_load(ms, w->mailbox_id, &names, &count);

		if (ret == 0) {
			ret = write_keywords_file(ms, w->dir, names,
						  ROOST_MIN(count, w->count_before));
			maildir_index_keywords_free(names, count);
		}
		if (ret < 0)
			log_warning("store(%s): %s/roost-keywords could not be restored "
				    "after a rollback: %s", ms->store.user, w->dir,
				    ms->store.error == NULL ? "" : ms->store.error);
	}
	keywords_written_clear(ms);
	store_clear_error(&ms->store);
	if (saved != NULL)
		store_set_error(&ms->store, saved_class, "%s", saved);
	free(saved);
}

int maildir_index_commit(struct maildir_store *ms)
{
	if (maildir_index_exec(ms, "COMMIT") < 0) {
		maildir_index_rollback(ms);
		return -1;
	}
	keywords_written_clear(ms);
	maildir_recover_committed(ms);
	ms->recovered_txn_start = SIZE_MAX;
	return 0;
}

void maildir_index_rollback(struct maildir_store *ms)
{
	if (ms->db != NULL && !sqlite3_get_autocommit(ms->db)) {
		if (ms->kw_written_count > 0)
			keywords_written_restore(ms);
		if (ms->swept_count > 0)
			maildir_recover_rollback(ms);
		(void)sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
	} else if (ms->kw_written_count > 0) {
		/* SQLite ended the transaction itself (a failed COMMIT):
		 * the lock is gone, and with it the right to write the
		 * files; the next keyword created there rewrites them */
		log_warning("store(%s): a failed commit left roost-keywords naming "
			    "keywords the index does not have", ms->store.user);
		keywords_written_clear(ms);
	}
	/* a failed COMMIT undid the repair too: the markers go back (a
	 * writer holding the lock takes any marker at or above UIDNEXT
	 * for a dead transaction's, which this one now is) */
	if (ms->swept_count > 0)
		maildir_recover_rollback(ms);
	/* the folders it repaired are not repaired any more */
	if (ms->recovered_txn_start < ms->recovered_count)
		ms->recovered_count = ms->recovered_txn_start;
	ms->recovered_txn_start = SIZE_MAX;
}

static int create_schema(struct maildir_store *ms, maildir_index_populate_t *populate)
{
	sqlite3_stmt *stmt;
	int version, ret;

	if (maildir_index_begin(ms, true) < 0)
		return -1;
	stmt = maildir_index_prepare(ms, "PRAGMA user_version");
	if (stmt == NULL || maildir_index_step(ms, stmt) < 0) {
		maildir_index_finish(ms, stmt);
		maildir_index_rollback(ms);
		return -1;
	}
	version = sqlite3_column_int(stmt, 0);
	maildir_index_finish(ms, stmt);
	if (version == MAILDIR_SCHEMA_VERSION) {
		maildir_index_rollback(ms);
		return 0;
	}
	if (version == 1 || version == 2) {
		/* schema 1 -> 2 -> 3: old rows keep NULL and are parsed on
		 * first use (cache.c) */
		ret = 0;
		if (version == 1)
			ret = maildir_index_exec(ms, schema_migrate_1_2_sql);
		if (ret == 0)
			ret = maildir_index_exec(ms, schema_migrate_2_3_sql);
		if (ret < 0) {
			maildir_index_rollback(ms);
			return -1;
		}
		return maildir_index_commit(ms);
	}
	if (version != 0) {
		maildir_index_rollback(ms);
		store_set_internal_error(&ms->store, "index schema version %d not supported",
					 version);
		return -1;
	}
	ret = maildir_index_exec(ms, schema_sql);
	if (ret == 0) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", MAILDIR_SCHEMA_VERSION);
		ret = maildir_index_exec(ms, sql);
	}
	/* in the same transaction, so no other process ever sees a store
	 * without its mailboxes */
	if (ret == 0)
		ret = populate(ms);
	if (ret < 0) {
		maildir_index_rollback(ms);
		return -1;
	}
	return maildir_index_commit(ms);
}

/* Runs attempt(ms) until it succeeds, fails for another reason than a
 * lock (SQLITE_BUSY/LOCKED: ms->busy) or MAILDIR_OPEN_MAX_WAIT_MS have
 * passed.  Each attempt waits busy_timeout on its own, but some lock
 * conflicts return at once, without calling the busy handler (a journal
 * mode change or a read racing another connection's WAL reset or
 * recovery), and none of them may fail a LOGIN. */
static int index_retry(struct maildir_store *ms, int (*attempt)(struct maildir_store *ms))
{
	struct timespec start, now;
	useconds_t delay = 5000;
	int64_t waited_ms;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		ms->busy = false;
		if (attempt(ms) == 0)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited_ms = (int64_t)(now.tv_sec - start.tv_sec) * 1000 +
			(now.tv_nsec - start.tv_nsec) / 1000000;
		if (!ms->busy || waited_ms >= MAILDIR_OPEN_MAX_WAIT_MS)
			return -1;
		store_clear_error(&ms->store);
		/* a little jitter, so processes that collided do not retry
		 * in step */
		usleep(delay + (useconds_t)(rand() % 5000));
		if (delay < 200000)
			delay *= 2;
	}
}

/* Opens the connection and sets it up; the schema is handled by the
 * caller.  On failure the connection is closed again. */
static int maildir_index_connect_once(struct maildir_store *ms)
{
	const char *path = ms->index_path;
	int rc;

	rc = sqlite3_open_v2(path, &ms->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, maildir_fault_vfs_name());
	if (rc != SQLITE_OK) {
		store_set_internal_error(&ms->store, "sqlite3_open(%s): %s", path,
					 ms->db == NULL ? sqlite3_errstr(rc) : sqlite3_errmsg(ms->db));
		if (ms->db != NULL) {
			sqlite3_close_v2(ms->db);
			ms->db = NULL;
		}
		return -1;
	}
	/* before any statement: every one of them may meet a lock */
	sqlite3_busy_timeout(ms->db, MAILDIR_BUSY_TIMEOUT_MS);
	/* Memory per open store matters: SQLite's default lookaside buffer
	 * alone is ~120 KB per connection.  A small one keeps most of its
	 * speed benefit. */
	(void)sqlite3_db_config(ms->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 128, 16);
	if (maildir_index_exec(ms, "PRAGMA journal_mode = WAL") < 0 ||
	    maildir_index_exec(ms, ms->fsync ? "PRAGMA synchronous = FULL" :
			       "PRAGMA synchronous = OFF") < 0 ||
	    maildir_index_exec(ms, "PRAGMA foreign_keys = OFF") < 0) {
		maildir_index_close(ms);
		return -1;
	}
	return 0;
}

static int maildir_index_connect(struct maildir_store *ms)
{
	return index_retry(ms, maildir_index_connect_once);
}

static maildir_index_populate_t *open_populate;

static int create_schema_once(struct maildir_store *ms)
{
	return create_schema(ms, open_populate);
}

int maildir_index_open(struct maildir_store *ms, const char *path,
		       maildir_index_populate_t *populate)
{
	int ret;

	free(ms->index_path);
	ms->index_path = xstrdup(path);
	if (maildir_index_connect(ms) < 0)
		return -1;
	(void)chmod(path, 0600);
	/* the schema's creation or migration and the text index's tables
	 * (fts.c, its own version) wait for other processes doing the same */
	open_populate = populate;
	ret = index_retry(ms, create_schema_once);
	open_populate = NULL;
	if (ret < 0)
		return -1;
	return index_retry(ms, maildir_fts_init);
}

/* The connection is closed while the store is idle (see
 * maildir_index_release_memory()); this opens it again on first use. */
static int maildir_index_ensure(struct maildir_store *ms)
{
	if (ms->db != NULL)
		return 0;
	if (ms->index_path == NULL) {
		store_set_internal_error(&ms->store, "index is closed");
		return -1;
	}
	return maildir_index_connect(ms);
}

void maildir_index_release_memory(struct maildir_store *ms)
{
	if (ms->db == NULL || !sqlite3_get_autocommit(ms->db))
		return;
	for (size_t i = 0; i < MAILDIR_STMT_CACHE_SIZE; i++) {
		if (ms->stmts[i].busy)
			return;
	}
	/* Idle: close the connection.  Its statements, page cache, schema
	 * and the WAL index mapping (32 KB per database) are what an idle
	 * session would otherwise keep; opening again costs well under a
	 * millisecond. */
	maildir_index_close(ms);
}

void maildir_index_close(struct maildir_store *ms)
{
	for (size_t i = 0; i < MAILDIR_STMT_CACHE_SIZE; i++) {
		/* a busy statement here is a missing maildir_index_finish() */
		assert(!ms->stmts[i].busy);
		sqlite3_finalize(ms->stmts[i].stmt);
		memset(&ms->stmts[i], 0, sizeof(ms->stmts[i]));
	}
	if (ms->db != NULL) {
		sqlite3_close_v2(ms->db);
		ms->db = NULL;
	}
	keywords_written_clear(ms);
	free(ms->kw_written);
	ms->kw_written = NULL;
	ms->kw_written_cap = 0;
	maildir_recover_committed(ms);
	free(ms->swept);
	ms->swept = NULL;
	ms->swept_cap = 0;
}

static void read_row(sqlite3_stmt *stmt, struct maildir_mailbox_row *row_r)
{
	row_r->id = sqlite3_column_int64(stmt, 0);
	row_r->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 1);
	row_r->uidnext = (uint32_t)sqlite3_column_int64(stmt, 2);
	row_r->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 3);
	row_r->special_use = (uint32_t)sqlite3_column_int64(stmt, 4);
	row_r->recent_uid = (uint32_t)sqlite3_column_int64(stmt, 5);
}

#define ROW_COLUMNS "id, uidvalidity, uidnext, highestmodseq, special_use, recent_uid"

int maildir_index_mailbox_lookup(struct maildir_store *ms, const char *name,
				 struct maildir_mailbox_row *row_r)
{
	sqlite3_stmt *stmt = maildir_index_prepare(ms,
		"SELECT " ROW_COLUMNS " FROM mailboxes WHERE name = ?");
	int ret;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	ret = maildir_index_step(ms, stmt);
	if (ret > 0)
		read_row(stmt, row_r);
	maildir_index_finish(ms, stmt);
	return ret;
}

int maildir_index_mailbox_by_id(struct maildir_store *ms, int64_t id,
				struct maildir_mailbox_row *row_r, char **name_r)
{
	sqlite3_stmt *stmt = maildir_index_prepare(ms,
		"SELECT " ROW_COLUMNS ", name FROM mailboxes WHERE id = ?");
	int ret;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	ret = maildir_index_step(ms, stmt);
	if (ret > 0) {
		read_row(stmt, row_r);
		if (name_r != NULL)
			*name_r = xstrdup((const char *)sqlite3_column_text(stmt, 6));
	}
	maildir_index_finish(ms, stmt);
	return ret;
}

int maildir_index_has_children(struct maildir_store *ms, const char *name)
{
	sqlite3_stmt *stmt = maildir_index_prepare(ms,
		"SELECT 1 FROM mailboxes WHERE substr(name, 1, ?1) = ?2 LIMIT 1");
	char *prefix = xasprintf("%s/", name);
	int ret;

	if (stmt == NULL) {
		free(prefix);
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, (int64_t)strlen(prefix));
	sqlite3_bind_text(stmt, 2, prefix, -1, SQLITE_STATIC);
	ret = maildir_index_step(ms, stmt);
	maildir_index_finish(ms, stmt);
	free(prefix);
	return ret;
}

int maildir_index_new_uidvalidity(struct maildir_store *ms, uint32_t *uidvalidity_r)
{
	sqlite3_stmt *stmt;
	uint32_t last = 0, now = (uint32_t)time(NULL), uv;
	int ret;

	stmt = maildir_index_prepare(ms, "SELECT max(coalesce((SELECT value FROM meta WHERE key = 'last_uidvalidity'), 0), "
				     "coalesce((SELECT max(uidvalidity) FROM mailboxes), 0))");
	if (stmt == NULL || maildir_index_step(ms, stmt) < 0) {
		maildir_index_finish(ms, stmt);
		return -1;
	}
	last = (uint32_t)sqlite3_column_int64(stmt, 0);
	maildir_index_finish(ms, stmt);
	uv = now > last ? now : last + 1;
	if (uv == 0)
		uv = 1;
	stmt = maildir_index_prepare(ms, "INSERT OR REPLACE INTO meta(key, value) VALUES ('last_uidvalidity', ?)");
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, uv);
	ret = maildir_index_step(ms, stmt);
	maildir_index_finish(ms, stmt);
	*uidvalidity_r = uv;
	return ret < 0 ? -1 : 0;
}

void maildir_index_keywords_free(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

int maildir_index_keywords_load(struct maildir_store *ms, int64_t mailbox_id,
				char ***names_r, size_t *count_r)
{
	sqlite3_stmt *stmt = maildir_index_prepare(ms,
		"SELECT idx, name FROM keywords WHERE mailbox = ? ORDER BY idx");
	char **names = xcalloc(STORE_MAX_KEYWORDS, sizeof(*names));
	size_t count = 0;
	int ret;

	if (stmt == NULL) {
		free(names);
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	while ((ret = maildir_index_step(ms, stmt)) > 0) {
		int64_t idx = sqlite3_column_int64(stmt, 0);

		/* indexes are dense: 0..count-1 */
		if (idx != (int64_t)count || count >= STORE_MAX_KEYWORDS)
			continue;
		names[count++] = xstrdup((const char *)sqlite3_column_text(stmt, 1));
	}
	maildir_index_finish(ms, stmt);
	if (ret < 0) {
		maildir_index_keywords_free(names, count);
		return -1;
	}
	*names_r = names;
	*count_r = count;
	return 0;
}

static int write_keywords_file(struct maildir_store *ms, const char *dir,
			       char **names, size_t count)
{
	struct str s = STR_INIT;
	char *path = xasprintf("%s/roost-keywords", dir);
	int ret;

	for (size_t i = 0; i < count && i < MAILDIR_KEYWORD_LETTERS; i++)
		str_printfa(&s, "%zu %s\n", i, names[i]);
	ret = maildir_file_write_atomic(ms, path, s.data == NULL ? "" : s.data, s.len);
	str_free(&s);
	free(path);
	return ret;
}

int maildir_index_keyword_get(struct maildir_store *ms, int64_t mailbox_id,
			      const char *dir, const char *name)
{
	sqlite3_stmt *stmt;
	char **names;
	size_t count, i;
	int ret;

	if (maildir_index_keywords_load(ms, mailbox_id, &names, &count) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		if (str_eq_icase(names[i], name)) {
			maildir_index_keywords_free(names, count);
			return (int)i;
		}
	}
	if (count >= STORE_MAX_KEYWORDS) {
		maildir_index_keywords_free(names, count);
		store_set_error(&ms->store, STORE_ERR_LIMIT,
				"Too many keywords in this mailbox (max %d)", STORE_MAX_KEYWORDS);
		return -1;
	}
	stmt = maildir_index_prepare(ms, "INSERT INTO keywords(mailbox, idx, name) VALUES (?, ?, ?)");
	ret = stmt == NULL ? -1 : 0;
	if (ret == 0) {
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, (int64_t)count);
		sqlite3_bind_text(stmt, 3, name, -1, SQLITE_STATIC);
		ret = maildir_index_step(ms, stmt);
	}
	maildir_index_finish(ms, stmt);
	names[count] = xstrdup(name);
	count++;
	/* The letter must be known on disk before any file name carries it
	 * (and forgotten again if the transaction is rolled back). */
	if (ret == 0 && count <= MAILDIR_KEYWORD_LETTERS) {
		bool recorded = false;

		for (i = 0; i < ms->kw_written_count && !recorded; i++)
			recorded = ms->kw_written[i].mailbox_id == mailbox_id;
		if (!recorded) {
			ARRAY_RESERVE(ms->kw_written, ms->kw_written_cap,
				      ms->kw_written_count + 1);
			ms->kw_written[ms->kw_written_count].mailbox_id = mailbox_id;
			ms->kw_written[ms->kw_written_count].dir = xstrdup(dir);
			ms->kw_written[ms->kw_written_count].count_before = count - 1;
			ms->kw_written_count++;
		}
		ret = write_keywords_file(ms, dir, names, count);
	}
	maildir_index_keywords_free(names, count);
	return ret < 0 ? -1 : (int)(count - 1);
}

int maildir_index_insert_msg(struct maildir_store *ms, int64_t mailbox_id, const char *file,
			     const struct store_msg *msg,
			     const struct store_msg_cache_data *cache)
{
	sqlite3_stmt *stmt = maildir_index_prepare(ms,
		"INSERT INTO messages(mailbox, uid, file, flags, keywords, modseq, "
		"internaldate, tz, size, header_size, " MAILDIR_CACHE_COLUMNS ") "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	int ret;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, msg->uid);
	sqlite3_bind_text(stmt, 3, file, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, msg->flags);
	sqlite3_bind_int64(stmt, 5, (int64_t)msg->keywords);
	sqlite3_bind_int64(stmt, 6, (int64_t)msg->modseq);
	sqlite3_bind_int64(stmt, 7, (int64_t)msg->internaldate);
	sqlite3_bind_int64(stmt, 8, msg->internaldate_tz);
	sqlite3_bind_int64(stmt, 9, (int64_t)msg->size);
	sqlite3_bind_int64(stmt, 10, (int64_t)msg->header_size);
	maildir_cache_bind(stmt, 11, cache);
	ret = maildir_index_step(ms, stmt);
	maildir_index_finish(ms, stmt);
	return ret;
}

int maildir_index_next_modseq(struct maildir_store *ms, int64_t mailbox_id, uint64_t *modseq_r)
{
	sqlite3_stmt *stmt = maildir_index_prepare(ms,
		"UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ? "
		"RETURNING highestmodseq");
	int ret;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	ret = maildir_index_step(ms, stmt);
	if (ret > 0)
		*modseq_r = (uint64_t)sqlite3_column_int64(stmt, 0);
	maildir_index_finish(ms, stmt);
	if (ret == 0) {
		store_set_error(&ms->store, STORE_ERR_NOTFOUND, "Mailbox was deleted");
		return -1;
	}
	return ret < 0 ? -1 : 0;
}

static int write_uidlist(struct maildir_store *ms, const char *dir,
			 const struct maildir_mailbox_row *row)
{
	char *path = xasprintf("%s/roost-uidlist", dir);
	char *data = xasprintf("roost-uidlist 1\nuidvalidity %u\nuidnext %u\n"
			       "highestmodseq %llu\nspecial_use %u\n",
			       row->uidvalidity, row->uidnext,
			       (unsigned long long)row->highestmodseq, row->special_use);
	int ret = maildir_file_write_atomic(ms, path, data, strlen(data));

	free(path);
	free(data);
	return ret;
}

int maildir_index_write_uidlist(struct maildir_store *ms, int64_t mailbox_id, const char *dir)
{
	struct maildir_mailbox_row row;
	int ret = maildir_index_mailbox_by_id(ms, mailbox_id, &row, NULL);

	if (ret <= 0)
		return ret < 0 ? -1 : 0;
	return write_uidlist(ms, dir, &row);
}

int maildir_index_mailbox_add(struct maildir_store *ms, const char *name,
			      uint32_t special_use, uint32_t uidvalidity,
			      uint32_t uidnext, uint64_t highestmodseq, int64_t *id_r)
{
	struct maildir_mailbox_row row;
	sqlite3_stmt *stmt;
	char *dir;
	int ret;

	if ((dir = maildir_storage_mailbox_dir(ms, name)) == NULL)
		return -1;
	if (uidvalidity == 0 && maildir_index_new_uidvalidity(ms, &uidvalidity) < 0) {
		free(dir);
		return -1;
	}
	stmt = maildir_index_prepare(ms,
		"INSERT INTO mailboxes(name, uidvalidity, uidnext, highestmodseq, special_use, recent_uid) "
		"VALUES (?, ?, ?, ?, ?, ?)");
	if (stmt == NULL) {
		free(dir);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, uidvalidity);
	sqlite3_bind_int64(stmt, 3, uidnext);
	sqlite3_bind_int64(stmt, 4, (int64_t)highestmodseq);
	sqlite3_bind_int64(stmt, 5, special_use);
	sqlite3_bind_int64(stmt, 6, uidnext);
	ret = maildir_index_step(ms, stmt);
	maildir_index_finish(ms, stmt);
	if (ret == 0) {
		row.id = sqlite3_last_insert_rowid(ms->db);
		row.uidvalidity = uidvalidity;
		row.uidnext = uidnext;
		row.highestmodseq = highestmodseq;
		row.special_use = special_use;
		row.recent_uid = uidnext;
		*id_r = row.id;
		ret = maildir_storage_mkdirs(ms, dir);
		if (ret == 0)
			ret = write_uidlist(ms, dir, &row);
		if (ret == 0)
			ret = maildir_storage_fsync_dir(ms, ms->maildir);
	}
	free(dir);
	return ret;
}

int maildir_index_write_subscriptions(struct maildir_store *ms)
{
	sqlite3_stmt *stmt = maildir_index_prepare(ms, "SELECT name FROM subscriptions ORDER BY name");
	struct str s = STR_INIT;
	char *path;
	int ret;

	if (stmt == NULL)
		return -1;
	while ((ret = maildir_index_step(ms, stmt)) > 0)
		str_printfa(&s, "%s\n", (const char *)sqlite3_column_text(stmt, 0));
	maildir_index_finish(ms, stmt);
	if (ret == 0) {
		path = xasprintf("%s/roost-subscriptions", ms->maildir);
		ret = maildir_file_write_atomic(ms, path, s.data == NULL ? "" : s.data, s.len);
		free(path);
	}
	str_free(&s);
	return ret;
}

void maildir_index_read_msg(sqlite3_stmt *stmt, int col, struct store_msg *msg_r)
{
	msg_r->uid = (uint32_t)sqlite3_column_int64(stmt, col);
	msg_r->flags = (uint32_t)sqlite3_column_int64(stmt, col + 1);
	msg_r->keywords = (store_keywords_t)sqlite3_column_int64(stmt, col + 2);
	msg_r->modseq = (uint64_t)sqlite3_column_int64(stmt, col + 3);
	msg_r->internaldate = (time_t)sqlite3_column_int64(stmt, col + 4);
	msg_r->internaldate_tz = sqlite3_column_int(stmt, col + 5);
	msg_r->size = (uint64_t)sqlite3_column_int64(stmt, col + 6);
	msg_r->header_size = (uint64_t)sqlite3_column_int64(stmt, col + 7);
}
