/* test-peer-limit.c: the shared lock (base/shm.h) and the per-address
 * connection table of src/net (peer-limit.c): keys, the limit, counts
 * seen across fork()ed processes, a dead worker's share given back, and
 * the hash table staying consistent through many adds and removes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/base.h"
#include "base/shm.h"
#include "net/net-private.h"

static struct net_peer_key key4(const char *ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	struct net_peer_key key;
	assert_true(net_peer_key_from_sockaddr((struct sockaddr *)&sin, sizeof(sin), &key));
	return key;
}

static struct net_peer_key key6(const char *ip)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	struct net_peer_key key;
	assert_true(net_peer_key_from_sockaddr((struct sockaddr *)&sin6, sizeof(sin6), &key));
	return key;
}

static void test_keys(void **state ATTR_UNUSED)
{
	struct net_peer_key a = key4("192.0.2.1"), b = key6("::ffff:192.0.2.1");
	assert_memory_equal(&a, &b, sizeof(a));
	a = key4("192.0.2.2");
	assert_memory_not_equal(&a, &b, sizeof(a));
	/* one /64 is one client */
	a = key6("2001:db8:1:2::1");
	b = key6("2001:db8:1:2:ffff::7");
	assert_memory_equal(&a, &b, sizeof(a));
	b = key6("2001:db8:1:3::1");
	assert_memory_not_equal(&a, &b, sizeof(a));

	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct net_peer_key k;
	assert_false(net_peer_key_from_sockaddr((struct sockaddr *)&sun, sizeof(sun), &k));
	assert_false(net_peer_key_from_sockaddr(NULL, 0, &k));
}

static void test_limit(void **state ATTR_UNUSED)
{
	struct net_peer_limit *l = net_peer_limit_create(100, 2);
	struct net_peer_key a = key4("192.0.2.1"), b = key4("192.0.2.2");

	for (int i = 0; i < 3; i++)
		assert_int_equal(net_peer_limit_add(l, i % 2, &a, 3), 1);
	/* the limit is on both workers together */
	assert_int_equal(net_peer_limit_add(l, 0, &a, 3), 0);
	assert_int_equal(net_peer_limit_add(l, 1, &a, 3), 0);
	assert_int_equal(net_peer_limit_count(l, &a), 3);
	/* another address is not affected */
	assert_int_equal(net_peer_limit_add(l, 0, &b, 3), 1);
	assert_int_equal(net_peer_limit_count(l, &b), 1);

	net_peer_limit_remove(l, 1, &a);
	assert_int_equal(net_peer_limit_count(l, &a), 2);
	assert_int_equal(net_peer_limit_add(l, 0, &a, 3), 1);
	assert_int_equal(net_peer_limit_add(l, 0, &a, 3), 0);

	/* worker 1 has none left; worker 0 dies: all of its are forgotten */
	assert_int_equal(net_peer_limit_release_worker(l, 1), 0);
	assert_int_equal(net_peer_limit_count(l, &a), 3);
	assert_int_equal(net_peer_limit_count(l, &b), 1);
	assert_int_equal(net_peer_limit_release_worker(l, 0), 4);
	assert_int_equal(net_peer_limit_count(l, &a), 0);
	assert_int_equal(net_peer_limit_count(l, &b), 0);
	/* a limit of 0 admits nobody */
	assert_int_equal(net_peer_limit_add(l, 0, &a, 0), 0);
	net_peer_limit_destroy(&l);
	assert_null(l);
}

/* The table is shared with processes forked after it was made: what a
 * child counts, the parent sees, and the other way round. */
static void test_shared_across_fork(void **state ATTR_UNUSED)
{
	struct net_peer_limit *l = net_peer_limit_create(100, 2);
	struct net_peer_key a = key4("198.51.100.7");

	assert_int_equal(net_peer_limit_add(l, 0, &a, 4), 1);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ok = net_peer_limit_count(l, &a) == 1 &&
			 net_peer_limit_add(l, 1, &a, 4) == 1 &&
			 net_peer_limit_add(l, 1, &a, 4) == 1;
		_exit(ok ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(net_peer_limit_count(l, &a), 3);
	assert_int_equal(net_peer_limit_add(l, 0, &a, 4), 1);
	assert_int_equal(net_peer_limit_add(l, 0, &a, 4), 0);
	/* the child (worker 1) is gone: the supervisor gives its two back */
	assert_int_equal(net_peer_limit_release_worker(l, 1), 2);
	assert_int_equal(net_peer_limit_count(l, &a), 2);
	net_peer_limit_destroy(&l);
}

/* Many addresses added and removed in a scrambled order: every count
 * stays right while entries move back over emptied slots. */
static void test_many_addresses(void **state ATTR_UNUSED)
{
	enum { N = 3000 };
	struct net_peer_limit *l = net_peer_limit_create(N, 3);
	static struct net_peer_key keys[N];
	char ip[32];

	for (unsigned int i = 0; i < N; i++) {
		snprintf(ip, sizeof(ip), "10.%u.%u.1", i / 256, i % 256);
		keys[i] = key4(ip);
		unsigned int n = 1 + i % 3;
		for (unsigned int j = 0; j < n; j++)
			assert_int_equal(net_peer_limit_add(l, j, &keys[i], 10), 1);
	}
	for (unsigned int i = 0; i < N; i++)
		assert_int_equal(net_peer_limit_count(l, &keys[i]), 1 + i % 3);
	/* remove every connection of worker 0 (all addresses), in steps of 7 */
	for (unsigned int k = 0, i = 0; k < N; k++, i = (i + 7) % N)
		net_peer_limit_remove(l, 0, &keys[i]);
	for (unsigned int i = 0; i < N; i++)
		assert_int_equal(net_peer_limit_count(l, &keys[i]), i % 3);
	/* worker 2's share goes with it */
	assert_int_equal(net_peer_limit_release_worker(l, 2), N / 3);
	for (unsigned int i = 0; i < N; i++)
		assert_int_equal(net_peer_limit_count(l, &keys[i]), i % 3 == 0 ? 0 : 1);
	assert_int_equal(net_peer_limit_release_worker(l, 1), N / 3 * 2);
	for (unsigned int i = 0; i < N; i++)
		assert_int_equal(net_peer_limit_count(l, &keys[i]), 0);
	net_peer_limit_destroy(&l);
}

static void test_table_full(void **state ATTR_UNUSED)
{
	struct net_peer_limit *l = net_peer_limit_create(10, 1);
	char ip[32];
	int counted = 0, uncounted = 0;
	for (unsigned int i = 0; i < 200; i++) {
		snprintf(ip, sizeof(ip), "172.16.%u.%u", i / 256, i % 256);
		struct net_peer_key k = key4(ip);
		int ret = net_peer_limit_add(l, 0, &k, 5);
		assert_true(ret == 1 || ret == -1);
		if (ret == 1)
			counted++;
		else
			uncounted++;
	}
	/* at least the addresses asked for fit; the rest get in uncounted */
	assert_true(counted >= 10);
	assert_true(uncounted > 0);
	net_peer_limit_destroy(&l);
}

static bool match4(const struct net_peer_networks *nets, const char *ip)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	assert_int_equal(inet_pton(AF_INET, ip, &sin.sin_addr), 1);
	return net_peer_networks_match(nets, (struct sockaddr *)&sin, sizeof(sin));
}

static bool match6(const struct net_peer_networks *nets, const char *ip)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6.sin6_addr), 1);
	return net_peer_networks_match(nets, (struct sockaddr *)&sin6, sizeof(sin6));
}

static void test_exempt_networks(void **state ATTR_UNUSED)
{
	struct net_peer_networks *nets;
	char *error;

	assert_int_equal(net_peer_networks_parse("127.0.0.0/8 ::1, 10.1.2.0/23,2001:db8::/33",
						 &nets, &error), 0);
	assert_true(match4(nets, "127.4.5.6"));
	assert_false(match4(nets, "128.0.0.1"));
	assert_true(match4(nets, "10.1.3.255"));
	assert_false(match4(nets, "10.1.4.0"));
	assert_true(match6(nets, "::ffff:127.0.0.1"));
	assert_true(match6(nets, "::1"));
	assert_false(match6(nets, "::2"));
	assert_true(match6(nets, "2001:db8:7fff::1"));
	assert_false(match6(nets, "2001:db8:8000::1"));
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	assert_false(net_peer_networks_match(nets, (struct sockaddr *)&sun, sizeof(sun)));
	net_peer_networks_free(&nets);
	assert_null(nets);

	/* empty: nothing matches */
	assert_int_equal(net_peer_networks_parse("", &nets, &error), 0);
	assert_false(match4(nets, "127.0.0.1"));
	net_peer_networks_free(&nets);
	assert_false(match4(NULL, "127.0.0.1"));

	static const char *const bad[] = { "127.0.0.0/33", "localhost", "::1/129", "1.2.3.4/x",
					   "10.0.0.0/8 nonsense" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		assert_int_equal(net_peer_networks_parse(bad[i], &nets, &error), -1);
		assert_non_null(strstr(error, "invalid network"));
		free(error);
	}
}

/* A process that dies holding the lock does not block the others. */
static void test_shm_lock_owner_dies(void **state ATTR_UNUSED)
{
	struct shm *shm = shm_create(sizeof(int));
	int *data = shm_data(shm);
	assert_int_equal(shm_size(shm), sizeof(int));
	assert_false(shm_lock(shm));
	*data = 1;
	shm_unlock(shm);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		(void)shm_lock(shm);
		*data = 2;
		_exit(0);	/* still holding it */
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(shm_lock(shm));	/* the owner died */
	assert_int_equal(*data, 2);
	shm_unlock(shm);
	assert_false(shm_lock(shm));
	shm_unlock(shm);
	shm_destroy(&shm);
	assert_null(shm);
}

/* A worker killed at any moment, even inside the shared lock in the
 * middle of an update: once the supervisor has given its share back, no
 * address keeps a count (a stale one would refuse that address until a
 * restart) and every address can be counted again. */
static void test_worker_killed_mid_update(void **state ATTR_UNUSED)
{
	enum { KEYS = 64, ROUNDS = 1000 };
	struct net_peer_limit *l = net_peer_limit_create(KEYS * 4, 2);
	static struct net_peer_key keys[KEYS];
	char ip[32];
	for (unsigned int i = 0; i < KEYS; i++) {
		/* few slots, long probe chains: deletions shift entries */
		snprintf(ip, sizeof(ip), "192.0.2.%u", i);
		keys[i] = key4(ip);
	}
	for (unsigned int round = 0; round < ROUNDS; round++) {
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			unsigned int x = round * 2654435761u + 1;
			for (;;) {
				x = x * 1103515245u + 12345u;
				const struct net_peer_key *k = &keys[(x >> 8) % KEYS];
				if ((x >> 20) % 2 == 0)
					(void)net_peer_limit_add(l, 1, k, 1000);
				else
					net_peer_limit_remove(l, 1, k);
			}
		}
		usleep(200 + (round * 37) % 800);
		kill(pid, SIGKILL);
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		(void)net_peer_limit_release_worker(l, 1);
		for (unsigned int i = 0; i < KEYS; i++) {
			if (net_peer_limit_count(l, &keys[i]) != 0)
				fail_msg("round %u: %u stale connection(s) counted for key %u",
					 round, net_peer_limit_count(l, &keys[i]), i);
		}
	}
	for (unsigned int i = 0; i < KEYS; i++) {
		assert_int_equal(net_peer_limit_add(l, 0, &keys[i], 1), 1);
		assert_int_equal(net_peer_limit_count(l, &keys[i]), 1);
	}
	net_peer_limit_destroy(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_shared_across_fork),
		cmocka_unit_test(test_many_addresses),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_worker_killed_mid_update),
		cmocka_unit_test(test_exempt_networks),
		cmocka_unit_test(test_shm_lock_owner_dies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
