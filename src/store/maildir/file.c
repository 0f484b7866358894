/* file.c: Maildir file names, folder name escaping and small-file helpers.
 *
 * Message file names are "<unique>,S=<size>,U=<uid>:2,<flags>": the
 * unique part never changes for a file in a folder, the info after ":2,"
 * is the sorted maildir flag letters (D draft, F flagged, R answered,
 * S seen, T deleted, a-z the folder's keywords 0-25).  Unknown ",X=" fields
 * and letters written by other programs are tolerated and kept on rename.
 *
 * Folder levels are escaped with '%XX' for '.', '%' and nothing else, so
 * "A/b.c" lives in ".A.b%2Ec".  This file knows nothing of the index. */
#include "store/maildir/maildir-private.h"
#include "base/fault.h"
#include "base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const struct {
	char letter;
	uint32_t flag;
} flag_letters[] = {	/* in ASCII order, as maildir wants */
	{ 'D', STORE_FLAG_DRAFT },
	{ 'F', STORE_FLAG_FLAGGED },
	{ 'R', STORE_FLAG_ANSWERED },
	{ 'S', STORE_FLAG_SEEN },
	{ 'T', STORE_FLAG_DELETED },
};

static char unique_host[64];

static void unique_host_init(void)
{
	if (gethostname(unique_host, sizeof(unique_host) - 1) < 0 || unique_host[0] == '\0')
		strcpy(unique_host, "localhost");
	for (char *p = unique_host; *p != '\0'; p++) {
		if (*p == '/' || *p == ':' || *p == ',' || *p == '%')
			*p = '_';
	}
}

/* Store requests (store/request.h) may call this on the worker's helper
 * threads and on its loop at once: the counter is atomic. */
char *maildir_file_unique(void)
{
	static pthread_once_t host_once = PTHREAD_ONCE_INIT;
	static _Atomic unsigned int counter;
	struct timeval tv;

	pthread_once(&host_once, unique_host_init);
	gettimeofday(&tv, NULL);
	return xasprintf("%lld.M%06ldP%dQ%u.%s", (long long)tv.tv_sec, (long)tv.tv_usec,
			 (int)getpid(), ++counter, unique_host);
}

static void append_flags(struct str *s, uint32_t flags, store_keywords_t keywords)
{
	for (size_t i = 0; i < N_ELEMENTS(flag_letters); i++) {
		if ((flags & flag_letters[i].flag) != 0)
			str_append_c(s, flag_letters[i].letter);
	}
	for (unsigned int i = 0; i < MAILDIR_KEYWORD_LETTERS; i++) {
		if ((keywords & ((store_keywords_t)1 << i)) != 0)
			str_append_c(s, (char)('a' + i));
	}
}

char *maildir_file_name(const char *unique, uint64_t size, uint32_t uid,
			uint32_t flags, store_keywords_t keywords)
{
	struct str s = STR_INIT;

	str_printfa(&s, "%s,S=%llu,U=%u:2,", unique, (unsigned long long)size, uid);
	append_flags(&s, flags, keywords);
	return str_steal(&s);
}

char *maildir_file_name_with_flags(const char *old_name, uint32_t flags,
				   store_keywords_t keywords)
{
	const char *info = strstr(old_name, ":2,");
	struct str s = STR_INIT;

	if (info == NULL)
		str_append(&s, old_name);
	else
		str_append_n(&s, old_name, (size_t)(info - old_name));
	str_append(&s, ":2,");
	append_flags(&s, flags, keywords);
	/* keep letters we do not own (e.g. P "passed") */
	if (info != NULL) {
		for (const char *p = info + 3; *p != '\0'; p++) {
			if (*p >= 'A' && *p <= 'Z' && strchr("DFRST", *p) == NULL)
				str_append_c(&s, *p);
		}
	}
	return str_steal(&s);
}

void maildir_file_name_parse(const char *name, struct maildir_filename *fn_r)
{
	const char *info = strstr(name, ":2,");
	const char *end = info != NULL ? info : name + strlen(name);
	const char *comma = memchr(name, ',', (size_t)(end - name));
	const char *p;

	memset(fn_r, 0, sizeof(*fn_r));
	fn_r->unique = xstrndup(name, (size_t)((comma != NULL ? comma : end) - name));
	for (p = comma; p != NULL && p < end; p = memchr(p + 1, ',', (size_t)(end - p - 1))) {
		char num[32];
		const char *vend = memchr(p + 1, ',', (size_t)(end - p - 1));
		size_t len;
		uint64_t value;

		if (vend == NULL)
			vend = end;
		if (vend - p < 4 || p[2] != '=')
			continue;
		len = (size_t)(vend - p - 3);
		if (len >= sizeof(num))
			continue;
		memcpy(num, p + 3, len);
		num[len] = '\0';
		if (p[1] == 'S' && str_to_u64(num, UINT64_MAX, &value) == 0) {
			fn_r->size = value;
			fn_r->has_size = true;
		} else if (p[1] == 'U' && str_to_u64(num, UINT32_MAX, &value) == 0) {
			fn_r->uid = (uint32_t)value;
		}
	}
	if (info == NULL)
		return;
	for (p = info + 3; *p != '\0'; p++) {
		if (*p >= 'a' && *p <= 'z')
			fn_r->keywords |= (store_keywords_t)1 << (*p - 'a');
		for (size_t i = 0; i < N_ELEMENTS(flag_letters); i++) {
			if (*p == flag_letters[i].letter)
				fn_r->flags |= flag_letters[i].flag;
		}
	}
}

void maildir_file_escape_name(struct str *dest, const char *name)
{
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '/')
			str_append_c(dest, '.');
		else if (*p == '.' || *p == '%')
			str_printfa(dest, "%%%02X", (unsigned char)*p);
		else
			str_append_c(dest, *p);
	}
}

int maildir_file_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *maildir_file_unescape_name(const char *dirname)
{
	struct str s = STR_INIT;

	for (const char *p = dirname; *p != '\0'; p++) {
		if (*p == '.') {
			str_append_c(&s, '/');
		} else if (*p == '%') {
			int hi = maildir_file_hex_value(p[1]), lo = hi < 0 ? -1 : maildir_file_hex_value(p[2]);

			if (lo < 0) {
				str_free(&s);
				return NULL;
			}
			str_append_c(&s, (char)(hi * 16 + lo));
			p += 2;
		} else {
			str_append_c(&s, *p);
		}
	}
	if (s.len == 0)
		return NULL;
	return str_steal(&s);
}

int maildir_file_write_atomic(struct maildir_store *ms, const char *path,
			      const void *data, size_t size)
{
	char *tmp = xasprintf("%s.tmp%d", path, (int)getpid());
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int fd, ret = -1;

	if (slash != NULL)
		*slash = '\0';
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		maildir_storage_set_syscall_error(ms, "open", tmp);
		goto out;
	}
	if (write_full(fd, data, size) < 0) {
		maildir_storage_set_syscall_error(ms, "write", tmp);
	} else if (maildir_storage_fsync_fd(ms, fd, tmp) == 0) {
		if (rename(tmp, path) < 0)
			maildir_storage_set_syscall_error(ms, "rename", path);
		else
			ret = maildir_storage_fsync_dir(ms, dir);
	}
	close(fd);
	if (ret < 0)
		(void)unlink(tmp);
out:
	free(tmp);
	free(dir);
	return ret;
}

int maildir_file_read_small(const char *path, char **data_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct str s = STR_INIT;
	char buf[4096];
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && s.len < 1024 * 1024)
		str_append_n(&s, buf, (size_t)n);
	close(fd);
	if (n < 0) {
		str_free(&s);
		return -1;
	}
	str_append(&s, "");
	*data_r = str_steal(&s);
	return 0;
}

int maildir_file_remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	int ret = 0;

	if (lstat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char *child;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		child = xasprintf("%s/%s", path, de->d_name);
		if (maildir_file_remove_tree(child) < 0 && errno != ENOENT)
			ret = -1;
		free(child);
	}
	closedir(d);
	if (rmdir(path) < 0 && errno != ENOENT)
		ret = -1;
	return ret;
}

void maildir_file_header_scan_feed(struct maildir_header_scan *scan, const void *data, size_t size)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < size && !scan->done; i++) {
		if (p[i] == '\n') {
			if (!scan->line_has_content) {
				scan->header_size = scan->offset + i + 1;
				scan->done = true;
			}
			scan->line_has_content = false;
		} else if (p[i] != '\r') {
			scan->line_has_content = true;
		}
	}
	scan->offset += size;
}

uint64_t maildir_file_header_scan_result(const struct maildir_header_scan *scan)
{
	return scan->done ? scan->header_size : scan->offset;
}

int maildir_file_header_size(const char *path, uint64_t *header_size_r)
{
	struct maildir_header_scan scan = { 0 };
	char buf[16384];
	ssize_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (!scan.done && (n = read(fd, buf, sizeof(buf))) > 0)
		maildir_file_header_scan_feed(&scan, buf, (size_t)n);
	close(fd);
	if (n < 0)
		return -1;
	*header_size_r = maildir_file_header_scan_result(&scan);
	return 0;
}

char *maildir_file_find_unique(const char *dir, const char *unique)
{
	char *curdir = xasprintf("%s/cur", dir);
	DIR *d = opendir(curdir);
	size_t len = strlen(unique);
	struct dirent *de;
	char *found = NULL;

	free(curdir);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, unique, len) == 0 &&
		    (de->d_name[len] == ',' || de->d_name[len] == ':' ||
		     de->d_name[len] == '\0')) {
			found = xstrdup(de->d_name);
			break;
		}
	}
	if (d != NULL)
		closedir(d);
	return found;
}

int maildir_file_open_msg(const char *dir, const char *name, char **actual_name_r)
{
	char *path = xasprintf("%s/cur/%s", dir, name);
	struct maildir_filename fn;
	char *found;
	int fd;

	*actual_name_r = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* renamed by another process (flag change): find it by its unique part */
	maildir_file_name_parse(name, &fn);
	found = maildir_file_find_unique(dir, fn.unique);
	free(fn.unique);
	if (found == NULL) {
		errno = ENOENT;
		return -1;
	}
	path = xasprintf("%s/cur/%s", dir, found);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		free(found);
	else
		*actual_name_r = found;
	return fd;
}

int maildir_file_copy_fd(struct maildir_store *ms, int in, const char *dst,
			 time_t internaldate)
{
	char buf[65536];
	struct timespec times[2];
	struct istream *src;
	ssize_t n;
	int out, ret = 0;

	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return maildir_storage_set_syscall_error(ms, "open", dst);
	src = istream_from_fd_borrowed(in);
	while ((n = istream_read(src, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			ret = maildir_storage_set_syscall_error(ms, "read", dst);
			break;
		}
		if (fault_inject(FAULT_MSG_WRITE) < 0 || write_full(out, buf, (size_t)n) < 0) {
			ret = maildir_storage_set_syscall_error(ms, "write", dst);
			break;
		}
	}
	istream_destroy(&src);
	if (ret == 0)
		ret = maildir_storage_fsync_fd(ms, out, dst);
	times[0].tv_sec = times[1].tv_sec = internaldate;
	times[0].tv_nsec = times[1].tv_nsec = 0;
	(void)futimens(out, times);
	close(out);
	if (ret < 0)
		(void)unlink(dst);
	return ret;
}

int maildir_file_mkdir_parents(const char *path)
{
	char *copy = xstrdup(path);
	int ret = 0;

	for (char *p = copy + 1; ret == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST)
			ret = -1;
		*p = c;
		if (c == '\0')
			break;
	}
	int err = errno;
	free(copy);
	errno = err;
	return ret;
}
