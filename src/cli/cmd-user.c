/* cmd-user.c: `roost user add|passwd|del|list`, managing the passwd-file.
 *
 * Runs as the admin, outside the server: it edits the file through
 * passwd_file_add() and friends (temp file + rename), so the server picks
 * the change up on its next login without a reload.  Passwords are never
 * echoed, printed or left in memory longer than needed. */
#include "cli.h"
#include "base/base.h"
#include "auth/passwd-file.h"
#include "auth/password.h"
#include "conf/conf.h"
#include "net/privs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <termios.h>
#include <unistd.h>

/* SASL PLAIN carries at most 255 octets of password (RFC 4616): a longer
 * one could never be used to log in. */
#define CLI_USER_PASSWORD_MAX_LEN 255

struct cli_user_args {
	const char *command;
	const char *config_path;	/* NULL: default */
	const char *scheme;
	const char *name;
	/* --no-scram: store no SCRAM keys beside the hash */
	bool no_scram;
};

static void cli_user_usage(FILE *out, const char *command)
{
	if (command == NULL || strcmp(command, "add") == 0 || strcmp(command, "passwd") == 0) {
		const char *c = command != NULL ? command : "add|passwd";
		fprintf(out,
			"usage: roost user %s [-c FILE] [--scheme SCHEME] [--no-scram] NAME\n", c);
		if (command != NULL)
			fprintf(out, "\n%s\n\n",
				strcmp(command, "add") == 0 ?
				"Adds user NAME (\"user\" or \"user@domain\") to the user database.\n"
				"Names are lowercased (\"Bob@Example.COM\" is bob@example.com), and\n"
				"a name whose lowercased form exists already is refused." :
				"Sets the password of user NAME, keeping the rest of its line.");
	}
	if (command == NULL || strcmp(command, "del") == 0) {
		fprintf(out, "usage: roost user del [-c FILE] NAME\n");
		if (command != NULL)
			fprintf(out, "\nRemoves user NAME from the user database (its mail stays).\n\n");
	}
	if (command == NULL || strcmp(command, "list") == 0) {
		fprintf(out, "usage: roost user list [-c FILE]\n");
		if (command != NULL)
			fprintf(out, "\nPrints the user names, one per line.\n\n");
	}
	if (command == NULL) {
		fprintf(out, "\nManages the users of the passwd-file named by `userdb` in the config.\n"
			"Run `roost user COMMAND --help` for one command.\n\n");
	}
	fprintf(out, "options:\n"
		"  -c, --config FILE  config file (default " CLI_DEFAULT_CONFIG
		" if it exists,\n"
		"                     else the built-in defaults)\n");
	if (command == NULL || strcmp(command, "add") == 0 || strcmp(command, "passwd") == 0) {
		fprintf(out,
			"  --scheme SCHEME    password hash: SHA512-CRYPT (default), SHA256-CRYPT,\n"
			"                     BLF-CRYPT (bcrypt), CRYPT (yescrypt), SCRAM-SHA-256,\n"
			"                     SCRAM-SHA-1, CRAM-MD5, PLAIN (tests only)\n"
			"  --no-scram         do not store SCRAM-SHA-256 and SCRAM-SHA-1 keys\n"
			"                     beside the hash (they let SCRAM logins work;\n"
			"                     auth_scram_iterations rounds)\n");
	}
	fprintf(out, "  -h, --help         this text\n");
	if (command == NULL || strcmp(command, "add") == 0 || strcmp(command, "passwd") == 0)
		fprintf(out, "\nThe password is asked twice on a terminal, else read as one line\n"
			"from standard input.\n");
}

/* Parses the arguments after the command name.  Returns -1 after printing
 * an error, 1 if --help was printed, 0 otherwise. */
static int cli_user_parse(int argc, char **argv, struct cli_user_args *args)
{
	bool wants_name = strcmp(args->command, "list") != 0;
	bool has_scheme = strcmp(args->command, "add") == 0 ||
		strcmp(args->command, "passwd") == 0;
	bool options_done = false;

	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		const char *value = NULL;

		if (!options_done && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)) {
			cli_user_usage(stdout, args->command);
			return 1;
		}
		if (!options_done && has_scheme && strcmp(arg, "--no-scram") == 0) {
			args->no_scram = true;
			continue;
		}
		if (!options_done && strcmp(arg, "--") == 0) {
			options_done = true;
			continue;
		}
		if (!options_done && (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0 ||
				      (has_scheme && strcmp(arg, "--scheme") == 0))) {
			if (i + 1 == argc) {
				fprintf(stderr, "roost user %s: %s needs a value\n",
					args->command, arg);
				return -1;
			}
			value = argv[++i];
		} else if (!options_done && strncmp(arg, "--config=", 9) == 0) {
			arg = "--config";
			value = argv[i] + 9;
		} else if (!options_done && has_scheme && strncmp(arg, "--scheme=", 9) == 0) {
			arg = "--scheme";
			value = argv[i] + 9;
		} else if (!options_done && arg[0] == '-' && arg[1] != '\0') {
			fprintf(stderr, "roost user %s: unknown option %s\n", args->command, arg);
			return -1;
		} else if (wants_name && args->name == NULL) {
			args->name = arg;
			continue;
		} else {
			fprintf(stderr, "roost user %s: unexpected argument %s\n",
				args->command, arg);
			return -1;
		}
		if (strcmp(arg, "--scheme") == 0)
			args->scheme = value;
		else
			args->config_path = value;
	}
	if (wants_name && args->name == NULL) {
		fprintf(stderr, "roost user %s: missing user NAME\n", args->command);
		return -1;
	}
	return 0;
}

/* ---- reading a password ---- */

static struct termios cli_user_saved_termios;
static volatile sig_atomic_t cli_user_echo_off;

static void cli_user_restore_echo(void)
{
	if (cli_user_echo_off) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &cli_user_saved_termios);
		cli_user_echo_off = 0;
	}
}

/* Ctrl-C at the prompt must not leave the terminal without echo. */
static void cli_user_signal(int signo)
{
	cli_user_restore_echo();
	signal(signo, SIG_DFL);
	raise(signo);
}

/* Reads one line from stdin into buf (at most size - 1 bytes, without the
 * line end), one byte at a time so that no stdio buffer keeps a copy.
 * Returns its length, or -1 at EOF before any byte / on error / if too
 * long (errno EMSGSIZE). */
static ssize_t cli_user_read_line(char *buf, size_t size)
{
	size_t len = 0;
	bool too_long = false, got_any = false;

	for (;;) {
		char c;
		ssize_t n = read(STDIN_FILENO, &c, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			if (!got_any) {
				errno = 0;
				return -1;
			}
			break;
		}
		got_any = true;
		if (c == '\n')
			break;
		if (len + 1 < size)
			buf[len++] = c;
		else
			too_long = true;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	if (too_long) {
		explicit_bzero(buf, size);
		errno = EMSGSIZE;
		return -1;
	}
	return (ssize_t)len;
}

/* Reads a password at the terminal without echo. */
static ssize_t cli_user_prompt(const char *prompt, char *buf, size_t size)
{
	struct termios t;
	ssize_t ret;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &cli_user_saved_termios) == 0) {
		t = cli_user_saved_termios;
		t.c_lflag &= ~(tcflag_t)ECHO;
		t.c_lflag |= ECHONL;
		signal(SIGINT, cli_user_signal);
		signal(SIGTERM, cli_user_signal);
		signal(SIGQUIT, cli_user_signal);
		signal(SIGTSTP, SIG_IGN);
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0)
			cli_user_echo_off = 1;
	}
	ret = cli_user_read_line(buf, size);
	int saved = errno;
	cli_user_restore_echo();
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
	signal(SIGTSTP, SIG_DFL);
	errno = saved;
	return ret;
}

/* Gets the new password into buf.  Returns 0 or an exit code after
 * printing the error. */
static int cli_user_get_password(const struct cli_user_args *args, char *buf, size_t size)
{
	char again[CLI_USER_PASSWORD_MAX_LEN + 2];
	ssize_t len;
	bool tty = isatty(STDIN_FILENO) != 0;

	if (tty)
		len = cli_user_prompt("New password: ", buf, size);
	else
		len = cli_user_read_line(buf, size);
	if (len > CLI_USER_PASSWORD_MAX_LEN) {
		explicit_bzero(buf, size);
		len = -1;
		errno = EMSGSIZE;
	}
	if (len < 0) {
		if (errno == EMSGSIZE)
			fprintf(stderr, "roost user %s: password longer than %d bytes\n",
				args->command, CLI_USER_PASSWORD_MAX_LEN);
		else if (errno == 0)
			fprintf(stderr, "roost user %s: no password given\n", args->command);
		else
			fprintf(stderr, "roost user %s: reading the password failed: %s\n",
				args->command, strerror(errno));
		return errno == 0 || errno == EMSGSIZE ? EX_DATAERR : EX_IOERR;
	}
	if (len == 0) {
		fprintf(stderr, "roost user %s: the password is empty\n", args->command);
		return EX_DATAERR;
	}
	if (!tty)
		return 0;
	if (cli_user_prompt("Retype new password: ", again, sizeof(again)) < 0 ||
	    strcmp(buf, again) != 0) {
		explicit_bzero(again, sizeof(again));
		fprintf(stderr, "roost user %s: the passwords do not match\n", args->command);
		return EX_DATAERR;
	}
	explicit_bzero(again, sizeof(again));
	return 0;
}

/* ---- commands ---- */

static int cli_user_edit_exit_code(enum passwd_file_error error_class)
{
	switch (error_class) {
	case PASSWD_FILE_ERROR_NONE:
		return EX_OK;
	case PASSWD_FILE_ERROR_EXISTS:
	case PASSWD_FILE_ERROR_INVALID:
		return EX_DATAERR;
	case PASSWD_FILE_ERROR_NOT_FOUND:
	case PASSWD_FILE_ERROR_NO_FILE:
		return EX_NOUSER;
	case PASSWD_FILE_ERROR_PERMISSION:
		return EX_NOPERM;
	case PASSWD_FILE_ERROR_IO:
		return EX_IOERR;
	}
	return EX_SOFTWARE;
}

/* As root, a new user database is created root:<the server user's
 * group> 0640, so that the workers (config `user`) can read it and
 * nobody else can; passwd_file_add() then finds it and keeps that owner
 * and mode, as every later edit does.  Not root, or no `user`: the file
 * is created by passwd_file_add() (0640, ours).  Returns 0 or an exit
 * code after printing the error. */
static int cli_user_create_db(const struct cli_user_args *args,
			      const struct roost_config *config)
{
	struct privs privs;
	char *error = NULL;

	if (geteuid() != 0)
		return 0;
	if (privs_lookup(config->user, &privs, &error) < 0) {
		fprintf(stderr, "roost user %s: warning: %s; the server cannot start until "
			"it does\n", args->command, error);
		free(error);
		return 0;
	}
	if (!privs.drop) {
		privs_free(&privs);
		return 0;
	}
	int ret = 0;
	int fd = open(config->passwd_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (fd < 0 && errno != EEXIST) {
		fprintf(stderr, "roost user %s: creating %s failed: %s\n", args->command,
			config->passwd_file, strerror(errno));
		ret = EX_IOERR;
	} else if (fd >= 0) {
		if (fchown(fd, 0, privs.gid) < 0 || fchmod(fd, 0640) < 0) {
			fprintf(stderr, "roost user %s: setting the owner of %s failed: %s\n",
				args->command, config->passwd_file, strerror(errno));
			(void)unlink(config->passwd_file);
			ret = EX_IOERR;
		}
		close(fd);
	}
	privs_free(&privs);
	return ret;
}

/* After an edit: warn when the server's workers cannot read the file
 * (one made by an older version, or chmod'ed since); the edit keeps the
 * file's owner and mode, so the admin must fix them. */
static void cli_user_check_readable(const char *command, const struct roost_config *config)
{
	char *error = NULL;
	if (cli_userdb_check(config, &error) < 0) {
		fprintf(stderr, "roost user %s: warning: %s\n", command, error);
		free(error);
	}
}

static int cli_user_set(const struct cli_user_args *args, const struct roost_config *config,
			bool add)
{
	const char *userdb = config->passwd_file;
	char password[CLI_USER_PASSWORD_MAX_LEN + 2];
	const char *error;
	enum passwd_file_error error_class;
	char *edit_error = NULL;
	int ret;

	const char *invalid = passwd_file_user_invalid_reason(args->name);
	if (add && invalid != NULL) {
		fprintf(stderr, "roost user %s: invalid user name %s: %s\n", args->command,
			args->name, invalid);
		return EX_DATAERR;
	}
	/* MD5-CRYPT is kept for checking old hashes only: too fast to brute-force */
	if (!password_scheme_can_generate(args->scheme) ||
	    str_eq_icase(args->scheme, "MD5-CRYPT")) {
		fprintf(stderr, "roost user %s: unknown --scheme %s (use SHA512-CRYPT, "
			"SHA256-CRYPT, BLF-CRYPT, CRYPT, SCRAM-SHA-256, SCRAM-SHA-1, CRAM-MD5 "
			"or PLAIN)\n", args->command, args->scheme);
		return EX_USAGE;
	}
	ret = cli_user_get_password(args, password, sizeof(password));
	if (ret != 0) {
		explicit_bzero(password, sizeof(password));
		return ret;
	}
	char *hash = password_hash(password, args->scheme, &error);
	/* SCRAM keys beside the hash, so that SCRAM works for this user
	 * (a PLAIN password gives them by itself) */
	char *scram[3] = { NULL, NULL, NULL };
	bool with_scram = hash != NULL && !args->no_scram &&
		!str_eq_icase(args->scheme, "PLAIN") && !str_eq_icase(args->scheme, "CLEAR") &&
		!str_eq_icase(args->scheme, "CLEARTEXT");
	if (with_scram) {
		/* not twice the main scheme's */
		size_t n = 0;
		if (!str_eq_icase(args->scheme, "SCRAM-SHA-256"))
			scram[n++] = password_scram_hash(password, PASSWORD_SCRAM_SHA256,
							 config->auth_scram_iterations);
		if (!str_eq_icase(args->scheme, "SCRAM-SHA-1"))
			scram[n++] = password_scram_hash(password, PASSWORD_SCRAM_SHA1,
							 config->auth_scram_iterations);
	}
	explicit_bzero(password, sizeof(password));
	if (hash == NULL) {
		fprintf(stderr, "roost user %s: %s\n", args->command, error);
		return EX_DATAERR;
	}
	if (add && (ret = cli_user_create_db(args, config)) == 0)
		ret = passwd_file_add_credentials(userdb, args->name, hash,
						  (const char *const *)scram, &error_class,
						  &edit_error);
	else if (!add)
		ret = passwd_file_set_credentials(userdb, args->name, hash,
						  (const char *const *)scram, &error_class,
						  &edit_error);
	explicit_bzero(hash, strlen(hash));
	free(hash);
	for (size_t i = 0; scram[i] != NULL; i++) {
		explicit_bzero(scram[i], strlen(scram[i]));
		free(scram[i]);
	}
	if (ret > 0)
		return ret;
	if (ret < 0) {
		fprintf(stderr, "roost user %s: %s\n", args->command, edit_error);
		free(edit_error);
		return cli_user_edit_exit_code(error_class);
	}
	char *name = xstrdup(args->name);
	passwd_file_user_normalize(name);
	printf("%s user %s in %s%s%s\n", add ? "added" : "changed the password of",
	       name, userdb, with_scram ? " with SCRAM-SHA-256 and SCRAM-SHA-1 keys" : "",
	       strcmp(name, args->name) != 0 ? " (user names are lowercased)" : "");
	free(name);
	cli_user_check_readable(args->command, config);
	return EX_OK;
}

static int cli_user_del(const struct cli_user_args *args, const struct roost_config *config)
{
	const char *userdb = config->passwd_file;
	enum passwd_file_error error_class;
	char *error = NULL;

	if (passwd_file_delete(userdb, args->name, &error_class, &error) < 0) {
		fprintf(stderr, "roost user del: %s\n", error);
		free(error);
		return cli_user_edit_exit_code(error_class);
	}
	char *name = xstrdup(args->name);
	passwd_file_user_normalize(name);
	printf("deleted user %s from %s\n", name, userdb);
	free(name);
	cli_user_check_readable(args->command, config);
	return EX_OK;
}

static int cli_user_list(const char *userdb)
{
	struct passwd_file *pf = passwd_file_create(userdb);
	const char *error;
	int ret = EX_OK;

	if (passwd_file_reload(pf, &error) < 0) {
		fprintf(stderr, "roost user list: %s\n", error);
		if (access(userdb, F_OK) < 0 && errno == ENOENT)
			ret = EX_NOINPUT;
		else if (access(userdb, R_OK) < 0 && (errno == EACCES || errno == EPERM))
			ret = EX_NOPERM;
		else
			ret = EX_IOERR;
	} else {
		for (size_t i = 0; i < passwd_file_count(pf); i++) {
			const struct passwd_file_entry *e = passwd_file_entry_at(pf, i), *first;
			/* a name given twice is one user: the first line */
			if (passwd_file_lookup(pf, e->user, &first, &error) == 1 && first == e)
				printf("%s\n", e->user);
		}
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "roost user list: writing failed: %s\n", strerror(errno));
			ret = EX_IOERR;
		}
	}
	passwd_file_destroy(&pf);
	return ret;
}

int cli_user_main(int argc, char **argv)
{
	struct cli_user_args args = { .scheme = PASSWORD_DEFAULT_SCHEME };
	struct roost_config *config;
	char *error = NULL;
	int ret;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_user_usage(argc < 2 ? stderr : stdout, NULL);
		return argc < 2 ? EX_USAGE : EX_OK;
	}
	args.command = argv[1];
	if (strcmp(args.command, "add") != 0 && strcmp(args.command, "passwd") != 0 &&
	    strcmp(args.command, "del") != 0 && strcmp(args.command, "list") != 0) {
		fprintf(stderr, "roost user: unknown command %s (add, passwd, del or list)\n",
			args.command);
		return EX_USAGE;
	}
	ret = cli_user_parse(argc - 2, argv + 2, &args);
	if (ret != 0)
		return ret > 0 ? EX_OK : EX_USAGE;

	const char *config_path = args.config_path;
	if (config_path == NULL && access(CLI_DEFAULT_CONFIG, F_OK) == 0)
		config_path = CLI_DEFAULT_CONFIG;
	config = config_load(config_path, &error);
	if (config == NULL) {
		fprintf(stderr, "roost user %s: %s\n", args.command, error);
		free(error);
		return EX_CONFIG;
	}
	if (config->passwd_file == NULL) {
		fprintf(stderr, "roost user %s: userdb names no passwd-file to edit\n",
			args.command);
		config_free(&config);
		return EX_CONFIG;
	}
	if (strcmp(args.command, "add") == 0)
		ret = cli_user_set(&args, config, true);
	else if (strcmp(args.command, "passwd") == 0)
		ret = cli_user_set(&args, config, false);
	else if (strcmp(args.command, "del") == 0)
		ret = cli_user_del(&args, config);
	else
		ret = cli_user_list(config->passwd_file);
	config_free(&config);
	return ret;
}
