/* fuzz-msgkeys.c: libFuzzer target for src/syntax/msgkeys.c.
 *
 * The first byte chooses what the rest is.  Even: a message; it is
 * parsed, its keys built, and the blob must deserialise with every
 * string inside it and exactly references_count references.  Odd: a
 * blob as an index row could hold it (damaged); deserialising must
 * refuse it or give strings that lie inside it, never read past its end
 * (the input is copied to an exact-size heap block for ASan). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "syntax/msgkeys.h"
#include "mime/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_inside(const char *s, const char *start, size_t size)
{
	if (s < start || s >= start + size || s + strlen(s) >= start + size)
		abort();
}

static void check(const struct msgkeys *k, const char *blob, size_t size)
{
	const char *strs[] = { k->from, k->to, k->cc, k->displayfrom, k->displayto,
			       k->base_subject, k->message_id, k->in_reply_to };
	for (size_t i = 0; i < N_ELEMENTS(strs); i++)
		check_inside(strs[i], blob, size);
	const char *r = k->references;
	for (size_t i = 0; i < k->references_count; i++) {
		check_inside(r, blob, size);
		r = msgkeys_reference_next(r);
	}
	if (r != blob + size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msgkeys keys;

	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		struct mime_parser *parser;
		const struct mime_part *root =
			mime_parser_parse(data + 1, size - 1, &parser);
		struct str blob = STR_INIT;

		msgkeys_build(root, &blob);
		mime_parser_destroy(&parser);
		if (msgkeys_deserialize(&keys, blob.data, blob.len) < 0)
			abort();
		check(&keys, blob.data, blob.len);
		str_free(&blob);
		return 0;
	}
	char *copy = xmalloc(size - 1 == 0 ? 1 : size - 1);

	memcpy(copy, data + 1, size - 1);
	if (msgkeys_deserialize(&keys, copy, size - 1) == 0)
		check(&keys, copy, size - 1);
	free(copy);
	return 0;
}
