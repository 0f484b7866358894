/* fuzz-fetch-parse.c: libFuzzer target for src/imap/fetch-parse.c.
 *
 * The input is a client's byte stream.  Every complete command goes
 * through the IMAP parser (src/syntax/imap-parser.c); its second argument
 * (after the message set, "UID" skipped as cmd-fetch.c does) goes to
 * fetch_parse_items().  A parse that succeeds must give a well-formed
 * request: every item named for its response, part paths of non-zero
 * numbers, field lists only with HEADER.FIELDS[.NOT] and never empty,
 * BINARY items without a section text, the summary flags matching the
 * items; a failed one must say why with a non-empty error.  A third
 * argument goes to fetch_parse_modifiers() (PARTIAL, RFC 9394; CHANGEDSINCE
 * and VANISHED, RFC 7162): a parse must have found a modifier, a
 * CHANGEDSINCE is 1 to 2^63-1, a parsed PARTIAL range must be well formed, and applying it to a set must keep
 * a subset of the set's members, exactly as many as the window holds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/pool.h"
#include "syntax/imap-arg.h"
#include "syntax/seqset.h"
#include "syntax/partial-range.h"
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

static void check_modifiers(const struct imap_arg *arg)
{
	struct fetch_modifiers mods;
	const char *error = NULL;

	if (fetch_parse_modifiers(arg, &mods, &error) < 0) {
		if (error == NULL || error[0] == '\0')
			abort();
		return;
	}
	/* the list was not empty, so some modifier was parsed */
	if (!mods.partial && mods.changedsince == 0 && !mods.vanished)
		abort();
	if (mods.changedsince > INT64_MAX)
		abort();	/* mod-sequence-value is at most 2^63-1 */
	if (!mods.partial)
		return;
	const struct partial_range *r = &mods.partial_range;
	if (r->lo == 0 || r->lo > r->hi)
		abort();
	/* a fixed set of 60 members in three ranges */
	struct seqset set = SEQSET_INIT;
	seqset_add_range(&set, 3, 22);
	seqset_add_range(&set, 100, 119);
	seqset_add_range(&set, UINT32_MAX - 19, UINT32_MAX);
	uint32_t start, end, want = 0;
	if (partial_range_select(r, 60, &start, &end))
		want = end - start;
	partial_range_apply(r, &set);
	uint64_t members = 0;
	for (unsigned int i = 0; i < set.count; i++) {
		const struct seqset_range *x = &set.ranges[i];
		bool inside = (x->seq1 >= 3 && x->seq2 <= 22) ||
			(x->seq1 >= 100 && x->seq2 <= 119) || x->seq1 >= UINT32_MAX - 19;
		if (x->seq1 > x->seq2 || !inside)
			abort();
		members += (uint64_t)x->seq2 - x->seq1 + 1;
	}
	if (members != want)
		abort();
	seqset_deinit(&set);
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
	if (!imap_arg_is_eol(&args[0]) && !imap_arg_is_eol(&args[1]))
		check_modifiers(&args[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_commands(data, size, run_command, NULL);
	return 0;
}
