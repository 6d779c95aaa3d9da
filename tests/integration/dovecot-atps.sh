#!/bin/bash
# The dkimkit_atps_adsp setting of the Sieve extension in the real
# Pigeonhole (sieve-test as nobody): author.test publishes ADSP dkim=all
# and an ATPS record (RFC 6541) for signer.test, which signed the message.
# dkim_adsp is "fail" by default and "pass" with dkimkit_atps = yes (RFC
# 6541 6: a verifier doing both counts the delegation) and with the old
# name dkimkit_atps_adsp = yes; a bad value stops the
# script with the setting named as Dovecot spells it.  Keys and records
# come from a zone file (dkimkit_zone).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/install.sh"

PLUGDIR="$TOP_BUILDDIR/plugins/dovecot/.libs"
[ "$(id -u)" -eq 0 ] ||
    skip_all "needs root: sieve-test runs as nobody here"
for prog in sieve-test runuser; do
	have "$prog" || skip_all "$prog is not installed"
done
[ -f "$PLUGDIR/lib90_sieve_dkimkit_plugin.so" ] ||
    skip_all "plugin not built (configure found no dovecot-dev/dovecot-sieve?)"

tmpdir
chmod 755 "$TMPD"
cd "$TMPD" || bail_out "no temp dir"
install_for_servers "$TMPD/plugins" "$PLUGDIR/lib90_sieve_dkimkit_plugin.so" ||
    bail_out "cannot install the plugin in $TMPD/plugins"
PLUGDIR="$TMPD/plugins"
mkdir msg st home
chown nobody:nogroup st home
# A sanitizer build's plugin needs its runtime preloaded into Dovecot.
SIEVE_CONF=()
rt=$(san_runtime "$PLUGDIR/lib90_sieve_dkimkit_plugin.so") ||
    bail_out "sanitizer build but no shared ASan runtime"
if [ -n "$rt" ]; then
	printf '!include_try /etc/dovecot/dovecot.conf\nimport_environment = TZ LD_PRELOAD=%s ASAN_OPTIONS=detect_leaks=0\ndefault_vsz_limit = 0\n' \
	    "$rt" > sieve-test.conf
	SIEVE_CONF=(-c "$TMPD/sieve-test.conf")
fi

"$DKIMKIT" keygen --algorithm ed25519 --domain signer.test --selector s1 \
    --out signer.pem > keys.zone || bail_out "keygen"
"$DKIMKIT" key atps-record --domain author.test --signer signer.test \
    --hash sha1 >> keys.zone || bail_out "atps-record"
cat >> keys.zone <<'ZONE'
author.test. 300 IN A 127.0.0.1
_adsp._domainkey.author.test. 300 IN TXT "dkim=all"
ZONE
chmod 644 keys.zone
printf 'From: Al <al@author.test>\nTo: user@example.net\nSubject: atps\n\nhello\n' |
    "$DKIMKIT" sign --key signer.pem --domain signer.test --selector s1 \
    --atps author.test --atps-hash sha1 > msg/signed.eml || bail_out "sign"
chmod -R a+rX msg
printf 'require ["vnd.dkimkit", "fileinto"];\nif dkim_adsp "pass" { fileinto "pass"; }\nif dkim_adsp "fail" { fileinto "fail"; }\n' \
    > st/adsp.sieve
chown nobody st/adsp.sieve

# adsp_with SETTING...: the folder the script files signed.eml into.
adsp_with()
{
	local o=() s

	for s in "$@"; do
		o+=(-o "plugin/$s")
	done
	runuser -u nobody -- env HOME="$TMPD/home" sieve-test \
	    ${SIEVE_CONF[@]+"${SIEVE_CONF[@]}"} \
	    -P "$PLUGDIR/sieve_dkimkit" -x "+vnd.dkimkit" \
	    -o "plugin/dkimkit_zone=$TMPD/keys.zone" ${o[@]+"${o[@]}"} \
	    st/adsp.sieve msg/signed.eml 2>&1 |
	    sed -n 's/.*store message in folder: //p'
}

got=$(adsp_with)
[ "$got" = fail ]
ok_if "default: dkim_adsp is fail (dkim=all, third-party signature)" $? \
    "folder: $got"
got=$(adsp_with dkimkit_atps=yes)
[ "$got" = pass ]
ok_if "dkimkit_atps = yes: dkim_adsp is pass (RFC 6541 6)" $? "folder: $got"
got=$(adsp_with dkimkit_atps_adsp=yes)
[ "$got" = pass ]
ok_if "dkimkit_atps_adsp = yes: dkim_adsp is pass" $? "folder: $got"
out=$(runuser -u nobody -- env HOME="$TMPD/home" sieve-test \
    ${SIEVE_CONF[@]+"${SIEVE_CONF[@]}"} -P "$PLUGDIR/sieve_dkimkit" \
    -x "+vnd.dkimkit" -o "plugin/dkimkit_zone=$TMPD/keys.zone" \
    -o "plugin/dkimkit_atps=perhaps" st/adsp.sieve msg/signed.eml 2>&1)
printf '%s\n' "$out" | grep -q "dkimkit_atps: 'perhaps' is not yes or no"
ok_if "a bad dkimkit_atps is named as Dovecot spells it" $? "$out"

done_testing
