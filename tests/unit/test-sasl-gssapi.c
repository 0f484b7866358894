/* test-sasl-gssapi.c: the GSSAPI mechanism without a KDC: when it is
 * usable, and the failures that need no ticket (no keytab, garbage and
 * empty tokens, the states).  The full exchange against a real MIT KDC is
 * tests/interop/test_kerberos.py. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/sasl.h"
#include "conf/conf.h"
#include "testlib.h"

static struct sasl_peer gssapi_test_peer = { .service = "imap" };

static struct roost_config *gssapi_test_config(const char *keytab)
{
	char *error = NULL;
	struct roost_config *c = config_load(NULL, &error);
	assert_non_null(c);
	free(c->auth_gssapi_keytab);
	c->auth_gssapi_keytab = xstrdup(keytab);
	free(c->auth_gssapi_hostname);
	c->auth_gssapi_hostname = xstrdup("localhost");
	return c;
}

static void test_gssapi_usable(void **state)
{
	(void)state;
	char *path = testlib_path("krb5.keytab");
	struct roost_config *c = gssapi_test_config(path);

	assert_false(sasl_mech_gssapi.usable(c, &gssapi_test_peer));
	/* 0x05 0x02: an empty MIT keytab */
	testlib_write_file(path, "\x05\x02", 2);
	assert_true(sasl_mech_gssapi.usable(c, &gssapi_test_peer));
	if (geteuid() != 0) {
		chmod(path, 0);
		assert_false(sasl_mech_gssapi.usable(c, &gssapi_test_peer));
		chmod(path, 0600);
	}
	c->auth_gssapi_keytab[0] = '\0';
	assert_false(sasl_mech_gssapi.usable(c, &gssapi_test_peer));
	assert_false(sasl_mech_gssapi.usable(NULL, &gssapi_test_peer));
	assert_int_equal(sasl_mech_gssapi.flags & SASL_MECH_FLAG_PLAINTEXT, 0);
	config_free(&c);
	free(path);
}

static enum sasl_step_result gssapi_test_step(struct sasl_exchange *ex, const char *in,
					      size_t len, struct sasl_output *out)
{
	return sasl_exchange_step(ex, (const unsigned char *)in, len, out);
}

static void test_gssapi_failures(void **state)
{
	(void)state;
	char *path = testlib_path("empty.keytab");
	struct roost_config *c = gssapi_test_config(path);
	struct sasl_exchange *ex;
	struct sasl_output out;

	testlib_write_file(path, "\x05\x02", 2);
	/* no initial response: an empty challenge */
	ex = sasl_exchange_create(&sasl_mech_gssapi, c, &gssapi_test_peer);
	assert_int_equal(sasl_exchange_step(ex, NULL, 0, &out), SASL_STEP_CONTINUE);
	assert_int_equal(out.data_len, 0);
	/* an empty token */
	assert_int_equal(gssapi_test_step(ex, "", 0, &out), SASL_STEP_FAILED);
	assert_string_equal(out.error, "Empty Kerberos token");
	sasl_exchange_destroy(&ex);

	/* the keytab has no key for imap/localhost: whatever the token, a
	 * temporary failure (the server's, not the client's); the interop
	 * test sends garbage to a server with a real key */
	static const char *const bad[] = {
		"garbage", "\x60", "\x60\x82\xff\xff", "\x60\x0b\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ex = sasl_exchange_create(&sasl_mech_gssapi, c, &gssapi_test_peer);
		enum sasl_step_result r = gssapi_test_step(ex, bad[i], strlen(bad[i]), &out);
		assert_int_equal(r, SASL_STEP_FAILED);
		assert_string_equal(out.error, "Kerberos keytab unusable");
		assert_true(out.tempfail);
		sasl_exchange_destroy(&ex);
	}

	/* a keytab that is gone: a temporary failure */
	free(c->auth_gssapi_keytab);
	c->auth_gssapi_keytab = testlib_path("missing.keytab");
	ex = sasl_exchange_create(&sasl_mech_gssapi, c, &gssapi_test_peer);
	assert_int_equal(gssapi_test_step(ex, "garbage", 7, &out), SASL_STEP_FAILED);
	assert_true(out.tempfail);
	sasl_exchange_destroy(&ex);
	config_free(&c);
	free(path);
}

static int gssapi_test_setup(void **state)
{
	(void)state;
	/* no system krb5.conf, replay cache or trace output is touched */
	setenv("KRB5_CONFIG", "/dev/null", 1);
	return testlib_dir_create("gssapi");
}

static int gssapi_test_teardown(void **state)
{
	(void)state;
	testlib_dir_remove();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gssapi_usable),
		cmocka_unit_test(test_gssapi_failures),
	};
	return cmocka_run_group_tests(tests, gssapi_test_setup, gssapi_test_teardown);
}
