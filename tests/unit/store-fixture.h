/* store-fixture.h: what the store tests share (test-store-conformance.c,
 * test-store-maildir.c, test-store-crash.c, test-store-faults.c): the
 * backend under test and its settings, one fresh data directory per
 * test, appends that fail the running test, a recorder of sync
 * callbacks, and checks that hold after any test.  It must never hold
 * test logic.
 *
 * Include after <cmocka.h>. */
#ifndef ROOST_STORE_FIXTURE_H
#define ROOST_STORE_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "store/store.h"

/* A backend the tests run against: its name (the configuration's
 * `store = NAME`) and its settings, completed per test by `place` (where its data go).  The
 * probes look at what the backend keeps for a mailbox, where only the
 * backend knows how (NULL: the backend cannot tell, the check is
 * skipped). */
struct store_fixture_backend {
	const char *name;
	struct store_settings settings;
	/* completes *set so the backend keeps its data below `dir` */
	void (*place)(struct store_settings *set, const char *dir);
	/* message bodies kept for `mailbox` of `user`: what an expunge
	 * removes and what a failed append or copy must not leave */
	size_t (*stored_count)(const char *user, const char *mailbox);
	/* bodies written for `mailbox` that are not yet part of it:
	 * appends in progress, copies staged and not yet done */
	size_t (*staged_count)(const char *user, const char *mailbox);
};

/* The Maildir backend with fsync off (tests that need it turn it on). */
extern const struct store_fixture_backend store_fixture_maildir;

/* The backend of the running test and its settings (its data below the
 * test's directory); tests may change fixture_set.fsync. */
extern const struct store_fixture_backend *fixture_backend;
extern struct store_settings fixture_set;

/* cmocka setup/teardown: a fresh directory per test for the backend in
 * *state (NULL: store_fixture_maildir), removed afterwards. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* The probes of the running backend; (size_t)-1 when it has none, which
 * assert_count() takes for "not checked". */
size_t stored_count(const char *user, const char *mailbox);
size_t staged_count(const char *user, const char *mailbox);
/* Asserts a probe's answer unless the backend could not tell. */
#define assert_count(probe, expected) do { \
		size_t n_ = (probe); \
		if (n_ != (size_t)-1) \
			assert_int_equal(n_, (expected)); \
	} while (0)

/* store_open() of `user` with fixture_set, failing the test on error. */
struct store *open_store(const char *user);

/* Appends text (written in two pieces, to cross the header scanner's
 * buffer boundary) with tz +01:00; fails the test unless it is stored.
 * Returns the UID. */
uint32_t append(struct store *store, const char *mailbox, const char *text,
		uint32_t flags, const char *const *keywords, size_t kw_count, time_t date);

/* A child process of user demo that begins an append to mailbox,
 * writes half a header line and exits without committing or aborting:
 * a process that dies in the middle of an append. */
void die_in_append(const char *mailbox);

/* A message for store_append_begin_message() (LMTP's single copy):
 * text written in two pieces, finished with internal date 1700000000;
 * free with store_message_free(). */
struct store_message *shared_message(const char *text);
/* Appends the finished msg to mailbox with flags; fails the test unless
 * it is stored.  Returns the UID. */
uint32_t append_message(struct store *store, const char *mailbox,
			struct store_message *msg, uint32_t flags);

/* The text of message msn of box; the caller frees. */
char *read_msg(struct store_mailbox *box, uint32_t msn);

/* Asserts that store_mailbox_check() finds nothing wrong with any
 * mailbox of the store: what `roost check` exits 0 for. */
void assert_store_consistent(struct store *store);

/* Whether infos (of store_mailbox_list()) has name with these exists
 * and has_children. */
bool list_has(struct store_mailbox_info *infos, size_t count, const char *name,
	      bool exists, bool children);

/* Waits for child pid and asserts that it exited with 0. */
void wait_child(pid_t pid);

/* Everything a view says of its messages, as text (xmalloc'd): count,
 * first unseen, uidvalidity, uidnext, highestmodseq, keyword names, and
 * each message's fields. */
char *view_text(struct store_mailbox *box);
/* Asserts that box (of user demo) says what a fresh load of the mailbox
 * in another process says: that process has no snapshot of any view. */
void assert_view_fresh(struct store_mailbox *box);

/* ---- Maildir paths (the Maildir backend's tests) ---- */

/* "<test dir>/users/_/demo/<suffix>", allocated: the caller frees it. */
char *user_path(const char *suffix);
/* The first entry of directory path not starting with '.'; allocated,
 * NULL if none. */
char *first_file(const char *path);
/* The file name in cur/ of the message with this UID (the one name with
 * ",U=<uid>:"), or NULL; *count_r is how many names carry it. */
char *cur_file_with_uid(const char *cur, uint32_t uid, unsigned int *count_r);
/* Runs sql on the user demo's index with a connection of the test's
 * own, failing the test on error. */
void fixture_index_exec(const char *sql);

/* ---- the sync callbacks, recorded ---- */

/* "E<msn>/<uid> " per expunge, "X<count> " per exists, "F<msn>=<flags> "
 * per flag change, "O<msn>=<flags> " per own_flags, "K " per keyword
 * table change. */
struct events {
	char log[1024];
};
extern const struct store_sync_callbacks ev_callbacks;
void ev_own_flags(void *ctx, uint32_t msn, const struct store_msg *msg);

/* What store_mailbox_check() reported: one problem per line. */
struct reports {
	char text[4096];
	int count;
};
void collect_report(void *ctx, const char *problem);

extern const char msg1[], msg2[], msg3[];

/* The index of keyword `name` in box's table, or -1 (the store's error
 * says why). */
int kw_index(struct store_mailbox *box, const char *name, bool create);
/* The error class of a store_mailbox_keyword_index() that must fail. */
enum store_error kw_index_error(struct store *store, struct store_mailbox *box,
				const char *name, bool create);

#endif
