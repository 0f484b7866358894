/* import.c: what the Maildir backend does for bulk imports (roost
 * import): the source's UIDVALIDITY and UIDNEXT for a mailbox, batched
 * durability, and tools' state in the index (store/sqlite-index/state.c).
 *
 * Batched durability: in a batch the store stops fsyncing files and
 * directories and the index runs with synchronous = NORMAL (its log is
 * written at each commit, synced only at checkpoints: never corrupt,
 * but the last commits may be lost with the power); a flush is one
 * syncfs() of the file system that holds the user's directory (the
 * index and the Maildir), which makes every file, rename and log frame
 * written so far durable at once.  Until a flush a power loss may leave
 * a row whose file did not reach the disk: the first open of the
 * folder expunges it (recover.c), and the importer, which records what
 * it imported only after a flush, imports that message again. */
#include "store/maildir/maildir-private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int maildir_import_set_uids(struct store *store, const char *name, uint32_t uidvalidity,
			    uint32_t uidnext)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	struct index_mailbox row;
	char *dir;
	int ret;

	if (index_begin(ms->index, true) < 0)
		return -1;
	ret = maildir_mailbox_lookup(ms, name, &row, &dir);
	if (ret < 0)
		return index_end(ms->index, -1);
	/* a UID that a file left by a crash carries stays taken */
	ret = maildir_recover_before_alloc(ms, row.id, dir, &row.uidnext);
	if (ret == 0 && uidvalidity != 0 && uidvalidity != row.uidvalidity) {
		ret = index_mailbox_set_uidvalidity(ms->index, row.id, uidvalidity);
		if (ret == 0) {
			store_set_error(store, STORE_ERR_NOTPOSSIBLE,
					"Mailbox %s has or had messages: its UIDVALIDITY stays",
					name);
			ret = -1;
		} else if (ret > 0) {
			ret = 0;
		}
	}
	if (ret == 0 && uidnext > row.uidnext)
		ret = index_mailbox_set_uidnext(ms->index, row.id, uidnext);
	if (ret == 0)
		ret = maildir_index_write_uidlist(ms, row.id, dir);
	free(dir);
	ret = index_end(ms->index, ret);
	if (ret == 0)
		maildir_storage_notify(ms);
	return ret;
}

int maildir_import_batch(struct store *store, bool begin)
{
	struct maildir_store *ms = (struct maildir_store *)store;

	if (begin) {
		ms->batch_fsync = ms->fsync;
		ms->fsync = false;
	} else {
		ms->fsync = ms->batch_fsync;
	}
	if (!ms->batch_fsync)
		return 0;
	return index_set_synchronous(ms->index, !begin);
}

int maildir_import_batch_flush(struct store *store)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	int fd, ret = 0;

	if (!ms->batch_fsync)
		return 0;
	fd = open(ms->userdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return maildir_storage_set_syscall_error(ms, "open", ms->userdir);
	if (syncfs(fd) < 0)
		ret = maildir_storage_set_syscall_error(ms, "syncfs", ms->userdir);
	close(fd);
	return ret;
}

int maildir_import_state_get(struct store *store, const void *key, size_t key_len,
			     struct str *value)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	int ret = index_state_get(ms->index, key, key_len, value);

	if (ret == 0)
		store_set_error(store, STORE_ERR_NOTFOUND, "No such state");
	return ret > 0 ? 0 : -1;
}

int maildir_import_state_set(struct store *store, const struct store_state_item *items,
			     size_t count)
{
	struct maildir_store *ms = (struct maildir_store *)store;
	int ret = 0;

	if (index_begin(ms->index, true) < 0)
		return -1;
	for (size_t i = 0; ret == 0 && i < count; i++)
		ret = index_state_set(ms->index, items[i].key, items[i].key_len,
				      items[i].value, items[i].value_len);
	return index_end(ms->index, ret);
}
