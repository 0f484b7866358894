/* basesubject.c: base-subject extraction, RFC 5256 section 2.1.
 *
 * The RFC's ABNF for subjects (section 5) is ambiguous, so the RFC gives a
 * procedure; each function below implements one rule and quotes it.  All
 * ABNF literals are case-insensitive US-ASCII ("RE", "Fwd", "(FWD)").
 * After step (1) the only WSP left is SP, which the matchers rely on.
 *
 * The text being reduced is always dest->data[s..e): removing a prefix or
 * suffix moves an index and never copies, so the repeated steps cost
 * nothing for what they do not remove.  Never reads outside [s, e). */
#include "syntax/basesubject.h"

#include <string.h>

static inline char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* True when buf[p..e) starts with the lower-case ASCII literal `lit`,
 * ignoring case. */
static bool has_literal(const char *buf, size_t p, size_t e, const char *lit)
{
	size_t n = strlen(lit);

	if (e - p < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (lower(buf[p + i]) != lit[i])
			return false;
	}
	return true;
}

/* Step (1), after RFC 2047 decoding: "Convert all tabs and continuations
 * to space.  Convert all multiple spaces to a single space."  A
 * continuation is CRLF before WSP; a bare CR or LF (seen in broken mail
 * and in decoded encoded-words) is treated the same way. */
static void fold_whitespace(const char *in, size_t len, struct str *dest)
{
	str_truncate(dest, 0);
	str_append_n(dest, "", 0);
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && dest->len > 0 && dest->data[dest->len - 1] == ' ')
			continue;
		str_append_c(dest, c);
	}
}

/*   subj-blob       = "[" *BLOBCHAR "]" *WSP
 *   BLOBCHAR        = %x01-5a / %x5c / %x5e-ff
 *                       ; any CHAR8 except '[' and ']'.
 * Returns the end of the blob that starts at p, or 0 when there is none
 * (p > 0 whenever there is a blob, since a blob is not empty). */
static size_t match_blob(const char *buf, size_t p, size_t e)
{
	if (p >= e || buf[p] != '[')
		return 0;
	for (size_t i = p + 1; i < e; i++) {
		if (buf[i] == '[')
			return 0;
		if (buf[i] == ']') {
			i++;
			while (i < e && buf[i] == ' ')
				i++;
			return i;
		}
	}
	return 0;
}

/*   subj-refwd      = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
 * Returns the end of the subj-refwd that starts at p, or 0.  Each choice
 * is decided by one character ("fw" without the "d" would need WSP, "["
 * or ":" next; the blob is optional only if ":" follows directly), so no
 * backtracking is needed. */
static size_t match_refwd(const char *buf, size_t p, size_t e)
{
	if (has_literal(buf, p, e, "re")) {
		p += 2;
	} else if (has_literal(buf, p, e, "fw")) {
		p += 2;
		if (p < e && lower(buf[p]) == 'd')
			p++;
	} else {
		return 0;
	}
	while (p < e && buf[p] == ' ')
		p++;
	size_t blob_end = match_blob(buf, p, e);
	if (blob_end != 0)
		p = blob_end;
	if (p < e && buf[p] == ':')
		return p + 1;
	return 0;
}

/* Step (2): "Remove all trailing text of the subject that matches the
 * subj-trailer ABNF; repeat until no more matches are possible."
 *   subj-trailer    = "(fwd)" / WSP */
static void remove_trailers(const char *buf, size_t s, size_t *e,
			    bool *refwd)
{
	for (;;) {
		if (*e > s && buf[*e - 1] == ' ') {
			(*e)--;
		} else if (*e - s >= 5 && has_literal(buf, *e - 5, *e, "(fwd)")) {
			*e -= 5;
			*refwd = true;
		} else {
			break;
		}
	}
}

/* Steps (3)-(5):
 *   (3) Remove all prefix text of the subject that matches the
 *       subj-leader ABNF.
 *   (4) If there is prefix text of the subject that matches the subj-blob
 *       ABNF, and removing that prefix leaves a non-empty subj-base, then
 *       remove the prefix text.
 *   (5) Repeat (3) and (4) until no matches remain.
 *
 *   subj-leader     = (*subj-blob subj-refwd) / WSP
 *
 * A subj-refwd can only follow the longest run of blobs at s (it starts
 * with a letter, a blob with "["), so one scan of that run decides both
 * (3) and (4): with a subj-refwd after it, the run and the subj-refwd are
 * a leader; without, (4) removes the blobs one by one, and (3) finds no
 * leader in between, until the remainder would be empty ("last subj-blob
 * is subj-base if subj-base would otherwise be empty"). */
static size_t remove_leaders(const char *buf, size_t s, size_t e, bool *refwd)
{
	while (s < e) {
		if (buf[s] == ' ') {
			s++;
			continue;
		}
		size_t run_end = s, last_blob = s, next;
		while ((next = match_blob(buf, run_end, e)) != 0) {
			last_blob = run_end;
			run_end = next;
		}
		size_t refwd_end = match_refwd(buf, run_end, e);
		if (refwd_end != 0) {
			s = refwd_end;
			*refwd = true;
			continue;
		}
		if (run_end == s)
			break;		/* neither a leader nor a blob */
		if (run_end < e) {
			s = run_end;	/* all blobs go; what follows is text */
			continue;
		}
		/* the run reaches the end: every blob but the last goes */
		s = last_blob;
		break;
	}
	return s;
}

void basesubject_extract(const char *subject, size_t len, struct str *dest,
			 bool *is_reply_or_forward_r)
{
	bool refwd = false;

	fold_whitespace(subject, len, dest);

	const char *buf = dest->data;
	size_t s = 0, e = dest->len;
	for (;;) {
		remove_trailers(buf, s, &e, &refwd);
		s = remove_leaders(buf, s, e, &refwd);
		/* (6) If the resulting text begins with the subj-fwd-hdr ABNF
		 *     and ends with the subj-fwd-trl ABNF, remove the
		 *     subj-fwd-hdr and subj-fwd-trl and repeat from step (2).
		 *   subj-fwd-hdr    = "[fwd:"
		 *   subj-fwd-trl    = "]" */
		if (e - s >= 6 && has_literal(buf, s, e, "[fwd:") &&
		    buf[e - 1] == ']') {
			s += 5;
			e -= 1;
			refwd = true;
			continue;
		}
		break;
	}
	/* (7) The resulting text is the "base subject" */
	memmove(dest->data, dest->data + s, e - s);
	str_truncate(dest, e - s);
	if (is_reply_or_forward_r != NULL)
		*is_reply_or_forward_r = refwd;
}
