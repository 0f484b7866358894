/* cache.c: the parsed message model in the SQLite index's message rows
 * (messages.envelope, bodystructure, part_map, bodystructure_rev2 from
 * schema 2; msgkeys, the SORT and THREAD keys, from schema 3).  The
 * columns body and body_rev2 are written NULL and never read: BODY is
 * derived from BODYSTRUCTURE when FETCH asks for it (rows written before
 * keep their text there until the index is rebuilt).  A row without them (written without a model, or from
 * an older schema), or whose msgkeys are of an older version
 * (msgkeys_is_current()), reads as not cached: its owner parses the
 * message and writes the model back with index_cache_set().
 *
 * messages.sentdate (schema 5) repeats the sent date of msgkeys, written
 * with it (index_cache_bind()), so that SORT by date scans the small
 * index messages_sentdate instead of every row's blob.  Its value is
 * sent_date * 2 + 1 when has_sent_date, 0 when the message has no
 * usable Date: (the sort then uses INTERNALDATE), NULL when msgkeys is
 * NULL or its date does not fit (|sent_date| >= 2^61, which parsed dates
 * never reach): then the blob is read.  A change of MSGKEYS_VERSION must
 * set sentdate to NULL in its migration, as the stale blobs are.
 *
 * envelope: the ENVELOPE's text, or (schema 7) a BLOB when its Sender
 * and Reply-To are the same as its From, as they are whenever the
 * message has neither field (RFC 9051 7.5.2 has the server fill them
 * in from From): ENVELOPE_SAME_FROM, the offsets of From in the text
 * (varints), and the text without Sender and Reply-To.  That is
 * usually a third of the envelope, and putting it back is two copies,
 * where a general compression (tried: deflate with a preset dictionary)
 * doubled the CPU of a FETCH of many envelopes.  Rows written before
 * schema 7 hold text only; the column's type tells the two apart.
 *
 * The table previews (schema 8) holds the RFC 8970 preview of a row,
 * written with the model when the writer made one
 * (store_msg_cache_data.has_preview: index_cache_set_preview()), copied,
 * moved and removed with the row (msg.c, mailbox.c); a row without one
 * still has a current model (the preview is not part of
 * cache_current()): FETCH PREVIEW parses such a row once
 * (maildir/cache.c).  Writing the model also gives a row
 * without a THREADID its thread (thread.c), now that it has keys. */
#include "store/sqlite-index/index-private.h"
#include "syntax/msgkeys.h"

#include <stdlib.h>
#include <string.h>

#define SENTDATE_LIMIT ((int64_t)1 << 61)
/* the first byte of a stored envelope without Sender and Reply-To */
#define ENVELOPE_SAME_FROM 1

/* The end of the IMAP item (a parenthesized list, a quoted string, a
 * literal or an atom such as NIL) that starts at s[i], or 0 when none
 * does. */
static size_t envelope_item_end(const char *s, size_t len, size_t i)
{
	size_t depth = 0;

	do {
		if (i >= len)
			return 0;
		if (s[i] == '(') {
			depth++;
			i++;
		} else if (s[i] == ')') {
			if (depth == 0)
				return 0;
			depth--;
			i++;
		} else if (s[i] == ' ') {
			if (depth == 0)
				return 0;
			i++;
		} else if (s[i] == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				if (s[i] == '\\')
					i++;
			}
			if (i >= len)
				return 0;
			i++;
		} else if (s[i] == '{') {
			size_t n = 0;

			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
				if (n > len)
					return 0;
				n = n * 10 + (size_t)(s[i] - '0');
			}
			if (len - i < 3 || memcmp(s + i, "}\r\n", 3) != 0 || n > len - i - 3)
				return 0;
			i += 3 + n;
		} else {
			while (i < len && s[i] != ' ' && s[i] != '(' && s[i] != ')')
				i++;
		}
	} while (depth > 0);
	return i;
}

static void varint_append(struct str *dest, uint64_t v)
{
	while (v >= 0x80) {
		str_append_c(dest, (char)(0x80 | (v & 0x7f)));
		v >>= 7;
	}
	str_append_c(dest, (char)v);
}

/* Reads a varint of varint_append() at p[*i..len) into *v_r. */
static bool varint_read(const unsigned char *p, size_t len, size_t *i, uint64_t *v_r)
{
	uint64_t v = 0;

	for (unsigned shift = 0; *i < len && shift <= 56; shift += 7) {
		unsigned char c = p[(*i)++];

		v |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0) {
			*v_r = v;
			return true;
		}
	}
	return false;
}

/* The stored form of an envelope whose Sender and Reply-To are its From
 * (ENVELOPE_SAME_FROM, see the top) into *packed; false for any other
 * envelope, which is stored as its text. */
static bool envelope_pack(const struct str *env, struct str *packed)
{
	const char *s = env->data;
	size_t start[5], end[5], i = 1;

	if (env->len < 2 || s[0] != '(')
		return false;
	/* date, subject, from, sender, reply-to: each followed by a space */
	for (int k = 0; k < 5; k++) {
		start[k] = i;
		end[k] = envelope_item_end(s, env->len, i);
		if (end[k] == 0 || end[k] >= env->len || s[end[k]] != ' ')
			return false;
		i = end[k] + 1;
	}
	for (int k = 3; k < 5; k++) {
		if (end[k] - start[k] != end[2] - start[2] ||
		    memcmp(s + start[k], s + start[2], end[2] - start[2]) != 0)
			return false;
	}
	str_append_c(packed, ENVELOPE_SAME_FROM);
	varint_append(packed, start[2]);
	varint_append(packed, end[2]);
	str_append_n(packed, s, end[2]);
	str_append_n(packed, s + end[4], env->len - end[4]);
	return true;
}

/* Appends the envelope stored as the BLOB p[0..len) to dest; false when
 * it is not one of envelope_pack(). */
static bool envelope_unpack(const unsigned char *p, size_t len, struct str *dest)
{
	uint64_t from_start, from_end;
	size_t i = 1, text_len;
	const char *text;

	if (len == 0 || p[0] != ENVELOPE_SAME_FROM || !varint_read(p, len, &i, &from_start) ||
	    !varint_read(p, len, &i, &from_end))
		return false;
	text = (const char *)p + i;
	text_len = len - i;
	if (from_start >= from_end || from_end > text_len)
		return false;
	str_append_n(dest, text, (size_t)from_end);
	for (int k = 0; k < 2; k++) {
		str_append_c(dest, ' ');
		str_append_n(dest, text + from_start, (size_t)(from_end - from_start));
	}
	str_append_n(dest, text + from_end, text_len - (size_t)from_end);
	return true;
}

/* Binds the stored form of the envelope at parameter col. */
static void envelope_bind(sqlite3_stmt *stmt, int col, const struct str *env)
{
	struct str packed = STR_INIT;

	if (envelope_pack(env, &packed))
		sqlite3_bind_blob(stmt, col, packed.data, (int)packed.len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_text(stmt, col, env->data, (int)env->len, SQLITE_TRANSIENT);
	str_free(&packed);
}

/* Appends the envelope of column col (text, or a BLOB of envelope_pack())
 * to dest, which stays NUL-terminated.  false when the BLOB is not one. */
static bool envelope_column_append(struct str *dest, sqlite3_stmt *stmt, int col)
{
	if (sqlite3_column_type(stmt, col) != SQLITE_BLOB) {
		index_column_append(dest, stmt, col);
		return true;
	}
	if (!envelope_unpack(sqlite3_column_blob(stmt, col),
			     (size_t)sqlite3_column_bytes(stmt, col), dest))
		return false;
	str_append(dest, "");
	return true;
}

/* The messages.sentdate value of a msgkeys blob: true with *value_r, or
 * false for NULL (no valid blob of the current version, or a date out of
 * range). */
static bool sentdate_encode(const void *data, size_t size, int64_t *value_r)
{
	struct msgkeys keys;

	if (data == NULL || msgkeys_deserialize(&keys, data, size) < 0)
		return false;
	if (!keys.has_sent_date) {
		*value_r = 0;
		return true;
	}
	if (keys.sent_date <= -SENTDATE_LIMIT || keys.sent_date >= SENTDATE_LIMIT)
		return false;
	*value_r = keys.sent_date * 2 + 1;
	return true;
}

/* roost_msgkeys_sentdate(msgkeys): sentdate_encode() for SQL */
static void sql_msgkeys_sentdate(sqlite3_context *context, int argc, sqlite3_value **argv)
{
	int64_t value;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_BLOB &&
	    sentdate_encode(sqlite3_value_blob(argv[0]),
			    (size_t)sqlite3_value_bytes(argv[0]), &value))
		sqlite3_result_int64(context, value);
	else
		sqlite3_result_null(context);
}

int index_cache_register_functions(struct index *idx)
{
	if (sqlite3_create_function(idx->db, "roost_msgkeys_sentdate", 1,
				    SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
				    sql_msgkeys_sentdate, NULL, NULL) != SQLITE_OK)
		return index_set_sqlite_error(idx, "sqlite3_create_function");
	return 0;
}

void index_cache_bind(sqlite3_stmt *stmt, int first, const struct store_msg_cache_data *data)
{
	int64_t sentdate;

	if (data == NULL) {
		for (int i = 0; i < 8; i++)
			sqlite3_bind_null(stmt, first + i);
		return;
	}
	if (sentdate_encode(data->msgkeys.data, data->msgkeys.len, &sentdate))
		sqlite3_bind_int64(stmt, first + 7, sentdate);
	else
		sqlite3_bind_null(stmt, first + 7);
	sqlite3_bind_blob(stmt, first + 6, data->msgkeys.data, (int)data->msgkeys.len,
			  SQLITE_STATIC);
	envelope_bind(stmt, first, &data->envelope);
	sqlite3_bind_null(stmt, first + 1);	/* body: derived */
	sqlite3_bind_text(stmt, first + 2, data->bodystructure.data,
			  (int)data->bodystructure.len, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, first + 3, data->part_map.data, (int)data->part_map.len,
			  SQLITE_STATIC);
	sqlite3_bind_null(stmt, first + 4);	/* body_rev2: derived */
	if (data->has_global) {
		sqlite3_bind_text(stmt, first + 5, data->bodystructure_rev2.data,
				  (int)data->bodystructure_rev2.len, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(stmt, first + 5);
	}
}

/* Whether the msgkeys column `col` holds keys of the current version: a
 * NULL (a row from before schema 3) or a blob of an older version (the
 * keys were computed by other rules) is parsed again and replaced. */
static bool keys_column_current(sqlite3_stmt *stmt, int col)
{
	return sqlite3_column_type(stmt, col) != SQLITE_NULL &&
		msgkeys_is_current(sqlite3_column_blob(stmt, col),
					(size_t)sqlite3_column_bytes(stmt, col));
}

/* Whether the row's model columns (INDEX_CACHE_COLUMNS order, from
 * column first) hold a current model. */
static bool cache_current(sqlite3_stmt *stmt, int first)
{
	/* a row from before schema 3 has the model but no keys, and keys
	 * of an older version are stale: parsed again as a whole, once */
	return sqlite3_column_type(stmt, first) != SQLITE_NULL &&
		sqlite3_column_type(stmt, first + 3) != SQLITE_NULL &&
		keys_column_current(stmt, first + 6);
}

/* Reads the model columns (INDEX_CACHE_COLUMNS order) from column first
 * into *data (initialised here).  false, with *data empty, when the row
 * has no current model (or a damaged envelope: parsed again and
 * replaced, like a stale one). */
static bool cache_read(sqlite3_stmt *stmt, int first, struct store_msg_cache_data *data)
{
	memset(data, 0, sizeof(*data));
	if (!cache_current(stmt, first))
		return false;
	if (!envelope_column_append(&data->envelope, stmt, first)) {
		store_msg_cache_data_free(data);
		memset(data, 0, sizeof(*data));
		return false;
	}
	index_column_append(&data->bodystructure, stmt, first + 2);
	index_column_append(&data->part_map, stmt, first + 3);
	index_column_append(&data->msgkeys, stmt, first + 6);
	if (sqlite3_column_type(stmt, first + 5) != SQLITE_NULL) {
		data->has_global = true;
		index_column_append(&data->bodystructure_rev2, stmt, first + 5);
	}
	return true;
}

int index_cache_get(struct index *idx, int64_t mailbox_id, uint32_t uid,
		    struct store_msg_cache_data *data_r, bool *cached_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT " INDEX_CACHE_COLUMNS
					" FROM messages WHERE mailbox = ? AND uid = ?",
					"iu", mailbox_id, uid);
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0)
		*cached_r = cache_read(stmt, 0, data_r);
	index_stmt_done(idx, stmt);
	return ret;
}

/* Points *cache at the model columns of the current row (valid until
 * the statement steps or is reset, or *envelope, which holds a stored
 * envelope_pack() form put back, changes); the row has a current model.
 * false when its envelope is damaged. */
static bool cache_point(sqlite3_stmt *stmt, int first, struct store_msg_cache *cache,
			struct str *envelope)
{
	if (sqlite3_column_type(stmt, first) == SQLITE_BLOB) {
		str_truncate(envelope, 0);
		if (!envelope_column_append(envelope, stmt, first))
			return false;
		cache->envelope = envelope->data;
	} else {
		cache->envelope = (const char *)sqlite3_column_text(stmt, first);
	}
	cache->bodystructure = (const char *)sqlite3_column_text(stmt, first + 2);
	cache->part_map = sqlite3_column_blob(stmt, first + 3);
	cache->part_map_size = (size_t)sqlite3_column_bytes(stmt, first + 3);
	cache->bodystructure_rev2 = (const char *)sqlite3_column_text(stmt, first + 5);
	cache->msgkeys = sqlite3_column_blob(stmt, first + 6);
	cache->msgkeys_size = (size_t)sqlite3_column_bytes(stmt, first + 6);
	/* as cache_read() gives them: an empty column is "" (SQLite's
	 * NULL for an empty blob) */
	if (cache->bodystructure == NULL)
		cache->bodystructure = "";
	if (cache->part_map == NULL)
		cache->part_map = "";
	return true;
}

int index_cache_get_keys(struct index *idx, int64_t mailbox_id, uint32_t uid,
			 struct str *keys, bool *current_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT msgkeys FROM messages "
					"WHERE mailbox = ? AND uid = ?", "iu", mailbox_id, uid);
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0) {
		*current_r = keys_column_current(stmt, 0);
		if (*current_r)
			index_column_append(keys, stmt, 0);
	}
	index_stmt_done(idx, stmt);
	return ret;
}

/* Whether uids[0..count) ascend strictly and lie close together, so that
 * one scan of their uid range reads few rows that were not asked for
 * (at most about as many as were). */
static bool uids_dense(const uint32_t *uids, size_t count)
{
	if (count < 2)
		return false;
	for (size_t i = 1; i < count; i++) {
		if (uids[i] <= uids[i - 1])
			return false;
	}
	return (uint64_t)(uids[count - 1] - uids[0]) < 2 * (uint64_t)count + 64;
}

struct stale_list {
	size_t *items, count, cap;
};

static void stale_add(struct stale_list *stale, size_t i)
{
	ARRAY_RESERVE(stale->items, stale->cap, stale->count + 1);
	stale->items[stale->count++] = i;
}

/* What one row (or its absence) means to a uids_read() caller: stmt is
 * the row (column 0 its uid), or NULL when uids[i] has no row. */
typedef void uids_row_t(void *context, sqlite3_stmt *stmt, size_t i);

/* Reads the rows of uids[0..count) in one read transaction (SQLite takes
 * its locks once, not once per message, which costs more than the
 * lookups themselves), calling row() once for each i in ascending order.
 * range_sql selects mailbox = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid;
 * one_sql mailbox = ?1 AND uid = ?2.  Dense uids (as SORT ALL has them)
 * are read by one range scan: a cursor stepping over the keys costs a
 * fraction of a lookup from the root per message (the lookups were two
 * thirds of a warm SORT).  row() adds to *stale what it cannot answer;
 * the list goes to *stale_r and *stale_count_r on success, and is freed
 * on failure.  A caller whose rows are never stale passes NULL for all
 * three. */
static int uids_read(struct index *idx, const char *range_sql, const char *one_sql,
		     int64_t mailbox_id, const uint32_t *uids, size_t count,
		     uids_row_t *row, void *context, struct stale_list *stale,
		     size_t **stale_r, size_t *stale_count_r)
{
	sqlite3_stmt *stmt;
	size_t i = 0;
	int ret = 0;

	if (index_begin(idx, false) < 0)
		return -1;
	if (uids_dense(uids, count)) {
		stmt = index_stmt(idx, range_sql, "iuu", mailbox_id, uids[0], uids[count - 1]);
		while (i < count && (ret = index_stmt_step(idx, stmt)) > 0) {
			int64_t uid = sqlite3_column_int64(stmt, 0);

			for (; i < count && uids[i] < uid; i++)
				row(context, NULL, i);	/* expunged */
			if (i < count && uids[i] == uid)
				row(context, stmt, i++);
		}
		for (; ret >= 0 && i < count; i++)
			row(context, NULL, i);
	} else {
		stmt = index_stmt(idx, one_sql, "");
		ret = stmt == NULL ? -1 : 0;
		for (; i < count && ret >= 0; i++) {
			sqlite3_bind_int64(stmt, 1, mailbox_id);
			sqlite3_bind_int64(stmt, 2, uids[i]);
			ret = index_stmt_step(idx, stmt);
			if (ret >= 0)
				row(context, ret > 0 ? stmt : NULL, i);
			sqlite3_reset(stmt);
		}
	}
	index_stmt_done(idx, stmt);
	if (ret >= 0 && index_commit(idx) == 0) {
		if (stale != NULL) {
			*stale_r = stale->items;
			*stale_count_r = stale->count;
		}
		return 0;
	}
	if (ret < 0)
		index_rollback(idx);
	if (stale != NULL)
		free(stale->items);
	return -1;
}

struct keys_read {
	store_msg_keys_callback_t *cb;
	void *ctx;
	struct stale_list stale;
};

static void keys_row(void *context, sqlite3_stmt *stmt, size_t i)
{
	struct keys_read *kr = context;

	if (stmt == NULL)
		kr->cb(kr->ctx, i, NULL, 0);
	else if (!keys_column_current(stmt, 1))
		stale_add(&kr->stale, i);
	else
		kr->cb(kr->ctx, i, sqlite3_column_blob(stmt, 1),
		       (size_t)sqlite3_column_bytes(stmt, 1));
}

int index_cache_get_keys_many(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			      size_t count, store_msg_keys_callback_t *cb, void *ctx,
			      size_t **stale_r, size_t *stale_count_r)
{
	struct keys_read kr = { .cb = cb, .ctx = ctx };

	return uids_read(idx, "SELECT uid, msgkeys FROM messages WHERE mailbox = ? AND "
			 "uid >= ? AND uid <= ? ORDER BY uid",
			 "SELECT uid, msgkeys FROM messages WHERE mailbox = ? AND uid = ?",
			 mailbox_id, uids, count, keys_row, &kr, &kr.stale, stale_r,
			 stale_count_r);
}

struct dates_read {
	store_msg_date_callback_t *cb;
	void *ctx;
	struct stale_list stale;
};

static void dates_row(void *context, sqlite3_stmt *stmt, size_t i)
{
	struct dates_read *dr = context;

	if (stmt == NULL) {
		dr->cb(dr->ctx, i, false, false, 0);
	} else if (sqlite3_column_type(stmt, 1) == SQLITE_NULL) {
		stale_add(&dr->stale, i);
	} else {
		int64_t v = sqlite3_column_int64(stmt, 1);
		/* sent_date * 2 + 1, or 0: see the top of this file */
		dr->cb(dr->ctx, i, true, (v & 1) != 0, (v & 1) != 0 ? (v - 1) / 2 : 0);
	}
}

int index_cache_get_dates_many(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			       size_t count, store_msg_date_callback_t *cb, void *ctx,
			       size_t **stale_r, size_t *stale_count_r)
{
	struct dates_read dr = { .cb = cb, .ctx = ctx };

	/* INDEXED BY: the covering index, never the table's rows */
	return uids_read(idx, "SELECT uid, sentdate FROM messages INDEXED BY messages_sentdate "
			 "WHERE mailbox = ? AND uid >= ? AND uid <= ? ORDER BY uid",
			 "SELECT uid, sentdate FROM messages INDEXED BY messages_sentdate "
			 "WHERE mailbox = ? AND uid = ?",
			 mailbox_id, uids, count, dates_row, &dr, &dr.stale, stale_r,
			 stale_count_r);
}

/* What index_cache_get_many() collects: the caller's callback and the
 * stale rows. */
struct cache_read_many {
	store_msg_cache_callback_t *cb;
	void *ctx;
	struct stale_list stale;
	struct str envelope;	/* the row's, when stored packed */
};

static void cache_many_row(void *context, sqlite3_stmt *stmt, size_t i)
{
	struct cache_read_many *cr = context;
	struct store_msg_cache cache;

	if (stmt == NULL) {
		cr->cb(cr->ctx, i, NULL);	/* expunged */
	} else if (!cache_current(stmt, 1) || !cache_point(stmt, 1, &cache, &cr->envelope)) {
		stale_add(&cr->stale, i);
	} else {
		cr->cb(cr->ctx, i, &cache);
	}
}

int index_cache_get_many(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			 size_t count, store_msg_cache_callback_t *cb, void *ctx,
			 size_t **stale_r, size_t *stale_count_r)
{
	struct cache_read_many cr = { .cb = cb, .ctx = ctx };
	int ret;

	ret = uids_read(idx, "SELECT uid, " INDEX_CACHE_COLUMNS " FROM messages WHERE "
			"mailbox = ? AND uid >= ? AND uid <= ? ORDER BY uid",
			"SELECT uid, " INDEX_CACHE_COLUMNS " FROM messages WHERE mailbox = ? AND "
			"uid = ?", mailbox_id, uids, count, cache_many_row, &cr, &cr.stale,
			stale_r, stale_count_r);
	str_free(&cr.envelope);
	return ret;
}

/* The row's THREADID when it has none yet: from the keys of data (the
 * thread table updated), NULL when it has one, has no keys or is gone.
 * 0 or -1. */
static int cache_set_threadid(struct index *idx, int64_t mailbox_id, uint32_t uid,
			      const struct store_msg_cache_data *data, char **threadid_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT emailid FROM messages WHERE mailbox = ? "
					"AND uid = ? AND threadid IS NULL", "iu", mailbox_id, uid);
	char *emailid = NULL;
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0)
		emailid = xstrdup(index_column_text(stmt, 0));
	index_stmt_done(idx, stmt);
	*threadid_r = NULL;
	if (ret > 0)
		ret = index_thread_of_keys(idx, data->msgkeys.data, data->msgkeys.len, emailid,
					   threadid_r);
	free(emailid);
	return ret < 0 ? -1 : 0;
}

int index_cache_set(struct index *idx, int64_t mailbox_id, uint32_t uid,
		    const struct store_msg_cache_data *data)
{
	char *threadid;
	sqlite3_stmt *stmt;
	int ret;

	/* with its keys, a row that has no THREADID yet gets one, in the
	 * same write of the row (a row that grows twice splits its page
	 * twice) */
	if (cache_set_threadid(idx, mailbox_id, uid, data, &threadid) < 0)
		return -1;
	stmt = index_stmt(idx, "UPDATE messages SET envelope = ?, body = ?, "
			  "bodystructure = ?, part_map = ?, body_rev2 = ?, "
			  "bodystructure_rev2 = ?, msgkeys = ?, sentdate = ?, "
			  "threadid = coalesce(threadid, ?) WHERE mailbox = ? AND uid = ?", "");
	if (stmt != NULL) {
		index_cache_bind(stmt, 1, data);
		if (threadid != NULL)
			sqlite3_bind_text(stmt, 9, threadid, -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_null(stmt, 9);
		sqlite3_bind_int64(stmt, 10, mailbox_id);
		sqlite3_bind_int64(stmt, 11, uid);
	}
	ret = index_stmt_step(idx, stmt);
	index_stmt_done(idx, stmt);
	free(threadid);
	/* only for a row that is there (UPDATE changed it) */
	if (ret >= 0 && sqlite3_changes(idx->db) > 0)
		ret = index_cache_set_preview(idx, mailbox_id, uid, data);
	return ret < 0 ? -1 : 0;
}

int index_cache_set_preview(struct index *idx, int64_t mailbox_id, uint32_t uid,
			    const struct store_msg_cache_data *data)
{
	/* a preview is only ever replaced by another one */
	if (data == NULL || !data->has_preview)
		return 0;
	return index_run(idx, "INSERT OR REPLACE INTO previews(mailbox, uid, preview) "
			 "VALUES (?, ?, ?)", "ius", mailbox_id, uid,
			 data->preview.data == NULL ? "" : data->preview.data) < 0 ? -1 : 0;
}

/* What index_cache_get_ids_many() passes on. */
struct ids_read {
	index_ids_callback_t *cb;
	void *ctx;
};

static void ids_row(void *context, sqlite3_stmt *stmt, size_t i)
{
	struct ids_read *ir = context;
	struct store_msg_ids ids;

	if (stmt == NULL) {
		ir->cb(ir->ctx, i, NULL);
		return;
	}
	ids.emailid = index_column_text(stmt, 1);
	ids.threadid = (const char *)sqlite3_column_text(stmt, 2);
	ids.savedate = (time_t)sqlite3_column_int64(stmt, 3);
	ids.preview = (const char *)sqlite3_column_text(stmt, 4);
	ir->cb(ir->ctx, i, &ids);
}

int index_cache_get_ids_many(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			     size_t count, index_ids_callback_t *cb, void *ctx)
{
	struct ids_read ir = { .cb = cb, .ctx = ctx };
	return uids_read(idx, "SELECT m.uid, m.emailid, m.threadid, m.savedate, p.preview "
			    "FROM messages m LEFT JOIN previews p ON p.mailbox = m.mailbox AND "
			    "p.uid = m.uid WHERE m.mailbox = ? AND m.uid >= ? AND m.uid <= ? "
			    "ORDER BY m.uid",
			    "SELECT m.uid, m.emailid, m.threadid, m.savedate, p.preview "
			    "FROM messages m LEFT JOIN previews p ON p.mailbox = m.mailbox AND "
			    "p.uid = m.uid WHERE m.mailbox = ? AND m.uid = ?", mailbox_id, uids,
			    count, ids_row, &ir, NULL, NULL, NULL);
}
