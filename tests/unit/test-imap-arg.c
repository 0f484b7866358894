/* test-imap-arg.c: the typed argument accessors (src/syntax/imap-arg.c) on
 * arguments made by the real parser: which IMAP grammar element each
 * accessor accepts, that a refused argument leaves the outputs untouched,
 * and the keyword-table lookup. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "syntax/imap-arg.h"
#include "syntax/imap-parser.h"

static struct imap_parser *parser;

/* The arguments of "t X <args>\r\n" (len bytes of args: literals may hold
 * NULs); valid until the next parse or teardown.  Literals over 16 bytes
 * are spooled to a file. */
static const struct imap_arg *parse(const char *args, size_t len)
{
	static const char prefix[] = "t X ";
	size_t used;
	imap_parser_destroy(&parser);
	struct imap_parser_settings set = { .literal_memory_max = 16 };
	parser = imap_parser_create(&set);
	assert_int_equal(imap_parser_feed(parser, (const unsigned char *)prefix,
					  sizeof(prefix) - 1, &used), 0);
	int ret = imap_parser_feed(parser, (const unsigned char *)args, len, &used);
	if (ret == 0 && imap_parser_need_continuation(parser))
		ret = imap_parser_feed(parser, (const unsigned char *)args + used,
				       len - used, &used);
	assert_int_equal(ret, 1);
	return imap_parser_command(parser)->args;
}

#define PARSE(s) parse(s, sizeof(s) - 1)

static int teardown(void **state)
{
	(void)state;
	imap_parser_destroy(&parser);
	return 0;
}

static void test_atom(void **state)
{
	(void)state;
	const struct imap_arg *a = PARSE("Return \"RETURN\" nil\r\n");
	const char *str = "untouched";

	assert_true(imap_arg_get_atom(&a[0], &str));
	assert_string_equal(str, "Return");	/* the client's case */
	assert_true(imap_arg_atom_equals(&a[0], "RETURN"));
	assert_true(imap_arg_atom_equals(&a[0], "return"));
	assert_false(imap_arg_atom_equals(&a[0], "RETURNS"));
	/* a quoted string is never a keyword */
	assert_false(imap_arg_atom_equals(&a[1], "RETURN"));
	str = "untouched";
	assert_false(imap_arg_get_atom(&a[1], &str));
	assert_string_equal(str, "untouched");
	assert_true(imap_arg_is_nil(&a[2]));
	assert_false(imap_arg_is_nil(&a[0]));
	assert_false(imap_arg_is_eol(&a[2]));
	assert_true(imap_arg_is_eol(&a[3]));
	assert_false(imap_arg_get_atom(&a[3], &str));
}

static void test_strings(void **state)
{
	(void)state;
	const struct imap_arg *a = PARSE("atom \"q \\\"x\\\"\" {3+}\r\nlit ~{3+}\r\nbin "
					 "{3+}\r\na\0b NIL (x)\r\n");
	const char *str;
	size_t len = 99;

	/* string = quoted / literal */
	assert_false(imap_arg_get_string(&a[0], &str, &len));
	assert_true(imap_arg_get_string(&a[1], &str, &len));
	assert_string_equal(str, "q \"x\"");
	assert_int_equal(len, 5);
	assert_true(imap_arg_get_string(&a[2], &str, NULL));
	assert_string_equal(str, "lit");
	/* literal8 and NULs are binary, not a string */
	len = 99;
	assert_false(imap_arg_get_string(&a[3], &str, &len));
	assert_false(imap_arg_get_string(&a[4], &str, &len));
	assert_int_equal(len, 99);
	assert_false(imap_arg_get_string(&a[5], &str, NULL));
	assert_false(imap_arg_get_string(&a[6], &str, NULL));

	/* astring adds atoms, NIL included */
	assert_true(imap_arg_get_astring(&a[0], &str, &len));
	assert_string_equal(str, "atom");
	assert_int_equal(len, 4);
	assert_true(imap_arg_get_astring(&a[1], &str, NULL));
	assert_true(imap_arg_get_astring(&a[2], &str, NULL));
	assert_false(imap_arg_get_astring(&a[3], &str, NULL));
	assert_false(imap_arg_get_astring(&a[4], &str, NULL));
	assert_true(imap_arg_get_astring(&a[5], &str, NULL));
	assert_string_equal(str, "NIL");
	assert_false(imap_arg_get_astring(&a[6], &str, NULL));

	/* nstring = string / nil */
	assert_false(imap_arg_get_nstring(&a[0], &str));
	assert_true(imap_arg_get_nstring(&a[1], &str));
	assert_string_equal(str, "q \"x\"");
	assert_true(imap_arg_get_nstring(&a[5], &str));
	assert_null(str);
	assert_false(imap_arg_get_nstring(&a[6], &str));

	/* quoted only */
	assert_true(imap_arg_get_quoted(&a[1], &str));
	assert_false(imap_arg_get_quoted(&a[2], &str));
	assert_false(imap_arg_get_quoted(&a[0], &str));
}

static void test_list(void **state)
{
	(void)state;
	const struct imap_arg *a = PARSE("(a (b) \"c\") () x\r\n");
	const struct imap_arg *list = NULL, *inner;
	unsigned int count = 99;

	assert_true(imap_arg_get_list(&a[0], &list, &count));
	assert_int_equal(count, 3);
	assert_true(imap_arg_atom_equals(&list[0], "A"));
	assert_true(imap_arg_get_list(&list[1], &inner, NULL));
	assert_true(imap_arg_atom_equals(&inner[0], "b"));
	assert_true(imap_arg_is_eol(&inner[1]));
	assert_true(imap_arg_is_eol(&list[3]));
	assert_true(imap_arg_get_list(&a[1], &list, &count));
	assert_int_equal(count, 0);
	assert_true(imap_arg_is_eol(&list[0]));
	count = 99;
	assert_false(imap_arg_get_list(&a[2], &list, &count));
	assert_int_equal(count, 99);
	assert_false(imap_arg_get_list(&a[3], &list, &count));
}

static void test_literals(void **state)
{
	(void)state;
	/* the second literal is over literal_memory_max: spooled */
	const struct imap_arg *a = PARSE("{3+}\r\na\0b ~{20+}\r\n01234567890123456789 "
					 "\"q\" atom\r\n");
	const char *data;
	size_t len;
	uint64_t size = 99;

	assert_true(imap_arg_get_literal_size(&a[0], &size));
	assert_int_equal(size, 3);
	assert_true(imap_arg_get_literal_data(&a[0], &data, &len));
	assert_int_equal(len, 3);
	assert_memory_equal(data, "a\0b", 3);
	assert_true(imap_arg_get_literal_size(&a[1], &size));
	assert_int_equal(size, 20);
	len = 99;
	assert_false(imap_arg_get_literal_data(&a[1], &data, &len));
	assert_int_equal(len, 99);
	assert_true(a[1].fd >= 0);
	assert_false(imap_arg_get_string(&a[1], &data, NULL));

	size = 99;
	assert_false(imap_arg_get_literal_size(&a[2], &size));
	assert_false(imap_arg_get_literal_size(&a[3], &size));
	assert_false(imap_arg_get_literal_size(&a[4], &size));
	assert_int_equal(size, 99);
	assert_false(imap_arg_get_literal_data(&a[2], &data, &len));
}

static void test_keyword_find(void **state)
{
	(void)state;
	static const struct imap_keyword table[] = {
		{ "SUBSCRIBED", 1 }, { "SPECIAL-USE", 8 }, { "X", 0 },
	};
	unsigned int value = 99;

	assert_true(imap_keyword_find(table, N_ELEMENTS(table), "special-use", &value));
	assert_int_equal(value, 8);
	assert_true(imap_keyword_find(table, N_ELEMENTS(table), "Subscribed", &value));
	assert_int_equal(value, 1);
	assert_true(imap_keyword_find(table, N_ELEMENTS(table), "x", &value));
	assert_int_equal(value, 0);
	value = 99;
	assert_false(imap_keyword_find(table, N_ELEMENTS(table), "SUBSCRIBE", &value));
	assert_false(imap_keyword_find(table, N_ELEMENTS(table), "", &value));
	assert_false(imap_keyword_find(table, 0, "X", &value));
	assert_int_equal(value, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_atom, teardown),
		cmocka_unit_test_teardown(test_strings, teardown),
		cmocka_unit_test_teardown(test_list, teardown),
		cmocka_unit_test_teardown(test_literals, teardown),
		cmocka_unit_test(test_keyword_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
