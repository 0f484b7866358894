/* mailto.c: mailto URIs as enotify methods (RFC 6068 as RFC 5436 uses
 * it).  See mailto.h. */
#include "sieve/mailto.h"
#include "submit/submit.h"

#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "base/utf8.h"
#include "sieve/fields.h"

/* URI headers dropped: RFC 5436 2.7 "MUST be ignored" (from,
 * auto-submitted, received, message-id, date) and the fields that would
 * let a script forge trace, envelope or MIME structure. */
static const char *const ignored_headers[] = {
	"from", "auto-submitted", "received", "message-id", "date",
	"sender", "return-path", "delivered-to", "bcc", "mime-version",
};
static const char *const ignored_prefixes[] = { "resent-", "content-" };

static bool is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* qchar without pct-encoded (checked apart) */
static bool is_qchar(unsigned char c)
{
	return is_unreserved(c) || (c != '\0' && strchr("!$'()*+,;:@", c) != NULL);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes src[0..len) into dest.  -1 on a bad escape, a
 * character outside qchar (in a header value, "/" and "?" too: they are
 * RFC 3986 query characters and real URIs have them unescaped), a NUL,
 * or a result that is not UTF-8. */
static int pct_decode(const char *src, size_t len, bool is_hfvalue, struct str *dest)
{
	size_t start = dest->len;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = hexval((unsigned char)src[i + 1]);
			lo = hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -1;
			str_append_c(dest, (char)(hi * 16 + lo));
			i += 2;
		} else if (is_qchar(c) || (is_hfvalue && (c == '/' || c == '?'))) {
			str_append_c(dest, (char)c);
		} else {
			return -1;
		}
	}
	for (size_t i = start; i < dest->len;) {
		size_t n = utf8_seq_len((const unsigned char *)dest->data + i, dest->len - i);

		if (n == 0)
			return -1;
		i += n;
	}
	return 0;
}

static bool is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c >= 0x80 ||
		(c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* dot-atom-text = 1*atext *("." 1*atext); returns the end or NULL */
static const char *skip_dot_atom(const char *p)
{
	for (;;) {
		const char *s = p;

		while (is_atext((unsigned char)*p))
			p++;
		if (p == s)
			return NULL;
		if (*p != '.')
			return p;
		p++;
	}
}

/* addr-spec = local-part "@" domain (RFC 5322 3.4.1), no CFWS:
 * local-part = dot-atom / quoted-string; domain = dot-atom / domain-literal */
static bool is_addr_spec(const char *p)
{
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '\0' || *p == '\r' || *p == '\n')
				return false;
		}
		p++;
	} else if ((p = skip_dot_atom(p)) == NULL) {
		return false;
	}
	if (*p++ != '@')
		return false;
	if (*p == '[') {
		for (p++; *p != ']'; p++) {
			unsigned char c = (unsigned char)*p;

			if (c < 33 || c > 126 || c == '[' || c == '\\')
				return false;
		}
		return p[1] == '\0';
	}
	p = skip_dot_atom(p);
	return p != NULL && *p == '\0';
}

struct parse_ctx {
	struct pool *pool;
	struct sieve_mailto *m;
	size_t rcpt_cap, hdr_cap;
	const char **error_r;
};

static int fail(struct parse_ctx *ctx, const char *fmt, const char *arg)
{
	*ctx->error_r = p_strdup_printf(ctx->pool, fmt, arg);
	return -1;
}

/* Adds the comma-separated, percent-encoded addr-specs of src[0..len). */
static int add_recipients(struct parse_ctx *ctx, const char *src, size_t len, bool cc)
{
	struct sieve_mailto *m = ctx->m;
	size_t p = 0;

	while (p <= len) {
		const char *comma = memchr(src + p, ',', len - p);
		size_t end = comma == NULL ? len : (size_t)(comma - src);
		struct str addr = STR_INIT;
		bool dup = false;

		if (pct_decode(src + p, end - p, false, &addr) < 0 || addr.len == 0 ||
		    addr.len > SIEVE_MAILTO_MAX_ADDRESS || !is_addr_spec(str_c(&addr))) {
			const char *shown = p_strndup(ctx->pool, src + p, end - p);

			str_free(&addr);
			return fail(ctx, "mailto URI: invalid recipient \"%s\"", shown);
		}
		for (size_t i = 0; i < m->recipient_count && !dup; i++)
			dup = str_eq_icase(m->recipients[i].address, str_c(&addr));
		if (!dup) {
			if (m->recipient_count == SIEVE_MAILTO_MAX_RECIPIENTS) {
				str_free(&addr);
				return fail(ctx, "mailto URI: more than %s recipients", "8");
			}
			ARRAY_RESERVE(m->recipients, ctx->rcpt_cap, m->recipient_count + 1);
			m->recipients[m->recipient_count].address = p_strdup(ctx->pool, str_c(&addr));
			m->recipients[m->recipient_count++].cc = cc;
		}
		str_free(&addr);
		p = end + 1;
	}
	return 0;
}

static bool is_ignored(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(ignored_headers); i++) {
		if (str_eq_icase(name, ignored_headers[i]))
			return true;
	}
	for (size_t i = 0; i < N_ELEMENTS(ignored_prefixes); i++) {
		if (str_has_prefix_icase(name, ignored_prefixes[i]))
			return true;
	}
	return false;
}

/* hfield = hfname "=" hfvalue */
static int add_hfield(struct parse_ctx *ctx, const char *src, size_t len)
{
	struct sieve_mailto *m = ctx->m;
	const char *eq = memchr(src, '=', len);
	struct str name = STR_INIT, value = STR_INIT;
	const char *n, *v;
	int ret = 0;

	if (eq == NULL)
		return fail(ctx, "mailto URI: header \"%s\" has no \"=\"",
			    p_strndup(ctx->pool, src, len));
	if (pct_decode(src, (size_t)(eq - src), false, &name) < 0 ||
	    name.len > SIEVE_MAILTO_MAX_NAME || !sieve_fields_name_is_valid(str_c(&name))) {
		str_free(&name);
		return fail(ctx, "mailto URI: invalid header name \"%s\"",
			    p_strndup(ctx->pool, src, (size_t)(eq - src)));
	}
	n = p_strdup(ctx->pool, str_c(&name));
	str_free(&name);
	if (str_eq_icase(n, "to") || str_eq_icase(n, "cc")) {
		size_t vlen = len - (size_t)(eq + 1 - src);

		return vlen == 0 ? 0 : add_recipients(ctx, eq + 1, vlen, str_eq_icase(n, "cc"));
	}
	if (pct_decode(eq + 1, len - (size_t)(eq + 1 - src), true, &value) < 0) {
		str_free(&value);
		return fail(ctx, "mailto URI: invalid value of header \"%s\"", n);
	}
	v = p_strdup(ctx->pool, str_c(&value));
	if (!str_eq_icase(n, "body") && strpbrk(v, "\r\n") != NULL)
		ret = fail(ctx, "mailto URI: header \"%s\" has a line break", n);
	else if (str_eq_icase(n, "body") && m->body != NULL)
		ret = fail(ctx, "mailto URI: header \"%s\" given twice", n);
	else if (str_eq_icase(n, "subject") && m->subject != NULL)
		ret = fail(ctx, "mailto URI: header \"%s\" given twice", n);
	else if (str_eq_icase(n, "body"))
		m->body = v;
	else if (str_eq_icase(n, "subject"))
		m->subject = v;
	else if (is_ignored(n))
		;
	else if (m->header_count == SIEVE_MAILTO_MAX_HEADERS)
		ret = fail(ctx, "mailto URI: more than %s headers", "16");
	else {
		ARRAY_RESERVE(m->headers, ctx->hdr_cap, m->header_count + 1);
		m->headers[m->header_count].name = n;
		m->headers[m->header_count++].value = v;
	}
	str_free(&value);
	return ret;
}

/* The arrays are built with ARRAY_RESERVE (heap) and moved into the pool
 * at the end, so that nothing outlives the pool. */
static void move_to_pool(struct parse_ctx *ctx)
{
	struct sieve_mailto *m = ctx->m;
	struct sieve_mailto_recipient *r = m->recipients;
	struct sieve_mailto_header *h = m->headers;

	m->recipients = m->recipient_count == 0 ? NULL :
		p_memdup(ctx->pool, r, m->recipient_count * sizeof(*r));
	m->headers = m->header_count == 0 ? NULL :
		p_memdup(ctx->pool, h, m->header_count * sizeof(*h));
	free(r);
	free(h);
}

int sieve_mailto_parse(struct pool *pool, const char *uri, struct sieve_mailto *mailto_r,
		       const char **error_r)
{
	struct parse_ctx ctx = { .pool = pool, .m = mailto_r, .error_r = error_r };
	const char *p, *q;
	int ret = 0;

	memset(mailto_r, 0, sizeof(*mailto_r));
	if (!str_has_prefix_icase(uri, "mailto:")) {
		*error_r = "not a mailto URI";
		return -1;
	}
	p = uri + 7;
	q = strchr(p, '?');
	if (q == NULL)
		q = p + strlen(p);
	if (q > p)
		ret = add_recipients(&ctx, p, (size_t)(q - p), false);
	if (ret == 0 && *q == '?') {
		for (p = q + 1; ret == 0;) {
			const char *amp = strchr(p, '&');
			size_t len = amp == NULL ? strlen(p) : (size_t)(amp - p);

			ret = add_hfield(&ctx, p, len);
			if (amp == NULL)
				break;
			p = amp + 1;
		}
	}
	move_to_pool(&ctx);
	return ret;
}

bool sieve_mailto_is_valid(const char *uri)
{
	struct pool *pool = pool_create(0);
	struct sieve_mailto m;
	const char *error;
	bool ok = sieve_mailto_parse(pool, uri, &m, &error) == 0;

	pool_destroy(&pool);
	return ok;
}

const char *sieve_mailto_capability(const char *uri, const char *capability)
{
	if (!sieve_mailto_is_valid(uri))
		return NULL;
	/* RFC 5436 2.2: "yes" or "no" only with certainty */
	if (str_eq_icase(capability, "online"))
		return "maybe";
	return NULL;
}

void sieve_mailto_encodeurl(const char *src, size_t len, struct str *dest)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];

		if (is_unreserved(c)) {
			str_append_c(dest, (char)c);
		} else {
			str_append_c(dest, '%');
			str_append_c(dest, hex[c >> 4]);
			str_append_c(dest, hex[c & 15]);
		}
	}
}

void sieve_mailto_notify_fill(const struct sieve_mailto *m, struct pool *pool,
			      struct submit_notify *n)
{
	const char **to = p_malloc(pool, sizeof(*to) * (m->recipient_count + 1));
	const char **cc = p_malloc(pool, sizeof(*cc) * (m->recipient_count + 1));
	struct submit_header_field *headers =
		p_malloc(pool, sizeof(*headers) * (m->header_count + 1));

	n->to_count = n->cc_count = 0;
	for (size_t i = 0; i < m->recipient_count; i++) {
		if (m->recipients[i].cc)
			cc[n->cc_count++] = m->recipients[i].address;
		else
			to[n->to_count++] = m->recipients[i].address;
	}
	n->to = to;
	n->cc = cc;
	for (size_t i = 0; i < m->header_count; i++) {
		headers[i].name = m->headers[i].name;
		headers[i].value = m->headers[i].value;
	}
	n->headers = headers;
	n->header_count = m->header_count;
	n->subject = m->subject;
	n->body = m->body;
}
