"""Quadratic (curved) tetrahedra from gmsh's linear mesh, computed in NumPy.

Why not gmsh's ``setOrder(2)``: with its high-order optimiser it took 8.8-9.4 s of the
20.7 s it takes to mesh the ~1e6-dof particle benchmark on one rank, and it costs the same
with the new nodes left at the edge midpoints, so the time is gmsh's edge bookkeeping, not
geometry. The nodes it places are the edge midpoints, moved onto the surface for edges of
a curved surface; for a sphere that is the radial projection of the midpoint (gmsh's nodes
and these agree to 2e-15 of the edge length). Here the edges are found with one
``np.unique`` and the projection is a closed formula: 0.9-1.1 s, and the whole mesh 9.6 s
(``benchmarks/bench_curving.py``).

Curving the surface edges can fold a thin cell next to the surface, typically a sliver
with all four vertices on the sphere. The Jacobian determinant of a quadratic tetrahedron
is a cubic; its Bernstein coefficients (on a few levels of subdivision) bound it from
both sides over the whole cell. Where det J / straight det J may leave
[:data:`MIN_SCALED_JACOBIAN`, :data:`MAX_SCALED_JACOBIAN`] (the range gmsh's high-order
optimiser restores), the cell's curved edges are left straight: the mesh then follows
the surface everywhere else, and a straight cell is as valid as the linear mesh. gmsh's
own optimiser did not do better on such slivers: on the 1e5-dof benchmark mesh it left
one with det J / straight det J between -9.3 and 0.03.

gmsh node orders (checked against ``setOrder(2)``): the 10-node tetrahedron's nodes 4..9
sit on the edges (0,1), (1,2), (0,2), (0,3), (2,3), (1,3); the 6-node triangle's nodes
3..5 on (0,1), (1,2), (0,2).
"""

from __future__ import annotations

import itertools
import math
from typing import Callable, Mapping

import numpy as np

# gmsh's defaults for its high-order optimiser (Mesh.HighOrderThresholdMin/Max): it
# moves the nodes of the cells whose det J / straight det J leaves this range
MIN_SCALED_JACOBIAN, MAX_SCALED_JACOBIAN = 0.1, 2.0

# gmsh element types: linear -> (quadratic, its edges in gmsh's node order)
_TETRAHEDRON, _TRIANGLE = 4, 2
_QUADRATIC = {_TETRAHEDRON: (11, np.array([[0, 1], [1, 2], [0, 2], [0, 3], [2, 3], [1, 3]])),
              _TRIANGLE: (9, np.array([[0, 1], [1, 2], [0, 2]]))}

Projection = Callable[[np.ndarray], np.ndarray]


def sphere_projection(centre: np.ndarray, radius: float) -> Projection:
    """Points (n, 3) moved radially onto the sphere."""
    centre = np.asarray(centre, dtype=float)

    def project(points: np.ndarray) -> np.ndarray:
        offset = points - centre
        return centre + radius * offset / np.linalg.norm(offset, axis=1, keepdims=True)

    return project


def curve_to_second_order(gmsh, projections: Mapping[int, Projection]) -> int:
    """Replace the current gmsh model's linear tetrahedral mesh by its quadratic version;
    returns how many curved edges were left straight (see the module docstring).

    ``projections`` maps a surface's entity tag to the function that moves points onto
    it; the edges of the other surfaces and of the volumes stay straight. Physical groups
    and their names are kept; the entities become discrete ones.
    """
    node_tags, coordinates, _ = gmsh.model.mesh.getNodes()
    order = np.argsort(node_tags)
    node_tags = np.asarray(node_tags, dtype=np.int64)[order]
    points = np.asarray(coordinates, dtype=float).reshape(-1, 3)[order]
    blocks = []  # (dim, entity, linear type, connectivity as indices into points)
    for dim, entity_type in ((3, _TETRAHEDRON), (2, _TRIANGLE)):
        for _, entity in gmsh.model.getEntities(dim):
            types, _, element_nodes = gmsh.model.mesh.getElements(dim, entity)
            if len(types) == 0:
                continue
            if list(types) != [entity_type]:
                raise ValueError(f"curve_to_second_order: entity ({dim}, {entity}) holds gmsh element "
                                 f"types {list(types)}, not only type {entity_type}")
            cells = np.searchsorted(node_tags, np.asarray(element_nodes[0], dtype=np.int64))
            blocks.append((dim, entity, entity_type, cells.reshape(-1, 4 if dim == 3 else 3)))

    # every edge once: its two vertices as one int64 key
    edges = [cells[:, _QUADRATIC[kind][1]] for _, _, kind, cells in blocks]
    pairs = np.sort(np.concatenate([e.reshape(-1, 2) for e in edges]), axis=1)
    keys = pairs[:, 0] * len(points) + pairs[:, 1]
    unique_keys, edge_of = np.unique(keys, return_inverse=True)
    first, second = np.divmod(unique_keys, len(points))
    midpoints = 0.5 * (points[first] + points[second])
    offsets = np.cumsum([0] + [e.size // 2 for e in edges])
    edge_ids = [edge_of[offsets[i]:offsets[i + 1]].reshape(e.shape[:2]) for i, e in enumerate(edges)]

    curved_nodes = midpoints.copy()
    curved = np.zeros(len(midpoints), dtype=bool)
    for (dim, entity, _, _), ids in zip(blocks, edge_ids):
        if dim == 2 and entity in projections:
            on_surface = np.unique(ids)
            curved_nodes[on_surface] = projections[entity](midpoints[on_surface])
            curved[on_surface] = True
    tetrahedra = np.concatenate([np.concatenate([cells, ids], axis=1)
                                 for (dim, _, _, cells), ids in zip(blocks, edge_ids) if dim == 3])
    straightened = _straighten_poor_cells(points, midpoints, curved_nodes, curved, tetrahedra)

    groups = [(dim, tag, gmsh.model.getEntitiesForPhysicalGroup(dim, tag), gmsh.model.getPhysicalName(dim, tag))
              for dim in (2, 3) for _, tag in gmsh.model.getPhysicalGroups(dim)]
    name = gmsh.model.getCurrent()
    gmsh.model.remove()
    gmsh.model.add(name)
    for dim, entity, _, _ in blocks:
        gmsh.model.addDiscreteEntity(dim, entity)
    # gmsh (and dolfinx's reader) want node tags 1..N: the vertices first, then the edges
    volume = next(entity for dim, entity, _, _ in blocks if dim == 3)
    gmsh.model.mesh.addNodes(3, volume, np.arange(1, len(points) + len(midpoints) + 1),
                             np.concatenate([points, curved_nodes]).ravel())
    for (dim, entity, kind, cells), ids in zip(blocks, edge_ids):
        quadratic = np.concatenate([cells, ids + len(points)], axis=1) + 1
        gmsh.model.mesh.addElementsByType(entity, _QUADRATIC[kind][0], [], quadratic.ravel())
    for dim, tag, entities, group_name in groups:
        gmsh.model.addPhysicalGroup(dim, list(entities), tag)
        gmsh.model.setPhysicalName(dim, tag, group_name)
    return straightened


def _straighten_poor_cells(points: np.ndarray, midpoints: np.ndarray, curved_nodes: np.ndarray,
                           curved: np.ndarray, tetrahedra: np.ndarray) -> int:
    """Put the curved edge nodes of poor cells back at their edges' midpoints (in
    ``curved_nodes`` and ``curved``), until no cell is poor; returns how many.

    Terminates: a poor cell has a curved edge (a straight cell's scaled Jacobian is 1),
    so every round straightens at least one."""
    straightened = 0
    while True:
        bent = curved[tetrahedra[:, 4:]].any(axis=1)
        cells = tetrahedra[bent]
        nodes = np.concatenate([points[cells[:, :4]], curved_nodes[cells[:, 4:]]], axis=1)
        poor = poor_cells(nodes)
        if not poor.any():
            return straightened
        edges = np.unique(cells[poor, 4:])
        edges = edges[curved[edges]]
        curved_nodes[edges] = midpoints[edges]
        curved[edges] = False
        straightened += edges.size


def _cubic_lattice() -> tuple[np.ndarray, np.ndarray]:
    """The multi-indices of the cubic Bernstein basis on a tetrahedron (20 x 4) and the
    matrix taking a cubic's values at the lattice points (index / 3, barycentric) to its
    Bernstein coefficients."""
    indices = np.array([a for a in itertools.product(range(4), repeat=4) if sum(a) == 3])
    weights = np.array([math.factorial(3) / np.prod([math.factorial(k) for k in a]) for a in indices])
    basis_at_points = weights[None, :] * np.prod((indices[:, None, :] / 3.0) ** indices[None, :, :], axis=2)
    return indices, np.linalg.inv(basis_at_points)


# red refinement of a tetrahedron: its 8 children as corners among the 4 vertices (0-3)
# and the edge midpoints (01, 02, 03, 12, 13, 23 -> 4-9), the octahedron cut along 02-13
_MIDPOINT_OF = np.array([[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]])
_CHILDREN = np.array([[0, 4, 5, 6], [4, 1, 7, 8], [5, 7, 2, 9], [6, 8, 9, 3],
                      [4, 5, 6, 8], [4, 5, 7, 8], [5, 6, 8, 9], [5, 7, 8, 9]])


def _refine(simplices: np.ndarray) -> np.ndarray:
    """Sub-tetrahedra (8m x 4 x 4, barycentric vertices) of ``simplices`` (m x 4 x 4)."""
    points = np.concatenate([simplices, simplices[:, _MIDPOINT_OF].mean(axis=2)], axis=1)
    return points[:, _CHILDREN].reshape(-1, 4, 4)


def _p2_gradients(barycentric: np.ndarray) -> np.ndarray:
    """Gradients (points, 10 nodes, 3) of the quadratic Lagrange basis in gmsh's node
    order, with respect to the reference coordinates (the barycentric 1, 2, 3)."""
    grad_lambda = np.array([[-1.0, -1.0, -1.0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])
    lam = barycentric
    vertex = (4.0 * lam - 1.0)[:, :, None] * grad_lambda[None, :, :]
    pairs = _QUADRATIC[_TETRAHEDRON][1]
    edge = 4.0 * (lam[:, pairs[:, 0], None] * grad_lambda[pairs[:, 1]][None]
                  + lam[:, pairs[:, 1], None] * grad_lambda[pairs[:, 0]][None])
    return np.concatenate([vertex, edge], axis=1)


def scaled_jacobian(nodes: np.ndarray, barycentric: np.ndarray) -> np.ndarray:
    """det J divided by the straight cell's det J (cells x points) of quadratic tetrahedra
    (``nodes``: cells x 10 x 3, gmsh order) at points given in barycentric coordinates."""
    jacobians = np.einsum("ckd,pke->cpde", nodes, _p2_gradients(barycentric))
    straight = np.linalg.det(np.stack([nodes[:, k] - nodes[:, 0] for k in (1, 2, 3)], axis=2))
    return np.linalg.det(jacobians) / straight[:, None]


def cubic_lattices(refinements: int) -> np.ndarray:
    """The cubic lattice points (barycentric) of each of the 8**refinements sub-tetrahedra
    of a uniform refinement of the reference cell: (sub-cells x 20 x 4)."""
    simplices = np.eye(4)[None]
    for _ in range(refinements):
        simplices = _refine(simplices)
    return np.einsum("ai,sij->saj", _cubic_lattice()[0] / 3.0, simplices)


def scaled_jacobian_bounds(nodes: np.ndarray, refinements: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds over each quadratic tetrahedron (``nodes``: cells x 10 x 3,
    gmsh order) of det J divided by the straight cell's det J (1 for an uncurved cell, <= 0
    where it may fold): the extreme Bernstein coefficients of that cubic on each of the
    8**refinements sub-tetrahedra of a uniform refinement, which converge to the true
    extremes as the refinement grows."""
    lattices = cubic_lattices(refinements)
    values = scaled_jacobian(nodes, lattices.reshape(-1, 4)).reshape(len(nodes), *lattices.shape[:2])
    coefficients = values @ _cubic_lattice()[1].T
    return coefficients.min(axis=(1, 2)), coefficients.max(axis=(1, 2))


def poor_cells(nodes: np.ndarray, min_scaled_jacobian: float = MIN_SCALED_JACOBIAN,
               max_scaled_jacobian: float = MAX_SCALED_JACOBIAN, refinements: int = 2) -> np.ndarray:
    """Which quadratic tetrahedra may have a scaled Jacobian outside [min, max]: the
    bounds of :func:`scaled_jacobian_bounds`, refined up to ``refinements`` times for the
    cells whose coarser bounds leave it open. True also where the bounds stay too loose
    to decide (such a cell is then straightened though it may not have needed it)."""
    undecided = np.arange(len(nodes))
    for level in range(refinements + 1):
        lower, upper = scaled_jacobian_bounds(nodes[undecided], level)
        undecided = undecided[(lower < min_scaled_jacobian) | (upper > max_scaled_jacobian)]
        if undecided.size == 0:
            break
    poor = np.zeros(len(nodes), dtype=bool)
    poor[undecided] = True
    return poor
