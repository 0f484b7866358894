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

int lmtp_deliver_resolve(struct auth *auth, const struct roost_config *config,
			 const char *local, const char *domain,
			 struct lmtp_recipient *rcpt_r)
{
	char user[LMTP_ADDRESS_MAX + 1];
	memset(rcpt_r, 0, sizeof(*rcpt_r));
	lmtp_parser_split_detail(local, config->recipient_delimiter, user, rcpt_r->detail);
	if (user[0] == '\0')
		return 0;
	if (!deliver_domain_is_local(config, domain))
		return -2;
	int ret;
	/* the store is opened with the normalised name: "Bob@EXAMPLE.com"
	 * is bob@example.com's store, not one of its own */
	auth_user_normalize(user);
	if (domain[0] != '\0') {
		snprintf(rcpt_r->user, sizeof(rcpt_r->user), "%s@%s", user, domain);
		auth_user_normalize(rcpt_r->user);
		ret = auth_user_exists(auth, rcpt_r->user);
		if (ret != 0)
			return ret;
	}
	/* a database of bare names: any local domain reaches the user */
	snprintf(rcpt_r->user, sizeof(rcpt_r->user), "%s", user);
	ret = auth_user_exists(auth, rcpt_r->user);
	if (ret == 0 && rcpt_r->detail[0] != '\0' && strchr(local, '@') == NULL) {
		/* "a+b" may also be a user whose name holds the delimiter */
		snprintf(rcpt_r->user, sizeof(rcpt_r->user), "%s", local);
		auth_user_normalize(rcpt_r->user);
		ret = auth_user_exists(auth, rcpt_r->user);
		if (ret == 1)
			rcpt_r->detail[0] = '\0';
	}
	return ret;
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
