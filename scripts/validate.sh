#!/usr/bin/env bash
# Format check: fails when any Swift file differs from what `swift format` (with the
# committed .swift-format) would make of it. Fix with: swift format -i -r Sources Tests Package.swift
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
while IFS= read -r -d '' file; do
    if ! diff -q <(swift format format --configuration .swift-format "$file") "$file" >/dev/null; then
        echo "not formatted: $file"
        status=1
    fi
done < <(find Sources Tests Package.swift -name '*.swift' -print0 2>/dev/null)
if [ "$status" -ne 0 ]; then
    echo "Run: swift format -i -r --configuration .swift-format Sources Tests Package.swift"
    exit 1
fi
echo "format check: all Swift files are formatted"
