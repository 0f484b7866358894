/* fts.c: the full-text index of the Maildir backend, for SEARCH HEADER,
 * FROM, TO, CC, BCC, SUBJECT, BODY and TEXT.
 *
 * Tables (in index.sqlite, created here, not by the schema of index.c,
 * with their own version in meta 'text_index_version'):
 *   text_fts      FTS5, trigram tokenizer with case_sensitive 1, columns
 *                 header and body: the casemapped documents of
 *                 store_msg_text_data (store/msg-text.c).  rowid =
 *                 mailbox id << 32 | uid.
 *   text_indexed  the rowids that text_fts holds (a small table, because
 *                 scanning an FTS5 table by rowid reads every document).
 *
 * Exactness: the documents and the needle are prepared with
 * i;unicode-casemap and the tokenizer folds nothing, so a needle of at
 * least 3 characters is a byte substring of a document exactly when the
 * FTS5 phrase of its trigrams matches (every position of the text starts
 * a trigram; the phrase needs them at consecutive positions).  A HEADER
 * key additionally checks the field name and value on each candidate's
 * stored header document.  Shorter needles are answered by one pass over
 * the stored documents of the mailbox (the FTS5 content, read by rowid
 * range).
 *
 * Two cases make the phrase only a filter, each candidate then being
 * checked with memmem on its stored document: a needle longer than
 * FTS_QUERY_MAX_CHARS (the phrase is of its first characters only, since
 * FTS5 keeps one term per character of a phrase and a 20,000-character
 * needle cost seconds and hundreds of MB), and a needle holding U+FFFD,
 * U+FFFE or U+FFFF (SQLite's UTF-8 reader, which the tokenizer uses for
 * documents and queries alike, reads the last two as U+FFFD, so any of
 * the three finds the others).
 *
 * Filled at append (save.c, in the transaction that inserts the row),
 * copied with COPY/MOVE, deleted with expunges and mailbox deletion,
 * moved with INBOX's messages when INBOX is renamed, filled by a rebuild,
 * and filled lazily for other messages (picked up from new/) by
 * maildir_fts_msg_text(). */
#include "store/maildir/maildir-private.h"
#include "base/casemap.h"
#include "mime/text.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 2: an address field is followed by its normalised addresses
 * (mime/text.h); a version 1 index is dropped and filled again */
#define FTS_VERSION 2
#define FTS_STR2(x) #x
#define FTS_STR(x) FTS_STR2(x)
/* the trigram tokenizer's unit: shorter needles have no trigram */
#define FTS_MIN_CHARS 3
/* the longest phrase given to FTS5, in characters; the rest of a longer
 * needle is verified on the candidates' documents */
#define FTS_QUERY_MAX_CHARS 64

static const char fts_schema_sql[] =
	"DROP TABLE IF EXISTS text_fts;"
	"DROP TABLE IF EXISTS text_indexed;"
	"CREATE VIRTUAL TABLE text_fts USING fts5(header, body,"
	" tokenize = 'trigram case_sensitive 1');"
	"CREATE TABLE text_indexed (id INTEGER PRIMARY KEY);"
	"INSERT OR REPLACE INTO meta(key, value) VALUES ('text_index_version', "
	FTS_STR(FTS_VERSION) ");";

static int64_t fts_rowid(int64_t mailbox_id, uint32_t uid)
{
	return (int64_t)((uint64_t)mailbox_id << 32 | uid);
}

static int fts_version(struct maildir_store *ms, int *version_r)
{
	sqlite3_stmt *stmt = maildir_index_prepare(ms,
		"SELECT value FROM meta WHERE key = 'text_index_version'");
	int ret;

	if (stmt == NULL)
		return -1;
	ret = maildir_index_step(ms, stmt);
	*version_r = ret > 0 ? sqlite3_column_int(stmt, 0) : 0;
	maildir_index_finish(ms, stmt);
	return ret < 0 ? -1 : 0;
}

int maildir_fts_init(struct maildir_store *ms)
{
	int version;

	if (fts_version(ms, &version) < 0)
		return -1;
	if (version == FTS_VERSION)
		return 0;
	/* none yet, or another version: the text index is a cache of the
	 * messages, so it starts empty and fills (lazily or by rebuild).
	 * Checked again under the write lock: another process may have
	 * just made it. */
	if (maildir_index_begin(ms, true) < 0)
		return -1;
	if (fts_version(ms, &version) < 0 ||
	    (version != FTS_VERSION && maildir_index_exec(ms, fts_schema_sql) < 0)) {
		maildir_index_rollback(ms);
		return -1;
	}
	return maildir_index_commit(ms);
}

int maildir_fts_insert(struct maildir_store *ms, int64_t mailbox_id, uint32_t uid,
		       const struct store_msg_text_data *data)
{
	sqlite3_stmt *stmt = maildir_index_prepare(ms,
		"INSERT OR REPLACE INTO text_fts(rowid, header, body) VALUES (?, ?, ?)");
	int64_t rowid = fts_rowid(mailbox_id, uid);
	int ret;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, rowid);
	sqlite3_bind_text(stmt, 2, data->header.data, (int)data->header.len, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, data->body.data, (int)data->body.len, SQLITE_STATIC);
	ret = maildir_index_step(ms, stmt);
	maildir_index_finish(ms, stmt);
	if (ret < 0)
		return -1;
	stmt = maildir_index_prepare(ms, "INSERT OR IGNORE INTO text_indexed(id) VALUES (?)");
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, rowid);
	ret = maildir_index_step(ms, stmt);
	maildir_index_finish(ms, stmt);
	return ret < 0 ? -1 : 0;
}

int maildir_fts_copy(struct maildir_store *ms, int64_t src_mailbox_id, uint32_t src_uid,
		     int64_t dest_mailbox_id, uint32_t dest_uid)
{
	sqlite3_stmt *stmt = maildir_index_prepare(ms,
		"INSERT OR REPLACE INTO text_fts(rowid, header, body) "
		"SELECT ?2, header, body FROM text_fts WHERE rowid = ?1");
	int64_t dest = fts_rowid(dest_mailbox_id, dest_uid);
	int ret;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, fts_rowid(src_mailbox_id, src_uid));
	sqlite3_bind_int64(stmt, 2, dest);
	ret = maildir_index_step(ms, stmt);
	maildir_index_finish(ms, stmt);
	if (ret < 0)
		return -1;
	if (sqlite3_changes(ms->db) == 0)
		return 0;	/* the source had no text yet: filled lazily */
	stmt = maildir_index_prepare(ms, "INSERT OR IGNORE INTO text_indexed(id) VALUES (?)");
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, dest);
	ret = maildir_index_step(ms, stmt);
	maildir_index_finish(ms, stmt);
	return ret < 0 ? -1 : 0;
}

/* Deletes the rows with first <= rowid <= last from both tables. */
static int fts_delete_range(struct maildir_store *ms, int64_t first, int64_t last)
{
	static const char *const sqls[] = {
		"DELETE FROM text_fts WHERE rowid BETWEEN ? AND ?",
		"DELETE FROM text_indexed WHERE id BETWEEN ? AND ?",
	};

	for (size_t i = 0; i < N_ELEMENTS(sqls); i++) {
		sqlite3_stmt *stmt = maildir_index_prepare(ms, sqls[i]);
		int ret;

		if (stmt == NULL)
			return -1;
		sqlite3_bind_int64(stmt, 1, first);
		sqlite3_bind_int64(stmt, 2, last);
		ret = maildir_index_step(ms, stmt);
		maildir_index_finish(ms, stmt);
		if (ret < 0)
			return -1;
	}
	return 0;
}

int maildir_fts_delete(struct maildir_store *ms, int64_t mailbox_id, uint32_t uid)
{
	int64_t rowid = fts_rowid(mailbox_id, uid);

	return fts_delete_range(ms, rowid, rowid);
}

int maildir_fts_delete_mailbox(struct maildir_store *ms, int64_t mailbox_id)
{
	return fts_delete_range(ms, fts_rowid(mailbox_id, 0),
				fts_rowid(mailbox_id, UINT32_MAX));
}

int maildir_fts_move_mailbox(struct maildir_store *ms, int64_t from_id, int64_t to_id)
{
	static const char *const sqls[] = {
		"INSERT OR REPLACE INTO text_fts(rowid, header, body) "
		"SELECT ?3 | (rowid & 4294967295), header, body FROM text_fts "
		"WHERE rowid BETWEEN ?1 AND ?2",
		"INSERT OR IGNORE INTO text_indexed(id) "
		"SELECT ?3 | (id & 4294967295) FROM text_indexed WHERE id BETWEEN ?1 AND ?2",
	};

	for (size_t i = 0; i < N_ELEMENTS(sqls); i++) {
		sqlite3_stmt *stmt = maildir_index_prepare(ms, sqls[i]);
		int ret;

		if (stmt == NULL)
			return -1;
		sqlite3_bind_int64(stmt, 1, fts_rowid(from_id, 0));
		sqlite3_bind_int64(stmt, 2, fts_rowid(from_id, UINT32_MAX));
		sqlite3_bind_int64(stmt, 3, fts_rowid(to_id, 0));
		ret = maildir_index_step(ms, stmt);
		maildir_index_finish(ms, stmt);
		if (ret < 0)
			return -1;
	}
	return maildir_fts_delete_mailbox(ms, from_id);
}

/* Reads, extracts and stores the text of one message file; the row is
 * written best effort (outside a transaction it commits by itself). */
static int fts_fill_msg(struct maildir_store *ms, int64_t mailbox_id, uint32_t uid,
			struct istream *msg, struct store_msg_text_data *data_r)
{
	if (store_msg_text_data_read(data_r, msg) < 0) {
		store_msg_text_data_free(data_r);
		return maildir_storage_set_syscall_error(ms, "read", "message file");
	}
	return maildir_fts_insert(ms, mailbox_id, uid, data_r);
}

int maildir_fts_fill_all(struct maildir_store *ms)
{
	/* every message without text; the folder path comes from its
	 * mailbox name */
	sqlite3_stmt *stmt = maildir_index_prepare(ms,
		"SELECT m.mailbox, m.uid, m.file, b.name FROM messages m "
		"JOIN mailboxes b ON b.id = m.mailbox WHERE NOT EXISTS "
		"(SELECT 1 FROM text_indexed t WHERE t.id = (m.mailbox << 32 | m.uid)) "
		"ORDER BY m.mailbox, m.uid");
	struct todo { int64_t mailbox; uint32_t uid; char *file, *name; } *todo = NULL;
	size_t count = 0, cap = 0;
	int ret;

	if (stmt == NULL)
		return -1;
	while ((ret = maildir_index_step(ms, stmt)) > 0) {
		if (count == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			todo = xrealloc(todo, cap * sizeof(*todo));
		}
		todo[count].mailbox = sqlite3_column_int64(stmt, 0);
		todo[count].uid = (uint32_t)sqlite3_column_int64(stmt, 1);
		todo[count].file = xstrdup((const char *)sqlite3_column_text(stmt, 2));
		todo[count].name = xstrdup((const char *)sqlite3_column_text(stmt, 3));
		count++;
	}
	maildir_index_finish(ms, stmt);

	/* in batches, so a big rebuild does not hold one huge transaction */
	for (size_t i = 0; ret == 0 && i < count; i += 256) {
		if (maildir_index_begin(ms, true) < 0) {
			ret = -1;
			break;
		}
		for (size_t k = i; ret == 0 && k < count && k < i + 256; k++) {
			char *dir = maildir_storage_mailbox_dir(ms, todo[k].name);
			struct store_msg_text_data data;
			struct istream *msg;
			int fd;

			if (dir == NULL) {
				ret = -1;
				break;
			}
			char *actual;

			fd = maildir_file_open_msg(dir, todo[k].file, &actual);
			free(dir);
			free(actual);
			if (fd < 0)
				continue;	/* gone: nothing to index */
			msg = istream_from_fd(fd);
			ret = fts_fill_msg(ms, todo[k].mailbox, todo[k].uid, msg, &data);
			istream_destroy(&msg);
			store_msg_text_data_free(&data);
		}
		if (ret == 0)
			ret = maildir_index_commit(ms);
		else
			maildir_index_rollback(ms);
	}
	for (size_t i = 0; i < count; i++) {
		free(todo[i].file);
		free(todo[i].name);
	}
	free(todo);
	return ret < 0 ? -1 : 0;
}

/* Stores the text read for (mailbox_id, uid) outside any transaction,
 * if the message is still there: in the meantime another session may
 * have expunged it or deleted its mailbox, whose id a new mailbox may
 * then have been given (ids are reused), and the text must not end up
 * on another message.  0 or -1 (error set; nothing written). */
static int fts_write_back(struct maildir_store *ms, int64_t mailbox_id, uint32_t uid,
			  const struct store_msg_text_data *data)
{
	sqlite3_stmt *stmt;
	int ret;

	if (maildir_index_begin(ms, true) < 0)
		return -1;
	stmt = maildir_index_prepare(ms, "SELECT 1 FROM messages WHERE mailbox = ? AND uid = ?");
	if (stmt == NULL) {
		maildir_index_rollback(ms);
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
	ret = maildir_index_step(ms, stmt);
	maildir_index_finish(ms, stmt);
	if (ret > 0)
		ret = maildir_fts_insert(ms, mailbox_id, uid, data);
	if (ret < 0) {
		maildir_index_rollback(ms);
		return -1;
	}
	return maildir_index_commit(ms);
}

int maildir_fts_msg_text(struct store_mailbox *box, uint32_t msn,
			 struct str *header, struct str *body)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	uint32_t uid = box->msgs[msn - 1].uid;
	sqlite3_stmt *stmt = maildir_index_prepare(ms,
		"SELECT header, body FROM text_fts WHERE rowid = ?");
	struct store_msg_text_data data;
	struct istream *msg;
	int ret;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, fts_rowid(mbox->id, uid));
	ret = maildir_index_step(ms, stmt);
	if (ret > 0) {
		const void *h = sqlite3_column_blob(stmt, 0);
		const void *b = sqlite3_column_blob(stmt, 1);

		str_append_n(header, h == NULL ? "" : h, (size_t)sqlite3_column_bytes(stmt, 0));
		str_append_n(body, b == NULL ? "" : b, (size_t)sqlite3_column_bytes(stmt, 1));
	}
	maildir_index_finish(ms, stmt);
	if (ret != 0)
		return ret < 0 ? -1 : 0;

	if (maildir_sync_msg_stream(box, msn, &msg) < 0)
		return -1;
	/* The row is a cache that a power failure may lose (the message is
	 * then read again), so this commit does not wait for the disk: a
	 * search over many unindexed messages would otherwise cost an fsync
	 * per message.  WAL mode keeps the index consistent either way. */
	if (store_msg_text_data_read(&data, msg) < 0) {
		store_msg_text_data_free(&data);
		istream_destroy(&msg);
		return maildir_storage_set_syscall_error(ms, "read", "message file");
	}
	if (ms->fsync)
		(void)maildir_index_exec(ms, "PRAGMA synchronous = NORMAL");
	/* not worth stalling the worker for another writer */
	maildir_index_set_best_effort(ms, true);
	ret = fts_write_back(ms, mbox->id, uid, &data);
	maildir_index_set_best_effort(ms, false);
	/* never leave the connection without fsync: a fresh one has it */
	if (ms->fsync && maildir_index_exec(ms, "PRAGMA synchronous = FULL") < 0)
		maildir_index_release_memory(ms);
	istream_destroy(&msg);
	/* a failed write-back only means the next search reads again */
	store_clear_error(box->store);
	str_append_n(header, data.header.data, data.header.len);
	str_append_n(body, data.body.data, data.body.len);
	store_msg_text_data_free(&data);
	return 0;
}

/* The FTS5 query: the needle as one phrase (a string; '"' doubled),
 * limited to a column. */
static void fts_query(struct str *query, enum store_text_field field,
		      const char *needle, size_t needle_len)
{
	if (field == STORE_TEXT_HEADER)
		str_append(query, "header : ");
	else if (field == STORE_TEXT_BODY)
		str_append(query, "body : ");
	str_append_c(query, '"');
	for (size_t i = 0; i < needle_len; i++) {
		if (needle[i] == '"')
			str_append_c(query, '"');
		str_append_c(query, needle[i]);
	}
	str_append_c(query, '"');
}

/* Whether the needle holds U+FFFD, U+FFFE or U+FFFF (EF BF BD..BF),
 * which SQLite's UTF-8 reader does not tell apart. */
static bool fts_has_fffx(const char *needle, size_t needle_len)
{
	const char *p = needle, *end = needle + needle_len;

	while ((p = memmem(p, (size_t)(end - p), "\xef\xbf", 2)) != NULL) {
		if (end - p >= 3 && (unsigned char)p[2] >= 0xbd)
			return true;
		p += 2;
	}
	return false;
}

static void uid_push(uint32_t **arr, size_t *count, size_t *cap, uint32_t uid)
{
	if (*count == *cap) {
		*cap = *cap == 0 ? 256 : *cap * 2;
		*arr = xrealloc(*arr, *cap * sizeof(**arr));
	}
	(*arr)[(*count)++] = uid;
}

static bool fts_doc_has(const char *doc, size_t doc_len, const char *needle,
			size_t needle_len)
{
	return needle_len == 0 ||
		(doc != NULL && memmem(doc, doc_len, needle, needle_len) != NULL);
}

/* Whether the row at `stmt` (columns rowid, header, body) matches: the
 * exact test on the stored documents, the reference for the index. */
static bool fts_row_has(sqlite3_stmt *stmt, enum store_text_field field, const char *name,
			const char *needle, size_t needle_len)
{
	bool hit = false;

	if (field != STORE_TEXT_BODY) {
		const char *doc = (const char *)sqlite3_column_blob(stmt, 1);
		size_t doc_len = (size_t)sqlite3_column_bytes(stmt, 1);

		hit = field == STORE_TEXT_HEADER ?
			doc != NULL && mime_text_header_has(doc, doc_len, name, needle,
							    needle_len) :
			fts_doc_has(doc, doc_len, needle, needle_len);
	}
	if (!hit && field != STORE_TEXT_HEADER) {
		hit = fts_doc_has((const char *)sqlite3_column_blob(stmt, 2),
				  (size_t)sqlite3_column_bytes(stmt, 2), needle, needle_len);
	}
	return hit;
}

/* A needle too short for trigrams: the stored documents of the mailbox
 * from first_uid on, read once, at most MAILDIR_FTS_SCAN_ROWS of them
 * (about 3.5 us each) per call: the caller asks again for the rest
 * (result_r->last_uid), so that a SEARCH over 100,000 messages goes back
 * to the event loop in between. */
static int fts_scan(struct maildir_mailbox *mbox, enum store_text_field field,
		    const char *name, const char *needle, size_t needle_len,
		    uint32_t first_uid, struct store_text_result *result_r)
{
	struct maildir_store *ms = (struct maildir_store *)mbox->box.store;
	sqlite3_stmt *stmt = maildir_index_prepare(ms, "SELECT rowid, header, body FROM text_fts "
						   "WHERE rowid BETWEEN ? AND ?");
	size_t cap = 0, indexed_cap = 0, rows = 0;
	int ret;

	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, fts_rowid(mbox->id, first_uid));
	sqlite3_bind_int64(stmt, 2, fts_rowid(mbox->id, UINT32_MAX));
	result_r->last_uid = UINT32_MAX;
	while ((ret = maildir_index_step(ms, stmt)) > 0) {
		uint32_t uid = (uint32_t)(sqlite3_column_int64(stmt, 0) & UINT32_MAX);

		if (rows++ == MAILDIR_FTS_SCAN_ROWS) {
			/* the rest from uid on, next time */
			result_r->last_uid = uid - 1;
			ret = 0;
			break;
		}
		uid_push(&result_r->indexed, &result_r->indexed_count, &indexed_cap, uid);
		if (fts_row_has(stmt, field, name, needle, needle_len))
			uid_push(&result_r->uids, &result_r->count, &cap, uid);
	}
	maildir_index_finish(ms, stmt);
	if (ret < 0) {
		store_text_result_free(result_r);
		return -1;
	}
	return 1;
}

static int fts_search(struct store_mailbox *box, enum store_text_field field,
		      const char *name, const char *needle, size_t needle_len,
		      uint32_t first_uid, struct store_text_result *result_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	struct str query = { 0 }, folded_name = { 0 };
	size_t cap = 0, indexed_cap = 0, chars = 0, query_len = needle_len;
	sqlite3_stmt *stmt;
	bool verify;
	int ret;

	if (field == STORE_TEXT_HEADER) {
		(void)casemap_unicode(name, strlen(name), &folded_name);
		str_append(&folded_name, "");
	}
	/* the needle is valid UTF-8 (store.c): a character starts at each
	 * byte that is not a continuation byte */
	for (size_t i = 0; i < needle_len; i++) {
		if (((unsigned char)needle[i] & 0xc0) != 0x80 &&
		    chars++ == FTS_QUERY_MAX_CHARS)
			query_len = i;
	}
	if (chars < FTS_MIN_CHARS) {
		ret = fts_scan(mbox, field, folded_name.data, needle, needle_len,
			       first_uid, result_r);
		str_free(&folded_name);
		return ret;
	}
	/* the phrase of a prefix, or one the tokenizer reads with U+FFFx
	 * folded, finds a superset: the candidates are checked */
	verify = field == STORE_TEXT_HEADER || query_len < needle_len ||
		fts_has_fffx(needle, needle_len);
	fts_query(&query, field, needle, query_len);
	if (verify) {
		stmt = maildir_index_prepare(ms, "SELECT rowid, header, body FROM text_fts "
					     "WHERE text_fts MATCH ? AND rowid BETWEEN ? AND ?");
	} else {
		stmt = maildir_index_prepare(ms, "SELECT rowid FROM text_fts "
					     "WHERE text_fts MATCH ? AND rowid BETWEEN ? AND ?");
	}
	if (stmt == NULL) {
		str_free(&query);
		str_free(&folded_name);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, query.data, (int)query.len, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, fts_rowid(mbox->id, 0));
	sqlite3_bind_int64(stmt, 3, fts_rowid(mbox->id, UINT32_MAX));
	while ((ret = maildir_index_step(ms, stmt)) > 0) {
		uint32_t uid = (uint32_t)(sqlite3_column_int64(stmt, 0) & UINT32_MAX);

		if (verify && !fts_row_has(stmt, field, folded_name.data, needle, needle_len))
			continue;
		uid_push(&result_r->uids, &result_r->count, &cap, uid);
	}
	maildir_index_finish(ms, stmt);
	str_free(&query);
	str_free(&folded_name);
	if (ret < 0) {
		store_text_result_free(result_r);
		return -1;
	}

	stmt = maildir_index_prepare(ms, "SELECT id FROM text_indexed WHERE id BETWEEN ? AND ?");
	if (stmt == NULL) {
		store_text_result_free(result_r);
		return -1;
	}
	sqlite3_bind_int64(stmt, 1, fts_rowid(mbox->id, 0));
	sqlite3_bind_int64(stmt, 2, fts_rowid(mbox->id, UINT32_MAX));
	while ((ret = maildir_index_step(ms, stmt)) > 0) {
		uid_push(&result_r->indexed, &result_r->indexed_count, &indexed_cap,
			 (uint32_t)(sqlite3_column_int64(stmt, 0) & UINT32_MAX));
	}
	maildir_index_finish(ms, stmt);
	if (ret < 0) {
		store_text_result_free(result_r);
		return -1;
	}
	return 1;
}

int maildir_fts_search(struct store_mailbox *box, enum store_text_field field,
		       const char *name, const char *needle, size_t needle_len,
		       uint32_t first_uid, struct store_text_result *result_r)
{
	struct maildir_store *ms = (struct maildir_store *)box->store;
	int ret;

	/* one snapshot: a message another session indexes between the
	 * match and the list of indexed messages would otherwise count as
	 * indexed and not matching */
	if (maildir_index_begin(ms, false) < 0)
		return -1;
	ret = fts_search(box, field, name, needle, needle_len, first_uid, result_r);
	maildir_index_rollback(ms);
	return ret;
}
