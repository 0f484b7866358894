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
 * Consistency: a user's backup ends inside one write transaction of the
 * index (BEGIN IMMEDIATE), which every change of the store takes too: an
 * append renames its file into cur/ and inserts the row inside it, a
 * flag change renames the file inside it, an expunge deletes the rows
 * inside it (the files go after the commit).  So while it is held, the
 * rows are exactly the committed messages and each row's file has the
 * row's name.  The bulk of the work comes first, without the lock: every
 * row's file is linked or copied.  Then, with the lock, the rows are
 * read again: a file placed under the row's name is kept, the rest is
 * placed now (mail that came meanwhile, files renamed by a flag change),
 * and placed files that no row names any more are removed (expunged,
 * renamed); so the backup holds the files of the rows, never a leftover
 * of an expunge or of a crash.  The index's copy is begun inside the
 * lock (a read transaction of its own: index_backup_begin()) and made
 * after it.  Writers of the user wait only for the locked pass: a read
 * of the rows and the files that changed (bench/README.md:
 * bench/backup).
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

/* Copies the directory src into the new directory dst: its regular files
 * and symbolic links, and with `recursive` its directories.  Files under
 * a cur/ directory are linked where possible (message files never change
 * in place) and counted in *messages; everything else is copied (the
 * index is written in place, scripts are replaced by rename).  0, or -1
 * with *error_r (allocated). */
static int tree_copy(const char *src, const char *dst, bool recursive, bool in_cur,
		     uint64_t *messages, char **error_r)
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
			if (recursive)
				ret = tree_copy(s, t, true, strcmp(de->d_name, "cur") == 0,
						messages, error_r);
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

/* One folder of the backup: where it is, and the names of the message
 * files the pass without the lock placed there (sorted after that pass,
 * with what the locked pass found of them). */
struct backup_folder {
	char *dir, *dest;
	char **names;
	bool *used;
	size_t count, cap;
	bool seen;		/* listed by the locked pass */
};

struct backup_ctx {
	struct maildir_store *ms;
	const char *dest_dir;
	struct store_backup_stats *stats;
	struct backup_folder *folders;
	size_t folder_count, folder_cap;
};

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The folder of mailbox `name` (its directories made in the backup), a
 * new one the first time; NULL with the error set. */
static struct backup_folder *backup_folder_get(struct backup_ctx *ctx, const char *name)
{
	struct maildir_store *ms = ctx->ms;
	char *dir = maildir_storage_mailbox_dir(ms, name);

	if (dir == NULL)
		return NULL;
	for (size_t i = 0; i < ctx->folder_count; i++) {
		if (strcmp(ctx->folders[i].dir, dir) == 0) {
			free(dir);
			return &ctx->folders[i];
		}
	}
	char *dest = xasprintf("%s%s", ctx->dest_dir, dir + strlen(ms->userdir));
	int ret = 0;
	if (maildir_file_mkdir_parents(dest) < 0)
		ret = maildir_storage_set_syscall_error(ms, "mkdir", dest);
	static const char *const subdirs[] = { "cur", "new", "tmp" };
	for (size_t i = 0; ret == 0 && i < N_ELEMENTS(subdirs); i++) {
		char *path = xasprintf("%s/%s", dest, subdirs[i]);

		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			ret = maildir_storage_set_syscall_error(ms, "mkdir", path);
		free(path);
	}
	if (ret < 0) {
		free(dir);
		free(dest);
		return NULL;
	}
	ARRAY_RESERVE(ctx->folders, ctx->folder_cap, ctx->folder_count + 1);
	struct backup_folder *f = &ctx->folders[ctx->folder_count++];
	memset(f, 0, sizeof(*f));
	f->dir = dir;
	f->dest = dest;
	return f;
}

/* The message files of the folder's rows into the backup.  Without the
 * lock (locked false) every row's file is placed and its name noted; a
 * file renamed or expunged meanwhile is skipped.  With the lock, a row
 * whose file was placed under its current name is only counted, the
 * others are placed now (new mail, changed flags), and the placed files
 * no row names any more (expunged, renamed) are removed. */
static int backup_folder_rows(struct backup_ctx *ctx, struct backup_folder *f,
			      int64_t mailbox_id, bool locked)
{
	struct maildir_store *ms = ctx->ms;
	struct store_backup_stats *stats = ctx->stats;
	struct index_msg_iter *iter = index_msg_iter_init(ms->index, mailbox_id, 0);
	struct index_msg row;
	int r, ret = 0;

	while (ret == 0 && (r = index_msg_iter_next(iter, &row)) > 0) {
		if (locked && f->count > 0) {
			const char *key = row.location;
			char **found = bsearch(&key, f->names, f->count, sizeof(*f->names),
					       name_cmp);
			if (found != NULL) {
				f->used[found - f->names] = true;
				stats->messages++;
				stats->bytes += row.msg.size;
				continue;
			}
		}
		char *src = xasprintf("%s/cur/%s", f->dir, row.location);
		char *dst = xasprintf("%s/cur/%s", f->dest, row.location);

		if (file_link_or_copy(src, dst, stats) == 0) {
			if (locked) {
				stats->messages++;
				stats->bytes += row.msg.size;
			} else {
				ARRAY_RESERVE(f->names, f->cap, f->count + 1);
				f->names[f->count++] = xstrdup(row.location);
			}
		} else if (errno != ENOENT) {
			ret = maildir_storage_set_syscall_error(ms, "link", dst);
		} else if (locked) {
			/* the index has a row whose file is gone (damage `roost
			 * check` reports): the backup keeps the row, the
			 * restored store expunges it at its first open */
			log_warning("store(%s): backup: %s is missing", ms->store.user, src);
			stats->files_missing++;
		}
		free(src);
		free(dst);
	}
	if (r < 0)
		ret = -1;
	index_msg_iter_deinit(&iter);
	if (!locked) {
		if (f->count > 0)
			qsort(f->names, f->count, sizeof(*f->names), name_cmp);
		f->used = xcalloc(f->count + 1, sizeof(*f->used));
		return ret;
	}
	for (size_t i = 0; ret == 0 && i < f->count; i++) {
		if (f->used[i])
			continue;
		char *dst = xasprintf("%s/cur/%s", f->dest, f->names[i]);

		if (unlink(dst) < 0 && errno != ENOENT)
			ret = maildir_storage_set_syscall_error(ms, "unlink", dst);
		free(dst);
	}
	return ret;
}

/* The locked pass over one folder: its small files (roost-keywords is
 * rewritten inside write transactions) and its rows. */
static int backup_folder_locked(struct backup_ctx *ctx, const struct index_mailbox_entry *entry)
{
	struct backup_folder *f = backup_folder_get(ctx, entry->name);
	int ret = f == NULL ? -1 : 0;

	if (f != NULL)
		f->seen = true;
	static const char *const files[] = { "roost-uidlist", "roost-keywords" };
	for (size_t i = 0; ret == 0 && i < N_ELEMENTS(files); i++) {
		char *src = xasprintf("%s/%s", f->dir, files[i]);
		char *dst = xasprintf("%s/%s", f->dest, files[i]);

		ret = small_copy(ctx->ms, src, dst);
		free(src);
		free(dst);
	}
	if (ret == 0)
		ret = backup_folder_rows(ctx, f, entry->id, true);
	ctx->stats->mailboxes++;
	return ret;
}

static void backup_ctx_free(struct backup_ctx *ctx)
{
	for (size_t i = 0; i < ctx->folder_count; i++) {
		struct backup_folder *f = &ctx->folders[i];

		for (size_t j = 0; j < f->count; j++)
			free(f->names[j]);
		free(f->names);
		free(f->used);
		free(f->dir);
		free(f->dest);
	}
	free(ctx->folders);
}

/* The first pass, without the lock: the bulk of the work, while the
 * user's writers go on. */
static int backup_unlocked(struct backup_ctx *ctx)
{
	struct index_mailbox_entry *entries = NULL;
	size_t count = 0;
	int ret = index_mailbox_list(ctx->ms->index, &entries, &count);

	for (size_t i = 0; ret == 0 && i < count; i++) {
		if (!entries[i].exists)
			continue;
		struct backup_folder *f = backup_folder_get(ctx, entries[i].name);

		ret = f == NULL ? -1 : backup_folder_rows(ctx, f, entries[i].id, false);
	}
	index_mailbox_entries_free(entries, count);
	return ret < 0 ? -1 : 0;
}

/* The second pass, holding the write lock: the backup made exactly what
 * is committed now, and the index's copy begun at that state. */
static int backup_locked(struct backup_ctx *ctx, struct index_backup **index_backup_r)
{
	struct maildir_store *ms = ctx->ms;
	struct index_mailbox_entry *entries = NULL;
	size_t count = 0;
	int ret = index_mailbox_list(ms->index, &entries, &count);

	for (size_t i = 0; ret == 0 && i < count; i++) {
		if (entries[i].exists)
			ret = backup_folder_locked(ctx, &entries[i]);
	}
	index_mailbox_entries_free(entries, count);
	if (ret == 0) {
		char *src = xasprintf("%s/roost-subscriptions", ms->maildir);
		char *dst = xasprintf("%s/Maildir/roost-subscriptions", ctx->dest_dir);

		ret = small_copy(ms, src, dst);
		free(src);
		free(dst);
	}
	if (ret == 0)
		ret = index_backup_begin(ms->index, index_backup_r);
	return ret < 0 ? -1 : 0;
}

int maildir_backup(struct store *store, const char *dest_dir, struct store_backup_stats *stats_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct backup_ctx ctx = { .ms = ms, .dest_dir = dest_dir, .stats = stats_r };
	struct index_backup *index_backup = NULL;
	int ret = 0;

	memset(stats_r, 0, sizeof(*stats_r));
	if (maildir_file_mkdir_parents(dest_dir) < 0)
		return maildir_storage_set_syscall_error(ms, "mkdir", dest_dir);
	if (maildir_storage_relock(ms) < 0)
		return -1;
	ret = backup_unlocked(&ctx);
	if (ret == 0) {
		/* the write lock: see the top of this file */
		uint64_t start = now_usecs();

		ret = index_begin(ms->index, true);
		uint64_t locked = now_usecs();
		stats_r->lock_wait_usecs = locked - start;
		if (ret == 0) {
			ret = backup_locked(&ctx, &index_backup);
			index_rollback(ms->index);
			stats_r->lock_usecs = now_usecs() - locked;
		}
	}
	/* folders deleted or renamed between the passes */
	for (size_t i = 0; ret == 0 && i < ctx.folder_count; i++) {
		if (!ctx.folders[i].seen && maildir_file_remove_tree(ctx.folders[i].dest) < 0)
			ret = maildir_storage_set_syscall_error(ms, "remove", ctx.folders[i].dest);
	}
	backup_ctx_free(&ctx);
	if (index_backup != NULL) {
		char *path = xasprintf("%s/index.sqlite", dest_dir);

		if (index_backup_finish(&index_backup, ret == 0 ? path : NULL) < 0)
			ret = -1;
		free(path);
	}
	/* the scripts are files of their own, replaced by rename (sieve.c) */
	if (ret == 0) {
		char *src = xasprintf("%s/sieve", ms->userdir);
		char *dst = xasprintf("%s/sieve", dest_dir);
		struct stat st;
		uint64_t n = 0;
		char *error = NULL;

		if (stat(src, &st) == 0 && tree_copy(src, dst, false, false, &n, &error) < 0) {
			store_set_internal_error(&ms->store, "backup: %s", error);
			free(error);
			ret = -1;
		}
		free(src);
		free(dst);
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
		ret = tree_copy(src_dir, stage, true, false, &result_r->messages, error_r);
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
