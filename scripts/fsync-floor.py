#!/usr/bin/env python3
"""The disk's floor under a durable commit: write N pages then fdatasync, as a WAL
commit does, and print the latency percentiles, for a file that grows (a new WAL)
and for one written over in place (a WAL reused after a checkpoint).

    python3 scripts/fsync-floor.py [pages per commit, default 13] [commits, default 500] [directory, default .]

No commit of the hub can be acknowledged faster than this on the same disk.
"""
import json
import os
import sys
import time

pages = int(sys.argv[1]) if len(sys.argv) > 1 else 13
commits = int(sys.argv[2]) if len(sys.argv) > 2 else 500
directory = sys.argv[3] if len(sys.argv) > 3 else "."


def run(grow):
    path = os.path.join(directory, ".fsync-floor.bin")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC)
    try:
        if not grow:
            os.pwrite(fd, b"\0" * (4096 * pages * commits), 0)
            os.fsync(fd)
        page = b"x" * 4096
        times = []
        for n in range(commits):
            start = time.perf_counter()
            for p in range(pages):
                os.pwrite(fd, page, (n * pages + p) * 4096)
            os.fdatasync(fd)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    times.sort()
    pick = lambda q: round(times[min(len(times) - 1, int(len(times) * q))], 3)
    return {"p50_ms": pick(0.5), "p90_ms": pick(0.9), "p99_ms": pick(0.99), "max_ms": round(times[-1], 3)}


print(json.dumps({"pages_per_commit": pages, "commits": commits, "growing_file": run(True), "in_place": run(False)}))
