/* test-base.c: allocation helpers, str, pool. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/pool.h"
#include "base/str.h"
#include "base/utf8.h"

static void test_str(void **state)
{
	(void)state;
	struct str s = STR_INIT;
	assert_string_equal(str_c(&s), "");
	str_append(&s, "abc");
	str_append_c(&s, 'd');
	str_printfa(&s, "%d-%s", 42, "x");
	assert_string_equal(str_c(&s), "abcd42-x");
	assert_int_equal(s.len, 8);
	for (int i = 0; i < 1000; i++)
		str_append(&s, "0123456789");
	assert_int_equal(s.len, 10008);
	str_truncate(&s, 2);
	assert_string_equal(str_c(&s), "ab");
	char *p = str_steal(&s);
	assert_string_equal(p, "ab");
	free(p);
	assert_int_equal(s.len, 0);
	/* nothing to append may come as NULL (UBSan: memcpy's nonnull) */
	str_append_n(&s, NULL, 0);
	assert_string_equal(str_c(&s), "");
	str_free(&s);
}

static void test_pool(void **state)
{
	(void)state;
	struct pool *pool = pool_create(64);
	char *a = p_strdup(pool, "hello");
	char *big = p_malloc(pool, 10000);
	memset(big, 'x', 10000);
	char *b = p_strdup_printf(pool, "%s %d", a, 7);
	assert_string_equal(a, "hello");
	assert_string_equal(b, "hello 7");
	pool_clear(pool);
	char *c = p_strndup(pool, "abcdef", 3);
	assert_string_equal(c, "abc");
	pool_destroy(&pool);
	assert_null(pool);
}

static void test_str_to_u64(void **state)
{
	(void)state;
	uint64_t n;
	assert_int_equal(str_to_u64("0", UINT32_MAX, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(str_to_u64("4294967295", UINT32_MAX, &n), 0);
	assert_int_equal(n, 4294967295u);
	assert_int_equal(str_to_u64("4294967296", UINT32_MAX, &n), -1);
	assert_int_equal(str_to_u64("", UINT32_MAX, &n), -1);
	assert_int_equal(str_to_u64("12a", UINT32_MAX, &n), -1);
	assert_int_equal(str_to_u64("-1", UINT32_MAX, &n), -1);
}

static void test_utf8_seq_len(void **state)
{
	(void)state;
	const unsigned char *u;
	assert_int_equal(utf8_seq_len((const unsigned char *)"a", 1), 1);
	u = (const unsigned char *)"\xc3\xa9";	/* U+00E9 */
	assert_int_equal(utf8_seq_len(u, 2), 2);
	assert_int_equal(utf8_seq_len(u, 1), 0);	/* truncated */
	u = (const unsigned char *)"\xe2\x82\xac";	/* U+20AC */
	assert_int_equal(utf8_seq_len(u, 3), 3);
	u = (const unsigned char *)"\xf0\x9f\x98\x80";	/* U+1F600 */
	assert_int_equal(utf8_seq_len(u, 4), 4);
	/* overlong, surrogate, above U+10FFFF, stray continuation, bad lead */
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xc0\xaf", 2), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xe0\x80\xaf", 3), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xed\xa0\x80", 3), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xf4\x90\x80\x80", 4), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\x80", 1), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xff", 1), 0);
	assert_int_equal(utf8_seq_len((const unsigned char *)"\xe2\x28\xa1", 3), 0);
}

static void test_lf_to_crlf(void **state)
{
	(void)state;
	static const char in[] = "a\nb\r\nc\r\r\n\n\rd\n";
	static const char want[] = "a\r\nb\r\nc\r\r\n\r\n\rd\r\n";
	char out[64];
	bool cr = false;

	assert_int_equal(lf_to_crlf(in, strlen(in), out, &cr), strlen(want));
	assert_memory_equal(out, want, strlen(want));
	assert_false(cr);
	/* one byte at a time: a CR at the end of a piece carries over */
	size_t o = 0;
	cr = false;
	for (size_t i = 0; i < strlen(in); i++)
		o += lf_to_crlf(in + i, 1, out + o, &cr);
	assert_int_equal(o, strlen(want));
	assert_memory_equal(out, want, strlen(want));
	assert_int_equal(lf_to_crlf("", 0, out, &cr), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_str_to_u64),
		cmocka_unit_test(test_utf8_seq_len),
		cmocka_unit_test(test_lf_to_crlf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
