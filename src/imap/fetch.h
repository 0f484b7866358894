/* fetch.h: the FETCH output engine, which answers a fetch request
 * (fetch-parse.h) for a set of messages, shared by cmd-fetch.c (the
 * command), fetch.c and fetch-binary.c (the engine), and included by no
 * other file.  See fetch.c for how the output is produced. */
#ifndef ROOST_IMAP_FETCH_H
#define ROOST_IMAP_FETCH_H

#include "fetch-parse.h"
#include "base/istream.h"
#include "base/str.h"
#include "mime/decode.h"
#include "mime/part-map.h"

struct imap_cmd;
struct seqset;

#define FETCH_READ_SIZE (64 * 1024)
/* Largest header HEADER.FIELDS[.NOT] looks at; the rest of a longer
 * header is not searched for fields. */
#define FETCH_HEADER_MAX (1024 * 1024)
/* \Seen is set for this many messages per store transaction. */
#define FETCH_SEEN_BATCH 256

/* ENVELOPE, BODY, BODYSTRUCTURE and the part map are read from the store
 * for this many messages at a time (store_mailbox_msg_cache_many()): one
 * index read per batch, not per message. */
#define FETCH_CACHE_BATCH 256

struct fetch_cached;

struct fetch_range {
	uint32_t first, last;	/* msns, inclusive */
};

/* What measuring a BINARY source found (one per part per message). */
struct fetch_binary_info {
	/* what was measured: the part map index (FETCH_WHOLE_MESSAGE for
	 * []) and the encoded range.  The index alone is not enough: the
	 * empty stand-in part of a childless multipart or of an encoded
	 * message/rfc822 (BINARY[2.1]) shares its parent's index. */
	uint32_t key;
	uint64_t offset, enc_size;
	bool size_known;	/* size is set */
	bool nul_known;		/* first_nul/last_nul were measured */
	uint64_t size;		/* decoded size */
	uint64_t first_nul, last_nul;	/* decoded offsets; UINT64_MAX: none */
};

#define FETCH_WHOLE_MESSAGE UINT32_MAX

/* The bytes a BINARY item decodes. */
struct fetch_binary_src {
	uint32_t key;		/* as in fetch_binary_info */
	uint64_t offset, size;	/* encoded, in the message stream */
	enum mime_encoding encoding;
	bool text;		/* text/<any>: sent with CRLF line ends */
};

/* A scan of a BINARY source, one FETCH_READ_SIZE chunk per step. */
struct fetch_binary_scan {
	struct fetch_binary_src src;
	struct mime_decoder dec;
	uint64_t off, left;	/* encoded bytes not read yet */
	uint64_t pos;		/* decoded bytes so far */
	/* measuring: into info; else looking for a NUL in [start, end) */
	struct fetch_binary_info *info;
	uint64_t start, end;
};

enum fetch_stage {
	FETCH_STAGE_NEXT_MSG,
	FETCH_STAGE_BODY_BEGIN,
	FETCH_STAGE_BINARY_SCAN,	/* then BODY_BEGIN again, same item */
	FETCH_STAGE_BODY_DATA,
	FETCH_STAGE_MSG_END,
};

/* What one stage function of the engine did (fetch.c, fetch-binary.c);
 * each says which of these it returns. */
enum fetch_step {
	FETCH_STEP_DONE,	/* complete: go on to the next stage */
	FETCH_STEP_MORE,	/* not complete: call it again */
	FETCH_STEP_SCAN,	/* nothing written: a BINARY item must scan its
				 * part first (FETCH_STAGE_BINARY_SCAN) */
	FETCH_STEP_SKIPPED,	/* nothing written: the message is left out
				 * (expunged) */
	FETCH_STEP_UNKNOWN_CTE,	/* nothing written: a part's encoding cannot
				 * be removed */
	FETCH_STEP_FAILED,	/* a store error (set) or a read error (logged) */
};

/* The state of one FETCH command's output.  The fields are the engine's;
 * the command reads had_expunged once fetch_run() has finished. */
struct fetch_ctx {
	struct imap_cmd *cmd;
	struct fetch_items items;
	struct fetch_range *ranges;	/* sorted, disjoint */
	size_t range_count, range_idx;
	uint32_t next_msn;		/* within ranges[range_idx] */

	enum fetch_stage stage;
	uint32_t msn;			/* being written */
	struct istream *msg;		/* its bytes, NULL if not opened */
	size_t body_idx;
	bool need_space;		/* an item was written before */
	/* the literal being written: from the message stream, or from
	 * `mem` */
	bool from_mem;
	/* a plain literal (BODY[...], RFC822...): NUL octets, which it may
	 * not carry, go out as 0x80 (see fetch_body_data()) */
	bool text_literal;
	uint64_t src_off, src_left;
	struct str mem;
	size_t mem_pos;
	char *readbuf;			/* FETCH_READ_SIZE, xmalloc'd */
	/* the part map of ctx->msn when items.need_map (else empty) */
	struct mime_part_map map;

	/* BINARY with an encoding to remove: the literal is decoded as it
	 * is sent; enc_off/enc_left are the encoded bytes not read yet,
	 * skip the decoded bytes still to drop before the partial origin,
	 * and mem[mem_pos..] the decoded bytes not sent yet */
	bool decoding;
	bool dec_finished;
	struct mime_decoder dec;
	uint64_t enc_off, enc_left, skip;
	/* what was measured for ctx->msn's BINARY sources (capacity
	 * items.body_count, from the command pool) */
	struct fetch_binary_info *bin_info;
	size_t bin_info_count;
	struct fetch_binary_scan scan;
	/* whether the current BINARY item's partial range has a NUL: -1
	 * not known yet, 0 no, 1 yes */
	int range_nul;
	/* implicit \Seen: messages up to seen_done_msn were handled; bit
	 * msn - 1 of seen_changed says this command set \Seen on msn */
	uint32_t seen_done_msn;
	uint8_t *seen_changed;
	uint32_t seen_changed_count;	/* bits in the bitmap */

	bool had_expunged;		/* some data could not be returned */
	/* the cached model of the batch of messages from ctx->msn on
	 * (FETCH_CACHE_BATCH, xmalloc'd; fetch.c), its strings in
	 * cached_pool; cached_pos is the first not passed yet */
	struct fetch_cached *cached;
	size_t cached_count, cached_pos;
	struct str cached_pool;
	struct str line;		/* the response being built */
};

/* Logs that message ctx->msn could not be read (`reason`, or NULL when
 * it is shorter than its size) and returns FETCH_STEP_FAILED. */
enum fetch_step fetch_read_failed(struct fetch_ctx *ctx, const char *reason);

/* What fetch_run() stopped at. */
enum fetch_run_result {
	/* the output is above the session's high-water mark or the time
	 * slice is used: run again when the command resumes */
	FETCH_RUN_PAUSED,
	/* every message was answered, or skipped as expunged */
	FETCH_RUN_FINISHED,
	/* stopped before a message's response: a part it asks for has an
	 * encoding Roost cannot remove (NO [UNKNOWN-CTE]) */
	FETCH_RUN_UNKNOWN_CTE,
	/* stopped between two responses, with the store's error set */
	FETCH_RUN_STORE_ERROR,
	/* stopped inside a response that cannot be completed (a message
	 * could not be read; logged): only closing the connection is left */
	FETCH_RUN_BROKEN,
};

/* Sets up *ctx (zeroed by the caller, from cmd's pool) to answer `items`
 * for the messages `msns` (resolved in the view of cmd's session; the
 * ranges are copied into cmd's pool).  ctx keeps `items` as it is. */
void fetch_init(struct fetch_ctx *ctx, struct imap_cmd *cmd,
		const struct fetch_items *items, const struct seqset *msns);
/* Writes responses until it must pause or stops for good (see enum
 * fetch_run_result).  After FINISHED and UNKNOWN_CTE the \Seen flags it
 * set and sent have been synced so that the session does not repeat
 * them.  Call fetch_deinit() after any result but PAUSED. */
enum fetch_run_result fetch_run(struct fetch_ctx *ctx);
/* Releases what ctx holds (the message stream, buffers); ctx's fields
 * that fetch_run() reports (had_expunged) stay valid. */
void fetch_deinit(struct fetch_ctx *ctx);

#endif
