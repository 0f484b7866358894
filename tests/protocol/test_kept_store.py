"""A worker keeps a user's store after the user's last session ends
(src/store/store.c store_keep_set_limits()), so that a client logging in
again selects from the kept snapshots.  What it then sees is exactly what
a fresh load gives (one after a server restart, which keeps nothing),
whatever other processes and sessions did in between: deliveries,
flags, expunges, a mailbox deleted and made again, and a `roost check
--rebuild` beside the running server, which a kept store does not stop
because it holds no descriptor of its user's."""
import re
import time

from roosttest import expect, server_args


def user_fds(srv):
    """The worker's descriptors on files of the users' stores, once the
    sessions that logged out are gone (the client's close is seen before
    the worker frees the session: waits up to 10 s for none)."""
    pid = srv.worker_pids()[0]
    for _ in range(200):
        files = [t for t in srv.worker_fds(pid) if t.startswith(srv.data_dir)]
        if not files:
            break
        time.sleep(0.05)
    return files


def seen(srv, boxes=("INBOX", "Box")):
    """What a client logging in sees of each mailbox: EXISTS, UIDVALIDITY,
    UIDNEXT and FETCH 1:* (UID FLAGS), \\Recent left out (the first
    session to see a message holds it); ends with LOGOUT."""
    c = srv.login()
    out = []
    for box in boxes:
        u, _ = c.cmd(f"SELECT {box}", ok=True)
        out += [l for l in u if l.endswith(" EXISTS") or "UIDVALIDITY" in l
                or "UIDNEXT" in l]
        u, _ = c.cmd("FETCH 1:* (UID FLAGS)", ok=True)
        out += [re.sub(r" ?\\Recent", "", l).replace("( ", "(") for l in u]
    c.cmd("LOGOUT")
    c.close()
    return out


def seen_fresh(srv):
    """seen() after a restart of the server: a fresh load."""
    srv.stop()
    srv.start()
    return seen(srv)


def test_login_again_sees_what_a_fresh_load_sees(srv):
    c = srv.login()
    c.cmd("CREATE Box", ok=True)
    for flags in ("(\\Seen)", "", "(\\Flagged $Later)"):
        c.append(flags=flags)
        c.append(box="Box", flags=flags)
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("LOGOUT")
    c.close()
    fds = user_fds(srv)
    expect(fds == [], f"descriptors on the users' stores: {fds}")

    # another process delivers
    before = seen(srv)
    p = srv.roost("deliver", "-c", srv.conf, "-u", "demo", input="Subject: d\n\nx\n")
    expect(p.returncode == 0, p.stderr)
    p = srv.roost("deliver", "-c", srv.conf, "-u", "demo", "-m", "Box",
                  input="Subject: e\n\ny\n")
    expect(p.returncode == 0, p.stderr)
    after = seen(srv)
    expect(after != before, after)
    expect(after == seen_fresh(srv), after)

    # another session changes flags, expunges, deletes and makes Box
    # again; then a rebuild runs beside the server
    seen(srv)
    c = srv.login()
    c.cmd("SELECT INBOX", ok=True)
    c.cmd("STORE 1 +FLAGS (\\Deleted)", ok=True)
    c.cmd("STORE 2 +FLAGS (\\Answered Todo)", ok=True)
    c.cmd("EXPUNGE", ok=True)
    c.cmd("DELETE Box", ok=True)
    c.cmd("CREATE Box", ok=True)
    c.append(box="Box", flags="(\\Draft)")
    c.cmd("LOGOUT")
    c.close()
    after = seen(srv)
    expect(after == seen_fresh(srv), after)

    seen(srv)
    fds = user_fds(srv)
    expect(fds == [], f"descriptors on the users' stores: {fds}")
    p = srv.roost("check", "-c", srv.conf, "--rebuild", "demo", check=False)
    expect(p.returncode == 0, f"rebuild beside a kept store: {p.stderr}")
    after = seen(srv)
    expect(any("UIDNEXT" in l for l in after), after)
    expect(after == seen_fresh(srv), after)
    srv.check_log()
