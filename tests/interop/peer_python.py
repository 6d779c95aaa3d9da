#!/usr/bin/python3
"""python3-dkim (dkimpy) as an interop peer.

  peer_python.py sign --key KEY --domain D --selector S
      [--algorithm rsa-sha256|ed25519-sha256] [--canon HDR/BODY]
      [--identity I] [--length] [--headers a:b:c] FILE   > signed
  peer_python.py verify --zone ZONEFILE [--sig N] FILE
  peer_python.py arcsign --key KEY --domain D --selector S
      --authserv-id ID --zone ZONEFILE FILE                 > sealed
  peer_python.py arcverify --zone ZONEFILE FILE
  peer_python.py ahseal --key KEY --domain D --selector S
      --authserv-id ID --zone ZONEFILE FILE                 > sealed
  peer_python.py ahverify --zone ZONEFILE FILE

sign writes the message with a DKIM-Signature field on top, in the line
ends of the input.  KEY: PEM (RSA PKCS#1 or PKCS#8, Ed25519 PKCS#8) or a
base64 Ed25519 seed.  verify checks signature N (0: topmost), taking keys
from the zone file (RFC 1035) through dkim.verify's dnsfunc; it prints
pass or fail and exits 0 (pass), 1 (fail: the key was found and the
signature does not verify) or 2 (anything else: no key, bad key, unusable
signature, usage or I/O error); the details are logged on stderr.

arcsign seals FILE with dkim.arc_sign (RFC 8617), the next ARC set on
top; its ARC-Authentication-Results are those of an Authentication-Results
field with authserv-id ID that arcsign adds first from dkim.verify, as a
sealing relay would.  arcverify prints the chain's result (pass, fail or
none) with dkim.arc_verify and exits 0 for pass, 1 otherwise.

ahseal and ahverify do the same through python3-authheaders: its
authenticate_message (dkim and arc, no DMARC) makes the A-R field and
reads the chain, its sign_message(sig='ARC') seals.
"""

import argparse
import logging
import os
import sys
import types

# mailtool sits beside this file; no __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def no_dns(name, timeout=5):
    raise RuntimeError("no DNS here: keys come from the zone file")


# dkim imports dkim.dnsplug, which imports dnspython's resolver and with it
# httpx: most of a second per run, and a path to the real DNS.  Keys always
# come from a zone file here, so put a stub in its place first.
_stub = types.ModuleType("dkim.dnsplug")
_stub.get_txt = no_dns
sys.modules["dkim.dnsplug"] = _stub

import dkim  # noqa: E402  (python3-dkim)
import mailtool  # noqa: E402


def cmd_sign(a):
    with open(a.file, "rb") as f:
        msg = f.read()
    eol = b"\r\n" if b"\r\n" in msg else b"\n"
    key = mailtool.PrivateKey(a.key)
    hdr, body = a.canon.split("/") if "/" in a.canon else (a.canon, "simple")
    headers = None
    d = dkim.DKIM(msg, logger=logging.getLogger("dkim"),
                  signature_algorithm=a.algorithm.encode("ascii"),
                  linesep=eol)
    if a.headers:
        headers = [h.lower().encode("ascii") for h in a.headers.split(":")]
        # dkimpy refuses fields it thinks SHOULD NOT be signed (Received
        # and others) unless the caller says otherwise: an explicit list
        # says otherwise.
        d.should_not_sign -= set(headers)
    sig = d.sign(a.selector.encode("ascii"), a.domain.encode("ascii"),
                 key.dkim_private(),
                 identity=a.identity.encode("ascii") if a.identity else None,
                 canonicalize=(hdr.encode("ascii"), body.encode("ascii")),
                 include_headers=headers, length=a.length)
    if not sig:
        sys.exit("dkim.sign returned nothing")
    if not sig.endswith(eol):
        sig += eol
    sys.stdout.buffer.write(sig + msg)


def cmd_verify(a):
    try:
        with open(a.file, "rb") as f:
            msg = f.read()
    except OSError as e:
        print(e, file=sys.stderr)
        return 2

    found = []

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        records = mailtool.zone_txt(a.zone, name)
        found.extend(records)
        logging.getLogger("dkim").debug("zone %s: %s -> %r", a.zone, name,
                                        records)
        return records[0].encode("ascii") if records else None

    d = dkim.DKIM(msg, logger=logging.getLogger("dkim"), minkey=1024)
    try:
        ok = d.verify(idx=a.sig, dnsfunc=dnsfunc)
    except dkim.DKIMException as e:
        # dkimpy raises for a body hash mismatch: a failure all the same.
        print("verify: %s" % e, file=sys.stderr)
        if found and "body hash mismatch" in str(e):
            print("fail")
            return 1
        print("error")
        return 2
    if not ok and not found:
        print("verify: no key record found", file=sys.stderr)
        print("error")
        return 2
    print("pass" if ok else "fail")
    return 0 if ok else 1


def zone_dnsfunc(zone):
    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode("ascii")
        records = mailtool.zone_txt(zone, name)
        return records[0].encode("ascii") if records else None
    return dnsfunc


def cmd_arcsign(a):
    with open(a.file, "rb") as f:
        msg = f.read()
    eol = b"\r\n" if b"\r\n" in msg else b"\n"
    dnsfunc = zone_dnsfunc(a.zone)
    ok = None
    if b"dkim-signature:" in msg.lower():
        try:
            ok = dkim.DKIM(msg, minkey=1024).verify(dnsfunc=dnsfunc)
        except dkim.DKIMException:
            ok = False      # dkimpy raises for a body hash mismatch
    res = "none" if ok is None else ("pass" if ok else "fail")
    ar = ("Authentication-Results: %s; dkim=%s" % (a.authserv_id, res))
    cv, _, _ = dkim.arc_verify(msg, dnsfunc=dnsfunc, minkey=1024)
    # arc_sign takes cv= from the arc result of the A-R field; none is
    # said by leaving it out.  None is dkimpy's word for a chain whose
    # latest seal says cv=fail: RFC 8617 5.1 adds nothing to it.
    if cv is None:
        sys.exit("the chain already failed (cv=fail): no seal")
    if cv != dkim.CV_None:
        ar += "; arc=%s" % cv.decode("ascii").lower()
    msg = ar.encode("ascii") + eol + msg
    key = mailtool.PrivateKey(a.key)
    fields = dkim.arc_sign(msg, a.selector.encode("ascii"),
                           a.domain.encode("ascii"), key.dkim_private(),
                           a.authserv_id.encode("ascii"), linesep=eol)
    if not fields:
        sys.exit("dkim.arc_sign returned nothing")
    out = b"".join(f if f.endswith(eol) else f.rstrip(b"\r\n") + eol
                   for f in fields)
    # The A-R field was only arc_sign's input: the sealed message is the
    # new set on top of the message as it came.
    sys.stdout.buffer.write(out + msg[len(ar) + len(eol):])


def cmd_arcverify(a):
    with open(a.file, "rb") as f:
        msg = f.read()
    cv, results, why = dkim.arc_verify(msg, dnsfunc=zone_dnsfunc(a.zone),
                                       minkey=1024)
    # None: dkimpy's "chain terminated", a latest seal with cv=fail,
    # which RFC 8617 5.2 step 3 calls fail.
    print("fail" if cv is None else cv.decode("ascii").lower())
    print("arcverify: %s" % why, file=sys.stderr)
    return 0 if cv == dkim.CV_Pass else 1


def ah_results(msg, authserv_id, zone):
    import authheaders  # python3-authheaders, only for ah* commands
    return authheaders.authenticate_message(
        msg, authserv_id, dkim=True, arc=True, dmarc=False,
        dnsfunc=zone_dnsfunc(zone))


def cmd_ahseal(a):
    import authheaders
    with open(a.file, "rb") as f:
        msg = f.read()
    eol = b"\r\n" if b"\r\n" in msg else b"\n"
    ar = ah_results(msg, a.authserv_id, a.zone).encode("ascii")
    msg = ar + eol + msg
    key = mailtool.PrivateKey(a.key)
    fields = authheaders.sign_message(
        msg, a.selector.encode("ascii"), a.domain.encode("ascii"),
        key.dkim_private(), [b"from", b"to", b"subject", b"date",
                             b"message-id"], sig="ARC",
        srv_id=a.authserv_id.encode("ascii"))
    if not fields:
        sys.exit("authheaders.sign_message returned nothing")
    if isinstance(fields, bytes):
        fields = [fields]
    out = b"".join(f.rstrip(b"\r\n") + eol for f in fields)
    sys.stdout.buffer.write(out + msg[len(ar) + len(eol):])


def cmd_ahverify(a):
    import authres
    with open(a.file, "rb") as f:
        msg = f.read()
    ar = ah_results(msg, "peer.example", a.zone)
    print("authheaders: %s" % ar, file=sys.stderr)
    arc = [r for r in authres.AuthenticationResultsHeader.parse(ar).results
           if r.method == "arc"]
    cv = arc[0].result.lower() if arc else "none"
    print(cv)
    return 0 if cv == "pass" else 1


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sign")
    s.add_argument("--key", required=True)
    s.add_argument("--domain", required=True)
    s.add_argument("--selector", required=True)
    s.add_argument("--algorithm", default="rsa-sha256",
                   choices=["rsa-sha256", "ed25519-sha256", "rsa-sha1"])
    s.add_argument("--canon", default="relaxed/simple")
    s.add_argument("--identity")
    s.add_argument("--length", action="store_true")
    s.add_argument("--headers")
    s.add_argument("file")
    v = sub.add_parser("verify")
    v.add_argument("--zone", required=True)
    v.add_argument("--sig", type=int, default=0)
    v.add_argument("file")
    s = sub.add_parser("arcsign")
    s.add_argument("--key", required=True)
    s.add_argument("--domain", required=True)
    s.add_argument("--selector", required=True)
    s.add_argument("--authserv-id", required=True)
    s.add_argument("--zone", required=True)
    s.add_argument("file")
    v = sub.add_parser("arcverify")
    v.add_argument("--zone", required=True)
    v.add_argument("file")
    for name in ("ahseal",):
        s = sub.add_parser(name)
        s.add_argument("--key", required=True)
        s.add_argument("--domain", required=True)
        s.add_argument("--selector", required=True)
        s.add_argument("--authserv-id", required=True)
        s.add_argument("--zone", required=True)
        s.add_argument("file")
    v = sub.add_parser("ahverify")
    v.add_argument("--zone", required=True)
    v.add_argument("file")
    a = p.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG,
                        format="dkimpy: %(message)s")
    if a.cmd == "sign":
        cmd_sign(a)
        return 0
    if a.cmd == "arcsign":
        cmd_arcsign(a)
        return 0
    if a.cmd == "arcverify":
        return cmd_arcverify(a)
    if a.cmd == "ahseal":
        cmd_ahseal(a)
        return 0
    if a.cmd == "ahverify":
        return cmd_ahverify(a)
    return cmd_verify(a)


if __name__ == "__main__":
    sys.exit(main())
