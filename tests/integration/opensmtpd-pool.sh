#!/bin/bash
# filter-dkimkit -j (issue 26): the signatures are made by worker threads
# while the main thread goes on with the other sessions.  Part 1 drives
# the filter (-m sv: signing and verifying in one process) with 24
# sessions whose lines come interleaved, each commit right behind its
# message's "." and the next message behind that: with -j 2 every session
# gets its lines back in order, each commit answered after its message,
# every signature verifies, every verdict is pass, and -j 0 (inline)
# gives the same answers.  Part 2: the real smtpd 6.8.0p2 with the filter
# at -j 2, 20 messages at once (10 to sign, 10 to verify with their key
# answers delayed by a DNS proxy in front of a real unbound): all
# delivered, signed ones verify, verified ones say dkim=pass.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
. "$TOP_SRCDIR/tests/lib/smtpd.sh" || bail_out "cannot read tests/lib/smtpd.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
smtpd_test_setup
POOL="$TOP_SRCDIR/tests/integration/opensmtpd-pool.py"

# example.com signs by the policy; other.test's mail comes signed.
"$DKIMKIT" keygen --algorithm rsa --bits 2048 --domain example.com \
    --selector rsa --out rsa.pem > zone || bail_out "keygen rsa"
"$DKIMKIT" keygen --algorithm ed25519 --domain other.test \
    --selector ed --out ed.pem >> zone || bail_out "keygen ed25519"
chmod 644 ./*.pem zone
printf 'Domain example.com\nSelector rsa\nKeyFile %s/rsa.pem\n' "$TMPD" \
    > od.conf

printf 'From: Alice <alice@example.com>\nTo: bob@example.net\nSubject: out\nDate: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <o@example.com>\n\nhello\n.leading dot\n' > sign.eml
printf 'From: Carol <carol@other.test>\nTo: bob@example.com\nSubject: in\nDate: Mon, 7 Dec 2026 10:00:00 +0000\nMessage-ID: <i@other.test>\n\nhi there\n' |
    "$DKIMKIT" sign --key ed.pem --domain other.test --selector ed |
    tr -d '\r' > verify.eml || bail_out "cannot sign verify.eml"

# ---------------------------------------------------------------------
# Part 1: the protocol.
N=24
"$PY" "$POOL" stream "$N" sign.eml verify.eml > conc.in ||
    bail_out "cannot make the stream"

# run J: the filter at -j J on conc.in; jJ.out, jJ.err, jJ/ the messages.
run()
{
	mkdir -p "j$1"
	timeout 60 "$FILTER" -m sv -C od.conf -z zone -i mx.test -j "$1" \
	    < conc.in > "j$1.out" 2> "j$1.err"
}

st=0
run 2 || st=$?
"$PY" "$POOL" check "$N" j2.out j2 2> j2.check
ok_if "proto: -j 2, $N sessions interleaved: each session's lines in order, commits after their message" \
    $? "status $st" "$(head -n 5 j2.check)" "$(tail -n 3 j2.err)"

# signed: message 1 of every session; verified: message 2.
nsig=0 npass=0
for ((i = 0; i < N; i++)); do
	[ "$(grep -c '^DKIM-Signature: ' "j2/s$i-m1.eml" 2>/dev/null)" = 1 ] &&
	    "$DKIMKIT" verify --zone zone "j2/s$i-m1.eml" > /dev/null 2>&1 &&
	    nsig=$((nsig + 1))
	top_ar "j2/s$i-m2.eml" 2>/dev/null |
	    grep -q '^Authentication-Results: mx.test;.* dkim=pass .*header.d=other.test' &&
	    npass=$((npass + 1))
done
[ "$nsig" -eq "$N" ]
ok_if "proto: -j 2: all $N signed messages verify ($nsig)" $?
[ "$npass" -eq "$N" ]
ok_if "proto: -j 2: all $N verified messages pass ($npass)" $?

# -j 0 works inline; the answers are the same but for each signature's
# t= and b= (a second may pass between the runs).
st=0
run 0 || st=$?
"$PY" "$POOL" check "$N" j0.out j0 2> j0.check
ok_if "proto: -j 0 (inline): the same order" $? "status $st" \
    "$(head -n 5 j0.check)"
# strip FILE: the answers without the DKIM-Signature fields (a session's
# lines go out together, so a field's folded lines follow it), sorted.
strip()
{
	awk -F'|' '$4 ~ /^DKIM-Signature:/ { skip = 1; next }
	    skip && $4 ~ /^\t/ { next } { skip = 0; print }' "$1" | sort
}
[ "$(strip j2.out | wc -l)" -gt $((N * 20)) ] &&
    cmp -s <(strip j2.out) <(strip j0.out)
ok_if "proto: -j 2 answers as -j 0 does" $? \
    "$(diff <(strip j0.out) <(strip j2.out) | head -n 10)"

grep -q '2 signing threads' j2.err && ! grep -q 'signing threads' j0.err &&
    ! grep -qi 'not processed\|cannot' j2.err
ok_if "proto: -j 2 started 2 threads (-j 0 none), nothing failed (log)" $? "$(grep -i 'not processed\|cannot' j2.err | head -n 3)"

# -j takes a count or auto, nothing else.
"$FILTER" -m sign -d example.com -s rsa -k rsa.pem -j many < /dev/null \
    > /dev/null 2> badj.err
st=$?
[ "$st" -ne 0 ] && grep -q -- "-j: 'many' is not a count" badj.err
ok_if "proto: -j many is refused, saying why" $? "status $st" "$(cat badj.err)"
echo "$(printf 'config|ready\n')" | "$FILTER" -m sign -d example.com \
    -s rsa -k rsa.pem -j auto > auto.out 2> auto.err
ok_if "proto: -j auto starts" $? "$(cat auto.err)"

# ---------------------------------------------------------------------
# Part 2: the real smtpd, keys from a real unbound behind a slow proxy.
SMTPD_DIR="$TMPD/smtpd"
if [ "$(id -u)" -ne 0 ]; then
	skip "real smtpd" "needs root (mount namespaces, users for smtpd)"
	done_testing
	exit 0
fi
if ! need unshare unbound; then
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
DPORT=$(free_port)
"$PY" "$TOOL" delay "$DPORT" "$DNS" 0.5 > delay.log 2>&1 &
at_exit kill $!
mkdir md && chown nobody md
PORT=$(free_port)
while [ "$PORT" = "$DPORT" ]; do PORT=$(free_port); done
cat > smtpd.conf <<EOF
filter "sv" proc-exec "$FILTER -m sv -C $TMPD/od.conf -D 127.0.0.1@$DPORT -i mx.test -j 2"
listen on 127.0.0.1 port $PORT filter "sv"
action "local" maildir "$TMPD/md" user nobody
match from any for any action "local"
EOF
if ! smtpd_run "$SMTPD_DIR" "$TMPD/smtpd.conf" "$PORT" smtpd.log; then
	not_ok "real smtpd: start" "$(cat smtpd.log)"
	done_testing
	exit 0
fi
for ((i = 0; i < 10; i++)); do
	sed "s/^Subject: out/Subject: out-$i/" sign.eml > "out-$i.eml"
	{ echo "X-Tag: in-$i"; cat verify.eml; } > "in-$i.eml"
done
took=$("$PY" "$TOOL" blast "$PORT" out-*.eml in-*.eml 2> blast.err)
ok_if "smtpd, -j 2: 20 sessions at once accepted (${took}s)" $? \
    "$(cat blast.err)"
for ((t = 0; t < 300; t++)); do
	[ "$(ls md/new | wc -l)" -ge 20 ] && break
	sleep 0.1
done
nsig=0 npass=0
for f in md/new/*; do
	if grep -q '^Subject: out-' "$f"; then
		"$DKIMKIT" verify --dns "$DNS" "$f" > /dev/null 2>&1 &&
		    [ "$(grep -c '^DKIM-Signature: ' "$f")" = 1 ] &&
		    nsig=$((nsig + 1))
	elif grep -q '^X-Tag: in-' "$f"; then
		top_ar "$f" | grep -q '^Authentication-Results: mx.test;.* dkim=pass .*header.d=other.test' &&
		    npass=$((npass + 1))
	fi
done
[ "$nsig" -eq 10 ] && [ "$npass" -eq 10 ]
ok_if "smtpd, -j 2: 10 signed and verifying, 10 verified with dkim=pass (DNS delayed)" \
    $? "signed $nsig, passed $npass" "$(ls md/new | wc -l) delivered" \
    "$(tail -n 5 smtpd.log)"

done_testing
