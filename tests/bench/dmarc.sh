#!/bin/bash
# The DMARC benchmark's harness (bench/bench-dmarc --tiny): every row runs
# once with DKIM and DMARC pass, the query count covers every From depth
# with the expected DMARC result, no evaluation asks more _dmarc names than
# RFC 9989's walk bound, and the report has its rows.  Then the same
# count at a loopback unbound (its query log), for `dkimkit verify --dmarc`
# from the same From depths: the queries a real resolver sees.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
DKIMKIT="$TOP_BUILDDIR/cli/dkimkit"
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

# At a loopback unbound: one dkimkit process (nothing remembered) per
# From domain; the _dmarc names in unbound's query log while it ran.
cd "$TMPD" || bail_out "no temp dir"
if ! need unbound; then
	done_testing
fi
printf '_dmarc.bench.example. 300 IN TXT "v=DMARC1; p=reject; sp=quarantine"\n' \
    > dmarc.zone
"$DKIMKIT" keygen --algorithm ed25519 --domain bench.example --selector s \
    --out k.pem >> dmarc.zone 2> keygen.err ||
    bail_out "keygen: $(cat keygen.err)"
if ! unbound_start dmarc.zone; then
	not_ok "unbound serves the DMARC zone"
	done_testing
fi
LOG="$UNBOUND_DIR/unbound.log"
while read -r from want; do
	printf 'From: <a@%s>\r\nSubject: walk\r\n\r\nHello.\r\n' "$from" > m.eml
	"$DKIMKIT" sign --key k.pem --domain bench.example --selector s \
	    m.eml > s.eml 2> sign.err || bail_out "sign: $(cat sign.err)"
	before=$(grep -c ' _dmarc\.' "$LOG")
	"$DKIMKIT" verify --dns "127.0.0.1@$UNBOUND_PORT" --dmarc --json s.eml \
	    > v.json 2> v.err
	got=$(sed -n 's/.*"dmarc":{"result":"\([a-z]*\)".*/\1/p' v.json)
	n=$(($(grep -c ' _dmarc\.' "$LOG") - before))
	[ "$got" = "$want" ] && [ "$n" -ge 1 ] && [ "$n" -le 8 ]
	ok_if "From $from: DMARC $want, $n _dmarc queries at unbound (<= 8)" \
	    $? "dmarc ${got:-missing} $(cat v.err)"
done <<'EOF2'
bench.example pass
mail.bench.example pass
x.y.mail.bench.example pass
a.b.c.d.e.f.g.h.i.bench.example pass
no-policy.example none
a.b.c.d.e.f.g.h.i.j.no-policy.example none
EOF2
unbound_stop
done_testing
