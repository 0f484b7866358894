/* test-sasl-scram.c: SCRAM-SHA-1/256 and -PLUS (sasl-scram.c) against
 * the RFC 5802 section 5 and RFC 7677 section 3 examples, the GS2 header
 * rules (channel binding, 'y' downgrade, authzid), nonce and proof
 * checks, unknown users and malformed messages; the SCRAM, CRAM-MD5
 * and DIGEST-MD5 credentials of password.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "auth/sasl-test.h"
#include "auth/password.h"
#include "base/base64.h"
#include "base/str.h"

#include <stdio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static struct sasl_peer scram_peer;

/* RFC 5802 section 5 */
#define RFC5802_SALT "QSXCR+Q6sek8bf92"
#define RFC5802_CLIENT_FIRST "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
#define RFC5802_SERVER_NONCE "3rfcNHYJY1ZVvWVs7j"
#define RFC5802_SERVER_FIRST \
	"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
#define RFC5802_CLIENT_FINAL \
	"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
#define RFC5802_SERVER_FINAL "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="
/* RFC 7677 section 3 */
#define RFC7677_SALT "W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC7677_CLIENT_FIRST "n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
#define RFC7677_SERVER_NONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
#define RFC7677_SERVER_FIRST \
	"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
#define RFC7677_CLIENT_FINAL \
	"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0," \
	"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
#define RFC7677_SERVER_FINAL "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="

static char *scram_credentials(enum password_scram_hash hash, const char *salt_b64)
{
	struct str salt = STR_INIT;
	assert_int_equal(base64_decode(salt_b64, strlen(salt_b64), &salt), 0);
	char *cred = password_scram_make(hash, "pencil", (const unsigned char *)salt.data,
					 salt.len, 4096);
	str_free(&salt);
	return cred;
}

struct scram_run {
	const char *mech;
	const char *client_first;
	/* the lookup's answer: credentials or NULL for NOT_FOUND */
	const char *credentials;
	const char *client_final;	/* NULL: stop after server-first */
	/* results */
	enum sasl_step_result first, final;
	char server_first[512], server_final[512];
	const char *error;
	char authcid[256], authzid[256];
};

static void scram_run(struct scram_run *r)
{
	struct sasl_exchange *ex = sasl_exchange_create(sasl_mech_find(r->mech), NULL,
							&scram_peer);
	struct sasl_output out;

	r->error = NULL;
	r->server_first[0] = r->server_final[0] = r->authcid[0] = '\0';
	r->first = sasl_exchange_step(ex, (const unsigned char *)r->client_first,
				      strlen(r->client_first), &out);
	if (r->first == SASL_STEP_LOOKUP) {
		assert_int_equal(out.lookup.kind, SASL_LOOKUP_CREDENTIALS);
		assert_string_equal(out.lookup.scheme, strstr(r->mech, "SHA-1") != NULL ?
				    "SCRAM-SHA-1" : "SCRAM-SHA-256");
		struct sasl_lookup_result res = { .status = SASL_LOOKUP_NOT_FOUND };
		if (r->credentials != NULL) {
			res.status = SASL_LOOKUP_OK;
			res.credentials = (const unsigned char *)r->credentials;
			res.credentials_len = strlen(r->credentials);
		}
		r->first = sasl_exchange_lookup_done(ex, &res, &out);
	}
	if (r->first == SASL_STEP_FAILED)
		r->error = out.error;
	if (r->first == SASL_STEP_CONTINUE) {
		assert_true(out.data_len < sizeof(r->server_first));
		memcpy(r->server_first, out.data, out.data_len);
		r->server_first[out.data_len] = '\0';
		if (r->client_final != NULL) {
			r->final = sasl_exchange_step(ex, (const unsigned char *)r->client_final,
						      strlen(r->client_final), &out);
			if (r->final == SASL_STEP_DONE) {
				assert_true(out.has_data);
				memcpy(r->server_final, out.data, out.data_len);
				r->server_final[out.data_len] = '\0';
				strcpy(r->authcid, sasl_exchange_authcid(ex));
				strcpy(r->authzid, sasl_exchange_authzid(ex));
			} else {
				assert_int_equal(r->final, SASL_STEP_FAILED);
				r->error = out.error;
			}
		}
	}
	sasl_exchange_destroy(&ex);
}

static void test_scram_rfc5802(void **state)
{
	(void)state;
	char *cred = scram_credentials(PASSWORD_SCRAM_SHA1, RFC5802_SALT);
	struct scram_run r = {
		.mech = "SCRAM-SHA-1", .client_first = RFC5802_CLIENT_FIRST,
		.credentials = cred, .client_final = RFC5802_CLIENT_FINAL,
	};
	sasl_scram_test_server_nonce = RFC5802_SERVER_NONCE;
	scram_run(&r);
	assert_int_equal(r.first, SASL_STEP_CONTINUE);
	assert_string_equal(r.server_first, RFC5802_SERVER_FIRST);
	assert_int_equal(r.final, SASL_STEP_DONE);
	assert_string_equal(r.server_final, RFC5802_SERVER_FINAL);
	assert_string_equal(r.authcid, "user");
	assert_string_equal(r.authzid, "");

	/* the stored form verifies "pencil" and nothing else */
	char *stored = xasprintf("{SCRAM-SHA-1}%s", cred);
	const char *error;
	assert_int_equal(password_verify("pencil", stored, &error), 1);
	assert_int_equal(password_verify("pencil2", stored, &error), 0);
	free(stored);

	/* a flipped proof bit fails */
	char final[256];
	strcpy(final, RFC5802_CLIENT_FINAL);
	final[strlen(final) - 3] = 'U';
	r.client_final = final;
	scram_run(&r);
	assert_int_equal(r.final, SASL_STEP_FAILED);
	assert_string_equal(r.error, "Authentication failed.");

	/* the SHA-1 vector's final against SHA-256 keys fails (proof length) */
	free(cred);
	cred = scram_credentials(PASSWORD_SCRAM_SHA256, RFC5802_SALT);
	r.mech = "SCRAM-SHA-256";
	r.credentials = cred;
	r.client_final = RFC5802_CLIENT_FINAL;
	scram_run(&r);
	assert_int_equal(r.final, SASL_STEP_FAILED);
	free(cred);
	sasl_scram_test_server_nonce = NULL;
}

static void test_scram_rfc7677(void **state)
{
	(void)state;
	char *cred = scram_credentials(PASSWORD_SCRAM_SHA256, RFC7677_SALT);
	struct scram_run r = {
		.mech = "scram-sha-256", .client_first = RFC7677_CLIENT_FIRST,
		.credentials = cred, .client_final = RFC7677_CLIENT_FINAL,
	};
	sasl_scram_test_server_nonce = RFC7677_SERVER_NONCE;
	scram_run(&r);
	assert_string_equal(r.server_first, RFC7677_SERVER_FIRST);
	assert_int_equal(r.final, SASL_STEP_DONE);
	assert_string_equal(r.server_final, RFC7677_SERVER_FINAL);
	char *stored = xasprintf("{SCRAM-SHA-256}%s", cred);
	const char *error;
	assert_int_equal(password_verify("pencil", stored, &error), 1);
	assert_int_equal(password_verify("Pencil", stored, &error), 0);
	free(stored);

	/* the same proof for another nonce (a replayed final) fails */
	sasl_scram_test_server_nonce = "otherservernonce";
	scram_run(&r);
	assert_int_equal(r.first, SASL_STEP_CONTINUE);
	assert_int_equal(r.final, SASL_STEP_FAILED);
	assert_string_equal(r.error, "SCRAM nonce mismatch");

	/* a random server nonce: 24 base64 characters after the client's */
	sasl_scram_test_server_nonce = NULL;
	r.client_final = NULL;
	scram_run(&r);
	assert_int_equal(r.first, SASL_STEP_CONTINUE);
	const char *s = strstr(r.server_first, ",s=");
	assert_non_null(s);
	assert_int_equal(s - r.server_first, 2 + 20 + 24);
	free(cred);
}

/* an unknown user gets a server-first like a real one, with a salt that
 * is the same every time, and then fails */
static void test_scram_unknown_user(void **state)
{
	(void)state;
	struct scram_run r = {
		.mech = "SCRAM-SHA-256", .client_first = RFC7677_CLIENT_FIRST,
		.credentials = NULL, .client_final = RFC7677_CLIENT_FINAL,
	};
	sasl_scram_test_server_nonce = RFC7677_SERVER_NONCE;
	scram_run(&r);
	assert_int_equal(r.first, SASL_STEP_CONTINUE);
	char first[512];
	strcpy(first, r.server_first);
	assert_non_null(strstr(first, ",i=4096"));
	assert_int_equal(r.final, SASL_STEP_FAILED);
	assert_string_equal(r.error, "Authentication failed.");
	scram_run(&r);
	assert_string_equal(r.server_first, first);
	/* salt of 16 bytes: 24 base64 characters */
	const char *s = strstr(first, ",s=") + 3;
	assert_int_equal(strchr(s, ',') - s, 24);
	/* another user, another salt */
	r.client_first = "n,,n=other,r=rOprNGfwEbeRWgbNEkqO";
	scram_run(&r);
	assert_string_not_equal(r.server_first, first);
	sasl_scram_test_server_nonce = NULL;
}

static void test_scram_gs2(void **state)
{
	(void)state;
	char *cred = scram_credentials(PASSWORD_SCRAM_SHA256, RFC7677_SALT);
	static const unsigned char exporter[32] = { 1, 2, 3, 4, 5 };
	static const unsigned char end_point[32] = { 9, 8, 7 };
	struct scram_run r = { .mech = "SCRAM-SHA-256", .credentials = cred };
	static const struct { const char *mech, *first; bool with_cb, ok; const char *error; } c[] = {
		{ "SCRAM-SHA-256", "n,,n=user,r=abc", false, true, NULL },
		{ "SCRAM-SHA-256", "y,,n=user,r=abc", false, true, NULL },
		/* 'y' while -PLUS is offered: downgrade (RFC 5802 section 6) */
		{ "SCRAM-SHA-256", "y,,n=user,r=abc", true, false, "downgrade" },
		{ "SCRAM-SHA-256", "n,,n=user,r=abc", true, true, NULL },
		{ "SCRAM-SHA-256", "p=tls-exporter,,n=user,r=abc", true, false, "-PLUS" },
		{ "SCRAM-SHA-256-PLUS", "n,,n=user,r=abc", true, false, "required" },
		{ "SCRAM-SHA-256-PLUS", "y,,n=user,r=abc", true, false, "required" },
		{ "SCRAM-SHA-256-PLUS", "p=tls-exporter,,n=user,r=abc", true, true, NULL },
		{ "SCRAM-SHA-256-PLUS", "p=tls-server-end-point,,n=user,r=abc", true, true, NULL },
		{ "SCRAM-SHA-256-PLUS", "p=tls-unique,,n=user,r=abc", true, false, "Unsupported" },
		{ "SCRAM-SHA-256-PLUS", "p=tls-exporter,,n=user,r=abc", false, false, "Unsupported" },
		{ "SCRAM-SHA-256-PLUS", "p=,,n=user,r=abc", true, false, NULL },
		{ "SCRAM-SHA-256", "x,,n=user,r=abc", false, false, "GS2" },
		{ "SCRAM-SHA-256", "n,a=user,n=user,r=abc", false, true, NULL },
		{ "SCRAM-SHA-256", "n,a=USER,n=user,r=abc", false, true, NULL },
		{ "SCRAM-SHA-256", "n,a=admin,n=user,r=abc", false, false, "Authorization" },
		{ "SCRAM-SHA-256", "n,b=user,n=user,r=abc", false, false, NULL },
		{ "SCRAM-SHA-256", "n,a=,n=user,r=abc", false, false, NULL },
		{ "SCRAM-SHA-256", "n,,m=ext,n=user,r=abc", false, false, "mandatory" },
		{ "SCRAM-SHA-256", "n,,n=,r=abc", false, false, "user name" },
		{ "SCRAM-SHA-256", "n,,n=us=2Cer,r=abc", false, true, NULL },
		{ "SCRAM-SHA-256", "n,,n=us=3Der,r=abc", false, true, NULL },
		{ "SCRAM-SHA-256", "n,,n=us=er,r=abc", false, false, "user name" },
		{ "SCRAM-SHA-256", "n,,n=user=,r=abc", false, false, "user name" },
		{ "SCRAM-SHA-256", "n,,n=user=2,r=abc", false, false, "user name" },
		{ "SCRAM-SHA-256", "n,,n=us\xffr,r=abc", false, false, "user name" },
		{ "SCRAM-SHA-256", "n,,n=user,r=", false, false, "nonce" },
		{ "SCRAM-SHA-256", "n,,n=user,r=a b", false, false, "nonce" },
		{ "SCRAM-SHA-256", "n,,n=user", false, false, "nonce" },
		{ "SCRAM-SHA-256", "n,,n=user,", false, false, "nonce" },
		{ "SCRAM-SHA-256", "n,,n=user,r=abc,", false, false, "extension" },
		{ "SCRAM-SHA-256", "n,,n=user,r=abc,x=1", false, true, NULL },
		{ "SCRAM-SHA-256", "n,,r=abc,n=user", false, false, NULL },
		{ "SCRAM-SHA-256", "n,", false, false, NULL },
		{ "SCRAM-SHA-256", "n", false, false, NULL },
		{ "SCRAM-SHA-256", "", false, false, NULL },
		{ "SCRAM-SHA-256", ",,n=user,r=abc", false, false, NULL },
	};
	for (size_t i = 0; i < N_ELEMENTS(c); i++) {
		memset(&scram_peer, 0, sizeof(scram_peer));
		if (c[i].with_cb) {
			scram_peer.cb_tls_exporter = exporter;
			scram_peer.cb_tls_exporter_len = sizeof(exporter);
			scram_peer.cb_tls_server_end_point = end_point;
			scram_peer.cb_tls_server_end_point_len = sizeof(end_point);
		}
		r.mech = c[i].mech;
		r.client_first = c[i].first;
		r.client_final = NULL;
		scram_run(&r);
		if ((r.first == SASL_STEP_CONTINUE) != c[i].ok)
			fail_msg("case %zu (%s %s): %s", i, c[i].mech, c[i].first,
				 r.error != NULL ? r.error : "accepted");
		if (c[i].error != NULL && strstr(r.error, c[i].error) == NULL)
			fail_msg("case %zu: error %s", i, r.error);
	}
	memset(&scram_peer, 0, sizeof(scram_peer));
	free(cred);
}

/* Builds a client-final for `mech` with password "pencil" the way a
 * client does, given the server-first and the gs2 header + cb data. */
static char *scram_client_final(enum password_scram_hash hash, const char *client_first_bare,
				const char *server_first, const char *cbind, size_t cbind_len,
				const char *salt_b64)
{
	char *cred = scram_credentials(hash, salt_b64);
	(void)cred;
	struct str final = STR_INIT, msg = STR_INIT;
	const char *nonce = server_first + 2;
	const char *nonce_end = strchr(nonce, ',');
	str_append(&final, "c=");
	base64_encode(cbind, cbind_len, &final);
	str_append(&final, ",r=");
	str_append_n(&final, nonce, (size_t)(nonce_end - nonce));
	str_printfa(&msg, "%s,%s,%s", client_first_bare, server_first, final.data);
	/* ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage); the
	 * client key is not in the credentials, so recompute it */
	struct str salt = STR_INIT;
	assert_int_equal(base64_decode(salt_b64, strlen(salt_b64), &salt), 0);
	const EVP_MD *md = hash == PASSWORD_SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
	size_t len = password_scram_hash_len(hash);
	unsigned char salted[64], client_key[64], stored_key[64], sig[64], proof[64];
	unsigned int l;
	PKCS5_PBKDF2_HMAC("pencil", 6, (const unsigned char *)salt.data, (int)salt.len, 4096, md,
			  (int)len, salted);
	HMAC(md, salted, (int)len, (const unsigned char *)"Client Key", 10, client_key, &l);
	EVP_Digest(client_key, len, stored_key, NULL, md, NULL);
	HMAC(md, stored_key, (int)len, (const unsigned char *)msg.data, msg.len, sig, &l);
	for (size_t i = 0; i < len; i++)
		proof[i] = client_key[i] ^ sig[i];
	str_append(&final, ",p=");
	base64_encode(proof, len, &final);
	str_free(&salt);
	str_free(&msg);
	free(cred);
	return str_steal(&final);
}

static void test_scram_channel_binding(void **state)
{
	(void)state;
	static const unsigned char exporter[32] = { 1, 2, 3, 4, 5 };
	static const unsigned char end_point[32] = { 9, 8, 7 };
	char *cred = scram_credentials(PASSWORD_SCRAM_SHA256, RFC7677_SALT);
	memset(&scram_peer, 0, sizeof(scram_peer));
	scram_peer.cb_tls_exporter = exporter;
	scram_peer.cb_tls_exporter_len = sizeof(exporter);
	scram_peer.cb_tls_server_end_point = end_point;
	scram_peer.cb_tls_server_end_point_len = sizeof(end_point);
	sasl_scram_test_server_nonce = "SERVERNONCE";
	static const struct { const char *gs2; const unsigned char *cb; bool ok; } c[] = {
		{ "p=tls-exporter,,", exporter, true },
		{ "p=tls-server-end-point,,", end_point, true },
		{ "p=tls-exporter,,", end_point, false },	/* wrong data */
		{ "p=tls-server-end-point,,", exporter, false },
		{ "p=tls-exporter,,", NULL, false },		/* no data */
		{ "p=tls-exporter,a=user,", exporter, true },
	};
	for (size_t i = 0; i < N_ELEMENTS(c); i++) {
		char first[256], cbind[256];
		snprintf(first, sizeof(first), "%sn=user,r=cnonce", c[i].gs2);
		size_t gl = strlen(c[i].gs2);
		memcpy(cbind, c[i].gs2, gl);
		if (c[i].cb != NULL)
			memcpy(cbind + gl, c[i].cb, 32);
		struct scram_run r = {
			.mech = "SCRAM-SHA-256-PLUS", .client_first = first, .credentials = cred,
		};
		scram_run(&r);
		assert_int_equal(r.first, SASL_STEP_CONTINUE);
		char *final = scram_client_final(PASSWORD_SCRAM_SHA256, "n=user,r=cnonce",
						 r.server_first, cbind,
						 gl + (c[i].cb != NULL ? 32 : 0), RFC7677_SALT);
		r.client_final = final;
		scram_run(&r);
		if ((r.final == SASL_STEP_DONE) != c[i].ok)
			fail_msg("case %zu: %s", i, r.error != NULL ? r.error : "accepted");
		if (!c[i].ok)
			assert_string_equal(r.error, "SCRAM channel binding mismatch");
		free(final);
	}
	/* a client that said 'n' to the plain mechanism over TLS binds "n,," */
	struct scram_run r = {
		.mech = "SCRAM-SHA-256", .client_first = "n,,n=user,r=cnonce", .credentials = cred,
	};
	scram_run(&r);
	char *final = scram_client_final(PASSWORD_SCRAM_SHA256, "n=user,r=cnonce", r.server_first,
					 "n,,", 3, RFC7677_SALT);
	r.client_final = final;
	scram_run(&r);
	assert_int_equal(r.final, SASL_STEP_DONE);
	free(final);
	memset(&scram_peer, 0, sizeof(scram_peer));
	sasl_scram_test_server_nonce = NULL;
	free(cred);
}

static void test_scram_final_bad(void **state)
{
	(void)state;
	char *cred = scram_credentials(PASSWORD_SCRAM_SHA256, RFC7677_SALT);
	static const char *const bad[] = {
		"",
		"c=biws",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,c=biws,p=AAAA",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0X,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		"c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",	/* "y,," */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",	/* bad base64 */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,x=1",	/* proof not last */
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=,",
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	};
	sasl_scram_test_server_nonce = RFC7677_SERVER_NONCE;
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		struct scram_run r = {
			.mech = "SCRAM-SHA-256", .client_first = RFC7677_CLIENT_FIRST,
			.credentials = cred, .client_final = bad[i],
		};
		scram_run(&r);
		assert_int_equal(r.first, SASL_STEP_CONTINUE);
		if (r.final != SASL_STEP_FAILED)
			fail_msg("case %zu accepted", i);
		assert_non_null(r.error);
	}
	/* an extension before the proof is ignored, but it is part of the
	 * AuthMessage, so the RFC's proof no longer matches */
	struct scram_run r = {
		.mech = "SCRAM-SHA-256", .client_first = RFC7677_CLIENT_FIRST, .credentials = cred,
		.client_final = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,x=y,"
		"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	};
	scram_run(&r);
	assert_int_equal(r.final, SASL_STEP_FAILED);
	assert_string_equal(r.error, "Authentication failed.");
	/* malformed stored credentials: a temporary failure, not a crash */
	r.credentials = "4096,notbase64!,x,y";
	r.client_final = NULL;
	scram_run(&r);
	assert_int_equal(r.first, SASL_STEP_FAILED);
	sasl_scram_test_server_nonce = NULL;
	free(cred);
}

/* password_get_credentials(): which stored schemes give what */
static void test_password_credentials(void **state)
{
	(void)state;
	char *c = NULL;
	const char *error;
	char *rfc = scram_credentials(PASSWORD_SCRAM_SHA256, RFC7677_SALT);
	char *stored = xasprintf("{SCRAM-SHA-256}%s", rfc);
	const char *extra[] = { stored, NULL };

	/* a stored SCRAM key is given as it is */
	assert_int_equal(password_get_credentials(stored, NULL, "SCRAM-SHA-256", "user", 4096,
						  &c, &error), 1);
	assert_string_equal(c, rfc);
	free(c);
	assert_int_equal(password_get_credentials("{SHA512-CRYPT}$6$x$y", extra, "scram-sha-256",
						  "user", 4096, &c, &error), 1);
	assert_string_equal(c, rfc);
	free(c);
	/* not of the other hash */
	assert_int_equal(password_get_credentials(stored, NULL, "SCRAM-SHA-1", "user", 4096,
						  &c, &error), 0);
	assert_null(c);
	/* a crypt hash alone gives nothing */
	assert_int_equal(password_get_credentials("$6$x$y", NULL, "SCRAM-SHA-256", "user", 4096,
						  &c, &error), 0);
	assert_int_equal(password_get_credentials("$6$x$y", NULL, "CRAM-MD5", "user", 4096,
						  &c, &error), 0);
	/* PLAIN gives every scheme; SCRAM with the per-user salt, the same
	 * each time, and the iteration count asked for */
	assert_int_equal(password_get_credentials("{PLAIN}pencil", NULL, "SCRAM-SHA-1", "user",
						  100, &c, &error), 1);
	assert_true(strncmp(c, "100,", 4) == 0);
	char *again = NULL;
	assert_int_equal(password_get_credentials("{PLAIN}pencil", NULL, "SCRAM-SHA-1", "user",
						  100, &again, &error), 1);
	assert_string_equal(c, again);
	char *stored2 = xasprintf("{SCRAM-SHA-1}%s", c);
	assert_int_equal(password_verify("pencil", stored2, &error), 1);
	free(stored2);
	free(c);
	free(again);
	assert_int_equal(password_get_credentials("{PLAIN}pencil", NULL, "PLAIN", "user", 100,
						  &c, &error), 1);
	assert_string_equal(c, "pencil");
	free(c);
	/* malformed SCRAM data and unknown schemes are errors */
	assert_int_equal(password_get_credentials("{SCRAM-SHA-256}4096,abc", NULL,
						  "SCRAM-SHA-256", "user", 4096, &c, &error), -1);
	assert_int_equal(password_get_credentials("{SCRAM-SHA-256}0,QSXCR+Q6sek8bf92,AA==,AA==",
						  NULL, "SCRAM-SHA-256", "user", 4096, &c,
						  &error), -1);
	assert_int_equal(password_get_credentials("{PLAIN}x", NULL, "NOPE", "user", 4096, &c,
						  &error), -1);
	const char *bad_stored[] = {
		"{SCRAM-SHA-256}", "{SCRAM-SHA-256}4096", "{SCRAM-SHA-256}4096,,,",
		"{SCRAM-SHA-256}x,QSXCR+Q6sek8bf92,AA==,AA==",
		"{SCRAM-SHA-256}99999999999,QSXCR+Q6sek8bf92,AA==,AA==",
		"{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,AA==,AA==,",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad_stored); i++)
		assert_int_equal(password_verify("pencil", bad_stored[i], &error), -1);
	free(stored);
	free(rfc);

	/* password_hash() makes SCRAM and CRAM-MD5 too */
	char *h = password_hash("secret", "SCRAM-SHA-256", &error);
	assert_true(strncmp(h, "{SCRAM-SHA-256}4096,", 20) == 0);
	assert_int_equal(password_verify("secret", h, &error), 1);
	assert_int_equal(password_verify("secreT", h, &error), 0);
	free(h);
	h = password_scram_hash("secret", PASSWORD_SCRAM_SHA1, 10);
	assert_true(strncmp(h, "{SCRAM-SHA-1}10,", 16) == 0);
	assert_int_equal(password_verify("secret", h, &error), 1);
	free(h);
}

/* RFC 2195 section 2's example through Dovecot's {CRAM-MD5} context */
static void test_password_cram_md5(void **state)
{
	(void)state;
	static const char challenge[] = "<1896.697170952@postoffice.reston.mci.net>";
	const char *error;
	char *c = NULL;
	assert_int_equal(password_get_credentials("{PLAIN}tanstaaftanstaaf", NULL, "CRAM-MD5",
						  "tim", 0, &c, &error), 1);
	assert_int_equal(strlen(c), 64);
	unsigned char ctx[32], digest[16];
	for (size_t i = 0; i < 32; i++) {
		unsigned int v;
		sscanf(c + i * 2, "%2x", &v);
		ctx[i] = (unsigned char)v;
	}
	password_cram_md5_hmac(ctx, challenge, strlen(challenge), digest);
	char hex[33];
	for (size_t i = 0; i < 16; i++)
		sprintf(hex + i * 2, "%02x", digest[i]);
	assert_string_equal(hex, "b913a602c7eda7a495b4e6e7334d3890");
	/* the stored form is the same context and verifies the password */
	char *h = password_hash("tanstaaftanstaaf", "CRAM-MD5", &error);
	assert_string_equal(h + 10, c);
	assert_int_equal(password_verify("tanstaaftanstaaf", h, &error), 1);
	assert_int_equal(password_verify("tanstaaf", h, &error), 0);
	char *c2 = NULL;
	assert_int_equal(password_get_credentials("$6$x$y", (const char *[]){ h, NULL },
						  "CRAM-MD5", "tim", 0, &c2, &error), 1);
	assert_string_equal(c, c2);
	free(c2);
	free(h);
	free(c);
	/* a key longer than the 64-byte block is hashed first (RFC 2104) */
	char longpw[100];
	memset(longpw, 'k', 99);
	longpw[99] = '\0';
	h = password_hash(longpw, "CRAM-MD5", &error);
	assert_int_equal(password_verify(longpw, h, &error), 1);
	free(h);
	assert_int_equal(password_verify("x", "{CRAM-MD5}abc", &error), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scram_rfc5802),
		cmocka_unit_test(test_scram_rfc7677),
		cmocka_unit_test(test_scram_unknown_user),
		cmocka_unit_test(test_scram_gs2),
		cmocka_unit_test(test_scram_channel_binding),
		cmocka_unit_test(test_scram_final_bad),
		cmocka_unit_test(test_password_credentials),
		cmocka_unit_test(test_password_cram_md5),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
