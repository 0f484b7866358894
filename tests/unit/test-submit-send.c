/* test-submit-send.c: submit_send() against real peers: the SMTP sink of
 * tests/lib/smtpsink.py started on 127.0.0.1 per test (plain, STARTTLS
 * accepted, refused, not offered, a certificate checked or not; replies
 * 4xx/5xx at each step; a server that stops answering; HELO only; SIZE),
 * and sendmail_path with a script that records its arguments and
 * standard input and exits as told.  Also: nothing configured, bad
 * addresses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "base/str.h"
#include "conf/conf.h"
#include "submit/submit.h"
#include "testlib.h"

/* the message every test sends: LF line ends, lines that start with a
 * dot (one of them a lone dot), an 8-bit byte */
static const char message[] =
	"From: a@example.org\nTo: b@example.com\nSubject: test\n\n"
	"first line\n.leading dot\n.\n..two dots\nlast \xc3\xa9\n";
/* ... as the sink must record it: CRLF, dots unstuffed */
static const char message_crlf[] =
	"From: a@example.org\r\nTo: b@example.com\r\nSubject: test\r\n\r\n"
	"first line\r\n.leading dot\r\n.\r\n..two dots\r\nlast \xc3\xa9\r\n";
static const char *const rcpts[] = { "a@example.com", "b@example.com" };

static char *cert_path, *key_path;

struct sink {
	pid_t pid;
	int in_fd;
	unsigned int port;
	char *dir;
};

/* Starts the sink with the options (a NULL-terminated list) recording
 * into a new directory; fails the test unless it says its port. */
static void sink_start(struct sink *sink, ...)
{
	static unsigned int counter;
	const char *argv[32];
	int in[2], out[2];
	size_t n = 0;
	va_list args;
	char line[32];
	ssize_t got = 0;

	sink->dir = xasprintf("%s/sink%u", testlib_dir(), ++counter);
	argv[n++] = "python3";
	argv[n++] = SMTPSINK;
	argv[n++] = "--dir";
	argv[n++] = sink->dir;
	va_start(args, sink);
	for (const char *a; (a = va_arg(args, const char *)) != NULL;)
		argv[n++] = a;
	va_end(args);
	argv[n] = NULL;
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	sink->pid = fork();
	assert_true(sink->pid >= 0);
	if (sink->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	sink->in_fd = in[1];
	struct pollfd pfd = { .fd = out[0], .events = POLLIN };
	while (got < (ssize_t)sizeof(line) - 1 && memchr(line, '\n', (size_t)got) == NULL) {
		assert_int_equal(poll(&pfd, 1, 20000), 1);
		ssize_t r = read(out[0], line + got, sizeof(line) - 1 - (size_t)got);
		if (r <= 0)
			fail_msg("the SMTP sink did not start");
		got += r;
	}
	line[got] = '\0';
	close(out[0]);
	sink->port = (unsigned int)atoi(line);
	assert_true(sink->port > 0);
}

static void sink_stop(struct sink *sink)
{
	int status;

	close(sink->in_fd);
	assert_int_equal(waitpid(sink->pid, &status, 0), sink->pid);
	free(sink->dir);
}

/* The recorded file NNNN.ext of the sink (NULL when there is none). */
static char *sink_file(const struct sink *sink, unsigned int n, const char *ext)
{
	char *path = xasprintf("%s/%04u.%s", sink->dir, n, ext);
	char *text = access(path, F_OK) == 0 ? testlib_read_file(path) : NULL;

	free(path);
	return text;
}

static struct roost_config *smtp_conf(const struct sink *sink, enum conf_submission_tls tls)
{
	char *error;
	struct roost_config *conf = config_load(NULL, &error);

	free(conf->submission_host);
	conf->submission_host = xstrdup("127.0.0.1");
	conf->submission_port = sink->port;
	conf->submission_tls = tls;
	conf->submission_timeout = 5;
	return conf;
}

/* submit_send() of the test message, which must succeed. */
static void send_ok(const struct roost_config *conf, const char *sender)
{
	enum submit_error class;
	char *error;

	if (submit_send(conf, sender, rcpts, 2, message, sizeof(message) - 1, &class,
			&error) < 0)
		fail_msg("submit_send: %s", error);
	assert_int_equal(class, SUBMIT_ERR_NONE);
	assert_null(error);
}

/* submit_send() that must fail with class and an error containing text. */
static void send_fails(const struct roost_config *conf, enum submit_error expect_class,
		       const char *text)
{
	enum submit_error class;
	char *error;

	assert_int_equal(submit_send(conf, "s@example.org", rcpts, 2, message,
				     sizeof(message) - 1, &class, &error), -1);
	assert_non_null(error);
	if (strstr(error, text) == NULL || class != expect_class)
		fail_msg("class %d, error \"%s\"; expected %d and \"%s\"", class, error,
			 expect_class, text);
	free(error);
}

/* Asserts that the JSON record has the text (json.dump()'s spacing). */
static void assert_has(const char *json, const char *text)
{
	if (strstr(json, text) == NULL)
		fail_msg("%s not in %s", text, json);
}

/* Asserts that the sink recorded message n and that its JSON record
 * has each of the texts (a NULL-terminated list). */
static void assert_recorded(const struct sink *sink, unsigned int n, ...)
{
	char *json = sink_file(sink, n, "json");
	va_list args;

	if (json == NULL)
		fail_msg("message %u not recorded", n);
	va_start(args, n);
	for (const char *text; (text = va_arg(args, const char *)) != NULL;)
		assert_has(json, text);
	va_end(args);
	free(json);
}

/* ---- SMTP ---- */

static void test_smtp_plain(void **state)
{
	(void)state;
	struct sink sink;
	struct roost_config *conf;
	char *json, *eml;

	sink_start(&sink, "--dsn", "--size", "100000", NULL);
	conf = smtp_conf(&sink, CONF_SUBMISSION_TLS_STARTTLS);
	/* the null sender (RFC 5230 5.1): NOTIFY=NEVER since the server
	 * has DSN */
	send_ok(conf, "");
	json = sink_file(&sink, 1, "json");
	eml = sink_file(&sink, 1, "eml");
	assert_non_null(json);
	assert_has(json, "\"mail_from\": \"\"");
	assert_has(json, "\"rcpts\": [\"a@example.com\", \"b@example.com\"]");
	assert_has(json, "\"rcpt_params\": [[\"NOTIFY=NEVER\"], [\"NOTIFY=NEVER\"]]");
	assert_has(json, "\"SIZE=");
	assert_has(json, "\"BODY=8BITMIME\"");
	assert_has(json, "\"tls\": false");
	assert_has(json, "\"EHLO ");
	assert_has(json, "\"helo\": \"");
	assert_string_equal(eml, message_crlf);
	free(json);
	free(eml);
	/* a sender: no NOTIFY */
	send_ok(conf, "me@example.org");
	assert_recorded(&sink, 2, "\"mail_from\": \"me@example.org\"",
			"\"rcpt_params\": [[], []]", NULL);
	config_free(&conf);
	sink_stop(&sink);
}

static void test_smtp_starttls(void **state)
{
	(void)state;
	struct sink sink;
	struct roost_config *conf;
	char *json;

	sink_start(&sink, "--tls-cert", cert_path, "--tls-key", key_path, NULL);
	/* opportunistic: the self-signed certificate is not checked */
	conf = smtp_conf(&sink, CONF_SUBMISSION_TLS_STARTTLS);
	send_ok(conf, "me@example.org");
	json = sink_file(&sink, 1, "json");
	assert_has(json, "\"tls\": true");
	/* RFC 3207 4.2: EHLO again after TLS */
	assert_has(json, "\"STARTTLS\", \"EHLO ");
	free(json);
	/* submission_tls = no: plain even though it is offered */
	conf->submission_tls = CONF_SUBMISSION_TLS_NO;
	send_ok(conf, "me@example.org");
	json = sink_file(&sink, 2, "json");
	assert_has(json, "\"tls\": false");
	assert_null(strstr(json, "STARTTLS"));
	free(json);
	config_free(&conf);
	sink_stop(&sink);
}

static void test_smtp_starttls_refused(void **state)
{
	(void)state;
	struct sink sink;
	struct roost_config *conf;

	sink_start(&sink, "--tls-cert", cert_path, "--tls-key", key_path, "--refuse-starttls",
		   NULL);
	conf = smtp_conf(&sink, CONF_SUBMISSION_TLS_STARTTLS);
	send_ok(conf, "me@example.org");
	assert_recorded(&sink, 1, "\"tls\": false", NULL);
	conf->submission_tls = CONF_SUBMISSION_TLS_REQUIRED;
	send_fails(conf, SUBMIT_ERR_TEMP, "STARTTLS: 454 4.7.0 TLS not available now");
	assert_null(sink_file(&sink, 2, "json"));
	config_free(&conf);
	sink_stop(&sink);

	/* not offered at all */
	sink_start(&sink, NULL);
	conf = smtp_conf(&sink, CONF_SUBMISSION_TLS_REQUIRED);
	send_fails(conf, SUBMIT_ERR_TEMP, "does not offer STARTTLS");
	assert_null(sink_file(&sink, 1, "json"));
	config_free(&conf);
	sink_stop(&sink);
}

static void test_smtp_tls_verified(void **state)
{
	(void)state;
	struct sink sink;
	struct roost_config *conf;

	sink_start(&sink, "--tls-cert", cert_path, "--tls-key", key_path, NULL);
	conf = smtp_conf(&sink, CONF_SUBMISSION_TLS_REQUIRED);
	/* the system's CAs do not know the sink's certificate */
	assert_int_equal(setenv("SSL_CERT_FILE", "/nonexistent", 1), 0);
	send_fails(conf, SUBMIT_ERR_TEMP, "certificate");
	assert_null(sink_file(&sink, 1, "json"));
	/* trusted, and it names 127.0.0.1 */
	assert_int_equal(setenv("SSL_CERT_FILE", cert_path, 1), 0);
	send_ok(conf, "me@example.org");
	assert_recorded(&sink, 1, "\"tls\": true", NULL);
	/* trusted, but for another name */
	free(conf->submission_host);
	conf->submission_host = xstrdup("localhost");
	send_fails(conf, SUBMIT_ERR_TEMP, "certificate");
	unsetenv("SSL_CERT_FILE");
	config_free(&conf);
	sink_stop(&sink);
}

static void test_smtp_errors(void **state)
{
	(void)state;
	static const struct {
		const char *fail;
		enum submit_error class;
		const char *text;
	} cases[] = {
		{ "greeting=421", SUBMIT_ERR_TEMP, "greeting: 421 4.0.0 sink says no" },
		{ "ehlo=421", SUBMIT_ERR_TEMP, "EHLO " },
		{ "mail=451", SUBMIT_ERR_TEMP, "MAIL FROM:<s@example.org> BODY=8BITMIME: 451 4.0.0" },
		{ "mail=550", SUBMIT_ERR_PERM, "MAIL FROM:<s@example.org> BODY=8BITMIME: 550 5.0.0" },
		{ "rcpt=550", SUBMIT_ERR_PERM, "RCPT TO:<a@example.com>: 550 5.0.0" },
		/* all or nothing: the first was accepted, the second not */
		{ "rcpt:b@example.com=550", SUBMIT_ERR_PERM, "RCPT TO:<b@example.com>: 550" },
		{ "rcpt:b@example.com=452", SUBMIT_ERR_TEMP, "RCPT TO:<b@example.com>: 452" },
		{ "data=554", SUBMIT_ERR_PERM, "DATA: 554 5.0.0" },
		{ "message=452", SUBMIT_ERR_TEMP, "(after DATA): 452 4.0.0" },
		{ "message=554", SUBMIT_ERR_PERM, "(after DATA): 554 5.0.0" },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct sink sink;
		struct roost_config *conf;

		sink_start(&sink, "--fail", cases[i].fail, NULL);
		conf = smtp_conf(&sink, CONF_SUBMISSION_TLS_STARTTLS);
		send_fails(conf, cases[i].class, cases[i].text);
		assert_null(sink_file(&sink, 1, "json"));
		config_free(&conf);
		sink_stop(&sink);
	}
}

static void test_smtp_helo_only(void **state)
{
	(void)state;
	struct sink sink;
	struct roost_config *conf;
	char *json;

	sink_start(&sink, "--no-ehlo", NULL);
	conf = smtp_conf(&sink, CONF_SUBMISSION_TLS_STARTTLS);
	send_ok(conf, "");
	json = sink_file(&sink, 1, "json");
	assert_has(json, "\"HELO ");
	/* no extensions: neither SIZE nor BODY nor NOTIFY */
	assert_has(json, "\"mail_params\": []");
	assert_has(json, "\"rcpt_params\": [[], []]");
	free(json);
	config_free(&conf);
	sink_stop(&sink);
}

static void test_smtp_size_and_timeout(void **state)
{
	(void)state;
	struct sink sink;
	struct roost_config *conf;

	/* RFC 1870: larger than SIZE: refused before sending */
	sink_start(&sink, "--size", "50", NULL);
	conf = smtp_conf(&sink, CONF_SUBMISSION_TLS_STARTTLS);
	send_fails(conf, SUBMIT_ERR_PERM, "larger than the server's SIZE 50");
	assert_null(sink_file(&sink, 1, "json"));
	config_free(&conf);
	sink_stop(&sink);

	/* a server that stops answering after DATA */
	sink_start(&sink, "--stall", "message", NULL);
	conf = smtp_conf(&sink, CONF_SUBMISSION_TLS_STARTTLS);
	conf->submission_timeout = 1;
	send_fails(conf, SUBMIT_ERR_TEMP, "timed out after 1 s");
	config_free(&conf);
	sink_stop(&sink);
}

static void test_smtp_no_server(void **state)
{
	(void)state;
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sink fake = { 0 };
	struct roost_config *conf;

	/* a port that was free a moment ago */
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	fake.port = ntohs(sin.sin_port);
	conf = smtp_conf(&fake, CONF_SUBMISSION_TLS_STARTTLS);
	send_fails(conf, SUBMIT_ERR_TEMP, "connect: Connection refused");
	free(conf->submission_host);
	conf->submission_host = xstrdup("host.invalid");
	send_fails(conf, SUBMIT_ERR_TEMP, "cannot resolve the host");
	config_free(&conf);
}

static void test_smtp_auth(void **state)
{
	(void)state;
	struct sink sink;
	struct roost_config *conf;

	sink_start(&sink, "--auth", "relay:s3cret", "--tls-cert", cert_path, "--tls-key",
		   key_path, NULL);
	conf = smtp_conf(&sink, CONF_SUBMISSION_TLS_STARTTLS);
	free(conf->submission_user);
	conf->submission_user = xstrdup("relay");
	free(conf->submission_password);
	conf->submission_password = xstrdup("s3cret");
	send_ok(conf, "me@example.org");
	assert_recorded(&sink, 1, "\"auth\": \"relay\"", "\"tls\": true", NULL);
	/* plain text to a loopback address is allowed */
	conf->submission_tls = CONF_SUBMISSION_TLS_NO;
	send_ok(conf, "me@example.org");
	assert_recorded(&sink, 2, "\"auth\": \"relay\"", "\"tls\": false", NULL);
	/* a wrong password: refused, and the error does not show it */
	free(conf->submission_password);
	conf->submission_password = xstrdup("wrong");
	enum submit_error class;
	char *error;
	assert_int_equal(submit_send(conf, "", rcpts, 1, message, sizeof(message) - 1, &class,
				     &error), -1);
	assert_int_equal(class, SUBMIT_ERR_PERM);
	assert_non_null(strstr(error, "AUTH PLAIN (as submission_user): 535 5.7.8"));
	assert_null(strstr(error, "wrong"));
	assert_null(strstr(error, "AHJlbGF5AHdyb25n"));	/* base64 of it */
	free(error);
	assert_null(sink_file(&sink, 3, "json"));
	config_free(&conf);
	sink_stop(&sink);

	/* a server without AUTH */
	sink_start(&sink, NULL);
	conf = smtp_conf(&sink, CONF_SUBMISSION_TLS_STARTTLS);
	free(conf->submission_user);
	conf->submission_user = xstrdup("relay");
	send_fails(conf, SUBMIT_ERR_PERM, "does not offer AUTH PLAIN");
	config_free(&conf);
	sink_stop(&sink);
}

/* ---- sendmail_path ---- */

/* A sendmail stand-in: records its arguments (one a line) and its
 * standard input beside itself, then does what the file "mode" says. */
static const char sendmail_script[] =
	"#!/bin/sh\n"
	"d=$(dirname \"$0\")\n"
	"printf '%s\\n' \"$@\" > \"$d/args\"\n"
	"mode=$(cat \"$d/mode\" 2>/dev/null)\n"
	"if [ \"$mode\" = noread ]; then exit 0; fi\n"
	"cat > \"$d/stdin\"\n"
	"case \"$mode\" in\n"
	"temp) echo 'queue file write error' >&2; exit 75;;\n"
	"perm) echo 'user unknown' >&2; echo 'second line' >&2; exit 67;;\n"
	"sleep) exec sleep 30;;\n"
	"esac\n"
	"exit 0\n";

static struct roost_config *sendmail_conf(const char *mode)
{
	char *error, *path = testlib_path("sendmail"), *mode_path = testlib_path("mode");
	struct roost_config *conf = config_load(NULL, &error);

	testlib_write_file(path, sendmail_script, sizeof(sendmail_script) - 1);
	assert_int_equal(chmod(path, 0755), 0);
	testlib_write_file(mode_path, mode, strlen(mode));
	free(conf->sendmail_path);
	conf->sendmail_path = path;
	conf->submission_timeout = 5;
	free(mode_path);
	return conf;
}

static char *recorded(const char *name)
{
	char *path = testlib_path(name);
	char *text = testlib_read_file(path);

	free(path);
	return text;
}

static void test_sendmail(void **state)
{
	(void)state;
	struct roost_config *conf = sendmail_conf("ok");
	char *text;

	send_ok(conf, "me@example.org");
	text = recorded("args");
	assert_string_equal(text, "-i\n-f\nme@example.org\n--\na@example.com\nb@example.com\n");
	free(text);
	/* LF line ends, dots as they are (-i) */
	text = recorded("stdin");
	assert_string_equal(text, message);
	free(text);
	/* the null sender */
	send_ok(conf, "");
	text = recorded("args");
	assert_string_equal(text, "-i\n-f\n<>\n--\na@example.com\nb@example.com\n");
	free(text);
	/* CRLF in, LF out; a missing final line end added */
	enum submit_error class;
	char *error;
	assert_int_equal(submit_send(conf, "", rcpts, 1, "A: b\r\n\r\nbody\r\nend", 17, &class,
				     &error), 0);
	text = recorded("stdin");
	assert_string_equal(text, "A: b\n\nbody\nend\n");
	free(text);
	/* submission_host wins over sendmail_path */
	free(conf->submission_host);
	conf->submission_host = xstrdup("host.invalid");
	conf->submission_port = 25;
	send_fails(conf, SUBMIT_ERR_TEMP, "submission_host host.invalid:25");
	config_free(&conf);
}

static void test_sendmail_failures(void **state)
{
	(void)state;
	struct roost_config *conf;

	conf = sendmail_conf("temp");
	send_fails(conf, SUBMIT_ERR_TEMP, "exit status 75: queue file write error");
	config_free(&conf);

	conf = sendmail_conf("perm");
	send_fails(conf, SUBMIT_ERR_PERM, "exit status 67: user unknown second line");
	config_free(&conf);

	conf = sendmail_conf("sleep");
	conf->submission_timeout = 1;
	send_fails(conf, SUBMIT_ERR_TEMP, "timed out after 1 s");
	config_free(&conf);

	conf = sendmail_conf("ok");
	free(conf->sendmail_path);
	conf->sendmail_path = testlib_path("no-such-program");
	send_fails(conf, SUBMIT_ERR_PERM, "exit status 127: cannot execute");
	config_free(&conf);

	/* exits 0 without reading a message larger than a pipe holds */
	conf = sendmail_conf("noread");
	size_t big_len = 4 * 1024 * 1024;
	char *big = xmalloc(big_len);
	memset(big, 'x', big_len);
	big[0] = 'A';
	big[1] = ':';
	enum submit_error class;
	char *error;
	assert_int_equal(submit_send(conf, "", rcpts, 1, big, big_len, &class, &error), -1);
	assert_int_equal(class, SUBMIT_ERR_TEMP);
	assert_non_null(strstr(error, "writing the message"));
	free(error);
	free(big);
	config_free(&conf);
}

/* ---- before any sending ---- */

static void test_not_configured_and_bad_addresses(void **state)
{
	(void)state;
	char *error;
	struct roost_config *conf = config_load(NULL, &error);
	enum submit_error class;
	static const char *const bad[] = { "a@example.com", "b c@example.com" };

	send_fails(conf, SUBMIT_ERR_NOT_CONFIGURED, "not configured");
	assert_int_equal(submit_send(conf, "", rcpts, 0, "x", 1, &class, &error), -1);
	assert_int_equal(class, SUBMIT_ERR_PERM);
	free(error);
	assert_int_equal(submit_send(conf, "<>", rcpts, 1, "x", 1, &class, &error), -1);
	assert_int_equal(class, SUBMIT_ERR_PERM);
	assert_string_equal(error, "invalid sender address: <>");
	free(error);
	assert_int_equal(submit_send(conf, "", bad, 2, "x", 1, &class, &error), -1);
	assert_int_equal(class, SUBMIT_ERR_PERM);
	assert_string_equal(error, "invalid recipient address: b c@example.com");
	free(error);
	config_free(&conf);
}

static int setup(void **state)
{
	(void)state;
	char *cmd;
	int ret;

	if (testlib_dir_create("submit-send") < 0)
		return -1;
	cert_path = testlib_path("cert.pem");
	key_path = testlib_path("key.pem");
	/* a certificate for 127.0.0.1, its own CA */
	cmd = xasprintf("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
			"-addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' "
			">/dev/null 2>&1", key_path, cert_path);
	ret = system(cmd);
	free(cmd);
	/* SIGPIPE keeps its default action here (a server ignores it):
	 * submit_send() must not die of a peer that went away */
	return ret == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	free(cert_path);
	free(key_path);
	testlib_dir_remove();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_smtp_plain),
		cmocka_unit_test(test_smtp_starttls),
		cmocka_unit_test(test_smtp_starttls_refused),
		cmocka_unit_test(test_smtp_tls_verified),
		cmocka_unit_test(test_smtp_errors),
		cmocka_unit_test(test_smtp_helo_only),
		cmocka_unit_test(test_smtp_size_and_timeout),
		cmocka_unit_test(test_smtp_no_server),
		cmocka_unit_test(test_smtp_auth),
		cmocka_unit_test(test_sendmail),
		cmocka_unit_test(test_sendmail_failures),
		cmocka_unit_test(test_not_configured_and_bad_addresses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
