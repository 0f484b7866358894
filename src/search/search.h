/* search.h: search programs and their evaluation over a mailbox's messages.
 *
 * A search program is a tree of `struct search_key`: the protocol layer
 * (imap/cmd-search.c) builds it from the client's syntax, this module
 * evaluates it message by message, on the messages that search_next()
 * hands out (those the index's answers leave possible).  It knows no IMAP syntax and no SQL: it
 * reads messages only through store/store.h.
 *
 * Keys on flags, sizes, dates and UIDs come from the index (store_msg).
 * HEADER, BODY and TEXT match decoded text (mime/text.h: RFC 2047 words,
 * transfer encodings and charsets decoded) under i;unicode-casemap, from
 * the store's full-text index where it can answer and from the store's
 * stored text otherwise, with the same results either way; SENT* read
 * the Date: field from the same stored header text. */
#ifndef ROOST_SEARCH_H
#define ROOST_SEARCH_H

#include "base/base.h"
#include "store/store.h"

struct pool;

enum search_key_type {
	/* every message */
	SEARCH_KEY_ALL,
	/* all children match (children may be none: matches all) */
	SEARCH_KEY_AND,
	/* at least one child matches */
	SEARCH_KEY_OR,
	/* the single child does not match */
	SEARCH_KEY_NOT,
	/* msn / uid within `ranges` */
	SEARCH_KEY_MSN,
	SEARCH_KEY_UID,
	/* every flag of `flags` (enum store_flag) is set / is not set */
	SEARCH_KEY_FLAGS_SET,
	SEARCH_KEY_FLAGS_UNSET,
	/* keyword index `keyword` is set; a keyword not in the mailbox's
	 * table is given as keyword = -1 and never matches */
	SEARCH_KEY_KEYWORD,
	/* this session holds \Recent */
	SEARCH_KEY_RECENT,
	/* RFC822.SIZE > number / < number */
	SEARCH_KEY_LARGER,
	SEARCH_KEY_SMALLER,
	/* internal date, as a day in the time zone it was stored with,
	 * compared with `day` (days since 1970-01-01): before, on, on or
	 * after */
	SEARCH_KEY_BEFORE,
	SEARCH_KEY_ON,
	SEARCH_KEY_SINCE,
	/* WITHIN (RFC 5032): the internal date is `number` seconds or more
	 * before the evaluation's start / at most `number` seconds before */
	SEARCH_KEY_OLDER,
	SEARCH_KEY_YOUNGER,
	/* the same for the date written in the (first) Date: header field,
	 * in its own zone; a message without a valid Date: never matches */
	SEARCH_KEY_SENTBEFORE,
	SEARCH_KEY_SENTON,
	SEARCH_KEY_SENTSINCE,
	/* a header field named `name` (ASCII case-insensitive) of the
	 * message's own header whose unfolded, RFC 2047-decoded value
	 * contains `value` under i;unicode-casemap ("" = the field
	 * exists); for an address field (FROM, TO, CC, BCC ...) the value
	 * with its addresses normalised counts too, so "user@example.org"
	 * finds "<user (comment)@ example.org>" (mime/text.h) */
	SEARCH_KEY_HEADER,
	/* the decoded body text (mime/text.h "body") contains `value` */
	SEARCH_KEY_BODY,
	/* MODSEQ (RFC 7162 3.1.5): the message's modseq >= number */
	SEARCH_KEY_MODSEQ,
	/* the decoded header ("Name: value" lines) or body text contains
	 * `value` */
	SEARCH_KEY_TEXT,
	/* RFC 8474 6: the EMAILID / THREADID is exactly `value` (from the
	 * store's index: store_mailbox_search_objectid()) */
	SEARCH_KEY_EMAILID,
	SEARCH_KEY_THREADID,
	/* RFC 8514 4.3: the save date, as a day in UTC (the zone SAVEDATE
	 * is given in), compared with `day`: before, on, on or after
	 * (store_mailbox_search_savedate()) */
	SEARCH_KEY_SAVEDBEFORE,
	SEARCH_KEY_SAVEDON,
	SEARCH_KEY_SAVEDSINCE,
};

struct search_key {
	enum search_key_type type;
	/* AND, OR, NOT: the children, linked through `next` */
	struct search_key *children;
	struct search_key *next;

	/* MSN, UID: msns or UIDs (inclusive ranges, first <= last) */
	const struct store_uid_range *ranges;
	size_t range_count;
	/* FLAGS_SET, FLAGS_UNSET */
	uint32_t flags;
	/* KEYWORD */
	int keyword;
	/* LARGER, SMALLER (octets); OLDER, YOUNGER (seconds); MODSEQ */
	uint64_t number;
	/* BEFORE .. SENTSINCE, SAVEDBEFORE .. SAVEDSINCE */
	int64_t day;
	/* HEADER (name and value), BODY and TEXT (value); EMAILID and
	 * THREADID (value); KEYWORD: the keyword's name (informative:
	 * `keyword` is what is evaluated) */
	const char *name;
	const char *value;
	size_t value_len;
};

/* A new key of `type`, zeroed, allocated in pool (lives with it). */
struct search_key *search_key_new(struct pool *pool, enum search_key_type type);
/* Appends `child` to the children of `parent` (AND, OR, NOT). */
void search_key_add_child(struct search_key *parent, struct search_key *child);

/* Days since 1970-01-01 of a calendar date (proleptic Gregorian). */
int64_t search_day_from_date(int year, int month, int mday);

/* Evaluation of one program over one mailbox.  Holds, per HEADER, BODY
 * or TEXT key, the UID sets the store's index gave (asked on the key's
 * first use), and per message no more than the store's text (bounded by
 * mime/text.h's limits) while it is looked at. */
struct search_ctx;

/* Prepares `program` (lives in the caller's pool, must outlive the ctx)
 * for evaluation in `box` of `store`.  OLDER and YOUNGER count from the
 * time of this call, so every message of one search is measured from the
 * same moment.  Free with search_ctx_destroy(). */
struct search_ctx *search_ctx_create(struct store *store, struct store_mailbox *box,
				     const struct search_key *program);
void search_ctx_destroy(struct search_ctx **ctx);

/* Whether message msn (1..count) matches.  Returns 1 (matches), 0 (does
 * not) or -1 on a store error other than an expunged message (the store's
 * last error says what).  A message whose file is gone (expunged by
 * another session) does not match the keys that need its content, and
 * search_ctx_had_expunged() becomes true. */
int search_match(struct search_ctx *ctx, uint32_t msn);
bool search_ctx_had_expunged(const struct search_ctx *ctx);

/* Whether `key` or one of its descendants is of `type` (MODSEQ: the
 * result then carries the highest modseq it found, RFC 7162 3.1.5;
 * MSN: refused under UIDONLY, RFC 9586 3.5). */
bool search_key_has(const struct search_key *key, enum search_key_type type);

/* The messages worth search_match(), in ascending msn order, one per
 * call: returns 1 with *msn_r the next one, 1 with *msn_r 0 when this
 * call used up a stretch of the index's answers without finding one
 * (call again; a caller working in slices may end its slice first), 0
 * when none is left, or -1 on a store error.  The messages it passes
 * over do not match: when the program requires a HEADER, BODY or TEXT
 * key (in an AND, or in every branch of an OR) or a UID or sequence
 * set, only the messages of the view that the key's index answer holds
 * or leaves undecided (no text in the index, expunged meanwhile) are
 * handed out, so the cost of a rare word grows with its hits and not
 * with the mailbox; a UID or sequence set also bounds the UIDs the
 * index is asked about.  Any other program gets every message, and so
 * do the messages after the first part of an index answer that comes
 * in parts (a needle verified or scanned on the stored text) or names
 * many candidates whose body must be read, when the program has keys
 * besides those (asking lazily, as search_match() does, is then
 * cheaper).  The messages whose body the index cannot decide on are
 * among those handed out: search_match() reads them.  The same answers as search_match() on every
 * message (the program must not be changed meanwhile). */
int search_next(struct search_ctx *ctx, uint32_t *msn_r);

/* Whether `program` has keys on the message's text (HEADER, BODY, TEXT,
 * SENT*): slower, they may read the store's text message by message. */
bool search_key_needs_content(const struct search_key *key);

#endif
