/* fuzz-sieve-parse.c: libFuzzer target for the Sieve compiler
 * (src/sieve: parse.c, validate.c).
 *
 * The input is a script.  Compiling must never crash, whatever the bytes
 * (deep nesting, unterminated strings, NULs, huge numbers); a failed
 * compile must explain itself with a non-empty error that starts with
 * "line ", and a successful one must run over a small message without a
 * crash, leaving at least one action or an error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "sieve/sieve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char message[] =
	"From: Joe <joe+list@example.com>\r\n"
	"To: me@example.org\r\n"
	"Subject: =?utf-8?q?caf=C3=A9?= test\r\n"
	"X-Spam-Score: 5\r\n"
	"\r\n"
	"Hello\r\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sieve_limits limits;
	struct str errors = STR_INIT;

	sieve_limits_default(&limits);
	limits.max_cpu_ms = 1000;
	struct sieve_script *script = sieve_compile("fuzz", (const char *)data, size,
						    &limits, &errors);
	if (script == NULL) {
		if (errors.len == 0 || strncmp(errors.data, "line ", 5) != 0)
			abort();
	} else {
		if (errors.len != 0)
			abort();
		struct sieve_message msg = {
			.data = message,
			.size = sizeof(message) - 1,
			.envelope_from = "joe@example.com",
			.envelope_to = "me@example.org",
		};
		struct sieve_env env = { .ctx = NULL };
		struct sieve_result result;
		int ret = sieve_execute(script, &msg, &env, &limits, &result);
		if ((ret < 0) != (result.error != NULL))
			abort();
		if (ret < 0 && result.action_count != 1)
			abort();
		sieve_result_free(&result);
		sieve_script_free(&script);
	}
	str_free(&errors);
	return 0;
}
