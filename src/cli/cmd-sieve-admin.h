/* cmd-sieve-admin.h: `roost sieve put|list|activate|deactivate|show|delete`,
 * a user's Sieve scripts from the command line (cmd-sieve.c dispatches).
 *
 * Each takes the arguments after "roost sieve" (argv[0] is the
 * subcommand's name) and returns an exit code from <sysexits.h>: 0,
 * EX_USAGE (bad arguments), EX_CONFIG (bad config file, or its `user`
 * does not exist), EX_NOUSER (no such user), EX_NOINPUT (the script file
 * or the script cannot be found), EX_DATAERR (the script does not
 * compile: its errors are printed; an invalid name; deleting the active
 * script), EX_IOERR (the store failed).  Started as root they run as the
 * config's `user` (cli_switch_user()) once the script file is read, so
 * the files they write belong to the server.  The ManageSieve quota does
 * not apply to the administrator. */
#ifndef ROOST_CLI_CMD_SIEVE_ADMIN_H
#define ROOST_CLI_CMD_SIEVE_ADMIN_H

struct roost_config;
struct sieve_limits;
/* The sieve_max_* keys of roost.conf as the interpreter's limits
 * (cmd-sieve.c; the same as sieve_run_limits() of sieve/run.h). */
void cli_sieve_limits(const struct roost_config *config, struct sieve_limits *limits_r);

/* roost sieve put [-c FILE] -u USER NAME FILE ("-": stdin) */
int cli_sieve_put(int argc, char **argv);
/* roost sieve list [-c FILE] -u USER: "NAME<TAB>SIZE[<TAB>active]" lines */
int cli_sieve_list(int argc, char **argv);
/* roost sieve activate [-c FILE] -u USER NAME */
int cli_sieve_activate(int argc, char **argv);
/* roost sieve deactivate [-c FILE] -u USER */
int cli_sieve_deactivate(int argc, char **argv);
/* roost sieve show [-c FILE] -u USER NAME: the script on stdout */
int cli_sieve_show(int argc, char **argv);
/* roost sieve delete [-c FILE] -u USER NAME */
int cli_sieve_delete(int argc, char **argv);

#endif
