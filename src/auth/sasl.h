/* sasl.h: SASL mechanisms (RFC 4422), independent of the protocol.
 *
 * A mechanism is a small state machine.  The driver (auth.c, the only
 * caller of these functions besides unit tests) creates an exchange,
 * steps it with each client response (already base64-decoded) and acts on
 * what a step returns:
 *
 *   SASL_STEP_CONTINUE  send out->data as a challenge, step again with the
 *                       client's answer;
 *   SASL_STEP_LOOKUP    the mechanism needs the user database: the driver
 *                       runs out->lookup (asynchronously; it may take a
 *                       helper thread or an LDAP round trip) and then
 *                       calls sasl_exchange_lookup_done() with the result,
 *                       which returns one of these values again;
 *   SASL_STEP_DONE      the client is authenticated as
 *                       sasl_exchange_authcid(); out->data (possibly
 *                       empty, out->has_data) is the RFC 4422 "additional
 *                       data with success" (SCRAM's server-final);
 *   SASL_STEP_FAILED    out->error is a static message for the client and
 *                       the log; the exchange is over.
 *
 * Authentication and authorisation are apart: a mechanism proves the
 * authcid and reports the authzid the client asked for ("" for none),
 * and the driver decides whether that authcid may act as that authzid
 * (master users, auth_master_users).  Mechanisms never touch the user
 * database or a socket themselves and never log; they run on the event
 * loop, except that slow arithmetic (PBKDF2) happens in the lookup, which
 * the driver runs on a helper thread.  Secrets are wiped when the
 * exchange is destroyed.
 *
 * New mechanisms are a `struct sasl_mech` in a sasl-*.c file and a line in
 * the table of sasl.c; the protocols (IMAP AUTHENTICATE, ManageSieve
 * AUTHENTICATE, the login processes' relay) do not change. */
#ifndef ROOST_AUTH_SASL_H
#define ROOST_AUTH_SASL_H

#include "base/base.h"

struct roost_config;

/* RFC 4616 section 2: each of authzid, authcid and passwd is at most 255
 * octets. */
#define SASL_PLAIN_MAX_FIELD_LEN 255
/* The longest client response any mechanism accepts (a Kerberos ticket
 * with a large PAC, an OAuth token); the protocols refuse longer lines
 * before decoding. */
#define SASL_MAX_RESPONSE_LEN 65536

/* What the connection tells a mechanism about its client.  Every pointer
 * is valid for the whole exchange (the driver copies the peer). */
struct sasl_peer {
	const char *remote_ip;		/* "192.0.2.1"; "" for UNIX sockets */
	const char *local_ip;
	unsigned int remote_port, local_port;
	/* TLS is up between the client and Roost (or a login process or a
	 * trusted PROXY-protocol balancer that terminates it, when that says
	 * so) */
	bool secured;
	/* the protocol, as GSSAPI names its service: "imap", "sieve" */
	const char *service;
	/* RFC 9266 tls-exporter and RFC 5929 tls-server-end-point channel
	 * bindings of the TLS connection; NULL with length 0 when there is
	 * no TLS or the binding is unavailable (tls-exporter needs TLS 1.3,
	 * or 1.2 with extended master secret). */
	const unsigned char *cb_tls_exporter;
	size_t cb_tls_exporter_len;
	const unsigned char *cb_tls_server_end_point;
	size_t cb_tls_server_end_point_len;
	/* The user name from a TLS client certificate that verified against
	 * tls_client_ca (the field auth_ssl_username_from names); NULL when
	 * there is none.  EXTERNAL's identity. */
	const char *cert_user;
};

/* What a mechanism asks of the user database. */
enum sasl_lookup_kind {
	/* Check out->lookup.password for out->lookup.user (PLAIN, LOGIN,
	 * XOAUTH2 never: see OAUTH).  Result: OK, FAILED (wrong password
	 * or no such user: the same answer), TEMPFAIL. */
	SASL_LOOKUP_VERIFY_PASSWORD,
	/* The user's stored credentials in the scheme out->lookup.scheme
	 * ("SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "DIGEST-MD5",
	 * "PLAIN"; see password_get_credentials()).  Result: OK with
	 * `credentials`, NOT_FOUND (no such user, or no credentials of that
	 * scheme can be had for it: the mechanism must then fail in a way
	 * that does not tell the two apart from a wrong password),
	 * TEMPFAIL. */
	SASL_LOOKUP_CREDENTIALS,
	/* Whether out->lookup.user exists (EXTERNAL, GSSAPI, OAUTHBEARER,
	 * XOAUTH2, ANONYMOUS: the mechanism proved the identity itself).
	 * Result: OK, NOT_FOUND, TEMPFAIL. */
	SASL_LOOKUP_USER,
};

enum sasl_lookup_status {
	SASL_LOOKUP_OK,
	SASL_LOOKUP_FAILED,
	SASL_LOOKUP_NOT_FOUND,
	SASL_LOOKUP_TEMPFAIL,
};

struct sasl_lookup {
	enum sasl_lookup_kind kind;
	const char *user;	/* as the client gave it; the driver normalises */
	const char *password;	/* VERIFY_PASSWORD only */
	const char *scheme;	/* CREDENTIALS only */
};

struct sasl_lookup_result {
	enum sasl_lookup_status status;
	/* CREDENTIALS and OK: the stored data of the scheme asked for,
	 * without "{SCHEME}" (password_get_credentials() form); owned by
	 * the driver, valid during sasl_exchange_lookup_done() only. */
	const unsigned char *credentials;
	size_t credentials_len;
	/* OK: the user's canonical name (normalised; an LDAP lookup may map
	 * an alias to it) */
	const char *user;
};

enum sasl_step_result {
	SASL_STEP_CONTINUE,
	SASL_STEP_LOOKUP,
	SASL_STEP_DONE,
	SASL_STEP_FAILED,
};

struct sasl_output {
	/* CONTINUE: the challenge; DONE: success data when has_data.
	 * Owned by the exchange, valid until its next call. */
	const unsigned char *data;
	size_t data_len;
	bool has_data;
	/* LOOKUP: what to look up (strings owned by the exchange, valid
	 * until sasl_exchange_lookup_done() returns) */
	struct sasl_lookup lookup;
	/* FAILED: a static message for the client and the log, without
	 * secrets */
	const char *error;
	/* FAILED: the failure was the server's (TEMPFAIL from a lookup, a
	 * keytab that cannot be read): IMAP answers NO [UNAVAILABLE] and
	 * the attempt does not count as a failed login */
	bool tempfail;
};

struct sasl_exchange;

enum sasl_mech_flags {
	/* The client sends the password itself, readable by anyone on the
	 * wire: offer only over TLS (or as plaintext_auth allows). */
	SASL_MECH_FLAG_PLAINTEXT = 1 << 0,
	/* A -PLUS mechanism: offer only when the peer has a channel binding
	 * (RFC 5802 section 6: advertised only over TLS). */
	SASL_MECH_FLAG_CHANNEL_BINDING = 1 << 1,
	/* Off unless auth_mechanisms names it (DIGEST-MD5, ANONYMOUS). */
	SASL_MECH_FLAG_NOT_DEFAULT = 1 << 2,
	/* usable() looks only at the configuration and the files it names
	 * (a keytab), never at the peer: a sandboxed login process, which
	 * cannot open those files, keeps the answer it got before entering
	 * its sandbox (auth_mech_freeze_usable()). */
	SASL_MECH_FLAG_USABLE_BY_CONFIG = 1 << 4,
};

struct sasl_mech {
	const char *name;		/* "SCRAM-SHA-256-PLUS", upper case */
	unsigned int flags;		/* enum sasl_mech_flags */
	/* Size of the mechanism's state following struct sasl_exchange. */
	size_t state_size;
	/* Optional: whether the mechanism can work with this configuration
	 * and peer (keytab readable, JWT keys configured, a client
	 * certificate present, ...); it is then advertised if
	 * auth_mechanisms allows it.  NULL: always. */
	bool (*usable)(const struct roost_config *config, const struct sasl_peer *peer);
	/* Optional: called once when the exchange is created. */
	void (*init)(struct sasl_exchange *exchange);
	/* One client response; see sasl_exchange_step(). */
	enum sasl_step_result (*step)(struct sasl_exchange *exchange,
				      const unsigned char *input, size_t input_len,
				      struct sasl_output *out);
	/* The answer to the mechanism's last LOOKUP; NULL if it never asks
	 * for one.  Same returns as step. */
	enum sasl_step_result (*lookup_done)(struct sasl_exchange *exchange,
					     const struct sasl_lookup_result *result,
					     struct sasl_output *out);
	/* Wipes and frees what the state points to (may be NULL). */
	void (*deinit)(struct sasl_exchange *exchange);
};

/* Returns the mechanism called `name` (case-insensitive), or NULL. */
const struct sasl_mech *sasl_mech_find(const char *name);
/* Every mechanism Roost has, in the order to advertise them; NULL past
 * the last.  Static storage.  Which of them a connection is offered is
 * auth_mech_advertised()'s business. */
const struct sasl_mech *sasl_mech_at(size_t i);

/* Adds `mech` after the table's mechanisms (at most 4), for unit tests:
 * a fake mechanism that exercises every kind of lookup of the driver.
 * `mech` must stay valid. */
void sasl_mech_register(const struct sasl_mech *mech);

/* Starts an exchange with `mech` for a client described by `peer` under
 * `config` (both kept by pointer: they must outlive the exchange).  Free
 * with sasl_exchange_destroy(). */
struct sasl_exchange *sasl_exchange_create(const struct sasl_mech *mech,
					   const struct roost_config *config,
					   const struct sasl_peer *peer);
/* Wipes the exchange's secrets and frees it; sets *exchange to NULL. */
void sasl_exchange_destroy(struct sasl_exchange **exchange);

/* Feeds the client's next response.  For the first step, `input` NULL
 * means the client sent no initial response (IMAP: AUTHENTICATE without
 * SASL-IR); an empty initial response is a non-NULL input of length 0.
 * Later steps always have a non-NULL input.  *out is cleared first.
 * Stepping after DONE or FAILED, or while a LOOKUP is outstanding, is a
 * bug (panic). */
enum sasl_step_result sasl_exchange_step(struct sasl_exchange *exchange,
					 const unsigned char *input, size_t input_len,
					 struct sasl_output *out);
/* Gives the exchange the answer to its outstanding LOOKUP.  *out is
 * cleared first.  Same returns as sasl_exchange_step(). */
enum sasl_step_result sasl_exchange_lookup_done(struct sasl_exchange *exchange,
						const struct sasl_lookup_result *result,
						struct sasl_output *out);

const struct sasl_mech *sasl_exchange_mech(const struct sasl_exchange *exchange);
const struct roost_config *sasl_exchange_config(const struct sasl_exchange *exchange);
const struct sasl_peer *sasl_exchange_peer(const struct sasl_exchange *exchange);

/* After DONE: the authentication identity (the user proven; for
 * ANONYMOUS the configured auth_anonymous_user) and the authorization
 * identity the client asked for ("" when none).  NUL-free, valid UTF-8,
 * owned by the exchange. */
const char *sasl_exchange_authcid(const struct sasl_exchange *exchange);
const char *sasl_exchange_authzid(const struct sasl_exchange *exchange);
/* After DONE: the session must be read-only (ANONYMOUS). */
bool sasl_exchange_read_only(const struct sasl_exchange *exchange);
/* What the mechanism wants in the driver's log line of the login (the
 * ANONYMOUS trace), or NULL.  Owned by the exchange. */
const char *sasl_exchange_log_note(const struct sasl_exchange *exchange);

/* ---- for mechanism implementations ---- */
/* RFC 5801 section 5 / RFC 5802 section 7 saslname, as SCRAM's n= and a=
 * and OAUTHBEARER's a= carry it:
 *   saslname = 1*(value-safe-char / "=2C" / "=3D")
 * Decodes p[0..len) into dest (NUL-terminated, at most size - 1 bytes);
 * returns false if it is empty, too long, has a bad '=' escape, a ','
 * or NUL, or is not UTF-8. */
bool sasl_saslname_decode(const char *p, size_t len, char *dest, size_t size);

/* The mechanism's state (state_size bytes, zeroed at create). */
void *sasl_exchange_state(struct sasl_exchange *exchange);
/* Sets the identities when a mechanism completes (copied).  `authzid`
 * NULL is "". */
void sasl_exchange_set_identity(struct sasl_exchange *exchange, const char *authcid,
				const char *authzid);
void sasl_exchange_set_read_only(struct sasl_exchange *exchange);
/* Whether an authorization identity a client asked for names the
 * account it authenticated as: empty, or equal to `authcid` once both
 * are normalised (auth_user_normalize(): "Demo" is "demo").  The rule of
 * every mechanism but PLAIN with master users. */
bool sasl_authzid_is_self(const char *authzid, const char *authcid);
/* Sets the log note (copied; valid UTF-8 without control characters, at
 * most a line's worth: the driver logs it as it is). */
void sasl_exchange_set_log_note(struct sasl_exchange *exchange, const char *note);
/* The FAILED step for a lookup answer other than OK: TEMPFAIL becomes
 * a temporary failure, the rest "Authentication failed." (wrong password
 * and unknown user alike).  Returns SASL_STEP_FAILED. */
enum sasl_step_result sasl_lookup_failed(const struct sasl_lookup_result *result,
					 struct sasl_output *out);
/* For a lookup that decides the exchange (VERIFY_PASSWORD, USER): OK sets
 * the identities (result->user, else `authcid`; `authzid`) and is DONE;
 * anything else is sasl_lookup_failed(). */
enum sasl_step_result sasl_lookup_identity(struct sasl_exchange *exchange,
					   const struct sasl_lookup_result *result,
					   const char *authcid, const char *authzid,
					   struct sasl_output *out);
/* A buffer the exchange owns for out->data and lookup strings: returns
 * `len` bytes that stay valid until the next call of this function or the
 * exchange's end (wiped then). */
unsigned char *sasl_exchange_buffer(struct sasl_exchange *exchange, size_t len);

/* The mechanisms, one or two per sasl-*.c file. */
extern const struct sasl_mech sasl_mech_plain;
extern const struct sasl_mech sasl_mech_login;
extern const struct sasl_mech sasl_mech_scram_sha_1;
extern const struct sasl_mech sasl_mech_scram_sha_1_plus;
extern const struct sasl_mech sasl_mech_scram_sha_256;
extern const struct sasl_mech sasl_mech_scram_sha_256_plus;
extern const struct sasl_mech sasl_mech_cram_md5;
extern const struct sasl_mech sasl_mech_digest_md5;
extern const struct sasl_mech sasl_mech_oauthbearer;
extern const struct sasl_mech sasl_mech_xoauth2;
extern const struct sasl_mech sasl_mech_external;
extern const struct sasl_mech sasl_mech_gssapi;
extern const struct sasl_mech sasl_mech_anonymous;

#endif
