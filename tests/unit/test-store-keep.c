/* test-store-keep.c: stores kept after their last close
 * (store_keep_set_limits()).  A kept store opened again after other
 * processes changed the mailbox (flags, expunges, appends, the mailbox
 * deleted and made again, the index rebuilt) gives exactly what a fresh
 * open gives; a kept store holds no descriptor, so a rebuild may run;
 * the kept stores stay within their count and byte bounds, the least
 * recently closed going first. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "store/store.h"
#include "store-fixture.h"
#include "testlib.h"

#define BOX "Box"
#define KEEP_BYTES (1024 * 1024)

/* Opens BOX of `store` and asserts that it says what a fresh load in
 * another process says. */
static void assert_box_fresh(struct store *store)
{
	struct store_mailbox *box;

	if (store_mailbox_open(store, BOX, false, &box) < 0)
		fail_msg("open %s: %s", BOX, store_last_error(store, NULL));
	assert_view_fresh(box);
	store_mailbox_close(&box);
}

/* The descriptors of this process on files below the test's directory. */
static unsigned int fds_on_test_dir(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *d;
	unsigned int count = 0;
	size_t dlen = strlen(testlib_dir());

	assert_non_null(dir);
	while ((d = readdir(dir)) != NULL) {
		char path[300], target[4096];
		ssize_t n;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0 && (size_t)n >= dlen && strncmp(target, testlib_dir(), dlen) == 0)
			count++;
	}
	closedir(dir);
	return count;
}

/* The changes another process makes between two logins. */
enum change {
	CHANGE_FLAGS,
	CHANGE_EXPUNGE,
	CHANGE_APPEND,
	CHANGE_RECREATE,
	CHANGE_REBUILD,
	CHANGE_COUNT
};

static int change_run(struct store *store, enum change change)
{
	static const char *const later[] = { "Later" };
	struct store_mailbox *box;
	struct store_append *ctx;
	const char *error;
	store_keywords_t kw = 0;
	uint32_t msns[] = { 1, 2 }, uidvalidity, uid, *failed;
	size_t failed_count;
	int ret = 0;

	switch (change) {
	case CHANGE_FLAGS:
		if (store_mailbox_open(store, BOX, false, &box) < 0 ||
		    store_mailbox_keywords_mask(box, later, 1, true, &kw) < 0)
			return -1;
		ret = store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
						 STORE_FLAG_FLAGGED, kw, 0, &failed,
						 &failed_count);
		free(failed);
		store_mailbox_close(&box);
		return ret;
	case CHANGE_EXPUNGE:
		if (store_mailbox_open(store, BOX, false, &box) < 0)
			return -1;
		ret = store_mailbox_expunge(box, &msns[1], 1);
		store_mailbox_close(&box);
		return ret;
	case CHANGE_RECREATE:
		if (store_mailbox_delete(store, BOX) < 0 || store_mailbox_create(store, BOX, 0) < 0)
			return -1;
		/* the new mailbox gets a message */
		/* fall through */
	case CHANGE_APPEND:
		if (store_append_begin(store, BOX, &ctx) < 0 ||
		    store_append_write(ctx, "Subject: new\r\n\r\nnew\r\n", 21) < 0)
			return -1;
		return store_append_commit(&ctx, STORE_FLAG_SEEN, NULL, 0, 0, 0, &uidvalidity,
					   &uid);
	case CHANGE_REBUILD:
		return store_rebuild(&fixture_set, "demo", &error);
	case CHANGE_COUNT:
		break;
	}
	return -1;
}

/* Runs change in another process, with a store of its own. */
static void change_elsewhere(enum change change)
{
	int wstatus;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *store = NULL;
		const char *error;
		int ret;

		/* the copy of the parent's kept store is not this process's */
		store_keep_set_limits(0, 0);
		if (change == CHANGE_REBUILD)
			ret = change_run(NULL, change);
		else if (store_open(&fixture_set, "demo", &store, &error) < 0)
			ret = -1;
		else
			ret = change_run(store, change);
		if (ret < 0)
			fprintf(stderr, "change %d: %s\n", (int)change,
				store == NULL ? error : store_last_error(store, NULL));
		store_close(&store);
		_exit(ret < 0 ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	assert_true(WIFEXITED(wstatus));
	assert_int_equal(WEXITSTATUS(wstatus), 0);
}

static void test_kept_store_gives_a_fresh_view(void **state)
{
	(void)state;
	struct store *store;
	unsigned int count;
	size_t bytes;

	store_keep_set_limits(4, KEEP_BYTES);
	store = open_store("demo");
	assert_int_equal(store_mailbox_create(store, BOX, 0), 0);
	for (unsigned int i = 0; i < 5; i++)
		append(store, BOX, "Subject: x\r\n\r\nbody\r\n", 0, NULL, 0, 1700000000);
	assert_box_fresh(store);
	store_close(&store);
	store_keep_stats(&count, &bytes);
	assert_int_equal(count, 1);
	assert_true(bytes >= 5 * sizeof(struct store_msg));
	assert_int_equal(fds_on_test_dir(), 0);

	for (enum change change = 0; change < CHANGE_COUNT; change++) {
		/* a rebuild needs the lock the kept store let go of */
		change_elsewhere(change);
		store = open_store("demo");
		store_keep_stats(&count, &bytes);
		assert_int_equal(count, 0);
		assert_box_fresh(store);
		store_close(&store);
		store_keep_stats(&count, &bytes);
		assert_int_equal(count, 1);
		assert_int_equal(fds_on_test_dir(), 0);
	}
	store_keep_set_limits(0, 0);
	store_keep_stats(&count, &bytes);
	assert_int_equal(count, 0);
	assert_int_equal(bytes, 0);
}

/* Opens and closes user's store after opening BOX (made with `messages`
 * messages unless 0: it exists); returns by how many bytes that changed
 * what is kept (the bytes kept for the store, if nothing was evicted). */
static size_t keep_user(const char *user, unsigned int messages)
{
	struct store *store = open_store(user);
	struct store_mailbox *box;
	unsigned int count;
	size_t before, after;

	store_keep_stats(&count, &before);
	if (messages > 0)
		assert_int_equal(store_mailbox_create(store, BOX, 0), 0);
	for (unsigned int i = 0; i < messages; i++)
		append(store, BOX, "Subject: x\r\n\r\nbody\r\n", 0, NULL, 0, 1700000000);
	assert_int_equal(store_mailbox_open(store, BOX, true, &box), 0);
	store_mailbox_close(&box);
	store_close(&store);
	store_keep_stats(&count, &after);
	return after - before;
}

static void assert_kept(unsigned int count, size_t bytes)
{
	unsigned int kept_count;
	size_t kept_bytes;

	store_keep_stats(&kept_count, &kept_bytes);
	assert_int_equal(kept_count, count);
	assert_int_equal(kept_bytes, bytes);
}

static void test_kept_stores_bounded(void **state)
{
	(void)state;
	size_t a, b, c;

	store_keep_set_limits(8, KEEP_BYTES);
	a = keep_user("a", 1);
	b = keep_user("b", 2);
	c = keep_user("c", 3);
	assert_true(a > 0 && a < b && b < c);
	assert_kept(3, a + b + c);

	/* by count: the least recently closed goes */
	store_keep_set_limits(2, KEEP_BYTES);
	assert_kept(2, b + c);
	/* a store opened again is no longer kept (its bytes with it), and
	 * is the most recent when closed again: c goes next, not b */
	store_close(&(struct store *){ open_store("b") });
	assert_kept(2, b + c);
	assert_int_equal(keep_user("a", 0), a - c);
	assert_kept(2, a + b);

	/* by bytes: lowering the bound closes the oldest */
	store_keep_set_limits(8, a + b - 1);
	assert_kept(1, a);
	/* a store larger than the bound alone is closed, not kept */
	store_keep_set_limits(8, c - 1);
	assert_int_equal(keep_user("c", 0), 0);
	assert_kept(1, a);
	assert_int_equal(fds_on_test_dir(), 0);

	/* nothing kept: a close closes */
	store_keep_set_limits(0, 0);
	assert_kept(0, 0);
	store_close(&(struct store *){ open_store("a") });
	assert_kept(0, 0);
}

#define KEEP_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		KEEP_TEST(test_kept_store_gives_a_fresh_view),
		KEEP_TEST(test_kept_stores_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
