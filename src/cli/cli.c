/* cli.c: what the `roost` subcommands share. */
#include "cli.h"
#include "conf/conf.h"
#include "net/privs.h"

#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>
#include <unistd.h>

struct roost_config *cli_config_load(const char *path, const char *subcommand)
{
	char *error = NULL;
	if (path == NULL && access(CLI_DEFAULT_CONFIG, F_OK) == 0)
		path = CLI_DEFAULT_CONFIG;
	struct roost_config *config = config_load(path, &error);
	if (config == NULL) {
		fprintf(stderr, "roost %s: %s\n", subcommand, error);
		free(error);
	}
	return config;
}

int cli_switch_user(const struct roost_config *config, const char *subcommand)
{
	struct privs privs;
	char *error = NULL;
	if (privs_lookup(config->user, &privs, &error) < 0) {
		fprintf(stderr, "roost %s: %s; as root, this command runs as the server's "
			"user so that the files it writes stay the server's\n", subcommand, error);
		free(error);
		return EX_CONFIG;
	}
	int ret = 0;
	if (privs_drop(&privs, &error) < 0) {
		fprintf(stderr, "roost %s: %s\n", subcommand, error);
		free(error);
		ret = EX_OSERR;
	}
	privs_free(&privs);
	return ret;
}
