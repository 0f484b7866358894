/* seqset.c: sets of message numbers as sorted, merged ranges.
 *
 * Invariant: ranges[i].seq1 <= ranges[i].seq2 and
 * ranges[i].seq2 + 1 < ranges[i + 1].seq1 (computed in 64 bits), so a set
 * has exactly one representation and seqset_write() is minimal. */
#include "syntax/seqset.h"

#include "base/str.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void seqset_init(struct seqset *set)
{
	memset(set, 0, sizeof(*set));
}

void seqset_deinit(struct seqset *set)
{
	free(set->ranges);
	seqset_init(set);
}

void seqset_clear(struct seqset *set)
{
	set->count = 0;
}

/* Index of the first range whose seq2 + 1 >= seq (the first that holds
 * seq, touches it from below, or lies above it). */
static unsigned int range_lower_bound(const struct seqset *set, uint32_t seq)
{
	unsigned int lo = 0, hi = set->count;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		if ((uint64_t)set->ranges[mid].seq2 + 1 < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void seqset_add_range(struct seqset *set, uint32_t seq1, uint32_t seq2)
{
	if (seq1 > seq2) {
		uint32_t tmp = seq1;
		seq1 = seq2;
		seq2 = tmp;
	}
	assert(seq1 > 0);

	/* the common case: appending in increasing order */
	if (set->count == 0 ||
	    (uint64_t)set->ranges[set->count - 1].seq2 + 1 < seq1) {
		ARRAY_RESERVE(set->ranges, set->cap, set->count + 1);
		set->ranges[set->count].seq1 = seq1;
		set->ranges[set->count].seq2 = seq2;
		set->count++;
		return;
	}

	unsigned int first = range_lower_bound(set, seq1);
	/* ranges first..last-1 overlap or touch seq1..seq2 */
	unsigned int last = first;
	while (last < set->count &&
	       set->ranges[last].seq1 <= (uint64_t)seq2 + 1)
		last++;
	if (first == last) {
		ARRAY_RESERVE(set->ranges, set->cap, set->count + 1);
		memmove(set->ranges + first + 1, set->ranges + first,
			(set->count - first) * sizeof(*set->ranges));
		set->ranges[first].seq1 = seq1;
		set->ranges[first].seq2 = seq2;
		set->count++;
		return;
	}
	struct seqset_range *r = &set->ranges[first];
	r->seq1 = ROOST_MIN(r->seq1, seq1);
	r->seq2 = ROOST_MAX(set->ranges[last - 1].seq2, seq2);
	memmove(set->ranges + first + 1, set->ranges + last,
		(set->count - last) * sizeof(*set->ranges));
	set->count -= last - first - 1;
}

void seqset_add(struct seqset *set, uint32_t seq)
{
	seqset_add_range(set, seq, seq);
}

void seqset_remove(struct seqset *set, uint32_t seq)
{
	assert(seq > 0);
	unsigned int i = range_lower_bound(set, seq);
	/* lower_bound may stop at a range that ends just before seq */
	if (i < set->count && set->ranges[i].seq2 < seq)
		i++;
	if (i == set->count || set->ranges[i].seq1 > seq)
		return;
	struct seqset_range r = set->ranges[i];
	if (r.seq1 == r.seq2) {
		memmove(set->ranges + i, set->ranges + i + 1,
			(set->count - i - 1) * sizeof(*set->ranges));
		set->count--;
	} else if (seq == r.seq1) {
		set->ranges[i].seq1++;
	} else if (seq == r.seq2) {
		set->ranges[i].seq2--;
	} else {
		ARRAY_RESERVE(set->ranges, set->cap, set->count + 1);
		memmove(set->ranges + i + 1, set->ranges + i,
			(set->count - i) * sizeof(*set->ranges));
		set->ranges[i].seq2 = seq - 1;
		set->ranges[i + 1].seq1 = seq + 1;
		set->count++;
	}
}

static int range_cmp(const void *a, const void *b)
{
	const struct seqset_range *r1 = a, *r2 = b;

	if (r1->seq1 != r2->seq1)
		return r1->seq1 < r2->seq1 ? -1 : 1;
	return 0;
}

/* Sorts and merges ranges appended without regard to the invariant. */
static void seqset_normalize(struct seqset *set)
{
	unsigned int i, n = 0;

	if (set->count < 2)
		return;
	qsort(set->ranges, set->count, sizeof(*set->ranges), range_cmp);
	for (i = 1; i < set->count; i++) {
		struct seqset_range *cur = &set->ranges[n];
		const struct seqset_range *next = &set->ranges[i];
		if ((uint64_t)cur->seq2 + 1 >= next->seq1) {
			if (next->seq2 > cur->seq2)
				cur->seq2 = next->seq2;
		} else {
			set->ranges[++n] = *next;
		}
	}
	set->count = n + 1;
}

/* seq-number = nz-number / "*"
 * Returns the position after the number, or NULL on a syntax error.
 * *seq_r is 0 for "*" when star is 0. */
static const char *parse_seq_number(const char *p, uint32_t star,
				    uint32_t *seq_r, bool *star_r)
{
	uint64_t n;

	if (*p == '*') {
		*seq_r = star;
		*star_r = true;
		return p + 1;
	}
	if (*p < '1' || *p > '9')
		return NULL;
	n = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX)
			return NULL;
	}
	*seq_r = (uint32_t)n;
	*star_r = false;
	return p;
}

int seqset_parse(struct seqset *set, const char *str, uint32_t star,
		 bool *dollar_r)
{
	const char *p = str;

	seqset_clear(set);
	if (dollar_r != NULL) {
		*dollar_r = false;
		if (strcmp(str, "$") == 0) {
			*dollar_r = true;
			return 0;
		}
	}
	for (;;) {
		uint32_t seq1, seq2;
		bool star1, star2;

		p = parse_seq_number(p, star, &seq1, &star1);
		if (p == NULL)
			break;
		seq2 = seq1;
		star2 = star1;
		if (*p == ':') {
			p = parse_seq_number(p + 1, star, &seq2, &star2);
			if (p == NULL)
				break;
		}
		/* with star 0 (no messages) "*" matches nothing */
		if (!((star1 || star2) && star == 0)) {
			ARRAY_RESERVE(set->ranges, set->cap, set->count + 1);
			set->ranges[set->count].seq1 = ROOST_MIN(seq1, seq2);
			set->ranges[set->count].seq2 = ROOST_MAX(seq1, seq2);
			set->count++;
		}
		if (*p == '\0') {
			seqset_normalize(set);
			return 0;
		}
		if (*p != ',')
			break;
		p++;
	}
	seqset_clear(set);
	return -1;
}

bool seqset_contains(const struct seqset *set, uint32_t seq)
{
	unsigned int lo = 0, hi = set->count;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		if (set->ranges[mid].seq2 < seq)
			lo = mid + 1;
		else if (set->ranges[mid].seq1 > seq)
			hi = mid;
		else
			return true;
	}
	return false;
}

bool seqset_is_empty(const struct seqset *set)
{
	return set->count == 0;
}

uint64_t seqset_count(const struct seqset *set)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < set->count; i++)
		n += (uint64_t)set->ranges[i].seq2 - set->ranges[i].seq1 + 1;
	return n;
}

uint32_t seqset_min(const struct seqset *set)
{
	return set->count == 0 ? 0 : set->ranges[0].seq1;
}

uint32_t seqset_max(const struct seqset *set)
{
	return set->count == 0 ? 0 : set->ranges[set->count - 1].seq2;
}

void seqset_write(const struct seqset *set, struct str *dest)
{
	for (unsigned int i = 0; i < set->count; i++) {
		const struct seqset_range *r = &set->ranges[i];
		if (i > 0)
			str_append_c(dest, ',');
		if (r->seq1 == r->seq2)
			str_printfa(dest, "%u", r->seq1);
		else
			str_printfa(dest, "%u:%u", r->seq1, r->seq2);
	}
}

void seqset_iter_init(struct seqset_iter *iter, const struct seqset *set)
{
	iter->set = set;
	iter->idx = 0;
	iter->next = 0;
}

bool seqset_iter_next(struct seqset_iter *iter, uint32_t *seq_r)
{
	const struct seqset *set = iter->set;

	if (iter->idx >= set->count)
		return false;
	const struct seqset_range *r = &set->ranges[iter->idx];
	uint32_t seq = iter->next == 0 ? r->seq1 : iter->next;
	if (seq == r->seq2) {
		iter->idx++;
		iter->next = 0;
	} else {
		iter->next = seq + 1;
	}
	*seq_r = seq;
	return true;
}
