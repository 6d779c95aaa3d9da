#!/bin/bash
# filter-dkimkit never exits on input (issue 25): one filter process, fed
# on its stdin as smtpd would, meets one kind of hostile input after the
# other (truncated lines, unknown events and phases, lines of a MiB,
# malformed and wrong session ids, data lines and commits for sessions it
# never saw, lines after a message's final ".", binary bytes, a data line
# far over the line limit inside a real message).  After each one it must
# still run and answer a valid session in full: the message sent back
# ending with ".", dkim=pass in the field it adds, "proceed" at commit.
# At the end a cut line and then EOF: it must exit 0.  In build/asan the
# filter is the sanitized one, so any memory error fails the run.
# (opensmtpd.sh checks the output of such streams line by line; this one
# checks that the process lives on through them.)
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
FILTER="${FILTER_DKIMKIT:-$TOP_BUILDDIR/plugins/opensmtpd/filter-dkimkit}"
[ -x "$FILTER" ] || bail_out "$FILTER is not built"

"$DKIMKIT" keygen --algorithm ed25519 --domain example.test --selector ed \
    --out ed.pem > zone || bail_out "keygen failed"
printf 'From: Alice <alice@example.test>\nTo: bob@example.net\nSubject: hi\n\n.dot line\nhello\n' > m.eml
"$DKIMKIT" sign --key ed.pem --domain example.test --selector ed m.eml |
    tr -d '\r' > signed.eml || bail_out "sign failed"

mkfifo in || bail_out "mkfifo failed"
"$FILTER" -m verify -z zone -i mx.test < in > out 2> err &
FPID=$!
exec 3> in
cleanup_filter()
{
	exec 3>&- 2>/dev/null
	kill "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
}
trap cleanup_filter EXIT
printf 'config|smtpd-version|6.8.0p2\nconfig|smtp-session-timeout|300\n' >&3
printf 'config|subsystem|smtp-in\nconfig|admd|mx.test\nconfig|ready\n' >&3

# data SID TOKEN LINE...: data-line requests (LINE dot-escaped as smtpd
# sends it).
data()
{
	local sid="$1" tok="$2" l

	shift 2
	for l in "$@"; do
		printf 'filter|0.6|1.0|smtp-in|data-line|%s|%s|%s\n' \
		    "$sid" "$tok" "$l" >&3
	done
}
# session SID: the signed message in full, then its commit.
session()
{
	local l

	while IFS= read -r l; do
		case "$l" in .*) l=".$l" ;; esac
		data "$1" 00000000000000b0 "$l"
	done < signed.eml
	data "$1" 00000000000000b0 .
	printf 'filter|0.6|1.0|smtp-in|commit|%s|00000000000000c0|\n' "$1" >&3
}
# answered SID: within 30 s, the filter sent back SID's message ending
# with "." and an A-R field with dkim=pass, and let the commit proceed.
answered()
{
	local i

	for ((i = 0; i < 150; i++)); do
		if grep -qx "filter-result|$1|00000000000000c0|proceed" out; then
			grep -qx "filter-dataline|$1|00000000000000b0|Authentication-Results: mx.test;" out &&
			    grep -q "^filter-dataline|$1|00000000000000b0|"$'\t'"dkim=pass header.d=example.test" out &&
			    grep -qx "filter-dataline|$1|00000000000000b0|\." out
			return
		fi
		kill -0 "$FPID" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}
# survives NAME SID: after the hostile input just written, the filter
# still runs and answers session SID.
n=0
survives()
{
	n=$((n + 1))
	session "$2"
	answered "$2" && kill -0 "$FPID" 2>/dev/null
	ok_if "$1: still running, session $2 answered in full" $? \
	    "$(tail -n 3 err)"
}

plan 13

survives "a valid session first" 0000000000000001

printf 'filter|0.6|1.0|smtp-in|data-li\nreport|0.6\nfilter|\n|\n\n' >&3
survives "truncated lines" 0000000000000002

printf 'report|0.6|1.0|smtp-in|no-such-event|0000000000000003|x\n' >&3
printf 'filter|0.6|1.0|smtp-in|no-such-phase|0000000000000003|00000000000000d1|x\n' >&3
printf 'filter|0.6|1.0|smtp-out|data-line|0000000000000003|00000000000000d2|x\n' >&3
printf 'config|ready\nregister|ready\nwhatever|0.6|1.0\n' >&3
survives "unknown events, phases, subsystems and kinds" 0000000000000003

{ head -c 1048576 /dev/zero | tr '\0' 'x'; echo; } >&3
{ printf 'filter|0.6|1.0|smtp-in|data-line|0000000000000004|00000000000000b0|'
  head -c 1048576 /dev/zero | tr '\0' 'y'; echo; } >&3
survives "lines of 1 MiB (one for the session that follows)" 0000000000000005

for sid in zz 00000000000000000a1 '' '-1' '0x10' 'a1 '; do
	data "$sid" 00000000000000b0 'From: x@example.test'
	printf 'filter|0.6|1.0|smtp-in|commit|%s|00000000000000c0|\n' "$sid" >&3
	printf 'report|0.6|1.0|smtp-in|link-disconnect|%s\n' "$sid" >&3
done
data 0000000000000006 zz 'From: x@example.test'
survives "malformed session ids and tokens" 0000000000000006

data 00000000000000f7 00000000000000b0 'Subject: no such session' .
printf 'filter|0.6|1.0|smtp-in|commit|00000000000000f8|00000000000000c0|\n' >&3
printf 'report|0.6|1.0|smtp-in|tx-rollback|00000000000000f9\n' >&3
printf 'report|0.6|1.0|smtp-in|link-disconnect|00000000000000fa\n' >&3
survives "data lines, commits and reports for unknown sessions" 0000000000000007

# After session 7's final "." (and its commit): more lines for it, a
# second ".", a second commit; then a new message on the same session.
data 0000000000000007 00000000000000b0 'after the end' . .
printf 'filter|0.6|1.0|smtp-in|commit|0000000000000007|00000000000000c9|\n' >&3
printf 'report|0.6|1.0|smtp-in|tx-reset|0000000000000007\n' >&3
survives "lines after a message's final dot" 0000000000000008

printf 'filter|0.6|1.0|smtp-in|data-line|0000000000000009|00000000000000b0|\001\377\000\033[2J\n' >&3
printf '\377\376\375|||||||||\n\r\n\000\000\n' >&3
survives "binary bytes, NUL and CR" 0000000000000009

# A message with a header field line of 1 MiB: over every limit, the
# verdict is the filter's business (opensmtpd.sh); it must still answer.
data 000000000000000a 00000000000000b0 'From: Alice <alice@example.test>'
{ printf 'filter|0.6|1.0|smtp-in|data-line|000000000000000a|00000000000000b0|X-Big: '
  head -c 1048576 /dev/zero | tr '\0' 'z'; echo; } >&3
data 000000000000000a 00000000000000b0 '' body .
printf 'filter|0.6|1.0|smtp-in|commit|000000000000000a|00000000000000c0|\n' >&3
for ((i = 0; i < 150; i++)); do
	grep -q '^filter-result|000000000000000a|00000000000000c0|' out && break
	sleep 0.2
done
grep -qx 'filter-dataline|000000000000000a|00000000000000b0|\.' out &&
    grep -q '^filter-result|000000000000000a|00000000000000c0|' out
ok_if "a 1 MiB header line inside a message: the message is answered" $? \
    "$(tail -n 3 err)"
survives "after the 1 MiB header line" 000000000000000b

# A session left half-way (no final dot), and link-disconnect for it.
data 000000000000000c 00000000000000b0 'From: Alice <alice@example.test>' ''
printf 'report|0.6|1.0|smtp-in|link-disconnect|000000000000000c\n' >&3
data 000000000000000c 00000000000000b0 'late line' .
survives "a session cut short, then lines for it after disconnect" 000000000000000d

# The same session id twice at once: two messages interleaved.
session 000000000000000e
session 000000000000000e
answered 000000000000000e && kill -0 "$FPID" 2>/dev/null
ok_if "the same session sent twice: still running, answered" $? \
    "$(tail -n 3 err)"

# The end: a cut line, then EOF.  Exit 0, nothing from the sanitizers.
printf 'filter|0.6|1.0|smtp-in|data-line|000000000000000f|00000000000000b0|cut' >&3
exec 3>&-
st=0
for ((i = 0; i < 150; i++)); do
	kill -0 "$FPID" 2>/dev/null || break
	sleep 0.2
done
wait "$FPID" || st=$?
[ "$st" -eq 0 ] && ! grep -q 'Sanitizer\|runtime error' err
ok_if "a cut line, then EOF: exit 0 (status $st), no sanitizer report" $? \
    "$(tail -n 5 err)"
trap - EXIT
done_testing
