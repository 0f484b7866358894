/* auth-relay.h: password checks relayed between a login process and its
 * worker (auth-relay.c).  Internal to src/auth: auth.c is its only user.
 *
 * In a login process, auth_verify_plain() of a struct auth made there
 * sends the check to the paired worker (the client side below); in the
 * worker, the first struct auth made answers the login process's checks
 * with its own user database and throttle and remembers which request
 * ids it answered OK, for the HANDOFF that follows (the server side). */
#ifndef ROOST_AUTH_RELAY_H
#define ROOST_AUTH_RELAY_H

#include "auth.h"

struct auth_relay;

/* Login process: the client side, one per process (referenced by each
 * struct auth made there).  auth_relay_destroy() drops a reference; the
 * last one drops the requests still in flight without calling back. */
struct auth_relay *auth_relay_create(void);
void auth_relay_destroy(struct auth_relay **relay);
/* Sends a check; callback(result, user, ctx) follows on the loop, never
 * before this returns (TEMPFAIL when there is no worker now, or when
 * the channel is lost before the answer).  Returns the request id. */
uint32_t auth_relay_verify(struct auth_relay *relay, const char *user, const char *password,
			   const char *remote_ip, auth_callback *callback, void *ctx);
/* Forgets request `id` (and tells the worker): no callback follows. */
void auth_relay_abort(struct auth_relay *relay, uint32_t id);

/* Worker: answers the login process's checks with `auth`, until
 * auth_relay_serve_end().  Only one struct auth serves; a second call
 * is a no-op and returns false. */
bool auth_relay_serve(struct auth *auth);
void auth_relay_serve_end(struct auth *auth);

#endif
