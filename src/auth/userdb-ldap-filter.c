/* userdb-ldap-filter.c: expanding ldap_user_filter for a user name.
 *
 * The user name comes from an unauthenticated client: it only ever
 * enters the filter escaped (RFC 4515 section 3), never as filter
 * syntax.  Must never call libldap or log. */
#include "userdb-ldap-filter.h"
#include "base/str.h"

#include <string.h>

/* RFC 4515 section 3:
 *   valueencoding  = 0*(normal / escaped)
 *   normal         = UTF1SUBSET / UTFMB
 *   escaped        = ESC HEX HEX
 *   UTF1SUBSET     = %x01-27 / %x2B-5B / %x5D-7F
 *                    ; UTF1SUBSET excludes 0x00 (NUL), LPAREN,
 *                    ; RPAREN, ASTERISK, and ESC.
 * Bytes >= 0x80 (UTF-8 sequences, or bytes that are not UTF-8) are
 * escaped too: "\XX" is always a valid encoding of an octet, so a
 * broken sequence cannot make the filter invalid. */
static void userdb_ldap_filter_escape_to(struct str *out, const char *value, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		if (c == 0 || c == '(' || c == ')' || c == '*' || c == '\\' || c >= 0x80) {
			str_append_c(out, '\\');
			str_append_c(out, hex[c >> 4]);
			str_append_c(out, hex[c & 0xf]);
		} else {
			str_append_c(out, (char)c);
		}
	}
}

char *userdb_ldap_filter_escape(const char *value, size_t len)
{
	struct str out = STR_INIT;
	userdb_ldap_filter_escape_to(&out, value, len);
	return str_steal(&out);
}

static bool userdb_ldap_filter_is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int userdb_ldap_filter_check(const char *template, const char **error_r)
{
	int depth = 0;

	if (template[0] != '(') {
		*error_r = "the filter must start with '('";
		return -1;
	}
	for (const char *p = template; *p != '\0'; p++) {
		if (*p == '%') {
			p++;
			if (*p != 'u' && *p != 'n' && *p != 'd' && *p != '%') {
				*error_r = "unknown placeholder (known: %u %n %d %%)";
				return -1;
			}
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')') {
			if (--depth < 0) {
				*error_r = "unbalanced parentheses";
				return -1;
			}
		} else if (*p == '\\') {
			/* an escaped octet of the template itself */
			if (!userdb_ldap_filter_is_hex(p[1]) ||
			    !userdb_ldap_filter_is_hex(p[2])) {
				*error_r = "'\\' must be followed by two hex digits";
				return -1;
			}
			p += 2;
		}
	}
	if (depth != 0) {
		*error_r = "unbalanced parentheses";
		return -1;
	}
	return 0;
}

char *userdb_ldap_filter_expand(const char *template, const char *user, const char **error_r)
{
	if (userdb_ldap_filter_check(template, error_r) < 0)
		return NULL;

	const char *at = strrchr(user, '@');
	size_t local_len = at != NULL ? (size_t)(at - user) : strlen(user);
	const char *domain = at != NULL ? at + 1 : "";
	struct str out = STR_INIT;

	for (const char *p = template; *p != '\0'; p++) {
		if (*p != '%') {
			str_append_c(&out, *p);
			continue;
		}
		p++;
		switch (*p) {
		case 'u':
			userdb_ldap_filter_escape_to(&out, user, strlen(user));
			break;
		case 'n':
			userdb_ldap_filter_escape_to(&out, user, local_len);
			break;
		case 'd':
			userdb_ldap_filter_escape_to(&out, domain, strlen(domain));
			break;
		default:	/* '%', as checked */
			str_append_c(&out, '%');
			break;
		}
	}
	return str_steal(&out);
}
