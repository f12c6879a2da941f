"""Probes (region, ball/disc and point values) and their time-series recorder.

Run as a script under ``mpirun -n 2`` (see the last test) it writes its probe values to
the JSON file named on the command line.
"""

import json
import math
import sys
from pathlib import Path

import dolfinx.fem
import dolfinx.mesh
import numpy as np
import pytest
import ufl
from mpi4py import MPI

from mpirun import needs_mpirun, on_two_ranks
from thermocfd.errors import ThermocfdError
from thermocfd.fem import compat
from thermocfd.fem.mesh import Domain, structured_domain
from thermocfd.fem.probes import BallProbe, PointProbe, ProbeRecorder, RegionProbe

ELL = 1e-4  # m per mesh unit
CENTRE, RADIUS = np.array([0.47, 0.52, 0.49]), 0.2  # mesh units
K_WAVE = np.array([4.2, 2.6, 1.4])


def two_region_domain(n: int, comm=MPI.COMM_WORLD) -> Domain:
    """Unit square (scaled by ELL) with regions ``lower`` (y < 1/2) and ``upper``."""
    base = structured_domain([1.0, 1.0], [n, n], {}, comm=comm, length_scale=ELL)
    mesh = base.mesh
    index_map = mesh.topology.index_map(2)
    cells = np.arange(index_map.size_local + index_map.num_ghosts, dtype=np.int32)
    upper = dolfinx.mesh.compute_midpoints(mesh, 2, cells)[:, 1] > 0.5
    tags = dolfinx.mesh.meshtags(mesh, 2, cells, np.where(upper, 2, 1).astype(np.int32))
    return Domain(mesh, tags, base.facet_tags, {"lower": 1, "upper": 2}, {}, ELL, {"builder": "test"})


def plane_wave(mesh, dim: int):
    x = ufl.SpatialCoordinate(mesh)
    return ufl.cos(sum(K_WAVE[i] * x[i] for i in range(dim)))


def plane_wave_ball_average(dim: int, centre=CENTRE, radius=RADIUS) -> float:
    """Exact average of cos(k.x) over a disc (2 J1(kR)/kR) or a ball (3 j1(kR)/kR)."""
    k = K_WAVE[:dim]
    z = float(np.linalg.norm(k)) * radius
    if dim == 2:
        tau = np.linspace(0.0, math.pi, 2001)  # Bessel's integral; trapezoid is spectral here
        values = np.cos(tau - z * np.sin(tau))
        factor = 2.0 * (np.sum(values) - 0.5 * (values[0] + values[-1])) * (tau[1] / math.pi) / z
    else:
        factor = 3.0 * (math.sin(z) - z * math.cos(z)) / z**3
    return math.cos(float(k @ centre[:dim])) * factor


def p2_function(domain: Domain, expression) -> dolfinx.fem.Function:
    V = compat.function_space(domain.mesh, "Lagrange", 2)
    u = dolfinx.fem.Function(V)
    compat.interpolate(u, expression)
    return u


# --- region averages ------------------------------------------------------------------
def test_region_average_of_a_polynomial_is_exact():
    domain = two_region_domain(8)
    x = ufl.SpatialCoordinate(domain.mesh)
    u = p2_function(domain, x[0] ** 2 + 3.0 * x[0] * x[1])  # P2 holds it exactly
    # int_0^1 int_0^(1/2) (x^2 + 3 x y) / (1/2) = (1/6 + 3/16) * 2; upper half: (1/6 + 9/16) * 2
    assert RegionProbe("lower").bind(domain, u).value() == pytest.approx(2 * (1 / 6 + 3 / 16), rel=1e-13)
    assert RegionProbe("upper").bind(domain, u).value() == pytest.approx(2 * (1 / 6 + 9 / 16), rel=1e-13)
    assert RegionProbe().bind(domain, u).value() == pytest.approx(1 / 3 + 3 / 4, rel=1e-13)
    cubic = RegionProbe("lower", quadrature_degree=3).bind(domain, x[1] ** 3)  # an expression
    assert cubic.value() == pytest.approx(2 * 0.5**4 / 4, rel=1e-13)
    with pytest.raises(ThermocfdError, match="no region named 'middle'"):
        RegionProbe("middle").bind(domain, u)


def test_a_bound_probe_follows_the_field_without_recompiling():
    domain = two_region_domain(4)
    u = p2_function(domain, compat.constant(domain.mesh, 2.0))
    probe = RegionProbe("upper").bind(domain, u)
    assert probe.value() == pytest.approx(2.0, rel=1e-14)
    u.x.array[:] = -5.0
    assert probe.value() == pytest.approx(-5.0, rel=1e-14)


# --- ball (disc) averages --------------------------------------------------------------
def test_disc_average_is_exact_for_constants_and_linear_fields():
    domain = two_region_domain(16)
    x = ufl.SpatialCoordinate(domain.mesh)
    ball = BallProbe(CENTRE[:2] * ELL, RADIUS * ELL)
    assert ball.bind(domain, compat.constant(domain.mesh, 3.5)).value() == pytest.approx(3.5, rel=1e-14)
    linear = ball.bind(domain, 1.0 + 2.0 * x[0] - x[1]).value()  # the kernel is radially symmetric
    assert linear == pytest.approx(1.0 + 2.0 * CENTRE[0] - CENTRE[1], rel=1e-7)  # up to quadrature error


@pytest.mark.parametrize("dim, radius, sizes, rtol", [(2, RADIUS, (8, 16, 32), 2e-6), (3, 0.3, (8, 12), 5e-4)])
def test_ball_average_converges_at_fourth_order(dim, radius, sizes, rtol):
    exact = plane_wave_ball_average(dim, radius=radius)
    errors, cell_sizes = [], []
    for n in sizes:
        domain = structured_domain([1.0] * dim, [n] * dim, {}, length_scale=ELL)
        probe = BallProbe(CENTRE[:dim] * ELL, radius * ELL).bind(domain, plane_wave(domain.mesh, dim))
        errors.append(abs(probe.value() - exact))
        cell_sizes.append(1.0 / n)
    rates = np.log(np.array(errors[:-1]) / errors[1:]) / np.log(np.array(cell_sizes[:-1]) / cell_sizes[1:])
    print(f"{dim}D ball average relative errors {np.array(errors) / abs(exact)}, observed rates {rates}")
    assert np.all(rates > 3.5)
    assert errors[-1] < rtol * abs(exact)


def test_ball_average_of_a_function_in_a_region():
    """The part of the disc in the region; a field that is 1 in the region gives 1."""
    domain = two_region_domain(16)
    x = ufl.SpatialCoordinate(domain.mesh)
    u = p2_function(domain, x[1])
    whole = BallProbe([0.5 * ELL, 0.5 * ELL], 0.25 * ELL).bind(domain, u).value()
    lower = BallProbe([0.5 * ELL, 0.5 * ELL], 0.25 * ELL, region="lower").bind(domain, u).value()
    assert whole == pytest.approx(0.5, rel=1e-10)
    # centroid of a half disc below its diameter: y = 1/2 - 4 R / (3 pi); the region's edge is
    # a diameter, a symmetry line of the kernel, so the half disc is as accurate as the disc
    assert lower == pytest.approx(0.5 - 4 * 0.25 / (3 * math.pi), abs=1e-6)


def test_ball_refuses_a_radius_below_the_cell_size_or_off_the_mesh():
    domain = structured_domain([1.0, 1.0], [8, 8], {}, length_scale=ELL)
    field = compat.constant(domain.mesh, 1.0)
    with pytest.raises(ThermocfdError, match="radius is smaller than the cells there"):
        BallProbe([0.5 * ELL, 0.5 * ELL], 0.1 * ELL).bind(domain, field)
    with pytest.raises(ThermocfdError, match="does not meet the mesh"):
        BallProbe([5 * ELL, 5 * ELL], 0.3 * ELL).bind(domain, field)
    with pytest.raises(ThermocfdError, match="positive length"):
        BallProbe([0.5 * ELL, 0.5 * ELL], -1.0).bind(domain, field)
    with pytest.raises(ThermocfdError, match="finite 2D point"):
        BallProbe([0.5 * ELL, 0.5 * ELL, ELL], 0.3 * ELL).bind(domain, field)


# --- point values --------------------------------------------------------------------
def test_point_value():
    domain = two_region_domain(8)
    x = ufl.SpatialCoordinate(domain.mesh)
    u = p2_function(domain, x[0] ** 2 - x[1])
    assert PointProbe([0.3 * ELL, 0.71 * ELL]).bind(domain, u).value() == pytest.approx(0.09 - 0.71, rel=1e-12)
    with pytest.raises(ThermocfdError, match="outside the mesh"):
        PointProbe([1.5 * ELL, 0.5 * ELL]).bind(domain, u)
    with pytest.raises(ThermocfdError, match="needs a scalar Function"):
        PointProbe([0.5 * ELL, 0.5 * ELL]).bind(domain, x[0])


# --- recorder -----------------------------------------------------------------------
def test_recorder_writes_a_row_per_step_and_plots(tmp_path):
    domain = two_region_domain(8)
    T = p2_function(domain, compat.constant(domain.mesh, 300.0))
    c = p2_function(domain, compat.constant(domain.mesh, 1.0))
    probes = {"focus": BallProbe([0.5 * ELL, 0.5 * ELL], 0.3 * ELL), "lower": RegionProbe("lower"),
              "corner": PointProbe([0.1 * ELL, 0.1 * ELL])}
    path = tmp_path / "out" / "probes.csv"
    recorder = ProbeRecorder(domain, probes, {"T": (T, "K"), "c": (c, "")}, path)
    header = "time_s,T_focus_K,T_lower_K,T_corner_K,c_focus,c_lower,c_corner"
    assert path.read_text() == header + "\n"
    for step, t in enumerate([0.0, 0.5, 1.25]):
        T.x.array[:] = 300.0 + 2.0 * t
        c.x.array[:] = 1.0 - 0.1 * t
        row = recorder.record(t)
        assert row["T_focus_K"] == pytest.approx(300.0 + 2.0 * t, rel=1e-14)
        assert len(path.read_text().splitlines()) == step + 2  # on disk after every step
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    assert np.allclose(table[:, 0], [0.0, 0.5, 1.25])
    assert np.allclose(table[:, 1:4], (300.0 + 2.0 * table[:, :1]) * np.ones(3), rtol=1e-12)
    assert np.allclose(table[:, 4:], (1.0 - 0.1 * table[:, :1]) * np.ones(3), rtol=1e-11)
    assert np.allclose(recorder.series("c_corner"), [1.0, 0.95, 0.875])
    picture = tmp_path / "probes.png"
    recorder.plot(picture)
    assert picture.stat().st_size > 10_000


def test_recorder_rejects_bad_names():
    domain = two_region_domain(4)
    T = p2_function(domain, compat.constant(domain.mesh, 300.0))
    with pytest.raises(ThermocfdError, match="probe name 'a,b'"):
        ProbeRecorder(domain, {"a,b": RegionProbe()}, {"T": (T, "K")})
    with pytest.raises(ThermocfdError, match="unit 'mol/m3'"):
        ProbeRecorder(domain, {"all": RegionProbe()}, {"c": (T, "mol/m3")})
    with pytest.raises(ThermocfdError, match="duplicate columns"):
        ProbeRecorder(domain, {"a_b": RegionProbe(), "b": RegionProbe()}, {"T": (T, ""), "T_a": (T, "")})
    with pytest.raises(ThermocfdError, match="probe 'tiny': ball probe"):
        ProbeRecorder(domain, {"tiny": BallProbe([0.5 * ELL, 0.5 * ELL], 0.01 * ELL)}, {"T": (T, "K")})


# --- MPI ----------------------------------------------------------------------------
def mpi_numbers() -> dict:
    """Probe values on a mesh split over the ranks of COMM_WORLD."""
    domain = two_region_domain(12)
    x = ufl.SpatialCoordinate(domain.mesh)
    u = p2_function(domain, ufl.exp(-((x[0] - 0.4) ** 2 + (x[1] - 0.55) ** 2) / 0.05))
    probes = {"ball": BallProbe([0.4 * ELL, 0.55 * ELL], 0.25 * ELL), "region": RegionProbe("upper"),
              "ball_lower": BallProbe([0.4 * ELL, 0.55 * ELL], 0.25 * ELL, region="lower"),
              "point": PointProbe([0.37 * ELL, 0.61 * ELL])}
    return {name: probe.bind(domain, u).value() for name, probe in probes.items()}


@pytest.mark.mpi
@needs_mpirun
@pytest.mark.skipif(MPI.COMM_WORLD.size > 1, reason="launches its own mpirun")
def test_two_ranks_give_the_serial_values(tmp_path):
    out = tmp_path / "n2.json"
    run = on_two_ranks([sys.executable, Path(__file__).resolve(), out])
    assert run.returncode == 0, run.stderr[-3000:]
    parallel, serial = json.loads(out.read_text()), mpi_numbers()
    for name, value in serial.items():
        assert parallel[name] == pytest.approx(value, rel=1e-12), name


if __name__ == "__main__":  # mpirun -n 2 python tests/test_probes.py OUT.json
    numbers = mpi_numbers()
    if MPI.COMM_WORLD.rank == 0:
        Path(sys.argv[1]).write_text(json.dumps(numbers))
