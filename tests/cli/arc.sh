#!/bin/bash
# ARC (RFC 8617) through the command: dkimkit seal adds the next set,
# dkimkit verify --arc --json reports the chain with the contract of
# dkimkit(1), a changed message fails at the instance that saw it, a
# failed chain is sealed cv=fail once and then no more, and a malformed
# chain gives fail without a crash.  Keys come from a zone file.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3
[ -x "$PY" ] || skip_all "no $PY to read the JSON output"

"$DKIMKIT" keygen --algorithm ed25519 --domain example.com --selector ed \
    --out ed.pem > zone || bail_out "keygen ed25519"
"$DKIMKIT" keygen --algorithm rsa --bits 2048 --domain relay.example.net \
    --selector r1 --out r1.pem >> zone || bail_out "keygen rsa"
"$DKIMKIT" keygen --algorithm ed25519 --domain list.example.org \
    --selector l1 --out l1.pem >> zone || bail_out "keygen list"
printf 'From: joe@example.com\nTo: list@example.org\nSubject: hi\n\nHello\n' \
    > m.eml
"$DKIMKIT" sign --key ed.pem --domain example.com --selector ed m.eml \
    > s.eml || bail_out "sign"

# arc_json FILE RESULT N OLDEST FAILED: verify --arc --json and compare.
arc_json()
{
	local f="$1" out
	out=$("$DKIMKIT" verify --zone zone --arc --trusted-sealer \
	    relay.example.net --json "$f" 2>&1)
	printf '%s\n' "$out" | "$PY" -c '
import json, sys
j = json.loads(sys.stdin.readline())
a = j["arc"]
want = {"result": sys.argv[1], "instances": int(sys.argv[2]),
        "oldest_pass": int(sys.argv[3]),
        "failed_instance": None if sys.argv[4] == "null" else int(sys.argv[4])}
got = {k: a[k] for k in want}
ok = got == want and sorted(a) == sorted(list(want) + ["reason"]) and \
    ("arc=" + a["result"]) in j["authentication_results"] and \
    (a["result"] != "fail") == (a["reason"] == "")
if not ok:
    print("# got %r" % a, file=sys.stderr)
sys.exit(0 if ok else 1)' "$2" "$3" "$4" "$5"
}

arc_json s.eml none 0 0 null
ok_if "unsealed message: arc none" $? ""

seal()
{
	"$DKIMKIT" seal --key "$1" --domain "$2" --selector "$3" \
	    --authserv-id "$2" --zone zone "$4"
}

seal r1.pem relay.example.net r1 s.eml > a1.eml
ok_if "seal exits 0" $? ""
head -1 a1.eml | grep -q '^ARC-Seal: i=1; a=rsa-sha256; t=[0-9]*; cv=none;'
ok_if "first set: ARC-Seal on top, cv=none" $? "$(head -1 a1.eml)"
grep -q '^ARC-Authentication-Results: i=1; relay.example.net;' a1.eml
ok_if "AAR with i=1 and the authserv-id" $? ""
arc_json a1.eml pass 1 0 null
ok_if "one set: pass" $? ""

seal l1.pem list.example.org l1 a1.eml > a2.eml
grep -q 'cv=pass' a2.eml && grep -q 'a=ed25519-sha256' a2.eml
ok_if "second set, Ed25519, cv=pass" $? ""
arc_json a2.eml pass 2 0 null
ok_if "two sets: pass" $? ""
"$DKIMKIT" verify --zone zone --arc a2.eml > plain.txt
ok_if "verify --arc exits 0 when DKIM passes" $? "$(cat plain.txt)"
grep -q '  arc: pass (2 sets, oldest-pass 0)' plain.txt
ok_if "plain output names the chain" $? "$(cat plain.txt)"
"$DKIMKIT" verify --zone zone --trusted-sealer list.example.org \
    --trusted-sealer nobody.example a2.eml > plain.txt
grep -q '  trusted sealer list.example.org: sealed instance 2$' plain.txt &&
    grep -q '  trusted sealer nobody.example: no seal in the chain$' plain.txt
ok_if "plain output: which instances the trusted sealers sealed" $? \
    "$(cat plain.txt)"

sed 's/Hello/Hellx/' a2.eml > bad.eml
arc_json bad.eml fail 2 0 2
ok_if "changed body: fail at instance 2" $? ""
seal r1.pem relay.example.net r1 bad.eml > a3.eml
grep -q '^ARC-Seal: i=3; .*cv=fail;' a3.eml
ok_if "a failed chain is sealed cv=fail" $? "$(head -1 a3.eml)"
arc_json a3.eml fail 3 0 3
ok_if "cv=fail on top: fail" $? ""
seal l1.pem list.example.org l1 a3.eml > a4.eml 2> err
st=$?
[ "$st" -eq 1 ] && cmp -s a4.eml <(sed 's/$/\r/' a3.eml | sed 's/\r\r$/\r/') &&
    grep -q 'not sealed' err
ok_if "after cv=fail nothing is added (exit 1)" $? "exit $st: $(cat err)"

# Malformed chains: fail, never a crash.
mal()
{
	local name="$1" st
	shift
	sed "$@" a2.eml > mal.eml
	"$DKIMKIT" verify --zone zone --arc --json mal.eml > mal.json 2>&1
	st=$?
	[ "$st" -le 1 ] && grep -q '"arc":{"result":"fail"' mal.json
	ok_if "malformed: $name" $? "exit $st: $(cat mal.json)"
}
mal "missing AMS" '/^ARC-Message-Signature: i=1/,/^[^ \t]/{/^ARC-Message/d;/^[ \t]/d}'
mal "i=0" 's/^ARC-Authentication-Results: i=1;/ARC-Authentication-Results: i=0;/'
mal "i=51" 's/^ARC-Seal: i=2;/ARC-Seal: i=51;/'
mal "duplicate instance" 's/^ARC-Seal: i=2;/ARC-Seal: i=1;/'
mal "h= in a seal" 's/^ARC-Seal: i=1;/ARC-Seal: i=1; h=From;/'
mal "cv=fail in the middle" '0,/cv=pass/s//cv=fail/'

# Chains from the ValiMail ARC test suite (tests/vectors/arc), sealed by
# others long ago (t=12345), and copies changed as its failing cases are.
AV="$VECTORS/arc"
suite()
{
	local f="$1" out
	shift
	out=$("$DKIMKIT" verify --zone "$AV/suite.zone" --now 12400 --arc \
	    --json "$f" 2>&1)
	printf '%s\n' "$out" | grep -q "\"arc\":{$*" 
}
suite "$AV/suite-cv_pass_i1_1.eml" \
    '"result":"pass","instances":1,"oldest_pass":0,"failed_instance":null'
ok_if "suite cv_pass_i1_1: pass" $? ""
suite "$AV/suite-cv_pass_i2_1_ams1_invalid.eml" \
    '"result":"pass","instances":2,"oldest_pass":2,"failed_instance":null'
ok_if "suite cv_pass_i2_1_ams1_invalid: pass, oldest-pass 2" $? ""
# What relaxed canonicalization forgives (the suite's *_head_case,
# *_col_wsp, *_eol_wsp, *_inl_wsp, *_head_unfold, bh_rel_* cases): pass.
relaxed_case()
{
	sed "$2" "$AV/suite-cv_pass_i1_1.eml" > r.eml
	suite r.eml '"result":"pass","instances":1'
	ok_if "suite $1: pass" $? ""
}
relaxed_case as_head_case 's/^ARC-Seal:/ARC-SEAL:/'
relaxed_case as_col_wsp 's/^ARC-Seal: /ARC-Seal:    /'
relaxed_case as_eol_wsp '/^ARC-Seal:/,/t=12345/s/kon3TmQ$/kon3TmQ    /'
relaxed_case as_inl_wsp 's/=; cv=none;/=;       cv=none;/'
relaxed_case ams_head_case 's/^From:/FROM:/'
relaxed_case ams_inl_wsp 's/^From: John Q Doe/From: John   Q    Doe/'
relaxed_case ams_head_unfold 's/^From: John Q Doe /From: John Q Doe\n  /'
relaxed_case bh_rel_eol_wsp 's/^This is a test message\.$/This is a test message.   /'
relaxed_case bh_rel_end_lines '$s/$/\n\n/'

sed 's/^ARC-Authentication-Results: i=1; /ARC-Authentication-Results: i=1 /' \
    "$AV/suite-cv_pass_i1_1.eml" > s1.eml
suite s1.eml '"result":"fail","instances":1,"oldest_pass":0,"failed_instance":null,"reason":"ARC-Authentication-Results without a readable'
ok_if "suite aar_i_no_semi: fail, the AAR unreadable" $? ""
sed '/^ARC-Seal:/,/t=12345/s/s=dummy;/s=na;/' "$AV/suite-cv_pass_i1_1.eml" \
    > s2.eml
suite s2.eml '"result":"fail","instances":1,"oldest_pass":0,"failed_instance":1'
ok_if "suite public_key_na: fail at instance 1" $? ""
sed 's/^This is a test message/This is a test massage/' \
    "$AV/suite-cv_pass_i1_1.eml" > s3.eml
suite s3.eml '"result":"fail","instances":1,"oldest_pass":0,"failed_instance":1'
ok_if "suite, body changed: fail at instance 1" $? ""

"$DKIMKIT" seal --domain x.example --selector s a1.eml > /dev/null 2>&1
[ $? -eq 2 ]
ok_if "seal without --key: usage error" $? ""

done_testing
