/* auth-local.c: the local struct auth (auth_create()): SASL exchanges,
 * password checks and user lookups against the user database chain, with
 * throttling, authorisation and the failure log.
 *
 * A request's life (all on the loop; the hash and credential work run on
 * helper threads inside the user database chain and here):
 *
 *   start (auth_sasl_start, auth_verify_plain, auth_user_lookup)
 *     |  SASL: the mechanism steps; CONTINUE goes to the client (IDLE)
 *     v
 *   a lookup is due (the mechanism's LOOKUP, or the password check)
 *     |  first lookup of the request, and the address or the user still
 *     |  inside the delay of its last failure?
 *     +-- yes --> WAITING --(timer)--+
 *     |                              v
 *     +-- no ----------------------> LOOKUP: userdb_verify_password() or
 *                                      |     userdb_lookup(); CREDENTIALS
 *                                      |     then a JOB picks the scheme
 *                                      v
 *                                    the answer goes to the mechanism,
 *                                    which steps again (CONTINUE, another
 *                                    LOOKUP, DONE or FAILED)
 *   DONE: authorisation (authzid: auth_master_users, then a USER lookup of
 *         the target), then OK
 *   FAILED: counted (auth-throttle.h) and logged; answered after the
 *         address's or user's delay (DELAYING, a timer)
 *
 * DELAYING holds a FAILED answer back (250 ms, 500 ms, ... per recent
 * failure of the address or of the user, whichever has more); WAITING
 * holds a new attempt from that address or for that user until the
 * previous answer's delay is over, so a client that drops the connection
 * instead of waiting for FAILED gains nothing.  An OK answer is never
 * delayed, and clears only the failures of its own user from its own
 * address (auth-throttle.h).  Without an event loop (CLI, tests: jobs run
 * inline) there are no timers, so neither wait happens.
 *
 * Answers never come from inside the call that caused them when a loop
 * runs: an answer due at once is deferred through an empty job.  Abort:
 * a request whose job runs is marked (auth NULL) and freed by the job's
 * `done`; otherwise its timer or user database request is cancelled and
 * it is freed at once. */
#include "auth-private.h"
#include "auth-throttle.h"
#include "password.h"
#include "sasl.h"
#include "userdb.h"
#include "base/log.h"
#include "conf/conf.h"
#include "net/net.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

struct auth_local {
	struct auth auth;
	const struct roost_config *config;
	struct userdb *db;		/* NULL: the chain could not be made */
	struct auth_throttle *throttle;
	bool own_throttle;		/* not auth_shared_throttle */
	bool jobs_inline;		/* no event loop: never use timers */
	struct auth_local_request *requests;	/* not answered nor aborted */
};

enum auth_local_kind {
	AUTH_LOCAL_VERIFY,	/* auth_verify_plain */
	AUTH_LOCAL_USER,	/* auth_user_lookup */
	AUTH_LOCAL_SASL,	/* auth_sasl_start */
};

enum auth_local_state {
	AUTH_LOCAL_IDLE,	/* SASL: waiting for the client's response */
	AUTH_LOCAL_WAITING,	/* throttling before the first lookup */
	AUTH_LOCAL_LOOKUP,	/* a user database request runs */
	AUTH_LOCAL_JOB,		/* a job runs (credentials, or a deferred answer) */
	AUTH_LOCAL_DELAYING,	/* a FAILED answer held back */
};

struct auth_local_request {
	struct auth_request head;
	struct auth_sasl_request sasl_head;

	/* job: the helper thread's while a credentials job runs */
	struct {
		char *scheme;
		char *stored_password;	/* the main one, or NULL */
		char **stored;		/* more "{SCHEME}data", NULL-terminated */
		char *user;		/* as the client gave it */
		unsigned int scram_iterations;
		unsigned char *credentials;
		size_t credentials_len;
		bool found;
		bool broken;		/* the stored data is malformed */
	} job;

	/* the loop's */
	struct auth_local *auth;	/* NULL once aborted */
	struct auth_local_request *prev, *next;
	enum auth_local_kind kind;
	enum auth_local_state state;
	auth_callback *callback;
	auth_sasl_callback *sasl_callback;
	void *ctx;
	const char *mech_name;
	const char *service;

	struct sasl_exchange *exchange;
	struct sasl_peer peer;
	struct auth_peer_buf peer_buf;
	char service_buf[32];
	char throttle_key[AUTH_THROTTLE_KEY_SIZE];

	/* the outstanding lookup; strings owned */
	enum sasl_lookup_kind lookup_kind;
	char *lookup_user, *lookup_password, *lookup_scheme;
	bool throttle_checked;		/* the wait before the first lookup is over */
	bool authorizing;		/* the lookup is a master user's target */
	struct userdb_request *udb;
	bool udb_pending;
	struct net_timer *timer;
	void (*job_next)(struct auth_local_request *req);
	char *canonical;		/* the user the last lookup found */

	/* for the throttle and the log: the user tried (normalised), NULL
	 * before the first lookup */
	char *user;
	/* the answer */
	enum auth_sasl_status status;
	const char *error;
	char *result_user, *authcid;
	bool read_only;
	unsigned char *data;
	size_t data_len;
	bool has_data;

	unsigned int in_call;		/* inside a call of the caller's */
	bool answered;			/* answered (or aborted) while in_call */
};

static void auth_local_answer(struct auth_local_request *req);
static void auth_local_lookup_begin(struct auth_local_request *req);
static void auth_local_sasl_result(struct auth_local_request *req,
				   enum sasl_step_result ret, const struct sasl_output *out);

void auth_shared_init(void)
{
	if (auth_shared_throttle == NULL)
		auth_shared_throttle = auth_throttle_create(AUTH_THROTTLE_MAX_ENTRIES,
							    AUTH_THROTTLE_FORGET_SECS);
}

/* ---- requests ---- */

static void auth_local_free_secret(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

static void auth_local_job_clear(struct auth_local_request *req)
{
	auth_local_free_secret(&req->job.stored_password);
	if (req->job.stored != NULL) {
		for (size_t i = 0; req->job.stored[i] != NULL; i++)
			auth_local_free_secret(&req->job.stored[i]);
		free(req->job.stored);
		req->job.stored = NULL;
	}
	free(req->job.user);
	req->job.user = NULL;
	if (req->job.credentials != NULL) {
		explicit_bzero(req->job.credentials, req->job.credentials_len);
		free(req->job.credentials);
		req->job.credentials = NULL;
	}
	free(req->job.scheme);
	req->job.scheme = NULL;
}

static void auth_local_lookup_clear(struct auth_local_request *req)
{
	free(req->lookup_user);
	auth_local_free_secret(&req->lookup_password);
	free(req->lookup_scheme);
	req->lookup_user = req->lookup_scheme = NULL;
}

static void auth_local_request_free(struct auth_local_request *req)
{
	auth_local_job_clear(req);
	auth_local_lookup_clear(req);
	sasl_exchange_destroy(&req->exchange);
	if (req->data != NULL) {
		explicit_bzero(req->data, req->data_len);
		free(req->data);
	}
	free(req->canonical);
	free(req->user);
	free(req->result_user);
	free(req->authcid);
	free(req);
}

static void auth_local_unlink(struct auth_local_request *req)
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

extern const struct auth_ops auth_local_ops;

static struct auth_local_request *auth_local_request_create(struct auth_local *auth,
							    enum auth_local_kind kind)
{
	struct auth_local_request *req = xcalloc(1, sizeof(*req));
	req->head.ops = &auth_local_ops;
	req->sasl_head.ops = &auth_local_ops;
	req->auth = auth;
	req->kind = kind;
	req->next = auth->requests;
	if (auth->requests != NULL)
		auth->requests->prev = req;
	auth->requests = req;
	req->in_call = 1;
	return req;
}

/* Ends a call of the caller's: returns the request, or NULL if it was
 * answered (and is freed now). */
static struct auth_local_request *auth_local_call_end(struct auth_local_request *req)
{
	if (--req->in_call > 0)
		return req;
	if (req->answered) {
		auth_local_request_free(req);
		return NULL;
	}
	return req;
}

/* ---- jobs: deferred answers and credentials ---- */

static void auth_local_job_nothing(void *context)
{
	(void)context;
}

static void auth_local_job_done(void *context)
{
	struct auth_local_request *req = context;

	if (req->auth == NULL) {
		/* aborted while the job ran */
		auth_local_request_free(req);
		return;
	}
	if (req->in_call > 0) {
		/* ran inline: there is no event loop for timers */
		req->auth->jobs_inline = true;
	}
	req->job_next(req);
}

/* Runs next(req) from a job's `done`: later with a loop, at once
 * without one. */
static void auth_local_defer(struct auth_local_request *req,
			     void (*next)(struct auth_local_request *req))
{
	req->state = AUTH_LOCAL_JOB;
	req->job_next = next;
	net_job_run(auth_local_job_nothing, auth_local_job_done, req);
}

/* ---- answers ---- */

/* Hands the answer in req->status to the caller.  CONTINUE keeps the
 * request; the others end it. */
static void auth_local_deliver(struct auth_local_request *req)
{
	if (req->status == AUTH_SASL_CONTINUE) {
		struct auth_sasl_reply reply = {
			.status = AUTH_SASL_CONTINUE,
			.data = req->data != NULL ? req->data : (const unsigned char *)"",
			.data_len = req->data_len,
			.mech = req->mech_name,
		};
		req->state = AUTH_LOCAL_IDLE;
		req->in_call++;
		req->sasl_callback(&reply, req->ctx);
		auth_local_call_end(req);
		return;
	}
	auth_local_unlink(req);
	if (req->kind == AUTH_LOCAL_SASL) {
		struct auth_sasl_reply reply = {
			.status = req->status,
			.data = req->data != NULL ? req->data : (const unsigned char *)"",
			.data_len = req->data_len,
			.has_data = req->has_data,
			.user = req->result_user,
			.authcid = req->authcid,
			.read_only = req->read_only,
			.error = req->error,
			.mech = req->mech_name,
		};
		req->sasl_callback(&reply, req->ctx);
	} else {
		enum auth_result result = req->status == AUTH_SASL_OK ? AUTH_RESULT_OK :
			req->status == AUTH_SASL_TEMPFAIL ? AUTH_RESULT_TEMPFAIL :
			AUTH_RESULT_FAILED;
		const char *user = req->result_user != NULL ? req->result_user :
			req->user != NULL ? req->user : "";
		req->callback(result, user, req->ctx);
	}
	if (req->in_call > 0)
		req->answered = true;	/* auth_local_call_end frees it */
	else
		auth_local_request_free(req);
}

/* Answers now, or through a job when inside a call of the caller's. */
static void auth_local_answer(struct auth_local_request *req)
{
	if (req->in_call > 0 && !req->auth->jobs_inline)
		auth_local_defer(req, auth_local_deliver);
	else
		auth_local_deliver(req);
}

static void auth_local_delay_end(void *context)
{
	struct auth_local_request *req = context;

	net_timer_destroy(&req->timer);
	auth_local_deliver(req);
}

/* A failed login: counted, logged, answered after the delay. */
static void auth_local_fail(struct auth_local_request *req, const char *error)
{
	struct auth_local *auth = req->auth;
	const char *rip = req->peer.remote_ip != NULL && req->peer.remote_ip[0] != '\0' ?
		req->peer.remote_ip : "local";
	const char *user = req->user != NULL ? req->user : "";
	unsigned int failures;

	req->status = AUTH_SASL_FAILED;
	req->error = error;
	if (req->kind == AUTH_LOCAL_USER) {
		/* no such user: not a login */
		auth_local_answer(req);
		return;
	}
	uint64_t now = time_monotonic_ms();
	if (req->user != NULL)
		failures = auth_throttle_login_failed(auth->throttle, req->throttle_key,
						      req->user, now);
	else
		failures = auth_throttle_add_failure(auth->throttle, req->throttle_key, now);
	unsigned int delay = auth->jobs_inline ? 0 :
		auth_throttle_delay_ms(failures, auth->config->auth_failure_delay_max);
	log_info("%s(%s): Authentication failed: method=%s, user=<%.64s>, rip=%s, "
		 "attempt %u: %s", req->service, rip, req->mech_name, user, rip, failures,
		 error);
	if (auth->config->auth_failure_log_fail2ban)
		log_warning("roost: auth failure: rip=%s user=<%.64s> mech=%s service=%s",
			    rip, user, req->mech_name, req->service);
	log_debug("auth: user %s from %s: %u recent failure(s) for this address or user, "
		  "answered after %u ms", user, rip, failures, delay);
	if (delay > 0) {
		req->state = AUTH_LOCAL_DELAYING;
		req->timer = net_timer_create(delay, false, auth_local_delay_end, req);
		return;
	}
	auth_local_answer(req);
}

static void auth_local_tempfail(struct auth_local_request *req, const char *error)
{
	req->status = AUTH_SASL_TEMPFAIL;
	req->error = error;
	auth_local_answer(req);
}

/* The login of req->result_user (proven as req->authcid) succeeded. */
static void auth_local_succeed(struct auth_local_request *req)
{
	struct auth_local *auth = req->auth;

	req->status = AUTH_SASL_OK;
	if (req->kind != AUTH_LOCAL_USER)
		auth_throttle_login_succeeded(auth->throttle, req->throttle_key,
					      req->authcid != NULL ? req->authcid :
					      req->result_user, time_monotonic_ms());
	const char *note = req->exchange != NULL ? sasl_exchange_log_note(req->exchange) : NULL;
	if (note != NULL)
		log_info("%s(%s): %s login as <%s>, trace=<%s>", req->service,
			 req->peer.remote_ip[0] != '\0' ? req->peer.remote_ip : "local",
			 req->mech_name, req->result_user, note);
	if (req->authcid != NULL && strcmp(req->authcid, req->result_user) != 0)
		log_info("%s(%s): Login: user=<%s>, master=<%s>, method=%s", req->service,
			 req->peer.remote_ip[0] != '\0' ? req->peer.remote_ip : "local",
			 req->result_user, req->authcid, req->mech_name);
	auth_local_answer(req);
}

/* ---- lookups ---- */

/* The data of `stored` ("{SCHEME}data") when its scheme is `scheme`; the
 * single place where stored passwords become a mechanism's credentials
 * (password_get_credentials() of password.h takes over here, converting
 * {PLAIN} to SCRAM keys and so on).  Runs on a helper thread. */
/* On a helper thread: touches req->job only.  password_get_credentials()
 * turns what the user has into the scheme asked for (PBKDF2 for SCRAM
 * keys made from {PLAIN}). */
static void auth_local_credentials_work(void *context)
{
	struct auth_local_request *req = context;
	char *credentials = NULL;
	const char *error;

	int ret = password_get_credentials(req->job.stored_password,
					   (const char *const *)req->job.stored, req->job.scheme,
					   req->job.user, req->job.scram_iterations,
					   &credentials, &error);
	req->job.found = ret == 1;
	req->job.broken = ret < 0;
	if (ret == 1) {
		req->job.credentials = (unsigned char *)credentials;
		req->job.credentials_len = strlen(credentials);
	}
}

/* The answer to the outstanding lookup. */
static void auth_local_lookup_finish(struct auth_local_request *req,
				     enum sasl_lookup_status status,
				     const unsigned char *credentials, size_t credentials_len)
{
	auth_local_lookup_clear(req);
	if (status == SASL_LOOKUP_TEMPFAIL) {
		auth_local_tempfail(req, "Temporary authentication failure.");
		return;
	}
	if (req->kind == AUTH_LOCAL_VERIFY || req->kind == AUTH_LOCAL_USER || req->authorizing) {
		if (status != SASL_LOOKUP_OK) {
			auth_local_fail(req, req->authorizing ? "Authorization failed." :
					"Authentication failed.");
			return;
		}
		free(req->result_user);
		req->result_user = xstrdup(req->canonical);
		auth_local_succeed(req);
		return;
	}
	struct sasl_lookup_result result = {
		.status = status,
		.credentials = credentials,
		.credentials_len = credentials_len,
		.user = status == SASL_LOOKUP_OK ? req->canonical : NULL,
	};
	struct sasl_output out;
	req->state = AUTH_LOCAL_IDLE;
	enum sasl_step_result ret = sasl_exchange_lookup_done(req->exchange, &result, &out);
	auth_local_sasl_result(req, ret, &out);
}

static void auth_local_credentials_done(struct auth_local_request *req)
{
	bool found = req->job.found;
	unsigned char *data = req->job.credentials;
	size_t len = req->job.credentials_len;

	if (req->job.broken)
		log_error("auth: the stored %s credentials of user %s are malformed",
			  req->job.scheme, req->canonical != NULL ? req->canonical : "?");
	req->job.credentials = NULL;
	bool broken = req->job.broken;
	auth_local_job_clear(req);
	auth_local_lookup_finish(req, broken ? SASL_LOOKUP_TEMPFAIL :
				 found ? SASL_LOOKUP_OK : SASL_LOOKUP_NOT_FOUND, data, len);
	/* the request may be gone: touch only the local copy */
	if (data != NULL) {
		explicit_bzero(data, len);
		free(data);
	}
}

static void auth_local_userdb_done(enum userdb_result result, const struct userdb_entry *entry,
				   void *ctx)
{
	struct auth_local_request *req = ctx;

	req->udb = NULL;
	req->udb_pending = false;
	if (req->in_call > 0) {
		/* answered inside the call: there is no event loop */
		req->auth->jobs_inline = true;
	}
	if (result == USERDB_OK) {
		free(req->canonical);
		req->canonical = xstrdup(entry->user);
	}
	switch (result) {
	case USERDB_TEMPFAIL:
		auth_local_lookup_finish(req, SASL_LOOKUP_TEMPFAIL, NULL, 0);
		return;
	case USERDB_FAILED:
		auth_local_lookup_finish(req, SASL_LOOKUP_FAILED, NULL, 0);
		return;
	case USERDB_NOT_FOUND:
		auth_local_lookup_finish(req, req->lookup_kind == SASL_LOOKUP_VERIFY_PASSWORD ?
					 SASL_LOOKUP_FAILED : SASL_LOOKUP_NOT_FOUND, NULL, 0);
		return;
	case USERDB_OK:
		break;
	}
	if (req->lookup_kind != SASL_LOOKUP_CREDENTIALS) {
		auth_local_lookup_finish(req, SASL_LOOKUP_OK, NULL, 0);
		return;
	}
	/* the stored forms go to a helper thread, where turning one into
	 * another (PBKDF2) may be slow */
	size_t n = 0;
	while (entry->credentials[n] != NULL)
		n++;
	req->job.stored = xcalloc(n + 1, sizeof(*req->job.stored));
	if (entry->password != NULL)
		req->job.stored_password = xstrdup(entry->password);
	for (size_t i = 0; i < n; i++)
		req->job.stored[i] = xstrdup(entry->credentials[i]);
	req->job.scheme = xstrdup(req->lookup_scheme);
	req->job.user = xstrdup(req->lookup_user);
	req->job.scram_iterations = req->auth->config->auth_scram_iterations;
	req->job.found = false;
	req->job.broken = false;
	req->state = AUTH_LOCAL_JOB;
	req->job_next = auth_local_credentials_done;
	net_job_run(auth_local_credentials_work, auth_local_job_done, req);
}

static void auth_local_lookup_run(struct auth_local_request *req)
{
	struct auth_local *auth = req->auth;
	struct userdb_request *udb;

	req->state = AUTH_LOCAL_LOOKUP;
	if (auth->db == NULL) {
		auth_local_lookup_finish(req, SASL_LOOKUP_TEMPFAIL, NULL, 0);
		return;
	}
	req->in_call++;
	req->udb_pending = true;
	if (req->lookup_kind == SASL_LOOKUP_VERIFY_PASSWORD) {
		if (strlen(req->lookup_password) > AUTH_PASSWORD_MAX_LEN) {
			req->udb_pending = false;
			auth_local_lookup_finish(req, SASL_LOOKUP_FAILED, NULL, 0);
			auth_local_call_end(req);
			return;
		}
		udb = userdb_verify_password(auth->db, req->lookup_user, req->lookup_password,
					     auth_local_userdb_done, req);
		auth_local_free_secret(&req->lookup_password);
	} else {
		udb = userdb_lookup(auth->db, req->lookup_user, auth_local_userdb_done, req);
	}
	if (req->udb_pending)
		req->udb = udb;
	auth_local_call_end(req);
}

static void auth_local_wait_end(void *context)
{
	struct auth_local_request *req = context;

	net_timer_destroy(&req->timer);
	auth_local_lookup_run(req);
}

/* Starts the lookup in req->lookup_*, after the throttling wait for the
 * request's first one. */
static void auth_local_lookup_begin(struct auth_local_request *req)
{
	struct auth_local *auth = req->auth;

	if (req->user == NULL) {
		req->user = xstrdup(req->lookup_user);
		auth_user_normalize(req->user);
	}
	if (!req->throttle_checked) {
		req->throttle_checked = true;
		unsigned int wait = auth->jobs_inline ? 0 :
			auth_throttle_login_wait_ms(auth->throttle, req->throttle_key, req->user,
						    time_monotonic_ms(),
						    auth->config->auth_failure_delay_max);
		if (wait > 0) {
			req->state = AUTH_LOCAL_WAITING;
			req->timer = net_timer_create(wait, false, auth_local_wait_end, req);
			return;
		}
	}
	auth_local_lookup_run(req);
}

/* ---- SASL ---- */

/* DONE: may the proven authcid act as the authzid it asked for? */
static void auth_local_authorize(struct auth_local_request *req)
{
	const struct roost_config *config = req->auth->config;
	char *authcid = xstrdup(sasl_exchange_authcid(req->exchange));
	char *authzid = xstrdup(sasl_exchange_authzid(req->exchange));

	auth_user_normalize(authcid);
	auth_user_normalize(authzid);
	free(req->authcid);
	req->authcid = authcid;
	if (req->user == NULL)
		req->user = xstrdup(authcid);
	req->read_only = sasl_exchange_read_only(req->exchange);
	if (authzid[0] == '\0' || strcmp(authzid, authcid) == 0) {
		free(authzid);
		free(req->result_user);
		req->result_user = xstrdup(authcid);
		auth_local_succeed(req);
		return;
	}
	/* RFC 4422 section 3.4.1: the server decides whether the
	 * authentication identity may act as the authorization identity */
	if (config->auth_master_users == NULL ||
	    !auth_list_has(config->auth_master_users, authcid, true)) {
		free(authzid);
		auth_local_fail(req, "Not authorized to log in as another user.");
		return;
	}
	req->authorizing = true;
	req->lookup_kind = SASL_LOOKUP_USER;
	req->lookup_user = authzid;
	auth_local_lookup_begin(req);
}

static void auth_local_sasl_result(struct auth_local_request *req,
				   enum sasl_step_result ret, const struct sasl_output *out)
{
	switch (ret) {
	case SASL_STEP_CONTINUE:
		if (req->data != NULL) {
			explicit_bzero(req->data, req->data_len);
			free(req->data);
		}
		req->data_len = out->data_len;
		req->data = xmalloc(out->data_len + 1);
		memcpy(req->data, out->data != NULL ? out->data : (const unsigned char *)"",
		       out->data_len);
		req->status = AUTH_SASL_CONTINUE;
		auth_local_answer(req);
		return;
	case SASL_STEP_LOOKUP:
		req->lookup_kind = out->lookup.kind;
		req->lookup_user = xstrdup(out->lookup.user);
		if (out->lookup.password != NULL)
			req->lookup_password = xstrdup(out->lookup.password);
		if (out->lookup.scheme != NULL)
			req->lookup_scheme = xstrdup(out->lookup.scheme);
		auth_local_lookup_begin(req);
		return;
	case SASL_STEP_DONE:
		if (req->data != NULL) {
			explicit_bzero(req->data, req->data_len);
			free(req->data);
			req->data = NULL;
		}
		req->has_data = out->has_data;
		if (out->has_data) {
			req->data_len = out->data_len;
			req->data = xmalloc(out->data_len + 1);
			memcpy(req->data, out->data, out->data_len);
		} else {
			req->data_len = 0;
		}
		auth_local_authorize(req);
		return;
	case SASL_STEP_FAILED:
		if (out->tempfail)
			auth_local_tempfail(req, out->error);
		else
			auth_local_fail(req, out->error);
		return;
	}
}

/* Copies `peer` into the request. */
static void auth_local_peer_copy(struct auth_local_request *req, const struct sasl_peer *peer)
{
	struct auth_peer_buf *buf = &req->peer_buf;
	const char *service = peer->service != NULL ? peer->service : "auth";

	snprintf(buf->remote_ip, sizeof(buf->remote_ip), "%s",
		 peer->remote_ip != NULL ? peer->remote_ip : "");
	snprintf(buf->local_ip, sizeof(buf->local_ip), "%s",
		 peer->local_ip != NULL ? peer->local_ip : "");
	snprintf(req->service_buf, sizeof(req->service_buf), "%s", service);
	req->peer = *peer;
	req->peer.remote_ip = buf->remote_ip;
	req->peer.local_ip = buf->local_ip;
	req->peer.service = req->service_buf;
	req->service = req->service_buf;
	req->peer.cb_tls_exporter_len = ROOST_MIN(peer->cb_tls_exporter_len,
						  sizeof(buf->cb_exporter));
	if (peer->cb_tls_exporter != NULL)
		memcpy(buf->cb_exporter, peer->cb_tls_exporter, req->peer.cb_tls_exporter_len);
	req->peer.cb_tls_exporter = peer->cb_tls_exporter != NULL ? buf->cb_exporter : NULL;
	req->peer.cb_tls_server_end_point_len =
		ROOST_MIN(peer->cb_tls_server_end_point_len, sizeof(buf->cb_end_point));
	if (peer->cb_tls_server_end_point != NULL)
		memcpy(buf->cb_end_point, peer->cb_tls_server_end_point,
		       req->peer.cb_tls_server_end_point_len);
	req->peer.cb_tls_server_end_point = peer->cb_tls_server_end_point != NULL ?
		buf->cb_end_point : NULL;
	if (peer->cert_user != NULL) {
		snprintf(buf->cert_user, sizeof(buf->cert_user), "%s", peer->cert_user);
		req->peer.cert_user = buf->cert_user;
	}
	auth_throttle_ip_key(buf->remote_ip[0] != '\0' ? buf->remote_ip : NULL,
			     req->throttle_key);
}

static void auth_local_sasl_step(struct auth_local_request *req, const unsigned char *input,
				 size_t input_len)
{
	struct sasl_output out;

	if (input != NULL && input_len > SASL_MAX_RESPONSE_LEN) {
		auth_local_fail(req, "Response too long.");
		return;
	}
	enum sasl_step_result ret = sasl_exchange_step(req->exchange, input, input_len, &out);
	auth_local_sasl_result(req, ret, &out);
}

static struct auth_sasl_request *
auth_local_sasl_start(struct auth *_auth, const char *mech_name, const struct sasl_peer *peer,
		      const unsigned char *initial, size_t initial_len,
		      auth_sasl_callback *callback, void *ctx)
{
	struct auth_local *auth = (struct auth_local *)_auth;
	struct auth_local_request *req = auth_local_request_create(auth, AUTH_LOCAL_SASL);
	const struct sasl_mech *mech = sasl_mech_find(mech_name);

	req->sasl_callback = callback;
	req->ctx = ctx;
	auth_local_peer_copy(req, peer);
	if (mech == NULL || !auth_mech_allowed(auth->config, mech, &req->peer)) {
		req->mech_name = "unknown";
		auth_local_fail(req, "Unsupported authentication mechanism.");
	} else {
		req->mech_name = mech->name;
		req->exchange = sasl_exchange_create(mech, auth->config, &req->peer);
		auth_local_sasl_step(req, initial, initial_len);
	}
	req = auth_local_call_end(req);
	return req != NULL ? &req->sasl_head : NULL;
}

static void auth_local_sasl_continue(struct auth_sasl_request *head,
				     const unsigned char *response, size_t response_len)
{
	struct auth_local_request *req = (struct auth_local_request *)
		((char *)head - offsetof(struct auth_local_request, sasl_head));

	if (req->state != AUTH_LOCAL_IDLE || req->auth == NULL)
		i_panic("auth: response to a SASL exchange that waits for none");
	req->in_call++;
	auth_local_sasl_step(req, response != NULL ? response : (const unsigned char *)"",
			     response_len);
	auth_local_call_end(req);
}

/* ---- password checks and lookups ---- */

static struct auth_request *auth_local_verify_plain(struct auth *_auth, const char *user,
						    const char *password, const char *remote_ip,
						    auth_callback *callback, void *ctx)
{
	struct auth_local *auth = (struct auth_local *)_auth;
	struct auth_local_request *req = auth_local_request_create(auth, AUTH_LOCAL_VERIFY);
	struct sasl_peer peer = { .remote_ip = remote_ip, .service = "imap" };

	req->callback = callback;
	req->ctx = ctx;
	req->mech_name = "LOGIN";
	auth_local_peer_copy(req, &peer);
	req->lookup_kind = SASL_LOOKUP_VERIFY_PASSWORD;
	req->lookup_user = xstrdup(user);
	req->lookup_password = xstrdup(password);
	auth_local_lookup_begin(req);
	req = auth_local_call_end(req);
	return req != NULL ? &req->head : NULL;
}

static struct auth_request *auth_local_user_lookup(struct auth *_auth, const char *user,
						   auth_callback *callback, void *ctx)
{
	struct auth_local *auth = (struct auth_local *)_auth;
	struct auth_local_request *req = auth_local_request_create(auth, AUTH_LOCAL_USER);
	struct sasl_peer peer = { .service = "lookup" };

	req->callback = callback;
	req->ctx = ctx;
	req->mech_name = "lookup";
	auth_local_peer_copy(req, &peer);
	req->throttle_checked = true;	/* not a login */
	req->lookup_kind = SASL_LOOKUP_USER;
	req->lookup_user = xstrdup(user);
	auth_local_lookup_begin(req);
	req = auth_local_call_end(req);
	return req != NULL ? &req->head : NULL;
}

static void auth_local_abort(struct auth_local_request *req)
{
	auth_local_unlink(req);
	req->callback = NULL;
	req->sasl_callback = NULL;
	req->ctx = NULL;
	if (req->state == AUTH_LOCAL_JOB)
		return;	/* auth_local_job_done frees it */
	net_timer_destroy(&req->timer);
	userdb_request_abort(&req->udb);
	if (req->in_call > 0)
		req->answered = true;	/* auth_local_call_end frees it */
	else
		auth_local_request_free(req);
}

static void auth_local_request_abort(struct auth_request *head)
{
	auth_local_abort((struct auth_local_request *)head);
}

static void auth_local_sasl_abort(struct auth_sasl_request *head)
{
	auth_local_abort((struct auth_local_request *)
			 ((char *)head - offsetof(struct auth_local_request, sasl_head)));
}

/* ---- the auth ---- */

static int auth_local_user_exists(struct auth *_auth, const char *user)
{
	struct auth_local *auth = (struct auth_local *)_auth;
	if (auth->db == NULL)
		return -1;
	return userdb_lookup_now(auth->db, user);
}

static void auth_local_reload(struct auth *_auth)
{
	struct auth_local *auth = (struct auth_local *)_auth;
	if (auth->db != NULL)
		userdb_reload(auth->db);
}

static void auth_local_destroy(struct auth *_auth)
{
	struct auth_local *auth = (struct auth_local *)_auth;

	while (auth->requests != NULL)
		auth_local_abort(auth->requests);
	userdb_destroy(&auth->db);
	if (auth->own_throttle)
		auth_throttle_destroy(&auth->throttle);
	free(auth);
}

const struct auth_ops auth_local_ops = {
	.destroy = auth_local_destroy,
	.reload = auth_local_reload,
	.user_exists = auth_local_user_exists,
	.verify_plain = auth_local_verify_plain,
	.user_lookup = auth_local_user_lookup,
	.request_abort = auth_local_request_abort,
	.sasl_start = auth_local_sasl_start,
	.sasl_continue = auth_local_sasl_continue,
	.sasl_abort = auth_local_sasl_abort,
};

struct auth *auth_create(const struct roost_config *config)
{
	struct auth_local *auth = xcalloc(1, sizeof(*auth));
	char *error = NULL;

	auth->auth.ops = &auth_local_ops;
	auth->config = config;
	auth->db = userdb_create(config, &error);
	if (auth->db == NULL) {
		log_error("auth: %s", error);
		free(error);
	}
	if (auth_shared_throttle != NULL) {
		auth->throttle = auth_shared_throttle;
	} else {
		auth->throttle = auth_throttle_create(AUTH_THROTTLE_MAX_ENTRIES,
						      AUTH_THROTTLE_FORGET_SECS);
		auth->own_throttle = true;
	}
	return &auth->auth;
}
