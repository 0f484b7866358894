"""The CAPABILITY list against the commands (RFC 9051 6.1.1, 7.2.2): in
each session state, every capability advertised works, and every command
the server knows is advertised by its capability.  The list is derived
from the command table (src/imap/capability.c); this is the check that
the derivation and the table hold what the server really does."""
import re
from roosttest import expect, server_args

# Capabilities that are commands, with a command that must answer OK in
# the states (n = not authenticated, a = authenticated, s = selected) given
# ("" = checked on its own below).
COMMAND_CAPS = {
    "ENABLE": ("as", "ENABLE X-UNKNOWN"),
    "ID": ("nas", "ID NIL"),
    "IDLE": ("as", None),
    "MOVE": ("s", "UID MOVE 4000000 INBOX"),
    "NOTIFY": ("as", "NOTIFY NONE"),
    "NAMESPACE": ("as", "NAMESPACE"),
    "SORT": ("s", "SORT (ARRIVAL) UTF-8 ALL"),
    "STARTTLS": ("", None),
    "THREAD=ORDEREDSUBJECT": ("s", "THREAD ORDEREDSUBJECT UTF-8 ALL"),
    "THREAD=REFERENCES": ("s", "THREAD REFERENCES UTF-8 ALL"),
    "UNSELECT": ("s", "UNSELECT"),
}

# Capabilities that are not commands, with a command that shows them at
# work where that is cheap.
OTHER_CAPS = {
    "IMAP4rev1": None,
    "IMAP4rev2": ("as", "ENABLE IMAP4rev2"),
    "AUTH=PLAIN": None,
    "AUTH=LOGIN": None,
    # exercised in test_sasl_scram.py
    "AUTH=SCRAM-SHA-256": None,
    "AUTH=SCRAM-SHA-1": None,
    "AUTH=SCRAM-SHA-256-PLUS": None,
    "AUTH=SCRAM-SHA-1-PLUS": None,
    "AUTH=CRAM-MD5": None,
    "LOGINDISABLED": None,
    "SASL-IR": None,
    "LITERAL+": ("nas", "ID (\"x\" {1+}\r\ny)"),
    "UIDPLUS": ("s", "UID EXPUNGE 4000000"),
    "CHILDREN": ("as", 'LIST "" "*" RETURN (CHILDREN)'),
    "SPECIAL-USE": ("as", 'LIST (SPECIAL-USE) "" "*"'),
    "LIST-EXTENDED": ("as", 'LIST () "" ("INBOX")'),
    "LIST-STATUS": ("as", 'LIST "" "*" RETURN (STATUS (MESSAGES))'),
    "STATUS=SIZE": ("as", "STATUS INBOX (SIZE)"),
    "ESEARCH": ("s", "SEARCH RETURN (COUNT) ALL"),
    "SEARCHRES": ("s", "SEARCH RETURN (SAVE) ALL"),
    "WITHIN": ("s", "SEARCH YOUNGER 10"),
    "SORT=DISPLAY": ("s", "SORT (DISPLAYFROM) UTF-8 ALL"),
    "ESORT": ("s", "SORT RETURN (COUNT) (ARRIVAL) UTF-8 ALL"),
    "PARTIAL": ("s", "UID SEARCH RETURN (PARTIAL 1:5) ALL"),
    "CONTEXT=SEARCH": ("s", "SEARCH RETURN (UPDATE COUNT) ALL"),
    "CONTEXT=SORT": ("s", "SORT RETURN (UPDATE COUNT) (ARRIVAL) UTF-8 ALL"),
    "BINARY": ("s", "FETCH 1 BINARY.SIZE[]"),
    "APPENDLIMIT": ("as", "STATUS INBOX (APPENDLIMIT)"),
    "CONDSTORE": ("s", "FETCH 1 (MODSEQ)"),
    "QRESYNC": ("as", "ENABLE QRESYNC"),
    # enabling it would refuse the probes' FETCH: test_uidonly.py
    "UIDONLY": None,
    "OBJECTID": ("s", "FETCH 1 (EMAILID THREADID)"),
    "SAVEDATE": ("s", "SEARCH SAVEDATESUPPORTED SAVEDSINCE 1-Jan-2000"),
    "PREVIEW": ("s", "FETCH 1 (PREVIEW (LAZY))"),
}

# Commands of IMAP extensions (IANA registry) and the capability that
# must be advertised by a server that answers them ("THREAD=" = any
# THREAD=<algorithm>).  A command not here that the server answers is
# caught by the dispatcher's own table: see test_unknown_commands_named.
EXTENSION_COMMANDS = {
    "ENABLE": "ENABLE", "ID": "ID", "IDLE": "IDLE", "MOVE": "MOVE",
    "NAMESPACE": "NAMESPACE", "SORT": "SORT", "THREAD": "THREAD=",
    "UNSELECT": "UNSELECT", "STARTTLS": "STARTTLS",
    "COMPRESS": "COMPRESS=", "GETQUOTA": "QUOTA", "GETQUOTAROOT": "QUOTA",
    "SETQUOTA": "QUOTA", "GETACL": "ACL", "SETACL": "ACL",
    "DELETEACL": "ACL", "LISTRIGHTS": "ACL", "MYRIGHTS": "ACL",
    "GETMETADATA": "METADATA", "SETMETADATA": "METADATA",
    "NOTIFY": "NOTIFY", "ESEARCH": "MULTISEARCH", "CANCELUPDATE":
    "CONTEXT=SEARCH", "URLFETCH": "URLAUTH", "GENURLAUTH": "URLAUTH",
    "RESETKEY": "URLAUTH", "REPLACE": "REPLACE", "UNAUTHENTICATE":
    "UNAUTHENTICATE", "LANGUAGE": "LANGUAGE", "COMPARATOR": "I18NLEVEL=2",
    "CONVERT": "CONVERT", "XLIST": "XLIST",
}
# UID forms of commands, and the capability that brings each (None: there
# is no such UID form, and the server must not know one)
UID_FORMS = {
    "FETCH": "IMAP4rev1", "STORE": "IMAP4rev1", "COPY": "IMAP4rev1",
    "SEARCH": "IMAP4rev1", "EXPUNGE": "UIDPLUS", "MOVE": "MOVE",
    "SORT": "SORT", "THREAD": "THREAD=", "REPLACE": "REPLACE",
    "NOOP": None, "SELECT": None, "APPEND": None,
}

UNKNOWN = re.compile(r"^\S+ BAD Unknown command ")


def capabilities(c):
    untagged, _ = c.cmd("CAPABILITY", ok=True)
    line = [u for u in untagged if u.startswith("* CAPABILITY ")][0]
    return line[len("* CAPABILITY "):].split(" ")


def advertised(caps, cap):
    if cap.endswith("="):
        return any(x.startswith(cap) for x in caps)
    return cap in caps


def probe(c, text):
    """The tagged answer to `text`; a NOOP after it keeps the BAD answers
    of the probes from adding up to the limit of BAD in a row."""
    _, t = c.cmd(text)
    c.cmd("NOOP", ok=True)
    return t


def idle_works(c):
    tag = c.next_tag()
    c.line(f"{tag} IDLE")
    expect(c.readline().startswith("+ "), "IDLE gave no continuation")
    c.line("DONE")
    while True:
        line = c.readline()
        if line.startswith(tag + " "):
            expect(line.startswith(tag + " OK"), line)
            return


def check_state(c, state, caps, tls=False):
    """Every capability advertised is known and works in `state`; every
    command the server answers is advertised."""
    for cap in caps:
        name = "APPENDLIMIT" if cap.startswith("APPENDLIMIT=") else cap
        expect(name in COMMAND_CAPS or name in OTHER_CAPS,
               f"{cap} is advertised but this test does not know it: add it")
        entry = COMMAND_CAPS.get(name) or OTHER_CAPS.get(name)
        if name == "IDLE" and state in "as":
            idle_works(c)
        elif entry and entry[1] and state in entry[0]:
            if "{1+}" in entry[1]:
                tag = c.next_tag()
                c.send(f"{tag} {entry[1]}\r\n".encode())
                while True:
                    line = c.readline()
                    if line.startswith(tag + " "):
                        break
                expect(line.startswith(tag + " OK"), (cap, line))
            else:
                c.cmd(entry[1], ok=True)
            if name == "UNSELECT":
                c.cmd("SELECT INBOX", ok=True)
        if name in COMMAND_CAPS and name != "STARTTLS":
            # known in every state, even where it is not allowed
            command = name.split("=")[0]
            t = probe(c, f"{command} probe-argument")
            expect(not UNKNOWN.match(t), (state, cap, t))
    for command, cap in EXTENSION_COMMANDS.items():
        command = command.strip()
        if command == "ENABLE":
            t = probe(c, "ENABLE X-UNKNOWN")
        else:
            t = probe(c, f"{command} probe-argument")
        if UNKNOWN.match(t):
            continue
        if command == "STARTTLS" and "STARTTLS" not in caps:
            # known, but offered only before login on a plaintext
            # connection that can start TLS
            expect(state != "n" or tls, (state, t))
            continue
        expect(advertised(caps, cap),
               f"{command} answers ({t!r}) in state {state} but {cap} is not advertised")
    if state == "s":
        for command, cap in UID_FORMS.items():
            t = probe(c, f"UID {command} probe-argument")
            known = not UNKNOWN.match(t)
            expect(known == (cap is not None and advertised(caps, cap)),
                   (command, cap, t))


def test_every_capability_works_and_every_command_is_advertised(srv):
    c = srv.connect()
    c.greeting()
    caps = capabilities(c)
    expect("STARTTLS" in caps and "AUTH=PLAIN" in caps and "SASL-IR" in caps, caps)
    check_state(c, "n", caps)
    c.cmd("LOGIN demo demo", ok=True)
    caps = capabilities(c)
    expect("AUTH=PLAIN" not in caps and "STARTTLS" not in caps, caps)
    check_state(c, "a", caps)
    c.append()
    c.cmd("SELECT INBOX", ok=True)
    expect(capabilities(c) == caps, "SELECT changed the capabilities")
    check_state(c, "s", caps)


def test_capabilities_over_tls(srv):
    c = srv.connect(tls=True)
    c.greeting()
    caps = capabilities(c)
    expect("STARTTLS" not in caps and "AUTH=PLAIN" in caps, caps)
    check_state(c, "n", caps, tls=True)


def test_starttls_is_advertised_until_it_ran(srv):
    c = srv.connect()
    c.greeting()
    expect("STARTTLS" in capabilities(c))
    c.cmd("STARTTLS", ok=True)
    c.starttls()
    caps = capabilities(c)
    expect("STARTTLS" not in caps, caps)
    check_state(c, "n", caps, tls=True)


@server_args(extra_conf="plaintext_auth = never")
def test_capabilities_when_plaintext_is_refused(srv):
    c = srv.connect()
    c.greeting()
    caps = capabilities(c)
    expect("LOGINDISABLED" in caps and "AUTH=PLAIN" not in caps, caps)
    check_state(c, "n", caps)
