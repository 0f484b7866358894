/* ext-body.c: RFC 5173 body: the body test with :raw, :content and
 * :text, on the MIME tree of the mime layer's parser (the message is
 * parsed once per run, on the first body test). */
#include "sieve-private.h"
#include "mime/charset.h"
#include "mime/decode.h"
#include "mime/parser.h"

#include <stdlib.h>
#include <string.h>

/* RFC 5173 5.2: does the part's type match one of `types` ("" every
 * type, "text" a main type, "text/html" a full type)? */
static bool type_matches(const struct mime_part *part, const char *const *types, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *t = types[i];
		const char *slash = strchr(t, '/');
		if (*t == '\0')
			return true;
		if (slash == NULL) {
			if (str_eq_icase(t, part->type))
				return true;
		} else if (strlen(part->type) == (size_t)(slash - t) &&
			   strncasecmp(t, part->type, (size_t)(slash - t)) == 0 &&
			   str_eq_icase(slash + 1, part->subtype)) {
			return true;
		}
	}
	return false;
}

/* The decoded content of a leaf part: transfer encoding undone and, for
 * text, converted to UTF-8 from its charset. */
static const char *part_content(struct sieve_interp *interp, const struct mime_part *part,
				size_t *len_r)
{
	const char *data = interp->msg->data + part->body_offset;
	struct str dec = STR_INIT, utf8 = STR_INIT;
	struct mime_decoder d;

	mime_decoder_init(&d, part->transfer_encoding);
	mime_decoder_feed(&d, data, part->body_size, &dec);
	mime_decoder_finish(&d, &dec);
	const char *out = dec.data != NULL ? dec.data : "";
	size_t len = dec.len;
	if ((part->flags & MIME_PART_FLAG_TEXT) != 0) {
		const char *cs = mime_param_find(part->params, part->param_count, "charset", NULL);
		if (cs != NULL && !mime_charset_is_utf8(cs) &&
		    mime_charset_to_utf8(cs, out, len, &utf8) == 0) {
			out = utf8.data != NULL ? utf8.data : "";
			len = utf8.len;
		}
	}
	const char *ret = p_strndup(interp->pool, out, len);
	*len_r = len;
	str_free(&dec);
	str_free(&utf8);
	return ret;
}

struct body_values {
	const char **vals;
	size_t *lens;
	size_t count, cap, lcap;
};

static void collect(struct sieve_interp *interp, const struct mime_part *part,
		    const char *const *types, size_t ntypes, struct body_values *bv)
{
	for (; part != NULL; part = part->next) {
		if (part->children != NULL) {
			/* multipart and message/rfc822: their parts, not the
			 * container (RFC 5173 5.2) */
			collect(interp, part->children, types, ntypes, bv);
			continue;
		}
		if (!type_matches(part, types, ntypes))
			continue;
		size_t len;
		const char *s = part_content(interp, part, &len);
		array_reserve((void **)&bv->vals, &bv->cap, bv->count + 1, sizeof(*bv->vals));
		array_reserve((void **)&bv->lens, &bv->lcap, bv->count + 1, sizeof(*bv->lens));
		bv->vals[bv->count] = s;
		bv->lens[bv->count++] = len;
	}
}

static const char *header_end(const char *data, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		if (data[i] != '\n')
			continue;
		if (i + 1 < size && data[i + 1] == '\n')
			return data + i + 2;
		if (i + 2 < size && data[i + 1] == '\r' && data[i + 2] == '\n')
			return data + i + 3;
	}
	return data + size;
}

/* body [COMPARATOR] [MATCH-TYPE] [BODY-TRANSFORM] <key-list: string-list> */
static int exec_body(struct sieve_interp *interp, const struct sieve_node *node)
{
	struct body_values bv = { 0 };
	const struct sieve_tagval *content = sieve_node_tag(node, "content");

	if (sieve_node_tag(node, "raw") != NULL) {
		/* the undecoded body, as it is */
		const char *b = header_end(interp->msg->data, interp->msg->size);
		const char *v = b;
		size_t len = (size_t)(interp->msg->data + interp->msg->size - b);
		bool ret = sieve_interp_match(interp, node, &v, &len, 1, node->pos[0]);
		return ret;
	}
	static const char *const text[] = { "text" };
	const char *const *types = text;
	size_t ntypes = 1;
	if (content != NULL) {
		types = sieve_interp_strlist(interp, content->param);
		ntypes = content->param->count;
	}
	struct mime_parser *parser;
	struct mime_part *root = mime_parser_parse(interp->msg->data, interp->msg->size, &parser);
	collect(interp, root, types, ntypes, &bv);
	mime_parser_destroy(&parser);
	bool ret = sieve_interp_match(interp, node, bv.vals, bv.lens, bv.count, node->pos[0]);
	free(bv.vals);
	free(bv.lens);
	return ret;
}

static int validate_body(struct sieve_node *node, struct sieve_script *script,
			 struct str *error_r)
{
	(void)script;
	if (node->match == SIEVE_MATCH_COUNT) {
		str_append(error_r, "body: the :count match type cannot be used with the body test");
		return -1;
	}
	return 0;
}

static const struct sieve_tag_def body_tags[] = {
	{ "raw", SIEVE_P_NONE, NULL, SIEVE_TG_OWN, 0, 1 },
	{ "content", SIEVE_P_STRLIST, NULL, SIEVE_TG_OWN, 0, 1 },
	{ "text", SIEVE_P_NONE, NULL, SIEVE_TG_OWN, 0, 1 },
	{ NULL, 0, NULL, 0, 0, 0 },
};

static const struct sieve_cmd_def body_cmds[] = {
	{ "body", "body", SIEVE_CMD_TEST | SIEVE_CMD_MATCH, "l", body_tags, validate_body, exec_body },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_body = {
	"body", body_cmds, NULL, true,
};
