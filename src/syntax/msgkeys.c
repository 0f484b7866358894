/* msgkeys.c: SORT and THREAD keys from a parsed header, and their
 * serialised form (see msgkeys.h for the format). */
#include "syntax/msgkeys.h"
#include "base/pool.h"
#include "mime/address.h"
#include "mime/date.h"
#include "mime/header.h"
#include "mime/lex.h"
#include "syntax/basesubject.h"
#include "syntax/msgid.h"

#include <stdio.h>
#include <string.h>

#define MSGKEYS_MAGIC 'K'
/* 2: a field that begins with a group sorts by the group's name (see
 * first_address()); version 1 skipped to the first mailbox.
 * 3: a comment inside an addr-spec is no display name (mime/address.c);
 * version 2 sorted "user (c)@ (c) example.org" by "c".  The index
 * (store/sqlite-index/cache.c) takes a row with keys of another version
 * for one without a model, which is parsed again as a whole, so this
 * also remakes the ENVELOPE cached with them. */
/* A new version makes every stored blob stale; the SQLite index also
 * keeps the sent date apart (messages.sentdate, store/sqlite-index/cache.c),
 * so an index migration must set that column to NULL with the bump. */
#define MSGKEYS_VERSION 3
#define MSGKEYS_FLAG_HAS_SENT_DATE 0x01
#define MSGKEYS_FLAG_REPLY_OR_FORWARD 0x02

static void put_varint(struct str *dest, uint64_t v)
{
	while (v >= 0x80) {
		str_append_c(dest, (char)(0x80 | (v & 0x7f)));
		v >>= 7;
	}
	str_append_c(dest, (char)v);
}

static void put_str(struct str *dest, const char *s, size_t len)
{
	put_varint(dest, len);
	str_append_n(dest, s, len);
	str_append_c(dest, '\0');
}

/* RFC 5256 section 2.2: "If the time is also invalid, the time SHOULD be
 * treated as 00:00:00."  When the whole value does not parse, the date
 * part alone ([day-of-week ","] day month year) is tried at 00:00:00
 * UTC.  Returns 0 with *time_r, or -1 (no usable date: INTERNALDATE). */
static int sent_date_parse(const char *value, time_t *time_r)
{
	char buf[128];
	const char *p = value, *tok[3];
	size_t tok_len[3];
	int tz;

	if (mime_date_parse(value, time_r, &tz) == 0)
		return 0;
	const char *comma = strchr(value, ',');
	if (comma != NULL)
		p = comma + 1;
	for (int i = 0; i < 3; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		tok[i] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		tok_len[i] = (size_t)(p - tok[i]);
		if (tok_len[i] == 0 || tok_len[i] > 16)
			return -1;
	}
	snprintf(buf, sizeof(buf), "%.*s %.*s %.*s 00:00:00 +0000",
		 (int)tok_len[0], tok[0], (int)tok_len[1], tok[1],
		 (int)tok_len[2], tok[2]);
	return mime_date_parse(buf, time_r, &tz);
}

/* The first address of a field, or NULL.
 *
 * RFC 5256 section 3 sorts CC, FROM and TO by "[IMAP] addr-mailbox of the
 * first "cc" address", and in the [IMAP] ENVELOPE (RFC 9051 section
 * 7.5.2) "[RFC5322] group syntax is indicated by a special form of
 * address structure in which the host name field is NIL. ... If the
 * mailbox name field is non-NIL, this is the start of a group marker, and
 * the mailbox name field holds the group name phrase."  So when a field
 * begins with a group ("To: a: xx@xx.org, yy@yy.org;"), its first address
 * is the group start and the key is the group name, whether the group
 * has members or not ("Cc: undisclosed-recipients:;") and whatever
 * follows it.  RFC 5957's DISPLAYFROM and DISPLAYTO take the display name
 * of that first address, and a group's display name is its name (RFC
 * 5322 section 3.4: group = display-name ":" [group-list] ";" [CFWS]).
 * Dovecot sorts groups the same way; a field that begins with a mailbox
 * is unchanged.  The group name is RFC 2047-decoded for every key, as a
 * display name is (it is a phrase, not an addr-spec). */
static const struct mime_address *first_address(struct pool *pool, const char *value)
{
	if (value == NULL)
		return NULL;
	for (const struct mime_address *a = mime_address_parse(pool, value); a != NULL;
	     a = a->next) {
		if (!a->is_group_end)
			return a;
	}
	return NULL;
}

static void put_mailbox(struct str *dest, const struct mime_address *addr, struct str *tmp)
{
	const char *mailbox = addr == NULL || addr->mailbox == NULL ? "" : addr->mailbox;

	if (addr != NULL && addr->is_group_start) {
		str_truncate(tmp, 0);
		mime_header_decode_utf8(mailbox, strlen(mailbox), tmp);
		put_str(dest, tmp->data == NULL ? "" : tmp->data, tmp->len);
		return;
	}
	put_str(dest, mailbox, strlen(mailbox));
}

static bool is_blank(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!mime_lex_is_space((unsigned char)*s))
			return false;
	}
	return true;
}

void msgkeys_display_key(const char *display_name, const char *mailbox,
			 const char *host, struct str *dest)
{
	str_truncate(dest, 0);
	str_append_n(dest, "", 0);
	if (display_name != NULL && !is_blank(display_name)) {
		str_append(dest, display_name);
		return;
	}
	if (mailbox == NULL)
		return;
	str_append(dest, mailbox);
	if (host != NULL && *host != '\0') {
		str_append_c(dest, '@');
		str_append(dest, host);
	}
}

/* RFC 5957 section 3: "the display-name ... if present and not empty,
 * otherwise the addr-spec"; the display name is RFC 2047-decoded. */
static void put_display(struct str *dest, const struct mime_address *addr,
			struct str *tmp, struct str *key)
{
	const char *name = NULL;

	str_truncate(tmp, 0);
	if (addr != NULL && addr->is_group_start) {
		/* the group name (first_address()); no addr-spec to fall
		 * back on when it is blank */
		mime_header_decode_utf8(addr->mailbox, strlen(addr->mailbox), tmp);
		msgkeys_display_key(str_c(tmp), NULL, NULL, key);
		put_str(dest, key->data == NULL ? "" : key->data, key->len);
		return;
	}
	if (addr != NULL && addr->name != NULL) {
		mime_header_decode_utf8(addr->name, strlen(addr->name), tmp);
		name = str_c(tmp);
	}
	msgkeys_display_key(name, addr == NULL ? NULL : addr->mailbox,
			    addr == NULL ? NULL : addr->domain, key);
	put_str(dest, key->data == NULL ? "" : key->data, key->len);
}

static void put_msgid(struct str *dest, const char *value, struct str *tmp)
{
	const char *p = value;

	if (value != NULL && msgid_next(&p, tmp) == 1)
		put_str(dest, tmp->data, tmp->len);
	else
		put_str(dest, "", 0);
}

void msgkeys_build(const struct mime_part *root, struct str *dest)
{
	struct pool *pool = pool_create(1024);
	struct str tmp = STR_INIT, key = STR_INIT, refs = STR_INIT;
	const char *const *fields = root->fields;
	const struct mime_address *from, *to;
	uint8_t flags = 0;
	time_t sent = 0;
	bool refwd = false;

	if (fields[MIME_FIELD_DATE] != NULL &&
	    sent_date_parse(fields[MIME_FIELD_DATE], &sent) == 0)
		flags |= MSGKEYS_FLAG_HAS_SENT_DATE;
	if (fields[MIME_FIELD_SUBJECT] != NULL) {
		const char *subject = fields[MIME_FIELD_SUBJECT];

		mime_header_decode_utf8(subject, strlen(subject), &tmp);
		basesubject_extract(tmp.data == NULL ? "" : tmp.data, tmp.len, &key, &refwd);
		if (refwd)
			flags |= MSGKEYS_FLAG_REPLY_OR_FORWARD;
	}

	str_append_c(dest, MSGKEYS_MAGIC);
	str_append_c(dest, MSGKEYS_VERSION);
	str_append_c(dest, (char)flags);
	int64_t s = (int64_t)sent;
	put_varint(dest, ((uint64_t)s << 1) ^ (uint64_t)(s >> 63));

	from = first_address(pool, fields[MIME_FIELD_FROM]);
	to = first_address(pool, fields[MIME_FIELD_TO]);
	put_mailbox(dest, from, &tmp);
	put_mailbox(dest, to, &tmp);
	put_mailbox(dest, first_address(pool, fields[MIME_FIELD_CC]), &tmp);
	/* key still holds the base subject: write it after the display
	 * keys, which reuse tmp */
	struct str subject = key;

	key = (struct str)STR_INIT;
	put_display(dest, from, &tmp, &key);
	put_display(dest, to, &tmp, &key);
	put_str(dest, subject.data == NULL ? "" : subject.data, subject.len);
	str_free(&subject);
	put_msgid(dest, fields[MIME_FIELD_MESSAGE_ID], &tmp);
	put_msgid(dest, fields[MIME_FIELD_IN_REPLY_TO], &tmp);

	size_t count = 0;
	if (fields[MIME_FIELD_REFERENCES] != NULL) {
		const char *p = fields[MIME_FIELD_REFERENCES];

		while (msgid_next(&p, &tmp) == 1) {
			str_append_n(&refs, tmp.data, tmp.len);
			str_append_c(&refs, '\0');
			count++;
		}
	}
	put_varint(dest, count);
	put_varint(dest, refs.len);
	if (refs.len > 0)
		str_append_n(dest, refs.data, refs.len);

	str_free(&tmp);
	str_free(&key);
	str_free(&refs);
	pool_destroy(&pool);
}

/* ---- reading ---- */

bool msgkeys_is_current(const void *data, size_t size)
{
	const uint8_t *p = data;

	return size >= 2 && p[0] == MSGKEYS_MAGIC && p[1] == MSGKEYS_VERSION;
}

struct reader {
	const uint8_t *p, *end;
};

static int get_varint(struct reader *r, uint64_t *v_r)
{
	uint64_t v = 0;

	for (unsigned int shift = 0; shift < 64; shift += 7) {
		if (r->p == r->end)
			return -1;
		uint8_t b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*v_r = v;
			return 0;
		}
	}
	return -1;
}

static int get_str(struct reader *r, const char **s_r)
{
	uint64_t len;

	if (get_varint(r, &len) < 0 || len >= (uint64_t)(r->end - r->p) ||
	    r->p[len] != '\0')
		return -1;
	*s_r = (const char *)r->p;
	r->p += len + 1;
	return 0;
}

int msgkeys_deserialize(struct msgkeys *keys_r, const void *data,
			size_t size)
{
	struct reader r = { data, (const uint8_t *)data + size };
	struct msgkeys k;
	uint64_t v, count, len;

	memset(&k, 0, sizeof(k));
	if (size < 3 || !msgkeys_is_current(data, size) ||
	    (r.p[2] & ~(MSGKEYS_FLAG_HAS_SENT_DATE | MSGKEYS_FLAG_REPLY_OR_FORWARD)) != 0)
		return -1;
	k.has_sent_date = (r.p[2] & MSGKEYS_FLAG_HAS_SENT_DATE) != 0;
	k.is_reply_or_forward = (r.p[2] & MSGKEYS_FLAG_REPLY_OR_FORWARD) != 0;
	r.p += 3;
	if (get_varint(&r, &v) < 0)
		return -1;
	k.sent_date = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
	if (get_str(&r, &k.from) < 0 || get_str(&r, &k.to) < 0 ||
	    get_str(&r, &k.cc) < 0 || get_str(&r, &k.displayfrom) < 0 ||
	    get_str(&r, &k.displayto) < 0 || get_str(&r, &k.base_subject) < 0 ||
	    get_str(&r, &k.message_id) < 0 || get_str(&r, &k.in_reply_to) < 0 ||
	    get_varint(&r, &count) < 0 || get_varint(&r, &len) < 0 ||
	    len != (uint64_t)(r.end - r.p))
		return -1;
	/* exactly `count` NUL-terminated strings fill the rest */
	uint64_t nuls = 0;
	for (const uint8_t *q = r.p; q < r.end; q++)
		nuls += *q == '\0';
	if (nuls != count || (len > 0 && r.end[-1] != '\0'))
		return -1;
	k.references_count = (size_t)count;
	k.references = (const char *)r.p;
	*keys_r = k;
	return 0;
}
