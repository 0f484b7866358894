/* fts.c: the full-text index of the SQLite index, for SEARCH HEADER,
 * FROM, TO, CC, BCC, SUBJECT, BODY and TEXT.
 *
 * Tables (created here, not by the schema of index.c, with their own
 * version in meta 'text_index_version'; the text index is a cache of the
 * messages, so another version is dropped and filled again):
 *   text_store    per message (id = mailbox id << 32 | uid): header, the
 *                 casemapped header document of store_msg_text_data
 *                 (store/msg-text.c) as a raw deflate stream (no zlib
 *                 header or checksum) primed with fts_dict behind its
 *                 4-byte length, the exact text that header keys are
 *                 verified on; and body_terms, the body document's
 *                 distinct tokens as the ascending ids of their
 *                 text_terms rows (fts_ids_pack()).  The body text
 *                 itself is not kept (it was 40 % of the index): what
 *                 needs it is answered from the message file by the
 *                 caller (see Exactness).
 *   text_hdr,     contentless FTS5 tables (detail=none: rowids only,
 *   text_body     no positions) of the header document and of the body
 *                 document's distinct tokens, with the ascii tokenizer:
 *                 a token is a maximal run of ASCII letters and digits
 *                 and bytes >= 0x80 (so whole UTF-8 characters), ASCII
 *                 letters folded to lower case.  Same rowids.
 *                 Contentless tables forget the text, so a row is
 *                 deleted with FTS5's 'delete' command fed the same
 *                 text it was inserted with: the stored header document,
 *                 and for the body the terms of body_terms, which is
 *                 exactly what the body row was inserted as (with
 *                 detail=none a row is the set of its tokens).
 *   text_terms    every token ever indexed, as it is in the document
 *                 (not lower-cased), the dictionary that substrings are
 *                 looked up in.  Never pruned (body_terms refers to its
 *                 ids, which are never reused): a stale term only finds
 *                 no rows.
 *   text_terms_tri  FTS5, trigram tokenizer, over text_terms (external
 *                 content): the terms that may hold a needle run of 3
 *                 or more characters, checked with memmem.
 *   text_indexed  the rowids that text_store holds (a small table, so
 *                 that listing them does not read the documents).
 *
 * Exactness.  The documents and the needle are prepared with
 * i;unicode-casemap, and every answer is either exact by construction
 * or verified with memmem on the text:
 *   - a needle that is one run of token bytes occurs in a document
 *     exactly when it is a substring of one of the document's tokens
 *     (an occurrence cannot span a separator), so the answer is the
 *     union of the rows of every dictionary term containing it: exact,
 *     no verification.  Except for one thing: the tokenizer folds
 *     ASCII case, and casemapped text is nearly all upper case but
 *     not quite (a ligature like U+FB01 decomposes to a lower-case
 *     "fi" after titlecasing, RFC 5051 2), so when a matching term
 *     folds to the same token as a dictionary term holding a lower-case
 *     ASCII letter, the candidates are verified;
 *   - any other needle: each run of token bytes in it is inside one
 *     token of a matching document (a run with separators on both sides
 *     is a whole token, one at the needle's end starts a token, one at
 *     its start ends one), so the AND of those constraints finds a
 *     superset, and each candidate is verified;
 *   - a HEADER key (FROM, TO, ... too) verifies the field name and value
 *     on each candidate's stored header document;
 *   - a needle without token bytes (or the empty needle), or one whose
 *     runs match more than FTS_TERMS_MAX dictionary terms each, is
 *     answered by one pass over the stored header documents of the
 *     mailbox (HEADER keys; TEXT where the header matches).
 *   Verifying a body means the body text, which is not stored: such a
 *   candidate (and, for a pass, every message whose header does not
 *   decide it; for a BODY key every message of the view, without a
 *   pass) goes into store_text_result.unindexed with the messages the
 *   index lacks, so the caller reads it from its message file
 *   (store_mailbox_msg_text()).  A needle within one word, the common
 *   kind, needs that only for the case collisions above or when it is
 *   in more than FTS_TERMS_MAX terms (a letter or two): then every
 *   message is read, unless the program's other keys narrow them.
 *
 * Filled by the index's owner when a message is added (in the
 * transaction that inserts the row) or read later, copied with COPY/MOVE,
 * deleted with expunges (msg.c) and mailbox deletion, moved with INBOX's
 * messages when INBOX is renamed (mailbox.c). */
#include "store/sqlite-index/index-private.h"
#include "base/casemap.h"
#include "mime/text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* 2: an address field is followed by its normalised addresses
 * (mime/text.h); 3: compressed text_store and word-level contentless
 * FTS5 tables instead of one trigram table holding the text; 4: raw
 * deflate with the preset dictionary fts_dict; 5: the body's term ids
 * instead of its text (text_store.body_terms), text_body fed the
 * distinct tokens.  Another version is dropped and filled again. */
#define FTS_VERSION 5
#define FTS_STR2(x) #x
#define FTS_STR(x) FTS_STR2(x)
/* the most dictionary terms one run of a needle is looked up as; past
 * it the run constrains nothing (or the mailbox's text is scanned) */
#define FTS_TERMS_MAX 500
/* FTS5 cuts tokens, of documents and queries alike, to this many bytes
 * (FTS5_MAX_TOKEN_SIZE); the dictionary keeps them cut the same way */
#define FTS_TOKEN_MAX 32768
/* the longest run looked up through the dictionary's trigram index (a
 * phrase of one term per character); longer ones scan the dictionary */
#define FTS_TERMS_QUERY_CHARS 64

static const char fts_schema_sql[] =
	"DROP TABLE IF EXISTS text_fts;"
	"DROP TABLE IF EXISTS text_indexed;"
	"DROP TABLE IF EXISTS text_hdr;"
	"DROP TABLE IF EXISTS text_body;"
	"DROP TABLE IF EXISTS text_store;"
	"DROP TABLE IF EXISTS text_terms;"
	"DROP TABLE IF EXISTS text_terms_tri;"
	"CREATE VIRTUAL TABLE text_hdr USING fts5(t, tokenize = 'ascii',"
	" content = '', detail = none, columnsize = 0);"
	"CREATE VIRTUAL TABLE text_body USING fts5(t, tokenize = 'ascii',"
	" content = '', detail = none, columnsize = 0);"
	"CREATE TABLE text_store (id INTEGER PRIMARY KEY, header BLOB NOT NULL,"
	" body_terms BLOB NOT NULL);"
	"CREATE TABLE text_terms (id INTEGER PRIMARY KEY, term BLOB NOT NULL UNIQUE);"
	"CREATE VIRTUAL TABLE text_terms_tri USING fts5(term,"
	" tokenize = 'trigram case_sensitive 1', content = 'text_terms',"
	" content_rowid = 'id', columnsize = 0);"
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

/* ---- the stored documents ---- */

/* The preset dictionary of the stored documents: header field names
 * and values common in mail, in the casemapped (upper-case) form that
 * the header documents have.  Deflate refers back into it, so a short
 * header document costs about 40 % fewer bytes.  Part of the stored
 * format: changing it needs a new FTS_VERSION. */
static const char fts_dict[] =
	"RECEIVED: FROM  BY  WITH ESMTPS ID  FOR <; MON, TUE, WED, THU, FRI, SAT, SUN, "
	"JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC 202\n"
	"DKIM-SIGNATURE: V=1; A=RSA-SHA256; C=RELAXED/RELAXED; D=; S=; H=\n"
	"X-MAILER: LIST-UNSUBSCRIBE: <MAILTO:LIST-ID: REPLY-TO: IN-REPLY-TO: <REFERENCES: <CC: \n"
	"CONTENT-TRANSFER-ENCODING: QUOTED-PRINTABLE\n"
	"CONTENT-TRANSFER-ENCODING: BASE64\n"
	"CONTENT-TRANSFER-ENCODING: 7BIT\n"
	"CONTENT-TYPE: TEXT/PLAIN; CHARSET=\"UTF-8\"\n"
	"CONTENT-TYPE: TEXT/PLAIN; CHARSET=UTF-8\n"
	"CONTENT-TYPE: MULTIPART/MIXED; BOUNDARY=\"\n"
	"CONTENT-TYPE: MULTIPART/ALTERNATIVE; BOUNDARY=\"\n"
	"MIME-VERSION: 1.0\n"
	"MESSAGE-ID: <@MAIL.GMAIL.COM>\n"
	"DATE: +0000 (UTC)\n"
	"SUBJECT: RE: \n"
	"TO: @EXAMPLE.COM>\n"
	"FROM: \n";

/* What fts_unpack() and its callers return for a stored document that
 * does not inflate (error set): the text index can no longer tell FTS5
 * the exact text of that row, which a contentless table needs to forget
 * it (fed other text, FTS5 corrupts its own index), so fts_reset() starts
 * the text index again. */
#define FTS_CORRUPT (-2)

/* Empties every table of the text index (a cache, refilled as messages
 * are read: DESIGN.md), in the caller's write transaction, and clears
 * the error that FTS_CORRUPT set.  0 or -1 (error set). */
static int fts_reset(struct index *idx)
{
	if (index_exec(idx, fts_schema_sql) < 0)
		return -1;
	store_clear_error(idx->store);
	return 0;
}

/* Appends the stored form of doc[0..len) to dest (index_deflate() with
 * fts_dict). */
static void fts_pack(struct str *dest, const char *doc, size_t len)
{
	index_deflate(dest, doc, len, fts_dict, sizeof(fts_dict) - 1);
}

/* Appends the document stored as blob[0..len) to dest.  FTS_CORRUPT
 * when it does not inflate to its recorded length (error set). */
static int fts_unpack(struct index *idx, struct str *dest, const unsigned char *blob, size_t len)
{
	if (!index_inflate(idx, dest, blob, len, MIME_TEXT_MAX_HEADER + MIME_TEXT_MAX_BODY,
			   fts_dict, sizeof(fts_dict) - 1)) {
		store_set_error(idx->store, STORE_ERR_TEMP, "Corrupt stored text in %s",
				idx->path);
		return FTS_CORRUPT;
	}
	return 0;
}

/* Reads what text_store holds for rowid: the header document into
 * *header (appended) and, when body_terms is not NULL, the body's term
 * id list as it is stored into *body_terms (appended).  1, 0 when the
 * row has none, -1 or FTS_CORRUPT (error set). */
static int fts_load(struct index *idx, int64_t rowid, struct str *header,
		    struct str *body_terms)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT header, body_terms FROM text_store "
					"WHERE id = ?", "i", rowid);
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0 && fts_unpack(idx, header, sqlite3_column_blob(stmt, 0),
				  (size_t)sqlite3_column_bytes(stmt, 0)) < 0)
		ret = FTS_CORRUPT;
	if (ret > 0 && body_terms != NULL)
		index_column_append(body_terms, stmt, 1);
	index_stmt_done(idx, stmt);
	return ret;
}

/* ---- term id lists ---- */

/* Appends the stored form of ids[0..count) (ascending, > 0, distinct)
 * to dest: the CRC-32 of what follows (4 bytes, little-endian), then
 * each id's difference from the one before (the first: from 0) as an
 * unsigned LEB128 varint, 7 bits a byte, low bits first.  The checksum
 * is there because a damaged list may still decode, and a 'delete' fed
 * other tokens corrupts FTS5's index. */
static void fts_ids_pack(struct str *dest, const int64_t *ids, size_t count)
{
	size_t start = dest->len;
	uint64_t prev = 0;
	uLong crc;

	str_append_n(dest, "\0\0\0\0", 4);
	for (size_t i = 0; i < count; i++) {
		uint64_t gap = (uint64_t)ids[i] - prev;

		prev = (uint64_t)ids[i];
		while (gap >= 0x80) {
			str_append_c(dest, (char)(0x80 | (gap & 0x7f)));
			gap >>= 7;
		}
		str_append_c(dest, (char)gap);
	}
	crc = crc32(0L, (const Bytef *)dest->data + start + 4, (uInt)(dest->len - start - 4));
	for (int i = 0; i < 4; i++)
		dest->data[start + (size_t)i] = (char)((crc >> (8 * i)) & 0xff);
}

/* Decodes a list of fts_ids_pack() into *ids_r (xmalloc'd, NULL when
 * empty).  false (nothing returned) when p[0..len) is not one: a wrong
 * checksum, a varint cut short or longer than 9 bytes, a zero gap, an
 * id past INT64_MAX. */
static bool fts_ids_unpack(const unsigned char *p, size_t len, int64_t **ids_r,
			   size_t *count_r)
{
	uint64_t id = 0;
	uLong crc = 0;
	size_t cap = 0;

	*ids_r = NULL;
	*count_r = 0;
	if (len < 4)
		return false;
	for (int i = 0; i < 4; i++)
		crc |= (uLong)p[i] << (8 * i);
	if (crc != crc32(0L, (const Bytef *)p + 4, (uInt)(len - 4)))
		return false;
	for (size_t i = 4; i < len; ) {
		uint64_t gap = 0;
		unsigned shift = 0;

		do {
			if (i == len || shift > 56) {
				free(*ids_r);
				*ids_r = NULL;
				*count_r = 0;
				return false;
			}
			gap |= (uint64_t)(p[i] & 0x7f) << shift;
			shift += 7;
		} while ((p[i++] & 0x80) != 0);
		if (gap == 0 || gap > (uint64_t)INT64_MAX - id) {
			free(*ids_r);
			*ids_r = NULL;
			*count_r = 0;
			return false;
		}
		id += gap;
		ARRAY_RESERVE(*ids_r, cap, *count_r + 1);
		(*ids_r)[(*count_r)++] = (int64_t)id;
	}
	return true;
}

/* Appends the terms of a stored body term list, each followed by a
 * space, to *doc: the text that the body's FTS5 row was inserted with.
 * 0, -1 or FTS_CORRUPT (a list that does not decode or names a term the
 * dictionary lacks: error set). */
static int fts_terms_text(struct index *idx, const struct str *body_terms, struct str *doc)
{
	sqlite3_stmt *stmt = NULL;
	int64_t *ids;
	size_t count;
	int ret = 0;

	if (!fts_ids_unpack((const unsigned char *)body_terms->data, body_terms->len,
			    &ids, &count))
		ret = FTS_CORRUPT;
	else if (count > 0 &&
		 (stmt = index_stmt(idx, "SELECT term FROM text_terms WHERE id = ?", "")) == NULL)
		ret = -1;
	/* one statement for the ~100 lookups of a message (an expunge of
	 * many messages makes them all) */
	for (size_t i = 0; ret == 0 && i < count; i++) {
		sqlite3_bind_int64(stmt, 1, ids[i]);
		ret = index_stmt_step(idx, stmt);
		if (ret > 0 && sqlite3_column_bytes(stmt, 0) > 0) {
			index_column_append(doc, stmt, 0);
			str_append_c(doc, ' ');
			ret = 0;
		} else if (ret >= 0) {
			/* gone, or the empty term: not one of a document */
			ret = FTS_CORRUPT;
		}
		sqlite3_reset(stmt);
	}
	index_stmt_done(idx, stmt);
	free(ids);
	if (ret == FTS_CORRUPT)
		store_set_error(idx->store, STORE_ERR_TEMP, "Corrupt stored term list in %s",
				idx->path);
	return ret;
}

/* ---- tokens ---- */

/* Whether byte c belongs to a token of the ascii tokenizer: an ASCII
 * letter or digit, or any byte of a non-ASCII UTF-8 character. */
static bool fts_token_byte(unsigned char c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		(c >= 'A' && c <= 'Z');
}

static char fts_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* A token of a document: bytes in place, cut to FTS_TOKEN_MAX. */
struct fts_token {
	const char *data;
	size_t len;
};

static int fts_token_cmp(const void *a, const void *b)
{
	const struct fts_token *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->data, y->data, x->len);
}

/* Appends the tokens of doc[0..len) to *tokens; *cut_r is set when one
 * was longer than FTS5 keeps. */
static void fts_tokens(const struct str *doc, struct fts_token **tokens, size_t *count,
		       size_t *cap, bool *cut_r)
{
	for (size_t i = 0; i < doc->len; ) {
		size_t start = i;

		if (!fts_token_byte((unsigned char)doc->data[i])) {
			i++;
			continue;
		}
		while (i < doc->len && fts_token_byte((unsigned char)doc->data[i]))
			i++;
		if (*count == *cap) {
			*cap = *cap == 0 ? 256 : *cap * 2;
			*tokens = xrealloc(*tokens, *cap * sizeof(**tokens));
		}
		(*tokens)[*count].data = doc->data + start;
		(*tokens)[*count].len = i - start < FTS_TOKEN_MAX ? i - start : FTS_TOKEN_MAX;
		*cut_r = *cut_r || i - start > FTS_TOKEN_MAX;
		(*count)++;
	}
}

/* The id of a term in the dictionary, added (with its trigram index
 * entry) when new. */
static int fts_term_id(struct index *idx, const struct fts_token *term, int64_t *id_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT id FROM text_terms WHERE term = ?", "");
	int ret;

	if (stmt != NULL)
		sqlite3_bind_blob(stmt, 1, term->data, (int)term->len, SQLITE_STATIC);
	ret = index_stmt_step(idx, stmt);
	if (ret > 0)
		*id_r = sqlite3_column_int64(stmt, 0);
	index_stmt_done(idx, stmt);
	if (ret != 0)
		return ret < 0 ? -1 : 0;
	stmt = index_stmt(idx, "INSERT INTO text_terms(term) VALUES (?)", "");
	if (stmt != NULL)
		sqlite3_bind_blob(stmt, 1, term->data, (int)term->len, SQLITE_STATIC);
	ret = index_stmt_step(idx, stmt);
	index_stmt_done(idx, stmt);
	if (ret < 0)
		return -1;
	*id_r = (int64_t)sqlite3_last_insert_rowid(idx->db);
	stmt = index_stmt(idx, "INSERT INTO text_terms_tri(rowid, term) VALUES (?, ?)",
			  "i", *id_r);
	if (stmt != NULL)
		sqlite3_bind_text(stmt, 2, term->data, (int)term->len, SQLITE_STATIC);
	ret = index_stmt_step(idx, stmt);
	index_stmt_done(idx, stmt);
	return ret < 0 ? -1 : 0;
}

static int fts_id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Adds the distinct tokens of doc to the dictionary.  With terms not
 * NULL, also appends their ids to it in fts_ids_pack() form and the
 * tokens themselves, each followed by a space, to *distinct. */
static int fts_add_terms(struct index *idx, const struct str *doc, struct str *terms,
			 struct str *distinct)
{
	struct fts_token *tokens = NULL;
	int64_t *ids = NULL;
	size_t count = 0, cap = 0, id_count = 0, id_cap = 0;
	bool cut = false;
	int ret = 0;

	fts_tokens(doc, &tokens, &count, &cap, &cut);
	if (count > 0)
		qsort(tokens, count, sizeof(*tokens), fts_token_cmp);
	for (size_t i = 0; ret == 0 && i < count; i++) {
		int64_t id;

		if (i > 0 && fts_token_cmp(&tokens[i - 1], &tokens[i]) == 0)
			continue;
		ret = fts_term_id(idx, &tokens[i], &id);
		if (ret == 0 && terms != NULL) {
			ARRAY_RESERVE(ids, id_cap, id_count + 1);
			ids[id_count++] = id;
			str_append_n(distinct, tokens[i].data, tokens[i].len);
			str_append_c(distinct, ' ');
		}
	}
	free(tokens);
	if (ret == 0 && terms != NULL) {
		if (id_count > 0)
			qsort(ids, id_count, sizeof(*ids), fts_id_cmp);
		fts_ids_pack(terms, ids, id_count);
	}
	free(ids);
	/* the empty term (no token is empty) says that some term was cut */
	if (ret == 0 && cut &&
	    index_run(idx, "INSERT OR IGNORE INTO text_terms(term) VALUES (x'')", "") < 0)
		ret = -1;
	return ret;
}

/* ---- maintenance ---- */

/* Runs an INSERT into text_hdr or text_body (sql) with ?1 = rowid and
 * the document as ?2 (a 'delete' command or a new row). */
static int fts_run_doc(struct index *idx, const char *sql, int64_t rowid, const struct str *doc)
{
	sqlite3_stmt *stmt = index_stmt(idx, sql, "i", rowid);
	int ret;

	if (stmt != NULL)
		sqlite3_bind_text(stmt, 2, doc->len == 0 ? "" : doc->data, (int)doc->len,
				  SQLITE_STATIC);
	ret = index_stmt_step(idx, stmt);
	index_stmt_done(idx, stmt);
	return ret < 0 ? -1 : 0;
}

/* Removes rowid's text from every table (none stored: nothing to do;
 * a corrupt one: every row's, fts_reset()). */
static int fts_delete_row(struct index *idx, int64_t rowid)
{
	struct str header = { 0 }, body_terms = { 0 }, body = { 0 };
	int ret = fts_load(idx, rowid, &header, &body_terms);

	if (ret > 0 && fts_terms_text(idx, &body_terms, &body) == FTS_CORRUPT)
		ret = FTS_CORRUPT;
	str_free(&body_terms);
	if (ret == FTS_CORRUPT) {
		str_free(&header);
		str_free(&body);
		return fts_reset(idx);
	}
	/* a contentless table forgets a row only when told its exact text:
	 * the body's row was inserted as its distinct terms (fts_insert_row()) */
	if (ret > 0 &&
	    (fts_run_doc(idx, "INSERT INTO text_hdr(text_hdr, rowid, t) VALUES ('delete', ?, ?)",
			 rowid, &header) < 0 ||
	     fts_run_doc(idx, "INSERT INTO text_body(text_body, rowid, t) "
			 "VALUES ('delete', ?, ?)", rowid, &body) < 0 ||
	     index_run(idx, "DELETE FROM text_store WHERE id = ?", "i", rowid) < 0))
		ret = -1;
	str_free(&header);
	str_free(&body);
	if (ret >= 0 && index_run(idx, "DELETE FROM text_indexed WHERE id = ?", "i", rowid) < 0)
		ret = -1;
	return ret < 0 ? -1 : 0;
}

/* Stores the header document and the body document (its text, or the
 * text of fts_terms_text(): the same tokens) of rowid, replacing any. */
static int fts_insert_row(struct index *idx, int64_t rowid, const struct str *header,
			  const struct str *body)
{
	static const char mark_sql[] = "INSERT OR IGNORE INTO text_indexed(id) VALUES (?)";
	struct str packed_header = { 0 }, body_terms = { 0 }, distinct = { 0 };
	sqlite3_stmt *stmt;
	int ret = index_run(idx, mark_sql, "i", rowid);

	/* a row written back twice (two sessions read the same message)
	 * must not be in the FTS tables twice */
	if (ret < 0 ||
	    (ret == 0 && (fts_delete_row(idx, rowid) < 0 || index_run(idx, mark_sql, "i", rowid) < 0)))
		return -1;
	if (fts_add_terms(idx, header, NULL, NULL) < 0 ||
	    fts_add_terms(idx, body, &body_terms, &distinct) < 0) {
		str_free(&body_terms);
		str_free(&distinct);
		return -1;
	}
	fts_pack(&packed_header, header->data, header->len);
	stmt = index_stmt(idx, "INSERT INTO text_store(id, header, body_terms) VALUES (?, ?, ?)",
			  "i", rowid);
	if (stmt != NULL) {
		sqlite3_bind_blob(stmt, 2, packed_header.len == 0 ? "" : packed_header.data,
				  (int)packed_header.len, SQLITE_STATIC);
		sqlite3_bind_blob(stmt, 3, body_terms.len == 0 ? "" : body_terms.data,
				  (int)body_terms.len, SQLITE_STATIC);
	}
	ret = index_stmt_step(idx, stmt);
	index_stmt_done(idx, stmt);
	str_free(&packed_header);
	str_free(&body_terms);
	/* with detail=none the body's row is the set of its tokens: inserted
	 * as the distinct ones, so that a 'delete' can give the same text */
	if (ret < 0 ||
	    fts_run_doc(idx, "INSERT INTO text_hdr(rowid, t) VALUES (?, ?)", rowid, header) < 0 ||
	    fts_run_doc(idx, "INSERT INTO text_body(rowid, t) VALUES (?, ?)", rowid,
			&distinct) < 0)
		ret = -1;
	str_free(&distinct);
	return ret < 0 ? -1 : 0;
}

int index_fts_insert(struct index *idx, int64_t mailbox_id, uint32_t uid,
		     const struct store_msg_text_data *data)
{
	return fts_insert_row(idx, fts_rowid(mailbox_id, uid), &data->header, &data->body);
}

/* Stores the text of src (if it has one) as dest's too.  A corrupt
 * one: fts_reset(), dest's text is then filled lazily like src's. */
static int fts_copy_row(struct index *idx, int64_t src, int64_t dest)
{
	struct str header = { 0 }, body_terms = { 0 }, body = { 0 };
	int ret = fts_load(idx, src, &header, &body_terms);

	if (ret > 0 && fts_terms_text(idx, &body_terms, &body) == FTS_CORRUPT)
		ret = FTS_CORRUPT;
	if (ret == FTS_CORRUPT)
		ret = fts_reset(idx);
	/* none: the source had no text yet, filled lazily */
	if (ret > 0 && fts_insert_row(idx, dest, &header, &body) < 0)
		ret = -1;
	str_free(&header);
	str_free(&body_terms);
	str_free(&body);
	return ret;
}

int index_fts_copy(struct index *idx, int64_t src_mailbox_id, uint32_t src_uid,
		   int64_t dest_mailbox_id, uint32_t dest_uid)
{
	return fts_copy_row(idx, fts_rowid(src_mailbox_id, src_uid),
			    fts_rowid(dest_mailbox_id, dest_uid)) < 0 ? -1 : 0;
}

int index_fts_delete(struct index *idx, int64_t mailbox_id, uint32_t uid)
{
	return fts_delete_row(idx, fts_rowid(mailbox_id, uid));
}

/* The rowids of mailbox_id's stored texts (*ids_r xmalloc'd). */
static int fts_mailbox_rows(struct index *idx, int64_t mailbox_id, int64_t **ids_r,
			    size_t *count_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT id FROM text_indexed WHERE id BETWEEN ? AND ?",
					"ii", fts_rowid(mailbox_id, 0),
					fts_rowid(mailbox_id, UINT32_MAX));
	size_t cap = 0;
	int ret;

	*ids_r = NULL;
	*count_r = 0;
	while ((ret = index_stmt_step(idx, stmt)) > 0) {
		if (*count_r == cap) {
			cap = cap == 0 ? 256 : cap * 2;
			*ids_r = xrealloc(*ids_r, cap * sizeof(**ids_r));
		}
		(*ids_r)[(*count_r)++] = sqlite3_column_int64(stmt, 0);
	}
	index_stmt_done(idx, stmt);
	if (ret < 0) {
		free(*ids_r);
		*ids_r = NULL;
		return -1;
	}
	return 0;
}

int index_fts_delete_mailbox(struct index *idx, int64_t mailbox_id)
{
	int64_t *ids;
	size_t count;
	int ret = 0;

	if (fts_mailbox_rows(idx, mailbox_id, &ids, &count) < 0)
		return -1;
	for (size_t i = 0; ret == 0 && i < count; i++)
		ret = fts_delete_row(idx, ids[i]);
	free(ids);
	return ret;
}

int index_fts_move_mailbox(struct index *idx, int64_t from_id, int64_t to_id)
{
	int64_t *ids;
	size_t count;
	int ret = 0;

	if (fts_mailbox_rows(idx, from_id, &ids, &count) < 0)
		return -1;
	for (size_t i = 0; ret >= 0 && i < count; i++) {
		ret = fts_copy_row(idx, ids[i], fts_rowid(to_id, (uint32_t)(ids[i] & UINT32_MAX)));
		if (ret >= 0)
			ret = fts_delete_row(idx, ids[i]);
	}
	free(ids);
	return ret < 0 ? -1 : 0;
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

int index_fts_get(struct index *idx, int64_t mailbox_id, uint32_t uid, struct str *header)
{
	struct str body_terms = { 0 };
	size_t header_len = header->len;
	int64_t *ids;
	size_t count;
	int ret = fts_load(idx, fts_rowid(mailbox_id, uid), header, &body_terms);

	if (ret > 0 && !fts_ids_unpack((const unsigned char *)body_terms.data, body_terms.len,
				       &ids, &count))
		ret = FTS_CORRUPT;
	else if (ret > 0)
		free(ids);
	str_free(&body_terms);
	/* as if none were stored: the caller reads the message and writes
	 * its text back, which resets the text index (fts_delete_row()) */
	if (ret == FTS_CORRUPT) {
		str_truncate(header, header_len);
		store_clear_error(idx->store);
		ret = 0;
	}
	return ret;
}

/* ---- search ---- */

static void uid_push(uint32_t **arr, size_t *count, size_t *cap, uint32_t uid)
{
	if (*count == *cap) {
		*cap = *cap == 0 ? 256 : *cap * 2;
		*arr = xrealloc(*arr, *cap * sizeof(**arr));
	}
	(*arr)[(*count)++] = uid;
}

static bool fts_doc_has(const struct str *doc, const char *needle, size_t needle_len)
{
	return needle_len == 0 ||
		(doc->len > 0 && memmem(doc->data, doc->len, needle, needle_len) != NULL);
}

/* Whether the header document decides the match, the exact test for
 * what it holds: for STORE_TEXT_HEADER, whether field `name` contains
 * the needle; for STORE_TEXT_ANY, true when the header contains it
 * (false: the body, which is not stored, decides). */
static bool fts_header_has(const struct str *header, enum store_text_field field,
			   const char *name, const char *needle, size_t needle_len)
{
	if (field == STORE_TEXT_HEADER) {
		return header->len > 0 &&
			mime_text_header_has(header->data, header->len, name, needle, needle_len);
	}
	return fts_doc_has(header, needle, needle_len);
}

/* Appends the uids from uids[first..] whose text matches (in order) to
 * the result, at most INDEX_FTS_SCAN_ROWS of them per call:
 * result_r->last_uid says how far it got (DESIGN.md: slices).  The uids
 * that the stored header cannot decide (STORE_TEXT_BODY: all of them;
 * STORE_TEXT_ANY: those whose header lacks the needle) and those whose
 * stored text is corrupt go to *unanswered (ascending, xmalloc'd): the
 * caller reads them from their files (store_mailbox_msg_text()). */
static int fts_verify(struct index *idx, const uint32_t *uids, size_t count, int64_t mailbox_id,
		      enum store_text_field field, const char *name, const char *needle,
		      size_t needle_len, struct store_text_result *result_r,
		      uint32_t **unanswered, size_t *unanswered_count)
{
	struct str header = { 0 };
	size_t cap = 0, unanswered_cap = 0;
	int ret = 0;

	if (field == STORE_TEXT_BODY) {
		for (size_t i = 0; i < count; i++)
			uid_push(unanswered, unanswered_count, &unanswered_cap, uids[i]);
		return 0;
	}
	for (size_t i = 0; ret >= 0 && i < count; i++) {
		if (i == INDEX_FTS_SCAN_ROWS) {
			result_r->last_uid = uids[i] - 1;
			break;
		}
		str_truncate(&header, 0);
		ret = fts_load(idx, fts_rowid(mailbox_id, uids[i]), &header, NULL);
		if (ret == FTS_CORRUPT) {
			store_clear_error(idx->store);
			uid_push(unanswered, unanswered_count, &unanswered_cap, uids[i]);
			ret = 0;
		}
		if (ret <= 0)
			continue;
		if (fts_header_has(&header, field, name, needle, needle_len))
			uid_push(&result_r->uids, &result_r->count, &cap, uids[i]);
		else if (field == STORE_TEXT_ANY)
			uid_push(unanswered, unanswered_count, &unanswered_cap, uids[i]);
	}
	str_free(&header);
	return ret < 0 ? -1 : 0;
}

/* A needle the index cannot narrow: the stored header documents of the
 * mailbox from first_uid to max_uid, read once, at most
 * INDEX_FTS_SCAN_ROWS of them per call: the caller asks again for the
 * rest (result_r->last_uid), so that a SEARCH over 100,000 messages
 * goes back to the event loop in between.  field is STORE_TEXT_HEADER
 * or STORE_TEXT_ANY (for STORE_TEXT_BODY the header decides nothing:
 * fts_search() leaves every message to the caller).  The uids whose
 * header does not decide (fts_header_has(): STORE_TEXT_ANY and the
 * header lacks the needle) and those whose stored text is corrupt go
 * to *unanswered (ascending, xmalloc'd), as in fts_verify(). */
static int fts_scan(struct index *idx, int64_t mailbox_id, enum store_text_field field,
		    const char *name, const char *needle, size_t needle_len,
		    uint32_t first_uid, uint32_t max_uid, struct store_text_result *result_r,
		    uint32_t **unanswered, size_t *unanswered_count)
{
	sqlite3_stmt *stmt;
	struct str header = { 0 };
	size_t cap = 0, unanswered_cap = 0, rows = 0;
	int ret;

	result_r->last_uid = UINT32_MAX;
	stmt = index_stmt(idx, "SELECT id, header FROM text_store WHERE id BETWEEN ? AND ?", "ii",
			  fts_rowid(mailbox_id, first_uid), fts_rowid(mailbox_id, max_uid));
	while ((ret = index_stmt_step(idx, stmt)) > 0) {
		uint32_t uid = (uint32_t)(sqlite3_column_int64(stmt, 0) & UINT32_MAX);

		if (rows++ == INDEX_FTS_SCAN_ROWS) {
			/* the rest from uid on, next time */
			result_r->last_uid = uid - 1;
			ret = 0;
			break;
		}
		str_truncate(&header, 0);
		if (fts_unpack(idx, &header, sqlite3_column_blob(stmt, 1),
			       (size_t)sqlite3_column_bytes(stmt, 1)) < 0) {
			/* not answered here: the caller reads the message */
			store_clear_error(idx->store);
			uid_push(unanswered, unanswered_count, &unanswered_cap, uid);
			continue;
		}
		if (fts_header_has(&header, field, name, needle, needle_len))
			uid_push(&result_r->uids, &result_r->count, &cap, uid);
		else if (field == STORE_TEXT_ANY)	/* the body decides: the caller reads it */
			uid_push(unanswered, unanswered_count, &unanswered_cap, uid);
	}
	index_stmt_done(idx, stmt);
	str_free(&header);
	return ret < 0 ? -1 : 0;
}

/* ---- the messages the text index does not answer for ---- */

/* A run of the view at least this long is checked with a count of its
 * rows in text_indexed, which reads no row out (a row costs a few ns
 * inside SQLite against a statement's ~1 us); shorter runs are walked
 * together, row by row. */
#define FTS_COUNT_RUN_MIN 64

/* Appends [first, last] to result_r->unindexed, ascending: joined with
 * the range before when nothing of the view lies between them, which
 * view_prev says (the view's highest UID below first, 0 if none). */
static void fts_unindexed_push(struct store_text_result *result_r, size_t *cap,
			       uint32_t first, uint32_t last, uint32_t view_prev)
{
	struct store_uid_range *prev = result_r->unindexed_count == 0 ? NULL :
		&result_r->unindexed[result_r->unindexed_count - 1];

	if (prev != NULL && (prev->last == view_prev || prev->last + 1 == first)) {
		prev->last = last;
		return;
	}
	ARRAY_RESERVE(result_r->unindexed, *cap, result_r->unindexed_count + 1);
	result_r->unindexed[result_r->unindexed_count].first = first;
	result_r->unindexed[result_r->unindexed_count].last = last;
	result_r->unindexed_count++;
}

/* The last UID of runs[k] that the answer covers. */
static uint32_t fts_run_last(const struct store_uid_range *runs, size_t k, uint32_t last_uid)
{
	return runs[k].last < last_uid ? runs[k].last : last_uid;
}

/* The UIDs of runs[k] (or from `from` on) to its end go to unindexed. */
static void fts_unindexed_run_rest(struct store_text_result *result_r, size_t *cap,
				   const struct store_uid_range *runs, size_t k,
				   uint64_t from, uint32_t last_uid)
{
	uint32_t last = fts_run_last(runs, k, last_uid);

	if (from <= last)
		fts_unindexed_push(result_r, cap, (uint32_t)from, last,
				   from > runs[k].first ? (uint32_t)from - 1 :
				   k > 0 ? runs[k - 1].last : 0);
}

/* Walks the rows of text_indexed over runs[k..end) (clipped to last_uid)
 * and sends the UIDs of the runs that have none to unindexed. */
static int fts_unindexed_walk(struct index *idx, int64_t mailbox_id,
			      const struct store_uid_range *runs, size_t k, size_t end,
			      uint32_t last_uid, struct store_text_result *result_r,
			      size_t *cap)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT id FROM text_indexed WHERE id BETWEEN ? AND ?",
					"ii", fts_rowid(mailbox_id, runs[k].first),
					fts_rowid(mailbox_id, fts_run_last(runs, end - 1, last_uid)));
	uint64_t next = runs[k].first;	/* the first UID of runs[k] not yet seen */
	int ret;

	while ((ret = index_stmt_step(idx, stmt)) > 0) {
		uint32_t uid = (uint32_t)(sqlite3_column_int64(stmt, 0) & UINT32_MAX);

		while (k < end && uid > fts_run_last(runs, k, last_uid)) {
			fts_unindexed_run_rest(result_r, cap, runs, k, next, last_uid);
			if (++k < end)
				next = runs[k].first;
		}
		if (k == end)
			break;
		if (uid < runs[k].first)
			continue;	/* a row between the view's runs */
		if (uid > next)
			fts_unindexed_run_rest(result_r, cap, runs, k, next, uid - 1);
		next = (uint64_t)uid + 1;
	}
	index_stmt_done(idx, stmt);
	for (; ret >= 0 && k < end; k++) {
		fts_unindexed_run_rest(result_r, cap, runs, k, next, last_uid);
		if (k + 1 < end)
			next = runs[k + 1].first;
	}
	return ret < 0 ? -1 : 0;
}

/* Adds the single UIDs uids[0..count) (ascending) to the ranges of
 * result_r->unindexed. */
static void fts_unindexed_add(struct store_text_result *result_r, const uint32_t *uids,
			      size_t count)
{
	struct store_uid_range *old = result_r->unindexed;
	size_t old_count = result_r->unindexed_count, i = 0, u = 0, cap = 0;

	if (count == 0)
		return;
	result_r->unindexed = NULL;
	result_r->unindexed_count = 0;
	while (i < old_count || u < count) {
		struct store_uid_range r;
		struct store_uid_range *prev = result_r->unindexed_count == 0 ? NULL :
			&result_r->unindexed[result_r->unindexed_count - 1];

		if (u == count || (i < old_count && old[i].first <= uids[u]))
			r = old[i++];
		else
			r.first = r.last = uids[u++];
		if (prev != NULL && (uint64_t)prev->last + 1 >= r.first) {
			if (r.last > prev->last)
				prev->last = r.last;
			continue;
		}
		ARRAY_RESERVE(result_r->unindexed, cap, result_r->unindexed_count + 1);
		result_r->unindexed[result_r->unindexed_count++] = r;
	}
	free(old);
}

/* Whether text_indexed has a row for every UID of [first, first + len),
 * len >= 1: the rows in it are counted (rowids are distinct, so len
 * rows means all).  When the run holds most rows of the table (one big
 * mailbox), the rows outside it are counted instead, against the
 * table's total, which SQLite counts per page (no row read out):
 * *total is that total, -1 until the first call needs it.  1, 0 or -1
 * (error set). */
static int fts_run_is_indexed(struct index *idx, int64_t mailbox_id, uint32_t first,
			      uint64_t len, int64_t *total)
{
	int64_t lo = fts_rowid(mailbox_id, first);
	int64_t hi = fts_rowid(mailbox_id, (uint32_t)(first + len - 1));
	sqlite3_stmt *stmt;
	int64_t rows;
	int ret;

	if (*total < 0) {
		stmt = index_stmt(idx, "SELECT count(*) FROM text_indexed", "");
		ret = index_stmt_step(idx, stmt);
		*total = ret > 0 ? sqlite3_column_int64(stmt, 0) : 0;
		index_stmt_done(idx, stmt);
		if (ret < 0)
			return -1;
	}
	if ((uint64_t)*total < len)
		return 0;
	if ((uint64_t)*total - len < len) {
		/* the rows outside, up to one more than the run leaves */
		stmt = index_stmt(idx, "SELECT count(*) FROM (SELECT 1 FROM text_indexed "
				  "WHERE id < ? UNION ALL SELECT 1 FROM text_indexed WHERE id > ? "
				  "LIMIT ?)", "iii", lo, hi, *total - (int64_t)len + 1);
		ret = index_stmt_step(idx, stmt);
		rows = *total - (ret > 0 ? sqlite3_column_int64(stmt, 0) : 0);
	} else {
		stmt = index_stmt(idx, "SELECT count(*) FROM text_indexed WHERE id BETWEEN ? AND ?",
				  "ii", lo, hi);
		ret = index_stmt_step(idx, stmt);
		rows = ret > 0 ? sqlite3_column_int64(stmt, 0) : 0;
	}
	index_stmt_done(idx, stmt);
	if (ret < 0)
		return -1;
	return rows == (int64_t)len;
}

/* Fills result_r->unindexed for the view's runs up to last_uid: the
 * UIDs without a row in text_indexed, and unanswered[0..unanswered_count)
 * (ascending: those the stored header cannot decide or whose stored
 * text did not read).  A long run whose row count is its
 * length has every row (fts_run_is_indexed()): no row is read out. */
static int fts_unindexed(struct index *idx, int64_t mailbox_id,
			 const struct store_uid_range *runs, size_t run_count,
			 uint32_t last_uid, const uint32_t *unanswered, size_t unanswered_count,
			 struct store_text_result *result_r)
{
	size_t cap = 0, k = 0;
	int64_t total = -1;
	int ret = 0;

	while (ret >= 0 && k < run_count && runs[k].first <= last_uid) {
		uint64_t len = (uint64_t)fts_run_last(runs, k, last_uid) - runs[k].first + 1;
		size_t end = k + 1;

		if (len >= FTS_COUNT_RUN_MIN) {
			ret = fts_run_is_indexed(idx, mailbox_id, runs[k].first, len, &total);
			if (ret != 0) {
				k = end;
				continue;
			}
		} else {
			/* the short runs that follow, walked in one statement */
			while (end < run_count && runs[end].first <= last_uid &&
			       (uint64_t)fts_run_last(runs, end, last_uid) - runs[end].first + 1 <
			       FTS_COUNT_RUN_MIN)
				end++;
		}
		if (ret >= 0)
			ret = fts_unindexed_walk(idx, mailbox_id, runs, k, end, last_uid,
						 result_r, &cap);
		k = end;
	}
	if (ret >= 0)
		fts_unindexed_add(result_r, unanswered, unanswered_count);
	return ret < 0 ? -1 : 0;
}

/* Tokens folded as the tokenizer folds them (ASCII lower case), a few:
 * past FTS_FOLDS_MAX only `full` is remembered. */
#define FTS_FOLDS_MAX 4096
struct fts_folds {
	struct str buf;		/* each fold, NUL-terminated (tokens hold no NUL) */
	size_t count;
	bool full;
};

static bool memchr_lower(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] >= 'a' && p[i] <= 'z')
			return true;
	}
	return false;
}

static void fts_folds_add(struct fts_folds *folds, const char *term, size_t len)
{
	if (folds->count == FTS_FOLDS_MAX) {
		folds->full = true;
		return;
	}
	for (size_t i = 0; i < len; i++)
		str_append_c(&folds->buf, fts_lower(term[i]));
	str_append_c(&folds->buf, '\0');
	folds->count++;
}

/* Whether a fold of a is also one of b (or either lost some). */
static bool fts_folds_meet(const struct fts_folds *a, const struct fts_folds *b)
{
	if (b->count == 0)
		return false;
	if (a->full || b->full)
		return true;
	for (size_t i = 0; i < a->buf.len; i += strlen(a->buf.data + i) + 1) {
		for (size_t k = 0; k < b->buf.len; k += strlen(b->buf.data + k) + 1) {
			if (strcmp(a->buf.data + i, b->buf.data + k) == 0)
				return true;
		}
	}
	return false;
}

static void fts_folds_free(struct fts_folds *folds)
{
	str_free(&folds->buf);
}

enum fts_run_kind {
	FTS_RUN_INSIDE,	/* anywhere in a token (the whole needle) */
	FTS_RUN_SUFFIX,	/* ends a token (the needle's first run) */
	FTS_RUN_PREFIX,	/* starts a token (the needle's last run) */
	FTS_RUN_WHOLE,	/* a whole token (separators on both sides) */
};

struct fts_plan {
	struct str query;	/* FTS5 expression; empty: scan the text */
	bool verify;		/* the expression finds a superset */
	bool none;		/* no row can match */
};

/* The dictionary terms that may hold run[0..len): those the trigram
 * index finds (a phrase of the run's trigrams), or all of them for a run
 * shorter than a trigram or longer than FTS_TERMS_QUERY_CHARS, or when
 * some term was cut.  NULL (error set). */
static sqlite3_stmt *fts_terms_stmt(struct index *idx, const char *run, size_t len)
{
	size_t chars = 0;
	sqlite3_stmt *stmt;
	int ret = 0;

	for (size_t i = 0; i < len; i++)
		chars += ((unsigned char)run[i] & 0xc0) != 0x80;
	/* a cut term may hold the run in its lost part: the pass over all
	 * terms sees them (they are marked by the empty term) */
	if (chars >= 3 && chars <= FTS_TERMS_QUERY_CHARS) {
		stmt = index_stmt(idx, "SELECT 1 FROM text_terms WHERE term = x''", "");
		ret = index_stmt_step(idx, stmt);
		index_stmt_done(idx, stmt);
		if (ret < 0)
			return NULL;
	}
	if (chars < 3 || chars > FTS_TERMS_QUERY_CHARS || ret > 0)
		return index_stmt(idx, "SELECT term FROM text_terms", "");
	stmt = index_stmt(idx, "SELECT t.term FROM text_terms_tri f "
			  "JOIN text_terms t ON t.id = f.rowid WHERE text_terms_tri MATCH ?", "");
	/* token bytes hold no '"': the run is a valid FTS5 string as it is */
	if (stmt != NULL) {
		char *query = xmalloc(len + 2);

		query[0] = '"';
		memcpy(query + 1, run, len);
		query[len + 1] = '"';
		sqlite3_bind_text(stmt, 1, query, (int)len + 2, free);
	}
	return stmt;
}

/* Appends to plan->query an FTS5 expression for "a token that holds
 * run[0..len) as `kind` says", setting plan->none when the dictionary
 * has no such term and plan->verify when the expression finds more.
 * *added_r is false (nothing appended) when the run is not worth a
 * constraint: more than FTS_TERMS_MAX terms, or a run FTS5 cuts. */
static int fts_run_query(struct index *idx, struct fts_plan *plan, const char *run, size_t len,
			 enum fts_run_kind kind, bool *added_r)
{
	struct str *query = &plan->query;
	struct fts_folds folds = { 0 }, matched = { 0 };
	size_t start = query->len, terms = 0;
	bool cut = false;
	sqlite3_stmt *stmt;
	int ret;

	*added_r = len < FTS_TOKEN_MAX;
	if (!*added_r)
		return 0;
	if (kind == FTS_RUN_WHOLE || kind == FTS_RUN_PREFIX) {
		/* tokens hold no '"', so a string needs no escaping */
		str_append_c(query, '"');
		str_append_n(query, run, len);
		str_append(query, kind == FTS_RUN_PREFIX ? "\"*" : "\"");
		return 0;
	}
	stmt = fts_terms_stmt(idx, run, len);
	str_append_c(query, '(');
	while ((ret = index_stmt_step(idx, stmt)) > 0) {
		const char *term = sqlite3_column_blob(stmt, 0);
		size_t term_len = (size_t)sqlite3_column_bytes(stmt, 0);

		if (memchr_lower(term, term_len))
			fts_folds_add(&folds, term, term_len);
		/* a cut term may hold the run in its lost part */
		if (term_len >= FTS_TOKEN_MAX)
			cut = true;
		else if (term_len < len ||
			 (kind == FTS_RUN_SUFFIX ? memcmp(term + term_len - len, run, len) != 0 :
			  memmem(term, term_len, run, len) == NULL))
			continue;
		if (terms++ == FTS_TERMS_MAX)
			break;
		if (terms > 1)
			str_append(query, " OR ");
		str_append_c(query, '"');
		str_append_n(query, term, term_len);
		str_append_c(query, '"');
		fts_folds_add(&matched, term, term_len);
	}
	index_stmt_done(idx, stmt);
	if (ret >= 0) {
		str_append_c(query, ')');
		if (terms > FTS_TERMS_MAX) {
			str_truncate(query, start);
			*added_r = false;
		} else {
			plan->none = terms == 0;
			plan->verify = plan->verify || cut || fts_folds_meet(&matched, &folds);
		}
	}
	fts_folds_free(&folds);
	fts_folds_free(&matched);
	return ret < 0 ? -1 : 0;
}

/* Plans the search of the casemapped needle (see the top of the file). */
static int fts_plan(struct index *idx, const char *needle, size_t needle_len,
		    struct fts_plan *plan_r)
{
	size_t i = 0;

	memset(plan_r, 0, sizeof(*plan_r));
	while (i < needle_len && !plan_r->none) {
		size_t start = i, query_len = plan_r->query.len;
		enum fts_run_kind kind;
		bool added;

		if (!fts_token_byte((unsigned char)needle[i])) {
			plan_r->verify = true;
			i++;
			continue;
		}
		while (i < needle_len && fts_token_byte((unsigned char)needle[i]))
			i++;
		kind = start == 0 && i == needle_len ? FTS_RUN_INSIDE :
			start == 0 ? FTS_RUN_SUFFIX :
			i == needle_len ? FTS_RUN_PREFIX : FTS_RUN_WHOLE;
		if (query_len > 0)
			str_append(&plan_r->query, " AND ");
		if (fts_run_query(idx, plan_r, needle + start, i - start, kind, &added) < 0) {
			str_free(&plan_r->query);
			return -1;
		}
		if (!added) {
			str_truncate(&plan_r->query, query_len);
			plan_r->verify = true;
		}
	}
	return 0;
}

/* The uids of the rows of `table`'s query (in order) from first_uid to
 * max_uid, merged into the sorted *uids. */
static int fts_match(struct index *idx, bool header_table, const struct str *query,
		     int64_t mailbox_id, uint32_t first_uid, uint32_t max_uid, uint32_t **uids,
		     size_t *count)
{
	sqlite3_stmt *stmt = index_stmt(idx, header_table ?
		"SELECT rowid FROM text_hdr WHERE text_hdr MATCH ? AND rowid BETWEEN ? AND ?" :
		"SELECT rowid FROM text_body WHERE text_body MATCH ? AND rowid BETWEEN ? AND ?",
		"sii", query->data, fts_rowid(mailbox_id, first_uid),
		fts_rowid(mailbox_id, max_uid));
	uint32_t *merged = NULL;
	size_t merged_count = 0, cap = 0, old = 0;
	int ret;

	while ((ret = index_stmt_step(idx, stmt)) > 0) {
		uint32_t uid = (uint32_t)(sqlite3_column_int64(stmt, 0) & UINT32_MAX);

		for (; old < *count && (*uids)[old] < uid; old++)
			uid_push(&merged, &merged_count, &cap, (*uids)[old]);
		if (old < *count && (*uids)[old] == uid)
			old++;
		uid_push(&merged, &merged_count, &cap, uid);
	}
	index_stmt_done(idx, stmt);
	for (; old < *count; old++)
		uid_push(&merged, &merged_count, &cap, (*uids)[old]);
	free(*uids);
	*uids = merged;
	*count = merged_count;
	return ret < 0 ? -1 : 0;
}

/* Whether the query finds more than limit rows of the tables `field`
 * reads, from first_uid to max_uid: 1, 0 or -1.  Reads at most limit + 1
 * rowids of each (FTS5 merges the postings as it goes). */
static int fts_match_more_than(struct index *idx, enum store_text_field field,
			       const struct str *query, int64_t mailbox_id, uint32_t first_uid,
			       uint32_t max_uid, int64_t limit)
{
	int64_t rows = 0;
	int ret = 0;

	for (int header_table = 1; header_table >= 0 && ret >= 0; header_table--) {
		sqlite3_stmt *stmt;

		if (header_table ? field == STORE_TEXT_BODY : field == STORE_TEXT_HEADER)
			continue;
		stmt = index_stmt(idx, header_table ?
			"SELECT count(*) FROM (SELECT rowid FROM text_hdr WHERE text_hdr MATCH ? "
			"AND rowid BETWEEN ? AND ? LIMIT ?)" :
			"SELECT count(*) FROM (SELECT rowid FROM text_body WHERE text_body MATCH ? "
			"AND rowid BETWEEN ? AND ? LIMIT ?)",
			"siii", query->data, fts_rowid(mailbox_id, first_uid),
			fts_rowid(mailbox_id, max_uid), limit + 1);
		ret = index_stmt_step(idx, stmt);
		if (ret > 0)
			rows += sqlite3_column_int64(stmt, 0);
		index_stmt_done(idx, stmt);
	}
	return ret < 0 ? -1 : rows > limit;
}

/* Every message of the view's runs goes to result_r->unindexed (one
 * range where nothing of the view lies between them): the caller reads
 * them all. */
static void fts_unindexed_all(struct store_text_result *result_r,
			      const struct store_uid_range *runs, size_t run_count)
{
	size_t cap = 0;

	for (size_t k = 0; k < run_count; k++)
		fts_unindexed_push(result_r, &cap, runs[k].first, runs[k].last,
				   k > 0 ? runs[k - 1].last : 0);
}

static int fts_search(struct index *idx, int64_t mailbox_id, enum store_text_field field,
		      const char *name, const char *needle, size_t needle_len,
		      uint32_t first_uid, uint32_t max_uid, bool one_part,
		      const struct store_uid_range *view_runs, size_t run_count,
		      struct store_text_result *result_r)
{
	struct str folded_name = { 0 };
	struct fts_plan plan;
	uint32_t *cands = NULL, *unanswered = NULL;
	size_t cand_count = 0, unanswered_count = 0;
	bool scan, all_unanswered = false;
	int ret = 0;

	if (field == STORE_TEXT_HEADER) {
		(void)casemap_unicode(name, strlen(name), &folded_name);
		str_append(&folded_name, "");
	}
	if (fts_plan(idx, needle, needle_len, &plan) < 0) {
		str_free(&folded_name);
		return -1;
	}
	result_r->last_uid = UINT32_MAX;
	scan = plan.query.len == 0 && !plan.none;
	if (scan && field == STORE_TEXT_BODY) {
		/* the body text is not stored and the index cannot narrow the
		 * needle: every message of the view is the caller's to read,
		 * an answer in one part with no row of the index read (so
		 * never declined: the other keys of a program still narrow
		 * what is read) */
		all_unanswered = true;
	} else if (one_part && scan) {
		/* a pass over the stored headers, in parts */
		ret = 1;
	} else if (one_part && !plan.none && (plan.verify || field == STORE_TEXT_HEADER) &&
		   (ret = fts_match_more_than(idx, field, &plan.query, mailbox_id, first_uid,
					      max_uid, INDEX_FTS_SCAN_ROWS)) != 0) {
		/* more candidates to verify than one part takes (1), or -1:
		 * on their stored header, or for a BODY key by the caller
		 * reading their files, which it had better do lazily, after
		 * the program's other keys */
	} else if (scan) {
		ret = fts_scan(idx, mailbox_id, field, folded_name.data, needle, needle_len,
			       first_uid, max_uid, result_r, &unanswered, &unanswered_count);
	} else {
		if (!plan.none && field != STORE_TEXT_BODY)
			ret = fts_match(idx, true, &plan.query, mailbox_id, first_uid, max_uid,
					&cands, &cand_count);
		if (ret == 0 && !plan.none && field != STORE_TEXT_HEADER)
			ret = fts_match(idx, false, &plan.query, mailbox_id, first_uid, max_uid,
					&cands, &cand_count);
		if (ret == 0 && (plan.verify || field == STORE_TEXT_HEADER)) {
			ret = fts_verify(idx, cands, cand_count, mailbox_id, field,
					 folded_name.data, needle, needle_len, result_r, &unanswered,
					 &unanswered_count);
			free(cands);
		} else {
			result_r->uids = cands;
			result_r->count = cand_count;
		}
	}
	str_free(&plan.query);
	str_free(&folded_name);
	if (ret > 0) {
		free(unanswered);
		store_text_result_free(result_r);
		result_r->declined = true;
		return 1;
	}
	if (result_r->last_uid > max_uid)
		result_r->last_uid = max_uid;
	if (all_unanswered)
		fts_unindexed_all(result_r, view_runs, run_count);
	else if (ret == 0)
		ret = fts_unindexed(idx, mailbox_id, view_runs, run_count, result_r->last_uid,
				    unanswered, unanswered_count, result_r);
	free(unanswered);
	if (ret < 0) {
		store_text_result_free(result_r);
		return -1;
	}
	return 1;
}

int index_fts_search(struct index *idx, int64_t mailbox_id, enum store_text_field field,
		     const char *name, const char *needle, size_t needle_len,
		     uint32_t first_uid, uint32_t max_uid, bool one_part,
		     const struct store_uid_range *view_runs, size_t run_count,
		     struct store_text_result *result_r)
{
	int ret;

	/* one snapshot: a message another session indexes between the
	 * match and the list of indexed messages would otherwise count as
	 * indexed and not matching */
	if (index_begin(idx, false) < 0)
		return -1;
	ret = fts_search(idx, mailbox_id, field, name, needle, needle_len, first_uid, max_uid,
			 one_part, view_runs, run_count, result_r);
	index_rollback(idx);
	return ret;
}
