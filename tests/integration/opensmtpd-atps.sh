#!/bin/bash
# The atps settings in filter-dkimkit (-y, -Y), driven with protocol
# streams as smtpd 6.8 writes them, its DNS an unbound on loopback: a
# message signed by signer.test for author.test, which publishes an ATPS
# record (RFC 6541) and ADSP dkim=all, gets dkim-atps=pass in the
# Authentication-Results field it sends back and "atps=pass for
# author.test" in its log line with -y; none of it without; and with -Y
# and -A, ADSP passes on the authorized signature.  The same settings
# words as the command's (plugins/common/settings.c).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
. "$TOP_SRCDIR/tests/lib/smtpd.sh" || bail_out "cannot read tests/lib/smtpd.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
smtpd_test_setup
need unbound ldns-read-zone || { done_testing; exit 0; }

"$DKIMKIT" keygen --algorithm ed25519 --domain signer.test --selector sel \
    --out signer.pem > zone || bail_out "keygen"
"$DKIMKIT" key atps-record --domain author.test --signer signer.test \
    --hash sha1 >> zone || bail_out "atps-record"
cat >> zone <<'EOF'
author.test. 300 IN A 192.0.2.1
_adsp._domainkey.author.test. 300 IN TXT "dkim=all"
EOF
unbound_start zone || bail_out "unbound did not start"
DNS="127.0.0.1@$UNBOUND_PORT"

HS='config|smtpd-version|6.8.0p2
config|smtp-session-timeout|300
config|subsystem|smtp-in
config|admd|mx.test
config|ready'
S1=00000000000000a1

printf 'From: Al <al@author.test>\nTo: bob@dest.test\nSubject: atps\nMessage-ID: <atps@author.test>\n\nhello\n' |
    "$DKIMKIT" sign --key signer.pem --domain signer.test --selector sel \
    --atps author.test --atps-hash sha1 | tr -d '\r' > signed.eml ||
    bail_out "sign"

# converse NAME ARGS...: one session carrying signed.eml through the
# filter with ARGS; NAME.got is the message sent back, NAME.err its log.
converse()
{
	local name="$1"

	shift
	{
		echo "$HS"
		printf 'report|0.6|1.0|smtp-in|link-connect|%s|client|pass|192.0.2.9:4321|127.0.0.1:25\n' $S1
		printf 'report|0.6|1.0|smtp-in|link-identify|%s|EHLO|client.test\n' $S1
		printf 'report|0.6|1.0|smtp-in|tx-mail|%s|1|ok|al@author.test\n' $S1
		"$PY" "$TOOL" feed $S1 signed.eml
		printf 'filter|0.6|1.0|smtp-in|commit|%s|00000000000000c1|\n' $S1
	} > "$name.in"
	timeout 60 "$PY" "$TOOL" converse "$FILTER" "$@" < "$name.in" \
	    > "$name.out" 2> "$name.err"
	"$PY" "$TOOL" extract $S1 "$name.out" > "$name.got"
}

converse on -m verify -A -y -i mx.test -D "$DNS"
top_ar on.got | grep -q 'dkim-atps=pass header.from=author.test'
ok_if "-y: the A-R field says dkim-atps=pass header.from=author.test" $? \
    "$(top_ar on.got)" "$(cat on.err)"
top_ar on.got | grep -q 'dkim-adsp=pass header.from=author.test'
ok_if "-y -A: ADSP counts the authorized signature (RFC 6541 6)" \
    $? "$(top_ar on.got)"
grep -q 'atps=pass for author.test\]' on.err
ok_if "-y: the log line says atps=pass for author.test" $? "$(cat on.err)"

converse adsp -m verify -A -Y -i mx.test -D "$DNS"
top_ar adsp.got | grep -q 'dkim-adsp=pass header.from=author.test' &&
    top_ar adsp.got | grep -q 'dkim-atps=pass'
ok_if "-Y (old word, now -y) -A: ADSP passes (dkim-adsp=pass)" \
    $? "$(top_ar adsp.got)" "$(cat adsp.err)"

converse off -m verify -A -i mx.test -D "$DNS"
top_ar off.got | grep -q 'dkim=pass' && ! top_ar off.got | grep -q atps &&
    ! grep -q atps= off.err
ok_if "without -y: no dkim-atps entry, no atps= in the log" $? \
    "$(top_ar off.got)" "$(cat off.err)"

done_testing
