/* interp.c: running compiled scripts against a message.
 *
 * Walks the validated tree (its depth is bounded by the parser's nesting
 * limit), collecting actions with RFC 5228 2.10's rules: duplicates
 * collapse (2.10.3), implicit keep unless an action cancelled it
 * (2.10.2), and on a run-time error nothing but implicit keep (2.10.6).
 * Limits: actions, redirects, CPU time (checked every few steps).  No
 * I/O: the world is reached through struct sieve_env only. */
#include "sieve-private.h"
#include "mime/header.h"
#include "mime/parser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* CPU time is read every this many commands and tests */
#define CPU_CHECK_STEPS 64

int sieve_interp_fail(struct sieve_interp *interp, const char *fmt, ...)
{
	va_list args;
	struct str s = STR_INIT;

	if (interp->error != NULL)
		return -1;
	/* in an included script: where the include chain leads, e.g.
	 * "line 4: in personal script 'spam': line 2: ..." */
	for (size_t i = 0; i < interp->stack_count; i++) {
		str_printfa(&s, "line %u: in %s script '%s': ", interp->stack[i].line,
			    interp->stack[i].where == SIEVE_GLOBAL ? "global" : "personal",
			    interp->stack[i].name);
	}
	str_printfa(&s, "line %u: ", interp->line);
	va_start(args, fmt);
	str_vprintfa(&s, fmt, args);
	va_end(args);
	interp->error = p_strdup(interp->pool, str_c(&s));
	str_free(&s);
	return -1;
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cpu_check(struct sieve_interp *interp)
{
	uint64_t used = cpu_ns() - interp->cpu_start_ns;
	if (used / 1000000u > interp->limits->max_cpu_ms)
		return sieve_interp_fail(interp, "the script used more than %u ms of CPU time",
					 interp->limits->max_cpu_ms);
	return 0;
}

static int step(struct sieve_interp *interp)
{
	if (++interp->steps % CPU_CHECK_STEPS != 0)
		return 0;
	return cpu_check(interp);
}

static bool match_expired(void *ctx)
{
	return cpu_check(ctx) < 0;
}

/* ---- the message header ---- */

static void split_header(struct sieve_interp *interp)
{
	const char *p = interp->msg->data, *end = p + interp->msg->size;
	size_t cap = 0;

	interp->fields_parsed = true;
	while (p < end) {
		if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n'))
			break;	/* the empty line */
		const char *line_end = memchr(p, '\n', (size_t)(end - p));
		const char *next_line = line_end != NULL ? line_end + 1 : end;
		/* continuation lines */
		while (next_line < end && (*next_line == ' ' || *next_line == '\t')) {
			line_end = memchr(next_line, '\n', (size_t)(end - next_line));
			next_line = line_end != NULL ? line_end + 1 : end;
		}
		const char *colon = memchr(p, ':', (size_t)(next_line - p));
		if (colon != NULL) {
			const char *name_end = colon;
			while (name_end > p && (name_end[-1] == ' ' || name_end[-1] == '\t'))
				name_end--;
			array_reserve((void **)&interp->fields, &cap, interp->field_count + 1,
				      sizeof(*interp->fields));
			struct sieve_field *f = &interp->fields[interp->field_count++];
			memset(f, 0, sizeof(*f));
			f->name = p;
			f->name_len = (size_t)(name_end - p);
			f->raw = colon + 1;
			f->raw_len = (size_t)(next_line - colon - 1);
		}
		p = next_line;
	}
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 5228 2.7.2: header values are unfolded, RFC 2047 decoded; leading
 * and trailing white space is not part of the value. */
static const char *field_decoded(struct sieve_interp *interp, struct sieve_field *f)
{
	if (f->decoded != NULL)
		return f->decoded;
	str_truncate(&interp->tmp, 0);
	mime_header_decode_utf8(f->raw, f->raw_len, &interp->tmp);
	const char *s = interp->tmp.data != NULL ? interp->tmp.data : "";
	size_t len = interp->tmp.len;
	while (len > 0 && is_ws(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_ws(s[len - 1]))
		len--;
	f->decoded = p_strndup(interp->pool, s, len);
	return f->decoded;
}

/* The raw value of a field unfolded (CR and LF removed, NUL a space). */
static const char *field_unfolded(struct sieve_interp *interp, const struct sieve_field *f)
{
	char *v = p_malloc(interp->pool, f->raw_len + 1);
	size_t len = 0;

	for (size_t j = 0; j < f->raw_len; j++) {
		if (f->raw[j] != '\r' && f->raw[j] != '\n')
			v[len++] = f->raw[j] == '\0' ? ' ' : f->raw[j];
	}
	v[len] = '\0';
	return v;
}

/* The values of the fields named `name`, decoded or unfolded. */
static size_t header_values(struct sieve_interp *interp, const char *name, bool decoded,
			    const char ***values_r)
{
	size_t name_len = strlen(name), count = 0;

	if (!interp->fields_parsed)
		split_header(interp);
	for (size_t i = 0; i < interp->field_count; i++) {
		struct sieve_field *f = &interp->fields[i];
		if (f->name_len == name_len && strncasecmp(f->name, name, name_len) == 0)
			count++;
	}
	const char **values = p_malloc(interp->pool, sizeof(*values) * (count + 1));
	size_t n = 0;
	for (size_t i = 0; i < interp->field_count && n < count; i++) {
		struct sieve_field *f = &interp->fields[i];
		if (f->name_len == name_len && strncasecmp(f->name, name, name_len) == 0)
			values[n++] = decoded ? field_decoded(interp, f) : field_unfolded(interp, f);
	}
	*values_r = values;
	return count;
}

size_t sieve_interp_header(struct sieve_interp *interp, const char *name,
			   const char ***values_r)
{
	return header_values(interp, name, true, values_r);
}

size_t sieve_interp_header_raw(struct sieve_interp *interp, const char *name,
			       const char ***values_r)
{
	return header_values(interp, name, false, values_r);
}

/* ---- variables (RFC 5229) ---- */

/* RFC 6609 3.3/3.5: a name the running script declared global, or in
 * the "global." namespace, lives in the global space */
static bool var_is_global(struct sieve_interp *interp, const char **name)
{
	if (strncasecmp(*name, "global.", 7) == 0) {
		*name += 7;
		return true;
	}
	for (size_t i = 0; i < interp->declared_count; i++) {
		if (str_eq_icase(interp->declared[i], *name))
			return true;
	}
	return false;
}

const char *sieve_interp_var_get(struct sieve_interp *interp, const char *name, size_t *len_r)
{
	bool global = var_is_global(interp, &name);
	struct sieve_var *vars = global ? interp->globals : interp->vars;
	size_t count = global ? interp->global_count : interp->var_count;

	for (size_t i = 0; i < count; i++) {
		if (str_eq_icase(vars[i].name, name)) {
			*len_r = vars[i].len;
			return vars[i].value;
		}
	}
	return NULL;
}

int sieve_interp_var_set(struct sieve_interp *interp, const char *name,
			 const char *value, size_t len)
{
	bool global = var_is_global(interp, &name);
	struct sieve_var **vars = global ? &interp->globals : &interp->vars;
	size_t *count = global ? &interp->global_count : &interp->var_count;
	size_t *cap = global ? &interp->global_cap : &interp->var_cap;

	if (len > interp->limits->max_variable_size)
		len = interp->limits->max_variable_size;	/* RFC 5229 3: MAY truncate */
	for (size_t i = 0; i < *count; i++) {
		if (str_eq_icase((*vars)[i].name, name)) {
			free((*vars)[i].value);
			(*vars)[i].value = xstrndup(value, len);
			(*vars)[i].len = len;
			return 0;
		}
	}
	array_reserve((void **)vars, cap, *count + 1, sizeof(**vars));
	struct sieve_var *v = &(*vars)[(*count)++];
	v->name = p_strdup(interp->pool, name);
	v->value = xstrndup(value, len);
	v->len = len;
	return 0;
}

void sieve_interp_vars_clear(struct sieve_interp *interp)
{
	for (size_t i = 0; i < interp->var_count; i++)
		free(interp->vars[i].value);
	interp->var_count = 0;
	interp->declared_count = 0;
	memset(&interp->match_vars, 0, sizeof(interp->match_vars));
}

static bool is_ident_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		(!first && c >= '0' && c <= '9');
}

/* variable-ref  = "${" [namespace] variable-name "}"
 * variable-name = num-variable / identifier
 * Appends the value of the reference at p (after "${") up to `end` to
 * dest; returns the length consumed, or 0 when it is not a reference. */
static size_t expand_ref(struct sieve_interp *interp, const char *p, struct str *dest)
{
	const char *q = p;

	if (*q >= '0' && *q <= '9') {
		unsigned int n = 0;
		while (*q >= '0' && *q <= '9') {
			if (n < 1000)
				n = n * 10 + (unsigned int)(*q - '0');
			q++;
		}
		if (*q != '}')
			return 0;
		if (n < interp->match_vars.count && interp->match_vars.values[n] != NULL)
			str_append_n(dest, interp->match_vars.values[n], interp->match_vars.lens[n]);
		return (size_t)(q + 1 - p);
	}
	/* identifier *("." identifier) */
	for (;;) {
		if (!is_ident_char(*q, true))
			return 0;
		while (is_ident_char(*q, false))
			q++;
		if (*q != '.')
			break;
		q++;
	}
	if (*q != '}')
		return 0;
	char *name = xstrndup(p, (size_t)(q - p));
	size_t len;
	const char *value = strchr(name, '.') == NULL || strncasecmp(name, "global.", 7) == 0 ?
		sieve_interp_var_get(interp, name, &len) : NULL;
	if (value != NULL)
		str_append_n(dest, value, len);
	free(name);
	return (size_t)(q + 1 - p);
}

const char *sieve_interp_str(struct sieve_interp *interp, const char *s)
{
	if (!interp->script->uses_variables || strstr(s, "${") == NULL)
		return s;

	struct str out = STR_INIT;
	for (const char *p = s; *p != '\0';) {
		if (p[0] == '$' && p[1] == '{') {
			size_t n = expand_ref(interp, p + 2, &out);
			if (n > 0) {
				p += 2 + n;
				continue;
			}
		}
		str_append_c(&out, *p++);
	}
	size_t len = out.len;
	if (len > interp->limits->max_variable_size)
		len = interp->limits->max_variable_size;
	const char *ret = p_strndup(interp->pool, out.data != NULL ? out.data : "", len);
	str_free(&out);
	return ret;
}

const char **sieve_interp_strlist(struct sieve_interp *interp, const struct sieve_arg *arg)
{
	const char **strs = p_malloc(interp->pool, sizeof(*strs) * (arg->count + 1));

	for (size_t i = 0; i < arg->count; i++)
		strs[i] = sieve_interp_str(interp, arg->strs[i]);
	return strs;
}

/* ---- matching ---- */

int sieve_interp_match(struct sieve_interp *interp, const struct sieve_node *node,
			const char *const *values, const size_t *lens, size_t count,
			const struct sieve_arg *keys)
{
	const char **k = sieve_interp_strlist(interp, keys);

	if (node->match == SIEVE_MATCH_COUNT) {
		/* RFC 5231 4.1: the number of values, compared as a decimal
		 * number with the comparator */
		char num[24];
		int n = snprintf(num, sizeof(num), "%zu", count);
		for (size_t j = 0; j < keys->count; j++) {
			if (sieve_match_relation(node->comparator, node->relation, num, (size_t)n,
						 k[j], strlen(k[j])))
				return 1;
		}
		return 0;
	}
	if (node->match == SIEVE_MATCH_REGEX)
		return sieve_ext_regex_match(interp, node, values, lens, count, k, keys->count);
	struct sieve_match_vars *mv =
		interp->script->uses_variables && node->match == SIEVE_MATCH_MATCHES ?
		&interp->match_vars : NULL;
	struct sieve_match_guard guard = { .expired = match_expired, .ctx = interp };
	for (size_t i = 0; i < count; i++) {
		size_t vlen = lens != NULL ? lens[i] : strlen(values[i]);
		for (size_t j = 0; j < keys->count; j++) {
			struct sieve_match_vars tmp;
			bool matched = node->match_def != NULL && node->match_def->match != NULL ?
				node->match_def->match(node->comparator, values[i], vlen, k[j],
						       strlen(k[j]), interp->pool,
						       mv != NULL ? &tmp : NULL, &guard) :
				sieve_match_one(node->match, node->comparator, node->relation,
						values[i], vlen, k[j], strlen(k[j]), interp->pool,
						mv != NULL ? &tmp : NULL, &guard);
			if (matched) {
				if (mv != NULL)
					*mv = tmp;
				return 1;
			}
			if (guard.abandoned)
				return -1;
		}
	}
	return 0;
}

/* ---- actions ---- */

static bool same_mailbox(const char *a, const char *b)
{
	if (str_eq_icase(a, "INBOX") && str_eq_icase(b, "INBOX"))
		return true;
	return strcmp(a, b) == 0;
}

static bool is_store(const struct sieve_action *a)
{
	return a->kind == SIEVE_ACT_KEEP || a->kind == SIEVE_ACT_FILEINTO;
}

int sieve_interp_add_action(struct sieve_interp *interp, const struct sieve_action *action,
			    bool cancels_keep)
{
	/* RFC 5429 2.1/2.2: reject and ereject are incompatible with
	 * keeping, filing or answering the message */
	for (size_t i = 0; i < interp->action_count; i++) {
		const struct sieve_action *a = &interp->actions[i];
		bool a_rej = a->kind == SIEVE_ACT_REJECT || a->kind == SIEVE_ACT_EREJECT;
		bool n_rej = action->kind == SIEVE_ACT_REJECT || action->kind == SIEVE_ACT_EREJECT;
		if (a_rej && n_rej)
			return sieve_interp_fail(interp, "more than one reject action");
		if ((a_rej && (is_store(action) || action->kind == SIEVE_ACT_VACATION)) ||
		    (n_rej && (is_store(a) || a->kind == SIEVE_ACT_VACATION)))
			return sieve_interp_fail(interp, "the reject action conflicts with the %s action",
						 a_rej ? (action->kind == SIEVE_ACT_VACATION ? "vacation" :
							  action->kind == SIEVE_ACT_KEEP ? "keep" : "fileinto") :
						 (a->kind == SIEVE_ACT_VACATION ? "vacation" :
						  a->kind == SIEVE_ACT_KEEP ? "keep" : "fileinto"));
		if (action->kind == SIEVE_ACT_VACATION && a->kind == SIEVE_ACT_VACATION)
			return sieve_interp_fail(interp, "more than one vacation action");
	}
	if (cancels_keep)
		interp->keep_cancelled = true;

	/* RFC 5228 2.10.3: filing into the same mailbox twice, or
	 * redirecting to the same address, is done once */
	for (size_t i = 0; i < interp->action_count; i++) {
		struct sieve_action *a = &interp->actions[i];
		if (is_store(a) && is_store(action) && same_mailbox(a->mailbox, action->mailbox)) {
			/* RFC 5232 3: "the last flag list value MUST win" */
			a->flags = action->flags;
			a->flag_count = action->flag_count;
			a->create = a->create || action->create;
			return 0;
		}
		if (a->kind == SIEVE_ACT_REDIRECT && action->kind == SIEVE_ACT_REDIRECT &&
		    str_eq_icase(a->address, action->address))
			return 0;
		if (a->kind == SIEVE_ACT_DISCARD && action->kind == SIEVE_ACT_DISCARD)
			return 0;
	}
	if (action->kind == SIEVE_ACT_REDIRECT &&
	    ++interp->redirects > interp->limits->max_redirects)
		return sieve_interp_fail(interp, "too many redirect actions (limit %u)",
					 interp->limits->max_redirects);
	if (interp->action_count >= interp->limits->max_actions)
		return sieve_interp_fail(interp, "too many actions (limit %u)",
					 interp->limits->max_actions);
	array_reserve((void **)&interp->actions, &interp->action_cap, interp->action_count + 1,
		      sizeof(*interp->actions));
	/* the strings may point into a script (an included one is freed
	 * before the result): the result owns copies */
	struct sieve_action *a = &interp->actions[interp->action_count++];
	*a = *action;
	const char **strs[] = {
		&a->mailbox, &a->special_use, &a->mailbox_id, &a->address, &a->reason,
		&a->recipient, &a->from, &a->subject, &a->body, &a->handle, &a->method,
		&a->importance, &a->message,
	};
	for (size_t i = 0; i < N_ELEMENTS(strs); i++) {
		if (*strs[i] != NULL)
			*strs[i] = p_strdup(interp->pool, *strs[i]);
	}
	return 0;
}

/* ---- execution ---- */

static int run_block(struct sieve_interp *interp, struct sieve_node *const *cmds, size_t count);

static int run_test(struct sieve_interp *interp, const struct sieve_node *test)
{
	if (step(interp) < 0)
		return -1;
	interp->line = test->line;
	if (sieve_ext_imapsieve_check(interp, test) < 0)
		return -1;
	return test->def->execute(interp, test);
}

int sieve_interp_run_block(struct sieve_interp *interp, struct sieve_node *const *cmds,
			   size_t count)
{
	return run_block(interp, cmds, count);
}

/* Runs a command list; returns 0, 1 when a stop ends the script, 2 for
 * a return (RFC 6609), -1 on a run-time error. */
static int run_block(struct sieve_interp *interp, struct sieve_node *const *cmds, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct sieve_node *cmd = cmds[i];
		if (strcmp(cmd->name, "elsif") == 0 || strcmp(cmd->name, "else") == 0)
			continue;	/* run through the if's chain */
		if (step(interp) < 0)
			return -1;
		interp->line = cmd->line;
		if (strcmp(cmd->name, "if") == 0) {
			for (const struct sieve_node *b = cmd; b != NULL; b = b->next_branch) {
				int ret = 1;
				if (b->test_count > 0) {
					ret = run_test(interp, b->tests[0]);
					if (ret < 0)
						return -1;
				}
				if (ret > 0) {
					int r = run_block(interp, b->block, b->block_count);
					if (r != 0)
						return r;
					break;
				}
			}
			continue;
		}
		if (sieve_ext_imapsieve_check(interp, cmd) < 0)
			return -1;
		if (cmd->def->execute == NULL)
			continue;	/* require */
		int ret = cmd->def->execute(interp, cmd);
		if (ret != 0)
			return ret;
	}
	return 0;
}

int sieve_interp_run_test(struct sieve_interp *interp, const struct sieve_node *test)
{
	return run_test(interp, test);
}

static void interp_deinit(struct sieve_interp *interp)
{
	sieve_interp_vars_clear(interp);
	free(interp->vars);
	for (size_t i = 0; i < interp->global_count; i++)
		free(interp->globals[i].value);
	free(interp->globals);
	free(interp->declared);
	free(interp->stack);
	for (size_t i = 0; i < interp->included_count; i++)
		sieve_script_free(&interp->included[i].script);
	free(interp->included);
	free(interp->actions);
	free(interp->fields);
	free(interp->dups);
	if (interp->mime_parser != NULL)
		mime_parser_destroy(&interp->mime_parser);
	str_free(&interp->tmp);
	sieve_ext_state_free(interp);
}

int sieve_execute_sequence(const struct sieve_script *const *scripts, size_t count,
			   const struct sieve_message *msg, const struct sieve_env *env,
			   const struct sieve_limits *limits, struct sieve_result *result_r)
{
	struct sieve_interp interp = {
		.msg = msg,
		.env = env,
		.limits = limits,
	};

	memset(result_r, 0, sizeof(*result_r));
	result_r->pool = pool_create(4096);
	interp.pool = result_r->pool;
	interp.cpu_start_ns = cpu_ns();
	if (env != NULL && env->imap_flags != NULL) {
		/* RFC 6785 3.8: the script starts with the message's flags */
		size_t n = 0;
		while (env->imap_flags[n] != NULL)
			n++;
		sieve_flags_apply(interp.pool, &interp.flags, &interp.flag_count,
				  env->imap_flags, n, 'a');
	}
	for (size_t i = 0; i < count && interp.error == NULL; i++) {
		interp.script = scripts[i];
		sieve_interp_vars_clear(&interp);
		if (run_block(&interp, scripts[i]->cmds, scripts[i]->cmd_count) < 0 &&
		    interp.error == NULL)
			sieve_interp_fail(&interp, "run-time error");
	}
	/* RFC 5293 7: after an error, implicit keep stores the original */
	if (interp.error == NULL && interp.msg != msg) {
		result_r->message_changed = true;
		msg = sieve_ext_message_keep(&interp);
	}
	result_r->message = msg->data;
	result_r->message_size = msg->size;
	result_r->error = interp.error;

	struct sieve_action keep = {
		.kind = SIEVE_ACT_KEEP,
		.mailbox = "INBOX",
		.implicit = true,
	};
	if (interp.error != NULL) {
		/* RFC 5228 2.10.6: on a run-time error, only implicit keep */
		result_r->actions = p_malloc(result_r->pool, sizeof(keep));
		result_r->actions[0] = keep;
		result_r->action_count = 1;
		interp_deinit(&interp);
		return -1;
	}
	if (!interp.keep_cancelled) {
		/* RFC 5232 3: implicit keep stores the current flags */
		keep.flags = interp.flags;
		keep.flag_count = interp.flag_count;
		bool merged = false;
		/* RFC 6785 3.1, 3.3: on an IMAP event keep leaves the message
		 * where it is and a fileinto "INBOX" is a new copy, so the
		 * two are never one */
		bool event = env != NULL && env->imap_cause != NULL;
		for (size_t i = 0; i < interp.action_count && !event; i++) {
			struct sieve_action *a = &interp.actions[i];
			if (is_store(a) && same_mailbox(a->mailbox, "INBOX")) {
				merged = true;
				break;
			}
		}
		if (!merged) {
			array_reserve((void **)&interp.actions, &interp.action_cap,
				      interp.action_count + 1, sizeof(*interp.actions));
			interp.actions[interp.action_count++] = keep;
		}
	}
	result_r->action_count = interp.action_count;
	result_r->actions = interp.action_count == 0 ? NULL :
		p_memdup(result_r->pool, interp.actions,
			 interp.action_count * sizeof(*interp.actions));
	result_r->duplicate_count = interp.dup_count;
	result_r->duplicates = interp.dup_count == 0 ? NULL :
		p_memdup(result_r->pool, interp.dups, interp.dup_count * sizeof(*interp.dups));
	interp_deinit(&interp);
	return 0;
}

int sieve_execute(const struct sieve_script *script, const struct sieve_message *msg,
		  const struct sieve_env *env, const struct sieve_limits *limits,
		  struct sieve_result *result_r)
{
	return sieve_execute_sequence(&script, 1, msg, env, limits, result_r);
}

void sieve_result_free(struct sieve_result *result)
{
	pool_destroy(&result->pool);
	memset(result, 0, sizeof(*result));
}

/* A string in quotes with " and \ escaped, and CR, LF and TAB shown as
 * \r, \n, \t so that each action stays on one line. */
static void describe_quoted(struct str *dest, const char *s)
{
	str_append_c(dest, '"');
	for (; *s != '\0'; s++) {
		if (*s == '\r')
			str_append(dest, "\\r");
		else if (*s == '\n')
			str_append(dest, "\\n");
		else if (*s == '\t')
			str_append(dest, "\\t");
		else {
			if (*s == '"' || *s == '\\')
				str_append_c(dest, '\\');
			str_append_c(dest, *s);
		}
	}
	str_append_c(dest, '"');
}

void sieve_result_describe(const struct sieve_result *result, struct str *dest)
{
	if (result->error != NULL)
		str_printfa(dest, "error: %s\n", result->error);
	for (size_t i = 0; i < result->action_count; i++) {
		const struct sieve_action *a = &result->actions[i];
		switch (a->kind) {
		case SIEVE_ACT_KEEP:
			str_append(dest, a->implicit ? "keep (implicit)" : "keep");
			break;
		case SIEVE_ACT_FILEINTO:
			str_append(dest, "fileinto ");
			describe_quoted(dest, a->mailbox);
			if (a->create)
				str_append(dest, " :create");
			if (a->mailbox_id != NULL) {
				str_append(dest, " :mailboxid ");
				describe_quoted(dest, a->mailbox_id);
			}
			if (a->special_use != NULL) {
				str_append(dest, " :specialuse ");
				describe_quoted(dest, a->special_use);
			}
			break;
		case SIEVE_ACT_REDIRECT:
			str_append(dest, "redirect ");
			describe_quoted(dest, a->address);
			break;
		case SIEVE_ACT_DISCARD:
			str_append(dest, "discard");
			break;
		case SIEVE_ACT_REJECT:
		case SIEVE_ACT_EREJECT:
			str_append(dest, a->kind == SIEVE_ACT_REJECT ? "reject " : "ereject ");
			describe_quoted(dest, a->reason);
			break;
		case SIEVE_ACT_VACATION:
			str_append(dest, "vacation to ");
			describe_quoted(dest, a->recipient);
			str_append(dest, " :subject ");
			describe_quoted(dest, a->subject);
			if (a->from != NULL) {
				str_append(dest, " :from ");
				describe_quoted(dest, a->from);
			}
			str_printfa(dest, " :seconds %u", a->period);
			if (a->mime)
				str_append(dest, " :mime");
			break;
		case SIEVE_ACT_NOTIFY:
			str_append(dest, "notify ");
			describe_quoted(dest, a->method != NULL ? a->method : "");
			break;
		}
		if (a->flag_count > 0) {
			str_append(dest, " :flags");
			for (size_t j = 0; j < a->flag_count; j++) {
				str_append_c(dest, ' ');
				str_append(dest, a->flags[j]);
			}
		}
		str_append_c(dest, '\n');
	}
}
