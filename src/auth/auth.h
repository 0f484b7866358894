/* auth.h: the asynchronous door through which protocols check passwords.
 *
 * One `struct auth` per worker.  A request looks the user up in the user
 * database chain (userdb.h: passwd-files in memory, LDAP), runs the slow
 * hash check on a helper thread (net_job_run) and calls back on the event
 * loop.  A
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

/* Sets up the user database chain config->userdb (read at the first
 * request) and the failed-login table; delays reach
 * config->auth_failure_delay_max seconds at most (0: no delays).
 * `config` is kept by pointer (the mechanisms read their keys from it):
 * it must outlive the auth.  A chain that cannot be made (an unknown
 * source, bad settings: auth_config_check() says which) is logged and
 * answers every request with TEMPFAIL.  Free with auth_destroy(), which
 * sets *auth to NULL and silently drops the requests still running
 * (their callbacks are never called). */
struct auth *auth_create(const struct roost_config *config);
void auth_destroy(struct auth **auth);

/* Re-reads the user database now (SIGHUP).  It is also re-read on its own
 * when the file changes.  A failure is logged; until a read succeeds,
 * requests get TEMPFAIL. */
void auth_reload(struct auth *auth);

/* Checks the auth_* settings and the userdb list of `config` (unknown
 * mechanism names in auth_mechanisms, an unknown userdb source, ...).
 * Returns 0, or -1 with *error_r (allocated; the caller frees it).
 * `roost serve` calls it before starting. */
int auth_config_check(const struct roost_config *config, char **error_r);

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

/* Looks `user` up without a password (LMTP RCPT, `roost deliver`), at
 * once (userdb_lookup_now(): sources that can only answer asynchronously,
 * like LDAP, need auth_user_lookup()).  Returns 1 if the user exists, 0
 * if not, -1 if the database cannot be read (logged). */
int auth_user_exists(struct auth *auth, const char *user);

/* ---- SASL exchanges (AUTHENTICATE in IMAP and ManageSieve) ----
 *
 * The protocol starts an exchange by mechanism name and relays client
 * responses (base64-decoded) and the answers below; the mechanism
 * (sasl.h), the user database chain (userdb.h), the authorisation rule
 * for master users, the throttling and the log line of a failure are all
 * here.  In a login process the same calls relay the exchange to the
 * worker paired with it (auth_create_relay(); the mechanisms, the user
 * database and the throttle run there), so protocol code is the same in
 * both places.  struct auth keeps an ops table for that. */
struct sasl_peer;
struct auth_sasl_request;

enum auth_sasl_status {
	AUTH_SASL_CONTINUE,	/* send `data` as a challenge, then continue */
	AUTH_SASL_OK,		/* logged in as `user` */
	AUTH_SASL_FAILED,	/* NO [AUTHENTICATIONFAILED] `error` */
	AUTH_SASL_TEMPFAIL,	/* NO [UNAVAILABLE] `error` */
};

struct auth_sasl_reply {
	enum auth_sasl_status status;
	/* CONTINUE: the challenge (may be empty); OK with has_data: the
	 * RFC 4422 additional data with success (IMAP sends it as a
	 * challenge and waits for an empty response; ManageSieve puts it in
	 * OK (SASL "...")). */
	const unsigned char *data;
	size_t data_len;
	bool has_data;
	/* OK: the normalised user whose store the session opens, and the
	 * identity that was proven (differs for a master user acting as
	 * `user`; equal otherwise) */
	const char *user;
	const char *authcid;
	/* OK: the session must not change anything (ANONYMOUS) */
	bool read_only;
	/* FAILED, TEMPFAIL: static text for the client */
	const char *error;
	const char *mech;	/* the mechanism's name, for the log */
};

/* Valid during the call only.  After OK, FAILED or TEMPFAIL the request is
 * gone (do not abort it); after CONTINUE it waits for
 * auth_sasl_continue(). */
typedef void auth_sasl_callback(const struct auth_sasl_reply *reply, void *ctx);

/* Starts an exchange with mechanism `mech` (case-insensitive) for a
 * client described by `peer` (copied).  `initial` NULL: no initial
 * response; otherwise initial_len bytes (0 allowed: an empty initial
 * response).  An unknown mechanism, or one auth_mech_advertised() would
 * not offer this peer, is FAILED with an error saying so.  With a worker
 * loop the callback is never called before this returns; without one
 * (unit tests) it may be, and NULL is then returned. */
struct auth_sasl_request *auth_sasl_start(struct auth *auth, const char *mech,
					  const struct sasl_peer *peer,
					  const unsigned char *initial, size_t initial_len,
					  auth_sasl_callback *callback, void *ctx);
/* The client's response to the last CONTINUE (copied). */
void auth_sasl_continue(struct auth_sasl_request *request, const unsigned char *response,
			size_t response_len);
/* The client cancelled, or the connection went away: the callback is
 * never called again.  Sets *request to NULL; NULL is a no-op. */
void auth_sasl_abort(struct auth_sasl_request **request);

/* The mechanisms to advertise to `peer` (AUTH= in IMAP CAPABILITY, SASL
 * in ManageSieve), in the order of sasl_mech_at(): those in
 * config->auth_mechanisms that are usable with this configuration and
 * peer; plaintext ones only when auth_plaintext_allowed() would allow
 * them (`peer->secured` or plaintext_auth); -PLUS ones only with a
 * channel binding.  Fills names_r[0..n) with static names and returns n
 * (at most `max`). */
size_t auth_mech_advertised(const struct roost_config *config, const struct sasl_peer *peer,
			    const char **names_r, size_t max);

/* Fills *peer_r from a connection for `service` ("imap", "sieve"): its
 * addresses (the client's, after PROXY protocol), TLS state, channel
 * bindings and verified client certificate name.  The strings and
 * buffers live in `buf`, which must outlive *peer_r. */
struct auth_peer_buf {
	char remote_ip[64], local_ip[64];
	unsigned char cb_exporter[64], cb_end_point[64];
	char cert_user[256];
};
void auth_peer_from_conn(struct net_conn *conn, const char *service, struct sasl_peer *peer_r,
			 struct auth_peer_buf *buf);

/* Looks `user` up asynchronously (LMTP RCPT with an LDAP directory,
 * `roost deliver`): callback(result, canonical user or NULL, ctx) with
 * result OK, FAILED (no such user) or TEMPFAIL.  Same calling rules as
 * auth_verify_plain() (inline without a loop, returning NULL); cancel
 * with auth_request_abort(). */
struct auth_request *auth_user_lookup(struct auth *auth, const char *user,
				      auth_callback *callback, void *ctx);

/* ---- for implementations of struct auth ----
 *
 * Every call above goes through the ops table of the auth (or of the
 * request) it is given; auth_create() makes the local one (auth.c: the
 * mechanisms, the user database chain and the throttle in this process),
 * and a login process's relay (auth_create_relay()) forwards the same
 * calls to a worker.  An implementation embeds `struct auth` as the first
 * member of its own structure, and `struct auth_request` /
 * `struct auth_sasl_request` as the first member of its requests, with
 * `ops` set.  Each op has the contract of the public function of the same
 * name (abort ops get the request, never NULL, and free it or arrange for
 * it to be freed; auth_destroy() calls `destroy`, which drops the running
 * requests). */
struct auth_ops {
	void (*destroy)(struct auth *auth);
	void (*reload)(struct auth *auth);
	int (*user_exists)(struct auth *auth, const char *user);
	struct auth_request *(*verify_plain)(struct auth *auth, const char *user,
					     const char *password, const char *remote_ip,
					     auth_callback *callback, void *ctx);
	struct auth_request *(*user_lookup)(struct auth *auth, const char *user,
					    auth_callback *callback, void *ctx);
	void (*request_abort)(struct auth_request *request);
	struct auth_sasl_request *(*sasl_start)(struct auth *auth, const char *mech,
						const struct sasl_peer *peer,
						const unsigned char *initial, size_t initial_len,
						auth_sasl_callback *callback, void *ctx);
	void (*sasl_continue)(struct auth_sasl_request *request, const unsigned char *response,
			      size_t response_len);
	void (*sasl_abort)(struct auth_sasl_request *request);
};

struct auth {
	const struct auth_ops *ops;
};
struct auth_request {
	const struct auth_ops *ops;
};
struct auth_sasl_request {
	const struct auth_ops *ops;
};

#endif
