/* test-istream.c: message streams (src/base/istream.c): the file and
 * memory implementations read the same way, at offsets inside, at and
 * past the end, sequentially and by offset; short reads and EINTR of an
 * implementation (testlib's) are retried; an error is reported with errno; the fd is
 * closed only by a stream that owns it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/istream.h"
#include "testlib.h"

static const char data[] = "From: a@example.com\r\n\r\nbody line\r\n";
#define DATA_LEN (sizeof(data) - 1)

static int open_data_file(void)
{
	char *path = testlib_path("msg");
	int fd;

	testlib_write_file(path, data, DATA_LEN);
	fd = open(path, O_RDONLY);
	free(path);
	assert_true(fd >= 0);
	return fd;
}

/* The reads every implementation must answer alike. */
static void check_stream(struct istream *stream)
{
	char buf[DATA_LEN + 16];
	uint64_t size;

	assert_int_equal(istream_get_size(stream, &size), 0);
	assert_int_equal(size, DATA_LEN);

	/* the whole, then from an offset, then across the end */
	assert_int_equal(istream_pread(stream, buf, DATA_LEN, 0), DATA_LEN);
	assert_memory_equal(buf, data, DATA_LEN);
	assert_int_equal(istream_pread(stream, buf, 4, 6), 4);
	assert_memory_equal(buf, "a@ex", 4);
	assert_int_equal(istream_pread(stream, buf, sizeof(buf), 10), DATA_LEN - 10);
	assert_memory_equal(buf, data + 10, DATA_LEN - 10);
	/* at the end and past it: nothing, not an error */
	assert_int_equal(istream_pread(stream, buf, 8, DATA_LEN), 0);
	assert_int_equal(istream_pread(stream, buf, 8, DATA_LEN + 100), 0);
	assert_int_equal(istream_pread(stream, buf, 8, UINT64_MAX), 0);
	assert_int_equal(istream_pread(stream, buf, 0, 0), 0);

	/* sequential reads go on where the last ended; pread does not move
	 * their position */
	assert_int_equal(istream_read(stream, buf, 5), 5);
	assert_memory_equal(buf, "From:", 5);
	assert_int_equal(istream_pread(stream, buf, 3, 30), 3);
	assert_int_equal(istream_read(stream, buf, 3), 3);
	assert_memory_equal(buf, " a@", 3);
	assert_int_equal(istream_read(stream, buf, sizeof(buf)), DATA_LEN - 8);
	assert_memory_equal(buf, data + 8, DATA_LEN - 8);
	assert_int_equal(istream_read(stream, buf, sizeof(buf)), 0);
}

static void test_memory(void **state)
{
	struct istream *stream = istream_from_memory(data, DATA_LEN);

	(void)state;
	check_stream(stream);
	istream_destroy(&stream);
	assert_null(stream);
	istream_destroy(&stream);	/* NULL is allowed */

	/* empty data */
	char c;
	uint64_t size = 1;
	stream = istream_from_memory("", 0);
	assert_int_equal(istream_get_size(stream, &size), 0);
	assert_int_equal(size, 0);
	assert_int_equal(istream_pread(stream, &c, 1, 0), 0);
	assert_int_equal(istream_read(stream, &c, 1), 0);
	istream_destroy(&stream);
}

static void test_fd_owned(void **state)
{
	int fd = open_data_file();
	struct istream *stream = istream_from_fd(fd);

	(void)state;
	check_stream(stream);
	istream_destroy(&stream);
	/* the stream closed it */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

static void test_fd_borrowed(void **state)
{
	int fd = open_data_file();
	struct istream *stream = istream_from_fd_borrowed(fd);
	char c;

	(void)state;
	check_stream(stream);
	/* the fd's own offset is neither used nor moved */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
	istream_destroy(&stream);
	assert_int_equal(read(fd, &c, 1), 1);
	assert_int_equal(c, 'F');
	close(fd);
}

static void test_fd_error(void **state)
{
	/* a directory: pread() fails with EISDIR */
	int fd = open(testlib_dir(), O_RDONLY | O_DIRECTORY);
	struct istream *stream = istream_from_fd(fd);
	char buf[4];

	(void)state;
	assert_true(fd >= 0);
	errno = 0;
	assert_int_equal(istream_pread(stream, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EISDIR);
	assert_int_equal(istream_read(stream, buf, sizeof(buf)), -1);
	assert_int_equal(stream->offset, 0);
	istream_destroy(&stream);
}

static void test_short_reads(void **state)
{
	struct istream *stream = testlib_istream_create(data, DATA_LEN, UINT64_MAX);
	char buf[DATA_LEN];

	(void)state;
	check_stream(stream);
	istream_destroy(&stream);

	/* an error after some bytes: -1 with errno, position unchanged */
	stream = testlib_istream_create(data, DATA_LEN, 7);
	assert_int_equal(istream_read(stream, buf, 4), 4);
	errno = 0;
	assert_int_equal(istream_read(stream, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EIO);
	assert_int_equal(stream->offset, 4);
	assert_int_equal(istream_pread(stream, buf, 3, 4), 3);
	assert_memory_equal(buf, ": a", 3);
	istream_destroy(&stream);
}

static int setup(void **state)
{
	(void)state;
	return testlib_dir_create("istream");
}

static int teardown(void **state)
{
	(void)state;
	testlib_dir_remove();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memory),
		cmocka_unit_test(test_fd_owned),
		cmocka_unit_test(test_fd_borrowed),
		cmocka_unit_test(test_fd_error),
		cmocka_unit_test(test_short_reads),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
