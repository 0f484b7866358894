/* mime-edit.c: replace and enclose (RFC 5703 5, 6).  See mime-edit.h. */
#include "sieve/mime-edit.h"

#include <string.h>
#include <strings.h>

#include "base/base64.h"
#include "base/pool.h"
#include "mime/address.h"
#include "sieve/fields.h"

static const char *const weekdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

static const char *line_break(bool crlf)
{
	return crlf ? "\r\n" : "\n";
}

/* The fields that describe the MIME structure, which a new body brings
 * its own of. */
static bool is_mime_field(const struct sieve_raw_field *f)
{
	return sieve_fields_name_is(f, "MIME-Version") ||
		(f->name_len > 8 && strncasecmp(f->name, "Content-", 8) == 0);
}

static bool is_7bit_text(const char *text, size_t len)
{
	size_t line = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= 0x80 || c == '\0')
			return false;
		line = c == '\n' || c == '\r' ? 0 : line + 1;
		if (line > 998)
			return false;
	}
	return true;
}

void sieve_mime_edit_text_entity(struct str *dest, const char *text, size_t len, bool crlf,
			      bool final_break)
{
	const char *br = line_break(crlf);

	str_printfa(dest, "Content-Type: text/plain; charset=utf-8%s", br);
	if (is_7bit_text(text, len)) {
		str_printfa(dest, "Content-Transfer-Encoding: 7bit%s%s", br, br);
		sieve_fields_append_lines(dest, text, len, crlf);
		if (final_break && len > 0 && text[len - 1] != '\n' && text[len - 1] != '\r')
			str_append(dest, br);
	} else {
		struct str canon = STR_INIT, b64 = STR_INIT;

		str_printfa(dest, "Content-Transfer-Encoding: base64%s%s", br, br);
		sieve_fields_append_lines(&canon, text, len, true);
		base64_encode(canon.data == NULL ? "" : canon.data, canon.len, &b64);
		for (size_t i = 0; i < b64.len; i += 76) {
			str_append_n(dest, b64.data + i, ROOST_MIN((size_t)76, b64.len - i));
			if (final_break || i + 76 < b64.len)
				str_append(dest, br);
		}
		str_free(&canon);
		str_free(&b64);
	}
}

/* A MIME entity the script wrote: its fields, the empty line, its body,
 * in the message's line break style. */
static void write_mime_entity(struct str *dest, const char *text, size_t len, bool crlf)
{
	struct sieve_header hdr;

	sieve_fields_parse(text, len, &hdr);
	for (size_t i = 0; i < hdr.count; i++) {
		const struct sieve_raw_field *f = &hdr.fields[i];

		sieve_fields_append_lines(dest, text + f->start, f->end - f->start, crlf);
		if (i + 1 == hdr.count && hdr.unterminated)
			str_append(dest, line_break(crlf));
	}
	str_append(dest, line_break(crlf));
	sieve_fields_append_lines(dest, text + hdr.body, len - hdr.body, crlf);
	sieve_fields_free(&hdr);
}

/* RFC 5703 5: ":from ... must specify a valid [RFC5322] mailbox-list".
 * 1: valid; 0: not ASCII (ignored); -1: invalid. */
static int check_from(const char *from)
{
	struct pool *pool;
	const struct mime_address *a;
	int ret = 1;

	for (const unsigned char *p = (const unsigned char *)from; *p != '\0'; p++) {
		if (*p >= 0x80)
			return 0;
		if (*p < 0x20 && *p != '\t')
			return -1;
	}
	pool = pool_create(0);
	a = mime_address_parse(pool, from);
	if (a == NULL)
		ret = -1;
	for (; a != NULL; a = a->next) {
		if (a->is_group_start || a->is_group_end || a->is_invalid ||
		    a->mailbox == NULL || a->mailbox[0] == '\0' ||
		    a->domain == NULL || a->domain[0] == '\0')
			ret = -1;
	}
	pool_destroy(&pool);
	return ret;
}

/* Copies a field's bytes, renamed to `name` when not NULL. */
static void copy_field(struct str *dest, const char *data, const struct sieve_raw_field *f,
		       const char *name, bool crlf, bool last_unterminated)
{
	if (name == NULL) {
		str_append_n(dest, data + f->start, f->end - f->start);
	} else {
		str_append(dest, name);
		str_append_c(dest, ':');
		str_append_n(dest, f->value, f->end - (size_t)(f->value - data));
	}
	if (last_unterminated)
		str_append(dest, line_break(crlf));
}

static int replace_message(const char *data, size_t size,
			   const struct sieve_mime_replace *r,
			   struct str *dest, const char **error_r)
{
	struct sieve_header hdr;
	const char *subject = r->mime ? NULL : r->subject;
	const char *from = r->mime ? NULL : r->from;
	bool crlf;

	if (subject != NULL && !sieve_fields_value_is_valid(subject, strlen(subject))) {
		*error_r = "replace: the :subject has a NUL, a bare line break or invalid UTF-8";
		return -1;
	}
	if (from != NULL) {
		int ret = check_from(from);

		if (ret < 0) {
			*error_r = "replace: the :from is not a valid mailbox-list";
			return -1;
		}
		if (ret == 0)
			from = NULL;
	}
	sieve_fields_parse(data, size, &hdr);
	crlf = hdr.crlf;
	for (size_t i = 0; i < hdr.count; i++) {
		const struct sieve_raw_field *f = &hdr.fields[i];
		bool last = i + 1 == hdr.count && hdr.unterminated;

		if (is_mime_field(f))
			continue;
		if (subject != NULL && sieve_fields_name_is(f, "Subject"))
			copy_field(dest, data, f, "Original-Subject", crlf, last);
		else if (from != NULL && sieve_fields_name_is(f, "From"))
			copy_field(dest, data, f, "Original-From", crlf, last);
		else
			copy_field(dest, data, f, NULL, crlf, last);
	}
	if (subject != NULL)
		sieve_fields_write(dest, "Subject", subject, strlen(subject), crlf);
	if (from != NULL)
		sieve_fields_write(dest, "From", from, strlen(from), crlf);
	str_printfa(dest, "MIME-Version: 1.0%s", line_break(crlf));
	if (r->mime)
		write_mime_entity(dest, r->text, r->text_len, crlf);
	else
		sieve_mime_edit_text_entity(dest, r->text, r->text_len, crlf, true);
	sieve_fields_free(&hdr);
	return 0;
}

int sieve_mime_edit_replace(const char *data, size_t size, const struct mime_part *part,
			    const struct sieve_mime_replace *replace,
			    struct str *dest, const char **error_r)
{
	struct sieve_header hdr;
	size_t start, end;

	if (part->parent == NULL)
		return replace_message(data, size, replace, dest, error_r);
	/* one part: its header and body give way to the new entity; the
	 * line break before the next boundary stays the boundary's */
	sieve_fields_parse(data, size, &hdr);
	start = (size_t)part->header_offset;
	end = (size_t)(part->body_offset + part->body_size);
	str_append_n(dest, data, start);
	if (replace->mime)
		write_mime_entity(dest, replace->text, replace->text_len, hdr.crlf);
	else
		sieve_mime_edit_text_entity(dest, replace->text, replace->text_len, hdr.crlf, false);
	str_append_n(dest, data + end, size - end);
	sieve_fields_free(&hdr);
	return 0;
}

void sieve_mime_edit_date(struct str *dest, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	str_printfa(dest, "%s, %02d %s %04d %02d:%02d:%02d +0000",
		    weekdays[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool name_listed(const struct sieve_raw_field *f, const char *const *names, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (sieve_fields_name_is(f, names[i]))
			return true;
	}
	return false;
}

/* A boundary found in neither the message nor the text. */
static void make_boundary(const char *data, size_t size, const char *text, size_t text_len,
			  struct str *boundary_r)
{
	uint32_t seed = mem_hash(data, size) ^ mem_hash(text, text_len);

	for (unsigned int n = 0;; n++) {
		str_truncate(boundary_r, 0);
		str_printfa(boundary_r, "roost-enclose-%08x-%u", seed, n);
		if (memmem(data, size, boundary_r->data, boundary_r->len) == NULL &&
		    memmem(text, text_len, boundary_r->data, boundary_r->len) == NULL)
			return;
	}
}

void sieve_mime_edit_enclose(const char *data, size_t size,
			     const struct sieve_mime_enclose *e, struct str *dest)
{
	struct sieve_header hdr;
	struct str boundary = STR_INIT;
	bool crlf, have_date = false, have_from = false;
	const char *br;

	sieve_fields_parse(data, size, &hdr);
	crlf = hdr.crlf;
	br = line_break(crlf);
	for (size_t i = 0; i < hdr.count; i++) {
		const struct sieve_raw_field *f = &hdr.fields[i];
		bool is_subject = sieve_fields_name_is(f, "Subject");

		if (is_mime_field(f) || (is_subject && e->subject != NULL))
			continue;
		if (name_listed(f, e->headers, e->header_count) ||
		    (is_subject && e->subject == NULL)) {
			copy_field(dest, data, f, NULL, crlf, i + 1 == hdr.count && hdr.unterminated);
			have_date = have_date || sieve_fields_name_is(f, "Date");
			have_from = have_from || sieve_fields_name_is(f, "From");
		}
	}
	if (e->subject != NULL && sieve_fields_value_is_valid(e->subject, strlen(e->subject)))
		sieve_fields_write(dest, "Subject", e->subject, strlen(e->subject), crlf);
	if (!have_date) {
		str_append(dest, "Date: ");
		sieve_mime_edit_date(dest, e->date);
		str_append(dest, br);
	}
	if (!have_from && e->from != NULL && check_from(e->from) > 0)
		sieve_fields_write(dest, "From", e->from, strlen(e->from), crlf);
	make_boundary(data, size, e->text, e->text_len, &boundary);
	str_printfa(dest, "MIME-Version: 1.0%sContent-Type: multipart/mixed; boundary=\"%s\"%s%s",
		    br, str_c(&boundary), br, br);
	str_printfa(dest, "--%s%s", str_c(&boundary), br);
	sieve_mime_edit_text_entity(dest, e->text, e->text_len, crlf, false);
	str_printfa(dest, "%s--%s%sContent-Type: message/rfc822%s", br, str_c(&boundary), br, br);
	if (!is_7bit_text(data, size))
		str_printfa(dest, "Content-Transfer-Encoding: 8bit%s", br);
	str_append(dest, br);
	str_append_n(dest, data, size);
	str_printfa(dest, "%s--%s--%s", br, str_c(&boundary), br);
	str_free(&boundary);
	sieve_fields_free(&hdr);
}
