#!/usr/bin/env bash
# Whole-process latency of claim-task and complete-task (issue 3, benchmark (c)).
#
# Builds the release binary (the same build as scripts/bench-cli.sh), creates a
# running workflow of BENCH_TASKS ready tasks and one agent, then measures with
# hyperfine (--warmup 5 --runs 50):
#   claim-task     one task per run
#   complete-task  of a task claimed in --prepare (the lease is passed in a
#                  --request @file envelope, so no shell sits in the timing)
# Prints both medians and their sum; exits 1 if the sum is above the target (30 ms).
#
# Environment: BENCH_OUT, BENCH_TASKS (default 2000), BENCH_TARGET_MS (default 30),
# and the build settings of scripts/lib/bench-build.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
tasks="${BENCH_TASKS:-2000}"
target_ms="${BENCH_TARGET_MS:-30}"
source "$root/scripts/lib/bench-build.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/coordination-hub-dispatch-bench.XXXXXX")"
out="${BENCH_OUT:-$work/results}"
mkdir -p "$out"
state="$work/state"
trap 'rm -rf "$state"' EXIT

echo "# creating a workflow of $tasks tasks" >&2
jq -n --argjson n "$tasks" \
    '{phases: [{name: "work", tasks: [range($n) | {task_id: "t\(.)", role: "code"}]}]}' >"$work/create.json"
"$hub" --state-dir "$state" bench create "@$work/create.json" >/dev/null
"$hub" --state-dir "$state" bench start >/dev/null
# A long heartbeat interval keeps the agent alive across the whole run without heartbeats.
export COORDINATION_HUB_HEARTBEAT_INTERVAL=1h
"$hub" --state-dir "$state" register-agent '{"agent_id": "bench_agent", "specializations": ["code"], "max_concurrent_tasks": 1000}' >/dev/null

echo '{"operation": "claim-task", "parameters": {"agent_id": "bench_agent"}}' >"$work/claim.json"
cat >"$work/prepare-complete.sh" <<PREP
#!/bin/sh
lease=\$("$hub" --state-dir "$state" claim-task '{"agent_id": "bench_agent"}' | jq -r '.result.tasks[0].lease_id')
printf '{"operation": "complete-task", "parameters": {"lease_id": "%s"}}' "\$lease" > "$work/complete.json"
PREP
chmod +x "$work/prepare-complete.sh"

hf=(hyperfine -N --warmup 5 --runs 50 --style basic)
echo "# hyperfine: claim-task" >&2
"${hf[@]}" --export-json "$out/claim-task.json" \
    "$hub --state-dir $state --request @$work/claim.json" >&2
echo "# hyperfine: complete-task" >&2
"${hf[@]}" --export-json "$out/complete-task.json" --prepare "$work/prepare-complete.sh" \
    "$hub --state-dir $state --request @$work/complete.json" >&2

echo "# machine: $(nproc) cores; $(swift --version 2>/dev/null | head -1); build: ${build_flags[*]}"
claim=$(jq -r '.results[0].median * 1000' "$out/claim-task.json")
complete=$(jq -r '.results[0].median * 1000' "$out/complete-task.json")
sum=$(awk -v a="$claim" -v b="$complete" 'BEGIN { printf "%.2f", a + b }')
printf 'claim-task median %.2f ms, complete-task median %.2f ms, pair %s ms (target %s ms)\n' "$claim" "$complete" "$sum" "$target_ms"
if awk -v s="$sum" -v t="$target_ms" 'BEGIN { exit !(s > t) }'; then
    echo "FAIL: the pair's median is above the target"
    exit 1
fi
echo "pair within ${target_ms} ms"
