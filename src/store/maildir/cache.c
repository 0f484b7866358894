/* cache.c: the message model in the Maildir backend's index
 * (messages.envelope, body, bodystructure, part_map, body_rev2,
 * bodystructure_rev2 from schema 2; msgkeys, the SORT and THREAD keys,
 * from schema 3).
 *
 * Appends and copies write the columns with the row (save.c).  A row
 * without them (mail picked up from new/, an index from schema 1 or a
 * rebuild), or whose msgkeys are of an older version
 * (mime_msgkeys_is_current()), is parsed from its file on first use and
 * the result written back, so each message is parsed once.  Reading a cached row never
 * opens the message file. */
#include "store/maildir/maildir-private.h"
#include "mime/msgkeys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void maildir_cache_bind(sqlite3_stmt *stmt, int first,
			const struct store_msg_cache_data *data)
{
	if (data == NULL) {
		for (int i = 0; i < MAILDIR_CACHE_COLUMN_COUNT; i++)
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
		mime_msgkeys_is_current(sqlite3_column_blob(stmt, col),
					(size_t)sqlite3_column_bytes(stmt, col));
}

static void cache_column(struct str *dest, sqlite3_stmt *stmt, int col)
{
	const void *data = sqlite3_column_blob(stmt, col);
	int len = sqlite3_column_bytes(stmt, col);

	if (len > 0)
		str_append_n(dest, data, (size_t)len);
	str_append(dest, "");
}

bool maildir_cache_read(sqlite3_stmt *stmt, int first,
			struct store_msg_cache_data *data)
{
	memset(data, 0, sizeof(*data));
	/* a row from before schema 3 has the model but no keys, and keys
	 * of an older version are stale: parsed again as a whole, once */
	if (sqlite3_column_type(stmt, first) == SQLITE_NULL ||
	    sqlite3_column_type(stmt, first + 3) == SQLITE_NULL ||
	    !keys_column_current(stmt, first + 6))
		return false;
	cache_column(&data->envelope, stmt, first);
	cache_column(&data->body, stmt, first + 1);
	cache_column(&data->bodystructure, stmt, first + 2);
	cache_column(&data->part_map, stmt, first + 3);
	cache_column(&data->msgkeys, stmt, first + 6);
	if (sqlite3_column_type(stmt, first + 4) != SQLITE_NULL) {
		data->has_global = true;
		cache_column(&data->body_rev2, stmt, first + 4);
		cache_column(&data->bodystructure_rev2, stmt, first + 5);
	}
	return true;
}

/* Parses the file of msn into *data.  0, or -1 with the error set
 * (STORE_ERR_EXPUNGED when the file is gone). */
static int cache_parse(struct maildir_mailbox *mbox, uint32_t msn,
		       struct store_msg_cache_data *data)
{
	struct store_mailbox *box = &mbox->box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	struct istream *msg;
	int ret;

	if (maildir_sync_msg_stream(box, msn, &msg) < 0)
		return -1;
	ret = store_msg_cache_data_read(data, msg);
	if (ret < 0)
		maildir_storage_set_syscall_error(ms, "read", "message file");
	istream_destroy(&msg);
	return ret;
}

/* Writes the columns of uid (best effort: a failed write-back only means
 * the next call parses again; the error is cleared). */
static void cache_write_back(struct maildir_mailbox *mbox, uint32_t uid,
			     const struct store_msg_cache_data *data)
{
	struct maildir_store *ms = (struct maildir_store *)mbox->box.store;
	sqlite3_stmt *stmt;

	stmt = maildir_index_prepare(ms, "UPDATE messages SET envelope = ?, body = ?, "
				     "bodystructure = ?, part_map = ?, body_rev2 = ?, "
				     "bodystructure_rev2 = ?, msgkeys = ? "
				     "WHERE mailbox = ? AND uid = ?");
	if (stmt != NULL) {
		maildir_cache_bind(stmt, 1, data);
		sqlite3_bind_int64(stmt, 8, mbox->id);
		sqlite3_bind_int64(stmt, 9, uid);
		/* not worth stalling the worker for another writer */
		maildir_index_set_best_effort(ms, true);
		(void)maildir_index_step(ms, stmt);
		maildir_index_set_best_effort(ms, false);
		maildir_index_finish(ms, stmt);
	}
	store_clear_error(&ms->store);
}

/* Parses the file of msn and writes the columns; the result becomes
 * mbox->cache. */
static int cache_fill(struct maildir_mailbox *mbox, uint32_t msn, uint32_t uid)
{
	struct store_msg_cache_data data;

	if (cache_parse(mbox, msn, &data) < 0)
		return -1;
	cache_write_back(mbox, uid, &data);
	store_msg_cache_data_free(&mbox->cache);
	mbox->cache = data;
	return 0;
}

int maildir_cache_get(struct store_mailbox *box, uint32_t msn,
		      struct store_msg_cache *cache_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	uint32_t uid = box->msgs[msn - 1].uid;
	sqlite3_stmt *stmt;
	int ret;

	stmt = maildir_index_prepare(ms, "SELECT " MAILDIR_CACHE_COLUMNS
				     " FROM messages WHERE mailbox = ? AND uid = ?");
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, mbox->id);
	sqlite3_bind_int64(stmt, 2, uid);
	ret = maildir_index_step(ms, stmt);
	if (ret > 0) {
		store_msg_cache_data_free(&mbox->cache);
		if (maildir_cache_read(stmt, 0, &mbox->cache))
			ret = 2;
	}
	maildir_index_finish(ms, stmt);
	if (ret < 0)
		return -1;
	if (ret == 0) {
		store_set_error(box->store, STORE_ERR_EXPUNGED, "Message was expunged");
		return -1;
	}
	if (ret == 1 && cache_fill(mbox, msn, uid) < 0)
		return -1;
	cache_r->envelope = mbox->cache.envelope.data;
	cache_r->body = mbox->cache.body.data;
	cache_r->bodystructure = mbox->cache.bodystructure.data;
	cache_r->part_map = mbox->cache.part_map.data;
	cache_r->part_map_size = mbox->cache.part_map.len;
	cache_r->body_rev2 = mbox->cache.has_global ? mbox->cache.body_rev2.data : NULL;
	cache_r->bodystructure_rev2 = mbox->cache.has_global ?
		mbox->cache.bodystructure_rev2.data : NULL;
	cache_r->msgkeys = mbox->cache.msgkeys.data;
	cache_r->msgkeys_size = mbox->cache.msgkeys.len;
	return 0;
}

int maildir_cache_get_keys(struct store_mailbox *box, uint32_t msn,
			   const void **data_r, size_t *size_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	uint32_t uid = box->msgs[msn - 1].uid;
	sqlite3_stmt *stmt;
	int ret;

	stmt = maildir_index_prepare(ms, "SELECT msgkeys FROM messages "
				     "WHERE mailbox = ? AND uid = ?");
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, mbox->id);
	sqlite3_bind_int64(stmt, 2, uid);
	ret = maildir_index_step(ms, stmt);
	if (ret > 0 && keys_column_current(stmt, 0)) {
		str_truncate(&mbox->keys, 0);
		cache_column(&mbox->keys, stmt, 0);
		ret = 2;
	}
	maildir_index_finish(ms, stmt);
	if (ret < 0)
		return -1;
	if (ret == 0) {
		store_set_error(box->store, STORE_ERR_EXPUNGED, "Message was expunged");
		return -1;
	}
	if (ret == 2) {
		*data_r = mbox->keys.data;
		*size_r = mbox->keys.len;
		return 0;
	}
	/* not cached yet: parse the file once, keep everything */
	if (cache_fill(mbox, msn, uid) < 0)
		return -1;
	*data_r = mbox->cache.msgkeys.data;
	*size_r = mbox->cache.msgkeys.len;
	return 0;
}

int maildir_cache_get_keys_many(struct store_mailbox *box, const uint32_t *msns,
				size_t count, store_msg_keys_callback_t *cb, void *ctx)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	size_t *missing = NULL, missing_count = 0, missing_cap = 0;
	sqlite3_stmt *stmt;
	int ret = 0;

	/* one read transaction: SQLite takes its locks once, not once per
	 * message (which costs more than the lookups themselves) */
	if (maildir_index_begin(ms, false) < 0)
		return -1;
	stmt = maildir_index_prepare(ms, "SELECT msgkeys FROM messages "
				     "WHERE mailbox = ? AND uid = ?");
	if (stmt == NULL) {
		maildir_index_rollback(ms);
		return -1;
	}
	for (size_t i = 0; i < count && ret == 0; i++) {
		sqlite3_bind_int64(stmt, 1, mbox->id);
		sqlite3_bind_int64(stmt, 2, box->msgs[msns[i] - 1].uid);
		ret = maildir_index_step(ms, stmt);
		if (ret == 0) {
			cb(ctx, i, NULL, 0);	/* expunged */
		} else if (ret > 0 && !keys_column_current(stmt, 0)) {
			ARRAY_RESERVE(missing, missing_cap, missing_count + 1);
			missing[missing_count++] = i;
			ret = 0;
		} else if (ret > 0) {
			const void *data = sqlite3_column_blob(stmt, 0);

			cb(ctx, i, data, (size_t)sqlite3_column_bytes(stmt, 0));
			ret = 0;
		}
		sqlite3_reset(stmt);
	}
	maildir_index_finish(ms, stmt);
	if (ret == 0)
		ret = maildir_index_commit(ms);
	else
		maildir_index_rollback(ms);
	/* Rows without keys: parsed outside any transaction, then written
	 * back in one write transaction (one commit, not one per message). */
	struct store_msg_cache_data *datas =
		xcalloc(missing_count == 0 ? 1 : missing_count, sizeof(*datas));
	bool *parsed = xcalloc(missing_count == 0 ? 1 : missing_count, sizeof(*parsed));
	size_t parsed_count = 0;

	for (size_t j = 0; j < missing_count && ret == 0; j++) {
		size_t i = missing[j];
		enum store_error err;

		if (cache_parse(mbox, msns[i], &datas[j]) == 0) {
			parsed[j] = true;
			parsed_count++;
			continue;
		}
		(void)store_last_error(box->store, &err);
		if (err != STORE_ERR_EXPUNGED)
			ret = -1;
		else
			cb(ctx, i, NULL, 0);
	}
	if (ret == 0 && parsed_count > 0) {
		/* all in one transaction, or none when the index is busy:
		 * one by one, each would wait for the lock again */
		maildir_index_set_best_effort(ms, true);
		bool in_txn = maildir_index_begin(ms, true) == 0;
		maildir_index_set_best_effort(ms, false);

		for (size_t j = 0; in_txn && j < missing_count; j++) {
			if (parsed[j])
				cache_write_back(mbox, box->msgs[msns[missing[j]] - 1].uid,
						 &datas[j]);
		}
		if (in_txn)
			(void)maildir_index_commit(ms);
		store_clear_error(box->store);
		for (size_t j = 0; j < missing_count; j++) {
			if (parsed[j])
				cb(ctx, missing[j], datas[j].msgkeys.data, datas[j].msgkeys.len);
		}
	}
	for (size_t j = 0; j < missing_count; j++)
		store_msg_cache_data_free(&datas[j]);
	free(datas);
	free(parsed);
	free(missing);
	return ret < 0 ? -1 : 0;
}
