"""curl's IMAP SASL (`--login-options AUTH=...`) against a live server with
the mechanisms Debian's curl has: CRAM-MD5, DIGEST-MD5 (when enabled in
auth_mechanisms) and EXTERNAL with a client certificate.  Debian's curl
is built without libgsasl, so it has no SCRAM (`curl -V` lists no
"gsasl"); SCRAM is tested with the RFC-written client in
tests/protocol/test_sasl_scram.py instead."""
import os
import subprocess
import sys
from roosttest import expect, server_args

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "protocol"))
from test_sasl_scram import cert_args, client_certs  # noqa: E402


def curl(*args, user="demo:demo", ok=True):
    p = subprocess.run(["curl", "-sS", "-k", "--max-time", "20", "--user", user] + list(args),
                       capture_output=True, timeout=30)
    if ok:
        expect(p.returncode == 0, f"curl {args}: {p.returncode} {p.stderr!r}")
    return p


def test_curl_cram_md5(srv):
    for base in (f"imap://127.0.0.1:{srv.port}/", f"imaps://127.0.0.1:{srv.tls_port}/"):
        out = curl("--login-options", "AUTH=CRAM-MD5", base).stdout
        expect(b"INBOX" in out, out)
        p = curl("--login-options", "AUTH=CRAM-MD5", base, user="demo:wrong", ok=False)
        expect(p.returncode == 67, (p.returncode, p.stderr))   # login denied
    expect("CRAM-MD5" in srv.log_text(), "CRAM-MD5 not logged")


@server_args(extra_conf=f"tls_client_ca = {os.path.join(client_certs(), 'ca.pem')}")
def test_curl_external(srv):
    args = cert_args("demo")
    out = curl("--login-options", "AUTH=EXTERNAL", "--cert", args[1], "--key", args[3],
               f"imaps://127.0.0.1:{srv.tls_port}/", user="demo:").stdout
    expect(b"INBOX" in out, out)
    # without a certificate EXTERNAL is not offered: curl refuses
    p = curl("--login-options", "AUTH=EXTERNAL", f"imaps://127.0.0.1:{srv.tls_port}/",
             user="demo:", ok=False)
    expect(p.returncode != 0, p.stdout)


@server_args(extra_conf="auth_mechanisms = SCRAM-SHA-256 DIGEST-MD5 PLAIN\n"
             "auth_realms = roost.test")
def test_curl_digest_md5(srv):
    """DIGEST-MD5 is off by default and on when named; curl computes the
    RFC 2831 response for the realm the server offers."""
    base = f"imap://127.0.0.1:{srv.port}/"
    out = curl("--login-options", "AUTH=DIGEST-MD5", base).stdout
    expect(b"INBOX" in out, out)
    p = curl("--login-options", "AUTH=DIGEST-MD5", base, user="demo:wrong", ok=False)
    expect(p.returncode == 67, (p.returncode, p.stderr))
    # CRAM-MD5 is not named: not offered, refused
    p = curl("--login-options", "AUTH=CRAM-MD5", base, ok=False)
    expect(p.returncode != 0, p.stdout)
    expect("method=DIGEST-MD5" in srv.log_text(), "DIGEST-MD5 login not logged")
