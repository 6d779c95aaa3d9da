#!/bin/bash
# filter-dkimkit -f (issue #22): signatures made with -f carry r=y and
# those made without do not, in the key-file and the key-directory
# forms; a message signed with -f and broken on the way gets one RFC 6651
# report from `dkimkit verify --reports`.  The filter is driven on its
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
echo '_report._domainkey.signer.test. IN TXT "ra=dkim-reports; rr=v"' >> zone
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

done_testing
