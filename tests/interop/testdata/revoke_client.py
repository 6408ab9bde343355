"""Holds two IMAP sessions of the demo user of a running `sealpost dev`:
one logged in with an app password and idling, one with the main
password. Prints "ready" once both are up, then waits for the server to
end the first (the app password is revoked meanwhile), prints "closed",
checks that the second still answers, and prints a JSON summary.

Usage: revoke_client.py DEV_JSON APP_PASSWORD
"""
import imaplib
import json
import ssl
import sys

cfg = json.load(open(sys.argv[1]))
app_password = sys.argv[2]
host, user, password = cfg["host"], cfg["user"], cfg["password"]
port = cfg["ports"]["imaps"]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the dev certificate is self-signed
ctx.minimum_version = ssl.TLSVersion.TLSv1_2

app = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=20)
app.login(user, app_password)
app.select("INBOX")
main = imaplib.IMAP4_SSL(host, port, ssl_context=ctx, timeout=20)
main.login(user, password)

tag = app._new_tag().decode()
app.send(("%s IDLE\r\n" % tag).encode())
cont = app.readline()
print("ready", flush=True)

# The server ends the session by closing the connection: the next read
# gets the end of the stream (or a TLS error saying it ended).
rest = b""
try:
    while True:
        line = app.readline()
        if not line:
            break
        rest += line
except (OSError, ssl.SSLError):
    pass
print("closed", flush=True)

typ, _ = main.noop()
main.logout()
print(json.dumps({"idle": cont.decode().strip(), "after_idle": rest.decode(errors="replace").strip(),
                  "main_noop": typ}))
