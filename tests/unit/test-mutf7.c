/* test-mutf7.c: modified UTF-7 mailbox names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "syntax/mutf7.h"
#include "base/str.h"

/* utf8 <-> mutf7 both ways */
static void check_pair(const char *utf8, const char *mutf7)
{
	struct str s = STR_INIT;

	str_append(&s, "pre:");
	assert_int_equal(mutf7_encode(utf8, &s), 0);
	assert_string_equal(str_c(&s) + 4, mutf7);
	str_truncate(&s, 4);
	assert_int_equal(mutf7_decode(mutf7, &s), 0);
	assert_string_equal(str_c(&s) + 4, utf8);
	assert_true(mutf7_is_valid(mutf7));
	str_free(&s);
}

static void check_bad_mutf7(const char *mutf7)
{
	struct str s = STR_INIT;

	str_append(&s, "pre");
	if (mutf7_decode(mutf7, &s) != -1)
		fail_msg("\"%s\" decoded to \"%s\"", mutf7, str_c(&s));
	assert_string_equal(str_c(&s), "pre");
	assert_false(mutf7_is_valid(mutf7));
	str_free(&s);
}

static void check_bad_utf8(const char *utf8)
{
	struct str s = STR_INIT;

	str_append(&s, "pre");
	assert_int_equal(mutf7_encode(utf8, &s), -1);
	assert_string_equal(str_c(&s), "pre");
	str_free(&s);
}

static void test_examples(void **state)
{
	(void)state;
	/* RFC 3501 / RFC 9051 section 5.1.3 */
	check_pair("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		   "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	check_pair("", "");
	check_pair("INBOX", "INBOX");
	check_pair("&", "&-");
	check_pair("Tom & Jerry &&", "Tom &- Jerry &-&-");
	check_pair(" !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~",
		   " !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~");
	check_pair("Entw\xc3\xbcrfe", "Entw&APw-rfe");
	check_pair("\xc3\xa4\xc3\xb6", "&AOQA9g-");
	check_pair("\xc3\xa4-\xc3\xb6", "&AOQ--&APY-");
	check_pair("\xc3\xa4&\xc3\xb6", "&AOQ-&-&APY-");
	/* control characters are encoded */
	check_pair("a\tb\x7f", "a&AAk-b&AH8-");
	/* outside the BMP: a surrogate pair */
	check_pair("\xf0\x9f\x90\xa6", "&2D3cJg-");
	check_pair("x\xf4\x8f\xbf\xbfy", "x&2,,f,w-y");
	/* one, two and three code units: 16, 32, 48 bits */
	check_pair("\xe2\x82\xac", "&IKw-");
	check_pair("\xe2\x82\xac\xe2\x82\xac", "&IKwgrA-");
	check_pair("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac", "&IKwgrCCs-");
}

static void test_invalid_mutf7(void **state)
{
	(void)state;
	check_bad_mutf7("&");			/* unterminated */
	check_bad_mutf7("a&U,BTFw");		/* unterminated */
	check_bad_mutf7("&U,BTFw/-");		/* "/" is not modified BASE64 */
	check_bad_mutf7("&U,BTFw=-");		/* no padding */
	check_bad_mutf7("&-&");
	check_bad_mutf7("&AGE-");		/* "a" must be itself */
	check_bad_mutf7("&ACY-");		/* "&" must be "&-" */
	check_bad_mutf7("&ACA-");		/* space */
	check_bad_mutf7("&AH4-");		/* "~" */
	check_bad_mutf7("&AAA-");		/* NUL */
	check_bad_mutf7("&AOQ-&APY-");		/* two runs in a row */
	check_bad_mutf7("&AOR-");		/* non-zero padding bits */
	check_bad_mutf7("&AOQA-");		/* superfluous character */
	check_bad_mutf7("&AO-");		/* too short for a unit */
	check_bad_mutf7("&A-");
	check_bad_mutf7("&2D0-");		/* lone high surrogate */
	check_bad_mutf7("&2D3YPQ-");		/* high + high */
	check_bad_mutf7("&3CY-");		/* lone low surrogate */
	check_bad_mutf7("&AOTcJg-");		/* low after a BMP char */
	check_bad_mutf7("Entw\xc3\xbcrfe");	/* raw 8-bit */
	check_bad_mutf7("a\tb");		/* raw control character */
	check_bad_mutf7("a\x7f");
	check_bad_mutf7("&Jjo!-");
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	check_bad_utf8("\x80");
	check_bad_utf8("a\xc3");
	check_bad_utf8("\xc3(");
	check_bad_utf8("\xc0\xaf");		/* overlong "/" */
	check_bad_utf8("\xc1\xbf");
	check_bad_utf8("\xe0\x80\xaf");		/* overlong */
	check_bad_utf8("\xed\xa0\x80");		/* surrogate */
	check_bad_utf8("\xed\xbf\xbf");
	check_bad_utf8("\xf0\x80\x80\xaf");	/* overlong */
	check_bad_utf8("\xf4\x90\x80\x80");	/* > U+10FFFF */
	check_bad_utf8("\xf5\x80\x80\x80");
	check_bad_utf8("\xff");
	check_bad_utf8("\xe6\x97");		/* truncated */
	check_bad_utf8("\xf0\x9f\x90");
	/* the edges that are valid */
	check_pair("\xc2\x80", "&AIA-");
	check_pair("\xed\x9f\xbf", "&1,8-");
	check_pair("\xee\x80\x80", "&4AA-");
	check_pair("\xef\xbf\xbf", "&,,8-");
	check_pair("\xf0\x90\x80\x80", "&2ADcAA-");
}

/* Every BMP character and a sample above it round-trips, alone and
 * between others. */
static void test_round_trip(void **state)
{
	(void)state;
	struct str utf8 = STR_INIT, m = STR_INIT, back = STR_INIT;

	for (uint32_t c = 1; c < 0x110000; c += (c < 0x10000 ? 1 : 97)) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		str_truncate(&utf8, 0);
		str_truncate(&m, 0);
		str_truncate(&back, 0);
		/* encode c with a tiny UTF-8 writer of our own */
		char b[5] = { 0 };
		if (c < 0x80) {
			b[0] = (char)c;
		} else if (c < 0x800) {
			b[0] = (char)(0xc0 | (c >> 6));
			b[1] = (char)(0x80 | (c & 0x3f));
		} else if (c < 0x10000) {
			b[0] = (char)(0xe0 | (c >> 12));
			b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[2] = (char)(0x80 | (c & 0x3f));
		} else {
			b[0] = (char)(0xf0 | (c >> 18));
			b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
			b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
			b[3] = (char)(0x80 | (c & 0x3f));
		}
		str_append(&utf8, "a");
		str_append(&utf8, b);
		str_append(&utf8, b);
		str_append(&utf8, "&z");
		str_append(&utf8, b);
		assert_int_equal(mutf7_encode(str_c(&utf8), &m), 0);
		assert_int_equal(mutf7_decode(str_c(&m), &back), 0);
		assert_string_equal(str_c(&back), str_c(&utf8));
	}
	str_free(&utf8);
	str_free(&m);
	str_free(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_invalid_mutf7),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
