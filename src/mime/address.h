/* address.h: RFC 5322 address lists (section 3.4 and the obsolete forms
 * of section 4.4) as the ENVELOPE and the address SEARCH/SORT keys need
 * them.
 *
 * Tolerant: whatever the input, the result is a list of addresses and
 * group markers; no input fails.  Display names are kept as they appear
 * (quotes removed, quoted-pairs unescaped, RFC 2047 encoded words NOT
 * decoded: the ENVELOPE carries them raw; use mime_header_decode_utf8()
 * for display).  Nothing here knows IMAP. */
#ifndef ROOST_MIME_ADDRESS_H
#define ROOST_MIME_ADDRESS_H

#include "base/base.h"
#include "base/pool.h"
#include "base/str.h"

/* Addresses beyond this count in one field are dropped. */
#define MIME_ADDRESS_MAX_COUNT 10000

struct mime_address {
	struct mime_address *next;
	/* display-name, or the comment of "addr (Comment)" when there is no
	 * display name; NULL when there is none */
	const char *name;
	/* obs-route without the final ":", e.g. "@a,@b"; NULL when none */
	const char *route;
	/* local-part (quoted local parts unquoted); for a group start the
	 * group name; NULL for a group end */
	const char *mailbox;
	/* domain; NULL for group markers.  An address without "@" gets the
	 * domain "" (writers choose what to show) */
	const char *domain;
	/* A group start (mailbox = display name, domain NULL) or end (all
	 * NULL), as RFC 9051 represents groups. */
	bool is_group_start, is_group_end;
	/* The address could not be parsed cleanly (missing local part or
	 * domain, stray bytes); it is still reported as well as possible. */
	bool is_invalid;
};

/* address-list = (address *("," address)) / obs-addr-list
 * address      = mailbox / group
 * mailbox      = name-addr / addr-spec
 * name-addr    = [display-name] angle-addr
 * angle-addr   = [CFWS] "<" [obs-route] addr-spec ">" [CFWS]
 * group        = display-name ":" [group-list] ";" [CFWS]
 * Parses an unfolded header value into a list allocated from pool (the
 * list lives as long as the pool).  Returns NULL for a value without
 * any address.  A group whose ";" is missing is closed at the end. */
struct mime_address *mime_address_parse(struct pool *pool, const char *value);

/* Appends the addresses of `list` (from mime_address_parse()) to dest in
 * the normalised form that SEARCH FROM/TO/CC/BCC match besides the field
 * as written: the comments and white space that RFC 5322 allows inside
 * an address (CFWS, sections 3.2.2 and 3.4.1) removed, the local part
 * unquoted, so that "<user (c)@ (c) example.org>" reads
 * "user@example.org".  Each mailbox is "name <local-part@domain>", or
 * "local-part@domain" when it has no name (just "local-part" without a
 * domain), the name RFC 2047-decoded to UTF-8; a group is "name: " its
 * mailboxes ";"; entries are separated by ", ".  The route is left out.
 * Nothing is appended for an empty list. */
void mime_address_write_normalised(const struct mime_address *list, struct str *dest);

#endif
