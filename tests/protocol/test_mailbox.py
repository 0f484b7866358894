"""CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS (RFC 9051
6.3.4-6.3.8, 6.3.11; STATUS=SIZE RFC 8438; APPENDLIMIT RFC 7889) and the
mailboxes every new user gets."""
import re

from roosttest import expect, MSG


def names(c, cmd='LIST "" *'):
    untagged, _ = c.cmd(cmd, ok=True)
    return untagged


def test_default_mailboxes(srv):
    c = srv.login()
    c.conv(r"""
    C: a1 LIST "" *
    S: * LIST (\HasNoChildren) "/" INBOX
    S: * LIST (\HasNoChildren \Archive) "/" Archive
    S: * LIST (\HasNoChildren \Drafts) "/" Drafts
    S: * LIST (\HasNoChildren \Junk) "/" Junk
    S: * LIST (\HasNoChildren \Sent) "/" Sent
    S: * LIST (\HasNoChildren \Trash) "/" Trash
    S: a1 OK LIST completed.
    C: a2 LIST (SUBSCRIBED) "" *
    S: * LIST (\HasNoChildren \Subscribed) "/" INBOX
    S: * LIST (\HasNoChildren \Subscribed \Archive) "/" Archive
    S: * LIST (\HasNoChildren \Subscribed \Drafts) "/" Drafts
    S: * LIST (\HasNoChildren \Subscribed \Junk) "/" Junk
    S: * LIST (\HasNoChildren \Subscribed \Sent) "/" Sent
    S: * LIST (\HasNoChildren \Subscribed \Trash) "/" Trash
    S: a2 OK LIST completed.
    C: a3 LIST (SPECIAL-USE) "" * RETURN (SPECIAL-USE)
    S: * LIST (\HasNoChildren \Archive) "/" Archive
    S: * LIST (\HasNoChildren \Drafts) "/" Drafts
    S: * LIST (\HasNoChildren \Junk) "/" Junk
    S: * LIST (\HasNoChildren \Sent) "/" Sent
    S: * LIST (\HasNoChildren \Trash) "/" Trash
    S: a3 OK LIST completed.
    """)
    for box in ("INBOX", "Drafts", "Sent", "Trash", "Junk", "Archive"):
        untagged, _ = c.cmd(f"STATUS {box} (MESSAGES UNSEEN)", ok=True)
        expect(untagged == [f"* STATUS {box} (MESSAGES 0 UNSEEN 0)"], untagged)


def test_create(srv):
    c = srv.login()
    c.conv(r"""
    C: a1 CREATE foo
    S~ a1 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    C: a2 CREATE foo
    S~ a2 NO \[ALREADYEXISTS\] .*
    C: a3 CREATE INBOX
    S~ a3 NO \[ALREADYEXISTS\] .*
    C: a4 CREATE inbox
    S~ a4 NO \[ALREADYEXISTS\] .*
    C: a5 CREATE "a/b/c"
    S~ a5 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    C: a6 CREATE x/
    S~ a6 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    C: a7 CREATE foo/
    S~ a7 NO \[ALREADYEXISTS\] .*
    C: a8 CREATE inbox/sub
    S~ a8 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    C: a9 CREATE "with space"
    S~ a9 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    C: a10 CREATE {4+}
    C: lit1
    S~ a10 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    """)
    c.conv(r"""
    C: b1 LIST "" *
    S: * LIST (\HasChildren) "/" INBOX
    S: * LIST (\HasNoChildren) "/" INBOX/sub
    S: * LIST (\HasNoChildren \Archive) "/" Archive
    S: * LIST (\HasNoChildren \Drafts) "/" Drafts
    S: * LIST (\HasNoChildren \Junk) "/" Junk
    S: * LIST (\HasNoChildren \Sent) "/" Sent
    S: * LIST (\HasNoChildren \Trash) "/" Trash
    S: * LIST (\HasChildren) "/" a
    S: * LIST (\HasChildren) "/" a/b
    S: * LIST (\HasNoChildren) "/" a/b/c
    S: * LIST (\HasNoChildren) "/" foo
    S: * LIST (\HasNoChildren) "/" lit1
    S: * LIST (\HasNoChildren) "/" "with space"
    S: * LIST (\HasNoChildren) "/" x
    S: b1 OK LIST completed.
    """)


def test_create_invalid_names(srv):
    c = srv.login()
    for name in ('""', '"/"', '"a//b"', '"/a"', '"&Jjo!"', '"&U,BTFw-&ZeVnLIqe-"',
                 '"a&"', '"."', '"a/../b"', '"' + "x" * 256 + '"',
                 '"' + "/".join(["l"] * 17) + '"'):
        _, t = c.cmd(f"CREATE {name}", ok=False)
        expect(" NO [CANNOT] " in t, f"{name}: {t}")
    # 16 levels are fine (255 bytes may be more than the backend's file
    # names allow, so a long name is checked well below the limit)
    c.cmd('CREATE "' + "y" * 200 + '"', ok=True)
    c.cmd('CREATE "' + "/".join(["l"] * 16) + '"', ok=True)
    # a control character (sent in a literal) and 8-bit without UTF-8
    c.line("z1 CREATE {3+}")
    c.send(b"a\x01b\r\n")
    expect(c.readline().startswith("z1 NO [CANNOT]"))
    c.line("z2 CREATE {2+}")
    c.send(b"\xc3\xa9\r\n")
    expect(c.readline().startswith("z2 NO [CANNOT]"))
    # syntax errors are BAD
    for args in ("", " (foo)", " foo bar"):
        _, t = c.cmd(f"CREATE{args}", ok=False)
        expect(" BAD " in t, t)


def test_create_mutf7_and_utf8(srv):
    c = srv.login()
    c.cmd('CREATE "&ZeVnLIqe-"', ok=True)
    c.cmd('CREATE "A&-B"', ok=True)
    u, _ = c.cmd('LIST "" "&ZeVnLIqe-"', ok=True)
    expect(u == ['* LIST (\\HasNoChildren) "/" &ZeVnLIqe-'], u)
    u, _ = c.cmd('LIST "" "A&-B"', ok=True)
    expect(u == ['* LIST (\\HasNoChildren) "/" A&-B'], u)
    # an IMAP4rev2 session sees the same names in UTF-8
    c.cmd("ENABLE IMAP4rev2", ok=True)
    u, _ = c.cmd('LIST "" "\u65e5*"', ok=True)
    expect(u == ['* LIST (\\HasNoChildren) "/" "\u65e5\u672c\u8a9e"'], u)
    u, _ = c.cmd('LIST "" "A&B"', ok=True)
    expect(u == ['* LIST (\\HasNoChildren) "/" A&B'], u)
    # decomposed UTF-8 names the same mailbox as composed (NFC)
    c.cmd('CREATE "e\u0301t\u00e9"', ok=True)
    _, t = c.cmd('CREATE "\u00e9t\u00e9"', ok=False)
    expect("[ALREADYEXISTS]" in t, t)


def test_delete(srv):
    c = srv.login()
    c.cmd("CREATE foo/bar", ok=True)
    c.cmd("CREATE blurdybloop", ok=True)
    c.conv(r"""
    C: a1 DELETE blurdybloop
    S: a1 OK Delete completed.
    C: a2 DELETE blurdybloop
    S~ a2 NO \[NONEXISTENT\] .*
    C: a3 DELETE INBOX
    S~ a3 NO \[CANNOT\] .*
    C: a4 DELETE inbox
    S~ a4 NO \[CANNOT\] .*
    C: a5 DELETE foo
    S: a5 OK Delete completed.
    C: a6 LIST "" %
    S: * LIST (\HasNoChildren) "/" INBOX
    S: * LIST (\HasNoChildren \Archive) "/" Archive
    S: * LIST (\HasNoChildren \Drafts) "/" Drafts
    S: * LIST (\HasNoChildren \Junk) "/" Junk
    S: * LIST (\HasNoChildren \Sent) "/" Sent
    S: * LIST (\HasNoChildren \Trash) "/" Trash
    S: * LIST (\Noselect \HasChildren) "/" foo
    S: a6 OK LIST completed.
    C: a7 DELETE foo
    S~ a7 NO \[HASCHILDREN\] .*
    C: a8 DELETE foo/bar
    S: a8 OK Delete completed.
    C: a9 LIST "" foo*
    S: a9 OK LIST completed.
    C: a10 DELETE
    S~ a10 BAD .*
    C: a11 DELETE "a//b"
    S~ a11 NO \[CANNOT\] .*
    """)


def test_delete_selected(srv):
    c = srv.login()
    c.cmd("CREATE gone", ok=True)
    c.append("gone")
    c.cmd("SELECT gone", ok=True)
    c.conv(r"""
    C: a1 DELETE gone
    S: * OK [CLOSED] Selected mailbox was deleted.
    S: a1 OK Delete completed.
    C: a2 FETCH 1 FLAGS
    S: a2 BAD No mailbox selected.
    C: a3 STATUS gone (MESSAGES)
    S~ a3 NO \[NONEXISTENT\] .*
    """)


def test_delete_keeps_uids(srv):
    c = srv.login()
    c.cmd("CREATE re", ok=True)
    c.append("re")
    c.append("re")
    u, _ = c.cmd("STATUS re (UIDNEXT UIDVALIDITY)", ok=True)
    c.cmd("DELETE re", ok=True)
    c.cmd("CREATE re", ok=True)
    u2, _ = c.cmd("STATUS re (UIDNEXT UIDVALIDITY)", ok=True)
    # RFC 9051 6.3.5: a new incarnation must not reuse UIDs with the same
    # UIDVALIDITY
    expect(u != u2, f"{u} {u2}")


def test_rename(srv):
    c = srv.login()
    c.cmd("CREATE foo/bar", ok=True)
    c.cmd("CREATE blurdybloop", ok=True)
    c.append("blurdybloop")
    c.conv(r"""
    C: a1 RENAME blurdybloop sarasoop
    S: a1 OK Rename completed.
    C: a2 RENAME foo zowie
    S: a2 OK Rename completed.
    C: a3 LIST "" *
    S: * LIST (\HasNoChildren) "/" INBOX
    S: * LIST (\HasNoChildren \Archive) "/" Archive
    S: * LIST (\HasNoChildren \Drafts) "/" Drafts
    S: * LIST (\HasNoChildren \Junk) "/" Junk
    S: * LIST (\HasNoChildren \Sent) "/" Sent
    S: * LIST (\HasNoChildren \Trash) "/" Trash
    S: * LIST (\HasNoChildren) "/" sarasoop
    S: * LIST (\HasChildren) "/" zowie
    S: * LIST (\HasNoChildren) "/" zowie/bar
    S: a3 OK LIST completed.
    C: a4 STATUS sarasoop (MESSAGES)
    S: * STATUS sarasoop (MESSAGES 1)
    S: a4 OK Status completed.
    C: a5 RENAME nosuch other
    S~ a5 NO \[NONEXISTENT\] .*
    C: a6 RENAME sarasoop zowie
    S~ a6 NO \[ALREADYEXISTS\] .*
    C: a7 RENAME sarasoop INBOX
    S~ a7 NO \[ALREADYEXISTS\] .*
    C: a8 RENAME zowie zowie/sub
    S~ a8 NO \[CANNOT\] .*
    C: a9 RENAME sarasoop "a//b"
    S~ a9 NO \[CANNOT\] .*
    C: a10 RENAME sarasoop
    S~ a10 BAD .*
    C: a11 RENAME sarasoop deep/new/name
    S: a11 OK Rename completed.
    C: a12 LIST "" deep*
    S: * LIST (\HasChildren) "/" deep
    S: * LIST (\HasChildren) "/" deep/new
    S: * LIST (\HasNoChildren) "/" deep/new/name
    S: a12 OK LIST completed.
    """)


def test_rename_inbox(srv):
    c = srv.login()
    c.append()
    c.append()
    c.cmd("CREATE INBOX/child", ok=True)
    c.conv(r"""
    C: a1 RENAME inbox old-mail
    S: a1 OK Rename completed.
    C: a2 STATUS INBOX (MESSAGES)
    S: * STATUS INBOX (MESSAGES 0)
    S: a2 OK Status completed.
    C: a3 STATUS old-mail (MESSAGES)
    S: * STATUS old-mail (MESSAGES 2)
    S: a3 OK Status completed.
    C: a4 LIST "" INBOX*
    S: * LIST (\HasChildren) "/" INBOX
    S: * LIST (\HasNoChildren) "/" INBOX/child
    S: a4 OK LIST completed.
    """)


def test_subscribe(srv):
    c = srv.login()
    c.cmd("CREATE foo", ok=True)
    c.conv(r"""
    C: a1 SUBSCRIBE foo
    S: a1 OK Subscribe completed.
    C: a2 SUBSCRIBE foo
    S: a2 OK Subscribe completed.
    C: a3 LSUB "" f*
    S: * LSUB () "/" foo
    S: a3 OK LSUB completed.
    C: a4 UNSUBSCRIBE foo
    S: a4 OK Unsubscribe completed.
    C: a5 UNSUBSCRIBE foo
    S: a5 OK Unsubscribe completed.
    C: a6 LSUB "" f*
    S: a6 OK LSUB completed.
    C: a7 SUBSCRIBE nosuch
    S: a7 OK Subscribe completed.
    C: a8 LIST (SUBSCRIBED) "" nosuch
    S: * LIST (\NonExistent \HasNoChildren \Subscribed) "/" nosuch
    S: a8 OK LIST completed.
    C: a9 SUBSCRIBE
    S~ a9 BAD .*
    C: a10 SUBSCRIBE "a//b"
    S~ a10 NO \[CANNOT\] .*
    C: a11 UNSUBSCRIBE inbox
    S: a11 OK Unsubscribe completed.
    C: a12 LIST "" INBOX RETURN (SUBSCRIBED)
    S: * LIST (\HasNoChildren) "/" INBOX
    S: a12 OK LIST completed.
    """)


def test_status(srv):
    c = srv.login()
    c.append(flags="(\\Seen)")
    c.append(flags="(\\Deleted)")
    c.append()
    size = len(MSG.encode())
    u, _ = c.cmd("STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT)",
                 ok=True)
    import re
    expect(len(u) == 1 and re.fullmatch(
        rf"\* STATUS INBOX \(MESSAGES 3 UIDNEXT 4 UIDVALIDITY \d+ UNSEEN 2 "
        rf"DELETED 1 SIZE {3 * size} RECENT 3\)", u[0]), u)
    c.conv(r"""
    C: a1 STATUS inbox (messages messages)
    S: * STATUS INBOX (MESSAGES 3)
    S: a1 OK Status completed.
    C: a2 STATUS INBOX (APPENDLIMIT)
    S~ \* STATUS INBOX \(APPENDLIMIT \d+\)
    S: a2 OK Status completed.
    C: a3 STATUS nosuch (MESSAGES)
    S~ a3 NO \[NONEXISTENT\] .*
    C: a4 STATUS INBOX ()
    S~ a4 BAD .*
    C: a5 STATUS INBOX (FOO)
    S~ a5 BAD .*
    C: a6 STATUS INBOX (HIGHESTMODSEQ)
    S~ \* STATUS INBOX \(HIGHESTMODSEQ [1-9]\d*\)
    S: a6 OK Status completed.
    C: a7 STATUS INBOX MESSAGES
    S~ a7 BAD .*
    C: a8 STATUS INBOX
    S~ a8 BAD .*
    C: a9 STATUS "a//b" (MESSAGES)
    S~ a9 NO \[CANNOT\] .*
    """)
    # the selected mailbox may be asked about; RECENT is claimed by SELECT
    c.cmd("SELECT INBOX", ok=True)
    u, _ = c.cmd("STATUS INBOX (MESSAGES RECENT)", ok=True)
    expect(u == ["* STATUS INBOX (MESSAGES 3 RECENT 0)"], u)


def test_status_mutf7_name(srv):
    c = srv.login()
    c.cmd('CREATE "&ZeVnLIqe-"', ok=True)
    u, _ = c.cmd('STATUS "&ZeVnLIqe-" (MESSAGES)', ok=True)
    expect(u == ["* STATUS &ZeVnLIqe- (MESSAGES 0)"], u)


def test_not_authenticated(srv):
    c = srv.connect()
    c.greeting()
    for cmd in ("CREATE foo", "DELETE foo", "RENAME a b", "SUBSCRIBE foo",
                "UNSUBSCRIBE foo", "STATUS INBOX (MESSAGES)", 'LIST "" *',
                'LSUB "" *'):
        _, t = c.cmd(cmd, ok=False)
        expect(" BAD " in t, t)


def test_other_session_sees_new_mailbox(srv):
    a = srv.login()
    b = srv.login()
    a.cmd("CREATE shared1", ok=True)
    u, _ = b.cmd('LIST "" shared1', ok=True)
    expect(u == ['* LIST (\\HasNoChildren) "/" shared1'], u)


def test_oldname_for_rev2(srv):
    # RFC 9051 6.3.4: a name used in another form than the one sent is
    # announced with OLDNAME (IMAP4rev2 only)
    c = srv.login()
    c.cmd("ENABLE IMAP4rev2", ok=True)
    c.conv(r"""
    C: a1 CREATE inbox/x
    S: * LIST () "/" INBOX/x ("OLDNAME" (inbox/x))
    S~ a1 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    C: a2 CREATE plain
    S~ a2 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    C: a3 RENAME plain Inbox/y
    S: * LIST () "/" INBOX/y ("OLDNAME" (Inbox/y))
    S: a3 OK Rename completed.
    """)
    c.line('a4 CREATE "e\u0301"')
    expect(c.readline() == '* LIST () "/" "\u00e9" ("OLDNAME" ("e\u0301"))')
    expect(re.fullmatch(r"a4 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.", c.readline()))


def test_unquoted_names_with_bracket(srv):
    # "[" is an ATOM-CHAR (RFC 9051 section 9: atom-specials hold "]" as
    # resp-specials but not "["), so an unquoted astring or list-mailbox
    # may contain it; only FETCH's section syntax (BODY[, BINARY[ ...)
    # opens a bracket that runs to its "]".
    # the LIST pattern; "&-" is "&" in modified UTF-7
    odd = "!#$&-'+,-.0123456789:;<=>?@^_`|[}"
    c = srv.login()
    c.conv(r"""
    C: a1 CREATE a[b
    S~ a1 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    C: a2 CREATE [x
    S~ a2 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    C: a3 CREATE BODY[1
    S~ a3 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    C: a4 CREATE !#$&-'+,-.0123456789:;<=>?@^_`|[}x
    S~ a4 OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Create completed\.
    C: a5 SELECT a[b
    S: * 0 EXISTS
    S: * 0 RECENT
    S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
    S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.
    S~ \* OK \[UIDVALIDITY \d+\] UIDs valid\.
    S~ \* OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Mailbox id\.
    S: * OK [UIDNEXT 1] Predicted next UID.
    S: a5 OK [READ-WRITE] SELECT completed.
    C: a6 EXAMINE BODY[1
    S: * OK [CLOSED] Previous mailbox is now closed.
    S: * 0 EXISTS
    S: * 0 RECENT
    S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
    S: * OK [PERMANENTFLAGS ()] Read-only mailbox.
    S~ \* OK \[UIDVALIDITY \d+\] UIDs valid\.
    S~ \* OK \[MAILBOXID \(F[0-9a-f]{24}\)\] Mailbox id\.
    S: * OK [UIDNEXT 1] Predicted next UID.
    S: a6 OK [READ-ONLY] EXAMINE completed.
    C: a7 LIST "" !#$&'+,-.0123456789:;<=>?@^_`|[}%*
    S: a7 OK LIST completed.
    C: a7 LIST "" !#$&-'+,-.0123456789:;<=>?@^_`|[}%*
    S: * LIST (\HasNoChildren) "/" !#$&-'+,-.0123456789:;<=>?@^_`|[}x
    S: a7 OK LIST completed.
    C: a8 LIST "" (a[* [%)
    S: * LIST (\HasNoChildren) "/" [x
    S: * LIST (\HasNoChildren) "/" a[b
    S: a8 OK LIST completed.
    C: a9 STATUS [x (MESSAGES)
    S: * STATUS [x (MESSAGES 0)
    S: a9 OK Status completed.
    C: a10 RENAME [x [y
    S: a10 OK Rename completed.
    C: a11 DELETE [y
    S: a11 OK Delete completed.
    C: a12 SEARCH SUBJECT a[b
    S: * SEARCH
    S: a12 OK Search completed.
    C: a13 FETCH 1 BODY[HEADER
    S: a13 BAD Missing ']'
    """)
    c.append(box=odd + "x")
    _, t = c.cmd(f"STATUS {odd}x (MESSAGES)", ok=True)
    c.cmd("SELECT BODY[1", ok=True)
    c.append(box="BODY[1", msg="Subject: s[1]\r\n\r\nbody\r\n")
    u, _ = c.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])", ok=True)
    expect(u[0].startswith("* 1 FETCH (BODY[HEADER.FIELDS (Subject)] {17}"), u)
    u, _ = c.cmd("UID FETCH 1:* (binary.peek[1] FLAGS)", ok=True)
    expect(u[0] == "* 1 FETCH (UID 1 FLAGS (\\Recent) BINARY[1] {6}\r\nbody\r\n)", u)
    u, _ = c.cmd("SEARCH SUBJECT s[1", ok=True)
    expect(u == ["* SEARCH 1"], u)
