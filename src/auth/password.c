/* password.c: verifying and making password hashes.
 *
 * Runs on helper threads: only crypt_rn()/crypt_gensalt_rn() with
 * buffers owned by the call, never crypt() or anything with global
 * state.  Never logs; error messages never contain a hash or password. */
/* CRAM-MD5 needs MD5's inner state (Dovecot's {CRAM-MD5} stores it):
 * only the low-level API, deprecated but kept in OpenSSL 3, exposes it;
 * this must precede every OpenSSL header */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "password.h"
#include "base/base64.h"
#include "base/str.h"

#include <crypt.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/random.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/md5.h>

enum password_kind {
	PASSWORD_KIND_CRYPT, PASSWORD_KIND_PLAIN, PASSWORD_KIND_SCRAM_SHA1,
	PASSWORD_KIND_SCRAM_SHA256, PASSWORD_KIND_CRAM_MD5, PASSWORD_KIND_DIGEST_MD5,
};

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
	{ "SCRAM-SHA-256", PASSWORD_KIND_SCRAM_SHA256, "", 0 },
	{ "SCRAM-SHA-1", PASSWORD_KIND_SCRAM_SHA1, "", 0 },
	{ "CRAM-MD5", PASSWORD_KIND_CRAM_MD5, "", 0 },
	/* needs the user and realm: not made by password_hash() */
	{ "DIGEST-MD5", PASSWORD_KIND_DIGEST_MD5, NULL, 0 },
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

struct password_hex_buf { char s[65]; };
static struct password_hex_buf password_hex(const unsigned char *data, size_t len);
static void password_cram_md5_context(const char *password, unsigned char ctx_r[32]);
static int password_verify_scram(enum password_scram_hash hash, const char *password,
				 const char *data, const char **error_r);
static int password_verify_cram_md5(const char *password, const char *data,
				    const char **error_r);

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
	case PASSWORD_KIND_SCRAM_SHA1:
		return password_verify_scram(PASSWORD_SCRAM_SHA1, password, data, error_r);
	case PASSWORD_KIND_SCRAM_SHA256:
		return password_verify_scram(PASSWORD_SCRAM_SHA256, password, data, error_r);
	case PASSWORD_KIND_CRAM_MD5:
		return password_verify_cram_md5(password, data, error_r);
	case PASSWORD_KIND_DIGEST_MD5:
		*error_r = "DIGEST-MD5 hashes need the user name to be checked";
		return -1;
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
	if (scheme->kind == PASSWORD_KIND_SCRAM_SHA1 || scheme->kind == PASSWORD_KIND_SCRAM_SHA256)
		return password_scram_hash(password, scheme->kind == PASSWORD_KIND_SCRAM_SHA1 ?
					   PASSWORD_SCRAM_SHA1 : PASSWORD_SCRAM_SHA256,
					   PASSWORD_SCRAM_DEFAULT_ITERATIONS);
	if (scheme->kind == PASSWORD_KIND_CRAM_MD5) {
		unsigned char ctx[32];
		password_cram_md5_context(password, ctx);
		char *result = xasprintf("{CRAM-MD5}%s", password_hex(ctx, 32).s);
		explicit_bzero(ctx, sizeof(ctx));
		return result;
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

/* ---- SCRAM (RFC 5802 section 3) ---- */

static const EVP_MD *password_scram_md(enum password_scram_hash hash)
{
	return hash == PASSWORD_SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
}

bool password_scram_hash_from_name(const char *scheme, enum password_scram_hash *hash_r)
{
	if (strcasecmp(scheme, "SCRAM-SHA-1") == 0)
		*hash_r = PASSWORD_SCRAM_SHA1;
	else if (strcasecmp(scheme, "SCRAM-SHA-256") == 0)
		*hash_r = PASSWORD_SCRAM_SHA256;
	else
		return false;
	return true;
}

size_t password_scram_hash_len(enum password_scram_hash hash)
{
	return hash == PASSWORD_SCRAM_SHA1 ? 20 : 32;
}

static void password_hmac(const EVP_MD *md, const void *key, size_t key_len, const void *data,
			  size_t len, unsigned char *out)
{
	unsigned int out_len;
	if (HMAC(md, key, (int)key_len, data, len, out, &out_len) == NULL)
		i_panic("password: HMAC failed");
}

/* SaltedPassword := Hi(Normalize(password), salt, i), Hi being PBKDF2
 * with HMAC; then ClientKey, StoredKey and ServerKey. */
static void password_scram_keys(enum password_scram_hash hash, const char *password,
				const unsigned char *salt, size_t salt_len,
				unsigned int iterations, unsigned char stored_key_r[64],
				unsigned char server_key_r[64])
{
	const EVP_MD *md = password_scram_md(hash);
	size_t len = password_scram_hash_len(hash);
	unsigned char salted[64], client_key[64];

	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
			      (int)iterations, md, (int)len, salted) != 1)
		i_panic("password: PBKDF2 failed");
	password_hmac(md, salted, len, "Client Key", 10, client_key);
	if (EVP_Digest(client_key, len, stored_key_r, NULL, md, NULL) != 1)
		i_panic("password: digest failed");
	password_hmac(md, salted, len, "Server Key", 10, server_key_r);
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(client_key, sizeof(client_key));
}

char *password_scram_make(enum password_scram_hash hash, const char *password,
			  const unsigned char *salt, size_t salt_len, unsigned int iterations)
{
	unsigned char stored_key[64], server_key[64];
	size_t len = password_scram_hash_len(hash);
	struct str out = STR_INIT;

	password_scram_keys(hash, password, salt, salt_len, iterations, stored_key, server_key);
	str_printfa(&out, "%u,", iterations);
	base64_encode(salt, salt_len, &out);
	str_append_c(&out, ',');
	base64_encode(stored_key, len, &out);
	str_append_c(&out, ',');
	base64_encode(server_key, len, &out);
	explicit_bzero(stored_key, sizeof(stored_key));
	explicit_bzero(server_key, sizeof(server_key));
	return str_steal(&out);
}

char *password_scram_hash(const char *password, enum password_scram_hash hash,
			  unsigned int iterations)
{
	unsigned char salt[16];
	if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt))
		i_panic("password: getrandom failed");
	char *data = password_scram_make(hash, password, salt, sizeof(salt), iterations);
	char *result = xasprintf("{%s}%s", hash == PASSWORD_SCRAM_SHA1 ? "SCRAM-SHA-1" :
				 "SCRAM-SHA-256", data);
	free(data);
	return result;
}

/* Decodes one base64 field of exactly `want` bytes (0: 1..max bytes). */
static int password_b64_field(const char *p, size_t len, unsigned char *out, size_t want,
			      size_t max, size_t *len_r)
{
	struct str dec = STR_INIT;
	int ret = -1;
	if (base64_decode(p, len, &dec) == 0 && dec.len > 0 &&
	    (want != 0 ? dec.len == want : dec.len <= max)) {
		memcpy(out, dec.data, dec.len);
		if (len_r != NULL)
			*len_r = dec.len;
		ret = 0;
	}
	if (dec.data != NULL)
		explicit_bzero(dec.data, dec.len);
	str_free(&dec);
	return ret;
}

int password_scram_parse(enum password_scram_hash hash, const char *data, size_t data_len,
			 unsigned int *iterations_r, unsigned char *salt_r, size_t salt_size,
			 size_t *salt_len_r, unsigned char stored_key_r[64],
			 unsigned char server_key_r[64])
{
	const char *field[4];
	size_t field_len[4], n = 0, start = 0;
	size_t len = password_scram_hash_len(hash);

	for (size_t i = 0; i <= data_len; i++) {
		if (i < data_len && data[i] != ',')
			continue;
		if (n == 4)
			return -1;
		field[n] = data + start;
		field_len[n++] = i - start;
		start = i + 1;
	}
	if (n != 4 || field_len[0] == 0 || field_len[0] > 8)
		return -1;
	unsigned long iter = 0;
	for (size_t i = 0; i < field_len[0]; i++) {
		if (field[0][i] < '0' || field[0][i] > '9')
			return -1;
		iter = iter * 10 + (unsigned long)(field[0][i] - '0');
	}
	if (iter < PASSWORD_SCRAM_MIN_ITERATIONS || iter > PASSWORD_SCRAM_MAX_ITERATIONS)
		return -1;
	if (password_b64_field(field[1], field_len[1], salt_r, 0, salt_size, salt_len_r) < 0 ||
	    password_b64_field(field[2], field_len[2], stored_key_r, len, 0, NULL) < 0 ||
	    password_b64_field(field[3], field_len[3], server_key_r, len, 0, NULL) < 0)
		return -1;
	*iterations_r = (unsigned int)iter;
	return 0;
}

static int password_verify_scram(enum password_scram_hash hash, const char *password,
				 const char *data, const char **error_r)
{
	unsigned char salt[256], stored[64], server[64], stored2[64], server2[64];
	size_t salt_len, len = password_scram_hash_len(hash);
	unsigned int iterations;

	if (password_scram_parse(hash, data, strlen(data), &iterations, salt, sizeof(salt),
				 &salt_len, stored, server) < 0) {
		*error_r = "malformed SCRAM credentials";
		return -1;
	}
	password_scram_keys(hash, password, salt, salt_len, iterations, stored2, server2);
	int ret = CRYPTO_memcmp(stored, stored2, len) == 0 &&
		CRYPTO_memcmp(server, server2, len) == 0 ? 1 : 0;
	explicit_bzero(stored2, sizeof(stored2));
	explicit_bzero(server2, sizeof(server2));
	return ret;
}

static pthread_once_t password_salt_once = PTHREAD_ONCE_INIT;
static unsigned char password_salt_secret[32];

static void password_salt_secret_make(void)
{
	if (getrandom(password_salt_secret, sizeof(password_salt_secret), 0) !=
	    (ssize_t)sizeof(password_salt_secret))
		i_panic("password: getrandom failed");
}

void password_salt_secret_init(void)
{
	pthread_once(&password_salt_once, password_salt_secret_make);
}

void password_user_salt(const char *user, unsigned char salt_r[16])
{
	unsigned char mac[32];
	password_salt_secret_init();
	password_hmac(EVP_sha256(), password_salt_secret, sizeof(password_salt_secret),
		      user, strlen(user), mac);
	memcpy(salt_r, mac, 16);
}

/* ---- CRAM-MD5 (RFC 2195 with RFC 2104's HMAC) ---- */

static struct password_hex_buf password_hex(const unsigned char *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	struct password_hex_buf buf;
	for (size_t i = 0; i < len && i < 32; i++) {
		buf.s[i * 2] = digits[data[i] >> 4];
		buf.s[i * 2 + 1] = digits[data[i] & 15];
	}
	buf.s[(len < 32 ? len : 32) * 2] = '\0';
	return buf;
}

int password_hex_decode(const char *hex, size_t hex_len, unsigned char *out, size_t out_len)
{
	if (hex_len != out_len * 2)
		return -1;
	for (size_t i = 0; i < hex_len; i++) {
		char c = hex[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)(v << 4);
		else
			out[i / 2] |= (unsigned char)v;
	}
	return 0;
}

static void password_put_le32(unsigned char *p, MD5_LONG v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static MD5_LONG password_get_le32(const unsigned char *p)
{
	return (MD5_LONG)p[0] | (MD5_LONG)p[1] << 8 | (MD5_LONG)p[2] << 16 |
		(MD5_LONG)p[3] << 24;
}

/* The MD5 states after the key blocks K XOR ipad and K XOR opad: what
 * Dovecot's hmac_md5_get_cram_context() stores. */
static void password_cram_md5_context(const char *password, unsigned char ctx_r[32])
{
	unsigned char key[64] = { 0 }, block[64];
	size_t len = strlen(password);

	/* RFC 2104 section 2: keys longer than the block are hashed */
	if (len > 64)
		MD5((const unsigned char *)password, len, key);
	else
		memcpy(key, password, len);
	for (unsigned int pad = 0; pad < 2; pad++) {
		MD5_CTX md;
		for (size_t i = 0; i < 64; i++)
			block[i] = key[i] ^ (pad == 0 ? 0x36 : 0x5c);
		MD5_Init(&md);
		MD5_Update(&md, block, 64);
		password_put_le32(ctx_r + pad * 16, md.A);
		password_put_le32(ctx_r + pad * 16 + 4, md.B);
		password_put_le32(ctx_r + pad * 16 + 8, md.C);
		password_put_le32(ctx_r + pad * 16 + 12, md.D);
		OPENSSL_cleanse(&md, sizeof(md));
	}
	explicit_bzero(key, sizeof(key));
	explicit_bzero(block, sizeof(block));
}

/* An MD5 context that has hashed one 64-byte block and is in `state`. */
static void password_md5_resume(MD5_CTX *md, const unsigned char state[16])
{
	MD5_Init(md);
	md->A = password_get_le32(state);
	md->B = password_get_le32(state + 4);
	md->C = password_get_le32(state + 8);
	md->D = password_get_le32(state + 12);
	md->Nl = 64 * 8;
	md->Nh = 0;
	md->num = 0;
}

void password_cram_md5_hmac(const unsigned char context[32], const void *data, size_t len,
			    unsigned char digest_r[16])
{
	MD5_CTX md;
	unsigned char inner[16];

	password_md5_resume(&md, context);
	MD5_Update(&md, data, len);
	MD5_Final(inner, &md);
	password_md5_resume(&md, context + 16);
	MD5_Update(&md, inner, sizeof(inner));
	MD5_Final(digest_r, &md);
	OPENSSL_cleanse(&md, sizeof(md));
}

static int password_verify_cram_md5(const char *password, const char *data,
				    const char **error_r)
{
	unsigned char stored[32], mine[32];
	if (password_hex_decode(data, strlen(data), stored, sizeof(stored)) < 0) {
		*error_r = "malformed CRAM-MD5 credentials";
		return -1;
	}
	password_cram_md5_context(password, mine);
	int ret = CRYPTO_memcmp(stored, mine, sizeof(mine)) == 0 ? 1 : 0;
	explicit_bzero(mine, sizeof(mine));
	return ret;
}

/* ---- conversion for mechanisms ---- */

/* Finds the credential of scheme `name` among the main password and the
 * extras; returns its data (after "{NAME}") or NULL. */
static const char *password_find_scheme(const char *stored, const char *const *extra,
					enum password_kind kind)
{
	const char *data, *error;
	if (stored != NULL) {
		const struct password_scheme *s = password_split(stored, &data, &error);
		if (s != NULL && s->kind == kind && stored[0] == '{')
			return data;
	}
	for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
		if (extra[i][0] != '{')
			continue;
		const struct password_scheme *s = password_split(extra[i], &data, &error);
		if (s != NULL && s->kind == kind)
			return data;
	}
	return NULL;
}

int password_get_credentials(const char *stored, const char *const *extra, const char *scheme,
			     const char *user, unsigned int scram_iterations,
			     char **credentials_r, const char **error_r)
{
	const char *plain = password_find_scheme(stored, extra, PASSWORD_KIND_PLAIN);
	enum password_scram_hash hash;

	*credentials_r = NULL;
	if (password_scram_hash_from_name(scheme, &hash)) {
		enum password_kind kind = hash == PASSWORD_SCRAM_SHA1 ?
			PASSWORD_KIND_SCRAM_SHA1 : PASSWORD_KIND_SCRAM_SHA256;
		const char *data = password_find_scheme(stored, extra, kind);
		if (data != NULL) {
			unsigned char salt[256], k1[64], k2[64];
			size_t salt_len;
			unsigned int iter;
			int ret = password_scram_parse(hash, data, strlen(data), &iter, salt,
						       sizeof(salt), &salt_len, k1, k2);
			explicit_bzero(k1, sizeof(k1));
			explicit_bzero(k2, sizeof(k2));
			if (ret < 0) {
				*error_r = "malformed SCRAM credentials";
				return -1;
			}
			*credentials_r = xstrdup(data);
			return 1;
		}
		if (plain == NULL)
			return 0;
		unsigned char salt[16];
		password_user_salt(user, salt);
		if (scram_iterations < PASSWORD_SCRAM_MIN_ITERATIONS ||
		    scram_iterations > PASSWORD_SCRAM_MAX_ITERATIONS)
			scram_iterations = PASSWORD_SCRAM_DEFAULT_ITERATIONS;
		*credentials_r = password_scram_make(hash, plain, salt, sizeof(salt),
						     scram_iterations);
		return 1;
	}
	if (strcasecmp(scheme, "CRAM-MD5") == 0) {
		const char *data = password_find_scheme(stored, extra, PASSWORD_KIND_CRAM_MD5);
		unsigned char ctx[32];
		if (data != NULL) {
			if (password_hex_decode(data, strlen(data), ctx, sizeof(ctx)) < 0) {
				*error_r = "malformed CRAM-MD5 credentials";
				return -1;
			}
		} else if (plain != NULL) {
			password_cram_md5_context(plain, ctx);
		} else {
			return 0;
		}
		*credentials_r = xstrdup(password_hex(ctx, sizeof(ctx)).s);
		explicit_bzero(ctx, sizeof(ctx));
		return 1;
	}
	if (strncasecmp(scheme, "DIGEST-MD5 ", 11) == 0) {
		const char *data = password_find_scheme(stored, extra, PASSWORD_KIND_DIGEST_MD5);
		unsigned char digest[16];
		if (data != NULL) {
			if (password_hex_decode(data, strlen(data), digest, sizeof(digest)) < 0) {
				*error_r = "malformed DIGEST-MD5 credentials";
				return -1;
			}
		} else if (plain != NULL) {
			char *a = xasprintf("%s:%s:%s", user, scheme + 11, plain);
			MD5((const unsigned char *)a, strlen(a), digest);
			explicit_bzero(a, strlen(a));
			free(a);
		} else {
			return 0;
		}
		*credentials_r = xstrdup(password_hex(digest, sizeof(digest)).s);
		explicit_bzero(digest, sizeof(digest));
		return 1;
	}
	if (strcasecmp(scheme, "PLAIN") == 0) {
		if (plain == NULL)
			return 0;
		*credentials_r = xstrdup(plain);
		return 1;
	}
	*error_r = "unknown credentials scheme";
	return -1;
}
