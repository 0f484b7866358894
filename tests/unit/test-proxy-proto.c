/* test-proxy-proto.c: the PROXY protocol header parser
 * (src/net/proxy-proto.c).  Every header is also fed one byte at a time:
 * each proper prefix must be "need more" (0), which the socket reader
 * relies on to take only header bytes.  Limits at and just past their
 * values: the 107-byte v1 line, the v2 size we accept, the 255-byte
 * authority, the 0-65535 port range. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "base/base.h"
#include "net/proxy-proto.h"

static struct net_proxy_header hdr;
static size_t hlen;
static const char *error;

/* Parses data[0..len-1] whole, and checks that every proper prefix of
 * the header is "need more". */
static int parse(const void *data, size_t len)
{
	error = NULL;
	int ret = net_proxy_parse(data, len, &hdr, &hlen, &error);
	size_t upto = ret == 1 ? hlen : ret == 0 ? len : 0;
	for (size_t k = 0; k < upto; k++) {
		struct net_proxy_header sub;
		size_t sub_len;
		const char *sub_error = NULL;
		if (net_proxy_parse(data, k, &sub, &sub_len, &sub_error) != 0)
			fail_msg("prefix of %zu bytes: %s", k, sub_error);
	}
	if (ret == 1 || ret == 0) {
		/* parse again: the loop overwrote nothing we return, but be
		 * sure the result is the whole input's */
		error = NULL;
		ret = net_proxy_parse(data, len, &hdr, &hlen, &error);
	}
	return ret;
}

static void assert_refused(const void *data, size_t len, const char *why)
{
	assert_int_equal(parse(data, len), -1);
	if (strstr(error, why) == NULL)
		fail_msg("got \"%s\", expected \"...%s...\"", error, why);
}

static void assert_v1_refused(const char *line, const char *why)
{
	assert_refused(line, strlen(line), why);
}

static const char *src_ip(void)
{
	static char buf[INET6_ADDRSTRLEN];
	if (hdr.src.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&hdr.src)->sin_addr, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&hdr.src)->sin6_addr, buf,
			  sizeof(buf));
	return buf;
}

static unsigned int src_port(void)
{
	return ntohs(((struct sockaddr_in *)&hdr.src)->sin_port);
}

static unsigned int dst_port(void)
{
	return ntohs(((struct sockaddr_in *)&hdr.dst)->sin_port);
}

static void test_v1(void **state ATTR_UNUSED)
{
	const char *h = "PROXY TCP4 192.0.2.7 10.0.0.1 5555 143\r\nA1 NOOP\r\n";
	assert_int_equal(parse(h, strlen(h)), 1);
	assert_int_equal(hlen, strlen(h) - strlen("A1 NOOP\r\n"));
	assert_int_equal(hdr.version, 1);
	assert_true(hdr.has_addresses);
	assert_string_equal(src_ip(), "192.0.2.7");
	assert_int_equal(src_port(), 5555);
	assert_int_equal(dst_port(), 143);

	h = "PROXY TCP6 2001:DB8::7 ::1 0 65535\r\n";
	assert_int_equal(parse(h, strlen(h)), 1);
	assert_string_equal(src_ip(), "2001:db8::7");
	assert_int_equal(src_port(), 0);
	assert_int_equal(dst_port(), 65535);

	h = "PROXY UNKNOWN\r\n";
	assert_int_equal(parse(h, strlen(h)), 1);
	assert_int_equal(hlen, 15);
	assert_false(hdr.has_addresses);

	/* 107 bytes with the CRLF: the longest; one more is refused */
	char line[200];
	snprintf(line, sizeof(line), "PROXY UNKNOWN %s %s 65535 65535\r\n",
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_int_equal(strlen(line), NET_PROXY_V1_MAX);
	assert_int_equal(parse(line, strlen(line)), 1);
	snprintf(line, sizeof(line), "PROXY UNKNOWN %s %s 65535 655350\r\n",
		 "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_v1_refused(line, "first 107 bytes");
	/* refused as soon as the 107th byte is not the end */
	assert_refused(line, NET_PROXY_V1_MAX, "first 107 bytes");
	assert_int_equal(parse(line, NET_PROXY_V1_MAX - 1), 0);
}

static void test_v1_strict(void **state ATTR_UNUSED)
{
	assert_v1_refused("PROXY TCP4 192.0.2.7 10.0.0.1 5555 143\n", "bare LF");
	assert_v1_refused("PROXY TCP4 192.0.2.7 10.0.0.1 5555 143\r\r\n", "bare CR");
	assert_v1_refused("PROXY TCP4 192.0.2.7 10.0.0.1 5555 65536\r\n", "invalid");
	assert_v1_refused("PROXY TCP4 192.0.2.7 10.0.0.1 5555 099\r\n", "invalid");
	assert_v1_refused("PROXY TCP4 192.0.2.7 10.0.0.1 +5555 143\r\n", "invalid");
	assert_v1_refused("PROXY TCP4 192.0.2.256 10.0.0.1 5555 143\r\n", "invalid");
	assert_v1_refused("PROXY TCP4 192.0.02.7 10.0.0.1 5555 143\r\n", "invalid");
	assert_v1_refused("PROXY TCP4 192.0.2.7. 10.0.0.1 5555 143\r\n", "invalid");
	assert_v1_refused("PROXY TCP4 192.0..7 10.0.0.1 5555 143\r\n", "invalid");
	assert_v1_refused("PROXY TCP4 1.2.3.4.5 10.0.0.1 5555 143\r\n", "invalid");
	assert_v1_refused("PROXY TCP6 ::ffff:1.2.3.4 ::1 5555 143\r\n", "invalid");
	assert_v1_refused("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 5555 143\r\n", "invalid");
	assert_v1_refused("PROXY TCP6 1::2::3 ::1 5555 143\r\n", "invalid");
	assert_v1_refused("PROXY TCP6 192.0.2.7 10.0.0.1 5555 143\r\n", "invalid");
	assert_v1_refused("PROXY TCP4 ::1 ::1 5555 143\r\n", "invalid");
	assert_v1_refused("PROXY TCP4 192.0.2.7 10.0.0.1 5555\r\n", "four fields");
	assert_v1_refused("PROXY TCP4 192.0.2.7 10.0.0.1 5555 143 1\r\n", "four fields");
	assert_v1_refused("PROXY TCP4 192.0.2.7  10.0.0.1 5555 143\r\n", "four fields");
	assert_v1_refused("PROXY TCP4 192.0.2.7 10.0.0.1 5555 143 \r\n", "four fields");
	assert_v1_refused("PROXY UDP4 192.0.2.7 10.0.0.1 5555 143\r\n", "four fields");
	assert_v1_refused("PROXY UNKNOWN\t\r\n", "not printable");
	assert_v1_refused("PROXY \xff\r\n", "not printable");
	assert_v1_refused("PROXY  UNKNOWN\r\n", "four fields");
	assert_v1_refused("proxy UNKNOWN\r\n", "not a PROXY");
	assert_v1_refused("PROXYUNKNOWN\r\n", "not a PROXY");
	assert_v1_refused("A1 LOGIN a b\r\n", "not a PROXY");
	/* refused at the first byte that cannot be a header */
	assert_refused("PRX", 3, "not a PROXY");
	assert_int_equal(parse("PROX", 4), 0);
	assert_int_equal(parse("", 0), 0);
}

static const unsigned char sig[12] = {
	0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A
};

/* A v2 header in buf: command and family bytes, then `body` of len bytes. */
static size_t v2(unsigned char *buf, unsigned int ver_cmd, unsigned int fam,
		 const void *body, size_t len)
{
	memcpy(buf, sig, 12);
	buf[12] = (unsigned char)ver_cmd;
	buf[13] = (unsigned char)fam;
	buf[14] = (unsigned char)(len >> 8);
	buf[15] = (unsigned char)len;
	memcpy(buf + 16, body, len);
	return 16 + len;
}

static const unsigned char addr4[12] = { 192, 0, 2, 7, 10, 0, 0, 1, 0x15, 0xb3, 0, 143 };

static void test_v2(void **state ATTR_UNUSED)
{
	unsigned char buf[NET_PROXY_V2_MAX + 64];
	unsigned char body[NET_PROXY_V2_MAX];
	size_t n = v2(buf, 0x21, 0x11, addr4, sizeof(addr4));
	memcpy(buf + n, "A1 NOOP\r\n", 9);
	assert_int_equal(parse(buf, n + 9), 1);
	assert_int_equal(hlen, n);
	assert_int_equal(hdr.version, 2);
	assert_true(hdr.has_addresses);
	assert_string_equal(src_ip(), "192.0.2.7");
	assert_int_equal(src_port(), 5555);
	assert_int_equal(dst_port(), 143);

	/* IPv6 with TLVs: authority, SSL with a version sub-TLV, unknown */
	static const unsigned char tlvs[] = {
		0x02, 0, 4, 'm', 'a', 'i', 'l',
		0x20, 0, 15, 0x01, 0, 0, 0, 0, 0x21, 0, 7, 'T', 'L', 'S', 'v', '1', '.', '3',
		0xe0, 0, 0,
	};
	memset(body, 0, 36);
	body[0] = 0x20; body[1] = 0x01; body[2] = 0x0d; body[3] = 0xb8; body[15] = 9;
	body[35] = 143;
	memcpy(body + 36, tlvs, sizeof(tlvs));
	n = v2(buf, 0x21, 0x21, body, 36 + sizeof(tlvs));
	assert_int_equal(parse(buf, n), 1);
	assert_string_equal(src_ip(), "2001:db8::9");
	assert_string_equal(hdr.authority, "mail");
	assert_true(hdr.client_ssl);

	/* LOCAL: addresses and TLVs ignored, whatever the family */
	n = v2(buf, 0x20, 0x11, body, 36 + sizeof(tlvs));
	assert_int_equal(parse(buf, n), 1);
	assert_true(hdr.is_local_command);
	assert_false(hdr.has_addresses);
	assert_false(hdr.client_ssl);
	n = v2(buf, 0x20, 0x00, body, 0);
	assert_int_equal(parse(buf, n), 1);
	assert_int_equal(hlen, 16);

	/* UNSPEC, AF_UNIX, UDP: the real addresses stand */
	memset(body, 0, 216);
	n = v2(buf, 0x21, 0x31, body, 216);
	assert_int_equal(parse(buf, n), 1);
	assert_false(hdr.has_addresses);
	n = v2(buf, 0x21, 0x12, addr4, sizeof(addr4));
	assert_int_equal(parse(buf, n), 1);
	assert_false(hdr.has_addresses);
	n = v2(buf, 0x21, 0x00, body, 0);
	assert_int_equal(parse(buf, n), 1);
	assert_false(hdr.has_addresses);

	/* the size we accept, and one byte more */
	memset(body, 0, sizeof(body));
	memcpy(body, addr4, 12);
	size_t fill = NET_PROXY_V2_MAX - 16 - 12 - 3;
	body[12] = 0x04;
	body[13] = (unsigned char)(fill >> 8);
	body[14] = (unsigned char)fill;
	n = v2(buf, 0x21, 0x11, body, 12 + 3 + fill);
	assert_int_equal(n, NET_PROXY_V2_MAX);
	assert_int_equal(net_proxy_parse(buf, n, &hdr, &hlen, &error), 1);
	body[13] = (unsigned char)((fill + 1) >> 8);
	body[14] = (unsigned char)(fill + 1);
	n = v2(buf, 0x21, 0x11, body, 12 + 3 + fill + 1);
	/* refused once the 16 bytes with the length are in */
	assert_refused(buf, 16, "longer than we accept");
}

static void test_v2_strict(void **state ATTR_UNUSED)
{
	unsigned char buf[1024];
	unsigned char body[300];
	size_t n = v2(buf, 0x11, 0x11, addr4, 12);
	assert_refused(buf, 13, "another version");
	n = v2(buf, 0x22, 0x11, addr4, 12);
	assert_refused(buf, n, "unknown command");
	n = v2(buf, 0x21, 0x41, addr4, 12);
	assert_refused(buf, 14, "unknown family");
	n = v2(buf, 0x21, 0x13, addr4, 12);
	assert_refused(buf, n, "unknown family or transport");
	n = v2(buf, 0x21, 0x11, addr4, 11);
	assert_refused(buf, n, "address block longer");
	n = v2(buf, 0x21, 0x21, body, 35);
	assert_refused(buf, n, "address block longer");
	memset(body, 0, sizeof(body));
	n = v2(buf, 0x21, 0x31, body, 215);
	assert_refused(buf, n, "address block longer");

	memcpy(body, addr4, 12);
	static const unsigned char short_tlv[] = { 0x02, 0, 5, 'a', 'b' };
	memcpy(body + 12, short_tlv, sizeof(short_tlv));
	n = v2(buf, 0x21, 0x11, body, 12 + sizeof(short_tlv));
	assert_refused(buf, n, "truncated TLV");
	n = v2(buf, 0x21, 0x11, body, 12 + 2);
	assert_refused(buf, n, "truncated TLV");
	static const unsigned char ssl_short[] = { 0x20, 0, 4, 1, 0, 0, 0 };
	memcpy(body + 12, ssl_short, sizeof(ssl_short));
	n = v2(buf, 0x21, 0x11, body, 12 + sizeof(ssl_short));
	assert_refused(buf, n, "SSL TLV is malformed");
	static const unsigned char crc_short[] = { 0x03, 0, 3, 1, 2, 3 };
	memcpy(body + 12, crc_short, sizeof(crc_short));
	n = v2(buf, 0x21, 0x11, body, 12 + sizeof(crc_short));
	assert_refused(buf, n, "CRC32C TLV is not 4");

	/* a 255-byte authority is the most */
	body[12] = 0x02;
	body[13] = 0;
	body[14] = 255;
	memset(body + 15, 'a', 255);
	n = v2(buf, 0x21, 0x11, body, 12 + 3 + 255);
	assert_int_equal(parse(buf, n), 1);
	assert_int_equal(strlen(hdr.authority), 255);
	body[14] = 0;
	body[13] = 1;
	unsigned char big[1024];
	memcpy(big, body, 12 + 3 + 255);
	big[12 + 3 + 255] = 'a';
	n = v2(buf, 0x21, 0x11, big, 12 + 3 + 256);
	assert_refused(buf, n, "authority longer");

	/* the signature, byte by byte */
	memcpy(buf, sig, 12);
	for (size_t i = 0; i < 12; i++) {
		unsigned char bad[12];
		memcpy(bad, sig, 12);
		bad[i] ^= 0x40;
		assert_refused(bad, i + 1, "not a PROXY");
	}
}

/* CRC32C: the check value of RFC 3720 B.4's "123456789" is 0xE3069283;
 * a header whose checksum TLV holds the checksum of itself with the
 * field zeroed is accepted, any other value refused. */
static void test_v2_crc32c(void **state ATTR_UNUSED)
{
	unsigned char body[12 + 7];
	unsigned char buf[64];
	memcpy(body, addr4, 12);
	static const unsigned char crc_tlv[] = { 0x03, 0, 4, 0, 0, 0, 0 };
	memcpy(body + 12, crc_tlv, sizeof(crc_tlv));
	size_t n = v2(buf, 0x21, 0x11, body, sizeof(body));
	/* the sender's side: CRC32C over the header with the field zero */
	uint32_t crc = 0xffffffff;
	for (size_t i = 0; i < n; i++) {
		crc ^= buf[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
	}
	crc = ~crc;
	uint32_t check = 0xffffffff;
	for (const char *p = "123456789"; *p != '\0'; p++) {
		check ^= (unsigned char)*p;
		for (int k = 0; k < 8; k++)
			check = (check >> 1) ^ (0x82f63b78 & (0u - (check & 1)));
	}
	assert_int_equal(~check, 0xE3069283);
	buf[n - 4] = (unsigned char)(crc >> 24);
	buf[n - 3] = (unsigned char)(crc >> 16);
	buf[n - 2] = (unsigned char)(crc >> 8);
	buf[n - 1] = (unsigned char)crc;
	assert_int_equal(parse(buf, n), 1);
	buf[n - 1] ^= 1;
	assert_refused(buf, n, "CRC32C does not match");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_v1_strict),
		cmocka_unit_test(test_v2),
		cmocka_unit_test(test_v2_strict),
		cmocka_unit_test(test_v2_crc32c),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
