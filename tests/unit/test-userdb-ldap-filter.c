/* test-userdb-ldap-filter.c: the LDAP search filter template
 * (auth/userdb-ldap-filter.h): placeholders, RFC 4515 section 3 escaping
 * of every character that could change a filter's structure, and
 * templates the configuration must refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "auth/userdb-ldap-filter.h"

#define DEFAULT_FILTER "(&(objectClass=inetOrgPerson)(|(uid=%u)(mail=%u)))"

static void expect_expand(const char *template, const char *user, const char *want)
{
	const char *error = NULL;
	char *got = userdb_ldap_filter_expand(template, user, &error);
	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_placeholders(void **state)
{
	(void)state;
	expect_expand(DEFAULT_FILTER, "alice",
		      "(&(objectClass=inetOrgPerson)(|(uid=alice)(mail=alice)))");
	expect_expand("(uid=%n)", "bob@example.com", "(uid=bob)");
	expect_expand("(&(uid=%n)(dc=%d))", "bob@example.com", "(&(uid=bob)(dc=example.com))");
	/* the last '@' splits */
	expect_expand("(&(uid=%n)(dc=%d))", "a@b@c", "(&(uid=a@b)(dc=c))");
	/* no domain: %n is the whole name, %d empty */
	expect_expand("(&(uid=%n)(dc=%d))", "carol", "(&(uid=carol)(dc=))");
	expect_expand("(cn=100%%)", "x", "(cn=100%)");
	expect_expand("(uid=%u)", "", "(uid=)");
}

/* RFC 4515 section 3: NUL, '(', ')', '*' and '\' must be escaped; we
 * escape octets >= 0x80 as well. */
static void test_escaping(void **state)
{
	(void)state;
	expect_expand("(uid=%u)", "*", "(uid=\\2a)");
	expect_expand("(uid=%u)", ")(uid=*", "(uid=\\29\\28uid=\\2a)");
	expect_expand("(uid=%u)", "*)(|(objectClass=*", "(uid=\\2a\\29\\28|\\28objectClass=\\2a)");
	expect_expand("(uid=%u)", "a\\2a", "(uid=a\\5c2a)");
	expect_expand("(uid=%u)", "admin)(&", "(uid=admin\\29\\28&)");
	expect_expand("(uid=%u)", "j\xc3\xb6rg", "(uid=j\\c3\\b6rg)");
	/* harmless characters stay */
	expect_expand("(uid=%u)", "a.b-c_d+e=f&g|h!i~j", "(uid=a.b-c_d+e=f&g|h!i~j)");
	/* in the local part and domain alike */
	expect_expand("(&(uid=%n)(dc=%d))", "*@(x)", "(&(uid=\\2a)(dc=\\28x\\29))");

	char *e = userdb_ldap_filter_escape("a\0b", 3);
	assert_string_equal(e, "a\\00b");
	free(e);
	e = userdb_ldap_filter_escape("", 0);
	assert_string_equal(e, "");
	free(e);
}

static void test_bad_templates(void **state)
{
	(void)state;
	const char *bad[] = {
		"uid=%u",		/* no parenthesis */
		"(uid=%u",		/* unbalanced */
		"(uid=%u))",
		"(uid=%x)",		/* unknown placeholder */
		"(uid=%)",
		"(uid=%u)%",
		"(uid=ab\\2",		/* truncated escape */
		"(uid=ab\\zz)",	/* not hex */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *error = NULL;
		assert_int_equal(userdb_ldap_filter_check(bad[i], &error), -1);
		assert_non_null(error);
		error = NULL;
		assert_null(userdb_ldap_filter_expand(bad[i], "u", &error));
		assert_non_null(error);
	}
	const char *error = NULL;
	assert_int_equal(userdb_ldap_filter_check(DEFAULT_FILTER, &error), 0);
	assert_int_equal(userdb_ldap_filter_check("(cn=a\\28b\\29)", &error), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_bad_templates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
