/* imapsieve.h: what the "imapsieve" Sieve extension (RFC 6785 3 and 4)
 * changes for a script run on an IMAP event (APPEND, COPY, a flag
 * change) rather than on a delivery: the environment items it defines and
 * the commands that are not applicable.
 *
 * A run is an IMAP event when sieve_env.imap_cause is not NULL.  What the
 * actions then mean (keep leaves the message where it is, fileinto
 * copies, changes by editheader/replace/enclose are transient: RFC 6785
 * 3.1-3.9) is the caller's to carry out from the result.  Nothing here
 * knows the store. */
#ifndef ROOST_SIEVE_IMAPSIEVE_H
#define ROOST_SIEVE_IMAPSIEVE_H

#include "sieve/sieve.h"

/* The value of environment item `item` (RFC 5183 "environment" test) as
 * imapsieve defines it, or NULL when `item` is none of these:
 *   "location"          "MS" on an IMAP event (RFC 6785 4.1)
 *   "phase"             "post" on an IMAP event
 *   "imap.user"         the login of the IMAP user, from
 *   "imap.email"        env->environment(); "" for a delivery (4.2)
 *   "imap.cause"        env->imap_cause, "" for a delivery (4.3)
 *   "imap.mailbox"      env->imap_mailbox, "" for a delivery (4.4)
 *   "imap.changedflags" the flags changed, space separated, from
 *                       env->environment() on a "FLAG" event; "" else (4.5)
 * "location" and "phase" give NULL for a delivery (the caller's own
 * values apply).  Item names are case-insensitive.  The string is env's
 * or static. */
const char *sieve_imapsieve_environment(const struct sieve_env *env, const char *item);

/* Whether command or test `name` may run on an IMAP event: false for
 * reject, ereject and vacation (RFC 6785 3.11: "MUST result in an error
 * condition that will terminate the Sieve script") and for the envelope
 * test (4.6: "their use MUST generate a runtime error"); true otherwise
 * and for every command in a delivery. */
bool sieve_imapsieve_command_allowed(const struct sieve_env *env, const char *name);

#endif
