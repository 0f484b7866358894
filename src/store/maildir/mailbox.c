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

struct list_entry {
	char *name;
	uint32_t special_use;
	bool exists, subscribed;
};

static int list_entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_entry *)a)->name, ((const struct list_entry *)b)->name);
}

static struct list_entry *list_find(struct list_entry *entries, size_t count, const char *name)
{
	struct list_entry key = { .name = (char *)name };

	return bsearch(&key, entries, count, sizeof(*entries), list_entry_cmp);
}

int maildir_mailbox_list(struct store *store, struct store_mailbox_info **infos_r,
			 size_t *count_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct list_entry *entries = NULL;
	size_t count = 0, cap = 0, i, n, names_size = 0;
	sqlite3_stmt *stmt;
	struct store_mailbox_info *infos;
	char *names;
	int ret;

	if (maildir_index_begin(ms, false) < 0)
		return -1;
	stmt = maildir_index_prepare(ms,
		"SELECT name, special_use, 1, name IN (SELECT name FROM subscriptions) FROM mailboxes "
		"UNION ALL SELECT name, 0, 0, 1 FROM subscriptions "
		"WHERE name NOT IN (SELECT name FROM mailboxes)");
	ret = stmt == NULL ? -1 : 0;
	while (ret == 0 && (ret = maildir_index_step(ms, stmt)) > 0) {
		ARRAY_RESERVE(entries, cap, count + 1);
		entries[count].name = xstrdup((const char *)sqlite3_column_text(stmt, 0));
		entries[count].special_use = (uint32_t)sqlite3_column_int64(stmt, 1);
		entries[count].exists = sqlite3_column_int(stmt, 2) != 0;
		entries[count].subscribed = sqlite3_column_int(stmt, 3) != 0;
		count++;
		ret = 0;
	}
	maildir_index_finish(ms, stmt);
	maildir_index_rollback(ms);
	if (ret < 0) {
		for (i = 0; i < count; i++)
			free(entries[i].name);
		free(entries);
		return -1;
	}

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

/* ---- create ---- */

int maildir_mailbox_create_locked(struct maildir_store *ms, const char *name,
				  uint32_t special_use, int64_t *id_r)
{
	struct maildir_mailbox_row row;
	char *parent = xstrdup(name);
	char *slash;
	int ret;

	/* parents first, as real mailboxes (RFC 9051 6.3.4) */
	for (slash = strchr(parent, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
		int64_t id;

		*slash = '\0';
		ret = maildir_index_mailbox_lookup(ms, parent, &row);
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

int maildir_mailbox_create(struct store *store, const char *name, uint32_t special_use)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct maildir_mailbox_row row;
	int64_t id;
	int ret;

	if (maildir_index_begin(ms, true) < 0)
		return -1;
	ret = maildir_index_mailbox_lookup(ms, name, &row);
	if (ret > 0) {
		store_set_error(store, STORE_ERR_EXISTS, "Mailbox already exists: %s", name);
		ret = -1;
	} else if (ret == 0) {
		ret = maildir_mailbox_create_locked(ms, name, special_use, &id);
	}
	if (ret < 0) {
		maildir_index_rollback(ms);
		return -1;
	}
	if (maildir_index_commit(ms) < 0)
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

static int delete_rows(struct maildir_store *ms, int64_t id)
{
	static const char *const sqls[] = {
		"DELETE FROM messages WHERE mailbox = ?",
		"DELETE FROM keywords WHERE mailbox = ?",
		"DELETE FROM expunged WHERE mailbox = ?",
		"DELETE FROM mailboxes WHERE id = ?",
	};

	if (maildir_fts_delete_mailbox(ms, id) < 0)
		return -1;
	for (size_t i = 0; i < N_ELEMENTS(sqls); i++) {
		sqlite3_stmt *stmt = maildir_index_prepare(ms, sqls[i]);
		int ret;

		if (stmt == NULL)
			return -1;
		sqlite3_bind_int64(stmt, 1, id);
		ret = maildir_index_step(ms, stmt);
		maildir_index_finish(ms, stmt);
		if (ret < 0)
			return -1;
	}
	return 0;
}

int maildir_mailbox_delete(struct store *store, const char *name)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct maildir_mailbox_row row;
	char *dir = NULL, *trashed = NULL;
	int ret, children;

	if (maildir_index_begin(ms, true) < 0)
		return -1;
	ret = maildir_index_mailbox_lookup(ms, name, &row);
	children = ret < 0 ? -1 : maildir_index_has_children(ms, name);
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
		ret = delete_rows(ms, row.id);
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
		maildir_index_rollback(ms);
	} else {
		ret = maildir_index_commit(ms);
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
	struct maildir_mailbox_row inbox;
	sqlite3_stmt *stmt;
	int64_t new_id;
	char *to_dir = NULL;
	uint64_t modseq;
	int ret;

	ret = maildir_index_mailbox_lookup(ms, "INBOX", &inbox);
	if (ret == 0) {
		store_set_internal_error(&ms->store, "INBOX row missing");
		return -1;
	}
	if (ret < 0 || maildir_mailbox_create_locked(ms, to, 0, &new_id) < 0)
		return -1;
	if ((to_dir = maildir_storage_mailbox_dir(ms, to)) == NULL ||
	    maildir_index_next_modseq(ms, inbox.id, &modseq) < 0) {
		free(to_dir);
		return -1;
	}
	stmt = maildir_index_prepare(ms, "SELECT file FROM messages WHERE mailbox = ?");
	ret = stmt == NULL ? -1 : 0;
	if (ret == 0)
		sqlite3_bind_int64(stmt, 1, inbox.id);
	while (ret == 0 && (ret = maildir_index_step(ms, stmt)) > 0) {
		const char *file = (const char *)sqlite3_column_text(stmt, 0);
		char *src = xasprintf("%s/cur/%s", ms->maildir, file);
		char *dst = xasprintf("%s/cur/%s", to_dir, file);

		ret = 0;
		if (rename(src, dst) < 0 && errno != ENOENT)
			ret = maildir_storage_set_syscall_error(ms, "rename", src);
		free(src);
		free(dst);
	}
	maildir_index_finish(ms, stmt);
	if (ret == 0)
		ret = maildir_fts_move_mailbox(ms, inbox.id, new_id);	/* their text */
	static const char *const sqls[] = {
		"INSERT INTO keywords(mailbox, idx, name) SELECT ?2, idx, name FROM keywords WHERE mailbox = ?1",
		"INSERT OR REPLACE INTO expunged(mailbox, uid, modseq) SELECT ?1, uid, ?3 FROM messages WHERE mailbox = ?1",
		"UPDATE messages SET mailbox = ?2, modseq = 1 WHERE mailbox = ?1",
		("UPDATE mailboxes SET uidnext = (SELECT uidnext FROM mailboxes WHERE id = ?1), "
		 "recent_uid = (SELECT recent_uid FROM mailboxes WHERE id = ?1) WHERE id = ?2"),
	};
	for (size_t i = 0; ret == 0 && i < N_ELEMENTS(sqls); i++) {
		stmt = maildir_index_prepare(ms, sqls[i]);
		if (stmt == NULL) {
			ret = -1;
			break;
		}
		sqlite3_bind_int64(stmt, 1, inbox.id);
		sqlite3_bind_int64(stmt, 2, new_id);
		sqlite3_bind_int64(stmt, 3, (int64_t)modseq);
		ret = maildir_index_step(ms, stmt);
		maildir_index_finish(ms, stmt);
	}
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
	struct maildir_mailbox_row row;
	struct rename_item *items = NULL;
	size_t count = 0, cap = 0, i, from_len = strlen(from);
	sqlite3_stmt *stmt;
	char *prefix = xasprintf("%s/", from);
	int ret;

	if (maildir_index_begin(ms, true) < 0) {
		free(prefix);
		return -1;
	}
	ret = maildir_index_mailbox_lookup(ms, to, &row);
	if (ret > 0) {
		store_set_error(store, STORE_ERR_EXISTS, "Mailbox already exists: %s", to);
		ret = -1;
	}
	if (ret == 0 && store_name_is_inbox(from)) {
		ret = rename_inbox(ms, to);
		goto finish;
	}
	/* the mailbox and its children, which follow it */
	stmt = ret < 0 ? NULL : maildir_index_prepare(ms,
		"SELECT id, name FROM mailboxes WHERE name = ?1 OR substr(name, 1, ?2) = ?3");
	if (stmt == NULL)
		ret = -1;
	else {
		sqlite3_bind_text(stmt, 1, from, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, (int64_t)strlen(prefix));
		sqlite3_bind_text(stmt, 3, prefix, -1, SQLITE_STATIC);
	}
	while (ret == 0 && (ret = maildir_index_step(ms, stmt)) > 0) {
		const char *name = (const char *)sqlite3_column_text(stmt, 1);

		ARRAY_RESERVE(items, cap, count + 1);
		memset(&items[count], 0, sizeof(items[count]));
		items[count].id = sqlite3_column_int64(stmt, 0);
		items[count].old_name = xstrdup(name);
		items[count].new_name = xasprintf("%s%s", to, name + from_len);
		count++;
		ret = 0;
	}
	maildir_index_finish(ms, stmt);
	if (ret == 0 && count == 0) {
		store_set_error(store, STORE_ERR_NOTFOUND, "Mailbox doesn't exist: %s", from);
		ret = -1;
	}
	for (i = 0; ret == 0 && i < count; i++) {
		if (maildir_index_mailbox_lookup(ms, items[i].new_name, &row) != 0) {
			store_set_error(store, STORE_ERR_EXISTS, "Mailbox already exists: %s",
					items[i].new_name);
			ret = -1;
		} else if ((items[i].old_dir = maildir_storage_mailbox_dir(ms, items[i].old_name)) == NULL ||
			   (items[i].new_dir = maildir_storage_mailbox_dir(ms, items[i].new_name)) == NULL) {
			ret = -1;
		}
	}
	/* names first (so parents of `to` can be created), then directories */
	for (i = 0; ret == 0 && i < count; i++) {
		stmt = maildir_index_prepare(ms, "UPDATE mailboxes SET name = ? WHERE id = ?");
		if (stmt == NULL) {
			ret = -1;
			break;
		}
		sqlite3_bind_text(stmt, 1, items[i].new_name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 2, items[i].id);
		ret = maildir_index_step(ms, stmt);
		maildir_index_finish(ms, stmt);
	}
	if (ret == 0 && strchr(to, '/') != NULL) {
		char *parent = xstrdup(to);
		int64_t id;

		*strrchr(parent, '/') = '\0';
		ret = maildir_index_mailbox_lookup(ms, parent, &row);
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
	free(prefix);
	if (ret < 0) {
		maildir_index_rollback(ms);
		return -1;
	}
	if (maildir_index_commit(ms) < 0)
		return -1;
	maildir_storage_notify(ms);
	return 0;
}

/* ---- subscriptions ---- */

int maildir_mailbox_subscribe(struct store *store, const char *name, bool subscribe)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	sqlite3_stmt *stmt;
	int ret;

	if (maildir_index_begin(ms, true) < 0)
		return -1;
	stmt = maildir_index_prepare(ms, subscribe ?
		"INSERT OR IGNORE INTO subscriptions(name) VALUES (?)" :
		"DELETE FROM subscriptions WHERE name = ?");
	ret = stmt == NULL ? -1 : 0;
	if (ret == 0) {
		sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
		ret = maildir_index_step(ms, stmt);
	}
	maildir_index_finish(ms, stmt);
	if (ret == 0 && sqlite3_changes(ms->db) > 0)
		ret = maildir_index_write_subscriptions(ms);
	if (ret < 0) {
		maildir_index_rollback(ms);
		return -1;
	}
	return maildir_index_commit(ms);
}

/* ---- status ---- */

int maildir_mailbox_status(struct store *store, const char *name,
			   struct store_status *status_r)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct maildir_mailbox_row row;
	sqlite3_stmt *stmt;
	char *dir;
	int ret;

	/* mail dropped into new/ counts too */
	ret = maildir_index_mailbox_lookup(ms, name, &row);
	if (ret > 0 && (dir = maildir_storage_mailbox_dir(ms, name)) != NULL) {
		ret = maildir_sync_pickup_new(ms, row.id, dir);
		free(dir);
		if (ret < 0)
			return -1;
	}
	if (maildir_index_begin(ms, false) < 0)
		return -1;
	ret = maildir_index_mailbox_lookup(ms, name, &row);
	if (ret == 0) {
		store_set_error(store, STORE_ERR_NOTFOUND, "Mailbox doesn't exist: %s", name);
		ret = -1;
	}
	stmt = ret < 0 ? NULL : maildir_index_prepare(ms,
		"SELECT count(*), coalesce(sum(flags & ?2 = 0), 0), coalesce(sum(flags & ?3 != 0), 0), "
		"coalesce(sum(uid >= ?4), 0), coalesce(sum(size), 0) FROM messages WHERE mailbox = ?1");
	if (stmt != NULL) {
		sqlite3_bind_int64(stmt, 1, row.id);
		sqlite3_bind_int64(stmt, 2, STORE_FLAG_SEEN);
		sqlite3_bind_int64(stmt, 3, STORE_FLAG_DELETED);
		sqlite3_bind_int64(stmt, 4, row.recent_uid);
		ret = maildir_index_step(ms, stmt);
		if (ret > 0) {
			status_r->messages = (uint32_t)sqlite3_column_int64(stmt, 0);
			status_r->unseen = (uint32_t)sqlite3_column_int64(stmt, 1);
			status_r->deleted = (uint32_t)sqlite3_column_int64(stmt, 2);
			status_r->recent = (uint32_t)sqlite3_column_int64(stmt, 3);
			status_r->size = (uint64_t)sqlite3_column_int64(stmt, 4);
			status_r->uidnext = row.uidnext;
			status_r->uidvalidity = row.uidvalidity;
			status_r->highestmodseq = row.highestmodseq;
			ret = 0;
		}
		maildir_index_finish(ms, stmt);
	} else {
		ret = -1;
	}
	maildir_index_rollback(ms);
	return ret;
}

/* ---- check ---- */

int maildir_mailbox_check(struct store *store, const char *name,
			  store_check_report_t *report, void *ctx)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct maildir_mailbox_row row;
	char *dir;
	int ret;

	ret = maildir_index_mailbox_lookup(ms, name, &row);
	if (ret == 0)
		store_set_error(store, STORE_ERR_NOTFOUND, "Mailbox doesn't exist: %s", name);
	if (ret <= 0)
		return -1;
	if ((dir = maildir_storage_mailbox_dir(ms, name)) == NULL)
		return -1;
	ret = maildir_recover_check(ms, row.id, dir, report, ctx);
	free(dir);
	return ret;
}
