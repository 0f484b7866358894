/* fuzz-lmtp-parser.c: libFuzzer target for src/lmtp/parser.c.
 *
 * The input is a client's byte stream.  Each line goes through the command
 * parser, whose results must be well-formed (terminated strings within
 * their bounds, a reply line with a 3-digit code and an enhanced code on
 * error); recipients are split at their detail.  The whole input is also
 * run through the DATA dot-unstuffer twice, fed whole and in chunks whose
 * sizes come from the input, and the two outputs must be identical. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/str.h"
#include "lmtp/parser.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_string(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

static void check_line(const char *line, size_t len)
{
	struct lmtp_command cmd;
	const char *error = NULL;
	int ret = lmtp_parser_parse(line, len, &cmd, &error);
	if (ret == -1) {
		/* "NNN X.Y.Z text" */
		if (error == NULL || strlen(error) < 10 || error[3] != ' ' ||
		    (error[0] != '5' && error[0] != '4') || error[4] != error[0] ||
		    error[5] != '.')
			abort();
		return;
	}
	if (ret != 1)
		abort();
	check_string(cmd.arg, sizeof(cmd.arg));
	check_string(cmd.address, sizeof(cmd.address));
	check_string(cmd.local, sizeof(cmd.local));
	check_string(cmd.domain, sizeof(cmd.domain));
	if (cmd.verb == LMTP_CMD_RCPT && cmd.local[0] == '\0')
		abort();
	if (cmd.verb == LMTP_CMD_RCPT || cmd.verb == LMTP_CMD_MAIL) {
		char user[LMTP_ADDRESS_MAX + 1], detail[LMTP_ADDRESS_MAX + 1];
		lmtp_parser_split_detail(cmd.local, "+-", user, detail);
		if (strlen(user) > strlen(cmd.local))
			abort();
		lmtp_parser_split_detail(cmd.local, "", user, detail);
		if (strcmp(user, cmd.local) != 0 || detail[0] != '\0')
			abort();
	}
}

static struct str unstuff(const uint8_t *data, size_t size, uint32_t seed, size_t *used_r)
{
	struct str out = STR_INIT;
	enum lmtp_data_state state = LMTP_DATA_LINE_START;
	unsigned char buf[300];
	size_t pos = 0;
	str_append(&out, "");
	while (pos < size) {
		size_t n = ROOST_MIN(size - pos, sizeof(buf) - 1);
		if (seed != 0) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			n = ROOST_MIN(n, 1 + seed % 7);
		}
		size_t out_len, consumed;
		int ret = lmtp_parser_data_unstuff(&state, data + pos, n, buf, &out_len,
						   &consumed);
		if (consumed > n || out_len > n + 1)
			abort();
		str_append_n(&out, buf, out_len);
		pos += consumed;
		if (ret == 1) {
			if (state != LMTP_DATA_END)
				abort();
			break;
		}
		if (consumed != n)
			abort();
	}
	*used_r = pos;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl == NULL ? (size_t)(end - p) : (size_t)(nl - p);
		check_line(p, len);
		p += len + (nl != NULL ? 1 : 0);
	}

	uint32_t seed = 2166136261u;
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 16777619u;
	if (seed == 0)
		seed = 1;
	size_t used_whole, used_split;
	struct str whole = unstuff(data, size, 0, &used_whole);
	struct str split = unstuff(data, size, seed, &used_split);
	if (used_whole != used_split || whole.len != split.len ||
	    memcmp(str_c(&whole), str_c(&split), whole.len) != 0) {
		fprintf(stderr, "whole and split unstuffing differ\n");
		abort();
	}
	str_free(&whole);
	str_free(&split);
	return 0;
}
