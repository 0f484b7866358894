/* jwks.h: JSON Web Key Sets (RFC 7517) for checking JWT signatures.
 *
 * A set holds the keys of the three algorithms Roost accepts (RFC 7518):
 * "oct" keys for HS256 (at least 256 bits, section 3.2), "RSA" public keys
 * for RS256 (at least 2048 bits, section 3.3) and "EC" P-256 public keys
 * for ES256.  Keys of other types or curves, and keys whose "use" is not
 * "sig", are skipped (RFC 7517 section 5: unknown key types are ignored);
 * a key of a known type with bad members makes the whole set invalid, so
 * that a typo never silently removes a key.  Never logs key material. */
#ifndef ROOST_AUTH_JWKS_H
#define ROOST_AUTH_JWKS_H

#include "base/base.h"

#include <openssl/evp.h>

enum jwk_type {
	JWK_TYPE_OCT,		/* HS256 */
	JWK_TYPE_RSA,		/* RS256 */
	JWK_TYPE_EC_P256,	/* ES256 */
};

struct jwk {
	enum jwk_type type;
	char *kid;		/* NULL when the key has none */
	char *alg;		/* the key's "alg" member, NULL when none */
	EVP_PKEY *pkey;		/* RSA and EC */
	unsigned char *secret;	/* oct */
	size_t secret_len;
};

struct jwks {
	struct jwk *keys;
	size_t count;
};

/* The largest JWKS file read. */
#define JWKS_MAX_SIZE (1024 * 1024)

/* Parses a JWKS document ({"keys": [...]}).  Returns 0 with *jwks_r (free
 * with jwks_free()), or -1 with *error_r a static message. */
int jwks_parse(const void *data, size_t len, struct jwks **jwks_r, const char **error_r);
/* Wipes the secrets and frees the set; sets *jwks to NULL (NULL allowed). */
void jwks_free(struct jwks **jwks);

/* The key set in the file `path`, read again when the file changed
 * (checked with stat() at most once a second).  When a new version of
 * the file cannot be read or parsed, the error is logged once and the
 * keys read before stay in use.  Returns NULL with *error_r (static)
 * when there are no keys: the file never could be read.  The set stays
 * valid until the next call; call from one thread only (the event loop:
 * mechanism steps run there). */
const struct jwks *jwks_file_get(const char *path, const char **error_r);
/* Forgets the cached set (unit tests, and so that ASan sees no leak). */
void jwks_file_cache_clear(void);

#endif
