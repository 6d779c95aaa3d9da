#!/usr/bin/env python3
"""DMARC corpus for tests/interop/dmarc-peers.sh, RFC 7489 mode.

  dmarc_corpus.py make DIR          corpus.zone and cases.tsv in DIR
  dmarc_corpus.py peer DIR PORT     authheaders' verdicts -> stdout
  dmarc_corpus.py compare DIR       one "ok|justified|differ<TAB>what" line
                                    per case from dkimkit.out, authheaders.out
                                    and maildmarc.out

A case is an Author Domain, the d= of one passing DKIM signature (or -)
and the domain of a passing MAIL FROM SPF check (or -).  The verdict of
each implementation is "RESULT DISPOSITION".  Where RFC 7489 lets the
answers differ, or a peer is wrong, justify() says why with the RFC
section; the case then counts as passing with that reason.
"""
import json
import sys

# Every From domain, its DMARC records (at its own _dmarc name), and
# whether it exists (an A record).  Organizational Domains by the Public
# Suffix List: example.com, strict.net, example.org, foo.co.uk, ...
RECORDS = {
    "example.com": ["v=DMARC1; p=reject; sp=quarantine"],
    "strict.net": ["v=DMARC1; p=reject; adkim=s; aspf=s"],
    "own.example.org": ["v=DMARC1; p=quarantine"],
    "example.org": ["v=DMARC1; p=none; sp=reject"],
    "foo.co.uk": ["v=DMARC1; p=reject"],
    "two.example.net": ["v=DMARC1; p=reject", "v=DMARC1; p=none"],
    "bad.example.net": ["v=DMARC1; p=bogus"],
    "badrua.example.net": ["v=DMARC1; p=bogus; rua=mailto:r@example.net"],
    "nop.example.net": ["v=DMARC1; sp=reject"],
    "dkimonly.org": ["v=DMARC1; p=reject; aspf=s"],
    "notdmarc.org": ["v=spf1 -all", "v=DMARC10; p=reject"],
}
FROMS = [
    "example.com", "a.example.com", "b.a.example.com", "strict.net",
    "sub.strict.net", "own.example.org", "x.own.example.org",
    "example.org", "y.example.org", "foo.co.uk", "x.foo.co.uk",
    "two.example.net", "bad.example.net", "badrua.example.net",
    "nop.example.net", "dkimonly.org", "notdmarc.org",
    "none.net",
]


def org(d):
    """The Organizational Domain, for the corpus' own names only."""
    labels = d.split(".")
    if d.endswith(".co.uk"):
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def identifiers(frm):
    """DKIM d= / SPF domains to try with frm: none, itself, its
    Organizational Domain, a sibling, a subdomain, an outsider."""
    o = org(frm)
    out = ["-", frm, o, "mail." + o, "deep.mail." + frm, "evil.org"]
    seen = []
    for d in out:
        if d not in seen:
            seen.append(d)
    return seen


def make(dirname):
    names = set(FROMS)
    cases = []
    for frm in FROMS:
        ids = identifiers(frm)
        for i, dkim in enumerate(ids):
            spf = ids[(i + 1) % len(ids)] if i % 2 else ids[i]
            cases.append((frm, dkim, spf))
            cases.append((frm, dkim, "-"))
        names.update(ids)
    names.discard("-")
    seen = set()
    uniq = []
    for c in cases:
        if c not in seen:
            seen.add(c)
            uniq.append(c)
    with open(dirname + "/corpus.zone", "w") as z:
        for n in sorted(names):
            z.write('%s. 300 IN A 192.0.2.80\n' % n)
            z.write('%s. 300 IN TXT "v=spf1 ip4:192.0.2.1 -all"\n' % n)
        for n, recs in sorted(RECORDS.items()):
            for r in recs:
                z.write('_dmarc.%s. 300 IN TXT "%s"\n' % (n, r))
    with open(dirname + "/cases.tsv", "w") as f:
        for k, (frm, dkim, spf) in enumerate(uniq, 1):
            f.write("%d\t%s\t%s\t%s\n" % (k, frm, dkim, spf))
    with open(dirname + "/signers.txt", "w") as f:
        for d in sorted({c[1] for c in uniq if c[1] != "-"}):
            f.write(d + "\n")


def read_cases(dirname):
    with open(dirname + "/cases.tsv") as f:
        return [line.rstrip("\n").split("\t") for line in f]


def peer(dirname, port):
    import dns.resolver
    import authheaders
    from authres import SPFAuthenticationResult, DKIMAuthenticationResult

    r = dns.resolver.Resolver(configure=False)
    r.nameservers = ["127.0.0.1"]
    r.port = int(port)
    dns.resolver.default_resolver = r
    for n, frm, dkim, spf in read_cases(dirname):
        s = d = None
        if spf != "-":
            s = SPFAuthenticationResult(result="pass",
                                        smtp_mailfrom="bounce@" + spf)
        if dkim != "-":
            d = DKIMAuthenticationResult(result="pass", header_d=dkim)
        res, _, _, policy = authheaders.dmarc_per_from(frm, s, d)
        disp = policy if res == "fail" and policy else "none"
        print("%s\t%s %s" % (n, res, disp))


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            n, v = line.rstrip("\n").split("\t", 1)
            out[n] = v
    return out


def dkimkit_verdict(line):
    j = json.loads(line)
    d = j["dmarc"]
    return "%s %s" % (d["result"], d["disposition"])


def justify(frm, peer, ours, theirs):
    """Why a difference is the RFC's answer, or None."""
    recs = RECORDS.get(frm, [])
    if frm == "bad.example.net" and ours == "permerror none":
        # RFC 7489 6.6.3 step 6: no valid p and no valid rua, "take no
        # action"; 11.2 registers permerror for "a syntactically
        # incorrect DMARC record".  authheaders says none, Mail::DMARC
        # leaves its default "fail" with no disposition.
        return "RFC 7489 6.6.3 step 6 and 11.2: a bad p= is permerror"
    if frm == "nop.example.net" and ours == "permerror none":
        # RFC 7489 6.3: p is REQUIRED; 6.6.3 step 6 as above.
        return "RFC 7489 6.3, 6.6.3 step 6: no p= and no rua= is permerror"
    if frm == "two.example.net" and ours == "none none" and \
            theirs == "fail none":
        # RFC 7489 6.6.3 step 5: several records, "DMARC processing is
        # not applied": none (11.2).  Mail::DMARC keeps its default
        # "fail", with disposition none.
        return "RFC 7489 6.6.3 step 5: several records, no DMARC"
    if frm == "badrua.example.net" and ours.endswith(" none") and \
            (theirs.startswith("fail") or theirs.endswith(" bogus")):
        # RFC 7489 6.6.3 step 6A: a bad p= with a valid rua= is a
        # record with p=none, and alignment is evaluated as usual.
        # authheaders hands the bad value on as the policy; Mail::DMARC's
        # record parser refuses it before step 6 and says fail.
        return "RFC 7489 6.6.3 step 6A: bad p= with a valid rua= is p=none"
    if frm == "notdmarc.org" and ours == "none none":
        # RFC 7489 6.4: dmarc-version is "v=DMARC1" and nothing more;
        # 6.6.3 step 2 discards other records.  Both peers compare only
        # a prefix, and read "v=DMARC10; p=reject" as DMARC.
        return "RFC 7489 6.4, 6.6.3 step 2: v=DMARC10 is not DMARC1"
    if peer == "authheaders" and frm == org(frm) and recs and \
            "sp=" in recs[0] and ours.startswith("fail") and \
            theirs.startswith("fail"):
        # RFC 7489 6.3: sp= is "for all subdomains of the given
        # domain", p= for the domain itself.  authheaders applies sp=
        # to the Organizational Domain too.
        return "RFC 7489 6.3: sp= is not the Organizational Domain's"
    return None


def compare(dirname):
    ours = {}
    with open(dirname + "/dkimkit.out") as f:
        for line in f:
            n, j = line.rstrip("\n").split("\t", 1)
            ours[n] = dkimkit_verdict(j)
    peers = {"authheaders": load(dirname + "/authheaders.out"),
             "maildmarc": load(dirname + "/maildmarc.out")}
    for n, frm, dkim, spf in read_cases(dirname):
        what = "case %s: From %s, dkim %s, spf %s: dkimkit %s" % (
            n, frm, dkim, spf, ours.get(n))
        verdict = "ok"
        notes = []
        for p, v in peers.items():
            theirs = v.get(n)
            if theirs == ours.get(n):
                continue
            why = justify(frm, p, ours.get(n), theirs)
            if why is None:
                verdict = "differ"
                notes.append("%s %s" % (p, theirs))
            else:
                if verdict == "ok":
                    verdict = "justified"
                notes.append("%s %s (%s)" % (p, theirs, why))
        print("%s\t%s%s" % (verdict, what,
                            "; " + "; ".join(notes) if notes else ""))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "peer":
        peer(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "compare":
        compare(sys.argv[2])
    else:
        sys.exit("usage: dmarc_corpus.py make|peer|compare DIR [PORT]")
