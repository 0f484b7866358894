/* mime-edit.h: the message rewrites of RFC 5703's replace (section 5)
 * and enclose (section 6) actions.
 *
 * Each takes the current message's bytes and appends a whole new message
 * to a buffer, in the message's own line break style (CRLF when its first
 * line ends so).  Text a script gives is UTF-8; it goes out as
 * text/plain; charset=utf-8, in 7bit when it is US-ASCII with lines of at
 * most 998 bytes, else in base64.  Nothing here knows the interpreter. */
#ifndef ROOST_SIEVE_MIME_EDIT_H
#define ROOST_SIEVE_MIME_EDIT_H

#include <time.h>

#include "base/base.h"
#include "base/str.h"
#include "mime/parser.h"

/* replace [":mime"] [":subject" string] [":from" string] <replacement> */
struct sieve_mime_replace {
	const char *text;	/* the replacement */
	size_t text_len;
	/* text is a MIME entity (RFC 2045 2.4: header fields, an empty
	 * line, the body); otherwise it is the UTF-8 body of a text/plain
	 * part */
	bool mime;
	/* only when the whole message is replaced and !mime; NULL: absent */
	const char *subject;	/* UTF-8 */
	const char *from;	/* an RFC 5322 mailbox-list */
};

/* Replaces `part` (of the message data[0..size), as parsed by
 * mime/parser.h or sieve/mime.h) with the replacement.  For the root (the
 * whole message) the new message keeps every header field of the old one
 * except MIME-Version and the Content-* fields (RFC 5703 5: "with the
 * exception of those relating to the MIME structure that is being
 * replaced"); with :subject the old Subject becomes Original-Subject and
 * the new one is written with RFC 2047 words iff it is not ASCII; with
 * :from the old From becomes Original-From.  A :from that is ASCII but
 * not a valid mailbox-list is an error; one that is not ASCII is ignored
 * (RFC 5703 5: values failing such a check "simply be ignored").  For
 * another part only its bytes (header and body) are replaced; the MIME
 * structure around it stays.  Returns 0 with the new message appended to
 * dest, or -1 with a static message in *error_r (dest unchanged). */
int sieve_mime_edit_replace(const char *data, size_t size, const struct mime_part *part,
			    const struct sieve_mime_replace *replace,
			    struct str *dest, const char **error_r);

/* enclose <:subject string> <:headers string-list> <text> */
struct sieve_mime_enclose {
	const char *text;	/* UTF-8, the body of the text/plain part */
	size_t text_len;
	const char *subject;	/* NULL: the enclosed message's Subject */
	/* names of header fields copied from the enclosed message (RFC 5703
	 * 6: "Any headers specified by :headers are copied from the old
	 * message"); MIME-Version and Content-* are never copied */
	const char *const *headers;
	size_t header_count;
	/* what Date and From are synthesized as when :headers does not copy
	 * them ("to reflect the current date and the user running the Sieve
	 * action"); from NULL: no From is synthesized */
	time_t date;
	const char *from;
};

/* Appends the new message: its header (the copied fields, Subject,
 * Date, From, MIME-Version, a multipart/mixed Content-Type with a
 * boundary that occurs in neither the text nor the message), the text
 * part, and the message data[0..size) as a message/rfc822 part. */
void sieve_mime_edit_enclose(const char *data, size_t size,
			     const struct sieve_mime_enclose *enclose, struct str *dest);

/* Appends a text/plain; charset=utf-8 entity holding text[0..len): its
 * Content-Type and Content-Transfer-Encoding fields, the empty line and
 * the body, 7bit when the text is US-ASCII with lines of at most 998
 * bytes, else base64 of its CRLF form in lines of 76.  Line breaks are
 * CRLF when `crlf`, else LF; with `final_break` the body ends in one. */
void sieve_mime_edit_text_entity(struct str *dest, const char *text, size_t len, bool crlf,
				 bool final_break);

/* Appends time t as an RFC 5322 date-time in UTC
 * ("Mon, 07 Dec 2026 22:00:00 +0000"), without locale. */
void sieve_mime_edit_date(struct str *dest, time_t t);

#endif
