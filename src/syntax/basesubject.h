/* basesubject.h: the "base subject" of RFC 5256 section 2.1.
 *
 * SUBJECT sorting, THREAD=ORDEREDSUBJECT and the subject grouping of
 * THREAD=REFERENCES compare base subjects: the Subject with "Re:",
 * "Fwd:", "[list]" blobs, "(fwd)" trailers and "[fwd: ...]" wrappers
 * removed.  The RFC says every server and disconnected client MUST use
 * exactly its algorithm, so this module follows steps (1)-(7) literally.
 *
 * Input is the Subject field body already RFC 2047-decoded to UTF-8 (step
 * (1)'s first sentence is the MIME layer's job); this module does the
 * rest of step (1) (whitespace) and steps (2)-(6).  It works on bytes:
 * invalid UTF-8 is carried through unchanged and never makes it fail.
 * The result keeps its case: comparisons go through i;unicode-casemap
 * (base/casemap.h). */
#ifndef ROOST_SYNTAX_BASESUBJECT_H
#define ROOST_SYNTAX_BASESUBJECT_H

#include "base/base.h"
#include "base/str.h"

/* Replaces the content of `dest` with the base subject of
 * subject[0..len) (NUL bytes are ordinary characters; `dest` may hold
 * them too).  The result has no leading or trailing space and no runs of
 * spaces; it may be empty (e.g. for "Re:" or "").
 *
 * *is_reply_or_forward_r (may be NULL) is set to whether the extraction
 * removed a subj-refwd ("Re:", "Fw:", "Fwd:", with an optional blob
 * before the colon), a "(fwd)" subj-trailer, or a subj-fwd-hdr and
 * subj-fwd-trl pair ("[fwd: ...]"): the "reply or forward" test of RFC
 * 5256 section 3 (THREAD=REFERENCES step 5).
 *
 * Time linear in len, whatever the nesting ("[fwd: [fwd: ...]]",
 * thousands of blobs), so no length limit is needed. */
void basesubject_extract(const char *subject, size_t len, struct str *dest,
			 bool *is_reply_or_forward_r);

#endif
