/* userdb-ldap.c: the LDAP directory as a user database source ("ldap" in
 * `userdb =`), through OpenLDAP's libldap.
 *
 * libldap's synchronous calls block, so they never run on the worker's
 * event loop: each source starts ldap_pool_size threads, each owning two
 * connections (one bound as ldap_bind_dn for searches, one for binds as
 * users), and a bounded queue feeds them.  A thread puts a finished
 * request on the done list and wakes the loop through an eventfd that a
 * net_watch reads; the loop then updates the cache, logs outages and
 * calls back.  Without a loop (CLI tools, unit tests) a request runs
 * inline on the caller's thread with a connection of its own.
 *
 *   lookup/verify (loop) --cache hit--------------------------+
 *      |                                                      v
 *      +--> queue --(thread: search, bind, hash)--> done --(eventfd)--> callback
 *
 * Ownership: a queued or running request's `work` fields belong to the
 * thread that took it; `src`, `aborted` and the links are protected by
 * the source's lock; everything else is the loop's.  An aborted request
 * is freed when it reaches the done list, without a callback.
 *
 * A server that cannot be reached answers TEMPFAIL; the first failure of
 * an outage is logged and so is the recovery, nothing in between.
 * Reconnection attempts back off (250 ms doubling to 5 s) so a dead
 * server is not hammered, and requests meanwhile fail at once.
 *
 * The cache (ldap_cache_ttl) keeps, per user name, the entry found (or
 * that none was found) and, after a successful password check, a salted
 * SHA-256 of that password: the same password for the same user is then
 * accepted without asking the server until the entry expires.  Wrong
 * passwords and TEMPFAIL answers are never cached.  The user name only
 * enters the search filter escaped (userdb-ldap-filter.h); the DN bound
 * as is the one the search returned.  Never logs a password or hash. */
#include "userdb-ldap-private.h"
#include "userdb-ldap-filter.h"
#include "base/log.h"
#include "conf/conf.h"
#include "net/net.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* ---- the threads ---- */

static void userdb_ldap_wake_loop(struct userdb_ldap *src)
{
	uint64_t one = 1;
	if (write(src->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, the loop is awake anyway */
	}
}

/* Appends to the queue or the done list (head and tail); under
 * src->lock. */
static void userdb_ldap_list_append(struct userdb_source_request **head,
				    struct userdb_source_request **tail,
				    struct userdb_source_request *req)
{
	req->next = NULL;
	if (*tail == NULL)
		*head = req;
	else
		(*tail)->next = req;
	*tail = req;
}

static void userdb_ldap_done_append(struct userdb_ldap *src, struct userdb_source_request *req)
{
	userdb_ldap_list_append(&src->done_head, &src->done_tail, req);
}

static void *userdb_ldap_thread(void *arg)
{
	struct userdb_ldap *src = arg;
	struct userdb_ldap_conn conn = { NULL, NULL, 0 };

	pthread_mutex_lock(&src->lock);
	conn.generation = src->generation;
	for (;;) {
		while (src->queue_head == NULL && !src->stopping)
			pthread_cond_wait(&src->cond, &src->lock);
		if (src->stopping)
			break;
		struct userdb_source_request *req = src->queue_head;
		src->queue_head = req->next;
		if (src->queue_head == NULL)
			src->queue_tail = NULL;
		src->queue_len--;
		bool aborted = req->aborted;
		pthread_mutex_unlock(&src->lock);

		if (!aborted)
			userdb_ldap_request_work(src, &conn, req);

		pthread_mutex_lock(&src->lock);
		userdb_ldap_done_append(src, req);
		userdb_ldap_wake_loop(src);
	}
	pthread_mutex_unlock(&src->lock);
	userdb_ldap_conn_close(&conn);
	return NULL;
}

/* ---- the cache (loop) ---- */

static unsigned int userdb_ldap_cache_bucket(const char *key)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return h % USERDB_LDAP_CACHE_BUCKETS;
}

static void userdb_ldap_cache_entry_free(struct userdb_ldap_cache_entry *e)
{
	free(e->key);
	free(e->user);
	free(e->dn);
	userdb_ldap_free_secret(&e->password);
	explicit_bzero(e->digest, sizeof(e->digest));
	free(e);
}

/* Drops expired entries (all with `all`). */
static void userdb_ldap_cache_prune(struct userdb_ldap *src, bool all)
{
	uint64_t now = time_monotonic_ms();
	for (unsigned int i = 0; i < USERDB_LDAP_CACHE_BUCKETS; i++) {
		struct userdb_ldap_cache_entry **ep = &src->cache[i];
		while (*ep != NULL) {
			struct userdb_ldap_cache_entry *e = *ep;
			if (all || e->expires_ms <= now) {
				*ep = e->next;
				userdb_ldap_cache_entry_free(e);
				src->cache_count--;
			} else {
				ep = &e->next;
			}
		}
	}
}

/* The live entry for `key`, or NULL (an expired one is dropped). */
static struct userdb_ldap_cache_entry *userdb_ldap_cache_find(struct userdb_ldap *src,
							      const char *key)
{
	struct userdb_ldap_cache_entry **ep = &src->cache[userdb_ldap_cache_bucket(key)];
	for (; *ep != NULL; ep = &(*ep)->next) {
		struct userdb_ldap_cache_entry *e = *ep;
		if (strcmp(e->key, key) != 0)
			continue;
		if (e->expires_ms > time_monotonic_ms())
			return e;
		*ep = e->next;
		userdb_ldap_cache_entry_free(e);
		src->cache_count--;
		return NULL;
	}
	return NULL;
}

static void userdb_ldap_cache_store(struct userdb_ldap *src,
				    const struct userdb_source_request *req)
{
	/* a wrong password (FAILED) or TEMPFAIL is never remembered */
	if (src->cache_ttl == 0 || !req->cacheable || !req->from_server ||
	    (req->result != USERDB_OK && req->result != USERDB_NOT_FOUND))
		return;
	struct userdb_ldap_cache_entry *e = userdb_ldap_cache_find(src, req->key);
	if (e == NULL) {
		if (src->cache_count >= USERDB_LDAP_CACHE_MAX)
			userdb_ldap_cache_prune(src, false);
		if (src->cache_count >= USERDB_LDAP_CACHE_MAX)
			userdb_ldap_cache_prune(src, true);
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(req->key);
		unsigned int b = userdb_ldap_cache_bucket(req->key);
		e->next = src->cache[b];
		src->cache[b] = e;
		src->cache_count++;
	} else if (e->found && req->result == USERDB_OK && e->has_digest &&
		   req->op == USERDB_LDAP_OP_LOOKUP) {
		/* a lookup refreshes the entry but keeps the accepted
		 * password's digest only if the entry did not change */
		e->has_digest = strcmp(e->dn, req->dn) == 0;
	} else {
		e->has_digest = false;
	}
	free(e->user);
	free(e->dn);
	userdb_ldap_free_secret(&e->password);
	e->user = e->dn = e->password = NULL;
	e->expires_ms = time_monotonic_ms() + (uint64_t)src->cache_ttl * 1000;
	e->found = req->result == USERDB_OK;
	if (e->found) {
		e->user = xstrdup(req->user);
		e->dn = xstrdup(req->dn);
		if (req->stored_password != NULL)
			e->password = xstrdup(req->stored_password);
		if (req->op == USERDB_LDAP_OP_VERIFY) {
			memcpy(e->digest, req->digest, sizeof(e->digest));
			e->has_digest = true;
		}
	}
}

/* A salted SHA-256 of the password: what a cache entry remembers of an
 * accepted password. */
static void userdb_ldap_password_digest(const struct userdb_ldap *src, const char *password,
					unsigned char digest_r[USERDB_LDAP_DIGEST_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, src->salt, sizeof(src->salt)) != 1 ||
	    EVP_DigestUpdate(md, password, strlen(password)) != 1 ||
	    EVP_DigestFinal_ex(md, digest_r, &len) != 1 || len != USERDB_LDAP_DIGEST_LEN)
		i_panic("ldap: SHA-256 failed");
	EVP_MD_CTX_free(md);
}

/* ---- answering (loop) ---- */

static void userdb_ldap_request_free(struct userdb_source_request *req)
{
	userdb_ldap_free_secret(&req->password);
	userdb_ldap_free_secret(&req->stored_password);
	explicit_bzero(req->digest, sizeof(req->digest));
	free(req->key);
	free(req->user);
	free(req->dn);
	free(req->error);
	free(req);
}

/* Logs what the outage state calls for and calls back. */
static void userdb_ldap_request_answer(struct userdb_ldap *src,
				       struct userdb_source_request *req)
{
	if (req->result == USERDB_TEMPFAIL) {
		if (!req->server_down) {
			log_error("ldap: %s", req->error);
		} else if (!src->down) {
			log_error("ldap: directory unavailable: %s (logged once until it "
				  "answers again)", req->error);
			src->down = true;
		}
	} else if (req->from_server && src->down) {
		log_info("ldap: directory answers again");
		src->down = false;
	}
	userdb_ldap_cache_store(src, req);

	static const char *const no_credentials[] = { NULL };
	struct userdb_entry entry = {
		.user = req->user,
		.password = req->stored_password,
		.credentials = no_credentials,
		.source = "ldap",
	};
	req->done(req->result, req->result == USERDB_OK ? &entry : NULL, req->ctx);
	userdb_ldap_request_free(req);
}

static void userdb_ldap_watch_cb(void *ctx)
{
	struct userdb_ldap *src = ctx;
	uint64_t count;
	if (read(src->efd, &count, sizeof(count)) < 0) {
		/* EAGAIN: nothing new */
	}
	pthread_mutex_lock(&src->lock);
	struct userdb_source_request *req = src->done_head;
	src->done_head = src->done_tail = NULL;
	pthread_mutex_unlock(&src->lock);
	while (req != NULL) {
		struct userdb_source_request *next = req->next;
		/* abort happens on this thread: no lock needed to read it now
		 * that the request left the threads */
		if (req->aborted)
			userdb_ldap_request_free(req);
		else
			userdb_ldap_request_answer(src, req);
		req = next;
	}
	pthread_mutex_lock(&src->lock);
	if (src->queue_len == 0)
		src->queue_full_logged = false;
	pthread_mutex_unlock(&src->lock);
}

static void userdb_ldap_probe_work(void *ctx ATTR_UNUSED)
{
}

static void userdb_ldap_probe_done(void *ctx)
{
	bool *answered = ctx;
	if (*answered) {
		free(answered);	/* ran from the loop, after the probe returned */
		return;
	}
	*answered = true;
}

/* Whether a worker loop runs: net_job_run() answers inline without one. */
static bool userdb_ldap_loop_is_running(void)
{
	bool *answered = xcalloc(1, sizeof(*answered));
	net_job_run(userdb_ldap_probe_work, userdb_ldap_probe_done, answered);
	if (*answered) {
		free(answered);
		return false;
	}
	*answered = true;	/* the job's done frees it */
	return true;
}

static void userdb_ldap_threads_start(struct userdb_ldap *src)
{
	src->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (src->efd < 0)
		i_panic("ldap: eventfd: %s", strerror(errno));
	src->watch = net_watch_create(src->efd, 0, userdb_ldap_watch_cb, src);
	src->threads = xcalloc(src->pool_size, sizeof(*src->threads));
	for (unsigned int i = 0; i < src->pool_size; i++) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		int ret = pthread_create(&src->threads[i], NULL, userdb_ldap_thread, src);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (ret != 0)
			i_panic("ldap: pthread_create: %s", strerror(ret));
		src->thread_count++;
	}
}

/* Starts `req`: answers from the cache, runs it inline without a loop,
 * or queues it for a thread.  Returns the request, or NULL when it was
 * answered inline. */
static struct userdb_source_request *
userdb_ldap_request_start(struct userdb_ldap *src, struct userdb_source_request *req)
{
	if (!src->probed) {
		src->probed = true;
		src->inline_mode = !userdb_ldap_loop_is_running();
		if (!src->inline_mode)
			userdb_ldap_threads_start(src);
	}

	struct userdb_ldap_cache_entry *e =
		src->cache_ttl == 0 ? NULL : userdb_ldap_cache_find(src, req->key);
	bool cached = false;
	if (e != NULL && !e->found) {
		req->result = USERDB_NOT_FOUND;
		cached = true;
	} else if (e != NULL && (req->op == USERDB_LDAP_OP_LOOKUP ||
				 (e->has_digest &&
				  CRYPTO_memcmp(e->digest, req->digest,
						sizeof(e->digest)) == 0))) {
		req->result = USERDB_OK;
		req->user = xstrdup(e->user);
		req->dn = xstrdup(e->dn);
		req->stored_password = e->password != NULL ? xstrdup(e->password) : NULL;
		cached = true;
	}
	if (cached)
		userdb_ldap_free_secret(&req->password);

	if (src->inline_mode) {
		if (!cached)
			userdb_ldap_request_work(src, &src->inline_conn, req);
		userdb_ldap_request_answer(src, req);
		return NULL;
	}

	pthread_mutex_lock(&src->lock);
	if (cached) {
		/* answered from the loop, never from inside this call */
		userdb_ldap_done_append(src, req);
		userdb_ldap_wake_loop(src);
	} else if (src->queue_len >= USERDB_LDAP_QUEUE_MAX) {
		if (!src->queue_full_logged)
			log_warning("ldap: %u requests wait for the directory; answering "
				    "TEMPFAIL to more", src->queue_len);
		src->queue_full_logged = true;
		req->result = USERDB_TEMPFAIL;
		req->error = xstrdup("queue full");
		req->server_down = true;
		userdb_ldap_done_append(src, req);
		userdb_ldap_wake_loop(src);
	} else {
		userdb_ldap_list_append(&src->queue_head, &src->queue_tail, req);
		src->queue_len++;
		pthread_cond_signal(&src->cond);
	}
	pthread_mutex_unlock(&src->lock);
	return req;
}

static struct userdb_source_request *
userdb_ldap_request_new(struct userdb_ldap *src, enum userdb_ldap_op op, const char *user,
			userdb_callback *done, void *ctx)
{
	struct userdb_source_request *req = xcalloc(1, sizeof(*req));
	req->src = src;
	req->op = op;
	req->done = done;
	req->ctx = ctx;
	req->key = xstrdup(user);
	return req;
}

static struct userdb_source_request *userdb_ldap_lookup(void *source, const char *user,
							userdb_callback *done, void *ctx)
{
	struct userdb_ldap *src = source;
	return userdb_ldap_request_start(src, userdb_ldap_request_new(src,
					 USERDB_LDAP_OP_LOOKUP, user, done, ctx));
}

static struct userdb_source_request *
userdb_ldap_verify_password(void *source, const char *user, const char *password,
			    userdb_callback *done, void *ctx)
{
	struct userdb_ldap *src = source;
	struct userdb_source_request *req = userdb_ldap_request_new(src, USERDB_LDAP_OP_VERIFY,
								    user, done, ctx);
	req->password = xstrdup(password);
	userdb_ldap_password_digest(src, password, req->digest);
	return userdb_ldap_request_start(src, req);
}

static void userdb_ldap_abort(struct userdb_source_request *req)
{
	struct userdb_ldap *src = req->src;
	if (src->inline_mode) {
		/* inline requests are answered before they return */
		i_panic("ldap: abort of an answered request");
	}
	pthread_mutex_lock(&src->lock);
	req->aborted = true;
	pthread_mutex_unlock(&src->lock);
}

/* ---- the source ---- */

static int userdb_ldap_read_password_file(const char *path, char **password_r, char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = xasprintf("ldap_bind_password_file %s: %s", path, strerror(errno));
		return -1;
	}
	char buf[1024];
	ssize_t n = read(fd, buf, sizeof(buf));
	int err = errno;
	close(fd);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		*error_r = xasprintf("ldap_bind_password_file %s: %s", path,
				     n < 0 ? strerror(err) : "longer than 1023 bytes");
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	*password_r = xstrndup(buf, (size_t)n);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static void userdb_ldap_source_free(struct userdb_ldap *src)
{
	free(src->uri);
	free(src->tls_ca);
	free(src->bind_dn);
	userdb_ldap_free_secret(&src->bind_password);
	free(src->bind_password_file);
	free(src->base);
	free(src->filter);
	free(src->user_attr);
	free(src->password_attr);
	pthread_mutex_destroy(&src->lock);
	pthread_cond_destroy(&src->cond);
	free(src);
}

static void *userdb_ldap_create(const struct roost_config *config, const char *arg,
				char **error_r)
{
	const char *error;

	if (arg[0] != '\0') {
		*error_r = xstrdup("ldap: takes no argument (it reads the ldap_* settings)");
		return NULL;
	}
	if (config->ldap_uri[0] == '\0') {
		*error_r = xstrdup("ldap: ldap_uri is not set");
		return NULL;
	}
	if (config->ldap_base[0] == '\0') {
		*error_r = xstrdup("ldap: ldap_base is not set");
		return NULL;
	}
	if (userdb_ldap_filter_check(config->ldap_user_filter, &error) < 0) {
		*error_r = xasprintf("ldap: ldap_user_filter: %s", error);
		return NULL;
	}
	int scope;
	if (strcmp(config->ldap_scope, "subtree") == 0)
		scope = LDAP_SCOPE_SUBTREE;
	else if (strcmp(config->ldap_scope, "onelevel") == 0)
		scope = LDAP_SCOPE_ONELEVEL;
	else if (strcmp(config->ldap_scope, "base") == 0)
		scope = LDAP_SCOPE_BASE;
	else {
		*error_r = xstrdup("ldap: ldap_scope must be base, onelevel or subtree");
		return NULL;
	}
	bool auth_bind;
	if (strcmp(config->ldap_auth, "bind") == 0)
		auth_bind = true;
	else if (strcmp(config->ldap_auth, "password") == 0)
		auth_bind = false;
	else {
		*error_r = xstrdup("ldap: ldap_auth must be bind or password");
		return NULL;
	}
	if (config->ldap_user_attr[0] == '\0' || config->ldap_password_attr[0] == '\0') {
		*error_r = xstrdup("ldap: ldap_user_attr and ldap_password_attr "
				   "cannot be empty");
		return NULL;
	}
	/* each URI must be one libldap parses; ldaps:// with StartTLS
	 * would start TLS twice */
	char *uris = xstrdup(config->ldap_uri), *save = NULL;
	int rc = LDAP_SUCCESS;
	for (char *tok = strtok_r(uris, " ,", &save); tok != NULL && rc == LDAP_SUCCESS;
	     tok = strtok_r(NULL, " ,", &save)) {
		LDAPURLDesc *url = NULL;
		if (ldap_url_parse(tok, &url) != LDAP_URL_SUCCESS) {
			*error_r = xasprintf("ldap: ldap_uri: cannot parse \"%s\"", tok);
			rc = -1;
		} else if (strcmp(url->lud_scheme, "ldap") != 0 &&
			   strcmp(url->lud_scheme, "ldaps") != 0 &&
			   strcmp(url->lud_scheme, "ldapi") != 0) {
			*error_r = xasprintf("ldap: ldap_uri: unknown scheme in \"%s\"", tok);
			rc = -1;
		} else if (config->ldap_starttls && strcmp(url->lud_scheme, "ldaps") == 0) {
			*error_r = xstrdup("ldap: ldap_starttls = yes with an ldaps:// URI");
			rc = -1;
		}
		if (url != NULL)
			ldap_free_urldesc(url);
	}
	free(uris);
	if (rc != LDAP_SUCCESS)
		return NULL;

	char *bind_password = NULL;
	if (config->ldap_bind_password_file[0] != '\0') {
		if (userdb_ldap_read_password_file(config->ldap_bind_password_file,
		    &bind_password,
					    error_r) < 0)
			return NULL;
	} else {
		bind_password = xstrdup(config->ldap_bind_password);
	}

	struct userdb_ldap *src = xcalloc(1, sizeof(*src));
	pthread_mutex_init(&src->lock, NULL);
	pthread_cond_init(&src->cond, NULL);
	src->uri = xstrdup(config->ldap_uri);
	src->tls_ca = xstrdup(config->ldap_tls_ca);
	src->bind_dn = xstrdup(config->ldap_bind_dn);
	src->bind_password = bind_password;
	src->bind_password_file = xstrdup(config->ldap_bind_password_file);
	src->base = xstrdup(config->ldap_base);
	src->filter = xstrdup(config->ldap_user_filter);
	src->user_attr = xstrdup(config->ldap_user_attr);
	src->password_attr = xstrdup(config->ldap_password_attr);
	src->scope = scope;
	src->starttls = config->ldap_starttls;
	src->auth_bind = auth_bind;
	src->cache_ttl = config->ldap_cache_ttl;
	src->timeout = config->ldap_timeout;
	src->pool_size = config->ldap_pool_size;
	src->efd = -1;
	if (RAND_bytes(src->salt, sizeof(src->salt)) != 1)
		i_panic("ldap: no random bytes for the cache's salt");
	return src;
}

static void userdb_ldap_destroy(void *source)
{
	struct userdb_ldap *src = source;

	pthread_mutex_lock(&src->lock);
	src->stopping = true;
	pthread_cond_broadcast(&src->cond);
	pthread_mutex_unlock(&src->lock);
	/* a thread inside a call finishes it first: ldap_timeout at most */
	for (unsigned int i = 0; i < src->thread_count; i++)
		pthread_join(src->threads[i], NULL);
	free(src->threads);

	struct userdb_source_request *lists[2] = { src->queue_head, src->done_head };
	for (size_t i = 0; i < N_ELEMENTS(lists); i++) {
		for (struct userdb_source_request *req = lists[i],
		     *next; req != NULL; req = next) {
			next = req->next;
			userdb_ldap_request_free(req);
		}
	}
	net_watch_destroy(&src->watch);
	if (src->efd >= 0)
		close(src->efd);
	userdb_ldap_conn_close(&src->inline_conn);
	userdb_ldap_cache_prune(src, true);
	userdb_ldap_source_free(src);
}

static void userdb_ldap_reload(void *source)
{
	struct userdb_ldap *src = source;
	char *password = NULL, *error = NULL;

	userdb_ldap_cache_prune(src, true);
	if (src->bind_password_file[0] != '\0' &&
	    userdb_ldap_read_password_file(src->bind_password_file, &password, &error) < 0) {
		log_error("ldap: %s (keeping the password read before)", error);
		free(error);
	}
	pthread_mutex_lock(&src->lock);
	if (password != NULL) {
		userdb_ldap_free_secret(&src->bind_password);
		src->bind_password = password;
	}
	src->generation++;
	src->next_connect_ms = 0;
	src->backoff_ms = 0;
	pthread_mutex_unlock(&src->lock);
	userdb_ldap_conn_close(&src->inline_conn);
}

const struct userdb_source userdb_source_ldap = {
	.name = "ldap",
	.create = userdb_ldap_create,
	.destroy = userdb_ldap_destroy,
	.reload = userdb_ldap_reload,
	.lookup = userdb_ldap_lookup,
	.verify_password = userdb_ldap_verify_password,
	.abort = userdb_ldap_abort,
};
