/* capability.h: the CAPABILITY list (RFC 9051 6.1.1, 7.2.2).
 *
 * Derived, never written by hand: the capabilities of the commands come
 * from the command table (struct imap_command_def's `capability`), and
 * those that are not commands (IMAP4rev1/rev2, AUTH=..., SASL-IR,
 * LITERAL+, extensions of existing commands such as ESEARCH or
 * SPECIAL-USE, APPENDLIMIT=...) from one small table in capability.c.  So
 * a capability is never advertised without its command, nor a command
 * left out of the list. */
#ifndef ROOST_IMAP_CAPABILITY_H
#define ROOST_IMAP_CAPABILITY_H

#include "session.h"

/* Appends the capabilities for the session's current state and
 * connection, space-separated, without a leading or trailing space: the
 * table of capabilities that are not commands in its order, then those
 * of the command table in its order. */
void imap_capability_write(struct imap_session *s, struct str *dest);

/* ENABLE (RFC 5161 3): turns on `name` (any case) when it is a
 * capability the session advertises that ENABLE can turn on (the table
 * in capability.c says which: IMAP4rev2).  Returns its name as
 * advertised when it was off and is on now, for the ENABLED response;
 * NULL for any other name, which ENABLE ignores, and for one already
 * on.  Static storage. */
const char *imap_capability_enable(struct imap_session *s, const char *name);

#endif
