/* fuzz-commands.h: the client byte stream of the command-level fuzz
 * targets (fuzz-search-parse, fuzz-fetch-parse). */
#ifndef ROOST_FUZZ_COMMANDS_H
#define ROOST_FUZZ_COMMANDS_H

#include <stddef.h>
#include <stdint.h>

struct imap_command;

/* Feeds data[0..size-1] to an IMAP parser with small limits and calls
 * run(cmd, ctx) for every complete command.  A synchronising literal's
 * "+" is taken as sent (feeding simply goes on); parsing stops when the
 * parser must close the connection. */
void fuzz_commands(const uint8_t *data, size_t size,
		   void (*run)(const struct imap_command *cmd, void *ctx), void *ctx);

#endif
