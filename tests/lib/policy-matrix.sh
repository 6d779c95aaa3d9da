# tests/lib/policy-matrix.sh: the signing-policy matrix of issue #19, as
# tests/interop/policy-opendkim.sh proves it against opendkim 2.11 (the
# same files, configurations and cases; bash, sourced).
#
#   policy_matrix DIR KEYDIR   # writes DIR/KeyTable, SigningTable,
#                              # TrustedHosts, ExactTable, od-NAME.conf
#                              # and DIR/cases, one "FROM IP HOST AUTH"
#                              # a line (AUTH 1: authenticated as "user")
#   $POLICY_CONFS              # the NAMEs of the configurations
#   $POLICY_SELECTORS          # the keys KEYDIR/SEL.private to make
#   $POLICY_FROMS              # the author addresses of the cases
#
# shellcheck shell=bash disable=SC2034

# Keys are not made here: the caller puts a private key for each of
# POLICY_SELECTORS in KEYDIR (opendkim-genkey, or dkimkit keygen --out).

POLICY_CONFS="yes no exact-sub exact-multi exact-nosub"
POLICY_SELECTORS="ex ex2 ex3 ceo sub net shop catch"
POLICY_FROMS="ceo@example.com ceox@example.com CEO@Example.COM
alice@example.com x@sub.example.com y@a.b.example.com z@example.net
s@shop.example.net q@example.org w@EXAMPLE.NET u@exampleXcom.net"
POLICY_CLIENTS="127.0.0.1,localhost ::1,localhost 10.1.2.3,a.test
10.2.3.4,b.test 10.1.9.9,relay.trusted.example 192.168.1.5,c.test
192.168.2.7,d.test 192.168.2.8,e.test 203.0.113.9,mx.partner.example
2001:db8::5,f.test 2001:db8:bad::1,g.test 2001:db9::1,h.test fd00::1,i.test
198.51.100.1,unknown.test"

# policy_conf DIR NAME MULTI TABLE SUBDOMAINS: DIR/od-NAME.conf.
policy_conf()
{
	cat > "$1/od-$2.conf" <<EOF2
Mode			sv
Canonicalization	relaxed/simple
SubDomains		$5
MultipleSignatures	$3
KeyTable		file:$1/KeyTable
SigningTable		$4
InternalHosts		refile:$1/TrustedHosts
ExternalIgnoreList	refile:$1/TrustedHosts
RequireSafeKeys		no
Syslog			no
EOF2
}

policy_matrix()
{
	local dir="$1" k="$2" f c a

	cat > "$dir/KeyTable" <<EOF2
ex	example.com:ex:$k/ex.private
ex2	example.com:ex2:$k/ex2.private
ex3	example.com:ex3:$k/ex3.private
ceo	example.com:ceo:$k/ceo.private
sub	%:sub:$k/sub.private
net	example.net:net:$k/net.private
shop	shop.example.net:shop:$k/shop.private
catch	%:catch:$k/catch.private
EOF2
	# "ceo*@example.com" comes after "ceo@example.com", which it covers.
	cat > "$dir/SigningTable" <<'EOF2'
# Debian-style: patterns, first match (or every one) in this order
ceo@example.com		ceo
ceo*@example.com	ex2
*@example.com		ex
*@example.com		ex3:@example.com
*@*.example.com		sub
*@example.net		net:@example.net
*@shop.example.net	shop
*@*			catch
EOF2
	cat > "$dir/TrustedHosts" <<'EOF2'
127.0.0.1
::1
10.0.0.0/8
!10.1.0.0/16
192.168.1.0/24
192.168.2.7
2001:db8::/32
!2001:db8:bad::/48
fd00::1
*.partner.example
relay.trusted.example
EOF2
	# An exact (file:) SigningTable: the apex, ".parent" keys for what
	# is under it with SubDomains, a user, and "*" for the rest.
	cat > "$dir/ExactTable" <<'EOF2'
ceo@example.com		ceo
example.com		ex
.example.com		sub
example.net		net:@example.net
shop.example.net	shop
*			catch
EOF2
	policy_conf "$dir" yes yes "refile:$dir/SigningTable" no
	policy_conf "$dir" no no "refile:$dir/SigningTable" no
	policy_conf "$dir" exact-sub no "file:$dir/ExactTable" yes
	policy_conf "$dir" exact-multi yes "file:$dir/ExactTable" yes
	policy_conf "$dir" exact-nosub yes "file:$dir/ExactTable" no
	: > "$dir/cases"
	for f in $POLICY_FROMS; do
		for c in $POLICY_CLIENTS; do
			for a in 0 1; do
				echo "$f ${c%%,*} ${c#*,} $a" >> "$dir/cases"
			done
		done
	done
}
