/* fuzz-submit.c: libFuzzer target for src/submit's readers and
 * composers, which take a message header from anyone who sends mail and
 * strings from a user's script.
 *
 * The input is the header of a message (also used as the reason text,
 * the subject and the addresses).  The RFC 3834 checks must return;
 * every field the header iterator gives has a name without ':' or a
 * line end and a value without CR or LF; each composed message has CRLF
 * line ends only, exactly one From, To, Subject, Date, Message-ID and
 * Auto-Submitted field (nothing in the input can add or split one), and
 * the reject reports parse back into their three parts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/str.h"
#include "mime/parser.h"
#include "submit/submit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_fields(const void *header, size_t len)
{
	struct submit_header_iter iter;
	struct str value = STR_INIT;
	const char *name;
	size_t name_len;

	submit_header_init(&iter, header, len);
	while (submit_header_next(&iter, &name, &name_len, &value) > 0) {
		if (name_len == 0 || memchr(name, ':', name_len) != NULL ||
		    memchr(name, '\n', name_len) != NULL ||
		    memchr(value.data == NULL ? "" : value.data, '\n', value.len) != NULL ||
		    memchr(value.data == NULL ? "" : value.data, '\r', value.len) != NULL)
			abort();
	}
	str_free(&value);
}

/* The composed message: CRLF only, and each of the fields once. */
static void check_message(const struct str *msg)
{
	static const char *const once[] = {
		"From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted",
	};
	unsigned int counts[N_ELEMENTS(once)] = { 0 };
	struct submit_header_iter iter;
	struct str value = STR_INIT;
	const char *name;
	size_t name_len;

	for (size_t i = 0; i < msg->len; i++) {
		if ((msg->data[i] == '\n') != (i > 0 && msg->data[i - 1] == '\r' &&
					       msg->data[i] == '\n'))
			abort();
		if (msg->data[i] == '\r' && (i + 1 == msg->len || msg->data[i + 1] != '\n'))
			abort();
	}
	submit_header_init(&iter, msg->data, msg->len);
	while (submit_header_next(&iter, &name, &name_len, &value) > 0) {
		for (size_t i = 0; i < N_ELEMENTS(once); i++) {
			if (strlen(once[i]) == name_len && strncasecmp(name, once[i], name_len) == 0)
				counts[i]++;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(once); i++) {
		if (counts[i] != 1)
			abort();
	}
	str_free(&value);
}

static void check_report(const struct str *msg)
{
	struct mime_parser *parser;
	struct mime_part *root = mime_parser_parse(msg->data, msg->len, &parser);

	check_message(msg);
	if (root->child_count != 3 || strcasecmp(root->subtype, "report") != 0)
		abort();
	mime_parser_destroy(&parser);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const addrs[] = { "user@example.org" };
	char *text = xstrndup((const char *)data, size);
	const struct submit_origin origin = { .hostname = "mx.example.org", .date = 1 };
	struct str out = STR_INIT;
	const char *reason;

	check_fields(data, size);
	(void)submit_autoreply_is_allowed(data, size, text, addrs, 1, &reason);
	(void)submit_autoreply_is_addressed(data, size, addrs, 1);
	(void)submit_redirect_is_loop(data, size, addrs, 1);

	struct submit_vacation v = {
		.orig_header = data, .orig_header_len = size, .from = text, .to = text,
		.subject = size % 2 == 0 ? NULL : text, .reason = text,
	};
	submit_vacation_compose(&out, &v, &origin);
	check_message(&out);

	str_truncate(&out, 0);
	struct submit_reject r = {
		.orig_header = data, .orig_header_len = size, .user = text,
		.original_recipient = text, .to = text, .reason = text,
	};
	submit_reject_mdn_compose(&out, &r, &origin);
	check_report(&out);
	str_truncate(&out, 0);
	submit_reject_dsn_compose(&out, &r, &origin);
	check_report(&out);

	str_truncate(&out, 0);
	const char *const to[] = { text };
	const struct submit_header_field fields[] = { { text, text } };
	struct submit_notify n = {
		.orig_header = data, .orig_header_len = size, .from = text, .owner = text,
		.to = to, .to_count = 1, .subject = size % 3 == 0 ? NULL : text,
		.importance = (unsigned int)(size % 4), .headers = fields, .header_count = 1,
		.body = size % 5 == 0 ? NULL : text,
	};
	submit_notify_compose(&out, &n, &origin);
	check_message(&out);

	str_free(&out);
	free(text);
	return 0;
}
