/* store.c: the public store functions.
 *
 * Checks what every backend would check the same way (user and mailbox
 * name syntax, msn ranges, readonly views) and dispatches to the backend's
 * vtable.  Keeps the last error of each store.  Never touches files or
 * SQL itself. */
#include "store/store-private.h"
#include "store/request.h"
#include "base/casemap.h"
#include "base/log.h"
#include "base/str.h"
#include "base/utf8.h"
#include "conf/conf.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- backends ---- */

/* Every backend of this build, by the name `store =` gives. */
static const struct store_vfuncs *const store_backends[] = {
	&maildir_store_vfuncs,
};

static const struct store_vfuncs *store_backend_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(store_backends); i++) {
		if (strcmp(store_backends[i]->name, name) == 0)
			return store_backends[i];
	}
	return NULL;
}

int store_backend_check(const char *name, char **error_r)
{
	if (store_backend_find(name) != NULL)
		return 0;
	struct str known = STR_INIT;
	for (size_t i = 0; i < N_ELEMENTS(store_backends); i++)
		str_printfa(&known, "%s%s", i == 0 ? "" : ", ", store_backends[i]->name);
	*error_r = xasprintf("unknown store backend \"%s\" (known: %s)", name, known.data);
	str_free(&known);
	return -1;
}

void store_settings_init(struct store_settings *set_r, const struct roost_config *config)
{
	*set_r = (struct store_settings){
		.backend = config->store,
		.fsync = config->fsync,
		.tombstones = config->qresync_tombstones,
		.maildir.root = config->maildir_root,
	};
}

/* The backend of settings that store_backend_check() may not have seen
 * (tests, tools): NULL with *error_r set when there is none. */
static const struct store_vfuncs *store_backend_get(const struct store_settings *set,
						     const char **error_r)
{
	const struct store_vfuncs *v = store_backend_find(set->backend);
	if (v == NULL) {
		log_error("store: unknown store backend \"%s\"", set->backend);
		*error_r = "Unknown mail store backend (see the server log)";
	}
	return v;
}

static bool str_equal_or_null(const char *a, const char *b)
{
	return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static bool settings_equal(const struct store_settings *a, const struct store_settings *b)
{
	return strcmp(a->backend, b->backend) == 0 && a->fsync == b->fsync &&
		a->tombstones == b->tombstones &&
		str_equal_or_null(a->maildir.root, b->maildir.root);
}

static void settings_copy(struct store_settings *dst, const struct store_settings *src)
{
	dst->backend = xstrdup(src->backend);
	dst->fsync = src->fsync;
	dst->tombstones = src->tombstones;
	dst->maildir.root = src->maildir.root == NULL ? NULL : xstrdup(src->maildir.root);
}

static void settings_free(struct store_settings *set)
{
	free((char *)set->backend);
	free((char *)set->maildir.root);
}

/* ---- errors ---- */

void store_clear_error(struct store *store)
{
	free(store->error);
	store->error = NULL;
	store->error_class = STORE_ERR_NONE;
}

void store_error_save(struct store *store, struct store_error_saved *saved_r)
{
	saved_r->error_class = store->error_class;
	saved_r->error = store->error;
	store->error = NULL;
	store->error_class = STORE_ERR_NONE;
}

void store_error_restore(struct store *store, struct store_error_saved *saved)
{
	free(store->error);
	store->error = saved->error;
	store->error_class = saved->error_class;
	saved->error = NULL;
	saved->error_class = STORE_ERR_NONE;
}

void store_set_error(struct store *store, enum store_error error, const char *fmt, ...)
{
	va_list args;

	free(store->error);
	va_start(args, fmt);
	store->error = xvasprintf(fmt, args);
	va_end(args);
	store->error_class = error;
}

void store_set_internal_error(struct store *store, const char *fmt, ...)
{
	va_list args;
	char *detail;

	va_start(args, fmt);
	detail = xvasprintf(fmt, args);
	va_end(args);
	log_error("store(%s): %s", store->user, detail);
	free(detail);
	store_set_error(store, STORE_ERR_TEMP,
			"Internal error occurred. Refer to server log for more information.");
}

const char *store_last_error(struct store *store, enum store_error *error_r)
{
	if (error_r != NULL)
		*error_r = store->error_class;
	return store->error != NULL ? store->error : "";
}

/* ---- names ---- */

bool store_name_is_inbox(const char *name)
{
	return strcmp(name, "INBOX") == 0;
}

char *store_name_normalize(struct store *store, const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len = strlen(name), i, n;
	char *norm;

	if (len == 0) {
		store_set_error(store, STORE_ERR_PARAMS, "Empty mailbox name");
		return NULL;
	}
	if (len > 512) {
		store_set_error(store, STORE_ERR_PARAMS, "Mailbox name too long");
		return NULL;
	}
	if (name[0] == '/' || name[len - 1] == '/' || strstr(name, "//") != NULL) {
		store_set_error(store, STORE_ERR_PARAMS,
				"Mailbox name has an empty hierarchy level: %s", name);
		return NULL;
	}
	for (i = 0; i < len; i += n) {
		if (p[i] < 0x20 || p[i] == 0x7f) {
			store_set_error(store, STORE_ERR_PARAMS,
					"Mailbox name contains a control character");
			return NULL;
		}
		n = utf8_seq_len(p + i, len - i);
		if (n == 0 || i + n > len) {
			store_set_error(store, STORE_ERR_PARAMS,
					"Mailbox name is not valid UTF-8");
			return NULL;
		}
	}
	norm = xstrdup(name);
	if (str_has_prefix_icase(norm, "INBOX") && (norm[5] == '\0' || norm[5] == '/'))
		memcpy(norm, "INBOX", 5);
	return norm;
}

/* Splits "local[@domain]" into checked parts; the domain is lowercased,
 * "_" when absent. */
static int user_parse(const char *user, char **local_r, char **domain_r,
		      const char **error_r)
{
	const char *at = strrchr(user, '@');
	char *local, *domain;

	local = at == NULL ? xstrdup(user) : xstrndup(user, (size_t)(at - user));
	domain = xstrdup(at == NULL ? "_" : at + 1);
	for (char *p = domain; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	if (local[0] == '\0' || local[0] == '.' || strchr(local, '/') != NULL ||
	    domain[0] == '\0' || domain[0] == '.' || strchr(domain, '/') != NULL) {
		free(local);
		free(domain);
		*error_r = "Invalid user name";
		return -1;
	}
	*local_r = local;
	*domain_r = domain;
	return 0;
}

/* ---- the user's store ---- */

/* Sessions of one user in one process share one open store, and so one
 * index connection: a single account in Thunderbird holds about five IMAP
 * connections, and each index connection costs tens of kilobytes.  This
 * is safe because a store is only used from one event loop and no call
 * leaves a transaction open when it returns.  The list also holds the
 * kept stores (refcount 0, see store_keep_set_limits()). */
static struct store **shared_stores;
static size_t shared_count, shared_cap;

/* Kept stores: their bounds, how many there are and the bytes of their
 * snapshots, and the clock of their LRU order. */
static unsigned int keep_max_count;
static size_t keep_max_bytes;
static unsigned int kept_count;
static size_t kept_bytes;
static uint64_t keep_clock;

static struct store *store_shared_find(const struct store_settings *set,
				       const char *local, const char *domain)
{
	size_t llen = strlen(local);
	for (size_t i = 0; i < shared_count; i++) {
		struct store *s = shared_stores[i];
		if (!s->defunct && settings_equal(&s->set, set) && strncmp(s->user, local, llen) == 0 &&
		    s->user[llen] == '@' && strcmp(s->user + llen + 1, domain) == 0)
			return s;
	}
	return NULL;
}

/* Takes a kept store out of the kept ones' count (it stays listed). */
static void store_kept_forget(struct store *store)
{
	kept_count--;
	kept_bytes -= store->kept_bytes;
	store->kept_bytes = 0;
	store->kept_clock = 0;
}

/* Closes the store for good: its last reference is gone and it is not
 * (or no longer) kept. */
static void store_free(struct store *store)
{
	struct store_settings set;
	char *user, *error;

	for (size_t i = 0; i < shared_count; i++) {
		if (shared_stores[i] == store) {
			shared_stores[i] = shared_stores[--shared_count];
			break;
		}
	}
	if (shared_count == 0) {
		free(shared_stores);
		shared_stores = NULL;
		shared_cap = 0;
	}
	if (store->kept_clock != 0)
		store_kept_forget(store);
	store_view_cache_trim(store, true);
	set = store->set;
	user = store->user;
	error = store->error;
	store->v->close(store);
	settings_free(&set);
	free(user);
	free(error);
}

/* Closes the least recently kept stores until the kept ones fit in the
 * bounds. */
static void store_kept_evict(void)
{
	while (kept_count > keep_max_count || kept_bytes > keep_max_bytes) {
		struct store *oldest = NULL;

		for (size_t i = 0; i < shared_count; i++) {
			struct store *s = shared_stores[i];

			if (s->kept_clock != 0 && (oldest == NULL || s->kept_clock < oldest->kept_clock))
				oldest = s;
		}
		assert(oldest != NULL);
		store_free(oldest);
	}
}

/* The last reference of the store is gone: keeps it (with its snapshots,
 * but no descriptor) for the next open of its user, if it may be kept. */
static bool store_keep(struct store *store)
{
	size_t bytes;

	if (keep_max_count == 0 || store->defunct || store->v->keep == NULL)
		return false;
	/* every view is closed: only the cache holds the snapshots */
	bytes = store_view_cache_bytes(store);
	if (bytes > keep_max_bytes || !store->v->keep(store))
		return false;
	store_clear_error(store);
	store->kept_clock = ++keep_clock;
	store->kept_bytes = bytes;
	kept_count++;
	kept_bytes += bytes;
	store_kept_evict();
	return true;
}

void store_keep_set_limits(unsigned int max_count, size_t max_bytes)
{
	keep_max_count = max_count;
	keep_max_bytes = max_bytes;
	store_kept_evict();
}

void store_keep_stats(unsigned int *count_r, size_t *bytes_r)
{
	*count_r = kept_count;
	*bytes_r = kept_bytes;
}

int store_open(const struct store_settings *set, const char *user,
	       struct store **store_r, const char **error_r)
{
	char *local, *domain;
	int ret;

	if (user_parse(user, &local, &domain, error_r) < 0)
		return -1;
	struct store *shared = store_shared_find(set, local, domain);
	/* an idle store of open sessions whose data was replaced meanwhile
	 * (a restore): its sessions must log in again, a new login gets a
	 * store of its own */
	if (shared != NULL && shared->refcount > 0 && shared->v->is_replaced != NULL &&
	    !store_request_busy(shared) && shared->v->is_replaced(shared))
		shared = store_shared_find(set, local, domain);
	if (shared != NULL && shared->refcount == 0) {
		/* kept: used again if it is still what a fresh open gives
		 * (a rebuild may have replaced the index meanwhile) */
		store_kept_forget(shared);
		if (shared->v->reuse(shared) < 0) {
			store_free(shared);
			shared = NULL;
		} else {
			store_clear_error(shared);
		}
	}
	if (shared != NULL) {
		shared->refcount++;
		*store_r = shared;
		ret = 0;
	} else {
		const struct store_vfuncs *v = store_backend_get(set, error_r);
		ret = v == NULL ? -1 : v->open(set, local, domain, store_r, error_r);
		if (ret == 0) {
			(*store_r)->v = v;
			settings_copy(&(*store_r)->set, set);
			(*store_r)->refcount = 1;
			ARRAY_RESERVE(shared_stores, shared_cap, shared_count + 1);
			shared_stores[shared_count++] = *store_r;
		}
	}
	free(local);
	free(domain);
	return ret;
}

void store_release_memory(struct store *store)
{
	/* a work on another thread may be using what would be dropped (the
	 * index connection of a store shared with another session) */
	if (store_request_busy(store))
		return;
	store_view_cache_trim(store, false);
	if (store->v->release_memory != NULL)
		store->v->release_memory(store);
}

bool store_is_defunct(const struct store *store)
{
	return store->defunct;
}

void store_close(struct store **_store)
{
	struct store *store = *_store;

	if (store == NULL)
		return;
	*_store = NULL;
	if (--store->refcount > 0)
		return;
	if (store->open_mailboxes != 0)
		i_panic("store_close(%s): %u mailboxes still open", store->user,
			store->open_mailboxes);
	if (store->requests != NULL)
		i_panic("store_close(%s): requests still running", store->user);
	if (!store_keep(store))
		store_free(store);
}

int store_rebuild(const struct store_settings *set, const char *user,
		  const char **error_r)
{
	char *local, *domain;
	int ret;

	const struct store_vfuncs *v = store_backend_get(set, error_r);
	if (v == NULL || user_parse(user, &local, &domain, error_r) < 0)
		return -1;
	ret = v->rebuild(set, local, domain, error_r);
	free(local);
	free(domain);
	return ret;
}

int store_exists(const struct store_settings *set, const char *user, const char **error_r)
{
	char *local, *domain;
	int ret;

	const struct store_vfuncs *v = store_backend_get(set, error_r);
	if (v == NULL || user_parse(user, &local, &domain, error_r) < 0)
		return -1;
	ret = v->exists(set, local, domain);
	if (ret < 0)
		*error_r = "Can't tell whether the store exists";
	free(local);
	free(domain);
	return ret;
}

int store_backup(struct store *store, const char *dest_dir, struct store_backup_stats *stats_r)
{
	store_clear_error(store);
	return store->v->backup(store, dest_dir, stats_r);
}

int store_restore(const struct store_settings *set, const char *user, const char *src_dir,
		  bool force, struct store_restore_result *result_r, char **error_r)
{
	const char *error;
	char *local, *domain;
	int ret;

	memset(result_r, 0, sizeof(*result_r));
	const struct store_vfuncs *v = store_backend_get(set, &error);
	if (v == NULL || user_parse(user, &local, &domain, &error) < 0) {
		*error_r = xstrdup(error);
		return -1;
	}
	ret = v->restore(set, local, domain, src_dir, force, result_r, error_r);
	free(local);
	free(domain);
	return ret;
}

int store_purge(const struct store_settings *set, const char *user, char **error_r)
{
	const char *error;
	char *local, *domain;
	int ret;

	const struct store_vfuncs *v = store_backend_get(set, &error);
	if (v == NULL || user_parse(user, &local, &domain, &error) < 0) {
		*error_r = xstrdup(error);
		return -1;
	}
	ret = v->purge(set, local, domain, error_r);
	free(local);
	free(domain);
	return ret;
}

/* ---- mailboxes ---- */

int store_mailbox_list(struct store *store, struct store_mailbox_info **infos_r,
		       size_t *count_r)
{
	store_clear_error(store);
	return store->v->mailbox_list(store, infos_r, count_r);
}

/* The start of a call on one mailbox: clears the store's error and
 * returns the canonical spelling of name (xmalloc'd), or NULL with the
 * error set when name is invalid or, with a refusal (inbox_error not
 * STORE_ERR_NONE), names INBOX: then inbox_error with inbox_text. */
static char *mailbox_name_begin(struct store *store, const char *name,
				enum store_error inbox_error, const char *inbox_text)
{
	char *norm;

	store_clear_error(store);
	if ((norm = store_name_normalize(store, name)) == NULL)
		return NULL;
	if (inbox_error != STORE_ERR_NONE && store_name_is_inbox(norm)) {
		store_set_error(store, inbox_error, "%s", inbox_text);
		free(norm);
		return NULL;
	}
	return norm;
}

int store_mailbox_create(struct store *store, const char *name, uint32_t special_use)
{
	char *norm = mailbox_name_begin(store, name, STORE_ERR_EXISTS,
					"Mailbox already exists: INBOX");
	int ret;

	if (norm == NULL)
		return -1;
	ret = store->v->mailbox_create(store, norm, special_use);
	free(norm);
	return ret;
}

int store_mailbox_delete(struct store *store, const char *name)
{
	char *norm = mailbox_name_begin(store, name, STORE_ERR_NOTPOSSIBLE,
					"INBOX can't be deleted.");
	int ret;

	if (norm == NULL)
		return -1;
	ret = store->v->mailbox_delete(store, norm);
	free(norm);
	return ret;
}

int store_mailbox_rename(struct store *store, const char *from, const char *to)
{
	char *nfrom, *nto = NULL;
	size_t flen;
	int ret = -1;

	store_clear_error(store);
	if ((nfrom = store_name_normalize(store, from)) == NULL ||
	    (nto = store_name_normalize(store, to)) == NULL)
		goto out;
	flen = strlen(nfrom);
	if (store_name_is_inbox(nto) || strcmp(nfrom, nto) == 0) {
		store_set_error(store, STORE_ERR_EXISTS, "Mailbox already exists: %s", nto);
	} else if (!store_name_is_inbox(nfrom) && strncmp(nto, nfrom, flen) == 0 &&
		   nto[flen] == '/') {
		store_set_error(store, STORE_ERR_NOTPOSSIBLE,
				"Can't rename mailbox under itself.");
	} else {
		ret = store->v->mailbox_rename(store, nfrom, nto);
	}
out:
	free(nfrom);
	free(nto);
	return ret;
}

int store_mailbox_subscribe(struct store *store, const char *name, bool subscribe)
{
	char *norm = mailbox_name_begin(store, name, STORE_ERR_NONE, NULL);
	int ret;

	if (norm == NULL)
		return -1;
	ret = store->v->mailbox_subscribe(store, norm, subscribe);
	free(norm);
	return ret;
}

int store_mailbox_status(struct store *store, const char *name,
			 struct store_status *status_r)
{
	char *norm = mailbox_name_begin(store, name, STORE_ERR_NONE, NULL);
	int ret;

	memset(status_r, 0, sizeof(*status_r));
	if (norm == NULL)
		return -1;
	ret = store->v->mailbox_status(store, norm, status_r);
	free(norm);
	return ret;
}

int store_mailbox_states(struct store *store, struct store_mailbox_state **states_r,
			 size_t *count_r)
{
	store_clear_error(store);
	*states_r = NULL;
	*count_r = 0;
	return store->v->mailbox_states(store, states_r, count_r);
}

int store_mailbox_check(struct store *store, const char *name,
			store_check_report_t *report, void *ctx)
{
	char *norm = mailbox_name_begin(store, name, STORE_ERR_NONE, NULL);
	int ret;

	if (norm == NULL)
		return -1;
	ret = store->v->mailbox_check(store, norm, report, ctx);
	free(norm);
	return ret;
}

/* ---- Sieve tracking memory ---- */

/* An empty id is a caller's bug: no tracked thing has an empty name. */
int store_sieve_track_seen(struct store *store, const void *id, size_t id_len, time_t now)
{
	assert(id_len > 0);
	store_clear_error(store);
	return store->v->sieve_track_seen(store, id, id_len, now);
}

int store_sieve_track_mark(struct store *store, const void *id, size_t id_len,
			   time_t expires)
{
	assert(id_len > 0);
	store_clear_error(store);
	return store->v->sieve_track_mark(store, id, id_len, expires);
}

/* ---- bulk import ---- */

void store_append_set_uid(struct store_append *ctx, uint32_t uid)
{
	assert(uid > 0);
	ctx->want_uid = uid;
}

int store_mailbox_set_uids(struct store *store, const char *name, uint32_t uidvalidity,
			   uint32_t uidnext)
{
	char *norm = mailbox_name_begin(store, name, STORE_ERR_NONE, NULL);
	int ret;

	if (norm == NULL)
		return -1;
	ret = store->v->mailbox_set_uids(store, norm, uidvalidity, uidnext);
	free(norm);
	return ret;
}

int store_batch_begin(struct store *store)
{
	assert(!store->in_batch);
	store_clear_error(store);
	if (store->v->batch(store, true) < 0)
		return -1;
	store->in_batch = true;
	return 0;
}

int store_batch_flush(struct store *store)
{
	assert(store->in_batch);
	store_clear_error(store);
	return store->v->batch_flush(store);
}

int store_batch_end(struct store *store)
{
	assert(store->in_batch);
	store_clear_error(store);
	if (store->v->batch_flush(store) < 0)
		return -1;
	store->in_batch = false;
	return store->v->batch(store, false);
}

int store_state_get(struct store *store, const void *key, size_t key_len,
		    struct str *value)
{
	assert(key_len > 0);
	store_clear_error(store);
	return store->v->state_get(store, key, key_len, value);
}

int store_state_set(struct store *store, const struct store_state_item *items,
		    size_t count)
{
	for (size_t i = 0; i < count; i++)
		assert(items[i].key_len > 0);
	store_clear_error(store);
	return store->v->state_set(store, items, count);
}

/* ---- an open mailbox ---- */

int store_mailbox_open(struct store *store, const char *name, bool readonly,
		       struct store_mailbox **box_r)
{
	char *norm = mailbox_name_begin(store, name, STORE_ERR_NONE, NULL);
	int ret;

	if (norm == NULL)
		return -1;
	ret = store->v->mailbox_open(store, norm, readonly, box_r);
	free(norm);
	if (ret == 0)
		store->open_mailboxes++;
	return ret;
}

void store_mailbox_close(struct store_mailbox **_box)
{
	struct store_mailbox *box = *_box;

	if (box == NULL)
		return;
	*_box = NULL;
	box->store->open_mailboxes--;
	box->store->v->mailbox_close(box);
}

const char *store_mailbox_name(struct store_mailbox *box)
{
	return box->name;
}

bool store_mailbox_is_readonly(struct store_mailbox *box)
{
	return box->readonly;
}

const char *store_mailbox_id(struct store_mailbox *box)
{
	return box->mailboxid;
}

uint32_t store_mailbox_uidvalidity(struct store_mailbox *box)
{
	return box->uidvalidity;
}

uint32_t store_mailbox_uidnext(struct store_mailbox *box)
{
	return box->uidnext;
}

uint64_t store_mailbox_highestmodseq(struct store_mailbox *box)
{
	return box->highestmodseq;
}

int store_mailbox_sync(struct store_mailbox *box, enum store_sync_flags flags,
		       const struct store_sync_callbacks *cb, void *ctx)
{
	static const struct store_sync_callbacks no_callbacks;

	store_clear_error(box->store);
	return box->store->v->mailbox_sync(box, flags, cb != NULL ? cb : &no_callbacks, ctx);
}

uint32_t store_mailbox_count(struct store_mailbox *box)
{
	return (uint32_t)box->count;
}

const struct store_msg *store_mailbox_msg(struct store_mailbox *box, uint32_t msn)
{
	if (msn == 0 || msn > box->count)
		i_panic("store_mailbox_msg: msn %u out of range 1..%zu", msn, box->count);
	return &box->msgs[msn - 1];
}

bool store_mailbox_is_expunged(struct store_mailbox *box, uint32_t msn)
{
	return msn >= 1 && msn <= box->count &&
		(box->state[msn - 1] & STORE_VIEW_EXPUNGED) != 0;
}

uint32_t store_mailbox_msn_of_uid(struct store_mailbox *box, uint32_t uid)
{
	ssize_t idx = store_view_find(box, uid);

	return idx < 0 ? 0 : (uint32_t)idx + 1;
}

uint32_t store_mailbox_msn_from_uid(struct store_mailbox *box, uint32_t uid)
{
	return (uint32_t)store_view_lower_bound(box, uid) + 1;
}

bool store_mailbox_is_recent(struct store_mailbox *box, uint32_t msn)
{
	return msn >= 1 && msn <= box->count &&
		(box->state[msn - 1] & STORE_VIEW_RECENT) != 0;
}

uint32_t store_mailbox_recent_count(struct store_mailbox *box)
{
	return box->recent_count;
}

uint32_t store_mailbox_first_unseen(struct store_mailbox *box)
{
	return store_view_first_unseen(box);
}

const char *const *store_mailbox_keywords(struct store_mailbox *box, size_t *count_r)
{
	*count_r = box->keyword_count;
	return box->keywords;
}

/* keyword = flag-keyword (RFC 9051): an atom that is not a system flag.
 * Also refuses what the backends cannot store in their keyword lists. */
static bool keyword_is_valid(const char *name)
{
	if (name[0] == '\0' || name[0] == '\\' || strlen(name) > 255)
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	}
	return true;
}

static int keyword_find(struct store_mailbox *box, const char *name)
{
	for (size_t i = 0; i < box->keyword_count; i++) {
		if (str_eq_icase(box->keywords[i], name))
			return (int)i;
	}
	return -1;
}

int store_mailbox_keyword_index(struct store_mailbox *box, const char *name, bool create,
				unsigned int *index_r)
{
	store_keywords_t mask;

	store_clear_error(box->store);
	int idx = keyword_find(box, name);
	if (idx < 0 && create) {
		if (store_mailbox_keywords_mask(box, &name, 1, true, &mask) < 0)
			return -1;
		idx = keyword_find(box, name);
	}
	if (idx < 0) {
		store_set_error(box->store, STORE_ERR_NOTFOUND, "No such keyword: %s", name);
		return -1;
	}
	*index_r = (unsigned int)idx;
	return 0;
}

int store_mailbox_keywords_mask(struct store_mailbox *box, const char *const *names,
				size_t count, bool create, store_keywords_t *mask_r)
{
	bool missing = false;

	store_clear_error(box->store);
	*mask_r = 0;
	for (size_t i = 0; i < count; i++) {
		if (keyword_find(box, names[i]) >= 0)
			continue;
		if (create && !keyword_is_valid(names[i])) {
			store_set_error(box->store, STORE_ERR_PARAMS, "Invalid keyword: %s",
					names[i]);
			return -1;
		}
		missing = true;
	}
	if (create && missing &&
	    box->store->v->mailbox_keywords_create(box, names, count) < 0)
		return -1;
	/* a keyword another session added since this view's last sync is
	 * on messages all the same: removing it must find it */
	if (!create && missing && box->store->v->mailbox_keywords_reload(box) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		int idx = keyword_find(box, names[i]);

		if (idx >= 0)
			*mask_r |= (store_keywords_t)1 << idx;
		else if (create) {
			/* the backend promised them all */
			store_set_internal_error(box->store, "keyword %s vanished", names[i]);
			return -1;
		}
	}
	return 0;
}

static bool msns_are_valid(struct store_mailbox *box, const uint32_t *msns, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (msns[i] == 0 || msns[i] > box->count) {
			store_set_error(box->store, STORE_ERR_PARAMS,
					"Invalid message sequence number %u", msns[i]);
			return false;
		}
	}
	return true;
}

int store_mailbox_update_flags(struct store_mailbox *box, const uint32_t *msns,
			       size_t count, enum store_flags_mode mode,
			       uint32_t flags, store_keywords_t keywords,
			       uint64_t unchangedsince,
			       uint32_t **failed_r, size_t *failed_count_r)
{
	store_clear_error(box->store);
	*failed_r = NULL;
	*failed_count_r = 0;
	if (box->readonly) {
		store_set_error(box->store, STORE_ERR_NOTPOSSIBLE, "Mailbox is read-only");
		return -1;
	}
	if (!msns_are_valid(box, msns, count))
		return -1;
	if (box->keyword_count < STORE_MAX_KEYWORDS)
		keywords &= ((store_keywords_t)1 << box->keyword_count) - 1;
	return box->store->v->mailbox_update_flags(box, msns, count, mode,
						    flags & STORE_FLAGS_ALL, keywords,
						    unchangedsince, failed_r, failed_count_r);
}

int store_mailbox_expunge(struct store_mailbox *box, const uint32_t *msns, size_t count)
{
	store_clear_error(box->store);
	if (box->readonly) {
		store_set_error(box->store, STORE_ERR_NOTPOSSIBLE, "Mailbox is read-only");
		return -1;
	}
	if (msns != NULL && !msns_are_valid(box, msns, count))
		return -1;
	return box->store->v->mailbox_expunge(box, msns, msns == NULL ? 0 : count, false);
}

int store_mailbox_expunge_deleted(struct store_mailbox *box, const uint32_t *msns,
				  size_t count)
{
	store_clear_error(box->store);
	if (box->readonly) {
		store_set_error(box->store, STORE_ERR_NOTPOSSIBLE, "Mailbox is read-only");
		return -1;
	}
	if (count == 0)
		return 0;
	if (!msns_are_valid(box, msns, count))
		return -1;
	return box->store->v->mailbox_expunge(box, msns, count, true);
}

int store_mailbox_copy(struct store_mailbox *box, const uint32_t *msns, size_t count,
		       const char *dest_name, bool move, uint32_t *dest_uidvalidity_r,
		       uint32_t **dest_uids_r)
{
	struct store_copy *ctx;
	int ret;

	*dest_uids_r = NULL;
	if (store_copy_begin(box, msns, count, dest_name, move, &ctx) < 0)
		return -1;
	while ((ret = store_copy_continue(ctx, UINT_MAX)) == 0)
		;
	if (ret > 0)
		store_copy_result(ctx, dest_uidvalidity_r, dest_uids_r);
	store_copy_free(&ctx);
	return ret < 0 ? -1 : 0;
}

int store_copy_begin(struct store_mailbox *box, const uint32_t *msns, size_t count,
		     const char *dest_name, bool move, struct store_copy **ctx_r)
{
	char *norm;
	int ret;

	store_clear_error(box->store);
	*ctx_r = NULL;
	if (move && box->readonly) {
		store_set_error(box->store, STORE_ERR_NOTPOSSIBLE, "Mailbox is read-only");
		return -1;
	}
	if (!msns_are_valid(box, msns, count))
		return -1;
	if ((norm = store_name_normalize(box->store, dest_name)) == NULL)
		return -1;
	ret = box->store->v->copy_begin(box, msns, count, norm, move, ctx_r);
	free(norm);
	return ret;
}

int store_copy_continue(struct store_copy *ctx, unsigned int max_msgs)
{
	if (ctx->done)
		return 1;
	store_clear_error(ctx->box->store);
	int ret = ctx->box->store->v->copy_continue(ctx, max_msgs == 0 ? 1 : max_msgs);
	if (ret > 0)
		ctx->done = true;
	return ret;
}

void store_copy_result(struct store_copy *ctx, uint32_t *dest_uidvalidity_r,
		       uint32_t **dest_uids_r)
{
	*dest_uidvalidity_r = ctx->uidvalidity;
	*dest_uids_r = ctx->uids;
	ctx->uids = NULL;
}

void store_copy_free(struct store_copy **_ctx)
{
	struct store_copy *ctx = *_ctx;

	if (ctx == NULL)
		return;
	*_ctx = NULL;
	ctx->box->store->v->copy_free(ctx);
}

int store_mailbox_msg_stream(struct store_mailbox *box, uint32_t msn,
			     struct istream **stream_r)
{
	*stream_r = NULL;
	store_clear_error(box->store);
	if (!msns_are_valid(box, &msn, 1))
		return -1;
	return box->store->v->mailbox_msg_stream(box, msn, stream_r);
}

int store_mailbox_msg_cache(struct store_mailbox *box, uint32_t msn,
			    struct store_msg_cache *cache_r)
{
	store_clear_error(box->store);
	if (!msns_are_valid(box, &msn, 1))
		return -1;
	return box->store->v->mailbox_msg_cache(box, msn, cache_r);
}

int store_mailbox_msg_cache_many(struct store_mailbox *box, const uint32_t *msns,
				 size_t count, store_msg_cache_callback_t *cb, void *ctx)
{
	store_clear_error(box->store);
	if (!msns_are_valid(box, msns, count))
		return -1;
	return box->store->v->mailbox_msg_cache_many(box, msns, count, cb, ctx);
}

int store_mailbox_msg_keys(struct store_mailbox *box, uint32_t msn,
			   const void **data_r, size_t *size_r)
{
	store_clear_error(box->store);
	if (!msns_are_valid(box, &msn, 1))
		return -1;
	return box->store->v->mailbox_msg_keys(box, msn, data_r, size_r);
}

int store_mailbox_msg_keys_many(struct store_mailbox *box, const uint32_t *msns,
				size_t count, store_msg_keys_callback_t *cb, void *ctx)
{
	store_clear_error(box->store);
	if (!msns_are_valid(box, msns, count))
		return -1;
	return box->store->v->mailbox_msg_keys_many(box, msns, count, cb, ctx);
}

int store_mailbox_msg_dates_many(struct store_mailbox *box, const uint32_t *msns,
				 size_t count, store_msg_date_callback_t *cb, void *ctx)
{
	store_clear_error(box->store);
	if (!msns_are_valid(box, msns, count))
		return -1;
	return box->store->v->mailbox_msg_dates_many(box, msns, count, cb, ctx);
}

int store_mailbox_msg_ids_many(struct store_mailbox *box, const uint32_t *msns,
			       size_t count, unsigned int want,
			       store_msg_ids_callback_t *cb, void *ctx)
{
	store_clear_error(box->store);
	if (!msns_are_valid(box, msns, count))
		return -1;
	return box->store->v->mailbox_msg_ids_many(box, msns, count, want, cb, ctx);
}

int store_mailbox_search_objectid(struct store_mailbox *box, bool thread, const char *id,
				  uint32_t **uids_r, size_t *count_r)
{
	store_clear_error(box->store);
	*uids_r = NULL;
	*count_r = 0;
	return box->store->v->mailbox_search_objectid(box, thread, id, uids_r, count_r);
}

int store_mailbox_search_savedate(struct store_mailbox *box, int64_t since, int64_t before,
				  uint32_t **uids_r, size_t *count_r)
{
	store_clear_error(box->store);
	*uids_r = NULL;
	*count_r = 0;
	if (since >= before)
		return 0;
	return box->store->v->mailbox_search_savedate(box, since, before, uids_r, count_r);
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int store_mailbox_vanished(struct store_mailbox *box, uint64_t since,
			   uint32_t **uids_r, size_t *count_r,
			   uint64_t *complete_since_r)
{
	store_clear_error(box->store);
	*uids_r = NULL;
	*count_r = 0;
	*complete_since_r = 0;
	if (box->store->v->mailbox_vanished(box, since, uids_r, count_r,
					    complete_since_r) < 0) {
		free(*uids_r);
		*uids_r = NULL;
		*count_r = 0;
		return -1;
	}
	if (*count_r > 1)
		qsort(*uids_r, *count_r, sizeof(**uids_r), uid_cmp);
	return 0;
}

int store_mailbox_msg_text(struct store_mailbox *box, uint32_t msn,
			   struct str *header, struct str *body)
{
	store_clear_error(box->store);
	str_truncate(header, 0);
	str_append(header, "");
	if (body != NULL) {
		str_truncate(body, 0);
		str_append(body, "");
	}
	if (!msns_are_valid(box, &msn, 1))
		return -1;
	return box->store->v->mailbox_msg_text(box, msn, header, body);
}

int store_mailbox_search_text(struct store_mailbox *box, enum store_text_field field,
			      const char *name, const char *needle, size_t needle_len,
			      uint32_t first_uid, uint32_t max_uid, bool one_part,
			      struct store_text_result *result_r)
{
	struct str prepared = { 0 };
	struct store_uid_range *runs;
	size_t run_count;
	int ret = 0;

	store_clear_error(box->store);
	memset(result_r, 0, sizeof(*result_r));
	result_r->last_uid = UINT32_MAX;
	/* invalid UTF-8 is matched as octets (RFC 5051 step 1b), which
	 * only the caller's scan does; a NUL no index takes */
	if (memchr(needle, '\0', needle_len) != NULL ||
	    !casemap_unicode(needle, needle_len, &prepared)) {
		/* a needle the index cannot answer: every message is in
		 * result_r->unindexed, the caller matches each one itself */
		str_free(&prepared);
		result_r->unindexed = xmalloc(sizeof(*result_r->unindexed));
		result_r->unindexed[0].first = first_uid;
		result_r->unindexed[0].last = max_uid;
		result_r->unindexed_count = first_uid <= max_uid;
		result_r->last_uid = max_uid;
		return 0;
	}
	str_append(&prepared, "");
	store_view_uid_runs(box, first_uid, max_uid, &runs, &run_count);
	ret = box->store->v->mailbox_search_text(box, field, name, prepared.data, prepared.len,
						 first_uid, max_uid, one_part, runs, run_count,
						 result_r);
	free(runs);
	str_free(&prepared);
	return ret < 0 ? -1 : 0;
}

void store_text_result_free(struct store_text_result *result)
{
	free(result->uids);
	free(result->unindexed);
	memset(result, 0, sizeof(*result));
}

/* ---- Sieve scripts ---- */

/* RFC 5804 1.6: a script name is Net-Unicode without the control
 * characters 0000-001F, 007F, 0080-009F, nor the separators 2028 and
 * 2029; Roost also forbids '/', which would be a path. */
bool store_sieve_name_is_valid(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t len = strlen(name);

	if (len == 0 || len > STORE_SIEVE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(p + i, len - i);
		if (n == 0)
			return false;
		if (n == 1 && (p[i] < 0x20 || p[i] == 0x7f || p[i] == '/'))
			return false;
		if (n == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)
			return false;
		if (n == 3 && p[i] == 0xe2 && p[i + 1] == 0x80 &&
		    (p[i + 2] == 0xa8 || p[i + 2] == 0xa9))
			return false;
		i += n;
	}
	return true;
}

/* Clears the error and checks a script name: false with STORE_ERR_PARAMS
 * when it is not one. */
static bool sieve_name_begin(struct store *store, const char *name)
{
	store_clear_error(store);
	if (store_sieve_name_is_valid(name))
		return true;
	store_set_error(store, STORE_ERR_PARAMS, "Invalid script name");
	return false;
}

int store_sieve_list(struct store *store, struct store_sieve_info **infos_r, size_t *count_r)
{
	store_clear_error(store);
	return store->v->sieve_list(store, infos_r, count_r);
}

int store_sieve_get(struct store *store, const char *name, struct str *text_r,
		    uint64_t *stamp_r)
{
	if (!sieve_name_begin(store, name)) {
		/* no such script can exist */
		store_set_error(store, STORE_ERR_NOTFOUND, "No such script");
		return -1;
	}
	return store->v->sieve_get(store, name, text_r, stamp_r);
}

int store_sieve_get_active(struct store *store, const char **name_r)
{
	store_clear_error(store);
	return store->v->sieve_get_active(store, name_r);
}

int store_sieve_put(struct store *store, const char *name, const void *text, size_t len)
{
	if (!sieve_name_begin(store, name))
		return -1;
	return store->v->sieve_put(store, name, text, len);
}

int store_sieve_delete(struct store *store, const char *name)
{
	if (!sieve_name_begin(store, name)) {
		store_set_error(store, STORE_ERR_NOTFOUND, "No such script");
		return -1;
	}
	return store->v->sieve_delete(store, name);
}

int store_sieve_rename(struct store *store, const char *old_name, const char *new_name)
{
	if (!sieve_name_begin(store, old_name)) {
		store_set_error(store, STORE_ERR_NOTFOUND, "No such script");
		return -1;
	}
	if (!sieve_name_begin(store, new_name))
		return -1;
	return store->v->sieve_rename(store, old_name, new_name);
}

int store_sieve_activate(struct store *store, const char *name)
{
	store_clear_error(store);
	if (name != NULL && !store_sieve_name_is_valid(name)) {
		store_set_error(store, STORE_ERR_NOTFOUND, "No such script");
		return -1;
	}
	return store->v->sieve_activate(store, name);
}

/* ---- change notification ---- */

int store_notify_create(const struct store_settings *set, struct store_notify **notify_r,
			const char **error_r)
{
	const struct store_vfuncs *v = store_backend_get(set, error_r);

	if (v == NULL || v->notify_create(set, notify_r, error_r) < 0)
		return -1;
	(*notify_r)->v = v;
	(*notify_r)->watch_count = 0;
	return 0;
}

void store_notify_destroy(struct store_notify **_notify)
{
	struct store_notify *notify = *_notify;

	if (notify == NULL)
		return;
	*_notify = NULL;
	assert(notify->watch_count == 0);
	notify->v->notify_destroy(notify);
}

int store_notify_fd(struct store_notify *notify)
{
	return notify->fd;
}

int store_notify_add(struct store_notify *notify, struct store_mailbox *box, void *cookie,
		     struct store_notify_watch **watch_r)
{
	assert(box->store->v == notify->v);
	if (notify->v->notify_add(notify, box, watch_r) < 0) {
		*watch_r = NULL;
		return -1;
	}
	(*watch_r)->notify = notify;
	(*watch_r)->cookie = cookie;
	notify->watch_count++;
	return 0;
}

int store_notify_add_user(struct store_notify *notify, struct store *store, void *cookie,
			  struct store_notify_watch **watch_r)
{
	assert(store->v == notify->v);
	if (notify->v->notify_add_user(notify, store, watch_r) < 0) {
		*watch_r = NULL;
		return -1;
	}
	(*watch_r)->notify = notify;
	(*watch_r)->cookie = cookie;
	notify->watch_count++;
	return 0;
}

void store_notify_remove(struct store_notify_watch **_watch)
{
	struct store_notify_watch *watch = *_watch;

	if (watch == NULL)
		return;
	*_watch = NULL;
	watch->notify->watch_count--;
	watch->notify->v->notify_remove(watch);
}

void store_notify_read(struct store_notify *notify, store_notify_callback_t *cb, void *ctx)
{
	notify->v->notify_read(notify, cb, ctx);
}

/* ---- appending ---- */

int store_append_begin(struct store *store, const char *mailbox_name,
		       struct store_append **ctx_r)
{
	char *norm;
	int ret;

	store_clear_error(store);
	if ((norm = store_name_normalize(store, mailbox_name)) == NULL)
		return -1;
	ret = store->v->append_begin(store, norm, ctx_r);
	free(norm);
	if (ret == 0)
		(*ctx_r)->store = store;
	return ret;
}

int store_append_write(struct store_append *ctx, const void *data, size_t size)
{
	return ctx->store->v->append_write(ctx, data, size);
}

int store_append_commit(struct store_append **_ctx, uint32_t flags,
			const char *const *keywords, size_t keyword_count,
			time_t internaldate, int tz,
			uint32_t *uidvalidity_r, uint32_t *uid_r)
{
	struct store_append *ctx = *_ctx;

	*_ctx = NULL;
	store_clear_error(ctx->store);
	for (size_t i = 0; i < keyword_count; i++) {
		if (!keyword_is_valid(keywords[i])) {
			store_set_error(ctx->store, STORE_ERR_PARAMS, "Invalid keyword: %s",
					keywords[i]);
			ctx->store->v->append_abort(ctx);
			return -1;
		}
	}
	return ctx->store->v->append_commit(ctx, flags & STORE_FLAGS_ALL, keywords,
					    keyword_count, internaldate, tz,
					    uidvalidity_r, uid_r);
}

int store_message_begin(const struct store_settings *set, struct store_message **msg_r,
			const char **error_r)
{
	const struct store_vfuncs *v = store_backend_get(set, error_r);

	if (v == NULL || v->message_begin(set, msg_r, error_r) < 0)
		return -1;
	(*msg_r)->v = v;
	return 0;
}

int store_message_write(struct store_message *msg, const void *data, size_t size,
			const char **error_r)
{
	return msg->v->message_write(msg, data, size, error_r);
}

int store_message_finish(struct store_message *msg, time_t internaldate,
			 const char **error_r)
{
	return msg->v->message_finish(msg, internaldate, error_r);
}

int store_append_begin_message(struct store *store, const char *mailbox_name,
			       struct store_message *msg, struct store_append **ctx_r)
{
	char *norm;
	int ret;

	store_clear_error(store);
	if (msg->v != store->v) {
		store_set_error(store, STORE_ERR_PARAMS, "The message is of another backend");
		return -1;
	}
	if ((norm = store_name_normalize(store, mailbox_name)) == NULL)
		return -1;
	ret = store->v->append_begin_message(store, norm, msg, ctx_r);
	free(norm);
	if (ret == 0)
		(*ctx_r)->store = store;
	return ret;
}

void store_message_free(struct store_message **msg)
{
	if (*msg == NULL)
		return;
	(*msg)->v->message_free(*msg);
	*msg = NULL;
}

void store_append_abort(struct store_append **_ctx)
{
	struct store_append *ctx = *_ctx;

	if (ctx == NULL)
		return;
	*_ctx = NULL;
	ctx->store->v->append_abort(ctx);
}
