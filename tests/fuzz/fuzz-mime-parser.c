/* fuzz-mime-parser.c: libFuzzer target for src/mime.
 *
 * The first byte picks a chunk size; the rest is a message.  The message
 * is parsed whole and in chunks: both parses must give the same BODY,
 * BODYSTRUCTURE, ENVELOPE and part map.  The part map must survive a
 * serialise/deserialise round trip, every part it lists must be found by
 * a section lookup and lie inside the message, and the decoders (RFC
 * 2047 on Subject, dates, RFC 2231 file names, base64/QP on each part's
 * body) must run without fault.  BODY derived from BODYSTRUCTURE
 * (imap_bodystructure_to_body(), what FETCH does with the cached string)
 * must equal the written BODY, and a damaged copy of the stored string
 * must be refused or read, never crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/str.h"
#include "syntax/imap-bodystructure.h"
#include "mime/date.h"
#include "mime/decode.h"
#include "syntax/imap-envelope.h"
#include "mime/header.h"
#include "mime/parser.h"
#include "mime/part-map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void render(const struct mime_part *root, struct str *out)
{
	struct mime_part_map map;

	imap_envelope_write(out, root, 0);
	imap_bodystructure_write(out, root, true, 0);
	imap_bodystructure_write(out, root, false, IMAP_ENVELOPE_FLAG_UTF8 |
				 IMAP_ENVELOPE_FLAG_IMAP4REV2);
	(void)imap_bodystructure_has_global(root);
	mime_part_map_init_tree(&map, root);
	mime_part_map_serialize(&map, out);
	mime_part_map_deinit(&map);
}

/* BODY derived from the written BODYSTRUCTURE, both protocol forms. */
static void check_derived_body(const struct mime_part *root)
{
	static const enum imap_envelope_flags forms[] = {
		0, IMAP_ENVELOPE_FLAG_UTF8 | IMAP_ENVELOPE_FLAG_IMAP4REV2,
	};
	struct str bs = STR_INIT, body = STR_INIT, derived = STR_INIT;

	for (size_t i = 0; i < N_ELEMENTS(forms); i++) {
		str_truncate(&bs, 0);
		str_truncate(&body, 0);
		str_truncate(&derived, 0);
		imap_bodystructure_write(&bs, root, true, forms[i]);
		imap_bodystructure_write(&body, root, false, forms[i]);
		if (imap_bodystructure_to_body(&derived, bs.data, bs.len) != 0 ||
		    derived.len != body.len ||
		    memcmp(derived.data, body.data, body.len) != 0)
			abort();
		if (bs.len > 2) {
			bs.data[bs.len / 3] ^= 0x29;
			str_truncate(&derived, 0);
			(void)imap_bodystructure_to_body(&derived, bs.data,
							 bs.len - 1);
		}
	}
	str_free(&bs);
	str_free(&body);
	str_free(&derived);
}

static void decode_fields(const struct mime_part *part, const uint8_t *msg,
			  size_t size)
{
	struct str s = STR_INIT;
	time_t t;
	int tz;

	for (; part != NULL; ) {
		const char *subject = part->fields[MIME_FIELD_SUBJECT];
		const char *date = part->fields[MIME_FIELD_DATE];
		if (subject != NULL)
			mime_header_decode_utf8(subject, strlen(subject), &s);
		if (date != NULL)
			(void)mime_date_parse(date, &t, &tz);
		(void)mime_param_get_utf8(part->disposition_params,
					  part->disposition_param_count,
					  "filename", &s);
		(void)mime_param_get_utf8(part->params, part->param_count,
					  "name", &s);
		if (part->body_offset + part->body_size > size)
			abort();
		if (part->children == NULL) {
			struct mime_decoder dec;
			mime_decoder_init(&dec, part->transfer_encoding);
			mime_decoder_feed(&dec, msg + part->body_offset,
					  part->body_size, &s);
			mime_decoder_finish(&dec, &s);
		}
		str_truncate(&s, 0);
		/* pre-order walk without recursion */
		if (part->children != NULL) {
			part = part->children;
			continue;
		}
		while (part != NULL && part->next == NULL)
			part = part->parent;
		if (part != NULL)
			part = part->next;
	}
	str_free(&s);
}

static void check_map(const struct mime_part *root, size_t size)
{
	struct mime_part_map map, again;
	struct str blob = STR_INIT, blob2 = STR_INIT;

	mime_part_map_init_tree(&map, root);
	mime_part_map_serialize(&map, &blob);
	if (mime_part_map_deserialize(&again, blob.data, blob.len) != 0)
		abort();
	mime_part_map_serialize(&again, &blob2);
	if (blob.len != blob2.len || memcmp(blob.data, blob2.data, blob.len) != 0)
		abort();
	if (again.count != map.count ||
	    memcmp(again.entries, map.entries,
		   sizeof(*map.entries) * map.count) != 0)
		abort();
	for (uint32_t i = 0; i < map.count; i++) {
		const struct mime_part_map_entry *e = &map.entries[i];
		if (e->body_offset + e->body_size > size ||
		    e->body_vsize < e->body_size ||
		    e->header_offset + e->header_size != e->body_offset)
			abort();
	}
	/* every "N" and "N.M" path resolves inside the message */
	for (uint32_t a = 1; a <= 4; a++) {
		for (uint32_t b = 0; b <= 4; b++) {
			uint32_t path[2] = { a, b };
			for (int kind = MIME_SECTION_BODY;
			     kind <= MIME_SECTION_MIME; kind++) {
				struct mime_section_range r;
				if (mime_part_map_lookup(&map, path, b == 0 ? 1 : 2,
						(enum mime_section_kind)kind,
						&r) == 0 &&
				    (r.offset + r.size > size ||
				     r.part_index >= map.count))
					abort();
			}
		}
	}
	/* a corrupted copy is rejected or consistent, never a crash */
	mime_part_map_deinit(&again);
	if (blob.len > 3) {
		blob.data[blob.len / 2] ^= 0x41;
		if (mime_part_map_deserialize(&again, blob.data, blob.len) == 0)
			mime_part_map_deinit(&again);
	}
	mime_part_map_deinit(&map);
	str_free(&blob);
	str_free(&blob2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] % 67 + 1;
	const uint8_t *msg = data + 1;
	size_t len = size - 1;
	struct mime_parser *whole, *chunked;
	struct mime_part *root, *root2;
	struct str a = STR_INIT, b = STR_INIT;

	root = mime_parser_parse(msg, len, &whole);
	chunked = mime_parser_create();
	for (size_t i = 0; i < len; i += chunk)
		mime_parser_feed(chunked, msg + i, ROOST_MIN(chunk, len - i));
	root2 = mime_parser_finish(chunked);

	render(root, &a);
	render(root2, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
		abort();
	if (root->header_size + root->body_size != len)
		abort();
	check_map(root, len);
	check_derived_body(root);
	decode_fields(root, msg, len);

	str_free(&a);
	str_free(&b);
	mime_parser_destroy(&whole);
	mime_parser_destroy(&chunked);
	return 0;
}
