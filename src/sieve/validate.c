/* validate.c: checks a parsed script against the registered definitions
 * (ext.c) before it may run: every command and test known and its
 * extension required, its tagged and positional arguments of the right
 * types, blocks and tests where they belong, require only at the start,
 * elsif/else only after if.  Also decodes RFC 5228 2.4.2.4
 * encoded-character when the script requires it.
 *
 * After this, running the script never meets a syntax problem. */
#include "sieve-private.h"
#include "base/utf8.h"

#include <stdlib.h>
#include <string.h>

/* Errors reported at most; validation goes on after one, as a
 * script editor wants to see them all (RFC 5804 CHECKSCRIPT). */
#define MAX_ERRORS 10

struct validator {
	struct sieve_script *script;
	struct str *errors;
	struct str msg;
	unsigned int error_count;
};

static void ATTR_PRINTF(3, 4)
verror(struct validator *v, unsigned int line, const char *fmt, ...)
{
	va_list args;

	if (v->error_count++ >= MAX_ERRORS) {
		if (v->error_count == MAX_ERRORS + 1)
			str_printfa(v->errors, "line %u: more errors; only the first %u are listed\n",
				    line, MAX_ERRORS);
		return;
	}
	str_printfa(v->errors, "line %u: ", line);
	va_start(args, fmt);
	str_vprintfa(v->errors, fmt, args);
	va_end(args);
	str_append_c(v->errors, '\n');
}

bool sieve_script_requires(const struct sieve_script *script, const char *name)
{
	int idx = sieve_ext_find(name);

	return idx >= 0 && script->required[idx];
}

bool sieve_is_identifier(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_' ||
		      (*s >= '0' && *s <= '9')))
			return false;
	}
	return true;
}

static bool ext_enabled(const struct sieve_script *script, const char *ext)
{
	return ext == NULL || sieve_script_requires(script, ext);
}

const struct sieve_tagval *sieve_node_tag(const struct sieve_node *node, const char *name)
{
	for (size_t i = 0; i < node->tag_count; i++) {
		if (strcmp(node->tags[i].def->name, name) == 0)
			return &node->tags[i];
	}
	return NULL;
}

/* RFC 5228 2.4.2.4:
 * encoded-arb-octets   = "${hex:" hex-pair-seq "}"
 * encoded-unicode-char = "${unicode:" unicode-hex-seq "}"
 * Returns the decoded string, or the input when it holds no encoding;
 * NULL (with the error reported) for a Unicode value out of range. */
static const char *decode_encoded(struct validator *v, unsigned int line, const char *s)
{
	if (strstr(s, "${") == NULL)
		return s;

	struct str out = STR_INIT;
	const char *p = s;
	while (*p != '\0') {
		bool hex = str_has_prefix_icase(p, "${hex:");
		bool uni = !hex && str_has_prefix_icase(p, "${unicode:");
		if (!hex && !uni) {
			str_append_c(&out, *p++);
			continue;
		}
		const char *q = p + (hex ? 6 : 10);
		struct str dec = STR_INIT;
		bool ok = true, any = false;
		for (;;) {
			while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
				q++;
			if (*q == '}')
				break;
			uint32_t val = 0;
			size_t digits = 0;
			while (strchr("0123456789abcdefABCDEF", *q) != NULL && *q != '\0') {
				char c = *q++;
				unsigned int d = c <= '9' ? (unsigned int)(c - '0') :
					(unsigned int)((c | 0x20) - 'a' + 10);
				if (digits < 8)
					val = val * 16 + d;
				digits++;
			}
			if (digits == 0 || (hex && digits != 2) || (uni && digits > 6 && val != 0)) {
				ok = false;
				break;
			}
			any = true;
			if (hex) {
				str_append_c(&dec, (char)val);
			} else {
				if (val > 0x10ffff || (val >= 0xd800 && val <= 0xdfff)) {
					verror(v, line, "invalid unicode character 0x%x in encoded-character", val);
					str_free(&dec);
					str_free(&out);
					return NULL;
				}
				char buf[4];
				str_append_n(&dec, buf, utf8_encode(val, buf));
			}
		}
		(void)any;
		if (ok) {
			str_append_n(&out, dec.data != NULL ? dec.data : "", dec.len);
			p = q + 1;
		} else {
			str_append_c(&out, *p++);
		}
		str_free(&dec);
	}
	const char *ret = p_strndup(v->script->pool, out.data != NULL ? out.data : "", out.len);
	str_free(&out);
	return ret;
}

static const char *arg_desc(const struct sieve_arg *arg)
{
	switch (arg->kind) {
	case SIEVE_ARG_NUMBER: return "number";
	case SIEVE_ARG_STRING: return "string";
	case SIEVE_ARG_STRLIST: return "string list";
	case SIEVE_ARG_TAG: return "tag";
	}
	return "argument";
}

static bool arg_fits(const struct sieve_arg *arg, char want)
{
	switch (want) {
	case 's':
		return arg->kind == SIEVE_ARG_STRING;
	case 'l':
		return arg->kind == SIEVE_ARG_STRING || arg->kind == SIEVE_ARG_STRLIST;
	case 'n':
		return arg->kind == SIEVE_ARG_NUMBER;
	default:
		return false;
	}
}

static const char *want_desc(char want)
{
	return want == 's' ? "string" : want == 'l' ? "string list" : "number";
}

static const struct sieve_tag_def *find_tag(struct validator *v, const struct sieve_cmd_def *def,
					    const char *name)
{
	if (def->tags != NULL) {
		for (const struct sieve_tag_def *t = def->tags; t->name != NULL; t++) {
			if (strcmp(t->name, name) == 0 && ext_enabled(v->script, t->ext))
				return t;
		}
	}
	int ext_idx;
	const struct sieve_tag_def *t = sieve_ext_find_shared_tag(name, &ext_idx);
	if (t == NULL)
		return NULL;
	if (ext_idx >= 0 && !v->script->required[ext_idx])
		return NULL;
	if (t->group == SIEVE_TG_MATCH || t->group == SIEVE_TG_COMPARATOR)
		return (def->flags & SIEVE_CMD_MATCH) != 0 ? t : NULL;
	if (t->group == SIEVE_TG_ADDRPART)
		return (def->flags & SIEVE_CMD_ADDRPART) != 0 ? t : NULL;
	return NULL;
}

static const char *group_desc(enum sieve_tag_group g)
{
	switch (g) {
	case SIEVE_TG_MATCH: return "match type";
	case SIEVE_TG_COMPARATOR: return "comparator";
	case SIEVE_TG_ADDRPART: return "address part";
	case SIEVE_TG_OWN: break;
	}
	return "tag";
}

static bool is_relation(const char *s)
{
	static const char *const rels[] = { "gt", "ge", "lt", "le", "eq", "ne" };

	for (size_t i = 0; i < N_ELEMENTS(rels); i++) {
		if (str_eq_icase(s, rels[i]))
			return true;
	}
	return false;
}

static void validate_args(struct validator *v, struct sieve_node *node)
{
	const struct sieve_cmd_def *def = node->def;
	const char *what = (def->flags & SIEVE_CMD_TEST) != 0 ? "test" : "command";
	struct sieve_tagval *tags = p_malloc(v->script->pool, sizeof(*tags) * (node->arg_count + 1));
	const struct sieve_arg **pos = p_malloc(v->script->pool, sizeof(*pos) * (node->arg_count + 1));
	size_t ntags = 0, npos = 0;
	bool have_group[4] = { false, false, false, false };

	node->match = SIEVE_MATCH_IS;
	node->comparator = SIEVE_CMP_ASCII_CASEMAP;
	node->addrpart = SIEVE_ADDR_ALL;
	for (size_t i = 0; i < node->arg_count; i++) {
		struct sieve_arg *arg = &node->args[i];
		if (arg->kind != SIEVE_ARG_TAG) {
			pos[npos++] = arg;
			continue;
		}
		const struct sieve_tag_def *t = find_tag(v, def, arg->tag);
		if (t == NULL) {
			verror(v, arg->line, "unknown tagged argument ':%s' for the %s %s",
			       arg->tag, node->name, what);
			return;
		}
		if (t->group != SIEVE_TG_OWN) {
			if (have_group[t->group]) {
				verror(v, arg->line, "more than one %s for the %s %s",
				       group_desc(t->group), node->name, what);
				return;
			}
			have_group[t->group] = true;
		}
		for (size_t j = 0; j < ntags; j++) {
			if (tags[j].def == t) {
				verror(v, arg->line, "tagged argument ':%s' given twice for the %s %s",
				       arg->tag, node->name, what);
				return;
			}
			if (t->exclusive != 0 && tags[j].def->exclusive == t->exclusive) {
				verror(v, arg->line, "tagged arguments ':%s' and ':%s' of the %s %s exclude each other",
				       tags[j].def->name, t->name, node->name, what);
				return;
			}
		}
		struct sieve_tagval *tv = &tags[ntags++];
		tv->def = t;
		tv->line = arg->line;
		if (t->param != SIEVE_P_NONE) {
			char want = t->param == SIEVE_P_STRING ? 's' :
				t->param == SIEVE_P_STRLIST ? 'l' : 'n';
			if (i + 1 >= node->arg_count || !arg_fits(&node->args[i + 1], want)) {
				verror(v, arg->line, "the ':%s' tag of the %s %s needs a %s argument",
				       t->name, node->name, what, want_desc(want));
				return;
			}
			tv->param = &node->args[++i];
		}
		switch (t->group) {
		case SIEVE_TG_MATCH:
			node->match = t->value;
			node->match_def = t;
			if (t->param == SIEVE_P_STRING) {
				node->relation = tv->param->strs[0];
				if (!is_relation(node->relation)) {
					verror(v, arg->line, "invalid relation '%s' for ':%s' (expected gt, ge, lt, le, eq or ne)",
					       node->relation, t->name);
					return;
				}
			}
			break;
		case SIEVE_TG_COMPARATOR: {
			const char *name = tv->param->strs[0];
			int cmp = sieve_comparator_find(name);
			if (cmp < 0) {
				verror(v, arg->line, "unknown comparator '%s'", name);
				return;
			}
			if (cmp == SIEVE_CMP_ASCII_NUMERIC &&
			    !sieve_script_requires(v->script, "comparator-i;ascii-numeric")) {
				verror(v, arg->line, "comparator '%s' needs require \"comparator-%s\"",
				       name, name);
				return;
			}
			node->comparator = cmp;
			break;
		}
		case SIEVE_TG_ADDRPART:
			node->addrpart = t->value;
			break;
		case SIEVE_TG_OWN:
			break;
		}
	}
	if ((node->match == SIEVE_MATCH_CONTAINS || node->match == SIEVE_MATCH_MATCHES) &&
	    node->comparator == SIEVE_CMP_ASCII_NUMERIC) {
		verror(v, node->line, "the i;ascii-numeric comparator does not support substring matching (:%s)",
		       node->match == SIEVE_MATCH_CONTAINS ? "contains" : "matches");
		return;
	}
	node->tags = tags;
	node->tag_count = ntags;
	node->pos = pos;
	node->pos_count = npos;
	if (node->match_def != NULL && node->match_def->key_check != NULL && npos > 0) {
		/* the keys are the last positional argument */
		const struct sieve_arg *keys = pos[npos - 1];
		for (size_t i = 0; i < keys->count; i++) {
			if (v->script->uses_variables && strstr(keys->strs[i], "${") != NULL)
				continue;
			str_truncate(&v->msg, 0);
			if (node->match_def->key_check(keys->strs[i], &v->msg) < 0) {
				verror(v, keys->line, "%s", str_c(&v->msg));
				return;
			}
		}
	}

	const char *spec = def->positional != NULL ? def->positional : "";
	size_t required = 0, max = 0;
	bool optional = false;
	for (const char *s = spec; *s != '\0'; s++) {
		if (*s == '?') {
			optional = true;
			continue;
		}
		max++;
		if (!optional)
			required++;
	}
	if (npos < required) {
		verror(v, node->line, "the %s %s requires %zu positional argument(s), but %zu is/are specified",
		       node->name, what, required, npos);
		return;
	}
	if (npos > max) {
		verror(v, pos[max]->line, "the %s %s requires %s%zu positional argument(s), but %zu is/are specified",
		       node->name, what, max > required ? "at most " : "", max, npos);
		return;
	}
	size_t k = 0;
	for (const char *s = spec; *s != '\0' && k < npos; s++) {
		if (*s == '?')
			continue;
		if (!arg_fits(pos[k], *s)) {
			verror(v, pos[k]->line, "the %s %s expects a %s as argument %zu, but found a %s",
			       node->name, what, want_desc(*s), k + 1, arg_desc(pos[k]));
			return;
		}
		k++;
	}
}

static void validate_node(struct validator *v, struct sieve_node *node, bool is_test);

static void validate_list(struct validator *v, struct sieve_node **cmds, size_t count, bool top)
{
	bool requires_allowed = top;

	for (size_t i = 0; i < count && v->error_count <= MAX_ERRORS; i++) {
		struct sieve_node *cmd = cmds[i];
		if (strcmp(cmd->name, "require") == 0) {
			if (!requires_allowed) {
				verror(v, cmd->line, "require commands can only be placed at top level at the beginning of the file");
				continue;
			}
		} else {
			requires_allowed = false;
		}
		if (strcmp(cmd->name, "elsif") == 0 || strcmp(cmd->name, "else") == 0) {
			struct sieve_node *prev = i > 0 ? cmds[i - 1] : NULL;
			if (prev == NULL || (strcmp(prev->name, "if") != 0 &&
					     strcmp(prev->name, "elsif") != 0)) {
				verror(v, cmd->line, "the %s command must follow an if or elsif command",
				       cmd->name);
				continue;
			}
			prev->next_branch = cmd;
		}
		validate_node(v, cmd, false);
	}
}

static void require_extensions(struct validator *v, struct sieve_node *node)
{
	const struct sieve_arg *arg = node->arg_count == 1 ? &node->args[0] : NULL;

	if (arg == NULL || (arg->kind != SIEVE_ARG_STRING && arg->kind != SIEVE_ARG_STRLIST)) {
		verror(v, node->line, "the require command needs a string list of extension names");
		return;
	}
	for (size_t i = 0; i < arg->count; i++) {
		int idx = sieve_ext_find(arg->strs[i]);
		if (idx < 0) {
			verror(v, node->line, "require command: unknown Sieve capability '%s'", arg->strs[i]);
			return;
		}
		v->script->required[idx] = true;
		/* spamtestplus implies spamtest (RFC 5235 3.2) and
		 * vacation-seconds vacation (RFC 6131 2) */
		const char *implied = strcmp(arg->strs[i], "spamtestplus") == 0 ? "spamtest" :
			strcmp(arg->strs[i], "vacation-seconds") == 0 ? "vacation" : NULL;
		if (implied != NULL && sieve_ext_find(implied) >= 0)
			v->script->required[sieve_ext_find(implied)] = true;
	}
	if (sieve_script_requires(v->script, "variables"))
		v->script->uses_variables = true;
}

static void decode_strings(struct validator *v, struct sieve_node *node)
{
	unsigned int before = v->error_count;

	for (size_t i = 0; i < node->arg_count && v->error_count == before; i++) {
		struct sieve_arg *arg = &node->args[i];
		for (size_t j = 0; j < arg->count; j++) {
			const char *s = decode_encoded(v, arg->line, arg->strs[j]);
			if (s == NULL)
				return;
			arg->strs[j] = s;
		}
	}
}

/* RFC 5463 4: in the block of "if ihave [...]" the named extensions may
 * be used without require; when one of them is unknown the block cannot
 * run and is not validated.  Returns 1 to validate the block, 0 not. */
static int ihave_guard(struct validator *v, struct sieve_node *node)
{
	if (node->test_count != 1 || strcmp(node->tests[0]->name, "ihave") != 0 ||
	    !sieve_script_requires(v->script, "ihave"))
		return 1;
	const struct sieve_arg *names = node->tests[0]->pos[0];
	for (size_t i = 0; i < names->count; i++) {
		if (sieve_ext_find(names->strs[i]) < 0)
			return 0;
	}
	for (size_t i = 0; i < names->count; i++)
		v->script->required[sieve_ext_find(names->strs[i])] = true;
	if (sieve_script_requires(v->script, "variables"))
		v->script->uses_variables = true;
	return 1;
}

static void validate_node(struct validator *v, struct sieve_node *node, bool is_test)
{
	const char *what = is_test ? "test" : "command";
	int ext_idx;
	const struct sieve_cmd_def *def = sieve_ext_find_cmd(node->name, is_test, &ext_idx);

	if (def == NULL) {
		const struct sieve_cmd_def *other = sieve_ext_find_cmd(node->name, !is_test, &ext_idx);
		if (other != NULL)
			verror(v, node->line, "'%s' is a %s, not a %s", node->name,
			       is_test ? "command" : "test", what);
		else
			verror(v, node->line, "unknown %s '%s'", what, node->name);
		return;
	}
	if (ext_idx >= 0 && sieve_ext_get((size_t)ext_idx)->name != NULL &&
	    def->ext != NULL && !ext_enabled(v->script, def->ext)) {
		verror(v, node->line, "unknown %s '%s' (the script does not require \"%s\")",
		       what, node->name, def->ext);
		return;
	}
	node->def = def;
	if (strcmp(node->name, "require") == 0) {
		require_extensions(v, node);
		return;
	}
	unsigned int before = v->error_count;
	if (sieve_script_requires(v->script, "encoded-character"))
		decode_strings(v, node);
	if (v->error_count != before)
		return;
	validate_args(v, node);
	if (v->error_count != before)
		return;

	if ((def->flags & SIEVE_CMD_TESTS) != 0) {
		if (!node->has_test_list || node->test_count == 0) {
			verror(v, node->line, "the %s test requires a list of sub-tests, but %s",
			       node->name, node->test_count == 0 ? "none is specified" :
			       "a single test is specified");
			return;
		}
	} else if ((def->flags & SIEVE_CMD_ONE_TEST) != 0) {
		if (node->has_test_list || node->test_count != 1) {
			verror(v, node->line, "the %s %s requires one sub-test, but %s", node->name, what,
			       node->has_test_list ? "a list of tests is specified" : "none is specified");
			return;
		}
	} else if (node->test_count > 0) {
		verror(v, node->tests[0]->line, "the %s %s does not take a%s", node->name, what,
		       node->has_test_list ? " list of tests" : " test");
		return;
	}
	if ((def->flags & SIEVE_CMD_BLOCK) != 0) {
		if (!node->has_block) {
			verror(v, node->line, "the %s command requires a command block, but it is missing",
			       node->name);
			return;
		}
	} else if (node->has_block) {
		verror(v, node->line, "the %s command does not take a command block", node->name);
		return;
	}
	for (size_t i = 0; i < node->test_count; i++)
		validate_node(v, node->tests[i], true);
	if (v->error_count != before)
		return;
	if (def->validate != NULL) {
		str_truncate(&v->msg, 0);
		if (def->validate(node, v->script, &v->msg) < 0) {
			verror(v, node->line, "%s", str_c(&v->msg));
			return;
		}
	}
	if (node->has_block && ihave_guard(v, node) > 0)
		validate_list(v, node->block, node->block_count, false);
}

int sieve_validate(struct sieve_script *script, struct str *errors_r)
{
	struct validator v = { .script = script, .errors = errors_r };

	validate_list(&v, script->cmds, script->cmd_count, true);
	str_free(&v.msg);
	return v.error_count > 0 ? -1 : 0;
}
