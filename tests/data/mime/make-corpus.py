#!/usr/bin/env python3
"""Writes the MIME test corpus: NN-name.eml files, small and hand-made.

usage: tests/data/mime/make-corpus.py   (rewrites the .eml files in place)

Each message exercises one rule or one kind of breakage (see the names).
The expected FETCH answers live beside each message in NN-name.envelope
and NN-name.bodystructure (the raw IMAP strings, literals included, as
written with no flags: 8-bit strings as literals, IMAP4rev1 syntax; a
message whose IMAP4rev2 form differs (message/global, RFC 2231 parameters)
also has NN-name.bodystructure-imap4rev2,
the RFC 9051 form); they
are checked by tests/unit/test-mime-corpus.c, which rewrites them when run
with ROOST_MIME_CORPUS_UPDATE=1 (review the diff by hand before
committing: the files are the specification).  Large attachments are not
here; tests generate them at run time.
Messages use CRLF unless their name says otherwise (write them with
LF below; crlf() converts)."""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
M = {}


def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")


def add(name, text, raw=False):
    data = text if isinstance(text, bytes) else text.encode("latin-1")
    if not raw:
        data = crlf(data.decode("latin-1")).encode("latin-1")
    M[name] = data


H = "From: Alice <alice@example.com>\nTo: Bob <bob@example.org>\nDate: Mon, 7 Feb 1994 21:52:25 -0800\nMessage-ID: <msg@example.com>\n"

add("simple-text", H + "Subject: Hello\n\nHello, Bob.\nSecond line.\n")
add("no-header", "\nOnly a body.\n")
add("empty", "")
add("header-only", "Subject: no body\nFrom: a@b.example")
add("bare-lf", (H + "Subject: LF only\nContent-Type: text/plain; charset=us-ascii\n\nline 1\nline 2\n").encode(), raw=True)
add("mixed-line-ends", b"Subject: mixed\r\nFrom: a@b.example\n\r\nline 1\nline 2\r\n", raw=True)
add("multipart-mixed", H + "Subject: two parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XYZ\"\n\n--XYZ\nContent-Type: text/plain; charset=us-ascii\n\nfirst\n--XYZ\nContent-Type: text/plain; charset=us-ascii\n\nsecond\n--XYZ--\n")
add("multipart-alternative", H + "Subject: alt\nContent-Type: multipart/alternative; boundary=alt\n\n--alt\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\ncaf\xc3\xa9\n--alt\nContent-Type: text/html; charset=utf-8\n\n<p>caf&eacute;</p>\n--alt--\n")
add("nested-mixed-alternative", H + "Subject: nested\nContent-Type: multipart/mixed; boundary=outer\n\n--outer\nContent-Type: multipart/alternative; boundary=inner\n\n--inner\nContent-Type: text/plain\n\ntext\n--inner\nContent-Type: text/html\n\n<b>html</b>\n--inner--\n--outer\nContent-Type: image/png; name=dot.png\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=dot.png\n\niVBORw0KGgo=\n--outer--\n")
add("message-rfc822", H + "Subject: Fwd: inner\nContent-Type: multipart/mixed; boundary=f\n\n--f\n\nSee attached.\n--f\nContent-Type: message/rfc822\n\nFrom: Carol <carol@example.net>\nSubject: inner\nDate: Tue, 8 Feb 1994 10:00:00 +0000\n\nInner body.\n--f--\n")
add("rfc822-multipart-rfc822", H + "Subject: deep forward\nContent-Type: message/rfc822\n\nFrom: x@example.net\nSubject: level 1\nContent-Type: multipart/mixed; boundary=l1\n\n--l1\nContent-Type: text/plain\n\nlevel 1 text\n--l1\nContent-Type: message/rfc822\n\nFrom: y@example.net\nSubject: level 2\n\nlevel 2 body\n--l1--\n")
add("digest-default", "Subject: digest\nContent-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\nFrom: a@example.com\n\nfirst\n--d\n\nSubject: two\n\nsecond\n--d--\n")
add("digest-explicit", "Subject: digest 2\nContent-Type: multipart/digest; boundary=d\n\n--d\nContent-Type: text/plain\n\nnot a message\n--d\nContent-Type: message/rfc822\n\nSubject: three\n\nthird\n--d--\n")
add("message-global", "Subject: global\nContent-Type: multipart/mixed; boundary=g\n\n--g\nContent-Type: message/global\n\nFrom: J\xc3\xb6rg <j@example.com>\nSubject: gr\xc3\xbc\xc3\x9f\n\nHallo\n--g--\n")
add("rfc822-base64", "Subject: encoded message\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogaGkNCg0KYm9keQ0K\n--b--\n")
add("missing-final-boundary", "Subject: truncated\nContent-Type: multipart/mixed; boundary=m\n\n--m\n\npart one\n--m\nContent-Type: text/html\n\n<p>never closed\n")
add("boundary-trailing-space", "Subject: padding\nContent-Type: multipart/mixed; boundary=pad\n\n--pad   \n\none\n--pad\t\n\ntwo\n--pad--  \n")
add("outer-closes-inner", "Subject: outer closes inner\nContent-Type: multipart/mixed; boundary=A\n\n--A\nContent-Type: multipart/alternative; boundary=B\n\n--B\n\ninner one\n--B\n\ninner two\n--A\n\nouter two\n--A--\n")
add("boundary-prefix", "Subject: prefix\nContent-Type: multipart/mixed; boundary=ab\n\n--ab\n\n--abc is not a boundary\n--ab-not either\n--ab\n\nsecond\n--ab--\n")
add("preamble-epilogue", "Subject: preamble\nContent-Type: multipart/mixed; boundary=p\n\nThis is the preamble.\nIt is ignored.\n--p\n\nbody\n--p--\nThis is the epilogue.\n--p\nstill epilogue\n")
add("empty-parts", "Subject: empty parts\nContent-Type: multipart/mixed; boundary=e\n\n--e\n--e\n\n--e\nContent-Type: text/x-empty\n\n--e--\n")
add("multipart-no-boundary", "Subject: no boundary\nContent-Type: multipart/mixed\n\n--x\n\nbody\n--x--\n")
add("multipart-no-parts", "Subject: nothing found\nContent-Type: multipart/mixed; boundary=none\n\nonly a preamble\n")
add("content-type-no-subtype", "Subject: bad type\nContent-Type: text\n\nbody\n")
add("content-type-garbage", "Subject: garbage\nContent-Type: ;;;===\n\nbody\n")
add("duplicate-content-type", "Subject: dup\nContent-Type: text/html; charset=utf-8\nContent-Type: image/gif\n\n<p>first wins</p>\n")
add("duplicate-subject", "Subject: first\nSubject: second\nFrom: a@example.com\nFrom: b@example.com\n\nbody\n")
add("nul-in-header", b"Subject: nul\x00byte\r\nFrom: a@example.com\r\n\r\nbody\r\n", raw=True)
add("latin1-header", "Subject: caf\xe9 cr\xe8me\nFrom: Fran\xe7ois <f@example.fr>\n\nbody\n")
add("utf8-header", "Subject: caf\xc3\xa9 \xe2\x82\xac\nFrom: Fran\xc3\xa7ois <f@example.fr>\n\nbody\n")
add("ew-utf8-b", "Subject: =?UTF-8?B?w6lsw6h2ZSDigqw=?=\nFrom: =?UTF-8?B?SsO2cmc=?= <j@example.com>\n\nbody\n")
add("ew-latin1-q", "Subject: =?ISO-8859-1?Q?caf=E9_cr=E8me?=\nFrom: =?iso-8859-1?q?Fran=E7ois?= <f@example.fr>\n\nbody\n")
add("ew-iso2022jp", "Subject: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?=\nFrom: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.jp>\nContent-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n\n\x1b$BF|K\\8l\x1b(B\n")
add("ew-windows1252", "Subject: =?windows-1252?Q?=93smart=94_quotes_=80?=\nFrom: =?Windows-1252?Q?Ren=E9?= <rene@example.com>\n\nbody\n")
add("ew-adjacent", "Subject: =?UTF-8?Q?a?= =?UTF-8?Q?b?=\n  =?ISO-8859-1?Q?c?= plain =?UTF-8?Q?d?=\n\nbody\n")
add("rfc2231-filename-utf8", "Subject: 2231\nContent-Type: multipart/mixed; boundary=r\n\n--r\nContent-Type: application/pdf; name*=utf-8''%E2%82%AC%20rates.pdf\nContent-Disposition: attachment; filename*=utf-8''%E2%82%AC%20rates.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--r--\n")
add("rfc2231-continuations", "Subject: 2231 continuations\nContent-Type: application/octet-stream;\n name*0=\"a very long \";\n name*1=\"file name\";\n name*2=\".bin\"\nContent-Disposition: attachment;\n filename*1*=%20part%20two.txt;\n filename*0*=iso-8859-1'fr'premi%E8re\n\ndata\n")
add("rfc2231-mixed", "Subject: 2231 mixed\nContent-Type: text/plain; title*0*=us-ascii'en'This%20is%20; title*1=\"plain & *\"; charset=us-ascii\n\nbody\n")
add("ew-in-filename", "Subject: ew filename\nContent-Type: application/msword; name=\"=?iso-8859-1?q?r=E9sum=E9.doc?=\"\nContent-Disposition: attachment; filename=\"=?iso-8859-1?q?r=E9sum=E9.doc?=\"\n\nDOC\n")
add("address-group", "Subject: groups\nFrom: Pete <pete@silly.example>\nTo: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;\nCc: Undisclosed recipients:;\n\nbody\n")
add("address-empty-group", "Subject: empty group\nFrom: a@example.com\nTo: undisclosed-recipients:;\n\nbody\n")
add("address-obs-route", "Subject: route\nFrom: Joe <@a.test,@b.test:joe@c.test>\nTo: <@relay.example:user@host.example>\n\nbody\n")
add("address-quoted-local", "Subject: quoted local\nFrom: \"john doe\"@example.com\nTo: \"Doe, John\" <\"j.doe\\\"x\"@example.com>\n\nbody\n")
add("address-comments", "Subject: comments\nFrom: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\nTo: jdoe@example.org (John Doe), (empty) mary@example.org\n\nbody\n")
add("address-no-domain", "Subject: no domain\nFrom: localpart\nTo: \"Name Only\"\nCc: <>\n\nbody\n")
add("sender-reply-to", "Subject: sender\nFrom: a@example.com\nSender: secretary@example.com\nReply-To: list@example.com, b@example.com\n\nbody\n")
add("empty-sender-reply-to", "Subject: empty sender\nFrom: a@example.com\nSender:\nReply-To:   \n\nbody\n")
add("in-reply-to", "Subject: Re: thread\nFrom: a@example.com\nIn-Reply-To: <parent@example.com>\nReferences: <root@example.com> <parent@example.com>\nMessage-ID: <child@example.com>\n\nbody\n")
add("obsolete-date", "Subject: old date\nFrom: a@example.com\nDate: 21 Nov 97 09:55 EST\n\nbody\n")
add("disposition-inline", "Subject: inline\nContent-Type: image/jpeg\nContent-Disposition: inline; filename=genome.jpeg;\n modification-date=\"Wed, 12 Feb 1997 16:29:51 -0500\"\nContent-Transfer-Encoding: base64\n\n/9j/4AAQ\n")
add("content-language", "Subject: languages\nContent-Type: text/plain; charset=utf-8\nContent-Language: en, de-CH (Swiss German)\n\nHello\n")
add("content-extension-fields", "Subject: extension fields\nContent-Type: text/plain; charset=us-ascii\nContent-ID: <part1@example.com>\nContent-Description: A \"quoted\" description\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\nContent-Location: http://example.com/x.txt\nContent-Language: fr\n\nbody\n")
add("text-html-no-charset", "Subject: html\nContent-Type: text/html\n\n<p>no charset</p>\n")
add("text-params-order", "Subject: params\nContent-Type: Text/Plain; format=flowed; DelSp=Yes; CHARSET=\"ISO-8859-1\"\n\nflowed \n")
add("quoted-printable", "Subject: qp\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9 soft=\nbreak =3D\n")
add("base64-garbage", "Subject: b64\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: BASE64\n\nSGVs*bG8!\nd29y bGQ=\n")
add("folded-headers", "Subject: a\n\tfolded\n  subject\nFrom: A\n B <a@example.com>\nTo:\n bob@example.org\n\nbody\n")
add("long-header-line", "Subject: " + "x" * 2000 + "\nFrom: a@example.com\n\nbody\n")
add("continuation-first", " leading continuation\nSubject: after it\n\nbody\n")
add("line-without-colon", "Subject: before\nthis line has no colon\nFrom: a@example.com\n\nbody\n")
add("deep-nesting", "".join(f"Content-Type: multipart/mixed; boundary=n{i}z\n\n--n{i}z\n" for i in range(110)) + "\ninnermost\n")
add("rfc822-nested-5", "".join(f"Subject: level {i}\nContent-Type: message/rfc822\n\n" for i in range(5)) + "Subject: bottom\n\nbottom body\n")
add("boundary-in-header", "Subject: boundary in header\nContent-Type: multipart/mixed; boundary=h\n\n--h\nContent-Type: text/plain\n--h\n\nsecond\n--h--\n")
add("part-no-header", "Subject: part without header\nContent-Type: multipart/mixed; boundary=n\n\n--n\n\nno header at all\n--n--\n")
add("bare-cr", b"Subject: bare\rCR\r\nFrom: a@example.com\r\n\r\nline with\rbare CR\r\n", raw=True)
add("uppercase-type", "Subject: upper\nContent-Type: TEXT/PLAIN; CHARSET=US-ASCII\nContent-Transfer-Encoding: 7BIT\n\nBODY\n")
add("param-unquoted-space", "Subject: unquoted\nContent-Type: application/octet-stream; name=my file.txt; x=y\n\ndata\n")
add("param-comments", "Subject: comments\nContent-Type: text/plain (plain text); charset=us-ascii (Plain text)\n\nbody\n")
add("multipart-signed", "Subject: signed\nContent-Type: multipart/signed; micalg=pgp-sha256;\n protocol=\"application/pgp-signature\"; boundary=\"sig\"\n\n--sig\nContent-Type: text/plain; charset=us-ascii\n\nsigned text\n--sig\nContent-Type: application/pgp-signature; name=signature.asc\n\n-----BEGIN PGP SIGNATURE-----\nxyz\n-----END PGP SIGNATURE-----\n--sig--\n")
add("multipart-report", "Subject: Delivery Status Notification\nFrom: MAILER-DAEMON@example.com\nContent-Type: multipart/report; report-type=delivery-status; boundary=rep\n\n--rep\nContent-Type: text/plain\n\nYour message could not be delivered.\n--rep\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.com\n\nFinal-Recipient: rfc822; x@example.org\nAction: failed\nStatus: 5.1.1\n--rep\nContent-Type: text/rfc822-headers\n\nSubject: original\nFrom: a@example.com\n--rep--\n")
add("no-final-newline", "Subject: no final newline\n\nlast line without newline")
add("ew-display-name", "Subject: display names\nFrom: =?UTF-8?Q?Andr=C3=A9_Pirard?= <PIRARD@vm1.ulg.ac.be>\nTo: \"=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=\" <keld@dkuug.dk>\n\nbody\n")
add("rfc2231-latin1-filename", "Subject: latin1 filename\nContent-Type: multipart/mixed; boundary=l\n\n--l\nContent-Type: text/plain; charset=iso-8859-1; name*=iso-8859-1''r%E9sum%E9.txt\nContent-Disposition: attachment; filename*=iso-8859-1'fr'r%E9sum%E9.txt\n\nr\xe9sum\xe9\n--l--\n")
add("long-boundary", "Subject: long boundary\nContent-Type: multipart/mixed;\n boundary=\"" + "b" * 68 + "==\"\n\n--" + "b" * 68 + "==\n\nbody\n--" + "b" * 68 + "==--\n")
add("message-partial", "Subject: partial\nContent-Type: message/partial; id=\"abc@example.com\"; number=1; total=2\n\nSubject: part\n\nfirst half\n")
add("cte-unknown", "Subject: unknown cte\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: x-uuencode (old)\n\nbegin 644 x\n`\nend\n")
add("subject-quotes-backslash", "Subject: a \"quoted\" \\ backslash\nFrom: \"Back\\\\slash\" <b@example.com>\n\nbody\n")
add("very-long-subject", "Subject: " + " ".join(["word"] * 300) + "\n\nbody\n")
add("boundary-prefix-nested", "Subject: nested prefix boundaries\nContent-Type: multipart/mixed; boundary=\"=_x\"\n\n--=_x\nContent-Type: multipart/alternative; boundary=\"=_x_alt\"\n\n--=_x_alt\nContent-Type: text/plain\n\nplain\n--=_x_alt\nContent-Type: text/html\n\n<p>html</p>\n--=_x_alt--\n--=_x\nContent-Type: text/plain; name=b.txt\n\nsecond\n--=_x--\n")


def main():
    for old in os.listdir(HERE):
        if old.endswith(".eml"):
            os.remove(os.path.join(HERE, old))
    for i, (name, data) in enumerate(M.items(), 1):
        with open(os.path.join(HERE, f"{i:02d}-{name}.eml"), "wb") as f:
            f.write(data)
    print(f"{len(M)} messages")


if __name__ == "__main__":
    main()
