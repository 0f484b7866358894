"""Failures injected into a live server (ROOST_FAULTS, src/base/fault.h):
a full disk or an I/O error while a message file is written or synced,
and an index that cannot grow or be synced.  Each gives the client a
clear NO with the RFC 5530 code the store's error maps to ([OVERQUOTA]
for a full disk, [SERVERBUG] for an I/O error; per-recipient 452 in
LMTP), loses nothing acknowledged, and leaves a store that `roost
check` finds consistent (exit 0).  (A busy index, [UNAVAILABLE], takes
the 5 s busy timeout per attempt and is tested in
tests/unit/test-store-faults.c.)  Each test restarts the server with the faults
armed: every worker counts its own calls from its start, so "NTH" is
the NTH call after the restart (one worker)."""
import os
import re

from roosttest import expect, server_args

MSG = "From: a@example.com\r\nSubject: fault {n}\r\nMessage-ID: <{n}@fault.test>\r\n\r\nbody {n}\r\n"


def restart_with_faults(srv, faults):
    """Restarts `roost serve` with ROOST_FAULTS=faults in its environment
    only (the CLI runs of the test stay without)."""
    srv.stop()
    os.environ["ROOST_FAULTS"] = faults
    try:
        srv.start()
    finally:
        del os.environ["ROOST_FAULTS"]


def message_ids(c, box="INBOX"):
    """{uid: Message-ID} of box, selected read-only."""
    c.cmd(f"EXAMINE {box}", ok=True)
    untagged, _ = c.cmd("UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])", ok=True)
    ids = {}
    for line in untagged:
        uid = re.search(r"UID (\d+)", line)
        mid = re.search(r"Message-ID: <([^>]*)>", line, re.I)
        if uid and mid:
            ids[int(uid.group(1))] = mid.group(1)
    return ids


def check_clean(srv, *users):
    """Stops the server and runs `roost check`: exit 0, no problem."""
    srv.stop()
    p = srv.roost("check", "-c", srv.conf, *users, check=False)
    expect(p.returncode == 0 and "problem" not in p.stdout,
           f"roost check exited {p.returncode}:\n{p.stdout}{p.stderr}")
    return p.stdout


def append_fails(srv, faults, code):
    """Appends message 1, restarts the server with faults and appends
    message 2, which must get NO [code].  Returns the session."""
    c = srv.login()
    c.append(msg=MSG.format(n=1))
    c.cmd("LOGOUT")
    restart_with_faults(srv, faults)
    c = srv.login()
    reply = c.append(msg=MSG.format(n=2), ok=False)
    expect(re.fullmatch(rf"t\d+ NO \[{code}\] .*", reply), reply)
    return c


def test_append_disk_full_is_overquota(srv):
    c = append_fails(srv, "msg-write:ENOSPC:1", "OVERQUOTA")
    reply = c.append(msg=MSG.format(n=3), ok=False)
    expect(re.fullmatch(r"t\d+ OK \[APPENDUID \d+ 2\] .*", reply), reply)
    expect(message_ids(c) == {1: "1@fault.test", 2: "3@fault.test"})
    c.cmd("LOGOUT")
    out = check_clean(srv, "demo")
    expect("INBOX\tmessages=2 " in out, out)


@server_args(extra_conf="fsync = yes")
def test_append_fsync_error_is_serverbug(srv):
    c = append_fails(srv, "file-fsync:EIO:1", "SERVERBUG")
    c.append(msg=MSG.format(n=3))
    expect(message_ids(c) == {1: "1@fault.test", 2: "3@fault.test"})
    c.cmd("LOGOUT")
    check_clean(srv, "demo")


def test_append_index_commit_full_leaves_nothing(srv):
    # the append's first index write is its COMMIT's: it certainly did
    # not commit, so the message file goes at once, not at the next
    # writer's adoption
    c = append_fails(srv, "index-write:ENOSPC:1", "OVERQUOTA")
    c.cmd("LOGOUT")
    out = check_clean(srv, "demo")
    expect("INBOX\tmessages=1 " in out, out)


def select_with(srv, n):
    """Logs in, appends n messages and selects INBOX (claiming \\Recent,
    so that a later SELECT writes nothing); logs out."""
    c = srv.login()
    for i in range(1, n + 1):
        c.append(msg=MSG.format(n=i))
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("LOGOUT")


def store_fails_once(srv, faults, code):
    """STORE under faults: NO [code] and the flags unchanged; the next
    STORE works; roost check finds the store consistent."""
    select_with(srv, 2)
    restart_with_faults(srv, faults)
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    _, tagged = c.cmd("STORE 1:2 +FLAGS (\\Seen)")
    expect(re.fullmatch(rf"t\d+ NO \[{code}\] .*", tagged), tagged)
    untagged, _ = c.cmd("FETCH 1:2 FLAGS", ok=True)
    expect(all("\\Seen" not in u for u in untagged), untagged)
    untagged, _ = c.cmd("STORE 1:2 +FLAGS (\\Seen)", ok=True)
    expect(sum("\\Seen" in u for u in untagged) == 2, untagged)
    c.cmd("LOGOUT")
    check_clean(srv, "demo")


@server_args(extra_conf="fsync = yes")
def test_store_index_full_is_overquota(srv):
    store_fails_once(srv, "index-write:ENOSPC:1", "OVERQUOTA")


@server_args(extra_conf="fsync = yes")
def test_store_index_sync_error_is_serverbug(srv):
    store_fails_once(srv, "index-sync:EIO:1", "SERVERBUG")


def copy_fails(srv, faults):
    """With two messages in INBOX, restarts the server with faults and
    copies both to Archive, which must get NO [SERVERBUG].  Returns the
    session, INBOX selected."""
    select_with(srv, 2)
    restart_with_faults(srv, faults)
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    _, tagged = c.cmd("COPY 1:2 Archive")
    expect(re.fullmatch(r"t\d+ NO \[SERVERBUG\] .*", tagged), tagged)
    return c


@server_args(extra_conf="fsync = yes")
def test_copy_and_expunge_fsync_error_is_serverbug(srv):
    c = copy_fails(srv, "file-fsync:EIO:1")
    _, tagged = c.cmd("STATUS Archive (MESSAGES)", ok=True)
    c.cmd("COPY 1:2 Archive", ok=True)
    c.cmd("STORE 1 +FLAGS.SILENT (\\Deleted)", ok=True)
    c.cmd("LOGOUT")
    restart_with_faults(srv, "file-fsync:EIO:1")
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    untagged, tagged = c.cmd("EXPUNGE")
    expect(re.fullmatch(r"t\d+ NO \[SERVERBUG\] .*", tagged), tagged)
    expect(not any("EXPUNGE" in u for u in untagged), untagged)
    untagged, _ = c.cmd("EXPUNGE", ok=True)
    expect("* 1 EXPUNGE" in untagged, untagged)
    c.cmd("LOGOUT")
    c = srv.login()
    expect(message_ids(c) == {2: "2@fault.test"})
    expect(message_ids(c, "Archive") == {1: "1@fault.test", 2: "2@fault.test"})
    c.cmd("LOGOUT")
    out = check_clean(srv, "demo")
    expect("INBOX\tmessages=1 " in out and "Archive\tmessages=2 " in out, out)


def test_copy_index_commit_error_leaves_nothing(srv):
    # as for APPEND: the COPY's first index write is its COMMIT's
    c = copy_fails(srv, "index-write:EIO:1")
    c.cmd("LOGOUT")
    out = check_clean(srv, "demo")
    expect("INBOX\tmessages=2 " in out and "Archive\tmessages=0 " in out, out)


@server_args(lmtp=True, extra_conf="lmtp_single_copy = no",
             users={"demo": "demo", "alice": "alicepw"})
def test_lmtp_disk_full_is_452_per_recipient(srv):
    # a delivery writes its trace headers, then the message: two writes
    # per recipient; the third is alice's first
    restart_with_faults(srv, "msg-write:ENOSPC:3")
    c = srv.lmtp()
    expect(c.readline().startswith("220 "))
    c.send(b"LHLO client.example\r\n")
    while not c.readline().startswith("250 "):
        pass
    c.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<demo@localhost>\r\n"
           b"RCPT TO:<alice@localhost>\r\nDATA\r\n")
    for _ in range(4):
        line = c.readline()
        expect(line.startswith(("250 ", "354 ")), line)
    c.send(MSG.format(n=1).encode() + b".\r\n")
    line = c.readline()
    expect(line.startswith("250 2.0.0 <demo@localhost>"), line)
    line = c.readline()
    expect(line.startswith("452 4.2.2 <alice@localhost>"), line)
    # the sender tries alice again
    c.send(b"MAIL FROM:<s@example.org>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n")
    for _ in range(3):
        line = c.readline()
        expect(line.startswith(("250 ", "354 ")), line)
    c.send(MSG.format(n=1).encode() + b".\r\n")
    line = c.readline()
    expect(line.startswith("250 2.0.0 <alice@localhost>"), line)
    c.send(b"QUIT\r\n")
    c.readline()
    out = check_clean(srv, "demo", "alice")
    expect(out.count("INBOX\tmessages=1 ") == 2, out)


def lmtp_transaction(c, rcpts, n):
    """One transaction to rcpts over an LMTP client that said LHLO;
    returns the reply lines after the data, one per recipient."""
    cmd = b"MAIL FROM:<s@example.org>\r\n"
    for r in rcpts:
        cmd += b"RCPT TO:<%s@localhost>\r\n" % r.encode()
    c.send(cmd + b"DATA\r\n")
    for _ in range(len(rcpts) + 2):
        line = c.readline()
        expect(line.startswith(("250 ", "354 ")), line)
    c.send(MSG.format(n=n).encode() + b".\r\n")
    return [c.readline() for _ in rcpts]


def lmtp_client(srv):
    c = srv.lmtp()
    expect(c.readline().startswith("220 "))
    c.send(b"LHLO client.example\r\n")
    while not c.readline().startswith("250 "):
        pass
    return c


LMTP_USERS = {"demo": "demo", "alice": "alicepw", "bob": "bobpw"}


def lmtp_alice_fails(srv, faults):
    """Delivers once to every user (so each store exists), restarts the
    server with faults and delivers to demo, alice and bob in one
    transaction: alice must get 451, the others 250.  Returns the LMTP
    client."""
    c = lmtp_client(srv)
    expect(all(r.startswith("250 ") for r in lmtp_transaction(c, list(LMTP_USERS), 1)))
    c.close()
    restart_with_faults(srv, faults)
    c = lmtp_client(srv)
    replies = lmtp_transaction(c, ["demo", "alice", "bob"], 2)
    expect(replies[0].startswith("250 2.0.0 <demo@localhost>"), replies)
    expect(replies[1].startswith("451 4.3.0 <alice@localhost>"), replies)
    expect(replies[2].startswith("250 2.0.0 <bob@localhost>"), replies)
    return c


@server_args(lmtp=True, extra_conf="lmtp_single_copy = no", users=LMTP_USERS)
def test_lmtp_fsync_error_is_451_for_that_recipient_only(srv):
    # each recipient's append runs on a helper thread (lmtp/session.c);
    # a failed fsync there reaches only its own recipient.  An append
    # syncs its file, then cur/: the third fsync is alice's file
    c = lmtp_alice_fails(srv, "file-fsync:EIO:3")
    # the connection goes on: alice again
    expect(lmtp_transaction(c, ["alice"], 2)[0].startswith("250 "))
    c.send(b"QUIT\r\n")
    c.readline()
    out = check_clean(srv, *LMTP_USERS)
    expect(out.count("INBOX\tmessages=2 ") == 3, out)


@server_args(lmtp=True, extra_conf="lmtp_single_copy = no", users=LMTP_USERS)
def test_lmtp_index_sync_error_is_451_for_that_recipient_only(srv):
    # each append's COMMIT syncs the index twice here, so the third
    # index sync after the restart is alice's COMMIT's first: a failed
    # log sync may still be durable, so her file stays for adoption
    # (save.c), but she is not told it is stored
    c = lmtp_alice_fails(srv, "index-sync:EIO:3")
    c.send(b"QUIT\r\n")
    c.readline()
    srv.stop()
    # roost check's own open adopts alice's file; then nothing is amiss
    srv.roost("check", "-c", srv.conf, "alice", check=False)
    out = check_clean(srv, *LMTP_USERS)
    expect(out.count("INBOX\tmessages=2 ") >= 2, out)
