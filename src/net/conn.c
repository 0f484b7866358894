/* conn.c: one client connection: a bufferevent (plain socket or OpenSSL
 * on the socket) behind the small event interface of net.h.
 *
 * Invariants:
 * - `closed` is reported at most once; after it no other callback fires.
 * - net_conn_destroy() may be called from inside any callback: the struct
 *   is referenced while a callback runs and freed when the last reference
 *   goes, and libevent holds its own reference on the bufferevent.
 * - All bufferevents use deferred callbacks, so no protocol callback ever
 *   runs from inside a net_conn_* call made by the protocol.
 * - Nothing is preallocated per connection: an idle plaintext connection
 *   costs this struct, a bufferevent and two empty evbuffers; a TLS one
 *   adds an SSL object whose record buffers are released when idle. */
#include "net-private.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

/* Time allowed for a TLS handshake (implicit TLS or after STARTTLS). */
#define CONN_HANDSHAKE_SECS 30
/* Time allowed to flush output after net_conn_close() without an idle
 * timeout. */
#define CONN_CLOSE_FLUSH_SECS 30
/* While input is paused the socket is still read, up to this many bytes
 * ahead, so that a client that resets the connection during a long
 * command is noticed at once (the command is abandoned: cmd->abort)
 * rather than when the command ends. */
#define CONN_PAUSED_READ_AHEAD (64 * 1024)

enum conn_tls_state {
	CONN_TLS_NONE,		/* plaintext */
	CONN_TLS_STARTTLS_WAIT,	/* STARTTLS: waiting for output to flush */
	CONN_TLS_HANDSHAKE,	/* handshake in progress */
	CONN_TLS_UP,
};

struct net_conn {
	struct bufferevent *bev;
	/* one event for work that must not run inside the protocol's call:
	 * flags below say what is due */
	struct event *ev_defer;
	/* the login deadline (net_conn_start_login), NULL when none */
	struct event *ev_login;
	/* counted against max_preauth_connections_per_ip until login */
	struct net_peer_key peer_key;
	SSL *ssl;		/* owned by the bufferevent */
	int fd;
	bool fd_owned;		/* false once a TLS bufferevent closes it */

	struct net_conn_callbacks cb;
	void *ctx;

	unsigned int refcount;
	unsigned int idle_secs;
	size_t low_watermark;
	enum conn_tls_state tls;

	bool can_starttls:1;
	bool is_local:1;
	bool paused:1;
	bool closing:1;		/* net_conn_close() called */
	bool closed_reported:1;
	bool destroyed:1;
	bool above_low:1;	/* output went above the low-water mark */
	bool defer_input:1;
	bool defer_close:1;
	bool defer_starttls:1;
	bool peer_counted:1;
	bool eof_seen:1;	/* EOF while paused: reported after the input */
	/* TLS was terminated before this socket (net_conn_set_secured) */
	bool secured:1;
	bool handoff_pending:1;	/* net_conn_handoff() waits for the output */
	bool defer_handoff:1;
	/* local_ip and local_port are known (read from the socket when
	 * first asked, or set by net_conn_set_addresses) */
	bool local_known:1;
	const char *close_reason;	/* for a close after eof_seen */

	char id[16];
	char remote_ip[INET6_ADDRSTRLEN + 2];
	char local_ip[INET6_ADDRSTRLEN + 2];
	uint16_t remote_port, local_port;
	/* net_conn_handoff(): the message to send once output is written */
	struct net_handoff_header *handoff;
	void *handoff_state;
	/* net_conn_tls_cert_user()'s answer */
	char cert_user[256];
};

static unsigned int conn_id_counter;

static void conn_readcb(struct bufferevent *bev, void *arg);
static void conn_writecb(struct bufferevent *bev, void *arg);
static void conn_eventcb(struct bufferevent *bev, short what, void *arg);

static void conn_ref(struct net_conn *conn)
{
	conn->refcount++;
}

/* Drops a reference.  Returns false if the connection was destroyed
 * (the caller must not touch it any more).  Not inlined: GCC cannot see
 * that the references keep the free below from happening early. */
static __attribute__((noinline)) bool conn_unref(struct net_conn *conn)
{
	bool alive = !conn->destroyed;
	if (--conn->refcount == 0) {
		if (!conn->destroyed)
			i_panic("net_conn freed without net_conn_destroy");
		free(conn);
	}
	return alive;
}

/* Writes addr's IP as the connection reports it ("192.0.2.1", "[2001:db8::1]",
 * an IPv4-mapped IPv6 address as IPv4) to buf and its port to *port_r;
 * returns whether it is a loopback address.  Other families give "" and
 * port 0. */
static bool conn_format_ip(const struct sockaddr *addr, char *buf, size_t size,
			   uint16_t *port_r)
{
	char tmp[INET6_ADDRSTRLEN];
	buf[0] = '\0';
	*port_r = 0;
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
		inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)size);
		*port_r = ntohs(sin->sin_port);
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
		*port_r = ntohs(sin6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			/* a dual-stack listener: show the IPv4 address */
			struct in_addr in4;
			memcpy(&in4, &sin6->sin6_addr.s6_addr[12], sizeof(in4));
			inet_ntop(AF_INET, &in4, buf, (socklen_t)size);
			return (ntohl(in4.s_addr) >> 24) == 127;
		}
		inet_ntop(AF_INET6, &sin6->sin6_addr, tmp, sizeof(tmp));
		snprintf(buf, size, "[%s]", tmp);
		return IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	return false;
}

/* Sets remote_ip, remote_port and is_local; returns the address family. */
static int conn_set_address(struct net_conn *conn, const struct sockaddr *addr,
			    socklen_t addrlen)
{
	struct sockaddr_storage ss;
	if (addr == NULL || addrlen == 0) {
		socklen_t len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		if (getpeername(conn->fd, (struct sockaddr *)&ss, &len) < 0)
			ss.ss_family = AF_UNSPEC;
		addr = (const struct sockaddr *)&ss;
	}
	switch (addr->sa_family) {
	case AF_INET:
	case AF_INET6:
		conn->is_local = conn_format_ip(addr, conn->remote_ip, sizeof(conn->remote_ip),
						&conn->remote_port);
		break;
	case AF_UNIX:
		snprintf(conn->remote_ip, sizeof(conn->remote_ip), "local");
		conn->is_local = true;
		break;
	default:
		snprintf(conn->remote_ip, sizeof(conn->remote_ip), "unknown");
		conn->is_local = false;
		break;
	}
	return addr->sa_family;
}

static void conn_apply_timeouts(struct net_conn *conn)
{
	unsigned int secs = conn->idle_secs;
	if (conn->tls == CONN_TLS_HANDSHAKE)
		secs = CONN_HANDSHAKE_SECS;
	if (secs == 0) {
		bufferevent_set_timeouts(conn->bev, NULL, NULL);
		return;
	}
	/* the write timeout catches a peer that stopped reading: it only
	 * runs while output is pending and restarts on every write; the
	 * idle (read) timeout does not run while input is paused (a command
	 * is running) */
	struct timeval tv = { .tv_sec = secs, .tv_usec = 0 };
	bool idle = !conn->paused || conn->tls == CONN_TLS_HANDSHAKE;
	bufferevent_set_timeouts(conn->bev, idle ? &tv : NULL, &tv);
}

/* Reading goes on while input is paused, but at most
 * CONN_PAUSED_READ_AHEAD bytes ahead (libevent stops reading at the
 * high-water mark), so an error or EOF of the peer is still seen. */
static void conn_apply_pause(struct net_conn *conn)
{
	bool hold = conn->paused && conn->tls != CONN_TLS_HANDSHAKE;
	bufferevent_setwatermark(conn->bev, EV_READ, 0, hold ? CONN_PAUSED_READ_AHEAD : 0);
	conn_apply_timeouts(conn);
	if (!conn->eof_seen && !conn->closing && conn->tls != CONN_TLS_STARTTLS_WAIT &&
	    conn->handoff == NULL)
		bufferevent_enable(conn->bev, EV_READ);
}

static void conn_apply_watermark(struct net_conn *conn)
{
	/* closing and STARTTLS need to know when output is fully written */
	size_t low = conn->closing || conn->handoff_pending ||
		     conn->tls == CONN_TLS_STARTTLS_WAIT ? 0 : conn->low_watermark;
	bufferevent_setwatermark(conn->bev, EV_WRITE, low, 0);
}

static void conn_bev_setup(struct net_conn *conn)
{
	bufferevent_setcb(conn->bev, conn_readcb, conn_writecb, conn_eventcb, conn);
	conn_apply_watermark(conn);
	bufferevent_enable(conn->bev, EV_WRITE);
	conn_apply_pause(conn);
}

/* Replaces the plaintext bufferevent (if any) with an OpenSSL one on the
 * same socket, in the accepting state. */
static void conn_start_tls(struct net_conn *conn, SSL_CTX *tls_ctx)
{
	struct event_base *base = net_worker_base();
	if (conn->bev != NULL) {
		/* its buffers hold nothing we want: output was flushed and
		 * plaintext input must be dropped */
		bufferevent_disable(conn->bev, EV_READ | EV_WRITE);
		bufferevent_free(conn->bev);
		conn->bev = NULL;
	}
	SSL *ssl = SSL_new(tls_ctx);
	if (ssl == NULL)
		i_panic("SSL_new failed: %s", net_tls_last_error());
	conn->bev = bufferevent_openssl_socket_new(base, conn->fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
						   BEV_OPT_CLOSE_ON_FREE |
						   BEV_OPT_DEFER_CALLBACKS);
	if (conn->bev == NULL)
		i_panic("bufferevent_openssl_socket_new failed");
	/* the bufferevent now frees the SSL object and closes the socket */
	conn->ssl = ssl;
	conn->fd_owned = false;
	/* a peer that closes TCP without close_notify is an EOF, not an error */
	bufferevent_openssl_set_allow_dirty_shutdown(conn->bev, 1);
	conn->tls = CONN_TLS_HANDSHAKE;
	conn_bev_setup(conn);
}

struct net_conn *net_conn_create(int fd, const struct sockaddr *addr, socklen_t addrlen,
				 bool can_starttls, SSL_CTX *tls_ctx)
{
	struct event_base *base = net_worker_base();
	if (base == NULL)
		i_panic("net_conn_create without an event loop");

	struct net_conn *conn = xcalloc(1, sizeof(*conn));
	conn->fd = fd;
	conn->fd_owned = true;
	conn->refcount = 1;
	conn->can_starttls = can_starttls;
	snprintf(conn->id, sizeof(conn->id), "%04x%x", (unsigned int)getpid() & 0xffff,
		 ++conn_id_counter);
	int family = conn_set_address(conn, addr, addrlen);
	if (family == AF_INET || family == AF_INET6) {
		/* output is already gathered per loop iteration; Nagle would
		 * only delay the tagged reply behind an untagged one */
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	net_worker_conn_added();

	if (tls_ctx != NULL) {
		conn_start_tls(conn, tls_ctx);
	} else {
		conn->bev = bufferevent_socket_new(base, fd, BEV_OPT_DEFER_CALLBACKS);
		if (conn->bev == NULL)
			i_panic("bufferevent_socket_new failed");
		conn_bev_setup(conn);
	}
	return conn;
}

void net_conn_set_callbacks(struct net_conn *conn, const struct net_conn_callbacks *cb,
			    void *ctx)
{
	conn->cb = *cb;
	conn->ctx = ctx;
}

void net_conn_destroy(struct net_conn **_conn)
{
	struct net_conn *conn = *_conn;
	if (conn == NULL)
		return;
	*_conn = NULL;
	if (conn->destroyed)
		i_panic("net_conn_destroy called twice");
	conn->destroyed = true;
	if (conn->ev_defer != NULL) {
		event_free(conn->ev_defer);
		conn->ev_defer = NULL;
	}
	net_conn_login_done(conn);
	free(conn->handoff);
	conn->handoff = NULL;
	free(conn->handoff_state);
	conn->handoff_state = NULL;
	if (conn->bev != NULL) {
		/* removes the socket from the loop now, before it is closed */
		bufferevent_disable(conn->bev, EV_READ | EV_WRITE);
		bufferevent_free(conn->bev);
		conn->bev = NULL;
	}
	if (conn->fd_owned)
		close(conn->fd);
	conn->fd = -1;
	net_worker_conn_removed();
	(void)conn_unref(conn);
}

/* Reports the end of the connection, once. */
static void conn_report_closed(struct net_conn *conn, const char *reason)
{
	if (conn->closed_reported || conn->destroyed)
		return;
	conn->closed_reported = true;
	/* no bufferevent: a TLS connection handed over to its relay */
	if (conn->bev != NULL)
		bufferevent_disable(conn->bev, EV_READ | EV_WRITE);
	if (conn->cb.closed == NULL) {
		/* nobody took the connection: it is ours to free */
		struct net_conn *c = conn;
		net_conn_destroy(&c);
		return;
	}
	conn_ref(conn);
	conn->cb.closed(conn, conn->ctx, reason);
	(void)conn_unref(conn);
}

static void conn_call_input(struct net_conn *conn)
{
	if (conn->cb.input == NULL)
		return;
	conn_ref(conn);
	conn->cb.input(conn, conn->ctx);
	(void)conn_unref(conn);
}

static bool conn_input_deliverable(const struct net_conn *conn)
{
	return !conn->paused && !conn->closing && !conn->closed_reported &&
	       !conn->destroyed && (conn->tls == CONN_TLS_NONE || conn->tls == CONN_TLS_UP);
}

static void conn_handoff_send(struct net_conn *conn);

static void conn_defer_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED, void *arg)
{
	struct net_conn *conn = arg;
	conn_ref(conn);
	if (conn->defer_handoff) {
		conn->defer_handoff = false;
		if (conn->handoff_pending && !conn->closed_reported &&
		    evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0)
			conn_handoff_send(conn);
	}
	if (conn->defer_starttls) {
		conn->defer_starttls = false;
		if (conn->tls == CONN_TLS_STARTTLS_WAIT && !conn->closed_reported &&
		    evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0) {
			SSL_CTX *ctx = net_worker_tls_ctx();
			if (ctx == NULL)
				conn_report_closed(conn, "TLS is not available");
			else
				conn_start_tls(conn, ctx);
		}
	}
	if (conn->defer_close && !conn->destroyed) {
		conn->defer_close = false;
		if (conn->tls == CONN_TLS_UP && conn->ssl != NULL)
			(void)SSL_shutdown(conn->ssl);	/* best effort close_notify */
		conn_report_closed(conn, conn->close_reason != NULL ? conn->close_reason :
				   "closed by server");
	}
	if (conn->defer_input && !conn->destroyed) {
		conn->defer_input = false;
		if (conn_input_deliverable(conn) &&
		    evbuffer_get_length(bufferevent_get_input(conn->bev)) > 0)
			conn_call_input(conn);
		/* the EOF seen while paused, once the protocol has had the
		 * input before it and is not busy with it any more */
		if (!conn->destroyed && conn->eof_seen && conn_input_deliverable(conn)) {
			conn->close_reason = "disconnected";
			/* the answers go out first: the client may still read */
			if (evbuffer_get_length(bufferevent_get_output(conn->bev)) > 0)
				net_conn_close(conn);
			else
				conn_report_closed(conn, conn->close_reason);
		}
	}
	(void)conn_unref(conn);
}

static void conn_defer(struct net_conn *conn)
{
	if (conn->ev_defer == NULL) {
		conn->ev_defer = event_new(net_worker_base(), -1, 0, conn_defer_cb, conn);
		if (conn->ev_defer == NULL)
			i_panic("event_new failed");
	}
	event_active(conn->ev_defer, EV_TIMEOUT, 0);
}

static void conn_readcb(struct bufferevent *bev, void *arg)
{
	struct net_conn *conn = arg;
	if (conn->tls == CONN_TLS_STARTTLS_WAIT) {
		/* anything after STARTTLS and before the handshake is dropped */
		struct evbuffer *in = bufferevent_get_input(bev);
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (conn_input_deliverable(conn))
		conn_call_input(conn);
}

static void conn_writecb(struct bufferevent *bev, void *arg)
{
	struct net_conn *conn = arg;
	size_t len = evbuffer_get_length(bufferevent_get_output(bev));
	if (conn->closed_reported)
		return;
	if (conn->handoff_pending) {
		if (len == 0) {
			conn->defer_handoff = true;
			conn_defer_cb(-1, 0, conn);
		}
		return;
	}
	if (conn->closing) {
		if (len == 0) {
			conn->defer_close = true;
			conn_defer_cb(-1, 0, conn);
		}
		return;
	}
	if (conn->tls == CONN_TLS_STARTTLS_WAIT) {
		if (len == 0) {
			conn->defer_starttls = true;
			conn_defer_cb(-1, 0, conn);
		}
		return;
	}
	if (conn->above_low && len <= conn->low_watermark) {
		conn->above_low = false;
		if (conn->cb.drained != NULL) {
			conn_ref(conn);
			conn->cb.drained(conn, conn->ctx);
			(void)conn_unref(conn);
		}
	}
}

static const char *conn_error_reason(struct net_conn *conn)
{
	static char buf[256];
	unsigned long tls_err = 0, e;
	if (conn->ssl != NULL) {
		while ((e = bufferevent_get_openssl_error(conn->bev)) != 0) {
			if (tls_err == 0)
				tls_err = e;
		}
	}
	const char *stage = conn->tls == CONN_TLS_HANDSHAKE ? "TLS handshake failed" :
			    conn->ssl != NULL ? "TLS error" : "connection error";
	if (tls_err != 0) {
		char err[200];
		ERR_error_string_n(tls_err, err, sizeof(err));
		snprintf(buf, sizeof(buf), "%s: %s", stage, err);
	} else {
		int errnum = EVUTIL_SOCKET_ERROR();
		if (errnum == 0)
			snprintf(buf, sizeof(buf), "%s", stage);
		else if (errnum == ECONNRESET || errnum == EPIPE)
			snprintf(buf, sizeof(buf), "%s", conn->tls == CONN_TLS_HANDSHAKE ?
				 "disconnected during TLS handshake" : "connection reset by peer");
		else
			snprintf(buf, sizeof(buf), "%s: %s", stage, strerror(errnum));
	}
	return buf;
}

static void conn_eventcb(struct bufferevent *bev ATTR_UNUSED, short what, void *arg)
{
	struct net_conn *conn = arg;
	if (conn->closed_reported || conn->destroyed)
		return;
	if ((what & BEV_EVENT_CONNECTED) != 0) {
		if (conn->tls != CONN_TLS_HANDSHAKE)
			return;
		conn->tls = CONN_TLS_UP;
		conn_apply_watermark(conn);
		conn_apply_pause(conn);
		conn_ref(conn);
		if (conn->cb.tls_ready != NULL)
			conn->cb.tls_ready(conn, conn->ctx);
		/* input that came with the end of the handshake */
		if (!conn->destroyed && evbuffer_get_length(bufferevent_get_input(conn->bev)) > 0) {
			conn->defer_input = true;
			conn_defer(conn);
		}
		(void)conn_unref(conn);
		return;
	}
	if ((what & (BEV_EVENT_TIMEOUT | BEV_EVENT_READING)) ==
	    (BEV_EVENT_TIMEOUT | BEV_EVENT_READING) &&
	    conn->tls != CONN_TLS_HANDSHAKE && !conn->closing && conn->cb.timeout != NULL) {
		/* idle client: the protocol says goodbye, then we close */
		conn_ref(conn);
		conn->cb.timeout(conn, conn->ctx);
		if (!conn->destroyed)
			net_conn_close(conn);
		(void)conn_unref(conn);
		return;
	}
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == BEV_EVENT_EOF && conn->paused &&
	    !conn->closing && conn->ssl == NULL) {
		/* A client may shut down its sending side and still read the
		 * answers (a half-close: 'printf ... | nc -N'): the running
		 * command finishes and the input before the EOF is served
		 * first (conn_defer_cb()).  A reset is reported at once, and
		 * so is the end of a TLS connection (OpenSSL's bufferevent
		 * stops writing too). */
		conn->eof_seen = true;
		return;
	}
	const char *reason;
	if ((what & BEV_EVENT_TIMEOUT) != 0)
		reason = conn->tls == CONN_TLS_HANDSHAKE ? "TLS handshake timed out" : "timeout";
	else if ((what & BEV_EVENT_EOF) != 0)
		reason = conn->tls == CONN_TLS_HANDSHAKE ? "disconnected during TLS handshake" :
			 "disconnected";
	else
		reason = conn_error_reason(conn);
	conn_report_closed(conn, reason);
}

const char *net_conn_id(struct net_conn *conn)
{
	return conn->id;
}

const char *net_conn_remote_ip(struct net_conn *conn)
{
	return conn->remote_ip;
}

bool net_conn_is_local(struct net_conn *conn)
{
	return conn->is_local;
}

bool net_conn_is_tls(struct net_conn *conn)
{
	return conn->tls == CONN_TLS_UP || conn->secured;
}

bool net_conn_can_starttls(struct net_conn *conn)
{
	return conn->can_starttls && conn->tls == CONN_TLS_NONE && !conn->secured &&
	       net_worker_tls_ctx() != NULL;
}

/* Reads the local address from the socket the first time it is asked. */
static void conn_local_lookup(struct net_conn *conn)
{
	if (conn->local_known)
		return;
	conn->local_known = true;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (conn->fd < 0 || getsockname(conn->fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	(void)conn_format_ip((const struct sockaddr *)&ss, conn->local_ip,
			     sizeof(conn->local_ip), &conn->local_port);
}

const char *net_conn_local_ip(struct net_conn *conn)
{
	conn_local_lookup(conn);
	return conn->local_ip;
}

unsigned int net_conn_remote_port(struct net_conn *conn)
{
	return conn->remote_port;
}

unsigned int net_conn_local_port(struct net_conn *conn)
{
	conn_local_lookup(conn);
	return conn->local_port;
}

/* Parses an address as net_conn_remote_ip() shows it, or bare ("::1"), into
 * *ss_r; false if it is neither IPv4 nor IPv6. */
static bool conn_parse_ip(const char *ip, unsigned int port, struct sockaddr_storage *ss_r)
{
	char buf[INET6_ADDRSTRLEN + 2];
	size_t len = strlen(ip);
	memset(ss_r, 0, sizeof(*ss_r));
	if (len >= sizeof(buf))
		return false;
	if (ip[0] == '[' && len >= 2 && ip[len - 1] == ']') {
		memcpy(buf, ip + 1, len - 2);
		buf[len - 2] = '\0';
	} else {
		memcpy(buf, ip, len + 1);
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)ss_r;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss_r;
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return true;
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return true;
	}
	return false;
}

void net_conn_set_addresses(struct net_conn *conn, const char *remote_ip,
			    unsigned int remote_port, const char *local_ip,
			    unsigned int local_port)
{
	struct sockaddr_storage ss;
	if (conn_parse_ip(remote_ip, remote_port, &ss)) {
		(void)conn_set_address(conn, (const struct sockaddr *)&ss, sizeof(ss));
		/* a connection counted against max_preauth_connections_per_ip
		 * now counts for its new address */
		struct net_peer_key key;
		if (conn->peer_counted &&
		    net_peer_key_from_sockaddr((const struct sockaddr *)&ss, sizeof(ss), &key) &&
		    memcmp(&key, &conn->peer_key, sizeof(key)) != 0) {
			net_worker_peer_release(&conn->peer_key);
			conn->peer_counted = net_worker_peer_count(&key);
			conn->peer_key = key;
		}
	} else {
		/* "local" (a UNIX socket) or "unknown" as a login process saw it */
		snprintf(conn->remote_ip, sizeof(conn->remote_ip), "%s", remote_ip);
		conn->is_local = strcmp(remote_ip, "local") == 0;
		conn->remote_port = (uint16_t)remote_port;
	}
	if (local_ip != NULL) {
		conn->local_known = true;
		if (conn_parse_ip(local_ip, local_port, &ss))
			(void)conn_format_ip((const struct sockaddr *)&ss, conn->local_ip,
					     sizeof(conn->local_ip), &conn->local_port);
		else
			snprintf(conn->local_ip, sizeof(conn->local_ip), "%s", local_ip);
		conn->local_port = (uint16_t)local_port;
	}
}

void net_conn_set_sockaddrs(struct net_conn *conn, const struct sockaddr *remote,
			    const struct sockaddr *local)
{
	(void)conn_set_address(conn, remote, sizeof(struct sockaddr_storage));
	conn->local_known = true;
	(void)conn_format_ip(local, conn->local_ip, sizeof(conn->local_ip), &conn->local_port);
}

void net_conn_set_secured(struct net_conn *conn)
{
	conn->secured = true;
}

const unsigned char *net_conn_input(struct net_conn *conn, size_t max, size_t *len_r)
{
	*len_r = 0;
	if (conn->bev == NULL || conn->tls == CONN_TLS_STARTTLS_WAIT || max == 0)
		return NULL;
	struct evbuffer *in = bufferevent_get_input(conn->bev);
	size_t len = evbuffer_get_length(in);
	if (len == 0)
		return NULL;
	if (len > max)
		len = max;
	const unsigned char *data = evbuffer_pullup(in, (ev_ssize_t)len);
	if (data == NULL)
		return NULL;
	*len_r = len;
	return data;
}

void net_conn_input_skip(struct net_conn *conn, size_t n)
{
	if (conn->bev == NULL)
		return;
	evbuffer_drain(bufferevent_get_input(conn->bev), n);
}

size_t net_conn_input_len(struct net_conn *conn)
{
	if (conn->bev == NULL || conn->tls == CONN_TLS_STARTTLS_WAIT)
		return 0;
	return evbuffer_get_length(bufferevent_get_input(conn->bev));
}

void net_conn_input_pause(struct net_conn *conn, bool pause)
{
	if (conn->paused == pause)
		return;
	conn->paused = pause;
	if (conn->closing || conn->closed_reported || conn->destroyed || conn->handoff != NULL ||
	    conn->tls == CONN_TLS_STARTTLS_WAIT || conn->tls == CONN_TLS_HANDSHAKE)
		return;		/* applied when the handshake is done */
	conn_apply_pause(conn);
	if (pause)
		return;
	/* input that stayed buffered while paused gets its callback again,
	 * and an EOF seen meanwhile is reported after it */
	if (evbuffer_get_length(bufferevent_get_input(conn->bev)) > 0 || conn->eof_seen) {
		conn->defer_input = true;
		conn_defer(conn);
	}
}

static void conn_output_added(struct net_conn *conn)
{
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) > conn->low_watermark)
		conn->above_low = true;
}

void net_conn_write(struct net_conn *conn, const void *data, size_t size)
{
	if (conn->closed_reported || conn->destroyed || size == 0)
		return;
	if (bufferevent_write(conn->bev, data, size) < 0)
		i_panic("bufferevent_write failed");
	conn_output_added(conn);
}

void net_conn_printf(struct net_conn *conn, const char *fmt, ...)
{
	if (conn->closed_reported || conn->destroyed)
		return;
	va_list args;
	va_start(args, fmt);
	if (evbuffer_add_vprintf(bufferevent_get_output(conn->bev), fmt, args) < 0)
		i_panic("evbuffer_add_vprintf failed");
	va_end(args);
	conn_output_added(conn);
}

size_t net_conn_output_len(struct net_conn *conn)
{
	if (conn->bev == NULL)
		return 0;
	return evbuffer_get_length(bufferevent_get_output(conn->bev));
}

void net_conn_set_low_watermark(struct net_conn *conn, size_t low)
{
	conn->low_watermark = low;
	if (conn->bev != NULL)
		conn_apply_watermark(conn);
}

int net_conn_starttls(struct net_conn *conn)
{
	if (!net_conn_can_starttls(conn) || conn->closing || conn->closed_reported)
		return -1;
	conn->tls = CONN_TLS_STARTTLS_WAIT;
	/* stop reading at once: the next bytes from an honest client are its
	 * ClientHello, which must reach OpenSSL, not the plaintext buffer */
	bufferevent_disable(conn->bev, EV_READ);
	struct evbuffer *in = bufferevent_get_input(conn->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	conn_apply_watermark(conn);
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0) {
		conn->defer_starttls = true;
		conn_defer(conn);
	}
	return 0;
}

void net_conn_close(struct net_conn *conn)
{
	if (conn->closing || conn->closed_reported || conn->destroyed)
		return;
	conn->closing = true;
	bool nothing_to_flush = conn->tls == CONN_TLS_HANDSHAKE ||
		evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0;
	if (conn->tls == CONN_TLS_STARTTLS_WAIT)
		conn->tls = CONN_TLS_NONE;
	bufferevent_disable(conn->bev, EV_READ);
	conn_apply_watermark(conn);
	if (conn->idle_secs == 0) {
		struct timeval tv = { .tv_sec = CONN_CLOSE_FLUSH_SECS, .tv_usec = 0 };
		bufferevent_set_timeouts(conn->bev, NULL, &tv);
	}
	if (nothing_to_flush) {
		conn->defer_close = true;
		conn_defer(conn);
	}
}

/* The login deadline passed: a goodbye from the protocol if one can be
 * written, then close. */
static void conn_login_deadline_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED,
				   void *arg)
{
	struct net_conn *conn = arg;
	event_free(conn->ev_login);
	conn->ev_login = NULL;
	if (conn->closed_reported || conn->destroyed || conn->closing)
		return;
	if (conn->cb.login_timeout == NULL || conn->tls == CONN_TLS_HANDSHAKE ||
	    conn->tls == CONN_TLS_STARTTLS_WAIT) {
		conn_report_closed(conn, "login timeout");
		return;
	}
	conn_ref(conn);
	conn->cb.login_timeout(conn, conn->ctx);
	if (!conn->destroyed)
		net_conn_close(conn);
	(void)conn_unref(conn);
}

void net_conn_start_login(struct net_conn *conn, unsigned int secs,
			  const struct net_peer_key *peer_key)
{
	if (secs > 0 && conn->ev_login == NULL) {
		conn->ev_login = event_new(net_worker_base(), -1, 0, conn_login_deadline_cb, conn);
		if (conn->ev_login == NULL)
			i_panic("event_new failed");
		struct timeval tv = { .tv_sec = secs, .tv_usec = 0 };
		if (event_add(conn->ev_login, &tv) < 0)
			i_panic("event_add failed");
	}
	if (peer_key != NULL) {
		conn->peer_key = *peer_key;
		conn->peer_counted = true;
	}
}

void net_conn_login_done(struct net_conn *conn)
{
	if (conn->ev_login != NULL) {
		event_free(conn->ev_login);
		conn->ev_login = NULL;
	}
	if (conn->peer_counted) {
		conn->peer_counted = false;
		net_worker_peer_release(&conn->peer_key);
	}
}

void net_conn_set_idle_timeout(struct net_conn *conn, unsigned int secs)
{
	conn->idle_secs = secs;
	if (conn->bev != NULL && !conn->closing)
		conn_apply_timeouts(conn);
}

/* ---- handing a connection over (login processes) ---- */

/* All output is written: send the HANDOFF message and let the protocol
 * forget the connection. */
static void conn_handoff_send(struct net_conn *conn)
{
	struct net_handoff_header *hdr = conn->handoff;
	struct evbuffer *in = bufferevent_get_input(conn->bev);
	const char *reason = "handed over";

	conn->handoff_pending = false;
	if (conn->ssl == NULL) {
		/* the socket itself, and what was read after the login
		 * command (the rest is still in the kernel's buffer) */
		size_t in_len = evbuffer_get_length(in);
		if (sizeof(*hdr) + hdr->state_len + in_len > NET_HANDOFF_MAX) {
			reason = "too much input pipelined after the login";
		} else {
			hdr->input_len = (uint32_t)in_len;
			const void *input = in_len > 0 ? evbuffer_pullup(in, -1) : NULL;
			if (net_login_send_handoff(hdr, conn->handoff_state, hdr->state_len, input,
						   in_len, conn->fd) < 0)
				reason = "cannot hand over to the worker";
		}
		conn_report_closed(conn, reason);
		return;
	}
	/* TLS stays here: the worker gets one end of a socket pair and
	 * this process relays the decrypted bytes */
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		conn_report_closed(conn, "socketpair() failed");
		return;
	}
	hdr->input_len = 0;
	int ret = net_login_send_handoff(hdr, conn->handoff_state, hdr->state_len, NULL, 0,
					 sv[1]);
	close(sv[1]);
	if (ret < 0) {
		close(sv[0]);
		conn_report_closed(conn, "cannot hand over to the worker");
		return;
	}
	struct bufferevent *bev = conn->bev;
	conn->bev = NULL;
	conn->ssl = NULL;
	conn->fd_owned = false;	/* the bufferevent closes it */
	net_login_proxy_start(bev, sv[0]);
	conn_report_closed(conn, reason);
}

void net_conn_handoff(struct net_conn *conn, uint32_t auth_id, const char *protocol,
		      const void *state, size_t state_len)
{
	if (conn->closing || conn->closed_reported || conn->destroyed || conn->handoff != NULL)
		return;
	struct net_handoff_header *hdr = xcalloc(1, sizeof(*hdr));
	hdr->type = 'H';
	hdr->secured = net_conn_is_tls(conn) ? 1 : 0;
	hdr->auth_id = auth_id;
	hdr->remote_port = (uint16_t)conn->remote_port;
	hdr->local_port = (uint16_t)conn->local_port;
	snprintf(hdr->protocol, sizeof(hdr->protocol), "%s", protocol);
	snprintf(hdr->remote_ip, sizeof(hdr->remote_ip), "%s", conn->remote_ip);
	snprintf(hdr->local_ip, sizeof(hdr->local_ip), "%s", conn->local_ip);
	hdr->state_len = (uint32_t)ROOST_MIN(state_len, 4096);
	conn->handoff = hdr;
	conn->handoff_state = hdr->state_len > 0 ? xmemdup(state, hdr->state_len) : NULL;
	conn->handoff_pending = true;
	/* the protocol gets no more input; what is buffered goes along */
	net_conn_login_done(conn);
	bufferevent_disable(conn->bev, EV_READ);
	conn_apply_watermark(conn);
	if (evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0) {
		conn->defer_handoff = true;
		conn_defer(conn);
	}
}

struct net_conn *net_conn_create_handed(int fd, const struct net_handoff_header *hdr,
					const void *input, size_t input_len)
{
	struct net_conn *conn = net_conn_create(fd, NULL, 0, false, NULL);
	net_conn_set_addresses(conn, hdr->remote_ip, hdr->remote_port, hdr->local_ip,
			       hdr->local_port);
	if (hdr->secured != 0)
		conn->secured = true;
	if (input_len > 0) {
		/* libevent freezes the end of an input buffer against
		 * writers other than itself */
		struct evbuffer *in = bufferevent_get_input(conn->bev);
		evbuffer_unfreeze(in, 0);
		if (evbuffer_add(in, input, input_len) < 0)
			i_panic("evbuffer_add failed");
		evbuffer_freeze(in, 0);
		conn->defer_input = true;
		conn_defer(conn);
	}
	return conn;
}

size_t net_conn_tls_channel_binding(struct net_conn *conn, enum net_tls_binding type,
				    unsigned char *buf, size_t size)
{
	if (conn->tls != CONN_TLS_UP || conn->ssl == NULL)
		return 0;
	return net_tls_channel_binding(conn->ssl, type, buf, size);
}

const char *net_conn_tls_cert_user(struct net_conn *conn)
{
	if (conn->tls != CONN_TLS_UP || conn->ssl == NULL)
		return NULL;
	return net_tls_cert_user(conn->ssl, conn->cert_user, sizeof(conn->cert_user));
}
