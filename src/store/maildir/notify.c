/* notify.c: change notification of the Maildir backend, with inotify.
 *
 * A mailbox may have changed when the user's notify file is touched
 * (every change the index records, by any process: storage.c) or when
 * its new/ directory changes (mail dropped in by other programs).  A
 * watch covers those two paths.  Not cur/: a sync learns only what the
 * index recorded, which the notify file announces (a file placed in
 * cur/ by hand is found by `roost check --rebuild` alone), and setting
 * up a watch on a directory makes the kernel visit every cached entry
 * of it, which for a cur/ of 100,000 messages was 95% of the CPU time
 * of a SELECT.  One inotify instance
 * per notification object (the kernel allows only 128 per user) serves
 * every watch; watches on the same inode share one inotify watch
 * descriptor (struct notify_path), so the notify file of a user with
 * many sessions costs one.  Events only mark watches pending; the
 * reports go out from maildir_notify_read() once per watch, however
 * many events it saw.  A user watch (store_notify_add_user(), for NOTIFY)
 * covers the notify file alone, so it costs one link whatever the
 * number of the user's mailboxes.  Events find their path through a hash
 * of the watch descriptors: a worker with 10,000 users with a mailbox
 * selected watches 20,000 paths, and a walk of them for each event made
 * every delivery's cost grow with the worker's sessions.
 * Nothing here reads the index or blocks. */
#include "store/maildir/maildir-private.h"
#include "base/log.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define NOTIFY_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | \
		     IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)
/* the notify file, new/ */
#define NOTIFY_PATHS_PER_WATCH 2

struct notify_watch;

/* One watch's use of a path: in the path's list of links. */
struct notify_link {
	struct notify_link *prev, *next;
	struct notify_watch *watch;
	struct notify_path *path;
};

struct notify_path {
	struct notify_path *prev, *next;
	struct notify_path *hash_next;	/* in the bucket of wd */
	int wd;			/* -1 after the kernel dropped it (not hashed) */
	char *path;		/* to set the watch up again */
	struct notify_link *links;
};

struct notify_watch {
	struct store_notify_watch watch;
	struct maildir_notify *mn;
	struct notify_link links[NOTIFY_PATHS_PER_WATCH];
	struct notify_watch *pend_prev, *pend_next;
	bool pending;
};

struct maildir_notify {
	struct store_notify notify;
	struct notify_path *paths;
	/* the paths with wd >= 0 by wd; bucket_count is a power of 2 */
	struct notify_path **buckets;
	size_t bucket_count, hashed_count;
	size_t dropped_count;	/* paths with wd -1 */
	struct notify_watch *pending_head, *pending_tail;
};

int maildir_notify_create(const struct store_settings *set ATTR_UNUSED,
			  struct store_notify **notify_r, const char **error_r)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0) {
		log_warning("inotify_init1() failed, falling back to polling: %s",
			    strerror(errno));
		*error_r = "Cannot watch for changes now";
		return -1;
	}
	struct maildir_notify *mn = xcalloc(1, sizeof(*mn));
	mn->notify.fd = fd;
	*notify_r = &mn->notify;
	return 0;
}

void maildir_notify_destroy(struct store_notify *notify)
{
	struct maildir_notify *mn = (struct maildir_notify *)notify;
	assert(mn->paths == NULL);
	close(mn->notify.fd);
	free(mn->buckets);
	free(mn);
}

static void notify_pending_remove(struct maildir_notify *mn, struct notify_watch *w)
{
	if (!w->pending)
		return;
	if (w->pend_prev != NULL)
		w->pend_prev->pend_next = w->pend_next;
	else
		mn->pending_head = w->pend_next;
	if (w->pend_next != NULL)
		w->pend_next->pend_prev = w->pend_prev;
	else
		mn->pending_tail = w->pend_prev;
	w->pend_prev = w->pend_next = NULL;
	w->pending = false;
}

static void notify_path_mark(struct maildir_notify *mn, struct notify_path *p)
{
	for (struct notify_link *l = p->links; l != NULL; l = l->next) {
		struct notify_watch *w = l->watch;
		if (w->pending)
			continue;
		w->pending = true;
		w->pend_next = NULL;
		w->pend_prev = mn->pending_tail;
		if (mn->pending_tail != NULL)
			mn->pending_tail->pend_next = w;
		else
			mn->pending_head = w;
		mn->pending_tail = w;
	}
}

static size_t notify_wd_bucket(const struct maildir_notify *mn, int wd)
{
	/* descriptors are small consecutive numbers: the low bits spread */
	return (size_t)(unsigned int)wd & (mn->bucket_count - 1);
}

static void notify_hash_insert(struct maildir_notify *mn, struct notify_path *p)
{
	if (p->wd < 0)
		return;
	if (mn->hashed_count >= mn->bucket_count) {
		size_t old_count = mn->bucket_count;
		struct notify_path **old = mn->buckets;
		mn->bucket_count = old_count == 0 ? 64 : old_count * 2;
		mn->buckets = xcalloc(mn->bucket_count, sizeof(*mn->buckets));
		for (size_t i = 0; i < old_count; i++) {
			struct notify_path *q, *next;
			for (q = old[i]; q != NULL; q = next) {
				next = q->hash_next;
				size_t b = notify_wd_bucket(mn, q->wd);
				q->hash_next = mn->buckets[b];
				mn->buckets[b] = q;
			}
		}
		free(old);
	}
	size_t b = notify_wd_bucket(mn, p->wd);
	p->hash_next = mn->buckets[b];
	mn->buckets[b] = p;
	mn->hashed_count++;
}

static void notify_hash_remove(struct maildir_notify *mn, struct notify_path *p)
{
	if (p->wd < 0)
		return;
	struct notify_path **pp = &mn->buckets[notify_wd_bucket(mn, p->wd)];
	for (; *pp != NULL; pp = &(*pp)->hash_next) {
		if (*pp == p) {
			*pp = p->hash_next;
			p->hash_next = NULL;
			mn->hashed_count--;
			return;
		}
	}
}

static struct notify_path *notify_path_find_wd(struct maildir_notify *mn, int wd)
{
	if (mn->bucket_count == 0)
		return NULL;
	for (struct notify_path *p = mn->buckets[notify_wd_bucket(mn, wd)]; p != NULL;
	     p = p->hash_next) {
		if (p->wd == wd)
			return p;
	}
	return NULL;
}

static void notify_path_free(struct maildir_notify *mn, struct notify_path *p)
{
	notify_hash_remove(mn, p);
	if (p->wd >= 0)
		(void)inotify_rm_watch(mn->notify.fd, p->wd);
	else
		mn->dropped_count--;
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		mn->paths = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	free(p->path);
	free(p);
}

static void notify_link_remove(struct maildir_notify *mn, struct notify_link *l)
{
	struct notify_path *p = l->path;
	if (p == NULL)
		return;
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		p->links = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	l->path = NULL;
	if (p->links == NULL)
		notify_path_free(mn, p);
}

/* Links l to the inotify watch of `path`.  0, or -1 when it cannot be
 * watched. */
static int notify_link_add(struct maildir_notify *mn, struct notify_link *l, const char *path)
{
	int wd = inotify_add_watch(mn->notify.fd, path, NOTIFY_MASK);
	if (wd < 0) {
		if (errno != ENOENT)
			log_debug("inotify_add_watch(%s) failed: %s", path, strerror(errno));
		return -1;
	}
	/* the same inode under any name gives the same descriptor */
	struct notify_path *p = notify_path_find_wd(mn, wd);
	if (p == NULL) {
		p = xcalloc(1, sizeof(*p));
		p->wd = wd;
		p->path = xstrdup(path);
		p->next = mn->paths;
		if (p->next != NULL)
			p->next->prev = p;
		mn->paths = p;
		notify_hash_insert(mn, p);
	}
	l->path = p;
	l->prev = NULL;
	l->next = p->links;
	if (l->next != NULL)
		l->next->prev = l;
	p->links = l;
	return 0;
}

void maildir_notify_remove(struct store_notify_watch *watch)
{
	struct notify_watch *w = (struct notify_watch *)watch;
	notify_pending_remove(w->mn, w);
	for (size_t i = 0; i < NOTIFY_PATHS_PER_WATCH; i++)
		notify_link_remove(w->mn, &w->links[i]);
	free(w);
}

/* A watch of paths[0..count) (count <= NOTIFY_PATHS_PER_WATCH, the
 * user's notify file first), which it frees. */
static int notify_watch_add(struct maildir_notify *mn, char **paths, size_t count,
			    struct store_notify_watch **watch_r)
{
	struct notify_watch *w = xcalloc(1, sizeof(*w));
	int ret = 0;

	w->mn = mn;
	for (size_t i = 0; i < count; i++) {
		w->links[i].watch = w;
		if (ret == 0)
			ret = notify_link_add(mn, &w->links[i], paths[i]);
		if (ret < 0 && i == 0 && errno == ENOENT) {
			/* a store that has not changed since it was made
			 * has no notify file yet */
			int fd = open(paths[i], O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
			if (fd >= 0) {
				close(fd);
				ret = notify_link_add(mn, &w->links[i], paths[i]);
			}
		}
		free(paths[i]);
	}
	if (ret < 0) {
		maildir_notify_remove(&w->watch);
		return -1;
	}
	*watch_r = &w->watch;
	return 0;
}

int maildir_notify_add(struct store_notify *notify, struct store_mailbox *box,
		       struct store_notify_watch **watch_r)
{
	struct maildir_store *ms = (struct maildir_store *)box->store;
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	/* inotify watches inodes: a rename of the folder by another
	 * session keeps these watches on it */
	char *paths[NOTIFY_PATHS_PER_WATCH] = {
		xstrdup(ms->notify_path),
		xasprintf("%s/new", mbox->dir),
	};
	return notify_watch_add((struct maildir_notify *)notify, paths, N_ELEMENTS(paths),
				watch_r);
}

int maildir_notify_add_user(struct store_notify *notify, struct store *store,
			    struct store_notify_watch **watch_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	/* every change through the store touches the notify file (the
	 * subscriptions and the mailbox list too) */
	char *paths[1] = { xstrdup(ms->notify_path) };
	return notify_watch_add((struct maildir_notify *)notify, paths, 1, watch_r);
}

/* Marks the watches of every path an event in buf[0..n) concerns. */
static void notify_events(struct maildir_notify *mn, const char *buf, size_t n)
{
	for (const char *p = buf; p < buf + n;) {
		const struct inotify_event *ev = (const struct inotify_event *)p;
		p += sizeof(*ev) + ev->len;
		if ((ev->mask & IN_Q_OVERFLOW) != 0) {
			/* events were lost: anything may have changed */
			for (struct notify_path *np = mn->paths; np != NULL; np = np->next)
				notify_path_mark(mn, np);
			continue;
		}
		struct notify_path *np = notify_path_find_wd(mn, ev->wd);
		if (np == NULL)
			continue;
		if ((ev->mask & IN_IGNORED) != 0) {
			notify_hash_remove(mn, np);
			np->wd = -1;
			mn->dropped_count++;
		}
		notify_path_mark(mn, np);
	}
}

void maildir_notify_read(struct store_notify *notify, store_notify_callback_t *cb, void *ctx)
{
	struct maildir_notify *mn = (struct maildir_notify *)notify;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(mn->notify.fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		notify_events(mn, buf, (size_t)n);
	}
	/* a watch the kernel dropped (file replaced, deleted) is set up
	 * again on the same path if possible */
	for (struct notify_path *p = mn->paths; p != NULL && mn->dropped_count > 0; p = p->next) {
		if (p->wd < 0) {
			p->wd = inotify_add_watch(mn->notify.fd, p->path, NOTIFY_MASK);
			if (p->wd >= 0) {
				mn->dropped_count--;
				notify_hash_insert(mn, p);
			}
		}
	}
	struct notify_watch *w;
	while ((w = mn->pending_head) != NULL) {
		notify_pending_remove(mn, w);
		cb(ctx, w->watch.cookie);
	}
}
