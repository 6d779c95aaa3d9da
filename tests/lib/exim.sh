# tests/lib/exim.sh: Exim daemons on loopback for the tests and the main
# job (bash; sourced by tests/integration/exim.sh, overlimit.sh and
# scripts/mailchain, after tests/lib/install.sh and tests/lib/ports.sh).
#
#   exim_check || skip_all "$EXIM_WHY"          # sets EXIM
#   exim_module "$TMPD" "$BUILT" || bail_out "$EXIM_WHY"   # sets SO, EXIM_ENV
#   exim_conf "$TMPD/v" "  warn add_header = \${dlfunc{$SO}{verify}{mx.test}}"
#   exim_start "$TMPD/v" || bail_out ...         # sets EXIM_PORT (and PORT)
#   "${EXIM_ENV[@]}" "$EXIM" -C "$TMPD/v/exim.conf" -qff
#
# Every daemon runs as Debian-exim (Debian's exim4 user) from a private
# configuration given with -C, which Exim accepts only from root.  Each
# one started here is stopped on exit (through tap.sh's at_exit when it is
# loaded; a script without it calls exim_stop_all itself).

EXIM=
EXIM_ENV=(env)
EXIM_PIDS=()
EXIM_PORT=
EXIM_WHY=
EXIM_PRELOAD=

# exim_check: true when Exim can run here with a private configuration;
# sets EXIM to the program.  Else 1, the reason in EXIM_WHY.
exim_check()
{
	EXIM=$(command -v exim4 || command -v exim) || {
		EXIM_WHY="exim4 is not installed"
		return 1
	}
	if [ "$(id -u)" -ne 0 ]; then
		EXIM_WHY="needs root (exim4 -C with a private configuration)"
		return 1
	fi
	getent passwd Debian-exim >/dev/null || {
		EXIM_WHY="no Debian-exim user (exim4)"
		return 1
	}
}

# exim_module DIR BUILT: copy the module BUILT into DIR, where Debian-exim
# can read it (tests/lib/install.sh), set SO to the copy and EXIM_ENV to
# the command prefix that runs Exim with it; EXIM_PRELOAD names the
# runtime preloaded, if any.  1, the reason in EXIM_WHY.
#
# A sanitizer build's module needs its runtime loaded first; Exim itself
# is not instrumented, so the shared runtime is preloaded into the Exim
# processes started through EXIM_ENV.  Exim's own re-executions
# (deliveries) run without it, so every dlfunc call must happen in an ACL
# or in a queue run started through EXIM_ENV.
exim_module()
{
	local rt

	install_for_servers "$1" "$2" || {
		EXIM_WHY="cannot install $2 in $1"
		return 1
	}
	SO="$1/${2##*/}"
	EXIM_ENV=(env)
	rt=$(san_runtime "$SO") || {
		EXIM_WHY="sanitizer build but no shared ASan runtime"
		return 1
	}
	EXIM_PRELOAD=$rt
	[ -n "$rt" ] || return 0
	EXIM_ENV=(env "LD_PRELOAD=$rt"
	    "ASAN_OPTIONS=detect_leaks=0:quarantine_size_mb=4:verify_asan_link_order=0")
}

# exim_conf DIR DATA_ACL [TRANSPORT_LINES [MAIN_LINES [REWRITE_RULES
# [ROUTERS [TRANSPORTS]]]]]: a private configuration in DIR/exim.conf for
# mx.test with its own spool, log and maildir (DIR/mail).  Every
# recipient is accepted; DATA_ACL comes before the final "accept" of the
# DATA ACL.  ROUTERS come before the router that delivers everything to
# the maildir, TRANSPORT_LINES inside its transport, TRANSPORTS after it.
exim_conf()
{
	local d="$1"

	mkdir -p "$d/spool" "$d/log" "$d/mail"
	chown -R Debian-exim:Debian-exim "$d/spool" "$d/log" "$d/mail"
	chmod 755 "$d"
	cat > "$d/exim.conf" <<CONF
primary_hostname = mx.test
qualify_domain = example.net
spool_directory = $d/spool
log_file_path = $d/log/%slog
exim_user = Debian-exim
exim_group = Debian-exim
never_users =
trusted_users = root
keep_environment =
local_interfaces = 127.0.0.1
host_lookup =
rfc1413_hosts =
acl_smtp_rcpt = acl_rcpt
acl_smtp_data = acl_data
message_size_limit = 200M
smtp_accept_max = 50
${4:-}
# Exim's own DKIM verification is not under test.
dkim_verify_signers =

begin acl
acl_rcpt:
  accept
acl_data:
$2
  accept

begin routers
${6:-}
all:
  driver = accept
  transport = mbox

begin transports
mbox:
  driver = appendfile
  directory = $d/mail
  maildir_format
  create_directory
  user = Debian-exim
  group = Debian-exim
  mode = 0644
${3:-}
${7:-}

begin retry
*  *  F,1h,5m
CONF
	[ -z "${5:-}" ] || printf 'begin rewrite\n%s\n' "$5" >> "$d/exim.conf"
}

# exim_daemon DIR PORT: run Exim as a daemon on 127.0.0.1:PORT with
# DIR/exim.conf (its output in DIR/start.log), and wait up to 5 s for the
# port.  Its pid joins EXIM_PIDS.  1 when it does not answer (the daemon,
# if any, is stopped).
exim_daemon()
{
	local d="$1" port="$2" i pid

	rm -f "$d/exim.pid"
	"${EXIM_ENV[@]}" "$EXIM" -C "$d/exim.conf" -bd -oX "$port" \
	    -oP "$d/exim.pid" >>"$d/start.log" 2>&1
	# The daemon writes its pid file after going into the background.
	for ((i = 0; i < 50; i++)); do
		port_open "$port" && [ -s "$d/exim.pid" ] && break
		sleep 0.1
	done
	pid=$(cat "$d/exim.pid" 2>/dev/null)
	[ -n "$pid" ] && EXIM_PIDS+=("$pid")
	port_open "$port" && return 0
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	return 1
}

# exim_start DIR: a daemon for DIR/exim.conf on a free port; sets
# EXIM_PORT, and PORT (the name the tests use).  Another process may take
# the port first: up to 8 tries.  1, with the logs as TAP diagnostics,
# when it did not start.
exim_start()
{
	local d="$1" try

	for ((try = 0; try < 8; try++)); do
		EXIM_PORT=$(free_port)
		PORT=$EXIM_PORT
		exim_daemon "$d" "$EXIM_PORT" && return 0
	done
	if declare -F tap_diag >/dev/null; then
		tap_diag "exim did not start for $d:"
		tap_diag_file "$d/start.log"
		tap_diag_file "$d/log/paniclog"
	fi
	return 1
}

# exim_stop_all: stop every daemon started here.
exim_stop_all()
{
	local pid

	for pid in ${EXIM_PIDS[@]+"${EXIM_PIDS[@]}"}; do
		kill "$pid" 2>/dev/null
	done
}
if declare -F at_exit >/dev/null; then
	at_exit exim_stop_all
fi
