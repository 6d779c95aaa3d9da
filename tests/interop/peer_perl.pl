#!/usr/bin/perl
# Mail::DKIM (libmail-dkim-perl) as an interop peer.
#
#   peer_perl.pl sign --key KEY.pem --domain D --selector S
#       [--algorithm rsa-sha256] [--canon HDR/BODY] [--identity I]
#       [--headers a:b:c] FILE                        > signed
#   peer_perl.pl verify --server ADDR --port PORT FILE...
#   peer_perl.pl arcsign --key KEY.pem --domain D --selector S
#       --authserv-id ID --server ADDR --port PORT FILE   > sealed
#   peer_perl.pl arcverify --server ADDR --port PORT FILE
#
# sign writes the message with a DKIM-Signature field on top, in the line
# ends of the input.  verify asks the DNS server at ADDR:PORT (a real query,
# through Net::DNS) for keys; exit status 0 when the message verifies
# ("pass"), 1 when not, 2 on usage or I/O errors; with several files, a
# line "RESULT<TAB>FILE" for each and exit 0.  Every signature's result
# goes to stderr.  Debian's Mail::DKIM has no Ed25519: RSA only.
#
# arcsign seals FILE with Mail::DKIM::ARC::Signer (RFC 8617): it verifies
# the DKIM signatures and the ARC chain first (Mail::DKIM::Verifier and
# ARC::Verifier) and puts their results in an Authentication-Results
# field of authserv-id ID, which the signer copies into the new
# ARC-Authentication-Results and takes cv= from (Chain => 'ar'); the
# output is the new set on top of FILE as it came, CRLF line ends.
# arcverify prints the chain's result (pass, fail, none) with
# ARC::Verifier; exit 0 for pass, 1 otherwise.

use strict;
use warnings;

use Getopt::Long qw(GetOptionsFromArray);
use Mail::DKIM::Signer;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Mail::DKIM::ARC::Signer;
use Mail::DKIM::ARC::Verifier;
use Net::DNS::Resolver;

sub slurp
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "$path: $!\n";
	local $/;
	my $data = <$fh>;
	close($fh);
	return $data;
}

# Mail::DKIM wants CRLF line ends.
sub crlf
{
	my ($data) = @_;
	$data =~ s/\r?\n/\r\n/g;
	return $data;
}

sub cmd_sign
{
	my @args = @_;
	my %o = (algorithm => 'rsa-sha256', canon => 'relaxed/simple');
	GetOptionsFromArray(\@args, \%o, 'key=s', 'domain=s', 'selector=s',
	    'algorithm=s', 'canon=s', 'identity=s', 'headers=s')
	    or return 2;
	@args == 1 && $o{key} && $o{domain} && $o{selector} or return 2;
	my $msg = slurp($args[0]);
	my $eol = ($msg =~ /\r\n/) ? "\r\n" : "\n";
	my %new = (
		Algorithm => $o{algorithm},
		Method => $o{canon},
		Domain => $o{domain},
		Selector => $o{selector},
		KeyFile => $o{key},
	);
	$new{Identity} = $o{identity} if defined $o{identity};
	$new{Headers} = $o{headers} if defined $o{headers};
	my $signer = Mail::DKIM::Signer->new(%new);
	$signer->PRINT(crlf($msg));
	$signer->CLOSE;
	my $sig = $signer->signature or die "Mail::DKIM made no signature\n";
	my $field = $sig->as_string;
	$field =~ s/\r?\n/$eol/g;
	binmode(STDOUT);
	print $field, $eol, $msg;
	return 0;
}

sub verify_one
{
	my ($path) = @_;
	my $v = Mail::DKIM::Verifier->new();
	$v->PRINT(crlf(slurp($path)));
	$v->CLOSE;
	foreach my $s ($v->signatures) {
		printf STDERR "Mail::DKIM: d=%s s=%s a=%s: %s\n",
		    $s->domain // '?', $s->selector // '?',
		    $s->algorithm // '?', $s->result_detail // '?';
	}
	printf STDERR "Mail::DKIM: message result: %s\n", $v->result_detail;
	return $v->result;
}

# One file: its result, exit 0 for pass.  Several: "RESULT<TAB>FILE" for
# each, exit 0 (one perl start for a whole corpus).
sub cmd_verify
{
	my @args = @_;
	my %o = (server => '127.0.0.1');
	GetOptionsFromArray(\@args, \%o, 'server=s', 'port=i') or return 2;
	@args >= 1 && $o{port} or return 2;
	use_dns(\%o);
	if (@args == 1) {
		my $r = verify_one($args[0]);
		printf "%s\n", $r;
		return $r eq 'pass' ? 0 : 1;
	}
	foreach my $path (@args) {
		my $r = eval { verify_one($path) } // 'trouble';
		printf "%s\t%s\n", $r, $path;
	}
	return 0;
}

# Keys through the DNS server at ADDR:PORT only.
sub use_dns
{
	my ($o) = @_;
	Mail::DKIM::DNS::resolver(Net::DNS::Resolver->new(
		nameservers => [$o->{server}],
		port => $o->{port},
		recurse => 1,
		retry => 2,
		udp_timeout => 5,
		tcp_timeout => 5,
	));
}

sub arc_result
{
	my ($msg) = @_;
	my $v = Mail::DKIM::ARC::Verifier->new();
	$v->PRINT($msg);
	$v->CLOSE;
	printf STDERR "Mail::DKIM ARC: %s (%s)\n", $v->result,
	    $v->result_detail // '';
	return $v->result;
}

sub cmd_arcsign
{
	my @args = @_;
	my %o = (server => '127.0.0.1');
	GetOptionsFromArray(\@args, \%o, 'key=s', 'domain=s', 'selector=s',
	    'authserv-id=s', 'server=s', 'port=i') or return 2;
	@args == 1 && $o{key} && $o{domain} && $o{selector} &&
	    $o{'authserv-id'} && $o{port} or return 2;
	use_dns(\%o);
	my $msg = crlf(slurp($args[0]));
	my $v = Mail::DKIM::Verifier->new();
	$v->PRINT($msg);
	$v->CLOSE;
	my $arc = arc_result($msg);
	my $ar = sprintf("Authentication-Results: %s; dkim=%s; arc=%s\r\n",
	    $o{'authserv-id'}, $v->result eq 'pass' ? 'pass' :
	    $v->result eq 'none' ? 'none' : 'fail', $arc);
	my $s = Mail::DKIM::ARC::Signer->new(
		Algorithm => 'rsa-sha256',
		Chain => 'ar',
		Domain => $o{domain},
		SrvId => $o{'authserv-id'},
		Selector => $o{selector},
		KeyFile => $o{key},
	);
	$s->PRINT($ar . $msg);
	$s->CLOSE;
	$s->result eq 'sealed' or die "Mail::DKIM did not seal: " .
	    ($s->result_detail // $s->result) . "\n";
	my $set = $s->as_string;
	$set =~ s/\r?\n/\r\n/g;
	$set .= "\r\n" unless $set =~ /\r\n$/;
	binmode(STDOUT);
	print $set, $msg;
	return 0;
}

sub cmd_arcverify
{
	my @args = @_;
	my %o = (server => '127.0.0.1');
	GetOptionsFromArray(\@args, \%o, 'server=s', 'port=i') or return 2;
	@args == 1 && $o{port} or return 2;
	use_dns(\%o);
	my $r = arc_result(crlf(slurp($args[0])));
	print "$r\n";
	return $r eq 'pass' ? 0 : 1;
}

my $cmd = shift @ARGV // '';
my $st = eval {
	$cmd eq 'sign' ? cmd_sign(@ARGV) :
	$cmd eq 'verify' ? cmd_verify(@ARGV) :
	$cmd eq 'arcsign' ? cmd_arcsign(@ARGV) :
	$cmd eq 'arcverify' ? cmd_arcverify(@ARGV) : 2;
};
if (!defined $st) {
	print STDERR "peer_perl.pl: $@";
	exit 2;
}
print STDERR "usage: peer_perl.pl sign|verify|arcsign|arcverify ... "
    . "(see the file)\n"
    if $st == 2;
exit $st;
