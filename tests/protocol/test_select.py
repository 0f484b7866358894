"""SELECT, EXAMINE, CLOSE, UNSELECT, CHECK (RFC 9051 6.3.2, 6.3.3, 6.4.1,
6.4.2) in IMAP4rev1 and IMAP4rev2 mode."""
from roosttest import expect


def test_select_rev1(srv):
    c = srv.login()
    c.append()
    c.append(flags="(\\Seen)")
    c.conv(r"""
    C: a1 SELECT INBOX
    S: * 2 EXISTS
    S: * 2 RECENT
    S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
    S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
    S: * OK [UNSEEN 1] First unseen.
    S~ \* OK \[UIDVALIDITY \d+\] UIDs valid\.
    S~ \* OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Mailbox id\.
    S: * OK [UIDNEXT 3] Predicted next UID.
    S: a1 OK [READ-WRITE] SELECT completed.
    """)


def test_select_rev2_and_closed(srv):
    c = srv.login()
    c.cmd("ENABLE IMAP4rev2", ok=True)
    c.conv(r"""
    C: a1 SELECT inbox
    S: * 0 EXISTS
    S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
    S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
    S~ \* OK \[UIDVALIDITY \d+\] UIDs valid\.
    S~ \* OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Mailbox id\.
    S: * OK [UIDNEXT 1] Predicted next UID.
    S: * LIST (\HasNoChildren) "/" INBOX
    S: a1 OK [READ-WRITE] SELECT completed.
    C: a2 EXAMINE Sent
    S: * OK [CLOSED] Previous mailbox is now closed.
    S: * 0 EXISTS
    S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
    S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
    S~ \* OK \[UIDVALIDITY \d+\] UIDs valid\.
    S~ \* OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Mailbox id\.
    S: * OK [UIDNEXT 1] Predicted next UID.
    S: * LIST (\HasNoChildren \Sent) "/" Sent
    S: a2 OK [READ-ONLY] EXAMINE completed.
    """)


def test_select_nonexistent_leaves_selected_state(srv):
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
    C: a1 SELECT nosuch
    S: * OK [CLOSED] Previous mailbox is now closed.
    S~ a1 NO \[NONEXISTENT\] .*
    C: a2 FETCH 1 FLAGS
    S: a2 BAD No mailbox selected.
    C: a3 SELECT
    S: a3 BAD Missing mailbox name.
    """)


def test_select_invalid_name_leaves_selected_state(srv):
    # RFC 9051 6.3.2: a failed SELECT leaves no mailbox selected, whatever
    # made it fail; an invalid name too
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
    C: a1 SELECT "a//b"
    S: * OK [CLOSED] Previous mailbox is now closed.
    S: a1 NO [CANNOT] Invalid mailbox name.
    C: a2 FETCH 1 FLAGS
    S: a2 BAD No mailbox selected.
    """)


def test_recent_seen_by_one_session(srv):
    c1 = srv.login()
    c1.append()
    c2 = srv.login()
    u1, _ = c1.cmd("SELECT INBOX", ok=True)
    u2, _ = c2.cmd("SELECT INBOX", ok=True)
    expect("* 1 RECENT" in u1, u1)
    expect("* 0 RECENT" in u2, u2)


def test_examine_does_not_claim_recent(srv):
    c1 = srv.login()
    c1.append()
    u1, _ = c1.cmd("EXAMINE INBOX", ok=True)
    expect("* 1 RECENT" in u1, u1)
    u2, _ = c1.cmd("SELECT INBOX", ok=True)
    expect("* 1 RECENT" in u2, u2)


def test_close_expunges_silently_unselect_does_not(srv):
    c = srv.login()
    c.append(flags="(\\Deleted)")
    c.append(flags="(\\Deleted)")
    c.append()
    c.cmd("SELECT INBOX", ok=True)
    u, _ = c.cmd("UNSELECT", ok=True)
    expect(u == [], u)
    u, _ = c.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 3)"], u)
    c.cmd("SELECT INBOX", ok=True)
    u, _ = c.cmd("CLOSE", ok=True)
    expect(u == [], u)
    u, _ = c.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 1)"], u)
    c.conv("""
    C: a1 CLOSE
    S: a1 BAD No mailbox selected.
    """)


def test_close_on_examine_does_not_expunge(srv):
    c = srv.login()
    c.append(flags="(\\Deleted)")
    c.cmd("EXAMINE INBOX", ok=True)
    c.cmd("CLOSE", ok=True)
    u, _ = c.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 1)"], u)


def test_check(srv):
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.conv("""
    C: a1 CHECK
    S: a1 OK Check completed.
    """)


def select_summary(c, cmd="SELECT INBOX"):
    """EXISTS, RECENT, UNSEEN (None if absent) and UIDNEXT of a SELECT."""
    u, _ = c.cmd(cmd, ok=True)
    got = {"UNSEEN": None}
    for line in u:
        w = line.split()
        if len(w) == 3 and w[2] in ("EXISTS", "RECENT"):
            got[w[2]] = int(w[1])
        elif line.startswith("* OK [UNSEEN ") or line.startswith("* OK [UIDNEXT "):
            got[w[2][1:]] = int(w[3].rstrip("]"))
    return got


def test_reselect_after_changes_by_others(srv):
    """A second SELECT of a mailbox starts from what the worker kept of
    the first one's view: changes by another session in between (flags,
    expunge, append) must show exactly, as a fresh open would show them."""
    c, d = srv.login(), srv.login()
    for _ in range(4):
        c.append(flags="(\\Seen)")
    expect(select_summary(c) == {"EXISTS": 4, "RECENT": 4, "UNSEEN": None,
                                 "UIDNEXT": 5})
    c.cmd("CLOSE", ok=True)
    expect(select_summary(c) == {"EXISTS": 4, "RECENT": 0, "UNSEEN": None,
                                 "UIDNEXT": 5})
    c.cmd("UNSELECT", ok=True)
    d.cmd("SELECT INBOX", ok=True)
    d.cmd("STORE 2 -FLAGS (\\Seen)", ok=True)
    d.cmd("STORE 1 +FLAGS (\\Deleted)", ok=True)
    d.cmd("EXPUNGE", ok=True)
    d.cmd("UNSELECT", ok=True)
    d.append()
    expect(select_summary(c, "EXAMINE INBOX") == {"EXISTS": 4, "RECENT": 1,
                                                  "UNSEEN": 1, "UIDNEXT": 6})
    u, _ = c.cmd("FETCH 1:* (UID FLAGS)", ok=True)
    expect(u == ["* 1 FETCH (UID 2 FLAGS ())",
                 "* 2 FETCH (UID 3 FLAGS (\\Seen))",
                 "* 3 FETCH (UID 4 FLAGS (\\Seen))",
                 "* 4 FETCH (UID 5 FLAGS (\\Recent))"], str(u))
    # the session that changed them reopens from its own kept view
    expect(select_summary(d) == {"EXISTS": 4, "RECENT": 1, "UNSEEN": 1,
                                 "UIDNEXT": 6})
