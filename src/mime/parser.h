/* parser.h: the streaming RFC 5322 + MIME (RFC 2045/2046) message parser.
 *
 * It is fed a message in chunks of any size, as the bytes arrive (APPEND,
 * LMTP DATA, import), and builds the part tree that ENVELOPE,
 * BODYSTRUCTURE, BODY[section] and BINARY need: for every part the
 * offsets, sizes and line counts of its header and body, and the content
 * fields.  It never fails and never loops: broken mail is parsed the way
 * real servers parse it (see "Tolerance" below).  It knows nothing of
 * storage, sockets or IMAP.
 *
 * The tree
 *   The root is the message.  A multipart part's children are its body
 *   parts.  A message/rfc822 or message/global part (identity encoding)
 *   has one child: the embedded message, whose header starts at the
 *   part's body and which is itself a message (it has envelope fields).
 *
 * Offsets and sizes
 *   Offsets count bytes from the first byte fed.  A header includes its
 *   terminating empty line.  In a multipart, a body part's body ends
 *   before the line break that precedes the next boundary line (RFC 2046
 *   5.1.1: that CRLF belongs to the boundary); when that CRLF is the one
 *   that ended the part's header, the header ends before it (a part never
 *   extends past its parent).  Sizes are physical; the
 *   vsize values count every bare LF as CRLF (the size a client sees when
 *   the server sends the message with CRLF line ends), unless
 *   mime_parser_set_physical_sizes() says the bytes are served as
 *   stored.  header_lines is the number of LFs in the header;
 *   body_lines the number of text lines in the body: its LFs, plus one
 *   when it is not empty and does not end in LF.
 *
 * Tolerance
 *   Lines end in LF; a CR before it is part of the line break.  Bytes of
 *   any value (8-bit, NUL) may appear anywhere; NUL bytes in kept header
 *   values become 0x80.  A header line without ":" is skipped.  The
 *   first occurrence of each field wins.  A missing or malformed
 *   Content-Type means text/plain; charset=us-ascii (message/rfc822 when
 *   absent in a multipart/digest).  A boundary line is any line that
 *   starts with "--" and the boundary (RFC 2046 5.1.1, note to
 *   implementors: what follows is ignored; the longest of several
 *   matching open boundaries wins); a boundary line of
 *   an enclosing multipart closes the inner parts; a missing final
 *   boundary or an unterminated header is closed at the end of input.  A
 *   multipart without a usable boundary has no children.
 *
 * Limits (memory is bounded whatever the input)
 *   MIME_PARSER_MAX_DEPTH    nesting; a multipart or message part at
 *                            this depth is kept opaque (no children)
 *   MIME_PARSER_MAX_PARTS    parts per message; later boundaries are
 *                            ignored (their content stays in the body)
 *   MIME_PARSER_MAX_FIELD_SIZE  bytes kept of one field's value
 *   MIME_PARSER_MAX_KEPT_SIZE   bytes of field values kept per message;
 *                            past it only Content-Type,
 *                            Content-Transfer-Encoding and
 *                            Content-Disposition are kept, at most
 *                            MIME_PARSER_MAX_SMALL_FIELD_SIZE bytes each
 *   MIME_PARSER_MAX_BOUNDARY_LEN  longer boundaries are unusable
 *   The nesting is tracked on a heap stack, never on the C stack. */
#ifndef ROOST_MIME_PARSER_H
#define ROOST_MIME_PARSER_H

#include "base/base.h"
#include "mime/decode.h"
#include "mime/header.h"

#define MIME_PARSER_MAX_DEPTH 100
#define MIME_PARSER_MAX_PARTS 10000
#define MIME_PARSER_MAX_FIELD_SIZE (64 * 1024)
#define MIME_PARSER_MAX_KEPT_SIZE (4 * 1024 * 1024)
#define MIME_PARSER_MAX_SMALL_FIELD_SIZE 1024
#define MIME_PARSER_MAX_BOUNDARY_LEN 200

/* The header fields the parser keeps (raw, unfolded, leading and trailing
 * white space removed).  Content fields are kept for every part; the
 * others only for messages (the root and embedded messages). */
enum mime_field {
	MIME_FIELD_CONTENT_TYPE,
	MIME_FIELD_CONTENT_TRANSFER_ENCODING,
	MIME_FIELD_CONTENT_ID,
	MIME_FIELD_CONTENT_DESCRIPTION,
	MIME_FIELD_CONTENT_DISPOSITION,
	MIME_FIELD_CONTENT_LANGUAGE,
	MIME_FIELD_CONTENT_LOCATION,
	MIME_FIELD_CONTENT_MD5,
	MIME_FIELD_DATE,
	MIME_FIELD_SUBJECT,
	MIME_FIELD_FROM,
	MIME_FIELD_SENDER,
	MIME_FIELD_REPLY_TO,
	MIME_FIELD_TO,
	MIME_FIELD_CC,
	MIME_FIELD_BCC,
	MIME_FIELD_IN_REPLY_TO,
	MIME_FIELD_MESSAGE_ID,
	MIME_FIELD_REFERENCES,
	MIME_FIELD_COUNT
};
#define MIME_FIELD_FIRST_MESSAGE MIME_FIELD_DATE

enum mime_part_flags {
	/* Content-Type multipart/<any> */
	MIME_PART_FLAG_MULTIPART = 0x01,
	/* message/rfc822 or message/global */
	MIME_PART_FLAG_MESSAGE_RFC822 = 0x02,
	/* text/<any> */
	MIME_PART_FLAG_TEXT = 0x04,
	/* the root or an embedded message: it has envelope fields */
	MIME_PART_FLAG_IS_MESSAGE = 0x08,
	/* no usable Content-Type: type and subtype are the default */
	MIME_PART_FLAG_DEFAULT_TYPE = 0x10,
	/* a multipart or message part that was not parsed into children
	 * (depth or part limit, no boundary, encoded message) */
	MIME_PART_FLAG_OPAQUE = 0x20,
	/* the header was still open at the end of input or at a boundary */
	MIME_PART_FLAG_HEADER_UNTERMINATED = 0x40,
};

struct mime_part {
	struct mime_part *parent, *children, *next;
	unsigned int child_count;
	unsigned int depth;	/* root 0 */
	unsigned int flags;	/* enum mime_part_flags */

	uint64_t header_offset, header_size, header_vsize, header_lines;
	uint64_t body_offset, body_size, body_vsize, body_lines;

	/* Raw field values, NULL when absent (see enum mime_field). */
	const char *fields[MIME_FIELD_COUNT];

	/* Content-Type as it appears, or "TEXT" "PLAIN" (or "MESSAGE"
	 * "RFC822" in a digest) with MIME_PART_FLAG_DEFAULT_TYPE.  The
	 * default charset parameter is NOT added here (writers do). */
	const char *type, *subtype;
	const struct mime_param *params;
	unsigned int param_count;
	/* Content-Transfer-Encoding token as it appears (NULL: absent) and
	 * its meaning. */
	const char *encoding;
	enum mime_encoding transfer_encoding;
	/* Content-Disposition type as it appears, NULL when absent. */
	const char *disposition;
	const struct mime_param *disposition_params;
	unsigned int disposition_param_count;
	/* Content-Language tags. */
	const char *const *languages;
	unsigned int language_count;
};

struct mime_parser;

/* Creates a parser for one message.  Never fails. */
struct mime_parser *mime_parser_create(void);
/* Frees the parser and the whole part tree; sets *parser to NULL. */
void mime_parser_destroy(struct mime_parser **parser);

/* Makes every vsize equal its physical size: a bare LF counts as one
 * byte, as it is.  For a store that serves its bytes as they are stored
 * (after normalising line ends where that loses nothing): then
 * BODYSTRUCTURE's octets describe the very bytes BODY[section] sends,
 * bare LF (binary data of a literal8) included.  Call it before the first
 * mime_parser_feed(). */
void mime_parser_set_physical_sizes(struct mime_parser *parser);

/* Parses the next `size` bytes of the message (any split is fine, size 0
 * too).  Must not be called after mime_parser_finish(). */
void mime_parser_feed(struct mime_parser *parser, const void *data,
		      size_t size);

/* Like mime_parser_feed(), but the bytes parsed are the message with its
 * bare LF line ends made CRLF, and they are appended to `out` too: every
 * LF that does not follow a CR gets one, except an LF inside the body of
 * a part whose Content-Transfer-Encoding is binary, whose bytes are data
 * (RFC 2045 2.7, 2.8: in 7bit and 8bit data, and so in headers, base64
 * and quoted-printable, CR and LF occur only as CRLF line breaks, so the
 * change loses nothing; in binary data they are octets like any other).
 * A boundary line ends a binary body: its LF is a line break again.  The
 * tree built is that of the CRLF form.  A CR at the end of one call
 * followed by an LF in the next is a CRLF, as in mime_parser_feed(). */
void mime_parser_feed_crlf(struct mime_parser *parser, const void *data,
			   size_t size, struct str *out);

/* Ends the input and returns the root of the part tree.  The tree belongs
 * to the parser and lives until mime_parser_destroy().  Calling it again
 * returns the same tree. */
struct mime_part *mime_parser_finish(struct mime_parser *parser);

/* Convenience: parses a whole message in one call.  The returned tree
 * belongs to *parser_r, which the caller destroys. */
struct mime_part *mime_parser_parse(const void *data, size_t size,
				    struct mime_parser **parser_r);

/* The number of parts in the tree so far (root included). */
unsigned int mime_parser_part_count(const struct mime_parser *parser);

/* The header field name for a field (e.g. "Content-Type"). */
const char *mime_field_name(enum mime_field field);

#endif
