/* fetch.c: the FETCH output engine (RFC 9051 6.4.5 and 7.5.2): it
 * answers a fetch request (fetch-parse.h) for a set of messages, for
 * cmd-fetch.c.
 *
 * Output is produced message by message, and literal bodies in chunks of
 * FETCH_READ_SIZE read from the message's stream
 * (store_mailbox_msg_stream()), and only while the connection's pending
 * output is below the session's high-water mark (imap_cmd_slice_end()):
 * past it fetch_run() returns and continues exactly where it stopped (in
 * the middle of a literal too) when the command resumes.  Nothing here is
 * proportional to a message's size; the only per-message memory is a
 * bitmap of the messages whose \Seen flag this command set.
 *
 * The engine is a list of stages (enum fetch_stage) run by fetch_run();
 * each stage function says with an enum fetch_step what it did.
 * ENVELOPE and BODYSTRUCTURE are the strings the store cached when the
 * message arrived (BODY is BODYSTRUCTURE without its extension data,
 * imap_bodystructure_to_body()), read ahead for FETCH_CACHE_BATCH
 * messages at a time (one index read, not one per message), and part sections are byte ranges from the cached
 * part map (store_mailbox_msg_cache()), so none of them parses the
 * message; only part bytes are read from the stream.  This file never
 * parses a message beyond splitting header fields.
 *
 * BINARY items go through the same stages in fetch-binary.c, which
 * decodes parts as they go out.  Its measuring pass writes nothing, so
 * the output's high-water mark alone would not pause it: FETCH also
 * yields to the worker's other sessions every IMAP_SLICE_MSECS and
 * continues from the session's timer, as every long command does
 * (session.h).  A part whose encoding Roost cannot decode stops the
 * engine before that message's response starts. */
#include "commands.h"
#include "fetch.h"
#include "fetch-binary.h"
#include "flags.h"
#include "base/log.h"
#include "mailbox-name.h"
#include "syntax/imap-bodystructure.h"
#include "syntax/imap-quote.h"
#include "syntax/seqset.h"
#include "mime/part-map.h"
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const fetch_months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

/* ---- the message set ---- */

void fetch_init(struct fetch_ctx *ctx, struct imap_cmd *cmd,
		const struct fetch_items *items, const struct seqset *msns)
{
	/* a seqset's ranges are sorted and merged: each message is
	 * answered once */
	size_t n = msns->count;

	ctx->cmd = cmd;
	ctx->items = *items;
	ctx->ranges = p_malloc(cmd->pool, (n == 0 ? 1 : n) * sizeof(*ctx->ranges));
	for (size_t i = 0; i < n; i++) {
		ctx->ranges[i].first = msns->ranges[i].seq1;
		ctx->ranges[i].last = msns->ranges[i].seq2;
	}
	ctx->range_count = n;
	ctx->range_idx = 0;
	ctx->next_msn = n > 0 ? ctx->ranges[0].first : 0;
	ctx->stage = FETCH_STAGE_NEXT_MSG;
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

/* " NAME date-time" of `when` in the zone tz (minutes east of UTC). */
static void fetch_write_date_time(struct str *dest, const char *name, time_t when, int tz)
{
	time_t t = when + (time_t)tz * 60;
	struct tm tm;

	gmtime_r(&t, &tm);
	/* date-time = DQUOTE date-day-fixed "-" date-month "-" date-year
	 *             SP time SP zone DQUOTE; date-day-fixed = (SP DIGIT) / 2DIGIT */
	str_printfa(dest, "%s \"%2d-%s-%04d %02d:%02d:%02d %c%02d%02d\"", name,
		    tm.tm_mday, fetch_months[tm.tm_mon], tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec, tz < 0 ? '-' : '+',
		    abs(tz) / 60, abs(tz) % 60);
}

static void fetch_write_internaldate(struct str *dest, const struct store_msg *msg)
{
	fetch_write_date_time(dest, "INTERNALDATE", msg->internaldate, msg->internaldate_tz);
}

static bool fetch_field_listed(const struct fetch_body *body, const char *name, size_t len)
{
	for (size_t i = 0; i < body->field_count; i++) {
		if (strlen(body->fields[i]) == len && strncasecmp(body->fields[i], name, len) == 0)
			return true;
	}
	return false;
}

enum fetch_step fetch_read_failed(struct fetch_ctx *ctx, const char *reason)
{
	struct imap_session *s = ctx->cmd->session;

	log_error("%s: FETCH: message %u: %s", s->log_prefix,
		  store_mailbox_msg(s->box, ctx->msn)->uid,
		  reason != NULL ? reason : "message shorter than its size");
	return FETCH_STEP_FAILED;
}

/* HEADER.FIELDS[.NOT]: the fields of the header at header_offset that
 * are (not) listed, each with its continuation lines and line ends as
 * stored, then the blank line; into ctx->mem.  Returns 0 or -1 (read
 * error, errno set). */
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
 * message/rfc822) is NIL.  Returns DONE or FAILED. */
static enum fetch_step fetch_part_begin(struct fetch_ctx *ctx, const struct fetch_body *body)
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
		return FETCH_STEP_DONE;
	}
	if (body->section == FETCH_SECTION_HEADER_FIELDS ||
	    body->section == FETCH_SECTION_HEADER_FIELDS_NOT) {
		if (fetch_header_fields(ctx, body, range.offset, range.size) < 0)
			return fetch_read_failed(ctx, strerror(errno));
		ctx->from_mem = true;
		fetch_literal_begin(ctx, body, 0, ctx->mem.len);
		return FETCH_STEP_DONE;
	}
	fetch_literal_begin(ctx, body, range.offset, range.size);
	return FETCH_STEP_DONE;
}

/* Starts body item body_idx: computes the bytes to send and writes
 * " NAME {n}\r\n".  Returns DONE, SCAN (a BINARY item must scan its part
 * first: fetch_binary_begin()) or FAILED (read error, logged). */
static enum fetch_step fetch_body_begin(struct fetch_ctx *ctx)
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
			return fetch_read_failed(ctx, strerror(errno));
		ctx->from_mem = true;
		start = 0;
		len = ctx->mem.len;
		break;
	case FETCH_SECTION_MIME:
		assert(!"MIME without a part path");
		break;
	}
	fetch_literal_begin(ctx, body, start, len);
	return FETCH_STEP_DONE;
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

/* Writes the next chunk of the current literal.  Returns MORE, DONE when
 * the literal is complete, or FAILED when the message could not be read
 * (logged: the literal cannot be completed). */
static enum fetch_step fetch_body_data(struct fetch_ctx *ctx)
{
	struct imap_session *s = ctx->cmd->session;
	size_t n = (size_t)ROOST_MIN(ctx->src_left, (uint64_t)FETCH_READ_SIZE);

	if (n == 0)
		return FETCH_STEP_DONE;
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
		if (got < 0 || (size_t)got != n)
			return fetch_read_failed(ctx, got < 0 ? strerror(errno) : NULL);
		if (ctx->text_literal)
			fetch_nul_to_0x80(ctx->readbuf, n);
		imap_session_write(s, ctx->readbuf, n);
		ctx->src_off += n;
	}
	ctx->src_left -= n;
	return ctx->src_left == 0 ? FETCH_STEP_DONE : FETCH_STEP_MORE;
}

/* ---- the cached model, read ahead ---- */

/* One message's part of a batch: what the command asks for, as offsets
 * of NUL-terminated strings in ctx->cached_pool. */
struct fetch_cached {
	uint32_t msn;
	bool gone;		/* no longer in the index */
	size_t envelope, body, bodystructure;
	size_t part_map, part_map_size;
	/* the object data (store_mailbox_msg_ids_many()); threadid and
	 * preview FETCH_CACHED_NONE when the store has none */
	size_t emailid, threadid, preview;
	time_t savedate;
};
#define FETCH_CACHED_NONE SIZE_MAX

/* Copies size bytes to the end of the pool (and a NUL); their offset. */
static size_t fetch_cached_keep(struct fetch_ctx *ctx, const void *data, size_t size)
{
	size_t off = ctx->cached_pool.len;

	str_append_n(&ctx->cached_pool, data, size);
	str_append_c(&ctx->cached_pool, '\0');
	return off;
}

static size_t fetch_cached_keep_str(struct fetch_ctx *ctx, const char *s)
{
	return fetch_cached_keep(ctx, s, strlen(s));
}

/* Whether the items need the cached model (store_mailbox_msg_cache_many()). */
static bool fetch_wants_model(const struct fetch_items *items)
{
	return (items->attrs & (FETCH_ATTR_ENVELOPE | FETCH_ATTR_BODY |
				FETCH_ATTR_BODYSTRUCTURE)) != 0 || items->need_map;
}

static void fetch_cached_cb(void *context, size_t i, const struct store_msg_cache *cache)
{
	struct fetch_ctx *ctx = context;
	struct fetch_cached *c = &ctx->cached[i];
	unsigned int attrs = ctx->items.attrs;

	c->gone = cache == NULL;
	if (cache == NULL)
		return;
	/* message/global is a body-type-msg for IMAP4rev2 only */
	const char *bs = ctx->cmd->session->rev2 && cache->bodystructure_rev2 != NULL ?
		cache->bodystructure_rev2 : cache->bodystructure;
	if ((attrs & FETCH_ATTR_ENVELOPE) != 0)
		c->envelope = fetch_cached_keep_str(ctx, cache->envelope);
	if ((attrs & FETCH_ATTR_BODY) != 0) {
		c->body = ctx->cached_pool.len;
		if (imap_bodystructure_to_body(&ctx->cached_pool, bs, strlen(bs)) < 0) {
			/* only a corrupt row: BODYSTRUCTURE is a BODY with
			 * more data, which clients read too */
			log_error("%s: FETCH: message %u: invalid body structure in the index",
				  ctx->cmd->session->log_prefix,
				  store_mailbox_msg(ctx->cmd->session->box, c->msn)->uid);
			str_truncate(&ctx->cached_pool, c->body);
			str_append(&ctx->cached_pool, bs);
		}
		str_append_c(&ctx->cached_pool, '\0');
	}
	if ((attrs & FETCH_ATTR_BODYSTRUCTURE) != 0)
		c->bodystructure = fetch_cached_keep_str(ctx, bs);
	if (ctx->items.need_map) {
		c->part_map = fetch_cached_keep(ctx, cache->part_map, cache->part_map_size);
		c->part_map_size = cache->part_map_size;
	}
}

static void fetch_ids_cb(void *context, size_t i, const struct store_msg_ids *ids)
{
	struct fetch_ctx *ctx = context;
	struct fetch_cached *c = &ctx->cached[i];

	if (ids == NULL) {
		c->gone = true;
		return;
	}
	/* the model's read, when there was one, said whether it is gone */
	if (!fetch_wants_model(&ctx->items))
		c->gone = false;
	c->emailid = fetch_cached_keep_str(ctx, ids->emailid);
	c->threadid = ids->threadid == NULL ? FETCH_CACHED_NONE :
		fetch_cached_keep_str(ctx, ids->threadid);
	c->preview = ids->preview == NULL ? FETCH_CACHED_NONE :
		fetch_cached_keep_str(ctx, ids->preview);
	c->savedate = ids->savedate;
}

/* Reads the model of the next batch of messages of the set from msn on
 * (msn is in the set, the current range or the one before it), leaving
 * out those this view already knows to be expunged.  0 or -1 (store
 * error). */
static int fetch_cached_read(struct fetch_ctx *ctx, uint32_t msn)
{
	struct store_mailbox *box = ctx->cmd->session->box;
	uint32_t msns[FETCH_CACHE_BATCH];
	size_t n = 0;
	size_t ri = ctx->range_idx > 0 ? ctx->range_idx - 1 : 0;

	while (ri < ctx->range_count && ctx->ranges[ri].last < msn)
		ri++;
	for (; ri < ctx->range_count && n < FETCH_CACHE_BATCH; ri++) {
		uint32_t m = ROOST_MAX(msn, ctx->ranges[ri].first);

		for (;; m++) {
			if (!store_mailbox_is_expunged(box, m))
				msns[n++] = m;
			if (m == ctx->ranges[ri].last || n == FETCH_CACHE_BATCH)
				break;
		}
	}
	if (ctx->cached == NULL)
		ctx->cached = xcalloc(FETCH_CACHE_BATCH, sizeof(*ctx->cached));
	str_truncate(&ctx->cached_pool, 0);
	for (size_t i = 0; i < n; i++) {
		memset(&ctx->cached[i], 0, sizeof(ctx->cached[i]));
		ctx->cached[i].msn = msns[i];
		ctx->cached[i].gone = true;
	}
	ctx->cached_count = n;
	ctx->cached_pos = 0;
	if (fetch_wants_model(&ctx->items) &&
	    store_mailbox_msg_cache_many(box, msns, n, fetch_cached_cb, ctx) < 0) {
		ctx->cached_count = 0;
		return -1;
	}
	unsigned int attrs = ctx->items.attrs, want = 0;
	if ((attrs & FETCH_ATTR_THREADID) != 0)
		want |= STORE_IDS_THREADID;
	if ((attrs & FETCH_ATTR_PREVIEW) != 0)
		want |= STORE_IDS_PREVIEW;
	if ((attrs & FETCH_ATTR_PREVIEW_LAZY) != 0)
		want |= STORE_IDS_PREVIEW_LAZY;
	if ((attrs & FETCH_ATTRS_IDS) != 0 &&
	    store_mailbox_msg_ids_many(box, msns, n, want, fetch_ids_cb, ctx) < 0) {
		ctx->cached_count = 0;
		return -1;
	}
	return 0;
}

/* The cached model of msn (not expunged in this view), read ahead in
 * batches: *c_r valid until the next call.  0 or -1 (store error). */
static int fetch_cached_get(struct fetch_ctx *ctx, uint32_t msn, const struct fetch_cached **c_r)
{
	while (ctx->cached_pos < ctx->cached_count && ctx->cached[ctx->cached_pos].msn < msn)
		ctx->cached_pos++;
	if (ctx->cached_pos == ctx->cached_count || ctx->cached[ctx->cached_pos].msn != msn) {
		if (fetch_cached_read(ctx, msn) < 0)
			return -1;
		assert(ctx->cached_count > 0 && ctx->cached[0].msn == msn);
	}
	*c_r = &ctx->cached[ctx->cached_pos];
	return 0;
}

/* A message another session expunged: it is left out of the answer
 * entirely rather than answered in part (a FETCH response without an
 * item that was asked for confuses clients), and the command ends with
 * OK [EXPUNGEISSUED] (cmd-fetch.c).  Returns SKIPPED. */
static enum fetch_step fetch_msg_gone(struct fetch_ctx *ctx)
{
	istream_destroy(&ctx->msg);
	mime_part_map_deinit(&ctx->map);
	ctx->had_expunged = true;
	return FETCH_STEP_SKIPPED;
}

/* EMAILID, THREADID (RFC 8474 5.3), SAVEDATE (RFC 8514 4.2) and PREVIEW
 * (RFC 8970 3.2) as asked, onto line (items from start on). */
static void fetch_write_ids(struct fetch_ctx *ctx, struct str *line, size_t start,
			    const struct fetch_cached *c)
{
	const char *pool = ctx->cached_pool.data;
	unsigned int attrs = ctx->items.attrs;

	if ((attrs & FETCH_ATTR_EMAILID) != 0) {
		if (line->len > start)
			str_append_c(line, ' ');
		str_printfa(line, "EMAILID (%s)", pool + c->emailid);
	}
	if ((attrs & FETCH_ATTR_THREADID) != 0) {
		if (line->len > start)
			str_append_c(line, ' ');
		if (c->threadid == FETCH_CACHED_NONE)
			str_append(line, "THREADID NIL");
		else
			str_printfa(line, "THREADID (%s)", pool + c->threadid);
	}
	if ((attrs & FETCH_ATTR_SAVEDATE) != 0) {
		if (line->len > start)
			str_append_c(line, ' ');
		/* kept in UTC: the zone of the save is not known */
		fetch_write_date_time(line, "SAVEDATE", c->savedate, 0);
	}
	if ((attrs & FETCH_ATTR_PREVIEW) != 0) {
		if (line->len > start)
			str_append_c(line, ' ');
		/* msg-att-dynamic =/ "PREVIEW" SP nstring; NIL only with LAZY
		 * (the store made it without LAZY) */
		str_append(line, "PREVIEW ");
		imap_quote_nstring_c(line, c->preview == FETCH_CACHED_NONE ? NULL :
				     pool + c->preview,
				     imap_mailbox_is_utf8(ctx->cmd->session) ?
				     IMAP_QUOTE_FLAG_UTF8 : 0);
	}
}

/* Starts message ctx->msn: sets \Seen if needed, opens its stream if
 * body items want it, and writes "* n FETCH (" with the index items.
 * Returns DONE (started), SKIPPED, UNKNOWN_CTE or FAILED (store error).
 * A message that is gone from the index while this view still has it
 * (RFC 2180 4.1) is answered from the view when only index items (FLAGS,
 * UID, INTERNALDATE, RFC822.SIZE) are asked for, and skipped when an
 * item needs its stream or cached model. */
static enum fetch_step fetch_msg_begin(struct fetch_ctx *ctx)
{
	struct imap_session *s = ctx->cmd->session;
	struct store_mailbox *box = s->box;
	const struct fetch_items *items = &ctx->items;
	uint32_t msn = ctx->msn;

	/* what the previous message left when it was skipped (no
	 * fetch_msg_end()) must not be read as this one's */
	mime_part_map_deinit(&ctx->map);
	ctx->bin_info_count = 0;
	bool cache_wanted = fetch_wants_model(items) || (items->attrs & FETCH_ATTRS_IDS) != 0;
	if ((items->body_count > 0 || cache_wanted) && store_mailbox_is_expunged(box, msn))
		return fetch_msg_gone(ctx);
	if (items->body_count > 0) {
		if (store_mailbox_msg_stream(box, msn, &ctx->msg) < 0) {
			enum store_error err;
			(void)store_last_error(s->store, &err);
			if (err != STORE_ERR_EXPUNGED)
				return FETCH_STEP_FAILED;
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
			return FETCH_STEP_FAILED;
	}

	const struct fetch_cached *cached = NULL;
	if (cache_wanted) {
		if (fetch_cached_get(ctx, msn, &cached) < 0)
			return FETCH_STEP_FAILED;
		if (cached->gone)
			return fetch_msg_gone(ctx);
	}
	const char *pool = ctx->cached_pool.data;
	if (cached != NULL && items->need_map &&
	    mime_part_map_deserialize(&ctx->map, pool + cached->part_map,
				      cached->part_map_size) < 0) {
		/* a corrupt row: every part is NIL rather than a wrong range */
		log_error("%s: FETCH: message %u: invalid part map in the index",
			  s->log_prefix, store_mailbox_msg(box, msn)->uid);
	}
	if (items->binary && ctx->msg != NULL && fetch_binary_has_unknown_cte(ctx)) {
		/* before "* n FETCH (": the command fails here */
		return FETCH_STEP_UNKNOWN_CTE;
	}
	if (seen_now && items->binary) {
		if (fetch_seen_batch(ctx, msn, 1) < 0)
			return FETCH_STEP_FAILED;
	}

	const struct store_msg *msg = store_mailbox_msg(box, msn);
	bool seen_set = fetch_seen_bit(ctx, msn);
	bool flags = (items->attrs & FETCH_ATTR_FLAGS) != 0 || seen_set;
	/* RFC 7162 3.2.4: a FETCH that sets \Seen answers with UID and
	 * MODSEQ once CONDSTORE is on */
	bool uid = (items->attrs & FETCH_ATTR_UID) != 0 || ctx->cmd->uid ||
		(seen_set && s->condstore);
	bool modseq = (items->attrs & FETCH_ATTR_MODSEQ) != 0 || (seen_set && s->condstore);

	struct str *line = &ctx->line;
	size_t start;
	str_truncate(line, 0);
	/* UIDONLY: the UID leads the response; the item only if asked */
	if (imap_session_fetch_begin(s, line, msn, msg->uid))
		uid = (items->attrs & FETCH_ATTR_UID) != 0;
	start = line->len;
	if (uid)
		str_printfa(line, "UID %u", msg->uid);
	if (flags) {
		if (line->len > start)
			str_append_c(line, ' ');
		str_append(line, "FLAGS (");
		imap_flags_write(line, box, msg, store_mailbox_is_recent(box, msn));
		str_append_c(line, ')');
	}
	if (modseq) {
		if (line->len > start)
			str_append_c(line, ' ');
		str_printfa(line, "MODSEQ (%llu)", (unsigned long long)msg->modseq);
	}
	if ((items->attrs & FETCH_ATTR_INTERNALDATE) != 0) {
		if (line->len > start)
			str_append_c(line, ' ');
		fetch_write_internaldate(line, msg);
	}
	if ((items->attrs & FETCH_ATTR_RFC822_SIZE) != 0) {
		if (line->len > start)
			str_append_c(line, ' ');
		str_printfa(line, "RFC822.SIZE %llu", (unsigned long long)msg->size);
	}
	/* the IMAP4rev2 forms were chosen as the batch was read */
	if (cached != NULL && (items->attrs & FETCH_ATTR_ENVELOPE) != 0) {
		if (line->len > start)
			str_append_c(line, ' ');
		str_append(line, "ENVELOPE ");
		str_append(line, pool + cached->envelope);
	}
	if (cached != NULL && (items->attrs & FETCH_ATTR_BODY) != 0) {
		if (line->len > start)
			str_append_c(line, ' ');
		str_append(line, "BODY ");
		str_append(line, pool + cached->body);
	}
	if (cached != NULL && (items->attrs & FETCH_ATTR_BODYSTRUCTURE) != 0) {
		if (line->len > start)
			str_append_c(line, ' ');
		str_append(line, "BODYSTRUCTURE ");
		str_append(line, pool + cached->bodystructure);
	}
	if (cached != NULL)
		fetch_write_ids(ctx, line, start, cached);
	ctx->need_space = line->len > start;
	imap_session_write(s, line->data, line->len);
	return FETCH_STEP_DONE;
}

static void fetch_msg_end(struct fetch_ctx *ctx)
{
	imap_session_write(ctx->cmd->session, ")\r\n", 3);
	istream_destroy(&ctx->msg);
	mime_part_map_deinit(&ctx->map);
	ctx->bin_info_count = 0;
	ctx->cmd->session->fetch_count++;
}

void fetch_deinit(struct fetch_ctx *ctx)
{
	istream_destroy(&ctx->msg);
	mime_part_map_deinit(&ctx->map);
	free(ctx->readbuf);
	ctx->readbuf = NULL;
	free(ctx->seen_changed);
	ctx->seen_changed = NULL;
	str_free(&ctx->mem);
	free(ctx->cached);
	ctx->cached = NULL;
	ctx->cached_count = 0;
	str_free(&ctx->cached_pool);
	str_free(&ctx->line);
}

/* The FETCH responses carried the \Seen flags this command set: keep the
 * sync from repeating them.  Synced here, without expunges, so the msns
 * of the bitmap are still right. */
static void fetch_sync_seen(struct fetch_ctx *ctx)
{
	if (ctx->seen_changed != NULL) {
		imap_session_sync_skipping(ctx->cmd->session, ctx->seen_changed,
					   ctx->seen_changed_count, true);
	}
}

enum fetch_run_result fetch_run(struct fetch_ctx *ctx)
{
	uint64_t deadline = imap_cmd_slice_deadline();
	enum fetch_step step;

	for (bool first = true;; first = false) {
		/* at least one step per slice; none while the output is
		 * above the high-water mark */
		if (imap_cmd_slice_end(ctx->cmd, first ? UINT64_MAX : deadline))
			return FETCH_RUN_PAUSED;
		switch (ctx->stage) {
		case FETCH_STAGE_NEXT_MSG:
			if (!fetch_next_msn(ctx, &ctx->msn)) {
				fetch_sync_seen(ctx);
				return FETCH_RUN_FINISHED;
			}
			step = fetch_msg_begin(ctx);
			if (step == FETCH_STEP_FAILED)
				return FETCH_RUN_STORE_ERROR;
			if (step == FETCH_STEP_UNKNOWN_CTE) {
				fetch_sync_seen(ctx);
				return FETCH_RUN_UNKNOWN_CTE;
			}
			if (step == FETCH_STEP_SKIPPED)
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
			step = fetch_body_begin(ctx);
			if (step == FETCH_STEP_FAILED)
				return FETCH_RUN_BROKEN;
			ctx->stage = step == FETCH_STEP_SCAN ? FETCH_STAGE_BINARY_SCAN :
				FETCH_STAGE_BODY_DATA;
			break;
		case FETCH_STAGE_BINARY_SCAN:
			step = fetch_binary_scan_step(ctx);
			if (step == FETCH_STEP_FAILED)
				return FETCH_RUN_BROKEN;
			if (step == FETCH_STEP_DONE)
				ctx->stage = FETCH_STAGE_BODY_BEGIN;
			break;
		case FETCH_STAGE_BODY_DATA:
			step = fetch_body_data(ctx);
			if (step == FETCH_STEP_FAILED)
				return FETCH_RUN_BROKEN;
			if (step == FETCH_STEP_DONE) {
				ctx->body_idx++;
				ctx->range_nul = -1;
				ctx->stage = FETCH_STAGE_BODY_BEGIN;
			}
			break;
		case FETCH_STAGE_MSG_END:
			fetch_msg_end(ctx);
			ctx->stage = FETCH_STAGE_NEXT_MSG;
			break;
		}
	}
}
