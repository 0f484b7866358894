/* thread.c: THREADID (RFC 8474 5.2) and the other object ids of the
 * SQLite index.
 *
 * Ids: MAILBOXID "F", EMAILID "M" and THREADID "T" followed by 24 hex
 * digits of SQLite's randomblob() (96 bits from its CSPRNG, seeded from
 * the system's), so an id says nothing of the mailbox, the message or
 * when it came, and cannot be guessed from another one.  The prefixes
 * keep the three kinds apart (RFC 8474 5.2: "MUST NOT use the same
 * ObjectID value for both EMAILIDs and THREADIDs").
 *
 * Threads: the table `threads` maps every msg-id the user's messages
 * carry (normalised by syntax/msgid.h, "<left@right>") to the THREADID
 * of the first message that named it, whatever mailbox that message is
 * in (RFC 8474 5.2: "SHOULD return the same THREADID for related
 * messages, even if they are in different mailboxes").  A message's
 * THREADID is assigned once, when its SORT/THREAD keys (syntax/msgkeys.h)
 * are first stored with its row (delivery, the pickup of new/, the
 * first parse of a row that had none, a rebuild, the migration to schema
 * 8): the thread of the first of its References (oldest first), then
 * In-Reply-To, then its own Message-ID (a reply that came before its
 * parent) that the table knows, else a new one; then every one of those
 * msg-ids that the table does not know yet is recorded with it.  This is
 * RFC 5256 REFERENCES threading without the subject grouping, done
 * incrementally.  A message that links two threads that already exist
 * joins the first and the threads stay apart: RFC 8474 5.2 "The server
 * MUST NOT change the THREADID of a message once reported", so threads
 * are never merged.  A message without any msg-id is keyed by its
 * EMAILID, so that all its copies get the same thread ("MUST return the
 * same THREADID for all messages with the same EMAILID"); copies of one
 * with msg-ids find the same first known msg-id, since the first copy
 * recorded all of them.  Rows are never removed: a thread is stable for
 * as long as the index lives (a rebuild that can read the old index
 * copies the table). */
#include "store/sqlite-index/index-private.h"
#include "syntax/msgkeys.h"

#include <stdlib.h>
#include <string.h>

/* msg-ids of one message looked at, at most (References can be long) */
#define THREAD_MAX_IDS 128

/* The thread of key, or NULL; xmalloc'd.  -1 on error. */
static int thread_lookup(struct index *idx, const char *key, char **threadid_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT threadid FROM threads WHERE msgid = ?",
					"s", key);
	int ret = index_stmt_step(idx, stmt);

	*threadid_r = ret > 0 ? xstrdup(index_column_text(stmt, 0)) : NULL;
	index_stmt_done(idx, stmt);
	return ret < 0 ? -1 : 0;
}

/* The msg-ids of the keys in the order they are looked up (see the top
 * of the file); they point into keys.  Their count. */
static size_t thread_keys(const struct msgkeys *keys, const char **ids)
{
	const char *ref = keys->references;
	size_t n = 0;

	for (size_t i = 0; i < keys->references_count && n < THREAD_MAX_IDS - 2; i++) {
		if (*ref != '\0')
			ids[n++] = ref;
		ref = msgkeys_reference_next(ref);
	}
	if (keys->in_reply_to[0] != '\0')
		ids[n++] = keys->in_reply_to;
	if (keys->message_id[0] != '\0')
		ids[n++] = keys->message_id;
	return n;
}

int index_thread_new_id(struct index *idx, char prefix, char **id_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT lower(hex(randomblob(12)))", "");
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0)
		*id_r = xasprintf("%c%s", prefix, index_column_text(stmt, 0));
	index_stmt_done(idx, stmt);
	return ret > 0 ? 0 : -1;
}

int index_thread_of_keys(struct index *idx, const void *msgkeys, size_t size,
			 const char *emailid, char **threadid_r)
{
	const char *ids[THREAD_MAX_IDS];
	struct msgkeys keys;
	char *threadid = NULL;
	size_t count;
	int ret = 0;

	*threadid_r = NULL;
	if (msgkeys == NULL || msgkeys_deserialize(&keys, msgkeys, size) < 0) {
		/* no keys, or keys of an older version: threaded when they
		 * are made (index_cache_set()) */
		return 0;
	}
	count = thread_keys(&keys, ids);
	/* no msg-id: keyed by the EMAILID (a row without one, which no
	 * writer leaves, gets a thread of its own and records nothing) */
	if (count == 0 && emailid != NULL && emailid[0] != '\0')
		ids[count++] = emailid;
	for (size_t i = 0; ret == 0 && threadid == NULL && i < count; i++)
		ret = thread_lookup(idx, ids[i], &threadid);
	if (ret == 0 && threadid == NULL)
		ret = index_thread_new_id(idx, 'T', &threadid);
	for (size_t i = 0; ret == 0 && i < count; i++) {
		ret = index_run(idx, "INSERT OR IGNORE INTO threads(msgid, threadid) VALUES (?, ?)",
				"ss", ids[i], threadid) < 0 ? -1 : 0;
	}
	if (ret < 0) {
		free(threadid);
		return -1;
	}
	*threadid_r = threadid;
	return 0;
}

int index_thread_assign(struct index *idx, int64_t mailbox_id, uint32_t uid)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT threadid, emailid, msgkeys FROM messages "
					"WHERE mailbox = ? AND uid = ?", "iu", mailbox_id, uid);
	struct str blob = STR_INIT;
	char *emailid = NULL, *threadid = NULL;
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0 && sqlite3_column_type(stmt, 0) == SQLITE_NULL &&
	    sqlite3_column_type(stmt, 2) != SQLITE_NULL) {
		emailid = xstrdup(index_column_text(stmt, 1));
		index_column_append(&blob, stmt, 2);
	}
	index_stmt_done(idx, stmt);
	if (ret > 0 && emailid != NULL)
		ret = index_thread_of_keys(idx, blob.data, blob.len, emailid, &threadid);
	if (ret >= 0 && threadid != NULL)
		ret = index_run(idx, "UPDATE messages SET threadid = ? WHERE mailbox = ? AND uid = ?",
				"siu", threadid, mailbox_id, uid);
	free(threadid);
	free(emailid);
	str_free(&blob);
	return ret < 0 ? -1 : 0;	/* also: gone, threaded, or no keys yet */
}

int index_thread_add(struct index *idx, const char *msgid, const char *threadid)
{
	return index_run(idx, "INSERT OR IGNORE INTO threads(msgid, threadid) VALUES (?, ?)",
			 "ss", msgid, threadid) < 0 ? -1 : 0;
}

/* One row to thread, in the migration. */
struct thread_row {
	int64_t mailbox;
	uint32_t uid;
};

static void thread_row_read(sqlite3_stmt *stmt, void *elem)
{
	struct thread_row *row = elem;

	row->mailbox = sqlite3_column_int64(stmt, 0);
	row->uid = (uint32_t)sqlite3_column_int64(stmt, 1);
}

int index_thread_assign_all(struct index *idx)
{
	void *rows = NULL;
	size_t count = 0;
	/* in arrival order, as they would have been threaded */
	int ret = index_stmt_rows(idx, index_stmt(idx, "SELECT mailbox, uid FROM messages "
						  "WHERE threadid IS NULL AND msgkeys IS NOT NULL "
						  "ORDER BY internaldate, mailbox, uid", ""),
				  sizeof(struct thread_row), thread_row_read, &rows, &count);

	for (size_t i = 0; ret == 0 && i < count; i++) {
		const struct thread_row *row = (const struct thread_row *)rows + i;

		ret = index_thread_assign(idx, row->mailbox, row->uid);
	}
	free(rows);
	return ret < 0 ? -1 : 0;
}
