/* base.c: allocation that never fails, panics, and small string helpers. */
#include "base.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static void ATTR_NORETURN out_of_memory(size_t size)
{
	fprintf(stderr, "roost: out of memory allocating %zu bytes\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);
	if (p == NULL)
		out_of_memory(size);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
	if (p == NULL)
		out_of_memory(n * size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size == 0 ? 1 : size);
	if (p == NULL)
		out_of_memory(size);
	return p;
}

char *xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *xmemdup(const void *src, size_t n)
{
	void *p = xmalloc(n);
	memcpy(p, src, n);
	return p;
}

char *xvasprintf(const char *fmt, va_list args)
{
	char *p;
	if (vasprintf(&p, fmt, args) < 0)
		out_of_memory(strlen(fmt));
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	char *p = xvasprintf(fmt, args);
	va_end(args);
	return p;
}

void array_reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return;
	size_t ncap = *cap < 8 ? 8 : *cap;
	while (ncap < need)
		ncap *= 2;
	*arr = xrealloc(*arr, ncap * elem);
	*cap = ncap;
}

void i_panic(const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	char *msg = xvasprintf(fmt, args);
	va_end(args);
	log_error("PANIC: %s", msg);
	free(msg);
	abort();
}

bool str_eq_icase(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

bool str_has_prefix_icase(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

uint32_t mem_hash(const void *data, size_t size)
{
	const uint8_t *b = data;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < size; i++) {
		h ^= b[i];
		h *= 16777619u;
	}
	return h;
}

int str_to_u64(const char *s, uint64_t max, uint64_t *num_r)
{
	uint64_t n = 0;
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (n > (max - d) / 10)
			return -1;
		n = n * 10 + d;
	}
	*num_r = n;
	return 0;
}

int write_full(int fd, const void *buf, size_t size)
{
	const char *p = buf;
	while (size > 0) {
		ssize_t n = write(fd, p, size);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		size -= (size_t)n;
	}
	return 0;
}

uint64_t time_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

size_t lf_to_crlf(const void *src, size_t len, void *dest, bool *prev_cr)
{
	const unsigned char *in = src;
	unsigned char *out = dest;
	size_t o = 0;
	bool cr = *prev_cr;

	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n' && !cr)
			out[o++] = '\r';
		out[o++] = in[i];
		cr = in[i] == '\r';
	}
	*prev_cr = cr;
	return o;
}

int spool_file_open(const char *primary)
{
	const char *dirs[] = { primary, getenv("TMPDIR"), "/tmp" };
	int err = ENOENT;

	for (size_t i = 0; i < N_ELEMENTS(dirs); i++) {
		if (dirs[i] == NULL || dirs[i][0] == '\0')
			continue;
		int fd = open(dirs[i], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		char *path = xasprintf("%s/.roost-spool-XXXXXX", dirs[i]);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd >= 0) {
			(void)unlink(path);
			free(path);
			return fd;
		}
		err = errno;
		free(path);
	}
	errno = err;
	return -1;
}
