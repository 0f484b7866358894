/* sort-collect.c: search + key gathering for SORT and THREAD, in slices
 * (see sort-collect.h).  This file never reads a message itself: keys
 * come from store_mailbox_msg_keys(), matches from search_match(). */
#include "sort-collect.h"
#include "base/log.h"
#include "base/str.h"
#include "net/net.h"
#include "store/store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct imap_sort_collect {
	struct imap_cmd *cmd;
	struct search_ctx *search;
	imap_sort_collect_done_t *done;
	void *context;
	uint32_t next_msn, count;
	/* matches: msns[i], blob at blobs.data + offsets[i] */
	uint32_t *msns;
	size_t *offsets;
	size_t match_count, match_cap;
	struct str blobs;
	bool had_expunged;
	struct net_timer *timer;
};

void *imap_sort_collect_context(struct imap_sort_collect *coll)
{
	return coll->context;
}

size_t imap_sort_collect_count(const struct imap_sort_collect *coll)
{
	return coll->match_count;
}

uint32_t imap_sort_collect_msn(const struct imap_sort_collect *coll, size_t i)
{
	return coll->msns[i];
}

void imap_sort_collect_keys(const struct imap_sort_collect *coll, size_t i,
			    struct mime_msgkeys *keys_r)
{
	size_t start = coll->offsets[i];
	size_t end = i + 1 < coll->match_count ? coll->offsets[i + 1] : coll->blobs.len;
	int ret = mime_msgkeys_deserialize(keys_r, coll->blobs.data + start, end - start);

	assert(ret == 0);
	(void)ret;
}

bool imap_sort_collect_had_expunged(const struct imap_sort_collect *coll)
{
	return coll->had_expunged;
}

static void collect_free(struct imap_sort_collect *coll)
{
	if (coll->timer != NULL)
		net_timer_destroy(&coll->timer);
	search_ctx_destroy(&coll->search);
	free(coll->msns);
	free(coll->offsets);
	str_free(&coll->blobs);
	coll->cmd->abort = NULL;
	coll->cmd->ctx = NULL;
	free(coll);
}

static void collect_abort(struct imap_cmd *cmd)
{
	collect_free(cmd->ctx);
}

/* Adds msn's keys.  0, or -1 on a store error that is not an expunge
 * (answered by the caller). */
static int collect_add(struct imap_sort_collect *coll, uint32_t msn)
{
	struct store_mailbox *box = coll->cmd->session->box;
	struct mime_msgkeys keys;
	enum store_error err;
	const void *data;
	size_t size;

	if (store_mailbox_msg_keys(box, msn, &data, &size) < 0) {
		(void)store_last_error(coll->cmd->session->store, &err);
		if (err != STORE_ERR_EXPUNGED)
			return -1;
		coll->had_expunged = true;
		return 0;
	}
	if (mime_msgkeys_deserialize(&keys, data, size) < 0) {
		log_error("imap(%s): %s: sort keys of uid %u are corrupt",
			  coll->cmd->session->user, store_mailbox_name(box),
			  store_mailbox_msg(box, msn)->uid);
		return -1;
	}
	if (coll->match_count == coll->match_cap) {
		size_t cap = coll->match_cap;

		array_reserve((void **)&coll->msns, &cap, coll->match_count + 1,
			      sizeof(*coll->msns));
		array_reserve((void **)&coll->offsets, &coll->match_cap,
			      coll->match_count + 1, sizeof(*coll->offsets));
	}
	coll->msns[coll->match_count] = msn;
	coll->offsets[coll->match_count] = coll->blobs.len;
	coll->match_count++;
	str_append_n(&coll->blobs, data, size);
	return 0;
}

/* Runs until every message is looked at (returns true: the command is
 * answered) or the slice's time is up (false). */
static bool collect_run(struct imap_sort_collect *coll)
{
	struct imap_cmd *cmd = coll->cmd;
	uint64_t deadline = time_monotonic_ms() + SORT_COLLECT_SLICE_MSECS;

	while (coll->next_msn <= coll->count) {
		uint32_t msn = coll->next_msn++;
		int ret = search_match(coll->search, msn);

		if (ret > 0)
			ret = collect_add(coll, msn);
		if (ret < 0) {
			enum store_error err;

			collect_free(coll);
			(void)store_last_error(cmd->session->store, &err);
			if (err == STORE_ERR_NONE)
				return imap_cmd_no(cmd, "[SERVERBUG] Internal error: "
						   "the index is damaged.");
			return imap_cmd_store_error(cmd, false);
		}
		if ((msn % 64) == 0 && time_monotonic_ms() >= deadline)
			return false;
	}
	if (search_ctx_had_expunged(coll->search))
		coll->had_expunged = true;
	bool ret = coll->done(cmd, coll);
	collect_free(coll);
	return ret;
}

static void collect_timer(void *context)
{
	struct imap_sort_collect *coll = context;
	struct imap_cmd *cmd = coll->cmd;

	net_timer_destroy(&coll->timer);
	if (collect_run(coll)) {
		imap_cmd_finish(cmd);
		return;
	}
	coll->timer = net_timer_create(0, false, collect_timer, coll);
}

bool imap_sort_collect_start(struct imap_cmd *cmd, struct search_key *program,
			     imap_sort_collect_done_t *done, void *context)
{
	struct imap_session *s = cmd->session;
	struct imap_sort_collect *coll = xcalloc(1, sizeof(*coll));

	coll->cmd = cmd;
	coll->done = done;
	coll->context = context;
	coll->count = store_mailbox_count(s->box);
	coll->next_msn = 1;
	coll->search = search_ctx_create(s->store, s->box, program);
	cmd->ctx = coll;
	cmd->abort = collect_abort;
	if (collect_run(coll))
		return true;
	/* continues from a timer; the dispatcher holds input meanwhile */
	coll->timer = net_timer_create(0, false, collect_timer, coll);
	return false;
}

/* The charset argument: atom or quoted string (RFC 5256 section 5). */
const char *imap_sort_collect_charset(const struct imap_arg *arg)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_QUOTED)
		return NULL;
	if (arg->len == 0 || strlen(arg->str) != arg->len)
		return NULL;
	return arg->str;
}
