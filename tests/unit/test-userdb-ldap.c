/* test-userdb-ldap.c: the LDAP source of the user database
 * (auth/userdb-ldap.c) on its own, against a real slapd that
 * tests/lib/slapd.py runs (with its standard_people()), without an event
 * loop: every request is answered inline, as in `roost deliver`; and,
 * last, with a worker loop (net_worker_init()), where the source's
 * threads answer through the loop, as in the server (which
 * tests/protocol/test_ldap.py covers end to end).
 *
 * Lookups by uid and by mail address, several matches, binds and the
 * password attribute, empty passwords, injection in names, the cache and
 * its TTL, an outage and the recovery, StartTLS, and settings that
 * create() must refuse. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/userdb.h"
#include "base/base.h"
#include "base/log.h"
#include "conf/conf.h"
#include "net/net-private.h"
#include "testlib.h"

struct slapd {
	pid_t pid;
	int in_fd, out_fd;
	unsigned int port;
	char ca[512], other_ca[512], ldaps_uri[512];
};

static void slapd_read_line(struct slapd *s, char *line, size_t size)
{
	size_t got = 0;
	struct pollfd pfd = { .fd = s->out_fd, .events = POLLIN };

	while (got < size - 1) {
		assert_int_equal(poll(&pfd, 1, 60000), 1);
		char c;
		if (read(s->out_fd, &c, 1) != 1)
			fail_msg("slapd.py ended");
		if (c == '\n')
			break;
		line[got++] = c;
	}
	line[got] = '\0';
}

static void slapd_start(struct slapd *s, bool tls)
{
	int in[2], out[2];
	char line[1024];

	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execlp("python3", "python3", SLAPD_PY, tls ? "--tls" : "--plain", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	s->in_fd = in[1];
	s->out_fd = out[0];
	slapd_read_line(s, line, sizeof(line));
	char ca[512], other[512];
	if (sscanf(line, "%u %511s %511s %511s", &s->port, ca, other, s->ldaps_uri) != 4)
		fail_msg("slapd.py did not start: %s", line);
	snprintf(s->ca, sizeof(s->ca), "%s", strcmp(ca, "-") == 0 ? "" : ca);
	snprintf(s->other_ca, sizeof(s->other_ca), "%s", strcmp(other, "-") == 0 ? "" : other);
}

static void slapd_command(struct slapd *s, const char *cmd)
{
	char line[1024];
	assert_true(write(s->in_fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
	assert_true(write(s->in_fd, "\n", 1) == 1);
	slapd_read_line(s, line, sizeof(line));
	if (strcmp(line, "ok") != 0)
		fail_msg("slapd.py %s: %s", cmd, line);
}

static void slapd_stop(struct slapd *s)
{
	int status;
	close(s->in_fd);
	close(s->out_fd);
	assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
}

static struct slapd plain_slapd;

static void expect_create_error(struct roost_config *c, const char *want);

static struct roost_config *ldap_config(const struct slapd *s, const char *auth)
{
	char *error = NULL;
	struct roost_config *c = config_load(NULL, &error);
	assert_non_null(c);
	free(c->ldap_uri);
	c->ldap_uri = xasprintf("ldap://127.0.0.1:%u", s->port);
	free(c->ldap_base);
	c->ldap_base = xstrdup("dc=example,dc=test");
	free(c->ldap_bind_dn);
	c->ldap_bind_dn = xstrdup("cn=roost,dc=example,dc=test");
	free(c->ldap_bind_password);
	c->ldap_bind_password = xstrdup("servicepw");
	free(c->ldap_auth);
	c->ldap_auth = xstrdup(auth);
	c->ldap_timeout = 3;
	return c;
}

struct answer {
	bool called;
	enum userdb_result result;
	char user[256];
	char password[512];
	bool has_password;
};

static void answer_cb(enum userdb_result result, const struct userdb_entry *entry, void *ctx)
{
	struct answer *a = ctx;
	assert_false(a->called);
	a->called = true;
	a->result = result;
	if (result == USERDB_OK) {
		assert_non_null(entry);
		assert_string_equal(entry->source, "ldap");
		assert_non_null(entry->credentials);
		snprintf(a->user, sizeof(a->user), "%s", entry->user);
		a->has_password = entry->password != NULL;
		if (entry->password != NULL)
			snprintf(a->password, sizeof(a->password), "%s", entry->password);
	} else {
		assert_null(entry);
	}
}

static struct answer lookup(void *src, const char *user)
{
	struct answer a = { 0 };
	struct userdb_source_request *req =
		userdb_source_ldap.lookup(src, user, answer_cb, &a);
	assert_null(req);
	assert_true(a.called);
	return a;
}

static struct answer verify(void *src, const char *user, const char *password)
{
	struct answer a = { 0 };
	struct userdb_source_request *req =
		userdb_source_ldap.verify_password(src, user, password, answer_cb, &a);
	assert_null(req);
	assert_true(a.called);
	return a;
}

static void *source_create(const struct roost_config *c)
{
	char *error = NULL;
	void *src = userdb_source_ldap.create(c, "", &error);
	if (src == NULL)
		fail_msg("create: %s", error);
	return src;
}

static void expect_user(void *src, const char *name, const char *canonical)
{
	struct answer a = lookup(src, name);
	if (a.result != USERDB_OK)
		fail_msg("%s: result %d", name, (int)a.result);
	assert_string_equal(a.user, canonical);
}

static void test_lookup(void **state)
{
	(void)state;
	struct roost_config *c = ldap_config(&plain_slapd, "bind");
	void *src = source_create(c);

	expect_user(src, "alice", "alice");
	expect_user(src, "alice@example.test", "alice");
	expect_user(src, "a.liddell@example.test", "alice");
	expect_user(src, "bob@example.test", "bob");
	assert_int_equal(lookup(src, "nobody").result, USERDB_NOT_FOUND);
	assert_int_equal(lookup(src, "").result, USERDB_NOT_FOUND);
	/* one address on two entries: not a user, a directory error */
	assert_int_equal(lookup(src, "twins@example.test").result, USERDB_TEMPFAIL);
	/* with ldap_auth = bind no password is read */
	struct answer a = lookup(src, "bob");
	assert_false(a.has_password);

	userdb_source_ldap.destroy(src);
	config_free(&c);
}

static void test_injection(void **state)
{
	(void)state;
	struct roost_config *c = ldap_config(&plain_slapd, "bind");
	c->ldap_cache_ttl = 0;
	void *src = source_create(c);
	static const char *const names[] = {
		"*", "a*", "*)(uid=*", ")(uid=*", "alice)(uid=*", "*)(|(uid=*",
		"alice)(|(objectClass=*", "\\2a", "alice\\29", "al(ice", "alice*",
		"(uid=alice)", "%u", "alice\x01", "alice@example.test)(mail=*",
		"*@example.test", "twin*", "\xff\xfe",
	};

	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		struct answer a = lookup(src, names[i]);
		if (a.result != USERDB_NOT_FOUND)
			fail_msg("%s: result %d", names[i], (int)a.result);
		a = verify(src, names[i], "alicepw");
		if (a.result != USERDB_NOT_FOUND)
			fail_msg("verify %s: result %d", names[i], (int)a.result);
	}
	userdb_source_ldap.destroy(src);
	config_free(&c);
}

static void test_verify_bind(void **state)
{
	(void)state;
	struct roost_config *c = ldap_config(&plain_slapd, "bind");
	void *src = source_create(c);

	struct answer a = verify(src, "alice", "alicepw");
	assert_int_equal(a.result, USERDB_OK);
	assert_string_equal(a.user, "alice");
	a = verify(src, "a.liddell@example.test", "alicepw");
	assert_int_equal(a.result, USERDB_OK);
	assert_string_equal(a.user, "alice");
	assert_int_equal(verify(src, "alice", "alicepw ").result, USERDB_FAILED);
	assert_int_equal(verify(src, "alice", "bobpw").result, USERDB_FAILED);
	/* RFC 4513 5.1.2: never an unauthenticated bind */
	assert_int_equal(verify(src, "alice", "").result, USERDB_FAILED);
	assert_int_equal(verify(src, "dave", "").result, USERDB_FAILED);
	assert_int_equal(verify(src, "dave", "x").result, USERDB_FAILED);
	assert_int_equal(verify(src, "nobody", "x").result, USERDB_NOT_FOUND);
	/* bob's userPassword is {PLAIN}bobpw, a scheme slapd does not
	 * know: no bind succeeds */
	assert_int_equal(verify(src, "bob", "bobpw").result, USERDB_FAILED);
	assert_int_equal(verify(src, "bob", "{PLAIN}bobpw").result, USERDB_FAILED);

	userdb_source_ldap.destroy(src);
	config_free(&c);
}

static void test_verify_password_attr(void **state)
{
	(void)state;
	struct roost_config *c = ldap_config(&plain_slapd, "password");
	void *src = source_create(c);

	struct answer a = verify(src, "bob", "bobpw");
	assert_int_equal(a.result, USERDB_OK);
	assert_true(a.has_password);
	assert_string_equal(a.password, "{PLAIN}bobpw");
	assert_int_equal(verify(src, "bob", "bobpw2").result, USERDB_FAILED);
	assert_int_equal(verify(src, "carol@example.test", "carolpw").result, USERDB_OK);
	assert_int_equal(verify(src, "carol", "carol").result, USERDB_FAILED);
	assert_int_equal(verify(src, "dave", "x").result, USERDB_FAILED);
	assert_int_equal(verify(src, "bob", "").result, USERDB_FAILED);
	/* alice's is cleartext without a scheme: a bare value is CRYPT, as
	 * in a passwd-file, so "alicepw" is a DES hash that does not match */
	assert_int_equal(verify(src, "alice", "alicepw").result, USERDB_FAILED);
	/* OpenLDAP's schemes, as slappasswd makes them */
	static const char *const sha_users[] = { "heidi", "ivan", "judy", "ken" };
	for (size_t i = 0; i < N_ELEMENTS(sha_users); i++) {
		char *pw = xasprintf("%spw", sha_users[i]);
		assert_int_equal(verify(src, sha_users[i], pw).result, USERDB_OK);
		assert_int_equal(verify(src, sha_users[i], "heidipw ").result, USERDB_FAILED);
		pw[0] = 'X';
		assert_int_equal(verify(src, sha_users[i], pw).result, USERDB_FAILED);
		free(pw);
	}
	/* a scheme Roost does not know is the server's problem, not a
	 * wrong password */
	assert_int_equal(verify(src, "leo", "leopw").result, USERDB_TEMPFAIL);
	a = lookup(src, "carol");
	assert_int_equal(a.result, USERDB_OK);
	assert_true(strncmp(a.password, "{CRYPT}$6$", 10) == 0);
	userdb_source_ldap.destroy(src);
	config_free(&c);

	/* anonymous searches cannot read userPassword (the ACL): no login */
	c = ldap_config(&plain_slapd, "password");
	free(c->ldap_bind_dn);
	c->ldap_bind_dn = xstrdup("");
	free(c->ldap_bind_password);
	c->ldap_bind_password = xstrdup("");
	src = source_create(c);
	assert_int_equal(verify(src, "bob", "bobpw").result, USERDB_FAILED);
	expect_user(src, "bob", "bob");
	userdb_source_ldap.destroy(src);
	config_free(&c);

	/* a wrong service password: every request is a temporary failure */
	c = ldap_config(&plain_slapd, "password");
	free(c->ldap_bind_password);
	c->ldap_bind_password = xstrdup("wrong");
	src = source_create(c);
	assert_int_equal(lookup(src, "bob").result, USERDB_TEMPFAIL);
	assert_int_equal(verify(src, "bob", "bobpw").result, USERDB_TEMPFAIL);
	userdb_source_ldap.destroy(src);
	config_free(&c);
}

static void test_cache(void **state)
{
	(void)state;
	struct roost_config *c = ldap_config(&plain_slapd, "bind");
	c->ldap_cache_ttl = 2;
	void *src = source_create(c);
	struct roost_config *c0 = ldap_config(&plain_slapd, "bind");
	c0->ldap_cache_ttl = 0;
	void *uncached = source_create(c0);

	slapd_command(&plain_slapd, "add erin erinpw");
	slapd_command(&plain_slapd, "add frank frankpw");
	assert_int_equal(verify(src, "erin", "erinpw").result, USERDB_OK);
	expect_user(src, "frank", "frank");
	assert_int_equal(lookup(src, "gina").result, USERDB_NOT_FOUND);
	slapd_command(&plain_slapd, "delete erin");
	slapd_command(&plain_slapd, "delete frank");
	slapd_command(&plain_slapd, "add gina ginapw");

	/* within the TTL: what was found, and the accepted password */
	assert_int_equal(lookup(uncached, "erin").result, USERDB_NOT_FOUND);
	assert_int_equal(verify(src, "erin", "erinpw").result, USERDB_OK);
	expect_user(src, "frank", "frank");
	assert_int_equal(lookup(src, "gina").result, USERDB_NOT_FOUND);
	/* a password that was not accepted goes to the directory */
	assert_int_equal(verify(src, "erin", "other").result, USERDB_NOT_FOUND);

	sleep(3);
	assert_int_equal(verify(src, "erin", "erinpw").result, USERDB_NOT_FOUND);
	assert_int_equal(lookup(src, "frank").result, USERDB_NOT_FOUND);
	expect_user(src, "gina", "gina");

	/* reload drops the cache */
	slapd_command(&plain_slapd, "delete gina");
	assert_int_equal(lookup(src, "gina").result, USERDB_OK);
	userdb_source_ldap.reload(src);
	assert_int_equal(lookup(src, "gina").result, USERDB_NOT_FOUND);

	userdb_source_ldap.destroy(src);
	userdb_source_ldap.destroy(uncached);
	config_free(&c);
	config_free(&c0);
}

static void test_outage(void **state)
{
	(void)state;
	struct roost_config *c = ldap_config(&plain_slapd, "bind");
	c->ldap_cache_ttl = 0;
	void *src = source_create(c);

	assert_int_equal(verify(src, "alice", "alicepw").result, USERDB_OK);
	slapd_command(&plain_slapd, "stop");
	assert_int_equal(lookup(src, "alice").result, USERDB_TEMPFAIL);
	assert_int_equal(verify(src, "alice", "alicepw").result, USERDB_TEMPFAIL);
	assert_int_equal(lookup(src, "nobody").result, USERDB_TEMPFAIL);
	slapd_command(&plain_slapd, "start");
	/* back within the backoff (5 s at most) */
	time_t deadline = time(NULL) + 10;
	enum userdb_result r;
	while ((r = verify(src, "alice", "alicepw").result) == USERDB_TEMPFAIL &&
	       time(NULL) < deadline)
		usleep(200 * 1000);
	assert_int_equal(r, USERDB_OK);
	userdb_source_ldap.destroy(src);
	config_free(&c);
}

/* Failover: the first URI is dead, the second answers. */
static void test_failover(void **state)
{
	(void)state;
	struct roost_config *c = ldap_config(&plain_slapd, "bind");
	free(c->ldap_uri);
	c->ldap_uri = xasprintf("ldap://127.0.0.1:1 ldap://127.0.0.1:%u", plain_slapd.port);
	void *src = source_create(c);
	assert_int_equal(verify(src, "alice", "alicepw").result, USERDB_OK);
	userdb_source_ldap.destroy(src);
	config_free(&c);
}

static void test_starttls(void **state)
{
	(void)state;
	struct slapd tls;
	slapd_start(&tls, true);

	struct roost_config *c = ldap_config(&tls, "bind");
	c->ldap_starttls = true;
	free(c->ldap_tls_ca);
	c->ldap_tls_ca = xstrdup(tls.ca);
	void *src = source_create(c);
	assert_int_equal(verify(src, "alice", "alicepw").result, USERDB_OK);
	assert_int_equal(verify(src, "alice", "x").result, USERDB_FAILED);
	expect_user(src, "bob@example.test", "bob");
	userdb_source_ldap.destroy(src);

	/* slapd requires TLS: without StartTLS nothing works */
	c->ldap_starttls = false;
	src = source_create(c);
	assert_int_equal(verify(src, "alice", "alicepw").result, USERDB_TEMPFAIL);
	userdb_source_ldap.destroy(src);

	/* ldaps://: TLS from the start, StartTLS refused with it */
	free(c->ldap_uri);
	c->ldap_uri = xstrdup(tls.ldaps_uri);
	src = source_create(c);
	assert_int_equal(verify(src, "alice", "alicepw").result, USERDB_OK);
	userdb_source_ldap.destroy(src);
	c->ldap_starttls = true;
	expect_create_error(c, "ldap_starttls");
	free(c->ldap_uri);
	c->ldap_uri = xasprintf("ldap://127.0.0.1:%u", tls.port);

	/* a CA that did not sign slapd's certificate */
	c->ldap_starttls = true;
	free(c->ldap_tls_ca);
	c->ldap_tls_ca = xstrdup(tls.other_ca);
	src = source_create(c);
	assert_int_equal(lookup(src, "alice").result, USERDB_TEMPFAIL);
	userdb_source_ldap.destroy(src);
	config_free(&c);
	slapd_stop(&tls);
}


/* ---- with a worker loop: threads, the done queue, abort, destroy ---- */

struct loop_answer {
	struct answer a;
	unsigned int *remaining;
};

static void loop_answer_cb(enum userdb_result result, const struct userdb_entry *entry,
			   void *ctx)
{
	struct loop_answer *la = ctx;
	answer_cb(result, entry, &la->a);
	if (--*la->remaining == 0)
		net_worker_stop();
}

static void test_threads_with_loop(void **state)
{
	(void)state;
	static const struct {
		const char *user, *password;	/* NULL password: lookup */
		enum userdb_result want;
		const char *canonical;
	} cases[] = {
		{ "alice", "alicepw", USERDB_OK, "alice" },
		{ "alice", "wrong", USERDB_FAILED, NULL },
		{ "a.liddell@example.test", "alicepw", USERDB_OK, "alice" },
		{ "bob@example.test", NULL, USERDB_OK, "bob" },
		{ "nobody", NULL, USERDB_NOT_FOUND, NULL },
		{ "nobody", "x", USERDB_NOT_FOUND, NULL },
		{ "*)(uid=*", "alicepw", USERDB_NOT_FOUND, NULL },
		{ "alice", "", USERDB_FAILED, NULL },
	};
	enum { ROUNDS = 6, ABORTED = 9 };
	struct loop_answer answers[ROUNDS * N_ELEMENTS(cases)];
	struct userdb_source_request *reqs[N_ELEMENTS(answers)];
	unsigned int remaining = 0;

	net_worker_init();
	struct roost_config *c = ldap_config(&plain_slapd, "bind");
	c->ldap_pool_size = 3;
	void *src = source_create(c);

	memset(answers, 0, sizeof(answers));
	for (size_t i = 0; i < N_ELEMENTS(answers); i++) {
		size_t k = i % N_ELEMENTS(cases);
		answers[i].remaining = &remaining;
		if (cases[k].password == NULL)
			reqs[i] = userdb_source_ldap.lookup(src, cases[k].user, loop_answer_cb,
							    &answers[i]);
		else
			reqs[i] = userdb_source_ldap.verify_password(
				src, cases[k].user, cases[k].password, loop_answer_cb, &answers[i]);
		/* never answered inside the call, cache hits included */
		assert_non_null(reqs[i]);
		assert_false(answers[i].a.called);
		remaining++;
	}
	userdb_source_ldap.abort(reqs[ABORTED]);
	remaining--;
	assert_int_equal(net_worker_run(), 0);
	assert_int_equal(remaining, 0);
	for (size_t i = 0; i < N_ELEMENTS(answers); i++) {
		size_t k = i % N_ELEMENTS(cases);
		if (i == ABORTED) {
			assert_false(answers[i].a.called);
			continue;
		}
		assert_true(answers[i].a.called);
		if (answers[i].a.result != cases[k].want)
			fail_msg("%zu %s: result %d, want %d", i, cases[k].user,
				 (int)answers[i].a.result, (int)cases[k].want);
		if (cases[k].canonical != NULL)
			assert_string_equal(answers[i].a.user, cases[k].canonical);
	}

	/* destroyed with requests queued and running: no callback, no leak */
	for (size_t i = 0; i < 8; i++) {
		answers[i].a.called = false;
		reqs[i] = userdb_source_ldap.lookup(src, i % 2 == 0 ? "alice" : "new-name",
						    loop_answer_cb, &answers[i]);
	}
	userdb_source_ldap.destroy(src);
	for (size_t i = 0; i < 8; i++)
		assert_false(answers[i].a.called);

	/* an outage answers every queued request TEMPFAIL, through the loop */
	c->ldap_cache_ttl = 0;
	src = source_create(c);
	slapd_command(&plain_slapd, "stop");
	remaining = 0;
	for (size_t i = 0; i < 10; i++) {
		answers[i].a.called = false;
		reqs[i] = userdb_source_ldap.verify_password(src, "alice", "alicepw",
							     loop_answer_cb, &answers[i]);
		assert_non_null(reqs[i]);
		remaining++;
	}
	assert_int_equal(net_worker_run(), 0);
	for (size_t i = 0; i < 10; i++)
		assert_int_equal(answers[i].a.result, USERDB_TEMPFAIL);
	slapd_command(&plain_slapd, "start");
	userdb_source_ldap.destroy(src);

	config_free(&c);
	net_worker_deinit();
}

static void expect_create_error(struct roost_config *c, const char *want)
{
	char *error = NULL;
	assert_null(userdb_source_ldap.create(c, "", &error));
	assert_non_null(error);
	if (strstr(error, want) == NULL)
		fail_msg("error %s, want %s", error, want);
	free(error);
}

static void test_bad_settings(void **state)
{
	(void)state;
	struct roost_config *c = ldap_config(&plain_slapd, "bind");
	char *error = NULL;

	assert_null(userdb_source_ldap.create(c, "x", &error));
	free(error);
#define SET(field, value) do { free(c->field); c->field = xstrdup(value); } while (0)
	SET(ldap_uri, "");
	expect_create_error(c, "ldap_uri");
	SET(ldap_uri, "http://x");
	expect_create_error(c, "ldap_uri");
	SET(ldap_uri, "ldaps://x");
	c->ldap_starttls = true;
	expect_create_error(c, "ldap_starttls");
	c->ldap_starttls = false;
	SET(ldap_uri, "ldap://x");
	SET(ldap_base, "");
	expect_create_error(c, "ldap_base");
	SET(ldap_base, "dc=x");
	SET(ldap_scope, "deep");
	expect_create_error(c, "ldap_scope");
	SET(ldap_scope, "onelevel");
	SET(ldap_auth, "guess");
	expect_create_error(c, "ldap_auth");
	SET(ldap_auth, "password");
	SET(ldap_user_filter, "(uid=%x)");
	expect_create_error(c, "ldap_user_filter");
	SET(ldap_user_filter, "(uid=%u");
	expect_create_error(c, "ldap_user_filter");
	SET(ldap_user_filter, "(uid=%u)");
	SET(ldap_bind_password_file, "/nonexistent/pw");
	expect_create_error(c, "ldap_bind_password_file");

	/* the password from a file, its line end dropped */
	char *pwfile = testlib_path("pw");
	testlib_write_file(pwfile, "servicepw\n", 10);
	struct roost_config *ok = ldap_config(&plain_slapd, "password");
	free(ok->ldap_bind_password);
	ok->ldap_bind_password = xstrdup("");
	SET(ldap_bind_password_file, pwfile);
	free(ok->ldap_bind_password_file);
	ok->ldap_bind_password_file = xstrdup(pwfile);
	void *src = source_create(ok);
	assert_int_equal(verify(src, "bob", "bobpw").result, USERDB_OK);
	userdb_source_ldap.destroy(src);
	free(pwfile);
#undef SET
	config_free(&ok);
	config_free(&c);
}

static int setup(void **state)
{
	(void)state;
	if (testlib_dir_create("userdb-ldap") < 0)
		return -1;
	slapd_start(&plain_slapd, false);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	slapd_stop(&plain_slapd);
	testlib_dir_remove();
	return 0;
}

int main(void)
{
	log_init("test-userdb-ldap", false, LOG_LEVEL_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_verify_bind),
		cmocka_unit_test(test_verify_password_attr),
		cmocka_unit_test(test_cache),
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_bad_settings),
		cmocka_unit_test(test_outage),
		/* last: afterwards the process has a loop */
		cmocka_unit_test(test_threads_with_loop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
