#!/bin/bash
# SPF, DMARC and ARC in a real Exim: a daemon on loopback runs the DATA
# ACL of plugins/exim/README ("Acting on DMARC"), with keys, SPF and DMARC
# records served by an unbound on loopback; swaks sends from 127.0.0.1
# (authorised by the SPF records) or from 127.0.0.2 (not authorised).
# A forgery of a p=reject domain is refused with 550 5.7.1, a good
# signed message passes dkim, spf and dmarc, a p=quarantine failure is
# accepted and marked, DNS trouble defers with 451 (the client keeps the
# message), ARC-sealed mail gives arc=pass, a p=reject message that a
# trusted sealer relayed with a footer is let through by the local policy
# override (RFC 8617 7.2; disposition none, reason local_policy in the
# A-R) while the same through an untrusted sealer gets 550, rfc7489 applies pct=, SPF
# works without dmarc, a bounce is checked as postmaster@HELO, and four
# messages in one SMTP session each get their own verdicts.  The A-R
# fields are read back with python3-authres.
# Needs root (exim4 -C), exim4-daemon-heavy, swaks, unbound, ldnsutils,
# python3-authres.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/exim.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY="${PYTHON:-/usr/bin/python3}"
exim_check || skip_all "$EXIM_WHY"
for prog in swaks unbound ldns-read-zone; do
	have "$prog" || skip_all "$prog is not installed"
done
have python3:authres || skip_all "python3-authres is not installed"
BUILT="$TOP_BUILDDIR/plugins/exim/.libs/dkimkit_exim.so"
[ -f "$BUILT" ] || skip_all "$BUILT not built (exim4-dev missing at configure time?)"
exim_module "$TMPD" "$BUILT" || bail_out "$EXIM_WHY"
[ -z "$EXIM_PRELOAD" ] ||
    tap_diag "module built with ASan: preloading $EXIM_PRELOAD"

# Keys, SPF and DMARC records.  127.0.0.1 may send for reject.test and
# quar.test; 127.0.0.2 is the forger (and the forwarder, for fwd.test).
"$DKIMKIT" keygen --algorithm ed25519 --domain reject.test --selector ed \
    --out reject.pem > dns.zone || bail_out "keygen reject.test"
"$DKIMKIT" keygen --algorithm ed25519 --domain fwd.test --selector arc \
    --out fwd.pem >> dns.zone || bail_out "keygen fwd.test"
"$DKIMKIT" keygen --algorithm ed25519 --domain other.test --selector arc \
    --out other.pem >> dns.zone || bail_out "keygen other.test"
chmod 644 ./*.pem
cat >> dns.zone <<'ZONE'
reject.test.        300 IN TXT "v=spf1 ip4:127.0.0.1 -all"
_dmarc.reject.test. 300 IN TXT "v=DMARC1; p=reject"
quar.test.          300 IN TXT "v=spf1 ip4:127.0.0.1 -all"
_dmarc.quar.test.   300 IN TXT "v=DMARC1; p=quarantine"
fwd.test.           300 IN TXT "v=spf1 ip4:127.0.0.2 -all"
client.test.        300 IN TXT "v=spf1 ip4:127.0.0.1 -all"
pct.test.           300 IN TXT "v=spf1 ip4:127.0.0.1 -all"
_dmarc.pct.test.    300 IN TXT "v=DMARC1; p=reject; pct=0"
ZONE
unbound_start dns.zone || bail_out "unbound did not start"
DNS="127.0.0.1@$UNBOUND_PORT"

msg()
{
	printf 'From: %s\nTo: bob@example.net\nSubject: %s\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@test>\n\nHello Bob,\n\nthis is a test.\n' \
	    "$1" "$2" "$RANDOM$RANDOM"
}
lf() { tr -d '\r'; }
msg 'Alice <alice@reject.test>' good > plain.eml
"$DKIMKIT" sign --key reject.pem --domain reject.test --selector ed \
    plain.eml | lf > good.eml || bail_out "sign good"
sed 's/this is a test/this is a fake/' good.eml > tampered.eml
msg 'Boss <boss@reject.test>' forged > forged.eml
msg 'Boss <boss@quar.test>' quarantined > quar.eml
msg 'Boss <boss@pct.test>' sampled > pct.eml
msg 'Mail Delivery System <mailer-daemon@client.test>' bounce > bounce.eml
# A forwarder's seals, over the good message: one by a trusted sealer,
# one by a sealer the MX does not know.
for s in fwd other; do
	"$DKIMKIT" seal --key "$s.pem" --domain "$s.test" --selector arc \
	    --authserv-id "$s.test" --zone dns.zone good.eml | lf \
	    > "sealed-$s.eml" || bail_out "seal $s"
done
# A list that verified the message as it came (--received: dkim=pass in
# its AAR), added a footer and sealed what it sends: the author's
# signature now fails, and the list's MAIL FROM does not align.
{ cat good.eml; printf -- '-- \nfooter of the list\n'; } > footer.eml
for s in fwd other; do
	"$DKIMKIT" seal --key "$s.pem" --domain "$s.test" --selector arc \
	    --authserv-id "$s.test" --zone dns.zone --received good.eml \
	    footer.eml | lf > "relayed-$s.eml" || bail_out "seal footer $s"
done
# A list that adds a footer (which breaks reject.test's DKIM) and then
# seals: forwarded mail from a sealer the MX does not trust.
{ cat good.eml; printf -- '-- \nlist footer\n'; } > fwdfooter.eml
"$DKIMKIT" seal --key other.pem --domain other.test --selector arc \
    --authserv-id other.test --zone dns.zone fwdfooter.eml | lf \
    > sealed-footer.eml || bail_out "seal footer"

# The README's ACL.  X-Verdict shows the result words.
# Exim passes at most 8 arguments: words share one, spaces between.
V='${dlfunc{'$SO'}{verify}{mx.test dmarc explain}{trusted-sealers=fwd.test}'
V=$V'{dns=DNSADDR timeout=2s}{client-ip=$sender_host_address}'
V=$V'{helo=$sender_helo_name}{mail-from=$sender_address}}'
R() { printf '${dlfunc{%s}{result}{%s}}' "$SO" "$1"; }
# acl DNS [WORDS]: the ACL, asking the resolver DNS, with WORDS in place
# of "mx.test dmarc explain".
acl()
{
	local v=${V/DNSADDR/$1}

	v=${v/mx.test dmarc explain/${2:-mx.test dmarc explain}}
	printf '%s\n' "  warn    remove_header = Authentication-Results
  warn    set acl_m_ar = $v
  defer   condition = \${if eq{$(R dmarc)}{temperror}}
          message = 451 4.7.5 DMARC: temporary DNS failure, try again later
  deny    condition = \${if eq{$(R disposition)}{reject}}
          message = 550 5.7.1 rejected by the DMARC policy of the From domain: $(R dmarc-reason)
  warn    condition = \${if eq{$(R disposition)}{quarantine}}
          add_header = X-Spam-Flag: YES
          add_header = X-DMARC-Quarantine: $(R dmarc-reason)
  warn    add_header = \$acl_m_ar
  warn    add_header = X-Verdict: $(R dkim) $(R spf) $(R dmarc) $(R disposition) $(R arc) [$(R sealers)]"
}

M="$TMPD/mx"
exim_conf "$M" "$(acl "$DNS")"
exim_start "$M" || bail_out "exim (mx) did not start"
MPORT=$PORT

# send FILE FROM_IP MAIL_FROM: one message; swaks's transcript in
# swaks.out.
send()
{
	swaks_send "$PORT" "$1" "$TMPD/swaks.out" --helo client.test \
	    --local-interface "$2" --from "$3" --to bob@example.net
}
code() { swaks_reply_code "$TMPD/swaks.out"; }
count() { find "$1/mail/new" -type f 2>/dev/null | wc -l; }

# delivered DIR N: wait (up to 20 s) until DIR's maildir holds N messages.
delivered()
{
	local i

	for ((i = 0; i < 200; i++)); do
		[ "$(count "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
newest() { ls -t "$1"/mail/new/* 2>/dev/null | head -n 1; }

# checked DIR NAME STATUS [DIAGNOSTIC...]: ok_if, and on failure the
# transcript and DIR's logs as diagnostics.
checked()
{
	local d="$1"

	shift
	ok_if "$@"
	[ "$2" -eq 0 ] || explain "$d"
}

explain()
{
	tap_diag "swaks:"
	tap_diag_file "$TMPD/swaks.out" 40
	tap_diag "mainlog of $1:"
	tap_diag_file "$1/log/mainlog" 40
	tap_diag_file "$1/log/paniclog"
}

# archeck FILE CHECK...: the message's Authentication-Results fields
# parsed by python3-authres; each CHECK is METHOD=RESULT or
# METHOD.PTYPE.PROPERTY=VALUE and must hold for an entry of that method
# in a field of authserv-id mx.test.  Prints what it found.
archeck()
{
	"$PY" - "$@" <<'PYEOF'
import authres, email, email.policy, sys
msg = email.message_from_binary_file(open(sys.argv[1], "rb"),
                                     policy=email.policy.compat32)
got = []
for raw in msg.get_all("Authentication-Results") or []:
    value = " ".join(str(raw).split())
    h = authres.AuthenticationResultsHeader.parse(
        "Authentication-Results: " + value)
    if h.authserv_id != "mx.test":
        continue
    for r in h.results:
        got.append("%s=%s" % (r.method, r.result))
        for p in r.properties:
            got.append("%s.%s.%s=%s" % (r.method, p.type, p.name, p.value))
print(" ".join(got))
sys.exit(0 if all(c in got for c in sys.argv[2:]) else 1)
PYEOF
}

# --- 1. a good signed message from an authorised client ---------------
n=0
send good.eml 127.0.0.1 alice@reject.test
n=$((n + 1))
if [ "$(code)" = 250 ] && delivered "$M" "$n"; then
	f=$(newest "$M")
	got=$(archeck "$f" dkim=pass dkim.header.d=reject.test spf=pass \
	    spf.smtp.mailfrom=reject.test dmarc=pass dmarc.header.from=reject.test)
	ok_if "good message: A-R has dkim=pass spf=pass dmarc=pass" $? "A-R: $got"
	grep -qx 'X-Verdict: pass pass pass none none \[\]' "$f"
	ok_if "good message: result words pass pass pass none none" $? \
	    "$(grep '^X-Verdict' "$f")"
else
	not_ok "good message accepted" "end of data answered $(code)"
	explain "$M"
fi

# --- 2. a forgery of the p=reject domain from an unauthorised client --
before=$(count "$M")
send forged.eml 127.0.0.2 boss@reject.test
c=$(code)
# Exim folds a long reply into lines of its own: "550-5.7.1 ...".
reply=$(sed -n 's/^ *<\*\* 550[- ]5\.7\.1 //p' "$TMPD/swaks.out" | tr '\n' ' ')
st=1
[[ "$reply" == *"rejected by the DMARC policy of the From domain: "*"no aligned identifier passed (policy reject at reject.test)"* ]] &&
    st=0
[ "$c" = 550 ] && [ "$st" -eq 0 ]
checked "$M" "forged p=reject mail from 127.0.0.2: 550 5.7.1 with the reason" \
    $? "end of data answered ${c:-nothing}"
sleep 0.5
[ "$(count "$M")" -eq "$before" ]
ok_if "forged mail: nothing delivered" $?
grep -q 'dkimkit: mx.test: dkim=none dmarc=fail (reject.test, policy reject, disposition reject)' \
    "$M/log/mainlog"
ok_if "forged mail: main-log line with dmarc=fail and the disposition" $? \
    "$(grep dkimkit "$M/log/mainlog" | tail -n 2)"

# The same forgery sent from the authorised address passes on SPF alone.
send forged.eml 127.0.0.1 boss@reject.test
n=$((n + 1))
if [ "$(code)" = 250 ] && delivered "$M" "$n"; then
	got=$(archeck "$(newest "$M")" dkim=none spf=pass dmarc=pass)
	ok_if "unsigned mail from the authorised client: dmarc=pass on SPF" $? \
	    "A-R: $got"
else
	not_ok "unsigned mail from the authorised client accepted" \
	    "end of data answered $(code)"
	explain "$M"
fi

# --- 3. a tampered signature, aligned SPF: pass, and explain logs why --
send tampered.eml 127.0.0.1 alice@reject.test
n=$((n + 1))
if [ "$(code)" = 250 ] && delivered "$M" "$n"; then
	got=$(archeck "$(newest "$M")" dkim=fail spf=pass dmarc=pass)
	ok_if "tampered, SPF aligned: dkim=fail dmarc=pass" $? "A-R: $got"
else
	not_ok "tampered, SPF aligned: accepted" "end of data answered $(code)"
fi
grep -q 'dkimkit: mx.test: dkim=fail .*dmarc=pass .*body hash mismatch; body-changed' \
    "$M/log/mainlog"
ok_if "explain: the log line names the failure's class" $? \
    "$(grep 'dkim=fail' "$M/log/mainlog" | tail -n 1)"

# --- 4. a p=quarantine failure: accepted and marked -------------------
send quar.eml 127.0.0.2 boss@quar.test
n=$((n + 1))
if [ "$(code)" = 250 ] && delivered "$M" "$n"; then
	f=$(newest "$M")
	got=$(archeck "$f" spf=fail dmarc=fail dmarc.header.from=quar.test)
	st=$?
	grep -qx 'X-Spam-Flag: YES' "$f" && grep -q '^X-DMARC-Quarantine: .' "$f" &&
	    grep -qx 'X-Verdict: none fail fail quarantine none \[\]' "$f" || st=1
	ok_if "p=quarantine failure: accepted, marked, dmarc=fail" "$st" \
	    "A-R: $got" "$(grep '^X-' "$f")"
else
	not_ok "p=quarantine failure accepted" "end of data answered $(code)"
	explain "$M"
fi

# --- 4x. a bounce: the null reverse path is checked as postmaster@HELO --
# (RFC 7208 2.4): mail-from= is empty, the HELO name's record decides.
for ip in 127.0.0.1 127.0.0.2; do
	want=pass
	[ "$ip" = 127.0.0.2 ] && want=fail
	send bounce.eml "$ip" '<>'
	n=$((n + 1))
	if [ "$(code)" = 250 ] && delivered "$M" "$n"; then
		f=$(newest "$M")
		got=$(archeck "$f" "spf=$want")
		st=$?
		grep -qx "X-Verdict: none $want none none none \\[\\]" "$f" || st=1
		ok_if "bounce from $ip: spf=$want for postmaster@client.test" \
		    "$st" "A-R: $got" "$(grep '^X-Verdict' "$f")"
	else
		not_ok "bounce from $ip accepted" "end of data answered $(code)"
		explain "$M"
	fi
done

# --- 4a. one SMTP session, three messages: each its own verdict ------
# The SPF and DMARC verdicts come from the message the DATA ACL holds and
# its own MAIL FROM, never from the one before on the connection.
before=$(count "$M")
"$PY" - "$PORT" <<'PYEOF' > "$TMPD/session.out" 2>&1
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]),
                 source_address=("127.0.0.2", 0))
s.ehlo("client.test")
codes = []
for f, sender in (("good.eml", "list@fwd.test"),
                  ("forged.eml", "boss@reject.test"),
                  ("quar.eml", "boss@quar.test"),
                  ("good.eml", "alice@reject.test")):
    try:
        s.sendmail(sender, ["bob@example.net"], open(f, "rb").read())
        codes.append("250")
    except smtplib.SMTPDataError as e:
        codes.append(str(e.smtp_code))
s.quit()
print(" ".join(codes))
PYEOF
codes=$(tail -n 1 "$TMPD/session.out")
delivered "$M" $((before + 3))
n=$((n + 3))
verdicts=$(for f in $(ls -tr "$M"/mail/new/* | tail -n 3); do
	printf '%s %s|' "$(sed -n 's/^Subject: //p' "$f")" \
	    "$(sed -n 's/^X-Verdict: //p' "$f")"
done)
# delivered in parallel: sort by subject
verdicts=$(printf '%s' "$verdicts" | tr '|' '\n' | sort | tr '\n' '|')
[ "$codes" = "250 550 250 250" ] &&
    [ "$verdicts" = "good pass fail pass none none []|good pass pass pass none none []|quarantined none fail fail quarantine none []|" ]
checked "$M" "one session: 250 550 250 250, each message its own verdict" $? \
    "codes: $codes" "verdicts: $verdicts"

# --- 4b. rfc7489, and SPF without DMARC ------------------------------
# pct=0 samples nothing: RFC 9989 ignores pct= and rejects; the RFC 7489
# mode applies the next policy down, quarantine (RFC 7489 6.6.4).
send pct.eml 127.0.0.2 boss@pct.test
checked "$M" "pct=0, RFC 9989: rejected" $(($(code) != 550))
R7="$TMPD/rfc7489"
exim_conf "$R7" "$(acl "$DNS" "mx.test rfc7489")"
exim_start "$R7" || bail_out "exim (rfc7489) did not start"
send pct.eml 127.0.0.2 boss@pct.test
if [ "$(code)" = 250 ] && delivered "$R7" 1; then
	f=$(newest "$R7")
	grep -qx 'X-Spam-Flag: YES' "$f" &&
	    grep -qx 'X-Verdict: none fail fail quarantine none \[\]' "$f"
	ok_if "pct=0, rfc7489: accepted as quarantine" $? "$(grep '^X-' "$f")"
else
	not_ok "pct=0, rfc7489: accepted" "end of data answered $(code)"
	explain "$R7"
fi
# Without dmarc: SPF alone, in result{spf} and as spf= in the field.
S="$TMPD/spfonly"
exim_conf "$S" "$(acl "$DNS" "mx.test")"
exim_start "$S" || bail_out "exim (spf only) did not start"
send forged.eml 127.0.0.2 boss@reject.test
if [ "$(code)" = 250 ] && delivered "$S" 1; then
	f=$(newest "$S")
	got=$(archeck "$f" dkim=none spf=fail)
	st=$?
	[[ " $got " != *" dmarc="* ]] &&
	    grep -qx 'X-Verdict: none fail none none none \[\]' "$f" || st=1
	ok_if "client-ip= without dmarc: result{spf} and spf=fail, no dmarc=" "$st" \
	    "A-R: $got" "$(grep '^X-Verdict' "$f")"
else
	not_ok "client-ip= without dmarc: accepted" "end of data answered $(code)"
	explain "$S"
fi
PORT=$MPORT

# --- 4c. Exim rewrites From before the DATA ACL -----------------------
# DMARC, like DKIM, judges the From that came in, the sender's claim: a
# rewrite rule that turns the p=reject domain into the p=quarantine one
# does not soften the verdict on a forgery.
W="$TMPD/rewrite"
exim_conf "$W" "$(acl "$DNS")" "" "" "*@reject.test  \$1@quar.test  f"
exim_start "$W" || bail_out "exim (rewrite) did not start"
send forged.eml 127.0.0.2 boss@reject.test
checked "$W" "From rewritten by Exim: DMARC of the From that came in (550)" \
    $(($(code) != 550)) "end of data answered $(code)"
# The rule does apply: the good message goes out with From rewritten, and
# passes DMARC as reject.test.
send good.eml 127.0.0.1 alice@reject.test
if [ "$(code)" = 250 ] && delivered "$W" 1; then
	f=$(newest "$W")
	got=$(archeck "$f" dkim=pass dmarc=pass dmarc.header.from=reject.test)
	st=$?
	grep -q '^From: Alice <alice@quar.test>' "$f" || st=1
	ok_if "From rewritten by Exim: the good message passes as reject.test" \
	    "$st" "A-R: $got" "$(grep '^From:' "$f")"
else
	not_ok "From rewritten by Exim: good message accepted" \
	    "end of data answered $(code)"
	explain "$W"
fi
PORT=$MPORT

# --- 5. ARC: a sealed message, a trusted and an untrusted sealer ------
for s in fwd other; do
	send "sealed-$s.eml" 127.0.0.2 "list@$s.test"
	n=$((n + 1))
	if [ "$(code)" != 250 ] || ! delivered "$M" "$n"; then
		not_ok "sealed by $s.test: accepted" "end of data answered $(code)"
		explain "$M"
		continue
	fi
	f=$(newest "$M")
	got=$(archeck "$f" arc=pass arc.smtp.remote-ip=127.0.0.2 dkim=pass \
	    dmarc=pass)
	ok_if "sealed by $s.test: arc=pass in the A-R" $? "A-R: $got"
	want="[]"
	[ "$s" = fwd ] && want="[fwd.test]"
	grep -qxF "X-Verdict: pass $([ "$s" = fwd ] && echo pass || echo none) pass none pass $want" "$f"
	ok_if "sealed by $s.test: result{arc} pass, result{sealers} $want" $? \
	    "$(grep '^X-Verdict' "$f")"
done

# --- 5a. the local policy override of a trusted sealer ---------------
# DKIM fails (the footer); SPF passes for the list's own MAIL FROM
# (fwd.test allows 127.0.0.2), which does not align with reject.test: so
# DMARC fails under p=reject.  The
# trusted fwd.test recorded dkim=pass for reject.test: disposition none,
# delivered, the A-R says why.  other.test is not trusted: 550.
send relayed-fwd.eml 127.0.0.2 list@fwd.test
n=$((n + 1))
if [ "$(code)" = 250 ] && delivered "$M" "$n"; then
	f=$(newest "$M")
	got=$(archeck "$f" dkim=fail spf=pass dmarc=fail \
	    dmarc.header.from=reject.test dmarc.policy.dmarc=none arc=pass)
	ok_if "relayed by trusted fwd.test: delivered, dmarc=fail policy.dmarc=none arc=pass" \
	    $? "A-R: $got"
	tr '\n\t' '  ' < "$f" |
	    grep -q 'dmarc=fail ([^)]*) *reason="local_policy: arc=pass, trusted sealer fwd.test of instance 1'
	ok_if "relayed by trusted fwd.test: the dmarc= reason names the override" \
	    $? "$(sed -n '/^Authentication-Results/,/^[^ \t]/p' "$f")"
	grep -qxF 'X-Verdict: fail pass fail none pass [fwd.test]' "$f"
	ok_if "relayed by trusted fwd.test: result{disposition} none, result{sealers} fwd.test" \
	    $? "$(grep '^X-Verdict' "$f")"
else
	not_ok "relayed by trusted fwd.test: accepted" \
	    "end of data answered $(code)"
	explain "$M"
fi
before=$(count "$M")
send relayed-other.eml 127.0.0.2 list@other.test
c=$(code)
[ "$c" = 550 ] && grep -q '550[- ]5\.7\.1 rejected by the DMARC policy' swaks.out
checked "$M" "the same relayed by untrusted other.test: 550 5.7.1" $? \
    "end of data answered ${c:-nothing}"
sleep 0.5
[ "$(count "$M")" -eq "$before" ]
ok_if "untrusted sealer: nothing delivered" $?
# --- 5b. arc-forwarded: forwarded mail is quarantined, not refused ----
# The footer broke DKIM, the chain passes, other.test is not trusted:
# DMARC fails with p=reject.  Without arc-forwarded: 550; with it the
# core lowers the disposition to quarantine and says why in the A-R.
send sealed-footer.eml 127.0.0.2 list@other.test
checked "$M" "footer, sealed by other.test, no arc-forwarded: 550" \
    $(($(code) != 550)) "end of data answered $(code)"
F="$TMPD/forwarded"
exim_conf "$F" "$(acl "$DNS" "mx.test dmarc explain arc-forwarded")"
exim_start "$F" || bail_out "exim (arc-forwarded) did not start"
send sealed-footer.eml 127.0.0.2 list@other.test
if [ "$(code)" = 250 ] && delivered "$F" 1; then
	f=$(newest "$F")
	got=$(archeck "$f" dkim=fail dmarc=fail \
	    dmarc.policy.dmarc=quarantine arc=pass)
	st=$?
	grep -qx 'X-Verdict: fail none fail quarantine pass \[\]' "$f" &&
	    grep -qx 'X-Spam-Flag: YES' "$f" || st=1
	tr '\n\t' '  ' < "$f" | tr -s ' ' | grep -q 'dmarc=fail (policy reject of reject.test) reason="local_policy: arc=pass, forwarded, latest sealer other.test of instance 1, no trusted sealer vouched: reject lowered to quarantine"' || st=1
	ok_if "arc-forwarded: accepted, result{disposition} quarantine, A-R reason" \
	    "$st" "A-R: $got" "$(grep '^X-' "$f")"
	grep -q 'dkimkit: mx.test: dkim=fail .*dmarc=fail (reject.test, policy reject, disposition quarantine, local_policy for forwarded mail, latest sealer other.test)' \
	    "$F/log/mainlog"
	checked "$F" "arc-forwarded: the main-log line names the override" $?
else
	not_ok "arc-forwarded: footer sealed by other.test accepted" \
	    "end of data answered $(code)"
	explain "$F"
fi
# the forgery, unsealed: no chain, still 550
send forged.eml 127.0.0.2 boss@reject.test
checked "$F" "arc-forwarded, no ARC chain: still 550" $(($(code) != 550)) \
    "end of data answered $(code)"
out=$("${EXIM_ENV[@]}" "$EXIM" -C "$M/exim.conf" -be \
    "\${dlfunc{$SO}{verify}{mx.test arc-forwarded}}" 2>&1)
[[ "$out" == *"dkimkit: verify: arc-forwarded: lowers a DMARC disposition: turn on dmarc"* ]]
ok_if "arc-forwarded without dmarc is refused in the shared wording" $? "$out"

# --- 6. DNS trouble: 451, the client keeps the message ----------------
# A resolver port where nothing answers.
T="$TMPD/tempfail"
exim_conf "$T" "$(acl "127.0.0.1@$(free_port)")"
exim_start "$T" || bail_out "exim (tempfail) did not start"
send good.eml 127.0.0.1 alice@reject.test
c=$(code)
grep -q '451[ -]4\.7\.5 DMARC: temporary DNS failure' "$TMPD/swaks.out"
checked "$T" "dns= at a closed port: 451 4.7.5 (deferred)" \
    $((${c:-0} != 451 || $?)) "end of data answered ${c:-nothing}"
sleep 0.5
[ "$(count "$T")" -eq 0 ]
ok_if "deferred: nothing delivered" $?
grep -q 'dkimkit: mx.test: dkim=temperror.* dmarc=temperror' "$T/log/mainlog"
ok_if "deferred: the log line says dmarc=temperror" $? \
    "$(grep dkimkit "$T/log/mainlog")"

# The resolver of the working MX stops: the same, and once it is back the
# message the client kept goes through.
PORT=$MPORT
unbound_stop
send good.eml 127.0.0.1 alice@reject.test
c=$(code)
[ "$c" = 451 ]
checked "$M" "resolver stopped: 451" $? "end of data answered ${c:-nothing}"
n=$((n + 1))
if UNBOUND_FIXED_PORT=$UNBOUND_PORT unbound_start dns.zone; then
	send good.eml 127.0.0.1 alice@reject.test
	[ "$(code)" = 250 ] && delivered "$M" "$n"
	checked "$M" "resolver back: the message the client kept is delivered" \
	    $? "end of data answered $(code)"
else
	not_ok "resolver back on port $UNBOUND_PORT" "unbound did not start"
fi

# --- 7. a relay that seals in its DATA ACL with the SMTP facts --------
# Unsigned mail whose DMARC passes on SPF alone (reject.test allows
# 127.0.0.1) goes through a relay that sends from 127.0.0.2, where SPF
# fails: the MX's DMARC fails under p=reject.  A relay that seals with
# dmarc and the SMTP facts records dmarc=pass in its AAR, which the MX
# (trusting fwd.test) takes: delivered, overridden.  Sealed without
# them, the AAR has only dkim=none: 550 at the MX.  Last in this file:
# that 550 makes the relay send a bounce, which the MX delivers too.
SEAL='${dlfunc{'$SO'}{seal}{key='$TMPD'/fwd.pem}{domain=fwd.test selector=arc at-start WORDS}{authserv-id=fwd.test}{dns='$DNS' timeout=2s}'
FACTS='{client-ip=$sender_host_address}{helo=$sender_helo_name}{mail-from=$sender_address}'
# seal_relay DIR SEAL [TRANSPORT_LINES]: a relay to the MX, sending from
# 127.0.0.2, whose DATA ACL adds SEAL (none when empty), with
# TRANSPORT_LINES on its smtp transport.
seal_relay()
{
	exim_conf "$1" "${2:+  warn add_header = $2}" "" "queue_only = true" "" \
	    "relay:
  driver = manualroute
  route_list = * 127.0.0.1
  self = send
  transport = out" "out:
  driver = smtp
  port = $MPORT
  interface = 127.0.0.2
  allow_localhost
  hosts_avoid_tls = *
${3:-}"
}
msg 'Boss <boss@reject.test>' relayed-spf > relayed-spf.eml
msg 'Boss <boss@reject.test>' relayed-nofacts > relayed-nofacts.eml
RA="$TMPD/relay-facts"
seal_relay "$RA" "${SEAL/WORDS/dmarc}$FACTS}"
exim_start "$RA" || bail_out "exim (relay with facts) did not start"
send relayed-spf.eml 127.0.0.1 boss@reject.test
"${EXIM_ENV[@]}" "$EXIM" -C "$RA/exim.conf" -qff > "$RA/qff.out" 2>&1
if f=$(maildir_wait "$M/mail" '^Subject: relayed-spf$'); then
	sed -n '/^ARC-Authentication-Results/,/^[^ \t]/p' "$f" |
	    tr '\n\t' '  ' | grep -q 'spf=pass smtp.mailfrom=reject.test; *dmarc=pass'
	ok_if "relay sealing with dmarc and the SMTP facts: its AAR has spf=pass dmarc=pass" \
	    $? "$(sed -n '/^$/q;p' "$f")"
	got=$(archeck "$f" spf=fail dmarc=fail dmarc.policy.dmarc=none arc=pass)
	st=$?
	grep -qxF 'X-Verdict: none fail fail none pass [fwd.test]' "$f" || st=1
	ok_if "... the MX's DMARC fails, the trusted sealer's dmarc=pass overrides it" \
	    "$st" "A-R: $got" "$(grep '^X-Verdict' "$f")"
else
	not_ok "relay sealing with the SMTP facts: delivered at the MX" \
	    "$(cat "$RA/qff.out")"
	explain "$RA"
	explain "$M"
fi
# The same words on the relay's transport: Exim keeps the SMTP facts
# with the message, so the queue run's seal checks SPF as the ACL did.
RC="$TMPD/relay-transport"
seal_relay "$RC" "" "  headers_add = ${SEAL/ at-start WORDS/ dmarc}$FACTS}"
msg 'Boss <boss@reject.test>' relayed-transport > relayed-transport.eml
exim_start "$RC" || bail_out "exim (relay sealing on its transport) did not start"
send relayed-transport.eml 127.0.0.1 boss@reject.test
"${EXIM_ENV[@]}" "$EXIM" -C "$RC/exim.conf" -qff > "$RC/qff.out" 2>&1
if f=$(maildir_wait "$M/mail" '^Subject: relayed-transport$'); then
	sed -n '/^ARC-Authentication-Results/,/^[^ \t]/p' "$f" |
	    tr '\n\t' '  ' | grep -q 'spf=pass smtp.mailfrom=reject.test; *dmarc=pass' &&
	    grep -qxF 'X-Verdict: none fail fail none pass [fwd.test]' "$f"
	ok_if "the facts on the relay's transport: AAR dmarc=pass, the MX overrides" \
	    $? "$(sed -n '/^$/q;p' "$f")"
else
	not_ok "relay sealing on its transport with the facts: delivered" \
	    "$(cat "$RC/qff.out")"
	explain "$RC"
fi
RB="$TMPD/relay-nofacts"
seal_relay "$RB" "${SEAL/ WORDS/}}"
exim_start "$RB" || bail_out "exim (relay without facts) did not start"
send relayed-nofacts.eml 127.0.0.1 boss@reject.test
"${EXIM_ENV[@]}" "$EXIM" -C "$RB/exim.conf" -qff > "$RB/qff.out" 2>&1
grep -q '\*\* bob@example.net.*550[- ]5\.7\.1' "$RB/log/mainlog" &&
    ! grep -lq '^Subject: relayed-nofacts$' "$M"/mail/new/* 2>/dev/null
ok_if "relay sealing without the facts: AAR dkim=none vouches for nothing, 550" \
    $? "$(grep -v '^$' "$RB/log/mainlog" | tail -n 5)"

# The shared settings' checks, in the shared wording.
out=$("${EXIM_ENV[@]}" "$EXIM" -C "$M/exim.conf" -be \
    "\${dlfunc{$SO}{verify}{mx.test}{dmarc=maybe}}" 2>&1)
[[ "$out" == *"dkimkit: verify: dmarc: 'maybe' is not yes or no"* ]]
ok_if "dmarc=maybe is refused in the shared wording" $? "$out"

done_testing
