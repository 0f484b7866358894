/* fuzz-mutf7.c: libFuzzer target for src/syntax/mutf7.c.
 *
 * The input is tried as modified UTF-7 and as UTF-8.  Whatever decodes
 * must encode back to exactly the input (decoding accepts only the minimal
 * spelling), and whatever encodes must decode back to the input. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "syntax/mutf7.h"
#include "base/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = xstrndup((const char *)data, size);
	struct str a = STR_INIT, b = STR_INIT;

	if (mutf7_decode(in, &a) == 0) {
		if (!mutf7_is_valid(in))
			abort();
		if (mutf7_encode(str_c(&a), &b) != 0 ||
		    strcmp(str_c(&b), in) != 0)
			abort();
	} else if (a.len != 0) {
		abort();
	}
	str_truncate(&a, 0);
	str_truncate(&b, 0);
	if (mutf7_encode(in, &a) == 0) {
		if (mutf7_decode(str_c(&a), &b) != 0 ||
		    strcmp(str_c(&b), in) != 0)
			abort();
		/* the encoded form is printable US-ASCII */
		for (size_t i = 0; i < a.len; i++) {
			if (a.data[i] < 0x20 || a.data[i] > 0x7e)
				abort();
		}
	} else if (a.len != 0) {
		abort();
	}
	str_free(&a);
	str_free(&b);
	free(in);
	return 0;
}
