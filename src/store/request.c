/* request.c: store requests, inline or serialised per store through the
 * worker's executor (request.h).
 *
 * Each offloaded store keeps a queue of requests.  The first one is the
 * store's: its work is on the executor (RUNNING), or its done is being
 * called on the loop (FINISHING); it leaves the queue when done returns,
 * and the next one starts.  A request without work skips RUNNING.  Each
 * request holds a reference to the store (struct store.refcount), so a
 * done may close the store its owner opened.  Only the loop touches the
 * queue; the executor's thread sees one request's work and ctx and
 * nothing else. */
#include "store/request.h"
#include "store/store-private.h"

#include <stdlib.h>

enum store_request_state {
	STORE_REQUEST_WAITING,
	STORE_REQUEST_RUNNING,
	STORE_REQUEST_FINISHING,
};

struct store_request {
	struct store *store;
	store_request_func *work, *done;
	void *ctx;
	enum store_request_state state;
	struct store_request *next;
};

static const struct store_executor *request_executor;
static bool request_offload_always;

void store_request_init(const struct store_executor *executor, bool offload_always)
{
	request_executor = executor;
	request_offload_always = offload_always;
}

static bool store_request_offloaded(const struct store *store)
{
	return request_executor != NULL && (store->v->blocking || request_offload_always);
}

/* Calls the first request's done and takes it off the queue.  Returns
 * false if that closed the store (the request held its last reference). */
static bool store_request_finish_first(struct store *store)
{
	struct store_request *req = store->requests;
	req->state = STORE_REQUEST_FINISHING;
	req->done(req->ctx);
	store->requests = req->next;
	if (store->requests == NULL)
		store->requests_tail = NULL;
	free(req);
	if (store->refcount > 1) {
		store->refcount--;
		return true;
	}
	store_close(&store);
	return false;
}

static void store_request_work(void *ctx)
{
	struct store_request *req = ctx;
	req->work(req->ctx);
}

static void store_request_start_next(struct store *store);

static void store_request_work_done(void *ctx)
{
	struct store_request *req = ctx;
	struct store *store = req->store;
	if (store_request_finish_first(store))
		store_request_start_next(store);
}

/* Starts the first request if it waits: a request without work finishes
 * at once, and so on until one runs or the queue is empty. */
static void store_request_start_next(struct store *store)
{
	struct store_request *req;
	while ((req = store->requests) != NULL && req->state == STORE_REQUEST_WAITING) {
		if (req->work != NULL) {
			req->state = STORE_REQUEST_RUNNING;
			request_executor->submit(store_request_work, store_request_work_done, req);
			return;
		}
		if (!store_request_finish_first(store))
			return;
	}
}

/* Queues a request; the executor runs its work in the store's turn. */
static void store_request_queue(struct store *store, store_request_func *work,
				store_request_func *done, void *ctx)
{
	struct store_request *req = xcalloc(1, sizeof(*req));
	req->store = store;
	req->work = work;
	req->done = done;
	req->ctx = ctx;
	req->state = STORE_REQUEST_WAITING;
	/* the store lives until this request is off the queue, even if
	 * its owner closes it in done */
	store->refcount++;
	if (store->requests_tail == NULL)
		store->requests = req;
	else
		store->requests_tail->next = req;
	store->requests_tail = req;
	/* while an earlier request runs or finishes, it starts this one */
	if (store->requests == req)
		store_request_start_next(store);
}

void store_request_run(struct store *store, store_request_func *work,
		       store_request_func *done, void *ctx)
{
	/* inline only when nothing is queued: an offloaded request of this
	 * store (store_request_run_offload()) may be running on a thread */
	if (!store_request_offloaded(store) && store->requests == NULL) {
		if (work != NULL)
			work(ctx);
		done(ctx);
		return;
	}
	store_request_queue(store, work, done, ctx);
}

void store_request_run_offload(struct store *store, store_request_func *work,
			       store_request_func *done, void *ctx)
{
	if (request_executor == NULL) {
		work(ctx);
		done(ctx);
		return;
	}
	store_request_queue(store, work, done, ctx);
}

bool store_request_busy(struct store *store)
{
	const struct store_request *req = store->requests;
	/* a done on the loop holds the store: those waiting start after it */
	return req != NULL && req->state != STORE_REQUEST_FINISHING;
}
