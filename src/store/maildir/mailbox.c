/* mailbox.c: mailbox list, create, delete, rename, subscriptions, status
 * for the Maildir backend (RFC 9051 6.3.4-6.3.11 semantics).
 *
 * A parent that exists only because of its children ("A" when only "A/B"
 * was created or "A" was deleted) has no index row and no directory: LIST
 * shows it \Noselect.  Directory changes happen inside the index write
 * transaction, so two processes never rename or delete the same folder at
 * once. */
#include "store/maildir/maildir-private.h"
#include "base/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- list ---- */

static int list_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct index_mailbox_entry *)a)->name,
		      ((const struct index_mailbox_entry *)b)->name);
}

static struct index_mailbox_entry *list_find(struct index_mailbox_entry *entries,
					     size_t count, const char *name)
{
	struct index_mailbox_entry key = { .name = (char *)name };

	return bsearch(&key, entries, count, sizeof(*entries), list_entry_cmp);
}

int maildir_mailbox_list(struct store *store, struct store_mailbox_info **infos_r,
			 size_t *count_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct index_mailbox_entry *entries;
	size_t count, cap, i, n, names_size = 0;
	struct store_mailbox_info *infos;
	char *names;

	if (index_mailbox_list(ms->index, &entries, &count) < 0)
		return -1;
	cap = count;

	/* implied \Noselect parents of existing mailboxes */
	if (count > 1)
		qsort(entries, count, sizeof(*entries), list_entry_cmp);
	n = count;
	for (i = 0; i < n; i++) {
		char *parent;
		char *slash;

		if (!entries[i].exists)
			continue;
		parent = xstrdup(entries[i].name);
		while ((slash = strrchr(parent, '/')) != NULL) {
			*slash = '\0';
			if (list_find(entries, n, parent) != NULL)
				continue;
			bool dup = false;
			for (size_t j = n; j < count; j++) {
				if (strcmp(entries[j].name, parent) == 0)
					dup = true;
			}
			if (dup)
				continue;
			ARRAY_RESERVE(entries, cap, count + 1);
			entries[count].name = xstrdup(parent);
			entries[count].special_use = 0;
			entries[count].exists = false;
			entries[count].subscribed = false;
			count++;
		}
		free(parent);
	}
	if (count > 1)
		qsort(entries, count, sizeof(*entries), list_entry_cmp);

	for (i = 0; i < count; i++)
		names_size += strlen(entries[i].name) + 1;
	infos = xmalloc(sizeof(*infos) * (count == 0 ? 1 : count) + names_size);
	names = (char *)(infos + (count == 0 ? 1 : count));
	for (i = 0; i < count; i++) {
		size_t len = strlen(entries[i].name);

		memcpy(names, entries[i].name, len + 1);
		infos[i].name = names;
		names += len + 1;
		infos[i].special_use = entries[i].special_use;
		infos[i].subscribed = entries[i].subscribed;
		infos[i].exists = entries[i].exists;
		/* children sort after "name/" but maybe not right after name
		 * ("A-B" < "A/B"), so look at every later name */
		infos[i].has_children = false;
		for (size_t j = i + 1; j < count; j++) {
			if (strncmp(entries[j].name, entries[i].name, len) == 0 &&
			    entries[j].name[len] == '/' && entries[j].exists) {
				infos[i].has_children = true;
				break;
			}
			if (strncmp(entries[j].name, entries[i].name, len) != 0)
				break;
		}
	}
	for (i = 0; i < count; i++)
		free(entries[i].name);
	free(entries);
	*infos_r = infos;
	*count_r = count;
	return 0;
}

int maildir_mailbox_lookup(struct maildir_store *ms, const char *name,
			   struct index_mailbox *row_r, char **dir_r)
{
	int ret = index_mailbox_get(ms->index, name, row_r);

	if (ret == 0)
		store_set_error(&ms->store, STORE_ERR_NOTFOUND, "Mailbox doesn't exist: %s", name);
	if (ret <= 0)
		return -1;
	*dir_r = maildir_storage_mailbox_dir(ms, name);
	return *dir_r == NULL ? -1 : 0;
}

/* ---- create ---- */

int maildir_mailbox_create_locked(struct maildir_store *ms, const char *name,
				  uint32_t special_use, int64_t *id_r)
{
	struct index_mailbox row;
	char *parent = xstrdup(name);
	char *slash;
	int ret;

	/* parents first, as real mailboxes (RFC 9051 6.3.4) */
	for (slash = strchr(parent, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		int64_t id;

		*slash = '\0';
		ret = index_mailbox_get(ms->index, parent, &row);
		if (ret == 0)
			ret = maildir_index_mailbox_add(ms, parent, 0, 0, 1, 1, &id);
		*slash = '/';
		if (ret < 0) {
			free(parent);
			return -1;
		}
	}
	free(parent);
	return maildir_index_mailbox_add(ms, name, special_use, 0, 1, 1, id_r);
}

/* Begins the write transaction of a change that gives a mailbox the new
 * name `name`: 0 inside it, or -1 without one (STORE_ERR_EXISTS when the
 * name is taken). */
static int begin_for_new_name(struct maildir_store *ms, const char *name)
{
	struct index_mailbox row;
	int ret;

	if (index_begin(ms->index, true) < 0)
		return -1;
	ret = index_mailbox_get(ms->index, name, &row);
	if (ret > 0)
		store_set_error(&ms->store, STORE_ERR_EXISTS, "Mailbox already exists: %s", name);
	if (ret != 0) {
		index_rollback(ms->index);
		return -1;
	}
	return 0;
}

int maildir_mailbox_create(struct store *store, const char *name, uint32_t special_use)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	int64_t id;
	int ret;

	if (begin_for_new_name(ms, name) < 0)
		return -1;
	ret = maildir_mailbox_create_locked(ms, name, special_use, &id);
	if (index_end(ms->index, ret) < 0)
		return -1;
	maildir_storage_notify(ms);
	return 0;
}

/* ---- delete ---- */

/* Moves a folder directory out of the Maildir into userdir/trash so it
 * disappears atomically; the caller removes it after the commit. */
static char *folder_to_trash(struct maildir_store *ms, const char *dir)
{
	char *trash = xasprintf("%s/trash", ms->userdir);
	char *unique = maildir_file_unique();
	char *dest = xasprintf("%s/%s", trash, unique);

	free(unique);
	if (mkdir(trash, 0700) < 0 && errno != EEXIST) {
		maildir_storage_set_syscall_error(ms, "mkdir", trash);
		free(dest);
		dest = NULL;
	} else if (rename(dir, dest) < 0 && errno != ENOENT) {
		maildir_storage_set_syscall_error(ms, "rename", dir);
		free(dest);
		dest = NULL;
	}
	free(trash);
	return dest;
}

int maildir_mailbox_delete(struct store *store, const char *name)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct index_mailbox row;
	char *dir = NULL, *trashed = NULL;
	int ret, children;

	if (index_begin(ms->index, true) < 0)
		return -1;
	ret = index_mailbox_get(ms->index, name, &row);
	children = ret < 0 ? -1 : index_mailbox_has_children(ms->index, name);
	if (children < 0) {
		ret = -1;
	} else if (ret == 0) {
		if (children > 0)
			store_set_error(store, STORE_ERR_INUSE,
					"Mailbox has children, delete them first: %s", name);
		else
			store_set_error(store, STORE_ERR_NOTFOUND, "Mailbox doesn't exist: %s", name);
		ret = -1;
	} else {
		ret = index_mailbox_delete(ms->index, row.id);
		if (ret == 0 && (dir = maildir_storage_mailbox_dir(ms, name)) == NULL)
			ret = -1;
		if (ret == 0 && (trashed = folder_to_trash(ms, dir)) == NULL)
			ret = -1;
		if (ret == 0)
			ret = maildir_storage_fsync_dir(ms, ms->maildir);
	}
	if (ret < 0) {
		if (trashed != NULL && rename(trashed, dir) < 0)
			log_error("store(%s): can't restore %s: %m", store->user, dir);
		index_rollback(ms->index);
	} else {
		ret = index_commit(ms->index);
		if (ret < 0 && rename(trashed, dir) < 0)
			log_error("store(%s): can't restore %s: %m", store->user, dir);
	}
	if (ret == 0) {
		if (maildir_file_remove_tree(trashed) < 0 && errno != ENOENT)
			log_warning("store(%s): removing %s: %m", store->user, trashed);
		maildir_storage_notify(ms);
	}
	free(dir);
	free(trashed);
	return ret;
}

/* ---- rename ---- */

/* INBOX: a new mailbox `to` takes INBOX's messages (files moved, same
 * UIDs, new UIDVALIDITY); INBOX gets tombstones and stays, empty. */
static int rename_inbox(struct maildir_store *ms, const char *to)
{
	struct index_mailbox inbox;
	struct index_msg_iter *iter;
	struct index_msg msg;
	int64_t new_id;
	char *to_dir = NULL;
	uint64_t modseq;
	int ret;

	ret = index_mailbox_get(ms->index, "INBOX", &inbox);
	if (ret == 0) {
		store_set_internal_error(&ms->store, "INBOX row missing");
		return -1;
	}
	if (ret < 0 || maildir_mailbox_create_locked(ms, to, 0, &new_id) < 0)
		return -1;
	if ((to_dir = maildir_storage_mailbox_dir(ms, to)) == NULL ||
	    index_mailbox_next_modseq(ms->index, inbox.id, &modseq) < 0) {
		free(to_dir);
		return -1;
	}
	iter = index_msg_iter_init(ms->index, inbox.id, 0);
	ret = 0;
	while (ret == 0 && (ret = index_msg_iter_next(iter, &msg)) > 0) {
		char *src = xasprintf("%s/cur/%s", ms->maildir, msg.location);
		char *dst = xasprintf("%s/cur/%s", to_dir, msg.location);

		ret = 0;
		if (rename(src, dst) < 0 && errno != ENOENT)
			ret = maildir_storage_set_syscall_error(ms, "rename", src);
		free(src);
		free(dst);
	}
	index_msg_iter_deinit(&iter);
	/* their rows and text, keyword table and tombstones */
	if (ret == 0)
		ret = index_mailbox_move_messages(ms->index, inbox.id, new_id, modseq);
	if (ret == 0) {
		char *src = xasprintf("%s/roost-keywords", ms->maildir);
		char *dst = xasprintf("%s/roost-keywords", to_dir);
		char *data;

		if (maildir_file_read_small(src, &data) == 0) {
			ret = maildir_file_write_atomic(ms, dst, data, strlen(data));
			free(data);
		}
		free(src);
		free(dst);
	}
	if (ret == 0)
		ret = maildir_index_write_uidlist(ms, new_id, to_dir);
	if (ret == 0)
		ret = maildir_index_write_uidlist(ms, inbox.id, ms->maildir);
	if (ret == 0) {
		char *cur = xasprintf("%s/cur", to_dir);

		ret = maildir_storage_fsync_dir(ms, cur);
		free(cur);
	}
	if (ret == 0) {
		char *cur = xasprintf("%s/cur", ms->maildir);

		ret = maildir_storage_fsync_dir(ms, cur);
		free(cur);
	}
	free(to_dir);
	return ret;
}

struct rename_item {
	int64_t id;
	char *old_name, *new_name, *old_dir, *new_dir;
	bool moved;
};

int maildir_mailbox_rename(struct store *store, const char *from, const char *to)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct index_mailbox row;
	struct rename_item *items = NULL;
	size_t count = 0, i, from_len = strlen(from);
	struct index_mailbox_entry *tree;
	int ret;

	if (begin_for_new_name(ms, to) < 0)
		return -1;
	if (store_name_is_inbox(from)) {
		ret = rename_inbox(ms, to);
		goto finish;
	}
	/* the mailbox and its children */
	ret = index_mailbox_list_tree(ms->index, from, &tree, &count);
	if (ret == 0) {
		items = xcalloc(count == 0 ? 1 : count, sizeof(*items));
		for (i = 0; i < count; i++) {
			items[i].id = tree[i].id;
			items[i].old_name = tree[i].name;
			items[i].new_name = xasprintf("%s%s", to, tree[i].name + from_len);
		}
		free(tree);
	}
	if (ret == 0 && count == 0) {
		store_set_error(store, STORE_ERR_NOTFOUND, "Mailbox doesn't exist: %s", from);
		ret = -1;
	}
	for (i = 0; ret == 0 && i < count; i++) {
		if (index_mailbox_get(ms->index, items[i].new_name, &row) != 0) {
			store_set_error(store, STORE_ERR_EXISTS, "Mailbox already exists: %s",
					items[i].new_name);
			ret = -1;
		} else if ((items[i].old_dir = maildir_storage_mailbox_dir(ms, items[i].old_name)) == NULL ||
			   (items[i].new_dir = maildir_storage_mailbox_dir(ms, items[i].new_name)) == NULL) {
			ret = -1;
		}
	}
	/* names first (so parents of `to` can be created), then directories */
	for (i = 0; ret == 0 && i < count; i++)
		ret = index_mailbox_rename(ms->index, items[i].id, items[i].new_name);
	if (ret == 0 && strchr(to, '/') != NULL) {
		char *parent = xstrdup(to);
		int64_t id;

		*strrchr(parent, '/') = '\0';
		ret = index_mailbox_get(ms->index, parent, &row);
		if (ret == 0)
			ret = maildir_mailbox_create_locked(ms, parent, 0, &id);
		else if (ret > 0)
			ret = 0;
		free(parent);
	}
	for (i = 0; ret == 0 && i < count; i++) {
		if (rename(items[i].old_dir, items[i].new_dir) < 0) {
			ret = maildir_storage_set_syscall_error(ms, "rename", items[i].old_dir);
			break;
		}
		items[i].moved = true;
	}
	if (ret == 0)
		ret = maildir_storage_fsync_dir(ms, ms->maildir);
	if (ret < 0) {
		for (i = 0; i < count; i++) {
			if (items[i].moved && rename(items[i].new_dir, items[i].old_dir) < 0)
				log_error("store(%s): can't restore %s: %m", store->user,
					  items[i].old_dir);
		}
	}
	for (i = 0; i < count; i++) {
		free(items[i].old_name);
		free(items[i].new_name);
		free(items[i].old_dir);
		free(items[i].new_dir);
	}
	free(items);
finish:
	if (index_end(ms->index, ret) < 0)
		return -1;
	maildir_storage_notify(ms);
	return 0;
}

/* ---- subscriptions ---- */

int maildir_mailbox_subscribe(struct store *store, const char *name, bool subscribe)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	int ret;

	if (index_begin(ms->index, true) < 0)
		return -1;
	ret = index_subscription_set(ms->index, name, subscribe);
	bool changed = ret > 0;
	if (ret > 0)
		ret = maildir_index_write_subscriptions(ms);
	if (index_end(ms->index, ret) < 0)
		return -1;
	/* NOTIFY's SubscriptionChange (store_notify_add_user()) */
	if (changed)
		maildir_storage_notify(ms);
	return 0;
}

/* ---- status ---- */

int maildir_mailbox_states(struct store *store, struct store_mailbox_state **states_r,
			   size_t *count_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct index_mailbox_state *rows;
	size_t count, names_size = 0;

	if (index_mailbox_states(ms->index, &rows, &count) < 0)
		return -1;
	for (size_t i = 0; i < count; i++)
		names_size += strlen(rows[i].name) + 1;
	struct store_mailbox_state *states =
		xmalloc(sizeof(*states) * (count == 0 ? 1 : count) + names_size);
	char *names = (char *)(states + (count == 0 ? 1 : count));
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(rows[i].name);

		memcpy(names, rows[i].name, len + 1);
		states[i].name = names;
		names += len + 1;
		states[i].id = (uint64_t)rows[i].id;
		states[i].uidvalidity = rows[i].uidvalidity;
		states[i].uidnext = rows[i].uidnext;
		states[i].highestmodseq = rows[i].highestmodseq;
	}
	index_mailbox_states_free(rows, count);
	*states_r = states;
	*count_r = count;
	return 0;
}

int maildir_mailbox_status(struct store *store, const char *name,
			   struct store_status *status_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct index_mailbox row;
	char *dir;
	int ret;

	/* mail dropped into new/ counts too */
	ret = index_mailbox_get(ms->index, name, &row);
	if (ret > 0 && (dir = maildir_storage_mailbox_dir(ms, name)) != NULL) {
		ret = maildir_sync_pickup_new(ms, row.id, dir);
		free(dir);
		if (ret < 0)
			return -1;
	}
	if (index_begin(ms->index, false) < 0)
		return -1;
	ret = index_mailbox_get(ms->index, name, &row);
	if (ret == 0) {
		store_set_error(store, STORE_ERR_NOTFOUND, "Mailbox doesn't exist: %s", name);
		ret = -1;
	}
	if (ret > 0)
		ret = index_mailbox_status(ms->index, &row, status_r);
	index_rollback(ms->index);
	return ret;
}

/* ---- check ---- */

int maildir_mailbox_check(struct store *store, const char *name,
			  store_check_report_t *report, void *ctx)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct index_mailbox row;
	char *dir;
	int ret;

	if (maildir_mailbox_lookup(ms, name, &row, &dir) < 0)
		return -1;
	ret = maildir_recover_check(ms, row.id, dir, report, ctx);
	free(dir);
	return ret;
}
