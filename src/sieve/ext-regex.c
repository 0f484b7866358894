/* ext-regex.c: the "regex" extension: the :regex match type for every
 * test that takes a match type, on the checked ERE subset of regex.c.
 * Constant patterns are checked when the script is compiled; a pattern
 * built from variables is checked when it is used, and one that does not
 * pass is a run-time error (as in Pigeonhole). */
#include "sieve-private.h"
#include "sieve/regex.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t cpu_ms_used(const struct sieve_interp *interp)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec -
		interp->cpu_start_ns) / 1000000u;
}

int sieve_ext_regex_match(struct sieve_interp *interp, const struct sieve_node *node,
			  const char *const *values, const size_t *lens, size_t count,
			  const char *const *keys, size_t key_count)
{
	bool icase = node->comparator == SIEVE_CMP_ASCII_CASEMAP, found = false;
	int ret = -1;
	struct sieve_regex **res = xcalloc(key_count + 1, sizeof(*res));
	struct str error = STR_INIT;
	struct sieve_regex_match m;

	for (size_t j = 0; j < key_count; j++) {
		res[j] = sieve_regex_compile(keys[j], strlen(keys[j]), icase,
					     interp->limits->max_regex_size, &error);
		if (res[j] == NULL) {
			sieve_interp_fail(interp, "%s in '%s'", str_c(&error), keys[j]);
			goto out;
		}
	}
	for (size_t i = 0; i < count && !found; i++) {
		size_t vlen = lens != NULL ? lens[i] : strlen(values[i]);

		/* a match may take a while (regex.h): the CPU limit holds
		 * between two values, not only between commands */
		if (i > 0 && cpu_ms_used(interp) > interp->limits->max_cpu_ms) {
			sieve_interp_fail(interp, "the script used more than %u ms of CPU time",
					  interp->limits->max_cpu_ms);
			goto out;
		}

		for (size_t j = 0; j < key_count && !found; j++) {
			int r = sieve_regex_match(res[j], values[i], vlen, &m);

			if (r < 0) {
				sieve_interp_fail(interp, "regex: matching failed");
				goto out;
			}
			found = r > 0;
		}
		if (found && interp->script->uses_variables) {
			/* ${0} the matched text, ${1}..${9} the groups; a
			 * group that took no part is "" */
			struct sieve_match_vars *vars = &interp->match_vars;

			memset(vars, 0, sizeof(*vars));
			for (size_t g = 0; g < SIEVE_MATCH_VARS && g < SIEVE_REGEX_MATCH_VARS; g++) {
				if (m.start[g] < 0)
					continue;
				vars->values[g] = p_strndup(interp->pool, values[i] + m.start[g],
							    (size_t)(m.end[g] - m.start[g]));
				vars->lens[g] = (size_t)(m.end[g] - m.start[g]);
			}
			vars->count = SIEVE_MATCH_VARS;
		}
	}
	ret = found ? 1 : 0;
out:
	for (size_t j = 0; j < key_count; j++)
		sieve_regex_free(&res[j]);
	free(res);
	str_free(&error);
	return ret;
}

int sieve_ext_regex_validate(struct sieve_node *node, struct sieve_script *script,
			     struct str *error_r)
{
	const struct sieve_arg *keys;
	bool icase;

	if (node->comparator == SIEVE_CMP_ASCII_NUMERIC) {
		str_append(error_r, "the :regex match type works with the i;octet and "
			   "i;ascii-casemap comparators only");
		return -1;
	}
	icase = node->comparator == SIEVE_CMP_ASCII_CASEMAP;
	if (node->pos_count == 0)
		return 0;
	keys = node->pos[node->pos_count - 1];
	for (size_t i = 0; i < keys->count; i++) {
		const char *key = keys->strs[i];
		struct sieve_regex *re;

		if (script->uses_variables && strstr(key, "${") != NULL)
			continue;
		re = sieve_regex_compile(key, strlen(key), icase, script->max_regex_size, error_r);
		if (re == NULL) {
			str_printfa(error_r, " in '%s'", key);
			return -1;
		}
		sieve_regex_free(&re);
	}
	return 0;
}

static const struct sieve_tag_def regex_tags[] = {
	{ .name = "regex", .param = SIEVE_P_NONE, .ext = "regex", .group = SIEVE_TG_MATCH,
	  .value = SIEVE_MATCH_REGEX },
	{ .name = NULL },
};

const struct sieve_extension sieve_ext_regex = {
	"regex", NULL, regex_tags, true,
};
