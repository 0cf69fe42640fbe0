#!/usr/bin/env python3
"""Summarise `perf script -F comm,pid,ip,sym,dso` output by process, then per process by shared object and symbol.

Threads are attributed to their process (pid), and a process is named by its executable: the server and the
load generator are both Swift NIO programs whose threads have the same names, so `perf report --sort comm`
cannot tell them apart.

    perf script -i perf.data -F comm,pid,ip,sym,dso | python3 Benchmarks/perf-summary.py | swift demangle --simplified
"""
import collections
import re
import sys

LINE = re.compile(r'\s*(.+?)\s+(\d+)\s+([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$')
NAMED = {'engagementd': 'server (engagementd)', 'engagement-loadgen': 'load generator'}

rows, process = [], {}
for line in sys.stdin:
    match = LINE.match(line)
    if not match:
        continue
    comm, pid, _, symbol, dso = match.groups()
    pid, comm, binary = int(pid), comm.strip(), dso.rsplit('/', 1)[-1]
    rows.append((pid, comm, symbol, binary))
    if binary in NAMED:
        process[pid] = NAMED[binary]
    elif comm in ('postgres', 'pgbench', 'pgbouncer'):
        process.setdefault(pid, 'PostgreSQL' if comm == 'postgres' else comm)

total = len(rows) or 1
by_process = collections.Counter(process.get(pid, 'other: ' + comm) for pid, comm, _, _ in rows)
print(f'{len(rows)} samples\n\n## share of all CPU samples, by process')
for name, count in by_process.most_common(6):
    print(f'{count / total * 100:5.1f}%  {name}')
CATEGORIES = [  # (name, shared-object test, symbol pattern), first match wins
    ('kernel: TCP/IP (loopback to clients and PostgreSQL)', lambda b: b == '[kernel.kallsyms]',
     re.compile(r'tcp|ip_|skb|sock|net|loopback|__dev|napi|inet|sk_')),
    ('kernel: scheduling and futex wake-ups', lambda b: b == '[kernel.kallsyms]',
     re.compile(r'sched|task_switch|spin_unlock|futex|wake|switch|pick_next|enqueue|dequeue|update_curr|select_task')),
    ('kernel: other (syscalls, epoll, interrupts)', lambda b: b == '[kernel.kallsyms]', re.compile('')),
    ('TLS (BoringSSL, NIOSSL)', lambda b: True, re.compile(r'BoringSSL|NIOSSL|SSL|aes|gcm|sha', re.I)),
    ('JSON parsing and writing', lambda b: True, re.compile(r'JSON')),
    ('libpq', lambda b: b.startswith('libpq'), re.compile('')),
    ('malloc and free', lambda b: b.startswith('libc'), re.compile(r'malloc|free|unlink_chunk|consolidate')),
    ('retain and release', lambda b: True, re.compile(r'swift_retain|swift_release|RefCounts|isUniquelyReferenced')),
    ('Swift concurrency and dispatch', lambda b: b in ('libswift_Concurrency.so', 'libdispatch.so'), re.compile('')),
    ('Swift runtime and standard library (other)', lambda b: b == 'libswiftCore.so', re.compile('')),
    ('the executable itself (other)', lambda b: b in NAMED, re.compile('')),
]

server = [(symbol, binary) for pid, comm, symbol, binary in rows if process.get(pid) == 'server (engagementd)']
if server:
    print('\n## server (engagementd): its CPU by category')
    counts = collections.Counter()
    for symbol, binary in server:
        counts[next((name for name, dso, pattern in CATEGORIES if dso(binary) and pattern.search(symbol)), 'other')] += 1
    for name, count in counts.most_common():
        print(f'{count / len(server) * 100:5.1f}%  {name}')

for name in ['server (engagementd)', 'PostgreSQL', 'load generator']:
    mine = [(symbol, binary) for pid, comm, symbol, binary in rows if process.get(pid) == name]
    if not mine:
        continue
    print(f'\n## {name}: {len(mine) / total * 100:.1f}% of all samples; its own samples by shared object')
    for binary, count in collections.Counter(b for _, b in mine).most_common(8):
        print(f'{count / len(mine) * 100:5.1f}%  {binary}')
    print(f'\n## {name}: top symbols')
    for (symbol, binary), count in collections.Counter(mine).most_common(25):
        print(f'{count / len(mine) * 100:5.1f}%  {symbol[:110]}  [{binary}]')
