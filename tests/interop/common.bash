# tests/interop/common.bash: shared set-up of the interop test programs.
# Sourced by tests/interop/*.sh (this file is not a test: it does not end
# in .sh, so run.sh does not run it).

set -u

TOP_SRCDIR="${TOP_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
TOP_BUILDDIR="${TOP_BUILDDIR:-$TOP_SRCDIR}"
DKIMKIT="${DKIMKIT:-$TOP_BUILDDIR/cli/dkimkit}"
VECTORS="${VECTORS:-$TOP_SRCDIR/tests/vectors}"
PYTHON="${PYTHON:-/usr/bin/python3}"
INTEROP="$TOP_SRCDIR/tests/interop"
# No __pycache__ in the source tree.
export PYTHONDONTWRITEBYTECODE=1

. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
. "$TOP_SRCDIR/tests/lib/netns.sh"

CANONS=(simple/simple simple/relaxed relaxed/simple relaxed/relaxed)
MESSAGES=(plain whitespace folded lf)

mailtool()
{
	"$PYTHON" "$INTEROP/mailtool.py" "$@"
}

peer_python()
{
	"$PYTHON" "$INTEROP/peer_python.py" "$@"
}

peer_perl()
{
	perl "$INTEROP/peer_perl.pl" "$@"
}

# have_dkimkit: is the command built?
have_dkimkit()
{
	[ -x "$DKIMKIT" ]
}

# need_dkimkit: loud SKIP (failure in CI) when the command is not built.
need_dkimkit()
{
	have_dkimkit && return 0
	skip "dkimkit tests" "$DKIMKIT is not built (run make)"
	return 1
}

# need_python_peer / need_perl_peer / need_opendkim_peer: the peers, each
# with a loud SKIP when missing.
need_python_peer()
{
	need "$PYTHON" python3:dkim python3:nacl python3:dns.zone
}

need_perl_peer()
{
	need perl perl:Mail::DKIM::Verifier perl:Net::DNS::Resolver
}

need_opendkim_peer()
{
	need opendkim-testmsg
}

# opendkim_dns ZONEFILE...: make libopendkim's keys come from a real unbound
# serving ZONEFILE.  opendkim-testmsg has no resolver option (its only
# options are -C -d -k -s, and libopendkim asks the libc resolver, which
# only reads /etc/resolv.conf and only uses port 53), so it runs in a
# network namespace with its own resolv.conf and an unbound on
# 127.0.0.1:53 (tests/lib/netns.sh).  Sets ODK_ENTER (the command prefix);
# returns 1 with the reason on stderr when that cannot be done.
ODK_ENTER=()
opendkim_dns()
{
	netns_start || return 1
	local UNBOUND_WRAP=("${NETNS_ENTER[@]}")
	local UNBOUND_FIXED_PORT=53
	unbound_start "$@" || return 1
	ODK_ENTER=("${NETNS_ENTER[@]}")
	# The libc resolver inside sees it (drill without @ reads
	# /etc/resolv.conf):
	local q=(dig . SOA)
	command -v drill >/dev/null 2>&1 && q=(drill . SOA)
	"${ODK_ENTER[@]}" "${q[@]}" 2>&1 | grep -Eq '(rcode|status): NOERROR' || {
		printf 'opendkim_dns: the namespace resolver does not answer\n' >&2
		return 1
	}
}

# opendkim_verify FILE: exit 0 when libopendkim verifies FILE.  It says
# nothing on success and "dkim_eom(): ..." on stderr otherwise.
opendkim_verify()
{
	"${ODK_ENTER[@]}" opendkim-testmsg <"$1"
}

# opendkim_sign KEY DOMAIN SELECTOR IN OUT: sign with libopendkim.  It
# always signs rsa-sha1, relaxed/simple.  Without -C it prints a corrupt
# field (its CR remover does not terminate the string), so use -C and turn
# the field's CRLFs into LFs for a bare-LF message (libopendkim refuses
# mixed line ends).
opendkim_sign()
{
	local tmp="$5.tmp"

	opendkim-testmsg -C -d "$2" -s "$3" -k "$1" <"$4" >"$tmp" || return 1
	if [ "$(mailtool endings "$4")" = lf ]; then
		sed 's/\r$//' "$tmp" >"$5" || return 1
		rm -f -- "$tmp"
	else
		mv -- "$tmp" "$5"
	fi
}

# dkimkit_result FILE.json: the message-level "result" of verify --json.
dkimkit_result()
{
	mailtool jsonget "$1" result
}

# dk_expect WANT FILE [OPTION...]: `dkimkit verify --zone "$PEER_ZONE"
# --json FILE` says WANT for the message and its first signature, with
# exit status 0 for pass and 1 otherwise.  The JSON line is left on stdout
# and in $TMPD/dk.json.
dk_expect()
{
	local want="$1" file="$2" st=0 got sig

	shift 2
	"$DKIMKIT" verify --zone "$PEER_ZONE" --json "$@" "$file" \
	    >"$TMPD/dk.json" || st=$?
	cat "$TMPD/dk.json"
	got="$(dkimkit_result "$TMPD/dk.json")" || return 1
	sig="$(mailtool jsonget "$TMPD/dk.json" signatures 0 result)" ||
	    return 1
	printf 'exit %s, result %s, signature %s, want %s\n' "$st" "$got" \
	    "$sig" "$want"
	[ "$got" = "$want" ] && [ "$sig" = "$want" ] || return 1
	if [ "$want" = pass ]; then
		[ "$st" -eq 0 ]
	else
		[ "$st" -eq 1 ]
	fi
}

# dk_not_pass FILE: anything but pass, exit status 1.
dk_not_pass()
{
	local st=0 got

	"$DKIMKIT" verify --zone "$PEER_ZONE" --json "$1" >"$TMPD/dk.json" ||
	    st=$?
	cat "$TMPD/dk.json"
	got="$(dkimkit_result "$TMPD/dk.json")" || return 1
	[ "$got" != pass ] && [ "$st" -eq 1 ]
}

# dk_json_is KEY... VALUE: the last dk_expect's JSON has VALUE there.
dk_json_is()
{
	local want="${*: -1}" got

	got="$(mailtool jsonget "$TMPD/dk.json" "${@:1:$#-1}")" || return 1
	printf 'got %s, want %s\n' "$got" "$want"
	[ "$got" = "$want" ]
}

# peer_keys DIR: RSA and Ed25519 keys made without dkimkit, and their zone
# file DIR/peers.zone: prsa (openssl, RSA 2048), ped (openssl, Ed25519),
# odk (opendkim-genkey, RSA 2048, h=sha1:sha256 so that its rsa-sha1
# signatures are allowed).  The opendkim-genkey stub goes in as printed:
# relative owner under $ORIGIN, no TTL, parentheses, a comment, a quoted
# n= note with escaped quotes, s=email.
peer_keys()
{
	local d="$1"

	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	    -out "$d/prsa.pem" 2>/dev/null || return 1
	openssl genpkey -algorithm ed25519 -out "$d/ped.pem" || return 1
	{
		printf '$TTL 300\n'
		mailtool record "$d/prsa.pem" prsa example.test &&
		mailtool record "$d/ped.pem" ped example.test
	} >"$d/peers.zone" || return 1
	if have opendkim-genkey; then
		opendkim-genkey --directory="$d" --domain=example.test \
		    --selector=odk --bits=2048 --hash-algorithms=sha1:sha256 \
		    --restrict --note='peer key' || return 1
		{
			printf '$ORIGIN example.test.\n'
			cat "$d/odk.txt"
		} >>"$d/peers.zone" || return 1
	fi
}

# --- verifying one signed file with every peer --------------------------
#
# Set before use: PEER_ZONE (zone file for python3-dkim), PEER_DNS_PORT
# (the loopback unbound for Mail::DKIM), ODK_ENTER (from opendkim_dns), and
# USE_PY / USE_PL / USE_ODK (1 when that peer is there).
USE_PY=0
USE_PL=0
USE_ODK=0
PEER_ZONE=
PEER_DNS_PORT=

py_accepts()
{
	peer_python verify --zone "$PEER_ZONE" "$1"
}

# py_rejects FILE: status 1 is "fail" with the key found: a real rejection,
# not a set-up problem.
py_rejects()
{
	local st=0

	peer_python verify --zone "$PEER_ZONE" "$1" || st=$?
	[ "$st" -eq 1 ]
}

pl_accepts()
{
	peer_perl verify --server 127.0.0.1 --port "$PEER_DNS_PORT" "$1"
}

pl_rejects()
{
	local out st=0

	out="$(peer_perl verify --server 127.0.0.1 --port "$PEER_DNS_PORT" \
	    "$1")" || st=$?
	printf '%s\n' "$out"
	[ "$st" -eq 1 ] && [ "$out" = fail ]
}

odk_accepts()
{
	opendkim_verify "$1"
}

# odk_rejects FILE: libopendkim must say the signature is bad, not that it
# could not get the key.
odk_rejects()
{
	local err st=0

	err="$(opendkim_verify "$1" 2>&1)" || st=$?
	printf '%s\n' "$err"
	[ "$st" -ne 0 ] && printf '%s\n' "$err" | grep -Eqi 'bad signature|body hash'
}

# odk_refuses FILE: for a message with a duplicated singleton field
# (Subject, From): libopendkim refuses such a message as a whole
# ("dkim_chunk(): Syntax error") before looking at signatures.  A refusal
# of either kind counts; trouble getting the key does not.
odk_refuses()
{
	local err st=0

	err="$(opendkim_verify "$1" 2>&1)" || st=$?
	printf '%s\n' "$err"
	[ "$st" -ne 0 ] &&
	    printf '%s\n' "$err" | grep -Eqi 'bad signature|body hash|syntax error'
}

# tampered FILE: make FILE.body (one body letter changed) and FILE.subject
# (the Subject field replaced).
tampered()
{
	mailtool tamper body "$1" "$1.body" &&
	    mailtool tamper subject "$1" "$1.subject"
}

# peers_verify LABEL FILE ALG: every peer that can must accept FILE and
# reject its tampered copies.  ALG: rsa or ed25519 (Mail::DKIM: RSA only).
peers_verify()
{
	local label="$1" f="$2" alg="$3" peers=() p name

	tampered "$f" || {
		not_ok "$label: make tampered copies"
		return 1
	}
	[ "$USE_PY" -eq 1 ] && peers+=(py:python3-dkim)
	[ "$USE_PL" -eq 1 ] && [ "$alg" = rsa ] && peers+=(pl:Mail::DKIM)
	[ "$USE_ODK" -eq 1 ] && peers+=(odk:opendkim)
	for p in ${peers[@]+"${peers[@]}"}; do
		name="${p#*:}"
		p="${p%%:*}"
		check "$label: $name verifies" "${p}_accepts" "$f"
		check "$label: $name rejects a changed body byte" \
		    "${p}_rejects" "$f.body"
		check "$label: $name rejects a changed Subject" \
		    "${p}_rejects" "$f.subject"
	done
}

# sign_to LABEL OUT CMD...: "LABEL: sign" is ok when CMD exits 0; its
# standard output (the signed message) goes to OUT.
sign_to()
{
	local label="$1" out="$2"

	shift 2
	check "$label: sign" "$@" || return 1
	cp -- "$TAP_OUT" "$out"
}
