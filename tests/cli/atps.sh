#!/bin/bash
# Authorized Third-Party Signatures (RFC 6541) through the command: the
# records an author domain publishes are made by Debian's
# opendkim-atpszone (and by `dkimkit key atps-record`), loaded into the
# zone, and messages signed by signer.example for those authors with
# `dkimkit sign --atps` are verified with `dkimkit verify --atps`: the
# dkim-atps entries of the A-R field, parsed by python3-authres, and the
# "atps" of each JSON signature must say pass, fail or none as the RFC
# does.  Also ADSP with --atps-adsp, the signer's tags and usage errors.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY="${PYTHON:-/usr/bin/python3}"

have opendkim-atpszone ||
    skip_all "opendkim-atpszone (Debian package opendkim-tools) is not installed"
"$PY" -c 'import authres' 2>/dev/null ||
    skip_all "python3-authres is not installed"

"$DKIMKIT" keygen --algorithm ed25519 --domain signer.example --selector ed \
    --out ed.pem > zone || bail_out "keygen"

# atpszone AUTHOR HASH: opendkim-atpszone's record for signer.example,
# placed under AUTHOR with $ORIGIN (its owner names are relative).
atpszone()
{
	printf '$ORIGIN %s.\n$TTL 300\n' "$1"
	opendkim-atpszone -A -h "$2" csl:signer.example | grep -v '^;'
}
{
	atpszone sha1.example sha1
	atpszone none.example none
	atpszone z256.example sha256
	atpszone adsp.example sha1
	printf '$ORIGIN .\n'
	"$DKIMKIT" key atps-record --domain k256.example \
	    --signer signer.example --hash sha256
	printf 'adsp.example. 300 IN A 192.0.2.1\n'
	printf '_adsp._domainkey.adsp.example. 300 IN TXT "dkim=all"\n'
} >> zone || bail_out "zone"
grep -c '_atps' zone | grep -qx 5 || bail_out "expected 5 ATPS records in the zone"

# The same names as opendkim-atpszone's, for sha1 and none (DNS names:
# compared without case).
for h in sha1 none; do
	ours=$("$DKIMKIT" key atps-record --domain a.example \
	    --signer signer.example --hash "$h" | cut -d' ' -f1)
	theirs=$(opendkim-atpszone -A -h "$h" csl:signer.example |
	    grep _atps | cut -f1)
	[ "${ours,,}" = "${theirs,,}.a.example." ]
	ok_if "key atps-record --hash $h names what opendkim-atpszone does" $? \
	    "ours $ours, opendkim-atpszone $theirs"
done
# sha256: RFC 6541 takes the whole base32 of the 32-octet digest (52
# characters); opendkim-atpszone cuts the label to 32, so its record is
# not where a verifier following the RFC looks (see the z256 case).
ours=$("$DKIMKIT" key atps-record --domain a.example --signer signer.example \
    --hash sha256 | cut -d. -f1)
theirs=$(opendkim-atpszone -A -h sha256 csl:signer.example | grep _atps |
    cut -d. -f1)
[ ${#ours} -eq 52 ] && [ "${ours:0:32}" = "${theirs^^}" ] &&
    [ ${#theirs} -eq 32 ]
ok_if "sha256: our label is the full 52 characters, opendkim-atpszone's its first 32" \
    $? "ours $ours, opendkim-atpszone $theirs"
tap_diag "opendkim-atpszone 2.11 cuts sha256 labels to 32 characters;" \
    "RFC 6541 does not: its sha256 records are not found"

printf 'To: bob@dest.example\nSubject: lunch\n\nAt noon.\n' > body.eml

# case NAME FROM ATPS HASH WANT [VERIFY OPTION...]: a message From FROM
# signed by signer.example with atps=ATPS and atpsh=HASH ("-": no
# --atps); `verify --atps` must give the signature the ATPS result WANT
# and the A-R field "dkim-atps=WANT header.from=FROM" (python3-authres);
# WANT "SIG/MSG" when the signature's result and the message's differ.
n=0
case_atps()
{
	local name="$1" from="$2" atps="$3" hash="$4" want="$5" st
	shift 5
	n=$((n + 1))
	{ printf 'From: Al <al@%s>\n' "$from"; cat body.eml; } > m$n.eml
	local sopt=()
	[ "$atps" != - ] && sopt=(--atps "$atps" --atps-hash "$hash")
	"$DKIMKIT" sign --key ed.pem --domain signer.example --selector ed \
	    "${sopt[@]}" m$n.eml > s$n.eml || { not_ok "$name" "sign"; return; }
	"$DKIMKIT" verify --zone zone --atps --json "$@" s$n.eml > v$n.json
	st=$?
	[ "$st" -eq 0 ] || { not_ok "$name" "verify exit $st"; return; }
	"$PY" - v$n.json "$want" "$from" <<'PYEOF'
import authres, json, sys
j = json.loads(open(sys.argv[1]).readline())
want, author = sys.argv[2], sys.argv[3]
sigwant, _, want = want.partition("/") if "/" in want else (want, "", want)
h = authres.AuthenticationResultsHeader.parse(
    "Authentication-Results: " + j["authentication_results"])
atps = ["%s %s" % (r.result, " ".join("%s.%s=%s" % (p.type, p.name, p.value)
                                      for p in r.properties))
        for r in h.results if r.method == "dkim-atps"]
sig = j["signatures"][0]
bad = []
if atps != ["%s header.from=%s" % (want, author)]:
    bad.append("A-R dkim-atps entries %r" % atps)
if sig.get("atps") != sigwant:
    bad.append("JSON atps %r" % sig.get("atps"))
if sig["result"] != "pass":
    bad.append("dkim=%s" % sig["result"])
for b in bad:
    print("# " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
	ok_if "$name: dkim-atps=$want" $?
}

case_atps "opendkim-atpszone sha1 record" sha1.example sha1.example sha1 pass
case_atps "opendkim-atpszone none record" none.example none.example none pass
case_atps "atps= in capitals names the author" sha1.example SHA1.Example sha1 pass
case_atps "key atps-record sha256 record" k256.example k256.example sha256 pass
case_atps "opendkim-atpszone's cut sha256 label is not the RFC's name" \
    z256.example z256.example sha256 fail
case_atps "a sha1 record does not answer atpsh=none" sha1.example \
    sha1.example none fail
case_atps "no record under the author" nobody.example nobody.example sha1 fail
# RFC 6541 8.3: a valid signature whose atps= names no From domain
# makes the message's dkim-atps fail (the signature itself is none)
case_atps "atps= names a domain that is not the author" other.example \
    sha1.example sha1 none/fail
case_atps "d= is the author: not a third party" signer.example \
    signer.example sha1 none
case_atps "no atps= at all" sha1.example - - none

# A broken signature is not looked at: none, and dkim=fail.
sed 's/At noon/At one/' s1.eml > broken.eml
"$DKIMKIT" verify --zone zone --atps --json broken.eml > broken.json
st=$?
"$PY" - <<'PYEOF'
import authres, json, sys
j = json.loads(open("broken.json").readline())
h = authres.AuthenticationResultsHeader.parse(
    "Authentication-Results: " + j["authentication_results"])
got = [(r.method, r.result) for r in h.results]
sys.exit(0 if got == [("dkim", "fail"), ("dkim-atps", "none")] and
         j["signatures"][0]["atps"] == "none" else 1)
PYEOF
ok_if "a failing signature: dkim=fail, dkim-atps=none, exit 1" \
    $(( $? + (st != 1) ))

# ADSP: adsp.example says dkim=all; signer.example's signature stands for
# it only with --atps-adsp (RFC 6541 on ADSP).
{ printf 'From: Al <al@adsp.example>\n'; cat body.eml; } > adsp.eml
"$DKIMKIT" sign --key ed.pem --domain signer.example --selector ed \
    --atps adsp.example --atps-hash sha1 adsp.eml > adsp-s.eml ||
    bail_out "sign adsp"
adsp_of()
{
	"$DKIMKIT" verify --zone zone --adsp --json "$@" adsp-s.eml |
	    "$PY" -c 'import json,sys; print(json.load(sys.stdin)["adsp"])'
}
got=$(adsp_of)
[ "$got" = fail ]
ok_if "ADSP dkim=all fails on the third-party signature" $? "adsp=$got"
# RFC 6541 6: a verifier doing ADSP and ATPS counts the delegation
got=$(adsp_of --atps)
[ "$got" = pass ]
ok_if "--atps --adsp: the authorized signature counts for ADSP" $? \
    "adsp=$got"
got=$(adsp_of --atps-adsp)
[ "$got" = pass ]
ok_if "--atps-adsp (now --atps) still accepted: ADSP pass" $? "adsp=$got"
"$DKIMKIT" verify --zone zone --adsp --atps-adsp adsp-s.eml |
    grep -q 'dkim-adsp=pass header.from=adsp.example; dkim-atps=pass header.from=adsp.example'
ok_if "A-R: dkim-adsp=pass and dkim-atps=pass" $?

out=$("$DKIMKIT" adsp --zone zone adsp-s.eml)
st=$?
[ "$st" -eq 1 ] && printf '%s\n' "$out" | grep -q 'adsp=fail '
ok_if "dkimkit adsp: fail (exit 1) without --atps-adsp" $? "exit $st: $out"
out=$("$DKIMKIT" adsp --zone zone --atps-adsp adsp-s.eml)
st=$?
[ "$st" -eq 0 ] && printf '%s\n' "$out" | grep -q 'adsp=pass '
ok_if "dkimkit adsp --atps-adsp: pass (exit 0)" $? "exit $st: $out"

# Plain output names the result and the record.
"$DKIMKIT" verify --zone zone --atps s1.eml > plain.txt
grep -Eq '^    atps: pass for sha1.example: v=ATPS1 record at [A-Z2-7]{32}\._atps\.sha1\.example$' \
    plain.txt
ok_if "plain output: atps: pass for the author, with the record's name" $? \
    "$(cat plain.txt)"

# The signer: atps= and atpsh= follow s=; without --atps-hash, sha256.
tr -d '\r\n\t ' < s1.eml | grep -q ';s=ed;atps=sha1.example;atpsh=sha1;t='
ok_if "sign: atps= and atpsh= right after s=" $?
"$DKIMKIT" sign --key ed.pem --domain signer.example --selector ed \
    --atps sha1.example m1.eml | tr -d '\r\n\t ' | grep -q 'atpsh=sha256;'
ok_if "sign: --atps-hash defaults to sha256" $?

# Usage errors: exit 2 with a line naming the problem.
check_status 2 "sign --atps-hash md5 is refused" "$DKIMKIT" sign --key ed.pem \
    --domain signer.example --selector ed --atps a.example --atps-hash md5 \
    m1.eml
check_status 2 "sign --atps-hash without --atps is refused" "$DKIMKIT" sign \
    --key ed.pem --domain signer.example --selector ed --atps-hash sha1 m1.eml
check_status 2 "key atps-record without --signer is refused" "$DKIMKIT" key \
    atps-record --domain a.example
check_status 2 "key atps-record --hash md5 is refused" "$DKIMKIT" key \
    atps-record --domain a.example --signer b.example --hash md5
"$DKIMKIT" verify --help | grep -q -- '--atps '
ok_if "verify --help lists --atps" $?

done_testing
