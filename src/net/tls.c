/* tls.c: server TLS contexts built from PEM bytes.
 *
 * The supervisor reads the certificate and key files (it may be root and
 * the key root-only) and hands the bytes to the workers, which build
 * their own SSL_CTX from memory.  Nothing here touches a connection. */
#include "net-private.h"
#include "base/log.h"

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
	    tls_ctx_use_key(ctx, key_pem, key_len, error_r) < 0) {
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
