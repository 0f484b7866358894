/* sasl-scram.h: what unit tests and the fuzz target may set in the SCRAM
 * mechanisms (sasl-scram.c).  The server never sets it. */
#ifndef ROOST_AUTH_SASL_SCRAM_H
#define ROOST_AUTH_SASL_SCRAM_H

/* When not NULL, the server's part of the nonce instead of 24 random
 * characters, so that the RFC 5802 / RFC 7677 test vectors can be
 * replayed.  Tests only. */
extern const char *sasl_scram_test_server_nonce;

#endif
