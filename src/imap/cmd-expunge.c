/* cmd-expunge.c: EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 9051
 * 6.4.9, UIDPLUS RFC 4315 2.1).
 *
 * The store removes the messages durably, in parts of EXPUNGE_CHUNK
 * messages run in slices of IMAP_SLICE_MSECS (session.h), so that
 * expunging 100,000 messages does not stall the worker's other sessions
 * (an expunge need not be all or nothing: each message is either gone or
 * still there).  Each part removes only what has \Deleted in the index
 * at that moment.  The untagged EXPUNGE responses come from the sync that
 * imap_cmd_ok() runs before the tagged reply, so this file never writes
 * them itself and never touches the view. */
#include "commands.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-arg.h"
#include "search-result.h"
#include "syntax/seqset.h"
#include "store/store.h"

#include <stdlib.h>

static bool expunge_is_deleted(struct store_mailbox *box, uint32_t msn)
{
	return !store_mailbox_is_expunged(box, msn) &&
		(store_mailbox_msg(box, msn)->flags & STORE_FLAG_DELETED) != 0;
}

/* Messages expunged per store call (one short index transaction). */
#define EXPUNGE_CHUNK 256

struct cmd_expunge_ctx {
	struct imap_cmd *cmd;
	uint32_t *msns;		/* xmalloc'd: the view's \Deleted candidates */
	size_t count, next;
	bool all_deleted;	/* EXPUNGE: at the end, also what the view
				   did not know had \Deleted */
	bool close;		/* CLOSE: then unselect, no EXPUNGE responses */
};

static void cmd_expunge_abort(struct imap_cmd *cmd)
{
	struct cmd_expunge_ctx *ctx = cmd->ctx;
	free(ctx->msns);
	ctx->msns = NULL;
}

/* Expunges part after part until done (true, after the tagged reply) or
 * the slice is over (false: cmd->resume goes on). */
static bool expunge_run(struct cmd_expunge_ctx *ctx)
{
	struct imap_cmd *cmd = ctx->cmd;
	struct imap_session *s = cmd->session;
	uint64_t deadline = imap_cmd_slice_deadline();
	int ret = 0;

	while (ctx->next < ctx->count) {
		size_t n = ctx->count - ctx->next;
		if (n > EXPUNGE_CHUNK)
			n = EXPUNGE_CHUNK;
		ret = store_mailbox_expunge_deleted(s->box, ctx->msns + ctx->next, n);
		if (ret < 0)
			break;
		ctx->next += n;
		if (ctx->next < ctx->count && imap_cmd_slice_end(cmd, deadline))
			return false;
	}
	if (ret == 0 && ctx->all_deleted)
		ret = store_mailbox_expunge(s->box, NULL, 0);
	s->expunge_count += ctx->next;
	free(ctx->msns);
	ctx->msns = NULL;
	if (ctx->close) {
		/* unselected first: the reply sends no EXPUNGE */
		imap_session_unselect(s);
		if (ret < 0)
			return imap_cmd_store_error(cmd, false);
		return imap_cmd_ok(cmd, "Close completed.");
	}
	if (ret < 0)
		return imap_cmd_store_error(cmd, false);
	return imap_cmd_ok(cmd, "Expunge completed.");
}

static bool cmd_expunge_resume(struct imap_cmd *cmd)
{
	return expunge_run(cmd->ctx);
}

/* Expunges the view's messages with \Deleted (only those whose UID is in
 * `uids` if not NULL), in slices. */
static bool expunge_start(struct imap_cmd *cmd, const struct seqset *uids, bool close)
{
	struct store_mailbox *box = cmd->session->box;
	struct cmd_expunge_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	size_t cap = 0;
	uint32_t count = store_mailbox_count(box);
	ctx->cmd = cmd;
	ctx->all_deleted = uids == NULL;
	ctx->close = close;
	for (uint32_t msn = 1; msn <= count; msn++) {
		if (!expunge_is_deleted(box, msn) ||
		    (uids != NULL && !seqset_contains(uids, store_mailbox_msg(box, msn)->uid)))
			continue;
		ARRAY_RESERVE(ctx->msns, cap, ctx->count + 1);
		ctx->msns[ctx->count++] = msn;
	}
	if (uids != NULL && ctx->count == 0)
		return imap_cmd_ok(cmd, "Expunge completed.");
	cmd->ctx = ctx;
	cmd->abort = cmd_expunge_abort;
	cmd->resume = cmd_expunge_resume;
	return expunge_run(ctx);
}

/* expunge = "EXPUNGE"
 * uid-expunge = "UID" SP "EXPUNGE" SP sequence-set
 * Only messages with \Deleted are expunged; with UID, only those whose UID
 * is in the set. */
bool cmd_expunge(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	struct store_mailbox *box = s->box;
	const struct imap_arg *a = cmd->args;
	struct seqset set = SEQSET_INIT;
	if (cmd->uid) {
		const char *uids;
		if (!imap_arg_get_atom(&a[0], &uids) || !imap_arg_is_eol(&a[1]))
			return imap_cmd_bad(cmd, "UID EXPUNGE needs a UID set.");
		if (imap_search_result_parse_set(box, &s->search_result, uids,
						 true, &set) < 0)
			return imap_cmd_bad(cmd, "Invalid UID set.");
	} else if (!imap_arg_is_eol(&a[0])) {
		return imap_cmd_bad(cmd, "EXPUNGE takes no arguments.");
	}
	if (store_mailbox_is_readonly(box)) {
		seqset_deinit(&set);
		return imap_cmd_no(cmd, "[CANNOT] Mailbox is read-only.");
	}

	if (cmd->uid) {
		bool ret = expunge_start(cmd, &set, false);
		seqset_deinit(&set);
		return ret;
	}
	return expunge_start(cmd, NULL, false);
}

bool imap_close_expunge(struct imap_cmd *cmd)
{
	return expunge_start(cmd, NULL, true);
}
