/* notify.h: a session's NOTIFY request (RFC 5465) and the pushes it asks
 * for, between commands and during IDLE.
 *
 * The store reports that something of the user changed (a user watch,
 * store_notify_add_user()), never what: this module keeps the list of
 * mailboxes with their counters (store_mailbox_states()) and the
 * subscriptions as they were, compares them with the store's, and asks
 * the store for STATUS only of the mailboxes whose counters moved.  The
 * selected mailbox's changes go through the session's sync
 * (imap_session_sync_request()), so EXPUNGE or its successors are written
 * by the one path that writes them.  A push runs like a command: input
 * waits until it has finished, and a FETCH of new messages runs in
 * slices.  It never touches files or SQL. */
#ifndef ROOST_IMAP_NOTIFY_H
#define ROOST_IMAP_NOTIFY_H

#include "session.h"
#include "notify-parse.h"

/* A client that leaves this much output unread gets
 * "* OK [NOTIFICATIONOVERFLOW]" and no more notifications (RFC 5465 5.8):
 * what is queued for it stays bounded. */
#define IMAP_NOTIFY_OVERFLOW_BYTES (1024 * 1024)

/* Replaces the session's NOTIFY request with `spec` (allocated from
 * `pool`, whose ownership passes here; both NULL for NOTIFY NONE).  The
 * names of spec's groups are in the store's form and sorted (strcmp).
 * Reads the mailbox list and subscriptions as they are now: later
 * changes are reported against them.  Called by the NOTIFY command,
 * which may call the store directly.  Returns 0, or -1 with the store's
 * error (the previous request is then gone: NOTIFY NONE). */
int imap_notify_set(struct imap_session *s, struct imap_notify_spec *spec, struct pool *pool);

/* NOTIFY SET STATUS (RFC 5465 3.1): writes a STATUS response for each
 * mailbox other than the selected one that the request asks message
 * events of, from *pos on (0 at first), until `deadline`
 * (imap_cmd_slice_deadline()) or the command's output is full.  Returns
 * 1 when every one was written, 0 when the command must resume later
 * (at *pos), -1 on a store error. */
int imap_notify_write_status(struct imap_cmd *cmd, size_t *pos, uint64_t deadline);

/* Frees the session's NOTIFY state (the session goes away).  Sets
 * s->notify to NULL. */
void imap_notify_free(struct imap_session *s);

/* Something may need pushing (a watch fired, a command ended, IDLE
 * started): starts a push if the session may write one now and has
 * something to push, else leaves it for later. */
void imap_notify_kick(struct imap_session *s);
/* True when the FETCH of a flag change in the selected mailbox must
 * carry UID (RFC 5465 5.1: "MUST include UID and FLAGS"): NOTIFY asked
 * for FlagChange of the selected mailbox. */
bool imap_notify_flags_need_uid(const struct imap_session *s);
/* The session's own command changed the mailbox list or the
 * subscriptions (CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE): takes
 * them in now without LIST responses (RFC 5465 5: "The server SHOULD
 * omit notifying the client if the event is caused by this client"),
 * while STATUS responses for other changes are still written.  Called
 * by a command, which may call the store directly; a store error is
 * logged and the next compare reports the change instead. */
void imap_notify_own_change(struct imap_session *s);
/* True while a push runs: no command may start (input waits). */
bool imap_notify_is_busy(const struct imap_session *s);
/* Goes on with a push paused for output or at a slice's end.  True if
 * a push was running (the caller must do nothing else now). */
bool imap_notify_resume(struct imap_session *s);

#endif
