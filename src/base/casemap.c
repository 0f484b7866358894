/* casemap.c: i;unicode-casemap (RFC 5051) and i;ascii-casemap (RFC 4790).
 *
 * The Unicode tables come from libunistring (uc_totitle, uc_decomposition),
 * never from the C library's locale.  This file must stay free of
 * allocation in its compare/contains fast paths for ASCII input, because
 * SORT calls it for every message of a mailbox. */
#include "base/casemap.h"

#include <string.h>
#include <unicase.h>
#include <uninorm.h>

/* RFC 3629 section 4:
 *   UTF8-char   = UTF8-1 / UTF8-2 / UTF8-3 / UTF8-4
 *   UTF8-1      = %x00-7F
 *   UTF8-2      = %xC2-DF UTF8-tail
 *   UTF8-3      = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
 *                 %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
 *   UTF8-4      = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
 *                 %xF4 %x80-8F 2( UTF8-tail )
 *   UTF8-tail   = %x80-BF
 * Decodes one UTF8-char at in[0..len) into *cp_r and returns its length,
 * or returns 0 when the bytes are not a UTF8-char. */
static size_t utf8_decode(const unsigned char *in, size_t len, ucs4_t *cp_r)
{
	unsigned char c = in[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;
	ucs4_t cp;

	if (c < 0x80) {
		*cp_r = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else {
		return 0;
	}
	if (len < n || in[1] < lo || in[1] > hi)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if (in[i] < 0x80 || in[i] > 0xbf)
			return 0;
		cp = cp << 6 | (in[i] & 0x3f);
	}
	*cp_r = cp;
	return n;
}

static void utf8_append(struct str *dest, ucs4_t cp)
{
	char buf[4];
	size_t n;

	if (cp < 0x80) {
		buf[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		buf[0] = (char)(0xc0 | cp >> 6);
		buf[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | cp >> 12);
		buf[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		buf[0] = (char)(0xf0 | cp >> 18);
		buf[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		buf[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		buf[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	str_append_n(dest, buf, n);
}

/* RFC 5051 step (2)(b): "If the resulting codepoint from (2)(a) has a
 * decomposition property of any type in UnicodeData.txt, the codepoint is
 * converted to the codepoints in the decomposition property.  This step
 * is recursively applied to each of the resulting codepoints until no
 * more decomposition is possible (effectively Normalization Form KD)."
 * uc_decomposition() also decomposes Hangul syllables algorithmically, as
 * NFKD does.  The recursion is at most a few levels deep (Unicode data). */
static void append_decomposed(struct str *dest, ucs4_t cp)
{
	ucs4_t decomp[UC_DECOMPOSITION_MAX_LENGTH];
	int tag;
	int n = uc_decomposition(cp, &tag, decomp);

	if (n <= 0) {
		utf8_append(dest, cp);
		return;
	}
	for (int i = 0; i < n; i++)
		append_decomposed(dest, decomp[i]);
}

bool casemap_unicode(const char *in, size_t len, struct str *dest)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t start = dest->len;
	size_t i = 0;

	while (i < len) {
		/* US-ASCII: titlecase is uppercase, nothing decomposes */
		size_t run = i;
		while (run < len && p[run] < 0x80)
			run++;
		if (run > i) {
			size_t at = dest->len;
			str_append_n(dest, p + i, run - i);
			for (size_t k = at; k < dest->len; k++) {
				if (dest->data[k] >= 'a' && dest->data[k] <= 'z')
					dest->data[k] -= 'a' - 'A';
			}
			i = run;
			continue;
		}
		ucs4_t cp;
		size_t n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {
			/* step (1)(b): discard the partial preparation
			 * and use the original string with i;octet */
			str_truncate(dest, start);
			str_append_n(dest, in, len);
			return false;
		}
		/* step (2)(a): the simple titlecase mapping (the
		 * uppercase mapping where UnicodeData.txt gives none) */
		append_decomposed(dest, uc_totitle(cp));
		i += n;
	}
	if (dest->data == NULL)
		str_append_n(dest, "", 0);
	return true;
}

static bool is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] >= 0x80)
			return false;
	}
	return true;
}

static int octet_compare(const char *a, size_t a_len,
			 const char *b, size_t b_len)
{
	int ret = memcmp(a, b, ROOST_MIN(a_len, b_len));
	if (ret != 0)
		return ret;
	return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

static bool octet_contains(const char *haystack, size_t haystack_len,
			   const char *needle, size_t needle_len)
{
	if (needle_len == 0)
		return true;
	return memmem(haystack, haystack_len, needle, needle_len) != NULL;
}

int casemap_unicode_compare(const char *a, size_t a_len,
			    const char *b, size_t b_len)
{
	if (is_ascii(a, a_len) && is_ascii(b, b_len))
		return casemap_ascii_compare(a, a_len, b, b_len);

	struct str pa = STR_INIT, pb = STR_INIT;
	casemap_unicode(a, a_len, &pa);
	casemap_unicode(b, b_len, &pb);
	int ret = octet_compare(pa.data, pa.len, pb.data, pb.len);
	str_free(&pa);
	str_free(&pb);
	return ret;
}

bool casemap_unicode_contains(const char *haystack, size_t haystack_len,
			      const char *needle, size_t needle_len)
{
	if (is_ascii(haystack, haystack_len) && is_ascii(needle, needle_len))
		return casemap_ascii_contains(haystack, haystack_len,
					      needle, needle_len);

	struct str ph = STR_INIT, pn = STR_INIT;
	casemap_unicode(haystack, haystack_len, &ph);
	casemap_unicode(needle, needle_len, &pn);
	bool ret = octet_contains(ph.data, ph.len, pn.data, pn.len);
	str_free(&ph);
	str_free(&pn);
	return ret;
}

static inline unsigned char ascii_upper(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - ('a' - 'A')) : c;
}

void casemap_ascii(const char *in, size_t len, struct str *dest)
{
	size_t at = dest->len;

	str_append_n(dest, in, len);
	for (size_t k = at; k < dest->len; k++)
		dest->data[k] = (char)ascii_upper((unsigned char)dest->data[k]);
}

int casemap_ascii_compare(const char *a, size_t a_len,
			  const char *b, size_t b_len)
{
	const unsigned char *pa = (const unsigned char *)a;
	const unsigned char *pb = (const unsigned char *)b;
	size_t n = ROOST_MIN(a_len, b_len);

	for (size_t i = 0; i < n; i++) {
		unsigned char ca = ascii_upper(pa[i]), cb = ascii_upper(pb[i]);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

bool casemap_ascii_contains(const char *haystack, size_t haystack_len,
			    const char *needle, size_t needle_len)
{
	const unsigned char *h = (const unsigned char *)haystack;
	const unsigned char *n = (const unsigned char *)needle;

	if (needle_len == 0)
		return true;
	if (needle_len > haystack_len)
		return false;
	/* quadratic in the worst case; SEARCH over long texts goes through
	 * the full-text index, not through this */
	for (size_t i = 0; i + needle_len <= haystack_len; i++) {
		size_t k = 0;
		while (k < needle_len && ascii_upper(h[i + k]) == ascii_upper(n[k]))
			k++;
		if (k == needle_len)
			return true;
	}
	return false;
}
