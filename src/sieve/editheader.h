/* editheader.h: the message edits of Sieve's editheader extension (RFC
 * 5293): addheader and deleteheader on the bytes of a message.
 *
 * Each call takes the current message and writes the whole new message
 * to a buffer; the interpreter keeps the result as the message that
 * later tests and actions see (RFC 5293 7).  Only the header changes,
 * byte for byte elsewhere.  Nothing here knows the interpreter: the value
 * match of deleteheader is the caller's callback.
 *
 * Policy (RFC 5293 6, RFC 5703 5): deleting Received or Auto-Submitted
 * is never permitted, nor deleting or adding Original-Subject or
 * Original-From (which replace adds and which editheader must not be able
 * to change); Subject may always be added and deleted.  A change that is
 * not permitted is silently ignored, as section 6 requires. */
#ifndef ROOST_SIEVE_EDITHEADER_H
#define ROOST_SIEVE_EDITHEADER_H

#include "base/base.h"
#include "base/str.h"

/* Bytes of an addheader value, unfolded, before encoding (RFC 5293 4:
 * a limit of at least 998; Pigeonhole's sieve_editheader_max_header_size
 * default is the same). */
#define SIEVE_EDITHEADER_MAX_VALUE 2048

/* Whether a script may delete / add a field named `name` (any case). */
bool sieve_editheader_may_delete(const char *name);
bool sieve_editheader_may_add(const char *name);

/* addheader [":last"] <field-name> <value>
 * Writes data[0..size) with the field added to dest (appended): first in
 * the header, or after its last field with `last`.  The value is UTF-8
 * and is written with sieve_fields_write() (RFC 2047 words if it is not
 * ASCII, folded), in the message's line break style.
 * Returns 1 when the field was added, 0 when policy ignores the change
 * (dest then holds the message unchanged), or -1 with a static message
 * in *error_r (a run-time error the interpreter reports; dest unchanged)
 * when the name is not an RFC 5322 field-name, the value has NUL or a
 * line break that is not folding or invalid UTF-8, or the value is longer
 * than SIEVE_EDITHEADER_MAX_VALUE. */
int sieve_editheader_add(const char *data, size_t size, const char *name,
			 const char *value, size_t value_len, bool last,
			 struct str *dest, const char **error_r);

/* What deleteheader deletes (RFC 5293 5). */
struct sieve_editheader_delete {
	const char *name;	/* the field name, matched case-insensitively */
	unsigned int index;	/* :index N (1 = first); 0 = every occurrence */
	bool last;		/* :last: N counts from the last field (index > 0) */
	/* The value patterns: NULL deletes the chosen fields whatever their
	 * value.  Otherwise called with each chosen field's value as the
	 * "header" test sees it (unfolded, trimmed, RFC 2047-decoded UTF-8,
	 * NUL-terminated): returns 1 to delete it, 0 to keep it, -1 to stop
	 * with an error (e.g. a regex failure). */
	int (*match)(void *ctx, const char *value, size_t len);
	void *ctx;
};

/* deleteheader [":index" N [":last"]] [COMPARATOR] [MATCH-TYPE] <name> [<values>]
 * Writes data[0..size) without the chosen fields to dest (appended).
 * :index counts among the fields of that name before any value is
 * matched.  Returns the number of fields deleted (0: dest holds the
 * message unchanged; also when policy protects the name), or -1 with a
 * static message in *error_r (dest unchanged) when the name is invalid,
 * :last is given without :index, or the callback failed. */
int sieve_editheader_delete(const char *data, size_t size,
			    const struct sieve_editheader_delete *del,
			    struct str *dest, const char **error_r);

#endif
