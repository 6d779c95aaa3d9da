#!/usr/bin/env python3
"""The sending and checking half of scripts/soak.

  soak.py plan N SEED > plan.tsv
      N lines "ID KIND": the mix of kinds, shuffled with SEED.
  soak.py send PLAN RESULTS SIGN_PORT MX_PORT CONCURRENCY DEADLINE MANY
      sends every message of PLAN with CONCURRENCY clients (one SMTP
      connection per message), retrying a 4xx or a dropped connection
      once a second until DEADLINE (Unix time); appends one line per
      message to RESULTS: "ID KIND CODE TRIES DEFERRED REPLY".  MANY is
      the many-signature template (signed by dkimkit sign, no
      Message-ID).
  soak.py check PLAN RESULTS MAILDIR
      finds each message: delivered (folder, the MX's A-R), refused
      (5xx) or lost, judges it against its kind, prints the wrong ones
      on stderr and "delivered rejected lost wrong" on stdout.

Every message carries its id and kind in X-Soak-Id and X-Soak-Kind, and
the id in its Message-ID, so the delivered copy names itself.
"""
import os
import queue
import random
import re
import smtplib
import sys
import threading
import time

# The mix for N messages: weights of the ordinary kinds; "large" (10 MB)
# is one in 500, at least one for 50 messages or more, since each costs
# about a second of the signer's and the MX's time.
WEIGHTS = [("good", 40), ("relayed", 8), ("forged", 15), ("unsigned", 15),
           ("malformed", 10), ("many", 12)]

# What each kind must come to.  Delivered kinds: the folder, and
# patterns the MX's Authentication-Results must match (and "!" patterns
# it must not); refused kinds: the reply code.
EXPECT = {
    "good": ("INBOX", [r"dkim=pass[^;]*header\.a=rsa-sha256",
                       r"dkim=pass[^;]*header\.a=ed25519-sha256",
                       r"spf=pass", r"dmarc=pass"]),
    "large": ("INBOX", [r"dkim=pass[^;]*header\.a=rsa-sha256",
                        r"dkim=pass[^;]*header\.a=ed25519-sha256",
                        r"spf=pass", r"dmarc=pass"]),
    # forwarded by the trusted sealer, whose footer breaks the
    # signatures: its ARC pass stands in (local_policy)
    "relayed": ("INBOX", [r"dkim=fail", r"spf=fail",
                          r"dmarc=fail[^;]*local_policy", r"arc=pass"]),
    # sent by the signer's address unsigned, from a fresh subdomain of
    # u.example.test: SPF passes and aligns
    "unsigned": ("INBOX", [r"dkim=none", r"spf=pass", r"dmarc=pass",
                           r"!dkim=pass"]),
    # a signature with no s=, h=, bh= or b=: a permanent error (RFC 6376
    # 6.1.1, RFC 8601 2.7.1), the rest as unsigned
    "malformed": ("INBOX", [r"dkim=permerror", r"spf=pass", r"dmarc=pass",
                            r"!dkim=pass"]),
    # twelve signatures over the same fields, all good
    "many": ("INBOX", [r"dkim=pass[^;]*header\.a=rsa-sha256",
                       r"dkim=pass[^;]*header\.a=ed25519-sha256",
                       r"dmarc=pass", r"!dkim=fail"]),
    # unsigned, From a fresh subdomain of example.test (p=reject), from
    # an address SPF does not name: 550 at the end of DATA
    "forged": (550, []),
}


def plan(n, seed):
    kinds = []
    large = max(1, n // 500) if n >= 50 else 0
    total = sum(w for _, w in WEIGHTS)
    for kind, w in WEIGHTS:
        kinds += [kind] * (w * (n - large) // total)
    kinds += ["good"] * (n - large - len(kinds))
    kinds += ["large"] * large
    random.Random(seed).shuffle(kinds)
    for i, kind in enumerate(kinds, 1):
        print("%06d %s" % (i, kind))


CRLF = b"\r\n"
LARGE_BODY = None


def large_body():
    """About 10 MB of 76-character lines, made once."""
    global LARGE_BODY
    if LARGE_BODY is None:
        line = b"0123456789abcdefghijklmnopqrstuvwxyz" * 2 + b"ABCD" + CRLF
        LARGE_BODY = line * (10 * 1024 * 1024 // len(line))
    return LARGE_BODY


def headers(ident, kind, frm, to):
    return CRLF.join([
        b"From: " + frm.encode(),
        b"To: " + to.encode(),
        b"Subject: soak " + ident.encode() + b" " + kind.encode(),
        b"Date: " + time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                  time.gmtime()).encode(),
        b"Message-ID: <soak-" + ident.encode() + b"@example.test>",
        b"X-Soak-Id: " + ident.encode(),
        b"X-Soak-Kind: " + kind.encode(),
    ]) + CRLF


BODY = (b"Bob," + CRLF + CRLF + b"the figures are in the usual place." +
        CRLF + b".a line that needs dot-stuffing" + CRLF + CRLF +
        b"-- " + CRLF + b"Alice" + CRLF)


def message(ident, kind, sign_port, mx_port, many):
    """(port, source address, HELO, MAIL FROM, RCPT TO, text)."""
    alice = "Alice <alice@example.test>"
    if kind in ("good", "large", "relayed"):
        to = "bob@forward.example.net" if kind == "relayed" \
            else "bob@example.net"
        body = large_body() if kind == "large" else BODY
        return (sign_port, "127.0.0.1", "client.example.test",
                "alice@example.test", to,
                headers(ident, kind, alice, "Bob <%s>" % to) + CRLF + body)
    if kind == "forged":
        dom = "f%s.example.test" % ident
        return (mx_port, "127.0.0.5", "stranger.example.org",
                "ceo@" + dom, "bob@example.net",
                headers(ident, kind, "CEO <ceo@%s>" % dom,
                        "Bob <bob@example.net>") + CRLF + BODY)
    if kind == "unsigned":
        # a fresh domain each time (a wildcard SPF record under
        # u.example.test names 127.0.0.2), so that its lookups miss the
        # filter's cache and a DNS outage reaches them
        dom = "u%s.u.example.test" % ident
        return (mx_port, "127.0.0.2", "mail.example.test",
                "alice@" + dom, "bob@example.net",
                headers(ident, kind, "Alice <alice@%s>" % dom,
                        "Bob <bob@example.net>") + CRLF + BODY)
    if kind == "malformed":
        broken = CRLF.join([
            b"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; garbage",
            b"X-Eight-Bit: caf\xc3\xa9 \xff\xfe",
            b"X-Long: " + b"x" * 1900,
            b"Subject: a second subject field",
        ]) + CRLF
        return (mx_port, "127.0.0.2", "mail.example.test",
                "alice@example.test", "bob@example.net",
                broken + headers(ident, kind, alice, "Bob <bob@example.net>")
                + CRLF + BODY)
    if kind == "many":
        # the template's signatures cover From, To, Subject and Date
        # only: the id fields go on top, outside them
        return (mx_port, "127.0.0.2", "mail.example.test",
                "alice@example.test", "bob@example.net",
                b"Message-ID: <soak-" + ident.encode() + b"@example.test>" +
                CRLF + b"X-Soak-Id: " + ident.encode() + CRLF +
                b"X-Soak-Kind: many" + CRLF + many)
    raise ValueError("unknown kind " + kind)


def send_one(spec):
    """(code, reply) of one attempt; 0 when the connection failed."""
    port, src, helo, mfrom, rcpt, text = spec
    try:
        with smtplib.SMTP("127.0.0.1", port, local_hostname=helo,
                          timeout=120, source_address=(src, 0)) as s:
            s.sendmail(mfrom, [rcpt], text)
            return 250, "ok"
    except smtplib.SMTPRecipientsRefused as e:
        code, msg = list(e.recipients.values())[0]
        return code, msg.decode("utf-8", "replace")
    except smtplib.SMTPResponseException as e:
        return e.smtp_code, e.smtp_error.decode("utf-8", "replace")
    except (OSError, smtplib.SMTPException) as e:
        return 0, "%s: %s" % (type(e).__name__, e)


def send(planf, resultsf, sign_port, mx_port, conc, deadline, manyf):
    with open(manyf, "rb") as f:
        many = f.read().replace(b"\r\n", b"\n").replace(b"\n", CRLF)
    work = queue.Queue()
    with open(planf) as f:
        for line in f:
            work.put(line.split())
    out = open(resultsf, "a")
    lock = threading.Lock()

    def client():
        while True:
            try:
                ident, kind = work.get_nowait()
            except queue.Empty:
                return
            spec = message(ident, kind, sign_port, mx_port, many)
            tries = deferred = 0
            while True:
                tries += 1
                code, reply = send_one(spec)
                if code >= 500 or 200 <= code < 300:
                    break
                deferred = 1
                if time.time() >= deadline:
                    break
                time.sleep(1)
            reply = " ".join(reply.split())
            with lock:
                out.write("%s %s %d %d %d %s\n" %
                          (ident, kind, code, tries, deferred, reply))
                out.flush()

    threads = [threading.Thread(target=client) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()


def header_block(path):
    """The header fields of the message in PATH, unfolded."""
    fields = []
    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\r\n")
            if not line:
                break
            if line[:1] in (b" ", b"\t") and fields:
                fields[-1] += b" " + line.strip()
            else:
                fields.append(line)
    return [x.decode("utf-8", "replace") for x in fields]


def delivered_copies(maildir):
    """{id: [(folder, MX A-R, quarantined)]} of every delivered copy."""
    found = {}
    boxes = [("INBOX", os.path.join(maildir, "new")),
             ("INBOX", os.path.join(maildir, "cur"))]
    for name in os.listdir(maildir) if os.path.isdir(maildir) else []:
        if name.startswith("."):
            for sub in ("new", "cur"):
                boxes.append((name[1:], os.path.join(maildir, name, sub)))
    for folder, box in boxes:
        if not os.path.isdir(box):
            continue
        for entry in os.listdir(box):
            ident, ar, quar = None, None, False
            for field in header_block(os.path.join(box, entry)):
                name, _, value = field.partition(":")
                lname = name.strip().lower()
                if lname == "x-soak-id" and ident is None:
                    ident = value.strip()
                elif lname == "authentication-results" and ar is None and \
                        value.strip().startswith("mx.example.net"):
                    ar = value.strip()
                elif lname == "x-dkimkit-quarantine":
                    quar = True
            if ident:
                found.setdefault(ident, []).append((folder, ar or "", quar))
    return found


def judge(kind, result, copies):
    """(outcome, why it is wrong or None)."""
    want, patterns = EXPECT[kind]
    code = int(result[2]) if result else None
    if code is not None and code >= 500:
        if want == code or (isinstance(want, int) and code // 100 == 5 and
                            want // 100 == 5):
            return "rejected", None
        return "rejected", "refused %s, expected %s" % (
            " ".join(result[2:3] + result[5:]), want)
    if not copies:
        if code is None or code != 250:
            return "lost", "never accepted (last reply %s)" % (
                " ".join(result[2:3] + result[5:]) if result else "none")
        return "lost", "accepted but not delivered"
    if len(copies) > 1:
        return "delivered", "delivered %d times" % len(copies)
    folder, ar, quar = copies[0]
    if isinstance(want, int):
        return "delivered", "delivered to %s, expected %d (A-R: %s)" % (
            folder, want, ar)
    bad = []
    if folder != want:
        bad.append("folder %s, expected %s" % (folder, want))
    if quar and want == "INBOX":
        bad.append("marked for quarantine")
    for p in patterns:
        if p.startswith("!"):
            if re.search(p[1:], ar):
                bad.append("A-R has " + p[1:])
        elif not re.search(p, ar):
            bad.append("A-R lacks " + p)
    return "delivered", ("; ".join(bad) + " (A-R: %s)" % ar) if bad else None


def check(planf, resultsf, maildir):
    results = {}
    with open(resultsf) as f:
        for line in f:
            parts = line.split()
            results[parts[0]] = parts
    copies = delivered_copies(maildir)
    counts = {"delivered": 0, "rejected": 0, "lost": 0}
    wrong = 0
    with open(planf) as f:
        for line in f:
            ident, kind = line.split()
            outcome, why = judge(kind, results.get(ident),
                                 copies.get(ident, []))
            counts[outcome] += 1
            if why:
                wrong += 1
                if wrong <= 50:
                    sys.stderr.write("soak: WRONG %s %s: %s\n" %
                                     (ident, kind, why))
    if wrong > 50:
        sys.stderr.write("soak: ... and %d more wrong\n" % (wrong - 50))
    print(counts["delivered"], counts["rejected"], counts["lost"], wrong)


def main(argv):
    if len(argv) == 4 and argv[1] == "plan":
        plan(int(argv[2]), int(argv[3]))
    elif len(argv) == 9 and argv[1] == "send":
        send(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]),
             float(argv[7]), argv[8])
    elif len(argv) == 5 and argv[1] == "check":
        check(argv[2], argv[3], argv[4])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
