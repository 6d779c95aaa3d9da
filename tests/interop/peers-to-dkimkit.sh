#!/bin/bash
# The peers sign, dkimkit verifies.  python3-dkim signs with both
# algorithms and all four canonicalizations (with i= on relaxed/relaxed and
# l= on simple/simple), Mail::DKIM signs RSA in all four, opendkim-testmsg
# signs (rsa-sha1, relaxed/simple: all it can).  `dkimkit verify --zone
# peers.zone --json` must say pass (exit 0) for each, and fail (exit 1) for
# a copy with one body letter changed and for a copy with another Subject.
# The zone file holds opendkim-genkey's stub as printed ($ORIGIN, relative
# owner, parentheses, quoted note).  Also: repeated fields chosen bottom-up,
# over-signed From, rsa-sha1 refused unless --allow-weak (RFC 8301), three
# signatures by three peers on one message, several files in one run, and
# keys over DNS from a loopback unbound (--dns).
. "$(dirname "$0")/common.bash"

tmpdir
cd "$TMPD" || bail_out "cannot cd to $TMPD"
if ! need_dkimkit || ! need openssl "$PYTHON" python3:dns.zone; then
	done_testing
fi
need_python_peer && USE_PY=1
need_perl_peer && USE_PL=1

check "write the test messages" mailtool messages "$TMPD"
check "make peer keys and their zone file" peer_keys "$TMPD" ||
    bail_out "no peer keys"
PEER_ZONE="$TMPD/peers.zone"

# dk_json_dsa D S A: the first signature of the last JSON line.
dk_json_dsa()
{
	dk_json_is signatures 0 d "$1" && dk_json_is signatures 0 s "$2" &&
	    dk_json_is signatures 0 a "$3"
}

# dk_tampered LABEL FILE [OPTION...]: both tampered copies fail.
dk_tampered()
{
	local label="$1" f="$2"

	shift 2
	tampered "$f" || {
		not_ok "$label: make tampered copies"
		return 1
	}
	check "$label: dkimkit says fail for a changed body byte" \
	    dk_expect fail "$f.body" "$@"
	check "$label: dkimkit says fail for a changed Subject" \
	    dk_expect fail "$f.subject" "$@"
}

# --- python3-dkim --------------------------------------------------------------
if [ "$USE_PY" -eq 1 ]; then
	first=1
	for alg in rsa ed25519; do
		key=prsa
		[ "$alg" = ed25519 ] && key=ped
		for m in "${MESSAGES[@]}"; do
			for c in "${CANONS[@]}"; do
				f="$TMPD/py-$alg-$m-${c/\//-}.eml"
				label="python3-dkim $alg $c $m"
				extra=()
				case "$c" in
				relaxed/relaxed)
					extra=(--identity alice@mail.example.test)
					label="$label i=" ;;
				simple/simple)
					extra=(--length)
					label="$label l=" ;;
				esac
				sign_to "$label" "$f" peer_python sign \
				    --key "$TMPD/$key.pem" --domain example.test \
				    --selector "$key" --algorithm "$alg-sha256" \
				    --canon "$c" ${extra[@]+"${extra[@]}"} \
				    "$TMPD/$m.eml" || continue
				check "$label: dkimkit says pass" dk_expect pass "$f"
				if [ "$first" -eq 1 ]; then
					first=0
					check "--json output has the shape DESIGN.md gives" \
					    mailtool jsonshape "$TMPD/dk.json"
					check "--json: d= s= a= of the signature" \
					    dk_json_dsa example.test "$key" "$alg-sha256"
				fi
				case "$c" in
				relaxed/relaxed)
					check "$label: --json i= is the identity" \
					    dk_json_is signatures 0 i \
					    alice@mail.example.test ;;
				simple/simple)
					mailtool tamper append "$f" "$f.append"
					check "$label: text appended after the l= count still passes (RFC 6376 3.5)" \
					    dk_expect pass "$f.append" ;;
				esac
				dk_tampered "$label" "$f"
			done
		done
	done

	# Repeated fields: the Nth listing takes the Nth field from the bottom
	# (RFC 6376 5.4.2); swapping the two Comments fields must show.
	for c in relaxed/relaxed simple/simple; do
		for alg in rsa ed25519; do
			key=prsa
			[ "$alg" = ed25519 ] && key=ped
			f="$TMPD/py-h-$alg-${c/\//-}.eml"
			label="python3-dkim $alg $c h= with 2 Comments, 3 Received"
			sign_to "$label" "$f" peer_python sign \
			    --key "$TMPD/$key.pem" --domain example.test \
			    --selector "$key" --algorithm "$alg-sha256" \
			    --canon "$c" \
			    --headers from:to:subject:date:message-id:comments:comments:received:received:received \
			    "$TMPD/folded.eml" || continue
			check "$label: dkimkit says pass" dk_expect pass "$f"
			mailtool tamper swap:Comments "$f" "$f.swap"
			check "$label: dkimkit says fail with the Comments swapped" \
			    dk_expect fail "$f.swap"
			dk_tampered "$label" "$f"
		done
	done

	# python3-dkim over-signs From (h= names it twice): an added From field
	# must not pass.
	f="$TMPD/py-rsa-plain-relaxed-relaxed.eml"
	if [ -f "$f" ]; then
		h="$(mailtool sigtag "$f" h)"
		mailtool tamper 'add:From: Mallory <mallory@example.test>' "$f" \
		    "$f.from"
		check "python3-dkim over-signed From ($h): dkimkit does not pass an added From" \
		    dk_not_pass "$f.from"
	fi
fi

# --- Mail::DKIM ----------------------------------------------------------------
if [ "$USE_PL" -eq 1 ]; then
	for m in "${MESSAGES[@]}"; do
		for c in "${CANONS[@]}"; do
			f="$TMPD/pl-rsa-$m-${c/\//-}.eml"
			label="Mail::DKIM rsa $c $m"
			sign_to "$label" "$f" peer_perl sign \
			    --key "$TMPD/prsa.pem" --domain example.test \
			    --selector prsa --canon "$c" "$TMPD/$m.eml" ||
			    continue
			check "$label: dkimkit says pass" dk_expect pass "$f"
			dk_tampered "$label" "$f"
		done
	done
fi

# --- libopendkim (opendkim-testmsg): rsa-sha1 ----------------------------------
if need_opendkim_peer && [ -f "$TMPD/odk.private" ]; then
	for m in "${MESSAGES[@]}"; do
		f="$TMPD/odk-rsa-$m.eml"
		label="opendkim-testmsg rsa-sha1 relaxed/simple $m"
		check "$label: sign" opendkim_sign "$TMPD/odk.private" \
		    example.test odk "$TMPD/$m.eml" "$f" || continue
		check "$label: dkimkit says policy (RFC 8301: no rsa-sha1)" \
		    dk_expect policy "$f"
		check "$label: dkimkit --allow-weak says pass" \
		    dk_expect pass "$f" --allow-weak
		dk_tampered "$label --allow-weak" "$f" --allow-weak
	done
fi

# --- three signatures on one message ---------------------------------------------
# python3-dkim (Ed25519), then Mail::DKIM (RSA), then opendkim-testmsg
# (rsa-sha1) on top: --json lists them top first, each judged on its own.
if [ "$USE_PY" -eq 1 ] && [ "$USE_PL" -eq 1 ] && have opendkim-testmsg &&
    [ -f "$TMPD/odk.private" ]; then
	c1="$TMPD/chain1.eml"
	c2="$TMPD/chain2.eml"
	c3="$TMPD/chain3.eml"
	sign_to "chain: python3-dkim ed25519" "$c1" peer_python sign \
	    --key "$TMPD/ped.pem" --domain example.test --selector ped \
	    --algorithm ed25519-sha256 --canon relaxed/relaxed \
	    "$TMPD/folded.eml" &&
	sign_to "chain: Mail::DKIM rsa on top" "$c2" peer_perl sign \
	    --key "$TMPD/prsa.pem" --domain example.test --selector prsa \
	    --canon simple/simple "$c1" &&
	check "chain: opendkim-testmsg rsa-sha1 on top: sign" opendkim_sign \
	    "$TMPD/odk.private" example.test odk "$c2" "$c3"
	# chain_is FILE RESULT SIG0 SIG1 SIG2 [OPTION...]
	chain_is()
	{
		local f="$1" want="$2" st=0 got

		shift 2
		"$DKIMKIT" verify --zone "$PEER_ZONE" --json "${@:4}" "$f" \
		    >"$TMPD/chain.json" || st=$?
		cat "$TMPD/chain.json"
		mailtool jsonshape "$TMPD/chain.json" || return 1
		got="$(mailtool jsonget "$TMPD/chain.json" result)"
		got="$got $(mailtool jsonget "$TMPD/chain.json" signatures 0 s)"
		got="$got:$(mailtool jsonget "$TMPD/chain.json" signatures 0 result)"
		got="$got $(mailtool jsonget "$TMPD/chain.json" signatures 1 s)"
		got="$got:$(mailtool jsonget "$TMPD/chain.json" signatures 1 result)"
		got="$got $(mailtool jsonget "$TMPD/chain.json" signatures 2 s)"
		got="$got:$(mailtool jsonget "$TMPD/chain.json" signatures 2 result)"
		printf 'got:  %s\nwant: %s odk:%s prsa:%s ped:%s\n' "$got" \
		    "$want" "$1" "$2" "$3"
		[ "$got" = "$want odk:$1 prsa:$2 ped:$3" ]
	}
	if [ -f "$c3" ]; then
		check "chain of 3: pass; opendkim's on top policy, the others pass" \
		    chain_is "$c3" pass policy pass pass
		check "chain of 3 with --allow-weak: all three pass" \
		    chain_is "$c3" pass pass pass pass --allow-weak
		tampered "$c3"
		check "chain of 3, a body letter changed: fail, each fails" \
		    chain_is "$c3.body" fail fail fail fail --allow-weak
		# All three signed Subject.
		check "chain of 3, another Subject: fail, each fails" \
		    chain_is "$c3.subject" fail fail fail fail --allow-weak
	fi
fi

# --- several files in one run ----------------------------------------------------
a="$TMPD/py-rsa-plain-relaxed-simple.eml"
b="$TMPD/py-ed25519-folded-simple-relaxed.eml"
if [ -f "$a" ] && [ -f "$b" ]; then
	many()
	{
		local st=0 want="$1"

		shift
		"$DKIMKIT" verify --zone "$PEER_ZONE" --json "$@" \
		    >"$TMPD/many.json" || st=$?
		cat "$TMPD/many.json"
		mailtool jsonshape "$TMPD/many.json" "$#" || return 1
		local i=0 f got
		for f in "$@"; do
			got="$(sed -n "$((i + 1))p" "$TMPD/many.json" >"$TMPD/one.json"
			    mailtool jsonget "$TMPD/one.json" file)"
			[ "$got" = "$f" ] || {
				echo "line $((i + 1)) is for $got, want $f"
				return 1
			}
			i=$((i + 1))
		done
		printf 'exit %s, want %s\n' "$st" "$want"
		[ "$st" -eq "$want" ]
	}
	check "three files in one run, all pass: three lines in order, exit 0" \
	    many 0 "$a" "$b" "$a"
	check "three files in one run, one fails: exit 1" \
	    many 1 "$a" "$b.body" "$b"
	results="$(for i in 1 2 3; do
		sed -n "${i}p" "$TMPD/many.json" >"$TMPD/one.json"
		mailtool jsonget "$TMPD/one.json" result
	done | tr '\n' ' ')"
	ok_if "... with the results pass fail pass" \
	    "$([ "$results" = 'pass fail pass ' ]; echo $?)" "got: $results"
fi

# --- keys over DNS ----------------------------------------------------------------
# dk_dns WANT FILE: like dk_expect, keys from the loopback unbound; exit 77
# when dkimkit says it was built without a resolver.
dk_dns()
{
	local want="$1" file="$2" st=0 got

	"$DKIMKIT" verify --dns "127.0.0.1@$DNS_PORT" --json "$file" \
	    >"$TMPD/dns.json" 2>"$TMPD/dns.err" || st=$?
	cat "$TMPD/dns.json" "$TMPD/dns.err"
	if [ "$st" -eq 2 ] && grep -Eqi \
	    'not (built|compiled|supported|available)|unsupported|without (dns|resolver|libunbound)' \
	    "$TMPD/dns.err"; then
		return 77
	fi
	got="$(dkimkit_result "$TMPD/dns.json")" || return 1
	printf 'exit %s, result %s, want %s\n' "$st" "$got" "$want"
	[ "$got" = "$want" ] || return 1
	if [ "$want" = pass ]; then [ "$st" -eq 0 ]; else [ "$st" -eq 1 ]; fi
}

if unbound_start "$PEER_ZONE"; then
	ok "unbound on loopback serves the peer zone"
	DNS_PORT="$UNBOUND_PORT"
	for f in "$TMPD/py-rsa-plain-relaxed-relaxed.eml" \
	    "$TMPD/py-ed25519-lf-relaxed-simple.eml" \
	    "$TMPD/py-rsa-plain-relaxed-relaxed.eml.body"; do
		[ -f "$f" ] || continue
		want=pass
		case "$f" in *.body) want=fail ;; esac
		name="verify --dns 127.0.0.1@PORT ${f##*/}: $want"
		st=0
		tap_run dk_dns "$want" "$f" || st=$?
		if [ "$st" -eq 0 ]; then
			ok "$name"
		elif [ "$st" -eq 77 ]; then
			skip "$name" "TODO: dkimkit built without a DNS resolver: $(tail -n 1 "$TMPD/dns.err")"
		else
			not_ok "$name"
			tap_explain "$st" "$DKIMKIT" verify --dns \
			    "127.0.0.1@$DNS_PORT" --json "$f"
		fi
	done
	ok_if "dkimkit really asked the loopback unbound" \
	    "$(grep -q 'prsa._domainkey.example.test. TXT IN' \
	    "$UNBOUND_DIR/unbound.log"; echo $?)"
else
	not_ok "unbound on loopback serves the peer zone"
fi

done_testing
