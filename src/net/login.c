/* login.c: the channel between worker i and login process i, the
 * handing over of logged-in connections, and the TLS relay.
 *
 * The channel is a SOCK_SEQPACKET socket pair the supervisor makes (and
 * replaces when either side is restarted: net_control_channel).  The
 * auth layer sends its own messages over it (net_login_send; password
 * checks and their answers, auth/auth-relay.c); net itself handles only
 * HANDOFF ('H'), which carries the client's socket, or one end of a
 * socket pair for a TLS connection, with SCM_RIGHTS.  A worker accepts a
 * HANDOFF only for an id its own password check answered OK on this
 * channel (the claim callback): a login process an attacker took over
 * can hand over only users whose credentials it was sent.
 *
 * The TLS relay: the login process keeps the TLS session (the key never
 * leaves it) and copies decrypted bytes between the client's bufferevent
 * and the socket pair, each direction holding at most
 * LOGIN_PROXY_HIGH_WATER bytes before it stops reading from its source
 * (backpressure: a large FETCH waits for the client, as it would
 * without the relay).  When either side ends, what the other still has
 * to write is written, then both close. */
#include "net-private.h"
#include "base/log.h"
#include "conf/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#define LOGIN_PROXY_HIGH_WATER (256 * 1024)
/* The largest message other than HANDOFF. */
#define LOGIN_MESSAGE_MAX (64 * 1024)

/* A message that could not be sent at once (the channel's buffer was
 * full: a burst of logins), with its descriptor (a duplicate, closed once
 * sent).  Sent in order when the channel is writable again. */
struct login_queued {
	struct login_queued *next;
	unsigned char *data;
	size_t len;
	int fd;
};

static struct {
	enum net_login_role role;
	int fd;
	struct event *ev, *ev_write;
	struct login_queued *queue, **queue_tail;
	net_login_message_cb *message;
	net_login_reset_cb *reset;
	net_login_claim_cb *claim;
	void *ctx;
} login = { .fd = -1, .queue_tail = &login.queue };

enum net_login_role net_login_role(void)
{
	return login.role;
}

void net_login_set_handler(net_login_message_cb *message, net_login_reset_cb *reset,
			   net_login_claim_cb *claim, void *ctx)
{
	login.message = message;
	login.reset = reset;
	login.claim = claim;
	login.ctx = ctx;
}

static const char *login_partner(void)
{
	return login.role == NET_LOGIN_PROCESS ? "worker" : "login process";
}

static void login_queue_free(struct login_queued *q)
{
	if (q->fd >= 0)
		close(q->fd);
	explicit_bzero(q->data, q->len);
	free(q->data);
	free(q);
}

static void login_queue_clear(void)
{
	while (login.queue != NULL) {
		struct login_queued *q = login.queue;
		login.queue = q->next;
		login_queue_free(q);
	}
	login.queue_tail = &login.queue;
}

static ssize_t login_send_now(const void *data, size_t len, int fd)
{
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	if (fd >= 0)
		return net_fd_send(login.fd, &iov, 1, fd);
	return send(login.fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* The channel is writable: send what waits, in order. */
static void login_write_cb(evutil_socket_t sock ATTR_UNUSED, short what ATTR_UNUSED,
			   void *arg ATTR_UNUSED)
{
	while (login.queue != NULL) {
		struct login_queued *q = login.queue;
		if (login_send_now(q->data, q->len, q->fd) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
				return;		/* still full: called again */
			log_error("sending to the %s: %s", login_partner(), strerror(errno));
		}
		login.queue = q->next;
		if (login.queue == NULL)
			login.queue_tail = &login.queue;
		login_queue_free(q);
	}
	event_del(login.ev_write);
}

/* Sends one message (iov) with `fd` (-1: none), or queues it behind the
 * ones waiting.  Returns 0, or -1 when there is no channel or it failed
 * otherwise than by being full. */
static int login_send(const struct iovec *iov, size_t iov_count, int fd)
{
	if (login.fd < 0) {
		errno = ENOTCONN;
		return -1;
	}
	size_t len = 0;
	for (size_t i = 0; i < iov_count; i++)
		len += iov[i].iov_len;
	if (login.queue == NULL) {
		ssize_t ret = fd >= 0 ? net_fd_send(login.fd, iov, iov_count, fd) : -1;
		if (fd < 0) {
			struct msghdr msg = { .msg_iov = (struct iovec *)iov,
					      .msg_iovlen = iov_count };
			ret = sendmsg(login.fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		}
		if (ret >= 0)
			return 0;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
			return -1;
	}
	struct login_queued *q = xcalloc(1, sizeof(*q));
	q->data = xmalloc(len);
	for (size_t i = 0, off = 0; i < iov_count; off += iov[i].iov_len, i++) {
		if (iov[i].iov_len > 0)
			memcpy(q->data + off, iov[i].iov_base, iov[i].iov_len);
	}
	q->len = len;
	q->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (fd >= 0 && q->fd < 0) {
		int err = errno;
		login_queue_free(q);
		errno = err;
		return -1;
	}
	*login.queue_tail = q;
	login.queue_tail = &q->next;
	if (event_add(login.ev_write, NULL) < 0)
		i_panic("cannot watch the login channel");
	return 0;
}

int net_login_send(const void *data, size_t len)
{
	if (len > LOGIN_MESSAGE_MAX)
		return -1;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	if (login_send(&iov, 1, -1) < 0) {
		if (login.fd >= 0)
			log_error("sending to the %s: %s", login_partner(), strerror(errno));
		return -1;
	}
	return 0;
}

int net_login_send_handoff(const struct net_handoff_header *hdr, const void *state,
			   size_t state_len, const void *input, size_t input_len, int fd)
{
	struct iovec iov[3] = {
		{ .iov_base = (void *)hdr, .iov_len = sizeof(*hdr) },
		{ .iov_base = (void *)state, .iov_len = state_len },
		{ .iov_base = (void *)input, .iov_len = input_len },
	};
	if (login_send(iov, N_ELEMENTS(iov), fd) < 0) {
		log_error("handing a connection over to the worker: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- the worker's side of a HANDOFF ---- */

static const struct net_protocol *login_protocol_find(const struct net_worker_setup *setup,
						      const char *name)
{
	for (const struct net_protocol *p = setup->protocols; p->name != NULL; p++) {
		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

static bool login_string_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void login_handoff_received(const unsigned char *data, size_t len, int fd)
{
	const struct net_worker_setup *setup = net_worker_setup();
	struct net_handoff_header hdr;
	const struct net_protocol *protocol = NULL;
	char *user = NULL;
	bool read_only = false;

	if (fd < 0 || len < sizeof(hdr)) {
		log_error("login process: malformed handover: refused");
		goto refuse;
	}
	memcpy(&hdr, data, sizeof(hdr));
	if (!login_string_ok(hdr.protocol, sizeof(hdr.protocol)) ||
	    !login_string_ok(hdr.remote_ip, sizeof(hdr.remote_ip)) ||
	    !login_string_ok(hdr.local_ip, sizeof(hdr.local_ip)) ||
	    (uint64_t)hdr.state_len + hdr.input_len != len - sizeof(hdr)) {
		log_error("login process: malformed handover: refused");
		goto refuse;
	}
	protocol = login_protocol_find(setup, hdr.protocol);
	if (protocol == NULL || protocol->handoff == NULL) {
		log_error("login process: handover for protocol \"%.16s\": refused", hdr.protocol);
		goto refuse;
	}
	if (login.claim != NULL)
		user = login.claim(hdr.auth_id, &read_only, login.ctx);
	if (user == NULL) {
		log_error("login process: handover of %s for request %u, which this worker did "
			  "not authenticate on this channel: refused", hdr.remote_ip, hdr.auth_id);
		goto refuse;
	}
	struct net_conn *conn = net_conn_create_handed(fd, &hdr, data + sizeof(hdr) + hdr.state_len,
						       hdr.input_len);
	protocol->handoff(conn, setup->config, user, read_only, data + sizeof(hdr),
			  hdr.state_len);
	free(user);
	return;
refuse:
	if (fd >= 0)
		close(fd);
}

/* ---- reading the channel ---- */

static void login_channel_lost(void)
{
	net_login_channel_close();
	if (login.reset != NULL)
		login.reset(login.ctx);
}

static void login_channel_cb(evutil_socket_t fd, short what ATTR_UNUSED, void *arg ATTR_UNUSED)
{
	ssize_t size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
	if (size < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (size <= 0 || size > NET_HANDOFF_MAX) {
		if (size < 0)
			log_error("reading from the %s: %s",
				  login.role == NET_LOGIN_PROCESS ? "worker" : "login process",
				  strerror(errno));
		else if (size > 0)
			log_error("oversized message from the %s: closing the channel",
				  login.role == NET_LOGIN_PROCESS ? "worker" : "login process");
		else
			log_info("the %s closed the channel",
				 login.role == NET_LOGIN_PROCESS ? "worker" : "login process");
		login_channel_lost();
		return;
	}
	unsigned char *buf = xmalloc((size_t)size);
	int passed_fd;
	ssize_t n = net_fd_recv(fd, buf, (size_t)size, &passed_fd);
	if (n <= 0) {
		free(buf);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		login_channel_lost();
		return;
	}
	if (buf[0] == 'H' && login.role == NET_LOGIN_WORKER) {
		login_handoff_received(buf, (size_t)n, passed_fd);
	} else {
		if (passed_fd >= 0)
			close(passed_fd);
		if (login.message != NULL)
			login.message(buf, (size_t)n, login.ctx);
	}
	free(buf);
}

void net_login_channel_set(enum net_role role, int fd)
{
	bool had = login.fd >= 0;
	login.role = role == NET_ROLE_LOGIN ? NET_LOGIN_PROCESS : NET_LOGIN_WORKER;
	net_login_channel_close();
	login.fd = fd;
	if (fd < 0)
		return;
	login.ev = event_new(net_worker_base(), fd, EV_READ | EV_PERSIST, login_channel_cb, NULL);
	if (login.ev == NULL || event_add(login.ev, NULL) < 0)
		i_panic("cannot watch the login channel");
	login.ev_write = event_new(net_worker_base(), fd, EV_WRITE | EV_PERSIST, login_write_cb,
				   NULL);
	if (login.ev_write == NULL)
		i_panic("cannot watch the login channel");
	if (had && login.reset != NULL)
		login.reset(login.ctx);
	log_debug("channel to the %s is up",
		  login.role == NET_LOGIN_PROCESS ? "worker" : "login process");
}

void net_login_channel_mark(enum net_role role)
{
	login.role = role == NET_ROLE_LOGIN ? NET_LOGIN_PROCESS : NET_LOGIN_WORKER;
}

void net_login_channel_close(void)
{
	login_queue_clear();
	if (login.ev_write != NULL) {
		event_free(login.ev_write);
		login.ev_write = NULL;
	}
	if (login.ev != NULL) {
		event_free(login.ev);
		login.ev = NULL;
	}
	if (login.fd >= 0) {
		close(login.fd);
		login.fd = -1;
	}
}

/* ---- the TLS relay ---- */

struct login_proxy {
	struct bufferevent *client;	/* TLS, to the client */
	struct bufferevent *worker;	/* plaintext, to the worker */
	bool ending;			/* one side ended: flushing the other */
};

static void login_proxy_free(struct login_proxy *p)
{
	bufferevent_free(p->client);
	bufferevent_free(p->worker);
	free(p);
	net_worker_conn_removed();
}

/* Copies what `from` read to `to`; stops reading `from` while `to` holds
 * more than the high-water mark (its write callback resumes it). */
static void login_proxy_copy(struct bufferevent *from, struct bufferevent *to)
{
	struct evbuffer *out = bufferevent_get_output(to);
	evbuffer_add_buffer(out, bufferevent_get_input(from));
	if (evbuffer_get_length(out) > LOGIN_PROXY_HIGH_WATER) {
		bufferevent_disable(from, EV_READ);
		bufferevent_setwatermark(to, EV_WRITE, LOGIN_PROXY_HIGH_WATER / 2, 0);
	}
}

static void login_proxy_read_cb(struct bufferevent *bev, void *arg)
{
	struct login_proxy *p = arg;
	if (p->ending)
		return;
	if (bev == p->client)
		login_proxy_copy(p->client, p->worker);
	else
		login_proxy_copy(p->worker, p->client);
}

static void login_proxy_write_cb(struct bufferevent *bev, void *arg)
{
	struct login_proxy *p = arg;
	struct bufferevent *other = bev == p->client ? p->worker : p->client;
	if (p->ending) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			login_proxy_free(p);
		return;
	}
	/* below the low-water mark again: read the other side again */
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_enable(other, EV_READ);
}

static void login_proxy_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct login_proxy *p = arg;
	struct bufferevent *other = bev == p->client ? p->worker : p->client;
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) == 0)
		return;
	if (p->ending) {
		login_proxy_free(p);
		return;
	}
	/* what this side still had read goes out, then the other closes
	 * once written; an error on the other side ends it at once */
	if ((what & BEV_EVENT_EOF) != 0)
		evbuffer_add_buffer(bufferevent_get_output(other), bufferevent_get_input(bev));
	p->ending = true;
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	bufferevent_disable(other, EV_READ);
	bufferevent_setwatermark(other, EV_WRITE, 0, 0);
	if (evbuffer_get_length(bufferevent_get_output(other)) == 0)
		login_proxy_free(p);
}

void net_login_proxy_start(struct bufferevent *client, int worker_fd)
{
	struct login_proxy *p = xcalloc(1, sizeof(*p));
	p->client = client;
	p->worker = bufferevent_socket_new(net_worker_base(), worker_fd,
					   BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (p->worker == NULL)
		i_panic("bufferevent_socket_new failed");
	net_worker_conn_added();
	bufferevent_set_timeouts(client, NULL, NULL);
	bufferevent_setwatermark(client, EV_READ, 0, 0);
	bufferevent_setwatermark(client, EV_WRITE, 0, 0);
	bufferevent_setcb(client, login_proxy_read_cb, login_proxy_write_cb, login_proxy_event_cb,
			  p);
	bufferevent_setcb(p->worker, login_proxy_read_cb, login_proxy_write_cb,
			  login_proxy_event_cb, p);
	bufferevent_enable(p->worker, EV_READ | EV_WRITE);
	bufferevent_enable(client, EV_READ | EV_WRITE);
	/* the client's bytes after the login command go first */
	login_proxy_copy(p->client, p->worker);
}

/* ---- test hooks ---- */

static bool login_forge_handoff;

/* Tests only (DESIGN.md "Tests"): ROOST_TEST_LOGIN_PROBE=PATH makes a
 * login process try to open PATH once it is sandboxed and log the result;
 * ROOST_TEST_LOGIN_FORGE=1 makes it hand every new connection over at
 * once with an id the worker never answered, as a login process an
 * attacker controls could. */
void net_login_test_hooks(void)
{
	const char *paths = getenv("ROOST_TEST_LOGIN_PROBE");
	if (paths != NULL && paths[0] != '\0') {
		char *copy = xstrdup(paths), *save = NULL;
		for (char *path = strtok_r(copy, ";", &save); path != NULL;
		     path = strtok_r(NULL, ";", &save)) {
			int fd = open(path, O_RDONLY | O_CLOEXEC);
			int err = errno;
			if (fd >= 0) {
				log_error("login sandbox probe: opened %s", path);
				close(fd);
			} else {
				log_info("login sandbox probe: open(%s): %s", path, strerror(err));
			}
		}
		free(copy);
	}
	const char *forge = getenv("ROOST_TEST_LOGIN_FORGE");
	login_forge_handoff = forge != NULL && strcmp(forge, "1") == 0;
}

bool net_login_test_forge(struct net_conn *conn, const char *protocol)
{
	if (!login_forge_handoff)
		return false;
	static const char state[] = "F1\0LOGIN";
	net_conn_handoff(conn, 0x7fffffffU, protocol, state, sizeof(state));
	return true;
}
