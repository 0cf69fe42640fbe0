#!/usr/bin/env python3
"""How long a write takes to show in the maintained parent rollup, over the real protocol (TLS, one JSON-RPC
message per line): raise a risk on a leaf engagement, then read `engagement.rollup` of the tree's root (not
`fresh`) every 10 ms until its open risks count the new one. Rounds are spaced so each starts a new burst.

    freshness.py HOST PORT CA_FILE API_KEY ROOT_ID LEAF_ID [ROUNDS]

Prints one JSON document: the seconds from the write's reply to the first answer that shows it, per round.
"""
import json
import socket
import ssl
import sys
import time

host, port, ca_file, key, root, leaf = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
rounds = int(sys.argv[7]) if len(sys.argv) > 7 else 5

context = ssl.create_default_context(cafile=ca_file)
stream = context.wrap_socket(socket.create_connection((host, port)), server_hostname="localhost").makefile("rwb")
next_id = 0


def call(method, params):
    global next_id
    next_id += 1
    stream.write(json.dumps({"jsonrpc": "2.0", "id": next_id, "method": method, "params": params}).encode() + b"\n")
    stream.flush()
    reply = json.loads(stream.readline())
    if "error" in reply:
        raise SystemExit(f"{method}: {reply['error']}")
    return reply["result"]


call("session.authenticate", {"api_key": key})


def maintained():
    rollup = call("engagement.rollup", {"id": root})
    return rollup["risks"]["open"] if rollup["source"] == "materialized" else None


samples = []
for number in range(rounds):
    deadline = time.monotonic() + 60
    while (before := maintained()) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if before is None:
        raise SystemExit("the root's rollup was never maintained")
    call("risk.raise", {"engagement_id": leaf, "title": f"Freshness probe {number}", "probability": "low", "impact": "low"})
    written = time.monotonic()
    while maintained() != before + 1:
        if time.monotonic() - written > 60:
            raise SystemExit("the write did not reach the maintained rollup within 60 s")
        time.sleep(0.01)
    samples.append(round(time.monotonic() - written, 3))
    time.sleep(3)
print(json.dumps({"seconds": samples}), flush=True)
