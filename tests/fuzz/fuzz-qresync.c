/* fuzz-qresync.c: libFuzzer target for the RFC 7162 argument parsers of
 * src/imap/qresync.c (the QRESYNC select parameter and mod-sequence
 * values).
 *
 * The input is a client's byte stream.  Every complete command goes
 * through the IMAP parser (src/syntax/imap-parser.c); in its arguments,
 * lists included, each argument after an atom "QRESYNC" goes to
 * imap_qresync_parse() and every atom to imap_modseq_parse().  A parse
 * that succeeds must give values in range (UIDVALIDITY and modseq not
 * 0, modseq at most 2^63-1, seq-match-data sets of the same size and
 * known-uids only when given); a failed one must say why. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "syntax/imap-arg.h"
#include "imap/qresync.h"
#include "fuzz-commands.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_args(const struct imap_arg *args, unsigned int depth)
{
	for (const struct imap_arg *a = args; !imap_arg_is_eol(a); a++) {
		const struct imap_arg *list;
		const char *atom;
		uint64_t modseq;

		if (imap_arg_get_list(a, &list, NULL) && depth < 8)
			check_args(list, depth + 1);
		if (!imap_arg_get_atom(a, &atom))
			continue;
		if (imap_modseq_parse(a, true, &modseq) == 0 && modseq > IMAP_MODSEQ_MAX)
			abort();
		if (imap_modseq_parse(a, false, &modseq) == 0 &&
		    (modseq == 0 || modseq > IMAP_MODSEQ_MAX))
			abort();
		if (strcasecmp(atom, "QRESYNC") != 0 || imap_arg_is_eol(&a[1]))
			continue;
		struct imap_qresync q;
		const char *error = NULL;
		if (imap_qresync_parse(&a[1], &q, &error) == 0) {
			if (q.uidvalidity == 0 || q.modseq == 0 || q.modseq > IMAP_MODSEQ_MAX)
				abort();
			if (seqset_count(&q.match_msns) != seqset_count(&q.match_uids))
				abort();
			if (!q.has_known_uids && !seqset_is_empty(&q.known_uids))
				abort();
		} else if (error == NULL || error[0] == '\0') {
			abort();
		}
		imap_qresync_deinit(&q);
	}
}

static void run_command(const struct imap_command *cmd, void *ctx)
{
	(void)ctx;
	check_args(cmd->args, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_commands(data, size, run_command, NULL);
	return 0;
}
