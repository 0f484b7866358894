/* match.c: the match types and comparators of Sieve.
 *
 * Match types :is, :contains, :matches (RFC 5228 2.7.1) and :value
 * (RFC 5231); comparators i;octet, i;ascii-casemap and i;ascii-numeric
 * (RFC 4790 9.1-9.3).  :matches runs in O(pattern * value) without
 * recursion and records what each wildcard matched, for RFC 5229 match
 * variables. */
#include "sieve-private.h"
#include "base/utf8.h"

#include <stdlib.h>
#include <string.h>

int sieve_comparator_find(const char *name)
{
	if (strcmp(name, "i;octet") == 0)
		return SIEVE_CMP_OCTET;
	if (strcmp(name, "i;ascii-casemap") == 0)
		return SIEVE_CMP_ASCII_CASEMAP;
	if (strcmp(name, "i;ascii-numeric") == 0)
		return SIEVE_CMP_ASCII_NUMERIC;
	return -1;
}

static unsigned char fold(int comparator, unsigned char c)
{
	if (comparator == SIEVE_CMP_ASCII_CASEMAP && c >= 'A' && c <= 'Z')
		return (unsigned char)(c + 32);
	return c;
}

/* RFC 4790 9.1.1: "i;ascii-numeric" interprets a string as the decimal
 * number of its leading digits; a string that does not start with a digit
 * is positive infinity, greater than every number and equal to every
 * other such string.  Returns <0, 0, >0. */
static int numeric_compare(const char *a, size_t a_len, const char *b, size_t b_len)
{
	size_t ad = 0, bd = 0;

	while (ad < a_len && a[ad] >= '0' && a[ad] <= '9')
		ad++;
	while (bd < b_len && b[bd] >= '0' && b[bd] <= '9')
		bd++;
	if (ad == 0 || bd == 0)
		return (ad == 0) - (bd == 0);
	/* leading zeros do not count */
	while (ad > 1 && *a == '0') {
		a++;
		ad--;
	}
	while (bd > 1 && *b == '0') {
		b++;
		bd--;
	}
	if (ad != bd)
		return ad < bd ? -1 : 1;
	return memcmp(a, b, ad);
}

static int compare(int comparator, const char *a, size_t a_len, const char *b, size_t b_len)
{
	if (comparator == SIEVE_CMP_ASCII_NUMERIC)
		return numeric_compare(a, a_len, b, b_len);
	size_t n = a_len < b_len ? a_len : b_len;
	for (size_t i = 0; i < n; i++) {
		unsigned char ca = fold(comparator, (unsigned char)a[i]);
		unsigned char cb = fold(comparator, (unsigned char)b[i]);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

bool sieve_match_relation(int comparator, const char *relation,
			  const char *a, size_t a_len, const char *b, size_t b_len)
{
	int c = compare(comparator, a, a_len, b, b_len);

	if (str_eq_icase(relation, "gt"))
		return c > 0;
	if (str_eq_icase(relation, "ge"))
		return c >= 0;
	if (str_eq_icase(relation, "lt"))
		return c < 0;
	if (str_eq_icase(relation, "le"))
		return c <= 0;
	if (str_eq_icase(relation, "eq"))
		return c == 0;
	return c != 0;
}

/* Counts `n` steps; true when the guard says to stop. */
static bool guard_step(struct sieve_match_guard *guard, uint64_t n)
{
	if (guard == NULL)
		return false;
	uint64_t before = guard->steps;
	guard->steps += n;
	if ((before >> 22) != (guard->steps >> 22) && guard->expired(guard->ctx))
		guard->abandoned = true;
	return guard->abandoned;
}

static bool contains(int comparator, const char *h, size_t h_len, const char *n, size_t n_len,
		     struct sieve_match_guard *guard)
{
	if (n_len == 0)
		return true;
	for (size_t i = 0; i + n_len <= h_len; i++) {
		if (guard_step(guard, n_len))
			return false;
		size_t j = 0;
		while (j < n_len && fold(comparator, (unsigned char)h[i + j]) ==
		       fold(comparator, (unsigned char)n[j]))
			j++;
		if (j == n_len)
			return true;
	}
	return false;
}

/* One element of a :matches pattern. */
struct pat {
	char kind;	/* 'c' a character, '?', '*' */
	unsigned char c;
	unsigned int wild;	/* index among the wildcards */
};

/* The length of one character at v for "?": a UTF-8 sequence, or one
 * octet for i;octet (RFC 5228 2.7.1 leaves "character" to the
 * comparator). */
static size_t char_len(int comparator, const char *v, size_t left)
{
	if (comparator == SIEVE_CMP_OCTET)
		return 1;
	size_t n = utf8_seq_len((const unsigned char *)v, left);
	return n == 0 ? 1 : n;
}

/* RFC 5228 2.7.1: "*" matches zero or more characters, "?" exactly one;
 * "\" escapes the next character.  Earlier wildcards match as little as
 * possible (RFC 5229 3.2's examples). */
static bool wildmatch(int comparator, const char *v, size_t v_len,
		      const char *key, size_t key_len,
		      size_t *cap_start, size_t *cap_len, unsigned int *nwild_r,
		      struct sieve_match_guard *guard)
{
	struct pat *pat = xcalloc(key_len + 1, sizeof(*pat));
	size_t np = 0;
	unsigned int nwild = 0;

	for (size_t i = 0; i < key_len; i++) {
		char c = key[i];
		if (c == '\\' && i + 1 < key_len) {
			pat[np].kind = 'c';
			pat[np++].c = (unsigned char)key[++i];
		} else if (c == '*' || c == '?') {
			pat[np].kind = c;
			pat[np++].wild = nwild++;
		} else {
			pat[np].kind = 'c';
			pat[np++].c = (unsigned char)c;
		}
	}
	size_t pi = 0, vi = 0;
	size_t star_p = SIZE_MAX, star_v = 0;
	bool ok = false;
	for (;;) {
		if (pi < np && pat[pi].kind == '*') {
			star_p = pi;
			star_v = vi;
			if (pat[pi].wild < SIEVE_MATCH_VARS) {
				cap_start[pat[pi].wild] = vi;
				cap_len[pat[pi].wild] = 0;
			}
			pi++;
			continue;
		}
		if (pi == np && vi == v_len) {
			ok = true;
			break;
		}
		if (pi < np && vi < v_len) {
			if (pat[pi].kind == '?') {
				size_t n = char_len(comparator, v + vi, v_len - vi);
				if (pat[pi].wild < SIEVE_MATCH_VARS) {
					cap_start[pat[pi].wild] = vi;
					cap_len[pat[pi].wild] = n;
				}
				vi += n;
				pi++;
				continue;
			}
			if (fold(comparator, pat[pi].c) == fold(comparator, (unsigned char)v[vi])) {
				vi++;
				pi++;
				continue;
			}
		}
		/* backtrack: the last "*" takes one more character */
		if (star_p == SIZE_MAX || star_v >= v_len || guard_step(guard, pi - star_p))
			break;
		star_v += char_len(comparator, v + star_v, v_len - star_v);
		if (star_v > v_len)
			break;
		vi = star_v;
		pi = star_p + 1;
		if (pat[star_p].wild < SIEVE_MATCH_VARS)
			cap_len[pat[star_p].wild] = star_v - cap_start[pat[star_p].wild];
	}
	free(pat);
	*nwild_r = nwild;
	return ok;
}

bool sieve_match_one(int match, int comparator, const char *relation,
		     const char *value, size_t value_len,
		     const char *key, size_t key_len,
		     struct pool *pool, struct sieve_match_vars *vars,
		     struct sieve_match_guard *guard)
{
	switch (match) {
	case SIEVE_MATCH_IS:
		return compare(comparator, value, value_len, key, key_len) == 0;
	case SIEVE_MATCH_CONTAINS:
		return contains(comparator, value, value_len, key, key_len, guard);
	case SIEVE_MATCH_VALUE:
		return sieve_match_relation(comparator, relation, value, value_len, key, key_len);
	case SIEVE_MATCH_MATCHES: {
		size_t starts[SIEVE_MATCH_VARS], lens[SIEVE_MATCH_VARS];
		unsigned int nwild;
		memset(starts, 0, sizeof(starts));
		memset(lens, 0, sizeof(lens));
		if (!wildmatch(comparator, value, value_len, key, key_len, starts, lens, &nwild,
			       guard))
			return false;
		if (vars != NULL) {
			vars->values[0] = p_strndup(pool, value, value_len);
			vars->lens[0] = value_len;
			vars->count = 1;
			for (unsigned int i = 0; i < nwild && i + 1 < SIEVE_MATCH_VARS; i++) {
				vars->values[i + 1] = p_strndup(pool, value + starts[i], lens[i]);
				vars->lens[i + 1] = lens[i];
				vars->count = i + 2;
			}
		}
		return true;
	}
	default:
		return false;
	}
}
