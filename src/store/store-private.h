/* store-private.h: what a store backend implements and the helpers all
 * backends share.
 *
 * A backend allocates its own structs with the generic ones below as their
 * first member and fills in a `struct store_vfuncs`.  store.c does argument
 * checks common to every backend (name syntax, INBOX spelling, readonly,
 * msn range) before dispatching, and view.c keeps the session's
 * msn <-> UID view, so a backend only says what changed.  Nothing here may
 * know about files, SQL or sockets. */
#ifndef ROOST_STORE_PRIVATE_H
#define ROOST_STORE_PRIVATE_H

#include "store/store.h"
#include "base/str.h"
#include "mime/parser.h"

struct store_vfuncs {
	const char *name;
	/* Calls may wait on the network (a database server): requests on
	 * the store run off the loop (request.h).  False for backends that
	 * only touch local files. */
	bool blocking;

	/* user_domain and user_local are already checked (domain lowercased,
	 * "_" for a bare name).  The backend fills the generic struct store
	 * (user xmalloc'd) but for v and set, which store.c fills;
	 * store_close() frees those after calling close(). */
	int (*open)(const struct store_settings *set, const char *user_local,
		    const char *user_domain, struct store **store_r,
		    const char **error_r);
	void (*close)(struct store *store);

	/* Names given to the mailbox functions are normalised by
	 * store_name_normalize(). */
	int (*mailbox_list)(struct store *store, struct store_mailbox_info **infos_r,
			    size_t *count_r);
	int (*mailbox_create)(struct store *store, const char *name, uint32_t special_use);
	int (*mailbox_delete)(struct store *store, const char *name);
	int (*mailbox_rename)(struct store *store, const char *from, const char *to);
	int (*mailbox_subscribe)(struct store *store, const char *name, bool subscribe);
	int (*mailbox_status)(struct store *store, const char *name,
			      struct store_status *status_r);
	int (*mailbox_states)(struct store *store, struct store_mailbox_state **states_r,
			      size_t *count_r);

	/* Allocates the backend's mailbox (generic part first) and fills the
	 * view with the messages as of now, claiming \Recent if !readonly. */
	int (*mailbox_open)(struct store *store, const char *name, bool readonly,
			    struct store_mailbox **box_r);
	void (*mailbox_close)(struct store_mailbox *box);
	/* Finds the changes and hands them to store_view_apply(). */
	int (*mailbox_sync)(struct store_mailbox *box, enum store_sync_flags flags,
			    const struct store_sync_callbacks *cb, void *ctx);
	/* Adds the keywords names[0..count-1] (valid keyword names; some
	 * may be in the table already, others added meanwhile by other
	 * sessions) in one transaction, all or none (STORE_ERR_LIMIT when
	 * they do not all fit), and reloads the view's table, which then
	 * has every one of them. */
	int (*mailbox_keywords_create)(struct store_mailbox *box, const char *const *names,
				       size_t count);
	/* Reloads the view's table from the mailbox, which other sessions
	 * may have added keywords to since the view's last sync. */
	int (*mailbox_keywords_reload)(struct store_mailbox *box);
	int (*mailbox_update_flags)(struct store_mailbox *box, const uint32_t *msns,
				    size_t count, enum store_flags_mode mode,
				    uint32_t flags, store_keywords_t keywords,
				    uint64_t unchangedsince, uint32_t **failed_r,
				    size_t *failed_count_r);
	/* only_deleted: of msns, only those with \Deleted in the index */
	int (*mailbox_expunge)(struct store_mailbox *box, const uint32_t *msns, size_t count,
			       bool only_deleted);
	/* store_mailbox_vanished(); the UIDs in any order */
	int (*mailbox_vanished)(struct store_mailbox *box, uint64_t since,
				uint32_t **uids_r, size_t *count_r,
				uint64_t *complete_since_r);
	/* store_copy_*(): msns are checked, dest_name normalised.  begin
	 * allocates the backend's context (generic part first, filled by
	 * the backend); continue returns 0/1/-1 as store_copy_continue()
	 * and fills uidvalidity and uids when it returns 1; free undoes an
	 * unfinished copy and frees the context (uids included). */
	int (*copy_begin)(struct store_mailbox *box, const uint32_t *msns, size_t count,
			  const char *dest_name, bool move, struct store_copy **ctx_r);
	int (*copy_continue)(struct store_copy *ctx, unsigned int max_msgs);
	void (*copy_free)(struct store_copy *ctx);
	/* *stream_r is NULL on entry and stays NULL after an error */
	int (*mailbox_msg_stream)(struct store_mailbox *box, uint32_t msn,
				  struct istream **stream_r);
	int (*mailbox_msg_cache)(struct store_mailbox *box, uint32_t msn,
				 struct store_msg_cache *cache_r);
	int (*mailbox_msg_cache_many)(struct store_mailbox *box, const uint32_t *msns,
				      size_t count, store_msg_cache_callback_t *cb,
				      void *ctx);
	int (*mailbox_msg_keys)(struct store_mailbox *box, uint32_t msn,
				const void **data_r, size_t *size_r);
	int (*mailbox_msg_keys_many)(struct store_mailbox *box, const uint32_t *msns,
				     size_t count, store_msg_keys_callback_t *cb,
				     void *ctx);
	int (*mailbox_msg_dates_many)(struct store_mailbox *box, const uint32_t *msns,
				      size_t count, store_msg_date_callback_t *cb,
				      void *ctx);
	int (*mailbox_msg_ids_many)(struct store_mailbox *box, const uint32_t *msns,
				    size_t count, unsigned int want,
				    store_msg_ids_callback_t *cb, void *ctx);
	int (*mailbox_search_objectid)(struct store_mailbox *box, bool thread, const char *id,
				       uint32_t **uids_r, size_t *count_r);
	int (*mailbox_search_savedate)(struct store_mailbox *box, int64_t since, int64_t before,
				       uint32_t **uids_r, size_t *count_r);
	/* store_mailbox_check() */
	int (*mailbox_check)(struct store *store, const char *name,
			     store_check_report_t *report, void *ctx);
	int (*mailbox_msg_text)(struct store_mailbox *box, uint32_t msn,
				struct str *header, struct str *body);
	/* needle already prepared with casemap_unicode(): valid UTF-8, no
	 * NUL, possibly empty; *result_r comes zeroed with last_uid
	 * UINT32_MAX; view_runs[0..run_count) are the view's runs of
	 * consecutive UIDs from first_uid to max_uid (store_view_uid_runs()),
	 * which result_r->unindexed is to cover where the index lacks a
	 * text.  Returns -1 on error, any other value when *result_r is
	 * filled. */
	int (*mailbox_search_text)(struct store_mailbox *box, enum store_text_field field,
				   const char *name, const char *needle, size_t needle_len,
				   uint32_t first_uid, uint32_t max_uid, bool one_part,
				   const struct store_uid_range *view_runs, size_t run_count,
				   struct store_text_result *result_r);

	int (*append_begin)(struct store *store, const char *mailbox_name,
			    struct store_append **ctx_r);
	int (*append_write)(struct store_append *ctx, const void *data, size_t size);
	/* Must free ctx. */
	int (*append_commit)(struct store_append *ctx, uint32_t flags,
			     const char *const *keywords, size_t keyword_count,
			     time_t internaldate, int tz,
			     uint32_t *uidvalidity_r, uint32_t *uid_r);
	void (*append_abort)(struct store_append *ctx);
	/* store_mailbox_set_uids(), store_batch_*(), store_state_*():
	 * as the public functions say; batch_flush is called in a batch
	 * only, batch(store, false) after a successful flush */
	int (*mailbox_set_uids)(struct store *store, const char *name,
				uint32_t uidvalidity, uint32_t uidnext);
	int (*batch)(struct store *store, bool begin);
	int (*batch_flush)(struct store *store);
	int (*state_get)(struct store *store, const void *key, size_t key_len,
			 struct str *value);
	int (*state_set)(struct store *store, const struct store_state_item *items,
			 size_t count);
	/* store_message_*(): begin allocates the backend's message
	 * (generic part first; store.c sets v); append_begin_message is
	 * given messages of its own backend only. */
	int (*message_begin)(const struct store_settings *set, struct store_message **msg_r,
			     const char **error_r);
	int (*message_write)(struct store_message *msg, const void *data, size_t size,
			     const char **error_r);
	int (*message_finish)(struct store_message *msg, time_t internaldate,
			      const char **error_r);
	void (*message_free)(struct store_message *msg);
	int (*append_begin_message)(struct store *store, const char *mailbox_name,
				    struct store_message *msg, struct store_append **ctx_r);

	/* store_notify_*(): create fills the generic struct store_notify
	 * (fd) but for v; add allocates the backend's watch (generic part
	 * first), whose notify and cookie store.c sets; read calls
	 * cb(ctx, watch->cookie) as store_notify_read() says. */
	int (*notify_create)(const struct store_settings *set, struct store_notify **notify_r,
			     const char **error_r);
	void (*notify_destroy)(struct store_notify *notify);
	int (*notify_add)(struct store_notify *notify, struct store_mailbox *box,
			  struct store_notify_watch **watch_r);
	int (*notify_add_user)(struct store_notify *notify, struct store *store,
			       struct store_notify_watch **watch_r);
	void (*notify_remove)(struct store_notify_watch *watch);
	void (*notify_read)(struct store_notify *notify, store_notify_callback_t *cb, void *ctx);

	/* Sieve scripts (store_sieve_*()): names already checked by
	 * store.c (store_sieve_name_is_valid()); the same errors as the
	 * public functions. */
	int (*sieve_list)(struct store *store, struct store_sieve_info **infos_r,
			  size_t *count_r);
	int (*sieve_get)(struct store *store, const char *name, struct str *text_r,
			 uint64_t *stamp_r);
	int (*sieve_get_active)(struct store *store, const char **name_r);
	int (*sieve_put)(struct store *store, const char *name, const void *text, size_t len);
	int (*sieve_delete)(struct store *store, const char *name);
	int (*sieve_rename)(struct store *store, const char *old_name, const char *new_name);
	int (*sieve_activate)(struct store *store, const char *name);

	/* store_sieve_track_*(); id_len > 0 */
	int (*sieve_track_seen)(struct store *store, const void *id, size_t id_len, time_t now);
	int (*sieve_track_mark)(struct store *store, const void *id, size_t id_len,
				time_t expires);

	int (*rebuild)(const struct store_settings *set, const char *user_local,
		       const char *user_domain, const char **error_r);
	/* store_exists(), store_backup(), store_restore(), store_purge() */
	int (*exists)(const struct store_settings *set, const char *user_local,
		      const char *user_domain);
	int (*backup)(struct store *store, const char *dest_dir,
		      struct store_backup_stats *stats_r);
	int (*restore)(const struct store_settings *set, const char *user_local,
		       const char *user_domain, const char *src_dir, bool force,
		       struct store_restore_result *result_r, char **error_r);
	int (*purge)(const struct store_settings *set, const char *user_local,
		     const char *user_domain, char **error_r);
	/* Optional: drop caches (see store_release_memory()). */
	void (*release_memory)(struct store *store);
	/* Optional, both or neither (see store_keep_set_limits()).  keep:
	 * the store's last session ended; let go of every descriptor (files,
	 * locks, connections) while keeping what is in memory; false if it
	 * cannot (the store is then closed).  reuse: a kept store is opened
	 * again; make it what a fresh open would give (take the locks back,
	 * check that its index is still the same), else -1 (the store is
	 * then closed and a new one opened). */
	bool (*keep)(struct store *store);
	int (*reuse)(struct store *store);
	/* Optional: an open store that holds no descriptor (idle) checks
	 * that its data is still the one it had; true when it was replaced
	 * (store_restore(), a rebuild): the store is then defunct, and
	 * store_open() of its user opens a new one. */
	bool (*is_replaced)(struct store *store);
};

/* How many mailboxes' views a store keeps for the next open. */
#define STORE_VIEW_CACHE_MAX 4

struct store {
	const struct store_vfuncs *v;
	struct store_settings set;	/* strings owned (copies) */
	char *user;			/* "local@domain" as opened */
	char *error;			/* last error text, NULL = none */
	enum store_error error_class;
	unsigned int open_mailboxes;
	unsigned int refcount;		/* store_open() calls sharing it */
	/* refcount 0, kept for the next open (store.c): when it was kept
	 * (for the LRU) and the bytes of its snapshots */
	uint64_t kept_clock;
	size_t kept_bytes;
	/* the backend found it unusable for good (its index was rebuilt
	 * under it): new opens of the user get a store of their own */
	_Atomic bool defunct;	/* set on a job thread, read on the loop */
	bool in_batch;		/* between store_batch_begin() and _end() */
	/* requests offloaded (request.c): the running one first, then those
	 * waiting, in order; NULL when idle */
	struct store_request *requests, *requests_tail;
	/* the last views of a few mailboxes, for the next open (view.c) */
	struct store_view_cached {
		int64_t mailbox_id;
		struct store_view_snap *snap;
		uint64_t last_use;
	} view_cache[STORE_VIEW_CACHE_MAX];
	uint64_t view_cache_clock;
};

/* Per-message state bits of the view. */
enum store_view_state {
	STORE_VIEW_EXPUNGED = 1 << 0,	/* gone from the index, kept in the view */
	STORE_VIEW_RECENT = 1 << 1,	/* this session holds \Recent */
	STORE_VIEW_DIRTY = 1 << 2,	/* flags changed, not yet reported by sync */
	/* with DIRTY: the change is only this session's own update of the
	 * flags the view had (reported through own_flags) */
	STORE_VIEW_OWN = 1 << 3,
};

struct store_mailbox {
	struct store *store;
	char *name;			/* normalised, current */
	bool readonly;
	char mailboxid[STORE_OBJECTID_SIZE];	/* store_mailbox_id() */
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;		/* last modseq this view has seen */

	/* The view: msgs[msn - 1], sorted by uid.  While snap is set, msgs
	 * is snap->msgs, shared and read-only (cap 0); view.c copies it
	 * before the first change.  state always belongs to the view. */
	struct store_msg *msgs;
	struct store_view_snap *snap;
	uint8_t *state;			/* enum store_view_state per message */
	size_t count, cap;
	uint32_t recent_count;
	/* messages with STORE_VIEW_EXPUNGED / STORE_VIEW_DIRTY set, so a sync
	 * with nothing to do never walks the view */
	size_t expunged_marks, dirty_marks;

	/* Keyword table.  The array has room for STORE_MAX_KEYWORDS + 1
	 * entries from the start so pointers handed out stay valid; names
	 * are xstrdup'd and freed at close. */
	const char **keywords;
	size_t keyword_count, keywords_reported;
};

struct store_append {
	struct store *store;
	/* store_append_set_uid(); 0: the next UID */
	uint32_t want_uid;
};

struct store_message {
	const struct store_vfuncs *v;
};

struct store_notify {
	const struct store_vfuncs *v;
	int fd;			/* store_notify_fd() */
	unsigned int watch_count;
};

struct store_notify_watch {
	struct store_notify *notify;
	void *cookie;
};

struct store_copy {
	struct store_mailbox *box;
	bool done;
	uint32_t uidvalidity;
	uint32_t *uids;		/* xmalloc'd; taken by store_copy_result() */
};

/* Sets the store's last error (also logs system errors).  The text is
 * for clients; keep details of system errors in the log only. */
void store_set_error(struct store *store, enum store_error error, const char *fmt, ...)
	ATTR_PRINTF(3, 4);
void store_clear_error(struct store *store);
/* Logs `detail` and sets the generic STORE_ERR_TEMP text. */
void store_set_internal_error(struct store *store, const char *fmt, ...) ATTR_PRINTF(2, 3);

/* The store's error, kept aside while cleanup that may set errors of its
 * own runs (the client is to hear why the operation failed). */
struct store_error_saved {
	enum store_error error_class;
	char *error;
};
/* Moves the store's error into *saved_r; the store has none afterwards. */
void store_error_save(struct store *store, struct store_error_saved *saved_r);
/* Makes the error in *saved the store's again, replacing any set since;
 * *saved is empty afterwards. */
void store_error_restore(struct store *store, struct store_error_saved *saved);

/* Checks a UTF-8 mailbox name and returns the canonical spelling
 * (xmalloc'd): first component "INBOX" in any case becomes "INBOX".
 * Rejects empty names and components, control characters and invalid
 * UTF-8.  Returns NULL with STORE_ERR_PARAMS set. */
char *store_name_normalize(struct store *store, const char *name);
bool store_name_is_inbox(const char *name);

/* ---- view helpers (view.c) ---- */

/* An immutable, reference-counted copy of a view's messages at
 * highestmodseq: what a fresh load of the mailbox at that modseq would
 * give (no expunged message, no \Recent).  Views opened from it share
 * its array until they change (copy on write). */
struct store_view_snap {
	unsigned int refcount;
	struct store_msg *msgs;
	size_t count;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
	/* store_view_first_unseen() of the snapshot, + 1 (0: not known
	 * yet); the one field set after it is made */
	uint32_t first_unseen_plus1;
};

void store_view_init(struct store_mailbox *box, struct store *store,
		     const char *name, bool readonly);
void store_view_deinit(struct store_mailbox *box);
/* Makes box->msgs the view's own (copies a shared snapshot's array);
 * call before changing box->msgs in place.  O(1) when already own. */
void store_view_msgs_own(struct store_mailbox *box);
/* The cached snapshot of mailbox_id for store, or NULL if there is none
 * or its uidvalidity differs (the mailbox was recreated).  Not a new
 * reference: pass it to store_view_init_snap(), which takes one. */
struct store_view_snap *store_view_cache_get(struct store *store, int64_t mailbox_id,
					     uint32_t uidvalidity);
/* Fills a view just initialised by store_view_init() from snap: its
 * messages (shared), uidvalidity, uidnext and highestmodseq.  The
 * backend then brings it up to date as it syncs an open view
 * (store_view_apply() with what changed since snap->highestmodseq). */
void store_view_init_snap(struct store_mailbox *box, struct store_view_snap *snap);
/* Keeps the view's messages as mailbox_id's cached snapshot, sharing
 * them with the view from now on (no copy when the view owns them).
 * Nothing is kept while the view holds back expunges, and a snapshot
 * older than the cached one does not replace it. */
void store_view_cache_put(struct store_mailbox *box, int64_t mailbox_id);
/* Drops the cached snapshots that no open view shares (all = every
 * one).  Called on store_release_memory() and store_close(). */
void store_view_cache_trim(struct store *store, bool all);
/* The bytes of the store's cached snapshots' message arrays. */
size_t store_view_cache_bytes(const struct store *store);
/* The msn of the view's first message without \Seen, 0 if none; from
 * the snapshot, walked once, while the view shares it. */
uint32_t store_view_first_unseen(struct store_mailbox *box);
/* Appends a message with a uid above every uid in the view. */
void store_view_append(struct store_mailbox *box, const struct store_msg *msg);
/* Index of uid in the view or -1. */
ssize_t store_view_find(struct store_mailbox *box, uint32_t uid);
/* The index into msgs of the first message whose uid is uid or above
 * (count if none). */
size_t store_view_lower_bound(struct store_mailbox *box, uint32_t uid);
/* The view's messages from first_uid to max_uid as runs of consecutive
 * UIDs, ascending (*runs_r xmalloc'd, NULL when none).  O(runs * log)
 * with a galloping search, so a view without gaps is one run at any
 * size. */
void store_view_uid_runs(struct store_mailbox *box, uint32_t first_uid, uint32_t max_uid,
			 struct store_uid_range **runs_r, size_t *count_r);
/* Marks messages with first_uid <= uid < end_uid as \Recent for this view. */
void store_view_mark_recent(struct store_mailbox *box, uint32_t first_uid, uint32_t end_uid);
/* Marks view index idx as changed, for the next sync: by someone else,
 * or by this session with flags it had not been told of merged in. */
void store_view_mark_dirty(struct store_mailbox *box, size_t idx);
/* Marks view index idx as changed by this session's own update of the
 * flags the view had (the row's modseq was the view's): the next sync
 * reports it through own_flags, unless other changes came too. */
void store_view_mark_own(struct store_mailbox *box, size_t idx);
/* Replaces the keyword table by names[0..count-1] (count only grows). */
void store_view_set_keywords(struct store_mailbox *box, const char *const *names, size_t count);
/* Applies what a backend found since box->highestmodseq: uids expunged
 * (any order), messages changed or added (ascending uid), the new
 * uidnext/highestmodseq, and the uids [recent_first, uidnext) this view
 * claimed as \Recent (marked before any callback runs, so the exists
 * callback can ask store_mailbox_recent_count()); reports through cb in
 * the documented order. */
void store_view_apply(struct store_mailbox *box, const uint32_t *expunged, size_t expunged_count,
		      const struct store_msg *changed, size_t changed_count,
		      uint32_t uidnext, uint64_t highestmodseq, uint32_t recent_first,
		      enum store_sync_flags flags, const struct store_sync_callbacks *cb,
		      void *ctx);

/* ---- the message model (msg-cache.c) ---- */

/* What a backend stores per message: built once from the parsed
 * message. */
struct store_msg_cache_data {
	struct str envelope, bodystructure, part_map;
	/* SORT and THREAD keys, syntax/msgkeys.h */
	struct str msgkeys;
	/* only with has_global (see struct store_msg_cache) */
	bool has_global;
	struct str bodystructure_rev2;
	/* the RFC 8970 preview (mime/preview.h), only with has_preview:
	 * store_msg_cache_data_build() alone cannot make it (it needs the
	 * message's bytes), the functions that read the message do */
	bool has_preview;
	struct str preview;
};

/* Builds the cache strings from a finished parse (the parser is
 * destroyed by the caller).  Free with store_msg_cache_data_free(). */
void store_msg_cache_data_build(struct store_msg_cache_data *data,
				struct mime_parser *parser);
/* Parses the message in `msg` (a stream not read from yet: read from
 * its start to its end), the preview included.  Returns 0 or -1 (read
 * error, errno set). */
int store_msg_cache_data_read(struct store_msg_cache_data *data, struct istream *msg);
void store_msg_cache_data_free(struct store_msg_cache_data *data);

/* Feeds the whole of `msg` (a stream not read from yet) to a new parser,
 * with mime_parser_set_physical_sizes() when physical_sizes.  Returns
 * the parser (the caller destroys it), or NULL on a read error (errno
 * set). */
struct mime_parser *store_msg_parse(struct istream *msg, bool physical_sizes);

/* ---- the text SEARCH looks at (msg-text.c) ---- */

/* The casemapped header and body documents (see
 * store_mailbox_msg_text()). */
struct store_msg_text_data {
	struct str header, body;
};

/* Builds the documents of the message parsed into `root`, reading its
 * bytes from `msg` (at the parse's offsets).  Returns 0 or -1 (read
 * error, errno set). */
int store_msg_text_data_build(struct store_msg_text_data *data,
			      const struct mime_part *root, struct istream *msg);
/* Parses the message in `msg` (a stream not read from yet: read from
 * its start to its end) and builds the documents; 0 or -1. */
int store_msg_text_data_read(struct store_msg_text_data *data, struct istream *msg);
void store_msg_text_data_free(struct store_msg_text_data *data);

/* Parse once, for a message whose bytes went through `parser` as they
 * were written: builds its model with the preview
 * (store_msg_cache_data_build(), mime_preview_extract()) and its
 * documents (store_msg_text_data_build()), reading the parts they need
 * from `msg` (at the parse's offsets).  The caller destroys the parser.
 * 0, or -1 (read error, errno set; both left empty: nothing to free). */
int store_msg_cache_text_build(struct store_msg_cache_data *cache,
			       struct store_msg_text_data *text, struct mime_parser *parser,
			       struct istream *msg);
/* Parse once: reads and parses `msg` (a stream not read from yet) a
 * single time and builds both its model (as store_msg_cache_data_read())
 * and its documents (as store_msg_text_data_read()).  0, or -1 (read
 * error, errno set; both left empty: nothing to free). */
int store_msg_cache_text_read(struct store_msg_cache_data *cache,
			      struct store_msg_text_data *text, struct istream *msg);

/* The backends. */
extern const struct store_vfuncs maildir_store_vfuncs;

#endif
