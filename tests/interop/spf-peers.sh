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
#
# Last, libspf2 (1.2.10, Debian's spfquery) as a second peer over the same
# corpus.  spfquery asks the libc resolver, which only reads
# /etc/resolv.conf and port 53: it and an unbound serving the corpus run
# in a network namespace of their own (tests/lib/netns.sh).  libspf2
# implements RFC 4408; where it differs, spf_corpus.py's
# justify_libspf2() names the RFC 7208 section that gives dkimkit's
# answer, and the case counts as passing with that reason:
#   L1  4.6      a record that does not compile: "(invalid)", i.e.
#                permerror
#   L2  4.6.4    more than 2 void lookups: permerror (libspf2 has no
#                such limit)
#   L3  7.1      a numeric top label ("a:foo.123") is a syntax error
#   L4  5.2      "include:" with no domain is a syntax error
#   L5  5.3      a: matches through a CNAME (libspf2 does not)
#   L6  6.2, 7.1 the exp= text keeps its spaces (libspf2 writes "%")
# A null reverse-path is given to spfquery as postmaster@HELO, the
# MAIL FROM identity RFC 7208 2.4 defines for it (spfquery aborts on an
# empty sender).
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

# libspf2: one spfquery a case, in the namespace.
if need spfquery unbound ldns-read-zone && netns_start; then
	UNBOUND_WRAP=("${NETNS_ENTER[@]}")
	UNBOUND_FIXED_PORT=53
	if unbound_start "$TMPD/corpus.zone"; then
		st=0
		while IFS=$'\t' read -r n ip from helo; do
			[ "$from" = - ] && from="postmaster@$helo"
			"${NETNS_ENTER[@]}" spfquery -ip "$ip" -sender "$from" \
			    -helo "$helo" > one.out 2> one.err
			# 2 pass .. 7 permerror; 134 (an assertion) or
			# anything else is no verdict.
			case $? in
			[0-7]) ;;
			*) st=1; tap_diag "libspf2, case $n: $(cat one.err)" ;;
			esac
			# Its errors come as StartError ... EndError blocks
			# before the result line and the SMTP comment.
			printf '%s\t%s\t%s\t%s\n' "$n" \
			    "$(sed '/^StartError$/,/^EndError$/d' one.out |
			    sed -n 1p)" \
			    "$(sed '/^StartError$/,/^EndError$/d' one.out |
			    sed -n '2s/ : Reason: .*//p')" \
			    "$(sed -n 's/^Error: //p' one.out | paste -sd '|' -)"
		done < cases.tsv > libspf2.out
		ok_if "libspf2 evaluates the corpus" "$st"
		unbound_stop
		"$PYTHON" "$CORPUS" libspf2 "$TMPD" > verdicts2 ||
		    bail_out "libspf2 compare failed"
		[ "$(wc -l < verdicts2)" -eq "$cases" ]
		ok_if "every case compared with libspf2 ($cases)" $?
		while IFS=$'\t' read -r verdict what; do
			case $verdict in
			ok | justified) ok "$what" ;;
			*) not_ok "$what" "dkimkit and libspf2 disagree" ;;
			esac
		done < verdicts2
		justified=$(grep -c '^justified' verdicts2)
		tap_diag "$justified of $cases cases differ from libspf2 as RFC 7208 says:"
		grep '^justified' verdicts2 | cut -f2- | while IFS= read -r l; do
			tap_diag "  $l"
		done
	else
		not_ok "unbound in the namespace serves the corpus"
	fi
	unset UNBOUND_WRAP UNBOUND_FIXED_PORT
	netns_stop
elif have spfquery; then
	skip "libspf2 peer" "no network namespace for spfquery's resolver"
fi

done_testing
