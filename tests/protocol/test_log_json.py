"""log_format = json: every line of the server's log is one JSON object
with the fixed members and the key=value facts of the message."""
import json
import os
import shutil
import subprocess
import tempfile
import time
import roosttest
from roosttest import expect, server_args


def json_lines(srv):
    out = []
    for line in srv.log_text().splitlines():
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a JSON line: {line!r}")
    return out


@server_args(extra_conf="log_format = json\n")
def test_json_lines(srv):
    c = srv.connect()
    c.greeting()
    c.conv(r"""
    C: a1 LOGIN demo "wrong\"pass\\word"
    S: a1 NO [AUTHENTICATIONFAILED] Authentication failed.
    C: a2 LOGIN "ev\"il\\" x
    S: a2 NO [AUTHENTICATIONFAILED] Authentication failed.
    C: a3 LOGIN demo demo
    S~ a3 OK \[CAPABILITY .*\] Logged in\.
    C: a4 LOGOUT
    S~ \* BYE .*
    S: a4 OK Logout completed.
    """)
    deadline = time.time() + 5
    while True:
        lines = json_lines(srv)
        logins = [o for o in lines if o["message"].startswith("Login:")]
        if logins or time.time() > deadline:
            break
        time.sleep(0.1)
    expect(lines, "no log lines")
    for o in lines:
        for key in ("time", "process", "pid", "level", "message"):
            expect(key in o, f"{key} missing in {o}")
        expect(o["time"].endswith("Z") and "T" in o["time"], o["time"])
        expect(isinstance(o["pid"], int))
        expect(o["level"] in ("error", "warning", "info", "debug"))
    expect(len(logins) == 1, logins)
    login = logins[0]
    expect(login["session"].startswith("imap("), login)
    expect(login.get("method") == "LOGIN", login)
    failures = [o for o in lines if o["message"].startswith("Authentication failed")]
    expect(len(failures) == 2, failures)
    # a user name with a quote and a backslash stays one JSON string
    expect(any(o.get("user") == 'ev"il\\' for o in failures), failures)
    expect('wrong"pass' not in srv.log_text(), "password in log")


def test_bad_log_format_refused():
    d = tempfile.mkdtemp(prefix="roost-test-")
    conf = os.path.join(d, "roost.conf")
    with open(conf, "w") as f:
        f.write(f"data_dir = {d}\nlog_format = xml\n")
    p = subprocess.run([os.path.join(roosttest.BUILD, "roost"), "serve", "-c", conf],
                       capture_output=True, text=True, timeout=20)
    expect(p.returncode != 0)
    shutil.rmtree(d)
    expect("log_format must be text or json" in p.stderr, p.stderr)
