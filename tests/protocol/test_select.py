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
    S: * OK [UIDNEXT 1] Predicted next UID.
    S: * LIST (\HasNoChildren) "/" INBOX
    S: a1 OK [READ-WRITE] SELECT completed.
    C: a2 EXAMINE Sent
    S: * OK [CLOSED] Previous mailbox is now closed.
    S: * 0 EXISTS
    S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
    S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
    S~ \* OK \[UIDVALIDITY \d+\] UIDs valid\.
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
