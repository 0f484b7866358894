/* sieve.c: the Maildir backend's Sieve scripts (store_sieve_*()).
 *
 * A user's scripts are files beside the Maildir, never in the index:
 *
 *   <userdir>/sieve/              0700, created by the first put
 *     <name>.sieve                a script; the name with '%' and '/' and
 *                                 a leading '.' or '~' escaped as %XX
 *     ~<32 hex>.sieve             a script whose escaped name would not fit
 *     ~<32 hex>.name                in a file name: its name is in here
 *     active                      symlink to the active script's file;
 *                                 absent when none is active
 *     .lock                       flock()ed by every change
 *
 * Every file is written to a temporary name, fsynced, renamed into place
 * and the directory fsynced (store_settings.fsync), so a script is either
 * the old text or the new one after a crash.  Changing which script is
 * active renames a new symlink over "active", so readers never see two
 * or none in between.  Readers take no lock: everything they look at is
 * replaced by rename().  This file never touches the index. */
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
#include <unistd.h>

#define SIEVE_SUFFIX ".sieve"
#define SIEVE_NAME_SUFFIX ".name"
#define SIEVE_ACTIVE "active"
/* the longest escaped name that, with the suffix, is a file name */
#define SIEVE_FILE_STEM_MAX (255 - (sizeof(SIEVE_SUFFIX) - 1))

static char *sieve_dir(struct maildir_store *ms)
{
	return xasprintf("%s/sieve", ms->userdir);
}

static uint64_t fnv1a64(const char *s, uint64_t h)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The file stem of script `name` (without ".sieve") into *dest; true when
 * it is the long form, whose name lives in "<stem>.name". */
static bool sieve_file_stem(const char *name, struct str *dest)
{
	str_truncate(dest, 0);
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '%' || *p == '/' || (p == name && (*p == '.' || *p == '~')))
			str_printfa(dest, "%%%02X", (unsigned char)*p);
		else
			str_append_c(dest, *p);
	}
	if (dest->len <= SIEVE_FILE_STEM_MAX)
		return false;
	/* 128 bits of two FNV-1a passes: only the user's own names can
	 * collide, and a collision is found (the .name file differs) */
	str_truncate(dest, 0);
	str_printfa(dest, "~%016llx%016llx",
		    (unsigned long long)fnv1a64(name, 0xcbf29ce484222325ULL),
		    (unsigned long long)fnv1a64(name, 0x84222325cbf29ce4ULL));
	return true;
}

/* The script name of file `file` in dir (NULL if it is not a script's). */
static char *sieve_file_to_name(const char *dir, const char *file)
{
	size_t len = strlen(file), slen = sizeof(SIEVE_SUFFIX) - 1;
	char *name = NULL;

	if (len <= slen || file[0] == '.' || strcmp(file + len - slen, SIEVE_SUFFIX) != 0)
		return NULL;
	len -= slen;
	if (file[0] == '~') {
		char *path = xasprintf("%s/%.*s%s", dir, (int)len, file, SIEVE_NAME_SUFFIX);
		if (maildir_file_read_small(path, &name) < 0)
			name = NULL;
		free(path);
	} else {
		struct str s = STR_INIT;
		for (size_t i = 0; i < len; i++) {
			int hi, lo;
			if (file[i] == '%' && i + 2 < len + 1 &&
			    (hi = maildir_file_hex_value(file[i + 1])) >= 0 && (lo = maildir_file_hex_value(file[i + 2])) >= 0) {
				str_append_c(&s, (char)(hi << 4 | lo));
				i += 2;
			} else {
				str_append_c(&s, file[i]);
			}
		}
		str_append(&s, "");
		name = str_steal(&s);
	}
	if (name != NULL && !store_sieve_name_is_valid(name)) {
		free(name);
		name = NULL;
	}
	return name;
}

/* The file name (without directory) the "active" link points to, or NULL
 * when there is none; -1 on error. */
static int sieve_active_file(struct maildir_store *ms, const char *dir, char **file_r)
{
	char *link = xasprintf("%s/" SIEVE_ACTIVE, dir);
	char buf[512];
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	int ret = 0;

	*file_r = NULL;
	if (n < 0) {
		if (errno != ENOENT)
			ret = maildir_storage_set_syscall_error(ms, "readlink", link);
	} else {
		buf[n] = '\0';
		*file_r = xstrdup(buf);
	}
	free(link);
	return ret;
}

/* Takes the directory's change lock, creating the directory when
 * `create`.  Returns the lock's fd, or -1: with *missing_r true and no
 * error set when the directory is missing and !create. */
static int sieve_lock(struct maildir_store *ms, const char *dir, bool create, bool *missing_r)
{
	*missing_r = false;
	if (create) {
		if (mkdir(dir, 0700) == 0) {
			if (maildir_storage_fsync_dir(ms, ms->userdir) < 0)
				return -1;
		} else if (errno != EEXIST) {
			return maildir_storage_set_syscall_error(ms, "mkdir", dir);
		}
	}
	char *path = xasprintf("%s/.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		if (errno != ENOENT || create)
			maildir_storage_set_syscall_error(ms, "open", path);
		else
			*missing_r = true;
	} else {
		while (flock(fd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				maildir_storage_set_syscall_error(ms, "flock", path);
				close(fd);
				fd = -1;
				break;
			}
		}
	}
	free(path);
	return fd;
}

static void sieve_unlock(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void set_not_found(struct maildir_store *ms)
{
	store_set_error(&ms->store, STORE_ERR_NOTFOUND, "No such script");
}

struct sieve_entry {
	char *name;
	uint64_t size;
	bool active;
};

static int sieve_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sieve_entry *)a)->name,
		      ((const struct sieve_entry *)b)->name);
}

int maildir_sieve_list(struct store *store, struct store_sieve_info **infos_r,
			      size_t *count_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	char *dir = sieve_dir(ms), *active = NULL;
	struct sieve_entry *entries = NULL;
	size_t count = 0, cap = 0, names_size = 0;
	int ret = 0;

	*infos_r = NULL;
	*count_r = 0;
	DIR *d = opendir(dir);
	if (d == NULL) {
		if (errno != ENOENT)
			ret = maildir_storage_set_syscall_error(ms, "opendir", dir);
		free(dir);
		return ret;
	}
	if (sieve_active_file(ms, dir, &active) < 0) {
		closedir(d);
		free(dir);
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *name = sieve_file_to_name(dir, de->d_name);
		if (name == NULL)
			continue;
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode)) {
			free(name);
			continue;
		}
		array_reserve((void **)&entries, &cap, count + 1, sizeof(*entries));
		entries[count].name = name;
		entries[count].size = (uint64_t)st.st_size;
		entries[count].active = active != NULL && strcmp(active, de->d_name) == 0;
		names_size += strlen(name) + 1;
		count++;
	}
	closedir(d);
	free(active);
	free(dir);

	if (count > 1)
		qsort(entries, count, sizeof(*entries), sieve_entry_cmp);
	struct store_sieve_info *infos = xmalloc(count * sizeof(*infos) + names_size + 1);
	char *p = (char *)(infos + count);
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(entries[i].name) + 1;
		memcpy(p, entries[i].name, len);
		infos[i].name = p;
		infos[i].size = entries[i].size;
		infos[i].active = entries[i].active;
		p += len;
		free(entries[i].name);
	}
	free(entries);
	*infos_r = infos;
	*count_r = count;
	return 0;
}

int maildir_sieve_get(struct store *store, const char *name, struct str *text_r,
			     uint64_t *stamp_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct str stem = STR_INIT;
	char *dir = sieve_dir(ms);
	int ret = -1;

	sieve_file_stem(name, &stem);
	char *path = xasprintf("%s/%s" SIEVE_SUFFIX, dir, str_c(&stem));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT || errno == ELOOP)
			set_not_found(ms);
		else
			maildir_storage_set_syscall_error(ms, "open", path);
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		maildir_storage_set_syscall_error(ms, "fstat", path);
		close(fd);
		goto out;
	}
	for (;;) {
		char *buf = str_append_space(text_r, 8192);
		ssize_t n = read(fd, buf, 8192);
		if (n < 0 && errno == EINTR) {
			str_truncate(text_r, text_r->len - 8192);
			continue;
		}
		str_truncate(text_r, text_r->len - 8192 + (n > 0 ? (size_t)n : 0));
		if (n < 0) {
			maildir_storage_set_syscall_error(ms, "read", path);
			close(fd);
			goto out;
		}
		if (n == 0)
			break;
	}
	close(fd);
	if (stamp_r != NULL) {
		/* a put renames a new file into place: another inode, or
		 * (inode reused) another change time */
		*stamp_r = ((uint64_t)st.st_ino << 32) ^ (uint64_t)st.st_ctim.tv_sec * 1000000000u ^
			(uint64_t)st.st_ctim.tv_nsec ^ (uint64_t)st.st_size << 17;
	}
	ret = 0;
out:
	free(path);
	free(dir);
	str_free(&stem);
	return ret;
}

int maildir_sieve_get_active(struct store *store, const char **name_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	char *dir = sieve_dir(ms), *file;

	*name_r = NULL;
	free(ms->sieve_active);
	ms->sieve_active = NULL;
	if (sieve_active_file(ms, dir, &file) < 0) {
		free(dir);
		return -1;
	}
	if (file != NULL) {
		/* a link to a file that is not there is no active script */
		struct stat st;
		char *path = xasprintf("%s/%s", dir, file);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			ms->sieve_active = sieve_file_to_name(dir, file);
		free(path);
		free(file);
	}
	free(dir);
	*name_r = ms->sieve_active;
	return 0;
}

/* Writes the .name file of a long-form stem, or finds it already there
 * with the same name.  0 or -1. */
static int sieve_write_long_name(struct maildir_store *ms, const char *dir, const char *stem,
				 const char *name)
{
	char *path = xasprintf("%s/%s" SIEVE_NAME_SUFFIX, dir, stem), *old;
	int ret = 0;

	if (maildir_file_read_small(path, &old) == 0) {
		if (strcmp(old, name) != 0) {
			store_set_error(&ms->store, STORE_ERR_NOTPOSSIBLE,
					"This script name cannot be stored, choose another one");
			ret = -1;
		}
		free(old);
	} else {
		ret = maildir_file_write_atomic(ms, path, name, strlen(name));
	}
	free(path);
	return ret;
}

int maildir_sieve_put(struct store *store, const char *name, const void *text, size_t len)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct str stem = STR_INIT;
	char *dir = sieve_dir(ms), *path = NULL;
	int ret = -1;
	bool missing;
	int lock = sieve_lock(ms, dir, true, &missing);

	if (lock < 0)
		goto out;
	bool is_long = sieve_file_stem(name, &stem);
	if (is_long && sieve_write_long_name(ms, dir, str_c(&stem), name) < 0)
		goto out;
	path = xasprintf("%s/%s" SIEVE_SUFFIX, dir, str_c(&stem));
	ret = maildir_file_write_atomic(ms, path, text, len);
out:
	sieve_unlock(&lock);
	free(path);
	free(dir);
	str_free(&stem);
	return ret;
}

/* Whether script file `file` is the active one (-1 on error). */
static int sieve_is_active(struct maildir_store *ms, const char *dir, const char *file)
{
	char *active;
	if (sieve_active_file(ms, dir, &active) < 0)
		return -1;
	int ret = active != NULL && strcmp(active, file) == 0;
	free(active);
	return ret;
}

/* Points "active" at `file` (NULL: removes it).  0 or -1. */
static int sieve_set_active(struct maildir_store *ms, const char *dir, const char *file)
{
	char *link = xasprintf("%s/" SIEVE_ACTIVE, dir);
	int ret = 0;

	if (file == NULL) {
		if (unlink(link) < 0 && errno != ENOENT)
			ret = maildir_storage_set_syscall_error(ms, "unlink", link);
	} else {
		char *tmp = xasprintf("%s/.active.tmp%d", dir, (int)getpid());
		(void)unlink(tmp);
		if (symlink(file, tmp) < 0)
			ret = maildir_storage_set_syscall_error(ms, "symlink", tmp);
		else if (rename(tmp, link) < 0) {
			ret = maildir_storage_set_syscall_error(ms, "rename", link);
			(void)unlink(tmp);
		}
		free(tmp);
	}
	if (ret == 0)
		ret = maildir_storage_fsync_dir(ms, dir);
	free(link);
	return ret;
}

/* Removes the files of a script (the .name file too for a long stem). */
static int sieve_remove_files(struct maildir_store *ms, const char *dir, const char *stem)
{
	char *path = xasprintf("%s/%s" SIEVE_SUFFIX, dir, stem);
	int ret = 0;

	if (unlink(path) < 0)
		ret = maildir_storage_set_syscall_error(ms, "unlink", path);
	free(path);
	if (ret == 0 && stem[0] == '~') {
		path = xasprintf("%s/%s" SIEVE_NAME_SUFFIX, dir, stem);
		if (unlink(path) < 0 && errno != ENOENT)
			log_warning("store(%s): unlink(%s): %m", ms->store.user, path);
		free(path);
	}
	if (ret == 0)
		ret = maildir_storage_fsync_dir(ms, dir);
	return ret;
}

/* lstat of a script's file: 1 it exists, 0 it does not, -1 error. */
static int sieve_exists(struct maildir_store *ms, const char *dir, const char *stem)
{
	char *path = xasprintf("%s/%s" SIEVE_SUFFIX, dir, stem);
	struct stat st;
	int ret = 1;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			ret = 0;
		else
			ret = maildir_storage_set_syscall_error(ms, "lstat", path);
	} else if (!S_ISREG(st.st_mode)) {
		ret = 0;
	}
	free(path);
	return ret;
}

int maildir_sieve_delete(struct store *store, const char *name)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct str stem = STR_INIT;
	char *dir = sieve_dir(ms), *file = NULL;
	bool missing;
	int ret = -1, lock = sieve_lock(ms, dir, false, &missing);

	if (lock < 0) {
		if (missing)
			set_not_found(ms);
		goto out;
	}
	sieve_file_stem(name, &stem);
	int exists = sieve_exists(ms, dir, str_c(&stem));
	if (exists <= 0) {
		if (exists == 0)
			set_not_found(ms);
		goto out;
	}
	file = xasprintf("%s" SIEVE_SUFFIX, str_c(&stem));
	int active = sieve_is_active(ms, dir, file);
	if (active != 0) {
		if (active > 0)
			store_set_error(store, STORE_ERR_INUSE,
					"The active script cannot be deleted");
		goto out;
	}
	ret = sieve_remove_files(ms, dir, str_c(&stem));
out:
	sieve_unlock(&lock);
	free(file);
	free(dir);
	str_free(&stem);
	return ret;
}

int maildir_sieve_rename(struct store *store, const char *old_name, const char *new_name)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct str old_stem = STR_INIT, new_stem = STR_INIT;
	char *dir = sieve_dir(ms), *old_file = NULL, *old_path = NULL, *new_path = NULL;
	bool missing;
	int ret = -1, lock = sieve_lock(ms, dir, false, &missing);

	if (lock < 0) {
		if (missing)
			set_not_found(ms);
		goto out;
	}
	sieve_file_stem(old_name, &old_stem);
	bool new_long = sieve_file_stem(new_name, &new_stem);
	int exists = sieve_exists(ms, dir, str_c(&old_stem));
	if (exists <= 0) {
		if (exists == 0)
			set_not_found(ms);
		goto out;
	}
	if ((exists = sieve_exists(ms, dir, str_c(&new_stem))) != 0) {
		if (exists > 0)
			store_set_error(store, STORE_ERR_EXISTS, "A script with that name exists");
		goto out;
	}
	if (new_long && sieve_write_long_name(ms, dir, str_c(&new_stem), new_name) < 0)
		goto out;
	/* link, move "active", unlink: a crash leaves the script under
	 * both names at worst, never under none */
	old_file = xasprintf("%s" SIEVE_SUFFIX, str_c(&old_stem));
	old_path = xasprintf("%s/%s", dir, old_file);
	new_path = xasprintf("%s/%s" SIEVE_SUFFIX, dir, str_c(&new_stem));
	if (link(old_path, new_path) < 0) {
		if (errno == EEXIST)
			store_set_error(store, STORE_ERR_EXISTS, "A script with that name exists");
		else
			maildir_storage_set_syscall_error(ms, "link", new_path);
		goto out;
	}
	if (maildir_storage_fsync_dir(ms, dir) < 0)
		goto out;
	int active = sieve_is_active(ms, dir, old_file);
	if (active < 0)
		goto out;
	if (active > 0 && sieve_set_active(ms, dir, new_path + strlen(dir) + 1) < 0)
		goto out;
	ret = sieve_remove_files(ms, dir, str_c(&old_stem));
out:
	sieve_unlock(&lock);
	free(old_file);
	free(old_path);
	free(new_path);
	free(dir);
	str_free(&old_stem);
	str_free(&new_stem);
	return ret;
}

int maildir_sieve_activate(struct store *store, const char *name)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct str stem = STR_INIT;
	char *dir = sieve_dir(ms), *file = NULL;
	bool missing;
	int ret = -1, lock = sieve_lock(ms, dir, false, &missing);

	if (lock < 0) {
		if (missing) {
			if (name == NULL)
				ret = 0;	/* no scripts: none is active */
			else
				set_not_found(ms);
		}
		goto out;
	}
	if (name != NULL) {
		sieve_file_stem(name, &stem);
		int exists = sieve_exists(ms, dir, str_c(&stem));
		if (exists <= 0) {
			if (exists == 0)
				set_not_found(ms);
			goto out;
		}
		file = xasprintf("%s" SIEVE_SUFFIX, str_c(&stem));
	}
	ret = sieve_set_active(ms, dir, file);
out:
	sieve_unlock(&lock);
	free(file);
	free(dir);
	str_free(&stem);
	return ret;
}
