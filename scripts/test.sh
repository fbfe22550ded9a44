#!/usr/bin/env bash
# The test suite: the Swift tests (swift test), then the checks by tools nobody here
# wrote (scripts/test-external.sh: the official MCP Python SDK and schemathesis, which
# it installs from PyPI into .venv-tools/ on first use).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="/opt/swift/usr/bin:$PATH"
# Swift Testing starts every test at once unless told otherwise. On a 2-core machine the
# ~850 tests then queue behind each other on two threads, and a test that awaits (a
# delivery round, a waiting claim) can sit in that queue past its own time limit while
# nothing is wrong with it: session 23's CI failed that way, 23 time limits at ~180 s.
# Eight at a time keeps every test's wait its own, and the run is faster too.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-8}"
swift test "$@"
swift build --product coordination-hub
swift build --product coordination-hub-mcp
bash scripts/test-external.sh "$root/.build/debug/coordination-hub"
