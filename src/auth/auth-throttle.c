/* auth-throttle.c: the failed-login table behind the growing delay.
 *
 * A plain array in shared memory, searched linearly under the shared lock
 * (a hash per entry skips most comparisons): a few thousand entries cost
 * microseconds, far less than the password hash every lookup comes with,
 * and its size never depends on what clients send.  Every change under
 * the lock is a few stores, so a worker dying in the middle leaves at
 * worst one count off by one. */
#include "auth-throttle.h"
#include "base/shm.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct auth_throttle_entry {
	uint32_t hash;			/* of key, to skip most strcmp() */
	unsigned int failures;
	uint64_t last_ms;		/* time of the last failure */
	char key[AUTH_THROTTLE_ENTRY_KEY_SIZE];
};

/* In shared memory, followed by max entries. */
struct auth_throttle_table {
	size_t count, max;
	uint64_t forget_ms;
	struct auth_throttle_entry entries[];
};

struct auth_throttle {
	struct shm *shm;
	struct auth_throttle_table *t;
};

unsigned int auth_throttle_delay_ms(unsigned int failures, unsigned int max_secs)
{
	uint64_t max_ms = (uint64_t)max_secs * 1000;

	if (failures == 0 || max_secs == 0)
		return 0;
	/* 250 << 40 is past any sane maximum; stop shifting before overflow */
	if (failures > 40)
		return (unsigned int)ROOST_MIN(max_ms, UINT32_MAX);
	uint64_t delay = (uint64_t)AUTH_THROTTLE_BASE_DELAY_MS << (failures - 1);
	return (unsigned int)ROOST_MIN(ROOST_MIN(delay, max_ms), UINT32_MAX);
}

const char *auth_throttle_ip_key(const char *ip, char buf[AUTH_THROTTLE_KEY_SIZE])
{
	struct in6_addr addr;
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t len;

	if (ip == NULL)
		ip = "";
	len = strlen(ip);
	if (len >= 2 && ip[0] == '[' && ip[len - 1] == ']' && len - 2 < sizeof(tmp)) {
		memcpy(tmp, ip + 1, len - 2);
		tmp[len - 2] = '\0';
	} else {
		snprintf(tmp, sizeof(tmp), "%s", len < sizeof(tmp) ? ip : "");
	}
	if (strchr(tmp, ':') != NULL && inet_pton(AF_INET6, tmp, &addr) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&addr) &&
		    inet_ntop(AF_INET, addr.s6_addr + 12, tmp, sizeof(tmp)) != NULL) {
			/* an IPv4 client of a dual-stack listener is that
			 * IPv4 address, not the /64 of every such client */
			snprintf(buf, AUTH_THROTTLE_KEY_SIZE, "%s", tmp);
			return buf;
		}
		memset(addr.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &addr, tmp, sizeof(tmp)) != NULL) {
			snprintf(buf, AUTH_THROTTLE_KEY_SIZE, "%s/64", tmp);
			return buf;
		}
	}
	snprintf(buf, AUTH_THROTTLE_KEY_SIZE, "%s", ip);
	return buf;
}

struct auth_throttle *auth_throttle_create(size_t max_entries, unsigned int forget_secs)
{
	struct auth_throttle *throttle = xcalloc(1, sizeof(*throttle));
	size_t max = max_entries > 0 ? max_entries : 1;
	throttle->shm = shm_create(sizeof(struct auth_throttle_table) +
				   max * sizeof(struct auth_throttle_entry));
	throttle->t = shm_data(throttle->shm);
	throttle->t->max = max;
	throttle->t->forget_ms = (uint64_t)forget_secs * 1000;
	return throttle;
}

void auth_throttle_destroy(struct auth_throttle **tp)
{
	struct auth_throttle *throttle = *tp;
	if (throttle == NULL)
		return;
	*tp = NULL;
	shm_destroy(&throttle->shm);
	free(throttle);
}

static uint32_t auth_throttle_hash(const char *key)
{
	return mem_hash(key, strlen(key));
}

static void auth_throttle_key(const char *key, char out[AUTH_THROTTLE_ENTRY_KEY_SIZE])
{
	memset(out, 0, AUTH_THROTTLE_ENTRY_KEY_SIZE);
	if (key != NULL)
		strncpy(out, key, AUTH_THROTTLE_ENTRY_KEY_SIZE - 1);
}

/* The table keys of a login: "a ADDRESS", "u USER" and "p ADDRESS USER",
 * the user name in ASCII lower case (Demo and demo are one target). */
static void auth_throttle_login_keys(const char *ip_key, const char *user,
				     char a[AUTH_THROTTLE_ENTRY_KEY_SIZE],
				     char u[AUTH_THROTTLE_ENTRY_KEY_SIZE],
				     char p[AUTH_THROTTLE_ENTRY_KEY_SIZE])
{
	char lower[AUTH_THROTTLE_ENTRY_KEY_SIZE];
	size_t i = 0;
	if (user != NULL) {
		for (; user[i] != '\0' && i < sizeof(lower) - 1; i++)
			lower[i] = user[i] >= 'A' && user[i] <= 'Z' ?
				(char)(user[i] - 'A' + 'a') : user[i];
	}
	lower[i] = '\0';
	if (ip_key == NULL)
		ip_key = "";
	/* long names are cut: they only share their counts then */
	const int ip_max = AUTH_THROTTLE_KEY_SIZE - 1;
	const int user_max = AUTH_THROTTLE_ENTRY_KEY_SIZE - AUTH_THROTTLE_KEY_SIZE - 4;
	snprintf(a, AUTH_THROTTLE_ENTRY_KEY_SIZE, "a %.*s", ip_max, ip_key);
	snprintf(u, AUTH_THROTTLE_ENTRY_KEY_SIZE, "u %.*s", user_max, lower);
	snprintf(p, AUTH_THROTTLE_ENTRY_KEY_SIZE, "p %.*s %.*s", ip_max, ip_key, user_max, lower);
}

/* The entry of k (a key made by auth_throttle_key), or NULL; drops it
 * if expired.  Under the lock. */
static struct auth_throttle_entry *
auth_throttle_find(struct auth_throttle_table *t, const char *k, uint64_t now_ms)
{
	uint32_t hash = auth_throttle_hash(k);
	for (size_t i = 0; i < t->count; i++) {
		struct auth_throttle_entry *e = &t->entries[i];
		if (e->hash != hash || strcmp(e->key, k) != 0)
			continue;
		if (now_ms >= e->last_ms && now_ms - e->last_ms >= t->forget_ms) {
			/* expired: drop it */
			t->entries[i] = t->entries[--t->count];
			return NULL;
		}
		return e;
	}
	return NULL;
}

static unsigned int auth_throttle_wait_locked(struct auth_throttle_table *t, const char *k,
					      uint64_t now_ms, unsigned int max_secs)
{
	struct auth_throttle_entry *e = auth_throttle_find(t, k, now_ms);
	if (e == NULL)
		return 0;
	uint64_t until = e->last_ms + auth_throttle_delay_ms(e->failures, max_secs);
	return now_ms >= until ? 0 : (unsigned int)(until - now_ms);
}

static unsigned int auth_throttle_add_locked(struct auth_throttle_table *t, const char *k,
					     uint64_t now_ms)
{
	struct auth_throttle_entry *e = auth_throttle_find(t, k, now_ms);

	if (e == NULL) {
		if (t->count < t->max) {
			e = &t->entries[t->count++];
		} else {
			/* full: reuse the entry whose last failure is oldest */
			e = &t->entries[0];
			for (size_t i = 1; i < t->count; i++) {
				if (t->entries[i].last_ms < e->last_ms)
					e = &t->entries[i];
			}
		}
		memcpy(e->key, k, sizeof(e->key));
		e->hash = auth_throttle_hash(k);
		e->failures = 0;
	}
	if (e->failures < UINT32_MAX)
		e->failures++;
	e->last_ms = now_ms;
	return e->failures;
}

/* Takes n failures off k's count; the entry goes when none are left. */
static void auth_throttle_sub_locked(struct auth_throttle_table *t, const char *k,
				     unsigned int n, uint64_t now_ms)
{
	struct auth_throttle_entry *e = auth_throttle_find(t, k, now_ms);
	if (e == NULL)
		return;
	if (e->failures > n) {
		e->failures -= n;
		return;
	}
	t->entries[e - t->entries] = t->entries[--t->count];
}

unsigned int auth_throttle_failures(struct auth_throttle *throttle, const char *key,
				    uint64_t now_ms)
{
	char k[AUTH_THROTTLE_ENTRY_KEY_SIZE];
	auth_throttle_key(key, k);
	(void)shm_lock(throttle->shm);
	struct auth_throttle_entry *e = auth_throttle_find(throttle->t, k, now_ms);
	unsigned int n = e != NULL ? e->failures : 0;
	shm_unlock(throttle->shm);
	return n;
}

unsigned int auth_throttle_wait_ms(struct auth_throttle *throttle, const char *key,
				   uint64_t now_ms, unsigned int max_secs)
{
	char k[AUTH_THROTTLE_ENTRY_KEY_SIZE];
	auth_throttle_key(key, k);
	(void)shm_lock(throttle->shm);
	unsigned int wait = auth_throttle_wait_locked(throttle->t, k, now_ms, max_secs);
	shm_unlock(throttle->shm);
	return wait;
}

unsigned int auth_throttle_add_failure(struct auth_throttle *throttle, const char *key,
				       uint64_t now_ms)
{
	char k[AUTH_THROTTLE_ENTRY_KEY_SIZE];
	auth_throttle_key(key, k);
	(void)shm_lock(throttle->shm);
	unsigned int n = auth_throttle_add_locked(throttle->t, k, now_ms);
	shm_unlock(throttle->shm);
	return n;
}

void auth_throttle_reset(struct auth_throttle *throttle, const char *key)
{
	char k[AUTH_THROTTLE_ENTRY_KEY_SIZE];
	auth_throttle_key(key, k);
	(void)shm_lock(throttle->shm);
	auth_throttle_sub_locked(throttle->t, k, UINT32_MAX, 0);
	shm_unlock(throttle->shm);
}

size_t auth_throttle_count(const struct auth_throttle *throttle)
{
	return throttle->t->count;
}

unsigned int auth_throttle_login_wait_ms(struct auth_throttle *throttle, const char *ip_key,
					 const char *user, uint64_t now_ms,
					 unsigned int max_secs)
{
	char a[AUTH_THROTTLE_ENTRY_KEY_SIZE], u[AUTH_THROTTLE_ENTRY_KEY_SIZE],
	     p[AUTH_THROTTLE_ENTRY_KEY_SIZE];
	auth_throttle_login_keys(ip_key, user, a, u, p);
	(void)shm_lock(throttle->shm);
	unsigned int wa = auth_throttle_wait_locked(throttle->t, a, now_ms, max_secs);
	unsigned int wu = auth_throttle_wait_locked(throttle->t, u, now_ms, max_secs);
	shm_unlock(throttle->shm);
	return ROOST_MAX(wa, wu);
}

unsigned int auth_throttle_login_failed(struct auth_throttle *throttle, const char *ip_key,
					const char *user, uint64_t now_ms)
{
	char a[AUTH_THROTTLE_ENTRY_KEY_SIZE], u[AUTH_THROTTLE_ENTRY_KEY_SIZE],
	     p[AUTH_THROTTLE_ENTRY_KEY_SIZE];
	auth_throttle_login_keys(ip_key, user, a, u, p);
	(void)shm_lock(throttle->shm);
	(void)auth_throttle_add_locked(throttle->t, p, now_ms);
	unsigned int na = auth_throttle_add_locked(throttle->t, a, now_ms);
	unsigned int nu = auth_throttle_add_locked(throttle->t, u, now_ms);
	shm_unlock(throttle->shm);
	return ROOST_MAX(na, nu);
}

void auth_throttle_login_succeeded(struct auth_throttle *throttle, const char *ip_key,
				   const char *user, uint64_t now_ms)
{
	char a[AUTH_THROTTLE_ENTRY_KEY_SIZE], u[AUTH_THROTTLE_ENTRY_KEY_SIZE],
	     p[AUTH_THROTTLE_ENTRY_KEY_SIZE];
	auth_throttle_login_keys(ip_key, user, a, u, p);
	(void)shm_lock(throttle->shm);
	struct auth_throttle_entry *e = auth_throttle_find(throttle->t, p, now_ms);
	if (e != NULL) {
		unsigned int n = e->failures;
		auth_throttle_sub_locked(throttle->t, p, UINT32_MAX, now_ms);
		auth_throttle_sub_locked(throttle->t, a, n, now_ms);
		auth_throttle_sub_locked(throttle->t, u, n, now_ms);
	}
	shm_unlock(throttle->shm);
}

unsigned int auth_throttle_ip_failures(struct auth_throttle *throttle, const char *ip_key,
				       uint64_t now_ms)
{
	char a[AUTH_THROTTLE_ENTRY_KEY_SIZE], u[AUTH_THROTTLE_ENTRY_KEY_SIZE],
	     p[AUTH_THROTTLE_ENTRY_KEY_SIZE];
	auth_throttle_login_keys(ip_key, "", a, u, p);
	return auth_throttle_failures(throttle, a, now_ms);
}

unsigned int auth_throttle_user_failures(struct auth_throttle *throttle, const char *user,
					 uint64_t now_ms)
{
	char a[AUTH_THROTTLE_ENTRY_KEY_SIZE], u[AUTH_THROTTLE_ENTRY_KEY_SIZE],
	     p[AUTH_THROTTLE_ENTRY_KEY_SIZE];
	auth_throttle_login_keys("", user, a, u, p);
	return auth_throttle_failures(throttle, u, now_ms);
}
