"""Sieve on delivery: a script uploaded over ManageSieve decides, for each
recipient of an LMTP transaction and for `roost deliver`, where the
message goes (checked over IMAP: which mailbox, which flags), discards
it, or refuses it (ereject: LMTP's per-recipient 550 5.7.1 while another
recipient of the same transaction gets 250; `roost deliver` exits 77).
A script that fails at run time keeps the message in INBOX; a kill -9
of the server in the middle of deliveries loses no acknowledged copy."""
import re
import threading

from roosttest import expect, server_args
from test_crash import kill9
from test_managesieve import Sieve
from test_lmtp import lmtp

FILING = r'''require ["fileinto", "imap4flags"];
if header :contains "subject" "work" {
  fileinto :flags ["\\Flagged", "$Work"] "Archive";
} elsif header :contains "subject" "junk" {
  discard;
} elsif header :contains "subject" "both" {
  addflag "\\Seen";
  fileinto "Archive";
  keep;
}
'''


def put_script(srv, text, user="demo", password="demo", name="main"):
    """Uploads text as the user's active script over ManageSieve."""
    c = Sieve(srv)
    c.greeting()
    c.login(user, password)
    data = text.replace("\r\n", "\n").replace("\n", "\r\n")
    c.cmd(f'PUTSCRIPT "{name}" {{{len(data.encode())}+}}\r\n{data}', ok=True)
    c.cmd(f'SETACTIVE "{name}"', ok=True)
    c.cmd("LOGOUT")
    c.close()


def message(subject, n=1):
    return (f"From: sender@example.org\r\nTo: demo@example.org\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{n}@sieve.test>\r\n\r\nbody {n}\r\n")


def send(c, sender, rcpts, msg):
    """One LMTP transaction; the replies after the data, one per rcpt."""
    c.line(f"MAIL FROM:<{sender}>")
    expect(c.readline().startswith("250"))
    for r in rcpts:
        c.line(f"RCPT TO:<{r}>")
        line = c.readline()
        expect(line.startswith("250"), line)
    c.line("DATA")
    expect(c.readline().startswith("354"))
    c.send(msg + ".\r\n")
    return [c.readline() for _ in rcpts]


def mailbox(srv, name, user="demo", password="demo"):
    """[(flags, subject)] of the messages of mailbox `name`."""
    i = srv.login(user, password)
    i.cmd(f'SELECT "{name}"', ok=True)
    untagged, _ = i.cmd("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    i.close()
    out = []
    text = "\n".join(untagged)
    for m in re.finditer(r"FLAGS \(([^)]*)\).*?Subject: ([^\r\n]*)", text, re.S):
        out.append((sorted(m.group(1).split()), m.group(2)))
    return out


def status(srv, name, user="demo", password="demo"):
    i = srv.login(user, password)
    untagged, tagged = i.cmd(f'STATUS "{name}" (MESSAGES)')
    i.close()
    m = re.search(r"MESSAGES (\d+)", "\n".join(untagged))
    return int(m.group(1)) if m else None


@server_args(lmtp=True, managesieve=True)
def test_lmtp_fileinto_flags_discard_keep(srv):
    put_script(srv, FILING)
    c = lmtp(srv)
    for n, subject in enumerate(["work item", "junk offer", "hello", "both ways"], 1):
        replies = send(c, "sender@example.org", ["demo"], message(subject, n))
        expect(replies[0].startswith("250 2.0.0 <demo>"), replies)
    c.close()
    expect(mailbox(srv, "Archive") == [(["$Work", "\\Flagged", "\\Recent"], "work item"),
                                       (["\\Recent", "\\Seen"], "both ways")],
           mailbox(srv, "Archive"))
    # implicit keep for "hello", the explicit keep of "both ways" with
    # the flags addflag set; "junk offer" is nowhere
    expect(mailbox(srv, "INBOX") == [(["\\Recent"], "hello"),
                                     (["\\Recent", "\\Seen"], "both ways")],
           mailbox(srv, "INBOX"))
    log = srv.log_text()
    expect("nothing stored (Sieve)" in log, log[-2000:])


@server_args(lmtp=True, managesieve=True)
def test_roost_deliver_runs_the_script(srv):
    put_script(srv, FILING)
    p = srv.roost("deliver", "-c", srv.conf, "-u", "demo", "-f", "s@example.org",
                  input=message("work stuff").replace("\r\n", "\n"))
    expect(p.returncode == 0, p.stderr)
    p = srv.roost("deliver", "-c", srv.conf, "-u", "demo", "-f", "s@example.org",
                  input=message("junk").replace("\r\n", "\n"))
    expect(p.returncode == 0, p.stderr)
    expect(mailbox(srv, "Archive") == [(["$Work", "\\Flagged", "\\Recent"], "work stuff")],
           mailbox(srv, "Archive"))
    expect(status(srv, "INBOX") == 0)


@server_args(lmtp=True, managesieve=True)
def test_ereject_one_recipient_of_two(srv):
    put_script(srv, 'require "ereject";\nif header :contains "subject" "spam" '
               '{ ereject "No spam here,\r\n thanks"; }\n')
    c = lmtp(srv)
    # one shared copy for both recipients (lmtp_single_copy): demo
    # refuses it, alice (no script) gets it
    replies = send(c, "sender@example.org", ["demo", "alice"], message("spam spam", 1))
    expect(replies[0] == "550 5.7.1 <demo> No spam here, thanks", replies)
    expect(replies[1].startswith("250 2.0.0 <alice>"), replies)
    # the same transaction shape without the trigger: both stored
    replies = send(c, "sender@example.org", ["demo", "alice"], message("ham", 2))
    expect(all(r.startswith("250 ") for r in replies), replies)
    c.close()
    expect(status(srv, "INBOX") == 1)
    expect(status(srv, "INBOX", "alice", "alicepw") == 2)
    # roost deliver refuses with EX_NOPERM and the reason
    p = srv.roost("deliver", "-c", srv.conf, "-u", "demo", "-f", "s@example.org",
                  input=message("spam again"), check=False)
    expect(p.returncode == 77, f"{p.returncode} {p.stderr}")
    expect(p.stderr.strip() == "No spam here, thanks", p.stderr)
    expect(status(srv, "INBOX") == 1)


@server_args(lmtp=True, managesieve=True)
def test_runtime_error_keeps_the_message(srv):
    # more redirects than sieve_max_redirects: a run-time error (RFC 5228
    # 2.10.6), only implicit keep, and no mail goes out
    script = "".join(f'redirect "r{i}@example.net";\n' for i in range(20))
    put_script(srv, 'require "fileinto";\nfileinto "Archive";\n' + script)
    c = lmtp(srv)
    replies = send(c, "sender@example.org", ["demo"], message("anything"))
    expect(replies[0].startswith("250 "), replies)
    c.close()
    expect(status(srv, "INBOX") == 1)
    expect(status(srv, "Archive") == 0)
    log = srv.log_text()
    expect(re.search(r"sieve: demo: the script failed \(.*redirect.*\): implicit keep", log),
           log[-3000:])
    expect("redirect to" not in log, log[-3000:])


@server_args(workers=1, lmtp=True, managesieve=True)
def test_kill9_mid_delivery_loses_nothing(srv):
    # two copies per message (fileinto and keep): a 250 means both
    put_script(srv, 'require "fileinto";\nfileinto "Archive";\nkeep;\n')
    acked = set()
    lock = threading.Lock()
    counter = [0]

    def deliverer(stop):
        try:
            c = lmtp(srv)
            while not stop.is_set():
                with lock:
                    counter[0] += 1
                    n = counter[0]
                replies = send(c, "sender@example.org", ["demo"], message(f"m{n}", n))
                if replies[0].startswith("250 "):
                    with lock:
                        acked.add(f"m{n}")
        except Exception:
            pass        # the server died under it

    stop = threading.Event()
    threads = [threading.Thread(target=deliverer, args=(stop,)) for _ in range(3)]
    for t in threads:
        t.start()
    import time
    time.sleep(1.5)
    kill9(srv)
    stop.set()
    for t in threads:
        t.join(30)
    srv.start()
    expect(len(acked) > 0, "no delivery was acknowledged before the kill")
    inbox = {s for _, s in mailbox(srv, "INBOX")}
    archive = {s for _, s in mailbox(srv, "Archive")}
    expect(acked <= inbox, f"lost from INBOX: {sorted(acked - inbox)}")
    expect(acked <= archive, f"lost from Archive: {sorted(acked - archive)}")
    p = srv.roost("check", "-c", srv.conf, "demo", check=False)
    expect(p.returncode == 0 and "problem" not in p.stdout, p.stdout + p.stderr)


@server_args(lmtp=True, managesieve=True)
def test_fileinto_create_and_mailboxexists(srv):
    put_script(srv, r'''require ["fileinto", "mailbox", "imap4flags"];
if mailboxexists "Lists/roost" {
  fileinto :flags "\\Answered" "Lists/roost";
} else {
  fileinto :create "Lists/roost";
}
fileinto "Missing";
''')
    c = lmtp(srv)
    for n in (1, 2):
        replies = send(c, "sender@example.org", ["demo"], message(f"list {n}", n))
        expect(replies[0].startswith("250 "), replies)
    c.close()
    # created by the first delivery (RFC 5490 :create), found by
    # mailboxexists in the second; "Missing" is not created: INBOX
    expect(mailbox(srv, "Lists/roost") == [(["\\Recent"], "list 1"),
                                           (["\\Answered", "\\Recent"], "list 2")],
           mailbox(srv, "Lists/roost"))
    expect(status(srv, "Missing") is None)
    expect([s for _, s in mailbox(srv, "INBOX")] == ["list 1", "list 2"],
           mailbox(srv, "INBOX"))
    expect('cannot file into "Missing"' in srv.log_text())


@server_args(lmtp=True, managesieve=True)
def test_duplicate_remembered_after_delivery(srv):
    put_script(srv, '''require ["duplicate", "fileinto"];
if duplicate { fileinto "Trash"; }
''')
    c = lmtp(srv)
    for subject in ("first", "again"):
        # the same Message-ID twice
        replies = send(c, "sender@example.org", ["demo"], message(subject, 7))
        expect(replies[0].startswith("250 "), replies)
    c.close()
    expect([s for _, s in mailbox(srv, "INBOX")] == ["first"], mailbox(srv, "INBOX"))
    expect([s for _, s in mailbox(srv, "Trash")] == ["again"], mailbox(srv, "Trash"))


# ---- outgoing mail, captured by tests/lib/smtpsink.py ----

def with_sink(fn, **sink_args):
    """Runs fn(srv, sink) with a server whose submission_host is a fresh
    SMTP sink; checks the server's log and cleans up."""
    import tempfile
    from roosttest import Server
    from smtpsink import SmtpSink
    sink = SmtpSink(tempfile.mkdtemp(prefix="sieve-sink-"), **sink_args)
    srv = Server(lmtp=True, managesieve=True,
                 extra_conf=f"submission_host = 127.0.0.1:{sink.port}\n")
    try:
        fn(srv, sink)
        srv.check_log()
    finally:
        srv.cleanup()
        sink.stop()


def from_to(sender, subject, n, extra=""):
    return (f"From: {sender}\r\nTo: demo@example.org\r\n{extra}"
            f"Subject: {subject}\r\nMessage-ID: <{n}@sieve.test>\r\n\r\nbody {n}\r\n")


def test_vacation_once_never_to_null_or_lists():
    def run(srv, sink):
        put_script(srv, 'require "vacation";\n'
                   'vacation :days 7 :subject "Away" "I am away until Monday.";\n')
        c = lmtp(srv)
        rcpt = ["demo@example.org"]
        for sender, extra, n in (("a@example.net", "", 1),
                                 ("a@example.net", "", 2),       # answered already
                                 ("", "", 3),                    # null sender
                                 ("b@example.net", "List-Id: <l.example.net>\r\n", 4),
                                 ("c@example.net", "Auto-Submitted: auto-generated\r\n", 5),
                                 ("MAILER-DAEMON@example.net", "", 6),
                                 ("demo@example.org", "", 7)):   # the user's own
            replies = send(c, sender, rcpt, from_to(sender or "x@example.net",
                                                     f"m{n}", n, extra))
            expect(replies[0].startswith("250 "), replies)
        # one more that is answered: another sender
        send(c, "d@example.net", rcpt, from_to("d@example.net", "m8", 8))
        c.close()
        msgs = sink.wait_messages(2)
        import time
        time.sleep(0.5)
        msgs = sink.messages()
        expect([(m["mail_from"], m["rcpts"]) for m in msgs] ==
               [("", ["a@example.net"]), ("", ["d@example.net"])],
               [(m["mail_from"], m["rcpts"]) for m in msgs])
        data = msgs[0]["data"].decode()
        expect("Subject: Away\r\n" in data and "Auto-Submitted: auto-replied" in data, data)
        expect("In-Reply-To: <1@sieve.test>" in data and "I am away until Monday." in data,
               data)
        # vacation never cancels the implicit keep
        expect(status(srv, "INBOX") == 8)
        expect("was answered already" in srv.log_text())
    with_sink(run)


def test_redirect_copy_and_failure_keeps():
    def run(srv, sink):
        put_script(srv, r'''require ["copy"];
if header :contains "subject" "fwd" { redirect "fwd@example.net"; }
elsif header :contains "subject" "cc" { redirect :copy "cc@example.net"; }
elsif header :contains "subject" "bad" { redirect "refused@example.net"; }
''')
        c = lmtp(srv)
        for n, subject in enumerate(("fwd 1", "cc 2", "bad 3"), 1):
            replies = send(c, "orig@example.com", ["demo"], message(subject, n))
            expect(replies[0].startswith("250 "), replies)
        c.close()
        msgs = sink.wait_messages(2)
        # the original envelope sender, submit's loop marker on top
        expect([(m["mail_from"], m["rcpts"]) for m in msgs] ==
               [("orig@example.com", ["fwd@example.net"]),
                ("orig@example.com", ["cc@example.net"])],
               [(m["mail_from"], m["rcpts"]) for m in msgs])
        data = msgs[0]["data"].decode()
        expect(data.startswith("X-Sieve-Redirected-From: demo") and "Subject: fwd 1" in data,
               data[:500])
        # redirect alone cancels keep; :copy keeps; a refused redirect
        # keeps the message rather than lose it
        expect([s for _, s in mailbox(srv, "INBOX")] == ["cc 2", "bad 3"],
               mailbox(srv, "INBOX"))
        expect(re.search(r"redirect to <refused@example.net> not sent", srv.log_text()))
    with_sink(run, fail={"rcpt:refused@example.net": 550})


def test_reject_sends_an_mdn():
    def run(srv, sink):
        put_script(srv, 'require "reject";\nreject "I do not want this.";\n')
        c = lmtp(srv)
        replies = send(c, "orig@example.com", ["demo@example.org"],
                       from_to("orig@example.com", "offer", 1))
        expect(replies[0].startswith("250 "), replies)
        # no MDN to the null sender (RFC 5429 2.2.1), and the message is
        # refused all the same
        replies = send(c, "", ["demo@example.org"], from_to("x@example.com", "bounce", 2))
        expect(replies[0].startswith("250 "), replies)
        c.close()
        [m] = sink.wait_messages(1)
        expect(m["mail_from"] == "" and m["rcpts"] == ["orig@example.com"], m)
        data = m["data"].decode()
        expect("multipart/report" in data and "I do not want this." in data, data[:2000])
        expect(status(srv, "INBOX") == 0)
        import time
        time.sleep(0.3)
        expect(len(sink.messages()) == 1, sink.messages())
    with_sink(run)
