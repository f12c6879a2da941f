"""Field files for ParaView (VTK .pvd/.vtu, one file per time step) in SI coordinates."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Sequence

import dolfinx.io

from .mesh import Domain


@contextlib.contextmanager
def physical_geometry(domain: Domain):
    """Temporarily give the mesh its SI coordinates (the solvers use scaled ones)."""
    x = domain.mesh.geometry.x
    x *= domain.length_scale
    try:
        yield
    finally:
        x /= domain.length_scale


class FieldWriter:
    """Writes Functions of one element type to ``path`` (.pvd) at successive times."""

    def __init__(self, domain: Domain, path: str | Path):
        self.domain = domain
        self.path = Path(path)
        if domain.comm.rank == 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        domain.comm.barrier()
        self._file = dolfinx.io.VTKFile(domain.comm, str(self.path), "w")

    def write(self, functions: Sequence, time: float = 0.0) -> None:
        with physical_geometry(self.domain):
            self._file.write_function(list(functions), time)

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "FieldWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
