/* plaintext.c: what auth.h says about connections: when a password may
 * travel in plaintext (auth_plaintext_allowed()) and the peer a SASL
 * exchange sees (auth_peer_from_conn()).  A file of its own so that users
 * of auth.c that have no connections (the CLI, unit tests) do not link
 * the connection code. */
#include "auth.h"
#include "sasl.h"
#include "conf/conf.h"
#include "net/net.h"

#include <stdio.h>
#include <string.h>

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

void auth_peer_from_conn(struct net_conn *conn, const char *service, struct sasl_peer *peer_r,
			 struct auth_peer_buf *buf)
{
	const char *ip = net_conn_remote_ip(conn);
	size_t len = strlen(ip);

	memset(peer_r, 0, sizeof(*peer_r));
	memset(buf, 0, sizeof(*buf));
	/* net's form: "192.0.2.1", "[2001:db8::1]", "local" (UNIX socket) */
	if (net_conn_is_local(conn) && strcmp(ip, "local") == 0)
		buf->remote_ip[0] = '\0';
	else if (len >= 2 && ip[0] == '[' && ip[len - 1] == ']')
		snprintf(buf->remote_ip, sizeof(buf->remote_ip), "%.*s", (int)(len - 2), ip + 1);
	else
		snprintf(buf->remote_ip, sizeof(buf->remote_ip), "%s", ip);
	peer_r->remote_ip = buf->remote_ip;
	peer_r->local_ip = buf->local_ip;
	peer_r->secured = net_conn_is_tls(conn);
	peer_r->service = service;
	/* TLS channel bindings (-PLUS mechanisms) and the verified client
	 * certificate's user (EXTERNAL) */
	size_t n = net_conn_tls_channel_binding(conn, NET_TLS_BINDING_EXPORTER, buf->cb_exporter,
						sizeof(buf->cb_exporter));
	if (n > 0) {
		peer_r->cb_tls_exporter = buf->cb_exporter;
		peer_r->cb_tls_exporter_len = n;
	}
	n = net_conn_tls_channel_binding(conn, NET_TLS_BINDING_SERVER_END_POINT, buf->cb_end_point,
					 sizeof(buf->cb_end_point));
	if (n > 0) {
		peer_r->cb_tls_server_end_point = buf->cb_end_point;
		peer_r->cb_tls_server_end_point_len = n;
	}
	const char *cert_user = net_conn_tls_cert_user(conn);
	if (cert_user != NULL && strlen(cert_user) < sizeof(buf->cert_user)) {
		memcpy(buf->cert_user, cert_user, strlen(cert_user) + 1);
		peer_r->cert_user = buf->cert_user;
	}
}
