/* test-imap-quote.c: atom, quoted and literal forms of response strings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "syntax/imap-quote.h"

enum kind { ASTRING, STRING, NSTRING };

static void check_n(enum kind kind, const char *in, size_t len,
		    enum imap_quote_flags flags, const char *expected)
{
	struct str s = STR_INIT;

	str_append(&s, "x ");
	switch (kind) {
	case ASTRING:
		imap_quote_astring(&s, in, len, flags);
		break;
	case STRING:
		imap_quote_string(&s, in, len, flags);
		break;
	case NSTRING:
		imap_quote_nstring(&s, in, len, flags);
		break;
	}
	assert_int_equal(s.len, strlen(expected) + 2);
	assert_string_equal(s.data + 2, expected);
	str_free(&s);
}

static void check(enum kind kind, const char *in, enum imap_quote_flags flags,
		  const char *expected)
{
	check_n(kind, in, in == NULL ? 0 : strlen(in), flags, expected);
}

static void test_astring(void **state)
{
	(void)state;
	check(ASTRING, "INBOX", 0, "INBOX");
	check(ASTRING, "a.b/c-d_e~f", 0, "a.b/c-d_e~f");
	/* "]" is an ASTRING-CHAR, "[" an ATOM-CHAR */
	check(ASTRING, "a]b[", 0, "a]b[");
	check(ASTRING, "]", 0, "]");
	/* every atom-special but "]" forces quoting */
	check(ASTRING, "", 0, "\"\"");
	check(ASTRING, "a b", 0, "\"a b\"");
	check(ASTRING, "a(", 0, "\"a(\"");
	check(ASTRING, "a)", 0, "\"a)\"");
	check(ASTRING, "a{", 0, "\"a{\"");
	check(ASTRING, "a%", 0, "\"a%\"");
	check(ASTRING, "a*", 0, "\"a*\"");
	check(ASTRING, "a\"b", 0, "\"a\\\"b\"");
	check(ASTRING, "a\\b", 0, "\"a\\\\b\"");
	check(ASTRING, "a\tb", 0, "\"a\tb\"");
	check(ASTRING, "a\x7f", 0, "\"a\x7f\"");
	/* NIL would read as nil */
	check(ASTRING, "NIL", 0, "\"NIL\"");
	check(ASTRING, "nil", 0, "\"nil\"");
	check(ASTRING, "NILS", 0, "NILS");
	/* no CR/LF in quoted strings: literal */
	check(ASTRING, "a\r\nb", 0, "{4}\r\na\r\nb");
	/* 8-bit: literal, or quoted with UTF-8 */
	check(ASTRING, "Entw\xc3\xbcrfe", 0, "{9}\r\nEntw\xc3\xbcrfe");
	check(ASTRING, "Entw\xc3\xbcrfe", IMAP_QUOTE_FLAG_UTF8,
	      "\"Entw\xc3\xbcrfe\"");
	/* the _c variants */
	struct str s = STR_INIT;
	imap_quote_astring_c(&s, "a b", 0);
	imap_quote_string_c(&s, "x", 0);
	imap_quote_nstring_c(&s, NULL, 0);
	imap_quote_nstring_c(&s, "NIL", 0);
	assert_string_equal(str_c(&s), "\"a b\"\"x\"NIL\"NIL\"");
	str_free(&s);
}

static void test_string(void **state)
{
	(void)state;
	check(STRING, "INBOX", 0, "\"INBOX\"");
	check(STRING, "", 0, "\"\"");
	check(STRING, "say \"hi\" \\o/", 0, "\"say \\\"hi\\\" \\\\o/\"");
	check(STRING, "\"", 0, "\"\\\"\"");
	check(STRING, "a\rb", 0, "{3}\r\na\rb");
	check(STRING, "a\nb", 0, "{3}\r\na\nb");
	struct str nul = STR_INIT;
	imap_quote_string(&nul, "a\0b", 3, IMAP_QUOTE_FLAG_UTF8);
	assert_int_equal(nul.len, 8);
	assert_memory_equal(nul.data, "{3}\r\na\0b", 8);
	str_free(&nul);
	check(STRING, "\xe6\x97\xa5\xe6\x9c\xac", IMAP_QUOTE_FLAG_UTF8,
	      "\"\xe6\x97\xa5\xe6\x9c\xac\"");
	check(STRING, "\xf0\x9f\x90\xa6", IMAP_QUOTE_FLAG_UTF8,
	      "\"\xf0\x9f\x90\xa6\"");
	/* invalid UTF-8 is never quoted */
	check(STRING, "\xc3", IMAP_QUOTE_FLAG_UTF8, "{1}\r\n\xc3");
	check(STRING, "\xc0\x80", IMAP_QUOTE_FLAG_UTF8, "{2}\r\n\xc0\x80");
	check(STRING, "\xe0\x80\x80", IMAP_QUOTE_FLAG_UTF8, "{3}\r\n\xe0\x80\x80");
	check(STRING, "\xed\xa0\x80", IMAP_QUOTE_FLAG_UTF8, "{3}\r\n\xed\xa0\x80");
	check(STRING, "\xf4\x90\x80\x80", IMAP_QUOTE_FLAG_UTF8,
	      "{4}\r\n\xf4\x90\x80\x80");
	check(STRING, "\xf5\x80\x80\x80", IMAP_QUOTE_FLAG_UTF8,
	      "{4}\r\n\xf5\x80\x80\x80");
	check(STRING, "\xe6\x97", IMAP_QUOTE_FLAG_UTF8, "{2}\r\n\xe6\x97");
	check(STRING, "\xe6\x97x", IMAP_QUOTE_FLAG_UTF8, "{3}\r\n\xe6\x97x");

	/* long strings at and just past the quoted limit */
	char *buf = xmalloc(IMAP_QUOTE_MAX_QUOTED_LEN + 2);
	memset(buf, 'a', IMAP_QUOTE_MAX_QUOTED_LEN + 1);
	buf[IMAP_QUOTE_MAX_QUOTED_LEN] = '\0';
	struct str s = STR_INIT;
	imap_quote_string_c(&s, buf, 0);
	assert_int_equal(s.len, IMAP_QUOTE_MAX_QUOTED_LEN + 2);
	assert_int_equal(s.data[0], '"');
	str_truncate(&s, 0);
	buf[IMAP_QUOTE_MAX_QUOTED_LEN] = 'a';
	buf[IMAP_QUOTE_MAX_QUOTED_LEN + 1] = '\0';
	imap_quote_string_c(&s, buf, 0);
	assert_true(str_has_prefix_icase(str_c(&s), "{1025}\r\naaa"));
	/* an astring's atom form has no length limit */
	str_truncate(&s, 0);
	imap_quote_astring_c(&s, buf, 0);
	assert_int_equal(s.len, IMAP_QUOTE_MAX_QUOTED_LEN + 1);
	str_free(&s);
	free(buf);
}

static void test_nstring(void **state)
{
	(void)state;
	check(NSTRING, NULL, 0, "NIL");
	check(NSTRING, "", 0, "\"\"");
	check(NSTRING, "NIL", 0, "\"NIL\"");
	check(NSTRING, "a\r\n", 0, "{3}\r\na\r\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_astring),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_nstring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
