/* test-search-parse.c: the IMAP search-program parser (src/imap/
 * search-parse.c) on an empty mailbox: "$" (SEARCHRES), WITHIN, CHARSET
 * conversion and its errors, and sequence-set errors, which once leaked
 * the ranges parsed before the error (found by fuzz-search-parse). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "base/pool.h"
#include "syntax/seqset.h"
#include "base/str.h"
#include "syntax/imap-parser.h"
#include "imap/search-parse.h"
#include "imap/search-result.h"

struct parsed {
	struct imap_parser *parser;
	struct pool *pool;
	struct search_key *program;
	const char *error;
	enum imap_search_parse_result result;
};

/* Parses "t SEARCH <program>\r\n" (raw bytes, literals allowed as {n+})
 * with `saved` as "$". */
static void parse(struct parsed *p, const char *program, size_t len,
		  const struct seqset *saved)
{
	struct str line = STR_INIT;
	str_append(&line, "t SEARCH ");
	str_append_n(&line, program, len);
	str_append(&line, "\r\n");
	p->parser = imap_parser_create(NULL);
	size_t used;
	assert_int_equal(imap_parser_feed(p->parser, (const unsigned char *)line.data,
					  line.len, &used), 1);
	assert_int_equal(used, line.len);
	str_free(&line);
	p->pool = pool_create(1024);
	p->program = NULL;
	p->error = NULL;
	p->result = imap_search_parse_program(p->pool, NULL, saved,
					      imap_parser_command(p->parser)->args,
					      NULL, &p->program, &p->error);
}

static void parsed_free(struct parsed *p)
{
	pool_destroy(&p->pool);
	imap_parser_destroy(&p->parser);
}

/* The single key of a one-key program. */
static const struct search_key *only_key(const struct parsed *p)
{
	if (p->result != IMAP_SEARCH_PARSE_OK)
		fail_msg("parse failed: %s", p->error);
	assert_non_null(p->program->children);
	assert_null(p->program->children->next);
	return p->program->children;
}

static void test_dollar(void **state)
{
	(void)state;
	struct seqset saved = SEQSET_INIT;
	seqset_add_range(&saved, 3, 5);
	seqset_add(&saved, 9);
	const char *forms[] = { "$", "UID $" };
	for (size_t i = 0; i < N_ELEMENTS(forms); i++) {
		struct parsed p;
		parse(&p, forms[i], strlen(forms[i]), &saved);
		/* "$" holds UIDs whatever the form */
		const struct search_key *key = only_key(&p);
		assert_int_equal(key->type, SEARCH_KEY_UID);
		assert_int_equal(key->range_count, 2);
		assert_int_equal(key->ranges[0].first, 3);
		assert_int_equal(key->ranges[0].last, 5);
		assert_int_equal(key->ranges[1].first, 9);
		assert_int_equal(key->ranges[1].last, 9);
		parsed_free(&p);
	}
	/* nothing saved: a valid, empty set */
	struct parsed p;
	parse(&p, "$", 1, NULL);
	assert_int_equal(only_key(&p)->range_count, 0);
	parsed_free(&p);
	seqset_deinit(&saved);
}

static void test_parse_set(void **state)
{
	(void)state;
	struct seqset saved = SEQSET_INIT, set = SEQSET_INIT;
	struct str out = STR_INIT;
	seqset_add_range(&saved, 2, 4);

	/* as UIDs on an empty mailbox: all of them; as msns: none */
	assert_int_equal(imap_search_result_parse_set(NULL, &saved, "$", true, &set), 0);
	seqset_write(&set, &out);
	assert_string_equal(str_c(&out), "2:4");
	assert_int_equal(imap_search_result_parse_set(NULL, &saved, "$", false, &set), 0);
	assert_true(seqset_is_empty(&set));
	assert_int_equal(imap_search_result_parse_set(NULL, NULL, "$", true, &set), 0);
	assert_true(seqset_is_empty(&set));
	/* "$" is the whole set or nothing; an error after ranges were
	 * parsed frees them (run under ASan: no leak) */
	const char *bad[] = { "$,1", "1:$", "1,2,3,$", "1:4,x", "$$", "" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		assert_int_equal(imap_search_result_parse_set(NULL, &saved, bad[i],
							      false, &set), -1);
		assert_true(seqset_is_empty(&set));
	}
	str_free(&out);
	seqset_deinit(&set);
	seqset_deinit(&saved);
}

static void test_set_error_after_ranges(void **state)
{
	(void)state;
	/* the fuzzer's input, reduced */
	const char *in = "CHARSET UTF-8 (OR $ 1,3000:3RT ) TEXT x";
	struct parsed p;
	parse(&p, in, strlen(in), NULL);
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_BAD);
	assert_string_equal(p.error, "Invalid sequence set.");
	parsed_free(&p);
}

static void test_within(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		enum search_key_type type;
		uint64_t number;
	} good[] = {
		{ "OLDER 1", SEARCH_KEY_OLDER, 1 },
		{ "younger 259200", SEARCH_KEY_YOUNGER, 259200 },
		{ "OLDER 4294967295", SEARCH_KEY_OLDER, 4294967295u },
	};
	for (size_t i = 0; i < N_ELEMENTS(good); i++) {
		struct parsed p;
		parse(&p, good[i].in, strlen(good[i].in), NULL);
		const struct search_key *key = only_key(&p);
		assert_int_equal(key->type, good[i].type);
		assert_int_equal(key->number, good[i].number);
		assert_false(search_key_needs_content(key));
		parsed_free(&p);
	}
	const char *bad[] = { "OLDER", "OLDER 0", "YOUNGER 4294967296", "OLDER -1",
			      "YOUNGER 1x", "OLDER \"5\"", "YOUNGER (5)" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct parsed p;
		parse(&p, bad[i], strlen(bad[i]), NULL);
		assert_int_equal(p.result, IMAP_SEARCH_PARSE_BAD);
		parsed_free(&p);
	}
}

/* A year of many digits is refused without overflowing the parse (UBSan
 * found "1-Jan-1777777777970" by fuzzing); a 4-digit one is fine. */
static void test_date_long_year(void **state)
{
	(void)state;
	const char *bad[] = { "SENTSINCE 1-Jan-1777777777970", "ON 1-Jan-99999",
			      "BEFORE \"31-Dec-2147483648\"" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct parsed p;
		parse(&p, bad[i], strlen(bad[i]), NULL);
		assert_int_equal(p.result, IMAP_SEARCH_PARSE_BAD);
		parsed_free(&p);
	}
	struct parsed p;
	parse(&p, "SENTSINCE 1-Jan-2024", strlen("SENTSINCE 1-Jan-2024"), NULL);
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_OK);
	parsed_free(&p);
}

/* One string key with a raw-byte literal; checks the converted value
 * (NULL: the parse must fail with `result`). */
static void check_string(const char *charset, const char *bytes, size_t len,
			 const char *want, enum imap_search_parse_result result)
{
	struct str in = STR_INIT;
	if (charset != NULL)
		str_printfa(&in, "CHARSET %s ", charset);
	str_printfa(&in, "SUBJECT {%zu+}\r\n", len);
	str_append_n(&in, bytes, len);
	struct parsed p;
	parse(&p, in.data, in.len, NULL);
	if (want == NULL) {
		if (p.result != result)
			fail_msg("%s: result %d, want %d", charset, p.result, result);
	} else {
		const struct search_key *key = only_key(&p);
		assert_int_equal(key->type, SEARCH_KEY_HEADER);
		assert_string_equal(key->name, "Subject");
		assert_int_equal(key->value_len, strlen(want));
		assert_memory_equal(key->value, want, key->value_len);
	}
	parsed_free(&p);
	str_free(&in);
}

static void test_charset(void **state)
{
	(void)state;
	check_string(NULL, "caf\xc3\xa9", 5, "caf\xc3\xa9", 0);
	check_string("UTF-8", "caf\xc3\xa9", 5, "caf\xc3\xa9", 0);
	check_string("ISO-8859-1", "\xe9t\xe9", 3, "\xc3\xa9t\xc3\xa9", 0);
	check_string("windows-1252", "\x80", 1, "\xe2\x82\xac", 0);
	check_string("KOI8-R", "\xf0\xd2\xc9", 3, "\xd0\x9f\xd1\x80\xd0\xb8", 0);
	check_string("ISO-2022-JP", "\x1b$B$3\x1b(B", 8, "\xe3\x81\x93", 0);
	check_string("SHIFT_JIS", "\x82\xa0", 2, "\xe3\x81\x82", 0);
	check_string("US-ASCII", "abc", 3, "abc", 0);
	check_string("US-ASCII", "\xc3\xa9", 2, "\xc3\xa9", 0);
	check_string("ISO-8859-1", "", 0, "", 0);
	/* not text in the declared charset: BAD */
	check_string(NULL, "\xe9", 1, NULL, IMAP_SEARCH_PARSE_BAD);
	check_string("UTF-8", "\xed\xa0\x80", 3, NULL, IMAP_SEARCH_PARSE_BAD);
	check_string("US-ASCII", "\xe9t\xe9", 3, NULL, IMAP_SEARCH_PARSE_BAD);
	check_string("SHIFT_JIS", "a\x81", 2, NULL, IMAP_SEARCH_PARSE_BAD);
	check_string("UTF-16LE", "a\0", 2, NULL, IMAP_SEARCH_PARSE_BAD);
	/* unknown charsets: NO with BADCHARSET */
	const char *unknown[] = { "X-UNKNOWN", "UTF-8//IGNORE", "ISO-8859-1*en", "" };
	for (size_t i = 0; i < N_ELEMENTS(unknown); i++) {
		struct str in = STR_INIT;
		str_printfa(&in, "CHARSET \"%s\" ALL", unknown[i]);
		struct parsed p;
		parse(&p, in.data, in.len, NULL);
		assert_int_equal(p.result, IMAP_SEARCH_PARSE_NO);
		assert_true(strncmp(p.error, "[BADCHARSET (UTF-8 US-ASCII ", 28) == 0);
		parsed_free(&p);
		str_free(&in);
	}
}

/* HEADER, BODY and TEXT keys (FROM ... SUBJECT among them), nested or
 * repeated, count towards the limit of 64; other keys do not. */
static void test_text_key_limit(void **state)
{
	static const char *const keys[] = {
		"BODY x", "TEXT x", "HEADER X-A x", "FROM x", "TO x", "CC x", "BCC x",
		"SUBJECT x", "NOT BODY x", "OR BODY x (TEXT y)",
	};

	(void)state;
	for (size_t k = 0; k < N_ELEMENTS(keys); k++) {
		/* an OR counts two keys */
		unsigned int per = k == N_ELEMENTS(keys) - 1 ? 2 : 1;

		for (unsigned int n = 64 / per; n <= 64 / per + 1; n++) {
			struct str in = STR_INIT;
			struct parsed p;

			str_append(&in, "SEEN");
			for (unsigned int i = 0; i < n; i++)
				str_printfa(&in, " %s", keys[k]);
			parse(&p, in.data, in.len, NULL);
			if (n * per <= 64) {
				assert_int_equal(p.result, IMAP_SEARCH_PARSE_OK);
			} else {
				assert_int_equal(p.result, IMAP_SEARCH_PARSE_NO);
				assert_string_equal(p.error, "[LIMIT] Too many text search keys.");
			}
			parsed_free(&p);
			str_free(&in);
		}
	}
	/* a syntax error past the limit is still BAD */
	struct str in = STR_INIT;
	struct parsed p;
	for (unsigned int i = 0; i < 65; i++)
		str_append(&in, "BODY x ");
	str_append(&in, "BOGUS");
	parse(&p, in.data, in.len, NULL);
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_BAD);
	parsed_free(&p);
	str_free(&in);
}

/* Every search key by name, in any case, with the type it makes: the key
 * table is searched by bisection, so one entry out of order would lose
 * keys. */
static void test_every_key(void **state)
{
	(void)state;
	static const struct {
		const char *program;
		enum search_key_type type;
	} keys[] = {
		{ "all", SEARCH_KEY_ALL }, { "Answered", SEARCH_KEY_FLAGS_SET },
		{ "BCC x", SEARCH_KEY_HEADER }, { "before 1-Jan-2000", SEARCH_KEY_BEFORE },
		{ "body x", SEARCH_KEY_BODY }, { "cc x", SEARCH_KEY_HEADER },
		{ "deleted", SEARCH_KEY_FLAGS_SET }, { "draft", SEARCH_KEY_FLAGS_SET },
		{ "flagged", SEARCH_KEY_FLAGS_SET }, { "from x", SEARCH_KEY_HEADER },
		{ "header x y", SEARCH_KEY_HEADER }, { "keyword k", SEARCH_KEY_KEYWORD },
		{ "larger 1", SEARCH_KEY_LARGER }, { "new", SEARCH_KEY_AND },
		{ "not all", SEARCH_KEY_NOT }, { "old", SEARCH_KEY_NOT },
		{ "older 1", SEARCH_KEY_OLDER }, { "on 1-Jan-2000", SEARCH_KEY_ON },
		{ "or all all", SEARCH_KEY_OR }, { "recent", SEARCH_KEY_RECENT },
		{ "seen", SEARCH_KEY_FLAGS_SET },
		{ "sentbefore 1-Jan-2000", SEARCH_KEY_SENTBEFORE },
		{ "senton 1-Jan-2000", SEARCH_KEY_SENTON },
		{ "sentsince 1-Jan-2000", SEARCH_KEY_SENTSINCE },
		{ "since 1-Jan-2000", SEARCH_KEY_SINCE }, { "smaller 1", SEARCH_KEY_SMALLER },
		{ "subject x", SEARCH_KEY_HEADER }, { "text x", SEARCH_KEY_TEXT },
		{ "to x", SEARCH_KEY_HEADER }, { "uid 1", SEARCH_KEY_UID },
		{ "unanswered", SEARCH_KEY_FLAGS_UNSET }, { "undeleted", SEARCH_KEY_FLAGS_UNSET },
		{ "undraft", SEARCH_KEY_FLAGS_UNSET }, { "unflagged", SEARCH_KEY_FLAGS_UNSET },
		{ "unkeyword k", SEARCH_KEY_NOT }, { "unseen", SEARCH_KEY_FLAGS_UNSET },
		{ "younger 1", SEARCH_KEY_YOUNGER }, { "1:*", SEARCH_KEY_MSN },
		{ "(all)", SEARCH_KEY_AND },
		{ "emailid M1_a-Z", SEARCH_KEY_EMAILID }, { "threadid \"T1\"", SEARCH_KEY_THREADID },
		{ "savedbefore 1-Jan-2000", SEARCH_KEY_SAVEDBEFORE },
		{ "savedon 1-Jan-2000", SEARCH_KEY_SAVEDON },
		{ "savedsince 1-Jan-2000", SEARCH_KEY_SAVEDSINCE },
		{ "savedatesupported", SEARCH_KEY_ALL },
	};
	for (size_t i = 0; i < N_ELEMENTS(keys); i++) {
		struct parsed p;
		parse(&p, keys[i].program, strlen(keys[i].program), NULL);
		if (only_key(&p)->type != keys[i].type)
			fail_msg("%s: type %d", keys[i].program, (int)only_key(&p)->type);
		parsed_free(&p);
	}
	static const char *const unknown[] = { "allx", "a", "zzz", "unseenx" };
	for (size_t i = 0; i < N_ELEMENTS(unknown); i++) {
		struct parsed p;
		parse(&p, unknown[i], strlen(unknown[i]), NULL);
		assert_int_equal(p.result, IMAP_SEARCH_PARSE_BAD);
		assert_non_null(strstr(p.error, "Unknown search key"));
		parsed_free(&p);
	}
}

/* RFC 8474 7: objectid = 1*255(ALPHA / DIGIT / "_" / "-"), at the
 * limit and past it */
static void test_objectid(void **state)
{
	struct str program = STR_INIT;
	struct parsed p;

	(void)state;
	str_append(&program, "EMAILID ");
	for (int i = 0; i < 255; i++)
		str_append_c(&program, 'a');
	parse(&p, program.data, program.len, NULL);
	assert_int_equal(only_key(&p)->value_len, 255);
	parsed_free(&p);
	str_append_c(&program, 'a');
	parse(&p, program.data, program.len, NULL);
	assert_int_equal(p.result, IMAP_SEARCH_PARSE_BAD);
	parsed_free(&p);
	static const char *const bad[] = {
		"EMAILID", "EMAILID \"\"", "EMAILID a.b", "THREADID \"a b\"", "THREADID (T1)",
		"EMAILID a+b", "THREADID NIL!",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		parse(&p, bad[i], strlen(bad[i]), NULL);
		assert_int_equal(p.result, IMAP_SEARCH_PARSE_BAD);
		parsed_free(&p);
	}
	str_free(&program);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_objectid),
		cmocka_unit_test(test_dollar),
		cmocka_unit_test(test_parse_set),
		cmocka_unit_test(test_set_error_after_ranges),
		cmocka_unit_test(test_within),
		cmocka_unit_test(test_date_long_year),
		cmocka_unit_test(test_charset),
		cmocka_unit_test(test_text_key_limit),
		cmocka_unit_test(test_every_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
