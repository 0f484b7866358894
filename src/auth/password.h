/* password.h: password schemes of Dovecot-style user databases.
 *
 * A stored password is "{SCHEME}data"; without a "{SCHEME}" prefix it is
 * CRYPT.  Schemes: SHA512-CRYPT ($6$), SHA256-CRYPT ($5$), BLF-CRYPT
 * ($2y$, $2b$, $2a$), MD5-CRYPT ($1$), CRYPT (any hash crypt(3) from
 * libxcrypt knows, yescrypt $y$ included) and PLAIN (alias CLEAR,
 * CLEARTEXT; for tests).  The *-CRYPT names are all verified by crypt(3),
 * as Dovecot does, so a hash that names one family under another scheme
 * still works.
 *
 * Every function here is thread-safe and may run on a helper thread: they
 * use crypt_rn()/crypt_gensalt_rn() with their own buffers and touch no
 * global state.  Nothing here logs, so no password can reach a log. */
#ifndef ROOST_AUTH_PASSWORD_H
#define ROOST_AUTH_PASSWORD_H

#include "base/base.h"

/* The scheme `roost user add` uses unless told otherwise. */
#define PASSWORD_DEFAULT_SCHEME "SHA512-CRYPT"

/* True if `scheme` (without braces, case-insensitive) can be verified. */
bool password_scheme_is_known(const char *scheme);
/* True if new hashes can be made with `scheme` by password_hash(). */
bool password_scheme_can_generate(const char *scheme);

/* Checks `password` against `stored` ("{SCHEME}data" or a bare crypt
 * hash).  The comparison takes a time independent of where the first
 * difference is (and, for PLAIN, of the stored password's length).
 * Returns 1 if it matches, 0 if not, -1 if `stored` cannot be checked
 * (unknown scheme, a hash crypt(3) rejects, empty) with *error_r set to a
 * static message that contains neither the hash nor the password. */
int password_verify(const char *password, const char *stored, const char **error_r);

/* Makes a new "{SCHEME}hash" of `password` with a fresh random salt.
 * `scheme` is SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, MD5-CRYPT, CRYPT
 * (yescrypt) or PLAIN, case-insensitive.  Costs are libxcrypt's
 * defaults, except BLF-CRYPT which uses cost 10.
 * Returns an allocated string the caller frees, or NULL with *error_r set
 * to a static message (unknown scheme, no entropy, password with a
 * newline or ':' for PLAIN). */
char *password_hash(const char *password, const char *scheme, const char **error_r);

/* A valid SHA512-CRYPT hash (of a password nobody knows) to verify
 * against when the user does not exist, so that an unknown user costs
 * the same time as a wrong password.  Static storage. */
const char *password_dummy_hash(void);

#endif
