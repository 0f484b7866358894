/* fuzz-ldap-filter.c: libFuzzer target for src/auth/userdb-ldap-filter.c.
 *
 * The input is a filter template, a NUL byte, and a user name (from an
 * unauthenticated client in the server).  Whatever the name, an expanded
 * filter must have exactly the structure of its template: the same
 * unescaped '(', ')' and '*', and every '\' followed by two hex digits
 * (RFC 4515 section 3). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "auth/userdb-ldap-filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Counts the structural characters of a filter (skipping \XX escapes
 * and, in a template, placeholders).  Returns false on a bad escape. */
static bool filter_shape(const char *s, bool is_template, size_t counts[3])
{
	counts[0] = counts[1] = counts[2] = 0;
	for (; *s != '\0'; s++) {
		if (*s == '\\') {
			if (!is_hex(s[1]) || !is_hex(s[2]))
				return false;
			s += 2;
		} else if (is_template && *s == '%') {
			s++;
		} else if (*s == '(') {
			counts[0]++;
		} else if (*s == ')') {
			counts[1]++;
		} else if (*s == '*') {
			counts[2]++;
		}
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	if (nul == NULL)
		return 0;
	char *template = xstrndup((const char *)data, (size_t)(nul - data));
	char *user = xstrndup((const char *)nul + 1, size - (size_t)(nul - data) - 1);
	const char *error = NULL;

	char *filter = userdb_ldap_filter_expand(template, user, &error);
	if (filter == NULL) {
		if (error == NULL || userdb_ldap_filter_check(template, &error) == 0)
			abort();
	} else {
		size_t want[3], got[3];
		/* a template that passed the check has well-formed escapes */
		if (!filter_shape(template, true, want) || !filter_shape(filter, false, got) ||
		    memcmp(want, got, sizeof(want)) != 0)
			abort();
		free(filter);
	}
	free(template);
	free(user);
	return 0;
}
