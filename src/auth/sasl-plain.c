/* sasl-plain.c: the PLAIN mechanism (RFC 4616).
 *
 * The client's single message carries an optional authorization identity,
 * the user name and the password.  Roost does not let one user act as
 * another, so an authzid must be empty or name the same account as the
 * authcid: equal once both are normalised (auth_user_normalize(), the
 * lowercasing that maps user names to accounts), as "Demo" logs in as
 * "demo".  Never copies the password anywhere but into the exchange. */
#include "sasl.h"
#include "auth.h"

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

/* RFC 4616 section 2:
 *   message   = [authzid] UTF8NUL authcid UTF8NUL passwd
 *   authcid   = 1*SAFE ; MUST accept up to 255 octets
 *   authzid   = 1*SAFE ; MUST accept up to 255 octets
 *   passwd    = 1*SAFE ; MUST accept up to 255 octets
 *   SAFE      = UTF1 / UTF2 / UTF3 / UTF4 ; any UTF-8 except NUL */
static int sasl_plain_step(struct sasl_exchange *ex, const unsigned char *input,
			   size_t input_len, const unsigned char **output_r,
			   size_t *output_len_r, const char **error_r)
{
	const unsigned char *field[3];
	size_t field_len[3];
	char buf[3][SASL_PLAIN_MAX_FIELD_LEN + 1];

	if (input == NULL) {
		/* no initial response: ask for it with an empty challenge */
		*output_r = (const unsigned char *)"";
		*output_len_r = 0;
		return 0;
	}
	if (!sasl_plain_split(input, input_len, field, field_len)) {
		*error_r = "Invalid PLAIN message (expected authzid NUL authcid NUL password)";
		return -1;
	}
	for (unsigned int i = 0; i < 3; i++) {
		if (field_len[i] > SASL_PLAIN_MAX_FIELD_LEN) {
			*error_r = "PLAIN field longer than 255 octets";
			return -1;
		}
		if (u8_check(field[i], field_len[i]) != NULL) {
			*error_r = "PLAIN field is not valid UTF-8";
			return -1;
		}
	}
	if (field_len[1] == 0) {
		*error_r = "Empty user name";
		return -1;
	}
	if (field_len[2] == 0) {
		*error_r = "Empty password";
		return -1;
	}
	for (unsigned int i = 0; i < 3; i++) {
		memcpy(buf[i], field[i], field_len[i]);
		buf[i][field_len[i]] = '\0';
	}
	if (field_len[0] != 0) {
		char authzid[SASL_PLAIN_MAX_FIELD_LEN + 1], authcid[SASL_PLAIN_MAX_FIELD_LEN + 1];

		memcpy(authzid, buf[0], field_len[0] + 1);
		memcpy(authcid, buf[1], field_len[1] + 1);
		auth_user_normalize(authzid);
		auth_user_normalize(authcid);
		if (strcmp(authzid, authcid) != 0) {
			explicit_bzero(buf, sizeof(buf));
			*error_r = "Authorization identity must be empty or the user name";
			return -1;
		}
	}
	sasl_exchange_set_credentials(ex, buf[0], buf[1], buf[2]);
	explicit_bzero(buf, sizeof(buf));
	return 1;
}

const struct sasl_mech sasl_mech_plain = {
	.name = "PLAIN",
	.is_plaintext = true,
	.state_size = 0,
	.step = sasl_plain_step,
};
