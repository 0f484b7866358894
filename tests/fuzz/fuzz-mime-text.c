/* fuzz-mime-text.c: libFuzzer target for src/mime/text.c and
 * src/mime/preview.c.
 *
 * The first byte picks a chunk size; the rest is a message.  The message
 * is parsed whole and in chunks and its SEARCH text extracted from both
 * parses: the documents must be equal, valid UTF-8 without NUL
 * (mime/text.h promises it, so i;unicode-casemap never falls back to
 * octets and the FTS tokenizer sees all of the text), within the
 * documented limits, and the header document must be lines of the form
 * "name: value" that mime_text_header_has() finds again.  The RFC 8970
 * preview of both parses must be equal, valid UTF-8 without NUL, of at
 * most MIME_PREVIEW_MAX_CHARS characters, with no white space at either
 * end and no two spaces in a row; the message bytes themselves go
 * through the HTML reduction (mime_preview_from_text()) with the same
 * checks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/casemap.h"
#include "base/istream.h"
#include "base/str.h"
#include "base/utf8.h"
#include "mime/parser.h"
#include "mime/preview.h"
#include "mime/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8(const struct str *s)
{
	const unsigned char *p = (const unsigned char *)s->data;

	for (size_t i = 0; i < s->len; ) {
		size_t n = p[i] == 0 ? 0 : p[i] < 0x80 ? 1 : utf8_seq_len(p + i, s->len - i);

		if (n == 0)
			abort();
		i += n;
	}
}

static void check_header(const struct str *doc)
{
	struct str prepared = STR_INIT;
	size_t pos = 0;

	while (pos < doc->len) {
		const char *line = doc->data + pos;
		const char *nl = memchr(line, '\n', doc->len - pos);
		const char *colon;
		char *name;

		if (nl == NULL)
			abort();	/* every line ends in LF */
		colon = memchr(line, ':', (size_t)(nl - line));
		if (colon == NULL || colon == line || colon + 1 == nl || colon[1] != ' ')
			abort();
		pos += (size_t)(nl - line) + 1;
		name = xstrndup(line, (size_t)(colon - line));
		if (strlen(name) == (size_t)(colon - line) &&
		    !mime_text_header_has(doc->data, doc->len, name, colon + 2,
					  (size_t)(nl - colon - 2)))
			abort();
		free(name);
	}
	if (!casemap_unicode(doc->data, doc->len, &prepared))
		abort();
	str_free(&prepared);
}

static void check_preview(const struct str *p)
{
	size_t chars = 0;

	check_utf8(p);
	for (size_t i = 0; i < p->len; i++) {
		if (((unsigned char)p->data[i] & 0xc0) != 0x80)
			chars++;
		if ((unsigned char)p->data[i] <= ' ' &&
		    (p->data[i] != ' ' || i == 0 || i + 1 == p->len || p->data[i + 1] == ' '))
			abort();
	}
	if (chars > MIME_PREVIEW_MAX_CHARS || strlen(p->data) != p->len)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] % 67 + 1;
	const char *msg = (const char *)data + 1;
	size_t len = size - 1;
	struct istream *m = istream_from_memory(msg, len);
	struct mime_parser *whole, *chunked = mime_parser_create();
	const struct mime_part *root = mime_parser_parse(msg, len, &whole);
	struct str h1 = STR_INIT, b1 = STR_INIT, h2 = STR_INIT, b2 = STR_INIT;

	for (size_t i = 0; i < len; i += chunk)
		mime_parser_feed(chunked, msg + i, ROOST_MIN(chunk, len - i));
	if (mime_text_extract(root, m, &h1, &b1) != 0 ||
	    mime_text_extract(mime_parser_finish(chunked), m, &h2, &b2) != 0)
		abort();
	if (h1.len != h2.len || b1.len != b2.len ||
	    memcmp(h1.data, h2.data, h1.len) != 0 || memcmp(b1.data, b2.data, b1.len) != 0)
		abort();
	if (h1.len > MIME_TEXT_MAX_HEADER || b1.len > MIME_TEXT_MAX_BODY)
		abort();
	check_utf8(&h1);
	check_utf8(&b1);
	check_header(&h1);

	struct str p1 = STR_INIT, p2 = STR_INIT;
	if (mime_preview_extract(root, m, &p1) != 0 ||
	    mime_preview_extract(mime_parser_finish(chunked), m, &p2) != 0 ||
	    strcmp(p1.data, p2.data) != 0)
		abort();
	check_preview(&p1);
	mime_preview_from_text(msg, len, (data[0] & 0x80) != 0, &p2);
	check_preview(&p2);
	str_free(&p1);
	str_free(&p2);
	mime_parser_destroy(&whole);
	mime_parser_destroy(&chunked);
	istream_destroy(&m);
	str_free(&h1);
	str_free(&b1);
	str_free(&h2);
	str_free(&b2);
	return 0;
}
