/* store-fixture.c: what the store tests share (see store-fixture.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/base.h"
#include "base/istream.h"
#include "base/str.h"
#include "store/store.h"
#include "store-fixture.h"
#include "testlib.h"

const char msg1[] = "From: a@example.org\r\nSubject: one\r\n\r\nbody one\r\n";
const char msg2[] = "Subject: two\r\n\r\nbody two\r\n";
const char msg3[] = "Subject: three\r\n\r\nthree\r\n";

/* "<test dir>/users/_/<user>/Maildir[/.<mailbox>]/<sub>" for a plain
 * ASCII mailbox name ('/' becomes '.'). */
static char *maildir_path(const char *user, const char *mailbox, const char *sub)
{
	if (strcasecmp(mailbox, "INBOX") == 0)
		return xasprintf("%s/users/_/%s/Maildir/%s", testlib_dir(), user, sub);
	char *name = xstrdup(mailbox);
	for (char *p = name; *p != '\0'; p++) {
		if (*p == '/')
			*p = '.';
	}
	char *path = xasprintf("%s/users/_/%s/Maildir/.%s/%s", testlib_dir(), user, name, sub);
	free(name);
	return path;
}

static size_t maildir_stored_count(const char *user, const char *mailbox)
{
	char *path = maildir_path(user, mailbox, "cur");
	size_t n = testlib_count_files(path);

	free(path);
	return n;
}

/* tmp/ holds appends in progress and staged copies (".copy-*", whose
 * names start with '.': counted too) */
static size_t maildir_staged_count(const char *user, const char *mailbox)
{
	char *path = maildir_path(user, mailbox, "tmp");
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

static char maildir_root[PATH_MAX];

static void maildir_place(struct store_settings *set, const char *dir)
{
	snprintf(maildir_root, sizeof(maildir_root), "%s/users", dir);
	set->maildir.root = maildir_root;
}

const struct store_fixture_backend store_fixture_maildir = {
	.name = "maildir",
	.settings = { .backend = "maildir", .fsync = false },
	.place = maildir_place,
	.stored_count = maildir_stored_count,
	.staged_count = maildir_staged_count,
};

const struct store_fixture_backend *fixture_backend;
struct store_settings fixture_set;

int fixture_setup(void **state)
{
	fixture_backend = *state != NULL ? *state : &store_fixture_maildir;
	if (testlib_dir_create(fixture_backend->name) < 0)
		return -1;
	fixture_set = fixture_backend->settings;
	fixture_backend->place(&fixture_set, testlib_dir());
	return 0;
}

int fixture_teardown(void **state)
{
	(void)state;
	testlib_dir_remove();
	return 0;
}

size_t stored_count(const char *user, const char *mailbox)
{
	if (fixture_backend->stored_count == NULL)
		return (size_t)-1;
	return fixture_backend->stored_count(user, mailbox);
}

size_t staged_count(const char *user, const char *mailbox)
{
	if (fixture_backend->staged_count == NULL)
		return (size_t)-1;
	return fixture_backend->staged_count(user, mailbox);
}

struct store *open_store(const char *user)
{
	struct store *store;
	const char *error;

	if (store_open(&fixture_set, user, &store, &error) < 0)
		fail_msg("store_open: %s", error);
	return store;
}

uint32_t append(struct store *store, const char *mailbox, const char *text,
		uint32_t flags, const char *const *keywords, size_t kw_count, time_t date)
{
	struct store_append *ctx;
	uint32_t uidvalidity, uid;
	size_t half = strlen(text) / 2;

	assert_int_equal(store_append_begin(store, mailbox, &ctx), 0);
	assert_int_equal(store_append_write(ctx, text, half), 0);
	assert_int_equal(store_append_write(ctx, text + half, strlen(text) - half), 0);
	assert_int_equal(store_append_commit(&ctx, flags, keywords, kw_count, date, 60,
					     &uidvalidity, &uid), 0);
	assert_null(ctx);
	assert_true(uidvalidity != 0);
	return uid;
}

struct store_message *shared_message(const char *text)
{
	struct store_message *msg;
	const char *error;
	size_t half = strlen(text) / 2;

	assert_int_equal(store_message_begin(&fixture_set, &msg, &error), 0);
	assert_int_equal(store_message_write(msg, text, half, &error), 0);
	assert_int_equal(store_message_write(msg, text + half, strlen(text) - half, &error), 0);
	assert_int_equal(store_message_finish(msg, 1700000000, &error), 0);
	return msg;
}

uint32_t append_message(struct store *store, const char *mailbox,
			struct store_message *msg, uint32_t flags)
{
	struct store_append *ctx;
	uint32_t uidvalidity, uid;

	assert_int_equal(store_append_begin_message(store, mailbox, msg, &ctx), 0);
	assert_int_equal(store_append_commit(&ctx, flags, NULL, 0, 0, 0, &uidvalidity, &uid), 0);
	return uid;
}

void die_in_append(const char *mailbox)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *child = NULL;
		struct store_append *ctx;
		const char *error;

		if (store_open(&fixture_set, "demo", &child, &error) < 0 ||
		    store_append_begin(child, mailbox, &ctx) < 0 ||
		    store_append_write(ctx, "Subject: half\r\n", 15) < 0)
			_exit(1);
		_exit(0);	/* dies in the middle: no commit */
	}
	wait_child(pid);
}

char *read_msg(struct store_mailbox *box, uint32_t msn)
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

void assert_store_consistent(struct store *store)
{
	struct store_mailbox_info *infos;
	size_t count;

	assert_int_equal(store_mailbox_list(store, &infos, &count), 0);
	for (size_t i = 0; i < count; i++) {
		struct reports r = { .count = 0 };

		if (!infos[i].exists)
			continue;
		r.text[0] = '\0';
		if (store_mailbox_check(store, infos[i].name, collect_report, &r) != 0)
			fail_msg("%s: %s", infos[i].name, r.text);
	}
	free(infos);
}

bool list_has(struct store_mailbox_info *infos, size_t count, const char *name,
	      bool exists, bool children)
{
	for (size_t i = 0; i < count; i++) {
		if (strcmp(infos[i].name, name) == 0)
			return infos[i].exists == exists && infos[i].has_children == children;
	}
	return false;
}

void wait_child(pid_t pid)
{
	int wstatus;

	assert_int_equal(waitpid(pid, &wstatus, 0), pid);
	assert_true(WIFEXITED(wstatus));
	assert_int_equal(WEXITSTATUS(wstatus), 0);
}

char *user_path(const char *suffix)
{
	return xasprintf("%s/users/_/demo/%s", testlib_dir(), suffix);
}

char *first_file(const char *path)
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

char *cur_file_with_uid(const char *cur, uint32_t uid, unsigned int *count_r)
{
	DIR *d = opendir(cur);
	struct dirent *de;
	char pattern[32], *found = NULL;

	snprintf(pattern, sizeof(pattern), ",U=%u:", uid);
	*count_r = 0;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, pattern) != NULL) {
			(*count_r)++;
			free(found);
			found = xstrdup(de->d_name);
		}
	}
	closedir(d);
	return found;
}

void fixture_index_exec(const char *sql)
{
	char *path = user_path("index.sqlite");
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
	free(path);
}

static void ev_printf(struct events *ev, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void ev_printf(struct events *ev, const char *fmt, ...)
{
	size_t len = strlen(ev->log);
	va_list args;

	va_start(args, fmt);
	vsnprintf(ev->log + len, sizeof(ev->log) - len, fmt, args);
	va_end(args);
}

static void ev_expunge(void *ctx, uint32_t msn, uint32_t uid)
{
	ev_printf(ctx, "E%u/%u ", msn, uid);
}

static void ev_exists(void *ctx, uint32_t count)
{
	ev_printf(ctx, "X%u ", count);
}

static void ev_flags(void *ctx, uint32_t msn, const struct store_msg *msg)
{
	ev_printf(ctx, "F%u=%u ", msn, msg->flags);
}

static void ev_keywords(void *ctx)
{
	ev_printf(ctx, "K ");
}

void ev_own_flags(void *ctx, uint32_t msn, const struct store_msg *msg)
{
	ev_printf(ctx, "O%u=%u ", msn, msg->flags);
}

const struct store_sync_callbacks ev_callbacks = {
	.expunge = ev_expunge, .exists = ev_exists, .flags = ev_flags,
	.keywords = ev_keywords,
};

void collect_report(void *ctx, const char *problem)
{
	struct reports *r = ctx;
	size_t len = strlen(r->text);

	snprintf(r->text + len, sizeof(r->text) - len, "%s\n", problem);
	r->count++;
}

int kw_index(struct store_mailbox *box, const char *name, bool create)
{
	unsigned int idx;

	return store_mailbox_keyword_index(box, name, create, &idx) < 0 ? -1 : (int)idx;
}

enum store_error kw_index_error(struct store *store, struct store_mailbox *box,
				const char *name, bool create)
{
	unsigned int idx;
	enum store_error err;

	assert_int_equal(store_mailbox_keyword_index(box, name, create, &idx), -1);
	(void)store_last_error(store, &err);
	return err;
}

/* Everything a view says of its messages, as text: count, uidvalidity,
 * uidnext, highestmodseq, keyword names, and each message's fields. */
char *view_text(struct store_mailbox *box)
{
	const char *const *names;
	size_t names_count;
	struct str out = STR_INIT;

	str_printfa(&out, "count %u unseen %u uidvalidity %u uidnext %u hms %llu kw",
		    store_mailbox_count(box), store_mailbox_first_unseen(box),
		    store_mailbox_uidvalidity(box),
		    store_mailbox_uidnext(box),
		    (unsigned long long)store_mailbox_highestmodseq(box));
	names = store_mailbox_keywords(box, &names_count);
	for (size_t i = 0; i < names_count; i++)
		str_printfa(&out, " %s", names[i]);
	for (uint32_t msn = 1; msn <= store_mailbox_count(box); msn++) {
		const struct store_msg *m = store_mailbox_msg(box, msn);

		str_printfa(&out, "\n%u uid %u flags %u kw %llx modseq %llu date %lld "
			    "tz %d size %llu header %llu", msn, m->uid, m->flags,
			    (unsigned long long)m->keywords, (unsigned long long)m->modseq,
			    (long long)m->internaldate, m->internaldate_tz,
			    (unsigned long long)m->size, (unsigned long long)m->header_size);
	}
	return out.data;
}

/* Asserts that box (of user demo) says what a fresh load of the mailbox
 * in another process says: that process has no snapshot of any view. */
void assert_view_fresh(struct store_mailbox *box)
{
	char *mine = view_text(box), buf[65536];
	size_t len = 0;
	ssize_t n;
	int fds[2];

	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *child;
		struct store_mailbox *fresh;
		const char *error;
		char *text;

		close(fds[0]);
		/* a store kept by the parent would be a copy of its views */
		store_keep_set_limits(0, 0);
		if (store_open(&fixture_set, "demo", &child, &error) < 0 ||
		    store_mailbox_open(child, store_mailbox_name(box), true, &fresh) < 0)
			_exit(1);
		text = view_text(fresh);
		if (write(fds[1], text, strlen(text)) != (ssize_t)strlen(text))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fds[0]);
	buf[len] = '\0';
	wait_child(pid);
	assert_string_equal(mine, buf);
	free(mine);
}
