# install.sh: the files a mail server loads or runs, put where it can
# reach them (bash; sourced by scripts/mailchain and the integration tests
# that start Exim, OpenSMTPD or Dovecot).
#
# Those servers do not run the adapters as the user who built them: Exim
# as Debian-exim, smtpd's filters as opensmtpd, Dovecot's mail processes
# as nobody.  A checkout in a folder that only its owner may enter (such
# as one made by mktemp -d, mode 0700) keeps its build/ out of their
# reach, so filter-dkimkit, dkimkit_exim.so and the Sieve plugin are
# copied out of the build into a folder of the run's own, as `make
# install` would put them on a real server.

# install_for_servers DIR FILE...: copy each FILE into DIR (made when
# missing, mode 0755), readable by everyone, and executable by everyone
# when FILE is executable.  As root, checks that another user (nobody)
# can reach every copy: DIR and each folder above it must let everyone
# through.  1, with the reason on stderr, when a copy fails or a copy is
# out of reach.
install_for_servers()
{
	local dir="$1" f to mode

	shift
	mkdir -p -- "$dir" && chmod 755 -- "$dir" || return 1
	for f in "$@"; do
		to="$dir/${f##*/}"
		mode=644
		[ -x "$f" ] && mode=755
		install -m "$mode" -- "$f" "$to" || return 1
		[ "$(id -u)" -eq 0 ] || continue
		if ! setpriv --reuid=65534 --regid=65534 --clear-groups sh -c \
		    'test -r "$1" && { [ "$2" = 644 ] || test -x "$1"; }' \
		    sh "$to" "$mode"; then
			printf '%s: %s %s\n' "install_for_servers" \
			    "user nobody cannot reach $to: a folder above $dir" \
			    "is closed to others (TMPDIR may name an open one)" >&2
			return 1
		fi
	done
}

# san_runtime MODULE: when MODULE, a shared object loaded by a host that is
# not instrumented, was built with AddressSanitizer, print the shared
# runtime to preload into the host (clang's, else gcc's); nothing for a
# plain build.  1 when the module needs a runtime and there is none.
san_runtime()
{
	local rt

	nm -D --undefined-only "$1" 2>/dev/null | grep -q '__asan_' || return 0
	rt=$(clang -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)
	[ -f "$rt" ] || rt=$(gcc -print-file-name=libasan.so 2>/dev/null)
	[ -f "$rt" ] || return 1
	echo "$rt"
}
