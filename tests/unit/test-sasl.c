/* test-sasl.c: the mechanism table and PLAIN (RFC 4616): good messages,
 * missing or extra NULs, empty fields, authzid rules, UTF-8, limits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "base/str.h"

static struct sasl_peer sasl_test_peer;
/* the password PLAIN asked to verify, kept after the exchange wiped it */
static char sasl_test_password[300];

/* Steps once; a VERIFY_PASSWORD lookup is answered OK.  Returns 1 for
 * DONE, 0 for CONTINUE, -1 for FAILED. */
static int sasl_test_step(struct sasl_exchange *ex, const unsigned char *in, size_t len,
			  const char **error_r, size_t *out_len_r)
{
	struct sasl_output out;
	enum sasl_step_result ret = sasl_exchange_step(ex, in, len, &out);
	sasl_test_password[0] = '\0';
	if (ret == SASL_STEP_LOOKUP) {
		assert_int_equal(out.lookup.kind, SASL_LOOKUP_VERIFY_PASSWORD);
		assert_true(strlen(out.lookup.password) < sizeof(sasl_test_password));
		strcpy(sasl_test_password, out.lookup.password);
		struct sasl_lookup_result result = { .status = SASL_LOOKUP_OK };
		ret = sasl_exchange_lookup_done(ex, &result, &out);
	}
	*error_r = out.error;
	if (out_len_r != NULL)
		*out_len_r = out.data_len;
	return ret == SASL_STEP_DONE ? 1 : ret == SASL_STEP_CONTINUE ? 0 : -1;
}

static int sasl_test_plain(const char *message, size_t len, struct sasl_exchange **ex_r,
			   const char **error_r)
{
	*ex_r = sasl_exchange_create(sasl_mech_find("PLAIN"), NULL, &sasl_test_peer);
	return sasl_test_step(*ex_r, (const unsigned char *)message, len, error_r, NULL);
}

#define SASL_TEST(lit) (lit), sizeof(lit) - 1

static void test_sasl_mechs(void **state)
{
	(void)state;
	const struct sasl_mech *plain = sasl_mech_find("PLAIN");
	assert_non_null(plain);
	assert_ptr_equal(sasl_mech_find("plain"), plain);
	assert_ptr_equal(sasl_mech_find("Plain"), plain);
	assert_null(sasl_mech_find("PLAINX"));
	assert_null(sasl_mech_find(""));
	assert_null(sasl_mech_find("SCRAM-SHA-257"));
	/* the table: unique upper-case names; of this file's mechanisms
	 * PLAIN, LOGIN, ANONYMOUS in that order (others come between) */
	const struct sasl_mech *mech;
	size_t count = 0, at_plain = 0, at_login = 0, at_anonymous = 0;
	for (size_t i = 0; (mech = sasl_mech_at(i)) != NULL; i++) {
		for (const char *p = mech->name; *p != '\0'; p++)
			assert_false(*p >= 'a' && *p <= 'z');
		assert_ptr_equal(sasl_mech_find(mech->name), mech);
		at_plain = mech == plain ? i + 1 : at_plain;
		at_login = mech == &sasl_mech_login ? i + 1 : at_login;
		at_anonymous = mech == &sasl_mech_anonymous ? i + 1 : at_anonymous;
		count++;
	}
	assert_true(count >= 3);
	assert_true(at_plain > 0 && at_plain < at_login && at_login < at_anonymous);
	assert_null(sasl_mech_at(count));
	assert_true((sasl_mech_anonymous.flags & SASL_MECH_FLAG_NOT_DEFAULT) != 0);
	assert_true((sasl_mech_login.flags & SASL_MECH_FLAG_PLAINTEXT) != 0);
	assert_string_equal(plain->name, "PLAIN");
	assert_true((plain->flags & SASL_MECH_FLAG_PLAINTEXT) != 0);
}

static void test_sasl_plain_good(void **state)
{
	(void)state;
	struct sasl_exchange *ex;
	const char *error = NULL;

	/* RFC 4616 section 4 examples */
	assert_int_equal(sasl_test_plain(SASL_TEST("\0tim\0tanstaaftanstaaf"), &ex, &error), 1);
	assert_string_equal(sasl_exchange_authcid(ex), "tim");
	assert_string_equal(sasl_exchange_authzid(ex), "");
	assert_string_equal(sasl_test_password, "tanstaaftanstaaf");
	assert_ptr_equal(sasl_exchange_mech(ex), &sasl_mech_plain);
	sasl_exchange_destroy(&ex);
	assert_null(ex);

	/* authzid equal to authcid */
	assert_int_equal(sasl_test_plain(SASL_TEST("bob@example.org\0bob@example.org\0pw"),
					 &ex, &error), 1);
	assert_string_equal(sasl_exchange_authcid(ex), "bob@example.org");
	assert_string_equal(sasl_exchange_authzid(ex), "bob@example.org");
	sasl_exchange_destroy(&ex);

	/* an authzid that names the same account: user names are compared
	 * normalised (lowercase, auth_user_normalize()); both are kept as
	 * sent, the authcid is normalised at login */
	assert_int_equal(sasl_test_plain(SASL_TEST("Demo\0demo\0pw"), &ex, &error), 1);
	assert_string_equal(sasl_exchange_authzid(ex), "Demo");
	assert_string_equal(sasl_exchange_authcid(ex), "demo");
	sasl_exchange_destroy(&ex);
	assert_int_equal(sasl_test_plain(SASL_TEST("bob@example.org\0Bob@EXAMPLE.org\0pw"),
					 &ex, &error), 1);
	sasl_exchange_destroy(&ex);

	/* UTF-8 and spaces are fine */
	assert_int_equal(sasl_test_plain(SASL_TEST("\0j\xc3\xb6rg\0p w \xe2\x82\xac"),
					 &ex, &error), 1);
	assert_string_equal(sasl_test_password, "p w \xe2\x82\xac");
	sasl_exchange_destroy(&ex);

	/* no initial response: an empty challenge first */
	size_t out_len = 99;
	ex = sasl_exchange_create(&sasl_mech_plain, NULL, &sasl_test_peer);
	assert_int_equal(sasl_test_step(ex, NULL, 0, &error, &out_len), 0);
	assert_int_equal(out_len, 0);
	assert_int_equal(sasl_test_step(ex, (const unsigned char *)"\0u\0p", 4, &error, NULL),
			 1);
	assert_string_equal(sasl_exchange_authcid(ex), "u");
	assert_string_equal(sasl_test_password, "p");
	sasl_exchange_destroy(&ex);

	/* 255 octets each: the most RFC 4616 requires */
	struct str m = STR_INIT;
	char field[256];
	memset(field, 'a', 255);
	field[255] = '\0';
	str_append(&m, field);
	str_append_c(&m, '\0');
	str_append(&m, field);
	str_append_c(&m, '\0');
	str_append(&m, field);
	assert_int_equal(sasl_test_plain(m.data, m.len, &ex, &error), 1);
	assert_int_equal(strlen(sasl_test_password), 255);
	sasl_exchange_destroy(&ex);
	str_free(&m);

	sasl_exchange_destroy(&ex);	/* NULL is fine */
}

/* An authzid that differs is reported, not judged: the driver decides
 * (auth_master_users; test-auth.c). */
static void test_sasl_plain_authzid_reported(void **state)
{
	(void)state;
	static const struct { const char *data; size_t len; const char *authzid; } cases[] = {
		{ SASL_TEST("admin\0tim\0secret"), "admin" },
		{ SASL_TEST("tim \0tim\0secret"), "tim " },
		{ SASL_TEST("t\xc3\xadm\0t\xc3\x8dm\0secret"), "t\xc3\xadm" },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct sasl_exchange *ex;
		const char *error = NULL;
		assert_int_equal(sasl_test_plain(cases[i].data, cases[i].len, &ex, &error), 1);
		assert_string_equal(sasl_exchange_authzid(ex), cases[i].authzid);
		sasl_exchange_destroy(&ex);
	}
}

static void test_sasl_plain_bad(void **state)
{
	(void)state;
	static const struct { const char *data; size_t len; } bad[] = {
		{ SASL_TEST("") },			/* empty response */
		{ SASL_TEST("tim") },			/* no NUL */
		{ SASL_TEST("tim\0secret") },		/* one NUL */
		{ SASL_TEST("\0tim\0secret\0") },	/* three NULs */
		{ SASL_TEST("\0tim\0sec\0ret") },
		{ SASL_TEST("\0\0secret") },		/* empty authcid */
		{ SASL_TEST("\0tim\0") },		/* empty password */
		{ SASL_TEST("\0\0") },
		{ SASL_TEST("\0t\xffm\0secret") },	/* not UTF-8 */
		{ SASL_TEST("\0tim\0se\xc3") },		/* cut UTF-8 */
		{ SASL_TEST("\0tim\0\xc0\xaf") },	/* overlong UTF-8 */
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct sasl_exchange *ex;
		const char *error = NULL;
		if (sasl_test_plain(bad[i].data, bad[i].len, &ex, &error) != -1)
			fail_msg("case %zu accepted", i);
		assert_non_null(error);
		assert_null(sasl_exchange_authcid(ex));
		sasl_exchange_destroy(&ex);
	}

	/* 256 octets in any field */
	for (unsigned int f = 0; f < 3; f++) {
		struct str m = STR_INIT;
		char big[257];
		memset(big, 'b', 256);
		big[256] = '\0';
		str_append(&m, f == 0 ? big : "");
		str_append_c(&m, '\0');
		str_append(&m, f == 0 || f == 1 ? big : "user");
		str_append_c(&m, '\0');
		str_append(&m, f == 2 ? big : "pw");
		struct sasl_exchange *ex;
		const char *error = NULL;
		assert_int_equal(sasl_test_plain(m.data, m.len, &ex, &error), -1);
		assert_non_null(strstr(error, "255"));
		sasl_exchange_destroy(&ex);
		str_free(&m);
	}
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sasl_mechs),
		cmocka_unit_test(test_sasl_plain_good),
		cmocka_unit_test(test_sasl_plain_authzid_reported),
		cmocka_unit_test(test_sasl_plain_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
