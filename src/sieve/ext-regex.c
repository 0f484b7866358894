/* ext-regex.c: the "regex" extension: the :regex match type for every
 * test that takes a match type, on the checked ERE subset of regex.c.
 * Constant patterns are compiled when the script is; a pattern built
 * from variables is compiled when it is used, and one that does not
 * compile then does not match. */
#include "sieve-private.h"
#include "sieve/regex.h"

#include <string.h>

static size_t max_regex_size(void)
{
	struct sieve_limits limits;

	sieve_limits_default(&limits);
	return limits.max_regex_size;
}

bool sieve_ext_regex_match(int comparator, const char *value, size_t value_len,
			   const char *key, size_t key_len,
			   struct pool *pool, struct sieve_match_vars *vars)
{
	struct str error = STR_INIT;
	struct sieve_regex_match m;
	struct sieve_regex *re;
	int ret;

	if (comparator == SIEVE_CMP_ASCII_NUMERIC)
		return false;
	re = sieve_regex_compile(key, key_len, comparator == SIEVE_CMP_ASCII_CASEMAP,
				 max_regex_size(), &error);
	str_free(&error);
	if (re == NULL)
		return false;
	ret = sieve_regex_match(re, value, value_len, &m);
	sieve_regex_free(&re);
	if (ret <= 0)
		return false;
	if (vars != NULL) {
		/* ${0} the matched text, ${1}..${9} the groups; a group that
		 * took no part is "" */
		memset(vars, 0, sizeof(*vars));
		for (size_t i = 0; i < SIEVE_MATCH_VARS && i < SIEVE_REGEX_MATCH_VARS; i++) {
			if (m.start[i] < 0)
				continue;
			vars->values[i] = p_strndup(pool, value + m.start[i],
						    (size_t)(m.end[i] - m.start[i]));
			vars->lens[i] = (size_t)(m.end[i] - m.start[i]);
		}
		vars->count = SIEVE_MATCH_VARS;
	}
	return true;
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
		re = sieve_regex_compile(key, strlen(key), icase, max_regex_size(), error_r);
		if (re == NULL) {
			str_printfa(error_r, " in '%s'", key);
			return -1;
		}
		sieve_regex_free(&re);
	}
	return 0;
}

static const struct sieve_tag_def regex_tags[] = {
	{ "regex", SIEVE_P_NONE, "regex", SIEVE_TG_MATCH, SIEVE_MATCH_REGEX, 0 },
	{ NULL, 0, NULL, 0, 0, 0 },
};

const struct sieve_extension sieve_ext_regex = {
	"regex", NULL, regex_tags, true,
};
