/* cmd-auth.c: STARTTLS, AUTHENTICATE and UNAUTHENTICATE (RFC 5804 2.1,
 * 2.2, 2.14.1).
 *
 * The password check is IMAP's (auth/auth.h: the same user database,
 * the same growing delays after failures, shared by every worker); it is
 * asynchronous, so AUTHENTICATE answers from its callback.  Plaintext
 * mechanisms are refused on insecure connections unless plaintext_auth
 * allows them.  No password is logged or kept. */
#include "managesieve-private.h"
#include "auth/auth.h"
#include "auth/sasl.h"
#include "base/base64.h"
#include "base/log.h"
#include "conf/conf.h"

#include <stdlib.h>
#include <string.h>

static struct auth *managesieve_auth;

void managesieve_auth_init(const struct roost_config *config)
{
	if (managesieve_auth == NULL)
		managesieve_auth = auth_create(config);
}

void managesieve_auth_reload(void)
{
	if (managesieve_auth != NULL)
		auth_reload(managesieve_auth);
}

void managesieve_auth_abort(struct managesieve_session *s)
{
	if (s->auth_request != NULL)
		auth_request_abort(&s->auth_request);
	if (s->sasl != NULL)
		sasl_exchange_destroy(&s->sasl);
	s->sasl_waiting = false;
}

/* command-starttls = "STARTTLS" */
bool managesieve_cmd_starttls(struct managesieve_session *s, const struct managesieve_arg *args,
			      size_t count)
{
	(void)args;
	if (count != 0) {
		managesieve_reply_bad(s, "STARTTLS takes no arguments.");
		return true;
	}
	if (net_conn_is_tls(s->conn)) {
		managesieve_reply(s, "NO", NULL, "TLS is already active.");
		return true;
	}
	if (!net_conn_can_starttls(s->conn)) {
		managesieve_reply(s, "NO", NULL, "TLS is not available.");
		return true;
	}
	managesieve_reply(s, "OK", NULL, "Begin TLS negotiation now.");
	/* what the client sent after STARTTLS in plaintext is dropped */
	managesieve_parser_reset(s->parser);
	s->tls_pending = true;
	if (net_conn_starttls(s->conn) < 0) {
		s->tls_pending = false;
		managesieve_session_bye(s, NULL, "TLS failed.");
	}
	return true;
}

static void managesieve_auth_failed(struct managesieve_session *s, const char *text)
{
	if (++s->auth_failures >= s->config->max_auth_failures)
		managesieve_session_bye(s, NULL, "Too many authentication failures.");
	else
		managesieve_reply(s, "NO", NULL, text);
}

static void managesieve_auth_callback(enum auth_result result, const char *user, void *ctx)
{
	struct managesieve_session *s = ctx;
	s->auth_request = NULL;
	if (s->sasl != NULL)
		sasl_exchange_destroy(&s->sasl);
	switch (result) {
	case AUTH_RESULT_OK:
		if (managesieve_session_login(s, user) < 0) {
			managesieve_reply(s, "NO", "TRYLATER", "Script storage unavailable.");
			break;
		}
		log_info("%s: Login: method=%s%s", s->log_prefix, s->auth_method,
			 net_conn_is_tls(s->conn) ? ", TLS" : "");
		managesieve_reply(s, "OK", NULL, "Logged in.");
		break;
	case AUTH_RESULT_FAILED:
		log_info("%s: Authentication failed: method=%s, user=<%.64s>, attempt %u",
			 s->log_prefix, s->auth_method, user, s->auth_failures + 1);
		managesieve_auth_failed(s, "Authentication failed.");
		break;
	case AUTH_RESULT_TEMPFAIL:
		managesieve_reply(s, "NO", "TRYLATER", "Temporary authentication failure.");
		break;
	}
	managesieve_session_command_done(s);
}

/* One SASL step with the client's (decoded) data; answers or sends the
 * next challenge.  Finishes the command unless it waits for a response
 * or the password check. */
static void managesieve_auth_step(struct managesieve_session *s, const unsigned char *input,
				  size_t len)
{
	struct sasl_output out;
	enum sasl_step_result ret = sasl_exchange_step(s->sasl, input, len, &out);
	if (ret == SASL_STEP_FAILED || ret == SASL_STEP_DONE ||
	    (ret == SASL_STEP_LOOKUP && out.lookup.kind != SASL_LOOKUP_VERIFY_PASSWORD)) {
		sasl_exchange_destroy(&s->sasl);
		managesieve_auth_failed(s, ret == SASL_STEP_FAILED ? out.error :
					"Mechanism not available.");
		managesieve_session_command_done(s);
		return;
	}
	if (ret == SASL_STEP_CONTINUE) {
		/* a challenge is a string, then CRLF (RFC 5804 2.1) */
		struct str b64 = STR_INIT, line = STR_INIT;
		base64_encode(out.data, out.data_len, &b64);
		managesieve_string_append(&line, b64.len > 0 ? b64.data : "", b64.len);
		str_append(&line, "\r\n");
		net_conn_write(s->conn, line.data, line.len);
		str_free(&line);
		str_free(&b64);
		s->sasl_waiting = true;
		/* the response is read as the next "command" */
		managesieve_session_command_done(s);
		return;
	}
	s->auth_request = auth_verify_plain(managesieve_auth, out.lookup.user,
					    out.lookup.password,
					    net_conn_remote_ip(s->conn),
					    managesieve_auth_callback, s);
}

/* Decodes a client's base64 string and steps; "*" cancels. */
static void managesieve_auth_data(struct managesieve_session *s, const char *data, size_t len)
{
	struct str decoded = STR_INIT;
	if (len == 1 && data[0] == '*') {
		managesieve_auth_abort(s);
		managesieve_reply(s, "NO", NULL, "Authentication aborted by client.");
		managesieve_session_command_done(s);
		return;
	}
	if (base64_decode(data, len, &decoded) < 0) {
		str_free(&decoded);
		managesieve_auth_abort(s);
		managesieve_reply_bad(s, "Invalid base64 data.");
		managesieve_session_command_done(s);
		return;
	}
	managesieve_auth_step(s, (const unsigned char *)(decoded.len > 0 ? decoded.data : ""),
			      decoded.len);
	if (decoded.data != NULL)
		explicit_bzero(decoded.data, decoded.len);
	str_free(&decoded);
}

/* command-authenticate = "AUTHENTICATE" SP auth-type [SP string]
 *                        *(CRLF string) */
bool managesieve_cmd_authenticate(struct managesieve_session *s,
				  const struct managesieve_arg *args, size_t count)
{
	if (count < 1 || count > 2 ||
	    (count == 2 && args[1].type != MANAGESIEVE_ARG_STRING)) {
		managesieve_reply_bad(s, "AUTHENTICATE expects a mechanism and optionally "
				      "an initial response.");
		return true;
	}
	const struct sasl_mech *mech = sasl_mech_find(args[0].str);
	if (mech == NULL || mech->usable != NULL) {	/* see managesieve_capability_write() */
		managesieve_reply(s, "NO", NULL, "Unsupported authentication mechanism.");
		return true;
	}
	if ((mech->flags & SASL_MECH_FLAG_PLAINTEXT) != 0 && !managesieve_plaintext_allowed(s)) {
		managesieve_reply(s, "NO", "ENCRYPT-NEEDED",
				  "Plaintext authentication is disallowed on non-secure "
				  "connections; use STARTTLS.");
		return true;
	}
	s->auth_method = mech->name;
	s->sasl = sasl_exchange_create(mech, s->config, &s->sasl_peer);
	if (count == 1)
		managesieve_auth_step(s, NULL, 0);
	else
		managesieve_auth_data(s, args[1].str, args[1].len);
	return false;
}

void managesieve_auth_response(struct managesieve_session *s, const struct managesieve_arg *args,
			       size_t count)
{
	s->sasl_waiting = false;
	s->cmd_pending = true;
	s->in_dispatch = true;
	if (count != 1 || args[0].type != MANAGESIEVE_ARG_STRING) {
		managesieve_auth_abort(s);
		managesieve_reply_bad(s, "Expected a string with the SASL response.");
		managesieve_session_command_done(s);
	} else {
		managesieve_auth_data(s, args[0].str, args[0].len);
	}
	s->in_dispatch = false;
}

/* command-unauthenticate = "UNAUTHENTICATE" */
bool managesieve_cmd_unauthenticate(struct managesieve_session *s,
				    const struct managesieve_arg *args, size_t count)
{
	(void)args;
	if (count != 0) {
		managesieve_reply_bad(s, "UNAUTHENTICATE takes no arguments.");
		return true;
	}
	log_info("%s: Unauthenticated", s->log_prefix);
	managesieve_session_logout_user(s);
	managesieve_reply(s, "OK", NULL, "Unauthenticate completed.");
	return true;
}
