/* ext-mime.c: the extensions of RFC 5703: "mime" (:mime and :anychild on
 * header, address and exists; :type, :subtype, :contenttype, :param on
 * header), "foreverypart" (foreverypart, break), "extracttext",
 * "replace" and "enclose".  The parts and rewrites are in mime.c and
 * mime-edit.c; the current message and the loops in ext-message.c. */
#include "ext-state.h"
#include "sieve/fields.h"
#include "sieve/mime-edit.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- :mime on header, address and exists (RFC 5703 4) ---- */

/* The tags are in ext-core.c's tables (SIEVE_EXT_MIME_TAGS and
 * SIEVE_EXT_MIMEOPTS_TAGS in sieve-private.h), with these values. */
_Static_assert(SIEVE_MIME_OPT_TYPE == 1 && SIEVE_MIME_OPT_SUBTYPE == 2 &&
	       SIEVE_MIME_OPT_CONTENTTYPE == 3 && SIEVE_MIME_OPT_PARAM == 4,
	       "the :type/:subtype/:contenttype/:param tag values");

/* The MIMEOPTS tag of a node, or NULL. */
static const struct sieve_tagval *mimeopt(const struct sieve_node *node)
{
	for (size_t i = 0; i < node->tag_count; i++) {
		const struct sieve_tag_def *t = node->tags[i].def;

		if (t->group == SIEVE_TG_OWN && t->value != 0 && t->ext != NULL &&
		    strcmp(t->ext, "mime") == 0)
			return &node->tags[i];
	}
	return NULL;
}

int sieve_ext_mime_validate(struct sieve_node *node, struct sieve_script *script,
			    struct str *error_r)
{
	(void)script;
	if (sieve_node_tag(node, "mime") != NULL)
		return 0;
	/* RFC 5703 4.1: "presence of the ":anychild" in absence of ":mime"
	 * is an error"; the MIMEOPTS belong to :mime as well */
	if (sieve_node_tag(node, "anychild") != NULL) {
		str_printfa(error_r, "the %s test: :anychild needs :mime", node->name);
		return -1;
	}
	if (mimeopt(node) != NULL) {
		str_printfa(error_r, "the %s test: :%s needs :mime", node->name,
			    mimeopt(node)->def->name);
		return -1;
	}
	return 0;
}

struct mime_values {
	const char **items;
	size_t *lens;
	size_t count, cap;
	struct pool *pool;
};

static bool values_add(void *ctx, const char *value, size_t len)
{
	struct mime_values *v = ctx;

	array_reserve((void **)&v->items, &v->cap, v->count + 1, sizeof(*v->items));
	/* lens grows with the same capacity: reserve it alike */
	v->lens = xrealloc(v->lens, v->cap * sizeof(*v->lens));
	v->items[v->count] = p_strndup(v->pool, value, len);
	v->lens[v->count++] = len;
	return false;
}

/* header :mime with :type, :subtype, :contenttype or :param, on the
 * fields of the part interp->fields holds now */
static int header_mimeopt(struct sieve_interp *interp, const struct sieve_node *node,
			  const struct sieve_tagval *opt)
{
	const char **names = sieve_interp_strlist(interp, node->pos[0]);
	const char **params = NULL;
	size_t param_count = 0;
	struct mime_values v = { .pool = interp->pool };
	int ret;

	if (opt->def->value == SIEVE_MIME_OPT_PARAM) {
		params = sieve_interp_strlist(interp, opt->param);
		param_count = opt->param->count;
	}
	for (size_t i = 0; i < node->pos[0]->count; i++) {
		const char **raw;
		size_t n = sieve_interp_header_raw(interp, names[i], &raw);

		n = sieve_index_select(node, raw, n);	/* RFC 5260 :index */

		for (size_t j = 0; j < n; j++) {
			size_t before = v.count;
			unsigned int counted =
				sieve_mime_field_values(names[i], raw[j], opt->def->value,
							params, param_count, values_add, &v);

			/* RFC 5703 4.1 a: :count counts the fields that parsed */
			if (node->match == SIEVE_MATCH_COUNT && counted == 0)
				v.count = before;
		}
	}
	ret = sieve_interp_match(interp, node, v.items, v.lens, v.count, node->pos[1]);
	free(v.items);
	free(v.lens);
	return ret;
}

int sieve_ext_mime_test(struct sieve_interp *interp, const struct sieve_node *node,
			int (*core_exec)(struct sieve_interp *interp, const struct sieve_node *node))
{
	struct sieve_mime *mime = sieve_ext_mime_get(interp);
	size_t context = sieve_ext_context(interp), first, end;
	const struct sieve_tagval *opt = mimeopt(node);
	struct sieve_field *saved = interp->fields;
	size_t saved_count = interp->field_count;
	bool saved_parsed = interp->fields_parsed;
	struct sieve_node plain = *node;
	int ret = 0;

	/* RFC 5703 4.1: the current part (the message outside a loop), or
	 * with :anychild it and everything below it; true if any is */
	if (sieve_node_tag(node, "anychild") != NULL) {
		sieve_mime_anychild_range(mime, context, &first, &end);
	} else {
		first = context == SIEVE_MIME_TOP ? 0 : context;
		end = first + 1;
	}
	/* the test without its RFC 5703 tags (:index and the rest stay) */
	plain.tags = p_malloc(interp->pool, sizeof(*plain.tags) * (node->tag_count + 1));
	plain.tag_count = 0;
	for (size_t i = 0; i < node->tag_count; i++) {
		const char *ext = node->tags[i].def->ext;

		if (ext == NULL || strcmp(ext, "mime") != 0)
			plain.tags[plain.tag_count++] = node->tags[i];
	}
	for (size_t i = first; i < end && ret == 0; i++) {
		struct sieve_header hdr;
		struct sieve_field *fields;

		sieve_mime_part_header(mime, i, &hdr);
		fields = xcalloc(hdr.count + 1, sizeof(*fields));
		for (size_t j = 0; j < hdr.count; j++) {
			fields[j].name = hdr.fields[j].name;
			fields[j].name_len = hdr.fields[j].name_len;
			fields[j].raw = hdr.fields[j].value;
			fields[j].raw_len = hdr.fields[j].value_len;
		}
		/* the core's tests read interp->fields: give them the part's */
		interp->fields = fields;
		interp->field_count = hdr.count;
		interp->fields_parsed = true;
		ret = opt != NULL ? header_mimeopt(interp, node, opt) : core_exec(interp, &plain);
		interp->fields = saved;
		interp->field_count = saved_count;
		interp->fields_parsed = saved_parsed;
		free(fields);
		sieve_fields_free(&hdr);
	}
	return ret;
}

/* ---- foreverypart and break (RFC 5703 3) ---- */

/* The :name of a command from its raw arguments (validation of the
 * block runs after its parent's), or NULL. */
static const char *raw_name(const struct sieve_node *node)
{
	for (size_t i = 0; i + 1 < node->arg_count; i++) {
		if (node->args[i].kind == SIEVE_ARG_TAG && strcmp(node->args[i].tag, "name") == 0 &&
		    node->args[i + 1].kind == SIEVE_ARG_STRING)
			return node->args[i + 1].strs[0];
	}
	return NULL;
}

/* Marks the breaks (whose :name is one of names[0..count)) and the
 * extracttexts inside a loop's block, through if blocks and nested
 * loops.  -1 when loops nest deeper than the interpreter runs them. */
static int mark_block(struct sieve_node *const *cmds, size_t n, const char **names,
		      size_t count, struct str *error_r)
{
	for (size_t i = 0; i < n; i++) {
		struct sieve_node *cmd = cmds[i];

		if (strcmp(cmd->name, "break") == 0) {
			const char *name = raw_name(cmd);
			bool found = name == NULL;

			for (size_t j = 0; j < count && !found; j++)
				found = names[j] != NULL && strcmp(names[j], name) == 0;
			cmd->in_loop = cmd->in_loop || found;
		} else if (strcmp(cmd->name, "extracttext") == 0) {
			cmd->in_loop = true;
		} else if (strcmp(cmd->name, "foreverypart") == 0) {
			if (count == SIEVE_EXT_MAX_LOOPS) {
				str_printfa(error_r, "foreverypart loops nest more than %d deep",
					    SIEVE_EXT_MAX_LOOPS);
				return -1;
			}
			names[count] = raw_name(cmd);
			if (mark_block(cmd->block, cmd->block_count, names, count + 1, error_r) < 0)
				return -1;
			continue;
		}
		if (mark_block(cmd->block, cmd->block_count, names, count, error_r) < 0)
			return -1;
	}
	return 0;
}

static int validate_foreverypart(struct sieve_node *node, struct sieve_script *script,
				 struct str *error_r)
{
	const char *names[SIEVE_EXT_MAX_LOOPS];

	(void)script;
	names[0] = raw_name(node);
	return mark_block(node->block, node->block_count, names, 1, error_r);
}

static int exec_foreverypart(struct sieve_interp *interp, const struct sieve_node *node)
{
	struct sieve_ext_state *st = sieve_ext_state_get(interp);
	const struct sieve_tagval *name = sieve_node_tag(node, "name");
	struct sieve_ext_loop *loop;
	int ret = 0;

	if (st->loop_count == SIEVE_EXT_MAX_LOOPS)
		return sieve_interp_fail(interp, "foreverypart loops nest too deep");
	sieve_ext_mime_get(interp);
	loop = &st->loops[st->loop_count];
	loop->name = name != NULL ? name->param->strs[0] : NULL;
	sieve_mime_iter_init(st->mime, sieve_ext_context(interp), &loop->iter);
	st->loop_count++;
	while (ret == 0 && sieve_mime_iter_next(&loop->iter, &loop->current)) {
		ret = sieve_interp_run_block(interp, node->block, node->block_count);
		if (ret == SIEVE_BREAK &&
		    (st->break_name == NULL ||
		     (loop->name != NULL && strcmp(loop->name, st->break_name) == 0))) {
			st->break_name = NULL;
			ret = 0;
			break;
		}
	}
	st->loop_count--;
	return ret;
}

static int validate_break(struct sieve_node *node, struct sieve_script *script,
			  struct str *error_r)
{
	(void)script;
	if (!node->in_loop) {
		str_append(error_r, sieve_node_tag(node, "name") != NULL ?
			   "break: no enclosing foreverypart loop has this :name" :
			   "break outside a foreverypart loop");
		return -1;
	}
	return 0;
}

static int exec_break(struct sieve_interp *interp, const struct sieve_node *node)
{
	const struct sieve_tagval *name = sieve_node_tag(node, "name");

	sieve_ext_state_get(interp)->break_name = name != NULL ? name->param->strs[0] : NULL;
	return SIEVE_BREAK;
}

/* ---- extracttext (RFC 5703 7) ---- */

static int validate_extracttext(struct sieve_node *node, struct sieve_script *script,
				struct str *error_r)
{
	const char *var = node->pos[0]->strs[0];

	if (!sieve_script_requires(script, "variables")) {
		str_append(error_r, "extracttext needs require \"variables\"");
		return -1;
	}
	/* "This SHOULD be flagged as a compilation error" */
	if (!node->in_loop) {
		str_append(error_r, "extracttext outside a foreverypart loop");
		return -1;
	}
	for (const char *p = var; *p != '\0'; p++) {
		bool ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
			(p > var && *p >= '0' && *p <= '9');
		if (!ok) {
			str_printfa(error_r, "extracttext: invalid variable name '%s'", var);
			return -1;
		}
	}
	if (*var == '\0') {
		str_append(error_r, "extracttext: empty variable name");
		return -1;
	}
	return 0;
}

static int exec_extracttext(struct sieve_interp *interp, const struct sieve_node *node)
{
	const struct sieve_tagval *first = sieve_node_tag(node, "first");
	size_t context = sieve_ext_context(interp);
	struct str text = STR_INIT;
	int ret;

	if (context != SIEVE_MIME_TOP)
		sieve_mime_extract_text(sieve_ext_mime_get(interp), context,
					first != NULL ? (size_t)first->param->number : 0,
					interp->limits->max_variable_size, &text);
	sieve_variables_modify(node, &text);
	ret = sieve_interp_var_set(interp, node->pos[0]->strs[0], text.data, text.len);
	str_free(&text);
	return ret < 0 ? -1 : 0;
}

/* ---- replace (RFC 5703 5) and enclose (6) ---- */

static int validate_replace(struct sieve_node *node, struct sieve_script *script,
			    struct str *error_r)
{
	(void)script;
	/* "If ":mime" is specified and either ":subject" or ":from" is
	 * specified ... This SHOULD be flagged as a compilation error." */
	if (sieve_node_tag(node, "mime") != NULL &&
	    (sieve_node_tag(node, "subject") != NULL || sieve_node_tag(node, "from") != NULL)) {
		str_append(error_r, "replace: :mime excludes :subject and :from");
		return -1;
	}
	return 0;
}

static const char *tag_str(struct sieve_interp *interp, const struct sieve_node *node,
			   const char *name)
{
	const struct sieve_tagval *tv = sieve_node_tag(node, name);

	return tv != NULL ? sieve_interp_str(interp, tv->param->strs[0]) : NULL;
}

static int exec_replace(struct sieve_interp *interp, const struct sieve_node *node)
{
	struct sieve_mime *mime = sieve_ext_mime_get(interp);
	size_t context = sieve_ext_context(interp);
	size_t index = context == SIEVE_MIME_TOP ? 0 : context;
	const char *text = sieve_interp_str(interp, node->pos[0]->strs[0]);
	struct sieve_mime_replace r = {
		.text = text,
		.text_len = strlen(text),
		.mime = sieve_node_tag(node, "mime") != NULL,
		.subject = tag_str(interp, node, "subject"),
		.from = tag_str(interp, node, "from"),
	};
	struct str out = STR_INIT;
	const char *error;
	int ret;

	ret = sieve_mime_edit_replace(interp->msg->data, interp->msg->size,
				      sieve_mime_part(mime, index), &r, &out, &error);
	if (ret < 0)
		ret = sieve_interp_fail(interp, "%s", error);
	else
		ret = sieve_ext_message_change(interp, out.data, out.len, SIEVE_EXT_CHANGE_PART,
					       index);
	str_free(&out);
	return ret < 0 ? -1 : 0;
}

static int exec_enclose(struct sieve_interp *interp, const struct sieve_node *node)
{
	const struct sieve_tagval *headers = sieve_node_tag(node, "headers");
	const char *text = sieve_interp_str(interp, node->pos[0]->strs[0]);
	const char *const *users = interp->env != NULL ? interp->env->user_addresses : NULL;
	struct sieve_mime_enclose e = {
		.text = text,
		.text_len = strlen(text),
		.subject = tag_str(interp, node, "subject"),
		.headers = headers != NULL ? sieve_interp_strlist(interp, headers->param) : NULL,
		.header_count = headers != NULL ? headers->param->count : 0,
		.date = interp->msg->received != 0 ? interp->msg->received : time(NULL),
		/* "the user running the Sieve action" */
		.from = users != NULL && users[0] != NULL ? users[0] : interp->msg->envelope_to,
	};
	struct str out = STR_INIT;
	int ret;

	sieve_mime_edit_enclose(interp->msg->data, interp->msg->size, &e, &out);
	ret = sieve_ext_message_change(interp, out.data, out.len, SIEVE_EXT_CHANGE_ENCLOSE, 0);
	str_free(&out);
	return ret < 0 ? -1 : 0;
}

/* ---- the tables ---- */

static const struct sieve_tag_def name_tags[] = {
	{ .name = "name", .param = SIEVE_P_STRING },
	{ .name = NULL },
};

static const struct sieve_cmd_def foreverypart_cmds[] = {
	{ "foreverypart", "foreverypart", SIEVE_CMD_BLOCK, "", name_tags,
	  validate_foreverypart, exec_foreverypart },
	{ "break", "foreverypart", 0, "", name_tags, validate_break, exec_break },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

/* extracttext [MODIFIER] [":first" number] <varname: string>; the
 * modifiers are set's (RFC 5229 4, RFC 5435 6) */
static const struct sieve_tag_def extracttext_tags[] = {
	{ .name = "first", .param = SIEVE_P_NUMBER },
	SIEVE_SET_MODIFIER_TAGS,
	{ .name = NULL },
};

static const struct sieve_cmd_def extracttext_cmds[] = {
	{ "extracttext", "extracttext", 0, "s", extracttext_tags, validate_extracttext,
	  exec_extracttext },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct sieve_tag_def replace_tags[] = {
	{ .name = "mime", .param = SIEVE_P_NONE },
	{ .name = "subject", .param = SIEVE_P_STRING },
	{ .name = "from", .param = SIEVE_P_STRING },
	{ .name = NULL },
};

static const struct sieve_cmd_def replace_cmds[] = {
	{ "replace", "replace", 0, "s", replace_tags, validate_replace, exec_replace },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

static const struct sieve_tag_def enclose_tags[] = {
	{ .name = "subject", .param = SIEVE_P_STRING },
	{ .name = "headers", .param = SIEVE_P_STRLIST },
	{ .name = NULL },
};

static const struct sieve_cmd_def enclose_cmds[] = {
	{ "enclose", "enclose", 0, "s", enclose_tags, NULL, exec_enclose },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_mime = {
	"mime", NULL, NULL, true,
};

const struct sieve_extension sieve_ext_foreverypart = {
	"foreverypart", foreverypart_cmds, NULL, true,
};

const struct sieve_extension sieve_ext_extracttext = {
	"extracttext", extracttext_cmds, NULL, true,
};

const struct sieve_extension sieve_ext_replace = {
	"replace", replace_cmds, NULL, true,
};

const struct sieve_extension sieve_ext_enclose = {
	"enclose", enclose_cmds, NULL, true,
};
