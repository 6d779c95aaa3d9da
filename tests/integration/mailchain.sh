#!/bin/bash
# The README's main job, scripts/mailchain, run as a test: unbound with a
# DNSSEC-signed zone (keys, SPF, DMARC p=reject) and the relays' sealing
# keys, a signing Exim, two forwarding Exims that break signatures and
# seal (ARC), OpenSMTPD with filter-dkimkit verifying and enforcing DMARC
# (trusting one of the sealers), Dovecot LMTP with the Sieve extension
# filing.  The script checks its own four verdicts; this test checks them
# again from the delivered files, the MX's reply and logs, has
# python3-dkim verify the good copy and dkimkit verify the ARC chains,
# checks the RFC 6651 failure report that reached postmaster@example.test,
# makes sure a wrong verdict is caught, and that nothing is left running
# or lying around.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
. "$TOP_SRCDIR/tests/lib/json.sh"
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
[ "$ST" -eq 0 ] && grep -q '^All four verdicts are the expected ones\.$' \
    keep.out
ok_if "mailchain: exit 0, all four verdicts as expected" $? "exit $ST" \
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

# section N: the script's output on message N.
section() { sed -n "/^$1\. /,/^   folder: /p" keep.out; }

# The four rows the script wrote, against the files themselves.
[ "$(tail -n +2 "$WORK/results" | cut -f 1,2 | tr '\t\n' ': ')" = \
    "1:INBOX 2:INBOX 3:refused 4:Junk " ]
ok_if "results: 1 and 2 in INBOX, 3 refused, 4 in Junk" $? \
    "$(cat "$WORK/results")"
one=$(copy 1)
two=$(copy 2)
three=$(copy 3)
four=$(copy 4)
case "$one|$two|$three|$four" in
"$BOX"/new/*"|$BOX"/new/*"||$BOX"/.Junk/new/*) true ;;
*) false ;;
esac
ok_if "maildir: messages 1 and 2 in new/, 4 in .Junk/new/, 3 nowhere" $? \
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
	"Authentication-Results: mx.example.net; dkim=pass "*"header.s=rsa2048"*"dnssec=secure"*"; dkim=pass "*"header.s=ed "*"dnssec=secure"*"; dkim-adsp=pass header.from=example.test; spf=pass smtp.mailfrom=example.test; dmarc=pass "*"header.from=example.test"*"; arc=none smtp.remote-ip=127.0.0.2")
		true ;;
	*) false ;;
	esac
	ok_if "message 1: A-R: both pass (DNSSEC secure), ADSP, SPF (127.0.0.2) and DMARC pass" \
	    $? "$ar"
	check "message 1: python3-dkim verifies the delivered copy" "$PY" \
	    "$TOOL" dkimverify "$one" "$WORK/dns/keys.txt"
	section 1 | grep -qx '   verdicts: dkim=pass,pass spf=pass dmarc=pass arc=none disposition=none folder=INBOX'
	ok_if "message 1: the output's verdicts line" $? "$(section 1)"
fi
if [ -n "$two" ]; then
	ar=$(top_ar "$two")
	[ "$(printf '%s' "$ar" | grep -o 'dkim=fail [^;]*(body hash mismatch' |
	    wc -l)" -eq 2 ] && printf '%s' "$ar" | grep -q 'spf=fail smtp.mailfrom=example.test'
	ok_if "message 2: both signatures fail (body hash mismatch), SPF fails" \
	    $? "$ar"
	printf '%s' "$ar" | grep -q 'dmarc=fail (policy reject of example.test) reason="local_policy: arc=pass, trusted sealer forward.example.net of instance 1 recorded a pass" header.from=example.test polrec.p=reject policy.dmarc=none;' &&
	    printf '%s' "$ar" | grep -q 'arc=pass [^;]*smtp.remote-ip=127.0.0.3$'
	ok_if "message 2: A-R: arc=pass, dmarc=fail with the trusted sealer's local_policy override" \
	    $? "$ar"
	[ "$(tail -n 1 "$two")" = 'Forwarded by forward.example.net.' ] &&
	    grep -q 'by forward.example.net with esmtp' "$two"
	ok_if "message 2: went through the relay, which added its footer" $? \
	    "$(tail -n 3 "$two")"
	[ "$(grep -c '^ARC-Seal: ' "$two")" -eq 1 ] &&
	    header_fields "$two" ARC-Seal | grep -q 'i=1;.* cv=none;.* d=forward.example.net;' &&
	    header_fields "$two" ARC-Authentication-Results |
	    grep -q '^i=1; forward.example.net; dkim=pass header.d=example.test .*; dkim=pass header.d=example.test '
	ok_if "message 2: one ARC set by forward.example.net, its AAR records both DKIM passes (before the footer)" \
	    $? "$(grep -A3 '^ARC-' "$two")"
	# the servers are gone: the keys from a zone file of the records
	cat "$WORK/dns/keys.txt" "$WORK/dns/forward.txt" > two.zone
	"$DKIMKIT" verify --arc --json --zone two.zone "$two" > two.json \
	    2> two.err
	[ "$(json_field two.json '"%s %s" % (j["arc"]["result"], j["arc"]["instances"])')" = "pass 1" ]
	ok_if "message 2: dkimkit verify --arc on the copy: pass, 1 instance" \
	    $? "$(cat two.json two.err)"
	check_fails "message 2: python3-dkim fails it too" "$PY" "$TOOL" \
	    dkimverify "$two" "$WORK/dns/keys.txt"
	section 2 | grep -qx '   verdicts: dkim=fail,fail spf=fail dmarc=fail arc=pass disposition=none (local_policy: arc=pass, trusted sealer forward.example.net of instance 1 recorded a pass) folder=INBOX'
	ok_if "message 2: the output's verdicts line shows the override" $? \
	    "$(section 2)"
fi
[ -z "$three" ] &&
    grep -q '^<\*\* *550 5.7.1 dkimkit: rejected by the DMARC policy of example.test: not authenticated' \
    "$WORK/msg/3.swaks"
ok_if "message 3: refused at the end of DATA with 550 5.7.1 (DMARC policy of example.test)" \
    $? "$(tail -n 12 "$WORK/msg/3.swaks")"
grep -q 'spf=fail (example.test: 127.0.0.5 matched -all in example.test)' \
    "$WORK/mx/smtpd.log" &&
    grep -q 'dkim=none adsp=discard (example.test) dmarc=fail (example.test, policy reject, disposition reject) arc=none (0 sets)' \
    "$WORK/mx/smtpd.log" &&
    grep -q 'DMARC reject: refused at commit' "$WORK/mx/smtpd.log"
ok_if "message 3: the filter's log: SPF fails for 127.0.0.5, DMARC fail, disposition reject" \
    $? "$(grep -F 'filter-dkimkit' "$WORK/mx/smtpd.log" | tail -n 20)"
section 3 | grep -qx '   reply:  550 5.7.1 dkimkit: rejected by the DMARC policy of example.test: not authenticated' &&
    section 3 | grep -qx '   verdicts: dkim=none spf=fail dmarc=fail arc=none disposition=reject folder=none (refused at SMTP)'
ok_if "message 3: the output shows the 550, why, and the verdicts" $? \
    "$(section 3)"
if [ -n "$four" ]; then
	ar=$(top_ar "$four")
	[ "$(printf '%s' "$ar" | grep -o 'dkim=fail [^;]*(body hash mismatch' |
	    wc -l)" -eq 2 ] &&
	    printf '%s' "$ar" | grep -q 'dmarc=fail (policy reject of example.test) reason="local_policy: arc=pass, forwarded, latest sealer list.example.org of instance 1, no trusted sealer vouched: reject lowered to quarantine" header.from=example.test polrec.p=reject policy.dmarc=quarantine;' &&
	    printf '%s' "$ar" | grep -q 'arc=pass [^;]*smtp.remote-ip=127.0.0.4$' &&
	    ! printf '%s' "$ar" | grep -q 'trusted sealer list'
	ok_if "message 4: A-R: DKIM fails, arc=pass, dmarc=fail with the forwarded override (quarantine)" \
	    $? "$ar"
	[ "$(header_fields "$four" X-Dkimkit-Quarantine)" = "dmarc example.test" ] &&
	    header_fields "$four" ARC-Seal | grep -q ' d=list.example.org;' &&
	    [ "$(tail -n 1 "$four")" = 'Sent through list.example.org.' ]
	ok_if "message 4: sealed by list.example.org, marked X-Dkimkit-Quarantine by the MX" \
	    $? "$(head -n 12 "$four")"
	grep -q 'DMARC reject lowered to quarantine (-F): forwarded mail, arc=pass (latest sealer list.example.org, i=1), no trusted sealer vouched for it' \
	    "$WORK/mx/smtpd.log"
	ok_if "message 4: the filter's log says why it quarantined rather than refused" \
	    $? "$(grep -F 'filter-dkimkit' "$WORK/mx/smtpd.log" | tail -n 20)"
	section 4 | grep -qx '   verdicts: dkim=fail,fail spf=fail dmarc=fail arc=pass disposition=quarantine folder=Junk'
	ok_if "message 4: the output's verdicts line" $? "$(section 4)"
fi
grep -q "sieve: msgid=<mailchain-4@example.test>: fileinto action: stored mail into mailbox 'Junk'" \
    "$WORK/imap/dovecot.log" &&
    grep -q 'sieve: dkimkit: imap.example.net: dkim=fail adsp=discard (example.test) dmarc=fail (example.test, policy reject, disposition none, local_policy by trusted sealer forward.example.net) arc=pass (1 sets)' \
    "$WORK/imap/dovecot.log" &&
    grep -q 'sieve: dkimkit: imap.example.net: dkim=fail adsp=discard (example.test) dmarc=fail (example.test, policy reject, disposition reject) arc=pass (1 sets)' \
    "$WORK/imap/dovecot.log"
ok_if "Dovecot's log: the Sieve verdicts of 2 (override) and 4 (reject), and the filing of 4" \
    $? "$(grep -v Debug "$WORK/imap/dovecot.log" | tail -n 20)"
grep -q 'Sieve:  dkim=pass adsp=pass dmarc=pass arc=none (disposition none); signatures: pass (example.test), pass (example.test)' keep.out
ok_if "the output shows the delivery-time verdicts" $? "$(cat keep.out)"
[ "$(section 2 | grep -c '^   why:    body-appended: [0-9]* octets in [0-9]* lines\? were appended')" -eq 2 ] &&
    [ "$(section 4 | grep -c '^   why:    body-appended: ')" -eq 2 ] &&
    [ "$(grep -c '^   why: ' keep.out)" -eq 4 ]
ok_if "dkimkit explain: the relays' footers broke both signatures of 2 and 4" \
    $? "$(grep -A12 '^2\. ' keep.out)"

# The RFC 6651 failure report (example.test signs with r=y, its
# _report._domainkey record asks for reports to postmaster): the MX sent
# one, by SMTP from <> to mail.example.test, which handed it to Dovecot;
# it is an ARF auth-failure report about a relayed message (2 or 4,
# whichever the MX saw first), and the other relayed failure was
# rate-limited (one an hour per address).
RBOX="$WORK/imap/users/postmaster/Maildir"
rep=$(ls "$RBOX"/new/* 2> /dev/null)
about=$(grep -m 1 '^Message-ID: <mailchain-' "$rep" 2> /dev/null)
[ "$(printf '%s\n' "$rep" | grep -c .)" -eq 1 ] &&
    grep -qx 'Return-Path: <>' "$rep" &&
    header_fields "$rep" To | grep -qx '<postmaster@example.test>' &&
    header_fields "$rep" Content-Type |
    grep -q '^multipart/report;.*report-type="\{0,1\}feedback-report' &&
    grep -q '^Feedback-Type: auth-failure' "$rep" &&
    grep -q '^Auth-Failure: bodyhash' "$rep" &&
    grep -q '^DKIM-Domain: example.test' "$rep" &&
    grep -q '^Original-Mail-From: <alice@example.test>' "$rep" &&
    grep -q '^Content-Type: text/rfc822-headers' "$rep" &&
    case "$about" in
    "Message-ID: <mailchain-2@example.test>" | \
    "Message-ID: <mailchain-4@example.test>") true ;;
    *) false ;;
    esac
ok_if "the failure report: one, from <>, in postmaster@example.test's INBOX, an ARF auth-failure report about a relayed message" \
    $? "reports: $rep" "$( [ -n "$rep" ] && head -n 60 "$rep")"
[ "$(grep -c 'report to postmaster@example.test (example.test, rr=v): sent' "$WORK/mx/smtpd.log")" -eq 1 ] &&
    [ "$(grep -c 'report to postmaster@example.test (example.test, rr=v): rate_limited' "$WORK/mx/smtpd.log")" -eq 1 ]
ok_if "the MX's log: one report sent, the second relayed failure rate-limited" \
    $? "$(grep -F 'report' "$WORK/mx/smtpd.log")"
grep -q '^   report: ok$' keep.out
ok_if "the output shows the report" $? "$(sed -n '/^The failure report/,$p' keep.out)"

# nothing_left DIR: no process of the run is still there.
nothing_left()
{
	! pgrep -f -- "$1" > /dev/null
}
nothing_left "$WORK"
ok_if "--keep: every server of the run has stopped" $? \
    "$(pgrep -af -- "$WORK")"

rm -rf -- "$WORK"

# Relays that do not break the signatures: messages 2 and 4 pass, which
# the script must call wrong.
chain honest --honest-relay
[ "$ST" -eq 1 ] &&
    grep -q '^   folder: INBOX: WRONG (A-R lacks dkim=fail' honest.out &&
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
