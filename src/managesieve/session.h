/* session.h: the ManageSieve server (RFC 5804) as a net protocol.
 *
 * `roost serve` hands connections of `listen = managesieve ...` listeners
 * to managesieve_protocol.  Sessions log in with the same SASL mechanisms,
 * user database and failed-login throttling as IMAP, and keep the user's
 * scripts through the store (store_sieve_*()), checked with
 * sieve_compile() before they are stored. */
#ifndef ROOST_MANAGESIEVE_SESSION_H
#define ROOST_MANAGESIEVE_SESSION_H

#include "net/net.h"

extern const struct net_protocol managesieve_protocol;

#endif
