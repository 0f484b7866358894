/* str.c: growable byte strings. */
#include "str.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void str_grow(struct str *s, size_t add)
{
	if (s->len + add + 1 <= s->cap)
		return;
	size_t ncap = s->cap < 64 ? 64 : s->cap;
	while (ncap < s->len + add + 1)
		ncap *= 2;
	s->data = xrealloc(s->data, ncap);
	s->cap = ncap;
}

void str_free(struct str *s)
{
	free(s->data);
	s->data = NULL;
	s->len = s->cap = 0;
}

void str_truncate(struct str *s, size_t len)
{
	if (len < s->len) {
		s->len = len;
		s->data[len] = '\0';
	}
}

void str_append_n(struct str *s, const void *data, size_t len)
{
	str_grow(s, len);
	if (len > 0)	/* data may be NULL when len is 0: memcpy's is nonnull */
		memcpy(s->data + s->len, data, len);
	s->len += len;
	s->data[s->len] = '\0';
}

char *str_append_space(struct str *s, size_t len)
{
	char *start;

	str_grow(s, len);
	start = s->data + s->len;
	memset(start, 0, len + 1);
	s->len += len;
	return start;
}

void str_append(struct str *s, const char *cstr)
{
	str_append_n(s, cstr, strlen(cstr));
}

void str_append_uint(struct str *s, uint64_t v)
{
	char buf[20];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	str_append_n(s, buf + i, sizeof(buf) - i);
}

void str_append_c(struct str *s, char c)
{
	str_append_n(s, &c, 1);
}

void str_vprintfa(struct str *s, const char *fmt, va_list args)
{
	va_list copy;
	va_copy(copy, args);
	char probe[1];
	int n = vsnprintf(probe, sizeof(probe), fmt, copy);
	va_end(copy);
	if (n < 0)
		return;
	str_grow(s, (size_t)n);
	vsnprintf(s->data + s->len, (size_t)n + 1, fmt, args);
	s->len += (size_t)n;
}

void str_printfa(struct str *s, const char *fmt, ...)
{
	va_list args;
	va_start(args, fmt);
	str_vprintfa(s, fmt, args);
	va_end(args);
}

const char *str_c(const struct str *s)
{
	return s->data == NULL ? "" : s->data;
}

char *str_steal(struct str *s)
{
	char *p = s->data == NULL ? xstrdup("") : s->data;
	s->data = NULL;
	s->len = s->cap = 0;
	return p;
}

int str_append_fd(struct str *s, int fd)
{
	for (;;) {
		char *buf = str_append_space(s, 8192);
		ssize_t n = read(fd, buf, 8192);
		int saved = errno;

		str_truncate(s, s->len - 8192 + (n > 0 ? (size_t)n : 0));
		if (n < 0 && saved == EINTR)
			continue;
		if (n <= 0) {
			errno = saved;
			return n < 0 ? -1 : 0;
		}
	}
}
