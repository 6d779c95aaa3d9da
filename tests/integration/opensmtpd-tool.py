#!/usr/bin/python3
"""Helpers for tests/integration/opensmtpd.sh.

  opensmtpd-tool.py feed SID MSG [TOKEN]   data-line requests for MSG, "."
  opensmtpd-tool.py extract SID OUT        the message a filter sent back
  opensmtpd-tool.py dkimverify MSG ZONE    python3-dkim on every signature
  opensmtpd-tool.py delay PORT UPSTREAM SECONDS [NAME]
                                           UDP DNS proxy delaying answers
                                           (with NAME, only answers for
                                           that name; each question and
                                           answer logged on stdout)
  opensmtpd-tool.py blast PORT MSG...      send each MSG in its own SMTP
                                           session, all at once
  opensmtpd-tool.py garble CMD...          run the filter, adding garbage
                                           to what smtpd sends it
  opensmtpd-tool.py raw PORT MSG [FROM]    send MSG over SMTP byte for byte
  opensmtpd-tool.py converse CMD...        run the filter on stdin as smtpd
                                           would: a commit request waits
                                           until the message's final "."
                                           has come back (60 s at most)
"""
import os
import select
import socket
import subprocess
import sys
import threading
import time


def feed(sid, path, token="00000000000000b0"):
    out = sys.stdout
    with open(path, "rb") as f:
        for raw in f.read().decode("utf-8", "replace").splitlines():
            line = "." + raw if raw.startswith(".") else raw
            out.write("filter|0.6|1.0|smtp-in|data-line|%s|%s|%s\n"
                      % (sid, token, line))
    out.write("filter|0.6|1.0|smtp-in|data-line|%s|%s|.\n" % (sid, token))


def extract(sid, path):
    """Print the lines sent back for SID, unescaped; exit 1 without '.'."""
    ended = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            parts = raw.rstrip("\n").split("|", 3)
            if parts[0] != "filter-dataline" or parts[1] != sid:
                continue
            if ended:
                sys.exit("line after the final dot: %r" % parts[3])
            if parts[3] == ".":
                ended = True
                continue
            line = parts[3]
            print(line[1:] if line.startswith(".") else line)
    sys.exit(0 if ended else 1)


def zone_txt(path):
    recs = {}
    with open(path) as f:
        for line in f:
            w = line.split(None, 4)
            if len(w) == 5 and w[3] == "TXT":
                txt = "".join(w[4].strip().strip("()").split('"')[1::2])
                recs[w[0].rstrip(".").lower()] = txt.encode()
    return recs


def dkimverify(msg, zone):
    import dkim
    recs = zone_txt(zone)
    data = open(msg, "rb").read().replace(b"\r\n", b"\n").replace(
        b"\n", b"\r\n")
    d = dkim.DKIM(data)
    n = sum(1 for h in d.headers if h[0].lower() == b"dkim-signature")
    if n == 0:
        sys.exit("no signature")
    for i in range(n):
        ok = d.verify(idx=i, dnsfunc=lambda name, timeout=5:
                      recs.get(name.decode().rstrip(".").lower()))
        print("signature %d: %s" % (i, "pass" if ok else "fail"))
        if not ok:
            sys.exit(1)


def qname(q):
    """The question's name in a DNS message, lower case, dotted."""
    labels, i = [], 12
    while i < len(q) and q[i] != 0:
        labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
        i += 1 + q[i]
    return ".".join(labels).lower()


def delay(port, upstream, seconds, only=None):
    """A resolver that takes SECONDS to answer each question (with ONLY,
    each question for that name; the others at once): answers come
    SECONDS after a question was first seen, retransmissions included
    (libunbound resends after 376 ms; a proxy that delayed each packet on
    its own would be slower than the delay it models).  Each question
    and answer is logged ("question NAME T", "answer NAME T", T in
    seconds since the proxy started)."""
    host, uport = upstream.rsplit("@", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(port)))
    first = {}
    lock = threading.Lock()
    start = time.monotonic()

    def log(what, name):
        with lock:
            print("%s %s %.3f" % (what, name, time.monotonic() - start),
                  flush=True)

    def relay(q, client):
        key = q[12:].lower()        # the question, without the header
        name = qname(q)
        wait = float(seconds) if only is None or name == only.lower() \
            else 0.0
        log("question", name)
        with lock:
            t0 = first.setdefault(key, time.monotonic())
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.settimeout(5)
        try:
            u.sendto(q, (host, int(uport)))
            a = u.recv(65535)
            time.sleep(max(0.0, t0 + wait - time.monotonic()))
            s.sendto(a, client)
            log("answer", name)
        except OSError:
            pass
        finally:
            u.close()

    print("ready", flush=True)
    while True:
        q, client = s.recvfrom(65535)
        threading.Thread(target=relay, args=(q, client), daemon=True).start()


def blast(port, *msgs):
    """Open one SMTP session per message, one after the other (smtpd
    listens with a backlog of 5: connections opened at once would wait for
    SYN retries), take each up to RCPT, then send every DATA at the same
    moment from its own thread.  Prints the seconds from that moment to
    the last reply; exits 1 if any message was refused."""
    import smtplib
    failures = []
    sessions = []
    for m in msgs:
        c = smtplib.SMTP("127.0.0.1", int(port), timeout=60)
        c.ehlo("blast.test")
        c.mail("alice@example.test")
        c.rcpt("nobody@example.test")
        sessions.append((c, open(m, "rb").read()))

    def one(c, data):
        try:
            code, reply = c.data(data)
            if code != 250:
                failures.append("%d %s" % (code, reply))
            c.quit()
        except Exception as e:
            failures.append(str(e))

    threads = [threading.Thread(target=one, args=cs) for cs in sessions]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("%.3f" % (time.monotonic() - t0))
    for f in failures:
        print(f, file=sys.stderr)
    sys.exit(1 if failures else 0)


def raw(port, path, sender="alice@example.test"):
    """Send MSG as the DATA of one SMTP session with nothing changed but
    LF made CRLF and a leading dot doubled: a CR before an LF stays, where
    smtplib and swaks would make it a line end of its own.  Prints the
    reply to the final dot; exits 1 unless it is 250."""
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=60)
    f = s.makefile("rb")

    def reply():
        while True:
            line = f.readline()
            if not line:
                sys.exit("connection closed")
            if line[3:4] != b"-":
                return line.decode("utf-8", "replace").rstrip()

    def cmd(c, want):
        s.sendall(c.encode() + b"\r\n")
        r = reply()
        if not r.startswith(want):
            sys.exit("%s: %s" % (c, r))

    reply()
    cmd("EHLO raw.test", "250")
    cmd("MAIL FROM:<%s>" % sender, "250")
    cmd("RCPT TO:<nobody@example.test>", "250")
    cmd("DATA", "354")
    lines = open(path, "rb").read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    s.sendall(b"".join((b"." if l.startswith(b".") else b"") + l + b"\r\n"
                       for l in lines) + b".\r\n")
    r = reply()
    print(r)
    s.sendall(b"QUIT\r\n")
    s.close()
    sys.exit(0 if r.startswith("250") else 1)


GARBAGE = [
    b"garbage",
    b"",
    b"|||||",
    b"filter",
    b"filter|0.6",
    b"filter|9.9|1.0|smtp-in|data-line|0123456789abcdef|0000000000000001|x",
    b"filter|0.6|1.0|smtp-in|data-line|not-hex|0000000000000001|x",
    b"filter|0.6|1.0|smtp-in|data-line|0123456789abcdef",
    b"report|0.6|1.0|smtp-in|link-greeting|zz",
    b"report|0.6|1.0|smtp-in",
    b"config|ready",
    b"\x00\xff\xfe binary \x01",
    b"x" * 200000,
]


def garble(cmd):
    """Between smtpd and the filter: after the handshake, garbage lines
    before every line smtpd sends.  The filter's output goes straight to
    smtpd."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    ready = False
    n = 0
    for line in sys.stdin.buffer:
        if ready:
            p.stdin.write(GARBAGE[n % len(GARBAGE)] + b"\n")
            n += 1
        p.stdin.write(line)
        p.stdin.flush()
        if line.startswith(b"config|ready"):
            ready = True
    p.stdin.close()
    sys.exit(p.wait())


def converse(cmd):
    """smtpd sends the commit request only once the filter has sent the
    message back: hold each commit line until the filter's output has the
    final "." of that session.  The filter's output goes to stdout."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    got = []
    buf = b""

    def read_some(timeout):
        nonlocal buf
        r, _, _ = select.select([p.stdout], [], [], timeout)
        if not r:
            return
        data = os.read(p.stdout.fileno(), 65536)
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            got.append(line)

    def ended(sid):
        return any(l.startswith(b"filter-dataline|" + sid + b"|") and
                   l.endswith(b"|.") for l in got)

    for line in sys.stdin.buffer:
        f = line.rstrip(b"\n").split(b"|")
        if len(f) > 5 and f[0] == b"filter" and f[4] == b"commit":
            deadline = time.time() + 60
            while not ended(f[5]) and time.time() < deadline:
                read_some(0.1)
        p.stdin.write(line)
        p.stdin.flush()
        read_some(0)
    p.stdin.close()
    while True:
        data = p.stdout.read()
        if not data:
            break
        buf += data
    got.extend(buf.split(b"\n") if buf else [])
    sys.stdout.buffer.write(b"".join(l + b"\n" for l in got if l != b""))
    sys.exit(p.wait())


def main():
    cmd = sys.argv[1]
    args = sys.argv[2:]
    if cmd == "feed":
        feed(*args)
    elif cmd == "extract":
        extract(*args)
    elif cmd == "dkimverify":
        dkimverify(*args)
    elif cmd == "delay":
        delay(*args)
    elif cmd == "blast":
        blast(*args)
    elif cmd == "garble":
        garble(args)
    elif cmd == "raw":
        raw(*args)
    elif cmd == "converse":
        converse(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
