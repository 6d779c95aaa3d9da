# tests/lib/mail.sh: sending a message with swaks and reading the header
# of the copy delivered (bash; sourced by the integration tests and
# scripts/mailchain).

# swaks_send PORT FILE OUT [SWAKS_ARGS...]: send FILE (a message; swaks
# sends its lines with CRLF) to 127.0.0.1:PORT, swaks's transcript in OUT;
# swaks's exit status (0: the server took the message).
swaks_send()
{
	local port="$1" file="$2" out="$3"

	shift 3
	swaks --server 127.0.0.1 --port "$port" --data "@$file" "$@" \
	    > "$out" 2>&1
}

# swaks_reply_code OUT: the server's answer to the end of data, from the
# swaks transcript OUT.
swaks_reply_code()
{
	sed -n '/^ *-> \.$/,$p' "$1" |
	    sed -n 's/^ *<[-~*]* *\([0-9][0-9][0-9]\).*/\1/p' | head -n 1
}

# maildir_wait DIR ERE: the first message in maildir DIR (its new/) with
# a line that matches ERE, printed; waits up to 30 s for it to arrive.
maildir_wait()
{
	local i f

	for ((i = 0; i < 300; i++)); do
		f=$(grep -l -E -- "$2" "$1"/new/* 2>/dev/null | head -n 1)
		if [ -n "$f" ]; then
			printf '%s\n' "$f"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# header_fields FILE NAME: each NAME field of FILE's header, its value
# unfolded, one a line.
header_fields()
{
	awk -v name="$2" '
	    /^$/ { exit }
	    /^[ \t]/ { if (on) { sub(/^[ \t]+/, " "); cur = cur $0 }; next }
	    { if (on) print cur; on = 0 }
	    tolower(substr($0, 1, length(name) + 1)) == tolower(name) ":" {
		on = 1; cur = substr($0, length(name) + 2); sub(/^ +/, "", cur)
	    }
	    END { if (on) print cur }' "$1"
}

# top_ar FILE: the first Authentication-Results field, name and value,
# unfolded, with no newline at the end.
top_ar()
{
	awk '/^Authentication-Results:/ { on = 1; printf "%s", $0; next }
	    on && /^[ \t]/ { sub(/^[ \t]+/, " "); printf "%s", $0; next }
	    on { exit }' "$1"
}

# ar_split: an Authentication-Results value on stdin, one piece a line
# (split after the semicolons outside comments and quoted strings): the
# authserv-id first, then each result.
ar_split()
{
	awk '{
	    depth = 0; q = 0; out = ""
	    for (i = 1; i <= length($0); i++) {
		c = substr($0, i, 1)
		if (c == "\"" && !depth) q = !q
		else if (c == "(" && !q) depth++
		else if (c == ")" && !q && depth) depth--
		if (c == ";" && !q && !depth) {
		    print out ";"; out = ""
		    while (substr($0, i + 1, 1) == " ") i++
		    continue
		}
		out = out c
	    }
	    print out }'
}
