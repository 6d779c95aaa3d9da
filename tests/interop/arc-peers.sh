#!/bin/bash
# ARC (RFC 8617) both ways with python3-dkim (dkim.arc_sign, arc_verify),
# Mail::DKIM (ARC::Signer, ARC::Verifier) and python3-authheaders
# (authenticate_message, sign_message): a chain grows hop by hop, each
# sealer a different implementation (dkimkit, python3-dkim, Mail::DKIM,
# authheaders, dkimkit again), and after every hop every verifier must
# say pass; each peer also seals first.  A changed body must then fail
# with all of them.  RSA only: neither peer does Ed25519 in ARC.  Keys come from
# a zone file (dkimkit, python3-dkim) and from a loopback unbound serving
# it (Mail::DKIM).
. "$(dirname "$0")/common.bash"

tmpdir
cd "$TMPD" || bail_out "cannot cd to $TMPD"
if ! need_dkimkit || ! need openssl "$PYTHON" python3:dns.zone; then
	done_testing
fi
need "$PYTHON" python3:dkim python3:authres && USE_PY=1
USE_AH=0
need "$PYTHON" python3:authheaders python3:authres && USE_AH=1
need perl perl:Mail::DKIM::ARC::Signer perl:Mail::DKIM::ARC::Verifier \
    perl:Net::DNS::Resolver && USE_PL=1
[ "$USE_PY" = 1 ] || [ "$USE_PL" = 1 ] || [ "$USE_AH" = 1 ] ||
    done_testing

check "make peer keys and their zone file" peer_keys "$TMPD" ||
    bail_out "no peer keys"
PEER_ZONE="$TMPD/peers.zone"
if [ "$USE_PL" = 1 ]; then
	if unbound_start "$PEER_ZONE"; then
		PEER_DNS_PORT=$UNBOUND_PORT
	else
		not_ok "unbound for Mail::DKIM" "it did not start"
		USE_PL=0
	fi
fi

printf 'From: Joe <joe@example.test>\r\nTo: list@example.test\r\nSubject: forwarded\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\nMessage-ID: <arc1@example.test>\r\n\r\nHello, list.\r\n' > m.eml
check "dkimkit signs the original" sh -c "'$DKIMKIT' sign --key prsa.pem \
    --domain example.test --selector prsa m.eml > s.eml"

dk_seal()
{
	"$DKIMKIT" seal --key prsa.pem --domain example.test --selector prsa \
	    --authserv-id dkimkit.example.test --zone "$PEER_ZONE" "$1" > "$2"
}

py_seal()
{
	peer_python arcsign --key prsa.pem --domain example.test \
	    --selector prsa --authserv-id python.example.test \
	    --zone "$PEER_ZONE" "$1" > "$2"
}

pl_seal()
{
	peer_perl arcsign --key prsa.pem --domain example.test \
	    --selector prsa --authserv-id perl.example.test \
	    --server 127.0.0.1 --port "$PEER_DNS_PORT" "$1" > "$2"
}

ah_seal()
{
	peer_python ahseal --key prsa.pem --domain example.test \
	    --selector prsa --authserv-id authheaders.example.test \
	    --zone "$PEER_ZONE" "$1" > "$2" 2>/dev/null
}

# dk_arc FILE RESULT N: dkimkit's chain result and number of sets.
dk_arc()
{
	"$DKIMKIT" verify --zone "$PEER_ZONE" --arc --json "$1" > "$1.json"
	"$PYTHON" -c '
import json, sys
a = json.loads(open(sys.argv[1]).readline())["arc"]
ok = a["result"] == sys.argv[2] and a["instances"] == int(sys.argv[3])
if not ok:
    print("# dkimkit: %r" % a, file=sys.stderr)
sys.exit(0 if ok else 1)' "$1.json" "$2" "$3"
}

py_arc()
{
	[ "$(peer_python arcverify --zone "$PEER_ZONE" "$1" 2>/dev/null)" = "$2" ]
}

ah_arc()
{
	[ "$(peer_python ahverify --zone "$PEER_ZONE" "$1" 2>/dev/null)" = "$2" ]
}

pl_arc()
{
	[ "$(peer_perl arcverify --server 127.0.0.1 --port "$PEER_DNS_PORT" \
	    "$1" 2>/dev/null)" = "$2" ]
}

# all_say FILE RESULT N LABEL [WHY]: every verifier there says RESULT;
# with WHY, authheaders is not asked (no test), and the log says why.
all_say()
{
	check "$4: dkimkit says $2 ($3 sets)" dk_arc "$1" "$2" "$3"
	[ "$USE_PY" = 1 ] && check "$4: python3-dkim says $2" py_arc "$1" "$2"
	[ "$USE_PL" = 1 ] && check "$4: Mail::DKIM says $2" pl_arc "$1" "$2"
	if [ "$USE_AH" = 1 ] && [ -n "${5:-}" ]; then
		tap_diag "$4: authheaders not asked: $5"
	elif [ "$USE_AH" = 1 ]; then
		check "$4: authheaders says $2" ah_arc "$1" "$2"
	fi
	return 0
}

all_say s.eml none 0 "unsealed"
check "hop 1: dkimkit seals" dk_seal s.eml h1.eml && all_say h1.eml pass 1 "hop 1"
last=h1.eml
n=1
if [ "$USE_PY" = 1 ]; then
	n=$((n + 1))
	check "hop $n: python3-dkim seals" py_seal "$last" h$n.eml &&
	    all_say h$n.eml pass $n "hop $n (python3-dkim)"
	last=h$n.eml
	check "python3-dkim seals first" py_seal s.eml py1.eml &&
	    all_say py1.eml pass 1 "python3-dkim's first set"
fi
if [ "$USE_PL" = 1 ]; then
	n=$((n + 1))
	check "hop $n: Mail::DKIM seals" pl_seal "$last" h$n.eml &&
	    all_say h$n.eml pass $n "hop $n (Mail::DKIM)"
	last=h$n.eml
	check "Mail::DKIM seals first" pl_seal s.eml pl1.eml &&
	    all_say pl1.eml pass 1 "Mail::DKIM's first set"
fi
if [ "$USE_AH" = 1 ]; then
	n=$((n + 1))
	check "hop $n: authheaders seals" ah_seal "$last" h$n.eml &&
	    all_say h$n.eml pass $n "hop $n (authheaders)"
	last=h$n.eml
	check "authheaders seals first" ah_seal s.eml ah1.eml &&
	    all_say ah1.eml pass 1 "authheaders' first set"
fi
n=$((n + 1))
check "hop $n: dkimkit seals again" dk_seal "$last" h$n.eml &&
    all_say h$n.eml pass $n "hop $n (dkimkit)"
sed 's/Hello, list/Hello, all/' h$n.eml > bad.eml
all_say bad.eml fail $n "changed body"
# A failed chain is sealed cv=fail (RFC 8617 5.1.2); everyone says fail.
# authheaders 0.15 cannot read such a chain: its check_arc calls
# .decode() on dkimpy's None ("chain terminated") and raises.
AH_CVFAIL="authheaders 0.15 raises on a chain whose latest seal says cv=fail"
m=$((n + 1))
check "dkimkit seals the failed chain" dk_seal bad.eml f-dk.eml &&
    grep -q "^ARC-Seal: i=$m; .*cv=fail;" f-dk.eml &&
    all_say f-dk.eml fail $m "cv=fail by dkimkit" "$AH_CVFAIL"
if [ "$USE_PY" = 1 ]; then
	check "python3-dkim seals the failed chain" py_seal bad.eml f-py.eml &&
	    all_say f-py.eml fail $m "cv=fail by python3-dkim" "$AH_CVFAIL"
fi
if [ "$USE_PL" = 1 ]; then
	check "Mail::DKIM seals the failed chain" pl_seal bad.eml f-pl.eml &&
	    all_say f-pl.eml fail $m "cv=fail by Mail::DKIM" "$AH_CVFAIL"
fi

done_testing
