/* thread.c: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES, RFC 5256 section 3.
 *
 * Both algorithms build a tree of containers: one per message, plus the
 * dummies that stand for referenced messages that are not among the
 * input, plus one root.  Children are kept in a doubly linked list so a
 * link can be broken in O(1); the order of a list only matters once it is
 * sorted (steps 4 and 6), and the sort order is total (sent date, then
 * mailbox order), so the result never depends on hash or insertion order.
 *
 * Nothing here recurses over the tree: the bottom-up passes (pruning,
 * sorting) walk a pre-order list backwards, and the writer keeps its own
 * stack.  Never reads anything but the messages it is given. */
#include "search/thread.h"

#include <stdlib.h>
#include <string.h>

#include "base/casemap.h"

struct container {
	uint32_t msg;		/* index into msgs, THREAD_NONE for a dummy */
	uint32_t parent;
	uint32_t first_child;
	uint32_t next, prev;	/* siblings */
};

struct builder {
	const struct thread_msg *msgs;
	size_t count;
	struct container *c;
	size_t c_count, c_cap;
	uint32_t root;
	uint32_t *scratch;	/* for sorting sibling lists */
	size_t scratch_cap;
};

/* ---- a string -> container table (open addressing, linear probing) ---- */

struct strtable_slot {
	const char *key;	/* NULL: free */
	size_t len;
	uint32_t value;
};

struct strtable {
	struct strtable_slot *slots;
	size_t mask;
};

static void strtable_init(struct strtable *t, size_t max_entries)
{
	size_t size = 16;

	while (size < max_entries * 2)
		size *= 2;
	t->slots = xcalloc(size, sizeof(*t->slots));
	t->mask = size - 1;
}

static void strtable_deinit(struct strtable *t)
{
	free(t->slots);
	t->slots = NULL;
}

/* The slot holding `key`, or the free slot where it belongs.  The table
 * is sized by the caller for every key it will hold, so it never fills. */
static struct strtable_slot *
strtable_lookup(struct strtable *t, const char *key, size_t len)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= 1099511628211ULL;
	}
	/* FNV's low bits, which pick the slot, mix poorly when keys share
	 * a long suffix ("@example.com>"): fold the high bits in */
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
		struct strtable_slot *slot = &t->slots[i];
		if (slot->key == NULL ||
		    (slot->len == len && memcmp(slot->key, key, len) == 0))
			return slot;
	}
}

/* ---- containers ---- */

static uint32_t container_new(struct builder *b, uint32_t msg)
{
	if (b->c_count >= THREAD_NONE - 1)
		i_panic("thread: more than 2^32 - 2 containers");
	ARRAY_RESERVE(b->c, b->c_cap, b->c_count + 1);
	struct container *c = &b->c[b->c_count];
	c->msg = msg;
	c->parent = c->first_child = c->next = c->prev = THREAD_NONE;
	return (uint32_t)b->c_count++;
}

static bool is_dummy(const struct builder *b, uint32_t x)
{
	return b->c[x].msg == THREAD_NONE;
}

static void link_child(struct builder *b, uint32_t parent, uint32_t child)
{
	struct container *c = &b->c[child];
	uint32_t first = b->c[parent].first_child;

	c->parent = parent;
	c->prev = THREAD_NONE;
	c->next = first;
	if (first != THREAD_NONE)
		b->c[first].prev = child;
	b->c[parent].first_child = child;
}

static void unlink_child(struct builder *b, uint32_t child)
{
	struct container *c = &b->c[child];

	if (c->parent == THREAD_NONE)
		return;
	if (c->prev != THREAD_NONE)
		b->c[c->prev].next = c->next;
	else
		b->c[c->parent].first_child = c->next;
	if (c->next != THREAD_NONE)
		b->c[c->next].prev = c->prev;
	c->parent = c->next = c->prev = THREAD_NONE;
}

/* Puts `repl` (detached) where `old` is in its sibling list and detaches
 * `old`. */
static void replace_child(struct builder *b, uint32_t old, uint32_t repl)
{
	struct container *o = &b->c[old], *r = &b->c[repl];

	r->parent = o->parent;
	r->prev = o->prev;
	r->next = o->next;
	if (o->prev != THREAD_NONE)
		b->c[o->prev].next = repl;
	else
		b->c[o->parent].first_child = repl;
	if (o->next != THREAD_NONE)
		b->c[o->next].prev = repl;
	o->parent = o->next = o->prev = THREAD_NONE;
}

/* "Do not create a parent/child link if creating that link would
 * introduce a loop.  For example, before making message A the parent of
 * B, make sure that A is not a descendent of B."  (A == B is a loop too.)
 * A childless B has no descendants, which makes the common case (a new
 * message under its last reference) O(1) instead of O(depth). */
static bool would_loop(const struct builder *b, uint32_t parent, uint32_t child)
{
	if (b->c[child].first_child == THREAD_NONE)
		return parent == child;
	for (uint32_t x = parent; x != THREAD_NONE; x = b->c[x].parent) {
		if (x == child)
			return true;
	}
	return false;
}

/* The message that places container x among its siblings: itself, or
 * for a dummy its first child ("use the first child for sorting"). */
static uint32_t sort_msg_of(const struct builder *b, uint32_t x)
{
	while (is_dummy(b, x) && b->c[x].first_child != THREAD_NONE)
		x = b->c[x].first_child;
	return b->c[x].msg;
}

/* Section 2.2: by sent date; "When comparing two sent dates that match
 * exactly, the order in which the two messages appear in the mailbox
 * (that is, by sequence number) is used as a tie-breaker". */
static int compare_containers(const void *p1, const void *p2, void *context)
{
	const struct builder *b = context;
	uint32_t m1 = sort_msg_of(b, *(const uint32_t *)p1);
	uint32_t m2 = sort_msg_of(b, *(const uint32_t *)p2);

	if (m1 == THREAD_NONE || m2 == THREAD_NONE)	/* childless dummy: last */
		return m1 == m2 ? 0 : m1 == THREAD_NONE ? 1 : -1;
	int64_t d1 = b->msgs[m1].sent_date, d2 = b->msgs[m2].sent_date;
	if (d1 != d2)
		return d1 < d2 ? -1 : 1;
	return m1 < m2 ? -1 : m1 > m2 ? 1 : 0;
}

/* Sorts the children of `parent`; the children's own lists must be
 * sorted already where a dummy's first child matters. */
static void sort_children(struct builder *b, uint32_t parent)
{
	size_t n = 0;

	for (uint32_t x = b->c[parent].first_child; x != THREAD_NONE;
	     x = b->c[x].next) {
		ARRAY_RESERVE(b->scratch, b->scratch_cap, n + 1);
		b->scratch[n++] = x;
	}
	if (n < 2)
		return;
	qsort_r(b->scratch, n, sizeof(*b->scratch), compare_containers, b);
	b->c[parent].first_child = b->scratch[0];
	for (size_t i = 0; i < n; i++) {
		struct container *c = &b->c[b->scratch[i]];
		c->prev = i > 0 ? b->scratch[i - 1] : THREAD_NONE;
		c->next = i + 1 < n ? b->scratch[i + 1] : THREAD_NONE;
	}
}

/* Every container under the root, each before its descendants; walked
 * backwards it gives each container after its descendants.  The caller
 * frees the array. */
static uint32_t *preorder(const struct builder *b, size_t *count_r)
{
	uint32_t *order = xmalloc(b->c_count * sizeof(*order));
	uint32_t *stack = xmalloc(b->c_count * sizeof(*stack));
	size_t n = 0, depth = 0;

	stack[depth++] = b->root;
	while (depth > 0) {
		uint32_t x = stack[--depth];
		order[n++] = x;
		for (uint32_t ch = b->c[x].first_child; ch != THREAD_NONE;
		     ch = b->c[ch].next)
			stack[depth++] = ch;
	}
	free(stack);
	*count_r = n;
	return order;
}

/* Step (6), and the whole of the sibling ordering of ORDEREDSUBJECT:
 * "Traverse the messages in such a way that the "youngest" set of
 * siblings are sorted first, and the "oldest" set of siblings are sorted
 * last (grandchildren are sorted before children, etc)." */
static void sort_all_siblings(struct builder *b)
{
	size_t n;
	uint32_t *order = preorder(b, &n);

	for (size_t i = n; i-- > 0;)
		sort_children(b, order[i]);
	free(order);
}

/* ---- THREAD=ORDEREDSUBJECT ---- */

struct subject_keys {
	struct str buf;
	size_t *offset;		/* per message: start in buf; count + 1 */
};

/* Prepares every message's base subject with i;unicode-casemap. */
static void subject_keys_init(struct subject_keys *keys,
			      const struct thread_msg *msgs, size_t count)
{
	memset(keys, 0, sizeof(*keys));
	keys->offset = xmalloc((count + 1) * sizeof(*keys->offset));
	str_append_n(&keys->buf, "", 0);
	for (size_t i = 0; i < count; i++) {
		const char *s = msgs[i].base_subject;
		keys->offset[i] = keys->buf.len;
		if (s != NULL)
			casemap_unicode(s, strlen(s), &keys->buf);
	}
	keys->offset[count] = keys->buf.len;
}

static void subject_keys_deinit(struct subject_keys *keys)
{
	str_free(&keys->buf);
	free(keys->offset);
}

static int compare_subject_keys(const struct subject_keys *keys,
				uint32_t a, uint32_t b)
{
	size_t la = keys->offset[a + 1] - keys->offset[a];
	size_t lb = keys->offset[b + 1] - keys->offset[b];
	int ret = memcmp(keys->buf.data + keys->offset[a],
			 keys->buf.data + keys->offset[b], ROOST_MIN(la, lb));
	if (ret != 0)
		return ret;
	return la < lb ? -1 : la > lb ? 1 : 0;
}

struct ordered_context {
	const struct thread_msg *msgs;
	const struct subject_keys *keys;
};

static int compare_ordered(const void *p1, const void *p2, void *context)
{
	const struct ordered_context *ctx = context;
	uint32_t a = *(const uint32_t *)p1, b = *(const uint32_t *)p2;
	int ret = compare_subject_keys(ctx->keys, a, b);

	if (ret != 0)
		return ret;
	if (ctx->msgs[a].sent_date != ctx->msgs[b].sent_date)
		return ctx->msgs[a].sent_date < ctx->msgs[b].sent_date ? -1 : 1;
	return a < b ? -1 : a > b ? 1 : 0;
}

/* "The searched messages are sorted by base subject and then by the sent
 * date.  The messages are then split into separate threads, with each
 * thread containing messages with the same base subject text.  Finally,
 * the threads are sorted by the sent date of the first message in the
 * thread."  The first message is the thread's root; all the others are
 * its children ("there are no grandchildren").  Messages with an empty
 * base subject have the same base subject text, so they form one thread
 * too: unlike REFERENCES step 5, the RFC makes no exception for them. */
static void thread_orderedsubject(struct builder *b)
{
	struct subject_keys keys;
	struct ordered_context ctx = { b->msgs, &keys };
	uint32_t *order = xmalloc(b->count * sizeof(*order));

	subject_keys_init(&keys, b->msgs, b->count);
	/* container 0 is the root, container m + 1 holds message m */
	for (size_t i = 0; i < b->count; i++) {
		order[i] = (uint32_t)i;
		container_new(b, (uint32_t)i);
	}
	qsort_r(order, b->count, sizeof(*order), compare_ordered, &ctx);

	uint32_t head = THREAD_NONE;
	for (size_t i = 0; i < b->count; i++) {
		uint32_t m = order[i];
		if (head != THREAD_NONE &&
		    compare_subject_keys(&keys, head, m) == 0) {
			link_child(b, head + 1, m + 1);
		} else {
			head = m;
			link_child(b, b->root, m + 1);
		}
	}
	sort_all_siblings(b);
	free(order);
	subject_keys_deinit(&keys);
}

/* ---- THREAD=REFERENCES ---- */

static bool has_text(const char *s)
{
	return s != NULL && *s != '\0';
}

/* The container of Message ID `id`, created as a dummy if no message has
 * it yet: "If no message can be found with a given Message ID, create a
 * dummy message with this ID.  Use this dummy message for all subsequent
 * references to this ID." */
static uint32_t id_container(struct builder *b, struct strtable *ids,
			     const char *id)
{
	struct strtable_slot *slot = strtable_lookup(ids, id, strlen(id));

	if (slot->key == NULL) {
		slot->key = id;
		slot->len = strlen(id);
		slot->value = container_new(b, THREAD_NONE);
	}
	return slot->value;
}

/* Step (1) for message i. */
static void link_message(struct builder *b, struct strtable *ids, uint32_t i)
{
	const struct thread_msg *msg = &b->msgs[i];
	uint32_t self;

	/* "If a message does not contain a Message-ID header line, or the
	 * Message-ID header line does not contain a valid Message ID, then
	 * assign a unique Message ID to this message.  If two or more
	 * messages have the same Message ID, then only use that Message ID
	 * in the first (lowest sequence number) message, and assign a unique
	 * Message ID to each of the subsequent messages".  A unique ID is a
	 * container that is in no table: nothing can reference it. */
	if (has_text(msg->message_id)) {
		self = id_container(b, ids, msg->message_id);
		if (b->c[self].msg == THREAD_NONE)
			b->c[self].msg = i;	/* fills its dummy */
		else
			self = container_new(b, i);
	} else {
		self = container_new(b, i);
	}

	/* "If a message contains a References header line, then use the
	 * Message IDs in the References header line as the references.  If
	 * a message does not contain a References header line, or the
	 * References header line does not contain any valid Message IDs,
	 * then use the first (if any) valid Message ID found in the
	 * In-Reply-To header line as the only reference (parent)". */
	const char *const *refs = msg->references;
	size_t nrefs = msg->references_count;
	const char *irt[1] = { msg->in_reply_to };
	if (nrefs == 0 && has_text(msg->in_reply_to)) {
		refs = irt;
		nrefs = 1;
	}

	/* (1)(A) "Make the first reference the parent of the second ..., the
	 * second the parent of the third ..., etc."  "If a message already
	 * has a parent, don't change the existing link." */
	uint32_t prev = THREAD_NONE;
	for (size_t r = 0; r < nrefs; r++) {
		/* RFC 5256 does not say what a message's own Message-ID
		 * among its references means.  Taken as a link, "<a> <b>"
		 * in message <b> would be undone by (1)(B) (which then
		 * refuses b as b's parent), and "<b> <a>" would make b the
		 * parent of its own ancestor a; so it is skipped, as if
		 * the MUA had not written it. */
		if (!has_text(refs[r]) ||
		    (has_text(msg->message_id) &&
		     strcmp(refs[r], msg->message_id) == 0))
			continue;
		uint32_t cur = id_container(b, ids, refs[r]);
		if (prev != THREAD_NONE && b->c[cur].parent == THREAD_NONE &&
		    !would_loop(b, prev, cur))
			link_child(b, prev, cur);
		prev = cur;
	}

	/* (1)(B) "Create a parent/child link between the last reference (or
	 * NIL if there are no references) and the current message.  If the
	 * current message already has a parent, ... break the current
	 * parent/child link before creating the new correct one." */
	unlink_child(b, self);
	if (prev != THREAD_NONE && !would_loop(b, prev, self))
		link_child(b, prev, self);
}

/* Step (3): "Prune dummy messages from the thread tree.  Traverse each
 * thread under the root, and for each message:
 *   If it is a dummy message with NO children, delete it.
 *   If it is a dummy message with children, delete it, but promote its
 *   children to the current level.  In other words, splice them in with
 *   the dummy's siblings.
 *   Do not promote the children if doing so would make them children of
 *   the root, unless there is only one child."
 * Done bottom-up: a list is pruned after the lists below it, so what a
 * dummy promotes has no dummies left in it, and "only one child" counts
 * the children that survived their own pruning. */
static void prune_children(struct builder *b, uint32_t parent)
{
	uint32_t x = b->c[parent].first_child;

	while (x != THREAD_NONE) {
		uint32_t next = b->c[x].next;
		uint32_t first = b->c[x].first_child;
		if (!is_dummy(b, x)) {
			/* a message stays */
		} else if (first == THREAD_NONE) {
			unlink_child(b, x);
		} else if (parent != b->root || b->c[first].next == THREAD_NONE) {
			/* splice x's children in x's place */
			uint32_t last = first;
			for (uint32_t ch = first; ch != THREAD_NONE;
			     ch = b->c[ch].next) {
				b->c[ch].parent = parent;
				last = ch;
			}
			uint32_t prev = b->c[x].prev;
			b->c[first].prev = prev;
			if (prev != THREAD_NONE)
				b->c[prev].next = first;
			else
				b->c[parent].first_child = first;
			b->c[last].next = next;
			if (next != THREAD_NONE)
				b->c[next].prev = last;
			b->c[x].parent = b->c[x].next = b->c[x].prev = THREAD_NONE;
			b->c[x].first_child = THREAD_NONE;
		}
		x = next;
	}
}

static void prune_dummies(struct builder *b)
{
	size_t n;
	uint32_t *order = preorder(b, &n);

	for (size_t i = n; i-- > 0;)
		prune_children(b, order[i]);
	free(order);
}

static bool is_reply(const struct builder *b, uint32_t x)
{
	return !is_dummy(b, x) && b->msgs[b->c[x].msg].is_reply_or_forward;
}

/* Step (5): "Gather together messages under the root that have the same
 * base subject text."  Subjects compare with i;unicode-casemap ("Subject
 * comparisons are case-insensitive"). */
static void group_subjects(struct builder *b)
{
	size_t n = 0;
	for (uint32_t x = b->c[b->root].first_child; x != THREAD_NONE;
	     x = b->c[x].next)
		n++;

	/* (5)(B)(i) "Find the subject of this thread, by using the base
	 * subject from either the current message or its first child if the
	 * current message is a dummy.  This is the thread subject." */
	uint32_t *roots = xmalloc((n + 1) * sizeof(*roots));
	size_t *offset = xmalloc((n + 1) * sizeof(*offset));
	struct str subjects = STR_INIT;
	size_t i = 0;
	str_append_n(&subjects, "", 0);
	for (uint32_t x = b->c[b->root].first_child; x != THREAD_NONE;
	     x = b->c[x].next, i++) {
		uint32_t m = is_dummy(b, x) ? b->c[b->c[x].first_child].msg :
			b->c[x].msg;
		const char *s = b->msgs[m].base_subject;
		roots[i] = x;
		offset[i] = subjects.len;
		if (s != NULL)
			casemap_unicode(s, strlen(s), &subjects);
	}
	offset[n] = subjects.len;

	/* (5)(A), (5)(B): one message per thread subject */
	struct strtable table;
	strtable_init(&table, n);
	for (i = 0; i < n; i++) {
		size_t len = offset[i + 1] - offset[i];
		uint32_t x = roots[i];
		if (len == 0)
			continue;	/* (ii) empty thread subject */
		struct strtable_slot *slot =
			strtable_lookup(&table, subjects.data + offset[i], len);
		if (slot->key == NULL) {
			/* (iv) "If there is no message in the subject table
			 * with the thread subject, add the current message" */
			slot->key = subjects.data + offset[i];
			slot->len = len;
			slot->value = x;
		} else if (!is_dummy(b, slot->value) &&
			   (is_dummy(b, x) ||
			    (is_reply(b, slot->value) && !is_reply(b, x)))) {
			/* "Otherwise, if the message in the subject table is
			 * not a dummy, AND either of the following criteria
			 * are true: The current message is a dummy, OR The
			 * message in the subject table is a reply or forward
			 * and the current message is not.  then replace" */
			slot->value = x;
		}
	}

	/* (5)(C) "Merge threads with the same thread subject." */
	for (i = 0; i < n; i++) {
		size_t len = offset[i + 1] - offset[i];
		uint32_t x = roots[i];
		if (len == 0 || b->c[x].parent != b->root)
			continue;	/* (ii), or already merged below */
		struct strtable_slot *slot =
			strtable_lookup(&table, subjects.data + offset[i], len);
		uint32_t t = slot->value;
		if (t == x)
			continue;	/* (iv) */
		if (is_dummy(b, t) && is_dummy(b, x)) {
			/* "If both messages are dummies, append the current
			 * message's children to the children of the message
			 * in the subject table (the children of both
			 * messages become siblings), and then delete the
			 * current message." */
			uint32_t ch;
			while ((ch = b->c[x].first_child) != THREAD_NONE) {
				unlink_child(b, ch);
				link_child(b, t, ch);
			}
			unlink_child(b, x);
		} else if (is_dummy(b, t) ||
			   (is_reply(b, x) && !is_reply(b, t))) {
			/* "If the message in the subject table is a dummy
			 * and the current message is not, make the current
			 * message a child of the message in the subject
			 * table (a sibling of its children).
			 * If the current message is a reply or forward and
			 * the message in the subject table is not, make the
			 * current message a child of the message in the
			 * subject table (a sibling of its children)." */
			unlink_child(b, x);
			link_child(b, t, x);
		} else {
			/* "Otherwise, create a new dummy message and make
			 * both the current message and the message in the
			 * subject table children of the dummy.  Then replace
			 * the message in the subject table with the dummy
			 * message." */
			uint32_t d = container_new(b, THREAD_NONE);
			replace_child(b, t, d);
			unlink_child(b, x);
			link_child(b, d, t);
			link_child(b, d, x);
			slot->value = d;
		}
	}
	strtable_deinit(&table);
	str_free(&subjects);
	free(offset);
	free(roots);
}

static void thread_references(struct builder *b)
{
	size_t max_ids = 0;
	for (size_t i = 0; i < b->count; i++)
		max_ids += 2 + b->msgs[i].references_count;

	struct strtable ids;
	strtable_init(&ids, max_ids);
	for (size_t i = 0; i < b->count; i++)
		link_message(b, &ids, (uint32_t)i);
	strtable_deinit(&ids);

	/* (2) "Gather together all of the messages that have no parents and
	 * make them all children (siblings of one another) of a dummy
	 * parent (the "root")." */
	for (size_t x = 0; x < b->c_count; x++) {
		if (x != b->root && b->c[x].parent == THREAD_NONE)
			link_child(b, b->root, (uint32_t)x);
	}
	/* (3) */
	prune_dummies(b);
	/* (4) "Sort the messages under the root (top-level siblings only) by
	 * sent date ...  In the case of a dummy message, sort its children
	 * by sent date and then use the first child for the top-level sort." */
	for (uint32_t x = b->c[b->root].first_child; x != THREAD_NONE;
	     x = b->c[x].next) {
		if (is_dummy(b, x))
			sort_children(b, x);
	}
	sort_children(b, b->root);
	/* (5) */
	group_subjects(b);
	/* (6) "Traverse the messages under the root and sort each set of
	 * siblings by sent date" */
	sort_all_siblings(b);
}

void thread_build(enum thread_algorithm algorithm,
		  const struct thread_msg *msgs, size_t count,
		  struct thread_tree *tree_r)
{
	struct builder b;

	memset(&b, 0, sizeof(b));
	b.msgs = msgs;
	b.count = count;
	b.root = container_new(&b, THREAD_NONE);
	switch (algorithm) {
	case THREAD_ORDEREDSUBJECT:
		thread_orderedsubject(&b);
		break;
	case THREAD_REFERENCES:
		thread_references(&b);
		break;
	default:
		i_panic("thread: unknown algorithm %d", (int)algorithm);
	}

	tree_r->count = b.c_count;
	tree_r->nodes = xmalloc((b.c_count > 0 ? b.c_count : 1) *
				sizeof(*tree_r->nodes));
	for (size_t i = 0; i < b.c_count; i++) {
		struct thread_node *node = &tree_r->nodes[i];
		node->msg = b.c[i].msg;
		node->id = node->msg == THREAD_NONE ? 0 : msgs[node->msg].id;
		node->first_child = b.c[i].first_child;
		node->next_sibling = b.c[i].next;
	}
	tree_r->first_root = b.c[b.root].first_child;
	free(b.c);
	free(b.scratch);
}

void thread_tree_deinit(struct thread_tree *tree)
{
	free(tree->nodes);
	tree->nodes = NULL;
	tree->count = 0;
	tree->first_root = THREAD_NONE;
}

/* ---- writing ---- */

/* Writes the thread-lists without recursion.  The members of a list are
 * written along single-child chains; where a node has two or more
 * children (thread-nested), the first child's list is opened at once and
 * its next sibling is pushed, to be opened when that list closes.  A
 * THREAD_NONE on the stack marks the end of a nested set: popping it
 * closes the list that contains the set. */
void thread_write(const struct thread_tree *tree, struct str *dest)
{
	const struct thread_node *nodes = tree->nodes;
	uint32_t *stack = NULL;
	size_t depth = 0, stack_cap = 0;

	for (uint32_t r = tree->first_root; r != THREAD_NONE;
	     r = nodes[r].next_sibling) {
		if (nodes[r].msg == THREAD_NONE &&
		    nodes[r].first_child == THREAD_NONE)
			continue;	/* an empty dummy writes nothing */
		uint32_t cur = r;
		bool need_space = false;
		str_append_c(dest, '(');
		for (;;) {
			/* thread-members along cur */
			for (;;) {
				const struct thread_node *node = &nodes[cur];
				if (node->msg != THREAD_NONE) {
					if (need_space)
						str_append_c(dest, ' ');
					str_append_uint(dest, node->id);
					need_space = true;
				}
				uint32_t child = node->first_child;
				if (child == THREAD_NONE)
					break;
				if (nodes[child].next_sibling == THREAD_NONE) {
					cur = child;
					continue;
				}
				/* thread-nested = 2*thread-list */
				if (need_space)
					str_append_c(dest, ' ');
				ARRAY_RESERVE(stack, stack_cap, depth + 1);
				stack[depth++] = nodes[child].next_sibling;
				str_append_c(dest, '(');
				cur = child;
				need_space = false;
			}
			str_append_c(dest, ')');
			/* the next list to open, closing finished sets */
			cur = THREAD_NONE;
			while (depth > 0) {
				uint32_t next = stack[--depth];
				if (next != THREAD_NONE) {
					stack[depth++] = nodes[next].next_sibling;
					cur = next;
					break;
				}
				str_append_c(dest, ')');
			}
			if (cur == THREAD_NONE)
				break;
			str_append_c(dest, '(');
			need_space = false;
		}
	}
	free(stack);
}
