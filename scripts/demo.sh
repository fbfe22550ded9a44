#!/usr/bin/env bash
# The main job: build coordination-hub and walk a workflow through the seed's
# lifecycle on the embedded SQLite store, in a fresh directory. Prints each
# command and the hub's JSON answer.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="/opt/swift/usr/bin:$PATH"
swift build -c release --product coordination-hub >&2
hub="$root/.build/release/coordination-hub"
work="$(mktemp -d "${TMPDIR:-/tmp}/coordination-hub-demo.XXXXXX")"
cd "$work"
echo "# working in $work (state in $work/.claude/coordination)" >&2

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
step workflow_123 start
step workflow_123 resume
step workflow_123 complete
step workflow_123 get-status '{"include_metrics": true, "agent_details": true, "recent_events": 5}'
step workflow_123 save-state '{"include_checkpoints": true, "compress": true, "backup_location": "backups/"}'
bundle="backups/$(basename "$(ls .claude/coordination/backups/*.hubbundle.gz | head -1)")"
step workflow_123 load-state "{\"bundle\": \"$bundle\", \"verify_integrity\": true}"
step workflow_123 resume
step workflow_123 complete '{"force": true, "archive_state": true, "generate_report": true, "notify_stakeholders": ["team", "pm"]}'
step workflow_123 cleanup '{"archive_state": true, "remove_temp_files": true}'
step workflow_123 pause
step list-workflows '{"include_archived": true}'
step workflow_123 get-events '{"event_types": ["phase_completed", "completed", "stakeholder_notified"]}'
echo
echo "# files the hub wrote:" && find .claude/coordination -type f | sort
