/* part-map.c: building, (de)serialising and searching part maps.  See
 * part-map.h.
 *
 * Serialised form, version 1:
 *   "M" 0x01 varint(count) count * entry
 *   entry = flags encoding varint(header_offset) varint(header_size)
 *           varint(header_vsize - header_size) varint(body_size)
 *           varint(body_vsize - body_size) varint(header_lines)
 *           varint(body_lines) varint(child_count)
 * A varint is 7 bits per byte, least significant first, high bit set on
 * all bytes but the last.  body_offset is header_offset + header_size. */
#include "mime/part-map.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAP_MAGIC 'M'
#define MAP_VERSION 1

static uint8_t map_flags(unsigned int part_flags)
{
	uint8_t f = 0;

	if ((part_flags & MIME_PART_FLAG_MULTIPART) != 0)
		f |= MIME_PART_MAP_FLAG_MULTIPART;
	if ((part_flags & MIME_PART_FLAG_MESSAGE_RFC822) != 0)
		f |= MIME_PART_MAP_FLAG_MESSAGE;
	if ((part_flags & MIME_PART_FLAG_TEXT) != 0)
		f |= MIME_PART_MAP_FLAG_TEXT;
	return f;
}

struct walk_frame {
	uint32_t index;
	uint32_t remaining;
};

/* Sets subtree_end from the child counts and checks that the counts
 * describe exactly `count` entries and that every child lies inside its
 * parent's body.  Returns 0 or -1. */
static int link_entries(struct mime_part_map_entry *e, uint32_t count)
{
	struct walk_frame *stack = xmalloc(sizeof(*stack) * count);
	uint32_t sp = 0, i = 1;
	int ret = 0;

	stack[sp++] = (struct walk_frame){ 0, e[0].child_count };
	for (;;) {
		while (sp > 0 && stack[sp - 1].remaining == 0) {
			e[stack[sp - 1].index].subtree_end = i;
			sp--;
		}
		if (sp == 0)
			break;
		if (i >= count) {
			ret = -1;
			break;
		}
		const struct mime_part_map_entry *parent =
			&e[stack[sp - 1].index];
		if (e[i].header_offset < parent->body_offset ||
		    e[i].body_offset + e[i].body_size >
		    parent->body_offset + parent->body_size) {
			ret = -1;
			break;
		}
		stack[sp - 1].remaining--;
		stack[sp++] = (struct walk_frame){ i, e[i].child_count };
		i++;
	}
	if (ret == 0 && i != count)
		ret = -1;
	free(stack);
	return ret;
}

void mime_part_map_init_tree(struct mime_part_map *map,
			     const struct mime_part *root)
{
	const struct mime_part *p = root;
	uint32_t count = 0, n = 0;

	for (p = root; p != NULL; ) {
		count++;
		if (p->children != NULL) {
			p = p->children;
			continue;
		}
		while (p != root && p->next == NULL)
			p = p->parent;
		p = p == root ? NULL : p->next;
	}
	map->count = count;
	map->entries = xcalloc(count, sizeof(*map->entries));
	for (p = root; p != NULL; ) {
		struct mime_part_map_entry *e = &map->entries[n++];
		e->header_offset = p->header_offset;
		e->header_size = p->header_size;
		e->header_vsize = p->header_vsize;
		e->body_offset = p->body_offset;
		e->body_size = p->body_size;
		e->body_vsize = p->body_vsize;
		e->header_lines = p->header_lines;
		e->body_lines = p->body_lines;
		e->child_count = p->child_count;
		e->flags = map_flags(p->flags);
		e->encoding = (uint8_t)p->transfer_encoding;
		if (p->children != NULL) {
			p = p->children;
			continue;
		}
		while (p != root && p->next == NULL)
			p = p->parent;
		p = p == root ? NULL : p->next;
	}
	if (link_entries(map->entries, count) < 0)
		i_panic("mime part map: inconsistent part tree");
}

void mime_part_map_deinit(struct mime_part_map *map)
{
	free(map->entries);
	map->entries = NULL;
	map->count = 0;
}

static void put_varint(struct str *dest, uint64_t v)
{
	while (v >= 0x80) {
		str_append_c(dest, (char)(0x80 | (v & 0x7f)));
		v >>= 7;
	}
	str_append_c(dest, (char)v);
}

void mime_part_map_serialize(const struct mime_part_map *map,
			     struct str *dest)
{
	str_append_c(dest, MAP_MAGIC);
	str_append_c(dest, MAP_VERSION);
	put_varint(dest, map->count);
	for (uint32_t i = 0; i < map->count; i++) {
		const struct mime_part_map_entry *e = &map->entries[i];
		str_append_c(dest, (char)e->flags);
		str_append_c(dest, (char)e->encoding);
		put_varint(dest, e->header_offset);
		put_varint(dest, e->header_size);
		put_varint(dest, e->header_vsize - e->header_size);
		put_varint(dest, e->body_size);
		put_varint(dest, e->body_vsize - e->body_size);
		put_varint(dest, e->header_lines);
		put_varint(dest, e->body_lines);
		put_varint(dest, e->child_count);
	}
}

struct reader {
	const unsigned char *p, *end;
	bool failed;
};

static uint64_t get_varint(struct reader *r)
{
	uint64_t v = 0;

	for (unsigned int shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end) {
			r->failed = true;
			return 0;
		}
		unsigned char c = *r->p++;
		if (shift == 63 && (c & 0x7e) != 0) {
			r->failed = true;
			return 0;
		}
		v |= (uint64_t)(c & 0x7f) << shift;
		if ((c & 0x80) == 0)
			return v;
	}
	r->failed = true;
	return 0;
}

static uint8_t get_byte(struct reader *r)
{
	if (r->p >= r->end) {
		r->failed = true;
		return 0;
	}
	return *r->p++;
}

/* a + b without overflow, else fail */
static uint64_t add_checked(struct reader *r, uint64_t a, uint64_t b)
{
	if (a > UINT64_MAX - b) {
		r->failed = true;
		return 0;
	}
	return a + b;
}

int mime_part_map_deserialize(struct mime_part_map *map, const void *data,
			      size_t size)
{
	struct reader r = { data, (const unsigned char *)data + size, false };
	uint64_t count;

	map->entries = NULL;
	map->count = 0;
	if (get_byte(&r) != MAP_MAGIC || get_byte(&r) != MAP_VERSION)
		return -1;
	count = get_varint(&r);
	/* every entry takes at least 10 bytes */
	if (r.failed || count == 0 || count > MIME_PARSER_MAX_PARTS ||
	    count > (uint64_t)(r.end - r.p) / 10)
		return -1;

	struct mime_part_map_entry *e = xcalloc(count, sizeof(*e));
	for (uint32_t i = 0; i < count && !r.failed; i++) {
		e[i].flags = get_byte(&r);
		e[i].encoding = get_byte(&r);
		e[i].header_offset = get_varint(&r);
		e[i].header_size = get_varint(&r);
		e[i].header_vsize = add_checked(&r, e[i].header_size,
						get_varint(&r));
		e[i].body_size = get_varint(&r);
		e[i].body_vsize = add_checked(&r, e[i].body_size,
					      get_varint(&r));
		e[i].header_lines = get_varint(&r);
		e[i].body_lines = get_varint(&r);
		uint64_t children = get_varint(&r);
		e[i].body_offset = add_checked(&r, e[i].header_offset,
					       e[i].header_size);
		(void)add_checked(&r, e[i].body_offset, e[i].body_size);
		(void)add_checked(&r, e[i].header_vsize, e[i].body_vsize);
		if (children >= count || e[i].flags > 7 ||
		    e[i].encoding > MIME_ENCODING_UNKNOWN ||
		    ((e[i].flags & MIME_PART_MAP_FLAG_MULTIPART) != 0 &&
		     (e[i].flags & MIME_PART_MAP_FLAG_MESSAGE) != 0) ||
		    ((e[i].flags & MIME_PART_MAP_FLAG_MESSAGE) != 0 &&
		     children > 1) ||
		    ((e[i].flags & (MIME_PART_MAP_FLAG_MULTIPART |
				    MIME_PART_MAP_FLAG_MESSAGE)) == 0 &&
		     children > 0))
			r.failed = true;
		e[i].child_count = (uint32_t)children;
	}
	if (r.failed || r.p != r.end || link_entries(e, (uint32_t)count) < 0) {
		free(e);
		return -1;
	}
	map->entries = e;
	map->count = (uint32_t)count;
	return 0;
}

int mime_section_parse(const char *section, uint32_t *path,
		       unsigned int *path_len_r, enum mime_section_kind *kind_r)
{
	const char *p = section;
	unsigned int n = 0;

	while (*p >= '1' && *p <= '9') {
		uint64_t v = 0;
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (uint64_t)(*p++ - '0');
			if (v > UINT32_MAX)
				return -1;
		}
		if (n == MIME_PART_MAP_MAX_PATH)
			return -1;
		path[n++] = (uint32_t)v;
		if (*p != '.')
			break;
		p++;
	}
	*path_len_r = n;
	if (*p == '\0') {
		/* "" or "1.2"; but not "1." */
		if (n > 0 && p[-1] == '.')
			return -1;
		*kind_r = MIME_SECTION_BODY;
		return 0;
	}
	if (n > 0 && p[-1] != '.')
		return -1;
	if (strcasecmp(p, "TEXT") == 0) {
		*kind_r = MIME_SECTION_TEXT;
	} else if (strcasecmp(p, "MIME") == 0 && n > 0) {
		*kind_r = MIME_SECTION_MIME;
	} else if (strcasecmp(p, "HEADER") == 0 ||
		   strncasecmp(p, "HEADER.FIELDS", 13) == 0) {
		*kind_r = MIME_SECTION_HEADER;
	} else {
		return -1;
	}
	return 0;
}

static void range_header(const struct mime_part_map *map, uint32_t i,
			 struct mime_section_range *r)
{
	const struct mime_part_map_entry *e = &map->entries[i];

	r->offset = e->header_offset;
	r->size = e->header_size;
	r->vsize = e->header_vsize;
	r->lines = e->header_lines;
	r->part_index = i;
	r->encoding = MIME_ENCODING_7BIT;
}

static void range_body(const struct mime_part_map *map, uint32_t i,
		       struct mime_section_range *r)
{
	const struct mime_part_map_entry *e = &map->entries[i];

	r->offset = e->body_offset;
	r->size = e->body_size;
	r->vsize = e->body_vsize;
	r->lines = e->body_lines;
	r->part_index = i;
	r->encoding = (enum mime_encoding)e->encoding;
}

/* A multipart or message/rfc822 part with no children (no boundary, a
 * boundary never found, an encoded message, a parse limit) is shown by
 * BODYSTRUCTURE with one empty text/plain stand-in part (a multipart
 * needs at least one body, a body-type-msg a body).  The stand-in is
 * part 1 of `parent`, so a client can FETCH what BODYSTRUCTURE told it
 * of: its BODY and MIME are empty, at the end of the parent's header;
 * it has no parts, HEADER or TEXT of its own. */
static int lookup_stand_in(const struct mime_part_map *map, uint32_t parent,
			   uint32_t n, bool last, enum mime_section_kind kind,
			   struct mime_section_range *range_r)
{
	if (n != 1 || !last ||
	    (kind != MIME_SECTION_BODY && kind != MIME_SECTION_MIME))
		return -1;
	range_body(map, parent, range_r);
	range_r->size = range_r->vsize = range_r->lines = 0;
	range_r->encoding = MIME_ENCODING_7BIT;
	return 0;
}

int mime_part_map_lookup(const struct mime_part_map *map,
			 const uint32_t *path, unsigned int path_len,
			 enum mime_section_kind kind,
			 struct mime_section_range *range_r)
{
	const struct mime_part_map_entry *e = map->entries;
	uint32_t cur = 0;
	bool at_message = true;

	if (map->count == 0)
		return -1;
	if (path_len == 0) {
		switch (kind) {
		case MIME_SECTION_BODY:
			range_header(map, 0, range_r);
			range_r->size += e[0].body_size;
			range_r->vsize += e[0].body_vsize;
			range_r->lines += e[0].body_lines;
			return 0;
		case MIME_SECTION_HEADER:
			range_header(map, 0, range_r);
			return 0;
		case MIME_SECTION_TEXT:
			range_body(map, 0, range_r);
			return 0;
		case MIME_SECTION_MIME:
			return -1;
		}
		return -1;
	}
	for (unsigned int k = 0; k < path_len; k++) {
		uint32_t n = path[k];

		if (!at_message) {
			if ((e[cur].flags & MIME_PART_MAP_FLAG_MESSAGE) != 0) {
				if (e[cur].child_count == 0)
					return lookup_stand_in(map, cur, n,
							       k + 1 == path_len,
							       kind, range_r);
				cur++;
				at_message = true;
			} else if ((e[cur].flags &
				    MIME_PART_MAP_FLAG_MULTIPART) == 0) {
				return -1;
			}
		}
		if ((e[cur].flags & MIME_PART_MAP_FLAG_MULTIPART) != 0) {
			if (e[cur].child_count == 0)
				return lookup_stand_in(map, cur, n,
						       k + 1 == path_len,
						       kind, range_r);
			if (n == 0 || n > e[cur].child_count)
				return -1;
			uint32_t j = cur + 1;
			for (uint32_t c = 1; c < n; c++)
				j = e[j].subtree_end;
			cur = j;
		} else if (!at_message || n != 1) {
			return -1;
		}
		at_message = false;
	}
	switch (kind) {
	case MIME_SECTION_BODY:
		range_body(map, cur, range_r);
		return 0;
	case MIME_SECTION_MIME:
		range_header(map, cur, range_r);
		return 0;
	case MIME_SECTION_HEADER:
	case MIME_SECTION_TEXT:
		if ((e[cur].flags & MIME_PART_MAP_FLAG_MESSAGE) == 0 ||
		    e[cur].child_count == 0)
			return -1;
		if (kind == MIME_SECTION_HEADER)
			range_header(map, cur + 1, range_r);
		else
			range_body(map, cur + 1, range_r);
		return 0;
	}
	return -1;
}
