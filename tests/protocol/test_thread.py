"""THREAD and UID THREAD (RFC 5256 section 3) with ORDEREDSUBJECT and
REFERENCES, answered from the keys cached at delivery.

Each expected answer is worked out by hand, step by step, from RFC 5256
sections 2.1 (base subject) and 3 (the algorithms) in the comments above
it; nothing here runs a threading algorithm."""
import glob
import os

from roosttest import expect, server_args


def msg(mid=None, subject=None, date=None, refs=None, irt=None):
    h = ""
    if mid is not None:
        h += f"Message-ID: {mid}\r\n"
    if subject is not None:
        h += f"Subject: {subject}\r\n"
    if date is not None:
        h += f"Date: Wed, 01 Jan 2020 {date} +0000\r\n"
    if refs is not None:
        h += f"References: {refs}\r\n"
    if irt is not None:
        h += f"In-Reply-To: {irt}\r\n"
    return h + "\r\nbody\r\n"


def load(srv, msgs, uid_offset=False):
    c = srv.login()
    if uid_offset:
        c.append(msg="Subject: gone\r\n\r\nx\r\n")
    for m in msgs:
        c.append(msg=m)
    c.cmd("SELECT INBOX", ok=True)
    if uid_offset:
        c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
        c.cmd("EXPUNGE", ok=True)
    return c


def expect_thread(c, args, want, prefix="THREAD"):
    u, _ = c.cmd(f"{prefix} {args}", ok=True)
    line = "* THREAD" + (f" {want}" if want else "")
    expect(u == [line], f"{prefix} {args}: got {u}, want {line!r}")


# ---- ORDEREDSUBJECT ----
#
# Base subjects (2.1): 1 Hello, 2 hello, 3 World, 4 World, 5 hello (the
# "(fwd)" trailer goes), 6 Other.  Grouped case-insensitively and each
# group sorted by sent date: hello = 2 (09:00), 1 (10:00), 5 (12:00);
# World = 3 (08:00), 4 (11:00); Other = 6 (07:00).  Threads in order of
# their first message's date: Other, World, hello.  The first message is
# the root, the second its child, later ones siblings of the second:
#   (6)(3 4)(2 (1)(5))
ORDERED = [
    msg("<o1@x>", "Hello", "10:00:00"),
    msg("<o2@x>", "Re: hello", "09:00:00"),
    msg("<o3@x>", "World", "08:00:00"),
    msg("<o4@x>", "Re: World", "11:00:00"),
    msg("<o5@x>", "hello (fwd)", "12:00:00"),
    msg("<o6@x>", "Other", "07:00:00"),
]


def test_orderedsubject(srv):
    c = load(srv, ORDERED)
    expect_thread(c, "ORDEREDSUBJECT UTF-8 ALL", "(6)(3 4)(2 (1)(5))")
    # only 1, 3, 5: hello = 1 (10:00), 5 (12:00); World = 3 -> World
    # first (08:00): (3)(1 5)
    expect_thread(c, "ORDEREDSUBJECT UTF-8 1,3,5", "(3)(1 5)")
    # RFC 5256 example A284: nothing matches
    expect_thread(c, 'ORDEREDSUBJECT US-ASCII TEXT "gewp"', "")


def test_uid_orderedsubject(srv):
    c = load(srv, ORDERED, uid_offset=True)
    # UIDs are msn + 1
    expect_thread(c, "ORDEREDSUBJECT UTF-8 ALL", "(7)(4 5)(3 (2)(6))",
                  prefix="UID THREAD")
    expect_thread(c, "orderedsubject utf-8 ALL", "(6)(3 4)(2 (1)(5))")


# ---- REFERENCES: dummies ----
#
#  1 <a@x>  "alpha"                            01:00
#  2 <b@x>  "Re: alpha"   References <a@x>     02:00
#  3 <c@x>  "Re: alpha"   References <a@x> <missing@x>   03:00
#  4 <d@x>  "delta"       In-Reply-To <missing2@x>       04:00
#  5 <e@x>  "Re: delta"   In-Reply-To <missing2@x>       05:00
#  6 <f@x>  "foxtrot"     References <nothere@x>         06:00
# Step 1: 2's parent is 1.  3: 1.A links a -> dummy M1 (missing@x), 1.B
# makes M1 the parent of 3.  4 and 5 have no References, so their first
# In-Reply-To id is the only reference: both children of dummy M2.  6 is
# the child of dummy M3.
# Step 2: root children 1, M2, M3.
# Step 3: M1 (one child, not at the root) goes, 3 is promoted to a child
# of 1; M2 has two children and would put them at the root: kept; M3 has
# one child, which may be promoted to the root: 6.
# Step 4: root by date: 1 (01:00), M2 (by first child 4, 04:00), 6.
# Step 5: thread subjects alpha, delta (M2's first child), foxtrot: none
# shared.  Step 6: 1's children 2, 3; M2's 4, 5.
#   (1 (2)(3))((4)(5))(6)
DUMMIES = [
    msg("<a@x>", "alpha", "01:00:00"),
    msg("<b@x>", "Re: alpha", "02:00:00", refs="<a@x>"),
    msg("<c@x>", "Re: alpha", "03:00:00", refs="<a@x> <missing@x>"),
    msg("<d@x>", "delta", "04:00:00", irt="<missing2@x>"),
    msg("<e@x>", "Re: delta", "05:00:00", irt="<missing2@x> (sent by Eve)"),
    msg("<f@x>", "foxtrot", "06:00:00", refs="<nothere@x>"),
]


def test_references_dummies(srv):
    c = load(srv, DUMMIES)
    expect_thread(c, "REFERENCES UTF-8 ALL", "(1 (2)(3))((4)(5))(6)")
    # searching 4 and 5 only: the RFC's "((3)(5))" shape, a dummy parent
    # that is not among the results
    expect_thread(c, "REFERENCES UTF-8 SUBJECT delta", "((4)(5))")
    # 2 and 3 without 1: a dummy for <a@x> with child 2 and dummy M1 (one
    # child, 3, promoted: not to the root).  The <a@x> dummy has two
    # children, so it stays: ((2)(3))
    expect_thread(c, "REFERENCES UTF-8 2:3", "((2)(3))")


def test_uid_references(srv):
    c = load(srv, DUMMIES, uid_offset=True)
    expect_thread(c, "REFERENCES UTF-8 ALL", "(2 (3)(4))((5)(6))(7)",
                  prefix="UID THREAD")
    # UID THREAD's search keys are msns, as in THREAD
    expect_thread(c, "REFERENCES UTF-8 4:5", "((5)(6))", prefix="UID THREAD")


# ---- REFERENCES: subject merging (step 5) ----
#
#  1 <p1@x> "Party"       01:00
#  2 <p2@x> "Re: Party"   02:00
#  3 <p3@x> "party"       03:00
#  4 <q1@x> "Quiz"        04:00
#  5 <q2@x> "Re: quiz"    00:30
# No references: steps 1-3 leave five roots.  Step 4 by date: 5, 1, 2,
# 3, 4.
# Step 5.B: 5 -> table[quiz] = 5; 1 -> table[party] = 1; 2 (reply) and
# 3 (not a reply, but 1 is not one either) leave 1; 4 is not a reply and
# 5 is: table[quiz] = 4.
# Step 5.C: 5: table has 4; 5 is a reply and 4 is not: 5 becomes 4's
# child.  1: itself, skipped.  2: a reply, 1 is not: 2 becomes 1's child.
# 3: neither is a reply: a new dummy D gets 1 and 3 as children and
# replaces 1 in the table.  4: itself.
# Step 6: D's children by date 1, 3; D sorts by its first child (01:00),
# before 4 (04:00).  1 has the single child 2; 4 the single child 5.
#   ((1 2)(3))(4 5)
MERGE = [
    msg("<p1@x>", "Party", "01:00:00"),
    msg("<p2@x>", "Re: Party", "02:00:00"),
    msg("<p3@x>", "party", "03:00:00"),
    msg("<q1@x>", "Quiz", "04:00:00"),
    msg("<q2@x>", "Re: quiz", "00:30:00"),
]


def test_references_subject_merging(srv):
    c = load(srv, MERGE)
    expect_thread(c, "REFERENCES UTF-8 ALL", "((1 2)(3))(4 5)")
    # without 1: root by date 5, 2, 3, 4.  5.B: table[quiz] = 5 then 4
    # (not a reply, 5 is); table[party] = 2, then 3 replaces it (2 is a
    # reply, 3 is not).  5.C: 5 becomes 4's child; 2 (a reply, 3 not)
    # becomes 3's child.  Roots 3 (03:00), 4 (04:00):
    expect_thread(c, "REFERENCES UTF-8 2:5", "(3 2)(4 5)")
    # ORDEREDSUBJECT on the same set: Party group 1, 2, 3 (by date);
    # quiz group 5 (00:30), 4.  Threads by first date: quiz, Party
    expect_thread(c, "ORDEREDSUBJECT UTF-8 ALL", "(5 4)(1 (2)(3))")


# ---- REFERENCES: loops, duplicates, missing ids ----
#
#  1 <x1@x>  References <x2@x>     "c1" 01:00
#  2 <x2@x>  References <x1@x>     "c2" 02:00
#  3 <x3@x>  References <x3@x>     "c3" 03:00  (itself)
#  4 <x1@x>  (a duplicate of 1)    "c4" 04:00
#  5 no Message-ID, References <x1@x>          "c5" 05:00
#  6 Message-ID without brackets (invalid), In-Reply-To <x3@x>  "c6" 06:00
# Step 1: 1.B makes 2 (id x2) the parent of 1.  For 2, making 1 its
# parent would be a loop (1 is 2's child): no link, 2 stays a root.  3
# would be its own parent: no link.  4's id is taken by 1 (the lowest
# msn keeps it): 4 gets a unique id and, without references, is a root.
# 5 gets a unique id; its reference x1 is message 1: 5 is 1's child.  6
# gets a unique id; its In-Reply-To makes it 3's child.
# Steps 2-5: roots 2, 3, 4 (no dummies; subjects all differ), by date.
#   (2 1 5)(3 6)(4)
LOOPS = [
    msg("<x1@x>", "c1", "01:00:00", refs="<x2@x>"),
    msg("<x2@x>", "c2", "02:00:00", refs="<x1@x>"),
    msg("<x3@x>", "c3", "03:00:00", refs="<x3@x>"),
    msg("<x1@x>", "c4", "04:00:00"),
    msg(None, "c5", "05:00:00", refs="<x1@x>"),
    msg("garbage-no-brackets", "c6", "06:00:00", irt="<x3@x>"),
]


def test_references_loops_duplicates_missing_ids(srv):
    c = load(srv, LOOPS)
    expect_thread(c, "REFERENCES UTF-8 ALL", "(2 1 5)(3 6)(4)")


# ---- REFERENCES: References wins over In-Reply-To; quoting ----
#
#  1 <"r1"@x>  "m1" 01:00   (normalised: <r1@x>)
#  2 <r2@x>    "m2" 02:00   References <r1@x> (the unquoted form),
#                           In-Reply-To <r3@x> (ignored: References has
#                           a valid id)
#  3 <r3@x>    "m3" 03:00   References: junk only -> In-Reply-To <r1@x>
# 2's parent is 1; 3's only reference is its In-Reply-To, 1.  Roots: 1.
# 1's children by date: 2, 3.
#   (1 (2)(3))
QUOTING = [
    msg('<"r1"@x>', "m1", "01:00:00"),
    msg("<r2@x>", "m2", "02:00:00", refs="<r1@x>", irt="<r3@x>"),
    msg("<r3@x>", "m3", "03:00:00", refs="no ids here", irt="<r1@x>"),
]


def test_references_normalised_and_fallback(srv):
    c = load(srv, QUOTING)
    expect_thread(c, "REFERENCES UTF-8 ALL", "(1 (2)(3))")


def test_thread_reads_no_message_file(srv):
    """Keys cached at APPEND: with every file gone, THREAD still answers."""
    c = load(srv, DUMMIES + [m.replace("Message-ID: <", "Message-ID: <m") for m in MERGE])
    files = glob.glob(os.path.join(srv.data_dir, "users", "*", "demo",
                                   "Maildir", "cur", "*"))
    expect(len(files) == 11, files)
    for p in files:
        os.unlink(p)
    # the two sets do not interact (different ids and subjects); the
    # merge set's msns are 7-11.  Roots by sent date, ties by mailbox
    # order, a dummy by its first child: 1 (01:00) before D (7, 01:00);
    # M2 (4, 04:00) before 10 (04:00); then 6 (06:00)
    expect_thread(c, "REFERENCES UTF-8 ALL",
                  "(1 (2)(3))((7 8)(9))((4)(5))(10 11)(6)")
    expect_thread(c, "ORDEREDSUBJECT UTF-8 7:11", "(11 10)(7 (8)(9))")


@server_args(extra_conf="max_bad_commands = 100")
def test_errors(srv):
    c = srv.login()
    _, t = c.cmd("THREAD REFERENCES UTF-8 ALL", ok=False)
    expect(" BAD " in t, t)     # no mailbox selected
    c = load(srv, ORDERED)
    for args in ("FOO UTF-8 ALL", "(REFERENCES) UTF-8 ALL", "REFERENCES",
                 "REFERENCES UTF-8", "REFERENCES (UTF-8) ALL",
                 "REFERENCES UTF-8 BOGUS", "REFERENCES UTF-8 CHARSET UTF-8 ALL",
                 '"REFERENCES" UTF-8 ALL', "ORDEREDSUBJECT UTF-8 1:"):
        _, t = c.cmd(f"THREAD {args}", ok=False)
        expect(" BAD " in t, (args, t))
    for prefix in ("THREAD", "UID THREAD"):
        _, t = c.cmd(f"{prefix} REFERENCES X-NO-SUCH-CHARSET ALL", ok=False)
        expect(" NO [BADCHARSET" in t, t)
        _, t = c.cmd(f"{prefix} REFERENCES X-NO-SUCH-CHARSET BOGUS", ok=False)
        expect(" BAD " in t, t)
    expect_thread(c, "ORDEREDSUBJECT UTF-8 ALL", "(6)(3 4)(2 (1)(5))")


@server_args(extra_conf="fsync = no")
def test_long_response(srv):
    """A response longer than one flush (32 KiB): 5000 messages, each
    replying to the previous one: one chain 5000 deep."""
    c = srv.login()
    n = 5000
    data = []
    for i in range(1, n + 1):
        refs = f"References: <{i - 1}@chain>\r\n" if i > 1 else ""
        body = (f"Message-ID: <{i}@chain>\r\n{refs}Subject: chain\r\n"
                f"Date: Wed, 01 Jan 2020 00:00:00 +0000\r\n\r\nx\r\n").encode()
        data.append(f"a{i} APPEND INBOX {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
    c.send(b"".join(data))
    for i in range(1, n + 1):
        line = c.readline()
        while not line.startswith(f"a{i} "):
            line = c.readline()
        expect(line.startswith(f"a{i} OK"), line)
    c.cmd("EXAMINE INBOX", ok=True)
    expect_thread(c, "REFERENCES UTF-8 ALL",
                  "(" + " ".join(str(i) for i in range(1, n + 1)) + ")")
    # ORDEREDSUBJECT: one subject, equal dates -> mailbox order; 1 is
    # the root, 2..n its children
    expect_thread(c, "ORDEREDSUBJECT UTF-8 ALL",
                  "(1 " + "".join(f"({i})" for i in range(2, n + 1)) + ")")


@server_args(extra_conf="fsync = no")
def test_many_threads_flushed(srv):
    """7000 unrelated messages: 7000 one-message threads, a response of
    more than 32 KiB written in pieces between threads.  No Date: so the
    sent date is INTERNALDATE (the APPEND time, never decreasing), ties
    by mailbox order: threads in msn order for both algorithms."""
    c = srv.login()
    n = 7000
    data = []
    for i in range(1, n + 1):
        body = f"Message-ID: <{i}@many>\r\nSubject: subject {i}\r\n\r\nx\r\n".encode()
        data.append(f"a{i} APPEND INBOX {{{len(body)}+}}\r\n".encode() + body + b"\r\n")
    c.send(b"".join(data))
    for i in range(1, n + 1):
        line = c.readline()
        while not line.startswith(f"a{i} "):
            line = c.readline()
        expect(line.startswith(f"a{i} OK"), line)
    c.cmd("EXAMINE INBOX", ok=True)
    want = "".join(f"({i})" for i in range(1, n + 1))
    expect_thread(c, "REFERENCES UTF-8 ALL", want)
    expect_thread(c, "ORDEREDSUBJECT UTF-8 ALL", want)
