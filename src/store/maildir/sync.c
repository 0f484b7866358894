/* sync.c: opening a Maildir mailbox, keeping its view up to date, and
 * picking up files that other programs dropped into new/.
 *
 * A sync with nothing to do costs one readdir of new/ and one indexed
 * query (the mailbox row: highestmodseq unchanged means nothing changed).
 * Otherwise the expunge tombstones and the messages with a modseq above
 * the view's are read in one snapshot and handed to store_view_apply().
 * \Recent is claimed by advancing the mailbox's watermark in a write
 * transaction, so exactly one read-write session gets each message. */
#include "store/maildir/maildir-private.h"
#include "base/fault.h"
#include "base/log.h"
#include "mime/parser.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int load_keywords(struct maildir_store *ms, struct maildir_mailbox *mbox)
{
	char **names;
	size_t count;

	if (index_keyword_list(ms->index, mbox->id, &names, &count) < 0)
		return -1;
	store_view_set_keywords(&mbox->box, (const char *const *)names, count);
	index_names_free(names, count);
	return 0;
}

/* Claims \Recent for this view: the uids [*first_r, uidnext) that no
 * session had claimed (an empty range when none are left).  A read-only
 * view (EXAMINE) sees them as \Recent without taking them (RFC 3501
 * 2.3.2: "if the session is read-write, subsequent sessions will not see
 * \Recent set"), from the watermark as last read from the index.  The
 * caller marks them in the view. */
static int claim_recent(struct maildir_store *ms, struct maildir_mailbox *mbox,
			uint32_t uidnext, uint32_t *first_r)
{
	uint32_t first;
	int ret;

	*first_r = uidnext;
	if (mbox->box.readonly) {
		*first_r = ROOST_MIN(mbox->recent_uid, uidnext);
		return 0;
	}
	if (mbox->recent_uid >= uidnext)
		return 0;
	if (index_begin(ms->index, true) < 0)
		return -1;
	ret = index_mailbox_claim_recent(ms->index, mbox->id, uidnext, &first);
	if (index_end(ms->index, ret) < 0)
		return -1;
	mbox->recent_uid = ROOST_MAX(first, uidnext);
	*first_r = ROOST_MIN(first, uidnext);
	return 0;
}

/* Frees a view without keeping it for the next open: one that failed
 * to open may be incomplete. */
static void sync_free(struct maildir_mailbox *mbox)
{
	struct store_mailbox *box = &mbox->box;

	store_view_deinit(box);
	store_msg_cache_data_free(&mbox->cache);
	str_free(&mbox->keys);
	free(mbox->dir);
	free(mbox);
}

/* The UIDs of the view that the mailbox no longer has, in the open read
 * transaction: the expunges of a view older than the mailbox's
 * tombstone floor, which the tombstones no longer all tell.  Reads
 * every UID of the mailbox (once, in such a rare case).  *expunged_r is
 * xmalloc'd (or NULL). */
static int view_expunged(struct maildir_store *ms, struct maildir_mailbox *mbox,
			 uint32_t **expunged_r, size_t *expunged_count_r)
{
	const struct store_mailbox *box = &mbox->box;
	uint32_t *uids = NULL, *expunged = NULL;
	size_t count = 0, j = 0, expunged_count = 0, cap = 0;

	if (index_msg_list_uids(ms->index, mbox->id, &uids, &count) < 0)
		return -1;
	/* both ascending */
	for (size_t i = 0; i < box->count; i++) {
		uint32_t uid = box->msgs[i].uid;
		while (j < count && uids[j] < uid)
			j++;
		if (j < count && uids[j] == uid)
			continue;
		ARRAY_RESERVE(expunged, cap, expunged_count + 1);
		expunged[expunged_count++] = uid;
	}
	free(uids);
	*expunged_r = expunged;
	*expunged_count_r = expunged_count;
	return 0;
}

/* What changed in the mailbox since modseq `since`, read in the open
 * read transaction: the keyword table (into the view), the uids
 * expunged and the rows changed or added (ascending uid), for
 * store_view_apply().  The arrays are xmalloc'd (or NULL). */
static int read_changes(struct maildir_store *ms, struct maildir_mailbox *mbox, uint64_t since,
			uint64_t floor, uint32_t **expunged_r, size_t *expunged_count_r,
			struct store_msg **changed_r, size_t *changed_count_r)
{
	struct store_msg *changed = NULL;
	size_t changed_count = 0, changed_cap = 0;
	struct index_msg_iter *iter;
	struct index_msg msg;
	int ret;

	*expunged_r = NULL;
	*expunged_count_r = 0;
	ret = load_keywords(ms, mbox);
	if (ret == 0 && since < floor)
		ret = view_expunged(ms, mbox, expunged_r, expunged_count_r);
	else if (ret == 0)
		ret = index_tombstone_list_since(ms->index, mbox->id, since, expunged_r,
						 expunged_count_r);
	iter = ret < 0 ? NULL : index_msg_iter_init(ms->index, mbox->id, since);
	while (ret >= 0 && (ret = index_msg_iter_next(iter, &msg)) > 0) {
		ARRAY_RESERVE(changed, changed_cap, changed_count + 1);
		changed[changed_count++] = msg.msg;
	}
	index_msg_iter_deinit(&iter);
	*changed_r = changed;
	*changed_count_r = changed_count;
	return ret < 0 ? -1 : 0;
}

/* Fills a new view from the store's cached snapshot of the mailbox (in
 * the open read transaction), and applies what changed since the
 * snapshot exactly as the sync of an open view would, with no callbacks.
 * Returns 1 if done, 0 if there is no valid snapshot (the caller loads
 * every message), -1 on error. */
static int open_from_snapshot(struct maildir_store *ms, struct maildir_mailbox *mbox,
			      const struct index_mailbox *row)
{
	static const struct store_sync_callbacks no_callbacks;
	struct store_view_snap *snap;
	uint32_t *expunged = NULL;
	struct store_msg *changed = NULL;
	size_t expunged_count = 0, changed_count = 0;
	int ret = 0;

	snap = store_view_cache_get(&ms->store, mbox->id, row->uidvalidity);
	/* a snapshot from ahead of the index cannot be: the index was
	 * replaced under the store; never trust it */
	if (snap == NULL || snap->highestmodseq > row->highestmodseq ||
	    snap->uidnext > row->uidnext)
		return 0;
	/* older than the tombstones that are left: its expunges are not
	 * all known (tombstone.c) */
	if (snap->highestmodseq < row->tombstone_floor)
		return 0;
	store_view_init_snap(&mbox->box, snap);
	if (snap->highestmodseq != row->highestmodseq) {
		ret = read_changes(ms, mbox, snap->highestmodseq, row->tombstone_floor,
				   &expunged, &expunged_count, &changed, &changed_count);
	} else {
		ret = load_keywords(ms, mbox);
	}
	if (ret == 0) {
		/* \Recent is claimed and marked by the caller */
		store_view_apply(&mbox->box, expunged, expunged_count, changed, changed_count,
				 row->uidnext, row->highestmodseq, row->uidnext, 0,
				 &no_callbacks, NULL);
	}
	free(expunged);
	free(changed);
	return ret < 0 ? -1 : 1;
}

int maildir_sync_open(struct store *store, const char *name, bool readonly,
		      struct store_mailbox **box_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct index_mailbox row;
	struct maildir_mailbox *mbox;
	struct index_msg_iter *iter;
	struct index_msg msg;
	uint32_t recent_first;
	char *dir;
	int ret;

	if ((dir = maildir_storage_mailbox_dir(ms, name)) == NULL)
		return -1;
	/* the first open in this process adopts what a crash left in cur/
	 * (recover.c) before the view is read */
	ret = index_mailbox_get(ms->index, name, &row);
	if (ret > 0 && maildir_recover_on_open(ms, row.id, dir, row.uidnext) < 0) {
		free(dir);
		return -1;
	}
	if (index_begin(ms->index, false) < 0) {
		free(dir);
		return -1;
	}
	ret = index_mailbox_get(ms->index, name, &row);
	if (ret <= 0) {
		if (ret == 0)
			store_set_error(store, STORE_ERR_NOTFOUND, "Mailbox doesn't exist: %s", name);
		index_rollback(ms->index);
		free(dir);
		return -1;
	}
	mbox = xcalloc(1, sizeof(*mbox));
	store_view_init(&mbox->box, store, name, readonly);
	snprintf(mbox->box.mailboxid, sizeof(mbox->box.mailboxid), "%s", row.mailboxid);
	mbox->id = row.id;
	mbox->dir = dir;
	mbox->recent_uid = row.recent_uid;

	ret = open_from_snapshot(ms, mbox, &row);
	if (ret == 0) {
		/* no snapshot: every message */
		mbox->box.uidvalidity = row.uidvalidity;
		mbox->box.uidnext = row.uidnext;
		mbox->box.highestmodseq = row.highestmodseq;
		ret = load_keywords(ms, mbox);
		iter = ret < 0 ? NULL : index_msg_iter_init(ms->index, mbox->id, 0);
		while (ret == 0 && (ret = index_msg_iter_next(iter, &msg)) > 0) {
			store_view_append(&mbox->box, &msg.msg);
			ret = 0;
		}
		index_msg_iter_deinit(&iter);
	} else if (ret > 0) {
		ret = 0;
	}
	mbox->box.keywords_reported = mbox->box.keyword_count;
	index_rollback(ms->index);
	if (ret == 0)
		ret = claim_recent(ms, mbox, mbox->box.uidnext, &recent_first);
	if (ret < 0) {
		sync_free(mbox);
		return -1;
	}
	store_view_mark_recent(&mbox->box, recent_first, mbox->box.uidnext);
	/* shared with the next open, and with other sessions' opens */
	store_view_cache_put(&mbox->box, mbox->id);
	maildir_storage_clean_tmp(ms, mbox->dir, MAILDIR_TMP_MAX_AGE);
	*box_r = &mbox->box;
	return 0;
}


void maildir_sync_close(struct store_mailbox *box)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;

	store_view_cache_put(box, mbox->id);
	sync_free(mbox);
}

/* ---- new/ pickup ---- */

int maildir_sync_copy_crlf(struct maildir_store *ms, int in_fd, const char *tmp_path,
			   uint64_t *size_r, uint64_t *header_size_r,
			   struct mime_parser **parser_r)
{
	struct maildir_header_scan scan = { 0 };
	/* CRLF everywhere but in the body of a binary part, whose LF bytes
	 * are data, as a literal8 APPEND stores it (mime_parser_feed_crlf()) */
	struct mime_parser *parser = mime_parser_create();
	struct str out = STR_INIT;
	char in[65536];
	ssize_t n;
	int fd, ret = 0;

	if (parser_r != NULL)
		*parser_r = NULL;
	/* the tree is of the bytes written, served as they are */
	mime_parser_set_physical_sizes(parser);
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		mime_parser_destroy(&parser);
		return maildir_storage_set_syscall_error(ms, "open", tmp_path);
	}
	*size_r = 0;
	while ((n = read(in_fd, in, sizeof(in))) > 0) {
		str_truncate(&out, 0);
		mime_parser_feed_crlf(parser, in, (size_t)n, &out);
		maildir_file_header_scan_feed(&scan, out.data, out.len);
		if (fault_inject(FAULT_MSG_WRITE) < 0 || write_full(fd, out.data, out.len) < 0) {
			ret = maildir_storage_set_syscall_error(ms, "write", tmp_path);
			break;
		}
		*size_r += out.len;
	}
	if (n < 0)
		ret = maildir_storage_set_syscall_error(ms, "read", tmp_path);
	if (ret == 0)
		ret = maildir_storage_fsync_fd(ms, fd, tmp_path);
	if (close(fd) < 0 && ret == 0)
		ret = maildir_storage_set_syscall_error(ms, "close", tmp_path);
	*header_size_r = maildir_file_header_scan_result(&scan);
	if (ret == 0 && parser_r != NULL)
		*parser_r = parser;
	else
		mime_parser_destroy(&parser);
	str_free(&out);
	return ret;
}

/* The model and the text of the file just written at tmp_path, from the
 * parse of its copy (parse once, as an append does).  false when the
 * file cannot be read back: the row is then written without them and
 * they are parsed on first use. */
static bool pickup_parse(const char *tmp_path, struct mime_parser *parser,
			 struct store_msg_cache_data *cache_r,
			 struct store_msg_text_data *text_r)
{
	int fd = open(tmp_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct istream *msg;
	int ret;

	if (fd < 0)
		return false;
	msg = istream_from_fd(fd);
	ret = store_msg_cache_text_build(cache_r, text_r, parser, msg);
	istream_destroy(&msg);
	if (ret < 0)
		return false;
	return true;
}

/* Moves one new/ file into cur/ with a UID.  Runs inside the write
 * transaction, after the marker of recover.c: a crash before the commit
 * leaves the file in cur/ for the next writer to adopt.  1 = done, 0 = the file
 * was gone (another process took it), -1 = error. */
static int pickup_one(struct maildir_store *ms, int64_t mailbox_id, const char *dir,
		      const char *name, uint32_t uid)
{
	char *src = xasprintf("%s/new/%s", dir, name);
	struct maildir_filename fn;
	char *tmp = NULL, *final = NULL, *dst = NULL;
	uint64_t size, header_size, modseq;
	struct mime_parser *parser = NULL;
	struct store_msg_cache_data cache;
	struct store_msg_text_data text;
	bool parsed = false;
	struct timespec times[2];
	struct stat st;
	int fd, ret;

	fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ret = errno == ENOENT ? 0 : maildir_storage_set_syscall_error(ms, "open", src);
		free(src);
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = maildir_storage_set_syscall_error(ms, "fstat", src);
		close(fd);
		free(src);
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		free(src);
		return 0;
	}
	maildir_file_name_parse(name, &fn);
	tmp = xasprintf("%s/tmp/%s", dir, fn.unique);
	ret = maildir_sync_copy_crlf(ms, fd, tmp, &size, &header_size, &parser);
	close(fd);
	if (ret == 0) {
		parsed = pickup_parse(tmp, parser, &cache, &text);
		mime_parser_destroy(&parser);
		times[0] = st.st_mtim;
		times[1] = st.st_mtim;
		(void)utimensat(AT_FDCWD, tmp, times, 0);
		final = maildir_file_name(fn.unique, size, uid, fn.flags, 0);
		dst = xasprintf("%s/cur/%s", dir, final);
		if (rename(tmp, dst) < 0) {
			ret = maildir_storage_set_syscall_error(ms, "rename", tmp);
			(void)unlink(tmp);
		} else if (unlink(src) < 0 && errno != ENOENT) {
			ret = maildir_storage_set_syscall_error(ms, "unlink", src);
			/* still in new/: the copy must not be adopted from
			 * cur/ too (once more at every sync) */
			(void)unlink(dst);
		}
	} else {
		(void)unlink(tmp);
	}
	if (ret == 0)
		ret = index_mailbox_next_modseq(ms->index, mailbox_id, &modseq);
	if (ret == 0) {
		struct store_msg msg = {
			.uid = uid, .flags = fn.flags, .modseq = modseq,
			.internaldate = st.st_mtime, .size = size, .header_size = header_size,
		};

		ret = index_msg_insert(ms->index, mailbox_id, final, &msg,
				       parsed ? &cache : NULL);
		if (ret == 0 && parsed)
			ret = index_fts_insert(ms->index, mailbox_id, uid, &text);
	}
	if (parsed) {
		store_msg_cache_data_free(&cache);
		store_msg_text_data_free(&text);
	}
	free(fn.unique);
	free(src);
	free(tmp);
	free(final);
	free(dst);
	return ret < 0 ? -1 : 1;
}

int maildir_sync_pickup_new(struct maildir_store *ms, int64_t mailbox_id, const char *dir)
{
	struct index_mailbox row;
	char **names = NULL, *newdir = xasprintf("%s/new", dir), *curdir = NULL;
	char *name = NULL, *current_dir = NULL, *marker = NULL;
	size_t count = 0, cap = 0, i, n_names;
	uint32_t uid;
	struct dirent *de;
	bool picked = false;
	DIR *d;
	int ret;

	if ((d = opendir(newdir)) == NULL) {
		ret = errno == ENOENT ? 0 : maildir_storage_set_syscall_error(ms, "opendir", newdir);
		free(newdir);
		return ret;
	}
	while ((de = readdir(d)) != NULL) {
		/* dot files are being written (or not mail); no write
		 * transaction for what cannot be a message */
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		ARRAY_RESERVE(names, cap, count + 1);
		names[count++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (count == 0) {
		free(newdir);
		return 0;
	}
	n_names = count;

	ret = index_begin(ms->index, true);
	if (ret == 0) {
		ret = index_mailbox_get_by_id(ms->index, mailbox_id, &row, &name);
		if (ret == 0) {
			store_set_error(&ms->store, STORE_ERR_NOTFOUND, "Mailbox was deleted");
			ret = -1;
		}
	}
	/* renamed since the caller looked: the next sync finds the new path */
	if (ret > 0 && ((current_dir = maildir_storage_mailbox_dir(ms, name)) == NULL ||
			strcmp(current_dir, dir) != 0))
		count = 0;
	/* never a UID that a file left by a crash carries (recover.c) */
	if (ret > 0 && count > 0 &&
	    maildir_recover_before_alloc(ms, mailbox_id, dir, &row.uidnext) < 0)
		ret = -1;
	if (ret > 0 && count > 0 &&
	    (marker = maildir_recover_marker_create(ms, dir, row.uidnext,
						    row.uidnext + (uint32_t)(count - 1))) == NULL)
		ret = -1;
	uid = ret > 0 ? row.uidnext : 0;
	for (i = 0; ret > 0 && i < count; i++) {
		ret = pickup_one(ms, mailbox_id, dir, names[i], uid);
		if (ret > 0) {
			uid++;
			picked = true;
		} else if (ret == 0) {
			ret = 1;
		}
	}
	if (ret > 0 && picked) {
		ret = index_mailbox_set_uidnext(ms->index, mailbox_id, uid);
		curdir = xasprintf("%s/cur", dir);
		if (ret == 0)
			ret = maildir_storage_fsync_dir(ms, curdir);
		if (ret == 0)
			ret = maildir_storage_fsync_dir(ms, newdir);
	}
	for (i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	free(name);
	free(current_dir);
	free(curdir);
	free(newdir);
	if (ret < 0) {
		/* files already moved out of new/ stay in cur/ with the
		 * marker, and the next writer adopts them (recover.c) */
		free(marker);
		index_rollback(ms->index);
		return -1;
	}
	if (!picked) {
		maildir_recover_marker_remove(&marker);
		index_rollback(ms->index);
		return 0;
	}
	if (index_commit(ms->index) < 0) {
		free(marker);
		return -1;
	}
	maildir_recover_marker_remove(&marker);
	maildir_storage_notify(ms);
	return 0;
}

/* ---- sync ---- */

int maildir_sync_vanished(struct store_mailbox *box, uint64_t since,
			  uint32_t **uids_r, size_t *count_r,
			  uint64_t *complete_since_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;

	struct index_mailbox row;
	int ret;

	if (since > INT64_MAX)
		since = INT64_MAX;
	/* the floor and the list from one snapshot */
	if (index_begin(ms->index, false) < 0)
		return -1;
	ret = index_mailbox_get_by_id(ms->index, mbox->id, &row, NULL);
	if (ret == 0)
		store_set_error(box->store, STORE_ERR_NOTFOUND, "Mailbox was deleted: %s", box->name);
	if (ret > 0) {
		*complete_since_r = row.tombstone_floor;
		ret = index_tombstone_list_since(ms->index, mbox->id, since, uids_r,
						 count_r) < 0 ? -1 : 1;
	}
	index_rollback(ms->index);
	return ret > 0 ? 0 : -1;
}

int maildir_sync_sync(struct store_mailbox *box, enum store_sync_flags flags,
		      const struct store_sync_callbacks *cb, void *ctx)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	struct index_mailbox row;
	uint32_t *expunged = NULL;
	struct store_msg *changed = NULL;
	size_t expunged_count = 0, changed_count = 0;
	uint32_t recent_first = 0;
	char *name = NULL;
	int ret;

	if (maildir_sync_pickup_new(ms, mbox->id, mbox->dir) < 0)
		return -1;
	if (index_begin(ms->index, false) < 0)
		return -1;
	ret = index_mailbox_get_by_id(ms->index, mbox->id, &row, &name);
	if (ret == 0) {
		store_set_error(box->store, STORE_ERR_NOTFOUND, "Mailbox was deleted: %s",
				box->name);
		ret = -1;
	}
	if (ret > 0 && strcmp(name, box->name) != 0) {
		/* renamed by another session */
		char *dir = maildir_storage_mailbox_dir(ms, name);

		if (dir != NULL) {
			free(mbox->dir);
			mbox->dir = dir;
			free(box->name);
			box->name = xstrdup(name);
		}
	}
	free(name);
	if (ret > 0 && row.recent_uid > mbox->recent_uid)
		mbox->recent_uid = row.recent_uid;
	if (ret > 0 && row.highestmodseq != box->highestmodseq &&
	    read_changes(ms, mbox, box->highestmodseq, row.tombstone_floor, &expunged,
			 &expunged_count,
			 &changed, &changed_count) < 0)
		ret = -1;
	index_rollback(ms->index);
	/* claimed before the callbacks run, so EXISTS can say how many are
	 * \Recent */
	if (ret >= 0)
		ret = claim_recent(ms, mbox, row.uidnext, &recent_first);
	if (ret >= 0) {
		store_view_apply(box, expunged, expunged_count, changed, changed_count,
				 row.uidnext, row.highestmodseq, recent_first, flags, cb, ctx);
	}
	free(expunged);
	free(changed);
	return ret < 0 ? -1 : 0;
}

int maildir_sync_msg_stream(struct store_mailbox *box, uint32_t msn,
			    struct istream **stream_r)
{
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = (struct maildir_store *)box->store;
	char *file = NULL, *actual;
	int ret, fd = -1;

	/* Another process renames the file (flag change) before it commits
	 * the new name, and a readdir running beside a rename in the same
	 * directory may see neither name: look again, with the name the
	 * index has then, before calling the message expunged. */
	for (int attempt = 0; attempt < 3 && fd < 0; attempt++) {
		if (attempt > 0)
			usleep(10000);
		free(file);
		file = NULL;
		ret = index_msg_get(ms->index, mbox->id, box->msgs[msn - 1].uid, NULL, &file);
		if (ret < 0)
			return -1;
		if (ret == 0) {
			store_set_error(box->store, STORE_ERR_EXPUNGED, "Message was expunged");
			return -1;
		}
		fd = maildir_file_open_msg(mbox->dir, file, &actual);
		free(actual);
		if (fd < 0 && errno != ENOENT)
			break;
	}
	if (fd < 0 && errno == ENOENT) {
		/* a row without its file would be reported expunged to
		 * every FETCH for ever: expunge it, and the next sync tells
		 * the sessions (recover.c) */
		if (maildir_recover_vanished(ms, mbox->id, box->msgs[msn - 1].uid) < 0) {
			log_warning("store(%s): %s", ms->store.user,
				    box->store->error == NULL ? "" : box->store->error);
		}
		store_set_error(box->store, STORE_ERR_EXPUNGED, "Message was expunged");
	} else if (fd < 0) {
		maildir_storage_set_syscall_error(ms, "open", file);
	}
	free(file);
	if (fd < 0)
		return -1;
	*stream_r = istream_from_fd(fd);
	return 0;
}
