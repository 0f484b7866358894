/* test-passwd-file.c: parsing the passwd-file (comments, extra fields,
 * CRLF, long lines, duplicates), re-reading it when it changes, and the
 * atomic edits of `roost user`. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/passwd-file.h"
#include "base/log.h"
#include "base/str.h"
#include "testlib.h"

/* ---- helpers ---- */

/* Files in testlib_dir() other than the ones the tests made: leftovers of a
 * failed or interrupted atomic write start with '.'. */
static unsigned int count_temp_files(void)
{
	DIR *d = opendir(testlib_dir());
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
	log_init("test-passwd-file", false, LOG_LEVEL_ERROR);
	return testlib_dir_create("passwd-file");
}

static int teardown_dir(void **state)
{
	(void)state;
	testlib_dir_remove();
	return 0;
}

/* From Ulrich Drepper's SHA-crypt specification, as Dovecot stores it. */
#define SHA512_VECTOR \
	"$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"

static void test_passwd_file_parse(void **state)
{
	(void)state;
	char *path = testlib_path("parse");
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
	testlib_write_file(path, content.data, content.len);

	struct passwd_file *pf = passwd_file_create(path);
	assert_int_equal(passwd_file_lookup(pf, "alice", &e, &error), -1);	/* not read yet */
	assert_int_equal(passwd_file_refresh(pf, &error), 0);

	assert_int_equal(passwd_file_lookup(pf, "alice", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}pw1");	/* the first line wins */
	assert_null(e->extra);
	assert_int_equal(e->line, 4);
	/* names are compared lowercased: "Alice" is alice, and of the two
	 * lines the first wins */
	assert_int_equal(passwd_file_lookup(pf, "Alice", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}pw1");
	assert_int_equal(passwd_file_lookup(pf, "ALICE", &e, &error), 1);
	assert_string_equal(e->password, "{PLAIN}pw1");

	assert_int_equal(passwd_file_lookup(pf, "bob@example.org", &e, &error), 1);
	assert_string_equal(e->password, SHA512_VECTOR);
	assert_string_equal(e->extra, "1000:1000:Bob B:/home/bob:/bin/sh:extra=1");
	assert_int_equal(passwd_file_lookup(pf, "bob@EXAMPLE.org", &e, &error), 1);
	assert_int_equal(passwd_file_lookup(pf, "Bob@Example.Org", &e, &error), 1);
	assert_string_equal(e->password, SHA512_VECTOR);
	assert_int_equal(passwd_file_lookup(pf, "bob", &e, &error), 0);
	/* "_" is the store's "no domain": never a user of its own */
	assert_int_equal(passwd_file_lookup(pf, "alice@_", &e, &error), 0);

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
	assert_string_equal(passwd_file_entry_at(pf, 6)->user, "alice");	/* "Alice" */
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
	char *path = testlib_path("missing");
	const struct passwd_file_entry *e;
	const char *error = NULL;
	struct passwd_file *pf = passwd_file_create(path);

	assert_int_equal(passwd_file_refresh(pf, &error), -1);
	assert_non_null(strstr(error, "missing"));
	assert_int_equal(passwd_file_lookup(pf, "alice", &e, &error), -1);
	/* within the second: still failing without a stat */
	assert_int_equal(passwd_file_refresh(pf, &error), -1);
	testlib_write_file(path, "alice:{PLAIN}x\n", 15);
	assert_int_equal(passwd_file_reload(pf, &error), 0);
	assert_int_equal(passwd_file_lookup(pf, "alice", &e, &error), 1);
	/* an empty file is a database without users */
	testlib_write_file(path, "", 0);
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
	char *path = testlib_path("reload");
	const struct passwd_file_entry *e;
	const char *error = NULL;
	enum passwd_file_error class;
	char *edit_error = NULL;

	testlib_write_file(path, "alice:{PLAIN}a\n", 15);
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
	testlib_write_file(path, "bob:{PLAIN}d\n", 13);
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
	char *path = testlib_path("edit");
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

	testlib_write_file(path, original, strlen(original));
	assert_int_equal(chmod(path, 0600), 0);

	/* add appends, after adding the missing newline */
	assert_int_equal(passwd_file_add(path, "erin@example.org", "{PLAIN}e", &class, &error), 0);
	assert_int_equal(class, PASSWD_FILE_ERROR_NONE);
	assert_null(error);
	got = testlib_read_file(path);
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
	got = testlib_read_file(path);
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

	/* set_password finds the user by any spelling; add writes the
	 * lowercased name */
	assert_int_equal(passwd_file_set_password(path, "DAVE", "{PLAIN}D2", &class, &error), 0);
	assert_int_equal(passwd_file_add(path, "Gina@Example.ORG", "{PLAIN}g", &class, &error), 0);
	got = testlib_read_file(path);
	assert_non_null(strstr(got, "\ngina@example.org:{PLAIN}g\n"));
	free(got);
	assert_int_equal(passwd_file_delete(path, "GINA@example.org", &class, &error), 0);

	/* delete removes every line of the user, nothing else */
	assert_int_equal(passwd_file_delete(path, "alice", &class, &error), 0);
	assert_int_equal(passwd_file_delete(path, "bob", &class, &error), 0);
	got = testlib_read_file(path);
	assert_string_equal(got,
		"# users of example.org\n"
		"\n"
		"   # indented comment\n"
		"carol:{PLAIN}C2:::::\n"
		"dave:{PLAIN}D2\n"
		"erin@example.org:{PLAIN}e\n");
	free(got);

	/* errors leave the file as it was */
	got = testlib_read_file(path);
	assert_int_equal(passwd_file_add(path, "carol", "{PLAIN}x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_EXISTS);
	assert_non_null(strstr(error, "carol"));
	free(error);
	assert_int_equal(passwd_file_set_password(path, "alice", "{PLAIN}x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_NOT_FOUND);
	free(error);
	assert_int_equal(passwd_file_delete(path, "Caroline", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_NOT_FOUND);
	free(error);
	/* one account per lowercased name: another spelling is refused,
	 * naming the one in the file */
	assert_int_equal(passwd_file_add(path, "CAROL", "{PLAIN}x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_EXISTS);
	assert_non_null(strstr(error, "carol"));
	free(error);
	assert_int_equal(passwd_file_add(path, "erin@EXAMPLE.org", "{PLAIN}x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_EXISTS);
	free(error);
	/* "demo@_" would open demo's store */
	assert_int_equal(passwd_file_add(path, "carol@_", "{PLAIN}x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_INVALID);
	assert_non_null(strstr(error, "no domain"));
	free(error);
	/* a comment line is not a user */
	assert_int_equal(passwd_file_delete(path, "# users of example.org", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_INVALID);
	free(error);
	static const char *const bad_names[] = {
		"", "a:b", "a\nb", "a\rb", "a\tb", "a\x7f", "a/b", "..", ".", "x@..", "../x@y",
		"#x", " x", "a\\b", ("b\xff" "ad"), "\xc3", "demo@_", "@example.org", "demo@",
		".hidden", "x@.example.org",
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
	assert_true(passwd_file_user_is_valid("demo@_x"));
	assert_true(passwd_file_user_is_valid("a@b@example.org"));
	static const char *const bad_passwords[] = { "", "{PLAIN}a:b", "{PLAIN}a\nb", "x\r" };
	for (size_t i = 0; i < N_ELEMENTS(bad_passwords); i++) {
		assert_int_equal(passwd_file_add(path, "frank", bad_passwords[i], &class, &error), -1);
		assert_int_equal(class, PASSWD_FILE_ERROR_INVALID);
		free(error);
	}
	char *after = testlib_read_file(path);
	assert_string_equal(got, after);
	free(after);
	free(got);
	assert_int_equal(count_temp_files(), 0);

	/* no file: add creates it (0640), the others say so */
	char *newpath = testlib_path("edit-new");
	assert_int_equal(passwd_file_delete(newpath, "x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_NO_FILE);
	free(error);
	assert_int_equal(passwd_file_set_password(newpath, "x", "{PLAIN}x", &class, &error), -1);
	assert_int_equal(class, PASSWD_FILE_ERROR_NO_FILE);
	free(error);
	assert_int_equal(passwd_file_add(newpath, "x", "{PLAIN}x", &class, &error), 0);
	got = testlib_read_file(newpath);
	assert_string_equal(got, "x:{PLAIN}x\n");
	free(got);
	assert_int_equal(stat(newpath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	/* deleting the last user leaves an empty file */
	assert_int_equal(passwd_file_delete(newpath, "x", &class, &error), 0);
	got = testlib_read_file(newpath);
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
	char *path = testlib_path("atomic");
	enum passwd_file_error class;
	char *error = NULL;
	struct stat before, after;
	const struct passwd_file_entry *e;
	const char *rerror;

	testlib_write_file(path, "a:{PLAIN}1\n", 11);
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

/* credentials as extra fields: written on add, replaced on a new
 * password (the old password's dropped, other extra fields kept) */
static void test_passwd_file_edit_credentials(void **state)
{
	(void)state;
	char *path = testlib_path("cred");
	enum passwd_file_error class;
	char *error = NULL, *got;
	const char *const cred[] = { "{SCRAM-SHA-256}1,QQ==,QQ==,QQ==", "{SCRAM-SHA-1}1,Qg==,Qg==,Qg==",
				     NULL };
	const char *const cred2[] = { "{SCRAM-SHA-256}2,Qw==,Qw==,Qw==", NULL };
	const char *const bad[][2] = {
		{ "{SCRAM-SHA-256}1,a:b", NULL }, { "SCRAM", NULL }, { "{X}a b", NULL },
		{ "{X}a\n", NULL },
	};

	testlib_write_file(path, "u:{PLAIN}x:1:2::/h:/bin/sh:quota=5 scram-sha-1={SCRAM-SHA-1}old\r\n"
			   "v:{PLAIN}y\n", 0 + strlen("u:{PLAIN}x:1:2::/h:/bin/sh:quota=5 "
						      "scram-sha-1={SCRAM-SHA-1}old\r\nv:{PLAIN}y\n"));
	assert_int_equal(passwd_file_add_credentials(path, "w", "{SHA512-CRYPT}$6$a$b", cred,
						     &class, &error), 0);
	assert_int_equal(passwd_file_set_credentials(path, "u", "{PLAIN}z", cred2, &class,
						     &error), 0);
	assert_int_equal(passwd_file_set_credentials(path, "v", "{PLAIN}q", cred2, &class,
						     &error), 0);
	got = testlib_read_file(path);
	assert_string_equal(got,
		"u:{PLAIN}z:1:2::/h:/bin/sh:quota=5 scram-sha-256={SCRAM-SHA-256}2,Qw==,Qw==,Qw==\r\n"
		"v:{PLAIN}q::::::scram-sha-256={SCRAM-SHA-256}2,Qw==,Qw==,Qw==\n"
		"w:{SHA512-CRYPT}$6$a$b::::::scram-sha-256={SCRAM-SHA-256}1,QQ==,QQ==,QQ== "
		"scram-sha-1={SCRAM-SHA-1}1,Qg==,Qg==,Qg==\n");
	free(got);
	/* a new password without credentials drops the old ones */
	assert_int_equal(passwd_file_set_password(path, "u", "{PLAIN}n", &class, &error), 0);
	got = testlib_read_file(path);
	assert_non_null(strstr(got, "u:{PLAIN}n:1:2::/h:/bin/sh:quota=5\r\n"));
	free(got);
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		assert_int_equal(passwd_file_set_credentials(path, "u", "{PLAIN}n", bad[i], &class,
							     &error), -1);
		assert_int_equal(class, PASSWD_FILE_ERROR_INVALID);
		free(error);
		error = NULL;
	}
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passwd_file_parse),
		cmocka_unit_test(test_passwd_file_missing),
		cmocka_unit_test(test_passwd_file_reload_on_change),
		cmocka_unit_test(test_passwd_file_edit),
		cmocka_unit_test(test_passwd_file_edit_replaces_atomically),
		cmocka_unit_test(test_passwd_file_edit_credentials),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
