/* mutf7.h: modified UTF-7 mailbox names (RFC 3501 / RFC 9051 5.1.3).
 *
 * IMAP4rev1 clients send and expect mailbox names in modified UTF-7:
 * printable US-ASCII stands for itself ("&" is written "&-"), everything
 * else is UTF-16 in a modified BASE64 ("," instead of "/", no padding)
 * between "&" and "-".  The server keeps names in UTF-8 and converts at
 * the protocol boundary, unless the client enabled UTF8=ACCEPT.
 *
 * Decoding is strict, because two spellings of one name would give two
 * mailboxes: only the one minimal encoding of a name is accepted.  This
 * module never allocates beyond appending to the given struct str. */
#ifndef ROOST_SYNTAX_MUTF7_H
#define ROOST_SYNTAX_MUTF7_H

#include "base/base.h"

struct str;

/* Appends the modified UTF-7 form of the UTF-8 string `src` to dest.
 * Returns 0, or -1 if src is not valid UTF-8 (overlong forms, surrogates,
 * code points above U+10FFFF, truncated sequences); then dest is left as
 * it was. */
int mutf7_encode(const char *src, struct str *dest);

/* Appends the UTF-8 form of the modified UTF-7 string `src` to dest.
 * Returns 0, or -1 (dest left as it was) if src is not the minimal
 * modified UTF-7 spelling of a name: a byte outside printable US-ASCII, an
 * "&" without its "-", a character outside the modified BASE64 alphabet,
 * non-zero or superfluous padding bits, an encoded printable US-ASCII
 * character (including "&", which must be "&-"), an encoded NUL, a bad
 * surrogate pair, or two encoded runs in a row ("&AOQ-&APY-" must be
 * "&AOQA9g-"). */
int mutf7_decode(const char *src, struct str *dest);

/* True when mutf7_decode() would accept src. */
bool mutf7_is_valid(const char *src);

#endif
