/* tls.c: server TLS contexts built from PEM bytes.
 *
 * The supervisor reads the certificate and key files (it may be root and
 * the key root-only) and hands the bytes to the workers, which build
 * their own SSL_CTX from memory.  Nothing here touches a connection. */
#include "net-private.h"
#include "base/log.h"
#include "conf/conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* the client certificate settings of this process (NULL: none) */
static const struct roost_config *tls_client_config;
static STACK_OF(X509) *tls_client_cas;

#define TLS_FILE_MAX (1024 * 1024)

const char *net_tls_last_error(void)
{
	static char buf[256];
	unsigned long err = ERR_get_error();
	unsigned long next;
	/* the first error is usually the root cause; keep it */
	while ((next = ERR_get_error()) != 0) {
		if (err == 0)
			err = next;
	}
	if (err == 0)
		return "unknown error";
	ERR_error_string_n(err, buf, sizeof(buf));
	return buf;
}

int net_tls_read_file(const char *path, char **data_r, size_t *len_r, char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = xasprintf("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	const char *problem = NULL;
	if (fstat(fd, &st) < 0)
		problem = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		problem = "not a regular file";
	else if (st.st_size > TLS_FILE_MAX)
		problem = "file too large";
	if (problem != NULL) {
		*error_r = xasprintf("cannot read %s: %s", path, problem);
		close(fd);
		return -1;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *data = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > TLS_FILE_MAX) {
				*error_r = xasprintf("cannot read %s: file too large", path);
				goto fail;
			}
			cap *= 2;
			data = xrealloc(data, cap);
		}
		ssize_t n = read(fd, data + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = xasprintf("cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len == 0) {
		*error_r = xasprintf("%s is empty", path);
		free(data);
		return -1;
	}
	data[len] = '\0';
	*data_r = data;
	*len_r = len;
	return 0;
fail:
	close(fd);
	net_tls_free_secret(&data, cap);
	return -1;
}

void net_tls_free_secret(char **data, size_t len)
{
	if (*data == NULL)
		return;
	OPENSSL_cleanse(*data, len);
	free(*data);
	*data = NULL;
}

static int tls_ctx_use_chain(SSL_CTX *ctx, const char *pem, size_t len, char **error_r)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		i_panic("BIO_new_mem_buf failed");
	X509 *cert = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
	if (cert == NULL) {
		*error_r = xasprintf("no certificate found: %s", net_tls_last_error());
		BIO_free(bio);
		return -1;
	}
	int ret = SSL_CTX_use_certificate(ctx, cert) == 1 ? 0 : -1;
	X509_free(cert);
	if (ret < 0) {
		*error_r = xasprintf("bad certificate: %s", net_tls_last_error());
		BIO_free(bio);
		return -1;
	}
	/* the rest of the file is the chain */
	X509 *ca;
	while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
			X509_free(ca);
			*error_r = xasprintf("bad chain certificate: %s", net_tls_last_error());
			BIO_free(bio);
			return -1;
		}
	}
	/* reading past the last certificate leaves "no start line" */
	ERR_clear_error();
	BIO_free(bio);
	return 0;
}

static int tls_ctx_use_key(SSL_CTX *ctx, const char *pem, size_t len, char **error_r)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		i_panic("BIO_new_mem_buf failed");
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key == NULL) {
		*error_r = xasprintf("no private key found: %s", net_tls_last_error());
		return -1;
	}
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	if (cert != NULL && X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		EVP_PKEY_free(key);
		*error_r = xstrdup("the private key does not match the certificate");
		return -1;
	}
	int ret = SSL_CTX_use_PrivateKey(ctx, key);
	EVP_PKEY_free(key);
	if (ret != 1) {
		*error_r = xasprintf("bad private key: %s", net_tls_last_error());
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		*error_r = xasprintf("the private key does not match the certificate: %s",
				     net_tls_last_error());
		return -1;
	}
	return 0;
}

/* Without tls_require_client_cert a certificate that fails to verify
 * lets the handshake go on: SSL_get_verify_result() keeps the failure
 * and net_tls_cert_user() then gives no user. */
static int tls_verify_optional(int preverify_ok ATTR_UNUSED, X509_STORE_CTX *ctx ATTR_UNUSED)
{
	return 1;
}

static int tls_ctx_use_client_ca(SSL_CTX *ctx, char **error_r)
{
	if (tls_client_cas == NULL)
		return 0;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
	if (names == NULL)
		i_panic("sk_X509_NAME_new_null failed");
	for (int i = 0; i < sk_X509_num(tls_client_cas); i++) {
		X509 *ca = sk_X509_value(tls_client_cas, i);
		if (X509_STORE_add_cert(store, ca) != 1) {
			*error_r = xasprintf("tls_client_ca: %s", net_tls_last_error());
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			return -1;
		}
		X509_NAME *name = X509_NAME_dup(X509_get_subject_name(ca));
		if (name == NULL || sk_X509_NAME_push(names, name) == 0)
			i_panic("X509_NAME_dup failed");
	}
	/* the CA names go into CertificateRequest, so clients pick the
	 * right certificate */
	SSL_CTX_set_client_CA_list(ctx, names);
	if (tls_client_config->tls_require_client_cert)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	else
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_optional);
	SSL_CTX_set_verify_depth(ctx, 10);
	return 0;
}

int net_tls_client_auth_init(const struct roost_config *config, char **error_r)
{
	char *pem, *error;
	size_t len;

	/* the supervisor read it before forking the workers, which may not
	 * be able to read it any more */
	if (tls_client_config == config)
		return 0;
	if (tls_client_cas != NULL) {
		sk_X509_pop_free(tls_client_cas, X509_free);
		tls_client_cas = NULL;
	}
	tls_client_config = config;
	if (config->tls_client_ca == NULL || config->tls_client_ca[0] == '\0') {
		if (config->tls_require_client_cert) {
			*error_r = xstrdup("tls_require_client_cert needs tls_client_ca");
			return -1;
		}
		return 0;
	}
	if (net_tls_read_file(config->tls_client_ca, &pem, &len, &error) < 0) {
		*error_r = xasprintf("tls_client_ca: %s", error);
		free(error);
		return -1;
	}
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		i_panic("BIO_new_mem_buf failed");
	tls_client_cas = sk_X509_new_null();
	X509 *ca;
	while ((ca = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(tls_client_cas, ca);
	ERR_clear_error();
	BIO_free(bio);
	free(pem);
	if (sk_X509_num(tls_client_cas) == 0) {
		sk_X509_free(tls_client_cas);
		tls_client_cas = NULL;
		*error_r = xasprintf("tls_client_ca: no certificate in %s", config->tls_client_ca);
		return -1;
	}
	return 0;
}

size_t net_tls_channel_binding(SSL *ssl, enum net_tls_binding type, unsigned char *buf,
			       size_t size)
{
	switch (type) {
	case NET_TLS_BINDING_EXPORTER:
		/* RFC 9266 section 3: only with TLS 1.3, or TLS 1.2 with the
		 * extended master secret (RFC 7627) */
		if (SSL_version(ssl) < TLS1_3_VERSION && SSL_get_extms_support(ssl) != 1)
			return 0;
		if (size < 32)
			return 0;
		/* RFC 9266 section 2: label "EXPORTER-Channel-Binding",
		 * no context, 32 bytes */
		if (SSL_export_keying_material(ssl, buf, 32, "EXPORTER-Channel-Binding", 24,
					       NULL, 0, 0) != 1) {
			ERR_clear_error();
			return 0;
		}
		return 32;
	case NET_TLS_BINDING_SERVER_END_POINT: {
		/* RFC 5929 section 4.1: the hash of the server's certificate
		 * with the hash function of its signature, except that MD5
		 * and SHA-1 become SHA-256 */
		X509 *cert = SSL_get_certificate(ssl);
		int md_nid = NID_undef, pknid;
		if (cert == NULL ||
		    X509_get_signature_info(cert, &md_nid, &pknid, NULL, NULL) != 1) {
			ERR_clear_error();
			return 0;
		}
		const EVP_MD *md = md_nid == NID_md5 || md_nid == NID_sha1 || md_nid == NID_undef ?
			EVP_sha256() : EVP_get_digestbynid(md_nid);
		unsigned int len = 0;
		unsigned char digest[EVP_MAX_MD_SIZE];
		if (md == NULL || X509_digest(cert, md, digest, &len) != 1 || len > size) {
			ERR_clear_error();
			return 0;
		}
		memcpy(buf, digest, len);
		return len;
	}
	}
	return 0;
}

/* The first rfc822Name of the certificate's subjectAltName. */
static const char *tls_cert_san_email(X509 *cert, char *buf, size_t size)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	const char *result = NULL;
	for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		if (gn->type != GEN_EMAIL)
			continue;
		const ASN1_IA5STRING *s = gn->d.rfc822Name;
		int len = ASN1_STRING_length(s);
		if (len > 0 && (size_t)len < size &&
		    memchr(ASN1_STRING_get0_data(s), '\0', (size_t)len) == NULL) {
			memcpy(buf, ASN1_STRING_get0_data(s), (size_t)len);
			buf[len] = '\0';
			result = buf;
		}
		break;
	}
	GENERAL_NAMES_free(names);
	return result;
}

const char *net_tls_cert_user(SSL *ssl, char *buf, size_t size)
{
	if (tls_client_cas == NULL)
		return NULL;
	X509 *cert = SSL_get0_peer_certificate(ssl);
	if (cert == NULL || SSL_get_verify_result(ssl) != X509_V_OK)
		return NULL;
	if (tls_client_config->auth_ssl_username_from == CONF_SSL_USERNAME_SAN_EMAIL)
		return tls_cert_san_email(cert, buf, size);
	int nid = tls_client_config->auth_ssl_username_from == CONF_SSL_USERNAME_EMAIL ?
		NID_pkcs9_emailAddress : NID_commonName;
	X509_NAME *subject = X509_get_subject_name(cert);
	int pos = X509_NAME_get_index_by_NID(subject, nid, -1);
	if (pos < 0)
		return NULL;
	/* a second field of the same kind makes the name ambiguous */
	if (X509_NAME_get_index_by_NID(subject, nid, pos) >= 0)
		return NULL;
	ASN1_STRING *data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, pos));
	unsigned char *utf8 = NULL;
	int len = ASN1_STRING_to_UTF8(&utf8, data);
	const char *result = NULL;
	if (len > 0 && (size_t)len < size && memchr(utf8, '\0', (size_t)len) == NULL) {
		memcpy(buf, utf8, (size_t)len);
		buf[len] = '\0';
		result = buf;
	}
	OPENSSL_free(utf8);
	ERR_clear_error();
	return result;
}

SSL_CTX *net_tls_ctx_create(const char *cert_pem, size_t cert_len, const char *key_pem,
			    size_t key_len, char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = xasprintf("SSL_CTX_new failed: %s", net_tls_last_error());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* IGNORE_UNEXPECTED_EOF: a client that closes TCP without
	 * close_notify (most do) has disconnected; IMAP is self-delimiting,
	 * so truncation is not an attack here */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* idle connections give their 2 × 17 KB record buffers back */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* TLS 1.2 keeps OpenSSL's defaults minus anonymous suites; TLS 1.3
	 * suites are all fine */
	if (SSL_CTX_set_cipher_list(ctx, "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES") != 1) {
		*error_r = xasprintf("cipher list: %s", net_tls_last_error());
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* no server-side session cache (one per worker would be useless
	 * across workers); stateless tickets still allow resumption */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 1);

	if (tls_ctx_use_chain(ctx, cert_pem, cert_len, error_r) < 0 ||
	    tls_ctx_use_key(ctx, key_pem, key_len, error_r) < 0 ||
	    tls_ctx_use_client_ca(ctx, error_r) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int net_tls_pem_load(const char *cert_path, const char *key_path, struct net_tls_pem *pem_r,
		     SSL_CTX **ctx_r, char **error_r)
{
	struct net_tls_pem pem = { 0 };
	char *error;
	memset(pem_r, 0, sizeof(*pem_r));
	if (cert_path == NULL || cert_path[0] == '\0') {
		*error_r = xstrdup("TLS is enabled on a listener but tls_cert is not set");
		return -1;
	}
	if (key_path == NULL || key_path[0] == '\0') {
		*error_r = xstrdup("TLS is enabled on a listener but tls_key is not set");
		return -1;
	}
	if (net_tls_read_file(cert_path, &pem.cert, &pem.cert_len, &error) < 0) {
		*error_r = xasprintf("TLS certificate: %s", error);
		free(error);
		return -1;
	}
	if (net_tls_read_file(key_path, &pem.key, &pem.key_len, &error) < 0) {
		*error_r = xasprintf("TLS key: %s", error);
		free(error);
		net_tls_pem_free(&pem);
		return -1;
	}
	SSL_CTX *ctx = net_tls_ctx_create(pem.cert, pem.cert_len, pem.key, pem.key_len, &error);
	if (ctx == NULL) {
		*error_r = xasprintf("TLS certificate %s / key %s: %s", cert_path, key_path, error);
		free(error);
		net_tls_pem_free(&pem);
		return -1;
	}
	if (ctx_r != NULL)
		*ctx_r = ctx;
	else
		SSL_CTX_free(ctx);
	*pem_r = pem;
	return 0;
}

void net_tls_pem_free(struct net_tls_pem *pem)
{
	net_tls_free_secret(&pem->cert, pem->cert_len);
	net_tls_free_secret(&pem->key, pem->key_len);
	memset(pem, 0, sizeof(*pem));
}
