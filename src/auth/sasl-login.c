/* sasl-login.c: the LOGIN mechanism (draft-murchison-sasl-login-00, the
 * legacy mechanism Outlook and old clients still use).
 *
 * The server asks "Username:" and then "Password:", each client answer
 * being the bare value.  A client may send the user name as an initial
 * response (SASL-IR); the first challenge is then skipped.  The password
 * travels in plaintext (SASL_MECH_FLAG_PLAINTEXT: offered over TLS or as
 * plaintext_auth allows).  Never copies the password anywhere but into
 * the exchange. */
#include "sasl.h"

#include <string.h>
#include <unistr.h>

/* The longest password taken; a longer one fails without a hash, as
 * auth_verify_plain() does. */
#define SASL_LOGIN_MAX_PASSWORD_LEN 1024

struct sasl_login_state {
	bool have_user;
	char user[SASL_PLAIN_MAX_FIELD_LEN + 1];
	char password[SASL_LOGIN_MAX_PASSWORD_LEN + 1];
};

static enum sasl_step_result sasl_login_challenge(const char *text, struct sasl_output *out)
{
	out->data = (const unsigned char *)text;
	out->data_len = strlen(text);
	return SASL_STEP_CONTINUE;
}

/* A field: 1 to `max` octets of UTF-8 without NUL.  Returns NULL or the
 * error. */
static const char *sasl_login_field_error(const unsigned char *input, size_t len, size_t max)
{
	if (len == 0)
		return "Empty user name or password";
	if (len > max)
		return max == SASL_PLAIN_MAX_FIELD_LEN ? "User name longer than 255 octets" :
			"Password too long";
	if (memchr(input, '\0', len) != NULL)
		return "NUL in user name or password";
	if (u8_check(input, len) != NULL)
		return "User name or password is not valid UTF-8";
	return NULL;
}

static enum sasl_step_result sasl_login_step(struct sasl_exchange *ex,
					     const unsigned char *input, size_t input_len,
					     struct sasl_output *out)
{
	struct sasl_login_state *st = sasl_exchange_state(ex);

	if (input == NULL)
		return sasl_login_challenge("Username:", out);
	if (!st->have_user) {
		out->error = sasl_login_field_error(input, input_len, SASL_PLAIN_MAX_FIELD_LEN);
		if (out->error != NULL)
			return SASL_STEP_FAILED;
		memcpy(st->user, input, input_len);
		st->have_user = true;
		return sasl_login_challenge("Password:", out);
	}
	out->error = sasl_login_field_error(input, input_len, SASL_LOGIN_MAX_PASSWORD_LEN);
	if (out->error != NULL)
		return SASL_STEP_FAILED;
	memcpy(st->password, input, input_len);
	out->lookup.kind = SASL_LOOKUP_VERIFY_PASSWORD;
	out->lookup.user = st->user;
	out->lookup.password = st->password;
	return SASL_STEP_LOOKUP;
}

static enum sasl_step_result sasl_login_lookup_done(struct sasl_exchange *ex,
						    const struct sasl_lookup_result *result,
						    struct sasl_output *out)
{
	struct sasl_login_state *st = sasl_exchange_state(ex);

	explicit_bzero(st->password, sizeof(st->password));
	if (result->status != SASL_LOOKUP_OK)
		return sasl_lookup_failed(result, out);
	sasl_exchange_set_identity(ex, result->user != NULL ? result->user : st->user, NULL);
	return SASL_STEP_DONE;
}

const struct sasl_mech sasl_mech_login = {
	.name = "LOGIN",
	.flags = SASL_MECH_FLAG_PLAINTEXT,
	.state_size = sizeof(struct sasl_login_state),
	.step = sasl_login_step,
	.lookup_done = sasl_login_lookup_done,
};
