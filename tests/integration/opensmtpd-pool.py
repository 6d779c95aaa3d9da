#!/usr/bin/python3
"""Helpers for tests/integration/opensmtpd-pool.sh.

  opensmtpd-pool.py stream N SIGNMSG VERIFYMSG
      the filter protocol of N sessions at once: each sends SIGNMSG, then
      VERIFYMSG, with an X-Tag field on top naming session and message;
      their lines interleaved one by one, each commit right after its
      message's final "." (before the filter could answer it), then
      link-disconnect
  opensmtpd-pool.py check N OUT DIR
      the filter's answers OUT: per session, message 1's lines, its ".",
      the answer to commit 1, then the same for message 2, each token the
      right one; each message into DIR/sI-mK.eml, its X-Tag its own
"""
import os
import sys

HANDSHAKE = ("config|smtpd-version|6.8.0p2\nconfig|smtp-session-timeout|300\n"
             "config|subsystem|smtp-in\nconfig|admd|mx.test\nconfig|ready\n")


def sid(i):
    return "%016x" % (0xa000 + i)


def token(k):
    return "%016x" % (0xb0 + k)


def commit_token(k):
    return "%016x" % (0xc0 + k)


def lines_of(path, i, k):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    out = ["X-Tag: s%d-m%d" % (i, k)]
    for raw in text.splitlines():
        out.append("." + raw if raw.startswith(".") else raw)
    return out


def session_script(i, msgs):
    s = sid(i)
    out = ["report|0.6|1.0|smtp-in|link-connect|%s|localhost|pass|"
           "127.0.0.1:%d|127.0.0.1:25" % (s, 1000 + i)]
    for k, path in enumerate(msgs, 1):
        for line in lines_of(path, i, k) + ["."]:
            out.append("filter|0.6|1.0|smtp-in|data-line|%s|%s|%s"
                       % (s, token(k), line))
        out.append("filter|0.6|1.0|smtp-in|commit|%s|%s|"
                   % (s, commit_token(k)))
    out.append("report|0.6|1.0|smtp-in|link-disconnect|%s" % s)
    return out


def stream(n, signmsg, verifymsg):
    scripts = [session_script(i, [signmsg, verifymsg]) for i in range(n)]
    out = [HANDSHAKE]
    more = True
    pos = 0
    while more:
        more = False
        for sc in scripts:
            if pos < len(sc):
                out.append(sc[pos] + "\n")
                more = True
        pos += 1
    sys.stdout.write("".join(out))


def check_session(i, lines, outdir):
    """lines: this session's answers in order.  None, or what is wrong."""
    k = 1
    msg = []
    want_result = False
    for kind, tok, rest in lines:
        if want_result:
            if kind != "filter-result" or tok != commit_token(k):
                return "message %d: %r where the commit answer belongs" % (
                    k, (kind, tok, rest))
            want_result = False
            k += 1
            msg = []
            continue
        if kind != "filter-dataline" or tok != token(k):
            return "message %d: %r among its data lines" % (
                k, (kind, tok, rest))
        if rest == ".":
            name = os.path.join(outdir, "s%d-m%d.eml" % (i, k))
            with open(name, "w") as f:
                f.write("".join(m + "\n" for m in msg))
            if "X-Tag: s%d-m%d" % (i, k) not in msg:
                return "message %d: not its own X-Tag" % k
            want_result = True
            continue
        msg.append(rest[1:] if rest.startswith(".") else rest)
    if k != 3 or want_result:
        return "ended at message %d" % k
    return None


def check(n, path, outdir):
    per = {sid(i): [] for i in range(n)}
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            parts = raw.rstrip("\n").split("|", 3)
            if parts[0] in ("filter-dataline", "filter-result") and \
                    len(parts) == 4 and parts[1] in per:
                per[parts[1]].append((parts[0], parts[2], parts[3]))
    bad = 0
    for i in range(n):
        why = check_session(i, per[sid(i)], outdir)
        if why is not None:
            print("session %s: %s" % (sid(i), why), file=sys.stderr)
            bad += 1
    sys.exit(1 if bad else 0)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "stream":
        stream(int(args[0]), args[1], args[2])
    elif cmd == "check":
        check(int(args[0]), args[1], args[2])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
