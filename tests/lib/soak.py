#!/usr/bin/env python3
"""The sending and checking half of scripts/soak.

  soak.py plan N SEED > plan.tsv
      N lines "ID KIND": the mix of kinds, shuffled with SEED.
  soak.py send PLAN RESULTS SIGN_PORT MX_PORT CONCURRENCY DEADLINE MANY
      sends every message of PLAN with CONCURRENCY clients (one SMTP
      connection per message), retrying a 4xx or a dropped connection
      once a second until DEADLINE (Unix time); appends one line per
      message to RESULTS: "ID KIND CODE TRIES DEFERRED REPLY", and one
      line per attempt that is tried again to RESULTS.attempts: "TIME
      ID KIND CODE REPLY" (TIME in Unix seconds, CODE 0 for a dropped or
      refused connection), for the faults' checks.  MANY is the
      many-signature template (signed by dkimkit sign, no Message-ID).
  soak.py window ATTEMPTS FROM TO
      of the attempts tried again between the Unix times FROM and TO:
      "N DROPPED" (DROPPED: how many met a dropped connection, code 0)
  soak.py check PLAN RESULTS MAILDIR [redelivery] [arc=T0,T1,RELAYLOG]
      finds each message: delivered (folder, the MX's A-R), refused
      (5xx) or lost, judges it against its kind, prints the wrong ones
      on stderr and "delivered rejected lost wrong redelivered" on
      stdout.  A message delivered twice is wrong, except with
      "redelivery" (the MX was killed) when both copies come from the
      same entry of the MX's queue (the same id in its Received field):
      smtpd had handed it to Dovecot but not yet taken it off its queue
      when it died, and delivered it again when it started (mail is
      delivered at least once, RFC 5321 6.1); those are "redelivered".
      With "arc=..." the trusted sealer's key was revoked between the
      Unix times T0 and T1: a relayed message the MX saw before T0 must
      be as ever, one it saw after T1 (plus the 2 s TTL of the relays'
      records, scripts/soak) must be refused at the MX (550, DMARC
      p=reject with no trusted ARC set to stand in), as the relay's
      Exim log RELAYLOG shows; in between, either; and one the MX
      passed but Dovecot delivered after T0 may be in Junk (the Sieve
      script verified it again, after the revocation).
  soak.py refused RELAYLOG
      the soak ids the MX refused with a 5xx when the relay passed them
      on, one a line (what the mailbox will never get)

Every message carries its id and kind in X-Soak-Id and X-Soak-Kind, and
the id in its Message-ID, so the delivered copy names itself.
"""
import email.utils
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


def send(planf, resultsf, sign_port, mx_port, conc, deadline, manyf,
         rate=0.0):
    """rate: at most so many new messages a second from all the clients
    together (0: as fast as they go), so that a run lasts long enough
    for its faults whatever the machine's speed."""
    with open(manyf, "rb") as f:
        many = f.read().replace(b"\r\n", b"\n").replace(b"\n", CRLF)
    work = queue.Queue()
    with open(planf) as f:
        for line in f:
            work.put(line.split())
    out = open(resultsf, "a")
    again = open(resultsf + ".attempts", "a")
    lock = threading.Lock()
    slot = [time.time()]

    def pace():
        if rate <= 0:
            return
        with lock:
            start = max(time.time(), slot[0])
            slot[0] = start + 1.0 / rate
        time.sleep(max(0.0, start - time.time()))

    def client():
        while True:
            try:
                ident, kind = work.get_nowait()
            except queue.Empty:
                return
            pace()
            spec = message(ident, kind, sign_port, mx_port, many)
            tries = deferred = 0
            while True:
                tries += 1
                code, reply = send_one(spec)
                if code >= 500 or 200 <= code < 300:
                    break
                deferred = 1
                with lock:
                    again.write("%.3f %s %s %d %s\n" % (
                        time.time(), ident, kind, code,
                        " ".join(reply.split())))
                    again.flush()
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
    again.close()


def window(attemptsf, start, end):
    n = dropped = 0
    with open(attemptsf) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4 and start <= float(parts[0]) <= end:
                n += 1
                dropped += parts[3] == "0"
    print(n, dropped)


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
    """{id: [(folder, MX A-R, quarantined, MX queue id, the Unix time
    in the MX's Received field, the time Dovecot delivered it)]} of every
    delivered copy."""
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
            ident, ar, quar, mxid, when = None, None, False, "", 0.0
            for field in header_block(os.path.join(box, entry)):
                name, _, value = field.partition(":")
                lname = name.strip().lower()
                m = MX_RECEIVED.search(value)
                if lname == "received" and m and not mxid:
                    mxid = m.group(1)
                    when = received_time(value)
                elif lname == "x-soak-id" and ident is None:
                    ident = value.strip()
                elif lname == "authentication-results" and ar is None and \
                        value.strip().startswith("mx.example.net"):
                    ar = value.strip()
                elif lname == "x-dkimkit-quarantine":
                    quar = True
            if ident:
                found.setdefault(ident, []).append(
                    (folder, ar or "", quar, mxid, when,
                     delivery_time(entry)))
    return found


def received_time(value):
    """The date after the ';' of a Received field, in Unix time (0 when
    there is none that parses)."""
    try:
        return email.utils.parsedate_to_datetime(
            value.rsplit(";", 1)[1].strip()).timestamp()
    except (IndexError, TypeError, ValueError):
        return 0.0


def delivery_time(name):
    """When Dovecot delivered a maildir file: the Unix time its name
    starts with."""
    try:
        return float(name.split(".", 1)[0])
    except ValueError:
        return 0.0


def relay_refused(logf):
    """{soak id: Unix time} of the messages the MX refused with a 5xx
    when the relay of RELAYLOG (an Exim main log) passed them on."""
    ids, refused = {}, {}
    with open(logf, errors="replace") as f:
        for line in f:
            parts = line.split(None, 4)
            if len(parts) < 5:
                continue
            m = re.search(r"id=soak-(\d+)@", parts[4])
            if parts[3] == "<=" and m:
                ids[parts[2]] = m.group(1)
            elif parts[3] == "**" and re.search(r": 5\d\d ", parts[4]) \
                    and parts[2] in ids:
                t = time.mktime(time.strptime(parts[0] + " " + parts[1],
                                              "%Y-%m-%d %H:%M:%S"))
                refused[ids[parts[2]]] = t
    return refused


MX_RECEIVED = re.compile(r"by mx\.example\.net \(OpenSMTPD\) with \S+ id (\w+)")


def judge_revoked(kind, copies, arc, ident):
    """With the sealer's key revoked (arc: (T0, T1, {id: time refused})):
    (outcome, why) for a relayed message it concerns, None for the
    others (judged as ever)."""
    t0, t1, refused = arc
    if kind != "relayed":
        return None
    if ident in refused:
        if refused[ident] >= t0:
            return "relay-refused", None
        return "relay-refused", "refused by the MX before the revocation"
    if copies and copies[0][4] >= t1 + 3:
        return "delivered", "trusted after its sealer's key was revoked " \
            "(A-R: %s)" % copies[0][1]
    # The MX trusted it before the revocation, Dovecot's Sieve verified
    # it again after: its ARC set fails there, DMARC says reject, Junk.
    # (the maildir name has whole seconds: +1)
    if len(copies) == 1 and copies[0][0] == "Junk" and \
            copies[0][5] + 1 >= t0 and re.search(r"arc=pass", copies[0][1]):
        return "delivered", None
    return None


def judge(kind, result, copies, redelivery=False, arc=None, ident=None):
    """(outcome, why it is wrong or None); outcome "redelivered" is a
    delivered message that the MX's queue gave twice, "relay-refused"
    one the MX refused from the relay after the revocation (see
    check)."""
    if arc is not None:
        verdict = judge_revoked(kind, copies, arc, ident)
        if verdict is not None:
            return verdict
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
    outcome = "delivered"
    if len(copies) > 1:
        ids = set(c[3] for c in copies)
        if not redelivery or len(ids) != 1 or "" in ids:
            return "delivered", "delivered %d times" % len(copies)
        outcome = "redelivered"
    folder, ar, quar = copies[0][:3]
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
    return outcome, ("; ".join(bad) + " (A-R: %s)" % ar) if bad else None


def check(planf, resultsf, maildir, redelivery=False, arc=None):
    results = {}
    with open(resultsf) as f:
        for line in f:
            parts = line.split()
            results[parts[0]] = parts
    copies = delivered_copies(maildir)
    counts = {"delivered": 0, "rejected": 0, "lost": 0, "redelivered": 0,
              "relay-refused": 0}
    wrong = 0
    with open(planf) as f:
        for line in f:
            ident, kind = line.split()
            outcome, why = judge(kind, results.get(ident),
                                 copies.get(ident, []), redelivery, arc,
                                 ident)
            counts[outcome] += 1
            if outcome == "redelivered":
                counts["delivered"] += 1
            if outcome == "relay-refused":
                counts["rejected"] += 1
            if why:
                wrong += 1
                if wrong <= 50:
                    sys.stderr.write("soak: WRONG %s %s: %s\n" %
                                     (ident, kind, why))
    if wrong > 50:
        sys.stderr.write("soak: ... and %d more wrong\n" % (wrong - 50))
    print(counts["delivered"], counts["rejected"], counts["lost"], wrong,
          counts["redelivered"], counts["relay-refused"])


def main(argv):
    if len(argv) == 4 and argv[1] == "plan":
        plan(int(argv[2]), int(argv[3]))
    elif len(argv) in (9, 10) and argv[1] == "send":
        send(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]),
             float(argv[7]), argv[8],
             float(argv[9]) if len(argv) == 10 else 0.0)
    elif len(argv) == 5 and argv[1] == "window":
        window(argv[2], float(argv[3]), float(argv[4]))
    elif len(argv) in (5, 6, 7) and argv[1] == "check":
        redelivery, arc = False, None
        for opt in argv[5:]:
            if opt == "redelivery":
                redelivery = True
            elif opt.startswith("arc="):
                t0, t1, log = opt[4:].split(",", 2)
                arc = (float(t0), float(t1), relay_refused(log))
            else:
                sys.stderr.write(__doc__)
                return 2
        check(argv[2], argv[3], argv[4], redelivery, arc)
    elif len(argv) == 3 and argv[1] == "refused":
        for ident in sorted(relay_refused(argv[2])):
            print(ident)
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
