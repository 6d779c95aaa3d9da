#!/bin/bash
# Run each libFuzzer harness for FUZZ_SECONDS (default 15) from its seed
# corpus (tests/fuzz/corpus/NAME plus the RFC examples; new inputs go to a
# temporary copy).  A
# crash, leak, sanitizer report or timeout is a failure; the input that
# caused it is kept in the log directory.  Run by the fuzzing build only.
# FUZZ_NAMES: the harnesses to run, in order (default: all).  With
# TAP_KEEP=1 the grown corpora and the logs stay for inspection (the long
# run of tests/fuzz/README was done that way).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
[ -f "$VECTORS/keys.zone" ] || bail_out "no RFC vectors in $VECTORS"
secs=${FUZZ_SECONDS:-15}
for name in ${FUZZ_NAMES:-verify records zone sign taglist dns ar filter canon spf dmarc explain arc atps report}; do
	bin="$TOP_BUILDDIR/tests/fuzz/fuzz_$name"
	if [ ! -x "$bin" ]; then
		not_ok "fuzz_$name built" "configure with --enable-fuzzing CC=clang"
		continue
	fi
	mkdir -p "$TMPD/$name"
	cp "$TOP_SRCDIR/tests/fuzz/corpus/$name/"* "$TMPD/$name/"
	# The RFC examples join the seeds at run time (from tests/vectors).
	case $name in
	verify|sign|explain) cp "$VECTORS"/*.eml "$TMPD/$name/" ;;
	zone) cp "$VECTORS/keys.zone" "$TMPD/$name/" ;;
	records) sed -n 's/^[^"]*//p' "$VECTORS/keys.zone" |
	    awk '{ gsub(/" "/, ""); gsub(/"/, ""); print > ("'"$TMPD/$name"'/rfc" NR) }' ;;
	filter)
		# Each RFC message as one session's data lines, dot-escaped.
		for f in "$VECTORS"/*.eml; do
			sed 's/\r$//; s/^\./../' "$f" | awk '
			    { printf "filter|0.6|1|smtp-in|data-line|" \
				"a1|b2|%s\n", $0 }
			    END { print "filter|0.6|1|smtp-in|data-line|a1|b2|."
				print "filter|0.6|1|smtp-in|commit|a1|b2" }' \
			    > "$TMPD/$name/${f##*/}"
		done ;;
	esac
	# TMPDIR: fuzz_filter's policy files go with the run's.
	TMPDIR="$TMPD" DKK_FUZZ_ZONE="$VECTORS/keys.zone" "$bin" \
	    -max_total_time="$secs" \
	    -max_len=16384 -timeout=10 -rss_limit_mb=512 \
	    -artifact_prefix="$TOP_BUILDDIR/tests/logs/fuzz_$name-" \
	    "$TMPD/$name" > "$TMPD/$name.log" 2>&1
	st=$?
	runs=$(grep -Eo 'Done [0-9]+ runs' "$TMPD/$name.log" | tail -n 1)
	ok_if "fuzz_$name for ${secs}s: ${runs:-no result}" $st \
	    "$(tail -n 20 "$TMPD/$name.log")"
done
done_testing
