"""LIST (RFC 9051 6.3.9), LIST-EXTENDED (RFC 5258), LIST-STATUS (RFC 5819),
SPECIAL-USE (RFC 6154), CHILDREN (RFC 3348) and LSUB (RFC 3501 6.3.9),
with modified UTF-7 names."""
from roosttest import expect, MSG

DEFAULTS = [
    '* LIST (\\HasNoChildren) "/" INBOX',
    '* LIST (\\HasNoChildren \\Archive) "/" Archive',
    '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
    '* LIST (\\HasNoChildren \\Junk) "/" Junk',
    '* LIST (\\HasNoChildren \\Sent) "/" Sent',
    '* LIST (\\HasNoChildren \\Trash) "/" Trash',
]


def lst(c, args):
    untagged, tagged = c.cmd(args, ok=True)
    return untagged


def setup_tree(c):
    # Fruit, Fruit/Apple, Fruit/Banana, Tofu, Vegetable/Broccoli,
    # Vegetable/Corn; "Vegetable" then deleted so it is only a parent.
    for name in ("Fruit/Apple", "Fruit/Banana", "Tofu", "Vegetable/Broccoli",
                 "Vegetable/Corn"):
        c.cmd(f"CREATE {name}", ok=True)
    c.cmd("DELETE Vegetable", ok=True)


def test_separator(srv):
    c = srv.login()
    c.conv(r"""
    C: a1 LIST "" ""
    S: * LIST (\Noselect) "/" ""
    S: a1 OK LIST completed.
    C: a2 LIST "Fruit/Apple" ""
    S: * LIST (\Noselect) "/" ""
    S: a2 OK LIST completed.
    C: a3 LIST () "" ""
    S: a3 OK LIST completed.
    """)


def test_patterns(srv):
    c = srv.login()
    setup_tree(c)
    u = lst(c, 'LIST "" *')
    expect(u == DEFAULTS[:1] + [
        '* LIST (\\HasNoChildren \\Archive) "/" Archive',
        '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
        '* LIST (\\HasChildren) "/" Fruit',
        '* LIST (\\HasNoChildren) "/" Fruit/Apple',
        '* LIST (\\HasNoChildren) "/" Fruit/Banana',
        '* LIST (\\HasNoChildren \\Junk) "/" Junk',
        '* LIST (\\HasNoChildren \\Sent) "/" Sent',
        '* LIST (\\HasNoChildren) "/" Tofu',
        '* LIST (\\HasNoChildren \\Trash) "/" Trash',
        '* LIST (\\HasNoChildren) "/" Vegetable/Broccoli',
        '* LIST (\\HasNoChildren) "/" Vegetable/Corn',
    ], u)
    # "%" does not cross levels, and returns the parent-only level
    u = lst(c, 'LIST "" %')
    expect('* LIST (\\Noselect \\HasChildren) "/" Vegetable' in u, u)
    expect(not any("Fruit/" in x for x in u), u)
    c.conv(r"""
    C: a1 LIST "" Fruit/%
    S: * LIST (\HasNoChildren) "/" Fruit/Apple
    S: * LIST (\HasNoChildren) "/" Fruit/Banana
    S: a1 OK LIST completed.
    C: a2 LIST Fruit/ %
    S: * LIST (\HasNoChildren) "/" Fruit/Apple
    S: * LIST (\HasNoChildren) "/" Fruit/Banana
    S: a2 OK LIST completed.
    C: a3 LIST Fruit /B*
    S: * LIST (\HasNoChildren) "/" Fruit/Banana
    S: a3 OK LIST completed.
    C: a4 LIST "" F*a*
    S: * LIST (\HasNoChildren) "/" Fruit/Banana
    S: a4 OK LIST completed.
    C: a5 LIST "" %/%
    S: * LIST (\HasNoChildren) "/" Fruit/Apple
    S: * LIST (\HasNoChildren) "/" Fruit/Banana
    S: * LIST (\HasNoChildren) "/" Vegetable/Broccoli
    S: * LIST (\HasNoChildren) "/" Vegetable/Corn
    S: a5 OK LIST completed.
    C: a6 LIST "" Vegetable
    S: * LIST (\Noselect \HasChildren) "/" Vegetable
    S: a6 OK LIST completed.
    C: a7 LIST "" Nothing*
    S: a7 OK LIST completed.
    C: a8 LIST "" "T%"
    S: * LIST (\HasNoChildren) "/" Tofu
    S: * LIST (\HasNoChildren \Trash) "/" Trash
    S: a8 OK LIST completed.
    C: a9 LIST "" {4+}
    C: Tof*
    S: * LIST (\HasNoChildren) "/" Tofu
    S: a9 OK LIST completed.
    """)


def test_inbox_any_case(srv):
    c = srv.login()
    c.cmd("CREATE INBOX/sub", ok=True)
    c.conv(r"""
    C: a1 LIST "" inbox
    S: * LIST (\HasChildren) "/" INBOX
    S: a1 OK LIST completed.
    C: a2 LIST "" InBoX/%
    S: * LIST (\HasNoChildren) "/" INBOX/sub
    S: a2 OK LIST completed.
    C: a3 LIST inbox/ *
    S: * LIST (\HasNoChildren) "/" INBOX/sub
    S: a3 OK LIST completed.
    C: a4 LIST "" Inb*
    S: * LIST (\HasChildren) "/" INBOX
    S: * LIST (\HasNoChildren) "/" INBOX/sub
    S: a4 OK LIST completed.
    """)


def test_extended_syntax(srv):
    c = srv.login()
    setup_tree(c)
    c.conv(r"""
    C: a1 LIST () "" Veg%
    S: * LIST (\NonExistent \HasChildren) "/" Vegetable
    S: a1 OK LIST completed.
    C: a2 LIST "" (Tofu Fruit "" Fruit/Apple Tofu)
    S: * LIST (\HasChildren) "/" Fruit
    S: * LIST (\HasNoChildren) "/" Fruit/Apple
    S: * LIST (\HasNoChildren) "/" Tofu
    S: a2 OK LIST completed.
    C: a3 LIST "" % RETURN (CHILDREN)
    S: * LIST (\HasNoChildren) "/" INBOX
    S: * LIST (\HasNoChildren \Archive) "/" Archive
    S: * LIST (\HasNoChildren \Drafts) "/" Drafts
    S: * LIST (\HasChildren) "/" Fruit
    S: * LIST (\HasNoChildren \Junk) "/" Junk
    S: * LIST (\HasNoChildren \Sent) "/" Sent
    S: * LIST (\HasNoChildren) "/" Tofu
    S: * LIST (\HasNoChildren \Trash) "/" Trash
    S: * LIST (\NonExistent \HasChildren) "/" Vegetable
    S: a3 OK LIST completed.
    C: a4 LIST (REMOTE) "" Tofu RETURN ()
    S: * LIST (\HasNoChildren) "/" Tofu
    S: a4 OK LIST completed.
    C: a5 LIST (remote subscribed) "" Tofu return (children)
    S: a5 OK LIST completed.
    """)


def test_extended_errors(srv):
    c = srv.login()
    for args in ('(RECURSIVEMATCH) "" *', '(REMOTE RECURSIVEMATCH) "" *',
                 '(FOO) "" *', '"" * RETURN (FOO)', '"" * RETURN',
                 '"" * RETURN (STATUS)', '"" * RETURN (STATUS (FOO))',
                 '"" * RETURN (STATUS ())', '"" * FOO (CHILDREN)',
                 '"" * RETURN (CHILDREN) extra', '"" ()', '""', '',
                 '(SUBSCRIBED)', '("SUBSCRIBED") "" *', '"" (* (x))'):
        _, t = c.cmd(f"LIST {args}", ok=False)
        expect(" BAD " in t, f"LIST {args}: {t}")
        c.cmd("NOOP", ok=True)  # not too many BADs in a row


def test_subscribed_selection(srv):
    c = srv.login()
    setup_tree(c)
    for name in ("Fruit/Banana", "Fruit/Peach", "Vegetable/Broccoli"):
        c.cmd(f"SUBSCRIBE {name}", ok=True)
    c.conv(r"""
    C: a1 LIST (SUBSCRIBED) "" "*"
    S: * LIST (\HasNoChildren \Subscribed) "/" INBOX
    S: * LIST (\HasNoChildren \Subscribed \Archive) "/" Archive
    S: * LIST (\HasNoChildren \Subscribed \Drafts) "/" Drafts
    S: * LIST (\HasNoChildren \Subscribed) "/" Fruit/Banana
    S: * LIST (\NonExistent \HasNoChildren \Subscribed) "/" Fruit/Peach
    S: * LIST (\HasNoChildren \Subscribed \Junk) "/" Junk
    S: * LIST (\HasNoChildren \Subscribed \Sent) "/" Sent
    S: * LIST (\HasNoChildren \Subscribed \Trash) "/" Trash
    S: * LIST (\HasNoChildren \Subscribed) "/" Vegetable/Broccoli
    S: a1 OK LIST completed.
    C: a2 LIST "" "Fruit*" RETURN (SUBSCRIBED)
    S: * LIST (\HasChildren) "/" Fruit
    S: * LIST (\HasNoChildren) "/" Fruit/Apple
    S: * LIST (\HasNoChildren \Subscribed) "/" Fruit/Banana
    S: a2 OK LIST completed.
    C: a3 LIST (SUBSCRIBED) "" %
    S: * LIST (\HasNoChildren \Subscribed) "/" INBOX
    S: * LIST (\HasNoChildren \Subscribed \Archive) "/" Archive
    S: * LIST (\HasNoChildren \Subscribed \Drafts) "/" Drafts
    S: * LIST (\HasNoChildren \Subscribed \Junk) "/" Junk
    S: * LIST (\HasNoChildren \Subscribed \Sent) "/" Sent
    S: * LIST (\HasNoChildren \Subscribed \Trash) "/" Trash
    S: a3 OK LIST completed.
    C: a4 LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"
    S: * LIST (\HasNoChildren \Subscribed) "/" INBOX
    S: * LIST (\HasNoChildren \Subscribed \Archive) "/" Archive
    S: * LIST (\HasNoChildren \Subscribed \Drafts) "/" Drafts
    S: * LIST (\HasChildren) "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))
    S: * LIST (\HasNoChildren \Subscribed \Junk) "/" Junk
    S: * LIST (\HasNoChildren \Subscribed \Sent) "/" Sent
    S: * LIST (\HasNoChildren \Subscribed \Trash) "/" Trash
    S: * LIST (\NonExistent \HasChildren) "/" Vegetable ("CHILDINFO" ("SUBSCRIBED"))
    S: a4 OK LIST completed.
    C: a5 SUBSCRIBE Fruit
    S: a5 OK Subscribe completed.
    C: a6 LIST (SUBSCRIBED RECURSIVEMATCH) "" "Fru*"
    S: * LIST (\HasChildren \Subscribed) "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))
    S: * LIST (\HasNoChildren \Subscribed) "/" Fruit/Banana
    S: * LIST (\NonExistent \HasNoChildren \Subscribed) "/" Fruit/Peach
    S: a6 OK LIST completed.
    C: a7 LIST (RECURSIVEMATCH SUBSCRIBED) "" "Veg*"
    S: * LIST (\HasNoChildren \Subscribed) "/" Vegetable/Broccoli
    S: a7 OK LIST completed.
    """)


def test_special_use_selection(srv):
    c = srv.login()
    c.cmd("CREATE Old/Stuff", ok=True)
    c.conv(r"""
    C: a1 LIST (SPECIAL-USE) "" "%"
    S: * LIST (\HasNoChildren \Archive) "/" Archive
    S: * LIST (\HasNoChildren \Drafts) "/" Drafts
    S: * LIST (\HasNoChildren \Junk) "/" Junk
    S: * LIST (\HasNoChildren \Sent) "/" Sent
    S: * LIST (\HasNoChildren \Trash) "/" Trash
    S: a1 OK LIST completed.
    C: a2 LIST "" "S*" RETURN (SPECIAL-USE)
    S: * LIST (\HasNoChildren \Sent) "/" Sent
    S: a2 OK LIST completed.
    """)
    # special use follows the mailbox when it is renamed
    c.cmd("RENAME Sent Sent-Items", ok=True)
    u = lst(c, 'LIST "" Sent*')
    expect(u == ['* LIST (\\HasNoChildren \\Sent) "/" Sent-Items'], u)


def test_return_status(srv):
    c = srv.login()
    setup_tree(c)
    c.append("INBOX")
    c.append("Tofu", "(\\Seen)")
    c.conv(r"""
    C: a1 LIST "" (INBOX Tofu Veg%) RETURN (STATUS (MESSAGES UNSEEN))
    S: * LIST (\HasNoChildren) "/" INBOX
    S: * STATUS INBOX (MESSAGES 1 UNSEEN 1)
    S: * LIST (\HasNoChildren) "/" Tofu
    S: * STATUS Tofu (MESSAGES 1 UNSEEN 0)
    S: * LIST (\NonExistent \HasChildren) "/" Vegetable
    S: a1 OK LIST completed.
    C: a2 LIST (SUBSCRIBED RECURSIVEMATCH) "" (INBOX Fruit) RETURN (STATUS (MESSAGES) CHILDREN)
    S: * LIST (\HasNoChildren \Subscribed) "/" INBOX
    S: * STATUS INBOX (MESSAGES 1)
    S: a2 OK LIST completed.
    C: a3 SUBSCRIBE Fruit/Apple
    S: a3 OK Subscribe completed.
    C: a4 LIST (SUBSCRIBED RECURSIVEMATCH) "" Fruit RETURN (STATUS (MESSAGES))
    S: * LIST (\HasChildren) "/" Fruit ("CHILDINFO" ("SUBSCRIBED"))
    S: a4 OK LIST completed.
    """)
    # an option given twice counts once
    u = lst(c, 'LIST "" Tofu RETURN (STATUS (MESSAGES) CHILDREN STATUS (UNSEEN MESSAGES) CHILDREN)')
    expect(u == ['* LIST (\\HasNoChildren) "/" Tofu',
                 '* STATUS Tofu (MESSAGES 1 UNSEEN 0)'], u)
    # the selected mailbox gets STATUS too
    c.cmd("SELECT INBOX", ok=True)
    u = lst(c, 'LIST "" INBOX RETURN (STATUS (MESSAGES SIZE))')
    expect(u == ['* LIST (\\HasNoChildren) "/" INBOX',
                 f'* STATUS INBOX (MESSAGES 1 SIZE {len(MSG)})'], u)


def test_lsub(srv):
    c = srv.login()
    setup_tree(c)
    c.cmd("SUBSCRIBE Fruit/Banana", ok=True)
    c.cmd("SUBSCRIBE Gone/Away", ok=True)
    c.conv(r"""
    C: a1 LSUB "" *
    S: * LSUB () "/" INBOX
    S: * LSUB () "/" Archive
    S: * LSUB () "/" Drafts
    S: * LSUB () "/" Fruit/Banana
    S: * LSUB () "/" Gone/Away
    S: * LSUB () "/" Junk
    S: * LSUB () "/" Sent
    S: * LSUB () "/" Trash
    S: a1 OK LSUB completed.
    C: a2 LSUB "" %
    S: * LSUB () "/" INBOX
    S: * LSUB () "/" Archive
    S: * LSUB () "/" Drafts
    S: * LSUB (\Noselect) "/" Fruit
    S: * LSUB (\Noselect) "/" Gone
    S: * LSUB () "/" Junk
    S: * LSUB () "/" Sent
    S: * LSUB () "/" Trash
    S: a2 OK LSUB completed.
    C: a3 LSUB Fruit/ %
    S: * LSUB () "/" Fruit/Banana
    S: a3 OK LSUB completed.
    C: a4 LSUB "" inbox
    S: * LSUB () "/" INBOX
    S: a4 OK LSUB completed.
    C: a5 LSUB ""
    S~ a5 BAD .*
    C: a6 LSUB () *
    S~ a6 BAD .*
    """)


def test_mutf7_names(srv):
    c = srv.login()
    c.cmd('CREATE "~peter/mail/&U,BTFw-/&ZeVnLIqe-"', ok=True)
    c.conv(r"""
    C: a1 LIST "~peter/mail/" *
    S: * LIST (\HasChildren) "/" ~peter/mail/&U,BTFw-
    S: * LIST (\HasNoChildren) "/" ~peter/mail/&U,BTFw-/&ZeVnLIqe-
    S: a1 OK LIST completed.
    C: a2 LIST "" "~peter/mail/&U,BTFw-/%"
    S: * LIST (\HasNoChildren) "/" ~peter/mail/&U,BTFw-/&ZeVnLIqe-
    S: a2 OK LIST completed.
    C: a3 LIST "" "~peter/mail/&U,BTFw-/&ZeVn*"
    S: a3 OK LIST completed.
    C: a4 LIST "" "&Jjo!*"
    S: a4 OK LIST completed.
    """)
    c.cmd('SELECT "~peter/mail/&U,BTFw-/&ZeVnLIqe-"', ok=True)
    # UTF-8 form for an IMAP4rev2 client
    c.cmd("ENABLE IMAP4rev2", ok=True)
    u = lst(c, 'LIST "" "~peter/mail/*"')
    expect(u == ['* LIST (\\HasChildren) "/" "~peter/mail/\u53f0\u5317"',
                 '* LIST (\\HasNoChildren) "/" "~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e"'],
           u)


def test_quoting(srv):
    c = srv.login()
    c.cmd('CREATE "a b"', ok=True)
    c.cmd('CREATE "q\\"uote"', ok=True)
    c.cmd('CREATE "per%cent"', ok=True)
    c.cmd('CREATE "brack]et"', ok=True)
    c.cmd('CREATE nil', ok=True)
    u = lst(c, 'LIST "" *')
    for want in ('* LIST (\\HasNoChildren) "/" "a b"',
                 '* LIST (\\HasNoChildren) "/" "q\\"uote"',
                 '* LIST (\\HasNoChildren) "/" "per%cent"',
                 '* LIST (\\HasNoChildren) "/" brack]et',
                 '* LIST (\\HasNoChildren) "/" "nil"'):
        expect(want in u, f"{want} not in {u}")


def test_rev2_nonexistent(srv):
    c = srv.login()
    setup_tree(c)
    c.cmd("ENABLE IMAP4rev2", ok=True)
    u = lst(c, 'LIST "" Veg%')
    expect(u == ['* LIST (\\NonExistent \\HasChildren) "/" Vegetable'], u)
