/* commands.c: the table of IMAP commands.
 *
 * One line per command: name, handler, the states it is allowed in and its
 * flags (session.h).  Pipelining and EXPUNGE timing decisions come from
 * these flags, never from special cases in the dispatcher. */
#include "commands.h"

#include <string.h>
#include <strings.h>

#define ANY IMAP_STATE_ANY
#define NAUTH IMAP_STATE_NOT_AUTH
#define AUTHED IMAP_STATE_AUTHED
#define SEL IMAP_STATE_SELECTED

static const struct imap_command_def imap_commands[] = {
	{ "APPEND", cmd_append, AUTHED, 0 },
	{ "AUTHENTICATE", cmd_authenticate, NAUTH, IMAP_CMD_FLAG_RAW_INPUT },
	{ "CAPABILITY", cmd_capability, ANY, 0 },
	{ "CHECK", cmd_check, SEL, 0 },
	{ "CLOSE", cmd_close, SEL, 0 },
	{ "COPY", cmd_copy, SEL, 0 },
	{ "CREATE", cmd_create, AUTHED, 0 },
	{ "DELETE", cmd_delete, AUTHED, 0 },
	{ "ENABLE", cmd_enable, AUTHED, 0 },
	{ "EXAMINE", cmd_examine, AUTHED, 0 },
	{ "EXPUNGE", cmd_expunge, SEL, 0 },
	{ "FETCH", cmd_fetch, SEL, IMAP_CMD_FLAG_NO_EXPUNGES },
	{ "ID", cmd_id, ANY, 0 },
	{ "IDLE", cmd_idle, AUTHED, IMAP_CMD_FLAG_RAW_INPUT },
	{ "LIST", cmd_list, AUTHED, 0 },
	{ "LOGIN", cmd_login, NAUTH, 0 },
	{ "LOGOUT", cmd_logout, ANY, 0 },
	{ "LSUB", cmd_lsub, AUTHED, 0 },
	{ "MOVE", cmd_move, SEL, 0 },
	{ "NAMESPACE", cmd_namespace, AUTHED, 0 },
	{ "NOOP", cmd_noop, ANY, 0 },
	{ "RENAME", cmd_rename, AUTHED, 0 },
	{ "SEARCH", cmd_search, SEL, IMAP_CMD_FLAG_NO_EXPUNGES },
	{ "SELECT", cmd_select, AUTHED, 0 },
	{ "SORT", cmd_sort, SEL, IMAP_CMD_FLAG_NO_EXPUNGES },
	{ "STARTTLS", cmd_starttls, NAUTH, 0 },
	{ "STATUS", cmd_status, AUTHED, 0 },
	{ "STORE", cmd_store, SEL, IMAP_CMD_FLAG_NO_EXPUNGES },
	{ "SUBSCRIBE", cmd_subscribe, AUTHED, 0 },
	{ "THREAD", cmd_thread, SEL, IMAP_CMD_FLAG_NO_EXPUNGES },
	{ "UNSELECT", cmd_unselect, SEL, 0 },
	{ "UNSUBSCRIBE", cmd_unsubscribe, AUTHED, 0 },
};

const struct imap_command_def *imap_command_find(const char *name)
{
	size_t lo = 0, hi = N_ELEMENTS(imap_commands);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int cmp = strcasecmp(name, imap_commands[mid].name);
		if (cmp == 0)
			return &imap_commands[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

bool imap_command_allows_uid(const struct imap_command_def *def)
{
	static const char *const uid_commands[] = {
		"COPY", "EXPUNGE", "FETCH", "MOVE", "SEARCH", "SORT", "STORE",
		"THREAD",
	};
	for (size_t i = 0; i < N_ELEMENTS(uid_commands); i++) {
		if (strcmp(def->name, uid_commands[i]) == 0)
			return true;
	}
	return false;
}
