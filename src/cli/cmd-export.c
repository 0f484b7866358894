/* cmd-export.c: `roost export`, a user's mail out of the store into
 * formats other programs read, so that nobody is locked in: an mbox file
 * per mailbox, or a Maildir++ tree as Dovecot keeps one.  What it writes
 * `roost import` reads back to the same mailboxes, messages, flags,
 * keywords, INTERNALDATEs and (Maildir) UIDs and UIDVALIDITY.
 *
 * mbox (mboxrd): "From MAILER-DAEMON <INTERNALDATE in UTC, asctime()>",
 * the message with LF line ends and every ">*From " line given one more
 * '>', then an empty line.  Flags go into Status: (R, and O for a
 * message that was seen by a client) and X-Status: (A F T D), keywords
 * into X-Keywords:, at the end of the header; fields of those names the
 * message had are left out (Dovecot hides them too).  Mailbox "A/B" is
 * the file DEST/A.sbd/B (Thunderbird's layout: a mailbox may have both
 * messages and children).  A message whose last line has no line end
 * gets one, as in every mbox.
 *
 * Maildir++: DEST is INBOX, ".A.B" is "A/B" (modified UTF-7 names; a
 * name with a '.' cannot be written and is reported).  Files in cur/
 * carry the flags in their names (":2,DFRST" and 'a'-'z' for the first
 * 26 keywords of the mailbox, listed in dovecot-keywords) and the
 * INTERNALDATE as their mtime; dovecot-uidlist (version 3) keeps UIDs and
 * UIDVALIDITY.  The bytes are the stored ones (CRLF). */
#include "cli.h"
#include "base/log.h"
#include "base/str.h"
#include "conf/conf.h"
#include "store/store.h"
#include "syntax/mutf7.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static void cli_export_usage(FILE *out)
{
	fprintf(out,
		"usage: roost export [-c FILE] [--format mbox|maildir] USER DEST\n"
		"\n"
		"Writes every mailbox of USER to DEST, which must not exist or be an\n"
		"empty directory: an mbox file per mailbox (mboxrd; \"A/B\" is\n"
		"DEST/A.sbd/B; flags in Status/X-Status/X-Keywords headers), or with\n"
		"--format maildir a Maildir++ tree (DEST is INBOX, \".A.B\" is \"A/B\";\n"
		"flags in file names, keywords in dovecot-keywords, UIDs and UIDVALIDITY\n"
		"in dovecot-uidlist).  `roost import` reads either back to the same\n"
		"state.  Started as root, it runs as the config's `user`, who must be\n"
		"able to create DEST.\n"
		"\n"
		"  -c, --config FILE   config file (default " CLI_DEFAULT_CONFIG " if it exists)\n"
		"  --format F          mbox (default) or maildir\n"
		"  -h, --help          this text\n"
		"\n"
		"Exit codes: 0, 64 usage, 65 some mailboxes could not be written (on\n"
		"stderr), 67 no such user, 73 DEST exists and is not empty or cannot be\n"
		"created, 74 the store failed, 78 bad config.\n");
}

struct export_run {
	struct store *store;
	const char *dest;
	bool maildir;
	size_t mailboxes, messages, failed;
	struct str buf;
};

/* DEST: created, or an empty directory.  0, or -1 reported. */
static int dest_prepare(const char *dest)
{
	DIR *d;
	struct dirent *de;
	bool empty = true;

	if (mkdir(dest, 0700) == 0)
		return 0;
	if (errno != EEXIST) {
		fprintf(stderr, "roost export: %s: %s\n", dest, strerror(errno));
		return -1;
	}
	if ((d = opendir(dest)) == NULL) {
		fprintf(stderr, "roost export: %s exists and is not a directory that can be "
			"read (%s): refusing to write there\n", dest, strerror(errno));
		return -1;
	}
	while (empty && (de = readdir(d)) != NULL)
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	if (!empty) {
		fprintf(stderr, "roost export: %s exists and is not empty: refusing to write "
			"there (give a new or empty directory)\n", dest);
		return -1;
	}
	return 0;
}

/* Creates the directories of path's parents under the run's DEST. */
static int mkdirs_for(const char *path, size_t base_len)
{
	if (strlen(path) <= base_len + 1)
		return 0;	/* DEST itself (INBOX of a Maildir) */
	char *copy = xstrdup(path);

	for (char *p = copy + base_len + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
			free(copy);
			return -1;
		}
		*p = '/';
	}
	free(copy);
	return 0;
}

/* ---- mbox ---- */

/* The mbox file of mailbox `name`: A/B -> DEST/A.sbd/B.  NULL (with
 * *why_r) for a part that would be a hidden or special file name. */
static char *mbox_path(const char *dest, const char *name, const char **why_r)
{
	struct str path = STR_INIT;
	char *copy = xstrdup(name), *part, *save = NULL, *next;

	str_append(&path, dest);
	for (part = strtok_r(copy, "/", &save); part != NULL; part = next) {
		next = strtok_r(NULL, "/", &save);
		if (part[0] == '.') {
			*why_r = "a name part that starts with '.' would be a hidden file";
			free(copy);
			str_free(&path);
			return NULL;
		}
		str_printfa(&path, "/%s%s", part, next != NULL ? ".sbd" : "");
	}
	free(copy);
	return str_steal(&path);
}

static bool is_hidden_field(const char *line, size_t len)
{
	static const char *const fields[] = {
		"Status:", "X-Status:", "X-Keywords:", "X-UID:", "X-IMAP:",
		"X-IMAPbase:", "Content-Length:",
	};

	for (size_t i = 0; i < N_ELEMENTS(fields); i++) {
		size_t flen = strlen(fields[i]);

		if (len >= flen && strncasecmp(line, fields[i], flen) == 0)
			return true;
	}
	return false;
}

/* The Status/X-Status/X-Keywords lines of a message. */
static void mbox_flag_fields(struct str *out, const struct store_msg *msg,
			     const char *const *keywords, size_t keyword_count)
{
	str_append(out, (msg->flags & STORE_FLAG_SEEN) != 0 ? "Status: RO\n" : "Status: O\n");
	if ((msg->flags & (STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT |
			   STORE_FLAG_DELETED)) != 0) {
		str_append(out, "X-Status: ");
		if ((msg->flags & STORE_FLAG_ANSWERED) != 0)
			str_append_c(out, 'A');
		if ((msg->flags & STORE_FLAG_FLAGGED) != 0)
			str_append_c(out, 'F');
		if ((msg->flags & STORE_FLAG_DRAFT) != 0)
			str_append_c(out, 'T');
		if ((msg->flags & STORE_FLAG_DELETED) != 0)
			str_append_c(out, 'D');
		str_append_c(out, '\n');
	}
	if (msg->keywords != 0) {
		str_append(out, "X-Keywords:");
		for (size_t k = 0; k < keyword_count && k < STORE_MAX_KEYWORDS; k++) {
			if ((msg->keywords & ((store_keywords_t)1 << k)) != 0)
				str_printfa(out, " %s", keywords[k]);
		}
		str_append_c(out, '\n');
	}
}

/* Appends message `data` as one mbox entry (From_ line to its empty
 * line) to out. */
static void mbox_entry(struct str *out, const char *data, size_t len,
		       const struct store_msg *msg, const char *const *keywords,
		       size_t keyword_count)
{
	struct tm tm;
	char date[64];
	time_t t = msg->internaldate;
	const char *p = data, *end = data + len;
	bool in_header = true;
	bool skipping = false;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	str_printfa(out, "From MAILER-DAEMON %s\n", date);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line_len = nl == NULL ? (size_t)(end - p) : (size_t)(nl - p);
		const char *line = p;

		p += line_len + (nl == NULL ? 0 : 1);
		if (line_len > 0 && line[line_len - 1] == '\r')
			line_len--;
		if (in_header) {
			if (line_len == 0) {
				mbox_flag_fields(out, msg, keywords, keyword_count);
				in_header = false;
			} else if (line[0] == ' ' || line[0] == '\t') {
				if (skipping)
					continue;
			} else {
				skipping = is_hidden_field(line, line_len);
				if (skipping)
					continue;
			}
		}
		/* mboxrd: ">*From " gets one more '>' */
		size_t gt = 0;
		while (gt < line_len && line[gt] == '>')
			gt++;
		if (line_len - gt >= 5 && memcmp(line + gt, "From ", 5) == 0)
			str_append_c(out, '>');
		str_append_n(out, line, line_len);
		str_append_c(out, '\n');
	}
	if (in_header)
		mbox_flag_fields(out, msg, keywords, keyword_count);
	str_append_c(out, '\n');
}

/* ---- Maildir ---- */

/* The Maildir++ directory of mailbox `name`: DEST, or DEST/.A.B with
 * modified UTF-7 parts.  NULL (with *why_r) when a part has a '.'. */
static char *maildir_path(const char *dest, const char *name, const char **why_r)
{
	struct str path = STR_INIT;
	char *copy, *part, *save = NULL;

	str_append(&path, dest);
	if (strcmp(name, "INBOX") == 0)
		return str_steal(&path);
	str_append(&path, "/");
	copy = xstrdup(name);
	for (part = strtok_r(copy, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save)) {
		str_append_c(&path, '.');
		if (strchr(part, '.') != NULL || mutf7_encode(part, &path) < 0) {
			*why_r = "a name with '.' in it cannot be a Maildir++ folder";
			free(copy);
			str_free(&path);
			return NULL;
		}
	}
	free(copy);
	return str_steal(&path);
}

static int write_file(const char *path, const void *data, size_t len, time_t mtime)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int ret = 0;

	if (fd < 0)
		return -1;
	if (write_full(fd, data, len) < 0)
		ret = -1;
	if (ret == 0 && mtime > 0) {
		struct timespec times[2] = { { mtime, 0 }, { mtime, 0 } };

		ret = futimens(fd, times);
	}
	if (close(fd) < 0)
		ret = -1;
	return ret;
}

static void maildir_flag_letters(struct str *out, const struct store_msg *msg)
{
	static const struct {
		uint32_t flag;
		char letter;
	} letters[] = {
		/* in ASCII order, as Maildir wants them */
		{ STORE_FLAG_DRAFT, 'D' }, { STORE_FLAG_FLAGGED, 'F' },
		{ STORE_FLAG_ANSWERED, 'R' }, { STORE_FLAG_SEEN, 'S' },
		{ STORE_FLAG_DELETED, 'T' },
	};

	str_append(out, ":2,");
	for (size_t i = 0; i < N_ELEMENTS(letters); i++) {
		if ((msg->flags & letters[i].flag) != 0)
			str_append_c(out, letters[i].letter);
	}
	for (unsigned int k = 0; k < 26; k++) {
		if ((msg->keywords & ((store_keywords_t)1 << k)) != 0)
			str_append_c(out, (char)('a' + k));
	}
}

/* ---- one mailbox ---- */

/* Reads message msn whole into run->buf.  0 or -1 (store error set). */
static int read_message(struct export_run *run, struct store_mailbox *box, uint32_t msn)
{
	struct istream *stream;
	char chunk[65536];
	ssize_t n;

	str_truncate(&run->buf, 0);
	if (store_mailbox_msg_stream(box, msn, &stream) < 0)
		return -1;
	while ((n = istream_read(stream, chunk, sizeof(chunk))) > 0)
		str_append_n(&run->buf, chunk, (size_t)n);
	istream_destroy(&stream);
	return n < 0 ? -1 : 0;
}

static int export_mailbox(struct export_run *run, const char *name)
{
	struct store_mailbox *box;
	const char *why = NULL;
	char *path = run->maildir ? maildir_path(run->dest, name, &why) :
		mbox_path(run->dest, name, &why);
	struct str out = STR_INIT, fname = STR_INIT, uidlist = STR_INIT;
	FILE *mbox = NULL;
	int ret = 0;

	if (path == NULL) {
		fprintf(stderr, "roost export: %s: %s: not exported\n", name, why);
		run->failed++;
		return 0;
	}
	if (store_mailbox_open(run->store, name, true, &box) < 0) {
		fprintf(stderr, "roost export: %s: %s\n", name, store_last_error(run->store, NULL));
		free(path);
		return -1;
	}
	size_t keyword_count;
	const char *const *keywords = store_mailbox_keywords(box, &keyword_count);
	if (mkdirs_for(path, strlen(run->dest)) < 0) {
		ret = -1;
	} else if (run->maildir) {
		static const char *const subs[] = { "", "/cur", "/new", "/tmp" };

		for (size_t i = 0; ret == 0 && i < N_ELEMENTS(subs); i++) {
			char *dir = xasprintf("%s%s", path, subs[i]);

			if (mkdir(dir, 0700) < 0 && errno != EEXIST)
				ret = -1;
			free(dir);
		}
		str_printfa(&uidlist, "3 V%u N%u G%s\n", store_mailbox_uidvalidity(box),
			    store_mailbox_uidnext(box), store_mailbox_id(box));
	} else {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd < 0 || (mbox = fdopen(fd, "w")) == NULL) {
			if (fd >= 0)
				close(fd);
			ret = -1;
		}
	}
	if (ret < 0)
		fprintf(stderr, "roost export: %s: %s\n", path, strerror(errno));
	if (ret == 0 && run->maildir && keyword_count > 26)
		fprintf(stderr, "roost export: %s: %zu keywords, Maildir file names hold 26: "
			"the others are left out\n", name, keyword_count);

	uint32_t count = store_mailbox_count(box);
	for (uint32_t msn = 1; ret == 0 && msn <= count; msn++) {
		const struct store_msg *msg = store_mailbox_msg(box, msn);

		if (read_message(run, box, msn) < 0) {
			enum store_error error;
			const char *text = store_last_error(run->store, &error);

			if (error == STORE_ERR_EXPUNGED)
				continue;
			fprintf(stderr, "roost export: %s: message UID %u: %s\n", name, msg->uid,
				error == STORE_ERR_NONE ? strerror(errno) : text);
			ret = -1;
			break;
		}
		if (run->maildir) {
			str_truncate(&fname, 0);
			str_printfa(&fname, "%lld.U%uV%u.roost", (long long)msg->internaldate,
				    msg->uid, store_mailbox_uidvalidity(box));
			str_printfa(&uidlist, "%u :%s\n", msg->uid, str_c(&fname));
			maildir_flag_letters(&fname, msg);
			char *file = xasprintf("%s/cur/%s", path, str_c(&fname));
			if (write_file(file, run->buf.data == NULL ? "" : run->buf.data,
				       run->buf.len, msg->internaldate) < 0) {
				fprintf(stderr, "roost export: %s: %s\n", file, strerror(errno));
				ret = -1;
			}
			free(file);
		} else {
			str_truncate(&out, 0);
			mbox_entry(&out, run->buf.data == NULL ? "" : run->buf.data, run->buf.len,
				   msg, keywords, keyword_count);
			if (fwrite(out.data, 1, out.len, mbox) != out.len) {
				fprintf(stderr, "roost export: %s: %s\n", path, strerror(errno));
				ret = -1;
			}
		}
		if (ret == 0)
			run->messages++;
	}
	if (ret == 0 && run->maildir) {
		struct str kw = STR_INIT;

		for (size_t k = 0; k < keyword_count && k < 26; k++)
			str_printfa(&kw, "%zu %s\n", k, keywords[k]);
		char *kw_path = xasprintf("%s/dovecot-keywords", path);
		char *ul_path = xasprintf("%s/dovecot-uidlist", path);
		if ((kw.len > 0 && write_file(kw_path, kw.data, kw.len, 0) < 0) ||
		    write_file(ul_path, uidlist.data, uidlist.len, 0) < 0) {
			fprintf(stderr, "roost export: %s: %s\n", path, strerror(errno));
			ret = -1;
		}
		free(kw_path);
		free(ul_path);
		str_free(&kw);
	}
	if (mbox != NULL && fclose(mbox) != 0 && ret == 0) {
		fprintf(stderr, "roost export: %s: %s\n", path, strerror(errno));
		ret = -1;
	}
	store_mailbox_close(&box);
	str_free(&out);
	str_free(&fname);
	str_free(&uidlist);
	free(path);
	if (ret == 0)
		run->mailboxes++;
	return ret;
}

int cli_export_main(int argc, char **argv)
{
	const char *config_path = NULL, *user_arg = NULL, *dest = NULL;
	struct export_run run = { .buf = STR_INIT };

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if ((strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) && i + 1 < argc) {
			config_path = argv[++i];
		} else if (strcmp(arg, "--format") == 0 && i + 1 < argc) {
			arg = argv[++i];
			if (strcmp(arg, "mbox") == 0) {
				run.maildir = false;
			} else if (strcmp(arg, "maildir") == 0) {
				run.maildir = true;
			} else {
				fprintf(stderr, "roost export: --format is mbox or maildir\n");
				return EX_USAGE;
			}
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			cli_export_usage(stdout);
			return 0;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			fprintf(stderr, "roost export: unknown argument '%s'\n", arg);
			cli_export_usage(stderr);
			return EX_USAGE;
		} else if (user_arg == NULL) {
			user_arg = arg;
		} else if (dest == NULL) {
			dest = arg;
		} else {
			fprintf(stderr, "roost export: too many arguments\n");
			cli_export_usage(stderr);
			return EX_USAGE;
		}
	}
	if (dest == NULL) {
		fprintf(stderr, "roost export: USER and DEST are required\n");
		cli_export_usage(stderr);
		return EX_USAGE;
	}
	struct roost_config *config = cli_config_load(config_path, "export");
	if (config == NULL)
		return EX_CONFIG;
	log_init("roost export", config->log_syslog, LOG_LEVEL_WARNING);
	int exit_code = cli_switch_user(config, "export");
	if (exit_code != 0) {
		config_free(&config);
		return exit_code;
	}
	char *user = cli_user_name(config, user_arg, "export", &exit_code);
	if (user == NULL) {
		config_free(&config);
		return exit_code;
	}
	if (dest_prepare(dest) < 0) {
		free(user);
		config_free(&config);
		return EX_CANTCREAT;
	}
	run.dest = dest;

	struct store_settings set;
	const char *error;
	struct store_mailbox_info *infos = NULL;
	size_t count = 0;
	store_settings_init(&set, config);
	if (store_open(&set, user, &run.store, &error) < 0) {
		fprintf(stderr, "roost export: cannot open the store of %s: %s\n", user, error);
		exit_code = EX_IOERR;
	} else if (store_mailbox_list(run.store, &infos, &count) < 0) {
		fprintf(stderr, "roost export: %s\n", store_last_error(run.store, NULL));
		exit_code = EX_IOERR;
	}
	for (size_t i = 0; exit_code == 0 && i < count; i++) {
		if (infos[i].exists && export_mailbox(&run, infos[i].name) < 0)
			exit_code = EX_IOERR;
	}
	free(infos);
	if (run.store != NULL)
		store_close(&run.store);
	/* one sync for everything written */
	int fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		if (syncfs(fd) < 0 && exit_code == 0) {
			fprintf(stderr, "roost export: syncfs(%s): %s\n", dest, strerror(errno));
			exit_code = EX_IOERR;
		}
		close(fd);
	}
	printf("%zu mailboxes, %zu messages exported to %s%s\n", run.mailboxes, run.messages,
	       dest, run.failed > 0 ? "; some mailboxes were not (see above)" : "");
	if (exit_code == 0 && run.failed > 0)
		exit_code = EX_DATAERR;
	str_free(&run.buf);
	free(user);
	config_free(&config);
	return exit_code;
}
