/* cmd-list.c: LIST (RFC 9051 6.3.9 with LIST-EXTENDED RFC 5258,
 * LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154, CHILDREN RFC 3348) and LSUB
 * (RFC 3501 6.3.9).
 *
 * The store gives every mailbox and subscribed name; this file builds the
 * hierarchy from them (adding the levels that exist only as parents),
 * matches the canonical patterns against it and writes one response per
 * name.  It never changes anything and never opens a mailbox (STATUS data
 * comes from store_mailbox_status()).  The store calls (the list and the
 * STATUS data) run as one store request (session.h), the responses are
 * written when it is done.
 *
 * Which names are returned (RFC 9051 6.3.9.3):
 *   - names matching a pattern that meet the selection criteria (an
 *     existing mailbox; with SUBSCRIBED a subscribed name; with SPECIAL-USE
 *     a mailbox with a special use);
 *   - without selection options, a name matching a pattern that is not a
 *     mailbox but has a mailbox below it that no pattern matches: the "%"
 *     rule, shown \Noselect (IMAP4rev1) or \NonExistent;
 *   - with RECURSIVEMATCH, a name matching a pattern that has a descendant
 *     meeting the criteria that no pattern matches, with CHILDINFO. */
#include "commands.h"
#include "cmd-mailbox.h"
#include "mailbox-name.h"
#include "syntax/imap-parser.h"
#include "syntax/imap-quote.h"
#include "syntax/imap-arg.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

/* Longer patterns match nothing: no name is that long, and matching cost
 * grows with the pattern's length. */
#define LIST_PATTERN_MAX_LENGTH 1024

static const char *const special_use_names[] = {
	"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
};

enum list_select {
	LIST_SELECT_SUBSCRIBED = 1 << 0,
	LIST_SELECT_REMOTE = 1 << 1,
	LIST_SELECT_RECURSIVEMATCH = 1 << 2,
	LIST_SELECT_SPECIAL_USE = 1 << 3,
};

enum list_return {
	LIST_RETURN_SUBSCRIBED = 1 << 0,
	LIST_RETURN_CHILDREN = 1 << 1,
	LIST_RETURN_SPECIAL_USE = 1 << 2,
	LIST_RETURN_STATUS = 1 << 3,
};

struct list_node {
	const char *name;	/* store form */
	uint32_t special_use;
	bool exists, subscribed;
	bool matched;		/* by one of the patterns */
	bool selected;		/* meets the selection criteria */
	/* about the descendants */
	bool desc_exists;		/* \HasChildren */
	bool desc_selected;		/* CHILDINFO */
	bool desc_selected_unmatched;	/* RECURSIVEMATCH, LSUB "%" rule */
	bool desc_exists_unmatched;	/* LIST "%" rule */
	/* RETURN (STATUS ...): a mailbox whose STATUS failed is shown
	 * \Noselect (RFC 5819) */
	bool status_ok, status_failed;
	struct store_status status;
};

/* In the command's pool: the store half (list_work) runs as a store
 * request (session.h). */
struct list_ctx {
	struct imap_cmd *cmd;
	struct store *store;
	int build_ret;		/* of list_build() */
	unsigned int select;	/* enum list_select */
	unsigned int ret;	/* enum list_return */
	bool extended;
	bool lsub;
	struct cmd_mailbox_status_items status_items;
	const char **patterns;	/* store form, canonical */
	size_t pattern_count;
	struct list_node *nodes;
	size_t node_count;
};

/* ---- matching ---- */

static bool list_name_is_inbox_level(const char *name)
{
	return strncmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == '/');
}

/* Whether `name` matches `pattern`: "*" matches anything, "%" anything
 * but the separator.  The INBOX level of a name matches in any case
 * ("inbox/%" and "Inb*" find INBOX).  Dynamic programming over the name,
 * so no pattern can make it exponential. */
static bool list_match(const char *pattern, const char *name)
{
	size_t n = strlen(name);
	size_t inbox_len = list_name_is_inbox_level(name) ? 5 : 0;
	bool stack_rows[2][256];
	bool *prev, *cur, *heap = NULL;
	if (n + 1 <= N_ELEMENTS(stack_rows[0])) {
		prev = stack_rows[0];
		cur = stack_rows[1];
	} else {
		heap = xmalloc(2 * (n + 1) * sizeof(bool));
		prev = heap;
		cur = heap + n + 1;
	}
	prev[0] = true;
	for (size_t j = 1; j <= n; j++)
		prev[j] = false;
	for (const char *p = pattern; *p != '\0'; p++) {
		char c = *p;
		if (c == '*') {
			cur[0] = prev[0];
			for (size_t j = 1; j <= n; j++)
				cur[j] = prev[j] || cur[j - 1];
		} else if (c == '%') {
			cur[0] = prev[0];
			for (size_t j = 1; j <= n; j++)
				cur[j] = prev[j] || (cur[j - 1] && name[j - 1] != '/');
		} else {
			cur[0] = false;
			for (size_t j = 1; j <= n; j++) {
				char nc = name[j - 1];
				bool eq = nc == c ||
					(j - 1 < inbox_len && (c | 0x20) == (nc | 0x20));
				cur[j] = prev[j - 1] && eq;
			}
		}
		bool *tmp = prev;
		prev = cur;
		cur = tmp;
	}
	bool result = prev[n];
	free(heap);
	return result;
}

static bool list_match_any(const struct list_ctx *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->pattern_count; i++) {
		if (list_match(ctx->patterns[i], name))
			return true;
	}
	return false;
}

/* Adds reference+pattern (client form) as a canonical pattern; patterns
 * that cannot match anything are dropped (RFC 9051 6.3.9: silently
 * ignored). */
static void list_add_pattern(struct list_ctx *ctx, const char *ref, const char *pattern)
{
	struct imap_cmd *cmd = ctx->cmd;
	size_t rlen = strlen(ref), plen = strlen(pattern);
	if (rlen + plen > LIST_PATTERN_MAX_LENGTH)
		return;
	char *full = p_malloc(cmd->pool, rlen + plen + 1);
	memcpy(full, ref, rlen);
	memcpy(full + rlen, pattern, plen + 1);
	const char *canon = imap_mailbox_pattern_from_client(cmd->session, cmd->pool, full);
	if (canon == NULL)
		return;
	const char **n = p_malloc(cmd->pool, (ctx->pattern_count + 1) * sizeof(*n));
	if (ctx->pattern_count > 0)
		memcpy(n, ctx->patterns, ctx->pattern_count * sizeof(*n));
	n[ctx->pattern_count++] = canon;
	ctx->patterns = n;
}

/* ---- the hierarchy ---- */

/* Tree order: INBOX and its children first, then by bytes with the
 * separator lowest, so that every name is followed directly by all its
 * descendants ("A", "A/B", "A B"). */
static int list_node_cmp(const void *a, const void *b)
{
	const char *x = ((const struct list_node *)a)->name;
	const char *y = ((const struct list_node *)b)->name;
	bool xi = list_name_is_inbox_level(x), yi = list_name_is_inbox_level(y);
	if (xi != yi)
		return xi ? -1 : 1;
	for (;; x++, y++) {
		unsigned int cx = *x == '/' ? 1 : (unsigned char)*x + 1u;
		unsigned int cy = *y == '/' ? 1 : (unsigned char)*y + 1u;
		if (*x == '\0')
			cx = 0;
		if (*y == '\0')
			cy = 0;
		if (cx != cy)
			return cx < cy ? -1 : 1;
		if (cx == 0)
			return 0;
	}
}

static bool list_is_ancestor(const char *anc, const char *name)
{
	size_t len = strlen(anc);
	return strncmp(anc, name, len) == 0 && name[len] == '/';
}

/* Builds ctx->nodes from the store's list: every name and every level
 * above it, once each, in tree order. */
static int list_build(struct list_ctx *ctx)
{
	struct imap_cmd *cmd = ctx->cmd;
	struct store_mailbox_info *infos;
	size_t count;
	if (store_mailbox_list(ctx->store, &infos, &count) < 0)
		return -1;
	size_t cap = 0, n = 0;
	struct list_node *nodes = NULL;
	for (size_t i = 0; i < count; i++) {
		const char *name = infos[i].name;
		ARRAY_RESERVE(nodes, cap, n + 1);
		memset(&nodes[n], 0, sizeof(nodes[n]));
		nodes[n].name = p_strdup(cmd->pool, name);
		nodes[n].exists = infos[i].exists;
		nodes[n].subscribed = infos[i].subscribed;
		nodes[n].special_use = infos[i].exists ? infos[i].special_use : 0;
		n++;
		for (const char *p = strchr(name, '/'); p != NULL; p = strchr(p + 1, '/')) {
			ARRAY_RESERVE(nodes, cap, n + 1);
			memset(&nodes[n], 0, sizeof(nodes[n]));
			nodes[n].name = p_strndup(cmd->pool, name, (size_t)(p - name));
			n++;
		}
	}
	free(infos);
	if (n > 0)
		qsort(nodes, n, sizeof(*nodes), list_node_cmp);
	/* merge duplicates */
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		if (out > 0 && strcmp(nodes[out - 1].name, nodes[i].name) == 0) {
			struct list_node *d = &nodes[out - 1];
			d->exists |= nodes[i].exists;
			d->subscribed |= nodes[i].subscribed;
			d->special_use |= nodes[i].special_use;
			continue;
		}
		nodes[out++] = nodes[i];
	}
	ctx->nodes = p_memdup(cmd->pool, nodes, (out == 0 ? 1 : out) * sizeof(*nodes));
	ctx->node_count = out;
	free(nodes);
	return 0;
}

static bool list_node_meets_selection(const struct list_ctx *ctx,
				      const struct list_node *node)
{
	if (ctx->lsub)
		return node->subscribed;
	if ((ctx->select & (LIST_SELECT_SUBSCRIBED | LIST_SELECT_SPECIAL_USE)) == 0)
		return node->exists;
	if ((ctx->select & LIST_SELECT_SUBSCRIBED) != 0 && !node->subscribed)
		return false;
	if ((ctx->select & LIST_SELECT_SPECIAL_USE) != 0 &&
	    (!node->exists || node->special_use == 0))
		return false;
	return true;
}

/* Fills in matched/selected and the descendant summaries.  Nodes are in
 * tree order, so the ancestors of a node are exactly the nodes on the
 * stack of open subtrees when it is reached. */
static void list_analyse(struct list_ctx *ctx)
{
	size_t *stack = xmalloc((ctx->node_count + 1) * sizeof(*stack));
	size_t depth = 0;
	for (size_t i = 0; i < ctx->node_count; i++) {
		struct list_node *node = &ctx->nodes[i];
		node->matched = list_match_any(ctx, node->name);
		node->selected = list_node_meets_selection(ctx, node);
		while (depth > 0 && !list_is_ancestor(ctx->nodes[stack[depth - 1]].name,
						      node->name))
			depth--;
		for (size_t d = 0; d < depth; d++) {
			struct list_node *anc = &ctx->nodes[stack[d]];
			if (node->exists) {
				anc->desc_exists = true;
				if (!node->matched)
					anc->desc_exists_unmatched = true;
			}
			if (node->selected) {
				anc->desc_selected = true;
				if (!node->matched)
					anc->desc_selected_unmatched = true;
			}
		}
		stack[depth++] = i;
	}
	free(stack);
}

/* ---- output ---- */

static void list_attr(struct str *line, size_t start, const char *attr)
{
	if (line->len > start)
		str_append_c(line, ' ');
	str_append(line, attr);
}

static void list_write_name(struct list_ctx *ctx, struct str *line, const char *name)
{
	imap_mailbox_write(ctx->cmd->session, ctx->cmd->pool, line, name);
}

static void list_write_node(struct list_ctx *ctx, const struct list_node *node)
{
	struct imap_session *s = ctx->cmd->session;
	bool childinfo = false;

	if (node->selected) {
		childinfo = (ctx->select & LIST_SELECT_RECURSIVEMATCH) != 0 &&
			node->desc_selected;
	} else if ((ctx->select & LIST_SELECT_RECURSIVEMATCH) != 0 &&
		   node->desc_selected_unmatched) {
		childinfo = true;
	} else if (ctx->select == 0 && !node->exists && node->desc_exists_unmatched) {
		/* the "%" rule */
	} else {
		return;
	}
	struct str line = STR_INIT;
	str_append(&line, "* LIST (");
	size_t start = line.len;
	if (!node->exists)
		list_attr(&line, start, ctx->extended || s->rev2 ? "\\NonExistent" : "\\Noselect");
	else if (node->status_failed)
		list_attr(&line, start, "\\Noselect");
	list_attr(&line, start, node->desc_exists ? "\\HasChildren" : "\\HasNoChildren");
	if (node->subscribed &&
	    ((ctx->select & LIST_SELECT_SUBSCRIBED) != 0 ||
	     (ctx->ret & LIST_RETURN_SUBSCRIBED) != 0))
		list_attr(&line, start, "\\Subscribed");
	for (size_t i = 0; i < N_ELEMENTS(special_use_names); i++) {
		if ((node->special_use & (1u << i)) != 0)
			list_attr(&line, start, special_use_names[i]);
	}
	str_append(&line, ") \"/\" ");
	list_write_name(ctx, &line, node->name);
	if (childinfo) {
		str_append(&line, " (\"CHILDINFO\" (");
		const char *sep = "";
		if ((ctx->select & LIST_SELECT_SUBSCRIBED) != 0) {
			str_append(&line, "\"SUBSCRIBED\"");
			sep = " ";
		}
		if ((ctx->select & LIST_SELECT_SPECIAL_USE) != 0)
			str_printfa(&line, "%s\"SPECIAL-USE\"", sep);
		str_append(&line, "))");
	}
	imap_session_write_line(s, &line);
	str_free(&line);
	if (node->status_ok)
		cmd_mailbox_status_write(s, ctx->cmd->pool, node->name, &ctx->status_items,
					 &node->status);
}

/* LSUB (RFC 3501 6.3.9): subscribed names; a name matched by "%" that is
 * not subscribed but has a subscribed descendant no pattern matches is
 * returned \Noselect. */
static void list_write_lsub_node(struct list_ctx *ctx, const struct list_node *node)
{
	const char *attrs;
	if (node->subscribed)
		attrs = "";
	else if (node->desc_selected_unmatched)
		attrs = "\\Noselect";
	else
		return;
	struct str line = STR_INIT;
	str_printfa(&line, "* LSUB (%s) \"/\" ", attrs);
	list_write_name(ctx, &line, node->name);
	imap_session_write_line(ctx->cmd->session, &line);
	str_free(&line);
}

/* The store half: the hierarchy, and the STATUS of each mailbox that
 * LIST ... RETURN (STATUS ...) shows. */
static void list_work(void *_ctx)
{
	struct list_ctx *ctx = _ctx;
	ctx->build_ret = list_build(ctx);
	if (ctx->build_ret < 0)
		return;
	list_analyse(ctx);
	if (ctx->lsub || (ctx->ret & LIST_RETURN_STATUS) == 0)
		return;
	for (size_t i = 0; i < ctx->node_count; i++) {
		struct list_node *node = &ctx->nodes[i];
		if (!node->matched || !node->selected || !node->exists)
			continue;
		if (store_mailbox_status(ctx->store, node->name, &node->status) == 0)
			node->status_ok = true;
		else
			node->status_failed = true;
	}
}

static bool list_done(struct imap_cmd *cmd)
{
	struct list_ctx *ctx = cmd->ctx;
	if (ctx->build_ret < 0)
		return imap_cmd_store_error(cmd, false);
	for (size_t i = 0; i < ctx->node_count; i++) {
		const struct list_node *node = &ctx->nodes[i];
		if (!node->matched)
			continue;
		if (ctx->lsub)
			list_write_lsub_node(ctx, node);
		else
			list_write_node(ctx, node);
	}
	return imap_cmd_ok(cmd, "%s completed.", ctx->lsub ? "LSUB" : "LIST");
}

static bool list_run(struct list_ctx *ctx)
{
	struct imap_cmd *cmd = ctx->cmd;
	if (ctx->pattern_count == 0)
		return imap_cmd_ok(cmd, "%s completed.", ctx->lsub ? "LSUB" : "LIST");
	ctx->store = cmd->session->store;
	cmd->ctx = ctx;
	return imap_cmd_store_request(cmd, list_work, list_done);
}

/* ---- arguments ---- */

/* list-mailbox = 1*list-char / string: NULL if arg is neither */
static const char *list_pattern_arg(const struct imap_arg *arg)
{
	return imap_mailbox_arg(arg);
}

/* list-select-opt = "SUBSCRIBED" / "REMOTE" / "RECURSIVEMATCH"
 *                 / "SPECIAL-USE" (RFC 6154) */
static const struct imap_keyword list_select_options[] = {
	{ "SUBSCRIBED", LIST_SELECT_SUBSCRIBED },
	{ "REMOTE", LIST_SELECT_REMOTE },
	{ "RECURSIVEMATCH", LIST_SELECT_RECURSIVEMATCH },
	{ "SPECIAL-USE", LIST_SELECT_SPECIAL_USE },
};

/* return-option = "SUBSCRIBED" / "CHILDREN" / "SPECIAL-USE"
 *               / "STATUS" SP "(" status-att *(SP status-att) ")" */
static const struct imap_keyword list_return_options[] = {
	{ "SUBSCRIBED", LIST_RETURN_SUBSCRIBED },
	{ "CHILDREN", LIST_RETURN_CHILDREN },
	{ "SPECIAL-USE", LIST_RETURN_SPECIAL_USE },
	{ "STATUS", LIST_RETURN_STATUS },
};

/* list-select-opts = "(" [list-select-opt *(SP list-select-opt)] ")"
 * `opts` is the content of the list, ending with its EOL entry
 * (imap_arg_is_eol()). */
static int list_parse_select(struct list_ctx *ctx, const struct imap_arg *opts,
			     const char **error_r)
{
	for (const struct imap_arg *a = opts; !imap_arg_is_eol(a); a++) {
		const char *name;
		if (!imap_arg_get_atom(a, &name)) {
			*error_r = "Invalid LIST selection option.";
			return -1;
		}
		unsigned int bit;
		if (!imap_keyword_find(list_select_options,
				       N_ELEMENTS(list_select_options), name, &bit)) {
			*error_r = "Unknown LIST selection option.";
			return -1;
		}
		ctx->select |= bit;
	}
	if ((ctx->select & LIST_SELECT_RECURSIVEMATCH) != 0 &&
	    (ctx->select & (LIST_SELECT_SUBSCRIBED | LIST_SELECT_SPECIAL_USE)) == 0) {
		*error_r = "RECURSIVEMATCH needs another selection option.";
		return -1;
	}
	/* REMOTE changes nothing here: there are no remote mailboxes */
	ctx->select &= ~(unsigned int)LIST_SELECT_REMOTE;
	if ((ctx->select & LIST_SELECT_SUBSCRIBED) != 0)
		ctx->ret |= LIST_RETURN_SUBSCRIBED;
	return 0;
}

static void list_merge_status_items(struct cmd_mailbox_status_items *dest,
				    const struct cmd_mailbox_status_items *src)
{
	for (unsigned int i = 0; i < src->count; i++) {
		unsigned int j;
		for (j = 0; j < dest->count; j++) {
			if (dest->order[j] == src->order[i])
				break;
		}
		if (j == dest->count)
			dest->order[dest->count++] = src->order[i];
	}
}

/* list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
 * `opts` is the content of the list, ending with its EOL entry
 * (imap_arg_is_eol()). */
static int list_parse_return(struct list_ctx *ctx, const struct imap_arg *opts,
			     const char **error_r)
{
	for (const struct imap_arg *a = opts; !imap_arg_is_eol(a); a++) {
		const char *name;
		if (!imap_arg_get_atom(a, &name)) {
			*error_r = "Invalid LIST return option.";
			return -1;
		}
		unsigned int bit;
		if (!imap_keyword_find(list_return_options,
				       N_ELEMENTS(list_return_options), name, &bit)) {
			*error_r = "Unknown LIST return option.";
			return -1;
		}
		if (bit == LIST_RETURN_STATUS) {
			const struct imap_arg *atts;
			if (!imap_arg_get_list(&a[1], &atts, NULL)) {
				*error_r = "STATUS return option needs a list of items.";
				return -1;
			}
			a++;
			struct cmd_mailbox_status_items items;
			if (cmd_mailbox_status_items_parse(atts, &items, error_r) < 0)
				return -1;
			/* an option given twice counts once (RFC 9051
			 * 6.3.9): the items of both */
			list_merge_status_items(&ctx->status_items, &items);
		}
		ctx->ret |= bit;
	}
	return 0;
}

/* list = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
 *        [SP list-return-opts]
 * mbox-or-pat = list-mailbox / patterns
 * patterns = "(" list-mailbox *(SP list-mailbox) ")" */
bool cmd_list(struct imap_cmd *cmd)
{
	struct list_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	ctx->cmd = cmd;
	const struct imap_arg *a = cmd->args;
	const struct imap_arg *opts;
	const char *error;

	if (imap_arg_get_list(a, &opts, NULL)) {
		ctx->extended = true;
		if (list_parse_select(ctx, opts, &error) < 0)
			return imap_cmd_bad(cmd, "%s", error);
		a++;
	}
	const char *ref = imap_mailbox_arg(a);
	if (ref == NULL)
		return imap_cmd_bad(cmd, "Missing LIST reference.");
	a++;
	/* one pattern, or a list of them */
	const struct imap_arg *pats;
	unsigned int pat_count;
	const char *pattern = NULL;
	if (imap_arg_get_list(a, &pats, &pat_count)) {
		ctx->extended = true;
		if (pat_count == 0)
			return imap_cmd_bad(cmd, "Empty LIST pattern list.");
		for (const struct imap_arg *p = pats; !imap_arg_is_eol(p); p++) {
			if (list_pattern_arg(p) == NULL)
				return imap_cmd_bad(cmd, "Invalid LIST pattern.");
		}
	} else if ((pattern = list_pattern_arg(a)) == NULL) {
		return imap_cmd_bad(cmd, "Missing LIST pattern.");
	}
	a++;
	if (!imap_arg_is_eol(a)) {
		if (!imap_arg_atom_equals(a, "RETURN") || !imap_arg_get_list(&a[1], &opts, NULL))
			return imap_cmd_bad(cmd, "Invalid LIST arguments.");
		ctx->extended = true;
		if (list_parse_return(ctx, opts, &error) < 0)
			return imap_cmd_bad(cmd, "%s", error);
		a += 2;
		if (!imap_arg_is_eol(a))
			return imap_cmd_bad(cmd, "Invalid LIST arguments.");
		/* STATUS (HIGHESTMODSEQ) enables CONDSTORE (RFC 7162 3.1) */
		if (cmd_mailbox_status_items_has(&ctx->status_items,
						 CMD_STATUS_HIGHESTMODSEQ))
			imap_session_enable_condstore(cmd->session);
	}

	if (!ctx->extended && *pattern == '\0') {
		/* RFC 9051 6.3.9: the hierarchy delimiter and the root of
		 * the reference, which is "" for names without a root */
		imap_session_untagged(cmd->session, "LIST (\\Noselect) \"/\" \"\"");
		return imap_cmd_ok(cmd, "LIST completed.");
	}
	if (pattern == NULL) {
		for (const struct imap_arg *p = pats; !imap_arg_is_eol(p); p++) {
			/* extended syntax: empty patterns are ignored */
			const char *one = list_pattern_arg(p);
			if (*one != '\0')
				list_add_pattern(ctx, ref, one);
		}
	} else if (*pattern != '\0') {
		list_add_pattern(ctx, ref, pattern);
	}
	return list_run(ctx);
}

/* lsub = "LSUB" SP mailbox SP list-mailbox  (RFC 3501) */
bool cmd_lsub(struct imap_cmd *cmd)
{
	struct list_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	ctx->cmd = cmd;
	ctx->lsub = true;
	const char *ref = imap_mailbox_arg(&cmd->args[0]);
	const char *pattern = ref == NULL ? NULL : list_pattern_arg(&cmd->args[1]);
	if (pattern == NULL || !imap_arg_is_eol(&cmd->args[2]))
		return imap_cmd_bad(cmd, "LSUB needs a reference and a pattern.");
	if (*pattern == '\0') {
		imap_session_untagged(cmd->session, "LSUB (\\Noselect) \"/\" \"\"");
		return imap_cmd_ok(cmd, "LSUB completed.");
	}
	list_add_pattern(ctx, ref, pattern);
	return list_run(ctx);
}
