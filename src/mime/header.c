/* header.c: Content-Type, Content-Disposition, parameters with RFC 2231,
 * Content-Language and RFC 2047 encoded words.  See header.h. */
#include "mime/header.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/utf8.h"
#include "mime/charset.h"
#include "mime/decode.h"
#include "mime/lex.h"

/* ---- RFC 2047 ---- */

#define CHARSET_NAME_MAX 64

/* A run of adjacent encoded words in one charset, not yet converted. */
struct word_group {
	bool active;
	const char *raw_start, *raw_end;
	char charset[CHARSET_NAME_MAX];
	struct str bytes;
};

/* encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
 * Returns the length of the word at p, or 0 when there is none. */
static size_t parse_encoded_word(const char *p, const char *end,
				 const char **charset_r, size_t *charset_len_r,
				 char *encoding_r, const char **text_r,
				 size_t *text_len_r)
{
	const char *q, *cs;

	if (end - p < 8 || p[0] != '=' || p[1] != '?')
		return 0;
	cs = q = p + 2;
	while (q < end && *q != '?' && (unsigned char)*q > ' ')
		q++;
	if (q == cs || end - q < 5 || *q != '?' || q[2] != '?')
		return 0;
	*charset_r = cs;
	*charset_len_r = (size_t)(q - cs);
	*encoding_r = q[1];
	if (*encoding_r != 'B' && *encoding_r != 'b' &&
	    *encoding_r != 'Q' && *encoding_r != 'q')
		return 0;
	q += 3;
	*text_r = q;
	while (q < end && *q != '?' && (unsigned char)*q > ' ')
		q++;
	if (end - q < 2 || q[0] != '?' || q[1] != '=')
		return 0;
	*text_len_r = (size_t)(q - *text_r);
	return (size_t)(q + 2 - p);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Q: "_" is 0x20, "=XX" a byte, anything else itself. */
static void decode_q(const char *p, size_t len, struct str *dest)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '_') {
			str_append_c(dest, ' ');
		} else if (p[i] == '=' && i + 2 < len &&
			   hexval((unsigned char)p[i + 1]) >= 0 &&
			   hexval((unsigned char)p[i + 2]) >= 0) {
			str_append_c(dest, (char)(hexval((unsigned char)p[i + 1]) * 16 +
						  hexval((unsigned char)p[i + 2])));
			i += 2;
		} else {
			str_append_c(dest, p[i]);
		}
	}
}

static void append_unfolded(struct str *dest, const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p != '\r' && *p != '\n')
			str_append_c(dest, *p);
	}
}

static void group_flush(struct word_group *g, struct str *dest)
{
	if (!g->active)
		return;
	if (g->charset[0] == '\0' ||
	    mime_charset_to_utf8(g->charset, g->bytes.data, g->bytes.len,
				 dest) < 0)
		append_unfolded(dest, g->raw_start, g->raw_end);
	str_truncate(&g->bytes, 0);
	g->active = false;
}

void mime_header_decode_utf8(const char *value, size_t len, struct str *dest)
{
	const char *p = value, *end = value + len, *ws = NULL;
	struct word_group g = { .active = false, .bytes = STR_INIT };

	while (p < end) {
		const char *cs, *text;
		size_t cs_len, text_len, wlen;
		char enc;

		if (*p == '=' &&
		    (wlen = parse_encoded_word(p, end, &cs, &cs_len, &enc,
					       &text, &text_len)) > 0) {
			bool same = g.active && cs_len < CHARSET_NAME_MAX &&
				strlen(g.charset) == cs_len &&
				strncasecmp(g.charset, cs, cs_len) == 0;
			if (!same) {
				if (g.active) {
					group_flush(&g, dest);
				} else if (ws != NULL) {
					append_unfolded(dest, ws, p);
				}
				g.active = true;
				g.raw_start = p;
				if (cs_len < CHARSET_NAME_MAX) {
					memcpy(g.charset, cs, cs_len);
					g.charset[cs_len] = '\0';
				} else {
					g.charset[0] = '\0';
				}
			}
			ws = NULL;
			if (enc == 'B' || enc == 'b')
				mime_decode_base64(text, text_len, &g.bytes);
			else
				decode_q(text, text_len, &g.bytes);
			g.raw_end = p + wlen;
			p += wlen;
			continue;
		}
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			if (ws == NULL)
				ws = p;
			p++;
			continue;
		}
		group_flush(&g, dest);
		if (ws != NULL) {
			append_unfolded(dest, ws, p);
			ws = NULL;
		}
		str_append_c(dest, *p);
		p++;
	}
	group_flush(&g, dest);
	if (ws != NULL)
		append_unfolded(dest, ws, end);
	str_free(&g.bytes);
}

/* ---- parameters (RFC 2045 section 5.1, RFC 2231) ---- */

struct raw_param {
	const char *name;	/* base name, without the RFC 2231 suffix */
	const char *value;
	int section;		/* -1: no "*N" */
	bool extended;		/* "*" after the name or the section */
};

/* parameter := attribute "=" value
 * value := token / quoted-string */
static const char *parse_value(struct pool *pool, const char **pp)
{
	const char *p = *pp, *start;
	struct str s = STR_INIT;
	const char *ret;

	if (*p == '"') {
		mime_lex_quoted_string(&p, &s);
		ret = p_strndup(pool, s.data == NULL ? "" : s.data, s.len);
		str_free(&s);
		*pp = p;
		return ret;
	}
	start = p;
	size_t n = mime_lex_span(p, MIME_LEX_TSPECIALS);
	const char *after = p + n;
	mime_lex_skip_cfws(&after, NULL);
	if (*after == ';' || *after == '\0') {
		*pp = after;
		return p_strndup(pool, start, n);
	}
	/* not a token: take everything to the next ";" */
	while (*p != '\0' && *p != ';')
		p++;
	const char *e = p;
	while (e > start && mime_lex_is_space((unsigned char)e[-1]))
		e--;
	*pp = p;
	return p_strndup(pool, start, (size_t)(e - start));
}

/* Splits "name*12*" into base, section and extended flag. */
static void split_name(struct pool *pool, const char *name, size_t len,
		       struct raw_param *rp)
{
	const char *star = memchr(name, '*', len);

	rp->section = -1;
	rp->extended = false;
	if (star != NULL && star > name) {
		const char *s = star + 1, *end = name + len;
		if (s == end) {
			rp->extended = true;
		} else if (*s >= '0' && *s <= '9') {
			int n = 0;
			while (s < end && *s >= '0' && *s <= '9' && n < 100000)
				n = n * 10 + (*s++ - '0');
			if (s < end && *s == '*') {
				rp->extended = true;
				s++;
			}
			if (s != end)
				goto literal;
			rp->section = n;
		} else {
			goto literal;
		}
		rp->name = p_strndup(pool, name, (size_t)(star - name));
		return;
	}
literal:
	rp->section = -1;
	rp->extended = false;
	rp->name = p_strndup(pool, name, len);
}

static int cmp_section(const void *a, const void *b)
{
	const struct raw_param *pa = *(const struct raw_param *const *)a;
	const struct raw_param *pb = *(const struct raw_param *const *)b;
	return (pa->section > pb->section) - (pa->section < pb->section);
}

/* Appends an RFC 2231 section that was not extended to an extended
 * value: bytes outside attribute-char are percent-encoded. */
static void append_pct(struct str *dest, const char *v)
{
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;
		if (c <= 0x20 || c >= 0x7f || strchr("*'%()<>@,;:\\\"/[]?=", c))
			str_printfa(dest, "%%%02X", c);
		else
			str_append_c(dest, (char)c);
	}
}

/* Joins the continuations of raw[i] (and later sections of the same name)
 * into one parameter. */
static void join_sections(struct pool *pool, struct raw_param *raw,
			  unsigned int count, unsigned int first,
			  bool *used, struct mime_param *out)
{
	struct raw_param **secs = xmalloc(sizeof(*secs) * count);
	unsigned int n = 0;
	struct str v = STR_INIT;

	for (unsigned int j = first; j < count; j++) {
		if (used[j] || raw[j].section < 0 ||
		    !str_eq_icase(raw[j].name, raw[first].name))
			continue;
		used[j] = true;
		bool dup = false;
		for (unsigned int k = 0; k < n; k++)
			dup = dup || secs[k]->section == raw[j].section;
		if (!dup)
			secs[n++] = &raw[j];
	}
	qsort(secs, n, sizeof(*secs), cmp_section);
	bool extended = secs[0]->extended;
	for (unsigned int k = 0; k < n; k++) {
		if (extended && !secs[k]->extended)
			append_pct(&v, secs[k]->value);
		else
			str_append(&v, secs[k]->value);
	}
	out->name = extended ? p_strdup_printf(pool, "%s*", raw[first].name) :
		raw[first].name;
	out->value = p_strndup(pool, v.data == NULL ? "" : v.data, v.len);
	str_free(&v);
	free(secs);
}

void mime_header_parse_params(struct pool *pool, const char *p,
			      struct mime_param **params_r,
			      unsigned int *count_r)
{
	struct raw_param raw[MIME_HEADER_MAX_PARAMS];
	unsigned int count = 0;

	while (count < MIME_HEADER_MAX_PARAMS) {
		mime_lex_skip_cfws(&p, NULL);
		if (*p == '\0')
			break;
		if (*p == ';') {
			p++;
			continue;
		}
		size_t n = mime_lex_span(p, MIME_LEX_TSPECIALS);
		if (n == 0) {
			p++;
			continue;
		}
		const char *name = p;
		p += n;
		mime_lex_skip_cfws(&p, NULL);
		if (*p != '=') {
			while (*p != '\0' && *p != ';')
				p++;
			continue;
		}
		p++;
		mime_lex_skip_cfws(&p, NULL);
		split_name(pool, name, n, &raw[count]);
		raw[count].value = parse_value(pool, &p);
		count++;
		while (*p != '\0' && *p != ';')
			p++;
	}

	*params_r = NULL;
	*count_r = 0;
	if (count == 0)
		return;

	struct mime_param *out = p_malloc(pool, sizeof(*out) * count);
	bool used[MIME_HEADER_MAX_PARAMS] = { false };
	unsigned int n_out = 0;

	for (unsigned int i = 0; i < count; i++) {
		if (used[i])
			continue;
		if (raw[i].section >= 0) {
			join_sections(pool, raw, count, i, used, &out[n_out++]);
			continue;
		}
		used[i] = true;
		out[n_out].name = raw[i].extended ?
			p_strdup_printf(pool, "%s*", raw[i].name) : raw[i].name;
		out[n_out].value = raw[i].value;
		n_out++;
	}
	*params_r = out;
	*count_r = n_out;
}

int mime_header_parse_content_type(struct pool *pool, const char *value,
				   const char **type_r, const char **subtype_r,
				   struct mime_param **params_r,
				   unsigned int *count_r)
{
	const char *p = value, *type;
	size_t type_len, sub_len;

	mime_lex_skip_cfws(&p, NULL);
	type = p;
	type_len = mime_lex_span(p, MIME_LEX_TSPECIALS);
	p += type_len;
	mime_lex_skip_cfws(&p, NULL);
	if (type_len == 0 || *p != '/')
		return -1;
	p++;
	mime_lex_skip_cfws(&p, NULL);
	sub_len = mime_lex_span(p, MIME_LEX_TSPECIALS);
	if (sub_len == 0)
		return -1;
	*type_r = p_strndup(pool, type, type_len);
	*subtype_r = p_strndup(pool, p, sub_len);
	p += sub_len;
	mime_header_parse_params(pool, p, params_r, count_r);
	return 0;
}

int mime_header_parse_disposition(struct pool *pool, const char *value,
				  const char **type_r,
				  struct mime_param **params_r,
				  unsigned int *count_r)
{
	const char *p = value;
	size_t n;

	mime_lex_skip_cfws(&p, NULL);
	n = mime_lex_span(p, MIME_LEX_TSPECIALS);
	if (n == 0)
		return -1;
	*type_r = p_strndup(pool, p, n);
	mime_header_parse_params(pool, p + n, params_r, count_r);
	return 0;
}

const char *mime_header_parse_token(struct pool *pool, const char *value)
{
	const char *p = value;
	size_t n;

	mime_lex_skip_cfws(&p, NULL);
	n = mime_lex_span(p, MIME_LEX_TSPECIALS);
	return n == 0 ? NULL : p_strndup(pool, p, n);
}

void mime_header_parse_language(struct pool *pool, const char *value,
				const char ***tags_r, unsigned int *count_r)
{
	const char *p = value;
	const char *starts[MIME_HEADER_MAX_PARAMS];
	size_t lens[MIME_HEADER_MAX_PARAMS];
	unsigned int count = 0;

	while (count < MIME_HEADER_MAX_PARAMS) {
		mime_lex_skip_cfws(&p, NULL);
		if (*p == '\0')
			break;
		size_t n = mime_lex_span(p, ",()\"");
		if (n == 0) {
			p++;
			continue;
		}
		starts[count] = p;
		lens[count++] = n;
		p += n;
	}
	*tags_r = NULL;
	*count_r = count;
	if (count == 0)
		return;
	*tags_r = p_malloc(pool, sizeof(char *) * count);
	for (unsigned int i = 0; i < count; i++)
		(*tags_r)[i] = p_strndup(pool, starts[i], lens[i]);
}

const char *mime_param_find(const struct mime_param *params,
			    unsigned int count, const char *name,
			    bool *extended_r)
{
	size_t len = strlen(name);

	for (unsigned int i = 0; i < count; i++) {
		const char *n = params[i].name;
		if (strncasecmp(n, name, len) != 0)
			continue;
		if (n[len] == '\0' || (n[len] == '*' && n[len + 1] == '\0')) {
			if (extended_r != NULL)
				*extended_r = n[len] == '*';
			return params[i].value;
		}
	}
	return NULL;
}

/* extended-value := [charset] "'" [language] "'" extended-other-values */
static void decode_extended(const char *value, struct str *dest)
{
	const char *q1 = strchr(value, '\''), *q2 = NULL, *text = value;
	char charset[CHARSET_NAME_MAX] = "";
	struct str bytes = STR_INIT;

	if (q1 != NULL)
		q2 = strchr(q1 + 1, '\'');
	if (q2 != NULL) {
		size_t n = (size_t)(q1 - value);
		if (n < sizeof(charset)) {
			memcpy(charset, value, n);
			charset[n] = '\0';
		}
		text = q2 + 1;
	}
	for (const char *p = text; *p != '\0'; p++) {
		if (*p == '%' && hexval((unsigned char)p[1]) >= 0 &&
		    hexval((unsigned char)p[2]) >= 0) {
			str_append_c(&bytes, (char)(hexval((unsigned char)p[1]) * 16 +
						    hexval((unsigned char)p[2])));
			p += 2;
		} else {
			str_append_c(&bytes, *p);
		}
	}
	if (charset[0] == '\0' ||
	    mime_charset_to_utf8(charset, bytes.data, bytes.len, dest) < 0)
		str_append_n(dest, bytes.data, bytes.len);
	str_free(&bytes);
}

int mime_param_decode_extended(const char *value, struct str *dest)
{
	const char *q1 = strchr(value, '\''), *q2 = NULL;
	struct str bytes = STR_INIT, out = STR_INIT;
	char charset[CHARSET_NAME_MAX];
	size_t n;
	int ret = -1;

	if (q1 != NULL)
		q2 = strchr(q1 + 1, '\'');
	if (q2 == NULL || (n = (size_t)(q1 - value)) >= sizeof(charset))
		return -1;
	memcpy(charset, value, n);
	charset[n] = '\0';
	for (const char *p = q2 + 1; *p != '\0'; p++) {
		if (*p == '%') {
			int hi = hexval((unsigned char)p[1]);
			int lo = hi < 0 ? -1 : hexval((unsigned char)p[2]);
			if (lo < 0)
				goto out;
			str_append_c(&bytes, (char)(hi * 16 + lo));
			p += 2;
		} else {
			str_append_c(&bytes, *p);
		}
	}
	/* an empty charset: only ASCII can be taken as it is */
	/* (an empty str has no buffer: memcpy may not get NULL) */
	if (mime_charset_to_utf8(charset[0] == '\0' ? "us-ascii" : charset,
				 bytes.len > 0 ? bytes.data : "", bytes.len,
				 &out) < 0)
		goto out;
	for (size_t i = 0; i < out.len;) {
		size_t len = utf8_seq_len((const unsigned char *)out.data + i,
					  out.len - i);
		if (len == 0 || out.data[i] == '\0')
			goto out;
		i += len;
	}
	str_append_n(dest, out.len > 0 ? out.data : "", out.len);
	ret = 0;
out:
	str_free(&bytes);
	str_free(&out);
	return ret;
}

int mime_param_get_utf8(const struct mime_param *params, unsigned int count,
			const char *name, struct str *dest)
{
	size_t len = strlen(name);
	const char *plain = NULL;

	for (unsigned int i = 0; i < count; i++) {
		const char *n = params[i].name;
		if (strncasecmp(n, name, len) != 0)
			continue;
		if (n[len] == '*' && n[len + 1] == '\0') {
			decode_extended(params[i].value, dest);
			return 0;
		}
		if (n[len] == '\0' && plain == NULL)
			plain = params[i].value;
	}
	if (plain == NULL)
		return -1;
	mime_header_decode_utf8(plain, strlen(plain), dest);
	return 0;
}
