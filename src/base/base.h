/* base.h: the few things every Roost file needs.
 *
 * Allocation that never fails (it aborts), panics for impossible states,
 * and small helpers.  Nothing here knows about mail, sockets or storage. */
#ifndef ROOST_BASE_H
#define ROOST_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define ATTR_NORETURN __attribute__((noreturn))
#define ATTR_UNUSED __attribute__((unused))
#define ROOST_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ROOST_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Allocation.  These abort the process on failure, so callers never check
 * for NULL.  Memory is released with free(). */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) ATTR_PRINTF(1, 2);
char *xvasprintf(const char *fmt, va_list args) ATTR_PRINTF(1, 0);

/* Growth helper for arrays: makes room for at least `need` elements in
 * *arr whose current capacity is *cap (elements of `elem` bytes). */
void array_reserve(void **arr, size_t *cap, size_t need, size_t elem);
#define ARRAY_RESERVE(arr, cap, need) \
	array_reserve((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* A bug: logs the message and aborts.  Never for client or system errors. */
void i_panic(const char *fmt, ...) ATTR_PRINTF(1, 2) ATTR_NORETURN;

/* Case-insensitive ASCII comparisons (IMAP atoms are ASCII). */
bool str_eq_icase(const char *a, const char *b);
bool str_has_prefix_icase(const char *s, const char *prefix);

/* FNV-1a hash of `size` bytes, for in-memory tables.  It has no secret
 * key: clients who choose what is hashed can make keys collide. */
uint32_t mem_hash(const void *data, size_t size);

/* Parses a decimal number without sign into *num_r.  Returns 0 on success,
 * -1 if `s` is empty, has a non-digit or overflows `max`. */
int str_to_u64(const char *s, uint64_t max, uint64_t *num_r);

/* Writes all of buf to fd, retrying on EINTR and short writes.
 * Returns 0 or -1 with errno set. */
int write_full(int fd, const void *buf, size_t size);
/* A file for spooling data that nobody else can see and that vanishes
 * with its descriptor: an unnamed O_TMPFILE file in the first of
 * `primary`, $TMPDIR and /tmp that allows one (else a mkostemp() file
 * there, unlinked at once, for file systems without O_TMPFILE).  The fd
 * is read-write and close-on-exec; -1 with errno set when none works.
 * The file is opened without O_EXCL, so it may later be linked. */
int spool_file_open(const char *primary);
/* Copies `len` bytes of src to dest, turning each LF that does not follow
 * a CR into CRLF (RFC 5322 line ends); dest must have room for 2 * len
 * bytes.  *prev_cr carries across calls whether the last byte seen was a
 * CR (start with false), so the text may be given in any pieces.
 * Returns the number of bytes written to dest. */
size_t lf_to_crlf(const void *src, size_t len, void *dest, bool *prev_cr);

/* Monotonic clock in milliseconds. */
uint64_t time_monotonic_ms(void);

#endif
