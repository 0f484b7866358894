/* ext-state.h: the run-time state the message-changing and MIME
 * extensions share (ext-message.c, ext-editheader.c, ext-mime.c): the
 * current message, its MIME parse and the foreverypart loops.  Private
 * to those files. */
#ifndef ROOST_SIEVE_EXT_STATE_H
#define ROOST_SIEVE_EXT_STATE_H

#include "sieve-private.h"
#include "sieve/mime.h"

/* Changes of the message per run (each holds a copy of the message);
 * more is a run-time error. */
#define SIEVE_EXT_MAX_EDITS 64
/* foreverypart loops inside each other (RFC 5703 3: "MUST support at
 * least one nested loop"). */
#define SIEVE_EXT_MAX_LOOPS 8

struct sieve_ext_loop {
	size_t current;			/* the part the block runs for */
	struct sieve_mime_iter iter;	/* the parts still to come */
	const char *name;		/* :name, or NULL */
};

struct sieve_ext_state {
	/* the current message when it was changed: cur.data is `data` */
	struct sieve_message cur;
	char *data;
	unsigned int edits;
	/* the MIME parse of interp->msg, made when first needed */
	struct sieve_mime *mime;
	struct sieve_ext_loop loops[SIEVE_EXT_MAX_LOOPS];
	size_t loop_count;
	/* the message before the first enclose (heap), for redirect */
	char *pre_enclose;
	size_t pre_enclose_size;
	/* the :name of the break being carried out, NULL for "the nearest" */
	const char *break_name;
};

/* The state, created on first use. */
struct sieve_ext_state *sieve_ext_state_get(struct sieve_interp *interp);
/* The MIME parse of the current message. */
struct sieve_mime *sieve_ext_mime_get(struct sieve_interp *interp);
/* The current part of the innermost foreverypart, or SIEVE_MIME_TOP. */
size_t sieve_ext_context(struct sieve_interp *interp);

/* How a change moves the parts the running loops point at. */
enum sieve_ext_change {
	SIEVE_EXT_CHANGE_HEADER,	/* the top header (editheader) */
	SIEVE_EXT_CHANGE_PART,		/* part `part` replaced (replace) */
	SIEVE_EXT_CHANGE_ENCLOSE,	/* the message enclosed (enclose) */
};

/* Makes data[0..size) the current message and moves the loops: after a
 * replace of part r, a loop goes on after r's new subtree (RFC 5703 5:
 * "does not go into the no-longer existing body parts"); after an
 * enclose, the parts keep their place in the enclosed message; a header
 * change that alters the structure (a new Content-Type) ends the loops.
 * Returns 0, or -1 (error recorded) past SIEVE_EXT_MAX_EDITS. */
int sieve_ext_message_change(struct sieve_interp *interp, const char *data, size_t size,
			     enum sieve_ext_change change, size_t part);

#endif
