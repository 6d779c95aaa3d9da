#!/bin/bash
# RFC 6651 failure reports through `dkimkit verify --reports` (issue #22):
# a matrix of _report._domainkey records with different rr= sets against
# failing messages of every reason class gives a report exactly when one
# was asked for (0 false, 0 missing); each report parses with Python's
# email package, its A-R with python3-authres, its canonicalized body
# hashes to bh=, its DKIM signature verifies with python3-dkim; a report
# fed back in gets no report; a flood stays under the rate limit, also
# across runs through the state file.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3
"$PY" -c 'import authres, dkim, email' 2>/dev/null ||
    skip_all "python3-authres and python3-dkim are needed"
command -v openssl > /dev/null || skip_all "openssl is needed (a 512-bit key)"

NOW=1700000000
"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain key.test \
    --selector s --out k.pem > key.zone || bail_out "keygen"
P=$(tr -d '\n' < key.zone | sed 's/.*p=//; s/".*//')
openssl genrsa -traditional -out k512.pem 512 2> /dev/null ||
    bail_out "openssl genrsa"
P512=$(openssl rsa -in k512.pem -pubout 2> /dev/null | grep -v -- '-----' |
    tr -d '\n')
"$DKIMKIT" keygen --algorithm ed25519 --domain receiver.test \
    --selector rep --out rep.pem > rep.zone || bail_out "keygen"

# The reason classes: how to break a message signed with r=y by domain
# D, and the rr= token each falls under (dkimkit(1), REPORTS).
CLASSES="bodyhash signature expired revoked nokey syntax unknown policy future"
token_of()
{
	case "$1" in
	bodyhash|signature) echo v ;;
	expired) echo x ;;
	revoked|nokey) echo d ;;
	syntax) echo s ;;
	unknown) echo "v u" ;;	# a bad body hash, and a tag no RFC knows
	policy) echo p ;;
	future) echo o ;;
	esac
}

printf 'From: Joe <joe@sender.test>\nTo: bob@receiver.test\nSubject: hello\n\nHi Bob.\n' > m.eml

# make_case CLASS D: the broken message in CLASS.D.eml
make_case()
{
	local c="$1" d="$2" key=k.pem sel=s now=$NOW extra=""
	case "$c" in
	revoked) sel=rev ;;
	nokey) sel=gone ;;
	policy) key=k512.pem; sel=small ;;
	expired) extra="--expire 60"; now=$((NOW - 3600)) ;;
	future) now=$((NOW + 86400)) ;;
	esac
	# shellcheck disable=SC2086
	"$DKIMKIT" sign --report-request --key $key --domain "$d" \
	    --selector $sel --now $now $extra m.eml > s.eml ||
	    bail_out "sign $c"
	case "$c" in
	bodyhash) sed 's/^Hi Bob\./Hi Bob!/' s.eml ;;
	signature) sed 's/^Subject: hello/Subject: HELLO/' s.eml ;;
	syntax) sed 's/c=relaxed\/relaxed/c=bogus/' s.eml ;;
	unknown) sed 's/; r=y;/; r=y; zz=1;/; s/^Hi Bob\./Hi Bob!/' s.eml ;;
	*) cat s.eml ;;
	esac > "$c.$d.eml"
}

# The matrix: each rr= set gets its own domains (one per class), so
# reports to one address never meet the rate limit.
RRSETS="all v x d s p o u v:x d:s:p none"
i=0
: > zone
cat rep.zone >> zone
for rr in $RRSETS; do
	i=$((i + 1))
	for c in $CLASSES; do
		d="$c.r$i.test"
		printf 's._domainkey.%s. IN TXT "v=DKIM1; p=%s"\n' "$d" "$P"
		printf 'rev._domainkey.%s. IN TXT "v=DKIM1; p="\n' "$d"
		printf 'small._domainkey.%s. IN TXT "v=DKIM1; p=%s"\n' "$d" "$P512"
		if [ "$rr" = none ]; then
			printf '_report._domainkey.%s. IN TXT "rr=all"\n' "$d"
		else
			printf '_report._domainkey.%s. IN TXT "ra=rep; rr=%s"\n' \
			    "$d" "$rr"
		fi
	done >> zone
done

i=0
for rr in $RRSETS; do
	i=$((i + 1))
	files=""
	for c in $CLASSES; do
		make_case "$c" "$c.r$i.test"
		files="$files $c.$c.r$i.test.eml"
	done
	mkdir -p "out$i"
	# shellcheck disable=SC2086
	"$DKIMKIT" verify --zone zone --now $((NOW + 600)) --json --reports \
	    --report-dir "out$i" --report-from reports@receiver.test \
	    --authserv-id mx.receiver.test --report-key rep.pem \
	    --report-domain receiver.test --report-selector rep $files \
	    > "v$i.json" 2> "v$i.err"
	st=$?
	[ "$st" -eq 1 ]
	ok_if "rr=$rr: every message fails (exit 1)" $? "exit $st: $(cat "v$i.err")"
	for c in $CLASSES; do
		want=0
		for t in $(token_of "$c"); do
			case ":$rr:" in
			*":$t:"*|":all:") want=1 ;;
			esac
		done
		got=$(grep -F "\"file\":\"$c.$c.r$i.test.eml\"" "v$i.json" |
		    grep -o '"status":"written"' | wc -l)
		files_got=$(grep -l "^To: <rep@$c.r$i.test>" "out$i"/*.eml \
		    2> /dev/null | wc -l)
		[ "$got" -eq "$want" ] && [ "$files_got" -eq "$want" ]
		ok_if "rr=$rr, $c: $want report(s)" $? \
		    "json $got, files $files_got: $(grep -F "$c.$c.r$i" "v$i.json")"
	done
done

# Every report of rr=all, read by independent parsers.
cat > check.py <<'PYEOF'
import authres, base64, dkim, email, email.policy, hashlib, re, sys
zone = {}
for line in open("zone"):
    m = re.match(r'(\S+)\.\s+(?:\d+\s+)?IN\s+TXT\s+(.*)', line)
    if m:
        zone[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
def dnsfunc(name, timeout=5):
    return zone.get(name.decode().rstrip("."), "").encode()
bad = 0
for path in sys.argv[1:]:
    raw = open(path, "rb").read()
    def fail(why):
        global bad
        bad += 1
        print("# %s: %s" % (path, why), file=sys.stderr)
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if msg.get_content_type() != "multipart/report" or \
       msg.get_param("report-type") != "feedback-report":
        fail("not multipart/report; report-type=feedback-report")
        continue
    parts = msg.get_payload()
    if len(parts) != 3 or parts[1].get_content_type() != \
       "message/feedback-report" or parts[2].get_content_type() != \
       "text/rfc822-headers":
        fail("parts: %s" % [p.get_content_type() for p in parts])
        continue
    # message/* parts come back parsed: the fields are its one message
    fb = parts[1].get_payload()[0]
    for f in ("Feedback-Type", "User-Agent", "Version", "Auth-Failure",
              "Authentication-Results", "Reported-Domain", "DKIM-Domain",
              "DKIM-Selector", "Arrival-Date"):
        if fb[f] is None:
            fail("no " + f)
    # a signature that does not parse (c=bogus) has no canonical form
    if (fb["DKIM-Canonicalized-Header"] is None) != \
       ("c=bogus" in parts[2].get_payload()):
        fail("DKIM-Canonicalized-Header present or missing wrongly")
    if fb["Feedback-Type"] != "auth-failure":
        fail("Feedback-Type " + str(fb["Feedback-Type"]))
    if msg["To"] != "<rep@%s>" % fb["Reported-Domain"]:
        fail("To %s for %s" % (msg["To"], fb["Reported-Domain"]))
    ar = authres.AuthenticationResultsHeader.parse(
        "Authentication-Results: " + fb["Authentication-Results"])
    if ar.authserv_id != "mx.receiver.test" or len(ar.results) != 1 or \
       ar.results[0].method != "dkim" or ar.results[0].result == "pass":
        fail("A-R " + str(ar))
    if not dkim.verify(raw, dnsfunc=dnsfunc):
        fail("the report's signature does not verify")
    orig = parts[2].get_payload()
    bh = re.search(r"bh=([^;]+);", re.sub(r"\s+", "", orig))
    body = fb["DKIM-Canonicalized-Body"]
    if fb["Auth-Failure"] == "signature" and "c=bogus" not in orig and \
       body is not None and bh is not None and "future" not in orig:
        got = base64.b64encode(hashlib.sha256(
            base64.b64decode(re.sub(r"\s+", "", body))).digest()).decode()
        if got != bh.group(1):
            fail("canonicalized body hashes to %s, bh=%s" % (got, bh.group(1)))
sys.exit(1 if bad else 0)
PYEOF
"$PY" check.py out1/*.eml 2> check.err
ok_if "every rr=all report parses, its A-R parses, it verifies" $? \
    "$(cat check.err)"

# The signature class keeps the body: its canonicalized body is what
# the signer hashed (bh=).
sigrep=$(grep -l "^To: <rep@signature.r1.test>" out1/*.eml)
"$PY" - "$sigrep" <<'PYEOF'
import base64, email, hashlib, re, sys
raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw)
fb = msg.get_payload()[1].get_payload()[0]
orig = re.sub(r"\s+", "", msg.get_payload()[2].get_payload())
bh = re.search(r"bh=([^;]+);", orig).group(1)
body = base64.b64decode(re.sub(r"\s+", "", fb["DKIM-Canonicalized-Body"]))
sys.exit(0 if base64.b64encode(hashlib.sha256(body).digest()).decode() == bh
         else 1)
PYEOF
ok_if "the canonicalized body of a header failure hashes to bh=" $?

# A canonical body over 1 MiB is left out of the report, never cut.
"$PY" -c 'import sys; sys.stdout.write("From: Joe <joe@sender.test>\nTo: bob@receiver.test\nSubject: big\n\n" + ("x" * 999 + "\n") * 1100)' > big.eml
"$DKIMKIT" sign --report-request --key k.pem --domain signature.r1.test \
    --selector s --now $NOW big.eml | sed 's/^Subject: big/Subject: BIG/' > bigbad.eml
mkdir big
"$DKIMKIT" verify --zone zone --now $((NOW + 600)) --reports \
    --report-dir big bigbad.eml > /dev/null 2>&1
[ "$(ls big | wc -l)" -eq 1 ] && grep -q '^DKIM-Canonicalized-Header:' big/*.eml &&
    ! grep -q '^DKIM-Canonicalized-Body:' big/*.eml &&
    [ "$(wc -c < big/*.eml)" -lt 100000 ]
ok_if "a 1.1 MB body is left out of the report" $? "$(ls -l big)"

# Redaction (RFC 6590): no local part of the original, no canonical copy.
printf 'secret key\n' > redact.key
mkdir red
"$DKIMKIT" verify --zone zone --now $((NOW + 600)) --reports \
    --report-dir red --redact-key redact.key --mail-from joe@sender.test \
    bodyhash.bodyhash.r1.test.eml > /dev/null 2>&1
n=$(ls red | wc -l)
[ "$n" -eq 1 ] && ! grep -q 'joe@' red/*.eml &&
    ! grep -q 'DKIM-Canonicalized' red/*.eml &&
    grep -q '^Original-Mail-From: <[0-9a-f]\{32\}@sender.test>' red/*.eml
ok_if "a redacted report hides local parts and canonical copies" $? \
    "$(cat red/*.eml 2> /dev/null)"

# Text from the message cannot forge report fields: an i= whose
# quoted-printable decodes to CR LF and a field (the signature still
# parses: its domain is within d=) appears with "?" for each control
# character, on its one line; with redaction, header.i= in the A-R
# entry is redacted too.
perl -pe 's/(d=bodyhash\.r1\.test;)/$1 i==0D=0AReported-Domain:=20bank.example=0D=0A\@bodyhash.r1.test;/' \
    bodyhash.bodyhash.r1.test.eml > inj.eml
mkdir inj
"$DKIMKIT" verify --zone zone --now $((NOW + 600)) --reports \
    --report-dir inj inj.eml > inj.json 2>&1
[ "$(ls inj | wc -l)" -eq 1 ] &&
    ! grep -q '^Reported-Domain: bank.example' inj/*.eml &&
    grep -q '^DKIM-Identity: ??Reported-Domain: bank.example??@bodyhash.r1.test' inj/*.eml
ok_if "CR LF in a decoded i= cannot add a field to the report" $? \
    "$(cat inj.json inj/*.eml 2> /dev/null | head -n 40)"
perl -pe 's/(d=bodyhash\.r1\.test;)/$1 i=joe\@bodyhash.r1.test;/' \
    bodyhash.bodyhash.r1.test.eml > redi.eml
mkdir redi
"$DKIMKIT" verify --zone zone --now $((NOW + 600)) --reports \
    --report-dir redi --redact-key redact.key redi.eml > /dev/null 2>&1
[ "$(ls redi | wc -l)" -eq 1 ] && ! grep -q 'joe' redi/*.eml &&
    sed -n '/^Authentication-Results:/,/^Arrival-Date:/p' redi/*.eml |
    grep -q 'header.i=[0-9a-f]\{32\}@bodyhash.r1.test'
ok_if "a redacted report redacts header.i= in its A-R entry" $? \
    "$(cat redi/*.eml 2> /dev/null | head -n 40)"

# A report is never about a report: the rr=all report of bodyhash,
# signed with r=y by a domain that asks for everything and broken,
# gets none; the same message as a plain multipart/mixed gets one.
rep1=$(grep -l "^To: <rep@bodyhash.r1.test>" out1/*.eml)
for kind in report mixed; do
	if [ "$kind" = report ]; then cp "$rep1" fb.eml; else
		sed 's/multipart\/report; report-type=feedback-report;/multipart\/mixed;/' \
		    "$rep1" > fb.eml; fi
	"$DKIMKIT" sign --report-request --key k.pem --domain bodyhash.r1.test \
	    --selector s --now $NOW fb.eml | sed 's/^A DKIM signature/A dkim signature/' > fbs.eml
	rm -rf loop; mkdir loop
	"$DKIMKIT" verify --zone zone --now $((NOW + 600)) --json --reports \
	    --report-dir loop fbs.eml > loop.json 2>&1
	n=$(ls loop | wc -l)
	if [ "$kind" = report ]; then want=0; else want=1; fi
	[ "$n" -eq "$want" ]
	ok_if "a $kind message fed back in: $want report(s)" $? "$(cat loop.json)"
done

# A flood: 10,000 failures toward one address, 3 an hour allowed: 3.
files=$(for _ in $(seq 10000); do printf 'bodyhash.bodyhash.r1.test.eml '; done)
mkdir flood
# shellcheck disable=SC2086
"$DKIMKIT" verify --zone zone --now $((NOW + 600)) --json --reports \
    --report-dir flood --report-rate 3 --report-state state $files \
    > flood.json 2> flood.err
n=$(ls flood | wc -l)
lim=$(grep -c '"status":"rate_limited"' flood.json)
[ "$n" -eq 3 ] && [ "$lim" -eq 9997 ]
ok_if "10,000 failures toward one address: 3 reports, 9997 rate_limited" $? \
    "written $n, rate_limited $lim: $(head -3 flood.err)"
"$DKIMKIT" verify --zone zone --now $((NOW + 600)) --reports \
    --report-dir flood --report-rate 3 --report-state state \
    bodyhash.bodyhash.r1.test.eml > /dev/null 2>&1
n=$(ls flood | wc -l)
[ "$n" -eq 3 ]
ok_if "the state file keeps the limit across runs" $? "written $n"

# The global bucket: three addresses, two reports an hour in all.
mkdir glob
"$DKIMKIT" verify --zone zone --now $((NOW + 600)) --json --reports \
    --report-dir glob --report-global-rate 2 bodyhash.bodyhash.r1.test.eml \
    signature.signature.r1.test.eml expired.expired.r1.test.eml \
    > glob.json 2>&1
n=$(ls glob | wc -l)
[ "$n" -eq 2 ] && [ "$(grep -c '"status":"rate_limited"' glob.json)" -eq 1 ]
ok_if "the global limit: 2 of 3 reports, 1 rate_limited" $? "$(cat glob.json)"

# A suppressed domain gets nothing; the verdict is the same with or
# without reports.
printf '# never\nbodyhash.r1.test\n' > suppress
"$DKIMKIT" verify --zone zone --now $((NOW + 600)) --json --reports \
    --report-dir flood --report-suppress suppress \
    bodyhash.bodyhash.r1.test.eml > sup.json 2>&1
grep -q '"status":"suppressed"' sup.json
ok_if "a suppressed domain: status suppressed" $? "$(cat sup.json)"
a=$("$DKIMKIT" verify --zone zone --now $((NOW + 600)) --json \
    bodyhash.bodyhash.r1.test.eml | sed 's/,"reports":\[[^]]*\]//')
b=$(sed 's/,"reports":\[[^]]*\]//' sup.json)
[ "$a" = "$b" ]
ok_if "reports never change the verdict" $? "$a / $b"

# Report options belong to verify; a bad value stops before any work.
for args in "adsp --reports m.eml" "explain --report-dir out1 m.eml" \
    "verify --report-rate x m.eml" "verify --report-smtp nohost m.eml" \
    "verify --report-key k.pem m.eml"; do
	# shellcheck disable=SC2086
	"$DKIMKIT" $args > bad.out 2> bad.err
	st=$?
	[ "$st" -eq 2 ] && [ -s bad.err ] && [ ! -s bad.out ]
	ok_if "dkimkit $args: exit 2, said why" $? "exit $st: $(cat bad.out bad.err)"
done

# The signer's side: key record --report prints the record beside the
# key's; a domain that publishes it gets reports for signatures made
# with --report-request, and none for those made without.
"$DKIMKIT" key record --key k.pem --report 'ra=dkim; rp=100; rr=v' \
    pub.test s > pub.zone 2> pub.err
grep -q '^_report._domainkey.pub.test. 3600 IN TXT "ra=dkim; rp=100; rr=v"$' \
    pub.zone && grep -q '^s._domainkey.pub.test. ' pub.zone
ok_if "key record --report prints both records" $? "$(cat pub.zone pub.err)"
for spec in 'ra=x; ro=all' 'ra=x; rr=v:q' 'ra=x; rp=101' 'rr=all' \
    'ra=a@b; rr=all' 'ra=x; rr=v::x'; do
	"$DKIMKIT" key record --key k.pem --report "$spec" pub.test s \
	    > bad.out 2> bad.err
	st=$?
	[ "$st" -eq 2 ] && [ ! -s bad.out ] && [ -s bad.err ]
	ok_if "key record --report '$spec' is refused" $? \
	    "exit $st: $(cat bad.out bad.err)"
done
for req in yes no; do
	opt=""
	[ "$req" = yes ] && opt=--report-request
	# shellcheck disable=SC2086
	"$DKIMKIT" sign $opt --key k.pem --domain pub.test --selector s m.eml |
	    sed 's/^Hi Bob\./Hi Bob!/' > pub.eml
	rm -rf pubout; mkdir pubout
	"$DKIMKIT" verify --zone pub.zone --reports --report-dir pubout \
	    pub.eml > /dev/null 2>&1
	n=$(ls pubout | wc -l)
	if [ "$req" = yes ]; then want=1; else want=0; fi
	[ "$n" -eq "$want" ] && { [ "$req" = no ] ||
	    grep -q '^To: <dkim@pub.test>' pubout/*.eml; }
	ok_if "signed with r=y: $req, $want report(s)" $? "written $n"
done

done_testing
