/* fetch-parse.h: the FETCH item parser.  It turns the items argument of
 * FETCH into a fetch request (struct fetch_items) that the output engine
 * (fetch.h) runs; it never touches the store, the session or the
 * connection. */
#ifndef ROOST_IMAP_FETCH_PARSE_H
#define ROOST_IMAP_FETCH_PARSE_H

#include "base/base.h"
#include "syntax/partial-range.h"

struct imap_arg;
struct pool;

/* The items that are answered from the index and the cached message
 * model, as bits of fetch_items.attrs. */
enum fetch_attr {
	FETCH_ATTR_FLAGS = 1 << 0,
	FETCH_ATTR_UID = 1 << 1,
	FETCH_ATTR_INTERNALDATE = 1 << 2,
	FETCH_ATTR_RFC822_SIZE = 1 << 3,
	FETCH_ATTR_ENVELOPE = 1 << 4,
	FETCH_ATTR_BODY = 1 << 5,		/* BODY without a section */
	FETCH_ATTR_BODYSTRUCTURE = 1 << 6,
	/* MODSEQ (RFC 7162 3.1.4.2); a high bit, to stay clear of the
	 * items other extensions add after BODYSTRUCTURE */
	FETCH_ATTR_MODSEQ = 1 << 15,
	FETCH_ATTR_EMAILID = 1 << 7,		/* RFC 8474 */
	FETCH_ATTR_THREADID = 1 << 8,
	FETCH_ATTR_SAVEDATE = 1 << 9,		/* RFC 8514 */
	FETCH_ATTR_PREVIEW = 1 << 10,		/* RFC 8970 */
	FETCH_ATTR_PREVIEW_LAZY = 1 << 11,	/* PREVIEW (LAZY), with PREVIEW */
};
/* the items store_mailbox_msg_ids_many() answers */
#define FETCH_ATTRS_IDS (FETCH_ATTR_EMAILID | FETCH_ATTR_THREADID | FETCH_ATTR_SAVEDATE | \
			 FETCH_ATTR_PREVIEW)

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

/* One section item. */
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

/* A fetch request: what to send for each message. */
struct fetch_items {
	unsigned int attrs;	/* enum fetch_attr bits */
	bool need_map;		/* some body item has a part path */
	bool binary;		/* some body item is BINARY or BINARY.SIZE */
	bool set_seen;		/* some body item is not PEEK */
	struct fetch_body *bodies;	/* in the order asked */
	size_t body_count, body_cap;
};

/* fetch = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
 *         fetch-att / "(" fetch-att *(SP fetch-att) ")")
 * Parses the items argument `arg` into *items_r, everything allocated
 * from `pool` (the command's).  Returns 0, or -1 with *error_r (static
 * text for a BAD). */
int fetch_parse_items(const struct imap_arg *arg, struct pool *pool,
		      struct fetch_items *items_r, const char **error_r);

/* The FETCH modifiers (RFC 4466 fetch-modifiers) Roost knows. */
struct fetch_modifiers {
	/* PARTIAL (RFC 9394 3.3): only the messages of the set that the
	 * range selects, counted in UID (= msn) order */
	bool partial;
	struct partial_range partial_range;
	/* CHANGEDSINCE (RFC 7162 3.1.4.1): only messages with a higher
	 * modseq; 0 when not given */
	uint64_t changedsince;
	/* VANISHED (RFC 7162 3.2.6; the caller checks that it is a UID
	 * FETCH with CHANGEDSINCE after ENABLE QRESYNC) */
	bool vanished;
};

/* fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
 * fetch-modifier  =/ modifier-partial                     (RFC 9394)
 * modifier-partial = "PARTIAL" SP partial-range
 * fetch-modifier  =/ chgsince-fetch-mod / "VANISHED"       (RFC 7162)
 * chgsince-fetch-mod = "CHANGEDSINCE" SP mod-sequence-value
 * Parses the list `arg` (the argument after the items) into *mods_r.
 * Returns 0, or -1 with *error_r (static text for a BAD): not a list, an
 * empty list, an unknown modifier, a modifier given twice, a bad range. */
int fetch_parse_modifiers(const struct imap_arg *arg, struct fetch_modifiers *mods_r,
			  const char **error_r);

#endif
