/* mutf7.c: modified UTF-7 <-> UTF-8 (RFC 3501 section 5.1.3).
 *
 * Encoding collects each run of characters that cannot stand for
 * themselves, as UTF-16 code units, into one "&...-" run; decoding checks
 * that the input is exactly what encoding would have produced. */
#include "syntax/mutf7.h"
#include "base/utf8.h"

#include "base/str.h"

#include <string.h>

static const char mbase64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Printable US-ASCII stands for itself in modified UTF-7. */
static bool is_direct(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* Decodes one UTF-8 character at *p (strictly, RFC 3629).  Returns the
 * code point and advances *p, or returns UINT32_MAX on invalid input. */
static uint32_t utf8_next(const unsigned char **p)
{
	const unsigned char *s = *p;
	uint32_t c = s[0];
	unsigned int n;
	unsigned char lo = 0x80, hi = 0xbf;

	if (c < 0x80) {
		*p = s + 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 1;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 2;
		c &= 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 3;
		c &= 0x07;
		if (s[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		return UINT32_MAX;
	}
	if (s[1] < lo || s[1] > hi)
		return UINT32_MAX;
	for (unsigned int i = 1; i <= n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)	/* also stops at NUL */
			return UINT32_MAX;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*p = s + n + 1;
	return c;
}

static void utf8_append(struct str *dest, uint32_t c)
{
	char buf[4];

	str_append_n(dest, buf, utf8_encode(c, buf));
}

/* Modified BASE64 encoder state: up to 5 pending bits. */
struct b64_writer {
	struct str *dest;
	uint32_t bits;
	unsigned int nbits;
};

static void b64_put16(struct b64_writer *w, uint32_t unit)
{
	w->bits = (w->bits << 16) | unit;
	w->nbits += 16;
	while (w->nbits >= 6) {
		w->nbits -= 6;
		str_append_c(w->dest, mbase64[(w->bits >> w->nbits) & 0x3f]);
	}
	w->bits &= (1u << w->nbits) - 1;
}

static void b64_finish(struct b64_writer *w)
{
	if (w->nbits > 0)
		str_append_c(w->dest, mbase64[(w->bits << (6 - w->nbits)) & 0x3f]);
	w->bits = 0;
	w->nbits = 0;
}

int mutf7_encode(const char *src, struct str *dest)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t orig_len = dest->len;
	struct b64_writer w = { dest, 0, 0 };
	bool in_b64 = false;

	while (*p != '\0') {
		uint32_t c = utf8_next(&p);
		if (c == UINT32_MAX) {
			str_truncate(dest, orig_len);
			return -1;
		}
		if (is_direct(c)) {
			if (in_b64) {
				b64_finish(&w);
				str_append_c(dest, '-');
				in_b64 = false;
			}
			if (c == '&')
				str_append(dest, "&-");
			else
				str_append_c(dest, (char)c);
			continue;
		}
		if (!in_b64) {
			str_append_c(dest, '&');
			in_b64 = true;
		}
		if (c >= 0x10000) {
			c -= 0x10000;
			b64_put16(&w, 0xd800 | (c >> 10));
			b64_put16(&w, 0xdc00 | (c & 0x3ff));
		} else {
			b64_put16(&w, c);
		}
	}
	if (in_b64) {
		b64_finish(&w);
		str_append_c(dest, '-');
	}
	return 0;
}

static int b64_value(unsigned char c)
{
	if (c == '\0')
		return -1;
	const char *pos = strchr(mbase64, c);
	return pos == NULL ? -1 : (int)(pos - mbase64);
}

/* One "&...-" run, p just after the "&".  Returns the position after the
 * "-" or NULL when invalid. */
static const char *decode_run(const char *p, struct str *dest)
{
	uint32_t bits = 0, high = 0;
	unsigned int nbits = 0;
	bool any = false;

	for (; *p != '-'; p++) {
		int v = b64_value((unsigned char)*p);
		if (v < 0)
			return NULL;	/* also an unterminated run */
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t unit = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		any = true;
		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff)
				return NULL;
			utf8_append(dest, 0x10000 + ((high - 0xd800) << 10) +
				    (unit - 0xdc00));
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			return NULL;
		} else if (unit == 0 || is_direct(unit)) {
			return NULL;
		} else {
			utf8_append(dest, unit);
		}
	}
	/* at most 5 leftover bits, all zero; no dangling high surrogate */
	if (!any || nbits >= 6 || bits != 0 || high != 0)
		return NULL;
	return p + 1;
}

int mutf7_decode(const char *src, struct str *dest)
{
	const char *p = src;
	size_t orig_len = dest->len;
	bool after_run = false;

	while (*p != '\0') {
		unsigned char c = (unsigned char)*p;
		if (c != '&') {
			if (!is_direct(c))
				goto invalid;
			str_append_c(dest, (char)c);
			p++;
			after_run = false;
			continue;
		}
		if (p[1] == '-') {
			str_append_c(dest, '&');
			p += 2;
			after_run = false;
			continue;
		}
		/* two runs in a row must have been one */
		if (after_run)
			goto invalid;
		p = decode_run(p + 1, dest);
		if (p == NULL)
			goto invalid;
		after_run = true;
	}
	return 0;
invalid:
	str_truncate(dest, orig_len);
	return -1;
}

bool mutf7_is_valid(const char *src)
{
	struct str tmp = STR_INIT;
	int ret = mutf7_decode(src, &tmp);

	str_free(&tmp);
	return ret == 0;
}
