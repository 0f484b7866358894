/* imap-quote.c: quoted strings and literals for ENVELOPE and
 * BODYSTRUCTURE.  See imap-quote.h. */
#include "mime/imap-quote.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at p (RFC 3629), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (left < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

static bool can_quote(const unsigned char *p, size_t len,
		      enum mime_imap_flags flags)
{
	if (len > MIME_IMAP_QUOTE_MAX_QUOTED_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == 0 || p[i] == '\r' || p[i] == '\n')
			return false;
		if (p[i] >= 0x80) {
			size_t n;
			if ((flags & MIME_IMAP_FLAG_UTF8) == 0 ||
			    (n = utf8_len(p + i, len - i)) == 0)
				return false;
			i += n - 1;
		}
	}
	return true;
}

void mime_imap_quote_string(struct str *dest, const char *data, size_t len,
			    enum mime_imap_flags flags)
{
	if (!can_quote((const unsigned char *)data, len, flags)) {
		str_printfa(dest, "{%zu}\r\n", len);
		str_append_n(dest, data, len);
		return;
	}
	str_append_c(dest, '"');
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '"' || data[i] == '\\')
			str_append_c(dest, '\\');
		str_append_c(dest, data[i]);
	}
	str_append_c(dest, '"');
}

void mime_imap_quote_nstring(struct str *dest, const char *s,
			     enum mime_imap_flags flags)
{
	if (s == NULL)
		str_append(dest, "NIL");
	else
		mime_imap_quote_string(dest, s, strlen(s), flags);
}
