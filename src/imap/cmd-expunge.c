/* cmd-expunge.c: EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 9051
 * 6.4.9, UIDPLUS RFC 4315 2.1).
 *
 * The store removes the messages durably; the untagged EXPUNGE responses
 * come from the sync that imap_cmd_ok() runs before the tagged reply, so
 * this file never writes them itself and never touches the view. */
#include "commands.h"
#include "parser.h"
#include "search-result.h"
#include "base/seqset.h"
#include "store/store.h"

#include <stdlib.h>

static bool expunge_is_deleted(struct store_mailbox *box, uint32_t msn)
{
	return !store_mailbox_is_expunged(box, msn) &&
		(store_mailbox_msg(box, msn)->flags & STORE_FLAG_DELETED) != 0;
}

/* expunge = "EXPUNGE"
 * uid-expunge = "UID" SP "EXPUNGE" SP sequence-set
 * Only messages with \Deleted are expunged; with UID, only those whose UID
 * is in the set. */
bool cmd_expunge(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	struct store_mailbox *box = s->box;
	const struct imap_arg *a = cmd->args;
	if (cmd->uid) {
		if (a[0].type != IMAP_ARG_ATOM || a[1].type != IMAP_ARG_EOL)
			return imap_cmd_bad(cmd, "UID EXPUNGE needs a UID set.");
	} else if (a[0].type != IMAP_ARG_EOL) {
		return imap_cmd_bad(cmd, "EXPUNGE takes no arguments.");
	}

	uint32_t count = store_mailbox_count(box);
	uint32_t *msns = NULL;
	size_t msn_count = 0, cap = 0;
	if (cmd->uid) {
		struct seqset set = SEQSET_INIT;
		if (imap_search_result_parse_set(box, &s->search_result, a[0].str,
						 true, &set) < 0)
			return imap_cmd_bad(cmd, "Invalid UID set.");
		if (store_mailbox_is_readonly(box)) {
			seqset_deinit(&set);
			return imap_cmd_no(cmd, "[CANNOT] Mailbox is read-only.");
		}
		for (uint32_t msn = 1; msn <= count; msn++) {
			if (expunge_is_deleted(box, msn) &&
			    seqset_contains(&set, store_mailbox_msg(box, msn)->uid)) {
				ARRAY_RESERVE(msns, cap, msn_count + 1);
				msns[msn_count++] = msn;
			}
		}
		seqset_deinit(&set);
		if (msn_count == 0)
			return imap_cmd_ok(cmd, "Expunge completed.");
	} else {
		if (store_mailbox_is_readonly(box))
			return imap_cmd_no(cmd, "[CANNOT] Mailbox is read-only.");
		for (uint32_t msn = 1; msn <= count; msn++) {
			if (expunge_is_deleted(box, msn))
				msn_count++;
		}
	}
	int ret = cmd->uid ? store_mailbox_expunge(box, msns, msn_count) :
		store_mailbox_expunge(box, NULL, 0);
	free(msns);
	if (ret < 0)
		return imap_cmd_store_error(cmd, false);
	s->expunge_count += msn_count;
	return imap_cmd_ok(cmd, "Expunge completed.");
}
