/* state.c: the tool_state table of the SQLite index (schema 11): values
 * that tools keep per user, by key (roost import's record of what it
 * imported, cli/import.c), and the two changes to a mailbox row that
 * an import needs (the source's UIDVALIDITY, the index's synchronous
 * mode while it batches).  Rows are opaque here.  A rebuild does not
 * keep them: a tool that finds its state missing must be correct
 * without it (the import then compares message contents). */
#include "store/sqlite-index/index-private.h"

int index_state_get(struct index *idx, const void *key, size_t key_len, struct str *value)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT value FROM tool_state WHERE key = ?",
					"b", key, key_len);
	int ret = index_stmt_step(idx, stmt);

	str_truncate(value, 0);
	if (ret > 0) {
		const void *data = sqlite3_column_blob(stmt, 0);
		int len = sqlite3_column_bytes(stmt, 0);

		if (len > 0)
			str_append_n(value, data, (size_t)len);
	}
	index_stmt_done(idx, stmt);
	return ret;
}

int index_state_set(struct index *idx, const void *key, size_t key_len,
		    const void *value, size_t value_len)
{
	if (value == NULL)
		return index_run(idx, "DELETE FROM tool_state WHERE key = ?", "b",
				 key, key_len) < 0 ? -1 : 0;
	return index_run(idx, "INSERT OR REPLACE INTO tool_state (key, value) VALUES (?, ?)",
			 "bb", key, key_len, value_len == 0 ? "" : value, value_len) < 0 ? -1 : 0;
}

int index_mailbox_set_uidvalidity(struct index *idx, int64_t id, uint32_t uidvalidity)
{
	int ret = index_run(idx, "UPDATE mailboxes SET uidvalidity = ? WHERE id = ? AND "
			    "uidnext = 1 AND NOT EXISTS (SELECT 1 FROM messages WHERE mailbox = ?)",
			    "uii", uidvalidity, id, id);

	if (ret <= 0)
		return ret;
	return index_mailbox_keep_uidvalidity(idx, uidvalidity) < 0 ? -1 : 1;
}

int index_set_synchronous(struct index *idx, bool full)
{
	/* NORMAL syncs at each checkpoint only: checkpoints every 16,384
	 * pages (64 MiB of log) instead of SQLite's 1,000, or a bulk
	 * import would sync every few messages all the same */
	if (full)
		return index_exec(idx, "PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 1000");
	return index_exec(idx, "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 16384");
}
