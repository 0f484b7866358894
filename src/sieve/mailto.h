/* mailto.h: the "mailto" notification method of Sieve's enotify (RFC
 * 5435, RFC 5436): parsing and checking a mailto URI (RFC 6068) as a
 * notify method.
 *
 *   mailtoURI = "mailto:" [ to ] [ hfields ]
 *   to        = addr-spec *("," addr-spec)
 *   hfields   = "?" hfield *( "&" hfield )
 *   hfield    = hfname "=" hfvalue
 *   hfname    = *qchar;  hfvalue = *qchar
 *   qchar     = unreserved / pct-encoded / some-delims
 *   some-delims = "!" / "$" / "'" / "(" / ")" / "*" / "+" / "," / ";" / ":" / "@"
 *
 * (Header values may also hold "/" and "?" unescaped, as RFC 3986
 * queries do; the "?" that starts hfields is the first one.)
 *
 * The recipients are those of `to` and of the "to" and "cc" URI headers
 * (RFC 5436 2.7: "the address(es) specified in the URI (including any URI
 * headers where the hname is "to" or "cc")").  URI headers that RFC 5436
 * says MUST be ignored (from, auto-submitted, received, message-id,
 * date) are dropped, and so are the ones that would let a script forge
 * the notification's trace or MIME structure (sender, return-path,
 * delivered-to, bcc, resent-*, mime-version, content-*); "subject" and
 * "body" are kept apart; any other header is kept for the notification.
 * Nothing here sends mail or knows the interpreter. */
#ifndef ROOST_SIEVE_MAILTO_H
#define ROOST_SIEVE_MAILTO_H

#include "base/base.h"
#include "base/str.h"

#include <time.h>

struct pool;
struct submit_notify;

/* A URI with more recipients or kept headers is invalid (RFC 5435 8:
 * one script must not become a mass mailer). */
#define SIEVE_MAILTO_MAX_RECIPIENTS 8
#define SIEVE_MAILTO_MAX_HEADERS 16
/* bytes of one recipient address (RFC 5321 4.5.3.1.3: a path is at most
 * 256 octets with its angle brackets) */
#define SIEVE_MAILTO_MAX_ADDRESS 254
/* bytes of a URI header name (the field written must fold) */
#define SIEVE_MAILTO_MAX_NAME 64

struct sieve_mailto_header {
	const char *name;	/* as written, percent-decoded */
	const char *value;	/* percent-decoded UTF-8 */
};

struct sieve_mailto_recipient {
	const char *address;	/* an addr-spec, "local@domain" */
	bool cc;		/* from a "cc" URI header (else "to") */
};

struct sieve_mailto {
	/* without duplicates (ASCII case-insensitive), in the order they
	 * appear; none for "mailto:" (a valid URI, as RFC 5435 4's example
	 * and Pigeonhole take it: a notify to it has no effect) */
	struct sieve_mailto_recipient *recipients;
	size_t recipient_count;
	/* the kept URI headers, in order */
	struct sieve_mailto_header *headers;
	size_t header_count;
	const char *subject;	/* the "subject" URI header, or NULL */
	const char *body;	/* the "body" URI header, or NULL */
};

/* Parses `uri` ("mailto:" in any case, then the rest).  Returns 0 with
 * *mailto_r filled from pool, or -1 with *error_r (pool memory) saying
 * what is wrong: not a mailto URI, a bad %-escape or character, an
 * address that is not an RFC 5322 addr-spec or is longer than
 * SIEVE_MAILTO_MAX_ADDRESS, a header name that is not a field-name or is
 * longer than SIEVE_MAILTO_MAX_NAME, a header value with NUL, CR or LF
 * (the body may have line breaks), "subject" or "body" twice, a value
 * that is not UTF-8, or more than the limits above. */
int sieve_mailto_parse(struct pool *pool, const char *uri, struct sieve_mailto *mailto_r,
		       const char **error_r);

/* Fills the recipients (To and Cc as the URI gives them), the kept URI
 * headers, the subject and the body of *notify_r (memory from pool) from
 * `mailto`; the caller sets the rest (the triggering message, from,
 * owner, :message, :importance) and composes the notification with
 * submit_notify_compose() (RFC 5436 2.7). */
void sieve_mailto_notify_fill(const struct sieve_mailto *mailto, struct pool *pool,
			      struct submit_notify *notify_r);

/* enotify's method dispatch (RFC 5435 4, 5), for the one method Roost
 * has.  True when every URI is "mailto:" and sieve_mailto_parse()
 * accepts it (valid_notify_method); the same check the notify action
 * makes. */
bool sieve_mailto_is_valid(const char *uri);

/* notify_method_capability (RFC 5435 5, RFC 5436 2.2): the value of
 * `capability` (case-insensitive) for `uri`: "maybe" for "online" (Roost
 * cannot know whether the recipient is online), NULL when the URI is not
 * a valid mailto URI or the capability is unknown (the test then fails
 * without an error).  A static string. */
const char *sieve_mailto_capability(const char *uri, const char *capability);

/* set :encodeurl (RFC 5435 6): appends src[0..len) to dest with every
 * octet outside RFC 3986 "unreserved" (ALPHA DIGIT "-" "." "_" "~")
 * percent-encoded ("%2F", upper-case hex). */
void sieve_mailto_encodeurl(const char *src, size_t len, struct str *dest);

#endif
