/* fetch-binary.h: the BINARY items of FETCH, the part of the output
 * engine that fetch.c calls for them (see fetch-binary.c).  Each works on
 * the message ctx->msn that fetch.c has opened (ctx->msg, ctx->map). */
#ifndef ROOST_IMAP_FETCH_BINARY_H
#define ROOST_IMAP_FETCH_BINARY_H

#include "fetch.h"

/* True if a BINARY or BINARY.SIZE item asks for a part of ctx->msn whose
 * transfer encoding Roost cannot remove: the command must fail with
 * NO [UNKNOWN-CTE] (RFC 3516 4.3) before the message's response starts. */
bool fetch_binary_has_unknown_cte(struct fetch_ctx *ctx);

/* Starts BINARY or BINARY.SIZE item `body` of ctx->msn: writes its name
 * and value or literal header, and sets ctx->src_left (and, when the
 * encoding is removed as the data goes out, ctx->decoding) for
 * fetch.c's literal stage.  When it must scan the part first it writes
 * nothing and returns FETCH_STEP_SCAN: run fetch_binary_scan_step()
 * until it returns FETCH_STEP_DONE, then call this again for the same
 * item.  Returns DONE (started) or SCAN. */
enum fetch_step fetch_binary_begin(struct fetch_ctx *ctx, const struct fetch_body *body);

/* One FETCH_READ_SIZE chunk of the scan fetch_binary_begin() started.
 * Returns DONE (complete), MORE or FAILED (read error, logged). */
enum fetch_step fetch_binary_scan_step(struct fetch_ctx *ctx);

/* Writes the next decoded chunk of the current BINARY literal (when
 * ctx->decoding).  Returns MORE, DONE when the literal is complete, or
 * FAILED when the part cannot be read or decodes to less than measured
 * (logged: the literal cannot be completed). */
enum fetch_step fetch_binary_data(struct fetch_ctx *ctx);

#endif
