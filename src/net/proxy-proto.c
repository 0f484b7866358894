/* proxy-proto.c: the PROXY protocol header parser (versions 1 and 2).
 *
 * Pure: no I/O, no allocation, no state between calls; the caller hands
 * in every byte it has so far.  It must never accept a header that
 * differs from the specification in any byte ("Any sequence which does
 * not exactly match the protocol must be discarded and cause the
 * receiver to abort the connection", section 2.1), and must never read
 * past `len`. */
#include "proxy-proto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static const unsigned char proxy_v2_sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};
static const char proxy_v1_prefix[] = "PROXY ";

#define PP2_CMD_LOCAL 0x0
#define PP2_CMD_PROXY 0x1
#define PP2_FAM_UNSPEC 0x0
#define PP2_FAM_INET 0x1
#define PP2_FAM_INET6 0x2
#define PP2_FAM_UNIX 0x3
#define PP2_TRANS_STREAM 0x1
#define PP2_TRANS_DGRAM 0x2

#define PP2_TYPE_AUTHORITY 0x02
#define PP2_TYPE_CRC32C 0x03
#define PP2_TYPE_SSL 0x20
#define PP2_CLIENT_SSL 0x01

/* ---- version 1 ---- */

/* A decimal number without heading zeroes ("0" itself is fine), at most
 * `max`: section 2.1 forbids them "to avoid any possible confusion with
 * octal numbers". */
static bool proxy_v1_number(const char *s, size_t len, unsigned int max, unsigned int *n_r)
{
	if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
		return false;
	unsigned int n = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		n = n * 10 + (unsigned int)(s[i] - '0');
	}
	if (n > max)
		return false;
	*n_r = n;
	return true;
}

/* IPv4: "exactly 4 integers in the range [0..255] ... separated by
 * exactly one dot", no heading zeroes. */
static bool proxy_v1_ipv4(const char *s, size_t len, struct in_addr *addr_r)
{
	uint32_t a = 0;
	size_t start = 0;
	for (unsigned int part = 0; part < 4; part++) {
		size_t end = start;
		while (end < len && s[end] != '.')
			end++;
		unsigned int n;
		if (!proxy_v1_number(s + start, end - start, 255, &n) || end - start > 3)
			return false;
		a = (a << 8) | n;
		if (part < 3 && end == len)
			return false;
		start = end + 1;
	}
	if (start != len + 1)
		return false;
	addr_r->s_addr = htonl(a);
	return true;
}

/* IPv6: groups of hex digits and colons with at most one "::" (no
 * dotted IPv4 tail), 128 bits in all: what inet_pton() accepts of that
 * alphabet. */
static bool proxy_v1_ipv6(const char *s, size_t len, struct in6_addr *addr_r)
{
	char buf[INET6_ADDRSTRLEN];
	if (len == 0 || len > 39)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
		      c == ':'))
			return false;
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, addr_r) == 1;
}

/* Splits line[0..len-1] at single spaces into at most `max` fields.
 * Returns the count, or -1 for an empty field (two spaces, a space at an
 * end) or more than `max`. */
static int proxy_v1_split(const char *line, size_t len, const char **fields, size_t *lens,
			  int max)
{
	int n = 0;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && line[i] != ' ')
			continue;
		if (i == start || n == max)
			return -1;
		fields[n] = line + start;
		lens[n] = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

static bool proxy_v1_sockaddr(bool v6, const char *ip, size_t ip_len, const char *port,
			      size_t port_len, struct sockaddr_storage *ss_r)
{
	unsigned int p;
	memset(ss_r, 0, sizeof(*ss_r));
	if (!proxy_v1_number(port, port_len, 65535, &p))
		return false;
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss_r;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		return proxy_v1_ipv6(ip, ip_len, &sin6->sin6_addr);
	}
	struct sockaddr_in *sin = (struct sockaddr_in *)ss_r;
	sin->sin_family = AF_INET;
	sin->sin_port = htons((uint16_t)p);
	return proxy_v1_ipv4(ip, ip_len, &sin->sin_addr);
}

/* PROXY SP ( "TCP4" | "TCP6" ) SP src SP dst SP sport SP dport CRLF
 * PROXY SP "UNKNOWN" *( anything but CR and LF ) CRLF
 * at most 107 bytes with the CRLF (section 2.1) */
static int proxy_v1_parse(const unsigned char *data, size_t len, struct net_proxy_header *hdr,
			  size_t *header_len_r, const char **error_r)
{
	size_t scan = ROOST_MIN(len, (size_t)NET_PROXY_V1_MAX);
	size_t end = 0;
	bool found = false;
	for (size_t i = 0; i < scan; i++) {
		if (data[i] == '\n') {
			/* "must not tolerate a single CR or LF character" */
			if (i == 0 || data[i - 1] != '\r') {
				*error_r = "PROXY v1 line ends with a bare LF";
				return -1;
			}
			end = i - 1;
			found = true;
			break;
		}
		if (data[i] == '\r' && i + 1 < len && data[i + 1] != '\n') {
			*error_r = "PROXY v1 line has a bare CR";
			return -1;
		}
		if ((data[i] < 0x20 && data[i] != '\r') || data[i] >= 0x7f) {
			*error_r = "PROXY v1 line has a byte that is not printable US-ASCII";
			return -1;
		}
	}
	if (!found) {
		if (len >= NET_PROXY_V1_MAX) {
			*error_r = "PROXY v1 line without CRLF in its first 107 bytes";
			return -1;
		}
		return 0;
	}
	const char *line = (const char *)data + sizeof(proxy_v1_prefix) - 1;
	size_t line_len = end - (sizeof(proxy_v1_prefix) - 1);
	const char *f[5];
	size_t fl[5];
	hdr->version = 1;
	if (line_len >= 7 && memcmp(line, "UNKNOWN", 7) == 0 &&
	    (line_len == 7 || line[7] == ' ')) {
		/* "the receiver must ignore anything presented before the
		 * CRLF" and use the real connection's addresses */
		*header_len_r = end + 2;
		return 1;
	}
	if (proxy_v1_split(line, line_len, f, fl, 5) != 5 || fl[0] != 4 ||
	    (memcmp(f[0], "TCP4", 4) != 0 && memcmp(f[0], "TCP6", 4) != 0)) {
		*error_r = "PROXY v1 line is not TCP4, TCP6 or UNKNOWN with four fields";
		return -1;
	}
	bool v6 = f[0][3] == '6';
	if (!proxy_v1_sockaddr(v6, f[1], fl[1], f[3], fl[3], &hdr->src) ||
	    !proxy_v1_sockaddr(v6, f[2], fl[2], f[4], fl[4], &hdr->dst)) {
		*error_r = "PROXY v1 line has an invalid address or port";
		return -1;
	}
	hdr->has_addresses = true;
	*header_len_r = end + 2;
	return 1;
}

/* ---- version 2 ---- */

static unsigned int proxy_be16(const unsigned char *p)
{
	return ((unsigned int)p[0] << 8) | p[1];
}

/* CRC32c (Castagnoli, RFC 4960 appendix B), bit by bit: headers are small
 * and rare. */
static uint32_t proxy_crc32c(const unsigned char *data, size_t len, size_t zero_at)
{
	uint32_t crc = 0xffffffff;
	for (size_t i = 0; i < len; i++) {
		unsigned char byte = i >= zero_at && i < zero_at + 4 ? 0 : data[i];
		crc ^= byte;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
	}
	return ~crc;
}

/* Checks that tlvs[0..len-1] is a sequence of whole TLVs. */
static bool proxy_v2_tlvs_whole(const unsigned char *tlvs, size_t len)
{
	size_t pos = 0;
	while (pos < len) {
		if (len - pos < 3 || len - pos - 3 < proxy_be16(tlvs + pos + 1))
			return false;
		pos += 3 + proxy_be16(tlvs + pos + 1);
	}
	return true;
}

static int proxy_v2_tlvs(const unsigned char *data, size_t start, size_t total,
			 struct net_proxy_header *hdr, const char **error_r)
{
	if (!proxy_v2_tlvs_whole(data + start, total - start)) {
		*error_r = "PROXY v2 header has a truncated TLV";
		return -1;
	}
	for (size_t pos = start; pos < total; pos += 3 + proxy_be16(data + pos + 1)) {
		unsigned int type = data[pos];
		size_t vlen = proxy_be16(data + pos + 1);
		const unsigned char *value = data + pos + 3;
		switch (type) {
		case PP2_TYPE_AUTHORITY:
			if (vlen >= sizeof(hdr->authority)) {
				*error_r = "PROXY v2 authority longer than 255 bytes";
				return -1;
			}
			for (size_t i = 0; i < vlen; i++)
				hdr->authority[i] = value[i] > 0x20 && value[i] < 0x7f ?
						    (char)value[i] : '?';
			hdr->authority[vlen] = '\0';
			break;
		case PP2_TYPE_CRC32C: {
			if (vlen != 4) {
				*error_r = "PROXY v2 CRC32C TLV is not 4 bytes";
				return -1;
			}
			uint32_t sent = ((uint32_t)value[0] << 24) | ((uint32_t)value[1] << 16) |
					((uint32_t)value[2] << 8) | value[3];
			if (proxy_crc32c(data, total, pos + 3) != sent) {
				*error_r = "PROXY v2 header CRC32C does not match";
				return -1;
			}
			break;
		}
		case PP2_TYPE_SSL:
			/* struct pp2_tlv_ssl { uint8_t client; uint32_t verify;
			 * struct pp2_tlv sub_tlv[0]; } */
			if (vlen < 5 || !proxy_v2_tlvs_whole(value + 5, vlen - 5)) {
				*error_r = "PROXY v2 SSL TLV is malformed";
				return -1;
			}
			hdr->client_ssl = (value[0] & PP2_CLIENT_SSL) != 0;
			break;
		default:
			/* "A receiver may choose to skip over and ignore the
			 * TLVs it is not interested in" */
			break;
		}
	}
	return 0;
}

static int proxy_v2_parse(const unsigned char *data, size_t len, struct net_proxy_header *hdr,
			  size_t *header_len_r, const char **error_r)
{
	if (len < 16)
		return 0;
	size_t total = 16 + proxy_be16(data + 14);
	if (total > NET_PROXY_V2_MAX) {
		*error_r = "PROXY v2 header longer than we accept";
		return -1;
	}
	if (len < total)
		return 0;
	hdr->version = 2;
	unsigned int cmd = data[12] & 0x0f;
	unsigned int family = data[13] >> 4, transport = data[13] & 0x0f;
	size_t addr_len;
	switch (family) {
	case PP2_FAM_INET: addr_len = 12; break;
	case PP2_FAM_INET6: addr_len = 36; break;
	case PP2_FAM_UNIX: addr_len = 216; break;
	default: addr_len = 0; break;
	}
	*header_len_r = total;
	if (cmd == PP2_CMD_LOCAL) {
		/* "must use the real connection endpoints and discard the
		 * protocol block including the family" */
		hdr->is_local_command = true;
		return 1;
	}
	if (total - 16 < addr_len) {
		*error_r = "PROXY v2 address block longer than the header";
		return -1;
	}
	if (proxy_v2_tlvs(data, 16 + addr_len, total, hdr, error_r) < 0)
		return -1;
	/* UNSPEC, AF_UNIX and a transport other than STREAM: "accept the
	 * connection anyway and use the real endpoint addresses" */
	if (transport != PP2_TRANS_STREAM || (family != PP2_FAM_INET && family != PP2_FAM_INET6))
		return 1;
	const unsigned char *a = data + 16;
	if (family == PP2_FAM_INET) {
		struct sockaddr_in *src = (struct sockaddr_in *)&hdr->src;
		struct sockaddr_in *dst = (struct sockaddr_in *)&hdr->dst;
		src->sin_family = dst->sin_family = AF_INET;
		memcpy(&src->sin_addr, a, 4);
		memcpy(&dst->sin_addr, a + 4, 4);
		memcpy(&src->sin_port, a + 8, 2);
		memcpy(&dst->sin_port, a + 10, 2);
	} else {
		struct sockaddr_in6 *src = (struct sockaddr_in6 *)&hdr->src;
		struct sockaddr_in6 *dst = (struct sockaddr_in6 *)&hdr->dst;
		src->sin6_family = dst->sin6_family = AF_INET6;
		memcpy(&src->sin6_addr, a, 16);
		memcpy(&dst->sin6_addr, a + 16, 16);
		memcpy(&src->sin6_port, a + 32, 2);
		memcpy(&dst->sin6_port, a + 34, 2);
	}
	hdr->has_addresses = true;
	return 1;
}

int net_proxy_parse(const unsigned char *data, size_t len, struct net_proxy_header *hdr_r,
		    size_t *header_len_r, const char **error_r)
{
	memset(hdr_r, 0, sizeof(*hdr_r));
	*header_len_r = 0;
	if (len == 0)
		return 0;
	if (data[0] == 'P') {
		size_t n = ROOST_MIN(len, sizeof(proxy_v1_prefix) - 1);
		if (memcmp(data, proxy_v1_prefix, n) != 0) {
			*error_r = "not a PROXY protocol header";
			return -1;
		}
		if (len < sizeof(proxy_v1_prefix) - 1)
			return 0;
		return proxy_v1_parse(data, len, hdr_r, header_len_r, error_r);
	}
	size_t n = ROOST_MIN(len, sizeof(proxy_v2_sig));
	if (memcmp(data, proxy_v2_sig, n) != 0) {
		*error_r = "not a PROXY protocol header";
		return -1;
	}
	/* the 13th byte: version 2 ("the receiver must only accept this
	 * value") and LOCAL or PROXY ("Receivers must drop connections
	 * presenting unexpected values here") */
	if (len >= 13 && ((data[12] >> 4) != 2 || (data[12] & 0x0f) > PP2_CMD_PROXY)) {
		*error_r = (data[12] >> 4) != 2 ? "PROXY v2 header of another version" :
			   "PROXY v2 header with an unknown command";
		return -1;
	}
	/* the 14th byte: other families and transports "must be rejected as
	 * invalid by receivers" */
	if (len >= 14 && ((data[13] >> 4) > PP2_FAM_UNIX || (data[13] & 0x0f) > PP2_TRANS_DGRAM)) {
		*error_r = "PROXY v2 header with an unknown family or transport";
		return -1;
	}
	return proxy_v2_parse(data, len, hdr_r, header_len_r, error_r);
}
