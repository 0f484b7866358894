/* test-partial-range.c: RFC 9394 partial-range: parsing every form and
 * its limits, the echo, the window over a count of results and over a
 * sequence set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "syntax/partial-range.h"
#include "syntax/seqset.h"

static void check_parse(const char *in, bool ok, bool from_end, uint32_t lo, uint32_t hi)
{
	struct partial_range r;
	int ret = partial_range_parse(in, &r);

	if (!ok) {
		if (ret != -1)
			fail_msg("\"%s\" parsed but should not", in);
		return;
	}
	if (ret != 0)
		fail_msg("\"%s\" did not parse", in);
	assert_int_equal(r.from_end, from_end);
	assert_int_equal(r.lo, lo);
	assert_int_equal(r.hi, hi);
	/* written back as it came */
	struct str out = STR_INIT;
	partial_range_append(&out, &r);
	assert_string_equal(str_c(&out), in);
	str_free(&out);
}

static void test_parse(void **state)
{
	(void)state;
	check_parse("1:500", true, false, 1, 500);
	check_parse("500:1", true, false, 1, 500);
	check_parse("7:7", true, false, 7, 7);
	check_parse("-1:-100", true, true, 1, 100);
	check_parse("-100:-1", true, true, 1, 100);
	check_parse("1:4294967295", true, false, 1, 4294967295u);
	check_parse("-4294967295:-4294967295", true, true, 4294967295u, 4294967295u);
	const char *bad[] = {
		"", "1", "-1", ":", "0:1", "1:0", "-0:-1", "-1:-0", "1:-2", "-1:2",
		"1:4294967296", "4294967296:1", "99999999999999999999:1", "*:1",
		"1:*", "1:2:3", "1:2x", " 1:2", "1:2 ", "01:2", "1:02", "--1:-2",
		"-1:--2", "+1:2", "1::2", "-:-", "1:-", "-1:",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		check_parse(bad[i], false, false, 0, 0);
}

/* The window of `in` over `count` results, as "start-end" (0-based,
 * end exclusive) or "none". */
static void check_select(const char *in, uint32_t count, const char *expected)
{
	struct partial_range r;
	uint32_t start, end;
	char buf[64];

	assert_int_equal(partial_range_parse(in, &r), 0);
	if (!partial_range_select(&r, count, &start, &end))
		strcpy(buf, "none");
	else
		snprintf(buf, sizeof(buf), "%u-%u", start, end);
	if (strcmp(buf, expected) != 0)
		fail_msg("%s over %u: %s, want %s", in, count, buf, expected);
}

static void test_select(void **state)
{
	(void)state;
	check_select("1:5", 10, "0-5");
	check_select("5:1", 10, "0-5");
	check_select("6:10", 10, "5-10");
	check_select("8:20", 10, "7-10");
	check_select("10:10", 10, "9-10");
	check_select("11:20", 10, "none");
	check_select("1:1", 0, "none");
	check_select("-1:-1", 10, "9-10");
	check_select("-1:-3", 10, "7-10");
	check_select("-3:-5", 10, "5-8");
	check_select("-8:-20", 10, "0-3");
	check_select("-10:-10", 10, "0-1");
	check_select("-11:-12", 10, "none");
	check_select("-1:-4294967295", 4294967295u, "0-4294967295");
	check_select("1:4294967295", 3, "0-3");
}

/* `in` applied to the set `set` (seqset syntax) gives `expected`. */
static void check_apply(const char *in, const char *set_text, const char *expected)
{
	struct partial_range r;
	struct seqset set = SEQSET_INIT;
	struct str out = STR_INIT;

	assert_int_equal(partial_range_parse(in, &r), 0);
	/* "" is the empty set, which seqset_parse() does not take */
	if (set_text[0] != '\0')
		assert_int_equal(seqset_parse(&set, set_text, 4294967295u, NULL), 0);
	partial_range_apply(&r, &set);
	seqset_write(&set, &out);
	if (strcmp(str_c(&out), expected) != 0)
		fail_msg("%s over %s: %s, want %s", in, set_text, str_c(&out), expected);
	str_free(&out);
	seqset_deinit(&set);
}

static void test_apply(void **state)
{
	(void)state;
	check_apply("1:3", "5,7,9:20", "5,7,9");
	check_apply("2:4", "5,7,9:20", "7,9:10");
	check_apply("-1:-3", "5,7,9:20", "18:20");
	check_apply("-12:-13", "5,7,9:20", "7,9");
	check_apply("-13:-14", "5,7,9:20", "5,7");
	check_apply("-14:-20", "5,7,9:20", "5");
	check_apply("-15:-20", "5,7,9:20", "");
	check_apply("14:20", "5,7,9:20", "20");
	check_apply("15:20", "5,7,9:20", "");
	check_apply("4:5", "1:3,10:12,20:22", "10:11");
	check_apply("3:7", "1:3,10:12,20:22", "3,10:12,20");
	check_apply("1:4294967295", "1:4294967295", "1:4294967295");
	check_apply("-1:-1", "1:4294967295", "4294967295");
	check_apply("-2:-1", "1:4294967295", "4294967294:4294967295");
	check_apply("1:1", "", "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
