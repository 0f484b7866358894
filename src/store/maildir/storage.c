/* storage.c: the Maildir backend's store: user directory, vtable, errors,
 * fsync and change notification.
 *
 * On-disk layout of one user:
 *
 *   <maildir_root>/<domain>/<user>/          0700 ("_" domain for bare names)
 *     index.sqlite        the index (WAL); see ../sqlite-index/index.c
 *     lock                flock()ed: shared by every process that has the
 *                         index open (an idle store lets go of both),
 *                         exclusive by `roost check --rebuild`
 *     notify              touched (mtime) after every committed change
 *     trash/              deleted folders on their way out (removed on open)
 *     sieve/              the user's Sieve scripts (sieve.c)
 *     Maildir/            INBOX: cur/ new/ tmp/ + roost-uidlist, roost-keywords
 *       .A.B/             folder "A/B" (Maildir++); '.' and '%' inside a
 *                         name level are escaped as %2E and %25
 *       roost-subscriptions   subscribed names, one per line (for rebuild)
 *
 * Message files: cur/<unique>,S=<size>,U=<uid>:2,<flags>, flags being the
 * maildir letters D F R S T and a-z for the folder's first 26 keywords
 * (listed in roost-keywords as "<index> <name>" lines).  roost-uidlist holds
 * "uidvalidity", "uidnext", "highestmodseq" and "special_use" lines.
 * Files and directories are created 0600/0700.  This file must never hold
 * an index transaction open across a return. */
#include "store/maildir/maildir-private.h"
#include "base/fault.h"
#include "base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

int maildir_storage_set_syscall_error(struct maildir_store *ms, const char *call,
				      const char *path)
{
	if (errno == ENOSPC || errno == EDQUOT) {
		log_error("store(%s): %s(%s): %m", ms->store.user, call, path);
		store_set_error(&ms->store, STORE_ERR_NOSPACE, "Not enough disk space");
	} else {
		store_set_internal_error(&ms->store, "%s(%s) failed: %m", call, path);
	}
	return -1;
}

void maildir_storage_notify(struct maildir_store *ms)
{
	int fd = open(ms->notify_path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd < 0) {
		log_warning("store(%s): open(%s): %m", ms->store.user, ms->notify_path);
		return;
	}
	if (futimens(fd, NULL) < 0)
		log_warning("store(%s): futimens(%s): %m", ms->store.user, ms->notify_path);
	close(fd);
}

int maildir_storage_fsync_fd(struct maildir_store *ms, int fd, const char *path)
{
	if (!ms->fsync)
		return 0;
	if (fault_inject(FAULT_FILE_FSYNC) < 0 || fsync(fd) < 0)
		return maildir_storage_set_syscall_error(ms, "fsync", path);
	return 0;
}

int maildir_storage_fsync_dir(struct maildir_store *ms, const char *path)
{
	int fd, ret;

	if (!ms->fsync)
		return 0;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return maildir_storage_set_syscall_error(ms, "open", path);
	ret = maildir_storage_fsync_fd(ms, fd, path);
	close(fd);
	return ret;
}

char *maildir_storage_mailbox_dir(struct maildir_store *ms, const char *name)
{
	struct str s = STR_INIT;
	size_t start;

	str_append(&s, ms->maildir);
	if (store_name_is_inbox(name))
		return str_steal(&s);
	str_append(&s, "/.");
	start = s.len;
	maildir_file_escape_name(&s, name);
	if (s.len - start + 1 > 255) {
		str_free(&s);
		store_set_error(&ms->store, STORE_ERR_PARAMS, "Mailbox name too long");
		return NULL;
	}
	return str_steal(&s);
}

static int mkdir_one(struct maildir_store *ms, const char *path)
{
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return maildir_storage_set_syscall_error(ms, "mkdir", path);
	return 0;
}

int maildir_storage_mkdirs(struct maildir_store *ms, const char *dir)
{
	static const char *const subdirs[] = { "cur", "new", "tmp" };
	int ret = mkdir_one(ms, dir);

	for (size_t i = 0; ret == 0 && i < N_ELEMENTS(subdirs); i++) {
		char *path = xasprintf("%s/%s", dir, subdirs[i]);

		ret = mkdir_one(ms, path);
		free(path);
	}
	return ret;
}

void maildir_storage_clean_tmp(struct maildir_store *ms, const char *dir, time_t max_age)
{
	char *tmpdir = xasprintf("%s/tmp", dir);
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	time_t now = time(NULL);
	struct stat st;

	while (d != NULL && (de = readdir(d)) != NULL) {
		/* dot files are markers of recover.c, which it removes
		 * itself (all of them go when nothing else can be running),
		 * or files a running COPY staged (save.c), which are aged
		 * like any other file */
		bool staged = strncmp(de->d_name, MAILDIR_COPY_STAGE_PREFIX,
				      strlen(MAILDIR_COPY_STAGE_PREFIX)) == 0;
		if (de->d_name[0] == '.' && !staged &&
		    (max_age != 0 || strncmp(de->d_name, ".roost-uids-", 12) != 0))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		/* Age by the ctime, which only the kernel sets: writers set
		 * the mtime to the INTERNALDATE (save.c, sync.c), so an
		 * APPEND of an old message would look stale to another
		 * session's cleanup between its futimens() and its rename,
		 * and a COPY's staged hard link keeps its source's mtime.
		 * Every write, futimens(), link() and rename renews the
		 * ctime. */
		if (max_age == 0 || st.st_ctime + max_age < now) {
			if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
				log_warning("store(%s): unlink(%s/%s): %m", ms->store.user,
					    tmpdir, de->d_name);
		}
	}
	if (d != NULL)
		closedir(d);
	free(tmpdir);
}

/* mkdir -p for the user directory. */
static int mkdir_parents(struct maildir_store *ms, const char *path)
{
	if (maildir_file_mkdir_parents(path) < 0)
		return maildir_storage_set_syscall_error(ms, "mkdir", path);
	return 0;
}

struct maildir_store *maildir_storage_alloc(const struct store_settings *set,
					    const char *user_local, const char *user_domain)
{
	struct maildir_store *ms = xcalloc(1, sizeof(*ms));

	ms->store.user = xasprintf("%s@%s", user_local, user_domain);
	ms->userdir = xasprintf("%s/%s/%s", set->maildir.root, user_domain, user_local);
	ms->maildir = xasprintf("%s/Maildir", ms->userdir);
	ms->notify_path = xasprintf("%s/notify", ms->userdir);
	ms->fsync = set->fsync;
	ms->tombstones_keep = set->tombstones != 0 ? set->tombstones : 20000;
	ms->lock_fd = -1;
	ms->recovered_txn_start = SIZE_MAX;
	return ms;
}

void maildir_storage_free(struct maildir_store *ms)
{
	maildir_index_close(ms);
	if (ms->lock_fd >= 0)
		close(ms->lock_fd);
	free(ms->recovered);
	free(ms->userdir);
	free(ms->sieve_active);
	free(ms->maildir);
	free(ms->notify_path);
	free(ms);
}

static bool ascii_case_equal(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char ca = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char cb = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;
		if (ca != cb)
			return false;
	}
	return *a == *b;
}

/* Before user names were lowercased (auth_user_normalize()), a user added
 * as "Bob" had the store users/<domain>/Bob; now every session, delivery
 * and `roost check` opens "bob".  So when the directory of a name without
 * ASCII capitals is missing and exactly one directory beside it differs
 * from it only in ASCII case, that store is the user's: it is renamed to
 * the lowercase name, once, instead of a new empty store being made
 * beside it (an open that loses the race to rename finds the new name).
 * Several such directories (once separate accounts) are not merged: the
 * open fails and the log says what to do.  0 or -1 (error set). */
static int adopt_case_variant(struct maildir_store *ms)
{
	const char *slash = strrchr(ms->userdir, '/');
	const char *local = slash + 1;
	struct stat st;

	if (lstat(ms->userdir, &st) == 0 || errno != ENOENT)
		return 0;
	for (const char *p = local; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			return 0;
	}
	char *domdir = xstrndup(ms->userdir, (size_t)(slash - ms->userdir));
	DIR *d = opendir(domdir);
	char *found = NULL, *other = NULL;
	struct dirent *de;
	int ret = 0;

	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strcmp(de->d_name, local) == 0 ||
		    !ascii_case_equal(de->d_name, local))
			continue;
		if (found == NULL)
			found = xstrdup(de->d_name);
		else if (other == NULL)
			other = xstrdup(de->d_name);
	}
	if (d != NULL)
		closedir(d);
	if (other != NULL) {
		log_error("store(%s): %s/%s and %s/%s (and maybe more) are stores of user "
			  "names from before names were lowercased, now both %s: merge them by "
			  "hand into %s", ms->store.user, domdir, found, domdir, other, local,
			  ms->userdir);
		store_set_error(&ms->store, STORE_ERR_TEMP, "Mail store %s is ambiguous",
				ms->store.user);
		ret = -1;
	} else if (found != NULL) {
		char *from = xasprintf("%s/%s", domdir, found);

		if (rename(from, ms->userdir) == 0) {
			log_info("store(%s): renamed %s to %s (user names are lowercase)",
				 ms->store.user, from, ms->userdir);
			ret = maildir_storage_fsync_dir(ms, domdir);
		} else if (errno != ENOENT) {
			ret = maildir_storage_set_syscall_error(ms, "rename", from);
		}
		free(from);
	}
	free(found);
	free(other);
	free(domdir);
	return ret;
}

int maildir_storage_mkdirs_user(struct maildir_store *ms)
{
	if (adopt_case_variant(ms) < 0 || mkdir_parents(ms, ms->userdir) < 0 || maildir_storage_mkdirs(ms, ms->maildir) < 0)
		return -1;
	return 0;
}

int maildir_storage_lock(struct maildir_store *ms, bool exclusive)
{
	char *path = xasprintf("%s/lock", ms->userdir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

	free(path);
	if (fd < 0)
		return -1;
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	ms->lock_fd = fd;
	return 0;
}

static void clean_trash(struct maildir_store *ms)
{
	char *trash = xasprintf("%s/trash", ms->userdir);

	if (maildir_file_remove_tree(trash) < 0 && errno != ENOENT)
		log_warning("store(%s): removing %s: %m", ms->store.user, trash);
	free(trash);
}

static const struct {
	const char *name;
	uint32_t special_use;
} default_mailboxes[] = {
	{ "INBOX", 0 },
	{ "Drafts", STORE_USE_DRAFTS },
	{ "Sent", STORE_USE_SENT },
	{ "Trash", STORE_USE_TRASH },
	{ "Junk", STORE_USE_JUNK },
	{ "Archive", STORE_USE_ARCHIVE },
};

/* Creates the default mailboxes of a new store (inside the transaction
 * that creates the index, so exactly once). */
static int create_defaults(struct maildir_store *ms)
{
	int ret = 0;

	for (size_t i = 0; ret >= 0 && i < N_ELEMENTS(default_mailboxes); i++) {
		int64_t id;

		ret = maildir_mailbox_create_locked(ms, default_mailboxes[i].name,
						    default_mailboxes[i].special_use, &id);
		if (ret == 0)
			ret = index_subscription_set(ms->index, default_mailboxes[i].name, true);
	}
	if (ret >= 0)
		ret = maildir_index_write_subscriptions(ms);
	return ret < 0 ? -1 : 0;
}

/* A new index: the default mailboxes for a new user, or a rebuild if the
 * index was lost under an existing Maildir (starting over would give new
 * UIDVALIDITYs and overwrite what a rebuild needs). */
static int populate_new(struct maildir_store *ms)
{
	char *uidlist = xasprintf("%s/roost-uidlist", ms->maildir);
	struct stat st;
	int ret;

	if (stat(uidlist, &st) == 0) {
		log_warning("store(%s): index missing, rebuilding it from %s",
			    ms->store.user, ms->maildir);
		ret = maildir_rebuild_index(ms, MAILDIR_TMP_MAX_AGE);
	} else {
		ret = create_defaults(ms);
	}
	free(uidlist);
	return ret;
}

static int maildir_storage_open(const struct store_settings *set, const char *user_local,
				const char *user_domain, struct store **store_r,
				const char **error_r)
{
	struct maildir_store *ms = maildir_storage_alloc(set, user_local, user_domain);
	char *index_path;
	int ret;

	*error_r = "Can't open the mail store (see the server log)";
	ret = maildir_storage_mkdirs_user(ms);
	/* held until the store is closed: `roost check --rebuild` refuses
	 * while any process has the store open, and a store cannot be
	 * opened while a rebuild runs (a worker must not wait for one) */
	if (ret == 0 && maildir_storage_lock(ms, false) < 0) {
		if (errno == EWOULDBLOCK)
			*error_r = "The mail store is being rebuilt, try again later";
		else
			log_error("store(%s): open(%s/lock): %m", ms->store.user, ms->userdir);
		ret = -1;
	}
	if (ret == 0) {
		index_path = xasprintf("%s/index.sqlite", ms->userdir);
		ret = maildir_index_open(ms, index_path, populate_new);
		free(index_path);
	}
	if (ret < 0) {
		free(ms->store.user);
		free(ms->store.error);
		maildir_storage_free(ms);
		return -1;
	}
	clean_trash(ms);
	*store_r = &ms->store;
	return 0;
}

static void maildir_storage_close(struct store *store)
{
	maildir_storage_free((struct maildir_store *)store);
}

static int maildir_storage_rebuild(const struct store_settings *set, const char *user_local,
				   const char *user_domain, const char **error_r)
{
	return maildir_rebuild(set, user_local, user_domain, error_r);
}

/* The identity of the index file: device, inode and birth time.  The
 * inode alone is not enough: a file system hands a freed inode number
 * out again, so a rebuild's new index can have the old one's number; its
 * birth time (statx, nanoseconds) is then different.  0 or -1 (errno). */
static int index_file_id(struct maildir_store *ms, struct maildir_file_id *id_r)
{
	char *path = xasprintf("%s/index.sqlite", ms->userdir);
	struct statx stx;
	int ret = statx(AT_FDCWD, path, 0, STATX_INO | STATX_BTIME, &stx);

	free(path);
	if (ret < 0)
		return -1;
	memset(id_r, 0, sizeof(*id_r));
	id_r->dev = (uint64_t)stx.stx_dev_major << 32 | stx.stx_dev_minor;
	id_r->ino = stx.stx_ino;
	if ((stx.stx_mask & STATX_BTIME) != 0) {
		id_r->btime_sec = stx.stx_btime.tv_sec;
		id_r->btime_nsec = stx.stx_btime.tv_nsec;
	}
	return 0;
}

/* Whether the index file is still the one the store noted. */
static bool index_file_same(struct maildir_store *ms)
{
	struct maildir_file_id id;

	return index_file_id(ms, &id) == 0 && id.dev == ms->index_id.dev &&
		id.ino == ms->index_id.ino && id.btime_sec == ms->index_id.btime_sec &&
		id.btime_nsec == ms->index_id.btime_nsec;
}

/* An idle store closes its index connection, and with it lets go of the
 * lock: an idle IMAP session then holds no descriptor of its user's but
 * its socket (issue #10: 1,000 idle users held 1,000 lock files).  A
 * rebuild may run meanwhile; maildir_storage_relock() notices.  Returns
 * true when the store holds no descriptor afterwards. */
static bool maildir_storage_release(struct maildir_store *ms)
{
	if (!index_release_memory(ms->index))
		return false;
	if (ms->lock_fd < 0)
		return true;
	if (index_file_id(ms, &ms->index_id) < 0)
		return false;
	close(ms->lock_fd);
	ms->lock_fd = -1;
	return true;
}

static void maildir_storage_release_memory(struct store *store)
{
	(void)maildir_storage_release((struct maildir_store *)store);
}

static bool maildir_storage_keep(struct store *store)
{
	return maildir_storage_release((struct maildir_store *)store);
}

/* A kept store is used again as a fresh open would be: with the lock
 * taken, the same index file (a rebuild may have replaced it while the
 * lock was let go of: the caller then opens a new store, and the next
 * open reports a rebuild still running), its schema checked, and the
 * trash emptied. */
static int maildir_storage_reuse(struct store *store)
{
	struct maildir_store *ms = (struct maildir_store *)store;

	if (ms->lock_fd >= 0 || ms->index_replaced)
		i_panic("store(%s): reusing a store that was not kept", store->user);
	if (maildir_storage_lock(ms, false) < 0)
		return -1;
	if (!index_file_same(ms)) {
		close(ms->lock_fd);
		ms->lock_fd = -1;
		return -1;
	}
	/* the schema may have been changed meanwhile (an older one put
	 * back), as an open would find */
	if (maildir_index_reopen(ms, populate_new) < 0)
		return -1;
	clean_trash(ms);
	return 0;
}

static bool maildir_storage_is_replaced(struct store *store)
{
	struct maildir_store *ms = (struct maildir_store *)store;

	if (ms->index_replaced)
		return true;
	/* holding the lock, nothing can have replaced it */
	if (ms->lock_fd >= 0 || index_file_same(ms))
		return false;
	log_warning("store(%s): the index was replaced while the store was idle: its "
		    "sessions must log in again", ms->store.user);
	ms->index_replaced = true;
	ms->store.defunct = true;
	return true;
}

int maildir_storage_relock(struct maildir_store *ms)
{
	/* a store that kept its lock (its release stopped short of letting
	 * go of it) kept out every rebuild: nothing to check */
	if (!ms->index_replaced && ms->lock_fd >= 0)
		return 0;
	if (!ms->index_replaced && ms->lock_fd < 0 && maildir_storage_lock(ms, false) < 0) {
		if (errno == EWOULDBLOCK) {
			store_set_error(&ms->store, STORE_ERR_BUSY,
					"The mail store is being rebuilt, try again later");
			return -1;
		}
		return maildir_storage_set_syscall_error(ms, "open", "lock");
	}
	if (!ms->index_replaced && index_file_same(ms))
		return 0;
	/* The mailbox ids and views of this store's sessions belong to the
	 * old index: they cannot go on with the new one.  Their commands
	 * fail until they log in again, which opens a new store. */
	if (!ms->index_replaced) {
		log_warning("store(%s): the index was rebuilt or replaced while the store was "
			    "idle: its sessions must log in again", ms->store.user);
		ms->index_replaced = true;
		ms->store.defunct = true;
		close(ms->lock_fd);
		ms->lock_fd = -1;
	}
	store_set_error(&ms->store, STORE_ERR_TEMP,
			"The mail store was rebuilt, please log in again");
	return -1;
}

const struct store_vfuncs maildir_store_vfuncs = {
	.release_memory = maildir_storage_release_memory,
	.keep = maildir_storage_keep,
	.reuse = maildir_storage_reuse,
	.is_replaced = maildir_storage_is_replaced,
	.sieve_list = maildir_sieve_list,
	.sieve_get = maildir_sieve_get,
	.sieve_get_active = maildir_sieve_get_active,
	.sieve_put = maildir_sieve_put,
	.sieve_delete = maildir_sieve_delete,
	.sieve_rename = maildir_sieve_rename,
	.sieve_activate = maildir_sieve_activate,
	.name = "maildir",
	/* local files and SQLite: never waits on the network */
	.blocking = false,
	.open = maildir_storage_open,
	.close = maildir_storage_close,
	.mailbox_list = maildir_mailbox_list,
	.mailbox_create = maildir_mailbox_create,
	.mailbox_delete = maildir_mailbox_delete,
	.mailbox_rename = maildir_mailbox_rename,
	.mailbox_subscribe = maildir_mailbox_subscribe,
	.mailbox_status = maildir_mailbox_status,
	.mailbox_states = maildir_mailbox_states,
	.mailbox_open = maildir_sync_open,
	.mailbox_close = maildir_sync_close,
	.mailbox_sync = maildir_sync_sync,
	.mailbox_keywords_create = maildir_flags_keywords_create,
	.mailbox_keywords_reload = maildir_flags_keywords_reload,
	.mailbox_update_flags = maildir_flags_update,
	.mailbox_expunge = maildir_flags_expunge,
	.mailbox_vanished = maildir_sync_vanished,
	.copy_begin = maildir_save_copy_begin,
	.copy_continue = maildir_save_copy_continue,
	.copy_free = maildir_save_copy_free,
	.mailbox_msg_stream = maildir_sync_msg_stream,
	.mailbox_msg_cache = maildir_cache_get,
	.mailbox_msg_cache_many = maildir_cache_get_many,
	.mailbox_msg_keys = maildir_cache_get_keys,
	.mailbox_msg_keys_many = maildir_cache_get_keys_many,
	.mailbox_msg_dates_many = maildir_cache_get_dates_many,
	.mailbox_msg_ids_many = maildir_cache_get_ids_many,
	.mailbox_search_objectid = maildir_cache_search_objectid,
	.mailbox_search_savedate = maildir_cache_search_savedate,
	.mailbox_msg_text = maildir_fts_msg_text,
	.mailbox_search_text = maildir_fts_search,
	.mailbox_check = maildir_mailbox_check,
	.append_begin = maildir_save_begin,
	.append_write = maildir_save_write,
	.append_commit = maildir_save_commit,
	.append_abort = maildir_save_abort,
	.mailbox_set_uids = maildir_import_set_uids,
	.batch = maildir_import_batch,
	.batch_flush = maildir_import_batch_flush,
	.state_get = maildir_import_state_get,
	.state_set = maildir_import_state_set,
	.message_begin = maildir_message_begin,
	.message_write = maildir_message_write,
	.message_finish = maildir_message_finish,
	.message_free = maildir_message_free,
	.append_begin_message = maildir_save_begin_message,
	.notify_create = maildir_notify_create,
	.notify_destroy = maildir_notify_destroy,
	.notify_add = maildir_notify_add,
	.notify_add_user = maildir_notify_add_user,
	.notify_remove = maildir_notify_remove,
	.notify_read = maildir_notify_read,
	.sieve_track_seen = maildir_sieve_track_seen,
	.sieve_track_mark = maildir_sieve_track_mark,
	.rebuild = maildir_storage_rebuild,
	.exists = maildir_exists,
	.backup = maildir_backup,
	.restore = maildir_restore,
	.purge = maildir_purge,
};
