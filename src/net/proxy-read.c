/* proxy-read.c: reads the PROXY protocol header of a new connection off
 * its socket, before any bufferevent or TLS object exists.
 *
 * The bytes are peeked (MSG_PEEK) and only the header's own are taken:
 * "the receiver MUST NOT start processing the connection before it
 * receives a complete and valid PROXY protocol header" (section 2), and
 * what follows it belongs to the protocol, or to OpenSSL on an implicit
 * TLS listener.  A header that arrives in pieces is kept here; the
 * parser guarantees that an incomplete prefix is header bytes only.
 *
 * It never blocks, and a header that has not arrived whole within the
 * caller's timeout ends the connection. */
#include "net-private.h"
#include "proxy-proto.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct proxy_read {
	struct proxy_read *prev, *next;
	int fd;
	struct event *ev;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	time_t deadline;
	/* the header bytes taken so far (allocated when a header comes in
	 * pieces) */
	unsigned char *buf;
	size_t have;
	net_proxy_read_callback *cb;
	void *ctx;
};

static struct proxy_read *proxy_reads;
static unsigned int proxy_read_count;

static void proxy_read_free(struct proxy_read *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		proxy_reads = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	proxy_read_count--;
	event_free(r->ev);
	free(r->buf);
	free(r);
}

/* Ends the read: the callback gets the socket. */
static void proxy_read_finish(struct proxy_read *r, const struct net_proxy_header *hdr,
			      const char *error)
{
	int fd = r->fd;
	struct sockaddr_storage addr = r->addr;
	socklen_t addrlen = r->addrlen;
	net_proxy_read_callback *cb = r->cb;
	void *ctx = r->ctx;
	proxy_read_free(r);
	cb(fd, (const struct sockaddr *)&addr, addrlen, hdr, error, ctx);
}

static bool proxy_read_wait(struct proxy_read *r)
{
	time_t now = time(NULL);
	struct timeval tv = { .tv_sec = r->deadline > now ? r->deadline - now : 0 };
	return event_add(r->ev, &tv) == 0;
}

/* Takes exactly n bytes that a peek showed are there. */
static bool proxy_read_take(int fd, unsigned char *dest, size_t n)
{
	ssize_t got = recv(fd, dest, n, MSG_DONTWAIT);
	return got == (ssize_t)n;
}

static void proxy_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_read *r = arg;
	unsigned char data[NET_PROXY_HEADER_MAX];
	struct net_proxy_header hdr;
	size_t header_len;
	const char *error;

	if ((what & EV_TIMEOUT) != 0) {
		proxy_read_finish(r, NULL, r->have == 0 ? "no PROXY protocol header in time" :
				  "PROXY protocol header incomplete in time");
		return;
	}
	if (r->have > 0)
		memcpy(data, r->buf, r->have);
	ssize_t n = recv(fd, data + r->have, sizeof(data) - r->have, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			if (!proxy_read_wait(r))
				i_panic("event_add failed");
			return;
		}
		proxy_read_finish(r, NULL, errno == ECONNRESET ?
				  "connection reset before the PROXY protocol header" :
				  "connection error before the PROXY protocol header");
		return;
	}
	if (n == 0) {
		proxy_read_finish(r, NULL, "disconnected before the PROXY protocol header");
		return;
	}
	size_t len = r->have + (size_t)n;
	int ret = net_proxy_parse(data, len, &hdr, &header_len, &error);
	if (ret < 0) {
		proxy_read_finish(r, NULL, error);
		return;
	}
	if (ret == 0) {
		/* all of it is header: keep it and wait for the rest */
		if (r->buf == NULL)
			r->buf = xmalloc(NET_PROXY_HEADER_MAX);
		if (!proxy_read_take(fd, r->buf + r->have, (size_t)n)) {
			proxy_read_finish(r, NULL, "reading the PROXY protocol header failed");
			return;
		}
		r->have = len;
		if (!proxy_read_wait(r))
			i_panic("event_add failed");
		return;
	}
	/* the header ends inside what was peeked: take only its bytes (the
	 * parsed header is in hdr, data may be overwritten) */
	if (header_len > r->have && !proxy_read_take(fd, data, header_len - r->have)) {
		proxy_read_finish(r, NULL, "reading the PROXY protocol header failed");
		return;
	}
	proxy_read_finish(r, &hdr, NULL);
}

void net_proxy_read(int fd, const struct sockaddr *addr, socklen_t addrlen,
		    unsigned int timeout_secs, net_proxy_read_callback *cb, void *ctx)
{
	struct proxy_read *r = xcalloc(1, sizeof(*r));
	r->fd = fd;
	if (addrlen > sizeof(r->addr))
		addrlen = sizeof(r->addr);
	memcpy(&r->addr, addr, addrlen);
	r->addrlen = addrlen;
	r->deadline = time(NULL) + timeout_secs;
	r->cb = cb;
	r->ctx = ctx;
	r->ev = event_new(net_worker_base(), fd, EV_READ, proxy_read_cb, r);
	if (r->ev == NULL)
		i_panic("event_new failed");
	r->next = proxy_reads;
	if (proxy_reads != NULL)
		proxy_reads->prev = r;
	proxy_reads = r;
	proxy_read_count++;
	/* the header usually came with the connection: try at once, but
	 * from the loop, as the contract says */
	if (!proxy_read_wait(r))
		i_panic("event_add failed");
	event_active(r->ev, EV_READ, 0);
}

unsigned int net_proxy_read_count(void)
{
	return proxy_read_count;
}

void net_proxy_read_abort_all(void)
{
	while (proxy_reads != NULL) {
		int fd = proxy_reads->fd;
		proxy_read_free(proxy_reads);
		close(fd);
	}
}

/* ---- refusals logged once per address per minute ---- */

#define PROXY_REFUSAL_SLOTS 256
#define PROXY_REFUSAL_LOG_SECS 60

struct proxy_refusal {
	uint8_t addr[17];	/* family byte, then 4 or 16 bytes */
	time_t logged;
};

static struct proxy_refusal proxy_refusals[PROXY_REFUSAL_SLOTS];

bool net_proxy_refusal_log_now(const struct sockaddr *addr, socklen_t addrlen)
{
	uint8_t key[17];
	memset(key, 0, sizeof(key));
	if (addr->sa_family == AF_INET && addrlen >= (socklen_t)sizeof(struct sockaddr_in)) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)addr)->sin_addr, 4);
	} else if (addr->sa_family == AF_INET6 &&
		   addrlen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		key[0] = 6;
		memcpy(key + 1, &((const struct sockaddr_in6 *)addr)->sin6_addr, 16);
	}
	/* FNV-1a: a collision only costs an extra line */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < sizeof(key); i++)
		h = (h ^ key[i]) * 16777619u;
	struct proxy_refusal *slot = &proxy_refusals[h % PROXY_REFUSAL_SLOTS];
	time_t now = time(NULL);
	if (memcmp(slot->addr, key, sizeof(key)) == 0 && slot->logged != 0 &&
	    now - slot->logged < PROXY_REFUSAL_LOG_SECS)
		return false;
	memcpy(slot->addr, key, sizeof(key));
	slot->logged = now;
	return true;
}
