/* msgkeys.h: the SORT and THREAD keys of a message (RFC 5256, RFC 5957),
 * built once from the parsed top-level header at delivery and kept in
 * the index as a compact blob (DESIGN.md "Parse once"), so that SORT and
 * THREAD never open a message file.
 *
 * The keys are the finished values the algorithms compare: the sent date
 * in UTC, the addr-mailbox of the first From/To/Cc address, the RFC 5957
 * display keys, the RFC 5256 base subject with its reply-or-forward flag,
 * and the normalised Message-ID, In-Reply-To and References msg-ids.
 * The base subject and the msg-id normalisation come from
 * basesubject.h and msgid.h beside this file; the SORT and THREAD
 * algorithms (src/search) only compare the finished keys.
 *
 * Serialised form (version 3; every string is stored with its length
 * and a terminating NUL, so deserialisation points into the blob and
 * copies nothing):
 *   "K" 0x03 flags varint(zigzag(sent_date))
 *   str(from) str(to) str(cc) str(displayfrom) str(displayto)
 *   str(base_subject) str(message_id) str(in_reply_to)
 *   varint(references_count) varint(references_len) references
 *   flags   = 0x01 has_sent_date, 0x02 is_reply_or_forward
 *   str(x)  = varint(len) len bytes 0x00
 *   references = references_count NUL-terminated msg-ids back to back,
 *                references_len bytes in all
 * A varint is 7 bits per byte, least significant first, high bit set on
 * every byte but the last (at most 10 bytes).  Deserialisation checks
 * the whole blob, so a corrupt index row is an error, never a crash.
 * Nothing here knows storage or IMAP syntax. */
#ifndef ROOST_SYNTAX_MSGKEYS_H
#define ROOST_SYNTAX_MSGKEYS_H

#include "base/base.h"
#include "base/str.h"
#include "mime/parser.h"

struct msgkeys {
	/* The Date: field as UTC seconds since the epoch (RFC 5256 section
	 * 2.2: adjusted by its zone; an unknown zone counts as UTC, and a
	 * date whose time of day is unusable counts as 00:00:00 UTC).
	 * has_sent_date is false when Date: is missing or its date part
	 * cannot be read: then the caller uses the message's INTERNALDATE,
	 * as section 2.2 says (sent_date is 0). */
	int64_t sent_date;
	bool has_sent_date;
	/* addr-mailbox (the local part, unquoted; RFC 5256 section 3 FROM,
	 * TO, CC) of the first address of From, To and Cc; when the field
	 * begins with a group, that first address is the group and the key
	 * is its RFC 2047-decoded name, empty group or not (as the ENVELOPE
	 * represents groups, RFC 9051 7.5.2); "" when the field is missing
	 * or has no address */
	const char *from, *to, *cc;
	/* RFC 5957 DISPLAYFROM / DISPLAYTO: the RFC 2047-decoded display
	 * name of the first From / To address, or its addr-spec when it has
	 * none; for a group its name; "" when there is no such address */
	const char *displayfrom, *displayto;
	/* the RFC 5256 section 2.1 base subject of the RFC 2047-decoded
	 * Subject ("" when missing) and whether extracting it removed a
	 * reply or forward marker (THREAD=REFERENCES step 5) */
	const char *base_subject;
	bool is_reply_or_forward;
	/* the first valid msg-id of Message-ID and of In-Reply-To,
	 * normalised by msgid_next(); "" when there is none */
	const char *message_id, *in_reply_to;
	/* the valid msg-ids of References in header order, normalised:
	 * references_count strings back to back, each NUL-terminated,
	 * starting at `references` (walk with msgkeys_reference_next) */
	size_t references_count;
	const char *references;
};

/* Appends the serialised keys of the message `root` (the root of a
 * mime_parser_finish() tree; only its kept top-level header fields are
 * read) to `dest`.  Never fails. */
void msgkeys_build(const struct mime_part *root, struct str *dest);

/* Whether data[0..size) is a blob of the current version (its first two
 * bytes; the rest is not checked).  A store treats a blob of another
 * version like a missing one: it builds the keys again from the message
 * and keeps the new blob, so keys written by an older Roost are replaced
 * on first use. */
bool msgkeys_is_current(const void *data, size_t size);

/* Reads serialised keys.  Returns 0 with *keys_r pointing into
 * data[0..size) (valid while that memory is), or -1 when the data is not
 * a valid blob of the current version (*keys_r unset). */
int msgkeys_deserialize(struct msgkeys *keys_r, const void *data,
			size_t size);

/* The RFC 5957 DISPLAYFROM / DISPLAYTO key of an address, written over
 * `dest`: `display_name` (the RFC 5322 display-name, RFC 2047-decoded and
 * unquoted) unless it is NULL, empty or only white space; otherwise the
 * addr-spec "mailbox@host" (just "mailbox" when host is NULL or empty;
 * "" when mailbox is NULL too, which is also the key of a message with no
 * such address). */
void msgkeys_display_key(const char *display_name, const char *mailbox,
			 const char *host, struct str *dest);

/* The reference after `ref` (which must be one of keys->references'
 * strings): simply the byte after its NUL.  Call at most
 * references_count - 1 times from keys->references. */
static inline const char *msgkeys_reference_next(const char *ref)
{
	while (*ref != '\0')
		ref++;
	return ref + 1;
}

#endif
