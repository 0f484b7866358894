/* session.h: one IMAP connection: its state, the running command, and the
 * helpers command handlers use to answer.
 *
 * Handlers live in cmd-*.c, one file per command family, all with the
 * signature of `imap_command_func`.  They reach mail only through
 * store/store.h and the client only through the functions below.
 *
 * Error texts, the one convention of src/imap: a function that finds a
 * client error returns it as `const char **error_r`, the text of the
 * BAD or NO reply after the tag and status (it may begin with a response
 * code, "[LIMIT] ..."), and the caller answers with
 * imap_cmd_bad(cmd, "%s", error) or imap_cmd_no().  The text is never
 * freed by the caller: a string literal, or, when it must quote what the
 * client sent ("Unknown search key FOO."), allocated in the pool the
 * function was handed, which is the command's pool (cmd->pool) and
 * outlives the reply.  Never malloc'd memory or a static buffer that
 * the next call overwrites.  System errors (the store, the disk) are not
 * client texts: they are logged once where they are found and the client
 * gets imap_cmd_store_error()'s response code. */
#ifndef ROOST_IMAP_SESSION_H
#define ROOST_IMAP_SESSION_H

#include "base/base.h"
#include "base/str.h"
#include "base/pool.h"
#include "syntax/seqset.h"

struct net_conn;
struct store_notify_watch;
struct net_timer;
struct roost_config;
struct imap_parser;
struct imap_arg;
struct store;
struct store_mailbox;
struct auth_request;
struct sasl_exchange;

enum imap_state {
	IMAP_STATE_NOT_AUTH = 1 << 0,
	IMAP_STATE_AUTH = 1 << 1,
	IMAP_STATE_SELECTED = 1 << 2,
	IMAP_STATE_LOGOUT = 1 << 3,
};
#define IMAP_STATE_ANY (IMAP_STATE_NOT_AUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define IMAP_STATE_AUTHED (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

/* Where a store notification watch of the session reports (session.c
 * owns the worker's one store_notify object): changed(target) runs on
 * the loop when the watched data may have changed. */
struct imap_watch_target {
	void (*changed)(struct imap_watch_target *target);
};

struct imap_notify;
struct imap_cmd;
/* A command handler.  Returns true when the command is finished (a tagged
 * reply was sent), false when it continues later: it then sets
 * cmd->resume, which runs again when output has drained, or finishes by
 * calling imap_cmd_finish() from a callback (LOGIN's password check). */
typedef bool imap_command_func(struct imap_cmd *cmd);

enum imap_command_flags {
	/* Uses message sequence numbers: RFC 9051 7.5.1 forbids sending
	 * EXPUNGE while it runs (FETCH, STORE, SEARCH but not their UID
	 * forms), so pending expunges wait. */
	IMAP_CMD_FLAG_NO_EXPUNGES = 1 << 0,
	/* Takes the raw input after the command line (IDLE, AUTHENTICATE). */
	IMAP_CMD_FLAG_RAW_INPUT = 1 << 1,
	/* Has a UID form, "UID <name> ...", with UIDs for sequence numbers
	 * (RFC 9051 6.4.9; UID EXPUNGE from UIDPLUS, UID MOVE from MOVE,
	 * UID SORT and UID THREAD from RFC 5256). */
	IMAP_CMD_FLAG_UID = 1 << 2,
	/* Takes message sequence numbers unless in its UID form (a
	 * sequence set, or a search program that may hold one): refused
	 * with BAD [UIDREQUIRED] once UIDONLY is on (RFC 9586 3.2, 3.8). */
	IMAP_CMD_FLAG_MSNS = 1 << 3,
	/* Changes the store (a message, a flag, a mailbox, a
	 * subscription): refused with NO [NOPERM] in a read-only session
	 * (ANONYMOUS, imap_session.read_only). */
	IMAP_CMD_FLAG_WRITES = 1 << 4,
};

/* When a capability is advertised (capability.c): the command table's
 * entries and the capabilities that are not commands use the same
 * conditions. */
enum imap_capability_when {
	IMAP_CAP_ALWAYS = 0,
	/* before authentication only (SASL-IR) */
	IMAP_CAP_NOT_AUTH,
	/* after authentication only */
	IMAP_CAP_AUTHED,
	/* before authentication on a connection without TLS that can start
	 * it (STARTTLS) */
	IMAP_CAP_TLS_OFFERED,
	/* before authentication when plaintext authentication is refused
	 * (LOGINDISABLED) */
	IMAP_CAP_PLAINTEXT_REFUSED,
};

struct imap_command_def {
	const char *name;
	imap_command_func *func;
	unsigned int states;	/* enum imap_state bits where it is allowed */
	unsigned int flags;	/* enum imap_command_flags */
	/* The capability that advertises the command, or several separated
	 * by spaces ("THREAD=ORDEREDSUBJECT THREAD=REFERENCES"), advertised
	 * as `cap_when` says; NULL for a command of IMAP4rev1 and IMAP4rev2
	 * themselves.  The CAPABILITY list is built from this field, so a
	 * command and its capability never part. */
	const char *capability;
	enum imap_capability_when cap_when;
};

/* Finds a command by name (case-insensitive); for "UID FETCH" etc. the
 * dispatcher looks up "FETCH" and checks IMAP_CMD_FLAG_UID.  NULL if
 * unknown.  Static storage. */
const struct imap_command_def *imap_command_find(const char *name);
/* The command table, *count_r entries sorted by name; static storage. */
const struct imap_command_def *imap_command_table(size_t *count_r);

struct imap_cmd {
	struct imap_session *session;
	const struct imap_command_def *def;
	struct pool *pool;	/* cleared when the command finishes */
	const char *tag;
	const char *name;	/* as the client spelt it, e.g. "fetch" */
	const struct imap_arg *args;	/* ends with an EOL entry (imap_arg_is_eol()) */
	bool uid;		/* UID FETCH/STORE/COPY/MOVE/SEARCH/EXPUNGE */
	bool (*resume)(struct imap_cmd *cmd);	/* see imap_command_func */
	void (*raw_line)(struct imap_cmd *cmd, const char *line);	/* RAW_INPUT */
	void (*abort)(struct imap_cmd *cmd);	/* connection lost while running */
	void *ctx;		/* the handler's own state */
};

struct imap_session {
	struct net_conn *conn;
	const struct roost_config *config;
	struct imap_parser *parser;
	enum imap_state state;
	uint64_t id_seq;

	char *user;			/* after authentication */
	struct store *store;
	struct store_mailbox *box;	/* in SELECTED state */
	/* reports changes to the selected mailbox; NULL: IDLE polls */
	struct store_notify_watch *watch;
	struct imap_watch_target watch_target;	/* s->watch's */
	/* after the first NOTIFY (notify.h); NULL before */
	struct imap_notify *notify;

	struct imap_cmd *cmd;		/* the running command, if any */
	/* store requests (imap_session_store_request) not done yet: the
	 * session is freed only after the last one */
	unsigned int store_requests;
	bool store_wait;		/* waiting for the store's turn to go on */
	bool reply_pending;		/* the tagged reply waits for its sync */
	bool finish_pending;		/* ...and the command has finished */
	bool box_changed;		/* a watch fired since the last sync */
	bool idle_sync_running;		/* an IDLE sync request runs */
	bool destroy_pending;		/* closed; freed after store_requests */
	struct net_timer *release_timer;	/* armed: give the index back soon */
	struct net_timer *slice_timer;	/* armed: the running command's next slice */
	unsigned int bad_count;		/* BAD in a row */
	unsigned int auth_failures;
	bool logout_sent;		/* BYE queued: ignore further input */
	bool closing;
	bool shutting_down;		/* SIGTERM: stop after the running command */
	bool input_busy;		/* re-entrancy guard for input handling */
	bool tls_pending;		/* STARTTLS accepted: no input until TLS is up */
	/* logged in read-only (ANONYMOUS): SELECT is EXAMINE and every
	 * command that would change the store answers NO */
	bool read_only;
	bool idling;			/* in IDLE: push mailbox changes at once */
	bool utf8_accept;		/* ENABLE UTF8=ACCEPT */
	bool rev2;			/* ENABLE IMAP4rev2 */
	/* RFC 7162: a CONDSTORE enabling command ran (untagged FETCH
	 * responses carry MODSEQ and, with QRESYNC, UID); QRESYNC: ENABLE
	 * QRESYNC (VANISHED instead of EXPUNGE, SELECT's QRESYNC
	 * parameter, UID FETCH's VANISHED modifier) */
	bool condstore;
	bool qresync;
	/* RFC 9586: ENABLE UIDONLY (no message sequence numbers either
	 * way: UIDFETCH and VANISHED responses, BAD [UIDREQUIRED]) */
	bool uidonly;
	char *log_prefix;		/* "imap(user,ip,id)" */
	/* SEARCHRES "$": UIDs of the selected mailbox (search-result.h) */
	struct seqset search_result;
	/* CONTEXT=SEARCH and CONTEXT=SORT update contexts (search-update.h) */
	struct imap_search_update *search_updates;

	/* counters for the logout line */
	uint64_t cmd_count, fetch_count, expunge_count, append_count;
};

/* ---- answering ---- */

/* Writes "* " + formatted text + CRLF. */
void imap_session_untagged(struct imap_session *s, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Writes raw bytes (a prepared response line or literal data). */
void imap_session_write(struct imap_session *s, const void *data, size_t size);
/* Writes a complete response held in `str` (without CRLF; added here). */
void imap_session_write_line(struct imap_session *s, const struct str *line);

/* Finishes the command with "tag OK|NO|BAD text": first sends the pending
 * mailbox updates the command allows, then the tagged line; then the
 * command's pool is cleared and input processing continues.  In the
 * selected state the updates come from a sync request: with a store
 * whose requests run off the loop the tagged line is written when it
 * has finished, and nothing may be written after these calls.  `text` may
 * start with a response code "[...]".  Returns true so handlers can
 * `return imap_cmd_ok(cmd, "...")`. */
bool imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...) ATTR_PRINTF(2, 3);
bool imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...) ATTR_PRINTF(2, 3);
bool imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* NO for the store's last error, with the RFC 5530 response code that
 * matches its class ([TRYCREATE] when `trycreate` and the mailbox is
 * missing). */
bool imap_cmd_store_error(struct imap_cmd *cmd, bool trycreate);
/* For a command that returned false: it has now sent its tagged reply
 * (through imap_cmd_ok/no/bad) and input processing may go on. */
void imap_cmd_finish(struct imap_cmd *cmd);

/* ---- long commands ----
 *
 * DESIGN.md: work that can take long is done in slices, so one heavy
 * client never stalls the other sessions of its worker.  A command that
 * may run long sets cmd->resume, returns false, and does its work in a
 * loop that asks imap_cmd_slice_end() before each unit of work; when
 * that says stop, it returns false and cmd->resume runs again later.
 * Meanwhile input is paused (the next pipelined command waits) and no
 * untagged update is sent (only the tagged reply syncs).  A connection
 * that fails meanwhile (a write error, or a reset by the client, which
 * the paused connection still notices: net_conn_input_pause()) calls
 * cmd->abort and the command is abandoned (a COPY is undone).  A client
 * that only closes its sending side (EOF) may still read: the command
 * finishes, and its answer and those of the commands pipelined before
 * the EOF are sent before the server closes. */

/* Work one slice for this long before giving the other sessions a turn. */
#define IMAP_SLICE_MSECS 20
/* The end of a slice that starts now (time_monotonic_ms()). */
uint64_t imap_cmd_slice_deadline(void);
/* True if the running command must stop now and return false: its
 * output is above the high-water mark (cmd->resume runs when it has
 * drained), or `deadline` has passed (cmd->resume runs from a timer once
 * the loop has served the other connections).  Commands without output
 * rely on the second. */
bool imap_cmd_slice_end(struct imap_cmd *cmd, uint64_t deadline);

/* ---- store requests ----
 *
 * DESIGN.md: a store backend may wait on the network, and the worker's
 * loop must not wait with it.  A command whose store calls may be slow
 * splits them (store/request.h): `work` makes the store calls on
 * s->store and its mailboxes and keeps the results in its context,
 * touching no session or connection state (it may allocate from the
 * command's pool, which nothing else uses meanwhile); `done` writes the
 * responses on the loop.  With the Maildir store both run at once, on
 * the loop.  Store calls that commands make directly, outside a request,
 * are safe too: the session dispatches a command, or resumes one that
 * runs in slices, only when no request of another session of the same
 * store is running (it waits for the store's turn). */

/* Runs a store request for the session: work(ctx) (NULL: none, only a
 * turn), then done(ctx) on the loop.  A session that goes away meanwhile
 * is freed after done; done then writes nothing (writes are dropped). */
void imap_session_store_request(struct imap_session *s, void (*work)(void *ctx),
				void (*done)(void *ctx), void *ctx);

/* imapsieve (RFC 6785 2.2): after a command changed `mailbox` (APPEND,
 * COPY/MOVE from `from`, or FLAG with `changed_flags`) for messages
 * `uids`, hands the event to sieve_run_imap_event_queue() (sieve/run.h)
 * with the session's user and store: scripts configured for it run off
 * the loop after the command's reply; nothing happens when none is
 * configured.  Call it after the tagged reply was made. */
void imap_session_imapsieve(struct imap_session *s, const char *mailbox, const char *from,
			    const char *cause, const uint32_t *uids, size_t count,
			    const char *changed_flags);
/* Whether an imapsieve rule has `cause` for `mailbox` (a quick check of
 * the config: gather the event's data only then). */
bool imap_session_imapsieve_wanted(struct imap_session *s, const char *mailbox,
				   const char *cause);
/* Runs the store part of a command as a request: work(cmd->ctx), then
 * done(cmd) on the loop, which answers like a handler (imap_command_func:
 * true when the tagged reply was sent).  Returns what the handler
 * returns: true if done has run already and returned true, false when
 * the command finishes later (after done, which the session then
 * finishes as imap_cmd_finish() would). */
bool imap_cmd_store_request(struct imap_cmd *cmd, void (*work)(void *ctx),
			    imap_command_func *done);

/* Brings the selected mailbox's view up to date as a store request and
 * writes the untagged EXPUNGE/EXISTS/RECENT/FETCH responses (expunges
 * are held back when `allow_expunges` is false); then calls then(ctx)
 * on the loop (NULL: nothing).  With no mailbox selected, then runs at
 * once. */
void imap_session_sync_request(struct imap_session *s, bool allow_expunges,
			       void (*then)(void *ctx), void *ctx);
/* IDLE: sends the selected mailbox's changes now (RFC 2177).  One such
 * sync runs at a time; a change noticed while it runs is sent by another
 * right after it. */
void imap_session_idle_sync(struct imap_session *s);
/* Brings the view up to date directly (for a command that calls the
 * store itself: FETCH, STORE) and writes the updates, without expunges,
 * except that flag changes of the msns set in `skip` are not reported:
 * the running command has already sent them or will (FETCH's implicit
 * \Seen, STORE), or must not (STORE .SILENT).
 * With `own_only`, only the changes that are nothing but this session's
 * own update of the flags it knew are left out, and a change another
 * session made to those messages is still reported (a command that does
 * not answer with the final flags afterwards: STORE .SILENT, FETCH).
 * `skip` is a bitmap of skip_count bits, msn's bit at msn - 1 (see
 * imap_session_bitmap_has_msn()); it is only read, during the call.  No
 * expunges are reported, so its msns stay valid throughout. */
void imap_session_sync_skipping(struct imap_session *s, const uint8_t *skip,
				uint32_t skip_count, bool own_only);

/* True if msn's bit (msn - 1) is set in `bitmap`, a bitmap of `count`
 * bits; false for msn 0, for msns past count and for a NULL bitmap. */
bool imap_session_bitmap_has_msn(const uint8_t *bitmap, uint32_t count,
				 uint32_t msn);
/* Sets msn's bit (msn - 1) in `bitmap`; msn must be 1 or more and within
 * the bitmap's size. */
void imap_session_bitmap_add_msn(uint8_t *bitmap, uint32_t msn);

/* The lowest msn of box whose UID is >= uid (count + 1 if none): a
 * binary search, the view being in UID order. */
uint32_t imap_session_msn_lower_bound(struct store_mailbox *box, uint32_t uid);

/* Resolves the sequence set `str` of a command on the selected mailbox
 * (msns, or UIDs when `uid`) into the msns it names, added to `msns`
 * (which the caller initialized and deinits; it comes out sorted and
 * merged, as a seqset is).  "$" is the saved search result (SEARCHRES,
 * search-result.h).  UIDs that no message has are left out; an msn
 * past the last message is an error.  Returns 0, or -1 with *error_r set
 * to the text of a BAD reply (static) and `msns` left empty. */
int imap_session_parse_msns(struct imap_session *s, bool uid, const char *str,
			    struct seqset *msns, const char **error_r);

/* Starts watching everything of the session's store (store_notify_add_user())
 * with reports to `target`.  Returns 0 and *watch_r (to remove with
 * store_notify_remove()), or -1 with *watch_r NULL when the store cannot
 * notify now. */
int imap_session_watch_user(struct imap_session *s, struct imap_watch_target *target,
			    struct store_notify_watch **watch_r);
/* Goes on reading commands after something that paused input between
 * commands (a NOTIFY push) has finished; a no-op while a command runs
 * that does not read raw lines. */
void imap_session_input_resume(struct imap_session *s);

/* Turns CONDSTORE on for the session after a CONDSTORE enabling command
 * (RFC 7162 3.1): when it was off and a mailbox is selected, sends the
 * mailbox's HIGHESTMODSEQ as the RFC asks of the first one. */
void imap_session_enable_condstore(struct imap_session *s);

/* Starts a FETCH response for the message msn with UID uid in `line`:
 * "* msn FETCH (", or under UIDONLY "* uid UIDFETCH (" (RFC 9586 3.3).
 * Returns whether the UID is already said (UIDONLY), so the caller
 * adds the UID item only when the client asked for it. */
bool imap_session_fetch_begin(struct imap_session *s, struct str *line,
			      uint32_t msn, uint32_t uid);

/* Writes the UIDs of `uids` as "* VANISHED [(EARLIER)] uid-set"
 * responses (several when the set is long, each line at most about
 * 8 KB); nothing for an empty set.  The one place that writes VANISHED
 * (RFC 7162 3.2.10). */
void imap_session_write_vanished(struct imap_session *s, bool earlier,
				 const struct seqset *uids);

/* Leaves the selected state (CLOSE, UNSELECT, SELECT of another). */
void imap_session_unselect(struct imap_session *s);
/* Enters SELECTED for an opened mailbox (takes ownership) and watches it. */
void imap_session_select(struct imap_session *s, struct store_mailbox *box);

/* Becomes authenticated as `user` (opens the store), read-only for an
 * ANONYMOUS login (see imap_session.read_only).  Returns 0, or -1
 * when the store cannot be opened: the reason is logged here (a system
 * error, not for the client) and the caller answers NO [UNAVAILABLE]. */
int imap_session_login(struct imap_session *s, const char *user, bool read_only);

/* Sends "* BYE text" and closes after flushing. */
void imap_session_bye(struct imap_session *s, const char *text);

/* Mailbox names between the client's form (modified UTF-7, or UTF-8 after
 * ENABLE UTF8=ACCEPT) and the store's UTF-8.  Return NULL on an invalid
 * name; results live in `pool`. */
const char *imap_mailbox_from_client(struct imap_session *s, struct pool *pool,
				     const char *name);
const char *imap_mailbox_to_client(struct imap_session *s, struct pool *pool,
				   const char *name);

extern const struct net_protocol imap_protocol;

#endif
