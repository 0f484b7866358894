/* managesieve-private.h: what the ManageSieve files share: the session,
 * the response writers and the command table.  Nothing outside
 * src/managesieve includes it. */
#ifndef ROOST_MANAGESIEVE_PRIVATE_H
#define ROOST_MANAGESIEVE_PRIVATE_H

#include "managesieve/parser.h"
#include "base/str.h"
#include "net/net.h"
#include "auth/auth.h"
#include "auth/sasl.h"

struct roost_config;
struct store;

enum managesieve_state {
	MANAGESIEVE_STATE_NOT_AUTH,
	MANAGESIEVE_STATE_AUTH,
};

struct managesieve_session {
	struct net_conn *conn;
	const struct roost_config *config;
	char *log_prefix;
	struct managesieve_parser *parser;
	enum managesieve_state state;
	char *user;		/* NULL until authenticated */
	struct store *store;	/* NULL until authenticated */

	/* AUTHENTICATE in progress (auth/auth.h): the exchange waits for
	 * the client's next response line (sasl_waiting) or for auth */
	struct auth_sasl_request *sasl;
	struct sasl_peer sasl_peer;
	struct auth_peer_buf sasl_peer_buf;
	const char *auth_method;
	bool sasl_waiting;

	/* a command finishes later (a password check, a store request):
	 * input is paused until managesieve_session_command_done() */
	bool cmd_pending;
	bool in_dispatch;	/* inside the command's handler */
	bool destroy_pending;	/* closed while a store request was pending */
	/* a store request waits for its turn (cmd-script.c): it holds the
	 * session, which is freed after it when the connection is gone */
	bool store_pending;
	void (*store_turn)(struct managesieve_session *s);
	/* the arguments of the command waiting for the store (pointing
	 * into the parser's buffer, which input paused keeps) */
	const struct managesieve_arg *store_args;
	size_t store_arg_count;
	bool input_busy, closing, shutting_down, tls_pending;
	unsigned int auth_failures, bad_count;
};

/* ---- responses (session.c) ---- */

/* Appends `data` as a string: quoted when it can be, else as a literal
 * "{n}" CRLF data (RFC 5804 4: literal-s2c). */
void managesieve_string_append(struct str *dest, const char *data, size_t len);
/* Writes "OK"/"NO"/"BYE" [SP "(" code ")"] [SP string] CRLF.  `code` and
 * `text` may be NULL.  A NO counts nothing; see managesieve_reply_bad(). */
void managesieve_reply(struct managesieve_session *s, const char *word, const char *code,
		       const char *text);
/* A NO for a command that could not be understood: counts against
 * max_bad_commands, and says BYE and closes at the limit. */
void managesieve_reply_bad(struct managesieve_session *s, const char *text);
/* Writes BYE and closes after it is sent. */
void managesieve_session_bye(struct managesieve_session *s, const char *code, const char *text);
/* Writes the capability lines (RFC 5804 1.7) followed by `OK`. */
void managesieve_capability_write(struct managesieve_session *s);
/* A pending command has written its answer: input resumes. */
void managesieve_session_command_done(struct managesieve_session *s);
/* Whether plaintext SASL mechanisms may be used on this connection
 * (TLS, or plaintext_auth). */
bool managesieve_plaintext_allowed(struct managesieve_session *s);
/* The SASL mechanisms this connection is offered now (auth_mech_advertised()
 * without ANONYMOUS: a read-only login has no use here).  Returns n. */
size_t managesieve_auth_mechs(struct managesieve_session *s, const char **names_r, size_t max);
/* Logs in as `user` (opens the store).  0, or -1 (logged). */
int managesieve_session_login(struct managesieve_session *s, const char *user);
/* Back to the non-authenticated state (UNAUTHENTICATE). */
void managesieve_session_logout_user(struct managesieve_session *s);

/* ---- commands ---- */

/* A handler answers its command and returns true, or returns false when
 * it answers later and then calls managesieve_session_command_done(). */
typedef bool managesieve_command_func(struct managesieve_session *s,
				      const struct managesieve_arg *args, size_t count);

/* cmd-auth.c */
void managesieve_auth_init(const struct roost_config *config);
void managesieve_auth_reload(void);
bool managesieve_cmd_starttls(struct managesieve_session *s, const struct managesieve_arg *args,
			      size_t count);
bool managesieve_cmd_authenticate(struct managesieve_session *s,
				  const struct managesieve_arg *args, size_t count);
bool managesieve_cmd_unauthenticate(struct managesieve_session *s,
				    const struct managesieve_arg *args, size_t count);
/* The client's response line during AUTHENTICATE (args[0] a string). */
void managesieve_auth_response(struct managesieve_session *s, const struct managesieve_arg *args,
			       size_t count);
/* The session goes away: drops a running exchange or check. */
void managesieve_auth_abort(struct managesieve_session *s);

/* cmd-script.c */
bool managesieve_cmd_havespace(struct managesieve_session *s, const struct managesieve_arg *args,
			       size_t count);
bool managesieve_cmd_putscript(struct managesieve_session *s, const struct managesieve_arg *args,
			       size_t count);
bool managesieve_cmd_checkscript(struct managesieve_session *s,
				 const struct managesieve_arg *args, size_t count);
bool managesieve_cmd_listscripts(struct managesieve_session *s,
				 const struct managesieve_arg *args, size_t count);
bool managesieve_cmd_setactive(struct managesieve_session *s, const struct managesieve_arg *args,
			       size_t count);
bool managesieve_cmd_getscript(struct managesieve_session *s, const struct managesieve_arg *args,
			       size_t count);
bool managesieve_cmd_deletescript(struct managesieve_session *s,
				  const struct managesieve_arg *args, size_t count);
bool managesieve_cmd_renamescript(struct managesieve_session *s,
				  const struct managesieve_arg *args, size_t count);
/* The largest script PUTSCRIPT takes (sieve_max_script_size, or the storage
 * quota if smaller): the literal limit once authenticated. */
uint64_t managesieve_script_max_size(const struct roost_config *config);

#endif
