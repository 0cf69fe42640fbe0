#!/usr/bin/env python3
"""Hostile connections for the fault harness (FaultLoadTests): `tls` connections that finish the TLS handshake
and then send one byte a second of a line they never end (slowloris), and `plain` TCP connections that never
start the handshake (reopened when the server closes them, as an attacker would), held for `seconds`. A plain
connection still open then waits up to `grace` seconds more (default 30) for the server to close it: on a loaded
machine the handshake timeout may fire late, and closing it ourselves would hide whether the server ever does.

    slowloris.py HOST PORT CA_FILE TLS PLAIN SECONDS [GRACE]

Prints one JSON document: how many of each were open at the end, how many the server closed, the most open at
once, and how many plain connections the server had not closed after the grace (`plain_outlived_grace`).
"""
import asyncio
import json
import ssl
import sys

host, port, ca_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
tls_count, plain_count, seconds = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
grace = float(sys.argv[7]) if len(sys.argv) > 7 else 30.0
stats = {"tls_open": 0, "tls_closed_by_server": 0, "tls_failed": 0, "plain_open": 0, "plain_closed_by_server": 0,
         "most_tls_open": 0, "plain_outlived_grace": 0}


async def slow_tls(context, deadline):
    try:
        reader, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname="localhost")
    except (OSError, ssl.SSLError):
        stats["tls_failed"] += 1
        return
    stats["tls_open"] += 1
    stats["most_tls_open"] = max(stats["most_tls_open"], stats["tls_open"])
    payload = b'{"jsonrpc":"2.0","method":"system.ping","params":{"padding":"' + b"x" * 100000
    index = 0
    try:
        while asyncio.get_running_loop().time() < deadline:
            writer.write(payload[index:index + 1])
            index = (index + 1) % len(payload)
            await writer.drain()
            try:
                data = await asyncio.wait_for(reader.read(4096), timeout=1.0)
                if not data:
                    raise ConnectionError
            except asyncio.TimeoutError:
                pass
    except (OSError, ConnectionError, ssl.SSLError):
        stats["tls_closed_by_server"] += 1
    finally:
        stats["tls_open"] -= 1
        writer.close()


async def silent_tcp(deadline):
    while asyncio.get_running_loop().time() < deadline:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        stats["plain_open"] += 1
        try:
            data = await asyncio.wait_for(reader.read(1), timeout=deadline + grace - asyncio.get_running_loop().time())
            if not data:
                stats["plain_closed_by_server"] += 1
        except asyncio.TimeoutError:
            stats["plain_outlived_grace"] += 1
        except OSError:
            stats["plain_closed_by_server"] += 1
        finally:
            stats["plain_open"] -= 1
            writer.close()


async def main():
    context = ssl.create_default_context(cafile=ca_file)
    deadline = asyncio.get_running_loop().time() + seconds
    tasks = [asyncio.create_task(silent_tcp(deadline)) for _ in range(plain_count)]
    for start in range(0, tls_count, 50):  # handshakes in waves, as a real client population would arrive
        tasks += [asyncio.create_task(slow_tls(context, deadline)) for _ in range(start, min(start + 50, tls_count))]
        await asyncio.sleep(0.05)
    await asyncio.sleep(max(deadline - asyncio.get_running_loop().time() - 0.5, 0))
    final = dict(stats)
    await asyncio.gather(*tasks, return_exceptions=True)
    # Open counts as at the deadline; the plain connections' fate once each has been closed or outlived the grace.
    final.update(plain_closed_by_server=stats["plain_closed_by_server"], plain_outlived_grace=stats["plain_outlived_grace"])
    print(json.dumps(final), flush=True)


asyncio.run(main())
