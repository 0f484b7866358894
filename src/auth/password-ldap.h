/* password-ldap.h: the salted SHA schemes OpenLDAP keeps in userPassword.
 *
 * {SHA} and {SSHA} (slappasswd's default) and the pw-sha2 module's
 * {SHA256}, {SSHA256}, {SHA512}, {SSHA512}: base64 of the digest of
 * password + salt, followed by the salt (none for the unsalted ones).
 * Used by the LDAP user database with ldap_auth = password, beside
 * password_verify() for everything else.  Thread-safe, never logs. */
#ifndef ROOST_AUTH_PASSWORD_LDAP_H
#define ROOST_AUTH_PASSWORD_LDAP_H

#include "base/base.h"

/* True if `stored` ("{SCHEME}data") names one of the schemes above
 * (case-insensitive). */
bool password_ldap_is_sha(const char *stored);

/* Checks `password` against `stored`, which password_ldap_is_sha()
 * accepted, in time independent of where they differ.  Returns 1 if it
 * matches, 0 if not, -1 with *error_r (static, without secrets) if the
 * data is not valid base64 of at least a digest. */
int password_ldap_verify(const char *password, const char *stored, const char **error_r);

#endif
