/* parser.h: the ManageSieve command parser (RFC 5804 section 4).
 *
 * An incremental parser over the client's byte stream: it is handed
 * whatever bytes arrived and says how many it used.  A command is a line
 * of items separated by single spaces: atoms (command names, numbers,
 * "ACTIVE"), quoted strings (at most 1024 octets of UTF-8 between the
 * quotes) and literals ("{n+}" CRLF and n octets, or "{n}" CRLF: RFC 5804
 * has no continuation request, so both are read at once).  The same
 * grammar covers the client's SASL responses, a line holding one string.
 *
 * A literal over the size limit is never kept: after the error its bytes
 * are read and dropped, as is the rest of a command with any error, so
 * the next command starts where the client thinks it does.  Nothing here
 * touches a socket or knows what the commands mean. */
#ifndef ROOST_MANAGESIEVE_PARSER_H
#define ROOST_MANAGESIEVE_PARSER_H

#include "base/base.h"

/* RFC 5804 4: atom = 1*1024ATOM-CHAR; quoted = DQUOTE *1024QUOTED-CHAR DQUOTE */
#define MANAGESIEVE_ATOM_MAX 1024
#define MANAGESIEVE_QUOTED_MAX 1024
/* items of one command (PUTSCRIPT has 3 after its name) */
#define MANAGESIEVE_MAX_ARGS 8

enum managesieve_arg_type {
	MANAGESIEVE_ARG_ATOM,
	MANAGESIEVE_ARG_STRING,	/* quoted or literal */
};

struct managesieve_arg {
	enum managesieve_arg_type type;
	/* the value, NUL-terminated (a literal may hold NULs too: use len) */
	const char *str;
	size_t len;
	bool literal;
};

enum managesieve_parse_error {
	MANAGESIEVE_PARSE_SYNTAX,
	MANAGESIEVE_PARSE_LINE_TOO_LONG,	/* over max_line_length */
	MANAGESIEVE_PARSE_LITERAL_TOO_BIG,	/* over max_literal_size */
};

struct managesieve_parser;

/* A parser whose command lines (without their literals) may be at most
 * `max_line_length` octets and whose literals `max_literal_size`.  Free
 * with managesieve_parser_destroy(), which sets *parser to NULL. */
struct managesieve_parser *managesieve_parser_create(size_t max_line_length,
						     uint64_t max_literal_size);
void managesieve_parser_destroy(struct managesieve_parser **parser);

/* Changes the literal limit for the commands that start after this call
 * (a bigger one once the client has logged in). */
void managesieve_parser_set_max_literal_size(struct managesieve_parser *parser,
					     uint64_t max_literal_size);
/* Forgets a partly read command, and a command being skipped (STARTTLS:
 * plaintext sent before the handshake is dropped). */
void managesieve_parser_reset(struct managesieve_parser *parser);

/* Reads from data[0..len).  *used_r says how many bytes it took; the
 * caller drops them and calls again with what follows.  Returns
 *   1   a command is complete: *args_r (*count_r >= 1 items) are valid
 *       until the next call;
 *   0   every byte was used and the command is not complete;
 *  -1   the command is invalid: *error_r is a static message for the
 *       client, managesieve_parser_error() says which kind; the rest of
 *       the command (a literal's announced octets included, never kept)
 *       is dropped by the following calls, which then go on with the
 *       next command. */
int managesieve_parser_read(struct managesieve_parser *parser, const unsigned char *data,
			    size_t len, size_t *used_r, const struct managesieve_arg **args_r,
			    size_t *count_r, const char **error_r);

/* After -1: what went wrong. */
enum managesieve_parse_error managesieve_parser_error(const struct managesieve_parser *parser);
/* After -1: the first item of the failed command when it was an atom (the
 * command's name, e.g. to answer a too big PUTSCRIPT with QUOTA/MAXSIZE),
 * else "".  Valid until the next call. */
const char *managesieve_parser_command_name(const struct managesieve_parser *parser);
/* Whether the parser is in the middle of a command (bytes of it read, or
 * a failed command's rest being dropped). */
bool managesieve_parser_is_busy(const struct managesieve_parser *parser);

#endif
