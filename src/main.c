/* main.c: the `roost` command: dispatches to the subcommands in src/cli. */
#include "base/base.h"
#include "base/fault.h"
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#define ROOST_VERSION "0.1.0"

static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *summary;
} subcommands[] = {
	{ "serve", cli_serve_main, "run the IMAP, LMTP and ManageSieve server" },
	{ "user", cli_user_main, "add, change, delete (--purge: with their mail), list or export users" },
	{ "check", cli_check_main, "bring a user's index up to date, or rebuild it" },
	{ "deliver", cli_deliver_main, "deliver a message from stdin to a user (LDA)" },
	{ "import", cli_import_main, "import mail from mbox files or Maildir (Dovecot, Courier)" },
	{ "export", cli_export_main, "export a user's mail to mbox files or a Maildir" },
	{ "sieve", cli_sieve_main, "Sieve scripts: store, list, activate, show, delete, test" },
	{ "backup", cli_backup_main, "copy users' mail stores consistently while the server runs" },
	{ "restore", cli_restore_main, "put back users' stores from a backup" },
	{ "mailbox", cli_mailbox_main, "list, show the status of, create or delete a user's mailboxes" },
	{ "search", cli_search_main, "UIDs of a mailbox's messages matching an IMAP SEARCH query" },
	{ "expunge", cli_expunge_main, "expunge a mailbox's messages matching an IMAP SEARCH query" },
	{ "fetch", cli_fetch_main, "show fields of the messages matching a query (support cases)" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: roost COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < N_ELEMENTS(subcommands); i++)
		fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(out, "\n`roost COMMAND --help` describes each command.\n");
}

int main(int argc, char **argv)
{
	const char *error;

	/* failures that a test asked for (base/fault.h); none otherwise */
	if (fault_init_env(&error) < 0) {
		fprintf(stderr, "roost: %s\n", error);
		return EX_USAGE;
	}
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("roost " ROOST_VERSION "\n");
		return 0;
	}
	for (size_t i = 0; i < N_ELEMENTS(subcommands); i++) {
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return subcommands[i].main(argc - 1, argv + 1);
	}
	fprintf(stderr, "roost: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EX_USAGE;
}
