/* sort.h: the ordering of IMAP SORT (RFC 5256 section 3) and of the
 * RFC 5957 DISPLAYFROM/DISPLAYTO keys, over keys the caller extracted.
 *
 * This module only orders: it knows no IMAP syntax, reads no message and
 * no index.  The caller (the SORT command, next to the store) fills one
 * `struct sort_msg` per message that matched the search, from the keys
 * cached at delivery, and writes the result's msn or uid list itself.
 *
 * Collation.  RFC 5256 section 7 requires the rules of I18NLEVEL=1 (RFC
 * 5255): "the SORT and THREAD extensions MUST collate strings according
 * to the i;unicode-casemap collation described in [UNICASEMAP]".  The
 * drafts before RFC 5256 named i;ascii-casemap; RFC 5256 replaced it, so
 * every string key here (CC, FROM, SUBJECT, TO, DISPLAYFROM, DISPLAYTO)
 * is compared with i;unicode-casemap (base/casemap.h).  "The empty
 * string always collates before non-empty strings", which that gives. */
#ifndef ROOST_SEARCH_SORT_H
#define ROOST_SEARCH_SORT_H

#include "base/base.h"
#include "base/str.h"

enum sort_key {
	/* INTERNALDATE, date and time */
	SORT_KEY_ARRIVAL,
	/* addr-mailbox of the first Cc address */
	SORT_KEY_CC,
	/* sent date and time (RFC 5256 section 2.2) */
	SORT_KEY_DATE,
	/* addr-mailbox of the first From address */
	SORT_KEY_FROM,
	/* RFC822.SIZE */
	SORT_KEY_SIZE,
	/* base subject (syntax/basesubject.h) */
	SORT_KEY_SUBJECT,
	/* addr-mailbox of the first To address */
	SORT_KEY_TO,
	/* RFC 5957: display name of the first From / To address, or its
	 * addr-spec when it has none (see msgkeys_display_key()) */
	SORT_KEY_DISPLAYFROM,
	SORT_KEY_DISPLAYTO,
};
#define SORT_KEY_COUNT (SORT_KEY_DISPLAYTO + 1)

/* sort-criterion = ["REVERSE" SP] sort-key
 * REVERSE reverses this criterion only: never the implicit final
 * sequence-number criterion (RFC 5256, note under REVERSE). */
struct sort_criterion {
	enum sort_key key;
	bool reverse;
};

/* One message's keys.  Strings are NUL-terminated UTF-8 (RFC 2047 already
 * decoded; invalid UTF-8 is compared as octets, per RFC 5051), NULL meaning
 * "header absent", which RFC 5256 treats as the empty string.  They are
 * borrowed: they must stay valid during sort_messages(). */
struct sort_msg {
	/* message sequence number: the implicit last criterion, so two
	 * messages with equal keys keep mailbox order.  Distinct per call. */
	uint32_t msn;
	/* not used for ordering; carried for UID SORT */
	uint32_t uid;
	/* INTERNALDATE, seconds since the epoch (UTC) */
	int64_t arrival;
	/* Date: header as seconds since the epoch, already adjusted by its
	 * zone to UTC (RFC 5256 section 2.2: an invalid zone counts as UTC,
	 * an invalid time as 00:00:00).  When has_sent_date is false (Date:
	 * missing or unparsable) the sent date is `arrival`, as section 2.2
	 * says. */
	int64_t sent_date;
	bool has_sent_date;
	uint64_t size;
	const char *cc;
	const char *from;
	const char *to;
	/* the base subject, not the Subject header */
	const char *subject;
	const char *displayfrom;
	const char *displayto;
};

/* Sorts msgs[0..count) in place by crit[0..crit_count), then by msn.
 * crit_count may be 0 (mailbox order).  The order is total, so the
 * result does not depend on the input order; O(n log n) comparisons,
 * each string key prepared once (O(total key length) extra memory, freed
 * before returning). */
void sort_messages(struct sort_msg *msgs, size_t count,
		   const struct sort_criterion *crit, size_t crit_count);

/* Compares two messages as sort_messages() orders them: <0 when `a`
 * comes first, >0 when `b` does (never 0: equal keys and msns put `a`
 * first).  Each
 * call prepares the two messages' strings anew, so it suits placing a
 * few messages into a sorted list (a binary search), not sorting. */
int sort_msg_compare(const struct sort_msg *a, const struct sort_msg *b,
		     const struct sort_criterion *crit, size_t crit_count);

/* The sent date that RFC 5256 section 2.2 defines for `msg`: sent_date,
 * or arrival when the message has no usable Date: header. */
int64_t sort_msg_sent_date(const struct sort_msg *msg);

#endif
