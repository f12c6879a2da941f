"""Quadrature on meshes with curved cells: the affine cells at the affine degree.

UFL estimates a cell integral's quadrature degree from the coordinate element. On a
second-order mesh the Jacobian is linear and det J cubic, so ``eps(u) : eps(v)`` of P2
fields is integrated at degree 5 (14 points per tetrahedron) on *every* cell, although a
particle mesh is curved only in the layer of cells touching its spheres; on all other
cells the geometry is affine, the integrand is that of an affine mesh and degree 2 (4
points) integrates it exactly. Assembling the P2 strain block then takes 0.34 s instead of
0.88 s (198,810 dofs, serial; benchmarks/bench_quadrature.py).

:func:`compile_form` is ``dolfinx.fem.form`` with every cell integral of a form on such a
mesh split in two: over the affine cells at the degree UFL estimates for an affine mesh,
and over the curved cells as before. Both parts are exact where the unsplit integral was,
so the assembled tensors agree to round-off. The split needs cell tags that tell the two
kinds apart: each tag value ``v`` of the form's region tags stays on affine cells and
becomes ``v + offset`` on curved ones (untagged cells get two values of their own), and
each integral's subdomain ids are mapped accordingly. An integral with an explicit
``quadrature_degree`` keeps it on both parts.
"""

from __future__ import annotations

import weakref
from typing import Any

import dolfinx.fem
import dolfinx.mesh
import numpy as np
import ufl
from mpi4py import MPI
from ufl.algorithms.apply_algebra_lowering import apply_algebra_lowering
from ufl.algorithms.apply_derivatives import apply_derivatives
from ufl.algorithms.estimate_degrees import SumDegreeEstimator
from ufl.corealg.map_dag import map_expr_dags

from . import compat

AFFINE_RTOL = 1e-10
"""A cell is affine when each geometry node lies within this fraction of the cell's extent
of the affine image of its reference point."""

_SIMPLICES = {"interval": "interval", "triangle": "triangle", "tetrahedron": "tetrahedron"}


def curved_cells(mesh) -> np.ndarray:
    """Local indices (owned and ghost) of the cells whose geometry is not affine.

    Every geometry node of a cell is compared with the affine map of the cell's vertices
    at the node's reference point (the coordinate element's Lagrange points). Meshes of
    degree 1 have none; non-simplex cells are all reported curved (their map is not affine
    even when straight-sided).
    """
    import basix

    tdim = mesh.topology.dim
    cells = np.arange(mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts,
                      dtype=np.int32)
    degree = mesh.geometry.cmap.degree
    if degree == 1 and compat.cell_type_name(mesh) in _SIMPLICES:
        return np.empty(0, dtype=np.int32)
    if compat.cell_type_name(mesh) not in _SIMPLICES:
        return cells
    cell = getattr(basix.CellType, compat.cell_type_name(mesh))
    reference = basix.create_element(basix.ElementFamily.P, cell, degree, basix.LagrangeVariant.equispaced).points
    # P1 basis at the reference points: [1 - sum(X), X_1, ..., X_d]
    barycentric = np.column_stack([1.0 - reference.sum(axis=1), reference])
    nodes = mesh.geometry.x[compat.cell_geometry_nodes(mesh)[cells]]  # (cells, nodes, 3)
    vertices = nodes[:, :tdim + 1, :]
    affine = np.einsum("nv,cvx->cnx", barycentric, vertices)
    extent = np.ptp(vertices, axis=1).max(axis=1)
    deviation = np.abs(nodes - affine).max(axis=(1, 2))
    return cells[deviation > AFFINE_RTOL * extent]


class _AffineDegreeEstimator(SumDegreeEstimator):
    """UFL's degree estimate for the integrand on an affine cell: x is linear there."""

    def spatial_coordinate(self, v):
        return 1


def affine_degree(integrand: ufl.core.expr.Expr) -> int:
    """The quadrature degree UFL would estimate for ``integrand`` on an affine mesh."""
    lowered = apply_derivatives(apply_algebra_lowering(integrand))
    degree = map_expr_dags(_AffineDegreeEstimator(1, {}), [lowered])[0]
    return int(max(degree) if isinstance(degree, tuple) else degree)


class _SplitTags:
    """The split cell tags of one mesh and one set of region tags (or none)."""

    def __init__(self, mesh, tags):
        tdim = mesh.topology.dim
        num_cells = mesh.topology.index_map(tdim).size_local + mesh.topology.index_map(tdim).num_ghosts
        values = np.full(num_cells, -1, dtype=np.int32)
        if tags is not None:
            values[tags.indices] = tags.values
        self.offset = int(mesh.comm.allreduce(int(values.max(initial=-1)) + 1, op=MPI.MAX))
        self.untagged = (2 * self.offset, 2 * self.offset + 1)  # (affine, curved)
        curved = np.zeros(num_cells, dtype=bool)
        curved[curved_cells(mesh)] = True
        split = np.where(values >= 0, values + curved * self.offset,
                         np.where(curved, self.untagged[1], self.untagged[0])).astype(np.int32)
        # Only the values some rank holds get an integral: each id is a kernel of its own.
        self.present = set(int(v) for v in np.unique(np.concatenate(mesh.comm.allgather(np.unique(split)))))
        self.original = sorted({v for v in self.present if v < self.offset}
                               | {v - self.offset for v in self.present if self.offset <= v < 2 * self.offset})
        self.any_curved = any(v >= self.offset and v != self.untagged[0] for v in self.present)
        self.tags = dolfinx.mesh.meshtags(mesh, tdim, np.arange(num_cells, dtype=np.int32), split)

    def ids(self, subdomain_id) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(affine ids, curved ids) of a UFL subdomain id ("everywhere" and
        "otherwise": all cells, as in dolfinx)."""
        if subdomain_id in ("everywhere", "otherwise"):
            affine = self.original + [self.untagged[0]]
            curved = [v + self.offset for v in self.original] + [self.untagged[1]]
        else:
            original = subdomain_id if isinstance(subdomain_id, tuple) else (subdomain_id,)
            affine = [int(v) for v in original]
            curved = [int(v) + self.offset for v in original]
        return tuple(affine), tuple(curved)


# One split per (mesh, region tags): the tags live as long as the mesh or tags they split.
_split_by_mesh: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def _split_tags(mesh, tags) -> _SplitTags:
    per_mesh = _split_by_mesh.setdefault(mesh, {})
    key = None if tags is None else id(tags)
    entry = per_mesh.get(key)
    if entry is None or (tags is not None and entry[0]() is not tags):
        entry = (weakref.ref(tags) if tags is not None else None, _SplitTags(mesh, tags))
        per_mesh[key] = entry
    return entry[1]


def split_cell_integrals(form: ufl.Form) -> ufl.Form:
    """``form`` with each cell integral split into its affine and curved cells (see the
    module docstring); unchanged on meshes of degree 1 or without curved cells, and for
    forms with neither arguments nor coefficients (cheap functionals whose dolfinx mesh
    UFL does not hold)."""
    cell_integrals = form.integrals_by_type("cell")
    if not cell_integrals:
        return form
    mesh = _dolfinx_mesh(form)
    if mesh is None or mesh.geometry.cmap.degree == 1:
        return form
    tags = cell_integrals[0].subdomain_data()
    split = _split_tags(mesh, tags)
    if not split.any_curved:
        return form
    integrals = [itg for itg in form.integrals() if itg.integral_type() != "cell"]
    for itg in cell_integrals:
        all_affine, all_curved = split.ids(itg.subdomain_id())
        affine_ids = tuple(v for v in all_affine if v in split.present)
        curved_ids = tuple(v for v in all_curved if v in split.present)
        metadata = dict(itg.metadata())
        affine_metadata = metadata if "quadrature_degree" in metadata else \
            {**metadata, "quadrature_degree": affine_degree(itg.integrand())}
        if affine_ids or not curved_ids:  # an integral over no cells stays (as zero)
            integrals.append(itg.reconstruct(subdomain_id=affine_ids or all_affine,
                                             metadata=affine_metadata, subdomain_data=split.tags))
        if curved_ids:
            integrals.append(itg.reconstruct(subdomain_id=curved_ids, metadata=metadata,
                                             subdomain_data=split.tags))
    return ufl.Form(integrals)


def _dolfinx_mesh(form: ufl.Form):
    """The dolfinx mesh of a form's arguments or coefficients, or None (the UFL domain holds
    the C++ mesh only)."""
    for function in form.arguments() + form.coefficients():
        mesh = getattr(function.ufl_function_space(), "mesh", None)
        if isinstance(mesh, dolfinx.mesh.Mesh):
            return mesh
    return None


def compile_form(form, **kwargs):
    """``dolfinx.fem.form`` of a UFL form, or a (nested) list of them, with the cell
    integrals split by :func:`split_cell_integrals`."""
    return dolfinx.fem.form(_map_forms(form), **kwargs)


def _map_forms(form):
    if isinstance(form, (list, tuple)):
        return type(form)(_map_forms(f) for f in form)
    if isinstance(form, ufl.Form):
        return split_cell_integrals(form)
    return form
