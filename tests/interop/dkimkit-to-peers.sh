#!/bin/bash
# dkimkit signs, the peers verify.  Keys come from `dkimkit keygen` (RSA
# 2048 and Ed25519), and the zone file is exactly what keygen printed: it
# must be a valid RFC 1035 record for the key it wrote.  Every test message
# is signed with both algorithms and all four canonicalizations; then
# python3-dkim (keys from the zone file), Mail::DKIM (RSA only; keys from a
# loopback unbound) and libopendkim (opendkim-testmsg; keys from an unbound
# in a network namespace) must each verify it and reject a copy with one
# body letter changed and a copy with another Subject.  Also: explicit
# h= with repeated fields, --oversign, --identity.
. "$(dirname "$0")/common.bash"

tmpdir
cd "$TMPD" || bail_out "cannot cd to $TMPD"
if ! need_dkimkit || ! need openssl unbound ldns-read-zone "$PYTHON" \
    python3:dns.zone; then
	done_testing
fi
need_python_peer && USE_PY=1
need_perl_peer && USE_PL=1

check "write the test messages" mailtool messages "$TMPD"

# --- keygen ----------------------------------------------------------------
check "keygen rsa 2048" "$DKIMKIT" keygen --algorithm rsa --bits 2048 \
    --domain example.test --selector rsa --out "$TMPD/rsa.pem" &&
    cp -- "$TAP_OUT" "$TMPD/rsa.txt"
check "keygen ed25519" "$DKIMKIT" keygen --algorithm ed25519 \
    --domain example.test --selector ed --out "$TMPD/ed.pem" &&
    cp -- "$TAP_OUT" "$TMPD/ed.txt"
# The zone file is what keygen printed, nothing added or fixed.
cat "$TMPD/rsa.txt" "$TMPD/ed.txt" >"$TMPD/dkimkit.zone" 2>/dev/null

check "keygen rsa: openssl reads the key file, RSA 2048 bits" \
    sh -c 'openssl pkey -in "$1" -noout -text |
	grep -Eq "Private-Key: \\(2048 bit"' sh "$TMPD/rsa.pem"
check "keygen ed25519: openssl reads the key file, an Ed25519 key" \
    sh -c 'openssl pkey -in "$1" -noout -text | grep -q ED25519' sh \
    "$TMPD/ed.pem"
for k in rsa ed; do
	mode="$(stat -c %a "$TMPD/$k.pem" 2>/dev/null)"
	ok_if "keygen $k: the private key file is not readable by others" \
	    "$([ -n "$mode" ] && [ "${mode: -1}" = 0 ] &&
	    [ "${mode: -2:1}" = 0 ]; echo $?)" "mode $mode"
done
check "keygen rsa: stdout is a zone record (dnspython parses it) for rsa._domainkey.example.test. holding the key's p=" \
    mailtool checkzone "$TMPD/rsa.txt" rsa._domainkey.example.test. \
    "$TMPD/rsa.pem" rsa
check "keygen ed25519: stdout is a zone record for ed._domainkey.example.test. holding the key's p=" \
    mailtool checkzone "$TMPD/ed.txt" ed._domainkey.example.test. \
    "$TMPD/ed.pem" ed25519
check "ldns-read-zone reads the keygen records" ldns-read-zone \
    "$TMPD/dkimkit.zone"

PEER_ZONE="$TMPD/dkimkit.zone"
if unbound_start "$PEER_ZONE"; then
	ok "unbound serves the keygen records"
	PEER_DNS_PORT="$UNBOUND_PORT"
	PEER_DNS_LOG="$UNBOUND_DIR/unbound.log"
else
	not_ok "unbound serves the keygen records"
	USE_PL=0
fi
if need_opendkim_peer; then
	if opendkim_dns "$PEER_ZONE"; then
		USE_ODK=1
		ok "opendkim-testmsg resolves through a namespace unbound"
	else
		skip "opendkim-testmsg verification" \
		    "no network namespace for its resolver (see stderr)"
	fi
fi

# sig_is FILE ALG CANON SELECTOR: the new field says what was asked.
sig_is()
{
	local a c d s h want_c="$3"

	a="$(mailtool sigtag "$1" a)" && c="$(mailtool sigtag "$1" c)" &&
	    d="$(mailtool sigtag "$1" d)" && s="$(mailtool sigtag "$1" s)" &&
	    h="$(mailtool sigtag "$1" h)" || return 1
	printf 'a=%s c=%s d=%s s=%s h=%s\n' "$a" "$c" "$d" "$s" "$h"
	# RFC 6376 3.5: c=HDR alone means HDR/simple.
	[ "$c" = "${want_c%/simple}" ] && c="$want_c"
	[ "$a" = "$2" ] && [ "$c" = "$want_c" ] && [ "$d" = example.test ] &&
	    [ "$s" = "$4" ] &&
	    printf ':%s:\n' "${h,,}" | grep -q ':from:' &&
	    printf ':%s:\n' "${h,,}" | grep -q ':subject:'
}

# endings_ok SIGNED INPUT: never mixed; CRLF for a bare-LF input (DESIGN:
# "never emit bare LF into a signed copy").
endings_ok()
{
	local got

	got="$(mailtool endings "$1")"
	printf 'signed copy: %s, input: %s\n' "$got" "$(mailtool endings "$2")"
	[ "$got" = crlf ]
}

# --- every message, algorithm and canonicalization --------------------------
for alg in rsa ed25519; do
	key=rsa
	[ "$alg" = ed25519 ] && key=ed
	for m in "${MESSAGES[@]}"; do
		for c in "${CANONS[@]}"; do
			f="$TMPD/dk-$alg-$m-${c/\//-}.eml"
			label="dkimkit $alg $c $m"
			sign_to "$label" "$f" "$DKIMKIT" sign \
			    --key "$TMPD/$key.pem" --domain example.test \
			    --selector "$key" --algorithm "$alg-sha256" \
			    --canon "$c" "$TMPD/$m.eml" || continue
			check "$label: one DKIM-Signature on top, message unchanged" \
			    mailtool unsigned "$f" "$TMPD/$m.eml"
			check "$label: a= c= d= s= as asked, h= has From and Subject" \
			    sig_is "$f" "$alg-sha256" "$c" "$key"
			check "$label: CRLF line ends in the signed copy" \
			    endings_ok "$f" "$TMPD/$m.eml"
			peers_verify "$label" "$f" "$alg"
		done
	done
done
if [ "$USE_PL" -eq 1 ]; then
	ok_if "Mail::DKIM really asked the loopback unbound" \
	    "$(grep -q 'rsa._domainkey.example.test. TXT IN' \
	    "$PEER_DNS_LOG"; echo $?)"
fi

# --- explicit h= with repeated fields: bottom-up selection -----------------
for c in relaxed/relaxed simple/simple; do
	for alg in rsa ed25519; do
		key=rsa
		[ "$alg" = ed25519 ] && key=ed
		f="$TMPD/dk-h-$alg-${c/\//-}.eml"
		label="dkimkit $alg $c --headers with 2 Comments, 3 Received"
		sign_to "$label" "$f" "$DKIMKIT" sign --key "$TMPD/$key.pem" \
		    --domain example.test --selector "$key" \
		    --algorithm "$alg-sha256" --canon "$c" \
		    --headers 'From:To:Subject:Date:Message-ID:Comments:Comments:Received:Received:Received' \
		    "$TMPD/folded.eml" || continue
		h="$(mailtool sigtag "$f" h 2>&1)"
		ok_if "$label: h= lists them all" \
		    "$([ "$(printf '%s' "${h,,}" | grep -o 'comments' |
		    wc -l)" -eq 2 ] && [ "$(printf '%s' "${h,,}" |
		    grep -o 'received' | wc -l)" -eq 3 ]; echo $?)" "h=$h"
		peers_verify "$label" "$f" "$alg"
		mailtool tamper swap:Comments "$f" "$f.swap"
		for p in py:python3-dkim pl:Mail::DKIM odk:opendkim; do
			case "$p" in
			py:*) [ "$USE_PY" -eq 1 ] || continue ;;
			pl:*) [ "$USE_PL" -eq 1 ] && [ "$alg" = rsa ] ||
			    continue ;;
			odk:*) [ "$USE_ODK" -eq 1 ] || continue ;;
			esac
			check "$label: ${p#*:} rejects the two Comments swapped" \
			    "${p%%:*}_rejects" "$f.swap"
		done
	done
done

# --- --oversign: an added field breaks the signature -----------------------
for alg in rsa ed25519; do
	key=rsa
	[ "$alg" = ed25519 ] && key=ed
	f="$TMPD/dk-over-$alg.eml"
	label="dkimkit $alg relaxed/relaxed --oversign"
	sign_to "$label" "$f" "$DKIMKIT" sign --key "$TMPD/$key.pem" \
	    --domain example.test --selector "$key" --algorithm "$alg-sha256" \
	    --canon relaxed/relaxed --oversign "$TMPD/plain.eml" || continue
	h="$(mailtool sigtag "$f" h 2>&1)"
	ok_if "$label: h= names From and Subject more often than they occur" \
	    "$([ "$(printf '%s' "${h,,}" | grep -o 'from' | wc -l)" -ge 2 ] &&
	    [ "$(printf '%s' "${h,,}" | grep -o 'subject' | wc -l)" -ge 2 ]
	    echo $?)" "h=$h"
	peers_verify "$label" "$f" "$alg"
	mailtool tamper 'add:Subject: An added subject' "$f" "$f.added"
	for p in py:python3-dkim pl:Mail::DKIM odk:opendkim; do
		case "$p" in
		py:*) [ "$USE_PY" -eq 1 ] || continue ;;
		pl:*) [ "$USE_PL" -eq 1 ] && [ "$alg" = rsa ] || continue ;;
		odk:*) [ "$USE_ODK" -eq 1 ] || continue ;;
		esac
		how="${p%%:*}_rejects"
		[ "$how" = odk_rejects ] && how=odk_refuses
		check "$label: ${p#*:} rejects an added Subject field" \
		    "$how" "$f.added"
	done
done

# --- --identity --------------------------------------------------------------
for alg in rsa ed25519; do
	key=rsa
	[ "$alg" = ed25519 ] && key=ed
	f="$TMPD/dk-i-$alg.eml"
	label="dkimkit $alg relaxed/simple --identity alice@mail.example.test"
	sign_to "$label" "$f" "$DKIMKIT" sign --key "$TMPD/$key.pem" \
	    --domain example.test --selector "$key" --algorithm "$alg-sha256" \
	    --canon relaxed/simple --identity alice@mail.example.test \
	    "$TMPD/whitespace.eml" || continue
	i="$(mailtool sigtag "$f" i 2>&1)"
	ok_if "$label: i= is the identity" \
	    "$([ "$i" = alice@mail.example.test ]; echo $?)" "i=$i"
	peers_verify "$label" "$f" "$alg"
done

done_testing
