/* preview.h: the preview text of a message (RFC 8970 PREVIEW), made
 * once from the parse at delivery (DESIGN.md "Parse once") and kept by
 * the store.
 *
 * The text comes from the message's first text part: the first
 * text/plain or text/html leaf in the part tree's order that is not an
 * attachment (Content-Disposition: attachment), where a
 * multipart/alternative counts with its text/plain alternative when it
 * has one.  Parts inside an attached message (message/rfc822) are not
 * looked at.  The part is transfer-decoded and converted to UTF-8
 * (mime/text.h); HTML is reduced to its text: tags, comments and the
 * content of <head>, <script>, <style> and <title> go, character
 * references (&amp; &#233; &#xE9; and the common named ones) are
 * decoded, and tags that end a block or line count as white space.
 * Then white space is normalised (RFC 8970 3.3: "remove any formatting
 * markup"): every run of white space (ASCII white space, NBSP and the
 * other Unicode spaces) and control characters becomes one SP, with
 * none at either end.  The result is valid UTF-8 of at most
 * MIME_PREVIEW_MAX_CHARS characters (RFC 8970 3.3: SHOULD 200, MUST NOT
 * more than 256), cut at a character boundary; "" when the message has
 * no such text (RFC 8970 3.2: a zero-length string).  At most
 * MIME_PREVIEW_READ_MAX bytes of the part are decoded, so the cost does
 * not grow with the message.  Nothing here knows storage or IMAP. */
#ifndef ROOST_MIME_PREVIEW_H
#define ROOST_MIME_PREVIEW_H

#include "base/base.h"
#include "base/istream.h"
#include "base/str.h"
#include "mime/parser.h"

#define MIME_PREVIEW_MAX_CHARS 200
/* decoded bytes of the chosen part looked at, at most */
#define MIME_PREVIEW_READ_MAX (64 * 1024)

/* Replaces *dest with the preview of the message whose parse tree is
 * `root`, reading its bytes from `msg` (at the offsets of the parse).
 * Returns 0, or -1 with errno when a read failed (*dest is then ""). */
int mime_preview_extract(const struct mime_part *root, struct istream *msg,
			 struct str *dest);

/* The preview of a part's decoded UTF-8 text[0..len) (is_html: of
 * text/html) into *dest (replaced): markup removed, white space
 * normalised and cut as above.  Never fails; for tests and fuzzing. */
void mime_preview_from_text(const char *text, size_t len, bool is_html, struct str *dest);

/* Appends the text of the HTML text[0..len) (valid UTF-8) to dest,
 * reduced as above (markup gone, references decoded, white space
 * normalised) but not cut: for Sieve's body :text (RFC 5173 5.3). */
void mime_preview_html_text(const char *text, size_t len, struct str *dest);

#endif
