/* cmd-sieve.c: `roost sieve`, the Sieve scripts of users.
 *
 * One function per subcommand, listed in the table at the end; main
 * dispatches by name.  "test" runs a script file over a message file and
 * prints the actions (sieve_result_describe()); it never delivers, and
 * with -u it only reads the user's mailbox list. */
#include "cli.h"
#include "base/pool.h"
#include "conf/conf.h"
#include "cmd-sieve-admin.h"
#include "sieve/sieve.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static int read_file(const char *path, struct str *dest)
{
	FILE *f = fopen(path, "rb");
	char buf[8192];
	size_t n;

	if (f == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		str_append_n(dest, buf, n);
	bool failed = ferror(f) != 0;
	fclose(f);
	if (dest->data == NULL)
		str_append(dest, "");
	return failed ? -1 : 0;
}

void cli_sieve_limits(const struct roost_config *config, struct sieve_limits *limits_r)
{
	sieve_limits_default(limits_r);
	limits_r->max_script_size = config->sieve_max_script_size;
	limits_r->max_nesting = config->sieve_max_nesting;
	limits_r->max_actions = config->sieve_max_actions;
	limits_r->max_redirects = config->sieve_max_redirects;
	limits_r->max_variable_size = config->sieve_max_variable_size;
	limits_r->max_include_depth = config->sieve_max_include_depth;
	limits_r->max_cpu_ms = config->sieve_max_cpu_time;
}

/* -u USER: the user's mailboxes answer mailboxexists (RFC 5490),
 * mailboxidexists (RFC 9042) and specialuse_exists (RFC 8579). */
struct test_user {
	struct store *store;
	struct store_mailbox_info *infos;
	size_t count;
};

static const struct store_mailbox_info *user_mailbox(const struct test_user *u, const char *name)
{
	for (size_t i = 0; i < u->count; i++) {
		const char *n = u->infos[i].name;
		if (u->infos[i].exists && (strcmp(n, name) == 0 ||
		    (str_eq_icase(n, "INBOX") && str_eq_icase(name, "INBOX"))))
			return &u->infos[i];
	}
	return NULL;
}

static int user_mailbox_exists(void *ctx, const char *name)
{
	return user_mailbox(ctx, name) != NULL ? 1 : 0;
}

static int user_mailbox_id(void *ctx, const char *name, struct pool *pool, const char **id_r)
{
	struct test_user *u = ctx;
	const struct store_mailbox_info *info = user_mailbox(u, name);
	struct store_status st;

	if (info == NULL)
		return 0;
	if (store_mailbox_status(u->store, info->name, &st) < 0)
		return -1;
	*id_r = p_strdup(pool, st.mailboxid);
	return 1;
}

static int user_mailbox_id_exists(void *ctx, const char *id)
{
	struct test_user *u = ctx;
	struct store_status st;

	for (size_t i = 0; i < u->count; i++) {
		if (u->infos[i].exists && store_mailbox_status(u->store, u->infos[i].name, &st) == 0 &&
		    strcmp(st.mailboxid, id) == 0)
			return 1;
	}
	return 0;
}

static int user_special_use(void *ctx, const char *use, struct pool *pool, const char **name_r)
{
	/* in the bit order of enum store_special_use */
	static const char *const uses[] = {
		"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
	};
	struct test_user *u = ctx;

	for (size_t b = 0; b < N_ELEMENTS(uses); b++) {
		if (!str_eq_icase(use, uses[b]))
			continue;
		for (size_t i = 0; i < u->count; i++) {
			if (u->infos[i].exists && (u->infos[i].special_use & (1u << b)) != 0) {
				if (name_r != NULL)
					*name_r = p_strdup(pool, u->infos[i].name);
				return 1;
			}
		}
	}
	return 0;
}

/* Opens USER's store and lists its mailboxes; returns 0 or an exit code
 * with the error printed. */
static int test_user_open(const struct roost_config *config, const char *name,
			  struct test_user *u)
{
	struct store_settings set;
	const char *error;
	int ret = cli_switch_user(config, "sieve");

	if (ret != 0)
		return ret;
	char *user = cli_user_name(config, name, "sieve", &ret);
	if (user == NULL)
		return ret;
	store_settings_init(&set, config);
	if (store_open(&set, user, &u->store, &error) < 0) {
		fprintf(stderr, "roost sieve: %s: %s\n", user, error);
		free(user);
		return EX_IOERR;
	}
	free(user);
	if (store_mailbox_list(u->store, &u->infos, &u->count) < 0) {
		fprintf(stderr, "roost sieve: %s: %s\n", name, store_last_error(u->store, NULL));
		store_close(&u->store);
		return EX_IOERR;
	}
	return 0;
}

static void sieve_test_usage(FILE *out)
{
	fprintf(out,
		"usage: roost sieve test [-c FILE] [-u USER] [-f SENDER] [-r RECIPIENT] SCRIPT MESSAGE\n"
		"\n"
		"Compiles the Sieve script in the file SCRIPT and runs it over the message\n"
		"in the file MESSAGE, printing the actions it would take, one per line\n"
		"(\"fileinto \\\"Junk\\\" :flags \\\\Seen\", \"keep (implicit)\", ...).\n"
		"Nothing is delivered or sent.  Compile errors are printed as\n"
		"\"line N: ...\" and the exit code is 65; a run-time error is printed as\n"
		"\"error: line N: ...\" followed by the implicit keep it falls back to.\n"
		"The limits (sieve_max_*) and the subaddress separator\n"
		"(recipient_delimiter) come from the config file.\n"
		"\n"
		"  -c, --config FILE  config file (default " CLI_DEFAULT_CONFIG
		" if it exists)\n"
		"  -u USER       the user whose mailboxes the mailboxexists,\n"
		"                mailboxidexists and specialuse_exists tests see\n"
		"                (read only; as root, run as the config's `user`)\n"
		"  -f SENDER     envelope sender (MAIL FROM; \"\" for <>)\n"
		"  -r RECIPIENT  envelope recipient (RCPT TO)\n");
}

/* Compiles and runs the script, printing the result; returns the exit
 * code. */
static int sieve_test_run(const struct roost_config *config, struct test_user *tu,
			  const char *name, const struct str *script_text,
			  const struct sieve_message *msg)
{
	struct sieve_limits limits;
	struct str errors = STR_INIT, out = STR_INIT;

	cli_sieve_limits(config, &limits);
	struct sieve_script *script = sieve_compile(name, script_text->data, script_text->len,
						    &limits, &errors);
	if (script == NULL) {
		fprintf(stderr, "%s", str_c(&errors));
		str_free(&errors);
		return EX_DATAERR;
	}
	struct sieve_env env = {
		.subaddress_delimiter = config->recipient_delimiter,
	};
	if (tu != NULL) {
		env.ctx = tu;
		env.mailbox_exists = user_mailbox_exists;
		env.mailbox_id = user_mailbox_id;
		env.mailbox_id_exists = user_mailbox_id_exists;
		env.special_use = user_special_use;
	}
	struct sieve_result result;
	(void)sieve_execute(script, msg, &env, &limits, &result);
	sieve_result_describe(&result, &out);
	fputs(str_c(&out) != NULL ? str_c(&out) : "", stdout);
	str_free(&out);
	sieve_result_free(&result);
	sieve_script_free(&script);
	str_free(&errors);
	return 0;
}

static int cli_sieve_test(int argc, char **argv)
{
	const char *from = NULL, *to = NULL, *config_path = NULL, *user = NULL;
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:u:f:r:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 'u': user = optarg; break;
		case 'f': from = optarg; break;
		case 'r': to = optarg; break;
		case 'h': sieve_test_usage(stdout); return 0;
		default: sieve_test_usage(stderr); return EX_USAGE;
		}
	}
	if (argc - optind != 2) {
		sieve_test_usage(stderr);
		return EX_USAGE;
	}
	/* the files first: -u may switch to the server's user */
	struct str script_text = STR_INIT, msg_text = STR_INIT;
	if (read_file(argv[optind], &script_text) < 0 ||
	    read_file(argv[optind + 1], &msg_text) < 0) {
		fprintf(stderr, "roost sieve: %s: %s\n",
			script_text.data == NULL ? argv[optind] : argv[optind + 1], strerror(errno));
		str_free(&script_text);
		str_free(&msg_text);
		return EX_NOINPUT;
	}
	int ret = EX_CONFIG;
	struct test_user tu = { .store = NULL };
	struct roost_config *config = cli_config_load(config_path, "sieve");
	if (config != NULL)
		ret = user != NULL ? test_user_open(config, user, &tu) : 0;
	if (ret == 0) {
		struct sieve_message msg = {
			.data = msg_text.data,
			.size = msg_text.len,
			.envelope_from = from,
			.envelope_to = to,
		};
		ret = sieve_test_run(config, tu.store != NULL ? &tu : NULL, argv[optind],
				     &script_text, &msg);
	}
	if (tu.store != NULL) {
		free(tu.infos);
		store_close(&tu.store);
	}
	if (config != NULL)
		config_free(&config);
	str_free(&script_text);
	str_free(&msg_text);
	return ret;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} sieve_subcommands[] = {
	{ "test", cli_sieve_test },
	{ "put", cli_sieve_put },
	{ "list", cli_sieve_list },
	{ "activate", cli_sieve_activate },
	{ "deactivate", cli_sieve_deactivate },
	{ "show", cli_sieve_show },
	{ "delete", cli_sieve_delete },
};

static void cli_sieve_usage(FILE *out)
{
	fprintf(out, "usage: roost sieve SUBCOMMAND [ARGS]\n\nsubcommands:\n"
		"  test        run a script over a message and print its actions\n"
		"  put         compile a script and store it as one of a user's scripts\n"
		"  list        list a user's scripts\n"
		"  activate    make one of a user's scripts the active one\n"
		"  deactivate  leave a user without an active script\n"
		"  show        print one of a user's scripts\n"
		"  delete      delete one of a user's scripts\n"
		"\n`roost sieve SUBCOMMAND --help` describes each one.\n");
}

int cli_sieve_main(int argc, char **argv)
{
	if (argc < 2) {
		cli_sieve_usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		cli_sieve_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < N_ELEMENTS(sieve_subcommands); i++) {
		if (strcmp(argv[1], sieve_subcommands[i].name) == 0)
			return sieve_subcommands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "roost sieve: unknown subcommand '%s'\n", argv[1]);
	cli_sieve_usage(stderr);
	return EX_USAGE;
}
