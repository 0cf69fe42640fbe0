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
