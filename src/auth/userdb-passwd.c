/* userdb-passwd.c: the passwd-file source of the user database chain.
 *
 * Wraps passwd-file.h: the file is held in memory and re-read when it
 * changes, so a lookup is a search on the loop; the answer is still
 * delivered from a job's `done` (net_job_run with nothing to do on the
 * thread) so that it never comes from inside the call that asked.
 *
 * Extra fields: Dovecot's passwd-file line is
 * user:password:uid:gid:gecos:home:shell:extra_fields, the last field a
 * space-separated list of key=value.  Every value that starts with '{'
 * ("scram-sha-256={SCRAM-SHA-256}4096,...") is another stored form of the
 * password, exposed as entry->credentials. */
#include "userdb.h"
#include "passwd-file.h"
#include "base/log.h"
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

struct userdb_passwd {
	struct passwd_file *file;
	char *path;
	bool failed;		/* the last read failed (logged once) */
};

struct userdb_source_request {
	struct userdb_passwd *source;	/* NULL once aborted */
	char *user;
	userdb_callback *done;
	void *ctx;
};

static void *userdb_passwd_create(const struct roost_config *config, const char *arg,
				  char **error_r)
{
	(void)config;
	if (arg[0] == '\0') {
		*error_r = xstrdup("userdb: passwd-file needs a path");
		return NULL;
	}
	struct userdb_passwd *pw = xcalloc(1, sizeof(*pw));
	pw->path = xstrdup(arg);
	pw->file = passwd_file_create(arg);
	return pw;
}

static void userdb_passwd_destroy(void *source)
{
	struct userdb_passwd *pw = source;
	passwd_file_destroy(&pw->file);
	free(pw->path);
	free(pw);
}

/* Logs a failure when it starts and a recovery when it ends. */
static void userdb_passwd_note(struct userdb_passwd *pw, int ret, const char *error)
{
	if (ret < 0) {
		if (!pw->failed)
			log_error("auth: user database unusable: %s", error);
		pw->failed = true;
	} else if (pw->failed) {
		log_info("auth: user database %s readable again", pw->path);
		pw->failed = false;
	}
}

static void userdb_passwd_reload(void *source)
{
	struct userdb_passwd *pw = source;
	const char *error = NULL;
	int ret = passwd_file_reload(pw->file, &error);
	pw->failed = false;	/* log this read's outcome in any case */
	if (ret < 0)
		userdb_passwd_note(pw, ret, error);
}

/* Splits the extra fields of `extra` (the fields after the password) into
 * the credentials array *creds_r (allocated, NULL-terminated; strings
 * point into *copy_r, which the caller frees too). */
static void userdb_passwd_credentials(const char *extra, char **copy_r, const char ***creds_r)
{
	size_t n = 0;
	const char **creds = xcalloc(1, sizeof(*creds));

	*copy_r = NULL;
	*creds_r = creds;
	/* skip uid, gid, gecos, home, shell */
	for (unsigned int i = 0; extra != NULL && i < 5; i++) {
		extra = strchr(extra, ':');
		if (extra != NULL)
			extra++;
	}
	if (extra == NULL)
		return;
	char *copy = xstrdup(extra);
	*copy_r = copy;
	for (char *save = NULL, *tok = strtok_r(copy, " \t", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(tok, '=');
		if (eq == NULL || eq[1] != '{')
			continue;
		creds = xrealloc(creds, (n + 2) * sizeof(*creds));
		creds[n++] = eq + 1;
		creds[n] = NULL;
	}
	*creds_r = creds;
}

/* On the loop, after an empty job. */
static void userdb_passwd_lookup_done(void *context)
{
	struct userdb_source_request *req = context;
	struct userdb_passwd *pw = req->source;
	const struct passwd_file_entry *entry;
	const char *error = NULL;

	if (pw == NULL) {
		free(req->user);
		free(req);
		return;
	}
	int ret = passwd_file_refresh(pw->file, &error);
	if (ret == 0)
		ret = passwd_file_lookup(pw->file, req->user, &entry, &error);
	userdb_passwd_note(pw, ret < 0 ? -1 : 0, error);
	if (ret <= 0) {
		req->done(ret < 0 ? USERDB_TEMPFAIL : USERDB_NOT_FOUND, NULL, req->ctx);
	} else {
		char *copy;
		const char **creds;
		userdb_passwd_credentials(entry->extra, &copy, &creds);
		struct userdb_entry e = {
			.user = entry->user,
			.password = entry->password,
			.credentials = creds,
			.source = "passwd-file",
		};
		req->done(USERDB_OK, &e, req->ctx);
		if (copy != NULL)
			explicit_bzero(copy, strlen(copy));
		free(copy);
		free(creds);
	}
	free(req->user);
	free(req);
}

static void userdb_passwd_lookup_work(void *context)
{
	(void)context;
}

static struct userdb_source_request *userdb_passwd_lookup(void *source, const char *user,
							  userdb_callback *done, void *ctx)
{
	struct userdb_source_request *req = xcalloc(1, sizeof(*req));
	req->source = source;
	req->user = xstrdup(user);
	req->done = done;
	req->ctx = ctx;
	net_job_run(userdb_passwd_lookup_work, userdb_passwd_lookup_done, req);
	return req;
}

static void userdb_passwd_abort(struct userdb_source_request *req)
{
	/* the job's done frees it */
	req->source = NULL;
}

static const char *userdb_passwd_sample_hash(void *source)
{
	struct userdb_passwd *pw = source;
	for (size_t i = 0; i < passwd_file_count(pw->file); i++) {
		const struct passwd_file_entry *e = passwd_file_entry_at(pw->file, i);
		if (e->password[0] != '\0')
			return e->password;
	}
	return NULL;
}

static int userdb_passwd_lookup_now(void *source, const char *user)
{
	struct userdb_passwd *pw = source;
	const struct passwd_file_entry *entry;
	const char *error = NULL;

	int ret = passwd_file_refresh(pw->file, &error);
	if (ret == 0)
		ret = passwd_file_lookup(pw->file, user, &entry, &error);
	userdb_passwd_note(pw, ret < 0 ? -1 : 0, error);
	return ret;
}

const struct userdb_source userdb_source_passwd_file = {
	.name = "passwd-file",
	.create = userdb_passwd_create,
	.destroy = userdb_passwd_destroy,
	.reload = userdb_passwd_reload,
	.lookup = userdb_passwd_lookup,
	.abort = userdb_passwd_abort,
	.sample_hash = userdb_passwd_sample_hash,
	.lookup_now = userdb_passwd_lookup_now,
};
