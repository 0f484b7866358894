/* test-store-sieve-track.c: Sieve's tracking memory
 * (store_sieve_track_seen() and store_sieve_track_mark()): ids are
 * opaque bytes, an id is seen until its expiry and not at it, a new mark
 * replaces the expiry, the memory outlives the store and is shared by its
 * opens, expired rows are deleted now and then (the first mark of a store
 * and every 32nd), a rebuild keeps the live ids, and an index of schema
 * 9 gains the table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "store/store.h"
#include "store-fixture.h"
#include "testlib.h"

#define T0 ((time_t)2000000000)

static int seen(struct store *store, const char *id, size_t len, time_t now)
{
	int ret = store_sieve_track_seen(store, id, len, now);

	if (ret < 0)
		fail_msg("seen: %s", store_last_error(store, NULL));
	return ret;
}

static void mark(struct store *store, const char *id, size_t len, time_t expires)
{
	if (store_sieve_track_mark(store, id, len, expires) < 0)
		fail_msg("mark: %s", store_last_error(store, NULL));
}

/* An integer that sql (one value) gives on user demo's index. */
static long long index_value(const char *sql)
{
	char *path = user_path("index.sqlite");
	sqlite3 *db;
	sqlite3_stmt *stmt;
	long long value;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	value = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(path);
	return value;
}

static void test_seen_until_expiry(void **state)
{
	(void)state;
	struct store *store = open_store("demo");

	assert_int_equal(seen(store, "a", 1, T0), 0);
	mark(store, "a", 1, T0 + 100);
	assert_int_equal(seen(store, "a", 1, T0), 1);
	assert_int_equal(seen(store, "a", 1, T0 + 99), 1);
	/* RFC 5230 4.1: a reply is sent again once the period is over */
	assert_int_equal(seen(store, "a", 1, T0 + 100), 0);
	assert_int_equal(seen(store, "a", 1, T0 + 101), 0);
	/* a new mark replaces the expiry, earlier or later */
	mark(store, "a", 1, T0 + 10);
	assert_int_equal(seen(store, "a", 1, T0 + 50), 0);
	mark(store, "a", 1, T0 + 1000);
	assert_int_equal(seen(store, "a", 1, T0 + 999), 1);
	store_close(&store);
}

static void test_ids_are_bytes(void **state)
{
	(void)state;
	struct store *store = open_store("demo");

	mark(store, "x\0y", 3, T0 + 100);
	assert_int_equal(seen(store, "x\0y", 3, T0), 1);
	assert_int_equal(seen(store, "x\0z", 3, T0), 0);
	assert_int_equal(seen(store, "x", 1, T0), 0);
	assert_int_equal(seen(store, "x\0", 2, T0), 0);
	assert_int_equal(seen(store, "X\0y", 3, T0), 0);
	assert_int_equal(seen(store, "x\0y\0", 4, T0), 0);
	/* a long id (vacation's: a hash would do, but nothing limits it) */
	char big[4000];
	memset(big, 'b', sizeof(big));
	mark(store, big, sizeof(big), T0 + 100);
	assert_int_equal(seen(store, big, sizeof(big), T0), 1);
	assert_int_equal(seen(store, big, sizeof(big) - 1, T0), 0);
	store_close(&store);
}

static void test_memory_outlives_the_store(void **state)
{
	(void)state;
	struct store *a = open_store("demo");
	struct store *other = open_store("other");

	mark(a, "id", 2, T0 + 100);
	store_close(&a);
	a = open_store("demo");
	assert_int_equal(seen(a, "id", 2, T0), 1);
	/* per user */
	assert_int_equal(seen(other, "id", 2, T0), 0);
	store_close(&a);
	store_close(&other);
}

static void test_expired_rows_pruned(void **state)
{
	(void)state;
	time_t now = time(NULL);
	struct store *store = open_store("demo");
	char id[16];

	/* the store's first mark prunes, after adding its own row */
	mark(store, "gone", 4, now - 10);
	assert_int_equal(index_value("SELECT count(*) FROM sieve_track"), 0);
	mark(store, "live", 4, now + 3600);
	/* marks 3 to 32 leave the expired rows */
	for (int i = 3; i <= 32; i++) {
		snprintf(id, sizeof(id), "old%d", i);
		mark(store, id, strlen(id), now - 10);
	}
	assert_int_equal(index_value("SELECT count(*) FROM sieve_track"), 31);
	assert_int_equal(seen(store, "old5", 4, now), 0);
	/* the 33rd deletes them all, keeping what lives */
	mark(store, "live2", 5, now + 3600);
	assert_int_equal(index_value("SELECT count(*) FROM sieve_track"), 2);
	assert_int_equal(seen(store, "live", 4, now), 1);
	assert_int_equal(seen(store, "live2", 5, now), 1);
	store_close(&store);
}

static void test_rebuild_keeps_live_ids(void **state)
{
	(void)state;
	time_t now = time(NULL);
	struct store *store = open_store("demo");
	const char *error;

	mark(store, "live", 4, now + 3600);
	mark(store, "bin\0ary", 7, now + 7200);
	/* expired but not yet pruned: not copied */
	mark(store, "stale", 5, now - 1);
	store_close(&store);
	assert_int_equal(index_value("SELECT count(*) FROM sieve_track"), 3);
	if (store_rebuild(&fixture_set, "demo", &error) < 0)
		fail_msg("rebuild: %s", error);
	assert_int_equal(index_value("SELECT count(*) FROM sieve_track"), 2);
	store = open_store("demo");
	assert_int_equal(seen(store, "live", 4, now), 1);
	assert_int_equal(seen(store, "bin\0ary", 7, now + 7000), 1);
	assert_int_equal(seen(store, "bin\0ary", 7, now + 7200), 0);
	assert_int_equal(seen(store, "stale", 5, now - 10), 0);
	store_close(&store);
}

static void test_schema_9_index_upgraded(void **state)
{
	(void)state;
	struct store *store = open_store("demo");

	store_close(&store);
	fixture_index_exec("BEGIN; DROP TABLE sieve_track; DROP TABLE tool_state; PRAGMA user_version = 9; COMMIT;");
	store = open_store("demo");
	assert_int_equal(seen(store, "a", 1, T0), 0);
	mark(store, "a", 1, T0 + 1);
	assert_int_equal(seen(store, "a", 1, T0), 1);
	assert_int_equal(index_value("PRAGMA user_version"), 11);
	store_close(&store);
}

#define TRACK_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TRACK_TEST(test_seen_until_expiry),
		TRACK_TEST(test_ids_are_bytes),
		TRACK_TEST(test_memory_outlives_the_store),
		TRACK_TEST(test_expired_rows_pruned),
		TRACK_TEST(test_rebuild_keeps_live_ids),
		TRACK_TEST(test_schema_9_index_upgraded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
