/* run.c: Sieve on delivery: the recipient's scripts, compiled once per
 * process, run against the message, their result handed to apply.c.
 *
 * A delivery runs up to three scripts in one sequence (RFC 5228 rules
 * across them as sieve_execute_sequence() states): roost.conf's
 * sieve_before, the user's active script (or sieve_default when the user
 * has none), sieve_after.  Compiled scripts are kept in a cache shared by
 * the worker's threads, keyed by the script's identity (the user and
 * script name, or the file's path) and checked against its stamp (the
 * store's, or the file's inode, size and mtime) on every use, so a
 * changed script is compiled again at its next delivery.  A script that
 * does not compile is remembered as broken (until it changes) and its
 * deliveries fall back to implicit keep.
 *
 * This file never stores or sends anything itself: apply.c does. */
#include "run.h"
#include "apply.h"
#include "sieve.h"
#include "base/istream.h"
#include "base/log.h"
#include "base/pool.h"
#include "conf/conf.h"
#include "store/request.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Compiled scripts kept per process; the least recently used go first. */
#define RUN_CACHE_MAX 1024

/* One compiled script.  The cache holds one reference while the entry is
 * in it; each delivery running the script holds another, so a script
 * replaced meanwhile is freed only when its last run ends. */
struct run_cached {
	char *key;
	size_t key_len;
	uint64_t stamp;
	struct sieve_script *script;	/* NULL: it did not compile */
	unsigned int refs;
	uint64_t last_used;
};

static pthread_mutex_t run_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct run_cached **run_cache;
static size_t run_cache_count, run_cache_cap;
static uint64_t run_cache_clock;

/* The scripts of one delivery and what their callbacks need. */
struct run_ctx {
	const struct sieve_delivery *d;
	const struct sieve_imap_event *ev;	/* an IMAP event, or NULL */
	struct run_cached *scripts[SIEVE_IMAP_SCRIPTS_MAX];
	const char *names[SIEVE_IMAP_SCRIPTS_MAX];	/* for logs */
	size_t script_count;
	const char *addresses[4];
	char base_address[512];		/* envelope_to without its detail */
	char host[256];
};

/* ---- the cache ---- */

static void run_cached_unref_locked(struct run_cached *c)
{
	if (--c->refs > 0)
		return;
	sieve_script_free(&c->script);
	free(c->key);
	free(c);
}

static void run_cached_release(struct run_cached **c)
{
	if (*c == NULL)
		return;
	pthread_mutex_lock(&run_cache_lock);
	run_cached_unref_locked(*c);
	pthread_mutex_unlock(&run_cache_lock);
	*c = NULL;
}

/* The entry of `key` if its stamp is `stamp`, with a reference for the
 * caller; NULL if there is none or it is stale. */
static struct run_cached *run_cache_find(const char *key, size_t key_len, uint64_t stamp)
{
	struct run_cached *found = NULL;
	pthread_mutex_lock(&run_cache_lock);
	for (size_t i = 0; i < run_cache_count; i++) {
		struct run_cached *c = run_cache[i];
		if (c->key_len == key_len && memcmp(c->key, key, key_len) == 0) {
			if (c->stamp == stamp) {
				c->refs++;
				c->last_used = ++run_cache_clock;
				found = c;
			}
			break;
		}
	}
	pthread_mutex_unlock(&run_cache_lock);
	return found;
}

/* Enters a newly compiled script (replacing an entry of the same key)
 * and returns it with a reference for the caller. */
static struct run_cached *run_cache_add(const char *key, size_t key_len, uint64_t stamp,
					struct sieve_script *script)
{
	struct run_cached *c = xcalloc(1, sizeof(*c));
	c->key = xmemdup(key, key_len);
	c->key_len = key_len;
	c->stamp = stamp;
	c->script = script;
	c->refs = 2;

	pthread_mutex_lock(&run_cache_lock);
	size_t slot = run_cache_count;
	for (size_t i = 0; i < run_cache_count; i++) {
		if (run_cache[i]->key_len == key_len &&
		    memcmp(run_cache[i]->key, key, key_len) == 0) {
			slot = i;
			break;
		}
	}
	if (slot == run_cache_count && run_cache_count == RUN_CACHE_MAX) {
		slot = 0;
		for (size_t i = 1; i < run_cache_count; i++) {
			if (run_cache[i]->last_used < run_cache[slot]->last_used)
				slot = i;
		}
	}
	if (slot < run_cache_count) {
		run_cached_unref_locked(run_cache[slot]);
	} else {
		ARRAY_RESERVE(run_cache, run_cache_cap, run_cache_count + 1);
		run_cache_count++;
	}
	run_cache[slot] = c;
	c->last_used = ++run_cache_clock;
	pthread_mutex_unlock(&run_cache_lock);
	return c;
}

void sieve_run_cache_clear(void)
{
	pthread_mutex_lock(&run_cache_lock);
	for (size_t i = 0; i < run_cache_count; i++)
		run_cached_unref_locked(run_cache[i]);
	free(run_cache);
	run_cache = NULL;
	run_cache_count = run_cache_cap = 0;
	pthread_mutex_unlock(&run_cache_lock);
}

void sieve_run_limits(const struct roost_config *config, struct sieve_limits *limits_r)
{
	sieve_limits_default(limits_r);
	limits_r->max_script_size = config->sieve_max_script_size;
	limits_r->max_nesting = config->sieve_max_nesting;
	limits_r->max_actions = config->sieve_max_actions;
	limits_r->max_redirects = config->sieve_max_redirects;
	limits_r->max_variable_size = config->sieve_max_variable_size;
	limits_r->max_include_depth = config->sieve_max_include_depth;
	limits_r->max_cpu_ms = config->sieve_max_cpu_time;
}

static bool run_conf_set(const char *value)
{
	return value != NULL && value[0] != '\0';
}

void sieve_run_env_config(const struct roost_config *config, struct sieve_env *env)
{
	env->subaddress_delimiter = run_conf_set(config->recipient_delimiter) ?
		config->recipient_delimiter : NULL;
	env->spam_header = run_conf_set(config->sieve_spamtest_header) ?
		config->sieve_spamtest_header : NULL;
	env->spam_max = config->sieve_spamtest_max;
	env->virus_header = run_conf_set(config->sieve_virustest_header) ?
		config->sieve_virustest_header : NULL;
	env->virus_max = config->sieve_virustest_max;
}

/* Compiles `text` into the cache under `key`; a script that does not
 * compile is entered as broken, its errors logged once. */
static struct run_cached *run_compile(const struct sieve_delivery *d, const char *key,
				      size_t key_len, uint64_t stamp, const char *name,
				      const struct str *text)
{
	struct sieve_limits limits;
	struct str errors = STR_INIT;

	sieve_run_limits(d->config, &limits);
	struct sieve_script *script = sieve_compile(name, text->data == NULL ? "" : text->data,
						    text->len, &limits, &errors);
	if (script == NULL) {
		log_error("%s: sieve: script %s does not compile (its deliveries keep "
			  "the message in INBOX): %s", d->log_prefix, name, str_c(&errors));
	}
	str_free(&errors);
	return run_cache_add(key, key_len, stamp, script);
}

/* ---- finding the scripts ---- */

/* A script of roost.conf (sieve_before, sieve_after, sieve_default):
 * 1 with *c_r, 0 when the file does not exist, -1 when it cannot be read
 * (logged). */
static int run_file_script(const struct sieve_delivery *d, const char *path,
			   struct run_cached **c_r)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int err = errno;
		if (fd >= 0)
			close(fd);
		if (err == ENOENT)
			return 0;
		log_error("%s: sieve: cannot open %s: %s", d->log_prefix, path, strerror(err));
		return -1;
	}
	uint64_t stamp = (uint64_t)st.st_mtim.tv_sec * 1000000000u +
		(uint64_t)st.st_mtim.tv_nsec;
	stamp ^= ((uint64_t)st.st_ino << 32) ^ (uint64_t)st.st_size ^
		((uint64_t)st.st_dev << 48);
	struct str key = STR_INIT;
	str_printfa(&key, "F%s", path);
	*c_r = run_cache_find(key.data, key.len, stamp);
	if (*c_r == NULL) {
		struct str text = STR_INIT;
		if (str_append_fd(&text, fd) < 0) {
			log_error("%s: sieve: cannot read %s: %s", d->log_prefix, path,
				  strerror(errno));
			str_free(&text);
			str_free(&key);
			close(fd);
			return -1;
		}
		*c_r = run_compile(d, key.data, key.len, stamp, path, &text);
		str_free(&text);
	}
	str_free(&key);
	close(fd);
	return 1;
}

/* The user's active script: 1 with *c_r, 0 when none is active, -1 on a
 * store error (logged). */
static int run_user_script(const struct sieve_delivery *d, const char *name,
			   struct run_cached **c_r)
{
	struct str text = STR_INIT, key = STR_INIT;
	uint64_t stamp;
	enum store_error err;

	if (store_sieve_get(d->store, name, &text, &stamp) < 0) {
		const char *msg = store_last_error(d->store, &err);
		str_free(&text);
		if (err == STORE_ERR_NOTFOUND)
			return 0;
		log_error("%s: sieve: %s: cannot read script \"%s\": %s", d->log_prefix,
			  d->user, name, msg);
		return -1;
	}
	/* the key holds the user and the name, each NUL-terminated */
	str_append(&key, "P");
	str_append_n(&key, d->user, strlen(d->user) + 1);
	str_append_n(&key, name, strlen(name) + 1);
	*c_r = run_cache_find(key.data, key.len, stamp);
	if (*c_r == NULL) {
		char *label = xasprintf("\"%s\" of %s", name, d->user);
		*c_r = run_compile(d, key.data, key.len, stamp, label, &text);
		free(label);
	}
	str_free(&key);
	str_free(&text);
	return 1;
}

static void run_ctx_add(struct run_ctx *ctx, struct run_cached *c, const char *name)
{
	ctx->names[ctx->script_count] = name;
	ctx->scripts[ctx->script_count++] = c;
}

static void run_ctx_release(struct run_ctx *ctx)
{
	for (size_t i = 0; i < ctx->script_count; i++)
		run_cached_release(&ctx->scripts[i]);
	ctx->script_count = 0;
}

/* Fills ctx->scripts.  Returns 0 (no scripts is 0 with none), or -1
 * when a script cannot be read (logged): the delivery then keeps the
 * message, as for a script that fails. */
static int run_find_scripts(struct run_ctx *ctx)
{
	const struct sieve_delivery *d = ctx->d;
	const struct roost_config *config = d->config;
	struct run_cached *c;
	const char *active;
	char *name = NULL;
	int ret;

	if (run_conf_set(config->sieve_before)) {
		if ((ret = run_file_script(d, config->sieve_before, &c)) < 0)
			return -1;
		if (ret > 0)
			run_ctx_add(ctx, c, "sieve_before");
	}
	if (store_sieve_get_active(d->store, &active) < 0) {
		enum store_error err;
		log_error("%s: sieve: %s: cannot find the active script: %s", d->log_prefix,
			  d->user, store_last_error(d->store, &err));
		return -1;
	}
	ret = 0;
	if (active != NULL) {
		name = xstrdup(active);
		ret = run_user_script(d, name, &c);
		free(name);
		if (ret < 0)
			return -1;
		if (ret > 0)
			run_ctx_add(ctx, c, "the user's script");
	}
	if (ret == 0 && run_conf_set(config->sieve_default)) {
		/* RFC 5804 has no notion of it; as Pigeonhole's
		 * sieve_default: the script of users without one */
		if ((ret = run_file_script(d, config->sieve_default, &c)) < 0)
			return -1;
		if (ret > 0)
			run_ctx_add(ctx, c, "sieve_default");
	}
	if (run_conf_set(config->sieve_after)) {
		if ((ret = run_file_script(d, config->sieve_after, &c)) < 0)
			return -1;
		if (ret > 0)
			run_ctx_add(ctx, c, "sieve_after");
	}
	return 0;
}

/* ---- the environment of a run (struct sieve_env) ---- */

static int run_env_mailbox_exists(void *context, const char *name)
{
	struct run_ctx *ctx = context;
	struct store_status st;
	enum store_error err;

	if (store_mailbox_status(ctx->d->store, name, &st) == 0)
		return 1;
	(void)store_last_error(ctx->d->store, &err);
	return err == STORE_ERR_NOTFOUND || err == STORE_ERR_PARAMS ? 0 : -1;
}

static int run_env_mailbox_id(void *context, const char *name, struct pool *pool,
			      const char **id_r)
{
	struct run_ctx *ctx = context;
	struct store_status st;
	enum store_error err;

	if (store_mailbox_status(ctx->d->store, name, &st) == 0) {
		if (st.mailboxid[0] == '\0')
			return 0;
		*id_r = p_strdup(pool, st.mailboxid);
		return 1;
	}
	(void)store_last_error(ctx->d->store, &err);
	return err == STORE_ERR_NOTFOUND || err == STORE_ERR_PARAMS ? 0 : -1;
}

static int run_env_mailbox_id_exists(void *context, const char *id)
{
	struct run_ctx *ctx = context;
	struct store_mailbox_info *infos;
	size_t count;
	int ret = 0;

	if (store_mailbox_list(ctx->d->store, &infos, &count) < 0)
		return -1;
	for (size_t i = 0; i < count && ret == 0; i++) {
		struct store_status st;
		if (infos[i].exists &&
		    store_mailbox_status(ctx->d->store, infos[i].name, &st) == 0 &&
		    strcmp(st.mailboxid, id) == 0)
			ret = 1;
	}
	free(infos);
	return ret;
}

static int run_env_special_use(void *context, const char *use, struct pool *pool,
			       const char **name_r)
{
	struct run_ctx *ctx = context;
	struct store_mailbox_info *infos;
	size_t count;
	uint32_t bit = sieve_apply_special_use_bit(use);
	int ret = 0;

	if (bit == 0)
		return 0;
	if (store_mailbox_list(ctx->d->store, &infos, &count) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		if (infos[i].exists && (infos[i].special_use & bit) != 0) {
			if (name_r != NULL)
				*name_r = p_strdup(pool, infos[i].name);
			ret = 1;
			break;
		}
	}
	free(infos);
	return ret;
}

/* RFC 6609 :global scripts are files NAME.sieve in sieve_global_dir; a
 * name that could leave that directory is no script. */
static int run_env_include_global(struct run_ctx *ctx, const char *name, struct str *text_r)
{
	const char *dir = ctx->d->config->sieve_global_dir;
	if (!run_conf_set(dir) || name[0] == '\0' || name[0] == '.' ||
	    strchr(name, '/') != NULL)
		return 0;
	char *path = xasprintf("%s/%s.sieve", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret = 1;
	if (fd < 0) {
		ret = errno == ENOENT ? 0 : -1;
	} else {
		ret = str_append_fd(text_r, fd) < 0 ? -1 : 1;
		close(fd);
	}
	if (ret < 0)
		log_error("%s: sieve: cannot read %s: %s", ctx->d->log_prefix, path,
			  strerror(errno));
	free(path);
	return ret;
}

static int run_env_include(void *context, enum sieve_location where, const char *name,
			   struct str *text_r)
{
	struct run_ctx *ctx = context;
	enum store_error err;

	if (where == SIEVE_GLOBAL)
		return run_env_include_global(ctx, name, text_r);
	if (store_sieve_get(ctx->d->store, name, text_r, NULL) == 0)
		return 1;
	(void)store_last_error(ctx->d->store, &err);
	return err == STORE_ERR_NOTFOUND || err == STORE_ERR_PARAMS ? 0 : -1;
}

static int run_env_duplicate_seen(void *context, const void *id, size_t id_len)
{
	struct run_ctx *ctx = context;
	struct str key = STR_INIT;

	sieve_apply_track_key(&key, 'D', id, id_len);
	int ret = store_sieve_track_seen(ctx->d->store, key.data, key.len, ctx->d->now);
	str_free(&key);
	return ret;
}

/* RFC 5183 4: the items of a delivery. */
static const char *run_env_environment(void *context, const char *item)
{
	struct run_ctx *ctx = context;

	if (ctx->ev != NULL) {
		/* RFC 6785 4.2-4.5; location and phase are imapsieve.c's */
		if (strcmp(item, "imap.user") == 0)
			return ctx->ev->user;
		if (strcmp(item, "imap.email") == 0)
			return strchr(ctx->ev->user, '@') != NULL ? ctx->ev->user : "";
		if (strcmp(item, "imap.changedflags") == 0)
			return ctx->ev->changed_flags;
	}
	if (strcmp(item, "host") == 0)
		return ctx->host;
	if (strcmp(item, "domain") == 0) {
		const char *dot = strchr(ctx->host, '.');
		return dot != NULL ? dot + 1 : ctx->host;
	}
	if (strcmp(item, "location") == 0)
		return "MDA";
	if (strcmp(item, "phase") == 0)
		return "during";
	if (strcmp(item, "name") == 0)
		return "Roost";
	if (strcmp(item, "remote-ip") == 0 || strcmp(item, "remote-host") == 0)
		return ctx->d->remote_ip;
	return NULL;
}

/* The environment of a run of ctx's scripts (callbacks, user addresses,
 * roost.conf's part). */
static void run_env_init(struct run_ctx *ctx, struct sieve_env *env)
{
	*env = (struct sieve_env) {
		.ctx = ctx,
		.mailbox_exists = run_env_mailbox_exists,
		.mailbox_id = run_env_mailbox_id,
		.mailbox_id_exists = run_env_mailbox_id_exists,
		.special_use = run_env_special_use,
		.include = run_env_include,
		.duplicate_seen = run_env_duplicate_seen,
		.environment = run_env_environment,
		.user_addresses = ctx->addresses,
	};
	sieve_run_env_config(ctx->d->config, env);
}

/* ---- a delivery ---- */

/* The message as the scripts see it, the bytes that are stored: prefix
 * and spool in one buffer (xmalloc; NULL on a read error, logged). */
static char *run_message_load(const struct sieve_delivery *d, size_t *size_r)
{
	size_t prefix_len = d->prefix == NULL ? 0 : d->prefix->len;
	size_t size = prefix_len + (size_t)d->size;
	char *data = xmalloc(size + 1);

	if (prefix_len > 0)
		memcpy(data, d->prefix->data, prefix_len);
	ssize_t n = d->size == 0 ? 0 :
		istream_pread(d->spool, data + prefix_len, (size_t)d->size, 0);
	if (n != (ssize_t)d->size) {
		log_error("%s: sieve: reading the spooled message: %s", d->log_prefix,
			  n < 0 ? strerror(errno) : "unexpected end of file");
		free(data);
		return NULL;
	}
	data[size] = '\0';
	*size_r = size;
	return data;
}

/* Runs the scripts of ctx and applies their result. */
static int run_scripts(struct run_ctx *ctx, struct sieve_delivery_result *result_r)
{
	const struct sieve_delivery *d = ctx->d;
	const struct sieve_script *scripts[3];
	struct sieve_limits limits;
	struct sieve_result result;
	size_t size;

	for (size_t i = 0; i < ctx->script_count; i++) {
		if (ctx->scripts[i]->script == NULL) {
			log_warning("%s: sieve: %s: %s does not compile: implicit keep",
				    d->log_prefix, d->user, ctx->names[i]);
			return sieve_apply_keep(d, result_r);
		}
		scripts[i] = ctx->scripts[i]->script;
	}
	char *data = run_message_load(d, &size);
	if (data == NULL) {
		result_r->status = SIEVE_DELIVERY_FAILED;
		result_r->error = STORE_ERR_TEMP;
		return -1;
	}
	struct sieve_message msg = {
		.data = data,
		.size = size,
		.envelope_from = d->envelope_from,
		.envelope_to = d->envelope_to,
		.received = d->now,
	};
	struct sieve_env env;
	run_env_init(ctx, &env);
	sieve_run_limits(d->config, &limits);
	if (sieve_execute_sequence(scripts, ctx->script_count, &msg, &env, &limits,
				   &result) < 0) {
		log_error("%s: sieve: %s: the script failed (%s): implicit keep",
			  d->log_prefix, d->user,
			  result.error != NULL ? result.error : "unknown error");
	}
	struct sieve_apply_env apply_env = { .user_addresses = ctx->addresses };
	int ret = sieve_apply_result(d, &result, &apply_env, result_r);
	sieve_result_free(&result);
	free(data);
	return ret;
}

int sieve_run_deliver(const struct sieve_delivery *d, struct sieve_delivery_result *result_r)
{
	struct run_ctx ctx = { .d = d };
	size_t n = 0;

	memset(result_r, 0, sizeof(*result_r));
	if (run_find_scripts(&ctx) < 0) {
		run_ctx_release(&ctx);
		return sieve_apply_keep(d, result_r);
	}
	if (ctx.script_count == 0)
		return sieve_apply_keep(d, result_r);

	/* the user's addresses: the recipient as given, without its
	 * +detail (mail is addressed to user@domain), and the user name
	 * when it is an address */
	ctx.addresses[n++] = d->envelope_to;
	const char *delim = d->config->recipient_delimiter;
	const char *at = strrchr(d->envelope_to, '@');
	size_t local_len = at != NULL ? (size_t)(at - d->envelope_to) : strlen(d->envelope_to);
	size_t base_len = run_conf_set(delim) ? strcspn(d->envelope_to, delim) : local_len;
	if (base_len < local_len) {
		snprintf(ctx.base_address, sizeof(ctx.base_address), "%.*s%s", (int)base_len,
			 d->envelope_to, at != NULL ? at : "");
		ctx.addresses[n++] = ctx.base_address;
	}
	if (strchr(d->user, '@') != NULL && strcasecmp(d->user, d->envelope_to) != 0 &&
	    strcasecmp(d->user, ctx.base_address) != 0)
		ctx.addresses[n++] = d->user;
	ctx.addresses[n] = NULL;
	if (gethostname(ctx.host, sizeof(ctx.host)) < 0 || ctx.host[0] == '\0')
		strcpy(ctx.host, "localhost");
	ctx.host[sizeof(ctx.host) - 1] = '\0';

	int ret = run_scripts(&ctx, result_r);
	run_ctx_release(&ctx);
	return ret;
}

/* ---- an IMAP event (RFC 6785) ---- */

/* The message's flags and keywords as imap4flags names, in pool. */
static const char **run_event_flags(struct store_mailbox *box, const struct store_msg *m,
				    struct pool *pool)
{
	static const char *const system[] = {
		"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"
	};
	static const uint32_t bits[] = {
		STORE_FLAG_SEEN, STORE_FLAG_ANSWERED, STORE_FLAG_FLAGGED,
		STORE_FLAG_DELETED, STORE_FLAG_DRAFT
	};
	size_t kw_count, n = 0;
	const char *const *kw = store_mailbox_keywords(box, &kw_count);
	const char **names = p_malloc(pool, (N_ELEMENTS(system) + kw_count + 1) *
				      sizeof(*names));

	for (size_t i = 0; i < N_ELEMENTS(system); i++) {
		if ((m->flags & bits[i]) != 0)
			names[n++] = system[i];
	}
	for (size_t i = 0; i < kw_count && i < STORE_MAX_KEYWORDS; i++) {
		if ((m->keywords & ((store_keywords_t)1 << i)) != 0)
			names[n++] = p_strdup(pool, kw[i]);
	}
	names[n] = NULL;
	return names;
}

/* The msn of `uid` in the view, 0 when it is not there. */
static uint32_t run_event_msn(struct store_mailbox *box, uint32_t uid)
{
	uint32_t lo = 1, hi = store_mailbox_count(box);
	while (lo <= hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t u = store_mailbox_msg(box, mid)->uid;
		if (u == uid)
			return mid;
		if (u < uid)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return 0;
}

/* Sets the flags a keep left (RFC 6785 3.8), or adds \Deleted when no
 * keep is in effect (3.3-3.5), to message msn. */
static void run_event_mark(struct run_ctx *ctx, struct store_mailbox *box, uint32_t msn,
			   const struct store_msg *m, const struct sieve_apply_event *res)
{
	const struct sieve_imap_event *ev = ctx->ev;
	store_keywords_t keywords = 0;
	enum store_flags_mode mode = STORE_FLAGS_REPLACE;
	uint32_t flags;

	if (res->keep && !res->set_flags)
		return;
	if (!res->keep) {
		mode = STORE_FLAGS_ADD;
		flags = STORE_FLAG_DELETED;
		if ((m->flags & STORE_FLAG_DELETED) != 0)
			return;
	} else {
		flags = res->flags;
		if (res->keyword_count > 0 &&
		    store_mailbox_keywords_mask(box, res->keywords, res->keyword_count, true,
						&keywords) < 0)
			goto failed;
		if (flags == m->flags &&
		    keywords == m->keywords)
			return;
	}
	uint32_t *failed = NULL;
	size_t failed_count = 0;
	int ret = store_mailbox_update_flags(box, &msn, 1, mode, flags, keywords, 0, &failed,
					     &failed_count);
	free(failed);
	if (ret == 0)
		return;
failed:;
	enum store_error err;
	log_error("%s: imapsieve: %s: cannot set the flags of UID %u in \"%s\": %s",
		  ev->log_prefix, ev->user, m->uid, ev->mailbox,
		  store_last_error(ev->store, &err));
}

/* Runs the scripts on message msn and applies their result. */
static void run_event_message(struct run_ctx *ctx, struct store_mailbox *box, uint32_t msn,
			      const struct sieve_script *const *scripts)
{
	const struct sieve_imap_event *ev = ctx->ev;
	const struct store_msg *m = store_mailbox_msg(box, msn);
	struct store_msg msg_copy = *m;
	struct pool *pool = pool_create(1024);
	struct istream *stream;
	struct sieve_limits limits;
	struct sieve_result result;
	enum store_error err;

	if (store_mailbox_msg_stream(box, msn, &stream) < 0) {
		log_error("%s: imapsieve: %s: cannot read UID %u of \"%s\": %s",
			  ev->log_prefix, ev->user, msg_copy.uid, ev->mailbox,
			  store_last_error(ev->store, &err));
		pool_destroy(&pool);
		return;
	}
	struct sieve_delivery d = *ctx->d;
	d.spool = stream;
	d.size = msg_copy.size;
	size_t size;
	char *data = run_message_load(&d, &size);
	if (data == NULL) {
		istream_destroy(&stream);
		pool_destroy(&pool);
		return;
	}
	struct run_ctx mctx = *ctx;
	mctx.d = &d;
	struct sieve_message msg = {
		.data = data,
		.size = size,
		.received = ev->now,
	};
	struct sieve_env env;
	run_env_init(&mctx, &env);
	env.imap_cause = ev->cause;
	env.imap_mailbox = ev->mailbox;
	env.imap_flags = run_event_flags(box, &msg_copy, pool);
	sieve_run_limits(ev->config, &limits);
	if (sieve_execute_sequence(scripts, ctx->script_count, &msg, &env, &limits,
				   &result) < 0) {
		/* the message is left as it was, flags included */
		log_error("%s: imapsieve: %s: the script failed on UID %u of \"%s\" (%s): "
			  "nothing changed", ev->log_prefix, ev->user, msg_copy.uid,
			  ev->mailbox, result.error != NULL ? result.error : "unknown error");
	} else {
		struct sieve_apply_env apply_env = { .user_addresses = ctx->addresses };
		struct sieve_apply_event res;
		(void)sieve_apply_event(&d, &result, &apply_env, pool, &res);
		run_event_mark(&mctx, box, msn, &msg_copy, &res);
	}
	sieve_result_free(&result);
	free(data);
	istream_destroy(&stream);
	pool_destroy(&pool);
}

int sieve_run_imap_event(const struct sieve_imap_event *ev)
{
	struct sieve_delivery d = {
		.config = ev->config,
		.store = ev->store,
		.user = ev->user,
		.mailbox = ev->mailbox,
		.log_prefix = ev->log_prefix,
		.now = ev->now,
	};
	struct run_ctx ctx = { .d = &d, .ev = ev };

	if (gethostname(ctx.host, sizeof(ctx.host)) < 0 || ctx.host[0] == '\0')
		strcpy(ctx.host, "localhost");
	ctx.host[sizeof(ctx.host) - 1] = '\0';
	/* RFC 6785 3.4: "the "MAIL FROM" SHOULD be set to the address of
	 * the owner of the mailbox": the user name when it is an address,
	 * else USER@HOST */
	if (strchr(ev->user, '@') != NULL)
		snprintf(ctx.base_address, sizeof(ctx.base_address), "%s", ev->user);
	else
		snprintf(ctx.base_address, sizeof(ctx.base_address), "%s@%s", ev->user, ctx.host);
	d.envelope_from = ctx.base_address;
	d.envelope_to = ctx.base_address;
	const struct sieve_script *scripts[SIEVE_IMAP_SCRIPTS_MAX];
	struct store_mailbox *box = NULL;
	enum store_error err;
	int ran = 0;

	for (size_t i = 0; i < ev->script_count && ctx.script_count < N_ELEMENTS(scripts); i++) {
		struct run_cached *c;
		int ret = run_file_script(&d, ev->scripts[i], &c);
		if (ret == 0) {
			log_error("%s: imapsieve: script %s does not exist", ev->log_prefix,
				  ev->scripts[i]);
		}
		if (ret <= 0) {
			run_ctx_release(&ctx);
			return 0;
		}
		run_ctx_add(&ctx, c, ev->scripts[i]);
		if (c->script == NULL) {
			log_warning("%s: imapsieve: %s: %s does not compile: nothing changed",
				    ev->log_prefix, ev->user, ev->scripts[i]);
			run_ctx_release(&ctx);
			return 0;
		}
		scripts[i] = c->script;
	}
	if (ctx.script_count == 0)
		return 0;
	ctx.addresses[0] = ctx.base_address;
	ctx.addresses[1] = NULL;

	if (store_mailbox_open(ev->store, ev->mailbox, false, &box) < 0 ||
	    store_mailbox_sync(box, 0, NULL, NULL) < 0) {
		log_error("%s: imapsieve: %s: cannot open \"%s\": %s", ev->log_prefix,
			  ev->user, ev->mailbox, store_last_error(ev->store, &err));
		if (box != NULL)
			store_mailbox_close(&box);
		run_ctx_release(&ctx);
		return -1;
	}
	for (size_t i = 0; i < ev->uid_count; i++) {
		uint32_t msn = run_event_msn(box, ev->uids[i]);
		if (msn == 0 || store_mailbox_is_expunged(box, msn))
			continue;
		run_event_message(&ctx, box, msn, scripts);
		ran++;
	}
	store_mailbox_close(&box);
	run_ctx_release(&ctx);
	return ran;
}

/* ---- queueing an event (the IMAP side, on the loop) ---- */

struct run_event_job {
	struct sieve_imap_event ev;
	char *user, *mailbox, *changed_flags, *log_prefix;
	char *scripts[SIEVE_IMAP_SCRIPTS_MAX];
	uint32_t *uids;
};

static bool run_event_name_matches(const char *pattern, const char *name)
{
	if (strcmp(pattern, "*") == 0)
		return true;
	if (strcasecmp(pattern, "INBOX") == 0 && strcasecmp(name, "INBOX") == 0)
		return true;
	return strcmp(pattern, name) == 0;
}

static unsigned int run_event_cause_bit(const char *cause)
{
	if (strcmp(cause, "APPEND") == 0)
		return CONF_IMAPSIEVE_APPEND;
	if (strcmp(cause, "COPY") == 0)
		return CONF_IMAPSIEVE_COPY;
	if (strcmp(cause, "FLAG") == 0)
		return CONF_IMAPSIEVE_FLAG;
	return 0;
}

bool sieve_run_imap_event_wanted(const struct roost_config *config, const char *mailbox,
				 const char *cause)
{
	unsigned int bit = run_event_cause_bit(cause);
	for (size_t i = 0; i < config->imapsieve_count; i++) {
		const struct conf_imapsieve *r = &config->imapsieve[i];
		if ((r->causes & bit) != 0 && run_event_name_matches(r->mailbox, mailbox))
			return true;
	}
	return false;
}

static void run_event_job_work(void *context)
{
	struct run_event_job *job = context;
	(void)sieve_run_imap_event(&job->ev);
}

static void run_event_job_done(void *context)
{
	struct run_event_job *job = context;
	free(job->user);
	free(job->mailbox);
	free(job->changed_flags);
	free(job->log_prefix);
	for (size_t i = 0; i < job->ev.script_count; i++)
		free(job->scripts[i]);
	free(job->uids);
	free(job);
}

void sieve_run_imap_event_queue(const struct roost_config *config, struct store *store,
				const char *user, const char *mailbox, const char *from,
				const char *cause, const uint32_t *uids, size_t count,
				const char *changed_flags, const char *log_prefix)
{
	unsigned int bit = run_event_cause_bit(cause);
	struct run_event_job *job = NULL;

	if (config->imapsieve_count == 0 || count == 0)
		return;
	for (size_t i = 0; i < config->imapsieve_count; i++) {
		const struct conf_imapsieve *r = &config->imapsieve[i];
		if ((r->causes & bit) == 0 || !run_event_name_matches(r->mailbox, mailbox))
			continue;
		/* Pigeonhole's imapsieve_mailboxN_from: only COPY/MOVE out
		 * of that mailbox */
		if (r->from != NULL && (from == NULL || !run_event_name_matches(r->from, from)))
			continue;
		if (job == NULL)
			job = xcalloc(1, sizeof(*job));
		if (job->ev.script_count == SIEVE_IMAP_SCRIPTS_MAX) {
			log_warning("%s: imapsieve: more than %d scripts for %s in \"%s\": "
				    "%s not run", log_prefix, SIEVE_IMAP_SCRIPTS_MAX, cause,
				    mailbox, r->script);
			continue;
		}
		job->scripts[job->ev.script_count++] = xstrdup(r->script);
	}
	if (job == NULL)
		return;
	job->user = xstrdup(user);
	job->mailbox = xstrdup(mailbox);
	job->changed_flags = changed_flags == NULL ? NULL : xstrdup(changed_flags);
	job->log_prefix = xstrdup(log_prefix);
	job->uids = xmemdup(uids, count * sizeof(*uids));
	job->ev = (struct sieve_imap_event) {
		.config = config,
		.store = store,
		.user = job->user,
		.mailbox = job->mailbox,
		.cause = bit == CONF_IMAPSIEVE_APPEND ? "APPEND" :
			bit == CONF_IMAPSIEVE_COPY ? "COPY" : "FLAG",
		.uids = job->uids,
		.uid_count = count,
		.changed_flags = job->changed_flags,
		.scripts = (const char *const *)job->scripts,
		.script_count = job->ev.script_count,
		.log_prefix = job->log_prefix,
		.now = time(NULL),
	};
	store_request_run_offload(store, run_event_job_work, run_event_job_done, job);
}
