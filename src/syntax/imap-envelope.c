/* imap-envelope.c: the IMAP ENVELOPE.  See imap-envelope.h. */
#include "syntax/imap-envelope.h"

#include "base/pool.h"
#include "mime/address.h"

static void write_address(struct str *dest, const struct mime_address *a,
			  enum imap_envelope_flags flags)
{
	enum imap_quote_flags quote = imap_envelope_quote_flags(flags);
	str_append_c(dest, '(');
	if (a->is_group_end) {
		str_append(dest, "NIL NIL NIL NIL");
	} else if (a->is_group_start) {
		str_append(dest, "NIL NIL ");
		imap_quote_nstring_c(dest, a->mailbox, quote);
		str_append(dest, " NIL");
	} else {
		imap_quote_nstring_c(dest, a->name, quote);
		str_append_c(dest, ' ');
		imap_quote_nstring_c(dest, a->route, quote);
		str_append_c(dest, ' ');
		imap_quote_nstring_c(dest, a->mailbox == NULL ||
				     a->mailbox[0] == '\0' ?
				     "MISSING_MAILBOX" : a->mailbox, quote);
		str_append_c(dest, ' ');
		imap_quote_nstring_c(dest, a->domain == NULL ||
				     a->domain[0] == '\0' ?
				     "MISSING_DOMAIN" : a->domain, quote);
	}
	str_append_c(dest, ')');
}

static void write_address_list(struct str *dest,
			       const struct mime_address *list,
			       enum imap_envelope_flags flags)
{
	if (list == NULL) {
		str_append(dest, "NIL");
		return;
	}
	str_append_c(dest, '(');
	for (; list != NULL; list = list->next)
		write_address(dest, list, flags);
	str_append_c(dest, ')');
}

void imap_envelope_write(struct str *dest, const struct mime_part *message,
			 enum imap_envelope_flags flags)
{
	enum imap_quote_flags quote = imap_envelope_quote_flags(flags);
	const char *const *f = message->fields;
	struct pool *pool;
	struct mime_address *from, *sender, *reply_to;

	if ((message->flags & MIME_PART_FLAG_IS_MESSAGE) == 0) {
		str_append(dest, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		return;
	}
	pool = pool_create(1024);
#define PARSE(field) \
	(f[field] == NULL ? NULL : mime_address_parse(pool, f[field]))
	from = PARSE(MIME_FIELD_FROM);
	sender = PARSE(MIME_FIELD_SENDER);
	reply_to = PARSE(MIME_FIELD_REPLY_TO);

	str_append_c(dest, '(');
	imap_quote_nstring_c(dest, f[MIME_FIELD_DATE], quote);
	str_append_c(dest, ' ');
	imap_quote_nstring_c(dest, f[MIME_FIELD_SUBJECT], quote);
	str_append_c(dest, ' ');
	write_address_list(dest, from, flags);
	str_append_c(dest, ' ');
	write_address_list(dest, sender != NULL ? sender : from, flags);
	str_append_c(dest, ' ');
	write_address_list(dest, reply_to != NULL ? reply_to : from, flags);
	str_append_c(dest, ' ');
	write_address_list(dest, PARSE(MIME_FIELD_TO), flags);
	str_append_c(dest, ' ');
	write_address_list(dest, PARSE(MIME_FIELD_CC), flags);
	str_append_c(dest, ' ');
	write_address_list(dest, PARSE(MIME_FIELD_BCC), flags);
	str_append_c(dest, ' ');
	imap_quote_nstring_c(dest, f[MIME_FIELD_IN_REPLY_TO], quote);
	str_append_c(dest, ' ');
	imap_quote_nstring_c(dest, f[MIME_FIELD_MESSAGE_ID], quote);
	str_append_c(dest, ')');
#undef PARSE
	pool_destroy(&pool);
}
