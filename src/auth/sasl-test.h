/* sasl-test.h: what unit tests and fuzz targets may set in mechanisms
 * that pick random values, so that RFC examples can be replayed.  The
 * server never sets them; each is NULL unless a test sets it. */
#ifndef ROOST_AUTH_SASL_TEST_H
#define ROOST_AUTH_SASL_TEST_H

/* SCRAM (sasl-scram.c): the server's part of the nonce instead of 24
 * random characters (RFC 5802 section 5, RFC 7677 section 3). */
extern const char *sasl_scram_test_server_nonce;
/* CRAM-MD5 (sasl-cram-md5.c): the whole challenge (RFC 2195 section 2). */
extern const char *sasl_cram_md5_test_challenge;
/* DIGEST-MD5 (sasl-digest-md5.c): the nonce (RFC 2831 section 4). */
extern const char *sasl_digest_md5_test_nonce;

#endif
