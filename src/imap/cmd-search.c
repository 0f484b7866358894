/* cmd-search.c: SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4),
 * with the ESEARCH result form (RFC 9051 7.3.4, RFC 4731 RETURN options).
 *
 * The client's search program becomes a src/search tree here; evaluation
 * is search_match(), one message at a time.  Programs that read message
 * files run in slices of SEARCH_SLICE_MSECS and continue from a timer, so
 * a slow search never stalls the other sessions of the worker.  The only
 * per-message memory is the result bitmap.  This file must never read a
 * message itself. */
#include "commands.h"
#include "parser.h"
#include "flags.h"
#include "base/log.h"
#include "base/seqset.h"
#include "net/net.h"
#include "search/search.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEARCH_SLICE_MSECS 50
/* Flush a long result line to the connection at this size. */
#define SEARCH_LINE_FLUSH (32 * 1024)

enum search_return {
	SEARCH_RETURN_MIN = 1 << 0,
	SEARCH_RETURN_MAX = 1 << 1,
	SEARCH_RETURN_COUNT = 1 << 2,
	SEARCH_RETURN_ALL = 1 << 3,
};

struct cmd_search_ctx {
	struct imap_cmd *cmd;
	struct search_key *program;
	struct search_ctx *search;
	bool esearch;		/* answer with * ESEARCH */
	unsigned int returns;	/* enum search_return */
	uint32_t next_msn, count;
	uint8_t *matches;	/* bitmap, msn - 1; xmalloc'd */
	struct net_timer *timer;
};

/* Deepest nesting of NOT, OR and parentheses: keeps the recursion of
 * parsing and evaluation small whatever the client sends. */
#define SEARCH_MAX_DEPTH 100

struct search_build {
	struct imap_cmd *cmd;
	struct store_mailbox *box;
	const char *error;	/* BAD text */
	unsigned int depth;
};

static const struct {
	const char *name;
	enum search_key_type type;
	uint32_t flags;
} search_flag_keys[] = {
	{ "ANSWERED", SEARCH_KEY_FLAGS_SET, STORE_FLAG_ANSWERED },
	{ "DELETED", SEARCH_KEY_FLAGS_SET, STORE_FLAG_DELETED },
	{ "DRAFT", SEARCH_KEY_FLAGS_SET, STORE_FLAG_DRAFT },
	{ "FLAGGED", SEARCH_KEY_FLAGS_SET, STORE_FLAG_FLAGGED },
	{ "SEEN", SEARCH_KEY_FLAGS_SET, STORE_FLAG_SEEN },
	{ "UNANSWERED", SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_ANSWERED },
	{ "UNDELETED", SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_DELETED },
	{ "UNDRAFT", SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_DRAFT },
	{ "UNFLAGGED", SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_FLAGGED },
	{ "UNSEEN", SEARCH_KEY_FLAGS_UNSET, STORE_FLAG_SEEN },
};

static const struct {
	const char *name;
	enum search_key_type type;
} search_date_keys[] = {
	{ "BEFORE", SEARCH_KEY_BEFORE },
	{ "ON", SEARCH_KEY_ON },
	{ "SINCE", SEARCH_KEY_SINCE },
	{ "SENTBEFORE", SEARCH_KEY_SENTBEFORE },
	{ "SENTON", SEARCH_KEY_SENTON },
	{ "SENTSINCE", SEARCH_KEY_SENTSINCE },
};

/* Keys that search one header field: name on the wire -> field name. */
static const struct {
	const char *name;
	const char *field;
} search_header_keys[] = {
	{ "BCC", "Bcc" },
	{ "CC", "Cc" },
	{ "FROM", "From" },
	{ "SUBJECT", "Subject" },
	{ "TO", "To" },
};

static const char *const search_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* astring = 1*ASTRING-CHAR / string */
static const char *search_arg_string(const struct imap_arg *arg, size_t *len_r)
{
	switch (arg->type) {
	case IMAP_ARG_ATOM:
	case IMAP_ARG_QUOTED:
	case IMAP_ARG_LITERAL:
		if (arg->has_nul)
			return NULL;
		*len_r = arg->len;
		return arg->str;
	default:
		return NULL;
	}
}

/* date = date-text / DQUOTE date-text DQUOTE
 * date-text = date-day "-" date-month "-" date-year
 * date-day = 1*2DIGIT; date-year = 4DIGIT */
static int search_parse_date(const struct imap_arg *arg, int64_t *day_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_QUOTED)
		return -1;
	const char *s = arg->str;
	int mday = 0, digits = 0;
	while (*s >= '0' && *s <= '9' && digits < 2) {
		mday = mday * 10 + (*s++ - '0');
		digits++;
	}
	if (digits == 0 || *s++ != '-' || mday < 1 || mday > 31)
		return -1;
	int month = 0;
	for (int m = 0; m < 12; m++) {
		if (strncasecmp(s, search_months[m], 3) == 0) {
			month = m + 1;
			break;
		}
	}
	if (month == 0 || s[3] != '-')
		return -1;
	s += 4;
	int year = 0;
	for (digits = 0; *s >= '0' && *s <= '9'; digits++)
		year = year * 10 + (*s++ - '0');
	if (digits != 4 || *s != '\0')
		return -1;
	*day_r = search_day_from_date(year, month, mday);
	return 0;
}

/* A sequence set (msns or UIDs) as the sorted ranges src/search wants. */
static int search_parse_set(struct search_build *b, const char *str, bool uid,
			    struct search_key *key)
{
	uint32_t count = store_mailbox_count(b->box);
	uint32_t max = count == 0 ? 0 :
		(uid ? store_mailbox_msg(b->box, count)->uid : count);
	struct seqset set = SEQSET_INIT;
	if (strcmp(str, "$") == 0) {
		b->error = "The search result variable $ is not supported yet.";
		return -1;
	}
	if (seqset_parse(&set, str, max, NULL) < 0) {
		b->error = "Invalid sequence set.";
		return -1;
	}
	size_t n = set.count;
	struct search_range *ranges = p_malloc(b->cmd->pool, (n == 0 ? 1 : n) * sizeof(*ranges));
	for (size_t i = 0; i < n; i++) {
		ranges[i].first = set.ranges[i].seq1;
		ranges[i].last = set.ranges[i].seq2;
	}
	seqset_deinit(&set);
	key->ranges = ranges;
	key->range_count = n;
	return 0;
}

static bool search_is_set_atom(const struct imap_arg *arg)
{
	if (arg->type != IMAP_ARG_ATOM)
		return false;
	char c = arg->str[0];
	return (c >= '0' && c <= '9') || c == '*' || c == '$';
}

static struct search_key *search_parse_key(struct search_build *b,
					   const struct imap_arg **argp);
static struct search_key *search_parse_key_inner(struct search_build *b,
						 const struct imap_arg **argp);

/* Parses keys until EOL into `parent` (an AND). */
static int search_parse_keys(struct search_build *b, const struct imap_arg *args,
			     struct search_key *parent)
{
	const struct imap_arg *arg = args;
	if (arg->type == IMAP_ARG_EOL) {
		b->error = "Missing search key.";
		return -1;
	}
	while (arg->type != IMAP_ARG_EOL) {
		struct search_key *key = search_parse_key(b, &arg);
		if (key == NULL)
			return -1;
		search_key_add_child(parent, key);
	}
	return 0;
}

/* search-key (RFC 9051 section 9), one key; advances *argp past it. */
static struct search_key *search_parse_key(struct search_build *b,
					   const struct imap_arg **argp)
{
	if (b->depth >= SEARCH_MAX_DEPTH) {
		b->error = "Search keys nested too deep.";
		return NULL;
	}
	b->depth++;
	struct search_key *key = search_parse_key_inner(b, argp);
	b->depth--;
	return key;
}

static struct search_key *search_parse_key_inner(struct search_build *b,
						 const struct imap_arg **argp)
{
	struct pool *pool = b->cmd->pool;
	const struct imap_arg *arg = *argp;
	struct search_key *key;
	size_t len;

	if (arg->type == IMAP_ARG_LIST) {
		/* "(" search-key *(SP search-key) ")" */
		key = search_key_new(pool, SEARCH_KEY_AND);
		if (search_parse_keys(b, arg->list, key) < 0)
			return NULL;
		*argp = arg + 1;
		return key;
	}
	if (arg->type != IMAP_ARG_ATOM) {
		b->error = "Invalid search key.";
		return NULL;
	}
	const char *name = arg->str;
	arg++;

	if (search_is_set_atom(&arg[-1])) {
		key = search_key_new(pool, SEARCH_KEY_MSN);
		if (search_parse_set(b, name, false, key) < 0)
			return NULL;
		*argp = arg;
		return key;
	}
	for (size_t i = 0; i < N_ELEMENTS(search_flag_keys); i++) {
		if (strcasecmp(name, search_flag_keys[i].name) == 0) {
			key = search_key_new(pool, search_flag_keys[i].type);
			key->flags = search_flag_keys[i].flags;
			*argp = arg;
			return key;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(search_date_keys); i++) {
		if (strcasecmp(name, search_date_keys[i].name) == 0) {
			key = search_key_new(pool, search_date_keys[i].type);
			if (search_parse_date(arg, &key->day) < 0) {
				b->error = "Invalid date (expected d-Mon-yyyy).";
				return NULL;
			}
			*argp = arg + 1;
			return key;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(search_header_keys); i++) {
		if (strcasecmp(name, search_header_keys[i].name) == 0) {
			key = search_key_new(pool, SEARCH_KEY_HEADER);
			key->name = search_header_keys[i].field;
			key->value = search_arg_string(arg, &key->value_len);
			if (key->value == NULL) {
				b->error = "Missing or invalid search string.";
				return NULL;
			}
			*argp = arg + 1;
			return key;
		}
	}
	if (strcasecmp(name, "ALL") == 0) {
		key = search_key_new(pool, SEARCH_KEY_ALL);
	} else if (strcasecmp(name, "RECENT") == 0) {
		key = search_key_new(pool, SEARCH_KEY_RECENT);
	} else if (strcasecmp(name, "NEW") == 0) {
		/* \Recent and not \Seen */
		key = search_key_new(pool, SEARCH_KEY_AND);
		search_key_add_child(key, search_key_new(pool, SEARCH_KEY_RECENT));
		struct search_key *unseen = search_key_new(pool, SEARCH_KEY_FLAGS_UNSET);
		unseen->flags = STORE_FLAG_SEEN;
		search_key_add_child(key, unseen);
	} else if (strcasecmp(name, "OLD") == 0) {
		key = search_key_new(pool, SEARCH_KEY_NOT);
		search_key_add_child(key, search_key_new(pool, SEARCH_KEY_RECENT));
	} else if (strcasecmp(name, "KEYWORD") == 0 || strcasecmp(name, "UNKEYWORD") == 0) {
		if (arg->type != IMAP_ARG_ATOM || !imap_flags_is_keyword(arg->str)) {
			b->error = "Invalid keyword.";
			return NULL;
		}
		struct search_key *kw = search_key_new(pool, SEARCH_KEY_KEYWORD);
		/* -1 (not in the mailbox's table) matches nothing */
		kw->keyword = store_mailbox_keyword_index(b->box, arg->str, false);
		arg++;
		if (strcasecmp(name, "KEYWORD") == 0) {
			key = kw;
		} else {
			key = search_key_new(pool, SEARCH_KEY_NOT);
			search_key_add_child(key, kw);
		}
	} else if (strcasecmp(name, "LARGER") == 0 || strcasecmp(name, "SMALLER") == 0) {
		key = search_key_new(pool, strcasecmp(name, "LARGER") == 0 ?
				     SEARCH_KEY_LARGER : SEARCH_KEY_SMALLER);
		if (arg->type != IMAP_ARG_ATOM ||
		    str_to_u64(arg->str, INT64_MAX, &key->number) < 0) {
			b->error = "Invalid number.";
			return NULL;
		}
		arg++;
	} else if (strcasecmp(name, "HEADER") == 0) {
		key = search_key_new(pool, SEARCH_KEY_HEADER);
		size_t name_len;
		key->name = search_arg_string(arg, &name_len);
		if (key->name == NULL || name_len == 0 || arg[1].type == IMAP_ARG_EOL) {
			b->error = "HEADER needs a field name and a string.";
			return NULL;
		}
		key->value = search_arg_string(&arg[1], &key->value_len);
		if (key->value == NULL) {
			b->error = "Missing or invalid search string.";
			return NULL;
		}
		arg += 2;
	} else if (strcasecmp(name, "BODY") == 0 || strcasecmp(name, "TEXT") == 0) {
		key = search_key_new(pool, strcasecmp(name, "BODY") == 0 ?
				     SEARCH_KEY_BODY : SEARCH_KEY_TEXT);
		key->value = search_arg_string(arg, &len);
		if (key->value == NULL) {
			b->error = "Missing or invalid search string.";
			return NULL;
		}
		key->value_len = len;
		arg++;
	} else if (strcasecmp(name, "UID") == 0) {
		key = search_key_new(pool, SEARCH_KEY_UID);
		if (arg->type != IMAP_ARG_ATOM || !search_is_set_atom(arg)) {
			b->error = "UID needs a sequence set.";
			return NULL;
		}
		if (search_parse_set(b, arg->str, true, key) < 0)
			return NULL;
		arg++;
	} else if (strcasecmp(name, "NOT") == 0) {
		if (arg->type == IMAP_ARG_EOL) {
			b->error = "NOT needs a search key.";
			return NULL;
		}
		key = search_key_new(pool, SEARCH_KEY_NOT);
		struct search_key *child = search_parse_key(b, &arg);
		if (child == NULL)
			return NULL;
		search_key_add_child(key, child);
	} else if (strcasecmp(name, "OR") == 0) {
		key = search_key_new(pool, SEARCH_KEY_OR);
		for (int i = 0; i < 2; i++) {
			if (arg->type == IMAP_ARG_EOL) {
				b->error = "OR needs two search keys.";
				return NULL;
			}
			struct search_key *child = search_parse_key(b, &arg);
			if (child == NULL)
				return NULL;
			search_key_add_child(key, child);
		}
	} else {
		b->error = p_strdup_printf(pool, "Unknown search key %.40s.", name);
		return NULL;
	}
	*argp = arg;
	return key;
}

/* ---- results ---- */

static bool search_bit(const struct cmd_search_ctx *ctx, uint32_t msn)
{
	return (ctx->matches[(msn - 1) / 8] & (1u << ((msn - 1) % 8))) != 0;
}

static uint32_t search_result_value(const struct cmd_search_ctx *ctx, uint32_t msn)
{
	if (ctx->cmd->uid)
		return store_mailbox_msg(ctx->cmd->session->box, msn)->uid;
	return msn;
}

static void search_flush(struct imap_session *s, struct str *line, bool final)
{
	if (final || line->len >= SEARCH_LINE_FLUSH) {
		imap_session_write(s, line->data == NULL ? "" : line->data, line->len);
		str_truncate(line, 0);
	}
}

/* Writes ALL's sequence set: matching msns (or their UIDs, ascending like
 * the msns) as ranges. */
static void search_write_all(struct cmd_search_ctx *ctx, struct str *line)
{
	struct imap_session *s = ctx->cmd->session;
	bool first = true;
	uint32_t msn = 1;
	while (msn <= ctx->count) {
		if (!search_bit(ctx, msn)) {
			msn++;
			continue;
		}
		uint32_t start = search_result_value(ctx, msn), end = start;
		msn++;
		while (msn <= ctx->count && search_bit(ctx, msn)) {
			uint32_t v = search_result_value(ctx, msn);
			if (v != end + 1)
				break;
			end = v;
			msn++;
		}
		if (!first)
			str_append_c(line, ',');
		first = false;
		if (start == end)
			str_printfa(line, "%u", start);
		else
			str_printfa(line, "%u:%u", start, end);
		search_flush(s, line, false);
	}
}

static void search_send_result(struct cmd_search_ctx *ctx)
{
	struct imap_session *s = ctx->cmd->session;
	struct str line = STR_INIT;
	uint32_t count = 0, min_msn = 0, max_msn = 0;

	for (uint32_t msn = 1; msn <= ctx->count; msn++) {
		if (!search_bit(ctx, msn))
			continue;
		if (min_msn == 0)
			min_msn = msn;
		max_msn = msn;
		count++;
	}
	if (!ctx->esearch) {
		str_append(&line, "* SEARCH");
		for (uint32_t msn = 1; msn <= ctx->count; msn++) {
			if (!search_bit(ctx, msn))
				continue;
			str_printfa(&line, " %u", search_result_value(ctx, msn));
			search_flush(s, &line, false);
		}
	} else {
		/* tags are atoms without '"' or '\\' (tag = 1*<ASTRING-CHAR
		 * except "+">), so quoting needs no escapes */
		str_printfa(&line, "* ESEARCH (TAG \"%s\")", ctx->cmd->tag);
		if (ctx->cmd->uid)
			str_append(&line, " UID");
		if ((ctx->returns & SEARCH_RETURN_MIN) != 0 && count > 0)
			str_printfa(&line, " MIN %u", search_result_value(ctx, min_msn));
		if ((ctx->returns & SEARCH_RETURN_MAX) != 0 && count > 0)
			str_printfa(&line, " MAX %u", search_result_value(ctx, max_msn));
		if ((ctx->returns & SEARCH_RETURN_COUNT) != 0)
			str_printfa(&line, " COUNT %u", count);
		if ((ctx->returns & SEARCH_RETURN_ALL) != 0 && count > 0) {
			str_append(&line, " ALL ");
			search_write_all(ctx, &line);
		}
	}
	str_append(&line, "\r\n");
	search_flush(s, &line, true);
	str_free(&line);
}

/* ---- running ---- */

static void search_deinit(struct cmd_search_ctx *ctx)
{
	if (ctx->timer != NULL)
		net_timer_destroy(&ctx->timer);
	search_ctx_destroy(&ctx->search);
	free(ctx->matches);
	ctx->matches = NULL;
}

static void cmd_search_abort(struct imap_cmd *cmd)
{
	search_deinit(cmd->ctx);
}

/* Evaluates messages until done (returns true after the tagged reply) or
 * until the slice's time is up (returns false). */
static bool search_run(struct cmd_search_ctx *ctx, bool sliced)
{
	struct imap_cmd *cmd = ctx->cmd;
	uint64_t deadline = time_monotonic_ms() + SEARCH_SLICE_MSECS;

	while (ctx->next_msn <= ctx->count) {
		uint32_t msn = ctx->next_msn++;
		int ret = search_match(ctx->search, msn);
		if (ret < 0) {
			search_deinit(ctx);
			return imap_cmd_store_error(cmd, false);
		}
		if (ret > 0)
			ctx->matches[(msn - 1) / 8] |= (uint8_t)(1u << ((msn - 1) % 8));
		if (sliced && (msn % 64) == 0 && time_monotonic_ms() >= deadline)
			return false;
	}
	search_send_result(ctx);
	bool expunged = search_ctx_had_expunged(ctx->search);
	search_deinit(ctx);
	if (expunged)
		return imap_cmd_ok(cmd, "[EXPUNGEISSUED] Search completed (some messages were expunged).");
	return imap_cmd_ok(cmd, "Search completed.");
}

static void search_timer(void *context)
{
	struct cmd_search_ctx *ctx = context;
	net_timer_destroy(&ctx->timer);
	if (search_run(ctx, true)) {
		imap_cmd_finish(ctx->cmd);
		return;
	}
	ctx->timer = net_timer_create(0, false, search_timer, ctx);
}

/* search-return-opts = SP "RETURN" SP "(" [search-return-opt
 *                      *(SP search-return-opt)] ")"
 * search-return-opt = "MIN" / "MAX" / "ALL" / "COUNT" / "SAVE" */
static int search_parse_return(const struct imap_arg *arg, unsigned int *returns_r,
			       const char **error_r)
{
	static const struct {
		const char *name;
		unsigned int bit;
	} opts[] = {
		{ "MIN", SEARCH_RETURN_MIN }, { "MAX", SEARCH_RETURN_MAX },
		{ "COUNT", SEARCH_RETURN_COUNT }, { "ALL", SEARCH_RETURN_ALL },
	};
	if (arg->type != IMAP_ARG_LIST) {
		*error_r = "RETURN needs a list of options.";
		return -1;
	}
	*returns_r = 0;
	for (unsigned int i = 0; i < arg->list_count; i++) {
		const struct imap_arg *o = &arg->list[i];
		size_t j;
		if (o->type != IMAP_ARG_ATOM) {
			*error_r = "Invalid RETURN option.";
			return -1;
		}
		if (strcasecmp(o->str, "SAVE") == 0) {
			*error_r = "RETURN (SAVE) is not supported yet.";
			return -1;
		}
		for (j = 0; j < N_ELEMENTS(opts); j++) {
			if (strcasecmp(o->str, opts[j].name) == 0)
				break;
		}
		if (j == N_ELEMENTS(opts)) {
			*error_r = "Unknown RETURN option.";
			return -1;
		}
		*returns_r |= opts[j].bit;
	}
	if (*returns_r == 0)
		*returns_r = SEARCH_RETURN_ALL;	/* RETURN () */
	return 0;
}

/* search = "SEARCH" [search-return-opts] SP search-program
 * search-program = ["CHARSET" SP charset SP] search-key *(SP search-key) */
bool cmd_search(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	const struct imap_arg *args = cmd->args;
	struct cmd_search_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	const char *error;

	ctx->cmd = cmd;
	ctx->esearch = s->rev2;
	ctx->returns = SEARCH_RETURN_ALL;
	if (args[0].type == IMAP_ARG_ATOM && strcasecmp(args[0].str, "RETURN") == 0) {
		if (search_parse_return(&args[1], &ctx->returns, &error) < 0)
			return imap_cmd_bad(cmd, "%s", error);
		ctx->esearch = true;
		args += 2;
	}
	if (args[0].type == IMAP_ARG_ATOM && strcasecmp(args[0].str, "CHARSET") == 0) {
		size_t len;
		const char *charset = search_arg_string(&args[1], &len);
		if (charset == NULL)
			return imap_cmd_bad(cmd, "CHARSET needs a name.");
		if (strcasecmp(charset, "UTF-8") != 0 && strcasecmp(charset, "US-ASCII") != 0)
			return imap_cmd_no(cmd, "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset.");
		args += 2;
	}

	struct search_build b = { .cmd = cmd, .box = s->box };
	ctx->program = search_key_new(cmd->pool, SEARCH_KEY_AND);
	if (search_parse_keys(&b, args, ctx->program) < 0)
		return imap_cmd_bad(cmd, "%s", b.error);

	ctx->count = store_mailbox_count(s->box);
	ctx->next_msn = 1;
	ctx->matches = xcalloc(ctx->count / 8 + 1, 1);
	ctx->search = search_ctx_create(s->store, s->box, ctx->program);
	cmd->ctx = ctx;
	cmd->abort = cmd_search_abort;

	bool sliced = search_key_needs_content(ctx->program);
	if (search_run(ctx, sliced))
		return true;
	/* continues from a timer; the dispatcher holds input meanwhile */
	ctx->timer = net_timer_create(0, false, search_timer, ctx);
	return false;
}
