/* partial-range.c: RFC 9394 partial-range (see partial-range.h). */
#include "partial-range.h"
#include "base/str.h"
#include "seqset.h"

/* nz-number = digit-nz *DIGIT, at most 4294967295; *end_r past it */
static int partial_range_number(const char *p, const char **end_r, uint32_t *n_r)
{
	uint64_t n = 0;

	if (*p < '1' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (uint64_t)(*p - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	*n_r = (uint32_t)n;
	*end_r = p;
	return 0;
}

int partial_range_parse(const char *text, struct partial_range *range_r)
{
	const char *p = text;
	bool from_end = *p == '-';

	if (from_end)
		p++;
	if (partial_range_number(p, &p, &range_r->first) < 0 || *p++ != ':')
		return -1;
	/* both numbers carry the MINUS or neither does */
	if (from_end != (*p == '-'))
		return -1;
	if (from_end)
		p++;
	if (partial_range_number(p, &p, &range_r->last) < 0 || *p != '\0')
		return -1;
	range_r->from_end = from_end;
	range_r->lo = range_r->first < range_r->last ? range_r->first : range_r->last;
	range_r->hi = range_r->first < range_r->last ? range_r->last : range_r->first;
	return 0;
}

void partial_range_append(struct str *str, const struct partial_range *range)
{
	const char *minus = range->from_end ? "-" : "";

	str_printfa(str, "%s%u:%s%u", minus, range->first, minus, range->last);
}

bool partial_range_select(const struct partial_range *range, uint32_t count,
			  uint32_t *start_r, uint32_t *end_r)
{
	if (range->lo > count)
		return false;
	uint32_t hi = range->hi < count ? range->hi : count;
	if (!range->from_end) {
		*start_r = range->lo - 1;
		*end_r = hi;
	} else {
		/* -1 is index count - 1, -hi is index count - hi */
		*start_r = count - hi;
		*end_r = count - range->lo + 1;
	}
	return true;
}

void partial_range_apply(const struct partial_range *range, struct seqset *set)
{
	uint64_t total = 0;
	uint32_t start, end;

	for (unsigned int i = 0; i < set->count; i++)
		total += (uint64_t)set->ranges[i].seq2 - set->ranges[i].seq1 + 1;
	if (total > UINT32_MAX)
		total = UINT32_MAX;
	if (!partial_range_select(range, (uint32_t)total, &start, &end)) {
		seqset_clear(set);
		return;
	}
	/* members start..end-1 (0-based) of the ranges, in place: the
	 * kept ranges are a subsequence of the old, possibly shortened at
	 * both ends */
	uint64_t pos = 0;
	unsigned int kept = 0;
	for (unsigned int i = 0; i < set->count; i++) {
		struct seqset_range r = set->ranges[i];
		uint64_t len = (uint64_t)r.seq2 - r.seq1 + 1;
		uint64_t from = pos, to = pos + len;	/* [from, to) */

		pos = to;
		if (to <= start || from >= end)
			continue;
		if (from < start)
			r.seq1 += (uint32_t)(start - from);
		if (to > end)
			r.seq2 -= (uint32_t)(to - end);
		set->ranges[kept++] = r;
	}
	set->count = kept;
}
