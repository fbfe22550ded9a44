#!/usr/bin/env bash
# The main job: build coordination-hub, start its server on the embedded SQLite
# store in a fresh directory, and run everything against it in client mode
# (COORDINATION_HUB_URL): a workflow walked through the seed's lifecycle, three
# agent processes carrying a workflow to completion, a bad change rolled back;
# meanwhile the live event stream is watched, and /metrics is read at the end.
# Prints each command and the hub's JSON answer.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product coordination-hub >&2
hub="$root/.build/release/coordination-hub"
work="$(mktemp -d "${TMPDIR:-/tmp}/coordination-hub-demo.XXXXXX")"
cd "$work"
echo "# working in $work (state in $work/.claude/coordination)" >&2

# The server, on a free port; its first line on stderr names the address.
echo "\$ coordination-hub serve --port 0 &"
exec 3< <(exec "$hub" serve --port 0 2>&1)
server=$!
url=
while read -r line <&3; do
    echo "  $line"
    case "$line" in *"serving http://"*) url="$(echo "$line" | grep -o 'http://[0-9.:]*')"; break ;; esac
done
[ -n "${url:-}" ] || { echo "the server did not start" >&2; exit 1; }
cat <&3 > server.log &
stop_server() { kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true; }
trap stop_server EXIT
# From here on every command is a request to the server, with the same output as on the local store.
export COORDINATION_HUB_URL="$url"
echo "\$ export COORDINATION_HUB_URL=$url"
# after_sequence=0: from the start of the log, so nothing is missed however late curl connects
# (a stream without it carries the events after the newest one when it is opened).
echo "\$ curl -sN '$url/v1/events/stream?patterns=*.task_completed,*.completed,*.state_rolled_back&after_sequence=0' > events.txt &"
curl -sN "$url/v1/events/stream?patterns=*.task_completed,*.completed,*.state_rolled_back&after_sequence=0" > events.txt &
watcher=$!

step() {
    echo
    echo "\$ coordination-hub $*"
    "$hub" "$@" || true
}

step workflow_123 create '{
  "name": "Feature Implementation",
  "phases": [
    "setup",
    {"name": "implementation", "tasks": [
      {"task_id": "write_api", "description": "Write the API", "role": "code", "files": ["src/api.swift"], "estimate": "20m"},
      {"task_id": "test_api", "description": "Test the API", "role": "test", "depends_on": ["write_api"]}
    ]},
    "testing", "deployment"],
  "agent_requirements": {"min": 3, "max": 8},
  "dependencies": ["external_service", "database"],
  "timeout": "2h",
  "priority": "high"
}'
step workflow_123 start '{"failure_tolerance": "medium", "checkpoint_interval": "15m"}'
step workflow_123 complete-phase '{"phase": "setup"}'
step workflow_123 add-tasks '{"tasks": [{"task_id": "write_docs", "role": "docs", "phase": "testing"}]}'
step workflow_123 pause '{"reason": "waiting for review"}'
echo; echo "# start is not allowed from paused: the error names the status and the allowed operations"
step workflow_123 start
step workflow_123 resume
echo; echo "# complete refuses while work remains (WORKFLOW_INCOMPLETE lists it) unless force"
step workflow_123 complete
step workflow_123 get-status '{"include_metrics": true, "agent_details": true, "recent_events": 5}'
step workflow_123 save-state '{"include_checkpoints": true, "compress": true, "backup_location": "backups/"}'
bundle="backups/$(basename "$(ls .claude/coordination/backups/*.hubbundle.gz | head -1)")"
step workflow_123 load-state "{\"bundle\": \"$bundle\", \"verify_integrity\": true}"
step workflow_123 resume
step workflow_123 complete '{"force": true, "archive_state": true, "generate_report": true, "notify_stakeholders": ["team", "pm"]}'
step workflow_123 cleanup '{"archive_state": true, "remove_temp_files": true}'
echo; echo "# an archived workflow is read-only"
step workflow_123 pause
step list-workflows '{"include_archived": true}'
step workflow_123 get-events '{"event_types": ["phase_completed", "completed", "stakeholder_notified"]}'

echo
echo "# --- Part 2: three agents carry a workflow to completion ---"
mkdir -p src docs
step feature_login create '{
  "name": "Login feature",
  "priority": "high",
  "phases": [
    {"name": "implementation", "tasks": [
      {"task_id": "write_login", "role": "code", "files": ["src/login.txt"], "estimate": "1s",
       "command": "echo \"login(): checks the password\" >> src/login.txt; sleep 0.3"},
      {"task_id": "write_logout", "role": "code", "files": ["src/login.txt"], "estimate": "1s",
       "command": "echo \"logout(): clears the session\" >> src/login.txt"}
    ]},
    {"name": "verification", "tasks": [
      {"task_id": "test_login", "role": "test", "command": "grep -q login src/login.txt && grep -q logout src/login.txt"},
      {"task_id": "document_login", "role": "docs", "depends_on": ["test_login"],
       "command": "echo \"Log in with login(), out with logout().\" > docs/login.md"}
    ]}
  ]
}'
step feature_login start
echo
echo "\$ coordination-hub agent --id coder --roles code &  (and tester, writer; each a client of the server)"
export COORDINATION_HUB_HEARTBEAT_INTERVAL=2s
"$hub" agent --id coder --roles code --max-tasks 2 --workflow feature_login --idle-delay 100ms &
agents=($!)
"$hub" agent --id tester --roles test --workflow feature_login --idle-delay 100ms &
agents+=($!)
"$hub" agent --id writer --roles docs --workflow feature_login --idle-delay 100ms &
agents+=($!)
# Each agent registers as it starts: show the pool once all three are in it (waiting up to 10 s).
for _ in $(seq 100); do
    "$hub" monitor-pool | grep -q '"total_agents":3' && break
    sleep 0.1
done
step monitor-pool
wait "${agents[@]}"
step feature_login get-status '{"include_metrics": true}'
step monitor-pool
echo
echo "# src/login.txt (two tasks shared it, one at a time):" && cat src/login.txt
echo "# docs/login.md:" && cat docs/login.md

echo
echo "# --- Part 3: a bad change and its rollback ---"
cp src/login.txt login.before
step hotfix create '{
  "name": "Login hotfix",
  "phases": [{"name": "refactor", "tasks": [
    {"task_id": "refactor_login", "role": "code", "files": ["src/login.txt"],
     "command": "echo \"login() { TODO }\" > src/login.txt"}
  ]}]
}'
step hotfix start
step hotfix checkpoint '{"name": "before_refactor", "include_files": true}'
echo
echo "\$ coordination-hub agent --id coder --roles code --workflow hotfix"
"$hub" agent --id coder --roles code --workflow hotfix --idle-delay 100ms
echo "# src/login.txt after the task damaged it:" && cat src/login.txt
step hotfix restore '{"name": "before_refactor", "strategy": "rollback"}'
echo "# src/login.txt after the rollback:" && cat src/login.txt
cmp src/login.txt login.before && echo "# byte for byte as before the task"
step hotfix get-status
step hotfix list-checkpoints

echo
echo "# --- The live event stream, as the watcher received it ---"
# The stream is pushed as events commit; give the last one (the rollback) a moment to arrive.
for _ in $(seq 50); do grep -q 'event: state_rolled_back' events.txt && break; sleep 0.1; done
kill "$watcher" 2>/dev/null || true
grep '^event:' events.txt | sort | uniq -c
grep -m 3 '^data:' events.txt | cut -c1-200
echo
echo "\$ curl -s $url/metrics | grep -E '^hub_(workflows|tasks_completed|events_stored|agents)'"
curl -s "$url/metrics" | grep -E '^hub_(workflows|tasks_completed|events_stored|agents)' || true
echo
echo "\$ kill -TERM <server>   (graceful: finishes in-flight requests, closes the store)"
stop_server
trap - EXIT
echo "# files the hub wrote:" && find .claude/coordination -type f | sort
