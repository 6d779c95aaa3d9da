#!/bin/bash
# The README's main job, scripts/mailchain, run as a test: unbound with a
# DNSSEC-signed zone, a signing Exim, a forwarding Exim that breaks
# signatures, OpenSMTPD with filter-dkimkit verifying, Dovecot LMTP with
# the Sieve extension filing.  The script checks its own three verdicts;
# this test checks them again from the delivered files, has python3-dkim
# verify the good copy, makes sure a wrong verdict is caught, and that
# nothing is left running or lying around.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY="${PYTHON:-/usr/bin/python3}"
TOOL="$TOP_SRCDIR/tests/integration/opensmtpd-tool.py"
CHAIN="$TOP_SRCDIR/scripts/mailchain"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (exim4 -C, mount namespaces)"
for prog in exim4 unbound ldns-signzone swaks dovecot unshare; do
	have "$prog" || skip_all "$prog is not installed"
done
have python3:dkim || skip_all "python3-dkim is not installed"
chmod 755 "$TMPD"

# chain NAME ARGS...: run the script with its folders under $TMPD; output
# in NAME.out, status in ST, its kept working folder (if any) in WORK.
chain()
{
	local name="$1"

	shift
	ST=0
	TMPDIR="$TMPD" timeout 300 "$CHAIN" --build "$TOP_BUILDDIR" "$@" \
	    > "$name.out" 2>&1 || ST=$?
	WORK=$(sed -n 's/^The working folder is kept: //p' "$name.out")
}

chain keep --keep
[ "$ST" -eq 0 ] && grep -q '^All three verdicts are the expected ones\.$' \
    keep.out
ok_if "mailchain: exit 0, all three verdicts as expected" $? "exit $ST" \
    "$(cat keep.out)"
[ -n "$WORK" ] && [ -d "$WORK" ]
ok_if "mailchain --keep: the working folder is left" $? "$(tail -n 3 keep.out)"
[ -n "$WORK" ] || done_testing
BOX="$WORK/imap/users/bob/Maildir"

# copy N: the delivered copy of message N, whatever folder it is in.
copy()
{
	grep -l "^Message-ID: <mailchain-$1@example.test>" \
	    "$BOX"/new/* "$BOX"/.*/new/* 2>/dev/null | head -n 1
}

# The three rows the script wrote, against the files themselves.
[ "$(tail -n +2 "$WORK/results" | cut -f 1,2 | tr '\t\n' ': ')" = \
    "1:INBOX 2:Junk 3:Junk " ]
ok_if "results: 1 in INBOX, 2 and 3 in Junk" $? "$(cat "$WORK/results")"
one=$(copy 1)
two=$(copy 2)
three=$(copy 3)
case "$one|$two|$three" in
"$BOX"/new/*"|$BOX"/.Junk/new/*"|$BOX"/.Junk/new/*) true ;;
*) false ;;
esac
ok_if "maildir: message 1 in new/, 2 and 3 in .Junk/new/" $? \
    "$(find "$BOX" -type f)"
[ "$(find "$BOX" -path '*/new/*' -type f | wc -l)" -eq 3 ]
ok_if "maildir: three messages in all, none delivered twice" $? \
    "$(find "$BOX" -type f)"

if [ -n "$one" ]; then
	ar=$(top_ar "$one")
	[ "$(grep -c '^DKIM-Signature:' "$one")" -eq 2 ] &&
	    grep -q 'a=rsa-sha256' "$one" && grep -q 'a=ed25519-sha256' "$one"
	ok_if "message 1: two signatures (RSA and Ed25519) from Exim" $? \
	    "$(head -n 20 "$one")"
	case "$ar" in
	"Authentication-Results: mx.example.net; dkim=pass "*"header.s=rsa2048"*"dnssec=secure"*"; dkim=pass "*"header.s=ed "*"dnssec=secure"*"; dkim-adsp=pass header.from=example.test")
		true ;;
	*) false ;;
	esac
	ok_if "message 1: OpenSMTPD's A-R: both pass, DNSSEC secure, ADSP pass" \
	    $? "$ar"
	check "message 1: python3-dkim verifies the delivered copy" "$PY" \
	    "$TOOL" dkimverify "$one" "$WORK/dns/keys.txt"
fi
if [ -n "$two" ]; then
	ar=$(top_ar "$two")
	[ "$(printf '%s' "$ar" | grep -o 'dkim=fail [^;]*(body hash mismatch' |
	    wc -l)" -eq 2 ] && printf '%s' "$ar" | grep -q 'dkim-adsp=discard'
	ok_if "message 2: both fail with body hash mismatch, ADSP discard" $? \
	    "$ar"
	[ "$(tail -n 1 "$two")" = 'Forwarded by forward.example.net.' ] &&
	    grep -q 'by forward.example.net with esmtp' "$two"
	ok_if "message 2: went through the relay, which added its footer" $? \
	    "$(tail -n 3 "$two")"
	check_fails "message 2: python3-dkim fails it too" "$PY" "$TOOL" \
	    dkimverify "$two" "$WORK/dns/keys.txt"
fi
if [ -n "$three" ]; then
	ar=$(top_ar "$three")
	[ "$ar" = "Authentication-Results: mx.example.net; dkim=none; dkim-adsp=discard header.from=example.test" ]
	ok_if "message 3: dkim=none, dkim-adsp=discard" $? "$ar"
	[ "$(grep -ci '^Authentication-Results:' "$three")" -eq 1 ]
	ok_if "message 3: the forger's own A-R field was removed" $? \
	    "$(grep -i -A1 '^Authentication-Results:' "$three")"
fi
grep -q "sieve: msgid=<mailchain-3@example.test>: fileinto action: stored mail into mailbox 'Junk'" \
    "$WORK/imap/dovecot.log" &&
    grep -q 'sieve: dkimkit: imap.example.net: dkim=none adsp=discard (example.test) dmarc=none (example.test) arc=none (0 sets)$' \
    "$WORK/imap/dovecot.log"
ok_if "Dovecot's log: the Sieve verdict and the filing of message 3" $? \
    "$(grep -v Debug "$WORK/imap/dovecot.log" | tail -n 20)"
grep -q 'Sieve:  dkim=pass adsp=pass; signatures: pass (example.test), pass (example.test)' keep.out
ok_if "the output shows the delivery-time verdicts" $? "$(cat keep.out)"
[ "$(grep -c '^   why:    body-appended: [0-9]* octets in [0-9]* lines\? were appended' keep.out)" -eq 2 ] &&
    [ "$(grep -c '^   why: ' keep.out)" -eq 2 ]
ok_if "dkimkit explain: the relay's footer broke both signatures of message 2" \
    $? "$(grep -A8 '^2\. ' keep.out)"

# nothing_left DIR: no process of the run is still there.
nothing_left()
{
	! pgrep -f -- "$1" > /dev/null
}
nothing_left "$WORK"
ok_if "--keep: every server of the run has stopped" $? \
    "$(pgrep -af -- "$WORK")"

rm -rf -- "$WORK"

# A relay that does not break the signature: message 2 passes, which the
# script must call wrong.
chain honest --honest-relay
[ "$ST" -eq 1 ] &&
    grep -q '^   folder: INBOX: WRONG (expected Junk; A-R lacks dkim=fail' \
    honest.out && [ "$(grep -c ': ok$' honest.out)" -eq 2 ]
ok_if "--honest-relay: the unexpected pass is reported, exit 1" $? \
    "exit $ST" "$(cat honest.out)"
[ -z "$WORK" ] && [ -z "$(find "$TMPD" -maxdepth 1 -name 'dkimkit-mailchain.*')" ]
ok_if "without --keep: the working folder is removed" $? \
    "$(ls "$TMPD")"
nothing_left "$TMPD/dkimkit-mailchain."
ok_if "without --keep: every server has stopped" $? \
    "$(pgrep -af -- "$TMPD/dkimkit-mailchain.")"
done_testing
