/* fetch-binary.c: the BINARY items of FETCH (RFC 3516; RFC 9051 6.4.5
 * and 7.5.2): BINARY[section-binary]<partial>, BINARY.PEEK and
 * BINARY.SIZE send a part with its Content-Transfer-Encoding removed.
 *
 * The decoded size must be in the literal's header before the data, so a
 * part is decoded twice, in FETCH_READ_SIZE chunks both times: once to
 * measure it (its decoded size and where its first and last NULs are,
 * kept for the rest of the message's items; a partial range between the
 * two is scanned once more), and once as it is sent, through fetch.c's
 * stages and backpressure.  A part with an identity encoding that is not
 * text is sent straight from the message stream.  Nothing is buffered beyond one
 * decoded chunk, and nothing here parses a message: parts come from the
 * cached part map. */
#include "commands.h"
#include "fetch.h"
#include "fetch-binary.h"
#include "store/store.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The bytes BINARY[section-binary] decodes.  BINARY[] is the whole
 * message as stored: a message has no Content-Transfer-Encoding of its
 * own (the top header's field describes the message's body, which is
 * BINARY[1]).  A part's range is its body with its own encoding; for a
 * multipart or message/rfc822 part RFC 2045 section 6.4 allows only the
 * identity encodings 7bit, 8bit and binary, so removing the encoding
 * leaves the content as stored.  RFC 9051 6.4.5 notes that BINARY "can
 * only be requested for leaf body parts" but names no response for the
 * others; like Dovecot we send their content as stored rather than fail a
 * client that asks.  Returns false when the message has no such part. */
static bool fetch_binary_lookup(struct fetch_ctx *ctx, const struct fetch_body *body,
				struct fetch_binary_src *src_r)
{
	if (body->path_len == 0) {
		const struct store_msg *msg = store_mailbox_msg(ctx->cmd->session->box,
								ctx->msn);
		src_r->key = FETCH_WHOLE_MESSAGE;
		src_r->offset = 0;
		src_r->size = msg->size;
		src_r->encoding = MIME_ENCODING_BINARY;
		src_r->text = false;
		return true;
	}
	struct mime_section_range range;
	if (mime_part_map_lookup(&ctx->map, body->path, body->path_len, MIME_SECTION_BODY,
				 &range) < 0)
		return false;
	uint8_t flags = ctx->map.entries[range.part_index].flags;
	src_r->key = range.part_index;
	src_r->offset = range.offset;
	src_r->size = range.size;
	src_r->encoding = range.encoding;
	src_r->text = (flags & MIME_PART_MAP_FLAG_TEXT) != 0 &&
		(flags & (MIME_PART_MAP_FLAG_MULTIPART | MIME_PART_MAP_FLAG_MESSAGE)) == 0;
	return true;
}

/* True if a BINARY item asks for a part of ctx->msn whose encoding Roost
 * cannot remove (RFC 3516 4.3: the server "MUST fail the request and
 * issue a "NO" response that contains the "UNKNOWN-CTE" extended response
 * code"). */
bool fetch_binary_has_unknown_cte(struct fetch_ctx *ctx)
{
	for (size_t i = 0; i < ctx->items.body_count; i++) {
		const struct fetch_body *body = &ctx->items.bodies[i];
		struct fetch_binary_src src;

		if (body->kind != FETCH_KIND_BODY && fetch_binary_lookup(ctx, body, &src) &&
		    src.encoding == MIME_ENCODING_UNKNOWN)
			return true;
	}
	return false;
}

static void fetch_binary_note_nuls(struct fetch_binary_info *info, const struct str *out,
				   uint64_t pos)
{
	if (out->len == 0)
		return;
	const char *first = memchr(out->data, '\0', out->len);
	if (first == NULL)
		return;
	if (info->first_nul == UINT64_MAX)
		info->first_nul = pos + (uint64_t)(first - out->data);
	const char *last = memrchr(out->data, '\0', out->len);
	info->last_nul = pos + (uint64_t)(last - out->data);
}

static void fetch_binary_decoder_init(struct mime_decoder *dec,
				      const struct fetch_binary_src *src)
{
	mime_decoder_init(dec, src->encoding);
	mime_decoder_set_crlf(dec, src->text);
}

/* The info measured for `src` on this message, or NULL. */
static struct fetch_binary_info *fetch_binary_info_find(struct fetch_ctx *ctx,
							const struct fetch_binary_src *src)
{
	for (size_t i = 0; i < ctx->bin_info_count; i++) {
		const struct fetch_binary_info *info = &ctx->bin_info[i];

		if (info->key == src->key && info->offset == src->offset &&
		    info->enc_size == src->size)
			return &ctx->bin_info[i];
	}
	return NULL;
}

static struct fetch_binary_info *fetch_binary_info_add(struct fetch_ctx *ctx,
						       const struct fetch_binary_src *src)
{
	if (ctx->bin_info == NULL) {
		ctx->bin_info = p_malloc(ctx->cmd->pool, ctx->items.body_count *
					 sizeof(*ctx->bin_info));
	}
	/* one entry per body item at most */
	assert(ctx->bin_info_count < ctx->items.body_count);
	struct fetch_binary_info *info = &ctx->bin_info[ctx->bin_info_count++];
	memset(info, 0, sizeof(*info));
	info->key = src->key;
	info->offset = src->offset;
	info->enc_size = src->size;
	info->first_nul = info->last_nul = UINT64_MAX;
	return info;
}

/* Starts a scan of `src` (FETCH_STAGE_BINARY_SCAN): with `info`, a
 * measure of its decoded size and NULs into info; without, a look for a
 * NUL in decoded bytes [start, end). */
static void fetch_binary_scan_begin(struct fetch_ctx *ctx, const struct fetch_binary_src *src,
				    struct fetch_binary_info *info, uint64_t start, uint64_t end)
{
	struct fetch_binary_scan *sc = &ctx->scan;

	memset(sc, 0, sizeof(*sc));
	sc->src = *src;
	fetch_binary_decoder_init(&sc->dec, src);
	sc->off = src->offset;
	sc->left = src->size;
	sc->info = info;
	sc->start = start;
	sc->end = end;
	if (ctx->readbuf == NULL)
		ctx->readbuf = xmalloc(FETCH_READ_SIZE);
}

/* Decodes the scan's next FETCH_READ_SIZE bytes (into ctx->mem, which no
 * literal uses meanwhile).  Returns DONE when the scan is complete (the
 * info is measured, or ctx->range_nul is set), MORE when there is more to
 * do, FAILED after a read error (logged). */
enum fetch_step fetch_binary_scan_step(struct fetch_ctx *ctx)
{
	struct fetch_binary_scan *sc = &ctx->scan;
	struct str *out = &ctx->mem;
	bool last = sc->left == 0;

	str_truncate(out, 0);
	if (!last) {
		size_t n = (size_t)ROOST_MIN(sc->left, (uint64_t)FETCH_READ_SIZE);
		ssize_t got = istream_pread(ctx->msg, ctx->readbuf, n, sc->off);
		if (got < 0 || (size_t)got != n)
			return fetch_read_failed(ctx, got < 0 ? strerror(errno) : NULL);
		mime_decoder_feed(&sc->dec, ctx->readbuf, n, out);
		sc->off += n;
		sc->left -= n;
	} else {
		mime_decoder_finish(&sc->dec, out);
	}
	if (sc->info != NULL) {
		fetch_binary_note_nuls(sc->info, out, sc->pos);
		sc->pos += out->len;
		if (!last)
			return FETCH_STEP_MORE;
		sc->info->size = sc->pos;
		sc->info->size_known = true;
		sc->info->nul_known = true;
		return FETCH_STEP_DONE;
	}
	/* the overlap of [pos, pos + out->len) with [start, end) */
	uint64_t from = ROOST_MAX(sc->pos, sc->start);
	uint64_t to = ROOST_MIN(sc->pos + out->len, sc->end);
	if (from < to && memchr(out->data + (from - sc->pos), '\0', (size_t)(to - from)) != NULL) {
		ctx->range_nul = 1;
		return FETCH_STEP_DONE;
	}
	sc->pos += out->len;
	if (last || sc->pos >= sc->end) {
		ctx->range_nul = 0;
		return FETCH_STEP_DONE;
	}
	return FETCH_STEP_MORE;
}

/* Starts a BINARY or BINARY.SIZE item: writes " BINARY.SIZE[...] n", or
 * " BINARY[...] {n}\r\n" (" ~{n}\r\n" when the data sent has a NUL) and
 * sets up the literal.  A part the message does not have is NIL (size 0
 * for BINARY.SIZE, whose grammar has only a number).  What it must know
 * first it learns by a scan of the part: then it writes nothing, starts
 * the scan and returns SCAN, and is called again for the same item when
 * the scan is complete.  Returns DONE (written) or SCAN (scan started). */
enum fetch_step fetch_binary_begin(struct fetch_ctx *ctx, const struct fetch_body *body)
{
	struct imap_session *s = ctx->cmd->session;
	struct fetch_binary_src src;
	struct str line = STR_INIT;
	const char *sp = ctx->need_space ? " " : "";

	ctx->src_left = 0;
	if (!fetch_binary_lookup(ctx, body, &src)) {
		str_printfa(&line, "%s%s %s", sp, body->resp_name,
			    body->kind == FETCH_KIND_BINARY_SIZE ? "0" : "NIL");
		imap_session_write(s, line.data, line.len);
		str_free(&line);
		ctx->need_space = true;
		return FETCH_STEP_DONE;
	}
	/* fetch_msg_begin() stopped the engine before such a message */
	assert(src.encoding != MIME_ENCODING_UNKNOWN);

	/* the decoded size (and for BINARY where the NULs are): an
	 * identity encoding of a part that is not text has the stored
	 * size, so BINARY.SIZE of it reads nothing */
	bool need_nul = body->kind == FETCH_KIND_BINARY;
	struct fetch_binary_info *info = fetch_binary_info_find(ctx, &src);
	if (info == NULL) {
		info = fetch_binary_info_add(ctx, &src);
		if (!need_nul && mime_encoding_is_identity(src.encoding) && !src.text) {
			info->size = src.size;
			info->size_known = true;
		}
	}
	if (!info->size_known || (need_nul && !info->nul_known)) {
		info->first_nul = info->last_nul = UINT64_MAX;
		fetch_binary_scan_begin(ctx, &src, info, 0, 0);
		return FETCH_STEP_SCAN;
	}
	if (body->kind == FETCH_KIND_BINARY_SIZE) {
		str_printfa(&line, "%s%s %llu", sp, body->resp_name,
			    (unsigned long long)info->size);
		imap_session_write(s, line.data, line.len);
		str_free(&line);
		ctx->need_space = true;
		return FETCH_STEP_DONE;
	}

	uint64_t start = 0, len = info->size;
	if (body->partial) {
		start = ROOST_MIN(body->offset, len);
		len = ROOST_MIN(len - start, body->count);
	}
	/* RFC 3516 4.3: decoded data without NUL "SHOULD" be a <string>;
	 * with one it can only be a literal8 (RFC 9051 section 4.3).  With
	 * a partial range the NULs may all lie outside it. */
	bool literal8;
	if (len == 0 || info->first_nul == UINT64_MAX ||
	    info->first_nul >= start + len || info->last_nul < start) {
		literal8 = false;
	} else if (info->first_nul >= start || info->last_nul < start + len) {
		literal8 = true;
	} else if (ctx->range_nul < 0) {
		/* the range lies between the first and the last NUL */
		fetch_binary_scan_begin(ctx, &src, NULL, start, start + len);
		return FETCH_STEP_SCAN;
	} else {
		literal8 = ctx->range_nul > 0;
	}
	str_printfa(&line, "%s%s %s{%llu}\r\n", sp, body->resp_name, literal8 ? "~" : "",
		    (unsigned long long)len);
	imap_session_write(s, line.data, line.len);
	str_free(&line);
	ctx->need_space = true;

	ctx->src_left = len;
	if (mime_encoding_is_identity(src.encoding) && !src.text) {
		/* the stored bytes are the decoded bytes */
		ctx->src_off = src.offset + start;
		return FETCH_STEP_DONE;
	}
	ctx->decoding = true;
	ctx->dec_finished = false;
	fetch_binary_decoder_init(&ctx->dec, &src);
	ctx->enc_off = src.offset;
	ctx->enc_left = src.size;
	ctx->skip = start;
	str_truncate(&ctx->mem, 0);
	ctx->mem_pos = 0;
	return FETCH_STEP_DONE;
}

/* Writes the next decoded chunk of the current BINARY literal, decoding
 * FETCH_READ_SIZE more encoded bytes when the last chunk is sent.
 * Returns MORE, DONE when the literal is complete, or FAILED when the
 * part cannot be read or decodes to less than measured (the literal
 * cannot be completed). */
enum fetch_step fetch_binary_data(struct fetch_ctx *ctx)
{
	struct imap_session *s = ctx->cmd->session;

	if (ctx->mem_pos == ctx->mem.len) {
		const char *error = NULL;

		str_truncate(&ctx->mem, 0);
		ctx->mem_pos = 0;
		if (ctx->enc_left > 0) {
			size_t n = (size_t)ROOST_MIN(ctx->enc_left, (uint64_t)FETCH_READ_SIZE);
			if (ctx->readbuf == NULL)
				ctx->readbuf = xmalloc(FETCH_READ_SIZE);
			ssize_t got = istream_pread(ctx->msg, ctx->readbuf, n, ctx->enc_off);
			if (got < 0 || (size_t)got != n) {
				error = got < 0 ? strerror(errno) : "message shorter than its size";
			} else {
				mime_decoder_feed(&ctx->dec, ctx->readbuf, n, &ctx->mem);
				ctx->enc_off += n;
				ctx->enc_left -= n;
			}
		} else if (!ctx->dec_finished) {
			mime_decoder_finish(&ctx->dec, &ctx->mem);
			ctx->dec_finished = true;
		} else {
			error = "decoded part shorter than measured";
		}
		if (error != NULL)
			return fetch_read_failed(ctx, error);
		uint64_t drop = ROOST_MIN(ctx->skip, (uint64_t)ctx->mem.len);
		ctx->mem_pos = (size_t)drop;
		ctx->skip -= drop;
	}
	size_t n = (size_t)ROOST_MIN((uint64_t)(ctx->mem.len - ctx->mem_pos), ctx->src_left);
	if (n == 0)
		return FETCH_STEP_MORE;	/* all skipped, or nothing decoded from this chunk */
	imap_session_write(s, ctx->mem.data + ctx->mem_pos, n);
	ctx->mem_pos += n;
	ctx->src_left -= n;
	return ctx->src_left == 0 ? FETCH_STEP_DONE : FETCH_STEP_MORE;
}
