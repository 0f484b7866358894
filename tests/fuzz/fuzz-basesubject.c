/* fuzz-basesubject.c: libFuzzer target for src/syntax/basesubject.c,
 * src/base/casemap.c and the msg-id scanner of src/syntax/msgid.c, on
 * arbitrary bytes (invalid UTF-8, NUL, huge nesting).
 *
 * Checks the contracts, not just the absence of crashes: the base subject
 * has no leading, trailing or doubled space and no tab or line end; it is
 * a fixed point (extracting it again changes nothing and removes no
 * reply/forward artifact); the casemap preparation of valid UTF-8 is
 * valid UTF-8; and the compare and contains helpers agree with each
 * other. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "base/casemap.h"
#include "syntax/basesubject.h"
#include "syntax/msgid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int sign(int v)
{
	return v < 0 ? -1 : v > 0 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	struct str base = STR_INIT, again = STR_INIT;
	struct str prep = STR_INIT, prep2 = STR_INIT;
	bool refwd, refwd2;

	basesubject_extract(in, size, &base, &refwd);
	if (base.len > size || base.data[base.len] != '\0')
		abort();
	if (base.len > 0 && (base.data[0] == ' ' ||
			     base.data[base.len - 1] == ' '))
		abort();
	for (size_t i = 0; i < base.len; i++) {
		if (base.data[i] == '\t' || base.data[i] == '\r' ||
		    base.data[i] == '\n')
			abort();
		if (i > 0 && base.data[i] == ' ' && base.data[i - 1] == ' ')
			abort();
	}
	basesubject_extract(base.data, base.len, &again, &refwd2);
	if (again.len != base.len ||
	    memcmp(again.data, base.data, base.len) != 0 || refwd2)
		abort();

	bool valid = casemap_unicode(in, size, &prep);
	if (!valid && (prep.len != size || memcmp(prep.data, in, size) != 0))
		abort();
	/* the preparation of valid UTF-8 is valid UTF-8 */
	if (valid && !casemap_unicode(prep.data, prep.len, &prep2))
		abort();
	if (casemap_unicode_compare(in, size, in, size) != 0)
		abort();
	if (!casemap_unicode_contains(in, size, in, size))
		abort();
	/* a base subject found verbatim in valid input is found by the
	 * casemap substring match too (the preparation works code point by
	 * code point) */
	if (valid && base.len > 0 &&
	    casemap_unicode(base.data, base.len, &again) &&
	    memmem(in, size, base.data, base.len) != NULL &&
	    !casemap_unicode_contains(in, size, base.data, base.len))
		abort();
	/* antisymmetry between the input and its base subject */
	if (sign(casemap_unicode_compare(in, size, base.data, base.len)) !=
	    -sign(casemap_unicode_compare(base.data, base.len, in, size)))
		abort();
	if (sign(casemap_ascii_compare(in, size, base.data, base.len)) !=
	    -sign(casemap_ascii_compare(base.data, base.len, in, size)))
		abort();
	struct str up = STR_INIT;
	casemap_ascii(in, size, &up);
	if (up.len != size || casemap_ascii_compare(up.data, up.len, in, size) != 0 ||
	    !casemap_ascii_contains(up.data, up.len, in, size))
		abort();
	str_free(&up);

	/* msg-id normalisation (search/thread.c) reads the same kind of
	 * header text: every id found is "<" left "@" right ">" (at least
	 * five bytes; a quoted left part may hold "@" itself) and the scan
	 * always moves forward to the end */
	char *text = xstrndup(in, size);
	const char *p = text;
	struct str id = STR_INIT;
	while (msgid_next(&p, &id) == 1) {
		if (id.len < 5 || id.data[0] != '<' ||
		    id.data[id.len - 1] != '>' ||
		    memchr(id.data, '@', id.len) == NULL ||
		    p <= text || p > text + strlen(text))
			abort();
	}
	if (*p != '\0')
		abort();
	str_free(&id);
	free(text);

	str_free(&base);
	str_free(&again);
	str_free(&prep);
	str_free(&prep2);
	return 0;
}
