"""NOTIFY (RFC 5465): the request's syntax and rules, every filter and
event, pushes between commands and during IDLE from other sessions (in
other workers too), from LMTP and from `roost deliver`,
SELECTED-DELAYED, NOTIFY NONE, many mailboxes, and
[NOTIFICATIONOVERFLOW].  Conversations follow the RFC's examples where
they apply."""
import re
import socket
import time

from roosttest import expect, server_args, TestFailure
from test_multiaccess import worker_of, worker_pair

MSG = ("From: alice@example.org\r\nTo: bob@example.org\r\n"
       "Subject: Re: good morning\r\n\r\nhello\r\n")
NEW_NE = "(MessageNew MessageExpunge)"
BADEVENT = ("NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName "
            "SubscriptionChange)] Unsupported NOTIFY event.")


def read_until(c, pred, timeout=5):
    """The lines up to and including the first that pred() accepts
    (literals inlined); fails after timeout seconds."""
    lines = []
    deadline = time.time() + timeout
    while True:
        left = deadline - time.time()
        if left <= 0:
            raise TestFailure(f"nothing matched; got {lines}")
        line = c.readline(timeout=left)
        m = re.search(r"\{(\d+)\}$", line)
        while m:
            data = c.read_exact(int(m.group(1)), timeout=left)
            line = line + "\r\n" + data.decode() + c.readline(timeout=left)
            m = re.search(r"\{(\d+)\}$", line)
        lines.append(line)
        if pred(line):
            return lines


def read_lines(c, n, timeout=5):
    return [c.readline(timeout=timeout) for _ in range(n)]


def idle(c):
    c.line("i IDLE")
    expect(c.readline() == "+ idling")


def done(c):
    c.line("DONE")
    return read_until(c, lambda l: l.startswith("i "))


def deliver(srv, mailbox=None, user="demo", text="Subject: pushed\n\nbody\n"):
    args = ["deliver", "-c", srv.conf, "-u", user]
    if mailbox:
        args += ["-m", mailbox]
    p = srv.roost(*args, input=text)
    expect(p.returncode == 0, p.stderr)


# ---- the examples of RFC 5465 ----


def test_rfc_example_3_1(srv):
    """Section 3.1's example; its "(subtree Lists MessageNew)" breaks
    section 5 (MessageNew "MUST" come with MessageExpunge), so the
    groups name both, without the parentheses as the example writes
    events."""
    c = srv.login()
    for box in ("Lists/Lemonade", "Lists/Im2000", "misc"):
        c.cmd(f"CREATE {box}", ok=True)
    c.append("Lists/Lemonade")
    c.conv(r"""
    C: b notify set status (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists MessageNew MessageExpunge)
    S~ \* STATUS Lists \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+\)
    S~ \* STATUS Lists/Im2000 \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+\)
    S~ \* STATUS Lists/Lemonade \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)
    S: b OK NOTIFY completed.
    """)
    c.line("c select inbox")
    read_until(c, lambda l: l.startswith("c OK"))
    other = srv.login()
    other.append("Lists/Lemonade")
    expect(c.readline() == "* STATUS Lists/Lemonade (MESSAGES 2 UIDNEXT 3)")
    other.append("INBOX", msg=MSG)
    lines = read_until(c, lambda l: "FETCH" in l)
    expect(lines == ["* 1 EXISTS", "* 1 RECENT",
                     "* 1 FETCH (UID 1 BODY[HEADER.FIELDS (from to subject)] {75}\r\n"
                     "From: alice@example.org\r\nTo: bob@example.org\r\n"
                     "Subject: Re: good morning\r\n\r\n)"], lines)
    c.conv(r"""
    C: d STATUS misc (UIDVALIDITY UIDNEXT MESSAGES)
    S~ \* STATUS misc \(UIDVALIDITY \d+ UIDNEXT 1 MESSAGES 0\)
    S: d OK Status completed.
    C: e notify set (selected (MessageNew (uid body.peek[header.fields (from to subject)]) MessageExpunge)) (subtree Lists MessageNew MessageExpunge) (mailboxes misc MessageNew MessageExpunge)
    S: e OK NOTIFY completed.
    """)
    other.append("misc")
    expect(c.readline() == "* STATUS misc (MESSAGES 1 UIDNEXT 2)")


def test_rfc_example_6(srv):
    """Section 6's first example: INBOX by name with message events, and
    SubscriptionChange for every personal mailbox."""
    c = srv.login()
    c.cmd("CREATE Other", ok=True)
    c.cmd("notify set (mailboxes INBOX (Messagenew messageExpunge)) "
          "(personal (SubscriptionChange))", ok=True)
    other = srv.login()
    other.append("INBOX")
    expect(c.readline() == "* STATUS INBOX (MESSAGES 1 UIDNEXT 2)")
    other.append("Other")
    other.cmd("SUBSCRIBE Other", ok=True)
    expect(c.readline() == '* LIST (\\HasNoChildren \\Subscribed) "/" Other')
    other.cmd("UNSUBSCRIBE Other", ok=True)
    expect(c.readline() == '* LIST (\\HasNoChildren) "/" Other')
    c.expect_no_more(0.3)


def test_rfc_example_6_selected_overrides(srv):
    """Section 6's second example: SELECTED's events for the selected
    mailbox, FlagChange STATUS for the others."""
    c = srv.login()
    c.cmd("CREATE Work", ok=True)
    other = srv.login()
    other.append("INBOX")
    other.append("Work")
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("notify set (selected (Messagenew (uid flags) messageExpunge)) "
          "(personal (MessageNew FlagChange MessageExpunge))", ok=True)
    other.cmd("SELECT Work", ok=True)
    other.cmd("STORE 1 +FLAGS (\\Seen)", ok=True)
    # without CONDSTORE, a flag change elsewhere shows as UNSEEN (5.1)
    expect(c.readline() == "* STATUS Work (MESSAGES 1 UIDNEXT 2 UNSEEN 0)")
    other.cmd("STORE 1 -FLAGS (\\Seen)", ok=True)
    expect(c.readline() == "* STATUS Work (UNSEEN 1)")
    other.append("INBOX")
    lines = read_until(c, lambda l: "FETCH" in l)
    expect(lines == ["* 2 EXISTS", "* 2 RECENT",
                     "* 2 FETCH (UID 2 FLAGS (\\Recent))"], lines)
    c.expect_no_more(0.3)


# ---- the selected mailbox ----


def test_selected_between_commands_and_idle(srv):
    other = srv.login()
    other.append()
    other.append()
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.cmd(f"NOTIFY SET (selected (MessageNew (UID) MessageExpunge FlagChange))", ok=True)
    other.cmd("SELECT INBOX", ok=True)
    # a flag change: FETCH, between commands
    t0 = time.time()
    other.cmd("STORE 1 +FLAGS (\\Flagged)", ok=True)
    line = c.readline(timeout=5)
    expect(time.time() - t0 < 1.0, "flag change took over 1 s")
    # 5.1: "MUST include UID and FLAGS"
    expect(line == "* 1 FETCH (UID 1 FLAGS (\\Flagged \\Recent))", line)
    # an expunge: EXPUNGE at once with SELECTED
    other.cmd("STORE 2 +FLAGS (\\Deleted)", ok=True)
    expect(c.readline(timeout=5) == "* 2 FETCH (UID 2 FLAGS (\\Deleted \\Recent))")
    other.cmd("EXPUNGE", ok=True)
    expect(c.readline(timeout=5) == "* 2 EXPUNGE")
    # and during IDLE the same events
    idle(c)
    t0 = time.time()
    other.append()
    lines = read_until(c, lambda l: "FETCH" in l)
    expect(time.time() - t0 < 1.0, "IDLE push took over 1 s")
    expect(lines == ["* 2 EXISTS", "* 1 RECENT", "* 2 FETCH (UID 3)"], lines)
    expect(done(c) == ["i OK IDLE terminated."])


def test_selected_delayed_holds_expunges(srv):
    other = srv.login()
    for _ in range(3):
        other.append()
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.cmd(f"NOTIFY SET (selected-delayed {NEW_NE})", ok=True)
    other.cmd("SELECT INBOX", ok=True)
    other.cmd("STORE 3 +FLAGS.SILENT (\\Deleted)", ok=True)
    other.cmd("EXPUNGE", ok=True)
    other.append()
    # the new message is told between commands; the expunge waits
    lines = read_until(c, lambda l: "EXISTS" in l)
    expect(lines == ["* 4 EXISTS"], lines)
    line = c.readline()
    expect(re.fullmatch(r"\* \d RECENT", line), line)
    c.expect_no_more(0.5)
    # FETCH forbids EXPUNGE (RFC 9051 7.5.1); NOOP allows it
    u, _ = c.cmd("FETCH 3 UID", ok=True)
    expect(not any("EXPUNGE" in l for l in u), u)
    u, _ = c.cmd("NOOP", ok=True)
    expect(u == ["* 3 EXPUNGE"], u)


def test_no_selected_group_keeps_selected_quiet(srv):
    """3.1: without SELECTED "the client doesn't want to receive any
    <message-event>s for the currently selected mailbox"; a command's
    end still reports them (RFC 9051 7.5.1); IDLE sends only what NOTIFY
    asks (section 4)."""
    c = srv.login()
    c.cmd("CREATE Box", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd(f"NOTIFY SET (personal {NEW_NE})", ok=True)
    other = srv.login()
    idle(c)
    other.append("INBOX")
    other.append("Box")
    # the selected mailbox is left out of the STATUS responses too
    expect(c.readline(timeout=5) == "* STATUS Box (MESSAGES 1 UIDNEXT 2)")
    c.expect_no_more(0.3)
    expect(done(c) == ["* 1 EXISTS", "* 1 RECENT", "i OK IDLE terminated."])


def test_notify_set_returns_pending_changes(srv):
    """3.1: "a successful NOTIFY SET command implies an implicit NOOP"."""
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    other = srv.login()
    other.append()
    time.sleep(0.2)
    u, t = c.cmd("NOTIFY SET (selected (MessageNew MessageExpunge))")
    expect(u == ["* 1 EXISTS", "* 1 RECENT"] and t.endswith("OK NOTIFY completed."), (u, t))


def test_notify_none(srv):
    c = srv.login()
    c.cmd("CREATE Box", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd(f"NOTIFY SET (selected {NEW_NE}) (personal {NEW_NE})", ok=True)
    c.cmd("NOTIFY NONE", ok=True)
    other = srv.login()
    idle(c)
    other.append("Box")
    other.append("INBOX")
    c.expect_no_more(0.5)
    expect(done(c) == ["* 1 EXISTS", "* 1 RECENT", "i OK IDLE terminated."])
    # and NOTIFY SET ... NONE is a snapshot facility (section 5)
    c.cmd("NOTIFY SET (personal NONE)", ok=True)
    other.append("Box")
    c.expect_no_more(0.5)


# ---- other mailboxes: filters ----


def test_filters_subtree_mailboxes_no_wildcards(srv):
    c = srv.login()
    for box in ("A", "A/B", "A/B/C", "AB", "misc", "misc*"):
        c.cmd(f'CREATE "{box}"', ok=True)
    c.cmd(f'NOTIFY SET (subtree A/B {NEW_NE}) (mailboxes ("misc*" "no such") {NEW_NE})',
          ok=True)
    other = srv.login()
    for box in ("A", "AB", "misc", "A/B/C", "A/B", "misc*"):
        other.append(f'"{box}"')
    # one push or several: the order within one is by name
    lines = read_lines(c, 3)
    expect(sorted(lines) == ['* STATUS "misc*" (MESSAGES 1 UIDNEXT 2)',
                             "* STATUS A/B (MESSAGES 1 UIDNEXT 2)",
                             "* STATUS A/B/C (MESSAGES 1 UIDNEXT 2)"], lines)
    c.expect_no_more(0.3)


def test_filters_inboxes_personal(srv):
    for f in ("inboxes", "personal"):
        c = srv.login()
        c.cmd(f'CREATE "{f}-box"', ok=True)
        c.cmd(f"NOTIFY SET ({f} {NEW_NE})", ok=True)
        other = srv.login()
        other.append(f"{f}-box")
        expect(c.readline(timeout=5) == f"* STATUS {f}-box (MESSAGES 1 UIDNEXT 2)")
        other.append("INBOX")
        expect(c.readline(timeout=5).startswith("* STATUS INBOX (MESSAGES "))
        c.close()
        other.close()


def test_filter_subscribed_follows_subscriptions(srv):
    """6.4: "If the subscription list changes, the server MUST reevaluate
    the list"."""
    c = srv.login()
    c.cmd("CREATE Sub", ok=True)
    c.cmd("CREATE Unsub", ok=True)
    c.cmd("SUBSCRIBE Sub", ok=True)
    c.cmd(f"NOTIFY SET (subscribed {NEW_NE})", ok=True)
    other = srv.login()
    other.append("Unsub")
    other.append("Sub")
    expect(c.readline(timeout=5) == "* STATUS Sub (MESSAGES 1 UIDNEXT 2)")
    c.expect_no_more(0.3)
    other.cmd("SUBSCRIBE Unsub", ok=True)
    other.cmd("UNSUBSCRIBE Sub", ok=True)
    time.sleep(0.3)
    other.append("Sub")
    other.append("Unsub")
    expect(c.readline(timeout=5) == "* STATUS Unsub (MESSAGES 2 UIDNEXT 3)")
    c.expect_no_more(0.3)


def test_message_expunge_elsewhere(srv):
    c = srv.login()
    c.cmd("CREATE misc", ok=True)
    other = srv.login()
    other.append("misc")
    other.append("misc")
    u, _ = c.cmd(f"NOTIFY SET STATUS (mailboxes misc {NEW_NE})", ok=True)
    expect(len(u) == 1 and re.fullmatch(
        r"\* STATUS misc \(MESSAGES 2 UIDNEXT 3 UIDVALIDITY \d+\)", u[0]), u)
    other.cmd("SELECT misc", ok=True)
    other.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    # a flag change is not asked for: nothing
    c.expect_no_more(0.4)
    other.cmd("EXPUNGE", ok=True)
    expect(c.readline(timeout=5) == "* STATUS misc (MESSAGES 1 UIDNEXT 3)")


def test_uidvalidity_change_elsewhere(srv):
    c = srv.login()
    c.cmd("CREATE Again", ok=True)
    c.cmd("NOTIFY SET (mailboxes Again (MessageNew MessageExpunge FlagChange))", ok=True)
    other = srv.login()
    other.cmd("DELETE Again", ok=True)
    other.cmd("CREATE Again", ok=True)
    line = c.readline(timeout=5)
    expect(re.fullmatch(r"\* STATUS Again \(MESSAGES 0 UIDNEXT 1 UIDVALIDITY \d+ UNSEEN 0\)",
                        line), line)


def test_condstore_status_carries_highestmodseq(srv):
    """With CONDSTORE enabled, a flag change elsewhere is a STATUS with
    HIGHESTMODSEQ and UIDVALIDITY (5.1), and new or expunged messages
    elsewhere carry HIGHESTMODSEQ too (5.2, 5.3)."""
    c = srv.login()
    c.cmd("CREATE Mod", ok=True)
    other = srv.login()
    other.append("Mod")
    c.cmd("ENABLE CONDSTORE", ok=True)
    u, _ = c.cmd("NOTIFY SET STATUS (mailboxes Mod (MessageNew MessageExpunge FlagChange))",
                 ok=True)
    expect(len(u) == 1 and re.fullmatch(
        r"\* STATUS Mod \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1 HIGHESTMODSEQ \d+\)",
        u[0]), u)
    first = int(re.search(r"HIGHESTMODSEQ (\d+)", u[0]).group(1))
    other.cmd("SELECT Mod", ok=True)
    other.cmd("STORE 1 +FLAGS.SILENT ($Work)", ok=True)
    line = c.readline(timeout=5)
    m = re.fullmatch(r"\* STATUS Mod \(UIDVALIDITY \d+ UNSEEN 1 HIGHESTMODSEQ (\d+)\)", line)
    expect(m and int(m.group(1)) > first, line)
    other.append("Mod")
    line = c.readline(timeout=5)
    # (the new message moved the modseq too: UIDVALIDITY comes with it)
    expect(re.fullmatch(r"\* STATUS Mod \(MESSAGES 2 UIDNEXT 3 (UIDVALIDITY \d+ )?UNSEEN 2 "
                        r"HIGHESTMODSEQ \d+\)", line), line)


# ---- MailboxName and SubscriptionChange ----


def test_mailbox_name_events(srv):
    c = srv.login()
    c.cmd("CREATE Top", ok=True)
    c.cmd("NOTIFY SET (personal (MailboxName))", ok=True)
    other = srv.login()
    other.cmd("CREATE NewMailbox", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\HasNoChildren) "/" NewMailbox')
    other.cmd("CREATE Top/Child", ok=True)
    lines = read_lines(c, 2)
    expect(lines == ['* LIST (\\HasNoChildren) "/" Top/Child',
                     '* LIST (\\HasChildren) "/" Top'], lines)
    other.cmd("CREATE Top/Child/Grand", ok=True)
    read_lines(c, 2)
    # a rename tells the new name with its OLDNAME; the children follow
    # without events of their own (5.4)
    other.cmd("RENAME Top Renamed", ok=True)
    expect(c.readline(timeout=5) ==
           '* LIST (\\HasChildren) "/" Renamed ("OLDNAME" (Top))')
    c.expect_no_more(0.3)
    other.cmd("DELETE NewMailbox", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\NonExistent) "/" NewMailbox')
    # 5: "The server SHOULD omit notifying the client if the event is
    # caused by this client"
    c.cmd("CREATE Mine", ok=True)
    c.cmd("RENAME Mine Mine2", ok=True)
    c.cmd("SUBSCRIBE Mine2", ok=True)
    c.cmd("DELETE Mine2", ok=True)
    c.expect_no_more(0.4)
    # deleting a mailbox with children leaves a \Noselect name
    other.cmd("DELETE Renamed/Child", ok=True)
    lines = read_lines(c, 2)
    expect(lines == ['* LIST (\\Noselect \\HasChildren) "/" Renamed/Child',
                     '* LIST (\\HasChildren) "/" Renamed'], lines)
    c.expect_no_more(0.3)


def test_mailbox_name_inbox_rename_and_filters(srv):
    c = srv.login()
    c.cmd("CREATE Watched", ok=True)
    c.cmd("NOTIFY SET (mailboxes (Watched Later) (MailboxName))", ok=True)
    other = srv.login()
    other.cmd("CREATE Elsewhere", ok=True)
    c.expect_no_more(0.4)
    other.cmd("CREATE Later", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\HasNoChildren) "/" Later')
    other.cmd("RENAME Watched Gone", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\HasNoChildren) "/" Gone ("OLDNAME" (Watched))')
    # 5.4: renaming INBOX makes a new mailbox, no event for INBOX
    c.cmd("NOTIFY SET (personal (MailboxName))", ok=True)
    other.append("INBOX")
    other.cmd("RENAME INBOX Old-Inbox", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\HasNoChildren) "/" Old-Inbox')
    c.expect_no_more(0.3)


def test_subscription_change(srv):
    c = srv.login()
    c.cmd("CREATE Parent/Kid", ok=True)
    c.cmd("NOTIFY SET (subtree Parent (SubscriptionChange))", ok=True)
    other = srv.login()
    other.cmd("SUBSCRIBE Parent", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\HasChildren \\Subscribed) "/" Parent')
    other.cmd("SUBSCRIBE Parent/Kid", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\HasNoChildren \\Subscribed) "/" Parent/Kid')
    other.cmd("SUBSCRIBE Elsewhere", ok=True)
    c.expect_no_more(0.4)
    # a subscription of a name that is no mailbox
    other.cmd("SUBSCRIBE Parent/Ghost", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\NonExistent \\HasNoChildren \\Subscribed) '
           '"/" Parent/Ghost')
    other.cmd("UNSUBSCRIBE Parent/Ghost", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\NonExistent) "/" Parent/Ghost')


# ---- bad input ----


def test_bad_notify_commands(srv):
    c = srv.connect()
    c.greeting()
    _, t = c.cmd("NOTIFY NONE")
    expect(" BAD " in t, t)
    c.cmd("LOGIN demo demo", ok=True)
    bad = [
        "NOTIFY",
        "NOTIFY FOO",
        "NOTIFY NONE extra",
        "NOTIFY SET",
        "NOTIFY SET STATUS",
        "NOTIFY SET selected",
        "NOTIFY SET ()",
        "NOTIFY SET (bogus (MessageNew MessageExpunge))",
        "NOTIFY SET (selected)",
        "NOTIFY SET (selected ())",
        "NOTIFY SET (selected (MessageNew))",
        "NOTIFY SET (selected (MessageExpunge))",
        "NOTIFY SET (selected (FlagChange))",
        "NOTIFY SET (selected (MessageNew FlagChange))",
        "NOTIFY SET (selected (MailboxName))",
        "NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))",
        "NOTIFY SET (selected (MessageNew MessageExpunge)) (selected (MessageNew MessageExpunge))",
        "NOTIFY SET (selected (MessageNew (BOGUS) MessageExpunge))",
        "NOTIFY SET (selected (MessageNew () MessageExpunge))",
        "NOTIFY SET (personal (MessageNew (UID) MessageExpunge))",
        "NOTIFY SET (personal (MessageNew MessageExpunge) extra)",
        "NOTIFY SET (personal NONE extra)",
        "NOTIFY SET (personal ((MessageNew)))",
        "NOTIFY SET (personal (\"MessageNew\" MessageExpunge))",
        "NOTIFY SET (subtree (MessageNew MessageExpunge))",
        "NOTIFY SET (subtree)",
        "NOTIFY SET (mailboxes () (MessageNew MessageExpunge))",
        "NOTIFY SET (mailboxes ((INBOX)) (MessageNew MessageExpunge))",
        "NOTIFY SET (mailboxes INBOX)",
        "NOTIFY SET (personal (AnnotationChange))",
        "NOTIFY SET (personal (MessageNew MessageExpunge)) garbage",
    ]
    for text in bad:
        _, t = c.cmd(text)
        expect(re.match(r"t\d+ BAD ", t), (text, t))
        c.cmd("NOOP", ok=True)
    # unsupported events: NO [BADEVENT (...)] naming the supported ones
    for text in ["NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))",
                 "NOTIFY SET (personal (MailboxMetadataChange))",
                 "NOTIFY SET (personal (ServerMetadataChange))",
                 "NOTIFY SET (inboxes (X-Unknown-Event))",
                 "NOTIFY SET (selected (MessageNew MessageExpunge X-New))"]:
        _, t = c.cmd(text)
        expect(t.endswith(" " + BADEVENT), (text, t))
    # names that cannot be mailboxes are ignored (3.1), as are missing ones
    c.cmd('NOTIFY SET STATUS (mailboxes ("&Jjo" "&AGE-" nosuch "") (MessageNew MessageExpunge))',
          ok=True)
    # the connection still works
    c.cmd("NOOP", ok=True)


def test_notify_parser_limits(srv):
    """A NOTIFY at the limits of the command parser is refused cleanly."""
    c = srv.login()
    names = " ".join(f"m{i}" for i in range(40000))
    _, t = c.cmd(f"NOTIFY SET (mailboxes ({names}) (MessageNew MessageExpunge))")
    expect(re.match(r"t\d+ (BAD|NO) ", t) or " OK " in t, t)
    c.cmd("NOOP", ok=True)


# ---- deliveries ----


@server_args(lmtp=True)
def test_lmtp_and_deliver_within_a_second(srv):
    c = srv.login()
    c.cmd("CREATE Listbox", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd(f"NOTIFY SET (selected (MessageNew (UID) MessageExpunge)) (personal {NEW_NE})",
          ok=True)
    # roost deliver, between commands: into INBOX, then into Archive
    t0 = time.time()
    deliver(srv)
    lines = read_until(c, lambda l: "FETCH" in l)
    expect(time.time() - t0 < 1.0 + 0.5, "deliver push took too long")
    expect(lines == ["* 1 EXISTS", "* 1 RECENT", "* 1 FETCH (UID 1)"], lines)
    t0 = time.time()
    deliver(srv, mailbox="Listbox")
    expect(c.readline(timeout=5) == "* STATUS Listbox (MESSAGES 1 UIDNEXT 2)")
    expect(time.time() - t0 < 1.5)
    # LMTP, during IDLE
    idle(c)
    lm = srv.lmtp()
    lm.readline()
    lm.line("LHLO client.example")
    read_until(lm, lambda l: l.startswith("250 "))
    t0 = time.time()
    lm.line("MAIL FROM:<s@example.org>")
    expect(lm.readline().startswith("250"))
    lm.line("RCPT TO:<demo>")
    expect(lm.readline().startswith("250"))
    lm.line("DATA")
    expect(lm.readline().startswith("354"))
    lm.send(b"Subject: by lmtp\r\n\r\nx\r\n.\r\n")
    expect(lm.readline().startswith("250"))
    lines = read_until(c, lambda l: "FETCH" in l)
    expect(time.time() - t0 < 1.0, "LMTP push during IDLE took over 1 s")
    expect(lines == ["* 2 EXISTS", "* 2 RECENT", "* 2 FETCH (UID 2)"], lines)
    # roost deliver during IDLE, into the other mailbox
    t0 = time.time()
    deliver(srv, mailbox="Listbox")
    expect(c.readline(timeout=5) == "* STATUS Listbox (MESSAGES 2 UIDNEXT 3)")
    expect(time.time() - t0 < 1.5)
    expect(done(c) == ["i OK IDLE terminated."])


# ---- sessions in several workers ----


@server_args(workers=2)
def test_two_sessions_in_two_workers(srv):
    c, other = worker_pair(srv)
    c.cmd("CREATE Lists", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) "
          "(personal (MessageNew MessageExpunge MailboxName SubscriptionChange))", ok=True)
    other.append("Lists")
    expect(c.readline(timeout=5) == "* STATUS Lists (MESSAGES 1 UIDNEXT 2)")
    other.append("INBOX")
    expect(read_lines(c, 2) == ["* 1 EXISTS", "* 1 RECENT"])
    other.cmd("SELECT INBOX", ok=True)
    other.cmd("STORE 1 +FLAGS (\\Answered)", ok=True)
    expect(c.readline(timeout=5) == "* 1 FETCH (UID 1 FLAGS (\\Answered \\Recent))")
    other.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    c.readline(timeout=5)
    other.cmd("EXPUNGE", ok=True)
    expect(c.readline(timeout=5) == "* 1 EXPUNGE")
    other.cmd("CREATE Fresh", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\HasNoChildren) "/" Fresh')
    other.cmd("SUBSCRIBE Fresh", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\HasNoChildren \\Subscribed) "/" Fresh')


@server_args(workers=2)
def test_ten_sessions_in_two_workers(srv):
    sessions = []
    for i in range(10):
        s = srv.login()
        if i % 2 == 0:
            s.cmd("SELECT INBOX", ok=True)
        sessions.append(s)
    sessions[0].cmd("CREATE Shared", ok=True)
    workers = {worker_of(srv, s) for s in sessions}
    expect(len(workers) == 2, workers)
    for i, s in enumerate(sessions):
        sel = f"(selected (MessageNew (UID) MessageExpunge)) " if i % 2 == 0 else ""
        s.cmd(f"NOTIFY SET {sel}(personal {NEW_NE})", ok=True)
        if i % 3 == 0:
            idle(s)
    writer = srv.login()
    t0 = time.time()
    writer.append("Shared")
    writer.append("INBOX")
    for i, s in enumerate(sessions):
        # the two changes come in one push or two, in either order
        want = {"* STATUS Shared (MESSAGES 1 UIDNEXT 2)"}
        want |= {"* 1 EXISTS", "* 1 FETCH (UID 1)"} if i % 2 == 0 else \
            {"* STATUS INBOX (MESSAGES 1 UIDNEXT 2)"}
        got = set()
        while not want <= got:
            line = s.readline(timeout=5)
            expect(line in want or re.fullmatch(r"\* \d RECENT", line), (i, line))
            got.add(line)
    expect(time.time() - t0 < 3, "ten sessions took too long")
    for i, s in enumerate(sessions):
        if i % 3 == 0:
            expect(done(s) == ["i OK IDLE terminated."])
        s.cmd("NOOP", ok=True)


# ---- many mailboxes ----


def create_many(c, names):
    """CREATEs pipelined 200 at a time."""
    for start in range(0, len(names), 200):
        chunk = names[start:start + 200]
        for i, n in enumerate(chunk):
            c.line(f"cm{i} CREATE {n}")
        for i in range(len(chunk)):
            read_until(c, lambda l, i=i: l.startswith(f"cm{i} "), timeout=60)


def test_thousands_of_mailboxes(srv):
    c = srv.login()
    names = [f"f{i // 100}/m{i}" for i in range(3000)]
    create_many(c, names)
    u, _ = c.cmd('LIST "" "*"', ok=True)
    u, t = c.cmd(f"NOTIFY SET STATUS (personal {NEW_NE})", ok=True)
    expect(len(u) == len(names) + 30 + 6, len(u))   # their 30 parents, INBOX, the 5 defaults
    # a MAILBOXES list of thousands of names, most of them missing
    listed = " ".join(names[::2] + [f"missing{i}" for i in range(2000)])
    c.cmd(f"NOTIFY SET (mailboxes ({listed}) {NEW_NE})", ok=True)
    other = srv.login()
    t0 = time.time()
    other.append("f7/m701")
    other.append("f7/m700")
    expect(c.readline(timeout=5) == "* STATUS f7/m700 (MESSAGES 1 UIDNEXT 2)")
    expect(time.time() - t0 < 1.5)
    c.expect_no_more(0.3)
    c.cmd("NOTIFY SET (subtree f29 (MessageNew MessageExpunge MailboxName))", ok=True)
    other.cmd("RENAME f29 g29", ok=True)
    expect(c.readline(timeout=5) == '* LIST (\\HasChildren) "/" g29 ("OLDNAME" (f29))')
    c.expect_no_more(0.3)


# ---- overflow ----


def test_notification_overflow(srv):
    """5.8: a client that reads nothing gets [NOTIFICATIONOVERFLOW] and no
    more notifications, while what the server keeps for it stays
    bounded.  The client's receive window is tiny, so the server's
    buffers fill: each STORE of another session on 8,192 messages makes
    a push of 8,192 FETCH responses."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", srv.port))
    from roosttest import Client
    c = Client.__new__(Client)
    c.srv, c.sock, c.buf, c.tagn, c.timeout = srv, sock, b"", 0, 10
    c.greeting()
    c.cmd("LOGIN demo demo", ok=True)
    other = srv.login()
    other.append()
    other.cmd("SELECT INBOX", ok=True)
    for _ in range(13):
        other.cmd("COPY 1:* INBOX", ok=True)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("NOTIFY SET (selected (MessageNew MessageExpunge FlagChange)) "
          "(personal (MessageNew MessageExpunge))", ok=True)
    deadline = time.time() + 90
    rounds = 0
    while "NOTIFICATIONOVERFLOW" not in srv.log_text():
        expect(time.time() < deadline, f"no overflow after {rounds} rounds")
        other.cmd(f"STORE 1:* {'-' if rounds % 2 else '+'}FLAGS.SILENT (\\Flagged)", ok=True)
        rounds += 1
        time.sleep(0.1)
    # the client reads now: the notifications, the overflow, then quiet
    lines = read_until(c, lambda l: "NOTIFICATIONOVERFLOW" in l, timeout=60)
    expect(lines[-1].startswith("* OK [NOTIFICATIONOVERFLOW] "), lines[-1])
    other.cmd("STORE 1 +FLAGS (\\Seen)", ok=True)
    other.append("INBOX")
    c.expect_no_more(0.5)
    # a command's end still reports the selected mailbox (RFC 9051)
    u, _ = c.cmd("NOOP", ok=True)
    expect("* 8193 EXISTS" in u, u[-3:])


# ---- the end of a session in the middle of a push ----


def test_disconnect_during_push_fetch(srv):
    """A push FETCH of big messages runs in slices; a client that goes
    away in the middle of it leaves nothing behind (ASan), and a client
    that reads slowly gets every byte."""
    big = "Subject: big\r\n\r\n" + ("x" * 998 + "\r\n") * 1500
    reader = srv.login()
    leaver = srv.login()
    for c in (reader, leaver):
        c.cmd("SELECT INBOX", ok=True)
        c.cmd("NOTIFY SET (selected (MessageNew (UID BODY.PEEK[]) MessageExpunge))", ok=True)
    other = srv.login()
    for _ in range(4):
        other.append("INBOX", msg=big)
    # the leaver reads a little and goes
    leaver.readline(timeout=5)
    leaver.close()
    got = read_until(reader, lambda l: l.startswith("* 4 FETCH"), timeout=30)
    bodies = [l for l in got if " FETCH (UID " in l]
    expect(len(bodies) >= 1 and all(len(b) > 1_500_000 for b in bodies), len(bodies))
    reader.cmd("NOOP", ok=True)
    # LOGOUT with a change pending
    other.append("INBOX")
    reader.line("z LOGOUT")
    read_until(reader, lambda l: l.startswith("z OK"))
    srv.login().cmd("NOOP", ok=True)


def test_notify_across_select_and_close(srv):
    c = srv.login()
    c.cmd("CREATE Other", ok=True)
    c.cmd(f"NOTIFY SET (selected {NEW_NE}) (personal {NEW_NE})", ok=True)
    other = srv.login()
    # no mailbox selected: SELECTED refers to none, INBOX is "other"
    other.append("INBOX")
    expect(c.readline(timeout=5) == "* STATUS INBOX (MESSAGES 1 UIDNEXT 2)")
    c.cmd("SELECT Other", ok=True)
    other.append("Other")
    expect(read_lines(c, 2) == ["* 1 EXISTS", "* 1 RECENT"])
    other.append("INBOX")
    expect(c.readline(timeout=5) == "* STATUS INBOX (MESSAGES 2 UIDNEXT 3)")
    c.cmd("CLOSE", ok=True)
    other.append("Other")
    expect(c.readline(timeout=5) == "* STATUS Other (MESSAGES 2 UIDNEXT 3)")
    c.expect_no_more(0.3)
