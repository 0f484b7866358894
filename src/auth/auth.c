/* auth.c: the calls of auth.h, dispatched through the ops table of the
 * auth or request they are given (the local driver is auth-local.c), and
 * what does not depend on the implementation: which mechanisms a peer is
 * offered, and the check of the auth_* settings. */
#include "auth-private.h"
#include "sasl.h"
#include "userdb.h"
#include "passwd-file.h"
#include "conf/conf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void auth_destroy(struct auth **authp)
{
	struct auth *auth = *authp;
	if (auth == NULL)
		return;
	*authp = NULL;
	auth->ops->destroy(auth);
}

void auth_reload(struct auth *auth)
{
	auth->ops->reload(auth);
}

int auth_user_exists(struct auth *auth, const char *user)
{
	return auth->ops->user_exists(auth, user);
}

struct auth_request *auth_verify_plain(struct auth *auth, const char *user,
				       const char *password, const char *remote_ip,
				       auth_callback *callback, void *ctx)
{
	return auth->ops->verify_plain(auth, user, password, remote_ip, callback, ctx);
}

struct auth_request *auth_user_lookup(struct auth *auth, const char *user,
				      auth_callback *callback, void *ctx)
{
	return auth->ops->user_lookup(auth, user, callback, ctx);
}

void auth_request_abort(struct auth_request **requestp)
{
	struct auth_request *request = *requestp;
	if (request == NULL)
		return;
	*requestp = NULL;
	request->ops->request_abort(request);
}

struct auth_sasl_request *auth_sasl_start(struct auth *auth, const char *mech,
					  const struct sasl_peer *peer,
					  const unsigned char *initial, size_t initial_len,
					  auth_sasl_callback *callback, void *ctx)
{
	return auth->ops->sasl_start(auth, mech, peer, initial, initial_len, callback, ctx);
}

void auth_sasl_continue(struct auth_sasl_request *request, const unsigned char *response,
			size_t response_len)
{
	request->ops->sasl_continue(request, response, response_len);
}

void auth_sasl_abort(struct auth_sasl_request **requestp)
{
	struct auth_sasl_request *request = *requestp;
	if (request == NULL)
		return;
	*requestp = NULL;
	request->ops->sasl_abort(request);
}

void auth_user_normalize(char *user)
{
	passwd_file_user_normalize(user);
}

/* ---- which mechanisms ---- */

/* The next word of a space- or comma-separated list (allocated), or NULL
 * at its end. */
static char *auth_list_next(const char **list)
{
	*list += strspn(*list, " \t,");
	size_t n = strcspn(*list, " \t,");
	if (n == 0)
		return NULL;
	char *word = xstrndup(*list, n);
	*list += n;
	return word;
}

bool auth_list_has(const char *list, const char *name, bool normalize)
{
	char *want = xstrdup(name), *word;
	bool found = false;

	if (normalize)
		auth_user_normalize(want);
	while (!found && (word = auth_list_next(&list)) != NULL) {
		if (normalize)
			auth_user_normalize(word);
		found = normalize ? strcmp(word, want) == 0 : strcasecmp(word, want) == 0;
		free(word);
	}
	free(want);
	return found;
}

/* Whether the peer is on loopback or a UNIX socket (plaintext_auth =
 * local). */
static bool auth_peer_is_local(const struct sasl_peer *peer)
{
	const char *ip = peer->remote_ip != NULL ? peer->remote_ip : "";
	return ip[0] == '\0' || strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0 ||
		strncmp(ip, "::ffff:127.", 11) == 0;
}

bool auth_mech_enabled(const struct roost_config *config, const struct sasl_mech *mech)
{
	if (config->auth_mechanisms == NULL || config->auth_mechanisms[0] == '\0')
		return (mech->flags & SASL_MECH_FLAG_NOT_DEFAULT) == 0;
	return auth_list_has(config->auth_mechanisms, mech->name, false);
}

bool auth_mech_allowed(const struct roost_config *config, const struct sasl_mech *mech,
		       const struct sasl_peer *peer)
{
	if (!auth_mech_enabled(config, mech))
		return false;
	if ((mech->flags & SASL_MECH_FLAG_PLAINTEXT) != 0 && !peer->secured) {
		switch (config->plaintext_auth) {
		case CONF_PLAINTEXT_ALWAYS: break;
		case CONF_PLAINTEXT_LOCAL:
			if (!auth_peer_is_local(peer))
				return false;
			break;
		case CONF_PLAINTEXT_NEVER: return false;
		}
	}
	if ((mech->flags & SASL_MECH_FLAG_CHANNEL_BINDING) != 0 &&
	    peer->cb_tls_exporter_len == 0 && peer->cb_tls_server_end_point_len == 0)
		return false;
	return mech->usable == NULL || mech->usable(config, peer);
}

size_t auth_mech_advertised(const struct roost_config *config, const struct sasl_peer *peer,
			    const char **names_r, size_t max)
{
	const struct sasl_mech *mech;
	size_t n = 0;

	for (size_t i = 0; n < max && (mech = sasl_mech_at(i)) != NULL; i++) {
		if (auth_mech_allowed(config, mech, peer))
			names_r[n++] = mech->name;
	}
	return n;
}

int auth_config_check(const struct roost_config *config, char **error_r)
{
	const char *list = config->auth_mechanisms != NULL ? config->auth_mechanisms : "";
	char *name;

	while ((name = auth_list_next(&list)) != NULL) {
		if (sasl_mech_find(name) == NULL) {
			*error_r = xasprintf("auth_mechanisms: unknown mechanism %s", name);
			free(name);
			return -1;
		}
		free(name);
	}
	if (config->auth_mechanisms != NULL &&
	    auth_list_has(config->auth_mechanisms, "ANONYMOUS", false) &&
	    (config->auth_anonymous_user == NULL || config->auth_anonymous_user[0] == '\0')) {
		*error_r = xstrdup("auth_mechanisms: ANONYMOUS needs auth_anonymous_user");
		return -1;
	}
	struct userdb *db = userdb_create(config, error_r);
	if (db == NULL)
		return -1;
	userdb_destroy(&db);
	return 0;
}
