/* worker.c: a worker process's event loop: accepts connections on the
 * inherited listening sockets, hands them to their protocol, reloads the
 * TLS context on request and shuts down gracefully on SIGTERM.
 *
 * Exactly one loop exists per process (net_worker_init); timers, jobs,
 * watches and connections all run on it.  Nothing here blocks. */
#include "net-private.h"
#include "base/log.h"
#include "conf/conf.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/listener.h>

/* How long a stopping worker waits for its sessions to finish. */
#define WORKER_SHUTDOWN_GRACE_SECS 10
/* Pause before accepting again after accept() failed (EMFILE, ...). */
#define WORKER_ACCEPT_RETRY_MSECS 1000

struct worker {
	struct event_base *base;
	SSL_CTX *tls_ctx;
	unsigned int conn_count;

	struct net_worker_setup *setup;
	struct evconnlistener **listeners;	/* one per setup->listeners */
	struct event *ev_term, *ev_int, *ev_hup, *ev_control;
	struct net_timer *grace_timer, *accept_retry_timer;
	time_t last_full_warning;
	bool shutting_down;
};

static struct worker worker;

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
	net_job_deinit();
	net_watch_deinit();
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
}

void net_worker_conn_removed(void)
{
	if (worker.conn_count == 0)
		i_panic("connection count underflow");
	worker.conn_count--;
	if (worker.shutting_down && worker.conn_count == 0)
		net_worker_stop();
}

unsigned int net_worker_connection_count(void)
{
	return worker.conn_count;
}

/* True if `protocol` serves at least one listener. */
static bool worker_protocol_used(const struct net_protocol *protocol)
{
	for (size_t i = 0; i < worker.setup->listener_count; i++) {
		if (worker.setup->listeners[i].protocol == protocol)
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

static void worker_accept_cb(struct evconnlistener *listener ATTR_UNUSED, evutil_socket_t fd,
			     struct sockaddr *addr, int addrlen, void *arg)
{
	const struct net_listen_fd *lfd = arg;
	const struct roost_config *config = worker.setup->config;

	if (worker.shutting_down) {
		close(fd);
		return;
	}
	if (config->max_connections > 0 && worker.conn_count >= config->max_connections) {
		time_t now = time(NULL);
		if (now != worker.last_full_warning) {
			worker.last_full_warning = now;
			log_warning("max_connections (%u) reached in this worker: "
				    "refusing new connections", config->max_connections);
		}
		close(fd);
		return;
	}
	bool implicit = lfd->conf->tls == CONF_TLS_IMPLICIT;
	if (implicit && worker.tls_ctx == NULL) {
		close(fd);
		return;
	}
	struct net_conn *conn = net_conn_create(fd, addr, (socklen_t)addrlen,
						lfd->conf->tls == CONF_TLS_STARTTLS,
						implicit ? worker.tls_ctx : NULL);
	if (implicit)
		net_conn_set_callbacks(conn, &worker_implicit_callbacks, (void *)lfd);
	else
		lfd->protocol->accept(conn, config);
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

static void worker_accept_error_cb(struct evconnlistener *listener ATTR_UNUSED,
				   void *arg ATTR_UNUSED)
{
	int err = EVUTIL_SOCKET_ERROR();
	if (err == ECONNABORTED || err == EINTR)
		return;
	/* EMFILE and friends: the socket stays readable, so stop polling it
	 * for a moment instead of spinning */
	log_error("accept() failed: %s", strerror(err));
	if (worker.accept_retry_timer == NULL) {
		worker_listeners_enable(false);
		worker.accept_retry_timer = net_timer_create(WORKER_ACCEPT_RETRY_MSECS, false,
							     worker_accept_retry, NULL);
	}
}

static void worker_listeners_create(void)
{
	worker.listeners = xcalloc(worker.setup->listener_count, sizeof(*worker.listeners));
	for (size_t i = 0; i < worker.setup->listener_count; i++) {
		struct net_listen_fd *lfd = &worker.setup->listeners[i];
		/* backlog 0: the socket already listens.  Freeing the
		 * listener closes this process's copy of the socket. */
		worker.listeners[i] = evconnlistener_new(worker.base, worker_accept_cb, lfd,
							 LEV_OPT_CLOSE_ON_EXEC |
							 LEV_OPT_CLOSE_ON_FREE, 0, lfd->fd);
		if (worker.listeners[i] == NULL)
			i_panic("evconnlistener_new failed");
		evconnlistener_set_error_cb(worker.listeners[i], worker_accept_error_cb);
	}
}

static void worker_listeners_free(void)
{
	if (worker.listeners == NULL)
		return;
	for (size_t i = 0; i < worker.setup->listener_count; i++) {
		if (worker.listeners[i] != NULL) {
			evconnlistener_free(worker.listeners[i]);
			worker.setup->listeners[i].fd = -1;
		}
	}
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
	ssize_t n = recv(fd, buf, (size_t)size, MSG_DONTWAIT);
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

	if (setup->pem.cert != NULL) {
		char *error;
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
	worker_listeners_create();

	int ret = net_worker_run() < 0 ? 1 : 0;

	worker_listeners_free();
	net_timer_destroy(&worker.grace_timer);
	net_timer_destroy(&worker.accept_retry_timer);
	worker_event_free(&worker.ev_term);
	worker_event_free(&worker.ev_int);
	worker_event_free(&worker.ev_hup);
	worker_event_free(&worker.ev_control);
	net_worker_deinit();
	worker.setup = NULL;
	return ret;
}
