/* main.c: the `roost` command and its subcommands. */
#include "base/base.h"
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		printf("usage: roost COMMAND [ARGS]\n");
		return argc < 2 ? 64 : 0;
	}
	return 0;
}
