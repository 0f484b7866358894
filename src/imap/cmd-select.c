/* cmd-select.c: SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3691 / 9051), CHECK. */
#include "commands.h"
#include "flags.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-arg.h"
#include "mailbox-name.h"
#include "qresync.h"
#include "base/log.h"
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
	/* SELECT ... (QRESYNC (...)) (RFC 7162 3.2.5) */
	bool has_qresync;
	struct imap_qresync qresync;
	bool resync;		/* has_qresync and the UIDVALIDITY matched */
	uint32_t *expunged;	/* tombstones above qresync.modseq; xmalloc'd */
	size_t expunged_count;
	uint64_t complete_since;
	bool vanished_failed;	/* store_mailbox_vanished() failed */
	uint32_t next_msn;	/* the changed messages' FETCH written so far */
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
	if (sel->has_qresync &&
	    sel->qresync.uidvalidity == store_mailbox_uidvalidity(sel->box)) {
		sel->resync = true;
		if (store_mailbox_vanished(sel->box, sel->qresync.modseq, &sel->expunged,
					   &sel->expunged_count, &sel->complete_since) < 0) {
			/* logged in done; without the tombstones the known
			 * UIDs are compared with the view, which is always
			 * right (RFC 7162 section 5) */
			sel->vanished_failed = true;
			sel->complete_since = UINT64_MAX;
		}
	}
}

static void imap_select_free(struct imap_select *sel)
{
	imap_qresync_deinit(&sel->qresync);
	free(sel->expunged);
	sel->expunged = NULL;
}

static void imap_select_abort(struct imap_cmd *cmd)
{
	imap_select_free(cmd->ctx);
}

/* RFC 7162 3.2.5.1: the FETCH (UID FLAGS MODSEQ) of every known message
 * changed since the client's modseq, in msn order, in slices as output
 * drains (session.h "long commands"). */
static bool imap_select_resync_fetch(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	struct imap_select *sel = cmd->ctx;
	struct store_mailbox *box = s->box;
	uint32_t count = store_mailbox_count(box);
	uint64_t deadline = imap_cmd_slice_deadline();
	struct str line = STR_INIT;

	while (sel->next_msn <= count) {
		if (sel->next_msn % 256 == 0 && imap_cmd_slice_end(cmd, deadline)) {
			str_free(&line);
			cmd->resume = imap_select_resync_fetch;
			return false;
		}
		uint32_t msn = sel->next_msn++;
		const struct store_msg *msg = store_mailbox_msg(box, msn);
		if (msg->modseq <= sel->qresync.modseq ||
		    (sel->qresync.has_known_uids &&
		     !seqset_contains(&sel->qresync.known_uids, msg->uid)))
			continue;
		str_truncate(&line, 0);
		if (!imap_session_fetch_begin(s, &line, msn, msg->uid))
			str_printfa(&line, "UID %u ", msg->uid);
		str_append(&line, "FLAGS (");
		imap_flags_write(&line, box, msg, store_mailbox_is_recent(box, msn));
		str_printfa(&line, ") MODSEQ (%llu))", (unsigned long long)msg->modseq);
		imap_session_write_line(s, &line);
	}
	str_free(&line);
	imap_select_free(sel);
	return imap_cmd_ok(cmd, "[%s] %s completed.",
			   store_mailbox_is_readonly(box) ? "READ-ONLY" : "READ-WRITE",
			   sel->readonly ? "EXAMINE" : "SELECT");
}

/* RFC 7162 3.2.5.1: VANISHED (EARLIER) for the known UIDs expunged
 * since the client's modseq ("1:<UIDNEXT-1>" when it gave none). */
static void imap_select_resync_vanished(struct imap_cmd *cmd, struct imap_select *sel)
{
	struct imap_session *s = cmd->session;
	struct store_mailbox *box = s->box;
	struct seqset all = SEQSET_INIT, vanished = SEQSET_INIT;
	const struct seqset *known = &sel->qresync.known_uids;

	if (!sel->qresync.has_known_uids) {
		uint32_t uidnext = store_mailbox_uidnext(box);
		if (uidnext > 1)
			seqset_add_range(&all, 1, uidnext - 1);
		known = &all;
	}
	imap_qresync_vanished(box, known, sel->qresync.modseq, sel->expunged,
			      sel->expunged_count, sel->complete_since, &sel->qresync,
			      &vanished);
	imap_session_write_vanished(s, true, &vanished);
	seqset_deinit(&vanished);
	seqset_deinit(&all);
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
	if (sel->box == NULL) {
		imap_select_free(sel);
		return imap_cmd_store_error(cmd, false);
	}
	struct store_mailbox *box = sel->box;
	imap_session_select(s, box);

	uint32_t count = store_mailbox_count(box);
	imap_session_untagged(s, "%u EXISTS", count);
	if (!s->rev2)
		imap_session_untagged(s, "%u RECENT", store_mailbox_recent_count(box));
	imap_flags_write_flags_responses(s);
	/* [UNSEEN] is a message number (RFC 9586 3) */
	if (!s->rev2 && !s->uidonly) {
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
	/* RFC 7162 3.1.2: after a CONDSTORE enabling command; every
	 * mailbox has modseqs, so never NOMODSEQ */
	if (s->condstore)
		imap_session_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest mailbox modseq.",
				      (unsigned long long)store_mailbox_highestmodseq(box));
	if (sel->with_list)
		imap_select_write_list(cmd, sel);
	if (sel->vanished_failed) {
		enum store_error err;
		log_error("%s: QRESYNC tombstones: %s", s->log_prefix,
			  store_last_error(s->store, &err));
	}
	if (sel->resync) {
		imap_select_resync_vanished(cmd, sel);
		sel->next_msn = 1;
		return imap_select_resync_fetch(cmd);
	}
	imap_select_free(sel);
	return imap_cmd_ok(cmd, "[%s] %s completed.",
			   store_mailbox_is_readonly(box) ? "READ-ONLY" : "READ-WRITE",
			   sel->readonly ? "EXAMINE" : "SELECT");
}

/* select-params = SP "(" select-param *(SP select-param) ")"
 * select-param =/ "CONDSTORE"                     (RFC 7162 3.1.8)
 *               / "QRESYNC" SP "(" ... ")"        (RFC 7162 3.2.5)
 * All are checked before the mailbox is opened (3.2.5: a BAD leaves it
 * unselected).  QRESYNC without ENABLE QRESYNC is BAD (3.2.3).  Each
 * parameter at most once.  0, or -1 with *error_r (static). */
static int imap_select_parse_params(struct imap_cmd *cmd, const struct imap_arg *arg,
				    struct imap_select *sel, const char **error_r)
{
	const struct imap_arg *list;
	bool condstore = false;
	if (!imap_arg_get_list(arg, &list, NULL) || imap_arg_is_eol(list)) {
		*error_r = "Invalid SELECT parameters.";
		return -1;
	}
	for (const struct imap_arg *p = list; !imap_arg_is_eol(p); p++) {
		if (imap_arg_atom_equals(p, "CONDSTORE") && !condstore) {
			condstore = true;
		} else if (imap_arg_atom_equals(p, "QRESYNC") && !sel->has_qresync) {
			if (!cmd->session->qresync) {
				*error_r = "QRESYNC needs ENABLE QRESYNC first.";
				return -1;
			}
			p++;
			if (imap_qresync_parse(p, &sel->qresync, error_r) < 0)
				return -1;
			/* RFC 9586 3.7: no message numbers */
			if (cmd->session->uidonly && !seqset_is_empty(&sel->qresync.match_msns)) {
				*error_r = "[UIDREQUIRED] No sequence match data once "
					"UIDONLY is enabled.";
				return -1;
			}
			sel->has_qresync = true;
		} else {
			*error_r = "Unknown or repeated SELECT parameter.";
			return -1;
		}
	}
	/* a CONDSTORE enabling command (RFC 7162 3.1); the HIGHESTMODSEQ
	 * it calls for is in SELECT's answer */
	if (condstore)
		cmd->session->condstore = true;
	return 0;
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
	struct imap_select *sel = p_malloc(cmd->pool, sizeof(*sel));
	cmd->ctx = sel;
	cmd->abort = imap_select_abort;
	if (!imap_arg_is_eol(&a[1])) {
		const char *error;
		if (imap_select_parse_params(cmd, &a[1], sel, &error) < 0 ||
		    !imap_arg_is_eol(&a[2])) {
			imap_select_free(sel);
			return imap_cmd_bad(cmd, "%s", imap_arg_is_eol(&a[2]) ? error :
					    "Unexpected arguments after the SELECT parameters.");
		}
	}
	/* RFC 9051 6.3.2: the selected mailbox is closed first, so a SELECT
	 * that fails (for any reason but its syntax) leaves none selected */
	if (s->box != NULL) {
		imap_session_unselect(s);
		imap_session_untagged(s, "OK [CLOSED] Previous mailbox is now closed.");
	}
	const char *arg = imap_mailbox_arg(&a[0]);
	const char *name = arg == NULL ? NULL : imap_mailbox_from_client(s, cmd->pool, arg);
	if (name == NULL) {
		imap_select_free(sel);
		return imap_cmd_no(cmd, "[CANNOT] Invalid mailbox name.");
	}

	sel->store = s->store;
	sel->name = name;
	sel->readonly = readonly;
	sel->with_list = s->rev2;
	return imap_cmd_store_request(cmd, imap_select_work, imap_select_done);
}

/* A read-only session (ANONYMOUS) opens every mailbox as EXAMINE does. */
bool cmd_select(struct imap_cmd *cmd)
{
	return imap_select(cmd, cmd->session->read_only);
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
