"""Sends one message to Sealpost's MX port with smtplib, as another mail
server would, and prints the outcome as JSON: {"code": 250} or the
refusal's code and text."""
import json
import smtplib
import sys

host, port, mail_from, rcpt, path = sys.argv[1:6]
with open(path, "rb") as f:
    msg = f.read()
out = {}
try:
    with smtplib.SMTP(host, int(port), local_hostname="mta.sender.example", timeout=30) as s:
        s.ehlo()
        s.sendmail(mail_from, [rcpt], msg)
        out["code"] = 250
except smtplib.SMTPDataError as e:
    out = {"code": e.smtp_code, "text": e.smtp_error.decode(errors="replace")}
except smtplib.SMTPRecipientsRefused as e:
    code, text = list(e.recipients.values())[0]
    out = {"code": code, "text": text.decode(errors="replace")}
print(json.dumps(out))
