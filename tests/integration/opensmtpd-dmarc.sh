#!/bin/bash
# filter-dkimkit with DMARC (-p), -E and ARC (-x).  Part 1 drives the
# filter with protocol streams, its DNS behind a proxy that delays every
# answer, so that SPF is still under way when the message arrives (the
# verifier runs meanwhile and gets the SPF result when it comes).  Part
# 2 runs the real smtpd 6.8.0p2 (unpacked from the Debian package, in
# private mount namespaces) with the filter, fed by swaks.  DNS is
# unbound on loopback serving the zone below.  There a p=reject message
# that a list relayed with a footer and sealed (ARC) is delivered
# through a filter that trusts the list (-S: the local policy override,
# shown in the A-R) and refused with 550 when an untrusted sealer
# relayed it.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/smtpd.sh" || bail_out "cannot read tests/lib/smtpd.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
smtpd_test_setup
need unbound || { done_testing; exit 0; }

# good.test: SPF allows 127.0.0.1, DKIM key, p=reject.
# example.test: SPF allows only 192.0.2.0/24, p=reject.
# quar.test: SPF allows nobody, p=quarantine.
# sealer.test: the ARC sealer's key; other.test: a sealer nobody trusts.
"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain good.test \
    --selector sel --out good.pem > zone || bail_out "keygen good.test"
"$DKIMKIT" keygen --algorithm ed25519 --domain sealer.test \
    --selector arc --out seal.pem >> zone || bail_out "keygen sealer.test"
"$DKIMKIT" keygen --algorithm ed25519 --domain other.test \
    --selector arc --out other.pem >> zone || bail_out "keygen other.test"
chmod 644 ./*.pem
cat >> zone <<'EOF'
good.test. 300 IN TXT "v=spf1 ip4:127.0.0.1 -all"
_dmarc.good.test. 300 IN TXT "v=DMARC1; p=reject"
example.test. 300 IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
_dmarc.example.test. 300 IN TXT "v=DMARC1; p=reject"
quar.test. 300 IN TXT "v=spf1 -all"
_dmarc.quar.test. 300 IN TXT "v=DMARC1; p=quarantine"
EOF
unbound_start zone || bail_out "unbound did not start"
DNS="127.0.0.1@$UNBOUND_PORT"
DELAY=1
DPORT=$(free_port)
"$PY" "$TOOL" delay "$DPORT" "$DNS" "$DELAY" > delay.log 2>&1 &
at_exit kill $!
for i in $(seq 50); do
	grep -q ready delay.log && break
	sleep 0.1
done
# A resolver that takes every question and never answers.
"$PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    s.recv(4096)' > mute.port &
at_exit kill $!
for i in $(seq 50); do [ -s mute.port ] && break; sleep 0.1; done
MUTE="127.0.0.1@$(cat mute.port)"

HS='config|smtpd-version|6.8.0p2
config|smtp-session-timeout|300
config|subsystem|smtp-in
config|admd|mx.test
config|ready'
S1=00000000000000a1

# msg FROM SUBJECT: a message as a client sends it.
msg()
{
	printf 'From: %s\nTo: nobody@good.test\nSubject: %s\n' "$1" "$2"
	printf 'Message-ID: <%s@good.test>\n\nhello\n.leading dot\n' "$2"
}

# signed FROM SUBJECT: the same, signed by good.test.
signed()
{
	msg "$1" "$2" | "$DKIMKIT" sign --key good.pem --domain good.test \
	    --selector sel | tr -d '\r'
}

# session IP MAILFROM FILE: the reports of a session from IP whose
# transaction has MAILFROM, FILE's data lines, then the commit.
session()
{
	printf 'report|0.6|1.0|smtp-in|link-connect|%s|client|pass|%s:4321|127.0.0.1:25\n' $S1 "$1"
	printf 'report|0.6|1.0|smtp-in|link-identify|%s|EHLO|client.good.test\n' $S1
	printf 'report|0.6|1.0|smtp-in|tx-mail|%s|1|ok|%s\n' $S1 "$2"
	"$PY" "$TOOL" feed $S1 "$3"
	printf 'filter|0.6|1.0|smtp-in|commit|%s|00000000000000c1|\n' $S1
}

# converse NAME IP MAILFROM FILE ARGS...: the filter with ARGS answers
# that session; NAME.out, NAME.err, NAME.got (the message sent back).
converse()
{
	local name="$1"

	{ echo "$HS"; session "$2" "$3" "$4"; } > "$name.in"
	shift 4
	timeout 60 "$PY" "$TOOL" converse "$FILTER" "$@" < "$name.in" \
	    > "$name.out" 2> "$name.err"
	"$PY" "$TOOL" extract $S1 "$name.out" > "$name.got"
}

# commit_answer NAME: the filter's answer to the commit.
commit_answer() { grep "^filter-result|$S1|00000000000000c1|" "$1.out"; }

# ---------------------------------------------------------------------
# Part 1: the protocol; every DNS answer comes $DELAY s late.
SLOW=(-m verify -p -E -x -i mx.test -D "127.0.0.1@$DPORT")

msg 'Boss <boss@example.test>' forged > forged.eml
converse p-forged 198.51.100.7 boss@example.test forged.eml "${SLOW[@]}"
commit_answer p-forged | grep -q '|reject|550 5.7.1 .*example.test'
ok_if "proto: -E, forged From of a p=reject domain: 550 at commit" $? \
    "$(cat p-forged.out)" "$(cat p-forged.err)"
top_ar p-forged.got | grep -q 'spf=fail smtp.mailfrom=example.test' &&
    top_ar p-forged.got | grep -q 'dmarc=fail'
ok_if "proto: ... A-R says spf=fail (SPF waited for) and dmarc=fail" $? \
    "$(top_ar p-forged.got)"
grep -q 'spf=fail (example.test' p-forged.err &&
    grep -q 'dmarc=fail (example.test, policy reject, disposition reject)' \
    p-forged.err
ok_if "proto: ... the log says spf=fail and dmarc=fail (reject)" $? \
    "$(cat p-forged.err)"

signed 'Alice <alice@good.test>' good > good.eml
converse p-good 127.0.0.1 alice@good.test good.eml "${SLOW[@]}"
commit_answer p-good | grep -q '|proceed$' &&
    top_ar p-good.got | grep -q 'dkim=pass header.d=good.test' &&
    top_ar p-good.got | grep -q 'spf=pass smtp.mailfrom=good.test' &&
    top_ar p-good.got | grep -q 'dmarc=pass'
ok_if "proto: signed, SPF pass: proceed, dkim=pass spf=pass dmarc=pass" $? \
    "$(top_ar p-good.got)" "$(commit_answer p-good)" "$(cat p-good.err)"
tail -n +"$(($(awk 'NR > 1 && !/^\t/ { print NR - 1; exit }' p-good.got) + 1))" \
    p-good.got | cmp -s - good.eml
ok_if "proto: ... the message below our field unchanged" $?

converse p-noe 198.51.100.7 boss@example.test forged.eml -m verify -p \
    -i mx.test -D "127.0.0.1@$DPORT"
commit_answer p-noe | grep -q '|proceed$' &&
    top_ar p-noe.got | grep -q 'dmarc=fail'
ok_if "proto: without -E the verdict is only written: proceed, dmarc=fail" \
    $? "$(commit_answer p-noe)" "$(top_ar p-noe.got)"

# -R: DMARC as RFC 7489 did it (the system's Public Suffix List), -E too.
converse p-7489 198.51.100.7 boss@example.test forged.eml -m verify -R -E \
    -i mx.test -D "127.0.0.1@$DPORT"
commit_answer p-7489 | grep -q '|reject|550 5.7.1 .*example.test' &&
    top_ar p-7489.got | grep -q 'dmarc=fail'
ok_if "proto: -R -E: RFC 7489 mode, forged: 550 too" $? \
    "$(commit_answer p-7489)" "$(top_ar p-7489.got)" "$(cat p-7489.err)"

msg 'Q <q@quar.test>' quar > quar.eml
converse p-quar 127.0.0.1 q@quar.test quar.eml "${SLOW[@]}"
commit_answer p-quar | grep -q '|proceed$' &&
    head -n 1 p-quar.got | grep -qx 'X-Dkimkit-Quarantine: dmarc quar.test' &&
    sed -n 2p p-quar.got | grep -qx 'X-Spam: Yes'
ok_if "proto: p=quarantine: proceed, X-Dkimkit-Quarantine and X-Spam on top" $? \
    "$(head -n 3 p-quar.got)" "$(commit_answer p-quar)"

converse p-mute 127.0.0.1 alice@good.test good.eml -m verify -p -E \
    -i mx.test -w 500 -D "$MUTE"
commit_answer p-mute | grep -q '|reject|451 4.7.0 .*good.test'
ok_if "proto: -E, the resolver never answers: 451 at commit" $? \
    "$(commit_answer p-mute)" "$(top_ar p-mute.got)" "$(cat p-mute.err)"

# A null MAIL FROM: SPF checks postmaster@HELO (RFC 7208 2.4).
converse p-null 127.0.0.1 '' good.eml "${SLOW[@]}"
grep -q 'spf=[a-z]* (client.good.test' p-null.err &&
    commit_answer p-null | grep -q '|proceed$'
ok_if "proto: null MAIL FROM: SPF on the HELO name, DKIM still aligns" $? \
    "$(grep spf= p-null.err)" "$(commit_answer p-null)"

# ARC: sealed by sealer.test after good.test signed.
"$DKIMKIT" seal --key seal.pem --domain sealer.test --selector arc \
    --authserv-id sealer.test --zone zone good.eml | tr -d '\r' > sealed.eml ||
    bail_out "dkimkit seal"
converse p-arc 127.0.0.1 alice@good.test sealed.eml "${SLOW[@]}"
top_ar p-arc.got | grep -q 'arc=pass' &&
    grep -q 'arc=pass (1 sets)' p-arc.err
ok_if "proto: ARC-sealed (dkimkit seal): arc=pass" $? "$(top_ar p-arc.got)"
converse p-sealer 127.0.0.1 alice@good.test sealed.eml "${SLOW[@]}" \
    -S 'other.test, sealer.test'
grep -q 'arc=pass: trusted sealer sealer.test sealed instance 1 (cv=none)' \
    p-sealer.err
ok_if "proto: -S: the log names the trusted sealer's instance" $? \
    "$(cat p-sealer.err)"

# -F: forwarded mail (an ARC chain that passes, no trusted sealer) whose
# DMARC disposition is reject is quarantined instead of refused.  The
# forgery sealed by sealer.test: refused without -F, quarantined with it;
# unsealed it is refused with -F too; with -S sealer.test a sealer that
# recorded no pass changes nothing either.
"$DKIMKIT" seal --key seal.pem --domain sealer.test --selector arc \
    --authserv-id sealer.test --zone zone forged.eml | tr -d '\r' \
    > forged-sealed.eml || bail_out "dkimkit seal (forged)"
converse p-fwd-noF 198.51.100.7 boss@example.test forged-sealed.eml \
    "${SLOW[@]}"
commit_answer p-fwd-noF | grep -q '|reject|550 5.7.1 .*example.test'
ok_if "proto: sealed by an untrusted sealer, without -F: 550" $? \
    "$(commit_answer p-fwd-noF)" "$(cat p-fwd-noF.err)"
converse p-fwd 198.51.100.7 boss@example.test forged-sealed.eml \
    "${SLOW[@]}" -F
commit_answer p-fwd | grep -q '|proceed$' &&
    head -n 1 p-fwd.got | grep -qx 'X-Dkimkit-Quarantine: dmarc example.test' &&
    sed -n 2p p-fwd.got | grep -qx 'X-Spam: Yes' &&
    top_ar p-fwd.got | grep -q 'dmarc=fail' &&
    top_ar p-fwd.got | grep -q 'arc=pass'
ok_if "proto: -F, arc=pass: proceed, quarantine fields, dmarc=fail kept" $? \
    "$(head -n 4 p-fwd.got)" "$(commit_answer p-fwd)"
grep -q 'DMARC reject lowered to quarantine (-F): forwarded mail, arc=pass (latest sealer sealer.test, i=1), no trusted sealer vouched for it' \
    p-fwd.err
ok_if "proto: -F: the log says why and names the sealer" $? \
    "$(cat p-fwd.err)"
# the core decided it (arc-forwarded): its A-R entry gives the reason
# and the lowered disposition, its log line the override
top_ar p-fwd.got | tr -d '\n\t' |
    grep -q 'dmarc=fail (policy reject of example.test) reason="local_policy: arc=pass, forwarded, latest sealer sealer.test of instance 1, no trusted sealer vouched: reject lowered to quarantine" header.from=example.test.*policy.dmarc=quarantine' &&
    grep -q 'dmarc=fail (example.test, policy reject, disposition quarantine, local_policy for forwarded mail, latest sealer sealer.test)' p-fwd.err
ok_if "proto: -F: A-R reason and policy.dmarc=quarantine, log line" $? \
    "$(top_ar p-fwd.got)" "$(cat p-fwd.err)"
converse p-fwd-plain 198.51.100.7 boss@example.test forged.eml \
    "${SLOW[@]}" -F
commit_answer p-fwd-plain | grep -q '|reject|550 5.7.1 .*example.test'
ok_if "proto: -F, no ARC chain: still 550" $? \
    "$(commit_answer p-fwd-plain)" "$(cat p-fwd-plain.err)"
converse p-fwd-S 198.51.100.7 boss@example.test forged-sealed.eml \
    "${SLOW[@]}" -S sealer.test
commit_answer p-fwd-S | grep -q '|reject|550 5.7.1 .*example.test'
ok_if "proto: -S, the sealer recorded no pass (dkim=none): still 550" $? \
    "$(commit_answer p-fwd-S)" "$(cat p-fwd-S.err)"

# -e: a body changed after signing is named in the log line.
sed 's/^hello$/hello, changed/' good.eml > changed.eml
converse p-explain 127.0.0.1 alice@good.test changed.eml "${SLOW[@]}" -e
grep -q '\[fail d=good.test s=sel a=rsa-sha256: [^]]*; body-changed' \
    p-explain.err && top_ar p-explain.got | grep -q 'dmarc=pass'
ok_if "proto: -e: body-changed in the log line; SPF still passes DMARC" $? \
    "$(cat p-explain.err)" "$(top_ar p-explain.got)"

# While SPF waits for DNS: a rolled-back message and a session that goes
# away leave nothing behind; the next session is answered.
{
	echo "$HS"
	printf 'report|0.6|1.0|smtp-in|link-connect|%s|client|pass|198.51.100.7:1|127.0.0.1:25\n' 00000000000000a2
	printf 'report|0.6|1.0|smtp-in|tx-mail|%s|1|ok|boss@example.test\n' 00000000000000a2
	"$PY" "$TOOL" feed 00000000000000a2 forged.eml > p-gone.lines
	head -n 3 p-gone.lines
	printf 'report|0.6|1.0|smtp-in|tx-rollback|%s|1\n' 00000000000000a2
	printf 'report|0.6|1.0|smtp-in|tx-mail|%s|2|ok|boss@example.test\n' 00000000000000a2
	printf 'report|0.6|1.0|smtp-in|link-disconnect|%s\n' 00000000000000a2
	session 198.51.100.7 boss@example.test forged.eml
} > p-gone.in
timeout 60 "$PY" "$TOOL" converse "$FILTER" "${SLOW[@]}" < p-gone.in \
    > p-gone.out 2> p-gone.err
st=$?
[ "$st" -eq 0 ] && commit_answer p-gone | grep -q '|reject|550 5.7.1' &&
    ! grep -q '00000000000000a2' p-gone.out
ok_if "proto: rollback and disconnect while SPF waits: clean; next refused" \
    $? "status $st" "$(cat p-gone.out)" "$(cat p-gone.err)"

# -m sv: what the policy does not sign is verified with DMARC too.
printf 'Domain good.test\nSelector sel\nKeyFile %s/good.pem\n' "$TMPD" \
    > od.conf
converse p-sv 198.51.100.7 boss@example.test forged.eml -m sv -C od.conf \
    -p -E -i mx.test -D "127.0.0.1@$DPORT"
commit_answer p-sv | grep -q '|reject|550 5.7.1 .*example.test' &&
    top_ar p-sv.got | grep -q 'spf=fail'
ok_if "proto: -m sv -p -E: the verified half refuses on DMARC reject" $? \
    "$(commit_answer p-sv)" "$(top_ar p-sv.got)" "$(cat p-sv.err)"

# SPF and DKIM at once: only the SPF record's answer (good.test TXT)
# comes 3 s late.  The verifier is made when the message begins, so the
# key lookup is asked, and answered, while SPF still waits; DMARC is
# decided once both are in.
CPORT=$(free_port)
"$PY" "$TOOL" delay "$CPORT" "$DNS" 3 good.test > conc-dns.log 2>&1 &
at_exit kill $!
for i in $(seq 50); do
	grep -q ready conc-dns.log && break
	sleep 0.1
done
converse p-conc 127.0.0.1 alice@good.test good.eml -m verify -p -E \
    -i mx.test -D "127.0.0.1@$CPORT"
commit_answer p-conc | grep -q '|proceed$' &&
    top_ar p-conc.got | grep -q 'dkim=pass header.d=good.test' &&
    top_ar p-conc.got | grep -q 'spf=pass smtp.mailfrom=good.test' &&
    top_ar p-conc.got | grep -q 'dmarc=pass'
ok_if "proto: SPF answers 3 s late: dkim=pass spf=pass dmarc=pass, proceed" \
    $? "$(top_ar p-conc.got)" "$(commit_answer p-conc)" "$(cat p-conc.err)"
# when NAME's first question was asked / answered (seconds), or empty
seen() { awk -v w="$1" -v n="$2" '$1 == w && $2 == n { print $3; exit }' \
    conc-dns.log; }
kq=$(seen question sel._domainkey.good.test)
ka=$(seen answer sel._domainkey.good.test)
sa=$(seen answer good.test)
[ -n "$kq" ] && [ -n "$ka" ] && [ -n "$sa" ] &&
    awk -v k="$ka" -v s="$sa" 'BEGIN { exit !(k + 1 < s) }'
ok_if "proto: ... the key was asked and answered while SPF waited" $? \
    "key asked $kq answered $ka, SPF answered $sa" "$(cat conc-dns.log)"

! grep -l 'Sanitizer\|runtime error' p-*.err
ok_if "proto: no sanitizer report from any of these filters" $? \
    "$(grep -h -A5 'Sanitizer\|runtime error' p-*.err | head -n 20)"

"$FILTER" -m sign -d good.test -s sel -k good.pem -p 2> opt.err
[ $? -ne 0 ] && grep -q -- '-p' opt.err
ok_if "options: -p with -m sign is refused" $? "$(cat opt.err)"
"$FILTER" -m verify -E 2> opt.err
[ $? -ne 0 ] && grep -q -- '-E.*-p' opt.err
ok_if "options: -E without -p is refused" $? "$(cat opt.err)"
"$FILTER" -m verify -p -F 2> opt.err
[ $? -ne 0 ] && grep -q -- '-F.*-E' opt.err
ok_if "options: -F without -E is refused" $? "$(cat opt.err)"
"$FILTER" -m verify -S 'bad domain!' 2> opt.err
[ $? -ne 0 ] && grep -q -- '^filter-dkimkit: -S: ' opt.err
ok_if "options: -S checks its domains (the shared words)" $? "$(cat opt.err)"

# ---------------------------------------------------------------------
# Part 2: the real smtpd.
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
PV=$(free_port)
PM=$(free_port)
while [ "$PM" = "$PV" ]; do PM=$(free_port); done
PJ=$(free_port)
while [ "$PJ" = "$PV" ] || [ "$PJ" = "$PM" ]; do PJ=$(free_port); done
PT=$(free_port)
while [ "$PT" = "$PV" ] || [ "$PT" = "$PM" ] || [ "$PT" = "$PJ" ]; do
	PT=$(free_port)
done
mkdir mdj && chown nobody mdj
cat > verify.conf <<EOF
filter "dmarc" proc-exec "$FILTER -m verify -p -E -x -i mx.test -D $DNS"
filter "mute" proc-exec "$FILTER -m verify -p -E -i mute.test -w 500 -D $MUTE"
filter "trust" proc-exec "$FILTER -m verify -p -E -x -S sealer.test -i mx.test -D $DNS"
listen on 127.0.0.1 port $PV filter "dmarc"
listen on 127.0.0.1 port $PM filter "mute"
listen on 127.0.0.1 port $PJ tag QUAR filter "dmarc"
listen on 127.0.0.1 port $PT filter "trust"
action "local" maildir "$TMPD/md" user nobody
action "quar" maildir "$TMPD/mdj" junk user nobody
match tag QUAR from any for any action "quar"
match from any for any action "local"
EOF
if ! smtpd_run "$SMTPD_DIR" "$TMPD/verify.conf" "$PV" verify.log; then
	not_ok "real smtpd: start" "$(cat verify.log)"
	done_testing
	exit 0
fi
ok "real smtpd 6.8.0p2 with filter-dkimkit -p -E -x up"

# send PORT FILE FROM: swaks, its transcript in send.out.
send()
{
	swaks_send "$1" "$2" send.out --from "$3" --to nobody@good.test \
	    --helo client.good.test --timeout 60
}
delivered() { maildir_wait md "^Subject: $1\$"; }

msg 'Boss <boss@example.test>' smtpd-forged > smtpd-forged.eml
st=0
send "$PV" smtpd-forged.eml boss@example.test || st=$?
[ "$st" -ne 0 ] && grep -q '<\*\* *550 5.7.1 .*example.test' send.out &&
    ! grep -lq '^Subject: smtpd-forged$' md/new/* 2>/dev/null
ok_if "smtpd: forged From of p=reject example.test from 127.0.0.1: 550, not delivered" \
    $? "swaks $st" "$(tail -n 8 send.out)" "$(tail -n 5 verify.log)"

signed 'Alice <alice@good.test>' smtpd-good > smtpd-good.eml
send "$PV" smtpd-good.eml alice@good.test
f=$(delivered smtpd-good) &&
    top_ar "$f" | grep -q 'dkim=pass header.d=good.test' &&
    top_ar "$f" | grep -q 'spf=pass smtp.mailfrom=good.test' &&
    top_ar "$f" | grep -q 'dmarc=pass'
ok_if "smtpd: signed good.test: delivered, dkim=pass spf=pass dmarc=pass" $? \
    "$(top_ar "${f:-/dev/null}")" "$(tail -n 5 send.out)"

msg 'Q <q@quar.test>' smtpd-quar > smtpd-quar.eml
send "$PV" smtpd-quar.eml q@quar.test
f=$(delivered smtpd-quar) &&
    header_fields "$f" X-Dkimkit-Quarantine | grep -qx 'dmarc quar.test' &&
    top_ar "$f" | grep -q 'dmarc=fail'
ok_if "smtpd: p=quarantine: delivered with X-Dkimkit-Quarantine: dmarc quar.test" \
    $? "$(head -n 8 "${f:-/dev/null}")"

msg 'Q <q@quar.test>' smtpd-junk > smtpd-junk.eml
send "$PJ" smtpd-junk.eml q@quar.test
f=$(maildir_wait mdj/.Junk '^Subject: smtpd-junk$') &&
    header_fields "$f" X-Spam | grep -qx 'Yes'
ok_if "smtpd: p=quarantine, maildir junk: filed in .Junk by smtpd" $? \
    "$(find mdj -type f)" "$(tail -n 4 send.out)"

# A null MAIL FROM (the tool says EHLO raw.test, which has no SPF
# record): SPF checks postmaster at the HELO name.
signed 'Alice <alice@good.test>' smtpd-null > smtpd-null.eml
"$PY" "$TOOL" raw "$PV" smtpd-null.eml '' > send.out 2>&1
f=$(delivered smtpd-null) &&
    grep -q 'spf=none (raw.test' verify.log &&
    top_ar "$f" | grep -q 'dmarc=pass'
ok_if "smtpd: null MAIL FROM: SPF on the HELO name, delivered, dmarc=pass" $? \
    "$(grep 'spf=' verify.log | tail -n 2)" "$(top_ar "${f:-/dev/null}")"

signed 'Alice <alice@good.test>' smtpd-mute > smtpd-mute.eml
st=0
send "$PM" smtpd-mute.eml alice@good.test || st=$?
[ "$st" -ne 0 ] && grep -q '<\*\* *451 4.7.0' send.out &&
    ! grep -lq '^Subject: smtpd-mute$' md/new/* 2>/dev/null
ok_if "smtpd: resolver that never answers: 451, not delivered" $? \
    "swaks $st" "$(tail -n 6 send.out)"

signed 'Alice <alice@good.test>' smtpd-arc |
    "$DKIMKIT" seal --key seal.pem --domain sealer.test --selector arc \
    --authserv-id sealer.test --zone zone | tr -d '\r' > smtpd-arc.eml
send "$PV" smtpd-arc.eml alice@good.test
f=$(delivered smtpd-arc) && top_ar "$f" | grep -q 'arc=pass' &&
    top_ar "$f" | grep -q 'dmarc=pass'
ok_if "smtpd: ARC-sealed by dkimkit seal: arc=pass" $? \
    "$(top_ar "${f:-/dev/null}")"

# A list verified the good.test message as it came (--received: its AAR
# records dkim=pass), added a footer and sealed; it sends from its own
# address (no SPF record, not aligned).  DKIM fails, DMARC fails under
# p=reject; the filter that trusts sealer.test (-S) lets it through with
# the override in the A-R, the one that does not refuses it, and so does
# the trusting one when other.test sealed it.
signed 'Alice <alice@good.test>' smtpd-relayed > smtpd-relayed.eml
{ cat smtpd-relayed.eml; printf -- '-- \nthe list footer\n'; } > footer.eml
for s in seal other; do
	d=sealer.test
	[ "$s" = other ] && d=other.test
	sed "s/^Subject: smtpd-relayed$/Subject: smtpd-relayed-$s/" footer.eml |
	    "$DKIMKIT" seal --key "$s.pem" --domain "$d" --selector arc \
	    --authserv-id "$d" --zone zone --received smtpd-relayed.eml |
	    tr -d '\r' > "smtpd-relayed-$s.eml" || bail_out "seal footer ($s)"
done
"$DKIMKIT" verify --zone zone smtpd-relayed-seal.eml > /dev/null
[ $? -eq 1 ] || bail_out "the footer did not break the author's signature"
send "$PT" smtpd-relayed-seal.eml list@sealer.test
f=$(delivered smtpd-relayed-seal) &&
    top_ar "$f" | grep -q 'dkim=fail header.d=good.test' &&
    top_ar "$f" | grep -q 'dmarc=fail .*reason="local_policy: arc=pass, trusted sealer sealer.test of instance 1' &&
    top_ar "$f" | grep -q 'policy.dmarc=none' &&
    top_ar "$f" | grep -q 'arc=pass'
ok_if "smtpd, -S sealer.test: relayed p=reject mail delivered, override in the A-R" \
    $? "$(top_ar "${f:-/dev/null}")" "$(tail -n 5 send.out)"
st=0
send "$PV" smtpd-relayed-seal.eml list@sealer.test || st=$?
[ "$st" -ne 0 ] && grep -q '<\*\* *550 5.7.1 .*good.test' send.out
ok_if "smtpd without -S: the same message refused with 550" $? \
    "swaks $st" "$(tail -n 6 send.out)"
st=0
send "$PT" smtpd-relayed-other.eml list@other.test || st=$?
[ "$st" -ne 0 ] && grep -q '<\*\* *550 5.7.1 .*good.test' send.out &&
    ! grep -lq '^Subject: smtpd-relayed-other$' md/new/* 2>/dev/null
ok_if "smtpd, -S sealer.test: sealed by untrusted other.test: 550, not delivered" \
    $? "swaks $st" "$(tail -n 6 send.out)"

kill -0 "${SMTPD_PIDS[0]}" 2>/dev/null &&
    ! grep -q 'processor.*exited\|fatal\|Sanitizer\|runtime error' verify.log
ok_if "smtpd: smtpd and the filter still running" $? \
    "$(grep 'exited\|fatal\|Sanitizer\|runtime error' verify.log | head -n 3)"
done_testing
