/* test-auth.c: password schemes, passwd-file, throttling, auth requests
 * and SASL PLAIN.
 *
 * The net functions auth.c uses (net_job_run, net_timer_*) are replaced
 * here by fakes, so the tests decide when a "helper thread" finishes and
 * when a timer fires: that is how aborts in the middle of a hash or of a
 * delay are tested.  The fake job runner works inline by default, as the
 * real net_job_run does when no pool is running.  `roost user` is run
 * in-process through cli_user_main() with stdin and stdout redirected. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <crypt.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth-throttle.h"
#include "auth/passwd-file.h"
#include "auth/password.h"
#include "auth/sasl.h"
#include "base/log.h"
#include "base/str.h"
#include "cli/cli.h"
#include "conf/conf.h"
#include "net/net.h"

/* ---- fake net ---- */

struct fake_job {
	void (*work)(void *ctx);
	void (*done)(void *ctx);
	void *ctx;
};

static bool fake_jobs_deferred;
static struct fake_job fake_jobs[16];
static size_t fake_job_count;

void net_job_run(void (*work)(void *ctx), void (*done)(void *ctx), void *ctx)
{
	if (!fake_jobs_deferred) {
		work(ctx);
		done(ctx);
		return;
	}
	assert_true(fake_job_count < N_ELEMENTS(fake_jobs));
	fake_jobs[fake_job_count++] = (struct fake_job){ work, done, ctx };
}

/* Runs the queued jobs as the pool would: work on "the thread", then done
 * on the loop. */
static void fake_jobs_finish(void)
{
	for (size_t i = 0; i < fake_job_count; i++) {
		fake_jobs[i].work(fake_jobs[i].ctx);
		fake_jobs[i].done(fake_jobs[i].ctx);
	}
	fake_job_count = 0;
}

struct net_timer {
	unsigned int msecs;
	net_timer_callback *cb;
	void *ctx;
};

static struct net_timer *fake_timer;	/* at most one at a time here */
static unsigned int fake_timers_created;

struct net_timer *net_timer_create(unsigned int msecs, bool repeat,
				   net_timer_callback *cb, void *ctx)
{
	assert_false(repeat);
	assert_null(fake_timer);
	fake_timer = calloc(1, sizeof(*fake_timer));
	*fake_timer = (struct net_timer){ msecs, cb, ctx };
	fake_timers_created++;
	return fake_timer;
}

void net_timer_destroy(struct net_timer **timer)
{
	if (*timer == NULL)
		return;
	assert_ptr_equal(*timer, fake_timer);
	free(*timer);
	*timer = NULL;
	fake_timer = NULL;
}

static void fake_timer_fire(void)
{
	assert_non_null(fake_timer);
	fake_timer->cb(fake_timer->ctx);
}

/* ---- helpers ---- */

static char test_dir[] = "/tmp/roost-test-auth.XXXXXX";

static char *test_path(const char *name)
{
	return xasprintf("%s/%s", test_dir, name);
}

static void write_file(const char *path, const char *content, size_t len)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	struct str s = STR_INIT;
	char buf[4096];
	size_t n;

	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_n(&s, buf, n);
	fclose(f);
	str_append(&s, "");
	return str_steal(&s);
}

/* Files in test_dir other than the ones the tests made: leftovers of a
 * failed or interrupted atomic write start with '.'. */
static unsigned int count_temp_files(void)
{
	DIR *d = opendir(test_dir);
	struct dirent *de;
	unsigned int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static int setup_dir(void **state)
{
	(void)state;
	if (mkdtemp(test_dir) == NULL)
		return -1;
	log_init("test-auth", false, LOG_LEVEL_ERROR);
	return 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	DIR *d = opendir(test_dir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *p = test_path(de->d_name);
		unlink(p);
		free(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(test_dir);
	return 0;
}

/* ---- password ---- */

/* From Ulrich Drepper's SHA-crypt specification, as Dovecot stores it. */
#define SHA512_VECTOR \
	"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"

static void test_password_known_vector(void **state)
{
	(void)state;
	const char *error = NULL;

	assert_int_equal(password_verify("Hello world!", "{SHA512-CRYPT}" SHA512_VECTOR, &error), 1);
	assert_int_equal(password_verify("Hello world", "{SHA512-CRYPT}" SHA512_VECTOR, &error), 0);
	assert_int_equal(password_verify("", "{SHA512-CRYPT}" SHA512_VECTOR, &error), 0);
	/* no scheme: CRYPT; scheme names are case-insensitive */
	assert_int_equal(password_verify("Hello world!", SHA512_VECTOR, &error), 1);
	assert_int_equal(password_verify("Hello world!", "{sha512-crypt}" SHA512_VECTOR, &error), 1);
	assert_int_equal(password_verify("Hello world!", "{CRYPT}" SHA512_VECTOR, &error), 1);
	/* like Dovecot, any *-CRYPT name is checked by crypt(3) */
	assert_int_equal(password_verify("Hello world!", "{SHA256-CRYPT}" SHA512_VECTOR, &error), 1);
	/* a hash cut short never matches */
	char cut[] = SHA512_VECTOR;
	cut[sizeof(cut) - 5] = '\0';
	assert_int_not_equal(password_verify("Hello world!", cut, &error), 1);
}

static void test_password_generated_schemes(void **state)
{
	(void)state;
	static const struct { const char *scheme, *prefix; } schemes[] = {
		{ "SHA512-CRYPT", "{SHA512-CRYPT}$6$" },
		{ "SHA256-CRYPT", "{SHA256-CRYPT}$5$" },
		{ "BLF-CRYPT", "{BLF-CRYPT}$2y$10$" },
		{ "MD5-CRYPT", "{MD5-CRYPT}$1$" },
		{ "CRYPT", "{CRYPT}$y$" },
		{ "plain", "{PLAIN}" },
	};
	for (size_t i = 0; i < N_ELEMENTS(schemes); i++) {
		const char *error = NULL;
		char *hash = password_hash("s3cret pass", schemes[i].scheme, &error);
		if (hash == NULL)
			fail_msg("%s: %s", schemes[i].scheme, error);
		if (strncmp(hash, schemes[i].prefix, strlen(schemes[i].prefix)) != 0)
			fail_msg("%s made %s", schemes[i].scheme, hash);
		assert_true(password_scheme_is_known(schemes[i].scheme));
		assert_true(password_scheme_can_generate(schemes[i].scheme));
		assert_int_equal(password_verify("s3cret pass", hash, &error), 1);
		assert_int_equal(password_verify("s3cret pasS", hash, &error), 0);
		assert_int_equal(password_verify("s3cret pass ", hash, &error), 0);
		assert_int_equal(password_verify("", hash, &error), 0);
		/* a fresh salt each time */
		char *again = password_hash("s3cret pass", schemes[i].scheme, &error);
		if (strcmp(schemes[i].scheme, "plain") != 0)
			assert_string_not_equal(hash, again);
		free(again);
		free(hash);
	}
}

static void test_password_crypt_gensalt(void **state)
{
	(void)state;
	/* hashes libxcrypt makes by itself, stored as bare or {CRYPT} */
	static const char *const prefixes[] = { "$y$", "$2y$", "$2b$", "$6$", "$5$", "$1$" };
	for (size_t i = 0; i < N_ELEMENTS(prefixes); i++) {
		char setting[CRYPT_GENSALT_OUTPUT_SIZE];
		struct crypt_data data;
		const char *error = NULL;

		memset(&data, 0, sizeof(data));
		assert_non_null(crypt_gensalt_rn(prefixes[i], prefixes[i][1] == '2' ? 4 : 0,
						 NULL, 0, setting, sizeof(setting)));
		const char *hash = crypt_rn("pw", setting, &data, sizeof(data));
		assert_non_null(hash);
		char *stored = xasprintf("{CRYPT}%s", hash);
		assert_int_equal(password_verify("pw", hash, &error), 1);
		assert_int_equal(password_verify("pw", stored, &error), 1);
		assert_int_equal(password_verify("pW", stored, &error), 0);
		free(stored);
	}
}

static void test_password_bad_stored(void **state)
{
	(void)state;
	const char *error = NULL;

	assert_int_equal(password_verify("x", "{NOPE}abc", &error), -1);
	assert_non_null(error);
	assert_null(strstr(error, "abc"));
	assert_int_equal(password_verify("x", "", &error), -1);
	assert_int_equal(password_verify("x", "{CRYPT}", &error), -1);
	assert_int_equal(password_verify("x", "*", &error), -1);
	assert_int_equal(password_verify("x", "!$6$locked", &error), -1);
	assert_int_equal(password_verify("x", "$9$notahash", &error), -1);
	/* PLAIN: exact match only */
	assert_int_equal(password_verify("abc", "{PLAIN}abc", &error), 1);
	assert_int_equal(password_verify("ab", "{PLAIN}abc", &error), 0);
	assert_int_equal(password_verify("abcd", "{PLAIN}abc", &error), 0);
	assert_int_equal(password_verify("abc", "{CLEARTEXT}abc", &error), 1);
	/* a "{" without "}" is bare crypt data */
	assert_int_equal(password_verify("x", "{PLAIN", &error), -1);
	/* the dummy hash is a real hash that nothing matches */
	assert_int_equal(password_verify("", password_dummy_hash(), &error), 0);
	assert_int_equal(password_verify("password", password_dummy_hash(), &error), 0);
	/* generating */
	assert_null(password_hash("x", "NOPE", &error));
	assert_null(password_hash("a:b", "PLAIN", &error));
	assert_null(password_hash("a\nb", "PLAIN", &error));
	assert_false(password_scheme_is_known("NOPE"));
	assert_false(password_scheme_can_generate("NOPE"));
	char *h = password_hash("a:b", "SHA512-CRYPT", &error);
	assert_non_null(h);
	assert_int_equal(password_verify("a:b", h, &error), 1);
	free(h);
}

/* password_verify runs on the job pool's threads: several at once must
 * not disturb each other (crypt_rn with per-call buffers). */
struct password_thread {
	const char *hash, *right, *wrong;
	unsigned int mismatches;
};

static void *password_thread_run(void *arg)
{
	struct password_thread *t = arg;
	const char *error;
	for (unsigned int i = 0; i < 20; i++) {
		if (password_verify(t->right, t->hash, &error) != 1 ||
		    password_verify(t->wrong, t->hash, &error) != 0)
			t->mismatches++;
	}
	return NULL;
}

static void test_password_threads(void **state)
{
	(void)state;
	static const char *const schemes[] = { "SHA512-CRYPT", "SHA256-CRYPT", "CRYPT", "PLAIN" };
	struct password_thread threads[N_ELEMENTS(schemes)];
	pthread_t ids[N_ELEMENTS(schemes)];
	const char *error;

	for (size_t i = 0; i < N_ELEMENTS(schemes); i++) {
		char *right = xasprintf("right-%zu", i);
		threads[i] = (struct password_thread){
			.hash = password_hash(right, schemes[i], &error),
			.right = right, .wrong = "wrong",
		};
		assert_non_null(threads[i].hash);
	}
	for (size_t i = 0; i < N_ELEMENTS(schemes); i++)
		assert_int_equal(pthread_create(&ids[i], NULL, password_thread_run, &threads[i]), 0);
	for (size_t i = 0; i < N_ELEMENTS(schemes); i++) {
		assert_int_equal(pthread_join(ids[i], NULL), 0);
		assert_int_equal(threads[i].mismatches, 0);
		free((char *)threads[i].hash);
		free((char *)threads[i].right);
	}
}

/* ---- passwd-file ---- */

static void test_passwd_file_parse(void **state)
{
	(void)state;
	char *path = test_path("parse");
	struct str content = STR_INIT;
	const struct passwd_file_entry *e;
	const char *error = NULL;

	str_append(&content,
		   "# a comment: with:colons\n"
		   "\n"
		   "   \t\n"
		   "alice:{PLAIN}pw1\n"
		   "bob@example.org:" SHA512_VECTOR ":1000:1000:Bob B:/home/bob:/bin/sh:extra=1\n"
		   "crlf:{PLAIN}pw3\r\n"
		   "crlfx:{PLAIN}pw4:5:6\r\n"
		   "nocolon\n"
		   ":{PLAIN}noname\n"
		   "empty:\n"
		   "alice:{PLAIN}second\n"
		   "Alice:{PLAIN}upper\n");
	/* a very long line: the gecos field of a user */
	str_append(&content, "long:{PLAIN}pw5:1:2:");
	for (int i = 0; i < 20000; i++)
		str_append(&content, "0123456789");
	str_append(&content, "\n# comment at the end without newline: x:y");
	str_append(&content, "\nlast:{PLAIN}pw6");
	write_file(path, content.data, content.len);

	struct passwd_file *pf = passwd_file_create(path);
	assert_int_equal(passwd_file_lookup(pf, "alice", &e, &error), -1);	/* not read yet */
	assert_int_equal(passwd_file_refresh(pf, &error), 0);

	assert_int_equal(passwd_file_lookup(pf, "alice", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}pw1");	/* the first line wins */
	assert_null(e->extra);
	assert_int_equal(e->line, 4);
	assert_int_equal(passwd_file_lookup(pf, "Alice", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}upper");
	assert_int_equal(passwd_file_lookup(pf, "ALICE", &e, &error), 0);

	assert_int_equal(passwd_file_lookup(pf, "bob@example.org", &e, &error), 1);
	assert_string_equal(e->password, SHA512_VECTOR);
	assert_string_equal(e->extra, "1000:1000:Bob B:/home/bob:/bin/sh:extra=1");
	assert_int_equal(passwd_file_lookup(pf, "bob", &e, &error), 0);

	assert_int_equal(passwd_file_lookup(pf, "crlf", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}pw3");
	assert_int_equal(passwd_file_lookup(pf, "crlfx", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}pw4");
	assert_string_equal(e->extra, "5:6");

	assert_int_equal(passwd_file_lookup(pf, "nocolon", &e, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "", &e, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "empty", &e, &error), 1);
	assert_string_equal(e->password, "");
	assert_int_equal(passwd_file_lookup(pf, "# a comment", &e, &error), 0);

	assert_int_equal(passwd_file_lookup(pf, "long", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}pw5");
	assert_int_equal(strlen(e->extra), 4 + 200000);
	assert_int_equal(passwd_file_lookup(pf, "last", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}pw6");

	/* file order, duplicates included */
	assert_int_equal(passwd_file_count(pf), 9);
	assert_string_equal(passwd_file_entry_at(pf, 0)->user, "alice");
	assert_string_equal(passwd_file_entry_at(pf, 5)->user, "alice");
	assert_string_equal(passwd_file_entry_at(pf, 8)->user, "last");

	passwd_file_destroy(&pf);
	assert_null(pf);
	str_free(&content);
	unlink(path);
	free(path);
}

static void test_passwd_file_missing(void **state)
{
	(void)state;
	char *path = test_path("missing");
	const struct passwd_file_entry *e;
	const char *error = NULL;
	struct passwd_file *pf = passwd_file_create(path);

	assert_int_equal(passwd_file_refresh(pf, &error), -1);
	assert_non_null(strstr(error, "missing"));
	assert_int_equal(passwd_file_lookup(pf, "alice", &e, &error), -1);
	/* within the second: still failing without a stat */
	assert_int_equal(passwd_file_refresh(pf, &error), -1);
	write_file(path, "alice:{PLAIN}x\n", 15);
	assert_int_equal(passwd_file_reload(pf, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "alice", &e, &error), 1);
	/* an empty file is a database without users */
	write_file(path, "", 0);
	assert_int_equal(passwd_file_reload(pf, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "alice", &e, &error), 0);
	assert_int_equal(passwd_file_count(pf), 0);
	passwd_file_destroy(&pf);
	unlink(path);
	free(path);
}

static void test_passwd_file_reload_on_change(void **state)
{
	(void)state;
	char *path = test_path("reload");
	const struct passwd_file_entry *e;
	const char *error = NULL;
	enum passwd_file_error class;
	char *edit_error = NULL;

	write_file(path, "alice:{PLAIN}a\n", 15);
	struct passwd_file *pf = passwd_file_create(path);
	assert_int_equal(passwd_file_refresh(pf, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "bob", &e, &error), 0);

	assert_int_equal(passwd_file_add(path, "bob", "{PLAIN}b", &class, &edit_error), 0);
	/* stat at most once per second: not seen yet */
	assert_int_equal(passwd_file_refresh(pf, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "bob", &e, &error), 0);
	usleep(1100 * 1000);
	assert_int_equal(passwd_file_refresh(pf, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "bob", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}b");

	/* an explicit reload (SIGHUP) sees a change at once, even one of
	 * the same size */
	assert_int_equal(passwd_file_set_password(path, "bob", "{PLAIN}c", &class, &edit_error), 0);
	assert_int_equal(passwd_file_reload(pf, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "bob", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}c");

	/* the file disappears: unusable until it is back */
	unlink(path);
	usleep(1100 * 1000);
	assert_int_equal(passwd_file_refresh(pf, &error), -1);
	assert_int_equal(passwd_file_lookup(pf, "bob", &e, &error), -1);
	write_file(path, "bob:{PLAIN}d\n", 13);
	usleep(1100 * 1000);
	assert_int_equal(passwd_file_refresh(pf, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "bob", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}d");

	passwd_file_destroy(&pf);
	unlink(path);
	free(path);
}

static void test_passwd_file_edit(void **state)
{
	(void)state;
	char *path = test_path("edit");
	enum passwd_file_error class;
	char *error = NULL;
	char *got;
	static const char original[] =
		"# users of example.org\n"
		"alice:{PLAIN}a:1000:1000:Alice:/home/alice:/bin/sh:x=1\n"
		"\n"
		"   # indented comment\n"
		"bob:{PLAIN}b\r\n"
		"carol:{PLAIN}c:::::\n"
		"alice:{PLAIN}dup\n"
		"dave:{PLAIN}d";	/* no newline at the end */

	write_file(path, original, strlen(original));
	assert_int_equal(chmod(path, 0600), 0);

	/* add appends, after adding the missing newline */
	assert_int_equal(passwd_file_add(path, "erin@example.org", "{PLAIN}e", &class, &error), 0);
	assert_int_equal(class, PASSWD_FILE_ERROR_NONE);
	assert_null(error);
	got = read_file(path);
	char *expected = xasprintf("%s\nerin@example.org:{PLAIN}e\n", original);
	assert_string_equal(got, expected);
	free(expected);
	free(got);

	/* the file keeps its mode; no temp file is left */
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_temp_files(), 0);

	/* set_password keeps the other fields and the CRLF */
	assert_int_equal(passwd_file_set_password(path, "alice", "{PLAIN}A2", &class, &error), 0);
	assert_int_equal(passwd_file_set_password(path, "bob", "{PLAIN}B2", &class, &error), 0);
	assert_int_equal(passwd_file_set_password(path, "carol", "{PLAIN}C2", &class, &error), 0);
	assert_int_equal(passwd_file_set_password(path, "dave", "{PLAIN}D2", &class, &error), 0);
	got = read_file(path);
	assert_string_equal(got,
		"# users of example.org\n"
		"alice:{PLAIN}A2:1000:1000:Alice:/home/alice:/bin/sh:x=1\n"
		"\n"
		"   # indented comment\n"
		"bob:{PLAIN}B2\r\n"
		"carol:{PLAIN}C2:::::\n"
		"alice:{PLAIN}dup\n"
		"dave:{PLAIN}D2\n"
		"erin@example.org:{PLAIN}e\n");
	free(got);

	/* delete removes every line of the user, nothing else */
	assert_int_equal(passwd_file_delete(path, "alice", &class, &error), 0);
	assert_int_equal(passwd_file_delete(path, "bob", &class, &error), 0);
	got = read_file(path);
	assert_string_equal(got,
		"# users of example.org\n"
		"\n"
		"   # indented comment\n"
		"carol:{PLAIN}C2:::::\n"
		"dave:{PLAIN}D2\n"
		"erin@example.org:{PLAIN}e\n");
	free(got);

	/* errors leave the file as it was */
	got = read_file(path);
	assert_int_equal(passwd_file_add(path, "carol", "{PLAIN}x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_EXISTS);
	assert_non_null(strstr(error, "carol"));
	free(error);
	assert_int_equal(passwd_file_set_password(path, "alice", "{PLAIN}x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_NOT_FOUND);
	free(error);
	assert_int_equal(passwd_file_delete(path, "Carol", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_NOT_FOUND);
	free(error);
	/* a comment line is not a user */
	assert_int_equal(passwd_file_delete(path, "# users of example.org", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_INVALID);
	free(error);
	static const char *const bad_names[] = {
		"", "a:b", "a\nb", "a\rb", "a\tb", "a\x7f", "a/b", "..", ".", "x@..", "../x@y",
		"#x", " x", "a\\b", "b\xff" "ad", "\xc3",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad_names); i++) {
		assert_false(passwd_file_user_is_valid(bad_names[i]));
		assert_int_equal(passwd_file_add(path, bad_names[i], "{PLAIN}x", &class, &error), -1);
		assert_int_equal(class, PASSWD_FILE_ERROR_INVALID);
		free(error);
	}
	char long_name[257];
	memset(long_name, 'a', 256);
	long_name[256] = '\0';
	assert_false(passwd_file_user_is_valid(long_name));
	long_name[255] = '\0';
	assert_true(passwd_file_user_is_valid(long_name));
	assert_true(passwd_file_user_is_valid("user@example.org"));
	assert_true(passwd_file_user_is_valid("first.last@sub.example.org"));
	assert_true(passwd_file_user_is_valid("j\xc3\xb6rg"));
	static const char *const bad_passwords[] = { "", "{PLAIN}a:b", "{PLAIN}a\nb", "x\r" };
	for (size_t i = 0; i < N_ELEMENTS(bad_passwords); i++) {
		assert_int_equal(passwd_file_add(path, "frank", bad_passwords[i], &class, &error), -1);
		assert_int_equal(class, PASSWD_FILE_ERROR_INVALID);
		free(error);
	}
	char *after = read_file(path);
	assert_string_equal(got, after);
	free(after);
	free(got);
	assert_int_equal(count_temp_files(), 0);

	/* no file: add creates it (0640), the others say so */
	char *newpath = test_path("edit-new");
	assert_int_equal(passwd_file_delete(newpath, "x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_NO_FILE);
	free(error);
	assert_int_equal(passwd_file_set_password(newpath, "x", "{PLAIN}x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_NO_FILE);
	free(error);
	assert_int_equal(passwd_file_add(newpath, "x", "{PLAIN}x", &class, &error), 0);
	got = read_file(newpath);
	assert_string_equal(got, "x:{PLAIN}x\n");
	free(got);
	assert_int_equal(stat(newpath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* deleting the last user leaves an empty file */
	assert_int_equal(passwd_file_delete(newpath, "x", &class, &error), 0);
	got = read_file(newpath);
	assert_string_equal(got, "");
	free(got);

	/* a directory that cannot be written: an I/O error, file intact */
	unlink(newpath);
	free(newpath);
	newpath = xstrdup("/proc/roost-no-such-dir/passwd");
	assert_int_equal(passwd_file_add(newpath, "x", "{PLAIN}x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_IO);
	free(error);
	free(newpath);
	unlink(path);
	free(path);
}

static void test_passwd_file_edit_replaces_atomically(void **state)
{
	(void)state;
	char *path = test_path("atomic");
	enum passwd_file_error class;
	char *error = NULL;
	struct stat before, after;
	const struct passwd_file_entry *e;
	const char *rerror;

	write_file(path, "a:{PLAIN}1\n", 11);
	/* a reader that opened the file before the edit keeps the old one */
	struct passwd_file *pf = passwd_file_create(path);
	assert_int_equal(passwd_file_reload(pf, &rerror), 0);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(passwd_file_add(path, "b", "{PLAIN}2", &class, &error), 0);
	assert_int_equal(stat(path, &after), 0);
	/* rename() put a new inode in place */
	assert_int_not_equal(before.st_ino, after.st_ino);
	assert_int_equal(passwd_file_lookup(pf, "a", &e, &rerror), 1);
	assert_string_equal(e->password, "{PLAIN}1");
	assert_int_equal(passwd_file_reload(pf, &rerror), 0);
	assert_int_equal(passwd_file_lookup(pf, "b", &e, &rerror), 1);
	passwd_file_destroy(&pf);
	unlink(path);
	free(path);
}

/* ---- throttle ---- */

static void test_auth_throttle_delay(void **state)
{
	(void)state;
	assert_int_equal(auth_throttle_delay_ms(0, 15), 0);
	assert_int_equal(auth_throttle_delay_ms(1, 15), 250);
	assert_int_equal(auth_throttle_delay_ms(2, 15), 500);
	assert_int_equal(auth_throttle_delay_ms(3, 15), 1000);
	assert_int_equal(auth_throttle_delay_ms(6, 15), 8000);
	/* 250 * 2^6 = 16000: the first past the limit */
	assert_int_equal(auth_throttle_delay_ms(7, 15), 15000);
	assert_int_equal(auth_throttle_delay_ms(8, 15), 15000);
	assert_int_equal(auth_throttle_delay_ms(40, 15), 15000);
	assert_int_equal(auth_throttle_delay_ms(41, 15), 15000);
	assert_int_equal(auth_throttle_delay_ms(64, 15), 15000);
	assert_int_equal(auth_throttle_delay_ms(UINT32_MAX, 15), 15000);
	/* exactly at the limit */
	assert_int_equal(auth_throttle_delay_ms(3, 1), 1000);
	assert_int_equal(auth_throttle_delay_ms(4, 1), 1000);
	/* disabled */
	assert_int_equal(auth_throttle_delay_ms(5, 0), 0);
	/* a huge maximum never overflows */
	assert_int_equal(auth_throttle_delay_ms(33, UINT32_MAX), 250ull << 32 > UINT32_MAX ?
			 UINT32_MAX : 250ull << 32);
	assert_int_equal(auth_throttle_delay_ms(100, UINT32_MAX), UINT32_MAX);
	assert_int_equal(auth_throttle_delay_ms(20, UINT32_MAX), 250u << 19);
}

static void test_auth_throttle_ip_key(void **state)
{
	(void)state;
	char buf[AUTH_THROTTLE_KEY_SIZE];

	assert_string_equal(auth_throttle_ip_key("192.0.2.1", buf), "192.0.2.1");
	assert_string_equal(auth_throttle_ip_key("2001:db8:1:2:3:4:5:6", buf), "2001:db8:1:2::/64");
	assert_string_equal(auth_throttle_ip_key("[2001:db8:1:2::9]", buf), "2001:db8:1:2::/64");
	assert_string_equal(auth_throttle_ip_key("::1", buf), "::/64");
	assert_string_equal(auth_throttle_ip_key("::ffff:192.0.2.1", buf), "::/64");
	assert_string_equal(auth_throttle_ip_key(NULL, buf), "");
	assert_string_equal(auth_throttle_ip_key("", buf), "");
	assert_string_equal(auth_throttle_ip_key("[]", buf), "[]");
	assert_string_equal(auth_throttle_ip_key("not:an:address", buf), "not:an:address");
	char longkey[200];
	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(strlen(auth_throttle_ip_key(longkey, buf)), AUTH_THROTTLE_KEY_SIZE - 1);
}

static void test_auth_throttle_table(void **state)
{
	(void)state;
	struct auth_throttle *t = auth_throttle_create(3, 600);
	uint64_t now = 1000000;

	assert_int_equal(auth_throttle_failures(t, "192.0.2.1", now), 0);
	assert_int_equal(auth_throttle_add_failure(t, "192.0.2.1", now), 1);
	assert_int_equal(auth_throttle_add_failure(t, "192.0.2.1", now + 1), 2);
	assert_int_equal(auth_throttle_add_failure(t, "2001:db8::1", now + 2), 1);
	assert_int_equal(auth_throttle_failures(t, "192.0.2.1", now + 3), 2);
	/* NULL and "" are one key (UNIX sockets) */
	assert_int_equal(auth_throttle_add_failure(t, NULL, now + 4), 1);
	assert_int_equal(auth_throttle_failures(t, "", now + 4), 1);
	assert_int_equal(auth_throttle_count(t), 3);

	/* a new attempt waits out the rest of the last failure's delay:
	 * 2 failures, the last at now + 1, mean 500 ms */
	assert_int_equal(auth_throttle_wait_ms(t, "192.0.2.1", now + 1, 15), 500);
	assert_int_equal(auth_throttle_wait_ms(t, "192.0.2.1", now + 101, 15), 400);
	assert_int_equal(auth_throttle_wait_ms(t, "192.0.2.1", now + 500, 15), 1);
	assert_int_equal(auth_throttle_wait_ms(t, "192.0.2.1", now + 501, 15), 0);
	assert_int_equal(auth_throttle_wait_ms(t, "192.0.2.1", now + 100000, 15), 0);
	assert_int_equal(auth_throttle_wait_ms(t, "192.0.2.1", now + 1, 0), 0);
	assert_int_equal(auth_throttle_wait_ms(t, "198.51.100.1", now + 1, 15), 0);

	/* a success forgets the address */
	auth_throttle_reset(t, "192.0.2.1");
	assert_int_equal(auth_throttle_failures(t, "192.0.2.1", now + 5), 0);
	assert_int_equal(auth_throttle_count(t), 2);
	auth_throttle_reset(t, "198.51.100.1");	/* unknown: nothing happens */

	/* full: the entry whose last failure is oldest goes */
	assert_int_equal(auth_throttle_add_failure(t, "192.0.2.7", now + 6), 1);
	assert_int_equal(auth_throttle_count(t), 3);
	assert_int_equal(auth_throttle_add_failure(t, "192.0.2.8", now + 7), 1);
	assert_int_equal(auth_throttle_count(t), 3);
	assert_int_equal(auth_throttle_failures(t, "2001:db8::1", now + 8), 0);
	assert_int_equal(auth_throttle_failures(t, "", now + 8), 1);

	/* failures are forgotten after forget_secs */
	assert_int_equal(auth_throttle_failures(t, "192.0.2.8", now + 7 + 599999), 1);
	assert_int_equal(auth_throttle_failures(t, "192.0.2.8", now + 7 + 600000), 0);
	assert_int_equal(auth_throttle_add_failure(t, "192.0.2.7", now + 700000), 1);

	/* a very long key is cut, not overflowed */
	char key[200];
	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	assert_int_equal(auth_throttle_add_failure(t, key, now + 700001), 1);
	assert_int_equal(auth_throttle_add_failure(t, key, now + 700002), 2);

	auth_throttle_destroy(&t);
	assert_null(t);

	/* max_entries 0 still holds one */
	t = auth_throttle_create(0, 1);
	assert_int_equal(auth_throttle_add_failure(t, "a", 5), 1);
	assert_int_equal(auth_throttle_add_failure(t, "b", 6), 1);
	assert_int_equal(auth_throttle_count(t), 1);
	auth_throttle_destroy(&t);
}

/* ---- auth requests ---- */

struct auth_test_result {
	unsigned int calls;
	enum auth_result result;
	char user[64];
};

static void auth_test_callback(enum auth_result result, const char *user, void *ctx)
{
	struct auth_test_result *r = ctx;
	r->calls++;
	r->result = result;
	snprintf(r->user, sizeof(r->user), "%s", user);
}

static struct roost_config *auth_test_config(const char *userdb, unsigned int delay_max)
{
	struct roost_config *config = xcalloc(1, sizeof(*config));
	config->userdb = xstrdup(userdb);
	config->auth_failure_delay_max = delay_max;
	return config;
}

static void auth_test_config_free(struct roost_config *config)
{
	free(config->userdb);
	free(config);
}

#define AUTH_TEST_USERS \
	"# test users\n" \
	"plain@example.org:{PLAIN}right\n" \
	"sha:" SHA512_VECTOR ":1000:1000::/home/sha\n" \
	"disabled:\n" \
	"broken:{NOPE}xyz\n"

static void test_auth_verify_inline(void **state)
{
	(void)state;
	char *path = test_path("auth-users");
	write_file(path, AUTH_TEST_USERS, strlen(AUTH_TEST_USERS));
	struct roost_config *config = auth_test_config(path, 0);
	struct auth *auth = auth_create(config);
	auth_test_config_free(config);	/* not kept */
	struct auth_test_result r;

	static const struct {
		const char *user, *password;
		enum auth_result result;
	} cases[] = {
		{ "plain@example.org", "right", AUTH_RESULT_OK },
		{ "plain@example.org", "wrong", AUTH_RESULT_FAILED },
		{ "plain@example.org", "", AUTH_RESULT_FAILED },
		{ "PLAIN@example.org", "right", AUTH_RESULT_FAILED },
		{ "sha", "Hello world!", AUTH_RESULT_OK },
		{ "sha", "hello world!", AUTH_RESULT_FAILED },
		{ "nobody", "Hello world!", AUTH_RESULT_FAILED },
		{ "nobody", "right", AUTH_RESULT_FAILED },
		{ "", "right", AUTH_RESULT_FAILED },
		{ "disabled", "", AUTH_RESULT_FAILED },
		{ "disabled", "x", AUTH_RESULT_FAILED },
		{ "broken", "xyz", AUTH_RESULT_TEMPFAIL },
	};
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		memset(&r, 0, sizeof(r));
		struct auth_request *req = auth_verify_plain(auth, cases[i].user, cases[i].password,
							     "192.0.2.1", auth_test_callback, &r);
		/* no job pool: answered before returning */
		assert_null(req);
		assert_int_equal(r.calls, 1);
		if (r.result != cases[i].result)
			fail_msg("case %zu (%s): result %d", i, cases[i].user, r.result);
		assert_string_equal(r.user, cases[i].user);
	}
	assert_int_equal(auth_user_exists(auth, "sha"), 1);
	assert_int_equal(auth_user_exists(auth, "nobody"), 0);

	/* a new user is seen after SIGHUP's reload */
	FILE *f = fopen(path, "a");
	fputs("new:{PLAIN}n\n", f);
	fclose(f);
	auth_reload(auth);
	memset(&r, 0, sizeof(r));
	assert_null(auth_verify_plain(auth, "new", "n", NULL, auth_test_callback, &r));
	assert_int_equal(r.result, AUTH_RESULT_OK);

	/* the database goes away: TEMPFAIL, for known and unknown users */
	unlink(path);
	auth_reload(auth);
	memset(&r, 0, sizeof(r));
	assert_null(auth_verify_plain(auth, "new", "n", NULL, auth_test_callback, &r));
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.result, AUTH_RESULT_TEMPFAIL);
	assert_int_equal(auth_user_exists(auth, "new"), -1);

	auth_destroy(&auth);
	assert_null(auth);
	free(path);
}

static void test_auth_verify_async_and_abort(void **state)
{
	(void)state;
	char *path = test_path("auth-async");
	write_file(path, AUTH_TEST_USERS, strlen(AUTH_TEST_USERS));
	struct roost_config *config = auth_test_config(path, 0);
	struct auth *auth = auth_create(config);
	struct auth_test_result r1 = { 0 }, r2 = { 0 }, r3 = { 0 };

	fake_jobs_deferred = true;
	struct auth_request *req1 = auth_verify_plain(auth, "sha", "Hello world!", "192.0.2.1",
						      auth_test_callback, &r1);
	struct auth_request *req2 = auth_verify_plain(auth, "plain@example.org", "right",
						      "192.0.2.2", auth_test_callback, &r2);
	struct auth_request *req3 = auth_verify_plain(auth, "nobody", "x", "192.0.2.3",
						      auth_test_callback, &r3);
	assert_non_null(req1);
	assert_non_null(req2);
	assert_non_null(req3);
	/* nothing answered while the "threads" run */
	assert_int_equal(r1.calls + r2.calls + r3.calls, 0);

	/* the client of req2 disconnects in the middle of the hash */
	auth_request_abort(&req2);
	assert_null(req2);
	auth_request_abort(&req2);	/* NULL is fine */

	fake_jobs_finish();
	assert_int_equal(r1.calls, 1);
	assert_int_equal(r1.result, AUTH_RESULT_OK);
	assert_int_equal(r2.calls, 0);
	assert_int_equal(r3.calls, 1);
	assert_int_equal(r3.result, AUTH_RESULT_FAILED);

	/* auth destroyed while a hash runs: the request frees itself later */
	struct auth_request *req4 = auth_verify_plain(auth, "sha", "Hello world!", "192.0.2.4",
						      auth_test_callback, &r1);
	assert_non_null(req4);
	auth_destroy(&auth);
	fake_jobs_finish();
	assert_int_equal(r1.calls, 1);
	fake_jobs_deferred = false;

	auth_test_config_free(config);
	unlink(path);
	free(path);
}

static void test_auth_verify_delay(void **state)
{
	(void)state;
	char *path = test_path("auth-delay");
	write_file(path, AUTH_TEST_USERS, strlen(AUTH_TEST_USERS));
	struct roost_config *config = auth_test_config(path, 15);
	struct auth *auth = auth_create(config);
	struct auth_test_result r = { 0 };
	struct auth_request *req;

	/* answered inline (no event loop): never delayed nor held */
	struct auth *auth_inline = auth_create(config);
	for (unsigned int i = 0; i < 3; i++) {
		memset(&r, 0, sizeof(r));
		req = auth_verify_plain(auth_inline, "plain@example.org", "wrong", "192.0.2.8",
					auth_test_callback, &r);
		assert_null(req);
		assert_int_equal(r.calls, 1);
		assert_int_equal(r.result, AUTH_RESULT_FAILED);
		assert_null(fake_timer);
	}
	auth_destroy(&auth_inline);

	/* growing delays for one address */
	fake_jobs_deferred = true;
	static const unsigned int delays[] = { 250, 500, 1000, 2000, 4000, 8000, 15000, 15000 };
	for (size_t i = 0; i < N_ELEMENTS(delays); i++) {
		memset(&r, 0, sizeof(r));
		req = auth_verify_plain(auth, "plain@example.org", "wrong", "192.0.2.9",
					auth_test_callback, &r);
		assert_non_null(req);
		if (i == 0) {
			assert_null(fake_timer);
		} else {
			/* retrying at once: the rest of the last delay first */
			assert_non_null(fake_timer);
			assert_true(fake_timer->msecs > 0);
			assert_true(fake_timer->msecs <= delays[i - 1]);
			assert_int_equal(fake_job_count, 0);
			fake_timer_fire();
			assert_null(fake_timer);
		}
		assert_int_equal(fake_job_count, 1);
		fake_jobs_finish();
		assert_int_equal(r.calls, 0);
		assert_non_null(fake_timer);
		assert_int_equal(fake_timer->msecs, delays[i]);
		fake_timer_fire();
		assert_null(fake_timer);
		assert_int_equal(r.calls, 1);
		assert_int_equal(r.result, AUTH_RESULT_FAILED);
	}
	/* another address starts from the beginning; unknown users count too */
	memset(&r, 0, sizeof(r));
	req = auth_verify_plain(auth, "nobody", "x", "192.0.2.10", auth_test_callback, &r);
	assert_non_null(req);
	fake_jobs_finish();
	assert_int_equal(fake_timer->msecs, 250);
	/* a disconnect during the delay: no callback, timer gone */
	auth_request_abort(&req);
	assert_null(fake_timer);
	assert_int_equal(r.calls, 0);

	/* IPv6 addresses of one /64 share their penalty */
	memset(&r, 0, sizeof(r));
	req = auth_verify_plain(auth, "nobody", "x", "[2001:db8::1]", auth_test_callback, &r);
	fake_jobs_finish();
	assert_int_equal(fake_timer->msecs, 250);
	fake_timer_fire();
	assert_int_equal(r.calls, 1);
	req = auth_verify_plain(auth, "nobody", "x", "[2001:db8::2]", auth_test_callback, &r);
	assert_non_null(fake_timer);
	assert_int_equal(fake_job_count, 0);
	auth_request_abort(&req);
	req = auth_verify_plain(auth, "nobody", "x", "[2001:db8:0:1::1]", auth_test_callback, &r);
	assert_null(fake_timer);
	assert_int_equal(fake_job_count, 1);
	auth_request_abort(&req);
	fake_jobs_finish();
	assert_int_equal(r.calls, 1);

	/* an attempt during the wait can be aborted too */
	req = auth_verify_plain(auth, "plain@example.org", "right", "192.0.2.9",
				auth_test_callback, &r);
	assert_non_null(fake_timer);
	auth_request_abort(&req);
	assert_null(fake_timer);
	assert_int_equal(fake_job_count, 0);

	/* success is never delayed and resets the address */
	memset(&r, 0, sizeof(r));
	req = auth_verify_plain(auth, "plain@example.org", "right", "192.0.2.9",
				auth_test_callback, &r);
	fake_timer_fire();	/* the wait left by the failures */
	unsigned int timers = fake_timers_created;
	fake_jobs_finish();
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.result, AUTH_RESULT_OK);
	assert_int_equal(fake_timers_created, timers);
	req = auth_verify_plain(auth, "plain@example.org", "wrong", "192.0.2.9",
				auth_test_callback, &r);
	fake_jobs_finish();
	assert_int_equal(fake_timer->msecs, 250);
	fake_timer_fire();

	/* TEMPFAIL is not a failed login: no delay, nothing to wait for */
	for (unsigned int i = 0; i < 2; i++) {
		memset(&r, 0, sizeof(r));
		assert_non_null(auth_verify_plain(auth, "broken", "x", "192.0.2.12",
						  auth_test_callback, &r));
		assert_null(fake_timer);
		fake_jobs_finish();
		assert_int_equal(r.calls, 1);
		assert_int_equal(r.result, AUTH_RESULT_TEMPFAIL);
		assert_null(fake_timer);
	}

	/* auth destroyed during a delay: no callback, nothing leaks */
	memset(&r, 0, sizeof(r));
	req = auth_verify_plain(auth, "plain@example.org", "wrong", "192.0.2.11",
				auth_test_callback, &r);
	fake_jobs_finish();
	assert_non_null(fake_timer);
	auth_destroy(&auth);
	assert_null(fake_timer);
	assert_int_equal(r.calls, 0);
	fake_jobs_deferred = false;

	auth_test_config_free(config);
	unlink(path);
	free(path);
}

/* ---- roost user ---- */

/* Runs cli_user_main with `input` on stdin and returns its exit code;
 * stdout goes to *output_r (allocated) when asked, else is dropped. */
static int cli_user_run(const char *input, char **output_r, int argc, ...)
{
	char *argv[12];
	va_list args;
	int in_pipe[2];
	char *out_path = test_path("cli-out");

	assert_true(argc < (int)N_ELEMENTS(argv));
	va_start(args, argc);
	for (int i = 0; i < argc; i++)
		argv[i] = va_arg(args, char *);
	va_end(args);
	argv[argc] = NULL;

	assert_int_equal(pipe(in_pipe), 0);
	assert_int_equal(write(in_pipe[1], input, strlen(input)), (ssize_t)strlen(input));
	close(in_pipe[1]);
	fflush(stdout);
	int saved_in = dup(STDIN_FILENO), saved_out = dup(STDOUT_FILENO), saved_err = dup(2);
	int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int null_fd = open("/dev/null", O_WRONLY);
	dup2(in_pipe[0], STDIN_FILENO);
	dup2(out_fd, STDOUT_FILENO);
	dup2(null_fd, STDERR_FILENO);
	close(in_pipe[0]);
	close(out_fd);
	close(null_fd);

	int ret = cli_user_main(argc, argv);

	fflush(stdout);
	dup2(saved_in, STDIN_FILENO);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_in);
	close(saved_out);
	close(saved_err);
	if (output_r != NULL)
		*output_r = read_file(out_path);
	unlink(out_path);
	free(out_path);
	return ret;
}

static void test_cli_user(void **state)
{
	(void)state;
	char *conf = test_path("cli.conf");
	char *userdb = test_path("cli-passwd");
	char *conf_text = xasprintf("userdb = %s\n", userdb);
	char *out;
	const struct passwd_file_entry *e;
	const char *error;
	write_file(conf, conf_text, strlen(conf_text));
	free(conf_text);

	assert_int_equal(cli_user_run("", NULL, 1, "user"), EX_USAGE);
	assert_int_equal(cli_user_run("", NULL, 2, "user", "--help"), EX_OK);
	assert_int_equal(cli_user_run("", NULL, 3, "user", "add", "--help"), EX_OK);
	assert_int_equal(cli_user_run("", NULL, 2, "user", "frob"), EX_USAGE);
	assert_int_equal(cli_user_run("", NULL, 4, "user", "add", "-c", conf), EX_USAGE);
	assert_int_equal(cli_user_run("", NULL, 5, "user", "add", "-c", conf, "--bogus"), EX_USAGE);
	assert_int_equal(cli_user_run("", NULL, 4, "user", "add", "-c", "/nonexistent/roost.conf"),
			 EX_USAGE);
	assert_int_equal(cli_user_run("x\n", NULL, 5, "user", "add", "-c",
				      "/nonexistent/roost.conf", "u"), EX_CONFIG);

	/* add reads one line from a non-terminal stdin; CRLF is cut */
	assert_int_equal(cli_user_run("pw one\r\n", &out, 5, "user", "add", "-c", conf,
				      "bob@example.org"), EX_OK);
	assert_non_null(strstr(out, "bob@example.org"));
	free(out);
	assert_int_equal(cli_user_run("pw2", NULL, 7, "user", "add", "-c", conf,
				      "--scheme", "plain", "carol"), EX_OK);
	assert_int_equal(cli_user_run("pw3\n", NULL, 6, "user", "add", "--config", conf,
				      "--scheme=BLF-CRYPT", "dave"), EX_OK);

	struct passwd_file *pf = passwd_file_create(userdb);
	assert_int_equal(passwd_file_reload(pf, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "bob@example.org", &e, &error), 1);
	assert_true(strncmp(e->password, "{SHA512-CRYPT}$6$", 17) == 0);
	assert_int_equal(password_verify("pw one", e->password, &error), 1);
	assert_int_equal(passwd_file_lookup(pf, "carol", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}pw2");
	assert_int_equal(passwd_file_lookup(pf, "dave", &e, &error), 1);
	assert_int_equal(password_verify("pw3", e->password, &error), 1);

	/* errors */
	assert_int_equal(cli_user_run("x\n", NULL, 5, "user", "add", "-c", conf, "carol"),
			 EX_DATAERR);
	assert_int_equal(cli_user_run("x\n", NULL, 5, "user", "add", "-c", conf, "a:b"),
			 EX_DATAERR);
	assert_int_equal(cli_user_run("", NULL, 5, "user", "add", "-c", conf, "erin"),
			 EX_DATAERR);
	assert_int_equal(cli_user_run("\n", NULL, 5, "user", "add", "-c", conf, "erin"),
			 EX_DATAERR);
	assert_int_equal(cli_user_run("x\n", NULL, 7, "user", "add", "-c", conf,
				      "--scheme", "MD4", "erin"), EX_USAGE);
	char long_pw[300];
	memset(long_pw, 'p', 256);
	strcpy(long_pw + 256, "\n");
	assert_int_equal(cli_user_run(long_pw, NULL, 5, "user", "add", "-c", conf, "erin"),
			 EX_DATAERR);
	/* 255 bytes: the most SASL PLAIN can carry */
	strcpy(long_pw + 255, "\n");
	assert_int_equal(cli_user_run(long_pw, NULL, 5, "user", "add", "-c", conf, "frank"),
			 EX_OK);
	assert_int_equal(cli_user_run("", NULL, 5, "user", "del", "-c", conf, "frank"), EX_OK);
	assert_int_equal(cli_user_run("x\n", NULL, 5, "user", "passwd", "-c", conf, "erin"),
			 EX_NOUSER);
	assert_int_equal(cli_user_run("", NULL, 5, "user", "del", "-c", conf, "erin"),
			 EX_NOUSER);

	/* passwd and del */
	assert_int_equal(cli_user_run("new pw\n", NULL, 5, "user", "passwd", "-c", conf,
				      "carol"), EX_OK);
	assert_int_equal(cli_user_run("", NULL, 5, "user", "del", "-c", conf, "dave"), EX_OK);
	assert_int_equal(passwd_file_reload(pf, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "carol", &e, &error), 1);
	assert_true(strncmp(e->password, "{SHA512-CRYPT}", 14) == 0);
	assert_int_equal(password_verify("new pw", e->password, &error), 1);
	assert_int_equal(passwd_file_lookup(pf, "dave", &e, &error), 0);
	passwd_file_destroy(&pf);

	/* list: names only, in file order */
	assert_int_equal(cli_user_run("", &out, 4, "user", "list", "-c", conf), EX_OK);
	assert_string_equal(out, "bob@example.org\ncarol\n");
	free(out);
	assert_int_equal(cli_user_run("", NULL, 5, "user", "list", "-c", conf, "x"), EX_USAGE);
	unlink(userdb);
	assert_int_equal(cli_user_run("", NULL, 4, "user", "list", "-c", conf), EX_NOINPUT);

	unlink(conf);
	free(conf);
	free(userdb);
}

/* ---- SASL ---- */

static int sasl_test_plain(const char *message, size_t len, struct sasl_exchange **ex_r,
			   const char **error_r)
{
	const unsigned char *out;
	size_t out_len;

	*ex_r = sasl_exchange_create(sasl_mech_find("PLAIN"));
	return sasl_exchange_step(*ex_r, (const unsigned char *)message, len, &out, &out_len,
				  error_r);
}

#define SASL_TEST(lit) (lit), sizeof(lit) - 1

static void test_sasl_mechs(void **state)
{
	(void)state;
	const struct sasl_mech *plain = sasl_mech_find("PLAIN");
	assert_non_null(plain);
	assert_ptr_equal(sasl_mech_find("plain"), plain);
	assert_ptr_equal(sasl_mech_find("Plain"), plain);
	assert_null(sasl_mech_find("PLAINX"));
	assert_null(sasl_mech_find(""));
	assert_null(sasl_mech_find("SCRAM-SHA-256"));
	assert_ptr_equal(sasl_mech_at(0), plain);
	assert_null(sasl_mech_at(1));
	assert_string_equal(plain->name, "PLAIN");
	assert_true(plain->is_plaintext);
}

static void test_sasl_plain_good(void **state)
{
	(void)state;
	struct sasl_exchange *ex;
	const char *error = NULL;

	/* RFC 4616 section 4 examples */
	assert_int_equal(sasl_test_plain(SASL_TEST("\0tim\0tanstaaftanstaaf"), &ex, &error), 1);
	assert_string_equal(sasl_exchange_authcid(ex), "tim");
	assert_string_equal(sasl_exchange_authzid(ex), "");
	assert_string_equal(sasl_exchange_password(ex), "tanstaaftanstaaf");
	assert_ptr_equal(sasl_exchange_mech(ex), &sasl_mech_plain);
	sasl_exchange_destroy(&ex);
	assert_null(ex);

	/* authzid equal to authcid */
	assert_int_equal(sasl_test_plain(SASL_TEST("bob@example.org\0bob@example.org\0pw"),
					 &ex, &error), 1);
	assert_string_equal(sasl_exchange_authcid(ex), "bob@example.org");
	assert_string_equal(sasl_exchange_authzid(ex), "bob@example.org");
	sasl_exchange_destroy(&ex);

	/* UTF-8 and spaces are fine */
	assert_int_equal(sasl_test_plain(SASL_TEST("\0j\xc3\xb6rg\0p w \xe2\x82\xac"),
					 &ex, &error), 1);
	assert_string_equal(sasl_exchange_password(ex), "p w \xe2\x82\xac");
	sasl_exchange_destroy(&ex);

	/* no initial response: an empty challenge first */
	const unsigned char *out = (const unsigned char *)"x";
	size_t out_len = 99;
	ex = sasl_exchange_create(&sasl_mech_plain);
	assert_int_equal(sasl_exchange_step(ex, NULL, 0, &out, &out_len, &error), 0);
	assert_int_equal(out_len, 0);
	assert_int_equal(sasl_exchange_step(ex, (const unsigned char *)"\0u\0p", 4,
					    &out, &out_len, &error), 1);
	assert_string_equal(sasl_exchange_authcid(ex), "u");
	assert_string_equal(sasl_exchange_password(ex), "p");
	sasl_exchange_destroy(&ex);

	/* 255 octets each: the most RFC 4616 requires */
	struct str m = STR_INIT;
	char field[256];
	memset(field, 'a', 255);
	field[255] = '\0';
	str_append(&m, field);
	str_append_c(&m, '\0');
	str_append(&m, field);
	str_append_c(&m, '\0');
	str_append(&m, field);
	assert_int_equal(sasl_test_plain(m.data, m.len, &ex, &error), 1);
	assert_int_equal(strlen(sasl_exchange_password(ex)), 255);
	sasl_exchange_destroy(&ex);
	str_free(&m);

	sasl_exchange_destroy(&ex);	/* NULL is fine */
}

static void test_sasl_plain_bad(void **state)
{
	(void)state;
	static const struct { const char *data; size_t len; } bad[] = {
		{ SASL_TEST("") },			/* empty response */
		{ SASL_TEST("tim") },			/* no NUL */
		{ SASL_TEST("tim\0secret") },		/* one NUL */
		{ SASL_TEST("\0tim\0secret\0") },	/* three NULs */
		{ SASL_TEST("\0tim\0sec\0ret") },
		{ SASL_TEST("\0\0secret") },		/* empty authcid */
		{ SASL_TEST("\0tim\0") },		/* empty password */
		{ SASL_TEST("\0\0") },
		{ SASL_TEST("admin\0tim\0secret") },	/* authzid differs */
		{ SASL_TEST("Tim\0tim\0secret") },	/* compared exactly */
		{ SASL_TEST("tim \0tim\0secret") },
		{ SASL_TEST("\0t\xffm\0secret") },	/* not UTF-8 */
		{ SASL_TEST("\0tim\0se\xc3") },		/* cut UTF-8 */
		{ SASL_TEST("\0tim\0\xc0\xaf") },	/* overlong UTF-8 */
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct sasl_exchange *ex;
		const char *error = NULL;
		if (sasl_test_plain(bad[i].data, bad[i].len, &ex, &error) != -1)
			fail_msg("case %zu accepted", i);
		assert_non_null(error);
		assert_null(sasl_exchange_authcid(ex));
		assert_null(sasl_exchange_password(ex));
		sasl_exchange_destroy(&ex);
	}

	/* 256 octets in any field */
	for (unsigned int f = 0; f < 3; f++) {
		struct str m = STR_INIT;
		char big[257];
		memset(big, 'b', 256);
		big[256] = '\0';
		str_append(&m, f == 0 ? big : "");
		str_append_c(&m, '\0');
		str_append(&m, f == 0 || f == 1 ? big : "user");
		str_append_c(&m, '\0');
		str_append(&m, f == 2 ? big : "pw");
		struct sasl_exchange *ex;
		const char *error = NULL;
		assert_int_equal(sasl_test_plain(m.data, m.len, &ex, &error), -1);
		assert_non_null(strstr(error, "255"));
		sasl_exchange_destroy(&ex);
		str_free(&m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_password_known_vector),
		cmocka_unit_test(test_password_generated_schemes),
		cmocka_unit_test(test_password_crypt_gensalt),
		cmocka_unit_test(test_password_bad_stored),
		cmocka_unit_test(test_password_threads),
		cmocka_unit_test(test_passwd_file_parse),
		cmocka_unit_test(test_passwd_file_missing),
		cmocka_unit_test(test_passwd_file_reload_on_change),
		cmocka_unit_test(test_passwd_file_edit),
		cmocka_unit_test(test_passwd_file_edit_replaces_atomically),
		cmocka_unit_test(test_auth_throttle_delay),
		cmocka_unit_test(test_auth_throttle_ip_key),
		cmocka_unit_test(test_auth_throttle_table),
		cmocka_unit_test(test_auth_verify_inline),
		cmocka_unit_test(test_auth_verify_async_and_abort),
		cmocka_unit_test(test_auth_verify_delay),
		cmocka_unit_test(test_cli_user),
		cmocka_unit_test(test_sasl_mechs),
		cmocka_unit_test(test_sasl_plain_good),
		cmocka_unit_test(test_sasl_plain_bad),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
