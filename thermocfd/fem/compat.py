"""The one place that knows which dolfinx is installed.

Debian 12 ships dolfinx 0.5.2, the Debian 13 container 0.9.0; their Python APIs differ in
function-space and element construction, interpolation points, bounding-box trees, gmsh
I/O, pyvista export and access to a Function's PETSc vector. Every such call in thermocfd
goes through this module, so the rest of the package is version-agnostic.
"""

from __future__ import annotations

import inspect
from typing import Sequence

import numpy as np
import ufl
import dolfinx
import dolfinx.fem
import dolfinx.fem.petsc  # noqa: F401  (registers dolfinx.fem.petsc)
import dolfinx.geometry
import dolfinx.mesh
from mpi4py import MPI
from petsc4py import PETSc

DOLFINX_VERSION: tuple[int, int] = tuple(int(p) for p in dolfinx.__version__.split(".")[:2])
LEGACY = DOLFINX_VERSION < (0, 7)
"""True for dolfinx < 0.7 (Debian 12's 0.5.2): FunctionSpace classes and ufl elements."""

ScalarType = PETSc.ScalarType


def _quiet_jit_logging() -> None:
    """ffcx calls logging.basicConfig() and setuptools raises the root level to INFO for
    every JIT compilation; keep the root handlers at WARNING so runs stay readable."""
    import logging

    import ffcx  # noqa: F401  (installs the root handler we then quieten)

    for handler in logging.root.handlers:
        handler.setLevel(logging.WARNING)


_quiet_jit_logging()


# --- spaces and elements -------------------------------------------------------------
def function_space(mesh: dolfinx.mesh.Mesh, family: str, degree: int,
                   shape: tuple[int, ...] | None = None) -> dolfinx.fem.FunctionSpace:
    """A scalar (shape None), vector ((gdim,)) or tensor Lagrange/DG space."""
    if LEGACY:
        if shape is None:
            return dolfinx.fem.FunctionSpace(mesh, (family, degree))
        if len(shape) == 1:
            return dolfinx.fem.VectorFunctionSpace(mesh, (family, degree), dim=shape[0])
        return dolfinx.fem.TensorFunctionSpace(mesh, (family, degree), shape=shape)
    if shape is None:
        return dolfinx.fem.functionspace(mesh, (family, degree))
    return dolfinx.fem.functionspace(mesh, (family, degree, tuple(shape)))


def mixed_function_space(mesh: dolfinx.mesh.Mesh,
                         parts: Sequence[tuple[str, int, tuple[int, ...] | None]]
                         ) -> dolfinx.fem.FunctionSpace:
    """A mixed space from (family, degree, shape) triples, e.g. Taylor-Hood P2^d x P1."""
    if LEGACY:
        cell = mesh.ufl_cell()
        elements = []
        for family, degree, shape in parts:
            if shape is None:
                elements.append(ufl.FiniteElement(family, cell, degree))
            else:
                elements.append(ufl.VectorElement(family, cell, degree, dim=shape[0]))
        return dolfinx.fem.FunctionSpace(mesh, ufl.MixedElement(elements))
    import basix.ufl

    cell = mesh.basix_cell()
    elements = [basix.ufl.element(family, cell, degree, shape=shape)
                for family, degree, shape in parts]
    return dolfinx.fem.functionspace(mesh, basix.ufl.mixed_element(elements))


def collapse(subspace: dolfinx.fem.FunctionSpace):
    """(collapsed space, map to parent dofs) for a subspace of a mixed/vector space."""
    collapsed = subspace.collapse()
    if isinstance(collapsed, tuple):
        return collapsed
    return collapsed, None  # pragma: no cover - very old dolfinx


def components(V: dolfinx.fem.FunctionSpace) -> list[tuple[dolfinx.fem.FunctionSpace, np.ndarray]]:
    """(collapsed space, dofs in V) of each component of a vector space.

    dolfinx >= 0.8 gives a one-component space (shape (1,)) no subspaces and cannot
    collapse it: its component is the scalar space of the same element, with the same dof
    numbering (block size 1); 0.5 has ``V.sub(0)`` for it.
    """
    if V.num_sub_spaces == 0:
        scalar = dolfinx.fem.functionspace(V.mesh, V.ufl_element().sub_elements[0])
        index_map = V.dofmap.index_map
        return [(scalar, np.arange(index_map.size_local + index_map.num_ghosts, dtype=np.int32))]
    return [collapse(V.sub(i)) for i in range(V.num_sub_spaces)]


def component_dirichletbc(value: float, dofs: np.ndarray, V: dolfinx.fem.FunctionSpace,
                          component: int) -> dolfinx.fem.DirichletBC:
    """``u[component] = value`` on ``dofs`` (indices into V) of a vector space V."""
    if V.num_sub_spaces == 0:  # one component, no subspaces (dolfinx >= 0.8): value shaped like V's
        return dolfinx.fem.dirichletbc(np.full(V.value_shape, value, dtype=ScalarType), dofs, V)
    return dolfinx.fem.dirichletbc(ScalarType(value), dofs, V.sub(component))


def element_degree(V: dolfinx.fem.FunctionSpace) -> int:
    degree = V.ufl_element().degree
    return int(degree() if callable(degree) else degree)


def cell_dofs(V: dolfinx.fem.FunctionSpace) -> np.ndarray:
    """Local cell -> local dof indices as a (num_cells, dofs_per_cell) array."""
    dofmap = V.dofmap.list
    if LEGACY:
        return dofmap.array.reshape(-1, V.dofmap.dof_layout.num_dofs)
    return dofmap


def locate_dofs_topological(V, entity_dim: int, entities: np.ndarray) -> np.ndarray:
    """Dofs of V (or of a [sub, collapsed] pair) on mesh entities of dimension entity_dim.

    dolfinx >= 0.8 needs the entity -> cell connectivity to exist, also for cells
    themselves (``entity_dim == tdim``: "Missing dims 3->3"); 0.5 created it on demand.
    """
    space = V[0] if isinstance(V, (list, tuple)) else V
    topology = space.mesh.topology
    topology.create_connectivity(entity_dim, topology.dim)
    return dolfinx.fem.locate_dofs_topological(V, entity_dim, np.asarray(entities, dtype=np.int32))


def interpolation_points(V: dolfinx.fem.FunctionSpace) -> np.ndarray:
    points = V.element.interpolation_points
    return points() if callable(points) else points


def expression(expr: ufl.core.expr.Expr, V: dolfinx.fem.FunctionSpace) -> dolfinx.fem.Expression:
    """A compiled UFL expression that V's Functions can interpolate."""
    return dolfinx.fem.Expression(expr, interpolation_points(V))


def interpolate(target: dolfinx.fem.Function, source, cells: np.ndarray | None = None) -> None:
    """Interpolate a UFL expression, a Function or a NumPy callable into ``target`` (on
    the given local cells only; the other dofs keep their values)."""
    if isinstance(source, ufl.core.expr.Expr) and _is_constant(source):
        # dolfinx cannot compile an Expression with neither coefficients nor coordinates
        value = float(source)
        if cells is None:
            target.x.array[:] = value
            return
        source = lambda x: np.full(x.shape[1], value)  # noqa: E731
    if isinstance(source, ufl.core.expr.Expr) and not isinstance(source, dolfinx.fem.Function):
        source = expression(source, target.function_space)
    if cells is None:
        target.interpolate(source)
    else:
        target.interpolate(source, np.asarray(cells, dtype=np.int32))
    target.x.scatter_forward()


def _is_constant(expr) -> bool:
    from ufl.algorithms import extract_coefficients
    from ufl.algorithms.analysis import extract_type

    return (not expr.ufl_shape and not extract_coefficients(expr)
            and not extract_type(expr, ufl.geometry.GeometricQuantity)
            and not extract_type(expr, ufl.constant.Constant))


def petsc_vector(u: dolfinx.fem.Function) -> PETSc.Vec:
    """The PETSc Vec that wraps a Function's dof array."""
    return u.vector if LEGACY else u.x.petsc_vec


def constant(mesh: dolfinx.mesh.Mesh, value) -> dolfinx.fem.Constant:
    return dolfinx.fem.Constant(mesh, np.asarray(value, dtype=ScalarType))


def cell_type_name(mesh: dolfinx.mesh.Mesh) -> str:
    return mesh.topology.cell_type.name


def cell_diameters(mesh: dolfinx.mesh.Mesh, cells: np.ndarray | None = None) -> np.ndarray:
    """Longest-edge size h of the given (default: local) cells."""
    tdim = mesh.topology.dim
    if cells is None:
        cells = np.arange(mesh.topology.index_map(tdim).size_local, dtype=np.int32)
    if LEGACY:
        return dolfinx.cpp.mesh.h(getattr(mesh, "_mesh", mesh), tdim, cells)
    if hasattr(mesh, "h"):  # dolfinx >= 0.8: a Mesh method (no dolfinx.mesh.h any more)
        return mesh.h(tdim, cells)
    return dolfinx.cpp.mesh.h(mesh._cpp_object, tdim, cells)  # pragma: no cover - 0.7


def apply_lifting(b: PETSc.Vec, forms, bcs, x0, scale: float) -> None:
    """``b -= scale * A (g - x0)`` for Newton updates (0.5: ``scale``, 0.9: ``alpha``)."""
    dolfinx.fem.petsc.apply_lifting(b, forms, bcs, x0, scale)


def set_bc(b: PETSc.Vec, bcs, x0, scale: float) -> None:
    dolfinx.fem.petsc.set_bc(b, bcs, x0, scale)


# --- point location and evaluation ---------------------------------------------------
def bounding_box_tree(mesh: dolfinx.mesh.Mesh):
    tdim = mesh.topology.dim
    if LEGACY:
        return dolfinx.geometry.BoundingBoxTree(mesh, tdim)
    return dolfinx.geometry.bb_tree(mesh, tdim)


def locate_cells(mesh: dolfinx.mesh.Mesh, points: np.ndarray, tree=None) -> np.ndarray:
    """For each point (N x 3) a local cell containing it, or -1 if none on this rank."""
    points = np.ascontiguousarray(points, dtype=np.float64)
    if tree is None:
        tree = bounding_box_tree(mesh)
    if LEGACY:
        candidates = dolfinx.geometry.compute_collisions(tree, points)
    else:
        candidates = dolfinx.geometry.compute_collisions_points(tree, points)
    colliding = dolfinx.geometry.compute_colliding_cells(mesh, candidates, points)
    cells = np.full(points.shape[0], -1, dtype=np.int32)
    for i in range(points.shape[0]):
        links = colliding.links(i)
        if len(links) > 0:
            cells[i] = links[0]
    return cells


def evaluate(u: dolfinx.fem.Function, points: np.ndarray, tree=None) -> np.ndarray:
    """Values of u at points (N x 3), gathered over ranks; NaN where outside the mesh."""
    mesh = u.function_space.mesh
    points = np.ascontiguousarray(points, dtype=np.float64)
    value_size = int(np.prod(u.ufl_shape)) if u.ufl_shape else 1
    cells = locate_cells(mesh, points, tree)
    local = np.full((points.shape[0], value_size), np.nan)
    found = cells >= 0
    if np.any(found):
        local[found] = u.eval(points[found], cells[found]).reshape(-1, value_size)
    comm = mesh.comm
    if comm.size > 1:
        # Points on a shared facet are found by several ranks; any one value will do.
        gathered = comm.allgather(local)
        result = np.full_like(local, np.nan)
        for part in gathered:
            take = np.isnan(result[:, 0]) & ~np.isnan(part[:, 0])
            result[take] = part[take]
        local = result
    return local[:, 0] if not u.ufl_shape else local


# --- meshes --------------------------------------------------------------------------
def model_to_mesh(model, comm: MPI.Comm, rank: int, gdim: int):
    """(mesh, cell_tags, facet_tags) from the gmsh model held by ``rank``, ghosted across
    shared facets.

    Why the ghosting: interior-facet integrals (a particle meshed as a region, interfaces
    between materials) need both cells of every facet on a rank. dolfinx 0.5 ghosts shared
    facets by default; from 0.6 gmshio distributes with ``GhostMode.none`` unless given a
    partitioner, and such an integral then fails wherever the partition cuts the surface.
    """
    from dolfinx.io import gmshio

    options = {}
    if "partitioner" in inspect.signature(gmshio.model_to_mesh).parameters:
        options["partitioner"] = dolfinx.mesh.create_cell_partitioner(dolfinx.mesh.GhostMode.shared_facet)
    data = gmshio.model_to_mesh(model, comm, rank, gdim=gdim, **options)
    if isinstance(data, tuple):
        return data[0], data[1], data[2]
    return data.mesh, data.cell_tags, data.facet_tags  # dolfinx >= 0.10


def entity_nodes(mesh: dolfinx.mesh.Mesh, dim: int, entities: np.ndarray) -> np.ndarray:
    """Geometry node indices (entities x nodes) of mesh entities of dimension ``dim``."""
    entities = np.asarray(entities, dtype=np.int32)
    if entities.size == 0:
        return np.zeros((0, 1), dtype=np.int32)
    mesh.topology.create_connectivity(dim, 0)
    mesh.topology.create_connectivity(dim, mesh.topology.dim)
    if hasattr(dolfinx.mesh, "entities_to_geometry"):
        return dolfinx.mesh.entities_to_geometry(mesh, dim, entities, False)
    cpp_mesh = getattr(mesh, "_cpp_object", None) or getattr(mesh, "_mesh", mesh)
    return dolfinx.cpp.mesh.entities_to_geometry(cpp_mesh, dim, entities, False)


def cell_geometry_nodes(mesh: dolfinx.mesh.Mesh) -> np.ndarray:
    """Every geometry node of every local cell (owned and ghost): cells x nodes, in the
    coordinate element's order (vertices first)."""
    dofmap = mesh.geometry.dofmap
    if isinstance(dofmap, np.ndarray):
        return dofmap
    num_cells = len(dofmap.offsets) - 1
    return dofmap.array.reshape(num_cells, -1)


def gmsh_cell_permutation(cell_name: str, nodes_per_cell: int) -> np.ndarray:
    """dolfinx's node order of a cell type in terms of gmsh's: dolfinx = gmsh[:, perm]."""
    try:
        from dolfinx.io.gmshio import cell_perm_array
    except ImportError:  # dolfinx >= 0.10
        from dolfinx.io.gmsh import cell_perm_array
    return np.asarray(cell_perm_array(getattr(dolfinx.mesh.CellType, cell_name), nodes_per_cell))


def assemble_matrix_block(a, bcs, A=None):
    """Monolithic matrix of a block form (a new one, or into A)."""
    import dolfinx.fem.petsc

    if A is None:
        return dolfinx.fem.petsc.assemble_matrix_block(a, bcs=bcs)
    dolfinx.fem.petsc.assemble_matrix_block(A, a, bcs=bcs)
    return A


def create_matrix_nest(a, types: list[list[str]]):
    """A PETSc MatNest for a block form, block (i, j) of PETSc type ``types[i][j]``."""
    import dolfinx.cpp.fem.petsc

    # the Python create_matrix_nest takes no types, the C++ one does (dolfinx >= 0.6
    # wraps the C++ forms in Python ones)
    forms = [[None if f is None else getattr(f, "_cpp_object", f) for f in row] for row in a]
    return dolfinx.cpp.fem.petsc.create_matrix_nest(forms, types)


def assemble_matrix_nest(A, a, bcs) -> None:
    """Assemble a block form into the MatNest A (diagonal 1 on the Dirichlet rows of the
    diagonal blocks, as :func:`assemble_matrix_block` does)."""
    import dolfinx.fem.petsc

    dolfinx.fem.petsc.assemble_matrix_nest(A, a, bcs=bcs)
    A.assemble()


def create_vector_block(L):
    """A vector for the monolithic right-hand side of a block form."""
    import dolfinx.fem.petsc

    return dolfinx.fem.petsc.create_vector_block(L)


def assemble_vector_block(b, L, a, bcs) -> None:
    """Monolithic right-hand side of a block form into b, lifted by a and bcs."""
    import dolfinx.fem.petsc

    dolfinx.fem.petsc.assemble_vector_block(b, L, a, bcs=bcs)


def versions() -> dict[str, str]:
    """Versions of the FEniCSx stack actually in use."""
    import basix
    import ffcx
    import petsc4py

    return {
        "dolfinx": dolfinx.__version__,
        "basix": basix.__version__,
        "ffcx": ffcx.__version__,
        "ufl": ufl.__version__,
        "petsc": ".".join(str(v) for v in PETSc.Sys.getVersion()),
        "petsc4py": petsc4py.__version__,
        "mpi4py": __import__("mpi4py").__version__,
    }
