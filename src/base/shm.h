/* shm.h: memory shared by the server's processes, with a lock.
 *
 * A region is an anonymous MAP_SHARED mapping: every process forked after
 * shm_create() sees the same bytes (roost serve creates its regions in
 * the supervisor, before the workers start).  A process-shared, robust
 * mutex at the head of the region serialises access across processes and
 * threads.  When a process dies holding it (a crashed worker), the next
 * shm_lock() still gets the lock and reports it, so a table must keep
 * every change it makes under the lock small enough to be either done or
 * harmlessly half-done.  Nothing here knows what the bytes mean. */
#ifndef ROOST_SHM_H
#define ROOST_SHM_H

#include "base.h"

struct shm;

/* Maps `size` zeroed bytes shared with the processes forked from now on.
 * Aborts if the memory cannot be had (like xmalloc).  Free with
 * shm_destroy(). */
struct shm *shm_create(size_t size);
/* Unmaps the region in this process (others keep it) and frees the
 * handle; sets *shm to NULL.  NULL is allowed. */
void shm_destroy(struct shm **shm);

/* The region's `size` bytes (the lock is kept apart from them). */
void *shm_data(struct shm *shm);
size_t shm_size(const struct shm *shm);

/* Takes the lock, waiting for it.  Returns true if the previous holder
 * died holding it: what it was changing may be half-done.  Never fails
 * otherwise (a broken lock aborts). */
bool shm_lock(struct shm *shm);
void shm_unlock(struct shm *shm);

#endif
