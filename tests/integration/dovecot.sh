#!/bin/bash
# The Sieve extension "vnd.dkimkit" in the real Pigeonhole: sieve-test for
# each form of the dkim and dkim_adsp tests, dovecot-lda filing mail, a
# running Dovecot LMTP listener on loopback fed by swaks, and an
# unreachable resolver giving temperror while mail is still delivered.
# DMARC and ARC: a p=reject message that a trusted forwarder relayed
# with a footer and sealed gets dmarc :disposition "none" (the local
# policy override, RFC 8617 7.2) and arc :trusted "pass", at sieve-test
# and at real LMTP deliveries; relayed by an untrusted sealer, "reject".
# Dovecot's mail processes run as nobody; keys come from a zone file
# (dkimkit_zone) or a loopback unbound (dkimkit_dns).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
. "$TOP_SRCDIR/tests/lib/dovecot.sh"

LDA=/usr/lib/dovecot/dovecot-lda
PLUGDIR="$TOP_BUILDDIR/plugins/dovecot/.libs"
PY="${PYTHON:-/usr/bin/python3}"

[ "$(id -u)" -eq 0 ] ||
    skip_all "needs root: Dovecot runs as nobody here and as root for LMTP"
for prog in sieve-test sievec sieve-dump dovecot doveadm swaks runuser; do
	have "$prog" || skip_all "$prog is not installed"
done
[ -x "$LDA" ] || skip_all "$LDA is not installed (dovecot-core)"
[ -f "$PLUGDIR/lib90_sieve_dkimkit_plugin.so" ] ||
    skip_all "plugin not built (configure found no dovecot-dev/dovecot-sieve?)"

tmpdir
chmod 755 "$TMPD"
cd "$TMPD" || bail_out "no temp dir"
# Dovecot loads the plugin as nobody: from here, not from the checkout,
# which may be closed to nobody (tests/lib/install.sh).
install_for_servers "$TMPD/plugins" "$PLUGDIR/lib90_sieve_dkimkit_plugin.so" ||
    bail_out "cannot install the plugin in $TMPD/plugins"
PLUGDIR="$TMPD/plugins"
mkdir msg st home lda lmtp
chown nobody:nogroup st home lda lmtp

# A plugin built with the sanitizers (build/asan) needs their runtime in
# the uninstrumented Dovecot that loads it.  Dovecot re-executes itself
# through doveconf keeping only import_environment, so every configuration
# here imports LD_PRELOAD (leaks off: Dovecot's own would be reported) and
# lifts the services' memory limit (ASan reserves its shadow memory), and
# sieve-test gets a configuration of its own that includes the system's.
SAN_CONF=
SIEVE_CONF=()
rt=$(san_runtime "$PLUGDIR/lib90_sieve_dkimkit_plugin.so") ||
    bail_out "sanitizer build but no shared ASan runtime"
if [ -n "$rt" ]; then
	SAN_CONF="import_environment = TZ LD_PRELOAD=$rt ASAN_OPTIONS=detect_leaks=0
default_vsz_limit = 0"
	printf '!include_try /etc/dovecot/dovecot.conf\n%s\n' "$SAN_CONF" \
	    > sieve-test.conf
	SIEVE_CONF=(-c "$TMPD/sieve-test.conf")
	tap_diag "sanitizers: $rt preloaded into Dovecot"
fi

# Keys and policies.  bank.example: ADSP discardable; strict.example: ADSP
# all; loose.example: ADSP unknown; plain.example exists without ADSP;
# nowhere.example does not exist.
for d in bank.example lists.example; do
	"$DKIMKIT" keygen --algorithm ed25519 --domain $d --selector s1 \
	    --out "$d.pem" >> keys.zone || bail_out "keygen $d"
done
cat >> keys.zone <<'ZONE'
bank.example. 300 IN A 127.0.0.1
_adsp._domainkey.bank.example. 300 IN TXT "dkim=discardable"
strict.example. 300 IN A 127.0.0.1
_adsp._domainkey.strict.example. 300 IN TXT "dkim=all"
plain.example. 300 IN A 127.0.0.1
loose.example. 300 IN A 127.0.0.1
_adsp._domainkey.loose.example. 300 IN TXT "dkim=unknown"
lists.example. 300 IN A 127.0.0.1
_report._domainkey.bank.example. 300 IN TXT "ra=dkim-reports; rr=all"
ZONE
ZONE="$TMPD/keys.zone"

# mk NAME FROM SUBJECT: an unsigned message msg/NAME.eml.
mk()
{
	printf 'From: %s\nTo: user@example.net\nSubject: %s\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@example.net>\n\nhello %s\n' \
	    "$2" "$3" "$1" "$1" > "msg/$1.eml"
}

# sign IN OUT DOMAIN: sign msg/IN.eml with DOMAIN's key into msg/OUT.eml.
sign()
{
	"$DKIMKIT" sign --key "$3.pem" --domain "$3" --selector s1 \
	    "msg/$1.eml" > "msg/$2.eml" || bail_out "sign $1 for $3"
}

mk unsigned 'Bank <info@bank.example>' 'unsigned bank mail'
mk bank 'Bank <info@bank.example>' 'signed bank mail'
sign bank pass bank.example
sed 's/^hello bank/hello tampered/' msg/pass.eml > msg/fail.eml
# The same asking for failure reports (r=y, RFC 6651), tampered.
"$DKIMKIT" sign --report-request --key bank.example.pem \
    --domain bank.example --selector s1 msg/bank.eml |
    sed 's/^hello bank/hello tampered/' > msg/rfail.eml ||
    bail_out "sign rfail"
# A list post: the bank's signature broken by a footer, then the list's.
{ cat msg/pass.eml; printf -- '-- \nlist footer\n'; } > msg/footer.eml
sign footer two lists.example
mk listpost 'Someone <someone@plain.example>' 'list post'
sign listpost list lists.example
# Issue #27: the forger signs with its own lists.example and names the
# bank as a second author, or leaves its '<' open: still discard.
mk twoaddr '<someone@lists.example>, "Bank" <info@bank.example>' 'two'
sign twoaddr twoauthors lists.example
mk unclosed '<someone@lists.example>, "Bank" <info@bank.example' 'open'
sign unclosed openangle lists.example
# Two unusable signatures: one with d= but no b=, one without even d=.
{
	printf 'DKIM-Signature: v=1; a=ed25519-sha256; d=bank.example; s=s1\n'
	printf 'DKIM-Signature: v=1; garbage\n'
	cat msg/bank.eml
} > msg/broken.eml
mk strict 'S <s@strict.example>' 'strict unsigned'
mk plain 'P <p@plain.example>' 'plain unsigned'
mk loose 'L <l@loose.example>' 'loose unsigned'
mk nowhere 'N <n@nowhere.example>' 'nowhere unsigned'
# The forgery padded past the core's limit of header fields (20000): a
# verdict (permerror), never filed better than the unpadded forgery.
{
	awk 'BEGIN { for (i = 0; i < 20001; i++) print "X-Pad: " i }'
	cat msg/unsigned.eml
} > msg/padded.eml
# DMARC and ARC (issues #20, #21).  bank.example publishes p=reject,
# q.example and spfonly.example p=quarantine; fwd.example is a forwarder
# that seals (RFC 8617); mx.example.net is the MTA in front of this
# Dovecot, the trusted authserv-id, whose Authentication-Results field
# carries the SPF result of the connection that is gone at delivery.
"$DKIMKIT" keygen --algorithm ed25519 --domain fwd.example --selector s1 \
    --out fwd.example.pem >> keys.zone || bail_out "keygen fwd.example"
cat >> keys.zone <<'ZONE'
_dmarc.bank.example. 300 IN TXT "v=DMARC1; p=reject"
q.example. 300 IN A 127.0.0.1
_dmarc.q.example. 300 IN TXT "v=DMARC1; p=quarantine"
spfonly.example. 300 IN A 127.0.0.1
_dmarc.spfonly.example. 300 IN TXT "v=DMARC1; p=quarantine"
fwd.example. 300 IN A 127.0.0.1
trial.example. 300 IN A 127.0.0.1
_dmarc.trial.example. 300 IN TXT "v=DMARC1; p=reject; t=y"
ZONE
# ar NAME IN FIELD...: msg/IN.eml with Authentication-Results fields on
# top (the first given is the topmost), as msg/NAME.eml.
ar()
{
	local name="$1" in="$2" f

	shift 2
	{
		for f in "$@"; do
			printf 'Authentication-Results: %s\n' "$f"
		done
		cat "msg/$in.eml"
	} > "msg/$name.eml"
}
mk quarantine 'Q <news@q.example>' 'q.example, unsigned'
mk spfonly 'S <news@spfonly.example>' 'spfonly.example, unsigned'
# t=y: a policy being tried, applied one level less (RFC 9989).
mk trial 'T <news@trial.example>' 'trial.example, unsigned'
ar arpass pass 'mx.example.net; spf=pass smtp.mailfrom=info@bank.example'
ar spfalign spfonly \
    'mx.example.net; spf=pass smtp.mailfrom=bounce@spfonly.example'
ar spfhelo spfonly 'mx.example.net; spf=pass smtp.helo=spfonly.example'
# Only a field of another authserv-id: never trusted.
ar untrusted spfonly \
    'evil.example; spf=pass smtp.mailfrom=bounce@spfonly.example'
# The untrusted field on top, then ours, then an older one of ours: the
# topmost field of the trusted id counts, and nothing else.
ar topmost spfonly \
    'evil.example; spf=pass smtp.mailfrom=bounce@spfonly.example' \
    'MX.example.net; spf=fail smtp.mailfrom=bounce@spfonly.example' \
    'mx.example.net; spf=pass smtp.mailfrom=bounce@spfonly.example'
ar oldword spfonly \
    'mx.example.net; spf=hardfail smtp.mailfrom=bounce@spfonly.example'
# Fields the parser stops in: what it read whole counts (a result word,
# a property with its value), nothing else.
ar cutprop spfonly 'mx.example.net; spf=pass smtp.mailfrom'
ar cutres spfonly 'mx.example.net; spf'
ar cutlater spfonly \
    'mx.example.net; dkim=none; spf=pass smtp.mailfrom=b@spfonly.example; ='
ar spftemp spfonly \
    'mx.example.net; spf=temperror smtp.mailfrom=bounce@spfonly.example'
# A q.example post through fwd.example: its list footer breaks nothing
# DKIM could check (unsigned), fwd.example seals what it passed on.
"$DKIMKIT" seal --key fwd.example.pem --domain fwd.example --selector s1 \
    --authserv-id fwd.example --zone keys.zone msg/quarantine.eml \
    > msg/sealed.eml || bail_out "seal quarantine"
sed 's/^hello quarantine/hello changed/' msg/sealed.eml > msg/sealbroken.eml
# The bank's p=reject mail through a forwarder that verified it as it
# came (--received: dkim=pass in its AAR), added a footer and sealed:
# by the trusted fwd.example (relayed) and by lists.example, which no
# configuration here trusts (relayedother).
{ cat msg/pass.eml; printf -- '-- \nforwarded by a list\n'; } \
    > msg/pass-footer.tmp
"$DKIMKIT" seal --key fwd.example.pem --domain fwd.example --selector s1 \
    --authserv-id fwd.example --zone keys.zone --received msg/pass.eml \
    msg/pass-footer.tmp > msg/relayed.eml || bail_out "seal relayed"
"$DKIMKIT" seal --key lists.example.pem --domain lists.example \
    --selector s1 --authserv-id lists.example --zone keys.zone \
    --received msg/pass.eml msg/pass-footer.tmp > msg/relayedother.eml ||
    bail_out "seal relayedother"
rm -f msg/pass-footer.tmp
# bank.example's (p=reject) tampered message, sealed by fwd.example as
# it came: the chain passes, DMARC fails, fwd.example recorded no pass.
"$DKIMKIT" seal --key fwd.example.pem --domain fwd.example --selector s1 \
    --authserv-id fwd.example --zone keys.zone msg/fail.eml \
    > msg/sealreject.eml || bail_out "seal fail"
# Each final message gets its name in an unsigned field on top (no
# signature covers it), to find it in the maildirs.
for f in msg/*.eml; do
	n=${f#msg/}
	{ printf 'X-Test: %s\n' "${n%.eml}"; cat "$f"; } > "$f.new" &&
	    mv "$f.new" "$f"
done
chmod -R a+rX "$TMPD"

# ---------------------------------------------------------------------
# 1. sieve-test: each form of the tests.

# The trace (on stdout) runs the plugin's trace lines too.
TRACE=(-t - -T level=matching)
SIEVE_TRUSTED=(-o "plugin/dkimkit_zone=$ZONE"
    -o "plugin/dkimkit_trusted_authserv_id=mx.example.net"
    -o "plugin/dkimkit_trusted_sealers=other.example, fwd.example")
SIEVE_OPTS=("${SIEVE_TRUSTED[@]}")
NCASE=0

# sieve_run SCRIPT MESSAGE: sieve-test as nobody with the plugin.
sieve_run()
{
	runuser -u nobody -- env HOME="$TMPD/home" sieve-test \
	    ${SIEVE_CONF[@]+"${SIEVE_CONF[@]}"} \
	    -P "$PLUGDIR/sieve_dkimkit" -x "+vnd.dkimkit" "${TRACE[@]}" \
	    "${SIEVE_OPTS[@]}" "$1" "$2"
}

# sieve_case WANT MESSAGE TEST: ok when "if TEST" is WANT (true or false)
# for msg/MESSAGE.eml.
sieve_case()
{
	local want="$1" msg="$2" test="$3" script got=false st=0

	NCASE=$((NCASE + 1))
	script="$TMPD/st/case$NCASE.sieve"
	printf 'require ["vnd.dkimkit", "fileinto", "variables"];\nif %s { fileinto "yes"; }\n' \
	    "$test" > "$script"
	chown nobody "$script"
	tap_run sieve_run "$script" "msg/$msg.eml" || st=$?
	if [ "$st" -ne 0 ]; then
		not_ok "$msg: $test is $want" "sieve-test failed"
		tap_explain "$st" sieve_run "$script" "msg/$msg.eml"
		return
	fi
	grep -q 'store message in folder: yes$' "$TAP_OUT" && got=true
	if [ "$got" = "$want" ]; then
		ok "$msg: $test is $want"
	else
		not_ok "$msg: $test is $want" "got $got"
		tap_explain "$st" sieve_run "$script" "msg/$msg.eml"
	fi
}

while IFS='|' read -r want msg test; do
	[ -n "$want" ] || continue
	sieve_case "$want" "$msg" "$test"
done <<'CASES'
true|pass|dkim "pass"
false|pass|dkim ["fail", "none"]
true|fail|dkim "fail"
false|fail|dkim "pass"
true|unsigned|dkim "none"
false|unsigned|dkim ["pass", "fail"]
true|pass|dkim "PASS"
false|pass|dkim :comparator "i;octet" "PASS"
true|pass|dkim :is :comparator "i;octet" "pass"
true|pass|dkim :matches "p*"
false|pass|dkim :matches "f*"
true|fail|dkim :matches "?ai?"
true|pass|dkim :contains "as"
false|pass|dkim :contains "ai"
true|pass|dkim :domain "bank.example" "pass"
true|pass|dkim :domain "BANK.Example." "pass"
true|pass|dkim :domain "other.example" "none"
false|pass|dkim :domain "other.example" "pass"
true|two|dkim :domain "lists.example" "pass"
true|two|dkim :domain "bank.example" "fail"
false|two|dkim :domain "bank.example" "pass"
true|two|dkim :domain ["nope.example", "bank.example"] "fail"
true|two|dkim "pass"
true|two|dkim "fail"
true|two|dkim :domain "lists.example" :matches "pa*"
false|two|dkim :domain "lists.example" :contains "ai"
true|unsigned|dkim :domain "bank.example" "none"
true|broken|dkim "permerror"
false|broken|dkim ["pass", "none"]
true|broken|dkim :domain "bank.example" "permerror"
true|broken|dkim :domain "lists.example" "none"
true|pass|dkim_adsp "pass"
true|unsigned|dkim_adsp "discard"
true|fail|dkim_adsp "discard"
true|strict|dkim_adsp "fail"
true|plain|dkim_adsp "none"
true|loose|dkim_adsp "unknown"
true|nowhere|dkim_adsp "nxdomain"
false|unsigned|dkim_adsp "pass"
true|unsigned|dkim_adsp :matches "dis*"
true|strict|dkim_adsp :contains "ai"
false|strict|dkim_adsp :comparator "i;octet" "FAIL"
true|list|allof(dkim :domain "lists.example" "pass", dkim_adsp "none")
true|padded|dkim "permerror"
false|padded|dkim ["none", "temperror"]
true|padded|dkim :domain "bank.example" "permerror"
true|padded|dkim_adsp "permerror"
true|twoauthors|dkim "pass"
true|twoauthors|dkim_adsp "discard"
false|twoauthors|dkim_adsp "pass"
true|openangle|dkim_adsp "discard"
CASES

# dmarc, spf and arc (the trusted authserv-id and sealer are set above).
while IFS='|' read -r want msg test; do
	[ -n "$want" ] || continue
	sieve_case "$want" "$msg" "$test"
done <<'CASES'
true|arpass|dmarc "pass"
true|arpass|spf "pass"
true|arpass|dmarc :disposition "none"
true|pass|dmarc "pass"
true|pass|spf "none"
true|unsigned|dmarc "fail"
true|unsigned|dmarc :disposition "reject"
false|unsigned|dmarc :disposition "quarantine"
true|fail|dmarc "fail"
true|quarantine|dmarc "fail"
true|quarantine|dmarc :disposition "quarantine"
true|quarantine|dmarc :disposition :matches "q*"
false|quarantine|dmarc :disposition :comparator "i;octet" "QUARANTINE"
true|trial|dmarc "fail"
true|trial|dmarc :disposition "quarantine"
false|trial|dmarc :disposition "reject"
true|plain|dmarc "none"
true|plain|dmarc :disposition "none"
true|nowhere|dmarc "none"
true|spfalign|dmarc "pass"
true|spfalign|spf "pass"
true|spfalign|dkim "none"
true|spfhelo|spf "pass"
true|spfhelo|dmarc "fail"
true|untrusted|spf "none"
true|untrusted|dmarc "fail"
true|untrusted|dmarc :disposition "quarantine"
true|topmost|spf "fail"
true|topmost|dmarc "fail"
true|oldword|spf "fail"
true|spftemp|spf "temperror"
true|cutprop|spf "pass"
true|cutprop|dmarc "fail"
true|cutres|spf "none"
true|cutlater|spf "pass"
true|cutlater|dmarc "pass"
false|spftemp|dmarc "pass"
true|padded|dmarc "permerror"
true|sealed|arc "pass"
true|sealed|arc :sealer "fwd.example" "pass"
true|sealed|arc :sealer ["other.example", "FWD.example."] "pass"
true|sealed|arc :sealer "other.example" "none"
false|sealed|arc :sealer "other.example" "pass"
true|sealed|arc :trusted "pass"
true|sealed|dmarc :disposition "quarantine"
true|sealed|allof(dmarc "fail", arc :trusted "pass")
true|sealbroken|arc "fail"
true|sealbroken|arc :trusted "fail"
false|sealbroken|arc :sealer "fwd.example" "pass"
true|pass|arc "none"
true|pass|arc :trusted "none"
true|relayed|dkim :domain "bank.example" "fail"
true|relayed|dmarc "fail"
true|relayed|dmarc :disposition "none"
false|relayed|dmarc :disposition ["quarantine", "reject"]
true|relayed|arc :trusted "pass"
true|relayed|arc :sealer "fwd.example" "pass"
true|relayed|allof(dmarc "fail", dmarc :disposition "none", arc :trusted "pass")
true|relayedother|dmarc "fail"
true|relayedother|arc "pass"
true|relayedother|arc :trusted "none"
true|relayedother|dmarc :disposition "reject"
CASES

# dkimkit_arc_forwarded: forwarded mail (a chain that passes, no trusted
# sealer vouching) gets quarantine where DMARC said reject; without a
# chain, or without the setting, reject stays.
sieve_case true sealreject 'allof(dmarc "fail", arc "pass", arc :trusted "pass")'
sieve_case true sealreject 'dmarc :disposition "reject"'
SIEVE_OPTS=("${SIEVE_TRUSTED[@]}" -o "plugin/dkimkit_arc_forwarded=yes")
sieve_case true sealreject 'dmarc :disposition "quarantine"'
grep -q 'dkimkit: .*dmarc=fail (bank.example, policy reject, disposition quarantine, local_policy for forwarded mail, latest sealer fwd.example)' \
    "$TAP_ERR"
ok_if "dkimkit_arc_forwarded: the log line names the override" $? \
    "$(cat "$TAP_ERR")"
sieve_case true sealreject 'dmarc "fail"'
sieve_case true unsigned 'dmarc :disposition "reject"'
sieve_case true sealed 'dmarc :disposition "quarantine"'
SIEVE_OPTS=(-o "plugin/dkimkit_zone=$ZONE" -o "plugin/dkimkit_dmarc=no"
    -o "plugin/dkimkit_arc_forwarded=yes")
sieve_case true sealreject 'dmarc "temperror"'
grep -q "vnd.dkimkit: dkimkit_arc_forwarded: lowers a DMARC disposition: turn on dkimkit_dmarc" \
    "$TAP_ERR"
ok_if "dkimkit_arc_forwarded without dkimkit_dmarc is logged at load" $? \
    "$(cat "$TAP_ERR")"
SIEVE_OPTS=("${SIEVE_TRUSTED[@]}")

# No trusted authserv-id configured: the same field gives nothing; no
# trusted sealer: :trusted vouches for nothing.
SIEVE_OPTS=(-o "plugin/dkimkit_zone=$ZONE")
sieve_case true arpass 'spf "none"'
sieve_case true spfalign 'dmarc "fail"'
sieve_case true sealed 'arc :trusted "none"'
sieve_case true sealed 'arc "pass"'
sieve_case true relayed 'dmarc :disposition "reject"'
sieve_case true relayed 'arc :trusted "none"'
# DMARC and ARC turned off: their tests see none.
SIEVE_OPTS=(-o "plugin/dkimkit_zone=$ZONE" -o "plugin/dkimkit_dmarc=no"
    -o "plugin/dkimkit_arc=no")
sieve_case true unsigned 'dmarc "none"'
sieve_case true sealed 'arc "none"'
# dkimkit_explain: the log line names the class of the failure; the
# verdict stays fail.
SIEVE_OPTS=(-o "plugin/dkimkit_zone=$ZONE" -o "plugin/dkimkit_explain=yes")
sieve_case true fail 'dkim "fail"'
grep -q 'dkimkit: .*\[fail d=bank.example .*; body-changed' "$TAP_ERR"
ok_if "dkimkit_explain: the log line says body-changed" $? \
    "$(cat "$TAP_ERR")"
SIEVE_OPTS=(-o "plugin/dkimkit_zone=$ZONE" -o "plugin/dkimkit_explain=maybe")
sieve_case true fail 'dmarc "temperror"'
grep -q "vnd.dkimkit: dkimkit_explain: 'maybe' is not yes or no" "$TAP_ERR"
ok_if "bad dkimkit_explain is logged at load" $? "$(cat "$TAP_ERR")"
SIEVE_OPTS=(-o "plugin/dkimkit_zone=$ZONE"
    -o "plugin/dkimkit_trusted_authserv_id=two words")
sieve_case true arpass 'spf "temperror"'
grep -q "vnd.dkimkit: dkimkit_trusted_authserv_id: 'two words' holds a space" \
    "$TAP_ERR"
ok_if "bad dkimkit_trusted_authserv_id is logged at load" $? \
    "$(cat "$TAP_ERR")"
SIEVE_OPTS=(-o "plugin/dkimkit_zone=$ZONE"
    -o "plugin/dkimkit_trusted_sealers=fwd.example, bad_name")
sieve_case true sealed 'arc :trusted "temperror"'
grep -q "vnd.dkimkit: dkimkit_trusted_sealers: 'bad_name' is not a domain" \
    "$TAP_ERR"
ok_if "bad dkimkit_trusted_sealers is logged at load" $? "$(cat "$TAP_ERR")"
# RFC 7489 mode (the system's Public Suffix List): the same verdicts here.
SIEVE_OPTS=(-o "plugin/dkimkit_zone=$ZONE" -o "plugin/dkimkit_rfc7489=yes")
if [ -r /usr/share/publicsuffix/public_suffix_list.dat ]; then
	sieve_case true quarantine 'dmarc :disposition "quarantine"'
	sieve_case true pass 'dmarc "pass"'
else
	tap_diag "no /usr/share/publicsuffix (publicsuffix): rfc7489 untested"
fi
SIEVE_OPTS=("${SIEVE_TRUSTED[@]}")

# Verified once: three tests of one script, one verification logged.
printf 'require ["vnd.dkimkit", "fileinto"];\nif dkim "pass" { fileinto "a"; }\nif dkim_adsp "pass" { fileinto "b"; }\nif dkim :domain "bank.example" "pass" { fileinto "c"; }\n' \
    > st/once.sieve
chown nobody st/once.sieve
tap_run sieve_run "$TMPD/st/once.sieve" msg/pass.eml
n=$(grep -c 'dkimkit: .*dkim=pass' "$TAP_ERR")
[ "$n" -eq 1 ] && [ "$(grep -c 'store message in folder' "$TAP_OUT")" -eq 3 ]
ok_if "three tests, one verification (logged once)" $? \
    "verifications logged: $n" "$(cat "$TAP_OUT" "$TAP_ERR")"

# The verdict is on the message as delivered: a Subject changed by
# editheader before the test does not make the signature fail.
printf 'require ["vnd.dkimkit", "fileinto", "editheader"];\ndeleteheader "Subject";\naddheader "Subject" "[tagged]";\nif dkim "pass" { fileinto "yes"; }\n' \
    > st/edited.sieve
chown nobody st/edited.sieve
tap_run runuser -u nobody -- env HOME="$TMPD/home" sieve-test \
    ${SIEVE_CONF[@]+"${SIEVE_CONF[@]}"} \
    -P "$PLUGDIR/sieve_dkimkit" -x "+vnd.dkimkit +editheader" "${TRACE[@]}" \
    "${SIEVE_OPTS[@]}" "$TMPD/st/edited.sieve" msg/pass.eml
grep -q 'store message in folder: yes$' "$TAP_OUT"
ok_if "editheader before the test: still dkim pass" $? \
    "$(cat "$TAP_OUT" "$TAP_ERR" | tail -n 15)"

# A test's verdict from a real resolver: a loopback unbound serving the keys.
if ! need unbound ldns-read-zone drill; then
	:	# need has reported the skip
elif unbound_start keys.zone; then
	SIEVE_OPTS=(-o "plugin/dkimkit_dns=127.0.0.1@$UNBOUND_PORT")
	sieve_case true pass 'dkim "pass"'
	sieve_case true unsigned 'dkim_adsp "discard"'
	sieve_case true quarantine 'dmarc :disposition "quarantine"'
	sieve_case true sealed 'arc "pass"'
	unbound_stop
else
	not_ok "unbound on loopback started" "see stderr"
fi

# An unreachable resolver: temperror, never a failed run.
DEAD=$(free_port)
SIEVE_OPTS=(-o "plugin/dkimkit_dns=127.0.0.1@$DEAD"
    -o "plugin/dkimkit_timeout=500")
sieve_case true pass 'dkim "temperror"'
sieve_case true pass 'dkim :domain "bank.example" "temperror"'
sieve_case true unsigned 'dkim "none"'
sieve_case true unsigned 'dkim_adsp "temperror"'
# DMARC's policy lookup times out too: temperror, visible to the script,
# never fail and never a disposition that would file it as junk.
sieve_case true pass 'dmarc "temperror"'
sieve_case true unsigned 'dmarc "temperror"'
sieve_case false unsigned 'dmarc ["fail", "none", "pass"]'
sieve_case false quarantine 'dmarc :disposition ["quarantine", "reject"]'

# A broken setting: reported when the extension loads; tests see
# temperror and the script still runs.
SIEVE_OPTS=(-o "plugin/dkimkit_zone=$ZONE" -o "plugin/dkimkit_timeout=soon")
sieve_case true pass 'dkim "temperror"'
grep -q "vnd.dkimkit: dkimkit_timeout: 'soon'" "$TAP_ERR"
ok_if "bad dkimkit_timeout is logged at load" $? "$(cat "$TAP_ERR")"
SIEVE_OPTS=(-o "plugin/dkimkit_zone=$TMPD/missing.zone")
sieve_case true pass 'dkim_adsp "temperror"'
grep -q "vnd.dkimkit: dkimkit_zone: .*missing.zone" "$TAP_ERR"
ok_if "missing dkimkit_zone is logged at load" $? "$(cat "$TAP_ERR")"
SIEVE_OPTS=("${SIEVE_TRUSTED[@]}")

# A script with a syntax error in the extension's arguments is refused.
printf 'require "vnd.dkimkit";\nif dkim :domain { keep; }\n' > st/bad.sieve
chown nobody st/bad.sieve
check_fails "dkim :domain without its list does not compile" \
    sieve_run "$TMPD/st/bad.sieve" msg/pass.eml
while IFS='|' read -r name test; do
	printf 'require "vnd.dkimkit";\nif %s { keep; }\n' "$test" \
	    > "st/bad-$name.sieve"
	chown nobody "st/bad-$name.sieve"
	check_fails "$test does not compile" \
	    sieve_run "$TMPD/st/bad-$name.sieve" msg/pass.eml
done <<'BAD'
both|arc :sealer "fwd.example" :trusted "pass"
nolist|arc :sealer "pass"
spftag|spf :domain "bank.example" "pass"
dmarctag|dmarc :sealer "bank.example" "pass"
noresult|dmarc :disposition
BAD
# And what does: the dump of a compiled script names every operand.
printf 'require "vnd.dkimkit";\nif allof (dmarc :disposition "reject", arc :trusted "pass", arc :sealer "fwd.example" "pass", spf "fail") { discard; }\n' \
    > st/dump.sieve
chown nobody st/dump.sieve
if tap_run runuser -u nobody -- sievec \
    ${SIEVE_CONF[@]+"${SIEVE_CONF[@]}"} -P "$PLUGDIR/sieve_dkimkit" \
    -x "+vnd.dkimkit" "$TMPD/st/dump.sieve" "$TMPD/st/dump.svbin" &&
    tap_run runuser -u nobody -- sieve-dump \
    ${SIEVE_CONF[@]+"${SIEVE_CONF[@]}"} -P "$PLUGDIR/sieve_dkimkit" \
    -x "+vnd.dkimkit" "$TMPD/st/dump.svbin"; then
	grep -q 'DMARC' "$TAP_OUT" && grep -q 'disposition' "$TAP_OUT" &&
	    grep -q 'trusted sealers' "$TAP_OUT" &&
	    grep -q 'sealers: STR\[11\] "fwd.example"' "$TAP_OUT" &&
	    grep -q 'SPF' "$TAP_OUT"
	ok_if "sieve-dump shows the dmarc, arc and spf operands" $? \
	    "$(cat "$TAP_OUT")"
else
	not_ok "sievec and sieve-dump run the dmarc, arc and spf tests" \
	    "$(cat "$TAP_OUT" "$TAP_ERR")"
fi

# The README's example scripts, taken from it, as documented.
awk -v dir="$TMPD/st" '
    /^```sieve$/ { n++; f = dir "/readme" n ".sieve"; next }
    /^```$/ { f = ""; next }
    f != "" { print > f }' "$TOP_SRCDIR/plugins/dovecot/README"
chown nobody st/readme*.sieve 2>/dev/null
while IFS='|' read -r n msg want; do
	[ -n "$n" ] || continue
	if [ ! -f "st/readme$n.sieve" ]; then
		not_ok "README example $n exists"
		continue
	fi
	tap_run sieve_run "$TMPD/st/readme$n.sieve" "msg/$msg.eml"
	grep -qF -- "$want" "$TAP_OUT"
	ok_if "README example $n on $msg: $want" $? \
	    "$(cat "$TAP_OUT" "$TAP_ERR")"
done <<'CASES'
1|unsigned|store message in folder: Junk
1|pass|store message in folder: INBOX
1|fail|store message in folder: Junk
1|padded|store message in folder: Junk
2|unsigned|reject message with reason
2|padded|reject message with reason
2|pass|store message in folder: INBOX
3|list|add IMAP flags: $MailingList
3|pass|store message in folder: INBOX
4|quarantine|store message in folder: Junk
4|unsigned|store message in folder: Junk
4|untrusted|store message in folder: Junk
4|sealbroken|store message in folder: Junk
4|sealed|store message in folder: INBOX
4|arpass|store message in folder: INBOX
4|spfalign|store message in folder: INBOX
4|plain|store message in folder: INBOX
5|topmost|add IMAP flags: $SPFFail
CASES
tap_run sieve_run "$TMPD/st/readme3.sieve" msg/pass.eml
grep -q 'add IMAP flags' "$TAP_OUT"
[ $? -ne 0 ]
ok_if "README example 3 flags nothing without the list's signature" $? \
    "$(cat "$TAP_OUT")"
for msg in arpass untrusted; do
	tap_run sieve_run "$TMPD/st/readme5.sieve" "msg/$msg.eml"
	! grep -q 'add IMAP flags' "$TAP_OUT"
	ok_if "README example 5 flags nothing on $msg" $? "$(cat "$TAP_OUT")"
done
# Example 4 with DNS silent: dmarc temperror keeps the message.
SIEVE_OPTS=("${SIEVE_TRUSTED[@]:2}" -o "plugin/dkimkit_dns=127.0.0.1@$DEAD"
    -o "plugin/dkimkit_timeout=500")
tap_run sieve_run "$TMPD/st/readme4.sieve" msg/quarantine.eml
grep -q 'store message in folder: INBOX' "$TAP_OUT" &&
    grep -q 'dmarc=temperror' "$TAP_ERR"
ok_if "README example 4, DNS down: temperror kept in INBOX" $? \
    "$(cat "$TAP_OUT" "$TAP_ERR")"
SIEVE_OPTS=("${SIEVE_TRUSTED[@]}")

# ---------------------------------------------------------------------
# 2. dovecot-lda: real deliveries filed by the README's kind of script.

cat > filter.sieve <<'SIEVE'
require ["vnd.dkimkit", "fileinto"];
if dkim "temperror" {
	fileinto "Later";
	stop;
}
if allof (header :contains "from" "bank.example",
    not dkim :domain "bank.example" "pass") {
	fileinto "Junk";
	stop;
}
if dkim :domain "lists.example" "pass" {
	fileinto "Lists";
	stop;
}
SIEVE

# lda_conf DIR EXTRA-PLUGIN-LINES: a private dovecot.conf for dovecot-lda.
lda_conf()
{
	mkdir -p "$1/home" "$1/run"
	cp filter.sieve "$1/home/.dovecot.sieve"
	cat > "$1/dovecot.conf" <<CONF
$SAN_CONF
base_dir = $1/run
log_path = $1/dovecot.log
ssl = no
mail_location = maildir:~/Maildir
lda_mailbox_autocreate = yes
postmaster_address = postmaster@example.net
protocol lda {
  mail_plugins = sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_plugin_dir = $PLUGDIR
  sieve_plugins = sieve_dkimkit
  sieve_extensions = +vnd.dkimkit
  $2
}
CONF
	chown -R nobody:nogroup "$1"
}

# lda DIR MESSAGE: deliver msg/MESSAGE.eml as nobody.
lda()
{
	runuser -u nobody -- env HOME="$1/home" "$LDA" -c "$1/dovecot.conf" \
	    -e -f sender@example.org -a user@example.net < "msg/$2.eml"
}

# filed MAILDIR FOLDER MESSAGE: true when the message (by its X-Test
# field) is in FOLDER ("" for INBOX), and in no other folder.
filed()
{
	local dir="$1" hits

	[ -z "$2" ] || dir="$dir/.$2"
	hits=$(find "$1" -type f \( -path '*/new/*' -o -path '*/cur/*' \) \
	    -exec grep -l -x -E "X-Test: $3"$'\r?' {} + 2>/dev/null)
	[ -n "$hits" ] && [ "$(printf '%s\n' "$hits" | wc -l)" -eq 1 ] ||
	    return 1
	case "$hits" in
	"$dir/new/"* | "$dir/cur/"*) return 0 ;;
	esac
	return 1
}

lda_conf "$TMPD/lda" "dkimkit_zone = $ZONE
  dkimkit_authserv_id = lda.example.net
  dkimkit_store = sqlite:$TMPD/lda/obs.db"
while read -r msg folder; do
	check "dovecot-lda delivers $msg" lda "$TMPD/lda" "$msg" || continue
	filed "$TMPD/lda/home/Maildir" "${folder#INBOX}" "$msg"
	ok_if "dovecot-lda filed $msg into $folder" $? \
	    "$(find "$TMPD/lda/home/Maildir" -type f -path '*/new/*')"
done <<'DELIVERIES'
unsigned Junk
padded Junk
pass INBOX
fail Junk
list Lists
DELIVERIES
grep -q 'dkimkit: lda.example.net: dkim=pass adsp=pass (bank.example) dmarc=pass (bank.example, .*) arc=none .*\[pass d=bank.example ' \
    "$TMPD/lda/dovecot.log"
ok_if "dovecot-lda logs the verdicts with dkimkit_authserv_id" $? \
    "$(cat "$TMPD/lda/dovecot.log")"
# dkimkit_store (issue #23): one row per delivery verified, written
# before dovecot-lda exits; the envelope sender is recorded.
if have sqlite3; then
	n=$(sqlite3 "$TMPD/lda/obs.db" 'SELECT count(*) FROM messages' 2>&1)
	p=$(sqlite3 "$TMPD/lda/obs.db" "SELECT count(*) FROM messages WHERE dkim = 'pass' AND mail_from = 'example.org'" 2>&1)
	[ "$n" = 5 ] && [ "$p" = 2 ]
	ok_if "dkimkit_store: dovecot-lda recorded 5 rows for 5 deliveries, 2 pass" $? \
	    "rows: $n, pass: $p" "$(cat "$TMPD/lda/dovecot.log")"
else
	skip "dkimkit_store rows from dovecot-lda" "sqlite3 is not installed (scripts/deps)"
fi

# dkimkit_reports (RFC 6651): of pass, fail (no r=y) and rfail (r=y,
# tampered), only rfail gets a report, written to dkimkit_report_dir, to
# ra@ its signing domain, with the envelope's addresses.
lda_conf "$TMPD/lda-rep" "dkimkit_zone = $ZONE
  dkimkit_authserv_id = lda.example.net
  dkimkit_reports = yes
  dkimkit_report_dir = $TMPD/lda-rep/reports
  dkimkit_report_state = $TMPD/lda-rep/reports/state"
mkdir "$TMPD/lda-rep/reports" && chown nobody "$TMPD/lda-rep/reports"
for msg in pass fail rfail; do
	check "dovecot-lda with dkimkit_reports delivers $msg" \
	    lda "$TMPD/lda-rep" "$msg"
done
n=$(ls "$TMPD"/lda-rep/reports/*.eml 2> /dev/null | wc -l)
f=$(ls "$TMPD"/lda-rep/reports/*.eml 2> /dev/null | head -n 1)
[ "$n" -eq 1 ] && grep -q '^To: <dkim-reports@bank.example>' "$f" &&
    grep -q '^Feedback-Type: auth-failure' "$f" &&
    grep -q '^Original-Mail-From: <sender@example.org>' "$f" &&
    grep -q '^Original-Rcpt-To: <user@example.net>' "$f" &&
    grep -q '^X-Test: rfail' "$f" &&
    grep -q 'dkimkit: report to dkim-reports@bank.example (bank.example, rr=v): written' \
    "$TMPD/lda-rep/dovecot.log"
ok_if "dkimkit_reports: one report, for the r=y failure only" $? \
    "reports: $n" "$( [ -n "$f" ] && head -n 40 "$f")" \
    "$(cat "$TMPD/lda-rep/dovecot.log")"
filed "$TMPD/lda-rep/home/Maildir" Junk rfail
ok_if "dkimkit_reports: the reported message is filed as before (Junk)" \
    $? "$(find "$TMPD/lda-rep/home/Maildir" -type f -path '*/new/*')"

# Resolver that never answers (a UDP socket that reads nothing):
# temperror after dkimkit_timeout, and the mail is still delivered.
SILENT=$(free_port)
"$PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(600)' "$SILENT" &
SILENT_PID=$!
at_exit kill "$SILENT_PID"
lda_conf "$TMPD/lda-dead" "dkimkit_dns = 127.0.0.1@$SILENT
  dkimkit_timeout = 500"
start=$SECONDS
check "dovecot-lda delivers with DNS unreachable" lda "$TMPD/lda-dead" pass
[ $((SECONDS - start)) -lt 30 ]
ok_if "unreachable DNS is bounded by dkimkit_timeout" $? \
    "took $((SECONDS - start)) s"
filed "$TMPD/lda-dead/home/Maildir" Later pass
ok_if "DNS unreachable: dkim temperror, filed into Later" $? \
    "$(find "$TMPD/lda-dead" -type f)" "$(cat "$TMPD/lda-dead/dovecot.log")"

# Broken setting: logged at load, mail delivered (temperror -> Later).
lda_conf "$TMPD/lda-bad" "dkimkit_zone = $TMPD/missing.zone"
check "dovecot-lda delivers with a broken dkimkit_zone" lda "$TMPD/lda-bad" pass
filed "$TMPD/lda-bad/home/Maildir" Later pass
ok_if "broken setting: filed into Later" $? \
    "$(cat "$TMPD/lda-bad/dovecot.log")"
grep -q 'vnd.dkimkit: dkimkit_zone: .*missing.zone' "$TMPD/lda-bad/dovecot.log"
ok_if "broken setting: reported in Dovecot's log" $? \
    "$(cat "$TMPD/lda-bad/dovecot.log")"

# ---------------------------------------------------------------------
# 3. A running Dovecot with LMTP on loopback, fed by swaks.

D="$TMPD/lmtp"
DOVECOT_PLUGDIR=$PLUGDIR
DOVECOT_SAN_CONF=$SAN_CONF
dovecot_lmtp_conf "$D" filter.sieve "dkimkit_zone = $ZONE
  dkimkit_authserv_id = lmtp.example.net
  dkimkit_store = sqlite:$D/users/obs.db" ||
    bail_out "cannot write $D/dovecot.conf"
LMTP_PORT=$DOVECOT_PORT

# lmtp_up: true once the listener accepts connections.
lmtp_up() { port_wait "$LMTP_PORT"; }

# lmtp_stop: stop the Dovecot started here, if it still runs.
lmtp_stop()
{
	[ -s "$D/run/master.pid" ] || return 0
	dovecot -c "$D/dovecot.conf" stop 2>/dev/null
	rm -f "$D/run/master.pid"
}

# lmtp_send MESSAGE: one delivery to user@example.net through LMTP.
lmtp_send()
{
	swaks --protocol LMTP --server 127.0.0.1 --port "$LMTP_PORT" \
	    --from sender@example.org --to user@example.net \
	    --data "@msg/$1.eml" --timeout 60
}

if ! check "dovecot with LMTP starts" dovecot -c "$D/dovecot.conf"; then
	tap_diag_file "$D/dovecot.log"
elif ! lmtp_up; then
	not_ok "LMTP listens on 127.0.0.1:$LMTP_PORT" "$(cat "$D/dovecot.log")"
else
	at_exit lmtp_stop
	ok "LMTP listens on 127.0.0.1:$LMTP_PORT"
	while read -r msg folder; do
		check "LMTP accepts $msg" lmtp_send "$msg" || continue
		filed "$D/users/user/Maildir" "${folder#INBOX}" "$msg"
		ok_if "LMTP filed $msg into $folder" $? \
		    "$(find "$D/users" -type f)" "$(cat "$D/dovecot.log")"
	done <<'DELIVERIES'
unsigned Junk
padded Junk
pass INBOX
list Lists
DELIVERIES
	grep -q 'lmtp(user@example.net).*dkimkit: lmtp.example.net: dkim=pass' \
	    "$D/dovecot.log"
	ok_if "the LMTP process logs the verdicts" $? "$(cat "$D/dovecot.log")"
	lmtp_stop
	# dkimkit_store: the lmtp processes recorded a row per delivery.
	if have sqlite3; then
		n=$(sqlite3 "$D/users/obs.db" 'SELECT count(*) FROM messages' 2>&1)
		[ "$n" = 4 ]
		ok_if "dkimkit_store: LMTP recorded 4 rows for 4 deliveries" $? \
		    "rows: $n" "$(cat "$D/dovecot.log")"
	else
		skip "dkimkit_store rows from LMTP" "sqlite3 is not installed (scripts/deps)"
	fi
	# DNS unreachable, one message for two users: LMTP runs each user's
	# script, each verifies and waits for its own lookups (a TEMPFAIL is
	# not kept for the next), so the delivery takes about one
	# dkimkit_timeout per recipient (README).
	sed -i "s|^  dkimkit_zone = .*|  dkimkit_dns = 127.0.0.1@$SILENT\\n  dkimkit_timeout = 2000|" \
	    "$D/dovecot.conf"
	sed -i 's|\\n|\n|' "$D/dovecot.conf"
	if check "dovecot with LMTP restarts, DNS unreachable" \
	    dovecot -c "$D/dovecot.conf" && lmtp_up; then
		start=$SECONDS
		tap_run swaks --protocol LMTP --server 127.0.0.1 \
		    --port "$LMTP_PORT" --from sender@example.org \
		    --to user@example.net,other@example.net \
		    --data "@msg/pass.eml" --timeout 60
		took=$((SECONDS - start))
		n=$(grep -c 'dkimkit: lmtp.example.net: dkim=temperror' \
		    "$D/dovecot.log")
		filed "$D/users/other/Maildir" Later pass && [ "$n" -eq 2 ] &&
		    [ "$took" -ge 4 ] && [ "$took" -lt 30 ]
		ok_if "LMTP, DNS down, two recipients: two verifications, ${took} s" \
		    $? "verifications logged: $n" "$(cat "$TAP_OUT")" \
		    "$(tail -n 20 "$D/dovecot.log")"
		lmtp_stop
	fi
fi

# ---------------------------------------------------------------------
# 4. DMARC, SPF from the trusted field and ARC at real LMTP deliveries.

cat > dmarc.sieve <<'SIEVE'
require ["vnd.dkimkit", "fileinto"];
if dmarc "temperror" {
	fileinto "Later";
	stop;
}
if arc :trusted "pass" {
	fileinto "Forwarded";
	stop;
}
if dmarc :disposition ["quarantine", "reject"] {
	fileinto "Junk";
	stop;
}
SIEVE
TRUSTED_LINES="dkimkit_trusted_authserv_id = mx.example.net
  dkimkit_trusted_sealers = fwd.example"
D4="$TMPD/lmtp-dmarc"
if ! dovecot_lmtp "$D4" dmarc.sieve "dkimkit_zone = $ZONE
  dkimkit_authserv_id = lmtp.example.net
  $TRUSTED_LINES"; then
	not_ok "dovecot with LMTP (DMARC) starts" "$DOVECOT_WHY"
else
	LMTP_PORT=$DOVECOT_PORT
	while read -r msg folder; do
		check "LMTP accepts $msg" lmtp_send "$msg" || continue
		filed "$D4/users/user/Maildir" "${folder#INBOX}" "$msg"
		ok_if "LMTP, DMARC: filed $msg into $folder" $? \
		    "$(find "$D4/users" -type f -path '*/new/*')" \
		    "$(tail -n 20 "$D4/dovecot.log")"
	done <<'DELIVERIES'
arpass INBOX
spfalign INBOX
quarantine Junk
untrusted Junk
unsigned Junk
sealed Forwarded
sealbroken Junk
DELIVERIES
	grep -q 'dkimkit: lmtp.example.net: dkim=none .*dmarc=fail (q.example, policy quarantine, disposition quarantine)' \
	    "$D4/dovecot.log"
	ok_if "LMTP logs the DMARC result and disposition" $? \
	    "$(cat "$D4/dovecot.log")"
	dovecot_stop_all
fi

# The local policy override at LMTP deliveries: the disposition decides
# Junk, and a DMARC failure that a trusted sealer vouched for is filed
# apart.  The Dovecot trusts fwd.example only.
cat > override.sieve <<'SIEVE'
require ["vnd.dkimkit", "fileinto"];
if dmarc :disposition ["quarantine", "reject"] {
	fileinto "Junk";
	stop;
}
if allof (dmarc "fail", arc :trusted "pass") {
	fileinto "Vouched";
	stop;
}
SIEVE
D6="$TMPD/lmtp-override"
if ! dovecot_lmtp "$D6" override.sieve "dkimkit_zone = $ZONE
  dkimkit_authserv_id = lmtp.example.net
  $TRUSTED_LINES"; then
	not_ok "dovecot with LMTP (override) starts" "$DOVECOT_WHY"
else
	LMTP_PORT=$DOVECOT_PORT
	while read -r msg folder; do
		check "LMTP accepts $msg" lmtp_send "$msg" || continue
		filed "$D6/users/user/Maildir" "${folder#INBOX}" "$msg"
		ok_if "LMTP, override: filed $msg into $folder" $? \
		    "$(find "$D6/users" -type f -path '*/new/*')" \
		    "$(tail -n 20 "$D6/dovecot.log")"
	done <<'DELIVERIES'
relayed Vouched
relayedother Junk
pass INBOX
unsigned Junk
DELIVERIES
	grep -q 'dkimkit: lmtp.example.net: dkim=fail .*dmarc=fail (bank.example, policy reject, disposition none, local_policy by trusted sealer fwd.example)' \
	    "$D6/dovecot.log" &&
	    grep -q 'dkimkit: lmtp.example.net: dkim=fail .*dmarc=fail (bank.example, policy reject, disposition reject)' \
	    "$D6/dovecot.log"
	ok_if "LMTP logs disposition none (trusted) and reject (untrusted)" \
	    $? "$(grep dkimkit "$D6/dovecot.log")"
	dovecot_stop_all
fi

# A resolver that never answers: DMARC temperror reaches the script,
# which keeps the message (Later), never Junk.
D5="$TMPD/lmtp-silent"
if ! dovecot_lmtp "$D5" dmarc.sieve "dkimkit_dns = 127.0.0.1@$SILENT
  dkimkit_timeout = 500
  $TRUSTED_LINES"; then
	not_ok "dovecot with LMTP (silent DNS) starts" "$DOVECOT_WHY"
else
	LMTP_PORT=$DOVECOT_PORT
	for msg in quarantine arpass; do
		check "LMTP accepts $msg, DNS silent" lmtp_send "$msg" ||
		    continue
		filed "$D5/users/user/Maildir" Later "$msg"
		ok_if "LMTP, DNS silent: $msg sees dmarc temperror (Later)" \
		    $? "$(find "$D5/users" -type f -path '*/new/*')" \
		    "$(tail -n 20 "$D5/dovecot.log")"
	done
	dovecot_stop_all
fi

done_testing
