/* password.c: verifying and making password hashes.
 *
 * Runs on helper threads: only crypt_rn()/crypt_gensalt_rn() with
 * buffers owned by the call, never crypt() or anything with global
 * state.  Never logs; error messages never contain a hash or password. */
#include "password.h"

#include <crypt.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

enum password_kind { PASSWORD_KIND_CRYPT, PASSWORD_KIND_PLAIN };

struct password_scheme {
	const char *name;
	enum password_kind kind;
	const char *gensalt_prefix;	/* NULL: cannot generate */
	unsigned long gensalt_count;	/* 0: libxcrypt's default cost */
};

static const struct password_scheme password_schemes[] = {
	{ "SHA512-CRYPT", PASSWORD_KIND_CRYPT, "$6$", 0 },
	{ "SHA256-CRYPT", PASSWORD_KIND_CRYPT, "$5$", 0 },
	/* libxcrypt's default bcrypt cost is 5: too cheap today */
	{ "BLF-CRYPT", PASSWORD_KIND_CRYPT, "$2y$", 10 },
	{ "MD5-CRYPT", PASSWORD_KIND_CRYPT, "$1$", 0 },
	{ "CRYPT", PASSWORD_KIND_CRYPT, "$y$", 0 },
	{ "PLAIN", PASSWORD_KIND_PLAIN, "", 0 },
	{ "CLEAR", PASSWORD_KIND_PLAIN, "", 0 },
	{ "CLEARTEXT", PASSWORD_KIND_PLAIN, "", 0 },
};

/* SHA512-CRYPT of a random password that was thrown away. */
static const char password_dummy[] =
	"$6$dr3SRFG/ilW1iUh.$W0cXADL2PP5sQ7MWTwZxAatHyRb.bwb5ME70hgrCIk5TJtrCCDN9O5aBVr59.WZQ2br6mCHSH9PVtHmbb41x80";

static const struct password_scheme *password_scheme_find(const char *name, size_t len)
{
	for (size_t i = 0; i < N_ELEMENTS(password_schemes); i++) {
		if (strlen(password_schemes[i].name) == len &&
		    strncasecmp(password_schemes[i].name, name, len) == 0)
			return &password_schemes[i];
	}
	return NULL;
}

bool password_scheme_is_known(const char *scheme)
{
	return password_scheme_find(scheme, strlen(scheme)) != NULL;
}

bool password_scheme_can_generate(const char *scheme)
{
	const struct password_scheme *s = password_scheme_find(scheme, strlen(scheme));
	return s != NULL && s->gensalt_prefix != NULL;
}

/* Splits "{SCHEME}data" into its scheme and data; a string without a
 * closing brace after '{' or without '{' is bare CRYPT data. */
static const struct password_scheme *
password_split(const char *stored, const char **data_r, const char **error_r)
{
	if (stored[0] == '{') {
		const char *end = strchr(stored, '}');
		if (end != NULL) {
			const struct password_scheme *s =
				password_scheme_find(stored + 1, (size_t)(end - stored - 1));
			if (s == NULL)
				*error_r = "unknown password scheme";
			*data_r = end + 1;
			return s;
		}
	}
	*data_r = stored;
	return password_scheme_find("CRYPT", 5);
}

/* Compares two strings in time that depends on neither content nor the
 * length of `b`: both are hashed, then the digests compared. */
static bool password_equal_ct(const char *a, const char *b)
{
	unsigned char da[EVP_MAX_MD_SIZE], db[EVP_MAX_MD_SIZE];
	unsigned int la = 0, lb = 0;

	if (EVP_Digest(a, strlen(a), da, &la, EVP_sha256(), NULL) != 1 ||
	    EVP_Digest(b, strlen(b), db, &lb, EVP_sha256(), NULL) != 1)
		i_panic("password: SHA-256 failed");
	bool equal = CRYPTO_memcmp(da, db, la) == 0;
	/* a SHA-256 collision is not a concern, but equal lengths and bytes
	 * settle it exactly */
	return equal && strcmp(a, b) == 0;
}

static int password_verify_crypt(const char *password, const char *hash,
				 const char **error_r)
{
	struct crypt_data *data;
	int ret;

	/* "*0", "*1", "!..." and "" are disabled or failure tokens, never
	 * hashes; crypt_rn would return a failure token for them anyway */
	if (hash[0] == '\0' || hash[0] == '*' || hash[0] == '!') {
		*error_r = "password hash is empty or disabled";
		return -1;
	}
	/* ~32 KB: too big for a helper thread's stack */
	data = xcalloc(1, sizeof(*data));
	const char *out = crypt_rn(password, hash, data, sizeof(*data));
	if (out == NULL || out[0] == '*') {
		*error_r = "password hash not supported by crypt(3)";
		ret = -1;
	} else {
		size_t out_len = strlen(out);
		/* lengths of two hashes of one setting are public */
		ret = out_len == strlen(hash) &&
			CRYPTO_memcmp(out, hash, out_len) == 0 ? 1 : 0;
	}
	explicit_bzero(data, sizeof(*data));
	free(data);
	return ret;
}

int password_verify(const char *password, const char *stored, const char **error_r)
{
	const char *data;
	const struct password_scheme *scheme = password_split(stored, &data, error_r);

	if (scheme == NULL)
		return -1;
	switch (scheme->kind) {
	case PASSWORD_KIND_PLAIN:
		return password_equal_ct(password, data) ? 1 : 0;
	case PASSWORD_KIND_CRYPT:
		return password_verify_crypt(password, data, error_r);
	}
	i_panic("password: scheme kind %d", (int)scheme->kind);
}

char *password_hash(const char *password, const char *scheme_name, const char **error_r)
{
	const struct password_scheme *scheme =
		password_scheme_find(scheme_name, strlen(scheme_name));
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];

	if (scheme == NULL || scheme->gensalt_prefix == NULL) {
		*error_r = "unknown password scheme";
		return NULL;
	}
	if (scheme->kind == PASSWORD_KIND_PLAIN) {
		if (strpbrk(password, ":\r\n") != NULL) {
			*error_r = "a PLAIN password cannot contain ':' or a line break";
			return NULL;
		}
		return xasprintf("{%s}%s", scheme->name, password);
	}
	/* NULL rbytes: libxcrypt reads the salt from getrandom() */
	if (crypt_gensalt_rn(scheme->gensalt_prefix, scheme->gensalt_count, NULL, 0,
			     setting, sizeof(setting)) == NULL) {
		*error_r = "cannot make a salt (scheme disabled in libxcrypt?)";
		return NULL;
	}
	struct crypt_data *data = xcalloc(1, sizeof(*data));
	const char *out = crypt_rn(password, setting, data, sizeof(*data));
	char *result = NULL;
	if (out == NULL || out[0] == '*')
		*error_r = "crypt(3) failed";
	else
		result = xasprintf("{%s}%s", scheme->name, out);
	explicit_bzero(data, sizeof(*data));
	free(data);
	return result;
}

const char *password_dummy_hash(void)
{
	return password_dummy;
}
