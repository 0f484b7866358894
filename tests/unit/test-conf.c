/* test-conf.c: configuration keys and `listen` lines of the ManageSieve
 * listener (src/conf/conf.c): its default port, the address forms, the
 * quota keys with their defaults, limits and errors; the repeated
 * imapsieve_mailbox lines. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "conf/conf.h"
#include "testlib.h"

/* Loads a config file holding `text`: the config, or NULL with the
 * error in *error_r (allocated). */
static struct roost_config *load(const char *text, char **error_r)
{
	char *path = testlib_path("roost.conf");
	testlib_write_file(path, text, strlen(text));
	*error_r = NULL;
	struct roost_config *c = config_load(path, error_r);
	free(path);
	return c;
}

static int setup(void **state)
{
	(void)state;
	return testlib_dir_create("conf");
}

static int teardown(void **state)
{
	(void)state;
	testlib_dir_remove();
	return 0;
}

static void test_managesieve_listen(void **state)
{
	(void)state;
	char *error;
	struct roost_config *c = load("listen = managesieve 127.0.0.1\n"
				      "listen = managesieve [::1] starttls\n"
				      "listen = managesieve *:14190 starttls\n"
				      "listen = managesieve *\n", &error);
	assert_non_null(c);
	assert_int_equal(c->listener_count, 4);
	assert_string_equal(c->listeners[0].protocol, "managesieve");
	assert_string_equal(c->listeners[0].address, "127.0.0.1");
	assert_int_equal(c->listeners[0].port, 4190);
	assert_int_equal(c->listeners[0].tls, CONF_TLS_NONE);
	assert_string_equal(c->listeners[1].address, "::1");
	assert_int_equal(c->listeners[1].port, 4190);
	assert_int_equal(c->listeners[1].tls, CONF_TLS_STARTTLS);
	assert_string_equal(c->listeners[2].address, "*");
	assert_int_equal(c->listeners[2].port, 14190);
	assert_string_equal(c->listeners[3].address, "*");
	assert_int_equal(c->listeners[3].port, 4190);
	config_free(&c);

	/* only ManageSieve has a default port */
	assert_null(load("listen = imap 127.0.0.1\n", &error));
	assert_non_null(strstr(error, "ADDRESS:PORT"));
	free(error);
	assert_null(load("listen = managesieve []\n", &error));
	assert_non_null(strstr(error, "empty address"));
	free(error);
	assert_null(load("listen = sieve 127.0.0.1:4190\n", &error));
	assert_non_null(strstr(error, "managesieve"));
	free(error);
}

static void test_managesieve_quota_keys(void **state)
{
	(void)state;
	char *error;
	struct roost_config *c = load("", &error);
	assert_non_null(c);
	assert_int_equal(c->managesieve_max_scripts, 100);
	assert_int_equal(c->managesieve_max_storage, 10 * 1024 * 1024);
	config_free(&c);
	c = load("managesieve_max_scripts = 0\nmanagesieve_max_storage = 64K\n", &error);
	assert_non_null(c);
	assert_int_equal(c->managesieve_max_scripts, 0);
	assert_int_equal(c->managesieve_max_storage, 64 * 1024);
	config_free(&c);
	assert_null(load("managesieve_max_scripts = 1000001\n", &error));
	free(error);
	assert_null(load("managesieve_max_storage = 5G\n", &error));
	free(error);
	assert_null(load("managesieve_max_scripts = many\n", &error));
	free(error);
}

static void test_imapsieve_mailbox(void **state)
{
	(void)state;
	char *error;
	struct roost_config *c = load("", &error);
	assert_non_null(c);
	assert_int_equal(c->imapsieve_count, 0);
	config_free(&c);

	c = load("imapsieve_mailbox = Junk COPY,append spam.sieve\n"
		 "imapsieve_mailbox = INBOX  COPY  /etc/ham.sieve  Junk\n"
		 "imapsieve_mailbox = * FLAG /x.sieve\n", &error);
	assert_non_null(c);
	assert_int_equal(c->imapsieve_count, 3);
	assert_string_equal(c->imapsieve[0].mailbox, "Junk");
	assert_int_equal(c->imapsieve[0].causes, CONF_IMAPSIEVE_COPY | CONF_IMAPSIEVE_APPEND);
	/* relative to the config file */
	char *dir = testlib_path("spam.sieve");
	assert_string_equal(c->imapsieve[0].script, dir);
	free(dir);
	assert_null(c->imapsieve[0].from);
	assert_string_equal(c->imapsieve[1].script, "/etc/ham.sieve");
	assert_string_equal(c->imapsieve[1].from, "Junk");
	assert_int_equal(c->imapsieve[2].causes, CONF_IMAPSIEVE_FLAG);
	assert_string_equal(c->imapsieve[2].mailbox, "*");
	config_free(&c);

	assert_null(load("imapsieve_mailbox = Junk COPY\n", &error));
	assert_non_null(strstr(error, "MAILBOX CAUSES SCRIPT"));
	free(error);
	assert_null(load("imapsieve_mailbox = Junk DELIVER x.sieve\n", &error));
	assert_non_null(strstr(error, "APPEND, COPY or FLAG"));
	free(error);
	assert_null(load("imapsieve_mailbox = INBOX APPEND x.sieve Junk\n", &error));
	assert_non_null(strstr(error, "only for the COPY cause"));
	free(error);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_managesieve_listen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_managesieve_quota_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imapsieve_mailbox, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
