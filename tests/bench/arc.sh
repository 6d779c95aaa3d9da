#!/bin/bash
# The ARC benchmark's harness (bench/bench-arc --tiny): every row runs
# once, the chains verify as pass, sealing adds a set, and the report has
# its rows and the two targets of issue 21.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
BENCH="$TOP_BUILDDIR/bench/bench-arc"

if [ ! -x "$BENCH" ]; then
	make -C "$TOP_BUILDDIR" bench/bench-arc >"$TMPD/make.log" 2>&1
fi
if [ ! -x "$BENCH" ]; then
	not_ok "bench/bench-arc is built" "$BENCH is missing and could not" \
	    "be built"
	tap_diag_file "$TMPD/make.log"
	done_testing
fi
ok "bench/bench-arc is built"
check "bench-arc --tiny: every verdict as expected" \
    "$BENCH" --tiny --out "$TMPD/arc.md"
grep -q '^| verify 2 KB, DKIM and a three-set ARC chain | msg/s | [0-9]' \
    "$TMPD/arc.md" &&
    grep -q '^| seal 2 KB with a two-set chain (verify, add set 3) | msg/s | ' \
    "$TMPD/arc.md" &&
    grep -q '^| verify, three-set chain <= 7 DKIM verifications | ' \
    "$TMPD/arc.md" &&
    grep -q '^| seal <= verify + 2 signatures | ' "$TMPD/arc.md"
ok_if "bench-arc --tiny: the report has its rows" $? \
    "$(cat "$TMPD/arc.md" 2>/dev/null)"
done_testing
