#!/usr/bin/env bash
# Whole-process latency of the coordination-hub command (issue 2, benchmark (a)).
#
# Builds the release binary, seeds a temporary state directory with 1,000
# workflows, starts one of them, then measures with hyperfine (--warmup 5
# --runs 50) three single-process commands on that store:
#   get-status   on the running workflow
#   pause        (prepared by a resume, so every timed pause succeeds)
#   resume       (prepared by a pause, so every timed resume succeeds)
# Prints the medians and exits 1 if any median is above the target (15 ms).
#
# Environment:
#   BENCH_OUT         where hyperfine's JSON exports go (default: a temporary directory)
#   BENCH_WORKFLOWS   workflows to seed (default 1000)
#   BENCH_TARGET_MS   the target median in ms (default 15)
#   BENCH_STATIC      1 (default) builds with --static-swift-stdlib, 0 without
#   BENCH_NO_PIE      1 (default) links a position-dependent executable (-Xlinker -no-pie), 0 a PIE
#   BENCH_SCRATCH     the build directory (default .build-bench, apart from .build so
#                     it does not wait on, or disturb, a debug build in progress)
#   BENCH_BINARY      measure this coordination-hub binary instead of building one
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
workflows="${BENCH_WORKFLOWS:-1000}"
target_ms="${BENCH_TARGET_MS:-15}"
source "$root/scripts/lib/bench-build.sh"

work="$(mktemp -d "${TMPDIR:-/tmp}/coordination-hub-bench.XXXXXX")"
out="${BENCH_OUT:-$work/results}"
mkdir -p "$out"
state="$work/state"
trap 'rm -rf "$state"' EXIT

# Seed: the first create makes the database, then the rest, one process each, nproc at a time.
echo "# seeding $workflows workflows in $state" >&2
seed_started=$(date +%s%N)
"$hub" --state-dir "$state" seed_0000 create '{"phases":["design","build","test"]}' >/dev/null
seq -f 'seed_%04g' 1 $((workflows - 1)) |
    xargs -P "$(nproc)" -I{} "$hub" --state-dir "$state" {} create '{"phases":["design","build","test"]}' >/dev/null
target="seed_0500"
"$hub" --state-dir "$state" "$target" start >/dev/null
count=$("$hub" --state-dir "$state" list-workflows '{"limit": 1}' | jq '.result.total')
echo "# seeded in $(( ($(date +%s%N) - seed_started) / 1000000 )) ms; list-workflows reports total=${count:-?}" >&2
if [ "$count" != "$workflows" ]; then
    echo "seeding failed: list-workflows reports ${count:-nothing}, expected $workflows" >&2
    exit 1
fi
# Let the disk finish writing back the seeding before anything is timed.
sync
sleep 1

hf=(hyperfine -N --warmup 5 --runs 50 --style basic)
run() { # name, hyperfine arguments...
    local name="$1"
    shift
    echo "# hyperfine: $name" >&2
    "${hf[@]}" --export-json "$out/$name.json" "$@" >&2
}
run get-status "$hub --state-dir $state $target get-status"
run pause --prepare "sh -c '$hub --state-dir $state $target resume >/dev/null 2>&1 || true'" \
    "$hub --state-dir $state $target pause"
run resume --prepare "sh -c '$hub --state-dir $state $target pause >/dev/null 2>&1 || true'" \
    "$hub --state-dir $state $target resume"

echo "# machine: $(nproc) cores; $(swift --version 2>/dev/null | head -1); build: ${build_flags[*]}"
printf '%-12s %10s %10s %10s %10s\n' benchmark median_ms mean_ms min_ms max_ms
status=0
for name in get-status pause resume; do
    read -r median mean min max < <(jq -r '.results[0] | [.median, .mean, .min, .max] | map(. * 1000) | @tsv' "$out/$name.json")
    printf '%-12s %10.2f %10.2f %10.2f %10.2f\n' "$name" "$median" "$mean" "$min" "$max"
    if awk -v m="$median" -v t="$target_ms" 'BEGIN { exit !(m > t) }'; then
        echo "FAIL: $name median ${median} ms is above the ${target_ms} ms target"
        status=1
    fi
done
echo "# hyperfine JSON exports: $out"
[ "$status" -eq 0 ] && echo "all medians within ${target_ms} ms"
exit "$status"
