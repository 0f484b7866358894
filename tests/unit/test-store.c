/* test-store.c: the mail store through store.h (Maildir backend). */
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
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/base.h"
#include "store/store.h"
#include "testlib.h"

static struct store_settings set;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(testlib_dir_create("store"), 0);
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

static uint32_t append(struct store *store, const char *mailbox, const char *text,
		       uint32_t flags, const char *const *keywords, size_t kw_count,
		       time_t date)
{
	struct store_append *ctx;
	uint32_t uidvalidity, uid;

	assert_int_equal(store_append_begin(store, mailbox, &ctx), 0);
	/* in two pieces, to cross the header scanner's buffer boundary */
	size_t half = strlen(text) / 2;
	assert_int_equal(store_append_write(ctx, text, half), 0);
	assert_int_equal(store_append_write(ctx, text + half, strlen(text) - half), 0);
	assert_int_equal(store_append_commit(&ctx, flags, keywords, kw_count, date, 60,
					     &uidvalidity, &uid), 0);
	assert_null(ctx);
	assert_true(uidvalidity != 0);
	return uid;
}

/* The message of msn as a string, read through its stream, which must
 * be as long as the view says. */
static char *read_msg(struct store_mailbox *box, uint32_t msn)
{
	char *buf = xmalloc(65536);
	struct istream *msg;
	uint64_t size;
	ssize_t len;

	assert_int_equal(store_mailbox_msg_stream(box, msn, &msg), 0);
	len = istream_read(msg, buf, 65535);
	assert_true(len >= 0);
	assert_int_equal(istream_get_size(msg, &size), 0);
	assert_int_equal(size, (uint64_t)len);
	assert_int_equal(store_mailbox_msg(box, msn)->size, (uint64_t)len);
	buf[len] = '\0';
	istream_destroy(&msg);
	return buf;
}

static char *first_file(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char *name = NULL;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.') {
			name = xstrdup(de->d_name);
			break;
		}
	}
	closedir(d);
	return name;
}

static char *user_path(const char *suffix)
{
	return xasprintf("%s/users/_/demo/%s", testlib_dir(), suffix);
}

/* ---- sync callback recorder ---- */

struct events {
	char log[1024];
};

static void ev_expunge(void *ctx, uint32_t msn, uint32_t uid)
{
	struct events *ev = ctx;
	size_t len = strlen(ev->log);

	snprintf(ev->log + len, sizeof(ev->log) - len, "E%u/%u ", msn, uid);
}

static void ev_exists(void *ctx, uint32_t count)
{
	struct events *ev = ctx;
	size_t len = strlen(ev->log);

	snprintf(ev->log + len, sizeof(ev->log) - len, "X%u ", count);
}

static void ev_flags(void *ctx, uint32_t msn, const struct store_msg *msg)
{
	struct events *ev = ctx;
	size_t len = strlen(ev->log);

	snprintf(ev->log + len, sizeof(ev->log) - len, "F%u=%u ", msn, msg->flags);
}

static void ev_keywords(void *ctx)
{
	struct events *ev = ctx;
	size_t len = strlen(ev->log);

	snprintf(ev->log + len, sizeof(ev->log) - len, "K ");
}

static const struct store_sync_callbacks ev_callbacks = {
	.expunge = ev_expunge, .exists = ev_exists, .flags = ev_flags,
	.keywords = ev_keywords,
};

static const char msg1[] = "From: a@example.org\r\nSubject: one\r\n\r\nbody one\r\n";
static const char msg2[] = "Subject: two\r\n\r\nbody two\r\n";
static const char msg3[] = "Subject: three\r\n\r\nthree\r\n";

/* ---- tests ---- */

static void test_user_names(void **state)
{
	(void)state;
	struct store *store;
	const char *error;
	struct stat st;

	assert_int_equal(store_open(&set, "a/b", &store, &error), -1);
	assert_int_equal(store_open(&set, ".hidden", &store, &error), -1);
	assert_int_equal(store_open(&set, "", &store, &error), -1);
	assert_int_equal(store_open(&set, "@example.org", &store, &error), -1);
	store = open_store("Bob@Example.ORG");
	store_close(&store);
	assert_null(store);
	char *path = xasprintf("%s/users/example.org/Bob/Maildir/cur", testlib_dir());
	assert_int_equal(stat(path, &st), 0);
	free(path);
	store = open_store("demo");
	store_close(&store);
	path = user_path("");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	free(path);
	path = user_path("index.sqlite");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	free(path);
}

static void test_defaults_and_list(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox_info *infos;
	size_t count;

	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_int_equal(count, 6);
	assert_string_equal(infos[0].name, "Archive");
	assert_int_equal(infos[0].special_use, STORE_USE_ARCHIVE);
	assert_string_equal(infos[2].name, "INBOX");
	for (size_t i = 0; i < count; i++) {
		assert_true(infos[i].exists);
		assert_true(infos[i].subscribed);
		assert_false(infos[i].has_children);
	}
	free(infos);
	store_close(&store);
	/* opening again does not create them twice */
	store = open_store("demo");
	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_int_equal(count, 6);
	free(infos);
	store_close(&store);
}

static void test_append_read(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	const char *kws[] = { "$Forwarded", "Work" };
	const struct store_msg *msg;
	enum store_error err;
	struct store_status status;
	size_t kw_count;

	assert_int_equal(append(store, "INBOX", msg1, STORE_FLAG_SEEN, kws, 2, 1700000000), 1);
	assert_int_equal(append(store, "inbox", msg2, 0, NULL, 0, 0), 2);

	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 2);
	assert_int_equal(status.unseen, 1);
	assert_int_equal(status.recent, 2);
	assert_int_equal(status.uidnext, 3);
	assert_int_equal(status.size, strlen(msg1) + strlen(msg2));

	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_string_equal(store_mailbox_name(box), "INBOX");
	assert_int_equal(store_mailbox_count(box), 2);
	assert_int_equal(store_mailbox_uidnext(box), 3);
	msg = store_mailbox_msg(box, 1);
	assert_int_equal(msg->uid, 1);
	assert_int_equal(msg->flags, STORE_FLAG_SEEN);
	assert_int_equal(msg->keywords, 3);
	assert_int_equal(msg->size, strlen(msg1));
	assert_int_equal(msg->header_size, strlen("From: a@example.org\r\nSubject: one\r\n\r\n"));
	assert_int_equal(msg->internaldate, 1700000000);
	assert_int_equal(msg->internaldate_tz, 60);
	const char *const *names = store_mailbox_keywords(box, &kw_count);
	assert_int_equal(kw_count, 2);
	assert_string_equal(names[0], "$Forwarded");
	assert_string_equal(names[1], "Work");
	assert_int_equal(store_mailbox_keyword_index(box, "work", false), 1);
	assert_int_equal(store_mailbox_keyword_index(box, "nope", false), -1);

	char *text = read_msg(box, 1);
	assert_string_equal(text, msg1);
	free(text);

	/* the file name carries size, uid and flags */
	char *cur = user_path("Maildir/cur");
	assert_int_equal(testlib_count_files(cur), 2);
	free(cur);

	/* \Recent went to this session */
	assert_int_equal(store_mailbox_recent_count(box), 2);
	assert_true(store_mailbox_is_recent(box, 1));
	store_mailbox_close(&box);

	/* append to a missing mailbox */
	struct store_append *ctx;
	assert_int_equal(store_append_begin(store, "Nope", &ctx), -1);
	assert_string_equal(store_last_error(store, &err), "Mailbox doesn't exist: Nope");
	assert_int_equal(err, STORE_ERR_NOTFOUND);
	assert_int_equal(store_mailbox_open(store, "Nope", false, &box), -1);
	assert_int_equal(store_last_error(store, &err)[0] != '\0', 1);
	assert_int_equal(err, STORE_ERR_NOTFOUND);

	/* no blank line: the header is the whole message; bare LF tolerated */
	assert_int_equal(append(store, "Sent", "Subject: x\nno body", 0, NULL, 0, 0), 1);
	assert_int_equal(store_mailbox_open(store, "Sent", true, &box), 0);
	assert_int_equal(store_mailbox_msg(box, 1)->header_size, 18);
	store_mailbox_close(&box);
	assert_int_equal(append(store, "Sent", "A: b\n\nbody", 0, NULL, 0, 0), 2);
	assert_int_equal(store_mailbox_open(store, "Sent", true, &box), 0);
	assert_int_equal(store_mailbox_msg(box, 2)->header_size, 6);
	store_mailbox_close(&box);
	store_close(&store);
}

static void test_flags(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	struct events ev = { "" };
	uint32_t msns[] = { 1, 2 };
	uint32_t *failed;
	size_t failed_count;
	int kw;

	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	append(store, "INBOX", msg2, STORE_FLAG_DRAFT, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	uint64_t modseq0 = store_mailbox_msg(box, 1)->modseq;

	assert_int_equal(store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	assert_null(failed);
	assert_int_equal(store_mailbox_msg(box, 1)->flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_int_equal(store_mailbox_msg(box, 2)->flags,
			 STORE_FLAG_SEEN | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT);
	assert_true(store_mailbox_msg(box, 1)->modseq > modseq0);

	/* our own change is reported by the next sync */
	assert_int_equal(store_mailbox_sync(box, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "F1=5 F2=21 ");
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(box, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "");

	assert_int_equal(store_mailbox_update_flags(box, msns, 1, STORE_FLAGS_REMOVE,
		STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_msg(box, 1)->flags, STORE_FLAG_SEEN);
	assert_int_equal(store_mailbox_update_flags(box, msns + 1, 1, STORE_FLAGS_REPLACE,
		STORE_FLAG_ANSWERED, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_msg(box, 2)->flags, STORE_FLAG_ANSWERED);

	/* keywords */
	kw = store_mailbox_keyword_index(box, "Important", true);
	assert_int_equal(kw, 0);
	assert_int_equal(store_mailbox_keyword_index(box, "IMPORTANT", true), 0);
	assert_int_equal(store_mailbox_keyword_index(box, "bad kw", true), -1);
	assert_int_equal(store_mailbox_keyword_index(box, "\\Seen", true), -1);
	assert_int_equal(store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
		0, 1u << kw, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_msg(box, 1)->keywords, 1);
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(box, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "K F1=1 F2=2 ");

	/* the file name follows: "Sa" for \Seen + keyword 0 */
	char *cur = user_path("Maildir/cur");
	DIR *d = opendir(cur);
	struct dirent *de;
	int found = 0;
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ",U=1:2,Sa") != NULL ||
		    strstr(de->d_name, ",U=2:2,Ra") != NULL)
			found++;
	}
	closedir(d);
	free(cur);
	assert_int_equal(found, 2);

	/* CONDSTORE UNCHANGEDSINCE */
	uint64_t m1 = store_mailbox_msg(box, 1)->modseq;
	assert_int_equal(store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
		STORE_FLAG_DELETED, 0, m1 - 1, &failed, &failed_count), 0);
	assert_int_equal(failed_count, 2);
	assert_int_equal(failed[0], 1);
	free(failed);
	assert_int_equal(store_mailbox_msg(box, 1)->flags & STORE_FLAG_DELETED, 0);

	/* read-only views cannot change flags */
	struct store_mailbox *ro;
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &ro), 0);
	assert_true(store_mailbox_is_readonly(ro));
	assert_int_equal(store_mailbox_update_flags(ro, msns, 1, STORE_FLAGS_ADD,
		STORE_FLAG_DELETED, 0, 0, &failed, &failed_count), -1);
	store_mailbox_close(&ro);
	store_mailbox_close(&box);
	store_close(&store);
}

static void test_expunge_and_sync_order(void **state)
{
	(void)state;
	struct store *s1 = open_store("demo"), *s2 = open_store("demo");
	struct store_mailbox *a, *b;
	struct events ev = { "" };
	uint32_t *failed;
	size_t failed_count;

	append(s1, "INBOX", msg1, 0, NULL, 0, 0);
	append(s1, "INBOX", msg2, 0, NULL, 0, 0);
	append(s1, "INBOX", msg3, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(s1, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_open(s2, "INBOX", false, &b), 0);
	uint64_t hms = store_mailbox_highestmodseq(a);

	/* b: flag 3, delete + expunge 1 and 2, append one */
	uint32_t m3 = 3, m12[] = { 1, 2 };
	assert_int_equal(store_mailbox_update_flags(b, &m3, 1, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(b, m12, 2, STORE_FLAGS_ADD,
		STORE_FLAG_DELETED, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_expunge(b, NULL, 0), 0);
	/* the expunging view is unchanged until it syncs */
	assert_int_equal(store_mailbox_count(b), 3);
	append(s2, "INBOX", "Subject: four\r\n\r\n4\r\n", 0, NULL, 0, 0);

	assert_int_equal(store_mailbox_sync(a, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E2/2 E1/1 X2 F1=1 ");
	assert_int_equal(store_mailbox_count(a), 2);
	assert_int_equal(store_mailbox_msg(a, 1)->uid, 3);
	assert_int_equal(store_mailbox_msg(a, 2)->uid, 4);
	assert_int_equal(store_mailbox_msn_of_uid(a, 4), 2);
	assert_int_equal(store_mailbox_msn_of_uid(a, 1), 0);
	assert_true(store_mailbox_highestmodseq(a) > hms);
	assert_int_equal(store_mailbox_uidnext(a), 5);

	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(b, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E2/2 E1/1 X2 F1=1 ");

	/* expunge by msn list; message files are gone */
	uint32_t m1 = 1;
	assert_int_equal(store_mailbox_expunge(a, &m1, 1), 0);
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(a, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E1/3 ");
	char *cur = user_path("Maildir/cur");
	assert_int_equal(testlib_count_files(cur), 1);
	free(cur);

	/* tombstones are kept, with the modseq of their expunge */
	sqlite3 *db;
	sqlite3_stmt *stmt;
	char *path = user_path("index.sqlite");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	free(path);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT uid, modseq FROM expunged ORDER BY uid",
					    -1, &stmt, NULL), SQLITE_OK);
	uint32_t tomb_uids[4], n_tomb = 0;
	uint64_t tomb_modseq[4];
	while (sqlite3_step(stmt) == SQLITE_ROW && n_tomb < 4) {
		tomb_uids[n_tomb] = (uint32_t)sqlite3_column_int64(stmt, 0);
		tomb_modseq[n_tomb++] = (uint64_t)sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	assert_int_equal(n_tomb, 3);
	assert_int_equal(tomb_uids[0], 1);
	assert_int_equal(tomb_uids[2], 3);
	assert_true(tomb_modseq[0] == tomb_modseq[1]);
	assert_true(tomb_modseq[2] > tomb_modseq[1]);
	assert_true(tomb_modseq[2] <= store_mailbox_highestmodseq(a));

	/* an expunged message cannot be opened through a stale view */
	struct istream *msg;
	enum store_error err;
	assert_int_equal(store_mailbox_msg_stream(b, 1, &msg), -1);
	assert_null(msg);
	store_last_error(s2, &err);
	assert_int_equal(err, STORE_ERR_EXPUNGED);

	store_mailbox_close(&a);
	store_mailbox_close(&b);
	store_close(&s1);
	store_close(&s2);
}

static void test_no_expunges(void **state)
{
	(void)state;
	struct store *s1 = open_store("demo"), *s2 = open_store("demo");
	struct store_mailbox *a, *b;
	struct events ev = { "" };
	uint32_t m2 = 2;

	append(s1, "INBOX", msg1, 0, NULL, 0, 0);
	append(s1, "INBOX", msg2, 0, NULL, 0, 0);
	append(s1, "INBOX", msg3, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(s1, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_open(s2, "INBOX", false, &b), 0);
	assert_int_equal(store_mailbox_expunge(b, &m2, 1), 0);
	append(s2, "INBOX", "Subject: four\r\n\r\n4\r\n", 0, NULL, 0, 0);

	assert_int_equal(store_mailbox_sync(a, STORE_SYNC_NO_EXPUNGES, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "X4 ");
	assert_int_equal(store_mailbox_count(a), 4);
	assert_true(store_mailbox_is_expunged(a, 2));
	assert_false(store_mailbox_is_expunged(a, 1));
	assert_int_equal(store_mailbox_msg(a, 2)->uid, 2);
	assert_int_equal(store_mailbox_msg(a, 2)->size, strlen(msg2));

	/* again: nothing new, still kept */
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(a, STORE_SYNC_NO_EXPUNGES, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "");
	assert_int_equal(store_mailbox_count(a), 4);

	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(a, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E2/2 ");
	assert_int_equal(store_mailbox_count(a), 3);
	assert_false(store_mailbox_is_expunged(a, 2));
	assert_int_equal(store_mailbox_msg(a, 2)->uid, 3);

	store_mailbox_close(&a);
	store_mailbox_close(&b);
	store_close(&s1);
	store_close(&s2);
}

static void test_concurrent_flags(void **state)
{
	(void)state;
	struct store *s1 = open_store("demo"), *s2 = open_store("demo");
	struct store_mailbox *a, *b;
	uint32_t m1 = 1, *failed;
	size_t failed_count;

	append(s1, "INBOX", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(s1, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_open(s2, "INBOX", false, &b), 0);
	/* both views are stale relative to each other's change */
	assert_int_equal(store_mailbox_update_flags(a, &m1, 1, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(b, &m1, 1, STORE_FLAGS_ADD,
		STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	int ka = store_mailbox_keyword_index(a, "KA", true);
	int kb = store_mailbox_keyword_index(b, "KB", true);
	assert_int_equal(ka, 0);
	assert_int_equal(kb, 1);
	assert_int_equal(store_mailbox_update_flags(a, &m1, 1, STORE_FLAGS_ADD,
		0, 1u << ka, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(b, &m1, 1, STORE_FLAGS_ADD,
		0, 1u << kb, 0, &failed, &failed_count), 0);

	assert_int_equal(store_mailbox_sync(a, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_msg(a, 1)->flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_int_equal(store_mailbox_msg(a, 1)->keywords, 3);
	size_t n;
	store_mailbox_keywords(a, &n);
	assert_int_equal(n, 2);
	store_mailbox_close(&a);
	store_mailbox_close(&b);

	struct store_mailbox *c;
	assert_int_equal(store_mailbox_open(s1, "INBOX", true, &c), 0);
	assert_int_equal(store_mailbox_msg(c, 1)->flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
	assert_int_equal(store_mailbox_msg(c, 1)->keywords, 3);
	store_mailbox_close(&c);
	char *cur = user_path("Maildir/cur");
	char *name = first_file(cur);
	assert_non_null(strstr(name, ":2,FSab"));
	free(name);
	free(cur);
	store_close(&s1);
	store_close(&s2);
}

struct recent_probe {
	struct store_mailbox *box;
	uint32_t recent_at_exists;
};

static void probe_exists(void *ctx, uint32_t count)
{
	struct recent_probe *p = ctx;

	(void)count;
	p->recent_at_exists = store_mailbox_recent_count(p->box);
}

static void test_recent(void **state)
{
	(void)state;
	struct store *s1 = open_store("demo"), *s2 = open_store("demo");
	struct store_mailbox *a, *b, *ro;
	struct store_status status;

	append(s1, "INBOX", msg1, 0, NULL, 0, 0);
	append(s1, "INBOX", msg2, 0, NULL, 0, 0);
	/* EXAMINE sees them as \Recent but does not claim them */
	assert_int_equal(store_mailbox_open(s1, "INBOX", true, &ro), 0);
	assert_int_equal(store_mailbox_recent_count(ro), 2);
	assert_true(store_mailbox_is_recent(ro, 1));
	assert_int_equal(store_mailbox_status(s1, "INBOX", &status), 0);
	assert_int_equal(status.recent, 2);

	assert_int_equal(store_mailbox_open(s1, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_open(s2, "INBOX", false, &b), 0);
	assert_int_equal(store_mailbox_recent_count(a), 2);
	assert_int_equal(store_mailbox_recent_count(b), 0);
	assert_int_equal(store_mailbox_status(s1, "INBOX", &status), 0);
	assert_int_equal(status.recent, 0);

	append(s2, "INBOX", msg3, 0, NULL, 0, 0);
	/* \Recent is known when EXISTS is reported (IMAP sends RECENT next) */
	struct store_sync_callbacks probe_cb = { .exists = probe_exists };
	struct recent_probe probe = { b, 99 };
	assert_int_equal(store_mailbox_sync(b, 0, &probe_cb, &probe), 0);
	assert_int_equal(probe.recent_at_exists, 1);
	assert_int_equal(store_mailbox_sync(a, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_sync(ro, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_recent_count(b), 1);
	assert_true(store_mailbox_is_recent(b, 3));
	assert_int_equal(store_mailbox_recent_count(a), 2);
	assert_false(store_mailbox_is_recent(a, 3));
	/* b claimed 3 before ro saw it; ro keeps what it saw */
	assert_int_equal(store_mailbox_recent_count(ro), 2);
	assert_false(store_mailbox_is_recent(ro, 3));
	assert_int_equal(store_mailbox_count(ro), 3);

	store_mailbox_close(&a);
	store_mailbox_close(&b);
	store_mailbox_close(&ro);
	store_close(&s1);
	store_close(&s2);
}

static void test_copy_move(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *src, *dst;
	const char *kws_src[] = { "one", "two" };
	const char *kws_dst[] = { "two" };
	uint32_t msns[] = { 1, 3 }, uidvalidity, *uids;
	struct store_status status;

	append(store, "Archive", msg3, 0, kws_dst, 1, 0);	/* dest table: two=0 */
	append(store, "INBOX", msg1, STORE_FLAG_SEEN, kws_src, 2, 1600000000);
	append(store, "INBOX", msg2, 0, NULL, 0, 0);
	append(store, "INBOX", msg3, STORE_FLAG_FLAGGED, kws_src + 1, 1, 1500000000);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &src), 0);

	assert_int_equal(store_mailbox_copy(src, msns, 2, "Nope", false, &uidvalidity, &uids), -1);
	enum store_error err;
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_NOTFOUND);

	assert_int_equal(store_mailbox_copy(src, msns, 2, "Archive", false, &uidvalidity, &uids), 0);
	assert_int_equal(uids[0], 2);
	assert_int_equal(uids[1], 3);
	free(uids);
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(uidvalidity, status.uidvalidity);
	assert_int_equal(status.messages, 3);

	assert_int_equal(store_mailbox_open(store, "Archive", true, &dst), 0);
	const struct store_msg *m = store_mailbox_msg(dst, 2);
	size_t kwc;
	const char *const *names = store_mailbox_keywords(dst, &kwc);
	assert_int_equal(kwc, 2);
	assert_string_equal(names[0], "two");
	assert_string_equal(names[1], "one");
	assert_int_equal(m->flags, STORE_FLAG_SEEN);
	assert_int_equal(m->keywords, 3);
	assert_int_equal(m->internaldate, 1600000000);
	assert_int_equal(m->size, strlen(msg1));
	m = store_mailbox_msg(dst, 3);
	assert_int_equal(m->flags, STORE_FLAG_FLAGGED);
	assert_int_equal(m->keywords, 1);
	assert_int_equal(m->internaldate, 1500000000);
	char *text = read_msg(dst, 3);
	assert_string_equal(text, msg3);
	free(text);
	store_mailbox_close(&dst);

	/* move */
	uint32_t m2 = 2;
	assert_int_equal(store_mailbox_copy(src, &m2, 1, "Trash", true, &uidvalidity, &uids), 0);
	assert_int_equal(uids[0], 1);
	free(uids);
	assert_int_equal(store_mailbox_count(src), 3);
	struct events ev = { "" };
	assert_int_equal(store_mailbox_sync(src, STORE_SYNC_NO_EXPUNGES, &ev_callbacks, &ev), 0);
	assert_true(store_mailbox_is_expunged(src, 2));
	assert_int_equal(store_mailbox_status(store, "Trash", &status), 0);
	assert_int_equal(status.messages, 1);
	assert_int_equal(store_mailbox_open(store, "Trash", false, &dst), 0);
	text = read_msg(dst, 1);
	assert_string_equal(text, msg2);
	free(text);
	store_mailbox_close(&dst);

	/* a source expunged meanwhile (still in this view) fails the whole
	 * copy: nothing is copied */
	uint32_t m123[] = { 1, 2, 3 };
	assert_int_equal(store_mailbox_copy(src, m123, 3, "Archive", false, &uidvalidity, &uids), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXPUNGED);
	assert_null(uids);
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(status.messages, 3);
	char *arch = user_path("Maildir/.Archive/cur");
	assert_int_equal(testlib_count_files(arch), 3);
	free(arch);
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(src, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E2/2 ");
	store_mailbox_close(&src);
	store_close(&store);
}

/* Files in Maildir/.Archive/tmp, staged ".copy-*" ones included. */
static size_t archive_tmp_files(void)
{
	char *path = user_path("Maildir/.Archive/tmp");
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	}
	if (d != NULL)
		closedir(d);
	free(path);
	return n;
}

static int copy_run(struct store_copy *ctx)
{
	int ret;

	while ((ret = store_copy_continue(ctx, 1)) == 0)
		;
	return ret;
}

/* store_copy_*(): the destination shows nothing until the copy is done,
 * an abandoned or failed copy leaves no trace, and appends made between
 * the steps come before the copy's UIDs. */
static void test_copy_in_steps(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *src, *other;
	struct store_copy *ctx;
	struct store_status status;
	uint32_t msns[] = { 1, 2, 3, 4, 5 }, uidvalidity, *uids;
	const char *kw[] = { "$label" };
	enum store_error err;

	for (int i = 0; i < 5; i++)
		append(store, "INBOX", i == 2 ? msg2 : msg1, i == 0 ? STORE_FLAG_SEEN : 0,
		       i == 4 ? kw : NULL, i == 4 ? 1 : 0, 1500000000);
	append(store, "Archive", msg3, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &src), 0);

	/* abandoned after staging two: nothing in the destination */
	assert_int_equal(store_copy_begin(src, msns, 5, "Archive", false, &ctx), 0);
	assert_int_equal(store_copy_continue(ctx, 2), 0);
	assert_int_equal(archive_tmp_files(), 2);
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(status.messages, 1);
	assert_int_equal(status.uidnext, 2);
	/* another session appends meanwhile; a mailbox open cleans tmp/
	 * but keeps the staged files although their mtime is 2017's */
	append(store, "Archive", msg3, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "Archive", false, &other), 0);
	store_mailbox_close(&other);
	assert_int_equal(archive_tmp_files(), 2);
	store_copy_free(&ctx);
	assert_null(ctx);
	assert_int_equal(archive_tmp_files(), 0);
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(status.messages, 2);
	assert_int_equal(status.uidnext, 3);

	/* staged, then an append, then done: UIDs after the append's */
	assert_int_equal(store_copy_begin(src, msns, 5, "Archive", false, &ctx), 0);
	assert_int_equal(store_copy_continue(ctx, 5), 0);
	append(store, "Archive", msg3, 0, NULL, 0, 0);
	assert_int_equal(copy_run(ctx), 1);
	store_copy_result(ctx, &uidvalidity, &uids);
	store_copy_free(&ctx);
	for (int i = 0; i < 5; i++)
		assert_int_equal(uids[i], 4 + i);
	free(uids);
	assert_int_equal(archive_tmp_files(), 0);
	assert_int_equal(store_mailbox_open(store, "Archive", true, &other), 0);
	assert_int_equal(store_mailbox_count(other), 8);
	assert_int_equal(store_mailbox_msg(other, 4)->flags, STORE_FLAG_SEEN);
	assert_int_equal(store_mailbox_msg(other, 4)->internaldate, 1500000000);
	assert_int_equal(store_mailbox_msg(other, 8)->keywords, 1);
	char *text = read_msg(other, 6);
	assert_string_equal(text, msg2);
	free(text);
	struct store_msg_cache cache;
	assert_int_equal(store_mailbox_msg_cache(other, 6, &cache), 0);
	assert_non_null(cache.envelope);
	store_mailbox_close(&other);

	/* a source expunged between staging and the end fails the copy and
	 * leaves the destination as it was */
	assert_int_equal(store_copy_begin(src, msns, 5, "Archive", false, &ctx), 0);
	assert_int_equal(store_copy_continue(ctx, 5), 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &other), 0);
	uint32_t m3 = 3;
	assert_int_equal(store_mailbox_expunge(other, &m3, 1), 0);
	store_mailbox_close(&other);
	assert_int_equal(copy_run(ctx), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXPUNGED);
	store_copy_free(&ctx);
	assert_int_equal(archive_tmp_files(), 0);
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(status.messages, 8);
	assert_int_equal(status.uidnext, 9);
	char *cur = user_path("Maildir/.Archive/cur");
	assert_int_equal(testlib_count_files(cur), 8);
	free(cur);

	store_mailbox_close(&src);
	store_close(&store);
}

/* MOVE commits in parts (RFC 6851 3.1): a source expunged before its
 * part fails the MOVE there; each message is moved or unaffected, none
 * is in both mailboxes or lost. */
static void test_move_in_parts(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *src, *other;
	struct store_copy *ctx;
	struct store_status status;
	uint32_t msns[300];
	enum store_error err;

	for (uint32_t i = 0; i < 300; i++) {
		append(store, "INBOX", msg1, 0, NULL, 0, 0);
		msns[i] = i + 1;
	}
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &src), 0);
	assert_int_equal(store_copy_begin(src, msns, 300, "Archive", true, &ctx), 0);
	while (archive_tmp_files() < 300)
		assert_int_equal(store_copy_continue(ctx, 100), 0);
	/* another session expunges message 290 */
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &other), 0);
	uint32_t m290 = 290;
	assert_int_equal(store_mailbox_expunge(other, &m290, 1), 0);
	store_mailbox_close(&other);
	assert_int_equal(copy_run(ctx), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXPUNGED);
	store_copy_free(&ctx);
	assert_int_equal(archive_tmp_files(), 0);
	/* the first part moved, the rest unaffected */
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(status.messages, 256);
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 300 - 256 - 1);
	char *cur = user_path("Maildir/.Archive/cur");
	assert_int_equal(testlib_count_files(cur), 256);
	free(cur);
	cur = user_path("Maildir/cur");
	assert_int_equal(testlib_count_files(cur), 43);
	free(cur);
	store_mailbox_close(&src);
	store_close(&store);
}

/* The destination renamed between the steps: the copy lands in it under
 * its new name; deleted: the copy fails with STORE_ERR_NOTFOUND. */
static void test_copy_dest_renamed_or_deleted(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *src;
	struct store_copy *ctx;
	struct store_status status;
	uint32_t msns[] = { 1, 2, 3 }, uidvalidity, *uids;
	enum store_error err;

	for (int i = 0; i < 3; i++)
		append(store, "INBOX", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_create(store, "Box", 0), 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &src), 0);

	assert_int_equal(store_copy_begin(src, msns, 3, "Box", false, &ctx), 0);
	assert_int_equal(store_copy_continue(ctx, 1), 0);
	assert_int_equal(store_mailbox_rename(store, "Box", "Renamed"), 0);
	assert_int_equal(copy_run(ctx), 1);
	store_copy_result(ctx, &uidvalidity, &uids);
	store_copy_free(&ctx);
	free(uids);
	assert_int_equal(store_mailbox_status(store, "Renamed", &status), 0);
	assert_int_equal(status.messages, 3);

	assert_int_equal(store_copy_begin(src, msns, 3, "Renamed", false, &ctx), 0);
	assert_int_equal(store_copy_continue(ctx, 1), 0);
	assert_int_equal(store_mailbox_delete(store, "Renamed"), 0);
	assert_int_equal(copy_run(ctx), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_NOTFOUND);
	store_copy_free(&ctx);

	store_mailbox_close(&src);
	store_close(&store);
}

static bool list_has(struct store_mailbox_info *infos, size_t count, const char *name,
		     bool exists, bool children)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(infos[i].name, name) == 0)
			return infos[i].exists == exists && infos[i].has_children == children;
	}
	return false;
}

static bool list_lacks(struct store_mailbox_info *infos, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(infos[i].name, name) == 0)
			return false;
	}
	return true;
}

static void test_mailbox_ops(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox_info *infos;
	struct store_mailbox *box;
	size_t count;
	enum store_error err;
	struct stat st;

	assert_int_equal(store_mailbox_create(store, "A/B/C", 0), 0);
	assert_int_equal(store_mailbox_create(store, "A/B", 0), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_create(store, "inbox", 0), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_create(store, "bad//name", 0), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_PARAMS);
	assert_int_equal(store_mailbox_create(store, "bad\xff", 0), -1);
	assert_int_equal(store_mailbox_create(store, "v1.2%/x", 0), 0);
	char *dir = user_path("Maildir/.v1%2E2%25.x/cur");
	assert_int_equal(stat(dir, &st), 0);
	free(dir);
	assert_int_equal(store_mailbox_create(store, "Überweisungen", STORE_USE_ALL), 0);

	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_true(list_has(infos, count, "A", true, true));
	assert_true(list_has(infos, count, "A/B", true, true));
	assert_true(list_has(infos, count, "A/B/C", true, false));
	assert_true(list_has(infos, count, "v1.2%/x", true, false));
	assert_true(list_has(infos, count, "Überweisungen", true, false));
	free(infos);

	/* delete a parent: stays as \Noselect */
	append(store, "A", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_delete(store, "A"), 0);
	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_true(list_has(infos, count, "A", false, true));
	free(infos);
	assert_int_equal(store_mailbox_delete(store, "A"), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_INUSE);
	assert_int_equal(store_mailbox_open(store, "A", false, &box), -1);
	assert_int_equal(store_mailbox_delete(store, "INBOX"), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_NOTPOSSIBLE);
	assert_int_equal(store_mailbox_delete(store, "Nope"), -1);
	assert_string_equal(store_last_error(store, &err), "Mailbox doesn't exist: Nope");
	assert_int_equal(err, STORE_ERR_NOTFOUND);
	/* recreate the \Noselect name: a fresh mailbox */
	assert_int_equal(store_mailbox_create(store, "A", 0), 0);
	struct store_status status;
	assert_int_equal(store_mailbox_status(store, "A", &status), 0);
	assert_int_equal(status.messages, 0);
	assert_int_equal(store_mailbox_delete(store, "A/B/C"), 0);
	dir = user_path("Maildir/.A.B.C");
	assert_int_equal(stat(dir, &st), -1);
	free(dir);

	/* rename: children follow, parents are created */
	assert_int_equal(store_mailbox_create(store, "A/B/D", 0), 0);
	append(store, "A/B/D", msg2, STORE_FLAG_SEEN, NULL, 0, 0);
	assert_int_equal(store_mailbox_status(store, "A/B/D", &status), 0);
	uint32_t uv = status.uidvalidity;
	assert_int_equal(store_mailbox_rename(store, "A/B", "X/Y"), 0);
	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_true(list_has(infos, count, "X", true, true));
	assert_true(list_has(infos, count, "X/Y", true, true));
	assert_true(list_has(infos, count, "X/Y/D", true, false));
	assert_true(list_lacks(infos, count, "A/B"));
	assert_true(list_lacks(infos, count, "A/B/D"));
	free(infos);
	assert_int_equal(store_mailbox_status(store, "X/Y/D", &status), 0);
	assert_int_equal(status.messages, 1);
	assert_int_equal(status.uidvalidity, uv);
	assert_int_equal(store_mailbox_open(store, "X/Y/D", false, &box), 0);
	char *text = read_msg(box, 1);
	assert_string_equal(text, msg2);
	free(text);
	store_mailbox_close(&box);
	/* a view open during a rename by another store keeps working */
	struct store *other = open_store("demo");
	struct store_mailbox *follow;
	assert_int_equal(store_mailbox_open(other, "X/Y/D", false, &follow), 0);
	const char *const *old_watch = store_mailbox_watch_paths(follow);
	const char *old_new_dir = old_watch[1];
	assert_int_equal(store_mailbox_rename(store, "X/Y/D", "X/Y/E"), 0);
	append(store, "X/Y/E", msg3, 0, NULL, 0, 0);
	struct events fev = { "" };
	assert_int_equal(store_mailbox_sync(follow, 0, &ev_callbacks, &fev), 0);
	assert_string_equal(fev.log, "X2 ");
	assert_string_equal(store_mailbox_name(follow), "X/Y/E");
	assert_non_null(strstr(store_mailbox_watch_paths(follow)[1], ".X.Y.E/new"));
	assert_non_null(strstr(old_new_dir, ".X.Y.D/new"));
	text = read_msg(follow, 2);
	assert_string_equal(text, msg3);
	free(text);
	store_mailbox_close(&follow);
	store_close(&other);
	assert_int_equal(store_mailbox_rename(store, "X/Y/E", "X/Y/D"), 0);

	assert_int_equal(store_mailbox_rename(store, "X", "Sent"), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_EXISTS);
	assert_int_equal(store_mailbox_rename(store, "Nope", "Nope2"), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_NOTFOUND);
	assert_int_equal(store_mailbox_rename(store, "X", "X/Z"), -1);

	/* rename INBOX: messages move, INBOX stays and is empty */
	const char *kw[] = { "k" };
	append(store, "INBOX", msg1, STORE_FLAG_SEEN, kw, 1, 0);
	append(store, "INBOX", msg3, 0, NULL, 0, 0);
	struct store_mailbox *inbox;
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &inbox), 0);
	assert_int_equal(store_mailbox_rename(store, "INBOX", "Old/Inbox"), 0);
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 0);
	assert_int_equal(status.uidnext, 3);
	assert_int_equal(store_mailbox_status(store, "Old/Inbox", &status), 0);
	assert_int_equal(status.messages, 2);
	assert_int_equal(store_mailbox_open(store, "Old/Inbox", false, &box), 0);
	assert_int_equal(store_mailbox_msg(box, 1)->flags, STORE_FLAG_SEEN);
	assert_int_equal(store_mailbox_msg(box, 1)->keywords, 1);
	text = read_msg(box, 2);
	assert_string_equal(text, msg3);
	free(text);
	store_mailbox_close(&box);
	struct events ev = { "" };
	assert_int_equal(store_mailbox_sync(inbox, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "E2/2 E1/1 ");
	store_mailbox_close(&inbox);
	append(store, "INBOX", msg2, 0, NULL, 0, 0);

	/* subscriptions */
	assert_int_equal(store_mailbox_subscribe(store, "Ghost/Town", true), 0);
	assert_int_equal(store_mailbox_subscribe(store, "Sent", false), 0);
	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	for (size_t i = 0; i < count; i++) {
		if (strcmp(infos[i].name, "Ghost/Town") == 0) {
			assert_true(infos[i].subscribed);
			assert_false(infos[i].exists);
		}
		if (strcmp(infos[i].name, "Sent") == 0)
			assert_false(infos[i].subscribed);
	}
	assert_true(list_lacks(infos, count, "Ghost"));
	free(infos);
	store_close(&store);
}

static void test_new_pickup(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	struct events ev = { "" };
	const char *lf_msg = "Subject: dropped\n\nline\n";
	const char *crlf_msg = "Subject: dropped\r\n\r\nline\r\n";

	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	const char *const *paths = store_mailbox_watch_paths(box);
	assert_non_null(strstr(paths[0], "/notify"));
	assert_non_null(strstr(paths[1], "Maildir/new"));
	assert_non_null(strstr(paths[2], "Maildir/cur"));
	assert_null(paths[3]);

	char *path = user_path("Maildir/new/1234.M1P1.host");
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, lf_msg, strlen(lf_msg)), (ssize_t)strlen(lf_msg));
	close(fd);
	struct timespec times[2] = { { 1400000000, 0 }, { 1400000000, 0 } };
	utimensat(AT_FDCWD, path, times, 0);
	free(path);
	path = user_path("Maildir/new/1235.M1P1.host:2,S");
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, crlf_msg, strlen(crlf_msg)), (ssize_t)strlen(crlf_msg));
	close(fd);
	free(path);

	/* not a message: ignored */
	path = user_path("Maildir/new/somedir");
	assert_int_equal(mkdir(path, 0700), 0);
	free(path);

	assert_int_equal(store_mailbox_sync(box, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "X2 ");
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_sync(box, 0, &ev_callbacks, &ev), 0);
	assert_string_equal(ev.log, "");
	const struct store_msg *m = store_mailbox_msg(box, 1);
	assert_int_equal(m->uid, 1);
	assert_int_equal(m->size, strlen(crlf_msg));
	assert_int_equal(m->header_size, strlen("Subject: dropped\r\n\r\n"));
	assert_int_equal(m->internaldate, 1400000000);
	assert_true(store_mailbox_is_recent(box, 1));
	assert_int_equal(store_mailbox_msg(box, 2)->flags, STORE_FLAG_SEEN);
	char *text = read_msg(box, 1);
	assert_string_equal(text, crlf_msg);
	free(text);
	path = user_path("Maildir/new");
	assert_int_equal(testlib_count_files(path), 1);	/* somedir */
	free(path);
	path = user_path("Maildir/cur");
	char *name = first_file(path);
	assert_non_null(strstr(name, ",U="));
	free(name);
	free(path);
	store_mailbox_close(&box);

	/* STATUS sees dropped mail without a sync */
	struct store_status status;
	path = user_path("Maildir/.Archive/new/999.M1P1.host");
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, lf_msg, strlen(lf_msg)), (ssize_t)strlen(lf_msg));
	close(fd);
	free(path);
	assert_int_equal(store_mailbox_status(store, "Archive", &status), 0);
	assert_int_equal(status.messages, 1);
	assert_int_equal(status.recent, 1);
	assert_int_equal(status.size, strlen(crlf_msg));
	store_close(&store);
}

static void test_rebuild(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	struct store_status before_inbox, before_f, after;
	const char *kws[] = { "Alpha", "Beta" };
	const char *error;
	uint32_t m3 = 3;

	assert_int_equal(store_mailbox_create(store, "Folder.With/Dots", 0), 0);
	append(store, "INBOX", msg1, STORE_FLAG_SEEN, kws, 2, 1600000000);
	append(store, "INBOX", msg2, STORE_FLAG_ANSWERED | STORE_FLAG_DRAFT, kws + 1, 1, 0);
	append(store, "INBOX", msg3, 0, NULL, 0, 0);
	append(store, "Folder.With/Dots", msg3, STORE_FLAG_FLAGGED, kws, 1, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	/* expunge the highest uid: uidnext must survive the rebuild */
	assert_int_equal(store_mailbox_expunge(box, &m3, 1), 0);
	store_mailbox_close(&box);
	assert_int_equal(store_mailbox_subscribe(store, "Folder.With/Dots", true), 0);
	assert_int_equal(store_mailbox_status(store, "INBOX", &before_inbox), 0);
	assert_int_equal(store_mailbox_status(store, "Folder.With/Dots", &before_f), 0);
	store_close(&store);

	char *path = user_path("index.sqlite");
	assert_int_equal(unlink(path), 0);
	free(path);
	path = user_path("index.sqlite-wal");
	unlink(path);
	free(path);
	path = user_path("index.sqlite-shm");
	unlink(path);
	free(path);
	/* leftovers in tmp/ go */
	path = user_path("Maildir/tmp/leftover");
	int fd = open(path, O_WRONLY | O_CREAT, 0600);
	close(fd);
	free(path);

	/* an append that crashed after its rename into cur/ left an older,
	 * unindexed file with uid 2, which the next append reused: the newer
	 * (indexed) file keeps uid 2, the orphan gets a new one */
	char *cur = user_path("Maildir/cur");
	char *orphan = xasprintf("%s/1.M1P1Q1.crashed,S=5,U=2:2,", cur);
	fd = open(orphan, O_WRONLY | O_CREAT, 0600);
	assert_int_equal(write(fd, "A: b\n", 5), 5);
	close(fd);
	struct timespec old_ts[2] = { { 1000, 0 }, { 1000, 0 } };
	utimensat(AT_FDCWD, orphan, old_ts, 0);
	free(orphan);
	/* make the indexed files' ctime newer than the orphan's */
	usleep(20000);
	DIR *d = opendir(cur);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strstr(de->d_name, "crashed") != NULL)
			continue;
		char *p = xasprintf("%s/%s", cur, de->d_name);
		chmod(p, 0600);
		free(p);
	}
	closedir(d);
	free(cur);

	assert_int_equal(store_rebuild(&set, "demo", &error), 0);
	path = user_path("Maildir/tmp");
	assert_int_equal(testlib_count_files(path), 0);
	free(path);

	store = open_store("demo");
	assert_int_equal(store_mailbox_status(store, "INBOX", &after), 0);
	assert_int_equal(after.uidvalidity, before_inbox.uidvalidity);
	assert_int_equal(after.uidnext, before_inbox.uidnext + 1);	/* + the orphan */
	assert_int_equal(after.messages, 3);
	assert_int_equal(after.recent, 0);
	assert_true(after.highestmodseq > before_inbox.highestmodseq);
	assert_int_equal(store_mailbox_status(store, "Folder.With/Dots", &after), 0);
	assert_int_equal(after.uidvalidity, before_f.uidvalidity);
	assert_int_equal(after.messages, 1);

	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	const struct store_msg *m = store_mailbox_msg(box, 1);
	size_t kwc;
	const char *const *names = store_mailbox_keywords(box, &kwc);
	assert_int_equal(kwc, 2);
	assert_string_equal(names[0], "Alpha");
	assert_string_equal(names[1], "Beta");
	assert_int_equal(m->uid, 1);
	assert_int_equal(m->flags, STORE_FLAG_SEEN);
	assert_int_equal(m->keywords, 3);
	assert_int_equal(m->internaldate, 1600000000);
	assert_int_equal(m->size, strlen(msg1));
	assert_int_equal(m->header_size, strlen("From: a@example.org\r\nSubject: one\r\n\r\n"));
	m = store_mailbox_msg(box, 2);
	assert_int_equal(m->uid, 2);
	assert_int_equal(m->flags, STORE_FLAG_ANSWERED | STORE_FLAG_DRAFT);
	assert_int_equal(m->keywords, 2);
	assert_int_equal(m->size, strlen(msg2));
	/* the orphan got a fresh uid above the recorded uidnext */
	m = store_mailbox_msg(box, 3);
	assert_int_equal(m->uid, 4);
	assert_int_equal(m->size, 5);
	store_mailbox_close(&box);
	/* new appends continue above */
	assert_int_equal(append(store, "INBOX", msg3, 0, NULL, 0, 0), 5);

	struct store_mailbox_info *infos;
	size_t count;
	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	assert_true(list_has(infos, count, "Folder.With/Dots", true, false));
	assert_true(list_has(infos, count, "Folder.With", true, true));
	for (size_t i = 0; i < count; i++) {
		if (strcmp(infos[i].name, "Folder.With/Dots") == 0 ||
		    strcmp(infos[i].name, "Drafts") == 0)
			assert_true(infos[i].subscribed);
		if (strcmp(infos[i].name, "Drafts") == 0)
			assert_int_equal(infos[i].special_use, STORE_USE_DRAFTS);
	}
	free(infos);
	store_close(&store);
}

static void test_crash_append(void **state)
{
	(void)state;
	struct store *store;
	struct store_append *ctx;
	struct store_status status;
	pid_t pid;
	int wstatus;

	set.fsync = true;
	store = open_store("demo");
	store_close(&store);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *child = NULL;
		const char *error;

		if (store_open(&set, "demo", &child, &error) < 0 ||
		    store_append_begin(child, "INBOX", &ctx) < 0 ||
		    store_append_write(ctx, "Subject: half\r\n", 15) < 0)
			_exit(1);
		_exit(0);	/* dies in the middle: no commit */
	}
	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	assert_true(WIFEXITED(wstatus));
	assert_int_equal(WEXITSTATUS(wstatus), 0);

	store = open_store("demo");
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 0);
	assert_int_equal(status.uidnext, 1);
	char *path = user_path("Maildir/cur");
	assert_int_equal(testlib_count_files(path), 0);
	free(path);
	path = user_path("Maildir/tmp");
	assert_int_equal(testlib_count_files(path), 1);	/* the half message, cleaned after 36h */
	struct store_mailbox *box;
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	store_mailbox_close(&box);
	assert_int_equal(testlib_count_files(path), 1);	/* still young */
	/* aged by its ctime, not by the mtime a writer sets (to the
	 * INTERNALDATE): an old mtime does not make it stale */
	char *half = first_file(path);
	char *half_path = xasprintf("%s/%s", path, half);
	time_t old = time(NULL) - 37 * 3600;
	struct timespec old_ts[2] = { { old, 0 }, { old, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, half_path, old_ts, 0), 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	store_mailbox_close(&box);
	assert_int_equal(testlib_count_files(path), 1);
	assert_int_equal(unlink(half_path), 0);
	free(half);
	free(half_path);
	free(path);

	/* abort: nothing stored, tmp file gone */
	assert_int_equal(store_append_begin(store, "Sent", &ctx), 0);
	assert_int_equal(store_append_write(ctx, msg1, 10), 0);
	store_append_abort(&ctx);
	assert_null(ctx);
	path = user_path("Maildir/.Sent/tmp");
	assert_int_equal(testlib_count_files(path), 0);
	free(path);
	path = user_path("Maildir/.Sent/cur");
	assert_int_equal(testlib_count_files(path), 0);
	free(path);
	assert_int_equal(store_mailbox_status(store, "Sent", &status), 0);
	assert_int_equal(status.messages, 0);

	/* a durable append works with fsync on and survives reopening */
	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	store_close(&store);
	store = open_store("demo");
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 1);
	store_close(&store);
	set.fsync = false;
}

static void test_notify(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	char *path = user_path("notify");
	struct stat st1, st2;

	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	assert_int_equal(stat(path, &st1), 0);
	struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };
	utimensat(AT_FDCWD, path, old, 0);
	append(store, "INBOX", msg2, 0, NULL, 0, 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st2.st_mtime > 1000);
	free(path);
	store_close(&store);
}

static void test_keyword_limit(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	enum store_error err;
	uint32_t m1 = 1, *failed;
	size_t failed_count;
	char name[32];

	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	for (int i = 0; i < STORE_MAX_KEYWORDS; i++) {
		snprintf(name, sizeof(name), "kw%d", i);
		assert_int_equal(store_mailbox_keyword_index(box, name, true), i);
	}
	assert_int_equal(store_mailbox_keyword_index(box, "one-too-many", true), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_LIMIT);
	/* keywords past 'z' live only in the index */
	store_keywords_t mask = ((store_keywords_t)1 << 0) | ((store_keywords_t)1 << 25) |
		((store_keywords_t)1 << 26) | ((store_keywords_t)1 << 63);
	assert_int_equal(store_mailbox_update_flags(box, &m1, 1, STORE_FLAGS_REPLACE,
		0, mask, 0, &failed, &failed_count), 0);
	store_mailbox_close(&box);
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_true(store_mailbox_msg(box, 1)->keywords == mask);
	store_mailbox_close(&box);
	char *cur = user_path("Maildir/cur");
	char *file = first_file(cur);
	assert_non_null(strstr(file, ":2,az"));
	assert_int_equal(strlen(strstr(file, ":2,")), 5);
	free(file);
	free(cur);
	/* append with too many new keywords fails cleanly */
	struct store_append *ctx;
	const char *kws[] = { "brand-new" };
	uint32_t uv, uid;
	assert_int_equal(store_append_begin(store, "INBOX", &ctx), 0);
	assert_int_equal(store_append_write(ctx, msg2, strlen(msg2)), 0);
	assert_int_equal(store_append_commit(&ctx, 0, kws, 1, 0, 0, &uv, &uid), -1);
	store_last_error(store, &err);
	assert_int_equal(err, STORE_ERR_LIMIT);
	char *tmp = user_path("Maildir/tmp");
	assert_int_equal(testlib_count_files(tmp), 0);
	free(tmp);
	struct store_status status;
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 1);
	store_close(&store);
}

/* store_mailbox_keywords_mask(): a command's new keywords go in all
 * together or none; and a session's own flag change is told apart from
 * one that merged another session's (own_flags). */
static void ev_own_flags(void *ctx, uint32_t msn, const struct store_msg *msg)
{
	struct events *ev = ctx;
	size_t len = strlen(ev->log);

	snprintf(ev->log + len, sizeof(ev->log) - len, "O%u=%u ", msn, msg->flags);
}

static void test_keywords_all_or_none(void **state)
{
	(void)state;
	struct store *s1 = open_store("demo"), *s2 = open_store("demo");
	struct store_mailbox *a, *b;
	enum store_error err;
	store_keywords_t mask;
	const char *names[STORE_MAX_KEYWORDS];
	char bufs[STORE_MAX_KEYWORDS][16];
	uint32_t m1 = 1, m2 = 2, *failed;
	size_t n, failed_count;

	for (int i = 0; i < STORE_MAX_KEYWORDS; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "k%d", i);
		names[i] = bufs[i];
	}
	append(s1, "INBOX", msg1, 0, NULL, 0, 0);
	append(s1, "INBOX", msg2, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(s1, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_open(s2, "INBOX", false, &b), 0);
	assert_int_equal(store_mailbox_keywords_mask(a, names, 60, true, &mask), 0);
	assert_true(mask == ((store_keywords_t)1 << 60) - 1);
	/* b's table is older: 3 of the 5 are new, 64 - 60 = 4 places */
	const char *more[] = { "k58", "K59", "x1", "x2", "x3", "x4", "x5" };
	assert_int_equal(store_mailbox_keywords_mask(b, more, 7, true, &mask), -1);
	store_last_error(s2, &err);
	assert_int_equal(err, STORE_ERR_LIMIT);
	assert_int_equal(store_mailbox_keywords_mask(b, more, 6, true, &mask), 0);
	store_mailbox_keywords(b, &n);
	assert_int_equal(n, 64);
	assert_true(mask == (((store_keywords_t)3 << 58) | ((store_keywords_t)15 << 60)));
	/* without create, names the mailbox does not have (x5) are left
	 * out; those b added since a's last sync are found, the table
	 * reloaded (a -FLAGS of them must remove them) */
	assert_int_equal(store_mailbox_keywords_mask(a, more, 7, false, &mask), 0);
	assert_true(mask == (((store_keywords_t)3 << 58) | ((store_keywords_t)15 << 60)));
	store_mailbox_keywords(a, &n);
	assert_int_equal(n, 64);

	/* own change of what a knew: own_flags; merged with b's: flags */
	struct events ev = { .log = "" };
	struct store_sync_callbacks cb = ev_callbacks;
	cb.own_flags = ev_own_flags;
	assert_int_equal(store_mailbox_sync(a, 0, &cb, &ev), 0);
	ev.log[0] = '\0';
	assert_int_equal(store_mailbox_update_flags(b, &m2, 1, STORE_FLAGS_ADD,
		STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(a, &m1, 1, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(a, &m2, 1, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_sync(a, 0, &cb, &ev), 0);
	assert_string_equal(ev.log, "O1=1 F2=5 ");
	store_mailbox_close(&a);
	store_mailbox_close(&b);
	store_close(&s1);
	store_close(&s2);
}

static void test_delete_recreate(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_status st1, st2;
	struct stat st;

	assert_int_equal(store_mailbox_create(store, "Tmp", 0), 0);
	append(store, "Tmp", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_status(store, "Tmp", &st1), 0);
	assert_int_equal(store_mailbox_delete(store, "Tmp"), 0);
	char *dir = user_path("Maildir/.Tmp");
	assert_int_equal(stat(dir, &st), -1);
	free(dir);
	dir = user_path("trash");
	assert_int_equal(testlib_count_files(dir), 0);
	free(dir);
	assert_int_equal(store_mailbox_create(store, "Tmp", 0), 0);
	assert_int_equal(store_mailbox_status(store, "Tmp", &st2), 0);
	assert_int_equal(st2.messages, 0);
	assert_int_equal(st2.uidnext, 1);
	assert_true(st2.uidvalidity != st1.uidvalidity);
	store_close(&store);
}

/* Several processes append and flag at once: no lost update, unique UIDs. */
static void test_multiprocess(void **state)
{
	(void)state;
	enum { CHILDREN = 3, PER_CHILD = 15 };
	struct store *store = open_store("demo");
	struct store_mailbox *box;
	pid_t pids[CHILDREN];

	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	store_close(&store);
	for (int c = 0; c < CHILDREN; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] == 0) {
			struct store *cs;
			struct store_mailbox *cb;
			const char *error;
			uint32_t m1 = 1, *failed;
			size_t failed_count;
			char kw[16];

			if (store_open(&set, "demo", &cs, &error) < 0 ||
			    store_mailbox_open(cs, "INBOX", false, &cb) < 0)
				_exit(1);
			snprintf(kw, sizeof(kw), "child%d", c);
			int idx = store_mailbox_keyword_index(cb, kw, true);
			if (idx < 0 || store_mailbox_update_flags(cb, &m1, 1, STORE_FLAGS_ADD,
					c == 0 ? STORE_FLAG_SEEN : c == 1 ? STORE_FLAG_FLAGGED :
					STORE_FLAG_ANSWERED, (store_keywords_t)1 << idx, 0,
					&failed, &failed_count) < 0)
				_exit(2);
			for (int i = 0; i < PER_CHILD; i++) {
				struct store_append *ctx;
				uint32_t uv, uid;

				if (store_append_begin(cs, "INBOX", &ctx) < 0 ||
				    store_append_write(ctx, msg2, strlen(msg2)) < 0 ||
				    store_append_commit(&ctx, 0, NULL, 0, 0, 0, &uv, &uid) < 0)
					_exit(3);
				if (store_mailbox_sync(cb, 0, NULL, NULL) < 0)
					_exit(4);
			}
			store_mailbox_close(&cb);
			store_close(&cs);
			_exit(0);
		}
	}
	for (int c = 0; c < CHILDREN; c++) {
		int wstatus;

		assert_int_equal(waitpid(pids[c], &wstatus, 0), pids[c]);
		assert_true(WIFEXITED(wstatus));
		assert_int_equal(WEXITSTATUS(wstatus), 0);
	}
	store = open_store("demo");
	assert_int_equal(store_mailbox_open(store, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_count(box), 1 + CHILDREN * PER_CHILD);
	for (uint32_t i = 1; i <= store_mailbox_count(box); i++)
		assert_int_equal(store_mailbox_msg(box, i)->uid, i);
	assert_int_equal(store_mailbox_msg(box, 1)->flags,
			 STORE_FLAG_SEEN | STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED);
	assert_int_equal(store_mailbox_msg(box, 1)->keywords, 7);
	store_mailbox_close(&box);
	char *cur = user_path("Maildir/cur");
	assert_int_equal(testlib_count_files(cur), 1 + CHILDREN * PER_CHILD);
	free(cur);
	store_close(&store);
}

static void test_lost_index_rebuilds_on_open(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_status before, after;

	assert_int_equal(store_mailbox_create(store, "Keep", 0), 0);
	append(store, "Keep", msg1, STORE_FLAG_SEEN, NULL, 0, 0);
	assert_int_equal(store_mailbox_status(store, "Keep", &before), 0);
	store_close(&store);
	char *path = user_path("index.sqlite");
	unlink(path);
	free(path);
	path = user_path("index.sqlite-wal");
	unlink(path);
	free(path);
	path = user_path("index.sqlite-shm");
	unlink(path);
	free(path);
	store = open_store("demo");
	assert_int_equal(store_mailbox_status(store, "Keep", &after), 0);
	assert_int_equal(after.uidvalidity, before.uidvalidity);
	assert_int_equal(after.messages, 1);
	assert_int_equal(after.unseen, 0);
	store_close(&store);
}

/* A write error in the middle of an APPEND (here EFBIG from a file size
 * limit, standing in for a full disk) stores nothing and leaves no file. */
static void test_append_write_error(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_status status;
	pid_t pid;
	int wstatus;

	store_close(&store);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = { 4096, 4096 };
		struct store_append *ctx;
		enum store_error err;
		uint32_t uv, uid;
		const char *error;
		char buf[1024];

		signal(SIGXFSZ, SIG_IGN);
		if (store_open(&set, "demo", &store, &error) < 0 ||
		    setrlimit(RLIMIT_FSIZE, &rl) < 0 ||
		    store_append_begin(store, "INBOX", &ctx) < 0)
			_exit(1);
		memset(buf, 'x', sizeof(buf));
		int failed = 0;
		for (int i = 0; i < 8 && !failed; i++)
			failed = store_append_write(ctx, buf, sizeof(buf)) < 0;
		if (!failed)
			_exit(2);
		store_last_error(store, &err);
		if (err != STORE_ERR_TEMP)
			_exit(3);
		if (store_append_commit(&ctx, 0, NULL, 0, 0, 0, &uv, &uid) != -1 || ctx != NULL)
			_exit(4);
		store_close(&store);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	assert_true(WIFEXITED(wstatus));
	assert_int_equal(WEXITSTATUS(wstatus), 0);
	store = open_store("demo");
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 0);
	char *path = user_path("Maildir/tmp");
	assert_int_equal(testlib_count_files(path), 0);
	free(path);
	path = user_path("Maildir/cur");
	assert_int_equal(testlib_count_files(path), 0);
	free(path);
	store_close(&store);
}

/* The only message file in dir (a Maildir cur/), stat'ed. */
static void stat_only_file(const char *dir, struct stat *st)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char *path = xasprintf("%s/%s", dir, de->d_name);
		assert_int_equal(stat(path, st), 0);
		free(path);
		found++;
	}
	closedir(d);
	assert_int_equal(found, 1);
}

static struct store_message *shared_message(const char *text)
{
	struct store_message *msg;
	const char *error;
	size_t half = strlen(text) / 2;

	assert_int_equal(store_message_begin(&set, &msg, &error), 0);
	assert_int_equal(store_message_write(msg, text, half, &error), 0);
	assert_int_equal(store_message_write(msg, text + half, strlen(text) - half, &error), 0);
	assert_int_equal(store_message_finish(msg, 1700000000, &error), 0);
	return msg;
}

static uint32_t append_message(struct store *store, const char *mailbox,
			       struct store_message *msg, uint32_t flags)
{
	struct store_append *ctx;
	uint32_t uidvalidity, uid;

	assert_int_equal(store_append_begin_message(store, mailbox, msg, &ctx), 0);
	assert_int_equal(store_append_commit(&ctx, flags, NULL, 0, 0, 0, &uidvalidity, &uid), 0);
	return uid;
}

/* One message, written and parsed once, into mailboxes of two users: one
 * inode, every index with the model, each copy independent. */
static void test_shared_message(void **state)
{
	(void)state;
	static const char text[] =
		"From: a@example.org\r\nSubject: shared\r\n\r\nonce on disk\r\n";
	struct store *demo = open_store("demo"), *alice = open_store("alice");
	struct store_message *msg = shared_message(text);
	struct store_append *ctx;
	struct store_mailbox *box;
	struct store_msg_cache cache;
	enum store_error err;
	struct stat st1, st2, st3;

	assert_int_equal(append_message(demo, "INBOX", msg, STORE_FLAG_SEEN), 1);
	assert_int_equal(append_message(alice, "INBOX", msg, 0), 1);
	assert_int_equal(append_message(demo, "Archive", msg, 0), 1);

	/* no writing into it, no unfinished message, no missing mailbox */
	assert_int_equal(store_append_begin_message(demo, "INBOX", msg, &ctx), 0);
	assert_int_equal(store_append_write(ctx, "x", 1), -1);
	store_last_error(demo, &err);
	assert_int_equal(err, STORE_ERR_PARAMS);
	store_append_abort(&ctx);
	assert_int_equal(store_append_begin_message(demo, "Nope", msg, &ctx), -1);
	store_last_error(demo, &err);
	assert_int_equal(err, STORE_ERR_NOTFOUND);
	store_message_free(&msg);
	assert_null(msg);

	char *path = user_path("Maildir/cur");
	stat_only_file(path, &st1);
	free(path);
	path = xasprintf("%s/users/_/alice/Maildir/cur", testlib_dir());
	stat_only_file(path, &st2);
	free(path);
	path = user_path("Maildir/.Archive/cur");
	stat_only_file(path, &st3);
	free(path);
	assert_true(st1.st_ino == st2.st_ino && st2.st_ino == st3.st_ino);
	assert_int_equal(st1.st_nlink, 3);
	assert_int_equal(st1.st_size, strlen(text));

	assert_int_equal(store_mailbox_open(alice, "INBOX", false, &box), 0);
	const struct store_msg *m = store_mailbox_msg(box, 1);
	assert_int_equal(m->size, strlen(text));
	assert_int_equal(m->header_size, strlen(text) - strlen("once on disk\r\n"));
	assert_int_equal(m->internaldate, 1700000000);
	assert_int_equal(m->flags, 0);
	assert_int_equal(store_mailbox_msg_cache(box, 1, &cache), 0);
	assert_non_null(strstr(cache.envelope, "\"shared\""));
	char *read = read_msg(box, 1);
	assert_string_equal(read, text);
	free(read);
	/* expunging alice's copy leaves demo's */
	uint32_t msn = 1, *failed;
	size_t failed_count;
	assert_int_equal(store_mailbox_update_flags(box, &msn, 1, STORE_FLAGS_ADD,
						    STORE_FLAG_DELETED, 0, 0, &failed,
						    &failed_count), 0);
	free(failed);
	assert_int_equal(store_mailbox_expunge(box, NULL, 0), 0);
	store_mailbox_close(&box);
	path = user_path("Maildir/cur");
	stat_only_file(path, &st1);
	free(path);
	assert_int_equal(st1.st_nlink, 2);
	assert_int_equal(store_mailbox_open(demo, "INBOX", true, &box), 0);
	assert_int_equal(store_mailbox_msg(box, 1)->flags, STORE_FLAG_SEEN);
	read = read_msg(box, 1);
	assert_string_equal(read, text);
	free(read);
	store_mailbox_close(&box);
	store_close(&alice);
	store_close(&demo);
}

/* Where the file system refuses the link (the spool in data_dir, the
 * users' Maildirs on another file system) each mailbox gets a copy. */
static void test_shared_message_other_fs(void **state)
{
	(void)state;
	struct stat st_tmp, st_shm, st1, st2;
	char shm[] = "/dev/shm/roost-test-XXXXXX";

	if (stat(testlib_dir(), &st_tmp) < 0 || stat("/dev/shm", &st_shm) < 0 ||
	    st_tmp.st_dev == st_shm.st_dev || mkdtemp(shm) == NULL) {
		skip();	/* no second file system here */
		return;
	}
	char *users = xasprintf("%s/users", testlib_dir());
	assert_int_equal(symlink(shm, users), 0);
	struct store *demo = open_store("demo"), *alice = open_store("alice");
	static const char text[] = "Subject: copied\r\n\r\nbody\r\n";
	struct store_message *msg = shared_message(text);
	assert_int_equal(append_message(demo, "INBOX", msg, 0), 1);
	assert_int_equal(append_message(alice, "INBOX", msg, 0), 1);
	store_message_free(&msg);
	char *path = user_path("Maildir/cur");
	stat_only_file(path, &st1);
	free(path);
	path = xasprintf("%s/_/alice/Maildir/cur", shm);
	stat_only_file(path, &st2);
	free(path);
	assert_true(st1.st_ino != st2.st_ino);
	assert_int_equal(st1.st_nlink, 1);
	assert_int_equal(st2.st_size, strlen(text));
	store_close(&alice);
	store_close(&demo);
	char *cmd = xasprintf("rm -rf '%s'", shm);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(users);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_user_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_defaults_and_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge_and_sync_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_expunges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_in_steps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move_in_parts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_dest_renamed_or_deleted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailbox_ops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_pickup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_append, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keyword_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keywords_all_or_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_write_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_recreate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiprocess, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_index_rebuilds_on_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_message, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_message_other_fs, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
