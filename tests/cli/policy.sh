#!/bin/bash
# dkimkit policy test|check and dkimkit sign --opendkim-conf (issue #19):
# an opendkim.conf with a refile: SigningTable, a KeyTable and keys made
# by opendkim-genkey; the decision and its reasons, --json, the
# problems `policy check` names, signing with several keys (each
# verifying against the records opendkim-genkey wrote), and a message the
# policy does not sign passing through with the reason on stderr.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
if ! need opendkim-genkey python3; then
	done_testing
fi
mkdir keys && chmod 700 keys
for s in one two; do
	opendkim-genkey -b 1024 -D keys -d example.com -s "$s" ||
	    bail_out "opendkim-genkey"
done
{ echo '$ORIGIN example.com.'; cat keys/one.txt keys/two.txt; } > keys.zone

printf 'k1 example.com:one:%s/keys/one.private\nk2 %%:two:%s/keys/two.private\n' \
    "$TMPD" "$TMPD" > KeyTable
printf '*@example.com k1\n*@* k2:@%%\n' > SigningTable
printf '%s\n' 'Socket			inet:8891@localhost' \
    "KeyTable		$TMPD/KeyTable" \
    "SigningTable		refile:$TMPD/SigningTable" \
    'InternalHosts		csl:127.0.0.1, 10.0.0.0/8, !10.9.0.0/16' \
    'MultipleSignatures	yes' \
    'Canonicalization	relaxed/relaxed' > opendkim.conf
printf 'From: Alice <alice@example.com>\nTo: b@example.net\nSubject: hi\n\nhello\n' > m.eml

# says NAME FILE TEXT...: ok when FILE holds each TEXT (fixed strings).
says()
{
	local name="$1" file="$2" t
	shift 2
	for t in "$@"; do
		if ! grep -qF -- "$t" "$file"; then
			not_ok "$name" "no '$t' in: $(cat "$file")"
			return
		fi
	done
	ok "$name"
}

# json_is FILE PYTHON-ASSERTIONS: d is the object in FILE.
json_is()
{
	"$PYTHON" -c 'import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])' "$@"
}

check_status 0 "policy test: an internal client is signed" \
    "$DKIMKIT" policy test --opendkim-conf opendkim.conf \
    --from alice@example.com --client-ip 10.1.2.3
says "policy test names the lines, keys and selectors" "$TAP_OUT" \
    "sign: the client 10.1.2.3 is in InternalHosts (csl:2)" \
    "signature d=example.com s=one a=rsa-sha256 key=$TMPD/keys/one.private" \
    "matched $TMPD/SigningTable:1, key $TMPD/KeyTable:1" \
    "signature d=example.com s=two i=@example.com"
says "an unused setting is named in a warning" "$TAP_ERR" \
    "opendkim.conf:1: Socket: a setting of the OpenDKIM daemon"

check_status 1 "policy test: an outside client is not signed" \
    "$DKIMKIT" policy test --opendkim-conf opendkim.conf \
    --from alice@example.com --client-ip 10.9.0.1 --json
if json_is "$TAP_OUT" 'assert d["sign"] is False, d
assert "excluded at csl:3" in d["reason"], d
assert sorted((s["d"], s["s"]) for s in d["signatures"]) == \
    [("example.com", "one"), ("example.com", "two")], d'; then
	ok "--json: one object, sign false, and why"
else
	not_ok "--json" "$(cat "$TAP_OUT")"
fi

check_status 0 "policy test: authenticated from outside is signed" \
    "$DKIMKIT" policy test --opendkim-conf opendkim.conf \
    --from 'Bob <bob@other.example>' --client-ip 192.0.2.1 --auth bob --json
if json_is "$TAP_OUT" 'assert d["sign"] is True, d
s = d["signatures"]
assert len(s) == 1 and s[0]["d"] == "other.example", d
assert s[0]["s"] == "two" and s[0]["i"] == "@other.example", d
assert s[0]["a"] == "rsa-sha256" and s[0]["key"].endswith("two.private"), d
assert "authenticated as bob" in d["reason"], d'; then
	ok "--json: *@* with % gives d= and i= of the author's domain"
else
	not_ok "--json signed" "$(cat "$TAP_OUT")"
fi

check_status 0 "sign --opendkim-conf with MultipleSignatures" \
    "$DKIMKIT" sign --opendkim-conf opendkim.conf --client-ip 10.1.2.3 m.eml
cp "$TAP_OUT" signed.eml
if [ "$(grep -c '^DKIM-Signature:' signed.eml)" = 2 ]; then
	ok "two signatures"
else
	not_ok "two signatures" "$(head -20 signed.eml)"
fi
check_status 0 "both verify against opendkim-genkey's records" \
    "$DKIMKIT" verify --zone keys.zone signed.eml
if [ "$(grep -c ': pass d=example.com' "$TAP_OUT")" = 2 ]; then
	ok "s=one and s=two pass"
else
	not_ok "two passes" "$(cat "$TAP_OUT")"
fi

# A fourth KeyTable field: the Ed25519 key of `dkimkit keygen`.
"$DKIMKIT" keygen --algorithm ed25519 --domain example.com --selector ed \
    --out ed.pem >> keys.zone || bail_out "keygen"
printf '%s\n' "SigningTable csl:example.com=ked" \
    "KeyTable csl:ked=example.com:ed:$TMPD/ed.pem:ed25519-sha256" > ed.conf
check_status 0 "sign --opendkim-conf with an ed25519-sha256 KeyTable line" \
    "$DKIMKIT" sign --opendkim-conf ed.conf m.eml
cp "$TAP_OUT" signed-ed.eml
check_status 0 "the Ed25519 signature verifies" \
    "$DKIMKIT" verify --zone keys.zone signed-ed.eml
says "a=ed25519-sha256, s=ed" "$TAP_OUT" "pass d=example.com s=ed a=ed25519-sha256"
printf '%s\n' "SigningTable csl:example.com=ked" \
    "KeyTable csl:ked=example.com:ed:$TMPD/keys/one.private:ed25519-sha256" \
    > wrong.conf
check_status 2 "an RSA key on an ed25519-sha256 line is refused" \
    "$DKIMKIT" sign --opendkim-conf wrong.conf m.eml
says "the refusal names the line and the key" "$TAP_ERR" \
    "csl:1: KeyTable: $TMPD/keys/one.private: the key is rsa, not for ed25519-sha256"

check_status 0 "sign --opendkim-conf: not signed, passed through" \
    "$DKIMKIT" sign --opendkim-conf opendkim.conf --client-ip 192.0.2.1 m.eml
if tr -d '\r' < "$TAP_OUT" | cmp -s - m.eml; then
	ok "the message comes out unchanged but for CRLF"
else
	not_ok "pass-through" "$(head -5 "$TAP_OUT")"
fi
says "the reason is on stderr" "$TAP_ERR" \
    "m.eml: not signed: the client 192.0.2.1 neither authenticated"

check_status 2 "sign --opendkim-conf refuses --key" \
    "$DKIMKIT" sign --opendkim-conf opendkim.conf --key keys/one.private m.eml
check_status 2 "--auth needs --opendkim-conf" \
    "$DKIMKIT" sign --key keys/one.private --domain example.com \
    --selector one --auth bob m.eml
check_status 2 "policy test needs --from" \
    "$DKIMKIT" policy test --opendkim-conf opendkim.conf
printf 'SubDomains perhaps\n' > bad.conf
check_status 2 "a bad configuration is an error naming its line" \
    "$DKIMKIT" policy check --opendkim-conf bad.conf
says "FILE:LINE: Name: reason" "$TAP_ERR" \
    "bad.conf:1: SubDomains: not yes or no: 'perhaps'"

# Header fields as libopendkim signs them: Sender (in SignHeaders)
# absent, so left out; Subject oversigned, so one added on the way
# breaks the signature, while a second To (signed once) does not.
{ cat opendkim.conf; printf '%s\n' 'SignHeaders From,To,Subject,Sender' \
    'OversignHeaders From,Subject'; } > hdr.conf
check_status 0 "sign --opendkim-conf with SignHeaders and OversignHeaders" \
    "$DKIMKIT" sign --opendkim-conf hdr.conf --client-ip 10.1.2.3 m.eml
cp "$TAP_OUT" signed-hdr.eml
h=$(sed -n '/^DKIM-Signature:/,/^[^ \t]/p' signed-hdr.eml | head -n -1 |
    tr -d ' \t\r\n' | sed 's/.*;h=\([^;]*\);.*/\1/' | tr A-Z a-z | head -1)
if [ "$h" = "from:from:to:subject:subject" ]; then
	ok "h= is From:From:To:Subject:Subject (absent Sender left out)"
else
	not_ok "h= of SignHeaders and OversignHeaders" "$h"
fi
{ printf 'To: other@example.net\r\n'; cat signed-hdr.eml; } > added-to.eml
{ printf 'Subject: other\r\n'; cat signed-hdr.eml; } > added-subject.eml
if "$DKIMKIT" verify --zone keys.zone signed-hdr.eml > /dev/null &&
    "$DKIMKIT" verify --zone keys.zone added-to.eml > /dev/null &&
    ! "$DKIMKIT" verify --zone keys.zone added-subject.eml > /dev/null; then
	ok "it verifies, also with a To added, but not with a Subject added"
else
	not_ok "oversigned Subject" "$("$DKIMKIT" verify --zone keys.zone \
	    added-subject.eml 2>&1)"
fi

# RequirePublishedKey, dkimkit's own setting: a zone that publishes one
# of the two keys, then one whose "two" record holds the other key.
{ echo '$ORIGIN example.com.'; cat keys/one.txt; } > one.zone
{ cat opendkim.conf; echo 'RequirePublishedKey	yes'; } > pub.conf
check_status 0 "RequirePublishedKey: the published key signs" \
    "$DKIMKIT" policy test --opendkim-conf pub.conf --zone one.zone \
    --from alice@example.com --client-ip 10.1.2.3 --json
if json_is "$TAP_OUT" '
assert d["sign"] is True, d
assert [s["s"] for s in d["signatures"]] == ["one"], d
assert [(u["s"], u["problem"]) for u in d["unused"]] == \
    [("two", "no key record is published")], d
assert ("; selector two._domainkey.example.com: no key record is "
    "published, not used") in d["reason"], d'; then
	ok "--json: the unpublished key is unused, and the reason says why"
else
	not_ok "RequirePublishedKey --json" "$(cat "$TAP_OUT")"
fi
if grep -q 'RequirePublishedKey' "$TAP_ERR"; then
	not_ok "RequirePublishedKey draws no warning" "$(cat "$TAP_ERR")"
else
	ok "RequirePublishedKey draws no warning"
fi
check_status 0 "sign --opendkim-conf --zone: one signature" \
    "$DKIMKIT" sign --opendkim-conf pub.conf --zone one.zone \
    --client-ip 10.1.2.3 m.eml
cp "$TAP_OUT" signed-pub.eml
says "the key left out is named on stderr" "$TAP_ERR" \
    "m.eml: keys left out: " "selector two._domainkey.example.com: no key record is published, not used"
if [ "$(grep -c '^DKIM-Signature:' signed-pub.eml)" = 1 ] &&
    "$DKIMKIT" verify --zone one.zone signed-pub.eml > /dev/null; then
	ok "only s=one signed, and it verifies"
else
	not_ok "one signature" "$(head -12 signed-pub.eml)"
fi
{ cat one.zone; sed 's/^one\._domainkey/two._domainkey/' keys/one.txt; } \
    > swapped.zone
check_status 0 "a record with another key: that selector is not used" \
    "$DKIMKIT" policy test --opendkim-conf pub.conf --zone swapped.zone \
    --from alice@example.com --client-ip 10.1.2.3
says "the text names the selector and the problem" "$TAP_OUT" \
    "selector two._domainkey.example.com: the key record does not match the private key, not used" \
    "unused key d=example.com s=two" "  not used: the key record does not match the private key"
printf '$ORIGIN example.com.\n' > empty.zone
check_status 1 "no key published: not signed" \
    "$DKIMKIT" policy test --opendkim-conf pub.conf --zone empty.zone \
    --from alice@example.com --client-ip 10.1.2.3
says "the reason ends with why" "$TAP_OUT" \
    "do not sign: " ": no published key left, not signed"
check_status 0 "not signed by sign --opendkim-conf: passed through" \
    "$DKIMKIT" sign --opendkim-conf pub.conf --zone empty.zone \
    --client-ip 10.1.2.3 m.eml
says "the reason is on stderr" "$TAP_ERR" \
    "m.eml: not signed: " "no published key left"

check_status 0 "policy check: nothing to say" \
    "$DKIMKIT" policy check --opendkim-conf opendkim.conf --zone keys.zone
# policy check asks DNS for each key's record ("%" lines are known only
# per message): one's record holding two's key, then no record.
{ echo '$ORIGIN example.com.'; sed 's/^two\._domainkey/one._domainkey/' \
    keys/two.txt; } > crossed.zone
check_status 1 "policy check: a key that does not match its record" \
    "$DKIMKIT" policy check --opendkim-conf opendkim.conf --zone crossed.zone
says "named as FILE:LINE: KeyTable: key: record: reason" "$TAP_OUT" \
    "$TMPD/KeyTable:1: KeyTable: $TMPD/keys/one.private: one._domainkey.example.com: the key record does not match the private key"
if [ "$(wc -l < "$TAP_OUT")" = 1 ]; then
	ok "and nothing else (the % line is not asked)"
else
	not_ok "one problem" "$(cat "$TAP_OUT")"
fi
check_status 1 "policy check: a key with no record" \
    "$DKIMKIT" policy check --opendkim-conf opendkim.conf --zone empty.zone
says "named with its reason" "$TAP_OUT" \
    "$TMPD/KeyTable:1: KeyTable: $TMPD/keys/one.private: one._domainkey.example.com: no key record is published"
chmod 644 keys/two.private
printf '*@example.net k3\n' >> SigningTable
check_status 1 "policy check: problems, exit 1" \
    "$DKIMKIT" policy check --opendkim-conf opendkim.conf --zone keys.zone
says "policy check names each problem as FILE:LINE" "$TAP_OUT" \
    "$TMPD/KeyTable:2: KeyTable: $TMPD/keys/two.private: readable or writable by group or others (mode 0644)" \
    "$TMPD/SigningTable:3: SigningTable: 'k3' is not in the KeyTable" \
    "$TMPD/SigningTable:3: SigningTable: '*@example.net' never matches: '*@*' ($TMPD/SigningTable:2) comes first and covers it"
done_testing
