/* search-update.c: UPDATE contexts of CONTEXT=SEARCH (see search-update.h). */
#include "search-update.h"
#include "session.h"
#include "search-parse.h"
#include "base/log.h"
#include "base/pool.h"
#include "base/str.h"
#include "syntax/seqset.h"
#include "search/search.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

struct imap_search_update {
	struct imap_search_update *next;
	struct pool *pool;	/* the tag and the program */
	const char *tag;
	bool uid;		/* UID SEARCH: results as UIDs, else msns */
	struct search_key *program;
	/* the program has flag or keyword keys: flag changes may change
	 * the result */
	bool flag_keys;
	/* UIDs of the messages in the result as the client knows it */
	struct seqset result;
	/* messages with a UID from here on are new to the context */
	uint32_t uid_next;
	/* during one sync replay: the evaluation (made on first use) and
	 * the flag changes' additions and removals, as the client's
	 * numbers (UIDs or msns of the synced view) */
	struct search_ctx *eval;
	struct seqset pending_add, pending_remove;
};

static bool search_update_has_flag_keys(const struct search_key *key)
{
	switch (key->type) {
	case SEARCH_KEY_FLAGS_SET:
	case SEARCH_KEY_FLAGS_UNSET:
	case SEARCH_KEY_KEYWORD:
		return true;
	case SEARCH_KEY_AND:
	case SEARCH_KEY_OR:
	case SEARCH_KEY_NOT:
		for (const struct search_key *c = key->children; c != NULL; c = c->next) {
			if (search_update_has_flag_keys(c))
				return true;
		}
		return false;
	default:
		return false;
	}
}

/* Turns every msn key of the program into the UID key that names the
 * same messages of `box` now and none that arrives later (see
 * search-update.h): msn a..b is UID uid(a)..uid(b), msns past the count
 * name nothing. */
static void search_update_fix_msns(struct pool *pool, struct store_mailbox *box,
				   struct search_key *key)
{
	for (struct search_key *c = key->children; c != NULL; c = c->next)
		search_update_fix_msns(pool, box, c);
	if (key->type != SEARCH_KEY_MSN)
		return;
	uint32_t count = store_mailbox_count(box);
	struct search_range *ranges =
		p_malloc(pool, (key->range_count == 0 ? 1 : key->range_count) * sizeof(*ranges));
	size_t n = 0;
	for (size_t i = 0; i < key->range_count; i++) {
		uint32_t first = key->ranges[i].first, last = key->ranges[i].last;
		if (first > count)
			break;		/* sorted: the rest are past it too */
		if (last > count)
			last = count;
		ranges[n].first = store_mailbox_msg(box, first)->uid;
		ranges[n].last = store_mailbox_msg(box, last)->uid;
		n++;
	}
	key->type = SEARCH_KEY_UID;
	key->ranges = ranges;
	key->range_count = n;
}

/* Copies the strings of the program into `pool`: the parser leaves
 * names and UTF-8 search strings pointing into the command's arguments,
 * which end with the command, and the context outlives it. */
static void search_update_own_strings(struct pool *pool, struct search_key *key)
{
	for (struct search_key *c = key->children; c != NULL; c = c->next)
		search_update_own_strings(pool, c);
	if (key->name != NULL)
		key->name = p_strdup(pool, key->name);
	if (key->value != NULL)
		key->value = p_strndup(pool, key->value, key->value_len);
}

bool imap_search_update_tag_in_use(const struct imap_session *s, const char *tag)
{
	for (const struct imap_search_update *u = s->search_updates; u != NULL; u = u->next) {
		if (strcmp(u->tag, tag) == 0)
			return true;
	}
	return false;
}

bool imap_search_update_is_full(const struct imap_session *s)
{
	unsigned int n = 0;
	for (const struct imap_search_update *u = s->search_updates; u != NULL; u = u->next)
		n++;
	return n >= IMAP_SEARCH_UPDATE_MAX;
}

struct imap_search_update *imap_search_update_create(struct imap_session *s,
						     const char *tag, bool uid,
						     const struct imap_arg *args)
{
	struct pool *pool = pool_create(1024);
	struct imap_search_update *u = p_malloc(pool, sizeof(*u));
	const char *error;

	memset(u, 0, sizeof(*u));
	u->pool = pool;
	u->tag = p_strdup(pool, tag);
	u->uid = uid;
	if (imap_search_parse_program(pool, s->box, &s->search_result, args, NULL,
				      &u->program, &error) != IMAP_SEARCH_PARSE_OK) {
		pool_destroy(&pool);
		return NULL;
	}
	search_update_own_strings(pool, u->program);
	search_update_fix_msns(pool, s->box, u->program);
	u->flag_keys = search_update_has_flag_keys(u->program);
	return u;
}

void imap_search_update_add_result(struct imap_search_update *u, uint32_t uid)
{
	seqset_add(&u->result, uid);
}

void imap_search_update_start(struct imap_session *s, struct imap_search_update **_u)
{
	struct imap_search_update *u = *_u;
	uint32_t count = store_mailbox_count(s->box);

	*_u = NULL;
	u->uid_next = count == 0 ? 1 : store_mailbox_msg(s->box, count)->uid + 1;
	u->next = s->search_updates;
	s->search_updates = u;
	log_debug("%s: search update context %s started", s->log_prefix, u->tag);
}

void imap_search_update_destroy(struct imap_search_update **_u)
{
	struct imap_search_update *u = *_u;

	if (u == NULL)
		return;
	*_u = NULL;
	search_ctx_destroy(&u->eval);
	seqset_deinit(&u->result);
	seqset_deinit(&u->pending_add);
	seqset_deinit(&u->pending_remove);
	struct pool *pool = u->pool;
	pool_destroy(&pool);
}

bool imap_search_update_cancel(struct imap_session *s, const char *tag)
{
	for (struct imap_search_update **p = &s->search_updates; *p != NULL; p = &(*p)->next) {
		if (strcmp((*p)->tag, tag) == 0) {
			struct imap_search_update *u = *p;
			*p = u->next;
			imap_search_update_destroy(&u);
			return true;
		}
	}
	return false;
}

void imap_search_update_clear(struct imap_session *s)
{
	while (s->search_updates != NULL) {
		struct imap_search_update *u = s->search_updates;
		s->search_updates = u->next;
		imap_search_update_destroy(&u);
	}
}

/* ---- during a sync replay ---- */

/* Resolves KEYWORD keys whose keyword was not in the mailbox's table
 * when the program was parsed: another session may have added it since. */
static void search_update_resolve_keywords(struct store_mailbox *box, struct search_key *key)
{
	for (struct search_key *c = key->children; c != NULL; c = c->next)
		search_update_resolve_keywords(box, c);
	unsigned int idx;
	if (key->type == SEARCH_KEY_KEYWORD && key->keyword < 0 && key->name != NULL &&
	    store_mailbox_keyword_index(box, key->name, false, &idx) == 0)
		key->keyword = (int)idx;
}

/* Whether msn of the synced view matches u's program: 1, 0, or -1 on a
 * store error (logged; the change is then not told). */
static int search_update_match(struct imap_session *s, struct imap_search_update *u,
			       uint32_t msn)
{
	if (u->eval == NULL) {
		search_update_resolve_keywords(s->box, u->program);
		u->eval = search_ctx_create(s->store, s->box, u->program);
	}
	int ret = search_match(u->eval, msn);
	if (ret < 0) {
		enum store_error err;
		log_error("%s: search update %s: %s", s->log_prefix, u->tag,
			  store_last_error(s->store, &err));
	}
	return ret;
}

/* "* ESEARCH (TAG "tag") [UID] NAME (0 set)" with one or two parts. */
static void search_update_write(struct imap_session *s, const struct imap_search_update *u,
				const struct seqset *add, const struct seqset *remove)
{
	struct str line = STR_INIT;

	/* tags are atoms without '"' or '\\': no escapes */
	str_printfa(&line, "* ESEARCH (TAG \"%s\")", u->tag);
	if (u->uid)
		str_append(&line, " UID");
	if (add != NULL && !seqset_is_empty(add)) {
		str_append(&line, " ADDTO (0 ");
		seqset_write(add, &line);
		str_append_c(&line, ')');
	}
	if (remove != NULL && !seqset_is_empty(remove)) {
		str_append(&line, " REMOVEFROM (0 ");
		seqset_write(remove, &line);
		str_append_c(&line, ')');
	}
	imap_session_write_line(s, &line);
	str_free(&line);
}

void imap_search_update_expunge(struct imap_session *s, uint32_t msn, uint32_t uid)
{
	for (struct imap_search_update *u = s->search_updates; u != NULL; u = u->next) {
		if (!seqset_contains(&u->result, uid))
			continue;
		seqset_remove(&u->result, uid);
		/* a flag change of this sync told but not yet written is
		 * of a message still in the view, never of this one */
		struct seqset one = SEQSET_INIT;
		seqset_add(&one, u->uid ? uid : msn);
		search_update_write(s, u, NULL, &one);
		seqset_deinit(&one);
	}
}

void imap_search_update_exists(struct imap_session *s)
{
	uint32_t count = store_mailbox_count(s->box);

	for (struct imap_search_update *u = s->search_updates; u != NULL; u = u->next) {
		struct seqset add = SEQSET_INIT;
		uint32_t msn = imap_session_msn_lower_bound(s->box, u->uid_next);

		for (; msn <= count; msn++) {
			uint32_t uid = store_mailbox_msg(s->box, msn)->uid;
			if (search_update_match(s, u, msn) > 0) {
				seqset_add(&u->result, uid);
				seqset_add(&add, u->uid ? uid : msn);
			}
			u->uid_next = uid + 1;
		}
		if (!seqset_is_empty(&add))
			search_update_write(s, u, &add, NULL);
		seqset_deinit(&add);
	}
}

void imap_search_update_flags(struct imap_session *s, uint32_t msn)
{
	uint32_t uid = store_mailbox_msg(s->box, msn)->uid;

	for (struct imap_search_update *u = s->search_updates; u != NULL; u = u->next) {
		/* a message the context has not seen yet comes with EXISTS */
		if (!u->flag_keys || uid >= u->uid_next)
			continue;
		int ret = search_update_match(s, u, msn);
		if (ret < 0)
			continue;
		bool was = seqset_contains(&u->result, uid);
		uint32_t value = u->uid ? uid : msn;
		/* a second change of the same message in one sync undoes
		 * what the first one made pending */
		if (ret > 0 && !was) {
			seqset_add(&u->result, uid);
			if (seqset_contains(&u->pending_remove, value))
				seqset_remove(&u->pending_remove, value);
			else
				seqset_add(&u->pending_add, value);
		} else if (ret == 0 && was) {
			seqset_remove(&u->result, uid);
			if (seqset_contains(&u->pending_add, value))
				seqset_remove(&u->pending_add, value);
			else
				seqset_add(&u->pending_remove, value);
		}
	}
}

void imap_search_update_end(struct imap_session *s)
{
	for (struct imap_search_update *u = s->search_updates; u != NULL; u = u->next) {
		if (!seqset_is_empty(&u->pending_add) || !seqset_is_empty(&u->pending_remove))
			search_update_write(s, u, &u->pending_add, &u->pending_remove);
		seqset_clear(&u->pending_add);
		seqset_clear(&u->pending_remove);
		/* the text keys' answers are for this moment only */
		search_ctx_destroy(&u->eval);
	}
}
