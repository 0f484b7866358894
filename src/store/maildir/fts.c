/* fts.c: the text of the Maildir backend's messages for the index's
 * full-text search (SEARCH HEADER, FROM, TO, CC, BCC, SUBJECT, BODY and
 * TEXT; index_fts_*()).
 *
 * The text is stored at append (save.c, in the transaction that inserts
 * the row), copied with COPY/MOVE, and for other messages (picked up
 * from new/, found by a rebuild) read from the message file here: by a
 * rebuild for all of them, or on first use by a search. */
#include "store/maildir/maildir-private.h"

#include <stdlib.h>
#include <unistd.h>

int maildir_fts_fill_all(struct maildir_store *ms)
{
	struct index_fts_missing *todo;
	size_t count;
	int ret = 0;

	/* every message without text; the folder path comes from its
	 * mailbox name */
	if (index_fts_list_missing(ms->index, &todo, &count) < 0)
		return -1;
	/* in batches, so a big rebuild does not hold one huge transaction */
	for (size_t i = 0; ret == 0 && i < count; i += 256) {
		if (index_begin(ms->index, true) < 0) {
			ret = -1;
			break;
		}
		for (size_t k = i; ret == 0 && k < count && k < i + 256; k++) {
			char *dir = maildir_storage_mailbox_dir(ms, todo[k].mailbox_name);
			struct store_msg_text_data data;
			struct istream *msg;
			int fd;

			if (dir == NULL) {
				ret = -1;
				break;
			}
			char *actual;

			fd = maildir_file_open_msg(dir, todo[k].location, &actual);
			free(dir);
			free(actual);
			if (fd < 0)
				continue;	/* gone: nothing to index */
			msg = istream_from_fd(fd);
			if (store_msg_text_data_read(&data, msg) < 0)
				ret = maildir_storage_set_syscall_error(ms, "read", "message file");
			else
				ret = index_fts_insert(ms->index, todo[k].mailbox_id, todo[k].uid,
						       &data);
			istream_destroy(&msg);
			store_msg_text_data_free(&data);
		}
		if (ret == 0)
			ret = index_commit(ms->index);
		else
			index_rollback(ms->index);
	}
	index_fts_missing_free(todo, count);
	return ret < 0 ? -1 : 0;
}

int maildir_fts_msg_text(struct store_mailbox *box, uint32_t msn,
			 struct str *header, struct str *body)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	uint32_t uid = box->msgs[msn - 1].uid;
	struct store_msg_text_data data;
	struct istream *msg;
	int ret;

	ret = index_fts_get(ms->index, mbox->id, uid, header, body);
	if (ret != 0)
		return ret < 0 ? -1 : 0;

	if (maildir_sync_msg_stream(box, msn, &msg) < 0)
		return -1;
	if (store_msg_text_data_read(&data, msg) < 0) {
		store_msg_text_data_free(&data);
		istream_destroy(&msg);
		return maildir_storage_set_syscall_error(ms, "read", "message file");
	}
	(void)index_fts_write_back(ms->index, mbox->id, uid, &data);
	istream_destroy(&msg);
	/* a failed write-back only means the next search reads again */
	store_clear_error(box->store);
	str_append_n(header, data.header.data, data.header.len);
	str_append_n(body, data.body.data, data.body.len);
	store_msg_text_data_free(&data);
	return 0;
}

int maildir_fts_search(struct store_mailbox *box, enum store_text_field field,
		       const char *name, const char *needle, size_t needle_len,
		       uint32_t first_uid, struct store_text_result *result_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;

	return index_fts_search(ms->index, mbox->id, field, name, needle, needle_len,
				first_uid, result_r);
}
