/* fuzz-sieve-mailto.c: libFuzzer target for the mailto method of Sieve's
 * enotify (src/sieve/mailto.c).
 *
 * The input is a URI.  Parsing must never crash; sieve_mailto_is_valid()
 * must agree with it; a valid URI has at most SIEVE_MAILTO_MAX_RECIPIENTS
 * recipients, and the notification composed from it (through
 * submit_notify_compose(), as delivery sends it) has its header
 * ended by an empty line and no header line over 998 bytes.  The input
 * percent-encoded with :encodeurl and put in a body must come back as
 * it was whenever it is UTF-8 without NUL. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/pool.h"
#include "base/str.h"
#include "base/utf8.h"
#include "sieve/mailto.h"
#include "submit/submit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char trigger[] =
	"Received: from a by b\r\n"
	"Subject: =?utf-8?q?caf=C3=A9?=\r\n"
	"\r\n"
	"body\r\n";

static bool is_utf8(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = p[i] == 0 ? 0 : utf8_seq_len(p + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static void check_compose(const struct sieve_mailto *m, struct pool *pool)
{
	struct submit_notify n = {
		.orig_header = trigger,
		.orig_header_len = sizeof(trigger) - 1,
		.from = "me@example.org",
		.owner = "me@example.org",
		.importance = 1,
	};
	struct submit_origin origin = { .hostname = "example.org", .date = 1 };
	struct str out = STR_INIT;
	const char *end, *line;

	sieve_mailto_notify_fill(m, pool, &n);
	if (n.to_count + n.cc_count != m->recipient_count)
		abort();
	submit_notify_compose(&out, &n, &origin);
	end = strstr(str_c(&out), "\r\n\r\n");
	if (end == NULL)
		abort();
	for (line = out.data; line < end;) {
		const char *lf = strstr(line, "\r\n");

		if (lf - line > 998)
			abort();
		line = lf + 2;
	}
	str_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pool *pool = pool_create(0);
	char *uri = xstrndup((const char *)data, size);
	struct sieve_mailto m;
	const char *error = NULL;
	int ret = sieve_mailto_parse(pool, uri, &m, &error);

	if ((ret == 0) != sieve_mailto_is_valid(uri))
		abort();
	if (ret == 0) {
		if (m.recipient_count > SIEVE_MAILTO_MAX_RECIPIENTS ||
		    m.header_count > SIEVE_MAILTO_MAX_HEADERS)
			abort();
		check_compose(&m, pool);
	} else if (error == NULL || *error == '\0') {
		abort();
	}
	if (is_utf8(data, size)) {
		struct str u = STR_INIT;

		str_append(&u, "mailto:a@example.com?body=");
		sieve_mailto_encodeurl((const char *)data, size, &u);
		if (sieve_mailto_parse(pool, str_c(&u), &m, &error) < 0 ||
		    m.body == NULL || strlen(m.body) != size || memcmp(m.body, data, size) != 0)
			abort();
		str_free(&u);
	}
	free(uri);
	pool_destroy(&pool);
	return 0;
}
