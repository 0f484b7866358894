/* cache.c: the message model (envelope, body structure, part map, SORT
 * and THREAD keys) of the Maildir backend's messages, kept in the index
 * (index_cache_*()).
 *
 * Appends and copies write the model with the row (save.c).  A row
 * without it (mail picked up from new/, an index from an older schema or
 * a rebuild), or with keys of an older version, is parsed from its file
 * on first use and the result written back, so each message is parsed
 * once.  Reading a cached row never opens the message file. */
#include "store/maildir/maildir-private.h"
#include "syntax/msgkeys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

	/* not worth stalling the worker for another writer */
	index_set_best_effort(ms->index, true);
	(void)index_cache_set(ms->index, mbox->id, uid, data);
	index_set_best_effort(ms->index, false);
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

/* Points *cache at the strings of *data. */
static void cache_point(const struct store_msg_cache_data *data, struct store_msg_cache *cache)
{
	cache->envelope = data->envelope.data;
	cache->bodystructure = data->bodystructure.data;
	cache->part_map = data->part_map.data;
	cache->part_map_size = data->part_map.len;
	cache->bodystructure_rev2 = data->has_global ? data->bodystructure_rev2.data : NULL;
	cache->msgkeys = data->msgkeys.data;
	cache->msgkeys_size = data->msgkeys.len;
}

int maildir_cache_get(struct store_mailbox *box, uint32_t msn,
		      struct store_msg_cache *cache_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	uint32_t uid = box->msgs[msn - 1].uid;
	struct store_msg_cache_data data;
	bool cached;
	int ret;

	ret = index_cache_get(ms->index, mbox->id, uid, &data, &cached);
	if (ret < 0)
		return -1;
	if (ret == 0) {
		store_set_error(box->store, STORE_ERR_EXPUNGED, "Message was expunged");
		return -1;
	}
	store_msg_cache_data_free(&mbox->cache);
	mbox->cache = data;
	if (!cached && cache_fill(mbox, msn, uid) < 0)
		return -1;
	cache_point(&mbox->cache, cache_r);
	return 0;
}

int maildir_cache_get_keys(struct store_mailbox *box, uint32_t msn,
			   const void **data_r, size_t *size_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	uint32_t uid = box->msgs[msn - 1].uid;
	bool current;
	int ret;

	str_truncate(&mbox->keys, 0);
	ret = index_cache_get_keys(ms->index, mbox->id, uid, &mbox->keys, &current);
	if (ret < 0)
		return -1;
	if (ret == 0) {
		store_set_error(box->store, STORE_ERR_EXPUNGED, "Message was expunged");
		return -1;
	}
	if (current) {
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

/* Parses the messages msns[stale[0..stale_count-1]] that the index had
 * no current model for, writes their models back in one write
 * transaction (best effort, as cache_write_back()), and calls
 * cb(ctx, stale[j], &cache) for each, NULL for one whose file is gone.
 * Parsing happens outside any transaction.  0, or -1 on an error other
 * than an expunge.  What the many-message reads below share. */
static int cache_fill_stale(struct maildir_mailbox *mbox, const uint32_t *msns,
			    const size_t *stale, size_t stale_count,
			    store_msg_cache_callback_t *cb, void *ctx)
{
	struct store_mailbox *box = &mbox->box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	struct store_msg_cache_data *datas =
		xcalloc(stale_count == 0 ? 1 : stale_count, sizeof(*datas));
	bool *parsed = xcalloc(stale_count == 0 ? 1 : stale_count, sizeof(*parsed));
	size_t parsed_count = 0;
	int ret = 0;

	for (size_t j = 0; j < stale_count && ret == 0; j++) {
		enum store_error err;

		if (cache_parse(mbox, msns[stale[j]], &datas[j]) == 0) {
			parsed[j] = true;
			parsed_count++;
			continue;
		}
		(void)store_last_error(box->store, &err);
		if (err != STORE_ERR_EXPUNGED)
			ret = -1;
		else
			cb(ctx, stale[j], NULL);
	}
	if (ret == 0 && parsed_count > 0) {
		/* all in one transaction, or none when the index is busy:
		 * one by one, each would wait for the lock again */
		index_set_best_effort(ms->index, true);
		bool in_txn = index_begin(ms->index, true) == 0;
		index_set_best_effort(ms->index, false);

		for (size_t j = 0; in_txn && j < stale_count; j++) {
			if (parsed[j])
				cache_write_back(mbox, box->msgs[msns[stale[j]] - 1].uid,
						 &datas[j]);
		}
		if (in_txn)
			(void)index_commit(ms->index);
		store_clear_error(box->store);
		for (size_t j = 0; j < stale_count; j++) {
			struct store_msg_cache cache;

			if (!parsed[j])
				continue;
			cache_point(&datas[j], &cache);
			cb(ctx, stale[j], &cache);
		}
	}
	for (size_t j = 0; j < stale_count; j++)
		store_msg_cache_data_free(&datas[j]);
	free(datas);
	free(parsed);
	return ret;
}

/* The uids of msns[0..count-1] (xmalloc'd). */
static uint32_t *msns_uids(struct store_mailbox *box, const uint32_t *msns, size_t count)
{
	uint32_t *uids = xcalloc(count == 0 ? 1 : count, sizeof(*uids));

	for (size_t i = 0; i < count; i++)
		uids[i] = box->msgs[msns[i] - 1].uid;
	return uids;
}

int maildir_cache_get_many(struct store_mailbox *box, const uint32_t *msns,
			   size_t count, store_msg_cache_callback_t *cb, void *ctx)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	uint32_t *uids = msns_uids(box, msns, count);
	size_t *stale, stale_count;
	int ret;

	ret = index_cache_get_many(ms->index, mbox->id, uids, count, cb, ctx,
				   &stale, &stale_count);
	free(uids);
	if (ret < 0)
		return -1;
	ret = cache_fill_stale(mbox, msns, stale, stale_count, cb, ctx);
	free(stale);
	return ret;
}

/* keys_many's callback and its context, for cache_fill_stale() */
struct keys_many_ctx {
	store_msg_keys_callback_t *cb;
	void *ctx;
};

static void keys_many_cb(void *context, size_t i, const struct store_msg_cache *cache)
{
	struct keys_many_ctx *k = context;

	k->cb(k->ctx, i, cache == NULL ? NULL : cache->msgkeys,
	      cache == NULL ? 0 : cache->msgkeys_size);
}

int maildir_cache_get_keys_many(struct store_mailbox *box, const uint32_t *msns,
				size_t count, store_msg_keys_callback_t *cb, void *ctx)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	struct keys_many_ctx k = { cb, ctx };
	uint32_t *uids = msns_uids(box, msns, count);
	size_t *missing, missing_count;
	int ret;

	ret = index_cache_get_keys_many(ms->index, mbox->id, uids, count, cb, ctx,
					&missing, &missing_count);
	free(uids);
	if (ret < 0)
		return -1;
	/* rows without keys: parsed, written back, keys handed on */
	ret = cache_fill_stale(mbox, msns, missing, missing_count, keys_many_cb, &k);
	free(missing);
	return ret;
}

struct dates_stale_ctx {
	store_msg_date_callback_t *cb;
	void *ctx;
	const size_t *stale;	/* index j of the keys call -> caller's i */
	bool corrupt;
};

static void dates_stale_cb(void *context, size_t j, const void *data, size_t size)
{
	struct dates_stale_ctx *dc = context;
	struct msgkeys keys;

	if (data == NULL)
		dc->cb(dc->ctx, dc->stale[j], false, false, 0);
	else if (msgkeys_deserialize(&keys, data, size) < 0)
		dc->corrupt = true;
	else
		dc->cb(dc->ctx, dc->stale[j], true, keys.has_sent_date, keys.sent_date);
}

int maildir_cache_get_dates_many(struct store_mailbox *box, const uint32_t *msns,
				 size_t count, store_msg_date_callback_t *cb, void *ctx)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	struct dates_stale_ctx dc = { .cb = cb, .ctx = ctx };
	size_t *stale, stale_count;
	uint32_t *uids = msns_uids(box, msns, count);
	int ret;

	ret = index_cache_get_dates_many(ms->index, mbox->id, uids, count, cb, ctx,
					 &stale, &stale_count);
	free(uids);
	if (ret < 0 || stale_count == 0)
		return ret < 0 ? -1 : 0;
	/* rows without keys (or with keys the date column does not have):
	 * the keys' own way, which parses and writes back */
	uint32_t *stale_msns = xmalloc(stale_count * sizeof(*stale_msns));
	for (size_t j = 0; j < stale_count; j++)
		stale_msns[j] = msns[stale[j]];
	dc.stale = stale;
	ret = maildir_cache_get_keys_many(box, stale_msns, stale_count, dates_stale_cb, &dc);
	if (ret == 0 && dc.corrupt) {
		store_set_internal_error(box->store, "%s: damaged sort keys in the index",
					 box->name);
		ret = -1;
	}
	free(stale_msns);
	free(stale);
	return ret;
}

/* What maildir_cache_get_ids_many() hands on, in its two passes. */
struct ids_many_ctx {
	store_msg_ids_callback_t *cb;
	void *ctx;
	unsigned int want;	/* enum store_msg_ids_want */
	/* first pass: the rows to parse (indexes of the caller's msns) */
	size_t *stale;
	size_t stale_count, stale_cap;
	/* second pass: j of the pass -> the caller's i, and the parsed
	 * model of j (for its preview) */
	const size_t *map;
	const struct store_msg_cache_data *parsed;
};

static void ids_many_cb(void *context, size_t i, const struct store_msg_ids *ids)
{
	struct ids_many_ctx *c = context;
	size_t caller_i = c->map == NULL ? i : c->map[i];
	struct store_msg_ids copy;

	if (ids == NULL) {
		c->cb(c->ctx, caller_i, NULL);
		return;
	}
	bool want_thread = (c->want & STORE_IDS_THREADID) != 0;
	bool want_preview = (c->want & STORE_IDS_PREVIEW) != 0;
	if (c->map == NULL &&
	    ((want_thread && ids->threadid == NULL) ||
	     (want_preview && (c->want & STORE_IDS_PREVIEW_LAZY) == 0 && ids->preview == NULL))) {
		ARRAY_RESERVE(c->stale, c->stale_cap, c->stale_count + 1);
		c->stale[c->stale_count++] = i;
		return;
	}
	copy = *ids;
	if (!want_thread)
		copy.threadid = NULL;
	if (!want_preview)
		copy.preview = NULL;
	/* a row whose preview another writer's lock kept from being
	 * stored: the one just made */
	if (want_preview && copy.preview == NULL && c->parsed != NULL &&
	    c->parsed[i].has_preview)
		copy.preview = c->parsed[i].preview.data;
	c->cb(c->ctx, caller_i, &copy);
}

/* The second pass: parses the stale rows, writes their model (with the
 * preview, and their THREADID: index_cache_set()) in one write
 * transaction, and reads their ids again.  0 or -1. */
static int ids_fill_stale(struct maildir_mailbox *mbox, const uint32_t *msns,
			  struct ids_many_ctx *c)
{
	struct store_mailbox *box = &mbox->box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	size_t n = c->stale_count, parsed_count = 0;
	struct store_msg_cache_data *datas = xcalloc(n, sizeof(*datas));
	uint32_t *uids = xcalloc(n, sizeof(*uids));
	size_t *map = xcalloc(n, sizeof(*map));
	int ret = 0;

	for (size_t j = 0; j < n && ret == 0; j++) {
		uint32_t msn = msns[c->stale[j]];
		enum store_error err;

		if (cache_parse(mbox, msn, &datas[parsed_count]) == 0) {
			uids[parsed_count] = box->msgs[msn - 1].uid;
			map[parsed_count++] = c->stale[j];
			continue;
		}
		(void)store_last_error(box->store, &err);
		if (err != STORE_ERR_EXPUNGED)
			ret = -1;
		else
			c->cb(c->ctx, c->stale[j], NULL);
	}
	/* not best effort: a THREADID is assigned here, once */
	if (ret == 0 && parsed_count > 0 && index_begin(ms->index, true) == 0) {
		for (size_t j = 0; ret == 0 && j < parsed_count; j++)
			ret = index_cache_set(ms->index, mbox->id, uids[j], &datas[j]);
		ret = index_end(ms->index, ret);
	} else if (ret == 0 && parsed_count > 0) {
		ret = -1;
	}
	if (ret == 0 && parsed_count > 0) {
		c->map = map;
		c->parsed = datas;
		ret = index_cache_get_ids_many(ms->index, mbox->id, uids, parsed_count,
					       ids_many_cb, c);
	}
	for (size_t j = 0; j < parsed_count; j++)
		store_msg_cache_data_free(&datas[j]);
	free(datas);
	free(uids);
	free(map);
	return ret;
}

int maildir_cache_get_ids_many(struct store_mailbox *box, const uint32_t *msns,
			       size_t count, unsigned int want,
			       store_msg_ids_callback_t *cb, void *ctx)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	struct ids_many_ctx c = { .cb = cb, .ctx = ctx, .want = want };
	uint32_t *uids = msns_uids(box, msns, count);
	int ret;

	ret = index_cache_get_ids_many(ms->index, mbox->id, uids, count, ids_many_cb, &c);
	free(uids);
	if (ret == 0 && c.stale_count > 0)
		ret = ids_fill_stale(mbox, msns, &c);
	free(c.stale);
	return ret < 0 ? -1 : 0;
}

int maildir_cache_search_objectid(struct store_mailbox *box, bool thread, const char *id,
				  uint32_t **uids_r, size_t *count_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;

	return index_msg_search_objectid(ms->index, mbox->id, thread, id, uids_r, count_r);
}

int maildir_cache_search_savedate(struct store_mailbox *box, int64_t since, int64_t before,
				  uint32_t **uids_r, size_t *count_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;

	return index_msg_search_savedate(ms->index, mbox->id, since, before, uids_r, count_r);
}
