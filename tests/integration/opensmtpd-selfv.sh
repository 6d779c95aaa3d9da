#!/bin/bash
# filter-dkimkit -m sign -V (issue #24): what was signed is verified as it
# goes out, against the key the key source publishes.  Through the filter
# protocol, keys in a zone file: the published key matches (passed,
# logged with smtpd's message id, the commit proceeds); the record holds
# another key (a rotated key not yet published: class and message id in
# the log; -V yes passes it on, -V defer says 451 at commit); no record
# at all (a wrong selector); the same stale key named by -K, by -C in
# -m sign and in -m sv; -V no and no -V say nothing; bad -V values are
# refused.  Then the real smtpd 6.8.0p2 with the filter on its
# listener and a real unbound on loopback as the key source: the key that
# does not match is refused with 451 and not delivered, the one that
# matches is delivered and passes dkimkit verify.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
. "$TOP_SRCDIR/tests/lib/smtpd.sh" || bail_out "cannot read tests/lib/smtpd.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
smtpd_test_setup

# good.pem is published under "sel"; new.pem is the rotated key whose
# record was not updated: it signs under "sel" too, but the record
# still holds good.pem's public half.  "gone" has no record at all.
"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain good.test \
    --selector sel --out good.pem > zone || bail_out "keygen good.pem"
"$DKIMKIT" keygen --algorithm ed25519 --domain good.test \
    --selector ed --out ed.pem >> zone || bail_out "keygen ed.pem"
"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain good.test \
    --selector sel --out new.pem > /dev/null || bail_out "keygen new.pem"
chmod 644 ./*.pem zone

HS='config|smtpd-version|6.8.0p2
config|smtp-session-timeout|300
config|subsystem|smtp-in
config|admd|relay.test
config|ready'
S1=00000000000000a1
MSGID=1a2b3c4d

printf 'From: Alice <alice@good.test>\nTo: bob@example.net\nSubject: outgoing\nDate: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <o1@good.test>\n\nhello\n.leading dot\n' > out.eml

# filt NAME ARGS...: the filter (ARGS -z zone) takes out.eml in one
# session from 127.0.0.1 (an InternalHost of -C) after smtpd's tx-mail
# report; NAME.out, NAME.err, NAME.got (the message sent back).
filt()
{
	local name="$1"

	shift
	{
		echo "$HS"
		printf 'report|0.6|1.0|smtp-in|link-connect|%s|localhost|pass|127.0.0.1:1234|127.0.0.1:25\n' \
		    $S1
		printf 'report|0.6|1.0|smtp-in|tx-mail|%s|%s|ok|alice@good.test\n' \
		    $S1 $MSGID
		"$PY" "$TOOL" feed $S1 out.eml
		printf 'filter|0.6|1.0|smtp-in|commit|%s|00000000000000c1|\n' $S1
	} > "$name.in"
	timeout 60 "$PY" "$TOOL" converse "$FILTER" "$@" -z zone \
	    < "$name.in" > "$name.out" 2> "$name.err"
	"$PY" "$TOOL" extract $S1 "$name.out" > "$name.got"
}

# sign NAME ARGS...: filt with -m sign -d good.test.
sign()
{
	local name="$1"

	shift
	filt "$name" -m sign -d good.test "$@"
}

commit()
{
	grep "^filter-result|$S1|00000000000000c1|" "$1.out"
}

# --- the published key matches ---------------------------------------
sign pass -s sel -k good.pem -V yes
"$DKIMKIT" verify --zone zone pass.got > pass.verify 2>&1 &&
    commit pass | grep -q '|proceed$' &&
    grep -q "msgid $MSGID: self-verification passed" pass.err &&
    ! grep -q 'self-verification failed' pass.err
ok_if "-V yes, key published: passes, logged with the msgid, proceeds" $? \
    "$(cat pass.err)" "$(commit pass)" "$(cat pass.verify)"
tail -n "$(wc -l < out.eml)" pass.got | cmp -s - out.eml
ok_if "-V yes: the message below the signature is unchanged" $?

# two keys: both signatures are checked
sign dual -s sel -k good.pem -s ed -k ed.pem -V defer
[ "$(grep -c '^DKIM-Signature:' dual.got)" -eq 2 ] &&
    "$DKIMKIT" verify --zone zone dual.got > /dev/null 2>&1 &&
    commit dual | grep -q '|proceed$' &&
    grep -q 'self-verification passed' dual.err
ok_if "-V defer, two keys, both published: proceeds" $? "$(cat dual.err)"

# --- the DNS key does not match the private key -----------------------
sign stale -s sel -k new.pem -V yes
grep -q "msgid $MSGID: self-verification failed: d=good.test s=sel: .*; class [a-z-]*.*; passed on" \
    stale.err && commit stale | grep -q '|proceed$' &&
    grep -q '^DKIM-Signature:' stale.got
ok_if "-V yes, record holds another key: logged with class and msgid, passed on" \
    $? "$(cat stale.err)" "$(commit stale)"
sign stale-d -s sel -k new.pem -V defer
grep -q "msgid $MSGID: self-verification failed: d=good.test s=sel: .*451 at commit (-V defer)" \
    stale-d.err &&
    commit stale-d | grep -q '|reject|451 4.7.0 .*self-verification'
ok_if "-V defer, record holds another key: 451 at commit" $? \
    "$(cat stale-d.err)" "$(commit stale-d)"
grep 'self-verification failed' stale-d.err |
    grep -q 'class key: the key record at sel._domainkey.good.test holds another key than the one that signed'
ok_if "-V defer: class key, the record named (the signing key's own half passes)" \
    $? "$(grep 'self-verification' stale-d.err)"

# a second key that is wrong fails the message although the first passes
sign dual-bad -s sel -k good.pem -s ed -k new.pem -V defer
grep -q 'self-verification failed: d=good.test s=ed: ' dual-bad.err &&
    commit dual-bad | grep -q '|reject|451 '
ok_if "-V defer, two keys, the second's record does not match: 451" $? \
    "$(cat dual-bad.err)"

# --- no record under the selector --------------------------------------
sign gone -s gone -k good.pem -V defer
grep -q 'self-verification failed: d=good.test s=gone: .*class key' \
    gone.err && commit gone | grep -q '|reject|451 '
ok_if "-V defer, no key record under the selector: class key, 451" $? \
    "$(cat gone.err)" "$(commit gone)"

# --- the other ways to name the key: -K, -C (sign and sv) ----------------
# The key directory's active key and the policy's KeyFile are new.pem,
# under selector sel, whose record holds good.pem's key.
mkdir -p kd/good.test && cp new.pem kd/good.test/sel.key &&
    echo sel > kd/good.test/active || bail_out "key directory"
printf 'Domain good.test\nSelector sel\nKeyFile %s/new.pem\n' "$TMPD" > od.conf
for how in "-m sign -d good.test -K kd" "-m sign -C od.conf" \
    "-m sv -C od.conf"; do
	# shellcheck disable=SC2086 # the words of $how
	filt other $how -V defer
	grep -q 'self-verification failed: d=good.test s=sel: .*class key: the key record at sel._domainkey.good.test' \
	    other.err && commit other | grep -q '|reject|451 '
	ok_if "$how -V defer, the record holds another key: class key, 451" \
	    $? "$(cat other.err)"
done

# --- off ----------------------------------------------------------------
sign off -s gone -k good.pem -V no
! grep -q 'self-verification' off.err && commit off | grep -q '|proceed$'
ok_if "-V no: nothing verified, nothing logged, proceeds" $? "$(cat off.err)"
sign none -s gone -k good.pem
! grep -q 'self-verification' none.err && commit none | grep -q '|proceed$'
ok_if "no -V: nothing verified" $? "$(cat none.err)"

# --- start-up -----------------------------------------------------------
refused()
{
	local want="$1"

	shift
	"$FILTER" "$@" < /dev/null > refused.out 2>&1
	[ $? -ne 0 ] && grep -q -- "$want" refused.out
}
refused "-V: 'maybe' is not yes or no (-V is yes, no or defer)" \
    -m sign -d good.test -s sel -k good.pem -V maybe
ok_if "-V maybe: refused at start, saying why" $? "$(cat refused.out)"
refused "-V: verifies what was signed" -m verify -V yes
ok_if "-m verify -V: refused at start" $? "$(cat refused.out)"

# ---------------------------------------------------------------------
# The real smtpd, keys from a real unbound on loopback.
SMTPD_DIR="$TMPD/smtpd"
if [ "$(id -u)" -ne 0 ]; then
	skip "real smtpd" "needs root (mount namespaces, users for smtpd)"
	done_testing
	exit 0
fi
if ! need swaks unshare unbound; then
	done_testing
	exit 0
fi
mkdir -p "$SMTPD_DIR"
if ! smtpd_unpack "$SMTPD_DIR" "${OPENSMTPD_DEB_DIR:-$TOP_SRCDIR/build/debs}"
then
	skip "real smtpd" "cannot get the opensmtpd package (apt-get download)"
	done_testing
	exit 0
fi
unbound_start zone || bail_out "unbound did not start"
DNS="127.0.0.1@$UNBOUND_PORT"
mkdir md && chown nobody md
PG=$(free_port)
PB=$((PG + 1))
while port_open "$PB"; do PB=$((PB + 1)); done
cat > smtpd.conf <<EOF
filter "good" proc-exec "$FILTER -m sign -d good.test -s sel -k $TMPD/good.pem -V defer -D $DNS"
filter "stale" proc-exec "$FILTER -m sign -d good.test -s sel -k $TMPD/new.pem -V defer -D $DNS"
listen on 127.0.0.1 port $PG filter "good"
listen on 127.0.0.1 port $PB filter "stale"
action "local" maildir "$TMPD/md" user nobody
match from any for any action "local"
EOF
if ! smtpd_run "$SMTPD_DIR" "$TMPD/smtpd.conf" "$PG" smtpd.log ||
    ! port_wait "$PB"; then
	not_ok "real smtpd: start" "$(cat smtpd.log)"
	done_testing
	exit 0
fi

sed 's/^Subject: .*/Subject: stale key/' out.eml > stale.eml
st=0
swaks_send "$PB" stale.eml send-stale.out --from alice@good.test \
    --to nobody@example.net --helo client.good.test --timeout 60 || st=$?
sleep 1
[ "$st" -ne 0 ] && [ "$(swaks_reply_code send-stale.out)" = 451 ] &&
    ! grep -lq '^Subject: stale key$' md/new/* 2>/dev/null &&
    grep -q 'msgid [0-9a-f]*: self-verification failed: d=good.test s=sel: ' \
    smtpd.log
ok_if "smtpd, unbound: the DNS key does not match: 451, not delivered, logged" \
    $? "swaks $st" "$(tail -n 6 send-stale.out)" \
    "$(grep self-verification smtpd.log)"

sed 's/^Subject: .*/Subject: good key/' out.eml > good.eml
swaks_send "$PG" good.eml send-good.out --from alice@good.test \
    --to nobody@example.net --helo client.good.test --timeout 60
if f=$(maildir_wait md '^Subject: good key$'); then
	"$DKIMKIT" verify --dns "$DNS" "$f" > good.verify 2>&1 &&
	    grep -q 'self-verification passed' smtpd.log
	ok_if "smtpd, unbound: the DNS key matches: delivered, passes" $? \
	    "$(cat good.verify)" "$(grep self-verification smtpd.log)"
else
	not_ok "smtpd, unbound: the DNS key matches: delivered" \
	    "$(tail -n 8 send-good.out)" "$(tail -n 8 smtpd.log)"
fi

done_testing
