/* lex.h: the lexical layer of structured header fields (RFC 5322 section
 * 3.2, RFC 2045 section 5.1): white space, comments, quoted strings and
 * runs of token characters.
 *
 * Every function is tolerant: an unterminated comment or quoted string ends
 * at the end of the input, and each call that is given a non-empty input at
 * a position where it applies consumes at least one byte, so callers that
 * loop always make progress.  Inputs are NUL-terminated unfolded values. */
#ifndef ROOST_MIME_LEX_H
#define ROOST_MIME_LEX_H

#include "base/base.h"
#include "base/str.h"

/* RFC 2045 tspecials: the bytes that end a MIME token. */
#define MIME_LEX_TSPECIALS "()<>@,;:\\\"/[]?="
/* RFC 5322 specials: the bytes that end an atom. */
#define MIME_LEX_SPECIALS "()<>[]:;@\\,.\""

/* True for SP, HTAB, CR and LF. */
bool mime_lex_is_space(unsigned char c);

/* Skips CFWS:  CFWS = (1*([FWS] comment) [FWS]) / FWS
 *              comment = "(" *([FWS] ccontent) [FWS] ")"
 * at *pp, advancing it.  When comment_r is not NULL the text of each
 * top-level comment (nested parentheses kept, quoted-pairs unescaped) is
 * appended to it, comments separated by one space. */
void mime_lex_skip_cfws(const char **pp, struct str *comment_r);

/* quoted-string = [CFWS] DQUOTE *([FWS] qcontent) [FWS] DQUOTE [CFWS]
 * *pp must point at the opening DQUOTE.  Appends the content with
 * quoted-pairs unescaped and CR/LF removed to dest and advances *pp past
 * the closing DQUOTE (or to the end of the input). */
void mime_lex_quoted_string(const char **pp, struct str *dest);

/* Length of the run of bytes at p that are neither white space, CTL (but
 * 8-bit bytes are allowed, for real-world mail), nor in `specials`. */
size_t mime_lex_span(const char *p, const char *specials);

#endif
