#!/bin/bash
# The dkimkit command's contract (DESIGN.md): options, output, --json
# shape, exit codes, keygen files, and the RFC vectors through the command.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3
V=$VECTORS

# json_get FILE EXPR: evaluate a Python expression on each JSON line (j).
json_get()
{
	"$PY" -c 'import json,sys,signal; signal.signal(signal.SIGPIPE, signal.SIG_DFL)
for line in open(sys.argv[1]):
    j = json.loads(line)
    print(eval(sys.argv[2]))' "$@"
}

for c in verify sign keygen adsp; do
	check "$c --help exits 0" "$DKIMKIT" "$c" --help
	grep -q "usage: dkimkit $c" "$TAP_OUT"
	ok_if "$c --help shows its usage" $?
done
check_status 2 "no command is a usage error" "$DKIMKIT"
check_status 2 "unknown command is a usage error" "$DKIMKIT" frobnicate
check_status 2 "unknown option is a usage error" "$DKIMKIT" verify --bogus
check_status 2 "sign without --key is a usage error" \
    "$DKIMKIT" sign --domain example.test --selector s

# keygen: private key mode 0600, never overwritten, record <= 255 strings
check "keygen rsa" "$DKIMKIT" keygen --algorithm rsa --bits 1024 \
    --domain example.test --selector rsa --out rsa.pem
cp "$TAP_OUT" zone
check "keygen ed25519" "$DKIMKIT" keygen --algorithm ed25519 \
    --domain example.test --selector ed --out ed.pem
cat "$TAP_OUT" >> zone
[ "$(stat -c %a rsa.pem)" = 600 ] && [ "$(stat -c %a ed.pem)" = 600 ]
ok_if "keygen writes keys with mode 0600" $?
check_status 2 "keygen refuses to overwrite a key" "$DKIMKIT" keygen \
    --algorithm rsa --domain example.test --selector rsa --out rsa.pem
check "keygen rsa 4096" "$DKIMKIT" keygen --algorithm rsa --bits 4096 \
    --domain example.test --selector big --out big.pem
"$PY" - "$TAP_OUT" <<'PYEOF'
import re, sys
line = open(sys.argv[1]).read().strip()
assert line.startswith("big._domainkey.example.test. 3600 IN TXT "), line
parts = re.findall(r'"([^"]*)"', line)
assert len(parts) >= 3 and all(len(p) <= 255 for p in parts), parts
assert "".join(parts).startswith("v=DKIM1; k=rsa; p=MII")
PYEOF
ok_if "keygen splits a 4096-bit record into strings of 255 octets" $?
cat "$TAP_OUT" >> zone

printf 'From: A <a@example.test>\nTo: b@example.net\nSubject: hi\n\nbody\n' > m.eml
check "sign rsa" "$DKIMKIT" sign --key rsa.pem --domain example.test \
    --selector rsa m.eml
cp "$TAP_OUT" s1.eml
check "sign ed25519 on top" "$DKIMKIT" sign --key ed.pem \
    --domain example.test --selector ed --algorithm ed25519-sha256 s1.eml
cp "$TAP_OUT" s2.eml
! grep -q $'[^\r]$' s2.eml
ok_if "signed output has CRLF line ends only" $?
check_status 2 "sign refuses an algorithm the key cannot do" "$DKIMKIT" \
    sign --key ed.pem --domain example.test --selector ed \
    --algorithm rsa-sha256 m.eml
check_status 2 "sign refuses a header list without From" "$DKIMKIT" \
    sign --key ed.pem --domain example.test --selector ed \
    --headers to:subject m.eml
check_status 2 "sign names a missing key file" "$DKIMKIT" sign \
    --key nosuch.pem --domain example.test --selector ed m.eml
grep -q "nosuch.pem: No such file" "$TAP_ERR"
ok_if "the error names the key file and the reason" $?
echo "not a key" > bad.pem
check_status 2 "sign refuses a file that is not a key" "$DKIMKIT" sign \
    --key bad.pem --domain example.test --selector ed m.eml
grep -q "bad.pem: not an RSA or Ed25519 private key" "$TAP_ERR"
ok_if "the error says the file is not a key" $?

bash -c "\"$DKIMKIT\" sign --key rsa.pem --domain example.test --selector rsa < m.eml > stdin.eml"
ok_if "sign reads standard input" $?
check "verify of a message signed from stdin" "$DKIMKIT" verify \
    --zone zone stdin.eml

# verify: several files, one JSON object each, exit codes
sed 's/^body/b0dy/' s2.eml > bad.eml
check_status 1 "verify exits 1 when one message does not pass" \
    "$DKIMKIT" verify --zone zone --json s2.eml bad.eml m.eml
[ "$(wc -l < "$TAP_OUT")" -eq 3 ]
ok_if "verify --json prints one line per file" $?
cp "$TAP_OUT" out.json
[ "$(json_get out.json 'j["result"]' | tr '\n' ' ')" = "pass fail none " ]
ok_if "message results: pass, fail, none" $?
[ "$(json_get out.json 'len(j["signatures"])' | tr '\n' ' ')" = "2 2 0 " ]
ok_if "every signature is listed" $?
[ "$(json_get out.json '[s["s"] for s in j["signatures"]]' | head -1)" = "['ed', 'rsa']" ]
ok_if "signatures are listed top first" $?
json_get out.json 'sorted(j["signatures"][0].keys()) if j["signatures"] else ""' | head -1 |
    grep -q "'a', 'd', 'dnssec', 'i', 'key_bits', 'reason', 'reason_code', 'result', 's', 'testing'"
ok_if "a signature object has d s i a result reason dnssec" $?
json_get out.json 'j["authentication_results"]' | head -1 | grep -q "dkim=pass header.d=example.test"
ok_if "authentication_results carries the verdicts" $?
json_get out.json 'j["signatures"][0]["reason"] if j["signatures"] else ""' | sed -n 2p |
    grep -q "body hash mismatch"
ok_if "a changed body is a body hash mismatch" $?
check_status 2 "verify exits 2 for a missing file" "$DKIMKIT" verify \
    --zone zone s2.eml nosuch.eml
grep -q "nosuch.eml: No such file" "$TAP_ERR"
ok_if "the error names the missing message" $?
check_status 2 "verify exits 2 for a bad zone file" "$DKIMKIT" verify \
    --zone m.eml s2.eml
check "verify --adsp --json has adsp" "$DKIMKIT" verify --zone zone \
    --adsp --json s2.eml
json_get "$TAP_OUT" 'j["adsp"]' | grep -qx pass
ok_if "a passing author signature is ADSP pass" $?
check "adsp command" "$DKIMKIT" adsp --zone zone s2.eml
grep -q "adsp=pass (example.test)" "$TAP_OUT"
ok_if "adsp prints the result and the author domain" $?

# The RFC vectors through the command, against expected.tsv.
while IFS=$'\t' read -r case file sig corpus rfc tag note; do
	case "$case" in \#*|'') continue ;; esac
	"$DKIMKIT" verify --zone "$V/keys.zone" --json "$V/$file" > v.json 2>/dev/null
	if [ "$sig" = "*" ]; then
		got=$(json_get v.json 'j["result"]')
	else
		got=$(json_get v.json "j['signatures'][$sig]['result']")
	fi
	[ "$got" = "$rfc" ]
	ok_if "RFC vector $case sig $sig is $rfc" $? "got $got"
done < "$V/expected.tsv"

done_testing
