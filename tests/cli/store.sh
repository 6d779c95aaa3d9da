#!/bin/bash
# dkimkit verify --store and dkimkit stats: a set of messages (signed by
# dkimkit with RSA and Ed25519 keys, under several canonicalizations, with
# and without l=; changed after signing as a list does; unsigned; with a
# missing key) verified into a SQLite store and into a real PostgreSQL
# server; stats --json must count exactly what verify --json said.  A
# store that is locked, read-only or gone loses its rows with a warning
# and leaves the verdicts and the exit status alone.
set -u
. "$TOP_SRCDIR/tests/lib/tap.sh"
. "$TOP_SRCDIR/tests/lib/ports.sh"
tmpdir
cd "$TMPD" || bail_out "no temp dir"
PY="${PYTHON:-/usr/bin/python3}"
NOW=1800000000
have sqlite3 || skip_all "sqlite3 (the command) is not installed: scripts/deps installs it"

K() { "$DKIMKIT" "$@"; }
K keygen --algorithm rsa --bits 2048 --domain example.test --selector r \
    --out rsa.pem > zone || bail_out "keygen rsa"
K keygen --algorithm rsa --bits 1024 --domain example.test --selector old \
    --out old.pem >> zone || bail_out "keygen rsa 1024"
K keygen --algorithm ed25519 --domain other.test --selector e \
    --out ed.pem >> zone || bail_out "keygen ed25519"
cat >> zone <<'ZONE'
_dmarc.example.test. IN TXT "v=DMARC1; p=reject"
_adsp._domainkey.example.test. IN TXT "dkim=all"
_dmarc.other.test. IN TXT "v=DMARC1; p=none"
ZONE

msg() { printf 'From: %s\r\nTo: list@lists.example.net\r\nSubject: News\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n\r\nHello all.\r\n' "$1"; }
sign() {
	local key="$1" d="$2" s="$3"
	shift 3
	K sign --key "$key" --domain "$d" --selector "$s" --now "$NOW" "$@"
}
footer() { cat "$1"; printf -- '-- \r\nunsubscribe: https://lists.example.net/\r\n'; }

mkdir m
msg alice@example.test > base.eml
msg bob@other.test > base2.eml
sign rsa.pem example.test r base.eml > m/01-pass.eml
sign rsa.pem example.test r --canon simple/simple base.eml > m/02-simple.eml
sign ed.pem other.test e base2.eml > m/03-ed.eml
sign rsa.pem example.test r --body-length base.eml > m/04-l.eml
footer m/04-l.eml > m/05-l-footer.eml
footer m/01-pass.eml > m/06-footer.eml
sed 's/^Subject: News/Subject: [list] News/' m/02-simple.eml > m/07-tagged.eml
cp base.eml m/08-unsigned.eml
sign rsa.pem example.test nokey base.eml > m/09-nokey.eml
sign old.pem example.test old --canon relaxed/simple m/03-ed.eml \
    > m/10-two.eml
footer m/10-two.eml > m/11-two-footer.eml
cp base2.eml m/12-unsigned2.eml
NMSG=$(ls m | wc -l)

verify() { K verify --zone zone --now "$NOW" --dmarc --adsp --arc "$@"; }

# --- the command ---------------------------------------------------------
check "stats --help exits 0" K stats --help
grep -q 'usage: dkimkit stats --store URI' "$TAP_OUT"
ok_if "stats --help shows its usage" $?
check_status 2 "stats without --store is a usage error" K stats --json
check_status 2 "stats of a store that does not exist is trouble" \
    K stats --store nosuch.db
grep -q 'nosuch.db: no such store' "$TAP_ERR"
ok_if "... and names it" $? "$(cat "$TAP_ERR")"
[ ! -e nosuch.db ]
ok_if "stats creates no store" $?
check_status 2 "stats with a bad --since is a usage error" \
    K stats --store x.db --since yesterday
check_status 2 "adsp takes no --store" K adsp --zone zone --store x.db \
    m/01-pass.eml

# --- SQLite ----------------------------------------------------------------
verify --json m/*.eml > plain.json
plain_rc=$?
K explain --zone zone --now "$NOW" --dmarc --adsp --json m/*.eml \
    > explain.json
check_status "$plain_rc" "verify --store exits as verify without it" \
    verify --json --store sqlite:st.db m/*.eml
cmp -s "$TAP_OUT" plain.json
ok_if "verify --store prints what verify without it prints" $? \
    "$(diff plain.json "$TAP_OUT" | head -5)"
[ ! -s "$TAP_ERR" ]
ok_if "a store that works says nothing" $? "$(cat "$TAP_ERR")"

# stats_match STATS.json: the store's counts are the verdicts of
# plain.json, classes of explain.json and the c= and l= of m/*.eml.
stats_match()
{
	"$PY" - "$1" plain.json explain.json "$TOP" m/*.eml <<'PYEOF'
import collections, json, re, sys
stats = json.load(open(sys.argv[1]))
v = [json.loads(l) for l in open(sys.argv[2])]
e = [json.loads(l) for l in open(sys.argv[3])]
top = int(sys.argv[4])
C = collections.Counter
sigs = [s for m in v for s in m["signatures"]]
transit = {"body-appended", "body-changed", "subject-tagged",
           "header-added", "header-changed"}
def mclass(m):
    if m["result"] == "pass":
        return None
    for s in m["signatures"]:
        if s["class"] != "none":
            return s["class"]
    return None
classes = [mclass(m) for m in e]
canon, with_l = C(), 0
for path in sys.argv[5:]:
    head = open(path, "rb").read().split(b"\r\n\r\n")[0].decode()
    head = re.sub(r"\r\n[ \t]", " ", head)
    for f in re.findall(r"(?im)^DKIM-Signature:(.*)$", head):
        tags = dict(t.strip().split("=", 1) for t in f.split(";") if "=" in t)
        c = re.sub(r"\s", "", tags.get("c", "simple")).split("/")
        canon["%s/%s" % (c[0], c[1] if len(c) > 1 else "simple")] += 1
        with_l += "l" in tags
failed = [m for m in v if m["result"] not in ("pass", "none")]
dom = C(s["d"] for s in sigs)
dpass = C(s["d"] for s in sigs if s["result"] == "pass")
want = {
    "messages": len(v),
    "signed": sum(1 for m in v if m["signatures"]),
    "signatures": len(sigs),
    "body_length": with_l,
    "arc_present": sum(1 for m in v if m["arc"]["result"] != "none"),
    "failed": len(failed),
    "transit_failures": sum(1 for m, c in zip(v, classes)
                            if m in failed and c in transit),
    "dkim": C(m["result"] for m in v),
    "dkim_reasons": C("%s/%s" % (m["result"], m["signatures"][0]["reason_code"]
                       if m["signatures"] else "none") for m in v),
    "signature_results": C(s["result"] for s in sigs),
    "signature_reasons": C("%s/%s" % (s["result"], s["reason_code"])
                           for s in sigs),
    "algorithms": C(s["a"] for s in sigs),
    "key_sizes": C(str(s["key_bits"]) for s in sigs if s["key_bits"] > 0),
    "canonicalizations": canon,
    "adsp": C(m["adsp"] for m in v),
    "dmarc": C(m["dmarc"]["result"] for m in v),
    "dispositions": C(m["dmarc"]["disposition"] for m in v),
    "arc": C(m["arc"]["result"] for m in v),
    "failure_classes": C(c for c in classes if c is not None),
}
bad = []
for k, w in want.items():
    got = stats[k]
    if isinstance(w, C):
        w = dict(w)
    if got != w:
        bad.append("%s: store %r, verdicts %r" % (k, got, w))
got_dom = {d["d"]: (d["signatures"], d["pass"]) for d in stats["domains"]}
want_dom = dict(sorted(((d, (n, dpass[d])) for d, n in dom.items()),
                       key=lambda x: (-x[1][0], x[0]))[:top])
if got_dom != want_dom:
    bad.append("domains: store %r, verdicts %r" % (got_dom, want_dom))
for d in stats["domains"]:
    if abs(d["pass_rate"] - d["pass"] / d["signatures"]) > 0.0001:
        bad.append("pass_rate of %r" % d)
if abs(stats["signed_share"] - want["signed"] / len(v)) > 0.0001:
    bad.append("signed_share %r" % stats["signed_share"])
# the corpus must exercise what it claims to
for k in ("dkim", "failure_classes", "algorithms", "canonicalizations"):
    if len(want[k]) < 2:
        bad.append("corpus too plain for %s: %r" % (k, dict(want[k])))
if want["transit_failures"] == 0 or want["body_length"] == 0:
    bad.append("corpus has no list failure or no l=")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
}

TOP=10
check "stats --json of the SQLite store" K stats --store sqlite:st.db --json
cp "$TAP_OUT" stats.json
stats_match stats.json > match.out 2>&1
ok_if "stats --json counts exactly what verify --json said" $? \
    "$(cat match.out)"
TOP=1
check "stats --top 1" K stats --store st.db --json --top 1
stats_match "$TAP_OUT" > match.out 2>&1
ok_if "--top 1 lists the one busiest signing domain" $? "$(cat match.out)"
TOP=10
check "stats (text) of the same store, as a plain path" K stats --store st.db
grep -Eq "^messages recorded +$NMSG\$" "$TAP_OUT"
ok_if "the text says $NMSG messages recorded" $? "$(head -3 "$TAP_OUT")"
check "stats --since the verify time" K stats --store st.db --json \
    --since "$NOW"
"$PY" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["messages"] != int(sys.argv[2]))' \
    "$TAP_OUT" "$NMSG"
ok_if "--since T counts messages seen at T" $?
check "stats --since a second later" K stats --store st.db --json \
    --since $((NOW + 1))
"$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); sys.exit(j["messages"] != 0 or j["dkim"] != {})' \
    "$TAP_OUT"
ok_if "--since T+1 counts none of them" $?
check "stats --since 1d (an age)" K stats --store st.db --json --since 1d
"$PY" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["messages"] != int(sys.argv[2]))' \
    "$TAP_OUT" "$NMSG"
ok_if "--since 1d: messages seen (at --now, 2027) after a day ago count" $?
[ "$(sqlite3 st.db 'PRAGMA journal_mode')" = wal ]
ok_if "the SQLite store is in WAL mode" $?
[ "$(sqlite3 st.db 'SELECT max(version) FROM schema_version')" = 3 ]
ok_if "its schema is version 3" $?

# prom_match EXPOSITION STATS.json: the exposition parses (python's
# prometheus_client, a strict parser) and its counters are the JSON's.
prom_match()
{
	"$PY" - "$1" "$2" <<'PYEOF'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
stats = json.load(open(sys.argv[2]))
got, bad = {}, []
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    if fam.type != "counter":
        bad.append("%s is a %s" % (fam.name, fam.type))
    for s in fam.samples:
        got[(s.name, tuple(sorted(s.labels.items())))] = s.value
want = {("dkimkit_messages_total", ()): stats["messages"]}
temp = 0
for method in ("dkim", "spf", "dmarc", "arc", "adsp"):
    for result, n in stats[method].items():
        want[("dkimkit_verdicts_total", (("method", method),
                                         ("result", result)))] = n
        temp += n if result == "temperror" else 0
want[("dkimkit_dns_errors_total", ())] = temp
extra = sys.argv[3:] if len(sys.argv) > 3 else []
for k in set(got) | set(want):
    if k[0].startswith("dkimkit_store_"):
        continue
    if got.get(k) != want.get(k):
        bad.append("%r: exposition %r, json %r" % (k, got.get(k), want.get(k)))
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
}

if "$PY" -c 'import prometheus_client.parser' 2>/dev/null; then
	check "stats --prometheus" K stats --store st.db --prometheus
	cp "$TAP_OUT" st.prom
	prom_match st.prom stats.json > match.out 2>&1
	ok_if "--prometheus parses and equals --json's counts" $? \
	    "$(cat match.out)"
else
	skip "--prometheus parsed" "python3-prometheus-client is not installed: scripts/deps installs it"
fi
check_status 2 "--json with --prometheus is a usage error" \
    K stats --store st.db --json --prometheus

# --html: well-formed, the tables' numbers are --json's, and a hostile
# domain in the store (the store's strings come from mail) is escaped.
cp st.db hostile.db
sqlite3 hostile.db "INSERT INTO signatures (message_id, idx, d, result)
    SELECT min(id), 99, '<script>alert(1)</script>.example', 'fail'
    FROM messages" || bail_out "sqlite3 hostile"
check "stats --html" K stats --store hostile.db --json --html page.html
cp "$TAP_OUT" hostile.json
"$PY" - page.html hostile.json <<'PYEOF' > match.out 2>&1
import json, sys
from html.parser import HTMLParser
VOID = {"meta", "br", "img", "link"}
class P(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.bad, self.tables = [], [], {}
        self.table = self.row = self.cell = None
        self.scripts = 0
        self.titles = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for k, v in attrs:
            if k.startswith("on") or (v or "").startswith(("http:", "https:", "//")):
                self.bad.append("external or active attribute %s=%r" % (k, v))
        if tag == "table":
            self.table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr":
            self.row = [a.get("id")]
        elif tag in ("td", "th"):
            self.cell = ""
        if tag not in VOID:
            self.stack.append(tag)
    def handle_startendtag(self, tag, attrs):   # <rect .../>
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()
    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.bad.append("</%s> closes %r" % (tag, self.stack[-1:]))
            return
        self.stack.pop()
        if tag in ("td", "th"):
            self.row.append(self.cell)
            self.cell = None
        elif tag == "tr":
            self.table.append(self.row)
    def handle_data(self, d):
        if self.cell is not None:
            self.cell += d
        if self.stack[-3:] == ["svg", "rect", "title"]:
            self.titles.append(d)
p = P()
text = open(sys.argv[1]).read()
p.feed(text)
p.close()
j = json.load(open(sys.argv[2]))
bad = p.bad
if p.stack:
    bad.append("left open: %r" % p.stack)
if p.scripts:
    bad.append("a <script> element")
if not text.startswith("<!DOCTYPE html>"):
    bad.append("no doctype")
tot = {r[0]: r[2] for r in p.tables["totals"]}
for k in ("messages", "signed", "signatures", "body_length", "arc_present",
          "failed", "transit_failures"):
    if tot.get("total-" + k) != str(j[k]):
        bad.append("total %s: page %r, json %r" % (k, tot.get("total-" + k), j[k]))
for k, v in j.items():
    if isinstance(v, dict):
        rows = p.tables.get("t-" + k)
        got = {r[1]: int(r[2]) for r in rows[1:]} if rows else None
        if got != v:
            bad.append("%s: page %r, json %r" % (k, got, v))
rows = p.tables["t-domains"][1:]
got = [(r[1], int(r[2]), int(r[3])) for r in rows]
want = [(d["d"], d["signatures"], d["pass"]) for d in j["domains"]]
if got != want:
    bad.append("domains: page %r, json %r" % (got, want))
# the chart over time: a bar per period and verdict, titled with both
import collections, re
series = collections.Counter()
for t in p.titles:
    m = re.fullmatch(r"\d{4}-\d\d-\d\d( \d\d:00 UTC)?: (\S+) (\d+)", t)
    if m:
        series[m.group(2)] += int(m.group(3))
    else:
        bad.append("bar title %r" % t)
if dict(series) != j["dkim"]:
    bad.append("chart over time: %r, json dkim %r" % (dict(series), j["dkim"]))
if not any(d.startswith("<script>") for d, _, _ in got):
    bad.append("the hostile domain is not in the page's table")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
ok_if "--html: well-formed, no script, its tables are --json's" $? \
    "$(cat match.out)"
grep -q '&lt;script&gt;alert(1)&lt;/script&gt;.example' page.html &&
    ! grep -q '<script' page.html
ok_if "--html: a hostile domain comes out escaped" $?
grep -q '<svg' page.html && ! grep -Eq '(src|href)=' page.html
ok_if "--html: inline SVG charts, nothing fetched" $?

# Read only: stats neither creates, migrates nor writes.
cp st.db old.db
sqlite3 old.db 'DELETE FROM schema_version WHERE version = 3' ||
    bail_out "sqlite3 old"
sum_before=$(cksum < old.db)
check_status 2 "stats of a store of an older schema is trouble" \
    K stats --store old.db --json
grep -q 'schema version 2 is older' "$TAP_ERR"
ok_if "... and says the schema is older" $? "$(cat "$TAP_ERR")"
[ "$(cksum < old.db)" = "$sum_before" ] && [ ! -s old.db-wal ]
ok_if "... and leaves it as it was (not migrated)" $?
cp st.db new.db
sqlite3 new.db 'INSERT INTO schema_version VALUES (99)' || bail_out "new"
check_status 2 "stats of a store of a newer schema is trouble" \
    K stats --store new.db --json
grep -q 'schema version 99 is newer' "$TAP_ERR"
ok_if "... and says the schema is newer" $? "$(cat "$TAP_ERR")"
: > empty.db
check_status 2 "stats of an empty file is trouble" K stats --store empty.db
grep -q 'not a dkimkit store' "$TAP_ERR" && [ ! -s empty.db ]
ok_if "... 'not a dkimkit store', and the file stays empty" $? \
    "$(cat "$TAP_ERR")"

# --- a store in trouble ------------------------------------------------------
# store_trouble NAME URI [RUNAS...]: verify with --store URI exits and
# prints as without it, and says on stderr the messages were not recorded.
store_trouble()
{
	local name="$1" uri="$2"

	shift 2
	check_status "$plain_rc" "$name: the exit status is verify's" \
	    "$@" "$DKIMKIT" verify --zone zone --now "$NOW" --dmarc --adsp \
	    --arc --json --store "$uri" m/*.eml
	cmp -s "$TAP_OUT" plain.json
	ok_if "$name: the verdicts are verify's" $? \
	    "$(diff plain.json "$TAP_OUT" | head -5)"
	grep -Eq "store not recorded|store: $NMSG of $NMSG messages not recorded" \
	    "$TAP_ERR"
	ok_if "$name: a warning says the messages were not recorded" $? \
	    "$(cat "$TAP_ERR")"
}

sqlite3 st.db 'SELECT count(*) FROM messages' > before
# A writer holds the lock (python3's sqlite3 module, as another program
# would) until told to let go.
"$PY" - st.db <<'PYEOF' &
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
db.execute("INSERT INTO schema_version VALUES (3)")
open("locked", "w").close()
for _ in range(300):
    if os.path.exists("unlock"):
        break
    time.sleep(0.1)
db.execute("ROLLBACK")
PYEOF
locker=$!
for _ in $(seq 100); do [ -e locked ] && break; sleep 0.1; done
[ -e locked ] || bail_out "the locker did not take the lock"
store_trouble "locked store" st.db
grep -q "lost" "$TAP_ERR"
ok_if "locked store: the rows are counted lost, with the reason" $? \
    "$(cat "$TAP_ERR")"
touch unlock
wait "$locker"
cmp -s before <(sqlite3 st.db 'SELECT count(*) FROM messages')
ok_if "locked store: no row went in" $?

mkdir gone && rmdir gone
store_trouble "store in a removed folder" gone/st.db
grep -q "gone/st.db" "$TAP_ERR"
ok_if "removed folder: the warning names the store" $? "$(cat "$TAP_ERR")"

# A read-only store.  Root writes whatever a file's mode says, and the
# command may not be runnable by another user (a checkout in a folder
# only its owner can enter, or the valgrind wrapper of VALGRIND=1): as
# root the store's folder is mounted read-only in a private mount
# namespace instead.
mkdir rodir && cp st.db rodir/ro.db
ro=()
if [ "$(id -u)" -eq 0 ]; then
	ro=(unshare -m sh -c 'mount --bind rodir rodir &&
	    mount -o remount,bind,ro rodir && exec "$@"' sh)
else
	chmod 0444 rodir/ro.db && chmod 0555 rodir
fi
if [ "$(id -u)" -eq 0 ] && ! have unshare; then
	skip "read-only store" "needs unshare as root (a read-only mount)"
else
	store_trouble "read-only store" sqlite:rodir/ro.db "${ro[@]}"
	cmp -s before <(sqlite3 rodir/ro.db 'SELECT count(*) FROM messages')
	ok_if "read-only store: unchanged" $?
	check "stats reads a store it may not write" "${ro[@]}" \
	    "$DKIMKIT" stats --store rodir/ro.db --json
	cmp -s "$TAP_OUT" stats.json
	ok_if "... and counts what the writable store counts" $? \
	    "$(diff stats.json "$TAP_OUT" | head -5)"
fi
chmod 0755 rodir

# A full store: a 160 KiB tmpfs (in a private mount namespace, as root)
# holds the schema and a few hundred rows, not 400.
if [ "$(id -u)" -ne 0 ] || ! have unshare; then
	skip "full store" "needs root and unshare (a tmpfs in a private mount namespace)"
else
	mkdir full fullfs
	for i in $(seq 400); do cp m/01-pass.eml "full/$i.eml"; done
	verify --json full/*.eml > full.plain
	full_rc=$?
	unshare -m bash -c 'mount -t tmpfs -o size=160k tmpfs fullfs || exit 99
	    "$@" --store fullfs/st.db full/*.eml > full.out 2> full.err
	    echo $? > full.rc
	    sqlite3 fullfs/st.db "SELECT count(*) FROM messages" > full.count' \
	    sh "$DKIMKIT" verify --zone zone --now "$NOW" --dmarc --adsp --arc \
	    --json
	[ -s full.rc ] && [ "$(cat full.rc)" = "$full_rc" ] &&
	    cmp -s full.out full.plain
	ok_if "full store: the verdicts and exit status are verify's" $? \
	    "$(cat full.rc 2>/dev/null) vs $full_rc"
	lost=$(sed -n 's/.*store: \([0-9]*\) of 400 messages not recorded.*/\1/p' full.err)
	grep -q 'lost: fullfs/st.db: database or disk is full' full.err &&
	    [ -n "$lost" ] && [ "$lost" -gt 0 ] &&
	    [ $(( $(cat full.count) + lost )) -eq 400 ]
	ok_if "full store: rows lost, said and counted (recorded + lost = 400)" \
	    $? "$(cat full.err)" "recorded: $(cat full.count 2>/dev/null)"
fi

# --- PostgreSQL ----------------------------------------------------------------
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
	skip "PostgreSQL store" "no initdb under /usr/lib/postgresql/*/bin: install postgresql"
	done_testing
fi
pgd=$(mktemp -d "${TMPDIR:-/tmp}/dkimkit-pg.XXXXXX") || bail_out "mktemp"
at_exit rm -rf -- "$pgd"
pgas=()
if [ "$(id -u)" -eq 0 ]; then
	# initdb refuses root: the server runs as postgres (or nobody).
	pguser=postgres
	id "$pguser" >/dev/null 2>&1 || pguser=nobody
	chown "$pguser" "$pgd"
	pgas=(setpriv --reuid="$pguser" --regid="$(id -g "$pguser")" \
	    --clear-groups env HOME="$pgd")
fi
port=$(free_port)
"${pgas[@]}" "$pgbin/initdb" -D "$pgd/data" -U dkk -A trust --no-sync \
    > "$pgd/initdb.log" 2>&1 || { tap_diag_file "$pgd/initdb.log"; bail_out "initdb"; }
"${pgas[@]}" "$pgbin/pg_ctl" -D "$pgd/data" -l "$pgd/server.log" -w -t 60 \
    -o "-F -p $port -k $pgd -c listen_addresses=127.0.0.1" start \
    > "$pgd/pg_ctl.log" 2>&1 || { tap_diag_file "$pgd/server.log"; bail_out "pg_ctl start"; }
pg_stop() { "${pgas[@]}" "$pgbin/pg_ctl" -D "$pgd/data" -m fast -w stop > /dev/null 2>&1; }
at_exit pg_stop
PGURI="postgresql://dkk@127.0.0.1:$port/postgres"
psql() { "$pgbin/psql" -X -q -At -d "$PGURI" "$@"; }

check_status "$plain_rc" "verify --store postgresql:// exits as verify" \
    verify --json --store "$PGURI" m/*.eml
cmp -s "$TAP_OUT" plain.json
ok_if "verify --store postgresql:// prints what verify prints" $?
[ ! -s "$TAP_ERR" ]
ok_if "a PostgreSQL store that works says nothing" $? "$(cat "$TAP_ERR")"
check "stats --json of the PostgreSQL store" K stats --store "$PGURI" --json
cp "$TAP_OUT" pgstats.json
stats_match pgstats.json > match.out 2>&1
ok_if "PostgreSQL: stats --json counts exactly what verify --json said" $? \
    "$(cat match.out)"
cmp -s stats.json pgstats.json
ok_if "PostgreSQL and SQLite give the same stats" $? \
    "$(diff stats.json pgstats.json | head -5)"
K stats --store st.db --html st.html && K stats --store "$PGURI" --html pg.html
cmp -s st.html pg.html
ok_if "PostgreSQL and SQLite give the same --html page (its chart too)" $? \
    "$(diff st.html pg.html | head -5)"
verify --json --store "$PGURI" m/01-pass.eml > /dev/null 2>&1
[ "$(psql -c 'SELECT count(*) FROM messages')" = $((NMSG + 1)) ] &&
    [ "$(psql -c 'SELECT count(*), max(version) FROM schema_version')" = "3|3" ]
ok_if "a second host adds its row; the schema is migrated once" $?
if "$PY" -c 'import prometheus_client.parser' 2>/dev/null; then
	check "PostgreSQL: stats --prometheus" K stats --store "$PGURI" \
	    --prometheus
	cp "$TAP_OUT" pg.prom
	K stats --store "$PGURI" --json > pgstats2.json
	prom_match pg.prom pgstats2.json > match.out 2>&1
	ok_if "PostgreSQL: --prometheus equals --json" $? "$(cat match.out)"
fi

# stats opens read only: a fresh database stays empty.
psql -c 'CREATE DATABASE ro' -c 'CREATE DATABASE race' ||
    bail_out "CREATE DATABASE"
check_status 2 "PostgreSQL: stats of a database without a store" \
    K stats --store "${PGURI%/*}/ro" --json
grep -q 'not a dkimkit store' "$TAP_ERR" &&
    [ "$("$pgbin/psql" -X -At -d "${PGURI%/*}/ro" -c "SELECT count(*) FROM
    information_schema.tables WHERE table_schema = 'public'")" = 0 ]
ok_if "... is trouble, and creates no table" $? "$(cat "$TAP_ERR")"

# Two hosts open a fresh database at once: the migrations are serialised
# (an advisory lock), so neither fails on the other's CREATE TABLE.
RACE="${PGURI%/*}/race"
for i in 1 2; do
	verify --json --store "$RACE" m/*.eml > race$i.out 2> race$i.err &
done
wait
cmp -s race1.out plain.json && cmp -s race2.out plain.json &&
    [ ! -s race1.err ] && [ ! -s race2.err ]
ok_if "PostgreSQL: two verify --store on a fresh database at once both record" \
    $? "$(cat race1.err race2.err)"
[ "$("$pgbin/psql" -X -At -d "$RACE" -c 'SELECT count(*) FROM messages')" = \
    $((2 * NMSG)) ] && [ "$("$pgbin/psql" -X -At -d "$RACE" -c \
    'SELECT count(*), count(DISTINCT version) FROM schema_version')" = "3|3" ]
ok_if "... every row, the schema made once" $?

# A server that stops answering (its process for our connection stopped,
# as a hung host or a network that drops packets without a reset would
# look): the writer gives up after the statement timeout and a second,
# here the URI's 1 s, and the row is lost with a warning, not waited for
# forever.  verify reads a FIFO, so the connection is made and the first
# row written before the server stops.
HANG="$PGURI?application_name=dkk-hang&options=-c%20statement_timeout%3D1000"
mkfifo hang.fifo
verify --store "$HANG" m/01-pass.eml hang.fifo > hang.out 2> hang.err &
hang=$!
backend=
for _ in $(seq 300); do
	backend=$(psql -c "SELECT pid FROM pg_stat_activity WHERE
	    application_name = 'dkk-hang' AND state = 'idle'")
	[ -n "$backend" ] && [ "$(psql -c 'SELECT count(*) FROM messages')" = \
	    $((NMSG + 2)) ] && break
	sleep 0.1
done
if [ -z "$backend" ]; then
	not_ok "PostgreSQL: a hung server" "the connection did not show"
	kill "$hang"
else
	kill -STOP "$backend"
	t0=$(date +%s)
	cat m/06-footer.eml > hang.fifo
	wait "$hang"
	t1=$(date +%s)
	kill -CONT "$backend"
	[ $((t1 - t0)) -lt 15 ] &&
	    grep -q 'row lost: postgresql: no answer within 2000 ms' hang.err
	ok_if "PostgreSQL: a hung server costs a batch after its timeout, not the writer" \
	    $? "$((t1 - t0)) s" "$(cat hang.err)"
fi

pg_stop
store_trouble "PostgreSQL server stopped" "$PGURI"
grep -q "postgresql: cannot connect" "$TAP_ERR"
ok_if "stopped server: the warning says why" $? "$(cat "$TAP_ERR")"
[ "$(wc -l < "$TAP_ERR")" -eq 1 ]
ok_if "stopped server: in one line" $? "$(cat "$TAP_ERR")"

done_testing
