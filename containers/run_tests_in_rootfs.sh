#!/usr/bin/env bash
# Run thermocfd's tests (or any command) inside the Debian 13 root filesystem made by
# containers/build_rootfs.sh, i.e. against python3-dolfinx 0.9 -- without a container
# engine. Mounts /proc, /sys and /dev, copies the repository (tracked + untracked,
# non-ignored files) to $ROOTFS/work/thermocfd, makes the virtual environment
# /opt/venv (--system-site-packages, so Debian's dolfinx/petsc4py/numba/pyvista are used),
# pip-installs thermocfd into it (editable, --no-deps) and runs the command.
#
#   sudo containers/run_tests_in_rootfs.sh                       # the FEM/CLI test subset
#   sudo containers/run_tests_in_rootfs.sh -- python -m pytest -q tests/test_heat.py
#   sudo containers/run_tests_in_rootfs.sh -- thermocfd run cases/soret_cell.toml --out /tmp/out
#   sudo containers/run_tests_in_rootfs.sh -- mpirun -n 2 thermocfd run cases/soret_cell.toml --out /tmp/out
#   sudo ROOTFS=/tmp/trixie BIND=1 containers/run_tests_in_rootfs.sh   # bind-mount the repo
#
# Environment:
#   ROOTFS   the root filesystem (default /tmp/trixie)
#   BIND=1   bind-mount the repository instead of copying it (edits show up live; pip
#            then writes thermocfd.egg-info and __pycache__ into your checkout)
#   NET=1    (default) copy /etc/resolv.conf and the host CA bundle in, so pip can reach
#            PyPI from the chroot (NET=0: leave them alone)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
ROOTFS="${ROOTFS:-/tmp/trixie}"
BIND="${BIND:-0}"
NET="${NET:-1}"
DEST=/work/thermocfd

DEFAULT_TESTS=(tests/test_physics.py tests/test_case.py tests/test_heat.py tests/test_transport.py
               tests/test_soret_cell.py tests/test_cli.py)
if [[ "${1:-}" == "--" ]]; then
    shift
    CMD=("$@")
else
    CMD=(python -m pytest -q -p no:logging -p no:cacheprovider "${DEFAULT_TESTS[@]}" "$@")
fi

[[ $EUID -eq 0 ]] || { echo "run_tests_in_rootfs.sh: run as root (chroot, mount)" >&2; exit 1; }
[[ -x "$ROOTFS/usr/bin/python3" ]] || { echo "no root filesystem at $ROOTFS; run containers/build_rootfs.sh first" >&2; exit 1; }

mounted=()
cleanup() {
    local i
    for (( i=${#mounted[@]}-1; i>=0; i-- )); do
        umount -R "${mounted[$i]}" 2>/dev/null || umount -l "${mounted[$i]}" 2>/dev/null || true
    done
}
trap cleanup EXIT

mount_once() {  # mount_once TARGET mount-args...
    local target="$1"; shift
    mkdir -p "$target"
    if ! mountpoint -q "$target"; then
        mount "$@" "$target"
        mounted+=("$target")
    fi
}

mount_once "$ROOTFS/proc" -t proc proc
mount_once "$ROOTFS/sys" -t sysfs sysfs
mount_once "$ROOTFS/dev" --rbind /dev
mount --make-rslave "$ROOTFS/dev" 2>/dev/null || true
PIP_CERT_ENV=()
if [[ "$NET" == 1 ]]; then
    cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf" 2>/dev/null || true
    # a TLS-intercepting proxy's CA lives in the host's bundle, not in the chroot's
    if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
        cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/host-ca-certificates.crt"
        PIP_CERT_ENV=(PIP_CERT=/etc/ssl/host-ca-certificates.crt)
    fi
fi

if [[ "$BIND" == 1 ]]; then
    mount_once "$ROOTFS$DEST" --bind "$REPO"
else
    echo "== copying $REPO -> $ROOTFS$DEST"
    rm -rf "$ROOTFS$DEST"
    mkdir -p "$ROOTFS$DEST"
    if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        # tracked and untracked files that .gitignore does not exclude (no .venv, no results)
        (cd "$REPO" && git ls-files -z --cached --others --exclude-standard \
            | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
            | tar --null -T - -cf -) | tar -C "$ROOTFS$DEST" -xf -
    else
        tar -C "$REPO" --exclude=.venv --exclude=.git --exclude=results --exclude='__pycache__' \
            --exclude='*.egg-info' -cf - . | tar -C "$ROOTFS$DEST" -xf -
    fi
fi

# Everything inside runs as root: OpenMPI needs to be told that is fine. The image has no
# ParaView and no Chromium (cluster jobs need neither): their tests run in the native stage.
chroot "$ROOTFS" /usr/bin/env -i \
    THERMOCFD_NO_PARAVIEW=1 THERMOCFD_NO_BROWSER=1 \
    HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
    PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    OMPI_MCA_rmaps_base_oversubscribe=1 PRTE_MCA_rmaps_default_mapping_policy=:oversubscribe \
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MPLBACKEND=Agg PYVISTA_OFF_SCREEN=true \
    PIP_DISABLE_PIP_VERSION_CHECK=1 "${PIP_CERT_ENV[@]}" \
    /bin/bash -euo pipefail -c '
cd '"$DEST"'
if [[ ! -x /opt/venv/bin/python ]]; then
    echo "== creating /opt/venv (--system-site-packages)"
    /usr/bin/python3 -m venv --system-site-packages /opt/venv
fi
# Dependencies come from Debian (NumPy 2 build of dolfinx): never let pip replace them.
/opt/venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
# what Debian does not package comes from PyPI, NumPy held at Debian'"'"'s (no download once installed)
/opt/venv/bin/python -c "import numpy; print(\"numpy==\" + numpy.__version__)" >/opt/venv/numpy-pin.txt
/opt/venv/bin/python -m pip install -q -c /opt/venv/numpy-pin.txt -r containers/pip-packages.txt
/opt/venv/bin/python -c "import thermocfd, dolfinx; print(\"== thermocfd in\", thermocfd.__file__, \"| dolfinx\", dolfinx.__version__)"
# pictures need an X display (Debian VTK): with-display runs the command under xvfb-run
exec '"$DEST"'/containers/with-display "$@"
' bash "${CMD[@]}"
