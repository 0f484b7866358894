/* plaintext.c: when a password may travel in plaintext
 * (auth_plaintext_allowed()).  A file of its own so that users of auth.c
 * that have no connections (the CLI, unit tests) do not link the
 * connection code. */
#include "auth.h"
#include "conf/conf.h"
#include "net/net.h"

bool auth_plaintext_allowed(const struct roost_config *config, struct net_conn *conn)
{
	if (net_conn_is_tls(conn))
		return true;
	switch (config->plaintext_auth) {
	case CONF_PLAINTEXT_ALWAYS: return true;
	case CONF_PLAINTEXT_LOCAL: return net_conn_is_local(conn);
	case CONF_PLAINTEXT_NEVER: return false;
	}
	return false;
}
