#!/bin/bash
# Files that cannot be used: a key or zone file that is unreadable, a
# directory, empty, corrupt or missing.  Each: exit 2 and one line on
# stderr naming the file and what is wrong, nothing on stdout.
# "Unreadable" is real: mode 000 read by an unprivileged user (setpriv
# when the tests run as root; a plain chmod otherwise).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"

"$DKIMKIT" keygen --algorithm ed25519 --domain example.test --selector ed \
    --out ed.pem > zone 2>/dev/null || bail_out "keygen failed"
printf 'From: a@example.test\nSubject: x\n\nhello\n' > m.eml
"$DKIMKIT" sign --key ed.pem --domain example.test --selector ed m.eml \
    > signed.eml || bail_out "sign failed"
mkdir keydir
: > empty.pem
{
	echo '-----BEGIN PRIVATE KEY-----'
	echo 'bm90IGEga2V5IGF0IGFsbCwganVzdCB0ZXh0Cg=='
	echo '-----END PRIVATE KEY-----'
} > corrupt.pem
head -c 40 ed.pem > cut.pem
printf 'ed._domainkey.example.test. IN TXT "v=DKIM1; p=\n' > corrupt.zone

# fails NAME PATTERN CMD...: exit 2, PATTERN on stderr, stdout empty.
fails()
{
	local name="$1" pat="$2" st=0

	shift 2
	tap_run "$@" || st=$?
	[ "$st" -eq 2 ] && grep -q -- "$pat" "$TAP_ERR" && [ ! -s "$TAP_OUT" ]
	ok_if "$name" $? "exit $st" "$(head -n 3 "$TAP_ERR")"
}

SIGN=(sign --domain example.test --selector ed)
fails "sign: key is a directory" "keydir" "$DKIMKIT" "${SIGN[@]}" \
    --key keydir m.eml
fails "sign: key file empty" "empty.pem" "$DKIMKIT" "${SIGN[@]}" \
    --key empty.pem m.eml
fails "sign: key file corrupt" "corrupt.pem" "$DKIMKIT" "${SIGN[@]}" \
    --key corrupt.pem m.eml
fails "sign: key file cut short" "cut.pem" "$DKIMKIT" "${SIGN[@]}" \
    --key cut.pem m.eml
fails "sign: key file missing" "missing.pem" "$DKIMKIT" "${SIGN[@]}" \
    --key missing.pem m.eml
fails "verify: zone is a directory" "keydir" "$DKIMKIT" verify \
    --zone keydir signed.eml
fails "verify: zone file corrupt: file and line named" "corrupt.zone:1" \
    "$DKIMKIT" verify --zone corrupt.zone signed.eml
fails "verify: zone file missing" "missing.zone" "$DKIMKIT" verify \
    --zone missing.zone signed.eml

# Mode 000.  As root the mode does not stop reading, so an unprivileged
# user runs the command (the real binary: the valgrind wrapper and its
# logs are not theirs to use).
cp ed.pem locked.pem
cp zone locked.zone
chmod 000 locked.pem locked.zone
if [ "$(id -u)" -eq 0 ]; then
	if ! command -v setpriv >/dev/null 2>&1; then
		skip "mode 000 files" "setpriv (util-linux) is not installed"
		done_testing
	fi
	chmod 755 "$TMPD"
	AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	BIN="$TOP_BUILDDIR/cli/dkimkit"
else
	AS=()
	BIN="$DKIMKIT"
fi
fails "sign: key file mode 000: permission denied" \
    "locked.pem: Permission denied" "${AS[@]}" "$BIN" "${SIGN[@]}" \
    --key locked.pem m.eml
fails "verify: zone file mode 000: permission denied" \
    "locked.zone.*Permission denied" "${AS[@]}" "$BIN" verify \
    --zone locked.zone signed.eml
done_testing
