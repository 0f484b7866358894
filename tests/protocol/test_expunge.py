"""EXPUNGE (RFC 9051 6.4.3) and UID EXPUNGE (RFC 9051 6.4.9, RFC 4315
2.1), read-only mailboxes, and when other sessions learn of expunges
(RFC 9051 7.5.1)."""
from roosttest import expect


def setup(c, deleted):
    """Messages 1..len(deleted), with \\Deleted where deleted[i] is true."""
    for d in deleted:
        c.append("INBOX", "(\\Deleted)" if d else "")


def test_expunge(srv):
    c = srv.login()
    setup(c, [True, False, True, False])
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
    C: a1 EXPUNGE
    S: * 3 EXPUNGE
    S: * 1 EXPUNGE
    S: a1 OK Expunge completed.
    C: a2 EXPUNGE
    S: a2 OK Expunge completed.
    C: a3 FETCH 1:* UID
    S: * 1 FETCH (UID 2)
    S: * 2 FETCH (UID 4)
    S~ a3 OK .*
    C: a4 STATUS INBOX (MESSAGES DELETED)
    S: * STATUS INBOX (MESSAGES 2 DELETED 0)
    S: a4 OK Status completed.
    """)


def test_expunge_after_store(srv):
    c = srv.login()
    setup(c, [False, False, False])
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)", ok=True)
    c.conv(r"""
    C: a1 EXPUNGE
    S: * 2 EXPUNGE
    S: a1 OK Expunge completed.
    """)


def test_uid_expunge(srv):
    c = srv.login()
    setup(c, [True, True, False, True, True])
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
    C: a1 UID EXPUNGE 2:3
    S: * 2 EXPUNGE
    S: a1 OK Expunge completed.
    C: a2 UID EXPUNGE 2:3
    S: a2 OK Expunge completed.
    C: a3 UID EXPUNGE 5,1
    S: * 4 EXPUNGE
    S: * 1 EXPUNGE
    S: a3 OK Expunge completed.
    C: a4 UID EXPUNGE 100:*
    S: * 2 EXPUNGE
    S: a4 OK Expunge completed.
    C: a5 UID FETCH 1:* UID
    S: * 1 FETCH (UID 3)
    S~ a5 OK .*
    """)


def test_expunge_errors(srv):
    c = srv.login()
    c.conv(r"""
    C: a1 EXPUNGE
    S: a1 BAD No mailbox selected.
    C: a2 UID EXPUNGE 1
    S: a2 BAD No mailbox selected.
    """)
    setup(c, [True])
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
    C: a3 EXPUNGE 1
    S~ a3 BAD .*
    C: a4 UID EXPUNGE
    S~ a4 BAD .*
    C: a5 UID EXPUNGE x
    S~ a5 BAD .*
    C: a6 UID EXPUNGE 1 2
    S~ a6 BAD .*
    C: a7 UID EXPUNGE 0
    S~ a7 BAD .*
    """)


def test_readonly(srv):
    c = srv.login()
    setup(c, [True, True])
    c.cmd("EXAMINE INBOX", ok=True)
    c.conv(r"""
    C: a1 EXPUNGE
    S~ a1 NO .*
    C: a2 UID EXPUNGE 1:*
    S~ a2 NO .*
    C: a3 STATUS INBOX (MESSAGES)
    S: * STATUS INBOX (MESSAGES 2)
    S: a3 OK Status completed.
    """)


def test_other_session_sees_expunge_at_noop_not_fetch(srv):
    a = srv.login()
    setup(a, [False, True, False])
    a.cmd("SELECT INBOX", ok=True)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    u, _ = a.cmd("EXPUNGE", ok=True)
    expect(u == ["* 2 EXPUNGE"], u)
    # RFC 9051 7.5.1: no EXPUNGE during FETCH, STORE or SEARCH; the view
    # keeps msn 3 valid
    u, _ = b.cmd("FETCH 1:3 UID", ok=True)
    expect(u == ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 2)", "* 3 FETCH (UID 3)"], u)
    u, _ = b.cmd("NOOP", ok=True)
    expect(u == ["* 2 EXPUNGE"], u)
    u, _ = b.cmd("FETCH 1:* UID", ok=True)
    expect(u == ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)"], u)


def test_uid_fetch_may_see_expunge(srv):
    a = srv.login()
    setup(a, [True, False])
    a.cmd("SELECT INBOX", ok=True)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    a.cmd("EXPUNGE", ok=True)
    # UID commands may carry EXPUNGE responses (RFC 9051 7.5.1)
    u, _ = b.cmd("UID EXPUNGE 1:*", ok=True)
    expect(u == ["* 1 EXPUNGE"], u)
    u, _ = b.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 1)"], u)
