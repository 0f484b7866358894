/* fuzz-sasl.c: libFuzzer target for the SASL mechanisms (src/auth/sasl*.c).
 *
 * Input: one byte choosing the mechanism (an index into the table), then
 * client responses, each a length byte and that many bytes; a length
 * byte of 255 means "no initial response" for the first step.  When a
 * mechanism asks for a lookup, the next byte chooses the answer (OK,
 * FAILED, NOT_FOUND, TEMPFAIL) and, for CREDENTIALS, a length byte and
 * the stored data follow.  Whatever the input: no crash, DONE has a
 * valid UTF-8 identity, FAILED has an error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistr.h>

#include "base/base.h"
#include "auth/sasl.h"
#include "conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Takes `n` bytes from the input, or returns NULL at its end. */
static const uint8_t *fuzz_take(const uint8_t **data, size_t *size, size_t n)
{
	if (*size < n)
		return NULL;
	const uint8_t *p = *data;
	*data += n;
	*size -= n;
	return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct roost_config config;
	static const struct sasl_peer peer = {
		.remote_ip = "192.0.2.1", .local_ip = "192.0.2.2", .service = "imap",
		.secured = true,
	};
	config.auth_anonymous_user = (char *)"anonymous";

	const uint8_t *p = fuzz_take(&data, &size, 1);
	if (p == NULL)
		return 0;
	size_t count = 0;
	while (sasl_mech_at(count) != NULL)
		count++;
	const struct sasl_mech *mech = sasl_mech_at(p[0] % count);
	struct sasl_exchange *ex = sasl_exchange_create(mech, &config, &peer);
	struct sasl_output out;
	enum sasl_step_result ret = SASL_STEP_CONTINUE;
	bool first = true;

	while (ret == SASL_STEP_CONTINUE || ret == SASL_STEP_LOOKUP) {
		if (ret == SASL_STEP_LOOKUP) {
			const uint8_t *choice = fuzz_take(&data, &size, 1);
			if (choice == NULL)
				break;
			struct sasl_lookup_result result = {
				.status = (enum sasl_lookup_status)(choice[0] % 4),
				.user = out.lookup.user,
			};
			if (out.lookup.kind == SASL_LOOKUP_CREDENTIALS &&
			    result.status == SASL_LOOKUP_OK) {
				const uint8_t *len = fuzz_take(&data, &size, 1);
				const uint8_t *stored = len == NULL ? NULL :
					fuzz_take(&data, &size, len[0]);
				if (stored == NULL)
					break;
				result.credentials = stored;
				result.credentials_len = len[0];
			}
			ret = sasl_exchange_lookup_done(ex, &result, &out);
			continue;
		}
		const uint8_t *len = fuzz_take(&data, &size, 1);
		if (len == NULL)
			break;
		if (first && len[0] == 255) {
			ret = sasl_exchange_step(ex, NULL, 0, &out);
		} else {
			const uint8_t *input = fuzz_take(&data, &size, len[0]);
			if (input == NULL)
				break;
			ret = sasl_exchange_step(ex, input, len[0], &out);
		}
		first = false;
	}
	if (ret == SASL_STEP_DONE) {
		const char *authcid = sasl_exchange_authcid(ex);
		const char *authzid = sasl_exchange_authzid(ex);
		if (authcid == NULL || authzid == NULL ||
		    u8_check((const uint8_t *)authcid, strlen(authcid)) != NULL ||
		    u8_check((const uint8_t *)authzid, strlen(authzid)) != NULL)
			abort();
	} else if (ret == SASL_STEP_FAILED && out.error == NULL) {
		abort();
	}
	sasl_exchange_destroy(&ex);
	return 0;
}
