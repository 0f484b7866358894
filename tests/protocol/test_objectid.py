"""OBJECTID (RFC 8474): MAILBOXID in CREATE, SELECT/EXAMINE, STATUS and
LIST-STATUS, kept across RENAME (INBOX's rename makes a new mailbox);
EMAILID and THREADID in FETCH and SEARCH, kept across COPY and MOVE, the
RFC's own examples; the same ids seen from sessions in two workers; ids
kept by `roost check --rebuild` and by the migration of an older index;
and bad object ids."""
import os
import re
import sqlite3

from roosttest import expect, server_args
from test_rebuild import rebuild, userdir

OBJECTID = r"[A-Za-z0-9_-]{1,255}"
# SQL that turns a current index back into schema 6 (what the step
# 6 -> 8 adds), for the migration tests here and in other files
UNDO_SCHEMA_8 = """
    ALTER TABLE mailboxes DROP COLUMN mailboxid;
    ALTER TABLE messages DROP COLUMN emailid;
    ALTER TABLE messages DROP COLUMN threadid;
    ALTER TABLE messages DROP COLUMN savedate;
    DROP TABLE previews;
    DROP TABLE threads;
"""

# RFC 8474 5.3's three messages
MSG_A = ("Subject: Message A\r\n"
         "Message-ID: <fake.1521475657.54797@example.com>\r\n"
         "\r\nfirst\r\n")
MSG_B = ("Subject: Re: Message A\r\n"
         "Message-ID: <fake.1521475657.21213@example.org>\r\n"
         "References: <fake.1521475657.54797@example.com>\r\n"
         "\r\nreply\r\n")
MSG_C = ("Subject: Message C\r\n"
         "Message-ID: <fake.1521475657.60280@example.com>\r\n"
         "\r\nother\r\n")


def mailboxid_of(lines, tagged=None):
    """The objectid of the [MAILBOXID (...)] code or STATUS item in the
    lines (and the tagged line)."""
    for line in lines + ([tagged] if tagged else []):
        m = re.search(r"MAILBOXID \((" + OBJECTID + r")\)", line)
        if m:
            return m.group(1)
    raise AssertionError(f"no MAILBOXID in {lines} {tagged}")


def status_id(c, box):
    untagged, _ = c.cmd(f"STATUS {box} (MAILBOXID)", ok=True)
    expect(len(untagged) == 1, untagged)
    return mailboxid_of(untagged)


def fetch_ids(c, seqset="1:*"):
    """{msn: (emailid, threadid)} of a FETCH (EMAILID THREADID)."""
    untagged, _ = c.cmd(f"FETCH {seqset} (EMAILID THREADID)", ok=True)
    ids = {}
    for line in untagged:
        m = re.fullmatch(r"\* (\d+) FETCH \(EMAILID \((" + OBJECTID + r")\) "
                         r"THREADID \((" + OBJECTID + r")\)\)", line)
        expect(m is not None, line)
        ids[int(m.group(1))] = (m.group(2), m.group(3))
    return ids


def test_capability(srv):
    c = srv.connect()
    c.greeting()
    untagged, _ = c.cmd("CAPABILITY", ok=True)
    caps = untagged[0].split()
    for cap in ("OBJECTID", "SAVEDATE", "PREVIEW"):
        expect(cap in caps, f"{cap} not in {untagged[0]}")


def test_mailboxid_create_status_rename(srv):
    # RFC 8474 4.1 and 4.3, the RFC's examples
    c = srv.login()
    _, tagged = c.cmd("CREATE foo", ok=True)
    expect(re.fullmatch(r"\S+ OK \[MAILBOXID \(" + OBJECTID + r"\)\] .*", tagged), tagged)
    foo = mailboxid_of([], tagged)
    _, tagged = c.cmd("CREATE bar", ok=True)
    bar = mailboxid_of([], tagged)
    expect(foo != bar, "two mailboxes with one MAILBOXID")
    _, tagged = c.cmd("CREATE foo")
    expect(" NO " in tagged, tagged)
    expect(status_id(c, "foo") == foo, "STATUS disagrees with CREATE")
    expect(status_id(c, "bar") == bar, "STATUS disagrees with CREATE")
    c.cmd("RENAME foo renamed", ok=True)
    expect(status_id(c, "renamed") == foo, "RENAME changed the MAILBOXID")
    expect(status_id(c, "bar") == bar, "RENAME changed another MAILBOXID")
    # with the other items, in the order asked
    untagged, _ = c.cmd("STATUS bar (MESSAGES MAILBOXID UIDNEXT)", ok=True)
    expect(re.fullmatch(r"\* STATUS bar \(MESSAGES 0 MAILBOXID \(" + bar + r"\) UIDNEXT 1\)",
                        untagged[0]), untagged)
    # LIST-STATUS (RFC 8474 4.3's last example)
    untagged, _ = c.cmd('LIST "" "*" RETURN (STATUS (MAILBOXID))', ok=True)
    status = {}
    for line in untagged:
        m = re.fullmatch(r'\* STATUS "?([^"]+)"? \(MAILBOXID \((' + OBJECTID + r')\)\)', line)
        if m:
            status[m.group(1)] = m.group(2)
    expect(status.get("renamed") == foo and status.get("bar") == bar, status)
    expect(len(set(status.values())) == len(status), f"ids repeated: {status}")
    # SELECT and EXAMINE (RFC 8474 4.2)
    for verb in ("SELECT", "EXAMINE"):
        untagged, _ = c.cmd(f"{verb} renamed", ok=True)
        expect(f"* OK [MAILBOXID ({foo})] Mailbox id." in untagged, untagged)
    # a mailbox deleted and created again is another mailbox
    c.cmd("UNSELECT", ok=True)
    c.cmd("DELETE bar", ok=True)
    _, tagged = c.cmd("CREATE bar", ok=True)
    expect(mailboxid_of([], tagged) not in (foo, bar), "a MAILBOXID was reused")


def test_inbox_rename_makes_a_new_mailbox(srv):
    # RFC 8474 4: renaming INBOX "is treated as creating a new mailbox
    # and moving the messages": the new one has a new id, INBOX keeps its
    c = srv.login()
    c.append(msg=MSG_A)
    inbox = status_id(c, "INBOX")
    c.cmd("SELECT INBOX", ok=True)
    [(emailid, threadid)] = fetch_ids(c).values()
    c.cmd("UNSELECT", ok=True)
    c.cmd("RENAME INBOX old", ok=True)
    old = status_id(c, "old")
    expect(status_id(c, "INBOX") == inbox, "INBOX's MAILBOXID changed")
    expect(old != inbox, "the renamed INBOX kept INBOX's MAILBOXID")
    # the message moved: the same EMAILID and THREADID
    c.cmd("SELECT old", ok=True)
    expect(list(fetch_ids(c).values()) == [(emailid, threadid)], "ids changed by the move")


def test_rfc_example_emailid_threadid(srv):
    # RFC 8474 5.3 and 6
    c = srv.login()
    for m in (MSG_A, MSG_B, MSG_C):
        c.append(msg=m, date="20-Mar-2018 03:07:37 +1100")
    c.cmd("CREATE foo", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    ids = fetch_ids(c)
    (e1, t1), (e2, t2), (e3, t3) = ids[1], ids[2], ids[3]
    expect(len({e1, e2, e3}) == 3, f"EMAILIDs repeat: {ids}")
    expect(t1 == t2, "the reply is not in its parent's thread")
    expect(t3 != t1, "an unrelated message joined the thread")
    expect(not {e1, e2, e3} & {t1, t3}, "an EMAILID equals a THREADID")
    # SEARCH (RFC 8474 6), before the MOVE
    untagged, _ = c.cmd(f"SEARCH EMAILID {e1}", ok=True)
    expect(untagged == ["* SEARCH 1"], untagged)
    untagged, _ = c.cmd(f"SEARCH THREADID {t1}", ok=True)
    expect(untagged == ["* SEARCH 1 2"], untagged)
    untagged, _ = c.cmd(f"UID SEARCH THREADID {t3}", ok=True)
    expect(untagged == ["* SEARCH 3"], untagged)
    # ids are case-sensitive (RFC 8474 7)
    untagged, _ = c.cmd(f"SEARCH EMAILID {e1.swapcase()}", ok=True)
    expect(untagged == ["* SEARCH"], untagged)
    untagged, _ = c.cmd(f"SEARCH OR EMAILID {e2} EMAILID {e3} NOT THREADID {t1}", ok=True)
    expect(untagged == ["* SEARCH 3"], untagged)
    # MOVE keeps both (RFC 8474 5.1)
    untagged, _ = c.cmd("MOVE 2 foo", ok=True)
    ids = fetch_ids(c)
    expect(ids == {1: (e1, t1), 2: (e3, t3)}, ids)
    c.cmd("SELECT foo", ok=True)
    expect(fetch_ids(c) == {1: (e2, t2)}, "MOVE changed the ids")
    # COPY keeps them too, and the copy joins the same EMAILID's SEARCH
    c.cmd("COPY 1 INBOX", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    expect(fetch_ids(c)[3] == (e2, t2), "COPY changed the ids")
    untagged, _ = c.cmd(f"SEARCH THREADID {t1}", ok=True)
    expect(untagged == ["* SEARCH 1 3"], untagged)


def test_threads_across_mailboxes_and_order(srv):
    # a reply that arrives before its parent, in another mailbox: the
    # parent then joins the reply's thread (its Message-ID is known)
    c = srv.login()
    c.cmd("CREATE Sent", ok=False)
    c.append(box="Sent", msg=MSG_B)
    c.append(msg=MSG_A)
    # a message that links two existing threads joins the first it names
    link = ("Subject: both\r\nMessage-ID: <link@example.net>\r\n"
            "References: <fake.1521475657.60280@example.com> "
            "<fake.1521475657.54797@example.com>\r\n\r\nx\r\n")
    c.append(msg=MSG_C)
    c.append(msg=link)
    # no Message-ID at all: a thread of its own
    c.append(msg="Subject: none\r\n\r\nbody\r\n")
    c.cmd("SELECT Sent", ok=True)
    [(_, t_reply)] = fetch_ids(c).values()
    c.cmd("SELECT INBOX", ok=True)
    ids = fetch_ids(c)
    expect(ids[1][1] == t_reply, "the parent did not join its reply's thread")
    expect(ids[2][1] != t_reply, "C joined A's thread")
    expect(ids[3][1] == ids[2][1], "the linking message did not join the first it names")
    expect(ids[1][1] == t_reply, "threads were merged: a THREADID changed")
    expect(ids[4][1] not in (ids[1][1], ids[2][1]), "a message without ids joined a thread")


@server_args(workers=2, extra_conf="max_preauth_connections_per_ip = 0")
def test_ids_same_from_sessions_in_two_workers(srv):
    a = srv.login()
    for m in (MSG_A, MSG_B, MSG_C):
        a.append(msg=m)
    a.cmd("SELECT INBOX", ok=True)
    want_ids = fetch_ids(a)
    want_box = status_id(a, "INBOX")
    # 16 sessions: both workers have some (all in one: p = 2 / 2^16)
    sessions = [srv.login() for _ in range(16)]
    pids = srv.worker_pids()
    counts = [srv.worker_connections(pid) for pid in pids]
    expect(len(pids) == 2 and min(counts) >= 1, f"sessions per worker: {counts}")
    for c in sessions:
        untagged, _ = c.cmd("EXAMINE INBOX", ok=True)
        expect(mailboxid_of(untagged) == want_box, "MAILBOXID differs between sessions")
        expect(fetch_ids(c) == want_ids, "ids differ between sessions")
        untagged, _ = c.cmd(f"SEARCH THREADID {want_ids[1][1]}", ok=True)
        expect(untagged == ["* SEARCH 1 2"], untagged)
    for c in sessions:
        c.close()


def snapshot(srv):
    """What a client sees of the ids: {box: (MAILBOXID, {uid: (emailid,
    threadid, savedate)})}."""
    c = srv.login()
    out = {}
    for box in ("INBOX", "foo"):
        untagged, _ = c.cmd(f"EXAMINE {box}", ok=True)
        mid = mailboxid_of(untagged)
        untagged, _ = c.cmd("FETCH 1:* (UID EMAILID THREADID SAVEDATE)", ok=True)
        msgs = {}
        for line in untagged:
            m = re.fullmatch(r"\* \d+ FETCH \(UID (\d+) EMAILID \((\S+)\) THREADID \((\S+)\) "
                             r'SAVEDATE "([^"]+)"\)', line)
            expect(m is not None, line)
            msgs[int(m.group(1))] = m.groups()[1:]
        out[box] = (mid, msgs)
    c.cmd("LOGOUT")
    return out


def setup_two_boxes(srv):
    c = srv.login()
    c.cmd("CREATE foo", ok=True)
    for m in (MSG_A, MSG_B, MSG_C):
        c.append(msg=m)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("COPY 1 foo", ok=True)
    c.cmd("MOVE 3 foo", ok=True)
    c.cmd("LOGOUT")


def test_rebuild_keeps_ids_when_the_old_index_reads(srv):
    setup_two_boxes(srv)
    before = snapshot(srv)
    rebuild(srv, drop_index=False)
    expect(snapshot(srv) == before, "the rebuild changed ids or save dates")
    # a message delivered after the rebuild that replies to A joins A's
    # thread: the thread table came along
    c = srv.login()
    c.append(msg="Subject: Re: A\r\nIn-Reply-To: <fake.1521475657.54797@example.com>"
             "\r\n\r\nlate\r\n")
    c.cmd("SELECT INBOX", ok=True)
    ids = fetch_ids(c)
    expect(ids[3][1] == ids[1][1], "a reply after the rebuild left its thread")


def test_rebuild_without_old_index_makes_valid_ids(srv):
    setup_two_boxes(srv)
    rebuild(srv, drop_index=True)
    after = snapshot(srv)
    inbox, foo = after["INBOX"], after["foo"]
    expect(inbox[0] != foo[0], "two mailboxes with one MAILBOXID")
    msgs = list(inbox[1].values())
    expect(msgs[0][1] == msgs[1][1], "the reply left its thread in the rebuild")
    expect(len({m[0] for m in msgs} | {m[0] for m in foo[1].values()}) == 4,
           "EMAILIDs repeat after the rebuild")


def test_migration_from_schema_6_gives_ids(srv):
    c = srv.login()
    for m in (MSG_A, MSG_B, MSG_C):
        c.append(msg=m)
    c.cmd("LOGOUT")
    srv.stop()
    # make the index what schema 6 had: no id columns, no thread table,
    # no tombstone floor (schema 9), no Sieve tracking table (schema 10)
    db = sqlite3.connect(os.path.join(userdir(srv), "index.sqlite"))
    db.executescript(f"BEGIN; {UNDO_SCHEMA_8} ALTER TABLE mailboxes DROP COLUMN tombstone_floor; "
                     "DROP TABLE sieve_track; DROP TABLE tool_state; "
                     "PRAGMA user_version = 6; COMMIT;")
    db.close()
    srv.start()
    c = srv.login()
    untagged, _ = c.cmd("SELECT INBOX", ok=True)
    mailboxid_of(untagged)
    ids = fetch_ids(c)
    expect(ids[1][1] == ids[2][1] != ids[3][1], f"threads after the migration: {ids}")
    untagged, _ = c.cmd("FETCH 1 (SAVEDATE PREVIEW)", ok=True)
    expect(re.fullmatch(r'\* 1 FETCH \(SAVEDATE "[^"]+" PREVIEW "first"\)', untagged[0]),
           untagged)


def test_bad_object_ids(srv):
    c = srv.login()
    c.append(msg=MSG_A)
    c.cmd("SELECT INBOX", ok=True)
    for key in ('EMAILID "a b"', "EMAILID a.b", "THREADID", "EMAILID " + "x" * 256,
                'THREADID ""', "EMAILID (M1)"):
        _, tagged = c.cmd(f"SEARCH {key}")
        expect(" BAD " in tagged, f"{key}: {tagged}")
    # a well-formed id nobody has matches nothing
    untagged, _ = c.cmd("SEARCH EMAILID " + "x" * 255, ok=True)
    expect(untagged == ["* SEARCH"], untagged)
