/* mailbox-name.h: helpers around imap_mailbox_from_client() and
 * imap_mailbox_to_client() (declared in session.h) for the commands that
 * handle mailbox names and LIST patterns. */
#ifndef ROOST_IMAP_MAILBOX_NAME_H
#define ROOST_IMAP_MAILBOX_NAME_H

#include "session.h"
#include "base/str.h"

/* Hierarchy separator of every name Roost exports. */
#define IMAP_MAILBOX_SEPARATOR '/'
/* Limits on names in the store's form (UTF-8 bytes, levels). */
#define IMAP_MAILBOX_MAX_LENGTH 255
#define IMAP_MAILBOX_MAX_LEVELS 16

/* Whether the client's form of mailbox names is UTF-8 (after ENABLE
 * UTF8=ACCEPT or ENABLE IMAP4rev2, RFC 9051 section 5.1) rather than
 * modified UTF-7. */
bool imap_mailbox_is_utf8(const struct imap_session *s);

/* Converts a LIST/LSUB pattern (reference and pattern already
 * concatenated) from the client's form to UTF-8: like
 * imap_mailbox_from_client() but without the checks on the name's shape,
 * so that wildcards, empty levels and partial names stay as they are.  A
 * leading "INBOX" level in any case becomes "INBOX".  Returns NULL when
 * the pattern cannot name any mailbox (invalid modified UTF-7 or UTF-8);
 * the result lives in `pool`. */
const char *imap_mailbox_pattern_from_client(struct imap_session *s,
					     struct pool *pool,
					     const char *pattern);

/* Appends mailbox `name` (store form) to `dest` in the client's form,
 * quoted as an astring (INBOX stays an atom).  Temporary strings go to
 * `pool`. */
void imap_mailbox_write(struct imap_session *s, struct pool *pool,
			struct str *dest, const char *name);

/* The mailbox name in an argument (astring: atom, quoted or in-memory
 * literal), or NULL if the argument cannot be a mailbox name. */
const char *imap_mailbox_arg(const struct imap_arg *arg);

#endif
