"""curl's IMAP support against a live server: list, append (upload),
fetch by UID, search, over implicit TLS and STARTTLS; its SASL client
with --login-options AUTH=PLAIN / AUTH=LOGIN and a master user's
--sasl-authzid (auth_master_users)."""
import os
import subprocess
import tempfile
from roosttest import expect, server_args

MSG = b"From: curl@example.com\r\nSubject: via curl\r\n\r\ncurl body\r\n"


def curl(*args, data=None):
    p = subprocess.run(["curl", "-sS", "-k", "--max-time", "20", "--user", "demo:demo"] + list(args),
                       input=data, capture_output=True, timeout=30)
    expect(p.returncode == 0, f"curl {args}: {p.returncode} {p.stderr!r}")
    return p.stdout


def test_curl_session(srv):
    base = f"imaps://127.0.0.1:{srv.tls_port}"
    out = curl(base + "/")
    expect(b"INBOX" in out and b"Sent" in out, out)
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(MSG)
    try:
        curl("-T", f.name, base + "/INBOX")
    finally:
        os.unlink(f.name)
    out = curl(base + "/INBOX;UID=1")
    expect(out == MSG, out)
    out = curl(base + "/INBOX?SUBJECT%20curl")
    expect(b"SEARCH 1" in out, out)
    out = curl("-X", "STATUS INBOX (MESSAGES)", base + "/")
    expect(b"MESSAGES 1" in out, out)


def test_curl_starttls(srv):
    out = curl("--ssl-reqd", f"imap://127.0.0.1:{srv.port}/")
    expect(b"INBOX" in out, out)


def _curl_sasl(srv, *args):
    return subprocess.run(["curl", "-sS", "--max-time", "20",
                           f"imap://127.0.0.1:{srv.port}/"] + list(args),
                          capture_output=True, text=True, timeout=60)


@server_args(users={"demo": "demo", "alice": "alicepw", "admin": "adminpw"},
             extra_conf="auth_master_users = admin")
def test_curl_sasl(srv):
    a = srv.login("alice", "alicepw")
    a.cmd("CREATE AliceOnly", ok=True)
    a.close()
    for mech in ("PLAIN", "LOGIN"):
        p = _curl_sasl(srv, "--user", "demo:demo", "--login-options", f"AUTH={mech}")
        expect(p.returncode == 0 and "INBOX" in p.stdout, (mech, p.stderr))
        p = _curl_sasl(srv, "--user", "demo:bad", "--login-options", f"AUTH={mech}")
        expect(p.returncode != 0, (mech, p.stdout))
    # the master user lists alice's mailboxes
    p = _curl_sasl(srv, "--user", "admin:adminpw", "--sasl-authzid", "alice",
                   "--login-options", "AUTH=PLAIN")
    expect(p.returncode == 0 and "AliceOnly" in p.stdout, (p.stdout, p.stderr))
    p = _curl_sasl(srv, "--user", "demo:demo", "--sasl-authzid", "alice",
                   "--login-options", "AUTH=PLAIN")
    expect(p.returncode != 0 and "AliceOnly" not in p.stdout, p.stdout)
    log = srv.log_text()
    expect("method=LOGIN" in log and "method=PLAIN" in log, log)
