/* cmd-fetch.c: FETCH and UID FETCH (RFC 9051 6.4.5, RFC 3501 6.4.5).
 *
 * Output is produced message by message and literal bodies in chunks of
 * FETCH_READ_SIZE read from the message file, and only while the
 * connection's pending output is below the session's high-water mark
 * (imap_cmd_slice_end()): past it the command sets cmd->resume and
 * continues exactly where it stopped (in the middle of a literal too)
 * when the output has drained.  Nothing here is
 * proportional to a message's size; the only per-message memory is a
 * bitmap of the messages whose \Seen flag this command set.
 *
 * Items served: FLAGS, UID, INTERNALDATE, RFC822.SIZE, RFC822,
 * RFC822.HEADER, RFC822.TEXT, ENVELOPE, BODY, BODYSTRUCTURE,
 * BODY[section]<partial> and BODY.PEEK[...] for every section (part paths
 * like 1.2, 2.HEADER, 2.TEXT, 1.MIME, 3.HEADER.FIELDS (...)), and the
 * macros FAST, ALL, FULL.  ENVELOPE, BODY and BODYSTRUCTURE are the
 * strings the store cached when the message arrived, and part sections
 * are byte ranges from the cached part map (store_mailbox_msg_cache()),
 * so none of them parses the message; only part bytes are read from the
 * file.  This file never parses a message beyond splitting header fields.
 *
 * BINARY[section-binary]<partial>, BINARY.PEEK and BINARY.SIZE (RFC 3516,
 * RFC 9051 6.4.5) are parsed here and run through the same stages by
 * fetch-binary.c, which decodes parts as they go out.  Its measuring pass
 * writes nothing, so the output's high-water mark alone would not pause
 * it: FETCH also yields to the worker's other sessions every
 * IMAP_SLICE_MSECS and continues from the session's timer, as every long
 * command does (session.h).  A part whose encoding
 * Roost cannot decode fails the command with NO [UNKNOWN-CTE] before that
 * message's response starts. */
#include "commands.h"
#include "cmd-fetch.h"
#include "fetch-binary.h"
#include "parser.h"
#include "flags.h"
#include "base/log.h"
#include "base/seqset.h"
#include "net/net.h"
#include "mime/part-map.h"
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *const fetch_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* ---- parsing the items ---- */

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

/* "BODY" ["STRUCTURE"] / "BODY" section [partial] /
 * "BODY.PEEK" section [partial] / "BINARY" ... (fetch_parse_binary())
 * section = "[" [section-spec] "]"
 * section-spec = section-msgtext / (section-part ["." section-text])
 * section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list /
 *                   "TEXT"
 * partial = "<" number64 "." nz-number64 ">"
 * Returns 0, or -1 with *error_r (BAD). */
static int fetch_parse_body(struct fetch_items *items, struct pool *pool,
			    const char *atom, const char **error_r)
{
	const char *bracket = strchr(atom, '[');
	size_t name_len = (size_t)(bracket - atom);
	bool peek;

	if (name_len == 4 && strncasecmp(atom, "BODY", 4) == 0) {
		peek = false;
	} else if (name_len == 9 && strncasecmp(atom, "BODY.PEEK", 9) == 0) {
		peek = true;
	} else if (name_len == 6 && strncasecmp(atom, "BINARY", 6) == 0) {
		return fetch_parse_binary(items, pool, bracket, FETCH_KIND_BINARY, false,
					  error_r);
	} else if (name_len == 11 && strncasecmp(atom, "BINARY.PEEK", 11) == 0) {
		return fetch_parse_binary(items, pool, bracket, FETCH_KIND_BINARY, true,
					  error_r);
	} else if (name_len == 11 && strncasecmp(atom, "BINARY.SIZE", 11) == 0) {
		return fetch_parse_binary(items, pool, bracket, FETCH_KIND_BINARY_SIZE,
					  true, error_r);
	} else {
		*error_r = "Unknown FETCH item.";
		return -1;
	}

	struct fetch_body *body = fetch_add_body(items, pool);
	struct str resp = STR_INIT;
	const char *p = bracket + 1;
	str_append(&resp, "BODY[");
	if (*p >= '0' && *p <= '9') {
		if (fetch_parse_section_part(pool, &p, &resp, &body->path,
					     &body->path_len) < 0) {
			str_free(&resp);
			*error_r = "Invalid FETCH section.";
			return -1;
		}
		items->need_map = true;
		if (*p == '.') {
			/* section-part "." section-text */
			str_append_c(&resp, '.');
			p++;
			if (strncasecmp(p, "MIME]", 5) == 0) {
				body->section = FETCH_SECTION_MIME;
				str_append(&resp, "MIME");
				p += 4;
			} else if (*p == ']') {
				str_free(&resp);
				*error_r = "Invalid FETCH section.";
				return -1;
			}
		} else if (*p != ']') {
			str_free(&resp);
			*error_r = "Invalid FETCH section.";
			return -1;
		}
	}
	if (body->section == FETCH_SECTION_MIME) {
		/* parsed above */
	} else if (*p == ']') {
		body->section = FETCH_SECTION_ALL;
	} else if (strncasecmp(p, "HEADER.FIELDS.NOT ", 18) == 0 ||
		   strncasecmp(p, "HEADER.FIELDS ", 14) == 0) {
		bool not = strncasecmp(p, "HEADER.FIELDS.NOT ", 18) == 0;
		body->section = not ? FETCH_SECTION_HEADER_FIELDS_NOT :
			FETCH_SECTION_HEADER_FIELDS;
		str_append(&resp, not ? "HEADER.FIELDS.NOT " : "HEADER.FIELDS ");
		p += not ? 18 : 14;
		while (*p == ' ')
			p++;
		if (fetch_parse_header_list(pool, p, &p, &body->fields,
					    &body->field_count, &resp) < 0) {
			str_free(&resp);
			*error_r = "Invalid header field list.";
			return -1;
		}
	} else if (strncasecmp(p, "HEADER]", 7) == 0) {
		body->section = FETCH_SECTION_HEADER;
		str_append(&resp, "HEADER");
		p += 6;
	} else if (strncasecmp(p, "TEXT]", 5) == 0) {
		body->section = FETCH_SECTION_TEXT;
		str_append(&resp, "TEXT");
		p += 4;
	} else {
		str_free(&resp);
		*error_r = "Invalid FETCH section.";
		return -1;
	}
	if (*p != ']') {
		str_free(&resp);
		*error_r = "Invalid FETCH section.";
		return -1;
	}
	p++;
	str_append_c(&resp, ']');
	if (fetch_parse_partial(p, body, &resp, error_r) < 0) {
		str_free(&resp);
		return -1;
	}
	body->resp_name = p_strdup(pool, str_c(&resp));
	str_free(&resp);
	if (!peek)
		items->set_seen = true;
	return 0;
}

static int fetch_parse_item(struct fetch_items *items, struct pool *pool,
			    const struct imap_arg *arg, const char **error_r)
{
	if (arg->type != IMAP_ARG_ATOM) {
		*error_r = "Invalid FETCH item.";
		return -1;
	}
	const char *name = arg->str;
	if (strchr(name, '[') != NULL)
		return fetch_parse_body(items, pool, name, error_r);
	if (strcasecmp(name, "FLAGS") == 0) {
		items->flags = true;
	} else if (strcasecmp(name, "UID") == 0) {
		items->uid = true;
	} else if (strcasecmp(name, "INTERNALDATE") == 0) {
		items->internaldate = true;
	} else if (strcasecmp(name, "RFC822.SIZE") == 0) {
		items->size = true;
	} else if (strcasecmp(name, "RFC822") == 0 || strcasecmp(name, "RFC822.HEADER") == 0 ||
		   strcasecmp(name, "RFC822.TEXT") == 0) {
		struct fetch_body *body = fetch_add_body(items, pool);
		if (strcasecmp(name, "RFC822") == 0) {
			body->section = FETCH_SECTION_ALL;
			body->resp_name = "RFC822";
			items->set_seen = true;
		} else if (strcasecmp(name, "RFC822.HEADER") == 0) {
			/* like BODY.PEEK[HEADER] */
			body->section = FETCH_SECTION_HEADER;
			body->resp_name = "RFC822.HEADER";
		} else {
			body->section = FETCH_SECTION_TEXT;
			body->resp_name = "RFC822.TEXT";
			items->set_seen = true;
		}
	} else if (strcasecmp(name, "ENVELOPE") == 0) {
		items->envelope = true;
	} else if (strcasecmp(name, "BODY") == 0) {
		items->body = true;
	} else if (strcasecmp(name, "BODYSTRUCTURE") == 0) {
		items->bodystructure = true;
	} else {
		*error_r = "Unknown FETCH item.";
		return -1;
	}
	return 0;
}

/* fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
 *         fetch-att / "(" fetch-att *(SP fetch-att) ")") */
static int fetch_parse_items(struct fetch_items *items, struct pool *pool,
			     const struct imap_arg *arg, const char **error_r)
{
	if (arg->type == IMAP_ARG_ATOM) {
		if (strcasecmp(arg->str, "FAST") == 0) {
			items->flags = items->internaldate = items->size = true;
			return 0;
		}
		/* ALL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE);
		 * FULL = (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY) */
		if (strcasecmp(arg->str, "ALL") == 0 || strcasecmp(arg->str, "FULL") == 0) {
			items->flags = items->internaldate = items->size = true;
			items->envelope = true;
			items->body = strcasecmp(arg->str, "FULL") == 0;
			return 0;
		}
		return fetch_parse_item(items, pool, arg, error_r);
	}
	if (arg->type != IMAP_ARG_LIST || arg->list_count == 0) {
		*error_r = "Missing FETCH items.";
		return -1;
	}
	for (unsigned int i = 0; i < arg->list_count; i++) {
		if (fetch_parse_item(items, pool, &arg->list[i], error_r) < 0)
			return -1;
	}
	return 0;
}

/* ---- the message set ---- */

/* Resolves the client's set into sorted, disjoint msn ranges.  Returns 0,
 * or -1 with *error_r (BAD). */
static int fetch_parse_set(struct fetch_ctx *ctx, const char *str, const char **error_r)
{
	struct imap_cmd *cmd = ctx->cmd;
	struct seqset msns = SEQSET_INIT;

	if (imap_session_parse_msns(cmd->session, cmd->uid, str, &msns, error_r) < 0) {
		seqset_deinit(&msns);
		return -1;
	}
	/* a seqset's ranges are sorted and merged: each message is
	 * answered once */
	size_t n = msns.count;
	ctx->ranges = p_malloc(cmd->pool, (n == 0 ? 1 : n) * sizeof(*ctx->ranges));
	for (size_t i = 0; i < n; i++) {
		ctx->ranges[i].first = msns.ranges[i].seq1;
		ctx->ranges[i].last = msns.ranges[i].seq2;
	}
	seqset_deinit(&msns);
	ctx->range_count = n;
	ctx->range_idx = 0;
	ctx->next_msn = n > 0 ? ctx->ranges[0].first : 0;
	return 0;
}

static bool fetch_next_msn(struct fetch_ctx *ctx, uint32_t *msn_r)
{
	while (ctx->range_idx < ctx->range_count) {
		struct fetch_range *r = &ctx->ranges[ctx->range_idx];
		if (ctx->next_msn <= r->last && ctx->next_msn >= r->first) {
			*msn_r = ctx->next_msn++;
			if (ctx->next_msn == 0)	/* wrapped past UINT32_MAX */
				ctx->range_idx++;
			return true;
		}
		ctx->range_idx++;
		if (ctx->range_idx < ctx->range_count)
			ctx->next_msn = ctx->ranges[ctx->range_idx].first;
	}
	return false;
}

/* ---- implicit \Seen ---- */

static bool fetch_seen_bit(const struct fetch_ctx *ctx, uint32_t msn)
{
	return imap_session_bitmap_has_msn(ctx->seen_changed,
					   ctx->seen_changed_count, msn);
}

/* Sets \Seen on the next messages from `msn` on (in one store
 * transaction for up to `max` of them, at most FETCH_SEEN_BATCH) and
 * records which ones changed.  Returns 0 or -1 (store error). */
static int fetch_seen_batch(struct fetch_ctx *ctx, uint32_t msn, size_t max)
{
	struct store_mailbox *box = ctx->cmd->session->box;
	uint32_t batch[FETCH_SEEN_BATCH];
	size_t n = 0;
	size_t ri = ctx->range_idx;
	uint32_t m = msn, scanned = 0;

	/* walk forward through the ranges from msn */
	while (ri < ctx->range_count && n < max && scanned < 16 * max) {
		const struct fetch_range *r = &ctx->ranges[ri];
		if (m < r->first)
			m = r->first;
		if (m > r->last) {
			ri++;
			continue;
		}
		if ((store_mailbox_msg(box, m)->flags & STORE_FLAG_SEEN) == 0 &&
		    !store_mailbox_is_expunged(box, m))
			batch[n++] = m;
		ctx->seen_done_msn = m;
		scanned++;
		if (m == r->last) {
			ri++;
			continue;
		}
		m++;
	}
	if (n == 0)
		return 0;
	uint32_t *failed;
	size_t failed_count;
	if (store_mailbox_update_flags(box, batch, n, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
				       0, 0, &failed, &failed_count) < 0)
		return -1;
	free(failed);
	if (ctx->seen_changed == NULL) {
		ctx->seen_changed_count = store_mailbox_count(box);
		ctx->seen_changed = xcalloc(ctx->seen_changed_count / 8 + 1, 1);
	}
	for (size_t i = 0; i < n; i++) {
		if ((store_mailbox_msg(box, batch[i])->flags & STORE_FLAG_SEEN) != 0)
			imap_session_bitmap_add_msn(ctx->seen_changed, batch[i]);
	}
	return 0;
}

/* ---- writing ---- */

static void fetch_write_internaldate(struct str *dest, const struct store_msg *msg)
{
	time_t t = msg->internaldate + (time_t)msg->internaldate_tz * 60;
	struct tm tm;
	int tz = msg->internaldate_tz;

	gmtime_r(&t, &tm);
	/* date-time = DQUOTE date-day-fixed "-" date-month "-" date-year
	 *             SP time SP zone DQUOTE; date-day-fixed = (SP DIGIT) / 2DIGIT */
	str_printfa(dest, "INTERNALDATE \"%2d-%s-%04d %02d:%02d:%02d %c%02d%02d\"",
		    tm.tm_mday, fetch_months[tm.tm_mon], tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec, tz < 0 ? '-' : '+',
		    abs(tz) / 60, abs(tz) % 60);
}

static bool fetch_field_listed(const struct fetch_body *body, const char *name, size_t len)
{
	for (size_t i = 0; i < body->field_count; i++) {
		if (strlen(body->fields[i]) == len && strncasecmp(body->fields[i], name, len) == 0)
			return true;
	}
	return false;
}

/* HEADER.FIELDS[.NOT]: the fields of the header at header_offset that are (not) listed, each
 * with its continuation lines and line ends as stored, then the blank
 * line; into ctx->mem.  Returns 0 or -1 (read error, logged). */
static int fetch_header_fields(struct fetch_ctx *ctx, const struct fetch_body *body,
			       uint64_t header_offset, uint64_t header_size)
{
	size_t len = (size_t)ROOST_MIN(header_size, (uint64_t)FETCH_HEADER_MAX);
	char *hdr = xmalloc(len + 1);
	ssize_t got = istream_pread(ctx->msg, hdr, len, header_offset);
	if (got < 0) {
		free(hdr);
		return -1;
	}
	len = (size_t)got;
	bool want_listed = body->section == FETCH_SECTION_HEADER_FIELDS;
	size_t pos = 0;
	str_truncate(&ctx->mem, 0);
	while (pos < len) {
		size_t start = pos, end;
		/* a field ends at a line end not followed by WSP */
		for (;;) {
			const char *nl = memchr(hdr + pos, '\n', len - pos);
			if (nl == NULL) {
				end = len;
				break;
			}
			end = (size_t)(nl - hdr) + 1;
			if (end >= len || (hdr[end] != ' ' && hdr[end] != '\t'))
				break;
			pos = end;
		}
		pos = end;
		if (hdr[start] == '\r' || hdr[start] == '\n')
			break;	/* the blank line */
		const char *colon = memchr(hdr + start, ':', end - start);
		if (colon == NULL)
			continue;
		size_t name_len = (size_t)(colon - (hdr + start));
		while (name_len > 0 && (hdr[start + name_len - 1] == ' ' ||
					hdr[start + name_len - 1] == '\t'))
			name_len--;
		if (fetch_field_listed(body, hdr + start, name_len) == want_listed) {
			str_append_n(&ctx->mem, hdr + start, end - start);
			/* a last field without line end still ends with one */
			if (hdr[end - 1] != '\n')
				str_append(&ctx->mem, "\r\n");
		}
	}
	str_append(&ctx->mem, "\r\n");
	free(hdr);
	return 0;
}

static void fetch_literal_begin(struct fetch_ctx *ctx, const struct fetch_body *body,
				uint64_t start, uint64_t len);

/* A section with a part path: its range from the part map.  A part the
 * message does not have (or HEADER/TEXT of a part that is not a
 * message/rfc822) is NIL. */
static int fetch_part_begin(struct fetch_ctx *ctx, const struct fetch_body *body)
{
	struct imap_session *s = ctx->cmd->session;
	struct mime_section_range range;
	enum mime_section_kind kind = MIME_SECTION_BODY;

	switch (body->section) {
	case FETCH_SECTION_ALL:
		kind = MIME_SECTION_BODY;
		break;
	case FETCH_SECTION_HEADER:
	case FETCH_SECTION_HEADER_FIELDS:
	case FETCH_SECTION_HEADER_FIELDS_NOT:
		kind = MIME_SECTION_HEADER;
		break;
	case FETCH_SECTION_TEXT:
		kind = MIME_SECTION_TEXT;
		break;
	case FETCH_SECTION_MIME:
		kind = MIME_SECTION_MIME;
		break;
	}
	if (mime_part_map_lookup(&ctx->map, body->path, body->path_len, kind, &range) < 0) {
		struct str line = STR_INIT;

		str_printfa(&line, "%s%s NIL", ctx->need_space ? " " : "", body->resp_name);
		ctx->need_space = true;
		imap_session_write(s, line.data, line.len);
		str_free(&line);
		ctx->src_left = 0;
		return 0;
	}
	if (body->section == FETCH_SECTION_HEADER_FIELDS ||
	    body->section == FETCH_SECTION_HEADER_FIELDS_NOT) {
		if (fetch_header_fields(ctx, body, range.offset, range.size) < 0)
			return -1;
		ctx->from_mem = true;
		fetch_literal_begin(ctx, body, 0, ctx->mem.len);
		return 0;
	}
	fetch_literal_begin(ctx, body, range.offset, range.size);
	return 0;
}

/* Starts body item body_idx: computes the bytes to send and writes
 * " NAME {n}\r\n".  Returns 0, 1 when a BINARY item must scan its part
 * first (fetch_binary_begin()), or -1 (read error). */
static int fetch_body_begin(struct fetch_ctx *ctx)
{
	struct imap_session *s = ctx->cmd->session;
	const struct fetch_body *body = &ctx->items.bodies[ctx->body_idx];
	const struct store_msg *msg = store_mailbox_msg(s->box, ctx->msn);
	uint64_t start = 0, len = 0;
	uint64_t header_size = ROOST_MIN(msg->header_size, msg->size);

	ctx->from_mem = false;
	ctx->decoding = false;
	ctx->text_literal = body->kind == FETCH_KIND_BODY;
	if (body->kind != FETCH_KIND_BODY)
		return fetch_binary_begin(ctx, body);
	if (body->path_len > 0)
		return fetch_part_begin(ctx, body);
	switch (body->section) {
	case FETCH_SECTION_ALL:
		start = 0;
		len = msg->size;
		break;
	case FETCH_SECTION_HEADER:
		start = 0;
		len = header_size;
		break;
	case FETCH_SECTION_TEXT:
		start = header_size;
		len = msg->size - header_size;
		break;
	case FETCH_SECTION_HEADER_FIELDS:
	case FETCH_SECTION_HEADER_FIELDS_NOT:
		if (fetch_header_fields(ctx, body, 0, header_size) < 0)
			return -1;
		ctx->from_mem = true;
		start = 0;
		len = ctx->mem.len;
		break;
	case FETCH_SECTION_MIME:
		assert(!"MIME without a part path");
		break;
	}
	fetch_literal_begin(ctx, body, start, len);
	return 0;
}

/* Sets up the literal of `len` bytes at `start` (after the partial range
 * is applied) and writes " NAME {n}\r\n". */
static void fetch_literal_begin(struct fetch_ctx *ctx, const struct fetch_body *body,
				uint64_t start, uint64_t len)
{
	struct imap_session *s = ctx->cmd->session;

	if (body->partial) {
		uint64_t skip = ROOST_MIN(body->offset, len);
		start += skip;
		len -= skip;
		len = ROOST_MIN(len, body->count);
	}
	ctx->src_off = start;
	ctx->src_left = len;
	ctx->mem_pos = (size_t)start;

	struct str line = STR_INIT;
	str_printfa(&line, "%s%s {%llu}\r\n", ctx->need_space ? " " : "",
		    body->resp_name, (unsigned long long)len);
	ctx->need_space = true;
	imap_session_write(s, line.data, line.len);
	str_free(&line);
}

/* A message stored with NUL octets (a literal8 APPEND, or mail that came
 * by LMTP or `roost deliver` with them) cannot go out as they are in a
 * BODY[...] literal.  RFC 9051 section 4.3: "unencoded binary strings are
 * not permitted, unless returned in a <literal8> in response to a
 * BINARY.PEEK[...] or BINARY[...] FETCH data item.  A 'binary string' is
 * any string with NUL characters."  Like Dovecot, each NUL is sent as
 * 0x80, which keeps every size and offset the same. */
static void fetch_nul_to_0x80(char *data, size_t n)
{
	char *p = data, *end = data + n;

	while ((p = memchr(p, '\0', (size_t)(end - p))) != NULL)
		*p++ = (char)0x80;
}

/* Writes the next chunk of the current literal.  Returns 0, or -1 when the
 * file could not be read (the literal cannot be completed). */
static int fetch_body_data(struct fetch_ctx *ctx)
{
	struct imap_session *s = ctx->cmd->session;
	size_t n = (size_t)ROOST_MIN(ctx->src_left, (uint64_t)FETCH_READ_SIZE);

	if (n == 0)
		return 0;
	if (ctx->decoding)
		return fetch_binary_data(ctx);
	if (ctx->from_mem) {
		if (ctx->text_literal)
			fetch_nul_to_0x80(ctx->mem.data + ctx->mem_pos, n);
		imap_session_write(s, ctx->mem.data + ctx->mem_pos, n);
		ctx->mem_pos += n;
	} else {
		if (ctx->readbuf == NULL)
			ctx->readbuf = xmalloc(FETCH_READ_SIZE);
		ssize_t got = istream_pread(ctx->msg, ctx->readbuf, n, ctx->src_off);
		if (got < 0 || (size_t)got != n) {
			log_error("%s: FETCH: message %u: %s", s->log_prefix,
				  store_mailbox_msg(s->box, ctx->msn)->uid,
				  got < 0 ? strerror(errno) : "file shorter than its size");
			return -1;
		}
		if (ctx->text_literal)
			fetch_nul_to_0x80(ctx->readbuf, n);
		imap_session_write(s, ctx->readbuf, n);
		ctx->src_off += n;
	}
	ctx->src_left -= n;
	return 0;
}

/* A message another session expunged: it is left out of the answer
 * entirely rather than answered in part (a FETCH response without an
 * item that was asked for confuses clients), and the command ends with
 * OK [EXPUNGEISSUED] (fetch_finish()).  Returns 0 (skipped). */
static int fetch_msg_gone(struct fetch_ctx *ctx)
{
	istream_destroy(&ctx->msg);
	mime_part_map_deinit(&ctx->map);
	ctx->had_expunged = true;
	return 0;
}

/* Starts message ctx->msn: sets \Seen if needed, opens the file if body
 * items want it, and writes "* n FETCH (" with the index items.  Returns
 * 1 (started), 0 (nothing to send for it: skipped) or -1 (store error).
 * A message that is gone from the index while this view still has it
 * (RFC 2180 4.1) is answered from the view when only index items (FLAGS,
 * UID, INTERNALDATE, RFC822.SIZE) are asked for, and skipped when an
 * item needs its file or cached model. */
static int fetch_msg_begin(struct fetch_ctx *ctx)
{
	struct imap_session *s = ctx->cmd->session;
	struct store_mailbox *box = s->box;
	const struct fetch_items *items = &ctx->items;
	uint32_t msn = ctx->msn;

	/* what the previous message left when it was skipped (no
	 * fetch_msg_end()) must not be read as this one's */
	mime_part_map_deinit(&ctx->map);
	ctx->bin_info_count = 0;
	bool cache_wanted = items->envelope || items->body || items->bodystructure ||
		items->need_map;
	if ((items->body_count > 0 || cache_wanted) && store_mailbox_is_expunged(box, msn))
		return fetch_msg_gone(ctx);
	if (items->body_count > 0) {
		if (store_mailbox_msg_stream(box, msn, &ctx->msg) < 0) {
			enum store_error err;
			(void)store_last_error(s->store, &err);
			if (err != STORE_ERR_EXPUNGED)
				return -1;
			return fetch_msg_gone(ctx);
		}
	}
	/* \Seen is set ahead, for up to FETCH_SEEN_BATCH messages in one
	 * store transaction; with BINARY items only for this message, once
	 * it is known not to fail with UNKNOWN-CTE (below), so that a failed
	 * command has set \Seen on no message it did not answer (RFC 9051
	 * 7.1: a NO leaves the mailbox as it was) and nothing has to be
	 * taken back later, when another session may have set it too */
	bool seen_now = items->set_seen && !store_mailbox_is_readonly(box) && ctx->msg != NULL &&
		msn > ctx->seen_done_msn;
	if (seen_now && !items->binary) {
		if (fetch_seen_batch(ctx, msn, FETCH_SEEN_BATCH) < 0)
			return -1;
	}

	struct store_msg_cache cache = { 0 };
	bool have_cache = false;
	if (cache_wanted) {
		if (store_mailbox_msg_cache(box, msn, &cache) < 0) {
			enum store_error err;
			(void)store_last_error(s->store, &err);
			if (err != STORE_ERR_EXPUNGED)
				return -1;
			return fetch_msg_gone(ctx);
		}
		have_cache = true;
	}
	if (have_cache && items->need_map &&
	    mime_part_map_deserialize(&ctx->map, cache.part_map, cache.part_map_size) < 0) {
		/* a corrupt row: every part is NIL rather than a wrong range */
		log_error("%s: FETCH: message %u: invalid part map in the index",
			  s->log_prefix, store_mailbox_msg(box, msn)->uid);
	}
	if (items->binary && ctx->msg != NULL && fetch_binary_has_unknown_cte(ctx)) {
		/* before "* n FETCH (": the command fails here */
		ctx->unknown_cte = true;
		return 0;
	}
	if (seen_now && items->binary) {
		if (fetch_seen_batch(ctx, msn, 1) < 0)
			return -1;
	}

	const struct store_msg *msg = store_mailbox_msg(box, msn);
	bool flags = items->flags || fetch_seen_bit(ctx, msn);
	bool uid = items->uid || ctx->cmd->uid;

	struct str line = STR_INIT;
	size_t start;
	str_printfa(&line, "* %u FETCH (", msn);
	start = line.len;
	if (uid)
		str_printfa(&line, "UID %u", msg->uid);
	if (flags) {
		if (line.len > start)
			str_append_c(&line, ' ');
		str_append(&line, "FLAGS (");
		imap_flags_write(&line, box, msg, store_mailbox_is_recent(box, msn));
		str_append_c(&line, ')');
	}
	if (items->internaldate) {
		if (line.len > start)
			str_append_c(&line, ' ');
		fetch_write_internaldate(&line, msg);
	}
	if (items->size) {
		if (line.len > start)
			str_append_c(&line, ' ');
		str_printfa(&line, "RFC822.SIZE %llu", (unsigned long long)msg->size);
	}
	if (have_cache && items->envelope) {
		if (line.len > start)
			str_append_c(&line, ' ');
		str_append(&line, "ENVELOPE ");
		str_append(&line, cache.envelope);
	}
	/* message/global is a body-type-msg for IMAP4rev2 only */
	bool rev2 = s->rev2 && cache.body_rev2 != NULL;
	if (have_cache && items->body) {
		if (line.len > start)
			str_append_c(&line, ' ');
		str_append(&line, "BODY ");
		str_append(&line, rev2 ? cache.body_rev2 : cache.body);
	}
	if (have_cache && items->bodystructure) {
		if (line.len > start)
			str_append_c(&line, ' ');
		str_append(&line, "BODYSTRUCTURE ");
		str_append(&line, rev2 ? cache.bodystructure_rev2 : cache.bodystructure);
	}
	ctx->need_space = line.len > start;
	imap_session_write(s, line.data, line.len);
	str_free(&line);
	return 1;
}

static void fetch_msg_end(struct fetch_ctx *ctx)
{
	imap_session_write(ctx->cmd->session, ")\r\n", 3);
	istream_destroy(&ctx->msg);
	mime_part_map_deinit(&ctx->map);
	ctx->bin_info_count = 0;
	ctx->cmd->session->fetch_count++;
}

static void fetch_deinit(struct fetch_ctx *ctx)
{
	istream_destroy(&ctx->msg);
	mime_part_map_deinit(&ctx->map);
	free(ctx->readbuf);
	ctx->readbuf = NULL;
	free(ctx->seen_changed);
	ctx->seen_changed = NULL;
	str_free(&ctx->mem);
}

static void cmd_fetch_abort(struct imap_cmd *cmd)
{
	fetch_deinit(cmd->ctx);
}

static bool fetch_finish(struct fetch_ctx *ctx)
{
	struct imap_cmd *cmd = ctx->cmd;
	struct imap_session *s = cmd->session;

	if (ctx->seen_changed != NULL) {
		/* The FETCH responses carried the new flags: keep the sync
		 * from repeating them.  Synced here, without expunges, so
		 * the msns of the bitmap are still right. */
		imap_session_sync_skipping(s, ctx->seen_changed,
					   ctx->seen_changed_count, true);
	}
	bool expunged = ctx->had_expunged;
	bool unknown_cte = ctx->unknown_cte;
	fetch_deinit(ctx);
	if (unknown_cte)
		return imap_cmd_no(cmd, "[UNKNOWN-CTE] Cannot decode the "
				   "Content-Transfer-Encoding of a requested part.");
	/* RFC 9051 7.1 (EXPUNGEISSUED), RFC 2180 4.1.2: the messages that
	 * still exist are answered and the command succeeds, as Dovecot
	 * does: clients take a NO as the failure of the whole FETCH.  UID
	 * FETCH ignores a UID that no longer exists (RFC 9051 6.4.9) and
	 * sends the EXPUNGE responses before its tagged OK (7.5.1), so it
	 * needs no response code. */
	if (expunged && !cmd->uid)
		return imap_cmd_ok(cmd, "[EXPUNGEISSUED] Some messages were already expunged.");
	return imap_cmd_ok(cmd, "Fetch completed.");
}

static bool fetch_fail(struct fetch_ctx *ctx, bool store_error)
{
	struct imap_cmd *cmd = ctx->cmd;
	fetch_deinit(ctx);
	if (store_error && ctx->stage == FETCH_STAGE_NEXT_MSG)
		return imap_cmd_store_error(cmd, false);
	/* in the middle of a response: it cannot be completed */
	net_conn_close(cmd->session->conn);
	cmd->resume = NULL;
	return false;
}

static bool fetch_continue(struct fetch_ctx *ctx)
{
	uint64_t deadline = imap_cmd_slice_deadline();
	int ret;

	for (bool first = true;; first = false) {
		/* at least one step per slice; none while the output is
		 * above the high-water mark */
		if (imap_cmd_slice_end(ctx->cmd, first ? UINT64_MAX : deadline))
			return false;
		switch (ctx->stage) {
		case FETCH_STAGE_NEXT_MSG:
			if (!fetch_next_msn(ctx, &ctx->msn))
				return fetch_finish(ctx);
			ret = fetch_msg_begin(ctx);
			if (ret < 0)
				return fetch_fail(ctx, true);
			if (ret == 0 && ctx->unknown_cte)
				return fetch_finish(ctx);
			if (ret == 0)
				break;
			ctx->body_idx = 0;
			ctx->range_nul = -1;
			ctx->stage = ctx->msg != NULL ? FETCH_STAGE_BODY_BEGIN : FETCH_STAGE_MSG_END;
			break;
		case FETCH_STAGE_BODY_BEGIN:
			if (ctx->body_idx == ctx->items.body_count) {
				ctx->stage = FETCH_STAGE_MSG_END;
				break;
			}
			ret = fetch_body_begin(ctx);
			if (ret < 0)
				return fetch_fail(ctx, false);
			ctx->stage = ret > 0 ? FETCH_STAGE_BINARY_SCAN : FETCH_STAGE_BODY_DATA;
			break;
		case FETCH_STAGE_BINARY_SCAN:
			ret = fetch_binary_scan_step(ctx);
			if (ret < 0)
				return fetch_fail(ctx, false);
			if (ret > 0)
				ctx->stage = FETCH_STAGE_BODY_BEGIN;
			break;
		case FETCH_STAGE_BODY_DATA:
			if (ctx->src_left == 0) {
				ctx->body_idx++;
				ctx->range_nul = -1;
				ctx->stage = FETCH_STAGE_BODY_BEGIN;
				break;
			}
			if (fetch_body_data(ctx) < 0)
				return fetch_fail(ctx, false);
			break;
		case FETCH_STAGE_MSG_END:
			fetch_msg_end(ctx);
			ctx->stage = FETCH_STAGE_NEXT_MSG;
			break;
		}
	}
}

static bool cmd_fetch_resume(struct imap_cmd *cmd)
{
	return fetch_continue(cmd->ctx);
}

bool cmd_fetch(struct imap_cmd *cmd)
{
	const struct imap_arg *args = cmd->args;
	struct fetch_ctx *ctx = p_malloc(cmd->pool, sizeof(*ctx));
	const char *error;

	ctx->cmd = cmd;
	if (args[0].type != IMAP_ARG_ATOM || args[1].type == IMAP_ARG_EOL)
		return imap_cmd_bad(cmd, "FETCH needs a sequence set and items.");
	if (args[2].type != IMAP_ARG_EOL)
		return imap_cmd_bad(cmd, "FETCH modifiers are not supported.");
	if (fetch_parse_items(&ctx->items, cmd->pool, &args[1], &error) < 0)
		return imap_cmd_bad(cmd, "%s", error);
	if (fetch_parse_set(ctx, args[0].str, &error) < 0)
		return imap_cmd_bad(cmd, "%s", error);

	cmd->ctx = ctx;
	cmd->abort = cmd_fetch_abort;
	cmd->resume = cmd_fetch_resume;
	ctx->stage = FETCH_STAGE_NEXT_MSG;
	return fetch_continue(ctx);
}
