#!/bin/bash
# The benchmark's harness (bench/bench --tiny): every row runs once on tiny
# messages, both libraries' verdicts must be pass, and the report has its
# tables (the SPF row's too).  `make check` builds bench/bench when libopendkim is installed;
# without it this test fails, loudly, rather than skip.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
BENCH="$TOP_BUILDDIR/bench/bench"
FILTER="$TOP_BUILDDIR/plugins/opensmtpd/filter-dkimkit"

if [ ! -x "$BENCH" ]; then
	make -C "$TOP_BUILDDIR" bench/bench >"$TMPD/make.log" 2>&1
fi
if [ ! -x "$BENCH" ]; then
	not_ok "bench/bench is built" "$BENCH is missing and could not be" \
	    "built (is libopendkim-dev installed? see scripts/deps)"
	tap_diag_file "$TMPD/make.log"
	done_testing
fi
ok "bench/bench is built"

check "bench --tiny: every verdict pass on both libraries" \
    "$BENCH" --tiny --filter "$FILTER" --out "$TMPD/tiny.md"
grep -q '^| verify 2 KB text, relaxed/relaxed | msg/s | ' "$TMPD/tiny.md" &&
    grep -q '^| sign 10 MB base64, simple/simple | MB/s | ' "$TMPD/tiny.md" &&
    grep -q '^| verify 10 MB text, relaxed/relaxed, ed25519 | ' \
    "$TMPD/tiny.md"
ok_if "bench --tiny: --out has the sign and verify rows" $? \
    "$(head -n 30 "$TMPD/tiny.md" 2>/dev/null)"
grep -q '^| Nettle rsa_sha256_sign_digest_tr | op/s | ' "$TMPD/tiny.md" &&
    grep -q '^| Nettle sha256_update, 10 MB in 16 KiB (cached) | MB/s | ' \
    "$TMPD/tiny.md" &&
    grep -q '^| Nettle sha256_update, 10 MB buffer (memory) | MB/s | ' \
    "$TMPD/tiny.md" &&
    grep -q '^| 100 KB text | ' "$TMPD/tiny.md" &&
    grep -q '^| verify 64 KB of one signature copied (attacker) | msg/s | ' \
    "$TMPD/tiny.md" &&
    grep -q 'filter-dkimkit' "$TMPD/tiny.md" &&
    grep -q '^| verify 2 KB text, relaxed/relaxed | [0-9.]* ms |' \
    "$TMPD/tiny.md"
ok_if "bench --tiny: Nettle floor, RSS and filter latency reported" $? \
    "$(cat "$TMPD/tiny.md" 2>/dev/null)"
grep -q '^| target | measured | goal | verdict |' "$TMPD/tiny.md"
ok_if "bench --tiny: the targets table is there" $?
# The SPF row: against libspf2 when configure found libspf2-dev (then
# the bench links it), dkimkit alone when not; either way a rate.
if nm "$BENCH" 2>/dev/null | grep -q 'U SPF_dns_zone_new' ||
    ldd "$BENCH" 2>/dev/null | grep -q libspf2; then
	grep -Eq '^\| SPF check_host, include \+ a \+ mx, zone \| eval/s \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|$' \
	    "$TMPD/tiny.md" &&
	    grep -q '^| SPF evaluations: x libspf2 eval/s (issue 20) | ' \
	    "$TMPD/tiny.md"
	ok_if "bench --tiny: SPF row against libspf2, and its target" $? \
	    "$(grep SPF "$TMPD/tiny.md")"
else
	grep -Eq '^\| SPF check_host, include \+ a \+ mx, zone \| eval/s \| [0-9.]+ \| - \(libspf2-dev missing' \
	    "$TMPD/tiny.md"
	ok_if "bench --tiny: SPF row, dkimkit alone (no libspf2-dev)" $? \
	    "$(grep SPF "$TMPD/tiny.md")"
fi
done_testing
