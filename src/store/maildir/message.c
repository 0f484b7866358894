/* message.c: one message for several mailboxes (store_message_*).
 *
 * The bytes go to an unnamed file (O_TMPFILE) in maildir_root, the file
 * system that holds every user's Maildir, and stream through the mime
 * parser as they are written.  Each append then gives that same inode a
 * name in its mailbox's cur/: linkat() of /proc/self/fd/N, which links an
 * O_TMPFILE file opened without O_EXCL (open(2)); the first link turns
 * the unnamed file into a message file, the others add names.  Where a
 * link is refused (no /proc, EXDEV, EMLINK, ...) the bytes are copied from
 * the descriptor instead.  Nothing of the spool survives a crash: an
 * unnamed file vanishes with its last descriptor.  A named fallback spool
 * (file systems without O_TMPFILE) is unlinked at free; one that a crash
 * left behind is removed by the next message begun after
 * MAILDIR_TMP_MAX_AGE, as tmp/ files are. */
#include "store/maildir/maildir-private.h"
#include "base/fault.h"
#include "base/log.h"
#include "mime/parser.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static const char message_io_error[] = "Internal error writing the message (see the log)";

/* Removes named spools in dir older than MAILDIR_TMP_MAX_AGE: what a
 * crash left of the fallback below.  Aged by ctime: a finished spool's
 * mtime is its INTERNALDATE (maildir_message_finish()). */
static void message_spool_sweep(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	time_t now = time(NULL);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (strncmp(de->d_name, ".message-", 9) != 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_ctime < now - MAILDIR_TMP_MAX_AGE)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* An unnamed (or, without O_TMPFILE, a named) spool file in dir. */
static int message_spool_open(struct maildir_message *msg, const char *dir)
{
	/* no O_EXCL: the file must stay linkable */
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		char *unique = maildir_file_unique();

		message_spool_sweep(dir);

		msg->path = xasprintf("%s/.message-%s", dir, unique);
		free(unique);
		fd = open(msg->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			free(msg->path);
			msg->path = NULL;
		}
	}
	return fd;
}

int maildir_message_begin(const struct store_settings *set, struct store_message **msg_r,
			  const char **error_r)
{
	struct maildir_message *msg = xcalloc(1, sizeof(*msg));

	msg->fsync = set->fsync;
	/* maildir_root holds every Maildir, so links from there work; it
	 * is created with the first store, which may not exist yet */
	msg->fd = message_spool_open(msg, set->maildir.root);
	if (msg->fd < 0 && errno == ENOENT && maildir_file_mkdir_parents(set->maildir.root) == 0)
		msg->fd = message_spool_open(msg, set->maildir.root);
	if (msg->fd < 0) {
		log_error("store: cannot create a message spool in %s: %s", set->maildir.root,
			  strerror(errno));
		free(msg);
		*error_r = message_io_error;
		return -1;
	}
	msg->parser = mime_parser_create();
	/* the bytes are served as stored (see save.c) */
	mime_parser_set_physical_sizes(msg->parser);
	*msg_r = &msg->message;
	return 0;
}

int maildir_message_write(struct store_message *message, const void *data, size_t size,
			  const char **error_r)
{
	struct maildir_message *msg = (struct maildir_message *)message;

	if (msg->failed || msg->finished) {
		*error_r = message_io_error;
		return -1;
	}
	if (fault_inject(FAULT_MSG_WRITE) < 0 || write_full(msg->fd, data, size) < 0) {
		log_error("store: writing the message spool: %s", strerror(errno));
		msg->failed = true;
		*error_r = message_io_error;
		return -1;
	}
	maildir_file_header_scan_feed(&msg->scan, data, size);
	mime_parser_feed(msg->parser, data, size);
	return 0;
}

int maildir_message_finish(struct store_message *message, time_t internaldate,
			   const char **error_r)
{
	struct maildir_message *msg = (struct maildir_message *)message;
	struct timespec times[2];
	struct istream *spool;
	int ret;

	if (msg->failed || msg->finished) {
		*error_r = message_io_error;
		return -1;
	}
	spool = istream_from_fd_borrowed(msg->fd);
	ret = store_msg_cache_text_build(&msg->cache, &msg->text, msg->parser, spool);
	istream_destroy(&spool);
	if (ret < 0) {
		log_error("store: reading the message spool: %s", strerror(errno));
		msg->failed = true;
		*error_r = message_io_error;
		return -1;
	}
	mime_parser_destroy(&msg->parser);
	msg->finished = true;
	msg->internaldate = internaldate == 0 ? time(NULL) : internaldate;
	times[0].tv_sec = times[1].tv_sec = msg->internaldate;
	times[0].tv_nsec = times[1].tv_nsec = 0;
	/* the mtime first, so that the fsync makes it durable too */
	if (futimens(msg->fd, times) < 0 || (msg->fsync && (fault_inject(FAULT_FILE_FSYNC) < 0 || fsync(msg->fd) < 0))) {
		log_error("store: syncing the message spool: %s", strerror(errno));
		msg->failed = true;
		*error_r = message_io_error;
		return -1;
	}
	return 0;
}

void maildir_message_free(struct store_message *message)
{
	struct maildir_message *msg = (struct maildir_message *)message;

	if (msg->parser != NULL)
		mime_parser_destroy(&msg->parser);
	if (msg->finished) {
		store_msg_cache_data_free(&msg->cache);
		store_msg_text_data_free(&msg->text);
	}
	close(msg->fd);
	if (msg->path != NULL) {
		(void)unlink(msg->path);
		free(msg->path);
	}
	free(msg);
}

int maildir_message_place(struct maildir_store *ms, struct maildir_message *msg,
			  const char *dst)
{
	int ret;

	if (msg->path != NULL) {
		ret = link(msg->path, dst);
	} else {
		char proc[64];

		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", msg->fd);
		ret = linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW);
	}
	if (ret == 0)
		return 0;
	if (errno == EEXIST)
		return maildir_storage_set_syscall_error(ms, "link", dst);
	/* EXDEV, EMLINK, EPERM, ENOENT (no /proc), ...: copy the bytes */
	return maildir_file_copy_fd(ms, msg->fd, dst, msg->internaldate);
}
