/* regex.c: the checked POSIX ERE subset of :regex, compiled and matched
 * with glibc's regex.  See regex.h for the language. */
#include "sieve/regex.h"

#include <regex.h>
#include <stdlib.h>
#include <string.h>

struct sieve_regex {
	regex_t re;
};

struct check {
	const char *p, *end;
	unsigned int groups;
	const char *error;
};

/* Positions over the limit are kept at limit + 1, so sums and products
 * never overflow. */
static size_t cap_add(size_t a, size_t b)
{
	return ROOST_MIN(a + b, (size_t)SIEVE_REGEX_MAX_POSITIONS + 1);
}

static size_t cap_mul(size_t a, size_t b)
{
	if (a != 0 && b > ((size_t)SIEVE_REGEX_MAX_POSITIONS + 1) / a)
		return SIEVE_REGEX_MAX_POSITIONS + 1;
	return ROOST_MIN(a * b, (size_t)SIEVE_REGEX_MAX_POSITIONS + 1);
}

static const char *const classes[] = {
	"alpha", "digit", "alnum", "upper", "lower", "space", "blank",
	"punct", "print", "graph", "cntrl", "xdigit",
};

/* bracket = "[" ["^"] ["]"] *(class / range / byte but "]") "]"
 * (the "[" already consumed) */
static int check_bracket(struct check *c)
{
	if (c->p < c->end && *c->p == '^')
		c->p++;
	if (c->p < c->end && *c->p == ']')
		c->p++;
	while (c->p < c->end && *c->p != ']') {
		if (*c->p == '[' && c->p + 1 < c->end &&
		    (c->p[1] == '.' || c->p[1] == '=')) {
			c->error = "collating elements and equivalence classes are not supported";
			return -1;
		}
		if (*c->p == '[' && c->p + 1 < c->end && c->p[1] == ':') {
			const char *name = c->p + 2, *close;
			bool known = false;

			close = memmem(name, (size_t)(c->end - name), ":]", 2);
			for (size_t i = 0; close != NULL && i < N_ELEMENTS(classes); i++) {
				known = known || ((size_t)(close - name) == strlen(classes[i]) &&
						  memcmp(name, classes[i], strlen(classes[i])) == 0);
			}
			if (!known) {
				c->error = "unknown character class";
				return -1;
			}
			c->p = close + 2;
			continue;
		}
		c->p++;
	}
	if (c->p == c->end) {
		c->error = "unmatched [";
		return -1;
	}
	c->p++;
	return 0;
}

static int parse_number(struct check *c, unsigned int *n_r)
{
	unsigned int n = 0;
	const char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		n = n * 10 + (unsigned int)(*c->p - '0');
		if (n > SIEVE_REGEX_MAX_REPEAT) {
			c->error = "repetition count over 255";
			return -1;
		}
		c->p++;
	}
	if (c->p == start) {
		c->error = "invalid repetition count";
		return -1;
	}
	*n_r = n;
	return 0;
}

/* The factor by which a quantifier multiplies its operand's positions,
 * or 0 after an error; none at p: 1. */
static size_t check_quantifier(struct check *c)
{
	unsigned int n, m;

	if (c->p == c->end)
		return 1;
	switch (*c->p) {
	case '*':
	case '+':
	case '?':
		c->p++;
		return 2;
	case '{':
		c->p++;
		if (parse_number(c, &n) < 0)
			return 0;
		m = n;
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			if (c->p < c->end && *c->p == '}')
				m = n + 1;	/* n copies and a star */
			else if (parse_number(c, &m) < 0)
				return 0;
			else if (m < n) {
				c->error = "invalid repetition range";
				return 0;
			}
		}
		if (c->p == c->end || *c->p != '}') {
			c->error = "unmatched {";
			return 0;
		}
		c->p++;
		return ROOST_MAX(m, 1u);
	default:
		return 1;
	}
}

static bool is_quantifier(char ch)
{
	return ch == '*' || ch == '+' || ch == '?' || ch == '{';
}

static int check_regex(struct check *c, unsigned int depth, size_t *size_r);

/* atom, as in regex.h; positions in *size_r */
static int check_atom(struct check *c, unsigned int depth, size_t *size_r)
{
	char ch = *c->p++;

	*size_r = 1;
	switch (ch) {
	case '(':
		if (++c->groups > SIEVE_REGEX_MAX_GROUPS || depth >= SIEVE_REGEX_MAX_DEPTH) {
			c->error = "too many or too deeply nested groups";
			return -1;
		}
		if (check_regex(c, depth + 1, size_r) < 0)
			return -1;
		if (c->p == c->end || *c->p != ')') {
			c->error = "unmatched (";
			return -1;
		}
		c->p++;
		*size_r = cap_add(*size_r, 1);
		return 0;
	case '[':
		return check_bracket(c);
	case '\\':
		if (c->p == c->end) {
			c->error = "trailing backslash";
			return -1;
		}
		ch = *c->p++;
		if (ch >= '1' && ch <= '9') {
			c->error = "backreferences are not supported";
			return -1;
		}
		if (strchr(".[]()*+?{}|^$\\", ch) == NULL && strchr("wWsSbB<>`'", ch) == NULL) {
			c->error = "unsupported escape";
			return -1;
		}
		return 0;
	case ')':
		c->error = "unmatched )";
		return -1;
	default:
		if (is_quantifier(ch)) {
			c->error = "a quantifier with nothing to repeat";
			return -1;
		}
		return 0;
	}
}

/* regex = branch *("|" branch) */
static int check_regex(struct check *c, unsigned int depth, size_t *size_r)
{
	size_t total = 0;

	while (c->p < c->end && *c->p != ')') {
		size_t size, factor;

		if (*c->p == '|') {
			c->p++;
			continue;
		}
		if (check_atom(c, depth, &size) < 0)
			return -1;
		if ((factor = check_quantifier(c)) == 0)
			return -1;
		if (c->p < c->end && is_quantifier(*c->p)) {
			c->error = "a quantifier after a quantifier";
			return -1;
		}
		total = cap_add(total, cap_mul(size, factor));
	}
	*size_r = total;
	return 0;
}

int sieve_regex_comparator(const char *comparator, bool *icase_r)
{
	if (strcmp(comparator, "i;octet") == 0) {
		*icase_r = false;
		return 0;
	}
	if (strcmp(comparator, "i;ascii-casemap") == 0) {
		*icase_r = true;
		return 0;
	}
	return -1;
}

struct sieve_regex *sieve_regex_compile(const char *pattern, size_t len, bool icase,
					size_t max_size, struct str *error_r)
{
	struct check c = { .p = pattern, .end = pattern + len };
	struct sieve_regex *re;
	char *copy;
	size_t size = 0;
	int ret;

	if (len > max_size) {
		str_printfa(error_r, "regex: the pattern is longer than %zu bytes", max_size);
		return NULL;
	}
	if (memchr(pattern, '\0', len) != NULL) {
		str_append(error_r, "regex: the pattern has a NUL");
		return NULL;
	}
	if (check_regex(&c, 0, &size) < 0 || (c.p < c.end && (c.error = "unmatched )"))) {
		str_printfa(error_r, "regex: %s at offset %zu", c.error, (size_t)(c.p - pattern));
		return NULL;
	}
	if (size > SIEVE_REGEX_MAX_POSITIONS) {
		str_printfa(error_r, "regex: the pattern expands beyond %d positions",
			    SIEVE_REGEX_MAX_POSITIONS);
		return NULL;
	}
	re = xcalloc(1, sizeof(*re));
	copy = xstrndup(pattern, len);
	ret = regcomp(&re->re, copy, REG_EXTENDED | (icase ? REG_ICASE : 0));
	free(copy);
	if (ret != 0) {
		char buf[256];

		regerror(ret, &re->re, buf, sizeof(buf));
		str_printfa(error_r, "regex: %s", buf);
		free(re);
		return NULL;
	}
	return re;
}

void sieve_regex_free(struct sieve_regex **re)
{
	if (*re == NULL)
		return;
	regfree(&(*re)->re);
	free(*re);
	*re = NULL;
}

int sieve_regex_match(const struct sieve_regex *re, const char *text, size_t len,
		      struct sieve_regex_match *match_r)
{
	regmatch_t m[SIEVE_REGEX_MATCH_VARS];
	int ret;

	m[0].rm_so = 0;
	m[0].rm_eo = (regoff_t)ROOST_MIN(len, (size_t)SIEVE_REGEX_MAX_VALUE);
	ret = regexec(&re->re, text, N_ELEMENTS(m), m, REG_STARTEND);
	if (ret == REG_NOMATCH)
		return 0;
	if (ret != 0)
		return -1;
	if (match_r != NULL) {
		for (size_t i = 0; i < SIEVE_REGEX_MATCH_VARS; i++) {
			match_r->start[i] = m[i].rm_so;
			match_r->end[i] = m[i].rm_eo;
		}
	}
	return 1;
}
