/* sort.c: SORT ordering (RFC 5256 section 3, RFC 5957 DISPLAYFROM/TO).
 *
 * String keys are prepared once per call with i;unicode-casemap into one
 * buffer per key, so each comparison is a memcmp; the sort itself is
 * qsort_r over message indexes with a total order (msn last), so stability
 * is not needed from qsort.  Never reads anything but the array given. */
#include "search/sort.h"

#include <stdlib.h>
#include <string.h>

#include "base/casemap.h"

struct prepared_key {
	struct str buf;		/* every message's prepared key, back to back */
	size_t *offset;		/* count + 1 offsets into buf */
};

struct sort_context {
	const struct sort_msg *msgs;
	const struct sort_criterion *crit;
	size_t crit_count;
	/* indexed by enum sort_key; offset is NULL for unused keys */
	struct prepared_key keys[SORT_KEY_COUNT];
};

static const char *msg_string(const struct sort_msg *msg, enum sort_key key)
{
	const char *s = NULL;

	switch (key) {
	case SORT_KEY_CC: s = msg->cc; break;
	case SORT_KEY_FROM: s = msg->from; break;
	case SORT_KEY_TO: s = msg->to; break;
	case SORT_KEY_SUBJECT: s = msg->subject; break;
	case SORT_KEY_DISPLAYFROM: s = msg->displayfrom; break;
	case SORT_KEY_DISPLAYTO: s = msg->displayto; break;
	case SORT_KEY_ARRIVAL:
	case SORT_KEY_DATE:
	case SORT_KEY_SIZE:
		i_panic("sort key %d is not a string", (int)key);
	}
	return s == NULL ? "" : s;
}

static bool key_is_string(enum sort_key key)
{
	return key != SORT_KEY_ARRIVAL && key != SORT_KEY_DATE &&
		key != SORT_KEY_SIZE;
}

static void prepare_key(struct prepared_key *pk, const struct sort_msg *msgs,
			size_t count, enum sort_key key)
{
	pk->offset = xmalloc((count + 1) * sizeof(*pk->offset));
	str_append_n(&pk->buf, "", 0);
	for (size_t i = 0; i < count; i++) {
		const char *s = msg_string(&msgs[i], key);
		pk->offset[i] = pk->buf.len;
		casemap_unicode(s, strlen(s), &pk->buf);
	}
	pk->offset[count] = pk->buf.len;
}

int64_t sort_msg_sent_date(const struct sort_msg *msg)
{
	return msg->has_sent_date ? msg->sent_date : msg->arrival;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

static int compare_key(const struct sort_context *ctx, enum sort_key key,
		       size_t a, size_t b)
{
	const struct sort_msg *ma = &ctx->msgs[a], *mb = &ctx->msgs[b];

	switch (key) {
	case SORT_KEY_ARRIVAL:
		return cmp_i64(ma->arrival, mb->arrival);
	case SORT_KEY_DATE:
		return cmp_i64(sort_msg_sent_date(ma), sort_msg_sent_date(mb));
	case SORT_KEY_SIZE:
		return cmp_u64(ma->size, mb->size);
	case SORT_KEY_CC:
	case SORT_KEY_FROM:
	case SORT_KEY_TO:
	case SORT_KEY_SUBJECT:
	case SORT_KEY_DISPLAYFROM:
	case SORT_KEY_DISPLAYTO:
		break;
	}
	const struct prepared_key *pk = &ctx->keys[key];
	const char *pa = pk->buf.data + pk->offset[a];
	const char *pb = pk->buf.data + pk->offset[b];
	size_t la = pk->offset[a + 1] - pk->offset[a];
	size_t lb = pk->offset[b + 1] - pk->offset[b];
	int ret = memcmp(pa, pb, ROOST_MIN(la, lb));
	if (ret != 0)
		return ret;
	return cmp_u64(la, lb);
}

static int compare_msgs(const void *p1, const void *p2, void *context)
{
	const struct sort_context *ctx = context;
	size_t a = *(const size_t *)p1, b = *(const size_t *)p2;

	for (size_t i = 0; i < ctx->crit_count; i++) {
		int ret = compare_key(ctx, ctx->crit[i].key, a, b);
		if (ret != 0)
			return ctx->crit[i].reverse ? -ret : ret;
	}
	/* the implicit "sequence number" criterion, never reversed; the
	 * index only orders equal msns (a caller bug) deterministically */
	int ret = cmp_u64(ctx->msgs[a].msn, ctx->msgs[b].msn);
	return ret != 0 ? ret : cmp_u64(a, b);
}

void sort_messages(struct sort_msg *msgs, size_t count,
		   const struct sort_criterion *crit, size_t crit_count)
{
	struct sort_context ctx;

	if (count < 2)
		return;
	memset(&ctx, 0, sizeof(ctx));
	ctx.msgs = msgs;
	ctx.crit = crit;
	ctx.crit_count = crit_count;
	for (size_t i = 0; i < crit_count; i++) {
		enum sort_key key = crit[i].key;
		if ((unsigned int)key >= SORT_KEY_COUNT)
			i_panic("sort: invalid key %d", (int)key);
		if (key_is_string(key) && ctx.keys[key].offset == NULL)
			prepare_key(&ctx.keys[key], msgs, count, key);
	}

	size_t *order = xmalloc(count * sizeof(*order));
	for (size_t i = 0; i < count; i++)
		order[i] = i;
	qsort_r(order, count, sizeof(*order), compare_msgs, &ctx);

	struct sort_msg *sorted = xmalloc(count * sizeof(*sorted));
	for (size_t i = 0; i < count; i++)
		sorted[i] = msgs[order[i]];
	memcpy(msgs, sorted, count * sizeof(*msgs));

	free(sorted);
	free(order);
	for (size_t k = 0; k < SORT_KEY_COUNT; k++) {
		str_free(&ctx.keys[k].buf);
		free(ctx.keys[k].offset);
	}
}
