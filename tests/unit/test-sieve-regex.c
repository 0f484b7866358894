/* test-sieve-regex.c: the :regex language (src/sieve/regex.c): what the
 * check accepts and refuses (with the limits at and past their values),
 * the groups of ${0}..${9}, the comparators, values with NUL bytes, and
 * that a pattern which makes backtracking matchers explode runs in time;
 * also the imapsieve environment items and restrictions
 * (src/sieve/imapsieve.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "sieve/imapsieve.h"
#include "sieve/regex.h"

static struct sieve_regex *compile(const char *pattern, bool icase, struct str *error)
{
	str_truncate(error, 0);
	return sieve_regex_compile(pattern, strlen(pattern), icase, 4096, error);
}

static void accepts(const char *pattern)
{
	struct str error = STR_INIT;
	struct sieve_regex *re = compile(pattern, false, &error);

	if (re == NULL)
		fail_msg("%s: %s", pattern, str_c(&error));
	sieve_regex_free(&re);
	assert_null(re);
	str_free(&error);
}

static void refuses(const char *pattern, const char *why)
{
	struct str error = STR_INIT;
	struct sieve_regex *re = compile(pattern, false, &error);

	if (re != NULL)
		fail_msg("%s accepted", pattern);
	if (strstr(str_c(&error), why) == NULL)
		fail_msg("%s: %s", pattern, str_c(&error));
	str_free(&error);
}

static void test_language(void **state)
{
	(void)state;
	accepts("");
	accepts("a|b|");
	accepts("^(foo|bar)+[0-9]{2,4}x?$");
	accepts("[]a-z[:digit:]^-]");
	accepts("[^]]");
	accepts("\\.\\[\\]\\(\\)\\*\\+\\?\\{\\}\\|\\^\\$\\\\");
	accepts("\\w\\W\\s\\S\\b\\B\\<\\>\\`\\'");
	accepts("a{255}");
	accepts("a{0,255}");
	accepts("a{3,}");
	accepts("((((((((((((((((a))))))))))))))))");	/* 16 deep */
	refuses("(((((((((((((((((a)))))))))))))))))", "too many or too deeply nested");
	refuses("a{256}", "over 255");
	refuses("a{3,2}", "invalid repetition range");
	refuses("a{,2}", "invalid repetition count");
	refuses("a{2", "unmatched {");
	refuses("(a)\\1", "backreferences");
	refuses("\\d", "unsupported escape");
	refuses("a\\", "trailing backslash");
	refuses("*a", "nothing to repeat");
	refuses("a|*", "nothing to repeat");
	refuses("(*a)", "nothing to repeat");
	refuses("a**", "a quantifier after a quantifier");
	refuses("a+?", "a quantifier after a quantifier");
	refuses("(a", "unmatched (");
	refuses("a)", "unmatched )");
	refuses("[a", "unmatched [");
	refuses("[[:word:]]", "unknown character class");
	refuses("[[.a.]]", "collating elements");
	refuses("[[=a=]]", "collating elements");
	/* expansion: 16 * 255 positions pass the limit */
	accepts("(abcdefghijklmno){255}");
	refuses("(abcdefghijklmnop){255}", "expands beyond");
	refuses("((a{255}){255}){255}", "expands beyond");
	{
		struct str error = STR_INIT;
		char big[4098];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_null(sieve_regex_compile(big, 4097, false, 4096, &error));
		assert_non_null(strstr(str_c(&error), "longer than 4096"));
		assert_null(sieve_regex_compile("a\0b", 3, false, 4096, &error));
		str_free(&error);
	}
}

static void test_match(void **state)
{
	struct str error = STR_INIT;
	struct sieve_regex_match m;
	struct sieve_regex *re;
	bool icase;

	(void)state;
	re = compile("([a-z]+)\\+([a-z]+)@(x)?", false, &error);
	assert_int_equal(sieve_regex_match(re, "To: joe+lists@example.com", 25, &m), 1);
	assert_int_equal(m.start[0], 4);
	assert_int_equal(m.end[0], 14);
	assert_int_equal(m.start[1], 4);
	assert_int_equal(m.end[1], 7);
	assert_int_equal(m.start[2], 8);
	assert_int_equal(m.end[2], 13);
	assert_int_equal(m.start[3], -1);
	assert_int_equal(m.start[9], -1);
	assert_int_equal(sieve_regex_match(re, "JOE+LISTS@", 10, NULL), 0);
	sieve_regex_free(&re);
	re = compile("joe", true, &error);
	assert_int_equal(sieve_regex_match(re, "JOE", 3, NULL), 1);
	sieve_regex_free(&re);
	/* the value's length counts, not a NUL in it */
	re = compile("b$", false, &error);
	assert_int_equal(sieve_regex_match(re, "a\0b", 3, NULL), 1);
	assert_int_equal(sieve_regex_match(re, "a\0b", 2, NULL), 0);
	sieve_regex_free(&re);
	/* only the first SIEVE_REGEX_MAX_VALUE bytes are looked at */
	{
		struct str big = STR_INIT;

		for (int i = 0; i < SIEVE_REGEX_MAX_VALUE - 1; i++)
			str_append_c(&big, 'a');
		str_append(&big, "bc");
		re = compile("b", false, &error);
		assert_int_equal(sieve_regex_match(re, big.data, big.len, NULL), 1);
		sieve_regex_free(&re);
		re = compile("c", false, &error);
		assert_int_equal(sieve_regex_match(re, big.data, big.len, NULL), 0);
		sieve_regex_free(&re);
		str_free(&big);
	}
	assert_int_equal(sieve_regex_comparator("i;octet", &icase), 0);
	assert_false(icase);
	assert_int_equal(sieve_regex_comparator("i;ascii-casemap", &icase), 0);
	assert_true(icase);
	assert_int_equal(sieve_regex_comparator("i;ascii-numeric", &icase), -1);
	str_free(&error);
}

/* (a|aa)*b and (a*)*b take exponential time in a backtracking matcher,
 * (a|b)*c quadratic time in glibc's; over a long value that does not
 * match they must finish in well under a second each here. */
static void test_no_blowup(void **state)
{
	struct str error = STR_INIT, value = STR_INIT;
	const char *patterns[] = { "(a|aa)*b", "(a*)*b", "(a+)+b", "(.*a){12}c", "(a|b)*c" };
	uint64_t start = time_monotonic_ms();

	(void)state;
	for (int i = 0; i < 2 * SIEVE_REGEX_MAX_VALUE; i++)
		str_append_c(&value, 'a');
	for (size_t i = 0; i < N_ELEMENTS(patterns); i++) {
		struct sieve_regex *re = compile(patterns[i], false, &error);

		assert_non_null(re);
		assert_true(sieve_regex_match(re, value.data, value.len, NULL) >= 0);
		sieve_regex_free(&re);
	}
	assert_true(time_monotonic_ms() - start < 10000);
	str_free(&value);
	str_free(&error);
}

static const char *env_item(void *ctx, const char *item)
{
	(void)ctx;
	if (strcmp(item, "imap.user") == 0)
		return "bob";
	if (strcmp(item, "imap.changedflags") == 0)
		return "\\Flagged";
	return NULL;
}

static void test_imapsieve(void **state)
{
	struct sieve_env env = { .environment = env_item };

	(void)state;
	/* a delivery: the imap.* items are "" (RFC 6785 4.2-4.5) */
	assert_string_equal(sieve_imapsieve_environment(&env, "imap.user"), "");
	assert_string_equal(sieve_imapsieve_environment(&env, "imap.cause"), "");
	assert_string_equal(sieve_imapsieve_environment(&env, "imap.mailbox"), "");
	assert_string_equal(sieve_imapsieve_environment(&env, "imap.changedflags"), "");
	assert_null(sieve_imapsieve_environment(&env, "location"));
	assert_null(sieve_imapsieve_environment(&env, "domain"));
	assert_true(sieve_imapsieve_command_allowed(&env, "vacation"));
	/* an IMAP event */
	env.imap_cause = "COPY";
	env.imap_mailbox = "Junk";
	assert_string_equal(sieve_imapsieve_environment(&env, "location"), "MS");
	assert_string_equal(sieve_imapsieve_environment(&env, "phase"), "post");
	assert_string_equal(sieve_imapsieve_environment(&env, "IMAP.User"), "bob");
	assert_string_equal(sieve_imapsieve_environment(&env, "imap.email"), "");
	assert_string_equal(sieve_imapsieve_environment(&env, "imap.cause"), "COPY");
	assert_string_equal(sieve_imapsieve_environment(&env, "imap.mailbox"), "Junk");
	assert_string_equal(sieve_imapsieve_environment(&env, "imap.changedflags"), "");
	env.imap_cause = "FLAG";
	assert_string_equal(sieve_imapsieve_environment(&env, "imap.changedflags"), "\\Flagged");
	/* RFC 6785 3.11, 4.6 */
	assert_false(sieve_imapsieve_command_allowed(&env, "reject"));
	assert_false(sieve_imapsieve_command_allowed(&env, "ereject"));
	assert_false(sieve_imapsieve_command_allowed(&env, "Vacation"));
	assert_false(sieve_imapsieve_command_allowed(&env, "envelope"));
	assert_true(sieve_imapsieve_command_allowed(&env, "fileinto"));
	assert_true(sieve_imapsieve_command_allowed(NULL, "reject"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_language),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_no_blowup),
		cmocka_unit_test(test_imapsieve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
