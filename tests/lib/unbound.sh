# tests/lib/unbound.sh: a real unbound on loopback serving test zone files.
# Sourced, not run.
#
#   . "$TOP_SRCDIR/tests/lib/unbound.sh"
#   unbound_start keys.zone more.zone || skip ...
#   drill -p "$UNBOUND_PORT" @127.0.0.1 sel._domainkey.example.test TXT
#   unbound_stop                      # also done on exit
#
# Each call starts one more server (in its own directory); the variables
# below describe the newest one.  unbound_stop stops the newest one (or the
# one whose PID is given); on exit every server started is stopped.
#
# unbound_start ZONEFILE... runs unbound in the foreground (-d), as a
# background process of this shell, in a fresh temporary directory: no
# chroot, no user switch, no remote control, no DNSSEC module, IPv4 only.
# Every record of the RFC 1035 zone files (normalised by ldns-read-zone, so
# $ORIGIN, $TTL, parentheses and multi-string TXT records work; DNSSEC
# records are dropped) becomes a local-data line.  "." and every SOA owner
# are `static` local zones, so a name that is not in the files gets NXDOMAIN
# (with an SOA) and nothing is ever looked up on the Internet.
#
# It sets UNBOUND_PORT, UNBOUND_ADDR, UNBOUND_PID, UNBOUND_DIR and returns
# 0 once the server answers, or 1 (with the reason on stderr) if it could
# not start.  Settings read by unbound_start:
#   UNBOUND_ADDR        address to listen on (127.0.0.1)
#   UNBOUND_FIXED_PORT  listen on this port instead of a free high one
#   UNBOUND_WRAP        array: command prefix for unbound and the readiness
#                       query (e.g. (nsenter --target PID --net --mount) to
#                       run it in another network namespace)
#   UNBOUND_EXTRA       more "server:" lines for unbound.conf, verbatim
# Needs: unbound, ldns-read-zone (ldnsutils), drill or dig.

UNBOUND_PORT=
UNBOUND_PID=
UNBOUND_DIR=
UNBOUND_ALL_PIDS=()
UNBOUND_ALL_DIRS=()

# unbound_query NAME [TYPE]: ask the running unbound, print the answer.
unbound_query()
{
	local wrap=()

	[ -n "${UNBOUND_WRAP+set}" ] && wrap=("${UNBOUND_WRAP[@]}")
	if command -v drill >/dev/null 2>&1; then
		${wrap[@]+"${wrap[@]}"} drill -p "$UNBOUND_PORT" \
		    "@$UNBOUND_ADDR" "$1" "${2:-TXT}"
	else
		${wrap[@]+"${wrap[@]}"} dig -p "$UNBOUND_PORT" \
		    "@$UNBOUND_ADDR" +tries=1 +time=2 "$1" "${2:-TXT}"
	fi
}

# unbound_zone_strict ZONEFILE: ldns-read-zone is lenient (an unterminated
# quote or a stray word passes), so when dnspython is there, a zone file
# must also pass its RFC 1035 parser.
unbound_zone_strict()
{
	local py="${PYTHON:-/usr/bin/python3}"

	"$py" -c 'import dns.zone' >/dev/null 2>&1 || return 0
	"$py" - "$1" <<'PYEOF'
import re
import sys
import dns.name
import dns.zone

path = sys.argv[1]
try:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    # Owners may lie anywhere in the tree and there need be no SOA; an
    # added first line gives a default TTL.
    dns.zone.from_text("$TTL 3600\n" + text, origin=dns.name.root,
                       relativize=False, check_origin=False)
except Exception as e:
    why = re.sub(r"^<string>:(\d+):", r"near line \1 (a $TTL line added on top):", str(e))
    sys.exit("unbound_start: %s: not a valid zone file: %s" % (path, why))
PYEOF
}

# unbound_conf_zones ZONEFILE...: the local-zone/local-data lines.
unbound_conf_zones()
{
	local zf rrs rootsoa=0

	for zf in "$@"; do
		if [ ! -r "$zf" ]; then
			printf 'unbound_start: cannot read zone file %s\n' \
			    "$zf" >&2
			return 1
		fi
		unbound_zone_strict "$zf" || return 1
		# ldns-read-zone prints one RR per line: owner TTL class type
		# rdata, tab-separated, TXT strings quoted and escaped.
		rrs="$(ldns-read-zone -s "$zf" 2>/dev/null)" || {
			printf 'unbound_start: ldns-read-zone %s failed:\n' \
			    "$zf" >&2
			ldns-read-zone -s "$zf" >&2
			return 1
		}
		printf '%s\n' "$rrs" | awk -F '\t' '
		    NF >= 5 && $4 == "SOA" {
			printf "  local-zone: \"%s\" static\n", $1
		    }
		    NF >= 5 {
			rr = $0
			gsub(/\t/, " ", rr)
			# local-data is single-quoted; a quote inside becomes
			# the DNS decimal escape.
			gsub(/\047/, "\\039", rr)
			printf "  local-data: \047%s\047\n", rr
		    }
		    NF > 0 && NF < 5 {
			printf "unbound_start: cannot use line: %s\n", \
			    $0 > "/dev/stderr"
			bad = 1
		    }
		    END { exit bad }' || return 1
		if printf '%s\n' "$rrs" | awk -F '\t' '
		    $1 == "." && $4 == "SOA" { found = 1 }
		    END { exit !found }'; then
			rootsoa=1
		fi
	done
	printf '  local-zone: "." static\n'
	if [ "$rootsoa" -eq 0 ]; then
		printf '  local-data: %s\n' \
		    "'. 3600 IN SOA localhost. nobody.invalid. 1 3600 600 86400 60'"
	fi
}

# unbound_write_conf PORT ZONEFILE...
unbound_write_conf()
{
	local port="$1"

	shift
	{
		printf 'server:\n'
		printf '  interface: %s\n' "$UNBOUND_ADDR"
		printf '  port: %s\n' "$port"
		printf '  do-ip4: yes\n  do-ip6: no\n  do-udp: yes\n'
		printf '  do-tcp: yes\n'
		printf '  access-control: 127.0.0.0/8 allow\n'
		printf '  chroot: ""\n  username: ""\n'
		printf '  directory: "%s"\n' "$UNBOUND_DIR"
		printf '  pidfile: ""\n  use-syslog: no\n  logfile: ""\n'
		printf '  verbosity: 1\n  log-queries: yes\n'
		printf '  do-daemonize: no\n  num-threads: 1\n'
		printf '  so-reuseport: no\n  outgoing-range: 64\n'
		printf '  module-config: "iterator"\n'
		printf '%s\n' "${UNBOUND_EXTRA:-}"
		unbound_conf_zones "$@" || return 1
		printf 'remote-control:\n  control-enable: no\n'
	} >"$UNBOUND_DIR/unbound.conf"
}

# unbound_wait: true once the server answers a query, false if it died or
# stayed silent for about 10 seconds.  The first query waits for the "start
# of service" log line: drill has no timeout option and waits 5 seconds for
# a query sent before the socket was there.
unbound_wait()
{
	local i

	for ((i = 0; i < 100; i++)); do
		kill -0 "$UNBOUND_PID" 2>/dev/null || return 1
		grep -q 'start of service' "$UNBOUND_DIR/unbound.log" \
		    2>/dev/null && break
		sleep 0.1
	done
	for ((i = 0; i < 50; i++)); do
		kill -0 "$UNBOUND_PID" 2>/dev/null || return 1
		if unbound_query . SOA 2>/dev/null |
		    grep -Eq 'HEADER|status:'; then
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# unbound_deathsig: a command prefix that makes the server die with this
# shell even when the shell is killed outright (no exit hook runs then).
unbound_deathsig()
{
	UNBOUND_DEATHSIG=()
	if setpriv --pdeathsig KILL -- true >/dev/null 2>&1; then
		UNBOUND_DEATHSIG=(setpriv --pdeathsig KILL --)
	fi
}

# unbound_cleanup: what the exit hook runs: stop every server, remove
# their directories.
unbound_cleanup()
{
	local pid dir

	for pid in ${UNBOUND_ALL_PIDS[@]+"${UNBOUND_ALL_PIDS[@]}"}; do
		unbound_stop "$pid"
	done
	UNBOUND_ALL_PIDS=()
	[ "${TAP_KEEP:-0}" = 1 ] && return 0
	for dir in ${UNBOUND_ALL_DIRS[@]+"${UNBOUND_ALL_DIRS[@]}"}; do
		rm -rf -- "$dir"
	done
	UNBOUND_ALL_DIRS=()
}

unbound_start()
{
	local try port wrap=() prog

	for prog in unbound unbound-checkconf ldns-read-zone; do
		if ! command -v "$prog" >/dev/null 2>&1; then
			printf 'unbound_start: %s is not installed\n' \
			    "$prog" >&2
			return 1
		fi
	done
	if ! command -v drill >/dev/null 2>&1 &&
	    ! command -v dig >/dev/null 2>&1; then
		printf 'unbound_start: neither drill nor dig is installed\n' >&2
		return 1
	fi
	unbound_deathsig
	wrap=(${UNBOUND_DEATHSIG[@]+"${UNBOUND_DEATHSIG[@]}"})
	[ -n "${UNBOUND_WRAP+set}" ] && wrap+=("${UNBOUND_WRAP[@]}")
	UNBOUND_ADDR="${UNBOUND_ADDR:-127.0.0.1}"
	if [ "${#UNBOUND_ALL_DIRS[@]}" -eq 0 ]; then
		if declare -F at_exit >/dev/null; then
			at_exit unbound_cleanup
		else
			trap unbound_cleanup EXIT
		fi
	fi
	UNBOUND_DIR="$(mktemp -d "${TMPDIR:-/tmp}/dkimkit-unbound.XXXXXX")" ||
	    return 1
	UNBOUND_ALL_DIRS+=("$UNBOUND_DIR")
	# A random high port, and another if that one turns out to be taken.
	for ((try = 0; try < 8; try++)); do
		port="${UNBOUND_FIXED_PORT:-$((20000 + (RANDOM * 32768 + RANDOM) % 40000))}"
		unbound_write_conf "$port" "$@" || return 1
		if ! unbound-checkconf "$UNBOUND_DIR/unbound.conf" \
		    >"$UNBOUND_DIR/checkconf.log" 2>&1; then
			printf 'unbound_start: bad configuration:\n' >&2
			cat "$UNBOUND_DIR/checkconf.log" >&2
			return 1
		fi
		${wrap[@]+"${wrap[@]}"} unbound -d -c "$UNBOUND_DIR/unbound.conf" \
		    >"$UNBOUND_DIR/unbound.log" 2>&1 </dev/null &
		UNBOUND_PID=$!
		UNBOUND_ALL_PIDS+=("$UNBOUND_PID")
		UNBOUND_PORT="$port"
		if unbound_wait; then
			return 0
		fi
		unbound_stop
		[ -z "${UNBOUND_FIXED_PORT:-}" ] || break
	done
	printf 'unbound_start: unbound did not come up; its log:\n' >&2
	cat "$UNBOUND_DIR/unbound.log" >&2
	return 1
}

# unbound_stop [PID]: stop the newest server started by unbound_start (or
# the one with that PID).
unbound_stop()
{
	local pid="${1:-$UNBOUND_PID}" i

	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ "$pid" != "$UNBOUND_PID" ] || UNBOUND_PID=
	return 0
}
