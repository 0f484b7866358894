/* sasl-digest-md5.c: the DIGEST-MD5 mechanism (RFC 2831), historic (RFC
 * 6331), for old clients only: off unless auth_mechanisms names it.
 *
 *   S: realm="R",nonce="N",qop="auth",charset=utf-8,algorithm=md5-sess
 *   C: username="u",realm="R",nonce="N",cnonce="C",nc=00000001,qop=auth,
 *      digest-uri="imap/host",response=32 hex digits[,authzid="u"]
 *   S: rspauth=32 hex digits            (DONE, success data)
 *
 * Authentication only (qop=auth): no integrity or confidentiality layer,
 * which TLS provides better; no subsequent authentication.  The realms
 * offered are auth_realms, else the host name.  The user's H(user:realm:
 * password) comes from the lookup (scheme "DIGEST-MD5 REALM",
 * password_get_credentials(): from {PLAIN}, or a {DIGEST-MD5} stored for
 * that realm). */
#include "sasl.h"
#include "sasl-test.h"
#include "password.h"
#include "base/base64.h"
#include "base/str.h"
#include "conf/conf.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>
#include <unistr.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

const char *sasl_digest_md5_test_nonce;

/* RFC 2831 section 2.1.2: the digest-response is less than 4096 bytes */
#define DIGEST_MD5_MAX_RESPONSE 4096
#define DIGEST_MD5_MAX_FIELD 255

struct sasl_digest_md5_state {
	bool challenged;
	char nonce[64];
	char user[DIGEST_MD5_MAX_FIELD + 1], realm[DIGEST_MD5_MAX_FIELD + 1];
	char authzid[DIGEST_MD5_MAX_FIELD + 1], cnonce[DIGEST_MD5_MAX_FIELD + 1];
	char digest_uri[DIGEST_MD5_MAX_FIELD + 1], nc[9], response[33];
	char scheme[DIGEST_MD5_MAX_FIELD + 16];
	char rspauth[48];
};

/* The realms offered, space-separated: auth_realms or the host name. */
static const char *sasl_digest_md5_realms(const struct sasl_exchange *ex, char *buf, size_t size)
{
	const struct roost_config *config = sasl_exchange_config(ex);
	if (config != NULL && config->auth_realms != NULL && config->auth_realms[0] != '\0')
		return config->auth_realms;
	if (gethostname(buf, size - 1) < 0 || buf[0] == '\0')
		snprintf(buf, size, "localhost");
	buf[size - 1] = '\0';
	return buf;
}

/* Whether `realm` is one of the offered. */
static bool sasl_digest_md5_realm_offered(const char *realms, const char *realm)
{
	size_t len = strlen(realm);
	for (const char *p = realms; *p != '\0';) {
		size_t n = strcspn(p, " \t");
		if (n == len && n > 0 && memcmp(p, realm, n) == 0)
			return true;
		p += n;
		p += strspn(p, " \t");
	}
	return false;
}

static void sasl_digest_md5_quote(struct str *out, const char *s, size_t len)
{
	str_append_c(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			str_append_c(out, '\\');
		str_append_c(out, s[i]);
	}
	str_append_c(out, '"');
}

static enum sasl_step_result sasl_digest_md5_challenge(struct sasl_exchange *ex,
						       struct sasl_output *out)
{
	struct sasl_digest_md5_state *st = sasl_exchange_state(ex);
	char host[256];
	const char *realms = sasl_digest_md5_realms(ex, host, sizeof(host));
	struct str c = STR_INIT;

	if (sasl_digest_md5_test_nonce != NULL) {
		snprintf(st->nonce, sizeof(st->nonce), "%s", sasl_digest_md5_test_nonce);
	} else {
		unsigned char rnd[18];
		struct str n = STR_INIT;
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			i_panic("digest-md5: getrandom failed");
		base64_encode(rnd, sizeof(rnd), &n);
		snprintf(st->nonce, sizeof(st->nonce), "%s", n.data);
		str_free(&n);
	}
	for (const char *p = realms; *p != '\0';) {
		size_t n = strcspn(p, " \t");
		if (n > 0) {
			str_append(&c, "realm=");
			sasl_digest_md5_quote(&c, p, n);
			str_append_c(&c, ',');
		}
		p += n;
		p += strspn(p, " \t");
	}
	str_printfa(&c, "nonce=\"%s\",qop=\"auth\",charset=utf-8,algorithm=md5-sess", st->nonce);
	unsigned char *buf = sasl_exchange_buffer(ex, c.len);
	memcpy(buf, c.data, c.len);
	out->data = buf;
	out->data_len = c.len;
	str_free(&c);
	st->challenged = true;
	return SASL_STEP_CONTINUE;
}

/* RFC 2831 section 7.1 (RFC 2616's #rule):
 *   1#element  = element *( *LWS "," *LWS element ), empty elements allowed
 *   element    = token "=" ( token | quoted-string )
 * Parses the next directive of in[*pos..len); returns 1 with the key and
 * the (unquoted) value in val (NUL-terminated, at most `size` - 1 bytes),
 * 0 at the end, -1 if malformed or too long. */
static int sasl_digest_md5_next(const char *in, size_t len, size_t *pos, char key[32],
				char *val, size_t size)
{
	size_t i = *pos, n = 0;
	while (i < len && (in[i] == ' ' || in[i] == '\t' || in[i] == ',' || in[i] == '\r' ||
			   in[i] == '\n'))
		i++;
	if (i == len) {
		*pos = i;
		return 0;
	}
	while (i < len && in[i] != '=' && in[i] != ',' && in[i] != ' ' && in[i] != '\t' &&
	       in[i] != '"') {
		if (n == 31)
			return -1;
		key[n++] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] - 'A' + 'a' : in[i]);
		i++;
	}
	key[n] = '\0';
	while (i < len && (in[i] == ' ' || in[i] == '\t'))
		i++;
	if (n == 0 || i == len || in[i] != '=')
		return -1;
	i++;
	while (i < len && (in[i] == ' ' || in[i] == '\t'))
		i++;
	n = 0;
	if (i < len && in[i] == '"') {
		for (i++;; i++) {
			if (i == len)
				return -1;
			if (in[i] == '"')
				break;
			if (in[i] == '\\' && ++i == len)
				return -1;
			if (n + 1 >= size)
				return -1;
			val[n++] = in[i];
		}
		i++;
	} else {
		while (i < len && in[i] != ',' && in[i] != ' ' && in[i] != '\t') {
			if (in[i] == '"' || n + 1 >= size)
				return -1;
			val[n++] = in[i++];
		}
	}
	val[n] = '\0';
	while (i < len && (in[i] == ' ' || in[i] == '\t'))
		i++;
	if (i < len && in[i] != ',')
		return -1;
	*pos = i;
	return 1;
}

static void sasl_digest_md5_hex(const unsigned char *d, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[i * 2] = digits[d[i] >> 4];
		out[i * 2 + 1] = digits[d[i] & 15];
	}
	out[len * 2] = '\0';
}

static void sasl_digest_md5_hash(const void *data, size_t len, unsigned char out[16])
{
	if (EVP_Digest(data, len, out, NULL, EVP_md5(), NULL) != 1)
		i_panic("digest-md5: MD5 failed");
}

static enum sasl_step_result sasl_digest_md5_fail(struct sasl_output *out, const char *error)
{
	out->error = error;
	return SASL_STEP_FAILED;
}

static enum sasl_step_result sasl_digest_md5_response(struct sasl_exchange *ex,
						      const unsigned char *input, size_t len,
						      struct sasl_output *out)
{
	struct sasl_digest_md5_state *st = sasl_exchange_state(ex);
	const struct sasl_peer *peer = sasl_exchange_peer(ex);
	const char *in = (const char *)input;
	char key[32], val[DIGEST_MD5_MAX_FIELD + 1], nonce[DIGEST_MD5_MAX_FIELD + 1] = "";
	char qop[16] = "auth";
	bool seen_user = false, seen_realm = false, seen_nonce = false, utf8 = false;
	size_t pos = 0;
	int ret;

	if (len > DIGEST_MD5_MAX_RESPONSE || memchr(in, '\0', len) != NULL)
		return sasl_digest_md5_fail(out, "Invalid DIGEST-MD5 response");
	while ((ret = sasl_digest_md5_next(in, len, &pos, key, val, sizeof(val))) > 0) {
		char *field = NULL;
		size_t field_size = 0;
		bool *seen = NULL, seen_other = false;
		if (strcmp(key, "username") == 0) {
			field = st->user, field_size = sizeof(st->user), seen = &seen_user;
		} else if (strcmp(key, "realm") == 0) {
			field = st->realm, field_size = sizeof(st->realm), seen = &seen_realm;
		} else if (strcmp(key, "nonce") == 0) {
			field = nonce, field_size = sizeof(nonce), seen = &seen_nonce;
		} else if (strcmp(key, "cnonce") == 0) {
			field = st->cnonce, field_size = sizeof(st->cnonce);
		} else if (strcmp(key, "nc") == 0) {
			field = st->nc, field_size = sizeof(st->nc);
		} else if (strcmp(key, "qop") == 0) {
			field = qop, field_size = sizeof(qop);
		} else if (strcmp(key, "digest-uri") == 0) {
			field = st->digest_uri, field_size = sizeof(st->digest_uri);
		} else if (strcmp(key, "response") == 0) {
			field = st->response, field_size = sizeof(st->response);
		} else if (strcmp(key, "authzid") == 0) {
			field = st->authzid, field_size = sizeof(st->authzid);
		} else if (strcmp(key, "charset") == 0) {
			if (strcasecmp(val, "utf-8") != 0)
				return sasl_digest_md5_fail(out, "Invalid DIGEST-MD5 charset");
			utf8 = true;
			seen = &seen_other;
		} else if (strcmp(key, "cipher") == 0) {
			return sasl_digest_md5_fail(out, "DIGEST-MD5 confidentiality is not supported");
		}
		/* maxbuf and unknown directives are ignored */
		if (field != NULL) {
			if (field[0] != '\0' && field != qop)
				return sasl_digest_md5_fail(out, "Duplicate DIGEST-MD5 directive");
			if (strlen(val) >= field_size)
				return sasl_digest_md5_fail(out, "DIGEST-MD5 directive too long");
			strcpy(field, val);
		}
		if (seen != NULL) {
			if (*seen && seen != &seen_other)
				return sasl_digest_md5_fail(out, "Duplicate DIGEST-MD5 directive");
			*seen = true;
		}
	}
	if (ret < 0)
		return sasl_digest_md5_fail(out, "Invalid DIGEST-MD5 response");
	if (st->user[0] == '\0' || !seen_nonce || st->cnonce[0] == '\0' || st->nc[0] == '\0' ||
	    st->digest_uri[0] == '\0' || strlen(st->response) != 32)
		return sasl_digest_md5_fail(out, "DIGEST-MD5 response lacks a directive");
	if (strcmp(nonce, st->nonce) != 0)
		return sasl_digest_md5_fail(out, "DIGEST-MD5 nonce mismatch");
	/* the first use of the nonce (no subsequent authentication) */
	if (strcmp(st->nc, "00000001") != 0)
		return sasl_digest_md5_fail(out, "DIGEST-MD5 nonce count must be 00000001");
	if (strcmp(qop, "auth") != 0)
		return sasl_digest_md5_fail(out, "Only DIGEST-MD5 qop=auth is supported");
	/* without charset=utf-8 names are ISO 8859-1: accept ASCII only */
	const char *names[] = { st->user, st->realm, st->authzid };
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		const char *s = names[i];
		if (u8_check((const uint8_t *)s, strlen(s)) != NULL)
			return sasl_digest_md5_fail(out, "DIGEST-MD5 name is not valid UTF-8");
		for (; !utf8 && *s != '\0'; s++) {
			if ((unsigned char)*s >= 0x80)
				return sasl_digest_md5_fail(out, "DIGEST-MD5 non-ASCII name without charset=utf-8");
		}
	}
	char host[256];
	if (seen_realm && !sasl_digest_md5_realm_offered(sasl_digest_md5_realms(ex, host, sizeof(host)),
							 st->realm))
		return sasl_digest_md5_fail(out, "DIGEST-MD5 realm was not offered");
	/* RFC 2831 section 2.1.2: digest-uri = serv-type "/" host ["/"
	 * serv-name]; the service must be ours */
	const char *slash = strchr(st->digest_uri, '/');
	if (slash == NULL || slash == st->digest_uri || slash[1] == '\0' ||
	    (peer->service != NULL &&
	     ((size_t)(slash - st->digest_uri) != strlen(peer->service) ||
	      strncasecmp(st->digest_uri, peer->service, strlen(peer->service)) != 0)))
		return sasl_digest_md5_fail(out, "DIGEST-MD5 digest-uri is not for this service");
	if (!sasl_authzid_is_self(st->authzid, st->user))
		return sasl_digest_md5_fail(out,
			"Authorization identity must be empty or the user name");
	snprintf(st->scheme, sizeof(st->scheme), "DIGEST-MD5 %s", st->realm);
	out->lookup.kind = SASL_LOOKUP_CREDENTIALS;
	out->lookup.user = st->user;
	out->lookup.scheme = st->scheme;
	return SASL_STEP_LOOKUP;
}

static enum sasl_step_result sasl_digest_md5_step(struct sasl_exchange *ex,
						  const unsigned char *input, size_t input_len,
						  struct sasl_output *out)
{
	struct sasl_digest_md5_state *st = sasl_exchange_state(ex);

	if (!st->challenged) {
		if (input != NULL && input_len > 0)
			return sasl_digest_md5_fail(out, "DIGEST-MD5 takes no initial response");
		return sasl_digest_md5_challenge(ex, out);
	}
	return sasl_digest_md5_response(ex, input, input_len, out);
}

/* RFC 2831 section 2.1.2.1:
 *   A1 = { H( { username-value, ":", realm-value, ":", passwd } ),
 *          ":", nonce-value, ":", cnonce-value [ ":", authzid-value ] }
 *   A2 = { "AUTHENTICATE:", digest-uri-value }   (rspauth: ":" digest-uri)
 *   response-value = HEX( KD( HEX(H(A1)), { nonce-value, ":" nc-value,
 *                      ":", cnonce-value, ":", qop-value, ":",
 *                      HEX(H(A2)) }))       with KD(k, s) = H({k, ":", s}) */
static void sasl_digest_md5_compute(const struct sasl_digest_md5_state *st,
				    const unsigned char user_hash[16], const char *a2_prefix,
				    char hex_r[33])
{
	struct str s = STR_INIT;
	unsigned char h[16];
	char ha1[33], ha2[33];

	str_append_n(&s, user_hash, 16);
	str_printfa(&s, ":%s:%s", st->nonce, st->cnonce);
	if (st->authzid[0] != '\0')
		str_printfa(&s, ":%s", st->authzid);
	sasl_digest_md5_hash(s.data, s.len, h);
	sasl_digest_md5_hex(h, 16, ha1);
	str_truncate(&s, 0);
	str_printfa(&s, "%s%s", a2_prefix, st->digest_uri);
	sasl_digest_md5_hash(s.data, s.len, h);
	sasl_digest_md5_hex(h, 16, ha2);
	str_truncate(&s, 0);
	str_printfa(&s, "%s:%s:%s:%s:auth:%s", ha1, st->nonce, st->nc, st->cnonce, ha2);
	sasl_digest_md5_hash(s.data, s.len, h);
	sasl_digest_md5_hex(h, 16, hex_r);
	explicit_bzero(s.data, s.len);
	str_free(&s);
	explicit_bzero(ha1, sizeof(ha1));
}

static enum sasl_step_result sasl_digest_md5_lookup_done(struct sasl_exchange *ex,
							 const struct sasl_lookup_result *result,
							 struct sasl_output *out)
{
	struct sasl_digest_md5_state *st = sasl_exchange_state(ex);
	unsigned char user_hash[16];
	char expected[33], response[33];

	if (result->status != SASL_LOOKUP_OK)
		return sasl_lookup_failed(result, out);
	bool bad = password_hex_decode((const char *)result->credentials, result->credentials_len,
					user_hash, sizeof(user_hash)) < 0;
	if (bad) {
		out->tempfail = true;
		return sasl_digest_md5_fail(out, "Temporary authentication failure.");
	}
	sasl_digest_md5_compute(st, user_hash, "AUTHENTICATE:", expected);
	for (size_t i = 0; i < 33; i++)
		response[i] = (char)(st->response[i] >= 'A' && st->response[i] <= 'F' ?
				     st->response[i] - 'A' + 'a' : st->response[i]);
	bool ok = CRYPTO_memcmp(expected, response, 32) == 0;
	if (!ok) {
		explicit_bzero(user_hash, sizeof(user_hash));
		return sasl_digest_md5_fail(out, "Authentication failed.");
	}
	char rsp[33];
	sasl_digest_md5_compute(st, user_hash, ":", rsp);
	explicit_bzero(user_hash, sizeof(user_hash));
	snprintf(st->rspauth, sizeof(st->rspauth), "rspauth=%s", rsp);
	out->data = (const unsigned char *)st->rspauth;
	out->data_len = strlen(st->rspauth);
	out->has_data = true;
	sasl_exchange_set_identity(ex, result->user != NULL ? result->user : st->user,
				   st->authzid);
	return SASL_STEP_DONE;
}

const struct sasl_mech sasl_mech_digest_md5 = {
	.name = "DIGEST-MD5",
	.flags = SASL_MECH_FLAG_NOT_DEFAULT,
	.state_size = sizeof(struct sasl_digest_md5_state),
	.step = sasl_digest_md5_step,
	.lookup_done = sasl_digest_md5_lookup_done,
};
