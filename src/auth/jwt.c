/* jwt.c: JWS compact tokens (RFC 7515), their signatures (RFC 7518) and
 * their claims (RFC 7519).
 *
 * The order matters: the header is read first only to pick the algorithm
 * and the key; claims are looked at only after the signature verified,
 * so an attacker's claims never steer anything. */
#include "jwt.h"
#include "jwks.h"
#include "base/base64.h"
#include "base/json.h"
#include "base/str.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>

/* Headers and claims sets nest little; deeper JSON is refused. */
#define JWT_MAX_JSON_DEPTH 8

static int jwt_decode_json(const char *part, size_t len, struct json_value **value_r)
{
	struct str raw = STR_INIT;
	const char *error;
	int ret = -1;

	if (base64url_decode(part, len, &raw) == 0 &&
	    json_parse(raw.data != NULL ? raw.data : "", raw.len, JWT_MAX_LEN,
		       JWT_MAX_JSON_DEPTH, value_r, &error) == 0) {
		if ((*value_r)->type == JSON_OBJECT)
			ret = 0;
		else
			json_free(value_r);
	}
	str_free(&raw);
	return ret;
}

static enum jwk_type jwt_alg_key_type(const char *alg)
{
	if (strcmp(alg, "HS256") == 0)
		return JWK_TYPE_OCT;
	if (strcmp(alg, "RS256") == 0)
		return JWK_TYPE_RSA;
	return JWK_TYPE_EC_P256;
}

/* RFC 7515 section 7.1:
 *   BASE64URL(UTF8(JWS Protected Header)) || '.' ||
 *   BASE64URL(JWS Payload) || '.' || BASE64URL(JWS Signature) */
int jwt_parse(const char *token, size_t len, struct jwt **jwt_r, const char **error_r)
{
	const char *dot1, *dot2;
	struct jwt *jwt;
	struct str sig = STR_INIT;

	*jwt_r = NULL;
	if (len > JWT_MAX_LEN) {
		*error_r = "token too long";
		return -1;
	}
	dot1 = memchr(token, '.', len);
	dot2 = dot1 == NULL ? NULL : memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL) {
		/* JWE has five parts; a plain string has none */
		*error_r = "not a JWS compact token";
		return -1;
	}
	jwt = xcalloc(1, sizeof(*jwt));
	if (jwt_decode_json(token, (size_t)(dot1 - token), &jwt->header) < 0) {
		*error_r = "token header is not base64url JSON";
		goto fail;
	}
	if (jwt_decode_json(dot1 + 1, (size_t)(dot2 - dot1 - 1), &jwt->claims) < 0) {
		*error_r = "token claims are not base64url JSON";
		goto fail;
	}
	if (base64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &sig) < 0) {
		*error_r = "token signature is not base64url";
		goto fail;
	}
	jwt->alg = json_object_get_string(jwt->header, "alg");
	if (jwt->alg == NULL) {
		*error_r = "token header has no \"alg\"";
		goto fail;
	}
	/* RFC 8725 section 3.1: accept only the algorithms configured;
	 * "none" (RFC 7518 section 3.6) is never one of them */
	if (strcmp(jwt->alg, "HS256") != 0 && strcmp(jwt->alg, "RS256") != 0 &&
	    strcmp(jwt->alg, "ES256") != 0) {
		*error_r = "token algorithm not accepted (HS256, RS256, ES256 only)";
		goto fail;
	}
	if (json_object_get(jwt->header, "kid") != NULL &&
	    (jwt->kid = json_object_get_string(jwt->header, "kid")) == NULL) {
		*error_r = "token \"kid\" is not a string";
		goto fail;
	}
	/* RFC 7515 section 4.1.11: extensions that MUST be understood;
	 * Roost understands none */
	if (json_object_get(jwt->header, "crit") != NULL) {
		*error_r = "token header has \"crit\" extensions";
		goto fail;
	}
	jwt->signing_input_len = (size_t)(dot2 - token);
	jwt->signing_input = xstrndup(token, jwt->signing_input_len);
	jwt->signature_len = sig.len;
	jwt->signature = (unsigned char *)str_steal(&sig);
	*jwt_r = jwt;
	return 0;
fail:
	str_free(&sig);
	jwt_free(&jwt);
	return -1;
}

void jwt_free(struct jwt **jwtp)
{
	struct jwt *jwt = *jwtp;

	if (jwt == NULL)
		return;
	*jwtp = NULL;
	json_free(&jwt->header);
	json_free(&jwt->claims);
	free(jwt->signing_input);
	free(jwt->signature);
	free(jwt);
}

static bool jwt_verify_hs256(const struct jwt *jwt, const struct jwk *key)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;

	if (HMAC(EVP_sha256(), key->secret, (int)key->secret_len,
		 (const unsigned char *)jwt->signing_input, jwt->signing_input_len,
		 mac, &mac_len) == NULL)
		return false;
	return jwt->signature_len == mac_len &&
		CRYPTO_memcmp(mac, jwt->signature, mac_len) == 0;
}

static bool jwt_verify_pkey(const struct jwt *jwt, EVP_PKEY *pkey,
			    const unsigned char *sig, size_t sig_len)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md != NULL &&
		EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)jwt->signing_input,
				 jwt->signing_input_len) == 1;
	EVP_MD_CTX_free(md);
	return ok;
}

/* RFC 7518 section 3.4: an ES256 signature is R || S, 32 octets each;
 * OpenSSL wants the DER ECDSA-Sig-Value. */
static bool jwt_verify_es256(const struct jwt *jwt, const struct jwk *key)
{
	ECDSA_SIG *esig;
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	int der_len;
	bool ok = false;

	if (jwt->signature_len != 64)
		return false;
	esig = ECDSA_SIG_new();
	r = BN_bin2bn(jwt->signature, 32, NULL);
	s = BN_bin2bn(jwt->signature + 32, 32, NULL);
	if (esig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(esig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(esig);
		return false;
	}
	der_len = i2d_ECDSA_SIG(esig, &der);
	if (der_len > 0)
		ok = jwt_verify_pkey(jwt, key->pkey, der, (size_t)der_len);
	OPENSSL_free(der);
	ECDSA_SIG_free(esig);
	return ok;
}

static bool jwt_verify_with(const struct jwt *jwt, const struct jwk *key)
{
	switch (key->type) {
	case JWK_TYPE_OCT:
		return jwt_verify_hs256(jwt, key);
	case JWK_TYPE_RSA:
		return jwt_verify_pkey(jwt, key->pkey, jwt->signature, jwt->signature_len);
	case JWK_TYPE_EC_P256:
		return jwt_verify_es256(jwt, key);
	}
	return false;
}

int jwt_verify_signature(const struct jwt *jwt, const struct jwks *jwks, const char **error_r)
{
	enum jwk_type type = jwt_alg_key_type(jwt->alg);
	bool kid_found = false, tried = false;

	for (size_t i = 0; i < jwks->count; i++) {
		const struct jwk *key = &jwks->keys[i];

		if (jwt->kid != NULL) {
			if (key->kid == NULL || strcmp(key->kid, jwt->kid) != 0)
				continue;
			kid_found = true;
		}
		/* the algorithm must be the key's: never an RSA or EC public
		 * key as an HMAC secret (RFC 8725 section 2.1) */
		if (key->type != type || (key->alg != NULL && strcmp(key->alg, jwt->alg) != 0))
			continue;
		tried = true;
		if (jwt_verify_with(jwt, key))
			return 0;
	}
	if (jwt->kid != NULL && !kid_found)
		*error_r = "token key id unknown";
	else if (!tried)
		*error_r = "token algorithm does not match the key";
	else
		*error_r = "token signature invalid";
	return -1;
}

/* A NumericDate claim (RFC 7519 section 2): a JSON number of seconds.
 * Returns 1 with *value_r, 0 when absent, -1 when not a finite number. */
static int jwt_claim_time(const struct jwt *jwt, const char *name, double *value_r)
{
	const struct json_value *v = json_object_get(jwt->claims, name);

	if (v == NULL)
		return 0;
	if (v->type != JSON_NUMBER || !isfinite(v->u.number))
		return -1;
	*value_r = v->u.number;
	return 1;
}

/* RFC 7519 section 4.1.3: "aud" is a string or an array of strings. */
static bool jwt_audience_has(const struct json_value *aud, const char *audience)
{
	if (aud == NULL)
		return false;
	if (aud->type == JSON_STRING)
		return strlen(aud->u.string.data) == aud->u.string.len &&
			strcmp(aud->u.string.data, audience) == 0;
	if (aud->type != JSON_ARRAY)
		return false;
	for (size_t i = 0; i < aud->u.array.count; i++) {
		if (aud->u.array.items[i]->type == JSON_STRING &&
		    jwt_audience_has(aud->u.array.items[i], audience))
			return true;
	}
	return false;
}

/* RFC 8693 section 4.2: scope = a space-separated list of words. */
static bool jwt_scope_has(const char *scopes, const char *scope)
{
	size_t n = strlen(scope);

	for (const char *p = scopes; p != NULL && *p != '\0';) {
		const char *end = strchr(p, ' ');
		size_t len = end == NULL ? strlen(p) : (size_t)(end - p);
		if (len == n && memcmp(p, scope, n) == 0)
			return true;
		p = end == NULL ? NULL : end + 1;
	}
	return false;
}

int jwt_check_claims(const struct jwt *jwt, const struct jwt_rules *rules,
		     const char **user_r, const char **error_r)
{
	double now = (double)rules->now, leeway = rules->leeway, t;
	const char *iss, *user;
	int ret;

	/* RFC 7519 section 4.1.4: the current time MUST be before "exp" */
	if ((ret = jwt_claim_time(jwt, "exp", &t)) <= 0) {
		*error_r = ret == 0 ? "token has no \"exp\"" : "token \"exp\" is not a number";
		return -1;
	}
	if (now >= t + leeway) {
		*error_r = "token expired";
		return -1;
	}
	/* section 4.1.5: not before "nbf" */
	if ((ret = jwt_claim_time(jwt, "nbf", &t)) < 0 || (ret > 0 && now + leeway < t)) {
		*error_r = "token not valid yet";
		return -1;
	}
	/* section 4.1.6: a token issued in the future is a clock problem or
	 * a forgery; either way not accepted */
	if ((ret = jwt_claim_time(jwt, "iat", &t)) < 0 || (ret > 0 && now + leeway < t)) {
		*error_r = "token issued in the future";
		return -1;
	}
	if (rules->issuer != NULL && rules->issuer[0] != '\0') {
		iss = json_object_get_string(jwt->claims, "iss");
		if (iss == NULL || strcmp(iss, rules->issuer) != 0) {
			*error_r = "token issuer not accepted";
			return -1;
		}
	}
	if (rules->audience != NULL && rules->audience[0] != '\0' &&
	    !jwt_audience_has(json_object_get(jwt->claims, "aud"), rules->audience)) {
		*error_r = "token audience not accepted";
		return -1;
	}
	if (rules->scope != NULL && rules->scope[0] != '\0' &&
	    !jwt_scope_has(json_object_get_string(jwt->claims, "scope"), rules->scope)) {
		*error_r = "token lacks the required scope";
		return -1;
	}
	user = json_object_get_string(jwt->claims, rules->username_claim);
	if (user == NULL || user[0] == '\0') {
		*error_r = "token has no user name claim";
		return -1;
	}
	*user_r = user;
	return 0;
}
