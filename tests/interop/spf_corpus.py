#!/usr/bin/python3
"""tests/interop/spf_corpus.py: a generated corpus of SPF records for
tests/interop/spf-peers.sh, and python3-spf (pyspf) as the peer.

  spf_corpus.py make DIR [SEED]   write DIR/corpus.zone and DIR/cases.tsv
  spf_corpus.py peer DIR          pyspf's result for every case, one per line
  spf_corpus.py compare DIR       dkimkit's (DIR/dkimkit.out) against them
  spf_corpus.py libspf2 DIR       dkimkit's against libspf2's spfquery
                                  (DIR/libspf2.out, from spf-peers.sh)

pyspf does not read zone files; its DNSLookup() is replaced by one that
answers from the same zone file dkimkit reads (--zone), so both see the
same records.  cases.tsv: id, client ip, MAIL FROM (or "-" for the null
reverse-path), HELO name.
"""
import random
import sys

ZONE = "corpus.test"

# Terms that query DNS or not, valid and (rarely) invalid.
GOOD_TERMS = [
    "all", "ip4:192.0.2.0/24", "ip4:192.0.2.5", "ip4:198.51.100.0/25",
    "ip6:2001:db8::/32", "ip6:2001:db8:1::1", "a", "a:h1.%s" % ZONE,
    "a:h2.%s/24" % ZONE, "a:h3.%s//64" % ZONE, "a/30", "mx",
    "mx:m1.%s" % ZONE, "mx/28", "mx:m2.%s//48" % ZONE, "ptr",
    "ptr:%s" % ZONE, "ptr:other.test", "exists:%%{ir}.bl.%s" % ZONE,
    "exists:%%{l}.users.%s" % ZONE, "exists:%%{d2}.bl.%s" % ZONE,
    "include:i1.%s" % ZONE, "include:i2.%s" % ZONE,
    "include:i3.%s" % ZONE, "include:nx.%s" % ZONE,
    "a:nx1.%s" % ZONE, "mx:nx2.%s" % ZONE, "exists:nx3.%s" % ZONE,
    "a:%%{l1r+-}.users.%s" % ZONE, "exists:%%{i}.%%{v}.%s" % ZONE,
    "a:cn.%s" % ZONE, "include:%{o}", "x-unknown=%{d}",
]
BAD_TERMS = [
    "ip4:192.0.2.300", "a:foo.123", "bogus", "a:%{z}.x.test", "a/33",
    "ip6:2001:db8::/129", "exists", "include:", "ip4:192.0.2.1//24",
]
QUALS = ["", "", "", "+", "-", "~", "?"]
CLIENTS = ["192.0.2.5", "192.0.2.10", "192.0.2.65", "192.0.2.129",
           "198.51.100.7", "203.0.113.9", "2001:db8::1", "2001:db8:1::1",
           "2001:db8:ff::5", "2001:db9::1", "192.0.2.200"]
USERS = ["joe", "ok", "bad+tag", "-"]

BASE = """\
h1.{z}. 300 IN A 192.0.2.10
h2.{z}. 300 IN A 198.51.100.100
h3.{z}. 300 IN AAAA 2001:db8:1::99
h3.{z}. 300 IN A 192.0.2.129
m1.{z}. 300 IN MX 10 h1.{z}.
m1.{z}. 300 IN MX 20 h3.{z}.
m2.{z}. 300 IN MX 5 h3.{z}.
cn.{z}. 300 IN CNAME h1.{z}.
65.2.0.192.in-addr.arpa. 300 IN PTR h4.{z}.
65.2.0.192.in-addr.arpa. 300 IN PTR mail.other.test.
h4.{z}. 300 IN A 192.0.2.65
mail.other.test. 300 IN A 192.0.2.65
10.2.0.192.in-addr.arpa. 300 IN PTR h1.{z}.
9.113.0.203.in-addr.arpa. 300 IN PTR h1.{z}.
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR h5.{z}.
h5.{z}. 300 IN AAAA 2001:db8::1
5.2.0.192.bl.{z}. 300 IN A 127.0.0.2
ok.users.{z}. 300 IN A 192.0.2.200
bad.users.{z}. 300 IN A 203.0.113.9
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.{z}. 300 IN A 127.0.0.2
192.0.2.200.in-addr.{z}. 300 IN A 127.0.0.2
i1.{z}. 300 IN TXT "v=spf1 ip4:203.0.113.0/24 -all"
i2.{z}. 300 IN TXT "v=spf1 a:h1.{z} ?all"
i3.{z}. 300 IN TXT "v=spf1 include:i1.{z} ~all"
exp.{z}. 300 IN TXT "%{{i}} is not allowed to send for %{{d}} (%{{l}})"
two.{z}. 300 IN TXT "v=spf1 +all"
two.{z}. 300 IN TXT "v=spf1 -all"
none.{z}. 300 IN TXT "not spf"
"""


def record(rnd, i):
    terms = []
    for _ in range(rnd.randint(1, 6)):
        if rnd.random() < 0.06:
            terms.append(rnd.choice(BAD_TERMS))
            continue
        t = rnd.choice(GOOD_TERMS)
        if "=" not in t:
            t = rnd.choice(QUALS) + t
        terms.append(t)
    if rnd.random() < 0.5:
        terms.append(rnd.choice(["-all", "~all", "?all"]))
    elif rnd.random() < 0.5:
        terms.append("redirect=d%d.%s" % (rnd.randrange(0, 60), ZONE))
    if rnd.random() < 0.4:
        terms.append("exp=exp.%s" % ZONE)
    return "v=spf1 " + " ".join(terms)


def make(out, seed):
    rnd = random.Random(seed)
    ndom = 60
    with open(out + "/corpus.zone", "w") as z:
        z.write(BASE.format(z=ZONE))
        for i in range(ndom):
            z.write('d%d.%s. 300 IN TXT "%s"\n' % (i, ZONE, record(rnd, i)))
            if rnd.random() < 0.5:
                z.write("d%d.%s. 300 IN A 192.0.2.%d\n" %
                        (i, ZONE, rnd.choice([5, 10, 129, 65])))
            if rnd.random() < 0.3:
                z.write("d%d.%s. 300 IN MX 10 h%d.%s.\n" %
                        (i, ZONE, rnd.randint(1, 5), ZONE))
    n = 0
    with open(out + "/cases.tsv", "w") as c:
        doms = ["d%d" % i for i in range(ndom)] + ["two", "none", "nx", "i3"]
        for d in doms:
            for ip in rnd.sample(CLIENTS, 4):
                user = rnd.choice(USERS)
                frm = "-" if user == "-" else "%s@%s.%s" % (user, d, ZONE)
                helo = "%s.%s" % (d, ZONE)
                n += 1
                c.write("%d\t%s\t%s\t%s\n" % (n, ip, frm, helo))


def load_zone(path):
    """The zone as {(name, TYPE): [data]} in DNSLookup's spelling."""
    zone = {}
    names = set()
    for line in open(path):
        f = line.split(None, 4)
        if len(f) < 5:
            continue
        name, typ, rdata = f[0].lower().rstrip("."), f[3], f[4].strip()
        if typ == "TXT":
            data = [rdata[1:-1].encode()]
        elif typ == "MX":
            pref, exch = rdata.split()
            data = (int(pref), exch.rstrip("."))
        elif typ in ("PTR", "CNAME"):
            data = rdata.rstrip(".")
        else:
            data = rdata
        zone.setdefault((name, typ), []).append(data)
        labels = name.split(".")
        for k in range(len(labels)):
            names.add(".".join(labels[k:]))
    return zone, names


def peer(out):
    """Print id, result, explanation, and the result again with CNAMEs
    resolved before pyspf sees them (spf-peers.sh, J1)."""
    import spf
    zone, names = load_zone(out + "/corpus.zone")

    def raw(name, qtype, strict=True, timeout=20):
        name = name.lower().rstrip(".")
        if (name, "CNAME") in zone:
            return [((name, "CNAME"), zone[(name, "CNAME")][0])]
        return [((name, qtype), d) for d in zone.get((name, qtype), [])]

    def flat(name, qtype, strict=True, timeout=20):
        name = name.lower().rstrip(".")
        target = name
        for _ in range(8):
            if (target, "CNAME") not in zone:
                break
            target = zone[(target, "CNAME")][0].lower()
        return [((name, qtype), d) for d in zone.get((target, qtype), [])]

    for line in open(out + "/cases.tsv"):
        n, ip, frm, helo = line.rstrip("\n").split("\t")
        got = []
        for lookup in (raw, flat):
            spf.DNSLookup = lookup
            got.append(spf.check2(i=ip, s="" if frm == "-" else frm,
                                  h=helo, receiver="mx.test", querytime=0))
        print("%s\t%s\t%s\t%s" % (n, got[0][0], got[0][1], got[1][0]))


def records(out):
    txt = {}
    for line in open(out + "/corpus.zone"):
        f = line.split(None, 4)
        if len(f) == 5 and f[3] == "TXT":
            txt.setdefault(f[0].rstrip(".").lower(), []).append(
                f[4].strip()[1:-1])
    return txt


def chain(txt, domain):
    """The records reachable from domain by include and redirect."""
    seen, todo = set(), [domain]
    while todo:
        d = todo.pop()
        if d in seen:
            continue
        seen.add(d)
        for r in txt.get(d, []):
            for t in r.split()[1:]:
                for k in ("include:", "redirect="):
                    i = t.find(k)
                    if i >= 0 and "%" not in t:
                        todo.append(t[i + len(k):].lower())
    return [r for d in sorted(seen) for r in txt.get(d, [])]


def justify(dk, py, flat, recs):
    """Why RFC 7208 lets dkimkit and pyspf differ here, or None.

    J1, RFC 7208 4.6.4: a void lookup is a DNS query that finds nothing.
    pyspf counts one twice when the name is a CNAME (once for the CNAME's
    target, once for the name), so its void limit comes one query early;
    fed the same answers with the CNAMEs resolved, as a recursive resolver
    hands them over, it agrees with dkimkit.

    J2, RFC 7208 4.6.4 and 6.1: the limit counts the terms that query DNS
    "during SPF evaluation", and redirect= is evaluated only when no
    mechanism matched.  pyspf counts a redirect= of a record whose
    mechanism matched; dkimkit stops at the match.

    J3, RFC 7208 4.6 and 4.6.2: only a syntax error spoils a record
    before evaluation, and the first matching mechanism decides.  pyspf
    refuses a record with an include: naming its own domain ("trivial
    recursion") when it parses it, even when a mechanism before it
    matches; dkimkit evaluates such an include only if it is reached, and
    then ends it at the 10-lookup limit (4.6.4).

    J4, RFC 7208 6: "Unrecognized modifiers MUST be ignored no matter
    where, or how often, they appear in a record"; only redirect= and exp=
    may not appear twice.  pyspf refuses any modifier given twice.

    J5, RFC 7208 4.6.4 limits the "terms" whose DNS queries find nothing:
    dkimkit counts the query each term makes for its own target (a, mx,
    ptr, exists); the address lookups of the names an MX or PTR answer
    gives are bounded by the limit of 10 names instead.  pyspf counts those too, so an IPv6 client
    of a domain whose MX hosts have only A records reaches its void limit
    where dkimkit does not.
    """
    if "Void lookup limit" in py[1] and flat == dk["result"]:
        return "J1 (pyspf counts a void CNAME twice, RFC 7208 4.6.4)"
    if ("Too many DNS lookups" in py[1] and " matched " in dk["reason"]
            and any("redirect=" in r for r in recs)):
        return "J2 (pyspf counts a redirect= never evaluated, " \
            "RFC 7208 4.6.4, 6.1)"
    if "MUST appear at most once" in py[1] and not any(
            k in py[1] for k in ("redirect=", "exp=")):
        return "J4 (pyspf refuses a repeated unknown modifier, RFC 7208 6)"
    if "Void lookup limit" in py[1] and any(
            t.lstrip("+-~?").split(":")[0].split("/")[0].lower()
            in ("mx", "ptr") for r in recs for t in r.split()):
        return "J5 (pyspf counts the address lookups of MX and PTR " \
            "names as void, RFC 7208 4.6.4)"
    if "trivial recursion" in py[1] and " matched " in dk["reason"]:
        return "J3 (pyspf refuses a self-include never reached, " \
            "RFC 7208 4.6, 4.6.2)"
    return None


def dkimkit_cases(out):
    """(id, dkimkit's JSON, [ip, from, helo]) for every case that
    spf-peers.sh ran dkimkit on (DIR/dkimkit.out, DIR/cases.tsv)."""
    import json
    cases = {}
    for line in open(out + "/cases.tsv"):
        f = line.rstrip("\n").split("\t")
        cases[f[0]] = f[1:]
    for line in open(out + "/dkimkit.out"):
        n, j = line.rstrip("\n").split("\t", 1)
        yield n, json.loads(j), cases[n]


def compare(out):
    """One line per case: ok, justified or differ, a tab, the case."""
    py = {}
    for line in open(out + "/pyspf.out"):
        n, res, exp, flat = line.rstrip("\n").split("\t")
        py[n] = (res, exp, flat)
    txt = records(out)
    for n, dk, (ip, frm, helo) in dkimkit_cases(out):
        p = py[n]
        what = "case %s: %s from %s: dkimkit %s, pyspf %s" % (
            n, ip, frm, dk["result"], p[0])
        # RFC 7208 7.4 writes %{i}'s IPv6 nibbles in lowercase, pyspf
        # in uppercase: explanations compare without case.
        same = dk["result"] == p[0] and (
            dk["explanation"] is None or
            dk["explanation"].lower() == p[1].lower())
        if same:
            print("ok\t%s" % what)
            continue
        why = justify(dk, p, p[2], chain(txt, dk["domain"].lower()))
        detail = "%s [dkimkit: %s] [pyspf: %s] %s" % (
            what, dk["reason"], p[1], chain(txt, dk["domain"].lower()))
        print("%s\t%s" % ("justified" if why else "differ",
                           detail + (" -- " + why if why else "")))


def justify_libspf2(dk, res, exp, err, recs):
    """Why RFC 7208 says dkimkit is right where libspf2 1.2.10's spfquery
    differs, or None.  libspf2 implements RFC 4408; each of these is
    where RFC 7208 (or DNS itself) gives dkimkit's answer.

    L1, RFC 7208 4.6: "If there are any syntax errors anywhere in the
    record, check_host() returns immediately with the result
    "permerror"".  spfquery prints "(invalid)" for a record libspf2 could
    not compile: the same verdict under another name.

    L2, RFC 7208 4.6.4: void lookups (a query answered with no records
    or NXDOMAIN) beyond 2 SHOULD make permerror; RFC 4408 had no such
    limit and libspf2 goes on evaluating.

    L3, RFC 7208 7.1: domain-end is "." toplabel, and toplabel is
    alphanumeric with at least one letter; "a:foo.123" is a syntax error
    (permerror, 4.6) that libspf2 does not check.

    L4, RFC 7208 5.2 and 4.6.1: include takes a domain-spec, which may
    not be empty; "include:" is a syntax error (permerror, 4.6).
    libspf2 skips the term.

    L5, RFC 7208 5.3 (and RFC 1034 3.6.2): "a:NAME" matches the
    addresses of NAME, a CNAME's target's included, as a resolver hands
    them over.  Here libspf2 never matches a:cn.corpus.test (a CNAME of
    h1.corpus.test) for h1's address, and goes on to later terms.

    L6, RFC 7208 6.2 and 7.1: the exp= text is an explain-string, words
    and spaces; libspf2 1.2.10 writes "%" for each space and stops
    expanding macros after the first one.
    """
    reason = dk["reason"]
    if res == "(invalid)" and dk["result"] == "permerror" and \
            "Failed to compile" in err:
        return "L1 (spfquery's \"(invalid)\" is permerror, RFC 7208 4.6)"
    if dk["result"] == "permerror" and "void DNS lookups" in reason:
        return "L2 (libspf2 has no void lookup limit, RFC 7208 4.6.4)"
    if dk["result"] == "permerror" and "bad top label" in reason:
        return "L3 (a numeric top label is a syntax error, RFC 7208 7.1)"
    if dk["result"] == "permerror" and "empty domain" in reason and \
            any(t.lstrip("+-~?") == "include:" for r in recs
                for t in r.split()):
        return "L4 (\"include:\" with no domain is a syntax error, " \
            "RFC 7208 5.2, 4.6.1)"
    if " matched " in reason and "a:cn.%s" % ZONE in reason:
        return "L5 (libspf2 does not follow the CNAME of an a: target, " \
            "RFC 7208 5.3)"
    if res == dk["result"] == "fail" and "%" in exp and \
            exp.split("%")[0] == (dk["explanation"] or "").split(" ")[0]:
        return "L6 (libspf2 writes % for the spaces of the exp= text, " \
            "RFC 7208 6.2, 7.1)"
    return None


def compare_libspf2(out):
    """One line per case, as compare(), against DIR/libspf2.out: id,
    result, explanation (the first line of spfquery's SMTP comment
    before " : Reason:"), libspf2's error lines."""
    lib = {}
    for line in open(out + "/libspf2.out"):
        n, res, exp, err = (line.rstrip("\n").split("\t") + [""] * 3)[:4]
        lib[n] = (res, exp, err)
    txt = records(out)
    for n, dk, (ip, frm, helo) in dkimkit_cases(out):
        res, exp, err = lib.get(n, ("(missing)", "", ""))
        what = "libspf2 case %s: %s from %s: dkimkit %s, libspf2 %s" % (
            n, ip, frm, dk["result"], res)
        # Without exp=, spfquery's comment is its own "Please see ..."
        # text: only an explanation dkimkit has is compared.
        same = dk["result"] == res and (
            dk["explanation"] is None or dk["result"] != "fail" or
            dk["explanation"].lower() == exp.lower())
        if same:
            print("ok\t%s" % what)
            continue
        recs = chain(txt, dk["domain"].lower())
        why = justify_libspf2(dk, res, exp, err, recs)
        detail = "%s [dkimkit: %s] [libspf2: %s %s] %s" % (
            what, dk["reason"], exp, err, recs)
        print("%s\t%s" % ("justified" if why else "differ",
                           detail + (" -- " + why if why else "")))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 7208)
    elif sys.argv[1] == "peer":
        peer(sys.argv[2])
    elif sys.argv[1] == "libspf2":
        compare_libspf2(sys.argv[2])
    else:
        compare(sys.argv[2])
