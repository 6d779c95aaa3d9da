#!/bin/bash
# A whole key rotation with `dkimkit key` against a real unbound on
# loopback whose zone the test rewrites (and restarts unbound on the same
# port) as a postmaster would publish records:
#   new -> check (missing) -> switch refused -> publish -> check (ok) ->
#   switch -> sign -> new -> publish -> switch -> retire -> revoke ->
#   old signatures are "key revoked" -> purge after the grace period.
# After every step a message is signed with `dkimkit sign --keydir` (the
# adapters' code path) and must verify against the DNS of that moment: no
# message is ever signed with an unpublished key.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
. "$TOP_SRCDIR/tests/lib/json.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3
for prog in unbound unbound-checkconf ldns-read-zone drill; do
	command -v "$prog" >/dev/null 2>&1 || skip_all "$prog is not installed"
done

KD="$TMPD/keys"
D=example.test
NOV=1793491200		# 2026-11-01T00:00:00Z
DEC=1796083200		# 2026-12-01T00:00:00Z
DAY=86400

key() { "$DKIMKIT" key --keydir "$KD" "$@"; }

# The zone as published: one address and whatever records were handed in
# (unbound_start makes every other name NXDOMAIN).
: > published
publish()
{
	{
		printf 'ns.%s. 60 IN A 127.0.0.1\n' "$D"
		cat published
	} > zone
	if [ -n "${UNBOUND_PID:-}" ]; then
		unbound_stop
		UNBOUND_FIXED_PORT=$UNBOUND_PORT
	fi
	unbound_start zone || bail_out "unbound did not start"
	DNS=127.0.0.1@$UNBOUND_PORT
}

N=0
# signed STEP [SELECTOR]: sign a message with the key directory.  It must
# either be refused (no active selector) or verify against the DNS of
# now; with SELECTOR, it must be signed by that selector.
signed()
{
	local st=0

	N=$((N + 1))
	printf 'From: Alice <alice@%s>\nTo: bob@example.net\nSubject: step %s\nMessage-ID: <%s@%s>\n\nmessage %s\n' \
	    "$D" "$1" "$N" "$D" "$N" > m$N.eml
	"$DKIMKIT" sign --keydir "$KD" --domain "$D" m$N.eml > s$N.eml \
	    2> s$N.err || st=$?
	if [ "$st" -ne 0 ]; then
		if [ -n "${2:-}" ]; then
			not_ok "$1: signed" "sign exited $st" "$(cat s$N.err)"
		else
			ok "$1: nothing to sign with, nothing signed"
		fi
		return
	fi
	check "$1: the signature verifies in DNS" "$DKIMKIT" verify \
	    --dns "$DNS" --json s$N.eml
	if [ -n "${2:-}" ]; then
		[ "$(json_field "$TAP_OUT" 'j["signatures"][0]["s"]')" = "$2" ]
		ok_if "$1: signed by $2" $? "$(cat "$TAP_OUT")"
	fi
}

# state SELECTOR ROLE STATE: a line of the last check output.
state()
{
	grep -Eq "^$1 +$2 +$3( |\$)" "$TAP_OUT"
	ok_if "check: $1 is $2 and $3" $? "$(cat "$TAP_OUT")"
}

publish
signed "an empty key directory"

# 1. A new key: pending and missing; switching to it is refused.
check "new key for November" key new --now $NOV $D
A=2026-11
cp "$TAP_OUT" a.rec
grep -q "^$A._domainkey.$D. 3600 IN TXT \"v=DKIM1; k=rsa; p=MII" a.rec
ok_if "new prints the zone-file line of selector $A" $?
[ "$(stat -c %a "$KD/$D/$A.key")" = 600 ] && cmp -s a.rec "$KD/$D/$A.txt"
ok_if "the key is 0600 and the record is kept beside it" $?
check_status 1 "check: not published yet, exit 1" key check --dns "$DNS" $D
state $A pending missing
grep -q "no active selector" "$TAP_OUT"
ok_if "check says there is no active selector" $?
check_status 1 "switch to an unpublished selector is refused" \
    key switch --dns "$DNS" $D $A
grep -q "missing" "$TAP_ERR"
ok_if "the refusal says the record is missing" $?
[ ! -e "$KD/$D/active" ]
ok_if "no active file after the refusal" $?
signed "after the refused switch"

# 2. Published: check ok, switch, sign.
cat a.rec >> published
publish
check_status 1 "check: published but nothing active yet, exit 1" \
    key check --dns "$DNS" $D
state $A pending ok
check "switch to the published selector" key switch --dns "$DNS" $D $A
[ "$(cat "$KD/$D/active")" = $A ]
ok_if "active names $A" $?
check "check: all as expected, exit 0" key check --dns "$DNS" $D
state $A active ok
signed "signing with $A" $A
cp s$N.eml old.eml

# 3. The next key, Ed25519, a month later; the old one keeps signing.
check "new Ed25519 key for December" key new --algorithm ed25519 \
    --now $DEC $D
B=2026-12
cp "$TAP_OUT" b.rec
grep -q "^$B._domainkey.$D. 3600 IN TXT \"v=DKIM1; k=ed25519; p=" b.rec
ok_if "new prints the Ed25519 record of $B" $?
check_status 1 "check: the new one is missing, exit 1" \
    key check --dns "$DNS" $D
state $A active ok
state $B pending missing
check_status 1 "switch to $B before it is published is refused" \
    key switch --dns "$DNS" $D $B
signed "while $B is unpublished" $A

# A wrong record at the new name: differs, and still refused.
sed "s/^$A\\./$B./" a.rec >> published
publish
check_status 1 "check: a record with another key, exit 1" \
    key check --dns "$DNS" $D
state $B pending differs
check_status 1 "switch to a selector whose record differs is refused" \
    key switch --dns "$DNS" $D $B
grep -q "differs" "$TAP_ERR"
ok_if "the refusal says the record differs" $?
signed "while $B's record differs" $A

# 4. The right record: switch.
grep -v "^$B\\." published > p.tmp && mv p.tmp published
cat b.rec >> published
publish
check "check: both published, exit 0" key check --dns "$DNS" $D
state $A active ok
state $B pending ok
check "switch to $B" key switch --dns "$DNS" $D $B
grep -q "(was $A)" "$TAP_OUT"
ok_if "switch names the selector it replaces" $?
signed "signing with $B" $B
check "mail signed with $A before the switch still verifies" \
    "$DKIMKIT" verify --dns "$DNS" old.eml

# 5. Retire: never the active one; the revocation record; old mail fails.
check_status 1 "retiring the active selector is refused" \
    key retire --now $((DEC + 7 * DAY)) $D $B
[ ! -e "$KD/$D/$B.retired" ]
ok_if "the active selector was not marked" $?
check "retire $A" key retire --now $((DEC + 7 * DAY)) $D $A
cp "$TAP_OUT" revoke.rec
[ "$(cat revoke.rec)" = "$A._domainkey.$D. 3600 IN TXT \"v=DKIM1; k=rsa; p=\"" ]
ok_if "retire prints the revocation record" $? "$(cat revoke.rec)"
[ "$(cat "$KD/$D/$A.retired")" = $((DEC + 7 * DAY)) ] &&
    [ -e "$KD/$D/$A.key" ]
ok_if "retired with its time; the key is kept for the grace period" $?
check_status 1 "check: retired but still published, exit 1" \
    key check --dns "$DNS" $D
state $A retired ok
grep -q "publish the revocation" "$TAP_OUT"
ok_if "check says to publish the revocation" $?
check_status 1 "switch back to a retired selector is refused" \
    key switch --dns "$DNS" $D $A
grep -v "^$A\\." published > p.tmp && mv p.tmp published
cat revoke.rec >> published
publish
check "check: revoked as it should be, exit 0" key check --dns "$DNS" $D
state $A retired revoked
state $B active ok
check_status 1 "a signature by the retired key now fails" \
    "$DKIMKIT" verify --dns "$DNS" --json old.eml
[ "$(json_field "$TAP_OUT" 'j["signatures"][0]["reason_code"]')" = key_revoked ] &&
    [ "$(json_field "$TAP_OUT" 'j["result"]')" = permerror ]
ok_if "... as permerror, key revoked" $? "$(cat "$TAP_OUT")"
signed "after the revocation" $B

# 6. The grace period: the key goes only after --grace.
check "purge within the grace period" key purge --now $((DEC + 10 * DAY)) $D
[ -e "$KD/$D/$A.key" ] && [ ! -s "$TAP_OUT" ]
ok_if "the retired key is kept within 7 days" $?
check "purge after the grace period" key purge --now $((DEC + 15 * DAY)) $D
[ ! -e "$KD/$D/$A.key" ] && [ -e "$KD/$D/$A.txt" ] &&
    [ -e "$KD/$D/$B.key" ]
ok_if "the retired key is gone, its record and the active key stay" $?
grep -q "removed the private key of $A" "$TAP_OUT"
ok_if "purge says which key it removed" $?
check "check after the purge, exit 0" key check --dns "$DNS" $D
state $A retired revoked
grep -q "key removed" "$TAP_OUT"
ok_if "check says the key was removed" $?
signed "after the purge" $B

# Selector names: the month, then -2, -3; never reused.
check "another key in December" key new --now $((DEC + DAY)) $D
grep -q "^$B-2._domainkey" "$TAP_OUT"
ok_if "a second selector of a month gets -2" $?
check "a key in a month whose selector was retired" key new --now $NOV \
    --grace 1d $D
grep -q "^$A-2._domainkey" "$TAP_OUT"
ok_if "a retired selector's name is not reused" $?
check "retire with a short grace period removes at once" key retire \
    --now $((DEC + 20 * DAY)) --grace 0 $D $A-2
[ ! -e "$KD/$D/$A-2.key" ]
ok_if "--grace 0 removes the key in the same run" $?

# filter-dkimkit -K: one filter process signs with the active selector,
# follows a switch at the next message, and reads the key directory again
# on SIGHUP (a change that stat cannot see).
FILTER="${FILTER_DKIMKIT:-$TOP_BUILDDIR/plugins/opensmtpd/filter-dkimkit}"
TOOL="$TOP_SRCDIR/tests/integration/opensmtpd-tool.py"
[ -x "$FILTER" ] || bail_out "$FILTER is not built"
HS='config|smtpd-version|6.8.0p2
config|smtp-session-timeout|300
config|subsystem|smtp-in
config|admd|mx.test
config|ready'

# wait_for PATTERN FILE: true once FILE has a line matching PATTERN.
wait_for()
{
	local i

	for ((i = 0; i < 100; i++)); do
		grep -q -- "$1" "$2" && return 0
		kill -0 "$FPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# through_filter N SELECTOR: session N's message goes through the filter
# and must come back signed by SELECTOR, verifying in DNS.
through_filter()
{
	local sid
	sid=$(printf '%016x' "$1")

	printf 'Received: from client
	by mx.test; 1 Dec 2026
From: <alice@%s>
To: <bob@example.net>
Subject: filter %s

body %s
' \
	    "$D" "$1" "$1" > f$1.eml
	"$PY" "$TOOL" feed "$sid" f$1.eml >&7
	if ! wait_for "^filter-dataline|$sid|[0-9a-f]*|\.\$" f.out; then
		not_ok "filter message $1: came back" "$(cat f.err)"
		return
	fi
	"$PY" "$TOOL" extract "$sid" f.out > f$1.got
	check "filter message $1: verifies in DNS" "$DKIMKIT" verify \
	    --dns "$DNS" --json f$1.got
	[ "$(json_field "$TAP_OUT" 'j["signatures"][0]["s"]')" = "$2" ]
	ok_if "filter message $1: signed by $2" $? "$(cat "$TAP_OUT")"
}

check_fails "filter -K with a domain without a key stops the start" \
    "$FILTER" -m sign -d example.org -K "$KD"
grep -q "example.org" "$TAP_ERR"
ok_if "... naming the domain" $?
check_fails "filter -K with -k stops the start" "$FILTER" -m sign -d $D \
    -K "$KD" -s x -k "$KD/$D/$B.key"
# Published before the filter starts: unbound must not inherit fd 7.
grep "^$B-2\._domainkey" "$KD/$D/$B-2.txt" >> published
publish
mkfifo fin
"$FILTER" -m sign -d $D -K "$KD" < fin > f.out 2> f.err &
FPID=$!
exec 7> fin
at_exit kill "$FPID"
printf '%s\n' "$HS" >&7
through_filter 1 $B
check "switch to $B-2 while the filter runs" key switch --dns "$DNS" $D $B-2
through_filter 2 $B-2
# Name $B in place: same inode, size and time, so no stat sees it.
stamp="$(stat -c %y "$KD/$D/active")"
printf '%s  \n' $B > "$KD/$D/active.new"
cat "$KD/$D/active.new" > "$KD/$D/active"
touch -d "$stamp" "$KD/$D/active"
through_filter 3 $B-2
kill -HUP "$FPID"
wait_for "SIGHUP" f.err
ok_if "the filter logs the SIGHUP" $?
through_filter 4 $B
grep -q "signed: d=$D s=$B-2" f.err
ok_if "the filter logs the selector it signed with" $? "$(cat f.err)"
exec 7>&-
timeout 10 tail --pid="$FPID" -f /dev/null
wait "$FPID"
ok_if "the filter ends at the end of its input" $?

# Bad input.
check_status 2 "a domain that is a path is refused" key check ../etc
check_status 2 "a selector that is a path is refused" key switch $D ../x
check_status 2 "an unknown step" key rotate $D
check_status 2 "retire of an unknown selector" key retire $D 1999-01
check_status 2 "check of a domain without a folder" key check \
    --dns "$DNS" example.org
check_status 2 "sign --keydir with --selector" "$DKIMKIT" sign --keydir \
    "$KD" --domain $D --selector x m1.eml
check_status 2 "check with DNS down" key check --dns 127.0.0.1@1 \
    --timeout 500 $D
check_status 2 "--zone with --trust-anchor is refused" key check \
    --zone published --trust-anchor published $D
grep -q -- "--zone: excludes --dns and --trust-anchor" "$TAP_ERR"
ok_if "the refusal names both options" $? "$(cat "$TAP_ERR")"
check "key --help" key --help
grep -q "usage: dkimkit key" "$TAP_OUT"
ok_if "key --help shows its usage" $?

done_testing
