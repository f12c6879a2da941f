"""Sampling dolfinx Functions onto the tracking grid (needs dolfinx)."""

import numpy as np
import pytest
from mpirun import needs_mpirun, on_two_ranks

dolfinx = pytest.importorskip("dolfinx")


def test_linear_temperature_and_velocity_sampled_exactly():
    from mpi4py import MPI

    import dolfinx.mesh

    from thermocfd.fem import compat
    from thermocfd.physics import ConstantSoret, ConstantDiffusivity
    from thermocfd.tracking import grid_fields_from_dolfinx

    L = 20e-6
    mesh = dolfinx.mesh.create_box(MPI.COMM_WORLD, [np.zeros(3), np.full(3, L)], [4, 3, 3],
                                   dolfinx.mesh.CellType.tetrahedron)
    T = dolfinx.fem.Function(compat.function_space(mesh, "Lagrange", 1))
    compat.interpolate(T, lambda x: 300.0 + 1e5 * x[0] - 2e4 * x[2])
    u = dolfinx.fem.Function(compat.function_space(mesh, "Lagrange", 1, shape=(3,)))
    compat.interpolate(u, lambda x: np.vstack([1e-6 + 0 * x[0], 2e-2 * x[0], 0 * x[0]]))

    fields = grid_fields_from_dolfinx(T, ConstantDiffusivity(1e-12), ConstantSoret(0.1),
                                      velocity=u)
    assert fields.inside is None  # a box mesh fills its bounding box
    np.testing.assert_allclose(fields.lower, 0.0, atol=1e-15)
    np.testing.assert_allclose(fields.upper, L, rtol=1e-12)
    assert min(fields.shape) >= 4  # spacing from the cell size
    x = fields.node_points()
    np.testing.assert_allclose(fields.temperature.ravel(), 300.0 + 1e5 * x[:, 0] - 2e4 * x[:, 2],
                               rtol=1e-10)
    np.testing.assert_allclose(fields.grad_temperature[..., 0], 1e5, rtol=1e-8)
    np.testing.assert_allclose(fields.grad_temperature[..., 2], -2e4, rtol=1e-8)
    np.testing.assert_allclose(fields.velocity[..., 1].ravel(), 2e-2 * x[:, 0], atol=1e-15)
    np.testing.assert_allclose(fields.thermal_diffusivity, 1e-13, rtol=1e-12)


def test_nodes_outside_the_mesh_are_masked_and_filled():
    from mpi4py import MPI

    import dolfinx.mesh

    from thermocfd.fem import compat
    from thermocfd.tracking import grid_fields_from_dolfinx

    L = 10e-6
    mesh = dolfinx.mesh.create_box(MPI.COMM_WORLD, [np.zeros(3), np.full(3, L)], [2, 2, 2],
                                   dolfinx.mesh.CellType.tetrahedron)
    T = dolfinx.fem.Function(compat.function_space(mesh, "Lagrange", 1))
    compat.interpolate(T, lambda x: 300.0 + 1e5 * x[0])
    fields = grid_fields_from_dolfinx(T, 1e-12, bounds=([0, 0, 0], [2 * L, L, L]),
                                      spacing=L / 4)
    assert fields.inside is not None
    x = fields.node_points()[:, 0].reshape(fields.shape)
    np.testing.assert_array_equal(fields.inside, x <= L * (1 + 1e-9))
    assert np.all(np.isfinite(fields.temperature))
    np.testing.assert_allclose(fields.temperature[x > L], 300.0 + 1e5 * L, rtol=1e-12)


MPI_SCRIPT = r"""
import sys
import numpy as np
from mpi4py import MPI
import dolfinx.mesh
from thermocfd.fem import compat
from thermocfd.tracking import TrackingConfig, grid_fields_from_dolfinx, run_tracking

comm = MPI.COMM_WORLD
L = 20e-6
mesh = dolfinx.mesh.create_box(comm, [np.zeros(3), np.full(3, L)], [4, 3, 3],
                               dolfinx.mesh.CellType.tetrahedron)
T = dolfinx.fem.Function(compat.function_space(mesh, "Lagrange", 1))
compat.interpolate(T, lambda x: 300.0 + 1e5 * x[0])
fields = grid_fields_from_dolfinx(T, 1e-12, 0.1)
config = TrackingConfig(n_particles=1000, n_steps=20, dt=1.0, backend="cpu", seed=3)
result = run_tracking(fields, config, comm)
assert result.summary["particle_counts"]["total"] == 1000  # on every rank
if comm.rank == 0:
    np.save(sys.argv[1], result.state.positions)
    np.save(sys.argv[2], fields.temperature)
"""


@pytest.mark.mpi
@needs_mpirun
def test_mpi_sampling_and_tracking_reproduce_serial(tmp_path):
    import sys

    from mpi4py import MPI

    import dolfinx.mesh

    from thermocfd.fem import compat
    from thermocfd.tracking import TrackingConfig, grid_fields_from_dolfinx, run_tracking

    script = tmp_path / "run.py"
    script.write_text(MPI_SCRIPT)
    positions, temperature = tmp_path / "positions.npy", tmp_path / "temperature.npy"
    result = on_two_ranks([sys.executable, script, positions, temperature])
    assert result.returncode == 0, result.stderr[-2000:]

    L = 20e-6
    mesh = dolfinx.mesh.create_box(MPI.COMM_SELF, [np.zeros(3), np.full(3, L)], [4, 3, 3],
                                   dolfinx.mesh.CellType.tetrahedron)
    T = dolfinx.fem.Function(compat.function_space(mesh, "Lagrange", 1))
    compat.interpolate(T, lambda x: 300.0 + 1e5 * x[0])
    fields = grid_fields_from_dolfinx(T, 1e-12, 0.1)
    config = TrackingConfig(n_particles=1000, n_steps=20, dt=1.0, backend="cpu", seed=3)
    serial = run_tracking(fields, config)
    np.testing.assert_allclose(np.load(temperature), fields.temperature, rtol=1e-12)
    np.testing.assert_allclose(np.load(positions), serial.state.positions, rtol=0, atol=1e-12 * L)


def _smooth_fem_fields():
    """P3 temperature and P2 swirl on a box of 100 um in mesh units of 100 um (as thermocfd
    scales its meshes): smooth fields whose sampling error is the grid's, not the FEM's."""
    from mpi4py import MPI

    import dolfinx.mesh

    from thermocfd.fem import compat

    mesh = dolfinx.mesh.create_box(MPI.COMM_WORLD, [np.zeros(3), np.ones(3)], [8, 8, 8],
                                   dolfinx.mesh.CellType.tetrahedron)
    T = dolfinx.fem.Function(compat.function_space(mesh, "Lagrange", 3))
    compat.interpolate(T, lambda x: 300.0 + 5.0 * np.sin(np.pi * x[0]) * np.cos(0.5 * np.pi * x[1]) + x[2])
    u = dolfinx.fem.Function(compat.function_space(mesh, "Lagrange", 2, shape=(3,)))
    compat.interpolate(u, lambda x: np.vstack([1e-6 * np.sin(np.pi * x[0]) * np.cos(np.pi * x[1]),
                                               -1e-6 * np.cos(np.pi * x[0]) * np.sin(np.pi * x[1]), 0 * x[0]]))
    return T, u


def test_sampling_error_is_second_order_and_estimated():
    """Against dolfinx point evaluation, the sampled T, grad T and u converge as h^2, and
    the a-priori estimate (h^2/8 of the grid's second differences) is within 30 %."""
    from thermocfd.tracking.sampling import grid_fields_from_dolfinx, interpolation_error_estimate, sampling_errors

    T, u = _smooth_fem_fields()
    errors, estimates = [], []
    for h in (1 / 8, 1 / 16):
        fields = grid_fields_from_dolfinx(T, 1e-12, velocity=u, spacing=h, length_scale=1e-4)
        errors.append(sampling_errors(fields, T, u, n_points=5000, length_scale=1e-4))
        estimates.append(interpolation_error_estimate(fields))
    for name in ("temperature", "grad_temperature", "velocity"):
        order = np.log2(errors[0][name]["max"] / errors[1][name]["max"])
        assert 1.7 < order < 2.3, (name, order)
    for name in ("grad_temperature", "velocity"):
        for error, estimate in zip(errors, estimates):
            assert 0.7 < estimate[name] / error[name]["max"] < 1.3, (name, estimate[name], error[name]["max"])


def test_field_tolerance_chooses_the_spacing_and_is_met():
    """tracking.field_tolerance: for two tolerances the measured largest error of the
    sampled grad T and u (20 000 random points, dolfinx point evaluation as reference)
    meets the tolerance, and the spacing follows h ~ sqrt(tolerance)."""
    from thermocfd.tracking.sampling import grid_fields_from_dolfinx, sampling_errors

    T, u = _smooth_fem_fields()
    spacings = []
    for tolerance in (3e-2, 5e-3):
        fields = grid_fields_from_dolfinx(T, 1e-12, velocity=u, field_tolerance=tolerance, length_scale=1e-4)
        errors = sampling_errors(fields, T, u, n_points=20_000, seed=1, length_scale=1e-4)
        for name in ("grad_temperature", "velocity"):
            assert errors[name]["max"] <= tolerance, (tolerance, name, errors[name]["max"])
            assert errors[name]["max"] > 0.2 * tolerance  # not a grid far finer than asked
        assert fields.metadata["field_tolerance"] == tolerance
        spacings.append(float(fields.spacing[0]))
    assert 0.75 < (spacings[0] / spacings[1]) / np.sqrt(3e-2 / 5e-3) < 1.33
    with pytest.raises(ValueError, match="not both"):
        grid_fields_from_dolfinx(T, 1e-12, spacing=0.1, field_tolerance=1e-2)
