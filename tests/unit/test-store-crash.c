/* test-store-crash.c: the Maildir store under concurrency and after
 * crashes: the tmp/ cleanup against an APPEND in progress, opening an
 * index another process holds locked, files that a crash left in cur/
 * without an index row, and a rebuild against open stores. */
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

#include "base/base.h"
#include "store/store.h"
#include "testlib.h"

static struct store_settings set;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(testlib_dir_create("store-crash"), 0);
	set.data_dir = testlib_dir();
	set.fsync = false;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	testlib_dir_remove();
	return 0;
}

static struct store *open_store(const char *user)
{
	struct store *store;
	const char *error;

	if (store_open(&set, user, &store, &error) < 0)
		fail_msg("store_open: %s", error);
	return store;
}

static char *user_path(const char *suffix)
{
	return xasprintf("%s/users/_/demo/%s", testlib_dir(), suffix);
}

static const char msg1[] = "From: a@example.org\r\nSubject: one\r\n\r\nbody one\r\n";
static const char msg2[] = "Subject: two\r\n\r\nbody two\r\n";

static uint32_t append(struct store *store, const char *mailbox, const char *text,
		       time_t date)
{
	struct store_append *ctx;
	uint32_t uidvalidity, uid;

	assert_int_equal(store_append_begin(store, mailbox, &ctx), 0);
	assert_int_equal(store_append_write(ctx, text, strlen(text)), 0);
	assert_int_equal(store_append_commit(&ctx, 0, NULL, 0, date, 0, &uidvalidity, &uid), 0);
	return uid;
}

/* A child that takes the index's write lock with a connection of its
 * own, says so on the pipe, waits wait_ms, runs in_lock() (if any) and
 * lets go after hold_ms in all. */
static pid_t hold_write_lock(const char *index_path, int hold_ms, int wait_ms,
			     void (*in_lock)(void))
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
		    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
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

static void wait_child(pid_t pid)
{
	int wstatus;

	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	assert_true(WIFEXITED(wstatus));
	assert_int_equal(WEXITSTATUS(wstatus), 0);
}

/* Another process's SELECT: opens INBOX, which cleans stale tmp/ files. */
static void other_select(void)
{
	struct store *store;
	struct store_mailbox *box;
	const char *error;

	if (store_open(&set, "demo", &store, &error) < 0 ||
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

static pid_t lock_exclusive(const char *index_path, int hold_ms)
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
		    sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) != SQLITE_OK)
			_exit(1);
		if (write(fds[1], "x", 1) != 1)
			_exit(1);
		usleep((useconds_t)hold_ms * 1000);
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		sqlite3_close(db);
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
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

	pid_t pid = lock_exclusive(index, 5600);
	struct store *store = open_store("demo");
	wait_child(pid);
	struct store_status status;
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 0);
	assert_int_equal(append(store, "INBOX", msg2, 0), 1);
	store_close(&store);
	free(index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_old_date_vs_cleanup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_waits_for_locked_index, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
