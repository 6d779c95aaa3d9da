#!/bin/bash
# filter-dkimkit -C: the OpenDKIM-style signing policy in the filter
# (issue #19).  The expected decision of every case is dkimkit's own
# `dkimkit policy test --json`, which tests/interop/policy-opendkim.sh
# proves to agree with opendkim 2.11 under miltertest on the same
# configurations and cases.
#
# Part 1, the protocol driven directly: the 308 (From, client address and
# name, authenticated or not) cases of that script and two with a name
# whose forward check failed, one session each with smtpd's own report
# lines (link-connect, link-auth, link-identify, tx-mail, tx-reset),
# through -m sign -C in each of its 5 configurations (1,550 messages);
# the signed/unsigned decision and the set of (d=, s=,
# i=, a=) of each message must be the policy's.  Then the facts in the log
# line, -m sv, and messages the policy cannot decide.
#
# Part 2, the real smtpd 6.8.0p2 on loopback: 242 cases (11 From
# addresses x 11 client addresses: 10 over 127.0.0.0/8, two of them with
# a name in /etc/hosts, and ::1; swaks --local-interface; x 2
# configurations) through
# one smtpd, each delivered to a maildir and its signatures compared with
# the policy's;
# every signature checked by `dkimkit verify`, a sample by python3-dkim.
# Authenticated cases run in part 1 only: smtpd takes AUTH only over TLS,
# and Debian 12's smtpd 6.8.0p2 fails every TLS handshake under OpenSSL 3
# ("missing private key", OpenSMTPD issue #1171).  Then -m sv, and
# SIGHUP: a changed table is used by the next message, a broken one is
# refused with a log line and the old policy stays.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/smtpd.sh" || bail_out "cannot read tests/lib/smtpd.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
smtpd_test_setup
POL="$TOP_SRCDIR/tests/integration/opensmtpd-policy.py"

# ---------------------------------------------------------------------
# Keys and configurations: those of tests/interop/policy-opendkim.sh.

K="$TMPD/k"
mkdir -p "$K"
: > keys
. "$TOP_SRCDIR/tests/lib/policy-matrix.sh"
for sel in $POLICY_SELECTORS; do
	"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain example.com \
	    --selector "$sel" --out "$K/$sel.private" >> keys ||
	    bail_out "keygen $sel"
done
# The filter runs as opensmtpd: the keys must be readable to it.
chmod 755 "$K"
chmod 644 "$K"/*.private
# Every d= a "%" key can take: each selector under each From domain.
{
	for d in example.com sub.example.com a.b.example.com example.net \
	    shop.example.net example.org examplexcom.net; do
		sed "s/\\._domainkey\\.example\\.com\\./._domainkey.$d./" keys
	done
} > zone

# The matrix's files (tests/lib/policy-matrix.sh), and part 2's clients
# over 127.0.0.0/8 among the internal hosts.
policy_matrix "$TMPD" "$K"
cat >> TrustedHosts <<'EOF2'
127.10.0.0/16
!127.10.1.0/24
127.20.0.7
EOF2
froms=$POLICY_FROMS

# ---------------------------------------------------------------------
# Part 1: the protocol.

# N FROM IP HOST FCRDNS AUTH; a name only counts when smtpd's forward
# check passed: relay.trusted.example from a stranger's PTR does not.
clients=$POLICY_CLIENTS
n=0
: > cases
for f in $froms; do
	for c in $clients; do
		for a in 0 1; do
			echo "$n $f ${c%%,*} ${c#*,} pass $a" >> cases
			n=$((n + 1))
		done
	done
done
echo "$n q@example.org 198.51.100.2 relay.trusted.example fail 0" >> cases
n=$((n + 1))
echo "$n alice@example.com 198.51.100.2 relay.trusted.example fail 0" >> cases
ncases=$(wc -l < cases)
[ "$ncases" -ge 300 ]
ok_if "proto: $ncases cases" $?

"$PY" "$POL" stream cases > matrix.in
for name in yes no exact-sub exact-multi exact-nosub; do
	timeout 300 "$FILTER" -m sign -C "$TMPD/od-$name.conf" < matrix.in \
	    > "m-$name.out" 2> "m-$name.err"
	st=$?
	"$PY" "$POL" sigs "m-$name.out" > "got-$name"
	"$PY" "$POL" expected "$DKIMKIT" "od-$name.conf" cases > "want-$name"
	[ "$st" -eq 0 ] && [ "$(wc -l < "got-$name")" -eq "$ncases" ] &&
	    cmp -s "want-$name" "got-$name"
	ok_if "proto: the filter decides as dkimkit policy test in all $ncases cases ($name)" \
	    $? "status $st" "$(diff "want-$name" "got-$name" | head -20)" \
	    "$(tail -n 3 "m-$name.err")"
	tap_diag "$name: $(grep -vc '| $' "got-$name") of $ncases signed"
	[ "$(grep -c ': policy: from=' "m-$name.err")" -eq "$ncases" ]
	ok_if "proto: one policy log line per message ($name)" $?
done
grep -q '| .*;' got-yes && grep -q '| $' got-yes
ok_if "proto: the matrix has signed, multiply signed and unsigned cases" $?

# The facts reach the log line: address (IPv6 without smtpd's brackets),
# name, user of a passing AUTH only, HELO, MAIL FROM; the reason.
grep -q "session 0000000000000002: policy: from=<ceo@example.com> client=127.0.0.1 \[localhost\] auth=user1 helo=helo-1.test mail-from=<bounce-1@mail.test>: sign: " m-yes.err
ok_if "proto: log line: From, client, name, user, HELO, MAIL FROM, decision" $? \
    "$(grep 'session 0000000000000002:' m-yes.err)"
grep -q "session 0000000000000003: policy: from=<ceo@example.com> client=::1 \[localhost\] auth=- " m-yes.err
ok_if "proto: IPv6 client from [IPv6:...]:port; a failed AUTH is no user" \
    $? "$(grep 'session 0000000000000003:' m-yes.err)"
last=$(printf '%016x' "$ncases")
grep -q "session $last: policy: from=<alice@example.com> client=198.51.100.2 auth=- .*: not signed: " m-yes.err
ok_if "proto: a name whose forward check failed is not passed on" $? \
    "$(grep "session $last:" m-yes.err)"
signed=$(grep -c ': signed: d=' m-yes.err)
[ "$signed" -eq "$(grep -vc '| $' got-yes)" ]
ok_if "proto: a 'signed:' log line per signed message ($signed)" $?

HS='config|smtpd-version|6.8.0p2
config|smtp-session-timeout|300
config|subsystem|smtp-in
config|admd|mx.test
config|ready'
# unfold FILE: its header fields one a line.
unfold()
{
	awk '/^$/ { exit } /^[ \t]/ { sub(/^[ \t]+/, " "); printf "%s", $0; next }
	    NR > 1 { print "" } { printf "%s", $0 } END { print "" }' "$1"
}

# dl SID LINE...: data-line requests.
dl()
{
	local sid="$1" l

	shift
	for l in "$@"; do
		printf 'filter|0.6|1.0|smtp-in|data-line|%s|00000000000000b0|%s\n' \
		    "$sid" "$l"
	done
}
rep()
{
	printf 'report|%s|1.0|smtp-in|%s|%s|%s\n' "$1" "$2" "$3" "$4"
}

# Facts across messages: MAIL FROM goes at tx-reset, the rest stays; a
# 0.7 link-auth puts the result first; a user name may hold '|'.
S=00000000000000a1
{
	echo "$HS"
	rep 0.6 link-connect $S 'localhost|pass|127.0.0.1:1|127.0.0.1:25'
	rep 0.6 link-identify $S 'HELO|first.test'
	rep 0.6 link-auth $S 'we|ird|pass'
	rep 0.6 tx-mail $S '00000001|ok|one@mail.test'
	dl $S 'From: alice@example.com' 'Subject: one' '' 'x' '.'
	rep 0.6 tx-reset $S 00000001
	rep 0.6 tx-mail $S '00000002|permfail|refused@mail.test'
	dl $S 'From: alice@example.com' 'Subject: two' '' 'x' '.'
	rep 0.6 tx-rollback $S 00000002
	rep 0.7 link-connect 00000000000000a2 '<unknown>|error|198.51.100.7:2|127.0.0.1:25'
	rep 0.7 link-auth 00000000000000a2 'pass|bob'
	dl 00000000000000a2 'From: alice@example.com' 'Subject: three' '' 'x' '.'
	rep 0.6 link-disconnect $S ''
	# malformed reports: logged and skipped, the session's facts intact
	rep 0.6 link-connect 00000000000000a3 'localhost|pass|127.0.0.1:1|127.0.0.1:25'
	rep 0.6 link-auth 00000000000000a3 'nobar'
	rep 0.7 link-auth 00000000000000a3 'pass'
	rep 0.6 tx-mail 00000000000000a3 'x|ok'
	rep 0.6 link-identify 00000000000000a3 'EHLO'
	printf 'report|0.6|1.0|smtp-in|link-connect|00000000000000a3\n'
	printf 'report|0.6|1.0|smtp-in|link-connect|00000000000000a4|x\n'
	rep 0.6 link-connect 00000000000000a5 'x|pass|unix:/run/smtpd.sock|unix:/run/smtpd.sock'
	dl 00000000000000a3 'From: alice@example.com' 'Subject: four' '' 'x' '.'
	dl 00000000000000a5 'From: alice@example.com' 'Subject: five' '' 'x' '.'
} > facts.in
timeout 60 "$FILTER" -m sign -C "$TMPD/od-yes.conf" < facts.in > facts.out \
    2> facts.err
grep -q "$S: policy: .* auth=we|ird helo=first.test mail-from=<one@mail.test>: sign" facts.err &&
    grep -q "$S: policy: .* auth=we|ird helo=first.test mail-from=<>: sign" facts.err &&
    grep -q "00000000000000a2: policy: from=<alice@example.com> client=198.51.100.7 auth=bob helo=- mail-from=<>: sign: the client authenticated as bob" facts.err
ok_if "proto: MAIL FROM cleared at tx-reset, a refused one not kept; 0.7 link-auth" \
    $? "$(cat facts.err)"
grep -q "00000000000000a3: policy: from=<alice@example.com> client=127.0.0.1 \[localhost\] auth=- helo=- mail-from=<>: sign" facts.err &&
    grep -q "00000000000000a5: policy: from=<alice@example.com> client=unknown \[x\] auth=- .*: sign: the client without an address (127.0.0.1) is in InternalHosts" facts.err &&
    [ "$(grep -c 'malformed' facts.err)" -eq 6 ] &&
    [ "$(grep -c '^filter-dataline|.*|\.$' facts.out)" -eq 5 ]
ok_if "proto: malformed reports logged and skipped; a local client has no address and counts as 127.0.0.1, as in opendkim" \
    $? "$(cat facts.err)"

# -m sv: what the policy signs is signed (no A-R), the rest verified (A-R,
# forged A-R removed); a message ending inside its header too.
{
	echo "$HS"
	rep 0.6 link-connect 00000000000000b1 '<unknown>|fail|198.51.100.7:2|127.0.0.1:25'
	dl 00000000000000b1 'Authentication-Results: mx.test; dkim=pass header.d=example.com' \
	    'From: alice@example.com' 'Subject: outside' '' 'x' '.'
	rep 0.6 link-connect 00000000000000b2 'localhost|pass|127.0.0.1:2|127.0.0.1:25'
	dl 00000000000000b2 'Authentication-Results: mx.test; dkim=pass' \
	    'From: alice@example.com' 'Subject: inside' '' '..dot' '.'
	rep 0.6 link-connect 00000000000000b3 'localhost|pass|127.0.0.1:3|127.0.0.1:25'
	dl 00000000000000b3 'From: alice@example.com' 'Subject: nobody' '.'
} > sv.in
timeout 60 "$FILTER" -m sv -C "$TMPD/od-no.conf" -z "$TMPD/zone" -i mx.test \
    < sv.in > sv.out 2> sv.err
"$PY" "$TOOL" extract 00000000000000b1 sv.out > sv1.got
"$PY" "$TOOL" extract 00000000000000b2 sv.out > sv2.got
"$PY" "$TOOL" extract 00000000000000b3 sv.out > sv3.got
unfold sv1.got | head -n 1 | grep -q '^Authentication-Results: mx.test; dkim=none' &&
    [ "$(grep -c '^Authentication-Results:' sv1.got)" -eq 1 ] &&
    ! grep -q '^DKIM-Signature' sv1.got && grep -q '^Subject: outside' sv1.got
ok_if "proto: -m sv: an outside client's message verified, forged A-R removed" \
    $? "$(cat sv1.got)"
head -n 1 sv2.got | grep -q '^DKIM-Signature: .*a=rsa-sha256' &&
    ! grep -q '^Authentication-Results: mx.test; dkim=none' sv2.got &&
    grep -qx 'filter-dataline|00000000000000b2|00000000000000b0|\.\.dot' \
    sv.out && grep -q 'd=example.com' sv2.got
ok_if "proto: -m sv: an inside client's message signed, as it came" $? \
    "$(cat sv2.got)"
check "proto: -m sv: the signature verifies" "$DKIMKIT" verify --zone zone \
    sv2.got
grep -q '^Subject: nobody' sv3.got && head -n 1 sv3.got | grep -q '^DKIM-Signature'
ok_if "proto: -m sv: a message ending in its header is signed too" $? \
    "$(cat sv3.got)"

# Undecidable: a SigningTable line naming no KeyTable line, a key that
# cannot be read.  Passed on unsigned, logged; the next message signed.
cp KeyTable KeyTable.bad
printf 'gone\texample.org:gone:%s/missing.private\n' "$K" >> KeyTable.bad
printf '*@example.net\tnosuch\n*@example.org\tgone\n*@example.com\tex\n' \
    > SigningTable.bad
sed -e "s|file:$TMPD/KeyTable|file:$TMPD/KeyTable.bad|" \
    -e "s|refile:$TMPD/SigningTable|refile:$TMPD/SigningTable.bad|" \
    od-no.conf > od-bad.conf
{
	echo "$HS"
	rep 0.6 link-connect 00000000000000c1 'localhost|pass|127.0.0.1:2|127.0.0.1:25'
	dl 00000000000000c1 'From: a@example.net' 'Subject: dangling' '' 'x' '.'
	dl 00000000000000c1 'From: a@example.org' 'Subject: nokey' '' 'x' '.'
	dl 00000000000000c1 'From: a@example.com' 'Subject: fine' '' 'x' '.'
} > bad.in
timeout 60 "$FILTER" -m sign -C "$TMPD/od-bad.conf" < bad.in > bad.out \
    2> bad.err
st=$?
"$PY" "$POL" sigs bad.out > bad.sigs
[ "$st" -eq 0 ] && [ "$(grep -c '^filter-dataline|00000000000000c1|.*|\.$' bad.out)" -eq 3 ] &&
    [ "$(grep -c '^filter-dataline|00000000000000c1|.*|Subject: ' bad.out)" -eq 3 ] &&
    [ "$(grep -c '^DKIM-Signature' <(cut -d'|' -f4- bad.out))" -eq 1 ]
ok_if "proto: undecidable messages passed on whole, unsigned; the next signed" \
    $? "$(cat bad.out bad.err)"
grep -q "cannot decide: $TMPD/SigningTable.bad:1: SigningTable: 'nosuch' is not in the KeyTable; passed on unsigned" bad.err &&
    grep -q "policy: not signed: .*missing.private.*; passed on unsigned" bad.err
ok_if "proto: the log names the table line and the key file" $? \
    "$(cat bad.err)"
grep -q "^filter-dkimkit: -C: problem: $TMPD/SigningTable.bad:1: SigningTable: 'nosuch' is not in the KeyTable" bad.err &&
    grep -q "^filter-dkimkit: -C: problem: .*missing.private" bad.err
ok_if "proto: start-up: the dangling line and the missing key logged" $? \
    "$(grep -- '-C:' bad.err)"
timeout 60 "$FILTER" -m sv -C "$TMPD/od-bad.conf" -z "$TMPD/zone" \
    -i mx.test < bad.in > badsv.out 2> badsv.err
[ "$(cut -d'|' -f4- badsv.out | grep -c '^Authentication-Results: mx.test')" -eq 2 ] &&
    [ "$(cut -d'|' -f4- badsv.out | grep -c '^DKIM-Signature')" -eq 1 ] &&
    grep -q "missing.private.*; verified instead" badsv.err
ok_if "proto: -m sv: the undecidable and the unusable key verified instead" \
    $? "$(cat badsv.out badsv.err)"

# SIGHUP while a message is under way: it keeps the policy it began
# with; the next message gets the new one.
cp KeyTable KeyTable.fly
printf '*@example.com\tex\n' > SigningTable.fly
sed -e "s|file:$TMPD/KeyTable|file:$TMPD/KeyTable.fly|" \
    -e "s|refile:$TMPD/SigningTable|refile:$TMPD/SigningTable.fly|" \
    od-no.conf > od-fly.conf
mkfifo fly.fifo
"$FILTER" -m sign -C "$TMPD/od-fly.conf" < fly.fifo > fly.out 2> fly.err &
fly=$!
{
	echo "$HS"
	rep 0.6 link-connect 00000000000000d1 'localhost|pass|127.0.0.1:2|127.0.0.1:25'
	dl 00000000000000d1 'From: alice@example.com'
	sleep 0.5
	printf '*@example.com\tex2\n' > SigningTable.fly
	kill -HUP "$fly"
	for ((i = 0; i < 50; i++)); do
		grep -q 'read again' fly.err && break
		sleep 0.1
	done
	dl 00000000000000d1 'Subject: begun before' '' 'x' '.'
	dl 00000000000000d1 'From: alice@example.com' 'Subject: after' '' 'x' '.'
} > fly.fifo
wait "$fly"
"$PY" "$POL" sigs fly.out > fly.sigs
# one session, two messages: the second's fields follow the first's "."
awk -F'|' '$4 == "." { n++ } $4 ~ /^DKIM-Signature:/ { print n + 0, $4 }' \
    fly.out | grep -o '^[01] .* s=[a-z0-9]*;' | sed 's/ DKIM.* s=/ /' > fly.sel
[ "$(cat fly.sel | tr '\n' ' ')" = "0 ex; 1 ex2; " ]
ok_if "proto: SIGHUP mid-message: it keeps the old policy (s=ex), the next gets the new (s=ex2)" \
    $? "$(cat fly.sel)" "$(cat fly.err)"

check_fails "proto: -C with -d refused" "$FILTER" -m sign -C od-yes.conf \
    -d example.com
grep -q -- '-C.*excludes' "$TAP_ERR"
ok_if "proto: ... saying why" $? "$(cat "$TAP_ERR")"
check_fails "proto: -m sv without -C refused" "$FILTER" -m sv
check_fails "proto: a bad -C stops the start" "$FILTER" -m sign -C \
    "$TMPD/nonexistent.conf"
grep -q -- '-C.*nonexistent.conf' "$TAP_ERR"
ok_if "proto: ... naming the setting and the file" $? "$(cat "$TAP_ERR")"

# ---------------------------------------------------------------------
# Part 2: the real smtpd.

if [ "$(id -u)" -ne 0 ]; then
	skip "real smtpd" "needs root (mount namespaces, users for smtpd)"
	done_testing
fi
if ! need swaks unshare; then
	done_testing
fi
SMTPD_DIR="$TMPD/smtpd"
mkdir -p "$SMTPD_DIR"
if ! smtpd_unpack "$SMTPD_DIR" "${OPENSMTPD_DEB_DIR:-$TOP_SRCDIR/build/debs}"
then
	[ -f "$SMTPD_DIR/apt.log" ] && tap_diag_file "$SMTPD_DIR/apt.log"
	skip "real smtpd" "cannot get the opensmtpd package (apt-get download)"
	done_testing
fi
mkdir md && chown nobody md

# smtpd finds client names in /etc/hosts: two names for part 2's clients,
# forward and back.
{
	cat /etc/hosts
	echo '127.30.0.5 relay.trusted.example'
	echo '127.31.0.9 mx.partner.example'
} > hosts
# The policy of the HUP test: a copy whose tables change under it.
cp KeyTable KeyTable.hup
printf '*@example.com\tex\n' > SigningTable.hup
sed -e "s|file:$TMPD/KeyTable|file:$TMPD/KeyTable.hup|" \
    -e "s|refile:$TMPD/SigningTable|refile:$TMPD/SigningTable.hup|" \
    od-no.conf > od-hup.conf
# The filter of the HUP test says where it runs.
cat > lib/hup-filter <<EOF
#!/bin/sh
echo \$\$ > "$TMPD/hup.pid"
exec "$FILTER" "\$@"
EOF
chmod 755 lib/hup-filter
: > hup.pid
chmod 666 hup.pid

P=$(free_port)
PX=$(free_port)
PSV=$(free_port)
PH=$(free_port)
cat > smtpd.conf <<EOF
filter "policy" proc-exec "$FILTER -m sign -C $TMPD/od-yes.conf"
filter "exact" proc-exec "$FILTER -m sign -C $TMPD/od-exact-sub.conf"
filter "sv" proc-exec "$FILTER -m sv -C $TMPD/od-no.conf -z $TMPD/zone -i mx.test"
filter "hup" proc-exec "$TMPD/lib/hup-filter -m sign -C $TMPD/od-hup.conf"
listen on 127.0.0.1 port $P filter "policy"
listen on ::1 port $P filter "policy"
listen on 127.0.0.1 port $PX filter "exact"
listen on ::1 port $PX filter "exact"
listen on 127.0.0.1 port $PSV filter "sv"
listen on 127.0.0.1 port $PH filter "hup"
action "local" maildir "$TMPD/md" user nobody
match from any for any action "local"
EOF
{
	smtpd_script "$SMTPD_DIR" "$TMPD/smtpd.conf" |
	    sed "s|^exec |mount --bind \"$TMPD/hosts\" /etc/hosts\\nexec |"
} > smtpd.sh
unshare -m --propagation private bash smtpd.sh > smtpd.log 2>&1 < /dev/null &
SMTPD_PID=$!
stop_smtpd()
{
	kill "$SMTPD_PID" 2>/dev/null
	wait "$SMTPD_PID" 2>/dev/null
}
at_exit stop_smtpd
if ! port_wait "$P" 100 || ! port_wait "$PH" 100; then
	not_ok "real smtpd: start" "$(tail -n 20 smtpd.log)"
	done_testing
fi
ok "real smtpd 6.8.0p2 with four policy filters up"

# send PORT SOURCE FILE: swaks from SOURCE (to ::1 from an IPv6 one);
# output in send.out.
send()
{
	local server=127.0.0.1

	case "$2" in *:*) server=::1 ;; esac
	swaks --server "$server" --port "$1" --local-interface "$2" \
	    --from sender@mail.test --to nobody@example.test \
	    --data "@$3" --timeout 30 > send.out 2>&1
}
# delivered SUBJECT: the maildir file with that Subject (waits 30 s).
delivered()
{
	local i f

	for ((i = 0; i < 300; i++)); do
		f=$(grep -lx "Subject: $1" md/new/* 2>/dev/null | head -n 1)
		if [ -n "$f" ]; then
			printf '%s\n' "$f"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# 11 From x 11 clients: inside (127.0.0.1, 127.10/16, 127.20.0.7,
# relay.trusted.example by name, ::1), excluded (127.10.1/24), outside,
# and a "*.partner.example" name, which is no pattern to opendkim.
sclients="127.0.0.1,localhost 127.10.2.3,- 127.10.1.9,- 127.20.0.7,-
127.20.0.8,- 127.30.0.5,relay.trusted.example 127.31.0.9,mx.partner.example
127.40.0.1,- 127.10.200.200,- 127.50.0.2,- ::1,-"
# Two configurations, each on its listener: refile tables with
# MultipleSignatures (cases 1000 on), exact tables with SubDomains (2000
# on).
: > scases
for run in "yes $P 1000" "exact-sub $PX 2000"; do
	set -- $run
	n=$3
	for f in $froms; do
		for c in $sclients; do
			echo "$n $f ${c%%,*} ${c#*,} pass 0 $1 $2" >> scases
			n=$((n + 1))
		done
	done
done
nscases=$(wc -l < scases)
start=$(date +%s)
sendfail=0
while read -r n f ip host fc a name port; do
	printf 'From: %s\nTo: nobody@example.test\nSubject: case-%s\n\nhello %s\n' \
	    "$f" "$n" "$ip" > "c$n.eml"
	send "$port" "$ip" "c$n.eml" || { sendfail=$((sendfail + 1));
	    tap_diag "case $n: $(tail -n 3 send.out)"; }
done < scases
for ((i = 0; i < 300; i++)); do
	[ "$(grep -l '^Subject: case-' md/new/* 2>/dev/null | wc -l)" -ge \
	    "$nscases" ] && break
	sleep 0.1
done
tap_diag "$nscases cases sent in $(($(date +%s) - start)) s"
[ "$sendfail" -eq 0 ]
ok_if "smtpd: all $nscases messages accepted" $?
mkdir -p md1
cp md/new/* md1/ 2>/dev/null
"$PY" "$POL" maildir md1 > sgot-all
for run in "yes 1" "exact-sub 2"; do
	set -- $run
	awk -v n="$1" '$7 == n { NF = 6; print }' scases > "scases-$1"
	grep "^$2[0-9][0-9][0-9] " sgot-all > "sgot-$1"
	"$PY" "$POL" expected "$DKIMKIT" "od-$1.conf" "scases-$1" > "swant-$1"
	k=$(wc -l < "scases-$1")
	[ "$k" -ge 100 ] && [ "$(wc -l < "sgot-$1")" -eq "$k" ] &&
	    cmp -s "swant-$1" "sgot-$1"
	ok_if "smtpd: $k cases through smtpd ($1): signed as the policy decides" \
	    $? "$(diff "swant-$1" "sgot-$1" | head -20)"
	tap_diag "smtpd ($1): $(grep -vc '| $' "sgot-$1") of $k signed"
done
grep -q ' | .*;' sgot-yes && grep -q ' | $' sgot-yes
ok_if "smtpd: signed, multiply signed and unsigned cases among them" $?
# The name came from smtpd's lookup, and only a passing one counts.
grep -q 'client=127.30.0.5 \[relay.trusted.example\] .*: sign: ' smtpd.log &&
    grep -q 'client=127.31.0.9 \[mx.partner.example\] .*: not signed: ' smtpd.log
ok_if "smtpd: client names from smtpd's reverse lookup reach the policy" $? \
    "$(grep -c 'client=127.3' smtpd.log)"
grep -q 'policy: from=<alice@example.com> client=::1 .*: sign: ' smtpd.log
ok_if "smtpd: an IPv6 client's address, from smtpd's [::1]:port" $? \
    "$(grep 'client=::1' smtpd.log | head -n 2)"
bad=0
nsig=0
for f in md1/*; do
	grep -q '^DKIM-Signature' "$f" || continue
	nsig=$((nsig + 1))
	"$DKIMKIT" verify --zone zone "$f" > v.out 2>&1 || {
		bad=$((bad + 1)); tap_diag "$f: $(tail -n 2 v.out)"; }
done
[ "$bad" -eq 0 ] && [ "$nsig" -gt 0 ]
ok_if "smtpd: dkimkit verify passes all $nsig signed messages" $?
if need python3:dkim; then
	bad=0
	for f in $(grep -l '^DKIM-Signature' md1/* | head -n 10); do
		"$PY" "$TOOL" dkimverify "$f" zone > v.out 2>&1 || {
			bad=$((bad + 1)); tap_diag "$f: $(tail -n 2 v.out)"; }
	done
	[ "$bad" -eq 0 ]
	ok_if "smtpd: python3-dkim verifies a sample of 10" $?
fi

# -m sv through smtpd: inside signed, outside verified.
printf 'From: alice@example.com\nTo: nobody@example.test\nSubject: sv-in\n\nx\n' > sv-in.eml
printf 'From: alice@example.com\nTo: nobody@example.test\nSubject: sv-out\n\nx\n' > sv-out.eml
send "$PSV" 127.0.0.1 sv-in.eml
send "$PSV" 127.40.0.1 sv-out.eml
f1=$(delivered sv-in) && f2=$(delivered sv-out) &&
    grep -q '^DKIM-Signature:.*' "$f1" &&
    ! grep -q '^Authentication-Results: mx.test' "$f1" &&
    unfold "$f2" | grep -q '^Authentication-Results: mx.test; dkim=none' &&
    ! grep -q '^DKIM-Signature' "$f2"
ok_if "smtpd: -m sv: an inside client signed, an outside one verified" $? \
    "$(head -n 8 "${f1:-/dev/null}" "${f2:-/dev/null}")"

# SIGHUP: a changed table is used by the next message; a broken one is
# refused, named in the log, and the old one stays.
hup_send()
{
	printf 'From: alice@example.com\nTo: nobody@example.test\nSubject: %s\n\nx\n' \
	    "$1" > "$1.eml"
	send "$PH" 127.0.0.1 "$1.eml"
	delivered "$1"
}
# hup_wait TEXT: until the log has TEXT (the filter has read the files).
hup_wait()
{
	local i

	for ((i = 0; i < 100; i++)); do
		grep -q "$1" smtpd.log && return 0
		sleep 0.1
	done
	return 1
}
f=$(hup_send hup-1) && grep -q 's=ex;' "$f" && [ -s hup.pid ]
ok_if "smtpd: HUP filter: s=ex before the change" $? \
    "$(grep '^DKIM' "${f:-/dev/null}")"
fpid=$(cat hup.pid)
printf '*@example.com\tex2\n' > SigningTable.hup
kill -HUP "$fpid"
hup_wait 'SIGHUP: signing policy of .*od-hup.conf read again'
f=$(hup_send hup-2) && grep -q 's=ex2;' "$f" && ! grep -q 's=ex;' "$f"
ok_if "smtpd: after SIGHUP the changed table decides: s=ex2" $? \
    "$(grep '^DKIM' "${f:-/dev/null}")" "$(grep SIGHUP smtpd.log)"
printf 'broken\n' >> KeyTable.hup
printf '*@example.com\tex3\n' > SigningTable.hup
kill -HUP "$fpid"
hup_wait "SIGHUP: -C: .*KeyTable.hup:9.*the signing policy read before stays"
ok_if "smtpd: SIGHUP with a broken KeyTable: refused, the line named" $? \
    "$(grep SIGHUP smtpd.log)"
f=$(hup_send hup-3) && grep -q 's=ex2;' "$f"
ok_if "smtpd: ... and the old policy still signs (s=ex2)" $? \
    "$(grep '^DKIM' "${f:-/dev/null}")"
kill -0 "$fpid" 2>/dev/null
ok_if "smtpd: the filter survived both reloads" $?
stop_smtpd
! grep -E 'Sanitizer|runtime error' smtpd.log
ok_if "smtpd: no sanitizer report in smtpd's log" $? \
    "$(grep -E -A5 'Sanitizer|runtime error' smtpd.log | head -20)"
done_testing
