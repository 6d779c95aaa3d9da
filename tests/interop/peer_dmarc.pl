#!/usr/bin/perl
# peer_dmarc.pl DIR PORT: Mail::DMARC (libmail-dmarc-perl, RFC 7489) on
# every case of DIR/cases.tsv, asking the unbound at 127.0.0.1:PORT, with
# the system's Public Suffix List; prints "N<TAB>RESULT DISPOSITION".
use strict;
use warnings;
use Mail::DMARC::PurePerl;
use Net::DNS::Resolver;

my ($dir, $port) = @ARGV;
my $res = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'],
    port => $port, recurse => 1, dnsrch => 0, defnames => 0);
open my $in, '<', "$dir/cases.tsv" or die "$dir/cases.tsv: $!\n";
while (my $line = <$in>) {
	chomp $line;
	my ($n, $from, $dkim, $spf) = split /\t/, $line;
	my $d = Mail::DMARC::PurePerl->new;
	$d->config->{dns}{public_suffix_list} =
	    '/usr/share/publicsuffix/public_suffix_list.dat';
	$d->config->{report_store}{auto_save} = 0;
	$d->set_resolver($res);
	$d->header_from($from);
	$d->dkim($dkim eq '-' ? [] : [ { domain => $dkim, selector => 's',
	    result => 'pass' } ]);
	$d->spf($spf eq '-' ? [] : [ { domain => $spf, scope => 'mfrom',
	    result => 'pass' } ]);
	my $r = $d->validate;
	printf "%s\t%s %s\n", $n, $r->result, $r->disposition || 'none';
}
