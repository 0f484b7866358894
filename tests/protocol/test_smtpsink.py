"""tests/lib/smtpsink.py, the SMTP sink that the tests of outgoing mail
(Sieve's redirect, vacation, notify, reject) capture mail with: what it
records, the failures it can be told to give, STARTTLS; and `roost serve`
accepting the outgoing mail keys of roost.conf."""
import os
import smtplib
import ssl
import tempfile

from roosttest import Server, cert_files, expect
from smtpsink import SmtpSink


def test_records_envelope_and_message():
    with tempfile.TemporaryDirectory() as d:
        sink = SmtpSink(d, dsn=True, size=10000)
        try:
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
                s.sendmail("", ["a@example.com", "b@example.com"],
                           b"Subject: x\r\n\r\n.dot\r\nend\r\n",
                           rcpt_options=["NOTIFY=NEVER"])
                s.sendmail("me@example.org", ["c@example.com"],
                           b"Subject: y\r\n\r\nbody\r\n")
            m = sink.wait_messages(2)
        finally:
            sink.stop()
    expect(m[0]["mail_from"] == "" and
           m[0]["rcpts"] == ["a@example.com", "b@example.com"], m[0])
    expect(m[0]["rcpt_params"] == [["NOTIFY=NEVER"], ["NOTIFY=NEVER"]], m[0])
    expect(m[0]["data"] == b"Subject: x\r\n\r\n.dot\r\nend\r\n", m[0]["data"])
    expect(m[0]["tls"] is False and m[0]["auth"] is None, m[0])
    expect(m[1]["mail_from"] == "me@example.org" and
           m[1]["data"] == b"Subject: y\r\n\r\nbody\r\n", m[1])


def test_failures_and_wait_timeout():
    with tempfile.TemporaryDirectory() as d:
        sink = SmtpSink(d, fail={"rcpt:bad@example.com": 550, "message": 451})
        try:
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
                try:
                    s.sendmail("", ["bad@example.com"], b"A: b\r\n\r\n")
                    expect(False, "bad@example.com accepted")
                except smtplib.SMTPRecipientsRefused as e:
                    expect(e.recipients["bad@example.com"][0] == 550, e)
                try:
                    s.sendmail("", ["good@example.com"], b"A: b\r\n\r\n")
                    expect(False, "message accepted")
                except smtplib.SMTPDataError as e:
                    expect(e.smtp_code == 451, e)
            try:
                sink.wait_messages(1, timeout=0.2)
                expect(False, "a message was recorded")
            except AssertionError as e:
                expect("0 message(s)" in str(e), e)
        finally:
            sink.stop()


def test_starttls_and_auth():
    cert, key = cert_files()
    with tempfile.TemporaryDirectory() as d:
        sink = SmtpSink(d, tls=(cert, key), auth=("relay", "pw"))
        try:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
                s.starttls(context=ctx)
                s.login("relay", "pw")
                s.sendmail("me@example.org", ["x@example.com"],
                           b"A: b\r\n\r\n")
            [m] = sink.wait_messages(1)
        finally:
            sink.stop()
    expect(m["tls"] is True and m["auth"] == "relay", m)
    expect("AUTH PLAIN ***" in m["commands"], m["commands"])


def test_refused_starttls():
    cert, key = cert_files()
    with tempfile.TemporaryDirectory() as d:
        sink = SmtpSink(d, tls=(cert, key), refuse_starttls=True)
        try:
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=10) as s:
                s.ehlo()
                expect(s.has_extn("starttls"), s.esmtp_features)
                code, _ = s.docmd("STARTTLS")
                expect(code == 454, code)
        finally:
            sink.stop()


def test_server_accepts_outgoing_mail_keys():
    with tempfile.TemporaryDirectory() as d:
        sink = SmtpSink(d)
        srv = Server(extra_conf=f"submission_host = 127.0.0.1:{sink.port}\n"
                                "submission_tls = required\n"
                                "submission_timeout = 10\n"
                                "sendmail_path = /usr/sbin/sendmail\n")
        try:
            c = srv.login()
            c.cmd("NOOP", ok=True)
            c.close()
            srv.check_log()
        finally:
            expect(srv.stop() == 0)
            srv.cleanup()
            sink.stop()
