/* fuzz-sasl-secrets.c: libFuzzer target for the SASL mechanisms' message parsers
 * (SCRAM client-first and client-final, CRAM-MD5, DIGEST-MD5, EXTERNAL).
 *
 * The first byte picks the mechanism; the rest is split at the first
 * 0xff byte into the first and second client message.  Lookups are
 * answered with the RFC 7677 keys of "pencil" (and {PLAIN}pencil for the
 * others), the server nonce is fixed, so that the RFC example and its
 * mutations reach the proof check.  Nothing may crash or leak; a DONE
 * must have an identity. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "auth/password.h"
#include "auth/sasl.h"
#include "auth/sasl-test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 7677 section 3's user with salt W22ZaJ0SNY7soEsUEjb6gQ== */
static char *fuzz_scram_sha256, *fuzz_scram_sha1;

static enum sasl_step_result fuzz_sasl_answer(struct sasl_exchange *ex,
					      enum sasl_step_result ret, struct sasl_output *out)
{
	if (ret != SASL_STEP_LOOKUP)
		return ret;
	struct sasl_lookup_result res = { .status = SASL_LOOKUP_OK };
	char *cred = NULL;
	const char *error;
	if (out->lookup.kind == SASL_LOOKUP_CREDENTIALS) {
		if (strcmp(out->lookup.scheme, "SCRAM-SHA-256") == 0)
			cred = xstrdup(fuzz_scram_sha256);
		else if (strcmp(out->lookup.scheme, "SCRAM-SHA-1") == 0)
			cred = xstrdup(fuzz_scram_sha1);
		else if (password_get_credentials("{PLAIN}pencil", NULL, out->lookup.scheme,
						  out->lookup.user, 1, &cred, &error) != 1)
			res.status = SASL_LOOKUP_NOT_FOUND;
		if (cred != NULL) {
			res.credentials = (const unsigned char *)cred;
			res.credentials_len = strlen(cred);
		}
	}
	ret = sasl_exchange_lookup_done(ex, &res, out);
	free(cred);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const mechs[] = {
		"SCRAM-SHA-256", "SCRAM-SHA-1", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
		"CRAM-MD5", "DIGEST-MD5", "EXTERNAL",
	};
	static const unsigned char cb[32] = { 1, 2, 3 };
	if (fuzz_scram_sha256 == NULL) {
		static const unsigned char salt[16] = {
			0x5b, 0x6d, 0x99, 0x68, 0x9d, 0x12, 0x35, 0x8e,
			0xec, 0xa0, 0x4b, 0x14, 0x12, 0x36, 0xfa, 0x81,
		};
		fuzz_scram_sha256 = password_scram_make(PASSWORD_SCRAM_SHA256, "pencil", salt,
							sizeof(salt), 4096);
		fuzz_scram_sha1 = password_scram_make(PASSWORD_SCRAM_SHA1, "pencil", salt,
						      sizeof(salt), 4096);
		sasl_scram_test_server_nonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
		sasl_cram_md5_test_challenge = "<1896.697170952@postoffice.reston.mci.net>";
		sasl_digest_md5_test_nonce = "OA6MG9tEQGm2hh";
	}
	if (size == 0)
		return 0;
	struct sasl_peer peer = {
		.remote_ip = "", .local_ip = "", .service = "imap",
		.cb_tls_exporter = cb, .cb_tls_exporter_len = sizeof(cb),
		.cb_tls_server_end_point = cb, .cb_tls_server_end_point_len = sizeof(cb),
		.cert_user = "user",
	};
	const struct sasl_mech *mech = sasl_mech_find(mechs[data[0] % N_ELEMENTS(mechs)]);
	data++;
	size--;
	const uint8_t *sep = memchr(data, 0xff, size);
	size_t first_len = sep != NULL ? (size_t)(sep - data) : size;

	struct sasl_exchange *ex = sasl_exchange_create(mech, NULL, &peer);
	struct sasl_output out;
	/* CRAM-MD5 and DIGEST-MD5 speak first */
	enum sasl_step_result ret = SASL_STEP_CONTINUE;
	if (mech == &sasl_mech_cram_md5 || mech == &sasl_mech_digest_md5)
		ret = sasl_exchange_step(ex, NULL, 0, &out);
	if (ret == SASL_STEP_CONTINUE) {
		unsigned char *first = xmalloc(first_len + 1);
		memcpy(first, data, first_len);
		ret = fuzz_sasl_answer(ex, sasl_exchange_step(ex, first, first_len, &out), &out);
		free(first);
	}
	if (ret == SASL_STEP_CONTINUE && sep != NULL) {
		size_t len = size - first_len - 1;
		unsigned char *second = xmalloc(len + 1);
		memcpy(second, sep + 1, len);
		ret = fuzz_sasl_answer(ex, sasl_exchange_step(ex, second, len, &out), &out);
		free(second);
	}
	if (ret == SASL_STEP_DONE && sasl_exchange_authcid(ex) == NULL)
		abort();
	sasl_exchange_destroy(&ex);
	return 0;
}
