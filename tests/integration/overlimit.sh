#!/bin/bash
# One verdict in the three hosts for a message over the core's header
# limits (issue 18): the same messages go through a real Exim (the dlfunc
# verify adding Authentication-Results in the DATA ACL), a real smtpd
# (filter-dkimkit -m verify adding it) and a real Dovecot LMTP (the Sieve
# extension's dkim test, its verdict written by the script with
# editheader), all asking one loopback unbound for the key.
#
# Messages, each signed by example.test:
#   control  under every limit: pass, so that the comparison can fail
#   fields   the control below 20001 unsigned fields (DKK_LIMIT_HEADER_FIELDS
#            is 20000 by default)
#   bytes    the control below 4400 fields of 1000 bytes: over 4 MiB
#            (DKK_LIMIT_HEADER_BYTES) in fewer fields than the limit
# For each: the dkim= result of Exim's and smtpd's Authentication-Results
# (the authserv-id stripped) is the same to the letter, and the same as
# `dkimkit verify` renders; over a limit it is permerror with the limit's
# reason.  Dovecot renders no header field (a Sieve extension has no way
# to add one of its own): what it exposes is the verdict its dkim test
# sees, here written by the script into X-Dkimkit-Sieve, and its log line
# (plugins/common/settings.c, dks_log_line), whose verdict, reason and
# first signature's d=, s= and a= must be the A-R's result, reason,
# header.d, header.s and header.a (the log's detail is shorter than the
# field's comment: "good signature" against "good signature; 2048-bit
# key").
# Needs root, exim4, the opensmtpd .deb (tests/lib/smtpd.sh), dovecot
# with Pigeonhole, swaks, unbound, ldnsutils and the three adapters built.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/exim.sh"
. "$TOP_SRCDIR/tests/lib/smtpd.sh"
. "$TOP_SRCDIR/tests/lib/dovecot.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
PY="${PYTHON:-/usr/bin/python3}"

exim_check || skip_all "$EXIM_WHY"
for prog in swaks unbound ldns-read-zone dovecot unshare; do
	have "$prog" || skip_all "$prog is not installed"
done
SO_BUILT="$TOP_BUILDDIR/plugins/exim/.libs/dkimkit_exim.so"
FILTER="$TOP_BUILDDIR/plugins/opensmtpd/filter-dkimkit"
SIEVE_BUILT="$TOP_BUILDDIR/plugins/dovecot/.libs/lib90_sieve_dkimkit_plugin.so"
[ -f "$SO_BUILT" ] ||
    skip_all "$SO_BUILT not built (exim4-dev missing at configure time?)"
[ -x "$FILTER" ] || skip_all "$FILTER not built"
[ -f "$SIEVE_BUILT" ] ||
    skip_all "$SIEVE_BUILT not built (dovecot-dev missing at configure time?)"

tmpdir
# The servers' users (Debian-exim, opensmtpd, nobody) read from here.
chmod 755 "$TMPD"
cd "$TMPD" || bail_out "no temp dir"
exim_module "$TMPD/lib" "$SO_BUILT" || bail_out "$EXIM_WHY"
[ -z "$EXIM_PRELOAD" ] ||
    tap_diag "Exim module built with ASan: preloading $EXIM_PRELOAD"
dovecot_plugin "$TMPD/lib" "$SIEVE_BUILT" || bail_out "$DOVECOT_WHY"
install_for_servers "$TMPD/lib" "$FILTER" || bail_out "cannot install $FILTER"
FILTER="$TMPD/lib/filter-dkimkit"

# ---------------------------------------------------------------------
# One key, one zone, one resolver for the three hosts and the command.

"$DKIMKIT" keygen --algorithm rsa --bits 2048 --domain example.test \
    --selector rsa --out rsa.pem > dns.zone || bail_out "keygen rsa"
chmod 644 rsa.pem
echo 'example.test. 300 IN A 127.0.0.1' >> dns.zone
unbound_start dns.zone || bail_out "unbound did not start"
DNS="127.0.0.1@$UNBOUND_PORT"

# The messages, LF line ends (swaks sends CRLF); X-Test, on top and not
# signed, finds each delivered copy.
mkdir msg
printf 'From: Alice <alice@example.test>\nTo: user@example.net\nSubject: figures\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <overlimit@example.test>\n\nBob,\n\nthe figures.\n' \
    > msg/plain
"$DKIMKIT" sign --key rsa.pem --domain example.test --selector rsa \
    msg/plain | tr -d '\r' > msg/signed || bail_out "sign"
grep -q '^DKIM-Signature:' msg/signed || bail_out "no DKIM-Signature made"
{ echo 'X-Test: control'; cat msg/signed; } > msg/control.eml
{
	echo 'X-Test: fields'
	awk 'BEGIN { for (i = 0; i < 20001; i++) print "X-Pad: " i }'
	cat msg/signed
} > msg/fields.eml
{
	echo 'X-Test: bytes'
	awk 'BEGIN { s = sprintf("%990s", ""); gsub(/ /, "b", s)
	    for (i = 0; i < 4400; i++) printf "X-Big-%d: %s\n", i, s }'
	cat msg/signed
} > msg/bytes.eml
[ "$(sed '/^$/q' msg/bytes.eml | wc -c)" -gt 4194304 ] &&
    [ "$(sed '/^$/q' msg/bytes.eml | wc -l)" -lt 20000 ] ||
    bail_out "bytes.eml is not over 4 MiB in under 20000 fields"
chmod -R a+rX msg

# ---------------------------------------------------------------------
# The three servers.

# Exim: Exim's own limit on a header block (header_maxsize, 1 MB) would
# refuse bytes.eml before the module sees it.
E="$TMPD/exim"
exim_conf "$E" "  warn remove_header = Authentication-Results
  warn add_header = \${dlfunc{$SO}{verify}{mx.test}{dns=$DNS}{timeout=5s}}" \
    "" "header_maxsize = 16M"
exim_start "$E" || bail_out "exim did not start"
EXIM_AT=$EXIM_PORT

# smtpd with the verifying filter, delivering to a maildir as nobody.
SD="$TMPD/smtpd"
mkdir -p "$SD" "$TMPD/smtpd-md"
chown nobody "$TMPD/smtpd-md"
smtpd_unpack "$SD" "${OPENSMTPD_DEB_DIR:-$TOP_SRCDIR/build/debs}" || {
	tap_diag_file "$SD/apt.log"
	skip_all "cannot get the opensmtpd package (apt-get download)"
}
SMTPD_AT=$(free_port)
cat > "$SD/smtpd.conf" <<CONF
filter "verify" proc-exec "$FILTER -m verify -i mx.test -D $DNS"
listen on 127.0.0.1 port $SMTPD_AT filter "verify"
action "local" maildir "$TMPD/smtpd-md" user nobody
match from any for any action "local"
CONF
if ! smtpd_run "$SD" "$SD/smtpd.conf" "$SMTPD_AT" "$SD/smtpd.log"; then
	tap_diag_file "$SD/smtpd.log"
	bail_out "smtpd did not start"
fi

# Dovecot: the script writes what the dkim test sees into the message
# (${0}: the verdict "*" matched; one signature, or none evaluated).
cat > deliver.sieve <<'SIEVE'
require ["vnd.dkimkit", "variables", "editheader"];
if dkim :matches "*" {
	addheader "X-Dkimkit-Sieve" "${0}";
}
SIEVE
V="$TMPD/dovecot"
dovecot_lmtp "$V" deliver.sieve "dkimkit_dns = $DNS
  dkimkit_timeout = 5000
  dkimkit_authserv_id = mx.test" || bail_out "$DOVECOT_WHY"
ok "Exim, smtpd and Dovecot LMTP up on $EXIM_AT, $SMTPD_AT, $DOVECOT_PORT"

# ---------------------------------------------------------------------
# Helpers.

# copy_of DIR NAME: the delivered file of message NAME under maildir DIR
# (waits up to 30 s).
copy_of() { maildir_wait "$1" "^X-Test: $2"$'\r?$'; }

# dkim_of: the dkim= result of the Authentication-Results field on
# stdin (name and value), the authserv-id and the semicolons stripped.
dkim_of()
{
	sed 's/^Authentication-Results:[ \t]*//' | ar_split |
	    sed -n 's/;$//; /^dkim=/p' | head -n 1
}

# canon: a dkim= result on stdin as "result|reason|header.d|header.s|
# header.a", to compare a field with Dovecot's log line (comments, and
# properties the log does not carry, are left out).
canon()
{
	"$PY" -c '
import re, sys
s = sys.stdin.read().strip()
m = re.match(r"dkim=([a-z]+)", s)
out = {"result": m.group(1) if m else "?"}
s = s[m.end():] if m else s
# RFC 8601 2.2: value is a token or a quoted-string; comments anywhere.
tok = re.compile(r"\s*(?:\((?P<c>(?:[^()\\]|\\.)*)\)|(?P<k>[A-Za-z.]+)=(?:\"(?P<q>(?:[^\"\\]|\\.)*)\"|(?P<t>[^\s;()]+)))")
pos = 0
while pos < len(s):
    t = tok.match(s, pos)
    if not t:
        out["junk"] = s[pos:]
        break
    if t.group("c") is None:
        v = t.group("q") if t.group("q") is not None else t.group("t")
        out[t.group("k").lower()] = v
    pos = t.end()
print("|".join(out.get(k, "") for k in
    ("result", "reason", "header.d", "header.s", "header.a",
     "junk")))'
}

# dovecot_view LOGLINE SIEVE_VERDICT: Dovecot's verdict as a dkim=
# result: the log line is "ID: dkim=V[ (REASON)][ [V d=D s=S a=A:
# DETAIL]]..."; SIEVE_VERDICT, what the script's dkim test saw, must be V
# (and, with one signature, the signature's V too).
dovecot_view()
{
	"$PY" - "$1" "$2" <<'PYEOF'
import re, sys
line, seen = sys.argv[1], sys.argv[2]
m = re.search(r"dkimkit: [^ ]+: dkim=([a-z]+)(?: \(([^)]*)\))?", line)
if not m:
    sys.exit("no verdict in the log line: " + line)
if seen != m.group(1):
    sys.exit("the Sieve test saw %r, the log says %r" % (seen, m.group(1)))
out = "dkim=" + m.group(1)
if m.group(2):
    out += ' reason="%s"' % m.group(2)
s = re.search(r"\[([a-z]+) d=(\S+) s=(\S+) a=(\S+): ", line)
if s:
    if s.group(1) != m.group(1):
        sys.exit("signature verdict %r differs from the message's %r"
                 % (s.group(1), m.group(1)))
    out += " header.d=%s header.s=%s header.a=%s" % (
        s.group(2), s.group(3), s.group(4))
print(out)
PYEOF
}

# dovecot_lines: how many verdict lines Dovecot has logged.
dovecot_lines()
{
	grep -c 'sieve: dkimkit: ' "$V/dovecot.log" 2>/dev/null
}

# ---------------------------------------------------------------------
# Each message through the three hosts and the command.

while IFS='|' read -r name want; do
	got_exim= got_smtpd= got_dove= cli=
	if swaks_send "$EXIM_AT" "msg/$name.eml" swaks-exim.out \
	    --from sender@example.test --to user@example.net --timeout 60 &&
	    f=$(copy_of "$E/mail" "$name"); then
		got_exim=$(top_ar "$f" | dkim_of)
		ok "$name: Exim delivers it"
	else
		not_ok "$name: Exim delivers it" \
		    "$(tail -n 8 swaks-exim.out)" "$(tail -n 5 "$E/log/mainlog")"
	fi
	# smtpd delivers to local users only: nobody, as whom it writes.
	if swaks_send "$SMTPD_AT" "msg/$name.eml" swaks-smtpd.out \
	    --from sender@example.test --to nobody@example.net --timeout 60 &&
	    f=$(copy_of "$TMPD/smtpd-md" "$name"); then
		got_smtpd=$(top_ar "$f" | dkim_of)
		ok "$name: smtpd delivers it"
	else
		not_ok "$name: smtpd delivers it" \
		    "$(tail -n 8 swaks-smtpd.out)" "$(tail -n 8 "$SD/smtpd.log")"
	fi
	before=$(dovecot_lines)
	if swaks_send "$DOVECOT_PORT" "msg/$name.eml" swaks-lmtp.out \
	    --protocol LMTP --from sender@example.test \
	    --to user@example.net --timeout 60 &&
	    f=$(copy_of "$V/users/user/Maildir" "$name"); then
		ok "$name: Dovecot delivers it through LMTP"
		# The log process may write the line after the reply.
		for ((i = 0; i < 50; i++)); do
			[ "$(dovecot_lines)" -gt "$before" ] && break
			sleep 0.1
		done
		line=$(grep 'sieve: dkimkit: ' "$V/dovecot.log" |
		    tail -n +"$((before + 1))" | head -n 1)
		seen=$(header_fields "$f" X-Dkimkit-Sieve | head -n 1)
		got_dove=$(dovecot_view "$line" "$seen" 2>dove.err) ||
		    got_dove="(${line:-no log line}: $(cat dove.err))"
	else
		not_ok "$name: Dovecot delivers it through LMTP" \
		    "$(tail -n 8 swaks-lmtp.out)" "$(tail -n 5 "$V/dovecot.log")"
	fi
	"$DKIMKIT" verify --dns "$DNS" --authserv-id mx.test --json \
	    "msg/$name.eml" > "$name.json" 2>&1
	cli=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["authentication_results"])' \
	    "$name.json" 2>/dev/null | sed 's/^/Authentication-Results: /' |
	    dkim_of)

	[ -n "$got_exim" ] && [ "$got_exim" = "$got_smtpd" ]
	ok_if "$name: Exim and smtpd write the same dkim= result" $? \
	    "Exim:  $got_exim" "smtpd: $got_smtpd"
	[ -n "$got_exim" ] && [ "$got_exim" = "$cli" ]
	ok_if "$name: the same as dkimkit verify renders" $? \
	    "Exim:    $got_exim" "dkimkit: $cli" "$(head -c 400 "$name.json")"
	a=$(printf '%s\n' "$got_exim" | canon)
	b=$(printf '%s\n' "$got_dove" | canon)
	[ -n "$got_exim" ] && [ -n "$got_dove" ] && [ "$a" = "$b" ]
	ok_if "$name: Dovecot's verdict, reason and signature are the same" \
	    $? "Exim:    $got_exim" "Dovecot: $got_dove" "as $a" "vs $b"
	printf '%s\n' "$got_exim" | grep -Eqx -- "$want"
	ok_if "$name: the verdict is the expected one" $? \
	    "got:  $got_exim" "want: $want"
done <<'CASES'
control|dkim=pass header\.d=example\.test header\.i=@example\.test header\.s=rsa header\.a=rsa-sha256 header\.b=[^ ]+ \(good signature[^)]*\)
fields|dkim=permerror reason="header block over the limit of 20000 fields"
bytes|dkim=permerror reason="header block over the limit of 4194304 octets"
CASES

done_testing
