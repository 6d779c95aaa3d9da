# The demo's mail chain on loopback, set up for scripts/mailchain and
# scripts/soak (see scripts/mailchain for what each server does).  Sourced
# with these set by the caller: top (the checkout), build (the build to
# use), keep (yes: leave the working folder), honest (yes: the relays add
# no footer) and CHAIN_NAME (the caller's name, for its messages and the
# working folder's).  On return the servers run; the caller has W (the
# working folder), DKIMKIT, DNS, DNS_PORT, TA, D (Dovecot's folder),
# IMAP_PORT, S (OpenSMTPD's folder), MX_PORT, SIGN_PORT, RELAY_PORT,
# LIST_PORT, UNBOUND_PID, chain_unbound_start, SMTPD_PID and
# chain_smtpd_start (CHAIN_EXTRA_ZONE, when
# set, holds lines added to the example.test zone; CHAIN_TMPDIR, when
# set, is where the working folder goes instead of $TMPDIR; CHAIN_STORE,
# when set, is the size of a tmpfs mounted on $W/store, where the MX's
# filter keeps its observation store, STORE, with -O); everything is
# stopped (the tmpfs unmounted, W removed unless keep=yes) on exit.
# CHAIN_RELAY_TTL, when set, is the TTL of the relays' zones (300 s
# otherwise; a soak that revokes a sealing key makes it short).  Set-up failures exit 2 with
# the reason.
die() { echo "$CHAIN_NAME: $*" >&2; exit 2; }
. "$top/tests/lib/smtpd.sh" || die "cannot read tests/lib/smtpd.sh"
. "$top/tests/lib/install.sh" || die "cannot read tests/lib/install.sh"
. "$top/tests/lib/ports.sh" || die "cannot read tests/lib/ports.sh"
. "$top/tests/lib/exim.sh" || die "cannot read tests/lib/exim.sh"
. "$top/tests/lib/mail.sh" || die "cannot read tests/lib/mail.sh"
. "$top/tests/lib/dovecot.sh" || die "cannot read tests/lib/dovecot.sh"

[ "$(id -u)" -eq 0 ] || die "needs root (exim4 -C, mount namespaces)"
DKIMKIT="$build/cli/dkimkit"
SO="$build/plugins/exim/.libs/dkimkit_exim.so"
FILTER="$build/plugins/opensmtpd/filter-dkimkit"
SIEVE_PLUGIN="$build/plugins/dovecot/.libs"
for f in "$DKIMKIT" "$FILTER"; do
	[ -x "$f" ] || die "$f is not built (run scripts/build)"
done
[ -f "$SO" ] || die "$SO is not built (exim4-dev missing at configure time?)"
[ -f "$SIEVE_PLUGIN/lib90_sieve_dkimkit_plugin.so" ] ||
    die "the Dovecot plugin is not built (dovecot-dev missing at configure time?)"
for prog in exim4 unbound ldns-keygen ldns-signzone drill swaks dovecot \
    unshare python3; do
	command -v "$prog" >/dev/null 2>&1 ||
	    die "$prog is not installed (run scripts/deps)"
done
exim_check || die "$EXIM_WHY"

W=$(mktemp -d "${CHAIN_TMPDIR:-${TMPDIR:-/tmp}}/dkimkit-$CHAIN_NAME.XXXXXX") ||
    die "cannot make a working folder"
# Exim runs as Debian-exim, the filter as opensmtpd, Dovecot as nobody.
chmod 755 "$W"
PIDS=()
cleanup()
{
	local pid
	# first: a second signal may cut this function short (lazy: the
	# filter may still have the store open)
	[ -z "${CHAIN_STORE:-}" ] || umount -l "$W/store" 2>/dev/null
	dovecot_stop_all
	exim_stop_all
	smtpd_stop_all
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do
		kill "$pid" 2>/dev/null
	done
	for pid in ${PIDS[@]+"${PIDS[@]}"}; do
		wait "$pid" 2>/dev/null
	done
	if [ "$keep" = yes ]; then
		echo "The working folder is kept: $W"
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The servers load or run the adapters as their own users, who may not
# be able to enter the checkout: they get copies in $W/lib.
install_for_servers "$W/lib" "$FILTER" "$DKIMKIT" ||
    die "cannot install the adapters for the servers in $W/lib"
exim_module "$W/lib" "$SO" || die "$EXIM_WHY"
dovecot_plugin "$W/lib" "$SIEVE_PLUGIN/lib90_sieve_dkimkit_plugin.so" ||
    die "$DOVECOT_WHY"
FILTER="$W/lib/filter-dkimkit"
# the relays seal with the command (see relay_filter below)
SEALER="$W/lib/dkimkit"

# ---------------------------------------------------------------------
# DNS: the example.test zone (keys, SPF, DMARC, ADSP), signed, and the
# relays' zones with their sealing keys (not signed: their answers are
# insecure, which the verdicts do not depend on); unbound serves them.

mkdir "$W/dns" "$W/keys"
cd "$W/dns" || exit 2
"$DKIMKIT" keygen --algorithm rsa --bits 2048 --domain example.test \
    --selector rsa2048 --out "$W/keys/rsa.pem" > keys.txt &&
"$DKIMKIT" keygen --algorithm ed25519 --domain example.test \
    --selector ed --out "$W/keys/ed.pem" >> keys.txt &&
"$DKIMKIT" keygen --algorithm ed25519 --domain forward.example.net \
    --selector arc --out "$W/keys/forward.pem" > forward.txt &&
"$DKIMKIT" keygen --algorithm rsa --bits 2048 --domain list.example.org \
    --selector arc --out "$W/keys/list.pem" > list.txt ||
    die "dkimkit keygen failed"
chmod 644 "$W"/keys/*.pem
{
	printf '$ORIGIN example.test.\n$TTL 300\n'
	printf '@ IN SOA ns hostmaster 1 3600 600 86400 300\n'
	printf '@ IN NS ns\nns IN A 127.0.0.1\n@ IN A 127.0.0.1\n'
	printf '_adsp._domainkey IN TXT "dkim=discardable"\n'
	# Only the signing Exim's address sends mail from example.test;
	# the relays and the forger connect from other ones.
	printf '@ IN TXT "v=spf1 ip4:127.0.0.2 -all"\n'
	printf '_dmarc IN TXT "v=DMARC1; p=reject"\n'
	# RFC 6651: failure reports of its r=y signatures, every reason,
	# to postmaster@example.test
	printf '_report._domainkey IN TXT "ra=postmaster; rr=all"\n'
	cat keys.txt
	# what the caller adds (scripts/soak: its wildcard SPF records)
	printf '%s' "${CHAIN_EXTRA_ZONE-}"
} > example.test.zone
# relay_zone NAME KEYS: the zone of a relay, holding its sealing key.
relay_zone()
{
	printf '$ORIGIN %s.\n$TTL %s\n' "$1" "${CHAIN_RELAY_TTL:-300}"
	printf '@ IN SOA ns.example.test. hostmaster 1 3600 600 86400 300\n'
	printf '@ IN NS ns.example.test.\n@ IN A 127.0.0.1\n'
	if [ -n "${CHAIN_RELAY_TTL:-}" ]; then
		sed -E "s/^([^ ]+) [0-9]+ IN /\1 $CHAIN_RELAY_TTL IN /" "$2"
	else
		cat "$2"
	fi
}
relay_zone forward.example.net forward.txt > forward.zone
relay_zone list.example.org list.txt > list.zone
ksk=$(ldns-keygen -a ECDSAP256SHA256 -k example.test) &&
zsk=$(ldns-keygen -a ECDSAP256SHA256 example.test) &&
ldns-signzone -n example.test.zone "$zsk" "$ksk" ||
    die "could not sign the example.test zone"
cp "$ksk.key" "$W/dns/trust-anchor.key"
DNS_PORT=$(free_port)
cat > unbound.conf <<CONF
server:
  interface: 127.0.0.1
  port: $DNS_PORT
  do-ip6: no
  username: ""
  chroot: ""
  directory: "$W/dns"
  pidfile: ""
  use-syslog: no
  logfile: "$W/dns/unbound.log"
  module-config: "iterator"
  local-zone: "test." nodefault
  # The DMARC tree walk from example.test asks _dmarc.test next (RFC
  # 9989 4.10): this world has no test. zone above example.test, so
  # that name is answered here (NXDOMAIN), not looked for on the Internet.
  local-zone: "_dmarc.test." static
  # The same for the MX's own name, the From: of its failure reports,
  # which Dovecot's Sieve checks at delivery (DMARC, ADSP): answered
  # here, at once, with NXDOMAIN.
  local-zone: "mx.example.net." static
  local-zone: "_dmarc.example.net." static
  local-zone: "_dmarc.net." static
auth-zone:
  name: "example.test."
  zonefile: "$W/dns/example.test.zone.signed"
  for-downstream: yes
  for-upstream: yes
  fallback-enabled: no
auth-zone:
  name: "forward.example.net."
  zonefile: "$W/dns/forward.zone"
  for-downstream: yes
  for-upstream: yes
  fallback-enabled: no
auth-zone:
  name: "list.example.org."
  zonefile: "$W/dns/list.zone"
  for-downstream: yes
  for-upstream: yes
  fallback-enabled: no
remote-control:
  control-enable: no
CONF
# chain_unbound_start: unbound on DNS_PORT (again, for a soak's fault),
# waiting until it serves example.test; sets UNBOUND_PID.  1 when it
# did not start.
chain_unbound_start()
{
	local i

	unbound -d -c "$W/dns/unbound.conf" >> "$W/dns/unbound.out" 2>&1 &
	UNBOUND_PID=$!
	PIDS+=("$UNBOUND_PID")
	for ((i = 0; i < 50; i++)); do
		drill -p "$DNS_PORT" @127.0.0.1 example.test SOA 2>/dev/null |
		    grep -q 'rcode: NOERROR' && return 0
		kill -0 "$UNBOUND_PID" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}
chain_unbound_start ||
    die "unbound did not serve the zone: $(cat unbound.out unbound.log 2>&1)"
DNS="127.0.0.1@$DNS_PORT"
TA="$W/dns/trust-anchor.key"

# ---------------------------------------------------------------------
# The receiving side first: Dovecot, then OpenSMTPD in front of it.

D="$W/imap"
cat > "$W/filter.sieve" <<'SIEVE'
require ["vnd.dkimkit", "fileinto"];
# Verified again here, DMARC asks for quarantine or reject: no trusted
# sealer vouched for it (dkimkit_trusted_sealers; SPF comes from the MX's
# A-R field); or the MX quarantined it (DMARC failed and its policy, or
# the MX's for forwarded mail, says quarantine).  The dmarc test comes
# first so that every message is verified (and logged) here.
if anyof (dmarc :disposition ["quarantine", "reject"],
          exists "X-Dkimkit-Quarantine") {
  fileinto "Junk";
}
SIEVE
dovecot_lmtp "$D" "$W/filter.sieve" "dkimkit_authserv_id = imap.example.net
  dkimkit_dns = $DNS
  dkimkit_trust_anchor = $TA
  dkimkit_trusted_authserv_id = mx.example.net
  dkimkit_trusted_sealers = forward.example.net" \
    "hostname = imap.example.net" ||
    die "$DOVECOT_WHY"
IMAP_PORT=$DOVECOT_PORT

# OpenSMTPD, unpacked from its .deb (tests/lib/smtpd.sh).  bob, the
# recipient, is a user of mx.example.net (with nobody's uid).  The
# filter enforces DMARC (-p -E): example.test says p=reject, so mail
# that fails is refused at SMTP (550), except what relays forwarded:
# forward.example.net is trusted (-S): when it recorded a pass before
# its footer broke the signature, the disposition is none (RFC 8617 7.2,
# local_policy) and the message is delivered; a relay the MX does not
# trust gets quarantine instead of refusal (-F), a local policy as RFC
# 9989 advises (no rejection on p=reject alone: RFC 7960's lists and
# forwarders break signatures) that the forger, who has no ARC set,
# does not get.
S="$W/mx"
mkdir -p "$S/reports"
# the filter runs as smtpd's user (opensmtpd, 60990): its report rate
# limits live here
chown 60990 "$S/reports"
# The failure reports (-G) go by SMTP (-J) to example.test's own server,
# mail.example.test, whose port is chosen now; it starts further down.
SIGN_PORT=$(free_port)
smtpd_unpack "$S" "$top/build/debs" \
    'bob:x:65534:65534::/nonexistent:/usr/sbin/nologin' ||
    die "cannot unpack opensmtpd: $(cat "$S/apt.log" 2>/dev/null)"
MX_PORT=$(free_port)
# The store on a small file system of its own, so that a soak can fill it
# (the mount is made before smtpd's namespace copies the mount table).
STORE=
if [ -n "${CHAIN_STORE:-}" ]; then
	mkdir "$W/store" &&
	    mount -t tmpfs -o "size=$CHAIN_STORE,mode=1777" tmpfs "$W/store" ||
	    die "cannot mount a tmpfs on $W/store"
	STORE="sqlite:$W/store/soak.db"
fi
cat > "$S/smtpd.conf" <<CONF
filter "dkimkit" proc-exec "$FILTER -m verify -i mx.example.net -A -p -E -F -S forward.example.net -D $DNS -t $TA -G -J 127.0.0.1:$SIGN_PORT -L $S/reports/state${STORE:+ -O $STORE}"
listen on 127.0.0.1 port $MX_PORT hostname mx.example.net filter "dkimkit"
action "imap" lmtp "127.0.0.1:$IMAP_PORT" rcpt-to
match from any for domain "example.net" action "imap"
CONF
# chain_smtpd_start: OpenSMTPD (again, after a soak's fault killed it),
# its queue in $S/spool, kept from one run to the next as on a real host;
# sets SMTPD_PID.  1 when it did not start.
chain_smtpd_start()
{
	smtpd_run "$S" "$S/smtpd.conf" "$MX_PORT" "$S/smtpd.log" "$S/spool" ||
	    return 1
	SMTPD_PID=${SMTPD_PIDS[${#SMTPD_PIDS[@]} - 1]}
}
chain_smtpd_start || {
	echo "$CHAIN_NAME: OpenSMTPD did not start; its log ($S/smtpd.log):" >&2
	tail -n 20 "$S/smtpd.log" >&2
	exit 2
}

# ---------------------------------------------------------------------
# The sending side: the signing Exim and the forwarding relay.

# exim_node NAME PORT ACL_RCPT ROUTERS TRANSPORTS: an Exim daemon named
# NAME on PORT, with $W/NAME/exim.conf made of the given sections.
exim_node()
{
	local d="$W/$1" port="$2"
	mkdir -p "$d/spool" "$d/log"
	chown -R Debian-exim:Debian-exim "$d/spool" "$d/log"
	cat > "$d/exim.conf" <<CONF
primary_hostname = $1
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
# Exim's own DKIM code stays out of the way.
dkim_verify_signers =
acl_smtp_rcpt = acl_rcpt

begin acl
acl_rcpt:
$3
  deny message = relay not permitted

begin routers
$4

begin transports
$5

begin retry
*  *  F,1h,5m
CONF
	exim_daemon "$d" "$port" || {
		echo "$CHAIN_NAME: Exim $1 did not start; its logs:" >&2
		tail -n 20 "$d/start.log" "$d/log/paniclog" >&2 2>/dev/null
		exit 2
	}
}

# route NAME DOMAINS TRANSPORT: a router sending mail for DOMAINS to
# 127.0.0.1 through TRANSPORT, which has the port.
route()
{
	printf '%s:\n  driver = manualroute\n  domains = %s\n' "$1" "$2"
	printf '  route_list = * 127.0.0.1\n  self = send\n'
	printf '  transport = %s\n' "$3"
}
# smtp NAME PORT FROM [LINES]: an smtp transport to 127.0.0.1:PORT,
# connecting from the address FROM (SPF tells the senders apart by it).
smtp()
{
	printf '%s:\n  driver = smtp\n  port = %s\n  allow_localhost\n' "$1" "$2"
	printf '  interface = %s\n' "$3"
	printf '  hosts_avoid_tls = *\n  hosts_try_chunking =\n'
	printf '  hosts_try_prdr =\n%s\n' "${4:-}"
}

# relay_filter NAME FOOTER KEY: $W/NAME.sh, the transport filter of relay
# NAME: it appends FOOTER (what a list or a careless forwarder does,
# breaking the author's signatures; nothing with --honest-relay), then
# seals (ARC) with dkimkit seal and $W/keys/KEY.pem, which verifies the
# message as it came in (--received: the verdicts its ARC-Authentication-
# Results records) and signs it as it goes out.  Exim's own seal dlfunc reads the spool,
# the message before this filter, so it cannot sign a footer added here.
# dkimkit seal exits 1 when the RFC says to add no set (the message is
# still written): that is no failure; anything else defers the delivery,
# and so does a temperror in the verdicts it would record.
relay_filter()
{
	local footer="$2"

	[ "$honest" = yes ] && footer=
	cat > "$W/$1.sh" <<SH
#!/bin/sh
t=\$(mktemp -d) || exit 1
trap 'rm -rf "\$t"' EXIT
cat > "\$t/in.eml" || exit 1
{ cat "\$t/in.eml"; [ -z "$footer" ] || printf '%s\\n' '-- ' '$footer'; } \\
    > "\$t/out.eml" || exit 1
rc=0
"$SEALER" seal --key "$W/keys/$3.pem" --domain "$1" --selector arc \\
    --authserv-id "$1" --dns "$DNS" --trust-anchor "$TA" \\
    --received "\$t/in.eml" "\$t/out.eml" > "\$t/sealed.eml" 2> "\$t/err" ||
    rc=\$?
[ "\$rc" -le 1 ] || { cat "\$t/err" >&2; exit 1; }
# A verdict the relay could not reach (a key lookup that failed for the
# moment) is not sealed for good: the delivery is deferred and Exim
# tries again, as a relay that records what it saw should.
if awk '/^\r?\$/ { exit } f && /^[ \t]/ { print; next } { f = 0 }
    !done && tolower(\$0) ~ /^arc-authentication-results:/ { f = done = 1; print }' \
    "\$t/sealed.eml" | grep -q temperror; then
	echo "a temporary error in what $1 would seal: deferred" >&2
	exit 1
fi
tr -d '\\r' < "\$t/sealed.eml"
SH
	chmod 755 "$W/$1.sh"
}

# relay NAME PORT FROM KEY FOOTER: a relay for NAME on PORT, forwarding
# bob@NAME to bob@example.net from the address FROM, through its filter.
relay()
{
	relay_filter "$1" "$5" "$4"
	exim_node "$1" "$2" "  accept domains = $1" \
	    "$(printf 'forward:\n  driver = redirect\n  domains = %s\n  data = ${local_part}@example.net\n' "$1"
	       route mx example.net sealed_smtp)" \
	    "$(smtp sealed_smtp "$MX_PORT" "$3" "  transport_filter = $W/$1.sh")"
}

RELAY_PORT=$(free_port)
relay forward.example.net "$RELAY_PORT" 127.0.0.3 forward \
    'Forwarded by forward.example.net.'
LIST_PORT=$(free_port)
relay list.example.org "$LIST_PORT" 127.0.0.4 list \
    'Sent through list.example.org.'

# report-request: r=y, asking verifiers for failure reports (RFC 6651)
sign_rsa="\${dlfunc{$SO}{sign}{example.test}{rsa2048}{$W/keys/rsa.pem}{}{}{report-request}}"
sign_ed="\${dlfunc{$SO}{sign}{example.test}{ed}{$W/keys/ed.pem}{}{}{report-request}}"
signed="  headers_add = $sign_rsa\\n$sign_ed"
exim_node mail.example.test "$SIGN_PORT" \
    '  accept hosts = 127.0.0.1' \
    "$(printf 'postmaster:\n  driver = manualroute\n  domains = example.test\n'
       printf '  local_parts = postmaster\n  route_list = * 127.0.0.1\n'
       printf '  self = send\n  transport = reports_lmtp\n'
       route via_relay forward.example.net signed_relay
       route via_list list.example.org signed_list
       route mx example.net signed_mx)" \
    "$(smtp signed_mx "$MX_PORT" 127.0.0.2 "$signed"
       smtp signed_relay "$RELAY_PORT" 127.0.0.2 "$signed"
       smtp signed_list "$LIST_PORT" 127.0.0.2 "$signed"
       smtp reports_lmtp "$IMAP_PORT" 127.0.0.1 "  protocol = lmtp")"

