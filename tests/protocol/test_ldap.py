"""The LDAP user database (src/auth/userdb-ldap.c) against a real slapd
(tests/lib/slapd.py): IMAP login by bind and by the password attribute,
login by mail address into the canonical user's store, LMTP and `roost
deliver` to aliases, a passwd-file before LDAP in one chain, injection
attempts in user names, an outage and the recovery, StartTLS with a test
CA, and the cache's TTL.

Each test starts its own slapd and its own server (Server() directly,
since the configuration names the slapd's port)."""
import base64
import os
import re
import subprocess
import time

from roosttest import Server, expect, TestFailure, MSG
from slapd import Slapd

# no failure delays: the tests make many failed logins on purpose
COMMON = "auth_failure_delay_max = 0\nworkers = 1\n"


def server(ldap, userdb="ldap", lmtp=False, **keys):
    conf = COMMON + f"userdb = {userdb}\n" + ldap.roost_conf(**keys)
    return Server(extra_conf=conf, lmtp=lmtp, users={})


def quoted(s):
    """An IMAP quoted string (RFC 9051 quoted-specials escaped)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def login_answer(srv, user, password):
    """The tagged answer to LOGIN on a fresh connection."""
    c = srv.connect()
    c.greeting()
    _, tagged = c.cmd(f"LOGIN {quoted(user)} {quoted(password)}")
    c.close()
    return tagged


def expect_login(srv, user, password, want):
    tagged = login_answer(srv, user, password)
    pattern = {
        "ok": r"t\d+ OK .*",
        "fail": r"t\d+ NO \[AUTHENTICATIONFAILED\] .*",
        "unavailable": r"t\d+ NO \[UNAVAILABLE\] .*",
    }[want]
    expect(re.fullmatch(pattern, tagged), f"LOGIN {user!r}: {tagged!r}, want {want}")


def inbox_count(srv, user, password):
    c = srv.login(user, password)
    untagged, _ = c.cmd("SELECT INBOX", ok=True)
    c.close()
    for line in untagged:
        m = re.fullmatch(r"\* (\d+) EXISTS", line)
        if m:
            return int(m.group(1))
    raise TestFailure(f"no EXISTS in {untagged}")


def lmtp_transaction(srv):
    """An LMTP connection after LHLO and MAIL FROM."""
    c = srv.lmtp()
    expect(c.readline().startswith("220 "))
    c.line("LHLO client.example")
    while not c.readline().startswith("250 "):
        pass
    c.line("MAIL FROM:<s@example.org>")
    line = c.readline()
    expect(line.startswith("250"), line)
    return c


def with_servers(fn):
    """Runs fn(ldap, make_server) and cleans up whatever it started."""
    def run():
        ldap = Slapd(tls=getattr(fn, "tls", False))
        started = []

        def make(*args, **kw):
            s = server(ldap, *args, **kw)
            started.append(s)
            return s
        try:
            fn(ldap, make)
            for s in started:
                s.check_log()
                if s.stop() != 0:
                    raise TestFailure("roost serve did not exit cleanly")
                s.check_log()
        except Exception:
            for s in started:
                print("--- roost log (tail) ---\n" + s.log_text()[-3000:])
            print("--- slapd log (tail) ---\n" + ldap.log_text()[-1500:])
            raise
        finally:
            for s in started:
                s.cleanup()
            ldap.cleanup()
    run.__name__ = fn.__name__
    run.timeout = 180
    return run


def add_people(ldap, password_of=lambda uid, pw: pw):
    ldap.add_user("alice", password_of("alice", "alicepw"),
                  mail=["alice@example.test", "a.liddell@example.test"])
    ldap.add_user("bob", password_of("bob", "bobpw"), mail=["bob@example.test"])


@with_servers
def test_ldap_login_by_bind(ldap, make):
    add_people(ldap)
    srv = make(auth="bind")
    expect_login(srv, "alice", "alicepw", "ok")
    expect_login(srv, "ALICE", "alicepw", "ok")
    expect_login(srv, "alice", "wrong", "fail")
    expect_login(srv, "alice", "", "fail")   # never an unauthenticated bind
    expect_login(srv, "nobody", "alicepw", "fail")
    expect_login(srv, "bob", "alicepw", "fail")
    expect_login(srv, "bob", "bobpw", "ok")
    # AUTHENTICATE PLAIN reaches the same check (here over plaintext on
    # loopback, which plaintext_auth = local allows)
    for user, pw, want in [("a.liddell@example.test", "alicepw", " OK "),
                           ("alice", "bobpw", " NO [AUTHENTICATIONFAILED]")]:
        c = srv.connect()
        c.greeting()
        ir = base64.b64encode(f"\0{user}\0{pw}".encode()).decode()
        _, tagged = c.cmd(f"AUTHENTICATE PLAIN {ir}")
        expect(want in tagged, tagged)
        c.close()

    # a mail address (either of the entry's) opens the account's store
    c = srv.login("alice", "alicepw")
    c.append(msg=MSG)
    c.close()
    expect(inbox_count(srv, "alice@example.test", "alicepw") == 1)
    expect(inbox_count(srv, "a.liddell@example.test", "alicepw") == 1)
    expect(inbox_count(srv, "bob", "bobpw") == 0)
    users = os.listdir(os.path.join(srv.data_dir, "users", "_"))
    expect(sorted(users) == ["alice", "bob"], users)


@with_servers
def test_ldap_login_by_password_attribute(ldap, make):
    def stored(uid, pw):
        if uid == "alice":
            h = subprocess.run(["openssl", "passwd", "-6", pw], check=True,
                               capture_output=True, text=True).stdout.strip()
            return "{CRYPT}" + h
        return "{PLAIN}" + pw
    add_people(ldap, stored)
    ldap.add_user("carol", None, mail=["carol@example.test"])  # no password
    srv = make(auth="password")
    expect_login(srv, "alice", "alicepw", "ok")
    expect_login(srv, "a.liddell@example.test", "alicepw", "ok")
    expect_login(srv, "alice", "alicepw2", "fail")
    expect_login(srv, "bob", "bobpw", "ok")
    expect_login(srv, "carol", "", "fail")
    expect_login(srv, "carol", "x", "fail")
    # without the service account userPassword cannot be read (ACL):
    # nobody logs in, nothing crashes
    srv2 = make(auth="password", service=False, cache_ttl=0)
    expect_login(srv2, "alice", "alicepw", "fail")


@with_servers
def test_ldap_injection_in_user_names(ldap, make):
    add_people(ldap)
    srv = make(auth="bind", cache_ttl=0)
    for name in ["*", "a*", "*)(uid=*", ")(uid=*", "alice)(uid=*",
                 "*)(|(uid=*", "alice)(|(objectClass=*", "\\2a", "alice\\29",
                 "al(ice", "alice*", "(uid=alice)", "%u", "alice\t",
                 "alice@example.test)(mail=*"]:
        expect_login(srv, name, "alicepw", "fail")
    # the same names as LMTP recipients: none resolves to a user
    srv_l = make(auth="bind", cache_ttl=0, lmtp=True)
    c = lmtp_transaction(srv_l)
    # "*" is atext (RFC 5321): these reach the directory; the others
    # are refused by the address syntax or reach it as quoted strings
    for name in ["*", "a*", "alice*", "*)(uid=*", "alice)(uid=*",
                 '"*)(uid=*"', '"alice)(|(uid=*"']:
        c.line(f"RCPT TO:<{name}@example.test>")
        line = c.readline()
        expect(line.startswith("550 5.1.1") or line.startswith("501 5.1.3"),
               f"{name}: {line}")
    c.close()
    expect("several entries match" not in srv.log_text())


@with_servers
def test_ldap_lmtp_and_deliver_to_aliases(ldap, make):
    add_people(ldap)
    srv = make(auth="bind", lmtp=True)
    c = lmtp_transaction(srv)
    # pipelined: the replies keep their order while LDAP answers
    c.send(b"RCPT TO:<a.liddell@example.test>\r\nRCPT TO:<nobody@example.test>\r\n"
           b"RCPT TO:<BOB@example.test>\r\nRCPT TO:<alice+box@example.test>\r\n")
    expect(c.readline() == "250 2.1.5 <a.liddell@example.test> OK")
    expect(c.readline().startswith("550 5.1.1 <nobody@example.test>"))
    expect(c.readline() == "250 2.1.5 <BOB@example.test> OK")
    expect(c.readline() == "250 2.1.5 <alice+box@example.test> OK")
    c.line("DATA")
    expect(c.readline().startswith("354"))
    c.send(MSG.encode() + b".\r\n")
    for _ in range(3):
        expect(c.readline().startswith("250 2."))
    c.close()
    expect(inbox_count(srv, "alice", "alicepw") == 2)
    expect(inbox_count(srv, "bob", "bobpw") == 1)

    # roost deliver resolves the same way (inline, without a loop)
    p = srv.roost("deliver", "-c", srv.conf, "-u", "a.liddell@example.test",
                  input="Subject: d\n\nx\n")
    expect(p.returncode == 0, p.stderr)
    expect(inbox_count(srv, "alice", "alicepw") == 3)
    p = srv.roost("deliver", "-c", srv.conf, "-u", "nobody@example.test",
                  input="Subject: d\n\nx\n", check=False)
    expect(p.returncode == 67, (p.returncode, p.stderr))   # EX_NOUSER

    # other commands that name a user resolve it the same way
    p = srv.roost("check", "-c", srv.conf, "A.Liddell@example.test")
    expect(re.search(r"^alice\tINBOX\tmessages=3 ", p.stdout, re.M), p.stdout)
    p = srv.roost("check", "-c", srv.conf, "nobody@example.test", check=False)
    expect(p.returncode == 67 and "no such user" in p.stderr, p.stderr)
    expect(sorted(os.listdir(os.path.join(srv.data_dir, "users", "_"))) ==
           ["alice", "bob"])

    # the directory down: 451 over LMTP, EX_TEMPFAIL from roost deliver
    ldap.stop()
    srv2 = make(auth="bind", lmtp=True, cache_ttl=0)
    c = lmtp_transaction(srv2)
    c.line("RCPT TO:<bob@example.test>")
    line = c.readline()
    expect(line.startswith("451 4.3.0"), line)
    c.close()
    p = srv2.roost("deliver", "-c", srv2.conf, "-u", "bob@example.test",
                   input="Subject: d\n\nx\n", check=False)
    expect(p.returncode == 75, (p.returncode, p.stderr))   # EX_TEMPFAIL
    ldap.start()


@with_servers
def test_ldap_chain_passwd_file_then_ldap(ldap, make):
    add_people(ldap)
    pwfile = os.path.join(ldap.dir, "passwd")
    with open(pwfile, "w") as f:
        f.write("admin:{PLAIN}adminpw\nbob:{PLAIN}filepw\n")
    srv = make(userdb=f"passwd-file:{pwfile} ldap", auth="bind")
    expect_login(srv, "admin", "adminpw", "ok")     # from the file
    expect_login(srv, "alice", "alicepw", "ok")     # from LDAP
    # the first source that knows the user decides
    expect_login(srv, "bob", "filepw", "ok")
    expect_login(srv, "bob", "bobpw", "fail")
    expect_login(srv, "nobody", "x", "fail")


@with_servers
def test_ldap_outage_and_recovery(ldap, make):
    add_people(ldap)
    srv = make(auth="bind", cache_ttl=0)
    expect_login(srv, "alice", "alicepw", "ok")
    ldap.stop()
    for _ in range(5):
        expect_login(srv, "alice", "alicepw", "unavailable")
        expect_login(srv, "nobody", "x", "unavailable")
    log = srv.log_text()
    expect(log.count("directory unavailable") == 1,
           "an outage is logged once: " + log[-2000:])
    ldap.start()
    deadline = time.time() + 20
    while True:
        tagged = login_answer(srv, "alice", "alicepw")
        if re.fullmatch(r"t\d+ OK .*", tagged):
            break
        expect("UNAVAILABLE" in tagged, tagged)
        if time.time() > deadline:
            raise TestFailure("no recovery after slapd came back")
        time.sleep(0.5)
    expect("directory answers again" in srv.log_text())
    expect_login(srv, "alice", "wrong", "fail")


def test_ldap_starttls_with_test_ca():
    run = with_servers(_starttls)
    run()


def _starttls(ldap, make):
    add_people(ldap)
    srv = make(auth="bind")
    expect_login(srv, "alice", "alicepw", "ok")
    expect_login(srv, "alice", "wrong", "fail")
    # the server refuses everything without TLS: no StartTLS, no login
    srv2 = make(auth="bind", starttls="no", tls_ca="")
    expect_login(srv2, "alice", "alicepw", "unavailable")
    # a CA that did not sign the server's certificate: no login either
    other = os.path.join(ldap.dir, "other-ca.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-days", "1", "-subj", "/CN=other", "-keyout",
                    os.path.join(ldap.dir, "other.key"), "-out", other],
                   check=True, capture_output=True)
    srv3 = make(auth="bind", tls_ca=other)
    expect_login(srv3, "alice", "alicepw", "unavailable")


_starttls.tls = True


@with_servers
def test_ldap_cache_ttl(ldap, make):
    add_people(ldap)
    srv = make(auth="bind", cache_ttl=3)
    expect_login(srv, "alice", "alicepw", "ok")
    expect_login(srv, "bob", "bobpw", "ok")
    ldap.delete(ldap.user_dn("alice"))
    ldap.delete(ldap.user_dn("bob"))
    # within the TTL: the accepted password is remembered...
    expect_login(srv, "alice", "alicepw", "ok")
    # ...but a wrong one is asked of the directory (and fails)
    expect_login(srv, "bob", "wrong", "fail")
    time.sleep(3.5)
    expect_login(srv, "alice", "alicepw", "fail")
    # a negative answer is cached too: a new user shows up after the TTL
    expect_login(srv, "dave", "davepw", "fail")
    ldap.add_user("dave", "davepw")
    expect_login(srv, "dave", "davepw", "fail")
    time.sleep(3.5)
    expect_login(srv, "dave", "davepw", "ok")
