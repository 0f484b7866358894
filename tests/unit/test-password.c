/* test-password.c: password schemes: known vectors, every scheme made and
 * checked, hashes libxcrypt makes by itself, bad stored values, and
 * checks on several threads at once (they run on the job pool). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <crypt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/password.h"

/* From Ulrich Drepper's SHA-crypt specification, as Dovecot stores it. */
#define SHA512_VECTOR \
	"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"

static void test_password_known_vector(void **state)
{
	(void)state;
	const char *error = NULL;

	assert_int_equal(password_verify("Hello world!", "{SHA512-CRYPT}" SHA512_VECTOR, &error), 1);
	assert_int_equal(password_verify("Hello world", "{SHA512-CRYPT}" SHA512_VECTOR, &error), 0);
	assert_int_equal(password_verify("", "{SHA512-CRYPT}" SHA512_VECTOR, &error), 0);
	/* no scheme: CRYPT; scheme names are case-insensitive */
	assert_int_equal(password_verify("Hello world!", SHA512_VECTOR, &error), 1);
	assert_int_equal(password_verify("Hello world!", "{sha512-crypt}" SHA512_VECTOR, &error), 1);
	assert_int_equal(password_verify("Hello world!", "{CRYPT}" SHA512_VECTOR, &error), 1);
	/* like Dovecot, any *-CRYPT name is checked by crypt(3) */
	assert_int_equal(password_verify("Hello world!", "{SHA256-CRYPT}" SHA512_VECTOR, &error), 1);
	/* a hash cut short never matches */
	char cut[] = SHA512_VECTOR;
	cut[sizeof(cut) - 5] = '\0';
	assert_int_not_equal(password_verify("Hello world!", cut, &error), 1);
}

static void test_password_generated_schemes(void **state)
{
	(void)state;
	static const struct { const char *scheme, *prefix; } schemes[] = {
		{ "SHA512-CRYPT", "{SHA512-CRYPT}$6$" },
		{ "SHA256-CRYPT", "{SHA256-CRYPT}$5$" },
		{ "BLF-CRYPT", "{BLF-CRYPT}$2y$10$" },
		{ "MD5-CRYPT", "{MD5-CRYPT}$1$" },
		{ "CRYPT", "{CRYPT}$y$" },
		{ "plain", "{PLAIN}" },
	};
	for (size_t i = 0; i < N_ELEMENTS(schemes); i++) {
		const char *error = NULL;
		char *hash = password_hash("s3cret pass", schemes[i].scheme, &error);
		if (hash == NULL)
			fail_msg("%s: %s", schemes[i].scheme, error);
		if (strncmp(hash, schemes[i].prefix, strlen(schemes[i].prefix)) != 0)
			fail_msg("%s made %s", schemes[i].scheme, hash);
		assert_true(password_scheme_is_known(schemes[i].scheme));
		assert_true(password_scheme_can_generate(schemes[i].scheme));
		assert_int_equal(password_verify("s3cret pass", hash, &error), 1);
		assert_int_equal(password_verify("s3cret pasS", hash, &error), 0);
		assert_int_equal(password_verify("s3cret pass ", hash, &error), 0);
		assert_int_equal(password_verify("", hash, &error), 0);
		/* a fresh salt each time */
		char *again = password_hash("s3cret pass", schemes[i].scheme, &error);
		if (strcmp(schemes[i].scheme, "plain") != 0)
			assert_string_not_equal(hash, again);
		free(again);
		free(hash);
	}
}

static void test_password_crypt_gensalt(void **state)
{
	(void)state;
	/* hashes libxcrypt makes by itself, stored as bare or {CRYPT} */
	static const char *const prefixes[] = { "$y$", "$2y$", "$2b$", "$6$", "$5$", "$1$" };
	for (size_t i = 0; i < N_ELEMENTS(prefixes); i++) {
		char setting[CRYPT_GENSALT_OUTPUT_SIZE];
		struct crypt_data data;
		const char *error = NULL;

		memset(&data, 0, sizeof(data));
		assert_non_null(crypt_gensalt_rn(prefixes[i], prefixes[i][1] == '2' ? 4 : 0,
						 NULL, 0, setting, sizeof(setting)));
		const char *hash = crypt_rn("pw", setting, &data, sizeof(data));
		assert_non_null(hash);
		char *stored = xasprintf("{CRYPT}%s", hash);
		assert_int_equal(password_verify("pw", hash, &error), 1);
		assert_int_equal(password_verify("pw", stored, &error), 1);
		assert_int_equal(password_verify("pW", stored, &error), 0);
		free(stored);
	}
}

static void test_password_bad_stored(void **state)
{
	(void)state;
	const char *error = NULL;

	assert_int_equal(password_verify("x", "{NOPE}abc", &error), -1);
	assert_non_null(error);
	assert_null(strstr(error, "abc"));
	assert_int_equal(password_verify("x", "", &error), -1);
	assert_int_equal(password_verify("x", "{CRYPT}", &error), -1);
	assert_int_equal(password_verify("x", "*", &error), -1);
	assert_int_equal(password_verify("x", "!$6$locked", &error), -1);
	assert_int_equal(password_verify("x", "$9$notahash", &error), -1);
	/* PLAIN: exact match only */
	assert_int_equal(password_verify("abc", "{PLAIN}abc", &error), 1);
	assert_int_equal(password_verify("ab", "{PLAIN}abc", &error), 0);
	assert_int_equal(password_verify("abcd", "{PLAIN}abc", &error), 0);
	assert_int_equal(password_verify("abc", "{CLEARTEXT}abc", &error), 1);
	/* a "{" without "}" is bare crypt data */
	assert_int_equal(password_verify("x", "{PLAIN", &error), -1);
	/* the dummy hash is a real hash that nothing matches */
	assert_int_equal(password_verify("", password_dummy_hash(), &error), 0);
	assert_int_equal(password_verify("password", password_dummy_hash(), &error), 0);
	/* generating */
	assert_null(password_hash("x", "NOPE", &error));
	assert_null(password_hash("a:b", "PLAIN", &error));
	assert_null(password_hash("a\nb", "PLAIN", &error));
	assert_false(password_scheme_is_known("NOPE"));
	assert_false(password_scheme_can_generate("NOPE"));
	char *h = password_hash("a:b", "SHA512-CRYPT", &error);
	assert_non_null(h);
	assert_int_equal(password_verify("a:b", h, &error), 1);
	free(h);
}

/* password_verify runs on the job pool's threads: several at once must
 * not disturb each other (crypt_rn with per-call buffers). */
struct password_thread {
	const char *hash, *right, *wrong;
	unsigned int mismatches;
};

static void *password_thread_run(void *arg)
{
	struct password_thread *t = arg;
	const char *error;
	for (unsigned int i = 0; i < 20; i++) {
		if (password_verify(t->right, t->hash, &error) != 1 ||
		    password_verify(t->wrong, t->hash, &error) != 0)
			t->mismatches++;
	}
	return NULL;
}

static void test_password_threads(void **state)
{
	(void)state;
	static const char *const schemes[] = { "SHA512-CRYPT", "SHA256-CRYPT", "CRYPT", "PLAIN" };
	struct password_thread threads[N_ELEMENTS(schemes)];
	pthread_t ids[N_ELEMENTS(schemes)];
	const char *error;

	for (size_t i = 0; i < N_ELEMENTS(schemes); i++) {
		char *right = xasprintf("right-%zu", i);
		threads[i] = (struct password_thread){
			.hash = password_hash(right, schemes[i], &error),
			.right = right, .wrong = "wrong",
		};
		assert_non_null(threads[i].hash);
	}
	for (size_t i = 0; i < N_ELEMENTS(schemes); i++)
		assert_int_equal(pthread_create(&ids[i], NULL, password_thread_run, &threads[i]), 0);
	for (size_t i = 0; i < N_ELEMENTS(schemes); i++) {
		assert_int_equal(pthread_join(ids[i], NULL), 0);
		assert_int_equal(threads[i].mismatches, 0);
		free((char *)threads[i].hash);
		free((char *)threads[i].right);
	}
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_known_vector),
		cmocka_unit_test(test_password_generated_schemes),
		cmocka_unit_test(test_password_crypt_gensalt),
		cmocka_unit_test(test_password_bad_stored),
		cmocka_unit_test(test_password_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
