/* fuzz-seqset.c: libFuzzer target for src/syntax/seqset.c.
 *
 * The first 4 bytes are the value of "*", the rest a sequence-set.  A set
 * that parses must keep its invariant (sorted, merged ranges), and its
 * written form must parse back to the same set; membership and count must
 * agree with the ranges. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "syntax/seqset.h"
#include "base/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 4)
		return 0;
	uint32_t star = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
		(uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
	char *in = xstrndup((const char *)data + 4, size - 4);
	struct seqset set = SEQSET_INIT, again = SEQSET_INIT;
	struct str out = STR_INIT;
	bool dollar;

	if (seqset_parse(&set, in, star, (size & 1) != 0 ? &dollar : NULL) == 0) {
		uint64_t count = 0;
		for (unsigned int i = 0; i < set.count; i++) {
			const struct seqset_range *r = &set.ranges[i];
			if (r->seq1 == 0 || r->seq1 > r->seq2)
				abort();
			if (i + 1 < set.count &&
			    (uint64_t)r->seq2 + 1 >= set.ranges[i + 1].seq1)
				abort();
			if (!seqset_contains(&set, r->seq1) ||
			    !seqset_contains(&set, r->seq2))
				abort();
			if (r->seq1 > 1 && seqset_contains(&set, r->seq1 - 1))
				abort();
			count += (uint64_t)r->seq2 - r->seq1 + 1;
		}
		if (count != seqset_count(&set))
			abort();
		seqset_write(&set, &out);
		if (set.count > 0) {
			if (seqset_parse(&again, str_c(&out), star, NULL) != 0 ||
			    again.count != set.count ||
			    memcmp(again.ranges, set.ranges,
				   set.count * sizeof(*set.ranges)) != 0)
				abort();
		}
	} else if (set.count != 0) {
		abort();
	}
	str_free(&out);
	seqset_deinit(&set);
	seqset_deinit(&again);
	free(in);
	return 0;
}
