/* cmd-auth.c: STARTTLS, AUTHENTICATE and UNAUTHENTICATE (RFC 5804 2.1,
 * 2.2, 2.14.1).
 *
 * The SASL exchange is IMAP's (auth/auth.h: the same mechanisms and user
 * database, the same growing delays after failures, shared by every
 * worker, the same failure log); it is asynchronous, so AUTHENTICATE
 * answers from its callback.  Plaintext
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
	auth_sasl_abort(&s->sasl);
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

size_t managesieve_auth_mechs(struct managesieve_session *s, const char **names_r, size_t max)
{
	struct sasl_peer peer;
	struct auth_peer_buf buf;
	const char *all[32];
	size_t n = 0;

	auth_peer_from_conn(s->conn, "sieve", &peer, &buf);
	size_t count = auth_mech_advertised(s->config, &peer, all, N_ELEMENTS(all));
	for (size_t i = 0; i < count && n < max; i++) {
		if (strcmp(all[i], "ANONYMOUS") != 0)
			names_r[n++] = all[i];
	}
	return n;
}

/* Sends a challenge: a string, then CRLF (RFC 5804 2.1). */
static void managesieve_auth_challenge(struct managesieve_session *s,
				       const unsigned char *data, size_t len)
{
	struct str b64 = STR_INIT, line = STR_INIT;
	base64_encode(data, len, &b64);
	managesieve_string_append(&line, b64.len > 0 ? b64.data : "", b64.len);
	str_append(&line, "\r\n");
	net_conn_write(s->conn, line.data, line.len);
	str_free(&line);
	str_free(&b64);
}

static void managesieve_auth_callback(const struct auth_sasl_reply *reply, void *ctx)
{
	struct managesieve_session *s = ctx;

	if (reply->status == AUTH_SASL_CONTINUE) {
		managesieve_auth_challenge(s, reply->data, reply->data_len);
		s->sasl_waiting = true;
		/* the response is read as the next "command" */
		managesieve_session_command_done(s);
		return;
	}
	s->sasl = NULL;
	switch (reply->status) {
	case AUTH_SASL_OK:
		if (reply->read_only) {
			managesieve_reply(s, "NO", NULL, "Read-only logins are not offered here.");
			break;
		}
		if (managesieve_session_login(s, reply->user) < 0) {
			managesieve_reply(s, "NO", "TRYLATER", "Script storage unavailable.");
			break;
		}
		log_info("%s: Login: method=%s%s", s->log_prefix, s->auth_method,
			 net_conn_is_tls(s->conn) ? ", TLS" : "");
		if (reply->has_data) {
			/* RFC 5804 2.1: the server's last data goes in the OK */
			struct str code = STR_INIT;
			str_append(&code, "SASL ");
			struct str b64 = STR_INIT;
			base64_encode(reply->data, reply->data_len, &b64);
			managesieve_string_append(&code, b64.len > 0 ? b64.data : "", b64.len);
			str_free(&b64);
			managesieve_reply(s, "OK", str_c(&code), "Logged in.");
			str_free(&code);
		} else {
			managesieve_reply(s, "OK", NULL, "Logged in.");
		}
		break;
	case AUTH_SASL_FAILED:
		managesieve_auth_failed(s, reply->error);
		break;
	case AUTH_SASL_TEMPFAIL:
		managesieve_reply(s, "NO", "TRYLATER", reply->error);
		break;
	case AUTH_SASL_CONTINUE:
		break;
	}
	managesieve_session_command_done(s);
}

/* The longest base64 string that decodes to at most SASL_MAX_RESPONSE_LEN
 * bytes. */
#define MANAGESIEVE_SASL_MAX_B64 (((SASL_MAX_RESPONSE_LEN + 2) / 3) * 4)

/* Decodes a client's base64 string into *decoded_r; "*" cancels.  Returns
 * false after answering (and ending the command) when the data is not a
 * response. */
static bool managesieve_auth_decode(struct managesieve_session *s, const char *data,
				    size_t len, struct str *decoded_r)
{
	if (len == 1 && data[0] == '*') {
		managesieve_auth_abort(s);
		managesieve_reply(s, "NO", NULL, "Authentication aborted by client.");
		managesieve_session_command_done(s);
		return false;
	}
	if (len > MANAGESIEVE_SASL_MAX_B64) {
		managesieve_auth_abort(s);
		managesieve_reply_bad(s, "SASL response too long.");
		managesieve_session_command_done(s);
		return false;
	}
	if (base64_decode(data, len, decoded_r) < 0) {
		str_free(decoded_r);
		managesieve_auth_abort(s);
		managesieve_reply_bad(s, "Invalid base64 data.");
		managesieve_session_command_done(s);
		return false;
	}
	return true;
}

static void managesieve_auth_decoded_free(struct str *decoded)
{
	if (decoded->data != NULL)
		explicit_bzero(decoded->data, decoded->len);
	str_free(decoded);
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
	if (mech != NULL && (mech->flags & SASL_MECH_FLAG_PLAINTEXT) != 0 &&
	    !managesieve_plaintext_allowed(s)) {
		managesieve_reply(s, "NO", "ENCRYPT-NEEDED",
				  "Plaintext authentication is disallowed on non-secure "
				  "connections; use STARTTLS.");
		return true;
	}
	const char *names[32];
	size_t n = managesieve_auth_mechs(s, names, N_ELEMENTS(names));
	bool offered = false;
	for (size_t i = 0; mech != NULL && i < n; i++)
		offered = offered || strcmp(names[i], mech->name) == 0;
	if (!offered) {
		managesieve_reply(s, "NO", NULL, "Unsupported authentication mechanism.");
		return true;
	}
	struct str decoded = STR_INIT;
	if (count == 2 && !managesieve_auth_decode(s, args[1].str, args[1].len, &decoded))
		return false;
	s->auth_method = mech->name;
	auth_peer_from_conn(s->conn, "sieve", &s->sasl_peer, &s->sasl_peer_buf);
	s->sasl = auth_sasl_start(managesieve_auth, mech->name, &s->sasl_peer,
				  count == 1 ? NULL : (const unsigned char *)(decoded.len > 0 ?
									     decoded.data : ""),
				  decoded.len, managesieve_auth_callback, s);
	managesieve_auth_decoded_free(&decoded);
	return false;
}

void managesieve_auth_response(struct managesieve_session *s, const struct managesieve_arg *args,
			       size_t count)
{
	s->sasl_waiting = false;
	s->cmd_pending = true;
	s->in_dispatch = true;
	struct str decoded = STR_INIT;
	if (count != 1 || args[0].type != MANAGESIEVE_ARG_STRING) {
		managesieve_auth_abort(s);
		managesieve_reply_bad(s, "Expected a string with the SASL response.");
		managesieve_session_command_done(s);
	} else if (managesieve_auth_decode(s, args[0].str, args[0].len, &decoded)) {
		auth_sasl_continue(s->sasl, (const unsigned char *)(decoded.len > 0 ?
								    decoded.data : ""),
				   decoded.len);
		managesieve_auth_decoded_free(&decoded);
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
