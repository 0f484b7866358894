/* search-update.c: UPDATE contexts of CONTEXT=SEARCH (see search-update.h). */
#include "search-update.h"
#include "session.h"
#include "search-parse.h"
#include "base/log.h"
#include "base/pool.h"
#include "base/str.h"
#include "syntax/seqset.h"
#include "search/search.h"
#include "search/sort.h"
#include "syntax/msgkeys.h"
#include "store/store.h"

#include <assert.h>
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

	/* SORT contexts (crit_count > 0 or sorted): the result in sort
	 * order, each with the keys its criteria compare (strings
	 * xstrdup'd, the others NULL) and its UID as the msn, which orders
	 * equal keys in mailbox order as msns do */
	bool sorted;
	struct sort_criterion crit[IMAP_SEARCH_UPDATE_MAX_CRITERIA];
	size_t crit_count;
	struct sort_msg *msgs;
	size_t msg_count, msg_cap;
	size_t string_bytes;	/* copied by imap_search_update_add_sorted() */
};

static void search_update_msg_free(struct sort_msg *msg)
{
	free((char *)msg->cc);
	free((char *)msg->from);
	free((char *)msg->to);
	free((char *)msg->subject);
	free((char *)msg->displayfrom);
	free((char *)msg->displayto);
}

static const char *search_update_strdup(const char *s)
{
	return s == NULL ? NULL : xstrdup(s);
}

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
	struct store_uid_range *ranges =
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
						     const struct imap_arg *args,
						     const char *charset,
						     const struct seqset *saved_uids)
{
	struct pool *pool = pool_create(1024);
	struct imap_search_update *u = p_malloc(pool, sizeof(*u));
	const char *error;

	memset(u, 0, sizeof(*u));
	u->pool = pool;
	u->tag = p_strdup(pool, tag);
	u->uid = uid;
	if (imap_search_parse_program(pool, s->box, saved_uids, args, charset,
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

void imap_search_update_set_sort(struct imap_search_update *u,
				 const struct sort_criterion *crit, size_t crit_count)
{
	assert(crit_count <= IMAP_SEARCH_UPDATE_MAX_CRITERIA);
	u->sorted = true;
	memcpy(u->crit, crit, crit_count * sizeof(*crit));
	u->crit_count = crit_count;
}

/* Whether sort key `key` is one of u's criteria. */
static bool search_update_uses_key(const struct imap_search_update *u, enum sort_key key)
{
	for (size_t i = 0; i < u->crit_count; i++) {
		if (u->crit[i].key == key)
			return true;
	}
	return false;
}

/* Inserts a copy of `msg` (its msn replaced by its UID, only the used
 * strings copied) at index `pos` of u's sorted result. */
static void search_update_insert_sorted(struct imap_search_update *u, size_t pos,
					const struct sort_msg *msg)
{
	struct sort_msg copy = *msg;

	copy.msn = msg->uid;
	copy.cc = search_update_uses_key(u, SORT_KEY_CC) ? search_update_strdup(msg->cc) : NULL;
	copy.from = search_update_uses_key(u, SORT_KEY_FROM) ?
		search_update_strdup(msg->from) : NULL;
	copy.to = search_update_uses_key(u, SORT_KEY_TO) ? search_update_strdup(msg->to) : NULL;
	copy.subject = search_update_uses_key(u, SORT_KEY_SUBJECT) ?
		search_update_strdup(msg->subject) : NULL;
	copy.displayfrom = search_update_uses_key(u, SORT_KEY_DISPLAYFROM) ?
		search_update_strdup(msg->displayfrom) : NULL;
	copy.displayto = search_update_uses_key(u, SORT_KEY_DISPLAYTO) ?
		search_update_strdup(msg->displayto) : NULL;
	ARRAY_RESERVE(u->msgs, u->msg_cap, u->msg_count + 1);
	memmove(u->msgs + pos + 1, u->msgs + pos, (u->msg_count - pos) * sizeof(*u->msgs));
	u->msgs[pos] = copy;
	u->msg_count++;
	seqset_add(&u->result, msg->uid);
}

static size_t search_update_string_size(const struct imap_search_update *u,
					 enum sort_key key, const char *str)
{
	return str != NULL && search_update_uses_key(u, key) ? strlen(str) + 1 : 0;
}

bool imap_search_update_add_sorted(struct imap_search_update *u, const struct sort_msg *msg)
{
	size_t bytes = search_update_string_size(u, SORT_KEY_CC, msg->cc) +
		search_update_string_size(u, SORT_KEY_FROM, msg->from) +
		search_update_string_size(u, SORT_KEY_TO, msg->to) +
		search_update_string_size(u, SORT_KEY_SUBJECT, msg->subject) +
		search_update_string_size(u, SORT_KEY_DISPLAYFROM, msg->displayfrom) +
		search_update_string_size(u, SORT_KEY_DISPLAYTO, msg->displayto);

	if (u->string_bytes + bytes > IMAP_SEARCH_UPDATE_SORT_MAX_BYTES)
		return false;
	u->string_bytes += bytes;
	search_update_insert_sorted(u, u->msg_count, msg);
	return true;
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
	for (size_t i = 0; i < u->msg_count; i++)
		search_update_msg_free(&u->msgs[i]);
	free(u->msgs);
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

/* ---- sorted contexts (RFC 5267 4.3.3, 4.3.4: context positions) ---- */

/* "* ESEARCH (TAG "tag") [UID] NAME (pos value)" */
static void search_update_write_pairs(struct imap_session *s, const struct imap_search_update *u,
				      const char *name, const struct str *pairs)
{
	struct str line = STR_INIT;

	str_printfa(&line, "* ESEARCH (TAG \"%s\")%s %s (", u->tag, u->uid ? " UID" : "", name);
	str_append_n(&line, pairs->data, pairs->len);
	str_append_c(&line, ')');
	imap_session_write_line(s, &line);
	str_free(&line);
}

/* The index of `uid` in u's sorted result (it must be there). */
static size_t search_update_sorted_index(const struct imap_search_update *u, uint32_t uid)
{
	for (size_t i = 0; i < u->msg_count; i++) {
		if (u->msgs[i].uid == uid)
			return i;
	}
	i_panic("search update %s: UID %u in the result but not in its order", u->tag, uid);
}

/* Removes `uid` from u's result and writes REMOVEFROM (position value). */
static void search_update_sorted_remove(struct imap_session *s, struct imap_search_update *u,
					uint32_t uid, uint32_t value)
{
	size_t i = search_update_sorted_index(u, uid);
	struct str pair = STR_INIT;

	search_update_msg_free(&u->msgs[i]);
	memmove(u->msgs + i, u->msgs + i + 1, (u->msg_count - i - 1) * sizeof(*u->msgs));
	u->msg_count--;
	seqset_remove(&u->result, uid);
	/* RFC 5267 4.3.4: "the first result in the set will occupy the
	 * given context position before removal" (positions from 1) */
	str_printfa(&pair, "%zu %u", i + 1, value);
	search_update_write_pairs(s, u, "REMOVEFROM", &pair);
	str_free(&pair);
}

/* Places message msn (matching) into u's sorted result and appends
 * "position value" to `pairs` (RFC 5267 4.3.3: the result "will occupy
 * the new context position after insertion").  -1 (logged, nothing
 * placed) when its keys cannot be read. */
static int search_update_sorted_add(struct imap_session *s, struct imap_search_update *u,
				    uint32_t msn, struct str *pairs)
{
	const struct store_msg *m = store_mailbox_msg(s->box, msn);
	struct sort_msg msg;
	struct msgkeys keys;
	const void *data;
	size_t size;

	if (store_mailbox_msg_keys(s->box, msn, &data, &size) < 0 ||
	    msgkeys_deserialize(&keys, data, size) < 0) {
		enum store_error err;
		log_error("%s: search update %s: no sort keys for UID %u: %s", s->log_prefix,
			  u->tag, m->uid, store_last_error(s->store, &err));
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	msg.msn = msg.uid = m->uid;
	msg.arrival = (int64_t)m->internaldate;
	msg.size = m->size;
	msg.sent_date = keys.sent_date;
	msg.has_sent_date = keys.has_sent_date;
	msg.cc = keys.cc;
	msg.from = keys.from;
	msg.to = keys.to;
	msg.subject = keys.base_subject;
	msg.displayfrom = keys.displayfrom;
	msg.displayto = keys.displayto;
	size_t lo = 0, hi = u->msg_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sort_msg_compare(&u->msgs[mid], &msg, u->crit, u->crit_count) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	search_update_insert_sorted(u, lo, &msg);
	if (pairs->len > 0)
		str_append_c(pairs, ' ');
	str_printfa(pairs, "%zu %u", lo + 1, u->uid ? m->uid : msn);
	return 0;
}

/* ---- the replay's hooks ---- */

void imap_search_update_expunge(struct imap_session *s, uint32_t msn, uint32_t uid)
{
	for (struct imap_search_update *u = s->search_updates; u != NULL; u = u->next) {
		if (!seqset_contains(&u->result, uid))
			continue;
		if (u->sorted) {
			search_update_sorted_remove(s, u, uid, u->uid ? uid : msn);
			continue;
		}
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
	if (s->search_updates == NULL)
		return;
	uint32_t count = store_mailbox_count(s->box);

	for (struct imap_search_update *u = s->search_updates; u != NULL; u = u->next) {
		struct seqset add = SEQSET_INIT;
		struct str pairs = STR_INIT;
		uint32_t msn = imap_session_msn_lower_bound(s->box, u->uid_next);

		for (; msn <= count; msn++) {
			uint32_t uid = store_mailbox_msg(s->box, msn)->uid;
			u->uid_next = uid + 1;
			if (search_update_match(s, u, msn) <= 0)
				continue;
			if (u->sorted) {
				(void)search_update_sorted_add(s, u, msn, &pairs);
				continue;
			}
			seqset_add(&u->result, uid);
			seqset_add(&add, u->uid ? uid : msn);
		}
		if (!seqset_is_empty(&add))
			search_update_write(s, u, &add, NULL);
		if (pairs.len > 0)
			search_update_write_pairs(s, u, "ADDTO", &pairs);
		seqset_deinit(&add);
		str_free(&pairs);
	}
}

void imap_search_update_flags(struct imap_session *s, uint32_t msn)
{
	if (s->search_updates == NULL)
		return;
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
		if (u->sorted) {
			/* told at once: each position counts from the
			 * result as the previous change left it */
			struct str pairs = STR_INIT;
			if (ret > 0 && !was && search_update_sorted_add(s, u, msn, &pairs) == 0)
				search_update_write_pairs(s, u, "ADDTO", &pairs);
			else if (ret == 0 && was)
				search_update_sorted_remove(s, u, uid, value);
			str_free(&pairs);
			continue;
		}
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
