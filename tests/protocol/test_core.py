"""Greeting, CAPABILITY, NOOP, LOGOUT, ID, ENABLE, NAMESPACE, command
dispatch and error handling (RFC 9051 sections 6.1, 6.3.1, 6.3.10,
RFC 2971, RFC 5161)."""
import re
from roosttest import expect, server_args

def test_greeting_has_capabilities(srv):
    c = srv.connect()
    c.conv(r"""
    S~ \* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1 AUTH=CRAM-MD5 AUTH=PLAIN AUTH=LOGIN SASL-IR .* STARTTLS .*\] Roost ready\.
    """)


def test_capability_before_and_after_login(srv):
    c = srv.connect()
    c.greeting()
    c.conv(r"""
    C: a1 CAPABILITY
    S~ \* CAPABILITY IMAP4rev1 IMAP4rev2 AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1 AUTH=CRAM-MD5 AUTH=PLAIN AUTH=LOGIN SASL-IR LITERAL\+ .* ENABLE ID IDLE .* STARTTLS .*
    S: a1 OK Capability completed.
    C: a2 LOGIN demo demo
    S~ a2 OK \[CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL\+ .* APPENDLIMIT=\d+ .*\] Logged in\.
    C: a3 CAPABILITY
    S~ \* CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL\+ UIDPLUS .* ENABLE ID IDLE MOVE NAMESPACE .* UNSELECT
    S: a3 OK Capability completed.
    """)
    _, tagged = c.cmd("CAPABILITY")
    expect("AUTH=PLAIN" not in tagged)


def test_noop_and_logout(srv):
    c = srv.connect()
    c.greeting()
    c.conv("""
    C: a1 NOOP
    S: a1 OK NOOP completed.
    C: a2 NOOP extra
    S: a2 BAD NOOP takes no arguments.
    C: a3 LOGOUT
    S: * BYE Logging out
    S: a3 OK Logout completed.
    """)
    expect(c.is_closed(), "connection not closed after LOGOUT")


def test_unknown_and_wrong_state(srv):
    c = srv.connect()
    c.greeting()
    c.conv("""
    C: a1 FOOBAR
    S: a1 BAD Unknown command FOOBAR.
    C: a2 SELECT INBOX
    S: a2 BAD Command not valid before authentication.
    C: a3 UID FETCH 1 FLAGS
    S: a3 BAD Command not valid before authentication.
    C: a4 LOGIN demo demo
    S~ a4 OK .*
    C: a5 FETCH 1 FLAGS
    S: a5 BAD No mailbox selected.
    C: a6 UID NOOP
    S: a6 BAD Unknown command UID NOOP.
    C: a7 LOGIN demo demo
    S: a7 BAD Command not valid in this state.
    """)


def test_case_insensitive_commands(srv):
    c = srv.connect()
    c.greeting()
    c.conv(r"""
    C: a1 noop
    S: a1 OK NOOP completed.
    C: a2 CaPaBiLiTy
    S~ \* CAPABILITY .*
    S: a2 OK Capability completed.
    """)


def test_syntax_errors_then_continue(srv):
    c = srv.connect()
    c.greeting()
    c.conv(r"""
    C: a1 NOOP "unterminated
    S~ a1 BAD .*
    C: a2 NOOP
    S: a2 OK NOOP completed.
    C: (bad tag
    S~ \* BAD .*
    C: a3 NOOP
    S: a3 OK NOOP completed.
    """)


def test_too_many_bad_commands_bye(srv):
    c = srv.connect()
    c.greeting()
    for i in range(9):
        c.line(f"b{i} FOOBAR")
        expect(c.readline().startswith(f"b{i} BAD"))
    c.line("b9 FOOBAR")
    expect(c.readline().startswith("b9 BAD"))
    expect(c.readline().startswith("* BYE"))
    expect(c.is_closed())


def test_bad_count_resets_on_good_command(srv):
    c = srv.connect()
    c.greeting()
    for round_ in range(3):
        for i in range(8):
            c.line(f"b{i} FOOBAR")
            expect(c.readline().startswith(f"b{i} BAD"))
        c.cmd("NOOP", ok=True)
    c.cmd("NOOP", ok=True)


def test_id(srv):
    c = srv.connect()
    c.greeting()
    c.conv(r"""
    C: a1 ID ("name" "test" "version" "1.0")
    S~ \* ID \("name" "Roost" .*\)
    S: a1 OK ID completed.
    C: a2 ID NIL
    S~ \* ID \(.*\)
    S: a2 OK ID completed.
    C: a3 ID ("name")
    S: a3 BAD Invalid ID parameters.
    C: a4 ID
    S: a4 BAD ID expects a parameter list or NIL.
    """)


def test_enable_and_namespace(srv):
    c = srv.login()
    c.conv(r"""
    C: a1 ENABLE IMAP4rev2
    S: * ENABLED IMAP4rev2
    S: a1 OK Enabled.
    C: a2 ENABLE IMAP4rev2 FOO
    S: * ENABLED
    S: a2 OK Enabled.
    C: a3 NAMESPACE
    S: * NAMESPACE (("" "/")) NIL NIL
    S: a3 OK Namespace completed.
    """)


def test_enable_not_before_login(srv):
    c = srv.connect()
    c.greeting()
    c.conv("""
    C: a1 ENABLE IMAP4rev2
    S: a1 BAD Command not valid before authentication.
    """)


def test_pipelined_commands_in_one_packet(srv):
    c = srv.connect()
    c.greeting()
    c.send(b"a1 NOOP\r\na2 LOGIN demo demo\r\na3 NOOP\r\na4 LOGOUT\r\n")
    c.conv(r"""
    S: a1 OK NOOP completed.
    S~ a2 OK .*
    S: a3 OK NOOP completed.
    S: * BYE Logging out
    S: a4 OK Logout completed.
    """)


def test_command_split_in_single_bytes(srv):
    c = srv.connect()
    c.greeting()
    for b in b"a1 LOGIN {4}\r\n":
        c.send(bytes([b]))
    expect(c.readline().startswith("+ "))
    for b in b"demo \"demo\"\r\n":
        c.send(bytes([b]))
    expect(c.readline().startswith("a1 OK"))


def test_disconnect_mid_command_keeps_server(srv):
    c = srv.connect()
    c.greeting()
    c.send(b"a1 LOGIN {10}\r\n")
    c.readline()
    c.send(b"dem")
    c.close()
    c2 = srv.login()
    c2.cmd("NOOP", ok=True)


def test_sigterm_says_bye(srv):
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    import signal
    srv.proc.send_signal(signal.SIGTERM)
    line = c.readline()
    expect(line.startswith("* BYE"), line)
    expect(c.is_closed())
    expect(srv.proc.wait(20) == 0)
