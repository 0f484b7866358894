/* auth-throttle.h: growing delays after failed logins, per remote address.
 *
 * A bounded table (least recently failed entry evicted when full) counts
 * the recent failed logins of each key (a remote IP).  A failure older than
 * `forget_secs` is forgotten; a successful login resets the key.  The
 * delay itself is a pure function so it can be tested without a clock; the
 * caller waits it out with a timer (auth.c).  Times are passed in, from
 * time_monotonic_ms(), for the same reason. */
#ifndef ROOST_AUTH_THROTTLE_H
#define ROOST_AUTH_THROTTLE_H

#include "base/base.h"

#define AUTH_THROTTLE_BASE_DELAY_MS 250u

struct auth_throttle;

/* Size of a buffer for auth_throttle_ip_key(). */
#define AUTH_THROTTLE_KEY_SIZE 64

/* The throttle key of a remote address: an IPv4 address as it is, an IPv6
 * address ("2001:db8::1" or "[2001:db8::1]") as its /64 network
 * ("2001:db8::/64"), because one client usually owns a whole /64; anything
 * else (NULL: a UNIX socket) as it is, cut to fit.  Returns `buf`. */
const char *auth_throttle_ip_key(const char *ip, char buf[AUTH_THROTTLE_KEY_SIZE]);

/* The delay before answering the `failures`-th recent failure:
 * 0 for 0 failures, else min(250 ms * 2^(failures - 1), max_secs * 1000).
 * max_secs == 0 disables delays (always 0). */
unsigned int auth_throttle_delay_ms(unsigned int failures, unsigned int max_secs);

/* A table of at most `max_entries` keys (at least 1).  Free with
 * auth_throttle_destroy(), which sets *throttle to NULL. */
struct auth_throttle *auth_throttle_create(size_t max_entries, unsigned int forget_secs);
void auth_throttle_destroy(struct auth_throttle **throttle);

/* Recent failures of `key` (NULL is the same as ""; keys longer than 63
 * bytes are cut) at time now_ms. */
unsigned int auth_throttle_failures(struct auth_throttle *throttle, const char *key,
				    uint64_t now_ms);
/* How long a new attempt from `key` must wait at now_ms: the part of the
 * delay of its last failure (auth_throttle_delay_ms() of its failure
 * count, from the time of that failure) that has not passed yet.  A client
 * that waited for its FAILED answer waits no more; one that gave up on the
 * answer and reconnected gains nothing.  0 for an unknown key. */
unsigned int auth_throttle_wait_ms(struct auth_throttle *throttle, const char *key,
				   uint64_t now_ms, unsigned int max_secs);
/* Records a failure of `key` and returns its recent failures, this one
 * included. */
unsigned int auth_throttle_add_failure(struct auth_throttle *throttle, const char *key,
				       uint64_t now_ms);
/* A successful login: forgets the failures of `key`. */
void auth_throttle_reset(struct auth_throttle *throttle, const char *key);
/* Number of keys in the table (for tests). */
size_t auth_throttle_count(const struct auth_throttle *throttle);

#endif
