/* fuzz-commands.c: see fuzz-commands.h. */
#include "fuzz-commands.h"
#include "syntax/imap-parser.h"

void fuzz_commands(const uint8_t *data, size_t size,
		   void (*run)(const struct imap_command *cmd, void *ctx), void *ctx)
{
	struct imap_parser_settings set = {
		.max_line_length = 16 * 1024,
		.max_literal_size = 8 * 1024,
		.max_depth = 200,
		.max_args = 4000,
	};
	struct imap_parser *p = imap_parser_create(&set);

	while (size > 0) {
		size_t used = 0;
		int ret = imap_parser_feed(p, data, size, &used);
		data += used;
		size -= used;
		if (ret == 1)
			run(imap_parser_command(p), ctx);
		else if (ret == -1 && imap_parser_must_close(p))
			break;
		else if (used == 0)
			break;
	}
	imap_parser_destroy(&p);
}
