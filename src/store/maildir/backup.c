/* backup.c: the Maildir backend's backup, restore and purge of one user
 * (store_backup(), store_restore(), store_purge(); `roost backup`,
 * `roost restore`, `roost user del --purge`).
 *
 * A backup of a user is a directory laid out as the user's directory
 * under maildir_root:
 *
 *   index.sqlite     the index, copied with SQLite's online backup API
 *   Maildir/...      every folder: roost-uidlist, roost-keywords, and in
 *                    cur/ the files of the index's rows (hard links when
 *                    the backup is on the same file system, else copies)
 *   Maildir/roost-subscriptions
 *   sieve/           the Sieve scripts and the `active` link (copies)
 *
 * Consistency: the whole of a user's backup is taken inside one write
 * transaction of the index (BEGIN IMMEDIATE), which every change of the
 * store takes too: an append renames its file into cur/ and inserts the
 * row inside it, a flag change renames the file inside it, an expunge
 * deletes the rows inside it (the files go after the commit).  So while
 * it is held, the rows are exactly the committed messages and each row's
 * file has the row's name; the files linked are those of the rows, never
 * a leftover of an expunge or of a crash.  Writers of the user wait
 * meanwhile (up to the index's busy timeout, 5 s); linking costs some
 * microseconds a message (bench/README.md: bench/backup).
 *
 * Restore builds the user's directory beside the live one (same file
 * system: the message files are linked from the backup when it is on
 * it) and swaps the two with one rename (renameat2 RENAME_EXCHANGE) while
 * holding the user's lock exclusively, as a rebuild does: no process has
 * the old index open then, and one that wakes finds another index file
 * and logs its sessions out (storage.c: maildir_storage_relock()). */
#include "store/maildir/maildir-private.h"
#include "base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* how long restore and purge wait for the user's store to be let go of */
#define MAILDIR_BACKUP_LOCK_WAIT_MS 10000

static uint64_t now_usecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Copies the regular file src to the new file dst (O_EXCL, 0600) with
 * src's mtime (a message's internal date).  0, or -1 with errno. */
static int file_copy(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	int out = -1, ret = -1;

	if (in < 0)
		return -1;
	if (fstat(in, &st) < 0)
		goto out;
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		goto out;
	for (;;) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);

		if (n == 0)
			break;
		if (n > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
			goto out;
		/* a plain read/write loop where the kernel cannot */
		char buf[65536];
		ssize_t r;

		while ((r = read(in, buf, sizeof(buf))) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				goto out;
			}
			if (write_full(out, buf, (size_t)r) < 0)
				goto out;
		}
		break;
	}
	struct timespec times[2] = { st.st_atim, st.st_mtim };
	if (futimens(out, times) < 0)
		goto out;
	ret = 0;
out:
	if (out >= 0 && close(out) < 0)
		ret = -1;
	if (ret < 0 && out >= 0) {
		int err = errno;

		(void)unlink(dst);
		errno = err;
	}
	close(in);
	return ret;
}

/* A message file into the backup: a hard link where the file system
 * allows it, else a copy.  0, or -1 with errno. */
static int file_link_or_copy(const char *src, const char *dst, struct store_backup_stats *stats)
{
	struct stat st;

	if (link(src, dst) == 0) {
		stats->files_linked++;
		return 0;
	}
	if (errno != EXDEV && errno != EPERM && errno != EMLINK && errno != EOPNOTSUPP)
		return -1;
	if (file_copy(src, dst) < 0)
		return -1;
	stats->files_copied++;
	if (stat(dst, &st) == 0)
		stats->bytes_copied += (uint64_t)st.st_size;
	return 0;
}

/* A small file (roost-uidlist, a script) copied, not linked: the store
 * replaces these by rename, but a copy keeps the backup independent of
 * whatever else may write them.  A missing src is fine. */
static int small_copy(struct maildir_store *ms, const char *src, const char *dst)
{
	if (file_copy(src, dst) < 0 && errno != ENOENT)
		return maildir_storage_set_syscall_error(ms, "copy", src);
	return 0;
}

/* Copies the regular files and symbolic links of directory src (not
 * below it) into the new directory dst.  A missing src is fine. */
static int dir_copy_flat(struct maildir_store *ms, const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *de;
	int ret = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : maildir_storage_set_syscall_error(ms, "opendir", src);
	if (mkdir(dst, 0700) < 0) {
		closedir(d);
		return maildir_storage_set_syscall_error(ms, "mkdir", dst);
	}
	while (ret == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *s = xasprintf("%s/%s", src, de->d_name);
		char *t = xasprintf("%s/%s", dst, de->d_name);
		struct stat st;

		if (lstat(s, &st) < 0) {
			if (errno != ENOENT)
				ret = maildir_storage_set_syscall_error(ms, "lstat", s);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(s, target, sizeof(target) - 1);

			if (n < 0) {
				if (errno != ENOENT)
					ret = maildir_storage_set_syscall_error(ms, "readlink", s);
			} else {
				target[n] = '\0';
				if (symlink(target, t) < 0)
					ret = maildir_storage_set_syscall_error(ms, "symlink", t);
			}
		} else if (S_ISREG(st.st_mode)) {
			ret = small_copy(ms, s, t);
		}
		free(s);
		free(t);
	}
	closedir(d);
	return ret;
}

/* One folder into the backup: its directories, roost-uidlist,
 * roost-keywords and the files of its rows (inside the write
 * transaction). */
static int backup_folder(struct maildir_store *ms, const struct index_mailbox_entry *entry,
			 const char *dest_dir, struct store_backup_stats *stats)
{
	char *dir = maildir_storage_mailbox_dir(ms, entry->name);
	if (dir == NULL)
		return -1;
	char *dest = xasprintf("%s%s", dest_dir, dir + strlen(ms->userdir));
	int ret = 0;

	if (maildir_file_mkdir_parents(dest) < 0)
		ret = maildir_storage_set_syscall_error(ms, "mkdir", dest);
	static const char *const subdirs[] = { "cur", "new", "tmp" };
	for (size_t i = 0; ret == 0 && i < N_ELEMENTS(subdirs); i++) {
		char *path = xasprintf("%s/%s", dest, subdirs[i]);

		if (mkdir(path, 0700) < 0)
			ret = maildir_storage_set_syscall_error(ms, "mkdir", path);
		free(path);
	}
	static const char *const files[] = { "roost-uidlist", "roost-keywords" };
	for (size_t i = 0; ret == 0 && i < N_ELEMENTS(files); i++) {
		char *s = xasprintf("%s/%s", dir, files[i]);
		char *t = xasprintf("%s/%s", dest, files[i]);

		ret = small_copy(ms, s, t);
		free(s);
		free(t);
	}
	struct index_msg_iter *iter = index_msg_iter_init(ms->index, entry->id, 0);
	struct index_msg row;
	int r = 0;
	while (ret == 0 && (r = index_msg_iter_next(iter, &row)) > 0) {
		char *s = xasprintf("%s/cur/%s", dir, row.location);
		char *t = xasprintf("%s/cur/%s", dest, row.location);

		if (file_link_or_copy(s, t, stats) < 0) {
			if (errno == ENOENT) {
				/* the index has a row whose file is gone (damage
				 * `roost check` reports): the backup keeps the row,
				 * the restored store expunges it at its first open */
				log_warning("store(%s): backup: %s is missing", ms->store.user, s);
				stats->files_missing++;
			} else {
				ret = maildir_storage_set_syscall_error(ms, "link", t);
			}
		} else {
			stats->messages++;
			stats->bytes += row.msg.size;
		}
		free(s);
		free(t);
	}
	if (r < 0)
		ret = -1;
	index_msg_iter_deinit(&iter);
	stats->mailboxes++;
	free(dest);
	free(dir);
	return ret;
}

int maildir_backup(struct store *store, const char *dest_dir, struct store_backup_stats *stats_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct index_mailbox_entry *entries = NULL;
	size_t count = 0;
	int ret = 0;

	memset(stats_r, 0, sizeof(*stats_r));
	if (maildir_file_mkdir_parents(dest_dir) < 0)
		return maildir_storage_set_syscall_error(ms, "mkdir", dest_dir);
	/* the write lock: see the top of this file */
	uint64_t start = now_usecs();
	if (maildir_storage_relock(ms) < 0 || index_begin(ms->index, true) < 0)
		return -1;
	uint64_t locked = now_usecs();
	stats_r->lock_wait_usecs = locked - start;
	if (index_mailbox_list(ms->index, &entries, &count) < 0)
		ret = -1;
	for (size_t i = 0; ret == 0 && i < count; i++) {
		if (entries[i].exists)
			ret = backup_folder(ms, &entries[i], dest_dir, stats_r);
	}
	if (ret == 0) {
		char *s = xasprintf("%s/roost-subscriptions", ms->maildir);
		char *t = xasprintf("%s/Maildir/roost-subscriptions", dest_dir);

		ret = small_copy(ms, s, t);
		free(s);
		free(t);
	}
	if (ret == 0) {
		char *t = xasprintf("%s/index.sqlite", dest_dir);

		ret = index_backup(ms->index, t);
		free(t);
	}
	index_rollback(ms->index);
	stats_r->lock_usecs = now_usecs() - locked;
	index_mailbox_entries_free(entries, count);
	/* the scripts are files of their own, replaced by rename (sieve.c) */
	if (ret == 0) {
		char *s = xasprintf("%s/sieve", ms->userdir);
		char *t = xasprintf("%s/sieve", dest_dir);

		ret = dir_copy_flat(ms, s, t);
		free(s);
		free(t);
	}
	if (ret == 0 && ms->fsync) {
		int fd = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0 || syncfs(fd) < 0)
			ret = maildir_storage_set_syscall_error(ms, "syncfs", dest_dir);
		if (fd >= 0)
			close(fd);
	}
	return ret;
}

/* ---- restore and purge: the user's directory replaced or removed ---- */

/* Copies the tree src into the new directory dst: files under a cur/
 * directory are linked where possible (message files never change in
 * place), everything else is copied (the index is written in place).
 * 0, or -1 with *error_r (allocated). */
static int tree_restore(const char *src, const char *dst, bool in_cur, uint64_t *messages,
			char **error_r)
{
	DIR *d = opendir(src);
	struct dirent *de;
	int ret = 0;

	if (d == NULL) {
		*error_r = xasprintf("opendir(%s): %s", src, strerror(errno));
		return -1;
	}
	if (mkdir(dst, 0700) < 0) {
		*error_r = xasprintf("mkdir(%s): %s", dst, strerror(errno));
		closedir(d);
		return -1;
	}
	while (ret == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *s = xasprintf("%s/%s", src, de->d_name);
		char *t = xasprintf("%s/%s", dst, de->d_name);
		struct stat st;

		if (lstat(s, &st) < 0) {
			*error_r = xasprintf("lstat(%s): %s", s, strerror(errno));
			ret = -1;
		} else if (S_ISDIR(st.st_mode)) {
			ret = tree_restore(s, t, strcmp(de->d_name, "cur") == 0, messages,
					   error_r);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlink(s, target, sizeof(target) - 1);

			if (n < 0 || (target[n] = '\0', symlink(target, t) < 0)) {
				*error_r = xasprintf("symlink(%s): %s", t, strerror(errno));
				ret = -1;
			}
		} else if (S_ISREG(st.st_mode)) {
			int r;

			if (in_cur) {
				r = link(s, t);
				if (r < 0 && (errno == EXDEV || errno == EPERM || errno == EMLINK ||
					      errno == EOPNOTSUPP))
					r = file_copy(s, t);
				(*messages)++;
			} else {
				r = file_copy(s, t);
			}
			if (r < 0) {
				*error_r = xasprintf("copying %s to %s: %s", s, t, strerror(errno));
				ret = -1;
			}
		}
		free(s);
		free(t);
	}
	closedir(d);
	return ret;
}

/* Takes the user's lock exclusively into *fd_r, waiting up to
 * MAILDIR_BACKUP_LOCK_WAIT_MS for processes to let go of it (idle
 * sessions do after 2 s).  1 taken, 0 no user directory, -1 error
 * (*error_r), -2 still in use after the wait (*error_r). */
static int user_lock_exclusive(struct maildir_store *ms, int *fd_r, char **error_r)
{
	struct stat st;
	uint64_t start = now_usecs();

	if (stat(ms->userdir, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		*error_r = xasprintf("stat(%s): %s", ms->userdir, strerror(errno));
		return -1;
	}
	while (maildir_storage_lock(ms, true) < 0) {
		if (errno != EWOULDBLOCK) {
			*error_r = xasprintf("open(%s/lock): %s", ms->userdir, strerror(errno));
			return -1;
		}
		if (now_usecs() - start > MAILDIR_BACKUP_LOCK_WAIT_MS * 1000ULL) {
			*error_r = xasprintf("the mail store of %s stayed in use for %d s (IMAP "
					     "commands, deliveries, a rebuild or backup); nothing "
					     "was changed.  Try again, or stop the server",
					     ms->store.user, MAILDIR_BACKUP_LOCK_WAIT_MS / 1000);
			return -2;
		}
		usleep(100000);
	}
	*fd_r = ms->lock_fd;
	ms->lock_fd = -1;
	return 1;
}

/* Wakes the sessions watching the store now at `userdir` (its `notify`
 * file): they sync, find their index replaced and log out. */
static void touch_notify(const char *userdir)
{
	char *path = xasprintf("%s/notify", userdir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd >= 0) {
		(void)futimens(fd, NULL);
		close(fd);
	}
	free(path);
}

static int fsync_dir_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = fd < 0 ? -1 : fsync(fd);

	if (fd >= 0)
		close(fd);
	return ret;
}

/* The name beside the user's directory that a replaced or purged store
 * is moved to: a dot name, which no user has (store.c: user_parse()). */
static char *aside_name(struct maildir_store *ms, const char *what)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	const char *slash = strrchr(ms->userdir, '/');

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	return xasprintf("%.*s/.%s-%s-%s-%ld", (int)(slash - ms->userdir), ms->userdir, what,
			 slash + 1, stamp, (long)getpid());
}

int maildir_restore(const struct store_settings *set, const char *user_local,
		    const char *user_domain, const char *src_dir, bool force,
		    struct store_restore_result *result_r, char **error_r)
{
	struct maildir_store *ms = maildir_storage_alloc(set, user_local, user_domain);
	char *domdir = xasprintf("%s/%s", set->maildir.root, user_domain);
	char *stage = aside_name(ms, "restore");
	char *index_path = xasprintf("%s/index.sqlite", src_dir);
	int lock_fd = -1, ret = 0;
	struct stat st;

	memset(result_r, 0, sizeof(*result_r));
	if (stat(index_path, &st) < 0) {
		*error_r = xasprintf("%s is not the backup of a user's store: %s: %s", src_dir,
				     index_path, strerror(errno));
		ret = -1;
	}
	if (ret == 0 && maildir_file_mkdir_parents(domdir) < 0) {
		*error_r = xasprintf("mkdir(%s): %s", domdir, strerror(errno));
		ret = -1;
	}
	if (ret == 0 && !force && lstat(ms->userdir, &st) == 0) {
		*error_r = xasprintf("%s already has a mail store (%s); --force replaces it, "
				     "keeping the old one beside it", ms->store.user, ms->userdir);
		result_r->exists = true;
		ret = -1;
	}
	/* built beside the live directory, where a rename can swap them */
	if (ret == 0)
		ret = tree_restore(src_dir, stage, false, &result_r->messages, error_r);
	if (ret == 0) {
		char *path = xasprintf("%s/Maildir", stage);

		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
			*error_r = xasprintf("%s is not the backup of a user's store: no Maildir",
					     src_dir);
			ret = -1;
		}
		free(path);
	}
	if (ret == 0 && set->fsync) {
		int fd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0 || syncfs(fd) < 0) {
			*error_r = xasprintf("syncfs(%s): %s", stage, strerror(errno));
			ret = -1;
		}
		if (fd >= 0)
			close(fd);
	}
	int locked = ret == 0 ? user_lock_exclusive(ms, &lock_fd, error_r) : -1;
	if (locked < 0) {
		result_r->busy = locked == -2;
		ret = -1;
	} else if (locked == 0) {
		/* no store yet: a plain rename, which fails if one was made
		 * meanwhile */
		if (rename(stage, ms->userdir) < 0) {
			*error_r = xasprintf("rename(%s, %s): %s", stage, ms->userdir,
					     strerror(errno));
			ret = -1;
		}
	} else if (!force) {
		*error_r = xasprintf("%s already has a mail store (%s); --force replaces it, "
				     "keeping the old one beside it", ms->store.user, ms->userdir);
		result_r->exists = true;
		ret = -1;
	} else if (renameat2(AT_FDCWD, stage, AT_FDCWD, ms->userdir, RENAME_EXCHANGE) < 0) {
		*error_r = xasprintf("renameat2(%s, %s, RENAME_EXCHANGE): %s", stage, ms->userdir,
				     strerror(errno));
		ret = -1;
	} else {
		/* the stage holds the old store now: kept under a name of its own */
		char *aside = aside_name(ms, "replaced");

		if (rename(stage, aside) < 0) {
			log_warning("store(%s): rename(%s, %s): %m; the replaced store stays "
				    "at %s", ms->store.user, stage, aside, stage);
			free(aside);
			aside = xstrdup(stage);
		}
		touch_notify(aside);
		result_r->aside = aside;
	}
	if (ret == 0) {
		touch_notify(ms->userdir);
		if (set->fsync)
			(void)fsync_dir_path(domdir);
	} else if (lstat(stage, &st) == 0 && result_r->aside == NULL) {
		(void)maildir_file_remove_tree(stage);
	}
	if (lock_fd >= 0)
		close(lock_fd);
	free(index_path);
	free(stage);
	free(domdir);
	free(ms->store.user);
	free(ms->store.error);
	maildir_storage_free(ms);
	return ret;
}

int maildir_purge(const struct store_settings *set, const char *user_local,
		  const char *user_domain, char **error_r)
{
	struct maildir_store *ms = maildir_storage_alloc(set, user_local, user_domain);
	int lock_fd = -1, ret = 0;
	int locked = user_lock_exclusive(ms, &lock_fd, error_r);

	if (locked <= 0) {
		ret = locked < 0 ? -1 : 0;
	} else {
		/* out of the way at once (a new delivery then makes a new,
		 * empty store), then removed */
		char *aside = aside_name(ms, "purge");

		if (rename(ms->userdir, aside) < 0) {
			*error_r = xasprintf("rename(%s, %s): %s", ms->userdir, aside,
					     strerror(errno));
			ret = -1;
		} else {
			touch_notify(aside);
			close(lock_fd);
			lock_fd = -1;
			if (maildir_file_remove_tree(aside) < 0) {
				*error_r = xasprintf("removing %s: %s", aside, strerror(errno));
				ret = -1;
			} else {
				ret = 1;
			}
		}
		free(aside);
	}
	if (lock_fd >= 0)
		close(lock_fd);
	free(ms->store.user);
	free(ms->store.error);
	maildir_storage_free(ms);
	return ret;
}

int maildir_exists(const struct store_settings *set, const char *user_local,
		   const char *user_domain)
{
	char *path = xasprintf("%s/%s/%s/Maildir", set->maildir.root, user_domain, user_local);
	struct stat st;
	int ret = stat(path, &st) == 0 ? 1 : errno == ENOENT ? 0 : -1;

	free(path);
	return ret;
}
