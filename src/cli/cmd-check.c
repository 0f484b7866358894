/* cmd-check.c: `roost check`, store consistency and index rebuild. */
#include "cli.h"
#include "conf/conf.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static void cli_check_usage(FILE *out)
{
	fprintf(out,
		"usage: roost check [-c FILE] [--rebuild] USER...\n"
		"\n"
		"Opens each user's mail store and brings every mailbox's index up to date\n"
		"with its Maildir (mail dropped into new/ by other programs is indexed),\n"
		"printing one line per mailbox: name, messages, UIDVALIDITY, UIDNEXT.\n"
		"Started as root, it runs as the config's `user` (the server's).\n"
		"First it lists, one \"USER<TAB>MAILBOX<TAB>problem: ...\" line each, every\n"
		"disagreement between the index and the Maildir: files in cur/ without an\n"
		"index row (left by a crash), index rows without a file, UIDs carried by\n"
		"two files, file names whose UID is not the index's, UIDs at or above\n"
		"UIDNEXT, a transaction that died half-way, and roost-uidlist values that\n"
		"disagree.  Opening the mailbox then adopts files without a row as new\n"
		"messages (with the UID their name carries when it is still free and not\n"
		"below UIDNEXT, else a new one), as the server does.  Exits 65 when it\n"
		"listed a problem.\n"
		"\n"
		"  -c, --config FILE  config file (default " CLI_DEFAULT_CONFIG
		" if it exists)\n"
		"  --rebuild          first rebuild the index from the Maildir, keeping\n"
		"                     UIDs, UIDVALIDITY, flags and keywords; files\n"
		"                     without a UID (another program's) get new ones in\n"
		"                     delivery order (file name order, the time as a\n"
		"                     number), and every message is parsed once, so\n"
		"                     FETCH, SORT and SEARCH then answer from the index\n"
		"                     without opening it again.  Refused,\n"
		"                     changing nothing, while any process has the\n"
		"                     user's store open (IMAP sessions, LMTP sessions\n"
		"                     of a worker that delivered to the user, roost\n"
		"                     deliver): log the user out or stop the server\n"
		"                     first.  While it runs, the user's logins answer\n"
		"                     NO [UNAVAILABLE] and deliveries are deferred.\n"
		"  -h, --help         this text\n");
}

struct check_report_ctx {
	const char *user, *mailbox;
};

static void check_report(void *context, const char *problem)
{
	const struct check_report_ctx *ctx = context;

	printf("%s\t%s\tproblem: %s\n", ctx->user, ctx->mailbox, problem);
}

static int cli_check_user(const struct roost_config *config, const char *user, bool rebuild)
{
	struct store_settings set;
	const char *error;
	store_settings_init(&set, config);
	if (rebuild && store_rebuild(&set, user, &error) < 0) {
		fprintf(stderr, "roost check: %s: rebuild failed: %s\n", user, error);
		return EX_IOERR;
	}
	struct store *store;
	if (store_open(&set, user, &store, &error) < 0) {
		fprintf(stderr, "roost check: %s: %s\n", user, error);
		return EX_IOERR;
	}
	struct store_mailbox_info *infos;
	size_t count;
	int ret = 0;
	enum store_error err;
	if (store_mailbox_list(store, &infos, &count) < 0) {
		fprintf(stderr, "roost check: %s: %s\n", user, store_last_error(store, &err));
		store_close(&store);
		return EX_IOERR;
	}
	for (size_t i = 0; i < count; i++) {
		if (!infos[i].exists)
			continue;
		struct store_mailbox *box = NULL;
		struct check_report_ctx rctx = { .user = user, .mailbox = infos[i].name };
		int problems = store_mailbox_check(store, infos[i].name, check_report, &rctx);
		if (problems < 0) {
			fprintf(stderr, "roost check: %s: %s: %s\n", user, infos[i].name,
				store_last_error(store, &err));
			ret = EX_IOERR;
			continue;
		}
		if (problems > 0 && ret == 0)
			ret = EX_DATAERR;
		if (store_mailbox_open(store, infos[i].name, true, &box) < 0 ||
		    store_mailbox_sync(box, 0, NULL, NULL) < 0) {
			fprintf(stderr, "roost check: %s: %s: %s\n", user, infos[i].name,
				store_last_error(store, &err));
			ret = EX_IOERR;
			if (box != NULL)
				store_mailbox_close(&box);
			continue;
		}
		printf("%s\t%s\tmessages=%u uidvalidity=%u uidnext=%u\n", user,
		       infos[i].name, store_mailbox_count(box),
		       store_mailbox_uidvalidity(box), store_mailbox_uidnext(box));
		store_mailbox_close(&box);
	}
	free(infos);
	store_close(&store);
	return ret;
}

int cli_check_main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool rebuild = false;
	int first_user = argc;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if ((strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) && i + 1 < argc) {
			config_path = argv[++i];
		} else if (strcmp(arg, "--rebuild") == 0) {
			rebuild = true;
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			cli_check_usage(stdout);
			return 0;
		} else if (arg[0] == '-') {
			fprintf(stderr, "roost check: unknown option '%s'\n", arg);
			cli_check_usage(stderr);
			return EX_USAGE;
		} else {
			first_user = i;
			break;
		}
	}
	if (first_user >= argc) {
		cli_check_usage(stderr);
		return EX_USAGE;
	}
	struct roost_config *config = cli_config_load(config_path, "check");
	if (config == NULL)
		return EX_CONFIG;
	int ret = cli_switch_user(config, "check");
	if (ret != 0) {
		config_free(&config);
		return ret;
	}
	for (int i = first_user; i < argc; i++) {
		int r = 0;
		char *user = cli_user_name(config, argv[i], "check", &r);
		if (user != NULL)
			r = cli_check_user(config, user, rebuild);
		free(user);
		if (r != 0)
			ret = r;
	}
	config_free(&config);
	return ret;
}
