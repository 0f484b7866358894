/* utf8.h: UTF-8 validation shared by the layers that check names and
 * strings (store names, IMAP quoting). */
#ifndef ROOST_BASE_UTF8_H
#define ROOST_BASE_UTF8_H

#include "base.h"

/* Length (1..4) of the well-formed UTF-8 sequence at p, of which at most
 * `left` bytes may be read (left >= 1), or 0 if it is not well-formed
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
size_t utf8_seq_len(const unsigned char *p, size_t left);

#endif
