/* partial-range.h: the partial-range of RFC 9394 (PARTIAL), the argument of
 * the PARTIAL search return option (SEARCH, SORT) and of the PARTIAL fetch
 * modifier (UID FETCH): which results, counted from the first one or from
 * the last one, a client wants.
 *
 *   partial-range-first = nz-number ":" nz-number
 *   partial-range-last  = MINUS nz-number ":" MINUS nz-number
 *   partial-range       = partial-range-first / partial-range-last
 *
 * It knows nothing of mailboxes or results: it parses, writes back and
 * maps a range onto a count of results. */
#ifndef ROOST_SYNTAX_PARTIAL_RANGE_H
#define ROOST_SYNTAX_PARTIAL_RANGE_H

#include "base/base.h"

struct seqset;
struct str;

struct partial_range {
	/* from the last result (-1 = the last): partial-range-last */
	bool from_end;
	/* the two numbers as the client wrote them (without the MINUS),
	 * for the echo in ret-data-partial; 1..UINT32_MAX */
	uint32_t first, last;
	/* the same, ordered: lo <= hi ("500:400" is "400:500") */
	uint32_t lo, hi;
};

/* Parses `text` (a whole atom) as a partial-range into *range_r.
 * Returns 0, or -1 when it is not one: empty, 0, a number above
 * 4294967295, "*", mixed signs ("1:-5"), a missing ":" or trailing bytes. */
int partial_range_parse(const char *text, struct partial_range *range_r);

/* Appends the range as the client wrote it ("-1:-100", "500:400"). */
void partial_range_append(struct str *str, const struct partial_range *range);

/* The results the range selects out of `count` results (1..count, in
 * result order), as 0-based indexes *start_r .. *end_r exclusive.  Returns
 * false (nothing selected) when the whole range lies outside the results:
 * the PARTIAL answer is then NIL (RFC 9394 3.1). */
bool partial_range_select(const struct partial_range *range, uint32_t count,
			  uint32_t *start_r, uint32_t *end_r);

/* Keeps of `set` only the members the range selects, counting them in
 * ascending order (the PARTIAL fetch modifier, RFC 9394 3.3: the
 * messages of the UID FETCH set, by UID): the set may come out empty. */
void partial_range_apply(const struct partial_range *range, struct seqset *set);

#endif
