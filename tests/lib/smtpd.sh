# smtpd.sh: OpenSMTPD for the tests and the demo (bash; sourced after
# tests/lib/ports.sh by the integration tests and scripts/mailchain).
# Debian's opensmtpd conflicts with exim4 as a package, so its .deb is
# unpacked, not installed, and smtpd runs in a private mount namespace
# that shows it its own spool and run folders, its users and the unpacked
# helpers.

# smtpd_unpack DIR DEBDIR [PASSWD_LINE...]: unpack the .deb in DEBDIR
# (scripts/deps keeps one in build/debs; with none there, it is downloaded
# to DIR/deb) into DIR/root, and write DIR/passwd and DIR/group: the
# host's, plus Debian's compiled-in users opensmtpd and opensmtpq and the
# PASSWD_LINEs.  1 on failure; DIR/apt.log says why a download failed.
smtpd_unpack()
{
	local dir="$1" debs="$2" deb

	shift 2
	deb=$(ls "$debs"/opensmtpd_*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		# apt's own user writes the download.
		mkdir -p "$dir/deb" && chmod 777 "$dir/deb" || return 1
		(cd "$dir/deb" && apt-get download opensmtpd) \
		    > "$dir/apt.log" 2>&1 || return 1
		deb=$(ls "$dir"/deb/opensmtpd_*.deb 2>/dev/null | head -n 1)
	fi
	[ -n "$deb" ] && dpkg -x "$deb" "$dir/root" || return 1
	cp /etc/passwd "$dir/passwd" && cp /etc/group "$dir/group" &&
	    printf '%s\n' \
	    'opensmtpd:x:60990:60990::/nonexistent:/usr/sbin/nologin' \
	    'opensmtpq:x:60991:60991::/nonexistent:/usr/sbin/nologin' \
	    "$@" >> "$dir/passwd" &&
	    printf 'opensmtpd:x:60990:\nopensmtpq:x:60991:\n' >> "$dir/group"
}

# smtpd_script DIR CONF [SPOOL]: print the script that, run as
# `unshare -m --propagation private bash SCRIPT`, mounts what smtpd needs
# and runs DIR's smtpd in the foreground on CONF, logging to stderr.
# The queue is in a tmpfs that ends with smtpd, or with SPOOL (a folder,
# made root:root 0711 here) in SPOOL, so that what smtpd accepted and
# had not delivered yet is still there when it is started again (as
# /var/spool/smtpd is on a real host).
smtpd_script()
{
	cat <<EOF
set -e
mount -t tmpfs tmpfs /var/spool
mount -t tmpfs tmpfs /var/lib
mount -t tmpfs tmpfs /run
mount --bind "$1/passwd" /etc/passwd
mount --bind "$1/group" /etc/group
mount --bind "$1/root/usr/libexec" /usr/libexec
mkdir -p /var/spool/smtpd /var/lib/opensmtpd/empty
chmod 711 /var/spool/smtpd
EOF
	if [ -n "${3:-}" ]; then
		mkdir -p "$3" && chown root:root "$3" && chmod 711 "$3" ||
		    return 1
		printf 'mount --bind "%s" /var/spool/smtpd\n' "$3"
	fi
	printf 'exec "%s/root/usr/sbin/smtpd" -d -v -f "%s"\n' "$1" "$2"
}

SMTPD_PIDS=()

# smtpd_run DIR CONF PORT LOG [SPOOL]: run DIR's smtpd (smtpd_unpack) on CONF in
# a private mount namespace, in the background (its pid joins
# SMTPD_PIDS; its script in LOG.run, its output in LOG), and wait up to
# 10 s for PORT to answer.  1 when it does not (or smtpd has died).
smtpd_run()
{
	local i pid

	smtpd_script "$1" "$2" "${5:-}" > "$4.run" || return 1
	unshare -m --propagation private bash "$4.run" > "$4" 2>&1 \
	    < /dev/null &
	pid=$!
	SMTPD_PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		port_open "$3" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# smtpd_stop_all: stop every smtpd started by smtpd_run.
smtpd_stop_all()
{
	local pid

	for pid in ${SMTPD_PIDS[@]+"${SMTPD_PIDS[@]}"}; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
}
if declare -F at_exit >/dev/null; then
	at_exit smtpd_stop_all
fi

# smtpd_test_setup: the start of a test that runs filter-dkimkit under
# the real smtpd.  A temporary folder to work in (TMPD, the working
# directory), open to the users smtpd runs the filter and delivers as
# (opensmtpd, nobody); PY; FILTER and TOOL (opensmtpd-tool.py, which
# garbles the filter's output) copied where those users can run them,
# the checkout being perhaps closed to them (tests/lib/install.sh).
# FILTER_DKIMKIT: another build of the filter (e.g. with sanitizers).
# Needs tap.sh and install.sh.
smtpd_test_setup()
{
	tmpdir
	cd "$TMPD" || bail_out "no temp dir"
	chmod 755 "$TMPD"
	PY="${PYTHON:-/usr/bin/python3}"
	TOOL="$TOP_SRCDIR/tests/integration/opensmtpd-tool.py"
	FILTER="${FILTER_DKIMKIT:-$TOP_BUILDDIR/plugins/opensmtpd/filter-dkimkit}"
	[ -x "$FILTER" ] || bail_out "$FILTER is not built"
	install_for_servers "$TMPD/lib" "$FILTER" "$TOOL" ||
	    bail_out "cannot install the filter in $TMPD/lib"
	FILTER="$TMPD/lib/filter-dkimkit"
	TOOL="$TMPD/lib/opensmtpd-tool.py"
}
