#!/bin/bash
# Failure reports handed to a real MTA (issue #22): `dkimkit verify
# --reports --sendmail PROG` runs Exim's sendmail interface (exim4 -C with
# a private configuration, as `sendmail -t -f ''`), and the report arrives
# in Exim's maildir addressed to ra@ the signing domain, with the null
# envelope sender (Return-path: <>); --report-smtp does the same over
# SMTP to an Exim daemon on loopback.  Exim's verify with the reports
# word sends the RFC 6651 reports, and with dmarc the RFC 9991 ones.
# Needs root (exim4 -C).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/exim.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
exim_check || skip_all "$EXIM_WHY"
# Debian-exim must reach its spool and maildir below the temp dir.
chmod 755 "$TMPD"

exim_conf "$TMPD/x" "" "  return_path_add"
# dkimkit runs this as its sendmail: Exim's own sendmail options.
cat > sendmail <<EOF2
#!/bin/sh
exec "$EXIM" -C "$TMPD/x/exim.conf" "\$@"
EOF2
chmod 755 sendmail

"$DKIMKIT" keygen --algorithm ed25519 --domain signer.test --selector s \
    --out k.pem > zone || bail_out "keygen"
echo '_report._domainkey.signer.test. IN TXT "ra=dkim-reports; rr=v; rs=Fix=20your=20DKIM"' >> zone
printf 'From: joe@signer.test\nTo: bob@example.net\nSubject: hi\n\nHello.\n' |
    "$DKIMKIT" sign --report-request --key k.pem --domain signer.test \
    --selector s | sed 's/^Hello\./Hello!/' > bad.eml

"$DKIMKIT" verify --zone zone --json --reports --sendmail "$TMPD/sendmail" \
    --report-from reports@mx.test bad.eml > v.json 2> v.err
st=$?
[ "$st" -eq 1 ] && grep -q '"status":"sent"' v.json
ok_if "the report is handed to Exim's sendmail (status sent)" $? \
    "exit $st: $(cat v.json v.err)"

# Exim delivers in the background; wait for the maildir.
for _ in $(seq 100); do
	f=$(ls "$TMPD"/x/mail/new/* 2> /dev/null | head -1)
	[ -n "$f" ] && break
	sleep 0.1
done
[ -n "$f" ] && grep -qi '^Return-path: <>' "$f" &&
    grep -q '^To: <dkim-reports@signer.test>' "$f" &&
    grep -q '^Feedback-Type: auth-failure' "$f" &&
    grep -q 'report-type=feedback-report' "$f"
ok_if "the report arrives in the maildir, sent from <>" $? \
    "$( [ -n "$f" ] && head -20 "$f"; tail -5 "$TMPD"/x/log/mainlog 2> /dev/null)"

# The same report by SMTP to an Exim daemon on loopback: MAIL FROM:<>.
exim_conf "$TMPD/y" "" "  return_path_add"
exim_start "$TMPD/y" || bail_out "exim did not start"
"$DKIMKIT" verify --zone zone --json --reports \
    --report-smtp "127.0.0.1:$EXIM_PORT" --authserv-id mx.test \
    bad.eml > s.json 2> s.err
st=$?
[ "$st" -eq 1 ] && grep -q '"status":"sent"' s.json
ok_if "the report is sent by SMTP (status sent)" $? \
    "exit $st: $(cat s.json s.err)"
for _ in $(seq 100); do
	f=$(ls "$TMPD"/y/mail/new/* 2> /dev/null | head -1)
	[ -n "$f" ] && break
	sleep 0.1
done
[ -n "$f" ] && grep -qi '^Return-path: <>' "$f" &&
    grep -q '^To: <dkim-reports@signer.test>' "$f" &&
    grep -q '^Feedback-Type: auth-failure' "$f" &&
    grep -q 'MAIL FROM:<>\|<= <>' "$TMPD"/y/log/mainlog
ok_if "it arrives from <> over SMTP" $? \
    "$( [ -n "$f" ] && head -20 "$f"; tail -5 "$TMPD"/y/log/mainlog 2> /dev/null)"

# Exim's sign function with report-request adds r=y; the signature it
# makes, broken on the way, gets its report.
BUILT="$TOP_BUILDDIR/plugins/exim/.libs/dkimkit_exim.so"
if [ -f "$BUILT" ] && have swaks && exim_module "$TMPD" "$BUILT"; then
	chmod 644 k.pem
	exim_conf "$TMPD/s" "  warn add_header = \${dlfunc{$SO}{sign}{signer.test}{s}{$TMPD/k.pem}{}{}{report-request}}"
	exim_start "$TMPD/s" || bail_out "exim (sign) did not start"
	printf 'From: joe@signer.test\nTo: bob@example.net\nSubject: hi\n\nHello.\n' > plain.eml
	swaks_send "$EXIM_PORT" plain.eml swaks.out --to bob@example.net \
	    --from joe@signer.test
	f=$(maildir_wait "$TMPD/s/mail" 'DKIM-Signature')
	[ -n "$f" ] && tr -d '\r\n\t ' < "$f" | grep -q 'DKIM-Signature:.*;r=y;'
	ok_if "Exim's sign with report-request adds r=y" $? \
	    "$(cat swaks.out; [ -n "$f" ] && head -8 "$f")"
	sed 's/^Hello\./Hello!/' "$f" > ebad.eml
	rm -rf eout; mkdir eout
	"$DKIMKIT" verify --zone zone --reports --report-dir eout ebad.eml \
	    > /dev/null 2>&1
	n=$(ls eout | wc -l)
	[ "$n" -eq 1 ]
	ok_if "its broken signature gets one report" $? "written $n"

	# Exim's verify with the reports word: the broken message is
	# delivered with dkim=fail and one report lands in report-dir=.
	chmod 644 zone
	mkdir -p "$TMPD/v/reports"
	exim_conf "$TMPD/v" "  warn add_header = \${dlfunc{$SO}{verify}{mx.test reports}{zone=$TMPD/zone}{report-dir=$TMPD/v/reports}{report-state=$TMPD/v/reports/state}{mail-from=\$sender_address}{store=sqlite:$TMPD/v/reports/obs.db}}
  warn add_header = X-Report-Text: \${dlfunc{$SO}{result}{report-text}}"
	chown -R Debian-exim "$TMPD/v/reports"
	exim_start "$TMPD/v" || bail_out "exim (verify) did not start"
	swaks_send "$EXIM_PORT" ebad.eml vswaks.out --to bob@example.net \
	    --from joe@signer.test
	f=$(maildir_wait "$TMPD/v/mail" 'Authentication-Results')
	n=$(ls "$TMPD"/v/reports/*.eml 2> /dev/null | wc -l)
	[ -n "$f" ] && grep -q 'dkim=fail' "$f" && [ "$n" -eq 1 ] &&
	    grep -q '^To: <dkim-reports@signer.test>' "$TMPD"/v/reports/*.eml &&
	    grep -q '^Original-Mail-From: <joe@signer.test>' "$TMPD"/v/reports/*.eml &&
	    grep -q 'report to dkim-reports@signer.test (signer.test, rr=v): written' \
	    "$TMPD/v/log/mainlog"
	ok_if "Exim's verify with reports: dkim=fail, one report written" $? \
	    "reports $n: $(cat vswaks.out; tail -5 "$TMPD/v/log/mainlog")"
	grep -q '^X-Report-Text: Fix your DKIM' "$f"
	ok_if "result{report-text} gives the record's rs= text" $? \
	    "$(head -20 "$f")"
	# the same message again: the address's bucket is empty (state)
	swaks_send "$EXIM_PORT" ebad.eml vswaks2.out --to bob@example.net \
	    --from joe@signer.test
	for _ in $(seq 50); do
		grep -q 'rr=v): rate_limited' "$TMPD/v/log/mainlog" && break
		sleep 0.1
	done
	n=$(ls "$TMPD"/v/reports/*.eml 2> /dev/null | wc -l)
	[ "$n" -eq 1 ] && grep -q 'rr=v): rate_limited' "$TMPD/v/log/mainlog"
	ok_if "a second failure within the hour: rate_limited, no report" $? \
	    "reports $n: $(tail -5 "$TMPD/v/log/mainlog")"
	# store= (issue #23): one row per message verified, written by
	# each connection's process when it exits (swaks has quit).
	if have sqlite3; then
		for _ in $(seq 50); do
			n=$(sqlite3 "$TMPD/v/reports/obs.db" "SELECT count(*) FROM messages WHERE dkim = 'fail' AND mail_from = 'signer.test'" 2> /dev/null)
			[ "$n" = 2 ] && break
			sleep 0.1
		done
		s=$(sqlite3 "$TMPD/v/reports/obs.db" "SELECT count(*) FROM signatures WHERE d = 'signer.test' AND result = 'fail'" 2>&1)
		[ "$n" = 2 ] && [ "$s" = 2 ]
		ok_if "store=: two messages verified, two rows (and their signatures)" $? \
		    "rows $n, signatures $s: $(tail -5 "$TMPD/v/log/mainlog")"
	else
		skip "store= rows from Exim's verify" "sqlite3 is not installed (scripts/deps)"
	fi

	# The same reports word with dmarc on: the core adds the DMARC
	# failure report the policy record asks for (ruf=, fo=1), beside
	# the DKIM one; nothing in the module decides it.
	echo '_dmarc.signer.test. IN TXT "v=DMARC1; p=none; fo=1; ruf=mailto:dmarc-ruf@signer.test"' >> zone
	mkdir -p "$TMPD/d/reports"
	exim_conf "$TMPD/d" "  warn add_header = \${dlfunc{$SO}{verify}{mx.test reports dmarc}{zone=$TMPD/zone}{report-dir=$TMPD/d/reports}{mail-from=\$sender_address}}"
	chown -R Debian-exim "$TMPD/d/reports"
	exim_start "$TMPD/d" || bail_out "exim (dmarc) did not start"
	swaks_send "$EXIM_PORT" ebad.eml dswaks.out --to bob@example.net \
	    --from joe@signer.test
	f=$(maildir_wait "$TMPD/d/mail" 'Authentication-Results')
	for _ in $(seq 50); do
		grep -q 'fo=1): written' "$TMPD/d/log/mainlog" && break
		sleep 0.1
	done
	r=$(grep -l '^To: <dmarc-ruf@signer.test>' "$TMPD"/d/reports/*.eml \
	    2> /dev/null)
	[ -n "$f" ] && grep -q 'dmarc=fail' "$f" && [ -n "$r" ] &&
	    grep -q '^Auth-Failure: dmarc' "$r" &&
	    grep -q '^Identity-Alignment: none' "$r" &&
	    grep -q 'report to dmarc-ruf@signer.test (signer.test, fo=1): written' \
	    "$TMPD/d/log/mainlog"
	ok_if "Exim's verify with reports and dmarc: a DMARC failure report" $? \
	    "$(cat dswaks.out; ls "$TMPD/d/reports"; tail -5 "$TMPD/d/log/mainlog")"
else
	skip "Exim's sign with report-request" "no module or swaks"
	skip "its broken signature gets one report" "no module or swaks"
	skip "Exim's verify with reports" "no module or swaks"
	skip "result{report-text}" "no module or swaks"
	skip "a second failure within the hour" "no module or swaks"
	skip "store= rows from Exim's verify" "no module or swaks"
	skip "Exim's verify with reports and dmarc" "no module or swaks"
fi

# A server that refuses: status failed, the verdict unchanged.
"$DKIMKIT" verify --zone zone --json --reports \
    --report-smtp "127.0.0.1:$(free_port)" bad.eml > r.json 2> r.err
st=$?
[ "$st" -eq 1 ] && grep -q '"status":"failed"' r.json &&
    grep -q '"result":"fail"' r.json
ok_if "no server: status failed, verdict fail, exit 1" $? \
    "exit $st: $(cat r.json r.err)"

done_testing
