/* sieve-private.h: what the files of the Sieve interpreter share: the
 * syntax tree, the definitions of commands and tests that extensions
 * register, the match machinery and the run-time state.
 *
 * Nothing outside src/sieve includes this; the public contract is
 * sieve.h.  Nothing here does I/O. */
#ifndef ROOST_SIEVE_PRIVATE_H
#define ROOST_SIEVE_PRIVATE_H

#include "sieve.h"
#include "base/pool.h"

/* ---- syntax tree (RFC 5228 section 8.2) ---- */

enum sieve_arg_kind {
	SIEVE_ARG_NUMBER,
	SIEVE_ARG_STRING,	/* a single string (not in brackets) */
	SIEVE_ARG_STRLIST,	/* "[" string *("," string) "]" */
	SIEVE_ARG_TAG,
};

struct sieve_arg {
	enum sieve_arg_kind kind;
	unsigned int line;
	uint64_t number;
	const char *tag;	/* TAG: without the ":" */
	const char **strs;	/* STRING (count 1) and STRLIST */
	size_t count;
};

struct sieve_cmd_def;
struct sieve_tag_def;

/* A tagged argument once validated, with its parameter if it has one. */
struct sieve_tagval {
	const struct sieve_tag_def *def;
	const struct sieve_arg *param;
	unsigned int line;
};

/* A command or a test. */
struct sieve_node {
	const char *name;
	unsigned int line;
	struct sieve_arg *args;
	size_t arg_count;
	struct sieve_node **tests;	/* a test or a test list */
	size_t test_count;
	bool has_test_list;		/* "(" ... ")" was written */
	struct sieve_node **block;	/* commands inside "{ }" */
	size_t block_count;
	bool has_block;
	/* filled by the validator */
	const struct sieve_cmd_def *def;
	struct sieve_tagval *tags;
	size_t tag_count;
	const struct sieve_arg **pos;	/* positional arguments */
	size_t pos_count;
	/* match type, comparator and address part, for tests that take them */
	int match;			/* enum sieve_match */
	const struct sieve_tag_def *match_def;	/* its tag; NULL for :is */
	const char *relation;		/* relational "gt", ... */
	int comparator;			/* enum sieve_comparator */
	int addrpart;			/* enum sieve_addrpart */
	/* for if/elsif/else: the next branch of the same chain */
	struct sieve_node *next_branch;
	/* include: the script loaded (at run time) is not kept here */
};

#define SIEVE_MAX_EXTENSIONS 64

struct sieve_script {
	struct pool *pool;
	const char *name;
	struct sieve_node **cmds;
	size_t cmd_count;
	/* which extensions `require` named (indexes into the registry) */
	bool required[SIEVE_MAX_EXTENSIONS];
	bool uses_variables;
	/* RFC 6609 "global" declarations at the top level */
};

/* ---- definitions ---- */

enum sieve_param {
	SIEVE_P_NONE,
	SIEVE_P_STRING,
	SIEVE_P_STRLIST,	/* a string list (a single string too) */
	SIEVE_P_NUMBER,
};

enum sieve_match {
	SIEVE_MATCH_IS,
	SIEVE_MATCH_CONTAINS,
	SIEVE_MATCH_MATCHES,
	SIEVE_MATCH_COUNT,	/* RFC 5231 */
	SIEVE_MATCH_VALUE,
};

enum sieve_comparator {
	SIEVE_CMP_OCTET,
	SIEVE_CMP_ASCII_CASEMAP,
	SIEVE_CMP_ASCII_NUMERIC,
};

enum sieve_addrpart {
	SIEVE_ADDR_ALL,
	SIEVE_ADDR_LOCALPART,
	SIEVE_ADDR_DOMAIN,
	SIEVE_ADDR_USER,	/* RFC 5233 */
	SIEVE_ADDR_DETAIL,
};

/* What a tag is for: the shared groups are mutually exclusive. */
enum sieve_tag_group {
	SIEVE_TG_OWN = 0,	/* a tag of this command only */
	SIEVE_TG_MATCH,		/* match type (value = enum sieve_match) */
	SIEVE_TG_COMPARATOR,
	SIEVE_TG_ADDRPART,	/* value = enum sieve_addrpart */
};

struct sieve_match_guard;
struct sieve_match_vars;

struct sieve_tag_def {
	const char *name;	/* without ":" */
	enum sieve_param param;
	const char *ext;	/* the extension that must be required, or NULL */
	enum sieve_tag_group group;
	int value;
	/* tags of a command with the same nonzero `exclusive` exclude each other */
	int exclusive;
	/* A match type an extension adds (the extension point of RFC 5228
	 * 2.7.1, e.g. regex): compares one value with one key and fills
	 * vars (not NULL) on success; `key_check` validates a constant key
	 * at compile time (0, or -1 with error_r).  NULL for the built-in
	 * match types of match.c. */
	bool (*match)(int comparator, const char *value, size_t value_len,
		      const char *key, size_t key_len, struct pool *pool,
		      struct sieve_match_vars *vars, struct sieve_match_guard *guard);
	int (*key_check)(const char *key, struct str *error_r);
};

struct sieve_interp;
struct mime_parser;
struct mime_part;

/* Command flags */
#define SIEVE_CMD_TEST		0x01	/* a test, not a command */
#define SIEVE_CMD_MATCH		0x02	/* takes match type and comparator */
#define SIEVE_CMD_ADDRPART	0x04	/* takes an address part */
#define SIEVE_CMD_BLOCK		0x08	/* requires a block */
#define SIEVE_CMD_TESTS		0x10	/* takes a test list "( ... )" */
#define SIEVE_CMD_ONE_TEST	0x20	/* takes exactly one test */
#define SIEVE_CMD_TOP_ONLY	0x40	/* only at the start (require) */

struct sieve_cmd_def {
	const char *name;
	const char *ext;	/* the extension that must be required, NULL = core */
	unsigned int flags;
	/* positional arguments, one letter each: 's' string, 'l' string
	 * list, 'n' number; a trailing '?' makes the last ones optional */
	const char *positional;
	const struct sieve_tag_def *tags;	/* NULL-name terminated, or NULL */
	/* extra checks after the generic ones; returns 0 or -1 with an
	 * error appended ("line N: ..." is added by the caller) */
	int (*validate)(struct sieve_node *node, struct sieve_script *script,
			struct str *error_r);
	/* runs a command (returns 0, 1 = stop, -1 run-time error) or
	 * a test (returns 1 true, 0 false, -1 error) */
	int (*execute)(struct sieve_interp *interp, const struct sieve_node *node);
};

/* An extension: its name in require and in the SIEVE capability, its
 * commands and tests, and the shared tags it adds (match types, address
 * parts, comparators). */
struct sieve_extension {
	const char *name;
	const struct sieve_cmd_def *cmds;	/* NULL-name terminated, or NULL */
	const struct sieve_tag_def *shared_tags; /* likewise */
	/* listed in sieve_extensions() (a name only for require, such as
	 * "comparator-i;octet", is listed there too) */
	bool advertise;
};

/* The registry (ext.c). */
size_t sieve_ext_count(void);
const struct sieve_extension *sieve_ext_get(size_t idx);
/* The index of extension `name`, or -1. */
int sieve_ext_find(const char *name);
/* The definition of command or test `name` (searching every extension),
 * or NULL. */
const struct sieve_cmd_def *sieve_ext_find_cmd(const char *name, bool is_test,
					       int *ext_idx_r);
/* A shared tag (match type, address part, :comparator) named `name`, or
 * NULL; *ext_idx_r the extension it belongs to (-1 for the core). */
const struct sieve_tag_def *sieve_ext_find_shared_tag(const char *name, int *ext_idx_r);

/* RFC 5260 :index N [:last] of `node` applied to the values of one
 * header field (ext-date.c): moves the chosen one to values[0] and
 * returns 1, or 0 when there is no such occurrence; `count` unchanged
 * without :index. */
size_t sieve_index_select(const struct sieve_node *node, const char **values, size_t count);

/* ---- parser (parse.c) ---- */

/* Parses `text` into script->cmds (in script->pool).  Returns 0, or -1
 * with "line N: ..." appended to errors_r. */
int sieve_parse(struct sieve_script *script, const char *text, size_t len,
		const struct sieve_limits *limits, struct str *errors_r);

/* ---- validator (validate.c) ---- */
int sieve_validate(struct sieve_script *script, struct str *errors_r);
/* Whether the script required extension `name`. */
bool sieve_script_requires(const struct sieve_script *script, const char *name);

/* RFC 5228 identifier = (ALPHA / "_") *(ALPHA / DIGIT / "_") */
bool sieve_is_identifier(const char *s);

/* The tag `name` of a validated node, or NULL. */
const struct sieve_tagval *sieve_node_tag(const struct sieve_node *node, const char *name);

/* ---- matching (match.c) ---- */

/* Captures of :matches for RFC 5229 match variables ${0}..${9}. */
#define SIEVE_MATCH_VARS 10
struct sieve_match_vars {
	const char *values[SIEVE_MATCH_VARS];
	size_t lens[SIEVE_MATCH_VARS];
	size_t count;
};

/* Bounds the CPU time of one match (:contains and :matches are
 * O(value x key)): expired() is called every few million steps and
 * returns true to abandon the match, which then sets `abandoned`. */
struct sieve_match_guard {
	bool (*expired)(void *ctx);
	void *ctx;
	uint64_t steps;
	bool abandoned;
};

/* Compares `value` against `key` with the node's match type and
 * comparator (not for :count).  With vars not NULL, a :matches success
 * fills them (in `pool`).  Returns true on a match; false also when the
 * guard (NULL: none) abandoned it. */
bool sieve_match_one(int match, int comparator, const char *relation,
		     const char *value, size_t value_len,
		     const char *key, size_t key_len,
		     struct pool *pool, struct sieve_match_vars *vars,
		     struct sieve_match_guard *guard);
/* RFC 5231 :count and the numeric comparison of two values with the
 * relation ("gt", "ge", "lt", "le", "eq", "ne"). */
bool sieve_match_relation(int comparator, const char *relation,
			  const char *a, size_t a_len, const char *b, size_t b_len);
/* The comparator with this name ("i;octet"), or -1. */
int sieve_comparator_find(const char *name);

/* ---- run-time (interp.c) ---- */

/* One header field of the message. */
struct sieve_field {
	const char *name;	/* as written */
	size_t name_len;
	const char *raw;	/* the raw value (folded), not NUL-terminated */
	size_t raw_len;
	const char *decoded;	/* unfolded, RFC 2047 decoded, trimmed; lazily */
};

struct sieve_var {
	const char *name;	/* lowercase */
	char *value;		/* heap */
	size_t len;
};

struct sieve_include_frame {
	enum sieve_location where;
	const char *name;
	unsigned int line;		/* of the include command */
	struct sieve_script *script;	/* in `included`: owned */
};

struct sieve_interp {
	struct pool *pool;	/* the result's pool */
	const struct sieve_script *script;
	const struct sieve_message *msg;
	const struct sieve_env *env;
	const struct sieve_limits *limits;
	/* the actions so far (heap), in order */
	struct sieve_action *actions;
	size_t action_count, action_cap;
	bool *action_implicit;
	bool keep_cancelled;	/* implicit keep cancelled (RFC 5228 2.10.2) */
	unsigned int redirects;
	const char *error;	/* run-time error, "line N: ..." */
	unsigned int line;	/* of the command running */
	uint64_t steps;
	uint64_t cpu_start_ns;
	/* the message header, split once */
	struct sieve_field *fields;
	size_t field_count;
	bool fields_parsed;
	/* the MIME tree, parsed on the first body test (RFC 5173) */
	struct mime_parser *mime_parser;
	struct mime_part *mime_root;
	/* RFC 5232 internal flags variable: space separated, deduplicated */
	const char **flags;
	size_t flag_count;
	/* RFC 5229 variables of the running script and match variables */
	struct sieve_var *vars;
	size_t var_count, var_cap;
	struct sieve_match_vars match_vars;
	struct str tmp;
	/* RFC 6609: the global variables, the names the running script
	 * declared global, the include stack, the scripts included so far
	 * (compiled, freed at the end of the run) */
	struct sieve_var *globals;
	size_t global_count, global_cap;
	const char **declared;
	size_t declared_count, declared_cap;
	struct sieve_include_frame *stack;
	size_t stack_count, stack_cap;
	struct sieve_include_frame *included;
	size_t included_count, included_cap;
	/* duplicates (RFC 7352) */
	struct sieve_duplicate_mark *dups;
	size_t dup_count, dup_cap;
};

/* Records a run-time error at the current command; returns -1. */
int sieve_interp_fail(struct sieve_interp *interp, const char *fmt, ...) ATTR_PRINTF(2, 3);
/* Expands a string argument at run time (RFC 5229 variables, when the
 * script uses them) into interp pool memory. */
const char *sieve_interp_str(struct sieve_interp *interp, const char *s);
/* The strings of a string-list argument, expanded, in pool memory. */
const char **sieve_interp_strlist(struct sieve_interp *interp, const struct sieve_arg *arg);
/* Adds an action, applying RFC 5228 2.10.3 (duplicates collapse), the
 * limits and the conflicts of reject; `cancels_keep` cancels implicit
 * keep.  Returns 0 or -1 (error recorded). */
int sieve_interp_add_action(struct sieve_interp *interp, const struct sieve_action *action,
			    bool cancels_keep);
/* The decoded values of every header field named `name` (case-
 * insensitive), in message order, in *values_r (pool memory); returns
 * their number. */
size_t sieve_interp_header(struct sieve_interp *interp, const char *name,
			   const char ***values_r);
/* Likewise with the raw values, unfolded (CR and LF removed), for
 * structured fields parsed by the caller. */
size_t sieve_interp_header_raw(struct sieve_interp *interp, const char *name,
			       const char ***values_r);
/* Matches `values` against the key list `keys` with the node's match
 * type, comparator and relation (RFC 5231 :count counts the values).
 * Sets the match variables on a :matches success.  Returns 1 (a match),
 * 0, or -1 when the CPU limit ended it (error recorded). */
int sieve_interp_match(struct sieve_interp *interp, const struct sieve_node *node,
			const char *const *values, const size_t *lens, size_t count,
			const struct sieve_arg *keys);
/* Runs a command list: 0 done, 1 stop, 2 return (RFC 6609), -1 error. */
int sieve_interp_run_block(struct sieve_interp *interp, struct sieve_node *const *cmds,
			   size_t count);
/* Clears the variables of the running script (not the globals). */
void sieve_interp_vars_clear(struct sieve_interp *interp);
/* Runs a test: 1 true, 0 false, -1 run-time error. */
int sieve_interp_run_test(struct sieve_interp *interp, const struct sieve_node *test);
/* Variable access (RFC 5229): the value of `name` or NULL. */
const char *sieve_interp_var_get(struct sieve_interp *interp, const char *name, size_t *len_r);
/* Sets variable `name`; returns 0 or -1 (too large). */
int sieve_interp_var_set(struct sieve_interp *interp, const char *name,
			 const char *value, size_t len);
/* Replaces the internal flags with the flags of `strs` (space separated
 * lists), or adds or removes them; mode 's', 'a', 'r'. */
void sieve_flags_apply(struct pool *pool, const char ***flags, size_t *count,
		       const char *const *strs, size_t n, char mode);

#endif
