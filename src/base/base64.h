/* base64.h: RFC 4648 section 4 base64 (the "+/" alphabet, '=' padding).
 *
 * Used by SASL (RFC 9051 AUTHENTICATE), where a client's data must be
 * canonical: the decoder is strict and never skips or guesses. */
#ifndef ROOST_BASE64_H
#define ROOST_BASE64_H

#include "base.h"
#include "str.h"

/* Length of the encoding of `len` bytes (padding included, no NUL). */
size_t base64_encoded_len(size_t len);
/* Upper bound of the decoded length of `len` base64 characters. */
size_t base64_decoded_max_len(size_t len);

/* Appends the padded encoding of src[0..len) to dest. */
void base64_encode(const void *src, size_t len, struct str *dest);

/* Decodes src[0..len) and appends the bytes to dest (which may then hold
 * NULs: use dest->len, not strlen).  Strict: the length must be a multiple
 * of 4, only alphabet characters, '=' only as the last one or two
 * characters, and the unused bits before the padding must be zero (RFC 4648
 * 3.5), so every byte string has exactly one accepted encoding.  No white
 * space or line breaks.  An empty input decodes to nothing.
 * Returns 0, or -1 if the input is invalid; dest is then left as it was. */
int base64_decode(const char *src, size_t len, struct str *dest);

/* Decodes the unpadded base64url form (RFC 4648 section 5, "-_" for
 * "+/", no '='), as JWS (RFC 7515 section 2) uses it.  The same strictness
 * as base64_decode(): one accepted encoding per byte string.  Returns 0,
 * or -1 if the input is invalid; dest is then left as it was. */
int base64url_decode(const char *src, size_t len, struct str *dest);

#endif
