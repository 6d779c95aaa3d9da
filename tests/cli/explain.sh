#!/bin/bash
# dkimkit explain: the command (usage, plain and --json output, verdicts
# and exit status those of verify) and the failure classes on a generated
# corpus (tests/cli/data/explain_corpus.py): base messages signed by
# dkimkit (plain and oversigned) and by python3-dkim (plain and with z=)
# under the four canonicalization pairs, each changed in one known way or
# several; the class must be right for 95% of them and for every z= case,
# the field named, and python3-dkim must agree on what fails and what
# relaxed canonicalization survives.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3
"$PY" -c 'import dkim' 2>/dev/null || skip_all "python3-dkim is not installed"

"$DKIMKIT" keygen --algorithm rsa --bits 2048 --domain example.test \
    --selector corpus --out corpus.pem > zone || bail_out "keygen"

# --- the command ---------------------------------------------------------
check "explain --help exits 0" "$DKIMKIT" explain --help
grep -q "usage: dkimkit explain" "$TAP_OUT"
ok_if "explain --help shows its usage" $?
check_status 2 "explain without FILE is a usage error" "$DKIMKIT" explain
check_status 2 "explain with an unknown option is a usage error" \
    "$DKIMKIT" explain --bogus x.eml
check_status 2 "explain of a missing file is trouble" "$DKIMKIT" explain \
    --zone zone nosuch.eml

printf 'From: alice@example.test\r\nTo: list@lists.example.net\r\nSubject: News\r\n\r\nHello all.\r\n' > m.eml
"$DKIMKIT" sign --key corpus.pem --domain example.test --selector corpus \
    m.eml > signed.eml || bail_out "sign"
{ cat signed.eml; printf -- '-- \r\nlists.example.net: unsubscribe at https://lists.example.net/\r\n'; } > footer.eml
sed 's/^Subject: News/Subject: [news] News/' signed.eml > tagged.eml

check_status 0 "explain of a passing message exits 0" "$DKIMKIT" explain \
    --zone zone signed.eml
grep -q "class" "$TAP_OUT"
ok_if "a passing signature gets no class" $((! $?))
check_status 1 "explain of a failing message exits 1, as verify" \
    "$DKIMKIT" explain --zone zone footer.eml
grep -q "class body-appended: 66 octets in 2 lines were appended" "$TAP_OUT" &&
    grep -q "mailing list" "$TAP_OUT"
ok_if "plain output: the footer's size and a sentence to act on" $? \
    "$(cat "$TAP_OUT")"

check_status 1 "explain --json" "$DKIMKIT" explain --zone zone --json \
    footer.eml tagged.eml signed.eml
"$PY" - "$TAP_OUT" <<'PYEOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
want = [("fail", "body-appended", None), ("fail", "subject-tagged", "Subject"),
        ("pass", "none", None)]
for j, (res, cls, field) in zip(lines, want):
    s = j["signatures"][0]
    assert j["result"] == res and s["result"] == res, j
    assert s["class"] == cls and s["field"] == field, s
    assert set(s) >= {"d", "s", "i", "a", "result", "reason", "dnssec",
                      "class", "field", "detail"}, s
assert len(lines) == 3
PYEOF
ok_if "--json: class, field and detail on each signature object" $?

"$DKIMKIT" verify --zone zone --json footer.eml > verify.json
"$DKIMKIT" explain --zone zone --json footer.eml > explain.json
"$PY" - verify.json explain.json <<'PYEOF'
import json, sys
v = json.load(open(sys.argv[1]))
e = json.load(open(sys.argv[2]))
assert "class" not in v["signatures"][0]
for k in ("class", "field", "detail", "advice"):
    del e["signatures"][0][k]
assert v == e, (v, e)
PYEOF
ok_if "verify --json is unchanged; explain adds keys only" $?

# --- sign --self-verify ------------------------------------------------------
sv_sign()
{
	"$DKIMKIT" sign --key corpus.pem --domain example.test \
	    --selector corpus --now 1800000000 "$@"
}
check "sign --self-verify of a plain message" sv_sign --self-verify m.eml
cp "$TAP_OUT" sv.eml
sv_sign m.eml > plain.eml
cmp -s sv.eml plain.eml
ok_if "--self-verify writes what sign without it writes" $?
"$DKIMKIT" verify --zone zone --now 1800000000 sv.eml > /dev/null
ok_if "and it verifies" $?
# A message whose first line is a continuation line: the new field on top
# would swallow it, so no signature made over it could verify.  The signer
# refuses it, --self-verify or not: exit 2, nothing written, the reason.
printf ' stray\r\nFrom: alice@example.test\r\n\r\nHello\r\n' > stray.eml
for opt in --self-verify ""; do
	check_status 2 "sign ${opt:-without --self-verify} refuses a header block that begins folded" \
	    sv_sign $opt stray.eml
	[ ! -s "$TAP_OUT" ] &&
	    grep -q "stray.eml: the header block begins with a folded line" "$TAP_ERR"
	ok_if "nothing on standard output, the reason on stderr" $? \
	    "$(cat "$TAP_ERR")"
done

# --- the corpus -------------------------------------------------------------
"$PY" "$TOP_SRCDIR/tests/cli/data/explain_corpus.py" "$DKIMKIT" corpus.pem \
    zone "$TMPD/corpus" > corpus.out 2>&1
st=$?
ok_if "the corpus generator and dkimkit explain ran" $st \
    "$(tail -n 40 corpus.out)"
tap_diag_file corpus.out
for what in "at least 200 cases" "classes right for 95%" \
    "every z= case right" "fields named" "python3-dkim agrees"; do
	grep -q "^CHECK ok: $what " corpus.out
	ok_if "corpus: $what" $? "$(grep "^CHECK .*$what" corpus.out)"
done
done_testing
