"""Roost behind a real HAProxy (Debian's haproxy) on loopback: the PROXY
protocol v2 (send-proxy-v2) and v1 (send-proxy) in front of a STARTTLS and
an implicit TLS listener (TLS passed through, the header before the
handshake), HAProxy's own health checks (check-send-proxy: a LOCAL
header), and TLS terminated by HAProxy with send-proxy-v2-ssl, believed
only with proxy_trust_tls.  The clients connect from 127.0.0.2, the
balancer from 127.0.0.1, so the log shows whose address Roost took."""
import os
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time

from roosttest import (Server, Client, TestFailure, expect, free_port, cert_files,
                       client_tls_context)

CLIENT_IP = "127.0.0.2"


class Balanced:
    def __init__(self, trust_tls=False):
        if shutil.which("haproxy") is None:
            raise TestFailure("haproxy is not installed (scripts/install-deps test)")
        self.p_imap, self.p_imaps = free_port(), free_port()
        conf = (f"listen = imap 127.0.0.1:{self.p_imap} starttls proxy\n"
                f"listen = imap 127.0.0.1:{self.p_imaps} implicit proxy\n"
                "proxy_trusted_networks = 127.0.0.1\n"
                # 127.0.0.2 is loopback: passwords need TLS all the same
                "plaintext_auth = never\n"
                + ("proxy_trust_tls = yes\n" if trust_tls else ""))
        self.srv = Server(extra_conf=conf)
        self.dir = tempfile.mkdtemp(prefix="roost-haproxy-")
        cert, key = cert_files()
        pem = os.path.join(self.dir, "both.pem")
        with open(pem, "w") as out:
            for name in (cert, key):
                with open(name) as f:
                    out.write(f.read())
        self.f_v2, self.f_v1 = free_port(), free_port()
        self.f_tls, self.f_term = free_port(), free_port()
        cfg = f"""
global
    log stderr format short local0 info
defaults
    mode tcp
    log global
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend v2
    bind 127.0.0.1:{self.f_v2}
    default_backend v2
backend v2
    server roost 127.0.0.1:{self.p_imap} send-proxy-v2 check check-send-proxy inter 300ms
frontend v1
    bind 127.0.0.1:{self.f_v1}
    default_backend v1
backend v1
    server roost 127.0.0.1:{self.p_imap} send-proxy
frontend tls_passthrough
    bind 127.0.0.1:{self.f_tls}
    default_backend tls_passthrough
backend tls_passthrough
    server roost 127.0.0.1:{self.p_imaps} send-proxy-v2
frontend tls_terminated
    bind 127.0.0.1:{self.f_term} ssl crt {pem}
    default_backend tls_terminated
backend tls_terminated
    server roost 127.0.0.1:{self.p_imap} send-proxy-v2-ssl
"""
        self.cfg = os.path.join(self.dir, "haproxy.cfg")
        with open(self.cfg, "w") as f:
            f.write(cfg)
        self.log = open(os.path.join(self.dir, "haproxy.log"), "wb")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", self.cfg],
                                     stdout=self.log, stderr=self.log)
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.f_term), 0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise TestFailure("haproxy did not start: " + self.haproxy_log())
                time.sleep(0.05)

    def haproxy_log(self):
        self.log.flush()
        with open(self.log.name, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def client(self, port, tls=False):
        """A Client connected from CLIENT_IP to the balancer's port."""
        c = Client.__new__(Client)
        c.srv, c.buf, c.tagn, c.timeout = self.srv, b"", 0, 10
        c.sock = socket.create_connection(("127.0.0.1", port), 10,
                                          source_address=(CLIENT_IP, 0))
        if tls:
            c.sock = client_tls_context().wrap_socket(c.sock, server_hostname="localhost")
        c.greeting()
        return c

    def wait_log(self, regex, timeout=5):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(regex, self.srv.log_text())
            if m:
                return m
            time.sleep(0.05)
        raise TestFailure(f"roost log has no /{regex}/:\n" + self.srv.log_text()[-3000:]
                          + "\n--- haproxy ---\n" + self.haproxy_log()[-2000:])

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        try:
            self.srv.check_log()
            code = self.srv.stop()
            expect(code == 0, f"roost serve exited {code}")
            self.srv.check_log()
        finally:
            self.srv.cleanup()
            shutil.rmtree(self.dir, ignore_errors=True)


def login(b, c, user="demo", password="demo"):
    c.cmd(f"LOGIN {user} {password}", ok=True)
    c.cmd("LOGOUT")
    b.wait_log(rf"imap\({user},{re.escape(CLIENT_IP)},\w+\): Login")


def caps(c):
    untagged, _ = c.cmd("CAPABILITY", ok=True)
    return untagged[0]


def test_haproxy_send_proxy_v1_v2_and_health_checks():
    b = Balanced()
    try:
        # STARTTLS behind send-proxy-v2: the client's address, not HAProxy's
        c = b.client(b.f_v2)
        expect("LOGINDISABLED" in caps(c), "plaintext_auth = never")
        c.cmd("STARTTLS", ok=True)
        c.starttls()
        login(b, c)
        b.wait_log(r"imap\(127\.0\.0\.2,\w+\): PROXY v2 header from 127\.0\.0\.1")
        # send-proxy (v1)
        c = b.client(b.f_v1)
        c.cmd("STARTTLS", ok=True)
        c.starttls()
        login(b, c, "alice", "alicepw")
        b.wait_log(r"imap\(127\.0\.0\.2,\w+\): PROXY v1 header from 127\.0\.0\.1")
        # TLS passed through: the header came before the handshake
        c = b.client(b.f_tls, tls=True)
        login(b, c)
        # HAProxy's checks with check-send-proxy: LOCAL headers
        b.wait_log(r"imap\(127\.0\.0\.1,\w+\): PROXY v2 header from 127\.0\.0\.1 "
                   r"\(LOCAL: a health check\)")
        # a failed login is throttled under the client's address
        c = b.client(b.f_v2)
        c.cmd("STARTTLS", ok=True)
        c.starttls()
        c.cmd("LOGIN demo nope", ok=False)
        b.wait_log(r"auth: user demo from 127\.0\.0\.2: ")
    finally:
        b.close()


def test_haproxy_terminated_tls_needs_proxy_trust_tls():
    for trust in (False, True):
        b = Balanced(trust_tls=trust)
        try:
            c = b.client(b.f_term, tls=True)
            cap = caps(c)
            if trust:
                expect("LOGINDISABLED" not in cap and "STARTTLS" not in cap, cap)
                login(b, c)
                b.wait_log(r"TLS at the balancer \(trusted\)")
            else:
                expect("LOGINDISABLED" in cap and "STARTTLS" in cap, cap)
                c.cmd("LOGIN demo demo", ok=False)
                b.wait_log(r"TLS at the balancer \(not trusted: proxy_trust_tls\)")
        finally:
            b.close()
