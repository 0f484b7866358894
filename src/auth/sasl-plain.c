/* sasl-plain.c: the PLAIN mechanism (RFC 4616).
 *
 * The client's single message carries an optional authorization identity,
 * the user name and the password.  Whether the authcid may act as the
 * authzid is the driver's decision (auth_master_users, auth-local.c).
 * Never copies the password anywhere but into the exchange. */
#include "sasl.h"

#include <string.h>
#include <unistr.h>

/* Splits message[0..len) at its NULs into exactly three fields; returns
 * false if there are fewer or more. */
static bool sasl_plain_split(const unsigned char *message, size_t len,
			     const unsigned char *field_r[3], size_t field_len_r[3])
{
	size_t start = 0, n = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && message[i] != '\0')
			continue;
		if (n == 3)
			return false;
		field_r[n] = message + start;
		field_len_r[n] = i - start;
		n++;
		start = i + 1;
	}
	return n == 3;
}

struct sasl_plain_state {
	char authzid[SASL_PLAIN_MAX_FIELD_LEN + 1];
	char authcid[SASL_PLAIN_MAX_FIELD_LEN + 1];
	char password[SASL_PLAIN_MAX_FIELD_LEN + 1];
};

/* RFC 4616 section 2:
 *   message   = [authzid] UTF8NUL authcid UTF8NUL passwd
 *   authcid   = 1*SAFE ; MUST accept up to 255 octets
 *   authzid   = 1*SAFE ; MUST accept up to 255 octets
 *   passwd    = 1*SAFE ; MUST accept up to 255 octets
 *   SAFE      = UTF1 / UTF2 / UTF3 / UTF4 ; any UTF-8 except NUL */
static enum sasl_step_result sasl_plain_step(struct sasl_exchange *ex,
					     const unsigned char *input, size_t input_len,
					     struct sasl_output *out)
{
	struct sasl_plain_state *st = sasl_exchange_state(ex);
	const unsigned char *field[3];
	size_t field_len[3];

	if (input == NULL) {
		/* no initial response: ask for it with an empty challenge */
		out->data = (const unsigned char *)"";
		out->data_len = 0;
		return SASL_STEP_CONTINUE;
	}
	if (!sasl_plain_split(input, input_len, field, field_len)) {
		out->error = "Invalid PLAIN message (expected authzid NUL authcid NUL password)";
		return SASL_STEP_FAILED;
	}
	for (unsigned int i = 0; i < 3; i++) {
		if (field_len[i] > SASL_PLAIN_MAX_FIELD_LEN) {
			out->error = "PLAIN field longer than 255 octets";
			return SASL_STEP_FAILED;
		}
		if (u8_check(field[i], field_len[i]) != NULL) {
			out->error = "PLAIN field is not valid UTF-8";
			return SASL_STEP_FAILED;
		}
	}
	if (field_len[1] == 0) {
		out->error = "Empty user name";
		return SASL_STEP_FAILED;
	}
	if (field_len[2] == 0) {
		out->error = "Empty password";
		return SASL_STEP_FAILED;
	}
	memcpy(st->authzid, field[0], field_len[0]);
	memcpy(st->authcid, field[1], field_len[1]);
	memcpy(st->password, field[2], field_len[2]);
	out->lookup.kind = SASL_LOOKUP_VERIFY_PASSWORD;
	out->lookup.user = st->authcid;
	out->lookup.password = st->password;
	return SASL_STEP_LOOKUP;
}

static enum sasl_step_result sasl_plain_lookup_done(struct sasl_exchange *ex,
						    const struct sasl_lookup_result *result,
						    struct sasl_output *out)
{
	struct sasl_plain_state *st = sasl_exchange_state(ex);

	explicit_bzero(st->password, sizeof(st->password));
	if (result->status != SASL_LOOKUP_OK)
		return sasl_lookup_failed(result, out);
	sasl_exchange_set_identity(ex, result->user != NULL ? result->user : st->authcid,
				   st->authzid);
	return SASL_STEP_DONE;
}

const struct sasl_mech sasl_mech_plain = {
	.name = "PLAIN",
	.flags = SASL_MECH_FLAG_PLAINTEXT,
	.state_size = sizeof(struct sasl_plain_state),
	.step = sasl_plain_step,
	.lookup_done = sasl_plain_lookup_done,
};
