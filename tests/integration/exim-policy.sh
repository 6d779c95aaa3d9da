#!/bin/bash
# The signing policy through a real Exim (issue #19): the sign dlfunc
# with opendkim-conf=, client-ip=$sender_host_address,
# client-host=$sender_host_name and auth=$authenticated_id on the
# transport.  Messages go in with `exim -bs` (root may set the client's
# address, name and authenticated id: -oMa, -oMs, -oMai) and out through
# a queue run into a maildir.
#
# 1. The matrix of tests/interop/policy-opendkim.sh (tests/lib/
#    policy-matrix.sh: its files, 5 configurations, 308 cases of From,
#    client address and name, authenticated or not) plus 22 local
#    submissions without an address, in each configuration: 1650
#    messages.  Each one's decision and set of (d=, s=, i=, a=) must be
#    what `dkimkit policy test --json` says (which that script proves
#    equal to opendkim 2.11's); every signature made must verify with
#    `dkimkit verify` against the keys' zone; with opendkim and
#    miltertest installed, the local submissions must also get what
#    opendkim gives a connection without an address.
# 2. Reload: signing in the DATA ACL of one SMTP session, the
#    SigningTable is replaced, removed (the configuration read before
#    stays, the main log names the error), restored, and edited in place
#    (same size), then the configuration itself changes (a refile: table,
#    MultipleSignatures: two fields from one add_header): each message
#    gets the decision of the files as they are.
# 3. A message the policy cannot decide or sign (a SigningTable line
#    naming no KeyTable line, a key file that is not there, no From, no
#    configuration at all) is delivered unsigned, with a main-log line
#    saying why; a bad word fails the expansion.
# Needs root (exim4 -C), exim4-daemon-heavy.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/exim.sh"
. "$TOP_SRCDIR/tests/lib/policy-matrix.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY="${PYTHON:-/usr/bin/python3}"
exim_check || skip_all "$EXIM_WHY"
BUILT="$TOP_BUILDDIR/plugins/exim/.libs/dkimkit_exim.so"
[ -f "$BUILT" ] || skip_all "$BUILT not built (exim4-dev missing at configure time?)"
exim_module "$TMPD" "$BUILT" || bail_out "$EXIM_WHY"
[ -n "$EXIM_PRELOAD" ] && tap_diag "module built with ASan: preloading $EXIM_PRELOAD"

# Keys (as opendkim-genkey names them: SELECTOR.private), readable by
# Exim's user only.
K="$TMPD/keys"
mkdir -p "$K"
for sel in $POLICY_SELECTORS; do
	"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain example.com \
	    --selector "$sel" --out "$K/$sel.private" > /dev/null ||
	    bail_out "keygen $sel"
done
chown -R Debian-exim "$K"
chmod 700 "$K"
P="$TMPD/policy"
mkdir -p "$P"
policy_matrix "$P" "$K"
chmod -R a+rX "$P"
ncases=$(wc -l < "$P/cases")

SIGN="\${dlfunc{$SO}{sign}{opendkim-conf=%s}{client-ip=\$sender_host_address}{client-host=\$sender_host_name}{auth=\$authenticated_id}}"

# session FILE CASES: an SMTP session, one message per "ID FROM" line of
# CASES (Subject "case ID"), CRLF line ends.
session()
{
	awk 'BEGIN { printf "EHLO client.test\r\n" }
	    { printf "MAIL FROM:<%s>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n", $2
	      printf "From: %s\r\nTo: bob@example.net\r\nSubject: case %s\r\n", $2, $1
	      printf "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
	      printf "Message-ID: <case%s@client.test>\r\n\r\nhello\r\n.\r\n", $1 }
	    END { printf "QUIT\r\n" }' "$2" > "$1"
}

# submit DIR IP HOST AUTH CASES: the messages of CASES in one `exim -bs`
# from client IP with name HOST ("-": none, a local submission),
# authenticated as "user" when AUTH is 1; queued, not delivered.
submit()
{
	local d="$1" ip="$2" host="$3" auth="$4" args=()

	[ "$ip" = - ] || args+=(-oMa "$ip")
	[ "$host" = - ] || args+=(-oMs "$host")
	[ "$auth" = 1 ] && args+=(-oMai user)
	session "$d/s.smtp" "$5"
	"${EXIM_ENV[@]}" "$EXIM" -C "$d/exim.conf" -odq -bs "${args[@]}" \
	    < "$d/s.smtp" > "$d/s.out" 2>&1
}

# queue_run DIR: deliver everything queued, in a process of this script
# (EXIM_ENV), and print how many messages stay queued.
queue_run()
{
	"${EXIM_ENV[@]}" "$EXIM" -C "$1/exim.conf" -qff > "$1/qff.out" 2>&1
	"${EXIM_ENV[@]}" "$EXIM" -C "$1/exim.conf" -bpc
}

# delivered DIR: one line per delivered message, "ID | d s i a;..." (the
# DKIM-Signature fields' tags, sorted; "-" for no i=).
cat > sigs.py <<'PYEOF'
import email, email.policy, os, re, sys
def tags(v):
    t = {}
    for part in re.sub(r"\s+", "", v).split(";"):
        if "=" in part:
            k, _, val = part.partition("=")
            t[k] = val
    return t
for d in sys.argv[1:]:
    for name in sorted(os.listdir(d)):
        with open(os.path.join(d, name), "rb") as f:
            m = email.message_from_binary_file(f, policy=email.policy.compat32)
        subj = str(m.get("Subject", ""))
        sigs = []
        for v in m.get_all("DKIM-Signature") or []:
            t = tags(str(v))
            sigs.append("%s %s %s %s" % (t.get("d"), t.get("s"), t.get("i", "-"), t.get("a")))
        print("%s | %s" % (subj.split()[-1], ";".join(sorted(sigs))))
PYEOF
delivered()
{
	"$PY" sigs.py "$1/mail/new" | sort
}

# expected NAME: the same lines from dkimkit policy test --json, for
# $P/cases and then the local submissions ($TMPD/local).
expected()
{
	local id f ip host a args

	while read -r id f ip host a; do
		args=(--from "$f")
		[ "$ip" = - ] || args+=(--client-ip "$ip")
		[ "$host" = - ] || args+=(--client-host "$host")
		[ "$a" = 1 ] && args+=(--auth user)
		printf '%s | ' "$id"
		"$DKIMKIT" policy test --opendkim-conf "$P/od-$1.conf" \
		    "${args[@]}" --json 2>/dev/null || [ $? = 1 ] ||
		    echo '{"error": true}'
	done < all.cases | "$PY" -c '
import json, sys
for line in sys.stdin:
    case, _, obj = line.rstrip("\n").partition(" | ")
    d = json.loads(obj)
    if "error" in d:
        print(case + " | dkimkit policy test failed")
        continue
    sigs = sorted("%s %s %s %s" % (s["d"], s["s"], s["i"] or "-", s["a"])
        for s in d["signatures"]) if d.get("sign") else []
    print(case + " | " + ";".join(sigs))' | sort
}

# The cases with an id: the matrix (1..308), then the local submissions
# (1001..): every From, authenticated or not, with no address.
awk '{ print NR, $0 }' "$P/cases" > all.cases
n=1000
for f in $POLICY_FROMS; do
	for a in 0 1; do
		n=$((n + 1))
		echo "$n $f - - $a"
	done
done > local.cases
cat local.cases >> all.cases
nlocal=$(wc -l < local.cases)
total=$((ncases + nlocal))
tap_diag "$ncases cases of the matrix and $nlocal local submissions, in each of 5 configurations"

# --- 1. the matrix on the transport -----------------------------------
: > zone.pairs
for name in $POLICY_CONFS; do
	D="$TMPD/m-$name"
	# shellcheck disable=SC2059
	exim_conf "$D" "" "  headers_add = $(printf "$SIGN" "$P/od-$name.conf")" \
	    "queue_only = true"
	# One session per client: its messages, one per From.
	cut -d' ' -f3- all.cases | sort -u | while read -r ip host a; do
		awk -v ip="$ip" -v host="$host" -v a="$a" \
		    '$3 == ip && $4 == host && $5 == a { print $1, $2 }' \
		    all.cases > "$D/group"
		submit "$D" "$ip" "$host" "$a" "$D/group" ||
		    tap_diag "exim -bs from $ip failed: $(tail -n 2 "$D/s.out")"
	done
	queued=$(queue_run "$D")
	got=$(find "$D/mail/new" -type f 2>/dev/null | wc -l)
	[ "$got" -eq "$total" ] && [ "$queued" = 0 ]
	ok_if "$name: all $total messages delivered, none left queued" $? \
	    "delivered $got, queued ${queued:-?}" ||
	    tap_diag_file "$D/log/paniclog"
	expected "$name" > "want-$name"
	delivered "$D" > "got-$name"
	if cmp -s "want-$name" "got-$name"; then
		ok "$name: Exim signs as dkimkit policy test decides, all $total cases"
	else
		not_ok "$name: Exim signs as dkimkit policy test decides" \
		    "$(diff "want-$name" "got-$name" | grep -c '^<') cases differ"
		tap_diag "policy test < > Exim"
		diff "want-$name" "got-$name" | head -20 | while read -r l; do
			tap_diag "$l"
		done
	fi
	nlog=$(grep -c 'dkimkit: policy: \(signed\|not signed\)' "$D/log/mainlog")
	[ "$nlog" -eq "$total" ]
	ok_if "$name: one main-log line per message with the decision" $? \
	    "$nlog lines for $total messages"
	signed=$(grep -vc '| $' "got-$name")
	tap_diag "$name: $signed of $total signed"
	sed -n 's/^.* | //p' "got-$name" | tr ';' '\n' |
	    awk 'NF { print $1, $2 }' >> zone.pairs
done

# Every signature made verifies against the keys' records.
sort -u zone.pairs | while read -r d s; do
	"$DKIMKIT" key record --key "$K/$s.private" "$d" "$s" ||
	    echo "; no record for $s $d"
done > keys.zone
find "$TMPD"/m-*/mail/new -type f -exec grep -l '^DKIM-Signature:' {} + \
    > signed.list
mapfile -t signed < signed.list
"$DKIMKIT" verify --zone keys.zone --json "${signed[@]}" > verify.json 2>&1
"$PY" - verify.json "$(wc -l < signed.list)" <<'PYEOF'
import json, sys
n = bad = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    n += 1
    if not d["signatures"] or any(s["result"] != "pass" for s in d["signatures"]):
        bad += 1
        print("%s: %s" % (d["file"], [(s["d"], s["s"], s["result"], s.get("reason")) for s in d["signatures"]]))
print("%d messages, %d with a signature that does not pass" % (n, bad))
sys.exit(0 if n == int(sys.argv[2]) and n > 0 and bad == 0 else 1)
PYEOF
ok_if "every signature Exim made verifies ($(wc -l < signed.list) messages)" \
    $? "$(tail -n 5 verify.json)"

# A local submission has no client address: opendkim takes a connection
# of unknown family for 127.0.0.1.  With opendkim and miltertest here, it
# says so for each configuration.
if have opendkim && have miltertest; then
	for name in $POLICY_CONFS; do
		{
			cat <<EOF2
mt.startfilter("$(command -v opendkim)", "-f", "-x", "$P/od-$name.conf",
    "-p", "local:$TMPD/od-$name.sock")
local function run(id, from, auth)
	local conn = mt.connect("local:$TMPD/od-$name.sock", 40, 0.25)
	if conn == nil then error("no connection to opendkim") end
	mt.conninfo(conn, "localhost", "unspec")
	if auth == "1" then
		mt.macro(conn, SMFIC_MAIL, "i", "Q1", "{auth_type}", "PLAIN",
		    "{auth_authen}", "user")
	else
		mt.macro(conn, SMFIC_MAIL, "i", "Q1")
	end
	mt.mailfrom(conn, "<" .. from .. ">")
	mt.rcptto(conn, "<bob@example.net>")
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
		local i = h:match("i=([^;%s]+)") or "-"
		table.insert(sigs, h:match("d=([^;%s]+)") .. " " ..
		    h:match("s=([^;%s]+)") .. " " .. i .. " " ..
		    h:match("a=([^;%s]+)"))
		n = n + 1
	end
	table.sort(sigs)
	mt.echo(id .. " | " .. table.concat(sigs, ";"))
	mt.disconnect(conn)
end
EOF2
			while read -r id f ip host a; do
				printf 'run("%s", "%s", "%s")\n' "$id" "$f" "$a"
			done < local.cases
		} > "od-$name.lua"
		if ! timeout 120 miltertest -s "od-$name.lua" 2> "od-$name.err" |
		    sort > "od-$name.out"; then
			not_ok "$name: opendkim under miltertest" \
			    "$(tail -n 3 "od-$name.err")"
			continue
		fi
		grep '^10[0-9][0-9] ' "got-$name" > "exim-local-$name"
		[ -s "od-$name.out" ] && cmp -s "od-$name.out" "exim-local-$name"
		ok_if "$name: no client address: Exim signs as opendkim does ($nlocal cases)" \
		    $? "$(diff "od-$name.out" "exim-local-$name" | head -n 10)"
	done
else
	skip "no client address: Exim against opendkim" \
	    "opendkim or miltertest is not installed"
fi

# --- 2. reload in one SMTP session --------------------------------------
R="$TMPD/reload"
mkdir -p "$R/files"
cat > "$R/files/KeyTable" <<EOF2
ex	example.com:ex:$K/ex.private
ex2	example.com:ex2:$K/ex2.private
ex3	example.com:ex3:$K/ex3.private
EOF2
printf 'example.com\tex\n' > "$R/files/SigningTable"
cat > "$R/files/od.conf" <<EOF2
KeyTable	file:$R/files/KeyTable
SigningTable	file:$R/files/SigningTable
EOF2
chmod -R a+rX "$R/files"
exim_conf "$R" "  warn add_header = $(printf "$SIGN" "$R/files/od.conf")" \
    "" "queue_only = true"

# An interactive `exim -bs` (local submission: 127.0.0.1, in the default
# InternalHosts): one process, so one module and one cached policy.
coproc EXS { "${EXIM_ENV[@]}" "$EXIM" -C "$R/exim.conf" -odq -bs 2>&1; }
# bash forgets EXS_PID once the process has ended.
exs_pid=$EXS_PID
# reply: the code of the server's next complete reply.
reply()
{
	local line

	while IFS= read -r -t 30 line <&"${EXS[0]}"; do
		line=${line%$'\r'}
		echo "$line" >> "$R/session.log"
		if [[ "$line" =~ ^[0-9]{3}\  ]]; then
			echo "${line%% *}"
			return 0
		fi
	done
	echo none
}
say() { printf '%s\r\n' "$@" >&"${EXS[1]}"; echo ">> $*" >> "$R/session.log"; }
# send_one N FROM: one message, Subject "reload N"; 0 when accepted.
send_one()
{
	say "MAIL FROM:<$2>"
	[ "$(reply)" = 250 ] || return 1
	say "RCPT TO:<bob@example.net>"
	[ "$(reply)" = 250 ] || return 1
	say DATA
	[ "$(reply)" = 354 ] || return 1
	say "From: $2" "To: bob@example.net" "Subject: reload $1" "" "hello" "."
	[ "$(reply)" = 250 ]
}
[ "$(reply)" = 220 ] || bail_out "exim -bs did not greet: $(cat "$R/session.log")"
say "EHLO client.test"
reply > /dev/null
T="$R/files/SigningTable"
st=0
send_one 1 a@example.com || st=1
# A new file (as editors and config tools write one): a new inode.
printf 'example.com\tex2\n' > "$T.new" && chmod a+r "$T.new" && mv "$T.new" "$T"
send_one 2 a@example.com || st=1
# Gone: the configuration no longer reads.
mv "$T" "$T.away"
send_one 3 a@example.com || st=1
printf 'example.com\tex3\n' > "$T" && chmod a+r "$T"
send_one 4 a@example.com || st=1
# Changed in place, same size: only the modification time tells.
sleep 0.05
printf 'example.com\tex2\n' > "$T"
send_one 5 a@example.com || st=1
# Not in the table: accepted, and no empty field added.
send_one 6 a@example.org || st=1
# The configuration itself changes: patterns, every match (one line for
# each of OpenDKIM's questions: "a@example.com", ..., "a@*").
printf '*@example.com\tex\n*@*\tex3:@example.com\n' > "$R/files/Patterns"
chmod a+r "$R/files/Patterns"
cat > "$R/files/od.conf.new" <<EOF2
KeyTable		file:$R/files/KeyTable
SigningTable		refile:$R/files/Patterns
MultipleSignatures	yes
EOF2
chmod a+r "$R/files/od.conf.new"
mv "$R/files/od.conf.new" "$R/files/od.conf"
send_one 7 a@example.com || st=1
say QUIT
reply > /dev/null
wait "$exs_pid" 2>/dev/null
ok_if "reload session: every message accepted" "$st" \
    "$(tail -n 20 "$R/session.log")"
queued=$(queue_run "$R")
delivered "$R" > reload.got
want='1 | example.com ex - rsa-sha256
2 | example.com ex2 - rsa-sha256
3 | example.com ex2 - rsa-sha256
4 | example.com ex3 - rsa-sha256
5 | example.com ex2 - rsa-sha256
6 | 
7 | example.com ex - rsa-sha256;example.com ex3 @example.com rsa-sha256'
[ "$queued" = 0 ] && [ "$(cat reload.got)" = "$want" ]
ok_if "SigningTable replaced, removed, restored, edited in place, configuration changed: each decision follows the files" \
    $? "got: $(tr '\n' '/' < reload.got)" "queued: $queued"
f7=$(grep -l '^Subject: reload 7' "$R"/mail/new/*)
for sel in ex ex3; do
	"$DKIMKIT" key record --key "$K/$sel.private" example.com "$sel"
done > reload.zone
"$DKIMKIT" verify --zone reload.zone --json "$f7" > reload7.json 2>&1 &&
    "$PY" -c '
import json, sys
sigs = json.load(open(sys.argv[1]))["signatures"]
sys.exit(0 if len(sigs) == 2 and all(s["result"] == "pass" for s in sigs) else 1)' reload7.json
ok_if "two signatures added in the DATA ACL (MultipleSignatures) both verify" \
    $? "$(cat reload7.json)"
[ "$(grep -c 'dkimkit: policy .*/od.conf: read again' "$R/log/mainlog")" -eq 4 ]
ok_if "each change read again once, logged" $? \
    "$(grep 'dkimkit: policy ' "$R/log/mainlog")"
grep -q "dkimkit: policy $R/files/od.conf: opendkim-conf: .*$T.*; keeping the configuration read before" \
    "$R/log/mainlog"
ok_if "a configuration that no longer reads: the one before stays, the log names the error" \
    $? "$(grep 'dkimkit: policy ' "$R/log/mainlog")"
f6=$(grep -l '^Subject: reload 6' "$R"/mail/new/*)
! awk '/^$/ { exit } /^[^ \t:]*$/ { bad = 1 } END { exit !bad }' "$f6" &&
    ! grep -qi '^DKIM-Signature' "$f6" &&
    grep -q 'dkimkit: policy: not signed: a@example.org matches no SigningTable line' \
    "$R/log/mainlog"
ok_if "not signed in the ACL: no field added, the reason logged" $? \
    "$(sed '/^$/q' "$f6")"

# --- 3. what the policy cannot decide or sign goes on unsigned ----------
F="$TMPD/fail"
mkdir -p "$F/files"
cat > "$F/files/KeyTable" <<EOF2
ex	example.com:ex:$K/ex.private
gone	example.org:gone:$F/files/gone.private
EOF2
printf 'example.com ex\nexample.org gone\nexample.net nokey\n' > "$F/files/SigningTable"
cat > "$F/files/od.conf" <<EOF2
KeyTable	file:$F/files/KeyTable
SigningTable	file:$F/files/SigningTable
EOF2
chmod -R a+rX "$F/files"
exim_conf "$F" "" "  headers_add = $(printf "$SIGN" "$F/files/od.conf")" \
    "queue_only = true"
printf '1 a@example.com\n2 a@example.org\n3 a@example.net\n' > "$F/group"
submit "$F" - - 0 "$F/group"
# Two authors: no single author address to look up.  (A local
# submission without From gets one from Exim.)
printf 'EHLO client.test\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\nFrom: a@example.com, b@example.com\r\nTo: bob@example.net\r\nSubject: case 4\r\n\r\nhello\r\n.\r\nQUIT\r\n' |
    "${EXIM_ENV[@]}" "$EXIM" -C "$F/exim.conf" -odq -bs > /dev/null 2>&1
queued=$(queue_run "$F")
delivered "$F" > fail.got
[ "$queued" = 0 ] && [ "$(cat fail.got)" = '1 | example.com ex - rsa-sha256
2 | 
3 | 
4 | ' ]
ok_if "undecidable or unsignable messages are delivered unsigned" $? \
    "queued: $queued" "got: $(tr '\n' '/' < fail.got)"
log="$F/log/mainlog"
grep -q "dkimkit: policy: not signed, signing \[d=example.org s=gone a=rsa-sha256\] failed: .*$F/files/gone.private" "$log"
ok_if "a key file that is not there: logged with its path" $? \
    "$(grep dkimkit "$log")"
grep -q "dkimkit: policy: not signed, the policy cannot decide: .*SigningTable.*'nokey' is not in the KeyTable" "$log"
ok_if "a SigningTable line naming no key: logged with the line" $? \
    "$(grep dkimkit "$log")"
grep -q "dkimkit: policy: not signed: no single author address" "$log"
ok_if "two authors in From: logged" $? "$(grep dkimkit "$log")"

G="$TMPD/noconf"
exim_conf "$G" "" "  headers_add = $(printf "$SIGN" "$G/none.conf")" \
    "queue_only = true"
printf '1 a@example.com\n' > "$G/group"
submit "$G" - - 1 "$G/group"
queued=$(queue_run "$G")
[ "$queued" = 0 ] && [ "$(delivered "$G")" = '1 | ' ] &&
    grep -q "dkimkit: policy: not signed, no usable configuration: opendkim-conf: $G/none.conf" \
    "$G/log/mainlog"
ok_if "no configuration at all: delivered unsigned, logged" $? \
    "$(grep dkimkit "$G/log/mainlog")"

out=$("${EXIM_ENV[@]}" "$EXIM" -C "$G/exim.conf" -be \
    "\${dlfunc{$SO}{sign}{opendkim-conf=$G/none.conf}{client=1.2.3.4}}" 2>&1)
[[ "$out" == *'dkimkit: sign: unknown argument "client=1.2.3.4"'* ]]
ok_if "a bad word fails the expansion, saying which" $? "$out"

done_testing
