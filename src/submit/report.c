/* report.c: the reports a Sieve reject sends back, as multipart/report
 * (RFC 6522): the MDN of "reject" (RFC 5429 2.2.1, RFC 8098 3) and the
 * DSN of a reject that must be a DSN (RFC 5429 2.1.2, RFC 3464 2).  Both
 * return the original's header only (text/rfc822-headers, RFC 6522 4),
 * so a rejected message is never sent on whole to a forged sender. */
#include "submit/submit-private.h"
#include "syntax/msgid.h"

#include <stdlib.h>
#include <string.h>

enum report_kind { REPORT_MDN, REPORT_DSN };

/* The human-readable first part (RFC 6522 3: "a human-readable
 * explanation"); the wording is RFC 5429's examples'. */
static void append_human_part(struct str *dest, enum report_kind kind, const char *boundary,
			      const struct submit_reject *reject)
{
	struct str text = STR_INIT;

	str_printfa(&text, "%s was refused by the recipient's mail filtering program.\n"
		    "The reason given %s as follows:\n\n%s\n",
		    kind == REPORT_MDN ? "The message" : "Your message",
		    kind == REPORT_MDN ? "was" : "is", reject->reason);
	str_printfa(dest, "--%s\r\n", boundary);
	submit_compose_text_part(dest, str_c(&text));
	str_free(&text);
}

/* The returned header: the third part (RFC 8098 3 (d), RFC 3464 2) */
static void append_header_part(struct str *dest, const char *boundary,
			       const struct submit_reject *reject)
{
	const char *h = reject->orig_header;
	size_t len = reject->orig_header_len;

	/* without the empty line that ends it, if it came with one */
	while (len > 0 && (h[len - 1] == '\n' || h[len - 1] == '\r'))
		len--;
	str_printfa(dest, "--%s\r\nContent-Type: text/rfc822-headers\r\n"
		    "Content-Transfer-Encoding: %s\r\n\r\n", boundary,
		    submit_compose_is_7bit(h, len) ? "7bit" : "8bit");
	submit_compose_lines(dest, h, len);
	str_printfa(dest, "\r\n--%s--\r\n", boundary);
}

/* The header of the report up to the end of its Content-Type field. */
static void append_report_header(struct str *dest, enum report_kind kind, const char *from,
				 const char *boundary, const struct submit_reject *reject,
				 const struct submit_origin *origin)
{
	struct str subject = STR_INIT, msgid = STR_INIT;

	submit_compose_begin(dest, origin);
	submit_compose_field(dest, "From", from);
	str_append(dest, "To: <");
	for (const char *p = reject->to; *p != '\0'; p++)
		str_append_c(dest, *p == '\r' || *p == '\n' ? ' ' : *p);
	str_append(dest, ">\r\n");
	if (submit_compose_orig_subject(reject->orig_header, reject->orig_header_len,
					&subject) > 0) {
		char *orig = str_steal(&subject);
		str_printfa(&subject, "Rejected: %s", orig);
		free(orig);
	} else {
		str_append(&subject, "Rejected message");
	}
	submit_compose_text_field(dest, "Subject", str_c(&subject));
	submit_compose_reply_refs(dest, reject->orig_header, reject->orig_header_len, &msgid);
	/* RFC 3834 3.1.7; an MDN must not ask for an MDN (RFC 8098 3),
	 * and nothing here writes Disposition-Notification-To */
	str_printfa(dest, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: multipart/report; report-type=%s;\r\n"
		    "\tboundary=\"%s\"\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n",
		    kind == REPORT_MDN ? "disposition-notification" : "delivery-status",
		    boundary);
	str_free(&subject);
	str_free(&msgid);
}

/* generic-address (RFC 8098 3.2.3, RFC 3464 2.3.1) on one line */
static void append_address_field(struct str *dest, const char *name, const char *addr)
{
	str_printfa(dest, "%s: rfc822; ", name);
	for (const char *p = addr; *p != '\0'; p++)
		str_append_c(dest, *p == '\r' || *p == '\n' ? ' ' : *p);
	str_append(dest, "\r\n");
}

void submit_reject_mdn_compose(struct str *dest, const struct submit_reject *reject,
			       const struct submit_origin *origin)
{
	struct str boundary = STR_INIT, value = STR_INIT, msgid = STR_INIT;

	submit_compose_boundary(&boundary);
	append_report_header(dest, REPORT_MDN, reject->user, str_c(&boundary), reject, origin);
	append_human_part(dest, REPORT_MDN, str_c(&boundary), reject);
	/* disposition-notification-content (RFC 8098 3.1): reporting-ua,
	 * original-recipient, final-recipient, original-message-id,
	 * disposition */
	str_printfa(dest, "--%s\r\nContent-Type: message/disposition-notification\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n"
		    "Reporting-UA: %s; Roost\r\n", str_c(&boundary),
		    submit_compose_hostname(origin));
	if (reject->original_recipient != NULL)
		append_address_field(dest, "Original-Recipient", reject->original_recipient);
	append_address_field(dest, "Final-Recipient", reject->user);
	if (submit_header_get(reject->orig_header, reject->orig_header_len, "Message-ID",
			      &value) > 0) {
		const char *p = str_c(&value);
		if (msgid_next(&p, &msgid) > 0)
			str_printfa(dest, "Original-Message-ID: %s\r\n", str_c(&msgid));
	}
	/* RFC 5429 2.2.1: "deleted", with the "MDN-sent-automatically" and
	 * "automatic-action" modes (RFC 8098 3.2.6) */
	str_append(dest, "Disposition: automatic-action/MDN-sent-automatically; deleted\r\n\r\n");
	append_header_part(dest, str_c(&boundary), reject);
	str_free(&boundary);
	str_free(&value);
	str_free(&msgid);
}

void submit_reject_dsn_compose(struct str *dest, const struct submit_reject *reject,
			       const struct submit_origin *origin)
{
	struct str boundary = STR_INIT, from = STR_INIT;
	const char *host = submit_compose_hostname(origin);

	submit_compose_boundary(&boundary);
	str_printfa(&from, "Mail Delivery System <MAILER-DAEMON@%s>", host);
	append_report_header(dest, REPORT_DSN, str_c(&from), str_c(&boundary), reject, origin);
	append_human_part(dest, REPORT_DSN, str_c(&boundary), reject);
	/* delivery-status-content = per-message-fields 1*( CRLF
	 * per-recipient-fields ) (RFC 3464 2.1); RFC 5429 2.1.2: the
	 * action-value "failed" */
	str_printfa(dest, "--%s\r\nContent-Type: message/delivery-status\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n"
		    "Reporting-MTA: dns; %s\r\n\r\n", str_c(&boundary), host);
	if (reject->original_recipient != NULL)
		append_address_field(dest, "Original-Recipient", reject->original_recipient);
	append_address_field(dest, "Final-Recipient", reject->user);
	/* RFC 3463 5.7.1: "Delivery not authorized, message refused" */
	str_append(dest, "Action: failed\r\nStatus: 5.7.1\r\n\r\n");
	append_header_part(dest, str_c(&boundary), reject);
	str_free(&boundary);
	str_free(&from);
}
