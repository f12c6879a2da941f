"""Meshes with named regions and boundaries: gmsh builders, .msh and meshio import.

Coordinates inside the solvers are scaled, ``x* = x / length_scale``, so that a cell
of 100 um is a unit-sized domain and the matrices are well conditioned. A
:class:`Domain` carries the scale and the physical-group names, so solvers ask for
``domain.ds("hot")`` instead of remembering integer tags.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import ufl
from mpi4py import MPI

from ..errors import ThermocfdError
from . import compat


@dataclass
class Domain:
    """A dolfinx mesh in scaled coordinates with its region and boundary tags."""

    mesh: object
    cell_tags: object
    facet_tags: object
    regions: dict[str, int]
    boundaries: dict[str, int]
    length_scale: float  # metres per mesh coordinate unit
    metadata: dict = field(default_factory=dict)

    @property
    def comm(self) -> MPI.Comm:
        return self.mesh.comm

    @property
    def dim(self) -> int:
        return self.mesh.topology.dim

    def boundary_tag(self, name: str) -> int:
        try:
            return self.boundaries[name]
        except KeyError:
            raise ThermocfdError(f"mesh has no boundary named {name!r} (it has: "
                                 f"{', '.join(sorted(self.boundaries)) or 'none'})") from None

    def region_tag(self, name: str) -> int:
        try:
            return self.regions[name]
        except KeyError:
            raise ThermocfdError(f"mesh has no region named {name!r} (it has: "
                                 f"{', '.join(sorted(self.regions)) or 'none'})") from None

    def ds(self, name: str | None = None, metadata: dict | None = None):
        measure = ufl.Measure("ds", domain=self.mesh, subdomain_data=self.facet_tags,
                              metadata=metadata or {})
        return measure if name is None else measure(self.boundary_tag(name))

    def dx(self, name: str | None = None, metadata: dict | None = None):
        measure = ufl.Measure("dx", domain=self.mesh, subdomain_data=self.cell_tags,
                              metadata=metadata or {})
        return measure if name is None else measure(self.region_tag(name))

    def physical_coordinates(self):
        """The UFL spatial coordinate in metres."""
        return self.length_scale * ufl.SpatialCoordinate(self.mesh)

    def num_cells(self) -> int:
        tdim = self.mesh.topology.dim
        return self.comm.allreduce(self.mesh.topology.index_map(tdim).size_local, op=MPI.SUM)


def mesh_bounds(mesh) -> tuple[np.ndarray, np.ndarray]:
    """Global (lower, upper) corners of a mesh's geometry, 3 components (mesh units)."""
    return global_box(mesh.comm, mesh.geometry.x)


def global_box(comm: MPI.Comm, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) corners over all ranks of the points x (n, 3)."""
    local_lower = x.min(axis=0) if x.size else np.full(3, np.inf)
    local_upper = x.max(axis=0) if x.size else np.full(3, -np.inf)
    lower, upper = np.empty(3), np.empty(3)
    comm.Allreduce(np.ascontiguousarray(local_lower, dtype=np.float64), lower, op=MPI.MIN)
    comm.Allreduce(np.ascontiguousarray(local_upper, dtype=np.float64), upper, op=MPI.MAX)
    return lower, upper


def boundary_box(domain: "Domain", name: str) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) corners (m) over all ranks of a named boundary's facets."""
    facets = domain.facet_tags.find(domain.boundary_tag(name))
    x = domain.mesh.geometry.x[compat.entity_nodes(domain.mesh, domain.dim - 1, facets).ravel()] \
        * domain.length_scale if facets.size else np.zeros((0, 3))
    return global_box(domain.comm, x)


def plane_normal_axis(domain: "Domain", name: str) -> tuple[int | None, np.ndarray, np.ndarray]:
    """(the coordinate axis a named boundary is a plane normal to, or None if it is not
    such a plane; its lower and upper corners in m)."""
    lower, upper = boundary_box(domain, name)
    extent = (upper - lower)[: domain.dim]
    axis = int(np.argmin(extent))
    return (axis if extent[axis] <= 1e-9 * max(extent.max(), 1e-300) else None), lower, upper


_GMSH_READY = False


def _gmsh():
    """The gmsh module, initialised once per process (gmsh 4.8 has no isInitialized)."""
    global _GMSH_READY
    import gmsh

    if _GMSH_READY:
        try:
            gmsh.option.getNumber("General.Verbosity")
        except Exception:  # the user's script called gmsh.finalize(): start a new session
            _GMSH_READY = False
    if not _GMSH_READY:
        gmsh.initialize()
        _GMSH_READY = True
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.option.setNumber("General.Verbosity", 1)
    return gmsh


def generate_mesh(gmsh, dim: int, options: dict[str, float] | None = None) -> None:
    """gmsh's ``generate(dim)`` with ``options`` set for it and restored afterwards (gmsh's
    options are global to the process: a user's own gmsh script keeps its settings)."""
    options = options or {}
    saved = {name: gmsh.option.getNumber(name) for name in options}
    for name, value in options.items():
        gmsh.option.setNumber(name, value)
    try:
        gmsh.model.mesh.generate(dim)
    finally:
        for name, value in saved.items():
            gmsh.option.setNumber(name, value)


# mesh sizes from a background field only (not from the boundary, points or curvature)
FIELD_SIZES_ONLY = {"Mesh.MeshSizeExtendFromBoundary": 0, "Mesh.MeshSizeFromPoints": 0, "Mesh.MeshSizeFromCurvature": 0}


def _physical_names(gmsh, dim: int) -> dict[str, int]:
    names = {}
    for group_dim, tag in gmsh.model.getPhysicalGroups(dim):
        name = gmsh.model.getPhysicalName(group_dim, tag) or f"{'region' if dim == group_dim else 'boundary'}_{tag}"
        names[name] = tag
    return names


def _to_domain(gmsh, comm: MPI.Comm, gdim: int, length_scale: float, metadata: dict,
               coordinate_factor: float = 1.0) -> Domain:
    """Distribute the gmsh model held on rank 0 to all ranks as a :class:`Domain`."""
    names = None
    if comm.rank == 0:
        names = (_physical_names(gmsh, gdim), _physical_names(gmsh, gdim - 1))
    regions, boundaries = comm.bcast(names, root=0)
    mesh, cell_tags, facet_tags = compat.model_to_mesh(gmsh.model, comm, 0, gdim)
    mesh.topology.create_connectivity(gdim - 1, gdim)
    if coordinate_factor != 1.0:
        mesh.geometry.x[:] *= coordinate_factor
    if comm.rank == 0:
        gmsh.model.remove()
    return Domain(mesh, cell_tags, facet_tags, regions, boundaries, length_scale, metadata)


def structured(gmsh, gdim: int, cells_along_axis: Callable[[int], int]) -> None:
    """Make the gmsh model's box-shaped entities transfinite (a structured mesh): each
    curve gets ``cells_along_axis(axis)`` cells, axis being the one it runs along."""
    for _, curve in gmsh.model.getEntities(1):
        box = gmsh.model.getBoundingBox(1, curve)
        axis = int(np.argmax(np.array(box[3:]) - np.array(box[:3])))
        gmsh.model.mesh.setTransfiniteCurve(curve, cells_along_axis(axis) + 1)
    for _, surface in gmsh.model.getEntities(2):
        gmsh.model.mesh.setTransfiniteSurface(surface)
    if gdim == 3:
        for _, volume in gmsh.model.getEntities(3):
            gmsh.model.mesh.setTransfiniteVolume(volume)


def cells_along(resolution: float, base: int) -> int:
    """Cell count along an edge for the ``mesh.resolution`` knob."""
    return max(2, int(math.ceil(base * resolution)))


def two_wall_cell(length: float, height: float, depth: float | None, resolution: float,
                  comm: MPI.Comm = MPI.COMM_WORLD, base_cells: int = 24) -> Domain:
    """A rectangle (depth None) or box between a hot wall (x = 0) and a cold wall (x = L).

    Physical groups: region ``fluid``; boundaries ``hot``, ``cold`` and ``walls`` (the
    rest). The mesh is structured (transfinite) with ``base_cells * resolution`` cells
    across the cell, so profiles along x are resolved uniformly. Coordinates are scaled
    by ``length`` (the domain is [0, 1] x [0, height/length] ...).
    """
    gdim = 2 if depth is None else 3
    gmsh = _gmsh()
    if comm.rank == 0:
        gmsh.model.add("two_wall_cell")
        occ = gmsh.model.occ
        h_rel, d_rel = height / length, (depth or 0.0) / length
        nx = cells_along(resolution, base_cells)
        ny = max(2, int(math.ceil(nx * h_rel)))
        if gdim == 2:
            occ.addRectangle(0, 0, 0, 1.0, h_rel)
        else:
            occ.addBox(0, 0, 0, 1.0, h_rel, d_rel)
        occ.synchronize()
        hot, cold, walls = [], [], []
        for _, tag in gmsh.model.getEntities(gdim - 1):
            x = gmsh.model.occ.getCenterOfMass(gdim - 1, tag)[0]
            (hot if abs(x) < 1e-9 else cold if abs(x - 1.0) < 1e-9 else walls).append(tag)
        gmsh.model.addPhysicalGroup(gdim, [e[1] for e in gmsh.model.getEntities(gdim)], 1)
        gmsh.model.setPhysicalName(gdim, 1, "fluid")
        for tag, (name, entities) in enumerate((("hot", hot), ("cold", cold), ("walls", walls)), start=1):
            gmsh.model.addPhysicalGroup(gdim - 1, entities, tag)
            gmsh.model.setPhysicalName(gdim - 1, tag, name)
        counts = (nx, ny, max(2, int(math.ceil(nx * d_rel))))
        structured(gmsh, gdim, lambda axis: counts[axis])
        gmsh.model.mesh.generate(gdim)
    metadata = {"builder": "two_wall_cell", "length": length, "height": height, "depth": depth}
    return _to_domain(gmsh, comm, gdim, length, metadata)


def read_msh(path: str | Path, unit: float = 1.0, comm: MPI.Comm = MPI.COMM_WORLD,
             length_scale: float | None = None) -> Domain:
    """Import a gmsh .msh file with physical groups (names become region/boundary names).

    ``unit`` is the length of one file coordinate unit in metres. The scaled coordinates
    use ``length_scale`` (default: the largest extent of the mesh).
    """
    gmsh = _gmsh()
    extent = None
    gdim = None
    if comm.rank == 0:
        gmsh.model.add("imported")
        gmsh.merge(str(path))
        gdim = gmsh.model.getDimension()
        xmin, ymin, zmin, xmax, ymax, zmax = gmsh.model.getBoundingBox(-1, -1)
        extent = max(xmax - xmin, ymax - ymin, zmax - zmin)
        if not gmsh.model.getPhysicalGroups(gdim):
            gmsh.model.remove()
            gdim = -1
    gdim, extent = comm.bcast((gdim, extent), root=0)
    if gdim == -1:
        raise ThermocfdError(f"{path}: the mesh has no physical groups of cells; tag the "
                             "regions and boundaries (gmsh 'Physical Surface/Volume/Curve')")
    scale = length_scale if length_scale is not None else extent * unit
    return _to_domain(gmsh, comm, gdim, scale, {"file": str(path)}, coordinate_factor=unit / scale)


# cell-data arrays under which meshio's readers return integer tags, in order of preference
MESHIO_TAG_DATA = ("gmsh:physical", "medit:ref", "cell_tags", "CellEntityIds", "tags", "markers")


def read_mesh(path: str | Path, unit: float = 1.0, comm: MPI.Comm = MPI.COMM_WORLD,
              length_scale: float | None = None, names: dict[str, int] | None = None) -> Domain:
    """Import a user mesh: gmsh ``.msh`` directly, any other format meshio reads (VTU,
    XDMF, Medit, MED, Abaqus...) through meshio, with its integer cell tags.

    Cells and facets carry integer tags (a cell-data array named one of
    :data:`MESHIO_TAG_DATA`); names come from the file (gmsh physical names, meshio
    field data) or ``names`` (name -> tag, e.g. ``{"fluid": 1, "hot": 2}``); a tag left
    unnamed is called ``region_<tag>`` / ``boundary_<tag>``.
    """
    path = Path(path)
    if path.suffix == ".msh":
        domain = read_msh(path, unit, comm, length_scale)
    else:
        converted, error = None, None
        if comm.rank == 0:
            try:
                converted = _meshio_to_msh(path)
            except ThermocfdError as exc:
                error = str(exc)
        error, converted = comm.bcast((error, converted), root=0)
        if error:
            raise ThermocfdError(error)
        try:
            domain = read_msh(converted, unit, comm, length_scale)
        finally:
            if comm.rank == 0:
                Path(converted).unlink()
        domain.metadata["file"] = str(path)
    if names:
        _rename_tags(domain, names, path)
    return domain


def _meshio_to_msh(path: Path) -> str:
    """Rewrite a meshio-readable mesh as a gmsh 2.2 file (physical tags = its cell tags)."""
    try:
        import meshio
    except ImportError:
        raise ThermocfdError(f"{path}: reading non-gmsh meshes needs meshio (pip install meshio)") from None
    try:
        mesh = meshio.read(path)
    except Exception as exc:  # meshio raises many types for unreadable files
        raise ThermocfdError(f"{path}: meshio cannot read it ({exc})") from None
    key = next((k for k in MESHIO_TAG_DATA if k in mesh.cell_data), None)
    if key is None:
        found = ", ".join(sorted(mesh.cell_data)) or "none"
        raise ThermocfdError(f"{path}: no integer cell tags (looked for cell data "
                             f"{', '.join(MESHIO_TAG_DATA)}; the file has: {found})")
    tdim = max(block.dim for block in mesh.cells)
    blocks, tags = [], []
    for block, values in zip(mesh.cells, mesh.cell_data[key]):
        if block.dim in (tdim, tdim - 1):
            blocks.append((block.type, block.data))
            tags.append(np.asarray(values, dtype=int).ravel())
    field_data = {name: np.asarray(value, dtype=int)[:2] for name, value in mesh.field_data.items()
                  if np.asarray(value).size >= 2}
    out = meshio.Mesh(mesh.points, blocks, cell_data={"gmsh:physical": tags, "gmsh:geometrical": tags},
                      field_data=field_data)
    handle, name = tempfile.mkstemp(suffix=".msh", prefix="thermocfd_import_")
    os.close(handle)
    meshio.write(name, out, file_format="gmsh22", binary=False)
    return name


def _rename_tags(domain: Domain, names: dict[str, int], path: Path) -> None:
    """Give integer tags the names a case file uses (``mesh.tags``)."""
    for name, tag in names.items():
        in_regions = [old for old, t in domain.regions.items() if t == tag]
        in_boundaries = [old for old, t in domain.boundaries.items() if t == tag]
        if in_regions and in_boundaries:
            raise ThermocfdError(f"{path}: tag {tag} (named {name!r}) is both a cell and a facet tag; "
                                 "renumber one of them")
        if not in_regions and not in_boundaries:
            raise ThermocfdError(f"{path}: no cells or facets carry tag {tag} (named {name!r}); region tags: "
                                 f"{sorted(domain.regions.values())}, boundary tags: {sorted(domain.boundaries.values())}")
        table = domain.regions if in_regions else domain.boundaries
        for old in in_regions or in_boundaries:
            del table[old]
        table[name] = tag


def structured_domain(extent: Sequence[float], cells: Sequence[int], boundaries: dict[str, Callable],
                      comm: MPI.Comm = MPI.COMM_WORLD, length_scale: float = 1.0,
                      crossed: bool = False) -> Domain:
    """A dolfinx-built structured rectangle/box [0, extent] (scaled coordinates);
    ``crossed``: 2D cells cut by both diagonals (a mesh with the rectangle's mirror symmetries).

    ``boundaries`` maps names to markers ``f(x) -> bool array`` on the scaled coordinate;
    facets are tagged in the order given (a later marker does not override an earlier one).
    The single region is ``fluid``.
    """
    import dolfinx.mesh

    if len(extent) == 2:
        diagonal = dolfinx.mesh.DiagonalType.crossed if crossed else dolfinx.mesh.DiagonalType.right
        mesh = dolfinx.mesh.create_rectangle(comm, [np.zeros(2), np.asarray(extent, float)], list(cells),
                                             dolfinx.mesh.CellType.triangle, diagonal=diagonal)
    else:
        mesh = dolfinx.mesh.create_box(comm, [np.zeros(3), np.asarray(extent, float)], list(cells),
                                       dolfinx.mesh.CellType.tetrahedron)
    tdim = mesh.topology.dim
    mesh.topology.create_connectivity(tdim - 1, tdim)
    facets, values, names = [], [], {}
    taken = np.zeros(0, dtype=np.int32)
    for tag, (name, marker) in enumerate(boundaries.items(), start=1):
        found = dolfinx.mesh.locate_entities_boundary(mesh, tdim - 1, marker)
        found = np.setdiff1d(found, taken)
        taken = np.union1d(taken, found)
        facets.append(found)
        values.append(np.full(found.size, tag, dtype=np.int32))
        names[name] = tag
    order = np.argsort(np.concatenate(facets)) if facets else np.zeros(0, dtype=np.int64)
    facet_indices = np.concatenate(facets)[order].astype(np.int32) if facets else np.zeros(0, np.int32)
    facet_values = np.concatenate(values)[order] if values else np.zeros(0, np.int32)
    facet_tags = dolfinx.mesh.meshtags(mesh, tdim - 1, facet_indices, facet_values)
    num_cells = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    cell_tags = dolfinx.mesh.meshtags(mesh, tdim, np.arange(num_cells, dtype=np.int32),
                                      np.ones(num_cells, dtype=np.int32))
    return Domain(mesh, cell_tags, facet_tags, {"fluid": 1}, names, length_scale,
                  {"builder": "structured_domain"})


def chamber(width: float, thickness: float, dimension: int, resolution: float,
            beam_axis: Sequence[float], waist: float, comm: MPI.Comm = MPI.COMM_WORLD,
            base_cells: int = 24) -> Domain:
    """A thin chamber, lateral ``[-W/2, W/2]`` (x, and y in 3D), vertical ``[0, thickness]``
    (the last axis), graded towards a vertical beam axis.

    Boundaries ``bottom``, ``top``, ``sides``; region ``fluid``. Cells are ``waist/2``
    near the beam and ``W / base_cells`` far from it (both divided by ``resolution``),
    with at least 4 across the thickness. Coordinates are scaled by ``width``.
    """
    gdim = dimension
    gmsh = _gmsh()
    if comm.rank == 0:
        gmsh.model.add("chamber")
        occ = gmsh.model.occ
        t_rel = thickness / width
        if gdim == 2:
            occ.addRectangle(-0.5, 0, 0, 1.0, t_rel)
        else:
            occ.addBox(-0.5, -0.5, 0, 1.0, 1.0, t_rel)
        occ.synchronize()
        bottom, top, sides = [], [], []
        for _, tag in gmsh.model.getEntities(gdim - 1):
            vertical = gmsh.model.occ.getCenterOfMass(gdim - 1, tag)[gdim - 1]
            extent = gmsh.model.getBoundingBox(gdim - 1, tag)
            flat = abs(extent[gdim - 1 + 3] - extent[gdim - 1]) < 1e-6  # gmsh pads boxes
            (bottom if flat and abs(vertical) < 1e-6 else top if flat and abs(vertical - t_rel) < 1e-6
             else sides).append(tag)
        gmsh.model.addPhysicalGroup(gdim, [e[1] for e in gmsh.model.getEntities(gdim)], 1)
        gmsh.model.setPhysicalName(gdim, 1, "fluid")
        for tag, (name, entities) in enumerate((("bottom", bottom), ("top", top), ("sides", sides)), start=1):
            gmsh.model.addPhysicalGroup(gdim - 1, entities, tag)
            gmsh.model.setPhysicalName(gdim - 1, tag, name)
        h_far = min(1.0 / base_cells, t_rel / 4.0) / resolution
        h_near = min(0.5 * waist / width, h_far)
        radius = 4.0 * waist / width
        ax = [p / width for p in beam_axis]
        distance = f"Sqrt((x-({ax[0]}))^2+(y-({ax[1]}))^2)" if gdim == 3 else f"Abs(x-({ax[0]}))"
        field = gmsh.model.mesh.field.add("MathEval")
        gmsh.model.mesh.field.setString(field, "F", f"{h_near}+({h_far}-{h_near})*Min(1,{distance}/{radius})")
        gmsh.model.mesh.field.setAsBackgroundMesh(field)
        generate_mesh(gmsh, gdim, FIELD_SIZES_ONLY)
    metadata = {"builder": "chamber", "width": width, "thickness": thickness}
    return _to_domain(gmsh, comm, gdim, width, metadata)


def heated_channel(length: float, height: float, heater: tuple[float, float], resolution: float,
                   comm: MPI.Comm = MPI.COMM_WORLD, cells_across: int = 12) -> Domain:
    """A 2D channel [0, L] x [0, H] with a heater stripe on its floor.

    Boundaries: ``inlet`` (x = 0), ``outlet`` (x = L), ``heater`` (the floor between
    ``heater[0]`` and ``heater[1]``), ``walls`` (the rest). Cells H/cells_across/resolution.
    Coordinates are scaled by ``height``.
    """
    gmsh = _gmsh()
    if comm.rank == 0:
        gmsh.model.add("heated_channel")
        geo = gmsh.model.geo
        L, a, b = length / height, heater[0] / height, heater[1] / height
        h = 1.0 / (cells_across * resolution)
        corners = [(0, 0), (a, 0), (b, 0), (L, 0), (L, 1), (0, 1)]
        points = [geo.addPoint(x, y, 0, h) for x, y in corners]
        lines = [geo.addLine(points[i], points[(i + 1) % len(points)]) for i in range(len(points))]
        geo.addPlaneSurface([geo.addCurveLoop(lines)])
        geo.synchronize()
        groups = {"walls": [lines[0], lines[2], lines[4]], "heater": [lines[1]], "outlet": [lines[3]],
                  "inlet": [lines[5]]}
        gmsh.model.addPhysicalGroup(2, [1], 1)
        gmsh.model.setPhysicalName(2, 1, "fluid")
        for tag, (name, curves) in enumerate(groups.items(), start=1):
            gmsh.model.addPhysicalGroup(1, curves, tag)
            gmsh.model.setPhysicalName(1, tag, name)
        gmsh.model.mesh.generate(2)
    return _to_domain(gmsh, comm, 2, height, {"builder": "heated_channel", "length": length, "height": height})


def write_msh(domain: Domain, path: str | Path) -> Path:
    """Write a :class:`Domain` as a gmsh 2.2 ``.msh`` file in metres (one file unit = 1 m).

    Physical groups carry the domain's region and boundary names and tags, so
    ``read_mesh(path, unit=1.0, length_scale=domain.length_scale)`` gives back the same
    cells, names, tags and scaled coordinates. Works in serial and under MPI (the owned
    cells and tagged facets of every rank are gathered and rank 0 writes; collective).
    Triangle/tetrahedron geometry of degree 1 or 2 (curved particle meshes). Every cell
    must carry a region tag; facets are written for the tagged facets only.
    """
    mesh, comm = domain.mesh, domain.comm
    tdim = mesh.topology.dim
    fdim = tdim - 1
    cell_name = compat.cell_type_name(mesh)
    dofmap = mesh.geometry.dofmap
    cells = np.asarray(dofmap.array if hasattr(dofmap, "array") else dofmap)
    num_cells = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
    cells = cells.reshape(num_cells, -1)
    nodes_per_cell = cells.shape[1]
    # reference topology (basix/dolfinx): facet i of the cell, edge midpoint node of P2
    facet_vertices = {"triangle": [[1, 2], [0, 2], [0, 1]],
                      "tetrahedron": [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]}
    edges = {"triangle": [(1, 2), (0, 2), (0, 1)],
             "tetrahedron": [(2, 3), (1, 3), (1, 2), (0, 3), (0, 2), (0, 1)]}
    meshio_types = {("triangle", 3): ("triangle", "line"), ("triangle", 6): ("triangle6", "line3"),
                    ("tetrahedron", 4): ("tetra", "triangle"), ("tetrahedron", 10): ("tetra10", "triangle6")}
    if (cell_name, nodes_per_cell) not in meshio_types:
        raise ThermocfdError(f"write_msh: {cell_name} cells with {nodes_per_cell} nodes are not supported "
                             "(triangles and tetrahedra of degree 1 or 2 are)")
    num_vertices = tdim + 1
    midpoint = {}
    if nodes_per_cell > num_vertices:
        midpoint = {pair: num_vertices + e for e, pair in enumerate(edges[cell_name])}

    owned = mesh.topology.index_map(tdim).size_local
    region = np.full(num_cells, -1, dtype=np.int64)
    region[np.asarray(domain.cell_tags.indices)] = np.asarray(domain.cell_tags.values)
    if np.any(region[:owned] < 0):
        error = f"write_msh: {int(np.sum(region[:owned] < 0))} cells carry no region tag"
    else:
        error = None
    errors = [e for e in comm.allgather(error) if e]
    if errors:
        raise ThermocfdError(errors[0])

    # gmsh node order of the cells: dolfinx = gmsh[:, perm], so gmsh = dolfinx[:, argsort(perm)]
    perm = compat.gmsh_cell_permutation(cell_name, nodes_per_cell)
    global_node = np.asarray(mesh.geometry.input_global_indices, dtype=np.int64)
    cell_nodes = global_node[cells[:owned][:, np.argsort(perm)]]

    # tagged facets owned by this rank, their nodes in gmsh order via one adjacent cell
    mesh.topology.create_connectivity(fdim, tdim)
    mesh.topology.create_connectivity(tdim, fdim)
    f_to_c = mesh.topology.connectivity(fdim, tdim)
    c_to_f = mesh.topology.connectivity(tdim, fdim)
    owned_facets = mesh.topology.index_map(fdim).size_local
    findices = np.asarray(domain.facet_tags.indices)
    fvalues = np.asarray(domain.facet_tags.values)
    keep = findices < owned_facets
    findices, fvalues = findices[keep], fvalues[keep]
    nodes_per_facet = {3: 2, 4: 3, 6: 3, 10: 6}[nodes_per_cell]
    facet_nodes = np.empty((findices.size, nodes_per_facet), dtype=np.int64)
    for row, facet in enumerate(findices):
        cell = f_to_c.links(facet)[0]
        local = int(np.flatnonzero(c_to_f.links(cell) == facet)[0])
        verts = facet_vertices[cell_name][local]
        order = list(verts)
        if midpoint:  # gmsh line3: a, b, ab; triangle6: a, b, c, ab, bc, ca
            ring = verts + verts[:1]
            order += [midpoint[tuple(sorted(ring[k:k + 2]))] for k in range(len(verts) if len(verts) > 2 else 1)]
        facet_nodes[row] = global_node[cells[cell, order]]

    x = mesh.geometry.x[:, :3] * domain.length_scale
    parts = comm.gather((global_node, x, cell_nodes, region[:owned], facet_nodes, fvalues), root=0)
    written = Path(path)
    if comm.rank == 0:
        import meshio

        ids = np.concatenate([p[0] for p in parts])
        coords = np.concatenate([p[1] for p in parts])
        unique, first = np.unique(ids, return_index=True)
        points = coords[first]
        if tdim == 2:
            points = points[:, :2]

        cblocks = np.concatenate([p[2] for p in parts]).astype(np.int64)
        ctags = np.concatenate([p[3] for p in parts]).astype(np.int64)
        fblocks = np.concatenate([p[4] for p in parts]).astype(np.int64)
        ftags = np.concatenate([p[5] for p in parts]).astype(np.int64)
        cell_type, facet_type = meshio_types[(cell_name, nodes_per_cell)]
        if cell_type == "tetra10":  # meshio takes VTK order (gmsh's nodes 8 and 9 swapped) and swaps back
            cblocks = cblocks[:, [0, 1, 2, 3, 4, 5, 6, 7, 9, 8]]
        blocks, tags = [(cell_type, np.searchsorted(unique, cblocks))], [ctags]
        if fblocks.size:
            blocks.append((facet_type, np.searchsorted(unique, fblocks)))
            tags.append(ftags)
        field_data = {name: np.array([tag, tdim]) for name, tag in domain.regions.items()
                      if np.any(ctags == tag)}
        field_data.update({name: np.array([tag, fdim]) for name, tag in domain.boundaries.items()
                           if np.any(ftags == tag)})
        out = meshio.Mesh(points, blocks, cell_data={"gmsh:physical": tags, "gmsh:geometrical": tags},
                          field_data=field_data)
        written.parent.mkdir(parents=True, exist_ok=True)
        meshio.write(str(written), out, file_format="gmsh22", binary=False)
    comm.barrier()
    return written


def mesh_file_dimension(path: str | Path) -> int:
    """Topological dimension of the cells of a mesh file (2 or 3), read with meshio."""
    import meshio

    try:
        mesh = meshio.read(path)
    except Exception as exc:  # meshio raises many types for unreadable files
        raise ThermocfdError(f"{path}: cannot read the mesh ({exc})") from None
    return max(block.dim for block in mesh.cells)
