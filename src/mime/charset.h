/* charset.h: conversion of text in a MIME charset to UTF-8 (glibc iconv).
 *
 * Used by RFC 2047 encoded words, RFC 2231 parameter values and, later,
 * SEARCH on decoded text.  It never fails on bad data: invalid or
 * truncated sequences become U+FFFD.  It knows nothing of headers. */
#ifndef ROOST_MIME_CHARSET_H
#define ROOST_MIME_CHARSET_H

#include "base/base.h"
#include "base/str.h"

/* True when text in `charset` is already UTF-8 (or its ASCII subset):
 * "utf-8", "utf8", "us-ascii", "ascii", case-insensitive. */
bool mime_charset_is_utf8(const char *charset);

/* Converts len bytes of src from `charset` (a MIME charset name; a
 * trailing RFC 2231 "*language" is ignored) and appends the UTF-8 text to
 * dest.  UTF-8 and US-ASCII input is appended as it is.  Returns 0, or -1
 * when iconv does not know the charset: dest is then unchanged. */
int mime_charset_to_utf8(const char *charset, const void *src, size_t len,
			 struct str *dest);

#endif
