/* imap-quote.h: the IMAP string forms of the values in an ENVELOPE or
 * BODYSTRUCTURE (RFC 9051 section 9):
 *
 *   string  = quoted / literal
 *   quoted  = DQUOTE *QUOTED-CHAR DQUOTE
 *   QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> /
 *                 "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4
 *   literal = "{" number64 "}" CRLF *CHAR8
 *   nstring = string / nil
 *
 * The same rules as src/imap/quote.c, kept minimal here because src/mime
 * sits below src/imap (DESIGN.md: dependencies point down) while the
 * ENVELOPE and BODYSTRUCTURE strings are built here, at delivery, to be
 * cached in the index.  Append-only; never writes to a connection. */
#ifndef ROOST_MIME_IMAP_QUOTE_H
#define ROOST_MIME_IMAP_QUOTE_H

#include "base/base.h"
#include "base/str.h"


enum mime_imap_flags {
	/* Valid UTF-8 may go in quoted strings (IMAP4rev2 or UTF8=ACCEPT).
	 * Without it any 8-bit byte forces a literal, which every client
	 * reads: the form to cache when the reader is not known. */
	MIME_IMAP_FLAG_UTF8 = 0x01,
	/* IMAP4rev2 syntax (RFC 9051): message/global is written as a
	 * body-type-msg with its envelope and body.  Without it, as IMAP4rev1
	 * (RFC 3501) requires, message/global is a body-type-basic. */
	MIME_IMAP_FLAG_IMAP4REV2 = 0x02,
};

/* Appends len bytes as a quoted string when every byte is a TEXT-CHAR
 * (or valid UTF-8 with MIME_IMAP_FLAG_UTF8), there is no NUL and it is at
 * most IMAP_QUOTE_MAX_QUOTED_LEN (base/imap-quote.h) long; else as a literal. */
void mime_imap_quote_string(struct str *dest, const char *data, size_t len,
			    enum mime_imap_flags flags);
/* The same for a C string, or NIL when s is NULL. */
void mime_imap_quote_nstring(struct str *dest, const char *s,
			     enum mime_imap_flags flags);

#endif
