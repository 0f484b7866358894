/* index.c: the Maildir backend as the owner of its index
 * (store/sqlite-index/index.h): the transaction hooks that keep the
 * files beside the messages in step with the index (roost-keywords
 * rewritten by a transaction that rolls back get their old content back;
 * recover.c's markers), and the small files that keep what a rebuild
 * needs from the index: roost-keywords, roost-uidlist and
 * roost-subscriptions.  No SQL here: the index does that. */
#include "store/maildir/maildir-private.h"
#include "base/log.h"

#include <stdlib.h>
#include <string.h>

static int write_keywords_file(struct maildir_store *ms, const char *dir,
			       char **names, size_t count);

static void keywords_written_clear(struct maildir_store *ms)
{
	for (size_t i = 0; i < ms->kw_written_count; i++)
		free(ms->kw_written[i].dir);
	ms->kw_written_count = 0;
}

/* Before a rollback, with the write lock still held: the roost-keywords
 * files this transaction rewrote get back the names they had (the table
 * only grows at its end, so they are its first count_before entries); a
 * rebuild would otherwise bring back keywords the index never kept.  The
 * store's error (why the transaction is rolled back) is kept. */
static void keywords_written_restore(struct maildir_store *ms)
{
	struct store_error_saved saved;

	store_error_save(&ms->store, &saved);
	for (size_t i = 0; i < ms->kw_written_count; i++) {
		struct maildir_keywords_written *w = &ms->kw_written[i];
		char **names;
		size_t count;
		int ret = index_keyword_list(ms->index, w->mailbox_id, &names, &count);

		if (ret == 0) {
			ret = write_keywords_file(ms, w->dir, names,
						  ROOST_MIN(count, w->count_before));
			index_names_free(names, count);
		}
		if (ret < 0)
			log_warning("store(%s): %s/roost-keywords could not be restored "
				    "after a rollback: %s", ms->store.user, w->dir,
				    ms->store.error == NULL ? "" : ms->store.error);
	}
	keywords_written_clear(ms);
	store_error_restore(&ms->store, &saved);
}

static void txn_begun(void *ctx)
{
	struct maildir_store *ms = ctx;

	ms->recovered_txn_start = ms->recovered_count;
}

static void txn_committed(void *ctx)
{
	struct maildir_store *ms = ctx;

	keywords_written_clear(ms);
	maildir_recover_committed(ms);
	ms->recovered_txn_start = SIZE_MAX;
}

static void txn_rolling_back(void *ctx, bool in_txn)
{
	struct maildir_store *ms = ctx;

	if (in_txn && ms->kw_written_count > 0) {
		keywords_written_restore(ms);
	} else if (ms->kw_written_count > 0) {
		/* SQLite ended the transaction itself (a failed COMMIT):
		 * the lock is gone, and with it the right to write the
		 * files; the next keyword created there rewrites them */
		log_warning("store(%s): a failed commit left roost-keywords naming "
			    "keywords the index does not have", ms->store.user);
		keywords_written_clear(ms);
	}
	/* where the transaction removed markers of a dead one, they go back
	 * (after a failed COMMIT too: a writer holding the lock takes any
	 * marker at or above UIDNEXT for a dead transaction's, which this
	 * one now is) */
	if (ms->swept_count > 0)
		maildir_recover_rollback(ms);
	/* the folders it repaired are not repaired any more */
	if (ms->recovered_txn_start < ms->recovered_count)
		ms->recovered_count = ms->recovered_txn_start;
	ms->recovered_txn_start = SIZE_MAX;
}

static int index_reopening(void *ctx)
{
	return maildir_storage_relock(ctx);
}

static const struct index_txn_hooks maildir_txn_hooks = {
	.begun = txn_begun,
	.committed = txn_committed,
	.rolling_back = txn_rolling_back,
	.reopening = index_reopening,
};

struct populate_ctx {
	struct maildir_store *ms;
	maildir_index_populate_t *populate;
};

static int populate_index(void *ctx)
{
	struct populate_ctx *pctx = ctx;

	return pctx->populate(pctx->ms);
}

int maildir_index_open(struct maildir_store *ms, const char *path,
		       maildir_index_populate_t *populate)
{
	struct populate_ctx pctx = { ms, populate };
	int ret;

	ms->index = index_init(&ms->store, path, ms->fsync, &maildir_txn_hooks, ms);
	ret = index_open(ms->index, populate_index, &pctx);
	if (ret < 0)
		maildir_index_close(ms);
	return ret;
}

int maildir_index_reopen(struct maildir_store *ms, maildir_index_populate_t *populate)
{
	struct populate_ctx pctx = { ms, populate };

	return index_reopen(ms->index, populate_index, &pctx);
}

void maildir_index_close(struct maildir_store *ms)
{
	index_deinit(&ms->index);
	keywords_written_clear(ms);
	free(ms->kw_written);
	ms->kw_written = NULL;
	ms->kw_written_cap = 0;
	maildir_recover_committed(ms);
	free(ms->swept);
	ms->swept = NULL;
	ms->swept_cap = 0;
}

static int write_keywords_file(struct maildir_store *ms, const char *dir,
			       char **names, size_t count)
{
	struct str s = STR_INIT;
	char *path = xasprintf("%s/roost-keywords", dir);
	int ret;

	for (size_t i = 0; i < count && i < MAILDIR_KEYWORD_LETTERS; i++)
		str_printfa(&s, "%zu %s\n", i, names[i]);
	ret = maildir_file_write_atomic(ms, path, s.data == NULL ? "" : s.data, s.len);
	str_free(&s);
	free(path);
	return ret;
}

int maildir_index_keyword_get(struct maildir_store *ms, int64_t mailbox_id,
			      const char *dir, const char *name)
{
	char **names;
	size_t count, i;
	int ret;

	if (index_keyword_list(ms->index, mailbox_id, &names, &count) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		if (str_eq_icase(names[i], name)) {
			index_names_free(names, count);
			return (int)i;
		}
	}
	if (count >= STORE_MAX_KEYWORDS) {
		index_names_free(names, count);
		store_set_error(&ms->store, STORE_ERR_LIMIT,
				"Too many keywords in this mailbox (max %d)", STORE_MAX_KEYWORDS);
		return -1;
	}
	ret = index_keyword_add(ms->index, mailbox_id, count, name);
	names[count] = xstrdup(name);
	count++;
	/* The letter must be known on disk before any file name carries it
	 * (and forgotten again if the transaction is rolled back). */
	if (ret == 0 && count <= MAILDIR_KEYWORD_LETTERS) {
		bool recorded = false;

		for (i = 0; i < ms->kw_written_count && !recorded; i++)
			recorded = ms->kw_written[i].mailbox_id == mailbox_id;
		if (!recorded) {
			ARRAY_RESERVE(ms->kw_written, ms->kw_written_cap,
				      ms->kw_written_count + 1);
			ms->kw_written[ms->kw_written_count].mailbox_id = mailbox_id;
			ms->kw_written[ms->kw_written_count].dir = xstrdup(dir);
			ms->kw_written[ms->kw_written_count].count_before = count - 1;
			ms->kw_written_count++;
		}
		ret = write_keywords_file(ms, dir, names, count);
	}
	index_names_free(names, count);
	return ret < 0 ? -1 : (int)(count - 1);
}

static int write_uidlist(struct maildir_store *ms, const char *dir,
			 const struct index_mailbox *row)
{
	char *path = xasprintf("%s/roost-uidlist", dir);
	char *data = xasprintf("roost-uidlist 1\nuidvalidity %u\nuidnext %u\n"
			       "highestmodseq %llu\nspecial_use %u\n",
			       row->uidvalidity, row->uidnext,
			       (unsigned long long)row->highestmodseq, row->special_use);
	int ret = maildir_file_write_atomic(ms, path, data, strlen(data));

	free(path);
	free(data);
	return ret;
}

int maildir_index_write_uidlist(struct maildir_store *ms, int64_t mailbox_id, const char *dir)
{
	struct index_mailbox row;
	int ret = index_mailbox_get_by_id(ms->index, mailbox_id, &row, NULL);

	if (ret <= 0)
		return ret < 0 ? -1 : 0;
	return write_uidlist(ms, dir, &row);
}

int maildir_index_mailbox_add(struct maildir_store *ms, const char *name,
			      uint32_t special_use, uint32_t uidvalidity,
			      uint32_t uidnext, uint64_t highestmodseq, int64_t *id_r)
{
	struct index_mailbox row;
	char *dir;
	int ret;

	if ((dir = maildir_storage_mailbox_dir(ms, name)) == NULL)
		return -1;
	ret = index_mailbox_add(ms->index, name, special_use, uidvalidity, uidnext,
				highestmodseq, &row);
	if (ret == 0) {
		*id_r = row.id;
		ret = maildir_storage_mkdirs(ms, dir);
		if (ret == 0)
			ret = write_uidlist(ms, dir, &row);
		if (ret == 0)
			ret = maildir_storage_fsync_dir(ms, ms->maildir);
	}
	free(dir);
	return ret;
}

int maildir_index_write_subscriptions(struct maildir_store *ms)
{
	struct str s = STR_INIT;
	char **names, *path;
	size_t count;
	int ret;

	if (index_subscription_list(ms->index, &names, &count) < 0)
		return -1;
	for (size_t i = 0; i < count; i++)
		str_printfa(&s, "%s\n", names[i]);
	index_names_free(names, count);
	path = xasprintf("%s/roost-subscriptions", ms->maildir);
	ret = maildir_file_write_atomic(ms, path, s.data == NULL ? "" : s.data, s.len);
	free(path);
	str_free(&s);
	return ret;
}
