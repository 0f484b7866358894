/* fuzz-search-parse.c: libFuzzer target for src/imap/search-parse.c.
 *
 * The input is a client's byte stream.  Every complete command goes
 * through the IMAP parser (src/syntax/imap-parser.c) and then, as a search
 * program, through imap_search_parse_program() on an empty mailbox (NULL)
 * with a saved search result for "$"; "UID x" is skipped as cmd-search.c
 * does, and a leading "RETURN (...)" goes through
 * imap_search_parse_return() (PARTIAL ranges, RFC 9394), whose result
 * must hold no unknown bit and something to answer or save (UPDATE and
 * CONTEXT alone mean ALL), never PARTIAL with ALL, and a well-formed
 * range (1 <= lo <= hi, the written numbers being lo and hi).  Commands whose tag
 * ends in an odd byte are parsed with a fixed charset, UTF-8 (the SORT and
 * THREAD form).  A parse that succeeds must give a well-formed tree:
 * AND/OR/NOT with the right number of children, sorted and disjoint
 * ranges, search strings that are valid UTF-8 without NUL (CHARSET
 * conversion), positive WITHIN intervals; a failed one must say why with
 * a non-empty error, and NO only with a BADCHARSET code. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/pool.h"
#include "syntax/seqset.h"
#include "base/utf8.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-arg.h"
#include "syntax/partial-range.h"
#include "imap/search-parse.h"
#include "fuzz-commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_utf8(const char *s, size_t len)
{
	if (s == NULL || s[len] != '\0' || memchr(s, '\0', len) != NULL)
		abort();
	for (size_t i = 0; i < len; ) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
		if (n == 0)
			abort();
		i += n;
	}
}

static void check_key(const struct search_key *key, unsigned int depth)
{
	unsigned int children = 0;

	if (depth > 1000)
		abort();
	for (const struct search_key *c = key->children; c != NULL; c = c->next) {
		check_key(c, depth + 1);
		children++;
	}
	switch (key->type) {
	case SEARCH_KEY_AND:
		break;
	case SEARCH_KEY_OR:
		if (children != 2)
			abort();
		break;
	case SEARCH_KEY_NOT:
		if (children != 1)
			abort();
		break;
	case SEARCH_KEY_MSN:
	case SEARCH_KEY_UID:
		if (children != 0 || (key->range_count > 0 && key->ranges == NULL))
			abort();
		for (size_t i = 0; i < key->range_count; i++) {
			if (key->ranges[i].first == 0 ||
			    key->ranges[i].first > key->ranges[i].last)
				abort();
			if (i > 0 && key->ranges[i].first <= key->ranges[i - 1].last)
				abort();
		}
		break;
	case SEARCH_KEY_OLDER:
	case SEARCH_KEY_YOUNGER:
		if (key->number == 0 || key->number > UINT32_MAX)
			abort();
		break;
	case SEARCH_KEY_HEADER:
		if (key->name == NULL || key->name[0] == '\0')
			abort();
		check_utf8(key->value, key->value_len);
		break;
	case SEARCH_KEY_BODY:
	case SEARCH_KEY_TEXT:
		check_utf8(key->value, key->value_len);
		break;
	default:
		if (children != 0)
			abort();
		break;
	}
	(void)search_key_needs_content(key);
}

static void run_command(const struct imap_command *cmd, void *ctx)
{
	const struct seqset *saved = ctx;
	const struct imap_arg *args = cmd->args;
	size_t tag_len = strlen(cmd->tag);
	bool charset_allowed = tag_len == 0 || (cmd->tag[tag_len - 1] & 1) == 0;

	const struct imap_arg *opts;
	if (strcasecmp(cmd->name, "UID") == 0 && !imap_arg_is_eol(&args[0]))
		args++;
	if (imap_arg_atom_equals(&args[0], "RETURN") &&
	    imap_arg_get_list(&args[1], &opts, NULL)) {
		unsigned int returns = 0;
		struct partial_range partial;
		const char *ret_error = NULL;
		if (imap_search_parse_return(&args[1], charset_allowed, &returns, &partial,
					     &ret_error) == 0) {
			unsigned int known = IMAP_SEARCH_RETURN_ANSWERS | IMAP_SEARCH_RETURN_SAVE |
				IMAP_SEARCH_RETURN_CONTEXT | IMAP_SEARCH_RETURN_UPDATE;
			/* something to answer or SAVE, whatever else */
			if ((returns & (IMAP_SEARCH_RETURN_ANSWERS | IMAP_SEARCH_RETURN_SAVE)) == 0 ||
			    (returns & ~known) != 0)
				abort();
			if (!charset_allowed && (returns & IMAP_SEARCH_RETURN_SAVE) != 0)
				abort();
			if ((returns & IMAP_SEARCH_RETURN_PARTIAL) != 0) {
				if ((returns & IMAP_SEARCH_RETURN_ALL) != 0 ||
				    partial.lo == 0 || partial.lo > partial.hi ||
				    !((partial.first == partial.lo && partial.last == partial.hi) ||
				      (partial.first == partial.hi && partial.last == partial.lo)))
					abort();
			}
		} else if (ret_error == NULL || ret_error[0] == '\0') {
			abort();
		}
		args += 2;
	}

	struct pool *pool = pool_create(1024);
	struct search_key *program = NULL;
	const char *error = NULL;
	switch (imap_search_parse_program(pool, NULL, saved, args,
					  charset_allowed ? NULL : "UTF-8",
					  &program, &error)) {
	case IMAP_SEARCH_PARSE_OK:
		if (program == NULL || program->type != SEARCH_KEY_AND)
			abort();
		check_key(program, 0);
		break;
	case IMAP_SEARCH_PARSE_BAD:
		if (error == NULL || error[0] == '\0')
			abort();
		break;
	case IMAP_SEARCH_PARSE_NO:
		if (error == NULL || strncmp(error, "[BADCHARSET", 11) != 0)
			abort();
		break;
	default:
		abort();
	}
	pool_destroy(&pool);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seqset saved = SEQSET_INIT;

	seqset_add_range(&saved, 1, 5);
	seqset_add(&saved, 9);
	seqset_add(&saved, UINT32_MAX);
	fuzz_commands(data, size, run_command, &saved);
	seqset_deinit(&saved);
	return 0;
}
