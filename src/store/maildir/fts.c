/* fts.c: the text of the Maildir backend's messages for the index's
 * full-text search (SEARCH HEADER, FROM, TO, CC, BCC, SUBJECT, BODY and
 * TEXT; index_fts_*()).
 *
 * The text is stored at append (save.c, in the transaction that inserts
 * the row) and at the pickup of mail from new/ (sync.c), by a rebuild
 * from the same parse as the message model (rebuild.c), copied with
 * COPY/MOVE, and for other messages (whose file could not be read then)
 * read from the message file here on first use by a search.  The text
 * a search needs beyond what the index answers (the index keeps no body
 * text: store/sqlite-index/fts.c) is always read from the message file. */
#include "store/maildir/maildir-private.h"

#include <stdlib.h>
#include <unistd.h>

int maildir_fts_msg_text(struct store_mailbox *box, uint32_t msn,
			 struct str *header, struct str *body)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	uint32_t uid = box->msgs[msn - 1].uid;
	struct store_msg_text_data data;
	struct istream *msg;
	int ret;

	ret = index_fts_get(ms->index, mbox->id, uid, header);
	if (ret < 0)
		return -1;
	if (ret > 0 && body == NULL)
		return 0;
	str_truncate(header, 0);
	if (maildir_sync_msg_stream(box, msn, &msg) < 0)
		return -1;
	if (store_msg_text_data_read(&data, msg) < 0) {
		store_msg_text_data_free(&data);
		istream_destroy(&msg);
		return maildir_storage_set_syscall_error(ms, "read", "message file");
	}
	if (ret == 0)
		(void)index_fts_write_back(ms->index, mbox->id, uid, &data);
	istream_destroy(&msg);
	/* a failed write-back only means the next search reads again */
	store_clear_error(box->store);
	str_append_n(header, data.header.data, data.header.len);
	if (body != NULL)
		str_append_n(body, data.body.data, data.body.len);
	store_msg_text_data_free(&data);
	return 0;
}

int maildir_fts_search(struct store_mailbox *box, enum store_text_field field,
		       const char *name, const char *needle, size_t needle_len,
		       uint32_t first_uid, uint32_t max_uid, bool one_part,
		       const struct store_uid_range *view_runs, size_t run_count,
		       struct store_text_result *result_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;

	return index_fts_search(ms->index, mbox->id, field, name, needle, needle_len,
				first_uid, max_uid, one_part, view_runs, run_count, result_r);
}
