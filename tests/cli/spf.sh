#!/bin/bash
# dkimkit spf: the command's contract (doc/dkimkit.1): exit 0 for pass, 1
# for every other result, 2 for usage and input errors; one JSON object
# with --json; the key-source settings shared with verify and adsp.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY="${PYTHON:-/usr/bin/python3}"

cat > zone <<'ZONE'
$ORIGIN example.com.
@        TXT "v=spf1 mx a:out.example.com/30 -all exp=why.%{d}"
why      TXT "%{i} may not send for %{d}"
@        MX 10 mx
mx       A 192.0.2.10
out      A 192.0.2.20
soft     TXT "v=spf1 ~all"
helo     TXT "v=spf1 ip6:2001:db8::/32 -all"
broken   TXT "v=spf1 bogus"
www      CNAME helo
ZONE

spf() { "$DKIMKIT" spf --zone zone "$@"; }

check_status 0 "pass exits 0" spf --client-ip 192.0.2.10 \
    --mail-from joe@example.com
grep -q '^pass mailfrom=example.com: ' "$TAP_OUT"
ok_if "the line names result, scope and domain" $? "$(cat "$TAP_OUT")"
check_status 0 "a/30 covers its network" spf --client-ip 192.0.2.23 \
    --mail-from joe@example.com
check_status 1 "fail exits 1" spf --client-ip 192.0.2.99 \
    --mail-from joe@example.com
grep -qx 'explanation: 192.0.2.99 may not send for example.com' "$TAP_OUT"
ok_if "fail prints the exp= explanation" $? "$(cat "$TAP_OUT")"
check_status 1 "softfail exits 1" spf --client-ip 192.0.2.99 \
    --mail-from '<joe@soft.example.com>'
grep -q '^softfail ' "$TAP_OUT"
ok_if "softfail is said" $? "$(cat "$TAP_OUT")"
check_status 1 "none exits 1" spf --client-ip 192.0.2.1 \
    --mail-from joe@nowhere.example.com
check_status 1 "permerror exits 1" spf --client-ip 192.0.2.1 \
    --mail-from joe@broken.example.com
check_status 0 "HELO check when no --mail-from" spf --client-ip 2001:db8::7 \
    --helo helo.example.com
grep -q '^pass helo=helo.example.com' "$TAP_OUT"
ok_if "scope helo" $? "$(cat "$TAP_OUT")"
check_status 0 "the HELO name through a CNAME" spf --client-ip 2001:db8::7 \
    --helo www.example.com
check_status 0 "empty --mail-from is postmaster@helo" spf \
    --client-ip 2001:db8::7 --helo helo.example.com --mail-from ''
grep -q '^pass mailfrom=helo.example.com' "$TAP_OUT"
ok_if "null reverse-path: scope mailfrom, domain of HELO" $? \
    "$(cat "$TAP_OUT")"

# --json: one object with the five members.
check_status 1 "--json fail" spf --json --client-ip 192.0.2.99 \
    --mail-from joe@example.com
"$PY" - "$TAP_OUT" <<'PYEOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
o = json.loads(lines[0])
assert sorted(o) == ["domain", "explanation", "reason", "result", "scope"], o
assert o["result"] == "fail" and o["scope"] == "mailfrom", o
assert o["domain"] == "example.com", o
assert o["explanation"] == "192.0.2.99 may not send for example.com", o
assert "-all" in o["reason"], o
PYEOF
ok_if "--json prints result, scope, domain, explanation, reason" $?
check_status 0 "--json pass" spf --json --client-ip 2001:db8::1 \
    --helo helo.example.com
"$PY" -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["explanation"] is None and o["scope"] == "helo", o' "$TAP_OUT"
ok_if "--json: no explanation is null" $?

# Usage and input errors: 2, with a message.
check_status 2 "no --client-ip" spf --mail-from joe@example.com
check_status 2 "a bad --client-ip" spf --client-ip 192.0.2 \
    --mail-from joe@example.com
grep -q "bad --client-ip" "$TAP_ERR"
ok_if "the bad address is named" $? "$(cat "$TAP_ERR")"
check_status 2 "neither --mail-from nor --helo" spf --client-ip 192.0.2.1
check_status 2 "empty --mail-from without --helo" spf --client-ip 192.0.2.1 \
    --mail-from ''
check_status 2 "an unknown option" spf --client-ip 192.0.2.1 --helo a.b \
    --bogus
check_status 2 "an extra argument" spf --client-ip 192.0.2.1 --helo a.b x
check_status 2 "--zone with --dns" "$DKIMKIT" spf --zone zone \
    --dns 127.0.0.1 --client-ip 192.0.2.1 --helo a.b
grep -q "excludes" "$TAP_ERR"
ok_if "the shared settings' message" $? "$(cat "$TAP_ERR")"
check_status 2 "a missing zone file" "$DKIMKIT" spf --zone nonexistent \
    --client-ip 192.0.2.1 --helo a.b
check_status 2 "a bad --timeout" "$DKIMKIT" spf --zone zone \
    --timeout 5x --client-ip 192.0.2.1 --helo a.b
check_status 0 "--help" "$DKIMKIT" spf --help
grep -q -- "--client-ip IP" "$TAP_OUT"
ok_if "--help shows the options" $?
"$DKIMKIT" --help | grep -q '^  spf '
ok_if "dkimkit --help lists spf" $?

done_testing
