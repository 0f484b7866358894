/* sieve.c: compiling scripts (sieve.h): parse, validate, keep the tree. */
#include "sieve-private.h"

#include <stdlib.h>
#include <string.h>

void sieve_limits_default(struct sieve_limits *limits_r)
{
	limits_r->max_script_size = 1024 * 1024;
	limits_r->max_nesting = 32;
	limits_r->max_actions = 32;
	limits_r->max_redirects = 4;
	limits_r->max_variable_size = 4096;
	limits_r->max_include_depth = 10;
	limits_r->max_cpu_ms = 10000;
	limits_r->max_regex_size = 4096;
}

struct sieve_script *sieve_compile(const char *name, const char *text, size_t len,
				   const struct sieve_limits *limits, struct str *errors_r)
{
	struct pool *pool = pool_create(len + 1024);
	struct sieve_script *script = p_malloc(pool, sizeof(*script));

	script->pool = pool;
	script->name = p_strdup(pool, name);
	if (sieve_parse(script, text, len, limits, errors_r) < 0 ||
	    sieve_validate(script, errors_r) < 0) {
		pool_destroy(&pool);
		return NULL;
	}
	return script;
}

void sieve_script_free(struct sieve_script **script)
{
	if (*script == NULL)
		return;
	struct pool *pool = (*script)->pool;
	pool_destroy(&pool);
	*script = NULL;
}
