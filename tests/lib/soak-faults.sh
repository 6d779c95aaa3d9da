# soak-faults.sh: the faults of scripts/soak (see its --help for what
# each does and what it must come to).  Sourced by scripts/soak after
# tests/lib/chain.sh, in its working folder $W/soak, with SOAKPY, outage,
# slow and filter_pid set.  fault_run NAME does one fault while the
# clients send and notes when it happened and what it saw at once;
# fault_check_all judges every fault done once the mail is delivered
# (and soak.py has counted the messages REDELIVERED after a kill and
# those RELAY_REFUSED after the arc fault),
# prints one line per fault and sets FAULTS_FAILED (0 or how many failed).
# Times are Unix seconds with milliseconds.

FAULTS_DONE=()
FAULTS_FAILED=0

fault_now() { date +%s.%3N; }
fault_sleep() { sleep "$1"; }
# fault_note NAME T0 T1 [FACTS...]: a fault done between T0 and T1, with
# what fault_run saw (words "key=value").
fault_note() { FAULTS_DONE+=("$*"); }

# fault_exim_defers FROM TO [NODE]: how many deliveries the Exims (or
# NODE's alone) deferred ("==" in their main logs, local time) between
# the Unix times FROM and TO.
fault_exim_defers()
{
	local from to logs

	from=$(date -d "@${1%.*}" '+%Y-%m-%d %H:%M:%S')
	to=$(date -d "@$(( ${2%.*} + 1 ))" '+%Y-%m-%d %H:%M:%S')
	if [ -n "${3:-}" ]; then
		logs=("$W/$3/log/mainlog")
	else
		logs=("$W"/*/log/mainlog)
	fi
	cat "${logs[@]}" 2>/dev/null | awk -v from="$from" -v to="$to" \
	    '$4 == "==" && $1 " " $2 >= from && $1 " " $2 <= to' | wc -l
}

# fault_client_window FROM TO: "N DROPPED" of the clients' attempts tried
# again between FROM and TO (tests/lib/soak.py window).
fault_client_window()
{
	python3 "$SOAKPY" window results.tsv.attempts "$1" "$2"
}

# fault_bad_dns MODE PORT [ARGS]: tests/lib/baddns.py MODE on PORT in the
# background (its output in $W/dns/baddns-MODE.out); BADDNS_PID.
fault_bad_dns()
{
	local i out="$W/dns/baddns-$1.out"

	python3 "$top/tests/lib/baddns.py" "$@" > "$out" 2>&1 &
	BADDNS_PID=$!
	PIDS+=("$BADDNS_PID")
	for ((i = 0; i < 50; i++)); do
		[ -s "$out" ] && return 0
		sleep 0.1
	done
	die "tests/lib/baddns.py $1 did not start: $(cat "$out")"
}
fault_stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

fault_outage()
{
	local t0

	t0=$(fault_now)
	fault_stop "$UNBOUND_PID"
	fault_sleep "$outage"
	chain_unbound_start || die "unbound did not start again"
	fault_note outage "$t0" "$(fault_now)"
}

# Half the time random bytes after the question's id, half an A record
# for every question (no RRSIG: bogus in the signed zone, a broken answer
# for the relays' unsigned ones).
fault_garbage()
{
	local t0 half

	half=$(awk -v s="$outage" 'BEGIN { print s / 2 }')
	t0=$(fault_now)
	fault_stop "$UNBOUND_PID"
	fault_bad_dns noise "$DNS_PORT"
	fault_sleep "$half"
	fault_stop "$BADDNS_PID"
	fault_bad_dns wrongtype "$DNS_PORT"
	fault_sleep "$half"
	fault_stop "$BADDNS_PID"
	chain_unbound_start || die "unbound did not start again"
	fault_note garbage "$t0" "$(fault_now)"
}

# unbound on another port for the fault's time, the slow proxy on its own.
fault_slow()
{
	local t0 port pid i answers

	port=$(free_port)
	sed "s/^  port: $DNS_PORT\$/  port: $port/" "$W/dns/unbound.conf" \
	    > "$W/dns/unbound-slow.conf"
	t0=$(fault_now)
	fault_stop "$UNBOUND_PID"
	unbound -d -c "$W/dns/unbound-slow.conf" >> "$W/dns/unbound.out" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	for ((i = 0; i < 50; i++)); do
		drill -p "$port" @127.0.0.1 example.test SOA 2>/dev/null |
		    grep -q 'rcode: NOERROR' && break
		sleep 0.2
	done
	fault_bad_dns slow "$DNS_PORT" "$port" "$slow"
	fault_sleep "$outage"
	fault_stop "$BADDNS_PID"
	fault_stop "$pid"
	chain_unbound_start || die "unbound did not start again"
	answers=$(grep -c '^answer$' "$W/dns/baddns-slow.out")
	fault_note slow "$t0" "$(fault_now)" "answers=$answers"
}

# Kill the filter; smtpd must go down with it (HOSTS.md); start it again
# as a supervisor would.  The new filter's figures are START from here.
fault_kill()
{
	local t0 fp i gone=none st

	fp=$(filter_pid)
	[ -n "$fp" ] || die "no filter-dkimkit to kill"
	t0=$(fault_now)
	kill -KILL "$fp"
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$SMTPD_PID" 2>/dev/null; then
			gone=$(awk -v a="$t0" -v b="$(fault_now)" \
			    'BEGIN { printf "%.1f", b - a }')
			break
		fi
		sleep 0.1
	done
	[ "$gone" != none ] || kill "$SMTPD_PID" 2>/dev/null
	# its exit status, for the record: 0 here (smtpd 6.8 shuts down
	# in order when a child goes), so a supervisor must start it again
	# whatever the status (filter-dkimkit(8), SUPERVISION)
	st=0
	wait "$SMTPD_PID" 2>/dev/null || st=$?
	mv "$S/smtpd.log" "$S/smtpd.log.killed"
	chain_smtpd_start || die "smtpd did not start again: $(tail -n 5 "$S/smtpd.log")"
	for ((i = 0; i < 50; i++)); do
		FPID=$(filter_pid)
		[ -n "$FPID" ] && [ "$FPID" != "$fp" ] && break
		sleep 0.1
	done
	F_RSS0=$(rss "$FPID") F_FDS0=$(fds "$FPID")
	fault_note kill "$t0" "$(fault_now)" "smtpd_exit=$gone" \
	    "status=$st" "old=$fp" "new=${FPID:-none}"
}

fault_hup()
{
	local t0 fp

	fp=$(filter_pid)
	t0=$(fault_now)
	kill -HUP "$fp"
	fault_sleep "$outage"
	fault_note hup "$t0" "$(fault_now)" "old=$fp" "new=$(filter_pid)"
}

# The same key as DER PKCS#8, renamed over the PEM file (the next
# delivery process reads it); then no file; then the PEM back.
fault_key()
{
	local t0 tr key="$W/keys/rsa.pem"

	cp -p "$key" "$W/keys/rsa.pem.orig" &&
	    openssl pkey -in "$key" -outform DER -out "$W/keys/rsa.der" \
	    2>/dev/null && chmod 644 "$W/keys/rsa.der" ||
	    die "cannot make the DER copy of $key"
	t0=$(fault_now)
	mv "$W/keys/rsa.der" "$key"
	fault_sleep "$outage"
	tr=$(fault_now)
	rm -f "$key"
	fault_sleep "$outage"
	cp -p "$W/keys/rsa.pem.orig" "$key.new" && mv "$key.new" "$key" ||
	    die "cannot put $key back"
	fault_note key "$t0" "$(fault_now)" "removed=$tr"
}

# fault_store_rows: the rows of the MX's store (messages), "?" when it
# cannot be read.
fault_store_rows()
{
	python3 - "$W/store/soak.db" 2>/dev/null <<'PY' || echo '?'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=5)
print(c.execute("select count(*) from messages").fetchone()[0])
PY
}
# fault_store_lost: how many times the filter logged rows of its store
# lost (a batch the store refused) or dropped.
fault_store_lost()
{
	grep -c 'store sqlite:.*\(rows\{0,1\} lost\|row dropped\)' \
	    "$S/smtpd.log" 2>/dev/null
}

# The store locked by another writer (python3's sqlite3 holding BEGIN
# EXCLUSIVE), then its file system full; then free again.  The filter's
# writer waits 50 ms for a lock, then loses the batch and says so.
fault_store()
{
	local t0 n0 n1 n2 db="$W/store/soak.db" locker i

	[ -f "$db" ] || die "the store fault needs the store (CHAIN_STORE)"
	n0=$(fault_store_lost)
	t0=$(fault_now)
	python3 - "$db" "$outage" "$W/store/locked" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[3], "w").close()
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")
PY
	locker=$!
	PIDS+=("$locker")
	for ((i = 0; i < 100; i++)); do
		[ -e "$W/store/locked" ] && break
		sleep 0.1
	done
	wait "$locker" 2>/dev/null
	rm -f "$W/store/locked"
	sleep 0.5	# the batch of the lock's last moment
	n1=$(fault_store_lost)
	dd if=/dev/zero of="$W/store/fill" bs=64k 2>/dev/null
	fault_sleep "$outage"
	rm -f "$W/store/fill"
	sleep 0.5
	n2=$(fault_store_lost)
	fault_note store "$t0" "$(fault_now)" "locked=$((n1 - n0))" \
	    "full=$((n2 - n1))" "rows=$(fault_store_rows)"
}

# The trusted sealer's key revoked: its record in the zone left with an
# empty p= (RFC 6376 3.6.1), unbound started again on the new zone; for
# the rest of the run.  The relays' records have a short TTL here
# (CHAIN_RELAY_TTL), so that no cache keeps the old key for long.
fault_arc()
{
	local t0

	t0=$(fault_now)
	sed -i 's/\(arc\._domainkey.*"v=DKIM1; k=[a-z0-9]*; p=\)[^"]*"/\1"/' \
	    "$W/dns/forward.zone"
	grep -q 'p="' "$W/dns/forward.zone" ||
	    die "cannot revoke the key in $W/dns/forward.zone"
	fault_stop "$UNBOUND_PID"
	chain_unbound_start || die "unbound did not start again"
	ARC_T0=$t0 ARC_T1=$(fault_now)
	fault_note arc "$t0" "$ARC_T1"
}

# fault_run NAME: the fault, between two lines on stderr.
fault_run()
{
	echo "soak: fault $1 at message $(done_count)" >&2
	"fault_$1"
	echo "soak: fault $1 over at message $(done_count)" >&2
}

# fault_fact WORDS NAME: the value of NAME=... among WORDS.
fault_fact()
{
	local w

	for w in $1; do
		case "$w" in "$2="*) echo "${w#*=}"; return ;; esac
	done
}

# fault_judge NAME OK WHY: one line, counted when not OK.
fault_judge()
{
	if [ "$2" = yes ]; then
		echo "soak: fault $1: ok ($3)"
	else
		echo "soak: fault $1: FAILED ($3)"
		FAULTS_FAILED=$((FAULTS_FAILED + 1))
	fi
}

# A DNS fault: what it cost (the clients' 4xx while it lasted or in the
# 10 s after, the Exims' deferrals).  A short one may cost nothing: the
# filter's resolver resends a question for some seconds before it gives
# up, and an answer that comes in time is no fault at all; what must
# hold is that no verdict is wrong and nothing lost (checked for every
# message), and that unbound answers again after it (checked here).
fault_felt()
{
	local name="$1" t0="$2" t1="$3" n dropped ex

	read -r n dropped < <(fault_client_window "$t0" \
	    "$(awk -v t="$t1" 'BEGIN { print t + 10 }')")
	ex=$(fault_exim_defers "$t0" "$t1")
	drill -p "$DNS_PORT" @127.0.0.1 example.test SOA 2>/dev/null |
	    grep -q 'rcode: NOERROR' && ok=yes || ok=no
	fault_judge "$name" $ok "$n client retries, $ex Exim deferrals; unbound answers again"
}

fault_check()
{
	local name t0 t1 facts n dropped ex ex0 gone old new ok st tr

	read -r name t0 t1 facts <<< "$1"
	case "$name" in
	outage | garbage) fault_felt "$name" "$t0" "$t1" ;;
	slow)
		n=$(fault_fact "$facts" answers)
		[ "${n:-0}" -gt 0 ] && ok=yes || ok=no
		fault_judge slow $ok "$n answers $slow s late" ;;
	kill)
		gone=$(fault_fact "$facts" smtpd_exit)
		st=$(fault_fact "$facts" status)
		old=$(fault_fact "$facts" old) new=$(fault_fact "$facts" new)
		read -r n dropped < <(fault_client_window "$t0" \
		    "$(awk -v t="$t1" 'BEGIN { print t + 10 }')")
		ex=$(fault_exim_defers "$t0" "$t1")
		[ "$gone" != none ] && [ "$new" != none ] &&
		    [ "$new" != "$old" ] && [ $((n + ex)) -gt 0 ] &&
		    ok=yes || ok=no
		fault_judge kill $ok "smtpd exited ${gone} s after its filter with status $st, filter $old -> $new; $n client retries ($dropped cut connections), $ex Exim deferrals, ${REDELIVERED:-0} delivered again from smtpd's queue" ;;
	hup)
		old=$(fault_fact "$facts" old) new=$(fault_fact "$facts" new)
		read -r n dropped < <(fault_client_window "$t0" "$t1")
		[ -n "$old" ] && [ "$old" = "$new" ] && [ "$dropped" -eq 0 ] &&
		    ok=yes || ok=no
		fault_judge hup $ok "filter $old -> $new, $dropped cut connections in the $outage s after" ;;
	key)
		tr=$(fault_fact "$facts" removed)
		ex0=$(fault_exim_defers "$t0" "$(awk -v t="$tr" \
		    'BEGIN { print t - 1 }')" mail.example.test)
		ex=$(fault_exim_defers "$tr" "$t1" mail.example.test)
		[ "$ex0" -eq 0 ] && [ "$ex" -gt 0 ] && ok=yes || ok=no
		fault_judge key $ok "$ex0 deferrals while replaced, $ex while removed" ;;
	store)
		n=$(fault_fact "$facts" locked) ex=$(fault_fact "$facts" full)
		ex0=$(fault_fact "$facts" rows) tr=$(fault_store_rows)
		# A full disk need not lose a row: SQLite writes over the
		# pages its write-ahead log already has, and a checkpoint
		# that cannot grow the file fails without failing the
		# commit; so losses while full are said, not required.  The
		# mail is checked as for every fault.
		[ "$n" -gt 0 ] && [ "$ex0" != '?' ] &&
		    [ "$tr" != '?' ] && [ "$tr" -gt "$ex0" ] && ok=yes || ok=no
		fault_judge store $ok "$n losses logged while locked, $ex while full; $ex0 rows after, $tr at the end" ;;
	arc)
		[ "${RELAY_REFUSED:-0}" -gt 0 ] && ok=yes || ok=no
		fault_judge arc $ok "${RELAY_REFUSED:-0} relayed messages refused by the MX after the revocation" ;;
	esac
}

fault_check_all()
{
	local f

	for f in ${FAULTS_DONE[@]+"${FAULTS_DONE[@]}"}; do
		fault_check "$f"
	done
}
