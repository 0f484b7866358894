/* str.h: growable byte strings.
 *
 * A `struct str` owns a heap buffer that is always NUL-terminated, so
 * str_c() can be passed to C string functions when the content has no NUL. */
#ifndef ROOST_STR_H
#define ROOST_STR_H

#include "base.h"

struct str {
	char *data;	/* NUL-terminated; NULL until the first append */
	size_t len;
	size_t cap;
};

#define STR_INIT { NULL, 0, 0 }

/* Releases the buffer; the str is empty and reusable afterwards. */
void str_free(struct str *s);
/* Empties the string, keeping its buffer. */
void str_truncate(struct str *s, size_t len);
void str_append(struct str *s, const char *cstr);
void str_append_n(struct str *s, const void *data, size_t len);
void str_append_c(struct str *s, char c);
/* Appends len bytes for the caller to fill and returns where they start
 * (valid until the next change); the bytes are zero. */
char *str_append_space(struct str *s, size_t len);
/* Appends `v` in decimal, like str_printfa(s, "%" PRIu64, v) but without
 * the format machinery (a SORT answer writes 100,000 numbers). */
void str_append_uint(struct str *s, uint64_t v);
void str_printfa(struct str *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
void str_vprintfa(struct str *s, const char *fmt, va_list args) ATTR_PRINTF(2, 0);
/* Appends everything left to read from descriptor fd (until end of
 * file; EINTR is retried).  Returns 0, or -1 with errno set by read(),
 * keeping what was read before the error. */
int str_append_fd(struct str *s, int fd);
/* Returns the content as a C string, valid until the next change. */
const char *str_c(const struct str *s);
/* Hands the buffer to the caller (who frees it) and empties the str. */
char *str_steal(struct str *s);

#endif
