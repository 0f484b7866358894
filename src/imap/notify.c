/* notify.c: see notify.h.
 *
 * A push (the states are fields of struct imap_notify):
 *
 *   kick ── busy? / a command runs? ──► later (imap_notify_kick() again
 *    │                                  at the command's end)
 *    ▼ busy, input paused
 *   output unread past IMAP_NOTIFY_OVERFLOW_BYTES? ──► [NOTIFICATIONOVERFLOW],
 *    │                                                  NOTIFY NONE, end
 *    ▼ SELECTED and the selected mailbox changed
 *   sync of the selected mailbox (session.c: EXPUNGE, EXISTS, FETCH FLAGS)
 *    ▼ the user's watch fired
 *   compare (a store request): states and subscriptions against the
 *   last ones; STATUS of the mailboxes whose counters moved; LIST
 *   responses for names and subscriptions
 *    ▼ MessageNew with fetch-atts and new messages
 *   FETCH of them, in slices (imap_notify_resume())
 *    ▼
 *   end: not busy, input resumes; another kick if something came meanwhile
 */
#include "notify.h"
#include "cmd-mailbox.h"
#include "fetch.h"
#include "mailbox-name.h"
#include "base/log.h"
#include "base/pool.h"
#include "net/net.h"
#include "store/store.h"
#include "store/request.h"
#include "syntax/seqset.h"

#include <stdlib.h>
#include <string.h>

/* What is known of a mailbox's counts, beside its store_mailbox_state. */
struct notify_counts {
	uint32_t messages, unseen;
	bool known;
};

struct imap_notify {
	struct imap_session *s;
	struct pool *pool;		/* owns spec */
	struct imap_notify_spec *spec;	/* NULL: NOTIFY NONE */
	struct imap_watch_target target;
	struct store_notify_watch *watch;	/* the user's */
	bool need_list;			/* mailbox events or SUBSCRIBED */

	/* the mailboxes and subscriptions as last seen (sorted by name) */
	struct store_mailbox_state *states;
	struct notify_counts *counts;	/* one per state */
	size_t state_count;
	struct store_mailbox_info *list;	/* when need_list */
	size_t list_count;

	bool user_changed;		/* the watch fired since the last compare */
	bool busy;			/* a push runs */
	/* the push's FETCH of new messages (MessageNew's fetch-atts) */
	uint32_t push_last_uid;		/* the view's last UID before its sync */
	struct imap_cmd *fetch_cmd;	/* NULL when none runs */
	struct fetch_ctx *fetch;
};

static void notify_push_end(struct imap_notify *n);

/* ---- which events a mailbox gets ---- */

static int notify_name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool notify_names_have(const struct imap_notify_group *g, const char *name)
{
	return g->name_count > 0 &&
		bsearch(&name, g->names, g->name_count, sizeof(*g->names), notify_name_cmp) != NULL;
}

static int notify_info_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct store_mailbox_info *)elem)->name);
}

static const struct store_mailbox_info *
notify_list_find(const struct store_mailbox_info *list, size_t count, const char *name)
{
	return count == 0 ? NULL : bsearch(name, list, count, sizeof(*list), notify_info_cmp);
}

/* RFC 5465 6.5: "all selectable mailboxes that are subordinate to the
 * specified mailbox plus the specified mailbox itself" */
static bool notify_subtree_has(const struct imap_notify_group *g, const char *name)
{
	char buf[IMAP_MAILBOX_MAX_LENGTH * 4 + 1];
	size_t len = strlen(name);
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, name, len + 1);
	for (;;) {
		if (notify_names_have(g, buf))
			return true;
		char *slash = strrchr(buf, IMAP_MAILBOX_SEPARATOR);
		if (slash == NULL)
			return false;
		*slash = '\0';
	}
}

/* The events the request asks for mailbox `name` (other than the
 * selected one's message events), with `subs` telling what is
 * subscribed (the list before or after a change). */
static unsigned int notify_events_for(const struct imap_notify_spec *spec, const char *name,
				      const struct store_mailbox_info *subs, size_t sub_count)
{
	unsigned int events = 0;
	for (size_t i = 0; i < spec->group_count; i++) {
		const struct imap_notify_group *g = &spec->groups[i];
		const struct store_mailbox_info *info;
		switch (g->filter) {
		case IMAP_NOTIFY_FILTER_INBOXES:
			/* 6.3: "If the IMAP server cannot easily compute this
			 * set, it MUST treat "inboxes" as equivalent to
			 * "personal"": LMTP may deliver to any mailbox */
		case IMAP_NOTIFY_FILTER_PERSONAL:
			events |= g->events;
			break;
		case IMAP_NOTIFY_FILTER_SUBSCRIBED:
			info = notify_list_find(subs, sub_count, name);
			if (info != NULL && info->subscribed)
				events |= g->events;
			break;
		case IMAP_NOTIFY_FILTER_SUBTREE:
			if (notify_subtree_has(g, name))
				events |= g->events;
			break;
		case IMAP_NOTIFY_FILTER_MAILBOXES:
			if (notify_names_have(g, name))
				events |= g->events;
			break;
		}
	}
	return events;
}

static unsigned int notify_events_now(const struct imap_notify *n, const char *name)
{
	return notify_events_for(n->spec, name, n->list, n->list_count);
}

static bool notify_is_selected(const struct imap_session *s, const char *name)
{
	return s->box != NULL && s->state == IMAP_STATE_SELECTED &&
		strcmp(store_mailbox_name(s->box), name) == 0;
}

/* ---- the request ---- */

static void notify_changed(struct imap_watch_target *target)
{
	struct imap_notify *n = (struct imap_notify *)
		((char *)target - offsetof(struct imap_notify, target));
	n->user_changed = true;
	imap_notify_kick(n->s);
}

static void notify_snapshot_free(struct imap_notify *n)
{
	free(n->states);
	free(n->counts);
	free(n->list);
	n->states = NULL;
	n->counts = NULL;
	n->list = NULL;
	n->state_count = n->list_count = 0;
}

/* Forgets the request (NOTIFY NONE): what stays is an empty one. */
static void notify_clear(struct imap_notify *n)
{
	store_notify_remove(&n->watch);
	notify_snapshot_free(n);
	if (n->pool != NULL)
		pool_destroy(&n->pool);
	n->spec = NULL;
	n->need_list = false;
	n->user_changed = false;
}

int imap_notify_set(struct imap_session *s, struct imap_notify_spec *spec, struct pool *pool)
{
	struct imap_notify *n = s->notify;
	if (n == NULL) {
		n = s->notify = xcalloc(1, sizeof(*n));
		n->s = s;
		n->target.changed = notify_changed;
	}
	notify_clear(n);
	if (spec == NULL)
		return 0;
	n->spec = spec;
	n->pool = pool;
	unsigned int all = 0;
	for (size_t i = 0; i < spec->group_count; i++) {
		all |= spec->groups[i].events;
		if (spec->groups[i].filter == IMAP_NOTIFY_FILTER_SUBSCRIBED)
			n->need_list = true;
	}
	if ((all & (IMAP_NOTIFY_MAILBOX_NAME | IMAP_NOTIFY_SUBSCRIPTION_CHANGE)) != 0)
		n->need_list = true;
	if (all == 0)
		return 0;	/* only the selected mailbox: its own watch */
	if (store_mailbox_states(s->store, &n->states, &n->state_count) < 0 ||
	    (n->need_list && store_mailbox_list(s->store, &n->list, &n->list_count) < 0)) {
		notify_clear(n);
		return -1;
	}
	n->counts = xcalloc(n->state_count == 0 ? 1 : n->state_count, sizeof(*n->counts));
	/* no watch (a kernel limit): changes are found when a command ends */
	(void)imap_session_watch_user(s, &n->target, &n->watch);
	return 0;
}

int imap_notify_write_status(struct imap_cmd *cmd, size_t *pos, uint64_t deadline)
{
	struct imap_session *s = cmd->session;
	struct imap_notify *n = s->notify;
	for (; n != NULL && *pos < n->state_count; (*pos)++) {
		if (imap_cmd_slice_end(cmd, deadline))
			return 0;
		const struct store_mailbox_state *st = &n->states[*pos];
		unsigned int events = notify_events_now(n, st->name);
		if ((events & IMAP_NOTIFY_MESSAGE_EVENTS) == 0 || notify_is_selected(s, st->name))
			continue;
		struct store_status status;
		if (store_mailbox_status(s->store, st->name, &status) < 0) {
			enum store_error err;
			(void)store_last_error(s->store, &err);
			if (err == STORE_ERR_NOTFOUND)
				continue;	/* deleted meanwhile */
			return -1;
		}
		/* 3.1: "If MessageNew is enabled, the STATUS response MUST
		 * contain MESSAGES, UIDNEXT, and UIDVALIDITY.  If
		 * MessageExpunge is enabled, the STATUS response MUST contain
		 * MESSAGES." */
		struct cmd_mailbox_status_items items = { .count = 0 };
		items.order[items.count++] = CMD_STATUS_MESSAGES;
		items.order[items.count++] = CMD_STATUS_UIDNEXT;
		items.order[items.count++] = CMD_STATUS_UIDVALIDITY;
		if ((events & IMAP_NOTIFY_FLAG_CHANGE) != 0)
			items.order[items.count++] = CMD_STATUS_UNSEEN;
		if (s->condstore)
			items.order[items.count++] = CMD_STATUS_HIGHESTMODSEQ;
		cmd_mailbox_status_write(s, cmd->pool, st->name, &items, &status);
		n->counts[*pos].messages = status.messages;
		n->counts[*pos].unseen = status.unseen;
		n->counts[*pos].known = true;
	}
	return 1;
}

static void notify_fetch_stop(struct imap_notify *n)
{
	if (n->fetch_cmd == NULL)
		return;
	fetch_deinit(n->fetch);
	struct pool *pool = n->fetch_cmd->pool;
	n->fetch_cmd = NULL;
	n->fetch = NULL;
	pool_destroy(&pool);
}

void imap_notify_free(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	if (n == NULL)
		return;
	notify_fetch_stop(n);
	notify_clear(n);
	free(n);
	s->notify = NULL;
}

bool imap_notify_flags_need_uid(const struct imap_session *s)
{
	const struct imap_notify *n = s->notify;
	return n != NULL && n->spec != NULL &&
		(n->spec->selected_events & IMAP_NOTIFY_FLAG_CHANGE) != 0;
}

bool imap_notify_is_busy(const struct imap_session *s)
{
	return s->notify != NULL && s->notify->busy;
}

/* ---- comparing the mailboxes (a store request) ---- */

enum notify_attr {
	NOTIFY_ATTR_NONEXISTENT = 1 << 0,
	NOTIFY_ATTR_NOSELECT = 1 << 1,
	NOTIFY_ATTR_HASCHILDREN = 1 << 2,
	NOTIFY_ATTR_HASNOCHILDREN = 1 << 3,
	NOTIFY_ATTR_SUBSCRIBED = 1 << 4,
};

/* One response of a compare. */
struct notify_record {
	bool is_list;
	const char *name;		/* in a states or list block of the compare */
	const char *oldname;		/* LIST of a renamed mailbox (OLDNAME) */
	unsigned int attrs;		/* LIST: enum notify_attr */
	struct cmd_mailbox_status_items items;	/* STATUS */
	struct store_status status;
};

struct notify_compare {
	struct imap_notify *n;
	struct store *store;
	char *selected_name;		/* xmalloc'd; NULL: none */
	struct store_mailbox_state *states;	/* new */
	size_t state_count;
	struct notify_counts *counts;
	struct store_mailbox_info *list;	/* new, when need_list */
	size_t list_count;
	struct notify_record *records;
	size_t record_count, record_cap;
	int ret;
};

static struct notify_record *notify_record_add(struct notify_compare *c, bool is_list,
					       const char *name)
{
	ARRAY_RESERVE(c->records, c->record_cap, c->record_count + 1);
	struct notify_record *r = &c->records[c->record_count++];
	memset(r, 0, sizeof(*r));
	r->is_list = is_list;
	r->name = name;
	return r;
}

/* The LIST attributes of `name` in `list` (RFC 5465 5.4, 5.5: computed
 * as LIST computes them). */
static unsigned int notify_attrs(const struct store_mailbox_info *list, size_t count,
				 const char *name)
{
	const struct store_mailbox_info *info = notify_list_find(list, count, name);
	if (info == NULL)
		return NOTIFY_ATTR_NONEXISTENT;
	unsigned int attrs = 0;
	if (!info->exists)
		attrs |= info->has_children ? NOTIFY_ATTR_NOSELECT : NOTIFY_ATTR_NONEXISTENT;
	attrs |= info->has_children ? NOTIFY_ATTR_HASCHILDREN : NOTIFY_ATTR_HASNOCHILDREN;
	if (info->subscribed)
		attrs |= NOTIFY_ATTR_SUBSCRIBED;
	return attrs;
}

static void notify_list_record(struct notify_compare *c, const char *name, const char *oldname)
{
	struct notify_record *r = notify_record_add(c, true, name);
	r->oldname = oldname;
	r->attrs = notify_attrs(c->list, c->list_count, name);
}

/* The events for `name` before or after the change (SUBSCRIBED may
 * have matched either). */
static unsigned int notify_compare_events(struct notify_compare *c, const char *name)
{
	struct imap_notify *n = c->n;
	return notify_events_for(n->spec, name, n->list, n->list_count) |
		notify_events_for(n->spec, name, c->list, c->list_count);
}

/* A mailbox whose counters moved (old: NULL when it was made again
 * under the same name, a new UIDVALIDITY): its STATUS, as 5.1-5.3 ask. */
static void notify_compare_status(struct notify_compare *c, size_t j,
				  const struct store_mailbox_state *old,
				  const struct notify_counts *old_counts)
{
	const struct store_mailbox_state *st = &c->states[j];
	/* the lists matter only to SUBSCRIBED, which reads them (need_list) */
	unsigned int events = notify_events_for(c->n->spec, st->name, c->list, c->list_count);
	if ((events & IMAP_NOTIFY_MESSAGE_EVENTS) == 0 ||
	    (c->selected_name != NULL && strcmp(c->selected_name, st->name) == 0))
		return;
	struct store_status status;
	if (store_mailbox_status(c->store, st->name, &status) < 0)
		return;		/* gone meanwhile: the next compare says so */
	bool known = old_counts != NULL && old_counts->known;
	bool counts = !known || old_counts->messages != status.messages ||
		old->uidnext != st->uidnext;
	bool unseen = (events & IMAP_NOTIFY_FLAG_CHANGE) != 0 &&
		(!known || old_counts->unseen != status.unseen);
	c->counts[j].messages = status.messages;
	c->counts[j].unseen = status.unseen;
	c->counts[j].known = true;
	/* 5.1: "If CONDSTORE [RFC4551] and/or QRESYNC [RFC5162] are
	 * enabled by the client, then the server sends a STATUS response
	 * that includes at least HIGHESTMODSEQ and UIDVALIDITY status data
	 * items" for a flag change; 5.2 and 5.3 add HIGHESTMODSEQ to the
	 * STATUS of new and expunged messages. */
	bool condstore = c->n->s->condstore;
	bool modseq = condstore && (old == NULL || old->highestmodseq != st->highestmodseq);
	bool flag_modseq = modseq && (events & IMAP_NOTIFY_FLAG_CHANGE) != 0;
	if (!counts && !unseen && !flag_modseq && old != NULL)
		return;
	struct notify_record *r = notify_record_add(c, false, st->name);
	r->status = status;
	if (counts || old == NULL) {
		r->items.order[r->items.count++] = CMD_STATUS_MESSAGES;
		r->items.order[r->items.count++] = CMD_STATUS_UIDNEXT;
	}
	/* 5.1: "the server MUST notify the client about mailbox
	 * UIDVALIDITY changes" */
	if (old == NULL || flag_modseq)
		r->items.order[r->items.count++] = CMD_STATUS_UIDVALIDITY;
	if ((events & IMAP_NOTIFY_FLAG_CHANGE) != 0)
		r->items.order[r->items.count++] = CMD_STATUS_UNSEEN;
	if (condstore)
		r->items.order[r->items.count++] = CMD_STATUS_HIGHESTMODSEQ;
}

static bool notify_same_mailbox(const struct store_mailbox_state *a,
				const struct store_mailbox_state *b)
{
	return a->id == b->id && a->uidvalidity == b->uidvalidity;
}

/* Orders indexes of the states array `ctx` by (id, uidvalidity); a
 * compare may run on a helper thread, hence qsort_r(). */
static int notify_key_cmp(const void *a, const void *b, void *ctx)
{
	const struct store_mailbox_state *states = ctx;
	const struct store_mailbox_state *x = &states[*(const size_t *)a];
	const struct store_mailbox_state *y = &states[*(const size_t *)b];
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->uidvalidity != y->uidvalidity)
		return x->uidvalidity < y->uidvalidity ? -1 : 1;
	return 0;
}

static size_t *notify_key_order(const struct store_mailbox_state *states, size_t count)
{
	size_t *order = xmalloc((count == 0 ? 1 : count) * sizeof(*order));
	for (size_t i = 0; i < count; i++)
		order[i] = i;
	qsort_r(order, count, sizeof(*order), notify_key_cmp, (void *)states);
	return order;
}

/* Pairs the old and new states by mailbox: *old_to_new_r[i] is the new
 * index of old i, or SIZE_MAX when it is gone (and the other way). */
static void notify_match(const struct store_mailbox_state *old, size_t old_count,
			 const struct store_mailbox_state *new, size_t new_count,
			 size_t *old_to_new, size_t *new_to_old)
{
	for (size_t i = 0; i < old_count; i++)
		old_to_new[i] = SIZE_MAX;
	for (size_t j = 0; j < new_count; j++)
		new_to_old[j] = SIZE_MAX;
	/* usually nothing was created, deleted or renamed */
	bool same = old_count == new_count;
	for (size_t i = 0; same && i < old_count; i++) {
		same = notify_same_mailbox(&old[i], &new[i]) &&
			strcmp(old[i].name, new[i].name) == 0;
	}
	if (same) {
		for (size_t i = 0; i < old_count; i++)
			old_to_new[i] = new_to_old[i] = i;
		return;
	}
	size_t *a = notify_key_order(old, old_count);
	size_t *b = notify_key_order(new, new_count);
	for (size_t i = 0, j = 0; i < old_count && j < new_count;) {
		const struct store_mailbox_state *x = &old[a[i]], *y = &new[b[j]];
		if (notify_same_mailbox(x, y)) {
			old_to_new[a[i]] = b[j];
			new_to_old[b[j]] = a[i];
			i++;
			j++;
		} else if (x->id < y->id || (x->id == y->id && x->uidvalidity < y->uidvalidity)) {
			i++;
		} else {
			j++;
		}
	}
	free(a);
	free(b);
}

static int notify_state_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct store_mailbox_state *)elem)->name);
}

static const struct store_mailbox_state *
notify_state_find(const struct store_mailbox_state *states, size_t count, const char *name)
{
	return count == 0 ? NULL :
		bsearch(name, states, count, sizeof(*states), notify_state_cmp);
}

/* A rename that only follows its parent's (5.4: "No additional
 * MailboxName events are sent for children in this case"). */
static bool notify_rename_follows_parent(const struct imap_notify *n,
					 const struct notify_compare *c,
					 const size_t *old_to_new, size_t i)
{
	const char *oldname = n->states[i].name;
	const char *newname = c->states[old_to_new[i]].name;
	for (size_t k = 0; k < n->state_count; k++) {
		if (k == i || old_to_new[k] == SIZE_MAX)
			continue;
		const char *po = n->states[k].name, *pn = c->states[old_to_new[k]].name;
		size_t lo = strlen(po), ln = strlen(pn);
		if (strcmp(po, pn) == 0)
			continue;
		if (strncmp(oldname, po, lo) == 0 && oldname[lo] == IMAP_MAILBOX_SEPARATOR &&
		    strncmp(newname, pn, ln) == 0 && newname[ln] == IMAP_MAILBOX_SEPARATOR &&
		    strcmp(oldname + lo, newname + ln) == 0)
			return true;
	}
	return false;
}

/* A created or deleted mailbox's direct parent is affected too (5.4). */
static void notify_parent_record(struct notify_compare *c, const char *name)
{
	const char *slash = strrchr(name, IMAP_MAILBOX_SEPARATOR);
	if (slash == NULL)
		return;
	char *pname = xstrndup(name, (size_t)(slash - name));
	/* its name in the list's block, which lives as long as the records */
	const struct store_mailbox_info *parent = notify_list_find(c->list, c->list_count, pname);
	free(pname);
	if (parent != NULL)
		notify_list_record(c, parent->name, NULL);
}

static void notify_compare_names(struct notify_compare *c, const size_t *old_to_new,
				 const size_t *new_to_old)
{
	struct imap_notify *n = c->n;
	for (size_t i = 0; i < n->state_count; i++) {
		const char *oldname = n->states[i].name;
		if (old_to_new[i] == SIZE_MAX) {
			/* deleted, unless made again under its name */
			if (notify_state_find(c->states, c->state_count, oldname) != NULL ||
			    (notify_compare_events(c, oldname) & IMAP_NOTIFY_MAILBOX_NAME) == 0)
				continue;
			notify_list_record(c, oldname, NULL);
			notify_parent_record(c, oldname);
			continue;
		}
		const char *newname = c->states[old_to_new[i]].name;
		if (strcmp(oldname, newname) == 0 ||
		    ((notify_compare_events(c, oldname) | notify_compare_events(c, newname)) &
		     IMAP_NOTIFY_MAILBOX_NAME) == 0 ||
		    notify_rename_follows_parent(n, c, old_to_new, i))
			continue;
		notify_list_record(c, newname, oldname);
	}
	for (size_t j = 0; j < c->state_count; j++) {
		const char *name = c->states[j].name;
		if (new_to_old[j] != SIZE_MAX ||
		    notify_state_find(n->states, n->state_count, name) != NULL ||
		    (notify_compare_events(c, name) & IMAP_NOTIFY_MAILBOX_NAME) == 0)
			continue;
		/* 5.4: "When INBOX is renamed, a new INBOX is assumed to be
		 * created.  No MailboxName event is sent for INBOX" */
		notify_list_record(c, name, NULL);
		notify_parent_record(c, name);
	}
}

/* 5.5: a LIST for each name whose subscription changed. */
static void notify_compare_subscriptions(struct notify_compare *c)
{
	struct imap_notify *n = c->n;
	size_t i = 0, j = 0;
	while (i < n->list_count || j < c->list_count) {
		const struct store_mailbox_info *a = i < n->list_count ? &n->list[i] : NULL;
		const struct store_mailbox_info *b = j < c->list_count ? &c->list[j] : NULL;
		int cmp = a == NULL ? 1 : b == NULL ? -1 : strcmp(a->name, b->name);
		bool was = cmp <= 0 && a->subscribed, is = cmp >= 0 && b->subscribed;
		const char *name = cmp <= 0 ? a->name : b->name;
		if (cmp <= 0)
			i++;
		if (cmp >= 0)
			j++;
		if (was == is ||
		    (notify_compare_events(c, name) & IMAP_NOTIFY_SUBSCRIPTION_CHANGE) == 0)
			continue;
		/* the name in the block that outlives the records */
		const struct store_mailbox_info *now = notify_list_find(c->list, c->list_count, name);
		if (now == NULL) {
			struct notify_record *r = notify_record_add(c, true, NULL);
			r->oldname = NULL;
			r->attrs = NOTIFY_ATTR_NONEXISTENT;
			/* keep the old block's name: the old list stays until done */
			r->name = a->name;
		} else {
			notify_list_record(c, now->name, NULL);
		}
	}
}

static void notify_compare_work(void *ctx)
{
	struct notify_compare *c = ctx;
	struct imap_notify *n = c->n;

	c->ret = store_mailbox_states(c->store, &c->states, &c->state_count);
	if (c->ret == 0 && n->need_list)
		c->ret = store_mailbox_list(c->store, &c->list, &c->list_count);
	if (c->ret < 0)
		return;
	c->counts = xcalloc(c->state_count == 0 ? 1 : c->state_count, sizeof(*c->counts));
	size_t *old_to_new = xmalloc((n->state_count + 1) * sizeof(size_t));
	size_t *new_to_old = xmalloc((c->state_count + 1) * sizeof(size_t));
	notify_match(n->states, n->state_count, c->states, c->state_count,
		     old_to_new, new_to_old);
	for (size_t j = 0; j < c->state_count; j++) {
		size_t i = new_to_old[j];
		if (i != SIZE_MAX) {
			c->counts[j] = n->counts[i];
			if (n->states[i].uidnext != c->states[j].uidnext ||
			    n->states[i].highestmodseq != c->states[j].highestmodseq)
				notify_compare_status(c, j, &n->states[i], &n->counts[i]);
		} else if (notify_state_find(n->states, n->state_count, c->states[j].name) != NULL) {
			/* the same name with another UIDVALIDITY */
			notify_compare_status(c, j, NULL, NULL);
		}
	}
	if (n->need_list) {
		notify_compare_names(c, old_to_new, new_to_old);
		notify_compare_subscriptions(c);
	}
	free(old_to_new);
	free(new_to_old);
}

static void notify_attrs_write(struct str *line, unsigned int attrs)
{
	static const char *const names[] = {
		"\\NonExistent", "\\Noselect", "\\HasChildren", "\\HasNoChildren", "\\Subscribed",
	};
	bool first = true;
	str_append_c(line, '(');
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if ((attrs & (1u << i)) == 0)
			continue;
		if (!first)
			str_append_c(line, ' ');
		str_append(line, names[i]);
		first = false;
	}
	str_append_c(line, ')');
}

/* Writes what the compare found (without the LIST responses when
 * `quiet_names`), makes its lists the last seen, and frees c. */
static void notify_compare_apply(struct notify_compare *c, bool quiet_names)
{
	struct imap_notify *n = c->n;
	struct imap_session *s = n->s;

	if (c->ret < 0) {
		enum store_error err;
		log_error("%s: NOTIFY: reading the mailboxes failed: %s", s->log_prefix,
			  store_last_error(c->store, &err));
		free(c->states);
		free(c->list);
	} else {
		struct pool *pool = pool_create(1024);
		for (size_t i = 0; i < c->record_count; i++) {
			const struct notify_record *r = &c->records[i];
			if (!r->is_list) {
				cmd_mailbox_status_write(s, pool, r->name, &r->items, &r->status);
				continue;
			}
			if (quiet_names)
				continue;
			struct str line = STR_INIT;
			str_append(&line, "* LIST ");
			notify_attrs_write(&line, r->attrs);
			str_printfa(&line, " \"%c\" ", IMAP_MAILBOX_SEPARATOR);
			imap_mailbox_write(s, pool, &line, r->name);
			if (r->oldname != NULL) {
				str_append(&line, " (\"OLDNAME\" (");
				imap_mailbox_write(s, pool, &line, r->oldname);
				str_append(&line, "))");
			}
			imap_session_write_line(s, &line);
			str_free(&line);
		}
		pool_destroy(&pool);
		/* the new snapshot replaces the old (records pointed into both) */
		notify_snapshot_free(n);
		n->states = c->states;
		n->state_count = c->state_count;
		n->counts = c->counts;
		c->counts = NULL;
		if (n->need_list) {
			n->list = c->list;
			n->list_count = c->list_count;
		} else {
			free(c->list);
		}
	}
	free(c->counts);
	free(c->records);
	free(c->selected_name);
	free(c);
}

static void notify_compare_done(void *ctx)
{
	struct notify_compare *c = ctx;
	struct imap_notify *n = c->n;
	notify_compare_apply(c, false);
	notify_push_end(n);
}

/* ---- pushing ---- */

static struct notify_compare *notify_compare_create(struct imap_notify *n)
{
	struct imap_session *s = n->s;
	struct notify_compare *c = xcalloc(1, sizeof(*c));
	c->n = n;
	c->store = s->store;
	if (s->box != NULL && s->state == IMAP_STATE_SELECTED)
		c->selected_name = xstrdup(store_mailbox_name(s->box));
	return c;
}

static void notify_compare_start(struct imap_notify *n)
{
	struct notify_compare *c = notify_compare_create(n);
	n->user_changed = false;
	imap_session_store_request(n->s, notify_compare_work, notify_compare_done, c);
}

void imap_notify_own_change(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	if (n == NULL || n->spec == NULL || n->states == NULL || !n->need_list || n->busy)
		return;
	struct notify_compare *c = notify_compare_create(n);
	notify_compare_work(c);
	notify_compare_apply(c, true);
}

/* The new messages of the selected mailbox get MessageNew's fetch-atts
 * (5.2: EXISTS, "followed by an unsolicited FETCH response containing
 * the information requested by the client").  True when a FETCH runs. */
static bool notify_fetch_start(struct imap_notify *n)
{
	struct imap_session *s = n->s;
	if (n->spec == NULL || !n->spec->has_fetch || s->box == NULL ||
	    (n->spec->selected_events & IMAP_NOTIFY_MESSAGE_NEW) == 0 || s->closing)
		return false;
	uint32_t first = imap_session_msn_lower_bound(s->box, n->push_last_uid + 1);
	uint32_t count = store_mailbox_count(s->box);
	if (first > count)
		return false;
	static const struct imap_command_def notify_fetch_def = {
		.name = "NOTIFY", .states = IMAP_STATE_SELECTED,
	};
	struct pool *pool = pool_create(2048);
	struct imap_cmd *cmd = p_malloc(pool, sizeof(*cmd));
	memset(cmd, 0, sizeof(*cmd));
	cmd->session = s;
	cmd->def = &notify_fetch_def;
	cmd->pool = pool;
	cmd->tag = "*";
	cmd->name = "NOTIFY";
	struct seqset msns = SEQSET_INIT;
	seqset_add_range(&msns, first, count);
	n->fetch = p_malloc(pool, sizeof(*n->fetch));
	memset(n->fetch, 0, sizeof(*n->fetch));
	fetch_init(n->fetch, cmd, &n->spec->fetch, &msns);
	seqset_deinit(&msns);
	n->fetch_cmd = cmd;
	return true;
}

/* Runs the FETCH until it pauses (false) or ends (true). */
static bool notify_fetch_step(struct imap_notify *n)
{
	enum fetch_run_result result = fetch_run(n->fetch);
	if (result == FETCH_RUN_PAUSED)
		return false;
	if (result == FETCH_RUN_BROKEN && n->s->conn != NULL)
		net_conn_close(n->s->conn);	/* inside a response */
	else if (result == FETCH_RUN_STORE_ERROR || result == FETCH_RUN_UNKNOWN_CTE)
		log_debug("%s: NOTIFY: FETCH of new messages stopped (%d)",
			  n->s->log_prefix, (int)result);
	notify_fetch_stop(n);
	return true;
}

static void notify_synced(void *ctx)
{
	struct imap_notify *n = ctx;
	if (n->user_changed && n->spec != NULL && n->states != NULL && !n->s->closing) {
		notify_compare_start(n);
		return;
	}
	notify_push_end(n);
}

/* True if the session may get untagged responses now: between commands
 * (RFC 5465 3.1: "the client listens for event notifications all the
 * time (even when no command is in progress)") or during IDLE. */
static bool notify_can_push(const struct imap_session *s)
{
	if (s->conn == NULL || s->closing || s->logout_sent || s->destroy_pending)
		return false;
	if (s->idling)
		return !s->idle_sync_running;
	return s->cmd == NULL && !s->reply_pending && !s->store_wait;
}

static bool notify_selected_wanted(const struct imap_notify *n)
{
	const struct imap_session *s = n->s;
	return n->spec != NULL && n->spec->selected != IMAP_NOTIFY_SELECTED_NONE &&
		n->spec->selected_events != 0 && s->box != NULL &&
		s->state == IMAP_STATE_SELECTED;
}

static void notify_overflow(struct imap_notify *n)
{
	struct imap_session *s = n->s;
	log_info("%s: NOTIFY: the client does not read its notifications: "
		 "NOTIFICATIONOVERFLOW", s->log_prefix);
	/* 5.8: "behave as if a NOTIFY NONE command had just been received" */
	notify_clear(n);
	imap_session_untagged(s, "OK [NOTIFICATIONOVERFLOW] Too many notifications unread; "
			      "notifications are off.");
}

void imap_notify_kick(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	if (n == NULL || n->busy || !notify_can_push(s))
		return;
	bool selected = notify_selected_wanted(n) && s->box_changed;
	bool user = n->user_changed && n->states != NULL;
	if (!selected && !user)
		return;
	if (net_conn_output_len(s->conn) > IMAP_NOTIFY_OVERFLOW_BYTES) {
		notify_overflow(n);
		return;
	}
	n->busy = true;
	net_conn_input_pause(s->conn, true);
	if (selected) {
		uint32_t count = store_mailbox_count(s->box);
		n->push_last_uid = count == 0 ? 0 : store_mailbox_msg(s->box, count)->uid;
		/* 6.1.2: SELECTED-DELAYED holds expunges back until a command
		 * that allows them, IDLE among them */
		bool expunges = n->spec->selected == IMAP_NOTIFY_SELECTED || s->idling;
		imap_session_sync_request(s, expunges, notify_synced, n);
	} else {
		n->push_last_uid = UINT32_MAX;
		notify_synced(n);
	}
}

static void notify_push_end(struct imap_notify *n)
{
	struct imap_session *s = n->s;
	if (!s->closing && n->push_last_uid != UINT32_MAX && notify_fetch_start(n)) {
		n->push_last_uid = UINT32_MAX;
		if (!notify_fetch_step(n))
			return;		/* imap_notify_resume() goes on */
	}
	n->busy = false;
	if (s->closing)
		return;
	imap_notify_kick(s);
	if (n->busy)
		return;
	/* an idle session holds no index (DESIGN.md): IDLE gave it back at
	 * its start, and the push took it again */
	if (s->idling && !store_request_busy(s->store))
		store_release_memory(s->store);
	imap_session_input_resume(s);
}

bool imap_notify_resume(struct imap_session *s)
{
	struct imap_notify *n = s->notify;
	if (n == NULL || !n->busy)
		return false;
	if (n->fetch_cmd != NULL && notify_fetch_step(n))
		notify_push_end(n);
	return true;
}
