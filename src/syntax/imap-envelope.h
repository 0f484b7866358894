/* imap-envelope.h: the IMAP ENVELOPE of a message (RFC 9051 section 7.5.2
 * and the "envelope" rule of section 9), built from the fields the parser
 * kept, so it can be cached at delivery.
 *
 *   envelope = "(" env-date SP env-subject SP env-from SP env-sender SP
 *              env-reply-to SP env-to SP env-cc SP env-bcc SP
 *              env-in-reply-to SP env-message-id ")"
 *   address  = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
 *
 * Rules: date, subject, in-reply-to and message-id are the raw field
 * values (RFC 2047 words undecoded) or NIL when absent; an address list
 * field that is absent or has no address is NIL; Sender and Reply-To that
 * are absent or empty are the From list (RFC 9051 7.5.2); groups are
 * (NIL NIL "name" NIL) ... (NIL NIL NIL NIL); a display name, else a
 * "(comment)", is addr-name; the obsolete route is addr-adl; an address
 * without a local part or domain gets "MISSING_MAILBOX" or
 * "MISSING_DOMAIN" (Dovecot's practice: a NIL host would read as a group
 * marker). */
#ifndef ROOST_SYNTAX_IMAP_ENVELOPE_H
#define ROOST_SYNTAX_IMAP_ENVELOPE_H

#include "base/str.h"
#include "mime/parser.h"
#include "syntax/imap-quote.h"

/* The IMAP dialect an ENVELOPE or BODYSTRUCTURE is written for. */
enum imap_envelope_flags {
	/* Valid UTF-8 may go in quoted strings (IMAP4rev2 or UTF8=ACCEPT).
	 * Without it any 8-bit byte forces a literal, which every client
	 * reads: the form to cache when the reader is not known. */
	IMAP_ENVELOPE_FLAG_UTF8 = 0x01,
	/* IMAP4rev2 syntax (RFC 9051): message/global is written as a
	 * body-type-msg with its envelope and body.  Without it, as IMAP4rev1
	 * (RFC 3501) requires, message/global is a body-type-basic. */
	IMAP_ENVELOPE_FLAG_IMAP4REV2 = 0x02,
};

/* The quoting rules (syntax/imap-quote.h) that `flags` ask for. */
static inline enum imap_quote_flags
imap_envelope_quote_flags(enum imap_envelope_flags flags)
{
	return (flags & IMAP_ENVELOPE_FLAG_UTF8) != 0 ? IMAP_QUOTE_FLAG_UTF8 : 0;
}

/* Appends the ENVELOPE of `message`, a part with MIME_PART_FLAG_IS_MESSAGE
 * (the root, or the child of a message/rfc822 part).  For any other part
 * every member is NIL. */
void imap_envelope_write(struct str *dest, const struct mime_part *message,
			 enum imap_envelope_flags flags);

#endif
