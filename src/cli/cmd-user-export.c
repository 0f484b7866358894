/* cmd-user-export.c: `roost user export USER DEST`, all of a user's data
 * in one archive, for a GDPR access request (Art. 15) or a move.
 *
 * DEST is a gzip'd tar file (ustar) holding:
 *   summary.json         the user, the time, and per mailbox its name,
 *                        messages, size, UIDVALIDITY, special use and
 *                        subscription; the Sieve scripts and which is
 *                        active
 *   mail/<NAME>.mbox     each mailbox as mboxrd (RFC 4155: "From " lines,
 *                        LF line ends, ">From " quoting); a name too long
 *                        for a tar header, or with an empty, "." or ".."
 *                        level, becomes mail/mailbox-<N>.mbox
 *                        (summary.json says which)
 *   subscriptions.txt    the subscribed names, one per line
 *   sieve/<NAME>.sieve   each Sieve script
 * Read through store.h only, beside a running server.  The archive is
 * written to DEST.tmp and renamed when complete; DEST must not exist. */
#include "cli.h"
#include "base/str.h"
#include "conf/conf.h"
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

struct tar_out {
	gzFile gz;
	bool failed;
};

static void tar_write(struct tar_out *t, const void *data, size_t len)
{
	if (!t->failed && len > 0 && gzwrite(t->gz, data, (unsigned int)len) != (int)len)
		t->failed = true;
}

/* A ustar header for a regular file `path` of `size` bytes; false when
 * the path does not fit (100 bytes of name, 155 of prefix). */
static bool tar_header(struct tar_out *t, const char *path, uint64_t size)
{
	unsigned char h[512];
	size_t len = strlen(path);
	const char *name = path;
	size_t prefix_len = 0;

	memset(h, 0, sizeof(h));
	if (len > 100) {
		const char *slash = NULL;

		for (const char *p = path; *p != '\0'; p++) {
			if (*p == '/' && (size_t)(p - path) <= 155 && len - (size_t)(p - path) - 1 <= 100)
				slash = p;
		}
		if (slash == NULL)
			return false;
		prefix_len = (size_t)(slash - path);
		name = slash + 1;
		memcpy(h + 345, path, prefix_len);
	}
	memcpy(h, name, strlen(name));
	snprintf((char *)h + 100, 8, "%07o", 0600);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)time(NULL));
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memset(h + 148, ' ', 8);
	unsigned int sum = 0;
	for (size_t i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	tar_write(t, h, sizeof(h));
	return true;
}

static void tar_pad(struct tar_out *t, uint64_t size)
{
	static const unsigned char zeros[512];

	if (size % 512 != 0)
		tar_write(t, zeros, 512 - size % 512);
}

static void tar_file(struct tar_out *t, const char *path, const void *data, size_t len)
{
	if (!tar_header(t, path, len)) {
		t->failed = true;
		return;
	}
	tar_write(t, data, len);
	tar_pad(t, len);
}

/* Appends the message as mboxrd: LF line ends, ">" before a line that
 * is ">*From ", a blank line after it. */
static int mbox_append(FILE *out, struct istream *in, const struct store_msg *msg)
{
	char date[64];
	struct tm tm;
	time_t t = msg->internaldate;
	struct str line = STR_INIT;
	char buf[8192];
	uint64_t off = 0;
	ssize_t n;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	fprintf(out, "From MAILER-DAEMON %s\n", date);
	while ((n = istream_pread(in, buf, sizeof(buf), off)) > 0) {
		off += (uint64_t)n;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				str_append_n(&line, &buf[i], 1);
				continue;
			}
			size_t l = line.len;
			if (l > 0 && str_c(&line)[l - 1] == '\r')
				l--;
			const char *p = str_c(&line);
			size_t k = 0;
			while (k < l && p[k] == '>')
				k++;
			if (l - k >= 5 && memcmp(p + k, "From ", 5) == 0)
				fputc('>', out);
			fwrite(p, 1, l, out);
			fputc('\n', out);
			str_truncate(&line, 0);
		}
	}
	if (line.len > 0) {
		fwrite(str_c(&line), 1, line.len, out);
		fputc('\n', out);
	}
	fputc('\n', out);
	str_free(&line);
	return n < 0 || ferror(out) ? -1 : 0;
}

static void json_string(struct str *out, const char *s)
{
	str_append(out, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			str_printfa(out, "\\%c", *p);
		else if (*p < 0x20)
			str_printfa(out, "\\u%04x", *p);
		else
			str_append_n(out, (const char *)p, 1);
	}
	str_append(out, "\"");
}

/* Whether a mailbox name can be a path in the archive as it is: no
 * empty, "." or ".." level (an archive must not write outside the
 * directory it is unpacked in). */
static bool name_is_safe_path(const char *name)
{
	const char *p = name;

	for (;;) {
		size_t len = strcspn(p, "/");

		if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (p[len] == '\0')
			return true;
		p += len + 1;
	}
}

/* One mailbox into the archive; its summary entry into *summary. */
static int export_mailbox(struct store *store, struct tar_out *t,
			  const struct store_mailbox_info *info, unsigned int n,
			  struct str *summary)
{
	struct store_mailbox *box;
	enum store_error err;

	if (store_mailbox_open(store, info->name, true, &box) < 0 ||
	    store_mailbox_sync(box, 0, NULL, NULL) < 0) {
		fprintf(stderr, "roost user export: %s: %s\n", info->name,
			store_last_error(store, &err));
		return -1;
	}
	FILE *tmp = tmpfile();
	uint32_t count = store_mailbox_count(box);
	uint64_t bytes = 0;
	int ret = tmp == NULL ? -1 : 0;
	for (uint32_t msn = 1; ret == 0 && msn <= count; msn++) {
		struct istream *in = NULL;

		if (store_mailbox_msg_stream(box, msn, &in) < 0) {
			if (store_mailbox_is_expunged(box, msn))
				continue;
			fprintf(stderr, "roost user export: %s: %s\n", info->name,
				store_last_error(store, &err));
			ret = -1;
			break;
		}
		bytes += store_mailbox_msg(box, msn)->size;
		ret = mbox_append(tmp, in, store_mailbox_msg(box, msn));
		istream_destroy(&in);
	}
	char *path = name_is_safe_path(info->name) ? xasprintf("mail/%s.mbox", info->name) :
		xasprintf("mail/mailbox-%u.mbox", n);
	if (ret == 0 && fflush(tmp) == 0) {
		long size = ftell(tmp);
		if (size < 0 || fseek(tmp, 0, SEEK_SET) < 0) {
			ret = -1;
		} else if (!tar_header(t, path, (uint64_t)size)) {
			free(path);
			path = xasprintf("mail/mailbox-%u.mbox", n);
			if (!tar_header(t, path, (uint64_t)size))
				ret = -1;
		}
		char buf[65536];
		size_t r;
		while (ret == 0 && (r = fread(buf, 1, sizeof(buf), tmp)) > 0)
			tar_write(t, buf, r);
		if (ret == 0)
			tar_pad(t, (uint64_t)size);
	}
	if (ret < 0 && tmp == NULL)
		fprintf(stderr, "roost user export: tmpfile(): %s\n", strerror(errno));
	str_append(summary, summary->len > 0 && str_c(summary)[summary->len - 1] == '[' ?
		   "\n    {\"name\": " : ",\n    {\"name\": ");
	json_string(summary, info->name);
	str_append(summary, ", \"file\": ");
	json_string(summary, path);
	str_printfa(summary, ", \"messages\": %u, \"bytes\": %llu, \"uidvalidity\": %u, "
		    "\"subscribed\": %s, \"special_use\": %u}", count, (unsigned long long)bytes,
		    store_mailbox_uidvalidity(box), info->subscribed ? "true" : "false",
		    info->special_use);
	free(path);
	if (tmp != NULL)
		fclose(tmp);
	store_mailbox_close(&box);
	return ret;
}

static int export_user(struct store *store, const char *user, struct tar_out *t)
{
	struct store_mailbox_info *infos;
	struct store_sieve_info *scripts;
	size_t count, script_count;
	enum store_error err;
	struct str summary = STR_INIT, mailboxes = STR_INIT, subs = STR_INIT;
	char now[32];
	time_t tnow = time(NULL);
	struct tm tm;
	int ret = 0;

	if (store_mailbox_list(store, &infos, &count) < 0) {
		fprintf(stderr, "roost user export: %s\n", store_last_error(store, &err));
		return -1;
	}
	str_append(&mailboxes, "[");
	unsigned int n = 0;
	for (size_t i = 0; ret == 0 && i < count; i++) {
		if (infos[i].subscribed)
			str_printfa(&subs, "%s\n", infos[i].name);
		if (infos[i].exists)
			ret = export_mailbox(store, t, &infos[i], ++n, &mailboxes);
	}
	str_append(&mailboxes, "\n  ]");
	free(infos);
	if (ret == 0)
		tar_file(t, "subscriptions.txt", str_c(&subs), subs.len);
	gmtime_r(&tnow, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	str_append(&summary, "{\n  \"user\": ");
	json_string(&summary, user);
	str_printfa(&summary, ",\n  \"exported\": \"%s\",\n  \"mailboxes\": %s,\n"
		    "  \"sieve_scripts\": [", now, str_c(&mailboxes));
	if (ret == 0 && store_sieve_list(store, &scripts, &script_count) < 0) {
		fprintf(stderr, "roost user export: %s\n", store_last_error(store, &err));
		ret = -1;
	} else if (ret == 0) {
		for (size_t i = 0; ret == 0 && i < script_count; i++) {
			struct str text = STR_INIT;

			if (store_sieve_get(store, scripts[i].name, &text, NULL) < 0) {
				fprintf(stderr, "roost user export: script %s: %s\n",
					scripts[i].name, store_last_error(store, &err));
				ret = -1;
			} else {
				char *path = xasprintf("sieve/%s.sieve", scripts[i].name);
				if (!tar_header(t, path, text.len)) {
					free(path);
					path = xasprintf("sieve/script-%zu.sieve", i + 1);
					(void)tar_header(t, path, text.len);
				}
				tar_write(t, str_c(&text), text.len);
				tar_pad(t, text.len);
				str_append(&summary, i == 0 ? "\n    {\"name\": " : ",\n    {\"name\": ");
				json_string(&summary, scripts[i].name);
				str_append(&summary, ", \"file\": ");
				json_string(&summary, path);
				str_printfa(&summary, ", \"active\": %s}",
					    scripts[i].active ? "true" : "false");
				free(path);
			}
			str_free(&text);
		}
		free(scripts);
	}
	str_append(&summary, "\n  ]\n}\n");
	if (ret == 0)
		tar_file(t, "summary.json", str_c(&summary), summary.len);
	str_free(&summary);
	str_free(&mailboxes);
	str_free(&subs);
	return ret;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: roost user export [-c FILE] USER DEST\n"
		"\n"
		"Writes all of USER's data into the new gzip'd tar file DEST (a GDPR\n"
		"access request): summary.json (mailboxes with their counts, Sieve\n"
		"scripts), mail/<MAILBOX>.mbox for each mailbox (mboxrd), subscriptions.txt\n"
		"and sieve/<NAME>.sieve.  DEST must not exist.  Works beside a running\n"
		"server.  Started as root, it runs as the config's `user`, who must be\n"
		"able to create DEST.\n"
		"\n"
		"  -c, --config FILE  config file (default " CLI_DEFAULT_CONFIG
		" if it exists)\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit codes: 0, 64 usage, 66 the user has no mail store, 67 unknown user,\n"
		"73 DEST exists or cannot be created, 74 store or write failure, 78 bad\n"
		"config.\n");
}

int cli_user_export_main(int argc, char **argv)
{
	const char *config_path = NULL;
	const char *args[2];
	int nargs = 0;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < argc) {
			config_path = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' || nargs == 2) {
			fprintf(stderr, "roost user export: unexpected argument '%s'\n", argv[i]);
			usage(stderr);
			return EX_USAGE;
		} else {
			args[nargs++] = argv[i];
		}
	}
	if (nargs != 2) {
		usage(stderr);
		return EX_USAGE;
	}
	struct roost_config *config = cli_config_load(config_path, "user export");
	if (config == NULL)
		return EX_CONFIG;
	int ret = cli_switch_user(config, "user export");
	char *user = ret == 0 ? cli_user_name(config, args[0], "user export", &ret) : NULL;
	struct store_settings set;
	struct store *store = NULL;
	const char *error;
	store_settings_init(&set, config);
	if (user != NULL) {
		int exists = store_exists(&set, user, &error);
		if (exists <= 0) {
			fprintf(stderr, "roost user export: %s: %s\n", user,
				exists < 0 ? error : "has no mail store");
			ret = exists < 0 ? EX_IOERR : EX_NOINPUT;
		} else if (store_open(&set, user, &store, &error) < 0) {
			fprintf(stderr, "roost user export: %s: %s\n", user, error);
			ret = EX_IOERR;
		}
	}
	const char *dest = args[1];
	char *tmp = xasprintf("%s.tmp", dest);
	int fd = -1;
	if (ret == 0 && access(dest, F_OK) == 0) {
		fprintf(stderr, "roost user export: %s exists; give a new file\n", dest);
		ret = EX_CANTCREAT;
	}
	if (ret == 0) {
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			fprintf(stderr, "roost user export: creating %s: %s\n", tmp, strerror(errno));
			ret = EX_CANTCREAT;
		}
	}
	if (ret == 0) {
		struct tar_out t = { .gz = gzdopen(fd, "wb") };

		if (t.gz == NULL) {
			close(fd);
			ret = EX_IOERR;
		} else {
			if (export_user(store, user, &t) < 0)
				ret = EX_IOERR;
			static const unsigned char end[1024];
			tar_write(&t, end, sizeof(end));
			if (gzclose(t.gz) != Z_OK || t.failed) {
				if (ret == 0)
					fprintf(stderr, "roost user export: writing %s failed\n", tmp);
				ret = EX_IOERR;
			}
		}
		/* never over a file that appeared meanwhile */
		if (ret == 0 && link(tmp, dest) < 0) {
			fprintf(stderr, "roost user export: %s: %s\n", dest, strerror(errno));
			ret = EX_CANTCREAT;
		}
		(void)unlink(tmp);
		if (ret == 0)
			printf("exported %s to %s\n", user, dest);
	}
	free(tmp);
	if (store != NULL)
		store_close(&store);
	free(user);
	config_free(&config);
	return ret;
}
