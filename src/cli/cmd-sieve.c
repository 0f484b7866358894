/* cmd-sieve.c: `roost sieve`, the Sieve scripts of users.
 *
 * One function per subcommand, listed in the table at the end; main
 * dispatches by name.  "test" runs a script file over a message file and
 * prints the actions (sieve_result_describe()); it never delivers. */
#include "cli.h"
#include "cmd-sieve-admin.h"
#include "sieve/sieve.h"

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

static void sieve_test_usage(FILE *out)
{
	fprintf(out,
		"usage: roost sieve test [-f SENDER] [-r RECIPIENT] SCRIPT MESSAGE\n"
		"\n"
		"Compiles the Sieve script in the file SCRIPT and runs it over the message\n"
		"in the file MESSAGE, printing the actions it would take, one per line\n"
		"(\"fileinto \\\"Junk\\\" :flags \\\\Seen\", \"keep (implicit)\", ...).\n"
		"Nothing is delivered or sent.  Compile errors are printed as\n"
		"\"line N: ...\" and the exit code is 65; a run-time error is printed as\n"
		"\"error: line N: ...\" followed by the implicit keep it falls back to.\n"
		"\n"
		"  -f SENDER     envelope sender (MAIL FROM; \"\" for <>)\n"
		"  -r RECIPIENT  envelope recipient (RCPT TO)\n");
}

static int cli_sieve_test(int argc, char **argv)
{
	const char *from = NULL, *to = NULL;
	int c;

	optind = 1;
	while ((c = getopt(argc, argv, "f:r:h")) != -1) {
		switch (c) {
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
	struct str script_text = STR_INIT, msg_text = STR_INIT, errors = STR_INIT;
	if (read_file(argv[optind], &script_text) < 0 ||
	    read_file(argv[optind + 1], &msg_text) < 0) {
		fprintf(stderr, "roost sieve: %s: %s\n",
			script_text.data == NULL ? argv[optind] : argv[optind + 1], strerror(errno));
		str_free(&script_text);
		str_free(&msg_text);
		return EX_NOINPUT;
	}
	struct sieve_limits limits;
	sieve_limits_default(&limits);
	struct sieve_script *script = sieve_compile(argv[optind], script_text.data,
						    script_text.len, &limits, &errors);
	int ret = 0;
	if (script == NULL) {
		fprintf(stderr, "%s", str_c(&errors));
		ret = EX_DATAERR;
	} else {
		struct sieve_message msg = {
			.data = msg_text.data,
			.size = msg_text.len,
			.envelope_from = from,
			.envelope_to = to,
		};
		struct sieve_env env = { .ctx = NULL };
		struct sieve_result result;
		struct str out = STR_INIT;
		(void)sieve_execute(script, &msg, &env, &limits, &result);
		sieve_result_describe(&result, &out);
		fputs(str_c(&out) != NULL ? str_c(&out) : "", stdout);
		str_free(&out);
		sieve_result_free(&result);
		sieve_script_free(&script);
	}
	str_free(&errors);
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
