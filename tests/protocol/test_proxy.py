"""The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2) on
`listen = ... proxy` listeners: the client's address from the header is
what the log, max_preauth_connections_per_ip, the auth throttle and
lmtp_trusted_networks see; balancers outside proxy_trusted_networks are
refused; a bad, late or missing header ends the connection before any
protocol byte; the client's first bytes after the header (an IMAP command,
a TLS ClientHello) reach the protocol untouched."""
import re
import socket
import ssl
import struct
import time

import roosttest
from roosttest import Server, Client, TestFailure, expect, free_port, client_tls_context

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
PP2_TYPE_ALPN, PP2_TYPE_AUTHORITY, PP2_TYPE_CRC32C = 0x01, 0x02, 0x03
PP2_TYPE_NOOP, PP2_TYPE_UNIQUE_ID, PP2_TYPE_SSL = 0x04, 0x05, 0x20
PP2_SUBTYPE_SSL_VERSION = 0x21


def v1(src="192.0.2.7", dst="127.0.0.1", sport=5555, dport=143, fam="TCP4"):
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


def tlv(t, value):
    return struct.pack("!BH", t, len(value)) + value


def ssl_tlv(client=1, verify=0, version=b"TLSv1.3"):
    return tlv(PP2_TYPE_SSL, struct.pack("!BI", client, verify)
               + tlv(PP2_SUBTYPE_SSL_VERSION, version))


def v2(src="192.0.2.7", dst="127.0.0.1", sport=5555, dport=143, cmd=1,
       fam=None, tlvs=b"", ver=2, addr=None):
    if addr is None:
        if ":" in src:
            addr = (socket.inet_pton(socket.AF_INET6, src)
                    + socket.inet_pton(socket.AF_INET6, dst)
                    + struct.pack("!HH", sport, dport))
            fam = 0x21 if fam is None else fam
        else:
            addr = (socket.inet_aton(src) + socket.inet_aton(dst)
                    + struct.pack("!HH", sport, dport))
            fam = 0x11 if fam is None else fam
    if fam is None:
        fam = 0x11
    body = addr + tlvs
    return V2_SIG + bytes([(ver << 4) | cmd, fam]) + struct.pack("!H", len(body)) + body


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def with_crc(header, bad=False):
    """header (a v2 one) with a CRC32C TLV appended and its length fixed."""
    body = header[16:] + tlv(PP2_TYPE_CRC32C, b"\0\0\0\0")
    whole = header[:14] + struct.pack("!H", len(body)) + body
    crc = crc32c(whole) ^ (1 if bad else 0)
    return whole[:-4] + struct.pack("!I", crc)


class ProxyServer(Server):
    """A Server with `proxy` listeners: imap plaintext/STARTTLS on
    proxy_port, imap implicit TLS on proxy_tls_port, and (lmtp=True) LMTP
    on proxy_lmtp_port."""

    def __init__(self, extra="", trusted="127.0.0.0/8", **kw):
        self.proxy_port = free_port()
        self.proxy_tls_port = free_port()
        self.proxy_lmtp_port = free_port()
        conf = (f"listen = imap 127.0.0.1:{self.proxy_port} starttls proxy\n"
                f"listen = imap 127.0.0.1:{self.proxy_tls_port} implicit proxy\n"
                f"proxy_trusted_networks = {trusted}\n"
                "auth_failure_delay_max = 0\n")
        if kw.get("lmtp"):
            conf += f"listen = lmtp 127.0.0.1:{self.proxy_lmtp_port} proxy\n"
        super().__init__(extra_conf=conf + extra, **kw)

    def proxied(self, header, port=None, tls=False, greet=True, split=None):
        """A Client on a proxy listener that sent `header` first (in pieces
        at the offsets of `split`, 0.2 s apart)."""
        c = Client.__new__(Client)
        c.srv, c.buf, c.tagn, c.timeout = self, b"", 0, 10
        port = port or (self.proxy_tls_port if tls else self.proxy_port)
        c.sock = socket.create_connection(("127.0.0.1", port), 10)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        start = 0
        for cut in (split or []):
            c.sock.sendall(header[start:cut])
            time.sleep(0.2)
            start = cut
        c.sock.sendall(header[start:])
        if tls:
            c.sock = client_tls_context().wrap_socket(c.sock, server_hostname="localhost")
        if greet:
            c.greeting()
        return c

    def wait_log(self, regex, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(regex, self.log_text())
            if m:
                return m
            time.sleep(0.05)
        raise TestFailure(f"log has no /{regex}/:\n" + self.log_text()[-3000:])


def closed_silently(s, timeout=5):
    """True if the server closed socket s (a FIN or a reset: it had unread
    bytes) without sending a byte."""
    s.settimeout(timeout)
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True


def run(fn, **kw):
    srv = ProxyServer(**kw)
    try:
        fn(srv)
        srv.check_log()
        code = srv.stop()
        expect(code == 0, f"roost serve exited {code}")
        srv.check_log()
    except BaseException:
        print(srv.log_text()[-4000:])
        raise
    finally:
        srv.cleanup()


def login_logged_from(srv, c, ip, user="demo", password="demo"):
    c.cmd(f"LOGIN {user} {password}", ok=True)
    c.cmd("LOGOUT")
    srv.wait_log(rf"imap\({user},{re.escape(ip)},\w+\): Login")


def test_v1_tcp4_tcp6_unknown():
    def t(srv):
        login_logged_from(srv, srv.proxied(v1()), "192.0.2.7")
        login_logged_from(srv, srv.proxied(v1("2001:db8::7", "2001:db8::1", fam="TCP6")),
                          "[2001:db8::7]")
        # the longest line there is: 107 bytes with the CRLF
        longest = v1("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 65535, "UNKNOWN")
        expect(len(longest) == 107, len(longest))
        c = srv.proxied(longest)
        c.cmd("LOGIN alice alicepw", ok=True)
        c.cmd("LOGOUT")
        srv.wait_log(r"imap\(alice,127\.0\.0\.1,\w+\): Login")
        srv.proxied(b"PROXY UNKNOWN\r\n").cmd("CAPABILITY", ok=True)
    run(t, extra="plaintext_auth = always\n")


def test_v2_tcp4_tcp6_tlvs_crc():
    def t(srv):
        tlvs = (tlv(PP2_TYPE_AUTHORITY, b"mail.example.org") + tlv(PP2_TYPE_NOOP, b"")
                + tlv(PP2_TYPE_UNIQUE_ID, b"x" * 128) + tlv(PP2_TYPE_ALPN, b"imap")
                + tlv(0xE0, b"custom"))
        c = srv.proxied(v2(tlvs=tlvs))
        srv.wait_log(r"imap\(192\.0\.2\.7,\w+\): PROXY v2 header from 127\.0\.0\.1, "
                     r"authority mail\.example\.org")
        login_logged_from(srv, c, "192.0.2.7")
        login_logged_from(srv, srv.proxied(v2("2001:db8::9", "2001:db8::1")),
                          "[2001:db8::9]")
        # a correct CRC32C is checked and accepted
        login_logged_from(srv, srv.proxied(with_crc(v2(src="198.51.100.3"))),
                          "198.51.100.3")
        # UDP, AF_UNIX and AF_UNSPEC under PROXY: the real address stands
        for fam, addr in ((0x12, None), (0x31, b"\0" * 216), (0x00, b"")):
            c = srv.proxied(v2(src="203.0.113.1", fam=fam, addr=addr))
            c.cmd("LOGIN demo demo", ok=True)
            c.cmd("LOGOUT")
        expect("203.0.113.1" not in srv.log_text(), "an address of a family we ignore")
    run(t, extra="plaintext_auth = always\n")


def test_v2_local_health_check():
    def t(srv):
        # LOCAL: the balancer's own connection; addresses and TLVs ignored,
        # whatever length it gives
        c = srv.proxied(v2(cmd=0, src="192.0.2.99", tlvs=ssl_tlv()))
        c.cmd("LOGIN demo demo", ok=True)
        c.cmd("LOGOUT")
        srv.wait_log(r"imap\(127\.0\.0\.1,\w+\): PROXY v2 header from 127\.0\.0\.1 "
                     r"\(LOCAL: a health check\)")
        srv.wait_log(r"imap\(demo,127\.0\.0\.1,\w+\): Login")
        # the usual health check: LOCAL, UNSPEC, no address, then a close
        s = socket.create_connection(("127.0.0.1", srv.proxy_port))
        s.sendall(V2_SIG + b"\x20\x00\x00\x00")
        expect(s.recv(100).startswith(b"* OK"))
        s.close()
        expect("192.0.2.99" not in srv.log_text(), "LOCAL's address was used")
    run(t, extra="plaintext_auth = always\n")


def test_auth_throttle_and_preauth_limit_use_client_address():
    def t(srv):
        a = srv.proxied(v1("192.0.2.7"))
        a.cmd("LOGIN demo wrong", ok=False)
        a.cmd("LOGIN demo wrong", ok=False)
        b = srv.proxied(v1("192.0.2.8"))
        b.cmd("LOGIN alice wrong", ok=False)
        srv.wait_log(r"auth: user demo from 192\.0\.2\.7: (wrong password; )?2 recent")
        # a key of the balancer's address would have counted 3 here
        srv.wait_log(r"auth: user alice from 192\.0\.2\.8: (wrong password; )?1 recent")
        srv.wait_log(r"imap\(192\.0\.2\.7(,\w+)?\): Authentication failed")
        # max_preauth_connections_per_ip = 2: a, b and two more from .7
        # count per client address, not per balancer
        c = srv.proxied(v1("192.0.2.7"))
        d = srv.proxied(v1("192.0.2.7"), greet=False)
        expect(d.readline().startswith("* BYE"), "third connection from 192.0.2.7")
        srv.wait_log(r"192\.0\.2\.7: 2 connections from this address are not logged in")
        e = srv.proxied(v1("192.0.2.9"))
        e.cmd("CAPABILITY", ok=True)
        for x in (a, b, c, e):
            x.close()
    run(t, extra="plaintext_auth = always\nmax_preauth_connections_per_ip = 2\n")


def test_untrusted_balancer_refused_and_logged_once():
    def t(srv):
        for _ in range(3):
            s = socket.create_connection(("127.0.0.1", srv.proxy_port))
            s.sendall(v1())
            expect(closed_silently(s), "an untrusted source got a byte")
            s.close()
        srv.wait_log(r"imap\(127\.0\.0\.1\): refused: not in proxy_trusted_networks")
        time.sleep(0.2)
        n = srv.log_text().count("not in proxy_trusted_networks")
        expect(n == 1, f"logged {n} times")
        # the plain listener is not affected
        c = srv.connect()
        c.greeting()
        c.cmd("LOGIN demo demo", ok=True)
    run(t, trusted="192.0.2.0/24 2001:db8::/32")


BAD_HEADERS = [
    (b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 143\n", "bare LF"),
    (b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 143\rX\n", "bare CR"),
    (b"PROXY TCP4 192.0.2.07 127.0.0.1 5555 143\r\n", "invalid address"),
    (b"PROXY TCP4 192.0.2.7 127.0.0.1 05555 143\r\n", "invalid address or port"),
    (b"PROXY TCP4 192.0.2.7 127.0.0.1 65536 143\r\n", "invalid address or port"),
    (b"PROXY TCP4 192.0.2 127.0.0.1 5555 143\r\n", "invalid address"),
    (b"PROXY TCP4 2001:db8::7 127.0.0.1 5555 143\r\n", "invalid address"),
    (b"PROXY TCP6 192.0.2.7 ::1 5555 143\r\n", "invalid address"),
    (b"PROXY TCP6 ::ffff:192.0.2.7 ::1 5555 143\r\n", "invalid address"),
    (b"PROXY TCP4  192.0.2.7 127.0.0.1 5555 143\r\n", "four fields"),
    (b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 143 \r\n", "four fields"),
    (b"PROXY TCP5 192.0.2.7 127.0.0.1 5555 143\r\n", "four fields"),
    (b"PROXY tcp4 192.0.2.7 127.0.0.1 5555 143\r\n", "four fields"),
    (b"PROXY UNKNOWNX\r\n", "four fields"),
    (b"PROXY\r\n", "not a PROXY"),
    (b"PROXY TCP4 192.0.2.7 127.0.0.1 5555 143\x00\r\n", "not printable"),
    (b"PROXY UNKNOWN " + b"f" * 100 + b"\r\n", "first 107 bytes"),
    (b"a1 CAPABILITY\r\n", "not a PROXY"),
    (b"\x16\x03\x01\x02\x00\x01\x00", "not a PROXY"),
    (b"GET / HTTP/1.0\r\n\r\n", "not a PROXY"),
    (v2(ver=1), "another version"),
    (v2(cmd=2), "unknown command"),
    (v2(fam=0x41), "unknown family"),
    (v2(fam=0x13), "unknown family or transport"),
    (v2(addr=b"\x01\x02\x03\x04"), "address block longer"),
    (v2(tlvs=b"\x02\x00"), "truncated TLV"),
    (v2(tlvs=tlv(PP2_TYPE_AUTHORITY, b"a" * 10)[:-1]), "truncated TLV"),
    (v2(tlvs=tlv(PP2_TYPE_AUTHORITY, b"a" * 256)), "authority longer"),
    (v2(tlvs=tlv(PP2_TYPE_SSL, b"\x01\0\0")), "SSL TLV is malformed"),
    (v2(tlvs=tlv(PP2_TYPE_SSL, b"\x01\0\0\0\0\x21\0\x09TLS")), "SSL TLV is malformed"),
    (v2(tlvs=tlv(PP2_TYPE_CRC32C, b"\0\0")), "CRC32C TLV is not 4"),
    (with_crc(v2(), bad=True), "CRC32C does not match"),
    (V2_SIG + b"\x21\x11\xff\xff", "longer than we accept"),
    (V2_SIG[:5] + b"X", "not a PROXY"),
]


def test_malformed_headers_refused():
    def t(srv):
        for header, why in BAD_HEADERS:
            s = socket.create_connection(("127.0.0.1", srv.proxy_port))
            s.sendall(header + b"a1 LOGIN demo demo\r\n")
            expect(closed_silently(s), f"{header!r}: answered")
            s.close()
            srv.wait_log(r"imap\(127\.0\.0\.1\): refused: [^\n]*" + re.escape(why))
        expect("Login" not in srv.log_text(), "a login through a bad header")
    run(t, extra="plaintext_auth = always\n")


def test_oversized_v1_and_v2_limits():
    def t(srv):
        # 108 bytes without a CRLF: refused at once, not after the timeout
        s = socket.create_connection(("127.0.0.1", srv.proxy_port))
        s.sendall(b"PROXY UNKNOWN " + b"x" * 94)
        expect(closed_silently(s, 3))
        srv.wait_log(r"refused: PROXY v1 line without CRLF in its first 107 bytes")
        # v2 up to the limit we accept (16 + 8192): a NOOP TLV fills it
        fill = 8192 - 12 - 3
        c = srv.proxied(v2(tlvs=tlv(PP2_TYPE_NOOP, b"\0" * fill)))
        c.cmd("LOGIN demo demo", ok=True)
        s = socket.create_connection(("127.0.0.1", srv.proxy_port))
        s.sendall(v2(tlvs=tlv(PP2_TYPE_NOOP, b"\0" * (fill + 1))))
        expect(closed_silently(s, 3))
        srv.wait_log(r"refused: PROXY v2 header longer than we accept")
    run(t, extra="plaintext_auth = always\n")


def test_split_header_and_first_bytes_kept():
    def t(srv):
        h = v1("192.0.2.7")
        login_logged_from(srv, srv.proxied(h, split=[3, 10, len(h) - 1]), "192.0.2.7")
        h = v2("192.0.2.8", tlvs=tlv(PP2_TYPE_AUTHORITY, b"imap.example.org"))
        login_logged_from(srv, srv.proxied(h, split=[1, 13, 16, 20, len(h) - 2]),
                          "192.0.2.8")
        # the client's first command in the same packet as the header
        for h in (v1("192.0.2.10"), v2("192.0.2.10")):
            s = socket.create_connection(("127.0.0.1", srv.proxy_port))
            s.sendall(h + b"a1 LOGIN demo demo\r\na2 LOGOUT\r\n")
            f = s.makefile("rb")
            lines = [f.readline() for _ in range(4)]
            expect(lines[0].startswith(b"* OK") and lines[1].startswith(b"a1 OK")
                   and lines[2].startswith(b"* BYE") and lines[3].startswith(b"a2 OK"),
                   lines)
            s.close()
        # a partial header, then the close
        s = socket.create_connection(("127.0.0.1", srv.proxy_port))
        s.sendall(v2()[:20])
        s.close()
        srv.wait_log(r"refused: disconnected before the PROXY protocol header")
    run(t, extra="plaintext_auth = always\n")


def test_header_timeout():
    def t(srv):
        started = time.time()
        s1 = socket.create_connection(("127.0.0.1", srv.proxy_port))
        s2 = socket.create_connection(("127.0.0.1", srv.proxy_port))
        s2.sendall(b"PROXY TCP4 192.0")
        for s in (s1, s2):
            s.settimeout(15)
            expect(closed_silently(s, 15))
        took = time.time() - started
        expect(3 < took < 10, f"closed after {took:.1f} s")
        srv.wait_log(r"refused: no PROXY protocol header in time")
        srv.wait_log(r"refused: PROXY protocol header incomplete in time")
    run(t)


def test_header_on_plain_listener_is_a_protocol_error():
    def t(srv):
        c = srv.connect()
        c.greeting()
        c.send(v1())
        line = c.readline()
        expect(line.startswith("PROXY BAD") or line.startswith("* BAD"), line)
        c.cmd("LOGIN demo demo", ok=True)
        c.cmd("LOGOUT")
        srv.wait_log(r"imap\(demo,127\.0\.0\.1,\w+\): Login")
        expect("192.0.2.7" not in srv.log_text())
        c = srv.connect()
        c.greeting()
        c.send(v2())
        c.send(b"\r\na1 NOOP\r\n")
        deadline = time.time() + 5
        while True:
            line = c.readline()
            expect(time.time() < deadline, "no answer")
            if line.startswith("a1 "):
                break
    run(t, extra="plaintext_auth = always\n")


def test_implicit_tls_behind_proxy_header():
    def t(srv):
        c = srv.proxied(v2("192.0.2.20", dport=993), tls=True)
        login_logged_from(srv, c, "192.0.2.20")
        c = srv.proxied(v1("192.0.2.21", dport=993), tls=True, split=[6])
        login_logged_from(srv, c, "192.0.2.21")
        # TLS before the header: refused
        s = socket.create_connection(("127.0.0.1", srv.proxy_tls_port))
        try:
            client_tls_context().wrap_socket(s, server_hostname="localhost")
            raise TestFailure("TLS handshake without a PROXY header")
        except (ssl.SSLError, ConnectionResetError, OSError):
            pass
        srv.wait_log(r"refused: not a PROXY protocol header")
    run(t)


def test_tls_at_balancer_only_with_proxy_trust_tls():
    def caps(c):
        untagged, _ = c.cmd("CAPABILITY", ok=True)
        return untagged[0]

    def untrusted(srv):
        c = srv.proxied(v2(tlvs=ssl_tlv()))
        cap = caps(c)
        expect("LOGINDISABLED" in cap and "STARTTLS" in cap, cap)
        c.cmd("LOGIN demo demo", ok=False)
        srv.wait_log(r"TLS at the balancer \(not trusted: proxy_trust_tls\)")

    def trusted(srv):
        c = srv.proxied(v2(tlvs=ssl_tlv()))
        cap = caps(c)
        expect("LOGINDISABLED" not in cap and "STARTTLS" not in cap, cap)
        c.cmd("STARTTLS", ok=False)
        login_logged_from(srv, c, "192.0.2.7")
        srv.wait_log(r"TLS at the balancer \(trusted\)")
        # without PP2_CLIENT_SSL (a certificate flag alone) nothing changes
        c = srv.proxied(v2(tlvs=ssl_tlv(client=2)))
        cap = caps(c)
        expect("LOGINDISABLED" in cap and "STARTTLS" in cap, cap)
        c = srv.proxied(v1())
        expect("LOGINDISABLED" in caps(c))
    run(untrusted)
    run(trusted, extra="proxy_trust_tls = yes\n")


def test_lmtp_trusted_networks_apply_to_client():
    def t(srv):
        def lmtp(header):
            s = socket.create_connection(("127.0.0.1", srv.proxy_lmtp_port))
            s.sendall(header)
            f = s.makefile("rb")
            return s, f

        s, f = lmtp(v2("192.0.2.30", dport=24))
        expect(f.readline().startswith(b"220 "))
        s.sendall(b"LHLO mx.example\r\nMAIL FROM:<a@example.com>\r\n"
                  b"RCPT TO:<demo>\r\nDATA\r\n")
        while not f.readline().startswith(b"354"):
            pass
        s.sendall(roosttest.MSG.encode() + b".\r\nQUIT\r\n")
        line = f.readline()
        expect(line.startswith(b"250 "), line)
        s.close()
        # the client is not in lmtp_trusted_networks, though the balancer is
        s, f = lmtp(v1("203.0.113.5", dport=24))
        expect(f.readline().startswith(b"554 "))
        s.close()
        srv.wait_log(r"lmtp\(203\.0\.113\.5,\w+\): refused: not in lmtp_trusted_networks")
        # LOCAL: the balancer's own address (127.0.0.1) is what counts
        s, f = lmtp(v2(cmd=0))
        expect(f.readline().startswith(b"554 "))
        s.close()
        i = srv.login()
        i.cmd("SELECT INBOX", ok=True)
        untagged, _ = i.cmd("FETCH 1 BODY.PEEK[HEADER.FIELDS (RECEIVED)]", ok=True)
        expect("192.0.2.30" in "\n".join(untagged), untagged)
    run(t, lmtp=True, extra="lmtp_trusted_networks = 192.0.2.0/24\n")


def test_config_errors():
    for conf, msg in (
            ("listen = lmtp /tmp/x.sock proxy", "`proxy` is for TCP listeners"),
            ("listen = imap 127.0.0.1:1 starttls proxy extra", "too many words"),
            ("listen = imap 127.0.0.1:1 proxy starttls", "only `proxy` may follow"),
            ("proxy_trusted_networks = 10.0.0.0/33", "proxy_trusted_networks: invalid"),
    ):
        srv = None
        try:
            srv = Server(extra_conf=conf)
        except TestFailure as e:
            expect(msg in str(e), f"{conf}: {e}")
        else:
            srv.cleanup()
            raise TestFailure(f"started with {conf!r}")
    srv = None
    try:
        srv = Server(extra_conf=f"listen = imap 127.0.0.1:{free_port()} proxy")
    except TestFailure as e:
        expect("proxy_trusted_networks is empty" in str(e), str(e))
    else:
        srv.cleanup()
        raise TestFailure("started a proxy listener without trusted networks")


def test_managesieve_behind_proxy_header():
    ms_port = free_port()

    def t(srv):
        s = socket.create_connection(("127.0.0.1", ms_port))
        s.sendall(v2("192.0.2.40", dport=4190))
        f = s.makefile("rb")
        while True:
            line = f.readline()
            expect(line, "closed before the greeting ended")
            if line.startswith(b"OK"):
                break
        s.sendall(b"LOGOUT\r\n")
        expect(f.readline().startswith(b"OK"))
        s.close()
        srv.wait_log(r"managesieve\(192\.0\.2\.40,\w+\): connected")
    run(t, extra=f"listen = managesieve 127.0.0.1:{ms_port} starttls proxy\n")
