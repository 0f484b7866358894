"""Every SEARCH key of RFC 9051 6.4.4 / RFC 3501 6.4.4, each with a match
and a non-match in the same mailbox and the exact result asserted; WITHIN
(RFC 5032 OLDER/YOUNGER); CHARSET conversion and BADCHARSET (RFC 9051
6.4.4, 7.1); SEARCHRES (RFC 5182, RFC 9051 6.4.4.1): RETURN (SAVE) and "$"
in SEARCH, FETCH, STORE, COPY, MOVE, UID EXPUNGE and their UID forms.

Header and body content is plain ASCII (or raw UTF-8 for CHARSET), so the
results hold whether or not the server decodes RFC 2047 words and
transfer encodings."""
import re
import time

from roosttest import expect, server_args

# 1: Seen Answered; sent 7 Feb 1994 -0800 (8 Feb in UTC); X-Priority
M1 = ("From: Alice <alice@example.com>\r\n"
      "To: Bob <bob@example.com>\r\n"
      "Cc: carol@example.com\r\n"
      "Subject: Quarterly report\r\n"
      "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
      "X-Priority: 1 (Highest)\r\n"
      "\r\n"
      "the budget numbers\r\n")
# 2: Flagged Draft $Work; sent 1 Mar 2000 +0100 (29 Feb in UTC); Bcc
M2 = ("From: dave@example.org\r\n"
      "To: erin@example.org\r\n"
      "Bcc: frank@example.org\r\n"
      "Subject: Lunch plans\r\n"
      "Date: 1 Mar 2000 00:30:00 +0100\r\n"
      "\r\n"
      "pizza on friday\r\n")
# 3: Seen Deleted; no Date: field; the largest
M3 = ("From: alice@example.com\r\n"
      "Subject: Re: Quarterly report\r\n"
      "\r\n"
      "agreed\r\n" + "x" * 3000 + "\r\n")
# 4: no flags; an invalid Date:; an empty X-Empty: field
M4 = ("From: grace@example.net\r\n"
      "To: bob@example.com\r\n"
      "Subject: Odd one\r\n"
      "Date: not a date at all\r\n"
      "X-Empty:\r\n"
      "\r\n"
      "nothing here\r\n")
SIZES = [len(m.encode()) for m in (M1, M2, M3, M4)]


def setup(srv):
    """INBOX with M1..M4 (UIDs 1..4); M3 and M4 are \\Recent in the
    returned session, M1 and M2 in none."""
    a = srv.login()
    a.append(msg=M1, flags="(\\Seen \\Answered)", date="07-Feb-1994 21:52:25 -0800")
    a.append(msg=M2, flags="(\\Flagged \\Draft $Work)", date="15-Jun-2005 12:00:00 +0000")
    a.cmd("SELECT INBOX", ok=True)      # takes \Recent of 1 and 2
    a.cmd("LOGOUT")
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    # 23:30 -0500 on 1 Jan is 2 Jan in UTC: ON uses the stored zone
    c.append(msg=M3, flags="(\\Seen \\Deleted)", date="01-Jan-2020 23:30:00 -0500")
    c.append(msg=M4)
    u, _ = c.cmd("NOOP", ok=True)
    return c


def expect_search(c, args, want, prefix="SEARCH"):
    u, t = c.cmd(f"{prefix} {args}", ok=True)
    line = "* SEARCH" + "".join(f" {n}" for n in want)
    expect(u == [line], f"{prefix} {args}: got {u}, want {line!r}")


def run_cases(c, cases, prefix="SEARCH"):
    for args, want in cases.items():
        expect_search(c, args, want, prefix)


def test_capabilities(srv):
    c = srv.connect()
    c.greeting()
    u, _ = c.cmd("CAPABILITY", ok=True)
    caps = u[0].split()
    for cap in ("ESEARCH", "SEARCHRES", "WITHIN"):
        expect(cap in caps, (cap, u))


def test_flag_keys(srv):
    c = setup(srv)
    run_cases(c, {
        "ALL": [1, 2, 3, 4],
        "ANSWERED": [1], "UNANSWERED": [2, 3, 4],
        "DELETED": [3], "UNDELETED": [1, 2, 4],
        "DRAFT": [2], "UNDRAFT": [1, 3, 4],
        "FLAGGED": [2], "UNFLAGGED": [1, 3, 4],
        "SEEN": [1, 3], "UNSEEN": [2, 4],
        "KEYWORD $Work": [2], "KEYWORD $work": [2],
        "UNKEYWORD $Work": [1, 3, 4],
        # a keyword no message of the mailbox has ever had
        "KEYWORD $Unknown": [], "UNKEYWORD $Unknown": [1, 2, 3, 4],
        "RECENT": [3, 4], "OLD": [1, 2], "NEW": [4],
        "seen deleted": [3],
    })


def test_size_keys(srv):
    c = setup(srv)
    s3 = SIZES[2]
    smallest = min(SIZES)
    run_cases(c, {
        f"LARGER {s3 - 1}": [3], f"LARGER {s3}": [],
        "LARGER 1000": [3], "SMALLER 1000": [1, 2, 4],
        f"SMALLER {smallest}": [],
        f"SMALLER {smallest + 1}": [i + 1 for i, s in enumerate(SIZES) if s == smallest],
        "LARGER 0": [1, 2, 3, 4],
    })


def test_internal_date_keys(srv):
    c = setup(srv)
    run_cases(c, {
        "BEFORE 7-Feb-1994": [], "BEFORE 8-Feb-1994": [1],
        "BEFORE 1-Jan-2000": [1],
        "ON 7-Feb-1994": [1], "ON 8-Feb-1994": [],
        "ON 15-Jun-2005": [2], 'ON "15-Jun-2005"': [2],
        "ON 1-Jan-2020": [3], "ON 2-Jan-2020": [],
        "SINCE 15-Jun-2005": [2, 3, 4], "SINCE 16-Jun-2005": [3, 4],
        "SINCE 1-Jan-2020 BEFORE 2-Jan-2020": [3],
    })


def test_sent_date_keys(srv):
    c = setup(srv)
    # 3 has no Date: and 4 an invalid one: they never match a SENT* key,
    # so they match its negation
    run_cases(c, {
        "SENTON 7-Feb-1994": [1], "SENTON 8-Feb-1994": [],
        "SENTON 1-Mar-2000": [2], "SENTON 29-Feb-2000": [],
        "SENTBEFORE 7-Feb-1994": [], "SENTBEFORE 8-Feb-1994": [1],
        "SENTBEFORE 1-Mar-2000": [1], "SENTBEFORE 1-Jan-2100": [1, 2],
        "SENTSINCE 1-Mar-2000": [2], "SENTSINCE 2-Mar-2000": [],
        "SENTSINCE 1-Jan-1900": [1, 2],
        "NOT SENTSINCE 1-Jan-1900": [3, 4],
    })


def test_address_and_subject_keys(srv):
    c = setup(srv)
    run_cases(c, {
        "FROM alice": [1, 3], "FROM ALICE@EXAMPLE.COM": [1, 3],
        'FROM "Alice <alice"': [1], "FROM nobody": [],
        "TO bob": [1, 4], "TO erin@example.org": [2], "TO carol": [],
        "CC carol": [1], "CC bob": [],
        "BCC frank": [2], "BCC alice": [],
        "SUBJECT quarterly": [1, 3], 'SUBJECT "lunch plans"': [2],
        'SUBJECT "re: quarterly"': [3], "SUBJECT budget": [],
        'FROM ""': [1, 2, 3, 4], 'CC ""': [1],
    })


def test_header_body_text_keys(srv):
    c = setup(srv)
    run_cases(c, {
        "HEADER X-Priority 1": [1], "HEADER x-priority highest": [1],
        "HEADER X-Priority 2": [],
        # an empty string: the field exists
        'HEADER X-Priority ""': [1], 'HEADER X-Empty ""': [4],
        'HEADER X-Absent ""': [], "HEADER X-Absent x": [],
        'HEADER Date ""': [1, 2, 4],
        "BODY budget": [1], "BODY pizza": [2], "BODY alice": [],
        "BODY xxxxxxxxxx": [3], 'BODY "nothing here"': [4],
        "TEXT alice": [1, 3], "TEXT pizza": [2], "TEXT zebra": [],
        'TEXT "Subject: Odd"': [4],
    })


def test_sets_and_logic(srv):
    c = setup(srv)
    run_cases(c, {
        "1": [1], "*": [4], "2:3": [2, 3], "4:2": [2, 3, 4], "5:2": [2, 3, 4],
        "2,4": [2, 4], "1:*": [1, 2, 3, 4], "*:3": [3, 4],
        "5": [], "9:12": [],
        "UID 1": [1], "UID 3:*": [3, 4], "UID 4:3": [3, 4], "UID 2,9": [2],
        "UID 100:*": [4], "UID 5:9": [],
        "NOT SEEN": [2, 4], "NOT NOT SEEN": [1, 3], "NOT 1:3": [4],
        "OR SEEN FLAGGED": [1, 2, 3], "OR 1 4": [1, 4],
        "OR SEEN OR FLAGGED DRAFT": [1, 2, 3],
        "OR OR ANSWERED DRAFT OR DELETED KEYWORD $Work": [1, 2, 3],
        "NOT OR SEEN FLAGGED": [4],
        "OR (FROM alice DELETED) (TO bob UNSEEN)": [3, 4],
        "(SEEN UNDELETED)": [1], "NOT (SEEN UNDELETED)": [2, 3, 4],
        "((SEEN) (FROM alice))": [1, 3], "2:4 (OR 1 3)": [3],
    })
    run_cases(c, {"UID 2:3": [2, 3], "*": [4], "NOT 2:3": [1, 4]}, "UID SEARCH")


@server_args(extra_conf="max_bad_commands = 1000")
def test_key_errors(srv):
    c = setup(srv)
    for args in ("NOSUCHKEY", "SEEN (", "OR SEEN", "NOT", "HEADER X-Priority",
                 "KEYWORD", "LARGER x", "SMALLER", "ON 31-Feb-x", "SENTON",
                 "UID", "UID x", "0", "1,,2", "OLDER", "OLDER 0", "OLDER x",
                 "YOUNGER", "YOUNGER 0", "YOUNGER 4294967296", "OLDER -1"):
        u, t = c.cmd(f"SEARCH {args}", ok=False)
        expect(" BAD " in t and u == [], (args, u, t))


def test_within(srv):
    """OLDER n: INTERNALDATE <= now - n; YOUNGER n: >= now - n (RFC 5032
    section 2).  Margins of minutes keep the test clear of the clock."""
    c = srv.login()

    def at(seconds_ago):
        return time.strftime("%d-%b-%Y %H:%M:%S +0000",
                             time.gmtime(time.time() - seconds_ago))
    c.append(msg=M1, date=at(3 * 86400))    # 1: three days ago
    c.append(msg=M2, date=at(7200))         # 2: two hours ago
    c.append(msg=M4)                        # 3: now
    c.cmd("SELECT INBOX", ok=True)
    run_cases(c, {
        "YOUNGER 600": [3], "OLDER 600": [1, 2],
        "YOUNGER 10800": [2, 3], "OLDER 10800": [1],
        "YOUNGER 258600": [2, 3], "YOUNGER 259800": [1, 2, 3],
        "OLDER 258600": [1], "OLDER 259800": [],
        "OLDER 262800": [], "OLDER 3600 YOUNGER 86400": [2],
        "NOT YOUNGER 600": [1, 2], "OR OLDER 86400 YOUNGER 60": [1, 3],
        "UNSEEN YOUNGER 4294967295": [1, 2, 3],
    })
    run_cases(c, {"OLDER 600": [1, 2]}, "UID SEARCH")


def latin1_setup(srv):
    c = srv.login()
    c.append(msg=("From: a@example.com\r\nSubject: \u00e9t\u00e9 en Provence\r\n"
                  "\r\n\u041f\u0440\u0438\u0432\u0435\u0442 \u00e0 tous\r\n").encode())
    c.append(msg=M2)
    c.cmd("SELECT INBOX", ok=True)
    return c


def search_literal(c, prefix, data, want_untagged, ok=True):
    """SEARCH <prefix> {n+} with raw bytes `data` as the last argument."""
    tag = c.next_tag()
    c.line(f"{tag} SEARCH {prefix} {{{len(data)}+}}")
    c.send(data + b"\r\n")
    untagged = []
    while True:
        line = c.read_response_line()
        if line.startswith(tag + " "):
            break
        untagged.append(line)
    if ok:
        expect(line.startswith(tag + " OK"), (prefix, data, line))
        expect(untagged == [want_untagged], (prefix, data, untagged))
    return untagged, line


def test_charset_conversion(srv):
    c = latin1_setup(srv)
    # Latin-1 bytes find the UTF-8 subject; the same bytes as UTF-8 are
    # invalid
    search_literal(c, "CHARSET ISO-8859-1 SUBJECT", b"\xe9t\xe9", "* SEARCH 1")
    search_literal(c, "CHARSET iso-8859-1 SUBJECT", b"\xe9t\xe9 en", "* SEARCH 1")
    search_literal(c, "CHARSET WINDOWS-1252 SUBJECT", b"Provence", "* SEARCH 1")
    search_literal(c, "CHARSET ISO-8859-1 SUBJECT", b"\xe9t\xe9 au", "* SEARCH")
    # KOI8-R "Привет" in the body; TEXT too
    search_literal(c, "CHARSET KOI8-R BODY", b"\xf0\xd2\xc9\xd7\xc5\xd4", "* SEARCH 1")
    search_literal(c, "CHARSET KOI8-R TEXT", b"\xf0\xd2\xc9\xd7\xc5\xd4", "* SEARCH 1")
    # the conversion applies to every string key, HEADER's value included
    search_literal(c, "CHARSET ISO-8859-1 HEADER Subject", b"\xe9t\xe9", "* SEARCH 1")
    search_literal(c, "CHARSET ISO-8859-1 NOT SUBJECT", b"\xe9t\xe9", "* SEARCH 2")
    # ISO-2022-JP, stateful: ASCII text with an escape back to ASCII
    search_literal(c, "CHARSET ISO-2022-JP FROM", b"\x1b(Bdave", "* SEARCH 2")
    # UTF-8, declared or not
    search_literal(c, "CHARSET UTF-8 SUBJECT", "\u00e9t\u00e9".encode(), "* SEARCH 1")
    search_literal(c, "SUBJECT", "\u00e9t\u00e9".encode(), "* SEARCH 1")
    # US-ASCII labelled UTF-8 text is read as UTF-8 (as Dovecot does)
    search_literal(c, "CHARSET US-ASCII SUBJECT", "\u00e9t\u00e9".encode(), "* SEARCH 1")
    expect_search(c, 'CHARSET US-ASCII FROM "A@EXAMPLE"', [1])


def test_charset_invalid_strings(srv):
    """Text that is not valid in the declared charset is BAD (an invalid
    argument, RFC 9051 6.4.4), not NO (kept for charsets the server does
    not know)."""
    c = latin1_setup(srv)
    for prefix, data in (("CHARSET UTF-8 SUBJECT", b"\xe9t\xe9"),
                         ("SUBJECT", b"caf\xc3"),
                         ("BODY", b"\xff"),
                         ("CHARSET US-ASCII SUBJECT", b"\xe9t\xe9"),
                         ("CHARSET SHIFT_JIS TEXT", b"ab\x81"),
                         ("CHARSET EUC-JP BODY", b"\xa4"),
                         ("CHARSET ISO-2022-JP SUBJECT", b"\x1b$B\xff\xff\x1b(B"),
                         ("CHARSET UTF-16LE SUBJECT", b"a\x00")):
        u, t = search_literal(c, prefix, data, None, ok=False)
        expect(" BAD " in t and u == [], (prefix, data, u, t))
    expect_search(c, "ALL", [1, 2])


def test_badcharset(srv):
    c = latin1_setup(srv)
    u, t = c.cmd("SEARCH CHARSET X-UNKNOWN SUBJECT x", ok=False)
    m = re.fullmatch(r"t\d+ NO \[BADCHARSET \(([^)]*)\)\] Unsupported charset\.", t)
    expect(m and u == [], (u, t))
    listed = m.group(1).split()
    expect(listed[:2] == ["UTF-8", "US-ASCII"], listed)
    # every charset the list names is accepted
    for cs in listed:
        expect_search(c, f"CHARSET {cs} FROM dave", [2])
    for name in ("UTF-8//IGNORE", "ISO-8859-1*en", '""', "X" * 60, "NOT-A-CHARSET",
                 # iconv knows them, but no astring (no NUL) can be text in
                 # them: "a" is not "a" there
                 "UTF-16", "UTF-32", "UCS-2"):
        u, t = c.cmd(f"SEARCH CHARSET {name} ALL", ok=False)
        expect(" NO [BADCHARSET (" in t and u == [], (name, u, t))
    # literal charset name, quoted name
    expect_search(c, 'CHARSET "ISO-8859-15" SUBJECT provence', [1])


# ---- SEARCHRES ----


def test_save_then_fetch(srv):
    c = setup(srv)
    c.conv(r"""
    C: a1 SEARCH RETURN (SAVE) FLAGGED
    S: a1 OK Search completed.
    C: a2 FETCH $ (UID FLAGS)
    S: * 2 FETCH (UID 2 FLAGS (\Flagged \Draft $Work))
    S: a2 OK Fetch completed.
    C: a3 UID FETCH $ (FLAGS)
    S: * 2 FETCH (UID 2 FLAGS (\Flagged \Draft $Work))
    S: a3 OK Fetch completed.
    C: a4 SEARCH RETURN (SAVE) OR ANSWERED DELETED
    S: a4 OK Search completed.
    C: a5 UID SEARCH UID $
    S: * SEARCH 1 3
    S: a5 OK Search completed.
    C: a6 SEARCH $ SMALLER 1000
    S: * SEARCH 1
    S: a6 OK Search completed.
    C: a7 SEARCH OR $ 4
    S: * SEARCH 1 3 4
    S: a7 OK Search completed.
    C: a8 SEARCH NOT $
    S: * SEARCH 2 4
    S: a8 OK Search completed.
    C: a9 UID SEARCH RETURN (SAVE ALL) 2:3
    S: * ESEARCH (TAG "a9") UID ALL 2:3
    S: a9 OK Search completed.
    C: a10 FETCH $ UID
    S: * 2 FETCH (UID 2)
    S: * 3 FETCH (UID 3)
    S: a10 OK Fetch completed.
    """)


def test_save_pipelined(srv):
    """RFC 5182 2.2 example 2: the FETCH $ sent right behind the SAVE
    search sees its result (commands of a session run in order)."""
    c = setup(srv)
    c.send("p1 SEARCH RETURN (SAVE) UNSEEN\r\np2 FETCH $ (UID)\r\n"
           "p3 SEARCH RETURN (SAVE) 1\r\np4 FETCH $ (UID)\r\n")
    c.conv(r"""
    S: p1 OK Search completed.
    S: * 2 FETCH (UID 2)
    S: * 4 FETCH (UID 4)
    S: p2 OK Fetch completed.
    S: p3 OK Search completed.
    S: * 1 FETCH (UID 1)
    S: p4 OK Fetch completed.
    """)


def test_save_with_min_max(srv):
    """RFC 9051 6.4.4.1 table 4."""
    c = setup(srv)
    c.conv(r"""
    C: a1 SEARCH RETURN (SAVE MIN) UNDELETED
    S: * ESEARCH (TAG "a1") MIN 1
    S: a1 OK Search completed.
    C: a2 SEARCH $
    S: * SEARCH 1
    S: a2 OK Search completed.
    C: a3 SEARCH RETURN (MAX SAVE) UNDELETED
    S: * ESEARCH (TAG "a3") MAX 4
    S: a3 OK Search completed.
    C: a4 SEARCH $
    S: * SEARCH 4
    S: a4 OK Search completed.
    C: a5 SEARCH RETURN (MAX SAVE MIN) UNDELETED
    S: * ESEARCH (TAG "a5") MIN 1 MAX 4
    S: a5 OK Search completed.
    C: a6 SEARCH $
    S: * SEARCH 1 4
    S: a6 OK Search completed.
    C: a7 SEARCH RETURN (MAX SAVE MIN COUNT) UNDELETED
    S: * ESEARCH (TAG "a7") MIN 1 MAX 4 COUNT 3
    S: a7 OK Search completed.
    C: a8 SEARCH $
    S: * SEARCH 1 2 4
    S: a8 OK Search completed.
    C: a9 SEARCH RETURN (ALL SAVE MIN) 2:3
    S: * ESEARCH (TAG "a9") MIN 2 ALL 2:3
    S: a9 OK Search completed.
    C: a10 SEARCH $
    S: * SEARCH 2 3
    S: a10 OK Search completed.
    C: a11 SEARCH RETURN (SAVE MIN MAX) 3
    S: * ESEARCH (TAG "a11") MIN 3 MAX 3
    S: a11 OK Search completed.
    C: a12 SEARCH $
    S: * SEARCH 3
    S: a12 OK Search completed.
    C: a13 SEARCH RETURN (SAVE MIN) KEYWORD $Unknown
    S: * ESEARCH (TAG "a13")
    S: a13 OK Search completed.
    C: a14 SEARCH $
    S: * SEARCH
    S: a14 OK Search completed.
    """)


def test_save_empty_result(srv):
    """An empty "$" is a valid set that names no message (RFC 9051
    6.4.4.1, RFC 5182 example 6)."""
    c = setup(srv)
    c.cmd("CREATE Other", ok=True)
    c.conv(r"""
    C: a1 SEARCH RETURN (SAVE) KEYWORD $Unknown
    S: a1 OK Search completed.
    C: a2 FETCH $ FLAGS
    S: a2 OK Fetch completed.
    C: a3 UID FETCH $ FLAGS
    S: a3 OK Fetch completed.
    C: a4 SEARCH $
    S: * SEARCH
    S: a4 OK Search completed.
    C: a5 UID SEARCH UID $
    S: * SEARCH
    S: a5 OK Search completed.
    C: a6 STORE $ +FLAGS (\Seen)
    S: a6 OK Store completed.
    C: a7 UID STORE $ +FLAGS (\Seen)
    S: a7 OK Store completed.
    C: a8 SEARCH UNSEEN
    S: * SEARCH 2 4
    S: a8 OK Search completed.
    """)
    for cmd in ("COPY $ Other", "UID COPY $ Other", "MOVE $ Other",
                "UID EXPUNGE $"):
        u, t = c.cmd(cmd, ok=True)
        expect(u == [] and "COPYUID" not in t, (cmd, u, t))
    c.conv(r"""
    C: a9 STATUS Other (MESSAGES)
    S: * STATUS Other (MESSAGES 0)
    S: a9 OK Status completed.
    """)


def test_save_store_copy_move_expunge(srv):
    c = setup(srv)
    c.cmd("CREATE Other", ok=True)
    c.conv(r"""
    C: a1 SEARCH RETURN (SAVE) FROM alice
    S: a1 OK Search completed.
    C: a2 STORE $ +FLAGS (\Flagged)
    S: * 1 FETCH (FLAGS (\Answered \Flagged \Seen))
    S: * 3 FETCH (FLAGS (\Flagged \Deleted \Seen \Recent))
    S: a2 OK Store completed.
    C: a3 UID STORE $ -FLAGS.SILENT (\Flagged)
    S: a3 OK Store completed.
    C: a4 COPY $ Other
    S~ a4 OK \[COPYUID \d+ 1,3 1:2\] .*
    C: a5 UID COPY $ Other
    S~ a5 OK \[COPYUID \d+ 1,3 3:4\] .*
    C: a6 UID EXPUNGE $
    S: * 3 EXPUNGE
    S: a6 OK Expunge completed.
    C: a7 UID SEARCH UID $
    S: * SEARCH 1
    S: a7 OK Search completed.
    C: a8 MOVE $ Other
    S~ \* OK \[COPYUID \d+ 1 5\] .*
    S: * 1 EXPUNGE
    S: a8 OK Move completed.
    C: a9 SEARCH $
    S: * SEARCH
    S: a9 OK Search completed.
    C: a10 FETCH 1:* UID
    S: * 1 FETCH (UID 2)
    S: * 2 FETCH (UID 4)
    S: a10 OK Fetch completed.
    """)


def test_dollar_after_expunge(srv):
    """Expunged messages leave "$"; the rest keep their UIDs and get the
    new sequence numbers."""
    c = setup(srv)
    c.conv(r"""
    C: a1 SEARCH RETURN (SAVE) 2:4
    S: a1 OK Search completed.
    C: a2 STORE 2 +FLAGS.SILENT (\Deleted)
    S: a2 OK Store completed.
    C: a3 EXPUNGE
    S: * 3 EXPUNGE
    S: * 2 EXPUNGE
    S: a3 OK Expunge completed.
    C: a4 FETCH $ (UID)
    S: * 2 FETCH (UID 4)
    S: a4 OK Fetch completed.
    C: a5 SEARCH $
    S: * SEARCH 2
    S: a5 OK Search completed.
    C: a6 UID SEARCH UID $
    S: * SEARCH 4
    S: a6 OK Search completed.
    """)
    # an expunge by another session, seen at the next NOOP
    d = srv.login()
    d.cmd("SELECT INBOX", ok=True)
    d.cmd("UID STORE 4 +FLAGS.SILENT (\\Deleted)", ok=True)
    d.cmd("EXPUNGE", ok=True)
    c.conv(r"""
    C: b1 NOOP
    S: * 2 EXPUNGE
    S: b1 OK NOOP completed.
    C: b2 FETCH $ (UID)
    S: b2 OK Fetch completed.
    C: b3 UID SEARCH UID $
    S: * SEARCH
    S: b3 OK Search completed.
    """)


def test_dollar_reset_by_select(srv):
    c = setup(srv)
    c.cmd("CREATE Other", ok=True)
    c.cmd("COPY 1:4 Other", ok=True)
    c.cmd("SEARCH RETURN (SAVE) 1:2", ok=True)
    c.cmd("SELECT Other", ok=True)
    c.conv(r"""
    C: a3 SEARCH $
    S: * SEARCH
    S: a3 OK Search completed.
    C: a4 SEARCH RETURN (SAVE) 1
    S: a4 OK Search completed.
    C: a5 UNSELECT
    S: a5 OK Unselect completed.
    """)
    for cmd in ("EXAMINE Other", "SELECT INBOX"):
        c.cmd("UNSELECT")
        c.cmd("SEARCH RETURN (SAVE) 1", ok=False)    # not selected: BAD
        c.cmd(cmd, ok=True)
        u, _ = c.cmd("SEARCH $", ok=True)
        expect(u == ["* SEARCH"], (cmd, u))
        c.cmd("SEARCH RETURN (SAVE) 2", ok=True)
    # CLOSE empties it too
    c.cmd("CLOSE", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    expect_search(c, "$", [])
    # SELECT of the same mailbox empties it
    c.cmd("SEARCH RETURN (SAVE) 1", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    expect_search(c, "$", [])


@server_args(extra_conf="max_bad_commands = 1000")
def test_dollar_kept_or_reset_by_failures(srv):
    """RFC 9051 6.4.4.1: BAD never changes "$"; NO changes it only with
    SAVE (to empty); a SEARCH without SAVE never changes it."""
    c = setup(srv)
    c.cmd("SEARCH RETURN (SAVE) 2:3", ok=True)
    for args in ("RETURN (SAVE) NOSUCHKEY", "RETURN (SAVE FOO) ALL",
                 "CHARSET X-UNKNOWN ALL", "ALL", "RETURN (MIN) 4"):
        c.cmd(f"SEARCH {args}")
        expect_search(c, "$", [2, 3])
    # a string that is not UTF-8: BAD
    u, t = search_literal(c, "RETURN (SAVE) CHARSET UTF-8 SUBJECT", b"\xff\xfe", None,
                          ok=False)
    expect(" BAD " in t and u == [], t)
    expect_search(c, "$", [2, 3])
    # an unknown charset with a syntax error is BAD, not NO: "$" stays
    u, t = c.cmd("SEARCH RETURN (SAVE) CHARSET X-UNKNOWN NOSUCHKEY", ok=False)
    expect(" BAD " in t and u == [], t)
    expect_search(c, "$", [2, 3])
    # and with 8-bit bytes it cannot read: NO [BADCHARSET], not BAD
    u, t = search_literal(c, "CHARSET X-UNKNOWN SUBJECT", b"\xe9", None, ok=False)
    expect(" NO [BADCHARSET" in t and u == [], t)
    expect_search(c, "$", [2, 3])
    u, t = c.cmd("SEARCH RETURN (SAVE) CHARSET X-UNKNOWN ALL", ok=False)
    expect(" NO [BADCHARSET" in t and u == [], t)
    expect_search(c, "$", [])


def test_dollar_syntax(srv):
    c = setup(srv)
    c.cmd("SEARCH RETURN (SAVE) 1", ok=True)
    for cmd in ("FETCH $,2 UID", "FETCH 1:$ UID", "UID FETCH $$ UID",
                "STORE $: +FLAGS (\\Seen)", "COPY ($) INBOX", 'FETCH "$" UID',
                "SEARCH $:2", "SEARCH UID 1,$", "UID EXPUNGE 1,$"):
        u, t = c.cmd(cmd, ok=False)
        expect(" BAD " in t and u == [], (cmd, u, t))


def test_dollar_before_any_save(srv):
    c = setup(srv)
    expect_search(c, "$", [])
    u, t = c.cmd("FETCH $ UID", ok=True)
    expect(u == [], u)


def test_save_rev2(srv):
    """In IMAP4rev2 "SAVE" alone suppresses the ESEARCH that a SEARCH
    answers with (RFC 9051 6.4.4)."""
    c = setup(srv)
    c.cmd("ENABLE IMAP4rev2", ok=True)
    c.conv(r"""
    C: a1 SEARCH RETURN (SAVE) SEEN
    S: a1 OK Search completed.
    C: a2 UID SEARCH $
    S: * ESEARCH (TAG "a2") UID ALL 1,3
    S: a2 OK Search completed.
    C: a3 UID SEARCH RETURN (COUNT SAVE) UNSEEN
    S: * ESEARCH (TAG "a3") UID COUNT 2
    S: a3 OK Search completed.
    C: a4 FETCH $ (UID)
    S: * 2 FETCH (UID 2)
    S: * 4 FETCH (UID 4)
    S: a4 OK Fetch completed.
    """)
