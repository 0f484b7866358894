/* flags.h: message flags and keywords between IMAP syntax and the store. */
#ifndef ROOST_IMAP_FLAGS_H
#define ROOST_IMAP_FLAGS_H

#include "base/str.h"
#include "store/store.h"

struct imap_arg;
struct imap_session;
struct pool;

/* Appends the flags of msg, space-separated, without parentheses:
 * "\Seen \Flagged $Forwarded" (plus "\Recent" when `recent`). */
void imap_flags_write(struct str *dest, struct store_mailbox *box,
		      const struct store_msg *msg, bool recent);

/* Writes the untagged FLAGS and "OK [PERMANENTFLAGS (...)]" responses for
 * the selected mailbox (SELECT, and when its keyword table grows). */
void imap_flags_write_flags_responses(struct imap_session *s);

/* Parses flags: `flags` is an argument array ending with the EOL entry,
 * the children of a flag-list "(...)" or STORE's flags given as separate
 * arguments.  System flags go to *flags_r (\Recent is refused:
 * RFC 9051 removed it from what clients may set), keywords to
 * *keywords_r (names, allocated in pool, count in *keyword_count_r).
 * Returns 0, or -1 with *error_r = a text for BAD. */
int imap_flags_parse(const struct imap_arg *flags, struct pool *pool,
		     uint32_t *flags_r, const char ***keywords_r,
		     size_t *keyword_count_r, const char **error_r);

/* Whether `name` is a valid keyword atom (RFC 9051 flag-keyword). */
bool imap_flags_is_keyword(const char *name);

#endif
