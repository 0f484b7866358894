/* cli.h: the `roost` admin subcommands, one cmd-*.c file each.
 *
 * Each entry point takes the arguments after "roost": argv[0] is the
 * subcommand's name ("user"), as main() passes (argc - 1, argv + 1).  It
 * prints its own errors to stderr, prefixed with "roost SUBCOMMAND", and
 * returns a process exit code from <sysexits.h> (0 on success).  They run
 * in the admin's process, never in the server, and may block. */
#ifndef ROOST_CLI_H
#define ROOST_CLI_H

/* `roost user add|passwd|del|list [-c FILE] [--scheme SCHEME] [NAME]`:
 * edits the user database (config's `userdb`) atomically, so it is safe
 * while the server runs (which re-reads the file by itself).  Passwords
 * are read from the terminal without echo (asked twice) when stdin is a
 * tty, else as one line from stdin.  Exit codes: EX_USAGE (bad arguments),
 * EX_CONFIG (bad config file), EX_DATAERR (invalid name or password, user
 * already exists, passwords differ), EX_NOUSER (no such user),
 * EX_NOINPUT (no user database to list), EX_NOPERM (not allowed to read
 * or write it), EX_IOERR (read/write failed).  As root, `add` creates a
 * missing file root:<config user's group> 0640 so that the server's
 * workers can read it, and every edit warns when they cannot. */
int cli_user_main(int argc, char **argv);

/* `roost serve [-c FILE] [--foreground] [--workers N]`: runs the server
 * (see net_serve()).  Returns 0 after a clean stop, EX_CONFIG for a bad
 * config, EX_OSERR/EX_UNAVAILABLE when listeners or TLS cannot be set up. */
int cli_serve_main(int argc, char **argv);

/* `roost check [-c FILE] [--rebuild] USER...`: opens each user's store
 * and syncs every mailbox (picking up mail dropped into the Maildir);
 * with --rebuild, rebuilds the index from the Maildir first, keeping UIDs,
 * flags and keywords.  Started as root, it runs as the config's `user`
 * (cli_switch_user).  EX_NOUSER when the user is unknown to the user
 * database, EX_SOFTWARE/EX_IOERR when the store fails, EX_CONFIG when the
 * config's `user` does not exist. */
int cli_check_main(int argc, char **argv);

/* `roost deliver [-c FILE] -u USER [-f SENDER] [-m MAILBOX] < MESSAGE`:
 * the local delivery agent (see lmtp/deliver.h).  Started as root, it
 * runs as the config's `user` (cli_switch_user).  Exit codes: 0 when
 * the message is on disk, EX_USAGE, EX_CONFIG, EX_NOUSER (unknown user
 * or domain), EX_DATAERR (over lmtp_max_message_size), EX_IOERR (stdin
 * unreadable), EX_TEMPFAIL (store or user database failure: the MTA
 * retries). */
int cli_deliver_main(int argc, char **argv);

/* `roost sieve SUBCOMMAND ...`: Sieve scripts.  `roost sieve test [-c
 * FILE] [-f SENDER] [-r RECIPIENT] SCRIPT MESSAGE` compiles SCRIPT with
 * the config's sieve_max_* limits, runs it over MESSAGE and prints the
 * actions (sieve_result_describe()); nothing is delivered.  Exit codes:
 * 0 (also after a run-time error, which is printed), EX_USAGE,
 * EX_CONFIG, EX_NOINPUT (a file unreadable), EX_DATAERR (the script
 * does not compile: the errors go to stderr). */
int cli_sieve_main(int argc, char **argv);

/* `roost import [-c FILE] [--folder NAME] [--mbox-format mboxrd|mboxo]
 * USER SOURCE`: imports an mbox file, a directory of mbox files or a
 * Maildir++ tree (Dovecot's, Courier's) into USER's store, incremental
 * and safe to re-run (cmd-import.c).  Started as root, it runs as the
 * config's `user` (cli_switch_user).  Exit codes: 0, EX_USAGE,
 * EX_CONFIG, EX_NOUSER, EX_NOINPUT (SOURCE unreadable), EX_DATAERR
 * (some messages or folders failed, reported on stderr), EX_IOERR (the
 * store failed; the import stopped). */
int cli_import_main(int argc, char **argv);

/* `roost export [-c FILE] [--format mbox|maildir] USER DEST`: writes
 * every mailbox of USER to DEST, which must not exist or be an empty
 * directory: an mbox file per mailbox (mboxrd) or a Maildir++ tree with
 * Dovecot's dovecot-uidlist and dovecot-keywords, either of which
 * `roost import` reads back to the same mailboxes, flags, keywords and
 * INTERNALDATEs (cmd-export.c).  Exit codes: 0, EX_USAGE, EX_CONFIG,
 * EX_NOUSER, EX_CANTCREAT (DEST exists and is not empty, or cannot be
 * written), EX_IOERR (the store failed), EX_DATAERR (some mailboxes
 * could not be written, reported on stderr). */
int cli_export_main(int argc, char **argv);
/* `roost backup [-c FILE] DEST [USER...]`: a consistent copy of the
 * stores of the named users (or of every user of the user database that
 * has one) into the new or empty directory DEST, while the server runs
 * (store_backup()), with a manifest written last.  `roost restore [-c
 * FILE] [--force] SRC [USER...]` puts them back (store_restore()).  See
 * their --help for the exit codes. */
int cli_backup_main(int argc, char **argv);
int cli_restore_main(int argc, char **argv);

/* doveadm's everyday jobs, through the store (cmd-admin.c), beside a
 * running server: `roost mailbox list|status|create|delete [-c FILE]
 * USER [NAME...]`, `roost search|expunge [-c FILE] USER MAILBOX
 * QUERY...` (QUERY in the IMAP SEARCH syntax; prints the UIDs, or the
 * number expunged) and `roost fetch [-c FILE] USER MAILBOX QUERY
 * FIELDS`.  Started as root, they run as the config's `user`.  Exit
 * codes: EX_USAGE (also a bad query), EX_NOUSER, EX_NOINPUT (no such
 * mailbox, no store yet), EX_DATAERR (refused: exists, INBOX, bad
 * name), EX_IOERR (store failure), EX_CONFIG. */
int cli_mailbox_main(int argc, char **argv);
int cli_search_main(int argc, char **argv);
int cli_expunge_main(int argc, char **argv);
int cli_fetch_main(int argc, char **argv);

/* `roost user export [-c FILE] USER DEST` (reached through `roost
 * user`): all of USER's data in the new gzip'd tar file DEST
 * (cmd-user-export.c says what is in it).  Exit codes: EX_USAGE,
 * EX_NOUSER, EX_NOINPUT (no store), EX_CANTCREAT (DEST exists),
 * EX_IOERR, EX_CONFIG.  argv[0] is "export". */
int cli_user_export_main(int argc, char **argv);

/* The config file a subcommand uses: `path` when given, else
 * /etc/roost/roost.conf if it exists, else the built-in defaults.  Prints
 * the error (prefixed with "roost SUBCOMMAND") and returns NULL on
 * failure. */
struct roost_config;
struct roost_config *cli_config_load(const char *path, const char *subcommand);

/* For the subcommands that create or change files the server uses (mail
 * data, the index): when running as root, switches this process for good
 * to config->user, the user the server's workers run as, so that every
 * file it creates is theirs.  Does nothing when not root or when `user`
 * is empty.  Returns 0, or prints the error (prefixed with "roost
 * SUBCOMMAND") and returns EX_CONFIG when that user does not exist or
 * EX_OSERR when the switch fails. */
int cli_switch_user(const struct roost_config *config, const char *subcommand);

/* Whether the server's workers can read the user database
 * (config->userdb): reads it in a child process that switched to
 * config->user as cli_switch_user() does (or, when not root, as this
 * user).  Returns 1 if it can, 0 if the file does not exist, -1 with
 * *error_r (allocated: the path, the owner and mode, the user that needs
 * to read it and a command that fixes it) if it cannot. */
int cli_userdb_check(const struct roost_config *config, char **error_r);

/* The store of user `name` is that of its canonical name, the one the
 * server opens it with: the normalised form (passwd_file_user_normalize())
 * for a passwd-file, the account a mail address or alias maps to in LDAP:
 * "roost check Bob" must not create or rebuild a store "Bob" that no
 * session uses, nor a store for a name that is no user.  Looks the name
 * up in the whole chain of `userdb`.  Returns the canonical name
 * (xmalloc'd), or NULL with the error printed (prefixed with "roost
 * SUBCOMMAND") and *exit_r set (EX_NOUSER when no source knows the user,
 * EX_NOINPUT when a source cannot answer, EX_CONFIG when the chain's
 * settings are invalid). */
char *cli_user_name(const struct roost_config *config, const char *name,
		    const char *subcommand, int *exit_r);

#define CLI_DEFAULT_CONFIG "/etc/roost/roost.conf"

#endif
