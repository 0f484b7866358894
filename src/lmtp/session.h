/* session.h: the LMTP server (RFC 2033) as a net protocol.
 *
 * `roost serve` hands connections of `listen = lmtp ...` listeners to
 * lmtp_protocol.  Sessions deliver through lmtp/deliver.h. */
#ifndef ROOST_LMTP_SESSION_H
#define ROOST_LMTP_SESSION_H

#include "net/net.h"

extern const struct net_protocol lmtp_protocol;

#endif
