"""Field files for ParaView (VTK .pvd/.vtu, one file per time step) in SI coordinates."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Sequence

import dolfinx.fem
import dolfinx.io

from . import compat
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
        self._spaces: dict = {}
        self._outputs: dict = {}

    def write(self, functions: Sequence, time: float = 0.0) -> None:
        """Write Functions (any Lagrange spaces, collapsed sub-spaces included) at one time.

        dolfinx's VTK writer lays every array out by the first Function's dof map, so
        each Function is first interpolated onto one scalar or vector space of the
        highest degree present (kept between calls)."""
        degree = max(compat.element_degree(f.function_space) for f in functions)
        out = []
        for f in functions:
            target = self._output_function(f.name, f.ufl_shape, degree)
            compat.interpolate(target, f)
            out.append(target)
        with physical_geometry(self.domain):
            self._file.write_function(out, time)

    def _output_function(self, name: str, shape: tuple, degree: int):
        key = (name, shape, degree)
        if key not in self._outputs:
            space_key = (shape, degree)
            if space_key not in self._spaces:
                self._spaces[space_key] = compat.function_space(self.domain.mesh, "Lagrange", degree,
                                                                shape if shape else None)
            self._outputs[key] = dolfinx.fem.Function(self._spaces[space_key], name=name)
        return self._outputs[key]

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "FieldWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
