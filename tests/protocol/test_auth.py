"""LOGIN, AUTHENTICATE PLAIN (with and without SASL-IR), STARTTLS, implicit
TLS, LOGINDISABLED and failure limits (RFC 9051 6.2, RFC 4616, RFC 4959)."""
import base64
import time
from roosttest import expect, server_args


def b64(s):
    return base64.b64encode(s.encode()).decode()


def test_login_ok_and_wrong_password(srv):
    c = srv.connect()
    c.greeting()
    c.conv(r"""
    C: a1 LOGIN demo Zq9sEcr3t
    S: a1 NO [AUTHENTICATIONFAILED] Authentication failed.
    C: a2 LOGIN nosuchuser demo
    S: a2 NO [AUTHENTICATIONFAILED] Authentication failed.
    C: a3 LOGIN "demo" {4+}
    C: demo
    S~ a3 OK \[CAPABILITY .*\] Logged in\.
    """)
    log = srv.log_text()
    expect("Login: method=LOGIN" in log)
    expect("Zq9sEcr3t" not in log, "password in log")


def test_login_argument_errors(srv):
    c = srv.connect()
    c.greeting()
    c.conv("""
    C: a1 LOGIN demo
    S: a1 BAD LOGIN expects user name and password.
    C: a2 LOGIN demo demo extra
    S: a2 BAD LOGIN expects user name and password.
    C: a3 LOGIN (demo) demo
    S: a3 BAD LOGIN expects user name and password.
    """)


def test_three_failures_bye(srv):
    c = srv.connect()
    c.greeting()
    for i in range(2):
        _, t = c.cmd("LOGIN demo bad", ok=False)
        expect("AUTHENTICATIONFAILED" in t)
    c.line("x LOGIN demo bad")
    expect(c.readline().startswith("x NO [AUTHENTICATIONFAILED]"))
    expect(c.readline().startswith("* BYE"))
    expect(c.is_closed())


def test_failure_delay_grows(srv):
    # After several failures from one address the answer is delayed.
    times = []
    for i in range(3):
        c = srv.connect()
        c.greeting()
        t0 = time.time()
        c.cmd("LOGIN demo bad", ok=False)
        times.append(time.time() - t0)
        c.close()
    expect(times[2] >= 0.2, f"no growing delay: {times}")
    # a good login still works (and resets)
    c = srv.login()
    c.cmd("NOOP", ok=True)


def test_authenticate_plain_sasl_ir(srv):
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64(chr(0) + "demo" + chr(0) + "demo")}
    S~ a1 OK \[CAPABILITY .*\] Logged in\.
    """)


def test_authenticate_plain_continuation(srv):
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE plain
    S: + 
    C: {b64("demo" + chr(0) + "demo" + chr(0) + "demo")}
    S~ a1 OK \[CAPABILITY .*\] Logged in\.
    """)


def test_authenticate_plain_authzid_in_other_case(srv):
    """User names are lowercased (one account per store), so an authzid
    that differs from the authcid only in case names the same account
    (RFC 4616 section 2: the server checks that the authcid may act as
    the authzid); another name is still refused."""
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64("Demo" + chr(0) + "demo" + chr(0) + "demo")}
    S~ a1 OK \[CAPABILITY .*\] Logged in\.
    """)
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64("demo" + chr(0) + "DEMO" + chr(0) + "demo")}
    S~ a1 OK \[CAPABILITY .*\] Logged in\.
    """)
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN {b64("demo2" + chr(0) + "Demo" + chr(0) + "demo")}
    S~ a1 NO \[AUTHENTICATIONFAILED\] .*
    """)


def test_authenticate_cancel_and_errors(srv):
    c = srv.connect()
    c.greeting()
    c.conv(rf"""
    C: a1 AUTHENTICATE PLAIN
    S: + 
    C: *
    S: a1 BAD Authentication aborted by client.
    C: a2 AUTHENTICATE PLAIN
    S: + 
    C: !!!notbase64
    S: a2 BAD Invalid base64 data in response.
    C: a3 AUTHENTICATE X-NOSUCH-MECH
    S: a3 NO Unsupported authentication mechanism.
    C: a4 AUTHENTICATE PLAIN {b64("other" + chr(0) + "demo" + chr(0) + "demo")}
    S~ a4 NO \[AUTHENTICATIONFAILED\] .*
    C: a5 AUTHENTICATE PLAIN {b64(chr(0) + "demo" + chr(0) + "bad")}
    S~ a5 NO \[AUTHENTICATIONFAILED\] .*
    C: a6 AUTHENTICATE PLAIN =
    S~ a6 NO \[AUTHENTICATIONFAILED\] .*
    S~ \* BYE .*
    """)


@server_args(extra_conf="plaintext_auth = never")
def test_logindisabled_without_tls(srv):
    c = srv.connect()
    line = c.greeting()
    expect("LOGINDISABLED" in line and "AUTH=PLAIN" not in line, line)
    c.conv(r"""
    C: a1 LOGIN demo demo
    S~ a1 NO \[PRIVACYREQUIRED\] .*
    C: a2 AUTHENTICATE PLAIN AGRlbW8AZGVtbw==
    S~ a2 NO \[PRIVACYREQUIRED\] .*
    C: a3 STARTTLS
    S: a3 OK Begin TLS negotiation now.
    """)
    c.starttls()
    c.conv(r"""
    C: b1 CAPABILITY
    S~ \* CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1-PLUS AUTH=SCRAM-SHA-1 AUTH=CRAM-MD5 AUTH=PLAIN AUTH=LOGIN SASL-IR .*
    S: b1 OK Capability completed.
    C: b2 LOGIN demo demo
    S~ b2 OK .*
    """)


def test_starttls_discards_pipelined_plaintext(srv):
    c = srv.connect()
    c.greeting()
    c.send(b"a1 STARTTLS\r\na2 LOGIN demo demo\r\n")
    expect(c.readline() == "a1 OK Begin TLS negotiation now.")
    c.starttls()
    c.line("b1 NOOP")
    expect(c.readline() == "b1 OK NOOP completed.", "plaintext after STARTTLS was run")
    _, t = c.cmd("CAPABILITY")
    c.conv("""
    C: b2 STARTTLS
    S: b2 BAD TLS is already active.
    """)


def test_implicit_tls(srv):
    c = srv.connect(tls=True)
    line = c.greeting()
    expect("STARTTLS" not in line and "AUTH=PLAIN" in line, line)
    c.cmd("LOGIN demo demo", ok=True)
    c.cmd("SELECT INBOX", ok=True)


def test_user_added_while_running(srv):
    srv.roost("user", "add", "-c", srv.conf, "--scheme", "SHA512-CRYPT",
              "carol", input="carolpw\n")
    c = srv.connect()
    c.greeting()
    c.cmd("LOGIN carol carolpw", ok=True)
