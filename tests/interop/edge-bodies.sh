#!/bin/bash
# Bodies at the edges of canonicalization, where implementations disagree:
# a last line without a line end (CRLF and bare LF, with trailing WSP), an
# empty body, a body of empty and WSP-only lines, a message without the
# empty line that ends the header.  The yardstick is RFC 6376 3.4.3/3.4.4
# itself (tests/interop/mailtool.py bh computes the body hash by the text;
# where the text is silent, trailing WSP on a last line without CRLF under
# relaxed, it takes that line to be a line, as RFC-NOTES.md does):
#  - dkimkit's bh= must be the RFC's, in all four canonicalizations;
#  - a peer's signature: dkimkit must say pass when the peer's bh= is the
#    RFC's, and fail when the peer computes another body hash (the test
#    name then says that the peer deviates);
#  - dkimkit's signature: python3-dkim and Mail::DKIM must verify it when
#    their own signer agrees with the RFC for that case, and must not
#    otherwise; opendkim-testmsg likewise, for relaxed/simple only (all it
#    can sign).
. "$(dirname "$0")/common.bash"

tmpdir
cd "$TMPD" || bail_out "cannot cd to $TMPD"
if ! need_dkimkit || ! need openssl "$PYTHON" python3:dns.zone; then
	done_testing
fi
need_python_peer && USE_PY=1
need_perl_peer && USE_PL=1

check "write the edge-case messages" mailtool messages "$TMPD" edge
EDGE=(noeol noeol-lf empty blank nobody)
check "make peer keys and their zone file" peer_keys "$TMPD" ||
    bail_out "no peer keys"
PEER_ZONE="$TMPD/peers.zone"
if unbound_start "$PEER_ZONE"; then
	PEER_DNS_PORT="$UNBOUND_PORT"
else
	not_ok "unbound serves the peer keys"
	USE_PL=0
fi
if need_opendkim_peer; then
	if opendkim_dns "$PEER_ZONE"; then
		USE_ODK=1
	else
		skip "opendkim-testmsg verification" \
		    "no network namespace for its resolver (see stderr)"
	fi
fi

# bh_is FILE WANT: the top signature's bh= is WANT.
bh_is()
{
	local got

	got="$(mailtool sigtag "$1" bh)" || return 1
	printf 'bh=%s, RFC 6376: %s\n' "$got" "$2"
	[ "$got" = "$2" ]
}

# conforms PEERFILE RFCBH: did the peer's signer get the RFC's body hash?
conforms()
{
	[ "$(mailtool sigtag "$1" bh 2>/dev/null)" = "$2" ]
}

# judge LABEL SIGNED RFCBH [OPTION...]: dkimkit on a peer's signature.
judge()
{
	local label="$1" f="$2" rfc="$3"

	shift 3
	if conforms "$f" "$rfc"; then
		check "$label: bh= as RFC 6376; dkimkit says pass" \
		    dk_expect pass "$f" "$@"
	else
		tap_diag "$label: the peer's bh=$(mailtool sigtag "$f" bh) is not the RFC's $rfc"
		check "$label: the PEER DEVIATES from RFC 6376 (bh=); dkimkit says fail" \
		    dk_expect fail "$f" "$@"
	fi
}

# peer_on_dkimkit LABEL PEER DKIMKITFILE CONFORMS: the peer verifies
# dkimkit's signature when it canonicalizes as the RFC does (CONFORMS=1)
# and rejects it otherwise.
peer_on_dkimkit()
{
	local label="$1" p="$2" f="$3" name

	case "$p" in
	py) name=python3-dkim ;;
	pl) name=Mail::DKIM ;;
	odk) name=opendkim ;;
	esac
	if [ "$4" -eq 1 ]; then
		check "$label: $name verifies" "${p}_accepts" "$f"
	else
		check "$label: $name, which DEVIATES here, does not verify" \
		    "${p}_rejects" "$f"
	fi
}

for m in "${EDGE[@]}"; do
	# opendkim-testmsg signs relaxed/simple with rsa-sha1, nothing else.
	if [ "$USE_ODK" -eq 1 ] && [ -f "$TMPD/odk.private" ]; then
		g="$TMPD/odk-$m.eml"
		label="opendkim-testmsg rsa-sha1 relaxed/simple $m"
		check "$label: sign" opendkim_sign "$TMPD/odk.private" \
		    example.test odk "$TMPD/$m.eml" "$g" &&
		    judge "$label" "$g" "$(mailtool bh "$TMPD/$m.eml" simple sha1)" \
		    --allow-weak
	fi
	for c in "${CANONS[@]}"; do
		body="${c#*/}"
		rfc="$(mailtool bh "$TMPD/$m.eml" "$body")"
		f="$TMPD/dk-$m-${c/\//-}.eml"
		label="dkimkit rsa $c $m"
		sign_to "$label" "$f" "$DKIMKIT" sign --key "$TMPD/prsa.pem" \
		    --domain example.test --selector prsa \
		    --algorithm rsa-sha256 --canon "$c" "$TMPD/$m.eml" || continue
		check "$label: bh= is the RFC 6376 body hash" bh_is "$f" "$rfc"
		check "$label: dkimkit verifies its own signature" \
		    dk_expect pass "$f"

		if [ "$USE_PY" -eq 1 ]; then
			g="$TMPD/py-$m-${c/\//-}.eml"
			if sign_to "python3-dkim rsa $c $m" "$g" peer_python sign \
			    --key "$TMPD/prsa.pem" --domain example.test \
			    --selector prsa --canon "$c" "$TMPD/$m.eml"; then
				judge "python3-dkim rsa $c $m" "$g" "$rfc"
				conf=0
				conforms "$g" "$rfc" && conf=1
				peer_on_dkimkit "$label" py "$f" "$conf"
			fi
		fi
		if [ "$USE_PL" -eq 1 ]; then
			g="$TMPD/pl-$m-${c/\//-}.eml"
			if sign_to "Mail::DKIM rsa $c $m" "$g" peer_perl sign \
			    --key "$TMPD/prsa.pem" --domain example.test \
			    --selector prsa --canon "$c" "$TMPD/$m.eml"; then
				judge "Mail::DKIM rsa $c $m" "$g" "$rfc"
				conf=0
				conforms "$g" "$rfc" && conf=1
				peer_on_dkimkit "$label" pl "$f" "$conf"
			fi
		fi
		# opendkim-testmsg: its behaviour is known from its own
		# signature, which is always relaxed/simple, so it is judged
		# there only.  (Its simple header canonicalization of a message
		# without a body differs as well: it rejects nobody.eml signed
		# simple/simple by anyone.)
		g="$TMPD/odk-$m.eml"
		if [ "$c" = relaxed/simple ] && [ -f "$g" ]; then
			conf=0
			conforms "$g" "$(mailtool bh "$TMPD/$m.eml" simple sha1)" &&
			    conf=1
			peer_on_dkimkit "$label" odk "$f" "$conf"
		fi
	done
done

done_testing
