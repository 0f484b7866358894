/* search-update.h: the UPDATE contexts of CONTEXT=SEARCH and
 * CONTEXT=SORT (RFC 5267 4.3): a SEARCH or SORT (or their UID forms)
 * with RETURN (UPDATE) leaves its search program and result in the
 * session, and every later change of the selected mailbox that the
 * session learns through its syncs (session.c's replay of
 * store_mailbox_sync()) is told to the client as ESEARCH ADDTO and
 * REMOVEFROM data for that command's tag.  For SEARCH:
 *   - an expunged message of the result: REMOVEFROM (0 n), written before
 *     its EXPUNGE (RFC 5267 4.3.4: msns must still be valid);
 *   - new messages that match: one ADDTO (0 set) after the EXISTS (4.3.3);
 *   - a flag or keyword change that makes a message match or stop
 *     matching, for programs with flag or keyword keys: collected over
 *     one sync and written as one ESEARCH with ADDTO and/or REMOVEFROM
 *     at its end.
 * Only the changed or new messages are evaluated, against the stored
 * program.  SEARCH contexts use context position 0 (mailbox order,
 * allowed for SEARCH by 4.3.3 and 4.3.4).
 *
 * SORT and UID SORT contexts (CONTEXT=SORT) keep the result in sort
 * order with each message's sort keys (only the strings its criteria
 * compare, copied; the UID stands in for the msn as the last
 * criterion, which orders the same way).  A message that enters the
 * result is placed by a binary search (sort_msg_compare()) and told as
 * ADDTO (position value); one that leaves it as REMOVEFROM (position
 * value), its position found by a scan of the result.  Each change is
 * written at once, so every position counts from the result the
 * previous one left; the new messages of one EXISTS share one ADDTO
 * with a pair each.  The keys of a new message come from the store's
 * cached keys (store_mailbox_msg_keys()).
 *
 * The program is parsed again into the context's own pool.  Sequence-
 * number sets in it are fixed when the command is received (RFC 5267
 * 4.3: later changes of those msns give no notification): each msn range
 * becomes the UID range from the first message's UID to the last's,
 * which names the same messages now and no message that arrives later.
 * The result is kept as a seqset of UIDs.  OLDER and YOUNGER (RFC 5032)
 * are evaluated when a message changes or arrives, not as time passes
 * (RFC 5032 3 allows the delay).
 *
 * Limits: at most IMAP_SEARCH_UPDATE_MAX contexts per session (RFC 5267
 * 4.3.1: more is answered with NO [NOUPDATE "tag"], the search itself
 * still answered), and IMAP_SEARCH_UPDATE_SORT_MAX_BYTES of strings
 * copied into a sorted context; contexts end with CANCELUPDATE or when
 * the mailbox is no longer selected.
 *
 * This module never reads a message itself (src/search does), never
 * orders messages itself (search/sort.c does) and never parses a
 * command's return options (search-parse.c does). */
#ifndef ROOST_IMAP_SEARCH_UPDATE_H
#define ROOST_IMAP_SEARCH_UPDATE_H

#include "syntax/imap-parser.h"

struct imap_session;
struct seqset;
struct sort_criterion;
struct sort_msg;

/* Update contexts one session may hold. */
#define IMAP_SEARCH_UPDATE_MAX 8
/* Sort criteria of a sorted context (as many as SORT takes). */
#define IMAP_SEARCH_UPDATE_MAX_CRITERIA 32
/* Bytes of sort key strings a sorted context may copy from its initial
 * result: a SORT (SUBJECT) of a million messages would keep tens of
 * megabytes a context; past this the SORT is answered and its updates
 * refused (NO [NOUPDATE]).  Messages that enter later are not counted
 * against it (the mailbox's growth bounds them). */
#define IMAP_SEARCH_UPDATE_SORT_MAX_BYTES (16 * 1024 * 1024)

struct imap_search_update;

/* Whether `tag` is the tag of one of the session's contexts (RFC 5267
 * 4.3: a new UPDATE with that tag is BAD). */
bool imap_search_update_tag_in_use(const struct imap_session *s, const char *tag);
/* Whether the session holds IMAP_SEARCH_UPDATE_MAX contexts already. */
bool imap_search_update_is_full(const struct imap_session *s);

/* A new context, not yet active, for the searching command `tag` (UID
 * SEARCH or UID SORT when `uid`) on the selected mailbox, whose program
 * is `args` with `charset` and `saved_uids` ("$") as
 * imap_search_parse_program() takes them (charset NULL for SEARCH,
 * SORT's charset argument for SORT), parsed again here into the
 * context's pool.  NULL if it does not parse (the caller parsed the
 * same arguments already, so only a bug gets there).  Free with
 * imap_search_update_destroy() unless started. */
struct imap_search_update *imap_search_update_create(struct imap_session *s,
						     const char *tag, bool uid,
						     const struct imap_arg *args,
						     const char *charset,
						     const struct seqset *saved_uids);
/* SEARCH: adds a message (by UID) to the context's initial result. */
void imap_search_update_add_result(struct imap_search_update *u, uint32_t uid);
/* SORT: makes the context a sorted one, with these criteria (at most
 * IMAP_SEARCH_UPDATE_MAX_CRITERIA; copied), and then appends each
 * message of the sorted initial result in order (strings copied);
 * false, with nothing added, once IMAP_SEARCH_UPDATE_SORT_MAX_BYTES
 * would be passed (the caller destroys the context). */
void imap_search_update_set_sort(struct imap_search_update *u,
				 const struct sort_criterion *crit, size_t crit_count);
bool imap_search_update_add_sorted(struct imap_search_update *u, const struct sort_msg *msg);
/* Makes *u one of the session's contexts, owned by it from now on
 * (*u = NULL): the messages of the view so far are in its result as
 * given, the later ones are new to it. */
void imap_search_update_start(struct imap_session *s, struct imap_search_update **u);
void imap_search_update_destroy(struct imap_search_update **u);

/* CANCELUPDATE of one tag: ends that context.  false if there is none. */
bool imap_search_update_cancel(struct imap_session *s, const char *tag);
/* Ends every context (the mailbox is no longer selected, or the session
 * ends). */
void imap_search_update_clear(struct imap_session *s);

/* The sync replay's hooks, in the order of store_sync_callbacks.  A
 * replay calls _expunge() before writing each EXPUNGE, _exists() after
 * writing EXISTS, _flags() for each flag change (own or not), and _end()
 * once at its end; they write the ESEARCH responses.  The view is the
 * synced one throughout. */
void imap_search_update_expunge(struct imap_session *s, uint32_t msn, uint32_t uid);
void imap_search_update_exists(struct imap_session *s);
void imap_search_update_flags(struct imap_session *s, uint32_t msn);
void imap_search_update_end(struct imap_session *s);

#endif
