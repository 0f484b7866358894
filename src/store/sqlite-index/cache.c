/* cache.c: the parsed message model in the SQLite index's message rows
 * (messages.envelope, body, bodystructure, part_map, body_rev2,
 * bodystructure_rev2 from schema 2; msgkeys, the SORT and THREAD keys,
 * from schema 3).  A row without them (written without a model, or from
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
	sqlite3_bind_text(stmt, first + 1, data->body.data, (int)data->body.len,
			  SQLITE_STATIC);
	sqlite3_bind_text(stmt, first + 2, data->bodystructure.data,
			  (int)data->bodystructure.len, SQLITE_STATIC);
	sqlite3_bind_blob(stmt, first + 3, data->part_map.data, (int)data->part_map.len,
			  SQLITE_STATIC);
	if (data->has_global) {
		sqlite3_bind_text(stmt, first + 4, data->body_rev2.data,
				  (int)data->body_rev2.len, SQLITE_STATIC);
		sqlite3_bind_text(stmt, first + 5, data->bodystructure_rev2.data,
				  (int)data->bodystructure_rev2.len, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(stmt, first + 4);
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

/* Reads the model columns (INDEX_CACHE_COLUMNS order) from column first
 * into *data (initialised here).  false, with *data empty, when the row
 * has no current model. */
static bool cache_read(sqlite3_stmt *stmt, int first, struct store_msg_cache_data *data)
{
	memset(data, 0, sizeof(*data));
	/* a row from before schema 3 has the model but no keys, and keys
	 * of an older version are stale: parsed again as a whole, once */
	if (sqlite3_column_type(stmt, first) == SQLITE_NULL ||
	    sqlite3_column_type(stmt, first + 3) == SQLITE_NULL ||
	    !keys_column_current(stmt, first + 6))
		return false;
	index_column_append(&data->envelope, stmt, first);
	index_column_append(&data->body, stmt, first + 1);
	index_column_append(&data->bodystructure, stmt, first + 2);
	index_column_append(&data->part_map, stmt, first + 3);
	index_column_append(&data->msgkeys, stmt, first + 6);
	if (sqlite3_column_type(stmt, first + 4) != SQLITE_NULL) {
		data->has_global = true;
		index_column_append(&data->body_rev2, stmt, first + 4);
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

/* One row's answer for index_cache_get_keys_many(): the keys to cb, or
 * the index noted as stale. */
static void keys_row(sqlite3_stmt *stmt, int col, size_t i, store_msg_keys_callback_t *cb,
		     void *ctx, size_t **stale, size_t *stale_count, size_t *stale_cap)
{
	if (!keys_column_current(stmt, col)) {
		ARRAY_RESERVE(*stale, *stale_cap, *stale_count + 1);
		(*stale)[(*stale_count)++] = i;
	} else {
		cb(ctx, i, sqlite3_column_blob(stmt, col),
		   (size_t)sqlite3_column_bytes(stmt, col));
	}
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

/* The range scan of index_cache_get_keys_many(): a cursor stepping over
 * the primary key (mailbox, uid) costs a fraction of a lookup from the
 * root per message (the lookups were two thirds of a warm SORT). */
static int keys_scan(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
		     size_t count, store_msg_keys_callback_t *cb, void *ctx,
		     size_t **stale, size_t *stale_count, size_t *stale_cap)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT uid, msgkeys FROM messages WHERE "
					"mailbox = ? AND uid >= ? AND uid <= ? ORDER BY uid",
					"iuu", mailbox_id, uids[0], uids[count - 1]);
	size_t i = 0;
	int ret = 0;

	while (i < count && (ret = index_stmt_step(idx, stmt)) > 0) {
		int64_t uid = sqlite3_column_int64(stmt, 0);

		for (; i < count && uids[i] < uid; i++)
			cb(ctx, i, NULL, 0);	/* expunged */
		if (i < count && uids[i] == uid)
			keys_row(stmt, 1, i++, cb, ctx, stale, stale_count, stale_cap);
	}
	index_stmt_done(idx, stmt);
	if (ret < 0)
		return -1;
	for (; i < count; i++)
		cb(ctx, i, NULL, 0);
	return 0;
}

/* The lookups of index_cache_get_keys_many() for scattered uids. */
static int keys_lookup(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
		       size_t count, store_msg_keys_callback_t *cb, void *ctx,
		       size_t **stale, size_t *stale_count, size_t *stale_cap)
{
	sqlite3_stmt *stmt = index_stmt(idx, keys_sql, "");
	int ret = stmt == NULL ? -1 : 0;

	for (size_t i = 0; i < count && ret == 0; i++) {
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, uids[i]);
		ret = index_stmt_step(idx, stmt);
		if (ret == 0)
			cb(ctx, i, NULL, 0);	/* expunged */
		else if (ret > 0)
			keys_row(stmt, 0, i, cb, ctx, stale, stale_count, stale_cap);
		ret = ret < 0 ? -1 : 0;
		sqlite3_reset(stmt);
	}
	index_stmt_done(idx, stmt);
	return ret;
}

int index_cache_get_keys_many(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			      size_t count, store_msg_keys_callback_t *cb, void *ctx,
			      size_t **stale_r, size_t *stale_count_r)
{
	size_t *stale = NULL, stale_count = 0, stale_cap = 0;
	int ret;

	/* one read transaction: SQLite takes its locks once, not once per
	 * message (which costs more than the lookups themselves) */
	if (index_begin(idx, false) < 0)
		return -1;
	if (uids_dense(uids, count))
		ret = keys_scan(idx, mailbox_id, uids, count, cb, ctx,
				&stale, &stale_count, &stale_cap);
	else
		ret = keys_lookup(idx, mailbox_id, uids, count, cb, ctx,
				  &stale, &stale_count, &stale_cap);
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
