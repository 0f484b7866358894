/* cmd-fetch.c: FETCH and UID FETCH (RFC 9051 6.4.5, RFC 3501 6.4.5), the
 * command around the FETCH modules: fetch-parse.c turns the items into a
 * fetch request, and the output engine (fetch.c, with fetch-binary.c for
 * BINARY) writes the responses, pausing while the connection's output
 * drains.  Here are the argument checks, the message set and the tagged
 * response.  It never writes an untagged response itself. */
#include "commands.h"
#include "fetch.h"
#include "fetch-parse.h"
#include "syntax/imap-arg.h"
#include "syntax/seqset.h"
#include "qresync.h"
#include "syntax/partial-range.h"
#include "net/net.h"
#include "store/store.h"

#include <stdlib.h>

#include <string.h>

/* Ends the command after the engine stopped with `result` (not PAUSED). */
static bool cmd_fetch_finish(struct imap_cmd *cmd, enum fetch_run_result result)
{
	struct fetch_ctx *ctx = cmd->ctx;
	bool expunged = ctx->had_expunged;

	fetch_deinit(ctx);
	switch (result) {
	case FETCH_RUN_PAUSED:
		break;
	case FETCH_RUN_FINISHED:
		/* RFC 9051 7.1 (EXPUNGEISSUED), RFC 2180 4.1.2: the
		 * messages that still exist are answered and the command
		 * succeeds, as Dovecot does: clients take a NO as the
		 * failure of the whole FETCH.  UID FETCH ignores a UID that
		 * no longer exists (RFC 9051 6.4.9) and sends the EXPUNGE
		 * responses before its tagged OK (7.5.1), so it needs no
		 * response code. */
		if (expunged && !cmd->uid)
			return imap_cmd_ok(cmd, "[EXPUNGEISSUED] Some messages were already expunged.");
		return imap_cmd_ok(cmd, "Fetch completed.");
	case FETCH_RUN_UNKNOWN_CTE:
		return imap_cmd_no(cmd, "[UNKNOWN-CTE] Cannot decode the "
				   "Content-Transfer-Encoding of a requested part.");
	case FETCH_RUN_STORE_ERROR:
		return imap_cmd_store_error(cmd, false);
	case FETCH_RUN_BROKEN:
		/* in the middle of a response: it cannot be completed */
		net_conn_close(cmd->session->conn);
		cmd->resume = NULL;
		return false;
	}
	i_panic("FETCH: unknown run result %d", (int)result);
}

static bool cmd_fetch_resume(struct imap_cmd *cmd)
{
	enum fetch_run_result result = fetch_run(cmd->ctx);

	if (result == FETCH_RUN_PAUSED)
		return false;
	return cmd_fetch_finish(cmd, result);
}

static void cmd_fetch_abort(struct imap_cmd *cmd)
{
	fetch_deinit(cmd->ctx);
}

/* The rules on the FETCH modifiers (fetch_parse_modifiers()) that depend
 * on the command and the session: VANISHED only in UID FETCH, after
 * ENABLE QRESYNC and with CHANGEDSINCE (RFC 7162 3.2.6).  0, or -1 with
 * *error_r. */
static int cmd_fetch_check_modifiers(struct imap_cmd *cmd, const struct fetch_modifiers *mods,
				     const char **error_r)
{
	if (mods->vanished && !cmd->uid) {
		*error_r = "VANISHED is a UID FETCH modifier.";
		return -1;
	}
	if (mods->vanished && !cmd->session->qresync) {
		*error_r = "VANISHED needs ENABLE QRESYNC first.";
		return -1;
	}
	if (mods->vanished && mods->changedsince == 0) {
		*error_r = "VANISHED needs CHANGEDSINCE.";
		return -1;
	}
	return 0;
}

/* CHANGEDSINCE (RFC 7162 3.1.4.1): only the messages of `msns` whose
 * modseq is above `since` stay. */
static void cmd_fetch_changed_since(struct store_mailbox *box, uint64_t since,
				    struct seqset *msns)
{
	struct seqset changed = SEQSET_INIT;
	for (unsigned int i = 0; i < msns->count; i++) {
		for (uint32_t msn = msns->ranges[i].seq1;; msn++) {
			if (store_mailbox_msg(box, msn)->modseq > since)
				seqset_add(&changed, msn);
			if (msn == msns->ranges[i].seq2)
				break;
		}
	}
	seqset_deinit(msns);
	*msns = changed;
}

/* UID FETCH ... (CHANGEDSINCE n VANISHED) (RFC 7162 3.2.6): VANISHED
 * (EARLIER) for the UIDs of `set` expunged since n.  0, or -1 with the
 * store's error. */
static int cmd_fetch_vanished(struct imap_cmd *cmd, const char *set, uint64_t since)
{
	struct imap_session *s = cmd->session;
	struct store_mailbox *box = s->box;
	struct seqset uids = SEQSET_INIT, vanished = SEQSET_INIT;
	uint32_t *expunged;
	size_t expunged_count;
	uint64_t complete_since;
	uint32_t uidnext = store_mailbox_uidnext(box);
	bool dollar;

	if (store_mailbox_vanished(box, since, &expunged, &expunged_count,
				   &complete_since) < 0)
		return -1;
	/* "*" is the highest UID ever given: expunged ones count too */
	if (seqset_parse(&uids, set, uidnext - 1, &dollar) < 0 || dollar) {
		seqset_clear(&uids);
		for (unsigned int i = 0; i < s->search_result.count; i++)
			seqset_add_range(&uids, s->search_result.ranges[i].seq1,
					 s->search_result.ranges[i].seq2);
	}
	imap_qresync_vanished(box, &uids, since, expunged, expunged_count, complete_since,
			      NULL, &vanished);
	imap_session_write_vanished(s, true, &vanished);
	free(expunged);
	seqset_deinit(&uids);
	seqset_deinit(&vanished);
	return 0;
}

/* fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
 *         fetch-att / "(" fetch-att *(SP fetch-att) ")")
 *         [fetch-modifiers]                                (RFC 4466)
 * PARTIAL (RFC 9394 3.3) is defined for UID FETCH; FETCH takes it too,
 * with the same meaning over the msns of its set (the same order). */
bool cmd_fetch(struct imap_cmd *cmd)
{
	const struct imap_arg *args = cmd->args;
	struct fetch_items items;
	struct fetch_modifiers mods;
	struct seqset msns = SEQSET_INIT;
	const char *set, *error;
	memset(&mods, 0, sizeof(mods));
	if (!imap_arg_get_atom(&args[0], &set) || imap_arg_is_eol(&args[1]))
		return imap_cmd_bad(cmd, "FETCH needs a sequence set and items.");
	if (!imap_arg_is_eol(&args[2])) {
		if (fetch_parse_modifiers(&args[2], &mods, &error) < 0)
			return imap_cmd_bad(cmd, "%s", error);
		if (!imap_arg_is_eol(&args[3]))
			return imap_cmd_bad(cmd, "Unexpected argument after the FETCH modifiers.");
		if (cmd_fetch_check_modifiers(cmd, &mods, &error) < 0)
			return imap_cmd_bad(cmd, "%s", error);
	}
	if (fetch_parse_items(&args[1], cmd->pool, &items, &error) < 0)
		return imap_cmd_bad(cmd, "%s", error);
	if (imap_session_parse_msns(cmd->session, cmd->uid, set, &msns, &error) < 0) {
		seqset_deinit(&msns);
		return imap_cmd_bad(cmd, "%s", error);
	}
	/* RFC 9394 3.3: PARTIAL selects the messages first, CHANGEDSINCE
	 * then returns "only flag changes for a subset of those" */
	if (mods.partial)
		partial_range_apply(&mods.partial_range, &msns);
	/* CONDSTORE enabling (RFC 7162 3.1); CHANGEDSINCE implies MODSEQ
	 * (3.1.4.1) */
	if (mods.changedsince != 0)
		items.attrs |= FETCH_ATTR_MODSEQ;
	if ((items.attrs & FETCH_ATTR_MODSEQ) != 0)
		imap_session_enable_condstore(cmd->session);
	if (mods.vanished && cmd_fetch_vanished(cmd, set, mods.changedsince) < 0) {
		seqset_deinit(&msns);
		return imap_cmd_store_error(cmd, false);
	}
	if (mods.changedsince != 0)
		cmd_fetch_changed_since(cmd->session->box, mods.changedsince, &msns);

	struct fetch_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	fetch_init(ctx, cmd, &items, &msns);
	seqset_deinit(&msns);
	cmd->ctx = ctx;
	cmd->abort = cmd_fetch_abort;
	cmd->resume = cmd_fetch_resume;
	return cmd_fetch_resume(cmd);
}
