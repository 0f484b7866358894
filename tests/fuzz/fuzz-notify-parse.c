/* fuzz-notify-parse.c: libFuzzer target for src/imap/notify-parse.c.
 *
 * The input is a client's byte stream.  Every complete command goes
 * through the IMAP parser (src/syntax/imap-parser.c), which treats a
 * NOTIFY's fetch-atts as FETCH's; its arguments go to
 * imap_notify_parse().  A request that parses must keep the RFC 5465
 * rules the parser promises: at least one group or a selected filter,
 * only message events for the selected mailbox and MessageNew with
 * MessageExpunge everywhere (FlagChange only with both), names only for
 * SUBTREE and MAILBOXES and never none for them, fetch-atts only with
 * a selected filter; an error must say why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/pool.h"
#include "imap/notify-parse.h"
#include "syntax/imap-parser.h"
#include "fuzz-commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_events(unsigned int events)
{
	unsigned int both = IMAP_NOTIFY_MESSAGE_NEW | IMAP_NOTIFY_MESSAGE_EXPUNGE;
	if ((events & both) != 0 && (events & both) != both)
		abort();
	if ((events & IMAP_NOTIFY_FLAG_CHANGE) != 0 && (events & both) != both)
		abort();
}

static void check_spec(const struct imap_notify_spec *spec)
{
	if (spec->group_count == 0 && spec->selected == IMAP_NOTIFY_SELECTED_NONE)
		abort();
	if ((spec->selected_events & ~IMAP_NOTIFY_MESSAGE_EVENTS) != 0)
		abort();
	if (spec->selected == IMAP_NOTIFY_SELECTED_NONE &&
	    (spec->selected_events != 0 || spec->has_fetch))
		abort();
	check_events(spec->selected_events);
	if (spec->has_fetch && spec->fetch.attrs == 0 && spec->fetch.body_count == 0)
		abort();
	for (size_t i = 0; i < spec->group_count; i++) {
		const struct imap_notify_group *g = &spec->groups[i];
		bool named = g->filter == IMAP_NOTIFY_FILTER_SUBTREE ||
			g->filter == IMAP_NOTIFY_FILTER_MAILBOXES;
		if (named != (g->name_count > 0))
			abort();
		for (size_t j = 0; j < g->name_count; j++) {
			if (g->names[j] == NULL)
				abort();
		}
		check_events(g->events);
	}
}

static void run_command(const struct imap_command *cmd, void *ctx)
{
	(void)ctx;
	struct pool *pool = pool_create(1024);
	struct imap_notify_spec *spec;
	const char *error = NULL;
	switch (imap_notify_parse(cmd->args, pool, &spec, &error)) {
	case IMAP_NOTIFY_PARSE_SET:
		check_spec(spec);
		break;
	case IMAP_NOTIFY_PARSE_NONE:
		if (spec != NULL)
			abort();
		break;
	case IMAP_NOTIFY_PARSE_BAD:
		if (error == NULL || error[0] == '\0')
			abort();
		break;
	case IMAP_NOTIFY_PARSE_BADEVENT:
		if (error == NULL || strncmp(error, "[BADEVENT (", 11) != 0)
			abort();
		break;
	}
	pool_destroy(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_commands(data, size, run_command, NULL);
	return 0;
}
