#!/bin/bash
# The Authentication-Results field dkimkit writes parses back (with
# python3-authres, an independent RFC 8601 parser) to the same verdicts
# and properties, for pass, fail, permerror, none and ADSP, with values
# that need quoting.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3
"$PY" -c 'import authres' 2>/dev/null || skip_all "python3-authres is not installed"

"$DKIMKIT" keygen --algorithm ed25519 --domain example.test --selector ed \
    --out ed.pem > zone || bail_out "keygen"
"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain example.test \
    --selector rsa --out rsa.pem >> zone || bail_out "keygen"
printf 'From: "Q, Joe" <joe@example.test>\nSubject: x\n\nhi\n' > m.eml
"$DKIMKIT" sign --key ed.pem --domain example.test --selector ed \
    --identity 'joe.q@mail.example.test' m.eml > one.eml
"$DKIMKIT" sign --key rsa.pem --domain example.test --selector rsa \
    one.eml > two.eml
sed 's/^hi/ho/' two.eml > bad.eml
printf 'DKIM-Signature: v=1; a=rsa-sha256; d=example.test\nFrom: a@example.test\n\nx\n' > perm.eml

# parse FILE EXPECTED: verify FILE with ADSP and compare the parsed A-R
# (authserv-id, then method=result and properties per resinfo).
parse()
{
	"$DKIMKIT" verify --zone zone --adsp --authserv-id "mx.example.net" \
	    --json "$1" > out.json
	"$PY" - "$2" <<'PYEOF'
import authres, json, sys
j = json.loads(open("out.json").readline())
b = [s["result"] for s in j["signatures"]]
h = authres.AuthenticationResultsHeader.parse(
    "Authentication-Results: " + j["authentication_results"])
got = [h.authserv_id] + [
    "%s=%s %s" % (r.method, r.result,
                  " ".join("%s.%s=%s" % (p.type, p.name, p.value)
                           for p in r.properties))
    for r in h.results]
got = " | ".join(x.strip() for x in got)
want = sys.argv[1]
if got != want:
    print("# want: " + want + "\n# got:  " + got, file=sys.stderr)
    sys.exit(1)
PYEOF
}

pass_ed="dkim=pass header.d=example.test header.i=joe.q@mail.example.test header.s=ed header.a=ed25519-sha256"
pass_rsa="dkim=pass header.d=example.test header.i=@example.test header.s=rsa header.a=rsa-sha256"
b_rsa=$(grep -A6 '^DKIM-Signature: .*rsa-sha256' two.eml | tr -d '\r\n\t ' | sed 's/.*;b=//' | cut -c1-8)
b_ed=$(grep -A6 '^DKIM-Signature: .*ed25519' two.eml | tr -d '\r\n\t ' | sed 's/.*;b=//' | cut -c1-8)
parse two.eml "mx.example.net | $pass_rsa header.b=$b_rsa | $pass_ed header.b=$b_ed | dkim-adsp=pass header.from=example.test"
ok_if "two passing signatures and ADSP parse back" $?
parse bad.eml "mx.example.net | ${pass_rsa/pass/fail} header.b=$b_rsa | ${pass_ed/pass/fail} header.b=$b_ed | dkim-adsp=none header.from=example.test"
ok_if "failing signatures parse back" $?
parse m.eml "mx.example.net | dkim=none | dkim-adsp=none header.from=example.test"
ok_if "an unsigned message parses back as dkim=none" $?
parse perm.eml "mx.example.net | dkim=permerror header.d=example.test header.a=rsa-sha256 | dkim-adsp=none header.from=example.test"
ok_if "an unparsable signature parses back as permerror" $?
"$DKIMKIT" verify --zone zone --authserv-id "mx example" --json m.eml > out.json
grep -q '"authentication_results":"\\"mx example\\"; dkim=none"' out.json
ok_if "an authserv-id that is not a token is quoted" $? "$(cat out.json)"

# RFC 8601 appendix B.6 (two DKIM results, one good, one bad): the same
# situation rendered by dkimkit parses to the same results, in the same
# order, with the same header.d values and 8-character header.b values.
"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain newyork.example.com \
    --selector ny --out ny.pem >> zone || bail_out "keygen"
"$DKIMKIT" keygen --algorithm rsa --bits 1024 \
    --domain mail-router.example.net --selector mr --out mr.pem >> zone ||
    bail_out "keygen"
printf 'From: sender@newyork.example.com\nSubject: b6\n\nhello\n' > b6.eml
"$DKIMKIT" sign --key mr.pem --domain mail-router.example.net --selector mr \
    b6.eml > b6-1.eml
sed 's/^hello/hello, changed after signing/' b6-1.eml > b6-2.eml
"$DKIMKIT" sign --key ny.pem --domain newyork.example.com --selector ny \
    b6-2.eml > b6-3.eml
"$DKIMKIT" verify --zone zone --authserv-id mail-router.example.net --json \
    b6-3.eml > out.json
"$PY" - <<'PYEOF'
import authres, json, sys
rfc = authres.AuthenticationResultsHeader.parse(
    "Authentication-Results: mail-router.example.net;\r\n"
    "      dkim=pass (good signature) header.d=newyork.example.com\r\n"
    "            header.b=oINEO8hg;\r\n"
    "      dkim=fail (bad signature) header.d=mail-router.example.net\r\n"
    "            header.b=EToRSuvU")
ours = authres.AuthenticationResultsHeader.parse(
    "Authentication-Results: " +
    json.loads(open("out.json").readline())["authentication_results"])
def shape(h):
    return [h.authserv_id] + [
        (r.method, r.result,
         [p.value for p in r.properties if p.name == "d"],
         [len(p.value) for p in r.properties if p.name == "b"])
        for r in h.results]
if shape(rfc) != shape(ours):
    print("# RFC:  %s\n# ours: %s" % (shape(rfc), shape(ours)), file=sys.stderr)
    sys.exit(1)
PYEOF
ok_if "RFC 8601 B.6: two DKIM results render as in the example" $?

done_testing
