/* search-result.h: the search result variable of SEARCHRES (RFC 5182,
 * RFC 9051 6.4.4.1) and the one place where a command's sequence set is
 * parsed with "$" resolved.
 *
 * The variable is a seqset of UIDs held in the session (struct
 * imap_session.search_result).  UIDs, not msns, so it needs no adjusting
 * when messages are expunged: an expunged UID names no message of the
 * view any more and resolves to nothing, which is what RFC 5182 2.1's
 * "automatically removed from the list" asks, and UIDs are never reused
 * within a UIDVALIDITY.  It is emptied on every change of the selected
 * mailbox (imap_session_select/unselect), so a UID never outlives its
 * mailbox.
 *
 * Pipelining (RFC 9051 6.4.4.2, RFC 5182 2.3: a command using "$" sent
 * behind a SEARCH RETURN (SAVE) must see that search's result): the
 * session runs its commands strictly one after another.  session.c
 * parses and dispatches the next command only when the running one has
 * sent its tagged reply (s->cmd is NULL again), and a search that runs in
 * slices pauses the connection's input meanwhile, so "$" is always read
 * after every earlier command has set it.
 *
 * This module never reads or searches messages. */
#ifndef ROOST_IMAP_SEARCH_RESULT_H
#define ROOST_IMAP_SEARCH_RESULT_H

#include "base/base.h"

struct imap_session;
struct seqset;
struct store_mailbox;

/* Replaces the session's search result variable with a copy of `uids`
 * (a set of UIDs of the selected mailbox; the caller keeps `uids`). */
void imap_search_result_save(struct imap_session *s, const struct seqset *uids);
/* Sets the variable to the empty sequence (SELECT, EXAMINE, CLOSE,
 * UNSELECT, a SEARCH RETURN (SAVE) that answered NO). */
void imap_search_result_clear(struct imap_session *s);

/* Parses `str`, the sequence-set argument of a command on `box`, into
 * `set` (initialized by the caller, replaced; the caller deinits it):
 *   sequence-set =/ seq-last-command ; "$" (RFC 5182 section 3)
 * When `uid` the set holds UIDs, with "*" the highest UID of the view;
 * otherwise msns, with "*" the message count.  "$" stands for
 * `saved_uids` (NULL is the empty sequence): as UIDs, all of them; as
 * msns, those of the view's messages whose UID is saved (an empty result
 * is valid and names no message).  `box` may be NULL (an empty mailbox).
 * Returns 0, or -1 on a syntax error with the set empty and its memory
 * freed (seqset_deinit()).  Msns past the
 * count are not checked here: commands decide what that means. */
int imap_search_result_parse_set(struct store_mailbox *box,
				 const struct seqset *saved_uids, const char *str,
				 bool uid, struct seqset *set);

#endif
