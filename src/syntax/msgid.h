/* msgid.h: finding and normalising msg-ids (RFC 5322 section 3.6.4) in
 * Message-ID, In-Reply-To and References, for THREAD=REFERENCES (RFC
 * 5256 section 3: "MUST normalize any msg-id").
 *
 * The SORT and THREAD keys (msgkeys.h) keep the normalised ids, so the
 * THREAD algorithm (search/thread.h) compares them byte for byte.  The
 * white space and comments between tokens are skipped by mime/lex.h, the
 * same lexer that every other structured header field goes through.
 * Reads only the text it is given. */
#ifndef ROOST_SYNTAX_MSGID_H
#define ROOST_SYNTAX_MSGID_H

#include "base/base.h"
#include "base/str.h"

/* Finds the next msg-id in header text *p (References, In-Reply-To or
 * Message-ID, unfolded or not) and writes it to `dest` normalised:
 * "<" id-left "@" id-right ">" with comments, white space, quoting and
 * quoted-pairs removed, so that <"01KF8JCEOCBS0045PS"@xxx.yyy.com> and
 * <01KF8JCEOCBS0045PS@xxx.yyy.com> give the same string (RFC 5256, "MUST
 * normalize any msg-id").  Text between msg-ids (phrases, addresses
 * without brackets, junk) is skipped.  Returns 1 with *p moved past the
 * msg-id, or 0 when there is no further valid msg-id (dest emptied, *p at
 * the end of the text).
 *
 * Valid: "<", a non-empty left part of atoms, dots and quoted-strings,
 * "@", a non-empty right part of atoms and dots or a domain-literal
 * "[...]", ">", with CFWS allowed between the tokens (the obs-id forms
 * of RFC 5322 section 4.5.4). */
int msgid_next(const char **p, struct str *dest);

#endif
