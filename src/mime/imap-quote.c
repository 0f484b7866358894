/* imap-quote.c: quoted strings and literals for ENVELOPE and
 * BODYSTRUCTURE, by the same rules as every other string the server sends
 * (base/imap-quote.h).  See imap-quote.h. */
#include "mime/imap-quote.h"
#include "base/imap-quote.h"

#include <string.h>

static enum imap_quote_flags mime_imap_quote_flags(enum mime_imap_flags flags)
{
	return (flags & MIME_IMAP_FLAG_UTF8) != 0 ? IMAP_QUOTE_FLAG_UTF8 : 0;
}

void mime_imap_quote_string(struct str *dest, const char *data, size_t len,
			    enum mime_imap_flags flags)
{
	imap_quote_string(dest, data, len, mime_imap_quote_flags(flags));
}

void mime_imap_quote_nstring(struct str *dest, const char *s,
			     enum mime_imap_flags flags)
{
	imap_quote_nstring_c(dest, s, mime_imap_quote_flags(flags));
}
