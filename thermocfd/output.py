"""summary.json and other run outputs, written atomically by rank 0."""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

import numpy as np
from mpi4py import MPI


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Path):
        return str(value)
    return value


@contextlib.contextmanager
def atomic_file(path: Path, binary: bool = False) -> Iterator[IO]:
    """A file that appears at ``path`` complete or not at all: written under a temporary
    name in the same directory, fsynced, renamed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would hide results from collaborators
    try:
        with os.fdopen(fd, "wb" if binary else "w") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_atomic(path: Path, text: str) -> None:
    """Write text so that a crash never leaves half a file."""
    with atomic_file(path) as handle:
        handle.write(text)


def write_json(path: Path, data: dict, comm: MPI.Comm = MPI.COMM_WORLD) -> None:
    if comm.rank == 0:
        write_atomic(path, json.dumps(_jsonable(data), indent=2, sort_keys=False) + "\n")
    comm.barrier()


def software_versions() -> dict[str, str]:
    from . import __version__

    versions = {"thermocfd": __version__, "python": platform.python_version(), "numpy": np.__version__}
    try:
        from .fem import compat

        versions.update(compat.versions())
    except ImportError:  # pragma: no cover - FEniCSx missing
        pass
    for name in ("gmsh", "pyvista", "numba", "cupy", "pint"):
        try:
            module = __import__(name)
            versions[name] = getattr(module, "__version__", "unknown")
        except Exception:  # noqa: BLE001 - optional package absent or broken
            continue
    return versions
