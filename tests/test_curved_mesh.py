"""Quadratic tetrahedra computed in NumPy (thermocfd.fem.curved_mesh): the same nodes as
gmsh's setOrder(2), Jacobian bounds that really bound, and the cells curving would fold
left straight."""

import numpy as np
import pytest
from mpi4py import MPI
from scipy.spatial import cKDTree

from thermocfd.fem import curved_mesh, particle_mesh
from thermocfd.fem.curved_mesh import (curve_to_second_order, scaled_jacobian, scaled_jacobian_bounds,
                                      sphere_projection)
from thermocfd.fem.mesh import _gmsh, generate_mesh
from thermocfd.fem.particle_mesh import SphereSpec, spheres_in_box

EDGES = curved_mesh._QUADRATIC[curved_mesh._TETRAHEDRON][1]


# dolfinx's 10-node tetrahedron in gmsh's node order (dolfinx numbers the edges by the
# opposite vertex pair: (2,3), (1,3), (1,2), (0,3), (0,2), (0,1))
DOLFINX_TO_GMSH = [0, 1, 2, 3, 9, 6, 8, 7, 4, 5]


def cell_nodes(domain) -> np.ndarray:
    """Node coordinates of each cell (cells x 10 x 3), in gmsh's order."""
    dofmap = domain.mesh.geometry.dofmap
    cells = np.asarray(dofmap.array if hasattr(dofmap, "array") else dofmap).reshape(domain.num_cells(), -1)
    return domain.mesh.geometry.x[cells][:, DOLFINX_TO_GMSH]


def unmatched(x: np.ndarray, y: np.ndarray) -> int:
    """How many of the points x have no point of y within 1e-13."""
    distance, _ = cKDTree(y).query(x)
    return int(np.sum(distance > 1e-13))


def gmsh_set_order(gmsh, projections) -> int:
    gmsh.model.mesh.setOrder(2)
    return 0


BOX = ((-3.5, -2.5, -2.5), (3.5, 2.5, 2.5))


@pytest.mark.parametrize("spheres, surface_size", [
    ([SphereSpec((0.0, 0.0, 0.0), 1.0)], 0.45),
    ([SphereSpec((0.0, 0.0, 0.0), 1.0)], 0.5),
    ([SphereSpec((-1.6, 0.2, 0.0), 1.0, "left"), SphereSpec((1.5, 0.0, 0.3), 0.6, "right")], 0.5),
], ids=["one sphere", "one sphere, coarser", "two spheres"])
def test_numpy_curving_gives_gmsh_set_order_nodes(spheres, surface_size, monkeypatch):
    """The same nodes as gmsh's setOrder(2), except at the edges of the cells that curving
    would fold: those stay straight, and no cell is poor. (One of the two one-sphere meshes
    holds a sliver with its four vertices on the sphere, which one depends on gmsh's
    version: 4.8 the coarser, 4.13 the finer.)"""
    def build():
        return spheres_in_box(spheres, *BOX, surface_size=surface_size, far_size=1.5, comm=MPI.COMM_SELF)

    ours = build()
    monkeypatch.setattr(particle_mesh, "curve_to_second_order", gmsh_set_order)
    reference = build()
    straightened = ours.metadata["straightened_surface_edges"]
    assert straightened <= 10
    assert ours.regions == reference.regions and ours.boundaries == reference.boundaries
    for tags in ("cell_tags", "facet_tags"):
        a, b = getattr(ours, tags), getattr(reference, tags)
        assert np.array_equal(np.bincount(a.values), np.bincount(b.values)), tags
    cells, reference_cells = cell_nodes(ours), cell_nodes(reference)
    assert cells.shape == reference_cells.shape
    x, reference_x = ours.mesh.geometry.x, reference.mesh.geometry.x
    assert len(x) == len(reference_x)
    assert unmatched(x, reference_x) == unmatched(reference_x, x) == straightened
    assert not curved_mesh.poor_cells(cells).any()
    assert curved_mesh.poor_cells(reference_cells).any() == (straightened > 0)
    # the surface nodes are on their spheres (the straightened ones just inside)
    for s in spheres:
        r = np.linalg.norm(x - np.asarray(s.centre), axis=1) / s.radius
        near = np.abs(r - 1.0) < 0.02
        assert near.sum() > 20 and np.sum(np.abs(r[near] - 1.0) > 1e-14) <= straightened


def random_p2_cells(rng, cells: int, bend: float) -> np.ndarray:
    """Quadratic tetrahedra (cells x 10 x 3): random positive straight cells with edge
    nodes moved off the midpoints by ``bend`` times the cell size."""
    vertices = np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])[None] + 0.05 * rng.standard_normal((cells, 4, 3))
    volume = np.linalg.det(np.stack([vertices[:, k] - vertices[:, 0] for k in (1, 2, 3)], axis=2))
    vertices[volume < 0] = vertices[volume < 0][:, [0, 2, 1, 3]]
    mid = 0.5 * (vertices[:, EDGES[:, 0]] + vertices[:, EDGES[:, 1]])
    return np.concatenate([vertices, mid + bend * rng.standard_normal(mid.shape)], axis=1)


@pytest.mark.parametrize("refinements", [0, 1, 2])
def test_jacobian_bounds_are_one_on_straight_cells(refinements):
    nodes = random_p2_cells(np.random.default_rng(1), 50, bend=0.0)
    for bound in scaled_jacobian_bounds(nodes, refinements):
        np.testing.assert_allclose(bound, 1.0, rtol=1e-12)


@pytest.mark.parametrize("bend", [0.03, 0.1, 0.3])
def test_jacobian_bounds_bound_and_tighten_with_refinement(bend):
    rng = np.random.default_rng(2)
    nodes = random_p2_cells(rng, 300, bend)
    # det J at the cubic lattices of 8^3 sub-cells: true values, ~4x denser than level 2
    dense = curved_mesh.cubic_lattices(3).reshape(-1, 4)
    values = np.concatenate([scaled_jacobian(nodes, dense), scaled_jacobian(nodes, rng.dirichlet(np.ones(4), 400))],
                            axis=1)
    lowers, gaps = [], []
    for refinements in (0, 1, 2):
        lower, upper = scaled_jacobian_bounds(nodes, refinements)
        assert np.all(lower <= values.min(axis=1) + 1e-12) and np.all(upper >= values.max(axis=1) - 1e-12)
        lowers.append(lower)
        gaps.append(np.mean(values.min(axis=1) - lower))
    # subdivision never loosens a Bernstein bound, and tightens it like h^2 (~4x a level)
    assert np.all(lowers[1] >= lowers[0] - 1e-12) and np.all(lowers[2] >= lowers[1] - 1e-12)
    assert gaps[2] < gaps[0] / 4
    folded = (values < 0).any(axis=1)
    assert np.all(curved_mesh.poor_cells(nodes)[folded])
    if bend == 0.3:
        assert folded.any()
    if bend == 0.03:
        assert not curved_mesh.poor_cells(nodes).any()


def test_a_folding_projection_straightens_the_folded_cells():
    """Edge nodes pushed off the sphere (by 5 %) fold many cells next to it: their edges stay
    straight, the rest are curved, and no cell is poor."""
    gmsh = _gmsh()
    gmsh.model.add("fold")
    try:
        box = gmsh.model.occ.addBox(-2, -2, -2, 4, 4, 4)
        ball = gmsh.model.occ.addSphere(0, 0, 0, 1)
        gmsh.model.occ.fragment([(3, box)], [(3, ball)])
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [tag for _, tag in gmsh.model.getEntities(3)], 1)
        generate_mesh(gmsh, 3, {"Mesh.MeshSizeMax": 0.6})
        sphere = [tag for _, tag in gmsh.model.getEntities(2)
                  if np.allclose(gmsh.model.getBoundingBox(2, tag), [-1, -1, -1, 1, 1, 1], atol=1e-6)]
        cells = gmsh.model.mesh.getElementsByType(4)[0].size
        surface_edges = 3 * gmsh.model.mesh.getElementsByType(2, sphere[0])[0].size // 2
        straightened = curve_to_second_order(gmsh, {tag: sphere_projection(np.zeros(3), 1.05) for tag in sphere})
        assert 0 < straightened < surface_edges
        assert list(gmsh.model.mesh.getElementTypes(3)) == [11]
        node_tags, x, _ = gmsh.model.mesh.getNodes()
        x = np.asarray(x).reshape(-1, 3)[np.argsort(node_tags)]
        tetrahedra = x[np.asarray(gmsh.model.mesh.getElementsByType(11)[1], dtype=int).reshape(-1, 10) - 1]
        assert len(tetrahedra) == cells
        assert not curved_mesh.poor_cells(tetrahedra).any()
        r = np.linalg.norm(x, axis=1)
        assert np.sum(np.abs(r - 1.05) < 1e-12) > 10  # the curved edges that stayed
    finally:
        gmsh.model.remove()
