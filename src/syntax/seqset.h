/* seqset.h: sets of message numbers (sequence numbers or UIDs).
 *
 * A set is kept as sorted, merged, non-adjacent ranges of uint32 values
 * from 1 to 4294967295, so "1:100000" costs one range, membership is a
 * binary search and writing it back is compact ("1:3,7").  It parses and
 * writes the IMAP sequence-set syntax but knows nothing of mailboxes: "*"
 * is resolved against a number the caller gives, and "$" (SEARCHRES) is
 * only reported, never resolved.
 *
 *   sequence-set = (seq-number / seq-range) ["," sequence-set] /
 *                  seq-last-command
 *   seq-range    = seq-number ":" seq-number
 *   seq-number   = nz-number / "*"
 *   nz-number    = digit-nz *DIGIT          ; 0 < n < 4,294,967,296
 *   seq-last-command = "$"
 */
#ifndef ROOST_SYNTAX_SEQSET_H
#define ROOST_SYNTAX_SEQSET_H

#include "base/base.h"

struct str;

struct seqset_range {
	uint32_t seq1, seq2;	/* seq1 <= seq2 */
};

struct seqset {
	/* sorted by seq1; ranges never overlap or touch */
	struct seqset_range *ranges;
	unsigned int count;
	size_t cap;
};

#define SEQSET_INIT { NULL, 0, 0 }

/* An empty set (same as SEQSET_INIT). */
void seqset_init(struct seqset *set);
/* Frees the ranges; the set is empty and reusable. */
void seqset_deinit(struct seqset *set);
/* Empties the set, keeping its memory. */
void seqset_clear(struct seqset *set);

/* Replaces the set's content with the sequence-set in `str` (the whole
 * string, NUL-terminated).  "*" stands for `star` (the highest sequence
 * number or UID in use); when star is 0 (an empty mailbox) every element
 * that involves "*" contributes nothing, so "1:*" gives an empty set.
 * Ranges may be given in either order ("4:2" = "2:4").  When `dollar_r`
 * is not NULL, the input "$" is accepted: the set is emptied and
 * *dollar_r set true (the caller substitutes the saved search result);
 * otherwise *dollar_r is false.  Returns 0, or -1 on a syntax error (0,
 * leading zeros, overflow, empty elements, anything else) leaving the set
 * empty. */
int seqset_parse(struct seqset *set, const char *str, uint32_t star,
		 bool *dollar_r);

/* Adds one number or the range seq1..seq2 (either order); 0 is a bug.
 * Adding in increasing order is O(1); elsewhere it moves later ranges. */
void seqset_add(struct seqset *set, uint32_t seq);
void seqset_add_range(struct seqset *set, uint32_t seq1, uint32_t seq2);

/* Removes one number (0 is a bug); nothing when it is not in the set.
 * O(log n), plus moving later ranges when a range is split or goes. */
void seqset_remove(struct seqset *set, uint32_t seq);

bool seqset_contains(const struct seqset *set, uint32_t seq);
bool seqset_is_empty(const struct seqset *set);
/* How many numbers the set holds (up to 2^32 - 1). */
uint64_t seqset_count(const struct seqset *set);
/* Smallest and largest numbers; 0 when the set is empty. */
uint32_t seqset_min(const struct seqset *set);
uint32_t seqset_max(const struct seqset *set);

/* Appends the set in compact sequence-set form, "1:3,7,9:12", as used by
 * COPYUID, APPENDUID and ESEARCH.  Appends nothing for an empty set. */
void seqset_write(const struct seqset *set, struct str *dest);

/* Iteration over every number in increasing order:
 *	struct seqset_iter iter;
 *	uint32_t seq;
 *	seqset_iter_init(&iter, set);
 *	while (seqset_iter_next(&iter, &seq)) ...
 * The set must not change during the iteration. */
struct seqset_iter {
	const struct seqset *set;
	unsigned int idx;
	uint32_t next;		/* 0 = start of range idx */
};
void seqset_iter_init(struct seqset_iter *iter, const struct seqset *set);
/* Returns true with the next number in *seq_r, false when done. */
bool seqset_iter_next(struct seqset_iter *iter, uint32_t *seq_r);

#endif
