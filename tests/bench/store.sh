#!/bin/bash
# The store benchmark's harness (bench/bench-store --tiny): its four rows run
# once with a passing verdict, the row reaches the SQLite store, and the
# report has its rows and the 5% target line.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
BENCH="$TOP_BUILDDIR/bench/bench-store"

if [ ! -x "$BENCH" ]; then
	make -C "$TOP_BUILDDIR" bench/bench-store >"$TMPD/make.log" 2>&1
fi
if [ ! -x "$BENCH" ]; then
	not_ok "bench/bench-store is built" "$BENCH is missing and could" \
	    "not be built"
	tap_diag_file "$TMPD/make.log"
	done_testing
fi
ok "bench/bench-store is built"
check "bench-store --tiny: verdicts pass, no row dropped or lost" \
    env TMPDIR="$TMPD" "$BENCH" --tiny --out "$TMPD/store.md"
grep -q '^| verify 2 KB, one DKIM signature | msg/s | [0-9]' \
    "$TMPD/store.md" &&
    grep -q '^| verify 2 KB and record its row (SQLite) | msg/s | [0-9]' \
    "$TMPD/store.md" &&
    grep -q '^| a row costs at most 5% of a 2 KB verify (SQLite) | [0-9.]* ms | [0-9.]* ms | [0-9.]* |$' \
    "$TMPD/store.md"
ok_if "bench-store --tiny: the report has its rows and the target" $? \
    "$(cat "$TMPD/store.md" 2>/dev/null)"
grep -q "^| the caller's thread alone (what the MTA waits for) | [0-9.]* ms | [0-9.]* ms | [0-9.]* |\$" \
    "$TMPD/store.md" &&
    grep -q "^| the caller's thread: build and queue | [0-9.]* us | [0-9.]* |\$" \
    "$TMPD/store.md" &&
    grep -q "^| all threads: build, queue, write, commit | [0-9.]* us | [0-9.]* |\$" \
    "$TMPD/store.md"
ok_if "bench-store --tiny: the caller's part and the row alone are reported" \
    $? "$(cat "$TMPD/store.md" 2>/dev/null)"
grep -qx 'rows written: 3' "$TMPD/store.md"
ok_if "bench-store --tiny: the row of each of the three timed runs with one was written" $? \
    "$(cat "$TMPD/store.md" 2>/dev/null)"
[ -z "$(ls -A "$TMPD" | grep -v '^store.md$\|^make.log$\|^\.tap\.')" ]
ok_if "bench-store leaves no store behind" $? "$(ls -A "$TMPD")"
done_testing
