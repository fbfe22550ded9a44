#!/usr/bin/env bash
# How many WAL frames (4 KiB pages) one claim-task and one complete-task write, and to
# which table or index each belongs: every frame is written and fsynced at commit, so
# this is the disk work of a dispatcher operation.
#
#   scripts/wal-frames.sh [coordination-hub binary, default .build/debug/coordination-hub]
#
# Needs strace and Python's sqlite3 module with the dbstat table (Debian's has it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hub="${1:-$root/.build/debug/coordination-hub}"
command -v strace >/dev/null || { apt-get update >/dev/null && apt-get install -y strace >/dev/null; }
state="$(mktemp -d)"
trap 'rm -rf "$state"' EXIT
python3 -c 'import json; print(json.dumps({"phases": [{"name": "work", "tasks": [{"task_id": f"t{i}"} for i in range(10000)]}]}))' >"$state/wf.json"
run() { "$hub" --state-dir "$state" "$@"; }
run wf create @"$state/wf.json" >/dev/null
run wf start '{}' >/dev/null
run register-agent '{"agent_id": "a", "max_concurrent_tasks": 100}' >/dev/null
run claim-task '{"agent_id": "a"}' >/dev/null
strace -f -e trace=pwrite64 -o "$state/claim.strace" "$hub" --state-dir "$state" claim-task '{"agent_id": "a"}' >"$state/claim.json"
lease="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["result"]["tasks"][0]["lease_id"])' "$state/claim.json")"
strace -f -e trace=pwrite64 -o "$state/complete.strace" "$hub" --state-dir "$state" complete-task "{\"lease_id\": \"$lease\"}" >/dev/null
python3 - "$state" <<'PY'
import collections, json, re, sqlite3, sys
state = sys.argv[1]
names = {page: name for name, page in sqlite3.connect(f"{state}/hub.sqlite").execute("SELECT name, pageno FROM dbstat")}
out = {}
for op in ("claim", "complete"):
    pages = []
    for line in open(f"{state}/{op}.strace"):
        # A WAL frame is a 24-byte header (its first 4 bytes: the page number) then the page.
        m = re.search(r'pwrite64\(\d+, "(.*)", 24, \d+\)', line)
        if m:
            header = m.group(1).encode("latin-1").decode("unicode_escape").encode("latin-1")
            pages.append(int.from_bytes(header[:4], "big"))
    out[op] = {"frames": len(pages), "by_table": dict(collections.Counter(names.get(p, "?") for p in pages))}
print(json.dumps(out))
PY
