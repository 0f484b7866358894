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

/* The LIST response IMAP4rev2 requires in SELECT (RFC 9051 6.3.2): the
 * mailbox name with accurate attributes. */
static void imap_select_write_list(struct imap_cmd *cmd, const char *name)
{
	struct imap_session *s = cmd->session;
	struct store_mailbox_info *infos;
	size_t count;
	uint32_t special = 0;
	bool children = false;
	if (store_mailbox_list(s->store, &infos, &count) == 0) {
		size_t nlen = strlen(name);
		for (size_t i = 0; i < count; i++) {
			if (strcmp(infos[i].name, name) == 0)
				special = infos[i].special_use;
			else if (strncmp(infos[i].name, name, nlen) == 0 &&
				 infos[i].name[nlen] == '/' && infos[i].exists)
				children = true;
		}
		free(infos);
	}
	struct str line = STR_INIT;
	str_append(&line, children ? "* LIST (\\HasChildren" : "* LIST (\\HasNoChildren");
	for (size_t i = 0; i < N_ELEMENTS(special_use_names); i++) {
		if ((special & (1u << i)) != 0)
			str_printfa(&line, " %s", special_use_names[i]);
	}
	str_append(&line, ") \"/\" ");
	imap_mailbox_write(s, cmd->pool, &line, name);
	imap_session_write_line(s, &line);
	str_free(&line);
}

static uint32_t imap_first_unseen(struct store_mailbox *box)
{
	uint32_t count = store_mailbox_count(box);
	for (uint32_t msn = 1; msn <= count; msn++) {
		if ((store_mailbox_msg(box, msn)->flags & STORE_FLAG_SEEN) == 0)
			return msn;
	}
	return 0;
}

/* select = "SELECT" SP mailbox [select-params]
 * examine = "EXAMINE" SP mailbox [select-params] */
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

	struct store_mailbox *box;
	if (store_mailbox_open(s->store, name, readonly, &box) < 0)
		return imap_cmd_store_error(cmd, false);
	if (store_mailbox_sync(box, 0, NULL, NULL) < 0) {
		store_mailbox_close(&box);
		return imap_cmd_store_error(cmd, false);
	}
	imap_session_select(s, box);

	uint32_t count = store_mailbox_count(box);
	imap_session_untagged(s, "%u EXISTS", count);
	if (!s->rev2)
		imap_session_untagged(s, "%u RECENT", store_mailbox_recent_count(box));
	imap_flags_write_flags_responses(s);
	if (!s->rev2) {
		uint32_t unseen = imap_first_unseen(box);
		if (unseen != 0)
			imap_session_untagged(s, "OK [UNSEEN %u] First unseen.", unseen);
	}
	imap_session_untagged(s, "OK [UIDVALIDITY %u] UIDs valid.",
			      store_mailbox_uidvalidity(box));
	imap_session_untagged(s, "OK [UIDNEXT %u] Predicted next UID.",
			      store_mailbox_uidnext(box));
	if (s->rev2)
		imap_select_write_list(cmd, store_mailbox_name(box));
	return imap_cmd_ok(cmd, "[%s] %s completed.",
			   store_mailbox_is_readonly(box) ? "READ-ONLY" : "READ-WRITE",
			   readonly ? "EXAMINE" : "SELECT");
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
