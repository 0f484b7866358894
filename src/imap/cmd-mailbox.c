/* cmd-mailbox.c: the commands that manage mailboxes by name: CREATE,
 * DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE and STATUS (RFC 9051 6.3.4-6.3.8,
 * 6.3.11; STATUS=SIZE RFC 8438; APPENDLIMIT RFC 7889).
 *
 * Names come from the client through imap_mailbox_from_client() and go to
 * the store unchanged; the store decides what exists.  A name that cannot
 * be a mailbox is refused with NO [CANNOT], a malformed command with BAD.
 * Nothing here opens a mailbox.  STATUS runs its store call as a store
 * request (session.h); the others call the store directly. */
#include "commands.h"
#include "cmd-mailbox.h"
#include "notify.h"
#include "mailbox-name.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-quote.h"
#include "syntax/imap-arg.h"
#include "conf/conf.h"
#include "store/store.h"

#include <string.h>

/* The store name of the mailbox argument `arg`, or NULL after answering
 * (BAD for a missing/malformed argument, NO for an invalid name). */
static const char *cmd_mailbox_arg(struct imap_cmd *cmd, const struct imap_arg *arg,
				   const char **raw_r)
{
	const char *raw = imap_mailbox_arg(arg);
	if (raw == NULL) {
		imap_cmd_bad(cmd, "Missing or invalid mailbox name.");
		return NULL;
	}
	if (raw_r != NULL)
		*raw_r = raw;
	const char *name = imap_mailbox_from_client(cmd->session, cmd->pool, raw);
	if (name == NULL)
		imap_cmd_no(cmd, "[CANNOT] Invalid mailbox name.");
	return name;
}

/* RFC 9051 6.3.4/6.3.9.7: when the name the client sent is not the name
 * that was used, tell an IMAP4rev2 client with LIST ... OLDNAME. */
static void cmd_mailbox_write_oldname(struct imap_cmd *cmd, const char *name,
				      const char *raw)
{
	struct imap_session *s = cmd->session;
	if (!s->rev2)
		return;
	const char *client = imap_mailbox_to_client(s, cmd->pool, name);
	if (client == NULL || strcmp(client, raw) == 0)
		return;
	struct str line = STR_INIT;
	str_append(&line, "* LIST () \"/\" ");
	imap_mailbox_write(s, cmd->pool, &line, name);
	str_append(&line, " (\"OLDNAME\" (");
	imap_quote_astring_c(&line, raw, imap_mailbox_is_utf8(s) ? IMAP_QUOTE_FLAG_UTF8 : 0);
	str_append(&line, "))");
	imap_session_write_line(s, &line);
	str_free(&line);
}

/* create = "CREATE" SP mailbox
 * A trailing hierarchy separator declares that names will be created
 * under this one (RFC 9051 6.3.4); Roost needs no such declaration, so it
 * is ignored.  Missing superior levels are created by the store. */
bool cmd_create(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	const char *raw = imap_mailbox_arg(&cmd->args[0]);
	if (raw == NULL)
		return imap_cmd_bad(cmd, "Missing or invalid mailbox name.");
	if (!imap_arg_is_eol(&cmd->args[1]))
		return imap_cmd_bad(cmd, "CREATE takes one argument.");
	size_t len = strlen(raw);
	const char *stripped = raw;
	if (len > 1 && raw[len - 1] == IMAP_MAILBOX_SEPARATOR)
		stripped = p_strndup(cmd->pool, raw, len - 1);
	const char *name = imap_mailbox_from_client(s, cmd->pool, stripped);
	if (name == NULL)
		return imap_cmd_no(cmd, "[CANNOT] Invalid mailbox name.");
	if (strcmp(name, "INBOX") == 0)
		return imap_cmd_no(cmd, "[ALREADYEXISTS] INBOX always exists.");
	if (store_mailbox_create(s->store, name, 0) < 0)
		return imap_cmd_store_error(cmd, false);
	cmd_mailbox_write_oldname(cmd, name, stripped);
	imap_notify_own_change(cmd->session);
	/* RFC 8474 4.1: "MUST include the MAILBOXID response code in the
	 * tagged OK response to all successful CREATE commands" */
	struct store_status st;
	if (store_mailbox_status(s->store, name, &st) < 0)
		return imap_cmd_store_error(cmd, false);
	return imap_cmd_ok(cmd, "[MAILBOXID (%s)] Create completed.", st.mailboxid);
}

/* delete = "DELETE" SP mailbox
 * The store keeps a mailbox with children as a \Noselect parent and
 * refuses INBOX and a \Noselect name with children.  Deleting the selected
 * mailbox is allowed: the session then leaves the selected state, which
 * the untagged OK [CLOSED] marks. */
bool cmd_delete(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	if (imap_mailbox_arg(&cmd->args[0]) != NULL && !imap_arg_is_eol(&cmd->args[1]))
		return imap_cmd_bad(cmd, "DELETE takes one argument.");
	const char *name = cmd_mailbox_arg(cmd, &cmd->args[0], NULL);
	if (name == NULL)
		return true;
	if (strcmp(name, "INBOX") == 0)
		return imap_cmd_no(cmd, "[CANNOT] INBOX cannot be deleted.");
	bool selected = s->box != NULL && strcmp(store_mailbox_name(s->box), name) == 0;
	if (store_mailbox_delete(s->store, name) < 0) {
		enum store_error err;
		const char *text = store_last_error(s->store, &err);
		/* RFC 9051 7.1: the children are what prevents it */
		if (err == STORE_ERR_INUSE)
			return imap_cmd_no(cmd, "[HASCHILDREN] %s", text);
		return imap_cmd_store_error(cmd, false);
	}
	if (selected) {
		imap_session_unselect(s);
		imap_session_untagged(s, "OK [CLOSED] Selected mailbox was deleted.");
	}
	imap_notify_own_change(cmd->session);
	return imap_cmd_ok(cmd, "Delete completed.");
}

/* rename = "RENAME" SP mailbox SP mailbox
 * Children follow the name; RENAME INBOX moves INBOX's messages into the
 * new mailbox and leaves its children where they are (RFC 9051 6.3.6). */
bool cmd_rename(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	if (imap_mailbox_arg(&cmd->args[0]) == NULL ||
	    imap_mailbox_arg(&cmd->args[1]) == NULL)
		return imap_cmd_bad(cmd, "RENAME needs two mailbox names.");
	if (!imap_arg_is_eol(&cmd->args[2]))
		return imap_cmd_bad(cmd, "RENAME takes two arguments.");
	const char *from = cmd_mailbox_arg(cmd, &cmd->args[0], NULL);
	if (from == NULL)
		return true;
	const char *raw_to;
	const char *to = cmd_mailbox_arg(cmd, &cmd->args[1], &raw_to);
	if (to == NULL)
		return true;
	if (strcmp(to, "INBOX") == 0)
		return imap_cmd_no(cmd, "[ALREADYEXISTS] INBOX always exists.");
	size_t flen = strlen(from);
	if (strcmp(from, "INBOX") != 0 && strncmp(to, from, flen) == 0 &&
	    to[flen] == IMAP_MAILBOX_SEPARATOR)
		return imap_cmd_no(cmd, "[CANNOT] Cannot rename a mailbox under itself.");
	if (store_mailbox_rename(s->store, from, to) < 0)
		return imap_cmd_store_error(cmd, false);
	cmd_mailbox_write_oldname(cmd, to, raw_to);
	imap_notify_own_change(cmd->session);
	return imap_cmd_ok(cmd, "Rename completed.");
}

static bool cmd_subscribe_common(struct imap_cmd *cmd, bool subscribe)
{
	struct imap_session *s = cmd->session;
	if (imap_mailbox_arg(&cmd->args[0]) != NULL && !imap_arg_is_eol(&cmd->args[1]))
		return imap_cmd_bad(cmd, "%s takes one argument.",
				    subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE");
	const char *name = cmd_mailbox_arg(cmd, &cmd->args[0], NULL);
	if (name == NULL)
		return true;
	if (store_mailbox_subscribe(s->store, name, subscribe) < 0) {
		enum store_error err;
		(void)store_last_error(s->store, &err);
		/* RFC 9051 6.3.8: unsubscribing a name that is not
		 * subscribed succeeds */
		if (subscribe || err != STORE_ERR_NOTFOUND)
			return imap_cmd_store_error(cmd, false);
	}
	imap_notify_own_change(cmd->session);
	return imap_cmd_ok(cmd, subscribe ? "Subscribe completed." :
			   "Unsubscribe completed.");
}

/* subscribe = "SUBSCRIBE" SP mailbox */
bool cmd_subscribe(struct imap_cmd *cmd)
{
	return cmd_subscribe_common(cmd, true);
}

/* unsubscribe = "UNSUBSCRIBE" SP mailbox */
bool cmd_unsubscribe(struct imap_cmd *cmd)
{
	return cmd_subscribe_common(cmd, false);
}

/* ---- STATUS ---- */

static const char *const status_item_names[CMD_STATUS_ITEM_COUNT] = {
	[CMD_STATUS_MESSAGES] = "MESSAGES",
	[CMD_STATUS_UIDNEXT] = "UIDNEXT",
	[CMD_STATUS_UIDVALIDITY] = "UIDVALIDITY",
	[CMD_STATUS_UNSEEN] = "UNSEEN",
	[CMD_STATUS_DELETED] = "DELETED",
	[CMD_STATUS_SIZE] = "SIZE",
	[CMD_STATUS_RECENT] = "RECENT",
	[CMD_STATUS_APPENDLIMIT] = "APPENDLIMIT",
	[CMD_STATUS_HIGHESTMODSEQ] = "HIGHESTMODSEQ",
	[CMD_STATUS_MAILBOXID] = "MAILBOXID",
};

/* status-att = "MESSAGES" / "UIDNEXT" / "UIDVALIDITY" / "UNSEEN" /
 *              "DELETED" / "SIZE"           (RFC 9051, RFC 8438)
 *            / "RECENT"                     (RFC 3501)
 *            / "APPENDLIMIT"                (RFC 7889)
 *            / "HIGHESTMODSEQ"              (RFC 7162)
 *            / "MAILBOXID"                  (RFC 8474)
 * status-att-list = status-att *(SP status-att) */
int cmd_mailbox_status_items_parse(const struct imap_arg *atts,
				   struct cmd_mailbox_status_items *items_r,
				   const char **error_r)
{
	bool seen[CMD_STATUS_ITEM_COUNT] = { false };
	memset(items_r, 0, sizeof(*items_r));
	if (imap_arg_is_eol(atts)) {
		*error_r = "STATUS items must be a non-empty list.";
		return -1;
	}
	for (const struct imap_arg *a = atts; !imap_arg_is_eol(a); a++) {
		const char *att;
		if (!imap_arg_get_atom(a, &att)) {
			*error_r = "Invalid STATUS item.";
			return -1;
		}
		unsigned int i;
		for (i = 0; i < CMD_STATUS_ITEM_COUNT; i++) {
			if (str_eq_icase(att, status_item_names[i]))
				break;
		}
		if (i == CMD_STATUS_ITEM_COUNT) {
			*error_r = "Unknown STATUS item.";
			return -1;
		}
		if (!seen[i]) {
			seen[i] = true;
			items_r->order[items_r->count++] = (uint8_t)i;
		}
	}
	return 0;
}

bool cmd_mailbox_status_items_has(const struct cmd_mailbox_status_items *items,
				  enum cmd_mailbox_status_item item)
{
	for (unsigned int i = 0; i < items->count; i++) {
		if (items->order[i] == item)
			return true;
	}
	return false;
}

void cmd_mailbox_status_write(struct imap_session *s, struct pool *pool,
			      const char *name,
			      const struct cmd_mailbox_status_items *items,
			      const struct store_status *st)
{
	struct str line = STR_INIT;
	str_append(&line, "* STATUS ");
	imap_mailbox_write(s, pool, &line, name);
	str_append(&line, " (");
	for (unsigned int i = 0; i < items->count; i++) {
		unsigned int item = items->order[i];
		unsigned long long value = 0;
		switch ((enum cmd_mailbox_status_item)item) {
		case CMD_STATUS_MESSAGES: value = st->messages; break;
		case CMD_STATUS_UIDNEXT: value = st->uidnext; break;
		case CMD_STATUS_UIDVALIDITY: value = st->uidvalidity; break;
		case CMD_STATUS_UNSEEN: value = st->unseen; break;
		case CMD_STATUS_DELETED: value = st->deleted; break;
		case CMD_STATUS_SIZE: value = st->size; break;
		case CMD_STATUS_RECENT: value = st->recent; break;
		case CMD_STATUS_APPENDLIMIT: value = s->config->max_append_size; break;
		case CMD_STATUS_HIGHESTMODSEQ: value = st->highestmodseq; break;
		case CMD_STATUS_MAILBOXID:
			/* status-att-val =/ "MAILBOXID" SP "(" objectid ")" */
			str_printfa(&line, "%sMAILBOXID (%s)", i == 0 ? "" : " ",
				    st->mailboxid);
			continue;
		case CMD_STATUS_ITEM_COUNT: break;
		}
		str_printfa(&line, "%s%s %llu", i == 0 ? "" : " ",
			    status_item_names[item], value);
	}
	str_append_c(&line, ')');
	imap_session_write_line(s, &line);
	str_free(&line);
}

/* STATUS's store half, a store request (session.h). */
struct cmd_status {
	struct store *store;
	const char *name;	/* store form, in the command's pool */
	struct cmd_mailbox_status_items items;
	struct store_status status;
	int ret;
};

static void cmd_status_work(void *ctx)
{
	struct cmd_status *st = ctx;
	st->ret = store_mailbox_status(st->store, st->name, &st->status);
}

static bool cmd_status_done(struct imap_cmd *cmd)
{
	struct cmd_status *st = cmd->ctx;
	if (st->ret < 0)
		return imap_cmd_store_error(cmd, false);
	cmd_mailbox_status_write(cmd->session, cmd->pool, st->name, &st->items, &st->status);
	return imap_cmd_ok(cmd, "Status completed.");
}

/* status = "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
 * The selected mailbox may be asked about too (RFC 9051 6.3.11 advises
 * clients against it but does not forbid it). */
bool cmd_status(struct imap_cmd *cmd)
{
	const struct imap_arg *items_list;
	if (imap_mailbox_arg(&cmd->args[0]) == NULL ||
	    !imap_arg_get_list(&cmd->args[1], &items_list, NULL) ||
	    !imap_arg_is_eol(&cmd->args[2]))
		return imap_cmd_bad(cmd, "STATUS needs a mailbox name and a list of items.");
	struct cmd_status *st = p_malloc(cmd->pool, sizeof(*st));
	const char *error;
	if (cmd_mailbox_status_items_parse(items_list, &st->items, &error) < 0)
		return imap_cmd_bad(cmd, "%s", error);
	st->name = cmd_mailbox_arg(cmd, &cmd->args[0], NULL);
	if (st->name == NULL)
		return true;
	/* a CONDSTORE enabling command (RFC 7162 3.1) */
	if (cmd_mailbox_status_items_has(&st->items, CMD_STATUS_HIGHESTMODSEQ))
		imap_session_enable_condstore(cmd->session);
	st->store = cmd->session->store;
	cmd->ctx = st;
	return imap_cmd_store_request(cmd, cmd_status_work, cmd_status_done);
}
