/* istream.c: the generic part of message streams (the read loops) and
 * the two implementations every layer may use, over a file descriptor
 * and over memory.  See istream.h. */
#include "istream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

void istream_init(struct istream *stream, const struct istream_vfuncs *v)
{
	stream->v = v;
	stream->offset = 0;
}

ssize_t istream_pread(struct istream *stream, void *buf, size_t size, uint64_t offset)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = stream->v->pread(stream, (char *)buf + done, size - done,
					     offset + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

ssize_t istream_read(struct istream *stream, void *buf, size_t size)
{
	ssize_t n = istream_pread(stream, buf, size, stream->offset);

	if (n > 0)
		stream->offset += (uint64_t)n;
	return n;
}

int istream_get_size(struct istream *stream, uint64_t *size_r)
{
	return stream->v->get_size(stream, size_r);
}

void istream_destroy(struct istream **_stream)
{
	struct istream *stream = *_stream;

	if (stream == NULL)
		return;
	*_stream = NULL;
	stream->v->destroy(stream);
}

/* ---- a file descriptor ---- */

struct fd_istream {
	struct istream stream;
	int fd;
	bool owned;
};

static ssize_t fd_istream_pread(struct istream *stream, void *buf, size_t size,
				uint64_t offset)
{
	const struct fd_istream *fs = (const struct fd_istream *)stream;

	if (offset > (uint64_t)INT64_MAX)
		return 0;	/* past any file's end */
	return pread(fs->fd, buf, size, (off_t)offset);
}

static int fd_istream_get_size(struct istream *stream, uint64_t *size_r)
{
	const struct fd_istream *fs = (const struct fd_istream *)stream;
	struct stat st;

	if (fstat(fs->fd, &st) < 0)
		return -1;
	*size_r = (uint64_t)st.st_size;
	return 0;
}

static void fd_istream_destroy(struct istream *stream)
{
	struct fd_istream *fs = (struct fd_istream *)stream;

	if (fs->owned)
		close(fs->fd);
	free(fs);
}

static const struct istream_vfuncs fd_istream_vfuncs = {
	.pread = fd_istream_pread,
	.get_size = fd_istream_get_size,
	.destroy = fd_istream_destroy,
};

static struct istream *fd_istream_create(int fd, bool owned)
{
	struct fd_istream *fs = xcalloc(1, sizeof(*fs));

	istream_init(&fs->stream, &fd_istream_vfuncs);
	fs->fd = fd;
	fs->owned = owned;
	return &fs->stream;
}

struct istream *istream_from_fd(int fd)
{
	return fd_istream_create(fd, true);
}

struct istream *istream_from_fd_borrowed(int fd)
{
	return fd_istream_create(fd, false);
}

/* ---- memory ---- */

struct memory_istream {
	struct istream stream;
	const char *data;
	size_t size;
};

static ssize_t memory_istream_pread(struct istream *stream, void *buf, size_t size,
				    uint64_t offset)
{
	const struct memory_istream *ms = (const struct memory_istream *)stream;

	if (offset >= ms->size)
		return 0;
	size = (size_t)ROOST_MIN((uint64_t)size, ms->size - offset);
	memcpy(buf, ms->data + offset, size);
	return (ssize_t)size;
}

static int memory_istream_get_size(struct istream *stream, uint64_t *size_r)
{
	*size_r = ((const struct memory_istream *)stream)->size;
	return 0;
}

static void memory_istream_destroy(struct istream *stream)
{
	free(stream);
}

static const struct istream_vfuncs memory_istream_vfuncs = {
	.pread = memory_istream_pread,
	.get_size = memory_istream_get_size,
	.destroy = memory_istream_destroy,
};

struct istream *istream_from_memory(const void *data, size_t size)
{
	struct memory_istream *ms = xcalloc(1, sizeof(*ms));

	istream_init(&ms->stream, &memory_istream_vfuncs);
	ms->data = data;
	ms->size = size;
	return &ms->stream;
}
