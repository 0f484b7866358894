/* auth.h: the asynchronous door through which protocols check passwords.
 *
 * One `struct auth` per worker.  A request looks the user up in the user
 * database (passwd-file, in memory, on the loop), runs the slow hash check
 * on a helper thread (net_job_run) and calls back on the event loop.  A
 * wrong password and an unknown user give the same answer after the same
 * work (an unknown user is checked against a dummy hash).  Failures are
 * answered after a delay that grows with the recent failures of the remote
 * address and of the user tried, counted by all workers together
 * (auth-throttle.h); a new attempt from that address or for that user made
 * before the delay of its last failure ran out waits for the rest of it;
 * OK is never delayed and clears only its own user's failures from its
 * own address.  The
 * per-connection limit (max_auth_failures, then BYE) is the protocol's.
 * No password is ever logged or kept after the check. */
#ifndef ROOST_AUTH_H
#define ROOST_AUTH_H

#include "base/base.h"

struct roost_config;
struct auth;
struct auth_request;

enum auth_result {
	AUTH_RESULT_OK,		/* user and password are right */
	AUTH_RESULT_FAILED,	/* unknown user or wrong password (IMAP: NO
				   [AUTHENTICATIONFAILED]) */
	AUTH_RESULT_TEMPFAIL,	/* the database cannot be read or the user's
				   entry is broken (IMAP: NO [UNAVAILABLE]) */
};

/* `user` is the name given, normalised (auth_user_normalize): for OK,
 * the name that opens the user's store.  It is valid during the call
 * only.  After the callback the request is gone: do not abort it. */
typedef void auth_callback(enum auth_result result, const char *user, void *ctx);

/* Makes the failed-login table that every auth_create() afterwards uses,
 * in this process and in the processes it forks from now on: `roost
 * serve` calls it before starting its workers, so that they all count
 * failures together.  Without it each struct auth has a table of its own.
 * Idempotent. */
void auth_shared_init(void);

/* Sets up the user database config->userdb (read at the first request)
 * and the failed-login table; delays reach config->auth_failure_delay_max
 * seconds at most (0: no delays).  `config` is not kept.  Free with
 * auth_destroy(), which sets *auth to NULL and silently drops the requests
 * still running (their callbacks are never called). */
struct auth *auth_create(const struct roost_config *config);
void auth_destroy(struct auth **auth);

/* Re-reads the user database now (SIGHUP).  It is also re-read on its own
 * when the file changes.  A failure is logged; until a read succeeds,
 * requests get TEMPFAIL. */
void auth_reload(struct auth *auth);

/* Checks `password` for `user`, as sent by `remote_ip` (the throttle key;
 * NULL or "" for UNIX sockets), and calls callback(result, user, ctx) on
 * the event loop.  `user`, `password` and `remote_ip` are copied; the
 * caller may wipe its password at once.  A password over 1024 bytes is
 * FAILED without being hashed (the cost of SHA-crypt grows with it).
 * Returns the running request, which the caller keeps so that it can call
 * auth_request_abort() if the connection goes away first.  When no job
 * pool is running (CLI tools, unit tests) the check runs inline: the
 * callback is then called before this returns, NULL is returned, and
 * FAILED is not delayed (there is no loop to wait on).  In the server a
 * FAILED answer comes after the throttling delay, from a timer. */
struct auth_request *auth_verify_plain(struct auth *auth, const char *user,
				       const char *password, const char *remote_ip,
				       auth_callback *callback, void *ctx);

/* Cancels a request whose callback has not been called yet: the callback
 * will never be called and `ctx` is not touched again, even though the hash
 * may still be running on a helper thread (the request frees itself when
 * the thread finishes).  Sets *request to NULL; NULL is allowed. */
void auth_request_abort(struct auth_request **request);

/* Whether a plaintext SASL mechanism (PLAIN) or IMAP LOGIN may be used on
 * `conn`: always over TLS, else as config->plaintext_auth says ("local":
 * loopback and UNIX sockets only).  The rule of every protocol with a
 * login (IMAP, ManageSieve). */
struct net_conn;
bool auth_plaintext_allowed(const struct roost_config *config, struct net_conn *conn);

/* Turns a user name into the one form that names its account and its
 * mail store (lowercase, see passwd_file_user_normalize()), in place.
 * auth_verify_plain() answers OK with that form; callers of
 * auth_user_exists() open the store with it. */
void auth_user_normalize(char *user);

/* Looks `user` up without a password (LMTP RCPT, `roost deliver`).
 * Returns 1 if the user exists, 0 if not, -1 if the database cannot be
 * read (logged). */
int auth_user_exists(struct auth *auth, const char *user);

#endif
