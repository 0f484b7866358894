/* test-store-sieve.c: a user's Sieve scripts in the store
 * (store_sieve_*()): names and their checks, put/get/list, one active
 * script, delete and rename rules, names that need escaping or do not fit
 * in a file name, what lands on disk, and durability (the files are
 * complete whatever the order of a crash). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/fault.h"
#include "base/str.h"
#include "store/store.h"
#include "store-fixture.h"
#include "testlib.h"

static void assert_error(struct store *store, enum store_error expected)
{
	enum store_error error;
	(void)store_last_error(store, &error);
	assert_int_equal(error, expected);
}

static void put(struct store *store, const char *name, const char *text)
{
	assert_int_equal(store_sieve_put(store, name, text, strlen(text)), 0);
}

static void assert_text(struct store *store, const char *name, const char *expected)
{
	struct str text = STR_INIT;
	assert_int_equal(store_sieve_get(store, name, &text, NULL), 0);
	assert_int_equal(text.len, strlen(expected));
	assert_memory_equal(text.data, expected, text.len);
	str_free(&text);
}

static void assert_active(struct store *store, const char *expected)
{
	const char *name;
	assert_int_equal(store_sieve_get_active(store, &name), 0);
	if (expected == NULL)
		assert_null(name);
	else
		assert_string_equal(name, expected);
}

/* RFC 5804 1.6's names: UTF-8, no controls, no U+2028/2029; Roost adds
 * no '/'; 1..255 octets. */
static void test_names(void **state)
{
	(void)state;
	char long_name[STORE_SIEVE_NAME_MAX + 2];

	assert_true(store_sieve_name_is_valid("vacation"));
	assert_true(store_sieve_name_is_valid("Zürich rules"));
	assert_true(store_sieve_name_is_valid(".hidden"));
	assert_true(store_sieve_name_is_valid("100%"));
	assert_false(store_sieve_name_is_valid(""));
	assert_false(store_sieve_name_is_valid("a/b"));
	assert_false(store_sieve_name_is_valid("tab\there"));
	assert_false(store_sieve_name_is_valid("del\x7f"));
	assert_false(store_sieve_name_is_valid("c1\xc2\x85"));
	assert_true(store_sieve_name_is_valid("nbsp\xc2\xa0"));
	assert_false(store_sieve_name_is_valid("ls\xe2\x80\xa8"));
	assert_false(store_sieve_name_is_valid("ps\xe2\x80\xa9"));
	assert_true(store_sieve_name_is_valid("dash\xe2\x80\x93"));
	assert_false(store_sieve_name_is_valid("bad\xff"));
	assert_false(store_sieve_name_is_valid("overlong\xc0\xaf"));
	memset(long_name, 'x', STORE_SIEVE_NAME_MAX);
	long_name[STORE_SIEVE_NAME_MAX] = '\0';
	assert_true(store_sieve_name_is_valid(long_name));
	long_name[STORE_SIEVE_NAME_MAX] = 'x';
	long_name[STORE_SIEVE_NAME_MAX + 1] = '\0';
	assert_false(store_sieve_name_is_valid(long_name));

	struct store *store = open_store("demo");
	assert_int_equal(store_sieve_put(store, "a/b", "keep;", 5), -1);
	assert_error(store, STORE_ERR_PARAMS);
	assert_int_equal(store_sieve_put(store, long_name, "keep;", 5), -1);
	assert_error(store, STORE_ERR_PARAMS);
	store_close(&store);
}

/* No scripts at first; put, get, replace, list sorted with sizes. */
static void test_put_get_list(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_sieve_info *infos;
	size_t count;
	struct str text = STR_INIT;

	assert_int_equal(store_sieve_list(store, &infos, &count), 0);
	assert_int_equal(count, 0);
	free(infos);
	assert_active(store, NULL);
	assert_int_equal(store_sieve_get(store, "none", &text, NULL), -1);
	assert_error(store, STORE_ERR_NOTFOUND);

	put(store, "work", "fileinto \"Work\";\r\n");
	put(store, "Alpha", "keep;");
	put(store, "zed", "");
	uint64_t stamp1, stamp2;
	assert_int_equal(store_sieve_get(store, "work", &text, &stamp1), 0);
	str_truncate(&text, 0);
	put(store, "work", "discard;");
	assert_int_equal(store_sieve_get(store, "work", &text, &stamp2), 0);
	assert_string_equal(str_c(&text), "discard;");
	assert_true(stamp1 != stamp2);
	str_free(&text);
	assert_text(store, "zed", "");

	assert_int_equal(store_sieve_list(store, &infos, &count), 0);
	assert_int_equal(count, 3);
	assert_string_equal(infos[0].name, "Alpha");
	assert_int_equal(infos[0].size, 5);
	assert_string_equal(infos[1].name, "work");
	assert_int_equal(infos[1].size, 8);
	assert_string_equal(infos[2].name, "zed");
	assert_false(infos[0].active || infos[1].active || infos[2].active);
	free(infos);

	/* what is on disk: sieve/ 0700, files 0600 */
	struct stat st;
	char *path = user_path("sieve");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(path);
	path = user_path("sieve/work.sieve");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(path);
	store_close(&store);
}

/* One active script: activate, switch, deactivate; replacing the active
 * one keeps it active; the active one cannot be deleted. */
static void test_active(void **state)
{
	(void)state;
	struct store *store = open_store("demo"), *other = open_store("other");
	struct store_sieve_info *infos;
	size_t count;

	assert_int_equal(store_sieve_activate(store, NULL), 0);
	assert_int_equal(store_sieve_activate(store, "missing"), -1);
	assert_error(store, STORE_ERR_NOTFOUND);
	put(store, "a", "keep;");
	put(store, "b", "discard;");
	assert_int_equal(store_sieve_activate(store, "missing"), -1);
	assert_error(store, STORE_ERR_NOTFOUND);
	assert_int_equal(store_sieve_activate(store, "a"), 0);
	assert_active(store, "a");
	assert_int_equal(store_sieve_activate(store, "b"), 0);
	assert_active(store, "b");
	assert_int_equal(store_sieve_list(store, &infos, &count), 0);
	assert_int_equal(count, 2);
	assert_false(infos[0].active);
	assert_true(infos[1].active);
	free(infos);
	put(store, "b", "stop;");
	assert_active(store, "b");
	assert_text(store, "b", "stop;");

	assert_int_equal(store_sieve_delete(store, "b"), -1);
	assert_error(store, STORE_ERR_INUSE);
	assert_int_equal(store_sieve_delete(store, "a"), 0);
	assert_int_equal(store_sieve_delete(store, "a"), -1);
	assert_error(store, STORE_ERR_NOTFOUND);
	assert_active(other, NULL);
	assert_int_equal(store_sieve_activate(store, NULL), 0);
	assert_active(store, NULL);
	assert_int_equal(store_sieve_delete(store, "b"), 0);
	assert_int_equal(store_sieve_list(store, &infos, &count), 0);
	assert_int_equal(count, 0);
	free(infos);
	store_close(&store);
	store_close(&other);
}

/* Rename keeps the text and the active mark; not onto an existing name;
 * a missing script is NOTFOUND. */
static void test_rename(void **state)
{
	(void)state;
	struct store *store = open_store("demo");

	assert_int_equal(store_sieve_rename(store, "x", "y"), -1);
	assert_error(store, STORE_ERR_NOTFOUND);
	put(store, "x", "keep;");
	put(store, "y", "discard;");
	assert_int_equal(store_sieve_rename(store, "x", "y"), -1);
	assert_error(store, STORE_ERR_EXISTS);
	assert_int_equal(store_sieve_rename(store, "missing", "z"), -1);
	assert_error(store, STORE_ERR_NOTFOUND);
	assert_int_equal(store_sieve_rename(store, "x", "a/b"), -1);
	assert_error(store, STORE_ERR_PARAMS);
	assert_int_equal(store_sieve_activate(store, "x"), 0);
	assert_int_equal(store_sieve_rename(store, "x", "z"), 0);
	assert_active(store, "z");
	assert_text(store, "z", "keep;");
	struct str text = STR_INIT;
	assert_int_equal(store_sieve_get(store, "x", &text, NULL), -1);
	assert_error(store, STORE_ERR_NOTFOUND);
	str_free(&text);
	assert_int_equal(store_sieve_rename(store, "y", "x"), 0);
	assert_active(store, "z");
	assert_text(store, "x", "discard;");
	store_close(&store);
}

/* Names that are not file names as they are ('.', '..', a leading '~' or
 * '.', '%', the longest names, UTF-8) round-trip through list, get,
 * activate and rename; nothing is written outside sieve/. */
static void test_escaped_names(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	char long_a[STORE_SIEVE_NAME_MAX + 1], long_b[STORE_SIEVE_NAME_MAX + 1];
	memset(long_a, '%', STORE_SIEVE_NAME_MAX);
	long_a[STORE_SIEVE_NAME_MAX] = '\0';
	memset(long_b, 'b', STORE_SIEVE_NAME_MAX);
	long_b[STORE_SIEVE_NAME_MAX] = '\0';
	const char *names[] = { ".", "..", ".lock", "~x", "active", "a%2Fb", "a.sieve",
				"é ü", long_a, long_b };
	const size_t n = N_ELEMENTS(names);

	for (size_t i = 0; i < n; i++)
		put(store, names[i], names[i]);
	struct store_sieve_info *infos;
	size_t count;
	assert_int_equal(store_sieve_list(store, &infos, &count), 0);
	assert_int_equal(count, n);
	for (size_t i = 0; i < n; i++) {
		bool found = false;
		for (size_t j = 0; j < count; j++)
			found = found || strcmp(infos[j].name, names[i]) == 0;
		assert_true(found);
		assert_text(store, names[i], names[i]);
	}
	free(infos);
	assert_int_equal(store_sieve_activate(store, long_a), 0);
	assert_active(store, long_a);
	assert_int_equal(store_sieve_rename(store, long_a, "short"), 0);
	assert_active(store, "short");
	assert_int_equal(store_sieve_rename(store, "short", long_a), 0);
	assert_active(store, long_a);
	assert_int_equal(store_sieve_activate(store, ".."), 0);
	assert_active(store, "..");
	assert_int_equal(store_sieve_delete(store, long_a), 0);
	assert_int_equal(store_sieve_delete(store, long_b), 0);
	assert_int_equal(store_sieve_list(store, &infos, &count), 0);
	assert_int_equal(count, n - 2);
	free(infos);
	/* only the scripts and the link are left in sieve/ (dot files not
	 * counted): the long names' .name files went with their scripts */
	char *dir = user_path("sieve");
	assert_int_equal(testlib_count_files(dir), (n - 2) + 1);
	free(dir);
	store_close(&store);
}

/* With fsync on, a put is complete on disk when it returns (no
 * temporary file left behind). */
static void test_durable_put(void **state)
{
	(void)state;
	fixture_set.fsync = true;
	struct store *store = open_store("demo");
	put(store, "a", "keep;");
	put(store, "a", "discard;");
	assert_int_equal(store_sieve_activate(store, "a"), 0);
	char *dir = user_path("sieve");
	/* a.sieve and active (dot files not counted) */
	assert_int_equal(testlib_count_files(dir), 2);
	char *cmd = xasprintf("ls -a '%s' | grep -q tmp", dir);
	assert_int_not_equal(system(cmd), 0);	/* grep finds nothing */
	free(cmd);
	free(dir);
	char *link = user_path("sieve/active"), buf[64];
	ssize_t len = readlink(link, buf, sizeof(buf) - 1);
	assert_true(len > 0);
	buf[len] = '\0';
	assert_string_equal(buf, "a.sieve");
	free(link);
	store_close(&store);
}

/* A put whose fsync fails (the file's, then the directory's) reports the
 * error and leaves the script whole: the old text or the new one, never
 * a mix, never a temporary file; the active mark stays. */
static void test_failed_writes(void **state)
{
	(void)state;
	fixture_set.fsync = true;
	struct store *store = open_store("demo");
	put(store, "a", "keep;");
	assert_int_equal(store_sieve_activate(store, "a"), 0);
	for (unsigned int nth = 1; nth <= 2; nth++) {
		fault_arm(FAULT_FILE_FSYNC, ENOSPC, nth, 1);
		assert_int_equal(store_sieve_put(store, "a", "discard;", 8), -1);
		fault_disarm();
		assert_error(store, STORE_ERR_NOSPACE);
		struct str text = STR_INIT;
		assert_int_equal(store_sieve_get(store, "a", &text, NULL), 0);
		/* the file's fsync failed: the old text; the directory's: the
		 * new one is in place, only its durability was not confirmed */
		assert_string_equal(str_c(&text), nth == 1 ? "keep;" : "discard;");
		str_free(&text);
		assert_active(store, "a");
		char *dir = user_path("sieve");
		char *cmd = xasprintf("ls -a '%s' | grep -q tmp", dir);
		assert_int_not_equal(system(cmd), 0);
		free(cmd);
		free(dir);
		put(store, "a", "keep;");
	}
	fault_arm(FAULT_FILE_FSYNC, EIO, 1, 1);
	assert_int_equal(store_sieve_activate(store, NULL), -1);
	fault_disarm();
	assert_error(store, STORE_ERR_TEMP);
	store_close(&store);
}

#define SIEVE_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SIEVE_TEST(test_names),
		SIEVE_TEST(test_put_get_list),
		SIEVE_TEST(test_active),
		SIEVE_TEST(test_rename),
		SIEVE_TEST(test_escaped_names),
		SIEVE_TEST(test_durable_put),
		SIEVE_TEST(test_failed_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
