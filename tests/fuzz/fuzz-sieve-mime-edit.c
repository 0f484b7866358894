/* fuzz-sieve-mime-edit.c: libFuzzer target for the message rewrites of
 * Sieve's editheader, replace and enclose and for the part walk of
 * foreverypart and extracttext (src/sieve: fields.c, editheader.c,
 * mime.c, mime-edit.c).
 *
 * The input is a message.  For it: the part walk visits every part once
 * and each subtree is contiguous; extracttext gives valid UTF-8 within
 * its limits; replacing a part keeps every byte before the part and
 * gives a message that parses; enclose keeps the whole input inside the
 * new message; addheader then deleteheader :index 1 of the same field
 * gives the input back; deleting a field that is not there changes
 * nothing. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "base/utf8.h"
#include "sieve/editheader.h"
#include "sieve/mime.h"
#include "sieve/mime-edit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARTS_EDITED 20

static void check_utf8(const struct str *s)
{
	for (size_t i = 0; i < s->len;) {
		size_t n = utf8_seq_len((const unsigned char *)s->data + i, s->len - i);

		if (n == 0)
			abort();
		i += n;
	}
}

static void check_parts(const char *msg, size_t size, struct sieve_mime *mime)
{
	size_t count = sieve_mime_part_count(mime), seen = 0, i;
	struct sieve_mime_iter iter;

	sieve_mime_iter_init(mime, SIEVE_MIME_TOP, &iter);
	while (sieve_mime_iter_next(&iter, &i)) {
		size_t end = sieve_mime_subtree_end(mime, i);
		struct str text = STR_INIT;
		struct sieve_mime_replace r = { .text = "x\xc3\xa9", .text_len = 3 };
		struct str out = STR_INIT;
		const char *error;

		if (i != seen++ || end <= i || end > count)
			abort();
		sieve_mime_extract_text(mime, i, 3, 64, &text);
		check_utf8(&text);
		if (text.len > 64)
			abort();
		str_free(&text);
		if (i < MAX_PARTS_EDITED) {
			const struct mime_part *part = sieve_mime_part(mime, i);
			struct sieve_mime *again;

			if (sieve_mime_edit_replace(msg, size, part, &r, &out, &error) == 0) {
				if (i > 0 && memcmp(out.data, msg, part->header_offset) != 0)
					abort();
				again = sieve_mime_parse(out.data, out.len);
				sieve_mime_free(&again);
			}
			str_free(&out);
		}
	}
	if (seen != count)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msg = (const char *)data;
	struct sieve_mime *mime = sieve_mime_parse(msg, size);
	struct sieve_mime_enclose e = { .text = "t", .text_len = 1, .from = "a@example.org" };
	struct sieve_editheader_delete del = { .name = "X-7777", .index = 1 };
	struct str a = STR_INIT, b = STR_INIT;
	const char *error;

	check_parts(msg, size, mime);
	sieve_mime_free(&mime);

	sieve_mime_edit_enclose(msg, size, &e, &a);
	if (memmem(a.data, a.len, msg, size) == NULL)
		abort();
	str_truncate(&a, 0);

	/* a field the input cannot hold yet (its name is not in it) */
	if (memmem(msg, size, "X-7777", 6) == NULL && memmem(msg, size, "x-7777", 6) == NULL) {
		if (sieve_editheader_add(msg, size, "X-7777", "v\xc3\xa9", 3, false, &a,
					 &error) != 1 ||
		    sieve_editheader_delete(a.data, a.len, &del, &b, &error) != 1 ||
		    b.len < size || memcmp(b.data, msg, size) != 0)
			abort();
		/* a header whose last line was unterminated got its line break */
		if (b.len != size && (size == 0 || msg[size - 1] == '\n' ||
				      strspn(b.data + size, "\r\n") != b.len - size))
			abort();
		str_truncate(&b, 0);
		del.index = 0;
		if (sieve_editheader_delete(msg, size, &del, &b, &error) != 0 ||
		    b.len != size || memcmp(b.data, msg, size) != 0)
			abort();
	}
	str_free(&a);
	str_free(&b);
	return 0;
}
