/* flags.c: keywords, flag changes and expunges in the Maildir backend.
 *
 * Every change is a read-modify-write of the current index row inside one
 * BEGIN IMMEDIATE transaction, so concurrent sessions in any process merge
 * instead of overwriting each other.  The message file is renamed to carry
 * the new flags before the commit (and back if the transaction fails); if
 * another process renamed it first it is found again by its unique part.  An expunge unlinks the files only
 * after the transaction that deletes their rows and writes tombstones has
 * committed, so a failed commit leaves every row with its file; a crash
 * after the commit leaves files whose UIDs are tombstones, which
 * recover.c and a rebuild remove, so an expunged UID never comes back. */
#include "store/maildir/maildir-private.h"
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Tombstones written by a store between two counts of a mailbox's. */
#define MAILDIR_TOMBSTONE_CHECK 256

int maildir_flags_keywords_create(struct store_mailbox *box, const char *const *names,
				  size_t count)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	char **table;
	size_t table_count, missing = 0;
	uint64_t modseq;
	int ret;

	if (index_begin(ms->index, true) < 0)
		return -1;
	/* Count what is missing first: a command's keywords go in all
	 * together or not at all, so a STORE refused with [LIMIT] leaves no
	 * half of its keywords behind to fill the table. */
	ret = index_keyword_list(ms->index, mbox->id, &table, &table_count);
	for (size_t i = 0; ret == 0 && i < count; i++) {
		bool found = false;

		for (size_t j = 0; j < table_count && !found; j++)
			found = str_eq_icase(table[j], names[i]);
		for (size_t j = 0; j < i && !found; j++)
			found = str_eq_icase(names[j], names[i]);
		if (!found)
			missing++;
	}
	if (ret == 0) {
		index_names_free(table, table_count);
		if (table_count + missing > STORE_MAX_KEYWORDS) {
			store_set_error(box->store, STORE_ERR_LIMIT,
					"Too many keywords in this mailbox (max %d)",
					STORE_MAX_KEYWORDS);
			ret = -1;
		}
	}
	for (size_t i = 0; ret == 0 && missing > 0 && i < count; i++) {
		if (maildir_index_keyword_get(ms, mbox->id, mbox->dir, names[i]) < 0)
			ret = -1;
	}
	/* a new keyword is a change others must see (FLAGS response) */
	if (ret == 0 && missing > 0)
		ret = index_mailbox_next_modseq(ms->index, mbox->id, &modseq);
	if (index_end(ms->index, ret) < 0)
		return -1;
	if (missing > 0)
		maildir_storage_notify(ms);
	if (index_keyword_list(ms->index, mbox->id, &table, &table_count) < 0)
		return -1;
	store_view_set_keywords(box, (const char *const *)table, table_count);
	index_names_free(table, table_count);
	return 0;
}

int maildir_flags_keywords_reload(struct store_mailbox *box)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	char **table;
	size_t table_count;

	if (index_keyword_list(ms->index, mbox->id, &table, &table_count) < 0)
		return -1;
	store_view_set_keywords(box, (const char *const *)table, table_count);
	index_names_free(table, table_count);
	return 0;
}

/* Renames cur/<old> (or the file with its unique part) to cur/<new>.
 * 1 renamed, 0 the file is gone, -1 error. */
static int rename_msg_file(struct maildir_store *ms, const char *dir, const char *old_name,
			   const char *new_name)
{
	char *src = xasprintf("%s/cur/%s", dir, old_name);
	char *dst = xasprintf("%s/cur/%s", dir, new_name);
	int ret = 1;

	if (rename(src, dst) < 0) {
		if (errno == ENOENT) {
			struct maildir_filename fn;
			char *found;

			maildir_file_name_parse(old_name, &fn);
			found = maildir_file_find_unique(dir, fn.unique);
			free(fn.unique);
			if (found != NULL) {
				free(src);
				src = xasprintf("%s/cur/%s", dir, found);
				free(found);
				if (rename(src, dst) < 0)
					ret = errno == ENOENT ? 0 :
						maildir_storage_set_syscall_error(ms, "rename", src);
			} else {
				log_warning("store(%s): message file %s/cur/%s is gone",
					    ms->store.user, dir, old_name);
				ret = 0;
			}
		} else {
			ret = maildir_storage_set_syscall_error(ms, "rename", src);
		}
	}
	free(src);
	free(dst);
	return ret;
}

/* A file renamed inside the transaction: renamed back if it rolls back. */
struct flag_rename {
	char *old_name, *new_name;
};

/* Before the rollback: the files get back the names the rows keep, so
 * that flags the index never kept are not in their names either (a
 * rebuild reads flags from the names). */
static void flags_renames_undo(struct maildir_store *ms, const char *dir,
			       struct flag_rename *renames, size_t count)
{
	for (size_t i = count; i > 0; i--) {
		char *src = xasprintf("%s/cur/%s", dir, renames[i - 1].new_name);
		char *dst = xasprintf("%s/cur/%s", dir, renames[i - 1].old_name);

		if (rename(src, dst) < 0)
			log_warning("store(%s): rename(%s, %s) after a failed flag change: %m",
				    ms->store.user, src, dst);
		free(src);
		free(dst);
	}
}

static void flags_renames_free(struct flag_rename *renames, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(renames[i].old_name);
		free(renames[i].new_name);
	}
	free(renames);
}

struct flag_update {
	size_t idx;
	uint32_t flags;
	store_keywords_t keywords;
	bool own;		/* applied to the flags the view had */
};

int maildir_flags_update(struct store_mailbox *box, const uint32_t *msns, size_t count,
			 enum store_flags_mode mode, uint32_t flags,
			 store_keywords_t keywords, uint64_t unchangedsince,
			 uint32_t **failed_r, size_t *failed_count_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	struct flag_update *updates = NULL;
	size_t updates_count = 0, updates_cap = 0, failed_cap = 0;
	struct flag_rename *renames = NULL;
	size_t renames_count = 0, renames_cap = 0;
	uint32_t *failed = NULL;
	uint64_t modseq = 0;
	int ret;

	if (index_begin(ms->index, true) < 0)
		return -1;
	ret = 0;
	for (size_t i = 0; ret == 0 && i < count; i++) {
		size_t idx = msns[i] - 1;
		uint32_t uid = box->msgs[idx].uid, cur_flags, new_flags;
		store_keywords_t cur_kw, new_kw;
		struct store_msg cur;
		char *file, *new_file;

		if ((box->state[idx] & STORE_VIEW_EXPUNGED) != 0)
			continue;
		ret = index_msg_get(ms->index, mbox->id, uid, &cur, &file);
		if (ret < 0)
			break;
		if (ret == 0)
			continue;	/* expunged meanwhile: skipped */
		ret = 0;
		cur_flags = cur.flags;
		cur_kw = cur.keywords;

		if (unchangedsince != 0 && cur.modseq > unchangedsince) {
			ARRAY_RESERVE(failed, failed_cap, *failed_count_r + 1);
			failed[(*failed_count_r)++] = msns[i];
			free(file);
			continue;
		}
		switch (mode) {
		case STORE_FLAGS_REPLACE:
			new_flags = flags;
			new_kw = keywords;
			break;
		case STORE_FLAGS_ADD:
			new_flags = cur_flags | flags;
			new_kw = cur_kw | keywords;
			break;
		case STORE_FLAGS_REMOVE:
		default:
			new_flags = cur_flags & ~flags;
			new_kw = cur_kw & ~keywords;
			break;
		}
		if (new_flags == cur_flags && new_kw == cur_kw) {
			free(file);
			continue;
		}
		if (modseq == 0 && index_mailbox_next_modseq(ms->index, mbox->id, &modseq) < 0) {
			free(file);
			ret = -1;
			break;
		}
		new_file = maildir_file_name_with_flags(file, new_flags, new_kw);
		if (strcmp(new_file, file) != 0)
			ret = rename_msg_file(ms, mbox->dir, file, new_file);
		if (ret > 0) {
			ARRAY_RESERVE(renames, renames_cap, renames_count + 1);
			renames[renames_count].old_name = file;
			renames[renames_count].new_name = xstrdup(new_file);
			renames_count++;
			file = NULL;
			ret = 0;
		}
		free(file);
		if (ret == 0)
			ret = index_msg_set_flags(ms->index, mbox->id, uid, new_flags, new_kw,
						  modseq, new_file);
		free(new_file);
		if (ret < 0)
			break;
		ARRAY_RESERVE(updates, updates_cap, updates_count + 1);
		updates[updates_count].idx = idx;
		updates[updates_count].flags = new_flags;
		updates[updates_count].keywords = new_kw;
		updates[updates_count].own = cur.modseq == box->msgs[idx].modseq;
		updates_count++;
	}
	/* only a rename has something in cur/ to sync: a change of flags the
	 * name does not carry (keywords from the 27th on) is the index's alone */
	if (ret == 0 && renames_count > 0) {
		char *cur = xasprintf("%s/cur", mbox->dir);

		ret = maildir_storage_fsync_dir(ms, cur);
		free(cur);
	}
	if (ret < 0 || updates_count == 0) {
		/* the names go back while the lock is still held */
		flags_renames_undo(ms, mbox->dir, renames, renames_count);
		index_rollback(ms->index);
	} else if ((ret = index_commit(ms->index)) < 0) {
		flags_renames_undo(ms, mbox->dir, renames, renames_count);
	}
	flags_renames_free(renames, renames_count);
	if (ret < 0) {
		free(updates);
		free(failed);
		*failed_count_r = 0;
		return -1;
	}
	if (updates_count > 0)
		store_view_msgs_own(box);
	for (size_t i = 0; i < updates_count; i++) {
		struct store_msg *msg = &box->msgs[updates[i].idx];

		msg->flags = updates[i].flags;
		msg->keywords = updates[i].keywords;
		msg->modseq = modseq;
		if (updates[i].own)
			store_view_mark_own(box, updates[i].idx);
		else
			store_view_mark_dirty(box, updates[i].idx);
	}
	if (updates_count > 0)
		maildir_storage_notify(ms);
	free(updates);
	*failed_r = failed;
	return 0;
}

int maildir_flags_expunge_uids(struct maildir_store *ms, int64_t mailbox_id,
			       const uint32_t *uids, size_t count, uint64_t modseq,
			       struct maildir_expunged_files *files)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && i < count; i++) {
		char *file;

		ret = index_msg_expunge(ms->index, mailbox_id, uids[i], modseq, &file);
		if (ret <= 0)
			continue;
		ARRAY_RESERVE(files->names, files->cap, files->count + 1);
		files->names[files->count++] = file;
		ms->tombstones_unchecked++;
		ret = 0;
	}
	/* compaction (tombstone.c), counted only now and then: the slack
	 * lets a mailbox go a little past the limit between two counts */
	if (ret == 0 && ms->tombstones_unchecked >= MAILDIR_TOMBSTONE_CHECK) {
		ms->tombstones_unchecked = 0;
		ret = index_tombstone_compact(ms->index, mailbox_id, ms->tombstones_keep,
					      ms->tombstones_keep / 10);
	}
	return ret < 0 ? -1 : 0;
}

void maildir_flags_expunged_files_free(struct maildir_expunged_files *files)
{
	for (size_t i = 0; i < files->count; i++)
		free(files->names[i]);
	free(files->names);
	memset(files, 0, sizeof(*files));
}

void maildir_flags_expunged_files_unlink(struct maildir_store *ms, const char *dir,
					 struct maildir_expunged_files *files)
{
	for (size_t i = 0; i < files->count; i++) {
		const char *file = files->names[i];
		char *path = xasprintf("%s/cur/%s", dir, file);
		int err = unlink(path) < 0 ? errno : 0;

		if (err == ENOENT) {
			/* renamed by another program meanwhile, or already
			 * removed by another process's recover.c */
			struct maildir_filename fn;
			char *found;

			maildir_file_name_parse(file, &fn);
			found = maildir_file_find_unique(dir, fn.unique);
			free(fn.unique);
			err = 0;
			if (found != NULL) {
				free(path);
				path = xasprintf("%s/cur/%s", dir, found);
				free(found);
				if (unlink(path) < 0 && errno != ENOENT)
					err = errno;
			}
		}
		if (err != 0) {
			errno = err;
			log_warning("store(%s): unlink(%s) of an expunged message failed: %m "
				    "(removed when the folder is next recovered)",
				    ms->store.user, path);
		}
		free(path);
	}
	if (files->count > 0) {
		char *cur = xasprintf("%s/cur", dir);

		if (maildir_storage_fsync_dir(ms, cur) < 0)
			store_clear_error(&ms->store);
		free(cur);
	}
	maildir_flags_expunged_files_free(files);
}

/* 1 if uid has \Deleted in the index, 0 if not (or gone), -1 error. */
static int flags_has_deleted(struct maildir_store *ms, int64_t mailbox_id, uint32_t uid)
{
	struct store_msg msg;
	int ret = index_msg_get(ms->index, mailbox_id, uid, &msg, NULL);

	if (ret > 0)
		ret = (msg.flags & STORE_FLAG_DELETED) != 0 ? 1 : 0;
	return ret;
}

int maildir_flags_expunge(struct store_mailbox *box, const uint32_t *msns, size_t count,
			  bool only_deleted)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	uint32_t *uids = NULL;
	size_t uids_count = 0, uids_cap = 0;
	struct maildir_expunged_files files = { 0 };
	uint64_t modseq;
	int ret = 0;

	if (index_begin(ms->index, true) < 0)
		return -1;
	if (msns == NULL) {
		ret = index_msg_list_deleted(ms->index, mbox->id, &uids, &uids_count);
	} else {
		for (size_t i = 0; ret == 0 && i < count; i++) {
			if ((box->state[msns[i] - 1] & STORE_VIEW_EXPUNGED) != 0)
				continue;
			if (only_deleted) {
				ret = flags_has_deleted(ms, mbox->id, box->msgs[msns[i] - 1].uid);
				if (ret <= 0)
					continue;
				ret = 0;
			}
			ARRAY_RESERVE(uids, uids_cap, uids_count + 1);
			uids[uids_count++] = box->msgs[msns[i] - 1].uid;
		}
	}
	if (ret == 0 && uids_count > 0) {
		ret = index_mailbox_next_modseq(ms->index, mbox->id, &modseq);
		if (ret == 0)
			ret = maildir_flags_expunge_uids(ms, mbox->id, uids, uids_count,
							 modseq, &files);
		/* UIDNEXT must survive a rebuild even if the highest uids are gone */
		if (ret == 0)
			ret = maildir_index_write_uidlist(ms, mbox->id, mbox->dir);
	}
	free(uids);
	if (ret < 0 || uids_count == 0) {
		index_rollback(ms->index);
		maildir_flags_expunged_files_free(&files);
		return ret < 0 ? -1 : 0;
	}
	if (index_commit(ms->index) < 0) {
		maildir_flags_expunged_files_free(&files);
		return -1;
	}
	maildir_flags_expunged_files_unlink(ms, mbox->dir, &files);
	maildir_storage_notify(ms);
	return 0;
}
