/* sort.c: SORT ordering (RFC 5256 section 3, RFC 5957 DISPLAYFROM/TO).
 *
 * String keys are prepared once per call with i;unicode-casemap into one
 * buffer per key, so each comparison is a memcmp.  The sort is a radix
 * sort on a 64-bit summary of the first criterion (sort_messages()), and
 * qsort_r with the whole total order (msn last) only within runs of equal
 * summaries, so stability is not needed from qsort.  Never reads anything but the array given. */
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

/* An order-preserving 64-bit summary of message i's key `crit`: a < b
 * whenever a's key orders before b's, equal summaries saying nothing.
 * Integers map exactly; a string maps to its first 8 prepared bytes,
 * big-endian and padded with zeroes (prepared keys hold no NUL, so a
 * shorter prefix sorts first, as memcmp then length does). */
static uint64_t key_summary(const struct sort_context *ctx, const struct sort_criterion *crit,
			    size_t i)
{
	const struct sort_msg *m = &ctx->msgs[i];
	uint64_t v = 0;

	switch (crit->key) {
	case SORT_KEY_ARRIVAL:
		v = (uint64_t)m->arrival ^ ((uint64_t)1 << 63);
		break;
	case SORT_KEY_DATE:
		v = (uint64_t)sort_msg_sent_date(m) ^ ((uint64_t)1 << 63);
		break;
	case SORT_KEY_SIZE:
		v = m->size;
		break;
	case SORT_KEY_CC:
	case SORT_KEY_FROM:
	case SORT_KEY_TO:
	case SORT_KEY_SUBJECT:
	case SORT_KEY_DISPLAYFROM:
	case SORT_KEY_DISPLAYTO: {
		const struct prepared_key *pk = &ctx->keys[crit->key];
		const unsigned char *p = (const unsigned char *)pk->buf.data + pk->offset[i];
		size_t len = pk->offset[i + 1] - pk->offset[i];
		for (size_t j = 0; j < 8; j++)
			v = (v << 8) | (j < len ? p[j] : 0);
		break;
	}
	}
	return crit->reverse ? ~v : v;
}

struct sort_entry {
	uint64_t summary;
	size_t index;
};

/* Sorts entries[0..count) by summary: a least-significant-digit radix
 * sort, one pass per byte, skipping the bytes that all summaries share
 * (dates of one mailbox differ in 3 or 4 of their 8 bytes).  tmp has
 * count elements. */
static void radix_sort(struct sort_entry *entries, struct sort_entry *tmp, size_t count)
{
	uint64_t all_or = 0, all_and = ~(uint64_t)0;

	for (size_t i = 0; i < count; i++) {
		all_or |= entries[i].summary;
		all_and &= entries[i].summary;
	}
	uint64_t varying = all_or ^ all_and;
	for (unsigned int shift = 0; shift < 64; shift += 8) {
		size_t pos[256] = { 0 };

		if (((varying >> shift) & 0xff) == 0)
			continue;
		for (size_t i = 0; i < count; i++)
			pos[(entries[i].summary >> shift) & 0xff]++;
		for (size_t b = 0, sum = 0; b < 256; b++) {
			size_t n = pos[b];
			pos[b] = sum;
			sum += n;
		}
		for (size_t i = 0; i < count; i++)
			tmp[pos[(entries[i].summary >> shift) & 0xff]++] = entries[i];
		memcpy(entries, tmp, count * sizeof(*entries));
	}
}

/* Prepares the string keys that ctx's criteria compare, for msgs[0..count). */
static void sort_context_prepare(struct sort_context *ctx, const struct sort_msg *msgs,
				 size_t count)
{
	for (size_t i = 0; i < ctx->crit_count; i++) {
		enum sort_key key = ctx->crit[i].key;
		if ((unsigned int)key >= SORT_KEY_COUNT)
			i_panic("sort: invalid key %d", (int)key);
		if (key_is_string(key) && ctx->keys[key].offset == NULL)
			prepare_key(&ctx->keys[key], msgs, count, key);
	}
}

static void sort_context_free_keys(struct sort_context *ctx)
{
	for (size_t k = 0; k < SORT_KEY_COUNT; k++) {
		str_free(&ctx->keys[k].buf);
		free(ctx->keys[k].offset);
	}
}

static int compare_entries(const void *p1, const void *p2, void *context)
{
	const struct sort_entry *a = p1, *b = p2;

	return compare_msgs(&a->index, &b->index, context);
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
	sort_context_prepare(&ctx, msgs, count);

	/* Radix sort by the first criterion's summary (or the msn), then
	 * each run of equal summaries by the whole comparison: most runs
	 * are one message long, so few comparisons are made. */
	struct sort_entry *entries = xmalloc(count * sizeof(*entries));
	struct sort_entry *tmp = xmalloc(count * sizeof(*tmp));
	for (size_t i = 0; i < count; i++) {
		entries[i].index = i;
		entries[i].summary = crit_count > 0 ? key_summary(&ctx, &crit[0], i) : msgs[i].msn;
	}
	radix_sort(entries, tmp, count);
	for (size_t start = 0, end; start < count; start = end) {
		for (end = start + 1; end < count &&
			     entries[end].summary == entries[start].summary; end++)
			;
		if (end - start > 1)
			qsort_r(entries + start, end - start, sizeof(*entries),
				compare_entries, &ctx);
	}

	struct sort_msg *sorted = xmalloc(count * sizeof(*sorted));
	for (size_t i = 0; i < count; i++)
		sorted[i] = msgs[entries[i].index];
	memcpy(msgs, sorted, count * sizeof(*msgs));

	free(sorted);
	free(tmp);
	free(entries);
	sort_context_free_keys(&ctx);
}

int sort_msg_compare(const struct sort_msg *a, const struct sort_msg *b,
		     const struct sort_criterion *crit, size_t crit_count)
{
	struct sort_msg pair[2] = { *a, *b };
	struct sort_context ctx;
	size_t ia = 0, ib = 1;

	memset(&ctx, 0, sizeof(ctx));
	ctx.msgs = pair;
	ctx.crit = crit;
	ctx.crit_count = crit_count;
	sort_context_prepare(&ctx, pair, 2);
	int ret = compare_msgs(&ia, &ib, &ctx);
	sort_context_free_keys(&ctx);
	return ret;
}
