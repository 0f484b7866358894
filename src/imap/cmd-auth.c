/* cmd-auth.c: STARTTLS, LOGIN and AUTHENTICATE.
 *
 * Password checks and SASL exchanges are asynchronous (auth/auth.h: the
 * mechanisms, the user database and the failure log are there): the
 * command returns false and finishes from the callback, and input is
 * paused while auth works.  Plaintext mechanisms are refused on insecure
 * connections unless plaintext_auth allows them (RFC 9051 6.2.3:
 * LOGINDISABLED). */
#include "commands.h"
#include "syntax/imap-parser.h"
#include "capability.h"
#include "syntax/imap-arg.h"
#include "auth/auth.h"
#include "auth/sasl.h"
#include "base/base64.h"
#include "base/log.h"
#include "conf/conf.h"
#include "net/net.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct auth *imap_auth;

void imap_auth_init(const struct roost_config *config)
{
	if (imap_auth == NULL)
		imap_auth = auth_create(config);
}

void imap_auth_reload(void)
{
	if (imap_auth != NULL)
		auth_reload(imap_auth);
}

bool imap_auth_plaintext_allowed(struct imap_session *s)
{
	return auth_plaintext_allowed(s->config, s->conn);
}

bool cmd_starttls(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	if (!imap_arg_is_eol(&cmd->args[0]))
		return imap_cmd_bad(cmd, "STARTTLS takes no arguments.");
	if (net_conn_is_tls(s->conn))
		return imap_cmd_bad(cmd, "TLS is already active.");
	if (!net_conn_can_starttls(s->conn))
		return imap_cmd_no(cmd, "TLS is not available.");
	imap_cmd_ok(cmd, "Begin TLS negotiation now.");
	/* RFC 9051 6.2.1: whatever the client sent after STARTTLS in
	 * plaintext is discarded; net drops its buffer, we drop our state. */
	imap_parser_reset(s->parser);
	s->tls_pending = true;
	if (net_conn_starttls(s->conn) < 0) {
		s->tls_pending = false;
		imap_session_bye(s, "TLS failed.");
	}
	return true;
}

/* ---- LOGIN and AUTHENTICATE ---- */

struct imap_login {
	struct auth_request *request;		/* LOGIN */
	struct auth_sasl_request *sasl;		/* AUTHENTICATE */
	struct sasl_peer peer;
	struct auth_peer_buf peer_buf;
	const char *method;
	bool in_handler;	/* inside the command's handler */
	bool done;		/* answered while in_handler */
	/* AUTHENTICATE succeeded with additional data: the client's empty
	 * response completes it (RFC 4422 section 5, RFC 9051 6.2.2) */
	bool final_wait;
	char *user, *authcid;
	bool read_only;
};

/* The login succeeded: open the session's store and answer OK. */
static void imap_login_ok(struct imap_cmd *cmd, const char *user, bool read_only)
{
	struct imap_session *s = cmd->session;
	struct imap_login *login = cmd->ctx;

	if (imap_session_login(s, user, read_only) < 0) {
		imap_cmd_no(cmd, "[UNAVAILABLE] Mailbox store unavailable.");
		return;
	}
	log_info("%s: Login: method=%s%s%s", s->log_prefix, login->method,
		 net_conn_is_tls(s->conn) ? ", TLS" : "", read_only ? ", read-only" : "");
	struct str caps = STR_INIT;
	imap_capability_write(s, &caps);
	imap_cmd_ok(cmd, "[CAPABILITY %s] Logged in.", str_c(&caps));
	str_free(&caps);
}

/* A failed login (logged by auth): NO, and BYE after too many. */
static void imap_login_failed(struct imap_cmd *cmd, const char *error)
{
	struct imap_session *s = cmd->session;

	s->auth_failures++;
	imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] %s", error);
	if (s->auth_failures >= s->config->max_auth_failures)
		imap_session_bye(s, "Too many authentication failures.");
}

/* Ends the command from a callback (or lets the handler end it). */
static void imap_login_finish(struct imap_cmd *cmd)
{
	struct imap_login *login = cmd->ctx;
	cmd->raw_line = NULL;
	if (login->in_handler)
		login->done = true;
	else
		imap_cmd_finish(cmd);
}

static void imap_login_callback(enum auth_result result, const char *user, void *ctx)
{
	struct imap_cmd *cmd = ctx;
	struct imap_login *login = cmd->ctx;

	login->request = NULL;
	switch (result) {
	case AUTH_RESULT_OK:
		imap_login_ok(cmd, user, false);
		break;
	case AUTH_RESULT_FAILED:
		imap_login_failed(cmd, "Authentication failed.");
		break;
	case AUTH_RESULT_TEMPFAIL:
		imap_cmd_no(cmd, "[UNAVAILABLE] Temporary authentication failure.");
		break;
	}
	imap_login_finish(cmd);
}

static void imap_login_abort(struct imap_cmd *cmd)
{
	struct imap_login *login = cmd->ctx;
	auth_request_abort(&login->request);
	auth_sasl_abort(&login->sasl);
}

/* login = "LOGIN" SP userid SP password */
bool cmd_login(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	const struct imap_arg *a = cmd->args;
	const char *user, *password;
	if (!imap_arg_get_astring(&a[0], &user, NULL) ||
	    !imap_arg_get_astring(&a[1], &password, NULL) || !imap_arg_is_eol(&a[2]))
		return imap_cmd_bad(cmd, "LOGIN expects user name and password.");
	if (!imap_auth_plaintext_allowed(s))
		return imap_cmd_no(cmd, "[PRIVACYREQUIRED] Plaintext authentication "
				   "is disallowed on non-secure connections; use STARTTLS.");
	struct imap_login *login = p_malloc(cmd->pool, sizeof(*login));
	login->method = "LOGIN";
	cmd->ctx = login;
	cmd->abort = imap_login_abort;
	login->in_handler = true;
	login->request = auth_verify_plain(imap_auth, user, password,
					   net_conn_remote_ip(s->conn),
					   imap_login_callback, cmd);
	login->in_handler = false;
	return login->done;
}

/* ---- AUTHENTICATE ---- */

/* The longest base64 line that decodes to at most SASL_MAX_RESPONSE_LEN
 * bytes. */
#define IMAP_SASL_MAX_LINE (((SASL_MAX_RESPONSE_LEN + 2) / 3) * 4)

static void imap_authenticate_line(struct imap_cmd *cmd, const char *line);

/* Sends a challenge and takes the client's next line.  While auth works
 * the command has no raw_line handler and input is paused, so a line the
 * client sends early waits in the buffer. */
static void imap_authenticate_challenge(struct imap_cmd *cmd, const unsigned char *data,
					size_t len)
{
	struct imap_session *s = cmd->session;
	struct str line = STR_INIT;
	str_append(&line, "+ ");
	base64_encode(data, len, &line);
	imap_session_write_line(s, &line);
	str_free(&line);
	cmd->raw_line = imap_authenticate_line;
	net_conn_input_pause(s->conn, false);
}

static void imap_sasl_callback(const struct auth_sasl_reply *reply, void *ctx)
{
	struct imap_cmd *cmd = ctx;
	struct imap_login *login = cmd->ctx;

	if (reply->status == AUTH_SASL_CONTINUE) {
		imap_authenticate_challenge(cmd, reply->data, reply->data_len);
		return;
	}
	login->sasl = NULL;
	switch (reply->status) {
	case AUTH_SASL_OK:
		if (reply->has_data) {
			login->final_wait = true;
			login->user = p_strdup(cmd->pool, reply->user);
			login->read_only = reply->read_only;
			imap_authenticate_challenge(cmd, reply->data, reply->data_len);
			return;
		}
		imap_login_ok(cmd, reply->user, reply->read_only);
		break;
	case AUTH_SASL_FAILED:
		imap_login_failed(cmd, reply->error);
		break;
	case AUTH_SASL_TEMPFAIL:
		imap_cmd_no(cmd, "[UNAVAILABLE] %s", reply->error);
		break;
	case AUTH_SASL_CONTINUE:
		break;
	}
	imap_login_finish(cmd);
}

/* Ends AUTHENTICATE with BAD from the line handler. */
static void imap_authenticate_bad(struct imap_cmd *cmd, const char *text)
{
	imap_login_abort(cmd);
	cmd->raw_line = NULL;
	imap_cmd_bad(cmd, "%s", text);
	imap_cmd_finish(cmd);
}

static void imap_authenticate_line(struct imap_cmd *cmd, const char *line)
{
	struct imap_session *s = cmd->session;
	struct imap_login *login = cmd->ctx;

	/* RFC 9051 6.2.2: "*" cancels the exchange with a BAD. */
	if (strcmp(line, "*") == 0) {
		imap_authenticate_bad(cmd, "Authentication aborted by client.");
		return;
	}
	if (login->final_wait) {
		/* the answer to the success data must be empty */
		cmd->raw_line = NULL;
		if (line[0] != '\0')
			imap_login_failed(cmd, "Expected an empty response.");
		else
			imap_login_ok(cmd, login->user, login->read_only);
		imap_cmd_finish(cmd);
		return;
	}
	if (login->sasl == NULL) {
		imap_authenticate_bad(cmd, "No authentication exchange is running.");
		return;
	}
	size_t len = strlen(line);
	if (len > IMAP_SASL_MAX_LINE) {
		imap_authenticate_bad(cmd, "SASL response too long.");
		return;
	}
	struct str decoded = STR_INIT;
	if (base64_decode(line, len, &decoded) < 0) {
		str_free(&decoded);
		imap_authenticate_bad(cmd, "Invalid base64 data in response.");
		return;
	}
	/* no more input until auth answers */
	cmd->raw_line = NULL;
	net_conn_input_pause(s->conn, true);
	auth_sasl_continue(login->sasl, (const unsigned char *)(decoded.len > 0 ?
								decoded.data : ""),
			   decoded.len);
	if (decoded.data != NULL)
		explicit_bzero(decoded.data, decoded.len);
	str_free(&decoded);
}

/* Whether `peer` is offered `mech` now (the AUTH= list of CAPABILITY). */
static bool imap_authenticate_offered(struct imap_session *s, const struct sasl_peer *peer,
				      const struct sasl_mech *mech)
{
	const char *names[32];
	size_t n = auth_mech_advertised(s->config, peer, names, N_ELEMENTS(names));
	for (size_t i = 0; i < n; i++) {
		if (strcmp(names[i], mech->name) == 0)
			return true;
	}
	return false;
}

/* authenticate = "AUTHENTICATE" SP auth-type [SP initial-resp]
 *                *(CRLF base64)
 * initial-resp = (base64 / "=")      (RFC 9051, SASL-IR) */
bool cmd_authenticate(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	const struct imap_arg *a = cmd->args;
	const char *mech_name, *initial = NULL;
	if (!imap_arg_get_atom(&a[0], &mech_name) ||
	    (!imap_arg_is_eol(&a[1]) && (!imap_arg_get_atom(&a[1], &initial) ||
					!imap_arg_is_eol(&a[2]))))
		return imap_cmd_bad(cmd, "AUTHENTICATE expects a mechanism and "
				    "optionally an initial response.");
	struct imap_login *login = p_malloc(cmd->pool, sizeof(*login));
	auth_peer_from_conn(s->conn, "imap", &login->peer, &login->peer_buf);
	const struct sasl_mech *mech = sasl_mech_find(mech_name);
	if (mech != NULL && (mech->flags & SASL_MECH_FLAG_PLAINTEXT) != 0 &&
	    !imap_auth_plaintext_allowed(s))
		return imap_cmd_no(cmd, "[PRIVACYREQUIRED] Plaintext authentication "
				   "is disallowed on non-secure connections; use STARTTLS.");
	if (mech == NULL || !imap_authenticate_offered(s, &login->peer, mech))
		return imap_cmd_no(cmd, "Unsupported authentication mechanism.");
	if (initial != NULL && strlen(initial) > IMAP_SASL_MAX_LINE)
		return imap_cmd_bad(cmd, "SASL initial response too long.");
	struct str decoded = STR_INIT;
	if (initial != NULL && strcmp(initial, "=") != 0 &&
	    base64_decode(initial, strlen(initial), &decoded) < 0) {
		str_free(&decoded);
		return imap_cmd_bad(cmd, "Invalid base64 in initial response.");
	}
	login->method = mech->name;
	cmd->ctx = login;
	cmd->abort = imap_login_abort;
	/* no more input until auth answers (imap_authenticate_challenge) */
	net_conn_input_pause(s->conn, true);
	login->in_handler = true;
	login->sasl = auth_sasl_start(imap_auth, mech->name, &login->peer,
				      initial == NULL ? NULL :
				      (const unsigned char *)(decoded.len > 0 ? decoded.data : ""),
				      decoded.len, imap_sasl_callback, cmd);
	login->in_handler = false;
	if (decoded.data != NULL)
		explicit_bzero(decoded.data, decoded.len);
	str_free(&decoded);
	return login->done;
}
