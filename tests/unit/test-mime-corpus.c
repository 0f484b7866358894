/* test-mime-corpus.c: every message in tests/data/mime/ (MIME_CORPUS_DIR)
 * must give the ENVELOPE and BODYSTRUCTURE in its .envelope and
 * .bodystructure files (and, when the IMAP4rev2 form differs: message/global,
 * RFC 2231 parameters, that form in .bodystructure-imap4rev2), parsed whole and one byte
 * at a time, and its part
 * map must survive a serialise/deserialise round trip.  With
 * ROOST_MIME_CORPUS_UPDATE=1 the expectation files are (re)written
 * instead: review the diff, the files are the specification (see
 * tests/data/mime/README.md).  Also: the part map finds the empty
 * stand-in parts BODYSTRUCTURE shows for childless multiparts and
 * messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"
#include "syntax/imap-bodystructure.h"
#include "syntax/imap-envelope.h"
#include "mime/parser.h"
#include "mime/part-map.h"

#ifndef MIME_CORPUS_DIR
#  error "MIME_CORPUS_DIR must name tests/data/mime"
#endif

static char *read_file(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct str s = STR_INIT;
	char buf[4096];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_n(&s, buf, n);
	fclose(f);
	*len_r = s.len;
	return s.data == NULL ? xstrdup("") : str_steal(&s);
}

static void write_file(const char *path, const struct str *s)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(s->data, 1, s->len, f), s->len);
	assert_int_equal(fclose(f), 0);
}

static void check_expect(const char *base, const char *ext,
			 const struct str *got, bool update)
{
	char *path = xasprintf("%s.%s", base, ext);
	size_t len;
	char *want;

	if (update) {
		write_file(path, got);
		free(path);
		return;
	}
	want = read_file(path, &len);
	if (want == NULL)
		fail_msg("%s is missing", path);
	if (len != got->len || memcmp(want, got->data, len) != 0)
		fail_msg("%s:\n  want %.*s\n  got  %.*s", path, (int)len, want,
			 (int)got->len, got->data);
	free(want);
	free(path);
}

static void render(struct mime_part *root, struct str *env, struct str *bs,
		   struct str *map_blob)
{
	struct mime_part_map map;

	imap_envelope_write(env, root, 0);
	imap_bodystructure_write(bs, root, true, 0);
	mime_part_map_init_tree(&map, root);
	mime_part_map_serialize(&map, map_blob);
	mime_part_map_deinit(&map);
}

/* BODY derived from BODYSTRUCTURE (what the store caches) is what the
 * writer gives for BODY, for these flags; no prefix of BODYSTRUCTURE is
 * taken for one. */
static void check_body_from_bodystructure(const struct mime_part *root,
					  enum imap_envelope_flags flags)
{
	struct str body = STR_INIT, bs = STR_INIT, derived = STR_INIT;

	imap_bodystructure_write(&body, root, false, flags);
	imap_bodystructure_write(&bs, root, true, flags);
	assert_int_equal(imap_bodystructure_to_body(&derived, bs.data, bs.len), 0);
	assert_string_equal(str_c(&derived), str_c(&body));
	for (size_t n = bs.len > 4096 ? bs.len - 64 : 0; n < bs.len; n++) {
		str_truncate(&derived, 0);
		assert_int_equal(imap_bodystructure_to_body(&derived, bs.data, n), -1);
	}
	str_free(&body);
	str_free(&bs);
	str_free(&derived);
}

static void check_message(const char *base, bool update)
{
	char *path = xasprintf("%s.eml", base);
	size_t len;
	char *msg = read_file(path, &len);
	struct mime_parser *p, *q;
	struct str env = STR_INIT, bs = STR_INIT, map = STR_INIT;
	struct str env1 = STR_INIT, bs1 = STR_INIT, map1 = STR_INIT;
	struct mime_part_map loaded;

	assert_non_null(msg);
	render(mime_parser_parse(msg, len, &p), &env, &bs, &map);
	q = mime_parser_create();
	for (size_t i = 0; i < len; i++)
		mime_parser_feed(q, msg + i, 1);
	render(mime_parser_finish(q), &env1, &bs1, &map1);
	assert_string_equal(str_c(&env), str_c(&env1));
	assert_string_equal(str_c(&bs), str_c(&bs1));
	assert_int_equal(map.len, map1.len);
	assert_memory_equal(map.data, map1.data, map.len);
	assert_int_equal(mime_part_map_deserialize(&loaded, map.data, map.len), 0);
	assert_int_equal(loaded.entries[0].header_size +
			 loaded.entries[0].body_size, len);
	mime_part_map_deinit(&loaded);

	check_body_from_bodystructure(mime_parser_finish(p), 0);
	check_body_from_bodystructure(mime_parser_finish(p), IMAP_ENVELOPE_FLAG_IMAP4REV2);
	check_body_from_bodystructure(mime_parser_finish(p), IMAP_ENVELOPE_FLAG_UTF8);
	check_expect(base, "envelope", &env, update);
	check_expect(base, "bodystructure", &bs, update);
	if (imap_bodystructure_has_global(mime_parser_finish(p))) {
		str_truncate(&bs, 0);
		imap_bodystructure_write(&bs, mime_parser_finish(p), true,
					 IMAP_ENVELOPE_FLAG_IMAP4REV2);
		check_expect(base, "bodystructure-imap4rev2", &bs, update);
	}

	mime_parser_destroy(&p);
	mime_parser_destroy(&q);
	str_free(&env);
	str_free(&bs);
	str_free(&map);
	str_free(&env1);
	str_free(&bs1);
	str_free(&map1);
	free(msg);
	free(path);
}

static void test_mime_corpus(void **state)
{
	(void)state;
	const char *u = getenv("ROOST_MIME_CORPUS_UPDATE");
	bool update = u != NULL && strcmp(u, "1") == 0;
	DIR *dir = opendir(MIME_CORPUS_DIR);
	struct dirent *d;
	unsigned int count = 0;

	assert_non_null(dir);
	while ((d = readdir(dir)) != NULL) {
		size_t n = strlen(d->d_name);
		if (n < 5 || strcmp(d->d_name + n - 4, ".eml") != 0)
			continue;
		char *base = xasprintf("%s/%.*s", MIME_CORPUS_DIR,
				       (int)(n - 4), d->d_name);
		check_message(base, update);
		free(base);
		count++;
	}
	closedir(dir);
	assert_true(count >= 60);
}

static int lookup(const struct mime_part_map *map, const uint32_t *path,
		  unsigned int len, enum mime_section_kind kind,
		  struct mime_section_range *r)
{
	memset(r, 0xff, sizeof(*r));
	return mime_part_map_lookup(map, path, len, kind, r);
}

/* A multipart without parts and an encoded message/rfc822 are shown by
 * BODYSTRUCTURE with an empty stand-in part 1; the part map finds it
 * (BODY and MIME empty, at the end of the parent's header) and nothing
 * below or beside it. */
static void test_mime_stand_in_parts(void **state)
{
	(void)state;
	static const char no_boundary[] =
		"Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n";
	static const char encoded[] =
		"Content-Type: message/rfc822\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogaGkNCg0K\r\n";
	struct mime_parser *p;
	struct mime_part_map map;
	struct mime_section_range r;
	const uint32_t one[] = { 1 }, two[] = { 2 }, one_one[] = { 1, 1 },
		one_one_one[] = { 1, 1, 1 };
	struct mime_part *root;

	root = mime_parser_parse(no_boundary, sizeof(no_boundary) - 1, &p);
	mime_part_map_init_tree(&map, root);
	assert_int_equal(lookup(&map, one, 1, MIME_SECTION_BODY, &r), 0);
	assert_int_equal(r.offset, root->body_offset);
	assert_int_equal(r.size, 0);
	assert_int_equal(r.vsize, 0);
	assert_int_equal(r.lines, 0);
	assert_int_equal(lookup(&map, one, 1, MIME_SECTION_MIME, &r), 0);
	assert_int_equal(r.offset, root->body_offset);
	assert_int_equal(r.size, 0);
	assert_int_equal(lookup(&map, one, 1, MIME_SECTION_HEADER, &r), -1);
	assert_int_equal(lookup(&map, one, 1, MIME_SECTION_TEXT, &r), -1);
	assert_int_equal(lookup(&map, two, 1, MIME_SECTION_BODY, &r), -1);
	assert_int_equal(lookup(&map, one_one, 2, MIME_SECTION_BODY, &r), -1);
	mime_part_map_deinit(&map);
	mime_parser_destroy(&p);

	root = mime_parser_parse(encoded, sizeof(encoded) - 1, &p);
	mime_part_map_init_tree(&map, root);
	/* part 1 is the message's body, the encoded message itself */
	assert_int_equal(lookup(&map, one, 1, MIME_SECTION_BODY, &r), 0);
	assert_int_equal(r.offset, root->body_offset);
	assert_int_equal(r.size, 22);
	/* not parsed: its HEADER and TEXT are not there, its body is the
	 * empty stand-in */
	assert_int_equal(lookup(&map, one, 1, MIME_SECTION_HEADER, &r), -1);
	assert_int_equal(lookup(&map, one, 1, MIME_SECTION_TEXT, &r), -1);
	assert_int_equal(lookup(&map, one_one, 2, MIME_SECTION_BODY, &r), 0);
	assert_int_equal(r.offset, root->body_offset);
	assert_int_equal(r.size, 0);
	assert_int_equal(lookup(&map, one_one, 2, MIME_SECTION_MIME, &r), 0);
	assert_int_equal(r.size, 0);
	assert_int_equal(lookup(&map, one_one_one, 3, MIME_SECTION_BODY, &r), -1);
	mime_part_map_deinit(&map);
	mime_parser_destroy(&p);
}

static void render_file(const char *name, enum imap_envelope_flags flags,
			struct str *env, struct str *bs)
{
	char *path = xasprintf("%s/%s.eml", MIME_CORPUS_DIR, name);
	size_t len;
	char *msg = read_file(path, &len);
	struct mime_parser *p;
	struct mime_part *root;

	assert_non_null(msg);
	root = mime_parser_parse(msg, len, &p);
	imap_envelope_write(env, root, flags);
	imap_bodystructure_write(bs, root, true, flags);
	mime_parser_destroy(&p);
	free(msg);
	free(path);
}

/* With IMAP_ENVELOPE_FLAG_UTF8 (IMAP4rev2 may send UTF-8 in quoted strings,
 * RFC 9051 4.3 and QUOTED-CHAR) valid UTF-8 is quoted; other 8-bit text
 * stays a literal. */
static void test_mime_corpus_utf8_quoting(void **state)
{
	(void)state;
	struct str env = STR_INIT, bs = STR_INIT;

	render_file("30-utf8-header", IMAP_ENVELOPE_FLAG_UTF8, &env, &bs);
	assert_string_equal(str_c(&env),
		"(NIL \"caf\xc3\xa9 \xe2\x82\xac\" "
		"((\"Fran\xc3\xa7ois\" NIL \"f\" \"example.fr\")) "
		"((\"Fran\xc3\xa7ois\" NIL \"f\" \"example.fr\")) "
		"((\"Fran\xc3\xa7ois\" NIL \"f\" \"example.fr\")) "
		"NIL NIL NIL NIL NIL)");
	str_truncate(&env, 0);
	str_truncate(&bs, 0);
	render_file("29-latin1-header", IMAP_ENVELOPE_FLAG_UTF8, &env, &bs);
	assert_non_null(strstr(str_c(&env), "(NIL {10}\r\ncaf\xe9 cr\xe8me ((" ));
	str_truncate(&env, 0);
	str_truncate(&bs, 0);
	render_file("73-rfc2231-latin1-filename",
		    IMAP_ENVELOPE_FLAG_UTF8 | IMAP_ENVELOPE_FLAG_IMAP4REV2, &env, &bs);
	assert_non_null(strstr(str_c(&bs), "\"name*\" \"r\xc3\xa9sum\xc3\xa9.txt\""));
	str_free(&env);
	str_free(&bs);
}

/* Input that is not a written body structure is refused, never read
 * past its end. */
static void test_body_from_bad_bodystructure(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", "(", ")", "()", "(\"TEXT\")", "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\")",
		"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1",
		"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1) ",
		"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT {5}\r\n1 1)",
		"(\"TEXT\" \"PLAIN\" NIL NIL NIL {99}\r\nx 1 1)",
		"(\"TEXT\" \"PLAIN\" NIL NIL NIL {99999999999999999999}\r\nx 1 1)",
		"(\"TEXT\" \"PLAIN\" (\"A\" \"B\" NIL NIL NIL \"7BIT\" 1 1)",
		"((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)",
		"((\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1))",
		"(\"MESSAGE\" \"RFC822\" NIL NIL NIL \"7BIT\" 1 (NIL) (x",
		"(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 1 1)(",
	};
	struct str dest = STR_INIT;
	static const char good[] = "(\"TEXT\" \"PLAIN\" NIL NIL NIL {4}\r\n7BIT 1 1 NIL NIL NIL NIL)";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		str_truncate(&dest, 0);
		if (imap_bodystructure_to_body(&dest, bad[i], strlen(bad[i])) != -1)
			fail_msg("taken: %s", bad[i]);
	}
	str_truncate(&dest, 0);
	assert_int_equal(imap_bodystructure_to_body(&dest, good, strlen(good)), 0);
	assert_string_equal(str_c(&dest), "(\"TEXT\" \"PLAIN\" NIL NIL NIL {4}\r\n7BIT 1 1)");
	str_free(&dest);
}

/* Stored text nested far deeper than any writer writes (a corrupt cache
 * row) is refused without recursing once per "(": a million parts
 * (body-type-mpart) and a million lists inside a value (body-fld-param). */
static void test_body_from_deep_bodystructure(void **state)
{
	(void)state;
	enum { DEEP = 1000000 };
	static const char *const heads[] = { "", "(\"TEXT\" \"PLAIN\" " };
	struct str src = STR_INIT, dest = STR_INIT;

	for (size_t h = 0; h < sizeof(heads) / sizeof(heads[0]); h++) {
		str_truncate(&src, 0);
		str_append(&src, heads[h]);
		for (int i = 0; i < DEEP; i++)
			str_append_c(&src, '(');
		str_truncate(&dest, 0);
		assert_int_equal(imap_bodystructure_to_body(&dest, src.data,
							    src.len), -1);
		for (int i = 0; i < DEEP; i++)
			str_append_c(&src, ')');
		str_truncate(&dest, 0);
		assert_int_equal(imap_bodystructure_to_body(&dest, src.data,
							    src.len), -1);
	}
	str_free(&src);
	str_free(&dest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mime_corpus),
		cmocka_unit_test(test_mime_stand_in_parts),
		cmocka_unit_test(test_mime_corpus_utf8_quoting),
		cmocka_unit_test(test_body_from_bad_bodystructure),
		cmocka_unit_test(test_body_from_deep_bodystructure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
