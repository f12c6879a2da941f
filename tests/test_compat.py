"""thermocfd.fem.compat: the calls that differ between dolfinx versions, on both."""

import numpy as np
import pytest
import ufl
from mpi4py import MPI

import dolfinx.mesh
from thermocfd.fem import compat


@pytest.mark.parametrize("source", ["callable", "constant", "expression"])
def test_interpolate_on_some_cells_leaves_the_other_dofs(source):
    mesh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 6, 6)
    V = compat.function_space(mesh, "Lagrange", 2)
    target = dolfinx.fem.Function(V)
    target.x.array[:] = -1.0
    x = ufl.SpatialCoordinate(mesh)
    sources = {"callable": (lambda p: 1.0 + p[0] ** 2, lambda p: 1.0 + p[0] ** 2),
               "constant": (ufl.as_ufl(2.5), lambda p: np.full(p.shape[1], 2.5)),
               "expression": (1.0 + x[0] ** 2, lambda p: 1.0 + p[0] ** 2)}
    given, exact = sources[source]
    tdim = mesh.topology.dim
    left = dolfinx.mesh.locate_entities(mesh, tdim, lambda p: p[0] <= 0.5 + 1e-12)
    compat.interpolate(target, given, left)

    dofs = compat.cell_dofs(V)
    inside = np.unique(dofs[left].ravel())
    outside = np.setdiff1d(np.arange(V.dofmap.index_map.size_local), inside)
    points = V.tabulate_dof_coordinates()
    np.testing.assert_allclose(target.x.array[inside], exact(points[inside].T), rtol=1e-13)
    assert outside.size > 0 and np.all(target.x.array[outside] == -1.0)
