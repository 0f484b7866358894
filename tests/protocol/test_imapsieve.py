"""imapsieve (RFC 6785): roost.conf's imapsieve_mailbox lines run Sieve
scripts after IMAP events.  One server with the Junk spam/ham rules of the
README: MOVE into Junk reports spam to an address (captured by
tests/lib/smtpsink.py) and flags the message, COPY out of Junk into INBOX
reports ham, APPEND into Junk runs the same rule with imap.cause
"APPEND", a STORE in a FLAG mailbox sees imap.changedflags, a script
that does not compile changes nothing (logged), and a mailbox without a
rule is left alone.  The scripts run after the tagged OK, so the checks
poll."""
import os
import re
import tempfile
import time

from roosttest import expect, Server, TestFailure
from smtpsink import SmtpSink

SPAM = r'''require ["copy", "environment", "imapsieve", "imap4flags"];
if environment :is "imap.cause" "COPY" {
  addflag "$Reported";
  redirect :copy "spam-report@example.net";
} elsif environment :is "imap.cause" "APPEND" {
  addflag "$Appended";
}
'''

HAM = r'''require ["copy", "environment", "imapsieve"];
if environment :is "imap.mailbox" "INBOX" {
  redirect :copy "ham-report@example.net";
}
'''

FLAG = r'''require ["environment", "imapsieve", "imap4flags"];
if allof (environment :is "imap.changedflags" "\\Flagged", hasflag "\\Flagged") {
  addflag "$SawFlagged";
}
'''

BROKEN = 'require "imap4flags";\naddflag "$Never"\n'


def msg(subject):
    return (f"From: someone@example.org\r\nTo: demo@example.org\r\n"
            f"Subject: {subject}\r\n\r\nbody\r\n")


def flags_of(c, box):
    """{subject: sorted flags} of mailbox `box` (EXAMINE: no \\Recent claim)."""
    c.cmd(f'EXAMINE "{box}"', ok=True)
    untagged, _ = c.cmd("FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    out = {}
    for m in re.finditer(r"FLAGS \(([^)]*)\).*?Subject: ([^\r\n]*)", "\n".join(untagged),
                         re.S):
        out[m.group(2)] = sorted(f for f in m.group(1).split() if f != "\\Recent")
    c.cmd("CLOSE")
    return out


def wait_flags(c, box, subject, flags):
    deadline = time.time() + 10
    while True:
        got = flags_of(c, box).get(subject)
        if got == sorted(flags):
            return
        if time.time() > deadline:
            raise TestFailure(f"{box}/{subject}: flags {got}, expected {sorted(flags)}")
        time.sleep(0.1)


def test_imapsieve_junk_rules():
    tmp = tempfile.mkdtemp(prefix="imapsieve-")
    paths = {}
    for name, text in (("spam", SPAM), ("ham", HAM), ("flag", FLAG), ("broken", BROKEN)):
        paths[name] = os.path.join(tmp, name + ".sieve")
        with open(paths[name], "w") as f:
            f.write(text)
    sink = SmtpSink(tempfile.mkdtemp(prefix="imapsieve-sink-"))
    srv = Server(extra_conf=(f"submission_host = 127.0.0.1:{sink.port}\n"
                             f"imapsieve_mailbox = Junk COPY,APPEND {paths['spam']}\n"
                             f"imapsieve_mailbox = INBOX COPY {paths['ham']} Junk\n"
                             f"imapsieve_mailbox = Watched FLAG {paths['flag']}\n"
                             f"imapsieve_mailbox = Broken APPEND,FLAG {paths['broken']}\n"))
    try:
        c = srv.login()
        for box in ("Junk", "Work", "Watched", "Broken"):
            c.cmd(f'CREATE "{box}"')
        c.append("INBOX", "(\\Seen)", msg("spam 1"))
        c.append("Work", "", msg("work 2"))

        # MOVE into Junk: redirected as spam, flagged
        c.cmd("SELECT INBOX", ok=True)
        c.cmd("MOVE 1 Junk", ok=True)
        [m] = sink.wait_messages(1)
        expect(m["rcpts"] == ["spam-report@example.net"] and m["mail_from"].startswith("demo@"), m)
        expect("Subject: spam 1" in m["data"].decode(), m["data"])
        wait_flags(c, "Junk", "spam 1", ["\\Seen", "$Reported"])

        # COPY out of Junk into INBOX reports ham (FROM Junk); a COPY
        # into INBOX from elsewhere does not
        c.cmd("SELECT Work", ok=True)
        c.cmd("COPY 1 INBOX", ok=True)
        c.cmd("SELECT Junk", ok=True)
        c.cmd("COPY 1 INBOX", ok=True)
        msgs = sink.wait_messages(2)
        expect([x["rcpts"] for x in msgs] ==
               [["spam-report@example.net"], ["ham-report@example.net"]], msgs)
        expect("Subject: spam 1" in msgs[1]["data"].decode(), msgs[1]["data"])

        # APPEND into Junk: the same script, cause APPEND
        c.append("Junk", "", msg("appended 3"))
        wait_flags(c, "Junk", "appended 3", ["$Appended"])

        # STORE in a FLAG mailbox: imap.changedflags; another change does
        # not match the script
        c.append("Watched", "", msg("watched 4"))
        c.append("Watched", "", msg("watched 5"))
        c.cmd("SELECT Watched", ok=True)
        c.cmd("STORE 1 +FLAGS (\\Flagged)", ok=True)
        c.cmd("STORE 2 +FLAGS (\\Seen)", ok=True)
        wait_flags(c, "Watched", "watched 4", ["\\Flagged", "$SawFlagged"])
        time.sleep(0.5)
        expect(flags_of(c, "Watched")["watched 5"] == ["\\Seen"])

        # a script that does not compile: logged, nothing changes
        c.append("Broken", "(\\Seen)", msg("broken 6"))
        deadline = time.time() + 10
        while "does not compile" not in srv.log_text() and time.time() < deadline:
            time.sleep(0.1)
        expect(re.search(r"imapsieve: demo: .*broken\.sieve does not compile",
                         srv.log_text()), srv.log_text()[-3000:])
        expect(flags_of(c, "Broken") == {"broken 6": ["\\Seen"]})

        # no rule: Work and INBOX's own messages untouched, nothing more sent
        time.sleep(0.5)
        expect(flags_of(c, "Work") == {"work 2": []}, flags_of(c, "Work"))
        expect(flags_of(c, "INBOX") == {"work 2": [], "spam 1": ["$Reported", "\\Seen"]},
               flags_of(c, "INBOX"))
        expect(len(sink.messages()) == 2, sink.messages())
        c.close()
        srv.check_log()
    except Exception:
        print(srv.log_text()[-4000:])
        raise
    finally:
        srv.cleanup()
        sink.stop()
