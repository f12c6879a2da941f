"""Field files: every array lands on the right points, whatever space it came from."""

import numpy as np
import pytest
import ufl

from thermocfd.fem import compat
from thermocfd.fem.io import FieldWriter
from thermocfd.fem.mesh import structured_domain
from thermocfd.post.fields import FieldSeries

pv = pytest.importorskip("pyvista")


def test_functions_from_collapsed_mixed_spaces_are_written_on_their_points(tmp_path):
    """dolfinx's VTK writer lays out every array by the first Function's dof map; a
    velocity from a collapsed Taylor-Hood sub-space used to come out scrambled."""
    import dolfinx.fem

    domain = structured_domain([1.0, 0.5], [6, 3], {}, length_scale=1e-4)
    W = compat.mixed_function_space(domain.mesh, [("Lagrange", 2, (2,)), ("Lagrange", 1, None),
                                                  ("Lagrange", 2, None)])
    V_u, _ = compat.collapse(W.sub(0))
    V_T, _ = compat.collapse(W.sub(2))
    x = domain.physical_coordinates()
    T = dolfinx.fem.Function(V_T, name="temperature")
    compat.interpolate(T, 300.0 + x[0] / 1e-4)
    u = dolfinx.fem.Function(V_u, name="velocity")
    compat.interpolate(u, ufl.as_vector((x[0], -x[1])))
    p = dolfinx.fem.Function(compat.collapse(W.sub(1))[0], name="pressure")
    compat.interpolate(p, x[1])
    with FieldWriter(domain, tmp_path / "f.pvd") as writer:
        writer.write([T, u, p])
    series = FieldSeries(tmp_path / "f.pvd", [0.0])
    grid = series.read()
    assert series.units == {"temperature": "K", "velocity": "m/s", "pressure": "Pa"}
    points = np.asarray(grid.points)
    assert np.allclose(grid["temperature"], 300.0 + points[:, 0] / 1e-4, atol=1e-9)
    assert np.allclose(grid["velocity"][:, 0], points[:, 0], atol=1e-15)
    assert np.allclose(grid["velocity"][:, 1], -points[:, 1], atol=1e-15)
    assert np.allclose(grid["pressure"], points[:, 1], atol=1e-15)  # P1 onto P2 nodes: exact for linear p
