"""The inertial (underdamped Langevin) tracker against the exact Ornstein-Uhlenbeck
statistics, its deterministic limits, and its CUDA source compiled on the host."""

import ctypes

import numpy as np
import pytest

from thermocfd.physics import BOLTZMANN
from thermocfd.tracking import GridFields, ParticleState
from thermocfd.tracking.inertial import (INERTIAL_CUDA_SOURCE, InertialState, InertialTracker, choose_integrator,
                                         ou_coefficients)

from cuda_shim import compile_on_host  # noqa: E402

L, T, D, TAU = 1e-3, 300.0, 1e-9, 1e-3
MASS = BOLTZMANN * T * TAU / D  # tau = m D / (k_B T)
N = 20000


def free_tracker(dt, **kwargs):
    fields = GridFields.from_callables([0, 0, 0], [L, L, L], (3, 3, 3), T, kwargs.pop("diffusivity", D))
    return InertialTracker(fields, dt=dt, relaxation_time=TAU, backend="cpu", seed=5,
                           walls=kwargs.pop("walls", "open"), **kwargs)


def centred(n=N):
    return ParticleState.from_points(np.tile([0.5 * L] * 3, (n, 1)))


def test_velocity_variance_relaxes_to_equipartition():
    """From rest: var V(t) = (k_B T/m)(1 - exp(-2t/tau)) per component, -> k_B T/m."""
    tracker = free_tracker(dt=0.3 * TAU)
    state = InertialState.at_rest(centred())
    kT_m = BOLTZMANN * T / MASS
    for steps in (1, 2, 20):
        tracker.advance(state, steps if steps == 1 else steps - state.particles.step)
        t = state.particles.time
        variance = np.var(state.velocities, axis=1)
        expected = kT_m * (1.0 - np.exp(-2.0 * t / TAU))
        # relative standard error of a variance from N samples: sqrt(2/N) = 1 %
        np.testing.assert_allclose(variance, expected, rtol=4.5 * np.sqrt(2.0 / N))


@pytest.mark.parametrize("dt_over_tau", [0.05, 4.0])
def test_msd_is_the_exact_ou_msd_from_ballistic_to_diffusive(dt_over_tau):
    """Thermalised start: MSD = 2 d D (t - tau (1 - exp(-t/tau))): ballistic (d k_B T/m) t^2
    for t << tau, 2 d D t for t >> tau; exact whatever dt is."""
    dt = dt_over_tau * TAU
    tracker = free_tracker(dt)
    start = centred()
    state = tracker.thermalised(start)
    checks = [1, 4, 40] if dt_over_tau < 1 else [1, 5, 25]
    done = 0
    for steps in checks:
        tracker.advance(state, steps - done)
        done = steps
        t = state.particles.time
        msd = np.mean(np.sum((state.particles.positions - 0.5 * L) ** 2, axis=0))
        exact = 6.0 * D * (t - TAU * -np.expm1(-t / TAU))
        assert msd == pytest.approx(exact, rel=4.5 * np.sqrt(2.0 / (3 * N)))
        if t < 0.1 * TAU:
            assert msd == pytest.approx(3 * BOLTZMANN * T / MASS * t ** 2, rel=0.04)  # ballistic
        if t > 20 * TAU:
            assert msd == pytest.approx(6 * D * t, rel=0.07)  # diffusive, 1/(t/tau) off


def test_terminal_settling_velocity_and_path():
    """Weight m g from rest: <V> -> tau g, <X>(t) - X0 = tau g (t - tau (1 - exp(-t/tau)))."""
    g = np.array([0.0, 0.0, -9.81])
    tracker = free_tracker(0.7 * TAU, external_force=MASS * g)
    state = InertialState.at_rest(centred())
    tracker.advance(state, 30)
    t = state.particles.time
    velocity_error = np.sqrt(BOLTZMANN * T / MASS / N)
    assert np.mean(state.velocities[2]) == pytest.approx(TAU * g[2], abs=4.5 * velocity_error)
    assert 4.5 * velocity_error < 0.01 * TAU * abs(g[2])
    drop = np.mean(state.particles.positions[2]) - 0.5 * L
    expected = TAU * g[2] * (t - TAU * -np.expm1(-t / TAU))
    spread = np.std(state.particles.positions[2]) / np.sqrt(N)
    assert drop == pytest.approx(expected, abs=4.5 * spread)
    assert 4.5 * spread < 0.01 * abs(expected)


def test_reflecting_wall_reverses_the_velocity():
    """No noise, no drift: x(t) = x0 + tau (1 - e^{-t/tau}) v0, folded at the wall x = L."""
    tracker = free_tracker(0.5 * TAU, diffusivity=1e-30, walls="reflect")
    x0, v0 = 0.9 * L, 0.5 * L / TAU
    state = InertialState(ParticleState.from_points([[x0, 0.5 * L, 0.5 * L]]), np.array([[v0], [0.0], [0.0]]))
    tracker.advance(state, 4)
    t = state.particles.time
    free = x0 + TAU * -np.expm1(-t / TAU) * v0
    assert free > L  # it did hit the wall
    assert state.particles.positions[0, 0] == pytest.approx(2 * L - free, rel=1e-12)
    assert state.velocities[0, 0] == pytest.approx(-v0 * np.exp(-t / TAU), rel=1e-12)


def test_coefficient_series_joins_the_closed_form():
    """The position variance left after the velocity noise (s^2 = D tau g(x)) computed by the
    series below x = 0.05 and by the closed form above agree across the switch."""
    below = ou_coefficients(TAU, D, 0.0499999 * TAU)[4]
    above = ou_coefficients(TAU, D, 0.0500001 * TAU)[4]
    assert above == pytest.approx(below, rel=1e-5)
    x = 1e-3  # s^2 -> D tau x^3/6: the conditional variance of the ballistic limit
    assert ou_coefficients(TAU, D, x * TAU)[4] ** 2 == pytest.approx(D * TAU * x ** 3 / 6, rel=1e-5)


def test_overdamped_rule():
    assert choose_integrator(0.009, 1.0) == "overdamped"
    assert choose_integrator(0.011, 1.0) == "inertial"


HOST_DRIVER = r"""
extern "C" void run(double *pos, double *vel, signed char *status, const u64 *ids, long long n,
                    const double *nodes, const double *tau, const int *ints, const double *reals,
                    u64 seed, u64 step0)
{
    blockDim.x = 1; threadIdx.x = 0;
    for (long long p = 0; p < n; ++p) {
        blockIdx.x = (unsigned int)p;
        advance_inertial(pos, vel, status, ids, n, nodes, tau, ints[0], ints[1], ints[2],
                         reals[0], reals[1], reals[2], reals[3], reals[4], reals[5],
                         reals[6], reals[7], reals[8], reals[9], reals[10], reals[11],
                         ints[3], ints[4], ints[5], ints[6], ints[7], ints[8],
                         reals[12], reals[13], reals[14], reals[15], reals[16], reals[17],
                         seed, step0, ints[9], reals[18]);
    }
}
"""


def test_cuda_source_matches_numba_kernel(tmp_path):
    run = compile_on_host(tmp_path, INERTIAL_CUDA_SOURCE + HOST_DRIVER, "inertial_host").run
    run.restype = None
    W = 0.3e-3
    fields = GridFields.from_callables([0, 0, 0], [L, W, W], (13, 5, 4), lambda x, y, z: 300.0 + 2e4 * x,
                                       lambda T: 1e-10 * (T / 300.0) ** 2,
                                       thermal_diffusivity=lambda T: 1e-6 + 0 * T,
                                       velocity=lambda x, y, z: (0.05 * np.sin(y / W), 0 * x, 0.02 + 0 * z))
    tau = 1e-4 * (1.0 + fields.temperature / 300.0)  # varies over the grid
    walls = ["adsorb", "open", "reflect", "reflect", "adsorb", "reflect"]
    stick = [0.5, 1.0, 1.0, 1.0, 0.3, 1.0]
    tracker = InertialTracker(fields, dt=3e-5, relaxation_time=tau, backend="cpu", walls=walls,
                              sticking_probability=stick, seed=17, external_force=[0, 0, -1e-15])
    start = ParticleState.uniform(2000, [0, 0, 0], [L, W, W], seed=3)
    reference = tracker.thermalised(start.copy())
    pos, vel = reference.particles.positions.copy(), reference.velocities.copy()
    status, ids = reference.particles.status.copy(), reference.particles.ids.copy()
    tracker.advance(reference, 400)

    ints = np.array([*fields.shape, *tracker.face_kind, 400], dtype=np.int32)
    reals = np.array([*tracker._origin, *tracker._inv_h, *tracker.box_lower, *tracker.box_upper,
                      *tracker.sticking, tracker.dt])
    ptr = lambda a: a.ctypes.data_as(ctypes.c_void_p)
    run(ptr(pos), ptr(vel), ptr(status), ptr(ids), ctypes.c_longlong(start.n), ptr(tracker._nodes),
        ptr(tracker._tau), ptr(ints), ptr(reals), ctypes.c_uint64(17), ctypes.c_uint64(0))
    counts = np.bincount(reference.particles.status, minlength=4)
    assert counts[0] > 0 and counts[1] > 0 and counts[2] > 0  # every wall kind was exercised
    np.testing.assert_array_equal(status, reference.particles.status)
    np.testing.assert_allclose(pos, reference.particles.positions, rtol=0, atol=1e-12 * L)
    np.testing.assert_allclose(vel, reference.velocities, rtol=0, atol=1e-9 * np.max(np.abs(reference.velocities)))
