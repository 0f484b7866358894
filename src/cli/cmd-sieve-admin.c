/* cmd-sieve-admin.c: a user's Sieve scripts from the command line (see
 * cmd-sieve-admin.h): the same store functions ManageSieve uses, the
 * same compile check before a script is stored.  Never touches script
 * files itself. */
#include "cmd-sieve-admin.h"
#include "cli.h"
#include "base/str.h"
#include "conf/conf.h"
#include "sieve/sieve.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

struct sieve_admin_cmd {
	const char *name;
	const char *args;	/* after -u USER, for the usage line */
	int nargs;
	const char *help;
};

static const struct sieve_admin_cmd cmd_put = {
	"put", "NAME FILE", 2,
	"Compiles the Sieve script in FILE (\"-\" for stdin) and stores it as the\n"
	"user's script NAME, replacing a script of that name (which stays active if\n"
	"it was).  A script that does not compile is not stored: its errors are\n"
	"printed as \"line N: ...\" and the exit code is 65.\n",
};
static const struct sieve_admin_cmd cmd_list = {
	"list", "", 0,
	"Lists the user's scripts, one \"NAME<TAB>SIZE\" line each, sorted by name;\n"
	"the active one ends with \"<TAB>active\".\n",
};
static const struct sieve_admin_cmd cmd_activate = {
	"activate", "NAME", 1,
	"Makes script NAME the user's active script (the one run on delivery);\n"
	"the one active before is no longer.\n",
};
static const struct sieve_admin_cmd cmd_deactivate = {
	"deactivate", "", 0,
	"Leaves the user without an active script: mail is filed into INBOX.\n",
};
static const struct sieve_admin_cmd cmd_show = {
	"show", "NAME", 1,
	"Prints script NAME as it is stored.\n",
};
static const struct sieve_admin_cmd cmd_delete = {
	"delete", "NAME", 1,
	"Deletes script NAME.  The active script cannot be deleted (exit code 65):\n"
	"deactivate it or activate another one first.\n",
};

static void usage(const struct sieve_admin_cmd *cmd, FILE *out)
{
	fprintf(out,
		"usage: roost sieve %s [-c FILE] -u USER%s%s\n"
		"\n"
		"%s"
		"Started as root, it runs as the config's `user` (the server's).\n"
		"\n"
		"  -c, --config FILE  config file (default " CLI_DEFAULT_CONFIG
		" if it exists)\n"
		"  -u, --user USER    the user whose scripts these are\n"
		"  -h, --help         this text\n",
		cmd->name, cmd->args[0] != '\0' ? " " : "", cmd->args, cmd->help);
}

/* What every subcommand starts with: its options and arguments, the
 * config, the server's user, the user's store.  Returns 0 with *store_r
 * open and args_r[0..nargs) set, or an exit code (-1: --help printed,
 * exit 0).  `before_switch` runs after the config is loaded and before
 * the user switch (reading a file as the admin), 0 or an exit code. */
struct sieve_admin {
	const struct sieve_admin_cmd *cmd;
	struct roost_config *config;
	char *user;
	struct store *store;
	char **args;
};

static int sieve_admin_begin(struct sieve_admin *a, const struct sieve_admin_cmd *cmd,
			     int argc, char **argv,
			     int (*before_switch)(struct sieve_admin *a, void *ctx), void *ctx)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *user = NULL;
	int c;

	memset(a, 0, sizeof(*a));
	a->cmd = cmd;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:u:h", options, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'u': user = optarg; break;
		case 'h': usage(cmd, stdout); return -1;
		default: usage(cmd, stderr); return EX_USAGE;
		}
	}
	if (user == NULL || argc - optind != cmd->nargs) {
		usage(cmd, stderr);
		return EX_USAGE;
	}
	a->args = argv + optind;
	if (cmd->nargs > 0 && !store_sieve_name_is_valid(a->args[0])) {
		fprintf(stderr, "roost sieve %s: invalid script name \"%s\"\n", cmd->name,
			a->args[0]);
		return EX_DATAERR;
	}
	char subcommand[32];
	snprintf(subcommand, sizeof(subcommand), "sieve %s", cmd->name);
	if ((a->config = cli_config_load(config_path, subcommand)) == NULL)
		return EX_CONFIG;
	int ret;
	if (before_switch != NULL && (ret = before_switch(a, ctx)) != 0)
		return ret;
	if ((ret = cli_switch_user(a->config, subcommand)) != 0)
		return ret;
	if ((a->user = cli_user_name(a->config, user, subcommand, &ret)) == NULL)
		return ret;
	struct store_settings set;
	const char *error;
	store_settings_init(&set, a->config);
	if (store_open(&set, a->user, &a->store, &error) < 0) {
		fprintf(stderr, "roost sieve %s: %s: %s\n", cmd->name, a->user, error);
		return EX_IOERR;
	}
	return 0;
}

static int sieve_admin_end(struct sieve_admin *a, int ret)
{
	store_close(&a->store);
	free(a->user);
	config_free(&a->config);
	return ret < 0 ? 0 : ret;
}

/* The store's last error, printed, as an exit code. */
static int sieve_admin_store_error(struct sieve_admin *a)
{
	enum store_error error;
	const char *text = store_last_error(a->store, &error);
	const char *name = a->cmd->nargs > 0 ? a->args[0] : "";
	fprintf(stderr, "roost sieve %s: %s: %s%s%s\n", a->cmd->name, a->user, name,
		name[0] != '\0' ? ": " : "", text);
	switch (error) {
	case STORE_ERR_NOTFOUND: return EX_NOINPUT;
	case STORE_ERR_EXISTS:
	case STORE_ERR_PARAMS:
	case STORE_ERR_INUSE:
	case STORE_ERR_NOTPOSSIBLE: return EX_DATAERR;
	default: return EX_IOERR;
	}
}

/* ---- put ---- */

static int put_read(struct sieve_admin *a, void *ctx)
{
	struct str *text = ctx;
	const char *path = a->args[1];
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char buf[8192];
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "roost sieve put: %s: %s\n", path, strerror(errno));
		return EX_NOINPUT;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_n(text, buf, n);
	bool failed = ferror(f) != 0;
	if (f != stdin)
		fclose(f);
	if (failed) {
		fprintf(stderr, "roost sieve put: %s: read failed\n", path);
		return EX_NOINPUT;
	}
	str_append(text, "");
	struct sieve_limits limits;
	struct str errors = STR_INIT;
	cli_sieve_limits(a->config, &limits);
	struct sieve_script *script = sieve_compile(a->args[0], text->data, text->len, &limits,
						    &errors);
	if (script == NULL) {
		fprintf(stderr, "roost sieve put: %s: the script does not compile:\n%s", path,
			str_c(&errors));
		if (errors.len > 0 && errors.data[errors.len - 1] != '\n')
			fputc('\n', stderr);
		str_free(&errors);
		return EX_DATAERR;
	}
	sieve_script_free(&script);
	str_free(&errors);
	return 0;
}

int cli_sieve_put(int argc, char **argv)
{
	struct sieve_admin a;
	struct str text = STR_INIT;
	int ret = sieve_admin_begin(&a, &cmd_put, argc, argv, put_read, &text);
	if (ret == 0 && store_sieve_put(a.store, a.args[0], text.data, text.len) < 0)
		ret = sieve_admin_store_error(&a);
	str_free(&text);
	return sieve_admin_end(&a, ret);
}

/* ---- list, show ---- */

int cli_sieve_list(int argc, char **argv)
{
	struct sieve_admin a;
	int ret = sieve_admin_begin(&a, &cmd_list, argc, argv, NULL, NULL);
	struct store_sieve_info *infos;
	size_t count;
	if (ret == 0) {
		if (store_sieve_list(a.store, &infos, &count) < 0) {
			ret = sieve_admin_store_error(&a);
		} else {
			for (size_t i = 0; i < count; i++)
				printf("%s\t%llu%s\n", infos[i].name,
				       (unsigned long long)infos[i].size,
				       infos[i].active ? "\tactive" : "");
			free(infos);
		}
	}
	return sieve_admin_end(&a, ret);
}

int cli_sieve_show(int argc, char **argv)
{
	struct sieve_admin a;
	int ret = sieve_admin_begin(&a, &cmd_show, argc, argv, NULL, NULL);
	struct str text = STR_INIT;
	if (ret == 0) {
		if (store_sieve_get(a.store, a.args[0], &text, NULL) < 0)
			ret = sieve_admin_store_error(&a);
		else if (text.len > 0 && fwrite(text.data, 1, text.len, stdout) != text.len)
			ret = EX_IOERR;
	}
	str_free(&text);
	return sieve_admin_end(&a, ret);
}

/* ---- activate, deactivate, delete ---- */

int cli_sieve_activate(int argc, char **argv)
{
	struct sieve_admin a;
	int ret = sieve_admin_begin(&a, &cmd_activate, argc, argv, NULL, NULL);
	if (ret == 0 && store_sieve_activate(a.store, a.args[0]) < 0)
		ret = sieve_admin_store_error(&a);
	return sieve_admin_end(&a, ret);
}

int cli_sieve_deactivate(int argc, char **argv)
{
	struct sieve_admin a;
	int ret = sieve_admin_begin(&a, &cmd_deactivate, argc, argv, NULL, NULL);
	if (ret == 0 && store_sieve_activate(a.store, NULL) < 0)
		ret = sieve_admin_store_error(&a);
	return sieve_admin_end(&a, ret);
}

int cli_sieve_delete(int argc, char **argv)
{
	struct sieve_admin a;
	int ret = sieve_admin_begin(&a, &cmd_delete, argc, argv, NULL, NULL);
	if (ret == 0 && store_sieve_delete(a.store, a.args[0]) < 0)
		ret = sieve_admin_store_error(&a);
	return sieve_admin_end(&a, ret);
}
