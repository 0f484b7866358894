/* fetch-binary.h: the BINARY items of FETCH, for cmd-fetch.c (see
 * fetch-binary.c).  Each works on the message ctx->msn that cmd-fetch.c
 * has opened (ctx->msg, ctx->map). */
#ifndef ROOST_IMAP_FETCH_BINARY_H
#define ROOST_IMAP_FETCH_BINARY_H

#include "cmd-fetch.h"

/* True if a BINARY or BINARY.SIZE item asks for a part of ctx->msn whose
 * transfer encoding Roost cannot remove: the command must fail with
 * NO [UNKNOWN-CTE] (RFC 3516 4.3) before the message's response starts. */
bool fetch_binary_has_unknown_cte(struct fetch_ctx *ctx);

/* Starts BINARY or BINARY.SIZE item `body` of ctx->msn: writes its name
 * and value or literal header, and sets ctx->src_left (and, when the
 * encoding is removed as the data goes out, ctx->decoding) for
 * cmd-fetch.c's literal stage.  When it must scan the part first it
 * writes nothing and returns 1: run fetch_binary_scan_step() until it
 * returns 1, then call this again for the same item.  Returns 0
 * (started), 1 (scan first) or -1 (read error, logged). */
int fetch_binary_begin(struct fetch_ctx *ctx, const struct fetch_body *body);

/* One FETCH_READ_SIZE chunk of the scan fetch_binary_begin() started.
 * Returns 1 (complete), 0 (more to do) or -1 (read error, logged). */
int fetch_binary_scan_step(struct fetch_ctx *ctx);

/* Writes the next decoded chunk of the current BINARY literal (when
 * ctx->decoding).  Returns 0, or -1 when the part cannot be read or
 * decodes to less than measured: the literal cannot be completed. */
int fetch_binary_data(struct fetch_ctx *ctx);

#endif
