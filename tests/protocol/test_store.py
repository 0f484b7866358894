"""STORE and UID STORE (RFC 9051 6.4.6, RFC 3501 6.4.6): FLAGS, +FLAGS,
-FLAGS, .SILENT, keywords and the keyword limit, read-only mailboxes,
errors, and what other sessions see."""
from roosttest import expect, server_args


def setup(srv, n=3, examine=False):
    c = srv.login()
    for _ in range(n):
        c.append()
    c.cmd("EXAMINE INBOX" if examine else "SELECT INBOX", ok=True)
    return c


def test_store_add_remove_replace(srv):
    c = setup(srv)
    c.conv(r"""
    C: a1 STORE 1 +FLAGS (\Seen)
    S: * 1 FETCH (FLAGS (\Seen \Recent))
    S: a1 OK Store completed.
    C: a2 STORE 1:2 +FLAGS (\Deleted \Answered)
    S: * 1 FETCH (FLAGS (\Answered \Deleted \Seen \Recent))
    S: * 2 FETCH (FLAGS (\Answered \Deleted \Recent))
    S: a2 OK Store completed.
    C: a3 STORE 1 -FLAGS (\Deleted)
    S: * 1 FETCH (FLAGS (\Answered \Seen \Recent))
    S: a3 OK Store completed.
    C: a4 STORE 2 FLAGS (\Draft \Flagged)
    S: * 2 FETCH (FLAGS (\Flagged \Draft \Recent))
    S: a4 OK Store completed.
    C: a5 STORE 2 FLAGS ()
    S: * 2 FETCH (FLAGS (\Recent))
    S: a5 OK Store completed.
    C: a6 NOOP
    S: a6 OK NOOP completed.
    """)


def test_store_unchanged_messages_still_answered(srv):
    c = setup(srv)
    c.conv(r"""
    C: a1 STORE 1 +FLAGS (\Seen)
    S: * 1 FETCH (FLAGS (\Seen \Recent))
    S: a1 OK Store completed.
    C: a2 STORE 1:3 +FLAGS (\Seen)
    S: * 1 FETCH (FLAGS (\Seen \Recent))
    S: * 2 FETCH (FLAGS (\Seen \Recent))
    S: * 3 FETCH (FLAGS (\Seen \Recent))
    S: a2 OK Store completed.
    C: a3 STORE 3,1 -FLAGS (\Flagged)
    S: * 1 FETCH (FLAGS (\Seen \Recent))
    S: * 3 FETCH (FLAGS (\Seen \Recent))
    S: a3 OK Store completed.
    """)


def test_store_bare_flags_and_case(srv):
    c = setup(srv)
    c.conv(r"""
    C: a1 store 1 +flags \seen \FLAGGED
    S: * 1 FETCH (FLAGS (\Flagged \Seen \Recent))
    S: a1 OK Store completed.
    C: a2 STORE 1 -Flags.Silent \Seen
    S: a2 OK Store completed.
    C: a3 FETCH 1 FLAGS
    S: * 1 FETCH (FLAGS (\Flagged \Recent))
    S: a3 OK Fetch completed.
    """)


def test_store_silent(srv):
    c = setup(srv)
    c.conv(r"""
    C: a1 STORE 1:3 +FLAGS.SILENT (\Deleted)
    S: a1 OK Store completed.
    C: a2 NOOP
    S: a2 OK NOOP completed.
    C: a3 STORE 2 FLAGS.SILENT (\Seen)
    S: a3 OK Store completed.
    C: a4 FETCH 1:3 FLAGS
    S: * 1 FETCH (FLAGS (\Deleted \Recent))
    S: * 2 FETCH (FLAGS (\Seen \Recent))
    S: * 3 FETCH (FLAGS (\Deleted \Recent))
    S: a4 OK Fetch completed.
    """)


def test_uid_store(srv):
    c = setup(srv)
    c.conv(r"""
    C: a1 UID STORE 2 +FLAGS (\Seen)
    S: * 2 FETCH (UID 2 FLAGS (\Seen \Recent))
    S: a1 OK Store completed.
    C: a2 UID STORE 2:* -FLAGS (\Seen)
    S: * 2 FETCH (UID 2 FLAGS (\Recent))
    S: * 3 FETCH (UID 3 FLAGS (\Recent))
    S: a2 OK Store completed.
    C: a3 UID STORE 50:60 +FLAGS (\Seen)
    S: a3 OK Store completed.
    C: a4 UID STORE 1:2 +FLAGS.SILENT (\Flagged)
    S: a4 OK Store completed.
    C: a5 UID STORE 99:* +FLAGS (\Answered)
    S: * 3 FETCH (UID 3 FLAGS (\Answered \Recent))
    S: a5 OK Store completed.
    """)


def test_uid_store_gaps(srv):
    # UIDs 1 and 3 around an expunged 2 are msns 1 and 2: one response
    # each, in msn order
    c = setup(srv)
    c.cmd("UID STORE 2 +FLAGS.SILENT (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    c.conv(r"""
    C: a1 UID STORE 3,1,2,1:1 +FLAGS (\Flagged)
    S: * 1 FETCH (UID 1 FLAGS (\Flagged \Recent))
    S: * 2 FETCH (UID 3 FLAGS (\Flagged \Recent))
    S: a1 OK Store completed.
    """)


def test_store_keywords(srv):
    c = setup(srv)
    c.conv(r"""
    C: a1 STORE 1 +FLAGS ($Work)
    S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)
    S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)] Flags permitted.
    S: * 1 FETCH (FLAGS (\Recent $Work))
    S: a1 OK Store completed.
    C: a2 STORE 2 FLAGS (\Seen $work Other)
    S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work Other)
    S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work Other \*)] Flags permitted.
    S: * 2 FETCH (FLAGS (\Seen \Recent $Work Other))
    S: a2 OK Store completed.
    C: a3 STORE 1:2 -FLAGS ($WORK Unknown)
    S: * 1 FETCH (FLAGS (\Recent))
    S: * 2 FETCH (FLAGS (\Seen \Recent Other))
    S: a3 OK Store completed.
    """)


def test_store_keyword_limit(srv):
    c = setup(srv, n=1)
    for i in range(64):
        _, t = c.cmd(f"STORE 1 +FLAGS.SILENT (kw{i})", ok=True)
    u, t = c.cmd("STORE 1 +FLAGS (kw64)", ok=False)
    expect(t.split(" ", 3)[1:3] == ["NO", "[LIMIT]"], t)
    # an existing keyword still works
    u, t = c.cmd("STORE 1 -FLAGS (kw0)", ok=True)
    expect(len(u) == 1 and "kw0 " not in u[0] and "kw1 " in u[0], u)


def test_store_readonly(srv):
    c = setup(srv, examine=True)
    c.conv(r"""
    C: a1 STORE 1 +FLAGS (\Seen)
    S: a1 NO [READ-ONLY] The mailbox is read-only.
    C: a2 UID STORE 1 FLAGS.SILENT ()
    S: a2 NO [READ-ONLY] The mailbox is read-only.
    C: a3 STORE 1 +FLAGS (\Bogus)
    S: a3 BAD Invalid system flag.
    C: a4 FETCH 1 FLAGS
    S: * 1 FETCH (FLAGS (\Recent))
    S: a4 OK Fetch completed.
    """)


# many BADs in a row: lift the limit of consecutive bad commands
@server_args(extra_conf="max_bad_commands = 1000")
def test_store_errors(srv):
    c = setup(srv)
    bad = [
        ("STORE", None),
        ("STORE 1", None),
        ("STORE 1 +FLAGS", None),
        ("STORE 1 FLAGZ (\\Seen)", None),
        ("STORE 1 +FLAGS.LOUD (\\Seen)", None),
        ("STORE 1 *FLAGS (\\Seen)", None),
        ("STORE 1 (FLAGS) (\\Seen)", None),
        ("STORE 1 +FLAGS (\\Recent)", "The \\Recent flag cannot be changed."),
        ("STORE 1 +FLAGS (\\Foo)", "Invalid system flag."),
        ("STORE 1 +FLAGS (\\Seen) extra", None),
        ("STORE 1 +FLAGS ((\\Seen))", None),
        ('STORE 1 +FLAGS ("quoted")', None),
        ("STORE 4 +FLAGS (\\Seen)", "Invalid message sequence number."),
        ("STORE 0 +FLAGS (\\Seen)", None),
        ("STORE 1:9 +FLAGS (\\Seen)", "Invalid message sequence number."),
        ("STORE $:2 +FLAGS (\\Seen)", None),
        ("STORE a +FLAGS (\\Seen)", None),
    ]
    for cmd, text in bad:
        u, t = c.cmd(cmd, ok=False)
        expect(" BAD " in t and u == [], (cmd, u, t))
        if text:
            expect(t.endswith(" BAD " + text), (cmd, t))
    c.conv(r"""
    C: a1 FETCH 1:3 FLAGS
    S: * 1 FETCH (FLAGS (\Recent))
    S: * 2 FETCH (FLAGS (\Recent))
    S: * 3 FETCH (FLAGS (\Recent))
    S: a1 OK Fetch completed.
    """)


def test_store_empty_mailbox(srv):
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
    C: a1 STORE 1:* +FLAGS (\Seen)
    S: a1 OK Store completed.
    C: a2 UID STORE 1:* +FLAGS (\Seen)
    S: a2 OK Store completed.
    C: a3 STORE 1 +FLAGS (\Seen)
    S: a3 BAD Invalid message sequence number.
    """)


def test_store_seen_by_other_session(srv):
    a = setup(srv)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    a.conv(r"""
    C: a1 STORE 1 +FLAGS (\Flagged)
    S: * 1 FETCH (FLAGS (\Flagged \Recent))
    S: a1 OK Store completed.
    C: a2 STORE 2 +FLAGS.SILENT ($Label)
    S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label)
    S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label \*)] Flags permitted.
    S: a2 OK Store completed.
    """)
    # b learns of both changes at its next command, silent or not (the
    # order of FLAGS and FETCH is the session's business)
    u, _ = b.cmd("NOOP", ok=True)
    expect(sorted(u) == sorted([
        r"* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label)",
        r"* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Label \*)] Flags permitted.",
        r"* 1 FETCH (FLAGS (\Flagged))",
        r"* 2 FETCH (FLAGS ($Label))"]), u)
    # b's STORE reports a's concurrent change to another message too
    a.cmd("STORE 3 +FLAGS.SILENT (\\Seen)", ok=True)
    b.conv(r"""
    C: b2 STORE 1 -FLAGS (\Flagged)
    S: * 3 FETCH (FLAGS (\Seen))
    S: * 1 FETCH (FLAGS ())
    S: b2 OK Store completed.
    C: b3 UID STORE 2 +FLAGS.SILENT (\Deleted)
    S: b3 OK Store completed.
    """)
    a.conv(r"""
    C: a3 NOOP
    S: * 1 FETCH (FLAGS (\Recent))
    S: * 2 FETCH (FLAGS (\Deleted \Recent $Label))
    S: a3 OK NOOP completed.
    """)


def test_store_then_expunge_other_session(srv):
    a = setup(srv)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    a.cmd("STORE 2 +FLAGS.SILENT (\\Deleted)", ok=True)
    a.cmd("EXPUNGE", ok=True)
    # b still has 3 messages: STORE (not UID) must not send EXPUNGE
    u, t = b.cmd("STORE 1:3 +FLAGS (\\Seen)", ok=True)
    expect(t.endswith(" OK [EXPUNGEISSUED] Some messages were already expunged."), t)
    expect(all("EXPUNGE" not in x for x in u), u)
    expect("* 1 FETCH (FLAGS (\\Seen))" in u and "* 3 FETCH (FLAGS (\\Seen))" in u, u)
    u, t = b.cmd("NOOP", ok=True)
    expect("* 2 EXPUNGE" in u, u)
