/* cmd-auth.c: STARTTLS, LOGIN and AUTHENTICATE.
 *
 * Password checks are asynchronous (auth/auth.h runs the hash on a helper
 * thread): the command returns false and finishes from the callback.
 * Plaintext mechanisms are refused on insecure connections unless
 * plaintext_auth allows them (RFC 9051 6.2.3: LOGINDISABLED). */
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

/* ---- the password check shared by LOGIN and AUTHENTICATE ---- */

struct imap_login {
	struct auth_request *request;
	struct sasl_exchange *sasl;
	struct sasl_peer peer;
	const char *method;
	bool in_handler;	/* the callback came before auth_verify_plain returned */
	bool done;
};

static void imap_login_result(struct imap_cmd *cmd, enum auth_result result,
			      const char *user)
{
	struct imap_session *s = cmd->session;
	struct imap_login *login = cmd->ctx;

	switch (result) {
	case AUTH_RESULT_OK:
		if (imap_session_login(s, user) < 0) {
			imap_cmd_no(cmd, "[UNAVAILABLE] Mailbox store unavailable.");
			break;
		}
		log_info("%s: Login: method=%s%s", s->log_prefix, login->method,
			 net_conn_is_tls(s->conn) ? ", TLS" : "");
		struct str caps = STR_INIT;
		imap_capability_write(s, &caps);
		imap_cmd_ok(cmd, "[CAPABILITY %s] Logged in.", str_c(&caps));
		str_free(&caps);
		break;
	case AUTH_RESULT_FAILED:
		s->auth_failures++;
		log_info("%s: Authentication failed: method=%s, user=<%.64s>, attempt %u",
			 s->log_prefix, login->method, user, s->auth_failures);
		imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication failed.");
		if (s->auth_failures >= s->config->max_auth_failures)
			imap_session_bye(s, "Too many authentication failures.");
		break;
	case AUTH_RESULT_TEMPFAIL:
		imap_cmd_no(cmd, "[UNAVAILABLE] Temporary authentication failure.");
		break;
	}
	if (login->sasl != NULL)
		sasl_exchange_destroy(&login->sasl);
}

static void imap_login_callback(enum auth_result result, const char *user, void *ctx)
{
	struct imap_cmd *cmd = ctx;
	struct imap_login *login = cmd->ctx;
	login->request = NULL;
	login->done = true;
	imap_login_result(cmd, result, user);
	if (!login->in_handler)
		imap_cmd_finish(cmd);
}

static void imap_login_abort(struct imap_cmd *cmd)
{
	struct imap_login *login = cmd->ctx;
	if (login->request != NULL)
		auth_request_abort(&login->request);
	if (login->sasl != NULL)
		sasl_exchange_destroy(&login->sasl);
}

/* Starts the check; returns what the handler returns. */
static bool imap_login_verify(struct imap_cmd *cmd, const char *user, const char *password)
{
	struct imap_session *s = cmd->session;
	struct imap_login *login = cmd->ctx;
	cmd->abort = imap_login_abort;
	cmd->raw_line = NULL;
	login->in_handler = true;
	login->request = auth_verify_plain(imap_auth, user, password,
					   net_conn_remote_ip(s->conn),
					   imap_login_callback, cmd);
	login->in_handler = false;
	return login->done;
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
	return imap_login_verify(cmd, user, password);
}

/* ---- AUTHENTICATE ---- */

static bool imap_authenticate_step(struct imap_cmd *cmd, const unsigned char *input,
				   size_t len)
{
	struct imap_session *s = cmd->session;
	struct imap_login *login = cmd->ctx;
	struct sasl_output out;
	enum sasl_step_result ret = sasl_exchange_step(login->sasl, input, len, &out);
	/* mechanisms that proved the identity themselves (GSSAPI, OAuth):
	 * the user must exist; the passwd-file answers from memory */
	while (ret == SASL_STEP_LOOKUP && out.lookup.kind == SASL_LOOKUP_USER) {
		char *user = xstrdup(out.lookup.user);
		auth_user_normalize(user);
		int exists = auth_user_exists(imap_auth, user);
		struct sasl_lookup_result result = {
			.status = exists > 0 ? SASL_LOOKUP_OK :
				exists == 0 ? SASL_LOOKUP_NOT_FOUND : SASL_LOOKUP_TEMPFAIL,
			.user = user,
		};
		ret = sasl_exchange_lookup_done(login->sasl, &result, &out);
		free(user);
	}
	if (ret == SASL_STEP_DONE || (ret == SASL_STEP_FAILED && out.tempfail)) {
		enum auth_result result = ret == SASL_STEP_DONE ? AUTH_RESULT_OK :
			AUTH_RESULT_TEMPFAIL;
		char *user = xstrdup(ret == SASL_STEP_DONE ?
				     sasl_exchange_authcid(login->sasl) : "");
		if (ret == SASL_STEP_DONE && sasl_exchange_authzid(login->sasl)[0] != '\0') {
			/* Roost does not let one user act as another */
			char *authzid = xstrdup(sasl_exchange_authzid(login->sasl));
			auth_user_normalize(authzid);
			if (strcmp(authzid, user) != 0)
				result = AUTH_RESULT_FAILED;
			free(authzid);
		}
		sasl_exchange_destroy(&login->sasl);
		cmd->raw_line = NULL;
		imap_login_result(cmd, result, user);
		free(user);
		return true;
	}
	if (ret == SASL_STEP_FAILED || ret == SASL_STEP_DONE ||
	    (ret == SASL_STEP_LOOKUP && out.lookup.kind != SASL_LOOKUP_VERIFY_PASSWORD)) {
		const char *error = ret == SASL_STEP_FAILED ? out.error :
			"Mechanism not available.";
		sasl_exchange_destroy(&login->sasl);
		s->auth_failures++;
		cmd->raw_line = NULL;
		imap_cmd_no(cmd, "[AUTHENTICATIONFAILED] %s", error);
		if (s->auth_failures >= s->config->max_auth_failures)
			imap_session_bye(s, "Too many authentication failures.");
		return true;
	}
	if (ret == SASL_STEP_CONTINUE) {
		struct str line = STR_INIT;
		str_append(&line, "+ ");
		base64_encode(out.data, out.data_len, &line);
		imap_session_write_line(s, &line);
		str_free(&line);
		return false;
	}
	return imap_login_verify(cmd, out.lookup.user, out.lookup.password);
}

static void imap_authenticate_line(struct imap_cmd *cmd, const char *line)
{
	struct imap_session *s = cmd->session;
	/* RFC 9051 6.2.2: "*" cancels the exchange with a BAD. */
	if (strcmp(line, "*") == 0) {
		imap_login_abort(cmd);
		cmd->raw_line = NULL;
		imap_cmd_bad(cmd, "Authentication aborted by client.");
		imap_cmd_finish(cmd);
		return;
	}
	struct str decoded = STR_INIT;
	if (base64_decode(line, strlen(line), &decoded) < 0) {
		str_free(&decoded);
		imap_login_abort(cmd);
		cmd->raw_line = NULL;
		imap_cmd_bad(cmd, "Invalid base64 data in response.");
		imap_cmd_finish(cmd);
		return;
	}
	net_conn_input_pause(s->conn, true);
	bool done = imap_authenticate_step(cmd, (const unsigned char *)str_c(&decoded),
					   decoded.len);
	explicit_bzero(decoded.data == NULL ? (char *)"" : decoded.data, decoded.len);
	str_free(&decoded);
	if (done)
		imap_cmd_finish(cmd);
	else if (cmd->raw_line != NULL)
		net_conn_input_pause(s->conn, false);
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
	const struct sasl_mech *mech = sasl_mech_find(mech_name);
	if (mech == NULL || (mech->usable != NULL && !mech->usable(s->config, NULL)))
		return imap_cmd_no(cmd, "Unsupported authentication mechanism.");
	if ((mech->flags & SASL_MECH_FLAG_PLAINTEXT) != 0 && !imap_auth_plaintext_allowed(s))
		return imap_cmd_no(cmd, "[PRIVACYREQUIRED] Plaintext authentication "
				   "is disallowed on non-secure connections; use STARTTLS.");
	struct imap_login *login = p_malloc(cmd->pool, sizeof(*login));
	login->method = mech->name;
	login->sasl = sasl_exchange_create(mech, s->config, &login->peer);
	cmd->ctx = login;
	cmd->abort = imap_login_abort;
	cmd->raw_line = imap_authenticate_line;

	if (initial == NULL)
		return imap_authenticate_step(cmd, NULL, 0);
	struct str decoded = STR_INIT;
	if (strcmp(initial, "=") != 0 &&
	    base64_decode(initial, strlen(initial), &decoded) < 0) {
		str_free(&decoded);
		sasl_exchange_destroy(&login->sasl);
		cmd->raw_line = NULL;
		return imap_cmd_bad(cmd, "Invalid base64 in initial response.");
	}
	bool done = imap_authenticate_step(cmd, (const unsigned char *)str_c(&decoded),
					   decoded.len);
	explicit_bzero(decoded.data == NULL ? (char *)"" : decoded.data, decoded.len);
	str_free(&decoded);
	return done;
}
