"""Drives a running `sealpost dev` with Python's smtplib, as a mail client
would, and prints one JSON object describing what happened.

Usage: smtp_client.py DEV_JSON
"""
import json
import smtplib
import ssl
import sys

cfg = json.load(open(sys.argv[1]))
host, user, password = cfg["host"], cfg["user"], cfg["password"]
ports = cfg["ports"]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the dev certificate is self-signed
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
out = {}


def message(subject):
    return "From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nHello from smtplib.\r\n" % (user, user, subject)


# Submission on 587: AUTH is refused before STARTTLS, works after.
s = smtplib.SMTP(host, ports["submission"], timeout=20)
s.ehlo("client.example")
out["auth_offered_before_tls"] = s.has_extn("auth")
code, _ = s.docmd("AUTH", "PLAIN AGRlbW8AeA==")
out["auth_before_tls_code"] = code
s.starttls(context=ctx)
s.ehlo("client.example")
out["auth_offered_after_tls"] = s.has_extn("auth")
s.login(user, password)
out["submission_refused"] = s.sendmail(user, [user, "friend@outside.example"], message("via 587"))
s.quit()

# Submissions on 465, implicit TLS.
s = smtplib.SMTP_SSL(host, ports["submissions"], context=ctx, timeout=20)
s.login(user, password)
s.sendmail(user, [user], message("via 465"))
try:
    s.sendmail("boss@example.test", [user], message("forged sender"))
    out["forged_sender"] = "accepted"
except smtplib.SMTPSenderRefused as e:
    out["forged_sender"] = e.smtp_code
s.quit()

# Wrong password.
s = smtplib.SMTP_SSL(host, ports["submissions"], context=ctx, timeout=20)
try:
    s.login(user, "not the password")
    out["wrong_password"] = "accepted"
except smtplib.SMTPAuthenticationError as e:
    out["wrong_password"] = e.smtp_code
s.quit()

# MX on 25: delivery from outside, with STARTTLS; relaying refused.
m = smtplib.SMTP(host, ports["smtp"], timeout=20)
m.ehlo("mx.far.example")
out["auth_on_mx"] = m.has_extn("auth")
m.starttls(context=ctx)
m.ehlo("mx.far.example")
m.sendmail("someone@far.example", [user], "From: someone@far.example\r\nSubject: via 25\r\n\r\nHi.\r\n")
try:
    m.sendmail("someone@far.example", ["victim@outside.example"], "Subject: relay\r\n\r\nx\r\n")
    out["relay"] = "accepted"
except smtplib.SMTPRecipientsRefused as e:
    out["relay"] = e.recipients["victim@outside.example"][0]
m.quit()
print(json.dumps(out))
