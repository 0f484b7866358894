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

/* What the result of an IMAP event (RFC 6785) leaves for the original
 * message, which sieve_apply_event() does not touch itself. */
struct sieve_apply_event {
	/* a keep (explicit or implicit) is in effect: the message stays as
	 * it is with these flags and keywords (RFC 6785 3.1, 3.8: the flag
	 * changes "behave as though a client had made the change");
	 * keywords are in the pool given to sieve_apply_event() */
	bool keep;
	/* a keep action gave the flags below (false: a keep forced by a
	 * failure, which leaves the flags alone) */
	bool set_flags;
	uint32_t flags;
	const char **keywords;
	size_t keyword_count;
};

/* Carries out the result of an IMAP event for the message of `d`
 * (d->mailbox is the event's mailbox, d->spool/d->size the message as
 * stored, d->envelope_from the sender for redirect: the mailbox's owner,
 * RFC 6785 3.4): fileinto stores a new copy (3.3, "fileinto always
 * creates a new message", with the script's changes: 3.7, 3.9), redirect
 * and notify are sent (3.4, 3.6), and *event_r says whether a keep is in
 * effect and with which flags.  A copy that cannot be stored, or a
 * redirect that cannot be sent, keeps the original (logged).  Returns 0,
 * or -1 when a copy could not be stored (logged; event_r->keep is then
 * true: the original is never marked because of a failure). */
int sieve_apply_event(const struct sieve_delivery *d, const struct sieve_result *result,
		      const struct sieve_apply_env *env, struct pool *pool,
		      struct sieve_apply_event *event_r);

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
