/* editheader.c: addheader and deleteheader (RFC 5293) on message bytes.
 * See editheader.h. */
#include "sieve/editheader.h"

#include <stdlib.h>
#include <string.h>

#include "sieve/fields.h"

/* RFC 5293 6: "implementations MUST NOT permit attempts to delete
 * "Received" and "Auto-Submitted" header fields".  RFC 5703 5: "any
 * Original-Subject or Original-From headers added by the system cannot be
 * modified or removed" (and MAY not be added). */
static const char *const never_delete[] = {
	"received", "auto-submitted", "original-subject", "original-from",
};
static const char *const never_add[] = {
	"original-subject", "original-from",
};

static bool in_list(const char *name, const char *const *list, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (str_eq_icase(name, list[i]))
			return true;
	}
	return false;
}

bool sieve_editheader_may_delete(const char *name)
{
	return !in_list(name, never_delete, N_ELEMENTS(never_delete));
}

bool sieve_editheader_may_add(const char *name)
{
	return !in_list(name, never_add, N_ELEMENTS(never_add));
}

int sieve_editheader_add(const char *data, size_t size, const char *name,
			 const char *value, size_t value_len, bool last,
			 struct str *dest, const char **error_r)
{
	struct sieve_header hdr;
	size_t at;

	if (!sieve_fields_name_is_valid(name)) {
		*error_r = "addheader: the field name is not a valid RFC 5322 field-name";
		return -1;
	}
	if (value_len > SIEVE_EDITHEADER_MAX_VALUE) {
		*error_r = "addheader: the value is longer than the limit";
		return -1;
	}
	if (!sieve_fields_value_is_valid(value, value_len)) {
		*error_r = "addheader: the value has a NUL, a bare line break or invalid UTF-8";
		return -1;
	}
	if (!sieve_editheader_may_add(name)) {
		str_append_n(dest, data, size);
		return 0;
	}
	sieve_fields_parse(data, size, &hdr);
	/* first: before the first line that does not start with white
	 * space, which a broken message may have before its fields (the
	 * new field must not take it as its continuation) */
	at = last ? hdr.end : 0;
	while (!last && at < hdr.end && (data[at] == ' ' || data[at] == '\t')) {
		const char *lf = memchr(data + at, '\n', hdr.end - at);

		at = lf == NULL ? hdr.end : (size_t)(lf - data) + 1;
	}
	str_append_n(dest, data, at);
	if (at == hdr.end && hdr.unterminated)
		str_append(dest, hdr.crlf ? "\r\n" : "\n");
	sieve_fields_write(dest, name, value, value_len, hdr.crlf);
	str_append_n(dest, data + at, size - at);
	sieve_fields_free(&hdr);
	return 1;
}

/* Whether field number `nth` (0-based) of the `total` fields named
 * del->name is one :index chooses. */
static bool index_chooses(const struct sieve_editheader_delete *del, size_t nth, size_t total)
{
	if (del->index == 0)
		return true;
	if (del->last)
		return del->index <= total && nth == total - del->index;
	return nth + 1 == del->index;
}

int sieve_editheader_delete(const char *data, size_t size,
			    const struct sieve_editheader_delete *del,
			    struct str *dest, const char **error_r)
{
	struct sieve_header hdr;
	struct str value = STR_INIT;
	size_t total = 0, nth = 0, copied = 0, start_len = dest->len;
	int deleted = 0;

	if (!sieve_fields_name_is_valid(del->name)) {
		*error_r = "deleteheader: the field name is not a valid RFC 5322 field-name";
		return -1;
	}
	if (del->last && del->index == 0) {
		*error_r = "deleteheader: :last requires :index";
		return -1;
	}
	if (!sieve_editheader_may_delete(del->name)) {
		str_append_n(dest, data, size);
		return 0;
	}
	sieve_fields_parse(data, size, &hdr);
	for (size_t i = 0; i < hdr.count; i++) {
		if (sieve_fields_name_is(&hdr.fields[i], del->name))
			total++;
	}
	for (size_t i = 0; i < hdr.count; i++) {
		const struct sieve_raw_field *f = &hdr.fields[i];
		int ret = 1;

		if (!sieve_fields_name_is(f, del->name))
			continue;
		if (!index_chooses(del, nth++, total))
			continue;
		if (del->match != NULL) {
			str_truncate(&value, 0);
			sieve_fields_value_utf8(f, &value);
			ret = del->match(del->ctx, str_c(&value), value.len);
		}
		if (ret < 0) {
			*error_r = "deleteheader: matching a value failed";
			str_truncate(dest, start_len);
			deleted = -1;
			break;
		}
		if (ret == 0)
			continue;
		str_append_n(dest, data + copied, f->start - copied);
		copied = f->end;
		deleted++;
	}
	if (deleted >= 0)
		str_append_n(dest, data + copied, size - copied);
	str_free(&value);
	sieve_fields_free(&hdr);
	return deleted;
}
