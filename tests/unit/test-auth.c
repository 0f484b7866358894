/* test-auth.c: throttling and asynchronous auth requests.
 *
 * The net functions auth.c uses (net_job_run, net_timer_*) are replaced
 * here by fakes, so the tests decide when a "helper thread" finishes and
 * when a timer fires: that is how aborts in the middle of a hash or of a
 * delay are tested.  The fake job runner works inline by default, as the
 * real net_job_run does when no pool is running. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth.h"
#include "auth/auth-throttle.h"
#include "auth/sasl.h"
#include "base/log.h"
#include "base/str.h"
#include "conf/conf.h"
#include "net/net.h"
#include "testlib.h"

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

static int setup_dir(void **state)
{
	(void)state;
	log_init("test-auth", false, LOG_LEVEL_ERROR);
	return testlib_dir_create("auth");
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
	/* IPv4-mapped: the IPv4 address, not "::/64" shared by all of them */
	assert_string_equal(auth_throttle_ip_key("::ffff:192.0.2.1", buf), "192.0.2.1");
	assert_string_equal(auth_throttle_ip_key("[::ffff:192.0.2.1]", buf), "192.0.2.1");
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

/* Failures per address and per user: an attacker who alternates a known
 * good login with guesses at another account keeps his delay growing,
 * and a success clears only its own user's failures from its own
 * address. */
static void test_auth_throttle_logins(void **state)
{
	(void)state;
	struct auth_throttle *t = auth_throttle_create(100, 600);
	uint64_t now = 1000000;

	/* alternate: demo (right password) and alice (a guess), one address */
	for (unsigned int i = 1; i <= 6; i++) {
		auth_throttle_login_succeeded(t, "192.0.2.1", "demo", now);
		assert_int_equal(auth_throttle_login_failed(t, "192.0.2.1", "alice", now), i);
		now += 10;
	}
	assert_int_equal(auth_throttle_ip_failures(t, "192.0.2.1", now), 6);
	assert_int_equal(auth_throttle_user_failures(t, "alice", now), 6);
	assert_int_equal(auth_throttle_user_failures(t, "demo", now), 0);
	/* the next attempt, for any user, waits out the 6th delay (8 s) */
	assert_int_equal(auth_throttle_login_wait_ms(t, "192.0.2.1", "demo", now - 10, 15),
			 8000);
	/* demo's own typo counts for the address too: its delay follows the
	 * address's 7 failures */
	assert_int_equal(auth_throttle_login_failed(t, "192.0.2.1", "demo", now), 7);
	/* and demo's success takes back only demo's one */
	auth_throttle_login_succeeded(t, "192.0.2.1", "Demo", now);
	assert_int_equal(auth_throttle_ip_failures(t, "192.0.2.1", now), 6);
	assert_int_equal(auth_throttle_user_failures(t, "demo", now), 0);

	/* one user tried from many addresses: the user's count grows */
	char ip[32];
	for (unsigned int i = 1; i <= 5; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%u", i);
		/* the user name is compared without case */
		assert_int_equal(auth_throttle_login_failed(t, ip, i % 2 ? "BOB" : "bob", now),
				 i);
		assert_int_equal(auth_throttle_ip_failures(t, ip, now), 1);
	}
	assert_int_equal(auth_throttle_login_wait_ms(t, "203.0.113.9", "bob", now, 15), 4000);
	assert_int_equal(auth_throttle_login_wait_ms(t, "203.0.113.9", "carol", now, 15), 0);
	/* bob logs in from a sixth address: the guesses stay */
	auth_throttle_login_succeeded(t, "198.51.100.6", "bob", now);
	assert_int_equal(auth_throttle_user_failures(t, "bob", now), 5);
	/* from the first: that address's one guess goes */
	auth_throttle_login_succeeded(t, "198.51.100.1", "bob", now);
	assert_int_equal(auth_throttle_user_failures(t, "bob", now), 4);
	assert_int_equal(auth_throttle_ip_failures(t, "198.51.100.1", now), 0);
	assert_int_equal(auth_throttle_ip_failures(t, "198.51.100.2", now), 1);

	/* shared with processes forked afterwards (the workers) */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned int n = auth_throttle_login_failed(t, "192.0.2.1", "alice", now);
		_exit(n == 7 ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(auth_throttle_user_failures(t, "alice", now), 7);
	assert_int_equal(auth_throttle_login_failed(t, "192.0.2.1", "alice", now), 8);
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
	char *path = testlib_path("auth-users");
	testlib_write_file(path, AUTH_TEST_USERS, strlen(AUTH_TEST_USERS));
	struct roost_config *config = auth_test_config(path, 0);
	struct auth *auth = auth_create(config);
	struct auth_test_result r;

	static const struct {
		const char *user, *password;
		enum auth_result result;
	} cases[] = {
		{ "plain@example.org", "right", AUTH_RESULT_OK },
		{ "plain@example.org", "wrong", AUTH_RESULT_FAILED },
		{ "plain@example.org", "", AUTH_RESULT_FAILED },
		/* names are lowercased: the answer carries that form */
		{ "PLAIN@Example.ORG", "right", AUTH_RESULT_OK },
		{ "Plain@example.org", "wrong", AUTH_RESULT_FAILED },
		{ "plain@example.org@_", "right", AUTH_RESULT_FAILED },
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
		char *want = xstrdup(cases[i].user);
		auth_user_normalize(want);
		assert_string_equal(r.user, want);
		free(want);
	}
	/* an overlong password fails without a hash */
	char *long_pw = xcalloc(1, 1026);
	memset(long_pw, 'p', 1025);
	memset(&r, 0, sizeof(r));
	assert_null(auth_verify_plain(auth, "sha", long_pw, NULL, auth_test_callback, &r));
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.result, AUTH_RESULT_FAILED);
	free(long_pw);

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
	auth_test_config_free(config);	/* kept by the auth until here */
	free(path);
}

static void test_auth_verify_async_and_abort(void **state)
{
	(void)state;
	char *path = testlib_path("auth-async");
	testlib_write_file(path, AUTH_TEST_USERS, strlen(AUTH_TEST_USERS));
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
	char *path = testlib_path("auth-delay");
	testlib_write_file(path, AUTH_TEST_USERS, strlen(AUTH_TEST_USERS));
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

	/* IPv6 addresses of one /64 share their penalty (other user names,
	 * so that only the address counts) */
	memset(&r, 0, sizeof(r));
	req = auth_verify_plain(auth, "nobody6a", "x", "[2001:db8::1]", auth_test_callback, &r);
	fake_jobs_finish();
	assert_int_equal(fake_timer->msecs, 250);
	fake_timer_fire();
	assert_int_equal(r.calls, 1);
	req = auth_verify_plain(auth, "nobody6b", "x", "[2001:db8::2]", auth_test_callback, &r);
	assert_non_null(fake_timer);
	assert_int_equal(fake_job_count, 0);
	auth_request_abort(&req);
	req = auth_verify_plain(auth, "nobody6c", "x", "[2001:db8:0:1::1]", auth_test_callback, &r);
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


/* ---- the SASL driver ---- */

/* A fake mechanism that asks for what its message says:
 * "V|user|password|authzid" (VERIFY_PASSWORD), "C|user|scheme|authzid"
 * (CREDENTIALS: answers the credentials as a challenge, then completes),
 * "U|user||authzid" (USER). */
struct fake_mech_state {
	char kind;
	char user[64], arg[64], authzid[64];
	bool challenged;
	bool found;
};

static enum sasl_step_result fake_mech_step(struct sasl_exchange *ex, const unsigned char *input,
					    size_t input_len, struct sasl_output *out)
{
	struct fake_mech_state *st = sasl_exchange_state(ex);
	if (st->challenged) {
		if (!st->found) {
			out->error = "no credentials";
			return SASL_STEP_FAILED;
		}
		sasl_exchange_set_identity(ex, st->user, st->authzid);
		out->data = (const unsigned char *)"final";
		out->data_len = 5;
		out->has_data = true;
		return SASL_STEP_DONE;
	}
	if (input == NULL) {
		out->data = (const unsigned char *)"";
		return SASL_STEP_CONTINUE;
	}
	char msg[256];
	snprintf(msg, sizeof(msg), "%.*s", (int)input_len, (const char *)input);
	char *save = NULL, *kind = strtok_r(msg, "|", &save);
	char *user = strtok_r(NULL, "|", &save), *arg = strtok_r(NULL, "|", &save);
	char *authzid = strtok_r(NULL, "|", &save);
	if (kind == NULL || user == NULL) {
		out->error = "bad fake message";
		return SASL_STEP_FAILED;
	}
	st->kind = kind[0];
	snprintf(st->user, sizeof(st->user), "%s", user);
	snprintf(st->arg, sizeof(st->arg), "%s", arg != NULL ? arg : "");
	snprintf(st->authzid, sizeof(st->authzid), "%s", authzid != NULL ? authzid : "");
	out->lookup.user = st->user;
	switch (st->kind) {
	case 'V':
		out->lookup.kind = SASL_LOOKUP_VERIFY_PASSWORD;
		out->lookup.password = st->arg;
		break;
	case 'C':
		out->lookup.kind = SASL_LOOKUP_CREDENTIALS;
		out->lookup.scheme = st->arg;
		break;
	default:
		out->lookup.kind = SASL_LOOKUP_USER;
		break;
	}
	return SASL_STEP_LOOKUP;
}

static enum sasl_step_result fake_mech_lookup_done(struct sasl_exchange *ex,
						   const struct sasl_lookup_result *result,
						   struct sasl_output *out)
{
	struct fake_mech_state *st = sasl_exchange_state(ex);
	if (result->status == SASL_LOOKUP_TEMPFAIL) {
		out->error = "tempfail";
		out->tempfail = true;
		return SASL_STEP_FAILED;
	}
	if (st->kind == 'C') {
		/* answers found or not alike, as SCRAM must */
		st->challenged = true;
		st->found = result->status == SASL_LOOKUP_OK;
		unsigned char *buf = sasl_exchange_buffer(ex, 200);
		int n = snprintf((char *)buf, 201, "creds:%.*s", (int)result->credentials_len,
				 st->found ? (const char *)result->credentials : "");
		out->data = buf;
		out->data_len = (size_t)n;
		return SASL_STEP_CONTINUE;
	}
	if (result->status != SASL_LOOKUP_OK) {
		out->error = "Authentication failed.";
		return SASL_STEP_FAILED;
	}
	sasl_exchange_set_identity(ex, result->user, st->authzid);
	return SASL_STEP_DONE;
}

static const struct sasl_mech fake_mech = {
	.name = "X-FAKE",
	.state_size = sizeof(struct fake_mech_state),
	.step = fake_mech_step,
	.lookup_done = fake_mech_lookup_done,
};

struct sasl_test_result {
	unsigned int calls;
	enum auth_sasl_status status;
	char data[256];
	bool has_data;
	char user[64], authcid[64], error[128];
	bool read_only;
};

static void sasl_test_callback(const struct auth_sasl_reply *reply, void *ctx)
{
	struct sasl_test_result *r = ctx;
	r->calls++;
	r->status = reply->status;
	snprintf(r->data, sizeof(r->data), "%.*s", (int)reply->data_len,
		 (const char *)reply->data);
	r->has_data = reply->has_data;
	snprintf(r->user, sizeof(r->user), "%s", reply->user != NULL ? reply->user : "");
	snprintf(r->authcid, sizeof(r->authcid), "%s",
		 reply->authcid != NULL ? reply->authcid : "");
	snprintf(r->error, sizeof(r->error), "%s", reply->error != NULL ? reply->error : "");
	r->read_only = reply->read_only;
}

#define SASL_TEST_USERS \
	"demo:{PLAIN}demo\n" \
	"admin:{PLAIN}adminpw\n" \
	"alice:" SHA512_VECTOR ":1000:1000::/home/alice::" \
	"scram-sha-256={SCRAM-SHA-256}4096,c2FsdA==,a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=,c3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3M= quota=1G " \
	"cram-md5={CRAM-MD5}abababababababababababababababababababababababababababababababab\n"

static const struct sasl_peer sasl_test_peer = {
	.remote_ip = "192.0.2.50", .local_ip = "192.0.2.1", .service = "imap",
	.secured = true,
};

/* Runs one exchange inline: start with `first` (NULL: no initial
 * response), then the responses, each after a CONTINUE. */
static struct sasl_test_result sasl_test_run(struct auth *auth, const char *mech,
					     const char *first, const char *const *more)
{
	struct sasl_test_result r = { 0 };
	struct auth_sasl_request *req = auth_sasl_start(
		auth, mech, &sasl_test_peer, (const unsigned char *)first,
		first != NULL ? strlen(first) : 0, sasl_test_callback, &r);
	for (size_t i = 0; more != NULL && more[i] != NULL; i++) {
		if (r.status != AUTH_SASL_CONTINUE || req == NULL)
			fail_msg("%s: no CONTINUE before response %zu", mech, i);
		r.calls = 0;
		auth_sasl_continue(req, (const unsigned char *)more[i], strlen(more[i]));
		assert_int_equal(r.calls, 1);
	}
	if (r.status == AUTH_SASL_CONTINUE)
		auth_sasl_abort(&req);
	return r;
}

static void test_auth_sasl_lookups(void **state)
{
	(void)state;
	char *path = testlib_path("sasl-users");
	testlib_write_file(path, SASL_TEST_USERS, strlen(SASL_TEST_USERS));
	struct roost_config *config = auth_test_config(path, 15);
	config->auth_master_users = xstrdup("Admin, root");
	sasl_mech_register(&fake_mech);
	struct auth *auth = auth_create(config);
	struct sasl_test_result r;
	static const char *const next[] = { "go", NULL };

	/* VERIFY_PASSWORD */
	r = sasl_test_run(auth, "x-fake", "V|Demo|demo|", NULL);
	assert_int_equal(r.status, AUTH_SASL_OK);
	assert_string_equal(r.user, "demo");
	assert_string_equal(r.authcid, "demo");
	r = sasl_test_run(auth, "X-FAKE", "V|alice|Hello world!|", NULL);
	assert_int_equal(r.status, AUTH_SASL_OK);
	r = sasl_test_run(auth, "X-FAKE", "V|demo|wrong|", NULL);
	assert_int_equal(r.status, AUTH_SASL_FAILED);
	assert_string_equal(r.error, "Authentication failed.");
	r = sasl_test_run(auth, "X-FAKE", "V|nobody|demo|", NULL);
	assert_int_equal(r.status, AUTH_SASL_FAILED);

	/* CREDENTIALS: the extra fields' stored forms, the password's own
	 * scheme, and none: the same CONTINUE either way */
	r = sasl_test_run(auth, "X-FAKE", "C|alice|SCRAM-SHA-256|", NULL);
	assert_int_equal(r.status, AUTH_SASL_CONTINUE);
	assert_string_equal(r.data, "creds:4096,c2FsdA==,a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=,c3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3M=");
	r = sasl_test_run(auth, "X-FAKE", "C|alice|scram-sha-256|", next);
	assert_int_equal(r.status, AUTH_SASL_OK);
	assert_true(r.has_data);
	assert_string_equal(r.data, "final");
	r = sasl_test_run(auth, "X-FAKE", "C|alice|CRAM-MD5|", NULL);
	assert_string_equal(r.data, "creds:abababababababababababababababababababababababababababababababab");
	r = sasl_test_run(auth, "X-FAKE", "C|demo|PLAIN|", NULL);
	assert_string_equal(r.data, "creds:demo");
	/* password_get_credentials(): SCRAM keys made from {PLAIN}; none
	 * from a crypt hash */
	r = sasl_test_run(auth, "X-FAKE", "C|demo|SCRAM-SHA-1|", NULL);
	assert_true(strncmp(r.data, "creds:4096,", 11) == 0);
	r = sasl_test_run(auth, "X-FAKE", "C|alice|SCRAM-SHA-1|", next);
	assert_int_equal(r.status, AUTH_SASL_FAILED);
	r = sasl_test_run(auth, "X-FAKE", "C|nobody|SCRAM-SHA-256|", NULL);
	assert_string_equal(r.data, "creds:");

	/* USER */
	r = sasl_test_run(auth, "X-FAKE", "U|ALICE", NULL);
	assert_int_equal(r.status, AUTH_SASL_OK);
	assert_string_equal(r.user, "alice");
	r = sasl_test_run(auth, "X-FAKE", "U|nobody", NULL);
	assert_int_equal(r.status, AUTH_SASL_FAILED);

	/* authorisation: master users may act as existing users only;
	 * others only as themselves (in any case) */
	r = sasl_test_run(auth, "X-FAKE", "V|admin|adminpw|Alice", NULL);
	assert_int_equal(r.status, AUTH_SASL_OK);
	assert_string_equal(r.user, "alice");
	assert_string_equal(r.authcid, "admin");
	r = sasl_test_run(auth, "X-FAKE", "V|admin|adminpw|nobody", NULL);
	assert_int_equal(r.status, AUTH_SASL_FAILED);
	assert_string_equal(r.error, "Authorization failed.");
	r = sasl_test_run(auth, "X-FAKE", "V|admin|wrong|alice", NULL);
	assert_int_equal(r.status, AUTH_SASL_FAILED);
	r = sasl_test_run(auth, "X-FAKE", "V|demo|demo|alice", NULL);
	assert_int_equal(r.status, AUTH_SASL_FAILED);
	assert_string_equal(r.error, "Not authorized to log in as another user.");
	r = sasl_test_run(auth, "X-FAKE", "V|demo|demo|DEMO", NULL);
	assert_int_equal(r.status, AUTH_SASL_OK);
	assert_string_equal(r.user, "demo");
	/* PLAIN's authzid goes the same way */
	r = sasl_test_run(auth, "PLAIN", "alice\0admin\0adminpw", NULL);
	assert_int_equal(r.status, AUTH_SASL_FAILED);	/* strlen stops at the NUL */
	struct sasl_test_result p = { 0 };
	static const char plain_master[] = "alice\0admin\0adminpw";
	assert_null(auth_sasl_start(auth, "PLAIN", &sasl_test_peer,
				    (const unsigned char *)plain_master, sizeof(plain_master) - 1,
				    sasl_test_callback, &p));
	assert_int_equal(p.status, AUTH_SASL_OK);
	assert_string_equal(p.user, "alice");
	assert_string_equal(p.authcid, "admin");
	static const char plain_other[] = "admin\0demo\0demo";
	memset(&p, 0, sizeof(p));
	assert_null(auth_sasl_start(auth, "PLAIN", &sasl_test_peer,
				    (const unsigned char *)plain_other, sizeof(plain_other) - 1,
				    sasl_test_callback, &p));
	assert_int_equal(p.status, AUTH_SASL_FAILED);

	/* LOGIN: two challenges */
	static const char *const login_steps[] = { "demo", "demo", NULL };
	r = sasl_test_run(auth, "LOGIN", NULL, login_steps);
	assert_int_equal(r.status, AUTH_SASL_OK);
	assert_string_equal(r.user, "demo");

	/* not offered: unknown, ANONYMOUS without auth_mechanisms naming it */
	r = sasl_test_run(auth, "NOPE", "", NULL);
	assert_int_equal(r.status, AUTH_SASL_FAILED);
	r = sasl_test_run(auth, "ANONYMOUS", "trace", NULL);
	assert_int_equal(r.status, AUTH_SASL_FAILED);
	assert_string_equal(r.error, "Unsupported authentication mechanism.");

	/* too long a response */
	char *big = xcalloc(1, SASL_MAX_RESPONSE_LEN + 2);
	memset(big, 'a', SASL_MAX_RESPONSE_LEN + 1);
	r = sasl_test_run(auth, "X-FAKE", big, NULL);
	assert_int_equal(r.status, AUTH_SASL_FAILED);
	assert_string_equal(r.error, "Response too long.");
	free(big);

	/* the database goes away: TEMPFAIL */
	unlink(path);
	auth_reload(auth);
	r = sasl_test_run(auth, "X-FAKE", "V|demo|demo|", NULL);
	assert_int_equal(r.status, AUTH_SASL_TEMPFAIL);
	r = sasl_test_run(auth, "X-FAKE", "U|demo", NULL);
	assert_int_equal(r.status, AUTH_SASL_TEMPFAIL);

	auth_destroy(&auth);
	free(config->auth_master_users);
	auth_test_config_free(config);
	free(path);
}

static void test_auth_sasl_anonymous(void **state)
{
	(void)state;
	char *path = testlib_path("sasl-anon");
	testlib_write_file(path, SASL_TEST_USERS, strlen(SASL_TEST_USERS));
	struct roost_config *config = auth_test_config(path, 0);
	config->auth_mechanisms = xstrdup("plain anonymous");
	config->auth_anonymous_user = xstrdup("Demo");
	struct auth *auth = auth_create(config);
	const char *names[8];
	size_t n = auth_mech_advertised(config, &sasl_test_peer, names, N_ELEMENTS(names));
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "PLAIN");
	assert_string_equal(names[1], "ANONYMOUS");

	struct sasl_test_result r = sasl_test_run(auth, "ANONYMOUS", "guest@example.org", NULL);
	assert_int_equal(r.status, AUTH_SASL_OK);
	assert_string_equal(r.user, "demo");
	assert_true(r.read_only);
	r = sasl_test_run(auth, "LOGIN", NULL, NULL);
	assert_int_equal(r.status, AUTH_SASL_FAILED);	/* not in auth_mechanisms */
	/* a missing account is the server's problem */
	free(config->auth_anonymous_user);
	config->auth_anonymous_user = xstrdup("nobody");
	r = sasl_test_run(auth, "ANONYMOUS", "", NULL);
	assert_int_equal(r.status, AUTH_SASL_TEMPFAIL);

	auth_destroy(&auth);
	free(config->auth_mechanisms);
	free(config->auth_anonymous_user);
	auth_test_config_free(config);
	unlink(path);
	free(path);
}

/* Throttling of SASL exchanges: as auth_verify_plain (delays after
 * failures, waits before the next attempt, none for OK), and aborts in
 * every state. */
static void test_auth_sasl_async(void **state)
{
	(void)state;
	char *path = testlib_path("sasl-async");
	testlib_write_file(path, SASL_TEST_USERS, strlen(SASL_TEST_USERS));
	struct roost_config *config = auth_test_config(path, 15);
	struct auth *auth = auth_create(config);
	struct sasl_test_result r = { 0 };
	static const char wrong[] = "\0demo\0bad", right[] = "\0demo\0demo";

	fake_jobs_deferred = true;
	struct auth_sasl_request *req = auth_sasl_start(
		auth, "PLAIN", &sasl_test_peer, (const unsigned char *)wrong, sizeof(wrong) - 1,
		sasl_test_callback, &r);
	assert_non_null(req);
	assert_int_equal(r.calls, 0);	/* never from inside the call */
	fake_jobs_finish();
	assert_int_equal(r.calls, 0);
	assert_non_null(fake_timer);
	assert_int_equal(fake_timer->msecs, 250);
	fake_timer_fire();
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, AUTH_SASL_FAILED);

	/* at once again: waits the rest of the delay first, even for the
	 * right password; abort while waiting */
	memset(&r, 0, sizeof(r));
	req = auth_sasl_start(auth, "PLAIN", &sasl_test_peer, (const unsigned char *)right,
			      sizeof(right) - 1, sasl_test_callback, &r);
	assert_non_null(fake_timer);
	assert_int_equal(fake_job_count, 0);
	auth_sasl_abort(&req);
	assert_null(req);
	assert_null(fake_timer);

	/* the right password after the wait: OK, not delayed */
	req = auth_sasl_start(auth, "PLAIN", &sasl_test_peer, (const unsigned char *)right,
			      sizeof(right) - 1, sasl_test_callback, &r);
	fake_timer_fire();
	fake_jobs_finish();
	assert_null(fake_timer);
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, AUTH_SASL_OK);

	/* a CONTINUE comes from a job too; abort while the lookup runs */
	memset(&r, 0, sizeof(r));
	req = auth_sasl_start(auth, "PLAIN", &sasl_test_peer, NULL, 0, sasl_test_callback, &r);
	assert_int_equal(r.calls, 0);
	fake_jobs_finish();
	assert_int_equal(r.calls, 1);
	assert_int_equal(r.status, AUTH_SASL_CONTINUE);
	auth_sasl_continue(req, (const unsigned char *)right, sizeof(right) - 1);
	assert_int_equal(fake_job_count, 1);
	auth_sasl_abort(&req);
	fake_jobs_finish();
	assert_int_equal(r.calls, 1);

	/* abort while an answer is deferred, then the auth goes with a
	 * lookup running */
	req = auth_sasl_start(auth, "PLAIN", &sasl_test_peer, NULL, 0, sasl_test_callback, &r);
	auth_sasl_abort(&req);
	fake_jobs_finish();
	assert_int_equal(r.calls, 1);
	req = auth_sasl_start(auth, "PLAIN", &sasl_test_peer, (const unsigned char *)right,
			      sizeof(right) - 1, sasl_test_callback, &r);
	assert_non_null(req);
	auth_destroy(&auth);
	fake_jobs_finish();
	assert_int_equal(r.calls, 1);
	fake_jobs_deferred = false;

	auth_test_config_free(config);
	unlink(path);
	free(path);
}

/* The user database chain: the first source that knows the user
 * decides; one that cannot be read stops the search. */
static void test_auth_userdb_chain(void **state)
{
	(void)state;
	char *first = testlib_path("chain-first"), *second = testlib_path("chain-second");
	testlib_write_file(first, "demo:{PLAIN}one\n", 16);
	testlib_write_file(second, "demo:{PLAIN}two\nbob:{PLAIN}b\n", 29);
	char *list = xasprintf("%s passwd-file:%s", first, second);
	struct roost_config *config = auth_test_config(list, 0);
	struct auth *auth = auth_create(config);
	struct auth_test_result r = { 0 };

	assert_null(auth_verify_plain(auth, "demo", "one", NULL, auth_test_callback, &r));
	assert_int_equal(r.result, AUTH_RESULT_OK);
	assert_null(auth_verify_plain(auth, "demo", "two", NULL, auth_test_callback, &r));
	assert_int_equal(r.result, AUTH_RESULT_FAILED);
	assert_null(auth_verify_plain(auth, "bob", "b", NULL, auth_test_callback, &r));
	assert_int_equal(r.result, AUTH_RESULT_OK);
	assert_int_equal(auth_user_exists(auth, "bob"), 1);
	assert_int_equal(auth_user_exists(auth, "carol"), 0);
	assert_null(auth_user_lookup(auth, "BOB", auth_test_callback, &r));
	assert_int_equal(r.result, AUTH_RESULT_OK);
	assert_string_equal(r.user, "bob");
	assert_null(auth_user_lookup(auth, "carol", auth_test_callback, &r));
	assert_int_equal(r.result, AUTH_RESULT_FAILED);

	unlink(first);
	auth_reload(auth);
	assert_null(auth_verify_plain(auth, "bob", "b", NULL, auth_test_callback, &r));
	assert_int_equal(r.result, AUTH_RESULT_TEMPFAIL);
	assert_int_equal(auth_user_exists(auth, "bob"), -1);
	assert_null(auth_user_lookup(auth, "bob", auth_test_callback, &r));
	assert_int_equal(r.result, AUTH_RESULT_TEMPFAIL);
	auth_destroy(&auth);

	/* bad lists */
	char *error = NULL;
	struct roost_config bad = { .userdb = (char *)"nosuch:x" };
	assert_int_equal(auth_config_check(&bad, &error), -1);
	assert_non_null(strstr(error, "unknown source"));
	free(error);
	bad.userdb = (char *)"passwd-file:";
	assert_int_equal(auth_config_check(&bad, &error), -1);
	free(error);
	bad.userdb = (char *)"";
	assert_int_equal(auth_config_check(&bad, &error), -1);
	free(error);
	bad.userdb = list;
	bad.auth_mechanisms = (char *)"PLAIN,login X-NOPE";
	assert_int_equal(auth_config_check(&bad, &error), -1);
	assert_non_null(strstr(error, "X-NOPE"));
	free(error);
	bad.auth_mechanisms = (char *)"PLAIN,login";
	assert_int_equal(auth_config_check(&bad, &error), 0);

	auth_test_config_free(config);
	unlink(second);
	free(list);
	free(first);
	free(second);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_throttle_delay),
		cmocka_unit_test(test_auth_throttle_ip_key),
		cmocka_unit_test(test_auth_throttle_table),
		cmocka_unit_test(test_auth_verify_inline),
		cmocka_unit_test(test_auth_verify_async_and_abort),
		cmocka_unit_test(test_auth_verify_delay),
		cmocka_unit_test(test_auth_throttle_logins),
		cmocka_unit_test_setup_teardown(test_auth_sasl_lookups, NULL, NULL),
		cmocka_unit_test(test_auth_sasl_anonymous),
		cmocka_unit_test(test_auth_sasl_async),
		cmocka_unit_test(test_auth_userdb_chain),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
