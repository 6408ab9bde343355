"""Logs in to a running `sealpost dev` whose demo user has 2-step
verification on, with Python's imaplib, poplib and smtplib, and prints
one JSON object saying which logins worked.

Usage: twostep_client.py DEV_JSON IMAP_APP_PASSWORD
"""
import imaplib
import json
import poplib
import smtplib
import ssl
import sys

cfg = json.load(open(sys.argv[1]))
app_password = sys.argv[2]
host, user, password = cfg["host"], cfg["user"], cfg["password"]
ports = cfg["ports"]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the dev certificate is self-signed
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
out = {}


def attempt(name, fn):
    """Runs a login; records "ok" or the error the client raised."""
    try:
        fn()
        out[name] = "ok"
    except (imaplib.IMAP4.error, poplib.error_proto, smtplib.SMTPException) as e:
        out[name] = "refused: %s" % e


# IMAP on 993: ID first, so the log names the client; the main password
# is refused, the app password works, on the same connection.
imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
c = imaplib.IMAP4_SSL(host, ports["imaps"], ssl_context=ctx, timeout=20)
c._simple_command("ID", '("name" "twostep-imaplib" "version" "1.0")')
attempt("imap_main_password", lambda: c.login(user, password))
attempt("imap_app_password", lambda: c.login(user, app_password))
if out["imap_app_password"] == "ok":
    typ, data = c.select("INBOX")
    out["imap_select"] = typ
    c.logout()

# POP3 on 995: the IMAP-only app password is refused.
p = poplib.POP3_SSL(host, ports["pop3s"], context=ctx, timeout=20)


def pop_login():
    p.user(user)
    p.pass_(app_password)


attempt("pop3_app_password", pop_login)
p.quit()

# Submission on 465: the IMAP-only app password and the main password are
# refused.
s = smtplib.SMTP_SSL(host, ports["submissions"], context=ctx, timeout=20)
s.ehlo("twostep.client.example")
attempt("smtp_app_password", lambda: s.login(user, app_password))
attempt("smtp_main_password", lambda: s.login(user, password))
s.quit()

print(json.dumps(out))
