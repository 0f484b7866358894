/* sort-collect.h: the first half of SORT and THREAD: run the search
 * program over the selected mailbox and gather the cached SORT/THREAD
 * keys (syntax/msgkeys.h) of the messages that match.
 *
 * Like SEARCH, the work is done in slices of IMAP_SLICE_MSECS
 * (session.h): the first slice runs inside the command handler, the rest
 * from cmd->resume, so a large mailbox (or messages whose keys must be computed
 * from their files once) never stalls the worker's other sessions.  The
 * keys come only from store_mailbox_msg_keys_many(), asked for up to
 * SORT_COLLECT_BATCH matches at a time: no message file is read once
 * they are cached.  Memory: a few integers per match (the sent date
 * among them) plus, when the caller needs strings, one copy of the
 * matching messages' key blobs (THREAD) or of their six SORT strings in
 * a single buffer; no allocation per message. */
#ifndef ROOST_IMAP_SORT_COLLECT_H
#define ROOST_IMAP_SORT_COLLECT_H

#include "syntax/imap-parser.h"
#include "session.h"
#include "syntax/msgkeys.h"
#include "search/search.h"

struct imap_sort_collect;

/* Called once every matching message's keys are in: writes the untagged
 * result and the tagged reply (returns what imap_cmd_ok() returned).
 * `coll` is still valid during the call and destroyed right after. */
typedef bool imap_sort_collect_done_t(struct imap_cmd *cmd,
				      struct imap_sort_collect *coll);

/* What the collector keeps of each match's keys. */
enum imap_sort_collect_keep {
	/* only the sent date (imap_sort_collect_sent_date()), read without
	 * the key blobs (store_mailbox_msg_dates_many()): a SORT whose
	 * criteria have no string; imap_sort_collect_keys() may not be
	 * called */
	IMAP_SORT_COLLECT_DATES,
	/* and the strings SORT compares: imap_sort_collect_keys() fills
	 * from, to, cc, displayfrom, displayto and base_subject (the msg-ids
	 * are "" and there are no references) */
	IMAP_SORT_COLLECT_SORT_STRINGS,
	/* the whole keys (THREAD) */
	IMAP_SORT_COLLECT_ALL,
};

/* Starts collecting for `cmd` (SORT or THREAD, with the selected
 * mailbox) over `program` (in cmd->pool), keeping `keep` of the keys.  Returns true when the command
 * is finished (done() ran, or a store error was answered), false when it
 * continues from a timer (the handler returns false too; the collector
 * calls imap_cmd_finish() at the end and sets cmd->abort for a lost
 * connection). */
bool imap_sort_collect_start(struct imap_cmd *cmd, struct search_key *program,
			     enum imap_sort_collect_keep keep, imap_sort_collect_done_t *done,
			     void *context);

/* The caller's context given to imap_sort_collect_start(). */
void *imap_sort_collect_context(struct imap_sort_collect *coll);
/* Number of matching messages (in ascending msn order). */
size_t imap_sort_collect_count(const struct imap_sort_collect *coll);
/* The msn of match i (0 <= i < count). */
uint32_t imap_sort_collect_msn(const struct imap_sort_collect *coll, size_t i);
/* The sent date of match i as msgkeys has it (sent_date and, in
 * *has_sent_date_r, has_sent_date). */
int64_t imap_sort_collect_sent_date(const struct imap_sort_collect *coll, size_t i,
				    bool *has_sent_date_r);
/* Fills *keys_r with the keys of match i (what `keep` kept, not with
 * IMAP_SORT_COLLECT_DATES); its strings point into the
 * collector and stay valid until done() returns.  (The blobs were
 * checked while collecting, so this cannot fail.) */
void imap_sort_collect_keys(const struct imap_sort_collect *coll, size_t i,
			    struct msgkeys *keys_r);
/* Whether messages expunged by another session were left out (their
 * files or rows were gone); the reply then says [EXPUNGEISSUED]. */
bool imap_sort_collect_had_expunged(const struct imap_sort_collect *coll);

/* The arguments of SORT and THREAD from their charset on (RFC 5256
 * section 5: search-criteria = charset 1*(SP search-key), charset = atom
 * / quoted) as a search program in cmd's pool.  NULL when the command has
 * already been answered: BAD for a syntax error (`command` names it in
 * the text), NO [BADCHARSET] for an unknown charset.  With `save` (SORT
 * RETURN (SAVE)) the search result variable is emptied after a NO or a
 * successful parse (RFC 9051 6.4.4.1: a SAVE command that fails with NO
 * leaves it empty; the program has already read "$"), and kept after a
 * BAD. */
struct search_key *imap_sort_collect_program(struct imap_cmd *cmd,
					     const struct imap_arg *args,
					     const char *command, bool save);

#endif
