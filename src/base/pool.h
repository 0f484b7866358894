/* pool.h: arenas.
 *
 * A pool hands out memory that is released all at once by pool_clear() or
 * pool_destroy().  Sessions own one pool for their lifetime and one per
 * command (cleared when the command completes).  Never store a pointer from
 * a shorter-lived pool in a longer-lived object. */
#ifndef ROOST_POOL_H
#define ROOST_POOL_H

#include "base.h"

struct pool;

/* Creates a pool whose first block holds `initial` bytes (0 = a small
 * default).  Blocks are allocated lazily, so an unused pool costs only its
 * header. */
struct pool *pool_create(size_t initial);
/* Frees all blocks and the pool; sets *pool to NULL. */
void pool_destroy(struct pool **pool);
/* Releases everything allocated from the pool, keeping one block. */
void pool_clear(struct pool *pool);

/* Allocations live until the pool is cleared or destroyed; memory from
 * p_malloc is zeroed. */
void *p_malloc(struct pool *pool, size_t size);
char *p_strdup(struct pool *pool, const char *s);
char *p_strndup(struct pool *pool, const void *s, size_t n);
void *p_memdup(struct pool *pool, const void *p, size_t n);
char *p_strdup_printf(struct pool *pool, const char *fmt, ...) ATTR_PRINTF(2, 3);

#endif
