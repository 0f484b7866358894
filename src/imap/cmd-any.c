/* cmd-any.c: commands valid in any state or with no mailbox work:
 * CAPABILITY, NOOP, LOGOUT, ID (RFC 2971), ENABLE (RFC 5161 / 9051),
 * NAMESPACE (RFC 2342 / 9051). */
#include "commands.h"
#include "syntax/imap-parser.h"
#include "capability.h"
#include "syntax/imap-arg.h"
#include "base/log.h"
#include "net/net.h"

#include <string.h>

bool cmd_capability(struct imap_cmd *cmd)
{
	if (!imap_arg_is_eol(&cmd->args[0]))
		return imap_cmd_bad(cmd, "CAPABILITY takes no arguments.");
	struct str line = STR_INIT;
	str_append(&line, "* CAPABILITY ");
	imap_capability_write(cmd->session, &line);
	imap_session_write_line(cmd->session, &line);
	str_free(&line);
	return imap_cmd_ok(cmd, "Capability completed.");
}

bool cmd_noop(struct imap_cmd *cmd)
{
	if (!imap_arg_is_eol(&cmd->args[0]))
		return imap_cmd_bad(cmd, "NOOP takes no arguments.");
	return imap_cmd_ok(cmd, "NOOP completed.");
}

bool cmd_logout(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	if (!imap_arg_is_eol(&cmd->args[0]))
		return imap_cmd_bad(cmd, "LOGOUT takes no arguments.");
	imap_session_untagged(s, "BYE Logging out");
	/* no mailbox updates after BYE */
	imap_session_unselect(s);
	imap_cmd_ok(cmd, "Logout completed.");
	s->logout_sent = true;
	s->state = IMAP_STATE_LOGOUT;
	net_conn_close(s->conn);
	return true;
}

/* id = "ID" SP id-params-list
 * id-params-list = "(" *(string SP nstring) ")" / nil  (RFC 2971)
 * Field names are at most 30 octets, values 1024, at most 30 pairs. */
bool cmd_id(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	const struct imap_arg *arg = &cmd->args[0], *params;
	unsigned int count;
	struct str logline = STR_INIT;
	if (imap_arg_get_list(arg, &params, &count)) {
		if (count % 2 != 0 || count > 60) {
			str_free(&logline);
			return imap_cmd_bad(cmd, "Invalid ID parameters.");
		}
		for (unsigned int i = 0; i < count; i += 2) {
			const char *key, *value;
			if (!imap_arg_get_string(&params[i], &key, NULL) || strlen(key) > 30 ||
			    !imap_arg_get_nstring(&params[i + 1], &value) ||
			    (value != NULL && strlen(value) > 1024)) {
				str_free(&logline);
				return imap_cmd_bad(cmd, "Invalid ID parameters.");
			}
			str_printfa(&logline, "%s%s=%.80s", i == 0 ? "" : " ", key,
				    value == NULL ? "NIL" : value);
		}
	} else if (!imap_arg_is_nil(arg)) {
		str_free(&logline);
		return imap_cmd_bad(cmd, "ID expects a parameter list or NIL.");
	}
	if (!imap_arg_is_eol(&cmd->args[1])) {
		str_free(&logline);
		return imap_cmd_bad(cmd, "ID takes one argument.");
	}
	if (logline.len > 0)
		log_info("%s: ID %s", s->log_prefix, str_c(&logline));
	str_free(&logline);
	imap_session_untagged(s, "ID (\"name\" \"Roost\" \"vendor\" \"Roost\" \"version\" \"0.1.0\")");
	return imap_cmd_ok(cmd, "ID completed.");
}

/* enable = "ENABLE" 1*(SP capability)
 * Capabilities the server does not know or that cannot be enabled are
 * ignored (RFC 5161 section 3). */
bool cmd_enable(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	if (imap_arg_is_eol(&cmd->args[0]))
		return imap_cmd_bad(cmd, "ENABLE needs at least one capability.");
	struct str line = STR_INIT;
	bool condstore_before = s->condstore;
	str_append(&line, "* ENABLED");
	for (const struct imap_arg *a = cmd->args; !imap_arg_is_eol(a); a++) {
		const char *name;
		if (!imap_arg_get_atom(a, &name)) {
			str_free(&line);
			return imap_cmd_bad(cmd, "Capabilities are atoms.");
		}
		const char *enabled = imap_capability_enable(s, name);
		if (enabled != NULL)
			str_printfa(&line, " %s", enabled);
	}
	imap_session_write_line(s, &line);
	str_free(&line);
	/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE; the first CONDSTORE
	 * enabling command sends HIGHESTMODSEQ of the selected mailbox */
	if (s->qresync)
		s->condstore = true;
	if (!condstore_before && s->condstore) {
		s->condstore = false;
		imap_session_enable_condstore(s);
	}
	return imap_cmd_ok(cmd, "Enabled.");
}

bool cmd_namespace(struct imap_cmd *cmd)
{
	if (!imap_arg_is_eol(&cmd->args[0]))
		return imap_cmd_bad(cmd, "NAMESPACE takes no arguments.");
	imap_session_untagged(cmd->session, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	return imap_cmd_ok(cmd, "Namespace completed.");
}
