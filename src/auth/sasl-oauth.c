/* sasl-oauth.c: OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's format) with
 * JWT access tokens checked locally (jwt.h) against the keys of
 * auth_oauth_jwks.
 *
 * Both take one client message with a bearer token.  A token that does not
 * verify, or that names another user than the message, is answered with
 * the RFC 7628 section 3.2.2 JSON error as a challenge; the client answers
 * it (OAUTHBEARER: a single %x01, RFC 7628 section 3.2.3; XOAUTH2: an
 * empty response) and the exchange then fails.  A valid token's user is
 * looked up (SASL_LOOKUP_USER) and logs in; Roost does not let one user's
 * token act as another, so an authzid (a=, user=) must name the token's
 * user.  Tokens are bearer credentials: offered only where plaintext
 * passwords are (over TLS).  Never keeps the token past the step. */
#include "sasl.h"
#include "auth.h"
#include "jwks.h"
#include "jwt.h"
#include "base/json.h"
#include "base/str.h"
#include "conf/conf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistr.h>

#define SASL_OAUTH_KVSEP '\x01'

struct sasl_oauth_state {
	bool xoauth2;
	/* the error challenge went out; the next response ends it */
	bool error_sent;
	const char *error;	/* static: why, for the log */
	char user[SASL_PLAIN_MAX_FIELD_LEN + 1];	/* from the token */
	char authzid[SASL_PLAIN_MAX_FIELD_LEN + 1];	/* a= or user= */
};

static void sasl_oauth_init(struct sasl_exchange *ex)
{
	struct sasl_oauth_state *st = sasl_exchange_state(ex);
	st->xoauth2 = sasl_exchange_mech(ex) == &sasl_mech_xoauth2;
}

/* RFC 7628 section 3.2.2: the failure as a JSON object sent as a
 * challenge; the exchange ends with the client's next response. */
static enum sasl_step_result sasl_oauth_fail(struct sasl_exchange *ex, const char *error,
					     struct sasl_output *out)
{
	struct sasl_oauth_state *st = sasl_exchange_state(ex);
	const struct roost_config *config = sasl_exchange_config(ex);
	struct str json = STR_INIT;
	unsigned char *buf;

	str_append(&json, "{\"status\":\"invalid_token\"");
	if (config->auth_oauth_scope[0] != '\0') {
		str_append(&json, ",\"scope\":");
		json_append_string(&json, config->auth_oauth_scope);
	}
	if (config->auth_oauth_openid_configuration[0] != '\0') {
		str_append(&json, ",\"openid-configuration\":");
		json_append_string(&json, config->auth_oauth_openid_configuration);
	}
	str_append_c(&json, '}');
	buf = sasl_exchange_buffer(ex, json.len);
	memcpy(buf, json.data, json.len);
	out->data = buf;
	out->data_len = json.len;
	str_free(&json);
	st->error = error;
	st->error_sent = true;
	return SASL_STEP_CONTINUE;
}

/* RFC 6750 section 2.1:
 *   credentials = "Bearer" 1*SP b64token
 *   b64token    = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
 * Returns the token's start in *token_r, or false. */
static bool sasl_oauth_bearer(const unsigned char *value, size_t len,
			      const unsigned char **token_r, size_t *token_len_r)
{
	size_t i = 6;

	if (len < 7 || strncasecmp((const char *)value, "Bearer", 6) != 0 || value[6] != ' ')
		return false;
	while (i < len && value[i] == ' ')
		i++;
	*token_r = value + i;
	*token_len_r = len - i;
	if (*token_len_r == 0)
		return false;
	for (size_t j = i; j < len; j++) {
		unsigned char c = value[j];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '='))
			return false;
	}
	return true;
}

/* Reads the kvpairs of p[0..len):
 *   kvpair = key "=" value kvsep ; key = 1*ALPHA
 *   value  = *(VCHAR / SP / HTAB / CR / LF)
 * ended by a kvsep alone (the message's last octet).  Fills the value of
 * `auth` (required) and, for XOAUTH2, `user`. */
static bool sasl_oauth_kvpairs(const unsigned char *p, size_t len,
			       const unsigned char **auth_r, size_t *auth_len_r,
			       const unsigned char **user_r, size_t *user_len_r)
{
	size_t i = 0;

	*auth_r = NULL;
	*user_r = NULL;
	while (i < len) {
		if (p[i] == SASL_OAUTH_KVSEP)
			return i + 1 == len && *auth_r != NULL;
		size_t key = i;
		while (i < len && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')))
			i++;
		if (i == key || i == len || p[i] != '=')
			return false;
		size_t key_len = i - key, value = ++i;
		while (i < len && p[i] != SASL_OAUTH_KVSEP) {
			if (!((p[i] >= 0x20 && p[i] <= 0x7e) || p[i] == '\t' || p[i] == '\r' ||
			      p[i] == '\n'))
				return false;
			i++;
		}
		if (i == len)
			return false;
		if (key_len == 4 && memcmp(p + key, "auth", 4) == 0) {
			if (*auth_r != NULL)
				return false;
			*auth_r = p + value;
			*auth_len_r = i - value;
		} else if (key_len == 4 && memcmp(p + key, "user", 4) == 0) {
			if (*user_r != NULL)
				return false;
			*user_r = p + value;
			*user_len_r = i - value;
		}
		i++;	/* kvsep */
	}
	return false;
}

/* OAUTHBEARER's gs2-header (RFC 7628 section 3.1):
 *   gs2-header  = gs2-cb-flag "," [ authzid ] ","
 *   gs2-cb-flag = "n" / "y"    ("p" is refused: no channel binding)
 *   authzid     = "a=" saslname
 * followed by the kvsep that starts the kvpairs.  Returns the offset of
 * the first kvpair or 0 on error. */
static size_t sasl_oauth_gs2_header(const unsigned char *p, size_t len, char *authzid,
				    size_t size)
{
	const unsigned char *comma;

	authzid[0] = '\0';
	if (len < 4 || (p[0] != 'n' && p[0] != 'y') || p[1] != ',')
		return 0;
	comma = memchr(p + 2, ',', len - 2);
	if (comma == NULL)
		return 0;
	size_t azlen = (size_t)(comma - (p + 2));
	if (azlen > 0) {
		if (azlen < 3 || p[2] != 'a' || p[3] != '=' ||
		    !sasl_saslname_decode((const char *)p + 4, azlen - 2, authzid, size) || authzid[0] == '\0')
			return 0;
	}
	size_t off = (size_t)(comma + 1 - p);
	if (off >= len || p[off] != SASL_OAUTH_KVSEP)
		return 0;
	return off + 1;
}

/* Checks the token; on success copies its user into st->user. */
static int sasl_oauth_check_token(struct sasl_exchange *ex, const unsigned char *token,
				  size_t token_len, bool *tempfail_r, const char **error_r)
{
	struct sasl_oauth_state *st = sasl_exchange_state(ex);
	const struct roost_config *config = sasl_exchange_config(ex);
	const struct jwks *jwks;
	struct jwt *jwt;
	const char *user;
	struct jwt_rules rules = {
		.issuer = config->auth_oauth_issuer,
		.audience = config->auth_oauth_audience,
		.username_claim = config->auth_oauth_username_claim,
		.scope = config->auth_oauth_scope,
		.leeway = config->auth_oauth_leeway,
		.now = time(NULL),
	};
	int ret = -1;

	*tempfail_r = false;
	if ((jwks = jwks_file_get(config->auth_oauth_jwks, error_r)) == NULL) {
		*tempfail_r = true;
		return -1;
	}
	if (jwt_parse((const char *)token, token_len, &jwt, error_r) < 0)
		return -1;
	if (jwt_verify_signature(jwt, jwks, error_r) == 0 &&
	    jwt_check_claims(jwt, &rules, &user, error_r) == 0) {
		if (strlen(user) >= sizeof(st->user) ||
		    u8_check((const uint8_t *)user, strlen(user)) != NULL) {
			*error_r = "token user name too long";
		} else {
			strcpy(st->user, user);
			ret = 0;
		}
	}
	jwt_free(&jwt);
	return ret;
}

static bool sasl_oauth_same_user(const char *a, const char *b)
{
	char na[SASL_PLAIN_MAX_FIELD_LEN + 1], nb[SASL_PLAIN_MAX_FIELD_LEN + 1];

	strcpy(na, a);
	strcpy(nb, b);
	auth_user_normalize(na);
	auth_user_normalize(nb);
	return strcmp(na, nb) == 0;
}

static enum sasl_step_result sasl_oauth_step(struct sasl_exchange *ex,
					     const unsigned char *input, size_t input_len,
					     struct sasl_output *out)
{
	struct sasl_oauth_state *st = sasl_exchange_state(ex);
	const unsigned char *auth, *user, *token;
	size_t auth_len = 0, user_len = 0, token_len, off = 0;
	const char *error;
	bool tempfail;

	if (st->error_sent) {
		/* RFC 7628 section 3.2.3: the client's dummy response */
		if (!st->xoauth2 && (input_len != 1 || input[0] != SASL_OAUTH_KVSEP))
			out->error = "Invalid response to the OAuth error";
		else
			out->error = st->error;
		return SASL_STEP_FAILED;
	}
	if (input == NULL) {
		out->data = (const unsigned char *)"";
		out->data_len = 0;
		return SASL_STEP_CONTINUE;
	}
	if (!st->xoauth2) {
		off = sasl_oauth_gs2_header(input, input_len, st->authzid, sizeof(st->authzid));
		if (off == 0) {
			out->error = "Invalid OAUTHBEARER message";
			return SASL_STEP_FAILED;
		}
	}
	if (!sasl_oauth_kvpairs(input + off, input_len - off, &auth, &auth_len, &user,
				&user_len)) {
		out->error = st->xoauth2 ? "Invalid XOAUTH2 message" : "Invalid OAUTHBEARER message";
		return SASL_STEP_FAILED;
	}
	if (st->xoauth2) {
		/* user=<name>: a plain string, not a saslname */
		if (user == NULL || user_len == 0 || user_len >= sizeof(st->authzid) ||
		    memchr(user, '\0', user_len) != NULL || u8_check(user, user_len) != NULL) {
			out->error = "Invalid XOAUTH2 message (user=)";
			return SASL_STEP_FAILED;
		}
		memcpy(st->authzid, user, user_len);
		st->authzid[user_len] = '\0';
	}
	if (!sasl_oauth_bearer(auth, auth_len, &token, &token_len)) {
		out->error = "Invalid auth= value (expected Bearer and a token)";
		return SASL_STEP_FAILED;
	}
	if (sasl_oauth_check_token(ex, token, token_len, &tempfail, &error) < 0) {
		if (tempfail) {
			out->error = "OAuth keys unavailable.";
			out->tempfail = true;
			return SASL_STEP_FAILED;
		}
		return sasl_oauth_fail(ex, error, out);
	}
	if (st->authzid[0] != '\0' && !sasl_oauth_same_user(st->authzid, st->user))
		return sasl_oauth_fail(ex, "token is for another user", out);
	out->lookup.kind = SASL_LOOKUP_USER;
	out->lookup.user = st->user;
	return SASL_STEP_LOOKUP;
}

static enum sasl_step_result sasl_oauth_lookup_done(struct sasl_exchange *ex,
						    const struct sasl_lookup_result *result,
						    struct sasl_output *out)
{
	struct sasl_oauth_state *st = sasl_exchange_state(ex);

	/* a valid token for a user Roost does not know: the JSON error too */
	if (result->status == SASL_LOOKUP_NOT_FOUND || result->status == SASL_LOOKUP_FAILED)
		return sasl_oauth_fail(ex, "token user unknown", out);
	if (result->status != SASL_LOOKUP_OK)
		return sasl_lookup_failed(result, out);
	sasl_exchange_set_identity(ex, result->user != NULL ? result->user : st->user, "");
	return SASL_STEP_DONE;
}

static bool sasl_oauth_usable(const struct roost_config *config, const struct sasl_peer *peer)
{
	return config != NULL && config->auth_oauth_jwks[0] != '\0';
}

const struct sasl_mech sasl_mech_oauthbearer = {
	.name = "OAUTHBEARER",
	.flags = SASL_MECH_FLAG_PLAINTEXT | SASL_MECH_FLAG_USABLE_BY_CONFIG,
	.state_size = sizeof(struct sasl_oauth_state),
	.usable = sasl_oauth_usable,
	.init = sasl_oauth_init,
	.step = sasl_oauth_step,
	.lookup_done = sasl_oauth_lookup_done,
};

const struct sasl_mech sasl_mech_xoauth2 = {
	.name = "XOAUTH2",
	.flags = SASL_MECH_FLAG_PLAINTEXT | SASL_MECH_FLAG_USABLE_BY_CONFIG,
	.state_size = sizeof(struct sasl_oauth_state),
	.usable = sasl_oauth_usable,
	.init = sasl_oauth_init,
	.step = sasl_oauth_step,
	.lookup_done = sasl_oauth_lookup_done,
};
