#!/bin/bash
# Limits seen from the command (doc/dkimkit.1, LIMITS): RSA keys up to
# 8192 bits verify, larger ones are refused with the reason; a message
# whose header block is too large is refused with a one-line error and
# without taking memory in proportion to it.  The 8192-bit key in data/
# was made once with "dkimkit keygen" (making one takes half a minute).
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
DATA="$TOP_SRCDIR/tests/cli/data"
PY=${PYTHON:-/usr/bin/python3}

# json EXPR: a value of the first JSON line of out.json.
json()
{
	"$PY" -c 'import json,sys; j=json.loads(open("out.json").readline()); print(eval(sys.argv[1]))' "$1" 2>&1
}

printf 'From: a@example.com\nSubject: limits\n\nhello\n' > plain.eml
check "sign with an 8192-bit RSA key" "$DKIMKIT" sign \
    --key "$DATA/rsa8192.pem" --domain example.com --selector big plain.eml
cp "$TAP_OUT" big.eml
"$DKIMKIT" verify --zone "$DATA/rsa8192.zone" --json big.eml > out.json
[ "$(json 'j["result"], j["signatures"][0]["key_bits"]')" = "('pass', 8192)" ]
ok_if "an 8192-bit RSA key verifies" $? "$(cat out.json)"

# A 9216-bit public key (a made-up odd modulus: it is refused for its
# size before any arithmetic), published at selector huge.
"$PY" - > huge.zone <<'PYEOF'
import base64
def der(tag, body):
    n = len(body)
    head = bytes([n]) if n < 128 else bytes([0x82, n >> 8, n & 255])
    return bytes([tag]) + head + body
modulus = b"\x00" + b"\xc3" * 1151 + b"\x01"
rsa = der(0x30, der(0x02, modulus) + der(0x02, b"\x01\x00\x01"))
alg = bytes.fromhex("300d06092a864886f70d0101010500")
spki = der(0x30, alg + der(0x03, b"\x00" + rsa))
rec = "v=DKIM1; k=rsa; p=" + base64.b64encode(spki).decode()
parts = " ".join('"%s"' % rec[i:i + 250] for i in range(0, len(rec), 250))
print("huge._domainkey.example.com. 3600 IN TXT " + parts)
PYEOF
"$DKIMKIT" sign --key "$DATA/rsa8192.pem" --domain example.com \
    --selector huge plain.eml > huge.eml || bail_out "sign failed"
"$DKIMKIT" verify --zone huge.zone --json huge.eml > out.json
st=$?
got=$(json 'j["signatures"][0]["result"], j["signatures"][0]["reason_code"]')
[ "$st" -eq 1 ] && [ "$got" = "('policy', 'key_size')" ] &&
    grep -q 'larger than 8192 bits' out.json
ok_if "a 9216-bit RSA key is refused: policy, key_size, the limit named" \
    $? "exit $st: $(cat out.json)"

# 40 MiB of header fields (10 times the 4 MiB limit): verify gives
# permerror naming the limit (exit 1), sign refuses (exit 2), and the
# process stays small.
"$PY" -c '
import sys
w = sys.stdout.write
w("From: a@example.com\n")
line = "X-Filler: " + "x" * 1000 + "\n"
for i in range(40 * 1024):
    w(line)
w("\nbody\n")' > fat.eml
for cmd in verify sign; do
	if [ "$cmd" = verify ]; then
		set -- verify --zone huge.zone fat.eml
	else
		set -- sign --key "$DATA/rsa8192.pem" --domain example.com \
		    --selector big fat.eml
	fi
	# AddressSanitizer (build/asan) without its quarantine, which keeps
	# freed memory on purpose.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0" \
	    /usr/bin/time -f '%M' -o rss.txt "$DKIMKIT" "$@" > /dev/null \
	    2> err.txt
	st=$?
	if [ "$cmd" = verify ]; then
		"$DKIMKIT" verify --zone huge.zone fat.eml > out.txt 2>&1
		st=$?
		[ "$st" -eq 1 ] && grep -q '^fat.eml: permerror$' out.txt &&
		    grep -q 'not evaluated: header block over the limit' out.txt
		ok_if "verify: a 40 MiB header block is permerror, exit 1" \
		    $? "exit $st: $(head -5 out.txt)"
	else
		[ "$st" -eq 2 ] && grep -q 'limit' err.txt
		ok_if "sign: a 40 MiB header block is refused, exit 2" \
		    $? "exit $st: $(head -3 err.txt)"
	fi
	# Under VALGRIND=1 the size is valgrind's: not measured.
	[ "${VALGRIND:-0}" = 1 ] && continue
	rss=$(tail -n 1 rss.txt)
	[ "${rss:-999999}" -lt 65536 ]
	ok_if "$cmd: memory stays bounded (max RSS ${rss:-?} KiB < 64 MiB)" $?
done
done_testing
