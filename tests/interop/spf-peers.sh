#!/bin/bash
# SPF against python3-spf (pyspf): a generated corpus of records (seeded,
# so every run checks the same cases; SPF_SEED to try others) served to
# both from one zone file: dkimkit reads it with --zone, pyspf gets its
# answers from the same file through its DNSLookup hook
# (tests/interop/spf_corpus.py).  Each case must give the same result,
# and the same explanation when dkimkit has one; where RFC 7208 lets them
# differ, spf_corpus.py's justify() says why with the section, and the
# case counts as passing with that reason.  Then the same corpus from a
# loopback unbound (tests/lib/unbound.sh) through --dns must give what
# --zone gave: libunbound's typed lookups and CNAMEs, and the reverse
# zones of the documentation addresses, which libunbound would otherwise
# answer itself.
. "$(dirname "$0")/common.bash"

tmpdir
cd "$TMPD" || bail_out "cannot cd to $TMPD"
CORPUS="$INTEROP/spf_corpus.py"
if ! need python3:spf; then
	done_testing
fi

check "make the corpus" "$PYTHON" "$CORPUS" make "$TMPD" "${SPF_SEED:-7208}"
check "pyspf evaluates the corpus" sh -c \
    '"$1" "$2" peer "$3" > "$3/pyspf.out"' sh "$PYTHON" "$CORPUS" "$TMPD"

st=0
while IFS=$'\t' read -r n ip from helo; do
	[ "$from" = - ] && from=
	"$DKIMKIT" spf --zone corpus.zone --client-ip "$ip" --helo "$helo" \
	    --mail-from "$from" --json > one.json 2> one.err
	case $? in
	0|1) printf '%s\t%s\n' "$n" "$(cat one.json)" ;;
	*) st=1; tap_diag "case $n: $(cat one.err)" ;;
	esac
done < cases.tsv > dkimkit.out
ok_if "dkimkit evaluates the corpus" "$st"

"$PYTHON" "$CORPUS" compare "$TMPD" > verdicts || bail_out "compare failed"
cases=$(wc -l < cases.tsv)
[ "$(wc -l < verdicts)" -eq "$cases" ]
ok_if "every case compared ($cases)" $?
while IFS=$'\t' read -r verdict what; do
	case $verdict in
	ok) ok "$what" ;;
	justified) ok "$what" ;;
	*) not_ok "$what" "dkimkit and pyspf disagree" ;;
	esac
done < verdicts
justified=$(grep -c '^justified' verdicts)
tap_diag "$justified of $cases cases differ as RFC 7208 allows:"
grep '^justified' verdicts | cut -f2- | while IFS= read -r l; do
	tap_diag "  $l"
done

if need unbound ldns-read-zone && unbound_start corpus.zone; then
	st=0
	while IFS=$'\t' read -r n ip from helo; do
		[ "$from" = - ] && from=
		"$DKIMKIT" spf --dns "127.0.0.1@$UNBOUND_PORT" --client-ip "$ip" \
		    --helo "$helo" --mail-from "$from" --json > one.json 2>&1
		if [ "$(printf '%s\t%s' "$n" "$(cat one.json)")" != \
		    "$(grep "^$n	" dkimkit.out)" ]; then
			st=1
			tap_diag "case $n over DNS: $(cat one.json)"
		fi
	done < cases.tsv
	ok_if "through DNS every case is as from the zone file" "$st"
	unbound_stop
fi

done_testing
