/* apply.h: carrying out a Sieve result for one delivery (run.c's second
 * half, a module of its own so that it can be tested with results made by
 * hand).
 *
 * The order is what keeps a message safe: first every copy the result
 * files (keep, fileinto) is stored, durable; then outgoing mail (redirect,
 * reject, vacation, notify) is sent; a redirect or reject whose mail
 * cannot be sent keeps the message in INBOX instead; last, the tracking
 * memory (duplicate ids, vacation replies) is written. */
#ifndef ROOST_SIEVE_APPLY_H
#define ROOST_SIEVE_APPLY_H

#include "sieve/run.h"
#include "sieve/sieve.h"

/* What applying needs besides the delivery and the result. */
struct sieve_apply_env {
	/* the user's own addresses (vacation never answers them),
	 * NULL-terminated */
	const char *const *user_addresses;
};

/* Carries out `result` (from sieve_execute*(); a failed run's result
 * holds only its implicit keep) for delivery `d`.  Returns 0 with
 * result_r STORED, DISCARDED or REJECTED, or -1 with FAILED, as
 * sieve_run_deliver(). */
int sieve_apply_result(const struct sieve_delivery *d, const struct sieve_result *result,
		       const struct sieve_apply_env *env,
		       struct sieve_delivery_result *result_r);

/* The delivery without a script: the message into d->mailbox, or INBOX
 * when that is NULL or does not exist.  Returns as sieve_apply_result(). */
int sieve_apply_keep(const struct sieve_delivery *d, struct sieve_delivery_result *result_r);

/* The store's bit (enum store_special_use) of an RFC 6154 special use
 * ("\\Junk", any case), or 0 for none Roost has. */
uint32_t sieve_apply_special_use_bit(const char *use);

/* The tracking memory's key for a duplicate id (RFC 7352) or a vacation
 * reply (RFC 5230), so that the two never collide: `kind` ('D' or 'V')
 * then the id, into dest (which is reset). */
void sieve_apply_track_key(struct str *dest, char kind, const void *id, size_t id_len);

#endif
