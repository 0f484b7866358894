/* ext-vacation.c: RFC 5230 vacation and RFC 6131 vacation-seconds.
 *
 * The interpreter decides what it can (RFC 5230 4.5 and 4.6, RFC 3834
 * 2): no reply to the null sender, to automated senders (MAILER-DAEMON,
 * owner-*, *-request, LISTSERV, majordomo), to mail marked
 * Auto-Submitted or carrying mailing-list fields or Precedence
 * bulk/list/junk, to the user's own address, or to mail not addressed
 * to the user.  Otherwise the action carries the reply and the tracking
 * key; the caller checks the tracking memory and sends. */
#include "sieve-private.h"
#include "mime/address.h"

#include <stdlib.h>
#include <string.h>

#define VACATION_DEFAULT_DAYS 7

static bool addr_eq(const char *a, const char *b)
{
	if (*a == '<')
		a++;
	size_t alen = strlen(a);
	if (alen > 0 && a[alen - 1] == '>')
		alen--;
	return strlen(b) == alen && strncasecmp(a, b, alen) == 0;
}

/* RFC 5230 4.6: addresses of automated processes */
static bool is_automated_sender(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t local_len = at != NULL ? (size_t)(at - addr) : strlen(addr);
	char *local = xstrndup(addr, local_len);
	bool ret = str_eq_icase(local, "MAILER-DAEMON") || str_eq_icase(local, "LISTSERV") ||
		str_eq_icase(local, "majordomo") || str_has_prefix_icase(local, "owner-") ||
		(local_len >= 8 && str_eq_icase(local + local_len - 8, "-request"));
	free(local);
	return ret;
}

/* RFC 5230 4.6 and RFC 3834 2: mail that is not answered */
static bool is_automated_message(struct sieve_interp *interp)
{
	static const char *const list_fields[] = {
		"list-id", "list-help", "list-subscribe", "list-unsubscribe",
		"list-post", "list-owner", "list-archive",
	};
	const char **v;
	size_t n;

	for (size_t i = 0; i < N_ELEMENTS(list_fields); i++) {
		if (sieve_interp_header(interp, list_fields[i], &v) > 0)
			return true;
	}
	n = sieve_interp_header(interp, "auto-submitted", &v);
	for (size_t i = 0; i < n; i++) {
		if (!str_has_prefix_icase(v[i], "no") ||
		    (v[i][2] != '\0' && v[i][2] != ' ' && v[i][2] != ';' && v[i][2] != '('))
			return true;
	}
	n = sieve_interp_header(interp, "precedence", &v);
	for (size_t i = 0; i < n; i++) {
		if (str_eq_icase(v[i], "bulk") || str_eq_icase(v[i], "list") ||
		    str_eq_icase(v[i], "junk"))
			return true;
	}
	return false;
}

static bool is_user_address(struct sieve_interp *interp, const char *addr,
			    const char *const *extra, size_t nextra)
{
	const struct sieve_env *env = interp->env;

	if (env != NULL && env->user_addresses != NULL) {
		for (const char *const *a = env->user_addresses; *a != NULL; a++) {
			if (addr_eq(*a, addr))
				return true;
		}
	}
	if (interp->msg->envelope_to != NULL && addr_eq(interp->msg->envelope_to, addr))
		return true;
	for (size_t i = 0; i < nextra; i++) {
		if (addr_eq(extra[i], addr))
			return true;
	}
	return false;
}

/* RFC 5230 4.5: the user's address must be in one of these fields */
static bool addressed_to_user(struct sieve_interp *interp, const char *const *extra, size_t nextra)
{
	static const char *const fields[] = {
		"to", "cc", "bcc", "resent-to", "resent-cc", "resent-bcc",
	};

	for (size_t i = 0; i < N_ELEMENTS(fields); i++) {
		const char **raw;
		size_t n = sieve_interp_header_raw(interp, fields[i], &raw);
		for (size_t j = 0; j < n; j++) {
			for (struct mime_address *a = mime_address_parse(interp->pool, raw[j]);
			     a != NULL; a = a->next) {
				if (a->mailbox == NULL || a->domain == NULL)
					continue;
				const char *addr = p_strdup_printf(interp->pool, "%s@%s",
								   a->mailbox, a->domain);
				if (is_user_address(interp, addr, extra, nextra))
					return true;
			}
		}
	}
	return false;
}

/* The address to answer: the envelope sender, else Return-Path. */
static const char *reply_recipient(struct sieve_interp *interp)
{
	const char *from = interp->msg->envelope_from;

	if (from == NULL) {
		const char **raw;
		if (sieve_interp_header_raw(interp, "return-path", &raw) == 0)
			return NULL;
		struct mime_address *a = mime_address_parse(interp->pool, raw[0]);
		if (a == NULL || a->mailbox == NULL || a->domain == NULL)
			return "";
		return p_strdup_printf(interp->pool, "%s@%s", a->mailbox, a->domain);
	}
	return from;
}

static int validate_vacation(struct sieve_node *node, struct sieve_script *script,
			     struct str *error_r)
{
	const struct sieve_tagval *from = sieve_node_tag(node, "from");

	(void)script;
	if (sieve_node_tag(node, "days") != NULL && sieve_node_tag(node, "seconds") != NULL) {
		str_append(error_r, "vacation: :days and :seconds exclude each other");
		return -1;
	}
	if (from != NULL && strstr(from->param->strs[0], "${") == NULL) {
		struct pool *pool = pool_create(0);
		struct mime_address *a = mime_address_parse(pool, from->param->strs[0]);
		bool ok = a != NULL && a->mailbox != NULL && a->domain != NULL &&
			*a->domain != '\0' && !a->is_invalid;
		pool_destroy(&pool);
		if (!ok) {
			str_printfa(error_r, "vacation: invalid :from address '%s'", from->param->strs[0]);
			return -1;
		}
	}
	return 0;
}

/* vacation [":days" number | ":seconds" number] [":subject" string]
 *          [":from" string] [":addresses" string-list] [":mime"]
 *          [":handle" string] <reason: string> */
static int exec_vacation(struct sieve_interp *interp, const struct sieve_node *node)
{
	const struct sieve_tagval *tv;
	const char **extra = NULL;
	size_t nextra = 0;
	struct sieve_action act = { .kind = SIEVE_ACT_VACATION };

	tv = sieve_node_tag(node, "addresses");
	if (tv != NULL) {
		extra = sieve_interp_strlist(interp, tv->param);
		nextra = tv->param->count;
	}
	const char *sender = reply_recipient(interp);
	if (sender == NULL || *sender == '\0' || is_automated_sender(sender) ||
	    is_automated_message(interp) || is_user_address(interp, sender, extra, nextra) ||
	    !addressed_to_user(interp, extra, nextra))
		return 0;

	act.recipient = sender;
	act.body = sieve_interp_str(interp, node->pos[0]->strs[0]);
	act.mime = sieve_node_tag(node, "mime") != NULL;
	tv = sieve_node_tag(node, "from");
	if (tv != NULL)
		act.from = sieve_interp_str(interp, tv->param->strs[0]);
	tv = sieve_node_tag(node, "subject");
	if (tv != NULL) {
		act.subject = sieve_interp_str(interp, tv->param->strs[0]);
	} else {
		const char **subj;
		act.subject = sieve_interp_header(interp, "subject", &subj) > 0 ?
			p_strdup_printf(interp->pool, "Auto: %s", subj[0]) : "Automated reply";
	}
	/* RFC 5230 4.1 and RFC 6131 2: the period */
	if ((tv = sieve_node_tag(node, "seconds")) != NULL) {
		act.period = tv->param->number > UINT32_MAX ? UINT32_MAX : (unsigned int)tv->param->number;
	} else {
		uint64_t days = VACATION_DEFAULT_DAYS;
		if ((tv = sieve_node_tag(node, "days")) != NULL)
			days = tv->param->number < 1 ? 1 : tv->param->number;
		if (days > 365)
			days = 365;
		act.period = (unsigned int)(days * 86400);
	}
	/* RFC 5230 4.2: the response is identified by :handle, or by its
	 * unexpanded :subject, :from, :mime and reason; with the sender
	 * it keys the tracking memory */
	struct str key = STR_INIT;
	tv = sieve_node_tag(node, "handle");
	if (tv != NULL) {
		act.handle = sieve_interp_str(interp, tv->param->strs[0]);
		str_printfa(&key, "h:%s", act.handle);
	} else {
		const struct sieve_tagval *s = sieve_node_tag(node, "subject");
		const struct sieve_tagval *f = sieve_node_tag(node, "from");
		str_printfa(&key, "s:%s", s != NULL ? s->param->strs[0] : "");
		str_append_c(&key, '\0');
		str_printfa(&key, "f:%s", f != NULL ? f->param->strs[0] : "");
		str_append_c(&key, '\0');
		str_printfa(&key, "m:%d", act.mime ? 1 : 0);
		str_append_c(&key, '\0');
		str_printfa(&key, "r:%s", node->pos[0]->strs[0]);
	}
	str_append_c(&key, '\0');
	for (const char *p = sender; *p != '\0'; p++)
		str_append_c(&key, (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p));
	act.track_id = p_memdup(interp->pool, key.data, key.len);
	act.track_id_len = key.len;
	str_free(&key);
	return sieve_interp_add_action(interp, &act, false) < 0 ? -1 : 0;
}

static const struct sieve_tag_def vacation_tags[] = {
	{ .name = "days", .param = SIEVE_P_NUMBER, .exclusive = 1 },
	{ .name = "seconds", .param = SIEVE_P_NUMBER, .ext = "vacation-seconds", .exclusive = 1 },
	{ .name = "subject", .param = SIEVE_P_STRING },
	{ .name = "from", .param = SIEVE_P_STRING },
	{ .name = "addresses", .param = SIEVE_P_STRLIST },
	{ .name = "mime", .param = SIEVE_P_NONE },
	{ .name = "handle", .param = SIEVE_P_STRING },
	{ .name = NULL },
};

static const struct sieve_cmd_def vacation_cmds[] = {
	{ "vacation", "vacation", 0, "s", vacation_tags, validate_vacation, exec_vacation },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_vacation = {
	"vacation", vacation_cmds, NULL, true,
};

const struct sieve_extension sieve_ext_vacation_seconds = {
	"vacation-seconds", NULL, NULL, true,
};
