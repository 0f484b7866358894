/* imap-arg.h: typed access to the arguments the parser produced.
 *
 * Command code asks for the IMAP grammar element it expects (an atom, a
 * string, an astring, an nstring, a list) and gets either the value or
 * false; it never looks at imap_arg's `type` itself, so what counts as a
 * "string" is decided here once, after RFC 9051 section 9, and not in
 * every command.  Only the parser and this module read `type`.
 *
 * What the accessors accept:
 *   atom     IMAP_ARG_ATOM (NIL included: it is an atom until a caller
 *            asks for an nstring)
 *   string   IMAP_ARG_QUOTED, or an IMAP_ARG_LITERAL held in memory that
 *            is a plain literal (not literal8 ~{n}) without NUL bytes:
 *            RFC 9051 `string`, which carries text, never binary
 *   astring  atom or string
 *   nstring  string or the atom NIL (case-insensitive), the latter as a
 *            NULL value
 *   literal  IMAP_ARG_LITERAL or IMAP_ARG_LITERAL_FILE, plain or literal8,
 *            NULs allowed: the raw data of APPEND
 * Every returned string points into the command's pool and lives as long
 * as the argument itself (see struct imap_command).  On false the output
 * parameters are left untouched. */
#ifndef ROOST_IMAP_IMAP_ARG_H
#define ROOST_IMAP_IMAP_ARG_H

#include "syntax/imap-parser.h"

/* True if arg is the IMAP_ARG_EOL entry that ends every argument array. */
bool imap_arg_is_eol(const struct imap_arg *arg);

/* True if arg is an atom equal to `name`, ignoring ASCII case ("nil" and
 * "NIL" both match "NIL").  Quoted strings never match: "RETURN" in quotes
 * is not the keyword RETURN. */
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *name);

/* True if arg is the atom NIL (any case). */
bool imap_arg_is_nil(const struct imap_arg *arg);

/* atom: true with *str_r = the atom as the client spelt it. */
bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r);

/* quoted: true with *str_r = the content of "..." (escapes resolved). */
bool imap_arg_get_quoted(const struct imap_arg *arg, const char **str_r);

/* string = quoted / literal: true with *str_r = its text and, when
 * len_r is not NULL, *len_r = its length (strlen(*str_r), the text having
 * no NUL).  False for literal8, a literal with NULs or one the parser
 * spooled to a file. */
bool imap_arg_get_string(const struct imap_arg *arg, const char **str_r,
			 size_t *len_r);

/* astring = 1*ASTRING-CHAR / string: an atom or a string as above;
 * len_r as in imap_arg_get_string(). */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
			  size_t *len_r);

/* nstring = string / nil: true with *str_r = the string's text, or NULL
 * for NIL. */
bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r);

/* "(" ... ")": true with *list_r = its first child (the array ends with
 * an IMAP_ARG_EOL entry) and, when count_r is not NULL, *count_r = the
 * number of children before it. */
bool imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
		       unsigned int *count_r);

/* A literal of either kind (in memory or in the parser's temporary file,
 * plain or literal8): true with *size_r = its length in bytes. */
bool imap_arg_get_literal_size(const struct imap_arg *arg, uint64_t *size_r);

/* A literal held in memory (any kind, NULs allowed): true with *data_r
 * and *len_r = its bytes.  False for one in the temporary file, whose
 * bytes are read from `fd` at `offset` (struct imap_arg). */
bool imap_arg_get_literal_data(const struct imap_arg *arg, const char **data_r,
			       size_t *len_r);

/* A keyword of a command's own small vocabulary (LIST options, SORT keys,
 * THREAD algorithms, RETURN options) and what it stands for: a bit, an
 * enum value. */
struct imap_keyword {
	const char *name;
	unsigned int value;
};

/* Looks `name` up in the `count` entries of `table`, ignoring ASCII
 * case: true with *value_r = its value, or false (then *value_r is left
 * untouched).  A linear search: these tables have a handful of entries. */
bool imap_keyword_find(const struct imap_keyword *table, size_t count,
		       const char *name, unsigned int *value_r);

#endif
