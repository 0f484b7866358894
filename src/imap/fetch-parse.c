/* fetch-parse.c: the FETCH item parser (RFC 9051 6.4.5 and section 9,
 * RFC 3516 for BINARY): fetch-att names, macros and sections become a
 * fetch request (fetch-parse.h).  Names are looked up in tables, in any
 * case; the response names are the tables' (canonical) spelling.  It
 * never touches the store, the session or the connection.
 *
 * Items: FLAGS, UID, INTERNALDATE, RFC822.SIZE, RFC822, RFC822.HEADER,
 * RFC822.TEXT, ENVELOPE, BODY, BODYSTRUCTURE, BODY[section]<partial> and
 * BODY.PEEK[...] for every section (part paths like 1.2, 2.HEADER,
 * 2.TEXT, 1.MIME, 3.HEADER.FIELDS (...)), BINARY[section-binary]<partial>,
 * BINARY.PEEK and BINARY.SIZE, MODSEQ (RFC 7162), and the macros FAST,
 * ALL, FULL. */
#include "fetch-parse.h"
#include "qresync.h"
#include "syntax/imap-arg.h"
#include "base/pool.h"
#include "base/str.h"
#include "mime/part-map.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* fetch-att names without a section, and the macros. */
struct fetch_atom {
	const char *name;
	unsigned int attrs;		/* FETCH_ATTR_* it asks for */
	bool macro;			/* only alone, never inside a list */
	/* RFC822, RFC822.HEADER, RFC822.TEXT: a body item of `section` */
	bool is_body;
	enum fetch_section section;
	bool set_seen;
};

#define FETCH_MACRO_FAST (FETCH_ATTR_FLAGS | FETCH_ATTR_INTERNALDATE | FETCH_ATTR_RFC822_SIZE)

static const struct fetch_atom fetch_atoms[] = {
	{ .name = "FLAGS", .attrs = FETCH_ATTR_FLAGS },
	{ .name = "UID", .attrs = FETCH_ATTR_UID },
	{ .name = "INTERNALDATE", .attrs = FETCH_ATTR_INTERNALDATE },
	{ .name = "RFC822.SIZE", .attrs = FETCH_ATTR_RFC822_SIZE },
	{ .name = "ENVELOPE", .attrs = FETCH_ATTR_ENVELOPE },
	{ .name = "BODY", .attrs = FETCH_ATTR_BODY },
	{ .name = "BODYSTRUCTURE", .attrs = FETCH_ATTR_BODYSTRUCTURE },
	{ .name = "MODSEQ", .attrs = FETCH_ATTR_MODSEQ },
	{ .name = "EMAILID", .attrs = FETCH_ATTR_EMAILID },
	{ .name = "THREADID", .attrs = FETCH_ATTR_THREADID },
	{ .name = "SAVEDATE", .attrs = FETCH_ATTR_SAVEDATE },
	{ .name = "PREVIEW", .attrs = FETCH_ATTR_PREVIEW },
	{ .name = "RFC822", .is_body = true, .section = FETCH_SECTION_ALL, .set_seen = true },
	/* like BODY.PEEK[HEADER] */
	{ .name = "RFC822.HEADER", .is_body = true, .section = FETCH_SECTION_HEADER },
	{ .name = "RFC822.TEXT", .is_body = true, .section = FETCH_SECTION_TEXT, .set_seen = true },
	/* FAST = (FLAGS INTERNALDATE RFC822.SIZE);
	 * ALL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE);
	 * FULL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY) */
	{ .name = "FAST", .attrs = FETCH_MACRO_FAST, .macro = true },
	{ .name = "ALL", .attrs = FETCH_MACRO_FAST | FETCH_ATTR_ENVELOPE, .macro = true },
	{ .name = "FULL", .attrs = FETCH_MACRO_FAST | FETCH_ATTR_ENVELOPE | FETCH_ATTR_BODY,
	  .macro = true },
};

/* The names before "[". */
static const struct fetch_section_item {
	const char *name;
	enum fetch_kind kind;
	bool peek;
} fetch_section_items[] = {
	{ "BODY", FETCH_KIND_BODY, false },
	{ "BODY.PEEK", FETCH_KIND_BODY, true },
	{ "BINARY", FETCH_KIND_BINARY, false },
	{ "BINARY.PEEK", FETCH_KIND_BINARY, true },
	{ "BINARY.SIZE", FETCH_KIND_BINARY_SIZE, true },
};

/* section-text = section-msgtext / "MIME" */
static const struct fetch_section_text {
	const char *name;
	enum fetch_section section;
} fetch_section_texts[] = {
	{ "HEADER", FETCH_SECTION_HEADER },
	{ "HEADER.FIELDS", FETCH_SECTION_HEADER_FIELDS },
	{ "HEADER.FIELDS.NOT", FETCH_SECTION_HEADER_FIELDS_NOT },
	{ "TEXT", FETCH_SECTION_TEXT },
	{ "MIME", FETCH_SECTION_MIME },
};

/* The index of the entry of a table of `count` entries, `size` bytes
 * apart, whose name (at *first_name, then every `size` bytes) is
 * name[0..len) in any case; -1 if none. */
static int fetch_name_index(const char *const *first_name, size_t count, size_t size,
			    const char *name, size_t len)
{
	for (size_t i = 0; i < count; i++) {
		const char *entry = *(const char *const *)((const char *)first_name + i * size);

		if (strlen(entry) == len && strncasecmp(entry, name, len) == 0)
			return (int)i;
	}
	return -1;
}

#define FETCH_NAME_INDEX(table, str, len) \
	fetch_name_index(&(table)[0].name, N_ELEMENTS(table), sizeof((table)[0]), (str), (len))

static struct fetch_body *fetch_add_body(struct fetch_items *items, struct pool *pool)
{
	if (items->body_count == items->body_cap) {
		size_t cap = items->body_cap == 0 ? 4 : items->body_cap * 2;
		struct fetch_body *n = p_malloc(pool, cap * sizeof(*n));
		if (items->body_count > 0)
			memcpy(n, items->bodies, items->body_count * sizeof(*n));
		items->bodies = n;
		items->body_cap = cap;
	}
	struct fetch_body *body = &items->bodies[items->body_count++];
	memset(body, 0, sizeof(*body));
	return body;
}

/* field-name = 1*ftext; ftext = %d33-57 / %d59-126 (RFC 5322) */
static bool fetch_is_field_name(const char *name)
{
	if (*name == '\0')
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 33 || *p > 126 || *p == ':')
			return false;
	}
	return true;
}

static bool fetch_is_atom(const char *name)
{
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
			return false;
	}
	return *name != '\0';
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")"
 * header-fld-name = astring
 * `p` points at "(" inside the section text; on success *end_r points
 * after ")" and the names are in *fields_r; the canonical text of the list
 * is appended to `resp`. */
static int fetch_parse_header_list(struct pool *pool, const char *p, const char **end_r,
				   const char *const **fields_r, size_t *count_r,
				   struct str *resp)
{
	const char **fields = NULL;
	size_t count = 0, cap = 0;

	if (*p++ != '(')
		return -1;
	str_append_c(resp, '(');
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == ')')
			break;
		struct str name = STR_INIT;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0') {
					str_free(&name);
					return -1;
				}
				if (*p == '\\') {
					p++;
					if (*p != '"' && *p != '\\') {
						str_free(&name);
						return -1;
					}
				}
				str_append_c(&name, *p);
			}
			p++;
		} else {
			while (*p != '\0' && *p != ' ' && *p != ')' && *p != '(' && *p != '"')
				str_append_c(&name, *p++);
		}
		if (name.len == 0 || !fetch_is_field_name(str_c(&name))) {
			str_free(&name);
			return -1;
		}
		if (count == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			const char **n = p_malloc(pool, cap * sizeof(*n));
			if (count > 0)
				memcpy(n, fields, count * sizeof(*n));
			fields = n;
		}
		fields[count] = p_strdup(pool, str_c(&name));
		if (count > 0)
			str_append_c(resp, ' ');
		if (fetch_is_atom(fields[count]))
			str_append(resp, fields[count]);
		else
			str_printfa(resp, "\"%s\"", fields[count]);
		count++;
		str_free(&name);
		if (*p != ' ' && *p != ')')
			return -1;
	}
	if (count == 0)
		return -1;
	str_append_c(resp, ')');
	*end_r = p + 1;
	*fields_r = fields;
	*count_r = count;
	return 0;
}

/* section-part = nz-number *("." nz-number)
 * *pp points at a digit.  Returns 0 with the numbers in *path_r (from
 * `pool`), their text appended to resp and *pp after the last number, or
 * -1 (a 0, a number past 2^32 - 1, too many numbers). */
static int fetch_parse_section_part(struct pool *pool, const char **pp, struct str *resp,
				    const uint32_t **path_r, unsigned int *path_len_r)
{
	uint32_t path[MIME_PART_MAP_MAX_PATH];
	unsigned int path_len = 0;
	const char *p = *pp;

	for (;;) {
		char *end;
		unsigned long long n;

		errno = 0;
		n = *p >= '1' && *p <= '9' ? strtoull(p, &end, 10) : 0;
		if (n == 0 || n > UINT32_MAX || errno != 0 ||
		    path_len == MIME_PART_MAP_MAX_PATH)
			return -1;
		path[path_len++] = (uint32_t)n;
		str_append_n(resp, p, (size_t)(end - p));
		p = end;
		if (*p != '.' || p[1] < '0' || p[1] > '9')
			break;
		str_append_c(resp, '.');
		p++;
	}
	uint32_t *copy = p_malloc(pool, path_len * sizeof(*copy));
	memcpy(copy, path, path_len * sizeof(*copy));
	*path_r = copy;
	*path_len_r = path_len;
	*pp = p;
	return 0;
}

/* The rest of the item after "]": nothing, or
 * partial = "<" number64 "." nz-number64 ">"
 * The response names the origin only ("<0>"), appended to resp.  Returns
 * 0, or -1 with *error_r. */
static int fetch_parse_partial(const char *p, struct fetch_body *body, struct str *resp,
			       const char **error_r)
{
	if (*p == '\0')
		return 0;
	if (*p != '<') {
		*error_r = "Invalid FETCH item.";
		return -1;
	}
	char *end;
	const char *dot = strchr(p, '.');
	if (dot == NULL || p[1] < '0' || p[1] > '9' || dot[1] < '0' || dot[1] > '9') {
		*error_r = "Invalid partial range.";
		return -1;
	}
	errno = 0;
	unsigned long long off = strtoull(p + 1, &end, 10);
	if (end != dot || errno != 0) {
		*error_r = "Invalid partial range.";
		return -1;
	}
	unsigned long long cnt = strtoull(dot + 1, &end, 10);
	if (*end != '>' || end[1] != '\0' || errno != 0 || cnt == 0) {
		*error_r = "Invalid partial range.";
		return -1;
	}
	body->partial = true;
	body->offset = off;
	body->count = cnt;
	str_printfa(resp, "<%llu>", off);
	return 0;
}

/* "BINARY" [".PEEK"] section-binary [partial] /
 * "BINARY.SIZE" section-binary
 * section-binary = "[" [section-part] "]"
 * (RFC 9051 section 9, RFC 3516 section 7.)  Only part numbers: HEADER,
 * TEXT and MIME have no transfer encoding to remove, so BINARY[1.HEADER]
 * is a syntax error.  `bracket` points at "[".  Returns 0, or -1 with
 * *error_r (BAD). */
static int fetch_parse_binary(struct fetch_items *items, struct pool *pool,
			      const char *bracket, enum fetch_kind kind, bool peek,
			      const char **error_r)
{
	struct fetch_body *body = fetch_add_body(items, pool);
	struct str resp = STR_INIT;
	const char *p = bracket + 1;

	body->kind = kind;
	body->section = FETCH_SECTION_ALL;
	str_append(&resp, kind == FETCH_KIND_BINARY_SIZE ? "BINARY.SIZE[" : "BINARY[");
	if (*p >= '0' && *p <= '9') {
		if (fetch_parse_section_part(pool, &p, &resp, &body->path,
					     &body->path_len) < 0) {
			str_free(&resp);
			*error_r = "Invalid BINARY section.";
			return -1;
		}
		items->need_map = true;
	}
	if (*p != ']') {
		str_free(&resp);
		*error_r = "Invalid BINARY section: only part numbers.";
		return -1;
	}
	p++;
	str_append_c(&resp, ']');
	if (kind == FETCH_KIND_BINARY_SIZE && *p != '\0') {
		/* the grammar has no partial for BINARY.SIZE */
		str_free(&resp);
		*error_r = "Invalid FETCH item.";
		return -1;
	}
	if (fetch_parse_partial(p, body, &resp, error_r) < 0) {
		str_free(&resp);
		return -1;
	}
	body->resp_name = p_strdup(pool, str_c(&resp));
	str_free(&resp);
	items->binary = true;
	if (kind == FETCH_KIND_BINARY && !peek)
		items->set_seen = true;
	return 0;
}

/* section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list /
 *                   "TEXT"
 * section-text = section-msgtext / "MIME"
 * *pp points at the section text, which may be MIME only after a
 * section-part (has_path).  Returns 0 with body's section and fields
 * set, the canonical text appended to resp and *pp after the text (the
 * caller checks for "]"), or -1 with *error_r. */
static int fetch_parse_section_text(struct pool *pool, const char **pp, bool has_path,
				    struct fetch_body *body, struct str *resp,
				    const char **error_r)
{
	const char *p = *pp;
	size_t len = strcspn(p, " ]");
	int i = FETCH_NAME_INDEX(fetch_section_texts, p, len);

	if (i < 0 || (fetch_section_texts[i].section == FETCH_SECTION_MIME && !has_path)) {
		*error_r = "Invalid FETCH section.";
		return -1;
	}
	body->section = fetch_section_texts[i].section;
	str_append(resp, fetch_section_texts[i].name);
	p += len;
	if (body->section == FETCH_SECTION_HEADER_FIELDS ||
	    body->section == FETCH_SECTION_HEADER_FIELDS_NOT) {
		if (*p != ' ') {
			*error_r = "Invalid FETCH section.";
			return -1;
		}
		str_append_c(resp, ' ');
		while (*p == ' ')
			p++;
		if (fetch_parse_header_list(pool, p, &p, &body->fields,
					    &body->field_count, resp) < 0) {
			*error_r = "Invalid header field list.";
			return -1;
		}
	}
	*pp = p;
	return 0;
}

/* "BODY" section [partial] / "BODY.PEEK" section [partial]
 * section = "[" [section-spec] "]"
 * partial = "<" number64 "." nz-number64 ">"
 * section-spec = section-msgtext / (section-part ["." section-text])
 * `bracket` points at "[".  Returns 0, or -1 with *error_r (BAD). */
static int fetch_parse_body(struct fetch_items *items, struct pool *pool,
			    const char *bracket, bool peek, const char **error_r)
{
	struct fetch_body *body = fetch_add_body(items, pool);
	struct str resp = STR_INIT;
	const char *p = bracket + 1;
	bool has_path = *p >= '0' && *p <= '9';
	int ret = 0;

	str_append(&resp, "BODY[");
	body->section = FETCH_SECTION_ALL;
	if (has_path) {
		if (fetch_parse_section_part(pool, &p, &resp, &body->path,
					     &body->path_len) < 0 ||
		    (*p != '.' && *p != ']')) {
			*error_r = "Invalid FETCH section.";
			ret = -1;
		} else if (*p == '.') {
			/* section-part "." section-text */
			str_append_c(&resp, '.');
			p++;
			ret = fetch_parse_section_text(pool, &p, true, body, &resp, error_r);
		}
		items->need_map = true;
	} else if (*p != ']') {
		ret = fetch_parse_section_text(pool, &p, false, body, &resp, error_r);
	}
	if (ret == 0 && *p != ']') {
		*error_r = "Invalid FETCH section.";
		ret = -1;
	}
	if (ret == 0) {
		str_append_c(&resp, ']');
		ret = fetch_parse_partial(p + 1, body, &resp, error_r);
	}
	if (ret == 0) {
		body->resp_name = p_strdup(pool, str_c(&resp));
		if (!peek)
			items->set_seen = true;
	}
	str_free(&resp);
	return ret;
}

/* fetch-att = "ENVELOPE" / "FLAGS" / "INTERNALDATE" /
 *             "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
 *             "BODY" ["STRUCTURE"] / "UID" /
 *             "BODY" section [partial] / "BODY.PEEK" section [partial] /
 *             "BINARY" [".PEEK"] section-binary [partial] /
 *             "BINARY.SIZE" section-binary
 * or, when `top` (the items argument itself), one of the macros.
 * Returns 0, or -1 with *error_r (BAD). */
static int fetch_parse_item(struct fetch_items *items, struct pool *pool,
			    const struct imap_arg *arg, bool top, const char **error_r)
{
	const char *name;
	if (!imap_arg_get_atom(arg, &name)) {
		*error_r = "Invalid FETCH item.";
		return -1;
	}
	const char *bracket = strchr(name, '[');
	if (bracket != NULL) {
		int i = FETCH_NAME_INDEX(fetch_section_items, name, (size_t)(bracket - name));
		if (i < 0) {
			*error_r = "Unknown FETCH item.";
			return -1;
		}
		const struct fetch_section_item *item = &fetch_section_items[i];
		if (item->kind == FETCH_KIND_BODY)
			return fetch_parse_body(items, pool, bracket, item->peek, error_r);
		return fetch_parse_binary(items, pool, bracket, item->kind, item->peek, error_r);
	}

	int i = FETCH_NAME_INDEX(fetch_atoms, name, strlen(name));
	if (i < 0 || (fetch_atoms[i].macro && !top)) {
		*error_r = "Unknown FETCH item.";
		return -1;
	}
	const struct fetch_atom *atom = &fetch_atoms[i];
	items->attrs |= atom->attrs;
	if (atom->is_body) {
		struct fetch_body *body = fetch_add_body(items, pool);
		body->section = atom->section;
		body->resp_name = atom->name;
		if (atom->set_seen)
			items->set_seen = true;
	}
	return 0;
}

/* fetch-att =/ "PREVIEW" [SP "(" preview-mod *(SP preview-mod) ")"]
 * preview-mod = "LAZY"                                 (RFC 8970 6)
 * The modifier list after a PREVIEW item.  0, or -1 with *error_r. */
static int fetch_parse_preview_mods(struct fetch_items *items, const struct imap_arg *arg,
				    const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;
	const char *mod;

	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "Invalid PREVIEW modifiers.";
		return -1;
	}
	for (unsigned int i = 0; i < count; i++) {
		if (!imap_arg_get_atom(&list[i], &mod) || strcasecmp(mod, "LAZY") != 0) {
			*error_r = "Unknown PREVIEW modifier.";
			return -1;
		}
		items->attrs |= FETCH_ATTR_PREVIEW_LAZY;
	}
	return 0;
}

/* Whether arg is the atom PREVIEW and next (NULL: none) a list: its
 * modifiers. */
static bool fetch_arg_is_preview_mods(const struct imap_arg *arg, const struct imap_arg *next)
{
	const struct imap_arg *list;
	unsigned int count;
	const char *atom;

	return next != NULL && imap_arg_get_atom(arg, &atom) && strcasecmp(atom, "PREVIEW") == 0 &&
		imap_arg_get_list(next, &list, &count);
}

int fetch_parse_items(const struct imap_arg *arg, struct pool *pool,
		      struct fetch_items *items_r, const char **error_r)
{
	const char *atom;
	const struct imap_arg *list;
	unsigned int count;
	memset(items_r, 0, sizeof(*items_r));
	if (imap_arg_get_atom(arg, &atom))
		return fetch_parse_item(items_r, pool, arg, true, error_r);
	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "Missing FETCH items.";
		return -1;
	}
	for (unsigned int i = 0; i < count; i++) {
		if (fetch_parse_item(items_r, pool, &list[i], false, error_r) < 0)
			return -1;
		if (fetch_arg_is_preview_mods(&list[i], i + 1 < count ? &list[i + 1] : NULL)) {
			if (fetch_parse_preview_mods(items_r, &list[++i], error_r) < 0)
				return -1;
		}
	}
	return 0;
}

int fetch_parse_modifiers(const struct imap_arg *arg, struct fetch_modifiers *mods_r,
			  const char **error_r)
{
	const struct imap_arg *list;
	unsigned int count;

	memset(mods_r, 0, sizeof(*mods_r));
	if (!imap_arg_get_list(arg, &list, &count) || count == 0) {
		*error_r = "FETCH modifiers must be a non-empty list.";
		return -1;
	}
	for (unsigned int i = 0; i < count; i++) {
		const char *name, *range;

		if (!imap_arg_get_atom(&list[i], &name)) {
			*error_r = "Unknown FETCH modifier.";
			return -1;
		}
		if (strcasecmp(name, "CHANGEDSINCE") == 0) {
			/* RFC 7162 3.1.4.1: mod-sequence-value, 1 to 2^63-1 */
			if (mods_r->changedsince != 0) {
				*error_r = "Only one CHANGEDSINCE is allowed.";
				return -1;
			}
			if (i + 1 == count ||
			    imap_modseq_parse(&list[i + 1], false, &mods_r->changedsince) < 0) {
				*error_r = "CHANGEDSINCE needs a mod-sequence (1 to 2^63-1).";
				return -1;
			}
			i++;
		} else if (strcasecmp(name, "VANISHED") == 0) {
			if (mods_r->vanished) {
				*error_r = "Only one VANISHED is allowed.";
				return -1;
			}
			mods_r->vanished = true;
		} else if (strcasecmp(name, "PARTIAL") == 0) {
			if (mods_r->partial) {
				*error_r = "Only one PARTIAL is allowed.";
				return -1;
			}
			if (i + 1 == count || !imap_arg_get_atom(&list[i + 1], &range) ||
			    partial_range_parse(range, &mods_r->partial_range) < 0) {
				*error_r = "PARTIAL needs a range (n:m or -n:-m, "
					"numbers from 1 to 4294967295).";
				return -1;
			}
			mods_r->partial = true;
			i++;
		} else {
			*error_r = "Unknown FETCH modifier.";
			return -1;
		}
	}
	return 0;
}
