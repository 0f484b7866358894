/* decode.h: Content-Transfer-Encoding (RFC 2045 section 6) decoders.
 *
 * Streaming and tolerant, as real mail needs: the input may be fed in
 * chunks of any size (a chunk may end inside "=4" or a base64 quantum),
 * and no input is an error.  Base64 skips every byte outside its alphabet;
 * quoted-printable keeps an invalid "=XY" as it is, honours soft line
 * breaks ("=" at the end of a line, with or without transport padding)
 * and drops trailing white space on lines.  Memory is constant. */
#ifndef ROOST_MIME_DECODE_H
#define ROOST_MIME_DECODE_H

#include "base/base.h"
#include "base/str.h"

enum mime_encoding {
	MIME_ENCODING_7BIT = 0,	/* also the default when the field is absent */
	MIME_ENCODING_8BIT,
	MIME_ENCODING_BINARY,
	MIME_ENCODING_BASE64,
	MIME_ENCODING_QP,
	MIME_ENCODING_UNKNOWN,	/* an x-token or garbage: cannot decode */
};

/* Maps a Content-Transfer-Encoding value (a token, any case, NULL when
 * the field is absent) to its encoding. */
enum mime_encoding mime_encoding_from_name(const char *name);

/* True when the encoding is an identity (7bit, 8bit, binary). */
bool mime_encoding_is_identity(enum mime_encoding encoding);

struct mime_decoder {
	enum mime_encoding encoding;
	unsigned int state;
	uint32_t bits;
	unsigned int nbits;
	unsigned int pending_len;
	char pending[80];
	/* mime_decoder_set_crlf(): LF -> CRLF on the output */
	bool crlf;
	bool last_cr;		/* the last byte output was CR */
};

/* Starts decoding `encoding`.  Identity and unknown encodings copy their
 * input (callers report UNKNOWN-CTE themselves). */
void mime_decoder_init(struct mime_decoder *dec, enum mime_encoding encoding);
/* Decodes len bytes of src and appends the result to dest; a partial
 * sequence at the end is kept in dec until the next call. */
void mime_decoder_feed(struct mime_decoder *dec, const void *src, size_t len,
		       struct str *dest);
/* Ends the input: appends what a pending partial sequence stands for
 * (an incomplete "=X" stays as it was, a final "=" is a soft line break
 * whose line break went to the boundary; leftover base64 bits are
 * dropped).
 * The decoder may then be initialised again. */
void mime_decoder_finish(struct mime_decoder *dec, struct str *dest);

/* With crlf true, every LF in the decoded output that does not follow a
 * CR becomes CRLF, across feed() boundaries, so that textual data goes out
 * with the CRLF line ends RFC 9051 section 7.5.2 (BINARY[]) asks for
 * whatever its stored form; CR and CRLF are left as they are.  Call it
 * after mime_decoder_init(); it stays set across mime_decoder_finish()
 * until the next init.  Off by default. */
void mime_decoder_set_crlf(struct mime_decoder *dec, bool crlf);

/* Whole-buffer helpers: decode src and append to dest. */
void mime_decode_base64(const void *src, size_t len, struct str *dest);
void mime_decode_qp(const void *src, size_t len, struct str *dest);

#endif
