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
