/* parser.h: the LMTP command-line parser and the DATA dot-unstuffer.
 *
 * Pure functions over bytes: no sockets, no store, no allocation, so that
 * the fuzzer and the unit tests drive them directly.  The session
 * (lmtp/session.c) splits input into lines, hands each line here and acts
 * on the parsed command. */
#ifndef ROOST_LMTP_PARSER_H
#define ROOST_LMTP_PARSER_H

#include "base/base.h"

/* RFC 5321 4.5.3.1.3: a path is at most 256 octets. */
#define LMTP_ADDRESS_MAX 256

enum lmtp_verb {
	LMTP_CMD_LHLO,
	LMTP_CMD_HELO,		/* SMTP only: refused in LMTP */
	LMTP_CMD_EHLO,		/* SMTP only: refused in LMTP */
	LMTP_CMD_MAIL,
	LMTP_CMD_RCPT,
	LMTP_CMD_DATA,
	LMTP_CMD_BDAT,
	LMTP_CMD_RSET,
	LMTP_CMD_NOOP,
	LMTP_CMD_QUIT,
	LMTP_CMD_VRFY,
	LMTP_CMD_EXPN,
	LMTP_CMD_HELP,
};

enum lmtp_body { LMTP_BODY_NONE, LMTP_BODY_7BIT, LMTP_BODY_8BITMIME };

/* A parsed command.  Every string is a NUL-terminated copy inside the
 * struct (no pointers into the line). */
struct lmtp_command {
	enum lmtp_verb verb;
	/* LHLO's domain, VRFY/EXPN/HELP/NOOP's argument ("" if none) */
	char arg[LMTP_ADDRESS_MAX + 1];
	/* MAIL FROM / RCPT TO: the mailbox as the client wrote it between
	 * the brackets, source route removed ("" for the null path <>),
	 * and its local part (unquoted) and domain ("" if none). */
	char address[LMTP_ADDRESS_MAX + 1];
	char local[LMTP_ADDRESS_MAX + 1];
	char domain[LMTP_ADDRESS_MAX + 1];
	/* MAIL parameters (RFC 1870 SIZE, RFC 6152 BODY, RFC 6531) */
	bool has_size;
	uint64_t size;
	enum lmtp_body body;
	bool smtputf8;
	/* BDAT (RFC 3030) */
	uint64_t chunk_size;
	bool last;
};

/* Parses one command line (without its CRLF; `len` bytes, which may hold
 * anything, NULs included).  Returns 1 with *cmd_r filled, or -1 with
 * *error_r set to a complete static reply line without CRLF, code and
 * enhanced code included ("501 5.5.4 Syntax: MAIL FROM:<address>"): 500
 * for unknown commands and bad bytes, 501 for bad arguments, 555 for
 * unsupported MAIL/RCPT parameters. */
int lmtp_parser_parse(const char *line, size_t len, struct lmtp_command *cmd_r,
		      const char **error_r);

/* Splits a recipient's local part at the first character that is in
 * `delimiters` (recipient_delimiter; "" = none): "alice+lists" with "+"
 * gives user "alice" and detail "lists".  Without a delimiter the user is
 * the whole local part and the detail "".  user_r and detail_r must have
 * room for LMTP_ADDRESS_MAX + 1 bytes. */
void lmtp_parser_split_detail(const char *local, const char *delimiters,
			      char *user_r, char *detail_r);

/* ---- DATA: dot-unstuffing (RFC 5321 4.5.2) ---- */

/* Where the unstuffer is inside the data; LMTP_DATA_LINE_START initially
 * (right after the 354 reply). */
enum lmtp_data_state {
	LMTP_DATA_LINE_START,
	LMTP_DATA_TEXT,
	LMTP_DATA_CR,
	LMTP_DATA_DOT,
	LMTP_DATA_DOT_CR,
	LMTP_DATA_END,
};

/* Unstuffs `len` input bytes: the message bytes go to out (which must have
 * room for len + 1 bytes; *out_len_r says how many), a leading dot of each
 * line is removed, and the CRLF "." CRLF terminator ends the data (its
 * first CRLF belongs to the message).  *consumed_r is how many input
 * bytes were used: all of them, or fewer when the terminator came first
 * (the rest is the next command).  Returns 1 at the terminator, 0 when
 * more data is needed. */
int lmtp_parser_data_unstuff(enum lmtp_data_state *state, const unsigned char *in,
			     size_t len, unsigned char *out, size_t *out_len_r,
			     size_t *consumed_r);

#endif
