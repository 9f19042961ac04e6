#!/usr/bin/env python3
"""Reads `docker export` of a container from stdin; prints one line per entry
(path type mode uid gid size mtime link sha256) sorted, skipping what the engine
adds to every container (init layer)."""
import sys, tarfile, hashlib
skip = {'.dockerenv', 'etc', 'etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'etc/mtab', 'dev', 'proc', 'sys', 'dev/console', 'dev/pts', 'dev/shm'}
rows = []
with tarfile.open(fileobj=sys.stdin.buffer, mode='r|') as t:
    for m in t:
        n = m.name.rstrip('/')
        if n.startswith('./'): n = n[2:]
        if n in skip or n.startswith('dev/') or n.startswith('proc/') or n.startswith('sys/'):
            continue
        h = ''
        if m.isfile():
            h = hashlib.sha256(t.extractfile(m).read()).hexdigest()
        rows.append(f"{n} {m.type.decode() if isinstance(m.type, bytes) else m.type} {m.mode:o} {m.uid} {m.gid} {m.size} {int(m.mtime)} {m.linkname} {h}")
rows.sort()
print("\n".join(rows))
