/* cmd-fetch.h: what cmd-fetch.c shares with fetch-binary.c, and no other
 * file includes: the state of a FETCH command.  See cmd-fetch.c for how
 * the command runs. */
#ifndef ROOST_IMAP_CMD_FETCH_H
#define ROOST_IMAP_CMD_FETCH_H

#include "base/base.h"
#include "base/istream.h"
#include "base/str.h"
#include "mime/decode.h"
#include "mime/part-map.h"

#include <sys/types.h>

struct imap_cmd;

#define FETCH_READ_SIZE (64 * 1024)
/* Largest header HEADER.FIELDS[.NOT] looks at; the rest of a longer
 * header is not searched for fields. */
#define FETCH_HEADER_MAX (1024 * 1024)
/* \Seen is set for this many messages per store transaction. */
#define FETCH_SEEN_BATCH 256

/* What a section item returns. */
enum fetch_kind {
	FETCH_KIND_BODY,		/* BODY[], BODY.PEEK[], RFC822* */
	FETCH_KIND_BINARY,		/* BINARY[], BINARY.PEEK[] */
	FETCH_KIND_BINARY_SIZE,		/* BINARY.SIZE[] */
};

enum fetch_section {
	FETCH_SECTION_ALL,		/* BODY[] and RFC822 */
	FETCH_SECTION_HEADER,		/* BODY[HEADER] and RFC822.HEADER */
	FETCH_SECTION_TEXT,		/* BODY[TEXT] and RFC822.TEXT */
	FETCH_SECTION_HEADER_FIELDS,
	FETCH_SECTION_HEADER_FIELDS_NOT,
	FETCH_SECTION_MIME,		/* BODY[1.MIME]: only with a part path */
};

struct fetch_body {
	enum fetch_kind kind;
	enum fetch_section section;	/* FETCH_SECTION_ALL for BINARY* */
	/* section-part: the part numbers before the section text; with
	 * path_len > 0 the range comes from the part map */
	const uint32_t *path;
	unsigned int path_len;
	const char *const *fields;	/* HEADER.FIELDS[.NOT] */
	size_t field_count;
	bool partial;
	uint64_t offset, count;
	/* the response's item name, partial origin included:
	 * "BODY[HEADER.FIELDS (From)]<0>", "RFC822.TEXT" */
	const char *resp_name;
};

struct fetch_items {
	bool flags, uid, internaldate, size;
	bool envelope, body, bodystructure;
	bool need_map;		/* some body item has a part path */
	bool binary;		/* some body item is BINARY or BINARY.SIZE */
	bool set_seen;		/* some body item is not PEEK */
	struct fetch_body *bodies;
	size_t body_count, body_cap;
};

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
	uint64_t offset, size;	/* encoded, in the message file */
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
	/* the literal being written: from the file, or from `mem` */
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
	/* a BINARY source of ctx->msn has an encoding Roost cannot remove:
	 * the command ends with NO [UNKNOWN-CTE] */
	bool unknown_cte;

	/* implicit \Seen: messages up to seen_done_msn were handled; bit
	 * msn - 1 of seen_changed says this command set \Seen on msn */
	uint32_t seen_done_msn;
	uint8_t *seen_changed;
	uint32_t seen_changed_count;	/* bits in the bitmap */

	bool had_expunged;		/* some data could not be returned */
};

#endif
