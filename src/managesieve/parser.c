/* parser.c: the ManageSieve command parser, a byte-at-a-time state
 * machine (see parser.h for what it accepts).
 *
 *   ITEM --atom char--> ATOM --SP--> ITEM        ATOM/AFTER --CRLF--> done
 *        --DQUOTE--> QUOTED (ESC) --DQUOTE--> AFTER --SP--> ITEM
 *        --"{"--> LIT_LEN --"+"--> LIT_PLUS --"}"--> LIT_CR --CRLF--> LIT_DATA
 *                                              (n octets) --> AFTER
 *   any error --> SKIP_LINE (--"{n}" CRLF--> SKIP_LIT --n octets--> SKIP_LINE)
 *                 --LF--> ITEM of the next command
 *
 * The parser never keeps more than one command: the line's items (at most
 * max_line_length octets) and its literals (each at most
 * max_literal_size).  It must never read past the command it returns. */
#include "managesieve/parser.h"
#include "base/str.h"
#include "base/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAIL_MAX 24
#define NAME_MAX_LEN 32

enum parser_state {
	S_ITEM,		/* an item starts here */
	S_ATOM,
	S_QUOTED,
	S_QUOTED_ESC,
	S_LIT_LEN,	/* the digits of "{n" */
	S_LIT_PLUS,	/* after "{n+": "}" */
	S_LIT_CR,	/* after "}": CRLF */
	S_LIT_LF,
	S_LIT_DATA,
	S_AFTER,	/* after an item: SP or CRLF */
	S_CR,		/* after CR: LF */
	S_SKIP_LINE,
	S_SKIP_LIT,
};

struct managesieve_parser {
	size_t max_line_length;
	uint64_t max_literal_size, next_max_literal_size;

	enum parser_state state;
	bool complete;		/* the last call returned 1 */
	bool in_command;	/* a byte of the command was read */
	size_t line_len;	/* octets outside literals */

	/* the items: their values one after the other in buf, each
	 * NUL-terminated */
	struct str buf;
	struct {
		enum managesieve_arg_type type;
		size_t offset, len;
		bool literal;
	} items[MANAGESIEVE_MAX_ARGS];
	size_t count;
	struct managesieve_arg args[MANAGESIEVE_MAX_ARGS];
	size_t item_len;	/* octets of the item being read */
	uint64_t literal_len, literal_left;
	unsigned int literal_digits;

	enum managesieve_parse_error error;
	char name[NAME_MAX_LEN + 1];
	/* the last octets of a line being dropped, to find a literal's
	 * announcement at its end */
	char tail[TAIL_MAX];
	size_t tail_len;
};

struct managesieve_parser *managesieve_parser_create(size_t max_line_length,
						     uint64_t max_literal_size)
{
	struct managesieve_parser *p = xcalloc(1, sizeof(*p));
	p->max_line_length = max_line_length;
	p->max_literal_size = p->next_max_literal_size = max_literal_size;
	p->state = S_ITEM;
	return p;
}

void managesieve_parser_destroy(struct managesieve_parser **_p)
{
	struct managesieve_parser *p = *_p;
	if (p == NULL)
		return;
	*_p = NULL;
	str_free(&p->buf);
	free(p);
}

void managesieve_parser_set_max_literal_size(struct managesieve_parser *p,
					     uint64_t max_literal_size)
{
	p->next_max_literal_size = max_literal_size;
	if (!p->in_command)
		p->max_literal_size = max_literal_size;
}

/* The state of a command not yet begun. */
static void command_reset(struct managesieve_parser *p)
{
	p->state = S_ITEM;
	p->complete = false;
	p->in_command = false;
	p->line_len = 0;
	p->count = 0;
	p->item_len = 0;
	str_truncate(&p->buf, 0);
	p->max_literal_size = p->next_max_literal_size;
}

void managesieve_parser_reset(struct managesieve_parser *p)
{
	command_reset(p);
	p->name[0] = '\0';
}

enum managesieve_parse_error managesieve_parser_error(const struct managesieve_parser *p)
{
	return p->error;
}

const char *managesieve_parser_command_name(const struct managesieve_parser *p)
{
	return p->name;
}

bool managesieve_parser_is_busy(const struct managesieve_parser *p)
{
	return p->in_command && !p->complete;
}

static bool is_utf8(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* RFC 5804 4: ATOM-CHAR = "!" / %x23-27 / %x2A-5B / %x5D-7A / %x7C-7E */
static bool is_atom_char(unsigned char c)
{
	return c == '!' || (c >= 0x23 && c <= 0x27) || (c >= 0x2a && c <= 0x5b) ||
		(c >= 0x5d && c <= 0x7a) || (c >= 0x7c && c <= 0x7e);
}

static bool item_begin(struct managesieve_parser *p, enum managesieve_arg_type type,
		       bool literal)
{
	if (p->count == MANAGESIEVE_MAX_ARGS)
		return false;
	p->items[p->count].type = type;
	p->items[p->count].offset = p->buf.len;
	p->items[p->count].literal = literal;
	p->item_len = 0;
	return true;
}

static void item_end(struct managesieve_parser *p)
{
	size_t i = p->count++;
	p->items[i].len = p->buf.len - p->items[i].offset;
	str_append_c(&p->buf, '\0');
	if (i == 0 && p->items[0].type == MANAGESIEVE_ARG_ATOM) {
		size_t n = ROOST_MIN(p->items[0].len, (size_t)NAME_MAX_LEN);
		memcpy(p->name, p->buf.data + p->items[0].offset, n);
		p->name[n] = '\0';
	}
}

/* Fails the command at the current octet `c`: the rest of it is dropped,
 * unless `c` ended the line already. */
static int fail(struct managesieve_parser *p, unsigned char c, enum managesieve_parse_error error,
		const char *msg, const char **error_r)
{
	p->error = error;
	*error_r = msg;
	bool line_ended = c == '\n' && p->state != S_LIT_DATA;
	command_reset(p);
	if (!line_ended) {
		p->state = S_SKIP_LINE;
		p->in_command = true;
		p->tail_len = 0;
	}
	return -1;
}

/* At the LF ending a line being dropped: does it end with "{n}" or
 * "{n+}" (CR before the LF already removed)?  Then those octets follow. */
static bool tail_literal(struct managesieve_parser *p, uint64_t *len_r)
{
	size_t len = p->tail_len;
	if (len > 0 && p->tail[len - 1] == '\r')
		len--;
	if (len < 3 || p->tail[len - 1] != '}')
		return false;
	len--;
	if (p->tail[len - 1] == '+')
		len--;
	size_t end = len;
	while (len > 0 && p->tail[len - 1] >= '0' && p->tail[len - 1] <= '9')
		len--;
	if (len == 0 || p->tail[len - 1] != '{' || len == end || end - len > 19)
		return false;
	uint64_t n = 0;
	for (size_t i = len; i < end; i++)
		n = n * 10 + (uint64_t)(p->tail[i] - '0');
	*len_r = n;
	return true;
}

static void tail_add(struct managesieve_parser *p, char c)
{
	if (p->tail_len == TAIL_MAX) {
		memmove(p->tail, p->tail + 1, TAIL_MAX - 1);
		p->tail_len--;
	}
	p->tail[p->tail_len++] = c;
}

/* The command is complete: fills the args. */
static int complete(struct managesieve_parser *p, const struct managesieve_arg **args_r,
		    size_t *count_r)
{
	for (size_t i = 0; i < p->count; i++) {
		p->args[i].type = p->items[i].type;
		p->args[i].str = p->buf.data + p->items[i].offset;
		p->args[i].len = p->items[i].len;
		p->args[i].literal = p->items[i].literal;
	}
	*args_r = p->args;
	*count_r = p->count;
	p->complete = true;
	return 1;
}

int managesieve_parser_read(struct managesieve_parser *p, const unsigned char *data,
			    size_t len, size_t *used_r, const struct managesieve_arg **args_r,
			    size_t *count_r, const char **error_r)
{
	size_t i = 0;

	if (p->complete)
		command_reset(p);
	while (i < len) {
		unsigned char c = data[i];

		if (p->state == S_LIT_DATA || p->state == S_SKIP_LIT) {
			/* literal octets, taken in one piece */
			size_t n = (size_t)ROOST_MIN((uint64_t)(len - i), p->literal_left);
			if (p->state == S_LIT_DATA)
				str_append_n(&p->buf, data + i, n);
			i += n;
			p->literal_left -= n;
			if (p->literal_left == 0) {
				if (p->state == S_LIT_DATA) {
					item_end(p);
					p->state = S_AFTER;
				} else {
					p->state = S_SKIP_LINE;
					p->tail_len = 0;
				}
			}
			continue;
		}
		i++;
		if (p->state == S_SKIP_LINE) {
			if (c != '\n') {
				tail_add(p, (char)c);
				continue;
			}
			uint64_t n;
			if (tail_literal(p, &n) && n > 0) {
				p->state = S_SKIP_LIT;
				p->literal_left = n;
			} else {
				command_reset(p);
			}
			p->tail_len = 0;
			continue;
		}
		if (!p->in_command) {
			p->in_command = true;
			p->name[0] = '\0';
		}
		if (++p->line_len > p->max_line_length) {
			*used_r = i;
			return fail(p, c, MANAGESIEVE_PARSE_LINE_TOO_LONG, "Line too long", error_r);
		}
		switch (p->state) {
		case S_ITEM:
			if (c == '"') {
				if (!item_begin(p, MANAGESIEVE_ARG_STRING, false))
					goto too_many;
				p->state = S_QUOTED;
			} else if (c == '{') {
				if (!item_begin(p, MANAGESIEVE_ARG_STRING, true))
					goto too_many;
				p->literal_len = 0;
				p->literal_digits = 0;
				p->state = S_LIT_LEN;
			} else if (is_atom_char(c)) {
				if (!item_begin(p, MANAGESIEVE_ARG_ATOM, false))
					goto too_many;
				str_append_c(&p->buf, (char)c);
				p->item_len = 1;
				p->state = S_ATOM;
			} else if ((c == '\r' || c == '\n') && p->count == 0) {
				if (c == '\r') {
					p->state = S_CR;
					break;
				}
				*used_r = i;
				return fail(p, c, MANAGESIEVE_PARSE_SYNTAX, "Empty command", error_r);
			} else {
				*used_r = i;
				return fail(p, c, MANAGESIEVE_PARSE_SYNTAX,
					    "Expected an atom or a string", error_r);
			}
			break;
		case S_ATOM:
			if (is_atom_char(c)) {
				if (++p->item_len > MANAGESIEVE_ATOM_MAX) {
					*used_r = i;
					return fail(p, c, MANAGESIEVE_PARSE_SYNTAX, "Atom too long",
						    error_r);
				}
				str_append_c(&p->buf, (char)c);
				break;
			}
			item_end(p);
			p->state = S_AFTER;
			/* fall through: c ends the atom */
			/* FALLTHROUGH */
		case S_AFTER:
			if (c == ' ')
				p->state = S_ITEM;
			else if (c == '\r')
				p->state = S_CR;
			else if (c == '\n') {
				*used_r = i;
				return complete(p, args_r, count_r);
			} else {
				*used_r = i;
				return fail(p, c, MANAGESIEVE_PARSE_SYNTAX,
					    "Expected a space or the end of the line", error_r);
			}
			break;
		case S_QUOTED:
			if (c == '"') {
				size_t off = p->items[p->count].offset;
				if (p->buf.len > off && !is_utf8(p->buf.data + off, p->buf.len - off)) {
					*used_r = i;
					return fail(p, c, MANAGESIEVE_PARSE_SYNTAX,
						    "Quoted string is not UTF-8", error_r);
				}
				item_end(p);
				p->state = S_AFTER;
				break;
			}
			if (c == '\\') {
				p->state = S_QUOTED_ESC;
				break;
			}
			if (c == '\0' || c == '\r' || c == '\n') {
				*used_r = i;
				return fail(p, c, MANAGESIEVE_PARSE_SYNTAX,
					    "Invalid character in quoted string", error_r);
			}
			goto quoted_char;
		case S_QUOTED_ESC:
			/* QUOTED-CHAR = SAFE-UTF8-CHAR / "\" QUOTED-SPECIALS */
			if (c != '"' && c != '\\') {
				*used_r = i;
				return fail(p, c, MANAGESIEVE_PARSE_SYNTAX,
					    "Invalid escape in quoted string", error_r);
			}
			p->state = S_QUOTED;
		quoted_char:
			if (++p->item_len > MANAGESIEVE_QUOTED_MAX) {
				*used_r = i;
				return fail(p, c, MANAGESIEVE_PARSE_SYNTAX,
					    "Quoted string too long", error_r);
			}
			str_append_c(&p->buf, (char)c);
			break;
		case S_LIT_LEN:
			if (c >= '0' && c <= '9' && p->literal_digits < 19) {
				p->literal_len = p->literal_len * 10 + (uint64_t)(c - '0');
				p->literal_digits++;
				break;
			}
			if (p->literal_digits == 0 || (c != '+' && c != '}')) {
				*used_r = i;
				return fail(p, c, MANAGESIEVE_PARSE_SYNTAX,
					    "Invalid literal size", error_r);
			}
			if (c == '+') {
				p->state = S_LIT_PLUS;
				break;
			}
			goto literal_close;
		case S_LIT_PLUS:
			if (c != '}') {
				*used_r = i;
				return fail(p, c, MANAGESIEVE_PARSE_SYNTAX,
					    "Invalid literal size", error_r);
			}
		literal_close:
			/* number = a 32-bit unsigned number (RFC 5804 4) */
			if (p->literal_len > p->max_literal_size ||
			    p->literal_len > UINT32_MAX) {
				uint64_t n = p->literal_len;
				*used_r = i;
				fail(p, c, MANAGESIEVE_PARSE_LITERAL_TOO_BIG, "Literal too big",
				     error_r);
				/* its octets follow the CRLF: drop them */
				char num[32];
				int nlen = snprintf(num, sizeof(num), "{%llu}",
						    (unsigned long long)n);
				for (int k = 0; k < nlen; k++)
					tail_add(p, num[k]);
				return -1;
			}
			p->state = S_LIT_CR;
			break;
		case S_LIT_CR:
			if (c == '\r') {
				p->state = S_LIT_LF;
				break;
			}
			/* FALLTHROUGH */
		case S_LIT_LF:
			if (c != '\n') {
				*used_r = i;
				return fail(p, c, MANAGESIEVE_PARSE_SYNTAX,
					    "Expected CRLF after a literal's size", error_r);
			}
			if (p->literal_len == 0) {
				item_end(p);
				p->state = S_AFTER;
			} else {
				p->literal_left = p->literal_len;
				p->state = S_LIT_DATA;
			}
			break;
		case S_CR:
			if (c != '\n') {
				*used_r = i;
				return fail(p, c, MANAGESIEVE_PARSE_SYNTAX, "Expected LF after CR",
					    error_r);
			}
			*used_r = i;
			if (p->count == 0)
				return fail(p, c, MANAGESIEVE_PARSE_SYNTAX, "Empty command", error_r);
			return complete(p, args_r, count_r);
		case S_LIT_DATA:
		case S_SKIP_LINE:
		case S_SKIP_LIT:
			i_panic("managesieve parser: state %d handled above", (int)p->state);
		}
		continue;
	too_many:
		*used_r = i;
		return fail(p, c, MANAGESIEVE_PARSE_SYNTAX, "Too many arguments", error_r);
	}
	*used_r = i;
	return 0;
}
