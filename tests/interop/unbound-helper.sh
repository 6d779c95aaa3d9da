#!/bin/bash
# The test DNS itself (tests/lib/unbound.sh, tests/lib/netns.sh): a real
# unbound on loopback must serve the RFC key zone exactly (multi-string TXT
# records keep their strings), answer NXDOMAIN for names that are not in the
# files (never asking the Internet), answer over TCP too, and go away on
# unbound_stop and when the test program exits.  Checked with drill or dig.
. "$(dirname "$0")/common.bash"

tmpdir
if ! need unbound ldns-read-zone; then
	done_testing
fi
if have drill; then
	ask() { drill -p "$UNBOUND_PORT" @127.0.0.1 "$@"; }
	ask_tcp() { drill -t -p "$UNBOUND_PORT" @127.0.0.1 "$@"; }
elif need dig; then
	ask() { dig -p "$UNBOUND_PORT" @127.0.0.1 +tries=1 "$@"; }
	ask_tcp() { dig +tcp -p "$UNBOUND_PORT" @127.0.0.1 +tries=1 "$@"; }
else
	done_testing
fi

# answer NAME TYPE: the rdata of the answer section, one line per record.
answer()
{
	ask "$1" "$2" | awk -F '\t' '
	    /^;; ANSWER SECTION/ { on = 1; next }
	    /^;;/ || /^$/ { on = 0 }
	    on && !/^;/ && NF >= 5 { print $5 }'
}

# rcode NAME TYPE
rcode()
{
	ask "$1" "$2" | sed -n 's/.*\(rcode\|status\): \([A-Z]*\).*/\2/p'
}

# zone_rdata ZONEFILE NAME: what the zone file says, in ldns's spelling.
zone_rdata()
{
	ldns-read-zone -s "$1" | awk -F '\t' -v n="$2" '$1 == n { print $5 }'
}

KEYS="$VECTORS/keys.zone"
# A zone file in the styles keygen tools print: $ORIGIN, $TTL, a relative
# owner, parentheses over several lines, comments, an escaped quote, and a
# record with no TTL.
cat >"$TMPD/style.zone" <<'EOF'
$ORIGIN example.test.
$TTL 300
sel._domainkey	IN	TXT	( "v=DKIM1; n=\"a note\"; k=rsa; "   ; first part
	  "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ"
	  "DwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7" )  ; ----- DKIM key sel
_adsp._domainkey 600 IN TXT "dkim=all"
quote._domainkey IN TXT "it's single-quoted"
EOF

if unbound_start "$KEYS" "$TMPD/style.zone"; then
	ok "unbound_start with keys.zone and a zone in keygen style"
else
	not_ok "unbound_start with keys.zone and a zone in keygen style"
	done_testing
fi
case "$UNBOUND_PORT" in
'' | *[!0-9]*) not_ok "UNBOUND_PORT is a port number: '$UNBOUND_PORT'" ;;
*) ok_if "UNBOUND_PORT is a high port ($UNBOUND_PORT)" \
    "$([ "$UNBOUND_PORT" -gt 1024 ]; echo $?)" ;;
esac
PID="$UNBOUND_PID"

for name in brisbane._domainkey.example.com. brisbane._domainkey.example.org. \
    brisbane._domainkey.football.example.com. \
    test._domainkey.football.example.com.; do
	want="$(zone_rdata "$KEYS" "$name")"
	got="$(answer "$name" TXT)"
	ok_if "TXT $name as in keys.zone, strings kept" \
	    "$([ -n "$want" ] && [ "$got" = "$want" ]; echo $?)" \
	    "want: $want" "got:  $got"
done
nstrings="$(answer brisbane._domainkey.example.com. TXT | grep -o '"[^"]*"' |
    wc -l)"
ok_if "the 5-string record comes back as 5 strings" \
    "$([ "$nstrings" -eq 5 ]; echo $?)" "got $nstrings strings"

got="$(answer sel._domainkey.example.test. TXT)"
want='"v=DKIM1; n=\"a note\"; k=rsa; " "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQ" "DwIRP/UC3SBsEmGqZ9ZJW3/DkMoGeLnQg1fWn7"'
ok_if "relative owner, parentheses, comments, escaped quote" \
    "$([ "$got" = "$want" ]; echo $?)" "want: $want" "got:  $got"
got="$(ask _adsp._domainkey.example.test. TXT | grep -c '600[[:space:]]*IN[[:space:]]*TXT')"
ok_if "an explicit TTL is kept" "$([ "$got" -eq 1 ]; echo $?)"
got="$(answer quote._domainkey.example.test. TXT)"
ok_if "a single quote inside a TXT string survives" \
    "$([ "$got" = '"it'"'"'s single-quoted"' ]; echo $?)" "got: $got"

got="$(answer brisbane._domainkey.example.com. TXT | tr -d '\n')"
got_tcp="$(ask_tcp brisbane._domainkey.example.com. TXT | awk -F '\t' '
    /^;; ANSWER SECTION/ { on = 1; next } /^;;/ || /^$/ { on = 0 }
    on && NF >= 5 { print $5 }' | tr -d '\n')"
ok_if "the same answer over TCP" \
    "$([ -n "$got_tcp" ] && [ "$got_tcp" = "$got" ]; echo $?)"

for name in nosuch._domainkey.example.com. www.example.net. \
    brisbane._domainkey.example.invalid.; do
	got="$(rcode "$name" TXT)"
	ok_if "NXDOMAIN for $name (not in the files)" \
	    "$([ "$got" = NXDOMAIN ]; echo $?)" "rcode: $got"
done
got="$(rcode example.com. TXT)"
ok_if "NOERROR (no data) for example.com., which has names below it" \
    "$([ "$got" = NOERROR ] && [ -z "$(answer example.com. TXT)" ]; echo $?)" \
    "rcode: $got"
got="$(ask nosuch.example.com. TXT | grep -c 'IN[[:space:]]*SOA')"
ok_if "an NXDOMAIN answer carries an SOA" "$([ "$got" -ge 1 ]; echo $?)"
ok_if "queries are logged" \
    "$(grep -q 'brisbane._domainkey.example.com. TXT IN' \
    "$UNBOUND_DIR/unbound.log"; echo $?)"

# A second server at the same time, on another port.
FIRST_PORT="$UNBOUND_PORT"
if unbound_start "$TMPD/style.zone"; then
	got="$(rcode brisbane._domainkey.example.com. TXT)"
	ok_if "a second server, with only its own zone" \
	    "$([ "$UNBOUND_PORT" != "$FIRST_PORT" ] && [ "$got" = NXDOMAIN ]; echo $?)" \
	    "port $UNBOUND_PORT (first $FIRST_PORT), rcode $got"
	unbound_stop
else
	not_ok "a second server, with only its own zone"
fi
ok_if "the first server still runs" "$(kill -0 "$PID" 2>/dev/null; echo $?)"

unbound_stop "$PID"
ok_if "unbound_stop ends the process" \
    "$(! kill -0 "$PID" 2>/dev/null; echo $?)"

# A bad zone file is reported, not served.
printf 'bad._domainkey.example.test. IN TXT "unterminated\n' >"$TMPD/bad.zone"
check_fails "a broken zone file makes unbound_start fail" \
    bash -c '. "$1/tests/lib/unbound.sh"; unbound_start "$2"' sh \
    "$TOP_SRCDIR" "$TMPD/bad.zone"

# Stopped on exit, even without unbound_stop.
check "a test program that exits leaves no unbound behind" \
    bash -c '. "$1/tests/lib/tap.sh"; . "$1/tests/lib/unbound.sh"
	unbound_start "$2" || exit 1
	printf "%s\n" "$UNBOUND_PID" >"$3"' sh \
    "$TOP_SRCDIR" "$KEYS" "$TMPD/pid"
pid="$(cat "$TMPD/pid" 2>/dev/null)"
ok_if "... its unbound ($pid) is gone" \
    "$([ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; echo $?)"

# Killed outright (SIGKILL: no exit hook), its unbound still goes.  (Its
# directory stays: removed here.)
(bash -c '. "$1/tests/lib/tap.sh"; . "$1/tests/lib/unbound.sh"
	unbound_start "$2" || exit 1
	printf "%s\n%s\n" "$UNBOUND_PID" "$UNBOUND_DIR" >"$3"
	kill -9 $$' sh "$TOP_SRCDIR" "$KEYS" "$TMPD/pid9"; true) 2>/dev/null
dir="$(sed -n 2p "$TMPD/pid9" 2>/dev/null)"
case "$dir" in
"${TMPDIR:-/tmp}"/dkimkit-unbound.*) rm -rf -- "$dir" ;;
esac
pid="$(sed -n 1p "$TMPD/pid9" 2>/dev/null)"
for ((i = 0; i < 50; i++)); do
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
ok_if "a test program killed with SIGKILL leaves no unbound ($pid) behind" \
    "$([ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; echo $?)"

# The namespace for resolv.conf-only clients (opendkim-testmsg).
resolv_before="$(cksum </etc/resolv.conf)"
if netns_start; then
	ok "netns_start: private network namespace with its own resolv.conf"
	NS="$NETNS_PID"
	UNBOUND_WRAP=("${NETNS_ENTER[@]}")
	UNBOUND_FIXED_PORT=53
	if unbound_start "$KEYS"; then
		ok "unbound on 127.0.0.1:53 inside the namespace"
		if have drill; then
			q=(drill brisbane._domainkey.football.example.com. TXT)
		else
			q=(dig brisbane._domainkey.football.example.com. TXT)
		fi
		got="$("${NETNS_ENTER[@]}" "${q[@]}" | grep -c 'k=ed25519')"
		ok_if "a resolv.conf client inside reaches it" \
		    "$([ "$got" -ge 1 ]; echo $?)"
	else
		not_ok "unbound on 127.0.0.1:53 inside the namespace"
	fi
	unset UNBOUND_WRAP UNBOUND_FIXED_PORT
	ok_if "the machine's own /etc/resolv.conf is untouched" \
	    "$([ "$(cksum </etc/resolv.conf)" = "$resolv_before" ]; echo $?)"
	unbound_stop
	netns_stop
	ok_if "netns_stop ends the namespace holder" \
	    "$(! kill -0 "$NS" 2>/dev/null; echo $?)"
else
	skip "netns_start" "cannot make a network namespace here (see stderr)"
fi

done_testing
