"""SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4) with every search
key, CHARSET, the ESEARCH form (RFC 9051 7.3.4, RFC 4731 RETURN options),
IMAP4rev2 answers and errors."""
from roosttest import expect, server_args

MSG1 = ("From: Alice <alice@example.com>\r\n"
        "To: Bob <bob@example.com>\r\n"
        "Subject: Hello\r\n world\r\n"
        "Date: Tue, 1 Feb 1994 10:00:00 +0000\r\n"
        "\r\n"
        "the quick brown fox\r\n")
MSG2 = ("From: carol@example.org\r\n"
        "Cc: dave@example.org\r\n"
        "Bcc: eve@example.org\r\n"
        "Subject: Meeting\r\n"
        "Date: 3 Mar 2000 23:30:00 -0500\r\n"
        "\r\n"
        "agenda attached\r\n")
# no Date: header; a body whose needle straddles a 64 KiB read boundary
BIG_BODY = "y" * 65530 + "NEEDLE" + "z" * 2000 + "\r\n"
MSG3 = ("From: alice@example.com\r\n"
        "Subject: Re: Hello\r\n"
        "X-Priority: 1 (Highest)\r\n"
        "\r\n" + BIG_BODY)


def append(c, msg, flags="", date=None, box="INBOX"):
    data = msg.encode()
    opt = f" ({flags})" + (f' "{date}"' if date else "")
    c.line(f"{c.next_tag()} APPEND {box}{opt} {{{len(data)}+}}")
    c.send(data + b"\r\n")
    line = c.readline()
    expect(" OK " in line, line)


def setup(srv, select="SELECT"):
    c = srv.login()
    append(c, MSG1, "\\Seen \\Flagged", "01-Feb-1994 10:00:00 +0000")
    # 23:30 -0500 on 3 March is 4 March in UTC: ON uses the stored zone
    append(c, MSG2, "\\Answered $Work", "03-Mar-2000 23:30:00 -0500")
    append(c, MSG3, "\\Deleted \\Draft", "10-Oct-2010 00:30:00 +0200")
    c.cmd(f"{select} INBOX", ok=True)
    return c


def search(c, args, ok=True):
    u, t = c.cmd(f"SEARCH {args}", ok=ok)
    return u, t


def expect_search(c, args, want, prefix="SEARCH"):
    u, t = c.cmd(f"{prefix} {args}", ok=True)
    line = "* SEARCH" + "".join(f" {n}" for n in want)
    expect(u == [line], f"{prefix} {args}: got {u}, want {line!r}")


def test_search_flag_keys(srv):
    c = setup(srv)
    cases = {
        "ALL": [1, 2, 3],
        "SEEN": [1], "UNSEEN": [2, 3],
        "FLAGGED": [1], "UNFLAGGED": [2, 3],
        "ANSWERED": [2], "UNANSWERED": [1, 3],
        "DELETED": [3], "UNDELETED": [1, 2],
        "DRAFT": [3], "UNDRAFT": [1, 2],
        "KEYWORD $Work": [2], "KEYWORD $work": [2],
        "UNKEYWORD $Work": [1, 3],
        "KEYWORD $Nope": [], "UNKEYWORD $Nope": [1, 2, 3],
        "RECENT": [1, 2, 3], "NEW": [2, 3], "OLD": [],
        "seen flagged": [1],
    }
    for args, want in cases.items():
        expect_search(c, args, want)


def test_search_recent_other_session(srv):
    setup(srv)
    d = srv.login()
    d.cmd("EXAMINE INBOX", ok=True)
    expect_search(d, "RECENT", [])
    expect_search(d, "NEW", [])
    expect_search(d, "OLD", [1, 2, 3])


def test_search_size_and_date_keys(srv):
    c = setup(srv)
    s1, s2, s3 = len(MSG1), len(MSG2), len(MSG3)
    cases = {
        f"LARGER {s1}": [i for i, s in ((1, s1), (2, s2), (3, s3)) if s > s1],
        f"SMALLER {s1}": [i for i, s in ((1, s1), (2, s2), (3, s3)) if s < s1],
        f"LARGER {s1 - 1} SMALLER {s1 + 1}": [1],
        "LARGER 0": [1, 2, 3],
        "SMALLER 1": [],
        "BEFORE 3-Mar-2000": [1],
        "BEFORE 4-Mar-2000": [1, 2],
        "ON 3-Mar-2000": [2],
        "ON 4-Mar-2000": [],
        "ON 1-Feb-1994": [1],
        "SINCE 3-Mar-2000": [2, 3],
        'SINCE "10-Oct-2010"': [3],
        "SINCE 11-oct-2010": [],
        "BEFORE 1-Feb-1994": [],
        "SENTBEFORE 2-Feb-1994": [1],
        "SENTBEFORE 1-Feb-1994": [],
        "SENTON 1-Feb-1994": [1],
        "SENTON 3-Mar-2000": [2],
        "SENTSINCE 1-Jan-2000": [2],
        "SENTSINCE 1-Jan-1990": [1, 2],
        "NOT SENTSINCE 1-Jan-1990": [3],
    }
    for args, want in cases.items():
        expect_search(c, args, want)


def test_search_header_and_text_keys(srv):
    c = setup(srv)
    cases = {
        "FROM alice": [1, 3],
        "FROM ALICE@EXAMPLE": [1, 3],
        "FROM carol": [2],
        "TO bob": [1],
        "CC dave": [2],
        "BCC eve": [2],
        "BCC dave": [],
        'SUBJECT "hello world"': [1],
        "SUBJECT hello": [1, 3],
        'SUBJECT ""': [1, 2, 3],
        'HEADER X-Priority ""': [3],
        "HEADER x-priority highest": [3],
        "HEADER X-Priority 2": [],
        'HEADER Subject "re:"': [3],
        'HEADER Date ""': [1, 2],
        "BODY fox": [1],
        "BODY alice": [],
        "BODY QUICK": [1],
        "BODY needle": [3],
        "TEXT needle": [3],
        "TEXT alice": [1, 3],
        "TEXT agenda": [2],
        'TEXT "brown fox"': [1],
        "TEXT nowhere": [],
        "FROM alice BODY fox": [1],
    }
    for args, want in cases.items():
        expect_search(c, args, want)
    # a literal string, and a UTF-8 one that matches nothing
    c.line("x1 SEARCH CHARSET UTF-8 SUBJECT {5+}")
    c.line("HELLO")
    expect(c.readline() == "* SEARCH 1 3")
    expect(c.readline() == "x1 OK Search completed.")
    expect_search(c, 'CHARSET UTF-8 SUBJECT "\u00e9t\u00e9"', [])


def test_search_sets_and_logic(srv):
    c = setup(srv)
    cases = {
        "1": [1], "2:3": [2, 3], "*": [3], "3:1": [1, 2, 3], "1,3": [1, 3],
        "5": [], "2:9": [2, 3],
        "UID 2:*": [2, 3], "UID 1,3": [1, 3], "UID 9": [], "UID 9:*": [3],
        "NOT SEEN": [2, 3],
        "NOT NOT SEEN": [1],
        "OR SEEN DRAFT": [1, 3],
        "OR SEEN OR DRAFT ANSWERED": [1, 2, 3],
        "(SEEN FLAGGED)": [1],
        "(SEEN UNFLAGGED)": [],
        "OR (FROM carol) (SUBJECT re)": [2, 3],
        "NOT (OR SEEN DELETED)": [2],
        "((ALL))": [1, 2, 3],
        "2:3 NOT 3": [2],
        "UNDELETED 1:2 (OR 1 3)": [1],
    }
    for args, want in cases.items():
        expect_search(c, args, want)


def test_uid_search_returns_uids(srv):
    c = srv.login()
    append(c, "Subject: gone\r\n\r\nx\r\n")
    append(c, MSG1, "\\Seen")
    append(c, MSG2)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    u, _ = c.cmd("EXPUNGE", ok=True)
    expect(u == ["* 1 EXPUNGE"], u)
    # msn 1 = uid 2, msn 2 = uid 3
    expect_search(c, "ALL", [2, 3], prefix="UID SEARCH")
    expect_search(c, "SEEN", [2], prefix="UID SEARCH")
    expect_search(c, "1", [2], prefix="UID SEARCH")
    expect_search(c, "UID 3", [3], prefix="UID SEARCH")
    expect_search(c, "UID 1", [], prefix="UID SEARCH")
    expect_search(c, "UID 3", [2])
    expect_search(c, "UID 1:2", [1])
    expect_search(c, "UID *", [2])
    c.conv(r"""
    C: e1 UID SEARCH RETURN (MIN MAX COUNT ALL) ALL
    S: * ESEARCH (TAG "e1") UID MIN 2 MAX 3 COUNT 2 ALL 2:3
    S: e1 OK Search completed.
    C: e2 UID SEARCH RETURN () UNSEEN
    S: * ESEARCH (TAG "e2") UID ALL 3
    S: e2 OK Search completed.
    """)


def test_search_charset(srv):
    c = setup(srv)
    expect_search(c, "CHARSET US-ASCII FROM alice", [1, 3])
    expect_search(c, "CHARSET utf-8 ALL", [1, 2, 3])
    expect_search(c, 'CHARSET "UTF-8" SEEN', [1])
    c.conv("""
    C: a1 SEARCH CHARSET ISO-8859-1 FROM alice
    S: * SEARCH 1 3
    S: a1 OK Search completed.
    C: a2 SEARCH CHARSET X-NO-SUCH-CHARSET ALL
    S~ a2 NO \[BADCHARSET \(UTF-8 US-ASCII [^)]*\)\] Unsupported charset\.
    """)


def test_esearch_return_options(srv):
    c = setup(srv)
    c.conv(r"""
    C: a1 SEARCH RETURN (MIN MAX COUNT ALL) ALL
    S: * ESEARCH (TAG "a1") MIN 1 MAX 3 COUNT 3 ALL 1:3
    S: a1 OK Search completed.
    C: a2 SEARCH RETURN () UNDRAFT
    S: * ESEARCH (TAG "a2") ALL 1:2
    S: a2 OK Search completed.
    C: a3 SEARCH RETURN (MIN) UNSEEN
    S: * ESEARCH (TAG "a3") MIN 2
    S: a3 OK Search completed.
    C: a4 SEARCH RETURN (COUNT) DELETED
    S: * ESEARCH (TAG "a4") COUNT 1
    S: a4 OK Search completed.
    C: a5 SEARCH RETURN (MIN MAX) TEXT "string not in mailbox"
    S: * ESEARCH (TAG "a5")
    S: a5 OK Search completed.
    C: a6 SEARCH RETURN (COUNT ALL) BODY nothing
    S: * ESEARCH (TAG "a6") COUNT 0
    S: a6 OK Search completed.
    C: a7 SEARCH RETURN (ALL) OR 1 3
    S: * ESEARCH (TAG "a7") ALL 1,3
    S: a7 OK Search completed.
    C: a8 search return (max count) charset utf-8 seen
    S: * ESEARCH (TAG "a8") MAX 1 COUNT 1
    S: a8 OK Search completed.
    C: a9 SEARCH RETURN (SAVE) ALL
    S: a9 OK Search completed.
    C: a10 SEARCH RETURN (FOO) ALL
    S: a10 BAD Unknown RETURN option.
    C: a11 SEARCH RETURN ALL
    S: a11 BAD RETURN needs a list of options.
    """)


def test_search_rev2_answers_esearch(srv):
    c = srv.login()
    c.cmd("ENABLE IMAP4rev2", ok=True)
    append(c, MSG1, "\\Seen")
    append(c, MSG2)
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
    C: a1 SEARCH ALL
    S: * ESEARCH (TAG "a1") ALL 1:2
    S: a1 OK Search completed.
    C: a2 UID SEARCH UNSEEN
    S: * ESEARCH (TAG "a2") UID ALL 2
    S: a2 OK Search completed.
    C: a3 SEARCH DRAFT
    S: * ESEARCH (TAG "a3")
    S: a3 OK Search completed.
    C: a4 SEARCH RETURN (COUNT) ALL
    S: * ESEARCH (TAG "a4") COUNT 2
    S: a4 OK Search completed.
    """)


def test_search_empty_mailbox(srv):
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.conv(r"""
    C: a1 SEARCH ALL
    S: * SEARCH
    S: a1 OK Search completed.
    C: a2 SEARCH 1:*
    S: * SEARCH
    S: a2 OK Search completed.
    C: a3 UID SEARCH RETURN (MIN MAX COUNT) UID 1:*
    S: * ESEARCH (TAG "a3") UID COUNT 0
    S: a3 OK Search completed.
    """)


# many BADs in a row: lift the limit of consecutive bad commands
@server_args(extra_conf="max_bad_commands = 1000")
def test_search_errors(srv):
    c = setup(srv)
    bad = [
        "",
        "FOO",
        "SEEN FOO",
        "BEFORE",
        "BEFORE 32-Jan-2000",
        "BEFORE 1-Foo-2000",
        "BEFORE 1-Jan-00",
        "BEFORE 2000-01-01",
        "SINCE (1-Jan-2000)",
        "LARGER",
        "LARGER abc",
        "SMALLER -1",
        "OR SEEN",
        "OR",
        "NOT",
        "HEADER Subject",
        "HEADER",
        "FROM",
        "BODY",
        "TEXT (x)",
        "KEYWORD",
        "KEYWORD \\Seen",
        "KEYWORD (x)",
        "UID",
        "UID x",
        "$,1",
        "UID 1:$",
        "OLDER",
        "OLDER 0",
        "YOUNGER -5",
        "YOUNGER 4294967296",
        "0",
        "1:x",
        "()",
        "CHARSET",
        "CHARSET UTF-8",
        "RETURN (MIN)",
    ]
    for args in bad:
        u, t = c.cmd(f"SEARCH {args}".rstrip(), ok=False)
        expect(" BAD " in t and u == [], (args, u, t))


def test_search_not_selected(srv):
    c = srv.login()
    c.conv("""
    C: a1 SEARCH ALL
    S: a1 BAD No mailbox selected.
    """)


def test_search_many_messages_content(srv):
    # a content search over enough messages to run in several slices
    c = srv.login()
    n = 300
    tags = []
    for i in range(n):
        data = (f"Subject: m{i}\r\n\r\n" + ("word%d " % i) * 50 + "\r\n").encode()
        tag = c.next_tag()
        tags.append(tag)
        c.send(f"{tag} APPEND INBOX {{{len(data)}+}}\r\n".encode() + data + b"\r\n")
    for tag in tags:
        line = c.readline()
        expect(line.startswith(tag + " OK"), line)
    c.cmd("SELECT INBOX", ok=True)
    expect_search(c, "BODY word17", [18, 171, 172, 173, 174, 175, 176, 177, 178, 179, 180])
    u, _ = c.cmd('SEARCH RETURN (COUNT) HEADER subject "m2"', ok=True)
    want = len([i for i in range(n) if "m2" in f"m{i}"])
    expect(u == [f'* ESEARCH (TAG "t{c.tagn}") COUNT {want}'], u)


def test_search_message_expunged_by_other_session(srv):
    a = setup(srv)
    b = srv.login()
    b.cmd("SELECT INBOX", ok=True)
    a.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    a.cmd("EXPUNGE", ok=True)
    # index keys still answer for the expunged messages (1 and 3, which
    # had \Deleted already; no EXPUNGE yet; b never saw a's \Deleted on 1)
    expect_search(b, "UNDELETED", [1, 2])
    u, t = b.cmd("SEARCH TEXT example", ok=True)
    expect(u == ["* SEARCH 2"], u)
    expect(t.endswith(" OK [EXPUNGEISSUED] Search completed (some messages were expunged)."), t)
    u, t = b.cmd("NOOP", ok=True)
    expect(u == ["* 3 EXPUNGE", "* 1 EXPUNGE"], u)


def test_search_nesting_limit(srv):
    c = setup(srv)
    expect_search(c, "NOT " * 50 + "SEEN", [1])
    u, t = c.cmd("SEARCH " + "NOT " * 150 + "SEEN", ok=False)
    expect(u == [] and t.endswith(" BAD Search keys nested too deep."), t)
    u, t = c.cmd("SEARCH " + "OR SEEN " * 150 + "SEEN", ok=False)
    expect(u == [] and " BAD " in t, t)
