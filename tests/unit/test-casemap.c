/* test-casemap.c: i;unicode-casemap (RFC 5051) and i;ascii-casemap
 * (RFC 4790 section 9.2): preparation, ordering, substring, invalid
 * UTF-8. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "base/casemap.h"

/* Prepares `in` and compares with `expected` (both NUL-terminated). */
static void check_unicode(const char *in, const char *expected, bool valid)
{
	struct str out = STR_INIT;

	str_append(&out, "keep:");	/* the preparation appends */
	bool ret = casemap_unicode(in, strlen(in), &out);
	if (ret != valid)
		fail_msg("\"%s\": valid %d, expected %d", in, ret, valid);
	assert_int_equal(out.len, 5 + strlen(expected));
	assert_memory_equal(out.data, "keep:", 5);
	assert_memory_equal(out.data + 5, expected, strlen(expected));
	str_free(&out);
}

static void test_unicode_prepare(void **state)
{
	(void)state;
	check_unicode("", "", true);
	check_unicode("abc XYZ 123 [_]~", "ABC XYZ 123 [_]~", true);
	/* RFC 5051 section 2's example: U+01C4 titlecases to U+01C5, which
	 * decomposes to U+0044 U+017E, and U+017E to U+007A U+030C; the
	 * "z" stays small: step (2)(a) runs before (2)(b), once */
	check_unicode("\xc7\x84", "D" "z" "\xcc\x8c", true);
	check_unicode("\xc7\x86", "D" "z" "\xcc\x8c", true);	/* U+01C6 */
	check_unicode("\xc7\x85", "D" "z" "\xcc\x8c", true);	/* U+01C5 */
	/* U+00E9 e-acute: titlecase U+00C9, decomposed E + U+0301 */
	check_unicode("\xc3\xa9", "E\xcc\x81", true);
	check_unicode("e\xcc\x81", "E\xcc\x81", true);	/* already decomposed */
	/* U+00DF sharp s has no simple titlecase mapping: unchanged, not
	 * "SS" (that would be full case folding, which RFC 5051 is not) */
	check_unicode("\xc3\x9f", "\xc3\x9f", true);
	/* final sigma U+03C2 and sigma U+03C3 both titlecase to U+03A3 */
	check_unicode("\xcf\x82", "\xce\xa3", true);
	check_unicode("\xcf\x83", "\xce\xa3", true);
	/* compatibility decompositions: U+FB01 "fi" ligature, U+2460
	 * circled one, U+FF21 fullwidth A, U+00BD one half */
	/* ... whose results are not titlecased again: U+FB01 (the "fi"
	 * ligature) has no simple titlecase mapping and decomposes to a
	 * small "fi" (RFC-literal; Dovecot does the same) */
	check_unicode("\xef\xac\x81", "fi", true);
	check_unicode("\xe2\x91\xa0", "1", true);
	check_unicode("\xef\xbc\xa1", "A", true);
	check_unicode("\xc2\xbd", "1\xe2\x81\x84" "2", true);
	/* Hangul syllable U+D55C decomposes to its jamo (NFKD) */
	check_unicode("\xed\x95\x9c", "\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab",
		      true);
	/* 4-byte sequence without mapping: U+1F600 */
	check_unicode("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80", true);
	/* U+10400 DESERET CAPITAL LONG I / U+10428 small */
	check_unicode("\xf0\x90\x90\xa8", "\xf0\x90\x90\x80", true);
}

static void test_unicode_invalid(void **state)
{
	(void)state;
	/* RFC 5051 (1)(b): invalid input is used unchanged (i;octet),
	 * partial results discarded */
	check_unicode("abc\xff", "abc\xff", false);
	check_unicode("abc\xc3", "abc\xc3", false);		/* truncated */
	check_unicode("\xc0\xaf", "\xc0\xaf", false);		/* overlong / */
	check_unicode("\xe0\x80\xaf", "\xe0\x80\xaf", false);	/* overlong */
	check_unicode("\xf0\x80\x80\xaf", "\xf0\x80\x80\xaf", false);
	check_unicode("\xed\xa0\x80", "\xed\xa0\x80", false);	/* surrogate */
	check_unicode("\xf4\x90\x80\x80", "\xf4\x90\x80\x80", false);
	check_unicode("\xf5\x80\x80\x80", "\xf5\x80\x80\x80", false);
	check_unicode("a\x80" "b", "a\x80" "b", false);		/* lone tail */
	check_unicode("\xc3\xa9\xc3", "\xc3\xa9\xc3", false);
	/* the edges of the valid ranges */
	check_unicode("\xed\x9f\xbf", "\xed\x9f\xbf", true);	/* U+D7FF */
	check_unicode("\xee\x80\x80", "\xee\x80\x80", true);	/* U+E000 */
	check_unicode("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf", true);
	check_unicode("\xc2\x80", "\xc2\x80", true);

	/* NUL is an ordinary character */
	struct str out = STR_INIT;
	assert_true(casemap_unicode("a\0b", 3, &out));
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.data, "A\0B", 3);
	str_free(&out);
}

static int ucmp(const char *a, const char *b)
{
	int ret = casemap_unicode_compare(a, strlen(a), b, strlen(b));
	return ret < 0 ? -1 : ret > 0 ? 1 : 0;
}

static int acmp(const char *a, const char *b)
{
	int ret = casemap_ascii_compare(a, strlen(a), b, strlen(b));
	return ret < 0 ? -1 : ret > 0 ? 1 : 0;
}

static void test_unicode_compare(void **state)
{
	(void)state;
	assert_int_equal(ucmp("", ""), 0);
	assert_int_equal(ucmp("", "a"), -1);	/* empty collates first */
	assert_int_equal(ucmp("a", ""), 1);
	assert_int_equal(ucmp("abc", "ABC"), 0);
	assert_int_equal(ucmp("abc", "abd"), -1);
	assert_int_equal(ucmp("ab", "abc"), -1);
	/* uppercasing puts letters before "_" (0x5f), as i;octet on
	 * the prepared strings does */
	assert_int_equal(ucmp("a", "_"), -1);
	assert_int_equal(ucmp("\xc3\xa9t\xc3\xa9", "\xc3\x89T\xc3\x89"), 0);
	assert_int_equal(ucmp("\xc3\xa9t\xc3\xa9", "e\xcc\x81te\xcc\x81"), 0);
	/* German umlaut sorts with its base letter (RFC 5051 section 2) */
	assert_int_equal(ucmp("\xc3\xa4pfel", "b"), -1);
	assert_int_equal(ucmp("\xc3\xa4pfel", "a"), 1);
	assert_int_equal(ucmp("Stra\xc3\x9f" "e", "STRASSE"), 1);
	/* mixed: invalid UTF-8 is compared as octets */
	assert_int_equal(ucmp("a\xff", "a\xff"), 0);
	assert_int_equal(ucmp("a\xff", "A\xff"), 1);	/* not folded */
	/* length with embedded NUL */
	assert_true(casemap_unicode_compare("a\0", 2, "A", 1) > 0);
}

static void test_unicode_contains(void **state)
{
	(void)state;
	assert_true(casemap_unicode_contains("Hello World", 11, "", 0));
	assert_true(casemap_unicode_contains("", 0, "", 0));
	assert_false(casemap_unicode_contains("", 0, "a", 1));
	assert_true(casemap_unicode_contains("Hello World", 11, "o w", 3));
	assert_false(casemap_unicode_contains("Hello World", 11, "ow", 2));
	assert_true(casemap_unicode_contains("Caf\xc3\xa9 cr\xc3\xa8me", 12,
					     "CAF\xc3\x89", 5));
	assert_true(casemap_unicode_contains("Caf\xc3\xa9", 5, "cafe", 4));
	assert_true(casemap_unicode_contains("\xef\xac\x81le", 5, "\xef\xac\x81L", 4));
	assert_false(casemap_unicode_contains("\xef\xac\x81le", 5, "FIL", 3));
	assert_false(casemap_unicode_contains("abc", 3, "abcd", 4));
}

static void test_ascii(void **state)
{
	(void)state;
	struct str out = STR_INIT;
	casemap_ascii("aZ_\xc3\xa9z", 6, &out);
	assert_int_equal(out.len, 6);
	assert_memory_equal(out.data, "AZ_\xc3\xa9Z", 6);
	str_free(&out);

	assert_int_equal(acmp("", ""), 0);
	assert_int_equal(acmp("", "a"), -1);
	assert_int_equal(acmp("abc", "ABC"), 0);
	assert_int_equal(acmp("a", "_"), -1);	/* 'A' < '_' */
	assert_int_equal(acmp("[", "z"), 1);	/* '[' > 'Z' */
	assert_int_equal(acmp("\xc3\xa9", "\xc3\x89"), 1);	/* only ASCII */
	assert_int_equal(acmp("abc", "abcd"), -1);

	assert_true(casemap_ascii_contains("Hello", 5, "", 0));
	assert_true(casemap_ascii_contains("Hello", 5, "LLO", 3));
	assert_true(casemap_ascii_contains("Hello", 5, "hello", 5));
	assert_false(casemap_ascii_contains("Hello", 5, "helloo", 6));
	assert_false(casemap_ascii_contains("\xc3\xa9", 2, "\xc3\x89", 2));
	assert_true(casemap_ascii_contains("aaab", 4, "AAB", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unicode_prepare),
		cmocka_unit_test(test_unicode_invalid),
		cmocka_unit_test(test_unicode_compare),
		cmocka_unit_test(test_unicode_contains),
		cmocka_unit_test(test_ascii),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
