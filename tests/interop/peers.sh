#!/bin/bash
# The interop harness proven without dkimkit: each peer (python3-dkim,
# Mail::DKIM, libopendkim through opendkim-testmsg) verifies the RFC test
# vectors as expected.tsv says, and verifies the others' signatures over the
# test messages (four canonicalizations, RSA and Ed25519 where the peer has
# it) and rejects tampered copies.  If this program fails, the failures of
# dkimkit-to-peers.sh and peers-to-dkimkit.sh say nothing about dkimkit.
# PEERS_QUICK=1: only relaxed/relaxed and simple/simple.
. "$(dirname "$0")/common.bash"

tmpdir
cd "$TMPD" || bail_out "cannot cd to $TMPD"
need_python_peer && USE_PY=1
need_perl_peer && USE_PL=1
if ! need openssl unbound ldns-read-zone; then
	done_testing
fi
[ "${PEERS_QUICK:-0}" = 1 ] && CANONS=(relaxed/relaxed simple/simple)

check "write the test messages" mailtool messages "$TMPD"
check "make peer keys and their zone file" peer_keys "$TMPD" ||
    bail_out "no peer keys"
PEER_ZONE="$TMPD/peers.zone"
if unbound_start "$PEER_ZONE" "$VECTORS/keys.zone"; then
	ok "unbound serves the peer keys and the RFC keys"
	PEER_DNS_PORT="$UNBOUND_PORT"
	PEER_DNS_LOG="$UNBOUND_DIR/unbound.log"
else
	not_ok "unbound serves the peer keys and the RFC keys"
	USE_PL=0
fi
if need_opendkim_peer; then
	if opendkim_dns "$PEER_ZONE" "$VECTORS/keys.zone"; then
		USE_ODK=1
		ok "opendkim-testmsg resolves through a namespace unbound"
	else
		skip "opendkim-testmsg verification" \
		    "no network namespace for its resolver (see stderr)"
	fi
fi

# The RFC vectors, as expected.tsv says (rfc_expected column).
if [ "$USE_PY" -eq 1 ]; then
	PEER_ZONE="$VECTORS/keys.zone"
	while IFS=$'\t' read -r case file sig _ want _; do
		case "$case" in '#'* | '') continue ;; esac
		[ "$sig" = '*' ] && continue
		if [ "$want" = pass ]; then
			check "python3-dkim: RFC vector $case sig $sig: pass" \
			    peer_python verify --zone "$PEER_ZONE" --sig "$sig" \
			    "$VECTORS/$file"
		else
			check_status 1 "python3-dkim: RFC vector $case sig $sig: $want" \
			    peer_python verify --zone "$PEER_ZONE" --sig "$sig" \
			    "$VECTORS/$file"
		fi
	done <"$VECTORS/expected.tsv"
	PEER_ZONE="$TMPD/peers.zone"
fi
# Message level for the others: pass when any signature passes.
for f in rfc6376-A2-rfc4871-layout rfc8463-A3-signed rfc6376-A2-as-published; do
	want=fail
	[ "$f" = rfc6376-A2-as-published ] || want=pass
	if [ "$USE_PL" -eq 1 ]; then
		if [ "$want" = pass ]; then
			check "Mail::DKIM: RFC vector $f: pass" pl_accepts \
			    "$VECTORS/$f.eml"
		else
			check "Mail::DKIM: RFC vector $f: fail" pl_rejects \
			    "$VECTORS/$f.eml"
		fi
	fi
	if [ "$USE_ODK" -eq 1 ]; then
		if [ "$want" = pass ]; then
			check "opendkim: RFC vector $f: pass" odk_accepts \
			    "$VECTORS/$f.eml"
		else
			check "opendkim: RFC vector $f: fail" odk_rejects \
			    "$VECTORS/$f.eml"
		fi
	fi
done
if [ "$USE_PL" -eq 1 ]; then
	ok_if "Mail::DKIM really asked the loopback unbound" \
	    "$(grep -q 'brisbane._domainkey.example.com. TXT IN' \
	    "$PEER_DNS_LOG"; echo $?)"
fi

# python3-dkim signs: both algorithms, four canonicalizations.
if [ "$USE_PY" -eq 1 ]; then
	for alg in rsa ed25519; do
		key=prsa
		[ "$alg" = ed25519 ] && key=ped
		for m in "${MESSAGES[@]}"; do
			for c in "${CANONS[@]}"; do
				f="$TMPD/py-$alg-$m-${c/\//-}.eml"
				label="python3-dkim $alg $c $m"
				sign_to "$label" "$f" peer_python sign \
				    --key "$TMPD/$key.pem" --domain example.test \
				    --selector "$key" --algorithm "$alg-sha256" \
				    --canon "$c" "$TMPD/$m.eml" || continue
				peers_verify "$label" "$f" "$alg"
			done
		done
	done
fi

# Mail::DKIM signs: RSA, four canonicalizations.
if [ "$USE_PL" -eq 1 ]; then
	for m in "${MESSAGES[@]}"; do
		for c in "${CANONS[@]}"; do
			f="$TMPD/pl-rsa-$m-${c/\//-}.eml"
			label="Mail::DKIM rsa $c $m"
			sign_to "$label" "$f" peer_perl sign \
			    --key "$TMPD/prsa.pem" --domain example.test \
			    --selector prsa --canon "$c" "$TMPD/$m.eml" || continue
			peers_verify "$label" "$f" rsa
		done
	done
fi

# libopendkim signs: rsa-sha1, relaxed/simple (all opendkim-testmsg does).
if have opendkim-testmsg && [ -f "$TMPD/odk.private" ]; then
	for m in "${MESSAGES[@]}"; do
		f="$TMPD/odk-rsa-$m.eml"
		check "opendkim-testmsg signs $m" opendkim_sign \
		    "$TMPD/odk.private" example.test odk "$TMPD/$m.eml" "$f" ||
		    continue
		peers_verify "opendkim rsa-sha1 relaxed/simple $m" "$f" rsa
	done
fi

done_testing
