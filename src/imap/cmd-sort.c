/* cmd-sort.c: SORT and UID SORT (RFC 5256 section 3), the DISPLAYFROM
 * and DISPLAYTO keys (RFC 5957, SORT=DISPLAY) and the RETURN options of
 * ESORT (RFC 5267 section 3.1).
 *
 * The search and the gathering of keys is sort-collect.c's; ordering is
 * search/sort.c's.  Every key comes from the blob cached at delivery
 * (syntax/msgkeys.h): this file never reads a message.  The result is
 * written as it is produced, flushed every SORT_LINE_FLUSH bytes. */
#include "commands.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-arg.h"
#include "search-parse.h"
#include "search-result.h"
#include "search-update.h"
#include "sort-collect.h"
#include "syntax/seqset.h"
#include "base/pool.h"
#include "syntax/partial-range.h"
#include "search/sort.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define SORT_LINE_FLUSH (32 * 1024)
/* More criteria than keys exist is allowed (repeats are harmless) but
 * bounded. */
#define SORT_MAX_CRITERIA 32
_Static_assert(SORT_MAX_CRITERIA <= IMAP_SEARCH_UPDATE_MAX_CRITERIA,
	       "a sorted update context holds every criterion");

struct cmd_sort_ctx {
	struct sort_criterion crit[SORT_MAX_CRITERIA];
	size_t crit_count;
	bool esort;		/* RETURN given: answer with * ESEARCH */
	unsigned int returns;	/* enum imap_search_return */
	struct partial_range partial;	/* with IMAP_SEARCH_RETURN_PARTIAL */
	/* a criterion compares strings: the key blobs are kept; without
	 * one (DATE, ARRIVAL, SIZE) only the sent dates */
	bool strings;
	bool modseq;		/* the program has MODSEQ (RFC 7162 3.1.9) */
	/* RETURN (UPDATE): what the context is made from once the sorted
	 * result is there (sort_done): the program's arguments (valid
	 * until the tagged reply), its charset and "$" as it was when the
	 * command came (a copy in the command's pool: SAVE replaces it) */
	const struct imap_arg *update_args;
	const char *update_charset;
	struct seqset update_saved;
	/* updates refused (RFC 5267 4.3.1): the text of the NO [NOUPDATE] */
	const char *noupdate;
};

/* SORT RETURN (UPDATE): makes the sorted update context from the
 * result in sort order (search-update.h). */
static void sort_start_update(struct imap_cmd *cmd, struct cmd_sort_ctx *ctx,
			      const struct sort_msg *msgs, size_t count)
{
	struct imap_search_update *u =
		imap_search_update_create(cmd->session, cmd->tag, cmd->uid, ctx->update_args,
					  ctx->update_charset, &ctx->update_saved);
	if (u == NULL)
		i_panic("SORT: a program that parsed once does not parse again");
	imap_search_update_set_sort(u, ctx->crit, ctx->crit_count);
	for (size_t i = 0; i < count; i++) {
		if (!imap_search_update_add_sorted(u, &msgs[i])) {
			imap_search_update_destroy(&u);
			ctx->noupdate = "The result is too large to follow.";
			return;
		}
	}
	imap_search_update_start(cmd->session, &u);
}

static void sort_flush(struct imap_session *s, struct str *line, bool final)
{
	if (final || line->len >= SORT_LINE_FLUSH) {
		imap_session_write(s, line->data == NULL ? "" : line->data, line->len);
		str_truncate(line, 0);
	}
}

/* RFC 5267 3.1: ALL is the result "in the requested sort order, using a
 * sequence-set"; 3.2: ranges must read in increasing order after
 * expansion, so only ascending runs n, n+1, ... become "n:m". */
static void sort_write_all(struct imap_session *s, const struct sort_msg *msgs,
			   size_t count, bool uid, struct str *line)
{
	size_t i = 0;
	bool first = true;

	while (i < count) {
		uint32_t start = uid ? msgs[i].uid : msgs[i].msn, end = start;

		for (i++; i < count; i++) {
			uint32_t v = uid ? msgs[i].uid : msgs[i].msn;
			if (v != end + 1)
				break;
			end = v;
		}
		/* not from the line's last byte: sort_flush() may have sent
		 * and emptied it after the previous number */
		if (!first)
			str_append_c(line, ',');
		first = false;
		str_append_uint(line, start);
		if (start != end) {
			str_append_c(line, ':');
			str_append_uint(line, end);
		}
		sort_flush(s, line, false);
	}
}

static int uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The PARTIAL range as indexes into the sorted matches (start, end
 * exclusive); false when it selects none (RFC 9394 3.1: NIL).  For SORT
 * the results count in sort order (RFC 5267 4.4), -1 being the last. */
static bool sort_partial_window(const struct cmd_sort_ctx *ctx, size_t count,
				size_t *start_r, size_t *end_r)
{
	uint32_t start, end;

	if (!partial_range_select(&ctx->partial, (uint32_t)count, &start, &end) ||
	    start >= end)
		return false;
	*start_r = start;
	*end_r = end;
	return true;
}

/* SORT RETURN (SAVE) (RFC 5182 section 1: the saved result may come from
 * "any command based on SEARCH, e.g., SORT and THREAD"): the UIDs found,
 * or with MIN, MAX and/or PARTIAL and neither ALL nor COUNT only the
 * first and/or last in sort order and the PARTIAL window (RFC 9051
 * 6.4.4.1 table 4, RFC 9394 3.2 table 1, with RFC 5267 3.1's meaning of
 * MIN and MAX for SORT). */
static void sort_save_result(struct imap_session *s, const struct cmd_sort_ctx *ctx,
			     const struct sort_msg *msgs, size_t count)
{
	unsigned int returns = ctx->returns;
	struct seqset uids = SEQSET_INIT;
	bool selected_only =
		(returns & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) == 0 &&
		(returns & (IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX |
			    IMAP_SEARCH_RETURN_PARTIAL)) != 0;

	/* the UIDs to save, ascending before they go in, so that each
	 * addition is O(1) */
	uint32_t *sorted = xmalloc((count + 2) * sizeof(*sorted));
	size_t n = 0;
	if (!selected_only) {
		for (size_t i = 0; i < count; i++)
			sorted[n++] = msgs[i].uid;
	} else if (count > 0) {
		size_t start, end;

		if ((returns & IMAP_SEARCH_RETURN_MIN) != 0)
			sorted[n++] = msgs[0].uid;
		if ((returns & IMAP_SEARCH_RETURN_MAX) != 0)
			sorted[n++] = msgs[count - 1].uid;
		if ((returns & IMAP_SEARCH_RETURN_PARTIAL) != 0 &&
		    sort_partial_window(ctx, count, &start, &end)) {
			for (size_t i = start; i < end; i++)
				sorted[n++] = msgs[i].uid;
		}
	}
	qsort(sorted, n, sizeof(*sorted), uid_cmp);
	for (size_t i = 0; i < n; i++)
		seqset_add(&uids, sorted[i]);
	free(sorted);
	imap_search_result_save(s, &uids);
	seqset_deinit(&uids);
}

static bool sort_done(struct imap_cmd *cmd, struct imap_sort_collect *coll)
{
	struct imap_session *s = cmd->session;
	struct cmd_sort_ctx *ctx = imap_sort_collect_context(coll);
	size_t count = imap_sort_collect_count(coll);
	struct sort_msg *msgs = xcalloc(count == 0 ? 1 : count, sizeof(*msgs));
	struct str line = STR_INIT;
	uint64_t max_modseq = 0;

	for (size_t i = 0; i < count; i++) {
		uint32_t msn = imap_sort_collect_msn(coll, i);
		const struct store_msg *m = store_mailbox_msg(s->box, msn);

		msgs[i] = (struct sort_msg){
			.msn = msn, .uid = m->uid, .arrival = (int64_t)m->internaldate,
			.size = m->size,
		};
		if (m->modseq > max_modseq)
			max_modseq = m->modseq;
		msgs[i].sent_date = imap_sort_collect_sent_date(coll, i,
								&msgs[i].has_sent_date);
		if (ctx->strings) {
			struct msgkeys keys;

			imap_sort_collect_keys(coll, i, &keys);
			msgs[i].cc = keys.cc;
			msgs[i].from = keys.from;
			msgs[i].to = keys.to;
			msgs[i].subject = keys.base_subject;
			msgs[i].displayfrom = keys.displayfrom;
			msgs[i].displayto = keys.displayto;
		}
	}
	sort_messages(msgs, count, ctx->crit, ctx->crit_count);
	if (ctx->update_args != NULL)
		sort_start_update(cmd, ctx, msgs, count);
	if ((ctx->returns & IMAP_SEARCH_RETURN_SAVE) != 0)
		sort_save_result(s, ctx, msgs, count);

	if (ctx->esort && (ctx->returns & IMAP_SEARCH_RETURN_ANSWERS) == 0) {
		/* RETURN (SAVE) alone: no ESEARCH (RFC 9051 6.4.4, as for
		 * SEARCH) */
	} else if (!ctx->esort) {
		str_append(&line, "* SORT");
		for (size_t i = 0; i < count; i++) {
			str_append_c(&line, ' ');
			str_append_uint(&line, cmd->uid ? msgs[i].uid : msgs[i].msn);
			sort_flush(s, &line, false);
		}
		/* RFC 7162 3.1.9: the highest modseq of those returned */
		if (ctx->modseq && count > 0)
			str_printfa(&line, " (MODSEQ %llu)", (unsigned long long)max_modseq);
	} else {
		/* tags are atoms without '"' or '\\', so quoting needs no
		 * escapes */
		str_printfa(&line, "* ESEARCH (TAG \"%s\")", cmd->tag);
		if (cmd->uid)
			str_append(&line, " UID");
		/* RFC 5267 3.1: MIN and MAX are the first and last message in
		 * sort order; like RFC 4731, none of MIN, MAX, ALL when
		 * nothing matched */
		if ((ctx->returns & IMAP_SEARCH_RETURN_MIN) != 0 && count > 0)
			str_printfa(&line, " MIN %u", cmd->uid ? msgs[0].uid : msgs[0].msn);
		if ((ctx->returns & IMAP_SEARCH_RETURN_MAX) != 0 && count > 0)
			str_printfa(&line, " MAX %u", cmd->uid ? msgs[count - 1].uid :
				    msgs[count - 1].msn);
		if ((ctx->returns & IMAP_SEARCH_RETURN_COUNT) != 0)
			str_printfa(&line, " COUNT %zu", count);
		if ((ctx->returns & IMAP_SEARCH_RETURN_ALL) != 0 && count > 0) {
			str_append(&line, " ALL ");
			sort_write_all(s, msgs, count, cmd->uid, &line);
		}
		if ((ctx->returns & IMAP_SEARCH_RETURN_PARTIAL) != 0) {
			size_t start, end;

			str_append(&line, " PARTIAL (");
			partial_range_append(&line, &ctx->partial);
			str_append_c(&line, ' ');
			if (sort_partial_window(ctx, count, &start, &end))
				sort_write_all(s, msgs + start, end - start, cmd->uid, &line);
			else
				str_append(&line, "NIL");
			str_append_c(&line, ')');
		}
		/* RFC 7162 3.1.10 */
		if (ctx->modseq && count > 0)
			str_printfa(&line, " MODSEQ %llu", (unsigned long long)max_modseq);
	}
	if (!ctx->esort || (ctx->returns & IMAP_SEARCH_RETURN_ANSWERS) != 0) {
		str_append(&line, "\r\n");
		sort_flush(s, &line, true);
	}
	str_free(&line);
	free(msgs);
	if (ctx->noupdate != NULL) {
		/* RFC 5267 4.3.1, as for SEARCH */
		imap_session_untagged(s, "NO [NOUPDATE \"%s\"] %s", cmd->tag, ctx->noupdate);
	}
	if (imap_sort_collect_had_expunged(coll))
		return imap_cmd_ok(cmd, "[EXPUNGEISSUED] Sort completed (some messages were expunged).");
	return imap_cmd_ok(cmd, "Sort completed.");
}

/* sort-criteria  = "(" sort-criterion *(SP sort-criterion) ")"
 * sort-criterion = ["REVERSE" SP] sort-key
 * sort-key       = "ARRIVAL" / "CC" / "DATE" / "FROM" / "SIZE" /
 *                  "SUBJECT" / "TO"
 *                  / "DISPLAYFROM" / "DISPLAYTO"   (RFC 5957) */
static int sort_parse_criteria(const struct imap_arg *arg, struct cmd_sort_ctx *ctx,
			       const char **error_r)
{
	static const struct imap_keyword keys[] = {
		{ "ARRIVAL", SORT_KEY_ARRIVAL }, { "CC", SORT_KEY_CC },
		{ "DATE", SORT_KEY_DATE }, { "FROM", SORT_KEY_FROM },
		{ "SIZE", SORT_KEY_SIZE }, { "SUBJECT", SORT_KEY_SUBJECT },
		{ "TO", SORT_KEY_TO }, { "DISPLAYFROM", SORT_KEY_DISPLAYFROM },
		{ "DISPLAYTO", SORT_KEY_DISPLAYTO },
	};
	bool reverse = false;
	const struct imap_arg *list;
	unsigned int count;

	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "SORT needs a list of sort criteria.";
		return -1;
	}
	for (unsigned int i = 0; i < count; i++) {
		const char *name;
		unsigned int key;

		if (!imap_arg_get_atom(&list[i], &name)) {
			*error_r = "Invalid sort criterion.";
			return -1;
		}
		if (str_eq_icase(name, "REVERSE")) {
			if (reverse) {
				*error_r = "REVERSE must be followed by a sort key.";
				return -1;
			}
			reverse = true;
			continue;
		}
		if (!imap_keyword_find(keys, N_ELEMENTS(keys), name, &key)) {
			*error_r = "Unknown sort criterion.";
			return -1;
		}
		if (ctx->crit_count == SORT_MAX_CRITERIA) {
			*error_r = "Too many sort criteria.";
			return -1;
		}
		ctx->crit[ctx->crit_count].key = (enum sort_key)key;
		if (key != SORT_KEY_ARRIVAL && key != SORT_KEY_DATE && key != SORT_KEY_SIZE)
			ctx->strings = true;
		ctx->crit[ctx->crit_count].reverse = reverse;
		ctx->crit_count++;
		reverse = false;
	}
	if (reverse) {
		*error_r = "REVERSE must be followed by a sort key.";
		return -1;
	}
	return 0;
}

/* sort            = ["UID" SP] "SORT" SP sort-criteria SP search-criteria
 * extended-sort   = ["UID" SP] "SORT" search-return-opts
 *                   SP sort-criteria SP search-criteria     (RFC 5267)
 * search-criteria = charset 1*(SP search-key) */
bool cmd_sort(struct imap_cmd *cmd)
{
	const struct imap_arg *args = cmd->args;
	struct cmd_sort_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	struct search_key *program;
	const char *error;

	memset(ctx, 0, sizeof(*ctx));
	if (imap_arg_atom_equals(&args[0], "RETURN")) {
		if (imap_search_parse_return(&args[1], true, &ctx->returns, &ctx->partial,
					     &error) < 0)
			return imap_cmd_bad(cmd, "%s", error);
		ctx->esort = true;
		args += 2;
	}
	/* RFC 5267 4.3: UPDATE with the tag of an update context is BAD */
	if ((ctx->returns & IMAP_SEARCH_RETURN_UPDATE) != 0 &&
	    imap_search_update_tag_in_use(cmd->session, cmd->tag))
		return imap_cmd_bad(cmd, "Tag reuse: an update context has this tag.");
	if (sort_parse_criteria(&args[0], ctx, &error) < 0)
		return imap_cmd_bad(cmd, "%s", error);
	if ((ctx->returns & IMAP_SEARCH_RETURN_UPDATE) != 0 &&
	    imap_search_update_is_full(cmd->session)) {
		ctx->noupdate = p_strdup_printf(cmd->pool, "Too many update contexts "
						"(at most %d).", IMAP_SEARCH_UPDATE_MAX);
	} else if ((ctx->returns & IMAP_SEARCH_RETURN_UPDATE) != 0) {
		const struct seqset *saved = &cmd->session->search_result;

		/* the charset as imap_sort_collect_program() takes it; it
		 * answers a missing one */
		if (imap_arg_get_atom(&args[1], &ctx->update_charset) ||
		    imap_arg_get_quoted(&args[1], &ctx->update_charset))
			ctx->update_args = &args[2];
		ctx->update_saved.count = saved->count;
		ctx->update_saved.cap = saved->count;
		ctx->update_saved.ranges = saved->count == 0 ? NULL :
			p_memdup(cmd->pool, saved->ranges, saved->count * sizeof(*saved->ranges));
	}
	if ((program = imap_sort_collect_program(cmd, &args[1], "SORT",
						 (ctx->returns & IMAP_SEARCH_RETURN_SAVE) != 0)) == NULL)
		return true;
	ctx->modseq = search_key_has(program, SEARCH_KEY_MODSEQ);
	return imap_sort_collect_start(cmd, program, ctx->strings ?
				       IMAP_SORT_COLLECT_SORT_STRINGS : IMAP_SORT_COLLECT_DATES,
				       sort_done, ctx);
}
