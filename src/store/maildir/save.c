/* save.c: APPEND, COPY and MOVE in the Maildir backend.
 *
 * Append: the bytes stream into tmp/<unique>; at commit, inside one
 * BEGIN IMMEDIATE transaction, the file gets the next UID, is renamed
 * into cur/ under its final name, then the file and cur/ are fsynced and
 * the row is committed.  A crash before the rename leaves only a tmp/
 * file (removed 36 hours after its last change, or by a rebuild); a
 * crash between the rename and the commit leaves an unindexed file in
 * cur/ and a marker in tmp/, and the next writer adopts that file before
 * it hands out a UID (recover.c), so no UID is ever given to two files;
 * a file whose size is not its S= (the crash came before its fsync) is
 * removed instead: no row, so no client was told it was stored.  A COMMIT that fails removes the file and the marker again,
 * unless it may be durable all the same (then it is left as a crash
 * would leave it; maildir_recover_marker_end()).  No half message
 * is ever visible.  The bytes also stream through the mime parser as they
 * are written, and the row is inserted with the message model
 * (store_msg_cache_data, see cache.c) and, in the same transaction, its
 * decoded text for SEARCH (store_msg_text_data, see fts.c).  Copy
 * hard-links into the destination's cur/ (falling back to a byte copy) in
 * the same way and copies the cached model and text with the row; MOVE
 * also expunges the sources in that transaction. */
#include "store/maildir/maildir-private.h"
#include "base/fault.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The context of an append to mailbox_name, without its file. */
static struct maildir_append *save_ctx_new(struct store *store, const char *mailbox_name)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct index_mailbox row;
	struct maildir_append *ctx;
	char *dir;

	if (maildir_mailbox_lookup(ms, mailbox_name, &row, &dir) < 0)
		return NULL;
	ctx = xcalloc(1, sizeof(*ctx));
	ctx->ms = ms;
	ctx->mailbox_id = row.id;
	ctx->dir = dir;
	ctx->unique = maildir_file_unique();
	ctx->fd = -1;
	return ctx;
}

int maildir_save_begin(struct store *store, const char *mailbox_name,
		       struct store_append **ctx_r)
{
	struct maildir_append *ctx = save_ctx_new(store, mailbox_name);

	if (ctx == NULL)
		return -1;
	ctx->tmp_path = xasprintf("%s/tmp/%s", ctx->dir, ctx->unique);
	ctx->parser = mime_parser_create();
	/* BODYSTRUCTURE sizes are those of the stored bytes, which FETCH
	 * sends as they are: the arrival paths store CRLF line ends, and
	 * what bare LF is left (binary data of a literal8) is sent and
	 * counted as it is */
	mime_parser_set_physical_sizes(ctx->parser);
	ctx->fd = open(ctx->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (ctx->fd < 0) {
		maildir_storage_set_syscall_error(ctx->ms, "open", ctx->tmp_path);
		mime_parser_destroy(&ctx->parser);
		free(ctx->dir);
		free(ctx->unique);
		free(ctx->tmp_path);
		free(ctx);
		return -1;
	}
	*ctx_r = &ctx->ctx;
	return 0;
}

int maildir_save_begin_message(struct store *store, const char *mailbox_name,
			       struct store_message *message, struct store_append **ctx_r)
{
	struct maildir_message *msg = (struct maildir_message *)message;
	struct maildir_append *ctx;

	if (!msg->finished || msg->failed) {
		store_set_error(store, STORE_ERR_PARAMS, "The message is not complete");
		return -1;
	}
	if ((ctx = save_ctx_new(store, mailbox_name)) == NULL)
		return -1;
	ctx->message = msg;
	ctx->size = msg->scan.offset;
	ctx->header_done = msg->scan.done;
	ctx->header_size = msg->scan.header_size;
	*ctx_r = &ctx->ctx;
	return 0;
}

int maildir_save_write(struct store_append *_ctx, const void *data, size_t size)
{
	struct maildir_append *ctx = (struct maildir_append *)_ctx;
	struct maildir_header_scan scan = {
		.offset = ctx->size, .done = ctx->header_done,
		.header_size = ctx->header_size, .line_has_content = ctx->line_has_content,
	};

	store_clear_error(&ctx->ms->store);
	if (ctx->message != NULL) {
		store_set_error(&ctx->ms->store, STORE_ERR_PARAMS,
				"The message of this append is already written");
		return -1;
	}
	if (ctx->failed) {
		store_set_error(&ctx->ms->store, STORE_ERR_TEMP, "Append already failed");
		return -1;
	}
	if (fault_inject(FAULT_MSG_WRITE) < 0 || write_full(ctx->fd, data, size) < 0) {
		ctx->failed = true;
		return maildir_storage_set_syscall_error(ctx->ms, "write", ctx->tmp_path);
	}
	maildir_file_header_scan_feed(&scan, data, size);
	mime_parser_feed(ctx->parser, data, size);
	ctx->size = scan.offset;
	ctx->header_done = scan.done;
	ctx->header_size = scan.header_size;
	ctx->line_has_content = scan.line_has_content;
	return 0;
}

static void append_free(struct maildir_append *ctx)
{
	if (ctx->fd >= 0)
		close(ctx->fd);
	if (ctx->parser != NULL)
		mime_parser_destroy(&ctx->parser);
	free(ctx->dir);
	free(ctx->unique);
	free(ctx->tmp_path);
	free(ctx);
}

void maildir_save_abort(struct store_append *_ctx)
{
	struct maildir_append *ctx = (struct maildir_append *)_ctx;

	if (ctx->tmp_path != NULL)
		(void)unlink(ctx->tmp_path);
	append_free(ctx);
}

/* The model with its preview and the text SEARCH looks at, from the
 * parse and the bytes just written (read back from tmp/, still in the
 * page cache).  0 or -1 (error set; both left empty). */
static int cache_text_build(struct maildir_append *ctx, struct store_msg_cache_data *cache_r,
			    struct store_msg_text_data *text_r)
{
	int fd = open(ctx->tmp_path, O_RDONLY | O_CLOEXEC);
	struct istream *msg;
	int ret;

	if (fd < 0) {
		memset(cache_r, 0, sizeof(*cache_r));
		memset(text_r, 0, sizeof(*text_r));
		return maildir_storage_set_syscall_error(ctx->ms, "open", ctx->tmp_path);
	}
	msg = istream_from_fd(fd);
	ret = store_msg_cache_text_build(cache_r, text_r, ctx->parser, msg);
	istream_destroy(&msg);
	if (ret < 0)
		return maildir_storage_set_syscall_error(ctx->ms, "read", ctx->tmp_path);
	return 0;
}

/* The current directory of a mailbox by id (it may have been renamed). */
static int mailbox_dir_by_id(struct maildir_store *ms, int64_t id,
			     struct index_mailbox *row_r, char **dir_r)
{
	char *name;
	int ret = index_mailbox_get_by_id(ms->index, id, row_r, &name);

	if (ret == 0) {
		store_set_error(&ms->store, STORE_ERR_NOTFOUND, "Mailbox was deleted");
		return -1;
	}
	if (ret < 0)
		return -1;
	*dir_r = maildir_storage_mailbox_dir(ms, name);
	free(name);
	return *dir_r == NULL ? -1 : 0;
}

int maildir_save_commit(struct store_append *_ctx, uint32_t flags,
			const char *const *keywords, size_t keyword_count,
			time_t internaldate, int tz, uint32_t *uidvalidity_r,
			uint32_t *uid_r)
{
	struct maildir_append *ctx = (struct maildir_append *)_ctx;
	struct maildir_store *ms = ctx->ms;
	struct index_mailbox row;
	struct store_msg msg = { 0 };
	struct store_msg_cache_data own_cache;
	const struct store_msg_cache_data *cache = &own_cache;
	struct store_msg_text_data own_text;
	const struct store_msg_text_data *text = &own_text;
	struct timespec times[2];
	char *dir = NULL, *tmp_path = NULL, *final = NULL, *dst = NULL, *cur = NULL;
	char *marker = NULL;
	int ret = 0;

	if (ctx->failed) {
		maildir_save_abort(_ctx);
		return -1;
	}
	if (ctx->message != NULL) {
		/* written, parsed and synced once for every mailbox */
		cache = &ctx->message->cache;
		text = &ctx->message->text;
		if (internaldate == 0)
			internaldate = ctx->message->internaldate;
	} else {
		/* parsed outside the index transaction, which it would only
		 * lengthen */
		ret = cache_text_build(ctx, &own_cache, &own_text);
		mime_parser_destroy(&ctx->parser);
		if (ret < 0) {
			maildir_save_abort(_ctx);
			return -1;
		}
		if (internaldate == 0)
			internaldate = time(NULL);
		/* the mtime before the fsync, which makes it durable too;
		 * the fsync itself comes after the rename (below) */
		times[0].tv_sec = times[1].tv_sec = internaldate;
		times[0].tv_nsec = times[1].tv_nsec = 0;
		if (futimens(ctx->fd, times) < 0)
			ret = maildir_storage_set_syscall_error(ms, "futimens", ctx->tmp_path);
	}
	if (ret < 0 || index_begin(ms->index, true) < 0) {
		if (cache == &own_cache) {
			store_msg_cache_data_free(&own_cache);
			store_msg_text_data_free(&own_text);
		}
		maildir_save_abort(_ctx);
		return -1;
	}

	ret = mailbox_dir_by_id(ms, ctx->mailbox_id, &row, &dir);
	if (ret == 0 && ctx->message == NULL) {
		/* a rename between begin and commit moved tmp/ along */
		tmp_path = xasprintf("%s/tmp/%s", dir, ctx->unique);
	}
	for (size_t i = 0; ret == 0 && i < keyword_count; i++) {
		int idx = maildir_index_keyword_get(ms, ctx->mailbox_id, dir, keywords[i]);

		if (idx < 0)
			ret = -1;
		else
			msg.keywords |= (store_keywords_t)1 << idx;
	}
	if (ret == 0)
		ret = index_mailbox_next_modseq(ms->index, ctx->mailbox_id, &msg.modseq);
	/* never a UID that a file left by a crash carries (recover.c) */
	if (ret == 0)
		ret = maildir_recover_before_alloc(ms, ctx->mailbox_id, dir, &row.uidnext);
	/* store_append_set_uid(): a UID at or above UIDNEXT only */
	if (ret == 0 && ctx->ctx.want_uid >= row.uidnext)
		row.uidnext = ctx->ctx.want_uid;
	if (ret == 0 && (marker = maildir_recover_marker_create(ms, dir, row.uidnext,
								row.uidnext)) == NULL)
		ret = -1;
	if (ret == 0) {
		msg.uid = row.uidnext;
		msg.flags = flags;
		msg.internaldate = internaldate;
		msg.internaldate_tz = tz;
		msg.size = ctx->size;
		msg.header_size = ctx->header_done ? ctx->header_size : ctx->size;
		final = maildir_file_name(ctx->unique, msg.size, msg.uid, flags, msg.keywords);
		dst = xasprintf("%s/cur/%s", dir, final);
		cur = xasprintf("%s/cur", dir);
		if (ctx->message != NULL) {
			if (maildir_message_place(ms, ctx->message, dst) < 0) {
				ret = -1;
				free(dst);
				dst = NULL;
			}
		} else if (rename(tmp_path, dst) < 0) {
			ret = maildir_storage_set_syscall_error(ms, "rename", tmp_path);
			free(dst);
			dst = NULL;
		}
	}
	/* the file's data and its name in cur/ reach the disk before the
	 * row is committed; with the file synced after its rename, one
	 * journal commit of the file system can carry both (ext4 commits
	 * the rename with the file's blocks, and the directory's fsync then
	 * finds nothing left to write).  Until then a crash can leave the
	 * name in cur/ with fewer bytes than its S=: never acknowledged, no
	 * row, and recovery removes it instead of adopting it (recover.c) */
	if (ret == 0 && ctx->fd >= 0)
		ret = maildir_storage_fsync_fd(ms, ctx->fd, dst);
	if (ctx->fd >= 0) {
		if (close(ctx->fd) < 0 && ret == 0)
			ret = maildir_storage_set_syscall_error(ms, "close", dst);
		ctx->fd = -1;
	}
	if (ret == 0)
		ret = maildir_storage_fsync_dir(ms, cur);
	if (ret == 0)
		ret = index_msg_insert(ms->index, ctx->mailbox_id, final, &msg, cache);
	if (ret == 0)
		ret = index_fts_insert(ms->index, ctx->mailbox_id, msg.uid, text);
	if (cache == &own_cache) {
		store_msg_cache_data_free(&own_cache);
		store_msg_text_data_free(&own_text);
	}
	if (ret == 0)
		ret = index_mailbox_set_uidnext(ms->index, ctx->mailbox_id, msg.uid + 1);
	if (ret < 0 && tmp_path != NULL)
		(void)unlink(tmp_path);
	ret = maildir_recover_marker_end(ms, ret, &marker, &dst, dst == NULL ? 0 : 1);
	if (ret == 0) {
		maildir_storage_notify(ms);
		*uidvalidity_r = row.uidvalidity;
		*uid_r = msg.uid;
	}
	if (ctx->tmp_path != NULL)
		(void)unlink(ctx->tmp_path);
	free(dir);
	free(tmp_path);
	free(final);
	free(dst);
	free(cur);
	append_free(ctx);
	return ret < 0 ? -1 : 0;
}

/* ---- copy ---- */

static int copy_file(struct maildir_store *ms, const char *src, const char *dst,
		     time_t internaldate)
{
	int in, ret;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	ret = maildir_file_copy_fd(ms, in, dst, internaldate);
	close(in);
	return ret;
}

/* All or nothing: a source expunged meanwhile fails the copy, so every
 * source gets a destination UID (COPYUID) when it succeeds. */
static int set_expunged_error(struct maildir_store *ms)
{
	store_set_error(&ms->store, STORE_ERR_EXPUNGED,
			"Some of the requested messages no longer exist.");
	return -1;
}

/* Hard-links (or copies) src_dir/cur/file to dst.  0, -1 with ENOENT in
 * errno and no error set if the source is gone, or -1 with error set. */
static int link_msg(struct maildir_store *ms, const char *src_dir, const char *file,
		    const char *dst, time_t internaldate)
{
	char *src = xasprintf("%s/cur/%s", src_dir, file);
	int ret = link(src, dst);

	if (ret < 0 && errno == ENOENT) {
		struct maildir_filename fn;
		char *found;

		maildir_file_name_parse(file, &fn);
		found = maildir_file_find_unique(src_dir, fn.unique);
		free(fn.unique);
		if (found != NULL) {
			free(src);
			src = xasprintf("%s/cur/%s", src_dir, found);
			free(found);
			ret = link(src, dst);
		}
	}
	if (ret < 0 && errno != ENOENT) {
		/* EXDEV, EPERM, EMLINK, ...: copy the bytes */
		ret = copy_file(ms, src, dst, internaldate);
	} else if (ret < 0) {
		errno = ENOENT;
	}
	free(src);
	return ret;
}

/* A copy in steps.  Staging (any number of steps, no write transaction):
 * each source file is hard-linked (or copied) into the destination's
 * tmp/ as ".copy-<unique>" (MAILDIR_COPY_STAGE_PREFIX), where nobody
 * looks for messages and from where the tmp/ cleanup removes what a
 * crash leaves behind (by ctime: the link keeps the source's mtime).
 * Commit (one step, one write transaction): each staged file is renamed
 * into cur/ under its final name with the UID it gets, its row is
 * inserted with the source's current flags, keywords (by name) and
 * message model, cur/ is fsynced and, for MOVE, the sources are
 * expunged; on any failure the transaction is rolled back and the
 * renamed files are removed.  MOVE commits in parts of
 * MAILDIR_MOVE_CHUNK messages instead, each moved in one transaction
 * with the expunge of its sources.  Text (COPY only): the sources' full-text
 * rows are copied in short transactions of their own after the commit;
 * a row not copied (the source expunged meanwhile, a disconnect) is
 * filled lazily like that of a message picked up from new/.  MOVE copies
 * them in the commit, since it deletes the sources' rows. */
#define MAILDIR_MOVE_CHUNK 256

struct maildir_copy {
	struct store_copy ctx;
	struct maildir_store *ms;
	int64_t dest_id;
	char *dest_dir;		/* as of the last step */
	bool move;
	enum { COPY_STAGE, COPY_COMMIT, COPY_TEXT } phase;
	uint32_t *msns;
	size_t count, next;
	char **staged;		/* unique names in dest_dir/tmp; NULL once gone */
};

static int copy_stage(struct maildir_copy *c, unsigned int max_msgs)
{
	struct store_mailbox *box = c->ctx.box;
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = c->ms;
	struct index_mailbox dest;
	char *dest_dir;

	/* the destination may have been renamed (its tmp/ went with it)
	 * or deleted since the last step */
	if (mailbox_dir_by_id(ms, c->dest_id, &dest, &dest_dir) < 0)
		return -1;
	free(c->dest_dir);
	c->dest_dir = dest_dir;
	for (unsigned int n = 0; n < max_msgs && c->next < c->count; n++) {
		uint32_t msn = c->msns[c->next];
		struct store_msg msg;
		char *file, *unique, *dst;
		int ret;

		if ((box->state[msn - 1] & STORE_VIEW_EXPUNGED) != 0)
			return set_expunged_error(ms);
		ret = index_msg_get(ms->index, mbox->id, box->msgs[msn - 1].uid, &msg, &file);
		if (ret <= 0)
			return ret == 0 ? set_expunged_error(ms) : -1;

		unique = maildir_file_unique();
		dst = xasprintf("%s/tmp/" MAILDIR_COPY_STAGE_PREFIX "%s", c->dest_dir, unique);
		ret = link_msg(ms, mbox->dir, file, dst, msg.internaldate);
		free(dst);
		free(file);
		if (ret < 0) {
			free(unique);
			if (errno == ENOENT && box->store->error == NULL)
				return set_expunged_error(ms);	/* file gone */
			return -1;
		}
		c->staged[c->next++] = unique;
	}
	if (c->next == c->count) {
		c->phase = COPY_COMMIT;
		c->next = 0;
	}
	return 0;
}

static int copy_commit(struct maildir_copy *c, size_t first, size_t end)
{
	struct store_mailbox *box = c->ctx.box;
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = c->ms;
	struct index_mailbox dest;
	char **src_kw = NULL, **created, *dest_dir = NULL, *dest_cur = NULL;
	size_t src_kw_count = 0, created_count = 0;
	uint32_t *uids = c->ctx.uids;
	uint32_t *moved = NULL;
	size_t moved_count = 0;
	struct maildir_expunged_files expunged = { 0 };
	char *marker = NULL;
	uint64_t dest_modseq = 0, src_modseq;
	uint32_t uidnext;
	int ret;

	created = xcalloc(c->count == 0 ? 1 : c->count, sizeof(*created));
	if (index_begin(ms->index, true) < 0) {
		free(created);
		return -1;
	}
	/* by id: renamed meanwhile, the staged files went with the folder */
	ret = mailbox_dir_by_id(ms, c->dest_id, &dest, &dest_dir);
	if (ret == 0) {
		free(c->dest_dir);
		c->dest_dir = xstrdup(dest_dir);
		ret = index_keyword_list(ms->index, mbox->id, &src_kw, &src_kw_count);
	}
	if (ret == 0 && end > first)
		ret = index_mailbox_next_modseq(ms->index, dest.id, &dest_modseq);
	/* never a UID that a file left by a crash carries (recover.c) */
	if (ret == 0 && end > first)
		ret = maildir_recover_before_alloc(ms, dest.id, dest_dir, &dest.uidnext);
	if (ret == 0 && end > first &&
	    (marker = maildir_recover_marker_create(ms, dest_dir, dest.uidnext,
						    dest.uidnext + (uint32_t)(end - first - 1))) == NULL)
		ret = -1;
	uidnext = dest.uidnext;
	dest_cur = dest_dir == NULL ? NULL : xasprintf("%s/cur", dest_dir);
	if (c->move)
		moved = xcalloc(c->count == 0 ? 1 : c->count, sizeof(*moved));

	for (size_t i = first; ret == 0 && i < end; i++) {
		uint32_t src_uid = box->msgs[c->msns[i] - 1].uid;
		struct store_msg msg;
		char *final, *tmp;

		/* the source as it is now: flags changed since staging are
		 * copied, a source expunged meanwhile fails the copy */
		ret = index_msg_get(ms->index, mbox->id, src_uid, &msg, NULL);
		if (ret <= 0) {
			if (ret == 0)
				ret = set_expunged_error(ms);
			break;
		}
		ret = 0;

		/* keywords by name into the destination's table */
		store_keywords_t src_mask = msg.keywords;
		msg.keywords = 0;
		for (size_t k = 0; ret == 0 && k < src_kw_count; k++) {
			int idx;

			if ((src_mask & ((store_keywords_t)1 << k)) == 0)
				continue;
			idx = maildir_index_keyword_get(ms, dest.id, dest_dir, src_kw[k]);
			if (idx < 0)
				ret = -1;
			else
				msg.keywords |= (store_keywords_t)1 << idx;
		}
		if (ret < 0)
			break;
		msg.uid = uidnext;
		msg.modseq = dest_modseq;
		final = maildir_file_name(c->staged[i], msg.size, msg.uid, msg.flags,
					  msg.keywords);
		tmp = xasprintf("%s/tmp/" MAILDIR_COPY_STAGE_PREFIX "%s", dest_dir,
				c->staged[i]);
		created[created_count] = xasprintf("%s/%s", dest_cur, final);
		if (rename(tmp, created[created_count]) < 0) {
			ret = maildir_storage_set_syscall_error(ms, "rename", tmp);
			free(created[created_count]);
			free(tmp);
			free(final);
			break;
		}
		free(tmp);
		free(c->staged[i]);
		c->staged[i] = NULL;
		created_count++;

		ret = index_msg_copy(ms->index, mbox->id, src_uid, dest.id, &msg, final);
		free(final);
		if (ret < 0)
			break;
		ret = 0;
		if (c->move)
			ret = index_fts_copy(ms->index, mbox->id, src_uid, dest.id, uidnext);
		uids[i] = uidnext++;
		if (c->move)
			moved[moved_count++] = src_uid;
	}
	if (ret == 0 && uidnext != dest.uidnext)
		ret = index_mailbox_set_uidnext(ms->index, dest.id, uidnext);
	if (ret == 0 && created_count > 0)
		ret = maildir_storage_fsync_dir(ms, dest_cur);
	if (ret == 0 && moved_count > 0) {
		ret = index_mailbox_next_modseq(ms->index, mbox->id, &src_modseq);
		if (ret == 0)
			ret = maildir_flags_expunge_uids(ms, mbox->id, moved, moved_count,
							 src_modseq, &expunged);
		if (ret == 0)
			ret = maildir_index_write_uidlist(ms, mbox->id, mbox->dir);
	}
	ret = maildir_recover_marker_end(ms, ret, &marker, created, created_count);
	if (ret == 0) {
		/* the moved sources' files go once their rows are gone */
		maildir_flags_expunged_files_unlink(ms, mbox->dir, &expunged);
		maildir_storage_notify(ms);
		c->ctx.uidvalidity = dest.uidvalidity;
	}
	maildir_flags_expunged_files_free(&expunged);
	for (size_t i = 0; i < created_count; i++)
		free(created[i]);
	free(created);
	free(moved);
	index_names_free(src_kw, src_kw_count);
	free(dest_dir);
	free(dest_cur);
	return ret < 0 ? -1 : 0;
}

/* Copies the text rows of the next messages (COPY only); errors are
 * only logged: the copy is done, the rows are filled lazily. */
static int copy_text(struct maildir_copy *c, unsigned int max_msgs)
{
	struct store_mailbox *box = c->ctx.box;
	struct maildir_mailbox *mbox = (struct maildir_mailbox *)box;
	struct maildir_store *ms = c->ms;
	int ret = index_begin(ms->index, true);

	for (unsigned int n = 0; ret == 0 && n < max_msgs && c->next < c->count; n++, c->next++) {
		ret = index_fts_copy(ms->index, mbox->id, box->msgs[c->msns[c->next] - 1].uid,
				       c->dest_id, c->ctx.uids[c->next]);
	}
	if (ret == 0)
		ret = index_commit(ms->index);
	else
		index_rollback(ms->index);
	if (ret < 0) {
		log_warning("store(%s): copying the text index of copied messages "
			    "failed; it is rebuilt when searched: %s", ms->store.user,
			    ms->store.error == NULL ? "" : ms->store.error);
		store_clear_error(&ms->store);
		return 1;
	}
	return c->next == c->count ? 1 : 0;
}

int maildir_save_copy_begin(struct store_mailbox *box, const uint32_t *msns, size_t count,
			    const char *dest_name, bool move, struct store_copy **ctx_r)
{
	struct maildir_store *ms = (struct maildir_store *)box->store;
	struct index_mailbox dest;
	struct maildir_copy *c;
	char *dest_dir;

	if (maildir_mailbox_lookup(ms, dest_name, &dest, &dest_dir) < 0)
		return -1;
	c = xcalloc(1, sizeof(*c));
	c->ctx.box = box;
	c->ms = ms;
	c->dest_id = dest.id;
	c->dest_dir = dest_dir;
	c->move = move;
	c->phase = COPY_STAGE;
	c->count = count;
	c->msns = xmemdup(msns, (count == 0 ? 1 : count) * sizeof(*msns));
	c->staged = xcalloc(count == 0 ? 1 : count, sizeof(*c->staged));
	c->ctx.uids = xcalloc(count == 0 ? 1 : count, sizeof(*c->ctx.uids));
	*ctx_r = &c->ctx;
	return 0;
}

int maildir_save_copy_continue(struct store_copy *ctx, unsigned int max_msgs)
{
	struct maildir_copy *c = (struct maildir_copy *)ctx;

	size_t end;

	switch (c->phase) {
	case COPY_STAGE:
		return copy_stage(c, max_msgs);
	case COPY_COMMIT:
		/* COPY: all at once.  MOVE: RFC 6851 3.1 lets it fail
		 * partway as long as each message is either moved or
		 * unaffected, so each transaction moves a part and no
		 * transaction is long */
		end = c->move && c->count - c->next > MAILDIR_MOVE_CHUNK ?
			c->next + MAILDIR_MOVE_CHUNK : c->count;
		if (copy_commit(c, c->next, end) < 0)
			return -1;
		c->next = end;
		if (c->next < c->count)
			return 0;
		if (c->move || c->count == 0)
			return 1;
		c->phase = COPY_TEXT;
		c->next = 0;
		return 0;
	case COPY_TEXT:
		return copy_text(c, max_msgs);
	}
	return -1;
}

void maildir_save_copy_free(struct store_copy *ctx)
{
	struct maildir_copy *c = (struct maildir_copy *)ctx;

	for (size_t i = 0; i < c->count; i++) {
		if (c->staged[i] == NULL)
			continue;
		char *tmp = xasprintf("%s/tmp/" MAILDIR_COPY_STAGE_PREFIX "%s",
				      c->dest_dir, c->staged[i]);
		(void)unlink(tmp);
		free(tmp);
		free(c->staged[i]);
	}
	free(c->staged);
	free(c->msns);
	free(c->dest_dir);
	free(c->ctx.uids);
	free(c);
}
