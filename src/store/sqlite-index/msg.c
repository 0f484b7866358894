/* msg.c: the messages table of the SQLite index: one row per message
 * (UID, flags, keyword mask, modseq, internal date and zone, sizes, the
 * owner's location of the message, the parsed model, see cache.c, and
 * the object ids and save date, see thread.c). */
#include "store/sqlite-index/index-private.h"

#include <stdlib.h>
#include <time.h>

struct index_msg_iter {
	struct index *idx;
	sqlite3_stmt *stmt;
};

#define INDEX_MSG_COLUMNS "uid, flags, keywords, modseq, internaldate, tz, size, header_size"

/* The INDEX_MSG_COLUMNS of a row, from column col on, into *msg_r. */
static void index_msg_read(sqlite3_stmt *stmt, int col, struct store_msg *msg_r)
{
	msg_r->uid = (uint32_t)sqlite3_column_int64(stmt, col);
	msg_r->flags = (uint32_t)sqlite3_column_int64(stmt, col + 1);
	msg_r->keywords = (store_keywords_t)sqlite3_column_int64(stmt, col + 2);
	msg_r->modseq = (uint64_t)sqlite3_column_int64(stmt, col + 3);
	msg_r->internaldate = (time_t)sqlite3_column_int64(stmt, col + 4);
	msg_r->internaldate_tz = sqlite3_column_int(stmt, col + 5);
	msg_r->size = (uint64_t)sqlite3_column_int64(stmt, col + 6);
	msg_r->header_size = (uint64_t)sqlite3_column_int64(stmt, col + 7);
}

int index_msg_insert_ids(struct index *idx, int64_t mailbox_id, const char *location,
			 const struct store_msg *msg, const struct store_msg_cache_data *cache,
			 const struct index_msg_ids *ids)
{
	static const struct index_msg_ids new_ids = { NULL, NULL, 0 };
	char *emailid = NULL, *threadid = NULL;
	sqlite3_stmt *stmt;
	int ret;

	if (ids == NULL)
		ids = &new_ids;
	if (ids->emailid == NULL && index_thread_new_id(idx, 'M', &emailid) < 0)
		return -1;
	/* threaded before the insert, so the row is written once */
	if (ids->threadid == NULL && cache != NULL &&
	    index_thread_of_keys(idx, cache->msgkeys.data, cache->msgkeys.len,
				 emailid != NULL ? emailid : ids->emailid, &threadid) < 0) {
		free(emailid);
		return -1;
	}
	stmt = index_stmt(idx,
		"INSERT INTO messages(mailbox, uid, file, flags, keywords, modseq, "
		"internaldate, tz, size, header_size, emailid, threadid, savedate, "
		INDEX_CACHE_COLUMNS ") "
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"iusuiiiiiissi", mailbox_id, msg->uid, location, msg->flags,
		(int64_t)msg->keywords, (int64_t)msg->modseq, (int64_t)msg->internaldate,
		(int64_t)msg->internaldate_tz, (int64_t)msg->size, (int64_t)msg->header_size,
		emailid != NULL ? emailid : ids->emailid,
		threadid != NULL ? threadid : ids->threadid,
		(int64_t)(ids->savedate != 0 ? ids->savedate : time(NULL)));
	if (stmt != NULL)
		index_cache_bind(stmt, 14, cache);
	ret = index_stmt_step(idx, stmt);
	index_stmt_done(idx, stmt);
	free(emailid);
	free(threadid);
	if (ret >= 0)
		ret = index_cache_set_preview(idx, mailbox_id, msg->uid, cache);
	return ret < 0 ? -1 : 0;
}

int index_msg_insert(struct index *idx, int64_t mailbox_id, const char *location,
		     const struct store_msg *msg, const struct store_msg_cache_data *cache)
{
	return index_msg_insert_ids(idx, mailbox_id, location, msg, cache, NULL);
}

int index_msg_copy(struct index *idx, int64_t src_mailbox_id, uint32_t src_uid,
		   int64_t dest_mailbox_id, const struct store_msg *dest,
		   const char *location)
{
	/* the message model and the ids are copied inside SQLite; the copy
	 * is saved now (RFC 8514 3: "the save date attribute is not copied
	 * from the source message") */
	if (index_run(idx, "INSERT INTO messages(mailbox, uid, file, flags, keywords, modseq, "
		      "internaldate, tz, size, header_size, emailid, threadid, savedate, "
		      INDEX_CACHE_COLUMNS ") "
		      "SELECT ?, ?, ?, ?, ?, ?, internaldate, tz, size, header_size, emailid, "
		      "threadid, ?, " INDEX_CACHE_COLUMNS " FROM messages "
		      "WHERE mailbox = ? AND uid = ?",
		      "iusuiiiiu", dest_mailbox_id, dest->uid, location, dest->flags,
		      (int64_t)dest->keywords, (int64_t)dest->modseq, (int64_t)time(NULL),
		      src_mailbox_id, src_uid) < 0)
		return -1;
	return index_run(idx, "INSERT OR REPLACE INTO previews(mailbox, uid, preview) "
			 "SELECT ?, ?, preview FROM previews WHERE mailbox = ? AND uid = ?",
			 "iuiu", dest_mailbox_id, dest->uid, src_mailbox_id, src_uid) < 0 ? -1 : 0;
}

int index_msg_search_objectid(struct index *idx, int64_t mailbox_id, bool thread,
			      const char *id, uint32_t **uids_r, size_t *count_r)
{
	/* = compares text byte by byte: case-sensitive, as ids are */
	return index_stmt_uids(idx, thread ?
			       index_stmt(idx, "SELECT uid FROM messages WHERE mailbox = ? AND "
					  "threadid = ? ORDER BY uid", "is", mailbox_id, id) :
			       index_stmt(idx, "SELECT uid FROM messages WHERE mailbox = ? AND "
					  "emailid = ? ORDER BY uid", "is", mailbox_id, id),
			       uids_r, count_r);
}

int index_msg_search_savedate(struct index *idx, int64_t mailbox_id, int64_t since,
			      int64_t before, uint32_t **uids_r, size_t *count_r)
{
	return index_stmt_uids(idx, index_stmt(idx, "SELECT uid FROM messages WHERE mailbox = ? "
					       "AND savedate >= ? AND savedate < ? ORDER BY uid",
					       "iii", mailbox_id, since, before),
			       uids_r, count_r);
}

int index_msg_get(struct index *idx, int64_t mailbox_id, uint32_t uid,
		  struct store_msg *msg_r, char **location_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT " INDEX_MSG_COLUMNS ", file FROM messages "
					"WHERE mailbox = ? AND uid = ?", "iu", mailbox_id, uid);
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0 && msg_r != NULL)
		index_msg_read(stmt, 0, msg_r);
	if (ret > 0 && location_r != NULL)
		*location_r = xstrdup(index_column_text(stmt, 8));
	index_stmt_done(idx, stmt);
	return ret;
}

int index_msg_set_flags(struct index *idx, int64_t mailbox_id, uint32_t uid,
			uint32_t flags, store_keywords_t keywords, uint64_t modseq,
			const char *location)
{
	return index_run(idx, "UPDATE messages SET flags = ?, keywords = ?, modseq = ?, file = ? "
			 "WHERE mailbox = ? AND uid = ?", "uiisiu", flags, (int64_t)keywords,
			 (int64_t)modseq, location, mailbox_id, uid) < 0 ? -1 : 0;
}

int index_msg_expunge(struct index *idx, int64_t mailbox_id, uint32_t uid,
		      uint64_t modseq, char **location_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "DELETE FROM messages WHERE mailbox = ? AND uid = ? "
					"RETURNING file", "iu", mailbox_id, uid);
	char *location = NULL;
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0)
		location = xstrdup(index_column_text(stmt, 0));
	/* step to the end so the DELETE completes */
	while (ret > 0)
		ret = index_stmt_step(idx, stmt);
	index_stmt_done(idx, stmt);
	if (ret < 0 || location == NULL) {
		free(location);
		return ret;
	}
	if (index_fts_delete(idx, mailbox_id, uid) < 0 ||
	    index_run(idx, "DELETE FROM previews WHERE mailbox = ? AND uid = ?", "iu",
		      mailbox_id, uid) < 0 ||
	    index_tombstone_add(idx, mailbox_id, uid, modseq) < 0) {
		free(location);
		return -1;
	}
	*location_r = location;
	return 1;
}

int index_msg_list_uids(struct index *idx, int64_t mailbox_id, uint32_t **uids_r,
			size_t *count_r)
{
	return index_stmt_uids(idx, index_stmt(idx, "SELECT uid FROM messages WHERE mailbox = ? "
					       "ORDER BY uid", "i", mailbox_id),
			       uids_r, count_r);
}

int index_msg_list_deleted(struct index *idx, int64_t mailbox_id, uint32_t **uids_r,
			   size_t *count_r)
{
	/* the WHERE of the partial index messages_deleted, literally, so
	 * that SQLite reads that index and not every row of the mailbox */
	_Static_assert(STORE_FLAG_DELETED == 8, "messages_deleted is on flags & 8");
	return index_stmt_uids(idx, index_stmt(idx, "SELECT uid FROM messages "
					       "INDEXED BY messages_deleted "
					       "WHERE mailbox = ? AND flags & 8 != 0", "i",
					       mailbox_id),
			       uids_r, count_r);
}

struct index_msg_iter *index_msg_iter_init(struct index *idx, int64_t mailbox_id,
					   uint64_t since_modseq)
{
	struct index_msg_iter *iter = xcalloc(1, sizeof(*iter));

	iter->idx = idx;
	/* all rows: by the primary key, without the modseq index */
	if (since_modseq == 0) {
		iter->stmt = index_stmt(idx, "SELECT " INDEX_MSG_COLUMNS ", file FROM messages "
					"WHERE mailbox = ? ORDER BY uid", "i", mailbox_id);
	} else {
		/* the rows changed since: through the modseq index (left to
		 * itself SQLite walks the primary key for the ORDER BY and
		 * reads every row of the mailbox at each sync) */
		iter->stmt = index_stmt(idx, "SELECT " INDEX_MSG_COLUMNS ", file FROM messages "
					"INDEXED BY messages_modseq "
					"WHERE mailbox = ? AND modseq > ? ORDER BY uid",
					"ii", mailbox_id, (int64_t)since_modseq);
	}
	return iter;
}

int index_msg_iter_next(struct index_msg_iter *iter, struct index_msg *msg_r)
{
	int ret = index_stmt_step(iter->idx, iter->stmt);

	if (ret > 0) {
		index_msg_read(iter->stmt, 0, &msg_r->msg);
		msg_r->location = index_column_text(iter->stmt, 8);
	}
	return ret;
}

void index_msg_iter_deinit(struct index_msg_iter **_iter)
{
	struct index_msg_iter *iter = *_iter;

	if (iter == NULL)
		return;
	*_iter = NULL;
	index_stmt_done(iter->idx, iter->stmt);
	free(iter);
}
