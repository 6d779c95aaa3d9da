#!/bin/bash
# The short soak: scripts/soak on the demo's chain, twice.
#   1. 600 messages of every kind from 4 clients, no fault: every one
#      ends as its kind says (nothing lost, no wrong verdict, only the
#      forged ones refused), filter-dkimkit stays the same process, its
#      open descriptors come back to their warm-up count and its RSS
#      grows by less than 4 MiB (its resolver cache takes a little for
#      each fresh domain; libunbound bounds that cache at 8 MiB).
#   2. 1000 messages with one fault of each kind (scripts/soak --fault,
#      2 s each, spread over the run): unbound stopped, answering
#      garbage and answering slowly; filter-dkimkit sent SIGHUP, then
#      killed (smtpd exits and is started again); the signing key file
#      replaced and removed; the MX's store locked, then its file system
#      full; the trusted sealer's key revoked for the rest of the run.
#      Each fault's own check passes (unbound back after the DNS faults,
#      the slow proxy used, no connection cut by SIGHUP, smtpd exiting
#      with its filter and a new filter after the restart, Exim
#      deferring while the key is missing and not while it is replaced,
#      the store's losses logged and rows written after, relayed
#      messages refused after the revocation); nothing lost, no wrong
#      verdict (copies smtpd delivered again from its queue after the
#      kill are counted, not wrong; relayed messages are judged by when
#      the MX saw them: tests/lib/soak.py), some message deferred.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
SOAK="$TOP_SRCDIR/scripts/soak"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (exim4 -C, mount namespaces)"
for prog in exim4 unbound ldns-signzone drill swaks dovecot unshare python3 pgrep \
    openssl; do
	have "$prog" || skip_all "$prog is not installed"
done
chmod 755 "$TMPD"

# soak NAME ARGS...: run the soak with its folders under $TMPD; output in
# NAME.out, status in ST, the last line's figures in the variables below.
soak()
{
	local name="$1"

	shift
	ST=0
	TMPDIR="$TMPD" timeout 600 "$SOAK" --build "$TOP_BUILDDIR" "$@" \
	    > "$name.out" 2>&1 || ST=$?
	LINE=$(tail -n 1 "$name.out")
	SENT= DELIVERED= REJECTED= DEFERRED= LOST= F0= F1= FD0= FD1=
	local re='^soak: ([0-9]+) sent, ([0-9]+) delivered, ([0-9]+) rejected, '
	re+='([0-9]+) deferred, ([0-9]+) lost; filter rss ([0-9]+)->([0-9]+) '
	re+='KiB; exim rss ([0-9]+)->([0-9]+) KiB; fds ([0-9]+)->([0-9]+); '
	re+='store rows (n/a|[0-9]+)$'
	if [[ "$LINE" =~ $re ]]; then
		SENT=${BASH_REMATCH[1]} DELIVERED=${BASH_REMATCH[2]}
		REJECTED=${BASH_REMATCH[3]} DEFERRED=${BASH_REMATCH[4]}
		LOST=${BASH_REMATCH[5]} F0=${BASH_REMATCH[6]} F1=${BASH_REMATCH[7]}
		FD0=${BASH_REMATCH[10]} FD1=${BASH_REMATCH[11]}
	fi
	WRONG=$(grep -c '^soak: WRONG ' "$name.out")
}

# The kinds of the plan: how many forged ones there must be.
forged()
{
	python3 "$TOP_SRCDIR/tests/lib/soak.py" plan "$1" 1 |
	    awk '$2 == "forged"' | wc -l
}

plan 21

N=600
soak quiet --messages $N --concurrency 4 --no-fault
tap_diag "$LINE"
[ "$ST" -eq 0 ]
ok_if "no fault: the soak exits 0 (status $ST)" $?
[ -n "${FD1:-}" ]
ok_if "no fault: the last line has every figure" $?
[ "${SENT:-0}" -eq $N ] && [ $((DELIVERED + REJECTED)) -eq $N ]
ok_if "no fault: $N sent, $N accounted for (${DELIVERED:-?} delivered + ${REJECTED:-?} rejected)" $?
[ "${LOST:-1}" -eq 0 ] && [ "$WRONG" -eq 0 ]
ok_if "no fault: 0 lost (${LOST:-?}), 0 wrong ($WRONG)" $?
want=$(forged $N)
[ "${REJECTED:--1}" -eq "$want" ]
ok_if "no fault: exactly the $want forged messages refused (${REJECTED:-?})" $?
[ -n "${FD0:-}" ] && [ "$FD0" -eq "${FD1:--1}" ]
ok_if "no fault: filter-dkimkit's descriptors back to START (${FD0:-?}->${FD1:-?})" $?
[ -n "${F0:-}" ] && [ $((F1 - F0)) -lt 4096 ]
ok_if "no fault: filter-dkimkit's RSS grew by less than 4096 KiB (${F0:-?}->${F1:-?})" $?
! grep -q 'filter-dkimkit was restarted' quiet.out
ok_if "no fault: filter-dkimkit was not restarted" $?
[ "$ST" -eq 0 ] || tap_diag_file quiet.out

FAULTS=(outage garbage slow hup kill key store arc)
# Eight faults take about 30 s of the run (the clients keep sending
# through them): 1000 messages at no more than 20 a second (at least
# 50 s, however fast the machine) leave mail flowing between them and
# after the last.
NF=1000
soak faults --messages $NF --concurrency 4 --outage 2 --rate 20 \
    $(printf -- '--fault %s ' "${FAULTS[@]}")
tap_diag "$LINE"
for f in "${FAULTS[@]}"; do
	l=$(grep "^soak: fault $f: " faults.out)
	[[ "$l" == "soak: fault $f: ok "* ]]
	ok_if "faults: $f as it must be" $? "${l:-no line for $f}"
done
! grep -q '^soak: the run ended before' faults.out
ok_if "faults: every fault came before the end of the run" $?
[ "${SENT:-0}" -eq $NF ] && [ "${LOST:-1}" -eq 0 ]
ok_if "faults: $NF sent, 0 lost (${LOST:-?})" $?
# The filter that smtpd started again after the kill is the one at the
# end: no other restart.
! grep -q 'filter-dkimkit was restarted' faults.out
ok_if "faults: filter-dkimkit not restarted but by the kill" $?
# While unbound is down or answers garbage, fresh domains' lookups fail:
# the filter answers 451 (DKIM, SPF or DMARC temperror, RFC 9989
# 5.3.6), the client tries again and the message is delivered once
# unbound is back, with a verdict as its kind says.  (The relays defer
# rather than seal a temperror: tests/lib/chain.sh.)
[ "${DEFERRED:-0}" -gt 0 ]
ok_if "faults: some messages were deferred with a 4xx (${DEFERRED:-?})" $?
[ "$WRONG" -eq 0 ] && [ "$ST" -eq 0 ]
ok_if "faults: no wrong verdict ($WRONG wrong, status $ST)" $?
tap_last_ok || { grep '^soak: WRONG ' faults.out | head -n 5 |
    while read -r l; do tap_diag "$l"; done; tap_diag_file faults.out; }
done_testing
