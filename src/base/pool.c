/* pool.c: a bump allocator over a list of blocks. */
#include "pool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pool_block {
	struct pool_block *next;
	size_t size, used;
	max_align_t data[];
};

struct pool {
	struct pool_block *blocks;
	size_t initial;
};

struct pool *pool_create(size_t initial)
{
	struct pool *pool = xcalloc(1, sizeof(*pool));
	pool->initial = initial == 0 ? 1024 : initial;
	return pool;
}

void pool_destroy(struct pool **_pool)
{
	struct pool *pool = *_pool;
	if (pool == NULL)
		return;
	*_pool = NULL;
	struct pool_block *b = pool->blocks, *next;
	for (; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(pool);
}

void pool_clear(struct pool *pool)
{
	struct pool_block *b = pool->blocks, *next;
	if (b == NULL)
		return;
	/* keep the newest (largest) block */
	for (next = b->next; next != NULL; ) {
		struct pool_block *n = next->next;
		free(next);
		next = n;
	}
	b->next = NULL;
	b->used = 0;
}

void *p_malloc(struct pool *pool, size_t size)
{
	const size_t align = sizeof(max_align_t);
	size = (size + align - 1) & ~(align - 1);
	struct pool_block *b = pool->blocks;
	if (b == NULL || b->size - b->used < size) {
		size_t bsize = b == NULL ? pool->initial : b->size * 2;
		if (bsize < size)
			bsize = size;
		struct pool_block *nb = xmalloc(sizeof(*nb) + bsize);
		nb->size = bsize;
		nb->used = 0;
		nb->next = b;
		pool->blocks = b = nb;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

char *p_strndup(struct pool *pool, const void *s, size_t n)
{
	char *p = p_malloc(pool, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *p_strdup(struct pool *pool, const char *s)
{
	return s == NULL ? NULL : p_strndup(pool, s, strlen(s));
}

void *p_memdup(struct pool *pool, const void *src, size_t n)
{
	void *p = p_malloc(pool, n);
	memcpy(p, src, n);
	return p;
}

char *p_strdup_printf(struct pool *pool, const char *fmt, ...)
{
	va_list args, copy;
	va_start(args, fmt);
	va_copy(copy, args);
	char probe[1];
	int n = vsnprintf(probe, sizeof(probe), fmt, copy);
	va_end(copy);
	char *p = p_malloc(pool, n < 0 ? 1 : (size_t)n + 1);
	if (n >= 0)
		vsnprintf(p, (size_t)n + 1, fmt, args);
	va_end(args);
	return p;
}
