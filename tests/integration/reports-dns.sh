#!/bin/bash
# RFC 6651 reports when the key lookup fails (issue #22): an unbound on
# loopback serves the _report._domainkey records but refuses the key's
# name, so the signature is temperror (DNS failure, token d); a domain
# whose record asks for d gets one report, one asking only for v gets
# none, and one whose _report lookup is refused too gets none (a failed
# lookup means no report, RFC 6651 3.3).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/unbound.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
for prog in unbound ldns-read-zone; do
	have "$prog" || skip_all "$prog is not installed"
done

"$DKIMKIT" keygen --algorithm ed25519 --domain x.test --selector s \
    --out k.pem > /dev/null || bail_out "keygen"
cat > zone <<'ZONE'
_report._domainkey.d.test. 300 IN TXT "ra=rep; rr=d"
_report._domainkey.v.test. 300 IN TXT "ra=rep; rr=v"
d.test. 300 IN A 192.0.2.1
ZONE
UNBOUND_EXTRA='local-zone: "s._domainkey.d.test." refuse
local-zone: "s._domainkey.v.test." refuse
local-zone: "s._domainkey.r.test." refuse
local-zone: "_report._domainkey.r.test." refuse'
unbound_start zone || bail_out "unbound did not start"

printf 'From: joe@x.test\nTo: bob@example.net\nSubject: hi\n\nHello.\n' > m.eml
for d in d v r; do
	"$DKIMKIT" sign --report-request --key k.pem --domain $d.test \
	    --selector s m.eml > $d.eml || bail_out "sign"
	rm -rf out; mkdir out
	"$DKIMKIT" verify --dns "127.0.0.1@$UNBOUND_PORT" --timeout 2000 \
	    --json --reports --report-dir out $d.eml > $d.json 2> $d.err
	n=$(ls out | wc -l)
	if [ $d = d ]; then want=1; else want=0; fi
	grep -q '"result":"temperror"' $d.json && [ "$n" -eq "$want" ]
	ok_if "key lookup refused, $d.test: temperror and $want report(s)" $? \
	    "written $n: $(cat $d.json $d.err)"
done
grep -q '"reason_token":"d","adsp":false,"status":"written"' d.json
ok_if "the report's token is d" $? "$(cat d.json)"

done_testing
