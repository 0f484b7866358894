/* test-store-faults.c: the store when the disk or the index fails, as
 * SQLite tests itself: each operation (APPEND, COPY, MOVE, STORE flags,
 * EXPUNGE, LMTP's delivery of a shared message) is run again and again
 * with its 1st, 2nd, 3rd, ... write, fsync or index call failing
 * (base/fault.h, store/sqlite-index/fault-vfs.c) until it gets through.
 * Each failure must give the error class the protocols turn into a
 * clear answer (STORE_ERR_NOSPACE: [OVERQUOTA] / 452, STORE_ERR_BUSY:
 * [UNAVAILABLE], STORE_ERR_TEMP: [SERVERBUG] / 451), change nothing
 * (nothing acknowledged lost, nothing half done), and leave a store
 * that store_mailbox_check() (`roost check`) finds consistent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/fault.h"
#include "base/str.h"
#include "store/store.h"
#include "store-fixture.h"
#include "testlib.h"

static const char *const snapshot_mailboxes[] = { "INBOX", "Archive" };

/* Everything a client could see of the mailboxes, one line per message:
 * mailbox, UID, flags, keywords and text.  Allocated. */
static char *snapshot(struct store *store)
{
	struct str s = STR_INIT;

	for (size_t i = 0; i < N_ELEMENTS(snapshot_mailboxes); i++) {
		struct store_mailbox *box;

		assert_int_equal(store_mailbox_open(store, snapshot_mailboxes[i], true, &box), 0);
		for (uint32_t msn = 1; msn <= store_mailbox_count(box); msn++) {
			const struct store_msg *m = store_mailbox_msg(box, msn);
			char *text = read_msg(box, msn);

			str_printfa(&s, "%s %u/%u/%llx/%s\n", snapshot_mailboxes[i], m->uid, m->flags,
				    (unsigned long long)m->keywords, text);
			free(text);
		}
		store_mailbox_close(&box);
	}
	return str_steal(&s);
}

/* Asserts that the backend keeps a body for each message and nothing
 * more, and has nothing staged. */
static void assert_files_match(struct store *store)
{
	for (size_t i = 0; i < N_ELEMENTS(snapshot_mailboxes); i++) {
		struct store_status status;

		assert_int_equal(store_mailbox_status(store, snapshot_mailboxes[i], &status), 0);
		assert_count(stored_count("demo", snapshot_mailboxes[i]), status.messages);
		assert_count(staged_count("demo", snapshot_mailboxes[i]), 0);
	}
}

/* Whether every line of before is in after: nothing lost. */
static bool snapshot_contains(const char *after, const char *before)
{
	bool found = true;

	for (const char *line = before; found && *line != '\0'; ) {
		const char *end = strchr(line, '\n') + 1;
		char *copy = xstrndup(line, (size_t)(end - line));

		found = strstr(after, copy) != NULL;
		free(copy);
		line = end;
	}
	return found;
}

/* What store_mailbox_check() reports for mailbox; allocated, "" when
 * all is well. */
static char *check_reports(struct store *store, const char *mailbox)
{
	struct reports r = { .count = 0 };

	r.text[0] = '\0';
	assert_true(store_mailbox_check(store, mailbox, collect_report, &r) >= 0);
	return xstrdup(r.text);
}

/* One operation under test, on the session's INBOX view: 0, -1 with
 * the store's error set, or 1 when the message functions refused it
 * before any store was involved (they have no error class). */
typedef int fault_op_t(struct store *store, struct store_mailbox *box);

/* Runs op with the nth call of `point` failing with `error` (count
 * calls in a row; 0: all), for nth = 1, 2, ... until op succeeds.
 * Every failed run must report `expected` and leave the index as it
 * was.  Where the failure was an fsync of the index's log during its
 * COMMIT, the transaction may be durable all the same, and the Maildir
 * backend keeps the files it placed (recover.c, maildir_recover_marker_end())
 * as a crash there would: then the check reports them until the next
 * writer, here an append to that mailbox, adopts them; nothing that was
 * there before may be lost.  Any other failure, a COMMIT that failed to
 * write included, certainly changed nothing: the files match the index
 * and the check finds nothing at once.  At least one run must fail.
 * Returns the number of runs that failed. */
static unsigned int fault_loop(struct store *store, struct store_mailbox *box,
			       fault_op_t *op, enum fault_point point, int error,
			       unsigned int count, enum store_error expected)
{
	unsigned int failures = 0;

	for (unsigned int nth = 1; nth < 200; nth++) {
		char *before = snapshot(store);
		enum store_error err;

		fault_arm(point, error, nth, count);
		int ret = op(store, box);
		unsigned int fired = fault_fired(point);
		fault_disarm();
		if (ret == 0) {
			/* the store got through the failure, or there was
			 * none left to inject */
			free(before);
			assert_files_match(store);
			assert_store_consistent(store);
			assert_true(failures > 0);
			return failures;
		}
		const char *text = ret < 0 ? store_last_error(store, &err) : "refused";
		if (fired == 0)
			fail_msg("run %u failed without an injected failure: %s", nth, text);
		if (ret < 0 && err != expected)
			fail_msg("run %u: error class %d (%s), expected %d", nth, err, text, expected);
		failures++;
		assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
		char *after = snapshot(store);
		assert_string_equal(after, before);
		free(after);
		for (size_t i = 0; i < N_ELEMENTS(snapshot_mailboxes); i++) {
			char *problems = check_reports(store, snapshot_mailboxes[i]);

			if (problems[0] != '\0') {
				if (point != FAULT_INDEX_SYNC ||
				    strstr(problems, "without an index row") == NULL)
					fail_msg("run %u: %s", nth, problems);
				/* the next writer */
				append(store, snapshot_mailboxes[i], msg1, 0, NULL, 0, 0);
				assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
				after = snapshot(store);
				assert_true(snapshot_contains(after, before));
				free(after);
			}
			free(problems);
		}
		free(before);
		assert_files_match(store);
		assert_store_consistent(store);
	}
	fail_msg("the operation never got through");
	return 0;
}

static int op_append(struct store *store, struct store_mailbox *box)
{
	struct store_append *ctx;
	const char *kws[] = { "$Fresh" };
	uint32_t uidvalidity, uid;
	size_t half = strlen(msg3) / 2;

	(void)box;
	if (store_append_begin(store, "INBOX", &ctx) < 0)
		return -1;
	if (store_append_write(ctx, msg3, half) < 0 ||
	    store_append_write(ctx, msg3 + half, strlen(msg3) - half) < 0) {
		store_append_abort(&ctx);
		return -1;
	}
	return store_append_commit(&ctx, STORE_FLAG_FLAGGED, kws, 1, 0, 0, &uidvalidity, &uid);
}

static int op_copy(struct store *store, struct store_mailbox *box)
{
	uint32_t msns[] = { 1, 2 }, uidvalidity, *uids = NULL;
	int ret;

	(void)store;
	ret = store_mailbox_copy(box, msns, 2, "Archive", false, &uidvalidity, &uids);
	free(uids);
	return ret;
}

static int op_move(struct store *store, struct store_mailbox *box)
{
	uint32_t msn = 1, uidvalidity, *uids = NULL;
	int ret;

	(void)store;
	ret = store_mailbox_copy(box, &msn, 1, "Archive", true, &uidvalidity, &uids);
	free(uids);
	return ret;
}

static int op_store_flags(struct store *store, struct store_mailbox *box)
{
	uint32_t msns[] = { 1, 2 }, *failed = NULL;
	size_t failed_count;
	int ret;

	(void)store;
	ret = store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
					 STORE_FLAG_SEEN | STORE_FLAG_ANSWERED, 0, 0,
					 &failed, &failed_count);
	free(failed);
	return ret;
}

static int op_expunge(struct store *store, struct store_mailbox *box)
{
	(void)store;
	return store_mailbox_expunge(box, NULL, 0);
}

/* LMTP's single copy: the message is spooled and parsed once, then
 * appended; here to demo's INBOX.  A spool that cannot be written is
 * refused by the message functions, before any store (1: LMTP then
 * writes a copy per recipient, which fails like an append). */
static int op_deliver_shared(struct store *store, struct store_mailbox *box)
{
	struct store_message *msg;
	struct store_append *ctx;
	const char *error;
	uint32_t uidvalidity, uid;
	int ret = 1;

	(void)box;
	if (store_message_begin(&fixture_set, &msg, &error) < 0)
		return 1;
	if (store_message_write(msg, msg2, strlen(msg2), &error) == 0 &&
	    store_message_finish(msg, 0, &error) == 0) {
		ret = store_append_begin_message(store, "INBOX", msg, &ctx);
		if (ret == 0)
			ret = store_append_commit(&ctx, 0, NULL, 0, 0, 0, &uidvalidity, &uid);
	}
	store_message_free(&msg);
	return ret;
}

/* A store with two messages in INBOX (one with a keyword), one in
 * Archive, and the INBOX view open; fsync on, so that every sync is
 * there to fail. */
static struct store *faults_store(struct store_mailbox **box_r)
{
	const char *kws[] = { "Work" };
	struct store *store;

	fixture_set.fsync = true;
	store = open_store("demo");
	append(store, "INBOX", msg1, STORE_FLAG_SEEN, kws, 1, 1600000000);
	append(store, "INBOX", msg2, 0, NULL, 0, 0);
	append(store, "Archive", msg3, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, box_r), 0);
	return store;
}

/* Every operation, with each failure its own store. */
static void run_all_ops(enum fault_point point, int error, unsigned int count,
			enum store_error expected)
{
	static fault_op_t *const ops[] = {
		op_append, op_copy, op_move, op_store_flags, op_expunge, op_deliver_shared,
	};

	for (size_t i = 0; i < N_ELEMENTS(ops); i++) {
		struct store_mailbox *box;
		struct store *store = faults_store(&box);

		if (ops[i] == op_expunge) {
			uint32_t msn = 2, *failed;
			size_t failed_count;

			assert_int_equal(store_mailbox_update_flags(box, &msn, 1, STORE_FLAGS_ADD,
				STORE_FLAG_DELETED, 0, 0, &failed, &failed_count), 0);
		}
		fault_loop(store, box, ops[i], point, error, count, expected);
		/* and the next change goes through */
		append(store, "INBOX", msg1, 0, NULL, 0, 0);
		assert_store_consistent(store);
		store_mailbox_close(&box);
		store_close(&store);
		testlib_dir_remove();
		assert_int_equal(testlib_dir_create("faults"), 0);
		fixture_backend->place(&fixture_set, testlib_dir());
	}
}

/* The message file cannot be written: disk full, or an I/O error.
 * (COPY and MOVE link the files, EXPUNGE and STORE write none: they go
 * through at once, which fault_loop() does not accept; only the writers
 * are run.) */
static void test_msg_write(void **state)
{
	(void)state;
	static fault_op_t *const writers[] = { op_append, op_deliver_shared };

	for (size_t i = 0; i < N_ELEMENTS(writers); i++) {
		struct store_mailbox *box;
		struct store *store = faults_store(&box);

		fault_loop(store, box, writers[i], FAULT_MSG_WRITE, ENOSPC, 1, STORE_ERR_NOSPACE);
		fault_loop(store, box, writers[i], FAULT_MSG_WRITE, EIO, 1, STORE_ERR_TEMP);
		store_mailbox_close(&box);
		store_close(&store);
	}
}

/* An fsync of a message file or directory fails. */
static void test_file_fsync(void **state)
{
	(void)state;
	run_all_ops(FAULT_FILE_FSYNC, EIO, 1, STORE_ERR_TEMP);
}

/* The index cannot grow: SQLITE_FULL. */
static void test_index_full(void **state)
{
	(void)state;
	run_all_ops(FAULT_INDEX_WRITE, ENOSPC, 1, STORE_ERR_NOSPACE);
}

/* The index cannot be written or synced: SQLITE_IOERR. */
static void test_index_ioerr(void **state)
{
	(void)state;
	run_all_ops(FAULT_INDEX_WRITE, EIO, 1, STORE_ERR_TEMP);
	run_all_ops(FAULT_INDEX_SYNC, EIO, 1, STORE_ERR_TEMP);
}

/* The index's write lock stays taken for longer than the busy timeout:
 * SQLITE_BUSY, once per operation (each run waits the 5 s timeout). */
static void test_index_busy(void **state)
{
	(void)state;
	struct store_mailbox *box;
	struct store *store = faults_store(&box);
	enum store_error err;

	char *before = snapshot(store);
	fault_arm(FAULT_INDEX_LOCK, EBUSY, 1, 0);
	assert_int_equal(op_store_flags(store, box), -1);
	assert_true(fault_fired(FAULT_INDEX_LOCK) > 0);
	fault_disarm();
	(void)store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_BUSY);
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	char *after = snapshot(store);
	assert_string_equal(after, before);
	free(after);
	free(before);
	assert_store_consistent(store);
	assert_int_equal(op_store_flags(store, box), 0);
	store_mailbox_close(&box);
	store_close(&store);
}

/* ROOST_FAULTS: what a live server reads. */
static void test_env(void **state)
{
	(void)state;
	const char *error;

	setenv("ROOST_FAULTS", "msg-write:ENOSPC:2,index-lock:EBUSY:1:0", 1);
	assert_int_equal(fault_init_env(&error), 0);
	assert_int_equal(fault_inject(FAULT_MSG_WRITE), 0);
	assert_int_equal(fault_inject(FAULT_MSG_WRITE), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(fault_inject(FAULT_MSG_WRITE), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fault_inject(FAULT_INDEX_LOCK), -1);
		assert_int_equal(errno, EBUSY);
	}
	assert_int_equal(fault_inject(FAULT_FILE_FSYNC), 0);
	assert_int_equal(fault_fired(FAULT_INDEX_LOCK), 3);
	fault_disarm();
	assert_int_equal(fault_inject(FAULT_INDEX_LOCK), 0);

	static const char *const bad[] = {
		"msg-write", "msg-write:ENOSPC", "msg-write:ENOSPC:0", "nope:EIO:1",
		"msg-write:EPERM:1", "msg-write:EIO:1:2:3", "msg-write:EIO:x", ",",
		"msg-write:EIO:1:",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		setenv("ROOST_FAULTS", bad[i], 1);
		if (fault_init_env(&error) != -1)
			fail_msg("ROOST_FAULTS=%s accepted", bad[i]);
		assert_int_equal(fault_inject(FAULT_MSG_WRITE), 0);
	}
	unsetenv("ROOST_FAULTS");
	assert_int_equal(fault_init_env(&error), 0);
}

#define FAULT_THREADS 4
#define FAULT_THREAD_CALLS 1000000

static pthread_barrier_t fault_threads_start;

static void *fault_thread(void *arg)
{
	unsigned int *failed = arg;
	pthread_barrier_wait(&fault_threads_start);
	for (int i = 0; i < FAULT_THREAD_CALLS; i++) {
		if (fault_inject(FAULT_INDEX_WRITE) < 0)
			(*failed)++;
	}
	return NULL;
}

/* Store requests run on the worker's helper threads (store/request.h),
 * several stores at once: an armed point counts the calls of all of
 * them, and fails exactly as many as it was armed for. */
static void test_threads(void **state)
{
	(void)state;
	const unsigned int count = FAULT_THREADS * FAULT_THREAD_CALLS / 2;
	pthread_t threads[FAULT_THREADS];
	unsigned int failed[FAULT_THREADS] = { 0 }, total = 0;

	fault_arm(FAULT_INDEX_WRITE, EIO, 1, count);
	pthread_barrier_init(&fault_threads_start, NULL, FAULT_THREADS);
	for (int i = 0; i < FAULT_THREADS; i++)
		assert_int_equal(pthread_create(&threads[i], NULL, fault_thread, &failed[i]), 0);
	for (int i = 0; i < FAULT_THREADS; i++) {
		pthread_join(threads[i], NULL);
		total += failed[i];
	}
	pthread_barrier_destroy(&fault_threads_start);
	fault_disarm();
	assert_int_equal(total, count);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_env, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_threads, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_msg_write, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_file_fsync, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_index_full, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_index_ioerr, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_index_busy, fixture_setup, fixture_teardown),
	};

	/* the index opens through the fault VFS from the first store on */
	fault_enable();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
