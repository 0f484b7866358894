"""PARTIAL (RFC 9394): the PARTIAL return option of SEARCH, UID SEARCH,
SORT and UID SORT with ranges from the first and from the last result,
its interplay with MIN, MAX, COUNT and SAVE (RFC 9394 3.2 table 1), the
PARTIAL fetch modifier of UID FETCH (3.3), the RFC's own examples, and
bad ranges.

The mailbox: 30 messages, UIDs 1..30 with UIDs 11..15 expunged after a
first fill, so msns and UIDs differ (msn n has UID n for n <= 10, n + 5
after).  Every third message (msn 3, 6, ... 30) is \\Flagged; msns
1..10 are \\Seen."""
from roosttest import expect, seqset, server_args

MSG = "From: a@example.com\r\nSubject: s{n}\r\nDate: {d}\r\n\r\nbody {n}\r\n"


def uid_of(msn):
    return msn if msn <= 10 else msn + 5


def fill(srv):
    c = srv.login()
    for n in range(1, 36):
        # sent dates descending with n: SORT (DATE) is the reverse of
        # mailbox order
        c.append(msg=MSG.format(n=n, d=f"1 Jan 2020 10:{59 - n:02d}:00 +0000"))
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("UID STORE 11:15 +FLAGS.SILENT (\\Deleted)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    c.cmd("STORE 1:10 +FLAGS.SILENT (\\Seen)", ok=True)
    flagged = ",".join(str(m) for m in range(3, 31, 3))
    c.cmd(f"STORE {flagged} +FLAGS.SILENT (\\Flagged)", ok=True)
    c.cmd("LOGOUT")
    # a second session, which holds no \Recent
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    return c


def esearch(c, cmd):
    u, t = c.cmd(cmd, ok=True)
    lines = [x for x in u if x.startswith("* ESEARCH")]
    expect(len(lines) == 1, f"{cmd}: {u}")
    return lines[0]


def ends(c, cmd, tail):
    """cmd's ESEARCH response ends with tail."""
    line = esearch(c, cmd)
    expect(line.endswith(tail), f"{cmd}: {line}")


FLAGGED = list(range(3, 31, 3))          # msns, 10 of them


def test_search_partial_first_and_last(srv):
    c = fill(srv)
    # the first 4 flagged messages: msns 3 6 9 12
    ends(c, "SEARCH RETURN (PARTIAL 1:4) FLAGGED",
         " PARTIAL (1:4 3,6,9,12)")
    # reversed range is the same range, echoed as written
    ends(c, "SEARCH RETURN (PARTIAL 4:1) FLAGGED",
         " PARTIAL (4:1 3,6,9,12)")
    # UIDs: msn 12 is UID 17
    ends(c, "UID SEARCH RETURN (PARTIAL 1:4) FLAGGED",
         " UID PARTIAL (1:4 3,6,9,17)")
    # the last 3: msns 24 27 30 = UIDs 29 32 35
    ends(c, "UID SEARCH RETURN (PARTIAL -1:-3) FLAGGED",
         " UID PARTIAL (-1:-3 29,32,35)")
    ends(c, "SEARCH RETURN (PARTIAL -3:-1) FLAGGED",
         " PARTIAL (-3:-1 24,27,30)")
    # -2:-4: the 2nd to 4th from the end: 21 24 27
    ends(c, "SEARCH RETURN (PARTIAL -2:-4) FLAGGED",
         " PARTIAL (-2:-4 21,24,27)")
    # a middle page with consecutive UIDs becoming a range
    ends(c, "UID SEARCH RETURN (PARTIAL 8:12) ALL",
         " UID PARTIAL (8:12 8:10,16:17)")


def test_search_partial_past_the_end(srv):
    c = fill(srv)
    # spans the end: what is there
    ends(c, "SEARCH RETURN (PARTIAL 9:20) FLAGGED",
         " PARTIAL (9:20 27,30)")
    ends(c, "SEARCH RETURN (PARTIAL -9:-20) FLAGGED",
         " PARTIAL (-9:-20 3,6)")
    # wholly outside: NIL
    ends(c, "SEARCH RETURN (PARTIAL 11:20) FLAGGED",
         " PARTIAL (11:20 NIL)")
    ends(c, "SEARCH RETURN (PARTIAL -11:-4294967295) FLAGGED",
         " PARTIAL (-11:-4294967295 NIL)")
    # nothing matches at all
    ends(c, "SEARCH RETURN (PARTIAL 1:10) KEYWORD nosuch",
         " PARTIAL (1:10 NIL)")
    ends(c, "SEARCH RETURN (PARTIAL -1:-10 COUNT) KEYWORD nosuch",
         " COUNT 0 PARTIAL (-1:-10 NIL)")
    # the whole range of numbers
    ends(c, "SEARCH RETURN (PARTIAL 1:4294967295) FLAGGED",
         " PARTIAL (1:4294967295 " + seqset(FLAGGED) + ")")


def test_search_partial_with_min_max_count(srv):
    c = fill(srv)
    # answers that need the whole result next to an early-stopping page
    ends(c, "SEARCH RETURN (PARTIAL 1:2 MIN MAX COUNT) FLAGGED",
         " MIN 3 MAX 30 COUNT 10 PARTIAL (1:2 3,6)")
    ends(c, "SEARCH RETURN (MAX PARTIAL 1:2) FLAGGED",
         " MAX 30 PARTIAL (1:2 3,6)")
    ends(c, "SEARCH RETURN (MIN PARTIAL -1:-2) FLAGGED",
         " MIN 3 PARTIAL (-1:-2 27,30)")
    ends(c, "SEARCH RETURN (MIN PARTIAL 1:2) FLAGGED",
         " MIN 3 PARTIAL (1:2 3,6)")
    ends(c, "SEARCH RETURN (MAX PARTIAL -1:-2) FLAGGED",
         " MAX 30 PARTIAL (-1:-2 27,30)")
    ends(c, "SEARCH RETURN (COUNT PARTIAL -2:-2) FLAGGED",
         " COUNT 10 PARTIAL (-2:-2 27)")
    # text keys scan upward even for the last results
    line = esearch(c, 'UID SEARCH RETURN (PARTIAL -1:-2) BODY "body 3"')
    # "body 3" is in n = 3 and 30..35 (UID = n): the last two are 34 35
    expect(line.endswith(" UID PARTIAL (-1:-2 34:35)"), line)
    line = esearch(c, 'SEARCH RETURN (PARTIAL 1:2) BODY "body 3"')
    # msn 3 (UID 3) and msn 25 (UID 30)
    expect(line.endswith(" PARTIAL (1:2 3,25)"), line)


def saved(c):
    """The UIDs in the search result variable."""
    line = esearch(c, "UID SEARCH RETURN (ALL) UID $")
    return line.split(" ALL ")[1] if " ALL " in line else ""


def test_search_partial_save_table1(srv):
    """RFC 9394 3.2 table 1."""
    c = fill(srv)
    # SAVE PARTIAL: the page
    ends(c, "SEARCH RETURN (SAVE PARTIAL 2:3) FLAGGED",
         " PARTIAL (2:3 6,9)")
    expect(saved(c) == "6,9", saved(c))
    # SAVE PARTIAL MIN: page and MIN
    esearch(c, "SEARCH RETURN (SAVE PARTIAL 2:3 MIN) FLAGGED")
    expect(saved(c) == "3,6,9", saved(c))
    # SAVE PARTIAL MAX (msn 30 = UID 35)
    esearch(c, "SEARCH RETURN (SAVE PARTIAL 2:3 MAX) FLAGGED")
    expect(saved(c) == "6,9,35", saved(c))
    # SAVE PARTIAL MIN MAX
    esearch(c, "SEARCH RETURN (SAVE PARTIAL -2:-3 MIN MAX) FLAGGED")
    # -2:-3 = msns 24 27 -> UIDs 29 32
    expect(saved(c) == "3,29,32,35", saved(c))
    # SAVE PARTIAL COUNT: every message found
    esearch(c, "SEARCH RETURN (SAVE PARTIAL 1:1 COUNT) FLAGGED")
    expect(saved(c) == seqset([uid_of(m) for m in FLAGGED]), saved(c))
    # a page outside the results saves nothing of it
    esearch(c, "SEARCH RETURN (SAVE PARTIAL 50:60) FLAGGED")
    expect(saved(c) == "", saved(c))


def test_search_partial_rfc_examples(srv):
    """RFC 9394 3.1's conversation, on a mailbox whose UNDELETED UNKEYWORD
    $Junk search gives 30 results (its 23764 scaled down)."""
    c = fill(srv)
    c.conv(r"""
C: A01 UID SEARCH RETURN (PARTIAL -1:-100) UNDELETED UNKEYWORD $Junk
S: * ESEARCH (TAG "A01") UID PARTIAL (-1:-100 1:10,16:35)
S: A01 OK Search completed.
C: A02 UID SEARCH RETURN (PARTIAL 25:40) UNDELETED UNKEYWORD $Junk
C: A03 UID SEARCH RETURN (PARTIAL 1:5) UNDELETED UNKEYWORD $Junk
C: A04 UID SEARCH RETURN (PARTIAL 31:40) UNDELETED UNKEYWORD $Junk
S: * ESEARCH (TAG "A02") UID PARTIAL (25:40 30:35)
S: A02 OK Search completed.
S: * ESEARCH (TAG "A03") UID PARTIAL (1:5 1:5)
S: A03 OK Search completed.
S: * ESEARCH (TAG "A04") UID PARTIAL (31:40 NIL)
S: A04 OK Search completed.
""")


def test_sort_partial(srv):
    c = fill(srv)
    # SORT (DATE): sent dates descend with n, so sort order is msn 30,
    # 29, ... 1; the first three in sort order
    ends(c, "SORT RETURN (PARTIAL 1:3) (DATE) UTF-8 ALL",
         " PARTIAL (1:3 30,29,28)")
    # the last three in sort order: msns 3 2 1, written 3,2,1 (runs
    # only ascend, RFC 5267 3.2)
    ends(c, "SORT RETURN (PARTIAL -1:-3) (DATE) UTF-8 ALL",
         " PARTIAL (-1:-3 3,2,1)")
    # REVERSE DATE is mailbox order: an ascending run; UIDs
    ends(c, "UID SORT RETURN (PARTIAL 9:12) (REVERSE DATE) UTF-8 ALL",
         " UID PARTIAL (9:12 9:10,16:17)")
    ends(c, "SORT RETURN (MIN MAX COUNT PARTIAL 2:3) (DATE) UTF-8 FLAGGED",
         " MIN 30 MAX 3 COUNT 10 PARTIAL (2:3 27,24)")
    ends(c, "SORT RETURN (PARTIAL 11:12) (DATE) UTF-8 FLAGGED",
         " PARTIAL (11:12 NIL)")
    # SAVE with PARTIAL: the page (msns 27, 24 = UIDs 32, 29)
    u, t = c.cmd("SORT RETURN (SAVE PARTIAL 2:3) (DATE) UTF-8 FLAGGED", ok=True)
    expect(any(" PARTIAL (2:3 27,24)" in x for x in u), u)
    expect(saved(c) == "29,32", saved(c))


def test_uid_fetch_partial(srv):
    """RFC 9394 3.3, with the RFC's two examples scaled to this mailbox."""
    c = fill(srv)
    c.conv(r"""
C: 10 UID FETCH 5:40 (UID FLAGS) (PARTIAL -1:-3)
S: * 28 FETCH (UID 33 FLAGS ())
S: * 29 FETCH (UID 34 FLAGS ())
S: * 30 FETCH (UID 35 FLAGS (\Flagged))
S: 10 OK Fetch completed.
C: 11 UID FETCH 9:40 (UID FLAGS) (PARTIAL 1:5)
S: * 9 FETCH (UID 9 FLAGS (\Flagged \Seen))
S: * 10 FETCH (UID 10 FLAGS (\Seen))
S: * 11 FETCH (UID 16 FLAGS ())
S: * 12 FETCH (UID 17 FLAGS (\Flagged))
S: * 13 FETCH (UID 18 FLAGS ())
S: 11 OK Fetch completed.
C: 12 UID FETCH 1:* (UID) (PARTIAL 31:40)
S: 12 OK Fetch completed.
C: 13 FETCH 2,4,6:8 (UID) (partial -2:-1)
S: * 7 FETCH (UID 7)
S: * 8 FETCH (UID 8)
S: 13 OK Fetch completed.
C: 14 UID FETCH 1:* (UID) (PARTIAL 29:35)
S: * 29 FETCH (UID 34)
S: * 30 FETCH (UID 35)
S: 14 OK Fetch completed.
""")


@server_args(workers=1)
def test_partial_bad_input(srv):
    c = fill(srv)

    def bad(cmd):
        _, t = c.cmd(cmd)
        expect(" BAD " in t, f"{cmd}: {t}")
        # BADs in a row end the connection (max_bad_commands)
        c.cmd("NOOP", ok=True)

    bad_ranges = ["0:5", "1:0", "-0:-5", "1:-5", "-1:5", "5", "1:*", "*:5",
                  "1:4294967296", "-4294967296:-1", "1:2:3", "a:b", "1:5x",
                  "--1:-2", "-1:--2", ":5", "1:", "-:-", "01:5x"]
    for r in bad_ranges:
        bad(f"SEARCH RETURN (PARTIAL {r}) ALL")
        bad(f"SORT RETURN (PARTIAL {r}) (ARRIVAL) UTF-8 ALL")
        bad(f"UID FETCH 1:* (UID) (PARTIAL {r})")
    for cmd in ["SEARCH RETURN (PARTIAL) ALL",
                "SEARCH RETURN (PARTIAL (1:5)) ALL",
                "SEARCH RETURN (PARTIAL \"1:5\") ALL",
                "SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:7) ALL",
                "SEARCH RETURN (PARTIAL 1:5 ALL) ALL",
                "SEARCH RETURN (ALL PARTIAL 1:5) ALL",
                "SORT RETURN (ALL PARTIAL 1:5) (ARRIVAL) UTF-8 ALL",
                "UID FETCH 1:* (UID) (PARTIAL)",
                "UID FETCH 1:* (UID) (PARTIAL 1:2 PARTIAL 3:4)",
                "UID FETCH 1:* (UID) ()",
                "UID FETCH 1:* (UID) (NOSUCH 1)",
                "UID FETCH 1:* (UID) PARTIAL 1:2",
                "UID FETCH 1:* (UID) (PARTIAL 1:2) extra"]:
        bad(cmd)
    # a BAD leaves the saved result alone (RFC 9051 6.4.4.1)
    c.cmd("SEARCH RETURN (SAVE) 1:2", ok=True)
    c.cmd("SEARCH RETURN (SAVE PARTIAL 0:1) ALL", ok=False)
    expect(saved(c) == "1:2", saved(c))
    # the session still works
    ends(c, "SEARCH RETURN (PARTIAL 1:1) ALL",
         " PARTIAL (1:1 1)")


def test_partial_empty_mailbox(srv):
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    ends(c, "SEARCH RETURN (PARTIAL -1:-5) ALL",
         " PARTIAL (-1:-5 NIL)")
    ends(c, "SORT RETURN (PARTIAL 1:5) (DATE) UTF-8 ALL",
         " PARTIAL (1:5 NIL)")
    u, _ = c.cmd("UID FETCH 1:* (UID) (PARTIAL 1:5)", ok=True)
    expect(u == [], u)
