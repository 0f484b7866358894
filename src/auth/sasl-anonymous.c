/* sasl-anonymous.c: the ANONYMOUS mechanism (RFC 4505).
 *
 * The client proves nothing; it may send a trace string (an e-mail
 * address or a token).  The login goes to the account auth_anonymous_user
 * names, read-only (sasl_exchange_set_read_only(): IMAP then refuses every
 * command that would change the store).  Off unless auth_mechanisms names
 * it (SASL_MECH_FLAG_NOT_DEFAULT), and usable only when
 * auth_anonymous_user is set.  The trace is handed to the driver's log
 * (sasl_exchange_log_note()). */
#include "sasl.h"
#include "conf/conf.h"

#include <string.h>
#include <unistr.h>

/* RFC 4505 section 2: "message = [ email / token ]", a token up to 255
 * characters ("1*255TCHAR"), an email address up to 254; both at most
 * 255 UTF-8 characters. */
#define SASL_ANONYMOUS_MAX_CHARS 255

static bool sasl_anonymous_usable(const struct roost_config *config,
				  const struct sasl_peer *peer)
{
	(void)peer;
	return config->auth_anonymous_user != NULL && config->auth_anonymous_user[0] != '\0';
}

static enum sasl_step_result sasl_anonymous_step(struct sasl_exchange *ex,
						 const unsigned char *input, size_t input_len,
						 struct sasl_output *out)
{
	const struct roost_config *config = sasl_exchange_config(ex);

	if (input == NULL) {
		/* no initial response: ask for the trace with an empty
		 * challenge */
		out->data = (const unsigned char *)"";
		out->data_len = 0;
		return SASL_STEP_CONTINUE;
	}
	/* 255 characters take at most 4 * 255 octets */
	if (input_len > 4 * SASL_ANONYMOUS_MAX_CHARS || u8_check(input, input_len) != NULL ||
	    u8_mbsnlen(input, input_len) > SASL_ANONYMOUS_MAX_CHARS) {
		out->error = "Invalid ANONYMOUS trace (at most 255 UTF-8 characters)";
		return SASL_STEP_FAILED;
	}
	for (size_t i = 0; i < input_len; i++) {
		if (input[i] < 0x20 || input[i] == 0x7f) {
			out->error = "Invalid ANONYMOUS trace (control character)";
			return SASL_STEP_FAILED;
		}
	}
	unsigned char *trace = sasl_exchange_buffer(ex, input_len);
	memcpy(trace, input, input_len);
	sasl_exchange_set_log_note(ex, (const char *)trace);
	out->lookup.kind = SASL_LOOKUP_USER;
	out->lookup.user = config->auth_anonymous_user;
	return SASL_STEP_LOOKUP;
}

static enum sasl_step_result sasl_anonymous_lookup_done(struct sasl_exchange *ex,
							const struct sasl_lookup_result *result,
							struct sasl_output *out)
{
	if (result->status == SASL_LOOKUP_OK) {
		sasl_exchange_set_identity(ex, result->user, NULL);
		sasl_exchange_set_read_only(ex);
		return SASL_STEP_DONE;
	}
	(void)sasl_lookup_failed(result, out);
	if (!out->tempfail) {
		/* the configured account is missing: the server's fault */
		out->error = "Anonymous login is not available.";
		out->tempfail = true;
	}
	return SASL_STEP_FAILED;
}

const struct sasl_mech sasl_mech_anonymous = {
	.name = "ANONYMOUS",
	.flags = SASL_MECH_FLAG_NOT_DEFAULT,
	.usable = sasl_anonymous_usable,
	.step = sasl_anonymous_step,
	.lookup_done = sasl_anonymous_lookup_done,
};
