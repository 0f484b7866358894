/* index.h: a backend's index of mailboxes and messages, behind typed
 * functions: mailboxes (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, \Recent
 * watermark), their keyword tables, message rows (UID, flags, keywords,
 * modseq, internal date, sizes, the parsed message model), expunge
 * tombstones (QRESYNC), subscriptions and the full-text index.
 *
 * This implementation keeps them in one SQLite database per user
 * (src/store/sqlite-index/); another index (PostgreSQL) implements the
 * same functions.  The index knows nothing of where message bodies live:
 * each row carries a `location`, a string its owner chose and reads back,
 * never interpreted here.
 *
 * Conventions: functions returning int give 0 (or 1 found / 0 not found
 * where said) and -1 on error, the error then being set on the store
 * given to index_init() (STORE_ERR_BUSY when another process held the
 * lock too long, STORE_ERR_NOSPACE for a full disk).  Every change runs
 * inside index_begin(idx, true) .. index_commit(); reads may run inside a
 * read transaction (one snapshot) or alone.  Mailboxes are named by the
 * id of their row (stable across renames; reused after a deletion). */
#ifndef ROOST_STORE_INDEX_H
#define ROOST_STORE_INDEX_H

#include "store/store-private.h"

struct index;

/* What the index's owner does at the edges of a write transaction, so
 * that what it changed beside the index (files) follows the index:
 * begun() after BEGIN of a write transaction; committed() after a
 * successful COMMIT; rolling_back() before the ROLLBACK of a write
 * transaction, with in_txn false when the transaction had already ended
 * (a failed COMMIT: the lock is gone).  Optional reopening(): before the
 * connection that index_release_memory() closed is opened again (the
 * owner takes back what it let go of with it); -1, with the error set on
 * the store, fails the call that needed the connection, and the next
 * call asks again. */
struct index_txn_hooks {
	void (*begun)(void *ctx);
	void (*committed)(void *ctx);
	void (*rolling_back)(void *ctx, bool in_txn);
	int (*reopening)(void *ctx);
};

/* Fills a brand-new index inside the transaction that creates it. */
typedef int index_populate_t(void *ctx);

/* ---- index.c: connection and transactions ---- */

/* The index of the database at path (nothing opened yet); errors go to
 * store.  hooks (and ctx) live as long as the index.  Never NULL. */
struct index *index_init(struct store *store, const char *path, bool fsync,
			 const struct index_txn_hooks *hooks, void *ctx);
/* Closes the connection (no statement or transaction may be open) and
 * frees *idx; sets it to NULL (NULL is fine). */
void index_deinit(struct index **idx);
/* Opens the database, creating it (then filled by populate(ctx) in the
 * creating transaction) or bringing an older schema up to date.  Lock
 * conflicts with other processes are retried for up to 15 s. */
int index_open(struct index *idx, index_populate_t *populate, void *ctx);
/* index_open() of an index whose connection index_release_memory()
 * closed: what a new open checks (the schema, migrated if another
 * process made it older; the text index's tables), for a store used
 * again after being kept.  On failure the caller closes the index. */
int index_reopen(struct index *idx, index_populate_t *populate, void *ctx);
/* Closes the connection when no statement or transaction is open; the
 * next call opens it again (an idle session keeps no database memory).
 * True if no connection is open afterwards. */
bool index_release_memory(struct index *idx);
/* Begins a transaction: a write one takes the index's write lock
 * (waiting up to 5 s for another process's), a read one is a snapshot. */
int index_begin(struct index *idx, bool write);
/* A failed commit rolls back (explicitly where SQLite left the
 * transaction open); index_commit_is_unknown() then tells whether the
 * transaction may be durable all the same. */
int index_commit(struct index *idx);
/* After index_commit() failed: true when the transaction may still be
 * durable (the failure came after its commit record was written, such
 * as an fsync of the write-ahead log that failed: a crash recovery can
 * find that record), false when it certainly is not and never will be
 * (the disk was full, a write failed, the lock was busy, memory ran
 * out).  False after a successful commit. */
bool index_commit_is_unknown(struct index *idx);
/* Rolls back the open transaction (none: only the owner's hook runs). */
void index_rollback(struct index *idx);
/* Ends the open transaction as ret says: a commit when ret >= 0, a
 * rollback when ret < 0.  0 when committed, else -1 (with the error of
 * ret or of the commit). */
int index_end(struct index *idx, int ret);
/* Whether a transaction is open. */
bool index_in_transaction(struct index *idx);
/* With best_effort, the following calls wait only 50 ms for another
 * process's lock (for writes whose failure costs only work done again
 * later); without, the normal 5 s again. */
void index_set_best_effort(struct index *idx, bool best_effort);

/* ---- mailbox.c ---- */

/* A mailbox row. */
struct index_mailbox {
	int64_t id;
	uint32_t uidvalidity, uidnext, recent_uid;
	uint64_t highestmodseq;
	uint32_t special_use;
	/* tombstones are complete for expunges above this modseq (0: all
	 * kept); see tombstone.c */
	uint64_t tombstone_floor;
	/* MAILBOXID (RFC 8474; thread.c), kept across renames */
	char mailboxid[STORE_OBJECTID_SIZE];
};

/* A mailbox as index_mailbox_list() lists it; name xmalloc'd. */
struct index_mailbox_entry {
	int64_t id;		/* 0 when only subscribed */
	char *name;
	uint32_t special_use;
	bool exists;		/* has a row (else only subscribed) */
	bool subscribed;
};

/* 1 found (*row_r filled), 0 not, -1 error. */
int index_mailbox_get(struct index *idx, const char *name, struct index_mailbox *row_r);
/* The same by id; *name_r (xmalloc'd) when name_r is not NULL. */
int index_mailbox_get_by_id(struct index *idx, int64_t id, struct index_mailbox *row_r,
			    char **name_r);
/* 1 if a mailbox is named "name/...", 0 if not, -1 error. */
int index_mailbox_has_children(struct index *idx, const char *name);
/* Adds a row (write txn); uidvalidity 0 = one never used before in this
 * index.  recent_uid starts at uidnext; the row gets a new MAILBOXID;
 * *row_r is the new row. */
int index_mailbox_add(struct index *idx, const char *name, uint32_t special_use,
		      uint32_t uidvalidity, uint32_t uidnext, uint64_t highestmodseq,
		      struct index_mailbox *row_r);
/* Records that uidvalidity was used (a rebuild keeps an old one), so
 * that no new mailbox gets it or a smaller one. */
int index_mailbox_keep_uidvalidity(struct index *idx, uint32_t uidvalidity);
/* Bumps highestmodseq and gives the new value (write txn); -1 with
 * STORE_ERR_NOTFOUND when the mailbox is gone. */
int index_mailbox_next_modseq(struct index *idx, int64_t id, uint64_t *modseq_r);
/* Sets UIDNEXT (write txn). */
int index_mailbox_set_uidnext(struct index *idx, int64_t id, uint32_t uidnext);
/* Moves the \Recent watermark up to uidnext (write txn): *first_r is
 * where it was.  1, or 0 when the mailbox is gone (*first_r = uidnext). */
int index_mailbox_claim_recent(struct index *idx, int64_t id, uint32_t uidnext,
			       uint32_t *first_r);
/* Gives the row the MAILBOXID an older index had for it (a rebuild;
 * write txn). */
int index_mailbox_set_mailboxid(struct index *idx, int64_t id, const char *mailboxid);
/* Renames the row (write txn); name must be free.  The MAILBOXID stays
 * (RFC 8474 4). */
int index_mailbox_rename(struct index *idx, int64_t id, const char *new_name);
/* Removes the mailbox with its messages, keywords, tombstones, text and
 * previews. */
int index_mailbox_delete(struct index *idx, int64_t id);
/* INBOX's rename: the messages of from (their rows, model, text and
 * previews, same UIDs, modseq 1, saved now), its keyword table, UIDNEXT and \Recent
 * watermark go to the new mailbox to; from keeps a tombstone with modseq
 * for each message. */
int index_mailbox_move_messages(struct index *idx, int64_t from, int64_t to,
				uint64_t modseq);
/* Counts for STATUS: messages, unseen, deleted, recent (uid >= row's
 * recent_uid) and size; the other fields come from the row. */
int index_mailbox_status(struct index *idx, const struct index_mailbox *row,
			 struct store_status *status_r);
/* Every mailbox and every subscribed name without one (unsorted);
 * free with index_mailbox_entries_free(). */
int index_mailbox_list(struct index *idx, struct index_mailbox_entry **entries_r,
		       size_t *count_r);
/* The same for name and the mailboxes below it ("name/..."). */
int index_mailbox_list_tree(struct index *idx, const char *name,
			    struct index_mailbox_entry **entries_r, size_t *count_r);
/* Frees entries (NULL with count 0 is fine). */
void index_mailbox_entries_free(struct index_mailbox_entry *entries, size_t count);
/* A mailbox row's counters (store_mailbox_states()); name xmalloc'd. */
struct index_mailbox_state {
	int64_t id;
	char *name;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;
};
/* Every mailbox row, sorted by name (memcmp order); free with
 * index_mailbox_states_free(). */
int index_mailbox_states(struct index *idx, struct index_mailbox_state **states_r,
			 size_t *count_r);
void index_mailbox_states_free(struct index_mailbox_state *states, size_t count);

/* ---- subscription.c ---- */

/* 1 if the set changed, 0 if name already was (not) subscribed, -1. */
int index_subscription_set(struct index *idx, const char *name, bool subscribed);
/* Sorted names (xmalloc'd; free with index_names_free()). */
int index_subscription_list(struct index *idx, char ***names_r, size_t *count_r);
/* Frees names and the array (NULL with count 0 is fine). */
void index_names_free(char **names, size_t count);

/* ---- keyword.c ---- */

/* The keyword table of a mailbox, bit i of the keyword masks being
 * names[i]; free with index_names_free(). */
int index_keyword_list(struct index *idx, int64_t mailbox_id, char ***names_r,
		       size_t *count_r);
/* Adds name as keyword number n (the table's count) (write txn). */
int index_keyword_add(struct index *idx, int64_t mailbox_id, size_t n, const char *name);

/* ---- msg.c ---- */

/* A message row as an iterator gives it; location lives until the next
 * call. */
struct index_msg {
	struct store_msg msg;
	const char *location;
};
struct index_msg_iter;

/* Adds a row; cache NULL: the model stays unparsed (index_cache_get()
 * then says so).  The row gets a new EMAILID, the save date now
 * (RFC 8514) and, with a model, its THREADID (thread.c). */
int index_msg_insert(struct index *idx, int64_t mailbox_id, const char *location,
		     const struct store_msg *msg, const struct store_msg_cache_data *cache);
/* The object ids and save date a row is given when an older index had
 * them (a rebuild): NULL / 0 for what is not known, which is made as
 * index_msg_insert() makes it (savedate 0: now). */
struct index_msg_ids {
	const char *emailid, *threadid;
	time_t savedate;
};
/* index_msg_insert() with what ids gives (NULL: as index_msg_insert()). */
int index_msg_insert_ids(struct index *idx, int64_t mailbox_id, const char *location,
			 const struct store_msg *msg, const struct store_msg_cache_data *cache,
			 const struct index_msg_ids *ids);
/* Adds the row dest (uid, flags, keywords, modseq from dest; internal
 * date, sizes, model, EMAILID and THREADID from the row of src_uid; the
 * save date now, RFC 8514 3) to dest_mailbox_id.  Nothing when the
 * source row is gone. */
int index_msg_copy(struct index *idx, int64_t src_mailbox_id, uint32_t src_uid,
		   int64_t dest_mailbox_id, const struct store_msg *dest,
		   const char *location);
/* 1 found, 0 not, -1 error.  msg_r and location_r (xmalloc'd) may be
 * NULL. */
int index_msg_get(struct index *idx, int64_t mailbox_id, uint32_t uid,
		  struct store_msg *msg_r, char **location_r);
/* Sets the flags, keywords, modseq and location of a row (write txn;
 * nothing when the row is gone). */
int index_msg_set_flags(struct index *idx, int64_t mailbox_id, uint32_t uid,
			uint32_t flags, store_keywords_t keywords, uint64_t modseq,
			const char *location);
/* Removes the row and its text and writes a tombstone with modseq
 * (write txn).  1 with *location_r (xmalloc'd), 0 if there was no row. */
int index_msg_expunge(struct index *idx, int64_t mailbox_id, uint32_t uid,
		      uint64_t modseq, char **location_r);
/* UIDs of the messages with \Deleted (xmalloc'd). */
/* Every UID of the mailbox, ascending (xmalloc'd). */
int index_msg_list_uids(struct index *idx, int64_t mailbox_id, uint32_t **uids_r,
			size_t *count_r);
int index_msg_list_deleted(struct index *idx, int64_t mailbox_id, uint32_t **uids_r,
			   size_t *count_r);
/* The rows of a mailbox in UID order, those with a modseq above
 * since_modseq (0: all).  Never NULL; an error shows in next(). */
struct index_msg_iter *index_msg_iter_init(struct index *idx, int64_t mailbox_id,
					   uint64_t since_modseq);
/* 1 a row in *msg_r, 0 the end, -1 error. */
int index_msg_iter_next(struct index_msg_iter *iter, struct index_msg *msg_r);
/* Frees *iter (NULL is fine) and sets it to NULL. */
void index_msg_iter_deinit(struct index_msg_iter **iter);

/* ---- cache.c: the parsed message model of a row ---- */

/* 1 with *data_r filled (free with store_msg_cache_data_free()) and
 * *cached_r telling whether the row has a current model (else data_r is
 * empty: parse the message and index_cache_set()); 0 no row; -1. */
int index_cache_get(struct index *idx, int64_t mailbox_id, uint32_t uid,
		    struct store_msg_cache_data *data_r, bool *cached_r);
/* The SORT/THREAD keys: 1 with *current_r and, when current, the keys
 * appended to keys; 0 no row; -1. */
int index_cache_get_keys(struct index *idx, int64_t mailbox_id, uint32_t uid,
			 struct str *keys, bool *current_r);
/* The keys of uids[0..count-1] in one snapshot: cb(ctx, i, keys) for
 * current keys, cb(ctx, i, NULL, 0) for a row that is gone, and i added
 * to *stale_r (xmalloc'd) for a row without current keys. */
int index_cache_get_keys_many(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			      size_t count, store_msg_keys_callback_t *cb, void *ctx,
			      size_t **stale_r, size_t *stale_count_r);
/* The model of uids[0..count-1] in one snapshot: cb(ctx, i, cache) for a
 * row with a current model (the pointers are valid during the call only),
 * cb(ctx, i, NULL) for a row that is gone, and i added to *stale_r
 * (xmalloc'd) for a row without a current model.  0 or -1 (some calls
 * may have been made). */
int index_cache_get_many(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			 size_t count, store_msg_cache_callback_t *cb, void *ctx,
			 size_t **stale_r, size_t *stale_count_r);
/* The sent dates of uids[0..count-1] in one snapshot, from the index
 * messages_sentdate (no key blob is read): cb(ctx, i, true, has_sent_date,
 * sent_date) as msgkeys has them, cb(ctx, i, false, false, 0) for a row
 * that is gone, and i added to *stale_r (xmalloc'd) for a row without
 * current keys (read those with index_cache_get_keys_many()). */
int index_cache_get_dates_many(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			       size_t count, store_msg_date_callback_t *cb, void *ctx,
			       size_t **stale_r, size_t *stale_count_r);
/* Stores the model of a row (nothing when the row is gone). */
int index_cache_set(struct index *idx, int64_t mailbox_id, uint32_t uid,
		    const struct store_msg_cache_data *data);

/* The object data of a message (store_msg_ids), from the model columns
 * and thread.c's: cb(ctx, i, &ids) for each of uids[0..count-1] whose
 * row is there (pointers valid during the call only; threadid NULL when
 * not assigned yet, preview NULL when not made yet), cb(ctx, i, NULL)
 * for a row that is gone.  One snapshot.  0 or -1. */
typedef void index_ids_callback_t(void *ctx, size_t i, const struct store_msg_ids *ids);
int index_cache_get_ids_many(struct index *idx, int64_t mailbox_id, const uint32_t *uids,
			     size_t count, index_ids_callback_t *cb, void *ctx);
/* UIDs (ascending, xmalloc'd) of the mailbox's messages whose EMAILID
 * (or THREADID) is `id`. */
int index_msg_search_objectid(struct index *idx, int64_t mailbox_id, bool thread,
			      const char *id, uint32_t **uids_r, size_t *count_r);
/* UIDs (ascending, xmalloc'd) of the mailbox's messages saved at or
 * after `since` and before `before` (UTC seconds). */
int index_msg_search_savedate(struct index *idx, int64_t mailbox_id, int64_t since,
			      int64_t before, uint32_t **uids_r, size_t *count_r);

/* ---- thread.c: THREADID and the other object ids ---- */

/* A new random object id, `prefix` and 24 hex digits (xmalloc'd). */
int index_thread_new_id(struct index *idx, char prefix, char **id_r);
/* The THREADID of a message with the SORT/THREAD keys msgkeys[0..size)
 * and EMAILID emailid (see thread.c), recording its msg-ids in the
 * thread table (write txn): 0 with *threadid_r (xmalloc'd), or NULL when
 * msgkeys is NULL or not of the current version; -1. */
int index_thread_of_keys(struct index *idx, const void *msgkeys, size_t size,
			 const char *emailid, char **threadid_r);
/* Gives the row its THREADID from its SORT/THREAD keys (see thread.c),
 * unless it has one or has no current keys (write txn).  0 or -1. */
int index_thread_assign(struct index *idx, int64_t mailbox_id, uint32_t uid);
/* Records msgid as part of thread threadid unless it has a thread
 * (write txn; a rebuild copying the old index's table). */
int index_thread_add(struct index *idx, const char *msgid, const char *threadid);

/* ---- tombstone.c: expunged UIDs, for QRESYNC ---- */

/* Records uid as expunged at modseq (write txn), replacing any. */
int index_tombstone_add(struct index *idx, int64_t mailbox_id, uint32_t uid, uint64_t modseq);
/* 1 if uid has a tombstone, 0 if not, -1. */
int index_tombstone_exists(struct index *idx, int64_t mailbox_id, uint32_t uid);
/* UIDs expunged with a modseq above since_modseq (xmalloc'd). */
int index_tombstone_list_since(struct index *idx, int64_t mailbox_id, uint64_t since_modseq,
			       uint32_t **uids_r, size_t *count_r);
/* Compaction (write txn): when the mailbox has more than keep + slack
 * tombstones, removes the oldest (lowest modseq) down to about `keep`
 * and raises the mailbox's tombstone_floor to the highest modseq
 * removed.  0 or -1. */
int index_tombstone_compact(struct index *idx, int64_t mailbox_id, size_t keep, size_t slack);
/* Raises the mailbox's tombstone_floor to at least `floor` (write txn;
 * a rebuild that lost the tombstones).  0 or -1. */
int index_tombstone_set_floor(struct index *idx, int64_t mailbox_id, uint64_t floor);

/* ---- state.c: tools' state (store_state_*()) ---- */

/* The value of key into *value (replaced): 1 found, 0 not, -1 error. */
int index_state_get(struct index *idx, const void *key, size_t key_len, struct str *value);
/* Sets key to value, or deletes it when value is NULL (write txn). */
int index_state_set(struct index *idx, const void *key, size_t key_len,
		    const void *value, size_t value_len);
/* Sets the UIDVALIDITY of mailbox id to uidvalidity (write txn), when
 * it has no message and never had one (UIDNEXT 1): 1 done, 0 not so,
 * -1 error.  The value is recorded as used (last_uidvalidity). */
int index_mailbox_set_uidvalidity(struct index *idx, int64_t id, uint32_t uidvalidity);
/* Sets PRAGMA synchronous: FULL with full, else NORMAL (the log is
 * synced at checkpoints only, which come less often; still never
 * corrupt). */
int index_set_synchronous(struct index *idx, bool full);

/* ---- sieve-track.c: Sieve's tracking memory (store_sieve_track_*()) ---- */

/* 1 if id[0..id_len) has a row that expires after `now`, 0 if not, -1. */
int index_sieve_track_seen(struct index *idx, const void *id, size_t id_len, time_t now);
/* Sets id's expiry to `expires`, adding the row or replacing its expiry
 * (write txn).  0 or -1. */
int index_sieve_track_mark(struct index *idx, const void *id, size_t id_len, time_t expires);
/* Deletes the rows that expired at or before `now` (write txn): the
 * number deleted, or -1. */
int index_sieve_track_prune(struct index *idx, time_t now);

/* ---- fts.c: the full-text index (SEARCH text keys) ---- */

/* Stores the text of (mailbox, uid), replacing any. */
int index_fts_insert(struct index *idx, int64_t mailbox_id, uint32_t uid,
		     const struct store_msg_text_data *data);
/* Stores the text read outside any transaction, in a best-effort write
 * transaction of its own that does not wait for the disk, if the row is
 * still there. */
int index_fts_write_back(struct index *idx, int64_t mailbox_id, uint32_t uid,
			 const struct store_msg_text_data *data);
/* Copies the text of a message to a new (mailbox, uid); nothing when the
 * source has none. */
int index_fts_copy(struct index *idx, int64_t src_mailbox_id, uint32_t src_uid,
		   int64_t dest_mailbox_id, uint32_t dest_uid);
/* 1 with the stored header document appended to header (the message's
 * text is in the text index; the body document is not kept there: read
 * it from the message), 0 when the message has none or it is corrupt
 * (the caller reads the message and writes its text back, which starts
 * the text index again), -1. */
int index_fts_get(struct index *idx, int64_t mailbox_id, uint32_t uid, struct str *header);
/* store_mailbox_search_text() for a mailbox (one snapshot) and the UIDs
 * from first_uid to max_uid, the view being view_runs[0..run_count)
 * (ascending runs of consecutive UIDs within them): result_r->unindexed
 * covers the UIDs of those runs up to result_r->last_uid that the text
 * index lacks or cannot read, and those whose body must be read to
 * decide (the index keeps no body text, fts.c: Exactness). */
int index_fts_search(struct index *idx, int64_t mailbox_id, enum store_text_field field,
		     const char *name, const char *needle, size_t needle_len,
		     uint32_t first_uid, uint32_t max_uid, bool one_part,
		     const struct store_uid_range *view_runs, size_t run_count,
		     struct store_text_result *result_r);

/* ---- salvage.c: what a rebuild keeps from an old index ---- */

struct index_salvage_callbacks {
	/* ids: what the old index had (ids->*id NULL when it had none:
	 * an index older than schema 8) */
	void (*msg)(void *ctx, const char *mailbox, uint32_t uid, const char *location,
		    const struct index_msg_ids *ids);
	/* mailboxid NULL when it had none */
	void (*mailbox)(void *ctx, const char *name, uint32_t uidnext, uint64_t highestmodseq,
			const char *mailboxid);
	void (*tombstone)(void *ctx, const char *mailbox, uint32_t uid, uint64_t modseq);
	/* the mailbox's tombstone_floor (schema 9; not called for an
	 * older index, whose tombstones were never compacted) */
	void (*tombstone_floor)(void *ctx, const char *mailbox, uint64_t floor);
	/* a row of the thread table (thread.c) */
	void (*thread)(void *ctx, const char *msgid, const char *threadid);
	/* a row of Sieve's tracking memory that has not expired (schema 10,
	 * sieve-track.c; not called for an older index) */
	void (*sieve_track)(void *ctx, const void *id, size_t id_len, time_t expires);
};

/* Reads the index at path (which exists) read-only, calling cb for each
 * row.  0, or -1
 * with *error_r (xmalloc'd) when it cannot be read (the rows given so
 * far are then not to be trusted). */
int index_salvage_read(const char *path, const struct index_salvage_callbacks *cb,
		       void *ctx, char **error_r);

/* ---- backup.c ---- */
/* A copy of the index as committed now, made later: begin starts a read
 * transaction on a connection of its own (call it while holding the
 * write transaction, so that "now" is the state that goes with what the
 * caller saw), and finish copies that state with SQLite's online backup
 * API into the new file dest_path (one file without a log, in WAL mode
 * like the index), whatever was committed in between, then frees
 * *backup (dest_path NULL: only frees).  Nothing is written to the
 * index.  0, or -1 with the store's error set (finish removes
 * dest_path). */
struct index_backup;
int index_backup_begin(struct index *idx, struct index_backup **backup_r);
int index_backup_finish(struct index_backup **backup, const char *dest_path);

#endif
