/* sort-collect.c: search + key gathering for SORT and THREAD, in slices
 * (see sort-collect.h).  This file never reads a message itself: keys
 * come from store_mailbox_msg_keys_many() (or only the sent dates from
 * store_mailbox_msg_dates_many()), matches from search_match() on the
 * messages search_next() hands out. */
#include "sort-collect.h"
#include "syntax/imap-arg.h"
#include "search-parse.h"
#include "search-result.h"
#include "base/log.h"
#include "base/str.h"
#include "net/net.h"
#include "store/store.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Matches whose keys are asked of the store in one call. */
#define SORT_COLLECT_BATCH 1024

struct sort_collect_entry {
	uint32_t msn;
	bool gone;		/* expunged meanwhile: left out */
	bool has_sent_date;
	int64_t sent_date;
	/* the blob (IMAP_SORT_COLLECT_ALL) or the six SORT strings, each
	 * NUL-terminated (IMAP_SORT_COLLECT_SORT_STRINGS), in blobs */
	size_t offset, size;
};

struct imap_sort_collect {
	struct imap_cmd *cmd;
	struct search_ctx *search;
	imap_sort_collect_done_t *done;
	void *context;
	uint32_t count;
	/* matches in msn order; [batch_start, match_count) still need keys */
	struct sort_collect_entry *entries;
	size_t match_count, match_cap, batch_start;
	uint32_t *batch_msns;
	struct str blobs;
	enum imap_sort_collect_keep keep;
	bool had_expunged, corrupt;
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
	return coll->entries[i].msn;
}

int64_t imap_sort_collect_sent_date(const struct imap_sort_collect *coll, size_t i,
				    bool *has_sent_date_r)
{
	*has_sent_date_r = coll->entries[i].has_sent_date;
	return coll->entries[i].sent_date;
}

void imap_sort_collect_keys(const struct imap_sort_collect *coll, size_t i,
			    struct msgkeys *keys_r)
{
	const struct sort_collect_entry *e = &coll->entries[i];

	assert(coll->keep != IMAP_SORT_COLLECT_DATES);
	if (coll->keep == IMAP_SORT_COLLECT_ALL) {
		int ret = msgkeys_deserialize(keys_r, coll->blobs.data + e->offset, e->size);

		assert(ret == 0);
		(void)ret;
		return;
	}
	const char *p = coll->blobs.data + e->offset;
	const char **strings[] = {
		&keys_r->from, &keys_r->to, &keys_r->cc, &keys_r->displayfrom,
		&keys_r->displayto, &keys_r->base_subject,
	};
	memset(keys_r, 0, sizeof(*keys_r));
	keys_r->sent_date = e->sent_date;
	keys_r->has_sent_date = e->has_sent_date;
	keys_r->message_id = keys_r->in_reply_to = keys_r->references = "";
	for (size_t j = 0; j < N_ELEMENTS(strings); j++) {
		*strings[j] = p;
		p += strlen(p) + 1;
	}
}

bool imap_sort_collect_had_expunged(const struct imap_sort_collect *coll)
{
	return coll->had_expunged;
}

static void collect_free(struct imap_sort_collect *coll)
{
	search_ctx_destroy(&coll->search);
	free(coll->entries);
	free(coll->batch_msns);
	str_free(&coll->blobs);
	coll->cmd->abort = NULL;
	coll->cmd->resume = NULL;
	coll->cmd->ctx = NULL;
	free(coll);
}

static void collect_abort(struct imap_cmd *cmd)
{
	collect_free(cmd->ctx);
}

static void collect_keys_cb(void *context, size_t i, const void *data, size_t size)
{
	struct imap_sort_collect *coll = context;
	struct sort_collect_entry *e = &coll->entries[coll->batch_start + i];
	struct msgkeys keys;

	if (data == NULL) {
		e->gone = true;
		coll->had_expunged = true;
		return;
	}
	if (msgkeys_deserialize(&keys, data, size) < 0) {
		struct store_mailbox *box = coll->cmd->session->box;

		log_error("imap(%s): %s: the sort keys of uid %u are damaged",
			  coll->cmd->session->user, store_mailbox_name(box),
			  store_mailbox_msg(box, e->msn)->uid);
		coll->corrupt = true;
		return;
	}
	e->sent_date = keys.sent_date;
	e->has_sent_date = keys.has_sent_date;
	e->offset = coll->blobs.len;
	if (coll->keep == IMAP_SORT_COLLECT_ALL) {
		e->size = size;
		str_append_n(&coll->blobs, data, size);
		return;
	}
	const char *strings[] = {
		keys.from, keys.to, keys.cc, keys.displayfrom, keys.displayto,
		keys.base_subject,
	};
	for (size_t j = 0; j < N_ELEMENTS(strings); j++)
		str_append_n(&coll->blobs, strings[j], strlen(strings[j]) + 1);
	e->size = coll->blobs.len - e->offset;
}

static void collect_date_cb(void *context, size_t i, bool exists, bool has_sent_date,
			    int64_t sent_date)
{
	struct imap_sort_collect *coll = context;
	struct sort_collect_entry *e = &coll->entries[coll->batch_start + i];

	if (!exists) {
		e->gone = true;
		coll->had_expunged = true;
		return;
	}
	e->sent_date = sent_date;
	e->has_sent_date = has_sent_date;
}

/* Gets the keys of the pending matches.  0, or -1 on an error (store
 * error set, or coll->corrupt). */
static int collect_batch(struct imap_sort_collect *coll)
{
	size_t n = coll->match_count - coll->batch_start;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		coll->batch_msns[i] = coll->entries[coll->batch_start + i].msn;
	struct store_mailbox *box = coll->cmd->session->box;
	int ret = coll->keep != IMAP_SORT_COLLECT_DATES ?
		store_mailbox_msg_keys_many(box, coll->batch_msns, n, collect_keys_cb, coll) :
		store_mailbox_msg_dates_many(box, coll->batch_msns, n, collect_date_cb, coll);
	if (ret < 0 || coll->corrupt)
		return -1;
	/* drop the expunged ones, keeping msn order */
	size_t out = coll->batch_start;
	for (size_t i = coll->batch_start; i < coll->match_count; i++) {
		if (!coll->entries[i].gone)
			coll->entries[out++] = coll->entries[i];
	}
	coll->match_count = out;
	coll->batch_start = out;
	return 0;
}

/* Runs until every message is looked at (returns true: the command is
 * answered) or the slice is over (false; cmd->resume goes on). */
static bool collect_run(struct imap_sort_collect *coll)
{
	struct imap_cmd *cmd = coll->cmd;
	uint64_t deadline = imap_cmd_slice_deadline();
	unsigned int n = 0;
	uint32_t msn;
	int ret;

	while ((ret = search_next(coll->search, &msn)) > 0) {
		ret = msn == 0 ? 0 : search_match(coll->search, msn);
		if (ret > 0) {
			ARRAY_RESERVE(coll->entries, coll->match_cap, coll->match_count + 1);
			coll->entries[coll->match_count++] = (struct sort_collect_entry){ .msn = msn };
			ret = 0;
			if (coll->match_count - coll->batch_start == SORT_COLLECT_BATCH)
				ret = collect_batch(coll);
		}
		if (ret < 0)
			break;
		if ((++n % 16) == 0 && imap_cmd_slice_end(cmd, deadline)) {
			if ((ret = collect_batch(coll)) < 0)
				break;
			return false;
		}
	}
	if (ret == 0)
		ret = collect_batch(coll);
	if (ret < 0) {
		enum store_error err;

		collect_free(coll);
		(void)store_last_error(cmd->session->store, &err);
		if (err == STORE_ERR_NONE)
			return imap_cmd_no(cmd, "[SERVERBUG] Internal error: "
					   "the index is damaged.");
		return imap_cmd_store_error(cmd, false);
	}
	if (search_ctx_had_expunged(coll->search))
		coll->had_expunged = true;
	bool done = coll->done(cmd, coll);
	collect_free(coll);
	return done;
}

static bool collect_resume(struct imap_cmd *cmd)
{
	return collect_run(cmd->ctx);
}

bool imap_sort_collect_start(struct imap_cmd *cmd, struct search_key *program,
			     enum imap_sort_collect_keep keep, imap_sort_collect_done_t *done,
			     void *context)
{
	struct imap_session *s = cmd->session;
	struct imap_sort_collect *coll = xcalloc(1, sizeof(*coll));

	coll->cmd = cmd;
	coll->done = done;
	coll->context = context;
	coll->keep = keep;
	coll->count = store_mailbox_count(s->box);
	coll->batch_msns = xmalloc(SORT_COLLECT_BATCH * sizeof(*coll->batch_msns));
	coll->search = search_ctx_create(s->store, s->box, program);
	cmd->ctx = coll;
	cmd->abort = collect_abort;
	cmd->resume = collect_resume;
	/* the dispatcher holds input while it continues */
	return collect_run(coll);
}

/* The charset argument: atom or quoted string (RFC 5256 section 5). */
struct search_key *imap_sort_collect_program(struct imap_cmd *cmd,
					     const struct imap_arg *args,
					     const char *command, bool save)
{
	struct imap_session *s = cmd->session;
	struct search_key *program = NULL;
	const char *error;

	const char *charset;
	if ((!imap_arg_get_atom(&args[0], &charset) &&
	     !imap_arg_get_quoted(&args[0], &charset)) || *charset == '\0') {
		imap_cmd_bad(cmd, "%s needs a charset.", command);
		return NULL;
	}
	if (imap_arg_is_eol(&args[1])) {
		imap_cmd_bad(cmd, "%s needs search criteria.", command);
		return NULL;
	}
	switch (imap_search_parse_program(cmd->pool, s->box, &s->search_result, &args[1],
					  charset, &program, &error)) {
	case IMAP_SEARCH_PARSE_OK:
		if (s->uidonly && search_key_has(program, SEARCH_KEY_MSN)) {
			/* RFC 9586 3.5, 3.8 */
			imap_cmd_bad(cmd, "[UIDREQUIRED] Message numbers are not allowed "
				     "once UIDONLY is enabled; use UID <set>.");
			break;
		}
		if (save)
			imap_search_result_clear(s);
		return program;
	case IMAP_SEARCH_PARSE_BAD:
		imap_cmd_bad(cmd, "%s", error);
		break;
	case IMAP_SEARCH_PARSE_NO:
		if (save)
			imap_search_result_clear(s);
		imap_cmd_no(cmd, "%s", error);
		break;
	}
	return NULL;
}
