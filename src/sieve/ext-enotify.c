/* ext-enotify.c: the "enotify" extension (RFC 5435) with its one method,
 * mailto (RFC 5436, mailto.c): the notify action, the valid_notify_method
 * and notify_method_capability tests (set :encodeurl is in
 * ext-variables.c).  The notification itself is sent by the caller from
 * the SIEVE_ACT_NOTIFY action (send.c, through sieve_mailto_parse(),
 * sieve_mailto_notify_fill() and submit_notify_compose()). */
#include "sieve-private.h"
#include "mime/address.h"
#include "sieve/mailto.h"

#include <string.h>

static bool is_constant(const struct sieve_script *script, const char *s)
{
	return !script->uses_variables || strstr(s, "${") == NULL;
}

/* RFC 5435 3.3: :from must be an address the method accepts: for mailto
 * one RFC 5322 mailbox. */
static bool is_valid_from(const char *from)
{
	for (const unsigned char *p = (const unsigned char *)from; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return false;	/* no header injection through :from */
	}
	struct pool *pool = pool_create(0);
	const struct mime_address *a = mime_address_parse(pool, from);
	bool ok = a != NULL && a->next == NULL && !a->is_group_start && !a->is_invalid &&
		a->mailbox != NULL && *a->mailbox != '\0' && a->domain != NULL &&
		*a->domain != '\0';

	pool_destroy(&pool);
	return ok;
}

static bool is_valid_importance(const char *s)
{
	return (s[0] == '1' || s[0] == '2' || s[0] == '3') && s[1] == '\0';
}

/* notify [":from" string] [":importance" <"1" / "2" / "3">]
 *        [":options" string-list] [":message" string] <method: string> */
static int validate_notify(struct sieve_node *node, struct sieve_script *script,
			   struct str *error_r)
{
	const char *method = node->pos[0]->strs[0];
	const struct sieve_tagval *from = sieve_node_tag(node, "from");
	const struct sieve_tagval *imp = sieve_node_tag(node, "importance");

	if (is_constant(script, method) && !sieve_mailto_is_valid(method)) {
		str_printfa(error_r, "notify: invalid or unsupported notification method '%s'",
			    method);
		return -1;
	}
	if (from != NULL && is_constant(script, from->param->strs[0]) &&
	    !is_valid_from(from->param->strs[0])) {
		str_printfa(error_r, "notify: invalid :from address '%s'", from->param->strs[0]);
		return -1;
	}
	if (imp != NULL && is_constant(script, imp->param->strs[0]) &&
	    !is_valid_importance(imp->param->strs[0])) {
		str_append(error_r, "notify: :importance must be \"1\", \"2\" or \"3\"");
		return -1;
	}
	return 0;
}

/* RFC 5436 2.7: "SHOULD NOT trigger notifications for messages
 * containing "Auto-Submitted:" header fields with any value other than
 * "No"" */
static bool is_auto_submitted(struct sieve_interp *interp)
{
	const char **values;
	size_t n = sieve_interp_header(interp, "auto-submitted", &values);

	for (size_t i = 0; i < n; i++) {
		size_t len = strcspn(values[i], " \t;(");

		if (len != 2 || strncasecmp(values[i], "no", 2) != 0)
			return true;
	}
	return false;
}

static int exec_notify(struct sieve_interp *interp, const struct sieve_node *node)
{
	const struct sieve_tagval *from = sieve_node_tag(node, "from");
	const struct sieve_tagval *imp = sieve_node_tag(node, "importance");
	const struct sieve_tagval *message = sieve_node_tag(node, "message");
	struct sieve_action act = { .kind = SIEVE_ACT_NOTIFY };
	struct sieve_mailto mailto;
	const char *error;

	act.method = sieve_interp_str(interp, node->pos[0]->strs[0]);
	if (sieve_mailto_parse(interp->pool, act.method, &mailto, &error) < 0)
		return sieve_interp_fail(interp, "notify: %s", error);
	act.from = from != NULL ? sieve_interp_str(interp, from->param->strs[0]) : NULL;
	if (act.from != NULL && !is_valid_from(act.from))
		return sieve_interp_fail(interp, "notify: invalid :from address '%s'", act.from);
	act.importance = imp != NULL ? sieve_interp_str(interp, imp->param->strs[0]) : "2";
	if (!is_valid_importance(act.importance))
		return sieve_interp_fail(interp, "notify: :importance must be \"1\", \"2\" or \"3\"");
	act.message = message != NULL ? sieve_interp_str(interp, message->param->strs[0]) : NULL;
	/* a URI without recipients is valid, and notifies nobody */
	if (mailto.recipient_count == 0 || is_auto_submitted(interp))
		return 0;
	/* RFC 5436 2.7: no duplicate notifications from one invocation */
	for (size_t i = 0; i < interp->action_count; i++) {
		const struct sieve_action *a = &interp->actions[i];

		if (a->kind == SIEVE_ACT_NOTIFY && strcmp(a->method, act.method) == 0)
			return 0;
	}
	/* RFC 5435 7: notify does not cancel implicit keep */
	return sieve_interp_add_action(interp, &act, false) < 0 ? -1 : 0;
}

/* valid_notify_method <notification-uris: string-list> */
static int exec_valid_notify_method(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char **uris = sieve_interp_strlist(interp, node->pos[0]);

	for (size_t i = 0; i < node->pos[0]->count; i++) {
		if (!sieve_mailto_is_valid(uris[i]))
			return 0;
	}
	return 1;
}

/* notify_method_capability [COMPARATOR] [MATCH-TYPE] <notification-uri: string>
 *     <notification-capability: string> <key-list: string-list> */
static int exec_notify_method_capability(struct sieve_interp *interp,
					 const struct sieve_node *node)
{
	const char *uri = sieve_interp_str(interp, node->pos[0]->strs[0]);
	const char *cap = sieve_interp_str(interp, node->pos[1]->strs[0]);
	const char *value = sieve_mailto_capability(uri, cap);

	/* RFC 5435 5: an invalid URI or an unknown capability fails the
	 * test, without an error */
	if (value == NULL)
		return 0;
	return sieve_interp_match(interp, node, &value, NULL, 1, node->pos[2]);
}

static const struct sieve_tag_def notify_tags[] = {
	{ .name = "from", .param = SIEVE_P_STRING },
	{ .name = "importance", .param = SIEVE_P_STRING },
	{ .name = "options", .param = SIEVE_P_STRLIST },
	{ .name = "message", .param = SIEVE_P_STRING },
	{ .name = NULL },
};

static const struct sieve_cmd_def enotify_cmds[] = {
	{ "notify", "enotify", 0, "s", notify_tags, validate_notify, exec_notify },
	{ "valid_notify_method", "enotify", SIEVE_CMD_TEST, "l", NULL, NULL,
	  exec_valid_notify_method },
	{ "notify_method_capability", "enotify", SIEVE_CMD_TEST | SIEVE_CMD_MATCH, "ssl", NULL,
	  NULL, exec_notify_method_capability },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_enotify = {
	"enotify", enotify_cmds, NULL, true,
};
