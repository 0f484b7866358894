/* imap-quote.c: writing IMAP strings (atom, quoted or literal) in responses.
 * See imap-quote.h for the grammar. */
#include "syntax/imap-quote.h"
#include "base/utf8.h"

#include <string.h>
#include <strings.h>

/* ASTRING-CHAR = ATOM-CHAR / resp-specials: any CHAR except "(", ")",
 * "{", SP, CTL, "%", "*", DQUOTE and "\" ("]" is allowed). */
static bool is_astring_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\", c) == NULL;
}

/* Whether data can be a quoted string (see imap_quote_string()). */
static bool can_quote(const unsigned char *data, size_t len,
		      enum imap_quote_flags flags)
{
	if (len > IMAP_QUOTE_MAX_QUOTED_LEN)
		return false;
	for (size_t i = 0; i < len; ) {
		unsigned char c = data[i];
		if (c == '\0' || c == '\r' || c == '\n')
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((flags & IMAP_QUOTE_FLAG_UTF8) == 0)
			return false;
		size_t n = utf8_seq_len(data + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static void append_quoted(struct str *dest, const unsigned char *data,
			  size_t len)
{
	size_t start = 0;

	str_append_c(dest, '"');
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '"' || data[i] == '\\') {
			str_append_n(dest, data + start, i - start);
			str_append_c(dest, '\\');
			start = i;
		}
	}
	str_append_n(dest, data + start, len - start);
	str_append_c(dest, '"');
}

void imap_quote_string(struct str *dest, const void *data, size_t len,
		       enum imap_quote_flags flags)
{
	const unsigned char *d = data;

	if (len == 0) {
		str_append(dest, "\"\"");
	} else if (can_quote(d, len, flags)) {
		append_quoted(dest, d, len);
	} else {
		str_printfa(dest, "{%zu}\r\n", len);
		str_append_n(dest, d, len);
	}
}

void imap_quote_astring(struct str *dest, const void *data, size_t len,
			enum imap_quote_flags flags)
{
	const unsigned char *d = data;
	size_t i;

	for (i = 0; i < len; i++) {
		if (!is_astring_char(d[i]))
			break;
	}
	if (len > 0 && i == len &&
	    !(len == 3 && strncasecmp((const char *)d, "NIL", 3) == 0))
		str_append_n(dest, d, len);
	else
		imap_quote_string(dest, d, len, flags);
}

void imap_quote_nstring(struct str *dest, const void *data, size_t len,
			enum imap_quote_flags flags)
{
	if (data == NULL)
		str_append(dest, "NIL");
	else
		imap_quote_string(dest, data, len, flags);
}

void imap_quote_astring_c(struct str *dest, const char *s,
			  enum imap_quote_flags flags)
{
	imap_quote_astring(dest, s, strlen(s), flags);
}

void imap_quote_string_c(struct str *dest, const char *s,
			 enum imap_quote_flags flags)
{
	imap_quote_string(dest, s, strlen(s), flags);
}

void imap_quote_nstring_c(struct str *dest, const char *s,
			  enum imap_quote_flags flags)
{
	imap_quote_nstring(dest, s, s == NULL ? 0 : strlen(s), flags);
}
