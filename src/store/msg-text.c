/* msg-text.c: the text SEARCH looks at, as every backend stores it: the
 * header and body documents of mime/text.h, prepared with
 * i;unicode-casemap so that a backend's index can match prepared needles
 * as plain byte substrings.  It never touches files by name or SQL. */
#include "store/store-private.h"
#include "base/casemap.h"
#include "mime/text.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static ssize_t text_pread(void *ctx, void *buf, size_t size, uint64_t offset)
{
	int fd = *(int *)ctx;
	ssize_t n;

	do {
		n = pread(fd, buf, size, (off_t)offset);
	} while (n < 0 && errno == EINTR);
	return n;
}

int store_msg_text_data_build(struct store_msg_text_data *data,
			      const struct mime_part *root, int fd)
{
	struct str header = { 0 }, body = { 0 };
	int ret = mime_text_extract(root, text_pread, &fd, &header, &body);

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

int store_msg_text_data_read_fd(struct store_msg_text_data *data, int fd)
{
	struct mime_parser *parser = mime_parser_create();
	char buf[65536];
	off_t offset = 0;
	ssize_t n;
	int ret;

	while ((n = pread(fd, buf, sizeof(buf), offset)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mime_parser_destroy(&parser);
			memset(data, 0, sizeof(*data));
			return -1;
		}
		mime_parser_feed(parser, buf, (size_t)n);
		offset += n;
	}
	ret = store_msg_text_data_build(data, mime_parser_finish(parser), fd);
	mime_parser_destroy(&parser);
	return ret;
}

void store_msg_text_data_free(struct store_msg_text_data *data)
{
	str_free(&data->header);
	str_free(&data->body);
}
