/* index.c: the SQLite index's connection, schema and transactions.
 *
 * WAL mode so readers never block the writer; every change runs inside
 * BEGIN IMMEDIATE so writers queue (index_busy_handler(), 5 s) instead of failing
 * half-way, and read-modify-write of flags is atomic across processes.
 * The schema version lives in PRAGMA user_version for later migrations.
 * Nothing here decides IMAP semantics; it only stores rows. */
#include "store/sqlite-index/index-private.h"
#include "store/sqlite-index/fault-vfs.h"
#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
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
	" recent_uid INTEGER NOT NULL DEFAULT 1,"	/* first uid not claimed as \Recent */
	/* expunges with a modseq at or below this may have no tombstone
	 * (schema 9; tombstone.c): compacted, or lost by a rebuild */
	" tombstone_floor INTEGER NOT NULL DEFAULT 0,"
	" mailboxid TEXT"			/* RFC 8474 MAILBOXID (schema 8, thread.c) */
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
	" file TEXT NOT NULL,"		/* the owner's location of the message */
	" flags INTEGER NOT NULL,"
	" keywords INTEGER NOT NULL,"	/* 64-bit mask, stored signed */
	" modseq INTEGER NOT NULL,"
	" internaldate INTEGER NOT NULL,"
	" tz INTEGER NOT NULL,"
	" size INTEGER NOT NULL,"
	" header_size INTEGER NOT NULL,"
	/* RFC 8474 EMAILID and THREADID (NULL: not threaded yet) and RFC
	 * 8514 save date, in seconds (schema 8; thread.c) */
	" emailid TEXT,"
	" threadid TEXT,"
	" savedate INTEGER,"
	/* SORT and THREAD keys (schema 3; syntax/msgkeys.h; NULL: not parsed
	 * yet, see cache.c).  Before the large columns: SQLite reads a
	 * row's columns in order, so SORT and THREAD, which read only this
	 * one, do not walk the overflow pages of envelope and body
	 * structure (an index migrated from schema 2 has it last). */
	" msgkeys BLOB,"
	/* the sent date of msgkeys alone (schema 5; cache.c
	 * index_cache_sentdate()), NULL with msgkeys: read through
	 * messages_sentdate, SORT by date reads no blob */
	" sentdate INTEGER,"
	/* the message model (schema 2; NULL: not parsed yet, see cache.c) */
	" envelope TEXT,"		/* or a BLOB from schema 7: cache.c */
	" body TEXT,"
	" bodystructure TEXT,"
	" part_map BLOB,"
	" body_rev2 TEXT,"		/* only with a message/global part */
	" bodystructure_rev2 TEXT,"
	" PRIMARY KEY (mailbox, uid)"
	") WITHOUT ROWID;"
	"CREATE INDEX messages_modseq ON messages (mailbox, modseq);"
	/* covers SORT (DATE)'s scan: ~20 bytes a row instead of the row */
	"CREATE INDEX messages_sentdate ON messages (mailbox, uid, sentdate);"
	/* the \Deleted messages (schema 6), so EXPUNGE does not read every
	 * row (msg.c: the query repeats this WHERE to use it) */
	"CREATE INDEX messages_deleted ON messages (mailbox, uid) WHERE flags & 8 != 0;"
	/* Expunge tombstones, kept for QRESYNC. */
	"CREATE TABLE expunged ("
	" mailbox INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" PRIMARY KEY (mailbox, uid)"
	") WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged (mailbox, modseq);"
	"CREATE TABLE subscriptions (name TEXT PRIMARY KEY) WITHOUT ROWID;"
	/* the RFC 8970 preview of a message (schema 8; none: not made yet,
	 * see cache.c), apart from its row: a row of messages holds some
	 * 600 bytes already, and 200 more made rows cross SQLite's 1,002
	 * bytes kept in a page (4 KiB) and spill into overflow pages, and
	 * fit 3 instead of 6 to a page (the table grew 81 % for 40 % more
	 * data) */
	"CREATE TABLE previews ("
	" mailbox INTEGER NOT NULL,"
	" uid INTEGER NOT NULL,"
	" preview TEXT NOT NULL,"
	" PRIMARY KEY (mailbox, uid)"
	") WITHOUT ROWID;"
	/* msg-id (or EMAILID) -> THREADID (schema 8; thread.c) */
	"CREATE TABLE threads (msgid TEXT PRIMARY KEY, threadid TEXT NOT NULL) WITHOUT ROWID;"
	/* Sieve's tracking memory: opaque ids (vacation's sender and
	 * handle, duplicate's message ids) until a time in seconds since
	 * the epoch (schema 10; sieve-track.c) */
	"CREATE TABLE sieve_track (id BLOB PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;"
	/* tools' own state, by key (schema 11; state.c): roost import's
	 * record of what it imported */
	"CREATE TABLE tool_state (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
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

/* 3 -> 5: the sent date beside the keys, filled from the keys there are
 * (roost_msgkeys_sentdate(): cache.c), in the migration's transaction */
static const char schema_migrate_3_5_sql[] =
	"ALTER TABLE messages ADD COLUMN sentdate INTEGER;"
	"UPDATE messages SET sentdate = roost_msgkeys_sentdate(msgkeys) "
	"WHERE msgkeys IS NOT NULL;"
	"CREATE INDEX messages_sentdate ON messages (mailbox, uid, sentdate);"
	"PRAGMA user_version = 5;";

/* 5 -> 6: the partial index of the \Deleted messages */
static const char schema_migrate_5_6_sql[] =
	"CREATE INDEX messages_deleted ON messages (mailbox, uid) WHERE flags & 8 != 0;"
	"PRAGMA user_version = 6;";

/* 6 -> 7: an envelope whose Sender and Reply-To are its From is
 * written without them, as a BLOB (cache.c); older rows keep their text,
 * which is read as it is.  The version keeps older code, which would
 * take such a BLOB for the text, from opening the index. */
static const char schema_migrate_6_7_sql[] =
	"PRAGMA user_version = 7;";

/* 7 -> 8: the object ids (RFC 8474) with new random ones, the save date
 * (RFC 8514; the internal date stands in for the date the message was
 * saved, which the index did not keep), the preview table (RFC 8970;
 * made on first use) and the thread table, filled by index_thread_assign_all()
 * in the same transaction.  Its own step, so that it can be renumbered
 * when other steps come between. */
static const char schema_migrate_7_8_sql[] =
	"ALTER TABLE mailboxes ADD COLUMN mailboxid TEXT;"
	"UPDATE mailboxes SET mailboxid = 'F' || lower(hex(randomblob(12)));"
	"ALTER TABLE messages ADD COLUMN emailid TEXT;"
	"ALTER TABLE messages ADD COLUMN threadid TEXT;"
	"ALTER TABLE messages ADD COLUMN savedate INTEGER;"
	"UPDATE messages SET emailid = 'M' || lower(hex(randomblob(12))), savedate = internaldate;"
	"CREATE TABLE previews (mailbox INTEGER NOT NULL, uid INTEGER NOT NULL,"
	" preview TEXT NOT NULL, PRIMARY KEY (mailbox, uid)) WITHOUT ROWID;"
	"CREATE TABLE threads (msgid TEXT PRIMARY KEY, threadid TEXT NOT NULL) WITHOUT ROWID;";

static int schema_migrate_7_8(struct index *idx)
{
	if (index_exec(idx, schema_migrate_7_8_sql) < 0 || index_thread_assign_all(idx) < 0)
		return -1;
	return index_exec(idx, "PRAGMA user_version = 8;");
}

/* 8 -> 9: the lowest modseq from which the tombstones are complete */
static const char schema_migrate_8_9_sql[] =
	"ALTER TABLE mailboxes ADD COLUMN tombstone_floor INTEGER NOT NULL DEFAULT 0;"
	"PRAGMA user_version = 9;";

/* 9 -> 10: Sieve's tracking memory (RFC 5230 vacation, RFC 7352
 * duplicate), empty: an upgraded user's next vacation reply is sent */
static const char schema_migrate_9_10_sql[] =
	"CREATE TABLE sieve_track (id BLOB PRIMARY KEY, expires INTEGER NOT NULL) WITHOUT ROWID;"
	"PRAGMA user_version = 10;";

/* 10 -> 11: tools' state (roost import), empty: no import ran before */
static const char schema_migrate_10_11_sql[] =
	"CREATE TABLE tool_state (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
	"PRAGMA user_version = 11;";

int index_set_sqlite_error(struct index *idx, const char *context)
{
	int code = sqlite3_errcode(idx->db);

	idx->busy = code == SQLITE_BUSY || code == SQLITE_LOCKED;
	if (code == SQLITE_FULL) {
		store_set_error(idx->store, STORE_ERR_NOSPACE, "Not enough disk space");
		log_error("store(%s): %s: %s", idx->store->user, context, sqlite3_errmsg(idx->db));
	} else if (idx->busy) {
		store_set_error(idx->store, STORE_ERR_BUSY, "Mailbox is busy, try again later");
		log_warning("store(%s): %s: %s", idx->store->user, context,
			    sqlite3_errmsg(idx->db));
	} else {
		store_set_internal_error(idx->store, "%s: %s", context, sqlite3_errmsg(idx->db));
	}
	return -1;
}

int index_exec(struct index *idx, const char *sql)
{
	if (index_ensure(idx) < 0)
		return -1;
	if (sqlite3_exec(idx->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return index_set_sqlite_error(idx, sql);
	return 0;
}

/* SQLite's busy handler: called with the number of earlier calls for the
 * same lock wait; returns nonzero to try again.  The built-in one
 * (sqlite3_busy_timeout) sleeps 1, 2, 5, 10, 15, 20, 25 ... ms between
 * attempts, so a writer of another process that finds the write lock
 * taken by a commit of 2-3 ms (one WAL fsync) sleeps 8 ms or more and
 * the lock sits free meanwhile: sessions of one user in two workers then
 * run at the rate of the sleeps.  This one polls at 50 us, doubling up to
 * INDEX_BUSY_POLL_MAX_US, which is still cheap (an attempt is one fcntl
 * lock) and wakes within a fraction of a commit; it gives up after
 * idx->busy_ms, as the built-in one did. */
static int index_busy_handler(void *arg, int count)
{
	struct index *idx = arg;
	struct timespec now, pause;
	long delay_us = 50;
	int64_t waited_ms;

	if (count == 0)
		clock_gettime(CLOCK_MONOTONIC, &idx->busy_start);
	clock_gettime(CLOCK_MONOTONIC, &now);
	waited_ms = (int64_t)(now.tv_sec - idx->busy_start.tv_sec) * 1000 +
		(now.tv_nsec - idx->busy_start.tv_nsec) / 1000000;
	if (waited_ms >= idx->busy_ms)
		return 0;
	for (int i = 0; i < count && delay_us < INDEX_BUSY_POLL_MAX_US; i++)
		delay_us *= 2;
	if (delay_us > INDEX_BUSY_POLL_MAX_US)
		delay_us = INDEX_BUSY_POLL_MAX_US;
	pause.tv_sec = 0;
	pause.tv_nsec = delay_us * 1000;
	nanosleep(&pause, NULL);
	return 1;
}

/* Sets how long each statement waits for a lock (index_busy_handler()). */
static void index_set_busy_ms(struct index *idx, int ms)
{
	idx->busy_ms = ms;
	if (idx->db != NULL)
		sqlite3_busy_handler(idx->db, index_busy_handler, idx);
}

void index_set_best_effort(struct index *idx, bool best_effort)
{
	if (idx->db != NULL)
		index_set_busy_ms(idx, best_effort ? INDEX_BEST_EFFORT_BUSY_MS :
				  INDEX_BUSY_TIMEOUT_MS);
}

bool index_in_transaction(struct index *idx)
{
	return idx->db != NULL && !sqlite3_get_autocommit(idx->db);
}

int index_begin(struct index *idx, bool write)
{
	if (index_exec(idx, write ? "BEGIN IMMEDIATE" : "BEGIN") < 0)
		return -1;
	if (write)
		idx->hooks->begun(idx->hooks_ctx);
	return 0;
}

/* Whether a COMMIT that failed with the extended result code `code` may
 * have made its transaction durable.  In WAL mode a COMMIT appends the
 * transaction's pages to the log, its last frame marking the commit
 * (with SQLite's default powersafe overwrite, nothing is written after
 * it), then syncs the log (synchronous = FULL) and only then publishes
 * the frames in the shared index.  A lock that was busy, memory that ran
 * out, a disk that was full or a write that failed stop it before the
 * commit frame is whole: the frames written are ignored by every reader
 * and by a recovery, and the next writer overwrites them.  A failed
 * fsync comes after the commit frame was written: nobody sees it now,
 * but a recovery after a crash may find it valid and replay it.  Any
 * other failure is taken as that one: unknown. */
static bool commit_error_is_unknown(int code)
{
	switch (code & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_NOMEM:
	case SQLITE_FULL:
		return false;
	case SQLITE_IOERR:
		return code != SQLITE_IOERR_WRITE && code != SQLITE_IOERR_NOMEM;
	default:
		return true;
	}
}

int index_commit(struct index *idx)
{
	idx->commit_unknown = false;
	if (index_exec(idx, "COMMIT") < 0) {
		idx->commit_unknown = idx->db == NULL ||
			commit_error_is_unknown(sqlite3_extended_errcode(idx->db));
		index_rollback(idx);
		return -1;
	}
	idx->hooks->committed(idx->hooks_ctx);
	return 0;
}

bool index_commit_is_unknown(struct index *idx)
{
	return idx->commit_unknown;
}

int index_end(struct index *idx, int ret)
{
	if (ret < 0) {
		index_rollback(idx);
		return -1;
	}
	return index_commit(idx);
}

void index_rollback(struct index *idx)
{
	bool in_txn = index_in_transaction(idx);

	idx->hooks->rolling_back(idx->hooks_ctx, in_txn);
	if (in_txn)
		(void)sqlite3_exec(idx->db, "ROLLBACK", NULL, NULL, NULL);
}

static int schema_version(struct index *idx, int *version_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "PRAGMA user_version", "");
	int ret = index_stmt_step(idx, stmt);

	*version_r = ret > 0 ? sqlite3_column_int(stmt, 0) : 0;
	index_stmt_done(idx, stmt);
	return ret < 0 ? -1 : 0;
}

static int create_schema(struct index *idx, index_populate_t *populate, void *ctx)
{
	int version, ret;

	if (index_begin(idx, true) < 0)
		return -1;
	if (schema_version(idx, &version) < 0) {
		index_rollback(idx);
		return -1;
	}
	if (version == INDEX_SCHEMA_VERSION) {
		index_rollback(idx);
		return 0;
	}
	if (version >= 1 && version < INDEX_SCHEMA_VERSION && version != 4) {
		/* schema 1 -> 2 -> 3 -> 5 -> 6 -> 7 -> 8 -> 9 -> 10 -> 11: old rows keep NULL and
		 * are parsed on first use (cache.c) */
		ret = 0;
		if (version == 1)
			ret = index_exec(idx, schema_migrate_1_2_sql);
		if (ret == 0 && version <= 2)
			ret = index_exec(idx, schema_migrate_2_3_sql);
		if (ret == 0 && version <= 3)
			ret = index_cache_register_functions(idx);
		if (ret == 0 && version <= 3)
			ret = index_exec(idx, schema_migrate_3_5_sql);
		if (ret == 0 && version <= 5)
			ret = index_exec(idx, schema_migrate_5_6_sql);
		if (ret == 0 && version <= 6)
			ret = index_exec(idx, schema_migrate_6_7_sql);
		if (ret == 0 && version <= 7)
			ret = schema_migrate_7_8(idx);
		if (ret == 0 && version <= 8)
			ret = index_exec(idx, schema_migrate_8_9_sql);
		if (ret == 0 && version <= 9)
			ret = index_exec(idx, schema_migrate_9_10_sql);
		if (ret == 0 && version <= 10)
			ret = index_exec(idx, schema_migrate_10_11_sql);
		return index_end(idx, ret);
	}
	if (version != 0) {
		index_rollback(idx);
		store_set_internal_error(idx->store, "index schema version %d not supported",
					 version);
		return -1;
	}
	ret = index_exec(idx, schema_sql);
	if (ret == 0) {
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", INDEX_SCHEMA_VERSION);
		ret = index_exec(idx, sql);
	}
	/* in the same transaction, so no other process ever sees a store
	 * without its mailboxes */
	if (ret == 0)
		ret = populate(ctx);
	return index_end(idx, ret);
}

/* What index_retry() attempts. */
enum index_attempt {
	INDEX_ATTEMPT_CONNECT,
	INDEX_ATTEMPT_SCHEMA,
	INDEX_ATTEMPT_FTS,
};

static int index_connect_once(struct index *idx);

/* Runs the attempt until it succeeds, fails for another reason than a
 * lock (SQLITE_BUSY/LOCKED: idx->busy) or INDEX_OPEN_MAX_WAIT_MS have
 * passed.  Each attempt waits busy_timeout on its own, but some lock
 * conflicts return at once, without calling the busy handler (a journal
 * mode change or a read racing another connection's WAL reset or
 * recovery), and none of them may fail a LOGIN. */
static int index_retry(struct index *idx, enum index_attempt attempt,
		       index_populate_t *populate, void *ctx)
{
	struct timespec start, now;
	useconds_t delay = 5000;
	int64_t waited_ms;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		idx->busy = false;
		switch (attempt) {
		case INDEX_ATTEMPT_CONNECT:
			ret = index_connect_once(idx);
			break;
		case INDEX_ATTEMPT_SCHEMA:
			ret = create_schema(idx, populate, ctx);
			break;
		case INDEX_ATTEMPT_FTS:
		default:
			ret = index_fts_init(idx);
			break;
		}
		if (ret == 0)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		waited_ms = (int64_t)(now.tv_sec - start.tv_sec) * 1000 +
			(now.tv_nsec - start.tv_nsec) / 1000000;
		if (!idx->busy || waited_ms >= INDEX_OPEN_MAX_WAIT_MS)
			return -1;
		store_clear_error(idx->store);
		/* a little jitter, so processes that collided do not retry
		 * in step */
		usleep(delay + (useconds_t)(rand() % 5000));
		if (delay < 200000)
			delay *= 2;
	}
}

static void index_close(struct index *idx)
{
	index_stmt_cache_clear(idx);
	index_inflater_free(idx);
	if (idx->db != NULL) {
		sqlite3_close_v2(idx->db);
		idx->db = NULL;
	}
}

/* Opens the connection and sets it up; the schema is handled by the
 * caller.  On failure the connection is closed again. */
static int index_connect_once(struct index *idx)
{
	int rc;

	rc = sqlite3_open_v2(idx->path, &idx->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_NOMUTEX, index_fault_vfs_name());
	if (rc != SQLITE_OK) {
		store_set_internal_error(idx->store, "sqlite3_open(%s): %s", idx->path,
					 idx->db == NULL ? sqlite3_errstr(rc) :
					 sqlite3_errmsg(idx->db));
		if (idx->db != NULL) {
			sqlite3_close_v2(idx->db);
			idx->db = NULL;
		}
		return -1;
	}
	/* before any statement: every one of them may meet a lock */
	index_set_busy_ms(idx, INDEX_BUSY_TIMEOUT_MS);
	/* Memory per open store matters: SQLite's default lookaside buffer
	 * alone is ~120 KB per connection.  A small one keeps most of its
	 * speed benefit. */
	(void)sqlite3_db_config(idx->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 128, 16);
	if (index_exec(idx, "PRAGMA journal_mode = WAL") < 0 ||
	    index_exec(idx, idx->fsync ? "PRAGMA synchronous = FULL" :
		       "PRAGMA synchronous = OFF") < 0 ||
	    index_exec(idx, "PRAGMA foreign_keys = OFF") < 0) {
		index_close(idx);
		return -1;
	}
	return 0;
}

struct index *index_init(struct store *store, const char *path, bool fsync,
			 const struct index_txn_hooks *hooks, void *ctx)
{
	struct index *idx = xcalloc(1, sizeof(*idx));

	idx->store = store;
	idx->path = xstrdup(path);
	idx->fsync = fsync;
	idx->hooks = hooks;
	idx->hooks_ctx = ctx;
	return idx;
}

void index_deinit(struct index **_idx)
{
	struct index *idx = *_idx;

	if (idx == NULL)
		return;
	*_idx = NULL;
	index_close(idx);
	free(idx->path);
	free(idx);
}

int index_open(struct index *idx, index_populate_t *populate, void *ctx)
{
	if (index_retry(idx, INDEX_ATTEMPT_CONNECT, NULL, NULL) < 0)
		return -1;
	(void)chmod(idx->path, 0600);
	/* the schema's creation or migration and the text index's tables
	 * (fts.c, its own version) wait for other processes doing the same */
	if (index_retry(idx, INDEX_ATTEMPT_SCHEMA, populate, ctx) < 0)
		return -1;
	return index_retry(idx, INDEX_ATTEMPT_FTS, NULL, NULL);
}

int index_reopen(struct index *idx, index_populate_t *populate, void *ctx)
{
	if (idx->db != NULL)
		i_panic("index_reopen(%s): the connection is open", idx->path);
	if (index_open(idx, populate, ctx) < 0)
		return -1;
	idx->released = false;
	return 0;
}

/* The connection is closed while the store is idle (see
 * index_release_memory()); this opens it again on first use. */
int index_ensure(struct index *idx)
{
	if (idx->db != NULL)
		return 0;
	if (idx->released && idx->hooks->reopening != NULL &&
	    idx->hooks->reopening(idx->hooks_ctx) < 0)
		return -1;
	if (index_retry(idx, INDEX_ATTEMPT_CONNECT, NULL, NULL) < 0)
		return -1;
	idx->released = false;
	return 0;
}

bool index_release_memory(struct index *idx)
{
	if (idx->db == NULL) {
		idx->released = true;
		return true;
	}
	if (!sqlite3_get_autocommit(idx->db) || index_stmt_cache_busy(idx))
		return false;
	/* Idle: close the connection.  Its statements, page cache, schema
	 * and the WAL index mapping (32 KB per database) are what an idle
	 * session would otherwise keep; opening again costs well under a
	 * millisecond. */
	index_close(idx);
	idx->released = true;
	return true;
}
