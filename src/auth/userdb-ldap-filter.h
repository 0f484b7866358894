/* userdb-ldap-filter.h: the search filter of the LDAP user database.
 *
 * ldap_user_filter is a template: %u is the whole user name, %n its
 * local part (before the last '@'; the whole name without one), %d its
 * domain (after the last '@'; empty without one), %% a '%'.  Every value
 * put in is escaped as RFC 4515 section 3 requires of an
 * AssertionValue, so no user name can change the filter's structure
 * ("*", "(", ")", "\" and NUL become \2a, \28, \29, \5c, \00).  Pure
 * string work without libldap: thread-safe, no logging. */
#ifndef ROOST_AUTH_USERDB_LDAP_FILTER_H
#define ROOST_AUTH_USERDB_LDAP_FILTER_H

#include "base/base.h"

/* Checks a template: every '%' starts one of %u %n %d %%, and the
 * parentheses outside the placeholders balance.  Returns 0, or -1 with
 * *error_r set to a static message. */
int userdb_ldap_filter_check(const char *template, const char **error_r);

/* Returns `value` (len bytes, NULs allowed) escaped per RFC 4515
 * section 3, as an allocated string the caller frees. */
char *userdb_ldap_filter_escape(const char *value, size_t len);

/* Expands `template` for `user` (NUL-terminated).  Returns an allocated
 * string the caller frees, or NULL with *error_r (static) when the
 * template fails userdb_ldap_filter_check(). */
char *userdb_ldap_filter_expand(const char *template, const char *user, const char **error_r);

#endif
