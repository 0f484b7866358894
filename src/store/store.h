/* store.h: the only door to mail data.
 *
 * The protocols (imap/, lmtp/, cli/) reach messages, mailboxes, flags and
 * modseqs through these functions and never through files or SQL.  Backends
 * (store/maildir today, PostgreSQL later) implement `struct store_vfuncs`
 * (store-private.h); this file dispatches to them.
 *
 * Names: mailbox names are UTF-8 with '/' as the hierarchy separator
 * ("Archive/2024").  "INBOX" is case-insensitive and always spelt "INBOX"
 * in results.  Conversion from/to modified UTF-7 is the protocol's job.
 *
 * Errors: functions returning int give 0 on success and -1 on failure;
 * nothing else, unless the comment says so (a count, a step of work
 * that is done or not).  The failure is described by store_last_error(),
 * which stays valid until the next call on the same store.  Something
 * that is not there is a failure like any other: -1 with
 * STORE_ERR_NOTFOUND (a mailbox, a keyword) or STORE_ERR_EXPUNGED (a
 * message of the view that is gone); a lookup never answers "not found"
 * with 0.  Client-caused failures (no such mailbox, already exists, ...)
 * and system failures (I/O, the index) are told apart by
 * `enum store_error`.
 *
 * Durability: every function that changes data returns only after the
 * change is on disk (unless the settings turn fsync off).
 *
 * Threads: none.  A `struct store` is used by one event loop.  Several
 * processes may open the same user's store at once; the backend serialises
 * writers so no update is ever lost. */
#ifndef ROOST_STORE_H
#define ROOST_STORE_H

#include "base/base.h"
#include "base/istream.h"
#include "base/str.h"
#include <time.h>

struct roost_config;
struct store;
struct store_mailbox;
struct store_append;

/* What roost.conf says about the store: which backend keeps the mail,
 * and that backend's own settings (the keys named after it). */
struct store_settings {
	/* `store`: a backend that store_backend_check() accepts */
	const char *backend;
	/* `fsync`: changes are durable before a call returns (default true) */
	bool fsync;
	/* `qresync_tombstones`: expunge tombstones kept per mailbox (the
	 * oldest are compacted away beyond it, store_mailbox_vanished());
	 * 0 in settings made by hand means the default */
	unsigned int tombstones;
	/* the settings of the maildir backend */
	struct {
		/* `maildir_root`: the directory of every user's store
		 * (required with the maildir backend) */
		const char *root;
	} maildir;
};

enum store_error {
	STORE_ERR_NONE = 0,
	STORE_ERR_TEMP,		/* internal/system error: try again later */
	STORE_ERR_NOTFOUND,	/* mailbox does not exist -> [NONEXISTENT]/[TRYCREATE] */
	STORE_ERR_EXISTS,	/* mailbox already exists -> [ALREADYEXISTS] */
	STORE_ERR_PARAMS,	/* invalid name or argument -> [CANNOT] / BAD */
	STORE_ERR_NOTPOSSIBLE,	/* not allowed (delete INBOX, ...) -> [CANNOT] */
	STORE_ERR_INUSE,	/* \Noselect with children etc. -> [INUSE]/[CANNOT] */
	STORE_ERR_LIMIT,	/* e.g. too many keywords -> [LIMIT] */
	STORE_ERR_NOSPACE,	/* disk full / quota -> [OVERQUOTA] */
	STORE_ERR_EXPUNGED,	/* message was expunged -> [EXPUNGEISSUED] */
	STORE_ERR_BUSY,		/* the index stayed locked by other writers:
				 * try again later -> [UNAVAILABLE] */
};

/* System flags, as a bitmask.  \Recent is not stored: see
 * store_mailbox_is_recent(). */
enum store_flag {
	STORE_FLAG_SEEN = 1 << 0,
	STORE_FLAG_ANSWERED = 1 << 1,
	STORE_FLAG_FLAGGED = 1 << 2,
	STORE_FLAG_DELETED = 1 << 3,
	STORE_FLAG_DRAFT = 1 << 4,
};
#define STORE_FLAGS_ALL 0x1f

/* SPECIAL-USE attributes (RFC 6154), as a bitmask. */
enum store_special_use {
	STORE_USE_ALL = 1 << 0,
	STORE_USE_ARCHIVE = 1 << 1,
	STORE_USE_DRAFTS = 1 << 2,
	STORE_USE_FLAGGED = 1 << 3,
	STORE_USE_JUNK = 1 << 4,
	STORE_USE_SENT = 1 << 5,
	STORE_USE_TRASH = 1 << 6,
};

/* Keywords are kept per mailbox as a table of names; a message carries a
 * 64-bit mask of indexes into that table.  A mailbox holds at most
 * STORE_MAX_KEYWORDS distinct keywords (more gives STORE_ERR_LIMIT). */
#define STORE_MAX_KEYWORDS 64
typedef uint64_t store_keywords_t;

/* One message as the index knows it.  Strings point into the mailbox and
 * stay valid until the next store_mailbox_sync() on it. */
struct store_msg {
	uint32_t uid;
	uint32_t flags;		/* enum store_flag */
	store_keywords_t keywords;
	uint64_t modseq;
	time_t internaldate;
	int internaldate_tz;	/* minutes east of UTC, as given at APPEND */
	uint64_t size;		/* RFC822.SIZE: bytes with CRLF line ends */
	uint64_t header_size;	/* bytes of the header incl. the blank line */
};

/* Room for an object id (RFC 8474 objectid = 1*255(ALPHA / DIGIT /
 * "_" / "-")) as a store makes them, with its NUL: a store's ids are
 * shorter than this. */
#define STORE_OBJECTID_SIZE 64

struct store_status {
	uint32_t messages, recent, unseen, deleted;
	uint32_t uidnext, uidvalidity;
	uint64_t size;		/* sum of message sizes (STATUS SIZE) */
	uint64_t highestmodseq;
	/* MAILBOXID (RFC 8474 4): store_mailbox_id() of the mailbox */
	char mailboxid[STORE_OBJECTID_SIZE];
};

struct store_mailbox_info {
	const char *name;	/* UTF-8, '/' separated */
	uint32_t special_use;	/* enum store_special_use */
	bool subscribed;
	bool exists;		/* false: only a subscription or a parent */
	bool has_children;
};

/* ---- the user's store ---- */

/* Returns 0 when `name` is a backend this build has ("maildir"), or -1
 * with *error_r (allocated, the caller frees) naming the known ones. */
int store_backend_check(const char *name, char **error_r);
/* Fills *set_r from the configuration; the strings point into `config`
 * and live as long as it. */
void store_settings_init(struct store_settings *set_r, const struct roost_config *config);

/* Opens (creating on first use) the store of `user` ("name" or
 * "name@domain").  A new store gets INBOX, Drafts, Sent, Trash, Junk and
 * Archive with their special-use attributes, all subscribed.  Returns 0 and
 * *store_r, or -1 with *error_r set to a static or store-lifetime message.
 * The user name must already be authenticated: it is only checked for
 * characters that cannot be a path ('/', leading '.'). */
int store_open(const struct store_settings *set, const char *user,
	       struct store **store_r, const char **error_r);
/* Closes the store; all its mailboxes must have been closed.  Sets *store
 * to NULL.  Opens of the same user in one process share one store (and one
 * index connection): each store_open() needs its own store_close(), and
 * store_last_error() is shared, so read it right after the failing call. */
void store_close(struct store **store);

/* Keeps closed stores for the next store_open() of their user in this
 * process: when a store's last store_close() comes, the store lets go of
 * every descriptor it holds (as an idle one does, so `roost check
 * --rebuild` may run) but keeps its view snapshots, so that a client
 * logging in again opens its mailboxes from them instead of loading
 * every message row.  At most max_count stores with snapshots of at most
 * max_bytes in total are kept; the least recently closed go first.  A
 * kept store opened again takes its locks back and checks that its index
 * is the same file; if not (rebuilt meanwhile), it is closed and a new
 * store opened.  (0, 0), the default, keeps none and closes those kept:
 * call it so before the process exits. */
void store_keep_set_limits(unsigned int max_count, size_t max_bytes);
/* How many stores are kept and the bytes of their snapshots (tests). */
void store_keep_stats(unsigned int *count_r, size_t *bytes_r);

/* Drops what the store caches in memory (index pages, parsed schema
 * where possible) while keeping it open and usable; the next call reads
 * again what it needs.  The IMAP layer calls it when a session goes quiet,
 * so that thousands of idle sessions cost little.  Does nothing while a
 * request's work on the store runs on another thread
 * (store_request_busy()). */
void store_release_memory(struct store *store);
/* True once the backend found the store unusable for good (its index
 * was rebuilt while the store was idle): every call fails, and
 * store_open() of the user gives a new store.  A holder that keeps the
 * store between uses (LMTP's store cache) closes it and opens the user
 * again.  Not while a request's work on it runs on another thread. */
bool store_is_defunct(const struct store *store);

/* The last error on this store: a text for a client ("Mailbox doesn't
 * exist: Foo") and its class.  The text lives until the next call. */
const char *store_last_error(struct store *store, enum store_error *error_r);

/* ---- mailboxes ---- */

/* Lists every mailbox and every subscribed name, sorted by name.  *infos_r
 * is allocated with xmalloc as one block (names inside it); the caller
 * frees it. */
int store_mailbox_list(struct store *store, struct store_mailbox_info **infos_r,
		       size_t *count_r);
/* Creates `name` and any missing parents (RFC 9051 6.3.4).  special_use 0
 * for none.  STORE_ERR_EXISTS if it exists. */
int store_mailbox_create(struct store *store, const char *name, uint32_t special_use);
/* Deletes `name` (RFC 9051 6.3.5): its messages go; if it has children it
 * stays as a \Noselect parent; deleting a \Noselect name with children is
 * STORE_ERR_INUSE; INBOX is STORE_ERR_NOTPOSSIBLE. */
int store_mailbox_delete(struct store *store, const char *name);
/* Renames `from` to `to`; children follow.  Renaming INBOX moves its
 * messages into a new mailbox `to` and leaves INBOX empty (RFC 9051 6.3.6). */
int store_mailbox_rename(struct store *store, const char *from, const char *to);
int store_mailbox_subscribe(struct store *store, const char *name, bool subscribe);
/* One mailbox as store_mailbox_states() lists it. */
struct store_mailbox_state {
	const char *name;	/* UTF-8, '/' separated */
	/* The backend's number for the mailbox: RENAME keeps it.  With
	 * uidvalidity it names one mailbox for as long as the store
	 * exists (a mailbox deleted and made again has a new UIDVALIDITY,
	 * and may get the same id). */
	uint64_t id;
	uint32_t uidvalidity, uidnext;
	uint64_t highestmodseq;	/* moves on every change of its messages */
};

/* Lists every selectable mailbox with the counters that tell whether it
 * changed (NOTIFY compares two lists), sorted by name, without counting
 * messages: one read of the mailbox table, whatever the mailboxes hold.
 * Mail that another program dropped into a mailbox and no sync has
 * picked up yet is not seen.  *states_r is allocated with xmalloc as one
 * block (names inside it); the caller frees it.  Returns 0, or -1 with
 * the store's error. */
int store_mailbox_states(struct store *store, struct store_mailbox_state **states_r,
			 size_t *count_r);
/* STATUS of a mailbox that need not be open.  \Recent counts the messages
 * no session has claimed yet. */
int store_mailbox_status(struct store *store, const char *name,
			 struct store_status *status_r);

/* ---- an open mailbox and its view ---- */

/* Opens `name`.  The mailbox keeps this session's view: the list of
 * messages in sequence-number order (msn 1 = index 0) as of the last sync.
 * With readonly false, the session claims \Recent for messages that no
 * session has seen (exactly one session gets each), at open and at each
 * sync that finds new ones; a read-only view sees the messages no
 * session has claimed yet as \Recent without claiming them (RFC 3501
 * 2.3.2).  Does not pick up changes: call store_mailbox_sync() first. */
int store_mailbox_open(struct store *store, const char *name, bool readonly,
		       struct store_mailbox **box_r);
void store_mailbox_close(struct store_mailbox **box);
const char *store_mailbox_name(struct store_mailbox *box);
bool store_mailbox_is_readonly(struct store_mailbox *box);
uint32_t store_mailbox_uidvalidity(struct store_mailbox *box);
/* The mailbox's MAILBOXID (RFC 8474 4): an objectid that no other
 * mailbox of the store has or had, kept when the mailbox is renamed;
 * renaming INBOX makes a new mailbox with a new one and INBOX keeps its
 * own.  Valid while the mailbox is open. */
const char *store_mailbox_id(struct store_mailbox *box);
/* UIDNEXT and HIGHESTMODSEQ as of the last sync. */
uint32_t store_mailbox_uidnext(struct store_mailbox *box);
uint64_t store_mailbox_highestmodseq(struct store_mailbox *box);

/* Changes found by a sync, delivered to the caller in this order:
 * expunges (highest msn first, so each msn is valid when reported), then
 * `exists` if the count grew, then flag changes. */
struct store_sync_callbacks {
	void (*expunge)(void *ctx, uint32_t msn, uint32_t uid);
	void (*exists)(void *ctx, uint32_t count);
	/* flags or keywords of msn changed since this view last saw them */
	void (*flags)(void *ctx, uint32_t msn, const struct store_msg *msg);
	/* a keyword name was added to the mailbox's table */
	void (*keywords)(void *ctx);
	/* like flags, for a message whose only change since the view last
	 * saw it is this session's own store_mailbox_update_flags() applied
	 * to the flags the view had, so its result is what the session asked for (a
	 * STORE .SILENT need not repeat it); NULL: reported through flags */
	void (*own_flags)(void *ctx, uint32_t msn, const struct store_msg *msg);
};

enum store_sync_flags {
	/* Keep expunged messages in the view (for FETCH/STORE/SEARCH, where
	 * RFC 9051 7.5.1 forbids EXPUNGE responses); they are reported by a
	 * later sync without this flag. */
	STORE_SYNC_NO_EXPUNGES = 1 << 0,
};

/* Brings the view up to date: picks up changes by other sessions,
 * processes and programs, and reports them through `cb` (any callback
 * may be NULL).  Flag changes this session made itself through
 * store_mailbox_update_flags() are reported too, so the caller can answer
 * STORE without .SILENT from the same path. */
int store_mailbox_sync(struct store_mailbox *box, enum store_sync_flags flags,
		       const struct store_sync_callbacks *cb, void *ctx);

/* Number of messages in the view (EXISTS). */
uint32_t store_mailbox_count(struct store_mailbox *box);
/* The message with sequence number msn (1..count); never NULL for a valid
 * msn.  A message expunged by another session but still in this view has
 * is_expunged() true; its data stays readable from the index. */
const struct store_msg *store_mailbox_msg(struct store_mailbox *box, uint32_t msn);
bool store_mailbox_is_expunged(struct store_mailbox *box, uint32_t msn);
/* The msn of uid, or 0 if it is not in the view. */
uint32_t store_mailbox_msn_of_uid(struct store_mailbox *box, uint32_t uid);
/* The msn of the first message of the view whose UID is uid or above,
 * or count + 1 if there is none (a binary search). */
uint32_t store_mailbox_msn_from_uid(struct store_mailbox *box, uint32_t uid);
/* Whether this session holds \Recent for msn. */
bool store_mailbox_is_recent(struct store_mailbox *box, uint32_t msn);
uint32_t store_mailbox_recent_count(struct store_mailbox *box);
/* The msn of the first message of the view without \Seen, 0 if none
 * (SELECT's [UNSEEN], RFC 3501 7.1).  Does not walk the view again
 * while it is unchanged since it was opened from the store's snapshot
 * of the mailbox. */
uint32_t store_mailbox_first_unseen(struct store_mailbox *box);

/* The mailbox's keyword table: names[0..*count_r-1]; a message has keyword
 * i if its mask has bit i.  Valid until the next sync. */
const char *const *store_mailbox_keywords(struct store_mailbox *box, size_t *count_r);
/* The index of keyword `name` (case-insensitive) in *index_r, creating
 * it when `create` is true.  Returns 0, or -1 with STORE_ERR_NOTFOUND
 * (the table does not have it and `create` is false), STORE_ERR_LIMIT
 * (the table is full) or STORE_ERR_PARAMS (not a keyword name). */
int store_mailbox_keyword_index(struct store_mailbox *box, const char *name, bool create,
				unsigned int *index_r);
/* The mask of the keywords names[0..count-1] (case-insensitive) in
 * *mask_r.  With `create`, the names the mailbox does not have yet are
 * added all at once: either every one of them or, on -1, none
 * (STORE_ERR_LIMIT when they would not all fit, STORE_ERR_PARAMS for a
 * name that cannot be a keyword), so a command that fails leaves the
 * table as it was.  Without `create`, names the mailbox does not have
 * (after reloading the table, which other sessions may have added to) are
 * left out of the mask. */
int store_mailbox_keywords_mask(struct store_mailbox *box, const char *const *names,
				size_t count, bool create, store_keywords_t *mask_r);

enum store_flags_mode { STORE_FLAGS_REPLACE, STORE_FLAGS_ADD, STORE_FLAGS_REMOVE };

/* Changes flags and keywords of the messages with the given msns.  Each
 * message whose flags actually change gets a new modseq.  Concurrent
 * changes by other sessions are merged, never lost (add/remove are applied
 * to the current flags inside one write transaction).  Messages expunged
 * meanwhile are skipped.  If unchangedsince is non-zero (CONDSTORE), a
 * message whose modseq is greater is not changed and its msn is added to
 * *failed_r (xmalloc'd array, caller frees; may be NULL when none).
 * The view is updated; the caller reports the new flags. */
int store_mailbox_update_flags(struct store_mailbox *box, const uint32_t *msns,
			       size_t count, enum store_flags_mode mode,
			       uint32_t flags, store_keywords_t keywords,
			       uint64_t unchangedsince,
			       uint32_t **failed_r, size_t *failed_count_r);

/* QRESYNC (RFC 7162 3.2.5, 3.2.6): the UIDs expunged from the mailbox
 * with a modseq above `since`, ascending, in *uids_r (xmalloc'd, the
 * caller frees; NULL when none).  *complete_since_r is the lowest
 * `since` for which that list is complete: expunges at or below it may
 * have no tombstone any more (DESIGN.md "Expunge tombstones"), so a
 * caller asked about an older modseq must take every UID it cannot see
 * in the mailbox as possibly expunged.  0 when every tombstone is kept.
 * Reads the index as of now (not the view).  Returns 0 or -1. */
int store_mailbox_vanished(struct store_mailbox *box, uint64_t since,
			   uint32_t **uids_r, size_t *count_r,
			   uint64_t *complete_since_r);

/* Expunges the messages with the given msns (NULL/0 = every message with
 * \Deleted).  Records tombstones (uid, modseq) for QRESYNC.  Does not
 * change the view: the next sync reports the expunges. */
int store_mailbox_expunge(struct store_mailbox *box, const uint32_t *msns, size_t count);
/* Expunges those of the messages with the given msns that have \Deleted
 * in the index now (not as the view last saw them), like
 * store_mailbox_expunge() otherwise: EXPUNGE and UID EXPUNGE done in
 * parts, each part in one short operation. */
int store_mailbox_expunge_deleted(struct store_mailbox *box, const uint32_t *msns,
				  size_t count);

/* Copies messages (msns in this view) into mailbox `dest_name` of the same
 * store, keeping flags, keywords and internal dates (not \Recent).  The
 * backend shares the message bytes where it can.  On success *dest_uidvalidity_r and
 * *dest_uids_r (xmalloc'd, one per source msn in order, caller frees) say
 * where they went.  With `move` true the sources are expunged in the same
 * operation (MOVE; in parts of a few hundred messages, see
 * store_copy_begin()); the view is not changed until the next sync.
 * Runs the steps of store_copy_begin() in one go.
 * STORE_ERR_NOTFOUND if dest does not exist. */
int store_mailbox_copy(struct store_mailbox *box, const uint32_t *msns, size_t count,
		       const char *dest_name, bool move, uint32_t *dest_uidvalidity_r,
		       uint32_t **dest_uids_r);

/* The same copy (or move) done in steps, so that a caller on an event
 * loop can serve others between them (DESIGN.md: long work in slices).
 * The steps that come before the end read the sources and stage the
 * copies in the destination, invisible to everyone; one last step
 * makes the whole set visible (and, for MOVE, expunges the sources) in
 * one durable operation, so the destination never shows part of the
 * set: RFC 9051 6.4.7 "If the COPY command is unsuccessful for any
 * reason, server implementations MUST restore the destination mailbox
 * to its state before the COPY attempt".  A MOVE may instead become
 * visible in parts, each part moved (copied and its sources expunged)
 * in one durable operation: RFC 6851 3.1 allows a MOVE to fail partway
 * as long as each message is either moved or unaffected.  No index
 * write lock is held between steps.  The view of `box` must not change (no sync on it)
 * while the copy runs.
 *
 * store_copy_begin() checks the arguments like store_mailbox_copy()
 * (STORE_ERR_NOTFOUND if dest does not exist) and returns 0 with *ctx_r,
 * or -1.  Each store_copy_continue() does about `max_msgs` messages'
 * worth of work and returns 0 when there is more to do, 1 when the copy
 * is done and durable (then store_copy_result() gives the UIDVALIDITY
 * and the destination UIDs, xmalloc'd, one per source msn in order,
 * caller frees), or -1 with the store's error set and nothing copied.
 * store_copy_free() frees the context at any point; a copy that has not
 * finished is undone. */
struct store_copy;
int store_copy_begin(struct store_mailbox *box, const uint32_t *msns, size_t count,
		     const char *dest_name, bool move, struct store_copy **ctx_r);
int store_copy_continue(struct store_copy *ctx, unsigned int max_msgs);
void store_copy_result(struct store_copy *ctx, uint32_t *dest_uidvalidity_r,
		       uint32_t **dest_uids_r);
void store_copy_free(struct store_copy **ctx);

/* Opens the message of msn for reading: returns 0 with *stream_r (the
 * caller destroys it with istream_destroy(); it stays readable after the
 * view changes) whose content is the message exactly as it was appended
 * (with CRLF line ends: the arrival paths make bare LF CRLF, all but the
 * binary data of a literal8), of store_msg.size bytes.  -1 with
 * STORE_ERR_EXPUNGED if the message is gone, or with another error (and
 * *stream_r NULL either way). */
int store_mailbox_msg_stream(struct store_mailbox *box, uint32_t msn,
			     struct istream **stream_r);

/* The message model cached in the index (DESIGN.md "Parse once").
 * Strings are NUL-terminated; envelope is the IMAP ENVELOPE,
 * bodystructure is BODYSTRUCTURE in the form every client reads (mime
 * flags 0: no UTF-8 quoting, message/global as in RFC 3501; BODY is
 * derived from it, imap_bodystructure_to_body()), and part_map is the
 * serialised mime part map (mime/part-map.h).  A message with a
 * message/global part has another form for IMAP4rev2 sessions
 * (IMAP_ENVELOPE_FLAG_IMAP4REV2) in bodystructure_rev2; it is NULL for
 * every other message.  msgkeys is the serialised SORT and THREAD keys
 * (syntax/msgkeys.h). */
struct store_msg_cache {
	const char *envelope, *bodystructure;
	const char *bodystructure_rev2;
	const void *part_map;
	size_t part_map_size;
	const void *msgkeys;
	size_t msgkeys_size;
};

/* Fills *cache_r for msn from the index, never opening the message file
 * when the index has the cache.  Where the parse happens: in the store.
 * store_append_write() streams the bytes through the mime parser as they
 * go to disk, and store_append_commit() stores the result with the row;
 * COPY and MOVE copy the cached values.  Messages that arrived without it
 * (written into the store by another program, an index older than the
 * cache, a rebuilt index) are parsed once on their first call here and
 * the result is written back.  The pointers are valid until the next call on
 * this mailbox.  -1 with STORE_ERR_EXPUNGED if the message is gone. */
int store_mailbox_msg_cache(struct store_mailbox *box, uint32_t msn,
			    struct store_msg_cache *cache_r);
/* The model of many messages at once, as FETCH over many messages needs
 * it: the backend reads them in one go instead of one read per message,
 * with the same rules as store_mailbox_msg_cache() (rows without the
 * model are parsed once and written back).
 * Calls cb(ctx, i, cache) once for each msns[i] (valid msns, any order),
 * not necessarily in order of i; *cache is valid during the call only,
 * and NULL for a message that was expunged meanwhile.  Returns 0, or -1
 * on an error other than an expunge (some calls may have been made). */
typedef void store_msg_cache_callback_t(void *ctx, size_t i,
					const struct store_msg_cache *cache);
int store_mailbox_msg_cache_many(struct store_mailbox *box, const uint32_t *msns,
				 size_t count, store_msg_cache_callback_t *cb, void *ctx);
/* Only the serialised SORT and THREAD keys of msn (syntax/msgkeys.h), what
 * SORT and THREAD read for every message: the same rules as
 * store_mailbox_msg_cache() (cached at delivery and copied with COPY and
 * MOVE; computed from the file once, and written back, for rows without
 * them or with keys of another version, see msgkeys_is_current()),
 * but reading nothing else from the index.  *data_r (size
 * *size_r) is valid until the next call on this mailbox.  -1 with
 * STORE_ERR_EXPUNGED if the message is gone. */
int store_mailbox_msg_keys(struct store_mailbox *box, uint32_t msn,
			   const void **data_r, size_t *size_r);
/* The keys of many messages at once, as SORT and THREAD over a whole
 * mailbox need them: the backend reads them in one go instead of one
 * read per message.
 * Calls cb(ctx, i, data, size) once for each msns[i] (valid msns, any
 * order), not necessarily in order of i; data is valid during the call
 * only, and NULL (size 0) for a message that was expunged meanwhile.
 * Returns 0, or -1 on an error other than an expunge (some calls may
 * have been made). */
typedef void store_msg_keys_callback_t(void *ctx, size_t i, const void *data,
				       size_t size);
int store_mailbox_msg_keys_many(struct store_mailbox *box, const uint32_t *msns,
				size_t count, store_msg_keys_callback_t *cb, void *ctx);
/* Only the sent dates of the keys (struct msgkeys' sent_date and
 * has_sent_date) of many messages, as SORT by DATE, ARRIVAL or SIZE
 * needs them: like store_mailbox_msg_keys_many() (keys computed and
 * written back where missing), but a backend that keeps the date apart
 * reads no key blob.  Calls cb(ctx, i, true, has_sent_date, sent_date)
 * once for each msns[i], or cb(ctx, i, false, false, 0) for a message
 * expunged meanwhile.  0, or -1 on an error other than an expunge (some
 * calls may have been made; damaged keys are an internal error). */
typedef void store_msg_date_callback_t(void *ctx, size_t i, bool exists,
				       bool has_sent_date, int64_t sent_date);
int store_mailbox_msg_dates_many(struct store_mailbox *box, const uint32_t *msns,
				 size_t count, store_msg_date_callback_t *cb, void *ctx);

/* The object data of a message (DESIGN.md "Object ids and previews"):
 * emailid is its EMAILID (RFC 8474 5.1; objectid syntax, the same for
 * every copy COPY or MOVE made of it), threadid its THREADID (RFC 8474
 * 5.2; NULL when the message has none yet: it is assigned once and
 * never changes, see below), savedate when it was saved into this
 * mailbox (RFC 8514 3: APPEND, COPY, MOVE, delivery; never changes
 * while it stays there), preview its RFC 8970 preview (valid UTF-8 of
 * at most 256 characters, "" when it has no text; NULL: see below). */
struct store_msg_ids {
	const char *emailid, *threadid;
	time_t savedate;
	const char *preview;
};
/* What store_mailbox_msg_ids_many() is asked for, besides EMAILID and
 * the save date, which every row has. */
enum store_msg_ids_want {
	STORE_IDS_THREADID = 1 << 0,	/* THREADID: assigned now if missing */
	STORE_IDS_PREVIEW = 1 << 1,	/* the preview: made now if missing */
	/* the preview if it is stored, else NULL (RFC 8970 4.1 PREVIEW
	 * (LAZY): nothing is read for it); with STORE_IDS_PREVIEW */
	STORE_IDS_PREVIEW_LAZY = 1 << 2,
};
/* The object data of many messages at once, as FETCH EMAILID, THREADID,
 * SAVEDATE and PREVIEW need it: read from the index in one go.  Where
 * the parse happens: the preview is made and stored at delivery with
 * the message model (store_mailbox_msg_cache()), the THREADID assigned
 * then from the SORT/THREAD keys.  A message that arrived without them
 * (as for store_mailbox_msg_cache()) is parsed once here when `want`
 * asks for what it lacks, and the result written back.  In *ids,
 * threadid is NULL unless `want` has STORE_IDS_THREADID, and preview
 * unless it has STORE_IDS_PREVIEW (NULL with STORE_IDS_PREVIEW_LAZY
 * when it is not stored).
 * Calls cb(ctx, i, ids) once for each msns[i] (valid msns, any order),
 * not necessarily in order of i; *ids is valid during the call only,
 * and NULL for a message that was expunged meanwhile.  Returns 0, or -1
 * on an error other than an expunge (some calls may have been made). */
typedef void store_msg_ids_callback_t(void *ctx, size_t i, const struct store_msg_ids *ids);
int store_mailbox_msg_ids_many(struct store_mailbox *box, const uint32_t *msns,
			       size_t count, unsigned int want,
			       store_msg_ids_callback_t *cb, void *ctx);
/* The UIDs of the mailbox's messages whose EMAILID (thread false) or
 * THREADID (thread true) is exactly `id` (case-sensitive, RFC 8474 7),
 * from the index: *uids_r ascending, xmalloc'd (NULL when none).  A
 * message without a THREADID yet matches no THREADID.  0 or -1. */
int store_mailbox_search_objectid(struct store_mailbox *box, bool thread, const char *id,
				  uint32_t **uids_r, size_t *count_r);
/* The UIDs of the mailbox's messages whose save date is at or after
 * `since` and before `before` (seconds since the epoch), from the index:
 * *uids_r ascending, xmalloc'd (NULL when none).  0 or -1. */
int store_mailbox_search_savedate(struct store_mailbox *box, int64_t since, int64_t before,
				  uint32_t **uids_r, size_t *count_r);

/* ---- text search (SEARCH HEADER, FROM, ..., BODY, TEXT) ---- */

/* The decoded text of message msn as SEARCH sees it: the header and
 * body documents of mime/text.h, prepared with i;unicode-casemap
 * (casemap_unicode(), base/casemap.h), so that a needle prepared the same
 * way is in the message's text exactly when it is a byte substring of
 * these (RFC 5051 preparation maps code point by code point).  The
 * header document holds one "NAME: value" line per field of the
 * message's own header; the body document the text parts and embedded
 * messages.  They replace the contents of *header and *body (the
 * caller's strings, reused across calls and freed by the caller;
 * NUL-terminated, and they may hold NUL bytes).  body NULL: the header
 * document only, which the backend's index may give without reading the
 * message.  Otherwise extracted from the message; when the backend's
 * index has no text for it yet (written into the store by another
 * program, an older or rebuilt index) the result is written back there.
 * -1 with STORE_ERR_EXPUNGED if the message is gone (the strings are
 * then empty). */
int store_mailbox_msg_text(struct store_mailbox *box, uint32_t msn,
			   struct str *header, struct str *body);

enum store_text_field {
	STORE_TEXT_HEADER,	/* the value of header field `name` */
	STORE_TEXT_BODY,	/* the body document */
	STORE_TEXT_ANY,		/* the header or the body document (TEXT) */
};

/* An inclusive range of UIDs, first <= last. */
struct store_uid_range {
	uint32_t first, last;
};

/* What store_mailbox_search_text() found.  The arrays are xmalloc'd
 * (NULL when empty), ascending; free with store_text_result_free(). */
struct store_text_result {
	/* UIDs of messages in the mailbox whose text contains the needle */
	uint32_t *uids;
	size_t count;
	/* Disjoint ranges holding every message of the view (from the
	 * first_uid asked for to last_uid) that the index does not answer
	 * for: its text is not there (not yet indexed, expunged meanwhile,
	 * unreadable there), or deciding needs text the index does not
	 * keep (the backend's index may keep no body text: a candidate to
	 * verify on its body).  For those the caller decides from
	 * store_mailbox_msg_text().  A range
	 * may also cover UIDs that are not in the view.  Every other
	 * message of the view in that stretch is answered by `uids`, so
	 * a search need not look at the messages that are in neither. */
	struct store_uid_range *unindexed;
	size_t unindexed_count;
	/* The answer is for the UIDs from the first_uid asked for up to
	 * last_uid (at most the max_uid asked for): a long pass over the
	 * stored text stops early, so that no call takes long (DESIGN.md:
	 * slices); ask again from last_uid + 1 for the rest.  UINT32_MAX
	 * when it covers the rest. */
	uint32_t last_uid;
	/* Asked for one part only, the answer would have come in parts:
	 * nothing else is filled (last_uid is 0). */
	bool declined;
};

/* Finds the messages of the mailbox whose `field` (for STORE_TEXT_HEADER
 * a field called `name`, ASCII case-insensitive; "" needle: the field
 * exists) contains needle (UTF-8, needle_len bytes) under
 * i;unicode-casemap, from the backend's index, without reading message
 * files.  The answer is exact for the messages of the view outside
 * result->unindexed: the same as matching the casemapped needle
 * against the documents of store_mailbox_msg_text().  Returns 0 with *result_r filled, or -1 on
 * error.  A needle the index cannot answer (invalid UTF-8, a NUL byte)
 * gives every message of the view in result->unindexed, so that the
 * caller matches store_mailbox_msg_text() itself.  Only UIDs from
 * first_uid to max_uid are looked at (a search restricted to some UIDs
 * verifies no candidate beyond them); see result->last_uid.  With
 * one_part, an answer that would come in parts or name many candidates
 * to read (a pass over more stored text than one call takes, more
 * candidates to verify than that) is not worked out: result->declined
 * says so, for a caller that would rather ask lazily.  The cost grows
 * with the hits and the number of runs of consecutive UIDs in the view;
 * the messages that do not match cost no more than a count of the
 * index's rows for each long run. */
int store_mailbox_search_text(struct store_mailbox *box, enum store_text_field field,
			      const char *name, const char *needle, size_t needle_len,
			      uint32_t first_uid, uint32_t max_uid, bool one_part,
			      struct store_text_result *result_r);
void store_text_result_free(struct store_text_result *result);

/* ---- change notification ---- */

/* Tells an event loop which watched mailboxes may have changed, by
 * whatever made the change: a session in any process, `roost deliver`,
 * the CLI, another program writing into the store.  One object serves
 * every session of a worker (a notification channel is a scarce
 * resource: an inotify instance, a database connection that LISTENs).
 * The caller polls store_notify_fd() and, when it is readable, calls
 * store_notify_read() to learn which watches saw a change.  A report may be spurious (the backend may watch more
 * than the mailbox, e.g. the whole user): the caller's next
 * store_mailbox_sync() then finds nothing new. */
struct store_notify;
struct store_notify_watch;

/* Creates the notification object of the backend that `set` chooses.
 * Returns 0 and *notify_r, or -1 with *error_r (static) when the
 * backend cannot notify now (a kernel or server limit): the caller then
 * polls with store_mailbox_sync() and may try again later. */
int store_notify_create(const struct store_settings *set, struct store_notify **notify_r,
			const char **error_r);
/* Destroys the object; every watch must have been removed.  Sets
 * *notify to NULL. */
void store_notify_destroy(struct store_notify **notify);
/* The descriptor that becomes readable when store_notify_read() has
 * something to report.  Owned by the object; valid until it is
 * destroyed. */
int store_notify_fd(struct store_notify *notify);
/* Starts watching `box` (of a store with the notification object's
 * backend); the watch's reports carry `cookie`.  The watch follows the
 * mailbox when another session renames it, and does not refer to `box`
 * after this call (it may outlive it).  Returns 0 and *watch_r, or -1
 * with *watch_r NULL when the mailbox's changes cannot be watched (a
 * kernel or server limit): the caller polls instead. */
int store_notify_add(struct store_notify *notify, struct store_mailbox *box, void *cookie,
		     struct store_notify_watch **watch_r);
/* Starts watching everything of `store`'s user (a store of the
 * notification object's backend): every mailbox's messages, the list of
 * mailboxes and the subscriptions, as changed through the store by any
 * process (IMAP sessions in any worker, LMTP, `roost deliver`, the CLI).
 * The report names no mailbox: the caller compares store_mailbox_states()
 * and store_mailbox_list() with what it saw before.  Mail that another
 * program drops into a mailbox that no store_notify_add() watch covers is
 * reported only with the next change made through the store.  One such
 * watch costs the backend the same whatever the number of mailboxes, and
 * the watches of one user share it.  Returns 0 and *watch_r, or -1 with
 * *watch_r NULL (a kernel or server limit): the caller polls instead. */
int store_notify_add_user(struct store_notify *notify, struct store *store, void *cookie,
			  struct store_notify_watch **watch_r);
/* Stops the watch: it is reported no more, not even for changes already
 * pending.  NULL is a no-op; sets *watch to NULL. */
void store_notify_remove(struct store_notify_watch **watch);
typedef void store_notify_callback_t(void *ctx, void *cookie);
/* Drains the descriptor without blocking and calls cb(ctx, cookie) once
 * for each watch that saw a change since the last call.  The callback may
 * remove any watch, itself included; a removed watch is not called. */
void store_notify_read(struct store_notify *notify, store_notify_callback_t *cb, void *ctx);

/* ---- appending ---- */

/* Starts appending one message to `mailbox_name`.  The message bytes are
 * then given with store_append_write() as they arrive (they go straight to
 * a file; nothing is held in memory).  STORE_ERR_NOTFOUND if the mailbox
 * does not exist (the protocol answers [TRYCREATE]). */
int store_append_begin(struct store *store, const char *mailbox_name,
		       struct store_append **ctx_r);
int store_append_write(struct store_append *ctx, const void *data, size_t size);
/* Finishes the message: stores it with the given flags, keywords (names,
 * created in the mailbox's table as needed) and internal date (0 = now;
 * tz in minutes east of UTC), durable before returning.  *uidvalidity_r
 * and *uid_r say where it went.  Frees ctx in all cases. */
int store_append_commit(struct store_append **ctx, uint32_t flags,
			const char *const *keywords, size_t keyword_count,
			time_t internaldate, int tz,
			uint32_t *uidvalidity_r, uint32_t *uid_r);
/* Abandons the message: nothing is stored.  Frees ctx. */
void store_append_abort(struct store_append **ctx);

/* Asks that the message of ctx get UID `uid` (> 0) instead of the next
 * one, for an import that keeps the source's UIDs: store_append_commit()
 * gives it when it is at or above the mailbox's UIDNEXT then (UIDNEXT
 * becomes uid + 1, so the UIDs in between are never used), else the next
 * UID as without this call; its *uid_r says which. */
void store_append_set_uid(struct store_append *ctx, uint32_t uid);

/* ---- bulk import (roost import) ---- */

/* Sets what an imported mailbox keeps of its source: a UIDVALIDITY
 * (non-zero) is taken only while the mailbox has no message and never
 * had one (UIDNEXT 1), else -1 with STORE_ERR_NOTPOSSIBLE and nothing
 * changed; UIDNEXT is raised to `uidnext` when that is higher (0 or a
 * lower one: unchanged), so no UID below it is handed out.  A session
 * that has the mailbox open sees the new UIDVALIDITY as a mailbox
 * deleted and created again.  STORE_ERR_NOTFOUND if there is no such
 * mailbox. */
int store_mailbox_set_uids(struct store *store, const char *name, uint32_t uidvalidity,
			   uint32_t uidnext);

/* Batched durability for work of many changes (an import): from
 * store_batch_begin() to store_batch_end() the changes of this store
 * are not made durable one by one (the header's "Durability" does not
 * hold for them; every other process still sees each change at once
 * and a crash of this process loses nothing written); store_batch_flush()
 * makes every change made since the begin durable with one sync, and
 * store_batch_end() does so and returns to durable changes.  Nested
 * begins are not allowed.  Returns 0, or -1 with the error set (the
 * batch mode stays as it was on a failed flush). */
int store_batch_begin(struct store *store);
int store_batch_flush(struct store *store);
int store_batch_end(struct store *store);

/* Tools' own state kept with the user's data (roost import's record of
 * what it imported): values by key, both opaque bytes (key_len > 0).
 * A rebuild of the index may lose them: a tool must stay correct
 * without them.  store_state_get() replaces *value with the value and
 * returns 0, or -1 with STORE_ERR_NOTFOUND when there is none.
 * store_state_set() sets the `count` keys to their values (NULL
 * deletes) in one durable change: all or, on -1, none. */
int store_state_get(struct store *store, const void *key, size_t key_len,
		    struct str *value);
struct store_state_item {
	const void *key, *value;
	size_t key_len, value_len;
};
int store_state_set(struct store *store, const struct store_state_item *items,
		    size_t count);

/* ---- one message for several mailboxes ---- */

/* A message written and parsed once, then appended to mailboxes of any
 * number of users: LMTP's single copy for a transaction with several
 * recipients.  The backend stores one copy of the bytes for all of them
 * where it can, and a copy per mailbox where it cannot.  The message
 * model is
 * parsed once, as the bytes are written, and every mailbox's index gets
 * it without reading the message again.  Because the bytes are shared,
 * they are the same for every mailbox: per-recipient headers cannot be
 * added to a shared message. */
struct store_message;

/* Starts a message for the backend of `set` (which keeps the spooled
 * bytes, unnamed, until the last mailbox has linked them).
 * Returns 0, or -1 with *error_r set to a static text (details are
 * logged). */
int store_message_begin(const struct store_settings *set, struct store_message **msg_r,
			const char **error_r);
/* Adds bytes (CRLF line ends, as for store_append_write()).  -1 with
 * *error_r on a write error; the message is then unusable. */
int store_message_write(struct store_message *msg, const void *data, size_t size,
			const char **error_r);
/* Ends the writing: the bytes are made durable and the parse completes.
 * `internaldate` (0 = now) becomes the internal date of every copy. */
int store_message_finish(struct store_message *msg, time_t internaldate,
			 const char **error_r);
/* Starts appending the finished `msg` to `mailbox_name` of `store`,
 * which may be any user's store.  Continue with store_append_commit()
 * (its internaldate 0 takes the message's) or store_append_abort();
 * store_append_write() is not allowed.  `msg` must outlive the append.
 * STORE_ERR_NOTFOUND if the mailbox does not exist. */
int store_append_begin_message(struct store *store, const char *mailbox_name,
			       struct store_message *msg, struct store_append **ctx_r);
/* Frees the message; copies already committed stay.  Sets *msg to NULL. */
void store_message_free(struct store_message **msg);

/* ---- Sieve scripts (RFC 5804's storage) ----
 *
 * A user's Sieve scripts are the user's data, like mail: they live beside
 * the mailboxes (never in the index, which a rebuild recreates), at most
 * one is active.  Names are UTF-8 of 1 to STORE_SIEVE_NAME_MAX octets
 * without the characters RFC 5804 1.6 prohibits (controls, U+2028,
 * U+2029) and without '/'.  The store checks nothing of the content: the
 * caller compiles it first. */

#define STORE_SIEVE_NAME_MAX 255

struct store_sieve_info {
	const char *name;
	bool active;
	uint64_t size;
};

/* Whether `name` is a valid script name (the rules above). */
bool store_sieve_name_is_valid(const char *name);
/* Lists the user's scripts sorted by name into *infos_r (one xmalloc
 * block, names inside it; the caller frees it).  Returns 0 or -1. */
int store_sieve_list(struct store *store, struct store_sieve_info **infos_r, size_t *count_r);
/* Appends the text of script `name` to *text_r.  With stamp_r, also a
 * value that changes whenever the script is replaced (a compiled-script
 * cache's key).  -1 with STORE_ERR_NOTFOUND if there is none. */
int store_sieve_get(struct store *store, const char *name, struct str *text_r,
		    uint64_t *stamp_r);
/* The active script's name into *name_r (store-lifetime, valid until the
 * next store_sieve_* call) or NULL when none is active.  Returns 0 or -1. */
int store_sieve_get_active(struct store *store, const char **name_r);
/* Stores script `name` (replacing one of that name, which stays active
 * if it was), durable before returning.  STORE_ERR_PARAMS for a bad
 * name. */
int store_sieve_put(struct store *store, const char *name, const void *text, size_t len);
/* Deletes script `name`: STORE_ERR_NOTFOUND, or STORE_ERR_INUSE while it
 * is active (RFC 5804 2.10: the active script cannot be deleted). */
int store_sieve_delete(struct store *store, const char *name);
/* Renames `old_name` to `new_name` (keeping it active if it was):
 * STORE_ERR_NOTFOUND, STORE_ERR_EXISTS. */
int store_sieve_rename(struct store *store, const char *old_name, const char *new_name);
/* Makes `name` the active script, or none with NULL (RFC 5804 2.8).
 * STORE_ERR_NOTFOUND if there is no such script. */
int store_sieve_activate(struct store *store, const char *name);

/* ---- Sieve tracking memory (RFC 5230 vacation, RFC 7352 duplicate) ----
 *
 * Opaque ids with an expiry, kept in the user's index (losing them in a
 * rebuild only means one more vacation reply). */

/* 1 if `id` is remembered and has not expired at `now`, 0 if not, -1 on
 * error. */
int store_sieve_track_seen(struct store *store, const void *id, size_t id_len, time_t now);
/* Remembers `id` until `expires` (replacing an earlier expiry); expired
 * ids are dropped now and then.  Returns 0 or -1. */
int store_sieve_track_mark(struct store *store, const void *id, size_t id_len,
			   time_t expires);

/* ---- maintenance ---- */

/* One disagreement between a mailbox's index and the messages it
 * lists, in words for an administrator. */
typedef void store_check_report_t(void *ctx, const char *problem);
/* Reports (through report) every disagreement between mailbox `name`'s
 * index and its stored messages: messages the index does not know,
 * index entries whose message is gone, UIDs carried by two messages,
 * messages whose recorded UID is not the index's, UIDs at or above
 * UIDNEXT, a transaction that died half-way, and recorded
 * UIDVALIDITY/UIDNEXT that disagree.  Changes nothing (opening the
 * mailbox afterwards adopts the unknown messages as new ones).  Returns the number reported, or -1 with the error set
 * (STORE_ERR_NOTFOUND if the mailbox does not exist). */
int store_mailbox_check(struct store *store, const char *name,
			store_check_report_t *report, void *ctx);

/* Rebuilds the user's index from the stored messages (roost check
 * --rebuild),
 * keeping UIDs, UIDVALIDITY, flags and keywords recorded beside the
 * messages; where the old index can still be read, each message keeps
 * the UID that index gave it and expunged UIDs stay expunged.  Refused
 * (-1, nothing changed) while any process has the store open (the lock
 * of store_open()).  The store must not be open elsewhere in this
 * process. */
int store_rebuild(const struct store_settings *set, const char *user,
		  const char **error_r);

/* ---- backup, restore and purge of a user's store ---- */

/* What store_backup() copied. */
struct store_backup_stats {
	uint64_t mailboxes, messages;
	uint64_t bytes;			/* the messages' sizes */
	uint64_t files_linked, files_copied;
	uint64_t bytes_copied;		/* of the files copied */
	/* rows whose message the store had lost (logged; the restored store
	 * drops them at its first open, as the live one would) */
	uint64_t files_missing;
	/* how long the backup waited for, and then held, the lock that
	 * makes every writer of the user wait */
	uint64_t lock_wait_usecs, lock_usecs;
};

/* Whether `user` has a store (without creating one, unlike
 * store_open()): 1 yes, 0 no, -1 on error (*error_r static). */
int store_exists(const struct store_settings *set, const char *user, const char **error_r);

/* Writes a consistent copy of the open store into the directory
 * dest_dir (created with its parents; it must not exist or be empty),
 * safe while other processes use the store: the copy holds exactly the
 * messages committed when it began, with their flags, keywords, UIDs,
 * modseqs and expunge tombstones, and the index matches the messages
 * (store_mailbox_check() finds nothing once restored), plus the
 * subscriptions and the Sieve scripts.  Every writer of the user waits
 * while the messages are recorded (stats_r->lock_usecs): message files
 * are hard-linked when dest_dir is on the store's file system, copied
 * otherwise.  Durable before returning (unless the settings turn fsync
 * off).  0 with *stats_r, or -1 with the store's error (dest_dir may
 * hold a partial copy). */
int store_backup(struct store *store, const char *dest_dir, struct store_backup_stats *stats_r);

/* What store_restore() did. */
struct store_restore_result {
	uint64_t messages;	/* message files restored */
	/* where the replaced store went (xmalloc'd; NULL when there was
	 * none): kept, never deleted */
	char *aside;
	/* failed because the user has a store and force was false */
	bool exists;
	/* failed because the store stayed in use */
	bool busy;
};

/* Makes the copy store_backup() wrote in src_dir the store of `user`.
 * A user with a store is refused (result_r->exists) unless `force`; then
 * the old store is moved aside (result_r->aside) in one step with the
 * new one taking its place, while no process has it open: waits up to
 * 10 s for the processes using it to let go (idle IMAP sessions do so
 * 2 s after their last command), then fails, changing nothing.  Sessions
 * of the user in other processes find their store replaced at their next
 * command or notification: it becomes defunct (store_is_defunct(): its
 * calls fail with "log in again") and new logins open the restored one.
 * Other users are not touched.  Returns 0, or -1 with *error_r
 * (xmalloc'd, the caller frees). */
int store_restore(const struct store_settings *set, const char *user, const char *src_dir,
		  bool force, struct store_restore_result *result_r, char **error_r);

/* Erases the store of `user`: every message, the index with its
 * full-text rows, the subscriptions and the Sieve scripts.  Waits up to
 * 10 s for the processes using it to let go, as store_restore() does;
 * their sessions then find it gone as after a restore.  Returns 1 when
 * erased, 0 when the user had no store, -1 with *error_r (xmalloc'd). */
int store_purge(const struct store_settings *set, const char *user, char **error_r);

#endif
