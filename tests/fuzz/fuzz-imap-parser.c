/* fuzz-imap-parser.c: libFuzzer target for src/syntax/imap-parser.c.
 *
 * The first bytes choose small limits; the rest is a client's byte stream.
 * It is parsed twice, once fed whole and once in chunks whose sizes come
 * from a generator seeded by the input, and the two transcripts (commands,
 * continuations, errors, raw lines) must be identical: a parser that
 * depends on where the input is split aborts here.  The driver behaves like
 * a session: it answers continuations (rejecting some literals with
 * imap_parser_reset()), reads a raw line after IDLE, takes some literal
 * files and command pools, and resets after must-close errors. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/base.h"
#include "base/pool.h"
#include "base/str.h"
#include "syntax/imap-parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SETTINGS_BYTES 6

static void dump_args(struct str *out, const struct imap_arg *args)
{
	for (; args->type != IMAP_ARG_EOL; args++) {
		str_append_c(out, ' ');
		switch (args->type) {
		case IMAP_ARG_ATOM:
		case IMAP_ARG_QUOTED:
		case IMAP_ARG_LITERAL:
			if (args->str[args->len] != '\0')
				abort();
			if (args->type != IMAP_ARG_LITERAL &&
			    strlen(args->str) != args->len)
				abort();
			if (args->type == IMAP_ARG_LITERAL &&
			    args->has_nul !=
			    (memchr(args->str, '\0', args->len) != NULL))
				abort();
			str_printfa(out, "%d:%d:%zu:", (int)args->type,
				    args->literal8, args->len);
			str_append_n(out, args->str, args->len);
			break;
		case IMAP_ARG_LITERAL_FILE: {
			char *buf = xmalloc(args->size + 1);
			if (pread(args->fd, buf, args->size,
				  (off_t)args->offset) != (ssize_t)args->size)
				abort();
			if (args->has_nul !=
			    (memchr(buf, '\0', args->size) != NULL))
				abort();
			str_printfa(out, "F:%d:%llu:", args->literal8,
				    (unsigned long long)args->size);
			str_append_n(out, buf, args->size);
			free(buf);
			break;
		}
		case IMAP_ARG_LIST:
			str_append_c(out, '(');
			dump_args(out, args->list);
			str_append_c(out, ')');
			if (args->list[args->list_count].type != IMAP_ARG_EOL)
				abort();
			break;
		case IMAP_ARG_EOL:
			break;
		}
	}
}

struct driver {
	struct imap_parser *p;
	struct str out;
	bool read_line_mode;
};

static void on_command(struct driver *d)
{
	const struct imap_command *cmd = imap_parser_command(d->p);

	str_printfa(&d->out, "C[%s][%s]", cmd->tag, cmd->name);
	dump_args(&d->out, cmd->args);
	str_append_c(&d->out, '\n');
	if (strcasecmp(cmd->name, "IDLE") == 0)
		d->read_line_mode = true;
	/* exercise the ownership transfers */
	if (strcasecmp(cmd->name, "APPEND") == 0) {
		int fd = imap_parser_take_literal_fd(d->p);
		if (fd != -1)
			close(fd);
	}
	if (cmd->arg_count % 3 == 1) {
		struct pool *pool = imap_parser_take_command_pool(d->p);
		pool_destroy(&pool);
	}
}

static void on_error(struct driver *d, const char *what)
{
	enum imap_parser_error code;
	const char *msg = imap_parser_error(d->p, &code);
	const char *tag = imap_parser_error_tag(d->p);

	str_printfa(&d->out, "%s %d [%s] %s\n", what, (int)code,
		    tag == NULL ? "*" : tag, msg);
}

/* Feeds one chunk completely, acting as a session on every result. */
static void feed_chunk(struct driver *d, const uint8_t *data, size_t len)
{
	while (len > 0) {
		size_t used = 0;
		int ret;

		if (d->read_line_mode) {
			const char *line;
			ret = imap_parser_read_line(d->p, data, len, &used,
						    &line);
			if (used > len)
				abort();
			data += used;
			len -= used;
			if (ret == 1) {
				str_printfa(&d->out, "L[%s]\n", line);
				d->read_line_mode = false;
			} else if (ret == -1) {
				on_error(d, "LE");
				d->read_line_mode = false;
			} else if (len != 0) {
				abort();
			}
			continue;
		}
		ret = imap_parser_feed(d->p, data, len, &used);
		if (used > len)
			abort();
		data += used;
		len -= used;
		if (ret == 1) {
			if (used == 0)
				abort();
			on_command(d);
		} else if (ret == -1) {
			on_error(d, "E");
			if (imap_parser_must_close(d->p)) {
				size_t again;
				if (imap_parser_feed(d->p, data, len, &again) != -1 ||
				    again != 0)
					abort();
				str_append(&d->out, "CLOSE\n");
				imap_parser_reset(d->p);
			}
		} else if (imap_parser_need_continuation(d->p)) {
			uint64_t n = imap_parser_literal_size(d->p);
			if (imap_parser_current_tag(d->p) == NULL ||
			    imap_parser_current_name(d->p) == NULL)
				abort();
			if (n % 5 == 4) {
				str_printfa(&d->out, "REJECT %llu\n",
					    (unsigned long long)n);
				imap_parser_reset(d->p);
			} else {
				str_printfa(&d->out, "+ %llu\n",
					    (unsigned long long)n);
			}
		} else if (len != 0) {
			abort();
		}
	}
}

static struct str run(const struct imap_parser_settings *set,
		       const uint8_t *data, size_t size, uint32_t seed)
{
	struct driver d = { imap_parser_create(set), STR_INIT, false };
	size_t pos = 0;

	while (pos < size) {
		size_t n = size - pos;
		if (seed != 0) {
			/* xorshift32: mostly tiny chunks, sometimes larger */
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			size_t max = (seed & 0x100) != 0 ? 64 : 4;
			n = ROOST_MIN(n, 1 + (seed % max));
		}
		feed_chunk(&d, data + pos, n);
		pos += n;
	}
	imap_parser_destroy(&d.p);
	return d.out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < SETTINGS_BYTES)
		return 0;

	struct imap_parser_settings set = {
		.max_line_length = 8 + data[0] % 120,
		.max_literal_size = 1 + data[1] % 200,
		.max_nonsync_literal_size = data[2] % 4 == 0 ? 0 : 1 + data[2] % 150,
		.max_depth = 1 + data[3] % 6,
		.max_args = 1 + data[4] % 40,
		.literal_memory_max = 1 + data[5] % 64,
	};
	data += SETTINGS_BYTES;
	size -= SETTINGS_BYTES;

	uint32_t seed = 2166136261u;
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 16777619u;
	if (seed == 0)
		seed = 1;

	/* the lowest free fd before and after: a leaked spool file shows */
	int fd_before = dup(0);
	close(fd_before);
	struct str whole = run(&set, data, size, 0);
	struct str split = run(&set, data, size, seed);
	int fd_after = dup(0);
	close(fd_after);
	if (fd_after != fd_before) {
		fprintf(stderr, "file descriptor leak\n");
		abort();
	}
	if (whole.len != split.len ||
	    memcmp(str_c(&whole), str_c(&split), whole.len) != 0) {
		fprintf(stderr, "whole and split transcripts differ:\n"
			"--- whole\n%s--- split\n%s", str_c(&whole),
			str_c(&split));
		abort();
	}
	str_free(&whole);
	str_free(&split);
	return 0;
}
