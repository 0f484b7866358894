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
#include "flags.h"
#include "base/log.h"
#include "syntax/seqset.h"
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
	uint32_t count;
	uint8_t *matches;	/* bitmap, msn - 1; xmalloc'd, count / 8 + 1 bytes */
};

/* ---- results ---- */

static bool search_bit(const struct cmd_search_ctx *ctx, uint32_t msn)
{
	return (ctx->matches[(msn - 1) / 8] & (1u << ((msn - 1) % 8))) != 0;
}

/* The first matching msn from msn on, or count + 1: a search of a rare
 * word over a million messages skips 8 KB of zero bytes per 64 Ki
 * messages instead of testing each bit. */
static uint32_t search_next_bit(const struct cmd_search_ctx *ctx, uint32_t msn)
{
	while (msn <= ctx->count) {
		if ((msn - 1) % 8 == 0 && ctx->matches[(msn - 1) / 8] == 0) {
			msn += 8;
			continue;
		}
		if (search_bit(ctx, msn))
			return msn;
		msn++;
	}
	return ctx->count + 1;
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

/* Writes ALL's sequence set: matching msns (or their UIDs, ascending like
 * the msns) as ranges. */
static void search_write_all(struct cmd_search_ctx *ctx, struct str *line)
{
	struct imap_session *s = ctx->cmd->session;
	bool first = true;
	uint32_t msn = 1;
	while ((msn = search_next_bit(ctx, msn)) <= ctx->count) {
		uint32_t start = search_result_value(ctx, msn), end = start;
		msn++;
		while (msn <= ctx->count && search_bit(ctx, msn)) {
			uint32_t v = search_result_value(ctx, msn);
			if (v != end + 1)
				break;
			end = v;
			msn++;
		}
		if (!first)
			str_append_c(line, ',');
		first = false;
		str_append_uint(line, start);
		if (start != end) {
			str_append_c(line, ':');
			str_append_uint(line, end);
		}
		search_flush(s, line, false);
	}
}

/* Sets the search result variable from the matches, as UIDs.  RFC 9051
 * 6.4.4.1 table 4: SAVE with MIN and/or MAX and neither ALL nor COUNT
 * keeps only those messages; otherwise every message found. */
static void search_save_result(struct cmd_search_ctx *ctx, uint32_t min_msn,
			       uint32_t max_msn)
{
	struct imap_session *s = ctx->cmd->session;
	struct store_mailbox *box = s->box;
	struct seqset uids = SEQSET_INIT;
	bool min_max_only = (ctx->returns & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) == 0 &&
		(ctx->returns & (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX)) != 0;

	if (min_max_only) {
		if ((ctx->returns & IMAP_SEARCH_RETURN_MIN) != 0 && min_msn != 0)
			seqset_add(&uids, store_mailbox_msg(box, min_msn)->uid);
		if ((ctx->returns & IMAP_SEARCH_RETURN_MAX) != 0 && max_msn != 0)
			seqset_add(&uids, store_mailbox_msg(box, max_msn)->uid);
	} else {
		/* msns ascend with UIDs: each addition is O(1) */
		for (uint32_t msn = search_next_bit(ctx, 1); msn <= ctx->count;
		     msn = search_next_bit(ctx, msn + 1))
			seqset_add(&uids, store_mailbox_msg(box, msn)->uid);
	}
	imap_search_result_save(s, &uids);
	seqset_deinit(&uids);
}

static void search_send_result(struct cmd_search_ctx *ctx)
{
	struct imap_session *s = ctx->cmd->session;
	struct str line = STR_INIT;
	uint32_t count = 0, min_msn = 0, max_msn = 0;

	for (uint32_t msn = search_next_bit(ctx, 1); msn <= ctx->count;
	     msn = search_next_bit(ctx, msn + 1)) {
		if (min_msn == 0)
			min_msn = msn;
		max_msn = msn;
		count++;
	}
	if ((ctx->returns & IMAP_SEARCH_RETURN_SAVE) != 0)
		search_save_result(ctx, min_msn, max_msn);
	if (ctx->esearch && (ctx->returns & IMAP_SEARCH_RETURN_ANSWERS) == 0) {
		/* RFC 9051 6.4.4: "In absence of any other SEARCH result
		 * option, the SAVE result option also suppresses any
		 * ESEARCH response" */
		return;
	}
	if (!ctx->esearch) {
		str_append(&line, "* SEARCH");
		for (uint32_t msn = search_next_bit(ctx, 1); msn <= ctx->count;
		     msn = search_next_bit(ctx, msn + 1)) {
			str_append_c(&line, ' ');
			str_append_uint(&line, search_result_value(ctx, msn));
			search_flush(s, &line, false);
		}
	} else {
		/* tags are atoms without '"' or '\\' (tag = 1*<ASTRING-CHAR
		 * except "+">), so quoting needs no escapes */
		str_printfa(&line, "* ESEARCH (TAG \"%s\")", ctx->cmd->tag);
		if (ctx->cmd->uid)
			str_append(&line, " UID");
		if ((ctx->returns & IMAP_SEARCH_RETURN_MIN) != 0 && count > 0)
			str_printfa(&line, " MIN %u", search_result_value(ctx, min_msn));
		if ((ctx->returns & IMAP_SEARCH_RETURN_MAX) != 0 && count > 0)
			str_printfa(&line, " MAX %u", search_result_value(ctx, max_msn));
		if ((ctx->returns & IMAP_SEARCH_RETURN_COUNT) != 0)
			str_printfa(&line, " COUNT %u", count);
		if ((ctx->returns & IMAP_SEARCH_RETURN_ALL) != 0 && count > 0) {
			str_append(&line, " ALL ");
			search_write_all(ctx, &line);
		}
	}
	str_append(&line, "\r\n");
	search_flush(s, &line, true);
	str_free(&line);
}

/* ---- running ---- */

static void search_deinit(struct cmd_search_ctx *ctx)
{
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

	for (unsigned int n = 1; (ret = search_next(ctx->search, &msn)) != 0; n++) {
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
		if (ret > 0 && msn != 0)
			ctx->matches[(msn - 1) / 8] |= (uint8_t)(1u << ((msn - 1) % 8));
		if ((n % 16) == 0 && imap_cmd_slice_end(cmd, deadline))
			return false;
	}
	search_send_result(ctx);
	bool expunged = search_ctx_had_expunged(ctx->search);
	search_deinit(ctx);
	if (expunged)
		return imap_cmd_ok(cmd, "[EXPUNGEISSUED] Search completed (some messages were expunged).");
	return imap_cmd_ok(cmd, "Search completed.");
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
		if (imap_search_parse_return(&args[1], true, &ctx->returns, &error) < 0)
			return imap_cmd_bad(cmd, "%s", error);
		ctx->esearch = true;
		args += 2;
	}
	switch (imap_search_parse_program(cmd->pool, s->box, &s->search_result,
					  args, NULL, &ctx->program, &error)) {
	case IMAP_SEARCH_PARSE_OK:
		break;
	case IMAP_SEARCH_PARSE_BAD:
		/* RFC 9051 6.4.4.1: BAD never changes the variable */
		return imap_cmd_bad(cmd, "%s", error);
	case IMAP_SEARCH_PARSE_NO:
		if ((ctx->returns & IMAP_SEARCH_RETURN_SAVE) != 0)
			imap_search_result_clear(s);
		return imap_cmd_no(cmd, "%s", error);
	}

	ctx->count = store_mailbox_count(s->box);
	ctx->matches = xcalloc(ctx->count / 8 + 1, 1);
	ctx->search = search_ctx_create(s->store, s->box, ctx->program);
	cmd->ctx = ctx;
	cmd->abort = cmd_search_abort;
	cmd->resume = cmd_search_resume;
	/* the dispatcher holds input while it continues */
	return search_run(ctx);
}
