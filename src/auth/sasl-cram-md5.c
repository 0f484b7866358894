/* sasl-cram-md5.c: the CRAM-MD5 mechanism (RFC 2195).
 *
 *   S: <random.time@host>                 (the challenge, a msg-id)
 *   C: user SP 32 lowercase hex digits    (HMAC-MD5 of the challenge
 *                                          keyed with the password)
 *
 * The key comes from the lookup as the HMAC-MD5 key block state (Dovecot's
 * {CRAM-MD5}, or made from {PLAIN}: password_get_credentials()), so the
 * password itself is never needed.  Users whose stored password is a
 * crypt hash only cannot use it: the lookup finds nothing and the
 * exchange fails like a wrong password. */
#include "sasl.h"
#include "sasl-test.h"
#include "password.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <unistr.h>
#include <openssl/crypto.h>

const char *sasl_cram_md5_test_challenge;

#define CRAM_MD5_MAX_USER_LEN 255

struct sasl_cram_md5_state {
	bool challenged;
	char challenge[300];
	char user[CRAM_MD5_MAX_USER_LEN + 1];
	unsigned char digest[16];
};

static enum sasl_step_result sasl_cram_md5_step(struct sasl_exchange *ex,
						const unsigned char *input, size_t input_len,
						struct sasl_output *out)
{
	struct sasl_cram_md5_state *st = sasl_exchange_state(ex);

	if (!st->challenged) {
		/* the server speaks first: an initial response makes no
		 * sense (an empty one is taken as none) */
		if (input != NULL && input_len > 0) {
			out->error = "CRAM-MD5 takes no initial response";
			return SASL_STEP_FAILED;
		}
		if (sasl_cram_md5_test_challenge != NULL) {
			snprintf(st->challenge, sizeof(st->challenge), "%s",
				 sasl_cram_md5_test_challenge);
		} else {
			char host[256] = "localhost";
			unsigned long long rnd;
			if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
				i_panic("cram-md5: getrandom failed");
			if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
				strcpy(host, "localhost");
			host[sizeof(host) - 1] = '\0';
			snprintf(st->challenge, sizeof(st->challenge), "<%llu.%lld@%s>", rnd,
				 (long long)time(NULL), host);
		}
		st->challenged = true;
		out->data = (const unsigned char *)st->challenge;
		out->data_len = strlen(st->challenge);
		return SASL_STEP_CONTINUE;
	}
	/* RFC 2195 section 2: the user name, a space, and the digest in
	 * lowercase hex (we accept either case) */
	const unsigned char *sp = input_len >= 33 ? input + input_len - 33 : NULL;
	if (sp == NULL || *sp != ' ' || sp == input ||
	    (size_t)(sp - input) > CRAM_MD5_MAX_USER_LEN ||
	    memchr(input, '\0', input_len) != NULL ||
	    password_hex_decode((const char *)sp + 1, 32, st->digest, 16) < 0) {
		out->error = "Invalid CRAM-MD5 response (expected user SP 32 hex digits)";
		return SASL_STEP_FAILED;
	}
	size_t user_len = (size_t)(sp - input);
	if (u8_check(input, user_len) != NULL) {
		out->error = "CRAM-MD5 user name is not valid UTF-8";
		return SASL_STEP_FAILED;
	}
	memcpy(st->user, input, user_len);
	st->user[user_len] = '\0';
	out->lookup.kind = SASL_LOOKUP_CREDENTIALS;
	out->lookup.user = st->user;
	out->lookup.scheme = "CRAM-MD5";
	return SASL_STEP_LOOKUP;
}

static enum sasl_step_result sasl_cram_md5_lookup_done(struct sasl_exchange *ex,
						       const struct sasl_lookup_result *result,
						       struct sasl_output *out)
{
	struct sasl_cram_md5_state *st = sasl_exchange_state(ex);
	unsigned char context[32], digest[16];

	if (result->status != SASL_LOOKUP_OK)
		return sasl_lookup_failed(result, out);
	if (result->credentials_len != 64 ||
	    password_hex_decode((const char *)result->credentials, 64, context, 32) < 0) {
		out->error = "Temporary authentication failure.";
		out->tempfail = true;
		return SASL_STEP_FAILED;
	}
	password_cram_md5_hmac(context, st->challenge, strlen(st->challenge), digest);
	bool ok = CRYPTO_memcmp(digest, st->digest, sizeof(digest)) == 0;
	explicit_bzero(context, sizeof(context));
	if (!ok) {
		out->error = "Authentication failed.";
		return SASL_STEP_FAILED;
	}
	sasl_exchange_set_identity(ex, result->user != NULL ? result->user : st->user, NULL);
	return SASL_STEP_DONE;
}

const struct sasl_mech sasl_mech_cram_md5 = {
	.name = "CRAM-MD5",
	.state_size = sizeof(struct sasl_cram_md5_state),
	.step = sasl_cram_md5_step,
	.lookup_done = sasl_cram_md5_lookup_done,
};
