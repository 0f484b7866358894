/* test-store-request.c: store requests (store/request.h) inline and
 * through an executor whose every work runs on a thread of its own, so
 * that requests would overlap if the store did not serialise them: two
 * requests on one store never overlap, their dones come in the order
 * they were made, a request without work waits its turn, a done may make
 * the next request, requests on two stores may run side by side, a
 * request offloaded on a store that never blocks keeps later requests
 * of that store from running inline beside it, and
 * store_release_memory() waits for a done. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/request.h"
#include "store/store-private.h"

/* ---- an executor: a thread per work, dones queued for the "loop" ---- */

struct exec_job {
	store_request_func *work, *done;
	void *ctx;
	pthread_t thread;
	struct exec_job *next;
};

static pthread_mutex_t exec_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t exec_cond = PTHREAD_COND_INITIALIZER;
static struct exec_job *exec_finished;	/* LIFO; reversed when run */
static unsigned int exec_submitted, exec_completed;

static void *exec_thread(void *arg)
{
	struct exec_job *job = arg;
	job->work(job->ctx);
	pthread_mutex_lock(&exec_lock);
	job->next = exec_finished;
	exec_finished = job;
	pthread_cond_signal(&exec_cond);
	pthread_mutex_unlock(&exec_lock);
	return NULL;
}

static void exec_submit(store_request_func *work, store_request_func *done, void *ctx)
{
	struct exec_job *job = calloc(1, sizeof(*job));
	job->work = work;
	job->done = done;
	job->ctx = ctx;
	exec_submitted++;
	assert_int_equal(pthread_create(&job->thread, NULL, exec_thread, job), 0);
}

static const struct store_executor test_executor = { .submit = exec_submit };

/* The loop: waits for finished works and calls their dones until every
 * submitted work has been done. */
static void exec_run_loop(void)
{
	while (exec_completed < exec_submitted) {
		pthread_mutex_lock(&exec_lock);
		while (exec_finished == NULL)
			pthread_cond_wait(&exec_cond, &exec_lock);
		struct exec_job *job = exec_finished;
		exec_finished = job->next;
		pthread_mutex_unlock(&exec_lock);
		pthread_join(job->thread, NULL);
		exec_completed++;
		job->done(job->ctx);
		free(job);
	}
}

/* ---- stores that only carry a queue ---- */

static const struct store_vfuncs local_vfuncs = { .name = "local", .blocking = false };
static const struct store_vfuncs remote_vfuncs = { .name = "remote", .blocking = true };

/* ---- requests that record what happened ---- */

#define MAX_EVENTS 64

static struct {
	pthread_mutex_t lock;
	int inside[2];		/* works running now, per store */
	int max_inside[2];
	int done_order[MAX_EVENTS];
	unsigned int done_count;
	bool both_stores_at_once;
} rec = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct test_req {
	int id;
	int store_idx;
	struct store *store;
	bool work_ran;
	bool busy_in_done;
	struct test_req *then;	/* made by this one's done */
};

static void test_work(void *ctx)
{
	struct test_req *r = ctx;
	pthread_mutex_lock(&rec.lock);
	int n = ++rec.inside[r->store_idx];
	if (n > rec.max_inside[r->store_idx])
		rec.max_inside[r->store_idx] = n;
	if (rec.inside[0] > 0 && rec.inside[1] > 0)
		rec.both_stores_at_once = true;
	pthread_mutex_unlock(&rec.lock);
	usleep(20 * 1000);
	pthread_mutex_lock(&rec.lock);
	if (rec.inside[0] > 0 && rec.inside[1] > 0)
		rec.both_stores_at_once = true;
	rec.inside[r->store_idx]--;
	pthread_mutex_unlock(&rec.lock);
	r->work_ran = true;
}

static void test_done(void *ctx)
{
	struct test_req *r = ctx;
	assert_true(rec.done_count < MAX_EVENTS);
	rec.done_order[rec.done_count++] = r->id;
	r->busy_in_done = store_request_busy(r->store);
	if (r->then != NULL)
		store_request_run(r->store, test_work, test_done, r->then);
}

static int setup(void **state)
{
	(void)state;
	memset(rec.inside, 0, sizeof(rec.inside));
	memset(rec.max_inside, 0, sizeof(rec.max_inside));
	rec.done_count = 0;
	rec.both_stores_at_once = false;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_request_init(NULL, false);
	return 0;
}

/* Without an executor, and for a backend that never blocks, work and
 * done run before store_request_run() returns, and the store is never
 * busy. */
static void test_inline(void **state)
{
	(void)state;
	struct store local = { .v = &local_vfuncs, .refcount = 1 };
	struct store remote = { .v = &remote_vfuncs, .refcount = 1 };
	struct test_req a = { .id = 1, .store = &remote };
	store_request_run(&remote, test_work, test_done, &a);
	assert_true(a.work_ran);
	assert_int_equal(rec.done_count, 1);
	assert_false(store_request_busy(&remote));

	store_request_init(&test_executor, false);
	struct test_req b = { .id = 2, .store = &local };
	store_request_run(&local, test_work, test_done, &b);
	assert_true(b.work_ran);
	assert_int_equal(rec.done_count, 2);
	assert_false(b.busy_in_done);
	assert_int_equal(exec_submitted, exec_completed);
}

/* Five requests on one store: one work at a time, dones in order, the
 * store busy until the last; a request without work in the middle waits
 * for the works before it. */
static void test_serialised(void **state)
{
	(void)state;
	store_request_init(&test_executor, false);
	struct store remote = { .v = &remote_vfuncs, .refcount = 1 };
	struct test_req r[5];
	for (int i = 0; i < 5; i++)
		r[i] = (struct test_req){ .id = i + 1, .store = &remote };
	for (int i = 0; i < 5; i++) {
		store_request_run(&remote, i == 2 ? NULL : test_work, test_done, &r[i]);
		assert_true(store_request_busy(&remote));
	}
	assert_int_equal(rec.done_count, 0);
	exec_run_loop();
	assert_int_equal(rec.max_inside[0], 1);
	assert_int_equal(rec.done_count, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rec.done_order[i], i + 1);
	assert_false(r[2].work_ran);
	/* a done holds the store: it may call the store directly, even
	 * with others waiting */
	for (int i = 0; i < 5; i++)
		assert_false(r[i].busy_in_done);
	assert_false(store_request_busy(&remote));
	assert_null(remote.requests);
	assert_int_equal(remote.refcount, 1);
}

/* A store whose backend never blocks: store_request_run_offload() puts
 * its work on the executor all the same, and a store_request_run()
 * made meanwhile (which would run inline on an idle store) queues
 * behind it instead of overlapping it; once the queue is empty,
 * requests run inline again.  Without an executor the offloaded
 * request runs inline. */
static void test_offload_on_local_store(void **state)
{
	(void)state;
	struct store local = { .v = &local_vfuncs, .refcount = 1 };
	struct test_req r[4];
	for (int i = 0; i < 4; i++)
		r[i] = (struct test_req){ .id = i + 1, .store = &local };

	store_request_run_offload(&local, test_work, test_done, &r[0]);
	assert_true(r[0].work_ran);
	assert_int_equal(rec.done_count, 1);

	store_request_init(&test_executor, false);
	store_request_run_offload(&local, test_work, test_done, &r[1]);
	assert_true(store_request_busy(&local));
	store_request_run(&local, test_work, test_done, &r[2]);
	assert_int_equal(rec.done_count, 1);
	assert_false(r[2].work_ran);
	exec_run_loop();
	assert_int_equal(rec.max_inside[0], 1);
	assert_int_equal(rec.done_count, 3);
	assert_int_equal(rec.done_order[1], 2);
	assert_int_equal(rec.done_order[2], 3);
	assert_false(store_request_busy(&local));
	assert_int_equal(local.refcount, 1);

	unsigned int submitted = exec_submitted;
	store_request_run(&local, test_work, test_done, &r[3]);
	assert_int_equal(rec.done_count, 4);
	assert_int_equal(exec_submitted, submitted);
}

/* A done that makes the next request: it starts after that done
 * returns, behind the requests already waiting. */
static void test_done_makes_request(void **state)
{
	(void)state;
	store_request_init(&test_executor, false);
	struct store remote = { .v = &remote_vfuncs, .refcount = 1 };
	struct test_req third = { .id = 3, .store = &remote };
	struct test_req first = { .id = 1, .store = &remote, .then = &third };
	struct test_req second = { .id = 2, .store = &remote };
	store_request_run(&remote, test_work, test_done, &first);
	store_request_run(&remote, test_work, test_done, &second);
	exec_run_loop();
	assert_int_equal(rec.done_count, 3);
	assert_int_equal(rec.done_order[0], 1);
	assert_int_equal(rec.done_order[1], 2);
	assert_int_equal(rec.done_order[2], 3);
	assert_true(third.work_ran);
	assert_int_equal(rec.max_inside[0], 1);
}

static unsigned int closed_count;

static void closing_close(struct store *store)
{
	(void)store;
	closed_count++;
}

static const struct store_vfuncs closing_vfuncs = {
	.name = "closing", .blocking = true, .close = closing_close,
};

static void close_done(void *ctx)
{
	struct store **owner = ctx;
	store_close(owner);
}

/* A done may close the store its owner opened: the backend closes it
 * once the request is off the queue, and not before. */
static void test_done_closes_store(void **state)
{
	(void)state;
	store_request_init(&test_executor, false);
	struct store *store = calloc(1, sizeof(*store));
	store->v = &closing_vfuncs;
	store->refcount = 1;
	struct store *owner = store;
	struct test_req r = { .id = 1, .store = store };
	store_request_run(store, test_work, test_done, &r);
	store_request_run(store, NULL, close_done, &owner);
	assert_int_equal(store->refcount, 3);
	exec_run_loop();
	assert_null(owner);
	assert_int_equal(closed_count, 1);
	assert_int_equal(rec.done_count, 1);
	free(store);
}

static unsigned int released_count;

static void counting_release_memory(struct store *store)
{
	(void)store;
	released_count++;
}

static const struct store_vfuncs releasing_vfuncs = {
	.name = "releasing", .blocking = true, .release_memory = counting_release_memory,
};

static void release_done(void *ctx)
{
	store_release_memory(ctx);
}

/* store_release_memory() from the loop while a work runs on another
 * thread (another session's request on a shared store) leaves the store
 * alone: the work may be using its caches.  Inside a done it releases. */
static void test_release_memory_waits(void **state)
{
	(void)state;
	store_request_init(&test_executor, false);
	struct store remote = { .v = &releasing_vfuncs, .refcount = 1 };
	struct test_req r = { .id = 1, .store = &remote };
	released_count = 0;
	store_request_run(&remote, test_work, test_done, &r);
	store_release_memory(&remote);
	assert_int_equal(released_count, 0);
	store_request_run(&remote, NULL, release_done, &remote);
	exec_run_loop();
	assert_int_equal(released_count, 1);
	store_release_memory(&remote);
	assert_int_equal(released_count, 2);
}

/* offload_always sends a non-blocking backend's requests through the
 * executor too; requests of two stores run side by side. */
static void test_two_stores_forced(void **state)
{
	(void)state;
	store_request_init(&test_executor, true);
	struct store one = { .v = &local_vfuncs, .refcount = 1 };
	struct store two = { .v = &local_vfuncs, .refcount = 1 };
	struct test_req r[6];
	for (int i = 0; i < 6; i++) {
		r[i] = (struct test_req){ .id = i + 1, .store_idx = i % 2,
					  .store = i % 2 == 0 ? &one : &two };
		store_request_run(r[i].store, test_work, test_done, &r[i]);
	}
	assert_int_equal(rec.done_count, 0);
	exec_run_loop();
	assert_int_equal(rec.done_count, 6);
	assert_int_equal(rec.max_inside[0], 1);
	assert_int_equal(rec.max_inside[1], 1);
	assert_true(rec.both_stores_at_once);
	/* each store's dones in its own order */
	int last[2] = { 0, 0 };
	for (unsigned int i = 0; i < rec.done_count; i++) {
		int id = rec.done_order[i];
		int idx = (id - 1) % 2;
		assert_true(id > last[idx]);
		last[idx] = id;
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_serialised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_offload_on_local_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_makes_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_stores_forced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_memory_waits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_done_closes_store, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
