#!/bin/bash
# filter-dkimkit -f (issue #22): signatures made with -f carry r=y and
# those made without do not, in the key-file and the key-directory
# forms; a message signed with -f and broken on the way gets one RFC 6651
# report from `dkimkit verify --reports`, and from the filter itself with
# -G (a report in -g DIR, the rs= text in the 550).  The filter is driven on its
# standard input as smtpd drives it (tests/integration/opensmtpd-tool.py).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3
FILTER="${FILTER_DKIMKIT:-$TOP_BUILDDIR/plugins/opensmtpd/filter-dkimkit}"
TOOL="$TOP_SRCDIR/tests/integration/opensmtpd-tool.py"
[ -x "$FILTER" ] || skip_all "$FILTER not built"

"$DKIMKIT" keygen --algorithm ed25519 --domain signer.test --selector s \
    --out k.pem > zone || bail_out "keygen"
echo '_report._domainkey.signer.test. IN TXT "ra=dkim-reports; rr=v; rs=Fix=20your=20DKIM"' >> zone
echo '_dmarc.signer.test. IN TXT "v=DMARC1; p=reject"' >> zone
mkdir -p kd/signer.test
cp k.pem kd/signer.test/s.key
echo s > kd/signer.test/active
printf 'From: <joe@signer.test>\nTo: <bob@example.net>\nSubject: hi\n\nHello.\n' > m.eml

# through NAME FILTER_ARGS...: m.eml signed by the filter, in NAME.eml
through()
{
	local name="$1"
	shift
	{ printf 'config|smtpd-version|6.8.0p2\nconfig|smtp-session-timeout|300\n'
	  printf 'config|subsystem|smtp-in\nconfig|admd|mx.test\nconfig|ready\n'
	  "$PY" "$TOOL" feed 0000000000000001 m.eml; } |
	    timeout 30 "$FILTER" -m sign -d signer.test "$@" > "$name.out" \
	    2> "$name.err"
	"$PY" "$TOOL" extract 0000000000000001 "$name.out" > "$name.eml"
}

rtag()
{
	tr -d '\r\n\t ' < "$1" | grep -q '^DKIM-Signature:.*;r=y;'
}

through keyf -s s -k k.pem -f && rtag keyf.eml
ok_if "-f with a key file: r=y" $? "$(cat keyf.err keyf.eml)"
through key -s s -k k.pem && ! rtag key.eml && grep -q '^DKIM-Signature' key.eml
ok_if "without -f: no r=" $? "$(cat key.err key.eml)"
through kdf -K kd -f && rtag kdf.eml
ok_if "-f with a key directory: r=y" $? "$(cat kdf.err kdf.eml)"

for f in keyf key; do
	sed 's/^Hello\./Hello!/' $f.eml > $f.bad
	rm -rf out; mkdir out
	"$DKIMKIT" verify --zone zone --reports --report-dir out $f.bad \
	    > /dev/null 2>&1
	n=$(ls out | wc -l)
	if [ $f = keyf ]; then want=1; else want=0; fi
	[ "$n" -eq "$want" ]
	ok_if "broken after the filter ($f): $want report(s)" $? "written $n"
done

# The filter sends them itself (-G): the _report lookup in its poll loop,
# the report written by a child process into -g DIR; a failing r=y
# message gets one, a passing one none.  Refused by the DMARC policy
# (-p -E), the 550 carries the record's rs= text (RFC 6651 3.1).
# session SID IP MAILFROM FILE: smtpd's lines for one message and commit.
session()
{
	printf 'report|0.6|1.0|smtp-in|link-connect|%s|client|pass|%s:4321|127.0.0.1:25\n' "$1" "$2"
	printf 'report|0.6|1.0|smtp-in|link-identify|%s|EHLO|client.test\n' "$1"
	printf 'report|0.6|1.0|smtp-in|tx-mail|%s|1|ok|%s\n' "$1" "$3"
	"$PY" "$TOOL" feed "$1" "$4"
	printf 'filter|0.6|1.0|smtp-in|commit|%s|00000000000000c1|\n' "$1"
}
rm -rf gout; mkdir gout
{ printf 'config|smtpd-version|6.8.0p2\nconfig|smtp-session-timeout|300\n'
  printf 'config|subsystem|smtp-in\nconfig|admd|mx.test\nconfig|ready\n'
  session 00000000000000a1 198.51.100.7 joe@signer.test keyf.bad
  session 00000000000000a2 198.51.100.7 joe@signer.test keyf.eml; } > g.in
timeout 60 "$PY" "$TOOL" converse "$FILTER" -m verify -z zone -i mx.test \
    -p -E -G -g "$TMPD/gout" -L "$TMPD/gout/state" -U reports@mx.test \
    < g.in > g.out 2> g.err
for _ in $(seq 50); do
	[ "$(ls gout/*.eml 2> /dev/null | wc -l)" -ge 1 ] && break
	sleep 0.1
done
n=$(ls gout/*.eml 2> /dev/null | wc -l)
f=$(ls gout/*.eml 2> /dev/null | head -1)
[ "$n" -eq 1 ] && grep -q '^To: <dkim-reports@signer.test>' "$f" &&
    grep -q '^From: <reports@mx.test>' "$f" &&
    grep -q '^Feedback-Type: auth-failure' "$f" &&
    grep -q '^Source-IP: 198.51.100.7' "$f" &&
    grep -q '^Original-Mail-From: <joe@signer.test>' "$f" &&
    grep -q 'report to dkim-reports@signer.test (signer.test, rr=v): written' g.err
ok_if "-G: the failing r=y message gets one report in -g DIR, the passing one none" $? \
    "reports $n" "$(cat g.err)"
grep -q '^filter-result|00000000000000a1|00000000000000c1|reject|550 5.7.1 dkimkit: rejected by the DMARC policy of signer.test: not authenticated (Fix your DKIM)$' g.out &&
    grep -q '^filter-result|00000000000000a2|00000000000000c1|proceed$' g.out
ok_if "-G -E: the 550 carries the rs= text, the passing message proceeds" $? \
    "$(grep filter-result g.out)"

# -g without -G would do nothing: refused at start.
"$FILTER" -m verify -z zone -g gout < /dev/null > /dev/null 2> gg.err
st=$?
[ "$st" -ne 0 ] && grep -q -- '-g: belongs to -G' gg.err
ok_if "-g without -G: refused at start" $? "exit $st: $(cat gg.err)"

done_testing
