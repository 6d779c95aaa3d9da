# tests/lib/netns.sh: a private network namespace whose /etc/resolv.conf
# says "nameserver 127.0.0.1".  Sourced, not run.
#
# Some peers (libopendkim through opendkim-testmsg) resolve with the libc
# resolver, which reads /etc/resolv.conf and only ever asks port 53.  To
# point them at a test unbound without touching the machine, run them and
# the unbound in a namespace of their own: a new network namespace (only
# its own loopback, so port 53 is free and nothing reaches the Internet)
# and a new mount namespace in which a test resolv.conf is bind-mounted
# over /etc/resolv.conf.  Root can always do this; other users need
# unprivileged user namespaces (then a user namespace is made too).
#
#   . "$TOP_SRCDIR/tests/lib/netns.sh"
#   netns_start || skip ...          # sets NETNS_PID and NETNS_ENTER
#   UNBOUND_WRAP=("${NETNS_ENTER[@]}") UNBOUND_FIXED_PORT=53
#   unbound_start keys.zone          # an unbound inside it, on 127.0.0.1:53
#   "${NETNS_ENTER[@]}" opendkim-testmsg <msg.eml
#   netns_stop                       # also done on exit
#
# NETNS_ENTER is a command prefix (nsenter ...): the command runs in the
# namespace with / as its working directory, so give it absolute paths.
# Needs: unshare and nsenter (util-linux), ip (iproute2) or ifconfig, mount.

NETNS_PID=
NETNS_DIR=
NETNS_ENTER=()

netns_stop()
{
	local i

	if [ -n "$NETNS_PID" ]; then
		kill "$NETNS_PID" 2>/dev/null
		for ((i = 0; i < 50; i++)); do
			kill -0 "$NETNS_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$NETNS_PID" 2>/dev/null
		wait "$NETNS_PID" 2>/dev/null
	fi
	NETNS_PID=
	NETNS_ENTER=()
	if [ -n "$NETNS_DIR" ] && [ "${TAP_KEEP:-0}" != 1 ]; then
		rm -rf -- "$NETNS_DIR"
	fi
	NETNS_DIR=
	return 0
}

# netns_start: returns 1, with the reason on stderr, when it cannot be done.
netns_start()
{
	local prog i userns=() deathsig=()

	for prog in unshare nsenter mount; do
		if ! command -v "$prog" >/dev/null 2>&1; then
			printf 'netns_start: %s is not installed\n' "$prog" >&2
			return 1
		fi
	done
	if ! command -v ip >/dev/null 2>&1 &&
	    ! command -v ifconfig >/dev/null 2>&1; then
		printf 'netns_start: neither ip nor ifconfig is installed\n' >&2
		return 1
	fi
	if [ ! -f /etc/resolv.conf ]; then
		printf 'netns_start: no /etc/resolv.conf to mount over\n' >&2
		return 1
	fi
	[ -z "$NETNS_PID" ] || netns_stop
	NETNS_DIR="$(mktemp -d "${TMPDIR:-/tmp}/dkimkit-netns.XXXXXX")" ||
	    return 1
	if declare -F at_exit >/dev/null; then
		at_exit netns_stop
	else
		trap netns_stop EXIT
	fi
	printf 'nameserver 127.0.0.1\noptions attempts:2 timeout:2\n' \
	    >"$NETNS_DIR/resolv.conf"
	[ "$(id -u)" -eq 0 ] || userns=(--user --map-root-user)
	# The holder process keeps the namespaces alive; its PID is the way in.
	# It dies with this shell even if the shell is killed outright.
	if setpriv --pdeathsig KILL -- true >/dev/null 2>&1; then
		deathsig=(setpriv --pdeathsig KILL --)
	fi
	${deathsig[@]+"${deathsig[@]}"} \
	    unshare ${userns[@]+"${userns[@]}"} --net --mount -- sh -c '
	    if command -v ip >/dev/null 2>&1; then
		ip link set lo up || exit 1
	    else
		ifconfig lo 127.0.0.1 up || exit 1
	    fi
	    mount --bind "$1" /etc/resolv.conf || exit 1
	    : >"$2"
	    exec sleep 2147483647' sh "$NETNS_DIR/resolv.conf" \
	    "$NETNS_DIR/ready" >"$NETNS_DIR/holder.log" 2>&1 </dev/null &
	NETNS_PID=$!
	for ((i = 0; i < 50; i++)); do
		[ -e "$NETNS_DIR/ready" ] && break
		kill -0 "$NETNS_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -e "$NETNS_DIR/ready" ]; then
		printf 'netns_start: cannot make a network namespace: %s\n' \
		    "$(tr '\n' ' ' <"$NETNS_DIR/holder.log")" >&2
		netns_stop
		return 1
	fi
	NETNS_ENTER=(nsenter --target "$NETNS_PID" --net --mount)
	[ "${#userns[@]}" -eq 0 ] ||
	    NETNS_ENTER=(nsenter --target "$NETNS_PID" --user --net --mount)
	NETNS_ENTER+=(--)
	return 0
}
