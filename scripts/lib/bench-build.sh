# Shared by the whole-process benchmark scripts: installs hyperfine and jq if
# missing and builds the release binary the same way for all of them, so they
# measure (and share) one binary. Sourced after `root` is set; sets `hub` and
# `build_flags`.
#
# Environment: BENCH_STATIC (1: --static-swift-stdlib), BENCH_NO_PIE (1: -Xlinker -no-pie),
# BENCH_SCRATCH (default .build-bench, apart from .build so it does not wait on, or
# disturb, a debug build), BENCH_BINARY (measure this binary instead of building one).
export PATH="/opt/swift/usr/bin:$PATH"

need=()
command -v hyperfine >/dev/null || need+=(hyperfine)
command -v jq >/dev/null || need+=(jq)
# The static standard library links FoundationNetworking statically (the MCP SDK uses it),
# which needs -lcurl at link time: libcurl's development files.
if [ "${BENCH_STATIC:-1}" = 1 ] && [ -z "${BENCH_BINARY:-}" ] && ! dpkg -s libcurl4-openssl-dev >/dev/null 2>&1; then
    need+=(libcurl4-openssl-dev)
fi
if [ "${#need[@]}" -gt 0 ]; then
    echo "# installing ${need[*]}" >&2
    apt-get update >/dev/null && apt-get install -y "${need[@]}" >/dev/null
fi

build_flags=(-c release --product coordination-hub --scratch-path "${BENCH_SCRATCH:-.build-bench}")
if [ "${BENCH_STATIC:-1}" = 1 ]; then build_flags+=(--static-swift-stdlib); fi
# A position-dependent executable: the loader has no relative relocations to apply
# (about 100,000 in this binary), which saves ~3 ms per process here.
if [ "${BENCH_NO_PIE:-1}" = 1 ]; then build_flags+=(-Xlinker -no-pie); fi
if [ -n "${BENCH_BINARY:-}" ]; then
    hub="$BENCH_BINARY"
    build_flags=("(not built: BENCH_BINARY=$hub)")
else
    echo "# swift build ${build_flags[*]}" >&2
    swift build "${build_flags[@]}" >&2
    hub="$root/${BENCH_SCRATCH:-.build-bench}/release/coordination-hub"
fi
