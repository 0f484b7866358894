/* auth-throttle.h: growing delays after failed logins, per remote address
 * and per user, shared by all the server's processes.
 *
 * A bounded table (least recently failed entry evicted when full) counts
 * the recent failed logins of each key.  A failed login counts three
 * times: for its address, for the user it tried, and for the pair of
 * both; its delay follows the larger of the address's and the user's
 * count.  A successful login takes back only what its own pair added (the
 * failures of that user from that address), so logging in to one account
 * clears nothing of the guesses made against another, from that address or
 * any other.  A failure older than `forget_secs` is forgotten.
 *
 * The table lives in shared memory (base/shm.h) under its lock: one made
 * before fork() serves every worker (auth_create() uses the one made by
 * auth_shared_init()).  The delay itself is a pure function so it can be
 * tested without a clock; the caller waits it out with a timer (auth.c).
 * Times are passed in, from time_monotonic_ms(), for the same reason. */
#ifndef ROOST_AUTH_THROTTLE_H
#define ROOST_AUTH_THROTTLE_H

#include "base/base.h"

#define AUTH_THROTTLE_BASE_DELAY_MS 250u

struct auth_throttle;

/* Size of a buffer for auth_throttle_ip_key(). */
#define AUTH_THROTTLE_KEY_SIZE 64
/* Size of a key in the table: room for an address and a user name. */
#define AUTH_THROTTLE_ENTRY_KEY_SIZE 160

/* The throttle key of a remote address: an IPv4 address as it is, an IPv6
 * address ("2001:db8::1" or "[2001:db8::1]") as its /64 network
 * ("2001:db8::/64"), because one client usually owns a whole /64, except
 * an IPv4-mapped one ("::ffff:192.0.2.1"), which is its IPv4 address; anything
 * else (NULL: a UNIX socket) as it is, cut to fit.  Returns `buf`. */
const char *auth_throttle_ip_key(const char *ip, char buf[AUTH_THROTTLE_KEY_SIZE]);

/* The delay before answering the `failures`-th recent failure:
 * 0 for 0 failures, else min(250 ms * 2^(failures - 1), max_secs * 1000).
 * max_secs == 0 disables delays (always 0). */
unsigned int auth_throttle_delay_ms(unsigned int failures, unsigned int max_secs);

/* A table of at most `max_entries` keys (at least 1), shared with the
 * processes forked after this call.  Free with auth_throttle_destroy()
 * (in each process), which sets *throttle to NULL. */
struct auth_throttle *auth_throttle_create(size_t max_entries, unsigned int forget_secs);
void auth_throttle_destroy(struct auth_throttle **throttle);

/* ---- logins: address and user together ---- */

/* How long a login attempt for `user` from `ip_key` (from
 * auth_throttle_ip_key) must wait at now_ms: the longer of the address's
 * and the user's auth_throttle_wait_ms(). */
unsigned int auth_throttle_login_wait_ms(struct auth_throttle *throttle, const char *ip_key,
					 const char *user, uint64_t now_ms,
					 unsigned int max_secs);
/* Records a failed login for `user` from `ip_key` (for the address, the
 * user and the pair) and returns the count its delay follows: the
 * address's or the user's recent failures, whichever is larger. */
unsigned int auth_throttle_login_failed(struct auth_throttle *throttle, const char *ip_key,
					const char *user, uint64_t now_ms);
/* A successful login of `user` from `ip_key`: forgets the failures of
 * that pair, and takes them off the address's and the user's counts.
 * Failures of other users from the address, and of the user from other
 * addresses, stay. */
void auth_throttle_login_succeeded(struct auth_throttle *throttle, const char *ip_key,
				   const char *user, uint64_t now_ms);
/* Recent failures counted for an address, or a user, at now_ms. */
unsigned int auth_throttle_ip_failures(struct auth_throttle *throttle, const char *ip_key,
				       uint64_t now_ms);
unsigned int auth_throttle_user_failures(struct auth_throttle *throttle, const char *user,
					 uint64_t now_ms);

/* ---- single keys ---- */

/* Recent failures of `key` (NULL is the same as ""; keys longer than
 * AUTH_THROTTLE_ENTRY_KEY_SIZE - 1 bytes are cut) at time now_ms. */
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
/* Forgets the failures of `key`. */
void auth_throttle_reset(struct auth_throttle *throttle, const char *key);
/* Number of keys in the table (for tests). */
size_t auth_throttle_count(const struct auth_throttle *throttle);

#endif
