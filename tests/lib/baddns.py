#!/usr/bin/python3
"""A DNS server on UDP loopback that answers every question wrongly, for
the fault tests.  Prints its port, then serves until killed.

  baddns.py MODE

  noise      the query's id, then random bytes
  cut        a TXT answer whose record runs past the end of the packet
  txtlen     a TXT record whose string length octet overruns the rdata
  wrongtype  an A record in answer to the TXT question
  formerr    rcode FORMERR, no answer
  empty      a header only: no question, no answer
"""
import os
import socket
import struct
import sys


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


def main():
    mode = sys.argv[1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    while True:
        q, client = s.recvfrom(4096)
        if len(q) > 12:
            s.sendto(reply(q, mode), client)


if __name__ == "__main__":
    main()
