/* cmd-append.c: APPEND (RFC 9051 6.3.12, UIDPLUS RFC 4315, APPENDLIMIT
 * RFC 7889, literal8 from BINARY RFC 3516 4.4).
 *
 * The message literal is already complete when the command runs: the
 * parser kept it in memory or spooled it to a temporary file, and refused
 * it with [TOOBIG] before the data was sent when it was larger than the
 * append limit.  This file streams it into the store in 64 KiB chunks, so
 * a message is never held whole in memory here, and answers only after the
 * store has made it durable.
 *
 * A message sent as a literal8 ("~{n}", BINARY) may hold any octet, NUL
 * included (a part with Content-Transfer-Encoding: binary).  RFC 3516 4.4
 * lets the server re-encode it "however any such transformation MUST NOT
 * result in a loss of data"; the body of a binary part is stored exactly
 * as sent and only line breaks elsewhere become CRLF (see
 * append_write_literal()), so nothing is lost and nothing is refused.  A plain literal holds
 * CHAR8 only (RFC 9051 section 9: literal = "{" number64 ["+"] "}" CRLF
 * *CHAR8, and CHAR8 excludes NUL), so a NUL in one is a BAD, and its bare
 * LF line ends are stored as CRLF (see append_write_literal()). */
#include "commands.h"
#include "flags.h"
#include "mailbox-name.h"
#include "syntax/imap-parser.h"
#include "base/istream.h"
#include "syntax/imap-arg.h"
#include "base/log.h"
#include "mime/parser.h"
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define APPEND_CHUNK_SIZE (64 * 1024)

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int digits(const char *p, unsigned int n)
{
	int v = 0;
	for (unsigned int i = 0; i < n; i++)
		v = v * 10 + (p[i] - '0');
	return v;
}

static bool all_digits(const char *p, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return false;
	}
	return true;
}

static bool is_leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* date-time = DQUOTE date-day-fixed "-" date-month "-" date-year
 *             SP time SP zone DQUOTE
 * date-day-fixed = (SP DIGIT) / 2DIGIT
 * date-month = "Jan" / "Feb" / ... / "Dec"
 * date-year = 4DIGIT
 * time = 2DIGIT ":" 2DIGIT ":" 2DIGIT
 * zone = ("+" / "-") 4DIGIT
 * A one-digit day without the space is accepted too (some clients send
 * it).  Returns 0 with the UTC time and the zone in minutes east of UTC,
 * or -1. */
static int append_parse_date_time(const char *s, time_t *time_r, int *tz_r)
{
	int day;
	if (s[0] == ' ' && is_digit(s[1])) {
		day = s[1] - '0';
		s += 2;
	} else if (is_digit(s[0]) && is_digit(s[1])) {
		day = digits(s, 2);
		s += 2;
	} else if (is_digit(s[0]) && s[1] == '-') {
		day = s[0] - '0';
		s += 1;
	} else {
		return -1;
	}
	if (*s++ != '-')
		return -1;
	int month = -1;
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(s, month_names[i], 3) == 0) {
			month = i;
			break;
		}
	}
	if (month < 0)
		return -1;
	s += 3;
	if (*s++ != '-' || !all_digits(s, 4))
		return -1;
	int year = digits(s, 4);
	s += 4;
	/* SP 2DIGIT ":" 2DIGIT ":" 2DIGIT SP ("+"/"-") 4DIGIT */
	if (strlen(s) != 15 || s[0] != ' ' || !all_digits(s + 1, 2) || s[3] != ':' ||
	    !all_digits(s + 4, 2) || s[6] != ':' || !all_digits(s + 7, 2) ||
	    s[9] != ' ' || (s[10] != '+' && s[10] != '-') || !all_digits(s + 11, 4))
		return -1;
	int hour = digits(s + 1, 2), min = digits(s + 4, 2), sec = digits(s + 7, 2);
	int zh = digits(s + 11, 2), zm = digits(s + 13, 2);
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (year < 1900 || day < 1 || day > mdays[month] ||
	    (month == 1 && day == 29 && !is_leap_year(year)) ||
	    hour > 23 || min > 59 || sec > 60 || zh > 23 || zm > 59)
		return -1;
	struct tm tm = {
		.tm_year = year - 1900, .tm_mon = month, .tm_mday = day,
		.tm_hour = hour, .tm_min = min, .tm_sec = sec == 60 ? 59 : sec,
	};
	time_t t = timegm(&tm);
	if (t == (time_t)-1 && !(year == 1969 && month == 11 && day == 31))
		return -1;
	int tz = (zh * 60 + zm) * (s[10] == '-' ? -1 : 1);
	*time_r = t - (time_t)tz * 60;
	*tz_r = tz;
	return 0;
}

/* The line-end normalisation of one literal (see append_write_literal()). */
struct append_crlf {
	struct mime_parser *parser;	/* a literal8's: MIME-aware */
	struct str out;
	unsigned char *obuf;		/* a plain literal's: 2 * chunk */
	bool prev_cr;
};

/* Gives the store one piece of the message, its bare LF line ends made
 * CRLF: everywhere for a plain literal, outside binary bodies for a
 * literal8. */
static int append_write_chunk(struct store_append *ctx, struct append_crlf *crlf,
			      const void *data, size_t n)
{
	if (crlf->parser != NULL) {
		str_truncate(&crlf->out, 0);
		mime_parser_feed_crlf(crlf->parser, data, n, &crlf->out);
		return store_append_write(ctx, crlf->out.data, crlf->out.len);
	}
	size_t o = lf_to_crlf(data, n, crlf->obuf, &crlf->prev_cr);
	return store_append_write(ctx, crlf->obuf, o);
}

/* Feeds the literal to the store: from memory or from the parser's
 * temporary file.
 *
 * Line ends.  Messages are served in RFC 5322 form, lines ending in CRLF
 * (RFC 9051 2.2, 7.5.2): RFC822.SIZE, BODY[section]<partial>, the octets
 * and lines of BODYSTRUCTURE and SORT (SIZE) must all describe the same
 * bytes.  Roost makes them so by storing what it serves: every arrival
 * path normalises bare LF to CRLF before the bytes reach the store (here,
 * LMTP's spool, `roost deliver`, the pickup of files dropped into new/),
 * so the message is parsed once, over the very bytes FETCH reads, and
 * every size in the index is a plain byte count (no second, CRLF-domain
 * offset map to keep in step, no conversion on every FETCH).
 *
 * A plain literal is text: RFC 9051 4.3.1 forbids unencoded binary
 * strings outside a literal8 ("client and server implementations MUST
 * encode binary data into a textual form"), so all its LF bytes are line
 * ends, and making them CRLF loses nothing.  A literal8 (RFC 3516 4.4) is
 * the way to send raw binary parts, whose LF bytes are data: the body of
 * a part with Content-Transfer-Encoding binary is kept byte for byte, and
 * only the rest (headers, boundaries, 7bit, 8bit, base64 and
 * quoted-printable parts, where RFC 2045 2.7/2.8 allow CR and LF only as
 * CRLF) gets CRLF line ends (mime_parser_feed_crlf()); RFC 3516 4.4 allows
 * a transformation that loses no data.  The store counts the bare LF that
 * is left as one byte, as it is sent. */
enum append_write_result {
	APPEND_WRITE_OK,
	/* the store failed: its error is the answer */
	APPEND_WRITE_STORE_ERROR,
	/* the parser's temporary file could not be read (logged) */
	APPEND_WRITE_SPOOL_ERROR,
};

static enum append_write_result
append_write_literal(struct imap_session *s, struct store_append *ctx,
		     const struct imap_arg *lit)
{
	struct append_crlf crlf = { .out = STR_INIT };
	enum append_write_result ret = APPEND_WRITE_OK;
	const char *data;
	size_t len;
	uint64_t size;

	if (lit->literal8)
		crlf.parser = mime_parser_create();
	else
		crlf.obuf = xmalloc(APPEND_CHUNK_SIZE * 2);
	if (imap_arg_get_literal_data(lit, &data, &len)) {
		for (size_t pos = 0; pos < len && ret == APPEND_WRITE_OK;
		     pos += APPEND_CHUNK_SIZE) {
			size_t n = ROOST_MIN((size_t)APPEND_CHUNK_SIZE, len - pos);
			if (append_write_chunk(ctx, &crlf, data + pos, n) < 0)
				ret = APPEND_WRITE_STORE_ERROR;
		}
	} else if (imap_arg_get_literal_size(lit, &size)) {
		/* spooled: `fd` and `offset` say where */
		struct istream *spool = istream_from_fd_borrowed(lit->fd);
		char *buf = xmalloc(APPEND_CHUNK_SIZE);
		for (uint64_t pos = 0; pos < size && ret == APPEND_WRITE_OK; ) {
			size_t want = (size_t)ROOST_MIN((uint64_t)APPEND_CHUNK_SIZE,
							size - pos);
			ssize_t n = istream_pread(spool, buf, want, lit->offset + pos);
			if (n < (ssize_t)want) {
				log_error("%s: APPEND: reading the spooled literal failed: %s",
					  s->log_prefix, n < 0 ? strerror(errno) :
					  "unexpected end of file");
				ret = APPEND_WRITE_SPOOL_ERROR;
			} else if (append_write_chunk(ctx, &crlf, buf, want) < 0) {
				ret = APPEND_WRITE_STORE_ERROR;
			}
			pos += want;
		}
		free(buf);
		istream_destroy(&spool);
	}
	if (crlf.parser != NULL)
		mime_parser_destroy(&crlf.parser);
	str_free(&crlf.out);
	free(crlf.obuf);
	return ret;
}

/* append = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal
 * append =/ "APPEND" SP mailbox [SP flag-list] [SP date-time] SP literal8
 *                                                       (RFC 3516) */
bool cmd_append(struct imap_cmd *cmd)
{
	struct imap_session *s = cmd->session;
	const struct imap_arg *a = cmd->args;
	const char *raw = imap_mailbox_arg(a);
	if (raw == NULL)
		return imap_cmd_bad(cmd, "Missing mailbox name.");
	a++;

	const struct imap_arg *list;
	uint32_t flags = 0;
	const char **keywords = NULL;
	size_t keyword_count = 0;
	if (imap_arg_get_list(a, &list, NULL)) {
		const char *error;
		if (imap_flags_parse(list, cmd->pool, &flags, &keywords, &keyword_count,
				     &error) < 0)
			return imap_cmd_bad(cmd, "%s", error);
		a++;
	}
	time_t internaldate = 0;
	int tz = 0;
	const char *date_time;
	if (imap_arg_get_quoted(a, &date_time)) {
		if (append_parse_date_time(date_time, &internaldate, &tz) < 0)
			return imap_cmd_bad(cmd, "Invalid date-time.");
		a++;
	}
	uint64_t size;
	if (!imap_arg_get_literal_size(a, &size))
		return imap_cmd_bad(cmd, "APPEND needs a message literal.");
	const struct imap_arg *lit = a;
	if (!imap_arg_is_eol(&a[1]))
		return imap_cmd_bad(cmd, "APPEND of several messages is not supported.");
	if (lit->has_nul && !lit->literal8)
		return imap_cmd_bad(cmd, "The message contains NUL bytes; use literal8.");
	if (size == 0)
		return imap_cmd_no(cmd, "Cannot append an empty message.");

	const char *name = imap_mailbox_from_client(s, cmd->pool, raw);
	if (name == NULL)
		return imap_cmd_no(cmd, "[CANNOT] Invalid mailbox name.");
	struct store_append *ctx;
	if (store_append_begin(s->store, name, &ctx) < 0)
		return imap_cmd_store_error(cmd, true);
	enum append_write_result ret = append_write_literal(s, ctx, lit);
	if (ret != APPEND_WRITE_OK) {
		store_append_abort(&ctx);
		if (ret == APPEND_WRITE_SPOOL_ERROR)
			return imap_cmd_no(cmd, "[SERVERBUG] Internal error occurred. "
					   "Refer to server log for more information.");
		return imap_cmd_store_error(cmd, true);
	}
	uint32_t uidvalidity, uid;
	if (store_append_commit(&ctx, flags, keywords, keyword_count, internaldate, tz,
				&uidvalidity, &uid) < 0)
		return imap_cmd_store_error(cmd, true);
	s->append_count++;
	bool answered = imap_cmd_ok(cmd, "[APPENDUID %u %u] Append completed.", uidvalidity, uid);
	/* RFC 6785 2.2.1: after the reply, which does not wait for it */
	imap_session_imapsieve(s, name, NULL, "APPEND", &uid, 1, NULL);
	return answered;
}
