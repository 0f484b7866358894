/* test-seqset.c: sequence sets: parsing, merging, membership, writing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "syntax/seqset.h"
#include "base/str.h"

/* Parses in with `star` and checks the written form ("" = empty set, NULL =
 * syntax error). */
static void check(const char *in, uint32_t star, const char *expected)
{
	struct seqset set = SEQSET_INIT;
	struct str out = STR_INIT;

	seqset_add(&set, 99);	/* parse replaces the content */
	int ret = seqset_parse(&set, in, star, NULL);
	if (expected == NULL) {
		if (ret != -1)
			fail_msg("\"%s\" parsed but should not", in);
		assert_true(seqset_is_empty(&set));
	} else {
		if (ret != 0)
			fail_msg("\"%s\" did not parse", in);
		seqset_write(&set, &out);
		assert_string_equal(str_c(&out), expected);
	}
	str_free(&out);
	seqset_deinit(&set);
}

static void test_parse(void **state)
{
	(void)state;
	check("1", 10, "1");
	check("1:3", 10, "1:3");
	check("4:2", 10, "2:4");
	check("1,2,3,7", 10, "1:3,7");
	check("7,3,2,1", 10, "1:3,7");
	check("1:5,3:8,20,19,10:12,13", 10, "1:8,10:13,19:20");
	check("*", 10, "10");
	check("1:*", 10, "1:10");
	check("*:3", 10, "3:10");
	check("15:*", 10, "10:15");	/* "n:*" always includes * */
	check("*:*", 10, "10");
	check("4294967295", 10, "4294967295");
	check("1:4294967295", 10, "1:4294967295");
	check("4294967295:4294967294,1", 10, "1,4294967294:4294967295");
	check("1:*", 4294967295u, "1:4294967295");
	/* empty mailbox: "*" matches nothing */
	check("*", 0, "");
	check("1:*", 0, "");
	check("5,1:*,*:7,8", 0, "5,8");

	check("", 10, NULL);
	check("0", 10, NULL);
	check("0:5", 10, NULL);
	check("5:0", 10, NULL);
	check("01", 10, NULL);
	check("4294967296", 10, NULL);
	check("99999999999999999999", 10, NULL);
	check("1,", 10, NULL);
	check(",1", 10, NULL);
	check("1,,2", 10, NULL);
	check("1:", 10, NULL);
	check(":1", 10, NULL);
	check("1:2:3", 10, NULL);
	check("1 ", 10, NULL);
	check(" 1", 10, NULL);
	check("-1", 10, NULL);
	check("+1", 10, NULL);
	check("1.5", 10, NULL);
	check("**", 10, NULL);
	check("$", 10, NULL);
	check("1,$", 10, NULL);
	check("a", 10, NULL);
}

static void test_dollar(void **state)
{
	(void)state;
	struct seqset set = SEQSET_INIT;
	bool dollar;

	seqset_add(&set, 5);
	assert_int_equal(seqset_parse(&set, "$", 10, &dollar), 0);
	assert_true(dollar);
	assert_true(seqset_is_empty(&set));
	assert_int_equal(seqset_parse(&set, "1:2", 10, &dollar), 0);
	assert_false(dollar);
	assert_int_equal(seqset_count(&set), 2);
	assert_int_equal(seqset_parse(&set, "$,1", 10, &dollar), -1);
	assert_false(dollar);
	assert_int_equal(seqset_parse(&set, "$$", 10, &dollar), -1);
	seqset_deinit(&set);
}

static void test_add(void **state)
{
	(void)state;
	struct seqset set = SEQSET_INIT;
	struct str out = STR_INIT;

	seqset_add(&set, 10);
	seqset_add(&set, 12);
	seqset_add(&set, 5);
	seqset_add(&set, 11);		/* joins 10 and 12 */
	seqset_add_range(&set, 20, 18);
	seqset_add_range(&set, 1, 3);
	seqset_add(&set, 4);		/* touches 1:3 and 5 */
	seqset_add(&set, 12);		/* already there */
	seqset_add_range(&set, 30, 40);
	seqset_add_range(&set, 25, 26);
	seqset_write(&set, &out);
	assert_string_equal(str_c(&out), "1:5,10:12,18:20,25:26,30:40");
	assert_int_equal(set.count, 5);

	seqset_add_range(&set, 6, 29);	/* swallows everything between */
	str_truncate(&out, 0);
	seqset_write(&set, &out);
	assert_string_equal(str_c(&out), "1:40");
	assert_int_equal(set.count, 1);

	seqset_add_range(&set, UINT32_MAX, UINT32_MAX);
	seqset_add_range(&set, UINT32_MAX - 1, UINT32_MAX);
	seqset_add(&set, 41);
	str_truncate(&out, 0);
	seqset_write(&set, &out);
	assert_string_equal(str_c(&out), "1:41,4294967294:4294967295");
	assert_int_equal(seqset_count(&set), 43);
	assert_int_equal(seqset_min(&set), 1);
	assert_int_equal(seqset_max(&set), UINT32_MAX);

	seqset_clear(&set);
	assert_true(seqset_is_empty(&set));
	assert_int_equal(seqset_count(&set), 0);
	assert_int_equal(seqset_min(&set), 0);
	assert_int_equal(seqset_max(&set), 0);
	str_truncate(&out, 0);
	seqset_write(&set, &out);
	assert_string_equal(str_c(&out), "");
	str_free(&out);
	seqset_deinit(&set);
}

static void test_contains_count(void **state)
{
	(void)state;
	struct seqset set = SEQSET_INIT;

	assert_false(seqset_contains(&set, 1));
	assert_int_equal(seqset_parse(&set, "2:4,7,10:4294967295", 0, NULL), 0);
	assert_false(seqset_contains(&set, 1));
	assert_true(seqset_contains(&set, 2));
	assert_true(seqset_contains(&set, 4));
	assert_false(seqset_contains(&set, 5));
	assert_true(seqset_contains(&set, 7));
	assert_false(seqset_contains(&set, 9));
	assert_true(seqset_contains(&set, 10));
	assert_true(seqset_contains(&set, UINT32_MAX));
	assert_int_equal(seqset_count(&set), 3 + 1 + (4294967295ull - 10 + 1));

	assert_int_equal(seqset_parse(&set, "1:4294967295", 5, NULL), 0);
	assert_int_equal(seqset_count(&set), 4294967295ull);
	seqset_deinit(&set);
}

static void test_iter(void **state)
{
	(void)state;
	struct seqset set = SEQSET_INIT;
	struct seqset_iter iter;
	uint32_t seq, expect[] = { 1, 2, 3, 7, 4294967294u, 4294967295u };
	unsigned int n = 0;

	seqset_iter_init(&iter, &set);
	assert_false(seqset_iter_next(&iter, &seq));
	assert_int_equal(seqset_parse(&set, "4294967294:*,3:1,7", UINT32_MAX,
				      NULL), 0);
	seqset_iter_init(&iter, &set);
	while (seqset_iter_next(&iter, &seq)) {
		assert_true(n < N_ELEMENTS(expect));
		assert_int_equal(seq, expect[n++]);
	}
	assert_int_equal(n, N_ELEMENTS(expect));
	assert_false(seqset_iter_next(&iter, &seq));
	seqset_deinit(&set);
}

/* A brute-force model: random adds and parses agree with a bitmap. */
static void test_random(void **state)
{
	(void)state;
	enum { MAX = 200 };
	struct seqset set = SEQSET_INIT;
	bool model[MAX + 2];
	struct str in = STR_INIT, out = STR_INIT;
	unsigned int seed = 12345;

	for (int round = 0; round < 300; round++) {
		memset(model, 0, sizeof(model));
		seqset_clear(&set);
		str_truncate(&in, 0);
		int n = 1 + (int)(rand_r(&seed) % 20);
		for (int i = 0; i < n; i++) {
			uint32_t a = 1 + (uint32_t)rand_r(&seed) % MAX;
			uint32_t b = rand_r(&seed) % 3 == 0 ? a :
				1 + (uint32_t)rand_r(&seed) % MAX;
			for (uint32_t k = ROOST_MIN(a, b); k <= ROOST_MAX(a, b); k++)
				model[k] = true;
			if (round % 2 == 0)
				seqset_add_range(&set, a, b);
			else
				str_printfa(&in, "%s%u:%u", i > 0 ? "," : "",
					    a, b);
		}
		if (round % 2 == 1)
			assert_int_equal(seqset_parse(&set, str_c(&in), 0,
						      NULL), 0);
		uint64_t count = 0;
		for (uint32_t k = 1; k <= MAX + 1; k++) {
			assert_int_equal(seqset_contains(&set, k), model[k]);
			count += model[k];
		}
		assert_int_equal(seqset_count(&set), count);
		/* the invariant, and the written form parses back */
		for (unsigned int i = 0; i + 1 < set.count; i++)
			assert_true(set.ranges[i].seq2 + 1 < set.ranges[i + 1].seq1);
		str_truncate(&out, 0);
		seqset_write(&set, &out);
		struct seqset again = SEQSET_INIT;
		assert_int_equal(seqset_parse(&again, str_c(&out), 0, NULL), 0);
		assert_int_equal(again.count, set.count);
		assert_memory_equal(again.ranges, set.ranges,
				    set.count * sizeof(*set.ranges));
		seqset_deinit(&again);
	}
	str_free(&in);
	str_free(&out);
	seqset_deinit(&set);
}

static void check_remove(const char *in, uint32_t seq, const char *expected)
{
	struct seqset set = SEQSET_INIT;
	struct str out = STR_INIT;

	assert_int_equal(seqset_parse(&set, in, 100, NULL), 0);
	seqset_remove(&set, seq);
	seqset_write(&set, &out);
	if (strcmp(str_c(&out), expected) != 0)
		fail_msg("%s minus %u: %s, want %s", in, seq, str_c(&out), expected);
	str_free(&out);
	seqset_deinit(&set);
}

static void test_remove(void **state)
{
	(void)state;
	check_remove("1:10", 5, "1:4,6:10");
	check_remove("1:10", 1, "2:10");
	check_remove("1:10", 10, "1:9");
	check_remove("1:10", 11, "1:10");
	check_remove("3,5,7", 5, "3,7");
	check_remove("3,5,7", 3, "5,7");
	check_remove("3,5,7", 7, "3,5");
	check_remove("3,5,7", 4, "3,5,7");
	check_remove("3,5,7", 1, "3,5,7");
	check_remove("1:2,4:5", 3, "1:2,4:5");
	check_remove("1:2,4:5", 4, "1:2,5");
	check_remove("1:2,4:5,7:9", 8, "1:2,4:5,7,9");
	check_remove("4294967295", 4294967295u, "");
	check_remove("7", 7, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_dollar),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_contains_count),
		cmocka_unit_test(test_iter),
		cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
