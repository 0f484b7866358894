/* msg-cache.c: the message model every backend caches (DESIGN.md "Parse
 * once"): ENVELOPE, BODYSTRUCTURE (BODY is derived from it when FETCH
 * asks, imap_bodystructure_to_body()), the part map and the SORT and
 * THREAD keys and the RFC 8970 preview, built with src/mime from one
 * parse.  It never touches
 * files by name or SQL. */
#include "store/store-private.h"
#include "syntax/imap-bodystructure.h"
#include "syntax/imap-envelope.h"
#include "syntax/msgkeys.h"
#include "mime/part-map.h"
#include "mime/preview.h"

#include <errno.h>
#include <string.h>

void store_msg_cache_data_build(struct store_msg_cache_data *data,
				struct mime_parser *parser)
{
	const struct mime_part *root = mime_parser_finish(parser);
	struct mime_part_map map;

	memset(data, 0, sizeof(*data));
	imap_envelope_write(&data->envelope, root, 0);
	imap_bodystructure_write(&data->bodystructure, root, true, 0);
	data->has_global = imap_bodystructure_has_global(root);
	if (data->has_global) {
		imap_bodystructure_write(&data->bodystructure_rev2, root, true,
					 IMAP_ENVELOPE_FLAG_IMAP4REV2);
	}
	mime_part_map_init_tree(&map, root);
	mime_part_map_serialize(&map, &data->part_map);
	mime_part_map_deinit(&map);
	msgkeys_build(root, &data->msgkeys);
	/* never NULL, so a stored value is never mistaken for "not cached" */
	str_append(&data->envelope, "");
	str_append(&data->bodystructure, "");
	str_append(&data->part_map, "");
}

struct mime_parser *store_msg_parse(struct istream *msg, bool physical_sizes)
{
	struct mime_parser *parser = mime_parser_create();
	char buf[65536];
	ssize_t n;

	if (physical_sizes)
		mime_parser_set_physical_sizes(parser);
	while ((n = istream_read(msg, buf, sizeof(buf))) > 0)
		mime_parser_feed(parser, buf, (size_t)n);
	if (n < 0) {
		int saved = errno;

		mime_parser_destroy(&parser);
		errno = saved;
		return NULL;
	}
	return parser;
}

/* Adds the preview of the finished parse `root` to *data.  0 or -1
 * (read error, errno set). */
static int cache_preview_build(struct store_msg_cache_data *data,
			       const struct mime_part *root, struct istream *msg)
{
	data->has_preview = true;
	return mime_preview_extract(root, msg, &data->preview);
}

int store_msg_cache_data_read(struct store_msg_cache_data *data, struct istream *msg)
{
	/* FETCH sends the stored bytes as they are (store.h) */
	struct mime_parser *parser = store_msg_parse(msg, true);
	int ret;

	if (parser == NULL)
		return -1;
	store_msg_cache_data_build(data, parser);
	ret = cache_preview_build(data, mime_parser_finish(parser), msg);
	mime_parser_destroy(&parser);
	if (ret < 0) {
		int saved = errno;

		store_msg_cache_data_free(data);
		errno = saved;
	}
	return ret;
}

int store_msg_cache_text_build(struct store_msg_cache_data *cache,
			       struct store_msg_text_data *text, struct mime_parser *parser,
			       struct istream *msg)
{
	const struct mime_part *root;
	int ret;

	store_msg_cache_data_build(cache, parser);
	root = mime_parser_finish(parser);
	ret = store_msg_text_data_build(text, root, msg);
	if (ret == 0)
		ret = cache_preview_build(cache, root, msg);
	if (ret < 0) {
		int saved = errno;

		store_msg_cache_data_free(cache);
		store_msg_text_data_free(text);
		memset(cache, 0, sizeof(*cache));
		memset(text, 0, sizeof(*text));
		errno = saved;
	}
	return ret;
}

int store_msg_cache_text_read(struct store_msg_cache_data *cache,
			      struct store_msg_text_data *text, struct istream *msg)
{
	struct mime_parser *parser = store_msg_parse(msg, true);
	int ret;

	memset(cache, 0, sizeof(*cache));
	memset(text, 0, sizeof(*text));
	if (parser == NULL)
		return -1;
	ret = store_msg_cache_text_build(cache, text, parser, msg);
	mime_parser_destroy(&parser);
	return ret;
}

void store_msg_cache_data_free(struct store_msg_cache_data *data)
{
	str_free(&data->envelope);
	str_free(&data->bodystructure);
	str_free(&data->part_map);
	str_free(&data->msgkeys);
	str_free(&data->bodystructure_rev2);
	str_free(&data->preview);
	data->has_global = false;
	data->has_preview = false;
}
