/* msg-text.c: the text SEARCH looks at, as every backend stores it: the
 * header and body documents of mime/text.h, prepared with
 * i;unicode-casemap so that a backend's index can match prepared needles
 * as plain byte substrings.  It never touches files by name or SQL. */
#include "store/store-private.h"
#include "base/casemap.h"
#include "mime/text.h"

#include <string.h>

int store_msg_text_data_build(struct store_msg_text_data *data,
			      const struct mime_part *root, struct istream *msg)
{
	struct str header = { 0 }, body = { 0 };
	int ret = mime_text_extract(root, msg, &header, &body);

	memset(data, 0, sizeof(*data));
	/* the documents are valid UTF-8 (mime/text.h), so casemap_unicode()
	 * prepares all of them and never falls back to octets */
	(void)casemap_unicode(header.data, header.len, &data->header);
	(void)casemap_unicode(body.data, body.len, &data->body);
	str_append(&data->header, "");
	str_append(&data->body, "");
	str_free(&header);
	str_free(&body);
	return ret;
}

int store_msg_text_data_read(struct store_msg_text_data *data, struct istream *msg)
{
	struct mime_parser *parser = store_msg_parse(msg, false);
	int ret;

	if (parser == NULL) {
		memset(data, 0, sizeof(*data));
		return -1;
	}
	ret = store_msg_text_data_build(data, mime_parser_finish(parser), msg);
	mime_parser_destroy(&parser);
	return ret;
}

void store_msg_text_data_free(struct store_msg_text_data *data)
{
	str_free(&data->header);
	str_free(&data->body);
}
