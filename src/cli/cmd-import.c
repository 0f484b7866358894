/* cmd-import.c: `roost import`, mail from mbox files and Maildir trees
 * into a user's store, through store.h only.
 *
 * Sources (import-source.h reads their formats): an mbox file (one
 * folder), a directory of mbox files (a folder per file; "X.sbd"
 * directories, Thunderbird's, and plain directories hold the children of
 * "X"), or a Maildir++ tree (the root is INBOX, ".A.B" is "A/B" with
 * modified UTF-7 names) with Dovecot's dovecot-uidlist and
 * dovecot-keywords or Courier's courierimapuiddb when they are there.
 *
 * Incremental and safe to re-run, also after a kill (DESIGN.md "roost
 * import"): a message is known by the SHA-256 of its bytes as stored
 * and its occurrence among the source folder's messages with those
 * bytes.  For each destination mailbox (by UIDVALIDITY and name) the
 * store keeps, in its tool state (store_state_set()), the count of each
 * such hash imported and a mark: the UIDNEXT up to which those counts
 * are complete.  A run reads the counts; messages at or above the mark
 * (what a killed run appended after its last record, or what the
 * recovery of the store adopted from it) are read back and their hashes
 * count as imported once each.  Records are written after each batch of
 * IMPORT_BATCH messages, once the batch is durable (store_batch_flush()),
 * so a crash or a power loss makes a re-run read more back, never lose
 * or double a message. */
#include "cli.h"
#include "import-source.h"
#include "base/log.h"
#include "base/str.h"
#include "base/utf8.h"
#include "conf/conf.h"
#include "store/store.h"
#include "syntax/mutf7.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

/* messages between two records of the import state (one sync each) */
#define IMPORT_BATCH 1000
#define IMPORT_HASH_SIZE 16
#define IMPORT_MAX_DEPTH 32

static void cli_import_usage(FILE *out)
{
	fprintf(out,
		"usage: roost import [-c FILE] [--folder NAME] [--mbox-format mboxrd|mboxo]\n"
		"                    USER SOURCE\n"
		"\n"
		"Imports mail into USER's store from SOURCE: an mbox file (into INBOX, or\n"
		"NAME), a directory of mbox files (a folder per file, subdirectories and\n"
		"Thunderbird's X.sbd for children), or a Maildir++ tree (Dovecot's or\n"
		"Courier's: UIDs and UIDVALIDITY are kept from dovecot-uidlist or\n"
		"courierimapuiddb when the folder here is new, keywords from\n"
		"dovecot-keywords).  Flags come from Maildir file names and from the\n"
		"Status, X-Status and X-Keywords headers of mbox files (those headers are\n"
		"removed, as Dovecot hides them); INTERNALDATE from the From_ line (mbox,\n"
		"UTC) or the file's mtime (Maildir).  Safe to run again: what was\n"
		"imported before, also by a run that was killed, is not imported twice.\n"
		"Works while the server runs.  Started as root, it runs as the config's\n"
		"`user`.  A progress bar is shown when stdout is a terminal.\n"
		"\n"
		"  -c, --config FILE   config file (default " CLI_DEFAULT_CONFIG " if it exists)\n"
		"  --folder NAME       the folder for an mbox file, or the parent of a tree's\n"
		"                      folders (UTF-8, '/' separated)\n"
		"  --mbox-format F     mboxrd (default: \">>From \" loses one '>') or mboxo\n"
		"                      (only \">From \" is unquoted)\n"
		"  -h, --help          this text\n"
		"\n"
		"Exit codes: 0 all imported, 64 usage, 65 some messages or folders failed\n"
		"(listed on stderr), 66 SOURCE unreadable, 67 no such user, 74 the store\n"
		"failed, 78 bad config.\n");
}

/* ---- hashes seen in a folder ---- */

struct hash_entry {
	uint8_t hash[IMPORT_HASH_SIZE];
	bool used, dirty, looked_up;
	/* imported before this run (from the state), seen in this run, and
	 * found in the destination above the mark and not yet matched */
	uint32_t before, seen, found;
};

struct hash_table {
	struct hash_entry *entries;
	size_t count, size;
};

static struct hash_entry *hash_table_get(struct hash_table *t, const uint8_t *hash)
{
	if (t->count * 2 >= t->size) {
		struct hash_table bigger = { .size = t->size == 0 ? 1024 : t->size * 2 };

		bigger.entries = xcalloc(bigger.size, sizeof(*bigger.entries));
		for (size_t i = 0; i < t->size; i++) {
			if (t->entries[i].used)
				*hash_table_get(&bigger, t->entries[i].hash) = t->entries[i];
		}
		bigger.count = t->count;
		free(t->entries);
		*t = bigger;
	}
	uint32_t h;
	memcpy(&h, hash, sizeof(h));
	for (size_t i = h & (t->size - 1);; i = (i + 1) & (t->size - 1)) {
		struct hash_entry *e = &t->entries[i];

		if (!e->used) {
			e->used = true;
			memcpy(e->hash, hash, IMPORT_HASH_SIZE);
			t->count++;
			return e;
		}
		if (memcmp(e->hash, hash, IMPORT_HASH_SIZE) == 0)
			return e;
	}
}

static void hash_of(const void *data, size_t size, uint8_t hash_r[IMPORT_HASH_SIZE])
{
	unsigned char full[EVP_MAX_MD_SIZE];
	unsigned int len;

	if (EVP_Digest(data, size, full, &len, EVP_sha256(), NULL) != 1)
		i_panic("EVP_Digest(SHA-256) failed");
	memcpy(hash_r, full, IMPORT_HASH_SIZE);
}

/* ---- the run ---- */

enum source_kind { SOURCE_MBOX, SOURCE_MAILDIR };

struct folder_job {
	char *name;		/* destination, UTF-8 */
	char *path;		/* mbox file or Maildir folder */
	enum source_kind kind;
	uint64_t total;		/* messages counted up front */
};

struct import_run {
	struct store *store;
	enum import_mbox_format format;
	struct folder_job *jobs;
	size_t job_count, job_cap;
	uint64_t total, done;
	uint64_t imported, skipped, failed;
	size_t folders_failed;
	bool store_failed;
	/* progress bar */
	bool tty;
	uint64_t start_ms, shown_ms;
	/* per folder */
	struct hash_table hashes;
	uint32_t uidvalidity, mark;
	struct str key, out;
	struct import_meta meta;
	size_t batch;
};

/* A folder to import: `name` below `prefix` (NULL: at the top). */
static void job_add(struct import_run *run, const char *prefix, const char *name,
		    const char *path, enum source_kind kind)
{
	ARRAY_RESERVE(run->jobs, run->job_cap, run->job_count + 1);
	run->jobs[run->job_count].name = prefix == NULL ? xstrdup(name) :
		xasprintf("%s/%s", prefix, name);
	run->jobs[run->job_count].path = xstrdup(path);
	run->jobs[run->job_count].kind = kind;
	run->jobs[run->job_count].total = 0;
	run->job_count++;
}

static void progress_show(struct import_run *run, bool final)
{
	uint64_t now = time_monotonic_ms();

	if (!run->tty || (!final && now - run->shown_ms < 100))
		return;
	run->shown_ms = now;
	double secs = (double)(now - run->start_ms) / 1000.0;
	double rate = secs > 0 ? (double)run->done / secs : 0;
	char bar[31];
	/* a source that grew since it was counted can pass its total */
	size_t fill = run->total == 0 || run->done >= run->total ? 30 :
		(size_t)(30 * run->done / run->total);
	memset(bar, '#', fill);
	memset(bar + fill, '.', 30 - fill);
	bar[30] = '\0';
	char eta[32] = "--:--";
	if (rate > 0 && run->total >= run->done) {
		uint64_t left = (uint64_t)((double)(run->total - run->done) / rate);
		snprintf(eta, sizeof(eta), "%02llu:%02llu", (unsigned long long)(left / 60),
			 (unsigned long long)(left % 60));
	}
	printf("\r[%s] %llu/%llu messages  %.0f msg/s  ETA %s\033[K", bar,
	       (unsigned long long)run->done, (unsigned long long)run->total, rate, eta);
	if (final)
		printf("\n");
	fflush(stdout);
}

/* A failure of one message or folder: on its own line, under the bar. */
static void report(struct import_run *run, const char *fmt, ...) ATTR_PRINTF(2, 3);
static void report(struct import_run *run, const char *fmt, ...)
{
	va_list args;

	if (run->tty) {
		printf("\r\033[K");
		fflush(stdout);
	}
	fprintf(stderr, "roost import: ");
	va_start(args, fmt);
	vfprintf(stderr, fmt, args);
	va_end(args);
	fprintf(stderr, "\n");
	run->shown_ms = 0;
}

/* A path or name for a message, with bytes that are not printable
 * UTF-8 as \xNN. */
static const char *printable(const char *s, struct str *buf)
{
	str_truncate(buf, 0);
	for (size_t i = 0, len = strlen(s); i < len;) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);

		if (n == 0 || (n == 1 && (unsigned char)s[i] < 0x20)) {
			str_printfa(buf, "\\x%02x", (unsigned char)s[i]);
			i++;
		} else {
			str_append_n(buf, s + i, n);
			i += n;
		}
	}
	return str_c(buf);
}

static bool is_utf8(const char *s)
{
	for (size_t i = 0, len = strlen(s); i < len;) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* ---- the state of a destination mailbox ---- */

static void state_key(struct import_run *run, const char *mailbox, const uint8_t *hash)
{
	str_truncate(&run->key, 0);
	str_printfa(&run->key, "import %u %s", run->uidvalidity, mailbox);
	if (hash != NULL) {
		str_append_c(&run->key, '\0');
		str_append_n(&run->key, hash, IMPORT_HASH_SIZE);
	}
}

/* How often the message with `hash` was imported before (a count in the
 * state), looked up once per run. */
static int state_lookup(struct import_run *run, const char *mailbox, struct hash_entry *e)
{
	struct str value = STR_INIT;
	enum store_error error;
	uint64_t count;

	if (e->looked_up)
		return 0;
	e->looked_up = true;
	state_key(run, mailbox, e->hash);
	if (store_state_get(run->store, run->key.data, run->key.len, &value) < 0) {
		str_free(&value);
		(void)store_last_error(run->store, &error);
		return error == STORE_ERR_NOTFOUND ? 0 : -1;
	}
	if (str_to_u64(str_c(&value), UINT32_MAX, &count) == 0)
		e->before = (uint32_t)count;
	str_free(&value);
	return 0;
}

/* Makes the batch durable, then records it: the counts of the hashes
 * handled since the last record and the mark (the mailbox's UIDNEXT). */
static int state_record(struct import_run *run, const char *mailbox)
{
	struct store_status status;
	struct store_state_item *items = NULL;
	size_t count = 0, cap = 0;
	int ret;

	if (store_batch_flush(run->store) < 0 ||
	    store_mailbox_status(run->store, mailbox, &status) < 0)
		return -1;
	for (size_t i = 0; i <= run->hashes.size; i++) {
		struct hash_entry *e = i < run->hashes.size ? &run->hashes.entries[i] : NULL;

		if (e != NULL && (!e->used || !e->dirty))
			continue;
		state_key(run, mailbox, e == NULL ? NULL : e->hash);
		ARRAY_RESERVE(items, cap, count + 1);
		items[count].key_len = run->key.len;
		items[count].key = str_steal(&run->key);
		items[count].value = xasprintf("%u", e == NULL ? status.uidnext : e->seen);
		items[count].value_len = strlen(items[count].value);
		count++;
	}
	ret = store_state_set(run->store, items, count);
	for (size_t i = 0; i < count; i++) {
		free((void *)items[i].key);
		free((void *)items[i].value);
	}
	free(items);
	if (ret == 0) {
		for (size_t i = 0; i < run->hashes.size; i++)
			run->hashes.entries[i].dirty = false;
	}
	run->batch = 0;
	return ret;
}

/* Reads the messages of `mailbox` at or above the mark back and counts
 * their hashes as found: what a run appended after its last record. */
static int folder_scan_above_mark(struct import_run *run, const char *mailbox)
{
	struct store_mailbox *box;
	struct str buf = STR_INIT;
	uint8_t hash[IMPORT_HASH_SIZE];
	int ret = 0;

	if (store_mailbox_open(run->store, mailbox, true, &box) < 0)
		return -1;
	uint32_t count = store_mailbox_count(box);
	for (uint32_t msn = store_mailbox_msn_from_uid(box, run->mark);
	     ret == 0 && msn >= 1 && msn <= count; msn++) {
		struct istream *stream;
		char chunk[65536];
		ssize_t n;

		if (store_mailbox_msg_stream(box, msn, &stream) < 0) {
			enum store_error error;

			(void)store_last_error(run->store, &error);
			if (error != STORE_ERR_EXPUNGED)
				ret = -1;
			continue;
		}
		str_truncate(&buf, 0);
		while ((n = istream_read(stream, chunk, sizeof(chunk))) > 0)
			str_append_n(&buf, chunk, (size_t)n);
		istream_destroy(&stream);
		if (n < 0) {
			report(run, "%s: reading back message %u: %s", mailbox, msn,
			       strerror(errno));
			ret = -1;
			break;
		}
		hash_of(buf.data == NULL ? "" : buf.data, buf.len, hash);
		hash_table_get(&run->hashes, hash)->found++;
	}
	str_free(&buf);
	store_mailbox_close(&box);
	return ret;
}

/* Creates the destination (keeping the source's UIDVALIDITY when it is
 * new: *keep_uids_r), reads its mark and what lies above it. */
static int folder_begin(struct import_run *run, const char *mailbox, uint32_t src_uidvalidity,
			bool *keep_uids_r)
{
	struct store_status status;
	struct str value = STR_INIT;
	enum store_error error;
	uint64_t mark;

	*keep_uids_r = false;
	if (store_mailbox_create(run->store, mailbox, 0) < 0) {
		(void)store_last_error(run->store, &error);
		if (error != STORE_ERR_EXISTS)
			return -1;
	}
	if (store_mailbox_status(run->store, mailbox, &status) < 0)
		return -1;
	if (src_uidvalidity != 0 && status.uidvalidity != src_uidvalidity &&
	    status.messages == 0 && status.uidnext == 1) {
		if (store_mailbox_set_uids(run->store, mailbox, src_uidvalidity, 0) < 0)
			return -1;
		status.uidvalidity = src_uidvalidity;
	}
	*keep_uids_r = src_uidvalidity != 0 && status.uidvalidity == src_uidvalidity;
	if (src_uidvalidity != 0 && !*keep_uids_r) {
		report(run, "%s: has messages of its own: the imported ones get new UIDs "
		       "(UIDVALIDITY %u stays)", mailbox, status.uidvalidity);
	}
	run->uidvalidity = status.uidvalidity;
	run->mark = 1;
	state_key(run, mailbox, NULL);
	if (store_state_get(run->store, run->key.data, run->key.len, &value) == 0) {
		if (str_to_u64(str_c(&value), UINT32_MAX, &mark) == 0 && mark > 0)
			run->mark = (uint32_t)mark;
	} else {
		(void)store_last_error(run->store, &error);
		if (error != STORE_ERR_NOTFOUND) {
			str_free(&value);
			return -1;
		}
	}
	str_free(&value);
	return folder_scan_above_mark(run, mailbox);
}

static void folder_end(struct import_run *run)
{
	free(run->hashes.entries);
	memset(&run->hashes, 0, sizeof(run->hashes));
}

/* The store failed in a way that a next message would too. */
static bool store_error_is_fatal(struct store *store)
{
	enum store_error error;

	(void)store_last_error(store, &error);
	return error == STORE_ERR_TEMP || error == STORE_ERR_NOSPACE ||
		error == STORE_ERR_BUSY || error == STORE_ERR_NOTFOUND;
}

/* One message, converted into run->out: skipped when imported before,
 * else appended.  `what` names it in errors.  0, or -1 when the store
 * failed for good (the run stops). */
static int import_message(struct import_run *run, const char *mailbox, const char *what,
			  uint32_t flags, const char *const *keywords, size_t keyword_count,
			  time_t date, uint32_t uid)
{
	uint8_t hash[IMPORT_HASH_SIZE];
	struct store_append *ctx;
	uint32_t uidvalidity, new_uid;
	const char *data = run->out.data == NULL ? "" : run->out.data;

	run->done++;
	hash_of(data, run->out.len, hash);
	struct hash_entry *e = hash_table_get(&run->hashes, hash);
	if (state_lookup(run, mailbox, e) < 0) {
		report(run, "%s: reading the import state: %s", mailbox,
		       store_last_error(run->store, NULL));
		return -1;
	}
	e->seen++;
	if (e->seen <= e->before) {
		run->skipped++;
		return 0;
	}
	e->dirty = true;
	run->batch++;
	if (e->found > 0) {
		/* appended by a run that did not get to record it */
		e->found--;
		run->skipped++;
		return 0;
	}
	for (;;) {
		enum store_error error;

		if (store_append_begin(run->store, mailbox, &ctx) < 0)
			goto failed;
		if (store_append_write(ctx, data, run->out.len) < 0) {
			store_append_abort(&ctx);
			goto failed;
		}
		if (uid != 0)
			store_append_set_uid(ctx, uid);
		if (store_append_commit(&ctx, flags, keywords, keyword_count, date, 0,
					&uidvalidity, &new_uid) == 0)
			break;
		(void)store_last_error(run->store, &error);
		if (error != STORE_ERR_LIMIT || keyword_count == 0)
			goto failed;
		/* the mailbox's keyword table is full: the message without */
		report(run, "%s: %s: imported without its keywords", what,
		       store_last_error(run->store, NULL));
		keyword_count = 0;
	}
	run->imported++;
	return 0;
failed:
	/* not recorded: a later run tries it again */
	e->seen--;
	run->failed++;
	report(run, "%s: %s", what, store_last_error(run->store, NULL));
	return store_error_is_fatal(run->store) ? -1 : 0;
}

static int batch_maybe_record(struct import_run *run, const char *mailbox)
{
	if (run->batch < IMPORT_BATCH)
		return 0;
	if (state_record(run, mailbox) < 0) {
		report(run, "%s: recording the import state: %s", mailbox,
		       store_last_error(run->store, NULL));
		return -1;
	}
	return 0;
}

/* ---- mbox ---- */

/* The file mapped into memory (*data_r NULL when it is empty). */
static int map_file(struct import_run *run, const char *path, const void **data_r,
		    size_t *size_r)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	*data_r = NULL;
	*size_r = 0;
	if (fd < 0 || fstat(fd, &st) < 0) {
		report(run, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_size > 0) {
		void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (map == MAP_FAILED) {
			report(run, "%s: mmap: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
		*data_r = map;
		*size_r = (size_t)st.st_size;
	}
	close(fd);
	return 0;
}

/* The number of messages of an mbox file, or -1 when it is not one. */
static int64_t mbox_count(const void *data, size_t size, const char **error_r)
{
	struct import_mbox mbox;
	struct import_mbox_msg msg;
	int64_t count = 0;
	int ret;

	import_mbox_init(&mbox, data, size);
	while ((ret = import_mbox_next(&mbox, &msg, error_r)) > 0)
		count++;
	return ret < 0 ? -1 : count;
}

/* The keyword names of meta->keywords as an array (into *names_r,
 * xmalloc'd, pointing into meta). */
static const char **meta_keywords(const struct import_meta *meta)
{
	const char **names = xcalloc(meta->keyword_count + 1, sizeof(*names));
	const char *p = meta->keywords.data;

	for (size_t i = 0; i < meta->keyword_count; i++) {
		names[i] = p;
		p += strlen(p) + 1;
	}
	return names;
}

static int import_mbox_folder(struct import_run *run, const struct folder_job *job)
{
	const void *data;
	size_t size;
	struct import_mbox mbox;
	struct import_mbox_msg msg;
	const char *error;
	struct str what = STR_INIT, pbuf = STR_INIT;
	bool keep_uids;
	int ret;

	if (map_file(run, job->path, &data, &size) < 0) {
		run->folders_failed++;
		return 0;
	}
	if (folder_begin(run, job->name, 0, &keep_uids) < 0) {
		report(run, "%s: %s", job->name, store_last_error(run->store, NULL));
		if (data != NULL)
			munmap((void *)data, size);
		run->folders_failed++;
		return store_error_is_fatal(run->store) ? -1 : 0;
	}
	import_mbox_init(&mbox, data, size);
	unsigned int n = 0;
	int next;
	ret = 0;
	while (ret == 0 && (next = import_mbox_next(&mbox, &msg, &error)) != 0) {
		if (next < 0) {
			/* the count found it an mbox: it changed since */
			report(run, "%s: %s", printable(job->path, &pbuf), error);
			run->folders_failed++;
			break;
		}
		n++;
		str_truncate(&what, 0);
		str_printfa(&what, "%s: message %u (byte %llu)", printable(job->path, &pbuf), n,
			    (unsigned long long)msg.offset);
		if (msg.truncated) {
			run->done++;
			run->failed++;
			report(run, "%s: the file ends inside it (cut short?): not imported",
			       str_c(&what));
			continue;
		}
		if (!msg.has_date) {
			report(run, "%s: the From_ line has no date that parses: "
			       "INTERNALDATE is the time of the import", str_c(&what));
			msg.date = 0;
		}
		str_truncate(&run->out, 0);
		import_message_convert(msg.text, msg.text_len, true, run->format, &run->out,
				       &run->meta);
		if (run->meta.bad_keywords > 0)
			report(run, "%s: %zu X-Keywords names are no IMAP keywords: left out",
			       str_c(&what), run->meta.bad_keywords);
		const char **names = meta_keywords(&run->meta);
		ret = import_message(run, job->name, str_c(&what), run->meta.flags, names,
				     run->meta.keyword_count, msg.date, 0);
		free(names);
		if (ret == 0)
			ret = batch_maybe_record(run, job->name);
		progress_show(run, false);
	}
	if (ret >= 0 && state_record(run, job->name) < 0) {
		report(run, "%s: recording the import state: %s", job->name,
		       store_last_error(run->store, NULL));
		ret = -1;
	}
	if (data != NULL)
		munmap((void *)data, size);
	str_free(&what);
	str_free(&pbuf);
	folder_end(run);
	return ret < 0 ? -1 : 0;
}

/* ---- Maildir ---- */

struct maildir_src {
	char *path;		/* cur/NAME or new/NAME */
	const char *name;	/* in path */
	uint32_t uid;		/* from the UID list, 0 if none */
};

static int maildir_src_cmp(const void *a, const void *b)
{
	const struct maildir_src *x = a, *y = b;

	/* the listed ones in UID order, then the others by name */
	if ((x->uid == 0) != (y->uid == 0))
		return x->uid == 0 ? 1 : -1;
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The files of dir/cur and dir/new into *files_r (xmalloc'd). */
static size_t maildir_list(const char *dir, struct maildir_src **files_r)
{
	static const char *const subs[] = { "cur", "new" };
	struct maildir_src *files = NULL;
	size_t count = 0, cap = 0;

	for (size_t s = 0; s < N_ELEMENTS(subs); s++) {
		char *sub = xasprintf("%s/%s", dir, subs[s]);
		DIR *d = opendir(sub);
		struct dirent *de;

		while (d != NULL && (de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			ARRAY_RESERVE(files, cap, count + 1);
			files[count].path = xasprintf("%s/%s", sub, de->d_name);
			files[count].name = files[count].path + strlen(sub) + 1;
			files[count].uid = 0;
			count++;
		}
		if (d != NULL)
			closedir(d);
		free(sub);
	}
	*files_r = files;
	return count;
}

/* Reads a small file of the source (a UID list, the keywords) into
 * *data: 1, 0 when it is not there, -1 reported. */
static int read_small_file(struct import_run *run, const char *path, struct str *data)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || str_append_fd(data, fd) < 0) {
		report(run, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 1;
}

/* The folder's UID list: Dovecot's, else Courier's, else none. */
static void maildir_uidlist(struct import_run *run, const char *dir,
			    struct import_uidlist *list)
{
	static const struct {
		const char *file;
		bool courier;
	} lists[] = { { "dovecot-uidlist", false }, { "courierimapuiddb", true } };
	struct str data = STR_INIT;
	const char *error;

	memset(list, 0, sizeof(*list));
	for (size_t i = 0; i < N_ELEMENTS(lists); i++) {
		char *path = xasprintf("%s/%s", dir, lists[i].file);
		int ret = read_small_file(run, path, &data);

		if (ret > 0 && import_uidlist_parse(data.data == NULL ? "" : data.data, data.len,
						    lists[i].courier, list, &error) < 0)
			report(run, "%s: %s: its UIDs are not kept", path, error);
		else if (ret > 0 && list->bad_lines > 0)
			report(run, "%s: %zu lines do not parse: left out", path,
			       list->bad_lines);
		free(path);
		str_free(&data);
		if (ret != 0)
			break;
	}
	import_uidlist_sort(list);
}

static int import_maildir_folder(struct import_run *run, const struct folder_job *job)
{
	struct import_uidlist list;
	char *kw_names[26];
	struct maildir_src *files;
	struct str raw = STR_INIT, what = STR_INIT, pbuf = STR_INIT, kwdata = STR_INIT;
	bool keep_uids;
	size_t bad;
	int ret = 0;

	maildir_uidlist(run, job->path, &list);
	char *kw_path = xasprintf("%s/dovecot-keywords", job->path);
	memset(kw_names, 0, sizeof(kw_names));
	if (read_small_file(run, kw_path, &kwdata) > 0) {
		import_keywords_parse(kwdata.data == NULL ? "" : kwdata.data, kwdata.len,
				      kw_names, &bad);
		if (bad > 0)
			report(run, "%s: %zu lines do not parse: left out", kw_path, bad);
	}
	free(kw_path);
	str_free(&kwdata);
	size_t count = maildir_list(job->path, &files);
	for (size_t i = 0; i < count; i++) {
		struct import_maildir_name fn;

		import_maildir_name_parse(files[i].name, &fn);
		files[i].uid = import_uidlist_lookup(&list, files[i].name, fn.unique_len);
	}
	if (count > 0)
		qsort(files, count, sizeof(*files), maildir_src_cmp);

	if (folder_begin(run, job->name, list.uidvalidity, &keep_uids) < 0) {
		report(run, "%s: %s", job->name, store_last_error(run->store, NULL));
		run->folders_failed++;
		ret = store_error_is_fatal(run->store) ? -1 : 0;
		count = 0;
	}
	for (size_t i = 0; ret == 0 && i < count; i++) {
		struct import_maildir_name fn;
		const char *keywords[26];
		size_t keyword_count = 0;
		struct stat st;

		str_truncate(&what, 0);
		str_append(&what, printable(files[i].path, &pbuf));
		import_maildir_name_parse(files[i].name, &fn);
		if (fn.bad_flags > 0)
			report(run, "%s: %u characters of its flags are no flags: left out",
			       str_c(&what), fn.bad_flags);
		for (unsigned int k = 0; k < 26; k++) {
			if ((fn.keyword_letters & (1u << k)) == 0)
				continue;
			if (kw_names[k] != NULL)
				keywords[keyword_count++] = kw_names[k];
			else
				report(run, "%s: keyword letter '%c' is not in dovecot-keywords: "
				       "left out", str_c(&what), 'a' + k);
		}
		int fd = open(files[i].path, O_RDONLY | O_CLOEXEC);
		str_truncate(&raw, 0);
		if (fd < 0 || fstat(fd, &st) < 0 || str_append_fd(&raw, fd) < 0) {
			report(run, "%s: %s", str_c(&what), strerror(errno));
			if (fd >= 0)
				close(fd);
			run->done++;
			run->failed++;
			continue;
		}
		close(fd);
		str_truncate(&run->out, 0);
		import_message_convert(raw.data == NULL ? "" : raw.data, raw.len, false,
				       run->format, &run->out, NULL);
		ret = import_message(run, job->name, str_c(&what), fn.flags, keywords,
				     keyword_count, st.st_mtime > 0 ? st.st_mtime : 0,
				     keep_uids ? files[i].uid : 0);
		if (ret == 0)
			ret = batch_maybe_record(run, job->name);
		progress_show(run, false);
	}
	if (ret == 0 && keep_uids && list.uidnext > 0 &&
	    store_mailbox_set_uids(run->store, job->name, 0, list.uidnext) < 0) {
		report(run, "%s: %s", job->name, store_last_error(run->store, NULL));
		ret = -1;
	}
	if (ret == 0 && count > 0 && state_record(run, job->name) < 0) {
		report(run, "%s: recording the import state: %s", job->name,
		       store_last_error(run->store, NULL));
		ret = -1;
	}
	for (size_t i = 0; i < count; i++)
		free(files[i].path);
	free(files);
	import_uidlist_free(&list);
	import_keywords_free(kw_names);
	str_free(&raw);
	str_free(&what);
	str_free(&pbuf);
	folder_end(run);
	return ret;
}

/* ---- finding the folders ---- */

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_maildir(const char *path)
{
	char *cur = xasprintf("%s/cur", path);
	bool ret = is_dir(cur);

	free(cur);
	return ret;
}

/* A Maildir++ folder's directory name (after the '.') as a mailbox name:
 * each '.'-separated part modified UTF-7 (or, where that does not decode,
 * UTF-8 as some writers leave it).  NULL when it is neither. */
static char *maildirpp_name(const char *dirname)
{
	struct str name = STR_INIT;
	char *copy = xstrdup(dirname), *part, *save = NULL;
	bool ok = dirname[0] != '\0' && dirname[strlen(dirname) - 1] != '.' &&
		strstr(dirname, "..") == NULL;

	for (part = strtok_r(copy, ".", &save); ok && part != NULL;
	     part = strtok_r(NULL, ".", &save)) {
		if (name.len > 0)
			str_append_c(&name, '/');
		if (mutf7_decode(part, &name) < 0) {
			if (is_utf8(part))
				str_append(&name, part);
			else
				ok = false;
		}
	}
	free(copy);
	if (!ok) {
		str_free(&name);
		return NULL;
	}
	return str_steal(&name);
}

static void discover_maildir(struct import_run *run, const char *root, const char *prefix)
{
	struct dirent **entries;
	struct str pbuf = STR_INIT;
	int n = scandir(root, &entries, NULL, alphasort);

	job_add(run, NULL, prefix == NULL ? "INBOX" : prefix, root, SOURCE_MAILDIR);
	for (int i = 0; i < n; i++) {
		const char *d = entries[i]->d_name;
		char *path = xasprintf("%s/%s", root, d);

		if (d[0] == '.' && strcmp(d, ".") != 0 && strcmp(d, "..") != 0 &&
		    is_maildir(path)) {
			char *name = maildirpp_name(d + 1);

			if (name == NULL) {
				report(run, "%s: the folder name is neither modified UTF-7 nor "
				       "UTF-8: not imported", printable(path, &pbuf));
				run->folders_failed++;
			} else {
				job_add(run, prefix, name, path, SOURCE_MAILDIR);
				free(name);
			}
		}
		free(path);
		free(entries[i]);
	}
	if (n >= 0)
		free(entries);
	str_free(&pbuf);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t len = strlen(s), slen = strlen(suffix);

	return len >= slen && strcmp(s + len - slen, suffix) == 0;
}

/* A directory of mbox files: a folder per file, directories for
 * children ("X.sbd" or "X"). */
static void discover_mbox_dir(struct import_run *run, const char *dir, const char *prefix,
			      unsigned int depth)
{
	struct dirent **entries;
	struct str pbuf = STR_INIT;
	int n = scandir(dir, &entries, NULL, alphasort);

	if (n < 0) {
		report(run, "%s: %s", printable(dir, &pbuf), strerror(errno));
		run->folders_failed++;
	}
	for (int i = 0; i < n; i++) {
		const char *d = entries[i]->d_name;
		char *path = xasprintf("%s/%s", dir, d);
		struct stat st;

		/* hidden files, Thunderbird's summaries, locks, Dovecot's
		 * index files: not mail */
		if (d[0] == '.' || has_suffix(d, ".msf") || has_suffix(d, ".lock") ||
		    strncmp(d, "dovecot.", 8) == 0 || stat(path, &st) < 0) {
			free(path);
			free(entries[i]);
			continue;
		}
		char *name = xstrdup(d);
		if (S_ISDIR(st.st_mode) && has_suffix(name, ".sbd"))
			name[strlen(name) - 4] = '\0';
		if (!is_utf8(name) || name[0] == '\0') {
			report(run, "%s: the name is not UTF-8: not imported",
			       printable(path, &pbuf));
			run->folders_failed++;
		} else if (S_ISDIR(st.st_mode) && depth < IMPORT_MAX_DEPTH) {
			char *full = prefix == NULL ? xstrdup(name) :
				xasprintf("%s/%s", prefix, name);

			discover_mbox_dir(run, path, full, depth + 1);
			free(full);
		} else if (S_ISREG(st.st_mode)) {
			bool inbox = prefix == NULL && str_eq_icase(name, "INBOX");

			job_add(run, prefix, inbox ? "INBOX" : name, path, SOURCE_MBOX);
		}
		free(name);
		free(path);
		free(entries[i]);
	}
	if (n >= 0)
		free(entries);
	str_free(&pbuf);
}

/* Counts the messages of every job (for the progress bar); a file that
 * is not an mbox is reported and its job dropped. */
static void count_jobs(struct import_run *run)
{
	struct str pbuf = STR_INIT;
	size_t kept = 0;

	for (size_t i = 0; i < run->job_count; i++) {
		struct folder_job *job = &run->jobs[i];
		bool keep = true;

		if (job->kind == SOURCE_MBOX) {
			const void *data;
			size_t size;
			const char *error;

			if (map_file(run, job->path, &data, &size) < 0) {
				keep = false;
			} else {
				int64_t n = mbox_count(data, size, &error);

				if (n < 0) {
					report(run, "%s: %s: not imported",
					       printable(job->path, &pbuf), error);
					keep = false;
				} else {
					job->total = (uint64_t)n;
				}
				if (data != NULL)
					munmap((void *)data, size);
			}
		} else {
			struct maildir_src *files;
			size_t n = maildir_list(job->path, &files);

			for (size_t f = 0; f < n; f++)
				free(files[f].path);
			free(files);
			job->total = n;
		}
		if (!keep) {
			run->folders_failed++;
			free(job->name);
			free(job->path);
			continue;
		}
		run->total += job->total;
		run->jobs[kept++] = *job;
	}
	run->job_count = kept;
	str_free(&pbuf);
}

/* ---- the command ---- */

static int import_all(struct import_run *run)
{
	int ret = 0;

	if (store_batch_begin(run->store) < 0) {
		report(run, "%s", store_last_error(run->store, NULL));
		return -1;
	}
	run->start_ms = time_monotonic_ms();
	progress_show(run, true);
	for (size_t i = 0; ret == 0 && i < run->job_count; i++) {
		const struct folder_job *job = &run->jobs[i];

		if (job->kind == SOURCE_MBOX)
			ret = import_mbox_folder(run, job);
		else
			ret = import_maildir_folder(run, job);
	}
	if (store_batch_end(run->store) < 0) {
		report(run, "%s", store_last_error(run->store, NULL));
		ret = -1;
	}
	progress_show(run, true);
	return ret;
}

int cli_import_main(int argc, char **argv)
{
	const char *config_path = NULL, *folder = NULL, *user_arg = NULL, *source = NULL;
	struct import_run run = { .format = IMPORT_MBOX_RD, .meta = { .keywords = STR_INIT } };

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if ((strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) && i + 1 < argc) {
			config_path = argv[++i];
		} else if (strcmp(arg, "--folder") == 0 && i + 1 < argc) {
			folder = argv[++i];
		} else if (strcmp(arg, "--mbox-format") == 0 && i + 1 < argc) {
			arg = argv[++i];
			if (strcmp(arg, "mboxrd") == 0) {
				run.format = IMPORT_MBOX_RD;
			} else if (strcmp(arg, "mboxo") == 0) {
				run.format = IMPORT_MBOX_O;
			} else {
				fprintf(stderr, "roost import: --mbox-format is mboxrd or mboxo\n");
				return EX_USAGE;
			}
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			cli_import_usage(stdout);
			return 0;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			fprintf(stderr, "roost import: unknown argument '%s'\n", arg);
			cli_import_usage(stderr);
			return EX_USAGE;
		} else if (user_arg == NULL) {
			user_arg = arg;
		} else if (source == NULL) {
			source = arg;
		} else {
			fprintf(stderr, "roost import: too many arguments\n");
			cli_import_usage(stderr);
			return EX_USAGE;
		}
	}
	if (source == NULL) {
		fprintf(stderr, "roost import: USER and SOURCE are required\n");
		cli_import_usage(stderr);
		return EX_USAGE;
	}
	if (folder != NULL && (folder[0] == '\0' || !is_utf8(folder))) {
		fprintf(stderr, "roost import: --folder must be a UTF-8 mailbox name\n");
		return EX_USAGE;
	}
	struct roost_config *config = cli_config_load(config_path, "import");
	if (config == NULL)
		return EX_CONFIG;
	log_init("roost import", config->log_syslog, LOG_LEVEL_WARNING);
	/* as root the import runs as the server's user, as deliver does */
	bool switched = geteuid() == 0 && config->user[0] != '\0';
	int exit_code = cli_switch_user(config, "import");
	if (exit_code != 0) {
		config_free(&config);
		return exit_code;
	}
	char *user = cli_user_name(config, user_arg, "import", &exit_code);
	if (user == NULL) {
		config_free(&config);
		return exit_code;
	}
	struct stat st;
	if (stat(source, &st) < 0) {
		fprintf(stderr, "roost import: %s: %s\n", source, strerror(errno));
		free(user);
		config_free(&config);
		return EX_NOINPUT;
	}
	if (access(source, S_ISDIR(st.st_mode) ? R_OK | X_OK : R_OK) < 0) {
		fprintf(stderr, "roost import: %s: %s", source, strerror(errno));
		if (switched)
			fprintf(stderr, "; the import runs as %s (the config's `user`), who "
				"must be able to read it", config->user);
		fprintf(stderr, "\n");
		free(user);
		config_free(&config);
		return EX_NOINPUT;
	}
	run.tty = isatty(STDOUT_FILENO) == 1;
	if (S_ISDIR(st.st_mode) && is_maildir(source))
		discover_maildir(&run, source, folder);
	else if (S_ISDIR(st.st_mode))
		discover_mbox_dir(&run, source, folder, 0);
	else
		job_add(&run, NULL, folder == NULL ? "INBOX" : folder, source, SOURCE_MBOX);
	count_jobs(&run);

	struct store_settings set;
	const char *error;
	store_settings_init(&set, config);
	if (store_open(&set, user, &run.store, &error) < 0) {
		fprintf(stderr, "roost import: cannot open the store of %s: %s\n", user, error);
		exit_code = EX_IOERR;
	} else {
		if (import_all(&run) < 0)
			exit_code = EX_IOERR;
		store_close(&run.store);
	}
	printf("%zu folders: %llu messages imported, %llu skipped (imported before), "
	       "%llu failed%s\n", run.job_count, (unsigned long long)run.imported,
	       (unsigned long long)run.skipped, (unsigned long long)run.failed,
	       run.folders_failed > 0 ? "; some folders failed (see above)" : "");
	if (exit_code == 0 && (run.failed > 0 || run.folders_failed > 0))
		exit_code = EX_DATAERR;
	for (size_t i = 0; i < run.job_count; i++) {
		free(run.jobs[i].name);
		free(run.jobs[i].path);
	}
	free(run.jobs);
	str_free(&run.key);
	str_free(&run.out);
	str_free(&run.meta.keywords);
	free(user);
	config_free(&config);
	return exit_code;
}
