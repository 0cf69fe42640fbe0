#!/usr/bin/env python3
"""A client that pipelines calls and never reads a reply (fault harness, FaultLoadTests): it authenticates, then
sends up to `calls` party.list calls as fast as the server takes them, reading nothing, for `seconds`; the
server must stop reading it (back-pressure) rather than buffer without bound, and keep serving everyone else.

    stalled_reader.py HOST PORT CA_FILE API_KEY CALLS SECONDS

Prints one JSON document: the calls and bytes the server took, and whether a fresh connection still gets a ping.
"""
import json
import select
import socket
import ssl
import sys
import time

host, port, ca_file, api_key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
calls, seconds = int(sys.argv[5]), float(sys.argv[6])
context = ssl.create_default_context(cafile=ca_file)


def connect():
    return context.wrap_socket(socket.create_connection((host, port)), server_hostname="localhost")


tls = connect()
tls.sendall((json.dumps({"jsonrpc": "2.0", "id": 0, "method": "session.authenticate", "params": {"api_key": api_key}}) + "\n").encode())
reply = b""
while not reply.endswith(b"\n"):
    reply += tls.recv(65536)
assert b'"result"' in reply, reply
tls.setblocking(False)
line = lambda n: (json.dumps({"jsonrpc": "2.0", "id": n, "method": "party.list", "params": {"limit": 100}}) + "\n").encode()
sent_calls, sent_bytes, pending = 0, 0, b""
deadline = time.monotonic() + seconds
while time.monotonic() < deadline and (sent_calls < calls or pending):
    if not pending:
        pending = line(sent_calls + 1)
    _, writable, _ = select.select([], [tls], [], 0.2)
    if not writable:
        continue
    try:
        written = tls.send(pending)
    except (ssl.SSLWantWriteError, BlockingIOError):
        continue
    sent_bytes += written
    pending = pending[written:]
    if not pending:
        sent_calls += 1
while time.monotonic() < deadline:
    time.sleep(0.2)
tls.close()

fresh = connect()
fresh.sendall(b'{"jsonrpc":"2.0","id":1,"method":"system.ping"}\n')
answer = fresh.recv(65536)
print(json.dumps({"sent_calls": sent_calls, "sent_bytes": sent_bytes, "server_alive": b'"result"' in answer}))
