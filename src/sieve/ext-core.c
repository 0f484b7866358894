/* ext-core.c: the commands and tests of RFC 5228 itself, and the small
 * extensions that only add a command, a test or a tag to them: fileinto
 * (4.1), envelope (5.4), encoded-character (2.4.2.4), the comparators
 * (RFC 4790), reject and ereject (RFC 5429), copy (RFC 3894),
 * subaddress (RFC 5233) and relational (RFC 5231). */
#include "sieve-private.h"
#include "mime/address.h"

#include <stdlib.h>
#include <string.h>

/* ---- address parts ---- */

static const char *subaddress_delimiter(const struct sieve_interp *interp)
{
	const char *d = interp->env != NULL ? interp->env->subaddress_delimiter : NULL;

	return d != NULL && *d != '\0' ? d : "+";
}

/* The part of local@domain that `addrpart` selects, in pool memory, or
 * NULL when it has none (RFC 5233 4: :detail of an address without a
 * separator). */
static const char *address_part(struct sieve_interp *interp, int addrpart,
				const char *local, const char *domain)
{
	switch (addrpart) {
	case SIEVE_ADDR_LOCALPART:
		return local;
	case SIEVE_ADDR_DOMAIN:
		return domain;
	case SIEVE_ADDR_USER:
	case SIEVE_ADDR_DETAIL: {
		const char *delims = subaddress_delimiter(interp);
		size_t n = strcspn(local, delims);
		if (addrpart == SIEVE_ADDR_USER)
			return p_strndup(interp->pool, local, n);
		return local[n] == '\0' ? NULL : local + n + 1;
	}
	default:
		if (*domain == '\0')
			return local;
		return p_strdup_printf(interp->pool, "%s@%s", local, domain);
	}
}

/* ---- definitions of the shared tags ---- */

static const struct sieve_tag_def core_shared_tags[] = {
	{ .name = "is", .param = SIEVE_P_NONE, .group = SIEVE_TG_MATCH, .value = SIEVE_MATCH_IS },
	{ .name = "contains", .param = SIEVE_P_NONE, .group = SIEVE_TG_MATCH, .value = SIEVE_MATCH_CONTAINS },
	{ .name = "matches", .param = SIEVE_P_NONE, .group = SIEVE_TG_MATCH, .value = SIEVE_MATCH_MATCHES },
	{ .name = "comparator", .param = SIEVE_P_STRING, .group = SIEVE_TG_COMPARATOR },
	{ .name = "all", .param = SIEVE_P_NONE, .group = SIEVE_TG_ADDRPART, .value = SIEVE_ADDR_ALL },
	{ .name = "localpart", .param = SIEVE_P_NONE, .group = SIEVE_TG_ADDRPART, .value = SIEVE_ADDR_LOCALPART },
	{ .name = "domain", .param = SIEVE_P_NONE, .group = SIEVE_TG_ADDRPART, .value = SIEVE_ADDR_DOMAIN },
	{ .name = NULL },
};

static const struct sieve_tag_def subaddress_tags[] = {
	{ .name = "user", .param = SIEVE_P_NONE, .group = SIEVE_TG_ADDRPART, .value = SIEVE_ADDR_USER },
	{ .name = "detail", .param = SIEVE_P_NONE, .group = SIEVE_TG_ADDRPART, .value = SIEVE_ADDR_DETAIL },
	{ .name = NULL },
};

static const struct sieve_tag_def relational_tags[] = {
	{ .name = "count", .param = SIEVE_P_STRING, .group = SIEVE_TG_MATCH, .value = SIEVE_MATCH_COUNT },
	{ .name = "value", .param = SIEVE_P_STRING, .group = SIEVE_TG_MATCH, .value = SIEVE_MATCH_VALUE },
	{ .name = NULL },
};

/* ---- commands ---- */

static int exec_stop(struct sieve_interp *interp, const struct sieve_node *node)
{
	(void)interp;
	(void)node;
	return 1;
}

/* :flags of keep/fileinto (RFC 5232 5), else the internal variable */
static void store_flags(struct sieve_interp *interp, const struct sieve_node *node,
			struct sieve_action *act)
{
	const struct sieve_tagval *tv = sieve_node_tag(node, "flags");
	const char **flags = NULL;
	size_t count = 0;

	if (tv != NULL) {
		const char **strs = sieve_interp_strlist(interp, tv->param);
		sieve_flags_apply(interp->pool, &flags, &count, strs, tv->param->count, 's');
	} else if (sieve_script_requires(interp->script, "imap4flags")) {
		flags = interp->flags;
		count = interp->flag_count;
	}
	act->flags = flags;
	act->flag_count = count;
}

static int exec_keep(struct sieve_interp *interp, const struct sieve_node *node)
{
	struct sieve_action act = { .kind = SIEVE_ACT_KEEP, .mailbox = "INBOX" };

	store_flags(interp, node, &act);
	return sieve_interp_add_action(interp, &act, true) < 0 ? -1 : 0;
}

static int exec_discard(struct sieve_interp *interp, const struct sieve_node *node)
{
	struct sieve_action act = { .kind = SIEVE_ACT_DISCARD };

	(void)node;
	return sieve_interp_add_action(interp, &act, true) < 0 ? -1 : 0;
}

static int exec_fileinto(struct sieve_interp *interp, const struct sieve_node *node)
{
	struct sieve_action act = { .kind = SIEVE_ACT_FILEINTO };

	act.mailbox = sieve_interp_str(interp, node->pos[0]->strs[0]);
	act.create = sieve_node_tag(node, "create") != NULL;
	const struct sieve_tagval *tv = sieve_node_tag(node, "mailboxid");
	if (tv != NULL)
		act.mailbox_id = sieve_interp_str(interp, tv->param->strs[0]);
	tv = sieve_node_tag(node, "specialuse");
	if (tv != NULL)
		act.special_use = sieve_interp_str(interp, tv->param->strs[0]);
	store_flags(interp, node, &act);
	if (*act.mailbox == '\0')
		return sieve_interp_fail(interp, "fileinto: the mailbox name is empty");
	bool copy = sieve_node_tag(node, "copy") != NULL;
	return sieve_interp_add_action(interp, &act, !copy) < 0 ? -1 : 0;
}

/* RFC 5228 4.2: the address must be a valid RFC 5322 address (a single
 * addr-spec, no group).  Returns the normalised "local@domain" or NULL. */
static const char *redirect_address(struct pool *pool, const char *s)
{
	struct pool *tmp = pool_create(0);
	struct mime_address *list = mime_address_parse(tmp, s);
	const char *ret = NULL;

	if (list != NULL && list->next == NULL && !list->is_group_start &&
	    !list->is_invalid && list->mailbox != NULL && list->domain != NULL &&
	    *list->mailbox != '\0' && *list->domain != '\0')
		ret = p_strdup_printf(pool, "%s@%s", list->mailbox, list->domain);
	pool_destroy(&tmp);
	return ret;
}

static int validate_redirect(struct sieve_node *node, struct sieve_script *script,
			     struct str *error_r)
{
	const char *s = node->pos[0]->strs[0];

	if (script->uses_variables && strstr(s, "${") != NULL)
		return 0;
	if (redirect_address(script->pool, s) == NULL) {
		str_printfa(error_r, "specified redirect address '%s' is invalid", s);
		return -1;
	}
	return 0;
}

static int exec_redirect(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char *s = sieve_interp_str(interp, node->pos[0]->strs[0]);
	struct sieve_action act = { .kind = SIEVE_ACT_REDIRECT };

	act.address = redirect_address(interp->pool, s);
	if (act.address == NULL)
		return sieve_interp_fail(interp, "specified redirect address '%s' is invalid", s);
	bool copy = sieve_node_tag(node, "copy") != NULL;
	return sieve_interp_add_action(interp, &act, !copy) < 0 ? -1 : 0;
}

static int exec_reject(struct sieve_interp *interp, const struct sieve_node *node)
{
	struct sieve_action act = {
		.kind = strcmp(node->name, "reject") == 0 ? SIEVE_ACT_REJECT : SIEVE_ACT_EREJECT,
	};

	act.reason = sieve_interp_str(interp, node->pos[0]->strs[0]);
	return sieve_interp_add_action(interp, &act, true) < 0 ? -1 : 0;
}

/* ---- tests ---- */

static int exec_true(struct sieve_interp *interp, const struct sieve_node *node)
{
	(void)interp;
	return strcmp(node->name, "true") == 0 ? 1 : 0;
}

static int exec_not(struct sieve_interp *interp, const struct sieve_node *node)
{
	int ret = sieve_interp_run_test(interp, node->tests[0]);

	return ret < 0 ? -1 : !ret;
}

static int exec_allof(struct sieve_interp *interp, const struct sieve_node *node)
{
	bool all = strcmp(node->name, "allof") == 0;

	/* RFC 5228 5.2/5.3: evaluation stops at the first test that
	 * decides the result */
	for (size_t i = 0; i < node->test_count; i++) {
		int ret = sieve_interp_run_test(interp, node->tests[i]);
		if (ret < 0)
			return -1;
		if (all && ret == 0)
			return 0;
		if (!all && ret > 0)
			return 1;
	}
	return all ? 1 : 0;
}

static int exec_exists(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char **names = sieve_interp_strlist(interp, node->pos[0]);

	for (size_t i = 0; i < node->pos[0]->count; i++) {
		const char **values;
		if (sieve_interp_header(interp, names[i], &values) == 0)
			return 0;
	}
	return 1;
}

static int validate_size(struct sieve_node *node, struct sieve_script *script,
			 struct str *error_r)
{
	(void)script;
	if (node->tag_count != 1) {
		str_append(error_r, "the size test requires either the :under or the :over tag to be specified");
		return -1;
	}
	return 0;
}

static int exec_size(struct sieve_interp *interp, const struct sieve_node *node)
{
	uint64_t limit = node->pos[0]->number;

	if (sieve_node_tag(node, "over") != NULL)
		return interp->msg->size > limit;
	return interp->msg->size < limit;
}

/* RFC 5322 3.6.8: field-name = 1*ftext, ftext = %d33-57 / %d59-126 */
static int check_field_names(const struct sieve_node *node, const struct sieve_arg *names,
			     const struct sieve_script *script, struct str *error_r)
{
	for (size_t i = 0; i < names->count; i++) {
		const char *h = names->strs[i];
		if (script->uses_variables && strstr(h, "${") != NULL)
			continue;
		bool ok = *h != '\0';
		for (const char *p = h; *p != '\0' && ok; p++)
			ok = (unsigned char)*p >= 33 && (unsigned char)*p <= 126 && *p != ':';
		if (!ok) {
			str_printfa(error_r, "%s: invalid header name '%s'", node->name, h);
			return -1;
		}
	}
	return 0;
}

static int validate_index(struct sieve_node *node, struct sieve_script *script,
			  struct str *error_r)
{
	if (sieve_node_tag(node, "last") != NULL && sieve_node_tag(node, "index") == NULL) {
		str_printfa(error_r, "%s: :last needs :index", node->name);
		return -1;
	}
	return check_field_names(node, node->pos[0], script, error_r);
}

static int validate_exists(struct sieve_node *node, struct sieve_script *script,
			   struct str *error_r)
{
	return check_field_names(node, node->pos[0], script, error_r);
}

static int exec_header(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char **names = sieve_interp_strlist(interp, node->pos[0]);
	const char **values = NULL;
	size_t count = 0, cap = 0;

	for (size_t i = 0; i < node->pos[0]->count; i++) {
		const char **v;
		size_t n = sieve_interp_header(interp, names[i], &v);
		n = sieve_index_select(node, v, n);
		for (size_t j = 0; j < n; j++) {
			array_reserve((void **)&values, &cap, count + 1, sizeof(*values));
			values[count++] = v[j];
		}
	}
	int ret = sieve_interp_match(interp, node, values, NULL, count, node->pos[1]);
	free(values);
	return ret;
}

/* RFC 5228 5.1: the headers the address test may look at. */
static const char *const address_headers[] = {
	"from", "sender", "reply-to", "to", "cc", "bcc",
	"resent-from", "resent-sender", "resent-reply-to", "resent-to",
	"resent-cc", "resent-bcc", "return-path", "delivered-to",
	"envelope-to", "x-original-to", "original-recipient",
	"disposition-notification-to", "errors-to", "mail-followup-to",
	"mail-reply-to", "x-envelope-to", "approved",
};

static int validate_address(struct sieve_node *node, struct sieve_script *script,
			    struct str *error_r)
{
	const struct sieve_arg *names = node->pos[0];

	if (validate_index(node, script, error_r) < 0)
		return -1;
	for (size_t i = 0; i < names->count; i++) {
		const char *h = names->strs[i];
		bool ok = script->uses_variables && strstr(h, "${") != NULL;
		for (size_t j = 0; j < N_ELEMENTS(address_headers) && !ok; j++)
			ok = str_eq_icase(h, address_headers[j]);
		if (!ok) {
			str_printfa(error_r, "specified header '%s' is not allowed for the address test", h);
			return -1;
		}
	}
	return 0;
}

/* A growing list of values for matching. */
struct values {
	const char **items;
	size_t count, cap;
};

static void values_add(struct values *v, const char *s)
{
	array_reserve((void **)&v->items, &v->cap, v->count + 1, sizeof(*v->items));
	v->items[v->count++] = s;
}

static int exec_address(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char **names = sieve_interp_strlist(interp, node->pos[0]);
	struct values vals = { 0 };

	for (size_t i = 0; i < node->pos[0]->count; i++) {
		const char **raw;
		size_t n = sieve_interp_header_raw(interp, names[i], &raw);
		n = sieve_index_select(node, raw, n);
		for (size_t j = 0; j < n; j++) {
			struct mime_address *a = mime_address_parse(interp->pool, raw[j]);
			for (; a != NULL; a = a->next) {
				if (a->is_group_start || a->is_group_end || a->mailbox == NULL)
					continue;
				const char *part = address_part(interp, node->addrpart, a->mailbox,
								a->domain != NULL ? a->domain : "");
				if (part != NULL)
					values_add(&vals, part);
			}
		}
	}
	int ret = sieve_interp_match(interp, node, vals.items, NULL, vals.count, node->pos[1]);
	free(vals.items);
	return ret;
}

static int validate_envelope(struct sieve_node *node, struct sieve_script *script,
			     struct str *error_r)
{
	const struct sieve_arg *parts = node->pos[0];

	for (size_t i = 0; i < parts->count; i++) {
		const char *p = parts->strs[i];
		if (script->uses_variables && strstr(p, "${") != NULL)
			continue;
		if (!str_eq_icase(p, "from") && !str_eq_icase(p, "to") && !str_eq_icase(p, "auth")) {
			str_printfa(error_r, "envelope: unknown envelope part '%s'", p);
			return -1;
		}
	}
	return 0;
}

static int exec_envelope(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char **parts = sieve_interp_strlist(interp, node->pos[0]);
	struct values vals = { 0 };

	for (size_t i = 0; i < node->pos[0]->count; i++) {
		const char *addr = NULL;
		if (str_eq_icase(parts[i], "from"))
			addr = interp->msg->envelope_from;
		else if (str_eq_icase(parts[i], "to"))
			addr = interp->msg->envelope_to;
		else if (str_eq_icase(parts[i], "auth"))
			addr = interp->msg->auth_user;
		if (addr == NULL)
			continue;
		if (*addr == '\0') {
			/* RFC 5228 5.4: the null reverse-path matches "" whatever
			 * the address part */
			values_add(&vals, "");
			continue;
		}
		const char *at = strrchr(addr, '@');
		const char *local = at != NULL ? p_strndup(interp->pool, addr, (size_t)(at - addr)) : addr;
		const char *domain = at != NULL ? at + 1 : "";
		const char *part = address_part(interp, node->addrpart, local, domain);
		if (part != NULL)
			values_add(&vals, part);
	}
	int ret = sieve_interp_match(interp, node, vals.items, NULL, vals.count, node->pos[1]);
	free(vals.items);
	return ret;
}

/* ---- the tables ---- */

static const struct sieve_tag_def keep_tags[] = {
	{ .name = "flags", .param = SIEVE_P_STRLIST, .ext = "imap4flags" },
	{ .name = NULL },
};

static const struct sieve_tag_def redirect_tags[] = {
	{ .name = "copy", .param = SIEVE_P_NONE, .ext = "copy" },
	{ .name = NULL },
};

/* RFC 5260 6 */
static const struct sieve_tag_def index_tags[] = {
	{ .name = "index", .param = SIEVE_P_NUMBER, .ext = "index" },
	{ .name = "last", .param = SIEVE_P_NONE, .ext = "index" },
	{ .name = NULL },
};

static const struct sieve_tag_def size_tags[] = {
	{ .name = "over", .param = SIEVE_P_NONE, .exclusive = 1 },
	{ .name = "under", .param = SIEVE_P_NONE, .exclusive = 1 },
	{ .name = NULL },
};

static const struct sieve_cmd_def core_cmds[] = {
	{ "require", NULL, SIEVE_CMD_TOP_ONLY, "l", NULL, NULL, NULL },
	{ "if", NULL, SIEVE_CMD_ONE_TEST | SIEVE_CMD_BLOCK, "", NULL, NULL, NULL },
	{ "elsif", NULL, SIEVE_CMD_ONE_TEST | SIEVE_CMD_BLOCK, "", NULL, NULL, NULL },
	{ "else", NULL, SIEVE_CMD_BLOCK, "", NULL, NULL, NULL },
	{ "stop", NULL, 0, "", NULL, NULL, exec_stop },
	{ "keep", NULL, 0, "", keep_tags, NULL, exec_keep },
	{ "discard", NULL, 0, "", NULL, NULL, exec_discard },
	{ "redirect", NULL, 0, "s", redirect_tags, validate_redirect, exec_redirect },
	{ "true", NULL, SIEVE_CMD_TEST, "", NULL, NULL, exec_true },
	{ "false", NULL, SIEVE_CMD_TEST, "", NULL, NULL, exec_true },
	{ "not", NULL, SIEVE_CMD_TEST | SIEVE_CMD_ONE_TEST, "", NULL, NULL, exec_not },
	{ "allof", NULL, SIEVE_CMD_TEST | SIEVE_CMD_TESTS, "", NULL, NULL, exec_allof },
	{ "anyof", NULL, SIEVE_CMD_TEST | SIEVE_CMD_TESTS, "", NULL, NULL, exec_allof },
	{ "exists", NULL, SIEVE_CMD_TEST, "l", NULL, validate_exists, exec_exists },
	{ "size", NULL, SIEVE_CMD_TEST, "n", size_tags, validate_size, exec_size },
	{ "header", NULL, SIEVE_CMD_TEST | SIEVE_CMD_MATCH, "ll", index_tags, validate_index, exec_header },
	{ "address", NULL, SIEVE_CMD_TEST | SIEVE_CMD_MATCH | SIEVE_CMD_ADDRPART, "ll", index_tags,
	  validate_address, exec_address },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_core = {
	NULL, core_cmds, core_shared_tags, false,
};

static const struct sieve_tag_def fileinto_tags[] = {
	{ .name = "copy", .param = SIEVE_P_NONE, .ext = "copy" },
	{ .name = "flags", .param = SIEVE_P_STRLIST, .ext = "imap4flags" },
	{ .name = "create", .param = SIEVE_P_NONE, .ext = "mailbox" },
	/* RFC 9042 5: :mailboxid and :specialuse exclude each other */
	{ .name = "mailboxid", .param = SIEVE_P_STRING, .ext = "mailboxid", .exclusive = 1 },
	{ .name = "specialuse", .param = SIEVE_P_STRING, .ext = "special-use", .exclusive = 1 },
	{ .name = NULL },
};

static const struct sieve_cmd_def fileinto_cmds[] = {
	{ "fileinto", "fileinto", 0, "s", fileinto_tags, NULL, exec_fileinto },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_fileinto = {
	"fileinto", fileinto_cmds, NULL, true,
};

static const struct sieve_cmd_def reject_cmds[] = {
	{ "reject", "reject", 0, "s", NULL, NULL, exec_reject },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_reject = {
	"reject", reject_cmds, NULL, true,
};

static const struct sieve_cmd_def ereject_cmds[] = {
	{ "ereject", "ereject", 0, "s", NULL, NULL, exec_reject },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_ereject = {
	"ereject", ereject_cmds, NULL, true,
};

static const struct sieve_cmd_def envelope_cmds[] = {
	{ "envelope", "envelope", SIEVE_CMD_TEST | SIEVE_CMD_MATCH | SIEVE_CMD_ADDRPART, "ll",
	  NULL, validate_envelope, exec_envelope },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_envelope = {
	"envelope", envelope_cmds, NULL, true,
};

const struct sieve_extension sieve_ext_encoded_character = {
	"encoded-character", NULL, NULL, true,
};

const struct sieve_extension sieve_ext_cmp_octet = {
	"comparator-i;octet", NULL, NULL, false,
};

const struct sieve_extension sieve_ext_cmp_casemap = {
	"comparator-i;ascii-casemap", NULL, NULL, false,
};

const struct sieve_extension sieve_ext_cmp_numeric = {
	"comparator-i;ascii-numeric", NULL, NULL, true,
};

const struct sieve_extension sieve_ext_copy = {
	"copy", NULL, NULL, true,
};

const struct sieve_extension sieve_ext_subaddress = {
	"subaddress", NULL, subaddress_tags, true,
};

const struct sieve_extension sieve_ext_relational = {
	"relational", NULL, relational_tags, true,
};
