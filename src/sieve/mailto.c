/* mailto.c: mailto URIs as enotify methods (RFC 6068 as RFC 5436 uses
 * it).  See mailto.h. */
#include "sieve/mailto.h"

#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "base/utf8.h"
#include "sieve/fields.h"
#include "sieve/mime-edit.h"

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

static void write_recipients(struct str *dest, const char *name,
			     const struct sieve_mailto *m, bool cc)
{
	bool first = true;

	for (size_t i = 0; i < m->recipient_count; i++) {
		if (m->recipients[i].cc != cc)
			continue;
		str_append(dest, first ? name : ",\r\n ");
		str_append(dest, m->recipients[i].address);
		first = false;
	}
	if (!first)
		str_append(dest, "\r\n");
}

void sieve_mailto_compose(const struct sieve_mailto *m,
			  const struct sieve_mailto_notify *n, struct str *dest)
{
	struct sieve_header hdr;
	struct str subject = STR_INIT;

	/* RFC 5436 2.7.1: Auto-Submitted above the kept Received fields */
	str_printfa(dest, "Auto-Submitted: auto-notified; owner-email=\"%s\"\r\n", n->owner);
	sieve_fields_parse(n->trigger, n->trigger_size, &hdr);
	for (size_t i = 0; i < hdr.count; i++) {
		const struct sieve_raw_field *f = &hdr.fields[i];

		if (!sieve_fields_name_is(f, "Received"))
			continue;
		sieve_fields_append_lines(dest, n->trigger + f->start, f->end - f->start, true);
		if (i + 1 == hdr.count && hdr.unterminated)
			str_append(dest, "\r\n");
	}
	str_append(dest, "Date: ");
	sieve_mime_edit_date(dest, n->date);
	str_append(dest, "\r\n");
	str_printfa(dest, "Message-ID: %s\r\n", n->message_id);
	str_printfa(dest, "From: %s\r\n", n->from != NULL && strpbrk(n->from, "\r\n") == NULL &&
		    strlen(n->from) <= SIEVE_MAILTO_MAX_ADDRESS ? n->from : n->owner);
	write_recipients(dest, "To: ", m, false);
	write_recipients(dest, "Cc: ", m, true);
	if (n->message != NULL) {
		str_append(&subject, n->message);
	} else if (m->subject != NULL) {
		str_append(&subject, m->subject);
	} else {
		for (size_t i = 0; i < hdr.count && subject.len == 0; i++) {
			if (sieve_fields_name_is(&hdr.fields[i], "Subject"))
				sieve_fields_value_utf8(&hdr.fields[i], &subject);
		}
	}
	/* a :message may hold line breaks: one line */
	for (size_t i = 0; i < subject.len; i++) {
		if (subject.data[i] == '\r' || subject.data[i] == '\n' || subject.data[i] == '\t')
			subject.data[i] = ' ';
	}
	if (subject.len > 0 && sieve_fields_value_is_valid(subject.data, subject.len))
		sieve_fields_write(dest, "Subject", subject.data, subject.len, true);
	if (n->importance != NULL && strcmp(n->importance, "1") == 0)
		str_append(dest, "Importance: high\r\n");
	else if (n->importance != NULL && strcmp(n->importance, "3") == 0)
		str_append(dest, "Importance: low\r\n");
	for (size_t i = 0; i < m->header_count; i++) {
		char *name = xstrdup(m->headers[i].name);

		if (name[0] >= 'a' && name[0] <= 'z')
			name[0] = (char)(name[0] - 'a' + 'A');
		sieve_fields_write(dest, name, m->headers[i].value, strlen(m->headers[i].value), true);
		free(name);
	}
	str_append(dest, "MIME-Version: 1.0\r\n");
	sieve_mime_edit_text_entity(dest, m->body != NULL ? m->body : "",
				    m->body != NULL ? strlen(m->body) : 0, true, true);
	str_free(&subject);
	sieve_fields_free(&hdr);
}
