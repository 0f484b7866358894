/* search-result.c: the SEARCHRES variable and "$" (see search-result.h). */
#include "search-result.h"
#include "session.h"
#include "syntax/seqset.h"
#include "store/store.h"

void imap_search_result_save(struct imap_session *s, const struct seqset *uids)
{
	seqset_clear(&s->search_result);
	for (unsigned int i = 0; i < uids->count; i++)
		seqset_add_range(&s->search_result, uids->ranges[i].seq1,
				 uids->ranges[i].seq2);
}

void imap_search_result_clear(struct imap_session *s)
{
	seqset_clear(&s->search_result);
}

int imap_search_result_parse_set(struct store_mailbox *box,
				 const struct seqset *saved_uids, const char *str,
				 bool uid, struct seqset *set)
{
	uint32_t count = box == NULL ? 0 : store_mailbox_count(box);
	uint32_t star = count == 0 ? 0 :
		(uid ? store_mailbox_msg(box, count)->uid : count);
	bool dollar;

	if (seqset_parse(set, str, star, &dollar) < 0) {
		/* seqset_parse() empties but keeps what "1:2,x" allocated */
		seqset_deinit(set);
		return -1;
	}
	if (!dollar || saved_uids == NULL)
		return 0;
	/* RFC 9051 6.4.4.1: "$" holds messages, and maps to msns or UIDs
	 * by where it is used */
	for (unsigned int i = 0; i < saved_uids->count; i++) {
		uint32_t first = saved_uids->ranges[i].seq1;
		uint32_t last = saved_uids->ranges[i].seq2;
		if (uid) {
			seqset_add_range(set, first, last);
			continue;
		}
		if (count == 0)
			break;
		first = imap_session_msn_lower_bound(box, first);
		last = last == UINT32_MAX ? count :
			imap_session_msn_lower_bound(box, last + 1) - 1;
		if (first <= last)
			seqset_add_range(set, first, last);
	}
	return 0;
}
