/* worker.c: a worker process's event loop: accepts connections on the
 * inherited listening sockets, hands them to their protocol, reloads the
 * TLS context on request and shuts down gracefully on SIGTERM.
 *
 * Exactly one loop exists per process (net_worker_init); timers, jobs,
 * watches and connections all run on it.  Nothing here blocks. */
#include "net-private.h"
#include "privs.h"
#include "proxy-proto.h"
#include "base/log.h"
#include "conf/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <event2/listener.h>

/* How long a stopping worker waits for its sessions to finish. */
#define WORKER_SHUTDOWN_GRACE_SECS 10
/* Pause before accepting again after accept() failed (EMFILE, ...). */
#define WORKER_ACCEPT_RETRY_MSECS 1000
/* When the connection count fell this far below its peak, freed memory
 * is given back to the system WORKER_TRIM_DELAY_MSECS later. */
#define WORKER_TRIM_DROP 32
#define WORKER_TRIM_DELAY_MSECS 2000
/* A balancer sends the PROXY protocol header with the connection; this
 * is how long it may take to arrive whole. */
#define WORKER_PROXY_HEADER_SECS 5

struct worker {
	struct event_base *base;
	SSL_CTX *tls_ctx;
	unsigned int conn_count;
	/* the most connections since memory was last given back */
	unsigned int conn_peak;
	struct net_timer *trim_timer;

	struct net_worker_setup *setup;
	struct evconnlistener **listeners;	/* one per setup->listeners */
	struct event *ev_term, *ev_int, *ev_hup, *ev_control;
	struct net_timer *grace_timer, *accept_retry_timer;
	time_t last_full_warning, last_address_warning, last_emfile_warning;
	/* a descriptor kept in reserve: at EMFILE it is closed for a moment
	 * to accept the waiting client, refuse it and close it again, so
	 * the listener neither spins nor leaves clients hanging */
	int spare_fd;
	bool shutting_down;
};

static struct worker worker = { .spare_fd = -1 };

void net_worker_init(void)
{
	if (worker.base != NULL)
		return;
	worker.base = event_base_new();
	if (worker.base == NULL)
		i_panic("event_base_new failed");
}

struct event_base *net_worker_base(void)
{
	return worker.base;
}

int net_worker_run(void)
{
	if (event_base_dispatch(worker.base) < 0)
		return -1;
	return 0;
}

void net_worker_stop(void)
{
	if (worker.base != NULL)
		event_base_loopbreak(worker.base);
}

void net_worker_deinit(void)
{
	net_timer_destroy(&worker.trim_timer);
	net_job_deinit();
	if (worker.tls_ctx != NULL) {
		SSL_CTX_free(worker.tls_ctx);
		worker.tls_ctx = NULL;
	}
	if (worker.base != NULL && worker.conn_count == 0) {
		event_base_free(worker.base);
		worker.base = NULL;
	}
}

SSL_CTX *net_worker_tls_ctx(void)
{
	return worker.tls_ctx;
}

void net_worker_set_tls_ctx(SSL_CTX *ctx)
{
	if (ctx != NULL)
		SSL_CTX_up_ref(ctx);
	/* connections keep a reference of their own through their SSL */
	if (worker.tls_ctx != NULL)
		SSL_CTX_free(worker.tls_ctx);
	worker.tls_ctx = ctx;
}

void net_worker_conn_added(void)
{
	worker.conn_count++;
	worker.conn_peak = ROOST_MAX(worker.conn_peak, worker.conn_count);
}

/* glibc's malloc keeps freed memory for reuse: after a burst of
 * sessions (their buffers, their users' index connections) the heap and
 * the arenas of the job threads stay as large as at the peak (about
 * 100 MB after 1,000 users logged out in issue #10).  malloc_trim(0)
 * returns every free page of every arena; it runs once the worker has
 * been quieter for a moment, not at each close. */
static void worker_trim(void *ctx ATTR_UNUSED)
{
	net_timer_destroy(&worker.trim_timer);
	(void)malloc_trim(0);
	worker.conn_peak = worker.conn_count;
}

void net_worker_conn_removed(void)
{
	if (worker.conn_count == 0)
		i_panic("connection count underflow");
	worker.conn_count--;
	if (worker.shutting_down && worker.conn_count == 0) {
		net_worker_stop();
		return;
	}
	if (worker.trim_timer == NULL && worker.base != NULL &&
	    worker.conn_peak - worker.conn_count >= WORKER_TRIM_DROP)
		worker.trim_timer = net_timer_create(WORKER_TRIM_DELAY_MSECS, false, worker_trim,
						     NULL);
}

void net_worker_peer_release(const struct net_peer_key *key)
{
	if (worker.setup != NULL && worker.setup->peer_limit != NULL)
		net_peer_limit_remove(worker.setup->peer_limit, worker.setup->peer_index, key);
}

const struct net_worker_setup *net_worker_setup(void)
{
	return worker.setup;
}

/* Whether this process accepts on listener lfd: login processes take
 * the login listeners, workers the others. */
static bool worker_listener_is_mine(const struct net_listen_fd *lfd)
{
	return lfd->login == (worker.setup->role == NET_ROLE_LOGIN);
}

bool net_worker_peer_count(const struct net_peer_key *key)
{
	if (worker.setup == NULL || worker.setup->peer_limit == NULL)
		return false;
	/* no limit: the connection is in already, only its address changed */
	return net_peer_limit_add(worker.setup->peer_limit, worker.setup->peer_index, key,
				  UINT_MAX) > 0;
}

unsigned int net_worker_connection_count(void)
{
	return worker.conn_count;
}

/* True if `protocol` serves at least one listener. */
static bool worker_protocol_used(const struct net_protocol *protocol)
{
	for (size_t i = 0; i < worker.setup->listener_count; i++) {
		const struct net_listen_fd *lfd = &worker.setup->listeners[i];
		/* a worker serves the sessions its login process hands over */
		if (lfd->protocol == protocol &&
		    (worker.setup->role == NET_ROLE_WORKER || lfd->login))
			return true;
	}
	return false;
}

static void worker_protocols_reload(void)
{
	for (const struct net_protocol *p = worker.setup->protocols; p->name != NULL; p++) {
		if (p->reload != NULL && worker_protocol_used(p))
			p->reload();
	}
}

/* ---- accepting ---- */

static void worker_implicit_ready(struct net_conn *conn, void *ctx)
{
	const struct net_listen_fd *lfd = ctx;
	if (worker.shutting_down) {
		net_conn_destroy(&conn);
		return;
	}
	static const struct net_conn_callbacks none = { 0 };
	net_conn_set_callbacks(conn, &none, NULL);
	lfd->protocol->accept(conn, worker.setup->config);
}

static void worker_implicit_closed(struct net_conn *conn, void *ctx, const char *reason)
{
	const struct net_listen_fd *lfd = ctx;
	/* the same prefix as the sessions' log lines: "imap(ip,id)" */
	log_info("%s(%s,%s): %s", lfd->protocol->name, net_conn_remote_ip(conn),
		 net_conn_id(conn), reason);
	net_conn_destroy(&conn);
}

static const struct net_conn_callbacks worker_implicit_callbacks = {
	.closed = worker_implicit_closed,
	.tls_ready = worker_implicit_ready,
};

/* Refuses a connection that never became a net_conn: the protocol's
 * refusal line when it can be read (not on implicit TLS), then close.
 * The socket is new and its buffer empty, so the short line is sent
 * whole or not at all. */
static void worker_refuse(int fd, const struct net_listen_fd *lfd, enum net_refusal why)
{
	if (lfd->conf->tls != CONF_TLS_IMPLICIT && lfd->protocol->refusal != NULL) {
		const char *line = lfd->protocol->refusal(why);
		if (line != NULL)
			(void)send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	close(fd);
}

/* One warning per second at most for each kind of refusal. */
static bool worker_warn_now(time_t *last)
{
	time_t now = time(NULL);
	if (now == *last)
		return false;
	*last = now;
	return true;
}

/* addr's IP for a log line (static buffer) */
static const char *worker_addr_text(const struct sockaddr *addr)
{
	static char ip[INET6_ADDRSTRLEN];
	strcpy(ip, "?");
	if (addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)addr)->sin_addr, ip, sizeof(ip));
	else if (addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)addr)->sin6_addr, ip,
			  sizeof(ip));
	return ip;
}

/* Makes the connection and hands it to its protocol.  `hdr` is the PROXY
 * protocol header on a `proxy` listener (NULL elsewhere): with the
 * client's addresses, those count against max_preauth_connections_per_ip
 * and are what the connection reports. */
static void worker_accept_conn(int fd, const struct sockaddr *addr, socklen_t addrlen,
			       const struct net_listen_fd *lfd,
			       const struct net_proxy_header *hdr)
{
	const struct roost_config *config = worker.setup->config;
	bool implicit = lfd->conf->tls == CONF_TLS_IMPLICIT;
	if (implicit && worker.tls_ctx == NULL) {
		close(fd);
		return;
	}
	const struct sockaddr *client = addr;
	socklen_t client_len = addrlen;
	if (hdr != NULL && hdr->has_addresses) {
		client = (const struct sockaddr *)&hdr->src;
		client_len = sizeof(hdr->src);
	}
	/* pre-login connections per address, counted in all workers */
	struct net_peer_key key;
	bool counted = false;
	if (lfd->protocol->has_login && worker.setup->peer_limit != NULL &&
	    net_peer_key_from_sockaddr(client, client_len, &key) &&
	    !net_peer_networks_match(worker.setup->peer_exempt, client, client_len)) {
		int ret = net_peer_limit_add(worker.setup->peer_limit, worker.setup->peer_index,
					     &key, config->max_preauth_connections_per_ip);
		if (ret == 0) {
			if (worker_warn_now(&worker.last_address_warning)) {
				log_warning("%s: %u connections from this address are not logged "
					    "in yet (max_preauth_connections_per_ip): refusing more",
					    worker_addr_text(client),
					    config->max_preauth_connections_per_ip);
			}
			worker_refuse(fd, lfd, NET_REFUSAL_ADDRESS);
			return;
		}
		counted = ret > 0;
	}
	struct net_conn *conn = net_conn_create(fd, addr, addrlen,
						lfd->conf->tls == CONF_TLS_STARTTLS,
						implicit ? worker.tls_ctx : NULL);
	if (hdr != NULL) {
		const char *balancer = worker_addr_text(addr);
		if (hdr->has_addresses)
			net_conn_set_sockaddrs(conn, client, (const struct sockaddr *)&hdr->dst);
		/* Only with proxy_trust_tls: a balancer that terminates TLS
		 * says so in PP2_CLIENT_SSL, but the hop from it to us is
		 * plaintext, which only the administrator can vouch for. */
		bool secured = hdr->client_ssl && config->proxy_trust_tls && !implicit;
		if (secured)
			net_conn_set_secured(conn);
		log_debug("%s(%s,%s): PROXY v%u header from %s%s%s%s%s", lfd->protocol->name,
			  net_conn_remote_ip(conn), net_conn_id(conn), hdr->version, balancer,
			  hdr->is_local_command ? " (LOCAL: a health check)" :
			  !hdr->has_addresses ? " (no client address: the real one stands)" : "",
			  hdr->client_ssl ? (secured ? ", TLS at the balancer (trusted)" :
					     ", TLS at the balancer (not trusted: proxy_trust_tls)") :
			  "",
			  hdr->authority[0] != '\0' ? ", authority " : "", hdr->authority);
	}
	if (lfd->protocol->has_login)
		net_conn_start_login(conn, config->login_timeout, counted ? &key : NULL);
	if (worker.setup->role == NET_ROLE_LOGIN && !implicit &&
	    net_login_test_forge(conn, lfd->protocol->name))
		return;
	if (implicit)
		net_conn_set_callbacks(conn, &worker_implicit_callbacks, (void *)lfd);
	else
		lfd->protocol->accept(conn, config);
}

/* net_proxy_read() is done with a `proxy` listener's connection. */
static void worker_proxy_done(int fd, const struct sockaddr *addr, socklen_t addrlen,
			      const struct net_proxy_header *hdr, const char *error, void *ctx)
{
	const struct net_listen_fd *lfd = ctx;
	if (hdr == NULL) {
		log_info("%s(%s): refused: %s", lfd->protocol->name, worker_addr_text(addr),
			 error);
		close(fd);
		return;
	}
	if (worker.shutting_down) {
		close(fd);
		return;
	}
	worker_accept_conn(fd, addr, addrlen, lfd, hdr);
}

static void worker_accept_cb(struct evconnlistener *listener ATTR_UNUSED, evutil_socket_t fd,
			     struct sockaddr *addr, int addrlen, void *arg)
{
	const struct net_listen_fd *lfd = arg;
	const struct roost_config *config = worker.setup->config;
	unsigned int max_connections = worker.setup->max_connections;

	if (worker.shutting_down) {
		close(fd);
		return;
	}
	if (max_connections > 0 &&
	    worker.conn_count + net_proxy_read_count() >= max_connections) {
		if (worker_warn_now(&worker.last_full_warning)) {
			log_warning("%u connections: this worker is full (max_connections%s): "
				    "refusing new connections", max_connections,
				    max_connections < config->max_connections ?
				    ", lowered to fit the file descriptor limit" : "");
		}
		worker_refuse(fd, lfd, NET_REFUSAL_BUSY);
		return;
	}
	if (lfd->conf->proxy) {
		/* the header comes first, before any TLS: only from a
		 * balancer, and no word is said to anyone else */
		if (!net_peer_networks_match(worker.setup->proxy_trusted, addr,
					     (socklen_t)addrlen)) {
			if (net_proxy_refusal_log_now(addr, (socklen_t)addrlen))
				log_warning("%s(%s): refused: not in proxy_trusted_networks "
					    "(a PROXY protocol listener; logged once a minute per "
					    "address)", lfd->protocol->name, worker_addr_text(addr));
			close(fd);
			return;
		}
		net_proxy_read(fd, addr, (socklen_t)addrlen, WORKER_PROXY_HEADER_SECS,
			       worker_proxy_done, (void *)lfd);
		return;
	}
	worker_accept_conn(fd, addr, (socklen_t)addrlen, lfd, NULL);
}

static void worker_listeners_enable(bool enable)
{
	for (size_t i = 0; i < worker.setup->listener_count; i++) {
		if (worker.listeners[i] == NULL)
			continue;
		if (enable)
			evconnlistener_enable(worker.listeners[i]);
		else
			evconnlistener_disable(worker.listeners[i]);
	}
}

static void worker_accept_retry(void *ctx ATTR_UNUSED)
{
	net_timer_destroy(&worker.accept_retry_timer);
	if (!worker.shutting_down)
		worker_listeners_enable(true);
}

static void worker_spare_fd_open(void)
{
	if (worker.spare_fd < 0)
		worker.spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void worker_accept_error_cb(struct evconnlistener *listener, void *arg)
{
	const struct net_listen_fd *lfd = arg;
	int err = EVUTIL_SOCKET_ERROR();
	if (err == ECONNABORTED || err == EINTR)
		return;
	if ((err == EMFILE || err == ENFILE) && worker.spare_fd >= 0) {
		/* out of descriptors: give the spare one to the waiting
		 * client just long enough to refuse it */
		if (worker_warn_now(&worker.last_emfile_warning)) {
			log_error("accept() failed: %s, with %u connections in this worker: "
				  "refusing new connections (raise the file descriptor limit "
				  "or lower max_connections)", strerror(err), worker.conn_count);
		}
		close(worker.spare_fd);
		worker.spare_fd = -1;
		int fd = accept4(evconnlistener_get_fd(listener), NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0)
			worker_refuse(fd, lfd, NET_REFUSAL_BUSY);
		worker_spare_fd_open();
		if (fd >= 0 && worker.spare_fd >= 0)
			return;
	}
	/* the socket stays readable, so stop polling it for a moment
	 * instead of spinning */
	log_error("accept() failed: %s", strerror(err));
	if (worker.accept_retry_timer == NULL) {
		worker_listeners_enable(false);
		worker.accept_retry_timer = net_timer_create(WORKER_ACCEPT_RETRY_MSECS, false,
							     worker_accept_retry, NULL);
	}
}

/* Starts accepting on listener i.  A socket of this worker's own (or
 * shared by all) is closed when its listener is freed; an adopted one
 * stays open for its owner's replacement and later adoptions. */
static void worker_listener_start(size_t i)
{
	struct net_listen_fd *lfd = &worker.setup->listeners[i];
	bool own = lfd->worker < 0 || (unsigned int)lfd->worker == worker.setup->worker_index;

	if (worker.listeners[i] != NULL || lfd->fd < 0 || !worker_listener_is_mine(lfd))
		return;
	/* backlog 0: the socket already listens */
	worker.listeners[i] = evconnlistener_new(worker.base, worker_accept_cb, lfd,
						 LEV_OPT_CLOSE_ON_EXEC |
						 (own ? LEV_OPT_CLOSE_ON_FREE : 0), 0, lfd->fd);
	if (worker.listeners[i] == NULL)
		i_panic("evconnlistener_new failed");
	evconnlistener_set_error_cb(worker.listeners[i], worker_accept_error_cb);
	if (worker.accept_retry_timer != NULL)
		evconnlistener_disable(worker.listeners[i]);
}

static void worker_listener_stop(size_t i)
{
	struct net_listen_fd *lfd = &worker.setup->listeners[i];
	bool own = lfd->worker < 0 || (unsigned int)lfd->worker == worker.setup->worker_index;

	if (worker.listeners[i] == NULL)
		return;
	evconnlistener_free(worker.listeners[i]);
	worker.listeners[i] = NULL;
	if (own)
		lfd->fd = -1;
}

static void worker_listeners_create(void)
{
	worker.listeners = xcalloc(worker.setup->listener_count, sizeof(*worker.listeners));
	for (size_t i = 0; i < worker.setup->listener_count; i++) {
		int owner = worker.setup->listeners[i].worker;
		if (owner < 0 || (unsigned int)owner == worker.setup->worker_index)
			worker_listener_start(i);
	}
}

/* The supervisor's net_control_adopt: accept on worker `owner`'s sockets
 * while it is down (adopt), or no longer. */
static void worker_listeners_adopt(unsigned int owner, bool adopt)
{
	if (worker.listeners == NULL || worker.shutting_down ||
	    owner == worker.setup->worker_index)
		return;
	for (size_t i = 0; i < worker.setup->listener_count; i++) {
		if (worker.setup->listeners[i].worker != (int)owner)
			continue;
		if (adopt)
			worker_listener_start(i);
		else
			worker_listener_stop(i);
	}
	log_debug("%s the listening sockets of worker %u", adopt ? "adopted" : "gave back",
		  owner);
}

static void worker_listeners_free(void)
{
	if (worker.listeners == NULL)
		return;
	for (size_t i = 0; i < worker.setup->listener_count; i++)
		worker_listener_stop(i);
	free(worker.listeners);
	worker.listeners = NULL;
}

/* ---- stopping ---- */

static void worker_grace_expired(void *ctx ATTR_UNUSED)
{
	net_timer_destroy(&worker.grace_timer);
	log_warning("stopping with %u connection(s) still open", worker.conn_count);
	net_worker_stop();
}

static void worker_shutdown_begin(void)
{
	if (worker.shutting_down)
		return;
	worker.shutting_down = true;
	/* other workers (or the next server) take new connections */
	worker_listeners_free();
	net_proxy_read_abort_all();
	net_timer_destroy(&worker.accept_retry_timer);
	for (const struct net_protocol *p = worker.setup->protocols; p->name != NULL; p++) {
		if (p->shutdown != NULL && worker_protocol_used(p))
			p->shutdown();
	}
	if (worker.conn_count == 0) {
		net_worker_stop();
		return;
	}
	worker.grace_timer = net_timer_create(WORKER_SHUTDOWN_GRACE_SECS * 1000, false,
					      worker_grace_expired, NULL);
}

static void worker_signal_cb(evutil_socket_t sig, short what ATTR_UNUSED, void *arg ATTR_UNUSED)
{
	if (sig == SIGHUP) {
		/* single process: no supervisor reads the files for us */
		const struct roost_config *config = worker.setup->config;
		if (worker.tls_ctx != NULL) {
			struct net_tls_pem pem;
			SSL_CTX *ctx;
			char *error;
			if (net_tls_pem_load(config->tls_cert, config->tls_key, &pem, &ctx,
					     &error) < 0) {
				log_error("SIGHUP: keeping the current certificate: %s", error);
				free(error);
			} else {
				net_worker_set_tls_ctx(ctx);
				SSL_CTX_free(ctx);
				net_tls_pem_free(&pem);
				log_info("TLS certificate reloaded");
			}
		}
		worker_protocols_reload();
		return;
	}
	log_info("received %s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	worker_shutdown_begin();
}

/* Reads one message from the supervisor (SOCK_SEQPACKET: one recv is
 * one whole message). */
static void worker_control_cb(evutil_socket_t fd, short what ATTR_UNUSED, void *arg ATTR_UNUSED)
{
	ssize_t size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	if (size < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (size <= 0) {
		if (size < 0)
			log_error("reading from the supervisor: %s", strerror(errno));
		else if (!worker.shutting_down)
			log_error("the supervisor is gone: stopping");
		event_del(worker.ev_control);
		worker_shutdown_begin();
		return;
	}
	char *buf = xmalloc((size_t)size);
	int passed_fd;
	ssize_t n = net_fd_recv(fd, buf, (size_t)size, &passed_fd);
	if (n == (ssize_t)sizeof(struct net_control_channel) && buf[0] == 'C' &&
	    passed_fd >= 0) {
		free(buf);
		net_login_channel_set(worker.setup->role, passed_fd);
		return;
	}
	if (passed_fd >= 0)
		close(passed_fd);
	struct net_control_adopt adopt;
	if (n == (ssize_t)sizeof(adopt) && buf[0] == 'A') {
		memcpy(&adopt, buf, sizeof(adopt));
		free(buf);
		worker_listeners_adopt(adopt.worker, adopt.adopt != 0);
		return;
	}
	struct net_control_header hdr;
	if (n != size || (size_t)n < sizeof(hdr)) {
		log_error("bad message from the supervisor");
		net_tls_free_secret(&buf, (size_t)size);
		return;
	}
	memcpy(&hdr, buf, sizeof(hdr));
	if (hdr.type != 'R' ||
	    (size_t)n != sizeof(hdr) + (size_t)hdr.cert_len + (size_t)hdr.key_len) {
		log_error("bad message from the supervisor");
		net_tls_free_secret(&buf, (size_t)size);
		return;
	}
	if (hdr.cert_len > 0 && hdr.key_len > 0) {
		char *error;
		const char *cert = buf + sizeof(hdr);
		SSL_CTX *ctx = net_tls_ctx_create(cert, hdr.cert_len, cert + hdr.cert_len,
						  hdr.key_len, &error);
		if (ctx == NULL) {
			log_error("keeping the current certificate: %s", error);
			free(error);
		} else {
			net_worker_set_tls_ctx(ctx);
			SSL_CTX_free(ctx);
		}
	}
	net_tls_free_secret(&buf, (size_t)size);
	worker_protocols_reload();
}

static struct event *worker_signal_add(int sig)
{
	struct event *ev = evsignal_new(worker.base, sig, worker_signal_cb, NULL);
	if (ev == NULL || event_add(ev, NULL) < 0)
		i_panic("cannot handle signal %d", sig);
	return ev;
}

static void worker_event_free(struct event **ev)
{
	if (*ev != NULL) {
		event_free(*ev);
		*ev = NULL;
	}
}

int net_worker_main(struct net_worker_setup *setup)
{
	const struct roost_config *config = setup->config;

	signal(SIGPIPE, SIG_IGN);
	worker.setup = setup;
	worker.shutting_down = false;
	net_worker_init();
	if (setup->role == NET_ROLE_LOGIN || setup->paired) {
		net_login_channel_mark(setup->role);
		net_login_channel_set(setup->role, setup->login_fd);
	}

	if (setup->pem.cert != NULL) {
		char *error;
		if (net_tls_client_auth_init(config, &error) < 0) {
			log_error("%s", error);
			free(error);
			return 1;
		}
		SSL_CTX *ctx = net_tls_ctx_create(setup->pem.cert, setup->pem.cert_len,
						  setup->pem.key, setup->pem.key_len, &error);
		if (ctx == NULL) {
			log_error("%s", error);
			free(error);
			return 1;
		}
		net_worker_set_tls_ctx(ctx);
		SSL_CTX_free(ctx);
		/* the key lives on only inside OpenSSL */
		net_tls_pem_free(&setup->pem);
		setup->pem.cert = NULL;
	}

	worker.ev_term = worker_signal_add(SIGTERM);
	worker.ev_int = worker_signal_add(SIGINT);
	if (setup->control_fd < 0) {
		worker.ev_hup = worker_signal_add(SIGHUP);
	} else {
		/* the supervisor forwards reloads over the control socket */
		signal(SIGHUP, SIG_IGN);
		worker.ev_control = event_new(worker.base, setup->control_fd, EV_READ | EV_PERSIST,
					      worker_control_cb, NULL);
		if (worker.ev_control == NULL || event_add(worker.ev_control, NULL) < 0)
			i_panic("cannot watch the control socket");
	}

	/* a worker started by the supervisor has these blocked until now */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_UNBLOCK, &mask, NULL);

	for (const struct net_protocol *p = setup->protocols; p->name != NULL; p++) {
		if (p->worker_init != NULL && worker_protocol_used(p))
			p->worker_init(config);
	}
	worker_spare_fd_open();
	worker_listeners_create();

	int ret = 0;
	if (setup->role == NET_ROLE_LOGIN) {
		if (net_sandbox_enter(setup->login_privs) < 0)
			ret = 1;
		else
			net_login_test_hooks();
	}
	if (ret == 0)
		ret = net_worker_run() < 0 ? 1 : 0;

	worker_listeners_free();
	net_proxy_read_abort_all();
	net_timer_destroy(&worker.grace_timer);
	net_timer_destroy(&worker.accept_retry_timer);
	net_timer_destroy(&worker.trim_timer);
	worker_event_free(&worker.ev_term);
	worker_event_free(&worker.ev_int);
	worker_event_free(&worker.ev_hup);
	worker_event_free(&worker.ev_control);
	net_login_channel_close();
	if (worker.spare_fd >= 0) {
		close(worker.spare_fd);
		worker.spare_fd = -1;
	}
	net_worker_deinit();
	worker.setup = NULL;
	return ret;
}
