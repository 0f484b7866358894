/* cmd-idle.c: IDLE (RFC 2177, RFC 9051 6.3.13).
 *
 * The session stays in IDLE until the client sends DONE; meanwhile every
 * change to the selected mailbox (reported by the store's change
 * notification, or found by a poll when it cannot watch) is pushed at
 * once. */
#include "commands.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-arg.h"
#include "net/net.h"
#include "store/store.h"

#include <strings.h>

#define IMAP_IDLE_POLL_MSECS 2000

struct imap_idle {
	struct net_timer *poll;
};

static void imap_idle_stop(struct imap_cmd *cmd)
{
	struct imap_idle *idle = cmd->ctx;
	cmd->session->idling = false;
	cmd->raw_line = NULL;
	if (idle->poll != NULL)
		net_timer_destroy(&idle->poll);
}

static void imap_idle_line(struct imap_cmd *cmd, const char *line)
{
	imap_idle_stop(cmd);
	if (strcasecmp(line, "DONE") == 0)
		imap_cmd_ok(cmd, "IDLE terminated.");
	else
		imap_cmd_bad(cmd, "Expected DONE.");
	imap_cmd_finish(cmd);
}

static void imap_idle_poll(void *ctx)
{
	struct imap_cmd *cmd = ctx;
	/* no watch to say so: anything may have changed */
	cmd->session->box_changed = true;
	imap_session_idle_sync(cmd->session);
}

/* The changes before IDLE have been sent: wait for more.  A client that
 * sent DONE right after IDLE has stopped it already; it still gets the
 * continuation it waited for before the tagged reply. */
static void imap_idle_start(void *ctx)
{
	struct imap_cmd *cmd = ctx;
	struct imap_session *s = cmd->session;
	struct imap_idle *idle = cmd->ctx;
	if (cmd->raw_line != NULL) {
		s->idling = true;
		store_release_memory(s->store);
		if (s->box != NULL && s->watch == NULL)
			idle->poll = net_timer_create(IMAP_IDLE_POLL_MSECS, true,
						      imap_idle_poll, cmd);
	}
	imap_session_write(s, "+ idling\r\n", 10);
	/* a change reported after the sync read the mailbox and before
	 * this ran found the session not yet idling: push it now */
	if (s->idling && (s->box_changed || s->notify != NULL))
		imap_session_idle_sync(s);
}

bool cmd_idle(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	if (!imap_arg_is_eol(&cmd->args[0]))
		return imap_cmd_bad(cmd, "IDLE takes no arguments.");
	struct imap_idle *idle = p_malloc(cmd->pool, sizeof(*idle));
	cmd->ctx = idle;
	cmd->raw_line = imap_idle_line;
	cmd->abort = imap_idle_stop;
	/* send what changed before we wait */
	imap_session_sync_request(s, true, imap_idle_start, cmd);
	return false;
}
