#!/bin/bash
# ADSP through the command (issue #27): every address of every From field
# is an Author Address (RFC 5617 2.3, 3), the message's result is the
# worst, and a malformed From cannot hide a discardable domain.  Each
# reproduction of the review, signed by the sender's own domain, must
# give discard (exit 1); the A-R field has one dkim-adsp entry per author
# and parses back with python3-authres.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3

"$DKIMKIT" keygen --algorithm ed25519 --domain example.com --selector ed \
    --out ed.pem > zone || bail_out "keygen"
cat >> zone <<'ZONE'
bank.example. 3600 IN A 192.0.2.1
_adsp._domainkey.bank.example. 3600 IN TXT "dkim=discardable"
none.example. 3600 IN A 192.0.2.2
ZONE

# adsp_case NAME WANT FROM...: a message with these From fields, signed
# by example.com; `dkimkit adsp` must say WANT.
n=0
adsp_case()
{
	local name="$1" want="$2" st out
	shift 2
	n=$((n + 1))
	{ for f in "$@"; do printf '%s\n' "$f"; done
	  printf 'Subject: wire the money\n\nNow.\n'; } > m$n.eml
	"$DKIMKIT" sign --key ed.pem --domain example.com --selector ed \
	    m$n.eml > s$n.eml || { not_ok "$name" "sign failed"; return; }
	out=$("$DKIMKIT" adsp --zone zone s$n.eml 2>&1)
	st=$?
	case "$want" in
	discard) [ "$st" -eq 1 ] ;;
	*) [ "$st" -eq 0 ] ;;
	esac && printf '%s\n' "$out" | grep -q "adsp=$want "
	ok_if "$name: $want" $? "exit $st: $out"
}

adsp_case "one address at the discardable domain" discard \
    'From: CEO <ceo@bank.example>'
adsp_case "the same address twice in one field" discard \
    'From: CEO <ceo@bank.example>, ceo@bank.example'
adsp_case "a signed address, then the discardable one" discard \
    'From: joe@example.com, CEO <ceo@bank.example>'
adsp_case "the same From field twice" discard \
    'From: CEO <ceo@bank.example>' 'From: CEO <ceo@bank.example>'
adsp_case "an unclosed < hides nothing" discard \
    'From: <joe@example.com>, "Bank CEO" <ceo@bank.example'
adsp_case "a list inside <> hides nothing" discard \
    'From: <ceo@bank.example, joe@example.com>'
adsp_case "an @ in a bare display name hides nothing" discard \
    'From: ceo@bank.example <joe@example.com>'
adsp_case "a group's members are authors" discard \
    'From: Board: joe@example.com, ceo@bank.example;'
adsp_case "two authors, both signed" pass \
    'From: joe@example.com, Joe <JOE@Example.COM>'
adsp_case "signed and unsigned-without-record" none \
    'From: joe@example.com, a@none.example'

# The A-R field: one dkim-adsp per Author Domain, with header.from.
"$DKIMKIT" verify --zone zone --adsp --authserv-id mx.example.net --json \
    s3.eml > out.json
"$PY" - <<'PYEOF'
import authres, json, sys
j = json.loads(open("out.json").readline())
h = authres.AuthenticationResultsHeader.parse(
    "Authentication-Results: " + j["authentication_results"])
got = [(r.method, r.result, [p.value for p in r.properties])
       for r in h.results if r.method == "dkim-adsp"]
want = [("dkim-adsp", "pass", ["example.com"]),
        ("dkim-adsp", "discard", ["bank.example"])]
if got != want or j["adsp"] != "discard" or \
        j["author_domain"] != "bank.example":
    print("# got %s, adsp %s (%s)" % (got, j["adsp"], j["author_domain"]),
          file=sys.stderr)
    sys.exit(1)
PYEOF
ok_if "A-R: one dkim-adsp per author, parsed by python3-authres" $?
done_testing
