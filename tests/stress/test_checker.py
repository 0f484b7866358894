"""The stress checker itself can fail: scripted server answers with one
violation each must be reported (and a correct one must not).  No server
is started: the client's connection is replaced by a script."""
import time

import stress
from roosttest import expect


class ScriptConn:
    """Answers each command with the next list of lines; TAG in a line is
    the command's tag."""

    def __init__(self, client, answers):
        self.client = client
        self.answers = list(answers)
        self.queue = []
        self.sent = []

    def send(self, data):
        self.sent.append(data)
        tag = f"c{self.client.id}.{self.client.tagn}"
        for line in self.answers.pop(0):
            self.queue.append(line if isinstance(line, tuple)
                              else line.replace("TAG", tag))

    def response(self, timeout=None):
        line = self.queue.pop(0)
        if isinstance(line, tuple):         # (text, [literals])
            return line
        return line, []


def client(ident=0, shared=None, rev2=False):
    results = stress.Results()
    c = stress.Client(ident, "demo", 0, 1, shared or stress.Shared(),
                      results, time.time() + 60, rev2=rev2,
                      fresh_counter=[0])
    return c, results


SELECT3 = ["* 3 EXISTS", "* FLAGS (\\Seen \\Deleted)",
           "* OK [UIDVALIDITY 7] UIDs valid.", "* OK [UIDNEXT 10] Next.",
           "TAG OK [READ-WRITE] SELECT completed."]
FETCH3 = ["* 1 FETCH (UID 1 FLAGS ())", "* 2 FETCH (UID 2 FLAGS ())",
          "* 3 FETCH (UID 5 FLAGS ())", "TAG OK Fetch completed."]


def play(answers, action, shared=None, ident=0, rev2=False):
    c, results = client(ident, shared, rev2)
    c.conn = ScriptConn(c, [SELECT3, FETCH3] + answers)
    c.select("INBOX")
    action(c)
    return c, results


def kinds(results):
    return set(results.kinds)


def test_clean_session_has_no_failure():
    c, r = play([["* 4 EXISTS", "* 4 FETCH (UID 9 FLAGS (\\Seen))",
                  "TAG OK [EXPUNGEISSUED] Some messages were expunged."]],
                lambda c: c.command("FETCH 1:4 (UID FLAGS)"))
    expect(not kinds(r), r.report())
    expect(c.view == [1, 2, 5, 9], c.view)


def test_fetch_for_unknown_msn():
    _, r = play([["* 4 FETCH (UID 9 FLAGS ())", "TAG OK done."]],
                lambda c: c.command("FETCH 1:3 (UID FLAGS)"))
    expect("FETCH for an MSN the session was not told about" in kinds(r),
           r.report())


def test_exists_shrinks_and_expunge_unknown():
    _, r = play([["* 2 EXISTS", "* 5 EXPUNGE", "TAG OK done."]],
                lambda c: c.command("NOOP"))
    expect({"EXISTS shrank the view", "EXPUNGE of an unknown MSN"}
           <= kinds(r), r.report())


def test_expunge_during_fetch():
    _, r = play([["* 1 EXPUNGE", "TAG OK done."]],
                lambda c: c.command("FETCH 1 (FLAGS)"))
    expect("EXPUNGE during FETCH/STORE/SEARCH" in kinds(r), r.report())


def test_uids_not_ascending():
    _, r = play([["* 4 EXISTS", "* 4 FETCH (UID 3 FLAGS ())", "TAG OK d."]],
                lambda c: c.command("FETCH 4 (UID FLAGS)"))
    expect("UIDs not ascending in the view" in kinds(r), r.report())


def test_no_expungeissued_on_fetch_and_serverbug():
    _, r = play([["TAG NO [EXPUNGEISSUED] Some messages were expunged."],
                 ["TAG NO [SERVERBUG] Internal error occurred."]],
                lambda c: (c.command("FETCH 1 (FLAGS)"),
                           c.command("STORE 1 +FLAGS (\\Seen)")))
    expect({"FETCH NO [EXPUNGEISSUED]", "STORE NO [SERVERBUG]"} <= kinds(r),
           r.report())


def test_copy_may_answer_expungeissued():
    _, r = play([["TAG NO [EXPUNGEISSUED] Some messages were expunged."]],
                lambda c: c.command("COPY 1 Shared1"))
    expect(not kinds(r), r.report())


def test_keyword_not_announced():
    _, r = play([["* 1 FETCH (FLAGS ($Label1))", "TAG OK done."]],
                lambda c: c.command("FETCH 1 (FLAGS)"))
    expect("FETCH FLAGS has a keyword not announced by FLAGS" in kinds(r),
           r.report())


def test_appenduid_not_above_uids_seen():
    def act(c):
        c.rnd.random = lambda: 0.9
        c.op_append(box="INBOX")
    _, r = play([["TAG OK [APPENDUID 7 4] Append completed."]], act)
    expect("APPENDUID reuses a UID or is not above every UID seen before"
           in kinds(r), r.report())


def test_recent_in_two_sessions():
    shared = stress.Shared()
    _, r1 = play([["* 1 FETCH (FLAGS (\\Recent))", "TAG OK done."]],
                 lambda c: c.command("FETCH 1 (FLAGS)"), shared, ident=1)
    _, r2 = play([["* 1 FETCH (FLAGS (\\Recent))", "TAG OK done."]],
                 lambda c: c.command("FETCH 1 (FLAGS)"), shared, ident=2)
    expect(not kinds(r1), r1.report())
    expect("\\Recent in two sessions" in kinds(r2), r2.report())


def test_body_differs_from_appended():
    shared = stress.Shared()
    shared.bodies["x"] = b"other"
    _, r = play([[("* 1 FETCH (UID 1 BODY[] \x000\x00)", [b"garbage"]),
                  "TAG OK done."]],
                lambda c: c.command("FETCH 1 (UID BODY.PEEK[])"), shared)
    expect("BODY[] is no message that was appended" in kinds(r), r.report())


def test_own_store_not_in_fetch_response():
    def act(c):
        # STORE 1 +FLAGS (own0), non-silent, uid mode off
        vals = iter([0.9, 0.1, 0.9])
        c.rnd.random = lambda: next(vals)
        c.rnd.choice = lambda seq: "+" if seq == "+-" else seq[0]
        c.rnd.randint = lambda a, b: a
        c.op_store()
    _, r = play([["* 1 FETCH (FLAGS (\\Seen))", "TAG OK Store completed."]],
                act)
    expect("own STORE result not in its FETCH response" in kinds(r),
           r.report())
