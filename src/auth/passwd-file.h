/* passwd-file.h: the Dovecot-compatible passwd-file user database.
 *
 * One user per line:
 *
 *     user:{SCHEME}hash[:uid:gid:gecos:home:shell:extra]
 *
 * `#` at the start of a line begins a comment; blank lines are skipped;
 * CRLF line ends are accepted.  A password without "{SCHEME}" is CRYPT
 * (see password.h).  Fields after the password are kept as they are (Roost
 * does not use them yet) and preserved when the file is rewritten.  User
 * names are compared in normalised form (lowercase, see
 * passwd_file_user_normalize()), "user@domain" included.  When a name
 * appears twice, the first line wins.
 *
 * Reading (passwd_file_create/lookup) is for the server's event loop: the
 * whole file is held in memory and re-read when it changes.  Editing
 * (passwd_file_add/...) is for `roost user`: it rewrites the file
 * atomically (temp file in the same directory, fsync, rename), so a running
 * server never sees half a file, and keeps every other line byte for byte.
 * None of this is thread-safe; nothing here logs a password or hash. */
#ifndef ROOST_AUTH_PASSWD_FILE_H
#define ROOST_AUTH_PASSWD_FILE_H

#include "base/base.h"

struct passwd_file;

struct passwd_file_entry {
	const char *user;
	const char *password;	/* "{SCHEME}data", bare crypt hash, or "" */
	const char *extra;	/* the fields after the password ("1000:1000::/home/u"),
				   NULL if the line has none */
	unsigned int line;	/* line number in the file, from 1 */
};

/* Makes a database for `path`; nothing is read until the first lookup or
 * reload.  Free with passwd_file_destroy(), which sets *pf to NULL. */
struct passwd_file *passwd_file_create(const char *path);
void passwd_file_destroy(struct passwd_file **pf);

/* Re-reads the file if it changed: it is stat()ed at most once per second
 * (monotonic clock) and read again when its inode, size, mtime or ctime
 * differ from those of the copy in memory.  Returns 0, or -1 with *error_r
 * (static until the next call on `pf`) if the file cannot be read; the
 * database is then unusable (lookups fail) until a later read succeeds.
 * When permissions are the cause (EACCES) the error names the directory
 * or the file's owner and mode, the user this process runs as, and a
 * command that lets it read the file. */
int passwd_file_refresh(struct passwd_file *pf, const char **error_r);
/* Reads the file now, whatever its stat says (SIGHUP).  Same returns. */
int passwd_file_reload(struct passwd_file *pf, const char **error_r);

/* Finds `user` (normalised first; a name with the domain "_" is never
 * found) after passwd_file_refresh().  Returns 1 with *entry_r set
 * (valid until the next refresh/reload/destroy), 0 if there is no such
 * user, -1 with *error_r if the file cannot be read. */
int passwd_file_lookup(struct passwd_file *pf, const char *user,
		       const struct passwd_file_entry **entry_r, const char **error_r);

/* The entries of the last successful read, in file order (duplicates
 * included).  Pointers are valid until the next refresh/reload/destroy. */
size_t passwd_file_count(const struct passwd_file *pf);
const struct passwd_file_entry *passwd_file_entry_at(const struct passwd_file *pf, size_t i);

/* User names map to mail stores one-to-one (with the maildir backend
 * <maildir_root>/<domain>/<local part>, domain "_" for a bare name), so they are compared in
 * their normalised form: ASCII letters lowercased, the whole name, as
 * Dovecot's default auth_username_format = %Lu.  The domain is
 * case-insensitive anyway (RFC 5321 section 2.4); local parts may be
 * case-sensitive by the RFC but are not in practice, and "Bob" and "bob"
 * must not be two accounts with two passwords on one store.  Other UTF-8
 * is kept as it is.  Lowercases `user` in place.  Entries are normalised
 * when the file is read (so `roost user list` shows that form; of two
 * lines that normalise alike the first wins), lookups normalise their
 * key, and edits match lines in normalised form and add the normalised
 * name. */
void passwd_file_user_normalize(char *user);

/* True if `user` may be added: 1 to 255 bytes of UTF-8 (what SASL PLAIN
 * can send), no ':', '/', '\\' or control characters, not starting with
 * '#' or white space; the parts before and after an '@' not empty and
 * not starting with '.', so a name can become a directory name safely;
 * and the domain not "_", the store's name for "no domain" ("demo@_" is
 * demo's store).  passwd_file_user_invalid_reason() says why not (NULL:
 * valid), in words for the admin. */
bool passwd_file_user_is_valid(const char *user);
const char *passwd_file_user_invalid_reason(const char *user);

enum passwd_file_error {
	PASSWD_FILE_ERROR_NONE,
	PASSWD_FILE_ERROR_EXISTS,	/* add: the user is already there */
	PASSWD_FILE_ERROR_NOT_FOUND,	/* set_password/delete: no such user */
	PASSWD_FILE_ERROR_NO_FILE,	/* set_password/delete: no file at path */
	PASSWD_FILE_ERROR_INVALID,	/* bad user name or password field */
	PASSWD_FILE_ERROR_PERMISSION,	/* EACCES/EPERM: run as the right user */
	PASSWD_FILE_ERROR_IO,		/* read, write, fsync or rename failed */
};

/* Edit the file at `path` atomically; concurrent editors are serialised
 * with flock().  `password` is the stored form ("{SCHEME}hash", see
 * password_hash()) and must not contain ':' or line breaks.
 * add: appends "user:password" with the normalised name, refusing names
 *      that are not valid or whose normalised form is there already
 *      (EXISTS); creates the file (mode 0640, owned like its directory
 *      when run as root) if it does not exist.
 * set_password and delete find the user by normalised name.
 * set_password: replaces the password field of the user's first line,
 *      keeping the fields after it.
 * delete: removes every line of the user.
 * The new file keeps the old one's mode and owner.  Return 0, or -1 with
 * *error_class_r and *error_r (allocated; the caller frees it) set; the
 * file is then unchanged. */
int passwd_file_add(const char *path, const char *user, const char *password,
		    enum passwd_file_error *error_class_r, char **error_r);
int passwd_file_set_password(const char *path, const char *user, const char *password,
			     enum passwd_file_error *error_class_r, char **error_r);
/* The same edits, also storing `credentials` (NULL-terminated
 * "{SCHEME}data" strings without ':' or white space, e.g. from
 * password_scram_hash(); NULL or empty: none) as Dovecot-style extra
 * fields `scheme=...` (the scheme's name in lower case:
 * "scram-sha-256={SCRAM-SHA-256}4096,...") in the 7th field after the
 * password, padding the fields between with empty ones.  set_credentials
 * (and so set_password) also drops the extra fields of the old password
 * (every `key={...}` token) and keeps the others. */
int passwd_file_add_credentials(const char *path, const char *user, const char *password,
				const char *const *credentials,
				enum passwd_file_error *error_class_r, char **error_r);
int passwd_file_set_credentials(const char *path, const char *user, const char *password,
				const char *const *credentials,
				enum passwd_file_error *error_class_r, char **error_r);
int passwd_file_delete(const char *path, const char *user,
		       enum passwd_file_error *error_class_r, char **error_r);

#endif
