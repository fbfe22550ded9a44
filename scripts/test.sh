#!/usr/bin/env bash
# The test suite: the Swift tests (swift test), then the checks by tools nobody here
# wrote (scripts/test-external.sh: the official MCP Python SDK and schemathesis, which
# it installs from PyPI into .venv-tools/ on first use).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="/opt/swift/usr/bin:$PATH"
swift test "$@"
swift build --product coordination-hub
swift build --product coordination-hub-mcp
bash scripts/test-external.sh "$root/.build/debug/coordination-hub"
