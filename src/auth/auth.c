/* auth.c: password checks off the event loop, with throttling.
 *
 * A request's life (all on the loop except `work`):
 *
 *   auth_verify_plain
 *     |  address still inside the delay of its last failure?
 *     +-- yes --> WAITING --(timer)--+
 *     |                              v
 *     +-- no ----------------------> HASHING: look the user up, hash on a
 *                                      |       helper thread (net_job_run)
 *                                      v
 *                                    done: OK, FAILED or TEMPFAIL
 *                                      |  FAILED and the address throttled?
 *                                      +-- yes --> DELAYING --(timer)--+
 *                                      |                               v
 *                                      +-- no ----------------------> callback, free
 *
 * DELAYING holds a FAILED answer back (250 ms, 500 ms, ... per recent
 * failure of the address or of the user, whichever has more); WAITING
 * holds a new attempt from that address or for that user until the
 * previous answer's delay is over, so a client that drops the connection
 * instead of waiting for FAILED gains nothing.  An OK answer is never
 * delayed, and clears only the failures of its own user from its own
 * address (auth-throttle.h): an attacker who alternates a known good
 * login with guesses at another account keeps his delay growing.  Without an event loop (CLI, tests: jobs run inline)
 * there are no timers, so neither wait happens.
 *
 * Ownership: while HASHING, the helper thread uses the `job` fields only
 * (password, hash, verify_ret, error) and the loop never touches them;
 * everything else is the loop's.  auth_request_abort() while HASHING only
 * marks the request aborted and unlinks it from its auth: `done` (which
 * always runs on the loop after `work`) then frees it without calling
 * back.  While WAITING or DELAYING, abort destroys the timer and frees at
 * once. */
#include "auth.h"
#include "auth-throttle.h"
#include "passwd-file.h"
#include "password.h"
#include "base/log.h"
#include "conf/conf.h"
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

/* Keys in the failed-login table (a failure makes up to three: address,
 * user, pair; 16384 entries take 2.9 MB), and how long a failure is
 * remembered. */
#define AUTH_THROTTLE_MAX_ENTRIES 16384
#define AUTH_THROTTLE_FORGET_SECS 600
/* SHA-crypt costs grow with the password's length: a longer one fails at
 * once, for every user alike, instead of costing a helper thread. */
#define AUTH_PASSWORD_MAX_LEN 1024

/* The table shared by every worker (auth_shared_init), or NULL. */
static struct auth_throttle *auth_shared_throttle;

struct auth {
	struct passwd_file *db;
	struct auth_throttle *throttle;
	bool own_throttle;		/* not auth_shared_throttle */
	unsigned int delay_max_secs;
	bool db_failed;			/* the last read failed (logged once) */
	bool jobs_inline;		/* no event loop: never use timers */
	struct auth_request *requests;	/* not yet answered nor aborted */
};

enum auth_request_state {
	AUTH_REQUEST_WAITING,
	AUTH_REQUEST_HASHING,
	AUTH_REQUEST_DELAYING,
};

struct auth_request {
	/* job: the helper thread's while HASHING */
	struct {
		char *password;		/* wiped and freed by work or free */
		char *hash;		/* NULL: nothing to check */
		int verify_ret;
		const char *error;	/* static, from password_verify */
	} job;

	/* the loop's */
	struct auth *auth;		/* NULL once aborted */
	struct auth_request *prev, *next;
	enum auth_request_state state;
	char *user;
	char *remote_ip;
	char throttle_key[AUTH_THROTTLE_KEY_SIZE];
	auth_callback *callback;
	void *ctx;
	enum auth_result result;
	bool user_exists;		/* else job.hash is a dummy */
	bool tempfail;			/* database unreadable */
	bool starting;			/* inside auth_verify_plain */
	bool answered;			/* callback called while starting */
	bool lookup_only;		/* auth_user_lookup: `result` is set */
	struct net_timer *timer;
};

void auth_shared_init(void)
{
	if (auth_shared_throttle == NULL)
		auth_shared_throttle = auth_throttle_create(AUTH_THROTTLE_MAX_ENTRIES,
							    AUTH_THROTTLE_FORGET_SECS);
}

struct auth *auth_create(const struct roost_config *config)
{
	struct auth *auth = xcalloc(1, sizeof(*auth));
	auth->db = passwd_file_create(config->userdb);
	if (auth_shared_throttle != NULL) {
		auth->throttle = auth_shared_throttle;
	} else {
		auth->throttle = auth_throttle_create(AUTH_THROTTLE_MAX_ENTRIES,
						      AUTH_THROTTLE_FORGET_SECS);
		auth->own_throttle = true;
	}
	auth->delay_max_secs = config->auth_failure_delay_max;
	return auth;
}

static void auth_request_unlink(struct auth_request *req)
{
	if (req->auth == NULL)
		return;
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		req->auth->requests = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
	req->auth = NULL;
}

static void auth_request_free(struct auth_request *req)
{
	if (req->job.password != NULL) {
		explicit_bzero(req->job.password, strlen(req->job.password));
		free(req->job.password);
	}
	free(req->job.hash);
	free(req->user);
	free(req->remote_ip);
	free(req);
}

void auth_destroy(struct auth **authp)
{
	struct auth *auth = *authp;
	if (auth == NULL)
		return;
	*authp = NULL;
	while (auth->requests != NULL) {
		struct auth_request *req = auth->requests;
		auth_request_abort(&req);
	}
	passwd_file_destroy(&auth->db);
	if (auth->own_throttle)
		auth_throttle_destroy(&auth->throttle);
	free(auth);
}

/* Reads the database if it changed; logs a failure when it starts and a
 * recovery when it ends, not on every request. */
static int auth_refresh(struct auth *auth)
{
	const char *error;

	if (passwd_file_refresh(auth->db, &error) < 0) {
		if (!auth->db_failed)
			log_error("auth: user database unusable: %s", error);
		auth->db_failed = true;
		return -1;
	}
	if (auth->db_failed)
		log_info("auth: user database readable again");
	auth->db_failed = false;
	return 0;
}

void auth_reload(struct auth *auth)
{
	const char *error;

	if (passwd_file_reload(auth->db, &error) < 0) {
		log_error("auth: user database unusable: %s", error);
		auth->db_failed = true;
	} else {
		auth->db_failed = false;
	}
}

void auth_user_normalize(char *user)
{
	passwd_file_user_normalize(user);
}

int auth_user_exists(struct auth *auth, const char *user)
{
	const struct passwd_file_entry *entry;
	const char *error;

	if (auth_refresh(auth) < 0)
		return -1;
	int ret = passwd_file_lookup(auth->db, user, &entry, &error);
	if (ret < 0)
		log_error("auth: user database unusable: %s", error);
	return ret;
}

/* On a helper thread: touches req->job only. */
static void auth_request_work(void *context)
{
	struct auth_request *req = context;

	if (req->job.hash != NULL)
		req->job.verify_ret = password_verify(req->job.password, req->job.hash,
						      &req->job.error);
	explicit_bzero(req->job.password, strlen(req->job.password));
	free(req->job.password);
	req->job.password = NULL;
}

static void auth_request_answer(struct auth_request *req)
{
	auth_request_unlink(req);
	req->callback(req->result, req->user, req->ctx);
	if (req->starting)
		req->answered = true;	/* auth_request_start frees it */
	else
		auth_request_free(req);
}

static void auth_request_delay_end(void *context)
{
	struct auth_request *req = context;

	net_timer_destroy(&req->timer);
	auth_request_answer(req);
}

/* On the loop, after auth_request_work. */
static void auth_request_done(void *context)
{
	struct auth_request *req = context;
	struct auth *auth = req->auth;

	if (auth == NULL) {
		/* aborted while hashing */
		auth_request_free(req);
		return;
	}
	if (req->starting) {
		/* answered inline: there is no event loop for timers */
		auth->jobs_inline = true;
	}
	if (req->lookup_only) {
		auth_request_answer(req);
		return;
	}
	if (req->tempfail) {
		req->result = AUTH_RESULT_TEMPFAIL;
	} else if (req->user_exists && req->job.hash != NULL && req->job.verify_ret < 0) {
		log_error("auth: user %s: cannot check the password: %s",
			  req->user, req->job.error);
		req->result = AUTH_RESULT_TEMPFAIL;
	} else if (req->user_exists && req->job.hash != NULL && req->job.verify_ret == 1) {
		req->result = AUTH_RESULT_OK;
	} else {
		req->result = AUTH_RESULT_FAILED;
	}

	if (req->result == AUTH_RESULT_OK) {
		auth_throttle_login_succeeded(auth->throttle, req->throttle_key, req->user,
					      time_monotonic_ms());
	} else if (req->result == AUTH_RESULT_FAILED) {
		unsigned int failures = auth_throttle_login_failed(
			auth->throttle, req->throttle_key, req->user, time_monotonic_ms());
		unsigned int delay = auth->jobs_inline ? 0 :
			auth_throttle_delay_ms(failures, auth->delay_max_secs);
		log_debug("auth: user %s from %s: %s; %u recent failure(s) for this address "
			  "or user, answered after %u ms", req->user,
			  req->remote_ip[0] != '\0' ? req->remote_ip : "local",
			  req->user_exists ? "wrong password" : "unknown user", failures, delay);
		if (delay > 0) {
			req->state = AUTH_REQUEST_DELAYING;
			req->timer = net_timer_create(delay, false, auth_request_delay_end, req);
			return;
		}
	}
	auth_request_answer(req);
}

/* Looks the user up and starts the hash on a helper thread.  With jobs
 * running inline the request may be answered (and marked so) before this
 * returns. */
static void auth_request_start_job(struct auth_request *req)
{
	struct auth *auth = req->auth;
	const struct passwd_file_entry *entry = NULL;
	const char *error;

	req->state = AUTH_REQUEST_HASHING;
	if (strlen(req->job.password) > AUTH_PASSWORD_MAX_LEN) {
		/* FAILED without a hash: job.hash stays NULL */
	} else if (auth_refresh(auth) < 0) {
		req->tempfail = true;
	} else {
		int ret = passwd_file_lookup(auth->db, req->user, &entry, &error);
		if (ret < 0) {
			req->tempfail = true;
		} else if (ret > 0 && entry->password[0] != '\0') {
			req->user_exists = true;
			req->job.hash = xstrdup(entry->password);
		} else {
			/* unknown user, or one whose login is disabled by an
			 * empty password: cost the same as a real check, with
			 * the hash of the first user so the cost matches this
			 * database's scheme */
			const char *dummy = password_dummy_hash();
			for (size_t i = 0; i < passwd_file_count(auth->db); i++) {
				const struct passwd_file_entry *e =
					passwd_file_entry_at(auth->db, i);
				if (e->password[0] != '\0') {
					dummy = e->password;
					break;
				}
			}
			req->job.hash = xstrdup(dummy);
		}
	}
	net_job_run(auth_request_work, auth_request_done, req);
}

static void auth_request_wait_end(void *context)
{
	struct auth_request *req = context;

	net_timer_destroy(&req->timer);
	auth_request_start_job(req);
}

struct auth_request *auth_verify_plain(struct auth *auth, const char *user,
				       const char *password, const char *remote_ip,
				       auth_callback *callback, void *ctx)
{
	struct auth_request *req = xcalloc(1, sizeof(*req));

	req->auth = auth;
	req->next = auth->requests;
	if (auth->requests != NULL)
		auth->requests->prev = req;
	auth->requests = req;
	req->user = xstrdup(user);
	auth_user_normalize(req->user);
	req->remote_ip = xstrdup(remote_ip != NULL ? remote_ip : "");
	auth_throttle_ip_key(remote_ip, req->throttle_key);
	req->callback = callback;
	req->ctx = ctx;
	req->job.password = xstrdup(password);

	unsigned int wait = auth->jobs_inline ? 0 :
		auth_throttle_login_wait_ms(auth->throttle, req->throttle_key, req->user,
					    time_monotonic_ms(), auth->delay_max_secs);
	if (wait > 0) {
		req->state = AUTH_REQUEST_WAITING;
		req->timer = net_timer_create(wait, false, auth_request_wait_end, req);
		return req;
	}
	req->starting = true;
	auth_request_start_job(req);
	if (req->answered) {
		auth_request_free(req);
		return NULL;
	}
	req->starting = false;
	return req;
}

void auth_request_abort(struct auth_request **reqp)
{
	struct auth_request *req = *reqp;
	if (req == NULL)
		return;
	*reqp = NULL;
	auth_request_unlink(req);
	req->callback = NULL;
	req->ctx = NULL;
	if (req->state != AUTH_REQUEST_HASHING) {
		net_timer_destroy(&req->timer);
		auth_request_free(req);
	}
	/* HASHING: auth_request_done frees it when the thread is finished */
}

/* auth_user_lookup: the passwd-file answers at once; the answer still
 * goes through the job pool so that with a loop it comes from the loop,
 * never from inside the call. */
static void auth_lookup_work(void *context ATTR_UNUSED)
{
}

struct auth_request *auth_user_lookup(struct auth *auth, const char *user,
				      auth_callback *callback, void *ctx)
{
	struct auth_request *req = xcalloc(1, sizeof(*req));

	req->auth = auth;
	req->next = auth->requests;
	if (auth->requests != NULL)
		auth->requests->prev = req;
	auth->requests = req;
	req->user = xstrdup(user);
	auth_user_normalize(req->user);
	req->remote_ip = xstrdup("");
	req->callback = callback;
	req->ctx = ctx;
	req->job.password = xstrdup("");
	req->state = AUTH_REQUEST_HASHING;
	req->lookup_only = true;
	int ret = auth_user_exists(auth, req->user);
	req->result = ret > 0 ? AUTH_RESULT_OK : ret == 0 ? AUTH_RESULT_FAILED :
		AUTH_RESULT_TEMPFAIL;
	req->starting = true;
	net_job_run(auth_lookup_work, auth_request_done, req);
	if (req->answered) {
		auth_request_free(req);
		return NULL;
	}
	req->starting = false;
	return req;
}
