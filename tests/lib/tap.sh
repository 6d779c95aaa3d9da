# tests/lib/tap.sh: TAP helpers for the shell test programs.  Sourced, not run.
#
#   . "$TOP_SRCDIR/tests/lib/tap.sh"
#   tmpdir                         # TMPD: a fresh directory, removed on exit
#   need openssl python3:dkim perl:Mail::DKIM || ...   # loud SKIP when missing
#   check "sign rsa" "$DKIMKIT" sign ... msg.eml       # ok when it exits 0
#   check_fails "tampered body fails" ...              # ok when it exits != 0
#   check_status 1 "verify exits 1" ...                # ok on that exact status
#   ok "name"; not_ok "name" "why"; skip "name" "reason"
#   done_testing                   # prints the plan, exits 1 if anything failed
#
# Results go to stdout as TAP ("ok N - name", "not ok N - name",
# "ok N - name # SKIP reason"), diagnostics to stderr as "# ..." lines.
# With CI=true a skip is printed as a failure: CI must not skip silently.
# After check*, the command's output is in the files "$TAP_OUT" (stdout) and
# "$TAP_ERR" (stderr) until the next check.
#
# Set TAP_KEEP=1 to keep temporary directories for inspection.

TAP_N=0
TAP_FAILED=0
TAP_PLANNED=
TAP_OUT=
TAP_ERR=
TAP_AT_EXIT=()

# tap_diag LINE...: diagnostic lines on stderr, each prefixed "# ".
tap_diag()
{
	local line

	for line in "$@"; do
		printf '# %s\n' "$line" >&2
	done
}

# tap_diag_file FILE [MAX]: the first MAX (40) lines of FILE as diagnostics.
tap_diag_file()
{
	local n=0 max="${2:-40}" line

	[ -s "$1" ] || return 0
	while IFS= read -r line || [ -n "$line" ]; do
		n=$((n + 1))
		if [ "$n" -gt "$max" ]; then
			tap_diag "    ... (more in $1)"
			break
		fi
		tap_diag "    $line"
	done <"$1"
}

# plan N: announce N results up front (or call done_testing at the end).
plan()
{
	TAP_PLANNED="$1"
	printf '1..%s\n' "$1"
}

# skip_all REASON: the whole program does not apply here.
skip_all()
{
	if [ "${CI:-}" = true ]; then
		printf 'not ok 1 - %s: skipped in CI: %s\n' "${0##*/}" "$1"
		printf '1..1\n'
		tap_diag "SKIPPED IN CI (counts as a failure): $1"
		exit 1
	fi
	tap_diag "SKIP (whole program): $1"
	printf '1..0 # SKIP %s\n' "$1"
	exit 0
}

ok()
{
	TAP_N=$((TAP_N + 1))
	TAP_LAST=0
	printf 'ok %d - %s\n' "$TAP_N" "$1"
}

# not_ok NAME [DIAGNOSTIC...]
not_ok()
{
	TAP_N=$((TAP_N + 1))
	TAP_FAILED=$((TAP_FAILED + 1))
	TAP_LAST=1
	printf 'not ok %d - %s\n' "$TAP_N" "$1"
	shift
	tap_diag "$@"
}

# skip NAME REASON: loud; a failure when CI=true.
skip()
{
	TAP_N=$((TAP_N + 1))
	if [ "${CI:-}" = true ]; then
		TAP_FAILED=$((TAP_FAILED + 1))
		printf 'not ok %d - %s: skipped in CI: %s\n' "$TAP_N" "$1" "$2"
		tap_diag "SKIPPED IN CI (counts as a failure): $1: $2"
		return 0
	fi
	printf 'ok %d - %s # SKIP %s\n' "$TAP_N" "$1" "$2"
	tap_diag "SKIP: $1: $2"
}

# ok_if NAME COND_STATUS [DIAGNOSTIC...]: ok when COND_STATUS is 0.
ok_if()
{
	local name="$1" st="$2"

	shift 2
	if [ "$st" -eq 0 ]; then
		ok "$name"
	else
		not_ok "$name" "$@"
	fi
}

# tap_last_ok: true when the last test passed.  ok_if and not_ok return 0
# either way (the scripts sourcing smtpd.sh run under set -e), so diagnostics
# for a failure are written "ok_if ...; tap_last_ok || explain ...".
tap_last_ok()
{
	[ "${TAP_LAST:-0}" -eq 0 ]
}

# tap_run CMD...: run CMD with its output in $TAP_OUT/$TAP_ERR; returns its
# exit status.
tap_run()
{
	[ -n "${TMPD:-}" ] || tmpdir
	[ -d "$TMPD" ] || bail_out "the temporary directory $TMPD has gone"
	TAP_OUT="$TMPD/.tap.out"
	TAP_ERR="$TMPD/.tap.err"
	"$@" >"$TAP_OUT" 2>"$TAP_ERR" </dev/null
}

# tap_explain STATUS CMD...: diagnostics for a check that went wrong.
tap_explain()
{
	local st="$1" q

	shift
	printf -v q '%q ' "$@"
	tap_diag "command: ${q% }" "exit status: $st"
	if [ -s "$TAP_OUT" ]; then
		tap_diag "stdout:"
		tap_diag_file "$TAP_OUT"
	fi
	if [ -s "$TAP_ERR" ]; then
		tap_diag "stderr:"
		tap_diag_file "$TAP_ERR"
	fi
}

# check NAME CMD...: ok when CMD exits 0.
check()
{
	local name="$1" st=0

	shift
	tap_run "$@" || st=$?
	if [ "$st" -eq 0 ]; then
		ok "$name"
		return 0
	fi
	not_ok "$name"
	tap_explain "$st" "$@"
	return 1
}

# check_fails NAME CMD...: ok when CMD exits non-zero (but was found and ran:
# 126/127 "cannot execute / not found" are failures).
check_fails()
{
	local name="$1" st=0

	shift
	tap_run "$@" || st=$?
	if [ "$st" -ne 0 ] && [ "$st" -ne 126 ] && [ "$st" -ne 127 ]; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "expected a non-zero exit status"
	tap_explain "$st" "$@"
	return 1
}

# check_status N NAME CMD...: ok when CMD exits exactly N.
check_status()
{
	local want="$1" name="$2" st=0

	shift 2
	tap_run "$@" || st=$?
	if [ "$st" -eq "$want" ]; then
		ok "$name"
		return 0
	fi
	not_ok "$name" "expected exit status $want"
	tap_explain "$st" "$@"
	return 1
}

# have SPEC: true when SPEC is available, silently.  SPEC is a program
# name, "python3:MODULE" (checked with $PYTHON) or "perl:Module::Name".
have()
{
	case "$1" in
	python3:*)
		"${PYTHON:-/usr/bin/python3}" -c "import ${1#python3:}" \
		    >/dev/null 2>&1
		;;
	perl:*)
		perl -M"${1#perl:}" -e 1 >/dev/null 2>&1
		;;
	*)
		command -v "$1" >/dev/null 2>&1
		;;
	esac
}

# need SPEC...: returns 1, with one loud SKIP (a failure when CI=true) per
# missing SPEC, when any is missing.
need()
{
	local spec missing=0

	for spec in "$@"; do
		have "$spec" && continue
		skip "need $spec" "$spec is not installed"
		missing=1
	done
	return "$missing"
}

# at_exit CMD...: run CMD (one command, its words as given) when the
# program exits; the last registered runs first.
at_exit()
{
	local q

	printf -v q '%q ' "$@"
	TAP_AT_EXIT+=("$q")
}

tap_exit_hooks()
{
	local st=$? i

	trap - EXIT
	for ((i = ${#TAP_AT_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${TAP_AT_EXIT[$i]}" || true
	done
	exit "$st"
}

trap tap_exit_hooks EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# tmpdir [VAR]: make a directory with mktemp -d, store its path in VAR
# (default TMPD) and remove it on exit (unless TAP_KEEP=1).
tmpdir()
{
	local var="${1:-TMPD}" d

	d="$(mktemp -d "${TMPDIR:-/tmp}/dkimkit-test.XXXXXX")" || {
		tap_diag "mktemp -d failed"
		exit 2
	}
	printf -v "$var" '%s' "$d"
	if [ "${TAP_KEEP:-0}" = 1 ]; then
		tap_diag "keeping $d (TAP_KEEP=1)"
	else
		at_exit rm -rf -- "$d"
	fi
}

# bail_out REASON: stop the program; run.sh counts it as a failure.
bail_out()
{
	printf 'Bail out! %s\n' "$1"
	exit 2
}

# done_testing: print the plan if not given, exit 1 if anything failed.
done_testing()
{
	if [ -z "$TAP_PLANNED" ]; then
		printf '1..%d\n' "$TAP_N"
	elif [ "$TAP_PLANNED" -ne "$TAP_N" ]; then
		tap_diag "planned $TAP_PLANNED results, printed $TAP_N"
		exit 1
	fi
	[ "$TAP_FAILED" -eq 0 ] || exit 1
	exit 0
}
