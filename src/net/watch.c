/* watch.c: file and directory change notifications.
 *
 * One inotify instance per worker (the kernel allows only 128 per user)
 * serves every watcher.  Watchers of the same inode share one inotify
 * watch descriptor (struct watch_path).  Events are coalesced: the first
 * one arms a short timer, and when it fires every watcher that saw an
 * event is called once.  A watcher may remove itself or others from its
 * callback. */
#include "net-private.h"
#include "base/log.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_COALESCE_MSECS 50
#define WATCH_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | \
		    IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)

struct watch_path {
	struct watch_path *prev, *next;
	int wd;			/* -1 after the kernel dropped it */
	char *path;
	struct net_watch *watchers;
};

struct net_watch {
	struct net_watch *prev, *next;		/* in path->watchers */
	struct net_watch *pend_prev, *pend_next;	/* in the pending list */
	struct watch_path *path;
	net_watch_callback *cb;
	void *ctx;
	bool pending;
};

static struct {
	int fd;
	pid_t pid;
	struct event *ev;
	struct watch_path *paths;
	struct net_watch *pending_head, *pending_tail;
	struct net_timer *timer;
} watches = { .fd = -1 };

static void watch_pending_remove(struct net_watch *w)
{
	if (!w->pending)
		return;
	if (w->pend_prev != NULL)
		w->pend_prev->pend_next = w->pend_next;
	else
		watches.pending_head = w->pend_next;
	if (w->pend_next != NULL)
		w->pend_next->pend_prev = w->pend_prev;
	else
		watches.pending_tail = w->pend_prev;
	w->pend_prev = w->pend_next = NULL;
	w->pending = false;
}

static void watch_fire(void *ctx ATTR_UNUSED)
{
	net_timer_destroy(&watches.timer);
	/* a watch the kernel dropped (file replaced, deleted) is set up
	 * again on the same path if possible */
	for (struct watch_path *p = watches.paths; p != NULL; p = p->next) {
		if (p->wd < 0)
			p->wd = inotify_add_watch(watches.fd, p->path, WATCH_MASK);
	}
	struct net_watch *w;
	while ((w = watches.pending_head) != NULL) {
		watch_pending_remove(w);
		w->cb(w->ctx);
	}
}

static void watch_path_mark(struct watch_path *p)
{
	for (struct net_watch *w = p->watchers; w != NULL; w = w->next) {
		if (w->pending)
			continue;
		w->pending = true;
		w->pend_next = NULL;
		w->pend_prev = watches.pending_tail;
		if (watches.pending_tail != NULL)
			watches.pending_tail->pend_next = w;
		else
			watches.pending_head = w;
		watches.pending_tail = w;
	}
	if (watches.timer == NULL)
		watches.timer = net_timer_create(WATCH_COALESCE_MSECS, false, watch_fire, NULL);
}

static struct watch_path *watch_path_find_wd(int wd)
{
	for (struct watch_path *p = watches.paths; p != NULL; p = p->next) {
		if (p->wd == wd)
			return p;
	}
	return NULL;
}

static void watch_event_cb(evutil_socket_t fd, short what ATTR_UNUSED, void *arg ATTR_UNUSED)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if ((ev->mask & IN_Q_OVERFLOW) != 0) {
				for (struct watch_path *wp = watches.paths; wp != NULL; wp = wp->next)
					watch_path_mark(wp);
				continue;
			}
			struct watch_path *wp = watch_path_find_wd(ev->wd);
			if (wp == NULL)
				continue;
			if ((ev->mask & IN_IGNORED) != 0)
				wp->wd = -1;
			watch_path_mark(wp);
		}
	}
}

static int watch_init(void)
{
	if (watches.fd >= 0 && watches.pid == getpid())
		return 0;
	struct event_base *base = net_worker_base();
	if (base == NULL)
		return -1;
	watches.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (watches.fd < 0) {
		log_warning("inotify_init1() failed, falling back to polling: %s",
			    strerror(errno));
		return -1;
	}
	watches.pid = getpid();
	watches.ev = event_new(base, watches.fd, EV_READ | EV_PERSIST, watch_event_cb, NULL);
	if (watches.ev == NULL || event_add(watches.ev, NULL) < 0)
		i_panic("cannot watch the inotify fd");
	return 0;
}

struct net_watch *net_watch_add(const char *path, net_watch_callback *cb, void *ctx)
{
	if (watch_init() < 0)
		return NULL;
	int wd = inotify_add_watch(watches.fd, path, WATCH_MASK);
	if (wd < 0) {
		if (errno != ENOENT)
			log_debug("inotify_add_watch(%s) failed: %s", path, strerror(errno));
		return NULL;
	}
	/* the same inode under any name gives the same descriptor */
	struct watch_path *p = watch_path_find_wd(wd);
	if (p == NULL) {
		p = xcalloc(1, sizeof(*p));
		p->wd = wd;
		p->path = xstrdup(path);
		p->next = watches.paths;
		if (p->next != NULL)
			p->next->prev = p;
		watches.paths = p;
	}
	struct net_watch *w = xcalloc(1, sizeof(*w));
	w->path = p;
	w->cb = cb;
	w->ctx = ctx;
	w->next = p->watchers;
	if (w->next != NULL)
		w->next->prev = w;
	p->watchers = w;
	return w;
}

static void watch_path_free(struct watch_path *p)
{
	if (p->wd >= 0)
		(void)inotify_rm_watch(watches.fd, p->wd);
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		watches.paths = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	free(p->path);
	free(p);
}

void net_watch_remove(struct net_watch **_watch)
{
	struct net_watch *w = *_watch;
	if (w == NULL)
		return;
	*_watch = NULL;
	watch_pending_remove(w);
	struct watch_path *p = w->path;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		p->watchers = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	free(w);
	if (p->watchers == NULL)
		watch_path_free(p);
	if (watches.pending_head == NULL)
		net_timer_destroy(&watches.timer);
}

void net_watch_deinit(void)
{
	if (watches.fd < 0 || watches.pid != getpid())
		return;
	if (watches.paths != NULL)
		log_warning("%s", "file watches left at exit");
	net_timer_destroy(&watches.timer);
	event_free(watches.ev);
	watches.ev = NULL;
	close(watches.fd);
	watches.fd = -1;
}
