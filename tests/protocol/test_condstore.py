"""CONDSTORE (RFC 7162 section 3.1): the enabling commands, HIGHESTMODSEQ
in SELECT/EXAMINE and STATUS (LIST-STATUS too), FETCH MODSEQ and
(CHANGEDSINCE n), STORE (UNCHANGEDSINCE n) with [MODIFIED] (the RFC's
examples 3 to 8), SEARCH MODSEQ with entry names and the MODSEQ of
SEARCH and ESEARCH results, untagged FETCH with UID and MODSEQ for other
sessions' changes, and bad modseqs."""
import re

from roosttest import expect

MSG = "From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"


def setup(srv, n=5, select="SELECT INBOX"):
    c = srv.login()
    for _ in range(n):
        c.append()
    if select:
        c.cmd(select, ok=True)
    return c


def modseqs(c, seqset="1:*", uid=False):
    """{msn or uid: modseq} from FETCH (MODSEQ)."""
    u, _ = c.cmd(f"{'UID ' if uid else ''}FETCH {seqset} (UID MODSEQ)", ok=True)
    out = {}
    for line in u:
        m = re.match(r"\* (\d+) FETCH \(UID (\d+) MODSEQ \((\d+)\)\)$", line)
        if m:
            out[int(m.group(2) if uid else m.group(1))] = int(m.group(3))
    return out


def highestmodseq(c, box="INBOX"):
    u, _ = c.cmd(f"STATUS {box} (HIGHESTMODSEQ)", ok=True)
    return int(re.search(r"HIGHESTMODSEQ (\d+)", u[0]).group(1))


def test_capability_and_enable(srv):
    c = srv.login()
    u, _ = c.cmd("CAPABILITY", ok=True)
    caps = u[0].split()
    expect("CONDSTORE" in caps and "QRESYNC" in caps and "ENABLE" in caps, caps)
    u, _ = c.cmd("ENABLE CONDSTORE", ok=True)
    expect(u == ["* ENABLED CONDSTORE"], u)
    # once is enough: a second ENABLE lists nothing
    u, _ = c.cmd("ENABLE CONDSTORE", ok=True)
    expect(u == ["* ENABLED"], u)


def test_select_without_and_with_condstore(srv):
    c = setup(srv, select=None)
    # before any enabling command SELECT does not have to say it
    u, _ = c.cmd("SELECT INBOX", ok=True)
    expect(not any("HIGHESTMODSEQ" in x for x in u), u)
    # RFC 7162 example 18: the CONDSTORE parameter
    u, _ = c.cmd("SELECT INBOX (CONDSTORE)", ok=True)
    hm = [x for x in u if x.startswith("* OK [HIGHESTMODSEQ ")]
    expect(len(hm) == 1 and not any("NOMODSEQ" in x for x in u), u)
    value = int(re.search(r"HIGHESTMODSEQ (\d+)", hm[0]).group(1))
    expect(value == max(modseqs(c).values()), (value, modseqs(c)))
    # and every later SELECT/EXAMINE says it
    u, _ = c.cmd("EXAMINE INBOX", ok=True)
    expect(any(x.startswith("* OK [HIGHESTMODSEQ ") for x in u), u)


def test_enable_while_selected_sends_highestmodseq(srv):
    c = setup(srv)
    hm = highestmodseq(c)
    d = srv.login()
    d.cmd("ENABLE CONDSTORE", ok=True)
    d.cmd("SELECT INBOX", ok=True)
    # STATUS (HIGHESTMODSEQ) enabled it: the first enabling command with
    # a mailbox selected sent HIGHESTMODSEQ (RFC 7162 3.1)
    c2 = setup(srv, n=0)
    u, _ = c2.cmd("FETCH 1 (MODSEQ)", ok=True)
    expect(u[0] == f"* OK [HIGHESTMODSEQ {hm}] Highest mailbox modseq." and
           re.match(r"\* 1 FETCH \(MODSEQ \(\d+\)\)$", u[1]), u)
    # only the first one
    u, _ = c2.cmd("FETCH 1 (MODSEQ)", ok=True)
    expect(len(u) == 1, u)
    c3 = setup(srv, n=0)
    u, _ = c3.cmd("ENABLE CONDSTORE", ok=True)
    expect(u == ["* ENABLED CONDSTORE",
                 f"* OK [HIGHESTMODSEQ {hm}] Highest mailbox modseq."], u)


def test_each_enabling_command_turns_it_on(srv):
    """RFC 7162 3.1's list: after each, an untagged FETCH for another
    session's change carries UID and MODSEQ."""
    setup(srv, n=2, select=None)
    other = srv.login()
    other.cmd("SELECT INBOX", ok=True)
    commands = [
        "SELECT INBOX (CONDSTORE)", "EXAMINE INBOX (CONDSTORE)",
        "STATUS INBOX (HIGHESTMODSEQ)",
        'LIST "" "INBOX" RETURN (STATUS (HIGHESTMODSEQ))',
        "FETCH 1 (MODSEQ)", "FETCH 1 (FLAGS) (CHANGEDSINCE 1)",
        "SEARCH MODSEQ 1", "STORE 2 (UNCHANGEDSINCE 1) +FLAGS.SILENT (x)",
        "ENABLE CONDSTORE", "ENABLE QRESYNC",
    ]
    for i, command in enumerate(commands):
        c = srv.login()
        if not command.startswith(("SELECT", "EXAMINE")):
            c.cmd("SELECT INBOX", ok=True)
        c.cmd(command, ok=True)
        if command.startswith(("STATUS", "LIST", "ENABLE")):
            c.cmd("SELECT INBOX", ok=True)
        flag = "\\Flagged" if i % 2 == 0 else ""
        other.cmd(f"STORE 1 FLAGS ({flag})", ok=True)
        ms = modseqs(other, "1")[1]
        u, _ = c.cmd("NOOP", ok=True)
        fl = [x for x in u if " FETCH " in x]
        expect(len(fl) == 1 and re.fullmatch(
            rf"\* 1 FETCH \(UID 1 FLAGS \(.*\) MODSEQ \({ms}\)\)", fl[0]),
            (command, u))
    # a session that used none of them gets no MODSEQ
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    other.cmd("STORE 1 +FLAGS (\\Answered)", ok=True)
    u, _ = c.cmd("NOOP", ok=True)
    expect(u == ["* 1 FETCH (FLAGS (\\Answered))"], u)


def test_status_and_list_status_highestmodseq(srv):
    c = setup(srv, n=3, select=None)
    hm = highestmodseq(c)
    u, _ = c.cmd("STATUS INBOX (MESSAGES HIGHESTMODSEQ)", ok=True)
    expect(u == [f"* STATUS INBOX (MESSAGES 3 HIGHESTMODSEQ {hm})"], u)
    u, _ = c.cmd('LIST "" "INBOX" RETURN (STATUS (HIGHESTMODSEQ))', ok=True)
    expect(f"* STATUS INBOX (HIGHESTMODSEQ {hm})" in u, u)
    # every flag change and every expunge raises it
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("STORE 1 +FLAGS (\\Seen)", ok=True)
    h2 = highestmodseq(c)
    expect(h2 > hm, (hm, h2))
    c.cmd("STORE 1 +FLAGS (\\Seen)", ok=True)    # no change: same
    expect(highestmodseq(c) == h2)
    c.cmd("STORE 2 +FLAGS (\\Deleted)", ok=True)
    h3 = highestmodseq(c)
    c.cmd("EXPUNGE", ok=True)
    expect(highestmodseq(c) > h3)
    # an empty new mailbox has one too
    c.cmd("CREATE Empty", ok=True)
    u, _ = c.cmd("STATUS Empty (HIGHESTMODSEQ)", ok=True)
    expect(re.fullmatch(r"\* STATUS Empty \(HIGHESTMODSEQ [1-9]\d*\)", u[0]), u)


def test_fetch_modseq_example_13(srv):
    c = setup(srv, n=3)
    u, _ = c.cmd("FETCH 1:3 (MODSEQ)", ok=True)
    expect(u[0].startswith("* OK [HIGHESTMODSEQ "), u)
    u = u[1:]
    ms = modseqs(c)
    expect(u == [f"* {i} FETCH (MODSEQ ({ms[i]}))" for i in (1, 2, 3)], u)
    # appends get increasing modseqs
    expect(ms[1] < ms[2] < ms[3], ms)


def test_fetch_changedsince(srv):
    c = setup(srv, n=5)
    c.cmd("ENABLE CONDSTORE", ok=True)
    base = highestmodseq(c)
    c.cmd("STORE 2 +FLAGS (\\Seen)", ok=True)
    c.cmd("STORE 4 +FLAGS (\\Flagged)", ok=True)
    ms = modseqs(c)
    # RFC 7162 3.1.4.1: only messages above n, MODSEQ added
    u, _ = c.cmd(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {base})", ok=True)
    expect(u == [f"* 2 FETCH (FLAGS (\\Seen \\Recent) MODSEQ ({ms[2]}))",
                 f"* 4 FETCH (FLAGS (\\Flagged \\Recent) MODSEQ ({ms[4]}))"], u)
    u, _ = c.cmd(f"UID FETCH 1:3 (FLAGS) (CHANGEDSINCE {base})", ok=True)
    expect(u == [f"* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent) MODSEQ ({ms[2]}))"], u)
    u, _ = c.cmd(f"FETCH 1:* (UID) (CHANGEDSINCE {max(ms.values())})", ok=True)
    expect(u == [], u)


def test_fetch_setting_seen_carries_uid_and_modseq(srv):
    c = setup(srv, n=2)
    c.cmd("ENABLE CONDSTORE", ok=True)
    u, _ = c.cmd("FETCH 1 (BODY[TEXT])", ok=True)
    ms = modseqs(c, "1")[1]
    expect(u[0] == f"* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) MODSEQ ({ms}) "
           "BODY[TEXT] {7}" or u[0].startswith(
               f"* 1 FETCH (UID 1 FLAGS (\\Seen \\Recent) MODSEQ ({ms}) BODY[TEXT]"), u)


def test_store_unchangedsince_examples(srv):
    c = setup(srv, n=9)
    c.cmd("ENABLE CONDSTORE", ok=True)
    ms = modseqs(c)
    top = max(ms.values())
    # example 3: all pass; .SILENT still answers MODSEQ, with UID
    u, t = c.cmd(f"UID STORE 6,4,8 (UNCHANGEDSINCE {top}) +FLAGS.SILENT (\\Deleted)")
    ms2 = modseqs(c)
    expect(u == [f"* {i} FETCH (UID {i} MODSEQ ({ms2[i]}))" for i in (4, 6, 8)], u)
    expect(t.endswith("OK Store completed."), t)
    expect(ms2[4] > top, (ms, ms2))
    # example 4: "*"
    u, t = c.cmd(f"STORE * (UNCHANGEDSINCE {max(ms2.values())}) "
                 "+FLAGS.SILENT (\\Deleted $Processed)")
    ms3 = modseqs(c)
    expect(u[-1] == f"* 9 FETCH (UID 9 MODSEQ ({ms3[9]}))" and "OK Store" in t, (u, t))
    # examples 6: 7 and 9 changed since, 5 did not: 5 is changed, the
    # others are named in MODIFIED, the flags of the failed ones shown
    c.cmd("STORE 7 +FLAGS (\\Seen)", ok=True)
    c.cmd("STORE 9 -FLAGS ($Processed)", ok=True)
    since = ms3[5]
    u, t = c.cmd(f"STORE 7,5,9 (UNCHANGEDSINCE {since}) +FLAGS.SILENT (\\Answered)")
    ms4 = modseqs(c)
    expect(u == [f"* 5 FETCH (UID 5 MODSEQ ({ms4[5]}))"], u)
    expect(t.split(" ", 2)[1:] == ["OK", "[MODIFIED 7,9] Conditional STORE failed "
                                   "for some messages."], t)
    u, _ = c.cmd("FETCH 5,7,9 (FLAGS)", ok=True)
    expect("\\Answered" in u[0] and "\\Answered" not in u[1] + u[2], u)
    # without .SILENT the failed ones are answered with their flags too
    c.cmd("STORE 7 -FLAGS (\\Answered)", ok=True)    # no change: same modseq
    c.cmd("STORE 7 +FLAGS ($X)", ok=True)
    c.cmd("STORE 7 -FLAGS ($X)", ok=True)
    u, t = c.cmd(f"STORE 7,5 (UNCHANGEDSINCE {ms4[5]}) +FLAGS (\\Draft)")
    ms5 = modseqs(c)
    expect(u == [f"* 5 FETCH (UID 5 FLAGS (\\Answered \\Draft \\Recent) MODSEQ ({ms5[5]}))",
                 f"* 7 FETCH (UID 7 FLAGS (\\Seen \\Recent) MODSEQ ({ms5[7]}))"], u)
    expect("[MODIFIED 7]" in t, t)
    # UID STORE names UIDs in MODIFIED
    u, t = c.cmd(f"UID STORE 1:9 (UNCHANGEDSINCE {ms5[1]}) +FLAGS.SILENT (\\Flagged)")
    expect(" OK [MODIFIED 2:9] " in t, t)


def test_store_unchangedsince_zero_example_8(srv):
    c = setup(srv, n=12)
    u, t = c.cmd("STORE 12 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)")
    # the first enabling command: HIGHESTMODSEQ; nothing is changed and
    # the keyword is not even created
    expect(len(u) == 1 and u[0].startswith("* OK [HIGHESTMODSEQ "), u)
    expect(t.split(" ", 2)[1:] == ["OK", "[MODIFIED 12] Conditional STORE failed "
                                   "for some messages."], t)
    u, _ = c.cmd("FETCH 12 (FLAGS)", ok=True)
    expect(u == ["* 12 FETCH (FLAGS (\\Recent))"], u)
    u, _ = c.cmd("SELECT INBOX", ok=True)
    expect("$MDNSent" not in " ".join(u), u)


def test_store_modseq_across_sessions_example_14(srv):
    a = setup(srv, n=7)
    b = srv.login()
    b.cmd("SELECT INBOX (CONDSTORE)", ok=True)
    a.cmd("ENABLE CONDSTORE", ok=True)
    u, _ = a.cmd("STORE 7 +FLAGS.SILENT (\\Deleted)", ok=True)
    m = re.fullmatch(r"\* 7 FETCH \(UID 7 MODSEQ \((\d+)\)\)", u[0])
    expect(m and len(u) == 1, u)
    u, _ = b.cmd("NOOP", ok=True)
    expect(u == [f"* 7 FETCH (UID 7 FLAGS (\\Deleted) MODSEQ ({m.group(1)}))"], u)
    a.cmd("STORE 7 -FLAGS.SILENT (\\Deleted)", ok=True)
    u, _ = b.cmd("NOOP", ok=True)
    expect(re.fullmatch(r"\* 7 FETCH \(UID 7 FLAGS \(\) MODSEQ \(\d+\)\)", u[0]), u)


def test_search_modseq_examples_15_16_19(srv):
    c = setup(srv, n=5)
    c.cmd("STORE 2 +FLAGS (\\Draft)", ok=True)
    c.cmd("STORE 4 +FLAGS (\\Draft)", ok=True)
    ms = modseqs(c)
    since = ms[2]
    u, _ = c.cmd(f'SEARCH MODSEQ "/flags/\\\\draft" all {since}', ok=True)
    expect(u == [f"* SEARCH 2 4 (MODSEQ {ms[4]})"], u)
    u, _ = c.cmd(f'UID SEARCH MODSEQ "/flags/$Forwarded" priv {since} DRAFT', ok=True)
    expect(u == [f"* SEARCH 2 4 (MODSEQ {ms[4]})"], u)
    # example 16: nothing found, no MODSEQ
    u, t = c.cmd(f"SEARCH OR NOT MODSEQ {since} LARGER 50000 MODSEQ {ms[4] + 1}", ok=True)
    expect(u == ["* SEARCH"], u)
    # example 19: ESEARCH
    u, _ = c.cmd(f"SEARCH RETURN (ALL) MODSEQ {since}", ok=True)
    expect(u == [f'* ESEARCH (TAG "t{c.tagn}") ALL 2,4 MODSEQ {ms[4]}'], u)
    u, _ = c.cmd("SEARCH RETURN (COUNT) MODSEQ 0", ok=True)
    expect(u == [f'* ESEARCH (TAG "t{c.tagn}") COUNT 5 MODSEQ {max(ms.values())}'], u)
    # no MODSEQ key: no MODSEQ in the result
    u, _ = c.cmd("SEARCH DRAFT", ok=True)
    expect(u == ["* SEARCH 2 4"], u)


def test_bad_modseqs(srv):
    c = setup(srv, n=2)
    for command in ["FETCH 1 (FLAGS) (CHANGEDSINCE 0)",
                    "FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775808)",
                    "FETCH 1 (FLAGS) (CHANGEDSINCE -1)",
                    "FETCH 1 (FLAGS) (CHANGEDSINCE)",
                    "FETCH 1 (FLAGS) (CHANGEDSINCE 1 CHANGEDSINCE 2)",
                    "FETCH 1 (FLAGS) (FOO)",
                    "FETCH 1 (FLAGS) ()",
                    "FETCH 1 (FLAGS) (CHANGEDSINCE 1) extra",
                    "STORE 1 (UNCHANGEDSINCE 9223372036854775808) +FLAGS (x)",
                    "STORE 1 (UNCHANGEDSINCE) +FLAGS (x)",
                    "STORE 1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 1) +FLAGS (x)",
                    "STORE 1 (FOO 1) +FLAGS (x)",
                    "STORE 1 (UNCHANGEDSINCE 1)",
                    "SEARCH MODSEQ 9223372036854775808",
                    "SEARCH MODSEQ",
                    'SEARCH MODSEQ "/flags/\\\\seen" none 1',
                    'SEARCH MODSEQ "/other/x" all 1',
                    'SEARCH MODSEQ "/flags/\\\\seen" all',
                    "SELECT INBOX (CONDSTORE CONDSTORE)",
                    "SELECT INBOX (FOO)",
                    "SELECT INBOX ()",
                    "STATUS INBOX (HIGHESTMODSEQ FOO)"]:
        _, t = c.cmd(command)
        expect(t.split(" ")[1] == "BAD", (command, t))
        c.cmd("NOOP", ok=True)     # BAD in a row would end the session
    # the largest modseq is fine
    c.cmd("FETCH 1 (FLAGS) (CHANGEDSINCE 9223372036854775807)", ok=True)
    c.cmd("STORE 1 (UNCHANGEDSINCE 9223372036854775807) +FLAGS (x)", ok=True)
    c.cmd("SEARCH MODSEQ 9223372036854775807", ok=True)


def test_sort_modseq_example_20(srv):
    c = setup(srv, n=5)
    c.cmd("STORE 1,3 +FLAGS (\\Flagged)", ok=True)
    ms = modseqs(c)
    since = ms[1]
    u, _ = c.cmd(f"SORT (ARRIVAL) UTF-8 MODSEQ {since}", ok=True)
    expect(u == [f"* SORT 1 3 (MODSEQ {ms[3]})"], u)
    u, _ = c.cmd(f"SORT RETURN (ALL) (ARRIVAL) UTF-8 MODSEQ {since}", ok=True)
    expect(u == [f'* ESEARCH (TAG "t{c.tagn}") ALL 1,3 MODSEQ {ms[3]}'], u)
    u, _ = c.cmd(f"SORT (ARRIVAL) UTF-8 MODSEQ {ms[3] + 1}", ok=True)
    expect(u == ["* SORT"], u)
    # THREAD answers are unchanged (RFC 7162 3.1.9)
    u, _ = c.cmd(f"THREAD ORDEREDSUBJECT UTF-8 MODSEQ {since}", ok=True)
    expect(u[0].startswith("* THREAD ") and "MODSEQ" not in u[0], u)
