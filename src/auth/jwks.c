/* jwks.c: JSON Web Key Sets (RFC 7517) turned into OpenSSL keys, and the
 * per-process cache of the configured JWKS file.
 *
 * The key members are base64url big-endian integers (RFC 7518 section
 * 6.3.1 for RSA, 6.2.1 for EC, 6.4.1 for oct).  The cache stats the file
 * at most once a second, so a token check costs no I/O most of the time
 * and a rotated file is in use within a second. */
#include "jwks.h"
#include "base/base64.h"
#include "base/json.h"
#include "base/log.h"
#include "base/str.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

/* Decodes the base64url member `name` of `key` into dest; -1 when it is
 * missing, not a string or not base64url. */
static int jwks_member_bytes(const struct json_value *key, const char *name, struct str *dest)
{
	const char *value = json_object_get_string(key, name);

	if (value == NULL)
		return -1;
	return base64url_decode(value, strlen(value), dest);
}

static EVP_PKEY *jwks_pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) > 0 &&
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

/* RFC 7518 section 6.3.1: "n" and "e" of an RSA public key. */
static int jwks_parse_rsa(const struct json_value *key, struct jwk *jwk, const char **error_r)
{
	struct str n = STR_INIT, e = STR_INIT;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int ret = -1;

	if (jwks_member_bytes(key, "n", &n) < 0 || jwks_member_bytes(key, "e", &e) < 0 ||
	    n.len == 0 || e.len == 0) {
		*error_r = "RSA key without valid \"n\" and \"e\"";
		goto out;
	}
	bn_n = BN_bin2bn((const unsigned char *)n.data, (int)n.len, NULL);
	bn_e = BN_bin2bn((const unsigned char *)e.data, (int)e.len, NULL);
	if (bn_n == NULL || bn_e == NULL || BN_num_bits(bn_n) < 2048) {
		/* RFC 7518 section 3.3: 2048 bits or larger MUST be used */
		*error_r = "RSA key shorter than 2048 bits";
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 0 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 0 ||
	    (jwk->pkey = jwks_pkey_fromdata("RSA", bld)) == NULL) {
		*error_r = "RSA key rejected by OpenSSL";
		goto out;
	}
	jwk->type = JWK_TYPE_RSA;
	ret = 0;
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	str_free(&n);
	str_free(&e);
	return ret;
}

/* RFC 7518 section 6.2.1: "crv" P-256 with 32-octet "x" and "y".  OpenSSL
 * refuses a point that is not on the curve. */
static int jwks_parse_ec(const struct json_value *key, struct jwk *jwk, const char **error_r)
{
	struct str point = STR_INIT;
	OSSL_PARAM_BLD *bld = NULL;
	int ret = -1;

	str_append_c(&point, 0x04);	/* SEC 1 uncompressed point */
	if (jwks_member_bytes(key, "x", &point) < 0 || point.len != 33 ||
	    jwks_member_bytes(key, "y", &point) < 0 || point.len != 65) {
		*error_r = "EC key without 32-octet \"x\" and \"y\"";
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) == 0 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data,
					     point.len) == 0 ||
	    (jwk->pkey = jwks_pkey_fromdata("EC", bld)) == NULL) {
		*error_r = "EC key is not a point on P-256";
		goto out;
	}
	jwk->type = JWK_TYPE_EC_P256;
	ret = 0;
out:
	OSSL_PARAM_BLD_free(bld);
	str_free(&point);
	return ret;
}

/* RFC 7518 section 6.4.1: "k"; section 3.2: at least 256 bits for HS256. */
static int jwks_parse_oct(const struct json_value *key, struct jwk *jwk, const char **error_r)
{
	struct str k = STR_INIT;

	if (jwks_member_bytes(key, "k", &k) < 0 || k.len < 32) {
		if (k.data != NULL)
			explicit_bzero(k.data, k.cap);
		str_free(&k);
		*error_r = "oct key without a \"k\" of at least 32 octets";
		return -1;
	}
	jwk->type = JWK_TYPE_OCT;
	jwk->secret_len = k.len;
	jwk->secret = (unsigned char *)str_steal(&k);
	return 0;
}

static void jwk_clear(struct jwk *jwk)
{
	free(jwk->kid);
	free(jwk->alg);
	EVP_PKEY_free(jwk->pkey);
	if (jwk->secret != NULL) {
		explicit_bzero(jwk->secret, jwk->secret_len);
		free(jwk->secret);
	}
	memset(jwk, 0, sizeof(*jwk));
}

/* One member of "keys".  Returns 1 with *jwk filled, 0 for a key to
 * skip, -1 on error. */
static int jwks_parse_key(const struct json_value *key, struct jwk *jwk, const char **error_r)
{
	const struct json_value *kid = json_object_get(key, "kid");
	const struct json_value *alg = json_object_get(key, "alg");
	const struct json_value *use = json_object_get(key, "use");
	const char *kty = json_object_get_string(key, "kty");
	int ret;

	if (key->type != JSON_OBJECT || kty == NULL) {
		*error_r = "a key is not an object with a \"kty\"";
		return -1;
	}
	if ((kid != NULL && json_object_get_string(key, "kid") == NULL) ||
	    (alg != NULL && json_object_get_string(key, "alg") == NULL) ||
	    (use != NULL && json_object_get_string(key, "use") == NULL)) {
		*error_r = "a key's \"kid\", \"alg\" or \"use\" is not a string";
		return -1;
	}
	if (use != NULL && strcmp(use->u.string.data, "sig") != 0)
		return 0;
	memset(jwk, 0, sizeof(*jwk));
	if (strcmp(kty, "RSA") == 0) {
		ret = jwks_parse_rsa(key, jwk, error_r);
	} else if (strcmp(kty, "EC") == 0) {
		const char *crv = json_object_get_string(key, "crv");
		if (crv == NULL) {
			*error_r = "EC key without \"crv\"";
			return -1;
		}
		if (strcmp(crv, "P-256") != 0)
			return 0;
		ret = jwks_parse_ec(key, jwk, error_r);
	} else if (strcmp(kty, "oct") == 0) {
		ret = jwks_parse_oct(key, jwk, error_r);
	} else {
		return 0;
	}
	if (ret < 0) {
		jwk_clear(jwk);
		return -1;
	}
	if (kid != NULL)
		jwk->kid = xstrdup(kid->u.string.data);
	if (alg != NULL)
		jwk->alg = xstrdup(alg->u.string.data);
	return 1;
}

int jwks_parse(const void *data, size_t len, struct jwks **jwks_r, const char **error_r)
{
	struct json_value *doc;
	const struct json_value *keys;
	struct jwks *jwks;
	size_t cap = 0;

	*jwks_r = NULL;
	if (json_parse(data, len, JWKS_MAX_SIZE, JSON_DEFAULT_MAX_DEPTH, &doc, error_r) < 0)
		return -1;
	keys = json_object_get(doc, "keys");
	if (keys == NULL || keys->type != JSON_ARRAY) {
		json_free(&doc);
		*error_r = "not a JWKS: no \"keys\" array";
		return -1;
	}
	jwks = xcalloc(1, sizeof(*jwks));
	for (size_t i = 0; i < keys->u.array.count; i++) {
		struct jwk jwk;
		int ret = jwks_parse_key(keys->u.array.items[i], &jwk, error_r);
		if (ret < 0) {
			jwks_free(&jwks);
			json_free(&doc);
			return -1;
		}
		if (ret == 0)
			continue;
		ARRAY_RESERVE(jwks->keys, cap, jwks->count + 1);
		jwks->keys[jwks->count++] = jwk;
	}
	json_free(&doc);
	*jwks_r = jwks;
	return 0;
}

void jwks_free(struct jwks **jwksp)
{
	struct jwks *jwks = *jwksp;

	if (jwks == NULL)
		return;
	*jwksp = NULL;
	for (size_t i = 0; i < jwks->count; i++)
		jwk_clear(&jwks->keys[i]);
	free(jwks->keys);
	free(jwks);
}

/* The cache: one file (the configuration names one). */
static struct {
	char *path;
	struct jwks *jwks;
	struct stat st;		/* of the version read, or the one that failed */
	bool have_st;
	bool missing;		/* the file did not exist at the last check */
	time_t checked;
} jwks_cache;

static bool jwks_stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
		a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
		a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Reads and parses the file; returns the set or NULL with *error_r. */
static struct jwks *jwks_file_read(const char *path, struct stat *st_r, const char **error_r)
{
	struct str data = STR_INIT;
	struct jwks *jwks = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		*error_r = "cannot open the JWKS file";
		return NULL;
	}
	if (fstat(fd, st_r) < 0 || !S_ISREG(st_r->st_mode)) {
		*error_r = "the JWKS file is not a regular file";
	} else if (st_r->st_size > JWKS_MAX_SIZE) {
		*error_r = "the JWKS file is larger than 1 MB";
	} else if (str_append_fd(&data, fd) < 0) {
		*error_r = "cannot read the JWKS file";
	} else {
		(void)jwks_parse(data.data != NULL ? data.data : "", data.len, &jwks, error_r);
	}
	close(fd);
	str_free(&data);
	return jwks;
}

const struct jwks *jwks_file_get(const char *path, const char **error_r)
{
	time_t now = time(NULL);
	struct stat st;
	bool exists;

	if (jwks_cache.path == NULL || strcmp(jwks_cache.path, path) != 0) {
		jwks_file_cache_clear();
		jwks_cache.path = xstrdup(path);
	} else if (now == jwks_cache.checked) {
		goto done;
	}
	jwks_cache.checked = now;
	exists = stat(path, &st) == 0;
	/* unchanged since it was read (or since it failed: logged then) */
	if (exists && jwks_cache.have_st && jwks_stat_same(&st, &jwks_cache.st))
		goto done;
	if (!exists && jwks_cache.missing)
		goto done;

	const char *error;
	struct jwks *jwks = jwks_file_read(path, &st, &error);
	if (jwks != NULL) {
		jwks_free(&jwks_cache.jwks);
		jwks_cache.jwks = jwks;
		log_info("oauth: read %zu keys from %s", jwks->count, path);
	} else {
		log_error("oauth: %s: %s%s", path, error,
			  jwks_cache.jwks != NULL ? "; keeping the keys read before" : "");
	}
	jwks_cache.missing = !exists;
	jwks_cache.st = st;
	jwks_cache.have_st = exists;
done:
	if (jwks_cache.jwks == NULL)
		*error_r = "no usable JWKS file";
	return jwks_cache.jwks;
}

void jwks_file_cache_clear(void)
{
	free(jwks_cache.path);
	jwks_free(&jwks_cache.jwks);
	memset(&jwks_cache, 0, sizeof(jwks_cache));
}
