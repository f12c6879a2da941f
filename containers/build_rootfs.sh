#!/usr/bin/env bash
# Build the thermocfd container image as a plain Debian 13 (trixie) root filesystem with
# mmdebstrap -- no container engine needed. Same package list as containers/Dockerfile
# (containers/packages.txt); the virtual environment with thermocfd is made by
# containers/run_tests_in_rootfs.sh (or by hand, see containers/README.md).
#
#   sudo containers/build_rootfs.sh [ROOTFS_DIR]        (default /tmp/trixie)
#   sudo containers/build_rootfs.sh /tmp/trixie.tar     (a tarball: `docker import` / `podman import` it)
#
# Environment:
#   MIRROR   Debian mirror (default: deb.debian.org/debian, the one apt uses here)
#   SUITE    default trixie
#   EXTRA    extra packages, comma separated (e.g. "git,xvfb")
# Needs: root, mmdebstrap (apt-get install mmdebstrap), ~2.5 GB free disk, about 3-10 min.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TARGET="${1:-/tmp/trixie}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
SUITE="${SUITE:-trixie}"
EXTRA="${EXTRA:-}"

if [[ $EUID -ne 0 ]]; then
    echo "build_rootfs.sh: run as root (mmdebstrap in root mode, chroot later)" >&2
    exit 1
fi
command -v mmdebstrap >/dev/null || { echo "install mmdebstrap first: apt-get install -y mmdebstrap" >&2; exit 1; }
if [[ -e "$TARGET" && "$TARGET" != *.tar* ]] && [[ -n "$(ls -A "$TARGET" 2>/dev/null)" ]]; then
    echo "build_rootfs.sh: $TARGET exists and is not empty; remove it first" >&2
    exit 1
fi

# Fail early and plainly when the Debian mirror cannot be reached (apt-helper uses apt's
# own configuration, proxies included), rather than deep inside mmdebstrap.
probe_dir="$(mktemp -d)"
if ! /usr/lib/apt/apt-helper download-file "$MIRROR/dists/$SUITE/InRelease" "$probe_dir/InRelease" \
        >"$probe_dir/log" 2>&1; then
    echo "build_rootfs.sh: cannot reach the Debian mirror $MIRROR ($SUITE): $(grep -m1 '^E:' "$probe_dir/log" || tail -n1 "$probe_dir/log")" >&2
    echo "build_rootfs.sh: the Debian 13 root filesystem needs the Debian package registry; set MIRROR=... to another mirror" >&2
    rm -rf "$probe_dir"
    exit 3
fi
rm -rf "$probe_dir"

packages="$(grep -v '^\s*#' "$HERE/packages.txt" | xargs | tr ' ' ',')"
[[ -n "$EXTRA" ]] && packages="$packages,$EXTRA"

echo "== mmdebstrap $SUITE -> $TARGET"
echo "   packages: $packages"
start=$(date +%s)
if ! mmdebstrap --variant=apt --components=main \
        --include="$packages" \
        --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
        "$SUITE" "$TARGET" \
        "deb $MIRROR $SUITE main" \
        "deb $MIRROR $SUITE-updates main" \
        "deb $SECURITY_MIRROR $SUITE-security main"; then
    echo "build_rootfs.sh: mmdebstrap could not build $SUITE into $TARGET (see apt's messages above: an unreachable mirror or a package missing from containers/packages.txt's suite)" >&2
    exit 3
fi
echo "== done in $(( $(date +%s) - start )) s: $TARGET"
