/* userdb.h: the user databases, as one chain.
 *
 * `userdb =` in the configuration lists sources, tried in order:
 *
 *     userdb = /etc/roost/passwd ldap
 *
 * A path (or "passwd-file:PATH") is a Dovecot-style passwd-file
 * (passwd-file.h); "ldap" is the directory described by the ldap_* keys
 * (userdb-ldap.c).  The same chain answers IMAP and ManageSieve logins,
 * LMTP recipients, `roost deliver` and every CLI command that names a
 * user, through struct auth (auth.h) in the server and directly in the
 * CLI.
 *
 * Chain rule: the first source that knows the user decides (its password
 * is the one checked; a wrong password there is not tried against later
 * sources).  A source that cannot answer (TEMPFAIL: file unreadable, LDAP
 * down) ends the search with TEMPFAIL, since a later source could
 * otherwise answer for a user the failed one owns.
 *
 * Every request is asynchronous: it is answered on the event loop by a
 * callback, never from inside the call that started it when a worker
 * loop runs.  Without a loop (CLI tools, unit tests) the work is done
 * inline and the callback is called before the request function
 * returns NULL.  No source may block the event loop (LDAP round trips
 * and password hashing run on helper threads, net_job_run(), or on a
 * connection the loop watches).  Nothing here logs a password or hash. */
#ifndef ROOST_AUTH_USERDB_H
#define ROOST_AUTH_USERDB_H

#include "base/base.h"

struct roost_config;
struct userdb;
struct userdb_request;

enum userdb_result {
	USERDB_OK,
	USERDB_NOT_FOUND,	/* no source knows the user */
	USERDB_FAILED,		/* verify: wrong password */
	USERDB_TEMPFAIL,	/* a source cannot answer (logged by the source) */
};

/* A user as a source knows it.  Valid during the callback only. */
struct userdb_entry {
	/* The canonical, normalised name: the one that names the store
	 * (an LDAP lookup by mail address or alias returns the account's
	 * name). */
	const char *user;
	/* The stored password, "{SCHEME}data" or a bare crypt hash; NULL
	 * when the source keeps none the server can read (LDAP with
	 * authentication by bind). */
	const char *password;
	/* More stored credentials of the same password in other schemes,
	 * each "{SCHEME}data" (the passwd-file's `scram-sha-256=...` extra
	 * fields, see password.h); NULL-terminated, may be empty. */
	const char *const *credentials;
	/* The name of the source that answered ("passwd-file", "ldap"),
	 * for the log. */
	const char *source;
};

/* Called on the event loop (or inline without one).  `entry` is NULL
 * unless result is USERDB_OK. */
typedef void userdb_callback(enum userdb_result result, const struct userdb_entry *entry,
			     void *ctx);

/* Makes the chain config->userdb describes; nothing is opened or read
 * until the first request.  Returns NULL with *error_r (allocated; the
 * caller frees it) if the list names an unknown source or a source's
 * settings are invalid (e.g. "ldap" without ldap_uri). */
struct userdb *userdb_create(const struct roost_config *config, char **error_r);
/* Drops running requests silently (their callbacks are never called).
 * Sets *db to NULL; NULL is a no-op. */
void userdb_destroy(struct userdb **db);
/* SIGHUP: re-read files, drop caches, reconnect. */
void userdb_reload(struct userdb *db);

/* Looks `user` up (normalised first, auth_user_normalize()).  LMTP
 * recipients and `roost deliver` resolve addresses with this. */
struct userdb_request *userdb_lookup(struct userdb *db, const char *user,
				     userdb_callback *callback, void *ctx);
/* Checks `password` for `user`: OK with the entry, FAILED for a wrong
 * password, NOT_FOUND for an unknown user (the caller answers both
 * alike; an unknown user still costs the time of a hash), TEMPFAIL.
 * `password` is copied and wiped after the check. */
struct userdb_request *userdb_verify_password(struct userdb *db, const char *user,
					      const char *password,
					      userdb_callback *callback, void *ctx);
/* Looks `user` up at once, for callers without a loop to wait on
 * (auth_user_exists()): 1 if a source knows the user, 0 if none does, -1
 * if one cannot answer (unreadable, or a source that has no lookup_now,
 * like LDAP: logged). */
int userdb_lookup_now(struct userdb *db, const char *user);
/* Cancels a request whose callback has not run: it never will.  Sets
 * *request to NULL; NULL is a no-op. */
void userdb_request_abort(struct userdb_request **request);

/* ---- for sources (userdb-*.c) ---- */
/* A source answers through `done(result, entry, ctx)` exactly once per
 * request unless aborted; the chain hands it its own callback. */
struct userdb_source_request;
struct userdb_source {
	const char *name;	/* "passwd-file", "ldap" */
	/* `arg` is what followed "NAME:" in the list ("" if nothing). */
	void *(*create)(const struct roost_config *config, const char *arg, char **error_r);
	void (*destroy)(void *source);
	void (*reload)(void *source);
	struct userdb_source_request *(*lookup)(void *source, const char *user,
						userdb_callback *done, void *ctx);
	/* NULL: the chain looks the user up and checks the password
	 * against entry->password itself (password_verify() on a helper
	 * thread).  LDAP by bind provides its own. */
	struct userdb_source_request *(*verify_password)(void *source, const char *user,
							 const char *password,
							 userdb_callback *done, void *ctx);
	void (*abort)(struct userdb_source_request *request);
	/* Optional: a stored hash of this source (any user's), for the
	 * dummy check of an unknown user, so that it costs what a real
	 * check costs; NULL when there is none.  Valid until the next call
	 * on the source. */
	const char *(*sample_hash)(void *source);
	/* Optional: userdb_lookup_now() for this source (1, 0, -1; `user`
	 * normalised).  NULL: the source can only answer asynchronously. */
	int (*lookup_now)(void *source, const char *user);
};

extern const struct userdb_source userdb_source_passwd_file;
extern const struct userdb_source userdb_source_ldap;

#endif
