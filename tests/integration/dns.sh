#!/bin/bash
# Keys and ADSP records over real DNS: a real unbound on loopback serves
# the test zone (as local data, and as a DNSSEC-signed auth zone), and
# dkimkit asks it through libunbound with --dns.  Covers secure, bogus,
# SERVFAIL, timeout, a resolver that is down, and one that answers with
# garbage (tests/lib/baddns.py).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
. "$TOP_SRCDIR/tests/lib/json.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3
for prog in unbound ldns-keygen ldns-signzone drill; do
	command -v "$prog" >/dev/null 2>&1 || skip_all "$prog is not installed"
done

"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain example.test \
    --selector rsa --out rsa.pem > keys || bail_out "keygen rsa"
"$DKIMKIT" keygen --algorithm ed25519 --domain example.test \
    --selector ed --out ed.pem >> keys || bail_out "keygen ed25519"
cat > example.test.zone <<'ZONE'
$ORIGIN example.test.
$TTL 300
@ IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 300
@ IN NS ns.example.test.
ns IN A 127.0.0.1
_adsp._domainkey IN TXT "dkim=discardable"
ZONE
cat keys >> example.test.zone

msg()
{
	printf 'From: %s\nTo: b@example.net\nSubject: dns test\n\nhello\n' "$1"
}
msg 'Alice <alice@example.test>' > m.eml
"$DKIMKIT" sign --key rsa.pem --domain example.test --selector rsa m.eml > rsa.eml
"$DKIMKIT" sign --key ed.pem --domain example.test --selector ed m.eml > ed.eml
msg 'Mallory <boss@example.test>' > forged.eml
msg 'Bob <bob@example.org>' > other.eml
msg 'Nobody <x@nonexistent.example.org>' > nx.eml
"$DKIMKIT" sign --key rsa.pem --domain example.test --selector rsa other.eml > third.eml

# 1. Local data: the keys and ADSP records as plain records.
{
	cat keys
	echo '_adsp._domainkey.example.test. 300 IN TXT "dkim=discardable"'
	echo '_adsp._domainkey.example.org. 300 IN TXT "dkim=all"'
	echo 'example.org. 300 IN A 127.0.0.1'
} > local.zone
unbound_start local.zone || bail_out "unbound did not start"
DNS=127.0.0.1@$UNBOUND_PORT
for f in rsa ed; do
	check "$f key from unbound on loopback: pass" "$DKIMKIT" verify \
	    --dns "$DNS" --json $f.eml
	[ "$(json_field "$TAP_OUT" 'j["signatures"][0]["dnssec"]')" = unknown ]
	ok_if "$f without a trust anchor: dnssec unknown" $?
done
check "two files in one process, keys over DNS" "$DKIMKIT" verify \
    --dns "$DNS" rsa.eml ed.eml
while read -r file want; do
	"$DKIMKIT" verify --dns "$DNS" --adsp --json "$file" > out.json
	got=$(json_field out.json 'j["adsp"]')
	[ "$got" = "$want" ]
	ok_if "ADSP over DNS for $file: $want" $? "got $got"
done <<'CASES'
rsa.eml pass
forged.eml discard
other.eml fail
nx.eml nxdomain
third.eml fail
CASES
"$DKIMKIT" adsp --dns "$DNS" forged.eml > out.txt
st=$?
[ "$st" -eq 1 ] && grep -q "adsp=discard (example.test)" out.txt
ok_if "dkimkit adsp: discard, exit 1" $? "exit $st: $(cat out.txt)"
"$DKIMKIT" verify --dns "$DNS" --adsp --authserv-id mx.test --json forged.eml > out.json
json_field out.json 'j["authentication_results"]' |
    grep -q "dkim=none; dkim-adsp=discard header.from=example.test"
ok_if "A-R carries dkim=none and dkim-adsp=discard" $? "$(cat out.json)"

# A slow resolver: every answer 1.5 s late (the delaying proxy of the
# OpenSMTPD tests, in front of this unbound).  Within --timeout: pass;
# past it: temperror.
slowport=$(free_port)
"$PY" "$TOP_SRCDIR/tests/integration/opensmtpd-tool.py" delay "$slowport" \
    "$DNS" 1.5 > slow.log 2>&1 &
SLOW_PID=$!
at_exit kill "$SLOW_PID"
for ((i = 0; i < 50; i++)); do grep -q ready slow.log && break; sleep 0.1; done
check "slow DNS (1.5 s), --timeout 5000: pass" "$DKIMKIT" verify \
    --dns "127.0.0.1@$slowport" --timeout 5000 ed.eml
"$DKIMKIT" verify --dns "127.0.0.1@$slowport" --timeout 500 --json rsa.eml \
    > out.json
st=$?
got=$(json_field out.json '(j["signatures"][0]["result"], j["signatures"][0]["reason_code"])')
[ "$st" -eq 1 ] && [ "$got" = "('temperror', 'key_dns')" ]
ok_if "slow DNS (1.5 s), --timeout 500: temperror" $? "exit $st, $got"
kill "$SLOW_PID"
unbound_stop

# 2. DNSSEC: the zone signed with ldns-signzone, served as an auth zone,
# validated by dkimkit against the zone's key as trust anchor.
ksk=$(ldns-keygen -a ECDSAP256SHA256 -k example.test) || bail_out "ldns-keygen"
zsk=$(ldns-keygen -a ECDSAP256SHA256 example.test) || bail_out "ldns-keygen"
ldns-signzone -n example.test.zone "$zsk" "$ksk" || bail_out "ldns-signzone"
# The same zone with a key record changed after signing: its RRSIG no
# longer matches.
sed 's/^\(ed\._domainkey[^"]*"v=DKIM1; k=ed25519; p=\)./\1A/' \
    example.test.zone.signed > tampered.signed
cmp -s example.test.zone.signed tampered.signed &&
    bail_out "could not tamper with the signed zone"

# auth_start ZONEFILE: unbound serving ZONEFILE as example.test.
auth_start()
{
	local dir port i
	dir=$(mktemp -d "$TMPD/ub.XXXXXX")
	port=$(free_port)
	cat > "$dir/unbound.conf" <<CONF
server:
  interface: 127.0.0.1
  port: $port
  do-ip6: no
  username: ""
  chroot: ""
  directory: "$dir"
  pidfile: ""
  use-syslog: no
  logfile: "$dir/unbound.log"
  module-config: "iterator"
  local-zone: "test." nodefault
  do-not-query-localhost: no
  forward-zone:
    name: "broken.example."
    forward-addr: 127.0.0.1@9
auth-zone:
  name: "example.test."
  zonefile: "$PWD/$1"
  for-downstream: yes
  for-upstream: yes
  fallback-enabled: no
remote-control:
  control-enable: no
CONF
	unbound -d -c "$dir/unbound.conf" > "$dir/out.log" 2>&1 &
	AUTH_PID=$!
	at_exit kill "$AUTH_PID"
	AUTH=127.0.0.1@$port
	for ((i = 0; i < 50; i++)); do
		drill -p "$port" @127.0.0.1 example.test SOA 2>/dev/null |
		    grep -q "rcode: NOERROR" && return 0
		sleep 0.2
	done
	cat "$dir/out.log" "$dir/unbound.log" >&2
	return 1
}

auth_start example.test.zone.signed || bail_out "signed zone not served"
for f in rsa ed; do
	check "$f key from the signed zone with a trust anchor: pass" \
	    "$DKIMKIT" verify --dns "$AUTH" --trust-anchor "$ksk.key" --json $f.eml
	got=$(json_field "$TAP_OUT" 'j["signatures"][0]["dnssec"]')
	[ "$got" = secure ]
	ok_if "$f key: dnssec secure" $? "got $got"
done
check "a DS record works as trust anchor too" "$DKIMKIT" verify \
    --dns "$AUTH" --trust-anchor "$ksk.ds" --json ed.eml
json_field "$TAP_OUT" 'j["authentication_results"]' | grep -q "dnssec=secure"
ok_if "the A-R comment says dnssec=secure" $?
"$DKIMKIT" verify --dns "$AUTH" --trust-anchor "$ksk.key" --adsp --json forged.eml > out.json
[ "$(json_field out.json 'j["adsp"]')" = discard ]
ok_if "ADSP discard from the signed zone" $? "$(cat out.json)"
# key check validates as well: a key directory with both keys, rsa active.
mkdir -p kd/example.test && cp rsa.pem kd/example.test/rsa.key &&
    cp ed.pem kd/example.test/ed.key && echo rsa > kd/example.test/active ||
    bail_out "key directory"
keycheck()
{
	"$DKIMKIT" key --keydir kd check --dns "$AUTH" --trust-anchor \
	    "$ksk.key" example.test
}
check "key check --trust-anchor: both records validated, exit 0" keycheck
grep -Eq '^ed +pending +ok' "$TAP_OUT" &&
    grep -Eq '^rsa +active +ok' "$TAP_OUT"
ok_if "key check: ed pending ok, rsa active ok" $? "$(cat "$TAP_OUT")"
kill "$AUTH_PID"

auth_start tampered.signed || bail_out "tampered zone not served"
"$DKIMKIT" verify --dns "$AUTH" --trust-anchor "$ksk.key" --json ed.eml > out.json
st=$?
got=$(json_field out.json '(j["signatures"][0]["result"], j["signatures"][0]["dnssec"], j["signatures"][0]["reason_code"])')
[ "$st" -eq 1 ] && [ "$got" = "('temperror', 'bogus', 'key_bogus')" ]
ok_if "a key record changed after signing: temperror, bogus" $? "exit $st, $got"
check "the untouched record in the same zone is still secure" "$DKIMKIT" \
    verify --dns "$AUTH" --trust-anchor "$ksk.key" rsa.eml
check_status 2 "key check --trust-anchor: a bogus record, exit 2" keycheck
grep -Eq '^ed +pending +temperror' "$TAP_OUT" &&
    grep -Eq '^rsa +active +ok' "$TAP_OUT"
ok_if "key check: the changed ed record temperror, rsa still ok" $? \
    "$(cat "$TAP_OUT")"
"$DKIMKIT" key --keydir kd check --dns "$AUTH" example.test > out.txt
grep -Eq '^ed +pending +differs' out.txt
ok_if "key check without the anchor: the changed record differs" $? \
    "$(cat out.txt)"

# 3. SERVFAIL: unbound forwards broken.example to a port nobody serves.
sed 's/d=example.test; s=rsa/d=broken.example; s=rsa/' rsa.eml > broken.eml
"$DKIMKIT" verify --dns "$AUTH" --timeout 30000 --json broken.eml > out.json
got=$(json_field out.json '(j["signatures"][0]["result"], j["signatures"][0]["reason_code"])')
[ "$got" = "('temperror', 'key_dns')" ]
ok_if "SERVFAIL from the resolver: temperror" $? "$got"
kill "$AUTH_PID"

# 4. Timeout: a resolver that reads queries and never answers.
"$PY" - > port.txt <<'PYEOF' &
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
end = time.time() + 60
while time.time() < end:
    s.settimeout(1)
    try:
        s.recvfrom(4096)
    except socket.timeout:
        pass
PYEOF
SILENT_PID=$!
at_exit kill "$SILENT_PID"
for ((i = 0; i < 50; i++)); do [ -s port.txt ] && break; sleep 0.1; done
start=$(date +%s)
"$DKIMKIT" verify --dns "127.0.0.1@$(cat port.txt)" --timeout 1500 --json rsa.eml > out.json
st=$?
took=$(( $(date +%s) - start ))
got=$(json_field out.json '(j["signatures"][0]["result"], j["signatures"][0]["reason_code"])')
[ "$st" -eq 1 ] && [ "$got" = "('temperror', 'key_dns')" ]
ok_if "a resolver that never answers: temperror" $? "exit $st, $got"
[ "$took" -lt 20 ]
ok_if "the lookup gave up on its own (--timeout 1500 ms; took ${took}s)" $?

# 5. DNS down: nothing listens on the port (the kernel refuses at once).
down=$(free_port)
"$DKIMKIT" verify --dns "127.0.0.1@$down" --timeout 3000 --json rsa.eml > out.json
st=$?
got=$(json_field out.json '(j["signatures"][0]["result"], j["signatures"][0]["reason_code"], j["signatures"][0]["reason"])')
[ "$st" -eq 1 ] && case "$got" in
    "('temperror', 'key_dns', 'key lookup of rsa._domainkey.example.test failed temporarily')") true ;;
    *) false ;; esac
ok_if "DNS server down: temperror, the reason says the lookup failed" $? \
    "exit $st, $got"

# 6. Garbage: a server answering every question wrongly.  A damaged answer
# is a failed lookup (temperror, try later); an answer of the wrong type is
# no TXT record (permerror, as for an absent key).
while read -r mode want; do
	"$PY" "$TOP_SRCDIR/tests/lib/baddns.py" "$mode" > bad.port &
	bad=$!
	at_exit kill "$bad"
	for ((i = 0; i < 50; i++)); do [ -s bad.port ] && break; sleep 0.1; done
	"$DKIMKIT" verify --dns "127.0.0.1@$(cat bad.port)" --timeout 3000 \
	    --json rsa.eml > out.json 2> err.txt
	st=$?
	got=$(json_field out.json '(j["signatures"][0]["result"], j["signatures"][0]["reason_code"])' 2>&1)
	[ "$st" -eq 1 ] && [ "$got" = "$want" ] &&
	    json_field out.json 'j["authentication_results"]' | grep -q 'rsa._domainkey'
	ok_if "garbage DNS ($mode): $want, the A-R comment names the lookup" $? \
	    "exit $st, $got, $(head -2 err.txt)"
	kill "$bad"
	wait "$bad" 2>/dev/null
	rm -f bad.port
done <<'CASES'
noise ('temperror', 'key_dns')
cut ('temperror', 'key_dns')
txtlen ('temperror', 'key_dns')
formerr ('temperror', 'key_dns')
empty ('temperror', 'key_dns')
wrongtype ('permerror', 'key_nxdomain')
CASES

done_testing
