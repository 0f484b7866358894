/* utf8.h: UTF-8 validation and encoding shared by the layers that check
 * names and strings (store names, IMAP quoting) and write text (mUTF-7,
 * previews). */
#ifndef ROOST_BASE_UTF8_H
#define ROOST_BASE_UTF8_H

#include "base.h"

/* Length (1..4) of the well-formed UTF-8 sequence at p, of which at most
 * `left` bytes may be read (left >= 1), or 0 if it is not well-formed
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). */
size_t utf8_seq_len(const unsigned char *p, size_t left);

/* Writes the UTF-8 form of code point c (at most U+10FFFF; the caller
 * keeps surrogates out) to buf; returns its length (1..4). */
size_t utf8_encode(uint32_t c, char buf[4]);

#endif
