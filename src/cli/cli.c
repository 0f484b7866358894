/* cli.c: what the `roost` subcommands share. */
#include "cli.h"
#include "conf/conf.h"

#include <stdio.h>
#include <stdlib.h>
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
