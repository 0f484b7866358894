/* qresync.c: mod-sequence arguments, the QRESYNC select parameter and
 * the VANISHED (EARLIER) set (RFC 7162), shared by cmd-select.c,
 * cmd-fetch.c, cmd-store.c and cmd-search.c.  It never writes to the
 * client and never changes the mailbox. */
#include "qresync.h"
#include "session.h"
#include "syntax/imap-arg.h"
#include "store/store.h"

#include <string.h>

int imap_modseq_parse(const struct imap_arg *arg, bool allow_zero, uint64_t *modseq_r)
{
	const char *str;
	if (!imap_arg_get_atom(arg, &str) || str_to_u64(str, IMAP_MODSEQ_MAX, modseq_r) < 0)
		return -1;
	return *modseq_r == 0 && !allow_zero ? -1 : 0;
}

/* A sequence-set atom without "*" (known-uids, known-sequence-set and
 * known-uid-set do not allow it) into `set`.  0 or -1. */
static int qresync_parse_set(const struct imap_arg *arg, struct seqset *set)
{
	const char *str;
	if (!imap_arg_get_atom(arg, &str) || strchr(str, '*') != NULL)
		return -1;
	return seqset_parse(set, str, 0, NULL);
}

/* seq-match-data = "(" known-sequence-set SP known-uid-set ")" */
static int qresync_parse_match(const struct imap_arg *arg, struct imap_qresync *q,
			       const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;
	if (!imap_arg_get_list(arg, &list, &count) || count != 2 ||
	    qresync_parse_set(&list[0], &q->match_msns) < 0 ||
	    qresync_parse_set(&list[1], &q->match_uids) < 0) {
		*error_r = "Invalid QRESYNC sequence match data.";
		return -1;
	}
	if (seqset_count(&q->match_msns) != seqset_count(&q->match_uids)) {
		*error_r = "QRESYNC sequence match data: the sets differ in size.";
		return -1;
	}
	return 0;
}

int imap_qresync_parse(const struct imap_arg *arg, struct imap_qresync *q,
		       const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;
	const char *str;
	uint64_t uidvalidity;

	memset(q, 0, sizeof(*q));
	if (!imap_arg_get_list(arg, &list, &count) || count < 2 || count > 4) {
		*error_r = "QRESYNC needs (uidvalidity modseq [known-uids [seq-match-data]]).";
		return -1;
	}
	if (!imap_arg_get_atom(&list[0], &str) ||
	    str_to_u64(str, UINT32_MAX, &uidvalidity) < 0 || uidvalidity == 0) {
		*error_r = "Invalid QRESYNC UIDVALIDITY.";
		return -1;
	}
	q->uidvalidity = (uint32_t)uidvalidity;
	if (imap_modseq_parse(&list[1], false, &q->modseq) < 0) {
		*error_r = "Invalid QRESYNC mod-sequence (1 to 2^63-1).";
		return -1;
	}
	if (count == 3 && list[2].type == IMAP_ARG_LIST)
		return qresync_parse_match(&list[2], q, error_r);
	if (count >= 3) {
		if (qresync_parse_set(&list[2], &q->known_uids) < 0) {
			*error_r = "Invalid QRESYNC known UIDs.";
			return -1;
		}
		q->has_known_uids = true;
	}
	if (count == 4)
		return qresync_parse_match(&list[3], q, error_r);
	return 0;
}

void imap_qresync_deinit(struct imap_qresync *q)
{
	seqset_deinit(&q->known_uids);
	seqset_deinit(&q->match_msns);
	seqset_deinit(&q->match_uids);
}

/* RFC 7162 3.2.5.2: the pairs are compared in order with the mailbox;
 * each that matches tells that the client knows every expunge up to its
 * UID, and the first that does not ends the comparison.  Returns the
 * lowest UID the client may not be in step with (1 if none matched).
 * At most count + 1 pairs are looked at. */
static uint32_t qresync_match_floor(struct store_mailbox *box, const struct imap_qresync *q)
{
	struct seqset_iter mi, ui;
	uint32_t msn, uid, floor = 1, count = store_mailbox_count(box);

	seqset_iter_init(&mi, &q->match_msns);
	seqset_iter_init(&ui, &q->match_uids);
	while (seqset_iter_next(&mi, &msn) && seqset_iter_next(&ui, &uid)) {
		if (msn > count || store_mailbox_msg(box, msn)->uid != uid)
			break;
		floor = uid == UINT32_MAX ? UINT32_MAX : uid + 1;
	}
	return floor;
}

void imap_qresync_vanished(struct store_mailbox *box, const struct seqset *known,
			   uint64_t since, const uint32_t *expunged, size_t expunged_count,
			   uint64_t complete_since, const struct imap_qresync *q,
			   struct seqset *result)
{
	if (complete_since <= since) {
		for (size_t i = 0; i < expunged_count; i++) {
			if (seqset_contains(known, expunged[i]))
				seqset_add(result, expunged[i]);
		}
		return;
	}
	/* RFC 7162 3.2.5.1 (and section 5): without the tombstones, every
	 * known UID the mailbox no longer has is reported */
	uint32_t floor = q == NULL ? 1 : qresync_match_floor(box, q);
	uint32_t count = store_mailbox_count(box);
	for (unsigned int r = 0; r < known->count; r++) {
		uint32_t first = known->ranges[r].seq1, last = known->ranges[r].seq2;
		if (last < floor)
			continue;
		if (first < floor)
			first = floor;
		/* the view's UIDs within [first, last] split it into gaps */
		uint32_t msn = imap_session_msn_lower_bound(box, first);
		uint32_t next = first;
		for (; msn <= count; msn++) {
			uint32_t uid = store_mailbox_msg(box, msn)->uid;
			if (uid > last)
				break;
			if (uid > next)
				seqset_add_range(result, next, uid - 1);
			if (uid == UINT32_MAX) {
				next = 0;
				break;
			}
			next = uid + 1;
		}
		if (next != 0 && next <= last)
			seqset_add_range(result, next, last);
	}
}
