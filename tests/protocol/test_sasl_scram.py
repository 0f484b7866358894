"""SCRAM-SHA-1/256 and -PLUS (RFC 5802, RFC 7677; channel bindings
tls-exporter, RFC 9266, and tls-server-end-point, RFC 5929), CRAM-MD5 (RFC
2195) and EXTERNAL with TLS client certificates (RFC 4422 appendix A)
through IMAP and ManageSieve AUTHENTICATE, with clients written from the
RFCs in tests/lib/saslclient.py: users stored as {PLAIN}, {SCRAM-SHA-256},
SHA512-CRYPT with SCRAM extra fields (what `roost user add` writes) and
SHA512-CRYPT alone; wrong passwords, unknown users, wrong nonces, replayed
finals, channel-binding mismatches and the 'y' flag downgrade."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from roosttest import TestFailure, expect, server_args
import saslclient
from saslclient import Scram, b64

HERE = os.path.dirname(os.path.abspath(__file__))
SASLCLIENT = os.path.join(HERE, "..", "lib", "saslclient.py")


def pyopenssl_python():
    """An interpreter that has pyOpenSSL (Debian python3-openssl): this
    one, else the system's (a pyenv python3 may come first in PATH)."""
    for exe in (sys.executable, "/usr/bin/python3"):
        if os.path.exists(exe) and subprocess.run(
                [exe, "-c", "import OpenSSL.SSL, cryptography"],
                capture_output=True).returncode == 0:
            return exe
    raise TestFailure("no python3 with pyOpenSSL (apt-get install python3-openssl)")


def tls_login(srv, mech, user, password, *args):
    """Logs in over TLS with saslclient.py; returns its JSON result."""
    p = subprocess.run([pyopenssl_python(), SASLCLIENT, str(srv.tls_port), mech, user,
                        password, "--implicit"] + list(args),
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise TestFailure(f"saslclient: {p.stderr}")
    return json.loads(p.stdout)


def scram_exchange(c, mech, user, password, tag="a1", ir=True, final=None,
                   **kw):
    """Runs a SCRAM exchange on IMAP connection c; returns (tagged line,
    Scram, server-first).  final(s, server_first) may build a different
    client-final."""
    s = Scram(mech, user, password, **kw)
    if ir:
        c.line(f"{tag} AUTHENTICATE {mech} {b64(s.first())}")
    else:
        c.line(f"{tag} AUTHENTICATE {mech}")
        line = c.readline()
        expect(line == "+ ", line)
        c.line(b64(s.first()))
    line = c.readline()
    if not line.startswith("+ "):
        return line, s, None
    server_first = base64.b64decode(line[2:]).decode()
    c.line(b64(final(s, server_first) if final else s.final(server_first)))
    line = c.readline()
    if line.startswith("+ "):
        expect(s.check_server_final(base64.b64decode(line[2:]).decode()),
               "server signature " + line)
        c.line("")
        line = c.readline()
    return line, s, server_first


def ok(line):
    return line.startswith("a") and " OK " in line


def failed(line):
    return " NO [AUTHENTICATIONFAILED] " in line


def test_scram_plain_users(srv):
    # the test server's users are {PLAIN}: keys are made on the fly
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1", "scram-sha-256"):
        for ir in (True, False):
            c = srv.connect()
            c.greeting()
            line, _, first = scram_exchange(c, mech, "demo", "demo", ir=ir)
            expect(ok(line), f"{mech}: {line}")
            expect(",i=4096" in first, first)
            c.cmd("SELECT INBOX", ok=True)
    log = srv.log_text()
    expect("method=SCRAM-SHA-256" in log or "SCRAM-SHA-256" in log, log[-2000:])
    # the salt of a {PLAIN} user is the same at every login
    salts = set()
    for _ in range(2):
        c = srv.connect()
        c.greeting()
        _, _, first = scram_exchange(c, "SCRAM-SHA-256", "alice", "alicepw")
        salts.add(first.split(",s=")[1].split(",")[0])
    expect(len(salts) == 1, salts)


def test_scram_failures(srv):
    c = srv.connect()
    c.greeting()
    line, _, _ = scram_exchange(c, "SCRAM-SHA-256", "demo", "wrong", tag="a1")
    expect(failed(line), line)
    # an unknown user gets a server-first like a real one, then fails
    line, _, first = scram_exchange(c, "SCRAM-SHA-256", "nosuchuser", "x", tag="a2")
    expect(first is not None and ",i=4096" in first, first)
    expect(failed(line), line)
    c = srv.connect()
    c.greeting()
    _, _, first2 = scram_exchange(c, "SCRAM-SHA-256", "nosuchuser", "x", tag="a1")
    expect(first.split(",s=")[1] == first2.split(",s=")[1], (first, first2))
    # a client-final with another nonce
    line, _, _ = scram_exchange(
        c, "SCRAM-SHA-256", "demo", "demo", tag="a2",
        final=lambda s, sf: s.final(sf, nonce=s.nonce + "forged"))
    expect(failed(line), line)
    # a 'p' flag with the non-PLUS mechanism, a mandatory extension, junk
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE SCRAM-SHA-256 {b64("p=tls-exporter,,n=demo,r=abc")}
    S~ a1 NO \[AUTHENTICATIONFAILED\] .*
    C: a2 AUTHENTICATE SCRAM-SHA-256 {b64("n,,m=x,n=demo,r=abc")}
    S~ a2 NO \[AUTHENTICATIONFAILED\] .*
    C: a3 AUTHENTICATE SCRAM-SHA-1 {b64("garbage")}
    S~ a3 NO \[AUTHENTICATIONFAILED\] .*
    S~ \* BYE .*
    """)
    log = srv.log_text()
    expect("pencil" not in log and "wrong" not in log.replace("wrong password", ""),
           "password in log")


def test_scram_replayed_final(srv):
    # a successful exchange's client-final, replayed on a new connection,
    # fails there: the server's nonce differs
    c = srv.connect()
    c.greeting()
    saved = {}

    def keep(s, sf):
        saved["final"] = s.final(sf)
        return saved["final"]
    line, s, _ = scram_exchange(c, "SCRAM-SHA-256", "demo", "demo", final=keep)
    expect(ok(line), line)
    c = srv.connect()
    c.greeting()
    line, _, _ = scram_exchange(c, "SCRAM-SHA-256", "demo", "demo",
                                nonce=s.nonce, final=lambda s2, sf: saved["final"])
    expect(failed(line), line)


def test_scram_y_flag(srv):
    # plaintext: no -PLUS is offered, so 'y' is fine
    c = srv.connect()
    c.greeting()
    line, _, _ = scram_exchange(c, "SCRAM-SHA-256", "demo", "demo", flag="y")
    expect(ok(line), line)
    # over TLS -PLUS is offered: a client that sent 'y' saw a downgrade
    r = tls_login(srv, "SCRAM-SHA-256", "demo", "demo", "--flag", "y", "--capability")
    expect("AUTH=SCRAM-SHA-256-PLUS" in r["capability"], r)
    expect(failed(r["tagged"]), r)
    r = tls_login(srv, "SCRAM-SHA-256", "demo", "demo", "--flag", "n")
    expect(ok(r["tagged"]), r)


def test_scram_plus(srv):
    c = srv.connect()
    c.greeting()
    caps = c.cmd("CAPABILITY", ok=True)
    expect("SCRAM-SHA-256-PLUS" not in str(caps), caps)
    for mech in ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"):
        for cb in ("tls-exporter", "tls-server-end-point"):
            r = tls_login(srv, mech, "demo", "demo", "--cb", cb)
            expect(ok(r["tagged"]) and r.get("server_final_ok"), (mech, cb, r))
            r = tls_login(srv, mech, "demo", "demo", "--cb", cb, "--corrupt-cb")
            expect(failed(r["tagged"]), (mech, cb, r))
    # -PLUS without binding, and an unknown binding type
    r = tls_login(srv, "SCRAM-SHA-256-PLUS", "demo", "demo", "--flag", "n")
    expect(failed(r["tagged"]), r)
    r = tls_login(srv, "SCRAM-SHA-256-PLUS", "demo", "demo", "--cb", "tls-unique")
    expect(failed(r["tagged"]), r)
    r = tls_login(srv, "SCRAM-SHA-256-PLUS", "demo", "demo", "--cb", "tls-exporter",
                  "--authzid", "demo")
    expect(ok(r["tagged"]), r)
    r = tls_login(srv, "SCRAM-SHA-256-PLUS", "demo", "wrong", "--cb", "tls-exporter")
    expect(failed(r["tagged"]), r)


def test_stored_schemes(srv):
    """Users written by `roost user add`: SHA512-CRYPT with SCRAM keys
    (the default), SCRAM-SHA-256 as the main scheme, and SHA512-CRYPT
    alone (--no-scram), with which SCRAM fails cleanly."""
    p = srv.roost("user", "add", "-c", srv.conf, "carol", input="carolpw\n")
    expect("with SCRAM-SHA-256 and SCRAM-SHA-1 keys" in p.stdout, p.stdout)
    srv.roost("user", "add", "-c", srv.conf, "--scheme", "SCRAM-SHA-256", "--no-scram",
              "dave", input="davepw\n")
    p = srv.roost("user", "add", "-c", srv.conf, "--no-scram", "erin", input="erinpw\n")
    expect("SCRAM" not in p.stdout, p.stdout)
    lines = {l.split(":")[0]: l for l in open(srv.userdb).read().splitlines()}
    expect(lines["carol"].startswith("carol:{SHA512-CRYPT}$6$"), lines["carol"])
    expect(" scram-sha-256={SCRAM-SHA-256}4096," in lines["carol"] or
           ":scram-sha-256={SCRAM-SHA-256}4096," in lines["carol"], lines["carol"])
    expect("scram-sha-1={SCRAM-SHA-1}4096," in lines["carol"], lines["carol"])
    expect(lines["dave"].startswith("dave:{SCRAM-SHA-256}4096,"), lines["dave"])
    expect("scram" not in lines["erin"], lines["erin"])
    for user, pw in (("carol", "carolpw"), ("dave", "davepw")):
        for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
            c = srv.connect()
            c.greeting()
            line, _, _ = scram_exchange(c, mech, user, pw)
            want_ok = not (user == "dave" and mech == "SCRAM-SHA-1")
            expect(ok(line) == want_ok, (user, mech, line))
        # and LOGIN still checks the main hash
        c = srv.connect()
        c.greeting()
        c.cmd(f"LOGIN {user} {pw}", ok=True)
    c = srv.connect()
    c.greeting()
    line, _, _ = scram_exchange(c, "SCRAM-SHA-256", "erin", "erinpw")
    expect(failed(line), line)
    c.cmd("LOGIN erin erinpw", ok=True)
    # a new password replaces the keys of the old one
    srv.roost("user", "passwd", "-c", srv.conf, "carol", input="newpw\n")
    time.sleep(1.2)             # the server stats the file once a second
    c = srv.connect()
    c.greeting()
    line, _, _ = scram_exchange(c, "SCRAM-SHA-256", "carol", "carolpw")
    expect(failed(line), line)
    line, _, _ = scram_exchange(c, "SCRAM-SHA-256", "carol", "newpw", tag="a2")
    expect(ok(line), line)


def test_cram_md5(srv):
    c = srv.connect()
    c.greeting()
    c.line("a1 AUTHENTICATE CRAM-MD5")
    line = c.readline()
    expect(line.startswith("+ "), line)
    challenge = base64.b64decode(line[2:])
    expect(challenge.startswith(b"<") and challenge.endswith(b">"), challenge)
    c.line(b64(saslclient.cram_md5("demo", "demo", challenge)))
    line = c.readline()
    expect(ok(line), line)
    c = srv.connect()
    c.greeting()
    c.line("a1 AUTHENTICATE CRAM-MD5")
    challenge = base64.b64decode(c.readline()[2:])
    c.line(b64(saslclient.cram_md5("demo", "wrong", challenge)))
    expect(failed(c.readline()), "wrong password")
    # a user with a crypt hash only cannot use CRAM-MD5
    srv.roost("user", "add", "-c", srv.conf, "frank", input="frankpw\n")
    c.line("a2 AUTHENTICATE CRAM-MD5")
    challenge = base64.b64decode(c.readline()[2:])
    c.line(b64(saslclient.cram_md5("frank", "frankpw", challenge)))
    expect(failed(c.readline()), "crypt user")


@server_args(managesieve=True)
def test_managesieve_scram(srv):
    from test_managesieve import Sieve
    c = Sieve(srv)
    caps = c.greeting()
    sasl = [l for l in caps if l.startswith('"SASL"')]
    expect(sasl and "SCRAM-SHA-256" in sasl[0], caps)
    s = Scram("SCRAM-SHA-256", "demo", "demo")
    c.line(f'AUTHENTICATE "SCRAM-SHA-256" "{b64(s.first())}"')
    line = c.read_response_line()
    # the challenge is a string: "base64" or a literal
    server_first = base64.b64decode(line.strip('"')).decode()
    c.line(f'"{b64(s.final(server_first))}"')
    _, final = c.response()
    expect(final.startswith("OK"), final)
    # RFC 5804 section 2.1: the server's final data in OK (SASL "...")
    expect('(SASL "' in final, final)
    v = final.split('(SASL "')[1].split('"')[0]
    expect(s.check_server_final(base64.b64decode(v).decode()), final)
    c.cmd("LISTSCRIPTS", ok=True)


_certs = None


def client_certs():
    """A CA and client certificates signed by it (CN demo, CN nobody,
    and one with only an e-mail subjectAltName), plus a self-signed one
    the CA never saw, made with the openssl CLI once per run."""
    global _certs
    if _certs is None:
        d = tempfile.mkdtemp(prefix="roost-client-ca-")

        def run(*args):
            subprocess.run(["openssl"] + list(args), check=True, capture_output=True,
                           cwd=d)
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=Roost Test CA", "-keyout", "ca.key", "-out", "ca.pem")
        for name, subj in (("demo", "/CN=demo"), ("nobody", "/CN=nobody"),
                           ("alice", "/CN=someone/emailAddress=alice")):
            run("req", "-newkey", "rsa:2048", "-nodes", "-subj", subj,
                "-keyout", f"{name}.key", "-out", f"{name}.csr")
            run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", f"{name}.pem")
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=demo", "-keyout", "rogue.key", "-out", "rogue.pem")
        _certs = d
    return _certs


def cert_args(name):
    d = client_certs()
    return ["--cert", os.path.join(d, f"{name}.pem"), "--key", os.path.join(d, f"{name}.key")]


@server_args(extra_conf=f"tls_client_ca = {os.path.join(client_certs(), 'ca.pem')}")
def test_external_client_cert(srv):
    r = tls_login(srv, "EXTERNAL", "demo", "-", "--capability", *cert_args("demo"))
    expect("AUTH=EXTERNAL" in r["capability"], r)
    expect(ok(r["tagged"]), r)
    r = tls_login(srv, "EXTERNAL", "demo", "-", "--authzid", "demo", *cert_args("demo"))
    expect(ok(r["tagged"]), r)
    r = tls_login(srv, "EXTERNAL", "demo", "-", "--authzid", "alice", *cert_args("demo"))
    expect(failed(r["tagged"]), r)
    # a user the database does not know
    r = tls_login(srv, "EXTERNAL", "nobody", "-", *cert_args("nobody"))
    expect(failed(r["tagged"]), r)
    # a certificate that does not verify: the handshake goes on, but no
    # EXTERNAL; and none without a certificate
    for args in (cert_args("rogue"), []):
        r = tls_login(srv, "EXTERNAL", "demo", "-", "--capability", *args)
        expect("AUTH=EXTERNAL" not in r["capability"], r)
        expect(" OK " not in r["tagged"], r)
    # other mechanisms still work on such a connection
    r = tls_login(srv, "SCRAM-SHA-256-PLUS", "demo", "demo", "--cb", "tls-exporter",
                  *cert_args("rogue"))
    expect(ok(r["tagged"]), r)


@server_args(extra_conf=f"tls_client_ca = {os.path.join(client_certs(), 'ca.pem')}\n"
             "auth_ssl_username_from = emailAddress")
def test_external_email_field(srv):
    r = tls_login(srv, "EXTERNAL", "alice", "-", *cert_args("alice"))
    expect(ok(r["tagged"]), r)
    r = tls_login(srv, "EXTERNAL", "demo", "-", *cert_args("demo"))
    expect(not ok(r["tagged"]), r)


@server_args(extra_conf=f"tls_client_ca = {os.path.join(client_certs(), 'ca.pem')}\n"
             "tls_require_client_cert = yes")
def test_require_client_cert(srv):
    r = tls_login(srv, "EXTERNAL", "demo", "-", *cert_args("demo"))
    expect(ok(r["tagged"]), r)
    p = subprocess.run([pyopenssl_python(), SASLCLIENT, str(srv.tls_port), "EXTERNAL",
                        "demo", "-", "--implicit"], capture_output=True, text=True,
                       timeout=60)
    expect(p.returncode != 0 or " OK " not in p.stdout, p.stdout)
