/* part-map.h: the part map of a message, stored in the index at delivery
 * so that BODY[section], BINARY[section] and their sizes need no re-parse
 * (DESIGN.md "Parse once").
 *
 * A map is the part tree in pre-order with, per part, the offsets, sizes
 * (physical and CRLF) and line counts of its header and body, its
 * structure flags and its transfer encoding.  Its serialised form is a
 * compact, versioned byte string (varints); deserialisation validates it
 * completely, so a corrupt index row is an error, never a crash.
 *
 * Section paths follow RFC 9051 section 6.4.5: part numbers are
 * 1-based; in a multipart they name the body parts; a non-multipart
 * message (or embedded message) has one part, number 1, which is its
 * body; after a message/rfc822 part the next number descends into the
 * embedded message.  Nothing here knows IMAP syntax beyond section
 * numbers and the HEADER / TEXT / MIME names. */
#ifndef ROOST_MIME_PART_MAP_H
#define ROOST_MIME_PART_MAP_H

#include "base/base.h"
#include "base/str.h"
#include "mime/decode.h"
#include "mime/parser.h"

/* Section paths deeper than this are not found. */
#define MIME_PART_MAP_MAX_PATH 128

enum mime_part_map_flags {
	MIME_PART_MAP_FLAG_MULTIPART = 0x01,
	MIME_PART_MAP_FLAG_MESSAGE = 0x02,	/* message/rfc822 or global */
	MIME_PART_MAP_FLAG_TEXT = 0x04,
};

struct mime_part_map_entry {
	uint64_t header_offset, header_size, header_vsize;
	uint64_t body_offset, body_size, body_vsize;
	uint64_t header_lines, body_lines;
	uint32_t child_count;
	/* index of the entry after this part's subtree (pre-order) */
	uint32_t subtree_end;
	uint8_t flags;		/* enum mime_part_map_flags */
	uint8_t encoding;	/* enum mime_encoding */
};

struct mime_part_map {
	struct mime_part_map_entry *entries;	/* [0] is the root */
	uint32_t count;
};

/* What part of a section is wanted:
 *   BODY    "1.2"         the part's body (for a message/rfc822 part, the
 *                         whole embedded message); "" = whole message
 *   HEADER  "1.2.HEADER"  the header of the (embedded) message; also
 *                         HEADER.FIELDS[.NOT], filtered by the caller
 *   TEXT    "1.2.TEXT"    the body of the (embedded) message
 *   MIME    "1.2.MIME"    the part's own MIME header */
enum mime_section_kind {
	MIME_SECTION_BODY,
	MIME_SECTION_HEADER,
	MIME_SECTION_TEXT,
	MIME_SECTION_MIME,
};

struct mime_section_range {
	uint64_t offset, size, vsize, lines;
	/* the part the range belongs to (index into entries) */
	uint32_t part_index;
	/* its transfer encoding (BINARY decodes BODY ranges only) */
	enum mime_encoding encoding;
};

/* Builds a map of the tree under `root` (from mime_parser_finish()).
 * The map owns its memory; free it with mime_part_map_deinit(). */
void mime_part_map_init_tree(struct mime_part_map *map,
			     const struct mime_part *root);
/* Frees the entries; the map is empty afterwards. */
void mime_part_map_deinit(struct mime_part_map *map);

/* Appends the serialised map to dest. */
void mime_part_map_serialize(const struct mime_part_map *map,
			     struct str *dest);
/* Reads a serialised map.  Returns 0 with *map initialised (the caller
 * deinits it), or -1 when the data is not a valid map (map empty, nothing
 * to free). */
int mime_part_map_deserialize(struct mime_part_map *map, const void *data,
			      size_t size);

/* Parses a section-spec's part of an IMAP section ("", "1.2", "1.2.MIME",
 * "HEADER", "2.TEXT", "3.HEADER.FIELDS (...)": the text after
 * HEADER.FIELDS is ignored) into its part numbers and kind.  Returns 0,
 * or -1 when it is not a section (a 0, a missing number, MIME without a
 * part number, an unknown name, more than MIME_PART_MAP_MAX_PATH numbers).
 * path must hold MIME_PART_MAP_MAX_PATH numbers. */
int mime_section_parse(const char *section, uint32_t *path,
		       unsigned int *path_len_r, enum mime_section_kind *kind_r);

/* Finds the byte range of a section.  Returns 0 with *range_r set, or -1
 * when the message has no such part, or HEADER/TEXT is asked of a part
 * that is not a message/rfc822 (RFC 9051: they apply to messages only).
 * A part past a parse limit has no children, so its subparts are not
 * found; but a multipart or message part without children has the empty
 * stand-in part 1 that BODYSTRUCTURE shows (its BODY and MIME are empty
 * ranges at the end of the part's header). */
int mime_part_map_lookup(const struct mime_part_map *map,
			 const uint32_t *path, unsigned int path_len,
			 enum mime_section_kind kind,
			 struct mime_section_range *range_r);

#endif
