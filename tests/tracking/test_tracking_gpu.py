"""CuPy backend against the numba reference (skipped without CuPy and a usable GPU)."""

import math

import numpy as np
import pytest

cupy = pytest.importorskip("cupy")

from thermocfd.physics import ConstantDiffusivity, ConstantSoret, analytic  # noqa: E402
from thermocfd.tracking import (GridFields, ParticleState, Tracker, gpu_available,  # noqa: E402
                                msd_diffusivity)

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not gpu_available(), reason="no usable CUDA device")]

L, WIDTH, D = 100e-6, 20e-6, 1.0e-12


def _fields():
    return GridFields.from_callables([0, 0, 0], [L, WIDTH, WIDTH], (65, 3, 3),
                                     lambda x, y, z: 310.0 - 20.0 * x / L,
                                     ConstantDiffusivity(D), ConstantSoret(0.1),
                                     velocity=lambda x, y, z: (0 * x, 1e-7 * np.sin(x / L * 3), 0 * z))


@pytest.mark.parametrize("scheme", ["euler", "heun"])
def test_gpu_float64_reproduces_cpu_trajectories(scheme):
    """Same algorithm and random numbers: float64 positions agree to round-off."""
    fields = _fields()
    kwargs = dict(dt=2.0, scheme=scheme, seed=51, walls={"x+": "adsorb"}, sticking_probability=0.5)
    cpu = ParticleState.uniform(5000, [0, 0, 0], [L, WIDTH, WIDTH], seed=51)
    gpu = cpu.copy()
    Tracker(fields, backend="cpu", **kwargs).advance(cpu, 300)
    Tracker(fields, backend="gpu", dtype=np.float64, steps_per_launch=64, **kwargs).advance(gpu, 300)
    gpu = gpu.to_host()
    np.testing.assert_array_equal(cpu.status, gpu.status)
    np.testing.assert_allclose(gpu.positions, cpu.positions, rtol=0, atol=1e-9 * L)


def test_gpu_float32_statistics_match_cpu_and_eulerian():
    """float32 on the GPU: the steady Soret-cell histogram matches the analytic profile and
    the CPU histogram (two-sample chi-square, ~4 sigma)."""
    fields, bins, n = _fields(), 16, 100_000
    dt = (L / 25) ** 2 / (2 * D)
    steps = int(6 * analytic.soret_cell_relaxation_time(D, 0.1, 20.0, L) / dt) + 1
    hist = {}
    for backend, dtype in (("cpu", np.float64), ("gpu", np.float32)):
        state = ParticleState.uniform(n, [0, 0, 0], [L, WIDTH, WIDTH], seed=52, dtype=dtype)
        report = Tracker(fields, dt=dt, backend=backend, dtype=dtype, seed=53).advance(state, steps)
        assert report.counts["in_domain"] == n and report.invalid_new == 0
        hist[backend], _ = np.histogram(state.points()[:, 0], bins=bins, range=(0, L))
    x = (np.arange(bins * 64) + 0.5) * L / (bins * 64)
    p = analytic.soret_cell_profile(ConstantSoret(0.1), lambda s: 310.0 - 20.0 * s / L, L, x)
    p = p.reshape(bins, 64).mean(axis=1)
    p /= p.sum()
    dof = bins - 1
    bound = dof + 4 * math.sqrt(2 * dof)
    for counts in hist.values():
        assert np.sum((counts - n * p) ** 2 / (n * p)) < bound
    a, b = hist["cpu"], hist["gpu"]
    assert np.sum((a - b) ** 2 / (a + b)) < bound


def test_gpu_msd_float32():
    fields = GridFields.from_callables([-1e-4] * 3, [1e-4] * 3, (3, 3, 3), 300.0, D)
    state = ParticleState.from_points(np.zeros((200_000, 3)), dtype=np.float32)
    x0 = state.positions.copy()
    Tracker(fields, dt=1.0, backend="gpu", dtype=np.float32, seed=54).advance(state, 10)
    d, se = msd_diffusivity(x0, state.to_host(), 10.0)
    assert abs(d - D) < 4 * se and abs(d - D) < 0.01 * D
