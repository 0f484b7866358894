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
#include "syntax/partial-range.h"
#include "net/net.h"

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
	}
	if (fetch_parse_items(&args[1], cmd->pool, &items, &error) < 0)
		return imap_cmd_bad(cmd, "%s", error);
	if (imap_session_parse_msns(cmd->session, cmd->uid, set, &msns, &error) < 0) {
		seqset_deinit(&msns);
		return imap_cmd_bad(cmd, "%s", error);
	}
	if (mods.partial)
		partial_range_apply(&mods.partial_range, &msns);

	struct fetch_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	fetch_init(ctx, cmd, &items, &msns);
	seqset_deinit(&msns);
	cmd->ctx = ctx;
	cmd->abort = cmd_fetch_abort;
	cmd->resume = cmd_fetch_resume;
	return cmd_fetch_resume(cmd);
}
