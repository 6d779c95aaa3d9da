#!/usr/bin/python3
"""The failure-class corpus of dkimkit explain (tests/cli/explain.sh).

  explain_corpus.py DKIMKIT KEY ZONE DIR

Signs base messages with dkimkit (plain and --oversign) and with
python3-dkim, under the four canonicalization pairs; mutates each copy in
one known way (or several at once) and writes it to DIR with the class the
mutation must give; runs `dkimkit explain --json` over all of them; checks
python3-dkim's verdict on each too.  Prints the confusion counts and one
line per check:

  total N, right N (P%)
  CHECK name ok|FAIL detail

Exit 0 when every check holds: at least 95% of classes right; a mutation
python3-dkim fails, dkimkit fails; a mutation relaxed canonicalization
survives passes in both where both canonicalizations are relaxed.
"""

import base64
import collections
import json
import os
import re
import subprocess
import sys

import dkim

DKIMKIT, KEY, ZONE, OUT = sys.argv[1:5]
NOW = "1800000000"
SEL, DOM = b"corpus", b"example.test"
CANONS = ["simple/simple", "simple/relaxed", "relaxed/simple",
          "relaxed/relaxed"]

BASES = {
    "short": (b"From: Alice <alice@example.test>\r\n"
              b"To: Bob <bob@example.net>\r\n"
              b"Subject: Lunch on Friday\r\n"
              b"Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
              b"\r\n"
              b"Hi Bob,\r\n\r\nLunch on Friday at noon?\r\n\r\nAlice\r\n"),
    "trailing": (b"From: alice@example.test\r\n"
                 b"To: list@lists.example.net\r\n"
                 b"Subject: Minutes of the meeting\r\n"
                 b"Date: Mon, 7 Dec 2026 11:00:00 +0000\r\n"
                 b"\r\n"
                 b"The minutes are below.\r\n  indented line\r\n"
                 b"last line\r\n\r\n\r\n"),
    "multipart": (b"From: alice@example.test\r\n"
                  b"To: list@lists.example.net\r\n"
                  b"Subject: Holiday photos\r\n"
                  b"MIME-Version: 1.0\r\n"
                  b"Content-Type: multipart/mixed; boundary=\"=_b1\"\r\n"
                  b"\r\n"
                  b"--=_b1\r\n"
                  b"Content-Type: text/plain\r\n"
                  b"\r\n"
                  b"Two photos attached.\r\n"
                  b"--=_b1\r\n"
                  b"Content-Type: image/png\r\n"
                  b"Content-Transfer-Encoding: base64\r\n"
                  b"\r\n"
                  b"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk\r\n"
                  b"--=_b1--\r\n"),
    "long": (b"From: alice@example.test\r\n"
             b"To: bob@example.net\r\n"
             b"Subject: Report " + b"x" * 1100 + b"\r\n"
             b"Date: Mon, 7 Dec 2026 12:00:00 +0000\r\n"
             b"\r\n"
             b"data: " + b"y" * 1200 + b"\r\nend\r\n"),
}


def key_record():
    with open(ZONE) as f:
        text = f.read()
    return "".join(re.findall(r'"([^"]*)"', text)).encode()


RECORD = key_record()


def sign_dkimkit(msg, canon, oversign):
    cmd = [DKIMKIT, "sign", "--key", KEY, "--domain", DOM.decode(),
           "--selector", SEL.decode(), "--canon", canon]
    if oversign:
        cmd.append("--oversign")
    return subprocess.run(cmd, input=msg, stdout=subprocess.PIPE,
                          check=True).stdout


def sign_python(msg, canon):
    with open(KEY, "rb") as f:
        key = f.read()
    h, b = canon.encode().split(b"/")
    sig = dkim.sign(msg, SEL, DOM, key, canonicalize=(h, b))
    return sig.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + msg


def z_quote(data):
    """dkim-quoted-printable for z= (RFC 6376 2.11, 3.5): WSP, "|", ";",
    "=" and every octet that is not printable ASCII as =XX."""
    return b"".join(bytes([c]) if 0x21 <= c <= 0x7e and c not in b";=|"
                    else b"=%02X" % c for c in data)


class ZSigner(dkim.DKIM):
    """python3-dkim with z=: the signed fields copied before b=."""

    def gen_header(self, fields, include_headers, canon_policy,
                   header_name, pk, standardize=False):
        picked = dkim.select_headers(self.headers, include_headers)
        # FWS after each "|", where dkimpy's folding may break the line
        # (a break inside an =XX would make z= malformed)
        z = b"| ".join(z_quote(n + b":" + v.rstrip(b"\r\n"))
                      for n, v in picked)
        fields = fields[:-1] + [(b"z", z)] + fields[-1:]
        return super().gen_header(fields, include_headers, canon_policy,
                                  header_name, pk, standardize)


def sign_python_z(msg, canon):
    with open(KEY, "rb") as f:
        key = f.read()
    h, b = canon.encode().split(b"/")
    d = ZSigner(msg)
    sig = d.sign(SEL, DOM, key, canonicalize=(h, b))
    return sig.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + msg


def split(msg):
    i = msg.index(b"\r\n\r\n")
    return msg[:i + 2], msg[i + 4:]


def h_list(msg):
    """The names h= lists in the topmost DKIM-Signature, lower case."""
    head, _ = split(msg)
    m = re.search(rb"(?is)\bh\s*=\s*([^;]*)", head)
    return [n.strip().lower() for n in m.group(1).split(b":")]


def count(names, name):
    return sum(1 for n in names if n == name)


def fields_now(head, name):
    return len(re.findall(rb"(?im)^" + name + rb"\s*:", head))


# Each mutation: (message, canon) -> (new message, expected class).
def unchanged(m, canon):
    return m, "none"


def footer(m, canon):
    return m + b"-- \r\nThe list\r\nhttps://lists.example.net/\r\n", \
        "body-appended"


def mime_footer(m, canon):
    """A list's footer as a new part before the closing boundary."""
    if b"--=_b1--" not in m:
        return None
    return m.replace(b"--=_b1--", b"--=_b1\r\nContent-Type: text/plain\r\n"
                     b"\r\n-- \r\nThe list\r\n--=_b1--"), "body-appended"


def subject_tag(m, canon):
    return m.replace(b"Subject: ", b"Subject: [the-list] ", 1), \
        "subject-tagged", "Subject"


def refold(m, canon):
    head, body = split(m)
    new = re.sub(rb"(Subject: \S+) ", rb"\1\r\n\t", head, count=1)
    if new == head:
        return None
    return new + b"\r\n" + body, \
        "none" if canon.startswith("relaxed") else "header-changed", "Subject"


def long_split(m, canon):
    head, body = split(m)
    for line in head.split(b"\r\n"):
        if len(line) > 998:
            return m.replace(line, line[:998] + b"\r\n " + line[998:]), \
                "header-changed", "Subject"
    for line in body.split(b"\r\n"):
        if len(line) > 998:
            return m.replace(line, line[:998] + b"\r\n" + line[998:]), \
                "body-changed"
    return None


def base64_body(m, canon):
    head, body = split(m)
    enc = base64.encodebytes(body).replace(b"\n", b"\r\n")
    return head + b"Content-Transfer-Encoding: base64\r\n\r\n" + enc, \
        "body-changed"


def add_message_id(m, canon):
    head, body = split(m)
    signed = count(h_list(m), b"message-id") > 0
    return head + b"Message-ID: <added@relay.example.net>\r\n\r\n" + body, \
        "header-added" if signed else "none", "Message-ID"


def dup_from(m, canon):
    names = h_list(m)
    head, _ = split(m)
    oversigned = count(names, b"from") > fields_now(head, b"From")
    return b"From: Mallory <ceo@example.test>\r\n" + m, \
        "header-added" if oversigned else "none", "From"


def add_list_id(m, canon):
    head, body = split(m)
    names = h_list(m)
    filled = count(names, b"list-id") > fields_now(head, b"List-Id")
    return head + b"List-Id: The list <the-list.lists.example.net>\r\n" \
        b"\r\n" + body, "header-added" if filled else "none", "List-Id"


def body_whitespace(m, canon):
    head, body = split(m)
    new = body.replace(b" ", b"  ").replace(b"\r\n", b" \r\n")
    return head + b"\r\n" + new, \
        "none" if canon.endswith("relaxed") else "body-changed"


def header_whitespace(m, canon):
    head, body = split(m)
    new = head.replace(b"Subject: ", b"Subject:   ", 1)
    return new + b"\r\n" + body, \
        "none" if canon.startswith("relaxed") else "header-changed", "Subject"


def received(m, canon):
    return b"Received: from mx.example.net by relay.example.net;\r\n" \
        b"\tMon, 7 Dec 2026 13:00:00 +0000\r\n" + m, "none"


def value_change(m, canon):
    return m.replace(b"To: ", b"To: Carol <carol@example.net>, ", 1), \
        "header-unknown"


def several(m, canon):
    t = subject_tag(m, canon)[0]
    f = footer(t, canon)[0]
    return f, "body-appended"


MUTATIONS = [unchanged, footer, mime_footer, subject_tag, refold, long_split, base64_body,
             add_message_id, dup_from, add_list_id, body_whitespace,
             header_whitespace, received, value_change, several]
# What relaxed/relaxed must survive, in every verifier.
SURVIVES = {"unchanged", "refold", "body_whitespace", "header_whitespace", "received"}


def py_verdict(msg):
    def dnsfunc(name, timeout=5):
        return RECORD
    try:
        return "pass" if dkim.verify(msg, dnsfunc=dnsfunc) else "fail"
    except Exception:
        return "fail"


def generate():
    """Write every case; a list of (file, canon, signer, mutation, class,
    field or None, python3-dkim's verdict)."""
    cases = []
    os.makedirs(OUT, exist_ok=True)
    for bname, base in BASES.items():
        for canon in CANONS:
            signed = {"dkimkit": sign_dkimkit(base, canon, False),
                      "dkimkit-oversign": sign_dkimkit(base, canon, True),
                      "python3-dkim": sign_python(base, canon),
                      "python3-dkim-z": sign_python_z(base, canon)}
            for signer, sm in signed.items():
                for mut in MUTATIONS:
                    r = mut(sm, canon)
                    if r is None:
                        continue
                    want, field = r[1], r[2] if len(r) > 2 else None
                    if signer.endswith("-z") and want == "header-unknown":
                        # z= names what no rewrite can undo
                        want, field = "header-changed", "To"
                    if want in ("none", "body-appended", "body-changed"):
                        field = None
                    name = "%s-%s-%s-%s.eml" % (
                        bname, canon.replace("/", "-"), signer, mut.__name__)
                    with open(os.path.join(OUT, name), "wb") as f:
                        f.write(r[0])
                    cases.append((name, canon, signer, mut.__name__, want,
                                  field, py_verdict(r[0])))
    return cases


def explain(cases):
    """dkimkit explain --json over every case: file -> top signature."""
    res = subprocess.run([DKIMKIT, "explain", "--zone", ZONE, "--now", NOW,
                          "--json"] + [os.path.join(OUT, c[0])
                                       for c in cases],
                         stdout=subprocess.PIPE, check=False)
    got = {}
    for line in res.stdout.decode().splitlines():
        j = json.loads(line)
        got[os.path.basename(j["file"])] = j["signatures"][0]
    return got


def main():
    cases = generate()
    got = explain(cases)
    confusion = collections.Counter()
    right = zright = zcases = 0
    bad_field, peers = [], []
    manifest = open(os.path.join(OUT, "MANIFEST"), "w")
    for name, canon, signer, mut, want, field, py in cases:
        s = got.get(name, {"result": "missing", "class": "missing",
                           "field": None})
        cls = s.get("class")
        confusion[(want, cls)] += 1
        if cls == want:
            right += 1
            zright += signer.endswith("-z")
            if field is not None and (s.get("field") or "").lower() != \
                    field.lower():
                bad_field.append("%s: field %s, want %s" % (
                    name, s.get("field"), field))
        else:
            print("wrong %s: want %s, got %s (%s)" % (name, want, cls,
                                                      s.get("detail")))
        zcases += signer.endswith("-z")
        if py == "fail" and s["result"] == "pass":
            peers.append("python3-dkim fails, dkimkit passes: " + name)
        if mut in SURVIVES and canon == "relaxed/relaxed" and \
                (py != "pass" or s["result"] != "pass"):
            peers.append("relaxed survives, not in both: " + name)
        manifest.write("%s\t%s\t%s\t%s\t%s\t%s\n" % (
            name, canon, mut, s["result"], py,
            "survives" if mut in SURVIVES and canon == "relaxed/relaxed"
            else "-"))
    manifest.close()
    total = len(cases)
    print("confusion (expected -> got): count")
    for (want, cls), n in sorted(confusion.items()):
        print("  %-15s -> %-15s %d" % (want, cls, n))
    print("total %d, right %d (%.1f%%), z= %d of %d" % (
        total, right, 100.0 * right / max(total, 1), zright, zcases))
    for line in bad_field + peers:
        print("  " + line)
    checks = [
        ("at least 200 cases", total >= 200, "%d" % total),
        ("classes right for 95%", right * 100 >= 95 * total,
         "%d of %d" % (right, total)),
        ("every z= case right", zcases > 0 and zright == zcases,
         "%d of %d" % (zright, zcases)),
        ("fields named", not bad_field, "%d wrong" % len(bad_field)),
        ("python3-dkim agrees", not peers, "%d disagreements" % len(peers)),
    ]
    for what, ok, detail in checks:
        print("CHECK %s: %s (%s)" % ("ok" if ok else "FAIL", what, detail))
    return 0 if all(c[1] for c in checks) else 1


sys.exit(main())
