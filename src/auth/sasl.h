/* sasl.h: SASL mechanisms (RFC 4422), independent of the protocol.
 *
 * The protocol (IMAP AUTHENTICATE, later ManageSieve) finds a mechanism
 * by name, creates an exchange, and feeds it the client's responses after
 * decoding their base64; it encodes the challenges the exchange returns
 * and sends them as "+ " lines.  When an exchange completes it yields the
 * credentials to check: for password mechanisms (PLAIN) an authcid and a
 * password, which the protocol passes to auth_verify_plain().  New
 * mechanisms (SCRAM-*, OAUTHBEARER) are added as another `struct
 * sasl_mech` in the table of sasl.c, without touching the protocols.
 *
 * Nothing here logs; the password is wiped when the exchange is destroyed. */
#ifndef ROOST_AUTH_SASL_H
#define ROOST_AUTH_SASL_H

#include "base/base.h"

/* RFC 4616 section 2: each of authzid, authcid and passwd is at most 255
 * octets. */
#define SASL_PLAIN_MAX_FIELD_LEN 255

struct sasl_exchange;

struct sasl_mech {
	const char *name;		/* "PLAIN", upper case */
	/* The client sends the password itself, readable by anyone on the
	 * wire: offer only over TLS (or as plaintext_auth allows). */
	bool is_plaintext;
	/* Size of the mechanism's state following struct sasl_exchange. */
	size_t state_size;
	/* One step: see sasl_exchange_step() for the contract. */
	int (*step)(struct sasl_exchange *exchange, const unsigned char *input,
		    size_t input_len, const unsigned char **output_r, size_t *output_len_r,
		    const char **error_r);
	/* Wipes secrets in the mechanism's state (may be NULL). */
	void (*deinit)(struct sasl_exchange *exchange);
};

/* Returns the mechanism called `name` (case-insensitive), or NULL. */
const struct sasl_mech *sasl_mech_find(const char *name);
/* The mechanisms in the order to advertise them; NULL past the last.
 * Static storage. */
const struct sasl_mech *sasl_mech_at(size_t i);

/* Starts an exchange with `mech`.  Free with sasl_exchange_destroy(). */
struct sasl_exchange *sasl_exchange_create(const struct sasl_mech *mech);
/* Wipes the exchange's secrets and frees it; sets *exchange to NULL. */
void sasl_exchange_destroy(struct sasl_exchange **exchange);

/* Feeds the client's next response (already base64-decoded).  For the
 * first step, `input` NULL means the client sent no initial response
 * (IMAP: AUTHENTICATE PLAIN without SASL-IR); an empty initial response is
 * a non-NULL input of length 0.  Later steps always have a non-NULL input.
 * Returns:
 *   1   done: the credentials are available (sasl_exchange_authcid(), ...)
 *   0   continue: send the challenge *output_r (*output_len_r bytes,
 *       possibly 0; valid until the next call) and step again with the
 *       client's answer
 *  -1   failed: *error_r is a static message for the client and log, and
 *       the exchange is over.
 * After 1 or -1, stepping again is a bug. */
int sasl_exchange_step(struct sasl_exchange *exchange, const unsigned char *input,
		       size_t input_len, const unsigned char **output_r,
		       size_t *output_len_r, const char **error_r);

/* The mechanism of the exchange. */
const struct sasl_mech *sasl_exchange_mech(const struct sasl_exchange *exchange);

/* After step returned 1: the authentication identity (the user name to
 * look up), the authorization identity (equal to authcid, or "" when the
 * client gave none: Roost does not let one user act as another), and for
 * password mechanisms the password (NULL for others).  Strings are
 * NUL-free, valid UTF-8, owned by the exchange, and live until it is
 * destroyed. */
const char *sasl_exchange_authcid(const struct sasl_exchange *exchange);
const char *sasl_exchange_authzid(const struct sasl_exchange *exchange);
const char *sasl_exchange_password(const struct sasl_exchange *exchange);

/* ---- for mechanism implementations ---- */
/* The mechanism's state (state_size bytes, zeroed at create). */
void *sasl_exchange_state(struct sasl_exchange *exchange);
/* Sets the credentials when a mechanism completes (copied). */
void sasl_exchange_set_credentials(struct sasl_exchange *exchange, const char *authzid,
				   const char *authcid, const char *password);

/* The mechanisms, one per sasl-*.c file. */
extern const struct sasl_mech sasl_mech_plain;

#endif
