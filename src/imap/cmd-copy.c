/* cmd-copy.c: COPY, MOVE and their UID forms (RFC 9051 6.4.7, 6.4.8;
 * UIDPLUS RFC 4315; MOVE RFC 6851).
 *
 * The store copies (or moves) the messages in steps that end in one
 * durable operation, and says which UIDs they got; this file turns the
 * client's sequence set into message sequence numbers of the view, runs
 * the steps in slices of IMAP_SLICE_MSECS (so a COPY of 100,000 messages
 * does not stall the worker's other sessions; the destination shows
 * nothing until the last step, and a copy abandoned before it, by a
 * failed connection, is undone) and reports COPYUID.  For MOVE the
 * expunges are not reported here: the store leaves the view unchanged and
 * the sync that imap_cmd_ok() runs sends the EXPUNGE responses after the
 * untagged OK [COPYUID], as RFC 6851 section 3.3 orders. */
#include "commands.h"
#include "mailbox-name.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-arg.h"
#include "search-result.h"
#include "syntax/seqset.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* Appends `uids` (count > 0) as a uid-set in the same order, joining
 * ascending runs: 3,4,5,9 -> "3:5,9". */
static void copy_write_uid_set(struct str *dest, const uint32_t *uids, size_t count)
{
	for (size_t i = 0; i < count;) {
		size_t j = i;
		while (j + 1 < count && uids[j + 1] == uids[j] + 1)
			j++;
		if (i > 0)
			str_append_c(dest, ',');
		if (j == i)
			str_printfa(dest, "%u", uids[i]);
		else
			str_printfa(dest, "%u:%u", uids[i], uids[j]);
		i = j + 1;
	}
}

/* Resolves the sequence set `str` to msns of the view in ascending order
 * (xmalloc'd; *msns_r is NULL when count is 0).  Returns 0, or -1 with
 * *error_r for BAD: a malformed set or a sequence number past the end.
 * Messages another session expunged that are still in the view are left
 * out of UID sets; for msn sets *expunged_r is set when one is named. */
static int copy_resolve_set(struct imap_session *s, const char *str, bool uid,
			    uint32_t **msns_r, size_t *count_r, bool *expunged_r,
			    const char **error_r)
{
	struct store_mailbox *box = s->box;
	uint32_t count = store_mailbox_count(box);
	struct seqset set = SEQSET_INIT;

	*msns_r = NULL;
	*count_r = 0;
	*expunged_r = false;
	if (imap_search_result_parse_set(box, &s->search_result, str, uid, &set) < 0) {
		*error_r = "Invalid sequence set.";
		return -1;
	}
	if (!uid && seqset_max(&set) > count) {
		seqset_deinit(&set);
		*error_r = "Invalid message sequence number.";
		return -1;
	}
	uint32_t *msns = NULL;
	size_t msn_count = 0, cap = 0;
	if (!uid) {
		struct seqset_iter iter;
		uint32_t msn;
		seqset_iter_init(&iter, &set);
		while (seqset_iter_next(&iter, &msn)) {
			if (store_mailbox_is_expunged(box, msn)) {
				*expunged_r = true;
				continue;
			}
			ARRAY_RESERVE(msns, cap, msn_count + 1);
			msns[msn_count++] = msn;
		}
	} else {
		/* the view is in UID order; a UID set may be huge ("1:*"),
		 * so walk the view, not the set */
		for (uint32_t msn = 1; msn <= count; msn++) {
			if (!seqset_contains(&set, store_mailbox_msg(box, msn)->uid) ||
			    store_mailbox_is_expunged(box, msn))
				continue;
			ARRAY_RESERVE(msns, cap, msn_count + 1);
			msns[msn_count++] = msn;
		}
	}
	seqset_deinit(&set);
	*msns_r = msns;
	*count_r = msn_count;
	return 0;
}

struct cmd_copy_ctx {
	struct imap_cmd *cmd;
	bool move;
	const char *dest;	/* the destination, in cmd->pool */
	uint32_t *msns;		/* xmalloc'd */
	size_t count;
	struct store_copy *copy;
};

/* Messages per store step (staging one is a link and a lookup). */
#define COPY_STEP_MSGS 32

static void copy_deinit(struct cmd_copy_ctx *ctx)
{
	store_copy_free(&ctx->copy);
	free(ctx->msns);
	ctx->msns = NULL;
}

static void cmd_copy_abort(struct imap_cmd *cmd)
{
	/* the connection failed: an unfinished copy is undone */
	copy_deinit(cmd->ctx);
}

static bool copy_done(struct cmd_copy_ctx *ctx)
{
	struct imap_cmd *cmd = ctx->cmd;
	struct imap_session *s = cmd->session;
	uint32_t uidvalidity, *dest_uids;

	store_copy_result(ctx->copy, &uidvalidity, &dest_uids);
	uint32_t *src_uids = xmalloc(ctx->count * sizeof(*src_uids));
	for (size_t i = 0; i < ctx->count; i++)
		src_uids[i] = store_mailbox_msg(s->box, ctx->msns[i])->uid;
	size_t count = ctx->count;
	copy_deinit(ctx);

	struct str code = STR_INIT;
	str_printfa(&code, "[COPYUID %u ", uidvalidity);
	copy_write_uid_set(&code, src_uids, count);
	str_append_c(&code, ' ');
	copy_write_uid_set(&code, dest_uids, count);
	str_append_c(&code, ']');
	free(src_uids);
	char *from = imap_session_imapsieve_wanted(s, ctx->dest, "COPY") ?
		xstrdup(store_mailbox_name(s->box)) : NULL;

	if (ctx->move) {
		/* RFC 6851 3.3: COPYUID in an untagged OK before the
		 * expunges, which the sync in imap_cmd_ok() sends */
		imap_session_untagged(s, "OK %s Moved UIDs.", str_c(&code));
		s->expunge_count += count;
		imap_cmd_ok(cmd, "Move completed.");
	} else {
		imap_cmd_ok(cmd, "%s Copy completed.", str_c(&code));
	}
	str_free(&code);
	if (from != NULL) {
		/* RFC 6785 2.2.2 (MOVE is a COPY there: the destination is
		 * what counts), after the reply, which does not wait */
		imap_session_imapsieve(s, ctx->dest, from, "COPY", dest_uids, count, NULL);
		free(from);
	}
	free(dest_uids);
	return true;
}

/* Runs store steps until the copy is done (true, after the tagged reply)
 * or the slice is over (false: cmd->resume continues). */
static bool copy_run(struct cmd_copy_ctx *ctx)
{
	uint64_t deadline = imap_cmd_slice_deadline();
	for (;;) {
		int ret = store_copy_continue(ctx->copy, COPY_STEP_MSGS);
		if (ret < 0) {
			copy_deinit(ctx);
			return imap_cmd_store_error(ctx->cmd, true);
		}
		if (ret > 0)
			return copy_done(ctx);
		if (imap_cmd_slice_end(ctx->cmd, deadline))
			return false;
	}
}

static bool cmd_copy_resume(struct imap_cmd *cmd)
{
	return copy_run(cmd->ctx);
}

/* copy = "COPY" SP sequence-set SP mailbox
 * move = "MOVE" SP sequence-set SP mailbox */
static bool cmd_copy_common(struct imap_cmd *cmd, bool move)
{
	struct imap_session *s = cmd->session;
	const struct imap_arg *a = cmd->args;
	const char *verb = move ? "MOVE" : "COPY";
	const char *set, *raw;
	if (!imap_arg_get_atom(&a[0], &set) || (raw = imap_mailbox_arg(&a[1])) == NULL ||
	    !imap_arg_is_eol(&a[2]))
		return imap_cmd_bad(cmd, "%s needs a sequence set and a mailbox name.", verb);
	const char *dest = imap_mailbox_from_client(s, cmd->pool, raw);
	if (dest == NULL)
		return imap_cmd_no(cmd, "[CANNOT] Invalid mailbox name.");
	if (move && store_mailbox_is_readonly(s->box))
		return imap_cmd_no(cmd, "[CANNOT] Mailbox is read-only.");

	uint32_t *msns;
	size_t count;
	bool expunged;
	const char *error;
	if (copy_resolve_set(s, set, cmd->uid, &msns, &count, &expunged,
			     &error) < 0)
		return imap_cmd_bad(cmd, "%s", error);
	if (expunged) {
		/* RFC 2180 4.4.1: refuse rather than copy part of the set */
		free(msns);
		return imap_cmd_no(cmd, "[EXPUNGEISSUED] Some of the requested messages "
				   "no longer exist.");
	}
	if (count == 0) {
		return imap_cmd_ok(cmd, move ? "No messages moved." :
				   "No messages copied.");
	}

	struct cmd_copy_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	ctx->cmd = cmd;
	ctx->move = move;
	ctx->dest = dest;
	ctx->msns = msns;
	ctx->count = count;
	if (store_copy_begin(s->box, msns, count, dest, move, &ctx->copy) < 0) {
		copy_deinit(ctx);
		return imap_cmd_store_error(cmd, true);
	}
	cmd->ctx = ctx;
	cmd->abort = cmd_copy_abort;
	cmd->resume = cmd_copy_resume;
	return copy_run(ctx);
}

bool cmd_copy(struct imap_cmd *cmd)
{
	return cmd_copy_common(cmd, false);
}

bool cmd_move(struct imap_cmd *cmd)
{
	return cmd_copy_common(cmd, true);
}
