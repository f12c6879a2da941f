"""Field files for ParaView: a .pvd time series of .vtu (serial) or .pvtu (MPI) files.

Every field is written as continuous P1 data on the mesh's linear cells, in SI
coordinates: each rank writes the cells it owns (no ghost cells) and the vertices they
use into one piece, rank 0 lists the pieces once each in a .pvtu, and the .pvd carries
the time values. Array names carry their unit (``temperature [K]``); the cell array
``region`` holds the Domain's region tag of each cell, and the field data
``region_id``/``region_name`` say which tag is which region. (dolfinx 0.5's own VTK
writer listed every piece once per Function, so ParaView loaded the mesh several times
over.) A curved (higher-order) mesh is written with straight-sided cells through its
vertices.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Mapping, Sequence
from xml.sax.saxutils import quoteattr

import numpy as np

from . import compat
from .mesh import Domain

UNITS: dict[str, str] = {
    "temperature": "K",
    "concentration": "mol/m^3",
    "velocity": "m/s",
    "gas_velocity": "m/s",
    "drift_velocity": "m/s",
    "pressure": "Pa",
    "total_flux": "mol/(m^2 s)",
}
"""The SI unit of each field a pipeline writes, by the Function's name."""

UNIT_PREFIXES: tuple[tuple[str, str], ...] = (
    ("concentration_", "mol/m^3"),         # one internal state's density
    ("transition_flux_", "mol/(m^3 s)"),   # net switching rate between two states
    ("flux_", "mol/(m^2 s)"),              # one internal state's flux
    ("entropy_production", "W/(K m^3)"),   # total, thermal, solute, cycle
)

REGION_ARRAY = "region"
"""Cell data: the region tag of each cell (-1: untagged)."""

# dolfinx's vertex order -> VTK's, per cell type (simplices agree; tensor cells do not)
_VTK_CELLS: dict[str, tuple[int, list[int]]] = {
    "interval": (3, [0, 1]),
    "triangle": (5, [0, 1, 2]),
    "quadrilateral": (9, [0, 1, 3, 2]),
    "tetrahedron": (10, [0, 1, 2, 3]),
    "hexahedron": (12, [0, 1, 3, 2, 4, 5, 7, 6]),
}


def field_unit(name: str) -> str:
    """The unit of a written field, from :data:`UNITS` or :data:`UNIT_PREFIXES`."""
    if name in UNITS:
        return UNITS[name]
    for prefix, unit in UNIT_PREFIXES:
        if name.startswith(prefix):
            return unit
    raise ValueError(f"field {name!r} has no unit: add it to thermocfd.fem.io.UNITS "
                     "or pass units={name: unit} to FieldWriter.write")


def array_name(name: str, unit: str) -> str:
    """The name a field has in the files: ``"temperature [K]"``."""
    return f"{name} [{unit}]"


class FieldWriter:
    """Writes Functions to ``path`` (.pvd) at successive times, P1 on linear cells.

    The step files go to ``path.parent / path.stem /``: ``STEM_000000.vtu`` in a serial
    run, ``STEM_000000.pvtu`` with one ``STEM_000000_pR.vtu`` per rank under MPI. The
    .pvd is rewritten after every step, so a series cut short stays readable.
    """

    def __init__(self, domain: Domain, path: str | Path):
        self.domain = domain
        self.path = Path(path)
        self._steps_dir = self.path.parent / self.path.stem
        comm = domain.comm
        if comm.rank == 0:
            shutil.rmtree(self._steps_dir, ignore_errors=True)  # a previous run's steps
            self._steps_dir.mkdir(parents=True)
        comm.barrier()
        self._times: list[float] = []
        self._spaces: dict[tuple, object] = {}
        self._targets: dict[tuple, object] = {}
        self._grid = self._local_grid()

    # --- geometry ------------------------------------------------------------------
    def _p1_space(self, shape: tuple[int, ...]):
        if shape not in self._spaces:
            self._spaces[shape] = compat.function_space(self.domain.mesh, "Lagrange", 1, shape or None)
        return self._spaces[shape]

    def _p1_function(self, shape: tuple[int, ...]):
        """The interpolation target of this shape (one per shape, reused)."""
        import dolfinx.fem

        if shape not in self._targets:
            self._targets[shape] = dolfinx.fem.Function(self._p1_space(shape))
        return self._targets[shape]

    def _local_grid(self):
        """The owned cells on this rank and the P1 nodes (vertices) they use, in metres."""
        from vtkmodules.util.numpy_support import numpy_to_vtk, numpy_to_vtkIdTypeArray
        from vtkmodules.vtkCommonCore import vtkPoints
        from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkUnstructuredGrid

        mesh = self.domain.mesh
        tdim = mesh.topology.dim
        V = self._p1_space(())
        owned = mesh.topology.index_map(tdim).size_local
        cell_type, order = _VTK_CELLS[compat.cell_type_name(mesh)]
        dofs = compat.cell_dofs(V)[:owned]
        # the vertices' coordinates from the geometry (a curved cell lists its vertices
        # first): bitwise equal on every rank that has them, unlike tabulated dof
        # coordinates, so the pieces' shared points coincide exactly
        vertex_nodes = compat.entity_nodes(mesh, tdim, np.arange(owned, dtype=np.int32))[:, :dofs.shape[1]]
        coordinates = np.zeros((V.dofmap.index_map.size_local + V.dofmap.index_map.num_ghosts, 3))
        coordinates[dofs] = mesh.geometry.x[vertex_nodes]
        dofs = dofs[:, order]
        self._nodes, connectivity = np.unique(dofs, return_inverse=True)
        connectivity = connectivity.reshape(dofs.shape)
        points = np.ascontiguousarray(coordinates[self._nodes] * self.domain.length_scale)
        connectivity = _positively_oriented(connectivity, points, cell_type)

        grid = vtkUnstructuredGrid()
        vtk_points = vtkPoints()
        vtk_points.SetData(numpy_to_vtk(points, deep=True))
        grid.SetPoints(vtk_points)
        cells = vtkCellArray()
        offsets = np.arange(0, connectivity.size + 1, connectivity.shape[1], dtype=np.int64)
        cells.SetData(numpy_to_vtkIdTypeArray(offsets, deep=True),
                      numpy_to_vtkIdTypeArray(connectivity.ravel().astype(np.int64), deep=True))
        grid.SetCells(cell_type, cells)
        region = np.full(owned, -1, dtype=np.int32)
        tags = self.domain.cell_tags
        if tags is not None:
            local = tags.indices < owned
            region[tags.indices[local]] = tags.values[local]
        _add_array(grid.GetCellData(), REGION_ARRAY, region)
        _add_region_names(grid, self.domain.regions)
        return grid

    # --- writing -------------------------------------------------------------------
    def write(self, functions: Sequence, time: float = 0.0, units: Mapping[str, str] | None = None) -> None:
        """Write Functions (any Lagrange or DG space, collapsed sub-spaces included) at one
        time. Each is interpolated into P1 (vectors padded to 3 components) and named
        ``"NAME [UNIT]"`` with its unit from ``units`` or :func:`field_unit`."""
        units = dict(units or {})
        point_data = self._grid.GetPointData()
        while point_data.GetNumberOfArrays():
            point_data.RemoveArray(0)
        names = []
        for function in functions:
            shape = tuple(function.ufl_shape)
            if len(shape) > 1:
                raise ValueError(f"field {function.name!r}: only scalar and vector fields are written")
            p1 = self._p1_function(shape)
            compat.interpolate(p1, function)
            values = p1.x.array.reshape(-1, shape[0] if shape else 1)[self._nodes]
            if shape and shape[0] < 3:
                values = np.hstack([values, np.zeros((values.shape[0], 3 - shape[0]))])
            name = array_name(function.name, units.get(function.name) or field_unit(function.name))
            _add_array(point_data, name, values if shape else values[:, 0])
            names.append((name, values.shape[1] if shape else 1))
        step = len(self._times)
        self._times.append(float(time))
        comm = self.domain.comm
        stem = self.path.stem
        if comm.size == 1:
            _write_vtu(self._grid, self._steps_dir / f"{stem}_{step:06d}.vtu")
        else:
            _write_vtu(self._grid, self._steps_dir / f"{stem}_{step:06d}_p{comm.rank}.vtu")
            comm.barrier()
            if comm.rank == 0:
                _write_pvtu(self._steps_dir / f"{stem}_{step:06d}.pvtu", names,
                            [f"{stem}_{step:06d}_p{rank}.vtu" for rank in range(comm.size)])
        if comm.rank == 0:
            suffix = ".vtu" if comm.size == 1 else ".pvtu"
            write_pvd(self.path, [(t, f"{stem}/{stem}_{i:06d}{suffix}") for i, t in enumerate(self._times)])
        comm.barrier()

    def close(self) -> None:
        """Nothing is held open: every step and the .pvd are complete when written."""

    def __enter__(self) -> "FieldWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_pvd(path: Path, entries: Sequence[tuple[float, str]]) -> None:
    """A ParaView collection: ``(time, file relative to the .pvd)`` per step."""
    from ..output import write_atomic

    lines = ['<?xml version="1.0"?>',
             '<VTKFile type="Collection" version="1.0" byte_order="LittleEndian">', "  <Collection>"]
    lines += [f'    <DataSet timestep="{time!r}" part="0" file={quoteattr(file)}/>' for time, file in entries]
    lines += ["  </Collection>", "</VTKFile>", ""]
    write_atomic(path, "\n".join(lines))


def _positively_oriented(connectivity: np.ndarray, points: np.ndarray, cell_type: int) -> np.ndarray:
    """Simplices with a positive Jacobian (dolfinx orders their vertices by global index,
    which leaves about half inside out; VTK's cell measures are signed for some types)."""
    if cell_type not in (5, 10):
        return connectivity
    x = points[connectivity]
    edges = x[:, 1:] - x[:, :1]
    if cell_type == 5:
        sign = edges[:, 0, 0] * edges[:, 1, 1] - edges[:, 0, 1] * edges[:, 1, 0]
    else:
        sign = np.einsum("ij,ij->i", np.cross(edges[:, 0], edges[:, 1]), edges[:, 2])
    flipped = connectivity.copy()
    flip = sign < 0
    flipped[flip, 1], flipped[flip, 2] = connectivity[flip, 2], connectivity[flip, 1]
    return flipped


def _add_array(data, name: str, values: np.ndarray) -> None:
    from vtkmodules.util.numpy_support import numpy_to_vtk

    array = numpy_to_vtk(np.ascontiguousarray(values), deep=True)
    array.SetName(name)
    data.AddArray(array)


def _add_region_names(grid, regions: Mapping[str, int]) -> None:
    from vtkmodules.vtkCommonCore import vtkStringArray

    ordered = sorted(regions.items(), key=lambda item: item[1])
    _add_array(grid.GetFieldData(), "region_id", np.array([tag for _, tag in ordered], dtype=np.int32))
    names = vtkStringArray()
    names.SetName("region_name")
    for name, _ in ordered:
        names.InsertNextValue(name)
    grid.GetFieldData().AddArray(names)


def _write_vtu(grid, path: Path) -> None:
    from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridWriter

    writer = vtkXMLUnstructuredGridWriter()
    writer.SetFileName(str(path))
    writer.SetInputData(grid)
    writer.SetDataModeToAppended()
    writer.EncodeAppendedDataOff()
    writer.SetCompressorTypeToZLib()
    if not writer.Write():
        raise OSError(f"could not write {path}")


def _write_pvtu(path: Path, point_arrays: Sequence[tuple[str, int]], pieces: Sequence[str]) -> None:
    """The parallel file listing each rank's piece once, with the arrays the pieces hold."""
    from ..output import write_atomic

    lines = ['<?xml version="1.0"?>',
             '<VTKFile type="PUnstructuredGrid" version="1.0" byte_order="LittleEndian" header_type="UInt64">',
             '  <PUnstructuredGrid GhostLevel="0">', "    <PPointData>"]
    lines += [f'      <PDataArray type="Float64" Name={quoteattr(name)} NumberOfComponents="{components}"/>'
              for name, components in point_arrays]
    lines += ["    </PPointData>", "    <PCellData>",
              f'      <PDataArray type="Int32" Name="{REGION_ARRAY}" NumberOfComponents="1"/>',
              "    </PCellData>", "    <PPoints>",
              '      <PDataArray type="Float64" NumberOfComponents="3"/>', "    </PPoints>"]
    lines += [f"    <Piece Source={quoteattr(piece)}/>" for piece in pieces]
    lines += ["  </PUnstructuredGrid>", "</VTKFile>", ""]
    write_atomic(path, "\n".join(lines))
