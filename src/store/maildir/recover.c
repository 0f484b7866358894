/* recover.c: what a crash leaves in a folder, found and repaired.
 *
 * An append (COPY, new/ pickup) puts its file into cur/ under its UID
 * inside the index write transaction and commits the row afterwards, so
 * a process killed in between leaves a complete file in cur/ that carries
 * a UID (U=N) the index never recorded: N is still UIDNEXT.  Handing N to
 * the next message would give two files the same UID, and a rebuild could
 * then move an acknowledged message to another UID.  So:
 *
 * - Every such write transaction first creates a marker
 *   tmp/.roost-uids-<first>-<last>.<unique> naming the UIDs it is about to
 *   put into cur/, and removes it after its commit or rollback.  A writer
 *   that holds the write lock and finds a marker whose <first> is not
 *   below UIDNEXT knows that its owner died before committing (nobody
 *   else can be between rename and commit while it holds the lock), and
 *   repairs the folder before it allocates a UID.
 * - The first open of a folder by a process (SELECT, EXAMINE, or the
 *   first UID it allocates there) compares cur/ with the index once, for
 *   what a power loss or an older version left.
 *
 * Repair adopts every complete file of cur/ that the index does not know
 * (matched by the unique part of the name) as a new message: with the UID
 * its name carries when that is at or above UIDNEXT and not in use, else
 * with a fresh UID (the file is renamed to carry it); UIDNEXT moves past
 * all of them, so no UID a file carries is ever handed out again.  An
 * append fsyncs its file after the rename (one journal commit for both),
 * so an unknown file of an uncommitted UID that is shorter than its S=
 * was cut by the crash; it was never acknowledged and is removed
 * (file_is_cut_short()).  An
 * unknown file whose UID is an expunge tombstone is what an expunge left
 * behind and is removed.  A message the client never saw acknowledged may
 * so appear once (the client may send it again): mail is never dropped.
 *
 * An index row whose file is gone from cur/ (deleted by hand, lost by the
 * file system) is a message nobody can read: under the write lock (so no
 * Roost rename or append is half done) it is expunged with a warning in
 * the log, as Dovecot does with a vanished file, so sessions get an
 * EXPUNGE for it instead of [EXPUNGEISSUED] for ever.  That happens at the
 * first open of the folder by a process and when a read of the message
 * finds the file missing (maildir_recover_vanished()); roost check
 * reports such rows. */
#include "store/maildir/maildir-private.h"
#include "base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MARKER_PREFIX ".roost-uids-"
/* a marker of a committed transaction is normally removed at once by its
 * owner; one older than this was left by a crash after the commit */
#define MARKER_COMMITTED_MAX_AGE 60

struct recover_file {
	char *name;
	struct maildir_filename fn;
	time_t mtime;
	uint64_t size;
	bool indexed;
};

struct recover_row {
	uint32_t uid;
	char *unique;
	bool found;
};

struct recover_scan {
	bool no_cur;		/* cur/ is not there: no row is vanished */
	struct recover_file *files;
	size_t file_count, file_cap;
	struct recover_row *rows;
	size_t row_count, row_cap;
};

static int file_unique_cmp(const void *a, const void *b)
{
	return strcmp(((const struct recover_file *)a)->fn.unique,
		      ((const struct recover_file *)b)->fn.unique);
}

static int row_unique_cmp(const void *a, const void *b)
{
	return strcmp(((const struct recover_row *)a)->unique,
		      ((const struct recover_row *)b)->unique);
}

static int file_uid_cmp(const void *a, const void *b)
{
	const struct recover_file *fa = a, *fb = b;

	/* files without a UID last */
	if (fa->fn.uid != fb->fn.uid) {
		if (fa->fn.uid == 0 || fb->fn.uid == 0)
			return fa->fn.uid == 0 ? 1 : -1;
		return fa->fn.uid < fb->fn.uid ? -1 : 1;
	}
	return strcmp(fa->name, fb->name);
}

static void scan_free(struct recover_scan *scan)
{
	for (size_t i = 0; i < scan->file_count; i++) {
		free(scan->files[i].name);
		free(scan->files[i].fn.unique);
	}
	for (size_t i = 0; i < scan->row_count; i++)
		free(scan->rows[i].unique);
	free(scan->files);
	free(scan->rows);
	memset(scan, 0, sizeof(*scan));
}

/* Reads cur/ and the folder's rows and matches them by unique part.  0 or
 * -1 (error set). */
static int scan_folder(struct maildir_store *ms, int64_t mailbox_id, const char *dir,
		       struct recover_scan *scan)
{
	char *curdir = xasprintf("%s/cur", dir);
	DIR *d = opendir(curdir);
	struct dirent *de;
	struct index_msg_iter *iter;
	struct index_msg msg;
	size_t i, j;
	int ret;

	memset(scan, 0, sizeof(*scan));
	if (d == NULL) {
		/* (a folder renamed under the caller, say): nothing to
		 * compare, and no row to call vanished */
		scan->no_cur = true;
		ret = errno == ENOENT ? 0 : maildir_storage_set_syscall_error(ms, "opendir", curdir);
		free(curdir);
		return ret;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		ARRAY_RESERVE(scan->files, scan->file_cap, scan->file_count + 1);
		struct recover_file *f = &scan->files[scan->file_count++];

		memset(f, 0, sizeof(*f));
		f->name = xstrdup(de->d_name);
		maildir_file_name_parse(de->d_name, &f->fn);
		f->mtime = st.st_mtime;
		f->size = (uint64_t)st.st_size;
	}
	closedir(d);
	free(curdir);

	iter = index_msg_iter_init(ms->index, mailbox_id, 0);
	while ((ret = index_msg_iter_next(iter, &msg)) > 0) {
		struct maildir_filename fn;

		ARRAY_RESERVE(scan->rows, scan->row_cap, scan->row_count + 1);
		maildir_file_name_parse(msg.location, &fn);
		scan->rows[scan->row_count].uid = msg.msg.uid;
		scan->rows[scan->row_count].unique = fn.unique;
		scan->rows[scan->row_count].found = false;
		scan->row_count++;
	}
	index_msg_iter_deinit(&iter);
	if (ret < 0) {
		scan_free(scan);
		return -1;
	}
	if (scan->file_count > 1)
		qsort(scan->files, scan->file_count, sizeof(*scan->files), file_unique_cmp);
	if (scan->row_count > 1)
		qsort(scan->rows, scan->row_count, sizeof(*scan->rows), row_unique_cmp);
	for (i = 0, j = 0; i < scan->file_count && j < scan->row_count;) {
		int cmp = strcmp(scan->files[i].fn.unique, scan->rows[j].unique);

		if (cmp == 0) {
			scan->files[i].indexed = true;
			scan->rows[j].found = true;
			i++;
			j++;
		} else if (cmp < 0) {
			i++;
		} else {
			j++;
		}
	}
	return 0;
}

/* Files without a row plus rows without a file. */
static size_t scan_orphan_count(const struct recover_scan *scan)
{
	size_t n = 0;

	for (size_t i = 0; i < scan->file_count; i++) {
		if (!scan->files[i].indexed)
			n++;
	}
	for (size_t i = 0; !scan->no_cur && i < scan->row_count; i++) {
		if (!scan->rows[i].found)
			n++;
	}
	return n;
}

/* 0 if (mailbox, uid) has a row whose file is gone from cur/ (not found
 * by its unique part either), 1 if the file is there or there is no row,
 * -1 on error. */
static int file_present(struct maildir_store *ms, int64_t mailbox_id, const char *dir,
			uint32_t uid)
{
	char *file = NULL, *actual = NULL;
	int ret, fd;

	ret = index_msg_get(ms->index, mailbox_id, uid, NULL, &file);
	if (ret <= 0)
		return ret < 0 ? -1 : 1;
	fd = maildir_file_open_msg(dir, file, &actual);
	if (fd >= 0) {
		close(fd);
		ret = 1;
	} else if (errno == ENOENT) {
		ret = 0;
	} else {
		ret = maildir_storage_set_syscall_error(ms, "open", file);
	}
	free(file);
	free(actual);
	return ret;
}

/* Inside the write transaction: expunges (mailbox, uids[0..count-1]),
 * rows whose file is gone, with modseq; logs each. */
static int expunge_vanished(struct maildir_store *ms, int64_t mailbox_id, const char *dir,
			    const uint32_t *uids, size_t count, uint64_t modseq)
{
	struct maildir_expunged_files files = { 0 };
	int ret;

	if (count == 0)
		return 0;
	ret = maildir_flags_expunge_uids(ms, mailbox_id, uids, count, modseq, &files);
	for (size_t i = 0; ret == 0 && i < files.count; i++) {
		log_warning("store(%s): %s/cur/%s is gone: its message is expunged",
			    ms->store.user, dir, files.names[i]);
	}
	maildir_flags_expunged_files_free(&files);
	if (ret == 0)
		ret = maildir_index_write_uidlist(ms, mailbox_id, dir);
	return ret;
}

/* 1 if (mailbox, uid) has a row (or, tombstones, a tombstone), 0 if not,
 * -1 on error. */
static int uid_known(struct maildir_store *ms, int64_t mailbox_id, uint32_t uid,
		     bool tombstones)
{
	return tombstones ? index_tombstone_exists(ms->index, mailbox_id, uid) :
		index_msg_get(ms->index, mailbox_id, uid, NULL, NULL);
}

static int adopt_file(struct maildir_store *ms, int64_t mailbox_id, const char *dir,
		      struct recover_file *f, uint32_t uid, uint64_t modseq,
		      store_keywords_t keyword_mask)
{
	char *src = xasprintf("%s/cur/%s", dir, f->name);
	store_keywords_t keywords = f->fn.keywords & keyword_mask;
	char *final = maildir_file_name(f->fn.unique, f->size, uid, f->fn.flags, keywords);
	uint64_t header_size;
	int ret = 0;

	if (maildir_file_header_size(src, &header_size) < 0)
		header_size = f->size;
	if (strcmp(final, f->name) != 0) {
		char *dst = xasprintf("%s/cur/%s", dir, final);

		if (rename(src, dst) < 0)
			ret = maildir_storage_set_syscall_error(ms, "rename", src);
		free(dst);
	}
	free(src);
	if (ret == 0) {
		struct store_msg msg = {
			.uid = uid, .flags = f->fn.flags, .keywords = keywords,
			.modseq = modseq, .internaldate = f->mtime, .size = f->size,
			.header_size = header_size,
		};

		ret = index_msg_insert(ms->index, mailbox_id, final, &msg, NULL);
	}
	if (ret == 0)
		log_warning("store(%s): %s/cur/%s had no index row (left by a crash): "
			    "adopted as UID %u", ms->store.user, dir, final, uid);
	free(final);
	return ret;
}

/* Removes the markers of tmp/: those of transactions that never committed
 * (first >= uidnext, or all with `all`), and those of committed ones
 * older than MARKER_COMMITTED_MAX_AGE.  Returns whether one of the first
 * kind was there. */
static bool markers_sweep(const char *dir, uint32_t uidnext, bool remove)
{
	char *tmpdir = xasprintf("%s/tmp", dir);
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	time_t now = time(NULL);
	bool crashed = false;

	free(tmpdir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		unsigned long first, last;
		struct stat st;
		bool stale;

		if (strncmp(de->d_name, MARKER_PREFIX, strlen(MARKER_PREFIX)) != 0 ||
		    sscanf(de->d_name + strlen(MARKER_PREFIX), "%lu-%lu", &first, &last) != 2)
			continue;
		if (first >= uidnext) {
			crashed = true;
			stale = true;
		} else {
			stale = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				st.st_ctime + MARKER_COMMITTED_MAX_AGE < now;
		}
		if (remove && stale)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d != NULL)
		closedir(d);
	return crashed;
}

static bool recovered_before(struct maildir_store *ms, int64_t mailbox_id)
{
	for (size_t i = 0; i < ms->recovered_count; i++) {
		if (ms->recovered[i] == mailbox_id)
			return true;
	}
	return false;
}

static void recovered_add(struct maildir_store *ms, int64_t mailbox_id)
{
	if (recovered_before(ms, mailbox_id))
		return;
	ARRAY_RESERVE(ms->recovered, ms->recovered_cap, ms->recovered_count + 1);
	ms->recovered[ms->recovered_count++] = mailbox_id;
}

/* The folders this process has compared with the index (by directory and
 * mailbox id), kept after their stores close: a store is opened again for
 * every new connection of a user, and what the comparison looks for, the
 * files of a power loss or an older version, cannot appear while the
 * process lives.  An append that a dead process left half done is found
 * by its marker in tmp/ (maildir_recover_on_open() still looks there). */
static struct process_recovered {
	char *dir;
	int64_t mailbox_id;
} *process_recovered;
static size_t process_recovered_count, process_recovered_cap;

static bool process_recovered_has(const char *dir, int64_t mailbox_id)
{
	for (size_t i = 0; i < process_recovered_count; i++) {
		if (process_recovered[i].mailbox_id == mailbox_id &&
		    strcmp(process_recovered[i].dir, dir) == 0)
			return true;
	}
	return false;
}

static void process_recovered_add(const char *dir, int64_t mailbox_id)
{
	if (process_recovered_has(dir, mailbox_id))
		return;
	ARRAY_RESERVE(process_recovered, process_recovered_cap, process_recovered_count + 1);
	process_recovered[process_recovered_count].dir = xstrdup(dir);
	process_recovered[process_recovered_count].mailbox_id = mailbox_id;
	process_recovered_count++;
}

/* An append renames its file into cur/ before it fsyncs it (save.c), so
 * a crash in between can leave the name with fewer bytes than the S= it
 * was given.  Such a file of an uncommitted UID (at or above UIDNEXT)
 * never had a row, and so was never acknowledged to anyone; adopting it
 * would serve a cut message.  A file with more bytes than its S=, or of
 * a committed UID, is not one of those and is adopted as it is. */
static bool file_is_cut_short(const struct recover_file *f, uint32_t uidnext)
{
	return f->fn.has_size && f->size < f->fn.size && f->fn.uid != 0 &&
		f->fn.uid >= uidnext;
}

/* Inside the write transaction: adopts the folder's unknown files and
 * sets UIDNEXT past them (*uidnext in: the row's, out: the new one). */
static int repair_folder(struct maildir_store *ms, int64_t mailbox_id, const char *dir,
			 uint32_t *uidnext)
{
	struct recover_scan scan;
	struct recover_file **orphans = NULL, **fresh = NULL;
	size_t orphan_count = 0, fresh_count = 0, i;
	uint32_t next = *uidnext, last_kept = 0;
	uint64_t modseq = 0;
	store_keywords_t keyword_mask;
	char **kw_names;
	size_t kw_count;
	int ret;

	if (scan_folder(ms, mailbox_id, dir, &scan) < 0)
		return -1;
	if (scan_orphan_count(&scan) == 0) {
		scan_free(&scan);
		return 0;
	}
	if (index_keyword_list(ms->index, mailbox_id, &kw_names, &kw_count) < 0) {
		scan_free(&scan);
		return -1;
	}
	index_names_free(kw_names, kw_count);
	kw_count = ROOST_MIN(kw_count, (size_t)MAILDIR_KEYWORD_LETTERS);
	keyword_mask = ((store_keywords_t)1 << kw_count) - 1;

	if (scan.file_count > 1)
		qsort(scan.files, scan.file_count, sizeof(*scan.files), file_uid_cmp);
	orphans = xcalloc(scan.file_count + 1, sizeof(*orphans));
	fresh = xcalloc(scan.file_count + 1, sizeof(*fresh));
	for (i = 0; i < scan.file_count; i++) {
		if (!scan.files[i].indexed)
			orphans[orphan_count++] = &scan.files[i];
	}
	ret = index_mailbox_next_modseq(ms->index, mailbox_id, &modseq);
	/* first those that keep their own UID (ascending), so the fresh
	 * ones go above them all */
	for (i = 0; ret == 0 && i < orphan_count; i++) {
		struct recover_file *f = orphans[i];
		uint32_t uid = f->fn.uid;
		int used = 0, expunged = 0;

		if (uid != 0) {
			used = uid_known(ms, mailbox_id, uid, false);
			expunged = used != 0 ? 0 : uid_known(ms, mailbox_id, uid, true);
		}
		if (used < 0 || expunged < 0) {
			ret = -1;
		} else if (file_is_cut_short(f, *uidnext)) {
			char *path = xasprintf("%s/cur/%s", dir, f->name);

			log_warning("store(%s): %s has %llu of its %llu bytes and no index row "
				    "(a crash before its fsync; never acknowledged): removed",
				    ms->store.user, path, (unsigned long long)f->size,
				    (unsigned long long)f->fn.size);
			if (unlink(path) < 0 && errno != ENOENT)
				ret = maildir_storage_set_syscall_error(ms, "unlink", path);
			free(path);
		} else if (expunged > 0) {
			char *path = xasprintf("%s/cur/%s", dir, f->name);

			log_warning("store(%s): %s had no index row and UID %u was expunged: removed",
				    ms->store.user, path, uid);
			if (unlink(path) < 0 && errno != ENOENT)
				ret = maildir_storage_set_syscall_error(ms, "unlink", path);
			free(path);
		} else if (uid != 0 && uid >= *uidnext && used == 0 && uid != last_kept) {
			ret = adopt_file(ms, mailbox_id, dir, f, uid, modseq, keyword_mask);
			last_kept = uid;
			next = ROOST_MAX(next, uid + 1);
		} else {
			fresh[fresh_count++] = f;
		}
	}
	for (i = 0; ret == 0 && i < fresh_count; i++)
		ret = adopt_file(ms, mailbox_id, dir, fresh[i], next++, modseq, keyword_mask);
	if (ret == 0) {
		uint32_t *vanished = xcalloc(scan.row_count + 1, sizeof(*vanished));
		size_t vanished_count = 0;

		for (i = 0; ret == 0 && !scan.no_cur && i < scan.row_count; i++) {
			if (!scan.rows[i].found) {
				/* a second look: a readdir beside another
				 * program's rename may have seen neither name */
				ret = file_present(ms, mailbox_id, dir, scan.rows[i].uid);
				if (ret == 0)
					vanished[vanished_count++] = scan.rows[i].uid;
				ret = ret < 0 ? -1 : 0;
			}
		}
		ret = expunge_vanished(ms, mailbox_id, dir, vanished, vanished_count, modseq);
		free(vanished);
	}
	if (ret == 0 && next != *uidnext)
		ret = index_mailbox_set_uidnext(ms->index, mailbox_id, next);
	if (ret == 0) {
		char *curdir = xasprintf("%s/cur", dir);

		ret = maildir_storage_fsync_dir(ms, curdir);
		free(curdir);
	}
	if (ret == 0)
		*uidnext = next;
	free(orphans);
	free(fresh);
	scan_free(&scan);
	return ret;
}

int maildir_recover_before_alloc(struct maildir_store *ms, int64_t mailbox_id,
				 const char *dir, uint32_t *uidnext)
{
	uint32_t before = *uidnext;
	bool crashed = markers_sweep(dir, before, false);

	if (!crashed && (recovered_before(ms, mailbox_id) ||
			 process_recovered_has(dir, mailbox_id)))
		return 0;
	if (repair_folder(ms, mailbox_id, dir, uidnext) < 0)
		return -1;
	/* the markers of dead transactions (not of committed ones); put
	 * back if this transaction rolls back with the repair */
	(void)markers_sweep(dir, before, true);
	if (crashed) {
		ARRAY_RESERVE(ms->swept, ms->swept_cap, ms->swept_count + 1);
		ms->swept[ms->swept_count].dir = xstrdup(dir);
		ms->swept[ms->swept_count].first = before;
		ms->swept_count++;
	}
	recovered_add(ms, mailbox_id);
	return 0;
}

void maildir_recover_committed(struct maildir_store *ms)
{
	for (size_t i = 0; i < ms->swept_count; i++)
		free(ms->swept[i].dir);
	ms->swept_count = 0;
}

void maildir_recover_rollback(struct maildir_store *ms)
{
	struct store_error_saved saved;

	store_error_save(&ms->store, &saved);
	for (size_t i = 0; i < ms->swept_count; i++) {
		char *marker = maildir_recover_marker_create(ms, ms->swept[i].dir,
							     ms->swept[i].first,
							     ms->swept[i].first);

		if (marker == NULL)
			log_warning("store(%s): %s/tmp: the marker of a crashed transaction "
				    "could not be put back after a rollback", ms->store.user,
				    ms->swept[i].dir);
		free(marker);
	}
	maildir_recover_committed(ms);
	store_error_restore(&ms->store, &saved);
}

int maildir_recover_on_open(struct maildir_store *ms, int64_t mailbox_id, const char *dir,
			    uint32_t uidnext)
{
	struct index_mailbox row;
	struct recover_scan scan;
	char *name = NULL, *cur_dir = NULL;
	size_t orphans;
	bool repaired;
	int ret;

	if (recovered_before(ms, mailbox_id))
		return 0;
	/* compared by this process before, and no transaction died since
	 * (an older uidnext only makes a committed marker look dead) */
	if (process_recovered_has(dir, mailbox_id) && !markers_sweep(dir, uidnext, false)) {
		recovered_add(ms, mailbox_id);
		return 0;
	}
	/* a look without the write lock first: nothing to do is the rule */
	if (scan_folder(ms, mailbox_id, dir, &scan) < 0)
		return -1;
	orphans = scan_orphan_count(&scan);
	scan_free(&scan);
	/* nothing to adopt and no dead transaction's marker (a writer killed
	 * before its rename left only the marker: swept under the lock) */
	if (orphans == 0 && !markers_sweep(dir, uidnext, false)) {
		recovered_add(ms, mailbox_id);
		process_recovered_add(dir, mailbox_id);
		return 0;
	}
	/* again under the lock: what looked unknown may be an append that
	 * has committed since */
	if (index_begin(ms->index, true) < 0)
		return -1;
	ret = index_mailbox_get_by_id(ms->index, mailbox_id, &row, &name);
	if (ret == 0) {
		index_rollback(ms->index);
		return 0;	/* deleted meanwhile: the caller finds out */
	}
	/* renamed meanwhile: its files are in the new directory */
	if (ret > 0 && (cur_dir = maildir_storage_mailbox_dir(ms, name)) == NULL)
		ret = -1;
	repaired = ret > 0;
	if (ret > 0)
		ret = maildir_recover_before_alloc(ms, mailbox_id, cur_dir, &row.uidnext);
	free(name);
	free(cur_dir);
	if (index_end(ms->index, ret) < 0)
		return -1;
	if (repaired)
		process_recovered_add(dir, mailbox_id);
	maildir_storage_notify(ms);
	return 0;
}

int maildir_recover_vanished(struct maildir_store *ms, int64_t mailbox_id, uint32_t uid)
{
	struct index_mailbox row;
	char *name = NULL, *cur_dir = NULL;
	uint64_t modseq;
	int ret;

	/* not inside a transaction of the caller's (a read one cannot
	 * become a write one) */
	if (index_in_transaction(ms->index))
		return 0;
	/* the next read that misses the file tries again: no reason to
	 * stall the worker for another process's lock */
	index_set_best_effort(ms->index, true);
	ret = index_begin(ms->index, true);
	index_set_best_effort(ms->index, false);
	if (ret < 0)
		return -1;
	/* the caller's directory may be one the folder was renamed from:
	 * the current one, read under the lock (under which no Roost
	 * process renames folders or files) */
	ret = index_mailbox_get_by_id(ms->index, mailbox_id, &row, &name);
	if (ret > 0 && (cur_dir = maildir_storage_mailbox_dir(ms, name)) == NULL)
		ret = -1;
	if (ret > 0)
		ret = file_present(ms, mailbox_id, cur_dir, uid);
	else if (ret == 0)
		ret = 1;	/* the mailbox is gone: nothing to do */
	if (ret == 0) {
		ret = index_mailbox_next_modseq(ms->index, mailbox_id, &modseq);
		if (ret == 0)
			ret = expunge_vanished(ms, mailbox_id, cur_dir, &uid, 1, modseq);
		if (ret == 0)
			ret = 1;
	} else if (ret > 0) {
		ret = 0;
	}
	free(name);
	free(cur_dir);
	if (ret <= 0) {
		index_rollback(ms->index);
		return ret;
	}
	if (index_commit(ms->index) < 0)
		return -1;
	maildir_storage_notify(ms);
	return 1;
}

char *maildir_recover_marker_create(struct maildir_store *ms, const char *dir,
				    uint32_t first, uint32_t last)
{
	char *unique = maildir_file_unique();
	char *path = xasprintf("%s/tmp/" MARKER_PREFIX "%u-%u.%s", dir, first, last, unique);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	free(unique);
	if (fd < 0) {
		maildir_storage_set_syscall_error(ms, "open", path);
		free(path);
		return NULL;
	}
	close(fd);
	return path;
}

void maildir_recover_marker_remove(char **path)
{
	if (*path == NULL)
		return;
	(void)unlink(*path);
	free(*path);
	*path = NULL;
}

/* After a COMMIT that certainly did not happen (SQLite gave up the lock
 * with it): the transaction's files and its marker go, under the write
 * lock taken again, and only while the marker is still there.  A writer
 * that came in between took the marker for a dead transaction's, adopted
 * the files and removed it: they are its messages now. */
static void failed_commit_undo(struct maildir_store *ms, char **marker,
			       char *const *files, size_t file_count)
{
	struct store_error_saved saved;

	store_error_save(&ms->store, &saved);
	if (index_begin(ms->index, true) == 0) {
		if (access(*marker, F_OK) == 0) {
			for (size_t i = 0; i < file_count; i++)
				(void)unlink(files[i]);
			maildir_recover_marker_remove(marker);
		}
		index_rollback(ms->index);
	} else {
		log_warning("store(%s): the files of a failed commit stay for the next "
			    "writer to adopt: %s", ms->store.user,
			    ms->store.error == NULL ? "" : ms->store.error);
	}
	store_error_restore(&ms->store, &saved);
	free(*marker);
	*marker = NULL;
}

int maildir_recover_marker_end(struct maildir_store *ms, int ret, char **marker,
			       char *const *files, size_t file_count)
{
	if (ret < 0) {
		/* the files and the marker go while the lock is still held */
		for (size_t i = 0; i < file_count; i++)
			(void)unlink(files[i]);
		maildir_recover_marker_remove(marker);
		index_rollback(ms->index);
		return -1;
	}
	if (index_commit(ms->index) < 0) {
		if (*marker == NULL) {
			/* no file went into cur/ */
		} else if (!index_commit_is_unknown(ms->index)) {
			failed_commit_undo(ms, marker, files, file_count);
		} else {
			/* the rows may be durable (a crash recovery of the
			 * index could bring them back), so the files must
			 * stay with them: with the marker, as after a crash
			 * before the commit, the next writer adopts the
			 * files whose rows are not there */
			free(*marker);
			*marker = NULL;
		}
		return -1;
	}
	maildir_recover_marker_remove(marker);
	return 0;
}

int maildir_recover_check(struct maildir_store *ms, int64_t mailbox_id, const char *dir,
			  store_check_report_t *report, void *ctx)
{
	struct index_mailbox row;
	struct recover_scan scan;
	unsigned int problems = 0;
	char *text;
	int ret;

	/* under the write lock, so appends in flight are not reported */
	if (index_begin(ms->index, true) < 0)
		return -1;
	ret = index_mailbox_get_by_id(ms->index, mailbox_id, &row, NULL);
	if (ret <= 0 || scan_folder(ms, mailbox_id, dir, &scan) < 0) {
		index_rollback(ms->index);
		return ret == 0 ? 0 : -1;
	}
	for (size_t i = 0; i < scan.file_count; i++) {
		const struct recover_file *f = &scan.files[i];

		if (!f->indexed) {
			text = xasprintf("cur/%s: file without an index row (UID in its name: %u)",
					 f->name, f->fn.uid);
			report(ctx, text);
			free(text);
			problems++;
		}
	}
	for (size_t i = 0; i < scan.row_count; i++) {
		if (!scan.rows[i].found) {
			text = xasprintf("UID %u: index row without a file in cur/ (%s)",
					 scan.rows[i].uid, scan.rows[i].unique);
			report(ctx, text);
			free(text);
			problems++;
		}
	}
	/* file name vs row, by unique part (both sorted by it) */
	for (size_t i = 0, j = 0; i < scan.file_count && j < scan.row_count;) {
		int cmp = strcmp(scan.files[i].fn.unique, scan.rows[j].unique);

		if (cmp == 0 && scan.files[i].fn.uid != scan.rows[j].uid) {
			text = xasprintf("cur/%s: the name says UID %u, the index UID %u",
					 scan.files[i].name, scan.files[i].fn.uid, scan.rows[j].uid);
			report(ctx, text);
			free(text);
			problems++;
		}
		if (cmp <= 0)
			i++;
		if (cmp >= 0)
			j++;
	}
	if (scan.file_count > 1)
		qsort(scan.files, scan.file_count, sizeof(*scan.files), file_uid_cmp);
	for (size_t i = 1; i < scan.file_count; i++) {
		if (scan.files[i].fn.uid != 0 && scan.files[i].fn.uid == scan.files[i - 1].fn.uid) {
			text = xasprintf("UID %u: carried by two files: cur/%s and cur/%s",
					 scan.files[i].fn.uid, scan.files[i - 1].name,
					 scan.files[i].name);
			report(ctx, text);
			free(text);
			problems++;
		}
		if (scan.files[i].fn.uid >= row.uidnext) {
			text = xasprintf("cur/%s: UID %u is not below UIDNEXT %u",
					 scan.files[i].name, scan.files[i].fn.uid, row.uidnext);
			report(ctx, text);
			free(text);
			problems++;
		}
	}
	if (scan.file_count > 0 && scan.files[0].fn.uid >= row.uidnext) {
		text = xasprintf("cur/%s: UID %u is not below UIDNEXT %u",
				 scan.files[0].name, scan.files[0].fn.uid, row.uidnext);
		report(ctx, text);
		free(text);
		problems++;
	}
	if (markers_sweep(dir, row.uidnext, false)) {
		report(ctx, "tmp/: a transaction that was putting messages into cur/ "
		       "died before its commit");
		problems++;
	}
	problems += maildir_recover_check_uidlist(dir, &row, report, ctx);
	scan_free(&scan);
	index_rollback(ms->index);
	return (int)problems;
}
