#!/bin/bash
# The atps and atps-adsp words of the Exim module (the settings every
# host shares): a real Exim daemon on loopback verifies in acl_smtp_data
# a message that signer.test signed for author.test, whose ATPS record
# (RFC 6541) and ADSP dkim=all are served by an unbound on loopback; swaks
# sends it.  With atps the delivered message's A-R field says
# dkim-atps=pass header.from=author.test and ADSP passes on the
# authorized signature (RFC 6541 6); so it does with the old word
# atps-adsp, now the same as atps; without either word
# there is no dkim-atps entry.  Read back with python3-authres.
# Needs root (exim4 -C), exim4-daemon-heavy, swaks, unbound, ldnsutils.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/exim.sh"
. "$TOP_SRCDIR/tests/lib/mail.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY="${PYTHON:-/usr/bin/python3}"
exim_check || skip_all "$EXIM_WHY"
for prog in swaks unbound ldns-read-zone; do
	have "$prog" || skip_all "$prog is not installed"
done
have python3:authres || skip_all "python3-authres is not installed"
BUILT="$TOP_BUILDDIR/plugins/exim/.libs/dkimkit_exim.so"
[ -f "$BUILT" ] || skip_all "$BUILT not built (exim4-dev missing at configure time?)"
exim_module "$TMPD" "$BUILT" || bail_out "$EXIM_WHY"

"$DKIMKIT" keygen --algorithm ed25519 --domain signer.test --selector sel \
    --out signer.pem > dns.zone || bail_out "keygen"
"$DKIMKIT" key atps-record --domain author.test --signer signer.test \
    --hash sha256 >> dns.zone || bail_out "atps-record"
cat >> dns.zone <<'ZONE'
author.test. 300 IN A 127.0.0.1
_adsp._domainkey.author.test. 300 IN TXT "dkim=all"
ZONE
unbound_start dns.zone || bail_out "unbound did not start"
DNS="127.0.0.1@$UNBOUND_PORT"

printf 'From: Al <al@author.test>\nTo: bob@example.net\nSubject: atps\nMessage-ID: <%s@author.test>\n\nHello Bob.\n' \
    "$RANDOM" | "$DKIMKIT" sign --key signer.pem --domain signer.test \
    --selector sel --atps author.test | tr -d '\r' > signed.eml ||
    bail_out "sign"

# run NAME WORDS: a daemon whose verify has these extra words gets
# signed.eml; prints the delivered message's A-R results, one
# "method=result header.from" a line, parsed with python3-authres.
run()
{
	local d="$TMPD/$1" i f

	exim_conf "$d" "  warn remove_header = Authentication-Results
  warn add_header = \${dlfunc{$SO}{verify}{mx.test}{adsp}$2{dns=$DNS}}"
	exim_start "$d" || { tap_diag "exim $1 did not start"; return 1; }
	swaks_send "$PORT" signed.eml "$TMPD/swaks-$1.out" --helo client.test \
	    --from al@author.test --to bob@example.net
	for ((i = 0; i < 200; i++)); do
		f=$(ls "$d"/mail/new/* 2>/dev/null | head -n 1)
		[ -n "$f" ] && break
		sleep 0.1
	done
	[ -n "$f" ] || { tap_diag_file "$d/log/mainlog"; return 1; }
	"$PY" - "$f" <<'PYEOF'
import authres, email, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"))
h = authres.AuthenticationResultsHeader.parse(
    "Authentication-Results: " + m["Authentication-Results"])
for r in h.results:
    print("%s=%s %s" % (r.method, r.result, " ".join(
        "%s.%s=%s" % (p.type, p.name, p.value) for p in r.properties
        if p.name == "from")))
PYEOF
}

run atps "{atps}" > atps.txt
grep -qx 'dkim-atps=pass header.from=author.test' atps.txt &&
    grep -qx 'dkim-adsp=pass header.from=author.test' atps.txt
ok_if "atps: dkim-atps=pass; ADSP counts it (RFC 6541 6)" $? \
    "$(cat atps.txt)"
run atpsadsp "{atps-adsp}" > atpsadsp.txt
grep -qx 'dkim-atps=pass header.from=author.test' atpsadsp.txt &&
    grep -qx 'dkim-adsp=pass header.from=author.test' atpsadsp.txt
ok_if "atps-adsp (now atps): the authorized signature counts for ADSP" $? \
    "$(cat atpsadsp.txt)"
run plain "" > plain.txt
grep -q '^dkim=pass' plain.txt && ! grep -q atps plain.txt
ok_if "without the words: dkim=pass and no dkim-atps entry" $? \
    "$(cat plain.txt)"

done_testing
