"""curl's IMAP support against a live server: list, append (upload),
fetch by UID, search, over implicit TLS and STARTTLS."""
import os
import subprocess
import tempfile
from roosttest import expect

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
