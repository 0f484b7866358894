/* fts.c: the full-text index of the SQLite index, for SEARCH HEADER,
 * FROM, TO, CC, BCC, SUBJECT, BODY and TEXT.
 *
 * Tables (created here, not by the schema of index.c, with their own
 * version in meta 'text_index_version'):
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
 * Filled by the index's owner when a message is added (in the
 * transaction that inserts the row) or read later, copied with COPY/MOVE,
 * deleted with expunges (msg.c) and mailbox deletion, moved with INBOX's
 * messages when INBOX is renamed (mailbox.c). */
#include "store/sqlite-index/index-private.h"
#include "base/casemap.h"
#include "mime/text.h"

#include <stdlib.h>
#include <string.h>

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

static int fts_version(struct index *idx, int *version_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT value FROM meta "
					"WHERE key = 'text_index_version'", "");
	int ret = index_stmt_step(idx, stmt);

	*version_r = ret > 0 ? sqlite3_column_int(stmt, 0) : 0;
	index_stmt_done(idx, stmt);
	return ret < 0 ? -1 : 0;
}

int index_fts_init(struct index *idx)
{
	int version;

	if (fts_version(idx, &version) < 0)
		return -1;
	if (version == FTS_VERSION)
		return 0;
	/* none yet, or another version: the text index is a cache of the
	 * messages, so it starts empty and fills (lazily or by rebuild).
	 * Checked again under the write lock: another process may have
	 * just made it. */
	if (index_begin(idx, true) < 0)
		return -1;
	if (fts_version(idx, &version) < 0 ||
	    (version != FTS_VERSION && index_exec(idx, fts_schema_sql) < 0)) {
		index_rollback(idx);
		return -1;
	}
	return index_commit(idx);
}

static int fts_mark_indexed(struct index *idx, int64_t rowid)
{
	return index_run(idx, "INSERT OR IGNORE INTO text_indexed(id) VALUES (?)",
			 "i", rowid) < 0 ? -1 : 0;
}

int index_fts_insert(struct index *idx, int64_t mailbox_id, uint32_t uid,
		     const struct store_msg_text_data *data)
{
	sqlite3_stmt *stmt = index_stmt(idx, "INSERT OR REPLACE INTO text_fts(rowid, header, body) "
					"VALUES (?, ?, ?)", "");
	int64_t rowid = fts_rowid(mailbox_id, uid);
	int ret;

	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, rowid);
		sqlite3_bind_text(stmt, 2, data->header.data, (int)data->header.len,
				  SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, data->body.data, (int)data->body.len, SQLITE_STATIC);
	}
	ret = index_stmt_step(idx, stmt);
	index_stmt_done(idx, stmt);
	return ret < 0 ? -1 : fts_mark_indexed(idx, rowid);
}

int index_fts_copy(struct index *idx, int64_t src_mailbox_id, uint32_t src_uid,
		   int64_t dest_mailbox_id, uint32_t dest_uid)
{
	int64_t dest = fts_rowid(dest_mailbox_id, dest_uid);
	int changes = index_run(idx, "INSERT OR REPLACE INTO text_fts(rowid, header, body) "
				"SELECT ?2, header, body FROM text_fts WHERE rowid = ?1", "ii",
				fts_rowid(src_mailbox_id, src_uid), dest);

	if (changes <= 0)
		return changes;	/* none: the source had no text yet, filled lazily */
	return fts_mark_indexed(idx, dest);
}

/* Runs each of sqls with ?1 = the first rowid of mailbox_id, ?2 = its
 * last and ?3 = the first of to_id. */
static int fts_run_range(struct index *idx, const char *const *sqls, size_t count,
			 int64_t mailbox_id, int64_t to_id)
{
	for (size_t i = 0; i < count; i++) {
		if (index_run(idx, sqls[i], "iii", fts_rowid(mailbox_id, 0),
			      fts_rowid(mailbox_id, UINT32_MAX), fts_rowid(to_id, 0)) < 0)
			return -1;
	}
	return 0;
}

static const char *const fts_delete_sqls[] = {
	"DELETE FROM text_fts WHERE rowid BETWEEN ? AND ?",
	"DELETE FROM text_indexed WHERE id BETWEEN ? AND ?",
};

int index_fts_delete(struct index *idx, int64_t mailbox_id, uint32_t uid)
{
	int64_t rowid = fts_rowid(mailbox_id, uid);

	for (size_t i = 0; i < N_ELEMENTS(fts_delete_sqls); i++) {
		if (index_run(idx, fts_delete_sqls[i], "ii", rowid, rowid) < 0)
			return -1;
	}
	return 0;
}

int index_fts_delete_mailbox(struct index *idx, int64_t mailbox_id)
{
	return fts_run_range(idx, fts_delete_sqls, N_ELEMENTS(fts_delete_sqls), mailbox_id, 0);
}

int index_fts_move_mailbox(struct index *idx, int64_t from_id, int64_t to_id)
{
	static const char *const sqls[] = {
		"INSERT OR REPLACE INTO text_fts(rowid, header, body) "
		"SELECT ?3 | (rowid & 4294967295), header, body FROM text_fts "
		"WHERE rowid BETWEEN ?1 AND ?2",
		"INSERT OR IGNORE INTO text_indexed(id) "
		"SELECT ?3 | (id & 4294967295) FROM text_indexed WHERE id BETWEEN ?1 AND ?2",
	};

	if (fts_run_range(idx, sqls, N_ELEMENTS(sqls), from_id, to_id) < 0)
		return -1;
	return index_fts_delete_mailbox(idx, from_id);
}

/* Stores the text if the message is still there: in the meantime another
 * session may have expunged it or deleted its mailbox, whose id a new
 * mailbox may then have been given (ids are reused), and the text must
 * not end up on another message.  0 or -1 (error set; nothing written). */
static int fts_write_back_txn(struct index *idx, int64_t mailbox_id, uint32_t uid,
			      const struct store_msg_text_data *data)
{
	int ret;

	if (index_begin(idx, true) < 0)
		return -1;
	ret = index_msg_get(idx, mailbox_id, uid, NULL, NULL);
	if (ret > 0)
		ret = index_fts_insert(idx, mailbox_id, uid, data);
	return index_end(idx, ret);
}

int index_fts_write_back(struct index *idx, int64_t mailbox_id, uint32_t uid,
			 const struct store_msg_text_data *data)
{
	int ret;

	/* The row is a cache that a power failure may lose (the message is
	 * then read again), so this commit does not wait for the disk: a
	 * search over many unindexed messages would otherwise cost an fsync
	 * per message.  WAL mode keeps the index consistent either way. */
	if (idx->fsync)
		(void)index_exec(idx, "PRAGMA synchronous = NORMAL");
	/* not worth stalling the worker for another writer */
	index_set_best_effort(idx, true);
	ret = fts_write_back_txn(idx, mailbox_id, uid, data);
	index_set_best_effort(idx, false);
	/* never leave the connection without fsync: a fresh one has it */
	if (idx->fsync && index_exec(idx, "PRAGMA synchronous = FULL") < 0)
		index_release_memory(idx);
	return ret;
}

int index_fts_get(struct index *idx, int64_t mailbox_id, uint32_t uid,
		  struct str *header, struct str *body)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT header, body FROM text_fts WHERE rowid = ?",
					"i", fts_rowid(mailbox_id, uid));
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0) {
		const void *h = sqlite3_column_blob(stmt, 0);
		const void *b = sqlite3_column_blob(stmt, 1);

		str_append_n(header, h == NULL ? "" : h, (size_t)sqlite3_column_bytes(stmt, 0));
		str_append_n(body, b == NULL ? "" : b, (size_t)sqlite3_column_bytes(stmt, 1));
	}
	index_stmt_done(idx, stmt);
	return ret;
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
 * from first_uid on, read once, at most INDEX_FTS_SCAN_ROWS of them
 * (about 3.5 us each) per call: the caller asks again for the rest
 * (result_r->last_uid), so that a SEARCH over 100,000 messages goes back
 * to the event loop in between. */
static int fts_scan(struct index *idx, int64_t mailbox_id, enum store_text_field field,
		    const char *name, const char *needle, size_t needle_len,
		    uint32_t first_uid, struct store_text_result *result_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT rowid, header, body FROM text_fts "
					"WHERE rowid BETWEEN ? AND ?", "ii",
					fts_rowid(mailbox_id, first_uid),
					fts_rowid(mailbox_id, UINT32_MAX));
	size_t cap = 0, indexed_cap = 0, rows = 0;
	int ret;

	result_r->last_uid = UINT32_MAX;
	while ((ret = index_stmt_step(idx, stmt)) > 0) {
		uint32_t uid = (uint32_t)(sqlite3_column_int64(stmt, 0) & UINT32_MAX);

		if (rows++ == INDEX_FTS_SCAN_ROWS) {
			/* the rest from uid on, next time */
			result_r->last_uid = uid - 1;
			ret = 0;
			break;
		}
		uid_push(&result_r->indexed, &result_r->indexed_count, &indexed_cap, uid);
		if (fts_row_has(stmt, field, name, needle, needle_len))
			uid_push(&result_r->uids, &result_r->count, &cap, uid);
	}
	index_stmt_done(idx, stmt);
	if (ret < 0) {
		store_text_result_free(result_r);
		return -1;
	}
	return 1;
}

static int fts_search(struct index *idx, int64_t mailbox_id, enum store_text_field field,
		      const char *name, const char *needle, size_t needle_len,
		      uint32_t first_uid, struct store_text_result *result_r)
{
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
		ret = fts_scan(idx, mailbox_id, field, folded_name.data, needle, needle_len,
			       first_uid, result_r);
		str_free(&folded_name);
		return ret;
	}
	/* the phrase of a prefix, or one the tokenizer reads with U+FFFx
	 * folded, finds a superset: the candidates are checked */
	verify = field == STORE_TEXT_HEADER || query_len < needle_len ||
		fts_has_fffx(needle, needle_len);
	fts_query(&query, field, needle, query_len);
	stmt = index_stmt(idx, verify ?
			  "SELECT rowid, header, body FROM text_fts "
			  "WHERE text_fts MATCH ? AND rowid BETWEEN ? AND ?" :
			  "SELECT rowid FROM text_fts "
			  "WHERE text_fts MATCH ? AND rowid BETWEEN ? AND ?", "sii",
			  query.data, fts_rowid(mailbox_id, 0), fts_rowid(mailbox_id, UINT32_MAX));
	if (stmt != NULL)	/* the length: the needle may hold NUL */
		sqlite3_bind_text(stmt, 1, query.data, (int)query.len, SQLITE_STATIC);
	while ((ret = index_stmt_step(idx, stmt)) > 0) {
		uint32_t uid = (uint32_t)(sqlite3_column_int64(stmt, 0) & UINT32_MAX);

		if (verify && !fts_row_has(stmt, field, folded_name.data, needle, needle_len))
			continue;
		uid_push(&result_r->uids, &result_r->count, &cap, uid);
	}
	index_stmt_done(idx, stmt);
	str_free(&query);
	str_free(&folded_name);
	if (ret < 0) {
		store_text_result_free(result_r);
		return -1;
	}

	stmt = index_stmt(idx, "SELECT id FROM text_indexed WHERE id BETWEEN ? AND ?", "ii",
			  fts_rowid(mailbox_id, 0), fts_rowid(mailbox_id, UINT32_MAX));
	while ((ret = index_stmt_step(idx, stmt)) > 0) {
		uid_push(&result_r->indexed, &result_r->indexed_count, &indexed_cap,
			 (uint32_t)(sqlite3_column_int64(stmt, 0) & UINT32_MAX));
	}
	index_stmt_done(idx, stmt);
	if (ret < 0) {
		store_text_result_free(result_r);
		return -1;
	}
	return 1;
}

int index_fts_search(struct index *idx, int64_t mailbox_id, enum store_text_field field,
		     const char *name, const char *needle, size_t needle_len,
		     uint32_t first_uid, struct store_text_result *result_r)
{
	int ret;

	/* one snapshot: a message another session indexes between the
	 * match and the list of indexed messages would otherwise count as
	 * indexed and not matching */
	if (index_begin(idx, false) < 0)
		return -1;
	ret = fts_search(idx, mailbox_id, field, name, needle, needle_len, first_uid, result_r);
	index_rollback(idx);
	return ret;
}
