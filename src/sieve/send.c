/* send.c: the outgoing mail of a Sieve result, through submit.h.
 *
 * Every message here is made by submit.h's composers and handed to the
 * MTA by submit_send(), which blocks: this runs on a delivery's job
 * thread, after the message's copies are on disk.  What may not be sent
 * (RFC 3834, RFC 5230 4.6, redirect loops) is decided by submit.h's
 * rules; this file only logs why. */
#include "send.h"
#include "base/log.h"
#include "base/pool.h"
#include "conf/conf.h"
#include "submit/submit.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Notifications of one run go to at most this many addresses. */
#define SEND_NOTIFY_MAX_RCPTS 16

struct send_ctx {
	const struct sieve_delivery *d;
	const struct sieve_result *result;
	const struct sieve_apply_env *env;
	const char *header;		/* the message's header block */
	size_t header_len;
	const char *user_addr;		/* the user's first address */
	size_t user_addr_count;
};

/* The header block of msg (up to and with the empty line, or all). */
static size_t send_header_len(const char *msg, size_t size)
{
	for (size_t i = 0; i + 1 < size; i++) {
		if (msg[i] != '\n')
			continue;
		if (msg[i + 1] == '\n')
			return i + 2;
		if (msg[i + 1] == '\r' && i + 2 < size && msg[i + 2] == '\n')
			return i + 3;
	}
	return size;
}

/* Sends msg; 0, or -1 (logged with what). */
static int send_one(struct send_ctx *ctx, const char *what, const char *sender,
		    const char *const *rcpts, size_t rcpt_count, const struct str *msg)
{
	enum submit_error err;
	char *error = NULL;

	if (submit_send(ctx->d->config, sender, rcpts, rcpt_count, msg->data, msg->len,
			&err, &error) == 0) {
		log_info("%s: sieve: %s: %s sent to <%s>%s", ctx->d->log_prefix, ctx->d->user,
			 what, rcpts[0], rcpt_count > 1 ? " and others" : "");
		return 0;
	}
	log_error("%s: sieve: %s: %s to <%s> not sent: %s", ctx->d->log_prefix,
		  ctx->d->user, what, rcpts[0], error != NULL ? error : "failed");
	free(error);
	return -1;
}

/* RFC 5228 4.2.  The copy keeps the original envelope sender (a bounce
 * goes to who wrote it) and carries submit.h's loop marker.  Returns 0,
 * or -1 when it was not sent (the caller keeps the message). */
static int send_redirect(struct send_ctx *ctx, const struct sieve_action *a)
{
	const struct sieve_delivery *d = ctx->d;
	const char *rcpts[1] = { a->address };

	if (submit_redirect_is_loop(ctx->header, ctx->header_len, ctx->env->user_addresses,
				    ctx->user_addr_count)) {
		log_warning("%s: sieve: %s: redirect to <%s> not sent: the message was "
			    "redirected by this user before (a loop)", d->log_prefix, d->user,
			    a->address);
		return -1;
	}
	if (!submit_is_configured(d->config)) {
		log_error("%s: sieve: %s: redirect to <%s> not sent: neither "
			  "submission_host nor sendmail_path is set", d->log_prefix, d->user,
			  a->address);
		return -1;
	}
	struct str msg = STR_INIT;
	submit_redirect_compose(&msg, ctx->user_addr, ctx->result->message,
				ctx->result->message_size);
	int ret = send_one(ctx, "redirect", d->envelope_from, rcpts, 1, &msg);
	str_free(&msg);
	return ret;
}

/* RFC 5429 2.2.1: an MDN to the envelope sender.  Returns 0 when it was
 * sent or rightly not sent (to <>, auto-submitted mail: the message is
 * refused all the same), -1 when it could not be sent. */
static int send_reject(struct send_ctx *ctx, const struct sieve_action *a)
{
	const struct sieve_delivery *d = ctx->d;
	const char *why;

	if (!submit_autoreply_is_allowed(ctx->header, ctx->header_len, d->envelope_from,
					 ctx->env->user_addresses, ctx->user_addr_count, &why)) {
		log_info("%s: sieve: %s: reject: no MDN sent (%s); the message is refused",
			 d->log_prefix, d->user, why);
		return 0;
	}
	if (!submit_is_configured(d->config)) {
		log_error("%s: sieve: %s: reject: no MDN sent: neither submission_host nor "
			  "sendmail_path is set", d->log_prefix, d->user);
		return -1;
	}
	struct submit_reject reject = {
		.orig_header = ctx->header,
		.orig_header_len = ctx->header_len,
		.user = ctx->user_addr,
		.original_recipient = d->envelope_to,
		.to = d->envelope_from,
		.reason = a->reason != NULL ? a->reason : "",
	};
	struct submit_origin origin = { .date = d->now };
	struct str msg = STR_INIT;
	const char *rcpts[1] = { d->envelope_from };
	submit_reject_mdn_compose(&msg, &reject, &origin);
	int ret = send_one(ctx, "reject MDN", "", rcpts, 1, &msg);
	str_free(&msg);
	return ret;
}

/* RFC 5230: the reply, at most once per track_id and period. */
static void send_vacation(struct send_ctx *ctx, const struct sieve_action *a)
{
	const struct sieve_delivery *d = ctx->d;
	const char *to = a->recipient != NULL ? a->recipient : d->envelope_from;
	struct str key = STR_INIT;
	const char *why;
	int seen;

	if (!submit_autoreply_is_allowed(ctx->header, ctx->header_len, to,
					 ctx->env->user_addresses, ctx->user_addr_count, &why)) {
		log_info("%s: sieve: %s: vacation: no reply (%s)", d->log_prefix, d->user, why);
		return;
	}
	sieve_apply_track_key(&key, 'V', a->track_id, a->track_id_len);
	seen = store_sieve_track_seen(d->store, key.data, key.len, d->now);
	if (seen != 0) {
		if (seen < 0) {
			enum store_error err;
			log_error("%s: sieve: %s: vacation: no reply (the tracking memory "
				  "cannot be read: %s)", d->log_prefix, d->user,
				  store_last_error(d->store, &err));
		} else {
			log_info("%s: sieve: %s: vacation: <%s> was answered already",
				 d->log_prefix, d->user, to);
		}
		str_free(&key);
		return;
	}
	struct submit_vacation vacation = {
		.orig_header = ctx->header,
		.orig_header_len = ctx->header_len,
		.from = a->from != NULL ? a->from : ctx->user_addr,
		.to = to,
		.subject = a->subject,
		.reason = a->body != NULL ? a->body : "",
		.mime = a->mime,
	};
	struct submit_origin origin = { .date = d->now };
	struct str msg = STR_INIT;
	const char *rcpts[1] = { to };
	submit_vacation_compose(&msg, &vacation, &origin);
	/* RFC 5230 5.1 (RFC 3834 3.3): the reply goes from <> */
	if (send_one(ctx, "vacation reply", "", rcpts, 1, &msg) == 0 &&
	    store_sieve_track_mark(d->store, key.data, key.len,
				   d->now + (time_t)a->period) < 0) {
		enum store_error err;
		log_error("%s: sieve: %s: vacation: cannot remember the reply: %s",
			  d->log_prefix, d->user, store_last_error(d->store, &err));
	}
	str_free(&msg);
	str_free(&key);
}

/* ---- notify :method "mailto:..." (RFC 5436, RFC 6068) ---- */

static int send_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* p[0..len) with %XX decoded, in the pool. */
static char *send_pct_decode(struct pool *pool, const char *p, size_t len)
{
	char *out = p_malloc(pool, len + 1);
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		if (p[i] == '%' && i + 2 < len && (hi = send_hex(p[i + 1])) >= 0 &&
		    (lo = send_hex(p[i + 2])) >= 0) {
			out[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else {
			out[o++] = p[i];
		}
	}
	out[o] = '\0';
	return out;
}

struct send_mailto {
	const char *to[SEND_NOTIFY_MAX_RCPTS];
	size_t to_count;
	const char *cc[SEND_NOTIFY_MAX_RCPTS];
	size_t cc_count;
	const char *subject, *body;
	struct submit_header_field headers[SEND_NOTIFY_MAX_RCPTS];
	size_t header_count;
};

/* Adds the comma-separated addresses of p[0..len) to list. */
static void send_mailto_addrs(struct pool *pool, const char *p, size_t len,
			      const char **list, size_t *count)
{
	char *all = send_pct_decode(pool, p, len);
	for (char *s = all; *s != '\0'; ) {
		size_t n = strcspn(s, ",");
		char *next = s + n + (s[n] == ',' ? 1 : 0);
		s[n] = '\0';
		while (*s == ' ')
			s++;
		for (size_t e = strlen(s); e > 0 && s[e - 1] == ' '; e--)
			s[e - 1] = '\0';
		if (*s != '\0' && *count < SEND_NOTIFY_MAX_RCPTS)
			list[(*count)++] = s;
		s = next;
	}
}

/* mailtoURI = "mailto:" [ to ] [ hfields ] (RFC 6068 2).  Returns 0, or
 * -1 when it is no mailto URI. */
static int send_mailto_parse(struct pool *pool, const char *uri, struct send_mailto *m)
{
	memset(m, 0, sizeof(*m));
	if (strncasecmp(uri, "mailto:", 7) != 0)
		return -1;
	const char *p = uri + 7;
	size_t n = strcspn(p, "?");
	send_mailto_addrs(pool, p, n, m->to, &m->to_count);
	p += n;
	while (*p == '?' || *p == '&') {
		p++;
		size_t flen = strcspn(p, "&");
		const char *eq = memchr(p, '=', flen);
		if (eq != NULL) {
			size_t nlen = (size_t)(eq - p);
			const char *v = eq + 1;
			size_t vlen = flen - nlen - 1;
			char *name = send_pct_decode(pool, p, nlen);
			if (strcasecmp(name, "to") == 0) {
				send_mailto_addrs(pool, v, vlen, m->to, &m->to_count);
			} else if (strcasecmp(name, "cc") == 0) {
				send_mailto_addrs(pool, v, vlen, m->cc, &m->cc_count);
			} else if (strcasecmp(name, "subject") == 0) {
				m->subject = send_pct_decode(pool, v, vlen);
			} else if (strcasecmp(name, "body") == 0) {
				m->body = send_pct_decode(pool, v, vlen);
			} else if (strcasecmp(name, "bcc") != 0 &&
				   m->header_count < SEND_NOTIFY_MAX_RCPTS) {
				/* the composer drops the unsafe ones (RFC 5436 2.7) */
				m->headers[m->header_count].name = name;
				m->headers[m->header_count++].value =
					send_pct_decode(pool, v, vlen);
			}
		}
		p += flen;
	}
	return m->to_count + m->cc_count > 0 ? 0 : -1;
}

/* RFC 5436: the notification message. */
static void send_notify(struct send_ctx *ctx, const struct sieve_action *a)
{
	const struct sieve_delivery *d = ctx->d;
	struct str value = STR_INIT;
	struct send_mailto m;

	/* RFC 5436 2.7: none for mail that is itself automatic */
	if (submit_header_get(ctx->header, ctx->header_len, "Auto-Submitted", &value) > 0 &&
	    strcasecmp(str_c(&value), "no") != 0) {
		log_info("%s: sieve: %s: notify: none for an Auto-Submitted message",
			 d->log_prefix, d->user);
		str_free(&value);
		return;
	}
	str_free(&value);
	struct pool *pool = pool_create(1024);
	if (a->method == NULL || send_mailto_parse(pool, a->method, &m) < 0) {
		log_warning("%s: sieve: %s: notify: method \"%s\" not supported",
			    d->log_prefix, d->user, a->method != NULL ? a->method : "");
		pool_destroy(&pool);
		return;
	}
	const char *from = a->from != NULL && submit_address_is_valid(a->from) ?
		a->from : ctx->user_addr;
	const char *rcpts[2 * SEND_NOTIFY_MAX_RCPTS];
	size_t rcpt_count = 0;
	for (size_t i = 0; i < m.to_count; i++)
		rcpts[rcpt_count++] = m.to[i];
	for (size_t i = 0; i < m.cc_count; i++)
		rcpts[rcpt_count++] = m.cc[i];
	struct submit_notify notify = {
		.orig_header = ctx->header,
		.orig_header_len = ctx->header_len,
		.from = from,
		.owner = ctx->user_addr,
		.to = m.to,
		.to_count = m.to_count,
		.cc = m.cc,
		.cc_count = m.cc_count,
		.subject = a->message != NULL ? a->message : m.subject,
		.importance = a->importance != NULL ? (unsigned int)(a->importance[0] - '0') : 0,
		.headers = m.headers,
		.header_count = m.header_count,
		.body = m.body,
	};
	if (notify.importance > 3)
		notify.importance = 0;
	struct submit_origin origin = { .date = d->now };
	struct str msg = STR_INIT;
	submit_notify_compose(&msg, &notify, &origin);
	/* RFC 5436 2.7: <> begets <>; else :from or the recipient */
	(void)send_one(ctx, "notification", d->envelope_from[0] == '\0' ? "" : from,
		       rcpts, rcpt_count, &msg);
	str_free(&msg);
	pool_destroy(&pool);
}

int sieve_send_actions(const struct sieve_delivery *d, const struct sieve_result *result,
		       const struct sieve_apply_env *env)
{
	struct send_ctx ctx = { .d = d, .result = result, .env = env };
	int failures = 0;

	ctx.header = result->message;
	ctx.header_len = send_header_len(result->message, result->message_size);
	while (env->user_addresses[ctx.user_addr_count] != NULL)
		ctx.user_addr_count++;
	ctx.user_addr = ctx.user_addr_count > 0 ? env->user_addresses[0] : d->user;
	for (size_t i = 0; i < result->action_count; i++) {
		const struct sieve_action *a = &result->actions[i];
		switch (a->kind) {
		case SIEVE_ACT_REDIRECT:
			if (send_redirect(&ctx, a) < 0)
				failures++;
			break;
		case SIEVE_ACT_REJECT:
			if (send_reject(&ctx, a) < 0)
				failures++;
			break;
		case SIEVE_ACT_VACATION:
			send_vacation(&ctx, a);
			break;
		case SIEVE_ACT_NOTIFY:
			send_notify(&ctx, a);
			break;
		default:
			break;
		}
	}
	return failures;
}
