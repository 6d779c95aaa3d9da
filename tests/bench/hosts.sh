#!/bin/bash
# bench/hosts --quick: one round of a few messages through every host
# and peer; every row must come out with a positive rate on both sides
# (never a time or a ratio: the machine may be busy).  Needs root and
# what scripts/deps installs; a row that could not run fails here.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir

if [ "$(id -u)" -ne 0 ]; then
	skip_all "bench/hosts needs root (Exim -C, namespaces, cgroups)"
fi
for p in exim4 unshare swaks unbound rspamd; do
	command -v "$p" >/dev/null 2>&1 ||
	    skip_all "$p is not installed (scripts/deps)"
done
if [ ! -x "$TOP_BUILDDIR/plugins/opensmtpd/filter-dkimkit" ] ||
    [ ! -f "$TOP_BUILDDIR/plugins/exim/.libs/dkimkit_exim.so" ]; then
	make -C "$TOP_BUILDDIR" plugins/opensmtpd/filter-dkimkit \
	    plugins/exim/dkimkit_exim.la >"$TMPD/make.log" 2>&1
fi

check "bench/hosts --quick: every row has a rate" \
    "$TOP_SRCDIR/bench/hosts" --quick --build "$TOP_BUILDDIR" \
    --out "$TMPD/hosts.md"
[ -s "$TAP_ERR" ] && tap_diag_file "$TAP_ERR" 60

# row NAME: the row is there, and both of its rates are above zero.
row()
{
	awk -F ' *\\| *' -v name="$1" '
	    $2 == name { found = 1; ok = ($4 + 0 > 0 && $5 + 0 > 0) }
	    END { exit !(found && ok) }' "$TMPD/hosts.md"
}

for size in 2k 100k; do
	for key in RSA-2048 Ed25519; do
		for r in "Exim verify, DATA ACL" "Exim sign, smtp transport" \
		    "smtpd sign" "smtpd verify DKIM" \
		    "smtpd verify DKIM, SPF, DMARC, ARC"; do
			row "$r, $size, $key"
			ok_if "row: $r, $size, $key" $? \
			    "$(grep -F "| $r, $size, $key |" "$TMPD/hosts.md")"
		done
	done
	row "chain smtpd -> Exim -> maildir, $size, RSA-2048"
	ok_if "row: chain, $size" $? \
	    "$(grep -F "| chain smtpd -> Exim -> maildir, $size" "$TMPD/hosts.md")"
done
for key in RSA-2048 Ed25519; do
	row "Exim verify, DATA ACL, 2k, $key, 20 a connection"
	ok_if "row: Exim verify, 20 a connection, $key" $?
done
! grep -q 'not measured' "$TMPD/hosts.md"
ok_if "no row says it was not measured" $? \
    "$(grep 'not measured' "$TMPD/hosts.md")"
done_testing
