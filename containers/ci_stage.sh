#!/usr/bin/env bash
# CI's container stage: prove the Debian 13 / dolfinx 0.9 recipe on every landing.
# Builds the root filesystem of containers/packages.txt with mmdebstrap (or reuses the one
# cached under $ROOTFS_CACHE, keyed by a hash of packages.txt and build_rootfs.sh), then
# runs the test suite inside it with chroot (containers/run_tests_in_rootfs.sh).
#
#   sudo containers/ci_stage.sh                      # build or reuse, then the whole suite
#   sudo containers/ci_stage.sh tests/test_heat.py   # build or reuse, then these tests
#
# Environment:
#   ROOTFS_CACHE      where built root filesystems are kept (default /var/cache/thermocfd/rootfs)
#   PYTEST_WORKERS    pytest-xdist workers inside the chroot (default 2; 0 = no xdist)
#   SUITE_TIMEOUT     seconds the suite may take before it is stopped and the stage fails
#                     (default 3000: CI's own limit is 90 minutes in all)
#   MIRROR, SECURITY_MIRROR   passed to build_rootfs.sh
# Prints the root filesystem's build time and the suite's pass/fail counts; exits non-zero
# if the build fails (e.g. the Debian mirror cannot be reached) or any test fails.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOTFS_CACHE="${ROOTFS_CACHE:-/var/cache/thermocfd/rootfs}"
PYTEST_WORKERS="${PYTEST_WORKERS:-2}"
SUITE_TIMEOUT="${SUITE_TIMEOUT:-3000}"
TESTS=("$@")
[[ ${#TESTS[@]} -gt 0 ]] || TESTS=(tests)

[[ $EUID -eq 0 ]] || { echo "ci_stage.sh: run as root (mmdebstrap, chroot)" >&2; exit 1; }

key="$(cat "$HERE/packages.txt" "$HERE/build_rootfs.sh" | sha256sum | cut -c1-16)"
rootfs="$ROOTFS_CACHE/trixie-$key"
stamp="$rootfs/.thermocfd-rootfs-built"

echo "== container stage: Debian 13 root filesystem $rootfs"
if [[ -f "$stamp" ]]; then
    echo "== root filesystem: cached (built $(cat "$stamp"))"
else
    if ! command -v mmdebstrap >/dev/null; then
        echo "== installing mmdebstrap"
        if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null; }; then
            echo "ci_stage.sh: FAILED: cannot install mmdebstrap from the Debian registry (apt-get install mmdebstrap); the container stage needs it" >&2
            exit 3
        fi
    fi
    mkdir -p "$ROOTFS_CACHE"
    # older keys are stale recipes, a partial one a killed build: drop them (one cached
    # root filesystem, ~3.3 GB), never deleting through a mount a killed run left (/dev)
    partial="$rootfs.partial"
    for stale in "$ROOTFS_CACHE"/trixie-*; do
        [[ -e "$stale" ]] || continue   # incl. this key's, were it there without its stamp
        for mnt in work/thermocfd dev sys proc; do
            umount -R "$stale/$mnt" 2>/dev/null || true
        done
        rm -rf --one-file-system "$stale"
    done
    start=$(date +%s)
    if ! "$HERE/build_rootfs.sh" "$partial"; then
        rm -rf --one-file-system "$partial"
        echo "ci_stage.sh: FAILED: the Debian 13 root filesystem could not be built (see above); the container stage cannot run without the Debian package registry" >&2
        exit 3
    fi
    seconds=$(( $(date +%s) - start ))
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) in $seconds s" >"$partial/.thermocfd-rootfs-built"
    mv "$partial" "$rootfs"
    echo "== root filesystem build time: $seconds s"
fi

xdist=()
[[ "$PYTEST_WORKERS" -gt 0 ]] && xdist=(-n "$PYTEST_WORKERS")
log="$(mktemp)"
start=$(date +%s)
set +e
ROOTFS="$rootfs" timeout --kill-after=60 "$SUITE_TIMEOUT" "$HERE/run_tests_in_rootfs.sh" -- \
    python -m pytest -q -ra -p no:cacheprovider "${xdist[@]}" "${TESTS[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
seconds=$(( $(date +%s) - start ))
if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "ci_stage.sh: FAILED: the suite inside the root filesystem ran past SUITE_TIMEOUT=$SUITE_TIMEOUT s and was stopped" >&2
fi
counts="$(grep -E '(passed|failed|errors?|skipped|no tests ran).* in [0-9.]+s' "$log" | tail -n1 | sed -E 's/^=+ //; s/ =+$//')"
rm -f "$log"
echo "== container stage (dolfinx 0.9, Debian 13): ${counts:-no pytest summary} -- $seconds s, exit $status"
exit "$status"
