/* mailbox.c: the mailboxes table of the SQLite index (one row per
 * selectable mailbox, with UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ, SPECIAL-USE
 * and the \Recent watermark) and the store-wide UIDVALIDITY record in
 * meta. */
#include "store/sqlite-index/index-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAILBOX_COLUMNS "id, uidvalidity, uidnext, highestmodseq, special_use, recent_uid, " \
	"tombstone_floor, mailboxid"

static void mailbox_read(sqlite3_stmt *stmt, struct index_mailbox *row_r)
{
	row_r->id = sqlite3_column_int64(stmt, 0);
	row_r->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 1);
	row_r->uidnext = (uint32_t)sqlite3_column_int64(stmt, 2);
	row_r->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 3);
	row_r->special_use = (uint32_t)sqlite3_column_int64(stmt, 4);
	row_r->recent_uid = (uint32_t)sqlite3_column_int64(stmt, 5);
	row_r->tombstone_floor = (uint64_t)sqlite3_column_int64(stmt, 6);
	snprintf(row_r->mailboxid, sizeof(row_r->mailboxid), "%s", index_column_text(stmt, 7));
}

int index_mailbox_get(struct index *idx, const char *name, struct index_mailbox *row_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT " MAILBOX_COLUMNS
					" FROM mailboxes WHERE name = ?", "s", name);
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0)
		mailbox_read(stmt, row_r);
	index_stmt_done(idx, stmt);
	return ret;
}

int index_mailbox_get_by_id(struct index *idx, int64_t id, struct index_mailbox *row_r,
			    char **name_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT " MAILBOX_COLUMNS
					", name FROM mailboxes WHERE id = ?", "i", id);
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0) {
		mailbox_read(stmt, row_r);
		if (name_r != NULL)
			*name_r = xstrdup(index_column_text(stmt, 8));
	}
	index_stmt_done(idx, stmt);
	return ret;
}

int index_mailbox_has_children(struct index *idx, const char *name)
{
	char *prefix = xasprintf("%s/", name);
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT 1 FROM mailboxes "
					"WHERE substr(name, 1, ?1) = ?2 LIMIT 1",
					"is", (int64_t)strlen(prefix), prefix);
	int ret = index_stmt_step(idx, stmt);

	index_stmt_done(idx, stmt);
	free(prefix);
	return ret;
}

/* A UIDVALIDITY never used before in this index (inside a write txn). */
static int new_uidvalidity(struct index *idx, uint32_t *uidvalidity_r)
{
	sqlite3_stmt *stmt = index_stmt(idx,
		"SELECT max(coalesce((SELECT value FROM meta WHERE key = 'last_uidvalidity'), 0), "
		"coalesce((SELECT max(uidvalidity) FROM mailboxes), 0))", "");
	uint32_t last, now = (uint32_t)time(NULL), uv;
	int ret = index_stmt_step(idx, stmt);

	last = ret > 0 ? (uint32_t)sqlite3_column_int64(stmt, 0) : 0;
	index_stmt_done(idx, stmt);
	if (ret < 0)
		return -1;
	uv = now > last ? now : last + 1;
	if (uv == 0)
		uv = 1;
	*uidvalidity_r = uv;
	return index_run(idx, "INSERT OR REPLACE INTO meta(key, value) "
			 "VALUES ('last_uidvalidity', ?)", "u", uv) < 0 ? -1 : 0;
}

int index_mailbox_keep_uidvalidity(struct index *idx, uint32_t uidvalidity)
{
	return index_run(idx, "INSERT INTO meta(key, value) VALUES ('last_uidvalidity', ?1) "
			 "ON CONFLICT(key) DO UPDATE SET value = max(value, ?1)",
			 "u", uidvalidity) < 0 ? -1 : 0;
}

int index_mailbox_add(struct index *idx, const char *name, uint32_t special_use,
		      uint32_t uidvalidity, uint32_t uidnext, uint64_t highestmodseq,
		      struct index_mailbox *row_r)
{
	char *mailboxid;
	int ret;

	if (uidvalidity == 0 && new_uidvalidity(idx, &uidvalidity) < 0)
		return -1;
	if (index_thread_new_id(idx, 'F', &mailboxid) < 0)
		return -1;
	ret = index_run(idx, "INSERT INTO mailboxes(name, uidvalidity, uidnext, highestmodseq, "
			"special_use, recent_uid, mailboxid) VALUES (?, ?, ?, ?, ?, ?, ?)",
			"suuiuus", name, uidvalidity, uidnext, (int64_t)highestmodseq,
			special_use, uidnext, mailboxid);
	snprintf(row_r->mailboxid, sizeof(row_r->mailboxid), "%s", mailboxid);
	free(mailboxid);
	if (ret < 0)
		return -1;
	row_r->id = sqlite3_last_insert_rowid(idx->db);
	row_r->uidvalidity = uidvalidity;
	row_r->uidnext = uidnext;
	row_r->highestmodseq = highestmodseq;
	row_r->special_use = special_use;
	row_r->recent_uid = uidnext;
	row_r->tombstone_floor = 0;
	return 0;
}

int index_mailbox_set_mailboxid(struct index *idx, int64_t id, const char *mailboxid)
{
	return index_run(idx, "UPDATE mailboxes SET mailboxid = ? WHERE id = ?", "si",
			 mailboxid, id) < 0 ? -1 : 0;
}

int index_mailbox_next_modseq(struct index *idx, int64_t id, uint64_t *modseq_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "UPDATE mailboxes SET highestmodseq = "
					"highestmodseq + 1 WHERE id = ? RETURNING highestmodseq",
					"i", id);
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0)
		*modseq_r = (uint64_t)sqlite3_column_int64(stmt, 0);
	index_stmt_done(idx, stmt);
	if (ret == 0) {
		store_set_error(idx->store, STORE_ERR_NOTFOUND, "Mailbox was deleted");
		return -1;
	}
	return ret < 0 ? -1 : 0;
}

int index_mailbox_set_uidnext(struct index *idx, int64_t id, uint32_t uidnext)
{
	return index_run(idx, "UPDATE mailboxes SET uidnext = ? WHERE id = ?",
			 "ui", uidnext, id) < 0 ? -1 : 0;
}

int index_mailbox_claim_recent(struct index *idx, int64_t id, uint32_t uidnext,
			       uint32_t *first_r)
{
	sqlite3_stmt *stmt = index_stmt(idx, "SELECT recent_uid FROM mailboxes WHERE id = ?",
					"i", id);
	int ret = index_stmt_step(idx, stmt);

	*first_r = ret > 0 ? (uint32_t)sqlite3_column_int64(stmt, 0) : uidnext;
	index_stmt_done(idx, stmt);
	if (ret > 0 && *first_r < uidnext &&
	    index_run(idx, "UPDATE mailboxes SET recent_uid = ? WHERE id = ?",
		      "ui", uidnext, id) < 0)
		return -1;
	return ret;
}

int index_mailbox_rename(struct index *idx, int64_t id, const char *new_name)
{
	return index_run(idx, "UPDATE mailboxes SET name = ? WHERE id = ?",
			 "si", new_name, id) < 0 ? -1 : 0;
}

/* Runs each of sqls with the parameters ?1 = a, ?2 = b, ?3 = c. */
static int run_each(struct index *idx, const char *const *sqls, size_t count,
		    int64_t a, int64_t b, int64_t c)
{
	for (size_t i = 0; i < count; i++) {
		if (index_run(idx, sqls[i], "iii", a, b, c) < 0)
			return -1;
	}
	return 0;
}

int index_mailbox_delete(struct index *idx, int64_t id)
{
	static const char *const sqls[] = {
		"DELETE FROM messages WHERE mailbox = ?1",
		"DELETE FROM previews WHERE mailbox = ?1",
		"DELETE FROM keywords WHERE mailbox = ?1",
		"DELETE FROM expunged WHERE mailbox = ?1",
		"DELETE FROM mailboxes WHERE id = ?1",
	};

	if (index_fts_delete_mailbox(idx, id) < 0)
		return -1;
	return run_each(idx, sqls, N_ELEMENTS(sqls), id, 0, 0);
}

int index_mailbox_move_messages(struct index *idx, int64_t from, int64_t to,
				uint64_t modseq)
{
	static const char *const sqls[] = {
		"INSERT INTO keywords(mailbox, idx, name) SELECT ?2, idx, name FROM keywords WHERE mailbox = ?1",
		"INSERT OR REPLACE INTO expunged(mailbox, uid, modseq) SELECT ?1, uid, ?3 FROM messages WHERE mailbox = ?1",
		/* RFC 8474 4: the rename of INBOX is "creating a new mailbox
		 * and moving the messages", which RFC 8514 3 saves anew */
		("UPDATE messages SET mailbox = ?2, modseq = 1, "
		 "savedate = CAST(strftime('%s', 'now') AS INTEGER) WHERE mailbox = ?1"),
		"UPDATE previews SET mailbox = ?2 WHERE mailbox = ?1",
		("UPDATE mailboxes SET uidnext = (SELECT uidnext FROM mailboxes WHERE id = ?1), "
		 "recent_uid = (SELECT recent_uid FROM mailboxes WHERE id = ?1) WHERE id = ?2"),
	};

	if (index_fts_move_mailbox(idx, from, to) < 0)
		return -1;
	return run_each(idx, sqls, N_ELEMENTS(sqls), from, to, (int64_t)modseq);
}

int index_mailbox_status(struct index *idx, const struct index_mailbox *row,
			 struct store_status *status_r)
{
	sqlite3_stmt *stmt = index_stmt(idx,
		"SELECT count(*), coalesce(sum(flags & ?2 = 0), 0), coalesce(sum(flags & ?3 != 0), 0), "
		"coalesce(sum(uid >= ?4), 0), coalesce(sum(size), 0) FROM messages WHERE mailbox = ?1",
		"iuuu", row->id, (uint32_t)STORE_FLAG_SEEN, (uint32_t)STORE_FLAG_DELETED,
		row->recent_uid);
	int ret = index_stmt_step(idx, stmt);

	if (ret > 0) {
		status_r->messages = (uint32_t)sqlite3_column_int64(stmt, 0);
		status_r->unseen = (uint32_t)sqlite3_column_int64(stmt, 1);
		status_r->deleted = (uint32_t)sqlite3_column_int64(stmt, 2);
		status_r->recent = (uint32_t)sqlite3_column_int64(stmt, 3);
		status_r->size = (uint64_t)sqlite3_column_int64(stmt, 4);
		status_r->uidnext = row->uidnext;
		status_r->uidvalidity = row->uidvalidity;
		status_r->highestmodseq = row->highestmodseq;
		snprintf(status_r->mailboxid, sizeof(status_r->mailboxid), "%s", row->mailboxid);
	}
	index_stmt_done(idx, stmt);
	return ret < 0 ? -1 : 0;
}

void index_mailbox_entries_free(struct index_mailbox_entry *entries, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(entries[i].name);
	free(entries);
}

static void entry_read(sqlite3_stmt *stmt, void *elem)
{
	struct index_mailbox_entry *entry = elem;

	entry->id = sqlite3_column_int64(stmt, 0);
	entry->name = xstrdup(index_column_text(stmt, 1));
	entry->special_use = (uint32_t)sqlite3_column_int64(stmt, 2);
	entry->exists = sqlite3_column_int(stmt, 3) != 0;
	entry->subscribed = sqlite3_column_int(stmt, 4) != 0;
}

/* The entries of the rows of stmt (columns as entry_read() reads them). */
static int entries_read(struct index *idx, sqlite3_stmt *stmt,
			struct index_mailbox_entry **entries_r, size_t *count_r)
{
	if (index_stmt_rows(idx, stmt, sizeof(**entries_r), entry_read, (void **)entries_r,
			    count_r) < 0) {
		index_mailbox_entries_free(*entries_r, *count_r);
		return -1;
	}
	return 0;
}

int index_mailbox_list(struct index *idx, struct index_mailbox_entry **entries_r,
		       size_t *count_r)
{
	return entries_read(idx, index_stmt(idx,
		"SELECT id, name, special_use, 1, name IN (SELECT name FROM subscriptions) "
		"FROM mailboxes UNION ALL SELECT 0, name, 0, 0, 1 FROM subscriptions "
		"WHERE name NOT IN (SELECT name FROM mailboxes)", ""), entries_r, count_r);
}

int index_mailbox_list_tree(struct index *idx, const char *name,
			    struct index_mailbox_entry **entries_r, size_t *count_r)
{
	char *prefix = xasprintf("%s/", name);
	int ret = entries_read(idx, index_stmt(idx,
		"SELECT id, name, special_use, 1, name IN (SELECT name FROM subscriptions) "
		"FROM mailboxes WHERE name = ?1 OR substr(name, 1, ?2) = ?3",
		"sis", name, (int64_t)strlen(prefix), prefix), entries_r, count_r);

	free(prefix);
	return ret;
}

void index_mailbox_states_free(struct index_mailbox_state *states, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(states[i].name);
	free(states);
}

static void state_read(sqlite3_stmt *stmt, void *elem)
{
	struct index_mailbox_state *state = elem;

	state->id = sqlite3_column_int64(stmt, 0);
	state->name = xstrdup(index_column_text(stmt, 1));
	state->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 2);
	state->uidnext = (uint32_t)sqlite3_column_int64(stmt, 3);
	state->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 4);
}

int index_mailbox_states(struct index *idx, struct index_mailbox_state **states_r,
			 size_t *count_r)
{
	/* name's UNIQUE index gives the BINARY (memcmp) order without a sort */
	if (index_stmt_rows(idx, index_stmt(idx, "SELECT id, name, uidvalidity, uidnext, "
					    "highestmodseq FROM mailboxes ORDER BY name", ""),
			    sizeof(**states_r), state_read, (void **)states_r, count_r) < 0) {
		index_mailbox_states_free(*states_r, *count_r);
		return -1;
	}
	return 0;
}
