/* qresync.h: the CONDSTORE and QRESYNC pieces (RFC 7162) that several
 * commands share: mod-sequence arguments, the QRESYNC parameter of
 * SELECT/EXAMINE, and the set of UIDs a client is told have vanished
 * (SELECT ... QRESYNC and UID FETCH ... VANISHED).  It reads the
 * selected mailbox through store/store.h and writes nothing itself. */
#ifndef ROOST_IMAP_QRESYNC_H
#define ROOST_IMAP_QRESYNC_H

#include "base/base.h"
#include "syntax/seqset.h"

struct imap_arg;
struct store_mailbox;

/* The largest mod-sequence (RFC 7162 3.1: unsigned 63-bit values). */
#define IMAP_MODSEQ_MAX ((uint64_t)INT64_MAX)

/* mod-sequence-value  = 1*DIGIT  ; 1 .. 2^63-1
 * mod-sequence-valzer = "0" / mod-sequence-value
 * Parses the atom `arg` into *modseq_r; 0 is allowed only with
 * `allow_zero`.  Returns 0, or -1 (the caller answers BAD). */
int imap_modseq_parse(const struct imap_arg *arg, bool allow_zero, uint64_t *modseq_r);

/* The QRESYNC select parameter, parsed. */
struct imap_qresync {
	uint32_t uidvalidity;
	uint64_t modseq;
	bool has_known_uids;
	struct seqset known_uids;	/* when has_known_uids */
	/* seq-match-data: the i-th msn of match_msns is known to have the
	 * i-th UID of match_uids (as many of each); empty when not given */
	struct seqset match_msns, match_uids;
};

/* select-param =/ "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
 *                 [SP known-uids] [SP seq-match-data] ")"
 * known-uids = sequence-set   ; "*" is not allowed
 * seq-match-data = "(" known-sequence-set SP known-uid-set ")"
 * Parses the list after "QRESYNC" (`arg`) into *q (its seqsets must be
 * freed with imap_qresync_deinit(), also after an error).  The
 * two sets of seq-match-data must have the same number of elements
 * (RFC 7162 3.2.5.2).  Returns 0, or -1 with *error_r (static, BAD). */
int imap_qresync_parse(const struct imap_arg *arg, struct imap_qresync *q,
		       const char **error_r);
void imap_qresync_deinit(struct imap_qresync *q);

/* The UIDs to report as VANISHED (EARLIER) to a client that knew the
 * mailbox at `since` and asks about the UIDs `known`: the tombstones
 * above `since` (`expunged`, ascending, from store_mailbox_vanished())
 * that are in `known`; or, when the tombstones are not complete for
 * `since` (complete_since > since), every UID of `known` that the view
 * of `box` does not have, above the UID that `q`'s seq-match-data shows
 * the client is in step up to (q may be NULL).  Added to `result`, whose
 * size is bounded by the view's and known's ranges. */
void imap_qresync_vanished(struct store_mailbox *box, const struct seqset *known,
			   uint64_t since, const uint32_t *expunged, size_t expunged_count,
			   uint64_t complete_since, const struct imap_qresync *q,
			   struct seqset *result);

#endif
