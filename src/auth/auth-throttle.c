/* auth-throttle.c: the failed-login table behind the growing delay.
 *
 * A plain array searched linearly: a few thousand entries cost
 * microseconds, far less than the password hash every lookup comes with,
 * and its size never depends on what clients send. */
#include "auth-throttle.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct auth_throttle_entry {
	char key[AUTH_THROTTLE_KEY_SIZE];
	unsigned int failures;
	uint64_t last_ms;		/* time of the last failure */
};

struct auth_throttle {
	struct auth_throttle_entry *entries;
	size_t count, max;
	uint64_t forget_ms;
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
	struct auth_throttle *t = xcalloc(1, sizeof(*t));
	t->max = max_entries > 0 ? max_entries : 1;
	t->entries = xcalloc(t->max, sizeof(*t->entries));
	t->forget_ms = (uint64_t)forget_secs * 1000;
	return t;
}

void auth_throttle_destroy(struct auth_throttle **tp)
{
	struct auth_throttle *t = *tp;
	if (t == NULL)
		return;
	*tp = NULL;
	free(t->entries);
	free(t);
}

static void auth_throttle_key(const char *key, char out[AUTH_THROTTLE_KEY_SIZE])
{
	memset(out, 0, AUTH_THROTTLE_KEY_SIZE);
	if (key != NULL)
		strncpy(out, key, AUTH_THROTTLE_KEY_SIZE - 1);
}

static struct auth_throttle_entry *
auth_throttle_find(struct auth_throttle *t, const char *key, uint64_t now_ms)
{
	char k[AUTH_THROTTLE_KEY_SIZE];

	auth_throttle_key(key, k);
	for (size_t i = 0; i < t->count; i++) {
		struct auth_throttle_entry *e = &t->entries[i];
		if (strcmp(e->key, k) != 0)
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

unsigned int auth_throttle_failures(struct auth_throttle *t, const char *key, uint64_t now_ms)
{
	struct auth_throttle_entry *e = auth_throttle_find(t, key, now_ms);
	return e != NULL ? e->failures : 0;
}

unsigned int auth_throttle_wait_ms(struct auth_throttle *t, const char *key,
				   uint64_t now_ms, unsigned int max_secs)
{
	struct auth_throttle_entry *e = auth_throttle_find(t, key, now_ms);
	if (e == NULL)
		return 0;
	uint64_t until = e->last_ms + auth_throttle_delay_ms(e->failures, max_secs);
	return now_ms >= until ? 0 : (unsigned int)(until - now_ms);
}

unsigned int auth_throttle_add_failure(struct auth_throttle *t, const char *key, uint64_t now_ms)
{
	struct auth_throttle_entry *e = auth_throttle_find(t, key, now_ms);

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
		auth_throttle_key(key, e->key);
		e->failures = 0;
	}
	if (e->failures < UINT32_MAX)
		e->failures++;
	e->last_ms = now_ms;
	return e->failures;
}

void auth_throttle_reset(struct auth_throttle *t, const char *key)
{
	char k[AUTH_THROTTLE_KEY_SIZE];

	auth_throttle_key(key, k);
	for (size_t i = 0; i < t->count; i++) {
		if (strcmp(t->entries[i].key, k) == 0) {
			t->entries[i] = t->entries[--t->count];
			return;
		}
	}
}

size_t auth_throttle_count(const struct auth_throttle *t)
{
	return t->count;
}
