/* proxy-proto.h: the PROXY protocol header (HAProxy's
 * doc/proxy-protocol.txt, versions 1 and 2) that a load balancer sends
 * before the client's first byte, and reading it off a new socket.
 *
 * The parser is pure (no I/O, no allocation) so that it can be fuzzed
 * and run wherever connections are accepted.  The reader takes exactly
 * the header's bytes from the socket (peeking first), so whatever the
 * client sent after it, an IMAP command or a TLS ClientHello, stays in
 * the socket for the protocol or the TLS handshake. */
#ifndef ROOST_NET_PROXY_PROTO_H
#define ROOST_NET_PROXY_PROTO_H

#include "base/base.h"

#include <sys/socket.h>

/* Version 1 is one line of at most 107 bytes with its CRLF (section 2.1). */
#define NET_PROXY_V1_MAX 107
/* Version 2: a 16-byte block and up to 65,535 bytes of addresses and
 * TLVs.  We accept at most this much in all: room for the addresses, an
 * authority (SNI, 255 bytes), a unique id (128) and the SSL TLV with a
 * client certificate of a few KiB. */
#define NET_PROXY_V2_MAX (16 + 8192)
/* The longest header the parser accepts (the reader's buffer size). */
#define NET_PROXY_HEADER_MAX NET_PROXY_V2_MAX

struct net_proxy_header {
	unsigned int version;	/* 1 or 2 */
	/* The header carries the client's addresses in src/dst.  False for a
	 * v2 LOCAL command (a health check of the balancer's own), v1
	 * UNKNOWN, and a v2 PROXY command of family AF_UNSPEC or AF_UNIX or
	 * a transport other than STREAM: the connection's real addresses
	 * stand (sections 2.1 and 2.2). */
	bool has_addresses;
	/* v2 LOCAL command */
	bool is_local_command;
	/* v2 PP2_TYPE_SSL with PP2_CLIENT_SSL: the client reached the
	 * balancer over TLS (never set for LOCAL) */
	bool client_ssl;
	/* AF_INET or AF_INET6 with the port, when has_addresses */
	struct sockaddr_storage src, dst;
	/* v2 PP2_TYPE_AUTHORITY (the SNI the client sent), printable ASCII
	 * (other bytes as '?'), "" when absent */
	char authority[256];
};

/* Parses the header at the start of data[0..len-1].
 * Returns 1 with *hdr_r filled and *header_len_r the header's size (the
 * bytes after it are the client's), 0 if the bytes so far are a valid
 * beginning of a header but it is not complete (every one of them is
 * part of the header: a caller may consume them), or -1 with *error_r (a
 * static string) if they cannot begin a valid header: no signature,
 * a v1 line longer than 107 bytes or not ending in CRLF, a malformed
 * address or port, a v2 version other than 2, an unknown command,
 * family or transport, an address block longer than the header, a v2
 * header above NET_PROXY_V2_MAX, a truncated TLV, a CRC32C that does not
 * match.  Strict: anything that does not exactly match the
 * specification is rejected. */
int net_proxy_parse(const unsigned char *data, size_t len, struct net_proxy_header *hdr_r,
		    size_t *header_len_r, const char **error_r);

/* ---- reading the header of a new connection (proxy-read.c) ---- */

/* The header was read (hdr not NULL), or reading it failed (hdr NULL,
 * `error` says why, for the log).  On success the socket holds exactly
 * what the client sent after the header.  The callback owns `fd` in
 * both cases (close it on failure). */
typedef void net_proxy_read_callback(int fd, const struct sockaddr *addr, socklen_t addrlen,
				     const struct net_proxy_header *hdr, const char *error,
				     void *ctx);

/* Reads a PROXY header from the newly accepted nonblocking socket `fd`
 * (peer `addr`) on the worker's loop, giving up after `timeout_secs`.
 * Calls `cb` once, never from inside this call. */
void net_proxy_read(int fd, const struct sockaddr *addr, socklen_t addrlen,
		    unsigned int timeout_secs, net_proxy_read_callback *cb, void *ctx);
/* Headers being read now (they count as connections). */
unsigned int net_proxy_read_count(void);
/* Closes every socket whose header is still being read, without calling
 * back (the worker stops). */
void net_proxy_read_abort_all(void);

/* Whether to log the refusal of `addr` (not in proxy_trusted_networks)
 * now: once per address per minute, at most 256 addresses remembered. */
bool net_proxy_refusal_log_now(const struct sockaddr *addr, socklen_t addrlen);

#endif
