/* cmd-backup.c: `roost backup` and `roost restore`.
 *
 * This file only orchestrates: which users, where their copies go, the
 * manifest and the report.  How a user's store is copied consistently
 * beside a running server, and put back, is the store's
 * (store_backup(), store_restore()).
 *
 * A backup directory:
 *   manifest          written last (a directory without it is not a
 *                     complete backup): "roost-backup 1", then
 *                     "created <UTC time>", "store <backend>", and one
 *                     "user <name> mailboxes=N messages=N bytes=N" line
 *                     per user
 *   users/<name>/     what store_backup() wrote for that user */
#include "cli.h"
#include "auth/passwd-file.h"
#include "base/str.h"
#include "conf/conf.h"
#include "store/store.h"

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

#define BACKUP_MANIFEST_MAGIC "roost-backup 1"

static void cli_backup_usage(FILE *out)
{
	fprintf(out,
		"usage: roost backup [-c FILE] DEST [USER...]\n"
		"\n"
		"Copies the mail stores of the named users, or of every user of the user\n"
		"database that has one (not the stores of users no longer in it), into\n"
		"the new directory DEST (it must not exist, or be empty), while the\n"
		"server runs.  Each user's copy is consistent: it holds every message\n"
		"whose delivery or APPEND was acknowledged before the copy of that user\n"
		"began, with its flags, keywords and UID; the index (copied with\n"
		"SQLite's online backup API) agrees with the files; the subscriptions\n"
		"and Sieve scripts come along.  Message files are hard-linked when DEST\n"
		"is on the store's file system, copied otherwise, while the server goes\n"
		"on; the user's deliveries and IMAP changes wait only while the backup\n"
		"reads the user's messages again and places what changed meanwhile\n"
		"(about 0.1-0.5 s for 100,000 messages).  The manifest (DEST/manifest)\n"
		"is written last; `roost restore` puts the copy back.\n"
		"Started as root, it runs as the config's `user` (the server's), who\n"
		"must be able to create DEST.  Prints one line per user.\n"
		"\n"
		"  -c, --config FILE  config file (default " CLI_DEFAULT_CONFIG
		" if it exists)\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit codes: 0, 64 usage, 67 unknown user, 73 DEST exists and is not\n"
		"empty or cannot be created, 74 a store or file failed, 78 bad config.\n");
}

static void cli_restore_usage(FILE *out)
{
	fprintf(out,
		"usage: roost restore [-c FILE] [--force] SRC [USER...]\n"
		"\n"
		"Puts back the stores that `roost backup` wrote into SRC: of the named\n"
		"users, or of every user in SRC's manifest.  Other users are not touched.\n"
		"A user who has a store is refused unless --force; then the old store is\n"
		"moved aside, not deleted (its path is printed: <maildir_root>/<domain>/\n"
		".replaced-<user>-<time>-<pid>), in one step with the restored one taking\n"
		"its place.  With the server running, the restore waits up to 10 s for\n"
		"the user's store to be idle (an IMAP session lets go of it 2 s after its\n"
		"last command), then fails changing nothing.  The user's open IMAP\n"
		"sessions find the store replaced at their next command or IDLE wake-up:\n"
		"their commands fail with \"please log in again\", and a new login sees the\n"
		"restored mail.  Deliveries after the restore go to the restored store.\n"
		"Message files are hard-linked from SRC when it is on the store's file\n"
		"system, copied otherwise.  Started as root, it runs as the config's\n"
		"`user`.  Prints one line per user.\n"
		"\n"
		"  -c, --config FILE  config file (default " CLI_DEFAULT_CONFIG
		" if it exists)\n"
		"  --force            replace existing stores (the old ones are kept)\n"
		"  -h, --help         this text\n"
		"\n"
		"Exit codes: 0, 64 usage, 65 SRC is not a complete backup, 67 a user is\n"
		"not in the backup, 73 a user has a store (no --force), 74 a restore\n"
		"failed, 75 a store stayed in use, 78 bad config.\n");
}

/* Parses "-c FILE", "--force" (when force_r) and "--help"; the first
 * other argument's index goes to *first_r.  Returns -1 (printed) or 1
 * after --help, else 0. */
static int parse_options(int argc, char **argv, const char *subcommand,
			 void (*usage)(FILE *), const char **config_r, bool *force_r,
			 int *first_r)
{
	*first_r = argc;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if ((strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) && i + 1 < argc) {
			*config_r = argv[++i];
		} else if (force_r != NULL && strcmp(arg, "--force") == 0) {
			*force_r = true;
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(stdout);
			return 1;
		} else if (arg[0] == '-') {
			fprintf(stderr, "roost %s: unknown option '%s'\n", subcommand, arg);
			usage(stderr);
			return -1;
		} else {
			*first_r = i;
			return 0;
		}
	}
	fprintf(stderr, "roost %s: missing argument\n", subcommand);
	usage(stderr);
	return -1;
}

/* 1 when dir does not exist or is an empty directory, 0 otherwise. */
static int dir_is_absent_or_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL)
		return errno == ENOENT ? 1 : 0;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			break;
	}
	closedir(d);
	return de == NULL ? 1 : 0;
}

/* Every user of the chain's first passwd-file (LDAP users are named on
 * the command line) that has a store (normalised names,
 * xmalloc'd).  -1 (printed) on failure. */
static int all_users(const struct roost_config *config, const struct store_settings *set,
		     char ***users_r, size_t *count_r)
{
	const char *error = NULL;

	*users_r = NULL;
	*count_r = 0;
	if (config->passwd_file == NULL) {
		fprintf(stderr, "roost backup: the user database has no passwd-file to list "
			"users from: name the users\n");
		return -1;
	}
	struct passwd_file *db = passwd_file_create(config->passwd_file);
	if (passwd_file_refresh(db, &error) < 0) {
		fprintf(stderr, "roost backup: %s: %s\n", config->passwd_file, error);
		passwd_file_destroy(&db);
		return -1;
	}
	size_t n = passwd_file_count(db);
	char **users = xcalloc(n + 1, sizeof(*users));
	size_t count = 0;
	int ret = 0;
	for (size_t i = 0; i < n; i++) {
		char *user = xstrdup(passwd_file_entry_at(db, i)->user);

		passwd_file_user_normalize(user);
		int r = store_exists(set, user, &error);
		if (r < 0) {
			fprintf(stderr, "roost backup: %s: %s\n", user, error);
			ret = -1;
		}
		if (r > 0)
			users[count++] = user;
		else
			free(user);
	}
	passwd_file_destroy(&db);
	*users_r = users;
	*count_r = count;
	return ret;
}

static void utc_now(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Writes text to path atomically (temp file, fsync, rename). */
static int write_file_atomic(const char *path, const char *text)
{
	char *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret = 0;

	if (fd < 0 || write_full(fd, text, strlen(text)) < 0 || fsync(fd) < 0)
		ret = -1;
	if (fd >= 0 && close(fd) < 0)
		ret = -1;
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -1;
	if (ret < 0)
		(void)unlink(tmp);
	free(tmp);
	return ret;
}

static int backup_user(const struct store_settings *set, const char *dest, const char *user,
		       struct str *manifest)
{
	struct store *store;
	const char *error;
	enum store_error err;
	struct store_backup_stats st;
	char began[32];

	utc_now(began, sizeof(began));
	if (store_open(set, user, &store, &error) < 0) {
		fprintf(stderr, "roost backup: %s: %s\n", user, error);
		return EX_IOERR;
	}
	char *dir = xasprintf("%s/users/%s", dest, user);
	int ret = 0;
	if (store_backup(store, dir, &st) < 0) {
		fprintf(stderr, "roost backup: %s: %s\n", user, store_last_error(store, &err));
		ret = EX_IOERR;
	} else {
		printf("%s\tmailboxes=%llu messages=%llu bytes=%llu linked=%llu copied=%llu "
		       "missing=%llu lock_wait_ms=%.1f lock_ms=%.1f\n", user,
		       (unsigned long long)st.mailboxes, (unsigned long long)st.messages,
		       (unsigned long long)st.bytes, (unsigned long long)st.files_linked,
		       (unsigned long long)st.files_copied,
		       (unsigned long long)st.files_missing, st.lock_wait_usecs / 1000.0,
		       st.lock_usecs / 1000.0);
		fflush(stdout);
		str_printfa(manifest, "user %s mailboxes=%llu messages=%llu bytes=%llu began=%s\n",
			    user, (unsigned long long)st.mailboxes,
			    (unsigned long long)st.messages, (unsigned long long)st.bytes,
			    began);
	}
	free(dir);
	store_close(&store);
	return ret;
}

int cli_backup_main(int argc, char **argv)
{
	const char *config_path = NULL;
	int first;
	int r = parse_options(argc, argv, "backup", cli_backup_usage, &config_path, NULL, &first);
	if (r != 0)
		return r > 0 ? 0 : EX_USAGE;
	const char *dest = argv[first];
	struct roost_config *config = cli_config_load(config_path, "backup");
	if (config == NULL)
		return EX_CONFIG;
	int ret = cli_switch_user(config, "backup");
	if (ret != 0) {
		config_free(&config);
		return ret;
	}
	struct store_settings set;
	store_settings_init(&set, config);

	char **users = NULL;
	size_t count = 0;
	if (first + 1 < argc) {
		users = xcalloc((size_t)(argc - first), sizeof(*users));
		for (int i = first + 1; i < argc && ret == 0; i++) {
			users[count] = cli_user_name(config, argv[i], "backup", &ret);
			if (users[count] != NULL)
				count++;
		}
	} else if (all_users(config, &set, &users, &count) < 0) {
		ret = EX_IOERR;
	}
	if (ret == 0 && dir_is_absent_or_empty(dest) == 0) {
		fprintf(stderr, "roost backup: %s exists and is not empty; give a new "
			"directory\n", dest);
		ret = EX_CANTCREAT;
	}
	if (ret == 0 && mkdir(dest, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "roost backup: mkdir(%s): %s\n", dest, strerror(errno));
		ret = EX_CANTCREAT;
	}
	struct str manifest = STR_INIT;
	char created[32];
	utc_now(created, sizeof(created));
	str_printfa(&manifest, BACKUP_MANIFEST_MAGIC "\ncreated %s\nstore %s\n", created,
		    set.backend);
	for (size_t i = 0; ret == 0 && i < count; i++)
		ret = backup_user(&set, dest, users[i], &manifest);
	if (ret == 0) {
		char *path = xasprintf("%s/manifest", dest);

		if (write_file_atomic(path, str_c(&manifest)) < 0) {
			fprintf(stderr, "roost backup: writing %s: %s\n", path, strerror(errno));
			ret = EX_IOERR;
		}
		free(path);
	}
	if (ret == 0 && count == 0)
		fprintf(stderr, "roost backup: no user has a mail store; the backup is empty\n");
	str_free(&manifest);
	for (size_t i = 0; i < count; i++)
		free(users[i]);
	free(users);
	config_free(&config);
	return ret;
}

/* The user names of a backup's manifest (xmalloc'd).  -1 (printed) when
 * SRC is not a complete backup. */
static int manifest_read(const char *src, char ***users_r, size_t *count_r)
{
	char *path = xasprintf("%s/manifest", src);
	FILE *f = fopen(path, "r");
	char line[4096];
	char **users = NULL;
	size_t count = 0, cap = 0;
	int ret = 0;

	if (f == NULL) {
		fprintf(stderr, "roost restore: %s: %s (not a complete backup of roost backup)\n",
			path, strerror(errno));
		free(path);
		return -1;
	}
	if (fgets(line, sizeof(line), f) == NULL ||
	    strcmp(line, BACKUP_MANIFEST_MAGIC "\n") != 0) {
		fprintf(stderr, "roost restore: %s: not a manifest of roost backup (version 1)\n",
			path);
		ret = -1;
	}
	while (ret == 0 && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "user ", 5) != 0)
			continue;
		size_t len = strcspn(line + 5, " \n");
		if (count == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			users = xrealloc(users, cap * sizeof(*users));
		}
		users[count++] = xstrndup(line + 5, len);
	}
	fclose(f);
	free(path);
	*users_r = users;
	*count_r = count;
	return ret;
}

int cli_restore_main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool force = false;
	int first;
	int r = parse_options(argc, argv, "restore", cli_restore_usage, &config_path, &force,
			      &first);
	if (r != 0)
		return r > 0 ? 0 : EX_USAGE;
	const char *src = argv[first];
	struct roost_config *config = cli_config_load(config_path, "restore");
	if (config == NULL)
		return EX_CONFIG;
	int ret = cli_switch_user(config, "restore");
	if (ret != 0) {
		config_free(&config);
		return ret;
	}
	struct store_settings set;
	store_settings_init(&set, config);
	char **users;
	size_t count;
	if (manifest_read(src, &users, &count) < 0) {
		config_free(&config);
		return EX_DATAERR;
	}
	/* the named users, each of which must be in the backup */
	char **todo = xcalloc(count + (size_t)argc, sizeof(*todo));
	size_t todo_count = 0;
	if (first + 1 == argc) {
		for (size_t i = 0; i < count; i++)
			todo[todo_count++] = users[i];
	}
	for (int i = first + 1; i < argc; i++) {
		char *name = xstrdup(argv[i]);
		size_t j;

		passwd_file_user_normalize(name);
		for (j = 0; j < count && strcmp(users[j], name) != 0; j++)
			;
		if (j == count) {
			fprintf(stderr, "roost restore: %s: not in the backup %s\n", argv[i], src);
			ret = EX_NOUSER;
		} else {
			todo[todo_count++] = users[j];
		}
		free(name);
	}
	bool refused = false;
	for (size_t i = 0; ret == 0 && i < todo_count; i++) {
		char *dir = xasprintf("%s/users/%s", src, todo[i]);
		struct store_restore_result res;
		char *error = NULL;

		if (store_restore(&set, todo[i], dir, force, &res, &error) < 0) {
			fprintf(stderr, "roost restore: %s: %s\n", todo[i], error);
			free(error);
			/* a refused user (no --force) is reported after the
			 * others are restored */
			if (res.exists)
				refused = true;
			else
				ret = res.busy ? EX_TEMPFAIL : EX_IOERR;
		} else if (res.aside != NULL) {
			printf("%s\trestored messages=%llu; the replaced store is kept at %s\n",
			       todo[i], (unsigned long long)res.messages, res.aside);
		} else {
			printf("%s\trestored messages=%llu\n", todo[i],
			       (unsigned long long)res.messages);
		}
		fflush(stdout);
		free(res.aside);
		free(dir);
	}
	if (ret == 0 && refused)
		ret = EX_CANTCREAT;
	free(todo);
	for (size_t i = 0; i < count; i++)
		free(users[i]);
	free(users);
	config_free(&config);
	return ret;
}
