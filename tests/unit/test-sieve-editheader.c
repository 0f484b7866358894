/* test-sieve-editheader.c: header fields as raw bytes (src/sieve/fields.c)
 * and the addheader/deleteheader edits of RFC 5293 (src/sieve/editheader.c):
 * the RFC's examples of sections 5 and 7, the section 6 protections, the
 * errors an interpreter reports, RFC 2047 encoding and folding of added
 * values, and messages with LF or CRLF line ends or no body. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/str.h"
#include "mime/header.h"
#include "sieve/editheader.h"
#include "sieve/fields.h"

static const char msg_crlf[] =
	"Received: from a by b; Mon, 7 Dec 2026 10:00:00 +0000\r\n"
	"X-Hello: one\r\n"
	"Subject: Hi\r\n"
	"X-Hello: two\r\n"
	"  folded\r\n"
	"Delivered-To: bob@example.com\r\n"
	"X-Hello: three\r\n"
	"\r\n"
	"Body\r\n";

static void test_parse_fields(void **state)
{
	struct sieve_header hdr;
	struct str v = STR_INIT;

	(void)state;
	sieve_fields_parse(msg_crlf, strlen(msg_crlf), &hdr);
	assert_int_equal(hdr.count, 6);
	assert_true(hdr.crlf);
	assert_false(hdr.unterminated);
	assert_true(sieve_fields_name_is(&hdr.fields[3], "x-hello"));
	sieve_fields_value(&hdr.fields[3], &v);
	assert_string_equal(str_c(&v), "two  folded");
	assert_memory_equal(msg_crlf + hdr.body, "Body\r\n", 6);
	assert_memory_equal(msg_crlf + hdr.end, "\r\nBody", 6);
	sieve_fields_free(&hdr);

	/* no empty line, last line unterminated, a line without ":" */
	sieve_fields_parse("A: 1\nnot a field\nB: 2", 21, &hdr);
	assert_int_equal(hdr.count, 2);
	assert_false(hdr.crlf);
	assert_true(hdr.unterminated);
	assert_int_equal(hdr.end, 21);
	assert_int_equal(hdr.body, 21);
	sieve_fields_free(&hdr);

	/* a message that starts with its empty line has no fields */
	sieve_fields_parse("\r\nbody", 6, &hdr);
	assert_int_equal(hdr.count, 0);
	assert_int_equal(hdr.end, 0);
	assert_int_equal(hdr.body, 2);
	sieve_fields_free(&hdr);
	str_free(&v);
}

static void test_name_and_value_checks(void **state)
{
	(void)state;
	assert_true(sieve_fields_name_is_valid("X-Sieve-Filtered"));
	assert_true(sieve_fields_name_is_valid("~!"));
	assert_false(sieve_fields_name_is_valid(""));
	assert_false(sieve_fields_name_is_valid("X Y"));
	assert_false(sieve_fields_name_is_valid("X:Y"));
	assert_false(sieve_fields_name_is_valid("X\xc3\xa9"));
	assert_true(sieve_fields_value_is_valid("a\r\n b", 5));
	assert_true(sieve_fields_value_is_valid("a\n\tb", 4));
	assert_false(sieve_fields_value_is_valid("a\r\nb", 4));
	assert_false(sieve_fields_value_is_valid("a\rb", 3));
	assert_false(sieve_fields_value_is_valid("a\n", 2));
	assert_false(sieve_fields_value_is_valid("a\0b", 3));
	assert_false(sieve_fields_value_is_valid("\xff", 1));
	assert_true(sieve_fields_value_is_valid("caf\xc3\xa9", 5));
}

/* Writes a field and checks that it reads back as `value` unfolded
 * and decoded, and that no line passes 78 characters. */
static void check_write(const char *name, const char *value, const char *expect)
{
	struct str out = STR_INIT, back = STR_INIT;
	struct sieve_header hdr;

	sieve_fields_write(&out, name, value, strlen(value), true);
	if (expect != NULL)
		assert_string_equal(str_c(&out), expect);
	str_append(&out, "\r\n");
	sieve_fields_parse(out.data, out.len, &hdr);
	assert_int_equal(hdr.count, 1);
	sieve_fields_value_utf8(&hdr.fields[0], &back);
	assert_string_equal(str_c(&back), value);
	for (const char *l = out.data, *e; (e = strstr(l, "\r\n")) != NULL; l = e + 2)
		assert_true(e - l <= 78 || strchr(value, ' ') == NULL);
	sieve_fields_free(&hdr);
	str_free(&out);
	str_free(&back);
}

static void test_write(void **state)
{
	(void)state;
	check_write("X-Sieve-Filtered", "<kim@job.example.com>",
		    "X-Sieve-Filtered: <kim@job.example.com>\r\n");
	check_write("Subject", "caf\xc3\xa9", "Subject: =?UTF-8?B?Y2Fmw6k=?=\r\n");
	check_write("X-Empty", "", "X-Empty:\r\n");
	/* long ASCII text folds at white space */
	check_write("X-Long", "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk "
		    "llll mmmm nnnn oooo pppp qqqq rrrr ssss tttt", NULL);
	/* long UTF-8 text becomes several encoded words, characters whole */
	check_write("Subject", "\xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 "
		    "\xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 "
		    "\xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9 \xc3\xa9t\xc3\xa9", NULL);
}

static void test_add_rfc_example(void **state)
{
	struct str out = STR_INIT;
	const char *error = NULL;

	(void)state;
	/* RFC 5293 4: addheader "X-Sieve-Filtered" "<kim@job.example.com>" */
	assert_int_equal(sieve_editheader_add(msg_crlf, strlen(msg_crlf), "X-Sieve-Filtered",
					      "<kim@job.example.com>", 21, false, &out, &error), 1);
	assert_true(strncmp(str_c(&out), "X-Sieve-Filtered: <kim@job.example.com>\r\nReceived:", 50) == 0);
	assert_int_equal(out.len, strlen(msg_crlf) + 41);
	str_truncate(&out, 0);
	/* :last goes after the last field, before the empty line */
	assert_int_equal(sieve_editheader_add(msg_crlf, strlen(msg_crlf), "X-Last", "v", 1,
					      true, &out, &error), 1);
	assert_non_null(strstr(str_c(&out), "X-Hello: three\r\nX-Last: v\r\n\r\nBody\r\n"));
	str_truncate(&out, 0);
	/* a message without a line break gets CRLF; an unterminated last line is ended first */
	assert_int_equal(sieve_editheader_add("A: 1", 4, "B", "2", 1, true, &out, &error), 1);
	assert_string_equal(str_c(&out), "A: 1\r\nB: 2\r\n");
	str_free(&out);
}

static void test_add_errors_and_policy(void **state)
{
	struct str out = STR_INIT;
	const char *error = NULL;
	char big[SIEVE_EDITHEADER_MAX_VALUE + 2];

	(void)state;
	assert_int_equal(sieve_editheader_add("A: 1\n\n", 6, "Bad Name", "v", 1, false, &out, &error), -1);
	assert_non_null(strstr(error, "field name"));
	assert_int_equal(sieve_editheader_add("A: 1\n\n", 6, "X", "a\nb", 3, false, &out, &error), -1);
	assert_int_equal(sieve_editheader_add("A: 1\n\n", 6, "X", "a\0b", 3, false, &out, &error), -1);
	memset(big, 'a', sizeof(big));
	assert_int_equal(sieve_editheader_add("A: 1\n\n", 6, "X", big, SIEVE_EDITHEADER_MAX_VALUE,
					      false, &out, &error), 1);
	str_truncate(&out, 0);
	assert_int_equal(sieve_editheader_add("A: 1\n\n", 6, "X", big, SIEVE_EDITHEADER_MAX_VALUE + 1,
					      false, &out, &error), -1);
	assert_int_equal(out.len, 0);
	/* RFC 5703 5: Original-Subject/From are the system's; silently ignored */
	assert_int_equal(sieve_editheader_add("A: 1\n\n", 6, "original-subject", "x", 1, false,
					      &out, &error), 0);
	assert_string_equal(str_c(&out), "A: 1\n\n");
	str_truncate(&out, 0);
	/* RFC 5293 6: Subject MUST be permitted; adding Received is not forbidden */
	assert_true(sieve_editheader_may_add("Subject"));
	assert_true(sieve_editheader_may_delete("subject"));
	assert_true(sieve_editheader_may_add("Received"));
	assert_false(sieve_editheader_may_delete("RECEIVED"));
	assert_false(sieve_editheader_may_delete("Auto-Submitted"));
	/* a folded value is accepted and refolded */
	assert_int_equal(sieve_editheader_add("\n", 1, "X", "a\r\n b", 5, false, &out, &error), 1);
	assert_string_equal(str_c(&out), "X: a b\n\n");
	str_free(&out);
}

static int match_bob(void *ctx, const char *value, size_t len)
{
	(*(unsigned int *)ctx)++;
	assert_int_equal(strlen(value), len);
	return strstr(value, "bob@example.com") != NULL ? 1 : 0;
}

static int match_fail(void *ctx, const char *value, size_t len)
{
	(void)ctx;
	(void)value;
	(void)len;
	return -1;
}

static int del(const char *data, const char *name, unsigned int index, bool last,
	       struct str *out)
{
	struct sieve_editheader_delete d = { .name = name, .index = index, .last = last };
	const char *error;

	str_truncate(out, 0);
	return sieve_editheader_delete(data, strlen(data), &d, out, &error);
}

static void test_delete(void **state)
{
	struct str out = STR_INIT, out2 = STR_INIT;
	const char *error = NULL;
	unsigned int calls = 0;
	struct sieve_editheader_delete d = { .name = "Delivered-To", .index = 1,
		.match = match_bob, .ctx = &calls };

	(void)state;
	/* every occurrence, folded lines included */
	assert_int_equal(del(msg_crlf, "x-hello", 0, false, &out), 3);
	assert_null(strstr(str_c(&out), "X-Hello"));
	assert_null(strstr(str_c(&out), "folded"));
	assert_non_null(strstr(str_c(&out), "Subject: Hi\r\nDelivered-To:"));
	/* :index 2 and :index 1 :last */
	assert_int_equal(del(msg_crlf, "X-Hello", 2, false, &out), 1);
	assert_null(strstr(str_c(&out), "two"));
	assert_non_null(strstr(str_c(&out), "three"));
	assert_int_equal(del(msg_crlf, "X-Hello", 1, true, &out), 1);
	assert_null(strstr(str_c(&out), "three"));
	assert_non_null(strstr(str_c(&out), "two"));
	/* an index past the count is not an error */
	assert_int_equal(del(msg_crlf, "X-Hello", 4, false, &out), 0);
	assert_string_equal(str_c(&out), msg_crlf);
	assert_int_equal(del(msg_crlf, "X-Hello", 4, true, &out), 0);
	/* RFC 5293 5: deleteheader :index 1 :contains "Delivered-To" "bob@example.com" */
	str_truncate(&out, 0);
	assert_int_equal(sieve_editheader_delete(msg_crlf, strlen(msg_crlf), &d, &out, &error), 1);
	assert_int_equal(calls, 1);
	assert_null(strstr(str_c(&out), "Delivered-To"));
	/* RFC 5293 6: Received and Auto-Submitted are silently kept */
	assert_int_equal(del(msg_crlf, "Received", 0, false, &out), 0);
	assert_string_equal(str_c(&out), msg_crlf);
	/* errors */
	assert_int_equal(del(msg_crlf, "X-Hello", 0, true, &out), -1);
	assert_int_equal(del(msg_crlf, "", 0, false, &out), -1);
	d.match = match_fail;
	str_truncate(&out, 0);
	assert_int_equal(sieve_editheader_delete(msg_crlf, strlen(msg_crlf), &d, &out, &error), -1);
	assert_int_equal(out.len, 0);
	str_free(&out);
	str_free(&out2);
}

/* RFC 5293 7: addheader then deleteheader :index 1 leaves it unchanged;
 * two :index 1/:index 2 deletes remove the first and third. */
static void test_section7_examples(void **state)
{
	struct str a = STR_INIT, b = STR_INIT;
	const char *error = NULL;
	struct sieve_editheader_delete d = { .name = "X-Hello", .index = 1 };

	(void)state;
	assert_int_equal(sieve_editheader_add(msg_crlf, strlen(msg_crlf), "X-Hello", "World", 5,
					      false, &a, &error), 1);
	assert_int_equal(sieve_editheader_delete(a.data, a.len, &d, &b, &error), 1);
	assert_string_equal(str_c(&b), msg_crlf);

	str_truncate(&a, 0);
	str_truncate(&b, 0);
	assert_int_equal(sieve_editheader_delete(msg_crlf, strlen(msg_crlf), &d, &a, &error), 1);
	d.index = 2;
	assert_int_equal(sieve_editheader_delete(a.data, a.len, &d, &b, &error), 1);
	assert_null(strstr(str_c(&b), "one"));
	assert_non_null(strstr(str_c(&b), "two"));
	assert_null(strstr(str_c(&b), "three"));
	str_free(&a);
	str_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_fields),
		cmocka_unit_test(test_name_and_value_checks),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_add_rfc_example),
		cmocka_unit_test(test_add_errors_and_policy),
		cmocka_unit_test(test_delete),
		cmocka_unit_test(test_section7_examples),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
