/* view.c: a session's msn <-> UID view of a mailbox, shared by backends.
 *
 * Backends find what changed since the view's highestmodseq; this file
 * turns it into the view's new state and reports it in the order store.h
 * promises (expunges highest msn first, then exists, keywords, flags).
 * It never reads the disk.
 *
 * A store keeps the last view of a few mailboxes as immutable snapshots
 * (struct store_view_snap), so that opening a mailbox again shares the
 * snapshot's messages and only applies what changed since, as the sync
 * of an open view does, instead of loading every message.  A view
 * copies the shared array before its first change. */
#include "store/store-private.h"

#include <stdlib.h>
#include <string.h>

void store_view_init(struct store_mailbox *box, struct store *store,
		     const char *name, bool readonly)
{
	box->store = store;
	box->name = xstrdup(name);
	box->readonly = readonly;
	box->keywords = xcalloc(STORE_MAX_KEYWORDS + 1, sizeof(*box->keywords));
}

static void snap_unref(struct store_view_snap **_snap)
{
	struct store_view_snap *snap = *_snap;

	*_snap = NULL;
	if (snap == NULL || --snap->refcount > 0)
		return;
	free(snap->msgs);
	free(snap);
}

void store_view_deinit(struct store_mailbox *box)
{
	for (size_t i = 0; i < box->keyword_count; i++)
		free((char *)box->keywords[i]);
	free(box->keywords);
	if (box->snap != NULL)
		snap_unref(&box->snap);
	else
		free(box->msgs);
	free(box->state);
	free(box->name);
}

void store_view_msgs_own(struct store_mailbox *box)
{
	struct store_msg *msgs;

	if (box->snap == NULL)
		return;
	/* state has room for count entries: the new cap */
	msgs = xmalloc(ROOST_MAX(box->count, 1) * sizeof(*msgs));
	if (box->count > 0)
		memcpy(msgs, box->msgs, box->count * sizeof(*msgs));
	box->msgs = msgs;
	box->cap = ROOST_MAX(box->count, 1);
	box->state = xrealloc(box->state, box->cap);
	snap_unref(&box->snap);
}

struct store_view_snap *store_view_cache_get(struct store *store, int64_t mailbox_id,
					     uint32_t uidvalidity)
{
	for (size_t i = 0; i < STORE_VIEW_CACHE_MAX; i++) {
		struct store_view_cached *c = &store->view_cache[i];

		if (c->snap != NULL && c->mailbox_id == mailbox_id) {
			if (c->snap->uidvalidity != uidvalidity)
				return NULL;
			c->last_use = ++store->view_cache_clock;
			return c->snap;
		}
	}
	return NULL;
}

void store_view_init_snap(struct store_mailbox *box, struct store_view_snap *snap)
{
	snap->refcount++;
	box->snap = snap;
	box->msgs = snap->msgs;
	box->count = snap->count;
	box->cap = 0;
	/* zeroed pages: a big view's state costs nothing until touched */
	box->state = xcalloc(ROOST_MAX(snap->count, 1), 1);
	box->uidvalidity = snap->uidvalidity;
	box->uidnext = snap->uidnext;
	box->highestmodseq = snap->highestmodseq;
}

void store_view_cache_put(struct store_mailbox *box, int64_t mailbox_id)
{
	struct store *store = box->store;
	struct store_view_cached *slot = NULL;
	struct store_view_snap *snap;

	if (box->expunged_marks > 0)
		return;
	for (size_t i = 0; i < STORE_VIEW_CACHE_MAX && slot == NULL; i++) {
		if (store->view_cache[i].snap != NULL &&
		    store->view_cache[i].mailbox_id == mailbox_id)
			slot = &store->view_cache[i];
	}
	if (slot != NULL && slot->snap == box->snap) {
		slot->last_use = ++store->view_cache_clock;
		return;
	}
	/* what the view has (as of box->highestmodseq), unless it shares a
	 * snapshot, which is then older than the view but still valid */
	if (slot != NULL && slot->snap->uidvalidity == box->uidvalidity &&
	    slot->snap->highestmodseq > (box->snap != NULL ? box->snap->highestmodseq :
					 box->highestmodseq))
		return;
	if (box->snap == NULL) {
		/* a full load grew the array by doubling; it is read-only now */
		if (box->cap > box->count + box->count / 8 + 16)
			box->msgs = xrealloc(box->msgs, ROOST_MAX(box->count, 1) * sizeof(*box->msgs));
		snap = xcalloc(1, sizeof(*snap));
		snap->refcount = 1;	/* the view's */
		snap->msgs = box->msgs;
		snap->count = box->count;
		snap->uidvalidity = box->uidvalidity;
		snap->uidnext = box->uidnext;
		snap->highestmodseq = box->highestmodseq;
		box->snap = snap;
		box->cap = 0;
	}
	if (slot == NULL) {
		for (size_t i = 0; i < STORE_VIEW_CACHE_MAX; i++) {
			struct store_view_cached *c = &store->view_cache[i];

			if (slot == NULL || c->snap == NULL ||
			    (slot->snap != NULL && c->last_use < slot->last_use))
				slot = c;
		}
	}
	snap_unref(&slot->snap);
	box->snap->refcount++;
	slot->snap = box->snap;
	slot->mailbox_id = mailbox_id;
	slot->last_use = ++store->view_cache_clock;
}

void store_view_cache_trim(struct store *store, bool all)
{
	for (size_t i = 0; i < STORE_VIEW_CACHE_MAX; i++) {
		struct store_view_cached *c = &store->view_cache[i];

		if (c->snap != NULL && (all || c->snap->refcount == 1))
			snap_unref(&c->snap);
	}
}

size_t store_view_cache_bytes(const struct store *store)
{
	size_t bytes = 0;

	for (size_t i = 0; i < STORE_VIEW_CACHE_MAX; i++) {
		const struct store_view_snap *snap = store->view_cache[i].snap;

		if (snap != NULL)
			bytes += sizeof(*snap) + snap->count * sizeof(snap->msgs[0]);
	}
	return bytes;
}

static uint32_t first_unseen(const struct store_msg *msgs, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if ((msgs[i].flags & STORE_FLAG_SEEN) == 0)
			return (uint32_t)i + 1;
	}
	return 0;
}

uint32_t store_view_first_unseen(struct store_mailbox *box)
{
	struct store_view_snap *snap = box->snap;

	if (snap == NULL)
		return first_unseen(box->msgs, box->count);
	if (snap->first_unseen_plus1 == 0)
		snap->first_unseen_plus1 = first_unseen(snap->msgs, snap->count) + 1;
	return snap->first_unseen_plus1 - 1;
}

void store_view_append(struct store_mailbox *box, const struct store_msg *msg)
{
	size_t cap;

	if (box->count > 0 && box->msgs[box->count - 1].uid >= msg->uid)
		i_panic("store view: uid %u appended after %u", msg->uid,
			box->msgs[box->count - 1].uid);
	store_view_msgs_own(box);
	cap = box->cap;
	ARRAY_RESERVE(box->msgs, box->cap, box->count + 1);
	ARRAY_RESERVE(box->state, cap, box->count + 1);
	box->msgs[box->count] = *msg;
	box->state[box->count] = 0;
	box->count++;
}

size_t store_view_lower_bound(struct store_mailbox *box, uint32_t uid)
{
	size_t lo = 0, hi = box->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (box->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void store_view_uid_runs(struct store_mailbox *box, uint32_t first_uid, uint32_t max_uid,
			 struct store_uid_range **runs_r, size_t *count_r)
{
	size_t i = store_view_lower_bound(box, first_uid), cap = 0;

	*runs_r = NULL;
	*count_r = 0;
	while (i < box->count && box->msgs[i].uid <= max_uid) {
		/* msgs[j].uid - j never falls (UIDs ascend), so msgs[i..j] is
		 * a run exactly when msgs[j].uid - msgs[i].uid == j - i:
		 * gallop to a step that leaves the run, then halve */
		size_t good = i, step = 1, bad;

		while (i + step < box->count &&
		       box->msgs[i + step].uid - box->msgs[i].uid == step) {
			good = i + step;
			step *= 2;
		}
		bad = i + step < box->count ? i + step : box->count;
		while (bad - good > 1) {
			size_t mid = good + (bad - good) / 2;

			if (box->msgs[mid].uid - box->msgs[i].uid == mid - i)
				good = mid;
			else
				bad = mid;
		}
		ARRAY_RESERVE(*runs_r, cap, *count_r + 1);
		(*runs_r)[*count_r].first = box->msgs[i].uid;
		(*runs_r)[*count_r].last = box->msgs[good].uid < max_uid ?
			box->msgs[good].uid : max_uid;
		(*count_r)++;
		i = good + 1;
	}
}

ssize_t store_view_find(struct store_mailbox *box, uint32_t uid)
{
	size_t lo = 0, hi = box->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (box->msgs[mid].uid == uid)
			return (ssize_t)mid;
		if (box->msgs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

void store_view_mark_recent(struct store_mailbox *box, uint32_t first_uid, uint32_t end_uid)
{
	for (size_t i = box->count; i > 0; i--) {
		uint32_t uid = box->msgs[i - 1].uid;

		if (uid < first_uid)
			break;
		if (uid < end_uid && (box->state[i - 1] & STORE_VIEW_RECENT) == 0) {
			box->state[i - 1] |= STORE_VIEW_RECENT;
			box->recent_count++;
		}
	}
}

void store_view_mark_dirty(struct store_mailbox *box, size_t idx)
{
	if ((box->state[idx] & STORE_VIEW_DIRTY) == 0) {
		box->state[idx] |= STORE_VIEW_DIRTY;
		box->dirty_marks++;
	}
	box->state[idx] &= (uint8_t)~STORE_VIEW_OWN;
}

void store_view_mark_own(struct store_mailbox *box, size_t idx)
{
	/* a change not reported yet keeps the message a foreign one */
	if ((box->state[idx] & STORE_VIEW_DIRTY) == 0) {
		box->state[idx] |= STORE_VIEW_DIRTY | STORE_VIEW_OWN;
		box->dirty_marks++;
	}
}

void store_view_set_keywords(struct store_mailbox *box, const char *const *names, size_t count)
{
	if (count > STORE_MAX_KEYWORDS)
		count = STORE_MAX_KEYWORDS;
	for (size_t i = box->keyword_count; i < count; i++)
		box->keywords[i] = xstrdup(names[i]);
	if (count > box->keyword_count)
		box->keyword_count = count;
}

void store_view_apply(struct store_mailbox *box, const uint32_t *expunged, size_t expunged_count,
		      const struct store_msg *changed, size_t changed_count,
		      uint32_t uidnext, uint64_t highestmodseq, uint32_t recent_first,
		      enum store_sync_flags flags, const struct store_sync_callbacks *cb,
		      void *ctx)
{
	size_t i, j, old_count;

	for (i = 0; i < expunged_count; i++) {
		ssize_t idx = store_view_find(box, expunged[i]);

		if (idx >= 0 && (box->state[idx] & STORE_VIEW_EXPUNGED) == 0) {
			box->state[idx] |= STORE_VIEW_EXPUNGED;
			box->expunged_marks++;
			if ((box->state[idx] & STORE_VIEW_DIRTY) != 0) {
				box->state[idx] &= (uint8_t)~(STORE_VIEW_DIRTY | STORE_VIEW_OWN);
				box->dirty_marks--;
			}
		}
	}
	if ((flags & STORE_SYNC_NO_EXPUNGES) == 0 && box->expunged_marks > 0) {
		/* Report from the end so every msn is valid when reported,
		 * then compact once. */
		for (i = box->count; i > 0; i--) {
			if ((box->state[i - 1] & STORE_VIEW_EXPUNGED) != 0 && cb->expunge != NULL)
				cb->expunge(ctx, (uint32_t)i, box->msgs[i - 1].uid);
		}
		store_view_msgs_own(box);
		for (i = j = 0; i < box->count; i++) {
			if ((box->state[i] & STORE_VIEW_EXPUNGED) != 0) {
				if ((box->state[i] & STORE_VIEW_RECENT) != 0)
					box->recent_count--;
				continue;
			}
			box->msgs[j] = box->msgs[i];
			box->state[j] = box->state[i];
			j++;
		}
		box->count = j;
		box->expunged_marks = 0;
	}

	old_count = box->count;
	for (i = 0; i < changed_count; i++) {
		const struct store_msg *msg = &changed[i];
		ssize_t idx = store_view_find(box, msg->uid);

		if (idx >= 0) {
			if ((box->state[idx] & STORE_VIEW_EXPUNGED) != 0)
				continue;
			if (box->msgs[idx].modseq != msg->modseq ||
			    box->msgs[idx].flags != msg->flags ||
			    box->msgs[idx].keywords != msg->keywords) {
				store_view_msgs_own(box);
				box->msgs[idx] = *msg;
				store_view_mark_dirty(box, (size_t)idx);
			}
		} else if (box->count == 0 || msg->uid > box->msgs[box->count - 1].uid) {
			store_view_append(box, msg);
		}
		/* else: a uid below the view's last one that the view never had;
		 * it was expunged before this view saw it. */
	}
	if (recent_first < uidnext)
		store_view_mark_recent(box, recent_first, uidnext);
	if (uidnext > box->uidnext)
		box->uidnext = uidnext;
	if (highestmodseq > box->highestmodseq)
		box->highestmodseq = highestmodseq;

	if (box->count != old_count && cb->exists != NULL)
		cb->exists(ctx, (uint32_t)box->count);
	if (box->keyword_count > box->keywords_reported) {
		box->keywords_reported = box->keyword_count;
		if (cb->keywords != NULL)
			cb->keywords(ctx);
	}
	for (i = 0; box->dirty_marks > 0 && i < old_count; i++) {
		if ((box->state[i] & STORE_VIEW_DIRTY) == 0)
			continue;
		bool own = (box->state[i] & STORE_VIEW_OWN) != 0;
		box->state[i] &= (uint8_t)~(STORE_VIEW_DIRTY | STORE_VIEW_OWN);
		box->dirty_marks--;
		if (own && cb->own_flags != NULL)
			cb->own_flags(ctx, (uint32_t)i + 1, &box->msgs[i]);
		else if (cb->flags != NULL)
			cb->flags(ctx, (uint32_t)i + 1, &box->msgs[i]);
	}
}
