/* cmd-select.c: SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3691 / 9051), CHECK. */
#include "commands.h"
#include "flags.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-arg.h"
#include "mailbox-name.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *special_use_names[] = {
	"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
};

/* SELECT's store half, a store request (session.h): the mailbox opened
 * and synced, and what the LIST response needs. */
struct imap_select {
	struct store *store;
	const char *name;	/* store form, in the command's pool */
	bool readonly;
	bool with_list;		/* IMAP4rev2: the LIST response too */
	struct store_mailbox *box;	/* NULL if it could not be opened */
	uint32_t special_use;
	bool has_children;
};

/* The LIST response IMAP4rev2 requires in SELECT (RFC 9051 6.3.2): the
 * mailbox name with accurate attributes.  An error leaves them out. */
static void imap_select_list_work(struct imap_select *sel)
{
	struct store_mailbox_info *infos;
	size_t count;
	if (store_mailbox_list(sel->store, &infos, &count) < 0)
		return;
	const char *name = store_mailbox_name(sel->box);
	size_t nlen = strlen(name);
	for (size_t i = 0; i < count; i++) {
		if (strcmp(infos[i].name, name) == 0)
			sel->special_use = infos[i].special_use;
		else if (strncmp(infos[i].name, name, nlen) == 0 &&
			 infos[i].name[nlen] == '/' && infos[i].exists)
			sel->has_children = true;
	}
	free(infos);
}

static void imap_select_work(void *ctx)
{
	struct imap_select *sel = ctx;
	if (store_mailbox_open(sel->store, sel->name, sel->readonly, &sel->box) < 0) {
		sel->box = NULL;
		return;
	}
	if (store_mailbox_sync(sel->box, 0, NULL, NULL) < 0) {
		store_mailbox_close(&sel->box);
		return;
	}
	if (sel->with_list)
		imap_select_list_work(sel);
}

static void imap_select_write_list(struct imap_cmd *cmd, const struct imap_select *sel)
{
	struct imap_session *s = cmd->session;
	struct str line = STR_INIT;
	str_append(&line, sel->has_children ? "* LIST (\\HasChildren" :
		   "* LIST (\\HasNoChildren");
	for (size_t i = 0; i < N_ELEMENTS(special_use_names); i++) {
		if ((sel->special_use & (1u << i)) != 0)
			str_printfa(&line, " %s", special_use_names[i]);
	}
	str_append(&line, ") \"/\" ");
	imap_mailbox_write(s, cmd->pool, &line, store_mailbox_name(s->box));
	imap_session_write_line(s, &line);
	str_free(&line);
}

static bool imap_select_done(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	struct imap_select *sel = cmd->ctx;
	if (sel->box == NULL)
		return imap_cmd_store_error(cmd, false);
	struct store_mailbox *box = sel->box;
	imap_session_select(s, box);

	uint32_t count = store_mailbox_count(box);
	imap_session_untagged(s, "%u EXISTS", count);
	if (!s->rev2)
		imap_session_untagged(s, "%u RECENT", store_mailbox_recent_count(box));
	imap_flags_write_flags_responses(s);
	if (!s->rev2) {
		uint32_t unseen = store_mailbox_first_unseen(box);
		if (unseen != 0)
			imap_session_untagged(s, "OK [UNSEEN %u] First unseen.", unseen);
	}
	imap_session_untagged(s, "OK [UIDVALIDITY %u] UIDs valid.",
			      store_mailbox_uidvalidity(box));
	/* RFC 8474 4.2 */
	imap_session_untagged(s, "OK [MAILBOXID (%s)] Mailbox id.", store_mailbox_id(box));
	imap_session_untagged(s, "OK [UIDNEXT %u] Predicted next UID.",
			      store_mailbox_uidnext(box));
	if (sel->with_list)
		imap_select_write_list(cmd, sel);
	return imap_cmd_ok(cmd, "[%s] %s completed.",
			   store_mailbox_is_readonly(box) ? "READ-ONLY" : "READ-WRITE",
			   sel->readonly ? "EXAMINE" : "SELECT");
}

/* select = "SELECT" SP mailbox [select-params]
 * examine = "EXAMINE" SP mailbox [select-params]
 * Opening and the first sync are a store request. */
static bool imap_select(struct imap_cmd *cmd, bool readonly)
{
	struct imap_session *s = cmd->session;
	const struct imap_arg *a = cmd->args;
	if (imap_arg_is_eol(&a[0]))
		return imap_cmd_bad(cmd, "Missing mailbox name.");
	if (!imap_arg_is_eol(&a[1]))
		return imap_cmd_bad(cmd, "Unsupported SELECT parameters.");
	/* RFC 9051 6.3.2: the selected mailbox is closed first, so a SELECT
	 * that fails (for any reason but its syntax) leaves none selected */
	if (s->box != NULL) {
		imap_session_unselect(s);
		imap_session_untagged(s, "OK [CLOSED] Previous mailbox is now closed.");
	}
	const char *arg = imap_mailbox_arg(&a[0]);
	const char *name = arg == NULL ? NULL : imap_mailbox_from_client(s, cmd->pool, arg);
	if (name == NULL)
		return imap_cmd_no(cmd, "[CANNOT] Invalid mailbox name.");

	struct imap_select *sel = p_malloc(cmd->pool, sizeof(*sel));
	sel->store = s->store;
	sel->name = name;
	sel->readonly = readonly;
	sel->with_list = s->rev2;
	cmd->ctx = sel;
	return imap_cmd_store_request(cmd, imap_select_work, imap_select_done);
}

bool cmd_select(struct imap_cmd *cmd)
{
	return imap_select(cmd, false);
}

bool cmd_examine(struct imap_cmd *cmd)
{
	return imap_select(cmd, true);
}

/* CLOSE expunges \Deleted messages silently (no EXPUNGE responses) unless
 * the mailbox is read-only, then deselects (RFC 9051 6.4.1). */
bool cmd_close(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	if (!imap_arg_is_eol(&cmd->args[0]))
		return imap_cmd_bad(cmd, "CLOSE takes no arguments.");
	if (!store_mailbox_is_readonly(s->box))
		return imap_close_expunge(cmd);
	imap_session_unselect(s);
	return imap_cmd_ok(cmd, "Close completed.");
}

bool cmd_unselect(struct imap_cmd *cmd)
{
	if (!imap_arg_is_eol(&cmd->args[0]))
		return imap_cmd_bad(cmd, "UNSELECT takes no arguments.");
	imap_session_unselect(cmd->session);
	return imap_cmd_ok(cmd, "Unselect completed.");
}

/* CHECK: every change is already durable when acknowledged, so CHECK is a
 * NOOP (RFC 9051 removed it; rev1 clients still send it). */
bool cmd_check(struct imap_cmd *cmd)
{
	if (!imap_arg_is_eol(&cmd->args[0]))
		return imap_cmd_bad(cmd, "CHECK takes no arguments.");
	return imap_cmd_ok(cmd, "Check completed.");
}
