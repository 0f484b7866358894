/* ext-variables.c: RFC 5229 variables: the set command with its
 * modifiers and the string test (expansion of "${...}" is in interp.c). */
#include "sieve-private.h"

#include <stdlib.h>
#include <string.h>

static int validate_set(struct sieve_node *node, struct sieve_script *script,
			struct str *error_r)
{
	const char *name = node->pos[0]->strs[0];

	/* RFC 6609 3.5: the "global" namespace */
	if (sieve_script_requires(script, "include") && strncasecmp(name, "global.", 7) == 0)
		name += 7;
	if (!sieve_is_identifier(name)) {
		str_printfa(error_r, "set: invalid variable name '%s'", name);
		return -1;
	}
	return 0;
}

/* RFC 5229 4.1: modifiers apply by precedence, highest first:
 * 40 :lower/:upper, 30 :lowerfirst/:upperfirst, 20 :quotewildcard,
 * 10 :length. */
static int exec_set(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char *value = sieve_interp_str(interp, node->pos[1]->strs[0]);
	struct str s = STR_INIT;

	str_append(&s, value);
	if (s.data == NULL)
		str_append(&s, "");
	if (sieve_node_tag(node, "lower") != NULL || sieve_node_tag(node, "upper") != NULL) {
		bool up = sieve_node_tag(node, "upper") != NULL;
		for (size_t i = 0; i < s.len; i++) {
			char c = s.data[i];
			if (up && c >= 'a' && c <= 'z')
				s.data[i] = (char)(c - 32);
			else if (!up && c >= 'A' && c <= 'Z')
				s.data[i] = (char)(c + 32);
		}
	}
	if (s.len > 0 && sieve_node_tag(node, "upperfirst") != NULL &&
	    s.data[0] >= 'a' && s.data[0] <= 'z')
		s.data[0] = (char)(s.data[0] - 32);
	if (s.len > 0 && sieve_node_tag(node, "lowerfirst") != NULL &&
	    s.data[0] >= 'A' && s.data[0] <= 'Z')
		s.data[0] = (char)(s.data[0] + 32);
	if (sieve_node_tag(node, "quotewildcard") != NULL) {
		struct str q = STR_INIT;
		for (size_t i = 0; i < s.len; i++) {
			if (s.data[i] == '*' || s.data[i] == '?' || s.data[i] == '\\')
				str_append_c(&q, '\\');
			str_append_c(&q, s.data[i]);
		}
		str_truncate(&s, 0);
		str_append_n(&s, q.data != NULL ? q.data : "", q.len);
		str_free(&q);
	}
	if (sieve_node_tag(node, "length") != NULL) {
		/* the length in characters (UTF-8) */
		size_t chars = 0;
		for (size_t i = 0; i < s.len; i++) {
			if (((unsigned char)s.data[i] & 0xc0) != 0x80)
				chars++;
		}
		str_truncate(&s, 0);
		str_printfa(&s, "%zu", chars);
	}
	int ret = sieve_interp_var_set(interp, node->pos[0]->strs[0], s.data, s.len);
	str_free(&s);
	return ret;
}

/* string [MATCH-TYPE] [COMPARATOR] <source: string-list> <key-list: string-list> */
static int exec_string(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char **src = sieve_interp_strlist(interp, node->pos[0]);
	size_t count = node->pos[0]->count;

	if (node->match == SIEVE_MATCH_COUNT) {
		/* RFC 5229 5: with :count, empty strings are not counted */
		size_t k = 0;
		for (size_t i = 0; i < count; i++) {
			if (*src[i] != '\0')
				src[k++] = src[i];
		}
		count = k;
	}
	return sieve_interp_match(interp, node, src, NULL, count, node->pos[1]);
}

static const struct sieve_tag_def set_tags[] = {
	{ .name = "lower", .param = SIEVE_P_NONE, .exclusive = 1 },
	{ .name = "upper", .param = SIEVE_P_NONE, .exclusive = 1 },
	{ .name = "lowerfirst", .param = SIEVE_P_NONE, .exclusive = 2 },
	{ .name = "upperfirst", .param = SIEVE_P_NONE, .exclusive = 2 },
	{ .name = "quotewildcard", .param = SIEVE_P_NONE },
	{ .name = "length", .param = SIEVE_P_NONE },
	{ .name = NULL },
};

static const struct sieve_cmd_def variables_cmds[] = {
	{ "set", "variables", 0, "ss", set_tags, validate_set, exec_set },
	{ "string", "variables", SIEVE_CMD_TEST | SIEVE_CMD_MATCH, "ll", NULL, NULL, exec_string },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_variables = {
	"variables", variables_cmds, NULL, true,
};
