#!/bin/bash
# ARC sealing by the Exim adapter in real Exims on loopback: two relays
# whose smtp transports seal (${dlfunc{...}{seal}...}) in front of an MX
# that delivers to a maildir.  Mail relayed once carries one ARC set,
# mail relayed twice two, and dkimkit verify --arc says pass for both; a
# chain whose latest seal says cv=fail gets nothing (logged), a relay
# that rewrites From records the verdicts of the message as it came, and a
# missing sealing key defers the delivery without losing the message.
# Needs root (exim4 -C), exim4-daemon-heavy, swaks.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/exim.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
. "$TOP_SRCDIR/tests/lib/json.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
exim_check || skip_all "$EXIM_WHY"
have swaks || skip_all "swaks is not installed"
BUILT="$TOP_BUILDDIR/plugins/exim/.libs/dkimkit_exim.so"
[ -f "$BUILT" ] || skip_all "$BUILT not built (exim4-dev missing at configure time?)"
exim_module "$TMPD" "$BUILT" || bail_out "$EXIM_WHY"

# Keys: the author's signing key, one sealing key per relay (Ed25519 and
# RSA: both algorithms seal), served from a zone file.
"$DKIMKIT" keygen --algorithm ed25519 --domain example.test \
    --selector ed --out ed.pem > keys.zone || bail_out "keygen ed"
"$DKIMKIT" keygen --algorithm ed25519 --domain fwd.test \
    --selector arc --out fwd.pem >> keys.zone || bail_out "keygen fwd"
"$DKIMKIT" keygen --algorithm rsa --bits 2048 --domain hop.test \
    --selector arc --out hop.pem >> keys.zone || bail_out "keygen hop"
"$DKIMKIT" keygen --algorithm ed25519 --domain other.test \
    --selector arc --out other.pem >> keys.zone || bail_out "keygen other"
chmod 644 ./*.pem keys.zone

lf() { tr -d '\r'; }
printf 'From: Alice <alice@example.test>\nTo: bob@example.net\nSubject: relayed\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.test>\n\nHello Bob,\n\nthis is a test.\n' \
    "$RANDOM$RANDOM" > plain.eml
"$DKIMKIT" sign --key ed.pem --domain example.test --selector ed \
    plain.eml | lf > good.eml || bail_out "sign good"
# A chain that already failed: sealed once, then changed (the AMS of
# instance 1 fails), then sealed again: i=2 says cv=fail.
"$DKIMKIT" seal --key other.pem --domain other.test --selector arc \
    --zone keys.zone good.eml | lf > once.eml || bail_out "seal once"
printf 'a footer\n' >> once.eml
"$DKIMKIT" seal --key other.pem --domain other.test --selector arc \
    --zone keys.zone once.eml | lf > cvfail.eml
grep -q 'cv=fail' cvfail.eml || bail_out "no cv=fail chain: $(head -c 600 cvfail.eml)"

send()
{
	swaks_send "$1" "$2" "$TMPD/swaks.out" --helo client.test \
	    --from sender@example.test --to bob@example.net
}

delivered()
{
	local i n

	for ((i = 0; i < 200; i++)); do
		n=$(find "$1/mail/new" -type f 2>/dev/null | wc -l)
		[ "$n" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

newest() { ls -t "$1"/mail/new/* 2>/dev/null | head -n 1; }

explain()
{
	local d

	for d in "$@"; do
		tap_diag "mainlog of $d:"
		tap_diag_file "$d/log/mainlog" 40
		tap_diag_file "$d/log/paniclog"
	done
}

# qrun DIR: one queue run of DIR's Exim (the sealing happens in it: see
# EXIM_ENV in tests/lib/exim.sh).
qrun() { "${EXIM_ENV[@]}" "$EXIM" -C "$1/exim.conf" -qff > "$1/qff.out" 2>&1; }
queued() { "${EXIM_ENV[@]}" "$EXIM" -C "$1/exim.conf" -bpc; }

# relay DIR NEXT_PORT KEY DOMAIN ID [REWRITE]: a relay that sends
# everything to 127.0.0.1:NEXT_PORT through an smtp transport that seals.
relay()
{
	exim_conf "$1" "" "" "queue_only = true" "${6:-}" "relay:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = sealed" "sealed:
  driver = smtp
  port = $2
  allow_localhost
  hosts_avoid_tls = *
  headers_add = \${dlfunc{$SO}{seal}{key=$3}{domain=$4 selector=arc}{authserv-id=$5}{zone=$TMPD/keys.zone}}"
}

# arc FILE: "RESULT INSTANCES" from dkimkit verify --arc --json.
arc()
{
	"$DKIMKIT" verify --arc --json --zone keys.zone "$1" > arc.json
	json_field arc.json '"%s %s" % (j["arc"]["result"], j["arc"]["instances"])'
}

MX="$TMPD/mx"
exim_conf "$MX" ""
exim_start "$MX" || bail_out "exim (mx) did not start"
MXP=$EXIM_PORT
R2="$TMPD/hop"
relay "$R2" "$MXP" "$TMPD/hop.pem" hop.test hop.test
exim_start "$R2" || bail_out "exim (relay 2) did not start"
R2P=$EXIM_PORT
R1="$TMPD/fwd"
relay "$R1" "$R2P" "$TMPD/fwd.pem" fwd.test fwd.test
exim_start "$R1" || bail_out "exim (relay 1) did not start"
R1P=$EXIM_PORT

# --- 1. one relay: one set, arc=pass ----------------------------------
send "$R2P" good.eml
qrun "$R2"
if delivered "$MX" 1; then
	f=$(newest "$MX")
	got=$(arc "$f")
	[ "$got" = "pass 1" ]
	ok_if "one sealing relay (RSA): arc pass, 1 instance" $? \
	    "got '$got'"; tap_last_ok || explain "$R2"
	grep -q '^ARC-Authentication-Results: i=1; hop.test;' "$f" &&
	    grep -A3 '^ARC-Authentication-Results: i=1' "$f" |
	    grep -q 'dkim=pass'
	ok_if "the AAR names the relay's authserv-id and dkim=pass" $? \
	    "$(grep -A3 '^ARC-Auth' "$f")"
	grep -q 'dkimkit: sealed i=1 cv=none d=hop.test s=arc' "$R2/log/mainlog"
	ok_if "the relay logs the seal" $?; tap_last_ok || explain "$R2"
else
	not_ok "one sealing relay: delivered" "$(cat "$R2/qff.out")"
	explain "$R2" "$MX"
fi

# --- 2. two relays: two sets, arc=pass --------------------------------
send "$R1P" good.eml
qrun "$R1"
for ((i = 0; i < 50; i++)); do
	[ "$(queued "$R2")" -ge 1 ] && break
	sleep 0.1
done
qrun "$R2"
if delivered "$MX" 2; then
	f=$(newest "$MX")
	got=$(arc "$f")
	[ "$got" = "pass 2" ]
	ok_if "two sealing relays (Ed25519, RSA): arc pass, 2 instances" $? \
	    "got '$got'"; tap_last_ok || explain "$R1" "$R2"
	seal2=$(grep '^ARC-Seal: i=2;' "$f")
	case "$seal2" in
	*" cv=pass;"*" d=hop.test;"*) true ;;
	*) false ;;
	esac
	ok_if "the second seal (hop.test) says cv=pass" $? \
	    "$(grep -A2 '^ARC-Seal' "$f")"
else
	not_ok "two sealing relays: delivered" "$(cat "$R1/qff.out" "$R2/qff.out")"
	explain "$R1" "$R2" "$MX"
fi

# --- 3. a chain that already failed gets nothing ----------------------
send "$R2P" cvfail.eml
qrun "$R2"
if delivered "$MX" 3; then
	f=$(newest "$MX")
	n=$(grep -c '^ARC-Seal:' "$f")
	[ "$n" = 2 ] && ! grep -q 'd=hop.test' "$f" &&
	    grep -q 'dkimkit: seal: not sealed: the chain already failed' \
	    "$R2/log/mainlog"
	ok_if "cv=fail at the top: passed on without a new set, logged" $? \
	    "ARC-Seal fields: $n"; tap_last_ok || explain "$R2"
else
	not_ok "cv=fail chain: delivered" "$(cat "$R2/qff.out")"
	explain "$R2" "$MX"
fi

# --- 4. a sealing key that cannot be read defers ----------------------
mv hop.pem hop.pem.away
send "$R2P" good.eml
qrun "$R2"
[ "$(queued "$R2")" = 1 ] &&
    grep -q "defer.*dkimkit: .*hop.pem" "$R2/log/mainlog"
ok_if "missing sealing key: delivery deferred, message queued" $? \
    "queued $(queued "$R2")"; tap_last_ok || explain "$R2"
mv hop.pem.away hop.pem
qrun "$R2"
delivered "$MX" 4 && [ "$(queued "$R2")" = 0 ] &&
    [ "$(arc "$(newest "$MX")")" = "pass 1" ]
ok_if "key restored: the retry is sealed and delivered" $? \
    "$(cat "$R2/qff.out")"; tap_last_ok || explain "$R2"

# --- 5. a relay that rewrites From ------------------------------------
# The verdicts are those of the message as it came (dkim=pass in the
# AAR), the ARC-Message-Signature covers the From that goes out.
R3="$TMPD/rewrite"
relay "$R3" "$MXP" "$TMPD/fwd.pem" fwd.test fwd.test \
    "alice@example.test alice@forwarded.test Fh"
exim_start "$R3" || bail_out "exim (rewriting relay) did not start"
send "$EXIM_PORT" good.eml
qrun "$R3"
if delivered "$MX" 5; then
	f=$(newest "$MX")
	got=$(arc "$f")
	grep -q '^From: .*alice@forwarded.test' "$f" && [ "$got" = "pass 1" ] &&
	    sed -n '/^ARC-Authentication-Results/,/^[^ \t]/p' "$f" |
	    grep -q 'dkim=pass'
	ok_if "From rewritten by the relay: AAR dkim=pass, arc pass" $? \
	    "got '$got'" "$(head -n 14 "$f")"; tap_last_ok || explain "$R3"
	"$DKIMKIT" verify --zone keys.zone "$f" | grep -q 'signature 1: fail'
	ok_if "... while the author's signature now fails" $?
else
	not_ok "rewriting relay: delivered" "$(cat "$R3/qff.out")"
	explain "$R3" "$MX"
fi

done_testing
