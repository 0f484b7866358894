/* deliver.c: recipient resolution and trace headers, shared by the LMTP
 * session and `roost deliver`; both then hand each recipient's delivery
 * to sieve_run_deliver() (sieve/run.h), which runs the user's Sieve
 * scripts and stores the message, durable before it returns: that is
 * what makes an LMTP 250 as durable as an IMAP APPEND OK. */
#include "deliver.h"
#include "auth/auth.h"
#include "base/log.h"
#include "conf/conf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <unistd.h>

static bool deliver_domain_is_local(const struct roost_config *config, const char *domain)
{
	const char *list = config->lmtp_local_domains;
	if (list == NULL || list[0] == '\0' || domain[0] == '\0')
		return true;
	size_t dlen = strlen(domain);
	const char *p = list;
	while (*p != '\0') {
		p += strspn(p, " ,\t");
		size_t n = strcspn(p, " ,\t");
		if (n == dlen && strncasecmp(p, domain, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* A resolution tries up to three names, one lookup at a time:
 * "user@domain", "user", and "local" when the local part holds the
 * delimiter ("a+b" may be a user of that name).  The first that exists
 * wins; TEMPFAIL ends it. */
struct lmtp_resolve {
	struct auth *auth;
	struct auth_request *request;	/* the pending lookup, or NULL */
	char candidates[3][LMTP_ADDRESS_MAX * 2 + 2];
	bool clears_detail[3];
	unsigned int count, next;
	struct lmtp_recipient rcpt;
	lmtp_resolve_callback *callback;
	void *ctx;
	bool in_lookup;		/* inside auth_user_lookup() */
	bool answered;		/* `result` is new */
	enum auth_result result;
	int ret;
};

static void deliver_resolve_answer(enum auth_result result, const char *user, void *ctx);

/* Goes on from the last answer: returns true when the resolution is
 * decided (res->ret), false while a lookup is pending. */
static bool deliver_resolve_run(struct lmtp_resolve *res)
{
	for (;;) {
		if (res->answered) {
			res->answered = false;
			if (res->result == AUTH_RESULT_OK) {
				if (res->clears_detail[res->next - 1])
					res->rcpt.detail[0] = '\0';
				res->ret = 1;
				return true;
			}
			if (res->result == AUTH_RESULT_TEMPFAIL) {
				res->ret = -1;
				return true;
			}
		}
		if (res->next == res->count) {
			res->ret = 0;
			return true;
		}
		res->in_lookup = true;
		struct auth_request *request = auth_user_lookup(
			res->auth, res->candidates[res->next++], deliver_resolve_answer, res);
		res->in_lookup = false;
		if (!res->answered) {
			res->request = request;
			return false;
		}
	}
}

static void deliver_resolve_answer(enum auth_result result, const char *user, void *ctx)
{
	struct lmtp_resolve *res = ctx;

	res->answered = true;
	res->result = result;
	if (result == AUTH_RESULT_OK)
		snprintf(res->rcpt.user, sizeof(res->rcpt.user), "%s", user);
	if (res->in_lookup)
		return;	/* inline: deliver_resolve_run goes on */
	res->request = NULL;
	if (deliver_resolve_run(res)) {
		res->callback(res->ret, res->ret == 1 ? &res->rcpt : NULL, res->ctx);
		free(res);
	}
}

struct lmtp_resolve *lmtp_deliver_resolve(struct auth *auth, const struct roost_config *config,
					  const char *local, const char *domain,
					  lmtp_resolve_callback *callback, void *ctx)
{
	struct lmtp_resolve *res = xcalloc(1, sizeof(*res));
	char user[LMTP_ADDRESS_MAX + 1];
	int ret = 1;

	res->auth = auth;
	res->callback = callback;
	res->ctx = ctx;
	lmtp_parser_split_detail(local, config->recipient_delimiter, user, res->rcpt.detail);
	if (user[0] == '\0')
		ret = 0;
	else if (!deliver_domain_is_local(config, domain))
		ret = -2;
	if (ret != 1) {
		callback(ret, NULL, ctx);
		free(res);
		return NULL;
	}
	/* the store is opened with the normalised name: "Bob@EXAMPLE.com"
	 * is bob@example.com's store, not one of its own */
	auth_user_normalize(user);
	if (domain[0] != '\0') {
		snprintf(res->candidates[res->count++], sizeof(res->candidates[0]), "%s@%s",
			 user, domain);
	}
	/* a database of bare names: any local domain reaches the user */
	snprintf(res->candidates[res->count++], sizeof(res->candidates[0]), "%s", user);
	if (res->rcpt.detail[0] != '\0' && strchr(local, '@') == NULL) {
		/* "a+b" may also be a user whose name holds the delimiter */
		res->clears_detail[res->count] = true;
		snprintf(res->candidates[res->count++], sizeof(res->candidates[0]), "%s", local);
	}
	for (unsigned int i = 0; i < res->count; i++)
		auth_user_normalize(res->candidates[i]);

	if (!deliver_resolve_run(res))
		return res;
	callback(res->ret, res->ret == 1 ? &res->rcpt : NULL, ctx);
	free(res);
	return NULL;
}

void lmtp_deliver_resolve_abort(struct lmtp_resolve **resp)
{
	struct lmtp_resolve *res = *resp;
	if (res == NULL)
		return;
	*resp = NULL;
	auth_request_abort(&res->request);
	free(res);
}

/* RFC 5322 date-time in UTC, e.g. "Thu, 26 Nov 2026 09:50:08 +0000". */
static void deliver_date(struct str *dest, time_t now)
{
	char buf[64];
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	str_append(dest, buf);
}

void lmtp_deliver_trace_headers(struct str *dest, const char *sender,
				const char *recipient, const char *helo,
				const char *remote_ip, const char *with, const char *id,
				time_t now)
{
	char host[256];
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	str_printfa(dest, "Return-Path: <%s>\r\n", sender);
	if (recipient != NULL)
		str_printfa(dest, "Delivered-To: %s\r\n", recipient);
	if (helo != NULL) {
		/* TCP-info = address-literal (RFC 5321 4.4): "[192.0.2.1]",
		 * "[IPv6:2001:db8::1]"; a UNIX socket peer is "local" */
		char tcp_info[80];
		size_t iplen = strlen(remote_ip);
		if (remote_ip[0] == '[' && iplen >= 2)
			snprintf(tcp_info, sizeof(tcp_info), "[IPv6:%.*s]", (int)(iplen - 2),
				 remote_ip + 1);
		else if (strcmp(remote_ip, "local") == 0 || strcmp(remote_ip, "unknown") == 0)
			snprintf(tcp_info, sizeof(tcp_info), "%s", remote_ip);
		else
			snprintf(tcp_info, sizeof(tcp_info), "[%s]", remote_ip);
		str_printfa(dest, "Received: from %s (%s)\r\n\tby %s (Roost) with %s id %s",
			    helo, tcp_info, host, with, id);
		if (recipient != NULL)
			str_printfa(dest, "\r\n\tfor <%s>", recipient);
		str_append(dest, "; ");
		deliver_date(dest, now);
		str_append(dest, "\r\n");
	}
}

const char *lmtp_deliver_detail_mailbox(const struct roost_config *config,
					const struct lmtp_recipient *rcpt)
{
	if (!config->lmtp_detail_folder || rcpt->detail[0] == '\0')
		return NULL;
	for (const unsigned char *p = (const unsigned char *)rcpt->detail; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '*' || *p == '%')
			return NULL;
	}
	return rcpt->detail;
}
