/* imap-parser.c: incremental IMAP command parser.
 *
 * An explicit state machine in the style of nginx's mail parser: every byte
 * moves `state`, so input can be split anywhere and nothing is read twice.
 * Memory is bounded by the settings: tokens are copied into the command's
 * pool only up to max_line_length bytes of command text, the argument stack
 * only up to max_args entries, in-memory literal data only up to
 * literal_memory_max bytes (larger literals go to an unlinked temporary
 * file).  This file must never buffer input beyond those limits, never
 * interpret a command and never write to the client.
 *
 * After an error the rest of the bad command is skipped by a small
 * recogniser (skip_line_byte()) that only has to notice a trailing
 * non-synchronising literal announcement, whose data it then skips too. */
#include "syntax/imap-parser.h"

#include "base/pool.h"
#include "base/str.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* number64 = 1*DIGIT ; 0 <= n <= 9,223,372,036,854,775,807 */
#define NUMBER64_MAX ((uint64_t)INT64_MAX)

enum parser_state {
	STATE_START,		/* before a command: tag or an empty line */
	STATE_START_CR,		/* CR of an empty line */
	STATE_TAG,
	STATE_NAME_START,	/* after the tag's SP */
	STATE_NAME,
	STATE_ARG_START,	/* after SP or "(": argument, ")" or end */
	STATE_ARG_END,		/* after an argument: SP, ")" or end */
	STATE_ATOM,
	STATE_QUOTED,
	STATE_QUOTED_ESC,
	STATE_TILDE,		/* "~" at an argument's start */
	STATE_LITERAL_SIZE,	/* after "{": digits */
	STATE_LITERAL_PLUS,	/* after "{n+": "}" */
	STATE_LITERAL_EOL,	/* after "}": CRLF */
	STATE_LITERAL_LF,	/* after "}" CR: LF */
	STATE_LITERAL_DATA,
	STATE_EOL_LF,		/* CR that ends the command: LF */
	STATE_SKIP_LINE,	/* error recovery: up to the end of the line */
	STATE_SKIP_LITERAL,	/* error recovery: a {n+} literal's data */
	STATE_FATAL,		/* must close */
};

/* What the skipped line ends with, as far as literals are concerned. */
enum skip_literal_state {
	SKIP_LIT_NONE,
	SKIP_LIT_OPEN,		/* "{" */
	SKIP_LIT_DIGITS,	/* "{12" */
	SKIP_LIT_PLUS,		/* "{12+" */
	SKIP_LIT_CLOSE,		/* "{12+}" */
	SKIP_LIT_CLOSE_CR,	/* "{12+}" CR */
};

struct imap_parser {
	struct imap_parser_settings set;
	char *temp_dir;
	enum parser_state state;

	/* The current (or last returned) command.  NULL until needed. */
	struct pool *pool;
	const char *tag, *name;
	struct imap_command *cmd;
	/* feed() returned 1 or -1: release the command on the next feed. */
	bool release_pending;
	bool command_ready;

	/* The token being read (tag, name, atom, quoted string). */
	struct str token;
	/* Bytes of command text so far (see max_line_length). */
	size_t line_len;
	/* Arguments of the open lists, outermost first; list_start[d] is the
	 * stack index of the first child of the list at depth d. */
	struct imap_arg *stack;
	size_t stack_count, stack_cap;
	unsigned int *list_start;
	unsigned int depth;
	unsigned int arg_count;
	size_t bracket_depth;

	/* The literal being announced or read. */
	uint64_t lit_size, lit_left;
	unsigned int lit_digits;
	bool lit_overflow, lit_nonsync, lit_literal8;
	char *lit_buf;		/* in-memory data, NULL when spooled */
	uint64_t lit_mem_used;	/* in-memory literal bytes of this command */
	int spool_fd;
	uint64_t spool_size;
	bool need_continuation;

	/* Error recovery. */
	enum skip_literal_state skip_lit;
	uint64_t skip_num;
	bool skip_overflow;
	bool skip_literals;
	uint64_t skip_left;

	enum imap_parser_error error;
	const char *error_msg;
	const char *error_tag;
	char *system_error;
	bool fatal;

	/* imap_parser_read_line() */
	struct str line;
	bool line_cr, line_ready;
};

/* CTL = %x00-1F / %x7F */
static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* ATOM-CHAR = <any CHAR except atom-specials>
 * atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards /
 *                 quoted-specials / resp-specials */
static bool is_atom_char(unsigned char c)
{
	if (c >= 0x80 || is_ctl(c))
		return false;
	return strchr("(){ %*\"\\]", c) == NULL;
}

/* tag = 1*<any ASTRING-CHAR except "+">
 * ASTRING-CHAR = ATOM-CHAR / resp-specials */
static bool is_tag_char(unsigned char c)
{
	return c != '+' && (is_atom_char(c) || c == ']');
}

/* The permissive atom of an argument (see IMAP_ARG_ATOM):
 * <any CHAR except SP, CTL, "(", ")", "{", DQUOTE> */
static bool is_arg_atom_char(unsigned char c)
{
	if (c >= 0x80 || is_ctl(c))
		return false;
	return strchr("(){ \"", c) == NULL;
}

static struct pool *parser_pool(struct imap_parser *p)
{
	if (p->pool == NULL)
		p->pool = pool_create(1024);
	return p->pool;
}

static const char *token_dup(struct imap_parser *p)
{
	return p_strndup(parser_pool(p), str_c(&p->token), p->token.len);
}

static void spool_close(struct imap_parser *p)
{
	if (p->spool_fd != -1) {
		close(p->spool_fd);
		p->spool_fd = -1;
	}
	p->spool_size = 0;
}

/* Forgets the current or last command: its memory, temporary file and
 * counters.  Skip state and fatal state are kept. */
static void command_release(struct imap_parser *p)
{
	pool_destroy(&p->pool);
	spool_close(p);
	p->tag = p->name = NULL;
	p->cmd = NULL;
	p->command_ready = false;
	p->release_pending = false;
	p->line_len = 0;
	p->stack_count = 0;
	p->depth = 0;
	p->arg_count = 0;
	p->bracket_depth = 0;
	p->lit_mem_used = 0;
	p->lit_buf = NULL;
	p->error = IMAP_PARSER_ERROR_NONE;
	p->error_msg = NULL;
	p->error_tag = NULL;
	free(p->system_error);
	p->system_error = NULL;
	str_truncate(&p->token, 0);
	/* an idle connection keeps only small buffers */
	if (p->token.cap > 4096)
		str_free(&p->token);
	if (p->stack_cap > 256) {
		free(p->stack);
		p->stack = NULL;
		p->stack_cap = 0;
	}
}

struct imap_parser *imap_parser_create(const struct imap_parser_settings *set)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));

	if (set != NULL)
		p->set = *set;
	if (p->set.max_line_length == 0)
		p->set.max_line_length = IMAP_PARSER_DEFAULT_MAX_LINE_LENGTH;
	if (p->set.max_literal_size == 0)
		p->set.max_literal_size = IMAP_PARSER_DEFAULT_MAX_LITERAL_SIZE;
	if (p->set.max_depth == 0)
		p->set.max_depth = IMAP_PARSER_DEFAULT_MAX_DEPTH;
	if (p->set.max_args == 0)
		p->set.max_args = IMAP_PARSER_DEFAULT_MAX_ARGS;
	if (p->set.literal_memory_max == 0)
		p->set.literal_memory_max = IMAP_PARSER_DEFAULT_LITERAL_MEMORY_MAX;
	p->temp_dir = xstrdup(p->set.temp_dir != NULL ? p->set.temp_dir :
			      IMAP_PARSER_DEFAULT_TEMP_DIR);
	p->set.temp_dir = p->temp_dir;
	p->list_start = xcalloc(p->set.max_depth + 1, sizeof(*p->list_start));
	p->spool_fd = -1;
	p->state = STATE_START;
	return p;
}

void imap_parser_destroy(struct imap_parser **_p)
{
	struct imap_parser *p = *_p;

	if (p == NULL)
		return;
	*_p = NULL;
	command_release(p);
	str_free(&p->token);
	str_free(&p->line);
	free(p->stack);
	free(p->list_start);
	free(p->temp_dir);
	free(p);
}

void imap_parser_set_max_literal_size(struct imap_parser *p, uint64_t size)
{
	p->set.max_literal_size = size != 0 ? size :
		IMAP_PARSER_DEFAULT_MAX_LITERAL_SIZE;
}

void imap_parser_set_max_nonsync_literal_size(struct imap_parser *p,
					      uint64_t size)
{
	p->set.max_nonsync_literal_size = size;
}

static bool literal_too_big(const struct imap_parser *p, uint64_t size,
			    bool overflow, bool nonsync)
{
	if (overflow || size > p->set.max_literal_size)
		return true;
	return nonsync && p->set.max_nonsync_literal_size != 0 &&
		size > p->set.max_nonsync_literal_size;
}

static void set_fatal(struct imap_parser *p)
{
	p->fatal = true;
	p->state = STATE_FATAL;
	p->error = IMAP_PARSER_ERROR_TOOBIG;
	p->error_msg = "Non-synchronizing literal too big";
	p->error_tag = p->tag;
	p->release_pending = true;
}

/* One byte of a line being skipped.  Notices whether the line ends with a
 * non-synchronising literal announcement "{n+}" CRLF, whose n bytes are
 * then skipped as well (RFC 7888: the client sends them regardless). */
static void skip_line_byte(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case '\n':
		if (p->skip_literals && (p->skip_lit == SKIP_LIT_CLOSE ||
					 p->skip_lit == SKIP_LIT_CLOSE_CR)) {
			if (literal_too_big(p, p->skip_num, p->skip_overflow,
					    true)) {
				set_fatal(p);
				return;
			}
			p->skip_left = p->skip_num;
			p->state = STATE_SKIP_LITERAL;
		} else {
			p->state = STATE_START;
		}
		p->skip_lit = SKIP_LIT_NONE;
		return;
	case '\r':
		p->skip_lit = p->skip_lit == SKIP_LIT_CLOSE ?
			SKIP_LIT_CLOSE_CR : SKIP_LIT_NONE;
		return;
	case '{':
		p->skip_lit = SKIP_LIT_OPEN;
		p->skip_num = 0;
		p->skip_overflow = false;
		return;
	case '+':
		p->skip_lit = p->skip_lit == SKIP_LIT_DIGITS ?
			SKIP_LIT_PLUS : SKIP_LIT_NONE;
		return;
	case '}':
		p->skip_lit = p->skip_lit == SKIP_LIT_PLUS ?
			SKIP_LIT_CLOSE : SKIP_LIT_NONE;
		return;
	default:
		break;
	}
	if (c >= '0' && c <= '9' && (p->skip_lit == SKIP_LIT_OPEN ||
				     p->skip_lit == SKIP_LIT_DIGITS)) {
		if (p->skip_num > (NUMBER64_MAX - (c - '0')) / 10)
			p->skip_overflow = true;
		else
			p->skip_num = p->skip_num * 10 + (c - '0');
		p->skip_lit = SKIP_LIT_DIGITS;
	} else {
		p->skip_lit = SKIP_LIT_NONE;
	}
}

/* Runs the skip states over data; returns the bytes consumed.  Stops when
 * the parser is back at STATE_START (or fatal) or the input is used up. */
static size_t parser_skip(struct imap_parser *p, const unsigned char *data,
			  size_t len)
{
	size_t i = 0;

	for (;;) {
		if (p->state == STATE_SKIP_LITERAL) {
			if (p->skip_left == 0) {
				p->state = STATE_SKIP_LINE;
				p->skip_lit = SKIP_LIT_NONE;
				continue;
			}
			if (i == len)
				break;
			size_t n = len - i;
			if (n > p->skip_left)
				n = (size_t)p->skip_left;
			p->skip_left -= n;
			i += n;
		} else if (p->state == STATE_SKIP_LINE) {
			if (i == len)
				break;
			skip_line_byte(p, data[i++]);
		} else {
			break;
		}
	}
	return i;
}

/* What one step of imap_parser_feed()'s byte loop did with its byte. */
enum parser_step {
	/* the byte was taken; go on with the next one */
	STEP_NEXT,
	/* the state changed before the byte was used: process the same byte
	 * again in the new state */
	STEP_AGAIN,
	/* the byte ended the command: imap_parser_feed() returns 1 */
	STEP_COMMAND,
	/* the byte ended the announcement of a synchronising literal: the
	 * client waits for a continuation, imap_parser_feed() returns 0 */
	STEP_CONTINUATION,
	/* an error was recorded (parser_fail(), set_fatal()): feed returns -1 */
	STEP_ERROR,
	/* arg_separator() only: the byte is no separator; the caller decides */
	STEP_NOT_SEPARATOR,
};

/* Records an error found at byte c (which is consumed) and starts skipping
 * the rest of the command.  The skip recogniser is seeded from the literal
 * announcement being parsed, so "{12+}" is noticed even when the error
 * struck in its middle. */
static enum parser_step parser_fail(struct imap_parser *p,
				     enum imap_parser_error code,
				     const char *msg, unsigned char c)
{
	p->error = code;
	p->error_msg = msg;
	p->error_tag = p->tag;
	p->release_pending = true;
	p->need_continuation = false;

	p->skip_lit = SKIP_LIT_NONE;
	p->skip_num = p->lit_size;
	p->skip_overflow = p->lit_overflow;
	switch (p->state) {
	case STATE_LITERAL_SIZE:
		p->skip_lit = p->lit_digits > 0 ? SKIP_LIT_DIGITS :
			SKIP_LIT_OPEN;
		break;
	case STATE_LITERAL_PLUS:
		p->skip_lit = SKIP_LIT_PLUS;
		break;
	case STATE_LITERAL_EOL:
		if (p->lit_nonsync)
			p->skip_lit = SKIP_LIT_CLOSE;
		break;
	case STATE_LITERAL_LF:
		if (p->lit_nonsync)
			p->skip_lit = SKIP_LIT_CLOSE_CR;
		break;
	default:
		break;
	}
	p->skip_literals = true;
	p->state = STATE_SKIP_LINE;
	skip_line_byte(p, c);
	return STEP_ERROR;
}

static struct imap_arg *arg_push(struct imap_parser *p,
				 enum imap_arg_type type)
{
	ARRAY_RESERVE(p->stack, p->stack_cap, p->stack_count + 1);
	struct imap_arg *arg = &p->stack[p->stack_count++];
	memset(arg, 0, sizeof(*arg));
	arg->type = type;
	arg->fd = -1;
	return arg;
}

/* Counts a new argument against max_args.  Returns false when over. */
static bool arg_count_add(struct imap_parser *p)
{
	if (p->arg_count >= p->set.max_args)
		return false;
	p->arg_count++;
	return true;
}

/* Moves the args from stack index `start` on into a pool array ending with
 * IMAP_ARG_EOL and pops them. */
static struct imap_arg *args_pop(struct imap_parser *p, size_t start,
				 unsigned int *count_r)
{
	size_t n = p->stack_count - start;
	struct imap_arg *arr = p_malloc(parser_pool(p), (n + 1) * sizeof(*arr));

	if (n > 0)
		memcpy(arr, p->stack + start, n * sizeof(*arr));
	arr[n].type = IMAP_ARG_EOL;
	arr[n].fd = -1;
	p->stack_count = start;
	*count_r = (unsigned int)n;
	return arr;
}

static void list_close(struct imap_parser *p)
{
	unsigned int count;
	struct imap_arg *children =
		args_pop(p, p->list_start[p->depth], &count);

	p->depth--;
	struct imap_arg *arg = arg_push(p, IMAP_ARG_LIST);
	arg->list = children;
	arg->list_count = count;
}

static void command_finish(struct imap_parser *p)
{
	struct imap_command *cmd = p_malloc(parser_pool(p), sizeof(*cmd));

	cmd->tag = p->tag;
	cmd->name = p->name;
	cmd->args = args_pop(p, 0, &cmd->arg_count);
	p->cmd = cmd;
	p->command_ready = true;
	p->release_pending = true;
	p->state = STATE_START;
}

static int spool_open(struct imap_parser *p)
{
	int fd = open(p->temp_dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC,
		      0600);

	if (fd == -1 && (errno == EOPNOTSUPP || errno == EISDIR ||
			 errno == EINVAL)) {
		/* file system without O_TMPFILE */
		char *path = xasprintf("%s/roost-literal.XXXXXX", p->temp_dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd != -1)
			(void)unlink(path);
		free(path);
	}
	if (fd == -1) {
		free(p->system_error);
		p->system_error = xasprintf(
			"imap parser: cannot create a temporary file in %s: %s",
			p->temp_dir, strerror(errno));
		return -1;
	}
	p->spool_fd = fd;
	p->spool_size = 0;
	return 0;
}

/* The CRLF after "{n}" or "{n+}" was read: sets up the argument that will
 * receive the data.  Returns -1 if the temporary file cannot be made. */
static int literal_begin(struct imap_parser *p)
{
	struct imap_arg *arg;

	if (p->lit_size <= p->set.literal_memory_max - p->lit_mem_used) {
		p->lit_mem_used += p->lit_size;
		p->lit_buf = p_malloc(parser_pool(p), (size_t)p->lit_size + 1);
		arg = arg_push(p, IMAP_ARG_LITERAL);
		arg->str = p->lit_buf;
		arg->len = (size_t)p->lit_size;
	} else {
		if (p->spool_fd == -1 && spool_open(p) < 0)
			return -1;
		p->lit_buf = NULL;
		arg = arg_push(p, IMAP_ARG_LITERAL_FILE);
		arg->fd = p->spool_fd;
		arg->offset = p->spool_size;
		arg->size = p->lit_size;
	}
	arg->literal8 = p->lit_literal8;
	p->lit_left = p->lit_size;
	p->state = STATE_LITERAL_DATA;
	return 0;
}

/* Takes up to `len` (> 0) bytes of literal data, `*used_r` of them.
 * Returns 0, or -1 after a write error: the error is set, and the bytes
 * taken and the rest of the literal are skipped. */
static int literal_data(struct imap_parser *p, const unsigned char *data,
			size_t len, size_t *used_r)
{
	struct imap_arg *arg = &p->stack[p->stack_count - 1];
	size_t n = len;

	if (n > p->lit_left)
		n = (size_t)p->lit_left;
	*used_r = n;
	if (memchr(data, '\0', n) != NULL)
		arg->has_nul = true;
	if (p->lit_buf != NULL) {
		memcpy(p->lit_buf + (p->lit_size - p->lit_left), data, n);
	} else {
		if (write_full(p->spool_fd, data, n) < 0) {
			free(p->system_error);
			p->system_error = xasprintf(
				"imap parser: writing a temporary file in %s: %s",
				p->temp_dir, strerror(errno));
			p->error = IMAP_PARSER_ERROR_SERVER;
			p->error_msg = "Internal error while receiving a literal";
			p->error_tag = p->tag;
			p->release_pending = true;
			p->skip_left = p->lit_left - n;
			p->skip_literals = true;
			p->state = STATE_SKIP_LITERAL;
			return -1;
		}
		p->spool_size += n;
	}
	p->lit_left -= n;
	if (p->lit_left == 0)
		p->state = STATE_ARG_END;
	return 0;
}

/* The LF that ends the command's last line. */
static enum parser_step line_end(struct imap_parser *p, unsigned char c)
{
	if (p->depth > 0)
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				   "Missing ')'", c);
	command_finish(p);
	return STEP_COMMAND;
}

/* Handles SP, ")", CR and LF after an argument or where one may start.
 * Returns STEP_COMMAND, STEP_NEXT or STEP_ERROR, or STEP_NOT_SEPARATOR
 * when the byte is none of these. */
static enum parser_step arg_separator(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		p->state = STATE_ARG_START;
		return STEP_NEXT;
	case ')':
		if (p->depth == 0)
			return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
					   "Unexpected ')'", c);
		list_close(p);
		p->state = STATE_ARG_END;
		return STEP_NEXT;
	case '\r':
		p->state = STATE_EOL_LF;
		return STEP_NEXT;
	case '\n':
		return line_end(p, c);
	default:
		return STEP_NOT_SEPARATOR;
	}
}

static enum parser_step atom_char_error(struct imap_parser *p, unsigned char c)
{
	return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX, c >= 0x80 ?
			   "8-bit data in atom" : "Invalid characters in atom",
			   c);
}

/* The argument at the parser's current byte, in STATE_ARG_START:
 *
 * arg     = atom / quoted / literal / literal8 / "(" [arg *(SP arg)] ")"
 * literal  = "{" number64 ["+"] "}" CRLF *CHAR8
 * literal8 = "~{" number64 ["+"] "}" CRLF *OCTET      (RFC 3516, 7888)
 *
 * Returns as arg_separator() (but never STEP_NOT_SEPARATOR), or
 * STEP_AGAIN when an atom starts with this byte. */
static enum parser_step arg_start(struct imap_parser *p, unsigned char c)
{
	switch (c) {
	case ' ':
		/* lenient: runs of spaces */
		return STEP_NEXT;
	case '(':
		if (p->depth >= p->set.max_depth)
			return parser_fail(p, IMAP_PARSER_ERROR_LIMIT,
					   "Too deeply nested lists", c);
		if (!arg_count_add(p))
			return parser_fail(p, IMAP_PARSER_ERROR_LIMIT,
					   "Too many arguments", c);
		p->depth++;
		p->list_start[p->depth] = (unsigned int)p->stack_count;
		return STEP_NEXT;
	case '"':
		if (!arg_count_add(p))
			return parser_fail(p, IMAP_PARSER_ERROR_LIMIT,
					   "Too many arguments", c);
		str_truncate(&p->token, 0);
		p->state = STATE_QUOTED;
		return STEP_NEXT;
	case '{':
		if (!arg_count_add(p))
			return parser_fail(p, IMAP_PARSER_ERROR_LIMIT,
					   "Too many arguments", c);
		p->lit_literal8 = false;
		p->lit_size = 0;
		p->lit_digits = 0;
		p->lit_overflow = false;
		p->lit_nonsync = false;
		p->state = STATE_LITERAL_SIZE;
		return STEP_NEXT;
	case '~':
		p->state = STATE_TILDE;
		return STEP_NEXT;
	}
	enum parser_step step = arg_separator(p, c);
	if (step != STEP_NOT_SEPARATOR)
		return step;
	if (!is_arg_atom_char(c))
		return atom_char_error(p, c);
	if (!arg_count_add(p))
		return parser_fail(p, IMAP_PARSER_ERROR_LIMIT,
				   "Too many arguments", c);
	str_truncate(&p->token, 0);
	p->bracket_depth = 0;
	p->state = STATE_ATOM;
	return STEP_AGAIN;
}

/* True when the command being parsed is FETCH or UID FETCH: the command
 * name, or for UID the first argument at the top level. */
static bool command_is_fetch(const struct imap_parser *p)
{
	if (p->name == NULL)
		return false;
	/* NOTIFY's MessageNew takes fetch-atts (RFC 5465 section 8) */
	if (strcasecmp(p->name, "FETCH") == 0 || strcasecmp(p->name, "NOTIFY") == 0)
		return true;
	if (strcasecmp(p->name, "UID") != 0)
		return false;
	/* the top level's arguments start at stack index 0; while a list
	 * is open, list_start[1] is how many of them were pushed before it */
	size_t top = p->depth == 0 ? p->stack_count : p->list_start[1];
	return top > 0 && p->stack[0].type == IMAP_ARG_ATOM &&
		strcasecmp(p->stack[0].str, "FETCH") == 0;
}

/* Whether the "[" following the atom read so far opens a FETCH section,
 * whose text runs to the matching "]" (across spaces, parentheses and
 * quotes: "BODY[HEADER.FIELDS (From To)]").  Everywhere else "[" is an
 * ordinary ATOM-CHAR (RFC 9051 section 9: atom-specials do not include
 * "["; resp-specials is only "]"), so an unquoted mailbox name, pattern or
 * search string may contain it: SELECT a[b, LIST "" %[*.  Only FETCH's
 * section syntax gives it a meaning:
 *   fetch-att =/ "BODY" section [partial] / "BODY.PEEK" section [partial] /
 *                "BINARY" [".PEEK"] section-binary [partial] /
 *                "BINARY.SIZE" section-binary
 * (RFC 9051 section 9, RFC 3516 section 7). */
static bool atom_opens_section(const struct imap_parser *p)
{
	static const char *const names[] = {
		"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE",
	};
	const char *atom = str_c(&p->token);

	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if (strcasecmp(atom, names[i]) == 0)
			return command_is_fetch(p);
	}
	return false;
}

/* atom = 1*<any CHAR except SP, CTL, "(", ")", "{", DQUOTE>, and in FETCH
 * a section "[" ... its matching "]" that may hold anything but CTL and
 * 8-bit (see IMAP_ARG_ATOM and atom_opens_section()).  Returns STEP_NEXT
 * when the byte was added, STEP_AGAIN when the atom ended before it,
 * STEP_ERROR on an error. */
static enum parser_step atom_byte(struct imap_parser *p, unsigned char c)
{
	if (p->bracket_depth > 0) {
		if (c >= 0x80 || is_ctl(c))
			return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
					   c == '\r' || c == '\n' ?
					   "Missing ']'" :
					   "Invalid characters in atom", c);
		if (c == '[')
			p->bracket_depth++;
		else if (c == ']')
			p->bracket_depth--;
		str_append_c(&p->token, (char)c);
		return STEP_NEXT;
	}
	if (c == ' ' || c == ')' || c == '\r' || c == '\n') {
		struct imap_arg *arg = arg_push(p, IMAP_ARG_ATOM);
		arg->str = token_dup(p);
		arg->len = p->token.len;
		p->state = STATE_ARG_END;
		return STEP_AGAIN;
	}
	if (!is_arg_atom_char(c))
		return atom_char_error(p, c);
	if (c == '[' && atom_opens_section(p))
		p->bracket_depth++;
	str_append_c(&p->token, (char)c);
	return STEP_NEXT;
}

/* quoted = DQUOTE *QUOTED-CHAR DQUOTE
 * QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> /
 *               "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4
 * (8-bit bytes are taken as they come; the command layer checks UTF-8.) */
static enum parser_step quoted_byte(struct imap_parser *p, unsigned char c)
{
	if (p->state == STATE_QUOTED_ESC) {
		if (c != '"' && c != '\\')
			return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
					   "Invalid escape in quoted string",
					   c);
		str_append_c(&p->token, (char)c);
		p->state = STATE_QUOTED;
		return STEP_NEXT;
	}
	switch (c) {
	case '"': {
		struct imap_arg *arg = arg_push(p, IMAP_ARG_QUOTED);
		arg->str = token_dup(p);
		arg->len = p->token.len;
		p->state = STATE_ARG_END;
		return STEP_NEXT;
	}
	case '\\':
		p->state = STATE_QUOTED_ESC;
		return STEP_NEXT;
	case '\r':
	case '\n':
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				   "Missing '\"'", c);
	case '\0':
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				   "NUL in quoted string", c);
	default:
		str_append_c(&p->token, (char)c);
		return STEP_NEXT;
	}
}

/* "{" number64 ["+"] "}" CRLF: the announcement up to its CRLF.  Returns
 * STEP_NEXT when taken, STEP_CONTINUATION when a synchronising literal
 * waits for its continuation, STEP_ERROR on errors. */
static enum parser_step literal_announce_byte(struct imap_parser *p, unsigned char c)
{
	switch (p->state) {
	case STATE_LITERAL_SIZE:
		if (c >= '0' && c <= '9') {
			if (p->lit_size > (NUMBER64_MAX - (c - '0')) / 10)
				p->lit_overflow = true;
			else
				p->lit_size = p->lit_size * 10 + (c - '0');
			p->lit_digits++;
			return STEP_NEXT;
		}
		if (p->lit_digits > 0 && c == '+') {
			p->state = STATE_LITERAL_PLUS;
			return STEP_NEXT;
		}
		if (p->lit_digits > 0 && c == '}') {
			if (literal_too_big(p, p->lit_size, p->lit_overflow,
					    false))
				return parser_fail(p, IMAP_PARSER_ERROR_TOOBIG,
						   "Literal too big", c);
			p->state = STATE_LITERAL_EOL;
			return STEP_NEXT;
		}
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
				   "Invalid literal size", c);
	case STATE_LITERAL_PLUS:
		if (c != '}')
			return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
					   "Invalid literal size", c);
		p->lit_nonsync = true;
		if (literal_too_big(p, p->lit_size, p->lit_overflow, true)) {
			set_fatal(p);
			return STEP_ERROR;
		}
		p->state = STATE_LITERAL_EOL;
		return STEP_NEXT;
	case STATE_LITERAL_EOL:
		if (c == '\r') {
			p->state = STATE_LITERAL_LF;
			return STEP_NEXT;
		}
		/* fall through */
	case STATE_LITERAL_LF:
		if (c != '\n')
			return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
					   "Missing CRLF after literal size",
					   c);
		if (literal_begin(p) < 0)
			return parser_fail(p, IMAP_PARSER_ERROR_SERVER,
					   "Internal error while receiving a literal",
					   c);
		if (p->lit_nonsync)
			return STEP_NEXT;
		p->need_continuation = true;
		return STEP_CONTINUATION;
	default:
		i_panic("imap parser: bad literal state %d", (int)p->state);
	}
}

static bool state_counts_text(enum parser_state state)
{
	return state != STATE_LITERAL_DATA && state != STATE_SKIP_LINE &&
		state != STATE_SKIP_LITERAL && state != STATE_FATAL;
}

/* command = tag SP command-name *(SP arg) CRLF
 * tag     = 1*<any ASTRING-CHAR except "+">
 * (command-name = atom; the grammar of each command's arguments is the
 * command layer's business.) */
int imap_parser_feed(struct imap_parser *p, const unsigned char *data,
		     size_t len, size_t *consumed_r)
{
	size_t i, counted = 0;
	enum parser_step step;

	*consumed_r = 0;
	if (p->fatal)
		return -1;
	if (p->release_pending)
		command_release(p);
	p->need_continuation = false;

	i = parser_skip(p, data, len);
	if (p->fatal) {
		*consumed_r = i;
		return -1;
	}
	while (i < len || (p->state == STATE_LITERAL_DATA &&
			   p->lit_left == 0)) {
		if (p->state == STATE_LITERAL_DATA) {
			size_t used;
			if (p->lit_left == 0) {
				p->state = STATE_ARG_END;
				continue;
			}
			int ret = literal_data(p, data + i, len - i, &used);
			i += used;
			if (ret < 0) {
				*consumed_r = i;
				return -1;
			}
			continue;
		}
		unsigned char c = data[i];
		if (i >= counted) {
			counted = i + 1;
			if (c != '\r' && c != '\n' &&
			    state_counts_text(p->state) &&
			    ++p->line_len > p->set.max_line_length) {
				*consumed_r = i + 1;
				parser_fail(p, IMAP_PARSER_ERROR_LINE_TOO_LONG,
					    "Command line too long", c);
				return -1;
			}
		}

		step = STEP_NEXT;
		switch (p->state) {
		case STATE_START:
			if (c == '\n')
				break;
			if (c == '\r') {
				p->state = STATE_START_CR;
				break;
			}
			if (!is_tag_char(c)) {
				step = parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
						  "Invalid tag", c);
				break;
			}
			str_truncate(&p->token, 0);
			str_append_c(&p->token, (char)c);
			p->state = STATE_TAG;
			break;
		case STATE_START_CR:
			if (c != '\n')
				step = parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
						  "CR without LF", c);
			else
				p->state = STATE_START;
			break;
		case STATE_TAG:
			if (is_tag_char(c)) {
				str_append_c(&p->token, (char)c);
			} else if (c == ' ') {
				p->tag = token_dup(p);
				p->state = STATE_NAME_START;
			} else if (c == '\r' || c == '\n') {
				p->tag = token_dup(p);
				step = parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
						  "Missing command name", c);
			} else {
				step = parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
						  "Invalid tag", c);
			}
			break;
		case STATE_NAME_START:
			if (c == ' ')
				break;
			if (!is_atom_char(c)) {
				step = parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
						  c == '\r' || c == '\n' ?
						  "Missing command name" :
						  "Invalid command name", c);
				break;
			}
			str_truncate(&p->token, 0);
			str_append_c(&p->token, (char)c);
			p->state = STATE_NAME;
			break;
		case STATE_NAME:
			if (is_atom_char(c)) {
				str_append_c(&p->token, (char)c);
				break;
			}
			if (c == ' ' || c == '\r' || c == '\n') {
				p->name = token_dup(p);
				step = arg_separator(p, c);
				break;
			}
			step = parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
					  "Invalid command name", c);
			break;
		case STATE_ARG_START:
			step = arg_start(p, c);
			break;
		case STATE_ARG_END:
			step = arg_separator(p, c);
			if (step == STEP_NOT_SEPARATOR)
				step = parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
						  "Missing space between arguments",
						  c);
			break;
		case STATE_ATOM:
			step = atom_byte(p, c);
			break;
		case STATE_QUOTED:
		case STATE_QUOTED_ESC:
			step = quoted_byte(p, c);
			break;
		case STATE_TILDE:
			if (c == '{') {
				step = arg_start(p, c);
				p->lit_literal8 = true;
				break;
			}
			/* "~" began an atom */
			if (!arg_count_add(p)) {
				step = parser_fail(p, IMAP_PARSER_ERROR_LIMIT,
						  "Too many arguments", c);
				break;
			}
			str_truncate(&p->token, 0);
			str_append_c(&p->token, '~');
			p->bracket_depth = 0;
			p->state = STATE_ATOM;
			step = STEP_AGAIN;
			break;
		case STATE_LITERAL_SIZE:
		case STATE_LITERAL_PLUS:
		case STATE_LITERAL_EOL:
		case STATE_LITERAL_LF:
			step = literal_announce_byte(p, c);
			if (step == STEP_CONTINUATION) {
				*consumed_r = i + 1;
				return 0;
			}
			break;
		case STATE_EOL_LF:
			if (c == '\n')
				step = line_end(p, c);
			else
				step = parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
						  "CR without LF", c);
			break;
		case STATE_LITERAL_DATA:
		case STATE_SKIP_LINE:
		case STATE_SKIP_LITERAL:
		case STATE_FATAL:
			i_panic("imap parser: unexpected state %d",
				(int)p->state);
		}
		if (step == STEP_AGAIN)
			continue;	/* the byte again, in the new state */
		i++;
		if (step == STEP_COMMAND || step == STEP_ERROR) {
			*consumed_r = i;
			return step == STEP_COMMAND ? 1 : -1;
		}
		assert(step == STEP_NEXT);
	}
	*consumed_r = i;
	return 0;
}

const struct imap_command *imap_parser_command(const struct imap_parser *p)
{
	return p->command_ready ? p->cmd : NULL;
}

bool imap_parser_need_continuation(const struct imap_parser *p)
{
	return p->need_continuation;
}

uint64_t imap_parser_literal_size(const struct imap_parser *p)
{
	return p->lit_size;
}

const char *imap_parser_current_tag(const struct imap_parser *p)
{
	return p->tag;
}

const char *imap_parser_current_name(const struct imap_parser *p)
{
	return p->name;
}

const char *imap_parser_error(const struct imap_parser *p,
			      enum imap_parser_error *code_r)
{
	if (code_r != NULL)
		*code_r = p->error;
	return p->error_msg != NULL ? p->error_msg : "No error";
}

const char *imap_parser_error_tag(const struct imap_parser *p)
{
	return p->error != IMAP_PARSER_ERROR_NONE ? p->error_tag : NULL;
}

const char *imap_parser_system_error(const struct imap_parser *p)
{
	return p->error == IMAP_PARSER_ERROR_SERVER ? p->system_error : NULL;
}

bool imap_parser_must_close(const struct imap_parser *p)
{
	return p->fatal;
}

void imap_parser_reset(struct imap_parser *p)
{
	command_release(p);
	p->state = STATE_START;
	p->fatal = false;
	p->need_continuation = false;
	p->skip_lit = SKIP_LIT_NONE;
	p->lit_size = 0;
	str_truncate(&p->line, 0);
	p->line_cr = false;
	p->line_ready = false;
}

int imap_parser_take_literal_fd(struct imap_parser *p)
{
	int fd = p->spool_fd;

	if (!p->command_ready)
		return -1;
	p->spool_fd = -1;
	p->spool_size = 0;
	return fd;
}

struct pool *imap_parser_take_command_pool(struct imap_parser *p)
{
	assert(p->command_ready);
	struct pool *pool = parser_pool(p);
	p->pool = NULL;
	return pool;
}

static int read_line_fail(struct imap_parser *p, enum imap_parser_error code,
			  const char *msg, unsigned char c)
{
	str_truncate(&p->line, 0);
	p->line_cr = false;
	p->error = code;
	p->error_msg = msg;
	p->error_tag = NULL;
	p->skip_literals = false;
	p->skip_lit = SKIP_LIT_NONE;
	p->state = STATE_SKIP_LINE;
	skip_line_byte(p, c);
	return -1;
}

/* line = *<any OCTET except NUL, CR, LF> CRLF   (a bare LF also ends it) */
int imap_parser_read_line(struct imap_parser *p, const unsigned char *data,
			  size_t len, size_t *consumed_r,
			  const char **line_r)
{
	size_t i;

	*consumed_r = 0;
	*line_r = NULL;
	if (p->fatal)
		return -1;
	if (p->line_ready) {
		str_truncate(&p->line, 0);
		p->line_ready = false;
	}
	p->error = IMAP_PARSER_ERROR_NONE;
	p->error_msg = NULL;
	p->error_tag = NULL;
	i = parser_skip(p, data, len);
	if (p->state != STATE_START) {
		assert(p->state == STATE_SKIP_LINE ||
		       p->state == STATE_SKIP_LITERAL);
		*consumed_r = i;
		return 0;
	}
	for (; i < len; i++) {
		unsigned char c = data[i];

		if (c == '\n') {
			p->line_cr = false;
			p->line_ready = true;
			*line_r = str_c(&p->line);
			*consumed_r = i + 1;
			return 1;
		}
		if (p->line_cr) {
			/* a CR inside the line is data */
			p->line_cr = false;
			if (p->line.len + 1 > p->set.max_line_length) {
				*consumed_r = i + 1;
				return read_line_fail(p,
					IMAP_PARSER_ERROR_LINE_TOO_LONG,
					"Line too long", c);
			}
			str_append_c(&p->line, '\r');
		}
		if (c == '\r') {
			p->line_cr = true;
			continue;
		}
		if (c == '\0') {
			*consumed_r = i + 1;
			return read_line_fail(p, IMAP_PARSER_ERROR_SYNTAX,
					      "NUL in line", c);
		}
		if (p->line.len + 1 > p->set.max_line_length) {
			*consumed_r = i + 1;
			return read_line_fail(p, IMAP_PARSER_ERROR_LINE_TOO_LONG,
					      "Line too long", c);
		}
		str_append_c(&p->line, (char)c);
	}
	*consumed_r = len;
	return 0;
}
