/* test-json.c: the strict JSON parser (RFC 8259): every value type,
 * escapes and surrogates, what strictness refuses, UTF-8, the depth and
 * size limits at and just past their values, every truncation of a
 * document, and json_append_string(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/str.h"

static int json_test_parse(const char *text, struct json_value **v_r)
{
	const char *error = NULL;
	int ret = json_parse(text, strlen(text), 1024 * 1024, JSON_DEFAULT_MAX_DEPTH, v_r, &error);
	if (ret < 0)
		assert_non_null(error);
	return ret;
}

static void json_test_bad(const char *text)
{
	struct json_value *v = (struct json_value *)1;
	if (json_test_parse(text, &v) == 0)
		fail_msg("accepted: %s", text);
	assert_null(v);
}

static void test_json_values(void **state)
{
	(void)state;
	struct json_value *v;

	assert_int_equal(json_test_parse(" {\"a\": [1, -2.5e3, true, false, null, \"x\"],"
					 " \"b\": {}, \"c\": [], \"d\": 0}\r\n", &v), 0);
	assert_int_equal(v->type, JSON_OBJECT);
	assert_int_equal(v->u.object.count, 4);
	const struct json_value *a = json_object_get(v, "a");
	assert_non_null(a);
	assert_int_equal(a->type, JSON_ARRAY);
	assert_int_equal(a->u.array.count, 6);
	assert_true(a->u.array.items[0]->u.number == 1);
	assert_true(a->u.array.items[1]->u.number == -2500);
	assert_int_equal(a->u.array.items[2]->type, JSON_TRUE);
	assert_int_equal(a->u.array.items[3]->type, JSON_FALSE);
	assert_int_equal(a->u.array.items[4]->type, JSON_NULL);
	assert_string_equal(a->u.array.items[5]->u.string.data, "x");
	assert_int_equal(json_object_get(v, "b")->type, JSON_OBJECT);
	assert_int_equal(json_object_get(v, "c")->u.array.count, 0);
	assert_null(json_object_get(v, "e"));
	assert_null(json_object_get_string(v, "a"));
	assert_null(json_object_get(a, "a"));
	json_free(&v);
	assert_null(v);
	json_free(&v);

	/* scalars at the top level (RFC 8259 allows any value) */
	assert_int_equal(json_test_parse("\"\"", &v), 0);
	assert_int_equal(v->u.string.len, 0);
	assert_string_equal(v->u.string.data, "");
	json_free(&v);
	assert_int_equal(json_test_parse("1.5E+2", &v), 0);
	assert_true(v->u.number == 150);
	json_free(&v);
	assert_int_equal(json_test_parse("-0", &v), 0);
	json_free(&v);
	/* NumericDate values are exact */
	assert_int_equal(json_test_parse("1765000000", &v), 0);
	assert_true(v->u.number == 1765000000.0);
	json_free(&v);
}

static void test_json_strings(void **state)
{
	(void)state;
	struct json_value *v;

	assert_int_equal(json_test_parse("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC\"", &v), 0);
	assert_string_equal(v->u.string.data, "\"\\/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac");
	json_free(&v);
	/* a surrogate pair: U+1F600 */
	assert_int_equal(json_test_parse("\"\\ud83d\\ude00\"", &v), 0);
	assert_string_equal(v->u.string.data, "\xf0\x9f\x98\x80");
	json_free(&v);
	/* raw UTF-8 passes */
	assert_int_equal(json_test_parse("\"gr\xc3\xbc\xc3\x9f\"", &v), 0);
	json_free(&v);
	/* \u0000 is kept with its length, and get_string refuses it */
	assert_int_equal(json_test_parse("{\"k\":\"a\\u0000b\"}", &v), 0);
	assert_int_equal(json_object_get(v, "k")->u.string.len, 3);
	assert_null(json_object_get_string(v, "k"));
	json_free(&v);

	json_test_bad("\"\\ud83d\"");		/* lone high surrogate */
	json_test_bad("\"\\ud83dx\"");
	json_test_bad("\"\\ud83d\\u0041\"");	/* high + not low */
	json_test_bad("\"\\ude00\"");		/* lone low surrogate */
	json_test_bad("\"\\u12\"");
	json_test_bad("\"\\u12G4\"");
	json_test_bad("\"\\x\"");
	json_test_bad("\"\\'\"");
	json_test_bad("\"a\nb\"");		/* raw control character */
	json_test_bad("\"a\tb\"");
	json_test_bad("\"\xc3\"");		/* truncated UTF-8 */
	json_test_bad("\"\xc0\xaf\"");		/* overlong */
	json_test_bad("\"\xed\xa0\x80\"");	/* encoded surrogate */
	json_test_bad("\"\xff\"");
	json_test_bad("'single'");
	json_test_bad("\"unterminated");
	json_test_bad("\"ends in escape\\");
	json_test_bad("{\"a\\u0000\":1}");	/* NUL in a member name */
}

static void test_json_strict(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", " ", "{", "}", "[", "]", "[1,]", "[,1]", "{\"a\":1,}", "{,}", "{\"a\"}",
		"{\"a\" 1}", "{a:1}", "{1:1}", "[1 2]", "01", "-", "+1", "1.", ".5", "1e", "1e+",
		"0x10", "NaN", "Infinity", "-Infinity", "tru", "nul", "True", "null x", "{} {}",
		"[1]]", "/* c */ 1", "1 // c", "\"a\" \"b\"", "{\"a\":1,\"a\":2}",
		"{\"a\":{\"b\":1,\"b\":1}}", "\xef\xbb\xbf{}", "[\"a\"\x00]",
		"[1e999999999999999999999999999999999999999999999999999999999999999999999]",
		"1e999", "-1e999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		json_test_bad(bad[i]);

	/* a NUL byte inside the input is not white space */
	struct json_value *v;
	const char *error;
	assert_int_equal(json_parse("{}\0", 3, 100, 4, &v, &error), -1);
	assert_null(v);
}

static void test_json_limits(void **state)
{
	(void)state;
	struct json_value *v;
	const char *error;
	char deep[200];

	/* depth: max_depth levels pass, one more fails */
	for (unsigned int depth = 1; depth <= 40; depth++) {
		/* objects need a member: [{"a":[{"a":...}]}] */
		size_t n = 0;
		for (unsigned int i = 0; i < depth; i++) {
			if (i % 2 == 0) {
				deep[n++] = '[';
			} else {
				memcpy(deep + n, "{\"a\":", 5);
				n += 5;
			}
		}
		deep[n++] = '1';
		for (unsigned int i = depth; i-- > 0;)
			deep[n++] = i % 2 == 0 ? ']' : '}';
		int ret = json_parse(deep, n, 1000, 32, &v, &error);
		if (depth <= 32) {
			assert_int_equal(ret, 0);
			json_free(&v);
		} else {
			assert_int_equal(ret, -1);
			assert_string_equal(error, "nested too deeply");
		}
	}
	/* a hostile depth does not exhaust the stack */
	size_t big = 1000000;
	char *brackets = malloc(big);
	memset(brackets, '[', big);
	assert_int_equal(json_parse(brackets, big, big, 32, &v, &error), -1);
	free(brackets);

	/* size: max_len passes, one byte more fails */
	assert_int_equal(json_parse("[1,2]", 5, 5, 4, &v, &error), 0);
	json_free(&v);
	assert_int_equal(json_parse("[1,2] ", 6, 5, 4, &v, &error), -1);
	assert_string_equal(error, "JSON text too long");
	/* the number length limit: 63 characters pass, 64 fail */
	char num[70];
	memset(num, '1', sizeof(num));
	assert_int_equal(json_parse(num, 63, 100, 4, &v, &error), 0);
	json_free(&v);
	assert_int_equal(json_parse(num, 64, 100, 4, &v, &error), -1);
}

/* Every proper prefix of a document is refused (except prefixes that are
 * complete numbers), without reading past it. */
static void test_json_truncated(void **state)
{
	(void)state;
	static const char doc[] =
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"x\":[true,false,null,-1.5e-3]},"
		"\"\\u00e9\\ud83d\\ude00\"]}";
	struct json_value *v;
	const char *error;

	for (size_t len = 0; len < sizeof(doc) - 1; len++) {
		char *copy = malloc(len + 1);
		memcpy(copy, doc, len);
		assert_int_equal(json_parse(copy, len, 1000, 8, &v, &error), -1);
		assert_null(v);
		free(copy);
	}
	assert_int_equal(json_parse(doc, sizeof(doc) - 1, 1000, 8, &v, &error), 0);
	json_free(&v);
}

static void test_json_append_string(void **state)
{
	(void)state;
	struct str s = STR_INIT;
	struct json_value *v;

	json_append_string(&s, "a\"b\\c\n\x01\xc3\xa9");
	assert_string_equal(str_c(&s), "\"a\\\"b\\\\c\\u000a\\u0001\xc3\xa9\"");
	/* round trip */
	assert_int_equal(json_test_parse(str_c(&s), &v), 0);
	assert_string_equal(v->u.string.data, "a\"b\\c\n\x01\xc3\xa9");
	json_free(&v);
	str_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_values),
		cmocka_unit_test(test_json_strings),
		cmocka_unit_test(test_json_strict),
		cmocka_unit_test(test_json_limits),
		cmocka_unit_test(test_json_truncated),
		cmocka_unit_test(test_json_append_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
