/* maildir-private.h: the Maildir backend's shared declarations (its index:
 * store/sqlite-index/index.h).
 *
 * On disk, per user (see storage.c for the full description):
 *   <maildir_root>/<domain>/<user>/index.sqlite   the index
 *   <maildir_root>/<domain>/<user>/notify         touched after each change
 *   <maildir_root>/<domain>/<user>/Maildir/       INBOX + Maildir++ folders
 * The index is a cache of the Maildir that can be rebuilt, except for
 * what only it holds: expunge tombstones, \Recent watermarks, time zones
 * of internal dates and keywords past the 26th. */
#ifndef ROOST_MAILDIR_PRIVATE_H
#define ROOST_MAILDIR_PRIVATE_H

#include "store/store-private.h"
#include "store/sqlite-index/index.h"
#include "base/str.h"

#include <sys/stat.h>

#define MAILDIR_TMP_MAX_AGE (36 * 60 * 60)
#define MAILDIR_KEYWORD_LETTERS 26
/* tmp/ names of files a COPY has staged (save.c) */
#define MAILDIR_COPY_STAGE_PREFIX ".copy-"

struct maildir_store {
	struct store store;
	char *userdir;		/* <maildir_root>/<domain>/<user> */
	char *maildir;		/* userdir/Maildir */
	char *notify_path;	/* userdir/notify */
	bool fsync;
	/* in a store_batch_begin(): what fsync was before (import.c) */
	bool batch_fsync;
	/* expunge tombstones kept per mailbox (store_settings.tombstones),
	 * and how many this store wrote since it last counted a mailbox's
	 * (flags.c: compaction is checked every MAILDIR_TOMBSTONE_CHECK) */
	size_t tombstones_keep, tombstones_unchecked;
	/* Sieve tracking ids marked since the expired ones were last
	 * deleted (sieve-track.c) */
	unsigned int sieve_track_marks;
	struct index *index;	/* userdir/index.sqlite; NULL when not open */
	/* userdir/lock: flock()ed shared while the store is open, exclusive
	 * by a rebuild (storage.c); -1 when not open */
	int lock_fd;
	/* the index file the store has, kept while the lock is let go of:
	 * a rebuild renames a new file over it (storage.c: index_file_id) */
	struct maildir_file_id {
		uint64_t dev, ino;
		int64_t btime_sec;	/* birth time; 0 when the file system has none */
		uint32_t btime_nsec;
	} index_id;
	bool index_replaced;
	/* roost-keywords files rewritten inside the open write transaction,
	 * with the keyword count they had before it: a rollback writes them
	 * back (index.c) */
	struct maildir_keywords_written {
		int64_t mailbox_id;
		char *dir;
		size_t count_before;
	} *kw_written;
	size_t kw_written_count, kw_written_cap;
	/* folders whose markers of dead transactions the open write
	 * transaction removed, with the UIDNEXT it found: a rollback puts a
	 * marker back (recover.c) */
	struct maildir_markers_swept {
		char *dir;
		uint32_t first;
	} *swept;
	size_t swept_count, swept_cap;
	/* mailboxes whose cur/ this process has compared with the index
	 * (recover.c) */
	int64_t *recovered;
	size_t recovered_count, recovered_cap;
	/* recovered_count when the open write transaction began (SIZE_MAX
	 * outside one): a rollback forgets what it added */
	size_t recovered_txn_start;
	/* store_sieve_get_active()'s last answer (sieve.c) */
	char *sieve_active;
};

struct maildir_mailbox {
	struct store_mailbox box;
	int64_t id;		/* mailboxes.id */
	char *dir;		/* the folder's directory */
	uint32_t recent_uid;	/* the watermark as last seen */
	/* what store_mailbox_msg_cache() returned last */
	struct store_msg_cache_data cache;
	/* what store_mailbox_msg_keys() returned last */
	struct str keys;
};

/* The header/body boundary scanner used for header_size. */
struct maildir_header_scan {
	uint64_t offset;
	uint64_t header_size;
	bool done, line_has_content;
};

struct maildir_append {
	struct store_append ctx;
	struct maildir_store *ms;
	int64_t mailbox_id;
	char *dir;
	char *unique;
	char *tmp_path;
	int fd;
	uint64_t size;
	uint64_t header_size;
	bool header_done, line_has_content;
	bool failed;
	/* the message model, parsed as the bytes are written */
	struct mime_parser *parser;
	/* store_append_begin_message(): the bytes and the model come from
	 * here (fd and tmp_path unused) */
	struct maildir_message *message;
};

/* A message shared by several appends (store_message_*, message.c). */
struct maildir_message {
	struct store_message message;
	int fd;			/* the spooled bytes */
	char *path;		/* a named spool file (no O_TMPFILE), or NULL */
	bool fsync;
	bool finished, failed;
	struct maildir_header_scan scan;
	struct mime_parser *parser;
	struct store_msg_cache_data cache;	/* valid once finished */
	struct store_msg_text_data text;	/* the same, for the text index */
	time_t internaldate;
};

/* Parsed message file name "<unique>,S=<size>,U=<uid>:2,<flags>". */
struct maildir_filename {
	char *unique;		/* xmalloc'd */
	uint64_t size;		/* 0 if absent */
	uint32_t uid;		/* 0 if absent */
	uint32_t flags;
	store_keywords_t keywords;	/* letters a-z as bits 0-25 */
	bool has_size;
};

/* ---- storage.c ---- */
int maildir_storage_set_syscall_error(struct maildir_store *ms, const char *call,
				      const char *path);
void maildir_storage_notify(struct maildir_store *ms);
int maildir_storage_fsync_fd(struct maildir_store *ms, int fd, const char *path);
int maildir_storage_fsync_dir(struct maildir_store *ms, const char *path);
/* Directory of mailbox `name` (xmalloc'd), NULL if the name cannot be a
 * directory (too long: STORE_ERR_PARAMS set). */
char *maildir_storage_mailbox_dir(struct maildir_store *ms, const char *name);
/* mkdir dir, dir/cur, dir/new, dir/tmp (0700); existing is fine. */
int maildir_storage_mkdirs(struct maildir_store *ms, const char *dir);
/* Removes files of tmp/ whose ctime is older than max_age seconds (0 =
 * all, the markers of recover.c too; only when no other process can be
 * writing there).  Other dot files, and markers when max_age is not 0,
 * are left alone. */
void maildir_storage_clean_tmp(struct maildir_store *ms, const char *dir, time_t max_age);

/* ---- index.c: the index's owner: transaction hooks and the files that
 * keep what a rebuild needs from the index beside the messages ---- */
/* Fills a brand-new index inside the transaction that creates it. */
typedef int maildir_index_populate_t(struct maildir_store *ms);
/* Opens (creating) the index at path as ms->index; a new one is filled
 * by populate().  On failure ms->index is NULL again. */
int maildir_index_open(struct maildir_store *ms, const char *path,
		       maildir_index_populate_t *populate);
/* Opens ms->index again after index_release_memory() closed it, with the
 * checks of maildir_index_open() (index_reopen()). */
int maildir_index_reopen(struct maildir_store *ms, maildir_index_populate_t *populate);
/* Closes ms->index (NULL is fine) and forgets what its transactions
 * recorded. */
void maildir_index_close(struct maildir_store *ms);
/* Inside a write transaction: number of keyword `name` in the mailbox,
 * created (and the folder's roost-keywords written) if missing.  -1 with
 * STORE_ERR_LIMIT when full, or on error. */
int maildir_index_keyword_get(struct maildir_store *ms, int64_t mailbox_id,
			      const char *dir, const char *name);
/* Inside a write transaction: adds a mailbox row and its directory and
 * writes its roost-uidlist (uidvalidity 0: a new one). */
int maildir_index_mailbox_add(struct maildir_store *ms, const char *name,
			      uint32_t special_use, uint32_t uidvalidity,
			      uint32_t uidnext, uint64_t highestmodseq, int64_t *id_r);
/* Writes the folder's roost-uidlist from the mailbox row (in txn). */
int maildir_index_write_uidlist(struct maildir_store *ms, int64_t mailbox_id,
				const char *dir);
/* Writes Maildir/roost-subscriptions from the index (in txn). */
int maildir_index_write_subscriptions(struct maildir_store *ms);

/* ---- file.c ---- */
char *maildir_file_unique(void);
/* "<unique>,S=<size>,U=<uid>:2,<flags>" (xmalloc'd). */
char *maildir_file_name(const char *unique, uint64_t size, uint32_t uid,
			uint32_t flags, store_keywords_t keywords);
/* The same name with other flags: keeps everything before ":2,". */
char *maildir_file_name_with_flags(const char *old_name, uint32_t flags,
				   store_keywords_t keywords);
void maildir_file_name_parse(const char *name, struct maildir_filename *fn_r);
void maildir_file_escape_name(struct str *dest, const char *name);
/* The value of hex digit c (either case), or -1. */
int maildir_file_hex_value(char c);
/* Folder directory name (without the leading '.') back to a mailbox name,
 * NULL if invalid. */
char *maildir_file_unescape_name(const char *dirname);
/* Writes a small file atomically: temp file, fsync, rename, fsync dir. */
int maildir_file_write_atomic(struct maildir_store *ms, const char *path,
			      const void *data, size_t size);
/* Reads a small file (NUL-terminated, xmalloc'd); 0 ok, -1 missing/error. */
int maildir_file_read_small(const char *path, char **data_r);
/* Recursively removes path; -1 on error (errno set). */
int maildir_file_remove_tree(const char *path);
/* mkdir -p (mode 0700 for what it creates).  0, or -1 with errno set. */
int maildir_file_mkdir_parents(const char *path);
void maildir_file_header_scan_feed(struct maildir_header_scan *scan, const void *data, size_t size);
uint64_t maildir_file_header_scan_result(const struct maildir_header_scan *scan);
/* Finds a file in dir/cur whose unique part is `unique` (file renamed by
 * another process); returns its name (xmalloc'd) or NULL. */
char *maildir_file_find_unique(const char *dir, const char *unique);
/* Copies the whole content of `in` (read from offset 0) to a
 * new file `dst` (O_EXCL), fsynced, with mtime internaldate.  0, or -1
 * with the store's error set and dst removed. */
int maildir_file_copy_fd(struct maildir_store *ms, int in, const char *dst,
			 time_t internaldate);
/* The header size of the message file at path (the whole size when it
 * has no body); 0 or -1 with errno. */
int maildir_file_header_size(const char *path, uint64_t *header_size_r);
/* Opens dir/cur/<name>, or the file with the same unique part.  -1 with
 * errno ENOENT when gone. */
int maildir_file_open_msg(const char *dir, const char *name, char **actual_name_r);

/* ---- mailbox.c ---- */
int maildir_mailbox_list(struct store *store, struct store_mailbox_info **infos_r,
			 size_t *count_r);
int maildir_mailbox_create(struct store *store, const char *name, uint32_t special_use);
int maildir_mailbox_delete(struct store *store, const char *name);
int maildir_mailbox_rename(struct store *store, const char *from, const char *to);
int maildir_mailbox_subscribe(struct store *store, const char *name, bool subscribe);
int maildir_mailbox_status(struct store *store, const char *name,
			   struct store_status *status_r);
int maildir_mailbox_states(struct store *store, struct store_mailbox_state **states_r,
			   size_t *count_r);
/* The row of mailbox `name` and its directory (xmalloc'd).  0, or -1
 * with STORE_ERR_NOTFOUND when there is none, or another error. */
int maildir_mailbox_lookup(struct maildir_store *ms, const char *name,
			   struct index_mailbox *row_r, char **dir_r);
/* Creates `name` and missing parents inside a write transaction. */
int maildir_mailbox_create_locked(struct maildir_store *ms, const char *name,
				  uint32_t special_use, int64_t *id_r);

/* ---- sieve.c: the user's Sieve scripts (store_sieve_*()) ---- */
int maildir_sieve_list(struct store *store, struct store_sieve_info **infos_r,
		       size_t *count_r);
int maildir_sieve_get(struct store *store, const char *name, struct str *text_r,
		      uint64_t *stamp_r);
int maildir_sieve_get_active(struct store *store, const char **name_r);
int maildir_sieve_put(struct store *store, const char *name, const void *text, size_t len);
int maildir_sieve_delete(struct store *store, const char *name);
int maildir_sieve_rename(struct store *store, const char *old_name, const char *new_name);
int maildir_sieve_activate(struct store *store, const char *name);

/* ---- sync.c ---- */
int maildir_sync_open(struct store *store, const char *name, bool readonly,
		      struct store_mailbox **box_r);
void maildir_sync_close(struct store_mailbox *box);
int maildir_sync_sync(struct store_mailbox *box, enum store_sync_flags flags,
		      const struct store_sync_callbacks *cb, void *ctx);
int maildir_sync_msg_stream(struct store_mailbox *box, uint32_t msn,
			    struct istream **stream_r);
/* store_mailbox_vanished(): the tombstones and the mailbox's floor
 * (tombstone.c) */
int maildir_sync_vanished(struct store_mailbox *box, uint64_t since,
			  uint32_t **uids_r, size_t *count_r,
			  uint64_t *complete_since_r);
/* cache.c */
int maildir_cache_get(struct store_mailbox *box, uint32_t msn,
		      struct store_msg_cache *cache_r);
int maildir_cache_get_many(struct store_mailbox *box, const uint32_t *msns,
			   size_t count, store_msg_cache_callback_t *cb, void *ctx);
int maildir_cache_get_keys(struct store_mailbox *box, uint32_t msn,
			   const void **data_r, size_t *size_r);
int maildir_cache_get_keys_many(struct store_mailbox *box, const uint32_t *msns,
				size_t count, store_msg_keys_callback_t *cb, void *ctx);
int maildir_cache_get_dates_many(struct store_mailbox *box, const uint32_t *msns,
				 size_t count, store_msg_date_callback_t *cb, void *ctx);
/* store_mailbox_msg_ids_many(), store_mailbox_search_objectid() and
 * store_mailbox_search_savedate() (cache.c). */
int maildir_cache_get_ids_many(struct store_mailbox *box, const uint32_t *msns,
			       size_t count, unsigned int want,
			       store_msg_ids_callback_t *cb, void *ctx);
int maildir_cache_search_objectid(struct store_mailbox *box, bool thread, const char *id,
				  uint32_t **uids_r, size_t *count_r);
int maildir_cache_search_savedate(struct store_mailbox *box, int64_t since, int64_t before,
				  uint32_t **uids_r, size_t *count_r);
/* Moves files other programs put into dir/new into cur/ with UIDs and
 * indexes them (one write transaction); 0 also when there were none. */
int maildir_sync_pickup_new(struct maildir_store *ms, int64_t mailbox_id, const char *dir);
/* Copies in_fd into a new file at tmp_path (fsynced), turning bare LF
 * into CRLF (but in the body of a binary part: mime_parser_feed_crlf())
 * so the file is what IMAP serves (mail written by other programs: new/
 * pickup, files a rebuild finds in cur/); returns its size and header
 * size.  With parser_r, also the parse of the bytes written (physical
 * sizes; the caller destroys it; NULL after an error).  0 or -1 (error
 * set). */
int maildir_sync_copy_crlf(struct maildir_store *ms, int in_fd, const char *tmp_path,
			   uint64_t *size_r, uint64_t *header_size_r,
			   struct mime_parser **parser_r);

/* ---- notify.c: change notification (store_notify_*()) ---- */
int maildir_notify_create(const struct store_settings *set, struct store_notify **notify_r,
			  const char **error_r);
void maildir_notify_destroy(struct store_notify *notify);
int maildir_notify_add(struct store_notify *notify, struct store_mailbox *box,
		       struct store_notify_watch **watch_r);
int maildir_notify_add_user(struct store_notify *notify, struct store *store,
			    struct store_notify_watch **watch_r);
void maildir_notify_remove(struct store_notify_watch *watch);
void maildir_notify_read(struct store_notify *notify, store_notify_callback_t *cb, void *ctx);

/* ---- fts.c: the text of messages for the full-text index ---- */
int maildir_fts_msg_text(struct store_mailbox *box, uint32_t msn,
			 struct str *header, struct str *body);
int maildir_fts_search(struct store_mailbox *box, enum store_text_field field,
		       const char *name, const char *needle, size_t needle_len,
		       uint32_t first_uid, uint32_t max_uid, bool one_part,
		       const struct store_uid_range *view_runs, size_t run_count,
		       struct store_text_result *result_r);

/* ---- flags.c ---- */
int maildir_flags_keywords_create(struct store_mailbox *box, const char *const *names,
				  size_t count);
int maildir_flags_keywords_reload(struct store_mailbox *box);
int maildir_flags_update(struct store_mailbox *box, const uint32_t *msns, size_t count,
			 enum store_flags_mode mode, uint32_t flags,
			 store_keywords_t keywords, uint64_t unchangedsince,
			 uint32_t **failed_r, size_t *failed_count_r);
int maildir_flags_expunge(struct store_mailbox *box, const uint32_t *msns, size_t count,
			  bool only_deleted);
/* The cur/ names of the messages an expunge removed from the index. */
struct maildir_expunged_files {
	char **names;
	size_t count, cap;
};
/* In a write txn: removes message rows and their text, writes tombstones
 * and adds the rows' file names to *files.  The files stay: unlink them
 * with maildir_flags_expunged_files_unlink() after the commit (a failed
 * commit must not leave rows without files), or free the list after a
 * rollback. */
int maildir_flags_expunge_uids(struct maildir_store *ms, int64_t mailbox_id,
			       const uint32_t *uids, size_t count, uint64_t modseq,
			       struct maildir_expunged_files *files);
/* After the commit: unlinks dir/cur/<each name> (found by its unique
 * part if renamed; failures are logged: recover.c removes a file whose
 * UID is a tombstone) and frees the list. */
void maildir_flags_expunged_files_unlink(struct maildir_store *ms, const char *dir,
					 struct maildir_expunged_files *files);
void maildir_flags_expunged_files_free(struct maildir_expunged_files *files);

/* ---- save.c ---- */
int maildir_save_begin(struct store *store, const char *mailbox_name,
		       struct store_append **ctx_r);
int maildir_save_write(struct store_append *ctx, const void *data, size_t size);
int maildir_save_commit(struct store_append *ctx, uint32_t flags,
			const char *const *keywords, size_t keyword_count,
			time_t internaldate, int tz, uint32_t *uidvalidity_r,
			uint32_t *uid_r);
void maildir_save_abort(struct store_append *ctx);
int maildir_save_begin_message(struct store *store, const char *mailbox_name,
			       struct store_message *msg, struct store_append **ctx_r);

/* ---- message.c ---- */
int maildir_message_begin(const struct store_settings *set, struct store_message **msg_r,
			  const char **error_r);
int maildir_message_write(struct store_message *msg, const void *data, size_t size,
			  const char **error_r);
int maildir_message_finish(struct store_message *msg, time_t internaldate,
			   const char **error_r);
void maildir_message_free(struct store_message *msg);
/* Makes `dst` a name of the message's file: a hard link, or a copy of the
 * bytes (fsynced) where the file system refuses the link.  0 or -1 with
 * the store's error set. */
int maildir_message_place(struct maildir_store *ms, struct maildir_message *msg,
			  const char *dst);
/* COPY and MOVE in steps (store_copy_*() in store.h). */
int maildir_save_copy_begin(struct store_mailbox *box, const uint32_t *msns, size_t count,
			    const char *dest_name, bool move, struct store_copy **ctx_r);
int maildir_save_copy_continue(struct store_copy *ctx, unsigned int max_msgs);
void maildir_save_copy_free(struct store_copy *ctx);

/* ---- recover.c: what a crash left in a folder ---- */
/* Inside the write transaction that is about to hand out UIDs from
 * *uidnext in folder dir: repairs the folder (adopts files of cur/ that
 * the index does not know, moving *uidnext past every UID a file
 * carries) if this process has not looked at it yet or a marker says a
 * transaction died between putting files into cur/ and its commit. */
int maildir_recover_before_alloc(struct maildir_store *ms, int64_t mailbox_id,
				 const char *dir, uint32_t *uidnext);
/* The same at the first open of a folder by this process, in a write
 * transaction of its own when cur/ has unknown files.  A folder this
 * process compared before (in any store since) is compared again only if
 * tmp/ has a marker at or above uidnext (the row's UIDNEXT, read before):
 * a transaction that died mid-append. */
int maildir_recover_on_open(struct maildir_store *ms, int64_t mailbox_id, const char *dir,
			    uint32_t uidnext);
/* The file of (mailbox, uid) was not found: in a write transaction of its
 * own, looks again in the folder's current directory and expunges the row
 * if the file is really gone (logged).  1 expunged, 0 nothing to do (the
 * file is there, the row or mailbox is gone, or the caller is inside a
 * transaction), -1 error (set). */
int maildir_recover_vanished(struct maildir_store *ms, int64_t mailbox_id, uint32_t uid);
/* Creates tmp/ marker for UIDs first..last about to go into cur/ (inside
 * the write transaction, before any file goes there); its path, or NULL
 * with the error set.  Remove it after the commit, or after the files
 * are gone again and before the rollback. */
char *maildir_recover_marker_create(struct maildir_store *ms, const char *dir,
				    uint32_t first, uint32_t last);
/* Called by the index's rolling_back hook (index.c), before the ROLLBACK
 * (lock held): where the transaction removed markers of a dead
 * transaction, the repair it made is undone, so a marker goes back to
 * say so to every process.  And by its committed hook after the commit:
 * forgets. */
void maildir_recover_rollback(struct maildir_store *ms);
void maildir_recover_committed(struct maildir_store *ms);
/* Unlinks and frees *path (NULL is fine); sets it to NULL. */
void maildir_recover_marker_remove(char **path);
/* Ends the write transaction that put `files` (full paths) into cur/
 * under *marker (NULL when none was made): a rollback when ret < 0, or a
 * commit.  When it does not commit, the files and the marker go, but for
 * a failed commit that may be durable all the same
 * (index_commit_is_unknown()): they then stay for the next writer to
 * adopt, as after a crash.  *marker is NULL afterwards; 0 committed,
 * else -1 (error set). */
int maildir_recover_marker_end(struct maildir_store *ms, int ret, char **marker,
			       char *const *files, size_t file_count);
/* Reports every disagreement between the folder's index rows and its
 * files (and roost-uidlist); the number reported, or -1 on error.
 * Changes nothing. */
int maildir_recover_check(struct maildir_store *ms, int64_t mailbox_id, const char *dir,
			  store_check_report_t *report, void *ctx);
int maildir_mailbox_check(struct store *store, const char *name,
			  store_check_report_t *report, void *ctx);

/* ---- sieve-track.c ---- */
/* ---- import.c: store_mailbox_set_uids(), store_batch_*(),
 * store_state_*() ---- */
int maildir_import_set_uids(struct store *store, const char *name, uint32_t uidvalidity,
			    uint32_t uidnext);
int maildir_import_batch(struct store *store, bool begin);
int maildir_import_batch_flush(struct store *store);
int maildir_import_state_get(struct store *store, const void *key, size_t key_len,
			     struct str *value);
int maildir_import_state_set(struct store *store, const struct store_state_item *items,
			     size_t count);

/* The store's store_sieve_track_seen() and store_sieve_track_mark(). */
int maildir_sieve_track_seen(struct store *store, const void *id, size_t id_len, time_t now);
int maildir_sieve_track_mark(struct store *store, const void *id, size_t id_len,
			     time_t expires);

/* ---- backup.c: store_backup(), store_restore(), store_purge() ---- */
int maildir_exists(const struct store_settings *set, const char *user_local,
		   const char *user_domain);
int maildir_backup(struct store *store, const char *dest_dir,
		   struct store_backup_stats *stats_r);
int maildir_restore(const struct store_settings *set, const char *user_local,
		    const char *user_domain, const char *src_dir, bool force,
		    struct store_restore_result *result_r, char **error_r);
int maildir_purge(const struct store_settings *set, const char *user_local,
		  const char *user_domain, char **error_r);

/* ---- rebuild.c ---- */
/* Reports where the folder's roost-uidlist disagrees with the row. */
unsigned int maildir_recover_check_uidlist(const char *dir,
					   const struct index_mailbox *row,
					   store_check_report_t *report, void *ctx);
int maildir_rebuild(const struct store_settings *set, const char *user_local,
		    const char *user_domain, const char **error_r);
/* Fills a new, empty index from the Maildir, inside the caller's write
 * transaction; tmp/ files older than tmp_max_age seconds (0 = all) are
 * removed. */
int maildir_rebuild_index(struct maildir_store *ms, time_t tmp_max_age);
/* ---- storage.c, for rebuild.c ---- */
/* The store struct without opening the index; maildir_storage_free()
 * closes the index and frees what alloc made except the generic part's
 * user and error (store_close() frees those). */
struct maildir_store *maildir_storage_alloc(const struct store_settings *set,
					    const char *user_local, const char *user_domain);
void maildir_storage_free(struct maildir_store *ms);
/* Creates the user directory and the INBOX Maildir where missing, first
 * taking over a store made under another case of the name (see
 * adopt_case_variant()).  0 or -1 (error set). */
int maildir_storage_mkdirs_user(struct maildir_store *ms);
/* Takes the user's lock (userdir/lock) into ms->lock_fd: shared (every
 * open store) or exclusive (a rebuild), never waiting.  0, or -1 with
 * errno (EWOULDBLOCK: the other kind is held). */
int maildir_storage_lock(struct maildir_store *ms, bool exclusive);
/* Before the index is opened again after the store went idle (which
 * let go of the lock with the index connection): takes the shared lock
 * back and checks that the index file is the one the store had.  -1
 * (error set) while a rebuild runs (STORE_ERR_BUSY), or for good once a
 * rebuild has replaced the index (the store is then defunct: the
 * sessions on it log in again and get a new one). */
int maildir_storage_relock(struct maildir_store *ms);

#endif
