/* job.c: a small thread pool for blocking work (password hashing, and the
 * store requests of a backend that may block: store/request.h).
 *
 * Started on the first net_job_run() in a process with a loop.  Helper
 * threads only run `work` and queue the job as done; an eventfd wakes the
 * loop, which calls `done`.  Every job's `done` runs exactly once, on the
 * loop thread: net_job_deinit() lets the threads finish the queue first.
 * Helper threads block all signals, so signals reach the loop thread. */
#include "net-private.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* LMTP deliveries wait on the disk in these threads (lmtp/session.c):
 * four let four connections that landed on one worker deliver at once
 * (bench/deliver -p 4 with every connection on one worker: 397 against
 * 284 msg/s with two, medians of three) */
#define JOB_THREAD_COUNT 4

struct job {
	void (*work)(void *ctx);
	void (*done)(void *ctx);
	void *ctx;
	struct job *next;
};

struct job_list {
	struct job *head, *tail;
};

static struct {
	bool running;
	pid_t pid;		/* the process that started the threads */
	pthread_t threads[JOB_THREAD_COUNT];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job_list queue;	/* waiting for a thread */
	struct job_list done;	/* waiting for the loop */
	bool stopping;
	int efd;
	struct event *ev;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .efd = -1 };

static void job_list_append(struct job_list *list, struct job *job)
{
	job->next = NULL;
	if (list->tail == NULL)
		list->head = job;
	else
		list->tail->next = job;
	list->tail = job;
}

static void *job_thread(void *arg ATTR_UNUSED)
{
	pthread_mutex_lock(&pool.lock);
	for (;;) {
		while (pool.queue.head == NULL && !pool.stopping)
			pthread_cond_wait(&pool.cond, &pool.lock);
		struct job *job = pool.queue.head;
		if (job == NULL)
			break;	/* stopping and nothing left */
		pool.queue.head = job->next;
		if (pool.queue.head == NULL)
			pool.queue.tail = NULL;
		pthread_mutex_unlock(&pool.lock);

		job->work(job->ctx);

		pthread_mutex_lock(&pool.lock);
		job_list_append(&pool.done, job);
		uint64_t one = 1;
		if (write(pool.efd, &one, sizeof(one)) < 0) {
			/* EAGAIN: the counter is full, the loop is awake anyway */
		}
	}
	pthread_mutex_unlock(&pool.lock);
	return NULL;
}

/* Calls `done` for every finished job. */
static void job_run_done(void)
{
	pthread_mutex_lock(&pool.lock);
	struct job *job = pool.done.head;
	pool.done.head = pool.done.tail = NULL;
	pthread_mutex_unlock(&pool.lock);
	while (job != NULL) {
		struct job *next = job->next;
		job->done(job->ctx);
		free(job);
		job = next;
	}
}

static void job_event_cb(evutil_socket_t fd, short what ATTR_UNUSED, void *arg ATTR_UNUSED)
{
	uint64_t count;
	if (read(fd, &count, sizeof(count)) < 0) {
		/* EAGAIN: another wakeup already reset the counter */
	}
	job_run_done();
}

static void job_pool_start(void)
{
	if (pool.running && pool.pid != getpid()) {
		/* a forked child: the threads stayed in the parent */
		pthread_mutex_init(&pool.lock, NULL);
		pthread_cond_init(&pool.cond, NULL);
		if (pool.ev != NULL)
			event_free(pool.ev);
		close(pool.efd);
		memset(&pool.queue, 0, sizeof(pool.queue));
		memset(&pool.done, 0, sizeof(pool.done));
		pool.ev = NULL;
		pool.running = false;
	}
	pool.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool.efd < 0)
		i_panic("eventfd() failed: %s", strerror(errno));
	pool.ev = event_new(net_worker_base(), pool.efd, EV_READ | EV_PERSIST, job_event_cb, NULL);
	if (pool.ev == NULL || event_add(pool.ev, NULL) < 0)
		i_panic("cannot watch the job eventfd");
	pool.stopping = false;

	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned int i = 0; i < JOB_THREAD_COUNT; i++) {
		int ret = pthread_create(&pool.threads[i], NULL, job_thread, NULL);
		if (ret != 0)
			i_panic("pthread_create() failed: %s", strerror(ret));
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pool.pid = getpid();
	pool.running = true;
}

void net_job_run(void (*work)(void *ctx), void (*done)(void *ctx), void *ctx)
{
	/* no loop, or the pool is stopping (a done run by net_job_deinit()
	 * queues the next job of its kind): no thread would take it */
	if (net_worker_base() == NULL || pool.stopping) {
		work(ctx);
		done(ctx);
		return;
	}
	if (!pool.running || pool.pid != getpid())
		job_pool_start();
	struct job *job = xcalloc(1, sizeof(*job));
	job->work = work;
	job->done = done;
	job->ctx = ctx;
	pthread_mutex_lock(&pool.lock);
	job_list_append(&pool.queue, job);
	pthread_cond_signal(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
}

void net_job_deinit(void)
{
	if (!pool.running || pool.pid != getpid())
		return;
	pthread_mutex_lock(&pool.lock);
	pool.stopping = true;
	pthread_cond_broadcast(&pool.cond);
	pthread_mutex_unlock(&pool.lock);
	for (unsigned int i = 0; i < JOB_THREAD_COUNT; i++)
		pthread_join(pool.threads[i], NULL);
	job_run_done();
	event_free(pool.ev);
	pool.ev = NULL;
	close(pool.efd);
	pool.efd = -1;
	pool.running = false;
	pool.stopping = false;
}
