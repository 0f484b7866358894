/* fuzz-managesieve-parse.c: libFuzzer target for src/managesieve/parser.c.
 *
 * The input is a client's byte stream, fed twice: whole, and in chunks
 * whose sizes come from the input's first byte.  Both runs must give the
 * same commands and errors (the parser may not depend on how the bytes
 * arrive); every command must hold 1..MANAGESIEVE_MAX_ARGS items, each
 * NUL-terminated at its length, atoms and quoted strings within 1024
 * octets and without the octets their grammar excludes, literals within
 * the limit; an error must say why; a call must use every byte it is
 * given unless it returns a command or an error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "managesieve/parser.h"

#define MAX_LINE 8192
#define MAX_LITERAL 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_arg(const struct managesieve_arg *arg)
{
	if (arg->str[arg->len] != '\0')
		abort();
	if (arg->type == MANAGESIEVE_ARG_ATOM) {
		if (arg->len == 0 || arg->len > MANAGESIEVE_ATOM_MAX || arg->literal)
			abort();
		for (size_t i = 0; i < arg->len; i++) {
			unsigned char c = (unsigned char)arg->str[i];
			if (c <= ' ' || c >= 0x7f || strchr("(){\"\\", c) != NULL)
				abort();
		}
	} else if (arg->literal) {
		if (arg->len > MAX_LITERAL)
			abort();
	} else {
		if (arg->len > MANAGESIEVE_QUOTED_MAX ||
		    memchr(arg->str, '\0', arg->len) != NULL ||
		    memchr(arg->str, '\r', arg->len) != NULL ||
		    memchr(arg->str, '\n', arg->len) != NULL)
			abort();
	}
}

static void run(const uint8_t *data, size_t size, size_t chunk, struct str *out)
{
	struct managesieve_parser *p = managesieve_parser_create(MAX_LINE, MAX_LITERAL);
	size_t pos = 0;
	while (pos < size) {
		size_t n = ROOST_MIN(chunk, size - pos), used = SIZE_MAX;
		const struct managesieve_arg *args;
		size_t count;
		const char *error = NULL;
		int ret = managesieve_parser_read(p, data + pos, n, &used, &args, &count, &error);
		if (used > n || (ret == 0 && used != n))
			abort();
		pos += used;
		if (ret < 0) {
			if (error == NULL || error[0] == '\0')
				abort();
			str_printfa(out, "!%d %s\n", (int)managesieve_parser_error(p),
				    managesieve_parser_command_name(p));
		} else if (ret > 0) {
			if (count == 0 || count > MANAGESIEVE_MAX_ARGS)
				abort();
			for (size_t i = 0; i < count; i++) {
				check_arg(&args[i]);
				str_printfa(out, "%d%d%zu:", (int)args[i].type, (int)args[i].literal,
					    args[i].len);
				str_append_n(out, args[i].str, args[i].len);
			}
			str_append_c(out, '\n');
		} else if (ret != 0) {
			abort();
		}
	}
	str_printfa(out, "busy=%d", (int)managesieve_parser_is_busy(p));
	managesieve_parser_destroy(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t chunk = (size_t)(data[0] % 7) + 1;
	data++;
	size--;
	struct str whole = STR_INIT, pieces = STR_INIT;
	run(data, size, size == 0 ? 1 : size, &whole);
	run(data, size, chunk, &pieces);
	if (whole.len != pieces.len || memcmp(whole.data, pieces.data, whole.len) != 0)
		abort();
	str_free(&whole);
	str_free(&pieces);
	return 0;
}
