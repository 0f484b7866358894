/* sasl-scram.c: SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants
 * (RFC 5802, RFC 7677), with the channel bindings tls-exporter (RFC
 * 9266) and tls-server-end-point (RFC 5929).
 *
 *   C: gs2-header client-first-message-bare     (step 1)
 *   S: LOOKUP CREDENTIALS "SCRAM-SHA-..." for the user
 *   S: server-first-message                     (CONTINUE)
 *   C: client-final-message                     (step 2)
 *   S: server-final-message                     (DONE, success data)
 *
 * The stored keys come from the lookup (password_get_credentials(): a
 * stored {SCRAM-...}, or keys made from {PLAIN} on a helper thread), so
 * this file only does HMACs and hashes.  An unknown user (or one whose
 * stored password cannot give SCRAM keys) gets the same server-first
 * message as a real one, with a salt derived from its name
 * (password_user_salt()) and the configured iteration count, and then
 * fails at the proof like a wrong password.  User names are compared
 * as sent (no SASLprep), like PLAIN's. */
#include "sasl.h"
#include "sasl-test.h"
#include "auth-private.h"
#include "password.h"
#include "base/base64.h"
#include "base/str.h"
#include "conf/conf.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistr.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

const char *sasl_scram_test_server_nonce;

/* names, authzids and nonces longer than this are refused */
#define SCRAM_MAX_FIELD_LEN 255
#define SCRAM_SERVER_NONCE_BYTES 18

enum sasl_scram_phase { SCRAM_PHASE_FIRST, SCRAM_PHASE_LOOKUP, SCRAM_PHASE_FINAL };

struct sasl_scram_state {
	enum password_scram_hash hash;
	bool plus;
	enum sasl_scram_phase phase;
	/* the user is unknown: the proof is checked against nothing */
	bool fake;
	char user[SCRAM_MAX_FIELD_LEN + 1];
	char authzid[SCRAM_MAX_FIELD_LEN + 1];
	/* gs2-header as sent, the client-first-message-bare, the nonce
	 * (client's and server's), the server-first-message */
	char *gs2_header, *client_first_bare, *nonce, *server_first;
	/* the channel binding data the gs2 header asked for (none: NULL) */
	const unsigned char *cb_data;
	size_t cb_len;
	unsigned char stored_key[64], server_key[64];
};

static void sasl_scram_init(struct sasl_exchange *ex)
{
	struct sasl_scram_state *st = sasl_exchange_state(ex);
	const struct sasl_mech *mech = sasl_exchange_mech(ex);

	st->hash = mech == &sasl_mech_scram_sha_1 || mech == &sasl_mech_scram_sha_1_plus ?
		PASSWORD_SCRAM_SHA1 : PASSWORD_SCRAM_SHA256;
	st->plus = (mech->flags & SASL_MECH_FLAG_CHANNEL_BINDING) != 0;
}

static void sasl_scram_free(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

static void sasl_scram_deinit(struct sasl_exchange *ex)
{
	struct sasl_scram_state *st = sasl_exchange_state(ex);
	sasl_scram_free(&st->gs2_header);
	sasl_scram_free(&st->client_first_bare);
	sasl_scram_free(&st->nonce);
	sasl_scram_free(&st->server_first);
}

/* printable = %x21-2B / %x2D-7E ; Printable ASCII except "," */
static bool sasl_scram_printable(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x21 || p[i] > 0x7e || p[i] == ',')
			return false;
	}
	return true;
}

/* Whether the -PLUS variant of this mechanism is offered to the peer:
 * RFC 5802 section 6, a client that sent 'y' (it supports channel
 * binding but thinks the server does not) while it is offered has seen
 * a downgrade. */
static bool sasl_scram_plus_offered(struct sasl_exchange *ex)
{
	const struct sasl_scram_state *st = sasl_exchange_state(ex);
	const struct roost_config *config = sasl_exchange_config(ex);
	const struct sasl_peer *peer = sasl_exchange_peer(ex);
	const struct sasl_mech *plus = st->hash == PASSWORD_SCRAM_SHA1 ?
		&sasl_mech_scram_sha_1_plus : &sasl_mech_scram_sha_256_plus;

	/* without a configuration (unit tests): whenever there is a binding */
	if (config == NULL)
		return peer->cb_tls_exporter_len > 0 || peer->cb_tls_server_end_point_len > 0;
	return auth_mech_allowed(config, plus, peer);
}

/* The next ','-separated attribute "X=value" of msg[*pos..len); returns
 * false at the end. */
static bool sasl_scram_next(const char *msg, size_t len, size_t *pos, const char **attr_r,
			    size_t *attr_len_r)
{
	if (*pos > len)
		return false;
	const char *start = msg + *pos;
	const char *comma = memchr(start, ',', len - *pos);
	size_t alen = comma != NULL ? (size_t)(comma - start) : len - *pos;
	*attr_r = start;
	*attr_len_r = alen;
	*pos += alen + 1;
	return true;
}

/* RFC 5802 section 7:
 *   gs2-cbind-flag  = ("p=" cb-name) / "n" / "y"
 *   gs2-header      = gs2-cbind-flag "," [ authzid ] ","
 *   authzid         = "a=" saslname
 *   client-first-message-bare = [reserved-mext ","] username "," nonce
 *                               ["," extensions]
 *   username        = "n=" saslname
 *   nonce           = "r=" c-nonce [s-nonce]
 * Returns NULL, or the error for the client. */
static const char *sasl_scram_client_first(struct sasl_exchange *ex, const char *msg,
					   size_t len)
{
	struct sasl_scram_state *st = sasl_exchange_state(ex);
	const struct sasl_peer *peer = sasl_exchange_peer(ex);
	const char *attr;
	size_t attr_len, pos = 0;

	if (memchr(msg, '\0', len) != NULL)
		return "Invalid SCRAM message (NUL)";
	/* gs2-cbind-flag */
	if (!sasl_scram_next(msg, len, &pos, &attr, &attr_len) || attr_len == 0)
		return "Invalid SCRAM GS2 header";
	if (attr_len == 1 && attr[0] == 'n') {
		if (st->plus)
			return "Channel binding is required by this mechanism";
	} else if (attr_len == 1 && attr[0] == 'y') {
		if (st->plus)
			return "Channel binding is required by this mechanism";
		if (sasl_scram_plus_offered(ex))
			return "Channel binding downgrade detected (client sent 'y' but -PLUS is offered)";
	} else if (attr_len > 2 && attr[0] == 'p' && attr[1] == '=') {
		if (!st->plus)
			return "Channel binding requires the -PLUS mechanism";
		const char *name = attr + 2;
		size_t name_len = attr_len - 2;
		if (name_len == 12 && memcmp(name, "tls-exporter", 12) == 0) {
			st->cb_data = peer->cb_tls_exporter;
			st->cb_len = peer->cb_tls_exporter_len;
		} else if (name_len == 20 && memcmp(name, "tls-server-end-point", 20) == 0) {
			st->cb_data = peer->cb_tls_server_end_point;
			st->cb_len = peer->cb_tls_server_end_point_len;
		}
		if (st->cb_data == NULL || st->cb_len == 0)
			return "Unsupported channel binding type";
	} else {
		return "Invalid SCRAM GS2 header";
	}
	/* [ authzid ] */
	if (!sasl_scram_next(msg, len, &pos, &attr, &attr_len))
		return "Invalid SCRAM GS2 header";
	if (attr_len > 0) {
		if (attr_len < 3 || attr[0] != 'a' || attr[1] != '=' ||
		    !sasl_saslname_decode(attr + 2, attr_len - 2, st->authzid, sizeof(st->authzid)))
			return "Invalid SCRAM authorization identity";
	}
	if (pos > len)
		return "Invalid SCRAM GS2 header";
	st->gs2_header = xstrndup(msg, pos);
	size_t bare_start = pos;
	/* username (reserved-mext "m=" is not supported: RFC 5802 section
	 * 5.1 says the server must then fail) */
	if (!sasl_scram_next(msg, len, &pos, &attr, &attr_len))
		return "Invalid SCRAM message (no user name)";
	if (attr_len >= 2 && attr[0] == 'm' && attr[1] == '=')
		return "Unsupported SCRAM mandatory extension";
	if (attr_len < 3 || attr[0] != 'n' || attr[1] != '=' ||
	    !sasl_saslname_decode(attr + 2, attr_len - 2, st->user, sizeof(st->user)))
		return "Invalid SCRAM user name";
	if (!sasl_scram_next(msg, len, &pos, &attr, &attr_len) || attr_len < 3 ||
	    attr[0] != 'r' || attr[1] != '=')
		return "Invalid SCRAM message (no nonce)";
	if (attr_len - 2 > SCRAM_MAX_FIELD_LEN || !sasl_scram_printable(attr + 2, attr_len - 2))
		return "Invalid SCRAM nonce";
	/* extensions: attr-val, ignored */
	const char *ext;
	size_t ext_len;
	while (sasl_scram_next(msg, len, &pos, &ext, &ext_len)) {
		if (ext_len < 2 || ext[1] != '=' || !((ext[0] >= 'a' && ext[0] <= 'z') ||
						      (ext[0] >= 'A' && ext[0] <= 'Z')))
			return "Invalid SCRAM extension";
	}
	if (!sasl_authzid_is_self(st->authzid, st->user))
		return "Authorization identity must be empty or the user name";
	st->client_first_bare = xstrndup(msg + bare_start, len - bare_start);
	st->nonce = xstrndup(attr + 2, attr_len - 2);
	return NULL;
}

static enum sasl_step_result sasl_scram_fail(struct sasl_output *out, const char *error)
{
	out->error = error;
	return SASL_STEP_FAILED;
}

static void sasl_scram_hmac(const struct sasl_scram_state *st, const unsigned char *key,
			    const char *data, size_t len, unsigned char *out)
{
	unsigned int out_len;
	const EVP_MD *md = st->hash == PASSWORD_SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
	if (HMAC(md, key, (int)password_scram_hash_len(st->hash), (const unsigned char *)data, len, out,
		 &out_len) == NULL)
		i_panic("scram: HMAC failed");
}

/* RFC 5802 section 7:
 *   client-final-message-without-proof = channel-binding "," nonce
 *                                        ["," extensions]
 *   client-final-message = client-final-message-without-proof "," proof
 *   channel-binding = "c=" base64
 *   proof           = "p=" base64 */
static enum sasl_step_result sasl_scram_client_final(struct sasl_exchange *ex, const char *msg,
						     size_t len, struct sasl_output *out)
{
	struct sasl_scram_state *st = sasl_exchange_state(ex);
	size_t hlen = password_scram_hash_len(st->hash);
	const char *attr, *proof = NULL;
	size_t attr_len, proof_len = 0, pos = 0;

	if (memchr(msg, '\0', len) != NULL)
		return sasl_scram_fail(out, "Invalid SCRAM message (NUL)");
	/* channel-binding: base64 of the gs2 header and the binding data */
	if (!sasl_scram_next(msg, len, &pos, &attr, &attr_len) || attr_len < 2 ||
	    attr[0] != 'c' || attr[1] != '=')
		return sasl_scram_fail(out, "Invalid SCRAM final message (no channel binding)");
	struct str cb = STR_INIT, want = STR_INIT;
	str_append(&want, st->gs2_header);
	if (st->cb_data != NULL)
		str_append_n(&want, st->cb_data, st->cb_len);
	bool cb_ok = base64_decode(attr + 2, attr_len - 2, &cb) == 0 && cb.len == want.len &&
		(cb.len == 0 || CRYPTO_memcmp(cb.data, want.data, cb.len) == 0);
	str_free(&cb);
	str_free(&want);
	if (!cb_ok)
		return sasl_scram_fail(out, "SCRAM channel binding mismatch");
	if (!sasl_scram_next(msg, len, &pos, &attr, &attr_len) || attr_len < 2 ||
	    attr[0] != 'r' || attr[1] != '=')
		return sasl_scram_fail(out, "Invalid SCRAM final message (no nonce)");
	if (attr_len - 2 != strlen(st->nonce) || memcmp(attr + 2, st->nonce, attr_len - 2) != 0)
		return sasl_scram_fail(out, "SCRAM nonce mismatch");
	/* extensions, then the proof, which must come last */
	size_t without_proof_len = 0;
	while (sasl_scram_next(msg, len, &pos, &attr, &attr_len)) {
		if (proof != NULL)
			return sasl_scram_fail(out, "Invalid SCRAM final message (proof not last)");
		if (attr_len < 2 || attr[1] != '=')
			return sasl_scram_fail(out, "Invalid SCRAM final message");
		if (attr[0] == 'p') {
			proof = attr + 2;
			proof_len = attr_len - 2;
			without_proof_len = (size_t)(attr - msg) - 1;
		}
	}
	if (proof == NULL)
		return sasl_scram_fail(out, "Invalid SCRAM final message (no proof)");
	struct str client_proof = STR_INIT;
	if (base64_decode(proof, proof_len, &client_proof) < 0 || client_proof.len != hlen) {
		str_free(&client_proof);
		return sasl_scram_fail(out, "Invalid SCRAM proof");
	}

	/* AuthMessage := client-first-message-bare + "," +
	 *                server-first-message + "," +
	 *                client-final-message-without-proof
	 * ClientSignature := HMAC(StoredKey, AuthMessage)
	 * ClientKey := ClientProof XOR ClientSignature; H(ClientKey) must
	 * be StoredKey.  ServerSignature := HMAC(ServerKey, AuthMessage) */
	struct str auth_message = STR_INIT;
	str_append(&auth_message, st->client_first_bare);
	str_append_c(&auth_message, ',');
	str_append(&auth_message, st->server_first);
	str_append_c(&auth_message, ',');
	str_append_n(&auth_message, msg, without_proof_len);
	unsigned char signature[64], client_key[64], stored_key[64];
	sasl_scram_hmac(st, st->stored_key, auth_message.data, auth_message.len, signature);
	for (size_t i = 0; i < hlen; i++)
		client_key[i] = (unsigned char)client_proof.data[i] ^ signature[i];
	if (EVP_Digest(client_key, hlen, stored_key, NULL,
		       st->hash == PASSWORD_SCRAM_SHA1 ? EVP_sha1() : EVP_sha256(), NULL) != 1)
		i_panic("scram: digest failed");
	bool ok = CRYPTO_memcmp(stored_key, st->stored_key, hlen) == 0 && !st->fake;
	explicit_bzero(client_key, sizeof(client_key));
	explicit_bzero(client_proof.data, client_proof.len);
	str_free(&client_proof);
	if (!ok) {
		str_free(&auth_message);
		return sasl_scram_fail(out, "Authentication failed.");
	}
	sasl_scram_hmac(st, st->server_key, auth_message.data, auth_message.len, signature);
	str_free(&auth_message);
	struct str final = STR_INIT;
	str_append(&final, "v=");
	base64_encode(signature, hlen, &final);
	unsigned char *buf = sasl_exchange_buffer(ex, final.len);
	memcpy(buf, final.data, final.len);
	out->data = buf;
	out->data_len = final.len;
	out->has_data = true;
	str_free(&final);
	sasl_exchange_set_identity(ex, st->user, st->authzid);
	return SASL_STEP_DONE;
}

static enum sasl_step_result sasl_scram_step(struct sasl_exchange *ex,
					     const unsigned char *input, size_t input_len,
					     struct sasl_output *out)
{
	struct sasl_scram_state *st = sasl_exchange_state(ex);

	if (st->phase == SCRAM_PHASE_FINAL)
		return sasl_scram_client_final(ex, (const char *)input, input_len, out);
	if (input == NULL) {
		/* no initial response: an empty challenge asks for it */
		out->data = (const unsigned char *)"";
		out->data_len = 0;
		return SASL_STEP_CONTINUE;
	}
	const char *error = sasl_scram_client_first(ex, (const char *)input, input_len);
	if (error != NULL)
		return sasl_scram_fail(out, error);
	st->phase = SCRAM_PHASE_LOOKUP;
	out->lookup.kind = SASL_LOOKUP_CREDENTIALS;
	out->lookup.user = st->user;
	out->lookup.scheme = st->hash == PASSWORD_SCRAM_SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
	return SASL_STEP_LOOKUP;
}

/* server-first-message = [reserved-mext ","] nonce "," salt ","
 *                        iteration-count ["," extensions] */
static enum sasl_step_result sasl_scram_lookup_done(struct sasl_exchange *ex,
						    const struct sasl_lookup_result *result,
						    struct sasl_output *out)
{
	struct sasl_scram_state *st = sasl_exchange_state(ex);
	const struct roost_config *config = sasl_exchange_config(ex);
	unsigned char salt[256];
	size_t salt_len = 0;
	unsigned int iterations = 0;

	switch (result->status) {
	case SASL_LOOKUP_OK:
		if (password_scram_parse(st->hash, (const char *)result->credentials,
					 result->credentials_len, &iterations, salt,
					 sizeof(salt), &salt_len, st->stored_key,
					 st->server_key) < 0) {
			out->tempfail = true;
			return sasl_scram_fail(out, "Temporary authentication failure.");
		}
		if (result->user != NULL && strlen(result->user) <= SCRAM_MAX_FIELD_LEN)
			strcpy(st->user, result->user);
		break;
	case SASL_LOOKUP_TEMPFAIL:
		out->tempfail = true;
		return sasl_scram_fail(out, "Temporary authentication failure.");
	case SASL_LOOKUP_FAILED:
	case SASL_LOOKUP_NOT_FOUND:
		/* RFC 5802 section 9 ("the server MAY ... fail the
		 * authentication at the end"): look like a real user */
		st->fake = true;
		password_user_salt(st->user, salt);
		salt_len = 16;
		iterations = config != NULL ? config->auth_scram_iterations :
			PASSWORD_SCRAM_DEFAULT_ITERATIONS;
		if (getrandom(st->stored_key, sizeof(st->stored_key), 0) < 0)
			memset(st->stored_key, 0, sizeof(st->stored_key));
		break;
	}

	struct str server_first = STR_INIT;
	str_append(&server_first, "r=");
	str_append(&server_first, st->nonce);
	if (sasl_scram_test_server_nonce != NULL) {
		str_append(&server_first, sasl_scram_test_server_nonce);
	} else {
		unsigned char rnd[SCRAM_SERVER_NONCE_BYTES];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			i_panic("scram: getrandom failed");
		base64_encode(rnd, sizeof(rnd), &server_first);
	}
	sasl_scram_free(&st->nonce);
	st->nonce = xstrdup(server_first.data + 2);
	str_append(&server_first, ",s=");
	base64_encode(salt, salt_len, &server_first);
	str_printfa(&server_first, ",i=%u", iterations);
	st->server_first = str_steal(&server_first);
	st->phase = SCRAM_PHASE_FINAL;

	size_t len = strlen(st->server_first);
	unsigned char *buf = sasl_exchange_buffer(ex, len);
	memcpy(buf, st->server_first, len);
	out->data = buf;
	out->data_len = len;
	return SASL_STEP_CONTINUE;
}

#define SASL_SCRAM_MECH(mech_name, mech_flags) { \
	.name = mech_name, \
	.flags = mech_flags, \
	.state_size = sizeof(struct sasl_scram_state), \
	.init = sasl_scram_init, \
	.step = sasl_scram_step, \
	.lookup_done = sasl_scram_lookup_done, \
	.deinit = sasl_scram_deinit, \
}

const struct sasl_mech sasl_mech_scram_sha_1 = SASL_SCRAM_MECH("SCRAM-SHA-1", 0);
const struct sasl_mech sasl_mech_scram_sha_1_plus =
	SASL_SCRAM_MECH("SCRAM-SHA-1-PLUS", SASL_MECH_FLAG_CHANNEL_BINDING);
const struct sasl_mech sasl_mech_scram_sha_256 = SASL_SCRAM_MECH("SCRAM-SHA-256", 0);
const struct sasl_mech sasl_mech_scram_sha_256_plus =
	SASL_SCRAM_MECH("SCRAM-SHA-256-PLUS", SASL_MECH_FLAG_CHANNEL_BINDING);
