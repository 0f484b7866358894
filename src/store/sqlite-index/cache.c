/* cache.c: the parsed message model in the SQLite index's message rows
 * (messages.envelope, bodystructure, part_map, bodystructure_rev2 from
 * schema 2; msgkeys, the SORT and THREAD keys, from schema 3).  The
 * columns body and body_rev2 are written NULL and never read: BODY is
 * derived from BODYSTRUCTURE when FETCH asks for it (rows written before
 * keep their text there until the index is rebuilt).  A row without them (written without a model, or from
 * an older schema), or whose msgkeys are of an older version
 * (msgkeys_is_current()), reads as not cached: its owner parses the
 * message and writes the model back with index_cache_set(). */
#include "store/sqlite-index/index-private.h"
#include "syntax/msgkeys.h"

#include <stdlib.h>
#include <string.h>

void index_cache_bind(sqlite3_stmt *stmt, int first, const struct store_msg_cache_data *data)
{
	if (data == NULL) {
		for (int i = 0; i < 7; i++)
			sqlite3_bind_null(stmt, first + i);
		return;
	}
	sqlite3_bind_blob(stmt, first + 6, data->msgkeys.data, (int)data->msgkeys.len,
			  SQLITE_STATIC);
	sqlite3_bind_text(stmt, first, data->envelope.data, (int)data->envelope.len,
			  SQLITE_STATIC);
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
 * has no current model. */
static bool cache_read(sqlite3_stmt *stmt, int first, struct store_msg_cache_data *data)
{
	memset(data, 0, sizeof(*data));
	if (!cache_current(stmt, first))
		return false;
	index_column_append(&data->envelope, stmt, first);
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
 * the statement steps or is reset); the row has a current model. */
static void cache_point(sqlite3_stmt *stmt, int first, struct store_msg_cache *cache)
{
	cache->envelope = (const char *)sqlite3_column_text(stmt, first);
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
}

/* What index_cache_get_many() collects: the stale rows, and the
 * caller's callback. */
struct cache_many {
	store_msg_cache_callback_t *cb;
	void *ctx;
	size_t *stale, stale_count, stale_cap;
};

/* Hands the row of request i (its model columns from column first) on:
 * to the callback, or to the stale list. */
static void cache_many_row(struct cache_many *m, sqlite3_stmt *stmt, int first, size_t i)
{
	struct store_msg_cache cache;

	if (!cache_current(stmt, first)) {
		ARRAY_RESERVE(m->stale, m->stale_cap, m->stale_count + 1);
		m->stale[m->stale_count++] = i;
		return;
	}
	cache_point(stmt, first, &cache);
	m->cb(m->ctx, i, &cache);
}

/* Point lookups, one per uid (any order, any spread).  0 or -1. */
static int cache_many_lookup(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			     size_t count, struct cache_many *m)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT " INDEX_CACHE_COLUMNS
					" FROM messages WHERE mailbox = ? AND uid = ?", "");
	int ret = stmt == NULL ? -1 : 0;

	for (size_t i = 0; i < count && ret == 0; i++) {
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, uids[i]);
		ret = index_stmt_step(idx, stmt);
		if (ret == 0)
			m->cb(m->ctx, i, NULL);	/* expunged */
		else if (ret > 0)
			cache_many_row(m, stmt, 0, i);
		ret = ret < 0 ? -1 : 0;
		sqlite3_reset(stmt);
	}
	index_stmt_done(idx, stmt);
	return ret;
}

/* One scan of the uid range uids[0]..uids[count-1] (ascending), merged
 * with the uids: a seek per batch instead of a seek per message.  0 or
 * -1. */
static int cache_many_scan(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			   size_t count, struct cache_many *m)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT uid, " INDEX_CACHE_COLUMNS
					" FROM messages WHERE mailbox = ? AND uid >= ? AND"
					" uid <= ? ORDER BY uid", "iuu", mailbox_id, uids[0],
					uids[count - 1]);
	size_t i = 0;
	int ret;

	while ((ret = index_stmt_step(idx, stmt)) > 0) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(stmt, 0);

		for (; i < count && uids[i] < uid; i++)
			m->cb(m->ctx, i, NULL);		/* expunged */
		if (i < count && uids[i] == uid)
			cache_many_row(m, stmt, 1, i++);
	}
	index_stmt_done(idx, stmt);
	if (ret < 0)
		return -1;
	for (; i < count; i++)
		m->cb(m->ctx, i, NULL);
	return 0;
}

int index_cache_get_many(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			 size_t count, store_msg_cache_callback_t *cb, void *ctx,
			 size_t **stale_r, size_t *stale_count_r)
{
	struct cache_many m = { .cb = cb, .ctx = ctx };
	bool ascending = true;
	int ret;

	for (size_t i = 1; i < count && ascending; i++)
		ascending = uids[i - 1] < uids[i];
	/* one read transaction, as for the keys below */
	if (index_begin(idx, false) < 0)
		return -1;
	/* a scan reads the rows in between too: worth it while most of
	 * them are asked for */
	if (count > 0 && ascending && uids[count - 1] - uids[0] < 2 * count)
		ret = cache_many_scan(idx, mailbox_id, uids, count, &m);
	else
		ret = cache_many_lookup(idx, mailbox_id, uids, count, &m);
	if (ret == 0)
		ret = index_commit(idx);
	else
		index_rollback(idx);
	if (ret < 0) {
		free(m.stale);
		return -1;
	}
	*stale_r = m.stale;
	*stale_count_r = m.stale_count;
	return 0;
}

static const char keys_sql[] = "SELECT msgkeys FROM messages WHERE mailbox = ? AND uid = ?";

int index_cache_get_keys(struct index *idx, int64_t mailbox_id, uint32_t uid,
			 struct str *keys, bool *current_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, keys_sql, "iu", mailbox_id, uid);
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0) {
		*current_r = keys_column_current(stmt, 0);
		if (*current_r)
			index_column_append(keys, stmt, 0);
	}
	index_stmt_done(idx, stmt);
	return ret;
}

int index_cache_get_keys_many(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			      size_t count, store_msg_keys_callback_t *cb, void *ctx,
			      size_t **stale_r, size_t *stale_count_r)
{
	size_t *stale = NULL, stale_count = 0, stale_cap = 0;
	sqlite3_stmt *stmt;
	int ret = 0;

	/* one read transaction: SQLite takes its locks once, not once per
	 * message (which costs more than the lookups themselves) */
	if (index_begin(idx, false) < 0)
		return -1;
	stmt = index_stmt(idx, keys_sql, "");
	if (stmt == NULL) {
		index_rollback(idx);
		return -1;
	}
	for (size_t i = 0; i < count && ret == 0; i++) {
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, uids[i]);
		ret = index_stmt_step(idx, stmt);
		if (ret == 0) {
			cb(ctx, i, NULL, 0);	/* expunged */
		} else if (ret > 0 && !keys_column_current(stmt, 0)) {
			ARRAY_RESERVE(stale, stale_cap, stale_count + 1);
			stale[stale_count++] = i;
			ret = 0;
		} else if (ret > 0) {
			cb(ctx, i, sqlite3_column_blob(stmt, 0),
			   (size_t)sqlite3_column_bytes(stmt, 0));
			ret = 0;
		}
		sqlite3_reset(stmt);
	}
	index_stmt_done(idx, stmt);
	if (ret == 0)
		ret = index_commit(idx);
	else
		index_rollback(idx);
	if (ret < 0) {
		free(stale);
		return -1;
	}
	*stale_r = stale;
	*stale_count_r = stale_count;
	return 0;
}

int index_cache_set(struct index *idx, int64_t mailbox_id, uint32_t uid,
		    const struct store_msg_cache_data *data)
{
	sqlite3_stmt *stmt = index_stmt(idx, "UPDATE messages SET envelope = ?, body = ?, "
					"bodystructure = ?, part_map = ?, body_rev2 = ?, "
					"bodystructure_rev2 = ?, msgkeys = ? "
					"WHERE mailbox = ? AND uid = ?", "");
	int ret;

	if (stmt != NULL) {
		index_cache_bind(stmt, 1, data);
		sqlite3_bind_int64(stmt, 8, mailbox_id);
		sqlite3_bind_int64(stmt, 9, uid);
	}
	ret = index_stmt_step(idx, stmt);
	index_stmt_done(idx, stmt);
	return ret < 0 ? -1 : 0;
}
