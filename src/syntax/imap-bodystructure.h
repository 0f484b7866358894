/* imap-bodystructure.h: the IMAP BODY and BODYSTRUCTURE of a parsed message
 * (RFC 9051 section 7.5.2 and the "body" rules of section 9; RFC 3501
 * 7.4.2), built at delivery so that FETCH can send the cached string.
 *
 *   body            = "(" (body-type-1part / body-type-mpart) ")"
 *   body-type-1part = (body-type-basic / body-type-msg / body-type-text)
 *                     [SP body-ext-1part]
 *   body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
 *   body-fields     = body-fld-param SP body-fld-id SP body-fld-desc SP
 *                     body-fld-enc SP body-fld-octets
 *   body-type-msg   = media-message SP body-fields SP envelope SP body SP
 *                     body-fld-lines
 *   media-message   = DQUOTE "MESSAGE" DQUOTE SP
 *                     DQUOTE ("RFC822" / "GLOBAL") DQUOTE
 *                     (RFC 3501: "RFC822" only)
 *   body-type-text  = media-text SP body-fields SP body-fld-lines
 *   body-ext-1part  = body-fld-md5 [SP body-fld-dsp [SP body-fld-lang
 *                     [SP body-fld-loc *(SP body-extension)]]]
 *   body-ext-mpart  = body-fld-param [SP body-fld-dsp [SP body-fld-lang
 *                     [SP body-fld-loc *(SP body-extension)]]]
 *
 * Choices (Dovecot's practice where the RFC leaves room):
 * - type, subtype, parameter names and values as they appear; a missing
 *   or malformed Content-Type is "TEXT" "PLAIN" ("CHARSET" "US-ASCII")
 *   ("MESSAGE" "RFC822" NIL in a multipart/digest); a text part without
 *   a charset parameter gets "CHARSET" "US-ASCII" appended.
 * - parameters in the order given; RFC 2231 continuations joined (see
 *   header.h); no parameters: NIL.
 * - body-fld-enc: the token as it appears, "7BIT" when absent.
 * - body-fld-octets: the body's size with CRLF line ends (vsize);
 *   body-fld-lines: see mime/parser.h.
 * - a multipart with no body parts (no boundary, nothing found, or past
 *   a limit) holds one empty text/plain part, since the syntax needs one;
 *   a message/rfc822 part that was not parsed (encoded, or past the depth
 *   limit) gets an all-NIL envelope and that empty text/plain body.
 * - extension data is always complete: md5, disposition, language,
 *   location (NIL when absent); a single language is a string, several
 *   a list.
 * The writer recurses once per nesting level, which the parser bounds by
 * MIME_PARSER_MAX_DEPTH. */
#ifndef ROOST_SYNTAX_IMAP_BODYSTRUCTURE_H
#define ROOST_SYNTAX_IMAP_BODYSTRUCTURE_H

#include "base/str.h"
#include "mime/parser.h"
#include "syntax/imap-envelope.h"

/* Appends the body structure of `part` (normally the root from
 * mime_parser_finish()): BODYSTRUCTURE when `extended`, else BODY.
 * flags: IMAP_ENVELOPE_FLAG_UTF8 (quoting) and IMAP_ENVELOPE_FLAG_IMAP4REV2
 * (message/global form); 0 gives the form every client reads. */
void imap_bodystructure_write(struct str *dest, const struct mime_part *part,
			      bool extended, enum imap_envelope_flags flags);

/* BODY from a BODYSTRUCTURE string as imap_bodystructure_write() writes
 * it (any flags): the same text without the extension data, appended to
 * dest, byte for byte what imap_bodystructure_write() gives with
 * `extended` false and the same flags.  So a cache keeps only
 * BODYSTRUCTURE.  Returns 0, or -1 when src[0..len-1] is not such a body
 * structure (dest then holds part of the output). */
int imap_bodystructure_to_body(struct str *dest, const char *src, size_t len);

/* True when the BODY and BODYSTRUCTURE strings of the tree depend on
 * IMAP_ENVELOPE_FLAG_IMAP4REV2: a cache of the strings then needs one per
 * protocol version (otherwise one string serves every session).  That is
 * when it has a message/global part (a body-type-msg in IMAP4rev2 only)
 * or a Content-Type parameter in RFC 2231 extended form ("name*", whose
 * value IMAP4rev2 gets decoded to UTF-8, RFC 9051 7.5.2).  (The name is
 * older than the second case.) */
bool imap_bodystructure_has_global(const struct mime_part *root);

#endif
