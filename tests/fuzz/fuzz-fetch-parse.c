/* fuzz-fetch-parse.c: libFuzzer target for src/imap/fetch-parse.c.
 *
 * The input is a client's byte stream.  Every complete command goes
 * through the IMAP parser (src/syntax/imap-parser.c); its second argument
 * (after the message set, "UID" skipped as cmd-fetch.c does) goes to
 * fetch_parse_items().  A parse that succeeds must give a well-formed
 * request: every item named for its response, part paths of non-zero
 * numbers, field lists only with HEADER.FIELDS[.NOT] and never empty,
 * BINARY items without a section text, the summary flags matching the
 * items; a failed one must say why with a non-empty error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/pool.h"
#include "syntax/imap-arg.h"
#include "imap/fetch-parse.h"
#include "fuzz-commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_body(const struct fetch_body *b)
{
	if (b->resp_name == NULL || b->resp_name[0] == '\0')
		abort();
	if (b->path_len > 0 && b->path == NULL)
		abort();
	for (unsigned int i = 0; i < b->path_len; i++) {
		if (b->path[i] == 0)
			abort();
	}
	bool fields = b->section == FETCH_SECTION_HEADER_FIELDS ||
		b->section == FETCH_SECTION_HEADER_FIELDS_NOT;
	if (fields != (b->field_count > 0))
		abort();
	for (size_t i = 0; i < b->field_count; i++) {
		if (b->fields[i] == NULL || b->fields[i][0] == '\0')
			abort();
	}
	if (b->section == FETCH_SECTION_MIME && b->path_len == 0)
		abort();
	if (b->kind != FETCH_KIND_BODY && b->section != FETCH_SECTION_ALL)
		abort();
	if (b->kind == FETCH_KIND_BINARY_SIZE && b->partial)
		abort();
}

static void run_command(const struct imap_command *cmd, void *ctx)
{
	const struct imap_arg *args = cmd->args;

	(void)ctx;
	if (strcasecmp(cmd->name, "UID") == 0 && !imap_arg_is_eol(&args[0]))
		args++;
	if (imap_arg_is_eol(&args[0]))
		return;
	args++;		/* the message set */

	struct pool *pool = pool_create(1024);
	struct fetch_items items;
	const char *error = NULL;
	if (fetch_parse_items(args, pool, &items, &error) == 0) {
		bool need_map = false, binary = false;
		if (items.attrs == 0 && items.body_count == 0)
			abort();
		for (size_t i = 0; i < items.body_count; i++) {
			check_body(&items.bodies[i]);
			need_map |= items.bodies[i].path_len > 0;
			binary |= items.bodies[i].kind != FETCH_KIND_BODY;
		}
		if (need_map != items.need_map || binary != items.binary)
			abort();
	} else if (error == NULL || error[0] == '\0') {
		abort();
	}
	pool_destroy(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_commands(data, size, run_command, NULL);
	return 0;
}
