/* index-private.h: the SQLite index's shared declarations: the index
 * struct, the statement helpers every table's file uses, and what the
 * files call in each other.  Nothing outside src/store/sqlite-index
 * includes this. */
#ifndef ROOST_STORE_INDEX_PRIVATE_H
#define ROOST_STORE_INDEX_PRIVATE_H

#include "store/sqlite-index/index.h"

#include <sqlite3.h>
#include <time.h>
#include <zlib.h>

/* 1: first; 2: messages.envelope, body, bodystructure, part_map,
 * body_rev2, bodystructure_rev2; 3: messages.msgkeys; 5:
 * messages.sentdate and the index messages_sentdate; 6: the index
 * messages_deleted; 7: messages.envelope may be stored without Sender
 * and Reply-To (cache.c); 8: mailboxes.mailboxid, messages.emailid,
 * threadid, savedate and the tables previews (cache.c) and threads
 * (thread.c); 9: mailboxes.tombstone_floor; 10: the table sieve_track
 * (sieve-track.c) */
#define INDEX_SCHEMA_VERSION 11
/* SQLite's busy handler waits this long for each statement; opening the
 * index (connection setup, schema creation or migration) retries lock
 * conflicts for up to INDEX_OPEN_MAX_WAIT_MS in all (index.c). */
#define INDEX_BUSY_TIMEOUT_MS 5000
#define INDEX_OPEN_MAX_WAIT_MS 15000
/* writes that may be skipped (a parsed model or text stored for the next
 * time) wait only this long: the wait blocks the worker's event loop */
#define INDEX_BEST_EFFORT_BUSY_MS 50
/* the longest pause between two attempts to take a lock that is busy */
#define INDEX_BUSY_POLL_MAX_US 1000
/* stored documents one text SEARCH call scans at most (fts.c) */
#define INDEX_FTS_SCAN_ROWS 4096

/* Prepared statements kept for reuse, keyed by the address of their SQL
 * text (always a string literal). */
#define INDEX_STMT_CACHE_SIZE 48
struct index_stmt_cache {
	const char *sql;
	sqlite3_stmt *stmt;
	bool busy;
};

struct index {
	struct store *store;	/* where errors go */
	char *path;
	bool fsync;
	sqlite3 *db;		/* NULL while released (index_release_memory()) */
	bool released;		/* closed by index_release_memory(), not reopened */
	bool busy;		/* the last SQLite error was BUSY or LOCKED */
	bool commit_unknown;	/* index_commit_is_unknown() */
	int busy_ms;		/* how long a statement waits for a lock */
	struct timespec busy_start;	/* when the current wait began */
	struct index_stmt_cache stmts[INDEX_STMT_CACHE_SIZE];
	const struct index_txn_hooks *hooks;
	void *hooks_ctx;
	/* deflate.c's, made on first use; freed with the connection (about
	 * 40 KB: an idle store does not keep it) */
	z_stream *inflater;
};

/* ---- index.c ---- */
/* Sets the store's error from the connection's last SQLite error. */
int index_set_sqlite_error(struct index *idx, const char *context);
/* Runs SQL text without results (schema, pragmas, BEGIN/COMMIT). */
int index_exec(struct index *idx, const char *sql);
/* Opens the connection again after index_release_memory(). */
int index_ensure(struct index *idx);

/* ---- stmt.c: prepared statements ---- */
/* The statement of sql (a string literal, the cache key) with the
 * parameters bound from the arguments as `types` says, one letter each:
 *   i  int64_t
 *   u  uint32_t
 *   s  const char * (text; NULL binds NULL)
 *   b  const void *, size_t (a blob of that many bytes)
 * NULL with the error set.  Give it back with index_stmt_done(). */
sqlite3_stmt *index_stmt(struct index *idx, const char *sql, const char *types, ...);
/* 1 a row, 0 done, -1 error (set); stmt NULL (a failed index_stmt()):
 * -1. */
int index_stmt_step(struct index *idx, sqlite3_stmt *stmt);
/* Resets a cached statement for its next use or finalizes another one;
 * NULL is fine. */
void index_stmt_done(struct index *idx, sqlite3_stmt *stmt);
/* A statement without result rows, run to its end: the number of rows it
 * changed, or -1. */
int index_run(struct index *idx, const char *sql, const char *types, ...);
/* Runs stmt (from index_stmt(); NULL is fine) to its end and gives it
 * back, read(stmt, elem) filling one element of elem_size bytes per row
 * of *array_r (xrealloc'd; NULL when none).  On error, -1 with the
 * elements read so far in *array_r for the caller to free. */
int index_stmt_rows(struct index *idx, sqlite3_stmt *stmt, size_t elem_size,
		    void (*read)(sqlite3_stmt *stmt, void *elem), void **array_r,
		    size_t *count_r);
/* Runs stmt (from index_stmt(); NULL is fine) to its end, collecting
 * column 0 of its rows as UIDs (*uids_r xmalloc'd), and gives it back. */
int index_stmt_uids(struct index *idx, sqlite3_stmt *stmt, uint32_t **uids_r,
		    size_t *count_r);
/* Finalizes every cached statement (none may be in use). */
void index_stmt_cache_clear(struct index *idx);
/* Whether a cached statement is in use. */
bool index_stmt_cache_busy(struct index *idx);
/* A text column as a string ("" for NULL). */
const char *index_column_text(sqlite3_stmt *stmt, int col);
/* A blob column appended to dest, which stays NUL-terminated. */
void index_column_append(struct str *dest, sqlite3_stmt *stmt, int col);

/* ---- deflate.c: compressed values (the text index's header documents) ---- */
/* Appends the stored form of data[0..len) to dest: its length (4 bytes,
 * little-endian) and its raw deflate stream primed with dict[0..dict_len);
 * nothing for an empty value. */
void index_deflate(struct str *dest, const char *data, size_t len, const char *dict,
		   size_t dict_len);
/* Appends the value stored as blob[0..len) (index_deflate() with the same
 * dict; empty: the empty value) to dest.  false, with dest as it was,
 * when it is not one whole stream of its recorded length, or that length
 * is above max. */
bool index_inflate(struct index *idx, struct str *dest, const unsigned char *blob, size_t len,
		   size_t max, const char *dict, size_t dict_len);
/* Frees the inflater index_inflate() keeps (it makes another when
 * needed). */
void index_inflater_free(struct index *idx);

/* ---- cache.c ---- */
/* The model columns, in the order index_cache_bind() uses. */
#define INDEX_CACHE_COLUMNS \
	"envelope, body, bodystructure, part_map, body_rev2, bodystructure_rev2, msgkeys, " \
	"sentdate"
/* Binds the model columns at parameters first.. (NULL data: NULLs). */
void index_cache_bind(sqlite3_stmt *stmt, int first, const struct store_msg_cache_data *data);
/* Stores the preview of data, if it has one, for (mailbox, uid) (write
 * txn).  0 or -1. */
int index_cache_set_preview(struct index *idx, int64_t mailbox_id, uint32_t uid,
			    const struct store_msg_cache_data *data);
/* Registers roost_msgkeys_sentdate(msgkeys) on the connection: the
 * messages.sentdate value of a msgkeys blob (see cache.c), for the
 * migration to schema 5.  0, or -1 with the error set. */
int index_cache_register_functions(struct index *idx);

/* ---- thread.c ---- */
/* Gives every row with keys and without a THREADID its thread, in
 * arrival order (the migration to schema 8; write txn).  0 or -1. */
int index_thread_assign_all(struct index *idx);

/* ---- fts.c ---- */
/* Creates the text index tables if missing (from index_open(); not part
 * of the schema version). */
int index_fts_init(struct index *idx);
int index_fts_delete(struct index *idx, int64_t mailbox_id, uint32_t uid);
int index_fts_delete_mailbox(struct index *idx, int64_t mailbox_id);
/* Moves the texts of one mailbox's messages to another (same UIDs). */
int index_fts_move_mailbox(struct index *idx, int64_t from_id, int64_t to_id);

#endif
