/* test-cli-user.c: `roost user`, run in-process through cli_user_main()
 * with stdin and stdout redirected: arguments, exit codes, what lands in
 * the passwd-file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "auth/passwd-file.h"
#include "auth/password.h"
#include "base/log.h"
#include "base/str.h"
#include "cli/cli.h"
#include "testlib.h"

/* ---- helpers ---- */

static int setup_dir(void **state)
{
	(void)state;
	log_init("test-cli-user", false, LOG_LEVEL_ERROR);
	return testlib_dir_create("cli-user");
}

static int teardown_dir(void **state)
{
	(void)state;
	testlib_dir_remove();
	return 0;
}

/* Runs cli_user_main with `input` on stdin and returns its exit code;
 * stdout goes to *output_r (allocated) when asked, else is dropped. */
static int cli_user_run(const char *input, char **output_r, int argc, ...)
{
	char *argv[12];
	va_list args;
	int in_pipe[2];
	char *out_path = testlib_path("cli-out");

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
		*output_r = testlib_read_file(out_path);
	unlink(out_path);
	free(out_path);
	return ret;
}

static void test_cli_user(void **state)
{
	(void)state;
	char *conf = testlib_path("cli.conf");
	char *userdb = testlib_path("cli-passwd");
	char *conf_text = xasprintf("userdb = %s\n", userdb);
	char *out;
	const struct passwd_file_entry *e;
	const char *error;
	testlib_write_file(conf, conf_text, strlen(conf_text));
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
	assert_int_equal(cli_user_run("x\n", NULL, 7, "user", "add", "-c", conf,
				      "--scheme", "md5-crypt", "erin"), EX_USAGE);
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

	/* one account per store: names are lowercased, "_" is no domain */
	assert_int_equal(cli_user_run("x\n", NULL, 5, "user", "add", "-c", conf, "carol@_"),
			 EX_DATAERR);
	assert_int_equal(cli_user_run("x\n", NULL, 5, "user", "add", "-c", conf,
				      "bob@EXAMPLE.org"), EX_DATAERR);
	assert_int_equal(cli_user_run("x\n", NULL, 5, "user", "add", "-c", conf, "Carol"),
			 EX_DATAERR);
	assert_int_equal(cli_user_run("gpw\n", &out, 7, "user", "add", "-c", conf,
				      "--scheme", "PLAIN", "Gina@Example.COM"), EX_OK);
	assert_non_null(strstr(out, "gina@example.com"));
	free(out);
	assert_int_equal(cli_user_run("x\n", NULL, 5, "user", "add", "-c", conf,
				      "gina@example.com"), EX_DATAERR);
	assert_int_equal(cli_user_run("", NULL, 5, "user", "del", "-c", conf, "GINA@example.com"),
			 EX_OK);

	/* passwd and del */
	assert_int_equal(cli_user_run("new pw\n", NULL, 5, "user", "passwd", "-c", conf,
				      "CAROL"), EX_OK);
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


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cli_user),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
