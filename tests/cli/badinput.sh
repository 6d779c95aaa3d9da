#!/bin/bash
# Hostile and broken messages: each gets a clear verdict (exit 1) or a
# clear error (exit 2, one line naming the file), never a crash or a hang.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY=/usr/bin/python3

"$DKIMKIT" keygen --algorithm rsa --bits 1024 --domain example.test \
    --selector s --out k.pem > zone 2>/dev/null || bail_out "keygen failed"
printf 'From: a@example.test\nSubject: x\n\nhello\n' > plain.eml
"$DKIMKIT" sign --key k.pem --domain example.test --selector s plain.eml \
    > good.eml || bail_out "sign failed"
SIG=$(sed -n '/^DKIM-Signature/,/^From/p' good.eml | sed '$d')

# verdict NAME FILE JSON-EXPR EXPECTED: verify FILE (60 s at most) and
# compare a value of its JSON output.
verdict()
{
	local name="$1" file="$2" expr="$3" want="$4" st got

	timeout 60 "$DKIMKIT" verify --zone zone --json "$file" > out.json 2> err.txt
	st=$?
	if [ "$st" -ge 3 ]; then
		not_ok "$name" "exit status $st (crash or timeout)" "$(head -3 err.txt)"
		return
	fi
	got=$("$PY" -c 'import json,sys; j=json.loads(open("out.json").readline()); print(eval(sys.argv[1]))' "$expr" 2>&1)
	[ "$got" = "$want" ]
	ok_if "$name" $? "want $want, got $got"
}

# error NAME FILE PATTERN: verify must exit 2 with PATTERN on stderr.
error()
{
	local name="$1" file="$2" pat="$3" st

	timeout 60 "$DKIMKIT" verify --zone zone "$file" > /dev/null 2> err.txt
	st=$?
	[ "$st" -eq 2 ] && grep -q -- "$pat" err.txt
	ok_if "$name" $? "exit $st, stderr: $(head -2 err.txt)"
}

printf 'From: a@example.test\nSubject: trunc' > trunc1.eml
verdict "header block cut mid-line: none" trunc1.eml 'j["result"]' none
printf '%s\nFrom: a@example.test\nSubject: x\n' "$SIG" > trunc2.eml
verdict "header block without a body: fail, not a crash" trunc2.eml \
    'j["signatures"][0]["result"]' fail
head -c 60 good.eml > trunc3.eml
verdict "signature field cut short: permerror" trunc3.eml \
    'j["signatures"][0]["result"]' permerror
: > empty.eml
verdict "empty input: none" empty.eml 'j["result"]' none

printf '%s\nFrom: a@example.test\nSubject: x\n\nhel\0lo\n' "$SIG" > nul-body.eml
verdict "NUL in the body: fail (body hash mismatch)" nul-body.eml \
    'j["signatures"][0]["reason_code"]' body_hash_mismatch
printf '%s\nFrom: a@exam\0ple.test\nSubject: x\n\nhello\n' "$SIG" > nul-hdr.eml
verdict "NUL in a signed header: fail" nul-hdr.eml \
    'j["signatures"][0]["result"]' fail

"$PY" - <<'PYEOF'
import random
random.seed(1)
sig = ("DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=s; h=from;"
       " bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\n")
with open("many.eml", "w") as f:
    f.write(sig * 10000)
    f.write("From: a@example.test\n\nbody\n")
with open("bigfield.eml", "w") as f:
    f.write("From: a@example.test\nX-Big: " +
            "".join(random.choice("abcdef ") for _ in range(1000000)) +
            "\n\nbody\n")
with open("hugeheader.eml", "w") as f:
    for i in range(10):
        f.write("X-Big-%d: %s\n" % (i, "x" * 500000))
    f.write("From: a@example.test\n\nbody\n")
with open("manyfields.eml", "w") as f:
    for i in range(30000):
        f.write("X-F: %d\n" % i)
    f.write("From: a@example.test\n\nbody\n")
PYEOF
verdict "10,000 signatures: all listed" many.eml 'len(j["signatures"])' 10000
verdict "10,000 signatures: the 17th is not evaluated" many.eml \
    'j["signatures"][16]["reason_code"]' too_many_signatures
verdict "10,000 signatures: the first is evaluated" many.eml \
    'j["signatures"][0]["result"]' fail
verdict "a 1 MB header field: verified" bigfield.eml 'j["result"]' none
verdict "a 5 MB header block: permerror, the limit named" hugeheader.eml \
    '(j["result"], j["reason_code"], j["reason"])' \
    "('permerror', 'limit', 'header block over the limit of 4194304 octets')"
verdict "30,000 header fields: permerror, the limit named" manyfields.eml \
    '(j["result"], j["reason_code"], j["reason"])' \
    "('permerror', 'limit', 'header block over the limit of 20000 fields')"

# Malformed tag lists and values.
n=0
while IFS='|' read -r want tags; do
	n=$((n + 1))
	printf 'DKIM-Signature: %s\nFrom: a@example.test\n\nbody\n' "$tags" > t$n.eml
	verdict "tag list '$tags': $want" t$n.eml \
	    'j["signatures"][0]["reason_code"]' "$want"
done <<'TAGS'
syntax|v=1; a=rsa-sha256;; d=example.test; s=s; h=from; bh=AA==; b=AA==
syntax|v=1; a=rsa-sha256; =x; d=example.test; s=s; h=from; bh=AA==; b=AA==
version|v=1 a=rsa-sha256 d=example.test
syntax|garbage
duplicate_tag|v=1; a=rsa-sha256; a=rsa-sha256; d=example.test; s=s; h=from; bh=AA==; b=AA==
missing_tag|a=rsa-sha256; d=example.test; s=s; h=from; bh=AA==; b=AA==
version|v=2; a=rsa-sha256; d=example.test; s=s; h=from; bh=AA==; b=AA==
missing_tag|v=1; a=rsa-sha256; d=example.test; s=s; h=from; b=AA==
algorithm|v=1; a=rsa-md5; d=example.test; s=s; h=from; bh=AA==; b=AA==
bad_tag|v=1; a=rsa-sha256; d=example.test; s=s; h=from; bh=AA==; b=!!notbase64!!
bad_tag|v=1; a=rsa-sha256; d=example.test; s=s; h=from; bh=A; b=AA==
bad_tag|v=1; a=rsa-sha256; d=exa mple.test; s=s; h=from; bh=AA==; b=AA==
from_not_signed|v=1; a=rsa-sha256; d=example.test; s=s; h=to:subject; bh=AA==; b=AA==
identity_mismatch|v=1; a=rsa-sha256; d=example.test; i=a@example.org; s=s; h=from; bh=AA==; b=AA==
canonicalization|v=1; a=rsa-sha256; c=loose; d=example.test; s=s; h=from; bh=AA==; b=AA==
query_method|v=1; a=rsa-sha256; q=http; d=example.test; s=s; h=from; bh=AA==; b=AA==
bad_tag|v=1; a=rsa-sha256; d=example.test; s=s; h=from; l=12x; bh=AA==; b=AA==
TAGS

# A key record that is base64 garbage.
sed 's/p=[^"]*/p=@@@garbage@@@/' zone > zone.bad
timeout 60 "$DKIMKIT" verify --zone zone.bad --json good.eml > out.json 2>&1
grep -q '"reason_code":"key_data"' out.json
ok_if "a key record with base64 garbage: permerror key_data" $?

done_testing
