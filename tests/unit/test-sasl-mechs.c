/* test-sasl-mechs.c: CRAM-MD5 (RFC 2195 section 2's example), DIGEST-MD5
 * (RFC 2831 section 4's example, directive rules) and EXTERNAL (RFC 4422
 * appendix A) against sasl.h, with lookups answered by the test through
 * password_get_credentials() as the driver does. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "auth/sasl-test.h"
#include "auth/password.h"
#include "conf/conf.h"

static struct sasl_peer mech_peer;
/* the user database of the test: one user and its stored password */
static const char *mech_user = "tim";
static const char *mech_stored = "{PLAIN}tanstaaftanstaaf";
static char mech_last_scheme[300];

/* Steps with `input` (NULL: none) and answers a lookup like the driver.
 * Returns the final result; *data_r gets the output. */
static enum sasl_step_result mech_step(struct sasl_exchange *ex, const char *input,
				       char *data_r, size_t size, const char **error_r)
{
	struct sasl_output out;
	enum sasl_step_result ret = sasl_exchange_step(ex, (const unsigned char *)input,
						       input != NULL ? strlen(input) : 0, &out);
	if (ret == SASL_STEP_LOOKUP) {
		struct sasl_lookup_result res = { .status = SASL_LOOKUP_NOT_FOUND };
		char *cred = NULL;
		const char *error;
		bool known = strcmp(out.lookup.user, mech_user) == 0;
		if (out.lookup.kind == SASL_LOOKUP_CREDENTIALS) {
			snprintf(mech_last_scheme, sizeof(mech_last_scheme), "%s", out.lookup.scheme);
			if (known && password_get_credentials(mech_stored, NULL, out.lookup.scheme,
							      out.lookup.user, 4096, &cred,
							      &error) == 1) {
				res.status = SASL_LOOKUP_OK;
				res.credentials = (const unsigned char *)cred;
				res.credentials_len = strlen(cred);
			}
		} else if (out.lookup.kind == SASL_LOOKUP_USER && known) {
			res.status = SASL_LOOKUP_OK;
		}
		ret = sasl_exchange_lookup_done(ex, &res, &out);
		free(cred);
	}
	*error_r = out.error;
	data_r[0] = '\0';
	if (out.data != NULL) {
		assert_true(out.data_len < size);
		memcpy(data_r, out.data, out.data_len);
		data_r[out.data_len] = '\0';
	}
	return ret;
}

static void test_cram_md5(void **state)
{
	(void)state;
	char data[512];
	const char *error;
	struct sasl_exchange *ex;

	sasl_cram_md5_test_challenge = "<1896.697170952@postoffice.reston.mci.net>";
	/* RFC 2195 section 2 */
	static const char *const stored[] = {
		"{PLAIN}tanstaaftanstaaf", NULL,
	};
	char *cram = password_hash("tanstaaftanstaaf", "CRAM-MD5", &error);
	for (int k = 0; k < 2; k++) {
		mech_stored = k == 0 ? stored[0] : cram;
		ex = sasl_exchange_create(sasl_mech_find("CRAM-MD5"), NULL, &mech_peer);
		assert_int_equal(mech_step(ex, NULL, data, sizeof(data), &error), SASL_STEP_CONTINUE);
		assert_string_equal(data, "<1896.697170952@postoffice.reston.mci.net>");
		assert_int_equal(mech_step(ex, "tim b913a602c7eda7a495b4e6e7334d3890", data,
					   sizeof(data), &error), SASL_STEP_DONE);
		assert_string_equal(sasl_exchange_authcid(ex), "tim");
		assert_string_equal(mech_last_scheme, "CRAM-MD5");
		sasl_exchange_destroy(&ex);
	}
	/* an empty initial response is no initial response; upper case hex */
	ex = sasl_exchange_create(&sasl_mech_cram_md5, NULL, &mech_peer);
	assert_int_equal(mech_step(ex, "", data, sizeof(data), &error), SASL_STEP_CONTINUE);
	assert_int_equal(mech_step(ex, "tim B913A602C7EDA7A495B4E6E7334D3890", data, sizeof(data),
				   &error), SASL_STEP_DONE);
	sasl_exchange_destroy(&ex);
	static const char *const bad[] = {
		"tim b913a602c7eda7a495b4e6e7334d3891",		/* wrong digest */
		"tom b913a602c7eda7a495b4e6e7334d3890",		/* unknown user */
		"tim  b913a602c7eda7a495b4e6e7334d3890",	/* user "tim " */
		"tim b913a602c7eda7a495b4e6e7334d389",		/* short */
		"tim b913a602c7eda7a495b4e6e7334d38900",	/* long */
		"timb913a602c7eda7a495b4e6e7334d3890",
		" b913a602c7eda7a495b4e6e7334d3890",		/* no user */
		"tim g913a602c7eda7a495b4e6e7334d3890",		/* not hex */
		"",
		"t\xffm b913a602c7eda7a495b4e6e7334d3890",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		ex = sasl_exchange_create(&sasl_mech_cram_md5, NULL, &mech_peer);
		assert_int_equal(mech_step(ex, NULL, data, sizeof(data), &error), SASL_STEP_CONTINUE);
		if (mech_step(ex, bad[i], data, sizeof(data), &error) != SASL_STEP_FAILED)
			fail_msg("case %zu accepted", i);
		sasl_exchange_destroy(&ex);
	}
	/* an initial response is refused; a crypt hash cannot do CRAM-MD5 */
	ex = sasl_exchange_create(&sasl_mech_cram_md5, NULL, &mech_peer);
	assert_int_equal(mech_step(ex, "tim x", data, sizeof(data), &error), SASL_STEP_FAILED);
	sasl_exchange_destroy(&ex);
	mech_stored = "$6$abc$def";
	ex = sasl_exchange_create(&sasl_mech_cram_md5, NULL, &mech_peer);
	assert_int_equal(mech_step(ex, NULL, data, sizeof(data), &error), SASL_STEP_CONTINUE);
	assert_int_equal(mech_step(ex, "tim b913a602c7eda7a495b4e6e7334d3890", data, sizeof(data),
				   &error), SASL_STEP_FAILED);
	assert_string_equal(error, "Authentication failed.");
	sasl_exchange_destroy(&ex);
	/* a random challenge looks like a msg-id */
	sasl_cram_md5_test_challenge = NULL;
	ex = sasl_exchange_create(&sasl_mech_cram_md5, NULL, &mech_peer);
	assert_int_equal(mech_step(ex, NULL, data, sizeof(data), &error), SASL_STEP_CONTINUE);
	assert_true(data[0] == '<' && data[strlen(data) - 1] == '>' && strchr(data, '@') != NULL);
	sasl_exchange_destroy(&ex);
	free(cram);
}

#define RFC2831_CHALLENGE \
	"realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\"," \
	"charset=utf-8,algorithm=md5-sess"
#define RFC2831_RESPONSE \
	"charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\"," \
	"nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\"," \
	"digest-uri=\"imap/elwood.innosoft.com\"," \
	"response=d388dad90d4bbd760a152321f2143af7,qop=auth"

static void test_digest_md5(void **state)
{
	(void)state;
	char data[512], *error_text = NULL;
	const char *error;
	struct roost_config *config = config_load(NULL, &error_text);
	assert_non_null(config);
	free(config->auth_realms);
	config->auth_realms = xstrdup("elwood.innosoft.com");
	mech_user = "chris";
	mech_stored = "{PLAIN}secret";
	mech_peer.service = "imap";
	sasl_digest_md5_test_nonce = "OA6MG9tEQGm2hh";

	const struct sasl_mech *mech = sasl_mech_find("DIGEST-MD5");
	assert_true((mech->flags & SASL_MECH_FLAG_NOT_DEFAULT) != 0);
	struct sasl_exchange *ex = sasl_exchange_create(mech, config, &mech_peer);
	assert_int_equal(mech_step(ex, NULL, data, sizeof(data), &error), SASL_STEP_CONTINUE);
	assert_string_equal(data, RFC2831_CHALLENGE);
	assert_int_equal(mech_step(ex, RFC2831_RESPONSE, data, sizeof(data), &error),
			 SASL_STEP_DONE);
	/* RFC 2831 section 4 */
	assert_string_equal(data, "rspauth=ea40f60335c427b5527b84dbabcdfffd");
	assert_string_equal(mech_last_scheme, "DIGEST-MD5 elwood.innosoft.com");
	assert_string_equal(sasl_exchange_authcid(ex), "chris");
	sasl_exchange_destroy(&ex);

	/* a stored {DIGEST-MD5}: hex MD5("chris:elwood.innosoft.com:secret") */
	char *cred = NULL;
	assert_int_equal(password_get_credentials("{PLAIN}secret", NULL,
						  "DIGEST-MD5 elwood.innosoft.com", "chris", 0,
						  &cred, &error), 1);
	char *stored = xasprintf("{DIGEST-MD5}%s", cred);
	mech_stored = stored;
	ex = sasl_exchange_create(mech, config, &mech_peer);
	assert_int_equal(mech_step(ex, NULL, data, sizeof(data), &error), SASL_STEP_CONTINUE);
	assert_int_equal(mech_step(ex, RFC2831_RESPONSE, data, sizeof(data), &error),
			 SASL_STEP_DONE);
	sasl_exchange_destroy(&ex);
	free(stored);
	free(cred);
	mech_stored = "{PLAIN}secret";

	static const struct { const char *response, *error; } bad[] = {
		{ "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\","
		  "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
		  "digest-uri=\"imap/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af8,qop=auth", "Authentication failed." },
		{ "username=\"chris\",realm=\"elwood.innosoft.com\","
		  "nonce=\"OTHER\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
		  "digest-uri=\"imap/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af7,qop=auth", "nonce mismatch" },
		{ "username=\"chris\",realm=\"elwood.innosoft.com\","
		  "nonce=\"OA6MG9tEQGm2hh\",nc=00000002,cnonce=\"OA6MHXh6VqTrRk\","
		  "digest-uri=\"imap/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af7,qop=auth", "nonce count" },
		{ "username=\"chris\",realm=\"other.example\","
		  "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
		  "digest-uri=\"imap/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af7,qop=auth", "realm" },
		{ "username=\"chris\",realm=\"elwood.innosoft.com\","
		  "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
		  "digest-uri=\"smtp/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af7,qop=auth", "digest-uri" },
		{ "username=\"chris\",realm=\"elwood.innosoft.com\","
		  "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
		  "digest-uri=\"imap/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af7,qop=auth-conf", "qop" },
		{ "username=\"chris\",username=\"chris\",realm=\"elwood.innosoft.com\","
		  "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
		  "digest-uri=\"imap/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af7,qop=auth", "Duplicate" },
		{ "username=\"chris\",realm=\"elwood.innosoft.com\","
		  "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,"
		  "digest-uri=\"imap/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af7,qop=auth", "lacks" },
		{ "username=\"chris", "Invalid" },
		{ "username=\"ch\\", "Invalid" },
		{ "username", "Invalid" },
		{ "=x", "Invalid" },
		{ "username=chris x", "Invalid" },
		{ "", "lacks" },
		{ ",,,", "lacks" },
		{ "username=\"chris\",authzid=\"admin\",realm=\"elwood.innosoft.com\","
		  "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
		  "digest-uri=\"imap/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af7,qop=auth", "Authorization" },
		{ "username=\"chr\xc3\xafs\",realm=\"elwood.innosoft.com\","
		  "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
		  "digest-uri=\"imap/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af7,qop=auth", "non-ASCII" },
		{ "username=\"chris\",realm=\"elwood.innosoft.com\",cipher=rc4,"
		  "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
		  "digest-uri=\"imap/elwood.innosoft.com\","
		  "response=d388dad90d4bbd760a152321f2143af7,qop=auth", "confidentiality" },
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		ex = sasl_exchange_create(mech, config, &mech_peer);
		assert_int_equal(mech_step(ex, NULL, data, sizeof(data), &error), SASL_STEP_CONTINUE);
		if (mech_step(ex, bad[i].response, data, sizeof(data), &error) != SASL_STEP_FAILED)
			fail_msg("case %zu accepted", i);
		if (strstr(error, bad[i].error) == NULL)
			fail_msg("case %zu: %s", i, error);
		sasl_exchange_destroy(&ex);
	}
	/* white space around directives is allowed (RFC 2616 #rule) */
	ex = sasl_exchange_create(mech, config, &mech_peer);
	assert_int_equal(mech_step(ex, NULL, data, sizeof(data), &error), SASL_STEP_CONTINUE);
	assert_int_equal(mech_step(ex, " username = \"chris\" , realm=\"elwood.innosoft.com\","
				   "nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\","
				   "digest-uri=\"imap/elwood.innosoft.com\",,"
				   "response=d388dad90d4bbd760a152321f2143af7,qop=auth ",
				   data, sizeof(data), &error), SASL_STEP_DONE);
	sasl_exchange_destroy(&ex);
	/* an initial response is refused */
	ex = sasl_exchange_create(mech, config, &mech_peer);
	assert_int_equal(mech_step(ex, "x", data, sizeof(data), &error), SASL_STEP_FAILED);
	sasl_exchange_destroy(&ex);
	sasl_digest_md5_test_nonce = NULL;
	mech_peer.service = NULL;
	mech_user = "tim";
	mech_stored = "{PLAIN}tanstaaftanstaaf";
	config_free(&config);
}

static void test_external(void **state)
{
	(void)state;
	char data[64];
	const char *error;
	const struct sasl_mech *mech = sasl_mech_find("EXTERNAL");
	assert_non_null(mech);
	char *config_error = NULL;
	struct roost_config *config = config_load(NULL, &config_error);
	assert_non_null(config);
	memset(&mech_peer, 0, sizeof(mech_peer));
	assert_false(mech->usable(config, &mech_peer));
	/* a certificate user, but no tls_client_ca: never (it could come
	 * from a login process that made it up) */
	mech_peer.cert_user = "tim";
	assert_false(mech->usable(config, &mech_peer));
	struct sasl_exchange *ex = sasl_exchange_create(mech, config, &mech_peer);
	assert_int_equal(mech_step(ex, "", data, sizeof(data), &error), SASL_STEP_FAILED);
	sasl_exchange_destroy(&ex);
	free(config->tls_client_ca);
	config->tls_client_ca = xstrdup("/etc/roost/ca.pem");
	mech_peer.cert_user = NULL;
	ex = sasl_exchange_create(mech, config, &mech_peer);
	assert_int_equal(mech_step(ex, "", data, sizeof(data), &error), SASL_STEP_FAILED);
	sasl_exchange_destroy(&ex);

	mech_peer.cert_user = "tim";
	assert_true(mech->usable(config, &mech_peer));
	static const struct { const char *input; enum sasl_step_result result; } c[] = {
		{ "", SASL_STEP_DONE },
		{ "tim", SASL_STEP_DONE },
		{ "TIM", SASL_STEP_DONE },
		{ "admin", SASL_STEP_FAILED },
		{ "t\xffm", SASL_STEP_FAILED },
	};
	for (size_t i = 0; i < N_ELEMENTS(c); i++) {
		ex = sasl_exchange_create(mech, config, &mech_peer);
		if (mech_step(ex, c[i].input, data, sizeof(data), &error) != c[i].result)
			fail_msg("case %zu", i);
		if (c[i].result == SASL_STEP_DONE)
			assert_string_equal(sasl_exchange_authcid(ex), "tim");
		sasl_exchange_destroy(&ex);
	}
	/* no initial response: an empty challenge, then the authzid */
	ex = sasl_exchange_create(mech, config, &mech_peer);
	assert_int_equal(mech_step(ex, NULL, data, sizeof(data), &error), SASL_STEP_CONTINUE);
	assert_int_equal(mech_step(ex, "", data, sizeof(data), &error), SASL_STEP_DONE);
	sasl_exchange_destroy(&ex);
	/* a certificate user the database does not know */
	mech_peer.cert_user = "nobody";
	ex = sasl_exchange_create(mech, config, &mech_peer);
	assert_int_equal(mech_step(ex, "", data, sizeof(data), &error), SASL_STEP_FAILED);
	sasl_exchange_destroy(&ex);
	memset(&mech_peer, 0, sizeof(mech_peer));
	config_free(&config);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cram_md5),
		cmocka_unit_test(test_digest_md5),
		cmocka_unit_test(test_external),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
