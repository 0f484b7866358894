/* jwt.h: validating JWT access tokens (RFC 7519) locally.
 *
 * Only the JWS compact serialization (RFC 7515 section 7.1) with one of
 * HS256, RS256 or ES256 (RFC 7518 section 3.1) is accepted: "none", every
 * other algorithm, JWE tokens and a "crit" header are refused.  The key
 * must be of the algorithm's type, so an RS256 header cannot make Roost
 * use an RSA public key as an HMAC secret or an HMAC secret as anything
 * but one.  Claims: "exp" is required, "nbf" and "iat" are honoured, all
 * with a leeway for clock skew; "iss" and "aud" are checked when
 * configured.  Nothing here logs or keeps the token. */
#ifndef ROOST_AUTH_JWT_H
#define ROOST_AUTH_JWT_H

#include "base/base.h"

#include <time.h>

struct json_value;
struct jwks;

/* The longest token accepted (bytes of the compact form). */
#define JWT_MAX_LEN 16384

/* A token split and decoded, its signature not checked yet. */
struct jwt {
	struct json_value *header, *claims;
	const char *alg;	/* in header */
	const char *kid;	/* in header; NULL when none */
	/* the JWS Signing Input: the token up to its second '.' */
	char *signing_input;
	size_t signing_input_len;
	unsigned char *signature;
	size_t signature_len;
};

/* What the claims must satisfy. */
struct jwt_rules {
	const char *issuer;		/* "" or NULL: not checked */
	const char *audience;		/* "" or NULL: not checked */
	const char *username_claim;	/* the claim naming the user */
	/* "" or NULL: not checked; else one of the space-separated words
	 * of the "scope" claim (RFC 8693 section 4.2) */
	const char *scope;
	unsigned int leeway;		/* seconds of clock skew allowed */
	time_t now;
};

/* Splits token[0..len) into header, claims and signature, decodes them
 * and checks the header (alg, crit).  Returns 0 with *jwt_r (free with
 * jwt_free()) or -1 with *error_r (static). */
int jwt_parse(const char *token, size_t len, struct jwt **jwt_r, const char **error_r);
void jwt_free(struct jwt **jwt);

/* Checks the signature with the key of `jwks` the header's "kid" names
 * (or, without a kid, each key of the algorithm's type).  Returns 0 if
 * one verifies, -1 with *error_r otherwise. */
int jwt_verify_signature(const struct jwt *jwt, const struct jwks *jwks, const char **error_r);

/* Checks the claims against `rules`.  Returns 0 with *user_r (pointing
 * into jwt, NUL-free UTF-8, not empty) or -1 with *error_r. */
int jwt_check_claims(const struct jwt *jwt, const struct jwt_rules *rules,
		     const char **user_r, const char **error_r);

#endif
