/* test-store-import.c: what the store gives `roost import`: a source's
 * UIDVALIDITY taken only by a mailbox that never had a message, UIDNEXT
 * only raised (store_mailbox_set_uids()); a UID asked for is given at or
 * above UIDNEXT only (store_append_set_uid()), and survives a rebuild;
 * batched durability (store_batch_*()) keeps every change; tools' state
 * (store_state_*()) by key, all-or-nothing, shared by the store's opens;
 * and an index of schema 10 gains the state table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "store/store.h"
#include "store-fixture.h"
#include "testlib.h"

static struct store_status status_of(struct store *store, const char *name)
{
	struct store_status st;

	if (store_mailbox_status(store, name, &st) < 0)
		fail_msg("status %s: %s", name, store_last_error(store, NULL));
	return st;
}

static enum store_error last_error(struct store *store)
{
	enum store_error error;

	(void)store_last_error(store, &error);
	return error;
}

/* Appends msg1 to mailbox asking for `uid`; returns the UID it got. */
static uint32_t append_with_uid(struct store *store, const char *mailbox, uint32_t uid)
{
	struct store_append *ctx;
	uint32_t uidvalidity, got;

	assert_int_equal(store_append_begin(store, mailbox, &ctx), 0);
	assert_int_equal(store_append_write(ctx, msg1, strlen(msg1)), 0);
	store_append_set_uid(ctx, uid);
	if (store_append_commit(&ctx, 0, NULL, 0, 1700000000, 0, &uidvalidity, &got) < 0)
		fail_msg("commit: %s", store_last_error(store, NULL));
	return got;
}

static void test_set_uids(void **state)
{
	(void)state;
	struct store *store = open_store("demo");

	assert_int_equal(store_mailbox_create(store, "Imported", 0), 0);
	assert_int_equal(store_mailbox_set_uids(store, "Imported", 1234, 0), 0);
	assert_int_equal(status_of(store, "Imported").uidvalidity, 1234);
	assert_int_equal(store_mailbox_set_uids(store, "Imported", 0, 50), 0);
	assert_int_equal(status_of(store, "Imported").uidnext, 50);
	/* never lowered */
	assert_int_equal(store_mailbox_set_uids(store, "Imported", 0, 10), 0);
	assert_int_equal(status_of(store, "Imported").uidnext, 50);
	/* a mailbox that had a message keeps its UIDVALIDITY */
	append(store, "INBOX", msg1, 0, NULL, 0, 1700000000);
	uint32_t before = status_of(store, "INBOX").uidvalidity;
	assert_int_equal(store_mailbox_set_uids(store, "INBOX", 99, 0), -1);
	assert_int_equal(last_error(store), STORE_ERR_NOTPOSSIBLE);
	assert_int_equal(status_of(store, "INBOX").uidvalidity, before);
	assert_int_equal(store_mailbox_set_uids(store, "Nope", 99, 0), -1);
	assert_int_equal(last_error(store), STORE_ERR_NOTFOUND);
	/* a new mailbox never gets a UIDVALIDITY at or below one taken */
	assert_int_equal(store_mailbox_set_uids(store, "Imported", 4321, 0), -1);
	assert_int_equal(last_error(store), STORE_ERR_NOTPOSSIBLE);
	assert_int_equal(store_mailbox_create(store, "Fresh", 0), 0);
	assert_int_equal(store_mailbox_set_uids(store, "Fresh", 0xfffffff0u, 0), 0);
	assert_int_equal(store_mailbox_create(store, "Later", 0), 0);
	assert_true(status_of(store, "Later").uidvalidity > 0xfffffff0u);
	assert_store_consistent(store);
	store_close(&store);
}

static void test_append_with_uid(void **state)
{
	(void)state;
	struct store *store = open_store("demo");

	assert_int_equal(append_with_uid(store, "INBOX", 7), 7);
	assert_int_equal(status_of(store, "INBOX").uidnext, 8);
	/* below UIDNEXT: the next one */
	assert_int_equal(append_with_uid(store, "INBOX", 3), 8);
	assert_int_equal(append_with_uid(store, "INBOX", 100), 100);
	assert_store_consistent(store);
	store_close(&store);
	/* the rebuild keeps them */
	const char *error;
	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), 0);
	store = open_store("demo");
	struct store_mailbox *box;
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_count(box), 3);
	assert_int_equal(store_mailbox_msg(box, 1)->uid, 7);
	assert_int_equal(store_mailbox_msg(box, 3)->uid, 100);
	assert_int_equal(store_mailbox_uidnext(box), 101);
	store_mailbox_close(&box);
	store_close(&store);
}

static void test_batch(void **state)
{
	(void)state;
	fixture_set.fsync = true;
	struct store *store = open_store("demo");

	assert_int_equal(store_batch_begin(store), 0);
	for (int i = 0; i < 20; i++)
		append(store, "INBOX", msg2, STORE_FLAG_SEEN, NULL, 0, 1700000000 + i);
	assert_int_equal(store_batch_flush(store), 0);
	append(store, "INBOX", msg3, 0, NULL, 0, 1700000100);
	assert_int_equal(store_batch_end(store), 0);
	append(store, "INBOX", msg1, 0, NULL, 0, 1700000200);
	assert_int_equal(status_of(store, "INBOX").messages, 22);
	assert_store_consistent(store);
	store_close(&store);
	store = open_store("demo");
	assert_int_equal(status_of(store, "INBOX").messages, 22);
	store_close(&store);
}

static void test_state(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store *other = open_store("demo");
	struct str value = STR_INIT;
	const char key1[] = "k\0one", key2[] = "k2";
	struct store_state_item items[] = {
		{ .key = key1, .key_len = sizeof(key1), .value = "v1", .value_len = 2 },
		{ .key = key2, .key_len = 2, .value = "", .value_len = 0 },
	};

	assert_int_equal(store_state_get(store, key2, 2, &value), -1);
	assert_int_equal(last_error(store), STORE_ERR_NOTFOUND);
	assert_int_equal(store_state_set(store, items, 2), 0);
	assert_int_equal(store_state_get(other, key1, sizeof(key1), &value), 0);
	assert_int_equal(value.len, 2);
	assert_memory_equal(value.data, "v1", 2);
	assert_int_equal(store_state_get(store, key2, 2, &value), 0);
	assert_int_equal(value.len, 0);
	/* keys are bytes: "k" alone is another key */
	assert_int_equal(store_state_get(store, "k", 1, &value), -1);
	items[0].value = NULL;
	assert_int_equal(store_state_set(store, items, 1), 0);
	assert_int_equal(store_state_get(store, key1, sizeof(key1), &value), -1);
	store_close(&other);
	store_close(&store);
	store = open_store("demo");
	assert_int_equal(store_state_get(store, key2, 2, &value), 0);
	str_free(&value);
	store_close(&store);
}

static void test_schema_10_index_upgraded(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct str value = STR_INIT;
	struct store_state_item item = { .key = "a", .key_len = 1, .value = "b", .value_len = 1 };

	store_close(&store);
	fixture_index_exec("BEGIN; DROP TABLE tool_state; PRAGMA user_version = 10; COMMIT;");
	store = open_store("demo");
	assert_int_equal(store_state_get(store, "a", 1, &value), -1);
	assert_int_equal(store_state_set(store, &item, 1), 0);
	assert_int_equal(store_state_get(store, "a", 1, &value), 0);
	str_free(&value);
	store_close(&store);
}

#define IMPORT_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		IMPORT_TEST(test_set_uids),
		IMPORT_TEST(test_append_with_uid),
		IMPORT_TEST(test_batch),
		IMPORT_TEST(test_state),
		IMPORT_TEST(test_schema_10_index_upgraded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
