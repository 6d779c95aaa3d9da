#!/bin/bash
# The failure corpus of dkimkit explain (tests/cli/data/explain_corpus.py:
# messages signed by dkimkit and python3-dkim under every canonicalization
# pair, each changed in one known way) against the peers: every message
# that python3-dkim and Mail::DKIM both fail, dkimkit fails too, and every
# change relaxed/relaxed survives (refolding, whitespace, a Received
# field) passes in all three.  The classes themselves are checked by
# tests/cli/explain.sh; Mail::DKIM gets its keys from a loopback unbound.
. "$(dirname "$0")/common.bash"

tmpdir
cd "$TMPD" || bail_out "cannot cd to $TMPD"
if ! need_dkimkit || ! need_python_peer || ! need_perl_peer; then
	done_testing
fi
"$DKIMKIT" keygen --algorithm rsa --bits 2048 --domain example.test \
    --selector corpus --out corpus.pem > keys.zone || bail_out "keygen"
unbound_start keys.zone || bail_out "unbound does not serve the corpus key"

# The generator's own verdict on the classes is tests/cli/explain.sh's
# business; here only its messages and MANIFEST are wanted.
"$PYTHON" "$TOP_SRCDIR/tests/cli/data/explain_corpus.py" "$DKIMKIT" \
    corpus.pem keys.zone "$TMPD/corpus" > corpus.out 2>&1
[ -s corpus/MANIFEST ]
ok_if "the corpus is written" $? "$(tail -n 20 corpus.out)"
[ -s corpus/MANIFEST ] || done_testing

# Mail::DKIM verifies the whole corpus in one perl process.
declare -A perl_says
cut -f 1 corpus/MANIFEST | sed 's|^|corpus/|' | xargs -d '\n' \
    perl "$INTEROP/peer_perl.pl" verify --server 127.0.0.1 \
    --port "$UNBOUND_PORT" > perl.out 2> pl.err
while IFS=$'\t' read -r result path; do
	perl_says[${path#corpus/}]=$result
done < perl.out

n=0 both_fail=0 missed=() survived=0 broken=()
while IFS=$'\t' read -r name canon mut dk py survives; do
	case ${perl_says[$name]:-trouble} in
	pass) pl=pass ;;
	trouble) pl=trouble; tap_diag "Mail::DKIM on $name: no result" ;;
	*) pl=fail ;;
	esac
	n=$((n + 1))
	if [ "$py" = fail ] && [ "$pl" = fail ]; then
		both_fail=$((both_fail + 1))
		[ "$dk" = pass ] && missed+=("$name")
	fi
	if [ "$survives" = survives ]; then
		survived=$((survived + 1))
		[ "$dk/$py/$pl" = pass/pass/pass ] ||
		    broken+=("$name: dkimkit $dk, python3-dkim $py, Mail::DKIM $pl")
	fi
done < corpus/MANIFEST
tap_diag "$n messages; python3-dkim and Mail::DKIM both fail $both_fail;" \
    "$survived changes relaxed/relaxed survives"
[ "$n" -ge 200 ] && [ "$both_fail" -gt 0 ] && [ "${#missed[@]}" -eq 0 ]
ok_if "every message both peers fail, dkimkit fails ($both_fail of $n)" $? \
    "${missed[@]}"
[ "$survived" -gt 0 ] && [ "${#broken[@]}" -eq 0 ]
ok_if "what relaxed canonicalization survives passes in all three ($survived)" \
    $? "${broken[@]}"
done_testing
