/* password.h: password schemes of Dovecot-style user databases.
 *
 * A stored password is "{SCHEME}data"; without a "{SCHEME}" prefix it is
 * CRYPT.  Schemes: SHA512-CRYPT ($6$), SHA256-CRYPT ($5$), BLF-CRYPT
 * ($2y$, $2b$, $2a$), MD5-CRYPT ($1$), CRYPT (any hash crypt(3) from
 * libxcrypt knows, yescrypt $y$ included) and PLAIN (alias CLEAR,
 * CLEARTEXT; for tests).
 *
 * Schemes for challenge-response mechanisms, in Dovecot's formats:
 *   {SCRAM-SHA-256}, {SCRAM-SHA-1}  "ITER,SALT,STOREDKEY,SERVERKEY": the
 *       iteration count in decimal and three base64 strings (RFC 5802
 *       section 3: StoredKey = H(HMAC(SaltedPassword, "Client Key")),
 *       ServerKey = HMAC(SaltedPassword, "Server Key"));
 *   {CRAM-MD5}  64 hex digits: the MD5 states A, B, C, D (each little
 *       endian) after the inner and then the outer HMAC-MD5 key block
 *       (RFC 2104) of the password;
 *   {DIGEST-MD5}  32 hex digits: MD5("user:realm:password") (RFC 2831
 *       section 2.1.2.1's H(A1) start), for the realm clients use.
 * password_verify() checks a plaintext password against the SCRAM
 * schemes too (PBKDF2, as Dovecot does); CRAM-MD5 and DIGEST-MD5 data
 * are checked the same way.  The *-CRYPT names are all verified by crypt(3),
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

/* The iteration count new SCRAM keys get unless told otherwise (RFC 7677
 * section 4 asks for at least 4096). */
#define PASSWORD_SCRAM_DEFAULT_ITERATIONS 4096
/* Bounds for stored or configured SCRAM iteration counts. */
#define PASSWORD_SCRAM_MIN_ITERATIONS 1
#define PASSWORD_SCRAM_MAX_ITERATIONS 10000000

/* The hash of a SCRAM scheme. */
enum password_scram_hash { PASSWORD_SCRAM_SHA1, PASSWORD_SCRAM_SHA256 };
/* "SCRAM-SHA-1" or "SCRAM-SHA-256" (case-insensitive) to its hash;
 * returns false for anything else. */
bool password_scram_hash_from_name(const char *scheme, enum password_scram_hash *hash_r);
/* The digest length of `hash` (20 or 32). */
size_t password_scram_hash_len(enum password_scram_hash hash);

/* SCRAM credentials of `password` (as the client sends it; Roost does no
 * SASLprep, so non-ASCII passwords must be in the form clients send):
 * "ITER,SALT,STOREDKEY,SERVERKEY" (the stored data without "{SCHEME}").
 * PBKDF2 with `iterations` rounds: slow, for helper threads and the CLI.
 * Returns an allocated string the caller wipes and frees. */
char *password_scram_make(enum password_scram_hash hash, const char *password,
			  const unsigned char *salt, size_t salt_len, unsigned int iterations);
/* "{SCRAM-SHA-256}..." or "{SCRAM-SHA-1}..." of `password` with a fresh
 * random 16-byte salt (what `roost user add` stores).  Slow (PBKDF2).
 * Returns an allocated string the caller frees. */
char *password_scram_hash(const char *password, enum password_scram_hash hash,
			  unsigned int iterations);
/* Parses SCRAM credentials "ITER,SALT,STOREDKEY,SERVERKEY" of `hash`.
 * Fills the salt (base64-decoded, at most salt_size bytes; longer is an
 * error), the iteration count and both keys (password_scram_hash_len()
 * bytes each; the buffers hold 64).  Returns 0, or -1 if the data is
 * malformed. */
int password_scram_parse(enum password_scram_hash hash, const char *data, size_t data_len,
			 unsigned int *iterations_r, unsigned char *salt_r, size_t salt_size,
			 size_t *salt_len_r, unsigned char stored_key_r[64],
			 unsigned char server_key_r[64]);
/* A 16-byte salt for `user` that does not change while this process (and
 * the workers it forks afterwards) runs: HMAC-SHA-256 of the name under a
 * random per-process secret.  SCRAM uses it for users whose keys are made
 * from a {PLAIN} password on the fly and for unknown users (a fake salt
 * that looks like a real one).  password_salt_secret_init() makes the
 * secret now (call it before forking workers so they share it); otherwise
 * it is made at first use.  Thread-safe. */
void password_salt_secret_init(void);
void password_user_salt(const char *user, unsigned char salt_r[16]);

/* Converts what a user has into the credentials `scheme` asks for, the
 * data a SASL mechanism's CREDENTIALS lookup gets (sasl.h):
 *   SCRAM-SHA-256, SCRAM-SHA-1: "ITER,SALT,STOREDKEY,SERVERKEY" from a
 *       stored {SCRAM-...} of that hash (main password or extra), else
 *       made from a {PLAIN} password with password_user_salt(user) and
 *       `scram_iterations` rounds (slow: run on a helper thread);
 *   CRAM-MD5: 64 hex digits (see above) from {CRAM-MD5} or {PLAIN};
 *   DIGEST-MD5 with a realm, written "DIGEST-MD5 REALM" ("DIGEST-MD5 "
 *       for the empty realm): 32 hex digits MD5("user:REALM:password")
 *       from {PLAIN}, or a stored {DIGEST-MD5} as it is (it must have
 *       been made for that realm);
 *   PLAIN: the plaintext password from {PLAIN}.
 * `stored` is the main password ("{SCHEME}data" or a crypt hash; NULL
 * when none), `extra` the user's other credentials ("{SCHEME}data" each,
 * NULL-terminated; NULL for none), `user` the user name the client gave
 * (for salts and DIGEST-MD5).  Returns 1 with *credentials_r (allocated,
 * NUL-terminated; the caller wipes and frees it), 0 when nothing the user
 * has can give that scheme (a crypt hash only: the mechanism then fails
 * like for a wrong password), or -1 with a static *error_r when the data
 * that would give it is malformed or `scheme` is unknown. */
int password_get_credentials(const char *stored, const char *const *extra, const char *scheme,
			     const char *user, unsigned int scram_iterations,
			     char **credentials_r, const char **error_r);

/* Decodes hex[0..hex_len) (either case) into exactly out_len bytes.
 * Returns 0, or -1 if the length is not 2 * out_len or a character is not
 * a hex digit. */
int password_hex_decode(const char *hex, size_t hex_len, unsigned char *out, size_t out_len);

/* HMAC-MD5 (RFC 2104) of `data` under the key block state `context`
 * (the 32 bytes a {CRAM-MD5} stores, decoded from hex): writes the 16
 * byte digest.  CRAM-MD5 (RFC 2195) uses it. */
void password_cram_md5_hmac(const unsigned char context[32], const void *data, size_t len,
			    unsigned char digest_r[16]);

#endif
