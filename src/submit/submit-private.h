/* submit-private.h: what the files of src/submit share: the pieces of a
 * composed message (compose.c).  Nothing outside src/submit includes
 * this. */
#ifndef ROOST_SUBMIT_PRIVATE_H
#define ROOST_SUBMIT_PRIVATE_H

#include "submit/submit.h"

/* origin's hostname, or this host's name (gethostname(), "localhost"
 * when it has none); static storage. */
const char *submit_compose_hostname(const struct submit_origin *origin);
/* Appends the fields every composed message starts with: Date (origin's
 * date or now, RFC 5322 3.3, in UTC) and a new Message-ID at the
 * hostname. */
void submit_compose_begin(struct str *dest, const struct submit_origin *origin);
/* Appends "NAME: VALUE" CRLF, the value as given but for CR, LF and NUL,
 * which become spaces (no field may smuggle in another). */
void submit_compose_field(struct str *dest, const char *name, const char *value);
/* Appends "NAME: TEXT" CRLF for unstructured UTF-8 text: as it is when
 * printable ASCII without "=?", else as RFC 2047 B encoded words of at
 * most 75 characters on folded lines; invalid UTF-8 becomes U+FFFD. */
void submit_compose_text_field(struct str *dest, const char *name, const char *text);
/* The original's Subject decoded to UTF-8 (RFC 2047) into utf8 (emptied
 * first).  1 if it has one, 0 if not. */
int submit_compose_orig_subject(const void *header, size_t len, struct str *utf8);
/* Appends In-Reply-To and References for a reply to the message with
 * this header (RFC 5322 3.6.4), nothing when it has no Message-ID;
 * *msgid_r (emptied first) gets its Message-ID. */
void submit_compose_reply_refs(struct str *dest, const void *header, size_t len,
			       struct str *msgid_r);
/* Appends Content-Type text/plain; charset=utf-8, the transfer encoding
 * (7bit for ASCII text with short lines, else quoted-printable), the
 * empty line and the text encoded, its line ends CRLF, ending in CRLF. */
void submit_compose_text_part(struct str *dest, const char *text);
/* The next line of [*p, end): *line_r and *len_r without its line end
 * (LF, CRLF or a CR alone), *p moved past it.  1, or 0 at the end. */
int submit_compose_next_line(const char **p, const char *end, const char **line_r,
			     size_t *len_r);
/* Appends data[0..len) with every line end made CRLF, and a final CRLF
 * when it does not end in one. */
void submit_compose_lines(struct str *dest, const void *data, size_t len);
/* Appends a new random multipart boundary (no quoting needed). */
void submit_compose_boundary(struct str *dest);
/* Whether s[0..len) is all 7-bit (no byte above 127, no NUL). */
bool submit_compose_is_7bit(const void *s, size_t len);

/* ---- smtp.c and sendmail.c: submit_send()'s two ways, called with
 * the envelope checked and SIGPIPE blocked; as submit_send() ---- */
int submit_smtp_send(const struct roost_config *conf, const char *sender,
		     const char *const *rcpts, size_t rcpt_count, const void *msg, size_t len,
		     enum submit_error *error_class_r, char **error_r);
int submit_sendmail_send(const struct roost_config *conf, const char *sender,
			 const char *const *rcpts, size_t rcpt_count, const void *msg,
			 size_t len, enum submit_error *error_class_r, char **error_r);

#endif
