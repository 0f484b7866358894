/* auth-relay.h: struct auth in a login process, and the worker's side
 * that answers it (auth-relay.c).  Internal to src/auth: auth-local.c is
 * its only user. */
#ifndef ROOST_AUTH_RELAY_H
#define ROOST_AUTH_RELAY_H

#include "auth.h"

/* Login process: a struct auth whose every call is relayed to the paired
 * worker (net_login_send); auth_create() returns it when
 * net_login_role() is NET_LOGIN_PROCESS.  Checks in flight when the
 * channel is lost or replaced, and checks made while there is none, are
 * answered TEMPFAIL (never before the call returns). */
struct auth *auth_create_relay(const struct roost_config *config);

/* Worker: answers the login process's calls with `auth` (a local one)
 * until auth_relay_serve_end().  Only one struct auth serves; a second
 * call is a no-op and returns false. */
bool auth_relay_serve(struct auth *auth);
void auth_relay_serve_end(struct auth *auth);

#endif
