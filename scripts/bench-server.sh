#!/usr/bin/env bash
# The server under load (issue 6): one scenario of Benchmarks' hub-load against a fresh
# `coordination-hub serve`.
#
#   scripts/bench-server.sh dispatch|publish|sse|memory [hub-load options…]
#
# Builds the release server binary (scripts/lib/bench-build.sh, into .build-bench) and
# hub-load in release (Benchmarks/.build), starts `serve --port 0` on a fresh temporary
# state directory, runs the scenario with --server-pid (so it reports the server's CPU
# time, or its memory), stops the server with SIGTERM and prints the scenario's JSON
# with the commit, the build, the server's exit status and the load average before and
# after the run added.
#
#   dispatch   (a) tasks/s, 2 agent processes claiming up to 10 tasks at a time (target ≥ 10,000)
#   publish    (b) events/s acknowledged, batches of 100 events of 200 bytes   (target ≥ 100,000)
#   sse        (c) publish → SSE latency at 5,000 events/s                     (target p99 ≤ 1 ms)
#   memory     (d) VmRSS/VmHWM after 1,000 workflows × 100 tasks, 100 agents   (target ≤ 200 MiB)
#
# Options after the scenario go to hub-load (e.g. `publish --concurrency 16`); see
# `hub-load help`. Environment: BENCH_OUT (also write the JSON there) and the build
# settings of scripts/lib/bench-build.sh (BENCH_BINARY measures a given server binary).
# BENCH_STATIC defaults to 0 here: the static standard library saves process start-up,
# which a long-running server does not repeat, and the static link fails on a machine
# without libcurl's development files (the MCP SDK brings FoundationNetworking, which
# links -lcurl).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
scenario="${1:-}"
case "$scenario" in
dispatch | publish | sse | memory) shift ;;
*)
    echo "usage: scripts/bench-server.sh dispatch|publish|sse|memory [hub-load options…]" >&2
    exit 2
    ;;
esac
export BENCH_STATIC="${BENCH_STATIC:-0}"
source "$root/scripts/lib/bench-build.sh"
echo "# swift build -c release --product hub-load (in Benchmarks)" >&2
(cd Benchmarks && swift build -c release --product hub-load >&2)
load="$root/Benchmarks/.build/release/hub-load"

work="$(mktemp -d "${TMPDIR:-/tmp}/coordination-hub-server-bench.XXXXXX")"
server_pid=
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# A server on a free port and a fresh state directory; its stderr names the address
# (read as it comes, not waited for with a sleep).
exec 3< <(cd "$work" && exec "$hub" serve --port 0 --state-dir "$work/state" 2>&1)
server_pid=$!
url=
while read -r line <&3; do
    case "$line" in *"serving http://"*)
        url="$(echo "$line" | grep -o 'http://[0-9.:]*')"
        break
        ;;
    esac
done
[ -n "$url" ] || { echo "the server did not start: ${line:-(no output)}" >&2; exit 1; }
cat <&3 >"$work/server.log" &
echo "# $scenario against $url (server pid $server_pid, state $work/state)" >&2

# The load average around the run says whether anything else was using the CPU.
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
status=0
"$load" "$scenario" "$url" --server-pid "$server_pid" "$@" >"$work/result.json" || status=$?
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
kill -TERM "$server_pid"
server_exit=0
wait "$server_pid" || server_exit=$?
server_pid=
if [ "$status" -ne 0 ]; then
    echo "hub-load $scenario failed (exit $status); the server's log:" >&2
    tail -20 "$work/server.log" >&2
    exit "$status"
fi
[ "$server_exit" -eq 0 ] || echo "# the server exited with status $server_exit after SIGTERM" >&2

commit="$(git -C "$root" rev-parse --short HEAD)"
if [ -n "$(git -C "$root" status --porcelain -- Sources Package.swift)" ]; then commit="$commit+dirty"; fi
jq -c --arg commit "$commit" --arg build "${build_flags[*]}" --argjson server_exit "$server_exit" \
    --arg machine "$(nproc) cores, $(swift --version 2>/dev/null | head -1)" \
    --arg load_before "$load_before" --arg load_after "$load_after" \
    '. + {commit: $commit, server_build: $build, server_exit: $server_exit, machine: $machine,
          load_average_before: $load_before, load_average_after: $load_after}' \
    "$work/result.json" | tee ${BENCH_OUT:+"$BENCH_OUT"}
