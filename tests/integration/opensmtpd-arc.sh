#!/bin/bash
# filter-dkimkit -m seal through the filter protocol: a message verified
# and sealed gets one ARC set (dkimkit verify --arc: pass, 1 instance);
# sealed again by a second relay, two; a chain whose latest seal says
# cv=fail goes on unchanged, logged; bad start-up options are refused.
# Then the real smtpd 6.8.0p2 (tests/lib/smtpd.sh) with the filter on
# its listener, fed by swaks: the delivered message passes ARC.  Keys
# come from a zone file (-z): no resolver needed.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/json.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/smtpd.sh" || bail_out "cannot read tests/lib/smtpd.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
smtpd_test_setup

"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain good.test \
    --selector sel --out good.pem > zone || bail_out "keygen good.test"
"$DKIMKIT" keygen --algorithm ed25519 --domain fwd.test \
    --selector arc --out fwd.pem >> zone || bail_out "keygen fwd.test"
"$DKIMKIT" keygen --algorithm rsa --bits 2048 --domain hop.test \
    --selector arc --out hop.pem >> zone || bail_out "keygen hop.test"
chmod 644 ./*.pem zone

HS='config|smtpd-version|6.8.0p2
config|smtp-session-timeout|300
config|subsystem|smtp-in
config|admd|relay.test
config|ready'
S1=00000000000000a1

printf 'From: Alice <alice@good.test>\nTo: nobody@example.net\nSubject: relayed\nMessage-ID: <r1@good.test>\n\nhello\n.leading dot\n' |
    "$DKIMKIT" sign --key good.pem --domain good.test --selector sel |
    tr -d '\r' > good.eml || bail_out "sign"

# seal NAME FILE ARGS...: the filter with ARGS (after -m seal -z zone)
# takes FILE in one session; NAME.out, NAME.err, NAME.got (the message
# sent back).
seal()
{
	local name="$1" file="$2"

	shift 2
	{
		echo "$HS"
		"$PY" "$TOOL" feed $S1 "$file"
		printf 'filter|0.6|1.0|smtp-in|commit|%s|00000000000000c1|\n' $S1
	} > "$name.in"
	timeout 60 "$PY" "$TOOL" converse "$FILTER" -m seal -z zone "$@" \
	    < "$name.in" > "$name.out" 2> "$name.err"
	"$PY" "$TOOL" extract $S1 "$name.out" > "$name.got"
}

# arc FILE: "RESULT INSTANCES" as dkimkit verify --arc --json says.
arc()
{
	"$DKIMKIT" verify --arc --json --zone zone "$1" > arc.json
	json_field arc.json '"%s %s" % (j["arc"]["result"], j["arc"]["instances"])'
}

# --- one relay --------------------------------------------------------
seal one good.eml -d fwd.test -s arc -k fwd.pem -i fwd.test
got=$(arc one.got)
[ "$got" = "pass 1" ]
ok_if "-m seal: one set, arc pass with 1 instance" $? "got '$got'" \
    "$(cat one.err)"
grep -q "^filter-result|$S1|00000000000000c1|proceed" one.out
ok_if "-m seal: the commit proceeds" $? "$(grep filter-result one.out)"
grep -q '^ARC-Authentication-Results: i=1; fwd.test;' one.got &&
    sed -n '/^ARC-Authentication-Results/,/^[^ \t]/p' one.got |
    grep -q 'dkim=pass'
ok_if "-m seal: the AAR has -i's authserv-id and dkim=pass" $? \
    "$(head -n 12 one.got)"
# the message itself is passed on as it came, the set above it
tail -n "$(wc -l < good.eml)" one.got | cmp -s - good.eml
ok_if "-m seal: the message below the set is unchanged" $?
grep -q 'arc: sealed i=1 cv=none d=fwd.test s=arc' one.err
ok_if "-m seal: the seal is logged" $? "$(cat one.err)"

# --- a second relay ---------------------------------------------------
seal two one.got -d hop.test -s arc -k hop.pem
got=$(arc two.got)
[ "$got" = "pass 2" ]
ok_if "-m seal again (RSA): arc pass with 2 instances" $? "got '$got'" \
    "$(cat two.err)"
grep '^ARC-Seal: i=2;' two.got | grep -q ' cv=pass;'
ok_if "-m seal again: the new seal says cv=pass" $? \
    "$(grep -A1 '^ARC-Seal' two.got)"

# --- a chain that already failed --------------------------------------
# sealed, then changed (the AMS of instance 1 fails), sealed: cv=fail.
printf 'a footer\n' >> one.got
"$DKIMKIT" seal --key hop.pem --domain hop.test --selector arc \
    --zone zone one.got | tr -d '\r' > cvfail.eml
grep -q 'cv=fail' cvfail.eml || bail_out "no cv=fail chain"
seal fail cvfail.eml -d fwd.test -s arc -k fwd.pem
cmp -s fail.got cvfail.eml &&
    grep -q 'arc: not sealed: the chain already failed' fail.err
ok_if "-m seal: cv=fail at the top: passed on unchanged, logged" $? \
    "$(cat fail.err)" "$(diff fail.got cvfail.eml | head -n 10)"

# --- start-up -----------------------------------------------------------
refused()
{
	local want="$1"

	shift
	"$FILTER" "$@" < /dev/null > refused.out 2>&1
	[ $? -ne 0 ] && grep -q -- "$want" refused.out
}
refused "needs one -d, one -s and one -k" -m seal -d fwd.test -s arc
ok_if "-m seal without -k: refused at start" $? "$(cat refused.out)"
refused "-E and -r refuse mail" -m seal -d fwd.test -s arc -k fwd.pem \
    -z zone -p -E
ok_if "-m seal -E: refused at start" $? "$(cat refused.out)"
refused "fwd.missing" -m seal -d fwd.test -s arc -k fwd.missing -z zone
ok_if "-m seal with a key that cannot be read: refused at start" $? \
    "$(cat refused.out)"

# ---------------------------------------------------------------------
# The real smtpd.
SMTPD_DIR="$TMPD/smtpd"
if [ "$(id -u)" -ne 0 ]; then
	skip "real smtpd" "needs root (mount namespaces, users for smtpd)"
	done_testing
	exit 0
fi
if ! need swaks unshare; then
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
mkdir md && chown nobody md
PS=$(free_port)
cat > seal.conf <<EOF
filter "arcseal" proc-exec "$FILTER -m seal -d fwd.test -s arc -k $TMPD/fwd.pem -i fwd.test -z $TMPD/zone"
listen on 127.0.0.1 port $PS filter "arcseal"
action "local" maildir "$TMPD/md" user nobody
match from any for any action "local"
EOF
if ! smtpd_run "$SMTPD_DIR" "$TMPD/seal.conf" "$PS" seal.log; then
	not_ok "real smtpd: start" "$(cat seal.log)"
	done_testing
	exit 0
fi
swaks_send "$PS" good.eml send.out --from alice@good.test \
    --to nobody@example.net --helo client.good.test --timeout 60
if f=$(maildir_wait md '^Subject: relayed$'); then
	got=$(arc "$f")
	[ "$got" = "pass 1" ] && grep -q '^ARC-Seal: i=1;' "$f"
	ok_if "smtpd with -m seal: delivered sealed, arc pass with 1 instance" \
	    $? "got '$got'" "$(head -n 12 "$f")"
else
	not_ok "smtpd with -m seal: delivered" "$(tail -n 8 send.out)" \
	    "$(tail -n 8 seal.log)"
fi

done_testing
