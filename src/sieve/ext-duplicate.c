/* ext-duplicate.c: RFC 7352 duplicate, and RFC 5235 spamtest,
 * spamtestplus and virustest: the tests that read state or scores the
 * interpreter does not keep itself (the tracking memory through
 * env->duplicate_seen, the score headers named in struct sieve_env). */
#include "sieve-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DUPLICATE_DEFAULT_SECONDS (14 * 86400)

static int validate_duplicate(struct sieve_node *node, struct sieve_script *script,
			      struct str *error_r)
{
	(void)script;
	if (sieve_node_tag(node, "header") != NULL && sieve_node_tag(node, "uniqueid") != NULL) {
		str_append(error_r, "duplicate: :header and :uniqueid exclude each other");
		return -1;
	}
	return 0;
}

/* duplicate [":handle" <handle: string>]
 *           [":header" <header-name: string> / ":uniqueid" <value: string>]
 *           [":seconds" <timeout: number>] [":last"] */
static int exec_duplicate(struct sieve_interp *interp, const struct sieve_node *node)
{
	const struct sieve_tagval *tv;
	const char *value = NULL;

	if ((tv = sieve_node_tag(node, "uniqueid")) != NULL) {
		value = sieve_interp_str(interp, tv->param->strs[0]);
	} else {
		const char *name = "message-id";
		if ((tv = sieve_node_tag(node, "header")) != NULL)
			name = sieve_interp_str(interp, tv->param->strs[0]);
		const char **v;
		/* RFC 7352 3.1: without the field the test is false */
		if (sieve_interp_header(interp, name, &v) == 0)
			return 0;
		value = v[0];
	}
	struct str id = STR_INIT;
	tv = sieve_node_tag(node, "handle");
	str_append(&id, "duplicate:");
	if (tv != NULL)
		str_append(&id, sieve_interp_str(interp, tv->param->strs[0]));
	str_append_c(&id, '\0');
	str_append(&id, value);

	unsigned int period = DUPLICATE_DEFAULT_SECONDS;
	if ((tv = sieve_node_tag(node, "seconds")) != NULL)
		period = tv->param->number > UINT32_MAX ? UINT32_MAX : (unsigned int)tv->param->number;

	/* an id already marked in this run is a duplicate too */
	bool seen = false;
	for (size_t i = 0; i < interp->dup_count && !seen; i++) {
		seen = interp->dups[i].id_len == id.len &&
			memcmp(interp->dups[i].id, id.data, id.len) == 0;
	}
	if (!seen && interp->env != NULL && interp->env->duplicate_seen != NULL)
		seen = interp->env->duplicate_seen(interp->env->ctx, id.data, id.len) == 1;
	/* RFC 7352 3.4: without :last the expiry of a seen id is left
	 * alone; with it, every occurrence restarts the period */
	if (!seen || sieve_node_tag(node, "last") != NULL) {
		array_reserve((void **)&interp->dups, &interp->dup_cap, interp->dup_count + 1,
			      sizeof(*interp->dups));
		struct sieve_duplicate_mark *m = &interp->dups[interp->dup_count++];
		m->id = p_memdup(interp->pool, id.data, id.len);
		m->id_len = id.len;
		m->period = period;
	}
	str_free(&id);
	return seen ? 1 : 0;
}

/* The leading number of a score header, with an optional "/MAX", or a
 * run of '*' (SpamAssassin's X-Spam-Level).  Returns 0, or -1 when the
 * value holds no score. */
static int parse_score(const char *v, double *score_r, double *max_r)
{
	char *end;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v == '*') {
		*score_r = (double)strspn(v, "*");
		return 0;
	}
	double score = strtod(v, &end);
	if (end == v || !isfinite(score))
		return -1;
	*score_r = score;
	while (*end == ' ')
		end++;
	if (*end == '/') {
		double max = strtod(end + 1, &end);
		if (isfinite(max) && max > 0)
			*max_r = max;
	}
	return 0;
}

/* RFC 5235 3.2/3.3: the normalised result: "1" not spam .. "10" spam
 * (virustest "1".."5"), with :percent "0".."100"; NULL when the message
 * was not tested (no such header, or no score in it). */
static const char *spam_value(struct sieve_interp *interp, const char *header, bool percent,
			      double default_max, unsigned int top)
{
	const char **v;
	double score, max = default_max;

	if (header == NULL || sieve_interp_header(interp, header, &v) == 0 ||
	    parse_score(v[0], &score, &max) < 0)
		return NULL;
	double ratio = score / max;
	if (ratio < 0)
		ratio = 0;
	if (ratio > 1)
		ratio = 1;
	if (percent)
		return p_strdup_printf(interp->pool, "%u", (unsigned int)(ratio * 100 + 0.5));
	return p_strdup_printf(interp->pool, "%u", 1 + (unsigned int)(ratio * (top - 1) + 0.5));
}

/* RFC 5235 3.1: untested is the value "0", and :count is 1 when the
 * message was tested, 0 when not */
static int match_score(struct sieve_interp *interp, const struct sieve_node *node,
		       const char *value)
{
	if (value == NULL && node->match == SIEVE_MATCH_COUNT)
		return sieve_interp_match(interp, node, NULL, NULL, 0, node->pos[0]);
	if (value == NULL)
		value = "0";
	return sieve_interp_match(interp, node, &value, NULL, 1, node->pos[0]);
}

/* spamtest [":percent"] [COMPARATOR] [MATCH-TYPE] <value: string> */
static int exec_spamtest(struct sieve_interp *interp, const struct sieve_node *node)
{
	bool percent = sieve_node_tag(node, "percent") != NULL;
	const struct sieve_env *env = interp->env;
	const char *value = spam_value(interp, env != NULL ? env->spam_header : NULL, percent,
				       env != NULL && env->spam_max > 0 ? env->spam_max : 10, 10);

	return match_score(interp, node, value);
}

/* virustest [COMPARATOR] [MATCH-TYPE] <value: string> */
static int exec_virustest(struct sieve_interp *interp, const struct sieve_node *node)
{
	const struct sieve_env *env = interp->env;
	const char *value = spam_value(interp, env != NULL ? env->virus_header : NULL, false,
				       env != NULL && env->virus_max > 0 ? env->virus_max : 5, 5);

	return match_score(interp, node, value);
}

static const struct sieve_tag_def duplicate_tags[] = {
	{ .name = "handle", .param = SIEVE_P_STRING },
	{ .name = "header", .param = SIEVE_P_STRING },
	{ .name = "uniqueid", .param = SIEVE_P_STRING },
	{ .name = "seconds", .param = SIEVE_P_NUMBER },
	{ .name = "last", .param = SIEVE_P_NONE },
	{ .name = NULL },
};

static const struct sieve_cmd_def duplicate_cmds[] = {
	{ "duplicate", "duplicate", SIEVE_CMD_TEST, "", duplicate_tags, validate_duplicate,
	  exec_duplicate },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_duplicate = {
	"duplicate", duplicate_cmds, NULL, true,
};

static const struct sieve_tag_def spamtest_tags[] = {
	{ .name = "percent", .param = SIEVE_P_NONE, .ext = "spamtestplus" },
	{ .name = NULL },
};

static const struct sieve_cmd_def spamtest_cmds[] = {
	{ "spamtest", "spamtest", SIEVE_CMD_TEST | SIEVE_CMD_MATCH, "s", spamtest_tags, NULL,
	  exec_spamtest },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_spamtest = {
	"spamtest", spamtest_cmds, NULL, true,
};

const struct sieve_extension sieve_ext_spamtestplus = {
	"spamtestplus", NULL, NULL, true,
};

static const struct sieve_cmd_def virustest_cmds[] = {
	{ "virustest", "virustest", SIEVE_CMD_TEST | SIEVE_CMD_MATCH, "s", NULL, NULL,
	  exec_virustest },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_virustest = {
	"virustest", virustest_cmds, NULL, true,
};
