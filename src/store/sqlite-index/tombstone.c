/* tombstone.c: the expunged table of the SQLite index: the UIDs expunged
 * from each mailbox with the modseq of their expunge, for QRESYNC's
 * VANISHED (RFC 7162) and so that an expunged UID never comes back. */
#include "store/sqlite-index/index-private.h"

int index_tombstone_add(struct index *idx, int64_t mailbox_id, uint32_t uid, uint64_t modseq)
{
	return index_run(idx, "INSERT OR REPLACE INTO expunged(mailbox, uid, modseq) "
			 "VALUES (?, ?, ?)", "iui", mailbox_id, uid, (int64_t)modseq) < 0 ? -1 : 0;
}

int index_tombstone_exists(struct index *idx, int64_t mailbox_id, uint32_t uid)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT 1 FROM expunged WHERE mailbox = ? AND uid = ?",
					"iu", mailbox_id, uid);
	int ret = index_stmt_step(idx, stmt);

	index_stmt_done(idx, stmt);
	return ret;
}

int index_tombstone_list_since(struct index *idx, int64_t mailbox_id, uint64_t since_modseq,
			       uint32_t **uids_r, size_t *count_r)
{
	return index_stmt_uids(idx, index_stmt(idx, "SELECT uid FROM expunged "
					       "WHERE mailbox = ? AND modseq > ?",
					       "ii", mailbox_id, (int64_t)since_modseq),
			       uids_r, count_r);
}
