/* sasl-external.c: the EXTERNAL mechanism (RFC 4422 appendix A) with TLS
 * client certificates.
 *
 * The identity was proven by the TLS handshake: the peer's cert_user (the
 * certificate field auth_ssl_username_from names, of a certificate that
 * verified against tls_client_ca).  The client's only message is the
 * authorization identity it wants, which must be empty or name the same
 * account.  The user must exist in the user database.  Offered only to a
 * peer that has a certificate user. */
#include "sasl.h"
#include "conf/conf.h"

#include <string.h>
#include <unistr.h>

struct sasl_external_state {
	char authzid[SASL_PLAIN_MAX_FIELD_LEN + 1];
};

/* Only with tls_client_ca set: a peer's cert_user may come from a login
 * process, and a server that asks for no certificate must not take one
 * on its word (doc/DESIGN.md, "Security model"). */
static bool sasl_external_usable(const struct roost_config *config,
				 const struct sasl_peer *peer)
{
	return config != NULL && config->tls_client_ca != NULL &&
		config->tls_client_ca[0] != '\0' &&
		peer->cert_user != NULL && peer->cert_user[0] != '\0';
}

/* RFC 4422 appendix A.1:
 *   external-initial-resp = authz-id-string
 *   authz-id-string       = *( UTF8-char-no-nul ) */
static enum sasl_step_result sasl_external_step(struct sasl_exchange *ex,
						const unsigned char *input, size_t input_len,
						struct sasl_output *out)
{
	struct sasl_external_state *st = sasl_exchange_state(ex);
	const struct sasl_peer *peer = sasl_exchange_peer(ex);

	if (!sasl_external_usable(sasl_exchange_config(ex), peer)) {
		out->error = "EXTERNAL needs a verified TLS client certificate";
		return SASL_STEP_FAILED;
	}
	if (input == NULL) {
		out->data = (const unsigned char *)"";
		out->data_len = 0;
		return SASL_STEP_CONTINUE;
	}
	if (input_len > SASL_PLAIN_MAX_FIELD_LEN || memchr(input, '\0', input_len) != NULL ||
	    u8_check(input, input_len) != NULL) {
		out->error = "Invalid EXTERNAL authorization identity";
		return SASL_STEP_FAILED;
	}
	memcpy(st->authzid, input, input_len);
	st->authzid[input_len] = '\0';
	if (!sasl_authzid_is_self(st->authzid, peer->cert_user)) {
		out->error = "Authorization identity must be empty or the certificate's user";
		return SASL_STEP_FAILED;
	}
	out->lookup.kind = SASL_LOOKUP_USER;
	out->lookup.user = peer->cert_user;
	return SASL_STEP_LOOKUP;
}

static enum sasl_step_result sasl_external_lookup_done(struct sasl_exchange *ex,
						       const struct sasl_lookup_result *result,
						       struct sasl_output *out)
{
	struct sasl_external_state *st = sasl_exchange_state(ex);
	const struct sasl_peer *peer = sasl_exchange_peer(ex);

	return sasl_lookup_identity(ex, result, peer->cert_user, st->authzid, out);
}

const struct sasl_mech sasl_mech_external = {
	.name = "EXTERNAL",
	.state_size = sizeof(struct sasl_external_state),
	.usable = sasl_external_usable,
	.step = sasl_external_step,
	.lookup_done = sasl_external_lookup_done,
};
