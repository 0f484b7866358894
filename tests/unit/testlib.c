/* testlib.c: shared helpers of the unit tests (see testlib.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "base/istream.h"
#include "base/str.h"
#include "testlib.h"

static char dir[64];

int testlib_dir_create(const char *name)
{
	int n = snprintf(dir, sizeof(dir), "/tmp/roost-test-%s.XXXXXX", name);

	assert_true(n > 0 && (size_t)n < sizeof(dir));
	return mkdtemp(dir) == NULL ? -1 : 0;
}

const char *testlib_dir(void)
{
	return dir;
}

static int remove_cb(const char *path, const struct stat *st, int flag,
		     struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

void testlib_dir_remove(void)
{
	nftw(dir, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
}

char *testlib_path(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

void testlib_write_file(const char *path, const char *content, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

char *testlib_read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	struct str s = STR_INIT;
	char buf[4096];
	size_t n;

	assert_non_null(f);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_n(&s, buf, n);
	fclose(f);
	str_append(&s, "");
	return str_steal(&s);
}

size_t testlib_count_files(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n;
}

struct test_istream {
	struct istream stream;
	const char *data;
	size_t len;
	uint64_t fail_at;
	unsigned int calls;
};

static ssize_t test_istream_pread(struct istream *stream, void *buf, size_t size,
				  uint64_t offset)
{
	struct test_istream *ts = (struct test_istream *)stream;

	assert_true(size > 0);
	if (ts->calls++ % 2 == 0) {
		errno = EINTR;
		return -1;
	}
	if (offset >= ts->len)
		return 0;
	if (offset >= ts->fail_at) {
		errno = EIO;
		return -1;
	}
	size = ROOST_MIN(size, ROOST_MIN((size_t)3, ts->len - (size_t)offset));
	memcpy(buf, ts->data + offset, size);
	return (ssize_t)size;
}

static int test_istream_get_size(struct istream *stream, uint64_t *size_r)
{
	*size_r = ((struct test_istream *)stream)->len;
	return 0;
}

static void test_istream_destroy(struct istream *stream)
{
	free(stream);
}

static const struct istream_vfuncs test_istream_vfuncs = {
	.pread = test_istream_pread,
	.get_size = test_istream_get_size,
	.destroy = test_istream_destroy,
};

struct istream *testlib_istream_create(const void *data, size_t len, uint64_t fail_at)
{
	struct test_istream *ts = xcalloc(1, sizeof(*ts));

	istream_init(&ts->stream, &test_istream_vfuncs);
	ts->data = data;
	ts->len = len;
	ts->fail_at = fail_at;
	return &ts->stream;
}

void testlib_istream_fail_at(struct istream *stream, uint64_t fail_at)
{
	((struct test_istream *)stream)->fail_at = fail_at;
}
