"""Real IMAP, POP3 and SMTP clients for TestSignOutEndsLiveSessions.

Usage: signout_clients.py IMAPS_PORT POP3S_PORT SUBMISSIONS_PORT USER_A USER_B PASSWORD

It talks to the Go test on stdin/stdout, one line at a time:
  opens A's session to keep (IMAP), prints "kept", waits for a line;
  opens A's IMAP session in IDLE, A's POP3 session waiting for a command,
  A's SMTP session in the middle of DATA and B's IMAP session, prints
  "ready", waits for a line;
  watches A's three sessions and prints "closed NAME" as each connection
  ends ("timeout NAME" or "error NAME ..." otherwise);
  then checks the kept session and B's still answer ("alive NAME"), logs
  them out and prints "done".
"""
import imaplib
import poplib
import smtplib
import ssl
import sys
import threading

TIMEOUT = 10


_out = threading.Lock()


def say(line):
    """Prints one whole line: the watcher threads print at once."""
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def ctx():
    c = ssl.create_default_context()
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE
    return c


def imap_login(port, user, password):
    m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx(), timeout=TIMEOUT)
    m.login(user, password)
    return m


def wait_closed(name, read):
    """Reads until the server closes the connection."""
    try:
        while True:
            if not read():
                break
    except TimeoutError:
        say("timeout " + name)
        return
    except (OSError, EOFError, ssl.SSLError, imaplib.IMAP4.abort):
        pass
    say("closed " + name)


def main():
    imaps, pop3s, subs = (int(a) for a in sys.argv[1:4])
    user_a, user_b, password = sys.argv[4:7]

    kept = imap_login(imaps, user_a, password)
    say("kept")
    sys.stdin.readline()

    idle = imap_login(imaps, user_a, password)
    idle.select("INBOX")
    tag = idle._new_tag().decode()
    idle.send(("%s IDLE\r\n" % tag).encode())
    line = idle.readline()
    if not line.startswith(b"+"):
        say("error idle " + repr(line))
        return

    pop = poplib.POP3_SSL("127.0.0.1", pop3s, context=ctx(), timeout=TIMEOUT)
    pop.user(user_a)
    pop.pass_(password)

    smtp = smtplib.SMTP_SSL("127.0.0.1", subs, context=ctx(), timeout=TIMEOUT)
    smtp.ehlo("client.example")
    smtp.login(user_a, password)
    smtp.mail(user_a)
    smtp.rcpt(user_b)
    smtp.putcmd("data")
    code, msg = smtp.getreply()
    if code != 354:
        say("error data %d %r" % (code, msg))
        return
    smtp.send(b"Subject: half a message\r\n\r\nthe rest never comes\r\n")

    other = imap_login(imaps, user_b, password)
    say("ready")
    sys.stdin.readline()

    watchers = [
        threading.Thread(target=wait_closed, args=("imap-idle", idle.readline)),
        threading.Thread(target=wait_closed, args=("pop3", pop.file.readline)),
        threading.Thread(target=wait_closed, args=("smtp-data", lambda: smtp.sock.recv(4096))),
    ]
    for w in watchers:
        w.start()
    for w in watchers:
        w.join()

    for name, m in (("imap-kept", kept), ("imap-b", other)):
        typ, _ = m.noop()
        if typ == "OK":
            say("alive " + name)
        m.logout()
    say("done")


if __name__ == "__main__":
    main()
