/* regex.h: the :regex match type of Sieve (draft-ietf-sieve-regex, which
 * is not among the RFC texts; Roost implements what Pigeonhole and Cyrus
 * do): POSIX extended regular expressions (regcomp(3) REG_EXTENDED),
 * matched anywhere in the value, with ${0} the matched text and ${1} to
 * ${9} the groups when variables are in use.
 *
 * glibc's regexec can take exponential time on backreferences and
 * expands bounded repetitions into copies of their operand at compile
 * time; a script's pattern is therefore checked against this language
 * before regcomp() sees it, and refused otherwise:
 *
 *   regex    = branch *("|" branch)
 *   branch   = *piece                  ; may be empty
 *   piece    = atom [quantifier]       ; one quantifier per atom
 *   quantifier = "*" / "+" / "?" / "{" n "}" / "{" n ",}" / "{" n "," m "}"
 *                                      ; 0 <= n <= m <= 255
 *   atom     = "(" regex ")"           ; at most 32 groups, nested 16 deep
 *            / "." / "^" / "$" / bracket
 *            / "\" special             ; special = . [ ] ( ) * + ? { } | ^ $ \
 *            / "\" ( "w" / "W" / "s" / "S" / "b" / "B" / "<" / ">" / "`" / "'" )
 *            / any other byte but NUL
 *   bracket  = "[" ["^"] ["]"] *(class / range / byte but "]") "]"
 *   class    = "[:" ("alpha" / "digit" / "alnum" / "upper" / "lower" /
 *              "space" / "blank" / "punct" / "print" / "graph" /
 *              "cntrl" / "xdigit") ":]"
 *
 * Refused: backreferences ("\1".."\9"), other escapes, collating
 * elements and equivalence classes ("[. .]", "[= =]"), a quantifier with
 * nothing before it or after another quantifier, and patterns whose
 * expansion (each bounded repetition counting its operand m times, or
 * n + 1 times when unbounded) exceeds SIEVE_REGEX_MAX_POSITIONS.  What is
 * left is matched by glibc without backtracking: the time is polynomial
 * in the value's length n and the pattern's positions m, but at worst
 * about n * n * m, as regexec restarts at every position of a value that
 * does not match ("(a|b)*c" over 64 KiB of "a" takes 20 s, over 8 KiB
 * 0.4 s).  So only the first SIEVE_REGEX_MAX_VALUE bytes of a value are
 * matched, and the interpreter checks its CPU limit between values.
 * Bytes are matched as bytes (the C locale: "." is one byte of a UTF-8
 * character). */
#ifndef ROOST_SIEVE_REGEX_H
#define ROOST_SIEVE_REGEX_H

#include "base/base.h"
#include "base/str.h"

#define SIEVE_REGEX_MAX_POSITIONS 4096
/* bytes of a value that are matched (the rest is not looked at) */
#define SIEVE_REGEX_MAX_VALUE (8 * 1024)
#define SIEVE_REGEX_MAX_GROUPS 32
#define SIEVE_REGEX_MAX_DEPTH 16
#define SIEVE_REGEX_MAX_REPEAT 255
/* ${0}..${9} */
#define SIEVE_REGEX_MATCH_VARS 10

struct sieve_regex;

/* The comparators :regex works with (RFC 4790): "i;octet" (exact) and
 * "i;ascii-casemap" (REG_ICASE, folding only US-ASCII letters).  Returns
 * 0 with *icase_r set, or -1 for any other (e.g. "i;ascii-numeric",
 * which has no substring or pattern operation): a compile error. */
int sieve_regex_comparator(const char *comparator, bool *icase_r);

/* Checks pattern[0..len) against the language above and compiles it.
 * `max_size` is sieve_limits.max_regex_size (bytes of pattern).  Returns
 * a regex (free with sieve_regex_free()), or NULL with the reason
 * appended to *error_r ("regex: ..."). */
struct sieve_regex *sieve_regex_compile(const char *pattern, size_t len, bool icase,
					size_t max_size, struct str *error_r);
void sieve_regex_free(struct sieve_regex **re);

/* The match of ${0}..${9}: offsets into the value, -1 for a group that
 * did not take part (its variable is then ""). */
struct sieve_regex_match {
	ssize_t start[SIEVE_REGEX_MATCH_VARS];
	ssize_t end[SIEVE_REGEX_MATCH_VARS];
};

/* Matches text[0..len) (any bytes, NUL included; only its first
 * SIEVE_REGEX_MAX_VALUE bytes, so "$" matches there).  Returns 1 on a match
 * (with the offsets in *match_r if not NULL), 0 when there is none, or -1
 * when glibc fails (out of memory: treated as a run-time error). */
int sieve_regex_match(const struct sieve_regex *re, const char *text, size_t len,
		      struct sieve_regex_match *match_r);

#endif
