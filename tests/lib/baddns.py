#!/usr/bin/python3
"""A DNS server on UDP loopback that answers every question wrongly, for
the fault tests.  Prints its port, then serves until killed.

  baddns.py MODE [PORT]
  baddns.py slow PORT UPSTREAM_PORT SECONDS

  PORT       where to listen (127.0.0.1, UDP; default: a free port)

  noise      the query's id, then random bytes
  cut        a TXT answer whose record runs past the end of the packet
  txtlen     a TXT record whose string length octet overruns the rdata
  wrongtype  an A record in answer to the TXT question
  formerr    rcode FORMERR, no answer
  empty      a header only: no question, no answer
  slow       the true answer of the resolver on UPSTREAM_PORT, SECONDS
             after the question (the same for its retransmissions: a
             resolver that is slow, not one that loses packets); each
             question is answered from its own thread, and a line
             "answer" printed for each answer sent
"""
import os
import socket
import struct
import sys
import threading
import time


def question_end(q):
    """Offset just past the question (name, type, class)."""
    i = 12
    while i < len(q) and q[i] != 0:
        i += q[i] + 1
    return i + 5


def reply(q, mode):
    qid = q[:2]
    if mode == "noise":
        return qid + os.urandom(40)
    if mode == "empty":
        return qid + struct.pack(">HHHHH", 0x8180, 0, 0, 0, 0)
    question = q[12:question_end(q)]
    rcode = 1 if mode == "formerr" else 0
    ancount = 0 if mode == "formerr" else 1
    head = qid + struct.pack(">HHHHH", 0x8180 | rcode, 1, ancount, 0, 0)
    if mode == "formerr":
        return head + question
    if mode == "wrongtype":
        rr = struct.pack(">HHHIH", 0xC00C, 1, 1, 300, 4) + bytes([192, 0, 2, 1])
    elif mode == "cut":
        rdata = b"\x20v=DKIM1; p=MIGfMA0GCSqGSIb3DQEB"
        rr = struct.pack(">HHHIH", 0xC00C, 16, 1, 300, 300) + rdata
    else:  # txtlen
        rdata = b"\xc8v=DKIM1; p="
        rr = struct.pack(">HHHIH", 0xC00C, 16, 1, 300, len(rdata)) + rdata
    return head + question + rr


def slow_relay(s, q, client, upstream, first, seconds):
    """Ask the resolver, then answer SECONDS after the question was first
    seen; no answer when the resolver gives none in 5 s."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    try:
        u.sendto(q, ("127.0.0.1", upstream))
        a = u.recv(65535)
        time.sleep(max(0.0, first + seconds - time.monotonic()))
        s.sendto(a, client)
        print("answer", flush=True)
    except OSError:
        pass
    finally:
        u.close()


def main():
    mode = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    print(s.getsockname()[1], flush=True)
    firsts = {}
    while True:
        q, client = s.recvfrom(4096)
        if len(q) <= 12:
            continue
        if mode != "slow":
            s.sendto(reply(q, mode), client)
            continue
        # the question without its id: a retransmission is the same one
        key = q[2:]
        now = time.monotonic()
        if len(firsts) > 10000:
            firsts = {k: t for k, t in firsts.items() if now - t < 60}
        first = firsts.setdefault(key, now)
        threading.Thread(target=slow_relay, daemon=True,
                         args=(s, q, client, int(sys.argv[3]), first,
                               float(sys.argv[4]))).start()


if __name__ == "__main__":
    main()
