/* timer.c: one-shot and repeating timers on the worker's loop.
 *
 * A timer is one libevent event; destroying it from inside its own
 * callback is allowed (libevent does not touch the event after the
 * callback returns). */
#include "net-private.h"

#include <stdlib.h>

struct net_timer {
	struct event *ev;
	net_timer_callback *cb;
	void *ctx;
};

static void timer_cb(evutil_socket_t fd ATTR_UNUSED, short what ATTR_UNUSED, void *arg)
{
	struct net_timer *timer = arg;
	timer->cb(timer->ctx);
}

struct net_timer *net_timer_create(unsigned int msecs, bool repeat,
				   net_timer_callback *cb, void *ctx)
{
	struct event_base *base = net_worker_base();
	if (base == NULL)
		i_panic("net_timer_create without an event loop (net_worker_init)");
	struct net_timer *timer = xcalloc(1, sizeof(*timer));
	timer->cb = cb;
	timer->ctx = ctx;
	timer->ev = event_new(base, -1, repeat ? EV_PERSIST : 0, timer_cb, timer);
	if (timer->ev == NULL)
		i_panic("event_new failed");
	struct timeval tv = { .tv_sec = msecs / 1000, .tv_usec = (msecs % 1000) * 1000 };
	if (event_add(timer->ev, &tv) < 0)
		i_panic("event_add failed");
	return timer;
}

void net_timer_destroy(struct net_timer **_timer)
{
	struct net_timer *timer = *_timer;
	if (timer == NULL)
		return;
	*_timer = NULL;
	event_free(timer->ev);
	free(timer);
}
