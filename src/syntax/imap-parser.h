/* imap-parser.h: incremental IMAP command parser.
 *
 * Turns the bytes a client sends into commands: a tag, a command name and a
 * tree of arguments (atoms, quoted strings, literals, parenthesised lists).
 * The parser is fed whatever arrived from the socket, split anywhere, and
 * never needs the whole command at once: literals larger than
 * literal_memory_max are written to an unlinked temporary file as they
 * arrive, and everything it keeps in memory is bounded by the limits in
 * struct imap_parser_settings.  It knows IMAP syntax only; it never knows
 * what a command means, which state the session is in or which
 * capabilities are enabled (ENABLE UTF8=ACCEPT, LITERAL+ vs LITERAL-):
 * the session sets the limits and the command layer checks the meaning.
 *
 * Typical session loop:
 *
 *	while (len > 0) {
 *		int ret = imap_parser_feed(p, data, len, &used);
 *		data += used; len -= used;
 *		if (ret == 1)
 *			run(imap_parser_command(p));       (then keep feeding)
 *		else if (ret == -1)
 *			answer "<tag> BAD ..." or "* BAD ...";
 *			if (imap_parser_must_close(p)) say BYE and close;
 *		else if (imap_parser_need_continuation(p))
 *			write "+ OK\r\n" (or reject, see imap_parser_reset());
 *	}
 *
 * Lenient where real clients are sloppy, strict where it matters: a bare LF
 * ends a line like CRLF; empty lines between commands are ignored; runs of
 * spaces between arguments and trailing spaces are accepted.  Atoms are
 * permissive like Dovecot's: see IMAP_ARG_ATOM. */
#ifndef ROOST_SYNTAX_IMAP_PARSER_H
#define ROOST_SYNTAX_IMAP_PARSER_H

#include "base/base.h"

struct pool;

/* Defaults for struct imap_parser_settings fields left at 0. */
#define IMAP_PARSER_DEFAULT_MAX_LINE_LENGTH (64 * 1024)
#define IMAP_PARSER_DEFAULT_MAX_LITERAL_SIZE (64 * 1024)
#define IMAP_PARSER_DEFAULT_MAX_DEPTH 32
#define IMAP_PARSER_DEFAULT_MAX_ARGS 10000
#define IMAP_PARSER_DEFAULT_LITERAL_MEMORY_MAX (64 * 1024)
#define IMAP_PARSER_DEFAULT_TEMP_DIR "/tmp"

struct imap_parser_settings {
	/* Bytes of command text a command may have, counting every byte
	 * except literal data and the CR/LF line terminators, over all the
	 * lines of one command (a command with literals has several lines).
	 * The parser never buffers more than this.  0 = default 64 KiB. */
	size_t max_line_length;
	/* Largest literal (of any kind) accepted; changeable at any time with
	 * imap_parser_set_max_literal_size() (small before login, the APPEND
	 * limit after).  0 = default 64 KiB. */
	uint64_t max_literal_size;
	/* Largest non-synchronising literal {n+} accepted, in addition to
	 * max_literal_size.  Set 4096 when advertising LITERAL- (the IMAP4rev2
	 * default, RFC 9051 section 4.3); 0 = no extra limit (LITERAL+). */
	uint64_t max_nonsync_literal_size;
	/* Deepest nesting of parenthesised lists: "((x))" has depth 2.
	 * 0 = default 32, far above what any command needs (SEARCH nests
	 * a few levels) and low enough to keep the parser's stack small. */
	unsigned int max_depth;
	/* Arguments a command may have, counting every atom, string, literal
	 * and list at any depth (a list counts 1 plus its children).  The tag
	 * and command name do not count.  0 = default 10000.  Each argument
	 * costs about 2 * sizeof(struct imap_arg) while parsing, so a parser
	 * for a connection that has not logged in can use a lower value. */
	unsigned int max_args;
	/* Bytes of literal data one command may keep in memory (summed over
	 * its literals).  A literal that does not fit in what is left goes to
	 * an unlinked temporary file instead.  0 = default 64 KiB. */
	uint64_t literal_memory_max;
	/* Directory for the temporary files (opened with O_TMPFILE, or
	 * mkstemp()+unlink() where the file system lacks it).  The string is
	 * copied.  NULL = "/tmp". */
	const char *temp_dir;
};

enum imap_arg_type {
	/* Terminates every argument array (top level and each list). */
	IMAP_ARG_EOL = 0,
	/* atom = 1*<any CHAR except SP, CTL, "(", ")", "{", DQUOTE>.  In
	 * FETCH and UID FETCH, the "[" after BODY, BODY.PEEK, BINARY,
	 * BINARY.PEEK or BINARY.SIZE continues the atom through its matching
	 * "]" even across spaces, parentheses and quotes:
	 * BODY.PEEK[HEADER.FIELDS (From To)]<0.100> is one atom.  Anywhere
	 * else "[" is an ordinary atom character (a[b, %[*).  \Seen, \*, %,
	 * *, 1:*,5, NIL and ] are atoms too.  8-bit bytes are not allowed in
	 * atoms.  `str` keeps the client's case. */
	IMAP_ARG_ATOM,
	/* "..." with \\ and \" resolved; may contain 8-bit bytes (UTF-8 is
	 * allowed by IMAP4rev2 / UTF8=ACCEPT; the command layer decides),
	 * never NUL, CR or LF. */
	IMAP_ARG_QUOTED,
	/* {n}, {n+}, ~{n} or ~{n+} whose data is in memory: `str` (len bytes
	 * plus a terminating NUL; the data itself may contain NULs). */
	IMAP_ARG_LITERAL,
	/* The same, but the data is in a temporary file: `size` bytes at
	 * `offset` in `fd`.  All spooled literals of one command share one fd
	 * (read them with pread()).  The parser closes the fd when the
	 * command's memory is released, unless imap_parser_take_literal_fd()
	 * was called. */
	IMAP_ARG_LITERAL_FILE,
	/* ( ... ): children in `list`, terminated by an IMAP_ARG_EOL entry. */
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type type;
	/* LITERAL, LITERAL_FILE: sent as literal8 "~{n}" (BINARY). */
	bool literal8;
	/* LITERAL, LITERAL_FILE: the data contains a NUL byte (which a plain
	 * literal must not, RFC 9051 CHAR8; the command decides). */
	bool has_nul;
	/* ATOM, QUOTED, LITERAL: NUL-terminated bytes, length `len`.
	 * NULL for the other types. */
	const char *str;
	size_t len;
	/* LITERAL_FILE: where the data is; fd is -1 for other types. */
	int fd;
	uint64_t offset;
	uint64_t size;
	/* LIST: the children (list_count of them before the EOL entry). */
	struct imap_arg *list;
	unsigned int list_count;
};

/* A parsed command.  Everything it points to (strings, arrays, the struct
 * itself) lives in a pool owned by the parser and stays valid until the
 * next call to imap_parser_feed(), imap_parser_reset() or
 * imap_parser_destroy() (imap_parser_read_line() does not touch it), or
 * for as long as the caller wants after imap_parser_take_command_pool(). */
struct imap_command {
	const char *tag;
	/* The command name as sent (case unchanged; the dispatcher folds). */
	const char *name;
	/* arg_count entries, then one IMAP_ARG_EOL. */
	struct imap_arg *args;
	unsigned int arg_count;
};

enum imap_parser_error {
	IMAP_PARSER_ERROR_NONE = 0,
	/* Not IMAP syntax: answer BAD. */
	IMAP_PARSER_ERROR_SYNTAX,
	/* The command text passed max_line_length: answer BAD (the rest of
	 * the command is skipped without being stored). */
	IMAP_PARSER_ERROR_LINE_TOO_LONG,
	/* Too many arguments or lists nested too deep: answer BAD [LIMIT]. */
	IMAP_PARSER_ERROR_LIMIT,
	/* A literal larger than the limits: answer "tag NO [TOOBIG]" (or BAD
	 * [TOOBIG], RFC 7888 section 5).  For a synchronising literal the
	 * client sends no data (it got no continuation) and the session goes
	 * on.  For a non-synchronising one imap_parser_must_close() is true:
	 * the client is already sending the data, so answer
	 * "* BYE [TOOBIG] ..." and close (RFC 7888 section 4, choice 2). */
	IMAP_PARSER_ERROR_TOOBIG,
	/* The server failed (temporary file could not be created or written):
	 * answer NO [SERVERBUG]; imap_parser_system_error() has the detail
	 * for the log. */
	IMAP_PARSER_ERROR_SERVER,
};

/* Creates a parser; `set` may be NULL for all defaults.  Fields at 0 get
 * the defaults above.  Destroy with imap_parser_destroy(). */
struct imap_parser *imap_parser_create(const struct imap_parser_settings *set);
/* Frees everything, closes any temporary file the parser still owns and
 * sets *parser to NULL.  NULL is allowed. */
void imap_parser_destroy(struct imap_parser **parser);

/* Changes max_literal_size (0 = default) for literals announced from now
 * on. */
void imap_parser_set_max_literal_size(struct imap_parser *p, uint64_t size);
/* Changes max_nonsync_literal_size (0 = no extra limit). */
void imap_parser_set_max_nonsync_literal_size(struct imap_parser *p,
					      uint64_t size);

/* Consumes input.  The first call after a command was returned releases
 * that command's memory (see struct imap_command).  Returns:
 *   1  a whole command was parsed, get it with imap_parser_command();
 *      *consumed_r says how far (the rest is the next command: feed it).
 *   0  more input is needed.  All input was consumed, except when
 *      imap_parser_need_continuation() is true: then the parser stopped
 *      just after the CRLF of a synchronising literal {n} and *consumed_r
 *      says where; the session sends "+ ..." and feeds the rest (a client
 *      must not have sent any; if it did, the data is simply parsed).
 *  -1  the command is invalid: imap_parser_error() says why.  *consumed_r
 *      covers the offending byte.  Unless imap_parser_must_close(), the
 *      parser is ready to continue: it skips the rest of the bad command
 *      (the rest of its line, and when that line ends with a
 *      non-synchronising literal {n+}, its n bytes and the next line, and
 *      so on) as it is fed, and then parses the next command.
 * After imap_parser_must_close() it returns -1 again, consuming nothing. */
int imap_parser_feed(struct imap_parser *p, const unsigned char *data,
		     size_t len, size_t *consumed_r);

/* The command after imap_parser_feed() returned 1 (else NULL). */
const struct imap_command *imap_parser_command(const struct imap_parser *p);

/* True when the last imap_parser_feed() returned 0 because it read the
 * announcement of a synchronising literal: the client waits for a
 * continuation request.  The session may instead reject the command (for
 * instance APPEND over quota, see imap_parser_literal_size()): answer
 * with the tag and call imap_parser_reset(). */
bool imap_parser_need_continuation(const struct imap_parser *p);
/* Size of the literal announced, valid while need_continuation. */
uint64_t imap_parser_literal_size(const struct imap_parser *p);
/* Tag and command name of the command being parsed, once they have been
 * read (else NULL); valid until the next feed/reset.  Lets the session
 * decide on a continuation before the literal arrives. */
const char *imap_parser_current_tag(const struct imap_parser *p);
const char *imap_parser_current_name(const struct imap_parser *p);

/* After -1: a client-facing message (no CRLF; valid until the next
 * feed/reset) and, in *code_r when not NULL, the kind of error. */
const char *imap_parser_error(const struct imap_parser *p,
			      enum imap_parser_error *code_r);
/* After -1: the tag of the bad command if it was read completely, else
 * NULL (answer "* BAD ..."). */
const char *imap_parser_error_tag(const struct imap_parser *p);
/* After IMAP_PARSER_ERROR_SERVER: a description for the log (strerror()
 * included), else NULL. */
const char *imap_parser_system_error(const struct imap_parser *p);
/* True after an error the protocol cannot recover from (a non-synchronising
 * literal over the limit): the session must send BYE and close. */
bool imap_parser_must_close(const struct imap_parser *p);

/* Forgets any partial command, pending skip or error (also the must-close
 * state), releases the last command's memory, and closes its temporary
 * file unless taken: the next byte fed starts a new command.  Used after
 * rejecting a synchronising literal and after STARTTLS. */
void imap_parser_reset(struct imap_parser *p);

/* Transfers the temporary file of the last returned command (shared by all
 * its IMAP_ARG_LITERAL_FILE arguments) to the caller, who closes it.
 * Returns the fd, or -1 if the command has none. */
int imap_parser_take_literal_fd(struct imap_parser *p);
/* Transfers the pool holding the last returned command (tag, name, args)
 * to the caller, who destroys it with pool_destroy(); the parser uses a new
 * pool from now on.  Lets a command live past the next feed (pipelining).
 * Only valid right after feed returned 1. */
struct pool *imap_parser_take_command_pool(struct imap_parser *p);

/* Reads one raw line (AUTHENTICATE responses, IDLE's "DONE").  Returns 1
 * with *line_r = the line without CRLF/LF, NUL-terminated, valid until the
 * next call to any parser function except imap_parser_command();
 * 0 when more input is needed (all consumed); -1 when the line is longer
 * than max_line_length or contains NUL (IMAP_PARSER_ERROR_LINE_TOO_LONG /
 * _SYNTAX): the rest of that line is then skipped by the next
 * imap_parser_read_line() or imap_parser_feed().  Must be called only
 * between commands (not after feed returned 0 mid-command).  Does not
 * release the last command (IDLE still needs its tag). */
int imap_parser_read_line(struct imap_parser *p, const unsigned char *data,
			  size_t len, size_t *consumed_r,
			  const char **line_r);

#endif
