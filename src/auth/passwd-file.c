/* passwd-file.c: reading and atomically editing a passwd-file.
 *
 * The reader keeps the whole file in one buffer, cut into NUL-terminated
 * fields in place, plus an index sorted by user name for lookups.  The
 * editor works on raw lines so that comments, unknown fields and line ends
 * survive untouched.  Never logs or returns a password or hash in an error
 * message. */
#include "passwd-file.h"
#include "base/str.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unistr.h>

/* A passwd-file bigger than this is surely not one (a million users are
 * about 150 MB). */
#define PASSWD_FILE_MAX_SIZE (512u * 1024 * 1024)
#define PASSWD_FILE_STAT_INTERVAL_MS 1000
#define PASSWD_FILE_USER_MAX_LEN 255

struct passwd_file {
	char *path;
	char *content;			/* the file, fields NUL-terminated */
	struct passwd_file_entry *entries;	/* file order */
	size_t count;
	struct passwd_file_entry **sorted;	/* by user, first line first */
	size_t sorted_count;		/* duplicates removed */

	bool loaded;			/* the last read succeeded */
	bool checked_once;
	uint64_t last_check_ms;
	struct stat st;			/* of the file that was read */
	char error[1024];
};

struct passwd_file *passwd_file_create(const char *path)
{
	struct passwd_file *pf = xcalloc(1, sizeof(*pf));
	pf->path = xstrdup(path);
	return pf;
}

static void passwd_file_clear(struct passwd_file *pf)
{
	free(pf->content);
	free(pf->entries);
	free(pf->sorted);
	pf->content = NULL;
	pf->entries = NULL;
	pf->sorted = NULL;
	pf->count = pf->sorted_count = 0;
	pf->loaded = false;
}

void passwd_file_destroy(struct passwd_file **pfp)
{
	struct passwd_file *pf = *pfp;
	if (pf == NULL)
		return;
	*pfp = NULL;
	passwd_file_clear(pf);
	free(pf->path);
	free(pf);
}

/* Reads all of fd (at most `max` bytes) into an allocated NUL-terminated
 * buffer.  Returns 0 or -1 with errno set (EFBIG when too large). */
static int read_all(int fd, size_t max, char **data_r, size_t *len_r)
{
	size_t len = 0, cap = 4096;
	char *buf = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			free(buf);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*data_r = buf;
	*len_r = len;
	return 0;
}

/* True for a line that holds no user: blank (white space only) or a
 * comment. */
static bool passwd_file_line_is_skipped(const char *line, size_t len)
{
	if (len > 0 && line[0] == '#')
		return true;
	for (size_t i = 0; i < len; i++) {
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	}
	return true;
}

/* ASCII letters only: the rest of UTF-8 is kept as it is (Dovecot's %L
 * does the same), so the result never changes length. */
void passwd_file_user_normalize(char *user)
{
	for (char *p = user; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
}

/* Compares a raw name of `len` bytes with a normalised one. */
static bool passwd_file_user_matches(const char *raw, size_t len, const char *normalized)
{
	for (size_t i = 0; i < len; i++) {
		char c = raw[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != normalized[i] || normalized[i] == '\0')
			return false;
	}
	return normalized[len] == '\0';
}

static int passwd_file_entry_cmp(const void *a, const void *b)
{
	const struct passwd_file_entry *ea = *(const struct passwd_file_entry *const *)a;
	const struct passwd_file_entry *eb = *(const struct passwd_file_entry *const *)b;
	int ret = strcmp(ea->user, eb->user);
	if (ret != 0)
		return ret;
	return ea->line < eb->line ? -1 : ea->line > eb->line;
}

/* Cuts pf->content into entries and builds the sorted index. */
static void passwd_file_parse(struct passwd_file *pf, size_t len)
{
	size_t cap = 0;
	unsigned int line_no = 0;
	char *p = pf->content, *end = pf->content + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line_end = nl != NULL ? nl : end;
		char *line = p;
		p = nl != NULL ? nl + 1 : end;
		line_no++;

		*line_end = '\0';
		if (line_end > line && line_end[-1] == '\r')
			*--line_end = '\0';
		if (passwd_file_line_is_skipped(line, (size_t)(line_end - line)))
			continue;
		char *colon = strchr(line, ':');
		if (colon == NULL || colon == line) {
			/* no password field or no name: Dovecot skips these too */
			continue;
		}
		*colon = '\0';
		/* one account per normalised name: "Bob" is "bob" */
		passwd_file_user_normalize(line);
		char *password = colon + 1;
		char *extra = strchr(password, ':');
		if (extra != NULL)
			*extra++ = '\0';

		ARRAY_RESERVE(pf->entries, cap, pf->count + 1);
		pf->entries[pf->count++] = (struct passwd_file_entry){
			.user = line, .password = password, .extra = extra, .line = line_no,
		};
	}

	pf->sorted = xcalloc(pf->count, sizeof(*pf->sorted));
	for (size_t i = 0; i < pf->count; i++)
		pf->sorted[i] = &pf->entries[i];
	qsort(pf->sorted, pf->count, sizeof(*pf->sorted), passwd_file_entry_cmp);
	/* keep the first line of each user */
	size_t n = 0;
	for (size_t i = 0; i < pf->count; i++) {
		if (n > 0 && strcmp(pf->sorted[n - 1]->user, pf->sorted[i]->user) == 0)
			continue;
		pf->sorted[n++] = pf->sorted[i];
	}
	pf->sorted_count = n;
}

static void passwd_file_owner_text(const struct stat *st, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(st->st_uid);
	struct group *gr = getgrgid(st->st_gid);
	char u[32], g[32];
	snprintf(u, sizeof(u), "%u", (unsigned int)st->st_uid);
	snprintf(g, sizeof(g), "%u", (unsigned int)st->st_gid);
	snprintf(buf, size, "%s:%s mode %04o", pw != NULL ? pw->pw_name : u,
		 gr != NULL ? gr->gr_name : g, (unsigned int)(st->st_mode & 07777));
}

/* After open(path) failed with EACCES: says which directory or file this
 * process's user cannot get through and how to fix that without opening
 * the passwords to everyone.  Appends to buf. */
static void passwd_file_access_hint(const char *path, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(geteuid());
	struct group *gr = getgrgid(getegid());
	char who[128], group[64], owner[160];
	struct stat st;
	size_t len = strlen(buf);

	snprintf(who, sizeof(who), "user %s (uid %u)", pw != NULL ? pw->pw_name : "?",
		 (unsigned int)geteuid());
	if (gr != NULL)
		snprintf(group, sizeof(group), "%s", gr->gr_name);
	else
		snprintf(group, sizeof(group), "%u", (unsigned int)getegid());
	/* a directory on the way that we may not search */
	char *dir = xstrdup(path);
	for (char *p = dir[0] == '/' ? dir + 1 : dir; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (access(dir[0] != '\0' ? dir : "/", X_OK) < 0 && errno == EACCES) {
			if (stat(dir, &st) == 0)
				passwd_file_owner_text(&st, owner, sizeof(owner));
			else
				snprintf(owner, sizeof(owner), "unknown owner");
			snprintf(buf + len, size - len, ": directory %s (%s) is not searchable "
				 "by %s, who runs the server: e.g. chmod o+x %s", dir, owner, who,
				 dir);
			free(dir);
			return;
		}
		*p = '/';
	}
	free(dir);
	if (stat(path, &st) == 0)
		passwd_file_owner_text(&st, owner, sizeof(owner));
	else
		snprintf(owner, sizeof(owner), "owner unknown");
	snprintf(buf + len, size - len, ": the user database (%s) must be readable by %s, "
		 "who runs the server: e.g. chgrp %s %s && chmod 0640 %s", owner, who, group,
		 path, path);
}

int passwd_file_reload(struct passwd_file *pf, const char **error_r)
{
	char *data;
	size_t len;
	struct stat st;

	pf->checked_once = true;
	pf->last_check_ms = time_monotonic_ms();
	passwd_file_clear(pf);
	memset(&pf->st, 0, sizeof(pf->st));

	int fd = open(pf->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		snprintf(pf->error, sizeof(pf->error), "open(%s) failed: %s",
			 pf->path, strerror(err));
		if (err == EACCES)
			passwd_file_access_hint(pf->path, pf->error, sizeof(pf->error));
		*error_r = pf->error;
		return -1;
	}
	if (fstat(fd, &st) < 0 || read_all(fd, PASSWD_FILE_MAX_SIZE, &data, &len) < 0) {
		snprintf(pf->error, sizeof(pf->error), "read(%s) failed: %s",
			 pf->path, strerror(errno));
		close(fd);
		*error_r = pf->error;
		return -1;
	}
	close(fd);
	pf->content = data;
	pf->st = st;
	passwd_file_parse(pf, len);
	pf->loaded = true;
	return 0;
}

static bool passwd_file_stat_changed(const struct stat *a, const struct stat *b)
{
	return a->st_dev != b->st_dev || a->st_ino != b->st_ino ||
		a->st_size != b->st_size ||
		a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
		a->st_mtim.tv_nsec != b->st_mtim.tv_nsec ||
		a->st_ctim.tv_sec != b->st_ctim.tv_sec ||
		a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

int passwd_file_refresh(struct passwd_file *pf, const char **error_r)
{
	struct stat st;
	uint64_t now = time_monotonic_ms();

	if (!pf->checked_once)
		return passwd_file_reload(pf, error_r);
	if (now - pf->last_check_ms < PASSWD_FILE_STAT_INTERVAL_MS) {
		if (!pf->loaded) {
			*error_r = pf->error;
			return -1;
		}
		return 0;
	}
	pf->last_check_ms = now;
	if (stat(pf->path, &st) < 0 || !pf->loaded ||
	    passwd_file_stat_changed(&st, &pf->st))
		return passwd_file_reload(pf, error_r);
	return 0;
}

int passwd_file_lookup(struct passwd_file *pf, const char *user,
		       const struct passwd_file_entry **entry_r, const char **error_r)
{
	if (!pf->loaded) {
		*error_r = pf->checked_once ? pf->error : "passwd-file not read yet";
		return -1;
	}
	char key[PASSWD_FILE_USER_MAX_LEN + 1];
	size_t len = strlen(user);
	const char *at = strrchr(user, '@');
	/* "_" is the store's directory for names without a domain: "demo@_"
	 * would open demo's mail */
	if (len > PASSWD_FILE_USER_MAX_LEN || (at != NULL && strcmp(at + 1, "_") == 0))
		return 0;
	memcpy(key, user, len + 1);
	passwd_file_user_normalize(key);
	size_t lo = 0, hi = pf->sorted_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int ret = strcmp(key, pf->sorted[mid]->user);
		if (ret == 0) {
			*entry_r = pf->sorted[mid];
			return 1;
		}
		if (ret < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

size_t passwd_file_count(const struct passwd_file *pf)
{
	return pf->count;
}

const struct passwd_file_entry *passwd_file_entry_at(const struct passwd_file *pf, size_t i)
{
	if (i >= pf->count)
		i_panic("passwd_file_entry_at(%zu) out of %zu", i, pf->count);
	return &pf->entries[i];
}

/* ---- editing ---- */

/* What a name must be to be the first field of a line. */
static const char *passwd_file_user_line_reason(const char *user)
{
	size_t len = strlen(user);

	if (len == 0 || len > PASSWD_FILE_USER_MAX_LEN)
		return "it must be 1 to 255 bytes long";
	if (user[0] == '#' || user[0] == ' ' || user[0] == '\t')
		return "it must not start with '#' or white space";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)user[i];
		if (c < 0x20 || c == 0x7f || c == ':' || c == '/' || c == '\\')
			return "it must not contain ':', '/', '\\' or control characters";
	}
	if (u8_check((const uint8_t *)user, len) != NULL)
		return "it is not valid UTF-8";
	return NULL;
}

const char *passwd_file_user_invalid_reason(const char *user)
{
	const char *reason = passwd_file_user_line_reason(user);
	if (reason != NULL)
		return reason;
	size_t len = strlen(user);
	const char *at = strrchr(user, '@');
	size_t local_len = at == NULL ? len : (size_t)(at - user);
	if (local_len == 0 || (at != NULL && at[1] == '\0'))
		return "the parts before and after '@' must not be empty";
	/* both parts become directory names of the store */
	if (user[0] == '.' || (at != NULL && at[1] == '.'))
		return "the parts before and after '@' must not start with '.'";
	if (at != NULL && strcmp(at + 1, "_") == 0)
		return "\"_\" is the store's name for \"no domain\" (use the name without @_)";
	return NULL;
}

bool passwd_file_user_is_valid(const char *user)
{
	return passwd_file_user_invalid_reason(user) == NULL;
}

enum passwd_file_op { PASSWD_FILE_OP_ADD, PASSWD_FILE_OP_SET_PASSWORD, PASSWD_FILE_OP_DELETE };

struct passwd_file_edit {
	const char *path;
	enum passwd_file_op op;
	const char *user;
	const char *password;
	/* "{SCHEME}data" strings for the extra field (NULL-terminated; NULL:
	 * none) */
	const char *const *credentials;
	enum passwd_file_error error_class;
	char *error;
};

/* Appends the fields after the password of a line (rest[0..len): empty
 * or ":uid:gid:gecos:home:shell[:extra]") with the extra field's
 * credentials (`key={SCHEME}...` tokens: secrets of the old password)
 * replaced by `scheme-in-lowercase={SCHEME}data` for each new one. */
static void passwd_file_rest_with_credentials(const char *rest, size_t len,
					      const char *const *credentials, struct str *out)
{
	const char *field[6] = { "", "", "", "", "", "" };
	size_t field_len[6] = { 0 }, n = 0, start = 1;
	struct str extra = STR_INIT;

	/* the 6th field (extra) takes the rest, ':' included */
	for (size_t i = 1; len > 0 && i <= len && n < 6; i++) {
		if (i < len && (rest[i] != ':' || n == 5))
			continue;
		field[n] = rest + start;
		field_len[n++] = i - start;
		start = i + 1;
	}
	const char *p = field[5], *end = field[5] + field_len[5];
	bool changed = credentials != NULL && credentials[0] != NULL;
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *tok_end = sp != NULL ? sp : end;
		const char *eq = memchr(p, '=', (size_t)(tok_end - p));
		bool credential = eq != NULL && eq + 1 < tok_end && eq[1] == '{';
		if (tok_end > p && !credential) {
			if (extra.len > 0)
				str_append_c(&extra, ' ');
			str_append_n(&extra, p, (size_t)(tok_end - p));
		}
		changed = changed || credential;
		p = tok_end + (sp != NULL ? 1 : 0);
	}
	if (!changed) {
		/* nothing to replace: the line stays as it was */
		str_append_n(out, rest, len);
		str_free(&extra);
		return;
	}
	for (size_t i = 0; credentials != NULL && credentials[i] != NULL; i++) {
		const char *c = credentials[i];
		const char *close = strchr(c, '}');
		if (c[0] != '{' || close == NULL)
			continue;
		if (extra.len > 0)
			str_append_c(&extra, ' ');
		for (const char *q = c + 1; q < close; q++)
			str_append_c(&extra, (char)(*q >= 'A' && *q <= 'Z' ? *q - 'A' + 'a' : *q));
		str_append_c(&extra, '=');
		str_append(&extra, c);
	}
	if (extra.len > 0 || len > 0) {
		for (size_t i = 0; i < 5; i++) {
			str_append_c(out, ':');
			str_append_n(out, field[i], field_len[i]);
		}
		if (extra.len > 0) {
			str_append_c(out, ':');
			str_append_n(out, extra.data, extra.len);
		} else if (n == 6) {
			str_append_c(out, ':');
		}
	}
	if (extra.data != NULL)
		explicit_bzero(extra.data, extra.len);
	str_free(&extra);
}

static int passwd_file_edit_fail(struct passwd_file_edit *edit, enum passwd_file_error class,
				 const char *fmt, ...) ATTR_PRINTF(3, 4);
static int passwd_file_edit_fail(struct passwd_file_edit *edit, enum passwd_file_error class,
				 const char *fmt, ...)
{
	va_list args;
	int saved_errno = errno;

	if (class == PASSWD_FILE_ERROR_IO && (errno == EACCES || errno == EPERM))
		class = PASSWD_FILE_ERROR_PERMISSION;
	errno = saved_errno;	/* for %m */
	va_start(args, fmt);
	edit->error_class = class;
	edit->error = xvasprintf(fmt, args);
	va_end(args);
	return -1;
}

/* Opens and locks the file itself, so that concurrent editors queue up;
 * since each of them replaces the file by rename(), a waiter that wakes up
 * holding the lock of a replaced inode opens the new file and tries again.
 * Returns the fd, or -1 (error set in edit). */
static int passwd_file_edit_lock(struct passwd_file_edit *edit, struct stat *st_r)
{
	for (;;) {
		bool created = false;
		int fd = open(edit->path, O_RDWR | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && edit->op == PASSWD_FILE_OP_ADD) {
			fd = open(edit->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
			if (fd < 0 && errno == EEXIST)
				continue;
			if (fd < 0)
				return passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO,
					"creating %s failed: %m", edit->path);
			created = true;
		}
		if (fd < 0) {
			if (errno == ENOENT)
				return passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_NO_FILE,
					"no user database at %s", edit->path);
			return passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO,
				"open(%s) failed: %m", edit->path);
		}
		if (created && geteuid() == 0) {
			/* the server reads the file as the owner of its
			 * directory (the unprivileged `user`), not as root */
			char *dir = xstrdup(edit->path);
			char *slash = strrchr(dir, '/');
			struct stat dst;
			if (slash == NULL)
				strcpy(dir, ".");
			else if (slash == dir)
				slash[1] = '\0';
			else
				*slash = '\0';
			if (stat(dir, &dst) == 0 && fchown(fd, dst.st_uid, dst.st_gid) < 0) {
				free(dir);
				close(fd);
				return passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO,
					"fchown(%s) failed: %m", edit->path);
			}
			free(dir);
		}
		struct stat path_st;
		if (flock(fd, LOCK_EX) < 0 || fstat(fd, st_r) < 0) {
			close(fd);
			return passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO,
				"locking %s failed: %m", edit->path);
		}
		if (stat(edit->path, &path_st) == 0 && path_st.st_dev == st_r->st_dev &&
		    path_st.st_ino == st_r->st_ino)
			return fd;
		close(fd);
	}
}

/* Returns the user name length of a raw line (up to the first ':'), or
 * SIZE_MAX for a line without a user. */
static size_t passwd_file_line_user_len(const char *line, size_t len)
{
	if (passwd_file_line_is_skipped(line, len))
		return SIZE_MAX;
	const char *colon = memchr(line, ':', len);
	if (colon == NULL || colon == line)
		return SIZE_MAX;
	return (size_t)(colon - line);
}

/* Builds the new content from the old; returns 0 or -1 (error set). */
static int passwd_file_edit_content(struct passwd_file_edit *edit, const char *data,
				    size_t len, struct str *out)
{
	size_t user_len = strlen(edit->user);
	bool found = false;
	const char *p = data, *end = data + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl != NULL ? nl + 1 : end;
		size_t line_len = (size_t)((nl != NULL ? nl : end) - p);
		size_t ulen = passwd_file_line_user_len(p, line_len);
		bool match = ulen == user_len && passwd_file_user_matches(p, ulen, edit->user);

		if (!match) {
			str_append_n(out, p, (size_t)(next - p));
		} else if (edit->op == PASSWD_FILE_OP_ADD && memcmp(p, edit->user, ulen) != 0) {
			return passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_EXISTS,
				"user %s already exists, written %.*s (user names are "
				"compared in lower case)", edit->user, (int)ulen, p);
		} else if (edit->op == PASSWD_FILE_OP_ADD) {
			return passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_EXISTS,
				"user %s already exists", edit->user);
		} else if (edit->op == PASSWD_FILE_OP_SET_PASSWORD && !found) {
			/* user ':' password [':' rest] [CR] LF */
			const char *field = p + ulen + 1;
			const char *line_end = p + line_len;
			if (line_end > field && line_end[-1] == '\r')
				line_end--;
			const char *rest = memchr(field, ':', (size_t)(line_end - field));
			if (rest == NULL)
				rest = line_end;
			str_append_n(out, p, ulen + 1);
			str_append(out, edit->password);
			passwd_file_rest_with_credentials(rest, (size_t)(line_end - rest),
							  edit->credentials, out);
			str_append_n(out, line_end, (size_t)(next - line_end));
		} else if (edit->op == PASSWD_FILE_OP_SET_PASSWORD) {
			/* a later duplicate is ignored by readers: keep it */
			str_append_n(out, p, (size_t)(next - p));
		}
		/* PASSWD_FILE_OP_DELETE: the line is dropped */
		found = found || match;
		p = next;
	}
	if (edit->op == PASSWD_FILE_OP_ADD) {
		if (out->len > 0 && out->data[out->len - 1] != '\n')
			str_append_c(out, '\n');
		str_printfa(out, "%s:%s", edit->user, edit->password);
		passwd_file_rest_with_credentials("", 0, edit->credentials, out);
		str_append_c(out, '\n');
	} else if (!found) {
		return passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_NOT_FOUND,
			"no user %s in %s", edit->user, edit->path);
	}
	return 0;
}

/* Writes `content` to a temp file beside the target, with the target's
 * mode and owner, syncs it, renames it over the target and syncs the
 * directory. */
static int passwd_file_edit_write(struct passwd_file_edit *edit, const struct stat *st,
				  const struct str *content)
{
	char *tmp, *dir;
	const char *slash = strrchr(edit->path, '/');

	if (slash == NULL) {
		dir = xstrdup(".");
		tmp = xasprintf(".%s.XXXXXX", edit->path);
	} else {
		dir = slash == edit->path ? xstrdup("/") :
			xstrndup(edit->path, (size_t)(slash - edit->path));
		tmp = xasprintf("%.*s/.%s.XXXXXX", (int)(slash - edit->path),
				edit->path, slash + 1);
	}
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO, "mkstemp(%s) failed: %m", tmp);
		goto fail_free;
	}
	if (fchmod(fd, st->st_mode & 07777) < 0) {
		passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO, "fchmod(%s) failed: %m", tmp);
		goto fail_unlink;
	}
	if (geteuid() == 0 && fchown(fd, st->st_uid, st->st_gid) < 0) {
		passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO, "fchown(%s) failed: %m", tmp);
		goto fail_unlink;
	}
	if (write_full(fd, content->data != NULL ? content->data : "", content->len) < 0) {
		passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO, "write(%s) failed: %m", tmp);
		goto fail_unlink;
	}
	if (fsync(fd) < 0) {
		passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO, "fsync(%s) failed: %m", tmp);
		goto fail_unlink;
	}
	if (close(fd) < 0) {
		fd = -1;
		passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO, "close(%s) failed: %m", tmp);
		goto fail_unlink;
	}
	fd = -1;
	if (rename(tmp, edit->path) < 0) {
		passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO, "rename(%s, %s) failed: %m",
				      tmp, edit->path);
		goto fail_unlink;
	}
	/* make the rename itself durable */
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(tmp);
	free(dir);
	return 0;

fail_unlink:
	if (fd >= 0)
		close(fd);
	(void)unlink(tmp);
fail_free:
	free(tmp);
	free(dir);
	return -1;
}

static int passwd_file_edit_run(struct passwd_file_edit *edit,
				enum passwd_file_error *error_class_r, char **error_r)
{
	struct stat st;
	struct str content = STR_INIT;
	char *data = NULL, *normalized = NULL;
	size_t len;
	int fd, ret = -1;

	edit->error_class = PASSWD_FILE_ERROR_NONE;
	edit->error = NULL;
	/* passwd and del also reach lines that add refuses today ("x@_") */
	const char *reason = edit->op == PASSWD_FILE_OP_ADD ?
		passwd_file_user_invalid_reason(edit->user) :
		passwd_file_user_line_reason(edit->user);
	if (reason != NULL) {
		passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_INVALID,
			"invalid user name %s: %s", edit->user, reason);
		goto out;
	}
	normalized = xstrdup(edit->user);
	passwd_file_user_normalize(normalized);
	edit->user = normalized;
	if (edit->password != NULL && (edit->password[strcspn(edit->password, ":\r\n")] != '\0' ||
				       edit->password[0] == '\0')) {
		passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_INVALID,
			"invalid password field (empty, or has ':' or a line break)");
		goto out;
	}
	for (size_t i = 0; edit->credentials != NULL && edit->credentials[i] != NULL; i++) {
		const char *c = edit->credentials[i];
		if (c[0] != '{' || strchr(c, '}') == NULL || c[strcspn(c, ": \t\r\n")] != '\0') {
			passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_INVALID,
				"invalid credentials field (not {SCHEME}data, or has ':', "
				"white space or a line break)");
			goto out;
		}
	}
	fd = passwd_file_edit_lock(edit, &st);
	if (fd < 0)
		goto out;
	if (read_all(fd, PASSWD_FILE_MAX_SIZE, &data, &len) < 0)
		passwd_file_edit_fail(edit, PASSWD_FILE_ERROR_IO, "read(%s) failed: %m", edit->path);
	else if (passwd_file_edit_content(edit, data, len, &content) == 0 &&
		 passwd_file_edit_write(edit, &st, &content) == 0)
		ret = 0;
	/* the lock goes with the descriptor, after the rename */
	close(fd);
out:
	if (data != NULL) {
		explicit_bzero(data, len);
		free(data);
	}
	if (content.data != NULL)
		explicit_bzero(content.data, content.len);
	str_free(&content);
	free(normalized);
	*error_class_r = edit->error_class;
	*error_r = edit->error;
	return ret;
}

int passwd_file_add(const char *path, const char *user, const char *password,
		    enum passwd_file_error *error_class_r, char **error_r)
{
	return passwd_file_add_credentials(path, user, password, NULL, error_class_r, error_r);
}

int passwd_file_set_password(const char *path, const char *user, const char *password,
			     enum passwd_file_error *error_class_r, char **error_r)
{
	return passwd_file_set_credentials(path, user, password, NULL, error_class_r, error_r);
}

int passwd_file_add_credentials(const char *path, const char *user, const char *password,
				const char *const *credentials,
				enum passwd_file_error *error_class_r, char **error_r)
{
	struct passwd_file_edit edit = {
		.path = path, .op = PASSWD_FILE_OP_ADD, .user = user, .password = password,
		.credentials = credentials,
	};
	return passwd_file_edit_run(&edit, error_class_r, error_r);
}

int passwd_file_set_credentials(const char *path, const char *user, const char *password,
				const char *const *credentials,
				enum passwd_file_error *error_class_r, char **error_r)
{
	struct passwd_file_edit edit = {
		.path = path, .op = PASSWD_FILE_OP_SET_PASSWORD, .user = user,
		.password = password, .credentials = credentials,
	};
	return passwd_file_edit_run(&edit, error_class_r, error_r);
}

int passwd_file_delete(const char *path, const char *user,
		       enum passwd_file_error *error_class_r, char **error_r)
{
	struct passwd_file_edit edit = {
		.path = path, .op = PASSWD_FILE_OP_DELETE, .user = user,
	};
	return passwd_file_edit_run(&edit, error_class_r, error_r);
}
