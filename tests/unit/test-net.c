/* test-net.c: timers, jobs, watches, connections (echo, pause/resume,
 * close-after-flush, drained, idle timeout, STARTTLS) on a hand-driven
 * worker loop, and net_serve() in single-process and supervisor mode
 * with a tiny line protocol, started in a forked child. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/base.h"
#include "base/log.h"
#include "conf/conf.h"
#include "net/net-private.h"

/* ---- helpers ---- */

static char tmpdir[64];
static char *cert_pem, *key_pem;
static size_t cert_len, key_len;

static char *bio_to_str(BIO *bio, size_t *len_r)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	char *s = xstrndup(data, (size_t)len);
	*len_r = (size_t)len;
	BIO_free(bio);
	return s;
}

/* A self-signed P-256 certificate for `cn`, as PEM (allocated). */
static void gen_cert(const char *cn, char **cert_r, size_t *cert_len_r, char **key_r,
		     size_t *key_len_r)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	assert_non_null(key);
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
				   -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(bio, x);
	*cert_r = bio_to_str(bio, cert_len_r);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
	*key_r = bio_to_str(bio, key_len_r);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void make_cert(void)
{
	if (cert_pem == NULL)
		gen_cert("localhost", &cert_pem, &cert_len, &key_pem, &key_len);
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write_full(fd, data, len), 0);
	close(fd);
}

static struct net_timer *guard_timer;
static bool guard_fired;

static void guard_cb(void *ctx ATTR_UNUSED)
{
	guard_fired = true;
	net_worker_stop();
}

/* Runs the loop until a test calls net_worker_stop(); fails after 10 s. */
static void run_loop(void)
{
	guard_fired = false;
	guard_timer = net_timer_create(10000, false, guard_cb, NULL);
	assert_int_equal(net_worker_run(), 0);
	net_timer_destroy(&guard_timer);
	assert_false(guard_fired);
}

static int setup(void **state ATTR_UNUSED)
{
	net_worker_init();
	return 0;
}

static int teardown(void **state ATTR_UNUSED)
{
	assert_int_equal(net_worker_connection_count(), 0);
	net_worker_set_tls_ctx(NULL);
	net_worker_deinit();
	assert_null(net_worker_base());
	return 0;
}

static void socketpair_nb(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
}

/* ---- timers ---- */

static unsigned int repeat_count, once_count;
static struct net_timer *repeat_timer;

static void repeat_cb(void *ctx ATTR_UNUSED)
{
	if (++repeat_count == 3) {
		/* destroying a timer from its own callback is allowed */
		net_timer_destroy(&repeat_timer);
		net_worker_stop();
	}
}

static void once_cb(void *ctx)
{
	once_count++;
	assert_ptr_equal(ctx, &once_count);
}

static void test_timers(void **state ATTR_UNUSED)
{
	repeat_count = once_count = 0;
	uint64_t start = time_monotonic_ms();
	struct net_timer *once = net_timer_create(5, false, once_cb, &once_count);
	struct net_timer *never = net_timer_create(60000, false, once_cb, NULL);
	repeat_timer = net_timer_create(20, true, repeat_cb, NULL);
	run_loop();
	uint64_t elapsed = time_monotonic_ms() - start;
	bool repeat_gone = repeat_timer == NULL;
	/* free before asserting: a failure here must not leave timers that
	 * the forked servers of later tests inherit (and report as leaks) */
	if (repeat_timer != NULL)
		net_timer_destroy(&repeat_timer);
	net_timer_destroy(&once);
	net_timer_destroy(&never);
	assert_null(never);
	assert_int_equal(repeat_count, 3);
	assert_int_equal(once_count, 1);
	/* three 20 ms periods; libevent's clock may be a few ms coarser
	 * than ours, so allow for that rather than fail at random */
	assert_true(elapsed >= 45);
	assert_true(repeat_gone);
}

/* ---- jobs ---- */

struct job_ctx {
	pthread_t loop_thread, work_thread, done_thread;
	bool work_ran, done_ran;
	int *pending;
};

static void job_work(void *ctx)
{
	struct job_ctx *job = ctx;
	job->work_thread = pthread_self();
	job->work_ran = true;
	usleep(10000);
}

static void job_done(void *ctx)
{
	struct job_ctx *job = ctx;
	assert_true(job->work_ran);
	job->done_thread = pthread_self();
	job->done_ran = true;
	if (job->pending != NULL && --*job->pending == 0)
		net_worker_stop();
}

static void test_jobs_inline(void **state ATTR_UNUSED)
{
	/* no loop: work and done run before net_job_run returns */
	net_worker_deinit();
	assert_null(net_worker_base());
	struct job_ctx job = { .loop_thread = pthread_self() };
	net_job_run(job_work, job_done, &job);
	assert_true(job.done_ran);
	assert_true(pthread_equal(job.work_thread, pthread_self()));
	net_worker_init();
}

static void test_jobs_pool(void **state ATTR_UNUSED)
{
	struct job_ctx jobs[8];
	int pending = (int)N_ELEMENTS(jobs);
	memset(jobs, 0, sizeof(jobs));
	for (size_t i = 0; i < N_ELEMENTS(jobs); i++) {
		jobs[i].pending = &pending;
		net_job_run(job_work, job_done, &jobs[i]);
		assert_false(jobs[i].done_ran);
	}
	run_loop();
	assert_int_equal(pending, 0);
	for (size_t i = 0; i < N_ELEMENTS(jobs); i++) {
		assert_true(jobs[i].done_ran);
		assert_false(pthread_equal(jobs[i].work_thread, pthread_self()));
		assert_true(pthread_equal(jobs[i].done_thread, pthread_self()));
	}
	/* done still runs for a job queued right before the pool stops */
	struct job_ctx last = { 0 };
	net_job_run(job_work, job_done, &last);
	net_job_deinit();
	assert_true(last.done_ran);
}

static struct job_ctx chained_next;

/* a done that queues the next job, as a store request's done starts the
 * next request of its store */
static void job_done_chain(void *ctx)
{
	job_done(ctx);
	net_job_run(job_work, job_done, &chained_next);
}

static void test_jobs_chained_at_deinit(void **state ATTR_UNUSED)
{
	struct job_ctx first = { 0 };
	memset(&chained_next, 0, sizeof(chained_next));
	net_job_run(job_work, job_done_chain, &first);
	net_job_deinit();
	assert_true(first.done_ran);
	/* queued by a done while the pool stopped: it still runs */
	assert_true(chained_next.work_ran);
	assert_true(chained_next.done_ran);
}

/* ---- watches of readable descriptors ---- */

struct watch_state {
	int fd;
	unsigned int calls;
	struct net_watch *watch;
	bool destroy_in_cb;
};

static void watch_cb(void *ctx)
{
	struct watch_state *ws = ctx;
	char buf[64];
	ws->calls++;
	while (read(ws->fd, buf, sizeof(buf)) > 0)
		;
	if (ws->destroy_in_cb)
		net_watch_destroy(&ws->watch);
}

static void watch_stop(void *ctx ATTR_UNUSED)
{
	net_worker_stop();
}

static void watch_run(unsigned int msecs)
{
	struct net_timer *t = net_timer_create(msecs, false, watch_stop, NULL);
	run_loop();
	net_timer_destroy(&t);
}

static void test_watches(void **state ATTR_UNUSED)
{
	int now[2], later[2];
	assert_int_equal(pipe2(now, O_NONBLOCK), 0);
	assert_int_equal(pipe2(later, O_NONBLOCK), 0);
	struct watch_state at_once = { .fd = now[0] };
	struct watch_state delayed = { .fd = later[0] };
	at_once.watch = net_watch_create(now[0], 0, watch_cb, &at_once);
	delayed.watch = net_watch_create(later[0], 100, watch_cb, &delayed);

	/* nothing to read: no call */
	watch_run(50);
	assert_int_equal(at_once.calls, 0);
	assert_int_equal(delayed.calls, 0);

	/* writes spread over the delay are one call */
	assert_int_equal(write(now[1], "a", 1), 1);
	assert_int_equal(write(later[1], "a", 1), 1);
	watch_run(30);
	assert_int_equal(at_once.calls, 1);
	assert_int_equal(delayed.calls, 0);
	assert_int_equal(write(later[1], "b", 1), 1);
	watch_run(150);
	assert_int_equal(delayed.calls, 1);

	/* it listens again after a call; a callback may destroy its watch */
	delayed.destroy_in_cb = true;
	assert_int_equal(write(later[1], "c", 1), 1);
	watch_run(150);
	assert_int_equal(delayed.calls, 2);
	assert_null(delayed.watch);

	/* a destroyed watch is quiet */
	net_watch_destroy(&at_once.watch);
	assert_null(at_once.watch);
	assert_int_equal(write(now[1], "d", 1), 1);
	watch_run(30);
	assert_int_equal(at_once.calls, 1);
	for (size_t i = 0; i < 2; i++) {
		close(now[i]);
		close(later[i]);
	}
}

/* ---- connections ---- */

struct pair {
	struct net_conn *server, *client;
	struct str_buf {
		char data[4096];
		size_t len;
	} got;
	size_t client_bytes, expect_bytes;
	unsigned int server_inputs, drained;
	char server_reason[128], client_reason[128];
	bool pause_once, server_tls_ready;
};

static struct pair pair;

static void server_echo_input(struct net_conn *conn, void *ctx ATTR_UNUSED)
{
	pair.server_inputs++;
	if (pair.pause_once) {
		/* leave the input buffered and pause: resume must call us again */
		pair.pause_once = false;
		net_conn_input_pause(conn, true);
		return;
	}
	size_t len;
	const unsigned char *data = net_conn_input(conn, SIZE_MAX, &len);
	assert_non_null(data);
	assert_int_equal(len, net_conn_input_len(conn));
	net_conn_write(conn, data, len);
	net_conn_input_skip(conn, len);
	assert_int_equal(net_conn_input_len(conn), 0);
}

static void server_closed(struct net_conn *conn, void *ctx ATTR_UNUSED, const char *reason)
{
	assert_ptr_equal(conn, pair.server);
	snprintf(pair.server_reason, sizeof(pair.server_reason), "%s", reason);
	net_conn_destroy(&pair.server);
	if (pair.client == NULL)
		net_worker_stop();
}

static void server_drained(struct net_conn *conn ATTR_UNUSED, void *ctx ATTR_UNUSED)
{
	pair.drained++;
}

static void client_input(struct net_conn *conn, void *ctx ATTR_UNUSED)
{
	size_t len;
	const unsigned char *data;
	while ((data = net_conn_input(conn, 65536, &len)) != NULL) {
		if (pair.expect_bytes == 0) {
			size_t n = ROOST_MIN(len, sizeof(pair.got.data) - 1 - pair.got.len);
			memcpy(pair.got.data + pair.got.len, data, n);
			pair.got.len += n;
			pair.got.data[pair.got.len] = '\0';
		}
		pair.client_bytes += len;
		net_conn_input_skip(conn, len);
	}
	if (pair.expect_bytes == 0 && strstr(pair.got.data, "hello world\n") != NULL) {
		/* echo complete: hang up; the server sees the EOF */
		net_conn_destroy(&pair.client);
	}
}

static void client_closed(struct net_conn *conn, void *ctx ATTR_UNUSED, const char *reason)
{
	assert_ptr_equal(conn, pair.client);
	snprintf(pair.client_reason, sizeof(pair.client_reason), "%s", reason);
	net_conn_destroy(&pair.client);
	if (pair.server == NULL)
		net_worker_stop();
}

static const struct net_conn_callbacks server_cb = {
	.input = server_echo_input,
	.closed = server_closed,
	.drained = server_drained,
};
static const struct net_conn_callbacks client_cb = {
	.input = client_input,
	.closed = client_closed,
};

static void pair_create(void)
{
	int sv[2];
	memset(&pair, 0, sizeof(pair));
	socketpair_nb(sv);
	pair.server = net_conn_create(sv[0], NULL, 0, false, NULL);
	pair.client = net_conn_create(sv[1], NULL, 0, false, NULL);
	net_conn_set_callbacks(pair.server, &server_cb, NULL);
	net_conn_set_callbacks(pair.client, &client_cb, NULL);
}

static void test_conn_echo(void **state ATTR_UNUSED)
{
	pair_create();
	assert_int_equal(net_worker_connection_count(), 2);
	assert_string_equal(net_conn_remote_ip(pair.server), "local");
	assert_true(net_conn_is_local(pair.server));
	assert_false(net_conn_is_tls(pair.server));
	assert_false(net_conn_can_starttls(pair.server));
	assert_int_equal(net_conn_starttls(pair.server), -1);
	assert_string_not_equal(net_conn_id(pair.server), net_conn_id(pair.client));
	assert_true(strlen(net_conn_id(pair.server)) >= 5);

	net_conn_write(pair.client, "hello ", 6);
	net_conn_printf(pair.client, "%s\n", "world");
	assert_int_equal(net_conn_output_len(pair.client), 12);
	run_loop();
	assert_string_equal(pair.got.data, "hello world\n");
	assert_null(pair.client);
	assert_null(pair.server);
	assert_string_equal(pair.server_reason, "disconnected");
	assert_int_equal(net_worker_connection_count(), 0);
}

static void close_fd_cb(void *ctx)
{
	int *fd = ctx;
	close(*fd);
	*fd = -1;
}

static void check_paused(void *ctx ATTR_UNUSED)
{
	/* paused from the start: nothing was delivered, but the socket was
	 * read ahead (so that the end of the connection would be seen) */
	assert_int_equal(pair.server_inputs, 0);
	assert_int_equal(net_conn_input_len(pair.server), 12);
	net_conn_input_pause(pair.server, false);
}

static void check_paused_buffered(void *ctx ATTR_UNUSED)
{
	/* paused inside the callback: the input stayed buffered */
	assert_int_equal(pair.server_inputs, 1);
	assert_int_equal(net_conn_input_len(pair.server), 12);
	net_conn_input_pause(pair.server, false);
}

static void test_conn_pause_resume(void **state ATTR_UNUSED)
{
	pair_create();
	net_conn_input_pause(pair.server, true);
	net_conn_write(pair.client, "hello world\n", 12);
	struct net_timer *t = net_timer_create(100, false, check_paused, NULL);
	run_loop();
	net_timer_destroy(&t);
	assert_string_equal(pair.got.data, "hello world\n");
	assert_int_equal(pair.server_inputs, 1);

	pair_create();
	pair.pause_once = true;
	net_conn_write(pair.client, "hello world\n", 12);
	t = net_timer_create(100, false, check_paused_buffered, NULL);
	run_loop();
	net_timer_destroy(&t);
	assert_string_equal(pair.got.data, "hello world\n");
	assert_int_equal(pair.server_inputs, 2);
}

/* A paused connection whose client only shut down its sending side: the
 * EOF waits until the input is resumed and delivered, and the answers to
 * it are flushed before the close. */
static int half_fd = -1;

static void check_paused_eof(void *ctx ATTR_UNUSED)
{
	assert_string_equal(pair.server_reason, "");
	assert_int_equal(pair.server_inputs, 0);
	assert_int_equal(net_conn_input_len(pair.server), 12);
	net_conn_input_pause(pair.server, false);
}

static void half_server_closed(struct net_conn *conn, void *ctx ATTR_UNUSED,
			       const char *reason)
{
	assert_ptr_equal(conn, pair.server);
	snprintf(pair.server_reason, sizeof(pair.server_reason), "%s", reason);
	net_conn_destroy(&pair.server);
	net_worker_stop();
}

/* pair.server, paused from the start, on sv[0]; sv[1] is a raw socket */
static void paused_server_create(int sv[2])
{
	static const struct net_conn_callbacks cb = {
		.input = server_echo_input,
		.closed = half_server_closed,
	};
	memset(&pair, 0, sizeof(pair));
	socketpair_nb(sv);
	pair.server = net_conn_create(sv[0], NULL, 0, false, NULL);
	net_conn_set_callbacks(pair.server, &cb, NULL);
	net_conn_input_pause(pair.server, true);
}

static void test_conn_paused_eof_after_input(void **state ATTR_UNUSED)
{
	int sv[2];
	paused_server_create(sv);
	half_fd = sv[1];
	assert_int_equal(write(half_fd, "hello world\n", 12), 12);
	assert_int_equal(shutdown(half_fd, SHUT_WR), 0);
	struct net_timer *t = net_timer_create(100, false, check_paused_eof, NULL);
	run_loop();
	net_timer_destroy(&t);
	assert_int_equal(pair.server_inputs, 1);
	assert_string_equal(pair.server_reason, "disconnected");
	char buf[64];
	ssize_t n = read(half_fd, buf, sizeof(buf));
	assert_int_equal(n, 12);
	assert_memory_equal(buf, "hello world\n", 12);
	assert_int_equal(read(half_fd, buf, sizeof(buf)), 0);
	close(half_fd);
}

/* A connection that fails while paused is reported at once, not when the
 * input is resumed: a long command is abandoned then. */
static void check_reset_while_paused(void *ctx ATTR_UNUSED)
{
	/* still paused: the timer stops the loop if nothing came */
	net_worker_stop();
}

static void test_conn_paused_reset(void **state ATTR_UNUSED)
{
	int sv[2];
	paused_server_create(sv);
	/* the peer closes with our bytes unread: ECONNRESET (AF_UNIX too) */
	net_conn_write(pair.server, "unread\n", 7);
	struct net_timer *t = net_timer_create(2000, false, check_reset_while_paused, NULL);
	struct net_timer *c = net_timer_create(50, false, close_fd_cb, &sv[1]);
	run_loop();
	net_timer_destroy(&t);
	net_timer_destroy(&c);
	assert_int_equal(pair.server_inputs, 0);
	assert_string_equal(pair.server_reason, "connection reset by peer");
	assert_null(pair.server);
}

static void test_conn_close_after_flush(void **state ATTR_UNUSED)
{
	pair_create();
	pair.expect_bytes = 1024 * 1024;
	net_conn_set_low_watermark(pair.server, 4096);
	char *big = xmalloc(pair.expect_bytes);
	memset(big, 'x', pair.expect_bytes);
	net_conn_write(pair.server, big, pair.expect_bytes);
	free(big);
	net_conn_close(pair.server);
	/* a second close is a no-op */
	net_conn_close(pair.server);
	run_loop();
	assert_int_equal(pair.client_bytes, pair.expect_bytes);
	assert_string_equal(pair.server_reason, "closed by server");
	assert_string_equal(pair.client_reason, "disconnected");
}

static void test_conn_drained(void **state ATTR_UNUSED)
{
	pair_create();
	pair.expect_bytes = 512 * 1024;
	net_conn_set_low_watermark(pair.server, 1000);
	char *big = xmalloc(pair.expect_bytes);
	memset(big, 'y', pair.expect_bytes);
	net_conn_write(pair.server, big, pair.expect_bytes);
	free(big);
	/* a write below the mark does not make drained fire */
	net_conn_write(pair.client, "abc", 3);
	struct net_timer *t = net_timer_create(300, false, watch_stop, NULL);
	run_loop();
	net_timer_destroy(&t);
	assert_int_equal(pair.client_bytes, pair.expect_bytes + 3);
	/* once from above the mark to below it */
	assert_int_equal(pair.drained, 1);
	assert_int_equal(net_conn_output_len(pair.server), 0);
	net_conn_destroy(&pair.server);
	net_conn_destroy(&pair.client);
}

static void test_conn_idle_timeout(void **state ATTR_UNUSED)
{
	pair_create();
	net_conn_set_idle_timeout(pair.server, 1);
	uint64_t start = time_monotonic_ms();
	/* the client stays: only the server's closed stops the loop */
	struct net_conn *client = pair.client;
	pair.client = NULL;
	run_loop();
	net_conn_destroy(&client);
	assert_string_equal(pair.server_reason, "timeout");
	assert_true(time_monotonic_ms() - start >= 900);
}

static unsigned int client_closed_count;

static void destroy_self_input(struct net_conn *conn, void *ctx ATTR_UNUSED)
{
	assert_ptr_equal(conn, pair.server);
	/* output queued before destroy is dropped with the connection */
	net_conn_write(conn, "never", 5);
	net_conn_destroy(&pair.server);
}

static void destroy_self_drained(struct net_conn *conn, void *ctx ATTR_UNUSED)
{
	assert_ptr_equal(conn, pair.server);
	pair.drained++;
	net_conn_destroy(&pair.server);
}

static void count_client_closed(struct net_conn *conn, void *ctx, const char *reason)
{
	client_closed_count++;
	client_closed(conn, ctx, reason);
	/* the server is already gone */
	net_worker_stop();
}

static void test_conn_destroy_in_callbacks(void **state ATTR_UNUSED)
{
	static const struct net_conn_callbacks destroy_input_cb = {
		.input = destroy_self_input,
	};
	static const struct net_conn_callbacks destroy_drained_cb = {
		.input = server_echo_input,
		.drained = destroy_self_drained,
	};
	static const struct net_conn_callbacks counting_client_cb = {
		.input = client_input,
		.closed = count_client_closed,
	};

	/* from the input callback */
	pair_create();
	client_closed_count = 0;
	net_conn_set_callbacks(pair.server, &destroy_input_cb, NULL);
	net_conn_set_callbacks(pair.client, &counting_client_cb, NULL);
	net_conn_write(pair.client, "x", 1);
	run_loop();
	assert_null(pair.server);
	assert_null(pair.client);
	assert_int_equal(client_closed_count, 1);
	assert_int_equal(pair.client_bytes, 0);

	/* from the drained callback */
	pair_create();
	client_closed_count = 0;
	net_conn_set_callbacks(pair.server, &destroy_drained_cb, NULL);
	net_conn_set_callbacks(pair.client, &counting_client_cb, NULL);
	net_conn_write(pair.server, "data", 4);
	run_loop();
	assert_null(pair.server);
	assert_int_equal(pair.drained, 1);
	assert_int_equal(client_closed_count, 1);
	assert_int_equal(pair.client_bytes, 4);
}

/* ---- STARTTLS ---- */

struct tls_client {
	int fd;
	char plain_reply[64];
	char tls_reply[64];
	bool ok;
	/* the channel bindings as the client computes them */
	unsigned char exporter[32], end_point[EVP_MAX_MD_SIZE];
	unsigned int end_point_len;
};
/* ... and as the server's connection gives them (RFC 9266, RFC 5929) */
static unsigned char tls_server_exporter[64], tls_server_end_point[64];
static size_t tls_server_exporter_len, tls_server_end_point_len;

static int read_line_fd(int fd, char *buf, size_t size)
{
	size_t len = 0;
	while (len + 1 < size) {
		char c;
		ssize_t n = read(fd, &c, 1);
		if (n <= 0)
			return -1;
		buf[len++] = c;
		if (c == '\n')
			break;
	}
	buf[len] = '\0';
	return (int)len;
}

static int ssl_read_line(SSL *ssl, char *buf, size_t size)
{
	size_t len = 0;
	while (len + 1 < size) {
		char c;
		if (SSL_read(ssl, &c, 1) <= 0)
			return -1;
		buf[len++] = c;
		if (c == '\n')
			break;
	}
	buf[len] = '\0';
	return (int)len;
}

static SSL_CTX *client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

static void *tls_client_thread(void *arg)
{
	struct tls_client *c = arg;
	/* the injected line must be dropped by the server (RFC 9051 6.2.1) */
	static const char req[] = "STARTTLS\nINJECT\n";
	if (write_full(c->fd, req, sizeof(req) - 1) < 0 ||
	    read_line_fd(c->fd, c->plain_reply, sizeof(c->plain_reply)) < 0)
		return NULL;
	SSL_CTX *ctx = client_ctx();
	SSL *ssl = SSL_new(ctx);
	SSL_set_fd(ssl, c->fd);
	if (SSL_connect(ssl) == 1 && SSL_write(ssl, "PING\n", 5) == 5 &&
	    ssl_read_line(ssl, c->tls_reply, sizeof(c->tls_reply)) > 0)
		c->ok = true;
	if (SSL_export_keying_material(ssl, c->exporter, sizeof(c->exporter),
				       "EXPORTER-Channel-Binding", 24, NULL, 0, 0) != 1)
		c->ok = false;
	X509 *peer = SSL_get1_peer_certificate(ssl);
	if (peer == NULL || X509_digest(peer, EVP_sha256(), c->end_point, &c->end_point_len) != 1)
		c->ok = false;
	X509_free(peer);
	SSL_shutdown(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(c->fd);
	return NULL;
}

static void tls_server_input(struct net_conn *conn, void *ctx ATTR_UNUSED)
{
	size_t len;
	const unsigned char *data;
	while ((data = net_conn_input(conn, SIZE_MAX, &len)) != NULL) {
		const unsigned char *nl = memchr(data, '\n', len);
		if (nl == NULL)
			return;
		size_t line_len = (size_t)(nl - data);
		char line[64];
		snprintf(line, sizeof(line), "%.*s", (int)line_len, data);
		net_conn_input_skip(conn, line_len + 1);
		pair.server_inputs++;
		if (strcmp(line, "STARTTLS") == 0) {
			assert_true(net_conn_can_starttls(conn));
			net_conn_write(conn, "OK\n", 3);
			assert_int_equal(net_conn_starttls(conn), 0);
			/* the rest of the plaintext is gone */
			assert_int_equal(net_conn_input_len(conn), 0);
		} else if (strcmp(line, "PING") == 0) {
			assert_true(pair.server_tls_ready);
			tls_server_exporter_len = net_conn_tls_channel_binding(
				conn, NET_TLS_BINDING_EXPORTER, tls_server_exporter,
				sizeof(tls_server_exporter));
			tls_server_end_point_len = net_conn_tls_channel_binding(
				conn, NET_TLS_BINDING_SERVER_END_POINT, tls_server_end_point,
				sizeof(tls_server_end_point));
			/* no client certificate, no tls_client_ca */
			assert_null(net_conn_tls_cert_user(conn));
			net_conn_printf(conn, "PONG tls=%d\n", net_conn_is_tls(conn) ? 1 : 0);
		} else {
			net_conn_printf(conn, "unexpected %s\n", line);
		}
	}
}

static void tls_server_ready(struct net_conn *conn, void *ctx ATTR_UNUSED)
{
	assert_true(net_conn_is_tls(conn));
	assert_false(net_conn_can_starttls(conn));
	pair.server_tls_ready = true;
}

static void tls_server_closed(struct net_conn *conn, void *ctx ATTR_UNUSED, const char *reason)
{
	snprintf(pair.server_reason, sizeof(pair.server_reason), "%s", reason);
	net_conn_destroy(&conn);
	pair.server = NULL;
	net_worker_stop();
}

static void test_conn_starttls(void **state ATTR_UNUSED)
{
	make_cert();
	char *error = NULL;
	SSL_CTX *ctx = net_tls_ctx_create(cert_pem, cert_len, key_pem, key_len, &error);
	assert_null(error);
	assert_non_null(ctx);
	net_worker_set_tls_ctx(ctx);
	SSL_CTX_free(ctx);

	static const struct net_conn_callbacks cb = {
		.input = tls_server_input,
		.closed = tls_server_closed,
		.tls_ready = tls_server_ready,
	};
	int sv[2];
	memset(&pair, 0, sizeof(pair));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	pair.server = net_conn_create(sv[0], NULL, 0, true, NULL);
	net_conn_set_callbacks(pair.server, &cb, NULL);
	assert_true(net_conn_can_starttls(pair.server));

	struct tls_client client = { .fd = sv[1] };
	pthread_t thread;
	/* before TLS: no channel binding */
	unsigned char binding[64];
	assert_int_equal(net_conn_tls_channel_binding(pair.server, NET_TLS_BINDING_EXPORTER,
						      binding, sizeof(binding)), 0);
	assert_null(net_conn_tls_cert_user(pair.server));
	assert_int_equal(pthread_create(&thread, NULL, tls_client_thread, &client), 0);
	run_loop();
	pthread_join(thread, NULL);
	assert_true(client.ok);
	/* both ends agree on the bindings (the test certificate is signed
	 * with SHA-256, so tls-server-end-point is its SHA-256) */
	assert_int_equal(tls_server_exporter_len, 32);
	assert_memory_equal(tls_server_exporter, client.exporter, 32);
	assert_int_equal(tls_server_end_point_len, client.end_point_len);
	assert_memory_equal(tls_server_end_point, client.end_point, client.end_point_len);
	assert_string_equal(client.plain_reply, "OK\n");
	assert_string_equal(client.tls_reply, "PONG tls=1\n");
	assert_true(pair.server_tls_ready);
	/* STARTTLS and PING: INJECT never reached the protocol */
	assert_int_equal(pair.server_inputs, 2);
	assert_string_equal(pair.server_reason, "disconnected");
}

static void test_tls_ctx_errors(void **state ATTR_UNUSED)
{
	make_cert();
	char *error = NULL;
	assert_null(net_tls_ctx_create("junk", 4, key_pem, key_len, &error));
	assert_non_null(strstr(error, "no certificate"));
	free(error);
	assert_null(net_tls_ctx_create(cert_pem, cert_len, "junk", 4, &error));
	assert_non_null(strstr(error, "no private key"));
	free(error);

	/* another key: does not match the certificate */
	EVP_PKEY *other = EVP_EC_gen("P-256");
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, other, NULL, NULL, 0, NULL, NULL);
	size_t other_len;
	char *other_pem = bio_to_str(bio, &other_len);
	EVP_PKEY_free(other);
	assert_null(net_tls_ctx_create(cert_pem, cert_len, other_pem, other_len, &error));
	assert_non_null(strstr(error, "does not match"));
	free(error);
	free(other_pem);

	struct net_tls_pem pem;
	assert_int_equal(net_tls_pem_load("/nonexistent/cert.pem", "/nonexistent/key.pem",
					  &pem, NULL, &error), -1);
	assert_non_null(strstr(error, "/nonexistent/cert.pem"));
	free(error);
}

/* ---- net_serve with a tiny line protocol ---- */

#define TEST_MAX_SESSIONS 64
static struct net_conn *sessions[TEST_MAX_SESSIONS];
static char reload_dir[128];
/* a session that takes every free file descriptor (one that needs more
 * than net budgets for it), given back when it closes */
static bool proto_hog_fds;
static int hog_fds[4096];
static size_t hog_count;

static void proto_closed(struct net_conn *conn, void *ctx, const char *reason ATTR_UNUSED)
{
	struct net_conn **slot = ctx;
	net_conn_destroy(slot);
	(void)conn;
	while (hog_count > 0)
		close(hog_fds[--hog_count]);
}

static const char *proto_refusal(enum net_refusal why)
{
	return why == NET_REFUSAL_BUSY ? "* BYE busy\r\n" : "* BYE address\r\n";
}

static void proto_input(struct net_conn *conn, void *ctx ATTR_UNUSED)
{
	size_t len;
	const unsigned char *data;
	while ((data = net_conn_input(conn, 1024, &len)) != NULL) {
		const unsigned char *nl = memchr(data, '\n', len);
		if (nl == NULL)
			return;
		size_t line_len = (size_t)(nl - data);
		net_conn_printf(conn, "ECHO %.*s\r\n", (int)line_len, data);
		net_conn_input_skip(conn, line_len + 1);
	}
}

static void proto_accept(struct net_conn *conn, const struct roost_config *config ATTR_UNUSED)
{
	size_t i;
	for (i = 0; i < TEST_MAX_SESSIONS && sessions[i] != NULL; i++)
		;
	if (i == TEST_MAX_SESSIONS) {
		net_conn_destroy(&conn);
		return;
	}
	sessions[i] = conn;
	static const struct net_conn_callbacks cb = {
		.input = proto_input,
		.closed = proto_closed,
	};
	net_conn_set_callbacks(conn, &cb, &sessions[i]);
	if (proto_hog_fds && hog_count == 0) {
		int fd;
		while (hog_count < N_ELEMENTS(hog_fds) &&
		       (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
			hog_fds[hog_count++] = fd;
	}
	net_conn_printf(conn, "* OK hello pid=%d tls=%d local=%d\r\n", (int)getpid(),
			net_conn_is_tls(conn) ? 1 : 0, net_conn_is_local(conn) ? 1 : 0);
}

static void proto_reload(void)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/reload-%d", reload_dir, (int)getpid());
	write_file(path, "1", 1);
}

static void proto_shutdown(void)
{
	for (size_t i = 0; i < TEST_MAX_SESSIONS; i++) {
		if (sessions[i] != NULL) {
			net_conn_printf(sessions[i], "* BYE shutting down\r\n");
			net_conn_close(sessions[i]);
		}
	}
}

static const struct net_protocol test_protocols[] = {
	{ .name = "other" },
	{ .name = "test", .accept = proto_accept, .reload = proto_reload,
	  .shutdown = proto_shutdown, .refusal = proto_refusal },
	{ .name = NULL },
};

static unsigned int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	socklen_t len = sizeof(sin);
	getsockname(fd, (struct sockaddr *)&sin, &len);
	close(fd);
	return ntohs(sin.sin_port);
}

/* Connects to 127.0.0.1:port, retrying while the server starts. */
static int connect_port(unsigned int port)
{
	for (int tries = 0; tries < 100; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			struct timeval tv = { .tv_sec = 10 };
			setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			return fd;
		}
		close(fd);
		usleep(50000);
	}
	fail_msg("cannot connect to port %u", port);
	return -1;
}

static struct roost_config serve_config;
static struct conf_listener serve_listeners[3];
static char cert_path[128], key_path[128];

static void serve_setup(unsigned int workers, unsigned int *plain_port, unsigned int *tls_port,
			char *unix_path, size_t unix_size)
{
	make_cert();
	snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", tmpdir);
	snprintf(key_path, sizeof(key_path), "%s/key.pem", tmpdir);
	write_file(cert_path, cert_pem, cert_len);
	write_file(key_path, key_pem, key_len);
	snprintf(unix_path, unix_size, "%s/test.sock", tmpdir);
	snprintf(reload_dir, sizeof(reload_dir), "%s", tmpdir);

	*plain_port = free_port();
	*tls_port = free_port();
	serve_listeners[0] = (struct conf_listener){ .protocol = "test", .address = "127.0.0.1",
						     .port = *plain_port, .tls = CONF_TLS_STARTTLS };
	serve_listeners[1] = (struct conf_listener){ .protocol = "test", .address = "127.0.0.1",
						     .port = *tls_port, .tls = CONF_TLS_IMPLICIT };
	serve_listeners[2] = (struct conf_listener){ .protocol = "test", .address = unix_path,
						     .tls = CONF_TLS_NONE };
	serve_config = (struct roost_config){
		.user = "",
		.workers = workers,
		.log_level = "info",
		.tls_cert = cert_path,
		.tls_key = key_path,
		.listeners = serve_listeners,
		.listener_count = N_ELEMENTS(serve_listeners),
		.max_connections = 100,
	};
}

/* RLIMIT_NOFILE (soft and hard) of the server serve_start() forks; 0:
 * unchanged. */
static rlim_t serve_nofile;

static pid_t serve_start(bool single_process)
{
	/* no loop, threads or inotify may cross the fork */
	net_worker_deinit();
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* never outlive a test run that failed half-way */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		if (serve_nofile != 0) {
			struct rlimit rl = { .rlim_cur = serve_nofile, .rlim_max = serve_nofile };
			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				_exit(1);
		}
		int ret = net_serve(&serve_config, test_protocols, single_process);
		/* exit(), not _exit(): the leak checker of ASan builds runs */
		exit(ret);
	}
	net_worker_init();
	return pid;
}

static int serve_wait(pid_t pid)
{
	int status;
	for (int i = 0; i < 400; i++) {
		pid_t ret = waitpid(pid, &status, WNOHANG);
		if (ret == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	fail_msg("server did not stop");
	return -1;
}

static void read_greeting(int fd, char *buf, size_t size)
{
	assert_true(read_line_fd(fd, buf, size) > 0);
	assert_non_null(strstr(buf, "* OK hello pid="));
}

struct tls_conn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char cn[64];
};

/* Connects with TLS and reads the greeting into buf. */
static void tls_connect(struct tls_conn *c, unsigned int port, char *buf, size_t size)
{
	c->fd = connect_port(port);
	c->ctx = client_ctx();
	c->ssl = SSL_new(c->ctx);
	SSL_set_fd(c->ssl, c->fd);
	assert_int_equal(SSL_connect(c->ssl), 1);
	X509 *peer = SSL_get1_peer_certificate(c->ssl);
	assert_non_null(peer);
	X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, c->cn,
				  sizeof(c->cn));
	X509_free(peer);
	assert_true(ssl_read_line(c->ssl, buf, size) > 0);
}

static void tls_echo(struct tls_conn *c)
{
	char echo[64];
	assert_int_equal(SSL_write(c->ssl, "hi\n", 3), 3);
	assert_true(ssl_read_line(c->ssl, echo, sizeof(echo)) > 0);
	assert_string_equal(echo, "ECHO hi\r\n");
}

static void tls_close(struct tls_conn *c)
{
	SSL_shutdown(c->ssl);
	SSL_free(c->ssl);
	SSL_CTX_free(c->ctx);
	close(c->fd);
}

static void tls_greeting(unsigned int port, char *buf, size_t size)
{
	struct tls_conn c;
	tls_connect(&c, port, buf, size);
	tls_echo(&c);
	tls_close(&c);
}

static int connect_unix(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	struct timeval tv = { .tv_sec = 10 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void test_serve_single_process(void **state ATTR_UNUSED)
{
	unsigned int plain_port, tls_port;
	char unix_path[128], line[128];
	serve_setup(1, &plain_port, &tls_port, unix_path, sizeof(unix_path));
	pid_t pid = serve_start(true);

	int fd = connect_port(plain_port);
	read_greeting(fd, line, sizeof(line));
	assert_non_null(strstr(line, "tls=0 local=1"));
	assert_int_equal(write_full(fd, "a\nb\n", 4), 0);
	assert_true(read_line_fd(fd, line, sizeof(line)) > 0);
	assert_string_equal(line, "ECHO a\r\n");
	assert_true(read_line_fd(fd, line, sizeof(line)) > 0);
	assert_string_equal(line, "ECHO b\r\n");

	tls_greeting(tls_port, line, sizeof(line));
	assert_non_null(strstr(line, "tls=1 local=1"));

	int ufd = connect_unix(unix_path);
	read_greeting(ufd, line, sizeof(line));
	assert_non_null(strstr(line, "tls=0 local=1"));
	close(ufd);

	/* SIGHUP reloads the protocol in the single process */
	char reload_path[200];
	snprintf(reload_path, sizeof(reload_path), "%s/reload-%d", tmpdir, (int)pid);
	kill(pid, SIGHUP);
	for (int i = 0; i < 100 && access(reload_path, F_OK) < 0; i++)
		usleep(20000);
	assert_int_equal(access(reload_path, F_OK), 0);
	unlink(reload_path);

	/* SIGTERM: the open session gets its BYE, then the server exits 0 */
	kill(pid, SIGTERM);
	assert_true(read_line_fd(fd, line, sizeof(line)) > 0);
	assert_string_equal(line, "* BYE shutting down\r\n");
	assert_int_equal(read_line_fd(fd, line, sizeof(line)), -1);
	close(fd);
	assert_int_equal(serve_wait(pid), 0);
	/* the UNIX socket is removed */
	assert_int_equal(access(unix_path, F_OK), -1);
}

static void test_serve_max_connections(void **state ATTR_UNUSED)
{
	unsigned int plain_port, tls_port;
	char unix_path[128], line[128];
	serve_setup(1, &plain_port, &tls_port, unix_path, sizeof(unix_path));
	serve_config.max_connections = 2;
	pid_t pid = serve_start(true);

	int a = connect_port(plain_port);
	read_greeting(a, line, sizeof(line));
	int b = connect_port(plain_port);
	read_greeting(b, line, sizeof(line));
	/* the third is told and closed */
	int c = connect_port(plain_port);
	assert_true(read_line_fd(c, line, sizeof(line)) > 0);
	assert_string_equal(line, "* BYE busy\r\n");
	assert_true(read_line_fd(c, line, sizeof(line)) < 0);
	close(c);
	/* on implicit TLS without a word (no handshake spent on it) */
	c = connect_port(tls_port);
	assert_true(read_line_fd(c, line, sizeof(line)) < 0);
	close(c);
	/* a free slot serves again */
	close(a);
	usleep(100000);
	c = connect_port(plain_port);
	read_greeting(c, line, sizeof(line));
	close(b);
	close(c);
	kill(pid, SIGTERM);
	assert_int_equal(serve_wait(pid), 0);
}

/* Out of file descriptors all the same (a session took them all): new
 * clients are accepted on the spare descriptor, refused and closed, one
 * after the other, and the first session goes on working. */
static void test_serve_emfile(void **state ATTR_UNUSED)
{
	unsigned int plain_port, tls_port;
	char unix_path[128], line[128];
	serve_setup(1, &plain_port, &tls_port, unix_path, sizeof(unix_path));
	proto_hog_fds = true;
	serve_nofile = 128;
	pid_t pid = serve_start(true);
	proto_hog_fds = false;
	serve_nofile = 0;

	int a = connect_port(plain_port);
	read_greeting(a, line, sizeof(line));
	for (int i = 0; i < 3; i++) {
		int b = connect_port(plain_port);
		assert_true(read_line_fd(b, line, sizeof(line)) > 0);
		assert_string_equal(line, "* BYE busy\r\n");
		assert_true(read_line_fd(b, line, sizeof(line)) < 0);
		close(b);
	}
	assert_int_equal(write(a, "still here\n", 11), 11);
	assert_true(read_line_fd(a, line, sizeof(line)) > 0);
	assert_string_equal(line, "ECHO still here\r\n");
	/* the descriptors come back with the session */
	close(a);
	usleep(200000);
	int c = connect_port(plain_port);
	read_greeting(c, line, sizeof(line));
	close(c);
	kill(pid, SIGTERM);
	assert_int_equal(serve_wait(pid), 0);
}

static void wait_reload(int worker_pid)
{
	char path[200];
	snprintf(path, sizeof(path), "%s/reload-%d", tmpdir, worker_pid);
	for (int i = 0; i < 200 && access(path, F_OK) < 0; i++)
		usleep(20000);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
}

static void test_serve_cert_reload(void **state ATTR_UNUSED)
{
	unsigned int plain_port, tls_port;
	char unix_path[128], line[128];
	serve_setup(1, &plain_port, &tls_port, unix_path, sizeof(unix_path));
	pid_t pid = serve_start(false);

	struct tls_conn old_conn, new_conn;
	tls_connect(&old_conn, tls_port, line, sizeof(line));
	int worker_pid = atoi(strstr(line, "pid=") + 4);
	assert_string_equal(old_conn.cn, "localhost");

	/* a new certificate: new connections get it, the open one goes on */
	char *cert2, *key2;
	size_t cert2_len, key2_len;
	gen_cert("reloaded", &cert2, &cert2_len, &key2, &key2_len);
	write_file(cert_path, cert2, cert2_len);
	write_file(key_path, key2, key2_len);
	kill(pid, SIGHUP);
	wait_reload(worker_pid);
	tls_connect(&new_conn, tls_port, line, sizeof(line));
	assert_string_equal(new_conn.cn, "reloaded");
	tls_echo(&new_conn);
	tls_close(&new_conn);
	tls_echo(&old_conn);

	/* a broken file on SIGHUP: the current certificate stays */
	write_file(cert_path, "garbage", 7);
	kill(pid, SIGHUP);
	wait_reload(worker_pid);
	tls_connect(&new_conn, tls_port, line, sizeof(line));
	assert_string_equal(new_conn.cn, "reloaded");
	tls_close(&new_conn);

	tls_close(&old_conn);
	free(cert2);
	free(key2);
	kill(pid, SIGTERM);
	assert_int_equal(serve_wait(pid), 0);
}

/* As root: workers run as `nobody`, the supervisor stays root. */
static void test_serve_privileges(void **state ATTR_UNUSED)
{
	if (geteuid() != 0 || getpwnam("nobody") == NULL)
		skip();
	unsigned int plain_port, tls_port;
	char unix_path[128], line[128];
	serve_setup(1, &plain_port, &tls_port, unix_path, sizeof(unix_path));
	serve_config.user = "nobody";
	pid_t pid = serve_start(false);
	int fd = connect_port(plain_port);
	read_greeting(fd, line, sizeof(line));
	int worker_pid = atoi(strstr(line, "pid=") + 4);
	close(fd);
	struct stat st;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d", worker_pid);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, getpwnam("nobody")->pw_uid);
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	kill(pid, SIGTERM);
	assert_int_equal(serve_wait(pid), 0);

	/* a user that does not exist: a clear error, nothing served */
	serve_config.user = "roost-no-such-user";
	pid = serve_start(false);
	assert_int_equal(serve_wait(pid), 1);
}

static void test_serve_errors(void **state ATTR_UNUSED)
{
	unsigned int plain_port, tls_port;
	char unix_path[128];
	serve_setup(1, &plain_port, &tls_port, unix_path, sizeof(unix_path));
	/* missing key: fails before serving */
	serve_config.tls_key = "/nonexistent/key.pem";
	pid_t pid = serve_start(true);
	assert_int_equal(serve_wait(pid), 1);
	serve_config.tls_key = key_path;
	/* unknown protocol */
	serve_listeners[0].protocol = "nope";
	pid = serve_start(true);
	assert_int_equal(serve_wait(pid), 1);
	serve_listeners[0].protocol = "test";
	/* a regular file where the UNIX socket should be is not removed */
	write_file(unix_path, "keep", 4);
	pid = serve_start(true);
	assert_int_equal(serve_wait(pid), 1);
	assert_int_equal(access(unix_path, F_OK), 0);
	unlink(unix_path);
}

static void test_serve_supervisor(void **state ATTR_UNUSED)
{
	unsigned int plain_port, tls_port;
	char unix_path[128], line[128];
	serve_setup(2, &plain_port, &tls_port, unix_path, sizeof(unix_path));
	pid_t pid = serve_start(false);

	int fd = connect_port(plain_port);
	read_greeting(fd, line, sizeof(line));
	int worker_pid = atoi(strstr(line, "pid=") + 4);
	assert_true(worker_pid != pid);
	close(fd);
	tls_greeting(tls_port, line, sizeof(line));

	/* SIGHUP to the supervisor reaches the worker's protocol */
	char reload_path[200];
	snprintf(reload_path, sizeof(reload_path), "%s/reload-%d", tmpdir, worker_pid);
	kill(pid, SIGHUP);
	for (int i = 0; i < 100 && access(reload_path, F_OK) < 0; i++)
		usleep(20000);
	assert_int_equal(access(reload_path, F_OK), 0);
	unlink(reload_path);
	/* and new TLS connections still work with the reloaded context */
	tls_greeting(tls_port, line, sizeof(line));

	/* a crashed worker is replaced */
	kill(worker_pid, SIGKILL);
	usleep(200000);
	bool replaced = false;
	for (int i = 0; i < 60 && !replaced; i++) {
		fd = connect_port(plain_port);
		read_greeting(fd, line, sizeof(line));
		close(fd);
		int p = atoi(strstr(line, "pid=") + 4);
		assert_true(p != worker_pid);
		/* the supervisor's children: two workers again */
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "pgrep -P %d | wc -l", (int)pid);
		FILE *f = popen(cmd, "r");
		int count = 0;
		if (f != NULL) {
			if (fscanf(f, "%d", &count) != 1)
				count = 0;
			pclose(f);
		}
		replaced = count == 2;
		if (!replaced)
			usleep(100000);
	}
	assert_true(replaced);

	kill(pid, SIGTERM);
	assert_int_equal(serve_wait(pid), 0);
	assert_int_equal(access(unix_path, F_OK), -1);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	log_init("test-net", false, LOG_LEVEL_WARNING);
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/roost-test-net-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_timers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_inline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_pool, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jobs_chained_at_deinit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_echo, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_pause_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_paused_eof_after_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_paused_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_close_after_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_drained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_destroy_in_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conn_starttls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tls_ctx_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serve_single_process, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serve_max_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serve_emfile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serve_cert_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serve_privileges, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serve_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serve_supervisor, setup, teardown),
	};
	int ret = cmocka_run_group_tests(tests, NULL, NULL);
	free(cert_pem);
	free(key_pem);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		ret = 1;
	return ret;
}
