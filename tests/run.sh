#!/bin/bash
# tests/run.sh: the `make check` driver.
#
#   TOP_SRCDIR=... TOP_BUILDDIR=... tests/run.sh [FILTER]
#
# Runs, in order, $TOP_BUILDDIR/tests/unit/unit and then every
# tests/cli/*.sh, tests/bench/*.sh, tests/interop/*.sh and
# tests/integration/*.sh of
# $TOP_SRCDIR (each directory sorted), only those whose path contains FILTER
# when one is given.  Every program prints TAP on stdout ("ok N - name",
# "not ok N - name", "ok N - name # SKIP reason", a plan "1..N") and
# diagnostics on stderr.  Their output is kept in a directory of its own
# per run, $TOP_BUILDDIR/tests/logs/run-DATE-PID/ (NAME.tap: stdout,
# NAME.err: stderr, NAME.status: exit status), so that two runs at once do
# not mix their logs; tests/logs/latest points at the newest, and only the
# last 10 runs are kept.
#
# A program counts one extra failure, named after it, when it exits
# non-zero without printing "not ok", prints no plan, prints a number of
# results different from its plan, bails out, or runs longer than
# TEST_TIMEOUT seconds (default 900).  "not ok ... # TODO" counts as a
# skip.  With CI=true a skip also counts as a failure.  Each program gets a
# line "NAME: P passed, F failed, S skipped (Ts)"; every failure and skip is
# echoed as "NAME: LINE".  The last line is the summary, alone on its line:
#   N passed, N failed[, N skipped]
# and the exit status is 0 only when nothing failed.
#
# TEST_JOBS=N (default 1) runs up to N programs at once: most of them wait
# on servers and sockets more than they compute, so two on a 2-core
# machine take little more than half the time.  The programs that time
# things (tests/bench/, TEST_SERIAL, an extended regex) still run one at
# a time, after the others, with nothing beside them.  Each program's
# lines are printed when it ends, in the order of the list.  The tests
# are made for this: every server gets its own ports (tests/lib/ports.sh),
# folders and, where it needs fixed paths or port 53, its own mount or
# network namespace.
#
# Environment given to the programs: TOP_SRCDIR, TOP_BUILDDIR, DKIMKIT
# ($TOP_BUILDDIR/cli/dkimkit), VECTORS (the RFC examples,
# $TOP_SRCDIR/tests/vectors unless set) and DKK_VECTORS (the unit tests'
# name for VECTORS), PYTHON (/usr/bin/python3 unless set).
#
# VALGRIND=1: DKIMKIT is a wrapper that runs the command under valgrind's
# memcheck (tests/valgrind.supp for library noise), reports in
# LOGDIR/valgrind/.  An error or a definite or indirect leak makes the
# command exit 99; and since a test expecting a failure would take 99 for
# one, any report left in that directory also counts as a failure
# ("valgrind") at the end.  Still-reachable blocks are not counted.

# make's $(SHELL) may be a plain sh: this script needs bash.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

set -u

TOP_SRCDIR="${TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}"
TOP_BUILDDIR="${TOP_BUILDDIR:-$TOP_SRCDIR}"
DKIMKIT="$TOP_BUILDDIR/cli/dkimkit"
VECTORS="${VECTORS:-$TOP_SRCDIR/tests/vectors}"
DKK_VECTORS="${DKK_VECTORS:-$VECTORS}"
PYTHON="${PYTHON:-/usr/bin/python3}"
export TOP_SRCDIR TOP_BUILDDIR DKIMKIT VECTORS DKK_VECTORS PYTHON

FILTER="${1:-${TEST_FILTER:-}}"
# TEST_EXCLUDE: an extended regex; programs whose path (tests/DIR/NAME.sh)
# matches are not run (the sanitizer build leaves out the main job, whose
# servers start without the sanitizers' runtime).  TEST_DIRS: the
# directories.
EXCLUDE="${TEST_EXCLUDE:-}"
DIRS="${TEST_DIRS:-cli bench interop integration}"
LOGROOT="$TOP_BUILDDIR/tests/logs"
LOGDIR="$LOGROOT/run-$(date +%Y%m%d-%H%M%S)-$$"
TIMEOUT="${TEST_TIMEOUT:-900}"
IN_CI=0
[ "${CI:-}" = true ] && IN_CI=1

PASSED=0
FAILED=0
SKIPPED=0
RAN=0

# TAP result lines; directives are case-insensitive (TAP 13).
RE_OK='^ok($|[[:space:]])'
RE_NOTOK='^not ok($|[[:space:]])'
RE_SKIP='^ok[^#]*#[[:space:]]*[Ss][Kk][Ii][Pp]'
RE_TODO='^not ok[^#]*#[[:space:]]*[Tt][Oo][Dd][Oo]'

# report PROGRAM LINE: one line for the person reading `make check`.
report()
{
	printf '%s: %s\n' "$1" "$2"
}

# extra_failure PROGRAM REASON
extra_failure()
{
	FAILED=$((FAILED + 1))
	report "$1" "not ok - $1: $2"
}

# count_skip PROGRAM LINE
count_skip()
{
	SKIPPED=$((SKIPPED + 1))
	if [ "$IN_CI" -eq 1 ]; then
		FAILED=$((FAILED + 1))
		report "$1" "skipped in CI: $2"
	else
		report "$1" "$2"
	fi
}

# show_stderr NAME: the end of a failing program's stderr.
show_stderr()
{
	[ -s "$LOGDIR/$1.err" ] || return 0
	printf '%s: --- last lines of %s ---\n' "$1" "$LOGDIR/$1.err"
	tail -n 25 "$LOGDIR/$1.err" | sed "s|^|$1:   |"
}

# tally NAME STATUS: count the TAP in $LOGDIR/NAME.tap.
tally()
{
	local name="$1" st="$2" line plan= results=0 notok=0 bailed=0 why
	local diag=0
	local before="$FAILED"

	while IFS= read -r line || [ -n "$line" ]; do
		line="${line%$'\r'}"
		# "#" lines right after a failure explain it.
		if [ "$diag" -eq 1 ] && [[ "$line" =~ ^# ]]; then
			report "$name" "$line"
			continue
		fi
		diag=0
		if [[ "$line" =~ $RE_NOTOK ]]; then
			results=$((results + 1))
			if [[ "$line" =~ $RE_TODO ]]; then
				count_skip "$name" "$line"
			else
				notok=$((notok + 1))
				FAILED=$((FAILED + 1))
				report "$name" "$line"
				diag=1
			fi
		elif [[ "$line" =~ $RE_OK ]]; then
			results=$((results + 1))
			if [[ "$line" =~ $RE_SKIP ]]; then
				count_skip "$name" "$line"
			else
				PASSED=$((PASSED + 1))
			fi
		elif [[ "$line" =~ ^Bail\ out! ]]; then
			bailed=1
		elif [[ "$line" =~ ^1\.\. ]] && [ -z "$plan" ]; then
			plan="$line"
		fi
	done <"$LOGDIR/$name.tap"

	if [ "$bailed" -eq 1 ]; then
		extra_failure "$name" "bailed out: $(grep -m1 '^Bail out!' \
		    "$LOGDIR/$name.tap")"
	fi
	if [ "$st" -eq 124 ] && [ "${#TIMEOUT_CMD[@]}" -gt 0 ]; then
		# Cut short: the plan says nothing more.
		extra_failure "$name" "killed after ${TIMEOUT}s (TEST_TIMEOUT)"
		plan=timeout
	elif [ "$st" -ne 0 ] && [ "$notok" -eq 0 ] && [ "$bailed" -eq 0 ]; then
		extra_failure "$name" "exited with status $st"
	fi
	if [ "$plan" = timeout ]; then
		:
	elif [ -z "$plan" ]; then
		extra_failure "$name" "printed no plan (1..N): crashed or cut short?"
	elif printf '%s\n' "$plan" | grep -Eq '^1\.\.0([^0-9]|$)'; then
		[ "$results" -eq 0 ] || extra_failure "$name" \
		    "plan 1..0 but $results results"
		why="${plan#1..0}"
		why="${why#*[Ss][Kk][Ii][Pp]}"
		count_skip "$name" "ok - $name # SKIP whole program:$why"
	else
		plan="${plan#1..}"
		plan="${plan%%[!0-9]*}"
		if [ -z "$plan" ]; then
			extra_failure "$name" "unreadable plan line"
		elif [ "$results" -lt "$plan" ]; then
			extra_failure "$name" \
			    "printed $results results of the $plan planned"
		elif [ "$results" -gt "$plan" ]; then
			extra_failure "$name" \
			    "printed $results results, more than the $plan planned"
		fi
	fi
	[ "$FAILED" -eq "$before" ] || show_stderr "$name"
}

# run_one PATH NAME CMD...: run one program, keep its output, count it.
# start_one NAME CMD...: start a program in the background; its status
# and run time land in NAME.status and NAME.secs.
start_one()
{
	local name="$1"

	shift
	(
		t0=$SECONDS st=0
		(cd "$TOP_BUILDDIR" &&
		    exec ${TIMEOUT_CMD[@]+"${TIMEOUT_CMD[@]}"} "$@") \
		    >"$LOGDIR/$name.tap" 2>"$LOGDIR/$name.err" </dev/null || st=$?
		printf '%s\n' $((SECONDS - t0)) >"$LOGDIR/$name.secs"
		printf '%s\n' "$st" >"$LOGDIR/$name.status"
	) &
}

# finish_one NAME: count a program that has ended.
finish_one()
{
	local name="$1" p0="$PASSED" f0="$FAILED" s0="$SKIPPED"

	RAN=$((RAN + 1))
	tally "$name" "$(cat "$LOGDIR/$name.status")"
	printf '%s: %d passed, %d failed, %d skipped (%ss)\n' "$name" \
	    $((PASSED - p0)) $((FAILED - f0)) $((SKIPPED - s0)) \
	    "$(cat "$LOGDIR/$name.secs")"
}

# The list to run: each program's name, path and whether it runs alone.
NAMES=()
SERIAL=()
declare -A PROG

# queue NAME SERIAL PATH: a *.sh runs under bash, anything else as it is.
queue()
{
	NAMES+=("$1")
	SERIAL+=("$2")
	PROG[$1]="$3"
}

# start_queued NAME
start_queued()
{
	local prog="${PROG[$1]}"

	case "$prog" in
	*.sh) start_one "$1" bash "$prog" ;;
	*) start_one "$1" "$prog" ;;
	esac
}

# run_queue JOBS FIRST LAST: the programs FIRST..LAST of the list, up to
# JOBS at once, counted in list order as they end.
run_queue()
{
	local jobs="$1" i="$2" last="$3" next="$2" running=0

	while [ "$i" -le "$last" ]; do
		while [ "$running" -lt "$jobs" ] && [ "$next" -le "$last" ]; do
			start_queued "${NAMES[next]}"
			next=$((next + 1))
			running=$((running + 1))
		done
		wait -n 2>/dev/null || true
		running=0
		local k
		for ((k = i; k < next; k++)); do
			[ -e "$LOGDIR/${NAMES[k]}.status" ] ||
			    running=$((running + 1))
		done
		while [ "$i" -lt "$next" ] &&
		    [ -e "$LOGDIR/${NAMES[i]}.status" ]; do
			finish_one "${NAMES[i]}"
			i=$((i + 1))
		done
	done
}

selected()
{
	if [ -n "$EXCLUDE" ] && printf '%s\n' "$1" | grep -Eq -- "$EXCLUDE"; then
		return 1
	fi
	[ -z "$FILTER" ] && return 0
	case "$1" in
	*"$FILTER"*) return 0 ;;
	esac
	return 1
}

TIMEOUT_CMD=()
if command -v timeout >/dev/null 2>&1; then
	TIMEOUT_CMD=(timeout --kill-after=10 "$TIMEOUT")
fi

if ! mkdir -p "$LOGDIR"; then
	printf 'run.sh: cannot create %s\n' "$LOGDIR" >&2
	printf '0 passed, 1 failed\n'
	exit 1
fi
ln -sfn "${LOGDIR##*/}" "$LOGROOT/latest" 2>/dev/null
# Keep the last 10 runs.
find "$LOGROOT" -mindepth 1 -maxdepth 1 -type d -name 'run-*' 2>/dev/null |
    LC_ALL=C sort | head -n -10 | while IFS= read -r old; do
	rm -rf -- "$old"
done

if [ "${VALGRIND:-0}" = 1 ]; then
	mkdir -p "$LOGDIR/valgrind"
	{
		printf '#!/bin/sh\n'
		printf 'exec valgrind -q --error-exitcode=99 --leak-check=full'
		printf ' --errors-for-leak-kinds=definite,indirect'
		printf ' --show-leak-kinds=definite,indirect'
		printf ' --suppressions=%q --log-file=%q %q "$@"\n' \
		    "$TOP_SRCDIR/tests/valgrind.supp" \
		    "$LOGDIR/valgrind/%p.log" "$DKIMKIT"
	} >"$LOGDIR/dkimkit-valgrind"
	chmod +x "$LOGDIR/dkimkit-valgrind"
	DKIMKIT="$LOGDIR/dkimkit-valgrind"
fi

JOBS="${TEST_JOBS:-1}"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || JOBS=1
SERIAL_RE="${TEST_SERIAL:-^tests/bench/}"

if selected "tests/unit/unit"; then
	if [ -x "$TOP_BUILDDIR/tests/unit/unit" ]; then
		queue unit 0 "$TOP_BUILDDIR/tests/unit/unit"
	else
		RAN=$((RAN + 1))
		count_skip unit "ok - unit # SKIP $TOP_BUILDDIR/tests/unit/unit not built (CUnit missing at configure time?)"
	fi
fi

for dir in $DIRS; do
	while IFS= read -r prog; do
		[ -n "$prog" ] || continue
		rel="tests/$dir/${prog##*/}"
		selected "$rel" || continue
		name="$dir-${prog##*/}"
		name="${name%.sh}"
		serial=0
		if [ "$JOBS" -gt 1 ] && printf '%s\n' "$rel" | grep -Eq -- "$SERIAL_RE"
		then
			serial=1
		fi
		queue "$name" "$serial" "$prog"
	done < <(find "$TOP_SRCDIR/tests/$dir" -maxdepth 1 -type f \
	    -name '*.sh' 2>/dev/null | LC_ALL=C sort)
done

# With JOBS > 1: the others first, then the serial ones alone.  The list
# keeps its order within each group.
if [ "$JOBS" -gt 1 ]; then
	ORDER=()
	for pass in 0 1; do
		for ((n = 0; n < ${#NAMES[@]}; n++)); do
			[ "${SERIAL[n]}" = "$pass" ] && ORDER+=("${NAMES[n]}")
		done
	done
	nparallel=0
	for serial in "${SERIAL[@]}"; do
		[ "$serial" = 1 ] || nparallel=$((nparallel + 1))
	done
	NAMES=("${ORDER[@]}")
	run_queue "$JOBS" 0 $((nparallel - 1))
	run_queue 1 "$nparallel" $((${#NAMES[@]} - 1))
else
	run_queue 1 0 $((${#NAMES[@]} - 1))
fi

if [ "${VALGRIND:-0}" = 1 ]; then
	for log in "$LOGDIR"/valgrind/*.log; do
		[ -s "$log" ] || continue
		extra_failure valgrind "memcheck report in $log"
		sed 's/^/valgrind:   /' "$log" | head -n 40
	done
fi

if [ "$RAN" -eq 0 ]; then
	FAILED=$((FAILED + 1))
	printf 'run.sh: no test program matches "%s"\n' "$FILTER"
fi
printf 'logs: %s\n' "$LOGDIR"
if [ "$SKIPPED" -gt 0 ]; then
	printf '%d passed, %d failed, %d skipped\n' \
	    "$PASSED" "$FAILED" "$SKIPPED"
else
	printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
fi
[ "$FAILED" -eq 0 ]
