/* test-oauth.c: JWKS parsing (jwks.c), JWT validation (jwt.c) and the
 * OAUTHBEARER and XOAUTH2 mechanisms (sasl-oauth.c).  The test makes its
 * own HMAC, RSA and P-256 keys with OpenSSL and signs tokens with them:
 * good tokens of the three algorithms; expired, not yet valid and future
 * tokens at and past the leeway; issuer, audience and scope; forged and
 * truncated signatures; "alg": "none" and other algorithms; the
 * algorithm/key confusion (an HS256 token whose secret is the RSA public
 * key); unknown kids; garbage; the JWKS file rotated; and the SASL
 * messages, errors and authzid rules. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "auth/jwks.h"
#include "auth/jwt.h"
#include "auth/sasl.h"
#include "base/base64.h"
#include "base/str.h"
#include "conf/conf.h"
#include "testlib.h"

static const unsigned char oauth_test_secret[32] = "0123456789abcdef0123456789abcdef";
static EVP_PKEY *oauth_test_rsa, *oauth_test_ec, *oauth_test_rsa_small;
static char *oauth_test_jwks;	/* the JWKS of the three keys */
static struct jwks *oauth_test_keys;

static void b64url(struct str *dest, const void *data, size_t len)
{
	struct str tmp = STR_INIT;
	base64_encode(data, len, &tmp);
	for (size_t i = 0; i < tmp.len; i++) {
		char c = tmp.data[i];
		if (c != '=')
			str_append_c(dest, c == '+' ? '-' : c == '/' ? '_' : c);
	}
	str_free(&tmp);
}

static void b64url_bn(struct str *dest, EVP_PKEY *pkey, const char *param)
{
	BIGNUM *bn = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(pkey, param, &bn), 1);
	unsigned char buf[1024];
	int n = BN_bn2bin(bn, buf);
	b64url(dest, buf, (size_t)n);
	BN_free(bn);
}

static void oauth_test_rsa_jwk(struct str *s, EVP_PKEY *pkey, const char *kid)
{
	str_printfa(s, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\",\"n\":\"", kid);
	b64url_bn(s, pkey, OSSL_PKEY_PARAM_RSA_N);
	str_append(s, "\",\"e\":\"");
	b64url_bn(s, pkey, OSSL_PKEY_PARAM_RSA_E);
	str_append(s, "\"}");
}

static void oauth_test_ec_jwk(struct str *s, EVP_PKEY *pkey, const char *kid)
{
	unsigned char pub[65];
	size_t len = 0;
	assert_int_equal(EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
							 sizeof(pub), &len), 1);
	assert_int_equal(len, 65);
	str_printfa(s, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"P-256\",\"x\":\"", kid);
	b64url(s, pub + 1, 32);
	str_append(s, "\",\"y\":\"");
	b64url(s, pub + 33, 32);
	str_append(s, "\"}");
}

static void oauth_test_oct_jwk(struct str *s, const void *secret, size_t len, const char *kid)
{
	str_printfa(s, "{\"kty\":\"oct\",\"kid\":\"%s\",\"k\":\"", kid);
	b64url(s, secret, len);
	str_append(s, "\"}");
}

static int oauth_test_setup(void **state)
{
	(void)state;
	struct str s = STR_INIT;
	const char *error;

	oauth_test_rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	oauth_test_rsa_small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	oauth_test_ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (oauth_test_rsa == NULL || oauth_test_ec == NULL || oauth_test_rsa_small == NULL)
		return -1;
	str_append(&s, "{\"keys\":[");
	oauth_test_oct_jwk(&s, oauth_test_secret, sizeof(oauth_test_secret), "hmac");
	str_append_c(&s, ',');
	oauth_test_rsa_jwk(&s, oauth_test_rsa, "rsa");
	str_append_c(&s, ',');
	oauth_test_ec_jwk(&s, oauth_test_ec, "ec");
	/* skipped: an unknown type, another curve, an encryption key */
	str_append(&s, ",{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"}"
		   ",{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"AA\",\"y\":\"AA\"}"
		   ",{\"kty\":\"oct\",\"use\":\"enc\",\"k\":\"AA\"}]}");
	oauth_test_jwks = str_steal(&s);
	if (jwks_parse(oauth_test_jwks, strlen(oauth_test_jwks), &oauth_test_keys, &error) < 0)
		return -1;
	return testlib_dir_create("oauth");
}

static int oauth_test_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(oauth_test_rsa);
	EVP_PKEY_free(oauth_test_rsa_small);
	EVP_PKEY_free(oauth_test_ec);
	free(oauth_test_jwks);
	jwks_free(&oauth_test_keys);
	jwks_file_cache_clear();
	testlib_dir_remove();
	return 0;
}

/* Signs header.claims with `alg` ("HS256" with `secret`, "RS256" and
 * "ES256" with `pkey`; anything else: no signature).  Allocated. */
static char *oauth_test_token_with(const char *header, const char *claims, const char *alg,
				   EVP_PKEY *pkey, const void *secret, size_t secret_len)
{
	struct str t = STR_INIT;
	unsigned char sig[512];
	size_t sig_len = 0;

	b64url(&t, header, strlen(header));
	str_append_c(&t, '.');
	b64url(&t, claims, strlen(claims));
	if (strcmp(alg, "HS256") == 0) {
		unsigned int n = 0;
		HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)t.data, t.len,
		     sig, &n);
		sig_len = n;
	} else if (strcmp(alg, "RS256") == 0 || strcmp(alg, "ES256") == 0) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		size_t der_len = sizeof(sig);
		unsigned char der[512];
		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey), 1);
		assert_int_equal(EVP_DigestSign(md, der, &der_len, (const unsigned char *)t.data,
						t.len), 1);
		EVP_MD_CTX_free(md);
		if (alg[0] == 'R') {
			memcpy(sig, der, der_len);
			sig_len = der_len;
		} else {
			const unsigned char *p = der;
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
			BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
			BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
			ECDSA_SIG_free(es);
			sig_len = 64;
		}
	}
	str_append_c(&t, '.');
	b64url(&t, sig, sig_len);
	return str_steal(&t);
}

/* A token for `alg` with the test's key of that type and kid. */
static char *oauth_test_token(const char *alg, const char *claims)
{
	char header[100];
	const char *kid = strcmp(alg, "HS256") == 0 ? "hmac" : strcmp(alg, "RS256") == 0 ? "rsa" : "ec";
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}", alg, kid);
	return oauth_test_token_with(header, claims, alg,
				     alg[0] == 'R' ? oauth_test_rsa : oauth_test_ec,
				     oauth_test_secret, sizeof(oauth_test_secret));
}

#define OAUTH_TEST_NOW 1800000000

static const struct jwt_rules oauth_test_rules = {
	.issuer = "https://issuer.example",
	.audience = "roost",
	.username_claim = "email",
	.leeway = 30,
	.now = OAUTH_TEST_NOW,
};

/* Validates a token as the mechanism does.  Returns 0 with the user in
 * user_r (static), or -1 with *error_r. */
static int oauth_test_validate_rules(const char *token, const struct jwt_rules *rules,
				     const char **error_r)
{
	static char user[256];
	struct jwt *jwt;
	const char *u;
	int ret = -1;

	*error_r = NULL;
	if (jwt_parse(token, strlen(token), &jwt, error_r) < 0)
		return -1;
	if (jwt_verify_signature(jwt, oauth_test_keys, error_r) == 0 &&
	    jwt_check_claims(jwt, rules, &u, error_r) == 0) {
		snprintf(user, sizeof(user), "%s", u);
		ret = 0;
	}
	jwt_free(&jwt);
	return ret;
}

static int oauth_test_validate(const char *token, const char **error_r)
{
	return oauth_test_validate_rules(token, &oauth_test_rules, error_r);
}

#define GOOD_CLAIMS "{\"iss\":\"https://issuer.example\",\"aud\":\"roost\"," \
	"\"email\":\"alice@example.org\",\"exp\":1800000600,\"iat\":1800000000,\"nbf\":1799999990}"

static void test_jwt_good(void **state)
{
	(void)state;
	static const char *const algs[] = { "HS256", "RS256", "ES256" };
	const char *error;

	assert_int_equal(oauth_test_keys->count, 3);
	for (size_t i = 0; i < 3; i++) {
		char *t = oauth_test_token(algs[i], GOOD_CLAIMS);
		if (oauth_test_validate(t, &error) < 0)
			fail_msg("%s: %s", algs[i], error);
		free(t);
	}
	/* aud as an array, no kid (every key of the type is tried) */
	char *t = oauth_test_token_with("{\"alg\":\"ES256\"}",
		"{\"iss\":\"https://issuer.example\",\"aud\":[\"x\",\"roost\"],"
		"\"email\":\"a\",\"exp\":1800000001}", "ES256", oauth_test_ec, NULL, 0);
	assert_int_equal(oauth_test_validate(t, &error), 0);
	free(t);
}

static void test_jwt_times(void **state)
{
	(void)state;
	static const struct { const char *claims; bool ok; const char *error; } cases[] = {
		/* exp: valid while now < exp + leeway (30) */
		{ "{\"email\":\"a\",\"exp\":1799999971}", true, NULL },
		{ "{\"email\":\"a\",\"exp\":1799999970}", false, "token expired" },
		{ "{\"email\":\"a\",\"exp\":1700000000}", false, "token expired" },
		{ "{\"email\":\"a\"}", false, "token has no \"exp\"" },
		{ "{\"email\":\"a\",\"exp\":\"1900000000\"}", false, "token \"exp\" is not a number" },
		/* nbf: valid from nbf - leeway */
		{ "{\"email\":\"a\",\"exp\":1900000000,\"nbf\":1800000030}", true, NULL },
		{ "{\"email\":\"a\",\"exp\":1900000000,\"nbf\":1800000031}", false, "token not valid yet" },
		{ "{\"email\":\"a\",\"exp\":1900000000,\"nbf\":\"x\"}", false, "token not valid yet" },
		/* iat in the future beyond the leeway */
		{ "{\"email\":\"a\",\"exp\":1900000000,\"iat\":1800000030}", true, NULL },
		{ "{\"email\":\"a\",\"exp\":1900000000,\"iat\":1800000031}", false, "token issued in the future" },
	};
	struct jwt_rules rules = oauth_test_rules;
	const char *error;

	rules.issuer = NULL;
	rules.audience = "";
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = oauth_test_token("HS256", cases[i].claims);
		int ret = oauth_test_validate_rules(t, &rules, &error);
		if (cases[i].ok && ret < 0)
			fail_msg("%s: %s", cases[i].claims, error);
		if (!cases[i].ok) {
			if (ret == 0)
				fail_msg("accepted %s", cases[i].claims);
			assert_string_equal(error, cases[i].error);
		}
		free(t);
	}
	/* leeway 0 */
	rules.leeway = 0;
	char *t = oauth_test_token("HS256", "{\"email\":\"a\",\"exp\":1800000000}");
	assert_int_equal(oauth_test_validate_rules(t, &rules, &error), -1);
	free(t);
	t = oauth_test_token("HS256", "{\"email\":\"a\",\"exp\":1800000001}");
	assert_int_equal(oauth_test_validate_rules(t, &rules, &error), 0);
	free(t);
}

static void test_jwt_claims(void **state)
{
	(void)state;
	static const struct { const char *claims; const char *error; } cases[] = {
		{ "{\"iss\":\"https://evil.example\",\"aud\":\"roost\",\"email\":\"a\",\"exp\":1900000000}",
		  "token issuer not accepted" },
		{ "{\"aud\":\"roost\",\"email\":\"a\",\"exp\":1900000000}", "token issuer not accepted" },
		{ "{\"iss\":\"https://issuer.example\",\"aud\":\"other\",\"email\":\"a\",\"exp\":1900000000}",
		  "token audience not accepted" },
		{ "{\"iss\":\"https://issuer.example\",\"aud\":[\"other\",[\"roost\"]],\"email\":\"a\",\"exp\":1900000000}",
		  "token audience not accepted" },
		{ "{\"iss\":\"https://issuer.example\",\"email\":\"a\",\"exp\":1900000000}",
		  "token audience not accepted" },
		{ "{\"iss\":\"https://issuer.example\",\"aud\":\"roost\",\"sub\":\"a\",\"exp\":1900000000}",
		  "token has no user name claim" },
		{ "{\"iss\":\"https://issuer.example\",\"aud\":\"roost\",\"email\":\"\",\"exp\":1900000000}",
		  "token has no user name claim" },
		{ "{\"iss\":\"https://issuer.example\",\"aud\":\"roost\",\"email\":7,\"exp\":1900000000}",
		  "token has no user name claim" },
		{ "{\"iss\":\"https://issuer.example\",\"aud\":\"roost\",\"email\":\"a\\u0000b\",\"exp\":1900000000}",
		  "token has no user name claim" },
	};
	const char *error;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = oauth_test_token("RS256", cases[i].claims);
		if (oauth_test_validate(t, &error) == 0)
			fail_msg("accepted %s", cases[i].claims);
		assert_string_equal(error, cases[i].error);
		free(t);
	}
	/* scope: one of the words */
	struct jwt_rules rules = oauth_test_rules;
	rules.scope = "mail";
	rules.issuer = rules.audience = NULL;
	char *t = oauth_test_token("HS256", "{\"email\":\"a\",\"exp\":1900000000,\"scope\":\"openid mail profile\"}");
	assert_int_equal(oauth_test_validate_rules(t, &rules, &error), 0);
	free(t);
	t = oauth_test_token("HS256", "{\"email\":\"a\",\"exp\":1900000000,\"scope\":\"openid mailx\"}");
	assert_int_equal(oauth_test_validate_rules(t, &rules, &error), -1);
	assert_string_equal(error, "token lacks the required scope");
	free(t);
	/* another username claim */
	rules.scope = NULL;
	rules.username_claim = "preferred_username";
	t = oauth_test_token("HS256", "{\"email\":\"a\",\"preferred_username\":\"bob\",\"exp\":1900000000}");
	assert_int_equal(oauth_test_validate_rules(t, &rules, &error), 0);
	free(t);
}

static void test_jwt_signatures(void **state)
{
	(void)state;
	const char *error;
	char *t, *p;

	/* a flipped signature bit, for each algorithm */
	static const char *const algs[] = { "HS256", "RS256", "ES256" };
	for (size_t i = 0; i < 3; i++) {
		t = oauth_test_token(algs[i], GOOD_CLAIMS);
		p = strrchr(t, '.') + 3;
		*p = *p == 'A' ? 'B' : 'A';
		assert_int_equal(oauth_test_validate(t, &error), -1);
		assert_string_equal(error, "token signature invalid");
		free(t);
	}
	/* claims changed after signing */
	t = oauth_test_token("RS256", GOOD_CLAIMS);
	char *t2 = oauth_test_token("RS256", "{\"email\":\"mallory\",\"exp\":1900000000}");
	struct str forged = STR_INIT;
	str_append_n(&forged, t2, (size_t)(strrchr(t2, '.') - t2));
	str_append(&forged, strrchr(t, '.'));
	assert_int_equal(oauth_test_validate(str_c(&forged), &error), -1);
	assert_string_equal(error, "token signature invalid");
	str_free(&forged);
	free(t);
	free(t2);
	/* signed with another key of the right type */
	EVP_PKEY *other = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	t = oauth_test_token_with("{\"alg\":\"ES256\",\"kid\":\"ec\"}", GOOD_CLAIMS, "ES256", other, NULL, 0);
	assert_int_equal(oauth_test_validate(t, &error), -1);
	EVP_PKEY_free(other);
	free(t);
	t = oauth_test_token_with("{\"alg\":\"HS256\",\"kid\":\"hmac\"}", GOOD_CLAIMS, "HS256", NULL,
				  "another secret of thirty-two bytes", 34);
	assert_int_equal(oauth_test_validate(t, &error), -1);
	free(t);
	/* empty and truncated signatures */
	t = oauth_test_token_with("{\"alg\":\"ES256\",\"kid\":\"ec\"}", GOOD_CLAIMS, "x", NULL, NULL, 0);
	assert_int_equal(oauth_test_validate(t, &error), -1);
	assert_string_equal(error, "token signature invalid");
	free(t);
	t = oauth_test_token("ES256", GOOD_CLAIMS);
	t[strlen(t) - 4] = '\0';
	assert_int_equal(oauth_test_validate(t, &error), -1);
	free(t);
}

static void test_jwt_algorithms(void **state)
{
	(void)state;
	const char *error;
	char *t;

	/* alg none, unsigned, with and without a trailing signature */
	t = oauth_test_token_with("{\"alg\":\"none\"}", GOOD_CLAIMS, "none", NULL, NULL, 0);
	assert_int_equal(oauth_test_validate(t, &error), -1);
	assert_string_equal(error, "token algorithm not accepted (HS256, RS256, ES256 only)");
	free(t);
	t = oauth_test_token_with("{\"alg\":\"None\",\"kid\":\"hmac\"}", GOOD_CLAIMS, "HS256", NULL,
				  oauth_test_secret, sizeof(oauth_test_secret));
	assert_int_equal(oauth_test_validate(t, &error), -1);
	free(t);
	static const char *const others[] = { "HS384", "HS512", "RS512", "PS256", "ES384", "EdDSA", "" };
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		char header[64];
		snprintf(header, sizeof(header), "{\"alg\":\"%s\"}", others[i]);
		t = oauth_test_token_with(header, GOOD_CLAIMS, "HS256", NULL, oauth_test_secret,
					  sizeof(oauth_test_secret));
		assert_int_equal(oauth_test_validate(t, &error), -1);
		free(t);
	}
	t = oauth_test_token_with("{\"typ\":\"JWT\"}", GOOD_CLAIMS, "HS256", NULL, oauth_test_secret,
				  sizeof(oauth_test_secret));
	assert_int_equal(oauth_test_validate(t, &error), -1);
	assert_string_equal(error, "token header has no \"alg\"");
	free(t);

	/* the confusion attack: HS256 with the RSA public key (PEM and the
	 * JWK's modulus) as the HMAC secret, naming the RSA key's kid */
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, oauth_test_rsa);
	char *pem;
	long pem_len = BIO_get_mem_data(bio, &pem);
	t = oauth_test_token_with("{\"alg\":\"HS256\",\"kid\":\"rsa\"}", GOOD_CLAIMS, "HS256", NULL,
				  pem, (size_t)pem_len);
	assert_int_equal(oauth_test_validate(t, &error), -1);
	assert_string_equal(error, "token algorithm does not match the key");
	free(t);
	t = oauth_test_token_with("{\"alg\":\"HS256\"}", GOOD_CLAIMS, "HS256", NULL, pem, (size_t)pem_len);
	assert_int_equal(oauth_test_validate(t, &error), -1);
	assert_string_equal(error, "token signature invalid");
	free(t);
	BIO_free(bio);
	/* RS256 header naming the HMAC key */
	t = oauth_test_token_with("{\"alg\":\"RS256\",\"kid\":\"hmac\"}", GOOD_CLAIMS, "RS256",
				  oauth_test_rsa, NULL, 0);
	assert_int_equal(oauth_test_validate(t, &error), -1);
	assert_string_equal(error, "token algorithm does not match the key");
	free(t);
	/* ES256 header naming the RSA key */
	t = oauth_test_token_with("{\"alg\":\"ES256\",\"kid\":\"rsa\"}", GOOD_CLAIMS, "ES256",
				  oauth_test_ec, NULL, 0);
	assert_int_equal(oauth_test_validate(t, &error), -1);
	assert_string_equal(error, "token algorithm does not match the key");
	free(t);
	/* unknown kid */
	t = oauth_test_token_with("{\"alg\":\"RS256\",\"kid\":\"nope\"}", GOOD_CLAIMS, "RS256",
				  oauth_test_rsa, NULL, 0);
	assert_int_equal(oauth_test_validate(t, &error), -1);
	assert_string_equal(error, "token key id unknown");
	free(t);
	/* crit extensions, kid of the wrong type */
	t = oauth_test_token_with("{\"alg\":\"RS256\",\"kid\":\"rsa\",\"crit\":[\"exp\"],\"exp\":1}",
				  GOOD_CLAIMS, "RS256", oauth_test_rsa, NULL, 0);
	assert_int_equal(oauth_test_validate(t, &error), -1);
	assert_string_equal(error, "token header has \"crit\" extensions");
	free(t);
	t = oauth_test_token_with("{\"alg\":\"RS256\",\"kid\":7}", GOOD_CLAIMS, "RS256",
				  oauth_test_rsa, NULL, 0);
	assert_int_equal(oauth_test_validate(t, &error), -1);
	free(t);
	/* a key whose "alg" says otherwise is not used */
	struct jwks *keys;
	struct str s = STR_INIT;
	str_append(&s, "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS512\",\"k\":\"");
	b64url(&s, oauth_test_secret, sizeof(oauth_test_secret));
	str_append(&s, "\"}]}");
	assert_int_equal(jwks_parse(s.data, s.len, &keys, &error), 0);
	t = oauth_test_token_with("{\"alg\":\"HS256\"}", GOOD_CLAIMS, "HS256", NULL,
				  oauth_test_secret, sizeof(oauth_test_secret));
	struct jwt *jwt;
	assert_int_equal(jwt_parse(t, strlen(t), &jwt, &error), 0);
	assert_int_equal(jwt_verify_signature(jwt, keys, &error), -1);
	assert_int_equal(jwt_verify_signature(jwt, oauth_test_keys, &error), 0);
	jwt_free(&jwt);
	jwks_free(&keys);
	str_free(&s);
	free(t);
}

static void test_jwt_garbage(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", ".", "..", "...", "a.b.c", "abc", "a.b", "a.b.c.d.e",
		"eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9..",
		"eyJhbGciOiJIUzI1NiJ9.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.A",
		"eyJhbGciOiJIUzI1NiJ9=.e30.AAAA", "eyJhbGciOiJIUzI1NiJ9.e30=.AAAA",
		"eyJhbGciOiJIUzI1NiJ9.W10.AAAA",	/* claims are [] */
		"IkhTMjU2Ig.e30.AAAA",			/* header is a string */
		"eyJhbGciOiJIUzI1NiJ9.e30.AA+A",	/* base64, not base64url */
		"eyJhbGciOiJIUzI1NiJ9.e30.AA A",
	};
	const char *error;
	struct jwt *jwt;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (jwt_parse(bad[i], strlen(bad[i]), &jwt, &error) == 0) {
			int ret = jwt_verify_signature(jwt, oauth_test_keys, &error);
			jwt_free(&jwt);
			if (ret == 0)
				fail_msg("accepted %s", bad[i]);
		}
	}
	/* the length limit: JWT_MAX_LEN passes the length check, +1 not */
	char *big = malloc(JWT_MAX_LEN + 2);
	memset(big, 'A', JWT_MAX_LEN + 1);
	big[JWT_MAX_LEN + 1] = '\0';
	assert_int_equal(jwt_parse(big, JWT_MAX_LEN + 1, &jwt, &error), -1);
	assert_string_equal(error, "token too long");
	assert_int_equal(jwt_parse(big, JWT_MAX_LEN, &jwt, &error), -1);
	assert_string_equal(error, "not a JWS compact token");
	free(big);
	/* every truncation of a good token fails */
	char *t = oauth_test_token("ES256", GOOD_CLAIMS);
	for (size_t len = 0; len < strlen(t); len++) {
		char *copy = strndup(t, len);
		assert_int_equal(oauth_test_validate(copy, &error), -1);
		free(copy);
	}
	free(t);
}

static void test_jwks_parse(void **state)
{
	(void)state;
	struct jwks *keys;
	const char *error;
	struct str s = STR_INIT;

	static const char *const bad[] = {
		"", "[]", "{}", "{\"keys\":{}}", "{\"keys\":[1]}", "{\"keys\":[{}]}",
		"{\"keys\":[{\"kty\":\"oct\"}]}",
		"{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2hvcnQ\"}]}",	/* 5 octets */
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\"}]}",
		"{\"keys\":[{\"kty\":\"RSA\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",	/* tiny */
		"{\"keys\":[{\"kty\":\"EC\",\"x\":\"AA\",\"y\":\"AA\"}]}",
		"{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}",
		"{\"keys\":[{\"kty\":\"oct\",\"kid\":1,\"k\":\"AA\"}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (jwks_parse(bad[i], strlen(bad[i]), &keys, &error) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_null(keys);
	}
	/* a point not on the curve */
	str_append(&s, "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"");
	unsigned char coord[32];
	memset(coord, 0x11, sizeof(coord));
	b64url(&s, coord, 32);
	str_append(&s, "\",\"y\":\"");
	b64url(&s, coord, 32);
	str_append(&s, "\"}]}");
	assert_int_equal(jwks_parse(s.data, s.len, &keys, &error), -1);
	assert_string_equal(error, "EC key is not a point on P-256");
	str_truncate(&s, 0);
	/* RSA shorter than 2048 bits */
	str_append(&s, "{\"keys\":[");
	oauth_test_rsa_jwk(&s, oauth_test_rsa_small, "small");
	str_append(&s, "]}");
	assert_int_equal(jwks_parse(s.data, s.len, &keys, &error), -1);
	assert_string_equal(error, "RSA key shorter than 2048 bits");
	str_free(&s);
	/* an empty set is valid */
	assert_int_equal(jwks_parse("{\"keys\":[]}", 11, &keys, &error), 0);
	assert_int_equal(keys->count, 0);
	jwks_free(&keys);
}

static void test_jwks_file_rotation(void **state)
{
	(void)state;
	char *path = testlib_path("jwks.json");
	const struct jwks *keys;
	const char *error = NULL;
	struct str s = STR_INIT;

	jwks_file_cache_clear();
	assert_null(jwks_file_get(path, &error));
	assert_non_null(error);
	testlib_write_file(path, oauth_test_jwks, strlen(oauth_test_jwks));
	/* the missing file was checked this second; within two seconds the
	 * new one is read */
	for (int i = 0; i < 30 && (keys = jwks_file_get(path, &error)) == NULL; i++)
		usleep(100 * 1000);
	assert_non_null(keys);
	assert_int_equal(keys->count, 3);
	/* rotated: one new HMAC key only */
	str_append(&s, "{\"keys\":[");
	oauth_test_oct_jwk(&s, "a new secret of thirty-two bytes!", 33, "new");
	str_append(&s, "]}");
	testlib_write_file(path, s.data, s.len);
	for (int i = 0; i < 30 && (keys = jwks_file_get(path, &error))->count != 1; i++)
		usleep(100 * 1000);
	assert_int_equal(keys->count, 1);
	assert_string_equal(keys->keys[0].kid, "new");
	/* a broken new version keeps the keys read before */
	testlib_write_file(path, "{\"keys\":[", 9);
	sleep(1);
	usleep(100 * 1000);
	keys = jwks_file_get(path, &error);
	assert_non_null(keys);
	assert_int_equal(keys->count, 1);
	str_free(&s);
	free(path);
	jwks_file_cache_clear();
}

/* ---- the SASL mechanisms ---- */

static struct sasl_peer oauth_test_peer = { .service = "imap" };
static struct roost_config *oauth_test_config;
static char oauth_test_looked_up[256];

static struct roost_config *oauth_test_make_config(void)
{
	char *error = NULL;
	struct roost_config *c = config_load(NULL, &error);
	assert_non_null(c);
	char *path = testlib_path("sasl-jwks.json");
	testlib_write_file(path, oauth_test_jwks, strlen(oauth_test_jwks));
	free(c->auth_oauth_jwks);
	c->auth_oauth_jwks = path;
	free(c->auth_oauth_issuer);
	c->auth_oauth_issuer = xstrdup("https://issuer.example");
	free(c->auth_oauth_openid_configuration);
	c->auth_oauth_openid_configuration = xstrdup("https://issuer.example/.well-known/openid-configuration");
	return c;
}

/* Runs one exchange with `message` as the initial response; a USER
 * lookup is answered with `lookup`.  Returns 1 DONE, 0 CONTINUE (the
 * challenge in *challenge_r, static), -1 FAILED. */
static int oauth_test_sasl(struct sasl_exchange *ex, const void *message, size_t len,
			   enum sasl_lookup_status lookup, const char **text_r)
{
	static char challenge[512];
	struct sasl_output out;
	enum sasl_step_result ret = sasl_exchange_step(ex, message, len, &out);

	oauth_test_looked_up[0] = '\0';
	if (ret == SASL_STEP_LOOKUP) {
		assert_int_equal(out.lookup.kind, SASL_LOOKUP_USER);
		snprintf(oauth_test_looked_up, sizeof(oauth_test_looked_up), "%s", out.lookup.user);
		struct sasl_lookup_result result = { .status = lookup };
		ret = sasl_exchange_lookup_done(ex, &result, &out);
	}
	if (ret == SASL_STEP_CONTINUE) {
		assert_true(out.data_len < sizeof(challenge));
		memcpy(challenge, out.data, out.data_len);
		challenge[out.data_len] = '\0';
		*text_r = challenge;
		return 0;
	}
	*text_r = out.error;
	return ret == SASL_STEP_DONE ? 1 : -1;
}

static char *oauth_test_bearer_msg(const char *gs2, const char *token, size_t *len_r)
{
	char *m = xasprintf("%s\x01host=imap.example\x01port=143\x01" "auth=Bearer %s\x01\x01", gs2, token);
	*len_r = strlen(m);
	return m;
}

static void test_sasl_oauthbearer(void **state)
{
	(void)state;
	struct sasl_exchange *ex;
	const char *text;
	size_t len;
	char *token = oauth_test_token("RS256", GOOD_CLAIMS), *m;

	oauth_test_config = oauth_test_make_config();
	/* the clock of these tokens is the real one */
	free(token);
	char claims[256];
	snprintf(claims, sizeof(claims),
		 "{\"iss\":\"https://issuer.example\",\"email\":\"alice@example.org\",\"exp\":%lld}",
		 (long long)time(NULL) + 600);
	token = oauth_test_token("ES256", claims);

	assert_true(sasl_mech_oauthbearer.usable(oauth_test_config, &oauth_test_peer));
	assert_true(sasl_mech_xoauth2.usable(oauth_test_config, &oauth_test_peer));

	/* RFC 7628 section 4.1: n,a=user@example.com, ... */
	for (int authzid = 0; authzid < 3; authzid++) {
		const char *gs2 = authzid == 0 ? "n,," : authzid == 1 ? "n,a=alice@example.org," :
			"y,a=Alice@Example.org,";
		ex = sasl_exchange_create(&sasl_mech_oauthbearer, oauth_test_config, &oauth_test_peer);
		m = oauth_test_bearer_msg(gs2, token, &len);
		assert_int_equal(oauth_test_sasl(ex, m, len, SASL_LOOKUP_OK, &text), 1);
		assert_string_equal(oauth_test_looked_up, "alice@example.org");
		assert_string_equal(sasl_exchange_authcid(ex), "alice@example.org");
		free(m);
		sasl_exchange_destroy(&ex);
	}
	/* no initial response: an empty challenge first */
	ex = sasl_exchange_create(&sasl_mech_oauthbearer, oauth_test_config, &oauth_test_peer);
	assert_int_equal(oauth_test_sasl(ex, NULL, 0, SASL_LOOKUP_OK, &text), 0);
	assert_string_equal(text, "");
	m = oauth_test_bearer_msg("n,,", token, &len);
	assert_int_equal(oauth_test_sasl(ex, m, len, SASL_LOOKUP_OK, &text), 1);
	free(m);
	sasl_exchange_destroy(&ex);

	/* another user's authzid: the JSON error, then failure after %x01 */
	ex = sasl_exchange_create(&sasl_mech_oauthbearer, oauth_test_config, &oauth_test_peer);
	m = oauth_test_bearer_msg("n,a=bob@example.org,", token, &len);
	assert_int_equal(oauth_test_sasl(ex, m, len, SASL_LOOKUP_OK, &text), 0);
	assert_string_equal(text, "{\"status\":\"invalid_token\",\"openid-configuration\":"
			    "\"https://issuer.example/.well-known/openid-configuration\"}");
	assert_int_equal(oauth_test_sasl(ex, "\x01", 1, SASL_LOOKUP_OK, &text), -1);
	assert_string_equal(text, "token is for another user");
	free(m);
	sasl_exchange_destroy(&ex);

	/* unknown user: the same JSON error */
	ex = sasl_exchange_create(&sasl_mech_oauthbearer, oauth_test_config, &oauth_test_peer);
	m = oauth_test_bearer_msg("n,,", token, &len);
	assert_int_equal(oauth_test_sasl(ex, m, len, SASL_LOOKUP_NOT_FOUND, &text), 0);
	assert_non_null(strstr(text, "invalid_token"));
	assert_int_equal(oauth_test_sasl(ex, "x", 1, SASL_LOOKUP_OK, &text), -1);
	assert_string_equal(text, "Invalid response to the OAuth error");
	sasl_exchange_destroy(&ex);
	/* TEMPFAIL from the database */
	ex = sasl_exchange_create(&sasl_mech_oauthbearer, oauth_test_config, &oauth_test_peer);
	assert_int_equal(oauth_test_sasl(ex, m, len, SASL_LOOKUP_TEMPFAIL, &text), -1);
	free(m);
	sasl_exchange_destroy(&ex);

	/* a bad token: the error; the scope appears when configured */
	free(oauth_test_config->auth_oauth_scope);
	oauth_test_config->auth_oauth_scope = xstrdup("mail \"x\"");
	ex = sasl_exchange_create(&sasl_mech_oauthbearer, oauth_test_config, &oauth_test_peer);
	m = oauth_test_bearer_msg("n,,", "eyJhbGciOiJub25lIn0.e30.", &len);
	assert_int_equal(oauth_test_sasl(ex, m, len, SASL_LOOKUP_OK, &text), 0);
	assert_non_null(strstr(text, "\"scope\":\"mail \\\"x\\\"\""));
	assert_int_equal(oauth_test_sasl(ex, "\x01", 1, SASL_LOOKUP_OK, &text), -1);
	free(m);
	sasl_exchange_destroy(&ex);
	free(oauth_test_config->auth_oauth_scope);
	oauth_test_config->auth_oauth_scope = xstrdup("");

	/* malformed messages fail at once */
	static const char *const bad[] = {
		"", "\x01", "n,,", "n,,\x01", "n,,\x01\x01", "p=tls-unique,,\x01" "auth=Bearer x\x01\x01",
		"x,,\x01" "auth=Bearer x\x01\x01", "n,a=,\x01" "auth=Bearer x\x01\x01",
		"n,b=u,\x01" "auth=Bearer x\x01\x01", "n,a=a=2,\x01" "auth=Bearer x\x01\x01",
		"n,,\x01" "auth=Bearer x\x01", "n,,\x01" "auth=Bearer x\x01\x01\x01",
		"n,,\x01" "auth=Basic eA==\x01\x01", "n,,\x01" "auth=Bearer \x01\x01",
		"n,,\x01" "auth=Bearer a b\x01\x01", "n,,\x01" "auth=Bearer x\x01" "auth=Bearer y\x01\x01",
		"n,,\x01=x\x01" "auth=Bearer x\x01\x01", "n,,\x01" "host\x01" "auth=Bearer x\x01\x01",
		"n,,\x01" "host=\x7f\x01" "auth=Bearer x\x01\x01", "n,,\x01host=a\x01\x01",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ex = sasl_exchange_create(&sasl_mech_oauthbearer, oauth_test_config, &oauth_test_peer);
		if (oauth_test_sasl(ex, bad[i], strlen(bad[i]), SASL_LOOKUP_OK, &text) != -1)
			fail_msg("not refused: %zu", i);
		sasl_exchange_destroy(&ex);
	}
	/* the saslname escapes =2C and =3D */
	ex = sasl_exchange_create(&sasl_mech_oauthbearer, oauth_test_config, &oauth_test_peer);
	m = oauth_test_bearer_msg("n,a=a=2Cb=3D,", token, &len);
	assert_int_equal(oauth_test_sasl(ex, m, len, SASL_LOOKUP_OK, &text), 0);
	free(m);
	sasl_exchange_destroy(&ex);
	free(token);
	config_free(&oauth_test_config);
}

static void test_sasl_xoauth2(void **state)
{
	(void)state;
	struct sasl_exchange *ex;
	const char *text;
	char claims[256], *token, *m;

	oauth_test_config = oauth_test_make_config();
	snprintf(claims, sizeof(claims),
		 "{\"iss\":\"https://issuer.example\",\"email\":\"bob@example.org\",\"exp\":%lld}",
		 (long long)time(NULL) + 600);
	token = oauth_test_token("HS256", claims);

	ex = sasl_exchange_create(&sasl_mech_xoauth2, oauth_test_config, &oauth_test_peer);
	m = xasprintf("user=bob@example.org\x01" "auth=Bearer %s\x01\x01", token);
	assert_int_equal(oauth_test_sasl(ex, m, strlen(m), SASL_LOOKUP_OK, &text), 1);
	assert_string_equal(sasl_exchange_authcid(ex), "bob@example.org");
	free(m);
	sasl_exchange_destroy(&ex);

	/* another user= : the error, then failure after an empty response */
	ex = sasl_exchange_create(&sasl_mech_xoauth2, oauth_test_config, &oauth_test_peer);
	m = xasprintf("user=alice@example.org\x01" "auth=Bearer %s\x01\x01", token);
	assert_int_equal(oauth_test_sasl(ex, m, strlen(m), SASL_LOOKUP_OK, &text), 0);
	assert_non_null(strstr(text, "invalid_token"));
	assert_int_equal(oauth_test_sasl(ex, "", 0, SASL_LOOKUP_OK, &text), -1);
	free(m);
	sasl_exchange_destroy(&ex);

	/* user= is required */
	ex = sasl_exchange_create(&sasl_mech_xoauth2, oauth_test_config, &oauth_test_peer);
	m = xasprintf("auth=Bearer %s\x01\x01", token);
	assert_int_equal(oauth_test_sasl(ex, m, strlen(m), SASL_LOOKUP_OK, &text), -1);
	free(m);
	sasl_exchange_destroy(&ex);
	/* an OAUTHBEARER message is not XOAUTH2 */
	ex = sasl_exchange_create(&sasl_mech_xoauth2, oauth_test_config, &oauth_test_peer);
	m = xasprintf("n,,\x01" "auth=Bearer %s\x01\x01", token);
	assert_int_equal(oauth_test_sasl(ex, m, strlen(m), SASL_LOOKUP_OK, &text), -1);
	free(m);
	sasl_exchange_destroy(&ex);

	/* no JWKS readable: a temporary failure */
	free(oauth_test_config->auth_oauth_jwks);
	oauth_test_config->auth_oauth_jwks = testlib_path("missing.json");
	ex = sasl_exchange_create(&sasl_mech_xoauth2, oauth_test_config, &oauth_test_peer);
	m = xasprintf("user=bob@example.org\x01" "auth=Bearer %s\x01\x01", token);
	struct sasl_output out;
	assert_int_equal(sasl_exchange_step(ex, (const unsigned char *)m, strlen(m), &out),
			 SASL_STEP_FAILED);
	assert_true(out.tempfail);
	free(m);
	sasl_exchange_destroy(&ex);
	/* not usable without a JWKS */
	oauth_test_config->auth_oauth_jwks[0] = '\0';
	assert_false(sasl_mech_xoauth2.usable(oauth_test_config, &oauth_test_peer));
	assert_false(sasl_mech_oauthbearer.usable(oauth_test_config, &oauth_test_peer));
	free(token);
	config_free(&oauth_test_config);
	jwks_file_cache_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jwt_good),
		cmocka_unit_test(test_jwt_times),
		cmocka_unit_test(test_jwt_claims),
		cmocka_unit_test(test_jwt_signatures),
		cmocka_unit_test(test_jwt_algorithms),
		cmocka_unit_test(test_jwt_garbage),
		cmocka_unit_test(test_jwks_parse),
		cmocka_unit_test(test_jwks_file_rotation),
		cmocka_unit_test(test_sasl_oauthbearer),
		cmocka_unit_test(test_sasl_xoauth2),
	};
	return cmocka_run_group_tests(tests, oauth_test_setup, oauth_test_teardown);
}
