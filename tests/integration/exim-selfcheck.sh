#!/bin/bash
# Issue #24 in a real Exim: the sign dlfunc signs in the DATA ACL, then
# the transport adds a field that the signature covers (headers_add), and
# `dkimkit selfcheck` as the transport's transport_filter sees the
# message as it leaves.  Added field: its log names the class and the
# field, with Exim's message id; with --defer Exim defers the delivery
# and the message stays on the queue, not lost.  Without the added field:
# the message passes, and what the filter wrote is what it read, byte for
# byte.  Keys from a zone file.  Needs root (exim4 -C), exim4-daemon-heavy
# and swaks.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/exim.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
exim_check || skip_all "$EXIM_WHY"
have swaks || skip_all "swaks is not installed"
BUILT="$TOP_BUILDDIR/plugins/exim/.libs/dkimkit_exim.so"
[ -f "$BUILT" ] || skip_all "$BUILT not built (exim4-dev missing at configure time?)"
exim_module "$TMPD" "$BUILT" || bail_out "$EXIM_WHY"
# The transport filter runs as Debian-exim: a copy it can reach.
install_for_servers "$TMPD/bin" "$DKIMKIT" ||
    bail_out "cannot install dkimkit in $TMPD/bin"
SC="$TMPD/bin/dkimkit"

"$DKIMKIT" keygen --algorithm rsa --bits 2048 --domain example.test \
    --selector rsa --out rsa.pem > keys.zone || bail_out "keygen rsa"
chmod 644 rsa.pem keys.zone

printf 'From: Alice <alice@example.test>\nTo: bob@example.net\nSubject: outgoing\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <sc1@example.test>\n\nHello Bob,\n\n.a line with a dot\n' > plain.eml

# The ACL signs; h= lists X-Tracking, which the message does not have
# when it is signed (a field that must not be added later).
SIGN="  warn add_header = \${dlfunc{$SO}{sign}{example.test}{rsa}{$TMPD/rsa.pem}{relaxed/relaxed}{From:To:Subject:Date:Message-ID:X-Tracking}}"

# conf DIR TRANSPORT_FILTER [HEADERS_ADD]: an Exim for DIR whose transport
# runs TRANSPORT_FILTER (and adds HEADERS_ADD first); deliveries wait for
# a queue run (-qff), which the test starts.
conf()
{
	local lines="  transport_filter = $2"

	[ -z "${3:-}" ] || lines="  headers_add = $3
$lines"
	exim_conf "$1" "$SIGN" "$lines" "queue_only = true"
	exim_start "$1" || bail_out "exim did not start for $1"
}

# run DIR: send plain.eml, run the queue.
run()
{
	swaks_send "$PORT" plain.eml "$1.swaks" --helo client.test \
	    --from alice@example.test --to bob@example.net
	"${EXIM_ENV[@]}" "$EXIM" -C "$1/exim.conf" -qff > "$1.qff" 2>&1
}

explain()
{
	tap_diag "mainlog of $1:"
	tap_diag_file "$1/log/mainlog" 40
	tap_diag_file "$1/log/paniclog"
	tap_diag_file "$1/log/selfcheck.log"
}

# delivered DIR: the message delivered to DIR's maildir, waiting up to 10 s.
delivered()
{
	local i f

	for ((i = 0; i < 100; i++)); do
		f=$(ls "$1"/mail/new/* 2>/dev/null | head -n 1)
		[ -n "$f" ] && { printf '%s\n' "$f"; return 0; }
		sleep 0.1
	done
	return 1
}

# --- the transport adds a signed field: logged, passed on ---------------
A="$TMPD/added"
conf "$A" "$SC selfcheck --domain example.test --zone $TMPD/keys.zone --log $A/log/selfcheck.log --id \$message_exim_id" \
    "X-Tracking: 12345"
run "$A"
if f=$(delivered "$A"); then
	id=$(sed -n 's/.* <= alice@example.test .*/&/p' "$A/log/mainlog" |
	    awk '{ print $3 }' | head -n 1)
	grep -q '^X-Tracking: 12345' "$f" &&
	    grep -q "^dkimkit selfcheck: $id: self-verification failed: d=example.test s=rsa: .*class header-added, field X-Tracking.*; passed on$" \
	    "$A/log/selfcheck.log"
	ok_if "headers_add after signing: selfcheck logs header-added, field X-Tracking, Exim's id" \
	    $? "id '$id'" "$(cat "$A/log/selfcheck.log" 2>&1)" || explain "$A"
	! "$DKIMKIT" verify --zone keys.zone "$f" > /dev/null 2>&1
	ok_if "... and the message it passed on does fail verification" $?
else
	not_ok "headers_add after signing: delivered" "$(cat "$A.qff")"
	explain "$A"
fi

# --- the same with --defer: deferred, still queued ----------------------
D="$TMPD/defer"
conf "$D" "$SC selfcheck --domain example.test --zone $TMPD/keys.zone --log $D/log/selfcheck.log --defer --id \$message_exim_id" \
    "X-Tracking: 12345"
run "$D"
sleep 1
queued=$("${EXIM_ENV[@]}" "$EXIM" -C "$D/exim.conf" -bpc 2>&1)
[ -z "$(ls "$D"/mail/new/ 2>/dev/null)" ] && [ "$queued" = 1 ] &&
    grep -q ' == bob@example.net .*T=mbox defer' "$D/log/mainlog" &&
    grep -q 'class header-added, field X-Tracking.*; deferred$' \
    "$D/log/selfcheck.log"
ok_if "--defer: Exim defers the delivery, the message stays queued, the field logged" \
    $? "queued '$queued'" "$(grep ' == ' "$D/log/mainlog")" \
    "$(cat "$D/log/selfcheck.log" 2>&1)" || explain "$D"

# --- nothing added: passes, unchanged byte for byte ---------------------
# tee keeps a copy of what Exim writes to the filter.
P="$TMPD/pass"
conf "$P" "/bin/sh -c \"tee $P/log/in.eml | $SC selfcheck --domain example.test --zone $TMPD/keys.zone --log $P/log/selfcheck.log --defer\""
run "$P"
if f=$(delivered "$P"); then
	cmp -s "$f" "$P/log/in.eml" &&
	    "$DKIMKIT" verify --zone keys.zone "$f" > "$P.verify" 2>&1 &&
	    [ ! -s "$P/log/selfcheck.log" ]
	ok_if "nothing added: delivered as the filter read it, byte for byte; passes; nothing logged" \
	    $? "$(cmp "$f" "$P/log/in.eml" 2>&1)" "$(cat "$P.verify")" ||
	    explain "$P"
else
	not_ok "nothing added: delivered" "$(cat "$P.qff")"
	explain "$P"
fi

done_testing
