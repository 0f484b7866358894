/* deflate.c: the compressed values of the SQLite index (the header
 * documents of the text index, fts.c).
 *
 * A value is stored as its length (4 bytes, little-endian) and a raw
 * deflate stream (no zlib header or checksum: the recorded length is
 * checked instead) primed with a preset dictionary of the words common
 * in that column, so that even a value of a few hundred bytes, which
 * plain deflate hardly shrinks, refers back into the dictionary.  The
 * dictionary is part of the stored format of its column.  Nothing here
 * knows SQL or what the values mean. */
#include "store/sqlite-index/index-private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* values shorter than this use fixed Huffman codes (index_deflate()) */
#define INDEX_DEFLATE_FIXED_MAX 2048
/* output space given to inflate beyond the value's length */
#define INDEX_INFLATE_SLACK 258

void index_deflate(struct str *dest, const char *data, size_t len, const char *dict,
		   size_t dict_len)
{
	z_stream zs;
	uLong bound;
	char *out;

	if (len == 0)
		return;
	memset(&zs, 0, sizeof(zs));
	/* raw deflate (negative window bits): no header, no checksum.  A
	 * short value with fixed Huffman codes is hardly longer (a dynamic
	 * code table costs tens of bytes), and inflates in about two thirds
	 * of the time: no code table to build for each value, which is much
	 * of the work for a few hundred bytes (a header key verified on
	 * thousands of stored header documents) */
	if (deflateInit2(&zs, 6, Z_DEFLATED, -15, 8,
			 len < INDEX_DEFLATE_FIXED_MAX ? Z_FIXED : Z_DEFAULT_STRATEGY) != Z_OK)
		i_panic("deflateInit2 failed (out of memory)");
	(void)deflateSetDictionary(&zs, (const Bytef *)dict, (uInt)dict_len);
	bound = deflateBound(&zs, (uLong)len);
	out = str_append_space(dest, 4 + (size_t)bound);
	for (int i = 0; i < 4; i++)
		out[i] = (char)((len >> (8 * i)) & 0xff);
	zs.next_in = (Bytef *)(uintptr_t)data;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out + 4;
	zs.avail_out = (uInt)bound;
	/* cannot fall short: there are deflateBound() bytes */
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		i_panic("deflate fell short of deflateBound()");
	str_truncate(dest, dest->len - (size_t)(bound - zs.total_out));
	(void)deflateEnd(&zs);
}

bool index_inflate(struct index *idx, struct str *dest, const unsigned char *blob, size_t len,
		   size_t max, const char *dict, size_t dict_len)
{
	size_t start = dest->len, out_len = 0;
	z_stream *zs = idx->inflater;
	bool ok;

	if (len == 0)
		return true;
	if (len < 4)
		return false;
	for (int i = 0; i < 4; i++)
		out_len |= (size_t)blob[i] << (8 * i);
	/* deflate never shrinks more than 1032:1 (a 258-byte match in about
	 * 2 bits), so a damaged length cannot make a huge allocation */
	if (out_len > max || out_len > (len - 4) * 1032 + 258)
		return false;
	/* one inflater per connection, reset for each value: setting one up
	 * costs more than inflating a few hundred bytes */
	if (zs == NULL) {
		zs = xcalloc(1, sizeof(*zs));
		if (inflateInit2(zs, -15) != Z_OK)
			i_panic("inflateInit2 failed (out of memory)");
		idx->inflater = zs;
	} else if (inflateReset(zs) != Z_OK) {
		return false;
	}
	zs->next_in = (Bytef *)(uintptr_t)(blob + 4);
	zs->avail_in = (uInt)(len - 4);
	/* zlib decodes on its fast path only while at least 258 bytes of
	 * output space are left: without the slack, most of a short value
	 * goes through the slow one (perf: most of the time of inflating
	 * values of a few hundred bytes) */
	zs->next_out = (Bytef *)str_append_space(dest, out_len + INDEX_INFLATE_SLACK);
	zs->avail_out = (uInt)(out_len + INDEX_INFLATE_SLACK);
	ok = inflateSetDictionary(zs, (const Bytef *)dict, (uInt)dict_len) == Z_OK &&
		inflate(zs, Z_FINISH) == Z_STREAM_END && zs->total_out == out_len &&
		zs->avail_in == 0;
	str_truncate(dest, ok ? start + out_len : start);
	return ok;
}

void index_inflater_free(struct index *idx)
{
	if (idx->inflater != NULL) {
		(void)inflateEnd(idx->inflater);
		free(idx->inflater);
		idx->inflater = NULL;
	}
}
