/* parser.c: the streaming RFC 5322 + MIME parser.  See parser.h for the
 * tree, the size rules, the tolerance and the limits.
 *
 * The input is cut into lines (ending in LF; the last one may not).  Each
 * line goes to the innermost open part, after a check against the
 * boundaries of the open multiparts (innermost first), because a boundary
 * line of an outer multipart closes every part inside it (RFC 2046
 * 5.1.2).  Open parts live on a heap stack of frames, one per nesting
 * level, so deep nesting costs heap (bounded by MIME_PARSER_MAX_DEPTH),
 * never C stack.  Only a bounded prefix of each line is kept: enough for
 * a header field or a boundary check.
 *
 * Line counters (LFs and bare LFs before the current line) give every
 * part's line counts and CRLF sizes from the counter values at its start
 * and end, so a line is never counted once per enclosing part. */
#include "mime/parser.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/pool.h"
#include "base/str.h"

/* bytes kept of a body line: enough for "--" boundary "--" and some
 * trailing white space */
#define BODY_LINE_KEEP (MIME_PARSER_MAX_BOUNDARY_LEN + 64)
/* bytes kept of a header line: a whole field value and a long name */
#define HEADER_LINE_KEEP (MIME_PARSER_MAX_FIELD_SIZE + 1024)

enum frame_state {
	FRAME_HEADER,		/* reading the part's header */
	FRAME_BODY,		/* a leaf body, or an opaque part */
	FRAME_PREAMBLE,		/* multipart, before its first boundary */
	FRAME_CHILD,		/* multipart or message, a child is open */
	FRAME_FULL,		/* multipart past MIME_PARSER_MAX_PARTS */
	FRAME_EPILOGUE,		/* multipart, after its close delimiter */
};

struct frame {
	struct mime_part *part;
	struct mime_part *last_child;
	enum frame_state state;
	const char *boundary;
	size_t boundary_len;
	/* line counters at the header's and the body's first byte */
	uint64_t lf_header, bare_header;
	uint64_t lf_body, bare_body;
};

/* A position in the message with the line counters before it. */
struct position {
	uint64_t offset, lf, bare;
	bool ends_with_lf;	/* the byte before offset is an LF */
};

struct mime_parser {
	struct pool *pool;
	struct frame stack[MIME_PARSER_MAX_DEPTH + 1];
	int top;
	unsigned int part_count;
	unsigned int boundary_frames;	/* frames whose boundary is live */
	struct mime_part *root;
	bool finished;

	uint64_t offset;		/* bytes fed */
	uint64_t lf_count, bare_count;	/* LFs / bare LFs before the line */
	/* 1: a bare LF counts as CRLF in vsize; 0: sizes are physical
	 * (mime_parser_set_physical_sizes()) */
	unsigned int bare_unit;
	uint64_t line_start;

	/* the current line */
	char *line;
	size_t line_kept, line_keep_max;
	uint64_t line_total;
	unsigned char line_last, line_prev_last;
	unsigned int prev_term;		/* line break length of last line */
	bool prev_content_empty;

	/* the header field being read */
	int cur_field;
	struct str cur_value;
	size_t cur_cap;
	size_t kept_total;
};

static const struct {
	const char *name;
	enum mime_field field;
} field_names[] = {
	{ "Content-Type", MIME_FIELD_CONTENT_TYPE },
	{ "Content-Transfer-Encoding", MIME_FIELD_CONTENT_TRANSFER_ENCODING },
	{ "Content-ID", MIME_FIELD_CONTENT_ID },
	{ "Content-Description", MIME_FIELD_CONTENT_DESCRIPTION },
	{ "Content-Disposition", MIME_FIELD_CONTENT_DISPOSITION },
	{ "Content-Language", MIME_FIELD_CONTENT_LANGUAGE },
	{ "Content-Location", MIME_FIELD_CONTENT_LOCATION },
	{ "Content-MD5", MIME_FIELD_CONTENT_MD5 },
	{ "Date", MIME_FIELD_DATE },
	{ "Subject", MIME_FIELD_SUBJECT },
	{ "From", MIME_FIELD_FROM },
	{ "Sender", MIME_FIELD_SENDER },
	{ "Reply-To", MIME_FIELD_REPLY_TO },
	{ "To", MIME_FIELD_TO },
	{ "Cc", MIME_FIELD_CC },
	{ "Bcc", MIME_FIELD_BCC },
	{ "In-Reply-To", MIME_FIELD_IN_REPLY_TO },
	{ "Message-ID", MIME_FIELD_MESSAGE_ID },
	{ "References", MIME_FIELD_REFERENCES },
};

const char *mime_field_name(enum mime_field field)
{
	for (size_t i = 0; i < N_ELEMENTS(field_names); i++) {
		if (field_names[i].field == field)
			return field_names[i].name;
	}
	i_panic("mime_field_name(%d)", (int)field);
}

static int field_lookup(const char *name, size_t len)
{
	for (size_t i = 0; i < N_ELEMENTS(field_names); i++) {
		if (strlen(field_names[i].name) == len &&
		    strncasecmp(field_names[i].name, name, len) == 0)
			return (int)field_names[i].field;
	}
	return -1;
}

static struct mime_part *part_new(struct mime_parser *p, struct frame *parent,
				  uint64_t header_offset)
{
	struct mime_part *part = p_malloc(p->pool, sizeof(*part));

	part->header_offset = header_offset;
	part->body_offset = header_offset;
	p->part_count++;
	if (parent != NULL) {
		part->parent = parent->part;
		part->depth = parent->part->depth + 1;
		if (parent->last_child == NULL)
			parent->part->children = part;
		else
			parent->last_child->next = part;
		parent->last_child = part;
		parent->part->child_count++;
	}
	return part;
}

static void frame_push(struct mime_parser *p, struct mime_part *part,
		       uint64_t lf, uint64_t bare)
{
	struct frame *f;

	if (p->top + 1 >= (int)N_ELEMENTS(p->stack))
		i_panic("mime parser: stack overflow");
	f = &p->stack[++p->top];
	memset(f, 0, sizeof(*f));
	f->part = part;
	f->state = FRAME_HEADER;
	f->lf_header = lf;
	f->bare_header = bare;
}

static bool frame_has_live_boundary(const struct frame *f)
{
	return f->boundary != NULL &&
		(f->state == FRAME_PREAMBLE || f->state == FRAME_CHILD ||
		 f->state == FRAME_FULL);
}

/* ---- header fields ---- */

static bool is_wsp(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void field_append(struct mime_parser *p, const char *s, size_t n)
{
	size_t room = p->cur_cap - p->cur_value.len;
	str_append_n(&p->cur_value, s, ROOST_MIN(n, room));
}

static void field_finish(struct mime_parser *p, struct frame *f)
{
	const char *s;
	size_t len;
	char *v;

	if (p->cur_field < 0)
		return;
	s = p->cur_value.data == NULL ? "" : p->cur_value.data;
	len = p->cur_value.len;
	while (len > 0 && is_wsp((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_wsp((unsigned char)s[len - 1]))
		len--;
	v = p_strndup(p->pool, s, len);
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\0')
			v[i] = (char)0x80;
	}
	f->part->fields[p->cur_field] = v;
	p->kept_total += len;
	p->cur_field = -1;
	str_truncate(&p->cur_value, 0);
}

static bool field_is_structural(int field)
{
	return field == MIME_FIELD_CONTENT_TYPE ||
		field == MIME_FIELD_CONTENT_TRANSFER_ENCODING ||
		field == MIME_FIELD_CONTENT_DISPOSITION;
}

static void field_start(struct mime_parser *p, struct frame *f,
			const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	size_t name_len;
	int field;

	if (colon == NULL)
		return;
	name_len = (size_t)(colon - line);
	while (name_len > 0 && (line[name_len - 1] == ' ' ||
				line[name_len - 1] == '\t'))
		name_len--;
	field = field_lookup(line, name_len);
	if (field < 0 || f->part->fields[field] != NULL)
		return;
	if (field >= MIME_FIELD_FIRST_MESSAGE &&
	    (f->part->flags & MIME_PART_FLAG_IS_MESSAGE) == 0)
		return;
	if (p->kept_total < MIME_PARSER_MAX_KEPT_SIZE)
		p->cur_cap = MIME_PARSER_MAX_FIELD_SIZE;
	else if (field_is_structural(field))
		p->cur_cap = MIME_PARSER_MAX_SMALL_FIELD_SIZE;
	else
		return;
	p->cur_field = field;
	str_truncate(&p->cur_value, 0);
	/* the cap counts from the value's first non-blank byte */
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	field_append(p, v, (size_t)(end - v));
}

/* ---- content fields ---- */

static bool parent_is_digest(const struct mime_part *part)
{
	const struct mime_part *parent = part->parent;
	return parent != NULL &&
		(parent->flags & MIME_PART_FLAG_MULTIPART) != 0 &&
		str_eq_icase(parent->subtype, "digest");
}

static void apply_content_fields(struct mime_parser *p, struct mime_part *part)
{
	const char *ct = part->fields[MIME_FIELD_CONTENT_TYPE];
	const char *cd = part->fields[MIME_FIELD_CONTENT_DISPOSITION];
	const char *cl = part->fields[MIME_FIELD_CONTENT_LANGUAGE];
	const char *cte = part->fields[MIME_FIELD_CONTENT_TRANSFER_ENCODING];
	struct mime_param *params;
	const char **langs;
	unsigned int count;

	if (ct != NULL &&
	    mime_header_parse_content_type(p->pool, ct, &part->type,
					   &part->subtype, &params,
					   &count) == 0) {
		part->params = params;
		part->param_count = count;
	} else if (ct == NULL && parent_is_digest(part)) {
		part->type = "MESSAGE";
		part->subtype = "RFC822";
		part->flags |= MIME_PART_FLAG_DEFAULT_TYPE;
	} else {
		part->type = "TEXT";
		part->subtype = "PLAIN";
		part->flags |= MIME_PART_FLAG_DEFAULT_TYPE;
	}
	if (str_eq_icase(part->type, "multipart")) {
		part->flags |= MIME_PART_FLAG_MULTIPART;
	} else if (str_eq_icase(part->type, "message") &&
		   (str_eq_icase(part->subtype, "rfc822") ||
		    str_eq_icase(part->subtype, "global"))) {
		part->flags |= MIME_PART_FLAG_MESSAGE_RFC822;
	} else if (str_eq_icase(part->type, "text")) {
		part->flags |= MIME_PART_FLAG_TEXT;
	}
	if (cte != NULL)
		part->encoding = mime_header_parse_token(p->pool, cte);
	part->transfer_encoding = mime_encoding_from_name(part->encoding);
	if (cd != NULL &&
	    mime_header_parse_disposition(p->pool, cd, &part->disposition,
					  &params, &count) == 0) {
		part->disposition_params = params;
		part->disposition_param_count = count;
	}
	if (cl != NULL) {
		mime_header_parse_language(p->pool, cl, &langs, &count);
		part->languages = langs;
		part->language_count = count;
	}
}

/* Sets the boundary of a multipart frame; false if it has none usable. */
static bool frame_set_boundary(struct mime_parser *p, struct frame *f)
{
	const struct mime_part *part = f->part;
	struct str b = STR_INIT;
	bool ok;

	ok = mime_param_get_utf8(part->params, part->param_count, "boundary",
				 &b) == 0 &&
		b.len > 0 && b.len <= MIME_PARSER_MAX_BOUNDARY_LEN &&
		memchr(b.data, '\0', b.len) == NULL;
	if (ok) {
		f->boundary = p_strndup(p->pool, b.data, b.len);
		f->boundary_len = b.len;
	}
	str_free(&b);
	return ok;
}

/* The header of the top frame ended at `end` (after its empty line). */
static void header_done(struct mime_parser *p, struct frame *f,
			const struct position *end, bool expand)
{
	struct mime_part *part = f->part;

	part->header_size = end->offset - part->header_offset;
	part->header_lines = end->lf - f->lf_header;
	part->header_vsize = part->header_size + (end->bare - f->bare_header);
	part->body_offset = end->offset;
	f->lf_body = end->lf;
	f->bare_body = end->bare;
	apply_content_fields(p, part);

	f->state = FRAME_BODY;
	if (!expand || part->depth >= MIME_PARSER_MAX_DEPTH)
		return;
	if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0) {
		if (frame_set_boundary(p, f)) {
			f->state = FRAME_PREAMBLE;
			p->boundary_frames++;
		}
	} else if ((part->flags & MIME_PART_FLAG_MESSAGE_RFC822) != 0 &&
		   mime_encoding_is_identity(part->transfer_encoding) &&
		   p->part_count < MIME_PARSER_MAX_PARTS) {
		struct mime_part *child = part_new(p, f, end->offset);
		child->flags |= MIME_PART_FLAG_IS_MESSAGE;
		f->state = FRAME_CHILD;
		frame_push(p, child, end->lf, end->bare);
	}
}

/* Closes the top frame at `end`.  A part never extends past `end`: when
 * the line break that a boundary owns (RFC 2046 5.1.1) is the one that
 * ended the part's header, or the one before the part's first line, the
 * header (or the whole part) is cut there, so every part stays inside
 * its parent. */
static void frame_close(struct mime_parser *p, const struct position *end)
{
	struct frame *f = &p->stack[p->top];
	struct mime_part *part = f->part;

	if (end->offset < part->header_offset) {
		part->header_offset = end->offset;
		part->body_offset = end->offset;
		f->lf_header = f->lf_body = end->lf;
		f->bare_header = f->bare_body = end->bare;
	}
	if (f->state == FRAME_HEADER) {
		field_finish(p, f);
		part->flags |= MIME_PART_FLAG_HEADER_UNTERMINATED;
		header_done(p, f, end, false);
	} else if (end->offset < part->body_offset) {
		part->header_size = end->offset - part->header_offset;
		part->header_lines = end->lf - f->lf_header;
		part->header_vsize = part->header_size +
			(end->bare - f->bare_header);
		part->body_offset = end->offset;
	} else {
		part->body_size = end->offset - part->body_offset;
		part->body_vsize = part->body_size + (end->bare - f->bare_body);
		part->body_lines = end->lf - f->lf_body +
			(end->ends_with_lf || part->body_size == 0 ? 0 : 1);
	}
	if (frame_has_live_boundary(f))
		p->boundary_frames--;
	if ((part->flags & (MIME_PART_FLAG_MULTIPART |
			    MIME_PART_FLAG_MESSAGE_RFC822)) != 0 &&
	    part->child_count == 0)
		part->flags |= MIME_PART_FLAG_OPAQUE;
	p->top--;
}

/* ---- lines ---- */

/* delimiter       := CRLF dash-boundary transport-padding
 * close-delimiter := delimiter "--"
 * A line is a delimiter line when it starts with "--" and the boundary:
 * RFC 2046 5.1.1, "NOTE TO IMPLEMENTORS: Boundary string comparisons
 * must compare the boundary value with the beginning of each candidate
 * line.  An exact match of the entire candidate line is not required; it
 * is sufficient that the boundary appear in its entirety following the
 * CRLF."  Whatever follows the boundary (padding or not) is ignored.
 * Returns 1 for a delimiter line, 2 for a close delimiter, else 0. */
static int boundary_match(const struct frame *f, const char *line, size_t len)
{
	const char *rest;
	size_t rlen;

	if (len < 2 + f->boundary_len ||
	    memcmp(line + 2, f->boundary, f->boundary_len) != 0)
		return 0;
	rest = line + 2 + f->boundary_len;
	rlen = len - 2 - f->boundary_len;
	if (rlen >= 2 && rest[0] == '-' && rest[1] == '-')
		return 2;
	return 1;
}

/* The position just before the current line's preceding line break. */
static struct position position_before_line_break(const struct mime_parser *p)
{
	struct position pos;

	pos.offset = p->line_start - p->prev_term;
	pos.lf = p->lf_count - (p->prev_term > 0 ? 1 : 0);
	pos.bare = p->bare_count - (p->prev_term == 1 ? p->bare_unit : 0);
	pos.ends_with_lf = p->prev_content_empty && p->prev_term > 0;
	return pos;
}

static void boundary_line(struct mime_parser *p, int level, bool is_close,
			  unsigned int term)
{
	struct position end = position_before_line_break(p);
	struct frame *f = &p->stack[level];

	while (p->top > level)
		frame_close(p, &end);
	if (is_close) {
		f->state = FRAME_EPILOGUE;
		p->boundary_frames--;
		return;
	}
	if (f->state == FRAME_FULL)
		return;
	if (p->part_count >= MIME_PARSER_MAX_PARTS) {
		f->state = FRAME_FULL;
		return;
	}
	f->state = FRAME_CHILD;
	struct mime_part *child =
		part_new(p, f, p->line_start + p->line_total);
	frame_push(p, child, p->lf_count + (term > 0 ? 1 : 0),
		   p->bare_count + (term == 1 ? p->bare_unit : 0));
}

static void header_line(struct mime_parser *p, struct frame *f,
			const char *line, size_t len, bool truncated,
			unsigned int term)
{
	if (len == 0 && !truncated) {
		struct position end = {
			.offset = p->line_start + p->line_total,
			.lf = p->lf_count + (term > 0 ? 1 : 0),
			.bare = p->bare_count + (term == 1 ? p->bare_unit : 0),
			.ends_with_lf = term > 0,
		};
		field_finish(p, f);
		header_done(p, f, &end, true);
		return;
	}
	if (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
		if (p->cur_field >= 0)
			field_append(p, line, len);
		return;
	}
	field_finish(p, f);
	field_start(p, f, line, len);
}

static void process_line(struct mime_parser *p, const char *line, size_t len,
			 bool truncated, unsigned int term)
{
	if (len >= 2 && line[0] == '-' && line[1] == '-' &&
	    p->boundary_frames > 0) {
		/* With prefix matching two open boundaries can match one
		 * line (inner "a", outer "ab", line "--ab"): the longest
		 * boundary wins, the innermost among equals (as Dovecot
		 * does), so a line meant for an outer multipart is not
		 * taken by an inner one whose boundary is its prefix. */
		int best = -1, best_m = 0;
		for (int i = p->top; i >= 0; i--) {
			const struct frame *f = &p->stack[i];
			if (!frame_has_live_boundary(f))
				continue;
			int m = boundary_match(f, line, len);
			if (m != 0 && (best < 0 || f->boundary_len >
				       p->stack[best].boundary_len)) {
				best = i;
				best_m = m;
			}
		}
		if (best >= 0) {
			boundary_line(p, best, best_m == 2, term);
			return;
		}
	}
	struct frame *top = &p->stack[p->top];
	if (top->state == FRAME_HEADER)
		header_line(p, top, line, len, truncated, term);
}

static void line_end(struct mime_parser *p, bool at_eof)
{
	unsigned int term = 0;
	uint64_t content_total;
	size_t len;

	if (!at_eof)
		term = p->line_total >= 2 && p->line_prev_last == '\r' ? 2 : 1;
	content_total = p->line_total - term;
	len = (size_t)ROOST_MIN((uint64_t)p->line_kept, content_total);
	process_line(p, p->line, len,
		     len < content_total, term);
	p->lf_count += term > 0 ? 1 : 0;
	p->bare_count += term == 1 ? p->bare_unit : 0;
	p->prev_term = term;
	p->prev_content_empty = content_total == 0;
	p->line_start = p->offset;
	p->line_total = 0;
	p->line_kept = 0;
}

static size_t line_keep_max(const struct mime_parser *p)
{
	if (p->stack[p->top].state == FRAME_HEADER)
		return HEADER_LINE_KEEP;
	return p->boundary_frames > 0 ? BODY_LINE_KEEP : 2;
}

/* ---- API ---- */

struct mime_parser *mime_parser_create(void)
{
	struct mime_parser *p = xcalloc(1, sizeof(*p));

	p->pool = pool_create(4096);
	p->line = xmalloc(HEADER_LINE_KEEP);
	p->top = -1;
	p->cur_field = -1;
	p->bare_unit = 1;
	p->root = part_new(p, NULL, 0);
	p->root->flags |= MIME_PART_FLAG_IS_MESSAGE;
	frame_push(p, p->root, 0, 0);
	return p;
}

void mime_parser_destroy(struct mime_parser **parser)
{
	struct mime_parser *p = *parser;

	if (p == NULL)
		return;
	*parser = NULL;
	str_free(&p->cur_value);
	free(p->line);
	pool_destroy(&p->pool);
	free(p);
}

void mime_parser_set_physical_sizes(struct mime_parser *p)
{
	if (p->offset > 0)
		i_panic("mime_parser_set_physical_sizes() after mime_parser_feed()");
	p->bare_unit = 0;
}

void mime_parser_feed(struct mime_parser *p, const void *data, size_t size)
{
	const unsigned char *d = data;

	if (p->finished)
		i_panic("mime_parser_feed() after mime_parser_finish()");
	while (size > 0) {
		const unsigned char *lf = memchr(d, '\n', size);
		size_t n = lf != NULL ? (size_t)(lf - d + 1) : size;

		if (p->line_total == 0)
			p->line_keep_max = line_keep_max(p);
		if (p->line_kept < p->line_keep_max) {
			size_t m = ROOST_MIN(n, p->line_keep_max - p->line_kept);
			memcpy(p->line + p->line_kept, d, m);
			p->line_kept += m;
		}
		if (n >= 2) {
			p->line_prev_last = d[n - 2];
			p->line_last = d[n - 1];
		} else {
			p->line_prev_last = p->line_last;
			p->line_last = d[0];
		}
		p->line_total += n;
		p->offset += n;
		if (lf != NULL)
			line_end(p, false);
		d += n;
		size -= n;
	}
}

/* True when the current line, ended by an LF now, would be data of a
 * body whose Content-Transfer-Encoding is binary: the top part's body
 * (not its header, not a multipart's preamble or epilogue) and not a
 * boundary line of an open multipart. */
static bool line_is_binary_data(const struct mime_parser *p)
{
	const struct frame *top = &p->stack[p->top];

	if (top->state != FRAME_BODY ||
	    top->part->transfer_encoding != MIME_ENCODING_BINARY)
		return false;
	size_t len = (size_t)ROOST_MIN((uint64_t)p->line_kept, p->line_total);
	if (len < 2 || p->line[0] != '-' || p->line[1] != '-' || p->boundary_frames == 0)
		return true;
	for (int i = p->top; i >= 0; i--) {
		if (frame_has_live_boundary(&p->stack[i]) &&
		    boundary_match(&p->stack[i], p->line, len) != 0)
			return false;
	}
	return true;
}

void mime_parser_feed_crlf(struct mime_parser *p, const void *data, size_t size,
			   struct str *out)
{
	const unsigned char *d = data;

	while (size > 0) {
		const unsigned char *lf = memchr(d, '\n', size);
		size_t n = lf != NULL ? (size_t)(lf - d) : size;

		mime_parser_feed(p, d, n);
		str_append_n(out, d, n);
		if (lf == NULL)
			break;
		/* the byte before this LF: the line's last, if it has one */
		bool bare = p->line_total == 0 || p->line_last != '\r';
		if (bare && !line_is_binary_data(p)) {
			mime_parser_feed(p, "\r\n", 2);
			str_append_n(out, "\r\n", 2);
		} else {
			mime_parser_feed(p, "\n", 1);
			str_append_c(out, '\n');
		}
		d += n + 1;
		size -= n + 1;
	}
}

struct mime_part *mime_parser_finish(struct mime_parser *p)
{
	if (p->finished)
		return p->root;
	if (p->line_total > 0)
		line_end(p, true);

	struct position end = {
		.offset = p->offset,
		.lf = p->lf_count,
		.bare = p->bare_count,
		.ends_with_lf = p->prev_term > 0,
	};
	while (p->top >= 0)
		frame_close(p, &end);
	p->finished = true;
	return p->root;
}

struct mime_part *mime_parser_parse(const void *data, size_t size,
				    struct mime_parser **parser_r)
{
	*parser_r = mime_parser_create();
	mime_parser_feed(*parser_r, data, size);
	return mime_parser_finish(*parser_r);
}

unsigned int mime_parser_part_count(const struct mime_parser *parser)
{
	return parser->part_count;
}
