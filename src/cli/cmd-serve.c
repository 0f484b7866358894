/* cmd-serve.c: `roost serve`, the server itself. */
#include "cli.h"
#include "auth/auth.h"
#include "auth/password.h"
#include "base/log.h"
#include "conf/conf.h"
#include "imap/session.h"
#include "lmtp/session.h"
#include "managesieve/session.h"
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

static void cli_serve_usage(FILE *out)
{
	fprintf(out,
		"usage: roost serve [-c FILE] [--foreground] [--workers N]\n"
		"\n"
		"Runs the server with the listeners of the config file; it stays in the\n"
		"foreground and logs to stderr (or syslog with log_syslog = yes).\n"
		"\n"
		"  -c, --config FILE  config file (default " CLI_DEFAULT_CONFIG
		" if it exists,\n"
		"                     else built-in defaults)\n"
		"  --foreground       debugging mode: no supervisor, one worker loop in\n"
		"                     this process (use with --workers 1)\n"
		"  --workers N        number of worker processes (overrides `workers`)\n"
		"  -h, --help         this text\n"
		"\n"
		"SIGTERM or SIGINT stops the server cleanly; SIGHUP reloads the TLS\n"
		"certificate and the user database without dropping connections.\n");
}

int cli_serve_main(int argc, char **argv)
{
	const char *config_path = NULL;
	bool single = false;
	long workers = -1;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if ((strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) && i + 1 < argc) {
			config_path = argv[++i];
		} else if (strcmp(arg, "--foreground") == 0) {
			single = true;
		} else if (strcmp(arg, "--workers") == 0 && i + 1 < argc) {
			uint64_t n;
			if (str_to_u64(argv[++i], 256, &n) < 0 || n == 0) {
				fprintf(stderr, "roost serve: --workers needs a number from 1 to 256\n");
				return EX_USAGE;
			}
			workers = (long)n;
		} else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			cli_serve_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "roost serve: unknown argument '%s'\n", arg);
			cli_serve_usage(stderr);
			return EX_USAGE;
		}
	}
	struct roost_config *config = cli_config_load(config_path, "serve");
	if (config == NULL)
		return EX_CONFIG;
	if (workers > 0)
		config->workers = (unsigned int)workers;
	char *auth_error = NULL;
	if (auth_config_check(config, &auth_error) < 0) {
		fprintf(stderr, "roost serve: %s\n", auth_error);
		free(auth_error);
		config_free(&config);
		return EX_CONFIG;
	}
	enum log_level level;
	if (log_level_parse(config->log_level, &level) < 0) {
		fprintf(stderr, "roost serve: log_level must be error, warning, info or debug\n");
		config_free(&config);
		return EX_CONFIG;
	}
	log_init("roost", config->log_syslog, level);
	/* a user database the workers cannot read fails every login: say so
	 * now, with what to fix, rather than at the first LOGIN */
	char *error = NULL;
	int readable = cli_userdb_check(config, &error);
	if (readable < 0) {
		log_error("%s", error);
		free(error);
		config_free(&config);
		return EX_CONFIG;
	}
	if (readable == 0)
		log_warning("no user database at %s yet: add users with `roost user add`",
			    config->passwd_file);
	/* before the workers are forked: they share the failed-login counts */
	auth_shared_init();
	/* and the SCRAM salts of unknown and {PLAIN} users (password.h) */
	password_salt_secret_init();
	const struct net_protocol list[] = { imap_protocol, lmtp_protocol, managesieve_protocol,
					     { .name = NULL } };
	int ret = net_serve(config, list, single);
	config_free(&config);
	return ret;
}
