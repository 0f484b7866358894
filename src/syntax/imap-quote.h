/* imap-quote.h: writing IMAP strings in responses (used by imap/ and by
 * the ENVELOPE and BODYSTRUCTURE writers, which run at delivery).
 *
 * Chooses the form of a string the server sends (atom, quoted string or
 * literal) by the rules of RFC 9051 section 9, so that every value a
 * client reads back is the value the server meant.  It only appends to a
 * struct str; it never writes to a connection and never decides whether a
 * value is allowed in a response.
 *
 *   astring       = 1*ASTRING-CHAR / string
 *   ASTRING-CHAR  = ATOM-CHAR / resp-specials       ("]" is allowed)
 *   ATOM-CHAR     = <any CHAR except atom-specials>
 *   atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards /
 *                   quoted-specials / resp-specials
 *   string        = quoted / literal
 *   quoted        = DQUOTE *QUOTED-CHAR DQUOTE
 *   QUOTED-CHAR   = <any TEXT-CHAR except quoted-specials> /
 *                   "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4
 *   literal       = "{" number64 "}" CRLF *CHAR8
 *   nstring       = string / nil
 */
#ifndef ROOST_SYNTAX_IMAP_QUOTE_H
#define ROOST_SYNTAX_IMAP_QUOTE_H

#include "base/base.h"
#include "base/str.h"

/* Quoted strings longer than this are sent as literals, which clients
 * handle more cheaply and which avoid escaping. */
#define IMAP_QUOTE_MAX_QUOTED_LEN 1024

enum imap_quote_flags {
	/* 8-bit bytes that form valid UTF-8 may go in quoted strings
	 * (IMAP4rev2 session, or UTF8=ACCEPT enabled).  Without it, any
	 * 8-bit byte forces a literal. */
	IMAP_QUOTE_FLAG_UTF8 = 0x01,
};

/* Appends `len` bytes of `data` as an astring: an atom when it is not
 * empty, every byte is an ASTRING-CHAR and it is not "NIL" in any case
 * (which a client could take for nil); else as imap_quote_string(). */
void imap_quote_astring(struct str *dest, const void *data, size_t len,
			enum imap_quote_flags flags);
/* Appends a string: quoted when the data has no NUL, CR or LF, no 8-bit
 * byte (or only valid UTF-8 with IMAP_QUOTE_FLAG_UTF8) and is at most
 * IMAP_QUOTE_MAX_QUOTED_LEN bytes; else a literal "{n}" CRLF data.  Data
 * with NUL cannot be sent correctly as a string at all (CHAR8 excludes
 * NUL): it still becomes a literal, and callers with binary data use
 * literal8 themselves. */
void imap_quote_string(struct str *dest, const void *data, size_t len,
		       enum imap_quote_flags flags);
/* As imap_quote_string(), or NIL when data is NULL. */
void imap_quote_nstring(struct str *dest, const void *data, size_t len,
			enum imap_quote_flags flags);

/* The same for NUL-terminated strings. */
void imap_quote_astring_c(struct str *dest, const char *s,
			  enum imap_quote_flags flags);
void imap_quote_string_c(struct str *dest, const char *s,
			 enum imap_quote_flags flags);
/* NIL when s is NULL. */
void imap_quote_nstring_c(struct str *dest, const char *s,
			  enum imap_quote_flags flags);

#endif
