/* peer-limit.c: connections per remote address, counted across all the
 * workers of a server.
 *
 * Workers are separate processes, so the counts live in one shared
 * mapping (base/shm.h) made by the supervisor before it forks, under its
 * process-shared lock.  Every accept, login and close of a counted
 * connection takes the lock for a few hash probes; nothing blocks while
 * holding it.
 *
 * Layout of the shared bytes:
 *
 *   struct peer_table             slot count, worker count, used slots
 *   struct peer_slot[slots]       open addressing, linear probing: key and
 *                                 the total over all workers
 *   uint16_t owned[workers][slots] each worker's share of each total
 *
 * The per-worker shares exist for one reason: a worker that dies (a
 * crash, SIGKILL) cannot take back its connections, so the supervisor
 * subtracts its share from every total (net_peer_limit_release_worker).
 * A slot whose total falls to zero is emptied with backward-shift
 * deletion (the entries after it that probed past it move back, shares
 * included), so probe chains never fill with tombstones.
 *
 * A worker killed in the middle of an update (holding the lock) may leave
 * a total that is not the sum of the shares, or an entry half moved by a
 * deletion (a duplicate, or one its probe chain no longer reaches, whose
 * count would stay forever).  The lock is robust (shm_lock()), and the
 * next process to take it rebuilds the table from the per-worker shares,
 * which are the truth (peer_repair()). */
#include "net-private.h"
#include "base/shm.h"

#include <stdlib.h>

#include <assert.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

struct peer_slot {
	uint8_t used;
	struct net_peer_key key;
	uint32_t total;
};

struct peer_table {
	uint32_t slot_count;	/* a power of two */
	uint32_t worker_count;
	uint32_t used;
};

struct net_peer_limit {
	struct shm *shm;
	struct peer_table *table;
	struct peer_slot *slots;
	uint16_t *owned;	/* [worker * slot_count + slot] */
	uint32_t mask;
	uint32_t max_used;	/* keep a quarter of the slots free */
};

/* The address of an AF_INET or AF_INET6 sockaddr: *family_r AF_INET and 4
 * bytes, or AF_INET6 and 16; an IPv4-mapped IPv6 address (a dual-stack
 * listener's IPv4 client) is its IPv4 address.  False for anything else. */
static bool peer_sockaddr_bytes(const struct sockaddr *addr, socklen_t addrlen,
				int *family_r, uint8_t bytes_r[16])
{
	if (addr == NULL)
		return false;
	if (addr->sa_family == AF_INET && addrlen >= (socklen_t)sizeof(struct sockaddr_in)) {
		*family_r = AF_INET;
		memcpy(bytes_r, &((const struct sockaddr_in *)addr)->sin_addr, 4);
		return true;
	}
	if (addr->sa_family == AF_INET6 && addrlen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			*family_r = AF_INET;
			memcpy(bytes_r, &in6->s6_addr[12], 4);
		} else {
			*family_r = AF_INET6;
			memcpy(bytes_r, in6->s6_addr, 16);
		}
		return true;
	}
	return false;
}

bool net_peer_key_from_sockaddr(const struct sockaddr *addr, socklen_t addrlen,
				struct net_peer_key *key_r)
{
	uint8_t a[16];
	int family;

	memset(key_r, 0, sizeof(*key_r));
	if (!peer_sockaddr_bytes(addr, addrlen, &family, a))
		return false;
	if (family == AF_INET) {
		key_r->family = 4;
		memcpy(key_r->addr, a, 4);
	} else {
		/* one client usually owns a whole /64 */
		key_r->family = 6;
		memcpy(key_r->addr, a, 8);
	}
	return true;
}

struct net_peer_limit *net_peer_limit_create(unsigned int max_addresses,
					     unsigned int worker_count)
{
	uint32_t slots = 64;
	/* a quarter free: probe chains stay short */
	while (slots < (1u << 30) && (uint64_t)slots * 3 / 4 < max_addresses)
		slots <<= 1;
	if (worker_count == 0)
		worker_count = 1;
	size_t size = sizeof(struct peer_table) + (size_t)slots * sizeof(struct peer_slot) +
		      (size_t)slots * worker_count * sizeof(uint16_t);
	struct net_peer_limit *l = xcalloc(1, sizeof(*l));
	l->shm = shm_create(size);
	char *p = shm_data(l->shm);
	l->table = (struct peer_table *)p;
	l->slots = (struct peer_slot *)(p + sizeof(struct peer_table));
	l->owned = (uint16_t *)(p + sizeof(struct peer_table) +
				(size_t)slots * sizeof(struct peer_slot));
	l->table->slot_count = slots;
	l->table->worker_count = worker_count;
	l->mask = slots - 1;
	l->max_used = slots / 4 * 3;
	return l;
}

void net_peer_limit_destroy(struct net_peer_limit **_l)
{
	struct net_peer_limit *l = *_l;
	if (l == NULL)
		return;
	*_l = NULL;
	shm_destroy(&l->shm);
	free(l);
}

static uint32_t peer_hash(const struct net_peer_key *key)
{
	return mem_hash(key, sizeof(*key));
}

static uint16_t *peer_owned(struct net_peer_limit *l, unsigned int worker, uint32_t slot)
{
	return &l->owned[(size_t)worker * l->table->slot_count + slot];
}

/* The slot holding `key`, or UINT32_MAX; *free_r is the empty slot where
 * it would go. */
static uint32_t peer_find(struct net_peer_limit *l, const struct net_peer_key *key,
			  uint32_t *free_r)
{
	uint32_t i = peer_hash(key) & l->mask;
	for (uint32_t n = 0; n <= l->mask; n++, i = (i + 1) & l->mask) {
		struct peer_slot *s = &l->slots[i];
		if (!s->used) {
			*free_r = i;
			return UINT32_MAX;
		}
		if (memcmp(&s->key, key, sizeof(*key)) == 0)
			return i;
	}
	*free_r = UINT32_MAX;
	return UINT32_MAX;
}

/* Empties slot i (total 0) and moves back the entries after it that
 * probed past it, with their per-worker shares. */
static void peer_delete(struct net_peer_limit *l, uint32_t i)
{
	uint32_t workers = l->table->worker_count;
	uint32_t j = i;
	for (;;) {
		j = (j + 1) & l->mask;
		struct peer_slot *s = &l->slots[j];
		if (!s->used)
			break;
		uint32_t home = peer_hash(&s->key) & l->mask;
		/* s stays if its home lies cyclically in (i, j] */
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (stays)
			continue;
		l->slots[i] = *s;
		for (uint32_t w = 0; w < workers; w++) {
			*peer_owned(l, w, i) = *peer_owned(l, w, j);
			*peer_owned(l, w, j) = 0;
		}
		i = j;
	}
	memset(&l->slots[i], 0, sizeof(l->slots[i]));
	for (uint32_t w = 0; w < workers; w++)
		*peer_owned(l, w, i) = 0;
	l->table->used--;
}

/* After a process died holding the lock: every entry is placed again
 * from a copy of the table, its total the sum of its shares; a key found
 * twice (an entry half moved) keeps the larger share of each worker, and
 * entries without any share go.  Under the lock. */
static void peer_repair(struct net_peer_limit *l)
{
	uint32_t slots = l->table->slot_count, workers = l->table->worker_count;
	size_t owned_size = (size_t)slots * workers * sizeof(uint16_t);
	struct peer_slot *old = xmemdup(l->slots, (size_t)slots * sizeof(*old));
	uint16_t *old_owned = xmemdup(l->owned, owned_size);

	memset(l->slots, 0, (size_t)slots * sizeof(*old));
	memset(l->owned, 0, owned_size);
	l->table->used = 0;
	for (uint32_t i = 0; i < slots; i++) {
		bool any = false;
		for (uint32_t w = 0; w < workers && !any; w++)
			any = old_owned[(size_t)w * slots + i] > 0;
		if (!old[i].used || !any)
			continue;
		uint32_t free_slot;
		uint32_t k = peer_find(l, &old[i].key, &free_slot);
		if (k == UINT32_MAX) {
			if (free_slot == UINT32_MAX)
				continue;	/* cannot happen: as many slots as before */
			k = free_slot;
			l->slots[k].used = 1;
			l->slots[k].key = old[i].key;
			l->table->used++;
		}
		for (uint32_t w = 0; w < workers; w++) {
			uint16_t *own = peer_owned(l, w, k);
			*own = ROOST_MAX(*own, old_owned[(size_t)w * slots + i]);
		}
	}
	for (uint32_t i = 0; i < slots; i++) {
		uint32_t total = 0;
		for (uint32_t w = 0; w < workers; w++)
			total += *peer_owned(l, w, i);
		l->slots[i].total = total;
	}
	free(old);
	free(old_owned);
}

static void peer_lock(struct net_peer_limit *l)
{
	if (shm_lock(l->shm))
		peer_repair(l);
}

int net_peer_limit_add(struct net_peer_limit *l, unsigned int worker,
		       const struct net_peer_key *key, unsigned int limit)
{
	int ret;
	uint32_t free_slot;

	assert(worker < l->table->worker_count);
	peer_lock(l);
	uint32_t i = peer_find(l, key, &free_slot);
	if (i == UINT32_MAX) {
		if (limit == 0) {
			ret = 0;
		} else if (free_slot == UINT32_MAX || l->table->used >= l->max_used) {
			ret = -1;
		} else {
			struct peer_slot *s = &l->slots[free_slot];
			s->used = 1;
			s->key = *key;
			s->total = 1;
			*peer_owned(l, worker, free_slot) = 1;
			l->table->used++;
			ret = 1;
		}
	} else {
		struct peer_slot *s = &l->slots[i];
		uint16_t *own = peer_owned(l, worker, i);
		if (s->total >= limit || *own == UINT16_MAX) {
			ret = 0;
		} else {
			s->total++;
			(*own)++;
			ret = 1;
		}
	}
	shm_unlock(l->shm);
	return ret;
}

void net_peer_limit_remove(struct net_peer_limit *l, unsigned int worker,
			   const struct net_peer_key *key)
{
	uint32_t free_slot;

	assert(worker < l->table->worker_count);
	peer_lock(l);
	uint32_t i = peer_find(l, key, &free_slot);
	if (i != UINT32_MAX) {
		struct peer_slot *s = &l->slots[i];
		uint16_t *own = peer_owned(l, worker, i);
		if (*own > 0)
			(*own)--;
		if (s->total > 0)
			s->total--;
		if (s->total == 0)
			peer_delete(l, i);
	}
	shm_unlock(l->shm);
}

unsigned int net_peer_limit_count(struct net_peer_limit *l, const struct net_peer_key *key)
{
	uint32_t free_slot;
	peer_lock(l);
	uint32_t i = peer_find(l, key, &free_slot);
	unsigned int n = i == UINT32_MAX ? 0 : l->slots[i].total;
	shm_unlock(l->shm);
	return n;
}

unsigned int net_peer_limit_release_worker(struct net_peer_limit *l, unsigned int worker)
{
	unsigned int released = 0;

	if (worker >= l->table->worker_count)
		return 0;
	peer_lock(l);
	for (uint32_t i = 0; i <= l->mask; ) {
		uint16_t *own = peer_owned(l, worker, i);
		struct peer_slot *s = &l->slots[i];
		if (!s->used || *own == 0) {
			i++;
			continue;
		}
		released += *own;
		s->total = s->total > *own ? s->total - *own : 0;
		*own = 0;
		if (s->total == 0) {
			/* another entry may move into slot i: look at it again */
			peer_delete(l, i);
			continue;
		}
		i++;
	}
	shm_unlock(l->shm);
	return released;
}

/* ---- exempt networks ---- */

struct net_peer_network {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned int bits;
};

struct net_peer_networks {
	struct net_peer_network *nets;
	size_t count;
};

int net_peer_networks_parse(const char *list, struct net_peer_networks **nets_r,
			    char **error_r)
{
	struct net_peer_networks *nets = xcalloc(1, sizeof(*nets));
	size_t cap = 0;
	const char *p = list != NULL ? list : "";
	for (;;) {
		p += strspn(p, " ,\t");
		size_t wlen = strcspn(p, " ,\t");
		if (wlen == 0)
			break;
		char word[INET6_ADDRSTRLEN + 8];
		if (wlen >= sizeof(word)) {
			*error_r = xasprintf("invalid network \"%.*s\"", (int)ROOST_MIN(wlen, 64), p);
			net_peer_networks_free(&nets);
			return -1;
		}
		memcpy(word, p, wlen);
		word[wlen] = '\0';
		p += wlen;

		struct net_peer_network n = { 0 };
		char *slash = strchr(word, '/');
		if (slash != NULL)
			*slash = '\0';
		n.family = strchr(word, ':') != NULL ? AF_INET6 : AF_INET;
		unsigned int max_bits = n.family == AF_INET ? 32 : 128;
		uint64_t bits = max_bits;
		if (inet_pton(n.family, word, n.addr) != 1 ||
		    (slash != NULL && str_to_u64(slash + 1, max_bits, &bits) < 0)) {
			if (slash != NULL)
				*slash = '/';
			*error_r = xasprintf("invalid network \"%s\" (expected e.g. 127.0.0.0/8 "
					     "or ::1)", word);
			net_peer_networks_free(&nets);
			return -1;
		}
		n.bits = (unsigned int)bits;
		ARRAY_RESERVE(nets->nets, cap, nets->count + 1);
		nets->nets[nets->count++] = n;
	}
	*nets_r = nets;
	return 0;
}

bool net_peer_networks_match(const struct net_peer_networks *nets, const struct sockaddr *addr,
			     socklen_t addrlen)
{
	uint8_t a[16];
	int family;

	if (nets == NULL || !peer_sockaddr_bytes(addr, addrlen, &family, a))
		return false;
	for (size_t i = 0; i < nets->count; i++) {
		const struct net_peer_network *n = &nets->nets[i];
		if (n->family != family)
			continue;
		unsigned int full = n->bits / 8, rest = n->bits % 8;
		if (memcmp(a, n->addr, full) != 0)
			continue;
		if (rest != 0) {
			uint8_t mask = (uint8_t)(0xff << (8 - rest));
			if ((a[full] & mask) != (n->addr[full] & mask))
				continue;
		}
		return true;
	}
	return false;
}

void net_peer_networks_free(struct net_peer_networks **_nets)
{
	struct net_peer_networks *nets = *_nets;
	if (nets == NULL)
		return;
	*_nets = NULL;
	free(nets->nets);
	free(nets);
}
