#!/usr/bin/env bash
# The action's first step: installs the C libraries Shiplog links against when they are
# missing (Debian and Ubuntu runners), then tells the next steps, through $GITHUB_OUTPUT, where
# the build goes (scratch), whether an earlier step of this job already built these sources
# (built), and the cache key of the build (key, and key-prefix to start from an older build).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"

need=()
for package in libsqlite3-dev libcurl4-openssl-dev libssl-dev libpq-dev; do
    dpkg -s "$package" >/dev/null 2>&1 || need+=("$package")
done
if ((${#need[@]})); then
    echo "Installing ${need[*]}"
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
if ! command -v swift >/dev/null 2>&1; then
    echo "::error title=Shiplog needs Swift::no swift on PATH: use a runner image with Swift 6 (GitHub's Ubuntu images have it) or install it before this action"
    exit 1
fi

# The build depends on the sources and the toolchain; nothing else goes into the key.
sources=$(cd "$root" && find Package.swift Sources migrations -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
toolchain=$(swift --version 2>/dev/null | sha256sum | cut -c1-12)
prefix="shiplog-${RUNNER_OS:-Linux}-${RUNNER_ARCH:-X64}-swift-${toolchain}-"
scratch="${RUNNER_TEMP:-/tmp}/shiplog-build"
built=false
if [ -x "$scratch/release/shiplog" ] && [ "$(cat "$scratch/shiplog-sources" 2>/dev/null)" = "$sources" ]; then
    built=true
fi
# Later steps of the job can run `shiplog` themselves.
if [ -n "${GITHUB_PATH:-}" ]; then echo "$scratch/release" >>"$GITHUB_PATH"; fi
{
    echo "scratch=$scratch"
    echo "sources=$sources"
    echo "key=$prefix$sources"
    echo "key-prefix=$prefix"
    echo "built=$built"
} >>"${GITHUB_OUTPUT:-/dev/stdout}"
