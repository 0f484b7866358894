/* watch.c: a callback when a file descriptor becomes readable.
 *
 * For descriptors that report changes (the store's notification object):
 * net knows nothing of what they carry.  A delay coalesces bursts: the
 * first readiness stops listening and arms a timer, and when it fires the
 * watch listens again and calls back once for everything that came
 * meanwhile.  The callback may destroy the watch (libevent does not touch
 * an event after its callback returns). */
#include "net-private.h"

#include <stdlib.h>

struct net_watch {
	struct event *ev;	/* EV_READ on the fd, not persistent */
	struct event *timer;	/* NULL without a delay */
	struct timeval delay;
	net_watch_callback *cb;
	void *ctx;
};

static void watch_listen(struct net_watch *w)
{
	if (event_add(w->ev, NULL) < 0)
		i_panic("event_add failed");
}

static void watch_timer_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED, void *arg)
{
	struct net_watch *w = arg;
	watch_listen(w);
	w->cb(w->ctx);
}

static void watch_read_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED, void *arg)
{
	struct net_watch *w = arg;
	if (w->timer != NULL) {
		if (event_add(w->timer, &w->delay) < 0)
			i_panic("event_add failed");
		return;
	}
	watch_listen(w);
	w->cb(w->ctx);
}

struct net_watch *net_watch_create(int fd, unsigned int delay_msecs, net_watch_callback *cb,
				   void *ctx)
{
	struct event_base *base = net_worker_base();
	if (base == NULL)
		i_panic("net_watch_create without an event loop (net_worker_init)");
	struct net_watch *w = xcalloc(1, sizeof(*w));
	w->cb = cb;
	w->ctx = ctx;
	w->ev = event_new(base, fd, EV_READ, watch_read_cb, w);
	if (w->ev == NULL)
		i_panic("event_new failed");
	if (delay_msecs > 0) {
		w->delay.tv_sec = delay_msecs / 1000;
		w->delay.tv_usec = (delay_msecs % 1000) * 1000;
		w->timer = evtimer_new(base, watch_timer_cb, w);
		if (w->timer == NULL)
			i_panic("evtimer_new failed");
	}
	watch_listen(w);
	return w;
}

void net_watch_destroy(struct net_watch **_watch)
{
	struct net_watch *w = *_watch;
	if (w == NULL)
		return;
	*_watch = NULL;
	event_free(w->ev);
	if (w->timer != NULL)
		event_free(w->timer);
	free(w);
}
