# tests/lib/ports.sh: loopback ports for the servers that the tests and
# the main job (scripts/mailchain) start.  Sourced; needs python3.

# free_port: a loopback port nothing is bound to now, for TCP and UDP
# alike (a resolver listens on both).  Another process may take it before
# the caller binds it: callers that can, retry.
free_port()
{
	"${PY:-python3}" -c 'import socket
t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
u = socket.socket(type=socket.SOCK_DGRAM); u.bind(("127.0.0.1", p))
print(p)' 2>/dev/null || free_port
}

# port_open PORT: true when a TCP connection to 127.0.0.1:PORT succeeds.
port_open()
{
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# port_wait PORT [TENTHS]: true once PORT accepts connections, false
# after TENTHS tenths of a second (default 100).
port_wait()
{
	local i

	for ((i = 0; i < ${2:-100}; i++)); do
		port_open "$1" && return 0
		sleep 0.1
	done
	return 1
}
