#!/bin/bash
# The README's first steps from a fresh clone in a private folder: this
# checkout's HEAD, cloned with git into a folder of mode 0700 (as
# `mktemp -d` makes them) with nothing beside it, built there with
# scripts/build, its unit tests run (the RFC vectors are in the tree),
# and the main job, scripts/mailchain, run from it.  Exim, OpenSMTPD and
# Dovecot run as users who cannot enter that folder, so the chain works
# only when what they load is installed out of it (tests/lib/install.sh).
# Uncommitted changes are not in the clone.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (exim4 -C, mount namespaces)"
for prog in git setpriv exim4 unbound ldns-signzone swaks dovecot unshare; do
	have "$prog" || skip_all "$prog is not installed"
done
head=$(git -C "$TOP_SRCDIR" rev-parse --verify -q HEAD) ||
    skip_all "$TOP_SRCDIR is not a git checkout"
C="$TMPD/clone"
# What make check hands its programs is the outer build's, not the
# clone's; and no make flags of the outer run leak into the clone's.
CLEAN=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u VECTORS -u DKK_VECTORS
    -u TOP_SRCDIR -u TOP_BUILDDIR -u DKIMKIT)

# nobody_reaches PATH: true when user nobody can read PATH.
nobody_reaches()
{
	setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$1"
}

chmod 700 "$TMPD"
check "git clone into a folder of mode 0700" \
    git clone -q --no-hardlinks "$TOP_SRCDIR" "$C" ||
    bail_out "cannot clone $TOP_SRCDIR"
git -C "$C" checkout -q --detach "$head" || bail_out "cannot check out $head"
# scripts/deps keeps OpenSMTPD's .deb in build/debs: the clone gets the
# one already fetched rather than fetching it again.
if ls "$TOP_SRCDIR"/build/debs/opensmtpd_*.deb >/dev/null 2>&1; then
	mkdir -p "$C/build/debs" &&
	    cp "$TOP_SRCDIR"/build/debs/opensmtpd_*.deb "$C/build/debs/"
fi

git -C "$C" grep -n -e '\.\./shared' -- ':!tests/integration/clone.sh' \
    > shared.txt
[ ! -s shared.txt ]
ok_if "nothing in the tree names ../shared" $? "$(cat shared.txt)"

(cd "$C" && "${CLEAN[@]}" ./scripts/build default) > build.out 2> build.err
ok_if "scripts/build default in the clone" $? "$(tail -n 20 build.err)"
[ -x "$C/build/default/cli/dkimkit" ] || done_testing
# Nothing on stderr: not autoreconf's notes, not configure's "rm: cannot
# remove 'core': Is a directory", no warning.
[ ! -s build.err ]
ok_if "the build prints nothing on stderr" $? "$(cat build.err)"
[ ! -e "$C/build/default/confdefs.h" ]
ok_if "configure cleaned up after itself (no confdefs.h)" $?

"${CLEAN[@]}" make -C "$C/build/default" check TEST_FILTER=tests/unit \
    > unit.out 2>&1
grep -Eq '^[1-9][0-9]* passed, 0 failed$' unit.out
ok_if "the unit tests pass in the clone, with no ../shared beside it" $? \
    "$(grep -E 'not ok|passed' unit.out | tail -n 20)"

! nobody_reaches "$C/build/default/plugins/opensmtpd/filter-dkimkit"
ok_if "the clone's build is closed to other users (nobody)" $?

"${CLEAN[@]}" timeout 300 "$C/scripts/mailchain" \
    --build "$C/build/default" > chain.out 2>&1
st=$?
[ "$st" -eq 0 ] && grep -q '^All four verdicts are the expected ones\.$' \
    chain.out
ok_if "scripts/mailchain from the clone: exit 0, the four verdicts" $? \
    "exit $st" "$(tail -n 30 chain.out)"
done_testing
