/* text.h: the decoded text of a message, for SEARCH (RFC 9051 6.4.4).
 *
 * From a parsed message (mime/parser.h) and a way to read its bytes, it
 * makes two UTF-8 documents:
 *
 *   header  every field of the message's own header, one per line:
 *           name ":" SP value LF, the value unfolded, RFC 2047-decoded
 *           (mime_header_decode_utf8(), every field, as mailers put
 *           encoded words in address display names too), leading and
 *           trailing white space removed, CR and LF inside it turned
 *           into SP (TAB stays) so that a value never spans lines.
 *           An address field (From, Sender, Reply-To, To, Cc, Bcc and
 *           their Resent- forms) is followed by a second line of the
 *           same name holding its addresses normalised by
 *           mime_address_write_normalised() ("user@example.org" for
 *           "<user (comment)@ (comment) example.org>", quoted local
 *           parts unquoted) when that reads differently: SEARCH FROM,
 *           TO, CC and BCC look at both lines, so they find an address
 *           however it was written (RFC 9051 6.4.4: "the envelope
 *           structure's FROM field") as well as the text as written.
 *           The two lines are kept or left out together at the limit.
 *
 *   body    what BODY looks in, each piece followed by LF:
 *           - every text/(any) leaf part, Content-Transfer-Encoding
 *             decoded (base64, quoted-printable) and converted from its
 *             charset to UTF-8 (a charset iconv does not know: the bytes
 *             as they are);
 *           - every embedded message (message/rfc822, message/global):
 *             its header, in the form above, then its parts the same
 *             way, recursively.  RFC 9051 6.4.4 BODY is "the body of
 *             the message", and an attached message is part of that
 *             body, header included, so BODY finds words in a forwarded
 *             message's Subject as it does in its text;
 *           - nothing else: no part headers, no preamble or epilogue,
 *             no image, application or other non-text part (there
 *             is no attachment text extractor), no message part that
 *             was transfer-encoded (it has no children).
 *
 * Both documents are valid UTF-8 without NUL: an invalid sequence and a
 * NUL byte become U+FFFD, so i;unicode-casemap (base/casemap.h) applies
 * to all of the text and never falls back to octets for a whole message
 * because of one stray byte, and the text is never cut short at a NUL by
 * code that reads C strings (SQLite's trigram tokenizer stops at one).
 * Memory is bounded: bodies are read in MIME_TEXT_READ_SIZE chunks, the
 * header document stops at MIME_TEXT_MAX_HEADER bytes and the body
 * document at MIME_TEXT_MAX_BODY bytes (whole characters; the rest of
 * the message is not searched).  Nothing here knows storage or IMAP. */
#ifndef ROOST_MIME_TEXT_H
#define ROOST_MIME_TEXT_H

#include "base/base.h"
#include "base/istream.h"
#include "base/str.h"
#include "mime/parser.h"

#include <sys/types.h>

/* Bytes of the header document kept (and of raw header read). */
#define MIME_TEXT_MAX_HEADER (256 * 1024)
/* Bytes of the body document kept per message. */
#define MIME_TEXT_MAX_BODY (1024 * 1024)
#define MIME_TEXT_READ_SIZE (64 * 1024)

/* Appends the header and body documents of the message whose parse tree
 * is `root` to *header and *body, reading its bytes from `msg` (at the
 * offsets of the parse; its read position is not used).  Returns 0, or
 * -1 with errno when a read failed (the documents are then partial). */
int mime_text_extract(const struct mime_part *root, struct istream *msg,
		      struct str *header, struct str *body);

/* Appends the text of the leaf part `part` (of the message read from
 * `msg`) to dest: transfer-decoded, converted from its charset to UTF-8
 * (an unknown charset: the bytes as they are) and made valid UTF-8
 * (mime_text_append_utf8()), at most `budget` bytes of it (whole
 * characters), reading little more of the part than that.  Returns 0,
 * or -1 with errno when a read failed. */
int mime_text_part_decode(const struct mime_part *part, struct istream *msg,
			  size_t budget, struct str *dest);

/* Appends the header document of the raw header raw[0..len) (fields up
 * to the blank line; lines end in LF or CRLF) to dest, stopping before
 * dest grows past `limit` bytes (a field that does not fit is left out). */
void mime_text_header_append(const char *raw, size_t len, struct str *dest, size_t limit);

/* Appends src[0..len) to dest with every invalid UTF-8 sequence and every
 * NUL replaced by U+FFFD (one per byte). */
void mime_text_append_utf8(struct str *dest, const char *src, size_t len);

/* Whether the header document doc[0..len) has a field named name (ASCII
 * case-insensitive) whose value contains needle[0..needle_len) as bytes
 * (an empty needle: the field exists).  Callers that want
 * i;unicode-casemap matching pass a document and a needle both prepared
 * with casemap_unicode() (and the name too). */
bool mime_text_header_has(const char *doc, size_t len, const char *name,
			  const char *needle, size_t needle_len);

#endif
