#!/bin/bash
# The local policy override by a trusted ARC sealer (RFC 8617 7.2): a
# message signed by example.com (p=reject, dkim=all) goes through a list
# that verifies it, adds a footer and seals what it sends (dkimkit seal
# --received).  DKIM and DMARC fail at the next receiver; with the list
# trusted the disposition is none (reason local_policy), without it
# reject.  Keys and policies come from a zone file.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no $PY to read the JSON output"

"$DKIMKIT" keygen --algorithm ed25519 --domain example.com --selector ed \
    --out ed.pem > zone || bail_out "keygen example.com"
"$DKIMKIT" keygen --algorithm rsa --bits 2048 --domain lists.example.org \
    --selector l1 --out l1.pem >> zone || bail_out "keygen list"
"$DKIMKIT" keygen --algorithm ed25519 --domain relay.example.net \
    --selector r1 --out r1.pem >> zone || bail_out "keygen relay"
cat >> zone <<'EOF'
_dmarc.example.com. TXT "v=DMARC1; p=reject"
_adsp._domainkey.example.com. TXT "dkim=all"
EOF
printf 'From: Joe <joe@example.com>\nTo: list@lists.example.org\nSubject: hi\n\nHello, list.\n' \
    > m.eml
"$DKIMKIT" sign --key ed.pem --domain example.com --selector ed m.eml \
    > s.eml || bail_out "sign"
# The list's footer, then its seal over what it sends.
{ cat s.eml; printf -- '-- \r\nlists.example.org: to leave, write to list-leave\r\n'; } \
    > footer.eml
"$DKIMKIT" seal --key l1.pem --domain lists.example.org --selector l1 \
    --authserv-id lists.example.org --zone zone --received s.eml footer.eml \
    > list.eml
ok_if "the list seals the message with its footer" $? ""
grep -q '^ARC-Authentication-Results: i=1; lists.example.org;.*dkim=pass' \
    <(tr -d '\r' < list.eml | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n\t/ /g')
ok_if "its AAR records the DKIM pass it saw on receipt" $? ""

# dmarc_json FILE WANT_DISPOSITION WANT_SEALER [verify options]: the
# dmarc object of verify --json, and the A-R said the same.
dmarc_json()
{
	local f="$1" disp="$2" sealer="$3" out
	shift 3
	out=$("$DKIMKIT" verify --zone zone --dmarc --adsp --json "$@" "$f" 2>&1)
	printf '%s\n' "$out" | "$PY" -c '
import json, sys
j = json.loads(sys.stdin.readline())
d, ar = j["dmarc"], j["authentication_results"]
disp, sealer = sys.argv[1], sys.argv[2]
ok = d["result"] == "fail" and d["policy"] == "reject" and \
    d["disposition"] == disp and j["signatures"][0]["result"] == "fail" \
    and j["adsp"] == "fail"
if sealer == "-":
    ok = ok and d["override"] is None and j["adsp_override"] is None and \
        "local_policy" not in ar and "policy.dmarc=reject" in ar
else:
    o = d["override"]
    ok = ok and o is not None and o["sealer"] == sealer and \
        o["instance"] == 1 and o["reason"] == "local_policy" and \
        o["comment"].startswith("arc=pass as[") and \
        j["adsp_override"] is not None and \
        j["adsp_override"]["sealer"] == sealer and \
        ("reason=\"local_policy: arc=pass, trusted sealer %s of instance 1" \
        % sealer) in ar and "policy.dmarc=none" in ar and \
        "dmarc=fail" in ar and "dkim-adsp=fail" in ar
if not ok:
    print("# got %s" % json.dumps(j), file=sys.stderr)
sys.exit(0 if ok else 1)' "$disp" "$sealer"
}

dmarc_json list.eml none lists.example.org --trusted-sealer lists.example.org
ok_if "list trusted: disposition none, override by the list" $? ""
dmarc_json list.eml none lists.example.org \
    --trusted-sealer LISTS.Example.ORG.
ok_if "the sealer is matched without regard to case or a final dot" $? ""
dmarc_json list.eml reject - --arc
ok_if "list not trusted: disposition reject" $? ""
dmarc_json list.eml reject - --trusted-sealer example.org
ok_if "a parent domain of the sealer is not the sealer" $? ""
"$DKIMKIT" verify --zone zone --dmarc --trusted-sealer lists.example.org \
    list.eml > plain.txt
st=$?
[ $st -eq 0 ] &&
    grep -q '  dmarc: fail (example.com, policy reject at example.com, disposition none)' plain.txt &&
    grep -q '  overridden (local_policy): trusted sealer lists.example.org of instance 1' plain.txt
ok_if "plain output says it, exit 0" $? "exit $st: $(cat plain.txt)"
"$DKIMKIT" verify --zone zone --dmarc --arc list.eml > /dev/null
[ $? -eq 1 ]
ok_if "untrusted: exit 1" $? ""

# A footer added after the seal breaks the list's AMS: the chain fails
# and nothing is overridden.
{ cat list.eml; printf 'one more line\r\n'; } > broken.eml
dmarc_json broken.eml reject - --trusted-sealer lists.example.org
ok_if "chain fails: disposition reject" $? ""

# Sealed without --received, after the footer: the list's AAR records
# the DKIM fail it saw, so there is nothing to vouch for.
"$DKIMKIT" seal --key l1.pem --domain lists.example.org --selector l1 \
    --authserv-id lists.example.org --zone zone footer.eml > late.eml
dmarc_json late.eml reject - --trusted-sealer lists.example.org
ok_if "the trusted list recorded a fail: disposition reject" $? ""
# ... and a relay that saw nothing better and is trusted adds nothing.
"$DKIMKIT" seal --key r1.pem --domain relay.example.net --selector r1 \
    --authserv-id relay.example.net --zone zone late.eml > late2.eml
dmarc_json late2.eml reject - --trusted-sealer lists.example.org \
    --trusted-sealer relay.example.net
ok_if "trusted sealers that recorded fails: disposition reject" $? ""

# The list's vouch holds under a later hop's seal.
"$DKIMKIT" seal --key r1.pem --domain relay.example.net --selector r1 \
    --authserv-id relay.example.net --zone zone list.eml > relayed.eml
dmarc_json relayed.eml none lists.example.org \
    --trusted-sealer lists.example.org
ok_if "instance 1's vouch under a second seal" $? ""

# --received must carry the same ARC sets.
"$DKIMKIT" seal --key r1.pem --domain relay.example.net --selector r1 \
    --zone zone --received s.eml list.eml > /dev/null 2> err
[ $? -eq 2 ] && grep -q 'does not carry the same ARC sets' err
ok_if "seal --received with other ARC sets: error" $? "$(cat err)"
"$DKIMKIT" seal --key r1.pem --domain relay.example.net --selector r1 \
    --zone zone s.eml > other.eml
"$DKIMKIT" seal --key r1.pem --domain relay.example.net --selector r1 \
    --zone zone --received other.eml list.eml > /dev/null 2> err
[ $? -eq 2 ] && grep -q 'does not carry the same ARC sets' err
ok_if "seal --received with as many but other ARC sets: error" $? \
    "$(cat err)"

# --arc-forwarded: the list not trusted, its chain passes: the reject is
# lowered to quarantine (a local_policy override the JSON and the A-R
# show); a trusted sealer's none wins; no chain, or a broken one, keeps
# reject.
fwd_json()
{
	local f="$1" disp="$2" sealer="$3" out
	shift 3
	out=$("$DKIMKIT" verify --zone zone --dmarc --adsp --json \
	    --arc-forwarded "$@" "$f" 2>&1)
	printf '%s\n' "$out" | "$PY" -c '
import json, sys
j = json.loads(sys.stdin.readline())
d, ar = j["dmarc"], j["authentication_results"]
disp, sealer = sys.argv[1], sys.argv[2]
ar1 = " ".join(ar.split())
ok = d["result"] == "fail" and d["policy"] == "reject" and \
    d["disposition"] == disp and j["adsp"] == "fail" and \
    j["arc"]["result"] == "pass"
if disp == "quarantine":
    # ADSP has no forwarded override: its fail stands
    ok = ok and j["adsp_override"] is None
    o = d["override"]
    ok = ok and d["forwarded"] is True and o is not None and \
        o["sealer"] == sealer and o["reason"] == "local_policy" and \
        o["comment"].startswith("arc=pass as[") and \
        ("reason=\"local_policy: arc=pass, forwarded, latest sealer %s " \
        "of instance %d, no trusted sealer vouched: reject lowered to " \
        "quarantine\"" % (sealer, o["instance"])) in ar1 and \
        "policy.dmarc=quarantine" in ar1
elif disp == "none":
    ok = ok and d["forwarded"] is False and \
        d["override"]["sealer"] == sealer and "policy.dmarc=none" in ar1
if not ok:
    print("# got %s" % json.dumps(j), file=sys.stderr)
sys.exit(0 if ok else 1)' "$disp" "$sealer"
}
fwd_json list.eml quarantine lists.example.org
ok_if "--arc-forwarded, list not trusted: quarantine, forwarded override" \
    $? ""
fwd_json relayed.eml quarantine relay.example.net
ok_if "--arc-forwarded: the latest sealer is named" $? ""
fwd_json list.eml none lists.example.org --trusted-sealer lists.example.org
ok_if "--arc-forwarded: a trusted sealer's vouch still gives none" $? ""
out=$("$DKIMKIT" verify --zone zone --dmarc --arc-forwarded --json \
    broken.eml s.eml footer.eml)
st=$?
printf '%s\n' "$out" | "$PY" -c '
import json, sys
got = [json.loads(l)["dmarc"] for l in sys.stdin if l.strip()]
have = [(d["disposition"], d["forwarded"]) for d in got]
print("# got %s" % have, file=sys.stderr)
sys.exit(0 if have == [("reject", False), ("none", False),
    ("reject", False)] else 1)'
ok_if "--arc-forwarded: broken chain or none: reject (a pass stays none)" \
    $? ""
[ $st -eq 1 ]
ok_if "--arc-forwarded: exit 1 while a message is rejected" $? "exit $st"
"$DKIMKIT" verify --zone zone --dmarc --arc-forwarded list.eml > plain.txt
st=$?
[ $st -eq 1 ] &&
    grep -q '  dmarc: fail (example.com, policy reject at example.com, disposition quarantine)' plain.txt &&
    grep -q '  overridden (local_policy): forwarded mail, latest sealer lists.example.org of instance 1, no trusted sealer vouched: reject lowered to quarantine' plain.txt
ok_if "--arc-forwarded, plain output; quarantine is not a pass (exit 1)" \
    $? "exit $st: $(cat plain.txt)"
"$DKIMKIT" verify --zone zone --arc-forwarded list.eml > /dev/null 2> err
[ $? -eq 2 ] && grep -q 'arc-forwarded lowers a DMARC disposition: give --dmarc' err
ok_if "--arc-forwarded without --dmarc: usage error" $? "$(cat err)"

done_testing
