/* commands.c: the table of IMAP commands.
 *
 * One line per command: name, handler, the states it is allowed in, its
 * flags (session.h) and the capability that advertises it.  Pipelining,
 * EXPUNGE timing and the UID forms come from these flags, and the
 * CAPABILITY list from the capability column (capability.c), never from
 * special cases elsewhere. */
#include "commands.h"

#include <stdlib.h>
#include <strings.h>

#define ANY IMAP_STATE_ANY
#define NAUTH IMAP_STATE_NOT_AUTH
#define AUTHED IMAP_STATE_AUTHED
#define SEL IMAP_STATE_SELECTED
#define NOEXP IMAP_CMD_FLAG_NO_EXPUNGES
#define RAW IMAP_CMD_FLAG_RAW_INPUT
#define UIDFORM IMAP_CMD_FLAG_UID
#define MSNS IMAP_CMD_FLAG_MSNS
#define WRITES IMAP_CMD_FLAG_WRITES

/* Sorted by name (bsearch). */
static const struct imap_command_def imap_commands[] = {
	{ "APPEND", cmd_append, AUTHED, WRITES, NULL, 0 },
	{ "AUTHENTICATE", cmd_authenticate, NAUTH, RAW, NULL, 0 },
	/* ends UPDATE contexts of SEARCH and SORT (RFC 5267 4.3.5,
	 * search-update.h) */
	{ "CANCELUPDATE", cmd_cancelupdate, SEL, 0, "CONTEXT=SEARCH", IMAP_CAP_ALWAYS },
	{ "CAPABILITY", cmd_capability, ANY, 0, NULL, 0 },
	{ "CHECK", cmd_check, SEL, 0, NULL, 0 },
	{ "CLOSE", cmd_close, SEL, 0, NULL, 0 },
	{ "COPY", cmd_copy, SEL, UIDFORM | MSNS | WRITES, NULL, 0 },
	{ "CREATE", cmd_create, AUTHED, WRITES, NULL, 0 },
	{ "DELETE", cmd_delete, AUTHED, WRITES, NULL, 0 },
	{ "ENABLE", cmd_enable, AUTHED, 0, "ENABLE", IMAP_CAP_ALWAYS },
	{ "EXAMINE", cmd_examine, AUTHED, 0, NULL, 0 },
	/* UID EXPUNGE is UIDPLUS (capability.c) */
	{ "EXPUNGE", cmd_expunge, SEL, UIDFORM | WRITES, NULL, 0 },
	{ "FETCH", cmd_fetch, SEL, NOEXP | UIDFORM | MSNS, NULL, 0 },
	{ "ID", cmd_id, ANY, 0, "ID", IMAP_CAP_ALWAYS },
	{ "IDLE", cmd_idle, AUTHED, RAW, "IDLE", IMAP_CAP_ALWAYS },
	{ "LIST", cmd_list, AUTHED, 0, NULL, 0 },
	{ "LOGIN", cmd_login, NAUTH, 0, NULL, 0 },
	{ "LOGOUT", cmd_logout, ANY, 0, NULL, 0 },
	{ "LSUB", cmd_lsub, AUTHED, 0, NULL, 0 },
	{ "MOVE", cmd_move, SEL, UIDFORM | MSNS | WRITES, "MOVE", IMAP_CAP_ALWAYS },
	{ "NAMESPACE", cmd_namespace, AUTHED, 0, "NAMESPACE", IMAP_CAP_ALWAYS },
	{ "NOOP", cmd_noop, ANY, 0, NULL, 0 },
	{ "NOTIFY", cmd_notify, AUTHED, 0, "NOTIFY", IMAP_CAP_ALWAYS },
	{ "RENAME", cmd_rename, AUTHED, WRITES, NULL, 0 },
	{ "SEARCH", cmd_search, SEL, NOEXP | UIDFORM | MSNS, NULL, 0 },
	{ "SELECT", cmd_select, AUTHED, 0, NULL, 0 },
	{ "SORT", cmd_sort, SEL, NOEXP | UIDFORM | MSNS, "SORT", IMAP_CAP_ALWAYS },
	{ "STARTTLS", cmd_starttls, NAUTH, 0, "STARTTLS", IMAP_CAP_TLS_OFFERED },
	{ "STATUS", cmd_status, AUTHED, 0, NULL, 0 },
	{ "STORE", cmd_store, SEL, NOEXP | UIDFORM | MSNS | WRITES, NULL, 0 },
	{ "SUBSCRIBE", cmd_subscribe, AUTHED, WRITES, NULL, 0 },
	{ "THREAD", cmd_thread, SEL, NOEXP | UIDFORM | MSNS,
	  "THREAD=ORDEREDSUBJECT THREAD=REFERENCES", IMAP_CAP_ALWAYS },
	{ "UNSELECT", cmd_unselect, SEL, 0, "UNSELECT", IMAP_CAP_ALWAYS },
	{ "UNSUBSCRIBE", cmd_unsubscribe, AUTHED, WRITES, NULL, 0 },
};

static int imap_command_cmp(const void *name, const void *def)
{
	return strcasecmp(name, ((const struct imap_command_def *)def)->name);
}

const struct imap_command_def *imap_command_find(const char *name)
{
	return bsearch(name, imap_commands, N_ELEMENTS(imap_commands),
		       sizeof(imap_commands[0]), imap_command_cmp);
}

const struct imap_command_def *imap_command_table(size_t *count_r)
{
	*count_r = N_ELEMENTS(imap_commands);
	return imap_commands;
}
