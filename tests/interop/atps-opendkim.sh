#!/bin/bash
# ATPS (RFC 6541) against opendkim 2.11, built with _FFR_ATPS, under
# miltertest, in both directions, its DNS answers coming from a loopback
# unbound (through its ResolverConfiguration, an unbound configuration
# that forwards everything there).
#   dkimkit signs (sign --atps AUTHOR --atps-hash sha1), opendkim and
#   dkimkit verify: their dkim-atps results must agree;
#   opendkim signs (ATPSDomains, ATPSHashAlgorithm sha1), dkimkit verifies.
# Where opendkim 2.11 departs from the RFC, dkimkit's result must be the
# RFC's and the difference is said on stderr (never counted as agreement):
#   - it takes a record only when it is exactly "v=ATPS1", so the record
#     opendkim-atpszone itself writes ("v=ATPS1; d=SIGNER") fails;
#   - atpsh=sha256: it asks for the base32 label with its "=" padding
#     (RFC 6541 leaves the padding out), so no sha256 record is found;
#   - atpsh=none: it aborts (glibc: "buffer overflow detected"), so that
#     case is not sent to it.
. "$(dirname "$0")/common.bash"

tmpdir
cd "$TMPD" || bail_out "no temp dir"
if ! need_dkimkit || ! need opendkim miltertest unbound ldns-read-zone \
    opendkim-genkey python3:authres; then
	done_testing
	exit 0
fi
if ! opendkim -V 2>&1 | grep -q '_FFR_ATPS'; then
	skip_all "this opendkim is built without _FFR_ATPS: no ATPS to compare"
fi

"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain signer.example \
    --selector r1 --out r1.pem > zone || bail_out "keygen"
opendkim-genkey -b 1024 -d signer.example -s og -D "$TMPD" ||
    bail_out "opendkim-genkey"
chmod 600 og.private
{
	printf '$ORIGIN signer.example.\n'
	cat og.txt
	printf '$ORIGIN .\n'
	# exact.example: the one form opendkim 2.11 accepts
	"$DKIMKIT" key atps-record --domain exact.example \
	    --signer signer.example --hash sha1 | sed 's/; d=signer.example//'
	# dtag.example: the RFC's optional d=, as opendkim-atpszone writes it
	"$DKIMKIT" key atps-record --domain dtag.example \
	    --signer signer.example --hash sha1
	"$DKIMKIT" key atps-record --domain s256.example \
	    --signer signer.example --hash sha256
} >> zone || bail_out "zone"

unbound_start "$TMPD/zone" || bail_out "unbound did not start"
cat > ub.conf <<EOF
server:
	do-not-query-localhost: no
forward-zone:
	name: "."
	forward-addr: 127.0.0.1@$UNBOUND_PORT
EOF
cat > odv.conf <<EOF
Mode			v
Syslog			no
ResolverConfiguration	$TMPD/ub.conf
AuthservID		mx.test
AlwaysAddARHeader	yes
EOF
printf 'signer signer.example:og:%s/og.private\n' "$TMPD" > KeyTable
printf '*@exact.example signer\n*@dtag.example signer\n' > SigningTable
cat > ods.conf <<EOF
Mode			s
Syslog			no
ResolverConfiguration	$TMPD/ub.conf
KeyTable		file:$TMPD/KeyTable
SigningTable		refile:$TMPD/SigningTable
RequireSafeKeys		no
Canonicalization	relaxed/relaxed
ATPSDomains		csl:exact.example,dtag.example
ATPSHashAlgorithm	sha1
EOF

# feed.lua: MSG (a path) through the opendkim at SOCK from 127.0.0.1;
# prints "AR: <its A-R field>" and "SIG: <its DKIM-Signature field>".
cat > feed.lua <<'EOF'
local fh = assert(io.open(MSG, "rb"))
local data = fh:read("*a"):gsub("\r\n", "\n")
fh:close()
local head, body = data:match("^(.-)\n\n(.*)$")
local conn = mt.connect(SOCK, 40, 0.25)
if conn == nil then error("no connection to opendkim") end
mt.conninfo(conn, "localhost", "127.0.0.1")
mt.macro(conn, SMFIC_MAIL, "i", "Q1")
mt.mailfrom(conn, "<al@author.example>")
mt.rcptto(conn, "<bob@dest.example>")
local name, value
for line in (head .. "\n"):gmatch("(.-)\n") do
	if line:match("^[ \t]") then
		value = value .. "\r\n" .. line
	else
		if name then mt.header(conn, name, value) end
		name, value = line:match("^([^:]+):[ \t]?(.*)$")
	end
end
if name then mt.header(conn, name, value) end
mt.eoh(conn)
mt.bodystring(conn, (body:gsub("\n", "\r\n")))
mt.eom(conn)
mt.echo("AR: " .. tostring(mt.getheader(conn, "Authentication-Results", 0)))
mt.echo("SIG: " .. tostring(mt.getheader(conn, "DKIM-Signature", 0)))
mt.disconnect(conn)
EOF

# opendkim_run CONF MSG: opendkim with CONF over MSG; output in od.out.
opendkim_run()
{
	{
		printf 'MSG = "%s"\nSOCK = "local:%s/od.sock"\n' "$2" "$TMPD"
		printf 'mt.startfilter("%s", "-f", "-x", "%s", "-p", SOCK)\n' \
		    "$(command -v opendkim)" "$1"
		cat feed.lua
	} > run.lua
	timeout 120 miltertest -s run.lua > od.out 2>&1
}

# ar_atps FILE: the dkim-atps result of the A-R field in FILE ("AR: ..."
# lines, or a verify --json line), read with python3-authres; "-" none.
ar_atps()
{
	"$PYTHON" - "$1" <<'PYEOF'
import authres, json, sys
text = open(sys.argv[1]).read()
if text.startswith("{"):
    ar = json.loads(text.splitlines()[0])["authentication_results"]
else:
    ar = text.split("AR: ", 1)[1].split("\nSIG: ")[0]
h = authres.AuthenticationResultsHeader.parse("Authentication-Results: " + ar)
r = [x.result for x in h.results if x.method == "dkim-atps"]
print(r[0] if r else "-")
PYEOF
}

dk_atps()
{
	"$DKIMKIT" verify --zone zone --atps --json "$1" > dk.json
	ar_atps dk.json
}

# --- dkimkit signs, both verify -------------------------------------------
# to_opendkim AUTHOR HASH RFC AGREE: a message From AUTHOR signed with
# atps=AUTHOR atpsh=HASH; dkimkit must say RFC; opendkim must say the
# same when AGREE is "agree", else its word is reported.
to_opendkim()
{
	local author="$1" hash="$2" rfc="$3" agree="$4" dk od
	printf 'From: Al <al@%s>\nTo: bob@dest.example\nSubject: atps\n\nhello\n' \
	    "$author" > "m-$author-$hash.eml"
	"$DKIMKIT" sign --key r1.pem --domain signer.example --selector r1 \
	    --atps "$author" --atps-hash "$hash" "m-$author-$hash.eml" \
	    > "s-$author-$hash.eml" || bail_out "sign"
	dk=$(dk_atps "s-$author-$hash.eml")
	[ "$dk" = "$rfc" ]
	ok_if "dkimkit: $author atpsh=$hash: dkim-atps=$rfc" $? "got $dk"
	[ "$hash" = none ] && return
	opendkim_run "$TMPD/odv.conf" "$TMPD/s-$author-$hash.eml" ||
	    { not_ok "opendkim ran on $author" "$(cat od.out)"; return; }
	grep -q 'dkim=pass' od.out ||
	    { not_ok "opendkim verifies dkimkit's signature" "$(cat od.out)"
	      return; }
	od=$(ar_atps od.out)
	if [ "$agree" = agree ]; then
		[ "$od" = "$dk" ]
		ok_if "opendkim agrees: $author atpsh=$hash: dkim-atps=$od" \
		    $? "dkimkit $dk, opendkim $od"
	else
		tap_diag "opendkim 2.11 says dkim-atps=$od for $author" \
		    "atpsh=$hash where RFC 6541 (and dkimkit) say $rfc: $agree"
	fi
}

to_opendkim exact.example sha1 pass agree
to_opendkim nowhere.example sha1 fail agree
to_opendkim dtag.example sha1 pass \
    "it compares the whole record with \"v=ATPS1\", d= tag and all"
to_opendkim s256.example sha256 pass \
    "it keeps the base32 padding in the label"
tap_diag "atpsh=none is not sent to opendkim 2.11: it aborts on it" \
    "(glibc: buffer overflow detected)"

# --- opendkim signs, dkimkit verifies -------------------------------------
for author in exact.example dtag.example; do
	printf 'From: Al <al@%s>\nTo: bob@dest.example\nSubject: atps\n\nhello\n' \
	    "$author" > "o-$author.eml"
	opendkim_run "$TMPD/ods.conf" "$TMPD/o-$author.eml" ||
	    { not_ok "opendkim signs for $author" "$(cat od.out)"; continue; }
	sig=$(sed -n '/^SIG: /,$p' od.out | sed '1s/^SIG: *//')
	case "$sig" in
	*"atps=$author;"*"atpsh=sha1"* | *"atpsh=sha1;"*"atps=$author;"*)
		ok "opendkim signs for $author with atps= and atpsh=sha1" ;;
	*)
		not_ok "opendkim signs for $author with atps= and atpsh=sha1" \
		    "$sig"; continue ;;
	esac
	{ printf 'DKIM-Signature: %s\n' "$sig"; cat "o-$author.eml"; } \
	    > "os-$author.eml"
	dk=$(dk_atps "os-$author.eml")
	grep -q '"result":"pass"' dk.json && [ "$dk" = pass ]
	ok_if "dkimkit: opendkim's signature for $author: dkim=pass, dkim-atps=pass" \
	    $? "dkim-atps=$dk: $(cat dk.json)"
done
# and opendkim on its own signature with the exact record, which it takes
opendkim_run "$TMPD/odv.conf" "$TMPD/os-exact.example.eml"
od=$(ar_atps od.out)
[ "$od" = pass ]
ok_if "opendkim verifies its own ATPS signature: dkim-atps=pass" $? \
    "$(cat od.out)"

done_testing
