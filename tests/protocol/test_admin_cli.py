"""The admin command line (`roost mailbox`, `search`, `expunge`, `fetch`,
`user export`, `user del --purge`) against a store with generated
messages, compared with what IMAP shows; a running session sees the
CLI's expunge; bad queries, unknown users and mailboxes are clear
errors."""
import gzip
import io
import json
import os
import re
import tarfile

from roosttest import server_args, expect

USERS = {"demo": "demo", "alice": "alicepw"}


def populate(srv):
    """demo: 30 messages in INBOX with flags, keywords and subjects that
    SEARCH can tell apart, 3 in Work/2026."""
    c = srv.login()
    c.cmd("CREATE Work/2026", ok=True)
    for i in range(1, 31):
        flags = []
        if i % 2 == 0:
            flags.append("\\Seen")
        if i % 5 == 0:
            flags.append("$Invoice")
        who = "bob@example.org" if i % 3 == 0 else "carol@example.org"
        body = "order 42 shipped" if i % 7 == 0 else "nothing to see"
        msg = (f"From: {who}\r\nTo: demo@example.org\r\nSubject: note {i}\r\n"
               f"Date: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\n{body}\r\n"
               + ("x" * 2000 if i % 4 == 0 else "") + "\r\n")
        c.append(flags="(" + " ".join(flags) + ")", msg=msg.encode())
    for i in range(3):
        c.append(box="Work/2026", msg=f"Subject: w{i}\r\n\r\nwork\r\n".encode())
    return c


def imap_uids(c, query):
    u, _ = c.cmd(f"UID SEARCH {query}", ok=True)
    return [int(x) for x in u[0].split()[2:]]


@server_args(users=USERS)
def test_mailbox_commands_match_imap(srv):
    c = populate(srv)
    p = srv.roost("mailbox", "list", "-c", srv.conf, "demo")
    names = [l.split("\t")[0] for l in p.stdout.splitlines()]
    u, _ = c.cmd('LIST "" "*"', ok=True)
    listed = [re.search(r'"/" "?([^"]*)"?$', l).group(1) for l in u]
    expect(sorted(names) == sorted(listed), (names, listed))
    expect(any(l.startswith("Sent\t") and "\\Sent" in l for l in p.stdout.splitlines()),
           p.stdout)
    p = srv.roost("mailbox", "status", "-c", srv.conf, "demo", "INBOX", "Work/2026")
    st = dict(l.split("\t") for l in p.stdout.splitlines())
    u, _ = c.cmd("STATUS INBOX (MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE)", ok=True)
    for key in ("MESSAGES", "UNSEEN", "UIDNEXT", "UIDVALIDITY", "SIZE"):
        want = re.search(key + r" (\d+)", u[0]).group(1)
        expect(f"{key.lower()}={want}" in st["INBOX"], (key, u, st))
    expect("messages=3 " in st["Work/2026"], st)
    p = srv.roost("mailbox", "status", "-c", srv.conf, "demo")
    expect(len(p.stdout.splitlines()) == len(names), p.stdout)
    # create and delete, seen by the session
    p = srv.roost("mailbox", "create", "-c", srv.conf, "demo", "Archive/Old", "Près")
    u, _ = c.cmd('LIST "" "*"', ok=True)
    expect(any('"Archive/Old"' in l or " Archive/Old" in l for l in u), u)
    expect(any("Pr&AOg-s" in l for l in u), u)
    p = srv.roost("mailbox", "create", "-c", srv.conf, "demo", "Archive/Old", check=False)
    expect(p.returncode == 65 and "Archive/Old" in p.stderr, (p.returncode, p.stderr))
    srv.roost("mailbox", "delete", "-c", srv.conf, "demo", "Archive/Old")
    u, _ = c.cmd('LIST "" "Archive/*"', ok=True)
    expect(u == [], u)
    p = srv.roost("mailbox", "delete", "-c", srv.conf, "demo", "INBOX", check=False)
    expect(p.returncode == 65, (p.returncode, p.stderr))
    p = srv.roost("mailbox", "status", "-c", srv.conf, "demo", "Nope", check=False)
    expect(p.returncode == 66 and "Nope" in p.stderr, (p.returncode, p.stderr))
    p = srv.roost("mailbox", "list", "-c", srv.conf, "nosuch", check=False)
    expect(p.returncode == 67, (p.returncode, p.stderr))
    # alice never logged in: no store, and none is made
    p = srv.roost("mailbox", "list", "-c", srv.conf, "alice", check=False)
    expect(p.returncode == 66 and "no mail store" in p.stderr, (p.returncode, p.stderr))
    expect(not os.path.exists(os.path.join(srv.data_dir, "users", "_", "alice")),
           "a store was made")
    p = srv.roost("mailbox", "frob", "demo", check=False)
    expect(p.returncode == 64, p.returncode)
    for args in (("mailbox", "--help"), ("search", "--help"), ("expunge", "--help"),
                 ("fetch", "--help"), ("user", "export", "--help"),
                 ("user", "del", "--help")):
        p = srv.roost(*args)
        expect(p.stdout.startswith("usage: roost"), (args, p.stdout))
    c.cmd("LOGOUT")


@server_args(users=USERS)
def test_search_and_fetch_match_imap(srv):
    c = populate(srv)
    c.cmd("EXAMINE INBOX", ok=True)
    for query in ("ALL", "SEEN", "UNSEEN KEYWORD $Invoice", 'FROM "bob"',
                  'OR SUBJECT "note 1" LARGER 1500', 'BODY "order 42"', "UID 5:9",
                  'NOT FROM bob SINCE 1-Jan-2020', "2:4,10"):
        p = srv.roost("search", "-c", srv.conf, "demo", "INBOX", *query.split(" "))
        got = [int(x) for x in p.stdout.split()]
        want = imap_uids(c, query)
        expect(got == want, (query, got, want))
    # one argument with IMAP quotes inside works the same
    p = srv.roost("search", "-c", srv.conf, "demo", "INBOX", 'SUBJECT "note 2"')
    expect([int(x) for x in p.stdout.split()] == imap_uids(c, 'SUBJECT "note 2"'), p.stdout)
    # bad queries, unknown mailbox and user
    for bad in (("FROM",), ("FRUM", "x"), ('SUBJECT "open',), ("UID", "x:y"), ("{5}",)):
        p = srv.roost("search", "-c", srv.conf, "demo", "INBOX", *bad, check=False)
        expect(p.returncode == 64 and "bad query" in p.stderr, (bad, p.returncode, p.stderr))
    p = srv.roost("search", "-c", srv.conf, "demo", "INBOX", check=False)
    expect(p.returncode == 64, p.returncode)
    p = srv.roost("search", "-c", srv.conf, "demo", "Nope", "ALL", check=False)
    expect(p.returncode == 66, (p.returncode, p.stderr))
    p = srv.roost("search", "-c", srv.conf, "ghost", "INBOX", "ALL", check=False)
    expect(p.returncode == 67, (p.returncode, p.stderr))
    # fetch: the fields as IMAP gives them
    p = srv.roost("fetch", "-c", srv.conf, "demo", "INBOX", "UID 10",
                  "uid flags size internaldate envelope header text")
    u, _ = c.cmd("UID FETCH 10 (FLAGS RFC822.SIZE INTERNALDATE)", ok=True)
    expect(p.stdout.startswith("== UID 10\nuid: 10\n"), p.stdout)
    flags = [f for f in re.search(r"FLAGS \(([^)]*)\)", u[0]).group(1).split()
             if f != "\\Recent"]
    shown = re.search(r"^flags:(.*)$", p.stdout, re.M).group(1).split()
    expect(sorted(flags) == sorted(shown), (flags, shown))
    size = re.search(r"RFC822\.SIZE (\d+)", u[0]).group(1)
    expect(f"size: {size}\n" in p.stdout, p.stdout)
    date = re.search(r'INTERNALDATE "([^"]+)"', u[0]).group(1).strip()
    shown = re.search(r"^internaldate: (.*)$", p.stdout, re.M).group(1)
    expect(shown.lstrip("0") == date, (date, shown))
    expect('envelope: ("Mon, 1 Jun 2026 10:00:00 +0000" "note 10"' in p.stdout, p.stdout)
    expect("header:\n  From: carol@example.org\n" in p.stdout, p.stdout)
    expect("text:\n  nothing to see\n" in p.stdout, p.stdout)
    p = srv.roost("fetch", "-c", srv.conf, "demo", "INBOX", "KEYWORD $Invoice", "uid")
    expect(re.findall(r"^== UID (\d+)$", p.stdout, re.M) ==
           [str(u) for u in imap_uids(c, "KEYWORD $Invoice")], p.stdout)
    p = srv.roost("fetch", "-c", srv.conf, "demo", "INBOX", "ALL", "uid,bogus", check=False)
    expect(p.returncode == 64 and "bogus" in p.stderr, (p.returncode, p.stderr))
    # nothing was marked \Seen by fetch
    expect(imap_uids(c, "UID 10 UNSEEN") == imap_uids(c, "UID 10 UNSEEN"), "")
    u, _ = c.cmd("UID FETCH 1 FLAGS", ok=True)
    expect("\\Seen" not in u[0], u)
    c.cmd("LOGOUT")


@server_args(users=USERS)
def test_expunge_reaches_running_sessions(srv):
    c = populate(srv)
    c.cmd("SELECT INBOX", ok=True)
    q = srv.login()
    q.cmd("ENABLE QRESYNC", ok=True)
    q.cmd("SELECT INBOX", ok=True)
    want = imap_uids(c, 'FROM "bob"')
    c.line("i1 IDLE")
    expect(c.readline().startswith("+"), "IDLE")
    p = srv.roost("expunge", "-c", srv.conf, "demo", "INBOX", "FROM", "bob")
    expect(p.stdout.strip() == str(len(want)), (p.stdout, want))
    seen = []
    while len(seen) < len(want):
        line = c.readline(timeout=10)
        m = re.fullmatch(r"\* (\d+) EXPUNGE", line)
        if m:
            seen.append(int(m.group(1)))
    c.line("DONE")
    c.readline()
    u, _ = q.cmd("NOOP", ok=True)
    vanished = [l for l in u if l.startswith("* VANISHED")]
    expect(vanished, u)
    expect(imap_uids(c, "ALL") == [x for x in range(1, 31) if x not in want], "left")
    p = srv.roost("expunge", "-c", srv.conf, "demo", "INBOX", "FROM", "bob")
    expect(p.stdout.strip() == "0", p.stdout)
    p = srv.roost("check", "-c", srv.conf, "demo")
    expect("problem" not in p.stdout, p.stdout)


@server_args(users=USERS, managesieve=True)
def test_user_export_archive(srv):
    c = populate(srv)
    c.cmd("SUBSCRIBE Work/2026", ok=True)
    c.cmd("LOGOUT")
    script = os.path.join(srv.dir, "s.sieve")
    with open(script, "w") as f:
        f.write('require "fileinto";\nif header :contains "subject" "w" { fileinto "Work/2026"; }\n')
    srv.roost("sieve", "put", "-c", srv.conf, "-u", "demo", "filters", script)
    srv.roost("sieve", "activate", "-c", srv.conf, "-u", "demo", "filters")
    dest = os.path.join(srv.dir, "demo.tar.gz")
    srv.roost("user", "export", "-c", srv.conf, "demo", dest)
    tf = tarfile.open(dest, "r:gz")
    names = tf.getnames()
    summary = json.load(tf.extractfile("summary.json"))
    expect(summary["user"] == "demo", summary)
    boxes = {b["name"]: b for b in summary["mailboxes"]}
    expect(boxes["INBOX"]["messages"] == 30 and boxes["Work/2026"]["messages"] == 3, boxes)
    inbox = tf.extractfile("mail/INBOX.mbox").read().decode()
    expect(inbox.count("\nFrom MAILER-DAEMON ") + inbox.startswith("From MAILER-DAEMON ")
           == 30, inbox[:300])
    expect("Subject: note 17\n" in inbox and "\r\n" not in inbox, "mbox text")
    work = tf.extractfile("mail/Work/2026.mbox").read().decode()
    expect(work.count("Subject: w") == 3, work)
    expect(summary["sieve_scripts"] == [{"name": "filters", "file": "sieve/filters.sieve",
                                         "active": True}], summary)
    expect(tf.extractfile("sieve/filters.sieve").read().decode() == open(script).read(),
           "script")
    subs = tf.extractfile("subscriptions.txt").read().decode().splitlines()
    expect("Work/2026" in subs and "INBOX" in subs, subs)
    expect(sorted(names) == sorted(["mail/" + b + ".mbox" for b in boxes] +
                                   ["summary.json", "subscriptions.txt",
                                    "sieve/filters.sieve"]), names)
    # an existing DEST is refused and left alone
    before = open(dest, "rb").read()
    p = srv.roost("user", "export", "-c", srv.conf, "demo", dest, check=False)
    expect(p.returncode == 73 and "exists" in p.stderr, (p.returncode, p.stderr))
    expect(open(dest, "rb").read() == before, "DEST changed")
    p = srv.roost("user", "export", "-c", srv.conf, "nosuch", dest + "2", check=False)
    expect(p.returncode == 67 and not os.path.exists(dest + "2"), p.returncode)


@server_args(users=USERS)
def test_user_del_purge_leaves_nothing(srv):
    c = populate(srv)
    c.cmd("LOGOUT")
    a = srv.login("alice", "alicepw")
    a.append()
    a.cmd("LOGOUT")
    userdir = os.path.join(srv.data_dir, "users", "_", "demo")
    expect(os.path.exists(os.path.join(userdir, "index.sqlite")), "no store")
    p = srv.roost("user", "del", "-c", srv.conf, "--purge", "demo")
    expect("erased the mail store of demo" in p.stdout, p.stdout)
    left = []
    for root, dirs, files in os.walk(srv.data_dir):
        left += [os.path.join(root, x) for x in dirs + files if "demo" in x or "demo" in root]
    expect(left == [], left)
    expect("demo:" not in open(srv.userdb).read(), "passwd line left")
    # alice is untouched
    a = srv.login("alice", "alicepw")
    u, _ = a.cmd("STATUS INBOX (MESSAGES)", ok=True)
    expect("MESSAGES 1" in u[0], u)
    a.cmd("LOGOUT")
    # demo can no longer log in; a second purge finds nothing
    c = srv.connect()
    c.greeting()
    c.cmd("LOGIN demo demo", ok=False)
    p = srv.roost("user", "del", "-c", srv.conf, "--purge", "demo")
    expect("had no mail store" in p.stdout, p.stdout)
    p = srv.roost("user", "del", "-c", srv.conf, "demo", check=False)
    expect(p.returncode == 67, p.returncode)
