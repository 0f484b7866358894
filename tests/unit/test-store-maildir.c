/* test-store-maildir.c: what only the Maildir backend has, beside the
 * conformance suite (test-store-conformance.c): the user's directories
 * and their modes, message file names carrying UID, size, flags and
 * keyword letters, folder names escaped on disk, mail dropped into new/
 * by other programs, tmp/ and its cleanup, the notify file, the SQLite
 * index's tombstones, rebuilds from the files alone, and the hard links
 * of a message shared by several mailboxes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/base.h"
#include "store/store.h"
#include "store-fixture.h"
#include "testlib.h"

/* A user's directories: 0700, the index 0600, the domain a directory
 * of its own ("_" for a bare name). */
static void test_user_dirs(void **state)
{
	(void)state;
	struct store *store;
	struct stat st;

	store = open_store("Bob@Example.ORG");
	store_close(&store);
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

/* The file name carries size, UID and flags, and follows flag changes:
 * "Sa" for \Seen + keyword 0; keywords past 'z' live only in the index;
 * concurrent changes of two sessions both end up in the name. */
static void test_flags_in_file_names(void **state)
{
	(void)state;
	struct store *store = open_store("demo"), *s2 = open_store("demo");
	struct store_mailbox *box, *b;
	uint32_t msns[] = { 1, 2 }, m3 = 3, *failed;
	size_t failed_count;
	unsigned int n;
	char *cur = user_path("Maildir/cur");

	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	append(store, "INBOX", msg2, STORE_FLAG_DRAFT, NULL, 0, 0);
	append(store, "INBOX", msg3, 0, NULL, 0, 0);
	assert_int_equal(testlib_count_files(cur), 3);
	char *name = cur_file_with_uid(cur, 1, &n);
	char *size = xasprintf(",S=%zu,U=1:2,", strlen(msg1));
	assert_non_null(strstr(name, size));
	free(size);
	free(name);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	assert_int_equal(store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(box, msns, 1, STORE_FLAGS_REMOVE,
		STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(box, msns + 1, 1, STORE_FLAGS_REPLACE,
		STORE_FLAG_ANSWERED, 0, 0, &failed, &failed_count), 0);
	int kw = kw_index(box, "Important", true);
	assert_int_equal(store_mailbox_update_flags(box, msns, 2, STORE_FLAGS_ADD,
		0, 1u << kw, 0, &failed, &failed_count), 0);
	DIR *d = opendir(cur);
	struct dirent *de;
	int found = 0;
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ",U=1:2,Sa") != NULL ||
		    strstr(de->d_name, ",U=2:2,Ra") != NULL)
			found++;
	}
	closedir(d);
	assert_int_equal(found, 2);

	/* two sessions, each with a stale view, on message 3 */
	assert_int_equal(store_mailbox_open(s2, "INBOX", false, &b), 0);
	assert_int_equal(store_mailbox_update_flags(box, &m3, 1, STORE_FLAGS_ADD,
		STORE_FLAG_SEEN, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(b, &m3, 1, STORE_FLAGS_ADD,
		STORE_FLAG_FLAGGED, 0, 0, &failed, &failed_count), 0);
	int kb = kw_index(b, "KB", true);
	assert_int_equal(kb, 1);
	assert_int_equal(store_mailbox_update_flags(box, &m3, 1, STORE_FLAGS_ADD,
		0, 1u << kw, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_update_flags(b, &m3, 1, STORE_FLAGS_ADD,
		0, 1u << kb, 0, &failed, &failed_count), 0);
	name = cur_file_with_uid(cur, 3, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(name, ":2,FSab"));
	free(name);

	/* keywords past 'z' live only in the index */
	for (int i = 2; i < STORE_MAX_KEYWORDS; i++) {
		char kwname[16];

		snprintf(kwname, sizeof(kwname), "kw%d", i);
		assert_int_equal(kw_index(box, kwname, true), i);
	}
	store_keywords_t mask = ((store_keywords_t)1 << 0) | ((store_keywords_t)1 << 25) |
		((store_keywords_t)1 << 26) | ((store_keywords_t)1 << 63);
	assert_int_equal(store_mailbox_update_flags(box, &m3, 1, STORE_FLAGS_REPLACE,
		0, mask, 0, &failed, &failed_count), 0);
	name = cur_file_with_uid(cur, 3, &n);
	assert_non_null(strstr(name, ":2,az"));
	assert_int_equal(strlen(strstr(name, ":2,")), 5);
	free(name);
	store_mailbox_close(&b);
	store_mailbox_close(&box);
	free(cur);
	store_close(&s2);
	store_close(&store);
}

/* Expunge tombstones are kept in the index, with the modseq of their
 * expunge (for QRESYNC), and the message files go. */
static void test_expunge_tombstones(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct store_mailbox *a;
	uint32_t m12[] = { 1, 2 }, m1 = 1, *failed;
	size_t failed_count;

	append(store, "INBOX", msg1, 0, NULL, 0, 0);
	append(store, "INBOX", msg2, 0, NULL, 0, 0);
	append(store, "INBOX", msg3, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &a), 0);
	assert_int_equal(store_mailbox_update_flags(a, m12, 2, STORE_FLAGS_ADD,
		STORE_FLAG_DELETED, 0, 0, &failed, &failed_count), 0);
	assert_int_equal(store_mailbox_expunge(a, NULL, 0), 0);
	assert_int_equal(store_mailbox_sync(a, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_expunge(a, &m1, 1), 0);
	assert_int_equal(store_mailbox_sync(a, 0, NULL, NULL), 0);
	char *cur = user_path("Maildir/cur");
	assert_int_equal(testlib_count_files(cur), 0);
	free(cur);

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
	store_mailbox_close(&a);
	store_close(&store);
}

/* Folder names on disk: '.' and '%' escaped, a deleted folder's
 * directory gone, and a renamed folder's directories followed by the
 * views open on it. */
static void test_folder_dirs(void **state)
{
	(void)state;
	struct store *store = open_store("demo");
	struct stat st;

	assert_int_equal(store_mailbox_create(store, "v1.2%/x", 0), 0);
	char *dir = user_path("Maildir/.v1%2E2%25.x/cur");
	assert_int_equal(stat(dir, &st), 0);
	free(dir);
	assert_int_equal(store_mailbox_create(store, "A/B/C", 0), 0);
	assert_int_equal(store_mailbox_delete(store, "A/B/C"), 0);
	dir = user_path("Maildir/.A.B.C");
	assert_int_equal(stat(dir, &st), -1);
	free(dir);
	assert_int_equal(store_mailbox_create(store, "Tmp", 0), 0);
	append(store, "Tmp", msg1, 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_delete(store, "Tmp"), 0);
	dir = user_path("Maildir/.Tmp");
	assert_int_equal(stat(dir, &st), -1);
	free(dir);
	dir = user_path("trash");
	assert_int_equal(testlib_count_files(dir), 0);
	free(dir);

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

	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), 0);
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

/* What a process that died in the middle of an append left in tmp/
 * stays until it is 36 hours old by its ctime, not by the mtime a
 * writer sets (to the INTERNALDATE): an old mtime does not make it
 * stale.  An aborted append leaves nothing in tmp/. */
static void test_tmp_cleanup(void **state)
{
	(void)state;
	struct store *store;
	struct store_append *ctx;
	struct store_mailbox *box;

	store = open_store("demo");
	store_close(&store);
	die_in_append("INBOX");

	store = open_store("demo");
	char *path = user_path("Maildir/cur");
	assert_int_equal(testlib_count_files(path), 0);
	free(path);
	path = user_path("Maildir/tmp");
	assert_int_equal(testlib_count_files(path), 1);	/* the half message, cleaned after 36h */
	assert_int_equal(store_mailbox_open(store, "INBOX", false, &box), 0);
	store_mailbox_close(&box);
	assert_int_equal(testlib_count_files(path), 1);	/* still young */
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

	assert_int_equal(store_append_begin(store, "Sent", &ctx), 0);
	assert_int_equal(store_append_write(ctx, msg1, 10), 0);
	store_append_abort(&ctx);
	path = user_path("Maildir/.Sent/tmp");
	assert_int_equal(testlib_count_files(path), 0);
	free(path);
	path = user_path("Maildir/.Sent/cur");
	assert_int_equal(testlib_count_files(path), 0);
	free(path);
	store_close(&store);
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
		if (store_open(&fixture_set, "demo", &store, &error) < 0 ||
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

/* Descriptors of this process open on files under the user's directory. */
static unsigned int user_fds(void)
{
	char *dir = user_path("");
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	unsigned int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char link[300], target[4096];
		ssize_t len;

		snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, dir, strlen(dir)) == 0)
			n++;
	}
	closedir(d);
	free(dir);
	return n;
}

/* An idle store keeps no descriptor of its user's (issue #10): the
 * release closes the index and lets go of the lock, which the next call
 * takes back; a rebuild may then run, and the store finds the new index
 * replacing its own: it fails for good, and a new open gets a new store. */
static void test_idle_store_lets_go_of_lock(void **state)
{
	(void)state;
	struct store *store = open_store("demo"), *again;
	struct store_status status;
	enum store_error err;
	const char *error = NULL;

	assert_int_equal(append(store, "INBOX", msg1, 0, NULL, 0, 0), 1);
	assert_true(user_fds() > 0);
	store_release_memory(store);
	assert_int_equal(user_fds(), 0);
	/* awake again: the lock is back, a rebuild is refused */
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), 0);
	assert_int_equal(status.messages, 1);
	assert_true(user_fds() > 0);
	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), -1);
	assert_non_null(strstr(error, "in use"));
	/* idle: a rebuild runs, and the store does not use the new index */
	store_release_memory(store);
	assert_int_equal(store_rebuild(&fixture_set, "demo", &error), 0);
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), -1);
	assert_non_null(strstr(store_last_error(store, &err), "rebuilt"));
	assert_int_equal(err, STORE_ERR_TEMP);
	assert_int_equal(store_mailbox_status(store, "INBOX", &status), -1);
	assert_int_equal(user_fds(), 0);
	again = open_store("demo");
	assert_ptr_not_equal(again, store);
	assert_int_equal(store_mailbox_status(again, "INBOX", &status), 0);
	assert_int_equal(status.messages, 1);
	store_close(&again);
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

/* One message for mailboxes of two users: one inode, hard-linked into
 * each Maildir; expunging one copy unlinks only its link. */
static void test_shared_message_links(void **state)
{
	(void)state;
	static const char text[] =
		"From: a@example.org\r\nSubject: shared\r\n\r\nonce on disk\r\n";
	struct store *demo = open_store("demo"), *alice = open_store("alice");
	struct store_message *msg = shared_message(text);
	struct store_mailbox *box;
	struct stat st1, st2, st3;

	assert_int_equal(append_message(demo, "INBOX", msg, STORE_FLAG_SEEN), 1);
	assert_int_equal(append_message(alice, "INBOX", msg, 0), 1);
	assert_int_equal(append_message(demo, "Archive", msg, 0), 1);
	store_message_free(&msg);

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
	store_close(&alice);
	store_close(&demo);
}

/* The UIDs of INBOX whose body holds needle, from the text index. */
static size_t body_hits(struct store_mailbox *box, const char *needle, uint32_t *first_r)
{
	struct store_text_result res;
	size_t count;

	assert_int_equal(store_mailbox_search_text(box, STORE_TEXT_BODY, NULL, needle,
						   strlen(needle), 1, UINT32_MAX, false, &res), 0);
	count = res.count;
	*first_r = count > 0 ? res.uids[0] : 0;
	store_text_result_free(&res);
	return count;
}

/* A stored text that no longer inflates (a damaged index page) neither
 * blocks the expunge of its message nor makes the text index lie: the
 * text index, a cache, starts again, and a message whose text is read
 * is read again from its file. */
static void test_corrupt_stored_text(void **state)
{
	(void)state;
	struct store *demo = open_store("demo");
	struct store_mailbox *box;
	struct str header = STR_INIT, body = STR_INIT;
	uint32_t msn = 1, uid;

	append(demo, "INBOX", "Subject: a\r\n\r\nalpha one\r\n", 0, NULL, 0, 0);
	append(demo, "INBOX", "Subject: b\r\n\r\nbeta two\r\n", 0, NULL, 0, 0);
	append(demo, "INBOX", "Subject: c\r\n\r\ngamma three\r\n", 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(demo, "INBOX", false, &box), 0);
	/* uid 3's text is read again from its file (and written back) */
	fixture_index_exec("UPDATE text_store SET header = x'0400000078' "
			   "WHERE (id & 4294967295) = 3");
	assert_int_equal(store_mailbox_msg_text(box, 3, &header, &body), 0);
	assert_non_null(strstr(body.data, "GAMMA THREE"));
	assert_non_null(strstr(header.data, "SUBJECT: C"));
	assert_int_equal(body_hits(box, "gamma", &uid), 1);
	fixture_index_exec("UPDATE text_store SET body_terms = x'10000000deadbeef' "
			   "WHERE (id & 4294967295) = 1");
	assert_int_equal(store_mailbox_expunge(box, &msn, 1), 0);
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	assert_int_equal(store_mailbox_count(box), 2);
	assert_int_equal(body_hits(box, "alpha", &uid), 0);
	assert_int_equal(body_hits(box, "gamma", &uid), 1);
	assert_int_equal(uid, 3);
	/* a search that reads a corrupt text (a verified candidate, a scan)
	 * leaves that message to the caller (in result.unindexed), and only
	 * that one */
	assert_int_equal(store_mailbox_msg_text(box, 1, &header, &body), 0);
	assert_int_equal(store_mailbox_msg_text(box, 2, &header, &body), 0);
	fixture_index_exec("UPDATE text_store SET body_terms = x'10000000deadbeef' "
			   "WHERE (id & 4294967295) = 2");
	/* the body text is not in the index (its term ids are, for the
	 * deletes): a BODY needle verified leaves its candidates to the
	 * caller, one the index cannot narrow every message of the view */
	static const struct {
		const char *needle;
		uint32_t last;
	} cases[] = { { "beta two", 2 }, { "", 3 }, { "-", 3 } };
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct store_text_result res;

		assert_int_equal(store_mailbox_search_text(box, STORE_TEXT_BODY, NULL,
							   cases[i].needle, strlen(cases[i].needle),
							   1, UINT32_MAX, false, &res), 0);
		assert_int_equal(res.unindexed_count, 1);
		assert_int_equal(res.unindexed[0].first, 2);
		assert_int_equal(res.unindexed[0].last, cases[i].last);
		store_text_result_free(&res);
	}
	assert_int_equal(store_mailbox_msg_text(box, 1, &header, &body), 0);
	assert_non_null(strstr(body.data, "BETA TWO"));
	/* written back: the index answers for uid 2 again */
	assert_int_equal(body_hits(box, "beta", &uid), 1);
	assert_int_equal(uid, 2);
	str_free(&header);
	str_free(&body);
	store_mailbox_close(&box);
	store_close(&demo);
}

/* Asserts that res.unindexed holds exactly the UIDs of box's view for
 * which want(uid) is true (ranges ascending, disjoint; they may also
 * hold UIDs that are not in the view). */
static void assert_unindexed(struct store_mailbox *box, const struct store_text_result *res,
			     bool (*want)(uint32_t uid))
{
	for (size_t i = 0; i < res->unindexed_count; i++) {
		assert_true(res->unindexed[i].first <= res->unindexed[i].last);
		if (i > 0)
			assert_true(res->unindexed[i - 1].last + 1 < res->unindexed[i].first);
	}
	for (uint32_t msn = 1; msn <= store_mailbox_count(box); msn++) {
		uint32_t uid = store_mailbox_msg(box, msn)->uid;
		bool in = false;

		for (size_t i = 0; i < res->unindexed_count; i++)
			in = in || (uid >= res->unindexed[i].first && uid <= res->unindexed[i].last);
		if (in != want(uid))
			fail_msg("uid %u: unindexed %d, want %d", uid, in, !in);
	}
}

static struct store_text_result unindexed_search(struct store_mailbox *box)
{
	struct store_text_result res;

	assert_int_equal(store_mailbox_search_text(box, STORE_TEXT_BODY, NULL, "word", 4, 1,
						   UINT32_MAX, false, &res), 0);
	return res;
}

/* indexed again by test_unindexed_ranges: some of a long run, all of a
 * shorter one, every other of the short runs */
static bool reindexed(uint32_t uid)
{
	return (uid < 100 && uid % 7 == 0) || (uid >= 140 && uid < 200) ||
		(uid >= 200 && uid <= 260 && uid % 2 == 0);
}

static bool not_reindexed(uint32_t uid)
{
	return !reindexed(uid);
}

static bool all(uint32_t uid)
{
	(void)uid;
	return true;
}

static const uint32_t gone_meanwhile[] = { 5, 50, 98, 150, 202, 203, 290 };

static bool unindexed_or_gone(uint32_t uid)
{
	for (size_t i = 0; i < N_ELEMENTS(gone_meanwhile); i++) {
		if (uid == gone_meanwhile[i])
			return true;
	}
	return not_reindexed(uid);
}

/* The view's messages that the text index has no text for are named in
 * result.unindexed, exactly, in every kind of run of the view: long
 * ones (their rows counted), short ones (walked), and with messages
 * another view expunged meanwhile. */
static void test_unindexed_ranges(void **state)
{
	(void)state;
	struct store *demo = open_store("demo"), *demo2;
	struct store_mailbox *box, *other;
	struct store_text_result res;
	struct str header = STR_INIT, body = STR_INIT;
	uint32_t msns[300];
	size_t n = 0;

	for (int i = 0; i < 300; i++)
		append(demo, "INBOX", "Subject: m\r\n\r\nword\r\n", 0, NULL, 0, 0);
	/* rows of another mailbox in the text index: the counts of a run
	 * must not take them for its own */
	assert_int_equal(store_mailbox_create(demo, "Other", 0), 0);
	for (int i = 0; i < 200; i++)
		append(demo, "Other", "Subject: o\r\n\r\nword\r\n", 0, NULL, 0, 0);
	assert_int_equal(store_mailbox_open(demo, "INBOX", false, &box), 0);
	/* gaps: the first, a long stretch, every third of a stretch */
	for (uint32_t uid = 1; uid <= 300; uid++) {
		if (uid == 1 || (uid >= 100 && uid < 140) || (uid >= 200 && uid <= 260 && uid % 3 == 0))
			msns[n++] = store_mailbox_msn_of_uid(box, uid);
	}
	assert_int_equal(store_mailbox_expunge(box, msns, n), 0);
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	res = unindexed_search(box);
	assert_int_equal(res.count, store_mailbox_count(box));
	assert_int_equal(res.unindexed_count, 0);
	store_text_result_free(&res);

	fixture_index_exec("INSERT INTO text_hdr(text_hdr) VALUES ('delete-all');"
			   "INSERT INTO text_body(text_body) VALUES ('delete-all');"
			   "DELETE FROM text_store; DELETE FROM text_indexed;");
	res = unindexed_search(box);
	assert_int_equal(res.count, 0);
	assert_unindexed(box, &res, all);
	/* one range: nothing of the view lies between the runs */
	assert_int_equal(res.unindexed_count, 1);
	store_text_result_free(&res);
	assert_int_equal(store_mailbox_open(demo, "Other", false, &other), 0);
	for (uint32_t msn = 1; msn <= store_mailbox_count(other); msn++)
		assert_int_equal(store_mailbox_msg_text(other, msn, &header, &body), 0);
	store_mailbox_close(&other);

	for (uint32_t msn = 1; msn <= store_mailbox_count(box); msn++) {
		if (reindexed(store_mailbox_msg(box, msn)->uid))
			assert_int_equal(store_mailbox_msg_text(box, msn, &header, &body), 0);
	}
	res = unindexed_search(box);
	assert_unindexed(box, &res, not_reindexed);
	store_text_result_free(&res);

	/* expunged by another view: gone from the index, still in this one */
	demo2 = open_store("demo");
	assert_int_equal(store_mailbox_open(demo2, "INBOX", false, &other), 0);
	n = 0;
	for (size_t i = 0; i < N_ELEMENTS(gone_meanwhile); i++)
		msns[n++] = store_mailbox_msn_of_uid(other, gone_meanwhile[i]);
	if (store_mailbox_expunge(other, msns, n) < 0)
		fail_msg("expunge: %s", store_last_error(demo2, NULL));
	store_mailbox_close(&other);
	store_close(&demo2);
	res = unindexed_search(box);
	assert_unindexed(box, &res, unindexed_or_gone);
	store_text_result_free(&res);

	/* from a UID to a UID: nothing outside is named or answered */
	assert_int_equal(store_mailbox_search_text(box, STORE_TEXT_BODY, NULL, "word", 4, 150,
						   210, false, &res), 0);
	assert_true(res.unindexed_count > 0 && res.unindexed[0].first >= 150);
	assert_true(res.unindexed[res.unindexed_count - 1].last <= 210);
	assert_true(res.count > 0 && res.uids[0] >= 150 && res.uids[res.count - 1] <= 210);
	assert_true(res.last_uid == 210);
	assert_false(res.declined);
	store_text_result_free(&res);
	/* for one part only: a pass over the stored headers is declined, an
	 * answer from the word index is not, nor a BODY needle the index
	 * cannot narrow (the body is not stored: every message of the view
	 * is the caller's, in one part) */
	assert_int_equal(store_mailbox_search_text(box, STORE_TEXT_ANY, NULL, "@", 1, 1,
						   UINT32_MAX, true, &res), 0);
	assert_true(res.declined && res.count == 0 && res.unindexed_count == 0 &&
		    res.last_uid == 0);
	store_text_result_free(&res);
	assert_int_equal(store_mailbox_search_text(box, STORE_TEXT_BODY, NULL, "@", 1, 1,
						   UINT32_MAX, true, &res), 0);
	assert_true(!res.declined && res.count == 0 && res.unindexed_count == 1 &&
		    res.unindexed[0].first == store_mailbox_msg(box, 1)->uid &&
		    res.unindexed[0].last ==
		    store_mailbox_msg(box, store_mailbox_count(box))->uid &&
		    res.last_uid == UINT32_MAX);
	store_text_result_free(&res);
	assert_int_equal(store_mailbox_search_text(box, STORE_TEXT_BODY, NULL, "word", 4, 1,
						   UINT32_MAX, true, &res), 0);
	assert_true(!res.declined && res.last_uid == UINT32_MAX);
	store_text_result_free(&res);
	assert_int_equal(store_mailbox_sync(box, 0, NULL, NULL), 0);
	res = unindexed_search(box);
	assert_unindexed(box, &res, not_reindexed);
	store_text_result_free(&res);
	str_free(&header);
	str_free(&body);
	store_mailbox_close(&box);
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
	char *users = xasprintf("%s/_", fixture_set.maildir.root);
	assert_int_equal(mkdir(fixture_set.maildir.root, 0700), 0);
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
	path = xasprintf("%s/alice/Maildir/cur", shm);
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

#define MAILDIR_TEST(fn) cmocka_unit_test_setup_teardown(fn, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		MAILDIR_TEST(test_user_dirs),
		MAILDIR_TEST(test_flags_in_file_names),
		MAILDIR_TEST(test_expunge_tombstones),
		MAILDIR_TEST(test_folder_dirs),
		MAILDIR_TEST(test_new_pickup),
		MAILDIR_TEST(test_rebuild),
		MAILDIR_TEST(test_tmp_cleanup),
		MAILDIR_TEST(test_notify),
		MAILDIR_TEST(test_append_write_error),
		MAILDIR_TEST(test_lost_index_rebuilds_on_open),
		MAILDIR_TEST(test_idle_store_lets_go_of_lock),
		MAILDIR_TEST(test_shared_message_links),
		MAILDIR_TEST(test_shared_message_other_fs),
		MAILDIR_TEST(test_corrupt_stored_text),
		MAILDIR_TEST(test_unindexed_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
