/* cmd-search.c: SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4),
 * with the ESEARCH result form (RFC 9051 7.3.4, RFC 4731 RETURN options).
 *
 * The client's search program becomes a src/search tree here; evaluation
 * is search_match(), one message at a time, of the messages search_next()
 * hands out (those the index cannot rule out), in slices of
 * IMAP_SLICE_MSECS (session.h), so that a slow search (message files to
 * read, or thousands of keys) never stalls the other sessions of the
 * worker.  The only per-message memory is the result bitmap.  This file
 * must never read a message itself. */
#include "commands.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-arg.h"
#include "search-parse.h"
#include "search-result.h"
#include "search-update.h"
#include "flags.h"
#include "base/log.h"
#include "syntax/seqset.h"
#include "syntax/partial-range.h"
#include "net/net.h"
#include "search/search.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* Flush a long result line to the connection at this size. */
#define SEARCH_LINE_FLUSH (32 * 1024)

struct cmd_search_ctx {
	struct imap_cmd *cmd;
	struct search_key *program;
	struct search_ctx *search;
	bool esearch;		/* answer with * ESEARCH */
	unsigned int returns;	/* enum search_return */
	struct partial_range partial;	/* with IMAP_SEARCH_RETURN_PARTIAL */
	uint32_t count;
	/* the scan: `scanned` steps of it so far, upward the messages
	 * search_next() hands out (it passes over those that cannot match),
	 * or downward when `descending` every message from msn `count`
	 * down, `scanned` of them evaluated */
	uint32_t scanned;
	bool descending;
	/* stop once this many matches are found (UINT32_MAX: never) */
	uint32_t limit;
	/* matches found, and the lowest and highest of them (0: none) */
	uint32_t found, min_msn, max_msn;
	uint8_t *matches;	/* bitmap, msn - 1; xmalloc'd, count / 8 + 1 bytes */
	bool modseq;		/* the program has MODSEQ (RFC 7162 3.1.5) */
	/* with modseq: the highest modseq of the matches found */
	uint64_t max_modseq;
	/* RETURN (UPDATE): the context to start with the result, or
	 * refused for the session's limit (NO [NOUPDATE]) */
	struct imap_search_update *update;
	bool noupdate;
};

/* ---- results ---- */

static bool search_bit(const struct cmd_search_ctx *ctx, uint32_t msn)
{
	return (ctx->matches[(msn - 1) / 8] & (1u << ((msn - 1) % 8))) != 0;
}

/* The first match at or after `msn` (min_msn <= msn), 0 past max_msn.
 * Skips empty bitmap bytes whole. */
static uint32_t search_next_match(const struct cmd_search_ctx *ctx, uint32_t msn)
{
	while (msn != 0 && msn <= ctx->max_msn) {
		if ((msn - 1) % 8 == 0 && ctx->matches[(msn - 1) / 8] == 0) {
			msn += 8;
			continue;
		}
		if (search_bit(ctx, msn))
			return msn;
		msn++;
	}
	return 0;
}

static uint32_t search_result_value(const struct cmd_search_ctx *ctx, uint32_t msn)
{
	if (ctx->cmd->uid)
		return store_mailbox_msg(ctx->cmd->session->box, msn)->uid;
	return msn;
}

static void search_flush(struct imap_session *s, struct str *line, bool final)
{
	if (final || line->len >= SEARCH_LINE_FLUSH) {
		imap_session_write(s, line->data == NULL ? "" : line->data, line->len);
		str_truncate(line, 0);
	}
}

/* Appends start or start:end (written without printf: a result may
 * hold a million numbers). */
static void search_append_range(struct str *line, uint32_t start, uint32_t end)
{
	str_append_uint(line, start);
	if (start != end) {
		str_append_c(line, ':');
		str_append_uint(line, end);
	}
}

/* The matches with index `start` to `end` (exclusive, 0 = min_msn, in
 * msn order) as a sequence set: msns, or their UIDs (ascending like the
 * msns), as ranges. */
static void search_write_set(struct cmd_search_ctx *ctx, uint32_t start, uint32_t end,
			     struct str *line)
{
	struct imap_session *s = ctx->cmd->session;
	bool first = true, open = false;
	uint32_t range_start = 0, range_end = 0;
	uint32_t msn = ctx->min_msn;

	for (uint32_t i = 0; i < end && (msn = search_next_match(ctx, msn)) != 0; i++, msn++) {
		if (i < start)
			continue;
		uint32_t v = search_result_value(ctx, msn);
		if (open && v == range_end + 1) {
			range_end = v;
			continue;
		}
		if (open) {
			if (!first)
				str_append_c(line, ',');
			first = false;
			search_append_range(line, range_start, range_end);
			search_flush(s, line, false);
		}
		range_start = range_end = v;
		open = true;
	}
	if (open) {
		if (!first)
			str_append_c(line, ',');
		search_append_range(line, range_start, range_end);
	}
}

/* The PARTIAL range as indexes of the matches found (start, end
 * exclusive); false when it selects none.  The matches found are all of
 * them, or, after a scan that stopped early, the first (ascending) or
 * last (descending) `found`, which hold the whole range: either way the
 * range counts within them. */
static bool search_partial_window(const struct cmd_search_ctx *ctx, uint32_t *start_r,
				  uint32_t *end_r)
{
	return partial_range_select(&ctx->partial, ctx->found, start_r, end_r) &&
		*start_r < *end_r;
}

/* Sets the search result variable from the matches, as UIDs.  RFC 9051
 * 6.4.4.1 table 4 and RFC 9394 3.2 table 1: SAVE with MIN, MAX and/or
 * PARTIAL and neither ALL nor COUNT keeps only those messages; otherwise
 * every message found. */
static void search_save_result(struct cmd_search_ctx *ctx)
{
	struct imap_session *s = ctx->cmd->session;
	struct store_mailbox *box = s->box;
	struct seqset uids = SEQSET_INIT;
	bool selected_only = (ctx->returns & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) == 0 &&
		(ctx->returns & (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX |
				 IMAP_SEARCH_RETURN_PARTIAL)) != 0;
	uint32_t start = 0, end = ctx->found;

	if (selected_only) {
		if ((ctx->returns & IMAP_SEARCH_RETURN_PARTIAL) == 0 ||
		    !search_partial_window(ctx, &start, &end))
			start = end = 0;
		if ((ctx->returns & IMAP_SEARCH_RETURN_MIN) != 0 && ctx->min_msn != 0)
			seqset_add(&uids, store_mailbox_msg(box, ctx->min_msn)->uid);
		if ((ctx->returns & IMAP_SEARCH_RETURN_MAX) != 0 && ctx->max_msn != 0)
			seqset_add(&uids, store_mailbox_msg(box, ctx->max_msn)->uid);
	}
	/* msns ascend with UIDs: each addition is O(1) but next to MIN/MAX */
	uint32_t msn = ctx->min_msn;
	for (uint32_t i = 0; i < end && (msn = search_next_match(ctx, msn)) != 0; i++, msn++) {
		if (i >= start)
			seqset_add(&uids, store_mailbox_msg(box, msn)->uid);
	}
	imap_search_result_save(s, &uids);
	seqset_deinit(&uids);
}

/* Starts the UPDATE context with the matches (every message was
 * evaluated: search_plan_scan() never stops early with UPDATE). */
static void search_start_update(struct cmd_search_ctx *ctx)
{
	struct imap_session *s = ctx->cmd->session;
	uint32_t msn = ctx->min_msn;

	while ((msn = search_next_match(ctx, msn)) != 0) {
		imap_search_update_add_result(ctx->update,
					      store_mailbox_msg(s->box, msn)->uid);
		msn++;
	}
	imap_search_update_start(s, &ctx->update);
}

static void search_send_result(struct cmd_search_ctx *ctx)
{
	struct imap_session *s = ctx->cmd->session;
	struct str line = STR_INIT;

	if (ctx->update != NULL)
		search_start_update(ctx);
	if ((ctx->returns & IMAP_SEARCH_RETURN_SAVE) != 0)
		search_save_result(ctx);
	if (ctx->esearch && (ctx->returns & IMAP_SEARCH_RETURN_ANSWERS) == 0) {
		/* RFC 9051 6.4.4: "In absence of any other SEARCH result
		 * option, the SAVE result option also suppresses any
		 * ESEARCH response" */
		return;
	}
	if (!ctx->esearch) {
		str_append(&line, "* SEARCH");
		uint32_t msn = ctx->min_msn;
		while ((msn = search_next_match(ctx, msn)) != 0) {
			str_append_c(&line, ' ');
			str_append_uint(&line, search_result_value(ctx, msn));
			search_flush(s, &line, false);
			msn++;
		}
		/* RFC 7162 3.1.6: the highest modseq of those returned */
		if (ctx->modseq && ctx->found > 0)
			str_printfa(&line, " (MODSEQ %llu)", (unsigned long long)ctx->max_modseq);
	} else {
		/* tags are atoms without '"' or '\\' (tag = 1*<ASTRING-CHAR
		 * except "+">), so quoting needs no escapes */
		str_printfa(&line, "* ESEARCH (TAG \"%s\")", ctx->cmd->tag);
		if (ctx->cmd->uid)
			str_append(&line, " UID");
		if ((ctx->returns & IMAP_SEARCH_RETURN_MIN) != 0 && ctx->found > 0)
			str_printfa(&line, " MIN %u", search_result_value(ctx, ctx->min_msn));
		if ((ctx->returns & IMAP_SEARCH_RETURN_MAX) != 0 && ctx->found > 0)
			str_printfa(&line, " MAX %u", search_result_value(ctx, ctx->max_msn));
		if ((ctx->returns & IMAP_SEARCH_RETURN_COUNT) != 0)
			str_printfa(&line, " COUNT %u", ctx->found);
		if ((ctx->returns & IMAP_SEARCH_RETURN_ALL) != 0 && ctx->found > 0) {
			str_append(&line, " ALL ");
			search_write_set(ctx, 0, ctx->found, &line);
		}
		if ((ctx->returns & IMAP_SEARCH_RETURN_PARTIAL) != 0) {
			/* ret-data-partial = "PARTIAL" SP "(" partial-range SP
			 * partial-results ")", the range as requested, NIL
			 * when no result is in it (RFC 9394 3.1) */
			uint32_t start, end;
			str_append(&line, " PARTIAL (");
			partial_range_append(&line, &ctx->partial);
			str_append_c(&line, ' ');
			if (search_partial_window(ctx, &start, &end))
				search_write_set(ctx, start, end, &line);
			else
				str_append(&line, "NIL");
			str_append_c(&line, ')');
		}
		/* RFC 7162 3.1.10, RFC 4731 3.2 */
		if (ctx->modseq && ctx->found > 0)
			str_printfa(&line, " MODSEQ %llu", (unsigned long long)ctx->max_modseq);
	}
	str_append(&line, "\r\n");
	search_flush(s, &line, true);
	str_free(&line);
}

/* ---- running ---- */

static void search_deinit(struct cmd_search_ctx *ctx)
{
	imap_search_update_destroy(&ctx->update);
	search_ctx_destroy(&ctx->search);
	free(ctx->matches);
	ctx->matches = NULL;
}

static void cmd_search_abort(struct imap_cmd *cmd)
{
	search_deinit(cmd->ctx);
}

/* Evaluates messages until done (returns true after the tagged reply) or
 * until the slice is over (returns false; cmd->resume goes on). */
static bool search_run(struct cmd_search_ctx *ctx)
{
	struct imap_cmd *cmd = ctx->cmd;
	uint64_t deadline = imap_cmd_slice_deadline();
	uint32_t msn;
	int ret;

	while (ctx->found < ctx->limit) {
		if (ctx->descending) {
			if (ctx->scanned == ctx->count)
				break;
			msn = ctx->count - ctx->scanned;
			ret = 1;
		} else if ((ret = search_next(ctx->search, &msn)) == 0) {
			break;
		}
		ctx->scanned++;
		if (ret > 0 && msn != 0)
			ret = search_match(ctx->search, msn);
		if (ret < 0) {
			search_deinit(ctx);
			/* RFC 9051 6.4.4.1: a SAVE search that fails with NO
			 * leaves the variable empty */
			if ((ctx->returns & IMAP_SEARCH_RETURN_SAVE) != 0)
				imap_search_result_clear(cmd->session);
			return imap_cmd_store_error(cmd, false);
		}
		if (ret > 0 && msn != 0) {
			ctx->matches[(msn - 1) / 8] |= (uint8_t)(1u << ((msn - 1) % 8));
			ctx->found++;
			if (ctx->min_msn == 0 || msn < ctx->min_msn)
				ctx->min_msn = msn;
			if (msn > ctx->max_msn)
				ctx->max_msn = msn;
			if (ctx->modseq) {
				uint64_t modseq = store_mailbox_msg(cmd->session->box, msn)->modseq;
				if (modseq > ctx->max_modseq)
					ctx->max_modseq = modseq;
			}
		}
		if ((ctx->scanned % 16) == 0 && imap_cmd_slice_end(cmd, deadline))
			return false;
	}
	search_send_result(ctx);
	if (ctx->noupdate) {
		/* RFC 5267 4.3.1: an untagged NO "during processing of the
		 * command"; the other return options are still honoured */
		imap_session_untagged(cmd->session, "NO [NOUPDATE \"%s\"] Too many update "
				      "contexts (at most %d).", cmd->tag, IMAP_SEARCH_UPDATE_MAX);
	}
	bool expunged = search_ctx_had_expunged(ctx->search);
	search_deinit(ctx);
	if (expunged)
		return imap_cmd_ok(cmd, "[EXPUNGEISSUED] Search completed (some messages were expunged).");
	return imap_cmd_ok(cmd, "Search completed.");
}

/* How a PARTIAL search scans (RFC 9394 3.1: "Using this syntax helps
 * server implementations to optimize their SEARCHes").  Results are in
 * msn order, so the first n of them are found by evaluating from msn 1
 * up until n matched, the last n from the highest msn down; nothing past
 * them is evaluated unless another answer needs the whole result: COUNT,
 * a MAX in an upward scan, a MIN in a downward one.  (SAVE needs the
 * whole result only with COUNT, RFC 9394 table 1.)  An upward scan
 * evaluates only the messages search_next() hands out (a program that
 * requires a text key or a UID set: those the index's answers leave
 * possible).  A program with content keys always scans upward: the
 * store's full-text index answers for a range of UIDs from a first one
 * up (store_mailbox_search_text()), and a downward scan would ask it
 * once per message. */
static void search_plan_scan(struct cmd_search_ctx *ctx)
{
	ctx->limit = UINT32_MAX;
	/* UPDATE starts from the whole result */
	if ((ctx->returns & IMAP_SEARCH_RETURN_PARTIAL) == 0 ||
	    (ctx->returns & IMAP_SEARCH_RETURN_UPDATE) != 0)
		return;
	ctx->descending = ctx->partial.from_end &&
		!search_key_needs_content(ctx->program);
	if (ctx->partial.from_end && !ctx->descending)
		return;		/* the last results from an upward scan: all */
	if ((ctx->returns & IMAP_SEARCH_RETURN_COUNT) != 0)
		return;
	if ((ctx->returns & (!ctx->descending ? IMAP_SEARCH_RETURN_MAX :
			     IMAP_SEARCH_RETURN_MIN)) != 0)
		return;
	ctx->limit = ctx->partial.hi;
}

static bool cmd_search_resume(struct imap_cmd *cmd)
{
	return search_run(cmd->ctx);
}

/* search = "SEARCH" [search-return-opts] SP search-program
 * search-program = ["CHARSET" SP charset SP] search-key *(SP search-key) */
bool cmd_search(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	const struct imap_arg *args = cmd->args;
	struct cmd_search_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	const char *error;

	ctx->cmd = cmd;
	ctx->esearch = s->rev2;
	ctx->returns = IMAP_SEARCH_RETURN_ALL;
	if (imap_arg_atom_equals(&args[0], "RETURN")) {
		if (imap_search_parse_return(&args[1], true, &ctx->returns, &ctx->partial,
					     &error) < 0)
			return imap_cmd_bad(cmd, "%s", error);
		ctx->esearch = true;
		args += 2;
	}
	/* RFC 5267 4.3: "An attempt to use UPDATE where a tag is already in
	 * use with a previous searching command that itself used UPDATE
	 * SHALL result in the server rejecting the searching command with a
	 * BAD response." */
	if ((ctx->returns & IMAP_SEARCH_RETURN_UPDATE) != 0 &&
	    imap_search_update_tag_in_use(s, cmd->tag))
		return imap_cmd_bad(cmd, "Tag reuse: an update context has this tag.");
	switch (imap_search_parse_program(cmd->pool, s->box, &s->search_result,
					  args, NULL, &ctx->program, &error)) {
	case IMAP_SEARCH_PARSE_OK:
		if (s->uidonly && search_key_has(ctx->program, SEARCH_KEY_MSN)) {
			/* RFC 9586 3.5 */
			return imap_cmd_bad(cmd, "[UIDREQUIRED] Message numbers are not "
					    "allowed once UIDONLY is enabled; use UID <set>.");
		}
		break;
	case IMAP_SEARCH_PARSE_BAD:
		/* RFC 9051 6.4.4.1: BAD never changes the variable */
		return imap_cmd_bad(cmd, "%s", error);
	case IMAP_SEARCH_PARSE_NO:
		if ((ctx->returns & IMAP_SEARCH_RETURN_SAVE) != 0)
			imap_search_result_clear(s);
		return imap_cmd_no(cmd, "%s", error);
	}

	ctx->modseq = search_key_has(ctx->program, SEARCH_KEY_MODSEQ);
	if (ctx->modseq) {
		/* a CONDSTORE enabling command (RFC 7162 3.1) */
		imap_session_enable_condstore(s);
	}
	if ((ctx->returns & IMAP_SEARCH_RETURN_UPDATE) != 0) {
		if (imap_search_update_is_full(s))
			ctx->noupdate = true;
		else if ((ctx->update = imap_search_update_create(s, cmd->tag, cmd->uid,
								  args, NULL,
								  &s->search_result)) == NULL)
			i_panic("SEARCH: a program that parsed once does not parse again");
	}
	ctx->count = store_mailbox_count(s->box);
	search_plan_scan(ctx);
	ctx->matches = xcalloc(ctx->count / 8 + 1, 1);
	ctx->search = search_ctx_create(s->store, s->box, ctx->program);
	cmd->ctx = ctx;
	cmd->abort = cmd_search_abort;
	cmd->resume = cmd_search_resume;
	/* the dispatcher holds input while it continues */
	return search_run(ctx);
}

/* command-select =/ "CANCELUPDATE" 1*(SP quoted)     (RFC 5267 4.3.5)
 * Every tag must name an update context; otherwise BAD and none is
 * cancelled. */
bool cmd_cancelupdate(struct imap_cmd *cmd)
{
	const struct imap_arg *args = cmd->args;
	struct imap_session *s = cmd->session;
	const char *tag;
	unsigned int i;

	if (imap_arg_is_eol(&args[0]))
		return imap_cmd_bad(cmd, "CANCELUPDATE needs the tags of update contexts.");
	for (i = 0; !imap_arg_is_eol(&args[i]); i++) {
		if (!imap_arg_get_quoted(&args[i], &tag))
			return imap_cmd_bad(cmd, "CANCELUPDATE takes quoted tags.");
		if (!imap_search_update_tag_in_use(s, tag))
			return imap_cmd_bad(cmd, "No update context has the tag %.40s.", tag);
	}
	for (i = 0; imap_arg_get_quoted(&args[i], &tag); i++)
		(void)imap_search_update_cancel(s, tag);
	return imap_cmd_ok(cmd, "No further updates.");
}
