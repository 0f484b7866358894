/* testlib.h: what several unit tests need around the code they test: one
 * temporary directory per test program (or per test), and whole-file reads
 * and writes that fail the running test on any error.  It must never hold
 * test logic: a helper belongs here only once two tests use it.
 *
 * Include after <cmocka.h>. */
#ifndef ROOST_TESTLIB_H
#define ROOST_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

struct istream;

/* Creates /tmp/roost-test-NAME.XXXXXX.  Returns 0, or -1 with errno set
 * (for a cmocka setup function to return as is).  Until the next
 * testlib_dir_create(), testlib_dir() names it. */
int testlib_dir_create(const char *name);

/* The directory testlib_dir_create() made; static, never NULL after a
 * successful create. */
const char *testlib_dir(void);

/* Removes testlib_dir() and everything below it; errors are ignored. */
void testlib_dir_remove(void);

/* "testlib_dir()/name", allocated: the caller frees it. */
char *testlib_path(const char *name);

/* Writes len bytes of content to path (created or truncated). */
void testlib_write_file(const char *path, const char *content, size_t len);

/* The whole of path as a NUL-terminated string, allocated: the caller
 * frees it. */
char *testlib_read_file(const char *path);

/* How many entries of the directory path do not start with '.'; 0 if it
 * cannot be opened. */
size_t testlib_count_files(const char *path);

/* A stream over data[0..len) (not copied) that reads the way a slow
 * source may: each call gives at most 3 bytes and every other call fails
 * with EINTR, and a read at or past fail_at (before the end) fails with
 * EIO.  testlib_istream_fail_at() moves fail_at.  Destroy it with
 * istream_destroy(). */
struct istream *testlib_istream_create(const void *data, size_t len, uint64_t fail_at);
void testlib_istream_fail_at(struct istream *stream, uint64_t fail_at);

#endif
