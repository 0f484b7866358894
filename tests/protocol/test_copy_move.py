"""COPY and MOVE with their UID forms (RFC 9051 6.4.7, 6.4.8), COPYUID
(UIDPLUS, RFC 4315) and the MOVE response order (RFC 6851 3.3)."""
import re
from roosttest import expect, MSG


def uidvalidity(c, box):
    u, _ = c.cmd(f"STATUS {box} (UIDVALIDITY)", ok=True)
    return re.search(r"UIDVALIDITY (\d+)", u[0]).group(1)


def setup(c, n=3, box="INBOX"):
    for i in range(n):
        c.append(box, "(\\Seen)" if i == 0 else "")
    c.cmd(f"SELECT {box}", ok=True)


def test_copy_copyuid(srv):
    c = srv.login()
    setup(c)
    v = uidvalidity(c, "Trash")
    c.conv(rf"""
    C: a1 COPY 1:3 Trash
    S: a1 OK [COPYUID {v} 1:3 1:3] Copy completed.
    C: a2 COPY 2 Trash
    S: a2 OK [COPYUID {v} 2 4] Copy completed.
    C: a3 UID COPY 3,1 Trash
    S: a3 OK [COPYUID {v} 1,3 5:6] Copy completed.
    C: a4 COPY 3,1:2 Trash
    S: a4 OK [COPYUID {v} 1:3 7:9] Copy completed.
    C: a5 UID COPY 10:* Trash
    S: a5 OK [COPYUID {v} 3 10] Copy completed.
    C: a6 UID COPY 100:200 Trash
    S: a6 OK No messages copied.
    C: a7 COPY * Trash
    S: a7 OK [COPYUID {v} 3 11] Copy completed.
    C: a8 STATUS Trash (MESSAGES UNSEEN)
    S: * STATUS Trash (MESSAGES 11 UNSEEN 8)
    S: a8 OK Status completed.
    """)


def test_copy_errors(srv):
    c = srv.login()
    c.cmd("COPY 1 Trash", ok=False)
    setup(c)
    c.conv(r"""
    C: a1 COPY 1 nosuch
    S~ a1 NO \[TRYCREATE\] .*
    C: a2 COPY 4 Trash
    S~ a2 BAD .*
    C: a3 COPY 0 Trash
    S~ a3 BAD .*
    C: a4 COPY x Trash
    S~ a4 BAD .*
    C: a5 COPY 1
    S~ a5 BAD .*
    C: a6 NOOP
    S~ a6 OK .*
    C: a7 COPY 1 "a//b"
    S~ a7 NO \[CANNOT\] .*
    C: a8 UID COPY 1 nosuch
    S~ a8 NO \[TRYCREATE\] .*
    C: a9 COPY 1 Trash extra
    S~ a9 BAD .*
    C: a10 COPY 1,$ Trash
    S~ a10 BAD .*
    """)


def test_copy_to_selected_mailbox(srv):
    c = srv.login()
    setup(c, 1)
    c.conv(r"""
    C: a1 COPY 1 INBOX
    S: * 2 EXISTS
    S: * 2 RECENT
    S~ a1 OK \[COPYUID \d+ 1 2\] Copy completed\.
    """)


def test_copy_keeps_flags_and_date(srv):
    c = srv.login()
    data = MSG.encode()
    c.line(f'x1 APPEND INBOX (\\Flagged $Work) "01-Feb-2021 10:00:00 +0100" {{{len(data)}+}}')
    c.send(data + b"\r\n")
    expect(c.readline().startswith("x1 OK"))
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("COPY 1 Archive", ok=True)
    c.cmd("EXAMINE Archive", ok=True)
    u, _ = c.cmd("FETCH 1 (FLAGS INTERNALDATE)", ok=True)
    expect(len(u) == 1 and "\\Flagged" in u[0] and "$Work" in u[0] and
           '" 1-Feb-2021 10:00:00 +0100"' in u[0], u)


def test_move(srv):
    c = srv.login()
    setup(c, 4)
    v = uidvalidity(c, "Junk")
    c.conv(rf"""
    C: a1 MOVE 2:3 Junk
    S: * OK [COPYUID {v} 2:3 1:2] Moved UIDs.
    S: * 3 EXPUNGE
    S: * 2 EXPUNGE
    S: a1 OK Move completed.
    C: a2 UID MOVE 4 Junk
    S: * OK [COPYUID {v} 4 3] Moved UIDs.
    S: * 2 EXPUNGE
    S: a2 OK Move completed.
    C: a3 UID MOVE 2:3 Junk
    S: a3 OK No messages moved.
    C: a4 MOVE 1 nosuch
    S~ a4 NO \[TRYCREATE\] .*
    C: a5 MOVE 2 Junk
    S~ a5 BAD .*
    C: a6 STATUS Junk (MESSAGES)
    S: * STATUS Junk (MESSAGES 3)
    S: a6 OK Status completed.
    C: a7 FETCH 1 UID
    S: * 1 FETCH (UID 1)
    S~ a7 OK .*
    """)


def test_move_readonly_and_state(srv):
    c = srv.login()
    c.cmd("MOVE 1 Trash", ok=False)
    setup(c, 1)
    c.cmd("EXAMINE INBOX", ok=True)
    c.conv(r"""
    C: a1 MOVE 1 Trash
    S~ a1 NO \[CANNOT\] .*
    C: a2 COPY 1 Trash
    S~ a2 OK \[COPYUID \d+ 1 1\] Copy completed\.
    """)


def test_move_seen_by_other_session(srv):
    a = srv.login()
    setup(a, 3)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    a.cmd("MOVE 1 Trash", ok=True)
    # not during a FETCH (RFC 9051 7.5.1), then at the NOOP
    u, _ = b.cmd("FETCH 1:* UID", ok=True)
    expect(not any("EXPUNGE" in x for x in u), u)
    u, _ = b.cmd("NOOP", ok=True)
    expect(u == ["* 1 EXPUNGE"], u)


def test_move_rev2(srv):
    c = srv.login()
    c.cmd("ENABLE IMAP4rev2", ok=True)
    setup(c, 2)
    v = uidvalidity(c, "Archive")
    c.conv(rf"""
    C: a1 UID MOVE 1:* Archive
    S: * OK [COPYUID {v} 1:2 1:2] Moved UIDs.
    S: * 2 EXPUNGE
    S: * 1 EXPUNGE
    S: a1 OK Move completed.
    """)


def test_move_to_same_mailbox(srv):
    c = srv.login()
    c.cmd("ENABLE IMAP4rev2", ok=True)
    setup(c, 2)
    v = uidvalidity(c, "INBOX")
    c.conv(rf"""
    C: a1 MOVE 1 INBOX
    S: * OK [COPYUID {v} 1 3] Moved UIDs.
    S: * 1 EXPUNGE
    S: * 2 EXISTS
    S: a1 OK Move completed.
    C: a2 UID FETCH 1:* UID
    S: * 1 FETCH (UID 2)
    S: * 2 FETCH (UID 3)
    S~ a2 OK .*
    """)
