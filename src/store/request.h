/* request.h: store work that may wait on the network, kept off the
 * worker's event loop.
 *
 * One worker's loop serves many sessions.  A backend whose calls can wait
 * (PostgreSQL: a round trip per query) would stall all of them if a
 * session called it on the loop, so protocol code groups the store calls
 * of one step of a command into a request: `work` makes the store calls
 * and keeps their results in `ctx`; `done` turns the results into
 * responses, on the loop.
 *
 * A store whose backend never waits (Maildir: local files and SQLite)
 * runs a request inline, work then done, before store_request_run()
 * returns: no thread, no queue, the cost of two function calls.  A store
 * whose backend may block (`struct store_vfuncs.blocking`), or every
 * store when the worker forces it (the `store_offload = always` setting,
 * for tests), hands `work` to the worker's executor (a thread pool) and
 * calls `done` from the loop once it has finished.
 *
 * Requests of one store (one user's store, shared by that user's sessions
 * in a worker) run one at a time and in the order they were made: a
 * request's work starts only after the previous request's done has
 * returned, so backends need no locks, and the loop may call the store
 * directly inside a done.  Store calls made on the loop outside a
 * request (commands that have not been split yet) must not overlap a
 * work running on another thread: store_request_busy() tells, and a
 * request without work waits for the store's turn.
 *
 * This module never knows threads or sockets itself: the worker gives it
 * an executor at startup. */
#ifndef ROOST_STORE_REQUEST_H
#define ROOST_STORE_REQUEST_H

#include "base/base.h"

struct store;

typedef void store_request_func(void *ctx);

/* How the worker runs work off the loop. */
struct store_executor {
	/* Runs work(ctx) on another thread, then done(ctx) on the loop;
	 * every submitted done runs exactly once.  (net_job_run() is one.) */
	void (*submit)(store_request_func *work, store_request_func *done, void *ctx);
};

/* Sets this process's executor (NULL: none, every request runs inline)
 * and whether every store's requests go through it (`offload_always`,
 * for tests) or only those of backends that may block.  Called by a
 * worker before its first request; `executor` must stay valid. */
void store_request_init(const struct store_executor *executor, bool offload_always);

/* Runs a request on `store`: work(ctx), then done(ctx) on the loop.
 * `work` makes store calls on `store` and its mailboxes and nothing else:
 * it may run on another thread, so it touches no session or connection
 * state and nothing the loop may use meanwhile; its results go into
 * `ctx`.  `work` may be NULL: done then runs when the store's earlier
 * requests have finished (a turn for direct store calls).  `done` runs on
 * the loop and may call the store directly (reading store_last_error()
 * included) and make new requests, which start after it returns.
 * Inline (see above: and only while no request of the store is
 * queued, else it queues like an offloaded one), and for a request
 * without work on a store with no earlier request, done has run when
 * this returns; otherwise it runs
 * from a later loop callback.  A request that waits or runs holds a
 * reference to the store (as store_open() does), so done may close the
 * store: it is closed when the request is off the queue. */
void store_request_run(struct store *store, store_request_func *work,
		       store_request_func *done, void *ctx);

/* Like store_request_run(), but `work` goes to the executor whenever the
 * worker has one, even for a store whose backend never blocks: for work
 * that waits on the disk for long (a durable append: its fsyncs), so
 * that the loop serves other sessions meanwhile and the appends of
 * different stores wait on the disk at the same time.  Requests of the
 * store made later, with store_request_run() too, wait for it.  `work`
 * must not be NULL.  Without an executor (CLI tools, unit tests) work
 * and done run inline before this returns. */
void store_request_run_offload(struct store *store, store_request_func *work,
			       store_request_func *done, void *ctx);
/* True while a request's work on `store` runs on another thread (or is
 * about to): a store call on the loop must then wait for a turn
 * (store_request_run() with no work).  False inside a done, which holds
 * the store even when requests wait behind it, and false for a store
 * that has no request queued (requests that ran inline). */
bool store_request_busy(struct store *store);

#endif
