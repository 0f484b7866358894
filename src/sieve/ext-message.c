/* ext-message.c: the message as the extensions that change it left it
 * (editheader RFC 5293 7, replace and enclose RFC 5703 5-6), its MIME
 * parse and the foreverypart loops that walk it.  See ext-state.h. */
#include "ext-state.h"

#include <stdlib.h>
#include <string.h>

struct sieve_ext_state *sieve_ext_state_get(struct sieve_interp *interp)
{
	if (interp->ext == NULL)
		interp->ext = xcalloc(1, sizeof(*interp->ext));
	return interp->ext;
}

struct sieve_mime *sieve_ext_mime_get(struct sieve_interp *interp)
{
	struct sieve_ext_state *st = sieve_ext_state_get(interp);

	if (st->mime == NULL)
		st->mime = sieve_mime_parse(interp->msg->data, interp->msg->size);
	return st->mime;
}

size_t sieve_ext_context(struct sieve_interp *interp)
{
	struct sieve_ext_state *st = interp->ext;

	return st == NULL || st->loop_count == 0 ? SIEVE_MIME_TOP :
		st->loops[st->loop_count - 1].current;
}

/* Moves the loops after part r's subtree [r, old_end) became
 * [r, new_end) and the part count changed by delta. */
static void loops_after_replace(struct sieve_ext_state *st, size_t r, size_t old_end,
				size_t new_end, ptrdiff_t delta)
{
	for (size_t i = 0; i < st->loop_count; i++) {
		struct sieve_ext_loop *l = &st->loops[i];

		if (l->iter.next > r && l->iter.next <= old_end)
			l->iter.next = new_end;
		else if (l->iter.next > old_end)
			l->iter.next = (size_t)((ptrdiff_t)l->iter.next + delta);
		if (l->iter.end > r)
			l->iter.end = (size_t)((ptrdiff_t)l->iter.end + delta);
	}
}

int sieve_ext_message_change(struct sieve_interp *interp, const char *data, size_t size,
			     enum sieve_ext_change change, size_t part)
{
	struct sieve_ext_state *st = sieve_ext_state_get(interp);
	size_t old_count = 0, old_end = 0, new_count, new_end;
	char *copy;

	if (++st->edits > SIEVE_EXT_MAX_EDITS)
		return sieve_interp_fail(interp, "more than %d changes of the message",
					 SIEVE_EXT_MAX_EDITS);
	if (st->loop_count > 0) {
		struct sieve_mime *old = sieve_ext_mime_get(interp);

		old_count = sieve_mime_part_count(old);
		if (change == SIEVE_EXT_CHANGE_PART)
			old_end = sieve_mime_subtree_end(old, part);
	}
	if (change == SIEVE_EXT_CHANGE_ENCLOSE && st->pre_enclose == NULL) {
		st->pre_enclose = xmemdup(interp->msg->data, interp->msg->size);
		st->pre_enclose_size = interp->msg->size;
	}
	copy = xmemdup(data, size);
	free(st->data);
	st->data = copy;
	st->cur = *interp->msg;
	st->cur.data = st->data;
	st->cur.size = size;
	interp->msg = &st->cur;
	/* the core's header cache (interp.c) and the MIME parse are of the
	 * old message */
	free(interp->fields);
	interp->fields = NULL;
	interp->field_count = 0;
	interp->fields_parsed = false;
	sieve_mime_free(&st->mime);
	if (st->loop_count == 0)
		return 0;

	struct sieve_mime *mime = sieve_ext_mime_get(interp);
	new_count = sieve_mime_part_count(mime);
	switch (change) {
	case SIEVE_EXT_CHANGE_HEADER:
		if (new_count != old_count)
			loops_after_replace(st, 0, old_count, new_count,
					    (ptrdiff_t)new_count - (ptrdiff_t)old_count);
		break;
	case SIEVE_EXT_CHANGE_PART:
		new_end = sieve_mime_subtree_end(mime, part);
		loops_after_replace(st, part, old_end, new_end,
				    (ptrdiff_t)new_count - (ptrdiff_t)old_count);
		break;
	case SIEVE_EXT_CHANGE_ENCLOSE:
		/* the old root is now part 3 (multipart, text, message/rfc822) */
		for (size_t i = 0; i < st->loop_count; i++) {
			struct sieve_ext_loop *l = &st->loops[i];
			size_t shift = new_count > old_count ? new_count - old_count : 0;

			l->current += shift;
			l->iter.next += shift;
			l->iter.end += shift;
		}
		break;
	}
	/* never past the new parse, whatever the parser made of it */
	for (size_t i = 0; i < st->loop_count; i++) {
		struct sieve_ext_loop *l = &st->loops[i];

		l->iter.end = ROOST_MIN(l->iter.end, new_count);
		l->current = ROOST_MIN(l->current, new_count - 1);
	}
	return 0;
}

const struct sieve_message *sieve_ext_message_keep(struct sieve_interp *interp)
{
	struct sieve_message *m = p_malloc(interp->pool, sizeof(*m));

	*m = *interp->msg;
	m->data = p_memdup(interp->pool, interp->msg->data, interp->msg->size);
	if (interp->ext != NULL && interp->ext->pre_enclose != NULL) {
		const char *pre = p_memdup(interp->pool, interp->ext->pre_enclose,
					   interp->ext->pre_enclose_size);

		for (size_t i = 0; i < interp->action_count; i++) {
			struct sieve_action *a = &interp->actions[i];

			if (a->kind == SIEVE_ACT_REDIRECT) {
				a->redirect_message = pre;
				a->redirect_message_size = interp->ext->pre_enclose_size;
			}
		}
	}
	return m;
}

void sieve_ext_state_free(struct sieve_interp *interp)
{
	struct sieve_ext_state *st = interp->ext;

	if (st == NULL)
		return;
	sieve_mime_free(&st->mime);
	free(st->data);
	free(st->pre_enclose);
	free(st);
	interp->ext = NULL;
}
