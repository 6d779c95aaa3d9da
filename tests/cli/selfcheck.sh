#!/bin/bash
# dkimkit selfcheck (issue #24): usage; a message whose own signature
# passes is written out byte for byte (LF or CRLF line ends, from a file
# or standard input); one with a field added after signing is logged with
# the class and the field and still written, or with --defer held back
# (nothing written, exit 1); another domain's signature and a message
# without ours are not judged; a key record that does not match; the log
# goes to a file, or standard error with --log -.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"

"$DKIMKIT" keygen --algorithm ed25519 --domain example.test \
    --selector sc --out sc.pem > zone || bail_out "keygen"
"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain other.test \
    --selector o --out other.pem >> zone || bail_out "keygen other"
"$DKIMKIT" keygen --algorithm ed25519 --domain example.test \
    --selector sc --out stale.pem > /dev/null || bail_out "keygen stale"

printf 'From: alice@example.test\nTo: bob@example.net\nSubject: Hi\n\nHello.\n' > m.eml
sign() { "$DKIMKIT" sign --key "$1" --domain "$2" --selector "$3" "$4"; }
sign sc.pem example.test sc m.eml > crlf.eml || bail_out "sign"
tr -d '\r' < crlf.eml > lf.eml
# a field the signature covers (From) added after signing
sed '/^From:/a From: mallory@example.test' lf.eml > added.eml
sign other.pem other.test o m.eml | tr -d '\r' > other.eml
sign stale.pem example.test sc m.eml | tr -d '\r' > stale.eml

sc() { "$DKIMKIT" selfcheck --zone zone --log log "$@"; }

# --- usage ------------------------------------------------------------
check "selfcheck --help exits 0" "$DKIMKIT" selfcheck --help
grep -q "usage: dkimkit selfcheck" "$TAP_OUT"
ok_if "--help shows its usage" $?
check_status 2 "without --domain: a usage error" "$DKIMKIT" selfcheck lf.eml
grep -q "give --domain" "$TAP_ERR"
ok_if "... saying so" $? "$(cat "$TAP_ERR")"
check_status 2 "two files: a usage error" sc --domain example.test lf.eml lf.eml
check_status 2 "--zone and --dns: a usage error" sc --domain example.test \
    --dns 127.0.0.1 lf.eml
check_status 2 "a missing file is trouble" sc --domain example.test nosuch.eml

# --- passes --------------------------------------------------------------
for f in lf crlf; do
	rm -f log
	check "$f line ends, own signature passes: exit 0" \
	    sc --domain example.test $f.eml
	cmp -s "$TAP_OUT" $f.eml && [ ! -e log ]
	ok_if "... written out byte for byte, nothing logged" $?
done
"$DKIMKIT" selfcheck --zone zone --log log --domain EXAMPLE.TEST \
    < crlf.eml > stdin.out
st=$?
[ "$st" -eq 0 ] && cmp -s stdin.out crlf.eml
ok_if "standard input, the domain in capitals: passes, byte for byte" $? \
    "status $st"

# --- a field added after signing ----------------------------------------
rm -f log
check "a From added, no --defer: exit 0" sc --domain example.test \
    --id 1abc added.eml
cmp -s "$TAP_OUT" added.eml &&
    grep -q '^dkimkit selfcheck: 1abc: self-verification failed: d=example.test s=sc: .*class header-added, field From.*; passed on$' log
ok_if "... written out unchanged, logged with the class, the field and the id" \
    $? "$(cat log 2>&1)"
check_status 1 "--defer: exit 1" sc --domain example.test --defer added.eml
[ ! -s "$TAP_OUT" ] && grep -q 'field From.*; deferred$' log
ok_if "... nothing written, logged as deferred" $? "$(cat log)"
check_status 1 "--log -: the line on standard error" "$DKIMKIT" selfcheck \
    --zone zone --log - --domain example.test --defer added.eml
grep -q '^dkimkit selfcheck: self-verification failed: .*field From' "$TAP_ERR"
ok_if "... saying the field" $? "$(cat "$TAP_ERR")"

# --- not ours -------------------------------------------------------------
rm -f log
sed '/^From:/a From: mallory@example.test' other.eml > other-added.eml
check "a failing other.test signature, --domain example.test --defer: exit 0" \
    sc --domain example.test --defer other-added.eml
cmp -s "$TAP_OUT" other-added.eml && [ ! -e log ]
ok_if "... written out, nothing logged" $?
check "an unsigned message: exit 0" sc --domain example.test --defer m.eml
cmp -s "$TAP_OUT" m.eml
ok_if "... written out unchanged" $?

# --- the key record holds another key ---------------------------------------
check_status 1 "a key the record does not hold, --defer: exit 1" sc \
    --domain example.test --defer stale.eml
grep -q 'd=example.test s=sc: .*; deferred$' log
ok_if "... logged" $? "$(cat log)"

done_testing
