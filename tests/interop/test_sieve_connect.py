"""sieve-connect (the Debian package) against a live ManageSieve listener
with STARTTLS, the certificate checked against the test's own: upload,
list, activate, download byte for byte, a refused bad script, delete.
plaintext_auth = never, so the login happens only over TLS."""
import os
import re
import subprocess
import tempfile

from roosttest import cert_files, expect, server_args

SCRIPT = 'require ["fileinto", "imap4flags"];\nif header :contains "List-Id" "roost" {\n  fileinto "Lists";\n}\n'


def sieve_connect(srv, *args, ok=True):
    cert, _ = cert_files()
    cmd = ["sieve-connect", "--server", "127.0.0.1", "--port", str(srv.managesieve_port),
           "--user", "demo", "--passwordfd", "0", "--tlscafile", cert,
           "--tlshostname", "localhost"] + list(args)
    p = subprocess.run(cmd, input="demo\n", capture_output=True, text=True, timeout=60)
    if ok:
        expect(p.returncode == 0, f"{args}: {p.returncode} {p.stderr}")
    return p


@server_args(managesieve=True, extra_conf="plaintext_auth = never")
def test_sieve_connect_session(srv):
    with tempfile.TemporaryDirectory() as d:
        local = os.path.join(d, "filters.sieve")
        with open(local, "w") as f:
            f.write(SCRIPT)
        sieve_connect(srv, "--upload", "--localsieve", local, "--remotesieve", "filters")
        p = sieve_connect(srv, "--list")
        expect(p.stdout == '"filters"\n', p.stdout)
        sieve_connect(srv, "--activate", "--remotesieve", "filters")
        p = sieve_connect(srv, "--list")
        expect(p.stdout == '"filters" ACTIVE\n', p.stdout)
        back = os.path.join(d, "back.sieve")
        sieve_connect(srv, "--download", "--remotesieve", "filters", "--localsieve", back)
        with open(back) as f:
            expect(f.read() == SCRIPT, "downloaded script differs")
        bad = os.path.join(d, "bad.sieve")
        with open(bad, "w") as f:
            f.write("keep;\nfileinto \"x\";\n")
        p = sieve_connect(srv, "--upload", "--localsieve", bad, "--remotesieve", "bad",
                          ok=False)
        expect(p.returncode != 0 and "line 2" in p.stderr, (p.returncode, p.stderr))
        sieve_connect(srv, "--deactivate")
        sieve_connect(srv, "--delete", "--remotesieve", "filters")
        p = sieve_connect(srv, "--list")
        expect(p.stdout == "", p.stdout)
    log = srv.log_text()
    # sieve-connect picks the strongest mechanism offered (CRAM-MD5 with
    # Cyrus SASL's defaults; its own PLAIN otherwise)
    expect(re.search(r"Login: method=(CRAM-MD5|PLAIN|SCRAM-SHA-\S+), TLS", log),
           "not logged in over TLS")
