#!/bin/bash
# The DMARC benchmark's harness (bench/bench-dmarc --tiny): every row runs
# once with DKIM and DMARC pass, the query count covers every From depth
# with the expected DMARC result, no evaluation asks more _dmarc names than
# RFC 9989's walk bound, and the report has its rows.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
BENCH="$TOP_BUILDDIR/bench/bench-dmarc"

if [ ! -x "$BENCH" ]; then
	make -C "$TOP_BUILDDIR" bench/bench-dmarc >"$TMPD/make.log" 2>&1
fi
if [ ! -x "$BENCH" ]; then
	not_ok "bench/bench-dmarc is built" "$BENCH is missing and could" \
	    "not be built"
	tap_diag_file "$TMPD/make.log"
	done_testing
fi
ok "bench/bench-dmarc is built"
check "bench-dmarc --tiny: every verdict as expected, walks within 8" \
    "$BENCH" --tiny --out "$TMPD/dmarc.md"
grep -q '^| verify 2 KB, one DKIM signature, DMARC off | msg/s | [0-9]' \
    "$TMPD/dmarc.md" &&
    grep -q '^| verify 2 KB and DMARC, From bench.example | msg/s | [0-9]' \
    "$TMPD/dmarc.md" &&
    grep -q '^| DMARC adds at most 10%: From bench.example | [0-9.]* ms | ' \
    "$TMPD/dmarc.md"
ok_if "bench-dmarc --tiny: the report has its rows and the target" $? \
    "$(cat "$TMPD/dmarc.md" 2>/dev/null)"
# The deepest From names take the longest walk: 8 _dmarc queries
# (the name, then 7 labels down to 1), never more.
rows=$(grep -c '^| [a-z.-]* | [0-9]* | [0-9]* | [0-9]* | \(pass\|none\) | ' \
    "$TMPD/dmarc.md")
[ "$rows" -eq 6 ]
ok_if "bench-dmarc --tiny: a query count for each of the 6 From domains" \
    $? "$rows rows"
max=$(sed -n 's/^largest number of _dmarc queries in one evaluation: \([0-9]*\) .*/\1/p' \
    "$TMPD/dmarc.md")
[ -n "$max" ] && [ "$max" -ge 1 ] && [ "$max" -le 8 ]
ok_if "bench-dmarc --tiny: at most 8 _dmarc queries an evaluation" $? \
    "largest: ${max:-missing}"
done_testing
