#!/bin/bash
# DMARC failure reports (RFC 9991) through `dkimkit verify --dmarc
# --reports` (issue 23): a matrix of DMARC records with fo= sets against
# messages failing DKIM only, SPF only, both, or passing aligned gives a
# report exactly when fo= asks (0 false, 0 missing); a psd=y record's
# ruf= is never used; an address outside the policy domain gets reports
# only when its _report._dmarc record agrees; !size is honoured; each
# report parses with Python's email package and its A-R with
# python3-authres; a report fed back in gets no report; the rate limit
# holds.  Few commands (this suite runs under valgrind in CI): the whole
# matrix is two verify runs.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3
"$PY" -c 'import authres, email' 2>/dev/null ||
    skip_all "python3-authres is needed"

NOW=1700000000
"$DKIMKIT" keygen --algorithm ed25519 --domain org.test --selector s \
    --out k.pem > key.zone || bail_out "keygen"
P=$(tr -d '\n' < key.zone | sed 's/.*p=//; s/".*//')

# Every author domain is below org.test, whose record makes it the
# Organizational Domain: SPF of the envelope domain org.test aligns
# (relaxed) with each of them.  192.0.2.1 passes SPF, 192.0.2.9 fails.
FOSETS="0 1 d s 0:d 0:s 1:d d:s 1:d:s default"
cat > zone <<EOF
_dmarc.org.test. IN TXT "v=DMARC1; p=none"
org.test. IN TXT "v=spf1 ip4:192.0.2.1 -all"
_dmarc.psd.test. IN TXT "v=DMARC1; p=reject; psd=y; fo=1; ruf=mailto:ruf@psd.test"
_dmarc.psdn.test. IN TXT "v=DMARC1; p=reject; psd=n; fo=1; ruf=mailto:ruf@psdn.test"
_dmarc.ext1.org.test. IN TXT "v=DMARC1; p=none; fo=1; ruf=mailto:ruf@reports.example"
ext1.org.test._report._dmarc.reports.example. IN TXT "v=DMARC1"
_dmarc.ext2.org.test. IN TXT "v=DMARC1; p=none; fo=1; ruf=mailto:ruf@elsewhere.example"
ext2.org.test._report._dmarc.elsewhere.example. IN TXT "v=spf1 -all"
_dmarc.in1.org.test. IN TXT "v=DMARC1; p=none; fo=1; ruf=mailto:ruf@org.test,mailto:ruf@sib.org.test"
_dmarc.size1.org.test. IN TXT "v=DMARC1; p=none; fo=1; ruf=mailto:ruf@size1.org.test!1k"
_dmarc.size2.org.test. IN TXT "v=DMARC1; p=none; fo=1; ruf=mailto:ruf@size2.org.test!100k"
EOF
i=0
for fo in $FOSETS; do
	i=$((i + 1))
	tag="; fo=$fo"
	[ "$fo" = default ] && tag=""
	printf '_dmarc.fo%s.org.test. IN TXT "v=DMARC1; p=quarantine%s; ruf=mailto:ruf@fo%s.org.test"\n' \
	    "$i" "$tag" "$i"
done >> zone
for d in $(seq 1 $i); do echo "fo$d.org.test"; done > doms
printf '%s\n' x.psd.test x.psdn.test ext1.org.test ext2.org.test \
    in1.org.test size1.org.test size2.org.test >> doms
while read -r d; do
	printf 's._domainkey.%s. IN TXT "v=DKIM1; k=ed25519; p=%s"\n' "$d" "$P"
done < doms >> zone

# make D: the message from joe@D, signed by D (one signature per
# domain: the sign commands are most of this suite's time under
# valgrind), as KIND.D.eml for each kind; its body changed for the
# kinds whose DKIM fails.  SPF passes or fails by the run.
make_msg()
{
	printf 'From: Joe <joe@%s>\nTo: bob@receiver.test\nSubject: hello\n\nHi Bob.\n' \
	    "$1" > m.eml
	"$DKIMKIT" sign --key k.pem --domain "$1" --selector s --now $NOW \
	    m.eml > s.eml || bail_out "sign $1"
	cp s.eml "pass.$1.eml"
	cp s.eml "spffail.$1.eml"
	sed 's/^Hi Bob\./Hi Bob!/' s.eml > "dkimfail.$1.eml"
	cp "dkimfail.$1.eml" "both.$1.eml"
}

# want FO KIND: 1 when fo= asks for a report (RFC 9989 4.7).
want()
{
	local fo="$1" k="$2" w=0
	[ "$fo" = default ] && fo=0
	case ":$fo:" in *":0:"*) [ "$k" = both ] && w=1 ;; esac
	case ":$fo:" in *":1:"*) [ "$k" != pass ] && w=1 ;; esac
	case ":$fo:" in *":d:"*)
		{ [ "$k" = dkimfail ] || [ "$k" = both ]; } && w=1 ;; esac
	case ":$fo:" in *":s:"*)
		{ [ "$k" = spffail ] || [ "$k" = both ]; } && w=1 ;; esac
	echo $w
}

# Two runs: SPF passes (pass, dkimfail) and SPF fails (spffail, both).
good="" bad=""
i=0
for fo in $FOSETS; do
	i=$((i + 1))
	make_msg "fo$i.org.test"
	good="$good pass.fo$i.org.test.eml dkimfail.fo$i.org.test.eml"
	bad="$bad spffail.fo$i.org.test.eml both.fo$i.org.test.eml"
done
for d in x.psd.test x.psdn.test ext1.org.test ext2.org.test \
    in1.org.test size1.org.test size2.org.test; do
	make_msg "$d"
	bad="$bad both.$d.eml"
done
run()
{
	local dir="$1" ip="$2" mf="$3"
	shift 3
	mkdir -p "$dir"
	"$DKIMKIT" verify --zone zone --now $((NOW + 60)) --dmarc --json \
	    --reports --report-dir "$dir" --report-rate 1000 \
	    --report-from reports@receiver.test --authserv-id mx.receiver.test \
	    --client-ip "$ip" --mail-from "$mf" "$@" > "$dir.json" \
	    2> "$dir.err"
}
# shellcheck disable=SC2086
run good 192.0.2.1 bounce@org.test $good
st=$?
[ "$st" -eq 0 ]
ok_if "SPF pass run: exit 0 (DMARC passes on SPF)" $? "exit $st: $(cat good.err)"
# shellcheck disable=SC2086
run bad 192.0.2.9 bounce@org.test $bad
st=$?
[ "$st" -eq 1 ]
ok_if "SPF fail run: exit 1" $? "exit $st: $(cat bad.err)"

i=0
for fo in $FOSETS; do
	i=$((i + 1))
	for k in pass dkimfail spffail both; do
		case $k in pass|dkimfail) dir=good ;; *) dir=bad ;; esac
		w=$(want "$fo" $k)
		got=$(grep -F "\"file\":\"$k.fo$i.org.test.eml\"" "$dir.json" |
		    grep -o '"status":"written","kind":"dmarc"' | wc -l)
		[ "$got" -eq "$w" ]
		ok_if "fo=$fo, $k: $w report(s)" $? \
		    "$(grep -F "$k.fo$i.org.test.eml" "$dir.json")"
	done
done
# Every file written is one the JSON said was written.
nj=$(cat good.json bad.json | grep -o '"status":"written"' | wc -l)
nf=$(find good bad -name '*.eml' | wc -l)
[ "$nj" -eq "$nf" ]
ok_if "as many report files as the JSON says ($nj)" $? "files $nf"

has_report()
{
	grep -F "\"file\":\"both.$1.eml\"" bad.json |
	    grep -q "\"to\":\"$2\",\"domain\":\"$1\",\"reason_token\":\"1\",\"adsp\":false,\"status\":\"$3\",\"kind\":\"dmarc\""
}
grep -F '"file":"both.x.psd.test.eml"' bad.json |
    grep -q '"dmarc":{"result":"fail","domain":"x.psd.test","policy_domain":"psd.test"' &&
    ! grep -F '"file":"both.x.psd.test.eml"' bad.json | grep -q '"kind":"dmarc"'
ok_if "a psd=y record's ruf= is not used (DMARC fails by it)" $? "$(grep -F x.psd.test bad.json)"
has_report x.psdn.test ruf@psdn.test written
ok_if "the same record with psd=n is" $? "$(grep -F x.psdn.test bad.json)"
has_report ext1.org.test ruf@reports.example written
ok_if "an external destination that agrees gets the report" $? \
    "$(grep -F ext1.org.test bad.json)"
grep -F '"file":"both.ext2.org.test.eml"' bad.json |
    grep -q '"dmarc":{"result":"fail"' &&
    ! grep -F '"file":"both.ext2.org.test.eml"' bad.json | grep -q '"kind":"dmarc"'
ok_if "an external destination without v=DMARC1 gets none" $? \
    "$(grep -F ext2.org.test bad.json)"
has_report in1.org.test ruf@org.test written &&
    has_report in1.org.test ruf@sib.org.test written
ok_if "addresses elsewhere in the Organizational Domain need no consent" $? \
    "$(grep -F in1.org.test bad.json)"
has_report size1.org.test ruf@size1.org.test too_large &&
    ! grep -l '^To: <ruf@size1.org.test>' bad/*.eml > /dev/null 2>&1
ok_if "a report over !1k is not sent" $? "$(grep -F size1 bad.json)"
has_report size2.org.test ruf@size2.org.test written
ok_if "one under !100k is" $? "$(grep -F size2 bad.json)"

# Every report, read by independent parsers.
cat > check.py <<'PYEOF'
import authres, email, email.policy, sys
want_align = {"pass": "dkim, spf", "dkimfail": "spf", "spffail": "dkim",
              "both": "none"}
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
    fb = parts[1].get_payload()[0]
    for f in ("Feedback-Type", "User-Agent", "Version", "Auth-Failure",
              "Identity-Alignment", "Authentication-Results",
              "Original-Mail-From", "Source-IP", "Arrival-Date",
              "Reported-Domain", "DKIM-Domain", "DKIM-Identity",
              "DKIM-Selector"):
        if fb[f] is None:
            fail("no " + f)
    if fb["Feedback-Type"] != "auth-failure" or fb["Auth-Failure"] != "dmarc":
        fail("types %s %s" % (fb["Feedback-Type"], fb["Auth-Failure"]))
    dom = fb["Reported-Domain"]
    orig = email.message_from_string(parts[2].get_payload())
    if orig["From"] != "Joe <joe@%s>" % dom:
        fail("From of the original %s, Reported-Domain %s" % (orig["From"], dom))
    if fb["DKIM-Domain"] != dom or fb["DKIM-Selector"] != "s":
        fail("DKIM fields %s %s" % (fb["DKIM-Domain"], fb["DKIM-Selector"]))
    if fb["Original-Mail-From"] != "<bounce@org.test>":
        fail("Original-Mail-From " + str(fb["Original-Mail-From"]))
    ar = authres.AuthenticationResultsHeader.parse(
        "Authentication-Results: " + fb["Authentication-Results"])
    res = {r.method: r.result for r in ar.results}
    if ar.authserv_id != "mx.receiver.test" or \
       set(res) != {"dkim", "spf", "dmarc"}:
        fail("A-R " + str(ar))
        continue
    kind = {("pass", "pass"): "pass", ("fail", "pass"): "dkimfail",
            ("pass", "fail"): "spffail", ("fail", "fail"): "both"}.get(
                (res["dkim"], res["spf"]))
    if kind is None or fb["Identity-Alignment"] != want_align[kind]:
        fail("Identity-Alignment %s for dkim=%s spf=%s" % (
            fb["Identity-Alignment"], res["dkim"], res["spf"]))
    if res["dmarc"] != ("fail" if kind == "both" else "pass"):
        fail("dmarc=%s for %s" % (res["dmarc"], kind))
    if fb["Source-IP"] not in ("192.0.2.1", "192.0.2.9"):
        fail("Source-IP " + str(fb["Source-IP"]))
    dest = {"ext1.org.test": "reports.example",
            "x.psdn.test": "psdn.test"}.get(dom, dom)
    if msg["To"] != "<ruf@%s>" % dest and dom != "in1.org.test":
        fail("To %s for %s" % (msg["To"], dom))
print(len(sys.argv) - 1)
sys.exit(1 if bad else 0)
PYEOF
n=$("$PY" check.py good/*.eml bad/*.eml 2> check.err)
ok_if "every report parses, with its fields and A-R ($n reports)" $? \
    "$(cat check.err)"

# RFC 7489 mode (its fo= and ruf= are the same tags): the same report.
if [ -r /usr/share/publicsuffix/public_suffix_list.dat ]; then
	mkdir r7489
	"$DKIMKIT" verify --zone zone --dmarc --rfc7489 --json --reports \
	    --report-dir r7489 --client-ip 192.0.2.9 \
	    --mail-from bounce@org.test both.fo2.org.test.eml > r7489.json 2>&1
	grep -q '"status":"written","kind":"dmarc"' r7489.json &&
	    grep -q '^Auth-Failure: dmarc' r7489/*.eml
	ok_if "--rfc7489: fo=1 asks, the report is written" $? "$(cat r7489.json)"
else
	not_ok "--rfc7489" "no Public Suffix List: install publicsuffix"
fi

# A report fed back in, now From a domain whose fo=1 would ask: none.
one=$(grep -l '^To: <ruf@fo2.org.test>' bad/*.eml | head -n 1)
sed 's/^From: <reports@receiver.test>/From: <x@fo2.org.test>/' "$one" > loop.eml
mkdir loop
"$DKIMKIT" verify --zone zone --dmarc --json --reports --report-dir loop \
    --client-ip 192.0.2.9 --mail-from bounce@org.test loop.eml > loop.json 2>&1
grep -q '"dmarc":{"result":"fail"' loop.json &&
    grep -q '"reports":\[\]' loop.json && [ "$(ls loop | wc -l)" -eq 0 ]
ok_if "a feedback report that fails DMARC gets no report" $? "$(cat loop.json)"

# The rate limit (one an hour per address by default), kept across
# runs in the state file; redaction of the envelope sender.
printf 'secret key\n' > redact.key
mkdir rate
for n in 1 2; do
	"$DKIMKIT" verify --zone zone --dmarc --json --reports \
	    --report-dir rate --report-state rate.state \
	    --redact-key redact.key --client-ip 192.0.2.9 \
	    --mail-from bounce@org.test both.fo1.org.test.eml > "rate$n.json" 2>&1
done
grep -q '"status":"written"' rate1.json &&
    grep -q '"status":"rate_limited"' rate2.json && [ "$(ls rate | wc -l)" -eq 1 ]
ok_if "the second report to one address within the hour is held back" $? \
    "$(cat rate1.json rate2.json)"
grep -q '^Original-Mail-From: <[0-9a-f]\{32\}@org.test>' rate/*.eml &&
    ! grep -q 'bounce@\|joe@' rate/*.eml
ok_if "a redacted DMARC report hides local parts" $? "$(cat rate/*.eml)"

done_testing
