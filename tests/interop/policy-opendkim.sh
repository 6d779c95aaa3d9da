#!/bin/bash
# dkimkit's signing policy against OpenDKIM's own (issue #19): one
# Debian-style configuration (refile: SigningTable, a KeyTable with "%",
# refile: TrustedHosts as InternalHosts with addresses, networks, "!"
# exclusions, a host name and a "*." name, which opendkim does not take
# for a pattern), keys made by opendkim-genkey, and a matrix
# of (From, client address and name, authenticated or not) cases.  Each
# case goes through opendkim 2.11 under miltertest and through `dkimkit
# policy test --json`; the sign/no-sign decision and the set of (d=, s=,
# i=, a=) must be the same.  The matrix runs with MultipleSignatures
# (every match) and without (the first match), and again with an exact
# (file:) SigningTable, with and without SubDomains.  Last, the header
# lists: for a few SignHeaders / OversignHeaders / OmitHeaders settings
# and messages, h= of `dkimkit sign --opendkim-conf` must name the same
# fields as often as opendkim's does (order and case aside: opendkim
# lists the fields in message order, dkimkit in SignHeaders order).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
if ! need opendkim miltertest opendkim-genkey; then
	done_testing
fi
K="$TMPD/keys"
mkdir -p "$K"
chmod 700 "$K"

. "$TOP_SRCDIR/tests/lib/policy-matrix.sh"
for sel in $POLICY_SELECTORS; do
	opendkim-genkey -b 1024 -D "$K" -d example.com -s "$sel" ||
	    bail_out "opendkim-genkey $sel"
done
ok "opendkim-genkey made 8 keys"

# The matrix's files: KeyTable, SigningTable, TrustedHosts, ExactTable,
# od-NAME.conf and the cases, shared with the host tests.
policy_matrix "$TMPD" "$K"
ncases=$(wc -l < cases)
[ "$ncases" -ge 300 ] && ok "$ncases cases" || not_ok "$ncases cases" "< 300"

# lua MULTI: a miltertest script running every case against opendkim,
# one line "FROM IP HOST AUTH | d s i a;..." each, signatures sorted.
lua()
{
	cat <<EOF2
mt.startfilter("$(command -v opendkim)", "-f", "-x", "$TMPD/od-$1.conf",
    "-p", "local:$TMPD/od-$1.sock")
local function sig(h)
	local d = h:match("d=([^;%s]+)")
	local s = h:match("s=([^;%s]+)")
	local i = h:match("i=([^;%s]+)") or "-"
	local a = h:match("a=([^;%s]+)")
	return d .. " " .. s .. " " .. i .. " " .. a
end
local function run(from, ip, host, auth)
	local conn = mt.connect("local:$TMPD/od-$1.sock", 40, 0.25)
	if conn == nil then error("no connection to opendkim") end
	mt.conninfo(conn, host, ip)
	if auth == "1" then
		mt.macro(conn, SMFIC_MAIL, "i", "Q1", "{auth_type}", "PLAIN",
		    "{auth_authen}", "user")
	else
		mt.macro(conn, SMFIC_MAIL, "i", "Q1")
	end
	mt.mailfrom(conn, "<" .. from .. ">")
	mt.rcptto(conn, "<rcpt@dest.test>")
	mt.header(conn, "From", from)
	mt.header(conn, "Subject", "policy")
	mt.eoh(conn)
	mt.bodystring(conn, "hello\r\n")
	mt.eom(conn)
	local sigs = {}
	local n = 0
	while true do
		local h = mt.getheader(conn, "DKIM-Signature", n)
		if h == nil then break end
		table.insert(sigs, sig(h))
		n = n + 1
	end
	table.sort(sigs)
	mt.echo(from .. " " .. ip .. " " .. host .. " " .. auth .. " | " ..
	    table.concat(sigs, ";"))
	mt.disconnect(conn)
end
EOF2
	while read -r f ip host a; do
		printf 'run("%s", "%s", "%s", "%s")\n' "$f" "$ip" "$host" "$a"
	done < cases
}

# ours NAME: the same lines from dkimkit policy test --json (one JSON
# object a case, read by one python at the end).
ours()
{
	local f ip host a auth
	while read -r f ip host a; do
		auth=()
		[ "$a" = 1 ] && auth=(--auth user)
		printf '%s %s %s %s | ' "$f" "$ip" "$host" "$a"
		"$DKIMKIT" policy test --opendkim-conf "od-$1.conf" --from "$f" \
		    --client-ip "$ip" --client-host "$host" "${auth[@]}" \
		    --json 2>/dev/null || [ $? = 1 ] || echo '{"error": true}'
	done < cases | "$PYTHON" -c '
import json, sys
for line in sys.stdin:
    case, _, obj = line.rstrip("\n").partition(" | ")
    d = json.loads(obj)
    if "error" in d:
        print(case + " | dkimkit failed")
        continue
    sigs = sorted("%s %s %s %s" % (s["d"], s["s"], s["i"] or "-", s["a"])
        for s in d["signatures"]) if d.get("sign") else []
    print(case + " | " + ";".join(sigs))'
}

for name in yes no exact-sub exact-multi exact-nosub; do
	lua "$name" > "t-$name.lua"
	if timeout 600 miltertest -s "t-$name.lua" > "od-$name.out" \
	    2> "od-$name.err"; then
		ok "opendkim under miltertest ran the matrix ($name)"
	else
		not_ok "opendkim under miltertest ($name)" \
		    "$(tail -3 "od-$name.err")"
		continue
	fi
	ours "$name" > "dk-$name.out"
	if cmp -s "od-$name.out" "dk-$name.out"; then
		ok "dkimkit decides as opendkim in all $ncases cases ($name)"
	else
		not_ok "dkimkit decides as opendkim ($name)" \
		    "$(diff "od-$name.out" "dk-$name.out" | grep -c '^<') cases differ"
		tap_diag "opendkim < > dkimkit"
		diff "od-$name.out" "dk-$name.out" | head -40 | while read -r l; do
			tap_diag "$l"
		done
	fi
	signed=$(grep -vc '| $' "od-$name.out")
	tap_diag "$name: opendkim signed $signed of $ncases"
done

# The header lists.  Each configuration oversigns From, as dkimkit
# always does (and Debian's opendkim.conf does).
hconf()
{
	local n=$1
	shift
	policy_conf "$TMPD" "h$n" no "refile:$TMPD/SigningTable" no
	printf '%s\n' "$@" >> "od-h$n.conf"
}
hconf 1 "OversignHeaders From"
hconf 2 "SignHeaders From,To,Subject,Sender,List-Id,Received,X-Custom" \
    "OversignHeaders From,Subject,Sender"
hconf 3 "SignHeaders *,+X-Custom,-Subject" "OmitHeaders *,-Received" \
    "OversignHeaders From,To"
hconf 4 "SignHeaders From,Received,Comments,To" "OmitHeaders ." \
    "OversignHeaders From,Resent-Sender"
hconf 5 "SignHeaders *,+Sender,+List-Post" "OmitHeaders Date,Subject" \
    "OversignHeaders From,Cc,List-Post"
hconf 6 "SignHeaders file:$TMPD/SignHeaders" "OversignHeaders From,Subject"
printf '%s\n' "# one a line" From Subject Sender Resent-From Comments \
    Keywords X-Custom > SignHeaders

cat > h-m1.eml <<'EOF2'
Received: from a by b
From: alice@example.com
To: r@dest.test
Cc: c1@dest.test
Received: from c by d
Subject: hi
Sender: s@example.com
X-Custom: x
Comments: c
Cc: c2@dest.test
Date: Mon, 7 Dec 2026 10:00:00 +0000
Message-ID: <1@example.com>

hello
EOF2
cat > h-m2.eml <<'EOF2'
Return-Path: <alice@example.com>
From: alice@example.com
Reply-To: list@example.com
To: r@dest.test
Subject: second
List-Id: <l.example.com>
List-Post: <mailto:l@example.com>
Resent-From: bob@example.com
Keywords: k
Date: Mon, 7 Dec 2026 10:00:01 +0000

hello
EOF2

# hlua N: opendkim's h= for each message, one line "MSG h=..." each.
hlua()
{
	local m name value
	echo "mt.startfilter(\"$(command -v opendkim)\", \"-f\", \"-x\"," \
	    "\"$TMPD/od-h$1.conf\", \"-p\", \"local:$TMPD/od-h$1.sock\")"
	for m in m1 m2; do
		cat <<EOF2
local conn = mt.connect("local:$TMPD/od-h$1.sock", 40, 0.25)
if conn == nil then error("no connection to opendkim") end
mt.conninfo(conn, "localhost", "127.0.0.1")
mt.macro(conn, SMFIC_MAIL, "i", "Q1")
mt.mailfrom(conn, "<alice@example.com>")
mt.rcptto(conn, "<r@dest.test>")
EOF2
		while IFS= read -r line && [ -n "$line" ]; do
			name=${line%%:*}
			value=${line#*: }
			printf 'mt.header(conn, "%s", "%s")\n' "$name" "$value"
		done < "h-$m.eml"
		cat <<EOF2
mt.eoh(conn)
mt.bodystring(conn, "hello\\r\\n")
mt.eom(conn)
local h = mt.getheader(conn, "DKIM-Signature", 0)
mt.echo("$m " .. (h and h:gsub("%s", ""):match(";h=([^;]*)") or "none"))
mt.disconnect(conn)
EOF2
	done
}

# hnorm: "MSG a:B:c" lines made "MSG a b c", lower case, sorted.
hnorm()
{
	"$PYTHON" -c '
import sys
for line in sys.stdin:
    m, _, h = line.strip().partition(" ")
    print(m, " ".join(sorted(x.lower() for x in h.split(":"))))'
}

for n in 1 2 3 4 5 6; do
	hlua "$n" > "t-h$n.lua"
	if ! timeout 120 miltertest -s "t-h$n.lua" > "od-h$n.raw" \
	    2> "od-h$n.err"; then
		not_ok "opendkim under miltertest (header lists $n)" \
		    "$(tail -3 "od-h$n.err")"
		continue
	fi
	hnorm < "od-h$n.raw" > "od-h$n.out"
	for m in m1 m2; do
		if "$DKIMKIT" sign --opendkim-conf "od-h$n.conf" \
		    --client-ip 127.0.0.1 "h-$m.eml" > "dk-h$n-$m.eml" \
		    2> "dk-h$n-$m.err"; then
			printf '%s %s\n' "$m" "$(sed -n '/^DKIM-Signature:/,/^[^ \t]/p' \
			    "dk-h$n-$m.eml" | tr -d ' \t\r\n' |
			    sed 's/.*;h=\([^;]*\);.*/\1/')"
		else
			echo "$m dkimkit-failed"
		fi
	done | hnorm > "dk-h$n.out"
	if grep -q none "od-h$n.out"; then
		not_ok "opendkim signed with header lists $n" \
		    "$(cat "od-h$n.raw")"
	elif cmp -s "od-h$n.out" "dk-h$n.out"; then
		ok "h= names what opendkim's does (header lists $n)"
	else
		not_ok "h= as opendkim's (header lists $n)" \
		    "$(diff "od-h$n.out" "dk-h$n.out")"
	fi
done
# Every signature the policy makes verifies with python3-dkim and
# Mail::DKIM (issue #19 4): an authenticated author of each kind of the
# matrix, signed by `dkimkit sign --opendkim-conf` with every match
# (MultipleSignatures), checked by both peers with the keys of
# opendkim-genkey's .txt records, published in a zone that a loopback
# unbound serves (Mail::DKIM asks real DNS).
. "$TOP_SRCDIR/tests/lib/unbound.sh"
{
	printf '$TTL 300\n@ IN SOA ns.test. root.test. 1 3600 600 86400 300\n'
	printf '@ IN NS ns.test.\n'
} > peers.zone
nsig=0
for f in ceo@example.com ceo2@example.com alice@example.com \
    x@sub.example.com y@a.b.example.com z@example.net s@shop.example.net \
    q@example.org; do
	printf 'From: <%s>\r\nTo: bob@example.org\r\nSubject: peers\r\n\r\nHello.\r\n' \
	    "$f" > "pp-$f.eml"
	if ! "$DKIMKIT" sign --opendkim-conf od-yes.conf --client-ip 192.0.2.1 \
	    --auth user "pp-$f.eml" > "pp-$f.signed" 2> "pp-$f.err"; then
		not_ok "sign --opendkim-conf for $f" "$(cat "pp-$f.err")"
		continue
	fi
	# each signature's d= and s=: its key record at s._domainkey.d
	tr -d '\r' < "pp-$f.signed" | awk '
	    /^DKIM-Signature:/ { if (sig != "") print sig; sig = $0; next }
	    sig != "" && /^[ \t]/ { sig = sig $0; next }
	    sig != "" { print sig; sig = "" }' | while read -r sig; do
		d=$(printf '%s' "$sig" | tr -d ' \t' | sed 's/.*;d=\([^;]*\);.*/\1/')
		sel=$(printf '%s' "$sig" | tr -d ' \t' | sed 's/.*;s=\([^;]*\);.*/\1/')
		printf '%s._domainkey.%s. %s\n' "$sel" "$d" \
		    "$(sed 's/ *; -----.*//' "$K/$sel.txt" | tr -d '\n' |
		    sed 's/^[^ \t]*[ \t]*//')" >> peers.zone.rr
		echo x >> nsig.count
	done
done
sort -u peers.zone.rr >> peers.zone
nsig=$(wc -l < nsig.count 2>/dev/null || echo 0)
if [ "$nsig" -lt 12 ]; then
	not_ok "the policy made at least 12 signatures for the peers" \
	    "$nsig"
elif ! unbound_start peers.zone; then
	not_ok "unbound serves the policy's keys" "$(cat peers.zone)"
else
	fails=""
	for f in pp-*.signed; do
		n=$(grep -c '^DKIM-Signature:' "$f")
		for i in $(seq 0 $((n - 1))); do
			"$PYTHON" "$TOP_SRCDIR/tests/interop/peer_python.py" \
			    verify --zone peers.zone --sig "$i" "$f" \
			    > /dev/null 2>> peers.err ||
			    fails="$fails python3-dkim:$f#$i"
		done
		perl "$TOP_SRCDIR/tests/interop/peer_perl.pl" verify \
		    --server "$UNBOUND_ADDR" --port "$UNBOUND_PORT" "$f" \
		    > /dev/null 2> "$f.pl" ||
		    fails="$fails Mail::DKIM:$f"
		# Mail::DKIM says pass when one passes: every one must
		[ "$(grep -ci 'pass' "$f.pl")" -ge "$n" ] ||
		    fails="$fails Mail::DKIM-each:$f"
	done
	[ -z "$fails" ]
	ok_if "python3-dkim and Mail::DKIM verify all $nsig signatures the policy made" \
	    $? "$fails $(tail -5 peers.err 2>/dev/null)"
fi
done_testing
