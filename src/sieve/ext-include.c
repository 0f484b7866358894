/* ext-include.c: RFC 6609 include: the include, return and global
 * commands.  Included scripts are fetched through env->include and
 * compiled when the include runs (RFC 6609 3.2: never at upload), each
 * at most once per run; recursion is an error at run time, and so is a
 * chain deeper than limits->max_include_depth. */
#include "sieve-private.h"

#include <stdlib.h>
#include <string.h>

/* RFC 5804 1.6: no control characters, not empty */
static bool valid_script_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

static int validate_include(struct sieve_node *node, struct sieve_script *script,
			    struct str *error_r)
{
	const char *name = node->pos[0]->strs[0];

	(void)script;
	if (!valid_script_name(name)) {
		str_printfa(error_r, "include: invalid script name '%s'", name);
		return -1;
	}
	return 0;
}

static bool same_frame(const struct sieve_include_frame *f, enum sieve_location where,
		       const char *name)
{
	return f->where == where && strcmp(f->name, name) == 0;
}

/* include [":personal" / ":global"] [":once"] [":optional"] <value: string>
 * The name is a constant: variables are not expanded (RFC 6609 3.2). */
static int exec_include(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char *name = node->pos[0]->strs[0];
	enum sieve_location where = sieve_node_tag(node, "global") != NULL ?
		SIEVE_GLOBAL : SIEVE_PERSONAL;
	bool once = sieve_node_tag(node, "once") != NULL;
	const char *loc = where == SIEVE_GLOBAL ? "global" : "personal";

	for (size_t i = 0; i < interp->stack_count; i++) {
		if (same_frame(&interp->stack[i], where, name)) {
			/* RFC 6609 3.2: with :once a recursive include is
			 * one already included */
			if (once)
				return 0;
			return sieve_interp_fail(interp, "include: the %s script '%s' includes itself",
						 loc, name);
		}
	}
	struct sieve_script *script = NULL;
	for (size_t i = 0; i < interp->included_count; i++) {
		if (same_frame(&interp->included[i], where, name)) {
			if (once)
				return 0;
			script = interp->included[i].script;
		}
	}
	if (interp->stack_count + 1 > interp->limits->max_include_depth)
		return sieve_interp_fail(interp, "include: too many nested includes (limit %u)",
					 interp->limits->max_include_depth);
	if (script == NULL) {
		struct str text = STR_INIT, errors = STR_INIT;
		int ret = interp->env != NULL && interp->env->include != NULL ?
			interp->env->include(interp->env->ctx, where, name, &text) : 0;
		if (ret == 0) {
			str_free(&text);
			if (sieve_node_tag(node, "optional") != NULL)
				return 0;
			return sieve_interp_fail(interp, "include: the %s script '%s' does not exist",
						 loc, name);
		}
		if (ret < 0) {
			str_free(&text);
			return sieve_interp_fail(interp, "include: the %s script '%s' cannot be read",
						 loc, name);
		}
		script = sieve_compile(name, text.data != NULL ? text.data : "", text.len,
				       interp->limits, &errors);
		str_free(&text);
		if (script == NULL) {
			size_t eol = strcspn(str_c(&errors), "\n");
			ret = sieve_interp_fail(interp, "include: the %s script '%s' is invalid: %.*s",
						loc, name, (int)eol, str_c(&errors));
			str_free(&errors);
			return ret;
		}
		str_free(&errors);
		array_reserve((void **)&interp->included, &interp->included_cap,
			      interp->included_count + 1, sizeof(*interp->included));
		struct sieve_include_frame *f = &interp->included[interp->included_count++];
		f->where = where;
		f->name = p_strdup(interp->pool, name);
		f->script = script;
	}

	/* run it with its own variables; globals are shared */
	const struct sieve_script *saved_script = interp->script;
	struct sieve_var *saved_vars = interp->vars;
	size_t saved_count = interp->var_count, saved_cap = interp->var_cap;
	const char **saved_decl = interp->declared;
	size_t saved_decl_count = interp->declared_count, saved_decl_cap = interp->declared_cap;
	struct sieve_match_vars saved_match = interp->match_vars;
	unsigned int saved_line = interp->line;

	array_reserve((void **)&interp->stack, &interp->stack_cap, interp->stack_count + 1,
		      sizeof(*interp->stack));
	interp->stack[interp->stack_count].where = where;
	interp->stack[interp->stack_count].name = name;
	interp->stack[interp->stack_count].line = saved_line;
	interp->stack[interp->stack_count++].script = NULL;
	interp->script = script;
	interp->vars = NULL;
	interp->var_count = interp->var_cap = 0;
	interp->declared = NULL;
	interp->declared_count = interp->declared_cap = 0;
	memset(&interp->match_vars, 0, sizeof(interp->match_vars));

	int ret = sieve_interp_run_block(interp, script->cmds, script->cmd_count);

	sieve_interp_vars_clear(interp);
	free(interp->vars);
	free(interp->declared);
	interp->stack_count--;
	interp->script = saved_script;
	interp->vars = saved_vars;
	interp->var_count = saved_count;
	interp->var_cap = saved_cap;
	interp->declared = saved_decl;
	interp->declared_count = saved_decl_count;
	interp->declared_cap = saved_decl_cap;
	interp->match_vars = saved_match;
	if (ret < 0)
		return -1;
	interp->line = saved_line;
	/* RFC 6609 3.4: return ends the included script; stop ends all */
	return ret == 1 ? 1 : 0;
}

static int exec_return(struct sieve_interp *interp, const struct sieve_node *node)
{
	(void)interp;
	(void)node;
	return 2;
}

static int validate_global(struct sieve_node *node, struct sieve_script *script,
			   struct str *error_r)
{
	const struct sieve_arg *names = node->pos[0];

	if (!script->uses_variables) {
		str_append(error_r, "global: needs require \"variables\" too");
		return -1;
	}
	for (size_t i = 0; i < names->count; i++) {
		if (!sieve_is_identifier(names->strs[i])) {
			str_printfa(error_r, "global: invalid variable name '%s'", names->strs[i]);
			return -1;
		}
	}
	return 0;
}

/* global <value: string-list> */
static int exec_global(struct sieve_interp *interp, const struct sieve_node *node)
{
	const struct sieve_arg *names = node->pos[0];

	for (size_t i = 0; i < names->count; i++) {
		/* RFC 6609 3.3: a name already set locally cannot become global */
		bool local = false;
		for (size_t j = 0; j < interp->var_count && !local; j++)
			local = str_eq_icase(interp->vars[j].name, names->strs[i]);
		if (local)
			return sieve_interp_fail(interp, "global: variable '%s' was already set in this script",
						 names->strs[i]);
		array_reserve((void **)&interp->declared, &interp->declared_cap,
			      interp->declared_count + 1, sizeof(*interp->declared));
		interp->declared[interp->declared_count++] = names->strs[i];
	}
	return 0;
}

static const struct sieve_tag_def include_tags[] = {
	{ .name = "personal", .param = SIEVE_P_NONE, .exclusive = 1 },
	{ .name = "global", .param = SIEVE_P_NONE, .exclusive = 1 },
	{ .name = "once", .param = SIEVE_P_NONE },
	{ .name = "optional", .param = SIEVE_P_NONE },
	{ .name = NULL },
};

static const struct sieve_cmd_def include_cmds[] = {
	{ "include", "include", 0, "s", include_tags, validate_include, exec_include },
	{ "return", "include", 0, "", NULL, NULL, exec_return },
	{ "global", "include", 0, "l", NULL, validate_global, exec_global },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_include = {
	"include", include_cmds, NULL, true,
};
