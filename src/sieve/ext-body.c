/* ext-body.c: RFC 5173 body: the body test with :raw, :content and
 * :text, on the MIME tree of the mime layer's parser (the message is
 * parsed once per run, on the first body test).  :text is every text
 * part, text/html reduced to its text (mime_preview_html_text()). */
#include "sieve-private.h"
#include "mime/charset.h"
#include "mime/decode.h"
#include "mime/parser.h"
#include "mime/preview.h"

#include <stdlib.h>
#include <string.h>

/* RFC 5173 5.2: does the part's type match one of `types` ("" every
 * type, "text" a main type, "text/html" a full type; a type that starts
 * or ends with "/" or has two matches nothing)? */
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
		} else if (slash != t && slash[1] != '\0' && strchr(slash + 1, '/') == NULL &&
			   strlen(part->type) == (size_t)(slash - t) &&
			   strncasecmp(t, part->type, (size_t)(slash - t)) == 0 &&
			   str_eq_icase(slash + 1, part->subtype)) {
			return true;
		}
	}
	return false;
}

/* The decoded content of a leaf part: transfer encoding undone and, for
 * text, converted to UTF-8 from its charset; with `html_text` a
 * text/html part is reduced to its text (RFC 5173 5.3 :text). */
static const char *part_content(struct sieve_interp *interp, const struct mime_part *part,
				bool html_text, size_t *len_r)
{
	const char *data = interp->msg->data + part->body_offset;
	struct str dec = STR_INIT, utf8 = STR_INIT, text = STR_INIT;
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
		if (html_text && str_eq_icase(part->subtype, "html")) {
			mime_preview_html_text(out, len, &text);
			out = text.data;
			len = text.len;
		}
	}
	const char *ret = p_strndup(interp->pool, out, len);
	*len_r = len;
	str_free(&dec);
	str_free(&utf8);
	str_free(&text);
	return ret;
}

struct body_values {
	const char **vals;
	size_t *lens;
	size_t count, cap, lcap;
};

static void add_value(struct sieve_interp *interp, struct body_values *bv,
		      const char *s, size_t len)
{
	array_reserve((void **)&bv->vals, &bv->cap, bv->count + 1, sizeof(*bv->vals));
	array_reserve((void **)&bv->lens, &bv->lcap, bv->count + 1, sizeof(*bv->lens));
	bv->vals[bv->count] = p_strndup(interp->pool, s, len);
	bv->lens[bv->count++] = len;
}

/* The start of the line at or after body[from] that begins with
 * "--boundary" (and, with `final`, "--boundary--"), or NULL. */
static const char *find_boundary(const char *body, size_t size, size_t from,
				 const char *boundary, bool final)
{
	size_t blen = strlen(boundary);

	for (size_t i = from; i + 2 + blen <= size; i++) {
		if ((i == 0 || body[i - 1] == '\n') && body[i] == '-' && body[i + 1] == '-' &&
		    memcmp(body + i + 2, boundary, blen) == 0 &&
		    (!final || (i + 4 + blen <= size && body[i + 2 + blen] == '-' &&
				body[i + 3 + blen] == '-')))
			return body + i;
	}
	return NULL;
}

/* RFC 5173 5.2: a multipart's prologue and epilogue, each a string */
static void add_prologue_epilogue(struct sieve_interp *interp, const struct mime_part *part,
				  struct body_values *bv)
{
	const char *body = interp->msg->data + part->body_offset;
	size_t size = part->body_size;
	const char *boundary = mime_param_find(part->params, part->param_count, "boundary", NULL);

	if (boundary == NULL || *boundary == '\0')
		return;
	const char *first = find_boundary(body, size, 0, boundary, false);
	if (first == NULL)
		return;
	size_t plen = (size_t)(first - body);
	/* the line break before a boundary belongs to it (RFC 2046 5.1.1) */
	if (plen > 0 && body[plen - 1] == '\n')
		plen--;
	if (plen > 0 && body[plen - 1] == '\r')
		plen--;
	add_value(interp, bv, body, plen);
	const char *last = find_boundary(body, size, (size_t)(first - body), boundary, true);
	if (last == NULL)
		return;
	const char *nl = memchr(last, '\n', size - (size_t)(last - body));
	const char *epi = nl != NULL ? nl + 1 : body + size;
	add_value(interp, bv, epi, size - (size_t)(epi - body));
}

/* Walks the parts: with `content` the RFC 5173 5.2 rules (containers
 * give their prologue/epilogue or nested header), else :text (5.3). */
static void collect(struct sieve_interp *interp, const struct mime_part *part,
		    const char *const *types, size_t ntypes, bool html_text,
		    struct body_values *bv)
{
	for (; part != NULL; part = part->next) {
		bool match = type_matches(part, types, ntypes);
		if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0 && part->children != NULL) {
			if (match)
				add_prologue_epilogue(interp, part, bv);
			collect(interp, part->children, types, ntypes, html_text, bv);
			continue;
		}
		if ((part->flags & MIME_PART_FLAG_MESSAGE_RFC822) != 0 && part->children != NULL) {
			/* the nested message's header as one string */
			const struct mime_part *m = part->children;
			if (match)
				add_value(interp, bv, interp->msg->data + m->header_offset,
					  m->header_size);
			collect(interp, m, types, ntypes, html_text, bv);
			continue;
		}
		if (match) {
			size_t len;
			const char *s = part_content(interp, part, html_text, &len);
			add_value(interp, bv, s, len);
		}
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
		int ret = sieve_interp_match(interp, node, &v, &len, 1, node->pos[0]);
		return ret;
	}
	static const char *const text[] = { "text" };
	const char *const *types = text;
	size_t ntypes = 1;
	if (content != NULL) {
		types = sieve_interp_strlist(interp, content->param);
		ntypes = content->param->count;
	}
	if (interp->mime_parser == NULL)
		interp->mime_root = mime_parser_parse(interp->msg->data, interp->msg->size,
						      &interp->mime_parser);
	collect(interp, interp->mime_root, types, ntypes, content == NULL, &bv);
	int ret = sieve_interp_match(interp, node, bv.vals, bv.lens, bv.count, node->pos[0]);
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
	{ .name = "raw", .param = SIEVE_P_NONE, .exclusive = 1 },
	{ .name = "content", .param = SIEVE_P_STRLIST, .exclusive = 1 },
	{ .name = "text", .param = SIEVE_P_NONE, .exclusive = 1 },
	{ .name = NULL },
};

static const struct sieve_cmd_def body_cmds[] = {
	{ "body", "body", SIEVE_CMD_TEST | SIEVE_CMD_MATCH, "l", body_tags, validate_body, exec_body },
	{ NULL, NULL, 0, NULL, NULL, NULL, NULL },
};

const struct sieve_extension sieve_ext_body = {
	"body", body_cmds, NULL, true,
};
