"""The admin side of a running server: `roost check --rebuild` keeps UIDs,
flags and keywords; SIGHUP reloads the certificate for new connections
without dropping open ones; the log has one line per login and logout."""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
from roosttest import expect, client_tls_context, server_args


def test_check_rebuild_keeps_uids_flags_keywords(srv):
    c = srv.login()
    c.cmd("CREATE Work/2026", ok=True)
    c.append(flags="(\\Seen $Important)")
    c.append(flags="(\\Flagged)")
    c.append(box="Work/2026", flags="(\\Answered Later)")
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("STORE 1 +FLAGS (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    c.append(flags="(Todo)")
    before_inbox, _ = c.cmd("UID FETCH 1:* (UID FLAGS)", ok=True)
    before_status, _ = c.cmd("STATUS INBOX (UIDVALIDITY UIDNEXT MESSAGES)", ok=True)
    c.cmd("LOGOUT")
    srv.stop()
    userdir = os.path.join(srv.data_dir, "users", "_", "demo")
    for suffix in ("", "-wal", "-shm"):
        p = os.path.join(userdir, "index.sqlite" + suffix)
        if os.path.exists(p):
            os.unlink(p)
    p = srv.roost("check", "-c", srv.conf, "--rebuild", "demo")
    expect("INBOX" in p.stdout and "Work/2026" in p.stdout, p.stdout)
    srv.start()
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    after_inbox, _ = c.cmd("UID FETCH 1:* (UID FLAGS)", ok=True)
    after_status, _ = c.cmd("STATUS INBOX (UIDVALIDITY UIDNEXT MESSAGES)", ok=True)
    # \Recent is session state, not kept by a rebuild
    norm = lambda lines: sorted(re.sub(r" ?\\Recent ?", " ", l).replace("( ", "(")
                                .replace(" )", ")") for l in lines)
    expect(norm(before_inbox) == norm(after_inbox), f"{before_inbox} != {after_inbox}")
    expect(before_status == after_status, f"{before_status} != {after_status}")
    u, _ = c.cmd("STATUS Work/2026 (MESSAGES)", ok=True)
    expect(u == ["* STATUS Work/2026 (MESSAGES 1)"], u)
    c.cmd("SELECT Work/2026", ok=True)
    u, _ = c.cmd("FETCH 1 FLAGS", ok=True)
    expect("Later" in u[0] and "\\Answered" in u[0], u)


def test_check_without_rebuild_and_errors(srv):
    c = srv.login()
    c.append()
    p = srv.roost("check", "-c", srv.conf, "demo")
    expect("INBOX\tmessages=1" in p.stdout, p.stdout)
    p = srv.roost("check", "-c", srv.conf, check=False)
    expect(p.returncode == 64, p.returncode)
    p = srv.roost("check", "--help")
    expect("--rebuild" in p.stdout)


def _peer_cert(port):
    ctx = client_tls_context()
    with socket.create_connection(("127.0.0.1", port), 5) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            return t.getpeercert(binary_form=True)


def test_sighup_reloads_certificate_without_dropping(srv):
    # give the server its own copy of the certificate so we can replace it
    certdir = os.path.join(srv.dir, "tls")
    os.makedirs(certdir)
    cert, key = os.path.join(certdir, "cert.pem"), os.path.join(certdir, "key.pem")
    conf = open(srv.conf).read()
    conf = re.sub(r"(?m)^tls_cert = .*$", f"tls_cert = {cert}", conf)
    conf = re.sub(r"(?m)^tls_key = .*$", f"tls_key = {key}", conf)
    def newcert():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-days", "2", "-subj", "/CN=localhost", "-keyout", key,
                        "-out", cert], check=True, capture_output=True)
    newcert()
    open(srv.conf, "w").write(conf)
    srv.stop()
    srv.start()
    first = _peer_cert(srv.tls_port)
    c = srv.login(tls=True)
    c.cmd("SELECT INBOX", ok=True)
    newcert()
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while _peer_cert(srv.tls_port) == first and time.time() < deadline:
        time.sleep(0.1)
    expect(_peer_cert(srv.tls_port) != first, "certificate not reloaded")
    c.cmd("NOOP", ok=True)   # the old connection survived


def test_log_lines(srv):
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("LOGOUT")
    time.sleep(0.3)
    log = srv.log_text()
    expect("imap(demo,127.0.0.1," in log, log[-2000:])
    expect("Login: method=LOGIN" in log)
    expect("Disconnected (closed by server): commands=" in log or
           "Disconnected (" in log, log[-2000:])


def test_config_names_the_store_backends():
    """`store` chooses the backend; an unknown one stops the server at
    startup with a message that names the known ones."""
    import tempfile
    import roosttest
    with tempfile.TemporaryDirectory() as d:
        conf = os.path.join(d, "roost.conf")
        with open(conf, "w") as f:
            f.write(f"data_dir = {d}\nstore = postgresql\n")
        p = subprocess.run([os.path.join(roosttest.BUILD, "roost"), "serve", "-c", conf],
                           capture_output=True, text=True, timeout=20)
        expect(p.returncode == 78, (p.returncode, p.stderr))
        expect('unknown store backend "postgresql" (known: maildir)' in p.stderr, p.stderr)


@server_args(extra_conf="store = maildir\nmaildir_root = mail\n", lmtp=True)
def test_maildir_root_holds_the_stores(srv):
    """maildir_root (relative to the config file) is where every user's
    store goes, for IMAP and LMTP alike."""
    c = srv.login()
    c.append()
    c.cmd("LOGOUT")
    p = srv.roost("deliver", "-c", srv.conf, "-u", "demo", input="Subject: d\n\nx\n")
    expect(p.returncode == 0, p.stderr)
    cur = os.path.join(srv.dir, "mail", "_", "demo", "Maildir", "cur")
    expect(len(os.listdir(cur)) == 2, os.listdir(cur))
    expect(not os.path.exists(os.path.join(srv.data_dir, "users")))
