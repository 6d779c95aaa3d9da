#!/usr/bin/python3
"""Test data for the interop tests: messages, tampering, key records.

  mailtool.py messages DIR [edge]   write the test messages into DIR (edge:
                                    the edge-case bodies instead)
  mailtool.py bh FILE BODYCANON [sha1|sha256]   the body hash RFC 6376
                                    3.4.3/3.4.4/3.7 gives for FILE
  mailtool.py tamper MODE IN OUT    MODE: body (one letter of the body
                                    changed), subject (Subject replaced),
                                    append (text added after the body),
                                    swap:NAME (first two NAME fields
                                    swapped), add:FIELD (FIELD added below
                                    the DKIM-Signature fields)
  mailtool.py record KEY.pem SELECTOR DOMAIN   zone-file line for the key
  mailtool.py pubkey KEY.pem        base64 public key as DKIM p= wants it
  mailtool.py checkzone ZONE NAME KEY.pem [ALGO]   is NAME's TXT record in
                                    ZONE a valid DKIM key for KEY.pem?
  mailtool.py endings FILE          print crlf, lf, mixed or none
  mailtool.py sigtag FILE TAG [N]   the value of TAG in DKIM-Signature
                                    field N (0: topmost), FWS removed
  mailtool.py unsigned SIGNED ORIG  exit 0 when SIGNED is ORIG with DKIM-
                                    Signature fields added on top (line
                                    ends aside)
  mailtool.py jsonget FILE KEY...   print one value of a one-line JSON
                                    object (keys and list indexes)
  mailtool.py jsonshape FILE [N]    FILE has N (1) lines, each a JSON
                                    object of the shape DESIGN.md gives

Only the standard library and dnspython (a dependency of python3-dkim).
"""

import base64
import json
import os
import re
import sys

# RFC 5280 / RFC 8410 algorithm identifiers, DER.
OID_RSA = bytes.fromhex("2a864886f70d010101")
OID_ED25519 = bytes.fromhex("2b6570")


def der_read(data, pos):
    """Return (tag, content, next position) of the DER element at pos."""
    tag = data[pos]
    n = data[pos + 1]
    pos += 2
    if n & 0x80:
        count = n & 0x7F
        n = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, data[pos:pos + n], pos + n


def der_items(data):
    """The elements of a DER SEQUENCE's content."""
    pos = 0
    while pos < len(data):
        tag, content, pos = der_read(data, pos)
        yield tag, content


def der_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def der(tag, content):
    return bytes([tag]) + der_len(len(content)) + content


def pem_blocks(text):
    """(label, DER bytes) for every PEM block in text."""
    for m in re.finditer(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----",
                         text, re.S):
        yield m.group(1), base64.b64decode("".join(m.group(2).split()))


class PrivateKey:
    """An RSA (PKCS#1 or PKCS#8) or Ed25519 (PKCS#8) private key."""

    def __init__(self, path):
        with open(path, encoding="ascii") as f:
            text = f.read()
        blocks = list(pem_blocks(text))
        if not blocks:
            # A bare base64 Ed25519 seed, as python3-dkim's dknewkey writes.
            seed = base64.b64decode("".join(text.split()))
            if len(seed) != 32:
                raise ValueError(path + ": no PEM block, not an Ed25519 seed")
            self.kind, self.seed = "ed25519", seed
            return
        label, body = blocks[0]
        if label == "RSA PRIVATE KEY":
            self.kind, self.pkcs1 = "rsa", body
        elif label == "PRIVATE KEY":
            _, seq, _ = der_read(body, 0)
            items = list(der_items(seq))
            algid = list(der_items(items[1][1]))
            oid = algid[0][1]
            if oid == OID_RSA:
                self.kind, self.pkcs1 = "rsa", items[2][1]
            elif oid == OID_ED25519:
                # The OCTET STRING holds an OCTET STRING: the seed.
                _, seed, _ = der_read(items[2][1], 0)
                self.kind, self.seed = "ed25519", seed
            else:
                raise ValueError(path + ": unknown key algorithm")
        else:
            raise ValueError(path + ": unsupported PEM block " + label)

    def rsa_numbers(self):
        """(modulus, public exponent) of an RSA key."""
        _, seq, _ = der_read(self.pkcs1, 0)
        items = list(der_items(seq))
        return (int.from_bytes(items[1][1], "big"),
                int.from_bytes(items[2][1], "big"))

    def bits(self):
        if self.kind == "rsa":
            return self.rsa_numbers()[0].bit_length()
        return 256

    def dkim_private(self):
        """The private key as python3-dkim's dkim.sign() wants it."""
        if self.kind == "rsa":
            pem = base64.encodebytes(self.pkcs1).decode("ascii")
            return ("-----BEGIN RSA PRIVATE KEY-----\n" + pem +
                    "-----END RSA PRIVATE KEY-----\n").encode("ascii")
        return base64.b64encode(self.seed)

    def public_der(self):
        """p= for this key: SubjectPublicKeyInfo DER (RSA) or the raw 32
        bytes (Ed25519, RFC 8463 4.2)."""
        if self.kind == "ed25519":
            import nacl.signing
            return bytes(nacl.signing.SigningKey(self.seed).verify_key)
        n, e = self.rsa_numbers()

        def integer(v):
            b = v.to_bytes(v.bit_length() // 8 + 1, "big")
            return der(0x02, b)
        rsapub = der(0x30, integer(n) + integer(e))
        algid = der(0x30, der(0x06, OID_RSA) + b"\x05\x00")
        return der(0x30, algid + der(0x03, b"\x00" + rsapub))

    def public_b64(self):
        return base64.b64encode(self.public_der()).decode("ascii")


# The test messages.  Lines are joined with the file's line end.
HEADERS_COMMON = [
    "Date: Mon, 01 Jan 2024 09:00:00 +0000",
    "MIME-Version: 1.0",
    "Content-Type: text/plain; charset=us-ascii",
]

MESSAGES = {
    # An ordinary short text message.
    "plain": ("\r\n", [
        "Received: from client.example.test (client.example.test"
        " [192.0.2.1])",
        "\tby mx.example.test with ESMTP id 4AB3C2; Mon, 01 Jan 2024"
        " 09:00:01 +0000",
        "From: Alice Example <alice@example.test>",
        "To: Bob Example <bob@example.test>",
        "Subject: Plain text interop message",
        "Message-ID: <plain.1@example.test>",
    ] + HEADERS_COMMON + [
        "",
        "Hello Bob,",
        "",
        "This is a plain text message for the dkimkit interop tests.",
        "It has a few lines of ordinary text and nothing unusual.",
        "",
        "Regards,",
        "Alice",
    ]),
    # Whitespace that the two body canonicalizations treat differently:
    # trailing WSP, WSP runs, a WSP-only line, trailing empty lines; and
    # header values with WSP runs and trailing WSP.
    "whitespace": ("\r\n", [
        "From: Alice Example <alice@example.test>",
        "To:   bob@example.test   ",
        "Subject:  Whitespace \t  in   headers\tand body  ",
        "Message-ID: <whitespace.1@example.test>",
        "X-Spacing:\tvalue   with\t\truns ",
    ] + HEADERS_COMMON + [
        "",
        "Line with trailing spaces   ",
        "Line with a trailing tab\t",
        "Runs   of    spaces\tand\t\ttabs   inside",
        "  Leading spaces stay",
        " \t ",
        "A line after a whitespace-only line",
        "",
        "Last text line",
        "",
        "   ",
        "",
        "",
    ]),
    # Folded header fields and repeated fields (Received, Comments).
    "folded": ("\r\n", [
        "Received: from relay2.example.net (relay2.example.net"
        " [198.51.100.2])",
        "\tby mx.example.test (Postfix) with ESMTPS id 9F1E2",
        "\tfor <bob@example.test>; Mon, 01 Jan 2024 09:00:03 +0000",
        "Received: from relay1.example.net (relay1.example.net"
        " [198.51.100.1])",
        "        by relay2.example.net with ESMTP id 77A1B;",
        "        Mon, 01 Jan 2024 09:00:02 +0000",
        "Received: from client (client.example.test [192.0.2.1])"
        " by relay1.example.net",
        "\twith ESMTP id 3C3D4; Mon, 01 Jan 2024 09:00:01 +0000",
        "From: Alice Example",
        " <alice@example.test>",
        "To: Bob Example <bob@example.test>,",
        "\tCarol Example <carol@example.test>,",
        "    Dave Example <dave@example.test>",
        "Subject: A subject line that is long enough that it had to be",
        " folded over two lines",
        "\t and then over a third",
        "Comments: the first Comments field",
        "Comments: the second Comments field,",
        "  folded",
        "Message-ID: <folded.1@example.test>",
    ] + HEADERS_COMMON + [
        "",
        "Body of the message with folded and repeated header fields.",
    ]),
    # Bare LF line ends, as a file on disk; trailing WSP and empty lines so
    # that the LF-to-CRLF handling meets canonicalization.
    "lf": ("\n", [
        "From: Alice Example <alice@example.test>",
        "To: Bob Example <bob@example.test>",
        "Subject: Bare LF line ends  ",
        "Message-ID: <lf.1@example.test>",
    ] + HEADERS_COMMON + [
        "",
        "This file has bare LF line ends.  ",
        "Trailing\twhitespace\t",
        "",
        "",
    ]),
}


# Bodies at the edges of canonicalization, where implementations differ
# (RFC 6376 3.4.3, 3.4.4): (line end, header lines, raw body bytes or None
# for a message without the empty line that ends the header).
EDGE_HEADERS = [
    "From: Alice Example <alice@example.test>",
    "To: Bob Example <bob@example.test>",
    "Date: Mon, 01 Jan 2024 09:00:00 +0000",
]
EDGE = {
    # The last line has no line end, and trailing WSP.
    "noeol": ("\r\n", ["Subject: no line end after the last line",
                        "Message-ID: <noeol.1@example.test>"],
              b"First line\r\nThe last line has no CRLF   "),
    # The same with bare LF line ends.
    "noeol-lf": ("\n", ["Subject: no line end, bare LF",
                        "Message-ID: <noeol-lf.1@example.test>"],
                 b"First line\nLast line without LF\t"),
    # Header, empty line, nothing else.
    "empty": ("\r\n", ["Subject: empty body",
                        "Message-ID: <empty.1@example.test>"], b""),
    # Only empty and WSP-only lines.
    "blank": ("\r\n", ["Subject: blank body",
                        "Message-ID: <blank.1@example.test>"],
              b"\r\n \r\n\t\r\n\r\n"),
    # No empty line after the header at all: there is no body.
    "nobody": ("\r\n", ["Subject: no body",
                         "Message-ID: <nobody.1@example.test>"], None),
}


def cmd_messages(outdir, which="normal"):
    if which == "edge":
        for name, (eol, extra, body) in EDGE.items():
            head = eol.join(EDGE_HEADERS + extra) + eol
            data = head.encode("ascii")
            if body is not None:
                data += eol.encode("ascii") + body
            with open(os.path.join(outdir, name + ".eml"), "wb") as f:
                f.write(data)
            print(name + ".eml")
        return
    for name, (eol, lines) in MESSAGES.items():
        data = eol.join(lines)
        if lines[-1] != "":
            data += eol
        with open(os.path.join(outdir, name + ".eml"), "wb") as f:
            f.write(data.encode("ascii"))
        print(name + ".eml")


def canon_body(body, how):
    """RFC 6376 body canonicalization of raw body bytes (bare LF taken as
    CRLF, as DESIGN.md says)."""
    body = re.sub(rb"\r?\n", b"\r\n", body)
    if how == "simple":
        # 3.4.3: drop empty lines at the end; no body or no final CRLF:
        # add a CRLF.
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        while body.endswith(b"\r\n\r\n"):
            body = body[:-2]
        return body
    # 3.4.4 a: in every line, WSP runs become one SP and WSP at the end
    # goes.  A last line without CRLF is taken to be a line too (so its
    # trailing WSP goes): the RFC does not say; Mail::DKIM and dkimkit read
    # it so, python3-dkim keeps one SP there and libopendkim adds no CRLF.
    lines = body.split(b"\r\n")
    lines = [re.sub(rb"[ \t]+", b" ", ln).rstrip(b" ") for ln in lines]
    # lines[-1] is what follows the last CRLF: normally empty; otherwise a
    # last line without CRLF, which gets one (3.4.4 b).
    last = lines.pop()
    body = b"".join(ln + b"\r\n" for ln in lines)
    if last:
        body += last + b"\r\n"
    # 3.4.4 b: drop empty lines at the end; an empty body stays empty.
    while body.endswith(b"\r\n\r\n"):
        body = body[:-2]
    if body == b"\r\n":
        body = b""
    return body


def cmd_bh(path, how, alg="sha256"):
    import hashlib
    with open(path, "rb") as f:
        data = f.read()
    m = re.search(rb"\r?\n\r?\n", data)
    body = data[m.end():] if m else b""
    digest = hashlib.new(alg, canon_body(body, how)).digest()
    print(base64.b64encode(digest).decode("ascii"))


def split_message(data):
    """(header block, separator, body) of raw bytes."""
    m = re.search(rb"\r?\n\r?\n", data)
    if m is None:
        return data, b"", b""
    return data[:m.start()], data[m.start():m.end()], data[m.end():]


def cmd_tamper(mode, src, dst):
    with open(src, "rb") as f:
        data = f.read()
    head, sep, body = split_message(data)
    eol = b"\r\n" if b"\r\n" in data else b"\n"
    if mode == "body":
        # Change the case of the first letter of the body: no
        # canonicalization can undo that, and it is inside any l= count.
        m = re.search(rb"[A-Za-z]", body)
        if m is None:
            sys.exit("tamper: no letter in the body of " + src)
        i = m.start()
        body = body[:i] + bytes([body[i] ^ 0x20]) + body[i + 1:]
    elif mode == "subject":
        # Replace the whole Subject field, continuation lines included.
        lines = head.split(b"\n")
        i = next((n for n, ln in enumerate(lines)
                  if ln.lower().startswith(b"subject:")), None)
        if i is None:
            sys.exit("tamper: no Subject field in " + src)
        j = i + 1
        while j < len(lines) and lines[j][:1] in (b" ", b"\t"):
            j += 1
        cr = b"\r" if lines[i].endswith(b"\r") else b""
        lines[i:j] = [b"Subject: Tampered subject" + cr]
        head = b"\n".join(lines)
    elif mode.startswith("swap:"):
        fields = header_fields(head)
        want = mode[5:].lower().encode("ascii") + b":"
        idx = [n for n, fl in enumerate(fields) if fl.lower().startswith(want)]
        if len(idx) < 2:
            sys.exit("tamper: fewer than two %s fields in %s" % (mode[5:], src))
        a, b = idx[0], idx[1]
        fields[a], fields[b] = fields[b], fields[a]
        head = b"\n".join(fields)
    elif mode.startswith("add:"):
        fields = header_fields(head)
        n = 0
        while n < len(fields) and \
                fields[n].lower().startswith(b"dkim-signature:"):
            n += 1
        cr = b"\r" if eol == b"\r\n" else b""
        fields.insert(n, mode[4:].encode("ascii") + cr)
        head = b"\n".join(fields)
    elif mode == "append":
        # Text after the end of the body, i.e. beyond an l= count.
        body = body + b"Appended text that the signer never saw." + eol
    else:
        sys.exit("tamper: unknown mode " + mode)
    with open(dst, "wb") as f:
        f.write(head + sep + body)


def cmd_record(keypath, selector, domain):
    key = PrivateKey(keypath)
    k = "ed25519" if key.kind == "ed25519" else "rsa"
    p = key.public_b64()
    # Split p= into strings of at most 200 characters, as in practice.
    parts = ["v=DKIM1; k=%s; " % k] + \
        ["p=" + p[:198]] + [p[i:i + 200] for i in range(198, len(p), 200)]
    strings = " ".join('"%s"' % s for s in parts if s)
    print("%s._domainkey.%s. 300 IN TXT ( %s )" % (selector, domain, strings))


def cmd_pubkey(keypath):
    print(PrivateKey(keypath).public_b64())


def zone_txt(zonefile, name):
    """The TXT records (each its strings joined) of name in zonefile."""
    import dns.name
    import dns.rdatatype
    import dns.zone
    with open(zonefile, encoding="ascii") as f:
        text = "$TTL 3600\n" + f.read()
    zone = dns.zone.from_text(text, origin=dns.name.root, relativize=False,
                              check_origin=False)
    rds = zone.get_rdataset(dns.name.from_text(name), dns.rdatatype.TXT)
    if rds is None:
        return []
    return [b"".join(rd.strings).decode("ascii") for rd in rds]


def parse_tags(record):
    tags = []
    for part in record.split(";"):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError("tag without '=': %r" % part)
        k, v = part.split("=", 1)
        tags.append((k.strip(), re.sub(r"\s+", "", v)))
    return tags


def cmd_checkzone(zonefile, name, keypath, algo=None):
    """Exit 0 when name's record in zonefile is the DKIM key of keypath."""
    try:
        records = zone_txt(zonefile, name)
    except Exception as e:  # dnspython's syntax errors and the like
        sys.exit("%s: not a valid RFC 1035 zone file: %s" % (zonefile, e))
    if len(records) != 1:
        sys.exit("%s: %d TXT records for %s, want 1" %
                 (zonefile, len(records), name))
    tags = parse_tags(records[0])
    names = [k for k, _ in tags]
    d = dict(tags)
    problems = []
    if len(set(names)) != len(names):
        problems.append("a tag appears twice")
    if names and names[0] != "v":
        problems.append("v= is not the first tag (RFC 6376 3.6.1)")
    if d.get("v") != "DKIM1":
        problems.append("v= is %r, want DKIM1" % d.get("v"))
    key = PrivateKey(keypath)
    want_k = "ed25519" if key.kind == "ed25519" else "rsa"
    if d.get("k", "rsa") != want_k:
        problems.append("k= is %r, want %s" % (d.get("k", "rsa"), want_k))
    if algo and d.get("k", "rsa") != algo:
        problems.append("k= is %r, asked for %s" % (d.get("k"), algo))
    if d.get("p") != key.public_b64():
        problems.append("p= does not match the private key\n  p=%s\n  key=%s"
                        % (d.get("p"), key.public_b64()))
    if problems:
        sys.exit("%s: record %r:\n%s" % (name, records[0],
                                         "\n".join(problems)))
    print("%s %s %d bits" % (name, want_k, key.bits()))


def cmd_endings(path):
    with open(path, "rb") as f:
        data = f.read()
    crlf = data.count(b"\r\n")
    lf = data.count(b"\n") - crlf
    if crlf and lf:
        print("mixed")
    elif crlf:
        print("crlf")
    elif lf:
        print("lf")
    else:
        print("none")


def header_fields(data):
    """The header fields of raw message bytes (or of a header block), each
    with its folded continuation lines, line ends as in the file (the LF
    separators removed)."""
    head, _, _ = split_message(data)
    fields = []
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] += b"\n" + line
        else:
            fields.append(line)
    return fields


def dkim_fields(data):
    return [f for f in header_fields(data)
            if f.lower().startswith(b"dkim-signature:")]


def cmd_sigtag(path, tag, n="0"):
    with open(path, "rb") as f:
        fields = dkim_fields(f.read())
    if len(fields) <= int(n):
        sys.exit("%s: no DKIM-Signature field number %s" % (path, n))
    value = fields[int(n)].split(b":", 1)[1].decode("ascii")
    tags = dict(parse_tags(value))
    if tag not in tags:
        sys.exit("%s: no %s= tag in %s" % (path, tag, value))
    print(tags[tag])


def cmd_unsigned(signed, orig):
    with open(signed, "rb") as f:
        s = f.read().replace(b"\r\n", b"\n")
    with open(orig, "rb") as f:
        o = f.read().replace(b"\r\n", b"\n")
    while dkim_fields(s) and s.lower().startswith(b"dkim-signature:"):
        # Drop the top field and its continuation lines.
        end = re.search(rb"\n(?![ \t])", s)
        s = s[end.end():]
    if s != o:
        sys.exit("%s: not %s with signatures on top" % (signed, orig))


def cmd_jsonget(path, *keys):
    with open(path, encoding="utf-8") as f:
        lines = [ln for ln in f.read().splitlines() if ln.strip()]
    if len(lines) != 1:
        sys.exit("%s: %d JSON lines, want 1" % (path, len(lines)))
    v = json.loads(lines[0])
    for k in keys:
        v = v[int(k)] if isinstance(v, list) else v[k]
    print(v if isinstance(v, str) else json.dumps(v))


RESULTS = {"pass", "fail", "neutral", "policy", "permerror", "temperror",
           "none"}


def cmd_jsonshape(path, n="1"):
    """The --json shape of DESIGN.md: one object per file, one per line."""
    with open(path, encoding="utf-8") as f:
        lines = [ln for ln in f.read().splitlines() if ln.strip()]
    problems = []
    if len(lines) != int(n):
        problems.append("%d lines, want %s" % (len(lines), n))
    for ln in lines:
        try:
            j = json.loads(ln)
        except ValueError as e:
            problems.append("not JSON: %s: %r" % (e, ln))
            continue
        for k in ("file", "result", "signatures", "authentication_results"):
            if k not in j:
                problems.append("no %r in %r" % (k, ln))
        if j.get("result") not in RESULTS:
            problems.append("result %r is not an RFC 8601 word"
                            % j.get("result"))
        if not isinstance(j.get("authentication_results"), str):
            problems.append("authentication_results is not a string")
        sigs = j.get("signatures")
        if not isinstance(sigs, list):
            problems.append("signatures is not a list")
            continue
        for sig in sigs:
            for k in ("d", "s", "i", "a", "result", "reason", "dnssec"):
                if k not in sig:
                    problems.append("signature without %r: %r" % (k, sig))
            if sig.get("result") not in RESULTS:
                problems.append("signature result %r" % sig.get("result"))
        want = "none"
        if sigs:
            want = "pass" if any(s_.get("result") == "pass" for s_ in sigs) \
                else sigs[0].get("result")
        if j.get("result") != want:
            problems.append("result %r, but the signatures make it %r"
                            % (j.get("result"), want))
    if problems:
        sys.exit("%s:\n  %s" % (path, "\n  ".join(problems)))


COMMANDS = {
    "messages": (cmd_messages, 1, 2),
    "bh": (cmd_bh, 2, 3),
    "tamper": (cmd_tamper, 3),
    "record": (cmd_record, 3),
    "pubkey": (cmd_pubkey, 1),
    "checkzone": (cmd_checkzone, 3, 4),
    "endings": (cmd_endings, 1),
    "jsonget": (cmd_jsonget, 1, 99),
    "sigtag": (cmd_sigtag, 2, 3),
    "jsonshape": (cmd_jsonshape, 1, 2),
    "unsigned": (cmd_unsigned, 2),
}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        sys.exit(__doc__)
    fn, lo, *hi = COMMANDS[argv[1]]
    args = argv[2:]
    if not lo <= len(args) <= (hi[0] if hi else lo):
        sys.exit(__doc__)
    fn(*args)


if __name__ == "__main__":
    main(sys.argv)
