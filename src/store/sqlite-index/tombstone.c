/* tombstone.c: the expunged table of the SQLite index: the UIDs expunged
 * from each mailbox with the modseq of their expunge, for QRESYNC's
 * VANISHED (RFC 7162), for the sync of open views, and so that an
 * expunged UID never comes back (recover.c, rebuild.c).
 *
 * Compaction keeps the newest tombstones of a mailbox and records in
 * mailboxes.tombstone_floor the highest modseq it removed: the list is
 * complete for every modseq at or above the floor, and whoever asks
 * about an older one (a QRESYNC client, a view synced before the floor)
 * compares UIDs instead (DESIGN.md "Expunge tombstones"). */
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

int index_tombstone_compact(struct index *idx, int64_t mailbox_id, size_t keep, size_t slack)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT count(*) FROM expunged WHERE mailbox = ?",
					"i", mailbox_id);
	int ret = index_stmt_step(idx, stmt);
	int64_t count = ret > 0 ? sqlite3_column_int64(stmt, 0) : 0;

	index_stmt_done(idx, stmt);
	if (ret < 0)
		return -1;
	if ((uint64_t)count <= keep + slack)
		return 0;
	/* the modseq of the newest tombstone to remove */
	stmt = index_stmt(idx, "SELECT modseq FROM expunged WHERE mailbox = ? "
			  "ORDER BY modseq LIMIT 1 OFFSET ?", "ii", mailbox_id,
			  (int64_t)((uint64_t)count - keep - 1));
	ret = index_stmt_step(idx, stmt);
	int64_t floor = ret > 0 ? sqlite3_column_int64(stmt, 0) : 0;
	index_stmt_done(idx, stmt);
	if (ret <= 0)
		return ret < 0 ? -1 : 0;
	if (index_run(idx, "DELETE FROM expunged WHERE mailbox = ? AND modseq <= ?", "ii",
		      mailbox_id, floor) < 0)
		return -1;
	return index_tombstone_set_floor(idx, mailbox_id, (uint64_t)floor);
}

int index_tombstone_set_floor(struct index *idx, int64_t mailbox_id, uint64_t floor)
{
	return index_run(idx, "UPDATE mailboxes SET tombstone_floor = max(tombstone_floor, ?) "
			 "WHERE id = ?", "ii", (int64_t)floor, mailbox_id) < 0 ? -1 : 0;
}
