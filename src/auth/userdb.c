/* userdb.c: the chain of user databases (userdb.h).
 *
 * A request walks the sources in order.  Each source answers once,
 * asynchronously; NOT_FOUND moves on to the next source, anything else
 * ends the walk.  A password check whose source has no verify_password of
 * its own takes the entry's stored password to a helper thread
 * (net_job_run) and runs password_verify() there; an unknown user, or one
 * whose login is disabled by an empty password, costs the same hash
 * against a dummy (the first stored hash of the first passwd-file, so the
 * cost matches the database's scheme) before NOT_FOUND / FAILED.
 *
 * Ownership: while HASHING the helper thread uses the `job` fields only.
 * userdb_request_abort() while HASHING marks the request aborted and
 * unlinks it from the chain; `done`, which always runs, frees it. */
#include "userdb.h"
#include "passwd-file.h"
#include "password.h"
#include "base/log.h"
#include "conf/conf.h"
#include "net/net.h"

#include <stdlib.h>
#include <string.h>

struct userdb_link {
	const struct userdb_source *source;
	void *obj;
};

struct userdb {
	struct userdb_link *links;
	size_t count;
	struct userdb_request *requests;	/* running, not aborted */
};

enum userdb_request_kind { USERDB_REQUEST_LOOKUP, USERDB_REQUEST_VERIFY };

struct userdb_request {
	/* job: the helper thread's while hashing */
	struct {
		char *password;		/* wiped and freed by work or free */
		char *hash;
		int verify_ret;
		const char *error;
	} job;

	struct userdb *db;		/* NULL once aborted */
	struct userdb_request *prev, *next;
	enum userdb_request_kind kind;
	char *user;
	size_t link;			/* the source asked now */
	struct userdb_source_request *source_request;
	userdb_callback *callback;
	void *ctx;
	bool hashing;
	bool source_pending;		/* a source's answer is due */
	bool starting;			/* inside userdb_request_start */
	bool answered;			/* answered while starting */
	bool found;			/* else job.hash is a dummy */
	/* the entry found, copied for the answer after the hash */
	char *entry_user, *entry_password;
	char **credentials;
	const char *entry_source;
};

/* The sources "NAME:" selects; one line each. */
static const struct userdb_source *const userdb_sources[] = {
	&userdb_source_passwd_file,
#ifdef ROOST_HAVE_USERDB_LDAP
	&userdb_source_ldap,
#endif
};

/* The source a list item names, with its argument; a bare path is a
 * passwd-file. */
static const struct userdb_source *userdb_source_find(const char *item, const char **arg_r)
{
	const char *colon = strchr(item, ':');
	for (size_t i = 0; i < N_ELEMENTS(userdb_sources); i++) {
		const char *name = userdb_sources[i]->name;
		size_t len = strlen(name);
		if (strcmp(item, name) == 0) {
			*arg_r = "";
			return userdb_sources[i];
		}
		if (colon != NULL && (size_t)(colon - item) == len &&
		    strncmp(item, name, len) == 0) {
			*arg_r = colon + 1;
			return userdb_sources[i];
		}
	}
	if (item[0] == '/' || item[0] == '.' || colon == NULL) {
		*arg_r = item;
		return &userdb_source_passwd_file;
	}
	return NULL;
}

struct userdb *userdb_create(const struct roost_config *config, char **error_r)
{
	struct userdb *db = xcalloc(1, sizeof(*db));
	const char *list = config->userdb != NULL ? config->userdb : "";

	while (*list != '\0') {
		while (*list == ' ' || *list == '\t')
			list++;
		size_t len = strcspn(list, " \t");
		if (len == 0)
			break;
		char *item = xstrndup(list, len);
		list += len;
		const char *arg;
		const struct userdb_source *source = userdb_source_find(item, &arg);
		char *error = NULL;
		void *obj = NULL;
		if (source == NULL)
			error = xasprintf("userdb: unknown source \"%s\"", item);
		else if ((obj = source->create(config, arg, &error)) == NULL && error == NULL)
			error = xasprintf("userdb: cannot use \"%s\"", item);
		free(item);
		if (error != NULL) {
			*error_r = error;
			userdb_destroy(&db);
			return NULL;
		}
		db->links = xrealloc(db->links, (db->count + 1) * sizeof(*db->links));
		db->links[db->count++] = (struct userdb_link){ source, obj };
	}
	if (db->count == 0) {
		*error_r = xstrdup("userdb: no user database configured");
		userdb_destroy(&db);
		return NULL;
	}
	return db;
}

static void userdb_request_unlink(struct userdb_request *req)
{
	if (req->db == NULL)
		return;
	if (req->prev != NULL)
		req->prev->next = req->next;
	else
		req->db->requests = req->next;
	if (req->next != NULL)
		req->next->prev = req->prev;
	req->prev = req->next = NULL;
	req->db = NULL;
}

static void userdb_free_secret(char **p)
{
	if (*p != NULL) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

static void userdb_request_free(struct userdb_request *req)
{
	userdb_free_secret(&req->job.password);
	userdb_free_secret(&req->job.hash);
	userdb_free_secret(&req->entry_password);
	if (req->credentials != NULL) {
		for (size_t i = 0; req->credentials[i] != NULL; i++)
			userdb_free_secret(&req->credentials[i]);
		free(req->credentials);
	}
	free(req->entry_user);
	free(req->user);
	free(req);
}

void userdb_destroy(struct userdb **dbp)
{
	struct userdb *db = *dbp;
	if (db == NULL)
		return;
	*dbp = NULL;
	while (db->requests != NULL) {
		struct userdb_request *req = db->requests;
		userdb_request_abort(&req);
	}
	for (size_t i = 0; i < db->count; i++)
		db->links[i].source->destroy(db->links[i].obj);
	free(db->links);
	free(db);
}

void userdb_reload(struct userdb *db)
{
	for (size_t i = 0; i < db->count; i++) {
		if (db->links[i].source->reload != NULL)
			db->links[i].source->reload(db->links[i].obj);
	}
}

/* Answers and frees the request. */
static void userdb_request_answer(struct userdb_request *req, enum userdb_result result)
{
	struct userdb_entry entry = {
		.user = req->entry_user,
		.password = req->entry_password,
		.credentials = (const char *const *)req->credentials,
		.source = req->entry_source,
	};
	static const char *const no_credentials[] = { NULL };
	if (entry.credentials == NULL)
		entry.credentials = no_credentials;
	userdb_request_unlink(req);
	req->callback(result, result == USERDB_OK ? &entry : NULL, req->ctx);
	if (req->starting)
		req->answered = true;	/* userdb_request_start frees it */
	else
		userdb_request_free(req);
}

/* On a helper thread: touches req->job only. */
static void userdb_verify_work(void *context)
{
	struct userdb_request *req = context;
	req->job.verify_ret = password_verify(req->job.password, req->job.hash, &req->job.error);
	userdb_free_secret(&req->job.password);
}

/* On the loop, after userdb_verify_work. */
static void userdb_verify_done(void *context)
{
	struct userdb_request *req = context;

	req->hashing = false;
	if (req->db == NULL) {
		userdb_request_free(req);
		return;
	}
	if (!req->found) {
		userdb_request_answer(req, USERDB_NOT_FOUND);
	} else if (req->job.verify_ret < 0) {
		log_error("userdb: user %s: cannot check the password: %s", req->user,
			  req->job.error);
		userdb_request_answer(req, USERDB_TEMPFAIL);
	} else {
		userdb_request_answer(req, req->job.verify_ret == 1 ? USERDB_OK : USERDB_FAILED);
	}
}

/* A stored hash of the chain's first source that has one, else
 * password_dummy_hash(). */
static const char *userdb_dummy_hash(struct userdb *db)
{
	for (size_t i = 0; i < db->count; i++) {
		if (db->links[i].source->sample_hash != NULL) {
			const char *hash = db->links[i].source->sample_hash(db->links[i].obj);
			if (hash != NULL)
				return hash;
		}
	}
	return password_dummy_hash();
}

static void userdb_request_hash(struct userdb_request *req, const char *hash)
{
	req->job.hash = xstrdup(hash);
	req->hashing = true;
	net_job_run(userdb_verify_work, userdb_verify_done, req);
}

static void userdb_request_next(struct userdb_request *req);

static void userdb_source_done(enum userdb_result result, const struct userdb_entry *entry,
			       void *ctx)
{
	struct userdb_request *req = ctx;
	struct userdb *db = req->db;
	const struct userdb_source *source = db->links[req->link].source;
	bool own_verify = req->kind == USERDB_REQUEST_VERIFY && source->verify_password != NULL;

	req->source_request = NULL;
	req->source_pending = false;
	if (result == USERDB_NOT_FOUND) {
		req->link++;
		userdb_request_next(req);
		return;
	}
	if (result == USERDB_OK) {
		req->entry_user = xstrdup(entry->user);
		req->entry_password = entry->password != NULL ? xstrdup(entry->password) : NULL;
		req->entry_source = source->name;
		size_t n = 0;
		while (entry->credentials != NULL && entry->credentials[n] != NULL)
			n++;
		req->credentials = xcalloc(n + 1, sizeof(*req->credentials));
		for (size_t i = 0; i < n; i++)
			req->credentials[i] = xstrdup(entry->credentials[i]);
	}
	if (result != USERDB_OK || req->kind == USERDB_REQUEST_LOOKUP || own_verify) {
		userdb_request_answer(req, result);
		return;
	}
	/* the chain checks the password itself */
	if (req->entry_password == NULL || req->entry_password[0] == '\0') {
		/* no readable password, or login disabled: a dummy's cost */
		req->found = false;
		userdb_request_hash(req, userdb_dummy_hash(db));
		return;
	}
	req->found = true;
	userdb_request_hash(req, req->entry_password);
}

/* Asks the source req->link, or ends the walk. */
static void userdb_request_next(struct userdb_request *req)
{
	struct userdb *db = req->db;

	if (req->link >= db->count) {
		if (req->kind == USERDB_REQUEST_VERIFY) {
			req->found = false;
			userdb_request_hash(req, userdb_dummy_hash(db));
		} else {
			userdb_request_answer(req, USERDB_NOT_FOUND);
		}
		return;
	}
	const struct userdb_link *link = &db->links[req->link];
	struct userdb_source_request *source_request;
	/* a source may answer inside the call when there is no loop */
	req->source_pending = true;
	if (req->kind == USERDB_REQUEST_VERIFY && link->source->verify_password != NULL)
		source_request = link->source->verify_password(
			link->obj, req->user, req->job.password, userdb_source_done, req);
	else
		source_request = link->source->lookup(link->obj, req->user,
						      userdb_source_done, req);
	if (req->source_pending)
		req->source_request = source_request;
}

static struct userdb_request *userdb_request_start(struct userdb *db,
						   enum userdb_request_kind kind,
						   const char *user, const char *password,
						   userdb_callback *callback, void *ctx)
{
	struct userdb_request *req = xcalloc(1, sizeof(*req));

	req->db = db;
	req->kind = kind;
	req->next = db->requests;
	if (db->requests != NULL)
		db->requests->prev = req;
	db->requests = req;
	req->user = xstrdup(user);
	passwd_file_user_normalize(req->user);
	if (password != NULL)
		req->job.password = xstrdup(password);
	req->callback = callback;
	req->ctx = ctx;

	/* without a loop the whole walk may finish inside this call */
	req->starting = true;
	userdb_request_next(req);
	req->starting = false;
	if (req->answered) {
		userdb_request_free(req);
		return NULL;
	}
	return req;
}

struct userdb_request *userdb_lookup(struct userdb *db, const char *user,
				     userdb_callback *callback, void *ctx)
{
	return userdb_request_start(db, USERDB_REQUEST_LOOKUP, user, NULL, callback, ctx);
}

struct userdb_request *userdb_verify_password(struct userdb *db, const char *user,
					      const char *password,
					      userdb_callback *callback, void *ctx)
{
	return userdb_request_start(db, USERDB_REQUEST_VERIFY, user, password, callback, ctx);
}

int userdb_lookup_now(struct userdb *db, const char *user)
{
	char *name = xstrdup(user);
	int ret = 0;

	passwd_file_user_normalize(name);
	for (size_t i = 0; i < db->count && ret == 0; i++) {
		const struct userdb_link *link = &db->links[i];
		if (link->source->lookup_now == NULL) {
			log_error("userdb: %s cannot answer at once; use auth_user_lookup()",
				  link->source->name);
			ret = -1;
		} else {
			ret = link->source->lookup_now(link->obj, name);
		}
	}
	free(name);
	return ret;
}

void userdb_request_abort(struct userdb_request **reqp)
{
	struct userdb_request *req = *reqp;
	if (req == NULL)
		return;
	*reqp = NULL;
	if (req->source_request != NULL)
		req->db->links[req->link].source->abort(req->source_request);
	req->source_request = NULL;
	userdb_request_unlink(req);
	if (!req->hashing)
		userdb_request_free(req);
	/* hashing: userdb_verify_done frees it */
}
