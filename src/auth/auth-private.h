/* auth-private.h: what auth.c shares with the implementations of struct
 * auth (auth-local.c, a login process's relay). */
#ifndef ROOST_AUTH_PRIVATE_H
#define ROOST_AUTH_PRIVATE_H

#include "auth.h"

struct sasl_mech;

/* Whether `name` is a word of the space- or comma-separated `list`,
 * compared case-insensitively (auth_mechanisms) or, with `normalize`, as
 * user names (auth_master_users: both sides auth_user_normalize()d). */
bool auth_list_has(const char *list, const char *name, bool normalize);
/* Whether config->auth_mechanisms enables `mech` (empty: every mechanism
 * without SASL_MECH_FLAG_NOT_DEFAULT). */
bool auth_mech_enabled(const struct roost_config *config, const struct sasl_mech *mech);
/* Whether `mech` is offered to `peer`: auth_mech_advertised()'s rule for
 * one mechanism. */
bool auth_mech_allowed(const struct roost_config *config, const struct sasl_mech *mech,
		       const struct sasl_peer *peer);

#endif
