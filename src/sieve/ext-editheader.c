/* ext-editheader.c: the "editheader" extension (RFC 5293): addheader and
 * deleteheader, on the current message (ext-message.c), with the edits
 * themselves in editheader.c. */
#include "ext-state.h"
#include "sieve/editheader.h"
#include "sieve/fields.h"

#include <string.h>

static bool is_constant(const struct sieve_script *script, const char *s)
{
	return !script->uses_variables || strstr(s, "${") == NULL;
}

/* Carries out an edit's outcome (-1 error, 0 nothing changed, > 0 the
 * new message in *out, which is freed); the command's return code. */
static int apply_edit(struct sieve_interp *interp, int ret, const char *error, struct str *out)
{
	if (ret < 0)
		ret = sieve_interp_fail(interp, "%s", error);
	else if (ret > 0)
		ret = sieve_ext_message_change(interp, out->data, out->len, SIEVE_EXT_CHANGE_HEADER, 0);
	str_free(out);
	return ret < 0 ? -1 : 0;
}

/* addheader [":last"] <field-name: string> <value: string> */
static int validate_addheader(struct sieve_node *node, struct sieve_script *script,
			      struct str *error_r)
{
	const char *name = node->pos[0]->strs[0], *value = node->pos[1]->strs[0];

	if (is_constant(script, name) && !sieve_fields_name_is_valid(name)) {
		str_printfa(error_r, "addheader: invalid header field name '%s'", name);
		return -1;
	}
	if (is_constant(script, value)) {
		if (strlen(value) > SIEVE_EDITHEADER_MAX_VALUE) {
			str_printfa(error_r, "addheader: the value is longer than %d bytes",
				    SIEVE_EDITHEADER_MAX_VALUE);
			return -1;
		}
		if (!sieve_fields_value_is_valid(value, strlen(value))) {
			str_append(error_r, "addheader: the value has a line break that is not folding");
			return -1;
		}
	}
	return 0;
}

static int exec_addheader(struct sieve_interp *interp, const struct sieve_node *node)
{
	const char *name = sieve_interp_str(interp, node->pos[0]->strs[0]);
	const char *value = sieve_interp_str(interp, node->pos[1]->strs[0]);
	struct str out = STR_INIT;
	const char *error = NULL;
	int ret;

	ret = sieve_editheader_add(interp->msg->data, interp->msg->size, name, value,
				   strlen(value), sieve_node_tag(node, "last") != NULL, &out, &error);
	return apply_edit(interp, ret, error, &out);
}

/* deleteheader [":index" <fieldno: number> [":last"]] [COMPARATOR]
 *              [MATCH-TYPE] <field-name: string> [<value-patterns: string-list>] */
static int validate_deleteheader(struct sieve_node *node, struct sieve_script *script,
				 struct str *error_r)
{
	const struct sieve_tagval *index = sieve_node_tag(node, "index");
	const char *name = node->pos[0]->strs[0];

	if (sieve_node_tag(node, "last") != NULL && index == NULL) {
		str_append(error_r, "deleteheader: :last requires :index");
		return -1;
	}
	if (index != NULL && (index->param->number == 0 || index->param->number > UINT32_MAX)) {
		str_append(error_r, "deleteheader: the :index must be a number from 1");
		return -1;
	}
	if (node->match == SIEVE_MATCH_COUNT) {
		str_append(error_r, "deleteheader: the :count match type cannot select fields");
		return -1;
	}
	if (is_constant(script, name) && !sieve_fields_name_is_valid(name)) {
		str_printfa(error_r, "deleteheader: invalid header field name '%s'", name);
		return -1;
	}
	return 0;
}

struct delete_ctx {
	struct sieve_interp *interp;
	const struct sieve_node *node;
};

/* RFC 5293 5: the values are matched "as if by the header test"; a
 * deletion sets no match variables (it is not a test). */
static int delete_match(void *context, const char *value, size_t len)
{
	struct delete_ctx *ctx = context;
	struct sieve_match_vars saved = ctx->interp->match_vars;
	const char *values[1] = { value };
	int ret;

	ret = sieve_interp_match(ctx->interp, ctx->node, values, &len, 1, ctx->node->pos[1]);
	ctx->interp->match_vars = saved;
	return ret;
}

static int exec_deleteheader(struct sieve_interp *interp, const struct sieve_node *node)
{
	const struct sieve_tagval *index = sieve_node_tag(node, "index");
	struct delete_ctx ctx = { interp, node };
	struct sieve_editheader_delete del = {
		.name = sieve_interp_str(interp, node->pos[0]->strs[0]),
		.index = index != NULL ? (unsigned int)index->param->number : 0,
		.last = sieve_node_tag(node, "last") != NULL,
		.match = node->pos_count > 1 ? delete_match : NULL,
		.ctx = &ctx,
	};
	struct str out = STR_INIT;
	const char *error = NULL;
	int ret;

	ret = sieve_editheader_delete(interp->msg->data, interp->msg->size, &del, &out, &error);
	return apply_edit(interp, ret, error, &out);
}

static const struct sieve_tag_def addheader_tags[] = {
	{ .name = "last", .param = SIEVE_P_NONE },
	{ .name = NULL },
};

static const struct sieve_tag_def deleteheader_tags[] = {
	{ .name = "index", .param = SIEVE_P_NUMBER },
	{ .name = "last", .param = SIEVE_P_NONE },
	{ .name = NULL },
};

static const struct sieve_cmd_def editheader_cmds[] = {
	{ "addheader", "editheader", 0, "ss", addheader_tags, validate_addheader,
	  exec_addheader },
	{ "deleteheader", "editheader", SIEVE_CMD_MATCH, "s?l", deleteheader_tags,
	  validate_deleteheader, exec_deleteheader },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_editheader = {
	"editheader", editheader_cmds, NULL, true,
};
