/* json.h: a small, strict JSON parser (RFC 8259) for untrusted input.
 *
 * Used for JWT headers and claims and for JWKS files (OAUTHBEARER), where
 * the bytes come from a client or from a file an operator edits.  The
 * parser accepts exactly the RFC 8259 grammar: no comments, no trailing
 * commas, no single quotes, no leading zeros, no bare control characters
 * in strings, valid UTF-8 only (RFC 8259 section 8.1), \u escapes with
 * correctly paired surrogates, and no duplicate member names in an object
 * (section 4 leaves them undefined; a token whose "alg" could be read two
 * ways is rejected instead).  Nesting and input size are limited by the
 * caller.  The whole document is parsed into a tree the caller frees. */
#ifndef ROOST_JSON_H
#define ROOST_JSON_H

#include "base.h"

/* Nesting depth json_parse() allows when the caller has no better idea. */
#define JSON_DEFAULT_MAX_DEPTH 32

enum json_type {
	JSON_NULL,
	JSON_FALSE,
	JSON_TRUE,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT,
};

struct json_member;

struct json_value {
	enum json_type type;
	union {
		/* NUMBER: the value as a double (integers are exact up to
		 * 2^53, enough for NumericDate) */
		double number;
		/* STRING: UTF-8, NUL-terminated; may contain NULs from
		 * \u0000 (len counts them) */
		struct {
			char *data;
			size_t len;
		} string;
		struct {
			struct json_value **items;
			size_t count;
		} array;
		struct {
			struct json_member *members;
			size_t count;
		} object;
	} u;
};

struct json_member {
	char *name;		/* NUL-terminated; NUL-free (rejected otherwise) */
	struct json_value *value;
};

/* Parses one JSON text data[0..len) (white space around it allowed).
 * `max_len` is the largest input accepted, `max_depth` the deepest
 * nesting of arrays and objects (1: the top level).  Returns 0 with
 * *value_r (free with json_free()), or -1 with *error_r set to a static
 * message. */
int json_parse(const void *data, size_t len, size_t max_len, unsigned int max_depth,
	       struct json_value **value_r, const char **error_r);
/* Frees the tree; sets *value to NULL; NULL is a no-op. */
void json_free(struct json_value **value);

/* The value of member `name` of `object`, or NULL when `object` is not an
 * object or has no such member.  Points into the tree. */
const struct json_value *json_object_get(const struct json_value *object, const char *name);
/* The member `name` as a NUL-free string, or NULL when it is missing, not
 * a string or holds a NUL.  Points into the tree. */
const char *json_object_get_string(const struct json_value *object, const char *name);

/* Appends `text` (UTF-8, NUL-terminated) to dest as a JSON string with
 * its quotes, escaping '"', '\\' and control characters. */
struct str;
void json_append_string(struct str *dest, const char *text);

#endif
