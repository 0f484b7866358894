/* parse.c: the Sieve lexer and parser (RFC 5228 section 8) into the
 * syntax tree of sieve-private.h.
 *
 * Recursion is bounded: every block, test list and nested test counts
 * against limits->max_nesting, checked before descending, so a script of
 * 100,000 nested blocks is an error, not a stack overflow.  The tree lives
 * in the script's pool.  Nothing here knows what a command means: that is
 * validate.c. */
#include "sieve-private.h"

#include <stdlib.h>
#include <string.h>

enum tok {
	T_EOF,
	T_IDENT,
	T_TAG,
	T_NUMBER,
	T_STRING,
	T_LBRACKET,
	T_RBRACKET,
	T_COMMA,
	T_LPAREN,
	T_RPAREN,
	T_LBRACE,
	T_RBRACE,
	T_SEMI,
	T_ERROR,
};

struct parser {
	struct pool *pool;
	const char *p, *end;
	unsigned int line;
	unsigned int depth, max_depth;
	struct str *errors;
	bool failed;
	/* the current token */
	enum tok tok;
	unsigned int tok_line;
	const char *text;	/* IDENT, TAG (without ':'), STRING */
	size_t text_len;
	uint64_t number;
	struct str buf;
};

static void ATTR_PRINTF(3, 4)
parse_error(struct parser *ps, unsigned int line, const char *fmt, ...)
{
	va_list args;

	if (ps->failed)
		return;
	ps->failed = true;
	str_printfa(ps->errors, "line %u: ", line);
	va_start(args, fmt);
	str_vprintfa(ps->errors, fmt, args);
	va_end(args);
	str_append_c(ps->errors, '\n');
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* white-space = 1*(SP / CRLF / HTAB) / comment
 * comment     = bracket-comment / hash-comment */
static int skip_space(struct parser *ps)
{
	while (ps->p < ps->end) {
		char c = *ps->p;
		if (c == ' ' || c == '\t' || c == '\r') {
			ps->p++;
		} else if (c == '\n') {
			ps->line++;
			ps->p++;
		} else if (c == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		} else if (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '*') {
			unsigned int start = ps->line;
			ps->p += 2;
			for (;;) {
				if (ps->p + 1 >= ps->end) {
					parse_error(ps, ps->line, "end of file before end of bracket comment ('/* ... */') started at line %u",
						    start);
					return -1;
				}
				if (ps->p[0] == '*' && ps->p[1] == '/') {
					ps->p += 2;
					break;
				}
				if (*ps->p == '\n')
					ps->line++;
				ps->p++;
			}
		} else {
			break;
		}
	}
	return 0;
}

/* quoted-string = DQUOTE quoted-text DQUOTE
 * quoted-other  = "\" octet-not-qspecial  ; represents just the octet */
static enum tok lex_quoted(struct parser *ps)
{
	unsigned int start = ps->line;

	ps->p++;
	str_truncate(&ps->buf, 0);
	for (;;) {
		if (ps->p >= ps->end) {
			parse_error(ps, ps->line, "end of file before end of quoted string started at line %u",
				    start);
			return T_ERROR;
		}
		char c = *ps->p++;
		if (c == '"')
			break;
		if (c == '\\') {
			if (ps->p >= ps->end) {
				parse_error(ps, ps->line, "end of file before end of quoted string started at line %u",
					    start);
				return T_ERROR;
			}
			c = *ps->p++;
		}
		if (c == '\n')
			ps->line++;
		str_append_c(&ps->buf, c);
	}
	ps->text = ps->buf.data != NULL ? ps->buf.data : "";
	ps->text_len = ps->buf.len;
	return T_STRING;
}

/* multi-line = "text:" *(SP / HTAB) (hash-comment / CRLF)
 *              *(multiline-literal / multiline-dotstart) "." CRLF
 * A line that starts with "." has it removed (dot-stuffing, 2.4.2). */
static enum tok lex_multiline(struct parser *ps)
{
	unsigned int start = ps->line;

	ps->p += 5;
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
	if (ps->p < ps->end && *ps->p == '#') {
		while (ps->p < ps->end && *ps->p != '\n')
			ps->p++;
	} else if (ps->p < ps->end && *ps->p == '\r') {
		ps->p++;
	}
	if (ps->p >= ps->end || *ps->p != '\n') {
		parse_error(ps, start, "expected end of line after 'text:'");
		return T_ERROR;
	}
	ps->p++;
	ps->line++;
	str_truncate(&ps->buf, 0);
	for (;;) {
		if (ps->p >= ps->end) {
			parse_error(ps, ps->line, "end of file before end of multi-line string started at line %u",
				    start);
			return T_ERROR;
		}
		const char *nl = memchr(ps->p, '\n', (size_t)(ps->end - ps->p));
		const char *eol = nl != NULL ? nl : ps->end;
		size_t n = (size_t)(eol - ps->p);
		size_t content = n > 0 && ps->p[n - 1] == '\r' ? n - 1 : n;
		if (content == 1 && ps->p[0] == '.') {
			ps->p = nl != NULL ? nl + 1 : ps->end;
			if (nl != NULL)
				ps->line++;
			break;
		}
		const char *from = ps->p;
		if (*from == '.')
			from++;
		str_append_n(&ps->buf, from, (size_t)(eol - from));
		if (nl == NULL) {
			parse_error(ps, ps->line, "end of file before end of multi-line string started at line %u",
				    start);
			return T_ERROR;
		}
		str_append_c(&ps->buf, '\n');
		ps->line++;
		ps->p = nl + 1;
	}
	ps->text = ps->buf.data != NULL ? ps->buf.data : "";
	ps->text_len = ps->buf.len;
	return T_STRING;
}

/* number     = 1*DIGIT [ QUANTIFIER ]
 * QUANTIFIER = "K" / "M" / "G" */
static enum tok lex_number(struct parser *ps)
{
	uint64_t v = 0;

	while (ps->p < ps->end && is_digit(*ps->p)) {
		unsigned int d = (unsigned int)(*ps->p - '0');
		if (v > (UINT64_MAX - d) / 10) {
			parse_error(ps, ps->line, "number is too large");
			return T_ERROR;
		}
		v = v * 10 + d;
		ps->p++;
	}
	if (ps->p < ps->end) {
		unsigned int shift = 0;
		switch (*ps->p) {
		case 'K': case 'k': shift = 10; break;
		case 'M': case 'm': shift = 20; break;
		case 'G': case 'g': shift = 30; break;
		default: break;
		}
		if (shift != 0) {
			if (v > (UINT64_MAX >> shift)) {
				parse_error(ps, ps->line, "number is too large");
				return T_ERROR;
			}
			v <<= shift;
			ps->p++;
		}
	}
	if (ps->p < ps->end && (is_alpha(*ps->p) || is_digit(*ps->p))) {
		parse_error(ps, ps->line, "unexpected character '%c' after number", *ps->p);
		return T_ERROR;
	}
	ps->number = v;
	return T_NUMBER;
}

static void next(struct parser *ps)
{
	if (skip_space(ps) < 0) {
		ps->tok = T_ERROR;
		return;
	}
	ps->tok_line = ps->line;
	if (ps->p >= ps->end) {
		ps->tok = T_EOF;
		return;
	}
	char c = *ps->p;
	switch (c) {
	case '[': ps->p++; ps->tok = T_LBRACKET; return;
	case ']': ps->p++; ps->tok = T_RBRACKET; return;
	case ',': ps->p++; ps->tok = T_COMMA; return;
	case '(': ps->p++; ps->tok = T_LPAREN; return;
	case ')': ps->p++; ps->tok = T_RPAREN; return;
	case '{': ps->p++; ps->tok = T_LBRACE; return;
	case '}': ps->p++; ps->tok = T_RBRACE; return;
	case ';': ps->p++; ps->tok = T_SEMI; return;
	case '"': ps->tok = lex_quoted(ps); return;
	default: break;
	}
	if (is_digit(c)) {
		ps->tok = lex_number(ps);
		return;
	}
	if (c == ':' || is_alpha(c)) {
		const char *start = c == ':' ? ps->p + 1 : ps->p;
		const char *q = start;
		if (q >= ps->end || !is_alpha(*q)) {
			parse_error(ps, ps->line, "expected a tag name after ':'");
			ps->tok = T_ERROR;
			return;
		}
		while (q < ps->end && (is_alpha(*q) || is_digit(*q)))
			q++;
		if (c != ':' && q < ps->end && *q == ':' && q - start == 4 &&
		    memcmp(start, "text", 4) == 0) {
			ps->tok = lex_multiline(ps);
			return;
		}
		ps->text = start;
		ps->text_len = (size_t)(q - start);
		ps->p = q;
		ps->tok = c == ':' ? T_TAG : T_IDENT;
		return;
	}
	if (c == '\0')
		parse_error(ps, ps->line, "NUL character in script");
	else if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
		parse_error(ps, ps->line, "unexpected character '%c'", c);
	else
		parse_error(ps, ps->line, "unexpected character 0x%02x", (unsigned char)c);
	ps->tok = T_ERROR;
}

static const char *tok_desc(const struct parser *ps)
{
	switch (ps->tok) {
	case T_EOF: return "end of file";
	case T_IDENT: return "identifier";
	case T_TAG: return "tag";
	case T_NUMBER: return "number";
	case T_STRING: return "string";
	case T_LBRACKET: return "'['";
	case T_RBRACKET: return "']'";
	case T_COMMA: return "','";
	case T_LPAREN: return "'('";
	case T_RPAREN: return "')'";
	case T_LBRACE: return "'{'";
	case T_RBRACE: return "'}'";
	case T_SEMI: return "';'";
	case T_ERROR: break;
	}
	return "error";
}

/* The current identifier or tag in lower case: RFC 5228 2.2 makes them
 * case-insensitive ("NOT", ":DOMAIN"). */
static const char *dup_lower(struct parser *ps)
{
	char *s = p_strndup(ps->pool, ps->text, ps->text_len);

	for (char *p = s; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	}
	return s;
}

/* A growable array of pointers in heap memory, copied to the pool when
 * complete. */
struct ptrs {
	void **items;
	size_t count, cap;
};

static void ptrs_add(struct ptrs *a, void *item)
{
	array_reserve((void **)&a->items, &a->cap, a->count + 1, sizeof(void *));
	a->items[a->count++] = item;
}

static void *ptrs_finish(struct parser *ps, struct ptrs *a)
{
	void *copy = a->count == 0 ? NULL :
		p_memdup(ps->pool, a->items, a->count * sizeof(void *));
	free(a->items);
	a->items = NULL;
	return copy;
}

static bool depth_enter(struct parser *ps)
{
	if (ps->depth >= ps->max_depth) {
		parse_error(ps, ps->tok_line, "nesting too deep (limit %u)", ps->max_depth);
		return false;
	}
	ps->depth++;
	return true;
}

/* string-list = "[" string *("," string) "]" / string */
static bool parse_strlist(struct parser *ps, struct sieve_arg *arg)
{
	struct ptrs strs = { 0 };

	arg->kind = SIEVE_ARG_STRLIST;
	next(ps);
	for (;;) {
		if (ps->tok != T_STRING) {
			if (ps->tok != T_ERROR)
				parse_error(ps, ps->tok_line, "expected a string in string list, but found %s",
					    tok_desc(ps));
			free(strs.items);
			return false;
		}
		ptrs_add(&strs, p_strndup(ps->pool, ps->text, ps->text_len));
		next(ps);
		if (ps->tok == T_RBRACKET)
			break;
		if (ps->tok != T_COMMA) {
			if (ps->tok != T_ERROR)
				parse_error(ps, ps->tok_line, "expected ',' or ']' in string list, but found %s",
					    tok_desc(ps));
			free(strs.items);
			return false;
		}
		next(ps);
	}
	arg->count = strs.count;
	arg->strs = ptrs_finish(ps, &strs);
	next(ps);
	return true;
}

static struct sieve_node *parse_test(struct parser *ps);

/* arguments = *argument [ test / test-list ]
 * argument  = string-list / number / tag */
static bool parse_arguments(struct parser *ps, struct sieve_node *node, bool is_test)
{
	struct sieve_arg *args = NULL;
	size_t count = 0, cap = 0;

	for (;;) {
		struct sieve_arg arg = { .line = ps->tok_line };
		if (ps->tok == T_NUMBER) {
			arg.kind = SIEVE_ARG_NUMBER;
			arg.number = ps->number;
			next(ps);
		} else if (ps->tok == T_TAG) {
			arg.kind = SIEVE_ARG_TAG;
			arg.tag = dup_lower(ps);
			next(ps);
		} else if (ps->tok == T_STRING) {
			arg.kind = SIEVE_ARG_STRING;
			arg.count = 1;
			arg.strs = p_malloc(ps->pool, sizeof(char *));
			arg.strs[0] = p_strndup(ps->pool, ps->text, ps->text_len);
			next(ps);
		} else if (ps->tok == T_LBRACKET) {
			if (!parse_strlist(ps, &arg)) {
				free(args);
				return false;
			}
		} else {
			break;
		}
		array_reserve((void **)&args, &cap, count + 1, sizeof(*args));
		args[count++] = arg;
	}
	node->arg_count = count;
	node->args = count == 0 ? NULL : p_memdup(ps->pool, args, count * sizeof(*args));
	free(args);
	if (ps->tok == T_ERROR)
		return false;

	/* test-list = "(" test *("," test) ")" */
	if (ps->tok == T_LPAREN) {
		struct ptrs tests = { 0 };
		if (!depth_enter(ps))
			return false;
		node->has_test_list = true;
		next(ps);
		for (;;) {
			struct sieve_node *t = parse_test(ps);
			if (t == NULL) {
				free(tests.items);
				return false;
			}
			ptrs_add(&tests, t);
			if (ps->tok == T_RPAREN)
				break;
			if (ps->tok != T_COMMA) {
				if (ps->tok != T_ERROR)
					parse_error(ps, ps->tok_line, "expected ',' or ')' in test list, but found %s",
						    tok_desc(ps));
				free(tests.items);
				return false;
			}
			next(ps);
		}
		node->test_count = tests.count;
		node->tests = ptrs_finish(ps, &tests);
		ps->depth--;
		next(ps);
	} else if (ps->tok == T_IDENT) {
		/* a single test */
		if (!depth_enter(ps))
			return false;
		struct sieve_node *t = parse_test(ps);
		if (t == NULL)
			return false;
		ps->depth--;
		node->test_count = 1;
		node->tests = p_malloc(ps->pool, sizeof(*node->tests));
		node->tests[0] = t;
	}
	(void)is_test;
	return true;
}

/* test = identifier arguments */
static struct sieve_node *parse_test(struct parser *ps)
{
	if (ps->tok != T_IDENT) {
		if (ps->tok != T_ERROR)
			parse_error(ps, ps->tok_line, "expected a test, but found %s", tok_desc(ps));
		return NULL;
	}
	struct sieve_node *node = p_malloc(ps->pool, sizeof(*node));
	node->name = dup_lower(ps);
	node->line = ps->tok_line;
	next(ps);
	if (!parse_arguments(ps, node, true))
		return NULL;
	return node;
}

static bool parse_commands(struct parser *ps, struct ptrs *cmds, bool in_block);

/* command = identifier arguments (";" / block)
 * block   = "{" commands "}" */
static struct sieve_node *parse_command(struct parser *ps)
{
	struct sieve_node *node = p_malloc(ps->pool, sizeof(*node));

	node->name = dup_lower(ps);
	node->line = ps->tok_line;
	next(ps);
	if (!parse_arguments(ps, node, false))
		return NULL;
	if (ps->tok == T_SEMI) {
		next(ps);
		return node;
	}
	if (ps->tok == T_LBRACE) {
		struct ptrs cmds = { 0 };
		if (!depth_enter(ps))
			return NULL;
		node->has_block = true;
		next(ps);
		if (!parse_commands(ps, &cmds, true)) {
			free(cmds.items);
			return NULL;
		}
		node->block_count = cmds.count;
		node->block = ptrs_finish(ps, &cmds);
		ps->depth--;
		next(ps);
		return node;
	}
	if (ps->tok != T_ERROR)
		parse_error(ps, ps->tok_line, "expected end of command ';' or the beginning of a compound block '{', but found %s",
			    tok_desc(ps));
	return NULL;
}

/* commands = *command */
static bool parse_commands(struct parser *ps, struct ptrs *cmds, bool in_block)
{
	for (;;) {
		if (ps->tok == T_IDENT) {
			struct sieve_node *cmd = parse_command(ps);
			if (cmd == NULL)
				return false;
			ptrs_add(cmds, cmd);
		} else if (ps->tok == T_RBRACE && in_block) {
			return true;
		} else if (ps->tok == T_EOF && !in_block) {
			return true;
		} else {
			if (ps->tok == T_EOF)
				parse_error(ps, ps->tok_line, "expected end of compound block '}', but found end of file");
			else if (ps->tok != T_ERROR)
				parse_error(ps, ps->tok_line, "expected a command, but found %s", tok_desc(ps));
			return false;
		}
	}
}

int sieve_parse(struct sieve_script *script, const char *text, size_t len,
		const struct sieve_limits *limits, struct str *errors_r)
{
	struct parser ps = {
		.pool = script->pool,
		.p = text,
		.end = text + len,
		.line = 1,
		.max_depth = limits->max_nesting,
		.errors = errors_r,
	};
	struct ptrs cmds = { 0 };

	if (len > limits->max_script_size) {
		str_printfa(errors_r, "line 1: script is too large (%zu bytes, limit %zu)\n",
			    len, limits->max_script_size);
		return -1;
	}
	next(&ps);
	bool ok = parse_commands(&ps, &cmds, false);
	script->cmd_count = cmds.count;
	script->cmds = ptrs_finish(&ps, &cmds);
	str_free(&ps.buf);
	if (!ok || ps.failed) {
		if (!ps.failed)
			parse_error(&ps, ps.line, "syntax error");
		return -1;
	}
	return 0;
}
