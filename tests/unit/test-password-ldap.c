/* test-password-ldap.c: OpenLDAP's {SHA}/{SSHA} family
 * (auth/password-ldap.h): values computed independently (Python's
 * hashlib), wrong passwords, and stored values that are not base64 of a
 * digest of the right length. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "auth/password-ldap.h"

static const char *const good[] = {
	"{SSHA}uJDd0BIdJ9Z7yDCZNWdgYeb33+cBAgME",
	"{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=",
	"{ssha256}pBFKVQdg8aaZi2INYzmnxxLtStvyMgIOC7TahNLLqCIBAgME",
	"{SHA512}vSsar3708Jvp9Szi2NWZZ02Bqp1qRCFpbcTZPdBhnWgs5WtNZKnvCXdhztmeD2cmW192CF5bDufKRpayrW/isg==",
};

static void test_vectors(void **state)
{
	(void)state;
	const char *error = NULL;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(password_ldap_is_sha(good[i]));
		assert_int_equal(password_ldap_verify("secret", good[i], &error), 1);
		assert_int_equal(password_ldap_verify("secreT", good[i], &error), 0);
		assert_int_equal(password_ldap_verify("", good[i], &error), 0);
		assert_int_equal(password_ldap_verify("secret\n", good[i], &error), 0);
	}
	assert_false(password_ldap_is_sha("{SHA512-CRYPT}$6$x$y"));
	assert_false(password_ldap_is_sha("{PLAIN}x"));
	assert_false(password_ldap_is_sha("{SHA"));
	assert_false(password_ldap_is_sha("$6$x$y"));
}

static void test_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{SSHA}",				/* nothing */
		"{SSHA}uJDd0BIdJ9Z7yDCZNWdgYeb33+c=",	/* digest without salt */
		"{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ",	/* no padding */
		"{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=AAAA",	/* a salt where none is */
		"{SHA}5en6G6MezRroT3XK!kdPOmY/BfQ=",	/* not base64 */
		"{SSHA512}uJDd0BIdJ9Z7yDCZNWdgYeb33+cBAgME",	/* too short */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *error = NULL;
		assert_int_equal(password_ldap_verify("secret", bad[i], &error), -1);
		assert_non_null(error);
		assert_null(strstr(error, "secret"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
