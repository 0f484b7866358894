/* test-store-crash.c: the Maildir store under concurrency and after
 * crashes, beside the conformance suite: the tmp/ cleanup against an
 * APPEND in progress, opening an index another process holds locked,
 * files and recovery markers that a crash left in cur/ and tmp/, and
 * transactions that fail half-way (a trigger in the index, a failing
 * fsync (base/fault.h), unlink or rename) and must leave the files as the index says. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#include <sys/syscall.h>

#include "base/base.h"
#include "base/fault.h"
#include "store/store.h"
#include "store-fixture.h"
#include "testlib.h"

/* A child that opens the index with a connection of its own and runs
 * `begin` on it ("BEGIN IMMEDIATE": the write lock; "BEGIN EXCLUSIVE":
 * readers are locked out too), says so on the pipe, waits wait_ms, runs
 * in_lock() (if any) and lets go after hold_ms in all. */
static pid_t hold_index_lock(const char *index_path, const char *begin, int hold_ms,
			     int wait_ms, void (*in_lock)(void))
{
	int fds[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db;

		close(fds[0]);
		if (sqlite3_open(index_path, &db) != SQLITE_OK ||
		    sqlite3_exec(db, begin, NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		usleep((useconds_t)wait_ms * 1000);
		if (in_lock != NULL)
			in_lock();
		usleep((useconds_t)(hold_ms - wait_ms) * 1000);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

static pid_t hold_write_lock(const char *index_path, int hold_ms, int wait_ms,
			     void (*in_lock)(void))
{
	return hold_index_lock(index_path, "BEGIN IMMEDIATE", hold_ms, wait_ms, in_lock);
}

/* Another process's SELECT: opens INBOX, which cleans stale tmp/ files. */
static void other_select(void)
{
	struct store *store;
	struct store_mailbox *box;
	const char *error;

	if (store_open(&fixture_set, "demo", &store, &error) < 0 ||
	    store_mailbox_open(store, "INBOX", true, &box) < 0)
		_exit(2);
	store_mailbox_close(&box);
	store_close(&store);
}

/* An APPEND with a very old INTERNALDATE waits for the write lock after
 * it has set its tmp/ file's mtime to that date; another session's
 * SELECT cleans tmp/ meanwhile.  The file must survive (tmp/ files are
 * aged by ctime, which the writer does not set). */
static void test_append_old_date_vs_cleanup(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_append *ctx;
	struct store_status status;
	uint32_t uidvalidity, uid;
	char *index = user_path("index.sqlite");

	assert_int_equal(store_append_begin(store, "INBOX", &ctx), 0);
	assert_int_equal(store_append_write(ctx, msg1, strlen(msg1)), 0);
	pid_t pid = hold_write_lock(index, 600, 200, other_select);
	/* 1990: older than any tmp/ age limit */
	assert_int_equal(store_append_commit(&ctx, 0, NULL, 0, 631152000, 0,
					     &uidvalidity, &uid), 0);
	wait_child(pid);
	assert_int_equal(uid, 1);
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 1);
	/* and a tmp/ file whose mtime a writer set far back stays */
	char *tmp = user_path("Maildir/tmp/1.M1P1Q1.writing");
	testlib_write_file(tmp, "Subject: x\r\n", 12);
	struct timespec old[2] = { { 631152000, 0 }, { 631152000, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, tmp, old, 0), 0);
	struct store_mailbox *box;
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	store_mailbox_close(&box);
	struct stat st;
	assert_int_equal(stat(tmp, &st), 0);
	free(tmp);
	free(index);
	store_close(&store);
}

/* A fresh user's index that another process holds locked (here for
 * longer than SQLite's busy timeout, 5 s) while this one opens it: the
 * open waits and retries (PRAGMA journal_mode, schema creation) instead
 * of failing the LOGIN. */
static void test_open_waits_for_locked_index(void **state)
{
	(void)state;
	char *dir = user_path("");
	char *cmd = xasprintf("mkdir -p '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(dir);
	char *index = user_path("index.sqlite");
	sqlite3 *db;
	assert_int_equal(sqlite3_open(index, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	pid_t pid = hold_index_lock(index, "BEGIN EXCLUSIVE", 5600, 0, NULL);
	struct store *store = open_store("demo");
	wait_child(pid);
	struct store_status status;
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 0);
	assert_int_equal(append(store, "INBOX", msg2, 0, NULL, 0, 0), 1);
	store_close(&store);
	free(index);
}

/* Every UID carried by at most one file of cur/, and each message of the
 * view has exactly one. */
static void assert_uids_unique(struct store *store, const char *cur)
{
	struct store_mailbox *box;

	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(testlib_count_files(cur), store_mailbox_count(box));
	for (uint32_t i = 1; i <= store_mailbox_count(box); i++) {
		unsigned int n;
		char *name = cur_file_with_uid(cur, store_mailbox_msg(box, i)->uid, &n);

		if (n != 1)
			fail_msg("UID %u is carried by %u files", store_mailbox_msg(box, i)->uid, n);
		free(name);
	}
	store_mailbox_close(&box);
}

static void plant_orphan(const char *name, const char *text)
{
	char *cur = user_path("Maildir/cur");
	char *path = xasprintf("%s/%s", cur, name);

	testlib_write_file(path, text, strlen(text));
	free(path);
	free(cur);
}

/* A crash between an append's rename into cur/ and its commit left a
 * file with U=3 (UIDNEXT) and no row.  The next APPEND, even before any
 * SELECT, must not get UID 3; the file becomes message 3. */
static void test_orphan_uid_never_reused(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_status status;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 2);
	store_close(&store);
	char name[128];
	snprintf(name, sizeof(name), "1700000000.M1P99Q1.crashed,S=%zu,U=3:2,S", strlen(msg2));
	plant_orphan(name, msg2);

	store = open_store("demo");
	struct reports r = { .count = 0 };
	r.text[0] = '\0';
	assert_true(store_mailbox_check(store, "INBOX", collect_report, &r) >= 1);
	assert_non_null(strstr(r.text, "without an index row"));
	assert_non_null(strstr(r.text, "crashed"));
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 4);
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 4);
	assert_int_equal(status.uidnext, 5);
	char *cur = user_path("Maildir/cur");
	assert_uids_unique(store, cur);
	/* the orphan kept its UID and flags */
	struct store_mailbox *box;
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_msg(box, 3)->uid, 3);
	assert_int_equal(store_mailbox_msg(box, 3)->flags, STORE_FLAG_SEEN);
	assert_int_equal(store_mailbox_msg(box, 3)->size, strlen(msg2));
	store_mailbox_close(&box);
	r.count = 0;
	r.text[0] = '\0';
	assert_int_equal(store_mailbox_check(store, "INBOX", collect_report, &r), 0);
	free(cur);
	store_close(&store);
}

/* The same crash in another process while this one already has the
 * folder open (it compared cur/ with the index before the crash): the
 * marker the dead transaction left in tmp/ makes the next UID skip past
 * the file it left in cur/. */
static void test_crash_marker_seen_by_running_process(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	char name[128];
	snprintf(name, sizeof(name), "1700000000.M1P99Q1.crashed,S=%zu,U=2:2,", strlen(msg2));
	plant_orphan(name, msg2);
	char *marker = user_path("Maildir/tmp/.roost-uids-2-2.1700000000.M1P99Q2.crashed");
	testlib_write_file(marker, "", 0);

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 3);
	struct stat st;
	assert_int_equal(stat(marker, &st), -1);	/* swept */
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_count(box), 3);
	assert_int_equal(store_mailbox_msg(box, 2)->uid, 2);
	assert_int_equal(store_mailbox_msg(box, 3)->uid, 3);
	store_mailbox_close(&box);
	char *cur = user_path("Maildir/cur");
	assert_uids_unique(store, cur);
	free(cur);
	free(marker);
	store_close(&store);
}

/* Two files carry U=2: the indexed (acknowledged) message keeps UID 2,
 * the unknown one is reported and adopted with a new UID. */
static void test_duplicate_uid_files(void **state)
{
	(void)state;
	struct store *store = open_store("demo");

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 2);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 3);
	store_close(&store);
	char name[128];
	snprintf(name, sizeof(name), "1700000000.M1P99Q1.crashed,S=%zu,U=2:2,", strlen(msg2));
	plant_orphan(name, msg2);

	store = open_store("demo");
	struct reports r = { .count = 0 };
	r.text[0] = '\0';
	assert_true(store_mailbox_check(store, "INBOX", collect_report, &r) >= 2);
	assert_non_null(strstr(r.text, "UID 2: carried by two files"));
	assert_non_null(strstr(r.text, "without an index row"));
	struct store_mailbox *box;
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_count(box), 4);
	assert_int_equal(store_mailbox_msg(box, 2)->uid, 2);
	assert_int_equal(store_mailbox_msg(box, 2)->size, strlen(msg1));
	assert_int_equal(store_mailbox_msg(box, 4)->uid, 4);
	assert_int_equal(store_mailbox_msg(box, 4)->size, strlen(msg2));
	store_mailbox_close(&box);
	char *cur = user_path("Maildir/cur");
	assert_uids_unique(store, cur);
	free(cur);
	store_close(&store);
}

/* An unknown file whose UID was expunged is what an expunge left: gone. */
static void test_orphan_with_expunged_uid(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	uint32_t m2 = 2;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 2);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_int_equal(store_mailbox_expunge(box, &m2, 1), 0);
	store_mailbox_close(&box);
	store_close(&store);
	plant_orphan("1700000000.M1P99Q1.leftover,S=5,U=2:2,", "A: b\n");
	store = open_store("demo");
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_count(box), 1);
	store_mailbox_close(&box);
	char *cur = user_path("Maildir/cur");
	assert_int_equal(testlib_count_files(cur), 1);
	free(cur);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 3);
	store_close(&store);
}

/* The orphan of a crash whose UID the next append reused (what older
 * versions did), with ctimes reset by a copy so that it looks newest:
 * the rebuild keeps UID 2 for the message the index had (acknowledged),
 * and gives the orphan a new one. */
static void test_rebuild_keeps_index_uids(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_status before, after;
	const char *error;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 2);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 3);
	assert_int_equal(store_mailbox_status(store, "INBOX", &before), 0);
	store_close(&store);
	char name[128];
	snprintf(name, sizeof(name), "1700000000.M1P99Q1.crashed,S=%zu,U=2:2,", strlen(msg2));
	plant_orphan(name, msg2);
	/* the orphan's ctime newest, as after cp -a of the Maildir */
	usleep(20000);
	char *cur = user_path("Maildir/cur");
	char *orphan = xasprintf("%s/%s", cur, name);
	assert_int_equal(chmod(orphan, 0600), 0);
	free(orphan);

	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), 0);
	store = open_store("demo");
	assert_int_equal(store_mailbox_status(store, "INBOX", &after), 0);
	assert_int_equal(after.uidvalidity, before.uidvalidity);
	assert_int_equal(after.messages, 4);
	struct store_mailbox *box;
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	for (uint32_t i = 1; i <= 3; i++) {
		assert_int_equal(store_mailbox_msg(box, i)->uid, i);
		assert_int_equal(store_mailbox_msg(box, i)->size, strlen(msg1));
	}
	assert_int_equal(store_mailbox_msg(box, 4)->uid, 4);
	assert_int_equal(store_mailbox_msg(box, 4)->size, strlen(msg2));
	store_mailbox_close(&box);
	assert_uids_unique(store, cur);
	free(cur);
	store_close(&store);
}

/* An expunge (EXPUNGE, or MOVE's expunge of its sources) whose
 * transaction fails after the rows were deleted must leave every message
 * file in place: the rows come back with the rollback, and a row whose
 * file is gone would be a message nobody can read. */
static void test_failed_expunge_keeps_files(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	uint32_t m1 = 1, uidvalidity, *uids = NULL;
	char *cur = user_path("Maildir/cur");
	char *other_cur = user_path("Maildir/.Other/cur");
	struct istream *msg;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	assert_int_equal(append(store, "INBOX", msg2, 0, NULL, 0, 0), 2);
	assert_int_equal(store_mailbox_create(store, "Other", 0), 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	/* the tombstone, written after the row is deleted, fails */
	fixture_index_exec("CREATE TRIGGER fail_expunge BEFORE INSERT ON expunged "
		   "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
	assert_int_equal(store_mailbox_expunge(box, &m1, 1), -1);
	assert_int_equal(testlib_count_files(cur), 2);
	assert_int_equal(store_mailbox_copy(box, &m1, 1, "Other", true, &uidvalidity, &uids), -1);
	assert_int_equal(testlib_count_files(cur), 2);
	assert_int_equal(testlib_count_files(other_cur), 0);
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_count(box), 2);
	for (uint32_t msn = 1; msn <= 2; msn++) {
		assert_int_equal(store_mailbox_msg_stream(box, msn, &msg), 0);
		istream_destroy(&msg);
	}
	fixture_index_exec("DROP TRIGGER fail_expunge");
	assert_int_equal(store_mailbox_copy(box, &m1, 1, "Other", true, &uidvalidity, &uids), 0);
	free(uids);
	assert_int_equal(testlib_count_files(cur), 1);
	assert_int_equal(testlib_count_files(other_cur), 1);
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_count(box), 1);
	assert_int_equal(store_mailbox_expunge(box, &m1, 1), 0);
	assert_int_equal(testlib_count_files(cur), 0);
	store_mailbox_close(&box);
	free(cur);
	free(other_cur);
	store_close(&store);
}

/* APPENDs with `count` keywords named <prefix><i>; the result. */
static int append_keywords(struct store *store, const char *prefix, size_t count)
{
	struct store_append *ctx;
	uint32_t uidvalidity, uid;
	char **names = xcalloc(count, sizeof(*names));
	int ret;

	for (size_t i = 0; i < count; i++)
		names[i] = xasprintf("%s%zu", prefix, i);
	assert_int_equal(store_append_begin(store, "INBOX", &ctx), 0);
	assert_int_equal(store_append_write(ctx, msg1, strlen(msg1)), 0);
	ret = store_append_commit(&ctx, 0, (const char *const *)names, count, 0, 0,
				  &uidvalidity, &uid);
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	return ret;
}

/* An APPEND refused with STORE_ERR_LIMIT (too many keywords) after some
 * of its new keywords were given letters: the rollback takes them out of
 * the index, and roost-keywords (which a rebuild reads) must not keep
 * naming them either. */
static void test_append_limit_restores_keyword_file(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	char *path = user_path("Maildir/roost-keywords");
	char *before, *after;
	enum store_error err;
	const char *error;

	assert_int_equal(append_keywords(store, "$a", 20), 0);
	before = testlib_read_file(path);
	assert_non_null(strstr(before, "19 $a19\n"));
	/* letters 20-25 go to $b0..$b5 before $b44 overflows the table */
	assert_int_equal(append_keywords(store, "$b", 50), -1);
	(void)store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_LIMIT);
	after = testlib_read_file(path);
	assert_string_equal(after, before);
	free(after);
	store_close(&store);
	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), 0);
	store = open_store("demo");
	struct store_mailbox *box;
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(kw_index(box, "$b0", false), -1);
	assert_true(kw_index(box, "$a19", false) >= 0);
	store_mailbox_close(&box);
	free(before);
	free(path);
	store_close(&store);
}

static unsigned int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* An APPEND whose tmp/ file cannot be synced fails without keeping the
 * file's descriptor open (a worker runs out of descriptors otherwise)
 * and without leaving the file in tmp/. */
static void test_append_fsync_failure_closes_file(void **state)
{
	(void)state;
	struct store *store;
	struct store_append *ctx;
	uint32_t uidvalidity, uid;
	char *tmp = user_path("Maildir/tmp");
	unsigned int before;

	fixture_set.fsync = true;
	store = open_store("demo");
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	before = count_open_fds();
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_append_begin(store, "INBOX", &ctx), 0);
		assert_int_equal(store_append_write(ctx, msg2, strlen(msg2)), 0);
		fault_arm(FAULT_FILE_FSYNC, EIO, 1, 1);
		assert_int_equal(store_append_commit(&ctx, 0, NULL, 0, 0, 0, &uidvalidity, &uid), -1);
		assert_int_equal(fault_fired(FAULT_FILE_FSYNC), 1);
		fault_disarm();
	}
	assert_int_equal(count_open_fds(), before);
	assert_int_equal(testlib_count_files(tmp), 0);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 2);
	store_close(&store);
	fixture_set.fsync = false;
	free(tmp);
}

/* unlink() of this program: fails with EACCES for paths containing
 * fail_unlink_in while it is set (another owner's file in new/). */
static const char *fail_unlink_in;

int unlink(const char *path)
{
	if (fail_unlink_in != NULL && strstr(path, fail_unlink_in) != NULL) {
		errno = EACCES;
		return -1;
	}
	return (int)syscall(SYS_unlinkat, AT_FDCWD, path, 0);
}

/* A file in new/ that the pickup copies into cur/ but cannot remove from
 * new/: the sync fails, and nothing is left in cur/ to be adopted as a
 * message, which the next sync would pick up again (one more copy of
 * the message each time). */
static void test_pickup_unlink_failure_leaves_no_copy(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	char *newfile = user_path("Maildir/new/1700000000.M1P1.host");
	char *cur = user_path("Maildir/cur");

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	testlib_write_file(newfile, msg2, strlen(msg2));
	fail_unlink_in = "/new/";
	for (int i = 0; i < 3; i++) {
		assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), -1);
		assert_int_equal(testlib_count_files(cur), 1);
	}
	fail_unlink_in = NULL;
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_count(box), 2);
	assert_int_equal(testlib_count_files(cur), 2);
	store_mailbox_close(&box);
	store_close(&store);
	/* and another process's first open adopts nothing more */
	store = open_store("demo");
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_count(box), 2);
	store_mailbox_close(&box);
	store_close(&store);
	free(newfile);
	free(cur);
}

/* rename() of this program: fails with EIO for paths containing
 * fail_rename_in while it is set. */
static const char *fail_rename_in;

int rename(const char *from, const char *to)
{
	if (fail_rename_in != NULL && strstr(from, fail_rename_in) != NULL) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 0);
}

/* A rebuild that fails halfway (here: a file in cur/ with another
 * program's name cannot be renamed to carry its UID) leaves the
 * old index as it was: its tombstones, and the UIDNEXT above the
 * expunged last message, survive. */
static void test_failed_rebuild_keeps_old_index(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	struct store_status status;
	uint32_t m2 = 2;
	const char *error;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	assert_int_equal(append(store, "INBOX", msg2, 0, NULL, 0, 0), 2);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_int_equal(store_mailbox_expunge(box, &m2, 1), 0);
	store_mailbox_close(&box);
	store_close(&store);
	/* a file another program named: the rebuild renames it to carry
	 * its UID, which fails */
	plant_orphan("1700000000.M9P9.other:2,S", "Subject: x\r\n\r\nbody\r\n");
	fail_rename_in = ".other";
	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), -1);
	fail_rename_in = NULL;

	char *path = user_path("index.sqlite");
	sqlite3 *db;
	sqlite3_stmt *stmt;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM expunged", -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(stmt, 0), 1);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	free(path);
	store = open_store("demo");
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.uidnext, 3);	/* above the expunged UID 2 */
	store_close(&store);
	char *leftover = user_path("index.sqlite.rebuild");
	struct stat st;
	assert_int_equal(stat(leftover, &st), -1);
	free(leftover);
	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), 0);
}

/* A flag change whose transaction fails after it renamed the message
 * files (their names carry the flags, which a rebuild reads) renames
 * them back: no flag the index does not have stays in a name. */
static void test_failed_flag_change_keeps_file_names(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	uint32_t msns[2] = { 1, 2 }, *failed = NULL;
	size_t failed_count = 0;
	char *cur = user_path("Maildir/cur");
	unsigned int n;
	char *name;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	assert_int_equal(append(store, "INBOX", msg2, 0, NULL, 0, 0), 2);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	/* the second message's row update fails, after both renames */
	fixture_index_exec("CREATE TRIGGER fail_update BEFORE UPDATE ON messages "
		   "WHEN old.uid = 2 BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
	assert_int_equal(store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
						    STORE_FLAG_FLAGGED, 0, 0, &failed,
						    &failed_count), -1);
	name = cur_file_with_uid(cur, 1, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(name, ":2,"));
	assert_null(strchr(strstr(name, ":2,"), 'F'));
	free(name);
	name = cur_file_with_uid(cur, 2, &n);
	assert_int_equal(n, 1);
	assert_null(strchr(strstr(name, ":2,"), 'F'));
	free(name);
	fixture_index_exec("DROP TRIGGER fail_update");
	assert_int_equal(store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
						    STORE_FLAG_FLAGGED, 0, 0, &failed,
						    &failed_count), 0);
	free(failed);
	name = cur_file_with_uid(cur, 2, &n);
	assert_non_null(strchr(strstr(name, ":2,"), 'F'));
	free(name);
	store_mailbox_close(&box);
	free(cur);
	store_close(&store);
}

static long elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Storing a parsed model or text for next time is worth no wait for
 * another writer's lock: that wait blocks the worker's event loop, and
 * every other session on it, for up to the 5 s busy timeout.  With the
 * index locked by another process, reading the model, the SORT keys and
 * the text of a message that has none stored answers at once (and
 * stores nothing); once the lock is gone they are stored. */
static void test_cache_write_back_does_not_wait(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	struct store_msg_cache cache;
	struct str header = STR_INIT, body = STR_INIT;
	struct timespec start;
	char *newfile = user_path("Maildir/new/1700000000.M1P1.host");
	char *index = user_path("index.sqlite");
	uint32_t msn = 1;
	const void *keys;
	size_t keys_size;

	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	testlib_write_file(newfile, msg1, strlen(msg1));
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_count(box), 1);

	pid_t pid = hold_write_lock(index, 1500, 0, NULL);
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(store_mailbox_msg_cache(box, msn, &cache), 0);
	assert_non_null(strstr(cache.envelope, "one"));
	assert_int_equal(store_mailbox_msg_keys(box, msn, &keys, &keys_size), 0);
	assert_int_equal(store_mailbox_msg_text(box, msn, &header, &body), 0);
	assert_true(body.len > 0);
	long waited = elapsed_ms(&start);
	if (waited > 700)
		fail_msg("reading the message waited %ld ms for the index lock", waited);
	wait_child(pid);
	str_free(&header);
	str_free(&body);
	store_mailbox_close(&box);
	store_close(&store);
	free(newfile);
	free(index);
}

/* A read that finds a message file gone expunges its row, but not at the
 * price of waiting for another process's index lock: it answers at once
 * and a later read, with the lock free, expunges the row. */
static void test_vanished_file_does_not_wait(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	struct istream *msg;
	struct timespec start;
	enum store_error err;
	char *cur = user_path("Maildir/cur");
	char *index = user_path("index.sqlite");
	unsigned int n;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	assert_int_equal(append(store, "INBOX", msg2, 0, NULL, 0, 0), 2);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	char *name = cur_file_with_uid(cur, 1, &n);
	char *path = xasprintf("%s/%s", cur, name);
	assert_int_equal(unlink(path), 0);
	free(path);
	free(name);

	pid_t pid = hold_write_lock(index, 1500, 0, NULL);
	clock_gettime(CLOCK_MONOTONIC, &start);
	assert_int_equal(store_mailbox_msg_stream(box, 1, &msg), -1);
	(void)store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXPUNGED);
	long waited = elapsed_ms(&start);
	if (waited > 700)
		fail_msg("the read waited %ld ms for the index lock", waited);
	wait_child(pid);
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_count(box), 2);
	assert_int_equal(store_mailbox_msg_stream(box, 1, &msg), -1);
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_count(box), 1);
	assert_int_equal(store_mailbox_msg(box, 1)->uid, 2);
	store_mailbox_close(&box);
	store_close(&store);
	free(cur);
	free(index);
}

/* The store keeps the last view of INBOX for the next open; what crash
 * recovery changes in the index after that (an orphan adopted by the
 * next writer, a row whose file vanished expunged by a read) must show
 * in the reopened view, and a rebuild (refused while the store is open,
 * so never under a kept view) starts from the files. */
static void test_recovery_after_kept_view(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	struct istream *msg;
	const char *error;
	unsigned int n;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	/* first open: this process has compared cur/ with the index */
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	store_mailbox_close(&box);
	char name[128];
	snprintf(name, sizeof(name), "1700000000.M1P99Q1.crashed,S=%zu,U=2:2,S", strlen(msg2));
	plant_orphan(name, msg2);
	char *marker = user_path("Maildir/tmp/.roost-uids-2-2.1700000000.M1P99Q2.crashed");
	testlib_write_file(marker, "", 0);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 3);

	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_int_equal(store_mailbox_count(box), 3);
	assert_int_equal(store_mailbox_msg(box, 2)->uid, 2);
	assert_int_equal(store_mailbox_msg(box, 2)->flags, STORE_FLAG_SEEN);
	assert_int_equal(store_mailbox_msg(box, 3)->uid, 3);
	store_mailbox_close(&box);

	/* the file of UID 1 vanishes; a read finds out and expunges it */
	char *cur = user_path("Maildir/cur");
	char *file = cur_file_with_uid(cur, 1, &n);
	char *path = xasprintf("%s/%s", cur, file);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_msg_stream(box, 1, &msg), -1);
	store_mailbox_close(&box);
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_count(box), 2);
	assert_int_equal(store_mailbox_msg(box, 1)->uid, 2);
	store_mailbox_close(&box);

	/* a file placed in cur/ by hand is found by the rebuild only */
	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), -1);
	store_close(&store);
	snprintf(name, sizeof(name), "1700000001.M1P99Q1.byhand,S=%zu,U=7:2,", strlen(msg2));
	plant_orphan(name, msg2);
	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), 0);
	store = open_store("demo");
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_int_equal(store_mailbox_count(box), 3);
	assert_int_equal(store_mailbox_msg(box, 3)->uid, 7);
	store_mailbox_close(&box);
	assert_uids_unique(store, cur);
	free(path);
	free(file);
	free(cur);
	free(marker);
	store_close(&store);
}

/* A process remembers the folders it has compared with the index after
 * their store closes (a reconnecting client opens a new store), but a
 * transaction that another process left dead mid-append (its file in
 * cur/, its marker in tmp/) is still adopted at the next open, before any
 * UID is handed out. */
static void test_dead_append_found_after_store_reopen(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	char name[128];

	/* the first open compares cur/ with the index */
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	store_mailbox_close(&box);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	store_close(&store);

	snprintf(name, sizeof(name), "1700000000.M1P99Q1.crashed,S=%zu,U=2:2,S", strlen(msg2));
	plant_orphan(name, msg2);
	char *marker = user_path("Maildir/tmp/.roost-uids-2-2.1700000000.M1P99Q2.crashed");
	testlib_write_file(marker, "", 0);

	store = open_store("demo");
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_int_equal(store_mailbox_count(box), 2);
	assert_int_equal(store_mailbox_msg(box, 2)->uid, 2);
	assert_int_equal(store_mailbox_msg(box, 2)->flags, STORE_FLAG_SEEN);
	store_mailbox_close(&box);
	assert_int_equal(access(marker, F_OK), -1);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 3);
	char *cur = user_path("Maildir/cur");
	assert_uids_unique(store, cur);
	free(cur);
	free(marker);
	store_close(&store);
}

/* A writer killed after it made its marker but before it renamed a file
 * into cur/: no orphan to adopt, but the marker of the dead transaction
 * must go at the next open (roost check reports one that stays). */
static void test_dead_marker_without_file_removed_at_open(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	store_close(&store);
	char *marker = user_path("Maildir/tmp/.roost-uids-2-2.1700000000.M1P99Q3.killed");
	testlib_write_file(marker, "", 0);

	store = open_store("demo");
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_int_equal(store_mailbox_count(box), 1);
	store_mailbox_close(&box);
	assert_int_equal(access(marker, F_OK), -1);
	assert_int_equal(append(store, "INBOX", msg2, 0, NULL, 0, 0), 2);
	free(marker);
	store_close(&store);
}

/* APPENDs msg2 with a trigger failing every row insert but adoptions of
 * "crashed" files: the append fails after recover.c repaired the folder
 * in its transaction, and the rollback undoes the repair. */
static void append_failing_after_repair(struct store *store)
{
	struct store_append *ctx;
	uint32_t uidvalidity, uid;

	fixture_index_exec("CREATE TRIGGER fail_append BEFORE INSERT ON messages "
		   "WHEN new.file NOT LIKE '%crashed%' "
		   "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
	assert_int_equal(store_append_begin(store, "INBOX", &ctx), 0);
	assert_int_equal(store_append_write(ctx, msg2, strlen(msg2)), 0);
	assert_int_equal(store_append_commit(&ctx, 0, NULL, 0, 0, 0, &uidvalidity, &uid), -1);
	fixture_index_exec("DROP TRIGGER fail_append");
}

/* A transaction that adopted what a crash left and then rolled back has
 * adopted nothing: the same store must look again before its next UID
 * (not take the folder for repaired), and the crash marker it removed
 * must be back for the other processes. */
static void test_rolled_back_repair_is_redone(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	char name[128];
	char *cur = user_path("Maildir/cur");

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	/* this store has compared cur/ with the index already */
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	store_mailbox_close(&box);
	snprintf(name, sizeof(name), "1700000000.M1P99Q1.crashed,S=%zu,U=2:2,", strlen(msg2));
	plant_orphan(name, msg2);
	char *marker = user_path("Maildir/tmp/.roost-uids-2-2.1700000000.M1P99Q2.crashed");
	testlib_write_file(marker, "", 0);
	append_failing_after_repair(store);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 3);
	assert_uids_unique(store, cur);
	store_close(&store);

	/* a store that never looked: its first UID comes after a repair
	 * that rolls back */
	store = open_store("demo");
	snprintf(name, sizeof(name), "1700000000.M1P99Q3.crashed,S=%zu,U=4:2,", strlen(msg2));
	plant_orphan(name, msg2);
	append_failing_after_repair(store);
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 5);
	assert_uids_unique(store, cur);
	store_close(&store);
	free(marker);
	free(cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_old_date_vs_cleanup, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_open_waits_for_locked_index, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_orphan_uid_never_reused, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_crash_marker_seen_by_running_process, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_uid_files, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_orphan_with_expunged_uid, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_rebuild_keeps_index_uids, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_expunge_keeps_files, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_append_limit_restores_keyword_file, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_append_fsync_failure_closes_file, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_pickup_unlink_failure_leaves_no_copy, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_rebuild_keeps_old_index, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_failed_flag_change_keeps_file_names, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_cache_write_back_does_not_wait, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_vanished_file_does_not_wait, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_rolled_back_repair_is_redone, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_recovery_after_kept_view, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_dead_append_found_after_store_reopen, fixture_setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(test_dead_marker_without_file_removed_at_open, fixture_setup, fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
