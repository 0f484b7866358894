/* rebuild.c: recreates a user's index from the Maildir alone
 * (`roost check --rebuild`).
 *
 * Kept from the disk: folder names (directory names), UIDVALIDITY, UIDNEXT
 * and SPECIAL-USE (roost-uidlist), UIDs, sizes, flags and keywords 0-25
 * (file names + roost-keywords), internal dates (file mtimes) and
 * subscriptions (roost-subscriptions).  When the index being replaced can
 * still be read, it decides: each file it knows (by the unique part of its
 * name) keeps the UID it had there, whatever the name says, UIDNEXT and
 * HIGHESTMODSEQ do not go below its values, its expunge tombstones are
 * kept, its Sieve tracking memory (vacation, duplicate) is kept, and a
 * file it does not know whose UID is tombstoned is removed.
 * Lost: keywords past the 26th, internal date time zones (0), \Recent
 * (nothing is recent after a rebuild), and tombstones when the old index
 * is unreadable: the mailbox's tombstone floor (tombstone.c) is then the
 * modseq the rebuild gives its messages, so that QRESYNC clients older
 * than it compare UIDs.  Files without a UID or with a UID that another file
 * already has get new UIDs above all others, in Maildir delivery order
 * (delivery_cmp()); of files sharing a UID the
 * one the old index gave it keeps it, else the one renamed last (newest
 * ctime): before recover.c, an append that crashed between its rename
 * into cur/ and its commit left an older file whose UID the next append
 * reused.  Every message gets one modseq
 * above both the recorded HIGHESTMODSEQ and the current time in seconds,
 * so CONDSTORE clients never see the modseq go backwards.  Once the rows
 * are in, each file is parsed once for its message model, SORT/THREAD
 * keys and full-text documents (rebuild_fill()), so that nothing after
 * the rebuild parses a message again. */
#include "store/maildir/maildir-private.h"
#include "base/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct rebuild_file {
	char *name;
	struct maildir_filename fn;
	struct timespec ctime;
	bool pinned;		/* the old index gave it fn.uid */
	/* the old index's row of this file (its ids and save date), if it
	 * keeps that row's UID */
	const struct old_msg *old;
};

/* What the index being replaced said, when it can still be read: the
 * UID of each file (by mailbox and unique part), UIDNEXT and
 * HIGHESTMODSEQ of each mailbox, and the expunge tombstones. */
struct old_msg {
	char *mailbox, *unique;
	uint32_t uid;
	char *emailid, *threadid;	/* NULL when it had none */
	time_t savedate;
};
struct old_box {
	char *name;
	uint32_t uidnext;
	uint64_t highestmodseq;
	uint64_t tombstone_floor;
	char *mailboxid;		/* NULL when it had none */
};
struct old_thread {
	char *msgid, *threadid;
};
struct old_track {
	void *id;
	size_t id_len;
	time_t expires;
};
struct old_expunged {
	char *mailbox;
	uint32_t uid;
	uint64_t modseq;
};
struct old_index {
	bool valid;
	struct old_msg *msgs;
	size_t msg_count, msg_cap;
	struct old_box *boxes;
	size_t box_count, box_cap;
	struct old_expunged *expunged;
	size_t expunged_count, expunged_cap;
	struct old_thread *threads;
	size_t thread_count, thread_cap;
	struct old_track *tracks;
	size_t track_count, track_cap;
};
/* set by maildir_rebuild() around the populate callback */
static struct old_index *rebuild_old;

/* A row the rebuild inserted without its model and text: filled once
 * all rows are in (rebuild_fill()). */
struct rebuild_todo_msg {
	int64_t mailbox_id;
	uint32_t uid;
	char *path;
};
struct rebuild_todo {
	struct rebuild_todo_msg *msgs;
	size_t count, cap;
};
/* set by maildir_rebuild() around the populate callback; NULL when an
 * index lost under a Maildir is made again at login (storage.c), whose
 * rows are then parsed on first use instead */
static struct rebuild_todo *rebuild_todo;

static int old_msg_cmp(const void *a, const void *b)
{
	const struct old_msg *ma = a, *mb = b;
	int cmp = strcmp(ma->mailbox, mb->mailbox);

	return cmp != 0 ? cmp : strcmp(ma->unique, mb->unique);
}

static void old_index_free(struct old_index *old)
{
	for (size_t i = 0; i < old->msg_count; i++) {
		free(old->msgs[i].mailbox);
		free(old->msgs[i].unique);
		free(old->msgs[i].emailid);
		free(old->msgs[i].threadid);
	}
	for (size_t i = 0; i < old->box_count; i++) {
		free(old->boxes[i].name);
		free(old->boxes[i].mailboxid);
	}
	for (size_t i = 0; i < old->expunged_count; i++)
		free(old->expunged[i].mailbox);
	for (size_t i = 0; i < old->thread_count; i++) {
		free(old->threads[i].msgid);
		free(old->threads[i].threadid);
	}
	for (size_t i = 0; i < old->track_count; i++)
		free(old->tracks[i].id);
	free(old->tracks);
	free(old->threads);
	free(old->msgs);
	free(old->boxes);
	free(old->expunged);
	memset(old, 0, sizeof(*old));
}

static char *xstrdup_null(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

static void old_msg_add(void *ctx, const char *mailbox, uint32_t uid, const char *location,
			const struct index_msg_ids *ids)
{
	struct old_index *old = ctx;
	struct maildir_filename fn;

	maildir_file_name_parse(location, &fn);
	ARRAY_RESERVE(old->msgs, old->msg_cap, old->msg_count + 1);
	old->msgs[old->msg_count++] = (struct old_msg){
		xstrdup(mailbox), fn.unique, uid, xstrdup_null(ids->emailid),
		xstrdup_null(ids->threadid), ids->savedate };
}

static void old_box_add(void *ctx, const char *name, uint32_t uidnext, uint64_t highestmodseq,
			const char *mailboxid)
{
	struct old_index *old = ctx;

	ARRAY_RESERVE(old->boxes, old->box_cap, old->box_count + 1);
	old->boxes[old->box_count++] = (struct old_box){ xstrdup(name), uidnext, highestmodseq, 0,
							 xstrdup_null(mailboxid) };
}

static void old_box_floor(void *ctx, const char *name, uint64_t floor)
{
	struct old_index *old = ctx;

	for (size_t i = 0; i < old->box_count; i++) {
		if (strcmp(old->boxes[i].name, name) == 0)
			old->boxes[i].tombstone_floor = floor;
	}
}

static void old_thread_add(void *ctx, const char *msgid, const char *threadid)
{
	struct old_index *old = ctx;

	ARRAY_RESERVE(old->threads, old->thread_cap, old->thread_count + 1);
	old->threads[old->thread_count++] = (struct old_thread){ xstrdup(msgid),
								 xstrdup(threadid) };
}

static void old_expunged_add(void *ctx, const char *mailbox, uint32_t uid, uint64_t modseq)
{
	struct old_index *old = ctx;

	ARRAY_RESERVE(old->expunged, old->expunged_cap, old->expunged_count + 1);
	old->expunged[old->expunged_count++] = (struct old_expunged){ xstrdup(mailbox), uid, modseq };
}

static void old_track_add(void *ctx, const void *id, size_t id_len, time_t expires)
{
	struct old_index *old = ctx;

	ARRAY_RESERVE(old->tracks, old->track_cap, old->track_count + 1);
	old->tracks[old->track_count++] = (struct old_track){ xmemdup(id, id_len), id_len,
							      expires };
}

static const struct index_salvage_callbacks old_index_callbacks = {
	.msg = old_msg_add,
	.mailbox = old_box_add,
	.tombstone = old_expunged_add,
	.tombstone_floor = old_box_floor,
	.thread = old_thread_add,
	.sieve_track = old_track_add,
};

/* Reads the index at path (read-only) into *old; old->valid stays false
 * when it cannot be read (missing, corrupt): the rebuild then has only
 * the file names. */
static void old_index_read(struct maildir_store *ms, const char *path, struct old_index *old)
{
	struct stat st;
	char *error;

	memset(old, 0, sizeof(*old));
	if (stat(path, &st) < 0)
		return;
	if (index_salvage_read(path, &old_index_callbacks, old, &error) < 0) {
		log_warning("store(%s): rebuild: the old index %s cannot be read (%s); "
			    "UIDs come from the file names alone", ms->store.user, path, error);
		free(error);
		old_index_free(old);
	} else {
		if (old->msg_count > 1)
			qsort(old->msgs, old->msg_count, sizeof(*old->msgs), old_msg_cmp);
		old->valid = true;
	}
}

static const struct old_msg *old_msg_find(const char *mailbox, const char *unique)
{
	struct old_msg key = { .mailbox = (char *)mailbox, .unique = (char *)unique };

	/* bsearch() may not be given a NULL array, even an empty one */
	if (rebuild_old == NULL || !rebuild_old->valid || rebuild_old->msg_count == 0)
		return NULL;
	return bsearch(&key, rebuild_old->msgs, rebuild_old->msg_count,
		       sizeof(*rebuild_old->msgs), old_msg_cmp);
}

static const struct old_box *old_box_find(const char *mailbox)
{
	for (size_t i = 0; rebuild_old != NULL && i < rebuild_old->box_count; i++) {
		if (strcmp(rebuild_old->boxes[i].name, mailbox) == 0)
			return &rebuild_old->boxes[i];
	}
	return NULL;
}

static bool old_expunged(const char *mailbox, uint32_t uid)
{
	for (size_t i = 0; rebuild_old != NULL && i < rebuild_old->expunged_count; i++) {
		if (rebuild_old->expunged[i].uid == uid &&
		    strcmp(rebuild_old->expunged[i].mailbox, mailbox) == 0)
			return true;
	}
	return false;
}

/* The old tombstones of `mailbox`, under its new id. */
static int old_expunged_copy(struct maildir_store *ms, const char *mailbox, int64_t id)
{
	int ret = 0;

	for (size_t i = 0; ret == 0 && rebuild_old != NULL && i < rebuild_old->expunged_count; i++) {
		const struct old_expunged *e = &rebuild_old->expunged[i];

		if (strcmp(e->mailbox, mailbox) == 0)
			ret = index_tombstone_add(ms->index, id, e->uid, e->modseq);
	}
	return ret < 0 ? -1 : 0;
}

struct uidlist {
	uint32_t uidvalidity, uidnext, special_use;
	uint64_t highestmodseq;
};

static void read_uidlist(const char *dir, struct uidlist *ul_r)
{
	char *path = xasprintf("%s/roost-uidlist", dir);
	char *data, *line, *save = NULL;

	memset(ul_r, 0, sizeof(*ul_r));
	if (maildir_file_read_small(path, &data) == 0) {
		for (line = strtok_r(data, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			char *sp = strchr(line, ' ');
			uint64_t value;

			if (sp == NULL || str_to_u64(sp + 1, UINT64_MAX, &value) < 0)
				continue;
			*sp = '\0';
			if (strcmp(line, "uidvalidity") == 0 && value <= UINT32_MAX)
				ul_r->uidvalidity = (uint32_t)value;
			else if (strcmp(line, "uidnext") == 0 && value <= UINT32_MAX)
				ul_r->uidnext = (uint32_t)value;
			else if (strcmp(line, "special_use") == 0 && value <= UINT32_MAX)
				ul_r->special_use = (uint32_t)value;
			else if (strcmp(line, "highestmodseq") == 0)
				ul_r->highestmodseq = value;
		}
		free(data);
	}
	free(path);
}

unsigned int maildir_recover_check_uidlist(const char *dir,
					   const struct index_mailbox *row,
					   store_check_report_t *report, void *ctx)
{
	struct uidlist ul;
	unsigned int problems = 0;
	char *text;

	read_uidlist(dir, &ul);
	if (ul.uidvalidity == 0) {
		report(ctx, "roost-uidlist: missing or without UIDVALIDITY");
		return 1;
	}
	if (ul.uidvalidity != row->uidvalidity) {
		text = xasprintf("roost-uidlist: UIDVALIDITY %u, the index has %u",
				 ul.uidvalidity, row->uidvalidity);
		report(ctx, text);
		free(text);
		problems++;
	}
	/* the file is written at some changes only, so it may lag behind,
	 * never run ahead */
	if (ul.uidnext > row->uidnext) {
		text = xasprintf("roost-uidlist: UIDNEXT %u is above the index's %u",
				 ul.uidnext, row->uidnext);
		report(ctx, text);
		free(text);
		problems++;
	}
	return problems;
}

/* roost-keywords: "<index> <name>" lines; returns names[0..count-1], gaps
 * filled with placeholder names so the table stays dense. */
static int load_keyword_file(struct maildir_store *ms, int64_t mailbox_id, const char *dir)
{
	char *path = xasprintf("%s/roost-keywords", dir);
	char *names[MAILDIR_KEYWORD_LETTERS] = { 0 };
	char *data, *line, *save = NULL;
	size_t count = 0;
	int ret = 0;

	if (maildir_file_read_small(path, &data) == 0) {
		for (line = strtok_r(data, "\n", &save); line != NULL;
		     line = strtok_r(NULL, "\n", &save)) {
			char *sp = strchr(line, ' ');
			uint64_t idx;

			if (sp == NULL)
				continue;
			*sp = '\0';
			if (str_to_u64(line, MAILDIR_KEYWORD_LETTERS - 1, &idx) < 0 ||
			    sp[1] == '\0' || names[idx] != NULL)
				continue;
			names[idx] = xstrdup(sp + 1);
			if (idx + 1 > count)
				count = idx + 1;
		}
		free(data);
	}
	free(path);
	for (size_t i = 0; i < count; i++) {
		char *name = names[i] != NULL ? names[i] : xasprintf("$RoostLost%zu", i);

		names[i] = name;
		ret = index_keyword_add(ms->index, mailbox_id, i, name);
		if (ret < 0)
			break;
	}
	for (size_t i = 0; i < MAILDIR_KEYWORD_LETTERS; i++)
		free(names[i]);
	return ret < 0 ? -1 : (int)count;
}

static inline bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Compares a[0..a_len) and b[0..b_len) with each run of decimal digits
 * taken as a number (of any length: leading zeros skipped, then the
 * longer run is the bigger number). */
static int natural_cmp(const char *a, size_t a_len, const char *b, size_t b_len)
{
	size_t i = 0, j = 0;

	while (i < a_len && j < b_len) {
		if (is_digit(a[i]) && is_digit(b[j])) {
			size_t ai, bj;

			while (i < a_len && a[i] == '0')
				i++;
			while (j < b_len && b[j] == '0')
				j++;
			for (ai = i; ai < a_len && is_digit(a[ai]); ai++)
				;
			for (bj = j; bj < b_len && is_digit(b[bj]); bj++)
				;
			if (ai - i != bj - j)
				return ai - i < bj - j ? -1 : 1;
			int cmp = memcmp(a + i, b + j, ai - i);

			if (cmp != 0)
				return cmp;
			i = ai;
			j = bj;
			continue;
		}
		if (a[i] != b[j])
			return (unsigned char)a[i] < (unsigned char)b[j] ? -1 : 1;
		i++;
		j++;
	}
	if (i < a_len || j < b_len)
		return i < a_len ? 1 : -1;
	return 0;
}

/* The length of a Maildir name's "<time>.<sequence>" head: up to its
 * second '.' (or its ':'). */
static size_t delivery_head_len(const char *name)
{
	const char *dot = strchr(name, '.');
	size_t len = strcspn(name, ":");

	if (dot != NULL && (size_t)(dot - name) < len) {
		const char *dot2 = strchr(dot + 1, '.');

		if (dot2 != NULL && (size_t)(dot2 - name) < len)
			len = (size_t)(dot2 - name);
	}
	return len;
}

/* Maildir delivery order, as Dovecot and other Maildir readers number
 * new mail: a name starts with the delivery time in decimal seconds and
 * a part that tells deliveries within the second apart (Dovecot's
 * "M<usec>P<pid>", Courier's "<usec>_<n>", "P<pid>Q<n>"), so the head
 * "<time>.<sequence>" is compared with its digit runs as numbers
 * ("999.x" before "1000.x"), then the name without its flags (":2,..."
 * changes with them) as bytes, then the whole name. */
static int delivery_cmp(const char *a, const char *b)
{
	int cmp = natural_cmp(a, delivery_head_len(a), b, delivery_head_len(b));
	size_t a_len = strcspn(a, ":"), b_len = strcspn(b, ":");

	if (cmp == 0)
		cmp = memcmp(a, b, ROOST_MIN(a_len, b_len));
	if (cmp == 0 && a_len != b_len)
		cmp = a_len < b_len ? -1 : 1;
	return cmp != 0 ? cmp : strcmp(a, b);
}

/* By UID, files without one (uid 0) last; 0 for the same UID. */
static int file_uid_cmp(const struct rebuild_file *fa, const struct rebuild_file *fb)
{
	if (fa->fn.uid == fb->fn.uid)
		return 0;
	if (fa->fn.uid == 0)
		return 1;
	if (fb->fn.uid == 0)
		return -1;
	return fa->fn.uid < fb->fn.uid ? -1 : 1;
}

/* Which file keeps a UID that several files carry: the one the old
 * index gave it, else the one renamed last (newest ctime).  Sorted
 * with it, files come by UID, the keeper first, files without one last
 * in delivery order. */
static int file_keeper_cmp(const void *a, const void *b)
{
	const struct rebuild_file *fa = a, *fb = b;
	int cmp = file_uid_cmp(fa, fb);

	if (cmp != 0)
		return cmp;
	/* of files sharing a uid, the one the old index gave it keeps it */
	if (fa->pinned != fb->pinned)
		return fa->pinned ? -1 : 1;
	if (fa->ctime.tv_sec != fb->ctime.tv_sec)
		return fa->ctime.tv_sec > fb->ctime.tv_sec ? -1 : 1;
	if (fa->ctime.tv_nsec != fb->ctime.tv_nsec)
		return fa->ctime.tv_nsec > fb->ctime.tv_nsec ? -1 : 1;
	return delivery_cmp(fa->name, fb->name);
}

/* The order of the index: files keeping their UID by UID, then the
 * files that get a new one (uid 0 by now) in delivery order. */
static int file_order_cmp(const void *a, const void *b)
{
	const struct rebuild_file *fa = a, *fb = b;
	int cmp = file_uid_cmp(fa, fb);

	return cmp != 0 ? cmp : delivery_cmp(fa->name, fb->name);
}

/* A file that another program wrote straight into cur/ (its name has no
 * S= and U= both, as Roost's own have: see rebuild_name_is_roosts(); a
 * Maildir taken over from Dovecot or Courier, say) is mail as that program
 * wrote it, bare LF line ends and all: it is replaced, atomically and
 * with its mtime (the internal date), by its CRLF form, as a file dropped
 * into new/ is when picked up (sync.c), so that RFC822.SIZE, BODY[] and
 * BODYSTRUCTURE describe the same bytes.  0 or -1 (error set). */
static int rebuild_crlf(struct maildir_store *ms, const char *dir, const char *path,
			const char *unique)
{
	char *tmp = xasprintf("%s/tmp/%s.crlf", dir, unique);
	uint64_t size, header_size;
	struct timespec times[2];
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0) {
		ret = maildir_storage_set_syscall_error(ms, "open", path);
		if (fd >= 0)
			close(fd);
		free(tmp);
		return ret;
	}
	ret = maildir_sync_copy_crlf(ms, fd, tmp, &size, &header_size, NULL);
	close(fd);
	if (ret == 0 && (uint64_t)st.st_size != size) {
		times[0] = st.st_mtim;
		times[1] = st.st_mtim;
		(void)utimensat(AT_FDCWD, tmp, times, 0);
		if (rename(tmp, path) < 0)
			ret = maildir_storage_set_syscall_error(ms, "rename", tmp);
	}
	(void)unlink(tmp);
	free(tmp);
	return ret;
}

/* Whether a cur/ file name is one Roost gave: <unique>,S=<size>,U=<uid>
 * (maildir_file_name()), always both.  Other programs' names lack one:
 * Dovecot's and Courier's have S= (with Dovecot's W=, the size with CRLF
 * line ends, because their files have LF ones) but no U=, mbsync's U=
 * but no S=. */
static bool rebuild_name_is_roosts(const char *name)
{
	struct maildir_filename fn;

	maildir_file_name_parse(name, &fn);
	free(fn.unique);
	return fn.has_size && fn.uid != 0;
}

static int rebuild_folder(struct maildir_store *ms, const char *name, const char *dir,
			  time_t tmp_max_age)
{
	struct rebuild_file *files = NULL;
	size_t count = 0, cap = 0, i;
	struct uidlist ul;
	uint32_t uidnext, last_uid = 0;
	uint64_t modseq;
	int64_t id;
	int ret = 0, keyword_count;
	char *curdir = xasprintf("%s/cur", dir);
	DIR *d;
	struct dirent *de;

	maildir_storage_clean_tmp(ms, dir, tmp_max_age);
	read_uidlist(dir, &ul);
	if ((d = opendir(curdir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			struct stat st;

			if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
				continue;
			ARRAY_RESERVE(files, cap, count + 1);
			files[count].ctime = st.st_ctim;
			files[count].pinned = false;
			files[count].old = NULL;
			files[count].name = xstrdup(de->d_name);
			maildir_file_name_parse(de->d_name, &files[count].fn);
			count++;
		}
		closedir(d);
	}
	/* the old index decides which file has which UID; an unknown file
	 * with an expunged UID is what an expunge left behind, one with a
	 * UID below the old UIDNEXT gets a new UID (clients may have seen
	 * that UIDNEXT) */
	const struct old_box *ob = old_box_find(name);

	for (i = 0; rebuild_old != NULL && rebuild_old->valid && i < count; i++) {
		const struct old_msg *om = old_msg_find(name, files[i].fn.unique);

		if (om != NULL) {
			files[i].fn.uid = om->uid;
			files[i].pinned = true;
			files[i].old = om;
		} else if (files[i].fn.uid != 0 && old_expunged(name, files[i].fn.uid)) {
			char *path = xasprintf("%s/%s", curdir, files[i].name);

			log_warning("store(%s): rebuild: %s: UID %u was expunged: removed",
				    ms->store.user, path, files[i].fn.uid);
			(void)unlink(path);
			free(path);
			free(files[i].name);
			free(files[i].fn.unique);
			files[i--] = files[--count];
		} else if (ob != NULL && files[i].fn.uid < ob->uidnext) {
			files[i].fn.uid = 0;
		}
	}
	if (count > 1)
		qsort(files, count, sizeof(*files), file_keeper_cmp);
	uidnext = ul.uidnext == 0 ? 1 : ul.uidnext;
	if (ob != NULL) {
		uidnext = ROOST_MAX(uidnext, ob->uidnext);
		ul.highestmodseq = ROOST_MAX(ul.highestmodseq, ob->highestmodseq);
	}
	for (i = 0; i < count; i++) {
		if (files[i].fn.uid >= uidnext)
			uidnext = files[i].fn.uid + 1;
	}
	/* duplicates and files without a uid get new ones, above all
	 * others, in delivery order, so that the sequence numbers of mail
	 * from another Maildir program follow its arrival */
	for (i = 0; i < count; i++) {
		uint32_t uid = files[i].fn.uid;

		if (uid == last_uid) {
			files[i].fn.uid = 0;
			files[i].old = NULL;	/* another message */
		}
		last_uid = uid;
	}
	if (count > 1)
		qsort(files, count, sizeof(*files), file_order_cmp);
	for (i = 0; i < count; i++) {
		if (files[i].fn.uid == 0)
			files[i].fn.uid = uidnext++;
	}
	modseq = ROOST_MAX(ul.highestmodseq, (uint64_t)time(NULL)) + 1;
	if (ul.uidvalidity != 0)
		ret = index_mailbox_keep_uidvalidity(ms->index, ul.uidvalidity);
	if (ret == 0)
		ret = maildir_index_mailbox_add(ms, name, ul.special_use, ul.uidvalidity,
						uidnext, modseq, &id);
	if (ret == 0)
		ret = old_expunged_copy(ms, name, id);
	/* QRESYNC (tombstone.c): the old index's tombstones are complete
	 * from its floor on; without the old index every expunge before
	 * this rebuild is unknown, and the messages' modseq is the floor */
	if (ret == 0 && (rebuild_old == NULL || !rebuild_old->valid))
		ret = index_tombstone_set_floor(ms->index, id, modseq);
	else if (ret == 0 && ob != NULL && ob->tombstone_floor != 0)
		ret = index_tombstone_set_floor(ms->index, id, ob->tombstone_floor);
	/* RFC 8474 4: the same MAILBOXID for the same name and UIDVALIDITY */
	if (ret == 0 && ob != NULL && ob->mailboxid != NULL)
		ret = index_mailbox_set_mailboxid(ms->index, id, ob->mailboxid);
	keyword_count = ret < 0 ? -1 : load_keyword_file(ms, id, dir);
	if (keyword_count < 0)
		ret = -1;

	for (i = 0; ret == 0 && i < count; i++) {
		struct maildir_filename *fn = &files[i].fn;
		struct store_msg msg = { 0 };
		char *path = xasprintf("%s/%s", curdir, files[i].name);
		char *final;
		struct stat st;

		if (!rebuild_name_is_roosts(files[i].name) &&
		    rebuild_crlf(ms, dir, path, fn->unique) < 0) {
			/* indexed as it is rather than lost from the index */
			log_warning("store(%s): rebuild: %s kept as it is: %s", ms->store.user,
				    path, ms->store.error != NULL ? ms->store.error : "?");
			store_clear_error(&ms->store);
		}
		if (stat(path, &st) < 0 || maildir_file_header_size(path, &msg.header_size) < 0) {
			log_warning("store(%s): rebuild: skipping %s: %m", ms->store.user, path);
			free(path);
			continue;
		}
		msg.uid = fn->uid;
		msg.flags = fn->flags;
		msg.keywords = keyword_count >= 64 ? fn->keywords :
			fn->keywords & (((store_keywords_t)1 << keyword_count) - 1);
		msg.modseq = modseq;
		msg.internaldate = st.st_mtime;
		msg.size = (uint64_t)st.st_size;
		/* the name must carry the uid and size the index has */
		final = maildir_file_name(fn->unique, msg.size, msg.uid, msg.flags, msg.keywords);
		if (strcmp(final, files[i].name) != 0) {
			char *dst = xasprintf("%s/%s", curdir, final);

			if (rename(path, dst) < 0)
				ret = maildir_storage_set_syscall_error(ms, "rename", path);
			free(dst);
		}
		free(path);
		/* the old index's ids; without it a new EMAILID and the
		 * internal date as the save date */
		struct index_msg_ids ids = { .savedate = msg.internaldate };
		if (files[i].old != NULL) {
			ids.emailid = files[i].old->emailid;
			ids.threadid = files[i].old->threadid;
			if (files[i].old->savedate != 0)
				ids.savedate = files[i].old->savedate;
		}
		if (ret == 0)
			ret = index_msg_insert_ids(ms->index, id, final, &msg, NULL, &ids);
		if (ret == 0 && rebuild_todo != NULL) {
			ARRAY_RESERVE(rebuild_todo->msgs, rebuild_todo->cap, rebuild_todo->count + 1);
			rebuild_todo->msgs[rebuild_todo->count++] = (struct rebuild_todo_msg){
				id, msg.uid, xasprintf("%s/%s", curdir, final) };
		}
		free(final);
		if (ret < 0)
			break;
	}
	if (ret == 0)
		ret = maildir_storage_fsync_dir(ms, curdir);
	for (i = 0; i < count; i++) {
		free(files[i].name);
		free(files[i].fn.unique);
	}
	free(files);
	free(curdir);
	return ret;
}

static int rebuild_subscriptions(struct maildir_store *ms)
{
	char *path = xasprintf("%s/roost-subscriptions", ms->maildir);
	char *data, *line, *save = NULL;
	int ret = 0;

	if (maildir_file_read_small(path, &data) == 0) {
		for (line = strtok_r(data, "\n", &save); ret >= 0 && line != NULL;
		     line = strtok_r(NULL, "\n", &save))
			ret = index_subscription_set(ms->index, line, true);
		free(data);
	}
	free(path);
	return ret < 0 ? -1 : 0;
}

int maildir_rebuild_index(struct maildir_store *ms, time_t tmp_max_age)
{
	DIR *d;
	struct dirent *de;
	int ret;

	/* the old thread table first, so that the messages the rebuild
	 * threads anew join the threads they belonged to */
	ret = 0;
	for (size_t i = 0; ret == 0 && rebuild_old != NULL && rebuild_old->valid &&
	     i < rebuild_old->thread_count; i++)
		ret = index_thread_add(ms->index, rebuild_old->threads[i].msgid,
				       rebuild_old->threads[i].threadid);
	/* Sieve's tracking memory: vacation does not answer again whom it
	 * answered, duplicate still knows what it saw */
	for (size_t i = 0; ret == 0 && rebuild_old != NULL && rebuild_old->valid &&
	     i < rebuild_old->track_count; i++)
		ret = index_sieve_track_mark(ms->index, rebuild_old->tracks[i].id,
					     rebuild_old->tracks[i].id_len,
					     rebuild_old->tracks[i].expires);
	if (ret == 0)
		ret = rebuild_folder(ms, "INBOX", ms->maildir, tmp_max_age);
	if (ret == 0 && (d = opendir(ms->maildir)) != NULL) {
		while (ret == 0 && (de = readdir(d)) != NULL) {
			char *dir, *cur, *name, *norm;
			struct stat st;

			if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			dir = xasprintf("%s/%s", ms->maildir, de->d_name);
			cur = xasprintf("%s/cur", dir);
			name = maildir_file_unescape_name(de->d_name + 1);
			norm = name == NULL ? NULL : store_name_normalize(&ms->store, name);
			if (norm != NULL && !store_name_is_inbox(norm) &&
			    stat(cur, &st) == 0 && S_ISDIR(st.st_mode)) {
				char *expected = maildir_storage_mailbox_dir(ms, norm);

				/* only the canonical spelling of a name */
				if (expected != NULL && strcmp(expected, dir) == 0)
					ret = rebuild_folder(ms, norm, dir, tmp_max_age);
				else
					log_warning("store(%s): rebuild: ignoring %s",
						    ms->store.user, dir);
				free(expected);
			}
			store_clear_error(&ms->store);
			free(norm);
			free(name);
			free(cur);
			free(dir);
		}
		closedir(d);
	}
	if (ret == 0)
		ret = rebuild_subscriptions(ms);
	return ret;
}

/* ---- parse once: the model and the text of every row ---- */

/* Rows per transaction of the fill, and per batch parsed ahead. */
#define REBUILD_FILL_BATCH 1024

struct rebuild_parsed {
	int error;		/* errno of a failed open or read, else 0 */
	struct store_msg_cache_data cache;
	struct store_msg_text_data text;
};

struct rebuild_batch {
	const struct rebuild_todo_msg *msgs;
	struct rebuild_parsed *parsed;	/* REBUILD_FILL_BATCH, zeroed when unused */
	size_t count;
};

/* Reads and parses each file of the batch once.  It may run on a thread
 * of its own, so it touches nothing but the batch: no store, no index,
 * no log. */
static void *rebuild_batch_parse(void *arg)
{
	struct rebuild_batch *batch = arg;

	for (size_t i = 0; i < batch->count; i++) {
		struct rebuild_parsed *p = &batch->parsed[i];
		int fd = open(batch->msgs[i].path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct istream *msg;

		p->error = 0;
		if (fd < 0) {
			p->error = errno;
			continue;
		}
		msg = istream_from_fd(fd);
		if (store_msg_cache_text_read(&p->cache, &p->text, msg) < 0)
			p->error = errno != 0 ? errno : EIO;
		istream_destroy(&msg);
	}
	return NULL;
}

static void rebuild_batch_free(struct rebuild_batch *batch)
{
	for (size_t i = 0; i < batch->count; i++) {
		store_msg_cache_data_free(&batch->parsed[i].cache);
		store_msg_text_data_free(&batch->parsed[i].text);
		batch->parsed[i].error = 0;
	}
	batch->count = 0;
}

/* The next batch of todo from *next on. */
static void rebuild_batch_take(struct rebuild_batch *batch, const struct rebuild_todo *todo,
			       size_t *next)
{
	/* an empty store has no array (NULL + 0 is undefined in C) */
	batch->msgs = todo->msgs == NULL ? NULL : todo->msgs + *next;
	batch->count = ROOST_MIN((size_t)REBUILD_FILL_BATCH, todo->count - *next);
	*next += batch->count;
}

/* Writes a parsed batch in one transaction, through the same entry
 * points as an append (index_cache_set(), index_fts_insert()).  A file
 * that could not be read keeps a row without its model and text: it is
 * parsed on first use, like mail picked up from new/.  0 or -1. */
static int rebuild_batch_write(struct maildir_store *ms, const struct rebuild_batch *batch)
{
	int ret = 0;

	if (index_begin(ms->index, true) < 0)
		return -1;
	for (size_t i = 0; ret == 0 && i < batch->count; i++) {
		const struct rebuild_todo_msg *m = &batch->msgs[i];
		const struct rebuild_parsed *p = &batch->parsed[i];

		if (p->error != 0) {
			log_warning("store(%s): rebuild: %s cannot be read (%s); it is parsed "
				    "on first use", ms->store.user, m->path, strerror(p->error));
			continue;
		}
		ret = index_cache_set(ms->index, m->mailbox_id, m->uid, &p->cache);
		if (ret == 0)
			ret = index_fts_insert(ms->index, m->mailbox_id, m->uid, &p->text);
	}
	return index_end(ms->index, ret);
}

/* Parses every file of todo once and writes its model (ENVELOPE, BODY,
 * BODYSTRUCTURE, part map, SORT and THREAD keys) and its full-text
 * documents, batch by batch: while this thread writes one batch into the
 * index, another parses the next (the parse is most of the work, and the
 * two share no data but the batch handed over).  Without a thread, the
 * batches are parsed in turn here.  0 or -1 (error set). */
static int rebuild_fill(struct maildir_store *ms, const struct rebuild_todo *todo)
{
	struct rebuild_batch batches[2] = { 0 };
	size_t next = 0, k = 0;
	int ret = 0;

	for (size_t i = 0; i < N_ELEMENTS(batches); i++)
		batches[i].parsed = xcalloc(REBUILD_FILL_BATCH, sizeof(*batches[i].parsed));
	rebuild_batch_take(&batches[0], todo, &next);
	(void)rebuild_batch_parse(&batches[0]);
	while (ret == 0 && batches[k & 1].count > 0) {
		struct rebuild_batch *cur = &batches[k & 1], *ahead = &batches[(k + 1) & 1];
		pthread_t thread;
		bool threaded;

		rebuild_batch_take(ahead, todo, &next);
		threaded = ahead->count > 0 &&
			pthread_create(&thread, NULL, rebuild_batch_parse, ahead) == 0;
		ret = rebuild_batch_write(ms, cur);
		rebuild_batch_free(cur);
		if (threaded)
			(void)pthread_join(thread, NULL);
		else if (ret == 0)
			(void)rebuild_batch_parse(ahead);
		k++;
	}
	for (size_t i = 0; i < N_ELEMENTS(batches); i++) {
		rebuild_batch_free(&batches[i]);
		free(batches[i].parsed);
	}
	return ret;
}

static void rebuild_todo_free(struct rebuild_todo *todo)
{
	for (size_t i = 0; i < todo->count; i++)
		free(todo->msgs[i].path);
	free(todo->msgs);
	memset(todo, 0, sizeof(*todo));
}

static int populate_rebuild(struct maildir_store *ms)
{
	/* an attempt that met a lock is made again from the start */
	if (rebuild_todo != NULL)
		rebuild_todo_free(rebuild_todo);
	return maildir_rebuild_index(ms, 0);
}

int maildir_rebuild(const struct store_settings *set, const char *user_local,
		    const char *user_domain, const char **error_r)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	struct maildir_store *ms = maildir_storage_alloc(set, user_local, user_domain);
	char *index_path = xasprintf("%s/index.sqlite", ms->userdir);
	char *new_path = xasprintf("%s.rebuild", index_path);
	struct old_index old;
	struct rebuild_todo todo = { 0 };
	int ret;

	*error_r = "Rebuilding the index failed (see the server log)";
	ret = maildir_storage_mkdirs_user(ms);
	/* Sessions and deliveries hold the lock shared while they have the
	 * index open: rebuilding under them would lose what they write
	 * meanwhile (the new index replaces theirs), so refuse instead.  An
	 * idle store has let go of it (and finds the new index when it wakes:
	 * maildir_storage_relock()). */
	if (ret == 0 && maildir_storage_lock(ms, true) < 0) {
		if (errno == EWOULDBLOCK) {
			*error_r = "The mail store is in use (IMAP sessions running commands, "
				"deliveries or another rebuild); nothing was changed.  Try "
				"again, or log the user out or stop the server";
		} else {
			log_error("store(%s): open(%s/lock): %m", ms->store.user, ms->userdir);
		}
		ret = -1;
	}
	memset(&old, 0, sizeof(old));
	if (ret == 0)
		old_index_read(ms, index_path, &old);
	/* The new index is made beside the old one and renamed over it when
	 * complete: a rebuild that fails or is killed halfway leaves the old
	 * index (its tombstones, UIDs and \Recent watermarks) in place. */
	for (size_t i = 0; ret == 0 && i < N_ELEMENTS(suffixes); i++) {
		char *path = xasprintf("%s%s", new_path, suffixes[i]);

		if (unlink(path) < 0 && errno != ENOENT)
			ret = maildir_storage_set_syscall_error(ms, "unlink", path);
		free(path);
	}
	rebuild_old = &old;
	rebuild_todo = &todo;
	if (ret == 0)
		ret = maildir_index_open(ms, new_path, populate_rebuild);
	rebuild_old = NULL;
	rebuild_todo = NULL;
	old_index_free(&old);
	if (ret == 0)
		ret = rebuild_fill(ms, &todo);
	rebuild_todo_free(&todo);
	/* the last connection's close moves the WAL into the file */
	maildir_index_close(ms);
	if (ret == 0) {
		char *wal = xasprintf("%s-wal", new_path);
		struct stat st;

		if (stat(wal, &st) == 0) {
			store_set_internal_error(&ms->store, "%s is left after the close", wal);
			ret = -1;
		}
		free(wal);
	}
	/* no WAL of the old index may be read with the new file (nobody
	 * else has the store open: the lock above) */
	for (size_t i = 1; ret == 0 && i < N_ELEMENTS(suffixes); i++) {
		char *path = xasprintf("%s%s", index_path, suffixes[i]);

		if (unlink(path) < 0 && errno != ENOENT)
			ret = maildir_storage_set_syscall_error(ms, "unlink", path);
		free(path);
	}
	if (ret == 0 && rename(new_path, index_path) < 0)
		ret = maildir_storage_set_syscall_error(ms, "rename", new_path);
	if (ret == 0)
		ret = maildir_storage_fsync_dir(ms, ms->userdir);
	if (ret < 0) {
		for (size_t i = 0; i < N_ELEMENTS(suffixes); i++) {
			char *path = xasprintf("%s%s", new_path, suffixes[i]);

			(void)unlink(path);
			free(path);
		}
	}
	if (ret == 0)
		maildir_storage_notify(ms);
	free(new_path);
	free(index_path);
	free(ms->store.user);
	free(ms->store.error);
	maildir_storage_free(ms);
	return ret;
}
