#!/bin/bash
# DMARC in RFC 7489 mode against python3-authheaders and
# libmail-dmarc-perl (Mail::DMARC): a fixed corpus of Author Domains,
# policy records and aligned or unaligned DKIM and SPF passes
# (tests/interop/dmarc_corpus.py) served by a loopback unbound to all
# three.  dkimkit verifies a message signed by the case's d= (or none)
# with --client-ip and the case's MAIL FROM (or none); the peers get the
# same passes as their inputs.  Each case must give the same result and
# disposition; where RFC 7489 lets them differ, or a peer departs from
# it, dmarc_corpus.py's justify() says why with the section, and the
# case counts as passing with that reason.
. "$(dirname "$0")/common.bash"

tmpdir
cd "$TMPD" || bail_out "cannot cd to $TMPD"
CORPUS="$INTEROP/dmarc_corpus.py"
if ! need python3:authheaders perl:Mail::DMARC::PurePerl unbound \
    ldns-read-zone; then
	done_testing
fi
if [ ! -r /usr/share/publicsuffix/public_suffix_list.dat ]; then
	skip_all "no Public Suffix List: install publicsuffix"
fi

check "make the corpus" "$PYTHON" "$CORPUS" make "$TMPD"
# A key for every signing domain, published in the corpus zone.
st=0
while read -r d; do
	"$DKIMKIT" keygen --algorithm ed25519 --domain "$d" --selector s \
	    --out "$d.pem" >> corpus.zone 2>> keygen.err || st=1
done < signers.txt
ok_if "a key for every signing domain" "$st" "$(cat keygen.err 2>/dev/null)"

if ! unbound_start corpus.zone; then
	not_ok "unbound serves the corpus" "unbound did not start"
	done_testing
fi
DNS="127.0.0.1@$UNBOUND_PORT"

st=0
while IFS=$'\t' read -r n from dkim spf; do
	printf 'From: Joe <joe@%s>\nSubject: case %s\n\nHello.\n' "$from" \
	    "$n" > m.eml
	if [ "$dkim" != - ]; then
		"$DKIMKIT" sign --key "$dkim.pem" --domain "$dkim" \
		    --selector s m.eml > s.eml || st=1
	else
		cp m.eml s.eml
	fi
	args=()
	[ "$spf" != - ] && args=(--client-ip 192.0.2.1 --mail-from \
	    "bounce@$spf")
	"$DKIMKIT" verify --dns "$DNS" --rfc7489 --json \
	    ${args[@]+"${args[@]}"} s.eml > one.json 2> one.err
	case $? in
	0|1) printf '%s\t%s\n' "$n" "$(cat one.json)" ;;
	*) st=1; tap_diag "case $n: $(cat one.err)" ;;
	esac
done < cases.tsv > dkimkit.out
ok_if "dkimkit evaluates the corpus" "$st"

check "authheaders evaluates the corpus" sh -c \
    '"$1" "$2" peer "$3" "$4" > "$3/authheaders.out"' sh "$PYTHON" \
    "$CORPUS" "$TMPD" "$UNBOUND_PORT"
check "Mail::DMARC evaluates the corpus" sh -c \
    'perl "$1" "$2" "$3" > "$2/maildmarc.out"' sh "$INTEROP/peer_dmarc.pl" \
    "$TMPD" "$UNBOUND_PORT"
unbound_stop

"$PYTHON" "$CORPUS" compare "$TMPD" > verdicts || bail_out "compare failed"
cases=$(wc -l < cases.tsv)
[ "$(wc -l < verdicts)" -eq "$cases" ]
ok_if "every case compared ($cases)" $?
while IFS=$'\t' read -r verdict what; do
	case $verdict in
	ok|justified) ok "$what" ;;
	*) not_ok "$what" "dkimkit and a peer disagree" ;;
	esac
done < verdicts
justified=$(grep -c '^justified' verdicts)
tap_diag "$justified of $cases cases differ as RFC 7489 allows:"
grep '^justified' verdicts | cut -f2- | while IFS= read -r l; do
	tap_diag "  $l"
done

done_testing
