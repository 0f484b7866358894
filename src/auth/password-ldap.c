/* password-ldap.c: OpenLDAP's {SHA}/{SSHA} family of userPassword values.
 *
 * Never logs; runs on the LDAP source's threads (OpenSSL's EVP calls are
 * thread-safe). */
#include "password-ldap.h"
#include "base/base64.h"
#include "base/str.h"

#include <string.h>
#include <strings.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

struct password_ldap_scheme {
	const char *name;	/* with braces */
	const char *digest;	/* OpenSSL's name */
	bool salted;
};

static const struct password_ldap_scheme password_ldap_schemes[] = {
	{ "{SHA}", "SHA1", false },
	{ "{SSHA}", "SHA1", true },
	{ "{SHA256}", "SHA256", false },
	{ "{SSHA256}", "SHA256", true },
	{ "{SHA512}", "SHA512", false },
	{ "{SSHA512}", "SHA512", true },
};

static const struct password_ldap_scheme *password_ldap_scheme(const char *stored)
{
	for (size_t i = 0; i < N_ELEMENTS(password_ldap_schemes); i++) {
		const char *name = password_ldap_schemes[i].name;
		if (strncasecmp(stored, name, strlen(name)) == 0)
			return &password_ldap_schemes[i];
	}
	return NULL;
}

bool password_ldap_is_sha(const char *stored)
{
	return password_ldap_scheme(stored) != NULL;
}

int password_ldap_verify(const char *password, const char *stored, const char **error_r)
{
	const struct password_ldap_scheme *scheme = password_ldap_scheme(stored);
	const char *data = stored + strlen(scheme->name);
	const EVP_MD *md = EVP_get_digestbyname(scheme->digest);
	struct str raw = STR_INIT;

	if (md == NULL)
		i_panic("password-ldap: no %s in OpenSSL", scheme->digest);
	size_t md_len = (size_t)EVP_MD_get_size(md);
	if (base64_decode(data, strlen(data), &raw) < 0 || raw.len < md_len ||
	    (!scheme->salted && raw.len != md_len) || (scheme->salted && raw.len == md_len)) {
		str_free(&raw);
		*error_r = "userPassword is not base64 of a digest (and salt)";
		return -1;
	}

	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, password, strlen(password)) != 1 ||
	    EVP_DigestUpdate(ctx, raw.data + md_len, raw.len - md_len) != 1 ||
	    EVP_DigestFinal_ex(ctx, digest, &len) != 1 || len != md_len)
		i_panic("password-ldap: %s failed", scheme->digest);
	EVP_MD_CTX_free(ctx);
	int ret = CRYPTO_memcmp(digest, raw.data, md_len) == 0 ? 1 : 0;
	explicit_bzero(digest, sizeof(digest));
	str_free(&raw);
	return ret;
}
