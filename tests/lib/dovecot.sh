# tests/lib/dovecot.sh: a Dovecot LMTP server on loopback whose deliveries
# run a Sieve script with the vnd.dkimkit extension (bash; sourced after
# tests/lib/install.sh and tests/lib/ports.sh; by tests/integration/dovecot.sh,
# overlimit.sh and scripts/mailchain).
#
#   dovecot_plugin "$TMPD/lib" "$BUILT" || bail_out "$DOVECOT_WHY"
#   dovecot_lmtp "$TMPD/lmtp" script.sieve "dkimkit_zone = ..." ||
#       bail_out "$DOVECOT_WHY"                   # sets DOVECOT_PORT
#   swaks --protocol LMTP --port "$DOVECOT_PORT" ... # to user@...
#   ls "$TMPD/lmtp/users/user/Maildir/new"
#
# Dovecot's mail processes run as nobody: the plugin, the script and the
# folders they write are theirs or open to them.  Every server started
# here is stopped on exit (tap.sh's at_exit, else dovecot_stop_all).

DOVECOT_PLUGDIR=
DOVECOT_SAN_CONF=
DOVECOT_PORT=
DOVECOT_WHY=
DOVECOT_DIRS=()
DOVECOT_PIDS=()

# dovecot_plugin DIR BUILT: copy the Sieve plugin BUILT
# (lib90_sieve_dkimkit_plugin.so) into DIR for nobody; DOVECOT_PLUGDIR is
# DIR.  A sanitizer build's plugin needs its runtime in the uninstrumented
# Dovecot, which re-executes itself keeping only import_environment: then
# DOVECOT_SAN_CONF holds the lines that pass LD_PRELOAD on (leak checks
# off: Dovecot's own would be reported) and lift the services' memory
# limit (ASan reserves its shadow memory).  1, the reason in DOVECOT_WHY.
dovecot_plugin()
{
	local rt

	install_for_servers "$1" "$2" || {
		DOVECOT_WHY="cannot install $2 in $1"
		return 1
	}
	DOVECOT_PLUGDIR=$1
	rt=$(san_runtime "$1/${2##*/}") || {
		DOVECOT_WHY="sanitizer build but no shared ASan runtime"
		return 1
	}
	DOVECOT_SAN_CONF=
	[ -n "$rt" ] || return 0
	DOVECOT_SAN_CONF="import_environment = TZ LD_PRELOAD=$rt ASAN_OPTIONS=detect_leaks=0
default_vsz_limit = 0"
}

# dovecot_lmtp_conf DIR SIEVE [PLUGIN_LINES [MAIN_LINES]]: DIR/dovecot.conf
# for a Dovecot in DIR (its log DIR/dovecot.log) with LMTP on a free
# loopback port (DOVECOT_PORT), delivering to DIR/users/LOCALPART/Maildir
# as nobody through the Sieve script SIEVE (copied to DIR/filter.sieve),
# with the plugin from dovecot_plugin, PLUGIN_LINES in plugin {} and
# MAIN_LINES (e.g. hostname = ...) at the top level.  SIEVE may
# require vnd.dkimkit and editheader as well as the default extensions.
dovecot_lmtp_conf()
{
	local d="$1"

	mkdir -p "$d/run" "$d/state" "$d/users" || return 1
	cp "$2" "$d/filter.sieve" || return 1
	DOVECOT_PORT=$(free_port)
	cat > "$d/dovecot.conf" <<CONF
$DOVECOT_SAN_CONF
instance_name = dkimkit-test-$$-${#DOVECOT_DIRS[@]}
${4:-}
base_dir = $d/run
state_dir = $d/state
log_path = $d/dovecot.log
protocols = lmtp
listen = 127.0.0.1
ssl = no
mail_location = maildir:~/Maildir
lda_mailbox_autocreate = yes
postmaster_address = postmaster@example.net
passdb {
  driver = static
  args = nopassword=y
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$d/users/%n
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
}
protocol lmtp {
  mail_plugins = sieve
}
plugin {
  sieve = file:$d/users/%n/sieve;active=$d/filter.sieve
  sieve_plugin_dir = $DOVECOT_PLUGDIR
  sieve_plugins = sieve_dkimkit
  sieve_extensions = +vnd.dkimkit +editheader
  ${3:-}
}
CONF
	chmod -R a+rX "$d"
	# Pigeonhole, running as nobody, compiles the script next to it.
	chown nobody:nogroup "$d" "$d/users" "$d/filter.sieve"
}

# dovecot_lmtp DIR SIEVE [PLUGIN_LINES [MAIN_LINES]]: dovecot_lmtp_conf, then start
# that Dovecot.  1, the reason in DOVECOT_WHY, when it does not answer
# within 10 s.
dovecot_lmtp()
{
	local d="$1" i pid

	dovecot_lmtp_conf "$@" || {
		DOVECOT_WHY="cannot write $d/dovecot.conf"
		return 1
	}
	if ! dovecot -c "$d/dovecot.conf" > "$d/start.log" 2>&1; then
		DOVECOT_WHY="dovecot did not start: $(cat "$d/start.log" \
		    "$d/dovecot.log" 2>/dev/null | tail -n 5)"
		return 1
	fi
	DOVECOT_DIRS+=("$d")
	# The master writes its pid file after going into the background,
	# maybe after dovecot has returned.  The pid is what stops it: the
	# folder may be gone by then (at_exit runs tmpdir's removal first).
	for ((i = 0; i < 50; i++)); do
		[ -s "$d/run/master.pid" ] && break
		sleep 0.1
	done
	pid=$(cat "$d/run/master.pid" 2>/dev/null)
	[ -n "$pid" ] && DOVECOT_PIDS+=("$pid")
	port_wait "$DOVECOT_PORT" && return 0
	DOVECOT_WHY="dovecot does not listen on $DOVECOT_PORT: $(tail -n 5 \
	    "$d/dovecot.log" 2>/dev/null)"
	return 1
}

# dovecot_stop_all: stop every Dovecot started here (its master, which
# takes its processes with it), and wait up to 5 s for them to go.
dovecot_stop_all()
{
	local pid i

	for pid in ${DOVECOT_PIDS[@]+"${DOVECOT_PIDS[@]}"}; do
		kill "$pid" 2>/dev/null
	done
	for pid in ${DOVECOT_PIDS[@]+"${DOVECOT_PIDS[@]}"}; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	done
	DOVECOT_PIDS=()
}
if declare -F at_exit >/dev/null; then
	at_exit dovecot_stop_all
fi
