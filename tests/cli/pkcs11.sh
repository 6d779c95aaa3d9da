#!/bin/bash
# Keys in a PKCS#11 token: a SoftHSM2 token made in a temporary folder, an
# RSA key generated on it by p11tool and an Ed25519 key by pkcs11-tool.
# dkimkit signs through the token (PIN from $DKIMKIT_PIN, --pin-file or
# pin-source); python3-dkim and dkimkit verify against the records that
# `dkimkit key record` prints for the token's keys.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3
PEER="$TOP_SRCDIR/tests/interop/peer_python.py"
for prog in softhsm2-util p11tool pkcs11-tool; do
	command -v "$prog" >/dev/null 2>&1 || skip_all "$prog is not installed"
done
have python3:dkim || skip_all "python3-dkim is not installed"

# SoftHSM's module, as p11-kit registers it (GnuTLS loads it from there).
MODULE="$(sed -n 's/^module:[[:space:]]*//p' \
    /usr/share/p11-kit/modules/softhsm2.module 2>/dev/null)"
[ -r "$MODULE" ] || skip_all "softhsm2 is not registered with p11-kit"

# Under LeakSanitizer: SoftHSM's Ed25519 code leaves OpenSSL objects
# behind (dkimkit itself does not use OpenSSL; only the token module
# does), so leaks whose stack passes through libcrypto are not ours.
printf 'leak:libcrypto.so\n' > lsan.supp
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$TMPD/lsan.supp"

mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$TMPD" > softhsm2.conf
export SOFTHSM2_CONF="$TMPD/softhsm2.conf"
unset DKIMKIT_PIN
PIN=4321
printf '%s\n' "$PIN" > pin

# Test set-up only: these tools take the PIN as an argument or from
# GNUTLS_PIN; dkimkit itself never does.
softhsm2-util --init-token --free --label dkimkit-test --so-pin 87654321 \
    --pin "$PIN" >/dev/null || bail_out "cannot initialise the token"
GNUTLS_PIN=$PIN p11tool --login --generate-privkey=rsa --bits 2048 \
    --label dkk-rsa "pkcs11:token=dkimkit-test" >/dev/null 2>&1 ||
    bail_out "p11tool cannot make an RSA key"
pkcs11-tool --module "$MODULE" --token-label dkimkit-test --login \
    --pin "$PIN" --keypairgen --key-type EC:edwards25519 --label dkk-ed \
    --id 02 >/dev/null 2>&1 || bail_out "pkcs11-tool cannot make an Ed25519 key"

RSA="pkcs11:token=dkimkit-test;object=dkk-rsa;type=private"
ED="pkcs11:token=dkimkit-test;object=dkk-ed;type=private"

printf 'From: Alice <alice@example.test>\nTo: bob@example.net\nSubject: token\nDate: Mon, 23 Nov 2026 10:00:00 +0000\nMessage-ID: <hsm@example.test>\n\nSigned in a token.\n' > m.eml

check "key record of the token's RSA key" env DKIMKIT_PIN=$PIN \
    "$DKIMKIT" key record --key "$RSA" example.test hsm-rsa
cp "$TAP_OUT" zone
grep -q '^hsm-rsa._domainkey.example.test. 3600 IN TXT "v=DKIM1; k=rsa; p=MII' zone
ok_if "the RSA record is a zone-file line" $?
check "key record of the token's Ed25519 key" "$DKIMKIT" key record \
    --pin-file pin --key "$ED" example.test hsm-ed
cat "$TAP_OUT" >> zone
grep -q '^hsm-ed._domainkey.example.test. 3600 IN TXT "v=DKIM1; k=ed25519; p=' zone
ok_if "the Ed25519 record is a zone-file line" $?

for k in rsa ed; do
	[ $k = rsa ] && url=$RSA || url=$ED
	check "sign with the token's $k key (PIN from DKIMKIT_PIN)" env \
	    DKIMKIT_PIN=$PIN "$DKIMKIT" sign --key "$url" \
	    --domain example.test --selector hsm-$k m.eml
	cp "$TAP_OUT" $k.eml
	check "dkimkit verifies the $k token signature" "$DKIMKIT" verify \
	    --zone zone $k.eml
	check "python3-dkim verifies the $k token signature" "$PY" "$PEER" \
	    verify --zone zone $k.eml
	sed 's/Signed in a token/Signed in a tokem/' $k.eml > $k-bad.eml
	check_status 1 "a tampered $k message fails" "$DKIMKIT" verify \
	    --zone zone $k-bad.eml
	check_fails "python3-dkim rejects the tampered $k message" "$PY" \
	    "$PEER" verify --zone zone $k-bad.eml
done

check "the PIN from --pin-file" "$DKIMKIT" sign --pin-file pin \
    --key "$RSA" --domain example.test --selector hsm-rsa m.eml
cp "$TAP_OUT" pinfile.eml
check "dkimkit verifies it" "$DKIMKIT" verify --zone zone pinfile.eml
check "python3-dkim verifies it" "$PY" "$PEER" verify --zone zone pinfile.eml
check "the PIN from pin-source in the URI" "$DKIMKIT" sign \
    --key "$ED?pin-source=file:$TMPD/pin" --domain example.test \
    --selector hsm-ed m.eml
cp "$TAP_OUT" pinsrc.eml
check "python3-dkim verifies it" "$PY" "$PEER" verify --zone zone pinsrc.eml

# ARC sets sealed by the token's keys (RFC 8617), one of each algorithm.
check "seal with the token's RSA key" "$DKIMKIT" seal --pin-file pin \
    --key "$RSA" --domain example.test --selector hsm-rsa \
    --authserv-id hsm.example.test --zone zone rsa.eml
cp "$TAP_OUT" arc1.eml
check "seal again with the token's Ed25519 key" "$DKIMKIT" seal \
    --pin-file pin --key "$ED" --domain example.test --selector hsm-ed \
    --authserv-id hsm.example.test --zone zone arc1.eml
cp "$TAP_OUT" arc2.eml
check "dkimkit verifies the token-sealed chain" "$DKIMKIT" verify \
    --zone zone --arc --json arc2.eml
grep -q '"arc":{"result":"pass","instances":2,' "$TAP_OUT"
ok_if "the chain of two token seals passes" $? "$(cat "$TAP_OUT")"

check_status 2 "no PIN: exit 2" "$DKIMKIT" sign --key "$RSA" \
    --domain example.test --selector hsm-rsa m.eml
grep -q 'PIN' "$TAP_ERR"
ok_if "no PIN: the message says so" $?
check_status 2 "a wrong PIN: exit 2" env DKIMKIT_PIN=0000 "$DKIMKIT" sign \
    --key "$RSA" --domain example.test --selector hsm-rsa m.eml
check_status 2 "a wrong pin-value in the URI: exit 2" "$DKIMKIT" sign \
    --key "$RSA?pin-value=97531" --domain example.test --selector hsm-rsa \
    m.eml
! grep -q 97531 "$TAP_ERR" && grep -q 'object=dkk-rsa' "$TAP_ERR"
ok_if "the message names the key but not the PIN in the URI" $? \
    "$(cat "$TAP_ERR")"
check_status 2 "no --pin option: the PIN never goes on a command line" \
    "$DKIMKIT" sign --pin "$PIN" --key "$RSA" --domain example.test \
    --selector hsm-rsa m.eml
check_status 2 "a URI naming no key: exit 2" env DKIMKIT_PIN=$PIN \
    "$DKIMKIT" sign --key "pkcs11:token=dkimkit-test;object=nothing" \
    --domain example.test --selector x m.eml
check_status 2 "--algorithm must match the token's key" env \
    DKIMKIT_PIN=$PIN "$DKIMKIT" sign --key "$ED" --algorithm rsa-sha256 \
    --domain example.test --selector hsm-ed m.eml

# filter-dkimkit with a token's key (-P for the PIN), over its protocol.
FILTER="${FILTER_DKIMKIT:-$TOP_BUILDDIR/plugins/opensmtpd/filter-dkimkit}"
TOOL="$TOP_SRCDIR/tests/integration/opensmtpd-tool.py"
SID=00000000000000a1
{
	printf 'config|smtpd-version|6.8.0p2\nconfig|subsystem|smtp-in\n'
	printf 'config|ready\n'
	"$PY" "$TOOL" feed $SID m.eml
} > filter.in
timeout 60 "$FILTER" -m sign -d example.test -s hsm-rsa -k "$RSA" \
    -s hsm-ed -k "$ED" -P pin < filter.in > filter.out 2> filter.err
ok_if "filter-dkimkit signs with the token's keys" $? "$(cat filter.err)"
"$PY" "$TOOL" extract $SID filter.out > filter.eml
ok_if "the message comes back whole" $?
check "dkimkit verifies both signatures" "$DKIMKIT" verify --zone zone \
    --json filter.eml
grep -q '"signatures":\[{[^]]*"result":"pass".*"result":"pass"' "$TAP_OUT"
ok_if "both pass" $? "$(cat "$TAP_OUT")"
check "python3-dkim verifies the filter's signatures" "$PY" "$TOOL" \
    dkimverify filter.eml zone
check_fails "filter-dkimkit without the PIN stops the start" "$FILTER" \
    -m sign -d example.test -s hsm-rsa -k "$RSA" < filter.in

done_testing
