"""User names map to mail stores one-to-one: a name is lowercased (the
whole name, as Dovecot's default auth_username_format = %Lu) at `roost
user add`, LOGIN, AUTHENTICATE, LMTP RCPT and `roost deliver -u`, so
`Bob@EXAMPLE.com` and `bob@example.com` are one account with one password
and one store; `demo@_` ("_" is the store's directory for "no domain") is
no account at all."""
import base64
import os
import re
import time

from roosttest import server_args, expect


def _messages(srv, user, password):
    c = srv.login(user, password)
    u, _ = c.cmd("STATUS INBOX (MESSAGES)", ok=True)
    c.cmd("LOGOUT")
    return int(re.search(r"MESSAGES (\d+)", u[0]).group(1))


@server_args(lmtp=True, users={"demo": "demo", "bob@example.com": "bobpw"})
def test_user_names_any_case_one_store(srv):
    # LOGIN in any case reaches the same account and store
    c = srv.login("BOB@Example.COM", "bobpw")
    c.append()
    c.cmd("LOGOUT")
    expect(_messages(srv, "bob@example.com", "bobpw") == 1)
    c = srv.login("DEMO", "demo")
    c.cmd("LOGOUT")
    c = srv.connect()
    c.greeting()
    pl = base64.b64encode(b"\0Bob@example.COM\0bobpw").decode()
    c.cmd(f"AUTHENTICATE PLAIN {pl}", ok=True)
    c.cmd("LOGOUT")

    # "demo@_" is not demo
    c = srv.connect()
    c.greeting()
    _, tagged = c.cmd("LOGIN demo@_ demo")
    expect("AUTHENTICATIONFAILED" in tagged, tagged)
    c.close()

    # LMTP and roost deliver in another case deliver to the same store
    l = srv.lmtp()
    l.readline()
    l.conv('''
C: LHLO client.example
S~ 250-.*
S~ 250-.*
S~ 250-.*
S~ 250-.*
S~ 250-.*
S~ 250-.*
S~ 250 .*
C: MAIL FROM:<a@example.org>
S: 250 2.1.0 OK
C: RCPT TO:<Bob@EXAMPLE.com>
S: 250 2.1.5 <Bob@EXAMPLE.com> OK
C: DATA
S: 354 Start mail input; end with <CRLF>.<CRLF>
C: Subject: to Bob
C:
C: hi
C: .
S~ 250 2\\.0\\.0 <Bob@EXAMPLE\\.com> \\S+ Saved
C: QUIT
S~ 221 .*
''')
    srv.roost("deliver", "-c", srv.conf, "-u", "BOB@example.com",
              input="Subject: deliver\n\nhi\n")
    srv.roost("deliver", "-c", srv.conf, "-u", "Demo", input="Subject: d\n\nhi\n")
    expect(_messages(srv, "bob@example.com", "bobpw") == 3)
    expect(_messages(srv, "demo", "demo") == 1)
    users = os.path.join(srv.data_dir, "users")
    expect(sorted(os.listdir(users)) == ["_", "example.com"], os.listdir(users))
    expect(os.listdir(os.path.join(users, "example.com")) == ["bob"],
           os.listdir(os.path.join(users, "example.com")))
    expect(os.listdir(os.path.join(users, "_")) == ["demo"],
           os.listdir(os.path.join(users, "_")))

    # roost user add refuses another spelling of an existing name, and "_"
    for name in ("bob@EXAMPLE.com", "Bob@example.com", "DEMO", "demo@_", "alice@_"):
        p = srv.roost("user", "add", "-c", srv.conf, name, input="other\n", check=False)
        expect(p.returncode == 65, (name, p.returncode, p.stderr))
    p = srv.roost("user", "add", "-c", srv.conf, "demo@_", input="x\n", check=False)
    expect("no domain" in p.stderr, p.stderr)
    p = srv.roost("user", "add", "-c", srv.conf, "Bob@Example.com", input="x\n",
                  check=False)
    expect("already exists" in p.stderr, p.stderr)
    # the first password still works, no second one was set
    c = srv.connect()
    c.greeting()
    _, tagged = c.cmd("LOGIN bob@example.com other")
    expect("AUTHENTICATIONFAILED" in tagged, tagged)
    c.close()
    # a new name is stored lowercased and logs in in any case
    p = srv.roost("user", "add", "-c", srv.conf, "Carol@Example.COM", input="cpw\n")
    expect("carol@example.com" in p.stdout, p.stdout)
    expect("carol@example.com:" in open(srv.userdb).read())
    time.sleep(1.1)     # the server stats the file at most once a second
    c = srv.login("CAROL@example.com", "cpw")
    c.cmd("LOGOUT")


def test_check_takes_the_normalised_name(srv):
    """`roost check` opens the store the server uses for a name in any
    case, and refuses a name that is no user instead of making a store
    for it (the server could never open either)."""
    c = srv.login()
    c.append()
    c.cmd("LOGOUT")
    users = os.path.join(srv.data_dir, "users", "_")
    for args in (["Demo"], ["--rebuild", "DEMO"]):
        p = srv.roost("check", "-c", srv.conf, *args)
        expect("\ndemo\tINBOX\tmessages=1 " in "\n" + p.stdout, p.stdout)
        expect(sorted(os.listdir(users)) == ["demo"], os.listdir(users))
    for name in ("nosuch", "demo@_"):
        p = srv.roost("check", "-c", srv.conf, name, check=False)
        expect(p.returncode == 67, (name, p.returncode, p.stdout, p.stderr))
        expect("no such user" in p.stderr, p.stderr)
    expect(sorted(os.listdir(users)) == ["demo"], os.listdir(users))
    expect(not os.path.exists(os.path.join(srv.data_dir, "users", "_", "nosuch")))


def test_store_of_a_name_from_before_lowercasing_is_kept(srv):
    """A user added as "Demo" before names were lowercased has the store
    users/_/Demo; the server now opens "demo".  That store is taken over
    (renamed) rather than an empty one made beside it; two stores that now
    share a name are not merged, the open fails and the log says why."""
    import shutil
    for user, pw in (("demo", "demo"), ("alice", "alicepw")):
        c = srv.login(user, pw)
        c.append()
        c.append()
        c.cmd("LOGOUT")
    srv.stop()
    users = os.path.join(srv.data_dir, "users", "_")
    os.rename(os.path.join(users, "demo"), os.path.join(users, "Demo"))
    os.rename(os.path.join(users, "alice"), os.path.join(users, "Alice"))
    shutil.copytree(os.path.join(users, "Alice"), os.path.join(users, "ALICE"))
    srv.start()
    expect(_messages(srv, "demo", "demo") == 2)
    expect(sorted(os.listdir(users)) == ["ALICE", "Alice", "demo"], os.listdir(users))
    expect("renamed " + os.path.join(users, "Demo") in srv.log_text(), srv.log_text())
    # roost deliver and roost check find the same store
    srv.roost("deliver", "-c", srv.conf, "-u", "demo", input="Subject: d\n\nhi\n")
    p = srv.roost("check", "-c", srv.conf, "demo")
    expect("\ndemo\tINBOX\tmessages=3 " in "\n" + p.stdout, p.stdout)
    # two candidates: no guess
    c = srv.connect()
    c.greeting()
    _, tagged = c.cmd("LOGIN alice alicepw")
    expect(" NO " in tagged, tagged)
    c.close()
    p = srv.roost("deliver", "-c", srv.conf, "-u", "alice", input="Subject: d\n\nhi\n",
                  check=False)
    expect(p.returncode == 75, (p.returncode, p.stderr))
    expect("merge them by hand" in srv.log_text(), srv.log_text())
    expect(sorted(os.listdir(users)) == ["ALICE", "Alice", "demo"], os.listdir(users))
