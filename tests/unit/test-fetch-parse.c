/* test-fetch-parse.c: the FETCH item parser (src/imap/fetch-parse.c):
 * names in any case become the canonical response names, macros only
 * alone, every section form with and without a part path, BINARY's
 * narrower grammar, partial ranges, \Seen, and the limits of part
 * numbers and paths at and just past their values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "base/pool.h"
#include "base/str.h"
#include "imap/fetch-parse.h"
#include "syntax/imap-parser.h"
#include "mime/part-map.h"

static struct pool *pool;

static struct imap_arg atom(const char *str)
{
	struct imap_arg arg = { .type = IMAP_ARG_ATOM, .str = str, .len = strlen(str), .fd = -1 };
	return arg;
}

/* Parses `str` as the whole items argument (one atom). */
static int parse_atom(const char *str, struct fetch_items *items, const char **error_r)
{
	struct imap_arg arg = atom(str);

	return fetch_parse_items(&arg, pool, items, error_r);
}

/* Parses the atoms as a parenthesised list. */
static int parse_list(const char *const *strs, unsigned int count, struct fetch_items *items,
		      const char **error_r)
{
	struct imap_arg *list = p_malloc(pool, (count + 1) * sizeof(*list));
	struct imap_arg arg = { .type = IMAP_ARG_LIST, .list = list, .list_count = count,
				.fd = -1 };

	for (unsigned int i = 0; i < count; i++)
		list[i] = atom(strs[i]);
	memset(&list[count], 0, sizeof(list[count]));
	return fetch_parse_items(&arg, pool, items, error_r);
}

/* The one body item `str` asks for. */
static const struct fetch_body *parse_body(const char *str, struct fetch_items *items)
{
	const char *error = NULL;

	if (parse_list(&str, 1, items, &error) < 0)
		fail_msg("%s: %s", str, error);
	assert_int_equal(items->body_count, 1);
	return &items->bodies[0];
}

static void assert_bad(const char *str, const char *error)
{
	struct fetch_items items;
	const char *got = NULL;

	assert_int_equal(parse_list(&str, 1, &items, &got), -1);
	assert_string_equal(got, error);
}

static void test_atoms(void **state)
{
	static const char *const all[] = {
		"flags", "UID", "InternalDate", "rfc822.size", "ENVELOPE", "body", "BODYSTRUCTURE",
	};
	struct fetch_items items;
	const char *error = NULL;

	(void)state;
	assert_int_equal(parse_list(all, N_ELEMENTS(all), &items, &error), 0);
	assert_int_equal(items.attrs, FETCH_ATTR_FLAGS | FETCH_ATTR_UID |
			 FETCH_ATTR_INTERNALDATE | FETCH_ATTR_RFC822_SIZE |
			 FETCH_ATTR_ENVELOPE | FETCH_ATTR_BODY | FETCH_ATTR_BODYSTRUCTURE);
	assert_int_equal(items.body_count, 0);
	assert_false(items.set_seen);

	/* one atom alone, not in a list */
	assert_int_equal(parse_atom("uid", &items, &error), 0);
	assert_int_equal(items.attrs, FETCH_ATTR_UID);

	assert_bad("FLAG", "Unknown FETCH item.");
	assert_bad("FLAGSX", "Unknown FETCH item.");
	assert_bad("BODY.PEEK", "Unknown FETCH item.");
	assert_bad("RFC822[]", "Unknown FETCH item.");

	/* a quoted string is not an item */
	struct imap_arg quoted = { .type = IMAP_ARG_QUOTED, .str = "FLAGS", .len = 5, .fd = -1 };
	assert_int_equal(fetch_parse_items(&quoted, pool, &items, &error), -1);
	assert_string_equal(error, "Missing FETCH items.");
	assert_int_equal(parse_list(NULL, 0, &items, &error), -1);
	assert_string_equal(error, "Missing FETCH items.");
}

static void test_macros(void **state)
{
	static const char *const fast = "FAST";
	const unsigned int fast_attrs = FETCH_ATTR_FLAGS | FETCH_ATTR_INTERNALDATE |
		FETCH_ATTR_RFC822_SIZE;
	struct fetch_items items;
	const char *error = NULL;

	(void)state;
	assert_int_equal(parse_atom("fast", &items, &error), 0);
	assert_int_equal(items.attrs, fast_attrs);
	assert_int_equal(parse_atom("All", &items, &error), 0);
	assert_int_equal(items.attrs, fast_attrs | FETCH_ATTR_ENVELOPE);
	assert_int_equal(parse_atom("FULL", &items, &error), 0);
	assert_int_equal(items.attrs, fast_attrs | FETCH_ATTR_ENVELOPE | FETCH_ATTR_BODY);
	/* a macro only alone */
	assert_int_equal(parse_list(&fast, 1, &items, &error), -1);
	assert_string_equal(error, "Unknown FETCH item.");
}

static void test_rfc822(void **state)
{
	struct fetch_items items;
	const struct fetch_body *body;

	(void)state;
	body = parse_body("rfc822", &items);
	assert_int_equal(body->kind, FETCH_KIND_BODY);
	assert_int_equal(body->section, FETCH_SECTION_ALL);
	assert_string_equal(body->resp_name, "RFC822");
	assert_true(items.set_seen);
	body = parse_body("RFC822.header", &items);
	assert_int_equal(body->section, FETCH_SECTION_HEADER);
	assert_string_equal(body->resp_name, "RFC822.HEADER");
	assert_false(items.set_seen);
	body = parse_body("RFC822.TEXT", &items);
	assert_int_equal(body->section, FETCH_SECTION_TEXT);
	assert_true(items.set_seen);
}

static void test_body_sections(void **state)
{
	struct fetch_items items;
	const struct fetch_body *body;

	(void)state;
	body = parse_body("body[]", &items);
	assert_int_equal(body->section, FETCH_SECTION_ALL);
	assert_int_equal(body->path_len, 0);
	assert_string_equal(body->resp_name, "BODY[]");
	assert_true(items.set_seen);
	assert_false(items.need_map);

	body = parse_body("body.peek[header]", &items);
	assert_int_equal(body->section, FETCH_SECTION_HEADER);
	assert_string_equal(body->resp_name, "BODY[HEADER]");
	assert_false(items.set_seen);

	body = parse_body("BODY.PEEK[text]<10.20>", &items);
	assert_int_equal(body->section, FETCH_SECTION_TEXT);
	assert_true(body->partial);
	assert_int_equal(body->offset, 10);
	assert_int_equal(body->count, 20);
	assert_string_equal(body->resp_name, "BODY[TEXT]<10>");

	body = parse_body("BODY[header.fields.not  (from \"X%Y\" To)]", &items);
	assert_int_equal(body->section, FETCH_SECTION_HEADER_FIELDS_NOT);
	assert_int_equal(body->field_count, 3);
	assert_string_equal(body->fields[0], "from");
	assert_string_equal(body->fields[1], "X%Y");
	assert_string_equal(body->resp_name, "BODY[HEADER.FIELDS.NOT (from \"X%Y\" To)]");

	body = parse_body("BODY[1.2.MIME]", &items);
	assert_int_equal(body->section, FETCH_SECTION_MIME);
	assert_int_equal(body->path_len, 2);
	assert_int_equal(body->path[0], 1);
	assert_int_equal(body->path[1], 2);
	assert_string_equal(body->resp_name, "BODY[1.2.MIME]");
	assert_true(items.need_map);

	body = parse_body("BODY[3.header.fields (Subject)]<0.1>", &items);
	assert_int_equal(body->section, FETCH_SECTION_HEADER_FIELDS);
	assert_int_equal(body->path_len, 1);
	assert_string_equal(body->resp_name, "BODY[3.HEADER.FIELDS (Subject)]<0>");

	body = parse_body("BODY[4294967295]", &items);
	assert_int_equal(body->section, FETCH_SECTION_ALL);
	assert_int_equal(body->path[0], UINT32_MAX);

	assert_bad("BODY[MIME]", "Invalid FETCH section.");
	assert_bad("BODY[TEXTX]", "Invalid FETCH section.");
	assert_bad("BODY[HEADER ]", "Invalid FETCH section.");
	assert_bad("BODY[HEADER.FIELDS]", "Invalid FETCH section.");
	assert_bad("BODY[HEADER.FIELDS(From)]", "Invalid FETCH section.");
	assert_bad("BODY[HEADER.FIELDS ()]", "Invalid header field list.");
	assert_bad("BODY[HEADER.FIELDS (Fr:om)]", "Invalid header field list.");
	assert_bad("BODY[HEADER.FIELDS (\"X Y\")]", "Invalid header field list.");
	assert_bad("BODY[1.]", "Invalid FETCH section.");
	assert_bad("BODY[1x]", "Invalid FETCH section.");
	assert_bad("BODY[0]", "Invalid FETCH section.");
	assert_bad("BODY[4294967296]", "Invalid FETCH section.");
	assert_bad("BODY[.TEXT]", "Invalid FETCH section.");
	assert_bad("BODY[TEXT", "Invalid FETCH section.");
	assert_bad("BODY[]<0.0>", "Invalid partial range.");
	assert_bad("BODY[]<1>", "Invalid partial range.");
	assert_bad("BODY[]x", "Invalid FETCH item.");
	assert_bad("BODYX[]", "Unknown FETCH item.");
}

static void test_path_limit(void **state)
{
	struct fetch_items items;
	struct str item = STR_INIT;

	(void)state;
	str_append(&item, "BODY[1");
	for (unsigned int i = 1; i < MIME_PART_MAP_MAX_PATH; i++)
		str_append(&item, ".1");
	str_append(&item, "]");
	assert_int_equal(parse_body(str_c(&item), &items)->path_len,
			 MIME_PART_MAP_MAX_PATH);
	str_truncate(&item, item.len - 1);
	str_append(&item, ".1]");
	assert_bad(str_c(&item), "Invalid FETCH section.");
	str_free(&item);
}

static void test_binary(void **state)
{
	struct fetch_items items;
	const struct fetch_body *body;

	(void)state;
	body = parse_body("binary[]", &items);
	assert_int_equal(body->kind, FETCH_KIND_BINARY);
	assert_string_equal(body->resp_name, "BINARY[]");
	assert_true(items.binary);
	assert_true(items.set_seen);

	body = parse_body("Binary.Peek[1.2]<0.4>", &items);
	assert_int_equal(body->kind, FETCH_KIND_BINARY);
	assert_int_equal(body->path_len, 2);
	assert_string_equal(body->resp_name, "BINARY[1.2]<0>");
	assert_false(items.set_seen);
	assert_true(items.need_map);

	body = parse_body("BINARY.SIZE[3]", &items);
	assert_int_equal(body->kind, FETCH_KIND_BINARY_SIZE);
	assert_string_equal(body->resp_name, "BINARY.SIZE[3]");
	assert_false(items.set_seen);

	assert_bad("BINARY[1.HEADER]", "Invalid BINARY section: only part numbers.");
	assert_bad("BINARY[TEXT]", "Invalid BINARY section: only part numbers.");
	assert_bad("BINARY[0]", "Invalid BINARY section.");
	assert_bad("BINARY.SIZE[1]<0.1>", "Invalid FETCH item.");
	assert_bad("BINARYX[1]", "Unknown FETCH item.");
}

static void test_several(void **state)
{
	static const char *const strs[] = { "BODY.PEEK[1]", "UID", "BINARY.SIZE[]", "RFC822.TEXT" };
	struct fetch_items items;
	const char *error = NULL;

	(void)state;
	assert_int_equal(parse_list(strs, N_ELEMENTS(strs), &items, &error), 0);
	assert_int_equal(items.attrs, FETCH_ATTR_UID);
	assert_int_equal(items.body_count, 3);
	assert_string_equal(items.bodies[0].resp_name, "BODY[1]");
	assert_string_equal(items.bodies[1].resp_name, "BINARY.SIZE[]");
	assert_string_equal(items.bodies[2].resp_name, "RFC822.TEXT");
	assert_true(items.need_map && items.binary && items.set_seen);
}

/* EMAILID, THREADID (RFC 8474), SAVEDATE (RFC 8514), PREVIEW and
 * PREVIEW (LAZY) (RFC 8970): the modifier list only right after PREVIEW */
static void test_objectid_savedate_preview(void **state)
{
	static const char *const all[] = { "emailid", "THREADID", "SaveDate", "preview" };
	struct imap_arg mods[3], list[4];
	struct imap_arg arg = { .type = IMAP_ARG_LIST, .list = list, .list_count = 3, .fd = -1 };
	struct fetch_items items;
	const char *error = NULL;

	(void)state;
	assert_int_equal(parse_list(all, N_ELEMENTS(all), &items, &error), 0);
	assert_int_equal(items.attrs, FETCH_ATTR_EMAILID | FETCH_ATTR_THREADID |
			 FETCH_ATTR_SAVEDATE | FETCH_ATTR_PREVIEW);
	assert_int_equal(parse_atom("PREVIEW", &items, &error), 0);
	assert_int_equal(items.attrs, FETCH_ATTR_PREVIEW);

	/* (UID PREVIEW (lazy)) */
	mods[0] = atom("lazy");
	memset(&mods[1], 0, sizeof(mods[1]));
	list[0] = atom("UID");
	list[1] = atom("PREVIEW");
	list[2] = (struct imap_arg){ .type = IMAP_ARG_LIST, .list = mods, .list_count = 1,
				     .fd = -1 };
	memset(&list[3], 0, sizeof(list[3]));
	assert_int_equal(fetch_parse_items(&arg, pool, &items, &error), 0);
	assert_int_equal(items.attrs, FETCH_ATTR_UID | FETCH_ATTR_PREVIEW |
			 FETCH_ATTR_PREVIEW_LAZY);
	/* an unknown modifier, an empty list */
	mods[0] = atom("EAGER");
	assert_int_equal(fetch_parse_items(&arg, pool, &items, &error), -1);
	assert_string_equal(error, "Unknown PREVIEW modifier.");
	arg.list[2].list_count = 0;
	assert_int_equal(fetch_parse_items(&arg, pool, &items, &error), -1);
	assert_string_equal(error, "Invalid PREVIEW modifiers.");
	/* a list after another item is not a modifier list */
	mods[0] = atom("LAZY");
	arg.list[2].list_count = 1;
	list[1] = atom("SAVEDATE");
	assert_int_equal(fetch_parse_items(&arg, pool, &items, &error), -1);
	assert_bad("PREVIEW.LAZY", "Unknown FETCH item.");
}

static int setup(void **state)
{
	(void)state;
	pool = pool_create(4096);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pool_destroy(&pool);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atoms),
		cmocka_unit_test(test_objectid_savedate_preview),
		cmocka_unit_test(test_macros),
		cmocka_unit_test(test_rfc822),
		cmocka_unit_test(test_body_sections),
		cmocka_unit_test(test_path_limit),
		cmocka_unit_test(test_binary),
		cmocka_unit_test(test_several),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
