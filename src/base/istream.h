/* istream.h: a message stream, the bytes of one message (or of any other
 * byte source of known size) as a store backend hands them out.
 *
 * A file, a database blob or a decompressing or decrypting reader
 * implements it with three functions (struct istream_vfuncs); readers
 * never see what is behind it.  Reads name their offset (istream_pread())
 * or continue where the last one ended (istream_read()), and both return
 * short counts only at the end of the data: the loops over short reads
 * and EINTR live here, once.  A reader that can only go forward
 * (decompression) restarts when asked for an earlier offset; Roost's
 * readers go forward in order almost always.  Nothing here knows about
 * mail or about the store. */
#ifndef ROOST_ISTREAM_H
#define ROOST_ISTREAM_H

#include "base.h"

struct istream;

/* What an implementation provides. */
struct istream_vfuncs {
	/* Reads up to `size` (> 0) bytes at `offset` into buf, in one try:
	 * returns the count (fewer than asked is allowed anywhere, 0 only
	 * at or past the end) or -1 with errno (EINTR is retried). */
	ssize_t (*pread)(struct istream *stream, void *buf, size_t size, uint64_t offset);
	/* The size in bytes: 0 with *size_r, or -1 with errno. */
	int (*get_size)(struct istream *stream, uint64_t *size_r);
	/* Releases what the implementation holds, and the stream itself. */
	void (*destroy)(struct istream *stream);
};

/* The generic part, first in every implementation's struct. */
struct istream {
	const struct istream_vfuncs *v;
	uint64_t offset;	/* where the next istream_read() starts */
};

/* Sets up the generic part of a stream an implementation allocated. */
void istream_init(struct istream *stream, const struct istream_vfuncs *v);

/* A stream over the file open in fd (read with pread(), so the fd's own
 * offset is neither used nor moved).  The stream owns the fd and closes
 * it when destroyed.  Never fails (xmalloc). */
struct istream *istream_from_fd(int fd);
/* The same over an fd that the caller keeps: it is not closed, and must
 * stay open until the stream is destroyed. */
struct istream *istream_from_fd_borrowed(int fd);
/* A stream over data[0..size), which is not copied: it must stay
 * unchanged until the stream is destroyed.  Never fails. */
struct istream *istream_from_memory(const void *data, size_t size);

/* Reads up to `size` bytes at `offset` into buf.  Returns the count,
 * fewer than `size` only when the data ends first (0 at or past the
 * end), or -1 with errno (then buf holds an unknown part of the data).
 * Short reads of the implementation and EINTR are retried here.  Does
 * not move the position of istream_read(). */
ssize_t istream_pread(struct istream *stream, void *buf, size_t size, uint64_t offset);
/* istream_pread() at the stream's position, which moves past the bytes
 * read (and stays where it was after an error). */
ssize_t istream_read(struct istream *stream, void *buf, size_t size);
/* The size of the data: 0 with *size_r, or -1 with errno. */
int istream_get_size(struct istream *stream, uint64_t *size_r);
/* Destroys *stream (closing what it owns) and sets it to NULL; NULL is
 * allowed. */
void istream_destroy(struct istream **stream);

#endif
