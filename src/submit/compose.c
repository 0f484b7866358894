/* compose.c: the messages Roost writes itself (a vacation reply, a
 * notification, a redirected copy) and the pieces report.c shares: the
 * common fields, RFC 2047 encoded words, quoted-printable text, the
 * references of a reply.  Output is always a complete RFC 5322 message
 * with CRLF line ends; nothing given by a script or a message can add a
 * header field of its own (CR and LF in values become spaces). */
#include "submit/submit-private.h"
#include "base/base64.h"
#include "base/utf8.h"
#include "mime/header.h"
#include "syntax/msgid.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

/* RFC 2047 2: "=?UTF-8?B?" and "?=" around the text of an encoded word;
 * a line that holds encoded words is at most 76 characters (so a word
 * is at most 63 characters of base64, 45 bytes of text) */
#define ENCODED_WORD_OVERHEAD 12
#define ENCODED_LINE_MAX 76
/* RFC 2045 6.7 (5): encoded lines are at most 76 characters */
#define QP_LINE_MAX 76
/* RFC 5322 2.1.1: a line is at most 998 characters */
#define LINE_MAX_OCTETS 998

static char host_name[256];
static pthread_once_t host_name_once = PTHREAD_ONCE_INIT;

static void host_name_init(void)
{
	if (gethostname(host_name, sizeof(host_name) - 1) < 0 || host_name[0] == '\0')
		strcpy(host_name, "localhost");
}

const char *submit_compose_hostname(const struct submit_origin *origin)
{
	if (origin != NULL && origin->hostname != NULL && origin->hostname[0] != '\0')
		return origin->hostname;
	pthread_once(&host_name_once, host_name_init);
	return host_name;
}

static void random_hex(struct str *dest, size_t bytes)
{
	unsigned char buf[32];
	size_t got = 0;

	if (bytes > sizeof(buf))
		bytes = sizeof(buf);
	while (got < bytes) {
		ssize_t n = getrandom(buf + got, bytes - got, 0);
		if (n <= 0)
			i_panic("getrandom() failed");
		got += (size_t)n;
	}
	for (size_t i = 0; i < bytes; i++)
		str_printfa(dest, "%02x", buf[i]);
}

/* date-time = [ day-of-week "," ] date time (RFC 5322 3.3), in UTC; the
 * names are written out, not taken from the locale */
static void append_date(struct str *dest, time_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	gmtime_r(&t, &tm);
	str_printfa(dest, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
		    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
}

void submit_compose_begin(struct str *dest, const struct submit_origin *origin)
{
	time_t date = origin != NULL && origin->date != 0 ? origin->date : time(NULL);

	str_append(dest, "Date: ");
	append_date(dest, date);
	str_append(dest, "\r\nMessage-ID: <");
	random_hex(dest, 12);
	str_printfa(dest, ".%lld@%s>\r\n", (long long)date, submit_compose_hostname(origin));
}

/* Appends value with CR, LF and NUL made spaces. */
static void append_one_line(struct str *dest, const char *value)
{
	for (const char *p = value; *p != '\0'; p++)
		str_append_c(dest, *p == '\r' || *p == '\n' ? ' ' : *p);
}

void submit_compose_field(struct str *dest, const char *name, const char *value)
{
	str_printfa(dest, "%s: ", name);
	append_one_line(dest, value);
	str_append(dest, "\r\n");
}

bool submit_compose_is_7bit(const void *s, size_t len)
{
	const unsigned char *p = s;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == 0 || p[i] > 127)
			return false;
	}
	return true;
}

/* Whether text can be written as it is in an unstructured field: printable
 * ASCII and white space, no "=?" (which a reader would take for the
 * start of an encoded word), no line longer than a field line may be. */
static bool text_is_plain(const char *text)
{
	size_t len = strlen(text);

	if (len > 900 || strstr(text, "=?") != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if ((c < 0x20 && c != '\t') || c > 0x7e)
			return false;
	}
	return true;
}

/* Appends text as valid UTF-8: each ill-formed byte becomes U+FFFD, CR,
 * LF and the other controls but tab become spaces. */
static void append_valid_utf8(struct str *dest, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t left = strlen(text);

	while (left > 0) {
		size_t n = utf8_seq_len(p, left);
		if (n == 0) {
			str_append(dest, "\xef\xbf\xbd");
			n = 1;
		} else if (n == 1 && ((*p < 0x20 && *p != '\t') || *p == 0x7f)) {
			str_append_c(dest, ' ');
		} else {
			str_append_n(dest, p, n);
		}
		p += n;
		left -= n;
	}
}

void submit_compose_text_field(struct str *dest, const char *name, const char *text)
{
	struct str utf8 = STR_INIT;
	const unsigned char *p;
	size_t left, col;

	if (text_is_plain(text)) {
		submit_compose_field(dest, name, text);
		return;
	}
	/* RFC 2047 5 (1): encoded words replace the text whole; white
	 * space between them is not part of it, so each word carries its
	 * own spaces, and no character is split between two words */
	append_valid_utf8(&utf8, text);
	str_printfa(dest, "%s:", name);
	col = strlen(name) + 1;
	p = (const unsigned char *)str_c(&utf8);
	left = utf8.len;
	while (left > 0) {
		size_t chunk = 0, max = 0;

		/* RFC 2047 2: a line holding encoded words is at most 76
		 * characters; each word is " =?UTF-8?B?" base64 "?=" and
		 * holds whole characters (at most 4 bytes each) */
		if (col + 1 + ENCODED_WORD_OVERHEAD < ENCODED_LINE_MAX)
			max = (ENCODED_LINE_MAX - col - 1 - ENCODED_WORD_OVERHEAD) / 4 * 3;
		if (max < 4) {
			str_append(dest, "\r\n");	/* fold: the word on the next line */
			col = 0;
			continue;
		}
		while (chunk < left) {
			size_t n = utf8_seq_len(p + chunk, left - chunk);
			if (chunk + n > max)
				break;
			chunk += n;
		}
		str_append(dest, " =?UTF-8?B?");
		base64_encode(p, chunk, dest);
		str_append(dest, "?=");
		col += 1 + ENCODED_WORD_OVERHEAD + base64_encoded_len(chunk);
		p += chunk;
		left -= chunk;
	}
	str_append(dest, "\r\n");
	str_free(&utf8);
}

int submit_compose_orig_subject(const void *header, size_t len, struct str *utf8)
{
	struct str raw = STR_INIT;
	int found = submit_header_get(header, len, "Subject", &raw);

	str_truncate(utf8, 0);
	if (found > 0)
		mime_header_decode_utf8(str_c(&raw), strlen(str_c(&raw)), utf8);
	str_free(&raw);
	return found;
}

/* Appends the msg-ids of field `name` of the header (at most max), each
 * after "\r\n " (a folded line of its own); returns how many. */
static unsigned int append_msgids(struct str *dest, const void *header, size_t len,
				  const char *name, unsigned int max)
{
	struct str value = STR_INIT, id = STR_INIT;
	unsigned int count = 0;

	if (submit_header_get(header, len, name, &value) > 0) {
		const char *p = str_c(&value);
		while (count < max && msgid_next(&p, &id) > 0) {
			str_printfa(dest, "\r\n %s", str_c(&id));
			count++;
		}
	}
	str_free(&value);
	str_free(&id);
	return count;
}

void submit_compose_reply_refs(struct str *dest, const void *header, size_t len,
			       struct str *msgid_r)
{
	struct str value = STR_INIT, refs = STR_INIT;
	const char *p;

	str_truncate(msgid_r, 0);
	if (submit_header_get(header, len, "Message-ID", &value) > 0) {
		p = str_c(&value);
		(void)msgid_next(&p, msgid_r);
	}
	str_free(&value);
	if (msgid_r->len == 0)
		return;
	/* RFC 5322 3.6.4: the parent's References (or else its single
	 * In-Reply-To msg-id), then the parent's Message-ID */
	if (append_msgids(&refs, header, len, "References", UINT32_MAX) == 0 &&
	    append_msgids(&refs, header, len, "In-Reply-To", 2) != 1)
		str_truncate(&refs, 0);
	str_printfa(&refs, "\r\n %s", str_c(msgid_r));
	/* the first msg-id on the field's first line, the others folded */
	str_printfa(dest, "In-Reply-To: %s\r\nReferences: %s\r\n", str_c(msgid_r),
		    str_c(&refs) + 3);
	str_free(&refs);
}

int submit_compose_next_line(const char **p, const char *end, const char **line_r,
			     size_t *len_r)
{
	const char *start = *p, *q = start;

	if (start >= end)
		return 0;
	/* a line ends at LF, CRLF or a CR alone (RFC 5322 2.3: CR and LF
	 * appear only together) */
	while (q < end && *q != '\n' && *q != '\r')
		q++;
	*line_r = start;
	*len_r = (size_t)(q - start);
	if (q < end && *q == '\r')
		q++;
	if (q < end && *q == '\n')
		q++;
	*p = q;
	return 1;
}

void submit_compose_lines(struct str *dest, const void *data, size_t len)
{
	const char *p = data, *end = p + len, *line;
	size_t n;

	while (submit_compose_next_line(&p, end, &line, &n) > 0) {
		str_append_n(dest, line, n);
		str_append(dest, "\r\n");
	}
}

/* Whether text needs quoted-printable: a byte that is not 7-bit or a
 * line longer than RFC 5322 allows. */
static bool text_needs_qp(const char *text)
{
	size_t line = 0;

	for (const char *p = text; *p != '\0'; p++) {
		if ((unsigned char)*p > 127)
			return true;
		line = *p == '\n' ? 0 : line + 1;
		if (line > LINE_MAX_OCTETS)
			return true;
	}
	return false;
}

/* quoted-printable (RFC 2045 6.7) of one line (without its line end) */
static void append_qp_line(struct str *dest, const unsigned char *p, size_t len)
{
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = p[i];
		/* rule (3): white space at the end of a line is encoded */
		bool literal = (c >= 33 && c <= 126 && c != '=') ||
			((c == ' ' || c == '\t') && i + 1 < len);
		size_t width = literal ? 1 : 3;

		/* rule (5): soft line breaks keep lines at 76 characters,
		 * the "=" of the break included */
		if (col + width > QP_LINE_MAX - 1) {
			str_append(dest, "=\r\n");
			col = 0;
		}
		if (literal)
			str_append_c(dest, (char)c);
		else
			str_printfa(dest, "=%02X", c);
		col += width;
	}
}

void submit_compose_text_part(struct str *dest, const char *text)
{
	struct str utf8 = STR_INIT;
	bool qp;

	for (const char *p = text; *p != '\0';) {
		size_t n = strcspn(p, "\n");
		char *line = xstrndup(p, n > 0 && p[n - 1] == '\r' ? n - 1 : n);

		append_valid_utf8(&utf8, line);
		free(line);
		str_append_c(&utf8, '\n');
		p += n;
		if (*p == '\n')
			p++;
	}
	qp = text_needs_qp(str_c(&utf8));
	str_printfa(dest, "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: %s\r\n\r\n", qp ? "quoted-printable" : "7bit");
	for (const char *p = str_c(&utf8); *p != '\0';) {
		size_t n = strcspn(p, "\n");

		if (qp)
			append_qp_line(dest, (const unsigned char *)p, n);
		else
			str_append_n(dest, p, n);
		str_append(dest, "\r\n");
		p += n + 1;
	}
	str_free(&utf8);
}

void submit_compose_boundary(struct str *dest)
{
	/* "=_" cannot start a quoted-printable line, and 96 random bits
	 * do not appear by chance in the parts */
	str_append(dest, "=_roost_");
	random_hex(dest, 12);
}

/* ---- the redirected copy ---- */

void submit_redirect_compose(struct str *dest, const char *user_addr, const void *msg,
			     size_t len)
{
	submit_compose_field(dest, SUBMIT_REDIRECT_FIELD, user_addr);
	submit_compose_lines(dest, msg, len);
}

/* ---- the vacation reply (RFC 5230 5) ---- */

void submit_vacation_compose(struct str *dest, const struct submit_vacation *vacation,
			     const struct submit_origin *origin)
{
	struct str subject = STR_INIT, msgid = STR_INIT;

	submit_compose_begin(dest, origin);
	submit_compose_field(dest, "From", vacation->from);
	str_append(dest, "To: <");
	append_one_line(dest, vacation->to);
	str_append(dest, ">\r\n");
	if (vacation->subject != NULL) {
		str_append(&subject, vacation->subject);
	} else {
		struct str orig = STR_INIT;

		/* RFC 5230 5.3: "Auto: " and the original subject, or a
		 * fixed subject when it has none */
		if (submit_compose_orig_subject(vacation->orig_header,
						vacation->orig_header_len, &orig) > 0)
			str_printfa(&subject, "Auto: %s", str_c(&orig));
		else
			str_append(&subject, "Automated reply");
		str_free(&orig);
	}
	submit_compose_text_field(dest, "Subject", str_c(&subject));
	submit_compose_reply_refs(dest, vacation->orig_header, vacation->orig_header_len,
				  &msgid);
	str_append(dest, "Auto-Submitted: auto-replied\r\n"
		   /* RFC 3834 3.1.8: for responders older than Auto-Submitted */
		   "Precedence: bulk\r\n"
		   "MIME-Version: 1.0\r\n");
	if (vacation->mime) {
		/* RFC 5230 4.4: the reason is the entity, header fields and
		 * content: its first line starts the MIME fields */
		submit_compose_lines(dest, vacation->reason, strlen(vacation->reason));
	} else {
		submit_compose_text_part(dest, vacation->reason);
	}
	str_free(&subject);
	str_free(&msgid);
}

/* ---- the notification message (RFC 5436 2.7) ---- */

/* Fields a mailto URI may not set (RFC 5436 2.7: From, Auto-Submitted,
 * Received, Message-ID and Date "MUST be ignored") or that the
 * composer writes itself. */
static const char *const notify_own_fields[] = {
	"From", "To", "Cc", "Bcc", "Subject", "Body", "Auto-Submitted", "Received",
	"Message-ID", "Date", "References", "In-Reply-To", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", "Importance", "Sender", "Return-Path",
};

static bool notify_field_is_allowed(const char *name)
{
	if (name[0] == '\0')
		return false;
	for (const char *p = name; *p != '\0'; p++) {
		/* field-name = 1*ftext, ftext = %d33-57 / %d59-126 */
		if (*p < 33 || *p > 126 || *p == ':')
			return false;
	}
	for (size_t i = 0; i < N_ELEMENTS(notify_own_fields); i++) {
		if (strcasecmp(name, notify_own_fields[i]) == 0)
			return false;
	}
	return true;
}

static void append_address_list(struct str *dest, const char *name, const char *const *addrs,
				size_t count)
{
	str_printfa(dest, "%s: ", name);
	for (size_t i = 0; i < count; i++) {
		str_append(dest, i == 0 ? "<" : ",\r\n <");
		append_one_line(dest, addrs[i]);
		str_append_c(dest, '>');
	}
	str_append(dest, "\r\n");
}

void submit_notify_compose(struct str *dest, const struct submit_notify *notify,
			   const struct submit_origin *origin)
{
	struct str subject = STR_INIT, msgid = STR_INIT, text = STR_INIT;

	/* RFC 5436 2.7.1: owner-email is a quoted-string holding an
	 * addr-spec */
	str_append(dest, "Auto-Submitted: auto-notified; owner-email=\"");
	for (const char *p = notify->owner; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			str_append_c(dest, '\\');
		if (*p != '\r' && *p != '\n')
			str_append_c(dest, *p);
	}
	str_append(dest, "\"\r\n");
	submit_compose_begin(dest, origin);
	submit_compose_field(dest, "From", notify->from);
	append_address_list(dest, "To", notify->to, notify->to_count);
	if (notify->cc_count > 0)
		append_address_list(dest, "Cc", notify->cc, notify->cc_count);
	if (notify->subject != NULL)
		str_append(&subject, notify->subject);
	else if (submit_compose_orig_subject(notify->orig_header, notify->orig_header_len,
					     &subject) == 0)
		str_append(&subject, "Notification of new mail");
	submit_compose_text_field(dest, "Subject", str_c(&subject));
	/* RFC 5436 2.7: References MAY refer to the triggering message */
	if (submit_header_get(notify->orig_header, notify->orig_header_len, "Message-ID",
			      &text) > 0) {
		const char *p = str_c(&text);
		if (msgid_next(&p, &msgid) > 0)
			str_printfa(dest, "References: %s\r\n", str_c(&msgid));
	}
	/* RFC 5436 2.4: :importance MAY set an importance indication */
	if (notify->importance == 1)
		str_append(dest, "Importance: high\r\n");
	else if (notify->importance == 3)
		str_append(dest, "Importance: low\r\n");
	for (size_t i = 0; i < notify->header_count; i++) {
		const struct submit_header_field *f = &notify->headers[i];
		if (!notify_field_is_allowed(f->name))
			continue;
		/* RFC 5436 2.7: capitalise the first letter of URI headers */
		char *name = xstrdup(f->name);
		if (name[0] >= 'a' && name[0] <= 'z')
			name[0] = (char)(name[0] - 'a' + 'A');
		submit_compose_text_field(dest, name, f->value);
		free(name);
	}
	str_append(dest, "MIME-Version: 1.0\r\n");
	str_truncate(&text, 0);
	if (notify->body != NULL) {
		str_append(&text, notify->body);
	} else {
		struct str from = STR_INIT, orig_subject = STR_INIT;

		if (submit_header_get(notify->orig_header, notify->orig_header_len, "From",
				      &from) > 0) {
			struct str decoded = STR_INIT;
			mime_header_decode_utf8(str_c(&from), strlen(str_c(&from)), &decoded);
			str_printfa(&text, "A new message arrived from %s", str_c(&decoded));
			str_free(&decoded);
		} else {
			str_append(&text, "A new message arrived");
		}
		if (submit_compose_orig_subject(notify->orig_header, notify->orig_header_len,
						&orig_subject) > 0)
			str_printfa(&text, "\nwith the subject: %s", str_c(&orig_subject));
		str_append_c(&text, '\n');
		str_free(&from);
		str_free(&orig_subject);
	}
	submit_compose_text_part(dest, str_c(&text));
	str_free(&subject);
	str_free(&msgid);
	str_free(&text);
}
