/* parser.c: LMTP command lines (RFC 2033 on RFC 5321's grammar) and the
 * DATA dot-unstuffer.
 *
 * Everything here works on the caller's bytes and writes only into the
 * caller's structs: no allocation, no I/O.  It must never accept a line
 * that the session cannot act on safely (NUL bytes, over-long paths). */
#include "parser.h"

#include <string.h>

static const struct {
	const char *name;
	enum lmtp_verb verb;
} lmtp_verbs[] = {
	{ "LHLO", LMTP_CMD_LHLO },
	{ "HELO", LMTP_CMD_HELO },
	{ "EHLO", LMTP_CMD_EHLO },
	{ "MAIL", LMTP_CMD_MAIL },
	{ "RCPT", LMTP_CMD_RCPT },
	{ "DATA", LMTP_CMD_DATA },
	{ "BDAT", LMTP_CMD_BDAT },
	{ "RSET", LMTP_CMD_RSET },
	{ "NOOP", LMTP_CMD_NOOP },
	{ "QUIT", LMTP_CMD_QUIT },
	{ "VRFY", LMTP_CMD_VRFY },
	{ "EXPN", LMTP_CMD_EXPN },
	{ "HELP", LMTP_CMD_HELP },
};

/* A cursor over the line. */
struct lmtp_cursor {
	const char *p, *end;
};

static bool cur_eof(const struct lmtp_cursor *c)
{
	return c->p >= c->end;
}

static bool cur_skip_prefix_icase(struct lmtp_cursor *c, const char *prefix)
{
	size_t n = strlen(prefix);
	if ((size_t)(c->end - c->p) < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = c->p[i], b = prefix[i];
		if (a >= 'a' && a <= 'z')
			a = (char)(a - 'a' + 'A');
		if (a != b)
			return false;
	}
	c->p += n;
	return true;
}

static size_t cur_skip_spaces(struct lmtp_cursor *c)
{
	size_t n = 0;
	while (!cur_eof(c) && *c->p == ' ') {
		c->p++;
		n++;
	}
	return n;
}

/* Copies the rest of the line (trailing spaces trimmed) into dest. */
static int cur_rest(struct lmtp_cursor *c, char *dest, size_t size)
{
	const char *end = c->end;
	while (end > c->p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t n = (size_t)(end - c->p);
	if (n >= size)
		return -1;
	memcpy(dest, c->p, n);
	dest[n] = '\0';
	c->p = c->end;
	return 0;
}

static bool is_atext_or_dot(unsigned char ch)
{
	/* RFC 5322 atext plus '.', and UTF-8 (RFC 6531) */
	if (ch >= 0x80)
		return true;
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return strchr("!#$%&'*+-/=?^_`{|}~.", ch) != NULL && ch != '\0';
}

static bool is_domain_char(unsigned char ch)
{
	/* sub-domain letters/digits/hyphen, dots, and address literals
	 * ("[192.0.2.1]", "[IPv6:...]") */
	if (ch >= 0x80)
		return true;
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
		return true;
	return ch == '-' || ch == '.' || ch == '[' || ch == ']' || ch == ':';
}

/* Path = "<" [ A-d-l ":" ] Mailbox ">"
 * Mailbox = Local-part "@" ( Domain / address-literal )
 * Local-part = Dot-string / Quoted-string
 * Reverse-path = Path / "<>"
 * LMTP also takes a bare local part ("<postmaster>", "<demo>"). */
static int parse_path(struct lmtp_cursor *c, bool allow_null, struct lmtp_command *cmd,
		      const char **error_r)
{
	cmd->address[0] = cmd->local[0] = cmd->domain[0] = '\0';
	if (cur_eof(c) || *c->p != '<') {
		*error_r = "501 5.5.4 Syntax: address must be enclosed in <>";
		return -1;
	}
	c->p++;
	if (!cur_eof(c) && *c->p == '>') {
		if (!allow_null) {
			*error_r = "501 5.1.3 Empty address not allowed here";
			return -1;
		}
		c->p++;
		return 0;
	}
	/* A-d-l = At-domain *( "," At-domain ): ignored (RFC 5321 4.1.2) */
	if (!cur_eof(c) && *c->p == '@') {
		while (!cur_eof(c) && *c->p != ':' && *c->p != '>')
			c->p++;
		if (cur_eof(c) || *c->p != ':') {
			*error_r = "501 5.1.3 Bad source route in address";
			return -1;
		}
		c->p++;
	}
	const char *start = c->p;
	size_t llen = 0;
	if (!cur_eof(c) && *c->p == '"') {
		/* Quoted-string = DQUOTE *QcontentSMTP DQUOTE */
		c->p++;
		for (;;) {
			if (cur_eof(c)) {
				*error_r = "501 5.1.3 Unterminated quoted local part";
				return -1;
			}
			unsigned char ch = (unsigned char)*c->p++;
			if (ch == '"')
				break;
			if (ch == '\\') {
				if (cur_eof(c)) {
					*error_r = "501 5.1.3 Unterminated quoted local part";
					return -1;
				}
				ch = (unsigned char)*c->p++;
			}
			if (ch < 0x20 || ch == 0x7f) {
				*error_r = "501 5.1.3 Bad character in address";
				return -1;
			}
			if (llen >= LMTP_ADDRESS_MAX) {
				*error_r = "501 5.1.3 Address too long";
				return -1;
			}
			cmd->local[llen++] = (char)ch;
		}
	} else {
		while (!cur_eof(c) && *c->p != '@' && *c->p != '>') {
			unsigned char ch = (unsigned char)*c->p;
			if (!is_atext_or_dot(ch)) {
				*error_r = "501 5.1.3 Bad character in address";
				return -1;
			}
			if (llen >= LMTP_ADDRESS_MAX) {
				*error_r = "501 5.1.3 Address too long";
				return -1;
			}
			cmd->local[llen++] = (char)ch;
			c->p++;
		}
	}
	cmd->local[llen] = '\0';
	if (llen == 0) {
		*error_r = "501 5.1.3 Empty local part in address";
		return -1;
	}
	size_t dlen = 0;
	if (!cur_eof(c) && *c->p == '@') {
		c->p++;
		while (!cur_eof(c) && *c->p != '>') {
			unsigned char ch = (unsigned char)*c->p;
			if (!is_domain_char(ch)) {
				*error_r = "501 5.1.3 Bad character in domain";
				return -1;
			}
			if (dlen >= LMTP_ADDRESS_MAX) {
				*error_r = "501 5.1.3 Address too long";
				return -1;
			}
			cmd->domain[dlen++] = (char)ch;
			c->p++;
		}
		if (dlen == 0) {
			*error_r = "501 5.1.3 Empty domain in address";
			return -1;
		}
	}
	cmd->domain[dlen] = '\0';
	if (cur_eof(c) || *c->p != '>') {
		*error_r = "501 5.1.3 Address must end with >";
		return -1;
	}
	size_t alen = (size_t)(c->p - start);
	if (alen > LMTP_ADDRESS_MAX) {
		*error_r = "501 5.1.3 Address too long";
		return -1;
	}
	memcpy(cmd->address, start, alen);
	cmd->address[alen] = '\0';
	c->p++;
	return 0;
}

static int parse_u64(const char *s, size_t len, uint64_t *n_r)
{
	uint64_t n = 0;
	if (len == 0 || len > 19)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	*n_r = n;
	return 0;
}

/* Mail-parameters = esmtp-param *(SP esmtp-param)
 * esmtp-param = esmtp-keyword ["=" esmtp-value]
 * Known for MAIL: SIZE=n (RFC 1870), BODY=7BIT|8BITMIME (RFC 6152),
 * SMTPUTF8 (RFC 6531).  RCPT takes none. */
static int parse_params(struct lmtp_cursor *c, bool is_mail, struct lmtp_command *cmd,
			const char **error_r)
{
	while (!cur_eof(c)) {
		if (cur_skip_spaces(c) == 0) {
			*error_r = "501 5.5.4 Syntax: parameters must be separated by spaces";
			return -1;
		}
		if (cur_eof(c))
			break;
		const char *kw = c->p;
		while (!cur_eof(c) && *c->p != ' ' && *c->p != '=')
			c->p++;
		size_t kwlen = (size_t)(c->p - kw);
		const char *val = NULL;
		size_t vlen = 0;
		if (!cur_eof(c) && *c->p == '=') {
			val = ++c->p;
			while (!cur_eof(c) && *c->p != ' ')
				c->p++;
			vlen = (size_t)(c->p - val);
		}
		struct lmtp_cursor k = { kw, kw + kwlen };
		if (!is_mail) {
			*error_r = "555 5.5.4 Unsupported RCPT TO parameter";
			return -1;
		}
		if (cur_skip_prefix_icase(&k, "SIZE") && cur_eof(&k)) {
			if (val == NULL || parse_u64(val, vlen, &cmd->size) < 0) {
				*error_r = "501 5.5.4 Syntax: SIZE=<number>";
				return -1;
			}
			cmd->has_size = true;
		} else if ((k.p = kw, cur_skip_prefix_icase(&k, "BODY")) && cur_eof(&k)) {
			/* no pointer arithmetic on a NULL value (BODY without =) */
			struct lmtp_cursor v = { val, val == NULL ? NULL : val + vlen };
			if (val != NULL && cur_skip_prefix_icase(&v, "7BIT") && cur_eof(&v))
				cmd->body = LMTP_BODY_7BIT;
			else if (val != NULL && (v.p = val, cur_skip_prefix_icase(&v, "8BITMIME")) &&
				 cur_eof(&v))
				cmd->body = LMTP_BODY_8BITMIME;
			else {
				*error_r = "501 5.5.4 Syntax: BODY=7BIT or BODY=8BITMIME";
				return -1;
			}
		} else if ((k.p = kw, cur_skip_prefix_icase(&k, "SMTPUTF8")) && cur_eof(&k)) {
			if (val != NULL) {
				*error_r = "501 5.5.4 Syntax: SMTPUTF8 takes no value";
				return -1;
			}
			cmd->smtputf8 = true;
		} else {
			*error_r = "555 5.5.4 Unsupported MAIL FROM parameter";
			return -1;
		}
	}
	return 0;
}

static bool has_8bit(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return true;
	}
	return false;
}

/* mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
 * rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
 *        Forward-path ) [SP Rcpt-parameters] CRLF
 * (a space after the colon is tolerated, as every MTA does) */
static int parse_mail_rcpt(struct lmtp_cursor *c, bool is_mail, struct lmtp_command *cmd,
			   const char **error_r)
{
	if (cur_skip_spaces(c) != 1 ||
	    !cur_skip_prefix_icase(c, is_mail ? "FROM:" : "TO:")) {
		*error_r = is_mail ? "501 5.5.4 Syntax: MAIL FROM:<address>" :
			"501 5.5.4 Syntax: RCPT TO:<address>";
		return -1;
	}
	cur_skip_spaces(c);
	if (parse_path(c, is_mail, cmd, error_r) < 0)
		return -1;
	if (parse_params(c, is_mail, cmd, error_r) < 0)
		return -1;
	if (is_mail && !cmd->smtputf8 && has_8bit(cmd->address)) {
		*error_r = "553 5.6.7 Non-ASCII address needs SMTPUTF8";
		return -1;
	}
	return 0;
}

/* bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ] CRLF
 * chunk-size = 1*DIGIT
 * end-marker = "LAST" */
static int parse_bdat(struct lmtp_cursor *c, struct lmtp_command *cmd, const char **error_r)
{
	if (cur_skip_spaces(c) != 1) {
		*error_r = "501 5.5.4 Syntax: BDAT <size> [LAST]";
		return -1;
	}
	const char *num = c->p;
	while (!cur_eof(c) && *c->p != ' ')
		c->p++;
	if (parse_u64(num, (size_t)(c->p - num), &cmd->chunk_size) < 0) {
		*error_r = "501 5.5.4 Syntax: BDAT <size> [LAST]";
		return -1;
	}
	if (cur_eof(c))
		return 0;
	if (cur_skip_spaces(c) != 1 || !cur_skip_prefix_icase(c, "LAST")) {
		*error_r = "501 5.5.4 Syntax: BDAT <size> [LAST]";
		return -1;
	}
	cur_skip_spaces(c);
	if (!cur_eof(c)) {
		*error_r = "501 5.5.4 Syntax: BDAT <size> [LAST]";
		return -1;
	}
	cmd->last = true;
	return 0;
}

int lmtp_parser_parse(const char *line, size_t len, struct lmtp_command *cmd_r,
		      const char **error_r)
{
	memset(cmd_r, 0, sizeof(*cmd_r));
	if (memchr(line, '\0', len) != NULL) {
		*error_r = "500 5.5.2 NUL byte in command";
		return -1;
	}
	struct lmtp_cursor c = { line, line + len };
	/* a stray CR (from "\r\r\n") is not part of the command */
	while (c.end > c.p && c.end[-1] == '\r')
		c.end--;
	size_t i;
	for (i = 0; i < N_ELEMENTS(lmtp_verbs); i++) {
		struct lmtp_cursor v = c;
		if (cur_skip_prefix_icase(&v, lmtp_verbs[i].name) &&
		    (cur_eof(&v) || *v.p == ' ')) {
			c = v;
			break;
		}
	}
	if (i == N_ELEMENTS(lmtp_verbs)) {
		*error_r = "500 5.5.2 Unknown command";
		return -1;
	}
	cmd_r->verb = lmtp_verbs[i].verb;
	switch (cmd_r->verb) {
	case LMTP_CMD_MAIL:
		return parse_mail_rcpt(&c, true, cmd_r, error_r) < 0 ? -1 : 1;
	case LMTP_CMD_RCPT:
		return parse_mail_rcpt(&c, false, cmd_r, error_r) < 0 ? -1 : 1;
	case LMTP_CMD_BDAT:
		return parse_bdat(&c, cmd_r, error_r) < 0 ? -1 : 1;
	case LMTP_CMD_DATA:
	case LMTP_CMD_RSET:
	case LMTP_CMD_QUIT:
		cur_skip_spaces(&c);
		if (!cur_eof(&c)) {
			*error_r = "501 5.5.4 Syntax: no parameters allowed";
			return -1;
		}
		return 1;
	case LMTP_CMD_LHLO:
	case LMTP_CMD_HELO:
	case LMTP_CMD_EHLO:
		cur_skip_spaces(&c);
		if (cur_rest(&c, cmd_r->arg, sizeof(cmd_r->arg)) < 0) {
			*error_r = "501 5.5.4 Domain name too long";
			return -1;
		}
		if (cmd_r->arg[0] == '\0') {
			*error_r = "501 5.5.4 Syntax: LHLO hostname";
			return -1;
		}
		return 1;
	case LMTP_CMD_VRFY:
	case LMTP_CMD_EXPN:
	case LMTP_CMD_HELP:
	case LMTP_CMD_NOOP:
		cur_skip_spaces(&c);
		if (cur_rest(&c, cmd_r->arg, sizeof(cmd_r->arg)) < 0) {
			*error_r = "501 5.5.4 Argument too long";
			return -1;
		}
		if (cmd_r->verb == LMTP_CMD_VRFY && cmd_r->arg[0] == '\0') {
			*error_r = "501 5.5.4 Syntax: VRFY <address>";
			return -1;
		}
		return 1;
	}
	*error_r = "500 5.5.2 Unknown command";
	return -1;
}

void lmtp_parser_split_detail(const char *local, const char *delimiters,
			      char *user_r, char *detail_r)
{
	size_t n = delimiters[0] == '\0' ? strlen(local) : strcspn(local, delimiters);
	if (n > LMTP_ADDRESS_MAX)
		n = LMTP_ADDRESS_MAX;
	memcpy(user_r, local, n);
	user_r[n] = '\0';
	detail_r[0] = '\0';
	if (local[n] != '\0') {
		size_t dlen = strlen(local + n + 1);
		if (dlen > LMTP_ADDRESS_MAX)
			dlen = LMTP_ADDRESS_MAX;
		memcpy(detail_r, local + n + 1, dlen);
		detail_r[dlen] = '\0';
	}
}

int lmtp_parser_data_unstuff(enum lmtp_data_state *state, const unsigned char *in,
			     size_t len, unsigned char *out, size_t *out_len_r,
			     size_t *consumed_r)
{
	size_t o = 0, i;
	enum lmtp_data_state st = *state;
	for (i = 0; i < len && st != LMTP_DATA_END; i++) {
		unsigned char ch = in[i];
		switch (st) {
		case LMTP_DATA_LINE_START:
			if (ch == '.') {
				st = LMTP_DATA_DOT;
				break;
			}
			out[o++] = ch;
			st = ch == '\r' ? LMTP_DATA_CR : LMTP_DATA_TEXT;
			break;
		case LMTP_DATA_DOT:
			/* the leading dot goes (RFC 5321 4.5.2) */
			if (ch == '\r') {
				st = LMTP_DATA_DOT_CR;
				break;
			}
			out[o++] = ch;
			st = LMTP_DATA_TEXT;
			break;
		case LMTP_DATA_DOT_CR:
			if (ch == '\n') {
				st = LMTP_DATA_END;
				break;
			}
			/* ".\rX": not the end; the CR is text */
			out[o++] = '\r';
			out[o++] = ch;
			st = ch == '\r' ? LMTP_DATA_CR : LMTP_DATA_TEXT;
			break;
		case LMTP_DATA_TEXT:
			out[o++] = ch;
			if (ch == '\r')
				st = LMTP_DATA_CR;
			break;
		case LMTP_DATA_CR:
			out[o++] = ch;
			if (ch == '\n')
				st = LMTP_DATA_LINE_START;
			else if (ch != '\r')
				st = LMTP_DATA_TEXT;
			break;
		case LMTP_DATA_END:
			break;
		}
	}
	*state = st;
	*out_len_r = o;
	*consumed_r = i;
	return st == LMTP_DATA_END ? 1 : 0;
}
