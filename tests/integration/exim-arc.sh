#!/bin/bash
# ARC sealing by the Exim adapter in real Exims on loopback: two relays
# whose smtp transports seal (${dlfunc{...}{seal}...}) in front of an MX
# that delivers to a maildir.  Mail relayed once carries one ARC set,
# mail relayed twice two, and dkimkit verify --arc says pass for both; a
# chain whose latest seal says cv=fail gets nothing (logged), a relay
# that rewrites From records the verdicts of the message as it came, and a
# missing sealing key defers the delivery without losing the message.
# The set-up the README recommends for a relay that passes the message
# on unchanged, sealing in the DATA ACL with the at-start word, puts the
# set on top of the header, where RFC 8617 wants it; headers_add on the
# transport puts it at the bottom.  Both chains pass python3-dkim's
# arc_verify and Mail::DKIM's ARC::Verifier too (tests/interop/peer_python.py
# and peer_perl.pl arcverify; the latter asks an unbound on loopback).  A relay that
# adds a footer in a transport_filter cannot seal with headers_add (the
# set signs the body before the footer: arc=fail); the README's filter
# script, the footer then `dkimkit seal --received`, puts a passing set
# on top that records the verdicts of the message as it came.
# Needs root (exim4 -C), exim4-daemon-heavy, swaks; python3-dkim and
# python3-dnspython, libmail-dkim-perl and unbound for the other opinions.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/exim.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
. "$TOP_SRCDIR/tests/lib/json.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
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

# pyarc FILE: python3-dkim's verdict on FILE's chain (pass, fail, none).
PY="${PYTHON:-/usr/bin/python3}"
PYARC=0
have python3:dkim && have python3:dns.zone && PYARC=1
pyarc()
{
	"$PY" "$TOP_SRCDIR/tests/interop/peer_python.py" arcverify \
	    --zone "$TMPD/keys.zone" "$1" 2> pyarc.err
}

# pyarc_is FILE WANT NAME: ok when python3-dkim says WANT, a loud skip
# when it is not installed.
pyarc_is()
{
	local got

	if [ "$PYARC" = 0 ]; then
		skip "$3" "python3-dkim or python3-dnspython is not installed"
		return
	fi
	got=$(pyarc "$1")
	[ "$got" = "$2" ]
	ok_if "$3" $? "python3-dkim says '$got'" "$(cat pyarc.err)"
}

# plarc_is FILE WANT NAME: the same with Mail::DKIM's ARC::Verifier, which
# asks DNS: an unbound on loopback serving keys.zone (started by
# plarc_start).  A loud skip when a piece is missing.
PLARC_WHY="not started"
plarc_start()
{
	local m

	for m in unbound ldns-read-zone perl:Mail::DKIM::ARC::Verifier \
	    perl:Net::DNS::Resolver; do
		have "$m" || { PLARC_WHY="$m is not installed"; return; }
	done
	if unbound_start "$TMPD/keys.zone"; then
		PLARC_WHY=
	else
		PLARC_WHY="unbound did not start"
	fi
}
plarc_is()
{
	local got

	if [ -n "$PLARC_WHY" ]; then
		skip "$3" "$PLARC_WHY"
		return
	fi
	got=$(perl "$TOP_SRCDIR/tests/interop/peer_perl.pl" arcverify \
	    --server 127.0.0.1 --port "$UNBOUND_PORT" "$1" 2> plarc.err)
	[ "$got" = "$2" ]
	ok_if "$3" $? "Mail::DKIM says '$got'" "$(cat plarc.err)"
}

# names FILE: the names of FILE's header fields, one a line, top first.
names() { sed -n '/^$/q; /^[^ \t]/s/:.*//p' "$1"; }

# field N FILE: the Nth header field of FILE (1 is the top), unfolded.
field()
{
	awk -v n="$1" '/^$/ { exit } /^[^ \t]/ { k++ } k == n' "$2" | tr -d '\n'
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
	    "got '$got'"; tap_last_ok; tap_last_ok || explain "$R2"
	grep -q '^ARC-Authentication-Results: i=1; hop.test;' "$f" &&
	    grep -A3 '^ARC-Authentication-Results: i=1' "$f" |
	    grep -q 'dkim=pass'
	ok_if "the AAR names the relay's authserv-id and dkim=pass" $? \
	    "$(grep -A3 '^ARC-Auth' "$f")"
	grep -q 'dkimkit: sealed i=1 cv=none d=hop.test s=arc' "$R2/log/mainlog"
	ok_if "the relay logs the seal" $?; tap_last_ok; tap_last_ok || explain "$R2"
	# headers_add appends: the set comes after the message's own fields
	# (From ... Message-ID), which verifiers do not mind.
	[ "$(names "$f" | tail -n 3 | tr '\n' ' ')" = \
	    "ARC-Seal ARC-Message-Signature ARC-Authentication-Results " ]
	ok_if "headers_add on the transport: the set at the bottom" $? \
	    "$(names "$f" | tr '\n' ' ')"
	pyarc_is "$f" pass "python3-dkim finds the set at the bottom: pass"
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
	    "got '$got'"; tap_last_ok; tap_last_ok || explain "$R1" "$R2"
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
	    "ARC-Seal fields: $n"; tap_last_ok; tap_last_ok || explain "$R2"
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
    "queued $(queued "$R2")"; tap_last_ok; tap_last_ok || explain "$R2"
mv hop.pem.away hop.pem
qrun "$R2"
delivered "$MX" 4 && [ "$(queued "$R2")" = 0 ] &&
    [ "$(arc "$(newest "$MX")")" = "pass 1" ]
ok_if "key restored: the retry is sealed and delivered" $? \
    "$(cat "$R2/qff.out")"; tap_last_ok; tap_last_ok || explain "$R2"

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
	    "got '$got'" "$(head -n 14 "$f")"; tap_last_ok; tap_last_ok || explain "$R3"
	"$DKIMKIT" verify --zone keys.zone "$f" | grep -q 'signature 1: fail'
	ok_if "... while the author's signature now fails" $?
else
	not_ok "rewriting relay: delivered" "$(cat "$R3/qff.out")"
	explain "$R3" "$MX"
fi

# --- 6. the recommended set-up: sealed in the DATA ACL, on top ----------
# The relay passes the message on unchanged; it seals in its DATA ACL
# with at-start, so that Exim puts the set above every field, its own
# Received: too.  The MX adds its Received: above that.  RSA: python3-dkim
# (1.1.4) verifies no Ed25519 ARC set.
T="$TMPD/top"
exim_conf "$T" "  warn add_header = \${dlfunc{$SO}{seal}{key=$TMPD/hop.pem}{domain=hop.test selector=arc at-start}{authserv-id=hop.test}{zone=$TMPD/keys.zone}}" \
    "" "queue_only = true" "" "relay:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = plain" "plain:
  driver = smtp
  port = $MXP
  allow_localhost
  hosts_avoid_tls = *"
exim_start "$T" || bail_out "exim (ACL sealing relay) did not start"
send "$EXIM_PORT" good.eml
grep -q '^ *<- *250' swaks.out && qrun "$T"
if delivered "$MX" 6; then
	f=$(newest "$MX")
	got=$(arc "$f")
	[ "$got" = "pass 1" ]
	ok_if "sealed in the DATA ACL (at-start): arc pass, 1 instance" $? \
	    "got '$got'" "$(head -n 20 "$f")"; tap_last_ok || explain "$T"
	top=$(names "$f" | head -n 5 | tr '\n' ' ')
	[ "$top" = "Received ARC-Seal ARC-Message-Signature ARC-Authentication-Results Received " ]
	ok_if "at-start: the set on top, above the relay's Received:" $? \
	    "fields: $(names "$f" | tr '\n' ' ')"
	# the relay's Received: names the client's HELO, the MX's the relay's
	field 5 "$f" | grep -q 'helo=client.test'
	ok_if "at-start: the Received: below the set is the relay's own" $? \
	    "$(field 5 "$f")"
	pyarc_is "$f" pass "python3-dkim verifies the chain sealed on top: pass"
	plarc_start
	plarc_is "$f" pass "Mail::DKIM verifies the chain sealed on top: pass"
	grep -q 'dkimkit: sealed i=1 cv=none d=hop.test s=arc' "$T/log/mainlog"
	ok_if "at-start: the relay logs the seal" $?; tap_last_ok || explain "$T"
else
	not_ok "sealed in the DATA ACL: delivered" "$(cat swaks.out)" \
	    "$(cat "$T/qff.out")"
	explain "$T" "$MX"
fi

# A second hop sealing on top of the first: two sets, the newer above.
"$DKIMKIT" seal --key hop.pem --domain hop.test --selector arc \
    --zone keys.zone good.eml | lf > sealed1.eml || bail_out "seal sealed1"
send "$EXIM_PORT" sealed1.eml
qrun "$T"
if delivered "$MX" 7; then
	f=$(newest "$MX")
	got=$(arc "$f")
	[ "$got" = "pass 2" ] &&
	    [ "$(grep -m 1 '^ARC-Seal:' "$f" | cut -c 1-15)" = "ARC-Seal: i=2; " ]
	ok_if "at-start over a set: arc pass, 2 instances, i=2 on top" $? \
	    "got '$got'" "$(names "$f" | tr '\n' ' ')"; tap_last_ok || explain "$T"
	pyarc_is "$f" pass "python3-dkim on the two sets: pass"
	plarc_is "$f" pass "Mail::DKIM on the two sets: pass"
else
	not_ok "at-start over a set: delivered" "$(cat "$T/qff.out")"
	explain "$T" "$MX"
fi

# --- 7. a relay that adds a footer on its transport --------------------
# transport_filter runs after headers_add: a set made by the seal dlfunc
# signs the body without the footer, and the receiver's chain fails.
install_for_servers "$TMPD/bin" "$DKIMKIT" || bail_out "cannot install dkimkit"
cat > "$TMPD/bin/footer" <<'SH'
#!/bin/sh
cat
printf -- '-- \nthe relay footer\n'
SH
# The README's filter: the footer, then the next set on top, its AAR
# from the message as the relay got it (--received).  Exit 1 (nothing
# added, the chain already failed) passes the message on as it is; any
# other failure fails the filter, which defers the delivery.
cat > "$TMPD/bin/footer-seal" <<SH
#!/bin/sh
d=\$(mktemp -d) || exit 75
trap 'rm -rf "\$d"' EXIT
cat > "\$d/in" && { cat "\$d/in"; printf -- '-- \\nthe relay footer\\n'; } > "\$d/out" ||
    exit 75
$TMPD/bin/dkimkit seal --key $TMPD/hop.pem --domain hop.test --selector arc \\
    --authserv-id hop.test --zone $TMPD/keys.zone --received "\$d/in" "\$d/out" \\
    > "\$d/sealed"
case \$? in
0 | 1) tr -d '\\r' < "\$d/sealed" ;;
*) exit 75 ;;
esac
SH
chmod 755 "$TMPD/bin/footer" "$TMPD/bin/footer-seal"
# footer_relay DIR TRANSPORT_LINES: a relay to the MX whose smtp
# transport has TRANSPORT_LINES.
footer_relay()
{
	exim_conf "$1" "" "" "queue_only = true" "" "relay:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = footer" "footer:
  driver = smtp
  port = $MXP
  allow_localhost
  hosts_avoid_tls = *
$2"
}
F1="$TMPD/footer1"
footer_relay "$F1" "  transport_filter = $TMPD/bin/footer
  headers_add = \${dlfunc{$SO}{seal}{key=$TMPD/hop.pem}{domain=hop.test selector=arc}{authserv-id=hop.test}{zone=$TMPD/keys.zone}}"
exim_start "$F1" || bail_out "exim (footer, headers_add) did not start"
send "$EXIM_PORT" good.eml
qrun "$F1"
if delivered "$MX" 8; then
	f=$(newest "$MX")
	got=$(arc "$f")
	grep -q '^the relay footer' "$f" && [ "$got" = "fail 1" ]
	ok_if "footer in transport_filter, seal in headers_add: arc fail (why the README says not to)" \
	    $? "got '$got'"; tap_last_ok || explain "$F1"
else
	not_ok "footer relay (headers_add): delivered" "$(cat "$F1/qff.out")"
	explain "$F1" "$MX"
fi
F2="$TMPD/footer2"
footer_relay "$F2" "  transport_filter = $TMPD/bin/footer-seal"
exim_start "$F2" || bail_out "exim (footer-seal filter) did not start"
send "$EXIM_PORT" good.eml
qrun "$F2"
if delivered "$MX" 9; then
	f=$(newest "$MX")
	got=$(arc "$f")
	grep -q '^the relay footer' "$f" && [ "$got" = "pass 1" ]
	ok_if "footer-seal transport_filter: footer added, arc pass" $? \
	    "got '$got'" "$(head -n 20 "$f")"; tap_last_ok || explain "$F2"
	top=$(names "$f" | head -n 4 | tr '\n' ' ')
	[ "$top" = "Received ARC-Seal ARC-Message-Signature ARC-Authentication-Results " ]
	ok_if "footer-seal: the set on top" $? "fields: $(names "$f" | tr '\n' ' ')"
	sed -n '/^ARC-Authentication-Results/,/^[^ \t]/p' "$f" |
	    grep -q 'dkim=pass'
	ok_if "footer-seal: the AAR records dkim=pass, as the relay got it" $? \
	    "$(sed -n '/^ARC-Authentication-Results/,/^[^ \t]/p' "$f")"
	"$DKIMKIT" verify --zone keys.zone "$f" | grep -q 'signature 1: fail'
	ok_if "... while the author's signature fails behind the footer" $?
	pyarc_is "$f" pass "python3-dkim on the footer-seal chain: pass"
else
	not_ok "footer relay (filter): delivered" "$(cat "$F2/qff.out")"
	explain "$F2" "$MX"
fi
# The filter cannot seal (its key is gone): the delivery is deferred,
# the message stays queued, and goes once the key is back.
mv hop.pem hop.pem.away
send "$EXIM_PORT" good.eml
qrun "$F2"
[ "$(queued "$F2")" = 1 ] && grep -q 'transport filter process failed' \
    "$F2/log/mainlog"
ok_if "footer-seal without its key: deferred, the message stays queued" \
    $? "queued $(queued "$F2")"; tap_last_ok || explain "$F2"
mv hop.pem.away hop.pem
qrun "$F2"
delivered "$MX" 10 && [ "$(queued "$F2")" = 0 ] &&
    [ "$(arc "$(newest "$MX")")" = "pass 1" ]
ok_if "footer-seal, key back: the retry is sealed and delivered" $? \
    "$(cat "$F2/qff.out")"; tap_last_ok || explain "$F2"

# --- 8. a relay that seals on top and DKIM-signs too -------------------
# The set's h= names DKIM-Signature as the message had it (once: the
# author's), and DKIM selects fields from the bottom up: a DKIM-Signature
# the relay appends later (headers_add on the transport) is the one the
# AMS then covers, and the chain fails.  Signed on top in the same ACL
# (add_header = :at_start:...), it changes nothing the set signed.
# sign_relay DIR ACL_LINES TRANSPORT_LINES
sign_relay()
{
	exim_conf "$1" "$2" "" "queue_only = true" "" "relay:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = out" "out:
  driver = smtp
  port = $MXP
  allow_localhost
  hosts_avoid_tls = *
$3"
}
SEALTOP="  warn add_header = \${dlfunc{$SO}{seal}{key=$TMPD/hop.pem}{domain=hop.test selector=arc at-start}{authserv-id=hop.test}{zone=$TMPD/keys.zone}}"
SIGN="\${dlfunc{$SO}{sign}{hop.test}{arc}{$TMPD/hop.pem}}"
for how in bottom top; do
	d="$TMPD/sign-$how"
	if [ "$how" = bottom ]; then
		sign_relay "$d" "$SEALTOP" "  headers_add = $SIGN"
		want="fail 1"
	else
		sign_relay "$d" "$SEALTOP
  warn add_header = :at_start:$SIGN" ""
		want="pass 1"
	fi
	exim_start "$d" || bail_out "exim (sign-$how) did not start"
	n=$(( $(find "$MX/mail/new" -type f | wc -l) + 1 ))
	send "$EXIM_PORT" good.eml
	qrun "$d"
	if delivered "$MX" "$n"; then
		f=$(newest "$MX")
		got=$(arc "$f")
		"$DKIMKIT" verify --json --zone keys.zone "$f" > sign.json
		sigs=$(json_field sign.json '" ".join("%s=%s" % (s["d"], s["result"]) for s in j["signatures"])')
		[ "$got" = "$want" ] && [[ " $sigs " == *" hop.test=pass "* ]]
		ok_if "sealed on top, relay's DKIM-Signature at the $how: arc ${want% 1}, its signature passes" \
		    $? "got '$got'" "signatures: $sigs" \
		    "fields: $(names "$f" | tr '\n' ' ')"; tap_last_ok || explain "$d"
	else
		not_ok "sign-$how relay: delivered" "$(cat "$d/qff.out")"
		explain "$d" "$MX"
	fi
done

# at-start on a transport cannot work (headers_add appends, and would
# pass ":at_start:" on as text): the expansion fails, the delivery waits.
B="$TMPD/badtop"
relay "$B" "$MXP" "$TMPD/fwd.pem" "fwd.test at-start" fwd.test
exim_start "$B" || bail_out "exim (at-start on a transport) did not start"
send "$EXIM_PORT" good.eml
qrun "$B"
[ "$(queued "$B")" = 1 ] &&
    grep -q 'dkimkit: seal: at-start is for add_header in an ACL, not the transport sealed' \
    "$B/log/mainlog"
ok_if "at-start on a transport: refused, logged, the message stays queued" \
    $? "queued $(queued "$B")"; tap_last_ok || explain "$B"

# Outside a message (exim -be) there is nothing to seal: the expansion
# fails, naming where the function works.
out=$("${EXIM_ENV[@]}" "$EXIM" -C "$MX/exim.conf" -be \
    "\${dlfunc{$SO}{seal}{key=$TMPD/hop.pem}{domain=hop.test selector=arc at-start}}" 2>&1)
[[ "$out" == *"dkimkit: seal: no message (use it in acl_smtp_data or on a transport)"* ]]
ok_if "seal outside a message: the expansion fails and says where it works" \
    $? "$out"

done_testing
