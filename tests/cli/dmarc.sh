#!/bin/bash
# dkimkit verify --dmarc (RFC 9989) over a zone file: the JSON "spf" and
# "dmarc" objects, the exit status (doc/dkimkit.1), the A-R field read
# back, and the cases libopendmarc got wrong: an aligned pass anywhere
# among several signatures passes, an unaligned pass never rescues an
# aligned failure, DNS trouble is temperror and never fail.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY="${PYTHON:-/usr/bin/python3}"

"$DKIMKIT" keygen --algorithm ed25519 --domain example.com --selector ed \
    --out ex.pem > zone || bail_out "keygen"
"$DKIMKIT" keygen --algorithm ed25519 --domain mail.example.com \
    --selector ed --out mail.pem >> zone || bail_out "keygen"
"$DKIMKIT" keygen --algorithm ed25519 --domain evil.test --selector ed \
    --out evil.pem >> zone || bail_out "keygen"
# a published key that is not the one signing: example.com's "bad"
"$DKIMKIT" keygen --algorithm ed25519 --domain example.com --selector bad \
    --out other.pem >> zone || bail_out "keygen"
"$DKIMKIT" keygen --algorithm ed25519 --domain example.com --selector x \
    --out bad.pem > /dev/null || bail_out "keygen"
for d in strict.test mail.strict.test; do
	"$DKIMKIT" keygen --algorithm ed25519 --domain "$d" --selector ed \
	    --out "$d.pem" >> zone || bail_out "keygen"
done
cat >> zone <<'ZONE'
_dmarc.strict.test. 300 IN TXT "v=DMARC1; p=reject; adkim=s"
_dmarc.example.com. 300 IN TXT "v=DMARC1; p=reject; sp=quarantine"
example.com.        300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
www.example.com.    300 IN A 192.0.2.1
_dmarc.testing.test. 300 IN TXT "v=DMARC1; p=reject; t=y"
testing.test.       300 IN TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.xn--bcher-kva.test. 300 IN TXT "v=DMARC1; p=reject"
ZONE

msg() { printf 'From: Joe <joe@%s>\nSubject: hello\n\nHello.\n' "$1"; }
sign() { "$DKIMKIT" sign --key "$1" --domain "$2" --selector "${3:-ed}"; }

msg example.com > m.eml
sign ex.pem example.com < m.eml > aligned.eml
sign evil.pem evil.test < m.eml > unaligned.eml
sign evil.pem evil.test < aligned.eml > both.eml
sign bad.pem example.com bad < m.eml > badsig.eml
sign evil.pem evil.test < badsig.eml > badsig-evil.eml
sign mail.pem mail.example.com < m.eml > relaxed.eml
msg www.example.com > sub.eml
msg testing.test > testing.eml
# RFC 9989 5.3.1: a U-label From domain ("b\u00fccher.test" in UTF-8)
msg "$(printf 'b\303\274cher.test')" > ulabel.eml

v() { "$DKIMKIT" verify --zone zone --dmarc --authserv-id mx.test --json "$@"; }

# expect NAME STATUS PYEXPR ARGS...: verify, check the exit status and a
# Python condition over the JSON object j.
expect()
{
	local name="$1" want="$2" cond="$3" st
	shift 3
	v "$@" > out.json 2> err
	st=$?
	[ "$st" -eq "$want" ] || { not_ok "$name" "exit $st, want $want:" \
	    "$(cat out.json err)"; return; }
	"$PY" -c "import json,sys; j=json.loads(open('out.json').readline()); \
d=j['dmarc']; sys.exit(0 if ($cond) else 1)"
	ok_if "$name" $? "$(cat out.json)"
}

expect "aligned DKIM pass" 0 \
    "d['result']=='pass' and d['dkim_aligned'] and not d['spf_aligned'] \
and d['policy']=='reject' and d['disposition']=='none' and \
d['domain']=='example.com' and d['policy_domain']=='example.com'" aligned.eml
expect "a U-label Author Domain is looked up as its A-label" 1 \
    "d['result']=='fail' and d['domain']=='xn--bcher-kva.test' and \
d['policy']=='reject'" ulabel.eml
expect "unaligned pass only: fail, reject" 1 \
    "d['result']=='fail' and d['disposition']=='reject' and \
not d['dkim_aligned']" unaligned.eml
expect "an aligned pass below an unaligned one passes" 0 \
    "d['result']=='pass' and d['dkim_aligned']" both.eml
expect "an unaligned pass does not rescue an aligned failure" 1 \
    "d['result']=='fail' and j['signatures'][1]['result']=='fail' and \
j['signatures'][0]['result']=='pass'" badsig-evil.eml
expect "relaxed alignment of mail.example.com" 0 \
    "d['result']=='pass' and d['dkim_aligned']" relaxed.eml
# adkim=s (RFC 9989 4.7, 4.4): only d= equal to the Author Domain.
msg strict.test > strict.eml
sign strict.test.pem strict.test < strict.eml > strict-own.eml
sign mail.strict.test.pem mail.strict.test < strict.eml > strict-sub.eml
expect "adkim=s: d= equal to the Author Domain passes" 0 \
    "d['result']=='pass' and d['dkim_aligned']" strict-own.eml
expect "adkim=s: d= of a subdomain does not align" 1 \
    "d['result']=='fail' and d['disposition']=='reject' and \
j['signatures'][0]['result']=='pass'" strict-sub.eml
expect "a subdomain gets sp=" 1 \
    "d['result']=='fail' and d['policy']=='quarantine' and \
d['policy_domain']=='example.com' and d['domain']=='www.example.com'" sub.eml
expect "t=y drops reject to quarantine" 1 \
    "d['result']=='fail' and d['policy']=='reject' and \
d['disposition']=='quarantine'" testing.eml
expect "an aligned SPF pass" 0 \
    "d['result']=='pass' and d['spf_aligned'] and \
j['spf']=={'result':'pass','scope':'mailfrom','domain':'example.com'}" \
    --client-ip 192.0.2.1 --mail-from bounce@example.com sub.eml
expect "an SPF fail does not align" 1 \
    "d['result']=='fail' and j['spf']['result']=='fail'" \
    --client-ip 192.0.2.9 --mail-from bounce@example.com sub.eml
expect "a HELO pass never aligns (RFC 9989 4.4.2)" 1 \
    "d['result']=='fail' and j['spf']['scope']=='helo' and \
j['spf']['result']=='pass'" --client-ip 192.0.2.1 --helo example.com sub.eml
expect "no SPF without --client-ip" 1 \
    "j['spf']['result']=='none' and d['result']=='fail'" \
    --mail-from bounce@example.com sub.eml

# Several From fields: every author domain counts, the worst wins
# (RFC 9989 11.5), each has its dmarc= entry; with no failure, two From
# fields are permerror, never pass.
{ printf 'From: joe@evil.test\n'; cat aligned.eml; } > twofrom.eml
expect "a second From field cannot hide a failing domain" 1 \
    "d['result']=='fail' and d['disposition']=='reject' and \
'dmarc=none header.from=evil.test;' in j['authentication_results']" \
    twofrom.eml
{ printf 'From: joe@evil.test\n'; cat m.eml; } > twofrom2.eml
expect "two From fields, nothing failing: permerror" 1 \
    "d['result']=='permerror' and d['reason']=='several From fields'" \
    --client-ip 192.0.2.1 --mail-from bounce@example.com twofrom2.eml

# The A-R field: spf= with smtp.mailfrom, dmarc= with header.from and
# policy.dmarc, read back by python3-authres.
v --client-ip 192.0.2.1 --mail-from bounce@example.com unaligned.eml \
    > out.json
"$PY" - <<'PYEOF'
import authres, json, sys
j = json.loads(open("out.json").readline())
h = authres.AuthenticationResultsHeader.parse(
    "Authentication-Results: " + j["authentication_results"])
got = {r.method: (r.result, {(p.type, p.name): p.value for p in r.properties})
       for r in h.results}
ok = (got["spf"] == ("pass", {("smtp", "mailfrom"): "example.com"}) and
      got["dmarc"] == ("pass", {("header", "from"): "example.com",
                                ("policy", "dmarc"): "none"}))
if not ok:
    print("# got %s" % got, file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF
ok_if "A-R: spf= and dmarc= parse back" $? "$(cat out.json)"

# Without --dmarc the output keeps its old keys and A-R field.
"$DKIMKIT" verify --zone zone --authserv-id mx.test --json aligned.eml \
    > plain.json
"$PY" -c "import json,sys; j=json.loads(open('plain.json').readline()); \
sys.exit(1 if 'dmarc' in j or 'spf' in j or \
'dmarc=' in j['authentication_results'] else 0)"
ok_if "no dmarc or spf without --dmarc" $? "$(cat plain.json)"

# RFC 7489 mode: the Organizational Domain from the Public Suffix List.
if [ -r /usr/share/publicsuffix/public_suffix_list.dat ]; then
	expect "--rfc7489: relaxed alignment by the list" 0 \
	    "d['result']=='pass' and d['dkim_aligned']" --rfc7489 relaxed.eml
	expect "--rfc7489: no t=, reject stays reject" 1 \
	    "d['result']=='fail' and d['disposition']=='reject'" \
	    --rfc7489 testing.eml
else
	not_ok "--rfc7489" "no Public Suffix List: install publicsuffix"
fi

# DNS trouble: a resolver that does not answer gives temperror, never
# fail, and the message does not pass.
"$DKIMKIT" verify --dns 127.0.0.1@9 --timeout 500 --dmarc --json \
    unaligned.eml > out.json 2> err
st=$?
[ "$st" -eq 1 ] && "$PY" -c "import json,sys; \
j=json.loads(open('out.json').readline()); \
sys.exit(0 if j['dmarc']['result']=='temperror' else 1)"
ok_if "an unreachable resolver: temperror, exit 1" $? \
    "exit $st: $(cat out.json err)"
# Plain output: one spf and one dmarc line.
"$DKIMKIT" verify --zone zone --dmarc --authserv-id mx.test sub.eml \
    > plain.txt 2>&1
grep -q '^  dmarc: fail (www.example.com, policy quarantine at example.com, disposition quarantine): ' plain.txt &&
    grep -q '^  spf: none ' plain.txt
ok_if "plain output names the DMARC outcome" $? "$(cat plain.txt)"

# Usage errors exit 2 with a message.
check_status 2 "a bad --client-ip is a usage error" "$DKIMKIT" verify \
    --zone zone --dmarc --client-ip 192.0.2.300 --mail-from a@example.com \
    aligned.eml
check_status 2 "--client-ip needs --mail-from or --helo" "$DKIMKIT" verify \
    --zone zone --dmarc --client-ip 192.0.2.1 aligned.eml
check_status 2 "adsp takes no DMARC option" "$DKIMKIT" adsp --zone zone \
    --dmarc aligned.eml

# The eight-query bound (RFC 9989 4.10), counted at a real unbound on
# loopback: a 15-label Author Domain without any record is walked with
# exactly the RFC's eight _dmarc queries; example.com stops after one.
. "$TOP_SRCDIR/tests/lib/unbound.sh"
msg a.b.c.d.e.f.g.h.i.j.k.l.mail.long.test > long.eml
if ! need unbound ldns-read-zone; then
	:
elif ! unbound_start zone; then
	not_ok "query bound" "unbound did not start"
else
	count()
	{
		grep -c "_dmarc\\." "$UNBOUND_DIR/unbound.log"
	}
	before=$(count)
	"$DKIMKIT" verify --dns "127.0.0.1@$UNBOUND_PORT" --dmarc --json \
	    long.eml > out.json 2> err
	n=$(( $(count) - before ))
	[ "$n" -eq 8 ] && grep -q '"dmarc":{"result":"none"' out.json
	ok_if "a 15-label domain: eight _dmarc queries, none" $? \
	    "$n queries: $(cat out.json err)"
	before=$(count)
	"$DKIMKIT" verify --dns "127.0.0.1@$UNBOUND_PORT" --dmarc --json \
	    aligned.eml > out.json 2> err
	n=$(( $(count) - before ))
	[ "$n" -eq 1 ] && grep -q '"dmarc":{"result":"pass"' out.json
	ok_if "a record at the Author Domain: one query, pass" $? \
	    "$n queries: $(cat out.json err)"
	unbound_stop
fi
done_testing
