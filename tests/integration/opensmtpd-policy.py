#!/usr/bin/env python3
"""Helpers of tests/integration/opensmtpd-policy.sh.

  stream CASES          the filter protocol stream of every case (one
                        session each: reports, then the message), on stdout
  sigs FILTER_OUT       per session of a filter's output: "N | d s i a;..."
  maildir DIR           per delivered message (Subject "case-N"): the same
  expected DKIMKIT CONF CASES
                        per case, what `dkimkit policy test --json` decides

A case line: N FROM IP HOST FCRDNS AUTH (HOST "-" for none, AUTH 0 or 1).
Signatures are listed sorted, i= as "-" when absent: one line to compare.
"""
import json
import os
import re
import subprocess
import sys

HS = ["config|smtpd-version|6.8.0p2", "config|smtp-session-timeout|300",
      "config|subsystem|smtp-in", "config|admd|mx.test", "config|ready"]


def cases(path):
    with open(path) as f:
        for line in f:
            w = line.split()
            if len(w) == 6:
                yield w


def src(ip):
    return ("[IPv6:%s]:4321" % ip) if ":" in ip else ip + ":4321"


def stream(path):
    out = sys.stdout
    out.write("\n".join(HS) + "\n")
    for n, frm, ip, host, fcrdns, auth in cases(path):
        sid = "%016x" % (int(n) + 1)
        rep = "report|0.6|1.0|smtp-in|%s|" + sid + "|%s\n"
        out.write(rep % ("link-connect", "%s|%s|%s|127.0.0.1:25" % (
            host if host != "-" else "<unknown>", fcrdns, src(ip))))
        out.write(rep % ("link-identify", "EHLO|helo-%s.test" % n))
        if auth == "1":
            out.write(rep % ("link-auth", "user%s|pass" % n))
        else:
            # a failed AUTH authenticates nobody
            out.write(rep % ("link-auth", "user%s|fail" % n))
        out.write(rep % ("tx-mail", "0000%04x|ok|bounce-%s@mail.test" % (
            int(n), n)))
        for line in ["From: %s" % frm, "To: rcpt@dest.test",
                     "Subject: case-%s" % n, "", "hello", "."]:
            out.write("filter|0.6|1.0|smtp-in|data-line|%s|"
                      "00000000000000b0|%s\n" % (sid, line))
        out.write(rep % ("tx-reset", "0000%04x" % int(n)))
        out.write((rep % ("link-disconnect", "")).replace("|\n", "\n"))


def sig_of(field):
    v = re.sub(r"\s+", "", field.split(":", 1)[1])
    tags = dict(t.split("=", 1) for t in v.split(";") if "=" in t)
    return "%s %s %s %s" % (tags.get("d"), tags.get("s"),
                            tags.get("i", "-"), tags.get("a"))


def fields(lines):
    """The DKIM-Signature fields of a header block, unfolded."""
    out, cur = [], None
    for line in lines:
        if line == "":
            break
        if line[:1] in (" ", "\t") and cur is not None:
            cur += line
            continue
        if cur is not None:
            out.append(cur)
        cur = line if line.lower().startswith("dkim-signature:") else None
    if cur is not None:
        out.append(cur)
    return sorted(sig_of(f) for f in out)


def sigs(path):
    msgs = {}
    for line in open(path, errors="replace"):
        w = line.rstrip("\n").split("|", 3)
        if len(w) == 4 and w[0] == "filter-dataline":
            msgs.setdefault(w[1], []).append(w[3])
    for sid in sorted(msgs, key=lambda s: int(s, 16)):
        print("%d | %s" % (int(sid, 16) - 1, ";".join(fields(msgs[sid]))))


def maildir(path):
    res = {}
    for name in os.listdir(path):
        lines = open(os.path.join(path, name), errors="replace").read() \
            .replace("\r\n", "\n").split("\n")
        subj = [l for l in lines if l.startswith("Subject: case-")]
        if subj:
            res[int(subj[0][len("Subject: case-"):])] = fields(lines)
    for n in sorted(res):
        print("%d | %s" % (n, ";".join(res[n])))


def expected(dkimkit, conf, path):
    for n, frm, ip, host, fcrdns, auth in cases(path):
        cmd = [dkimkit, "policy", "test", "--opendkim-conf", conf,
               "--from", frm, "--client-ip", ip, "--json"]
        # the filter passes a name only when smtpd's check passed
        if host != "-" and fcrdns == "pass":
            cmd += ["--client-host", host]
        if auth == "1":
            cmd += ["--auth", "user" + n]
        p = subprocess.run(cmd, capture_output=True, text=True)
        try:
            d = json.loads(p.stdout)
        except ValueError:
            print("%s | dkimkit failed: %s" % (n, p.stderr.strip()))
            continue
        s = sorted("%s %s %s %s" % (g["d"], g["s"], g["i"] or "-", g["a"])
                   for g in d["signatures"]) if d.get("sign") else []
        print("%s | %s" % (n, ";".join(s)))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    {"stream": stream, "sigs": sigs, "maildir": maildir,
     "expected": expected}[cmd](*args)


if __name__ == "__main__":
    main()
